#!/usr/bin/env bash
# What a test run leaves behind, checked by tests/run.sh around every suite:
#
#   tests/leftovers.sh begin DIR   before the first suite: remember the network namespaces and
#                                  the source tree's untracked files
#   tests/leftovers.sh end DIR     after the last one: TAP lines, one per kind, "not ok" naming
#                                  each leftover (processes are then stopped, the rest removed)
#
# The machine is shared (other test runs may be going on at the same time), so only what this
# run made is counted: processes by the MQTTLS_TEST_RUN value run.sh puts in the environment of
# everything it starts (a daemonised lab broker keeps it too), temporary files by the private
# TMPDIR run.sh gives the run, network namespaces by the name a test gives them (labtest-PID,
# leftover only once that PID is gone).
set -u
mode=$1
dir=$2
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"

netns() { ip netns list 2>/dev/null | awk '{print $1}' | sort; }
untracked() {
	git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || return 0
	# New files only (untracked or ignored): a tracked file changed meanwhile may be the user's edit.
	git -C "$src" status --porcelain --ignored --untracked-files=all -- . ':(exclude)build' 2>/dev/null |
		grep -E '^(\?\?|!!) ' | sort
}

if [ "$mode" = begin ]; then
	netns >"$dir/netns.before"
	untracked >"$dir/tree.before"
	exit 0
fi

n=0
fail=0
report() { # report DESC LEFTOVERS...
	local desc=$1
	shift
	n=$((n + 1))
	if [ $# -eq 0 ]; then
		echo "ok $n - $desc"
	else
		fail=1
		echo "not ok $n - $desc"
		printf '#   left: %s\n' "$@" | head -40
	fi
}

# Processes started by this run that still run (the scanner's own ancestors aside: run.sh, make).
mapfile -t procs < <(/usr/bin/python3 - "${MQTTLS_TEST_RUN:-}" <<'PY'
import os, sys
mark = sys.argv[1].encode()
if not mark:
    sys.exit(0)
mine, p = set(), os.getpid()
while p > 1:
    mine.add(p)
    try:
        p = int(open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()[1])
    except OSError:
        break
for d in os.listdir("/proc"):
    if not d.isdigit() or int(d) in mine:
        continue
    try:
        env = open("/proc/%s/environ" % d, "rb").read().split(b"\0")
        cmd = open("/proc/%s/cmdline" % d, "rb").read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        continue
    if b"MQTTLS_TEST_RUN=" + mark in env and cmd:
        print("%s %s" % (d, cmd[:160]))
PY
)
report "no process started by the tests is still running" "${procs[@]}"
for p in "${procs[@]}"; do kill "${p%% *}" 2>/dev/null; done

# Temporary files: everything went into the run's private TMPDIR.
left=()
if [ -n "${TMPDIR:-}" ] && [ -d "$TMPDIR" ]; then
	mapfile -t left < <(find "$TMPDIR" -mindepth 1 -maxdepth 1 2>/dev/null | sort)
fi
report "no temporary file or directory is left" "${left[@]}"

# Network namespaces made by a test whose process is gone.
ns=()
for name in $(comm -13 "$dir/netns.before" <(netns)); do
	case $name in
	labtest-*) [ -d "/proc/${name#labtest-}" ] || ns+=("$name") ;;
	mqttls-*) ns+=("$name") ;;
	esac
done
report "no network namespace is left" "${ns[@]}"
for name in "${ns[@]}"; do ip netns del "$name" 2>/dev/null; done

# Files written into the source tree (a certs/lab of the default --dir, a stray log).
mapfile -t tree < <(comm -13 "$dir/tree.before" <(untracked))
report "nothing was written into the source tree" "${tree[@]}"

echo "1..$n"
exit "$fail"
