# tests/linux/shell.sh — the interactive Linux shell of `./quickstart run`
# (scripts/run-linux) on a terminal: a pseudo-terminal in ordinary cooked
# mode, as a user's would be.  Waits for the busybox prompt, types
# `echo hi` and `uname -m`, then `poweroff`; popek must end with status 0
# after the kernel's "Power down", the terminal must be in raw mode while
# popek runs and exactly as it was (every termios field) afterwards.  A
# second boot ends with Ctrl-A x at the prompt instead (QEMU's quit key):
# status 0, popek's "quit (C-a x)" line, the terminal restored.
# Skipped (77) where the kernel and busybox cannot be fetched; about 30 s.
. "$srcdir/tests/guests/lib.sh"

command -v python3 >/dev/null || { echo "$test_name: needs python3" >&2; exit 99; }
for what in kernel busybox; do
	"$srcdir/scripts/fetch-linux" $what >/dev/null 2>"$work/fetch.err" || {
		echo "$test_name: skipped: cannot fetch the $what ($(tail -n1 "$work/fetch.err"))"
		exit 77
	}
done
"$srcdir/scripts/mkinitramfs" >/dev/null 2>"$work/fetch.err" || {
	echo "$test_name: skipped: cannot build the initramfs ($(tail -n1 "$work/fetch.err"))"
	exit 77
}

limit=240
emulated_host && limit=$((limit * 4))
popek_abs=$(cd "$(dirname "$POPEK")" && pwd)/$(basename "$POPEK")
run_desc="scripts/run-linux on a pty"
shown=
session() {
POPEK=$popek_abs python3 - "$srcdir/scripts/run-linux" "$limit" "$1" >"$out" 2>"$err" <<'PY'
import os, pty, select, sys, termios, time, tty

cmd, limit, quit = sys.argv[1], float(sys.argv[2]), sys.argv[3]
master, slave = pty.openpty()
before = termios.tcgetattr(slave)
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    import fcntl
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.execv(cmd, [cmd])

log = b''
deadline = time.time() + limit

def wait_for(what, seconds=None):
    # (busybox ash asks for the cursor position, ESC [ 6 n, before each
    # prompt; nobody answers, and it goes on after a short wait.)
    """Read until `what` appears after what was read so far; False on EOF."""
    global log
    start = len(log)
    end = deadline if seconds is None else min(deadline, time.time() + seconds)
    while what not in log[start:]:
        left = end - time.time()
        if left <= 0:
            return False
        r, _, _ = select.select([master], [], [], left)
        if not r:
            continue
        try:
            data = os.read(master, 4096)
        except OSError:
            return False
        if not data:
            return False
        log += data
    return True

def say(msg):
    print(msg, flush=True)

t0 = time.time()
ok = wait_for(b'Run /init as init process')
say('wall to /init: %.1f s' % (time.time() - t0))
ok = ok and wait_for(b'popek-linux:/# ')
say('prompt: %s' % ('yes' if ok else 'no'))
say('wall to the prompt: %.1f s' % (time.time() - t0))
raw = termios.tcgetattr(slave)
say('raw while running: %s' % ('yes' if not raw[3] & (termios.ICANON | termios.ECHO | termios.ISIG) else 'no'))
if ok:
    os.write(master, b'echo hi; uname -m\r')
    wait_for(b'popek-linux:/# ', 60)
    os.write(master, b'poweroff\r' if quit == 'poweroff' else b'\x01x')
# Drain until popek has exited (the slave stays open here, so the master
# sees no EOF) and nothing more is buffered.
status = None
while status is None and time.time() < deadline:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
    wait_for(b'\0never\0', 0.2)
if status is None:
    say('popek still running after %d s: killed' % limit)
    os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
say('status: %d' % (os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1))
after = termios.tcgetattr(slave)
say('termios restored: %s' % ('yes' if after == before else 'no: %r -> %r' % (before, after)))
sys.stderr.buffer.write(log.replace(b'\r', b''))
PY
tr -d '\r' <"$err" >"$work/transcript"
cp "$work/transcript" "$err"
run_status=0
}

session poweroff
sed -n "s/^wall/$test_name: wall/p" "$out"

expect_out '^prompt: yes$'
expect_out '^raw while running: yes$'
expect_out '^status: 0$'
expect_out '^termios restored: yes$'
# Typed input echoed by the guest's shell, then its output.
expect_err 'popek-linux:/# .*echo hi; uname -m$'
expect_err '^hi$'
expect_err '^i686$'
expect_err 'popek-linux:/# .*poweroff$'
expect_err 'reboot: Power down'

run_desc="scripts/run-linux on a pty, Ctrl-A x"
session ctrl-a-x
sed -n "s/^wall/$test_name: wall/p" "$out"
expect_out '^prompt: yes$'
expect_out '^status: 0$'
expect_out '^termios restored: yes$'
expect_err '^hi$'
expect_err 'popek: quit \(C-a x\)'
expect_no_err 'reboot: Power down'     # Ctrl-A x ended popek first
finish
