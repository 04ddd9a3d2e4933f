#!/usr/bin/env bash
# mqttls device against a real mosquitto: each way an ESP32 sketch can check the broker, the
# serial-monitor lines and PubSubClient rc values for each failure, and the exit status.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../mitm-lib.sh"

pki=$(t_pki) || exit 1
other=$(t_pki "$T_TMP/other") || exit 1
t_passwd "$T_TMP/passwd" sensor s3cret
bp=$(t_free_port)
t_broker real "$bp" "$(t_tls_listener "$bp" "$pki")
allow_anonymous true" || exit 1
ap=$(t_free_port)
t_broker auth "$ap" "$(t_tls_listener "$ap" "$pki")
allow_anonymous false
password_file $T_TMP/passwd" || exit 1
# A broker whose certificate names only broker.lab: "localhost" is not in it.
"$MQTTLS" certs server broker.lab --dir "$pki" >/dev/null 2>&1 && t_pki_perms "$pki"
np=$(t_free_port)
t_broker named "$np" "listener $np 127.0.0.1
cafile $pki/ca.crt
certfile $pki/broker.lab-fullchain.crt
keyfile $pki/broker.lab.key
allow_anonymous true" || exit 1
ca=$pki/ca.crt
D=("$MQTTLS" device)

t_mc sub --port "$bp" --cafile "$ca" --client-id w --topic 'dev/#' --count 3 --timeout 20 \
	--ready-file "$T_TMP/r" >"$T_TMP/sub.json" &
sp=$!
for _ in $(seq 1 250); do [ -f "$T_TMP/r" ] && break; sleep 0.02; done
out=$("${D[@]}" -h localhost -p "$bp" --cafile "$ca" -i esp32-a -t dev/a --count 3 --interval 0.1 2>&1)
t_is "--cafile (setCACert) publishes every message: exit 0" "$?" "0"
t_like "it prints what a serial monitor shows" "$out" 'Attempting MQTT connection to 127\.0\.0\.1:[0-9]+\.\.\.'
t_like "... connected" "$out" '^connected$'
t_like "... each publish" "$out" 'Publish message: \{"device":"esp32-a","n":3,'
t_like "... and how it verified" "$out" 'CA verified, host name localhost matched'
t_like "... and the count" "$out" 'published 3 of 3 messages'
wait "$sp"
t_is "a real subscriber got all three" "$(t_json "$T_TMP/sub.json" 'j["count"]')" "3"

