#!/usr/bin/env bash
# Relay fidelity under a bounded load: for QoS 0, 1 and 2, every message a device publishes
# through the relay reaches a subscriber on the real broker, and one subscribed through the
# relay, exactly once and in order; the relay's log counts the same. Then a classroom: 200
# victims connected through one relay at the same time, each CONNECT/PUBLISH/PUBACK answered.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../mitm-lib.sh"

N0=${FIDELITY_QOS0:-2000}
N1=${FIDELITY_QOS1:-500}
N2=${FIDELITY_QOS2:-300}
VICTIMS=${FIDELITY_VICTIMS:-200}

pki=$(t_pki) || exit 1
bp=$(t_free_port)
t_broker real "$bp" "$(t_tls_listener "$bp" "$pki")
allow_anonymous true
max_queued_messages 100000
max_connections -1" || exit 1
mp=$(t_free_port)
t_mitm load --listen "127.0.0.1:$mp" --upstream "localhost:$bp" --upstream-cafile "$pki/ca.crt" \
	--duration 600 --max-conns 400 -q || exit 1

for q in 0 1 2; do
	n_var=N$q
	n=${!n_var}
	rm -f "$T_TMP"/ready-*
	t_mc sub --port "$bp" --cafile "$pki/ca.crt" --client-id direct-$q --topic "load/$q" --qos "$q" --count "$n" \
		--timeout 120 --linger 0.5 --ready-file "$T_TMP/ready-direct" >"$T_TMP/direct-$q.json" &
	d=$!
	t_mc sub --port "$mp" --verify none --client-id relayed-$q --topic "load/$q" --qos "$q" --count "$n" \
		--timeout 120 --linger 0.5 --ready-file "$T_TMP/ready-relayed" >"$T_TMP/relayed-$q.json" &
	r=$!
	for _ in $(seq 1 500); do [ -f "$T_TMP/ready-direct" ] && [ -f "$T_TMP/ready-relayed" ] && break; sleep 0.02; done
	out=$(t_mc pub --port "$mp" --verify none --client-id loader-$q --topic "load/$q" --prefix "q$q" --count "$n" \
		--qos "$q" --timeout 120)
	t_is "QoS $q: the device's $n publishes all left through the relay" "$(echo "$out" | t_json - 'j["acked"]')" "$n"
	wait "$d" "$r"
	want=$("$T_PY" -c "import json; print(json.dumps(['q$q-%d' % i for i in range($n)]))")
	for who in direct relayed; do
		t_is "QoS $q: the $who subscriber got each message exactly once, in order" \
			"$(t_json "$T_TMP/$who-$q.json" '[m[1] for m in j["messages"]]')" "$want"
	done
	t_is "QoS $q: the relay logged $n publishes in, in order" \
		"$(t_log load "[e['payload'] for e in pick(ev, 'publish', dir='device_to_broker', topic='load/$q')]")" "$want"
	t_is "QoS $q: ... and $n out to the relayed subscriber, in order" \
		"$(t_log load "[e['payload'] for e in pick(ev, 'publish', dir='broker_to_device', topic='load/$q')]")" "$want"
done
t_is "nothing malformed on the way" "$(t_log load 'count(ev, "malformed")')" "0"

# A classroom: $VICTIMS sessions held open at once through the one relay.
out=$(t_mc many --port "$mp" --verify none --count "$VICTIMS" --topic class/hello --timeout 60)
t_is "$VICTIMS victims at once: every CONNECT, PUBLISH and PUBACK went through" "$(echo "$out" | t_json - 'j["completed"]')" "$VICTIMS"
t_wait_log load "count(ev, 'publish', topic='class/hello') == $VICTIMS"
t_is "... each logged with its own client id" "$(t_log load "len(set(e['client_id'] for e in pick(ev, 'connect') if e['client_id'].startswith('class-')))")" "$VICTIMS"
t_is "... and every upstream connection was made" "$(t_log load 'count(ev, "upstream", result="connected")')" \
	"$(t_log load 'count(ev, "handshake", result="accepted")')"

t_mitm_stop load
t_is "the relay exits 0 after the load (and ASan found no leak)" "$T_MITM_RC" "0"
t_done
