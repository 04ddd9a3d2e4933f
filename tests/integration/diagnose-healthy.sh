#!/usr/bin/env bash
# diagnose and inspect against healthy real brokers: server TLS with the full chain through the
# intermediate, MQTT 5, mutual TLS with use_identity_as_username, plain MQTT, the built-in lab
# broker, a pasted mosquitto_sub line — all ok:true, exit 0; and the JSON has the contract's shape.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diagnose.inc"

pki=$(t_pki) || { t_fail "certs init"; t_done; exit 1; }
p1=$(t_free_port); p2=$(t_free_port); p3=$(t_free_port)
t_broker healthy "$p1" "$(dg_listener "$p1" "$pki" broker-fullchain.crt broker.key)
allow_anonymous true
$(dg_listener "$p2" "$pki" broker-fullchain.crt broker.key)
require_certificate true
use_identity_as_username true
listener $p3 127.0.0.1
" || { t_fail "broker starts"; t_done; exit 1; }

dg_ok server-tls -h localhost -p "$p1" --cafile "$pki/ca.crt"
t_is "server-tls: chain is leaf + intermediate" "$(t_json "$T_TMP/server-tls.json" 'len(j["chain"])')" "2"
t_like "server-tls: TLS version" "$(t_json "$T_TMP/server-tls.json" 'j["tls"]["version"]')" '^TLSv1\.[23]$'
t_like "server-tls: cipher is an IANA name" "$(t_json "$T_TMP/server-tls.json" 'j["tls"]["cipher"]')" '^TLS_'
t_is "server-tls: SNI is the host" "$(t_json "$T_TMP/server-tls.json" 'j["tls"]["sni"]')" "localhost"
t_is "server-tls: the address connected to" "$(t_json "$T_TMP/server-tls.json" 'j["target"]["address"]')" "127.0.0.1"

# The contract's shape, field by field.
shape=$(t_json "$T_TMP/server-tls.json" '(
[k for k in ("tool","version","target","ok","stages","tls","chain","findings") if k not in j] +
[s["name"] for s in j["stages"]] +
[k for k in ("depth","subject","issuer","serial","not_before","not_after","san_dns","san_ip","key","sig_alg","eku","is_ca","sha256") if k not in j["chain"][0]] +
[s["status"] for s in j["stages"] if s["status"] not in ("ok","failed","skipped")] +
[s["name"] for s in j["stages"] if not isinstance(s["ms"], (int, float)) or "detail" not in s])')
t_is "JSON has the contract's keys and stage order" "$shape" '["resolve", "tcp", "tls", "verify", "mqtt_connect", "pubsub"]'
t_is "JSON tool name" "$(t_json "$T_TMP/server-tls.json" 'j["tool"]')" "mqttls"

dg_ok by-ip -h 127.0.0.1 -p "$p1" --cafile "$pki/ca.crt"
dg_ok mqtt5 -h localhost -p "$p1" --cafile "$pki/ca.crt" -V 5
dg_ok tls12 -h localhost -p "$p1" --cafile "$pki/ca.crt" --tls-max tlsv1.2
t_is "tls12: negotiated TLS 1.2" "$(t_json "$T_TMP/tls12.json" 'j["tls"]["version"]')" "TLSv1.2"
dg_ok tls13 -h localhost -p "$p1" --cafile "$pki/ca.crt" --tls-version tlsv1.3
t_is "tls13: negotiated TLS 1.3" "$(t_json "$T_TMP/tls13.json" 'j["tls"]["version"]')" "TLSv1.3"
dg_ok topic -h localhost -p "$p1" --cafile "$pki/ca.crt" -t 'sensors/#' -m hello
t_like "topic: the round trip stays under -t" "$(t_json "$T_TMP/topic.json" 'next(s["detail"] for s in j["stages"] if s["name"] == "pubsub")')" 'sensors/mqttls-'

dg_ok mtls -h localhost -p "$p2" --cafile "$pki/ca.crt" --cert "$pki/device1.crt" --key "$pki/device1.key"
t_is "mtls: the broker asked for a certificate" "$(t_json "$T_TMP/mtls.json" 'j["tls"]["client_cert_requested"]')" "true"
t_is "mtls: and got one" "$(t_json "$T_TMP/mtls.json" 'j["tls"]["client_cert_sent"]')" "true"
dg_ok mtls-12 -h localhost -p "$p2" --cafile "$pki/ca.crt" --cert "$pki/device1.crt" --key "$pki/device1.key" --tls-max tlsv1.2

dg_ok plain "mqtt://localhost:$p3"
dg_stage plain tls skipped
dg_stage plain mqtt_connect ok

# A failing command line, pasted as it was typed.
dg_ok pasted mosquitto_sub -h localhost -p "$p1" --cafile "$pki/ca.crt" -t iot/test -d
t_ok "the pasted line goes to diagnose from the top level too" "$MQTTLS" mosquitto_pub -h localhost -p "$p1" --cafile "$pki/ca.crt" -t iot/test -m hi --timeout 3

# inspect: the handshake alone.
"$MQTTLS" inspect -h localhost -p "$p1" --cafile "$pki/ca.crt" --json >"$T_TMP/inspect.json" 2>&1
t_is "inspect exits 0" "$?" "0"
t_is "inspect: no MQTT stage ran" "$(t_json "$T_TMP/inspect.json" '[s["status"] for s in j["stages"] if s["name"] in ("mqtt_connect","pubsub")]')" '["skipped", "skipped"]'
t_is "inspect: the chain" "$(t_json "$T_TMP/inspect.json" 'len(j["chain"])')" "2"
out=$(NO_COLOR=1 "$MQTTLS" inspect -h 127.0.0.1 -p "$p1" --cafile "$pki/ca.crt" 2>&1)
t_like "inspect shows each certificate's fields" "$out" 'SHA-256'
t_like "inspect marks the SAN that matches the host" "$out" '127\.0\.0\.1.*(<-|←|match)'
t_like "inspect says the chain verifies" "$out" 'verified against'
out=$(grep -c "Received PUBLISH" "$T_TMP/healthy.log")
t_like "broker log: the round trips published" "$out" '^[1-9]'

# No TARGET at all: the built-in lab broker.
out=$("$MQTTLS" diagnose --json --timeout 3 2>"$T_TMP/lab.err")
rc=$?
t_is "no target: the built-in lab broker is diagnosed, exit 0" "$rc" "0"
t_like "no target: said on stderr" "$(cat "$T_TMP/lab.err")" 'built-in lab broker'
t_is "no target: ok" "$(printf '%s' "$out" | t_json - 'j["ok"]')" "true"

t_done
