#!/usr/bin/env bash
# The broker's certificate and the client's CA file, each fault on a real mosquitto with
# certificates from 'mqttls certs' (the broken kinds included); and the warnings that leave the
# connection working (NO_SAN, CERT_EXPIRING_SOON, LONG_VALIDITY, INSECURE_VERIFY_OFF).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diagnose.inc"

pki=$(t_pki) || { t_fail "certs init"; t_done; exit 1; }
"$MQTTLS" certs broken all --dir "$pki" >"$T_TMP/broken.log" 2>&1 || t_fail "certs broken all" "$(cat "$T_TMP/broken.log")"
"$MQTTLS" certs server iotsec.local --dir "$pki" >/dev/null 2>&1 || t_fail "certs server iotsec.local"
"$MQTTLS" certs server soon --san DNS:localhost --days 10 --dir "$pki" >/dev/null 2>&1 || t_fail "certs server soon"
"$MQTTLS" certs server long --san DNS:localhost --days 800 --dir "$pki" >/dev/null 2>&1 || t_fail "certs server long"
t_pki_perms "$pki"

declare -A port
conf="allow_anonymous true"
for k in expired not-yet-valid no-san dns-only wrong-eku other-ca same-name-ca self-signed; do
	port[$k]=$(t_free_port)
	conf+=$'\n'"$(dg_listener "${port[$k]}" "$pki" "broken-$k-fullchain.crt" "broken-$k.key")"
done
for n in iotsec.local soon long; do
	port[$n]=$(t_free_port)
	conf+=$'\n'"$(dg_listener "${port[$n]}" "$pki" "$n-fullchain.crt" "$n.key")"
done
port[leaf-only]=$(t_free_port)
conf+=$'\n'"$(dg_listener "${port[leaf-only]}" "$pki" broker.crt broker.key)"
port[good]=$(t_free_port)
conf+=$'\n'"$(dg_listener "${port[good]}" "$pki" broker-fullchain.crt broker.key)"
t_broker certs "${port[good]}" "$conf" || { t_fail "broker starts"; t_done; exit 1; }
ca=$pki/ca.crt

dg_root expired CERT_EXPIRED 1 -h localhost -p "${port[expired]}" --cafile "$ca"
dg_stage expired verify failed
dg_stage expired mqtt_connect skipped
t_like "expired: the evidence gives the date" "$(t_json "$T_TMP/expired.json" 'j["findings"][0]["detail"]')" 'expired on [0-9]{4}-'
dg_root not-yet CERT_NOT_YET_VALID 1 -h localhost -p "${port[not-yet-valid]}" --cafile "$ca"
# --clock: what a device with a wrong clock sees, and the fix that is the device's, not the broker's.
dg_root clock-unset CERT_NOT_YET_VALID 1 -h localhost -p "${port[good]}" --cafile "$ca" --clock unset
t_is "clock-unset: the target records the device's clock" "$(t_json "$T_TMP/clock-unset.json" 'j["target"]["clock"]')" unset
f=$(t_json "$T_TMP/clock-unset.json" 'j["findings"][0]["detail"] + "|" + j["findings"][0]["fix"]')
t_like "clock-unset: the evidence names the leaf and the device's date" "$f" '"CN=localhost,OU=broker,O=mqttls lab" \(depth 0\) is valid from .*the device.s clock \(--clock\) says 1970-01-01T00:00:00Z'
t_like "clock-unset: the fix is NTP on the device" "$f" 'configTime\(0, 0, "pool\.ntp\.org"\)'
t_unlike "clock-unset: ... not a new certificate" "$f" 'mqttls certs server'
seen=$(t_json "$T_TMP/clock-unset.json" 'j["findings"][0]["seen"]')
t_like "clock-unset: the ESP32 line has BADCERT_FUTURE" "$seen" 'verify flags 0x200;'
t_like "clock-unset: ... and says date checks may be off on the device" "$seen" 'built without CONFIG_MBEDTLS_HAVE_TIME_DATE'
dg_root clock-ahead CERT_EXPIRED 1 -h localhost -p "${port[good]}" --cafile "$ca" --clock +3000d
t_like "clock-ahead: the evidence counts by the device's clock" "$(t_json "$T_TMP/clock-ahead.json" 'j["findings"][0]["detail"]')" "by the device.s clock \(--clock\)"
dg_ok clock-ignore -h localhost -p "${port[expired]}" --cafile "$ca" --clock ignore
t_like "human: the header names the device's clock" "$("$MQTTLS" diagnose -h localhost -p "${port[good]}" --cafile "$ca" --clock 2001-01-01 2>&1 | head -1)" 'device clock 2001-01-01T00:00:00Z'
t_exit "--clock that is no date: usage error" 2 "$MQTTLS" diagnose -h localhost -p "${port[good]}" --cafile "$ca" --clock soon
dg_root wrong-eku SERVER_CERT_WRONG_PURPOSE 1 -h localhost -p "${port[wrong-eku]}" --cafile "$ca"
dg_root other-ca WRONG_CA 1 -h localhost -p "${port[other-ca]}" --cafile "$ca"
t_like "other-ca: the fix names the CA that issued it" "$(t_json "$T_TMP/other-ca.json" 'j["findings"][0]["fix"]')" 'broken-other-ca-ca\.crt'
dg_root same-name-ca WRONG_CA 1 -h localhost -p "${port[same-name-ca]}" --cafile "$ca"
t_like "same-name-ca: the evidence says the key differs" "$(t_json "$T_TMP/same-name-ca.json" 'j["findings"][0]["detail"]')" 're-generated|different key|new key'
dg_root self-signed SELF_SIGNED_SERVER 1 -h localhost -p "${port[self-signed]}" --cafile "$ca"
dg_root leaf-only INCOMPLETE_CHAIN 1 -h localhost -p "${port[leaf-only]}" --cafile "$ca"
t_like "leaf-only: the fix builds the full chain" "$(t_json "$T_TMP/leaf-only.json" 'j["findings"][0]["fix"]')" 'intermediate\.crt.*fullchain'

