#!/usr/bin/env bash
# The rogue broker (no --upstream): CONNACK 0 to any CONNECT, every message kept and logged,
# SUBSCRIBE answered (and messages routed between victims, retained and will included),
# keepalive answered, --inject delivered; hostile bytes are reported, never trusted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../mitm-lib.sh"

pki=$(t_pki) || exit 1
mp=$(t_free_port)
t_mitm rogue --listen "127.0.0.1:$mp" --inject cmd/valve=open --inject cmd/other=never --duration 120 || exit 1
t_is "no upstream: a rogue broker" "$(t_log rogue 'pick(ev, "listening")[0]["mode"]')" "rogue"
t_is "with default names, marked as the lab's" "$(t_log rogue 'pick(ev, "listening")[0]["forged_sans"]')" \
	"DNS:localhost, IP:127.0.0.1, IP:::1"

# A subscriber victim first (MQTT 5), then a publisher victim (3.1.1) with any credentials at all.
t_mc sub --port "$mp" --verify none --v5 --client-id watcher --topic 'farm/#' --qos 1 --count 4 --timeout 20 \
	--ready-file "$T_TMP/sub.ready" >"$T_TMP/sub.json" &
sp=$!
for _ in $(seq 1 250); do [ -f "$T_TMP/sub.ready" ] && break; sleep 0.02; done
out=$(t_mc pub --port "$mp" --verify none --user nobody --password anything --client-id pub1 --topic farm/soil \
	--prefix wet --count 3 --qos -1 --expect cmd/valve)
t_is "any credentials get CONNACK 0 and every QoS is acknowledged" "$(echo "$out" | t_json - '[j["rc"], j["acked"]]')" "[0, 3]"
t_is "a victim subscribed to cmd/valve gets only the matching injection" "$(echo "$out" | t_json - 'j["injected"]')" '[["cmd/valve", "open"]]'
t_mc pub --port "$mp" --verify none --client-id pub2 --topic farm/door --prefix locked --count 1 --qos 1 --retain >/dev/null
wait "$sp"
t_is "the rogue routes messages between its victims (MQTT 5 subscriber)" \
	"$(t_json "$T_TMP/sub.json" '[m[1] for m in j["messages"]]')" '["wet-0", "wet-1", "wet-2", "locked-0"]'
out=$(t_mc sub --port "$mp" --verify none --client-id late --topic farm/door --count 1 --timeout 10)
t_is "a retained message is kept for later subscribers" "$(echo "$out" | t_json - 'j["messages"]')" '[["farm/door", "locked-0", 0, 1]]'
t_is "every message is in the log" "$(t_log rogue '[e["payload"] for e in pick(ev, "publish", dir="device_to_broker")]')" \
	'["wet-0", "wet-1", "wet-2", "locked-0"]'
t_is "with the credentials" "$(t_log rogue '[(e["username"], e["password"]) for e in pick(ev, "connect", client_id="pub1")]')" \
	'[["nobody", "anything"]]'
t_is "the MQTT 5 victim is logged as such" "$(t_log rogue '[e["protocol"] for e in pick(ev, "connect", client_id="watcher")]')" '["5"]'
t_is "the rogue's own CONNACKs are logged" "$(t_log rogue 'all(e["code"] == 0 for e in pick(ev, "connack")) and count(ev, "connack") >= 3')" "true"
t_is "QoS 2 is answered with PUBREC and PUBCOMP" "$(t_log rogue '[e["packet"] for e in pick(ev, "packet", dir="broker_to_device") if e["packet"] in ("PUBREC", "PUBCOMP")]')" \
	'["PUBREC", "PUBCOMP"]'

# The will of a victim that vanishes goes to the others, as a broker would send it.
t_mc sub --port "$mp" --verify none --client-id will-watch --topic 'wills/#' --count 1 --timeout 20 \
	--ready-file "$T_TMP/w.ready" >"$T_TMP/will.json" &
wp=$!
for _ in $(seq 1 250); do [ -f "$T_TMP/w.ready" ] && break; sleep 0.02; done
t_mc pub --port "$mp" --verify none --client-id doomed --topic x --count 1 --qos 1 \
	--will-topic wills/doomed --will-payload bye --vanish >/dev/null
