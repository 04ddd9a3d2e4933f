#!/usr/bin/env bash
# bench/diagnose.sh [RUNS] — how fast mqttls diagnose answers, against a real loopback broker.
#
# In one run, with hyperfine, on the same broker:
#   - a full 'mqttls diagnose' of a healthy TLS broker (all six stages, QoS 1 round trip, and
#     the two WEAK_TLS probe handshakes), and the same with --no-weak-probe;
#   - the manual chain a user would type instead: openssl s_client -verify_hostname ...
#     -verify_return_error, then mosquitto_pub -q 1;
#   - three deterministic failures: a refused port, a verification failure (a CA file of another
#     PKI), a CONNACK refusal (a listener without allow_anonymous).
# Loopback only; the broker and temporary files are removed at exit. Prints Markdown tables.
set -u
cd "$(dirname "$0")/.." || exit 2
runs=${1:-40}
command -v hyperfine >/dev/null || { echo "hyperfine is not installed" >&2; exit 2; }
make -s mqttls >/dev/null || exit 2
M=$PWD/mqttls
tmp=$(mktemp -d /tmp/mqttls-bench.XXXXXX)
chmod 0755 "$tmp"
export MQTTLS_STATE_DIR=$tmp/state
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$M" certs init --dir "$tmp/pki" >/dev/null || exit 1
"$M" certs init --dir "$tmp/other" >/dev/null || exit 1
[ "$(id -u)" = 0 ] && chown mosquitto "$tmp"/pki/*.key
p=$(free_port); pa=$(free_port); closed=$(free_port)
cat >"$tmp/m.conf" <<CONF
per_listener_settings true
listener $p 127.0.0.1
cafile $tmp/pki/ca.crt
certfile $tmp/pki/broker-fullchain.crt
keyfile $tmp/pki/broker.key
allow_anonymous true
listener $pa 127.0.0.1
cafile $tmp/pki/ca.crt
certfile $tmp/pki/broker-fullchain.crt
keyfile $tmp/pki/broker.key
CONF
chmod 0644 "$tmp/m.conf"
mosquitto -c "$tmp/m.conf" >"$tmp/m.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.02; done

ca=$tmp/pki/ca.crt
diag="$M diagnose -h localhost -p $p --cafile $ca"
manual="openssl s_client -connect localhost:$p -servername localhost -verify_hostname localhost -verify_return_error -CAfile $ca </dev/null >/dev/null 2>&1 && mosquitto_pub -h localhost -p $p --cafile $ca -t bench/manual -m x -q 1"
# Sanity: each command does what its row says.
$diag >/dev/null || { echo "the healthy diagnosis failed" >&2; exit 1; }
sh -c "$manual" || { echo "the manual chain failed" >&2; exit 1; }
"$M" diagnose -h localhost -p "$closed" --cafile "$ca" --json | grep -q TCP_REFUSED || exit 1
"$M" diagnose -h localhost -p "$p" --cafile "$tmp/other/ca.crt" --json | grep -q WRONG_CA || exit 1
"$M" diagnose -h localhost -p "$pa" --cafile "$ca" --json | grep -q ANONYMOUS_NOT_ALLOWED || exit 1

hyperfine -N -i --warmup 3 --runs "$runs" --export-json "$tmp/h.json" \
	-n "mqttls diagnose (6 stages)" "$diag" \
	-n "mqttls diagnose --no-weak-probe" "$diag --no-weak-probe" \
	-n "manual: openssl s_client + mosquitto_pub -q 1" "sh -c '$manual'" \
	-n "refused port" "$M diagnose -h localhost -p $closed --cafile $ca" \
	-n "verification failure" "$M diagnose -h localhost -p $p --cafile $tmp/other/ca.crt" \
	-n "CONNACK refusal" "$M diagnose -h localhost -p $pa --cafile $ca" >"$tmp/h.txt" 2>&1 || { cat "$tmp/h.txt"; exit 1; }

python3 - "$tmp/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
print("| command | mean (ms) | median (ms) | min (ms) | max (ms) |")
print("|---|---:|---:|---:|---:|")
for name, x in r.items():
    print(f"| {name} | {x['mean']*1e3:.1f} ± {x['stddev']*1e3:.1f} | {x['median']*1e3:.1f} | {x['min']*1e3:.1f} | {x['max']*1e3:.1f} |")
full = r["mqttls diagnose (6 stages)"]["median"]
man = r["manual: openssl s_client + mosquitto_pub -q 1"]["median"]
print()
print("| ratio / bound | measured | target | met |")
print("|---|---:|---|---|")
print(f"| full diagnose / manual chain (median) | {full/man:.2f}x | <= 1.0x | {'yes' if full <= man else 'no'} |")
for name in ("refused port", "verification failure", "CONNACK refusal"):
    m = r[name]["median"] * 1e3
    print(f"| {name} (median) | {m:.1f} ms | <= 50 ms | {'yes' if m <= 50 else 'no'} |")
PY
