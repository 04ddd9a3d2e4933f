#!/usr/bin/env bash
# The relay in front of a real mosquitto, with real victims: a paho client that does not verify
# (setInsecure) is accepted and everything it says is in the log while the real subscriber still
# gets every message; mosquitto_pub with the real CA refuses the forgery and the log shows its
# alert; QoS 1/2, retained, will, keepalive and the broker's CONNACK pass intact; --inject reaches
# the device; mqttls device behaves the same way; mTLS towards the real broker.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../mitm-lib.sh"

pki=$(t_pki) || exit 1
t_passwd "$T_TMP/passwd" alice s3cret
bp=$(t_free_port)
t_broker real "$bp" "$(t_tls_listener "$bp" "$pki")
allow_anonymous false
password_file $T_TMP/passwd" || exit 1
mp=$(t_free_port)
t_mitm relay --listen "127.0.0.1:$mp" --upstream "localhost:$bp" --upstream-cafile "$pki/ca.crt" \
	--inject lab/cmd=open-the-door --duration 120 -v || exit 1

t_like "the banner is the first line on stderr" "$(head -n1 "$T_TMP/relay.err")" '^INSECURE LAB MITM'
t_is "the banner is the first line of the log" "$(head -n1 "$T_TMP/relay.jsonl" | t_json - 'j["banner"]')" "INSECURE LAB MITM"
t_is "the log is mode 0600" "$(stat -c %a "$T_TMP/relay.jsonl")" "600"
t_like "the forgery says what it is" "$(t_log relay 'pick(ev, "listening")[0]["forged_subject"]')" 'O=INSECURE LAB MITM'
t_like "the forgery clones the real broker's names" "$(t_log relay 'pick(ev, "listening")[0]["forged_sans"]')" 'DNS:localhost'
t_is "the default maximum run time is in force" "$(t_log relay 'pick(ev, "listening")[0]["duration"]')" "120"

# 0. A port check (nc -z, a script waiting for the port) is not a device refusing the forgery.
(exec 3<>"/dev/tcp/127.0.0.1/$mp") 2>/dev/null
t_ok "a connection that sends nothing is logged as closed" \
	t_wait_log relay 'count(ev, "closed", reason="a port check: it connected and closed without sending a byte") == 1'
t_is "... and not as a rejected handshake" "$(t_log relay 'count(ev, "handshake")')" "0"
t_like "the class sees it as a port check" "$(cat "$T_TMP/relay.out")" 'closed: a port check'

# The real subscriber on the real broker, started first.
t_mc sub --port "$bp" --cafile "$pki/ca.crt" --user alice --password s3cret --client-id watcher \
	--topic 'sensors/#' --qos 2 --count 6 --timeout 30 --ready-file "$T_TMP/sub.ready" >"$T_TMP/sub.json" &
subpid=$!
for _ in $(seq 1 250); do [ -f "$T_TMP/sub.ready" ] && break; sleep 0.02; done

# 1. setInsecure(): paho with verification off, through the relay.
out=$(t_mc pub --port "$mp" --verify none --user alice --password s3cret --client-id esp32-insecure \
	--topic sensors/esp32/temp --prefix reading --count 6 --qos -1 --expect lab/cmd --timeout 20)
t_is "the insecure device connected and every publish was acknowledged" "$(echo "$out" | t_json - 'j["acked"]')" "6"
t_is "the forged command reached the device" "$(echo "$out" | t_json - 'j["injected"]')" '[["lab/cmd", "open-the-door"]]'
wait "$subpid"
t_is "the real subscriber received all 6 readings" "$(t_json "$T_TMP/sub.json" 'j["count"]')" "6"
# MQTT orders messages per QoS level (a QoS 2 message is delivered after its PUBREL).
t_is "... in order for each QoS" "$(t_json "$T_TMP/sub.json" '[[m[1] for m in j["messages"] if m[2] == q] for q in (0, 1, 2)]')" \
	'[["reading-0", "reading-3"], ["reading-1", "reading-4"], ["reading-2", "reading-5"]]'
