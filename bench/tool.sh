# bench/tool.sh — sourced by the bench scripts (bash): find a tool the
# benchmarks need but popek does not, installing its Debian package with
# apt-get as ./quickstart installs its own when run as root.
#
#   path=$(bench_tool WHO COMMAND PACKAGE)
#
# prints COMMAND's path, or nothing (with one line on stderr saying why)
# when it is missing and cannot be installed; WHO prefixes the messages.
bench_tool() {
	local who=$1 cmd=$2 pkg=$3 path
	path=$(command -v "$cmd" || true)
	if [ -z "$path" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "$who: installing $pkg (for $cmd)" >&2
		apt-get update -q >/dev/null 2>&1 ||
			echo "$who: apt-get update reported errors; trying the install" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "$pkg" >/dev/null ||
			echo "$who: installing $pkg failed" >&2
		path=$(command -v "$cmd" || true)
	fi
	[ -n "$path" ] || echo "$who: no $cmd (apt-get install $pkg)" >&2
	printf '%s\n' "$path"
}