wait "$wp"
t_is "the rogue publishes a vanished victim's will" "$(t_json "$T_TMP/will.json" '[m[:2] for m in j["messages"]]')" '[["wills/doomed", "bye"]]'
t_is "... and logs it as the will" "$(t_log rogue '[e["payload"] for e in pick(ev, "publish") if e.get("will")]')" '["bye"]'

out=$(t_mc idle --port "$mp" --verify none --client-id sleepy --keepalive 1 --idle 3 --topic s/t)
t_is "PINGREQ is answered: an idle victim stays connected" "$(echo "$out" | t_json - 'j["alive"]')" "true"

# mqttls device against the rogue.
out=$("$MQTTLS" device -h localhost -p "$mp" --no-verify -u dev -P pw -t farm/dev --count 2 --interval 0.1 -q 1 --subscribe cmd/valve 2>&1)
t_is "device --no-verify publishes to the rogue with QoS 1" "$?" "0"
t_like "... and receives the injected command" "$out" 'Message arrived \[cmd/valve\] open'
out=$("$MQTTLS" device -h localhost -p "$mp" --cafile "$pki/ca.crt" 2>&1)
t_is "device --cafile refuses the rogue" "$?" "1"

# Hostile bytes: after a good TLS handshake, a remaining length of 5 bytes, then a CONNECT whose
# client id runs past the packet. Each is reported and that victim dropped; the rogue goes on.
hostile() {
	"$T_PY" - "$mp" "$1" <<'PY'
import socket, ssl, sys, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5))
s.sendall(bytes.fromhex(sys.argv[2]))
try:
    print("closed" if s.recv(10) == b"" else "answered")
except Exception as e:
    print("closed")
PY
}
t_is "a 5-byte remaining length closes that victim" "$(hostile 10ffffffffff01)" "closed"
t_wait_log rogue 'count(ev, "malformed") == 1'
t_like "... and is reported" "$(t_log rogue 'pick(ev, "malformed")[0]["reason"]')" '.'
t_is "a CONNECT with a string past its end closes that victim" "$(hostile 100c00044d5154540402003c0064414243)" "closed"
t_wait_log rogue 'count(ev, "malformed") == 2'
t_pass "... and is reported as malformed"
t_is "no CONNECT event was made from either" "$(t_log rogue 'count(ev, "connect", client_id="ABC")')" "0"
out=$(printf '\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00' | timeout 5 "$T_PY" -c '
import socket, sys; s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.sendall(sys.stdin.buffer.read()); s.recv(10)' "$mp" 2>&1)
t_wait_log rogue 'any("does not speak TLS" in (e.get("reason") or "") for e in pick(ev, "handshake", result="rejected"))'
t_pass "plain MQTT sent to the TLS port is reported as not TLS"
out=$(t_mc pub --port "$mp" --verify none --client-id after --count 1 --qos 1)
t_is "the rogue still serves victims after all that" "$(echo "$out" | t_json - 'j["acked"]')" "1"

t_mitm_stop rogue
t_is "the rogue exits 0 (and ASan found no leak)" "$T_MITM_RC" "0"

# --clone: a certificate file, or a broker fetched without trusting it.
bp=$(t_free_port)
t_broker real "$bp" "$(t_tls_listener "$bp" "$pki")
allow_anonymous true" || exit 1
mp=$(t_free_port)
t_mitm clonefile --listen "127.0.0.1:$mp" --clone "$pki/broker.crt" --duration 30 || exit 1
t_like "--clone FILE copies that certificate's names" "$(t_log clonefile 'pick(ev, "listening")[0]["forged_sans"]')" 'DNS:localhost.*IP:127\.0\.0\.1'
t_mitm_stop clonefile
mp=$(t_free_port)
t_mitm clonenet --listen "127.0.0.1:$mp" --clone "localhost:$bp" --duration 30 || exit 1
t_is "--clone HOST:PORT fetches the broker's certificate to copy" "$(t_log clonenet 'pick(ev, "listening")[0]["forged_sans"]')" \
	"$(t_log clonefile 'pick(ev, "listening")[0]["forged_sans"]')"
t_mitm_stop clonenet
t_is "... and exits 0" "$T_MITM_RC" "0"
out=$("$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --clone "127.0.0.1:$(t_free_port)" --duration 5 2>&1)
t_is "--clone from a port where nothing listens fails at start (exit 1)" "$?" "1"
t_like "... saying why" "$out" 'cannot fetch the certificate to clone'
t_done