t_is "the log has the handshake accepted" "$(t_log relay 'count(ev, "handshake", result="accepted")')" "1"
t_is "the log has the credentials" "$(t_log relay '[(e["client_id"], e["username"], e["password"]) for e in pick(ev, "connect")]')" \
	'[["esp32-insecure", "alice", "s3cret"]]'
t_is "the log has every payload, device to broker" \
	"$(t_log relay '[e["payload"] for e in pick(ev, "publish", dir="device_to_broker")]')" \
	'["reading-0", "reading-1", "reading-2", "reading-3", "reading-4", "reading-5"]'
t_is "the real broker's CONNACK passed" "$(t_log relay '[e["code"] for e in pick(ev, "connack")]')" "[0]"
t_is "the injection is in the log" "$(t_log relay '[(e["topic"], e["payload"]) for e in pick(ev, "inject")]')" \
	'[["lab/cmd", "open-the-door"]]'
t_like "the class sees the credentials on the terminal" "$(cat "$T_TMP/relay.out")" 'CONNECT client_id "esp32-insecure" username "alice" password "s3cret"'
t_like "... and the readings" "$(cat "$T_TMP/relay.out")" 'device -> broker  PUBLISH "sensors/esp32/temp" "reading-5" \(qos 2'

# 2. setCACert(): mosquitto_pub with the real CA refuses the forgery; nothing is captured.
connects=$(t_log relay 'count(ev, "connect")')
out=$(mosquitto_pub -h localhost -p "$mp" --cafile "$pki/ca.crt" -u alice -P s3cret -t sensors/verified -m secret 2>&1)
rc=$?
t_unlike "mosquitto_pub --cafile <real CA> fails against the forgery" "$rc" '^0$'
t_wait_log relay 'count(ev, "handshake", result="rejected") == 1'
t_is "the log shows the alert the client sent" "$(t_log relay '[e.get("alert") for e in pick(ev, "handshake", result="rejected")]')" '["unknown_ca"]'
t_is "nothing was captured from it" "$(t_log relay 'count(ev, "connect")')" "$connects"
t_unlike "its message is nowhere in the log" "$(cat "$T_TMP/relay.jsonl")" 'secret"'
t_like "the class sees the rejection" "$(cat "$T_TMP/relay.out")" 'TLS REJECTED alert unknown_ca'

# 3. mqttls device, the same two ways.
out=$("$MQTTLS" device -h localhost -p "$mp" --no-verify -u alice -P s3cret -i dev-insecure -t sensors/dev -m hello 2>&1)
t_is "device --no-verify is accepted by the relay (exit 0)" "$?" "0"
t_like "... and says it did not verify" "$out" 'NOT verified \(setInsecure\)'
t_wait_log relay 'count(ev, "publish", payload="hello") == 1'
t_is "... its password is in the log" "$(t_log relay '[e["password"] for e in pick(ev, "connect", client_id="dev-insecure")]')" '["s3cret"]'
out=$("$MQTTLS" device -h localhost -p "$mp" --cafile "$pki/ca.crt" -u alice -P s3cret -i dev-verify -m no 2>&1)
t_is "device --cafile refuses the relay (exit 1)" "$?" "1"
t_like "... with the mbedTLS verify error an ESP32 logs" "$out" 'X509_CERT_VERIFY_FAILED'
t_like "... and PubSubClient's rc=-2" "$out" 'failed, rc=-2'
t_wait_log relay 'count(ev, "handshake", result="rejected") == 2'
t_is "... and the relay logged its unknown_ca" "$(t_log relay 'pick(ev, "handshake", result="rejected")[-1].get("alert")')" "unknown_ca"
t_is "... and no CONNECT from it" "$(t_log relay 'count(ev, "connect", client_id="dev-verify")')" "0"

# 4. Retained and will messages through the relay.
t_mc pub --port "$mp" --verify none --user alice --password s3cret --client-id retainer --topic state/door \
	--prefix closed --count 1 --qos 1 --retain >/dev/null
