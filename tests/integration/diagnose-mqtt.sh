#!/usr/bin/env bash
# The MQTT stages against real brokers: CONNACK refusals in MQTT 3.1.1 and 5 (no credentials
# with no allow_anonymous, a wrong password, an unknown user, a certificate identity the broker
# cannot use, an empty client id the broker refuses) and ACLs that deny the round trip.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diagnose.inc"
DG_TIMEOUT=1

pki=$(t_pki) || { t_fail "certs init"; t_done; exit 1; }
ca=$pki/ca.crt
printf 'alice:s3cret\nbob:hunter2\n' >"$T_TMP/passwd"
mosquitto_passwd -U "$T_TMP/passwd"
printf 'user alice\ntopic read devices/#\nuser bob\ntopic write devices/#\n' >"$T_TMP/acl"
chmod 0644 "$T_TMP/passwd" "$T_TMP/acl"

# A device certificate without a CN: nothing for use_identity_as_username to take.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/nocn.key" \
	-subj "/O=mqttls test/OU=no common name" -out "$T_TMP/nocn.csr" 2>/dev/null
openssl x509 -req -in "$T_TMP/nocn.csr" -CA "$pki/intermediate.crt" -CAkey "$pki/intermediate.key" -days 30 \
	-extfile <(printf 'extendedKeyUsage=clientAuth\n') -out "$T_TMP/nocn-leaf.crt" 2>/dev/null
cat "$T_TMP/nocn-leaf.crt" "$pki/intermediate.crt" >"$T_TMP/nocn.crt"

pa=$(t_free_port); pp=$(t_free_port); pi=$(t_free_port); pz=$(t_free_port)
t_broker mqtt "$pa" "per_listener_settings true
$(dg_listener "$pa" "$pki" broker-fullchain.crt broker.key)
$(dg_listener "$pp" "$pki" broker-fullchain.crt broker.key)
password_file $T_TMP/passwd
acl_file $T_TMP/acl
$(dg_listener "$pi" "$pki" broker-fullchain.crt broker.key)
require_certificate true
use_identity_as_username true
$(dg_listener "$pz" "$pki" broker-fullchain.crt broker.key)
allow_anonymous true
allow_zero_length_clientid false" || { t_fail "broker starts"; t_done; exit 1; }

dg_root anonymous ANONYMOUS_NOT_ALLOWED 1 -h localhost -p "$pa" --cafile "$ca"
dg_stage anonymous mqtt_connect failed
dg_stage anonymous pubsub skipped
f=$(t_json "$T_TMP/anonymous.json" 'j["findings"][0]["fix"]')
t_like "anonymous: the fix has the conf lines" "$f" 'allow_anonymous true'
t_like "anonymous: and the password file" "$f" 'mosquitto_passwd'
s=$(t_json "$T_TMP/anonymous.json" 'j["findings"][0]["seen"]')
t_like "anonymous: ESP32 shows rc=5" "$s" 'rc=5'
t_like "anonymous: mosquitto_pub's words" "$s" 'Connection Refused: not authorised'
t_like "anonymous: mosquitto -v's words" "$s" 'Sending CONNACK to .*\(0, 5\)'
t_like "broker log agrees" "$(cat "$T_TMP/mqtt.log")" 'Sending CONNACK to 127\.0\.0\.1 \(0, 5\)'
dg_root anonymous-5 ANONYMOUS_NOT_ALLOWED 1 -h localhost -p "$pa" --cafile "$ca" -V 5
t_like "anonymous-5: the MQTT 5 reason code" "$(t_json "$T_TMP/anonymous-5.json" 'next(s["detail"] for s in j["stages"] if s["name"] == "mqtt_connect")')" 'CONNACK 135'

dg_root wrong-password BAD_CREDENTIALS 1 -h localhost -p "$pp" --cafile "$ca" -u alice -P wrong
t_like "wrong-password: names the user" "$(t_json "$T_TMP/wrong-password.json" 'j["findings"][0]["detail"]')" '"alice"'
dg_root unknown-user BAD_CREDENTIALS 1 -h localhost -p "$pp" --cafile "$ca" -u mallory -P x
dg_root wrong-password-5 BAD_CREDENTIALS 1 -h localhost -p "$pp" --cafile "$ca" -u alice -P wrong -V 5

dg_root cert-identity NOT_AUTHORIZED 1 -h localhost -p "$pi" --cafile "$ca" --cert "$T_TMP/nocn.crt" --key "$T_TMP/nocn.key"
t_like "cert-identity: says the certificate has no CN" "$(t_json "$T_TMP/cert-identity.json" 'j["findings"][0]["detail"]')" 'no CN'
dg_ok cert-identity-ok -h localhost -p "$pi" --cafile "$ca" --cert "$pki/device1.crt" --key "$pki/device1.key"

dg_root empty-id CLIENT_ID_REJECTED 1 -h localhost -p "$pz" --cafile "$ca" -i ""

# ACLs: alice may only read devices/#, bob may only write.
dg_root acl-publish ACL_DENIED 1 -h localhost -p "$pp" --cafile "$ca" -u alice -P s3cret -t devices/a
dg_stage acl-publish mqtt_connect ok
dg_stage acl-publish pubsub failed
t_like "acl-publish: the message never came back" "$(t_json "$T_TMP/acl-publish.json" 'j["findings"][0]["detail"]')" 'never came back'
t_like "acl-publish: the fix is an acl_file line" "$(t_json "$T_TMP/acl-publish.json" 'j["findings"][0]["fix"]')" 'topic readwrite devices/a/#'
t_like "broker log: the publish was denied" "$(cat "$T_TMP/mqtt.log")" 'Denied PUBLISH'
dg_root acl-publish-5 ACL_DENIED 1 -h localhost -p "$pp" --cafile "$ca" -u alice -P s3cret -t devices/a -V 5
t_like "acl-publish-5: PUBACK reason 0x87" "$(t_json "$T_TMP/acl-publish-5.json" 'j["findings"][0]["detail"]')" 'PUBACK reason 0x87'
dg_root acl-read ACL_DENIED 1 -h localhost -p "$pp" --cafile "$ca" -u bob -P hunter2 -t devices/a

# A refused subscription: the dynamic security plugin's default ACL denies subscribing.
if command -v mosquitto_ctrl >/dev/null && [ -f /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so ]; then
	mosquitto_ctrl dynsec init "$T_TMP/dynsec.json" admin adminpw >/dev/null 2>&1
	chmod 0644 "$T_TMP/dynsec.json"
	[ "$(id -u)" = 0 ] && chown mosquitto "$T_TMP/dynsec.json"
	pd=$(t_free_port)
	t_broker dynsec "$pd" "plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so
plugin_opt_config_file $T_TMP/dynsec.json
$(dg_listener "$pd" "$pki" broker-fullchain.crt broker.key)
require_certificate true
use_identity_as_username true" || t_fail "dynsec broker starts"
	dg_root acl-subscribe ACL_DENIED 1 -h localhost -p "$pd" --cafile "$ca" --cert "$pki/device1.crt" --key "$pki/device1.key"
	t_like "acl-subscribe: SUBACK refused" "$(t_json "$T_TMP/acl-subscribe.json" 'j["findings"][0]["detail"]')" 'SUBACK 0x80'
else
	t_skip "mosquitto's dynamic security plugin is not installed"
fi

t_done