out=$("${D[@]}" -h localhost -p "$bp" --verify --cafile "$ca" -q 1 --count 2 --interval 0.1 2>&1)
t_is "--verify --cafile with -q 1 waits for each PUBACK: exit 0" "$?" "0"
t_like "... and says so" "$out" 'Published message 2 \(PUBACK received\)'
out=$("${D[@]}" mqtts://localhost:"$bp" --cafile "$ca" -V 5 2>&1)
t_is "MQTT 5 and a URL target work" "$?" "0"

out=$("${D[@]}" -h localhost -p "$bp" --cafile "$other/ca.crt" 2>&1)
t_is "the wrong CA: exit 1" "$?" "1"
t_like "... mbedTLS's verify error, as an ESP32 logs it" "$out" '\[E\]\[ssl_client\] start_ssl_client: -0x2700 \(-9984\)'
t_like "... with NOT_TRUSTED in the verify flags" "$out" 'verify flags 0x08: The certificate is not correctly signed by the trusted CA'
t_like "... and PubSubClient's rc=-2" "$out" '^failed, rc=-2$'
t_like "... and nothing published" "$out" 'published 0 of 1 message'

out=$("${D[@]}" -h localhost -p "$np" --cafile "$ca" 2>&1)
t_is "a host name the certificate does not name: exit 1" "$?" "1"
t_like "... the CN-mismatch flag" "$out" 'verify flags 0x04: The certificate Common Name \(CN\) does not match'
out=$("${D[@]}" -h 127.0.0.1 -p "$np" --cafile "$ca" 2>&1)
t_like "an IP address the certificate does not name: the same flag" "$out" 'verify flags 0x04'
out=$("${D[@]}" -h localhost -p "$np" --cafile "$ca" --skip-cn-check 2>&1)
t_is "--skip-cn-check accepts it (the CA still checked): exit 0" "$?" "0"
t_like "... and says the name was not checked" "$out" 'host name NOT checked'
out=$("${D[@]}" -h localhost -p "$np" --cafile "$other/ca.crt" --skip-cn-check 2>&1)
t_is "--skip-cn-check still refuses the wrong CA" "$?" "1"

for flag in --no-verify --insecure; do
	out=$("${D[@]}" -h localhost -p "$np" $flag 2>&1)
	t_is "$flag (setInsecure) accepts anything: exit 0" "$?" "0"
	t_like "$flag ... and says nothing was verified" "$out" 'NOT verified \(setInsecure\)'
done

cert_pin=$(openssl x509 -in "$pki/broker.crt" -noout -fingerprint -sha256 | cut -d= -f2)
spki_pin=$(openssl x509 -in "$pki/broker.crt" -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
ca_pin=$(openssl x509 -in "$ca" -noout -fingerprint -sha256 | cut -d= -f2)
out=$("${D[@]}" -h localhost -p "$bp" --pin "$cert_pin" 2>&1)
t_is "--pin of the broker certificate: exit 0" "$?" "0"
t_like "... says the certificate pin matched" "$out" 'certificate pin matched'
out=$("${D[@]}" -h localhost -p "$bp" --pin "sha256//$spki_pin" 2>&1)
t_is "--pin of its public key (base64): exit 0" "$?" "0"
t_like "... says the public-key pin matched" "$out" 'public key pin matched'
out=$("${D[@]}" -h localhost -p "$bp" --pin "$ca_pin" 2>&1)
t_is "--pin of the CA (a pin on the wrong thing): exit 1" "$?" "1"
t_like "... shows both fingerprints it saw" "$out" 'the pin matches neither the certificate \(sha256 [0-9a-f]{64}\) nor its public key'
out=$("${D[@]}" -h localhost -p "$bp" --pin "$cert_pin" --cafile "$other/ca.crt" 2>&1)
t_is "--pin with --cafile needs both to pass" "$?" "1"

out=$("${D[@]}" -h localhost -p "$ap" --cafile "$ca" -i anon 2>&1)
t_is "a broker that refuses anonymous clients: exit 1" "$?" "1"
t_like "... CONNACK 5 becomes rc=5, as PubSubClient reports it" "$out" '^failed, rc=5$'
out=$("${D[@]}" -h localhost -p "$ap" --cafile "$ca" -u sensor -P wrong 2>&1)
# mosquitto 2.0 answers a wrong password for 3.1.1 with "not authorised" (5), not 4.
t_like "a wrong password: the broker's CONNACK code as rc" "$out" '^failed, rc=5$'
out=$("${D[@]}" -h localhost -p "$ap" --cafile "$ca" -u sensor -P s3cret 2>&1)
t_is "the right password: exit 0" "$?" "0"

free=$(t_free_port)
out=$("${D[@]}" -h localhost -p "$free" --cafile "$ca" 2>&1)
t_is "nothing listening: exit 1" "$?" "1"
t_like "... Connect to Server failed, rc=-2" "$out" 'Connect to Server failed! \(Connection refused\)'
out=$("${D[@]}" -h localhost -p "$free" --no-verify --retry 0.2 --duration 0.7 2>&1)
t_like "--retry tries again, as the sketch's loop does" "$(echo "$out" | grep -c 'Attempting MQTT connection')" '^[3-5]$'
t_like "... saying when" "$out" 'failed, rc=-2 try again in 0\.2 seconds'

# A TLS port that never answers the handshake: rc=-2 after the timeout, not a hang.
sp2=$(t_free_port)
t_bg "$T_PY" -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5); c=s.accept(); time.sleep(30)' "$sp2"
sleep 0.3
out=$("${D[@]}" -h localhost -p "$sp2" --no-verify --timeout 1 2>&1)
t_is "a silent server: exit 1 after --timeout" "$?" "1"
t_like "... reported as a TLS timeout" "$out" 'no TLS connection within the timeout'

# A plain MQTT target (mqtt://) speaks no TLS at all and needs no verification option.
pp=$(t_free_port)
t_broker plain "$pp" "listener $pp 127.0.0.1
allow_anonymous true" || exit 1
out=$("${D[@]}" "mqtt://localhost:$pp" -m clear 2>&1)
t_is "mqtt:// publishes in the clear: exit 0" "$?" "0"
t_like "... and says so" "$out" 'plain MQTT \(no TLS\)'

out=$("${D[@]}" -h localhost -p "$bp" --cafile "$ca" --watch 'dev/#' --duration 1 2>&1)
t_is "--watch connects, publishes nothing, exits 0 when stopped" "$?" "0"
t_unlike "... and published nothing" "$out" 'Publish message'

# --count 0 publishes until stopped.
out=$("${D[@]}" -h localhost -p "$bp" --cafile "$ca" --count 0 --interval 0.1 --duration 0.6 2>&1)
t_is "--count 0 --duration publishes until the time is up: exit 0" "$?" "0"
t_like "... several messages" "$(echo "$out" | grep -c 'Publish message')" '^[3-8]$'

# The device's clock (--clock): what the certificate dates mean to it.
out=$("${D[@]}" -h localhost -p "$bp" --cafile "$ca" --clock unset 2>&1)
t_is "a clock never set (1970) refuses a valid certificate: exit 1" "$?" "1"
t_like "... says the clock was never set" "$out" "# the device's clock says 1970-01-01T00:00:00Z \(never set"
t_like "... with mbedTLS's error as an ESP32 logs it" "$out" 'start_ssl_client: -0x2700 \(-9984\)'
t_like "... BADCERT_FUTURE in the verify flags" "$out" 'verify flags 0x200: The certificate validity starts in the future'
t_like "... and rc=-2" "$out" '^failed, rc=-2$'
"$MQTTLS" certs broken expired --dir "$pki" >/dev/null 2>&1 && t_pki_perms "$pki"
ep=$(t_free_port)
t_broker expired "$ep" "listener $ep 127.0.0.1
cafile $pki/ca.crt
certfile $pki/broken-expired-fullchain.crt
keyfile $pki/broken-expired.key
allow_anonymous true" || exit 1
out=$("${D[@]}" -h localhost -p "$ep" --cafile "$ca" 2>&1)
t_is "a set clock refuses an expired certificate: exit 1" "$?" "1"
t_like "... with the EXPIRED flag" "$out" 'verify flags 0x01: The certificate validity has expired'
out=$("${D[@]}" -h localhost -p "$ep" --cafile "$ca" --clock ignore 2>&1)
t_is "--clock ignore (no MBEDTLS_HAVE_TIME_DATE) accepts the expired certificate: exit 0" "$?" "0"
t_like "... and says the dates were not checked" "$out" 'CA verified, host name localhost matched; dates NOT checked'
# The lab CA was made minutes ago: to a clock 200 days behind, it is the CA that is not yet valid.
out=$("${D[@]}" -h localhost -p "$ep" --cafile "$ca" --clock -200d 2>&1)
t_like "a clock 200 days behind judges the chain by its own date (FUTURE, not EXPIRED)" "$out" 'verify flags 0x200'
out=$("${D[@]}" -h localhost -p "$bp" --cafile "$ca" --clock +3000d 2>&1)
t_like "a clock years ahead finds the good one expired" "$out" 'verify flags 0x01.*
# the broker.s certificate did not verify: certificate has expired \(by the device.s clock, 20'
t_exit "a --clock that is no date is a usage error" 2 "${D[@]}" -h localhost -p "$bp" --cafile "$ca" --clock yesterday

t_exit "no verification option is a usage error" 2 "${D[@]}" -h localhost -p "$bp"
t_exit "--verify without --cafile is a usage error" 2 "${D[@]}" -h localhost -p "$bp" --verify
t_exit "--skip-cn-check without --cafile is a usage error" 2 "${D[@]}" -h localhost -p "$bp" --skip-cn-check
t_exit "--no-verify with --verify contradicts" 2 "${D[@]}" -h localhost -p "$bp" --cafile "$ca" --verify --no-verify
t_exit "a malformed pin is a usage error" 2 "${D[@]}" -h localhost -p "$bp" --pin abc
t_exit "-q 2 is a usage error" 2 "${D[@]}" -h localhost -p "$bp" --cafile "$ca" -q 2
t_exit "an unknown option is a usage error" 2 "${D[@]}" --frobnicate
out=$("${D[@]}" -h localhost -p "$bp" --cafile "$T_TMP/missing.crt" 2>&1)
t_is "a CA file that does not exist: exit 1" "$?" "1"
t_like "... says which file" "$out" 'missing\.crt'
t_done