out=$(t_mc sub --port "$bp" --cafile "$pki/ca.crt" --user alice --password s3cret --client-id late --topic state/door --qos 1 --count 1 --timeout 10)
t_is "a retained message sent through the relay is retained by the real broker" "$(echo "$out" | t_json - 'j["messages"]')" '[["state/door", "closed-0", 1, 1]]'
t_mc sub --port "$bp" --cafile "$pki/ca.crt" --user alice --password s3cret --client-id will-watch --topic 'wills/#' \
	--count 1 --timeout 20 --ready-file "$T_TMP/will.ready" >"$T_TMP/will.json" &
wpid=$!
for _ in $(seq 1 250); do [ -f "$T_TMP/will.ready" ] && break; sleep 0.02; done
t_mc pub --port "$mp" --verify none --user alice --password s3cret --client-id doomed --topic x --count 1 --qos 1 \
	--will-topic wills/doomed --will-payload "doomed went away" --vanish >/dev/null
wait "$wpid"
t_is "the will of a device that vanished reaches the real subscriber" "$(t_json "$T_TMP/will.json" 'j["messages"]')" '[["wills/doomed", "doomed went away", 0, 0]]'
t_is "the relay logged the will in the CONNECT" "$(t_log relay '[e.get("will_topic") for e in pick(ev, "connect", client_id="doomed")]')" '["wills/doomed"]'

# 5. Keepalive: an idle device stays connected through the relay (PINGREQ/PINGRESP pass).
out=$(t_mc idle --port "$mp" --verify none --user alice --password s3cret --client-id sleepy --keepalive 1 --idle 3 --topic sleepy/t)
t_is "an idle device with keepalive 1 s stays connected for 3 s" "$(echo "$out" | t_json - 'j["alive"] and j["published_after_idle"]')" "true"
t_like "PINGREQ and PINGRESP were relayed" "$(t_log relay '[e["packet"] for e in ev if e.get("event") == "packet" and e["packet"].startswith("PING")]')" 'PINGREQ.*PINGRESP'

# 6. The real broker's refusal passes through unchanged: wrong password, CONNACK 5.
out=$(t_mc pub --port "$mp" --verify none --user alice --password wrong --client-id bad-pass --count 1 2>&1)
t_is "a refused CONNECT is refused for the victim too" "$(echo "$out" | t_json - 'j["rc"]')" "5"
t_wait_log relay 'any(e.get("code") == 5 for e in pick(ev, "connack"))'
t_pass "the relay logged CONNACK 5 from the real broker"

t_mitm_stop relay
t_is "mitm exits 0 on SIGTERM (and ASan found no leak)" "$T_MITM_RC" "0"
t_is "the log ends with the stop" "$(t_log relay 'ev[-1]["event"]')" "stopped"

# 7. mTLS: a broker that requires a client certificate, the relay presenting the device's own.
"$MQTTLS" certs device relaybox --dir "$pki" >/dev/null 2>&1 && t_pki_perms "$pki"
bp2=$(t_free_port)
t_broker strict "$bp2" "$(t_tls_listener "$bp2" "$pki")
require_certificate true
use_identity_as_username true
allow_anonymous false" || exit 1
mp2=$(t_free_port)
t_mitm mtls --listen "127.0.0.1:$mp2" --upstream "localhost:$bp2" --upstream-cafile "$pki/ca.crt" \
	--upstream-cert "$pki/relaybox.crt" --upstream-key "$pki/relaybox.key" --duration 60 || exit 1
t_mc sub --port "$bp2" --cafile "$pki/ca.crt" --cert "$pki/device1.crt" --key "$pki/device1.key" --client-id w2 \
	--topic 'm/#' --count 2 --timeout 20 --ready-file "$T_TMP/sub2.ready" >"$T_TMP/sub2.json" &
s2=$!
for _ in $(seq 1 250); do [ -f "$T_TMP/sub2.ready" ] && break; sleep 0.02; done
out=$(t_mc pub --port "$mp2" --verify none --client-id no-cert-needed --topic m/x --count 2 --qos 1)
t_is "a device without a certificate reaches an mTLS broker through the relay" "$(echo "$out" | t_json - 'j["acked"]')" "2"
wait "$s2"
t_is "... and the subscriber got both messages" "$(t_json "$T_TMP/sub2.json" 'j["count"]')" "2"
t_mitm_stop mtls
t_is "the mTLS relay exits 0" "$T_MITM_RC" "0"

t_done
