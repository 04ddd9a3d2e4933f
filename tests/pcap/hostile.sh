#!/usr/bin/env bash
# Hostile captures mqttls capture must survive (under ASan and UBSan: any memory error fails the
# suite): each is made by tests/pcap/mkpcap.py from a real capture or from scratch, and each must
# exit 0 with the damage counted and named, never decoded as data.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
src=$here/data/tls12-ok.pcap
ports=(--port 18885 --port 1883 --port 8883)

# hostile KIND [SOURCE]: make the capture, decode it with --json --stats into KIND.jsonl.
hostile() {
	local kind=$1
	shift
	"$T_PY" "$here/mkpcap.py" "$kind" "$T_TMP/$kind.pcap" "$@" || return 1
	"$MQTTLS" capture -r "$T_TMP/$kind.pcap" "${ports[@]}" --json --stats >"$T_TMP/$kind.jsonl" 2>"$T_TMP/$kind.err"
	echo $? >"$T_TMP/$kind.rc"
}

jl() { t_jsonl "$T_TMP/$1.jsonl" "$2"; }

survives() {
	t_is "$1: exits 0" "$(cat "$T_TMP/$1.rc")" 0
	t_unlike "$1: no sanitizer report" "$(cat "$T_TMP/$1.err")" "Sanitizer|runtime error"
}

hostile truncated-file "$src"
survives truncated-file
t_like "truncated-file: says the file is cut" "$(cat "$T_TMP/truncated-file.err")" "ends in the middle of a packet"
t_is "truncated-file: what came before is decoded" "$(jl truncated-file 'ev("client_hello")["sni"]')" localhost
t_is "truncated-file: stats say so" "$(jl truncated-file 'ev("stats")["file_truncated"]')" true

hostile caplen-gt-len "$src"
survives caplen-gt-len
t_is "caplen-gt-len: bytes past each packet are not data" "$(jl caplen-gt-len 'ev("stats")["missing_bytes"] > 0')" true

hostile snaplen "$src"
survives snaplen
t_is "snaplen: cut packets counted" "$(jl snaplen 'ev("stats")["truncated"] > 0')" true
t_is "snaplen: the missing payloads are gaps" "$(jl snaplen 'len(evs("gap")) > 0')" true
t_is "snaplen: nothing decoded from them" "$(jl snaplen 'len(evs("client_hello")) + len(evs("certificate"))')" 0
t_like "snaplen: the verdict says why" "$(jl snaplen 'ev("flow_summary")["reason"]')" "not captured"

hostile doff-lt-5 "$src"
survives doff-lt-5
t_is "doff-lt-5: every packet is malformed" "$(jl doff-lt-5 'ev("stats")["malformed"] == ev("stats")["packets"]')" true
t_is "doff-lt-5: and says why" "$(jl doff-lt-5 'ev("malformed")["what"]')" "TCP data offset below 5"

hostile opt-len-0
survives opt-len-0
t_is "opt-len-0: the flow behind the bad option still decodes" "$(jl opt-len-0 'ev("mqtt_connack")["code"]')" 0

hostile tiny-16mb
survives tiny-16mb
t_like "tiny-16mb: the 16 MB announcement is refused at its header" "$(jl tiny-16mb 'ev("malformed")["what"]')" \
	"Certificate message of 16777215 bytes is over the [0-9]+-byte limit"
t_is "tiny-16mb: counted once, the rest of the flow not decoded" "$(jl tiny-16mb 'ev("stats")["malformed"]')" 1

hostile record-len-0
survives record-len-0
t_is "record-len-0: named" "$(jl record-len-0 'ev("malformed")["what"]')" "empty handshake record"

hostile record-too-long
survives record-too-long
t_like "record-too-long: named" "$(jl record-too-long 'ev("malformed")["what"]')" "record of 18433 bytes is over the TLS limit"

hostile ext-overflow "$src"
survives ext-overflow
t_is "ext-overflow: the ClientHello is refused, not trusted" "$(jl ext-overflow 'len(evs("client_hello"))')" 0
t_like "ext-overflow: named" "$(jl ext-overflow 'ev("malformed")["what"]')" "overflows the extensions block"

hostile certlist-mismatch "$src"
survives certlist-mismatch
t_is "certlist-mismatch: no chain made up from it" "$(jl certlist-mismatch 'len(evs("certificate"))')" 0
t_like "certlist-mismatch: named" "$(jl certlist-mismatch 'ev("malformed")["what"]')" "^Certificate: "

