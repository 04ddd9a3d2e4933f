#!/usr/bin/env bash
# What a student reads: the stage ladder, the root cause in one sentence, the evidence, the fix as
# commands, what the same failure looks like elsewhere; colour only on a terminal; clear usage
# errors. Against a real broker whose certificate lacks the IP SAN (the tutorials' classic).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diagnose.inc"

pki=$(t_pki) || { t_fail "certs init"; t_done; exit 1; }
"$MQTTLS" certs server iotsec.local --dir "$pki" >/dev/null 2>&1 || t_fail "certs server"
t_pki_perms "$pki"
p=$(t_free_port)
t_broker human "$p" "$(dg_listener "$p" "$pki" iotsec.local-fullchain.crt iotsec.local.key)
allow_anonymous true" || { t_fail "broker starts"; t_done; exit 1; }

out=$("$MQTTLS" diagnose -h 127.0.0.1 -p "$p" --cafile "$pki/ca.crt" --timeout 3 2>&1)
rc=$?
t_is "human: exit status 1" "$rc" "1"
t_like "human: the ladder, stage by stage" "$out" 'tcp +[0-9.]+ ms +connected to 127\.0\.0\.1'
t_like "human: the failed stage is marked" "$out" '✗ verify'
t_like "human: later stages are skipped" "$out" 'mqtt_connect +skipped'
t_like "human: the root cause in one sentence" "$out" 'Root cause: The certificate has no IP SAN for 127\.0\.0\.1'
t_like "human: the evidence in the user's terms" "$out" 'You connected to 127\.0\.0\.1 .*'
t_like "human: the certificate's names" "$out" 'names only DNS:iotsec\.local'
t_like "human: the openssl fix names the served certificate, its key and its CA" "$out" 'openssl x509 -req -in [^ ]*/iotsec\.local\.csr -CA [^ ]*/intermediate\.crt -CAkey [^ ]*/intermediate\.key .*subjectAltName=IP:127\.0\.0\.1,DNS:iotsec\.local'
t_like "human: the mqttls fix, in the user's own files" "$out" "mqttls certs server iotsec\\.local --san IP:127\\.0\\.0\\.1 --san DNS:iotsec\\.local --dir $pki --force"
t_like "human: ESP32 view (PubSubClient, mbedTLS, esp-tls)" "$out" 'ESP32: PubSubClient rc=-2; WiFiClientSecure logs -0x2700 \(-9984\).*esp-tls ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED'
t_like "human: mosquitto_pub view" "$out" 'mosquitto_pub: Unable to connect \(A TLS error occurred\.\)'
t_like "human: mosquitto -v view" "$out" 'mosquitto -v .*0A000412.*bad certificate'
t_unlike "human: no colour through a pipe" "$out" $'\033\\['

# On a terminal: colour, unless NO_COLOR.
if command -v script >/dev/null; then
	tty_out=$(NO_COLOR= script -qc "$MQTTLS diagnose -h 127.0.0.1 -p $p --cafile $pki/ca.crt --timeout 3" /dev/null 2>&1)
	t_like "terminal: colour" "$tty_out" $'\033\\[1;31m'
	tty_out=$(NO_COLOR=1 script -qc "$MQTTLS diagnose -h 127.0.0.1 -p $p --cafile $pki/ca.crt --timeout 3" /dev/null 2>&1)
	t_unlike "terminal with NO_COLOR: none" "$tty_out" $'\033\\['
else
	t_skip "script(1) is not installed"
fi

# The fix, as printed, works: run it, restart the broker, diagnose again.
fix=$("$MQTTLS" diagnose --json -h 127.0.0.1 -p "$p" --cafile "$pki/ca.crt" --timeout 3 | t_json - 'j["findings"][0]["fix"]' | grep -m1 'mqttls certs server')
t_like "the printed fix is one mqttls command" "$fix" '^ *mqttls certs server '
# shellcheck disable=SC2086
"$MQTTLS" ${fix#*mqttls } >"$T_TMP/fix.log" 2>&1
t_is "the printed fix runs" "$?" "0"
t_pki_perms "$pki"
t_broker_stop human
t_broker human2 "$p" "$(cat "$T_TMP/human.conf")" || t_fail "broker restarts"
dg fixed -h 127.0.0.1 -p "$p" --cafile "$pki/ca.crt"
t_is "after the fix: ok" "$(t_json "$T_TMP/fixed.json" 'j["ok"]')" "true"

# iotsec.local does not resolve here: --insecure (the name is not checked) shows the all-clear.
ok_out=$("$MQTTLS" diagnose -h localhost -p "$p" --cafile "$pki/ca.crt" --insecure --timeout 3 2>&1)
t_like "all-clear: every stage passed" "$ok_out" 'Every stage passed'
t_like "all-clear: the warning still shows" "$ok_out" '! INSECURE_VERIFY_OFF'

# Usage errors: one sentence, exit 2.
t_exit "unknown option: exit 2" 2 "$MQTTLS" diagnose --bogus
t_like "unknown option: says which" "$("$MQTTLS" diagnose --bogus 2>&1)" "unknown option '--bogus'"
t_exit "--timeout needs a number: exit 2" 2 "$MQTTLS" diagnose --timeout soon
t_exit "--timeout needs a value: exit 2" 2 "$MQTTLS" diagnose -h localhost --timeout
t_exit "a bad port: exit 2" 2 "$MQTTLS" diagnose -p 99999
t_exit "--cert without --key: exit 2" 2 "$MQTTLS" diagnose --cert "$pki/device1.crt"
t_exit "inspect: unknown option: exit 2" 2 "$MQTTLS" inspect --bogus
t_exit "inspect of mqtt://: exit 2" 2 "$MQTTLS" inspect mqtt://localhost:1883
t_like "help lists the flags" "$("$MQTTLS" diagnose --help)" '--broker-conf FILE'

t_done
