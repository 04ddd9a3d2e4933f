#!/usr/bin/env bash
# bench/mitm.sh — the MITM relay's cost, measured (a benchmark, never a test).
#
# One bounded load (bench/mqload.c: QOS0 QoS 0 messages of SIZE bytes, then QOS1 QoS 1 round
# trips) from a client that does not verify the broker, in the same run, over three paths to the
# same mosquitto on loopback:
#   direct   client -> mosquitto
#   relay    client -> mqttls mitm (relay, -q, JSON log on) -> mosquitto
#   sslsplit client -> sslsplit (Debian's, TLS interception) -> mosquitto
# A subscriber on the real broker counts every message (exactly once?). Each path runs ROUNDS
# times, alternating; the median round is reported. Targets (issue 6): relay throughput >= 0.9x
# direct and >= sslsplit; added p99 latency <= 1 ms; every message delivered exactly once.
#
#   bench/mitm.sh [--qos0 N] [--qos1 N] [--size BYTES] [--rounds N]
# Needs: ./mqttls (make), mosquitto, sslsplit (apt-get install sslsplit), cc, openssl, python3.
set -u
cd "$(dirname "$0")/.." || exit 2

QOS0=20000
QOS1=1000
SIZE=100
ROUNDS=5
while [ $# -gt 0 ]; do
	case $1 in
	--qos0) QOS0=$2; shift 2 ;;
	--qos1) QOS1=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	*) echo "usage: bench/mitm.sh [--qos0 N] [--qos1 N] [--size BYTES] [--rounds N]" >&2; exit 2 ;;
	esac
done

MQTTLS=${MQTTLS_REL:-$PWD/mqttls}
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
missing=""
[ -x "$MQTTLS" ] || missing="$missing ./mqttls(run make)"
[ -x "$MOSQ" ] || missing="$missing mosquitto"
command -v sslsplit >/dev/null || missing="$missing sslsplit(apt-get install sslsplit)"
command -v cc >/dev/null || missing="$missing cc"
command -v openssl >/dev/null || missing="$missing openssl"
if [ -n "$missing" ]; then
	echo "bench/mitm.sh: missing:$missing" >&2
	exit 2
fi

T=$(mktemp -d /tmp/mqttls-bench.XXXXXX)
chmod 0755 "$T"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 500); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.02; done; return 1; }

