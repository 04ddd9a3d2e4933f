#!/usr/bin/env bash
# mqttls capture's command line: every bad flag or unreadable input is one precise sentence and
# a non-zero exit (2 for usage), never a crash or a hang.
. "$(dirname "$0")/../lib.sh"
data=$(cd "$(dirname "$0")" && pwd)/data

# usage DESC ARGS...: exit 2 with one line on stderr that names the problem (REGEX in $want).
usage() {
	local desc=$1 out rc
	shift
	out=$("$MQTTLS" capture "$@" 2>&1 >/dev/null)
	rc=$?
	t_is "$desc: exit 2" "$rc" 2
	t_is "$desc: one line" "$(printf '%s\n' "$out" | wc -l)" 1
	t_like "$desc: says why" "$out" "$want"
}

want="give a source" usage "no source"
want="one source" usage "two sources" -i lo -r "$data/tls12-ok.pcap"
want="port number from 1 to 65535, not '0'" usage "--port 0" -r "$data/tls12-ok.pcap" --port 0
want="not '70000'" usage "--port 70000" -r "$data/tls12-ok.pcap" --port 70000
want="not 'mqtt'" usage "--port mqtt" -r "$data/tls12-ok.pcap" --port mqtt
want="positive number of packets" usage "--count 0" -r "$data/tls12-ok.pcap" --count 0
want="positive number of seconds" usage "--duration -1" -r "$data/tls12-ok.pcap" --duration -1
want="needs a value" usage "-w without a file" -r "$data/tls12-ok.pcap" -w
want="unknown option '--verbose'" usage "unknown option" -r "$data/tls12-ok.pcap" --verbose
want="--force only applies to -w" usage "--force alone" -r "$data/tls12-ok.pcap" --force
want="unexpected argument 'extra'" usage "stray argument" -r "$data/tls12-ok.pcap" extra

# fails DESC REGEX ARGS...: exit 1 with one line saying REGEX.
fails() {
	local desc=$1 re=$2 out rc
	shift 2
	out=$("$MQTTLS" capture "$@" 2>&1 >/dev/null)
	rc=$?
	t_is "$desc: exit 1" "$rc" 1
	t_like "$desc: says why" "$out" "$re"
	t_is "$desc: one line" "$(printf '%s\n' "$out" | wc -l)" 1
}

fails "missing file" "cannot read $T_TMP/none.pcap: No such file or directory" -r "$T_TMP/none.pcap"
printf 'not a capture\n' >"$T_TMP/text.pcap"
fails "a text file" "text.pcap is not a capture file libpcap can read" -r "$T_TMP/text.pcap"
fails "a directory" "is a directory, not a capture file" -r "$T_TMP"
# A pcap of 802.11 frames (link type 105): read, but not a link type mqttls decodes.
"$T_PY" -c 'import struct,sys; sys.stdout.buffer.write(struct.pack("<IHHiIII",0xa1b2c3d4,2,4,0,0,65535,105))' \
	>"$T_TMP/wifi.pcap"
fails "an unsupported link type" "link type 105 \(IEEE802_11\) is not supported" -r "$T_TMP/wifi.pcap"
if [ "$(id -u)" = 0 ]; then
	fails "no such interface" "no such interface: mqttls-nope0" -i mqttls-nope0
else
	t_skip "no such interface (needs root to get past the permission check)"
fi

t_ok "--help" "$MQTTLS" capture --help
help=$("$MQTTLS" capture --help)
for opt in "-i IFACE" "-r FILE" "-w FILE" "--port N" "--count N" "--duration SEC" "--json" "--stats" "--force"; do
	t_like "--help describes $opt" "$help" "^  $opt "
done
t_ok "reading standard input (-r -)" sh -c "\"$MQTTLS\" capture -r - --port 18885 <\"$data/tls12-ok.pcap\" | grep -q tls_ok"
# A closed pipe ends the capture quietly and promptly.
out=$("$MQTTLS" capture -r "$data/mqtt-plain.pcap" --port 18830 2>&1 | head -1)
t_like "| head -1: the first line" "$out" "^flow #1"
t_is "empty capture: says what it looked for" "$("$MQTTLS" capture -r "$data/tls12-ok.pcap" --port 9)" \
	"no TCP traffic on port 9 in 15 packets read"
t_done
