#!/usr/bin/env bash
# Golden files (tcpdump's TESTLIST way): real captures kept in tests/pcap/data/, recorded on
# loopback from mosquitto 2.0.11 and its clients, each with the ladder mqttls must print for
# it (NAME.out). A change in decoding shows up here as a diff. To accept a deliberate change:
#   UPDATE=1 tests/run.sh pcap/files   (then read the diff before committing it)
. "$(dirname "$0")/../lib.sh"
data=$(cd "$(dirname "$0")" && pwd)/data
export LC_ALL=C.UTF-8 NO_COLOR=1
ports=(--port 18830 --port 18831 --port 18832 --port 18883 --port 18884 --port 18885 --port 18886)

for pcap in "$data"/*.pcap "$data"/*.pcapng; do
	name=$(basename "$pcap")
	want=$data/${name%.*}.out
	[ "${name##*.}" = pcapng ] && want=$data/${name%.*}.pcapng.out
	got=$("$MQTTLS" capture -r "$pcap" "${ports[@]}" 2>&1)
	rc=$?
	t_is "$name: capture exits 0" "$rc" 0
	if [ -n "${UPDATE:-}" ]; then
		printf '%s\n' "$got" >"$want"
	fi
	if [ ! -f "$want" ]; then
		t_fail "$name: has an expected output ${want#"$data/"}"
		continue
	fi
	if diff -u "$want" <(printf '%s\n' "$got") >"$T_TMP/diff"; then
		t_pass "$name: decodes to its golden ladder"
	else
		t_fail "$name: decodes to its golden ladder" "$(head -40 "$T_TMP/diff")"
	fi
	# The JSON Lines of the same file parse, one object per line, each with ts, flow and type.
	if "$MQTTLS" capture -r "$pcap" "${ports[@]}" --json | "$T_PY" -c '
import json, sys
n = 0
for line in sys.stdin:
    o = json.loads(line)
    assert {"ts", "flow", "type"} <= o.keys(), o
    n += 1
assert n > 0
'; then t_pass "$name: --json is JSON Lines with ts, flow, type"; else t_fail "$name: --json is JSON Lines with ts, flow, type"; fi
done
t_done
