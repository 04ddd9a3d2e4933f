#!/usr/bin/env bash
# The forgeries: "self" (a throw-away CA: verifying clients refuse it), the stolen CA (a CA the
# clients trust signs the clone: even a verifying client is fooled), and certificate confusion
# (the real CA's signature on another name: only clients that skip the host name accept it).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../mitm-lib.sh"

pki=$(t_pki) || exit 1
bp=$(t_free_port)
t_broker real "$bp" "$(t_tls_listener "$bp" "$pki")
allow_anonymous true" || exit 1

# What the forgery looks like to anyone who looks: mqttls's own certificate reader on s_client's copy.
mp=$(t_free_port)
t_mitm self --listen "127.0.0.1:$mp" --upstream "localhost:$bp" --upstream-cafile "$pki/ca.crt" --duration 60 || exit 1
openssl s_client -connect "127.0.0.1:$mp" -servername localhost </dev/null 2>/dev/null | openssl x509 >"$T_TMP/forged.pem"
"$MQTTLS" certs show "$T_TMP/forged.pem" --json >"$T_TMP/forged.json" 2>/dev/null
"$MQTTLS" certs show "$pki/broker.crt" --json >"$T_TMP/real.json" 2>/dev/null
t_like "self: the forged subject carries O=INSECURE LAB MITM" "$(t_json "$T_TMP/forged.json" 'j[0]["subject"]')" 'O=INSECURE LAB MITM'
t_unlike "self: ... and not the real organisation" "$(t_json "$T_TMP/forged.json" 'j[0]["subject"]')" 'mqttls lab'
t_is "self: the forged certificate clones the real CN" "$(t_json "$T_TMP/forged.json" 'j[0]["cn"]')" "$(t_json "$T_TMP/real.json" 'j[0]["cn"]')"
t_is "self: ... and exactly the real SANs" "$(t_json "$T_TMP/forged.json" '[j[0]["san_dns"], j[0]["san_ip"]]')" \
	"$(t_json "$T_TMP/real.json" '[j[0]["san_dns"], j[0]["san_ip"]]')"
t_like "self: issued by the throw-away CA" "$(t_json "$T_TMP/forged.json" 'j[0]["issuer"]')" 'throw-away MITM CA'
t_unlike "self: with a new key (not the real broker's)" "$(t_json "$T_TMP/forged.json" 'j[0]["spki_sha256"]')" \
	"^$(t_json "$T_TMP/real.json" 'j[0]["spki_sha256"]')\$"
mosquitto_pub -h localhost -p "$mp" --cafile "$pki/ca.crt" --insecure -t t -m m >/dev/null 2>&1
t_unlike "self: even mosquitto_pub --insecure (CA still checked) refuses it" "$?" '^0$'
t_wait_log self 'count(ev, "handshake", result="rejected") >= 2'
t_is "self: ... with unknown_ca" "$(t_log self 'pick(ev, "handshake", result="rejected")[-1]["alert"]')" "unknown_ca"
t_mitm_stop self
t_is "self: mitm exits 0" "$T_MITM_RC" "0"

# The stolen CA: the intermediate that signed the real broker certificate signs the clone.
mp=$(t_free_port)
t_mitm stolen --listen "127.0.0.1:$mp" --upstream "localhost:$bp" --upstream-cafile "$pki/ca.crt" \
	--forge "ca:$pki/intermediate.crt,$pki/intermediate.key" --duration 60 || exit 1
mosquitto_pub -h localhost -p "$mp" --cafile "$pki/ca.crt" -u victim -P hunter2 -t stolen/t -m fooled >/dev/null 2>&1
t_is "stolen CA: mosquitto_pub with full verification is fooled" "$?" "0"
t_wait_log stolen 'count(ev, "publish", payload="fooled") == 1'
t_is "stolen CA: ... and its password is in the log" "$(t_log stolen '[e["password"] for e in pick(ev, "connect")]')" '["hunter2"]'
out=$("$MQTTLS" device -h localhost -p "$mp" --cafile "$pki/ca.crt" -m fooled-too 2>&1)
t_is "stolen CA: mqttls device --cafile (setCACert) is fooled too" "$?" "0"
t_like "stolen CA: ... and believes the host name matched" "$out" 'CA verified, host name localhost matched'
t_like "stolen CA: the forgery still says what it is" "$(t_log stolen 'pick(ev, "listening")[0]["forged_subject"]')" 'O=INSECURE LAB MITM'
t_mitm_stop stolen
t_is "stolen CA: mitm exits 0" "$T_MITM_RC" "0"

# Certificate confusion: the real CA's signature, another name.
mp=$(t_free_port)
t_mitm confusion --listen "127.0.0.1:$mp" --upstream "localhost:$bp" --upstream-cafile "$pki/ca.crt" \
	--forge "ca:$pki/intermediate.crt,$pki/intermediate.key" --forge-name other-device.lab --duration 60 || exit 1
t_is "confusion: the forgery names only the other host" "$(t_log confusion 'pick(ev, "listening")[0]["forged_sans"]')" "DNS:other-device.lab"
out=$(mosquitto_pub -h localhost -p "$mp" --cafile "$pki/ca.crt" -t confused/t -m checked 2>&1)
t_unlike "confusion: mosquitto_pub that checks the host name refuses it" "$?" '^0$'
t_wait_log confusion 'count(ev, "handshake", result="rejected") == 1'
t_is "confusion: ... and the log shows the alert mosquitto sends for a name mismatch" "$(t_log confusion 'pick(ev, "handshake", result="rejected")[0]["alert"]')" "internal_error"
mosquitto_pub -h localhost -p "$mp" --cafile "$pki/ca.crt" --insecure -u victim -P hunter3 -t confused/t -m accepted >/dev/null 2>&1
t_is "confusion: mosquitto_pub --insecure (host name unchecked) accepts it" "$?" "0"
t_wait_log confusion 'count(ev, "publish", payload="accepted") == 1'
t_is "confusion: ... and its credentials are captured" "$(t_log confusion '[e["password"] for e in pick(ev, "connect")]')" '["hunter3"]'
out=$("$MQTTLS" device -h localhost -p "$mp" --cafile "$pki/ca.crt" 2>&1)
t_is "confusion: device --cafile (name checked) refuses it" "$?" "1"
t_like "confusion: ... with mbedTLS's CN mismatch flag" "$out" 'verify flags 0x04'
out=$("$MQTTLS" device -h localhost -p "$mp" --cafile "$pki/ca.crt" --skip-cn-check -m confused 2>&1)
t_is "confusion: device --skip-cn-check accepts it" "$?" "0"
t_like "confusion: ... and says the name was not checked" "$out" 'host name NOT checked'
t_mitm_stop confusion
t_is "confusion: mitm exits 0" "$T_MITM_RC" "0"

# A given "CA" that is not one is refused at start, in one sentence.
out=$("$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --forge "ca:$pki/broker.crt,$pki/broker.key" 2>&1)
t_is "--forge ca: with a leaf certificate is refused (exit 1)" "$?" "1"
t_like "... saying it is not a CA" "$out" 'not a CA certificate'
out=$("$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --forge "ca:$pki/intermediate.crt,$pki/broker.key" 2>&1)
t_like "--forge ca: with the wrong key is refused" "$out" 'is not the key of'
out=$("$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --forge "ca:$pki/intermediate.crt" 2>&1)
t_is "--forge ca: without a key is a usage error" "$?" "2"

t_done
