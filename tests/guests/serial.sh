# serial.sh — COM1's host ends (--serial): a file that receives the
# guest's output, a unix socket popek connects to (both directions), bad
# specs, and stdio on a terminal: raw while popek runs, Ctrl-A Ctrl-A and
# Ctrl-A x, and the terminal's settings restored on every way out (normal
# exit, Ctrl-A x, guest crash, monitor crash, SIGTERM).  The terminal and
# the socket's far end are python3 (pty, socket modules).
. "$srcdir/tests/guests/lib.sh"

if ! command -v python3 >/dev/null; then
	echo "serial: python3 is needed (./quickstart installs it)" >&2
	exit 99
fi

# A condition checked by this script itself: "what" holds if "$@" succeeds.
expect_cmd() {
	what=$1
	shift
	expectations=$((expectations + 1))
	if "$@"; then
		met "$what"
	else
		unmet "$what"
	fi
}

# --- file:PATH: output only -------------------------------------------------
run_popek 20 run --serial "file:$work/com1.out" "$GUESTS/hello.elf"
expect_status 0
expect_out_empty
expect_cmd "file:PATH holds the guest's output" \
	grep -q '^Hello from a popek guest!$' "$work/com1.out"
expect_cmd "file:PATH holds all of it" \
	grep -q '^Exiting with status 0$' "$work/com1.out"

# Truncated, not appended to; and no input: the echo guest reads nothing.
run_popek 60 run --serial "file:$work/com1.out" "$GUESTS/echo.elf"
expect_status 1
expect_cmd "file:PATH truncated and rewritten" \
	sh -c "! grep -q 'Hello from' '$work/com1.out' && grep -q '^echo: \$' '$work/com1.out'"

# --- unix:PATH: both directions ----------------------------------------------
# The far end listens, sends a line, and keeps what comes back until popek
# closes the connection.
sock=$work/com1.sock
python3 - "$sock" "$work/from-guest" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1); s.settimeout(60)
c, _ = s.accept()
c.sendall(b"hello over a socket\n")
got = b""
c.settimeout(60)
while True:
    b = c.recv(4096)
    if not b:
        break
    got += b
open(sys.argv[2], "wb").write(got)
EOF
server=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
run_popek 60 run --serial "unix:$sock" "$GUESTS/echo.elf"
wait "$server"
expect_status 0
expect_out_empty
expect_cmd "unix:PATH carries the guest's input and output" \
	grep -q '^echo: HELLO OVER A SOCKET$' "$work/from-guest"

# Nobody listening: one line, status 2, nothing run.
run_popek 10 run --serial "unix:$work/nobody.sock" "$GUESTS/hello.elf"
expect_status 2
expect_out_empty
expect_err_lines 1
expect_err "unix:.*nobody.sock: cannot connect"

for bad in "tcp:1234" "file:" "unix:" "stdio:x" "unix:/$(printf '%0120d' 0)"; do
	run_popek 10 run --serial "$bad" "$GUESTS/hello.elf"
	expect_status 2
	expect_out_empty
	expect_err_lines 1
	expect_err "^popek: --serial "
done
run_popek 10 run --serial "file:$work/no/such/dir/out" "$GUESTS/hello.elf"
expect_status 2
expect_err_lines 1
expect_err "cannot create"

# --- stdio on a terminal -------------------------------------------------------
# One python run per case; it prints "ok: ..." or "NOT OK: ..." lines.
tty_case() {
	run_desc="popek on a terminal: $1"
	python3 - "$POPEK" "$GUESTS" "$@" >"$work/tty.log" 2>&1 <<'EOF'
import os, pty, signal, subprocess, sys, termios, threading, time

popek, guests, case = sys.argv[1], sys.argv[2], sys.argv[3]
master, slave = pty.openpty()
before = termios.tcgetattr(slave)
output = bytearray()

def drain():
    while True:
        try:
            b = os.read(master, 4096)
        except OSError:
            return
        if not b:
            return
        output.extend(b)

def report(ok, what):
    print(("ok: " if ok else "NOT OK: ") + what)
    return ok

def is_raw(t):
    iflag, oflag, cflag, lflag = t[0], t[1], t[2], t[3]
    return (not lflag & (termios.ICANON | termios.ECHO | termios.ISIG)
            and not iflag & (termios.ICRNL | termios.IXON)
            and oflag & termios.OPOST
            and t[6][termios.VMIN] in (1, b"\x01"))

def wait_raw(p):
    end = time.time() + 30
    while time.time() < end and p.poll() is None:
        if is_raw(termios.tcgetattr(slave)):
            return True
        time.sleep(0.01)
    return False

threading.Thread(target=drain, daemon=True).start()
env = dict(os.environ)
guest = {"echo": "echo", "quit": "uart-irq", "sigterm": "uart-irq",
         "crash": "halt", "monitor-crash": "hello"}[case]
if case == "monitor-crash":
    env["POPEK_FAULT_INJECT"] = "monitor-segv"
if case == "echo":
    # Typed before popek starts: the line discipline keeps it, and raw
    # mode (TCSANOW) does not flush it.
    os.write(master, b"\x01\x01ab\n")
p = subprocess.Popen([popek, "run", guests + "/" + guest + ".elf"],
                     stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                     env=env, start_new_session=True)
ok = True
if case in ("quit", "sigterm"):
    ok &= report(wait_raw(p), "the terminal is raw while popek runs "
                 "(no ICANON, ECHO, ISIG, ICRNL, IXON; OPOST kept)")
    time.sleep(0.2)
    if case == "quit":
        os.write(master, b"\x01x")
    else:
        p.send_signal(signal.SIGTERM)
# Generous: under software emulation (scripts/tcg-host) the echo guest's
# polling alone takes seconds.
try:
    err = p.communicate(timeout=60)[1].decode(errors="replace")
except subprocess.TimeoutExpired:
    p.kill()
    err = p.communicate()[1].decode(errors="replace")
    report(False, "popek did not end within 60 s")
    ok = False
time.sleep(0.1)
want = {"echo": 0, "quit": 0, "sigterm": -signal.SIGTERM, "crash": 3,
        "monitor-crash": 2}[case]
ok &= report(p.returncode == want, "exit status %s (want %s)" %
             (p.returncode, want))
ok &= report(termios.tcgetattr(slave) == before,
             "the terminal's settings are back as they were")
if case == "echo":
    ok &= report(b"echo: \x01AB\r\n" in output,
                 "Ctrl-A Ctrl-A reached the guest as one Ctrl-A; "
                 "output post-processing kept (LF out as CR LF)")
if case == "quit":
    ok &= report("quit (C-a x)" in err, "Ctrl-A x says it quits")
if not ok:
    print("    output: %r" % bytes(output[-300:]))
    print("    stderr: %r" % err[-300:])
sys.exit(0 if ok else 1)
EOF
	tty_status=$?
	expectations=$((expectations + 1))
	if [ "$tty_status" -eq 0 ]; then
		met "$(grep -c '^ok: ' "$work/tty.log") checks"
	else
		unmet "$(grep -v '^ok: ' "$work/tty.log" | tr '\n' ' ')"
	fi
}

# Without a pseudo-terminal (no devpts mounted) these cases cannot run:
# the test then ends as SKIP (77) if everything else held.
if python3 -c 'import os; os.openpty()' 2>/dev/null; then
	for c in echo quit sigterm crash monitor-crash; do
		tty_case "$c"
	done
elif [ "$unmet" -eq 0 ]; then
	echo "serial: no pseudo-terminal here (is devpts mounted?): the" \
		"terminal cases did not run; $expectations other expectations met"
	exit 77
fi

finish
