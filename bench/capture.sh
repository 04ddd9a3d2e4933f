#!/usr/bin/env bash
# bench/capture.sh — mqttls capture against tshark and tcpdump on one large capture.
#
# 1. Records real flows on loopback (tcpdump on lo) against a real mosquitto with certificates
#    from mqttls certs: TLS 1.3 and 1.2 publishes, a device rejecting the broker's CA, mTLS
#    without a client certificate, plaintext MQTT with credentials.
# 2. Replicates them into one large pcap (each copy gets its own client address, so every copy
#    is a distinct flow, and later timestamps).
# 3. Times, in the same run and on the same file:
#      mqttls capture -r big.pcap --json            (every event and a verdict per flow)
#      tshark -r big.pcap ... -T fields             (the same handshake summary: SNI, versions,
#                                                    suites, alerts, MQTT CONNECT/CONNACK/PUBLISH)
#      tcpdump -r big.pcap -n                       (the floor: reading and printing the file)
#      tcpdump -r big.pcap -w /dev/null             (below the floor: copying it, for reference)
#    and peak memory of each (/usr/bin/time -v).
#
# Needs root (tcpdump on lo), mosquitto, mosquitto-clients, tshark, tcpdump. Loads are bounded:
# COPIES copies (default 400) of about 60 recorded flows; RUNS timing runs each (default 3).
# Usage: bench/capture.sh [COPIES]      Output: a Markdown table on stdout.
set -u
cd "$(dirname "$0")/.." || exit 2
COPIES=${1:-${COPIES:-400}}
RUNS=${RUNS:-3}
PY=/usr/bin/python3
for tool in tcpdump tshark mosquitto mosquitto_pub /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make deps-test)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "bench: recording on lo needs root" >&2; exit 2; }
make -s -j2 mqttls >/dev/null || exit 2
MQTTLS=$PWD/mqttls