cc -O2 -o "$T/mqload" bench/mqload.c -lssl -lcrypto -lpthread || exit 2
"$MQTTLS" certs init --dir "$T/pki" >/dev/null || exit 2
chmod 0755 "$T/pki"
[ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1 && chown mosquitto "$T/pki"/*.key

BP=$(free_port)
cat >"$T/mosquitto.conf" <<EOF
listener $BP 127.0.0.1
allow_anonymous true
cafile $T/pki/ca.crt
certfile $T/pki/broker-fullchain.crt
keyfile $T/pki/broker.key
max_queued_messages 1000000
EOF
"$MOSQ" -c "$T/mosquitto.conf" >"$T/mosquitto.log" 2>&1 &
PIDS+=($!)
wait_port "$BP" || { echo "mosquitto did not start" >&2; cat "$T/mosquitto.log" >&2; exit 1; }

RP=$(free_port)
"$MQTTLS" mitm --listen "127.0.0.1:$RP" --upstream "localhost:$BP" --upstream-cafile "$T/pki/ca.crt" \
	--json-log "$T/mitm.jsonl" --duration 3600 --max-conns 64 -q >/dev/null 2>"$T/mitm.err" &
PIDS+=($!)
wait_port "$RP" || { echo "mqttls mitm did not start" >&2; cat "$T/mitm.err" >&2; exit 1; }

SP=$(free_port)
mkdir -p "$T/sslsplit"
sslsplit -k "$T/pki/ca.key" -c "$T/pki/ca.crt" -S "$T/sslsplit" -l "$T/sslsplit.log" \
	ssl 127.0.0.1 "$SP" 127.0.0.1 "$BP" >"$T/sslsplit.out" 2>&1 &
PIDS+=($!)
wait_port "$SP" || { echo "sslsplit did not start" >&2; cat "$T/sslsplit.out" >&2; exit 1; }

# CPU time (user+system, all threads, clock ticks) of the processes on each path: wall-clock
# throughput on a shared 2-core machine is noisy, the CPU a path costs per message is not.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
MOSQ_PID=${PIDS[0]}
RELAY_PID=${PIDS[1]}
SSLSPLIT_PIDS=$(pgrep -f "sslsplit -k $T/pki/ca.key" | tr '\n' ' ')
declare -A PORT=([direct]=$BP [relay]=$RP [sslsplit]=$SP) CPU=([direct]=0 [relay]=0 [sslsplit]=0) MCPU=([direct]=0 [relay]=0 [sslsplit]=0)
for r in $(seq 1 "$ROUNDS"); do
	for path in direct relay sslsplit; do
		case $path in
		direct) who="" ;;
		relay) who=$RELAY_PID ;;
		sslsplit) who=$SSLSPLIT_PIDS ;;
		esac
		m0=$(ticks "$MOSQ_PID")
		c0=$([ -n "$who" ] && ticks $who || echo 0)
		out=$("$T/mqload" 127.0.0.1 "${PORT[$path]}" 127.0.0.1 "$BP" "$QOS0" "$SIZE" "$QOS1") || {
			echo "round $r $path failed" >&2
			exit 1
		}
		CPU[$path]=$((CPU[$path] + $([ -n "$who" ] && ticks $who || echo 0) - c0))
		MCPU[$path]=$((MCPU[$path] + $(ticks "$MOSQ_PID") - m0))
		echo "$out" >"$T/$path-$r.json"
		printf '.' >&2
	done
done
echo >&2
for path in direct relay sslsplit; do
	echo "{\"path_ticks\": ${CPU[$path]}, \"broker_ticks\": ${MCPU[$path]}}" >"$T/$path-cpu.json"
done

python3 - "$T" "$ROUNDS" "$QOS0" "$QOS1" "$SIZE" "$(nproc)" <<'PY'
import json, statistics, sys
T, rounds, q0, q1, size, cpus = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
res = {p: [json.load(open(f"{T}/{p}-{r}.json")) for r in range(1, rounds + 1)] for p in ("direct", "relay", "sslsplit")}
def med(p, k, f):
    return statistics.median(r[k][f] for r in res[p])
def tot(p, k, f):
    return sum(r[k][f] for r in res[p])
print(f"load: {q0} QoS 0 messages of {size} bytes, then {q1} QoS 1 round trips; {rounds} rounds per path, "
      f"alternating; median round; {cpus} CPUs shared with other work\n")
print("| path | QoS 0 msgs/s | vs direct | QoS 1 p50 ms | QoS 1 p99 ms | added p99 ms | delivered exactly once |")
print("|---|---:|---:|---:|---:|---:|---|")
d_tp, d_p99 = med("direct", "qos0", "msgs_per_s"), med("direct", "qos1", "p99_ms")
for p in ("direct", "relay", "sslsplit"):
    tp, p50, p99 = med(p, "qos0", "msgs_per_s"), med(p, "qos1", "p50_ms"), med(p, "qos1", "p99_ms")
    sent = tot(p, "qos0", "sent") + tot(p, "qos1", "sent")
    got = tot(p, "qos0", "received") + tot(p, "qos1", "received")
    dup = tot(p, "qos0", "duplicates") + tot(p, "qos1", "duplicates")
    miss = tot(p, "qos0", "missing") + tot(p, "qos1", "missing")
    once = "yes" if got == sent and dup == 0 and miss == 0 else "NO"
    added = "" if p == "direct" else f"{p99 - d_p99:+.3f}"
    print(f"| {p} | {tp:,.0f} | {tp / d_tp:.2f}x | {p50:.3f} | {p99:.3f} | {added} | {once} ({got}/{sent}, {dup} dup, {miss} missing) |")
import os
hz = os.sysconf("SC_CLK_TCK")
print()
print("| path | CPU of the interceptor, us per message | CPU of mosquitto, us per message |")
print("|---|---:|---:|")
for p in ("direct", "relay", "sslsplit"):
    c = json.load(open(f"{T}/{p}-cpu.json"))
    msgs = tot(p, "qos0", "sent") + tot(p, "qos1", "sent")
    us = lambda t: t * 1e6 / hz / msgs
    path_us = "-" if p == "direct" else "%.2f" % us(c["path_ticks"])
    print(f"| {p} | {path_us} | {us(c['broker_ticks']):.2f} |")
r_tp, s_tp = med("relay", "qos0", "msgs_per_s"), med("sslsplit", "qos0", "msgs_per_s")
added = med("relay", "qos1", "p99_ms") - d_p99
print()
print(f"relay/direct throughput {r_tp / d_tp:.2f} (target >= 0.90): {'met' if r_tp / d_tp >= 0.9 else 'NOT met'}")
print(f"relay/sslsplit throughput {r_tp / s_tp:.2f} (target >= 1.00): {'met' if r_tp >= s_tp else 'NOT met'}")
print(f"relay added p99 latency {added:.3f} ms (target <= 1 ms): {'met' if added <= 1.0 else 'NOT met'}")
PY
echo
echo "relay log: $(grep -c '"event":"publish"' "$T/mitm.jsonl") publish events written to its JSON log during the run"