hostile mqtt-rl5
survives mqtt-rl5
t_is "mqtt-rl5: named" "$(jl mqtt-rl5 'ev("malformed")["what"]')" "MQTT remaining length longer than 4 bytes"
t_is "mqtt-rl5: no packet decoded" "$(jl mqtt-rl5 'len([e for e in L if e["type"].startswith("mqtt_")])')" 0

hostile mqtt-string-past
survives mqtt-string-past
t_like "mqtt-string-past: named" "$(jl mqtt-string-past 'ev("malformed")["what"]')" "client identifier: string length runs past"
t_is "mqtt-string-past: no CONNECT trusted" "$(jl mqtt-string-past 'len(evs("mqtt_connect"))')" 0

# Reassembly end to end: every payload in reverse-ordered 100-byte pieces with a retransmission
# and an overlap decodes to exactly the events of the original capture.
for f in tls12-ok tls13-mtls-nocert mqtt-plain; do
	"$T_PY" "$here/mkpcap.py" resegment "$T_TMP/reseg-$f.pcap" "$here/data/$f.pcap"
	for x in "$here/data/$f.pcap" "$T_TMP/reseg-$f.pcap"; do
		"$MQTTLS" capture -r "$x" --port 18830 --port 18884 --port 18885 --json --stats
	done >"$T_TMP/reseg-$f.both" 2>"$T_TMP/reseg-$f.err"
	t_is "resegment $f: same events as the original" "$("$T_PY" -c '
import json, sys
runs, cur = [], []
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "stats":
        runs.append((cur, o)); cur = []
        continue
    for k in ("packets", "bytes", "duration_ms"):
        o.pop(k, None)
    cur.append(o)
(a, sa), (b, sb) = runs
print("same" if a == b and sb["retransmitted_bytes"] > 0 else "differ: %d vs %d events" % (len(a), len(b)))
' "$T_TMP/reseg-$f.both")" same
	t_unlike "resegment $f: no sanitizer report" "$(cat "$T_TMP/reseg-$f.err")" "Sanitizer|runtime error"
done
t_is "resegment: segments really arrived out of order" \
	"$(grep '"type":"stats"' "$T_TMP/reseg-tls12-ok.both" | tail -1 | t_jsonl /dev/stdin 'ev("stats")["out_of_order"] > 0')" true

hostile no-syn "$src"
survives no-syn
t_is "no-syn: a flow joined late still decodes" "$(jl no-syn 'ev("client_hello")["sni"]')" localhost
t_is "no-syn: the client is the side off the MQTT port" "$(jl no-syn 'ev("flow_summary")["flow"].endswith(":18885")')" true
t_is "no-syn: verdict" "$(jl no-syn 'ev("flow_summary")["outcome"]')" tls_ok

# A million tiny flows: the flow table stays bounded (oldest evicted, their summaries emitted
# early), every flow still gets its summary, and memory stays flat. The release build measures
# memory; ASan's own overhead would hide it.
"$T_PY" "$here/mkpcap.py" million-flows "$T_TMP/million.pcap"
bin=${MQTTLS_REL:-}
[ -x "$bin" ] || bin=$MQTTLS
/usr/bin/time -v "$bin" capture -r "$T_TMP/million.pcap" --port 8883 --json --stats >"$T_TMP/million.jsonl" \
	2>"$T_TMP/million.time"
t_is "million-flows: exits 0" "$?" 0
t_is "million-flows: a summary for every flow" "$(grep -c '"type":"flow_summary"' "$T_TMP/million.jsonl")" 1000000
t_is "million-flows: the table stayed bounded" "$(jl million 'ev("stats")["flows_evicted"] >= 1000000 - 65536')" true
t_like "million-flows: each one is a refused or unanswered SYN" "$(sed -n 1p "$T_TMP/million.jsonl")" '"outcome":"incomplete"'
rss=$(awk '/Maximum resident set size/ {print $6}' "$T_TMP/million.time")
if [ "$bin" = "$MQTTLS" ]; then
	t_skip "million-flows: memory (measured on the release build only)"
else
	# 65,536 flows of under 1 KB each: far below this bound, which only an unbounded table would reach.
	t_is "million-flows: peak memory under 256 MB (was ${rss} kB)" "$((rss < 262144))" 1
fi
rm -f "$T_TMP/million.pcap" "$T_TMP/million.jsonl"

t_done