W=$(mktemp -d /tmp/mqttls-bench.XXXXXX)
chmod 0755 "$W"
BROKER=
cleanup() {
	[ -n "$BROKER" ] && kill "$BROKER" 2>/dev/null
	[ -n "${KEEP:-}" ] && echo "bench: kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$MQTTLS" certs init --dir "$W/pki" >/dev/null && "$MQTTLS" certs init --dir "$W/other" >/dev/null || exit 1
chmod 0755 "$W/pki"
chown mosquitto "$W/pki"/*.key 2>/dev/null
pp=$(free_port) pt=$(free_port) pm=$(free_port)
cat >"$W/mosquitto.conf" <<EOF
allow_anonymous true
listener $pp 127.0.0.1
listener $pt 127.0.0.1
cafile $W/pki/ca.crt
certfile $W/pki/broker-fullchain.crt
keyfile $W/pki/broker.key
listener $pm 127.0.0.1
cafile $W/pki/ca.crt
certfile $W/pki/broker-fullchain.crt
keyfile $W/pki/broker.key
require_certificate true
EOF
chmod 0644 "$W/mosquitto.conf"
mosquitto -c "$W/mosquitto.conf" >"$W/mosquitto.log" 2>&1 &
BROKER=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$pt") 2>/dev/null && break; sleep 0.05; done

# ---- 1. record the seed flows ------------------------------------------------------------------
tcpdump -i lo --immediate-mode -U -s 0 -w "$W/seed.pcap" "tcp and (port $pp or port $pt or port $pm)" \
	2>"$W/tcpdump.log" &
tp=$!
for _ in $(seq 1 100); do grep -qs "listening on" "$W/tcpdump.log" && break; sleep 0.05; done
for i in $(seq 1 12); do
	mosquitto_pub -h localhost -p "$pt" --cafile "$W/pki/ca.crt" -i "dev13-$i" -t bench/t -m "$i" -q 1
	OPENSSL_CONF=$PWD/tests/pcap/openssl-tls12.cnf mosquitto_pub -h localhost -p "$pt" --cafile "$W/pki/ca.crt" -i "dev12-$i" -t bench/t -m "$i"
	mosquitto_pub -h 127.0.0.1 -p "$pp" -i "plain-$i" -u alice -P s3cret -t bench/t -m "$i" -q 1
done >/dev/null 2>&1
for i in $(seq 1 6); do
	mosquitto_pub -h localhost -p "$pt" --cafile "$W/other/ca.crt" -t bench/t -m x
	OPENSSL_CONF=$PWD/tests/pcap/openssl-tls12.cnf mosquitto_pub -h localhost -p "$pt" --cafile "$W/other/ca.crt" -t bench/t -m x
	mosquitto_pub -h localhost -p "$pm" --cafile "$W/pki/ca.crt" -t bench/t -m x
	OPENSSL_CONF=$PWD/tests/pcap/openssl-tls12.cnf mosquitto_pub -h localhost -p "$pm" --cafile "$W/pki/ca.crt" -t bench/t -m x
done >/dev/null 2>&1
sleep 0.3
kill -INT "$tp"
wait "$tp"

# ---- 2. replicate -------------------------------------------------------------------------------
"$PY" - "$W/seed.pcap" "$W/big.pcap" "$COPIES" <<'EOF'
import struct, sys
src, dst, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = open(src, "rb").read()
hdr, off, recs = d[:24], 24, []
while off + 16 <= len(d):
    ts, us, cl, ln = struct.unpack_from("<IIII", d, off)
    recs.append((ts, us, cl, ln, d[off + 16:off + 16 + cl]))
    off += 16 + cl
span = recs[-1][0] - recs[0][0] + 2
with open(dst, "wb") as out:
    out.write(hdr)
    for k in range(copies):
        # Copy k's client is 127.(1+k/250).(k%250).1: its own flows, the broker's address unchanged.
        client = bytes([127, 1 + k // 250, k % 250, 1])
        for ts, us, cl, ln, data in recs:
            b = bytearray(data)
            if len(b) >= 34 and b[12:14] == b"\x08\x00":
                sport, dport = struct.unpack_from("!HH", b, 34)
                # The side on an ephemeral port is the client (the broker's ports are the listeners).
                if sport > dport:
                    b[26:30] = client
                else:
                    b[30:34] = client
            out.write(struct.pack("<IIII", ts + k * span, us, cl, ln))
            out.write(b)
EOF
frames=$(tcpdump -r "$W/big.pcap" -n 2>/dev/null | wc -l)
size=$(du -m "$W/big.pcap" | cut -f1)

# ---- 3. time them -------------------------------------------------------------------------------
ports="--port $pp --port $pt --port $pm"
decode="-d tcp.port==$pt,tls -d tcp.port==$pm,tls -d tcp.port==$pp,mqtt"
# The handshake summary tshark is asked for: what mqttls capture --json reports per flow.
tshark_fields="-e frame.time_epoch -e tcp.stream -e ip.src -e tcp.srcport -e tls.handshake.type
 -e tls.handshake.extensions_server_name -e tls.handshake.extensions.supported_version -e tls.handshake.ciphersuite
 -e tls.handshake.extensions_supported_group -e tls.handshake.extensions_alpn_str -e tls.handshake.server_named_curve
 -e tls.handshake.extensions_key_share_group -e x509af.serialNumber -e x509sat.uTF8String -e x509ce.dNSName
 -e tls.alert_message.level -e tls.alert_message.desc -e mqtt.msgtype -e mqtt.clientid -e mqtt.username -e mqtt.passwd
 -e mqtt.ver -e mqtt.conack.val -e mqtt.topic -e mqtt.msg"
tshark_filter="tls.handshake or tls.alert_message or mqtt.msgtype==1 or mqtt.msgtype==2 or mqtt.msgtype==3"

# run NAME CMD...: RUNS timed runs; prints "median_seconds peak_rss_kB"
run() {
	local name=$1 i t r times=() rss=0
	shift
	for i in $(seq 1 "$RUNS"); do
		/usr/bin/time -f "%e %M" -o "$W/$name.time" "$@" >"$W/$name.out" 2>/dev/null
		read -r t r <"$W/$name.time"
		times+=("$t")
		[ "$r" -gt "$rss" ] && rss=$r
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p" | tr '\n' ' '
	echo "$rss"
}
# shellcheck disable=SC2086
read -r t_mq r_mq < <(run mqttls "$MQTTLS" capture -r "$W/big.pcap" $ports --json)
# shellcheck disable=SC2086
read -r t_ts r_ts < <(run tshark tshark -n -r "$W/big.pcap" $decode -Y "$tshark_filter" -T fields $tshark_fields)
read -r t_td r_td < <(run tcpdump tcpdump -n -r "$W/big.pcap")
read -r t_tw r_tw < <(run tcpdump-w tcpdump -r "$W/big.pcap" -w /dev/null)
flows=$(grep -c '"type":"flow_summary"' "$W/mqttls.out")
events=$(wc -l <"$W/mqttls.out")
tshark_lines=$(wc -l <"$W/tshark.out")

# a/b to one decimal; "n/a" when b was too fast for /usr/bin/time's 10 ms resolution (use more COPIES).
ratio() { "$PY" -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.1f' % (a/b) if b else 'n/a')" "$1" "$2"; }
echo "### mqttls capture vs tshark vs tcpdump — $(date -u +%Y-%m-%d), $(nproc) cores"
echo
echo "big.pcap: $size MB, $frames packets, $flows flows ($COPIES copies of $((flows / COPIES)) recorded flows); median of $RUNS runs"
echo
echo "| tool | time (s) | peak RSS (MB) | output |"
echo "|---|---:|---:|---|"
echo "| mqttls capture -r --json | $t_mq | $((r_mq / 1024)) | $events JSON lines, $flows verdicts |"
echo "| tshark -r -T fields (same summary) | $t_ts | $((r_ts / 1024)) | $tshark_lines lines |"
echo "| tcpdump -r -n (reading the file) | $t_td | $((r_td / 1024)) | $frames lines |"
echo "| tcpdump -r -w /dev/null (copying it, no decoding) | $t_tw | $((r_tw / 1024)) | none |"
echo
echo "| ratio | measured | target |"
echo "|---|---:|---|"
echo "| tshark time / mqttls time (throughput) | $(ratio "$t_ts" "$t_mq")x | >= 20x |"
echo "| mqttls time / tcpdump time | $(ratio "$t_mq" "$t_td")x | <= 3x |"
echo "| mqttls peak RSS / tshark peak RSS | $(ratio "$r_mq" "$r_ts") | <= 0.2 |"