# Names: a DNS-only certificate by IP, a certificate for another name, a CN-only certificate.
dg_root ip-not-in-san IP_NOT_IN_SAN 1 -h 127.0.0.1 -p "${port[dns-only]}" --cafile "$ca"
f=$(t_json "$T_TMP/ip-not-in-san.json" 'j["findings"][0]["fix"]')
t_like "ip-not-in-san: the openssl fix adds the IP SAN" "$f" 'subjectAltName=IP:127\.0\.0\.1'
t_like "ip-not-in-san: the mqttls fix adds the IP SAN" "$f" 'mqttls certs server .*--san IP:127\.0\.0\.1'
t_like "ip-not-in-san: the evidence names what the certificate has" "$(t_json "$T_TMP/ip-not-in-san.json" 'j["findings"][0]["detail"]')" 'names only DNS:'
dg_root hostname HOSTNAME_MISMATCH 1 -h localhost -p "${port[iotsec.local]}" --cafile "$ca"
t_like "hostname: evidence" "$(t_json "$T_TMP/hostname.json" 'j["findings"][0]["detail"]')" 'You connected to localhost.*DNS:iotsec\.local'
dg_root cn-only-by-ip IP_NOT_IN_SAN 1 -h 127.0.0.1 -p "${port[no-san]}" --cafile "$ca"
dg_ok cn-only -h localhost -p "${port[no-san]}" --cafile "$ca"
dg_has cn-only NO_SAN

# The client's CA file.
dg_root ca-not-ca CAFILE_NOT_CA 1 -h localhost -p "${port[good]}" --cafile "$pki/broker.crt"
t_is "ca-not-ca: the finding names the file" "$(t_json "$T_TMP/ca-not-ca.json" 'j["findings"][0]["path"]')" "$pki/broker.crt"
dg_lacks ca-not-ca WRONG_CA
dg_root ca-missing CAFILE_INVALID 1 -h localhost -p "${port[good]}" --cafile "$T_TMP/nope.crt"
t_like "ca-missing: evidence" "$(t_json "$T_TMP/ca-missing.json" 'j["findings"][0]["detail"]')" 'does not exist'
openssl x509 -in "$ca" -outform der -out "$T_TMP/ca.der"
dg_root ca-der CAFILE_INVALID 1 -h localhost -p "${port[good]}" --cafile "$T_TMP/ca.der"
t_like "ca-der: the fix converts it" "$(t_json "$T_TMP/ca-der.json" 'j["findings"][0]["fix"]')" 'openssl x509 -inform der'
dg_root ca-is-key CAFILE_INVALID 1 -h localhost -p "${port[good]}" --cafile "$pki/ca.key"
: >"$T_TMP/empty.crt"
dg_root ca-empty CAFILE_INVALID 1 -h localhost -p "${port[good]}" --cafile "$T_TMP/empty.crt"
dg_root ca-other WRONG_CA 1 -h localhost -p "${port[good]}" --cafile "$pki/broken-other-ca-ca.crt"

# Warnings where the connection still works.
dg_ok soon -h localhost -p "${port[soon]}" --cafile "$ca"
dg_has soon CERT_EXPIRING_SOON
dg_lacks soon LONG_VALIDITY
dg_ok long -h localhost -p "${port[long]}" --cafile "$ca"
dg_has long LONG_VALIDITY
dg_ok good -h localhost -p "${port[good]}" --cafile "$ca"
dg_lacks good CERT_EXPIRING_SOON
dg_lacks good LONG_VALIDITY
dg_lacks good NO_SAN
dg_lacks good INSECURE_VERIFY_OFF

# --insecure (mosquitto's: the name is not checked) and --no-verify (ESP32 setInsecure()).
dg_ok insecure -h 127.0.0.1 -p "${port[dns-only]}" --cafile "$ca" --insecure
dg_has insecure INSECURE_VERIFY_OFF
t_like "insecure: says the name would not match" "$(t_json "$T_TMP/insecure.json" '[f["detail"] for f in j["findings"] if f["id"] == "INSECURE_VERIFY_OFF"][0]')" 'would NOT match'
dg_root insecure-wrong-ca WRONG_CA 1 -h localhost -p "${port[other-ca]}" --cafile "$ca" --insecure
dg_ok no-verify -h localhost -p "${port[other-ca]}" --cafile "$ca" --no-verify
dg_has no-verify INSECURE_VERIFY_OFF
t_like "no-verify: says verification would have failed" "$(t_json "$T_TMP/no-verify.json" '[f["detail"] for f in j["findings"] if f["id"] == "INSECURE_VERIFY_OFF"][0]')" 'would have failed'

t_done
