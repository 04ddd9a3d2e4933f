#!/usr/bin/env bash
# The client's side of TLS against real brokers: a required certificate not given (TLS 1.3, where
# the broker says so only after the handshake, and TLS 1.2), a certificate from another CA, an
# expired one, a key that does not match, unusable files; no common TLS version (a device without
# TLS 1.3); no common cipher suite; a broker that still accepts TLS 1.0/1.1.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diagnose.inc"

pki=$(t_pki) || { t_fail "certs init"; t_done; exit 1; }
other=$(t_pki "$T_TMP/other-pki") || t_fail "a second PKI"
ca=$pki/ca.crt

# An expired device certificate, issued by the right intermediate (-days -1: notAfter is past).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/old.key" -subj /CN=olddev \
	-out "$T_TMP/old.csr" 2>/dev/null
openssl x509 -req -in "$T_TMP/old.csr" -CA "$pki/intermediate.crt" -CAkey "$pki/intermediate.key" -days -1 \
	-extfile <(printf 'extendedKeyUsage=clientAuth\n') -out "$T_TMP/old-leaf.crt" 2>/dev/null
cat "$T_TMP/old-leaf.crt" "$pki/intermediate.crt" >"$T_TMP/old.crt"

pm=$(t_free_port); p13=$(t_free_port); pc=$(t_free_port); pw=$(t_free_port)
t_broker client "$pm" "allow_anonymous true
$(dg_listener "$pm" "$pki" broker-fullchain.crt broker.key)
require_certificate true
$(dg_listener "$p13" "$pki" broker-fullchain.crt broker.key)
tls_version tlsv1.3
$(dg_listener "$pc" "$pki" broker-fullchain.crt broker.key)
ciphers ECDHE-RSA-AES128-GCM-SHA256
ciphers_tls1.3 TLS_AES_128_CCM_SHA256
$(dg_listener "$pw" "$pki" broker-fullchain.crt broker.key)
tls_version tlsv1.1
ciphers DEFAULT:@SECLEVEL=0" || { t_fail "broker starts"; t_done; exit 1; }

dg_root required-13 CLIENT_CERT_REQUIRED 1 -h localhost -p "$pm" --cafile "$ca"
dg_stage required-13 tls failed
dg_stage required-13 verify ok
t_like "required-13: found after the TLS 1.3 handshake" "$(t_json "$T_TMP/required-13.json" 'j["findings"][0]["detail"]')" 'after the handshake'
t_like "required-13: the fix gives --cert/--key" "$(t_json "$T_TMP/required-13.json" 'j["findings"][0]["fix"]')" '--cert .* --key'
t_like "required-13: the broker's log view" "$(t_json "$T_TMP/required-13.json" 'j["findings"][0]["seen"]')" '0A0000C7'
dg_root required-12 CLIENT_CERT_REQUIRED 1 -h localhost -p "$pm" --cafile "$ca" --tls-max tlsv1.2
t_is "required-12: the broker's alert" "$(t_json "$T_TMP/required-12.json" 'j["tls"]["alert_received"]')" "40"

dg_root rejected-13 CLIENT_CERT_REJECTED 1 -h localhost -p "$pm" --cafile "$ca" --cert "$other/device1.crt" --key "$other/device1.key"
dg_root rejected-12 CLIENT_CERT_REJECTED 1 -h localhost -p "$pm" --cafile "$ca" --cert "$other/device1.crt" --key "$other/device1.key" --tls-max tlsv1.2
t_is "rejected-12: unknown_ca from the broker" "$(t_json "$T_TMP/rejected-12.json" 'j["tls"]["alert_received"]')" "48"
t_like "broker log: the device certificate failed verification" "$(cat "$T_TMP/client.log")" '0A000086'

dg_root expired-client CLIENT_CERT_EXPIRED 1 -h localhost -p "$pm" --cafile "$ca" --cert "$T_TMP/old.crt" --key "$T_TMP/old.key"
t_is "expired-client: the finding names the file" "$(t_json "$T_TMP/expired-client.json" 'j["findings"][0]["path"]')" "$T_TMP/old.crt"
dg_root key-mismatch CLIENT_KEY_MISMATCH 1 -h localhost -p "$pm" --cafile "$ca" --cert "$pki/device1.crt" --key "$pki/broker.key"
t_is "key-mismatch: names the key" "$(t_json "$T_TMP/key-mismatch.json" 'j["findings"][0]["path"]')" "$pki/broker.key"
dg_root cert-is-key CLIENT_CERT_INVALID 1 -h localhost -p "$pm" --cafile "$ca" --cert "$pki/device1.key" --key "$pki/device1.key"
dg_root key-is-cert CLIENT_CERT_INVALID 1 -h localhost -p "$pm" --cafile "$ca" --cert "$pki/device1.crt" --key "$pki/device1.crt"
t_like "key-is-cert: says what the file holds" "$(t_json "$T_TMP/key-is-cert.json" 'j["findings"][0]["detail"]')" 'certificate, not a key'
dg_root key-missing CLIENT_CERT_INVALID 1 -h localhost -p "$pm" --cafile "$ca" --cert "$pki/device1.crt" --key "$T_TMP/none.key"
openssl pkey -in "$pki/device1.key" -aes256 -passout pass:pw -out "$T_TMP/enc.key" 2>/dev/null
dg_root key-encrypted CLIENT_CERT_INVALID 1 -h localhost -p "$pm" --cafile "$ca" --cert "$pki/device1.crt" --key "$T_TMP/enc.key"
t_like "key-encrypted: says so" "$(t_json "$T_TMP/key-encrypted.json" 'j["findings"][0]["title"]')" 'encrypted'

dg_root version TLS_VERSION_MISMATCH 1 -h localhost -p "$p13" --cafile "$ca" --tls-max tlsv1.2
d=$(t_json "$T_TMP/version.json" 'j["findings"][0]["detail"]')
t_like "version: the broker accepts TLS 1.3 only" "$d" 'TLS 1.3 only'
t_like "version: says which devices are affected" "$d" 'ESP32.*mbedTLS 2'
t_like "version: the fix is the broker's tls_version" "$(t_json "$T_TMP/version.json" 'j["findings"][0]["fix"]')" 'tls_version tlsv1.2'
dg_ok version-13 -h localhost -p "$p13" --cafile "$ca"

dg_root cipher NO_SHARED_CIPHER 1 -h localhost -p "$pc" --cafile "$ca"
t_like "cipher: the broker's log says so" "$(cat "$T_TMP/client.log")" 'no shared cipher'

dg_ok weak -h localhost -p "$pw" --cafile "$ca"
dg_has weak WEAK_TLS
t_like "weak: says which old version it accepted" "$(t_json "$T_TMP/weak.json" '[f["detail"] for f in j["findings"] if f["id"] == "WEAK_TLS"][0]')" 'TLSv1\.1|TLSv1 '
dg_ok not-weak -h localhost -p "$p13" --cafile "$ca"
dg_lacks not-weak WEAK_TLS
dg ok-no-probe -h localhost -p "$pw" --cafile "$ca" --no-weak-probe
dg_lacks ok-no-probe WEAK_TLS

t_done
