# tests/host/ — tests of popek's behaviour on hosts that lack something,
# simulated with a seccomp filter (deny-exec).
check_PROGRAMS += tests/host/deny-exec
tests_host_deny_exec_SOURCES = tests/host/deny-exec.c
TESTS += tests/host/hostcheck.sh
EXTRA_DIST += tests/host/hostcheck.sh
