# tests/host/ — tests of popek's behaviour on hosts that lack something,
# simulated with a seccomp filter (deny-exec).
check_PROGRAMS += tests/host/deny-exec
tests_host_deny_exec_SOURCES = tests/host/deny-exec.c
tests_host_deny_exec_LDADD =
TESTS += tests/host/hostcheck.sh
EXTRA_DIST += tests/host/hostcheck.sh

# window.sh: a preloaded object that maps a page inside the guest window.
check_DATA = tests/host/lowmap.so
CLEANFILES += tests/host/lowmap.so
EXTRA_DIST += tests/host/lowmap.c tests/host/window.sh
TESTS += tests/host/window.sh
tests/host/lowmap.so: $(srcdir)/tests/host/lowmap.c
	@$(MKDIR_P) $(@D)
	$(AM_V_CC)$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -o $@ $<
