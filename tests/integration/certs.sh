#!/usr/bin/env bash
# mqttls certs: the lab PKI verifies with openssl, a real mosquitto serves it to real clients,
# every broken kind really carries its defect, and the ESP32 export is the CA byte for byte.
. "$(dirname "$0")/../lib.sh"

MSUB=$(command -v mosquitto_sub)
MPUB=$(command -v mosquitto_pub)

# t_refused DESC CMD...: the client fails (mosquitto_pub exits 1 or 8 for the same TLS failure).
t_refused() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then t_fail "$desc" "command: $*" "succeeded: $out"; else t_pass "$desc"; fi
}

# ---- certs init ---------------------------------------------------------------------------
P=$T_TMP/pki
out=$("$MQTTLS" certs init --dir "$P" --san DNS:extra.example --san IP:10.11.12.13 2>&1)
t_is "certs init exits 0" "$?" 0
t_like "init lists what it wrote" "$out" "$P/ca.crt +root CA"
t_like "init prints the next command" "$out" "mosquitto_pub -h localhost -p 8883 --cafile $P/ca.crt"

t_is "broker leaf verifies (root + intermediate)" \
	"$(openssl verify -CAfile "$P/ca.crt" -untrusted "$P/intermediate.crt" "$P/broker.crt" 2>&1)" "$P/broker.crt: OK"
t_is "device certificate verifies (root + intermediate)" \
	"$(openssl verify -CAfile "$P/ca.crt" -untrusted "$P/intermediate.crt" "$P/device1.crt" 2>&1)" "$P/device1.crt: OK"
t_is "the full chain verifies with the root alone" \
	"$(openssl verify -CAfile "$P/ca.crt" -untrusted "$P/broker-fullchain.crt" "$P/broker-fullchain.crt" 2>&1)" \
	"$P/broker-fullchain.crt: OK"

san=$(openssl x509 -in "$P/broker.crt" -noout -ext subjectAltName)
for want in "DNS:localhost" "DNS:$(hostname)" "IP Address:127.0.0.1" "IP Address:0:0:0:0:0:0:0:1" \
	"DNS:extra.example" "IP Address:10.11.12.13"; do
	t_like "broker SAN has $want" "$san" "$want(,|$)"
done
for a in $(ip -o -4 addr show | awk '{print $4}' | cut -d/ -f1); do
	t_like "broker SAN has local address $a" "$san" "IP Address:$a(,|$)"
done

bc=$(openssl x509 -in "$P/ca.crt" -noout -ext basicConstraints,keyUsage,subjectKeyIdentifier)
t_like "root: basicConstraints critical CA:TRUE" "$bc" "Basic Constraints: critical"$'\n'" *CA:TRUE"
t_like "root: keyCertSign, cRLSign" "$bc" "Certificate Sign, CRL Sign"
t_like "root: SKI" "$bc" "Subject Key Identifier"
bc=$(openssl x509 -in "$P/intermediate.crt" -noout -ext basicConstraints,authorityKeyIdentifier)
t_like "intermediate: pathlen 0" "$bc" "CA:TRUE, pathlen:0"
t_like "intermediate: AKI" "$bc" "Authority Key Identifier"
t_like "device: EKU clientAuth" "$(openssl x509 -in "$P/device1.crt" -noout -ext extendedKeyUsage)" \
	"TLS Web Client Authentication"
days=$(( ($(date -d "$(openssl x509 -in "$P/broker.crt" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s)) / 86400 ))
t_like "broker validity under 398 days ($days)" "$days" "^39[0-7]$"

for k in ca intermediate broker device1; do
	t_is "$k.key is mode 0600" "$(stat -c %a "$P/$k.key")" 600
done
t_is "ca.crt is mode 0644" "$(stat -c %a "$P/ca.crt")" 644

before=$(sha256sum "$P/ca.crt" "$P/broker.key")
out=$("$MQTTLS" certs init --dir "$P" 2>&1)
t_is "a second init without --force exits 1" "$?" 1
t_like "and says why in one line" "$out" "^mqttls certs init: $P/ca.crt already exists; not overwriting it \(use --force to replace it\)$"
t_is "nothing was replaced" "$(sha256sum "$P/ca.crt" "$P/broker.key")" "$before"
P2=$T_TMP/pki2
mkdir -p "$P2" && echo mine >"$P2/broker.key"
"$MQTTLS" certs init --dir "$P2" >/dev/null 2>&1
t_is "one existing file: nothing at all is written" "$(ls "$P2")" "broker.key"
t_is "and that file is untouched" "$(cat "$P2/broker.key")" "mine"
t_ok "--force replaces" "$MQTTLS" certs init --dir "$P2" --force
t_unlike "the replaced key is a new key" "$(cat "$P2/broker.key")" "^mine$"
t_is "a replaced key is still 0600" "$(stat -c %a "$P2/broker.key")" 600

# ---- a real mosquitto serves them ----------------------------------------------------------
t_pki_perms "$P"
port=$(t_free_port)
v6=""
# TLS settings belong to the listener above them: the IPv6 one gets its own.
ip -6 addr show lo 2>/dev/null | grep -q '::1/128' &&
	v6=$(t_tls_listener "$port" "$P" | sed "s/^listener $port 127.0.0.1$/listener $port ::1/")
t_broker lab "$port" "$(t_tls_listener "$port" "$P")
$v6
allow_anonymous true" || t_fail "mosquitto starts on the lab PKI"

sub_out=$T_TMP/sub.out
"$MSUB" -h localhost -p "$port" --cafile "$P/ca.crt" -t lab/test -C 1 -W 10 >"$sub_out" 2>&1 &
sub_pid=$!
T_PIDS+=("$sub_pid")
sleep 0.5
t_ok "mosquitto_pub --cafile ca.crt publishes to localhost" \
	"$MPUB" -h localhost -p "$port" --cafile "$P/ca.crt" -t lab/test -m "hello over TLS"
wait "$sub_pid"
t_is "mosquitto_sub --cafile ca.crt receives it" "$(cat "$sub_out")" "hello over TLS"
t_ok "publish by IP 127.0.0.1 (IP SAN)" "$MPUB" -h 127.0.0.1 -p "$port" --cafile "$P/ca.crt" -t lab/test -m x
if [ -n "$v6" ]; then
	t_ok "publish by IP ::1 (IPv6 SAN)" "$MPUB" -h ::1 -p "$port" --cafile "$P/ca.crt" -t lab/test -m x
else
	t_skip "no IPv6 loopback"
fi
t_refused "a client that trusts another CA is refused" \
	"$MPUB" -h localhost -p "$port" --cafile "$P2/ca.crt" -t lab/test -m x

# Mutual TLS with the device certificate (which carries the intermediate for the broker).
mport=$(t_free_port)
t_broker mtls "$mport" "$(t_tls_listener "$mport" "$P")
require_certificate true
allow_anonymous true" || t_fail "mosquitto starts with require_certificate"
t_ok "mTLS: device1 is accepted" "$MPUB" -h localhost -p "$mport" --cafile "$P/ca.crt" \
	--cert "$P/device1.crt" --key "$P/device1.key" -t lab/test -m x
t_refused "mTLS: no client certificate is refused" "$MPUB" -h localhost -p "$mport" --cafile "$P/ca.crt" -t lab/test -m x

# ---- certs server / device -----------------------------------------------------------------
out=$("$MQTTLS" certs server iotsec.local --san IP:192.168.28.63 --dir "$P" 2>&1)
t_is "certs server exits 0" "$?" 0
t_like "and lists its full chain" "$out" "$P/iotsec.local-fullchain.crt"
san=$(openssl x509 -in "$P/iotsec.local.crt" -noout -ext subjectAltName)
t_like "server NAME is a SAN" "$san" "DNS:iotsec.local"
t_like "server --san is a SAN" "$san" "IP Address:192.168.28.63"
t_like "server cert verifies for its IP" \
	"$(openssl verify -verify_ip 192.168.28.63 -CAfile "$P/ca.crt" -untrusted "$P/intermediate.crt" "$P/iotsec.local.crt" 2>&1)" ": OK$"
t_ok "certs device esp32-a" "$MQTTLS" certs device esp32-a --dir "$P"
t_like "device CN is its name" "$(openssl x509 -in "$P/esp32-a.crt" -noout -subject)" "CN ?= ?esp32-a"
t_is "device key is 0600" "$(stat -c %a "$P/esp32-a.key")" 600
t_pki_perms "$P"
t_ok "mTLS: the new device is accepted" "$MPUB" -h localhost -p "$mport" --cafile "$P/ca.crt" \
	--cert "$P/esp32-a.crt" --key "$P/esp32-a.key" -t lab/test -m x
out=$("$MQTTLS" certs device nothing --dir "$T_TMP/empty" 2>&1)
t_like "device without a lab CA says to run init" "$out" "run 'mqttls certs init --dir $T_TMP/empty' first"

# ---- RSA --------------------------------------------------------------------------------------
R=$T_TMP/rsa
t_ok "certs init --rsa 2048" "$MQTTLS" certs init --dir "$R" --rsa 2048 --days 90
t_like "RSA 2048 broker key" "$(openssl x509 -in "$R/broker.crt" -noout -text)" "Public-Key: \(2048 bit\)"
t_is "RSA chain verifies" "$(openssl verify -CAfile "$R/ca.crt" -untrusted "$R/intermediate.crt" "$R/broker.crt" 2>&1)" \
	"$R/broker.crt: OK"
days=$(( ($(date -d "$(openssl x509 -in "$R/broker.crt" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s)) / 86400 ))
t_like "--days 90 ($days)" "$days" "^(89|90)$"

# ---- broken kinds ---------------------------------------------------------------------------
out=$("$MQTTLS" certs broken all --dir "$P" 2>&1)
t_is "certs broken all exits 0" "$?" 0
for k in expired not-yet-valid no-san dns-only wrong-eku other-ca same-name-ca self-signed weak-rsa-1024 sha1; do
	t_like "broken $k written with its fullchain" "$out" "$P/broken-$k-fullchain.crt"
	t_is "broken-$k.key is 0600" "$(stat -c %a "$P/broken-$k.key")" 600
done
vfy() { openssl verify "$@" 2>&1; }
CHAIN=(-CAfile "$P/ca.crt" -untrusted "$P/intermediate.crt")
t_like "expired: openssl error 10" "$(vfy "${CHAIN[@]}" "$P/broken-expired.crt")" "error 10 at 0 depth lookup: certificate has expired"
t_like "not-yet-valid: openssl error 9" "$(vfy "${CHAIN[@]}" "$P/broken-not-yet-valid.crt")" "error 9 at 0 depth lookup: certificate is not yet valid"
t_is "no-san: no subjectAltName" "$(openssl x509 -in "$P/broken-no-san.crt" -noout -ext subjectAltName 2>&1 | grep -c 'Alternative')" 0
t_like "no-san: CN=localhost" "$(openssl x509 -in "$P/broken-no-san.crt" -noout -subject)" "CN ?= ?localhost"
t_like "no-san: by IP, openssl error 64" "$(vfy -verify_ip 127.0.0.1 "${CHAIN[@]}" "$P/broken-no-san.crt")" "error 64 at 0 depth lookup: IP address mismatch"
san=$(openssl x509 -in "$P/broken-dns-only.crt" -noout -ext subjectAltName)
t_like "dns-only: DNS SANs" "$san" "DNS:localhost"
t_unlike "dns-only: no IP SAN" "$san" "IP Address"
t_like "dns-only: by IP, openssl error 64" "$(vfy -verify_ip 127.0.0.1 "${CHAIN[@]}" "$P/broken-dns-only.crt")" "error 64 "
t_like "dns-only: by name it verifies" "$(vfy -verify_hostname localhost "${CHAIN[@]}" "$P/broken-dns-only.crt")" ": OK$"
eku=$(openssl x509 -in "$P/broken-wrong-eku.crt" -noout -ext extendedKeyUsage)
t_like "wrong-eku: clientAuth" "$eku" "TLS Web Client Authentication"
t_unlike "wrong-eku: not serverAuth" "$eku" "Server"
t_like "wrong-eku: as a server, openssl error 26" "$(vfy -purpose sslserver "${CHAIN[@]}" "$P/broken-wrong-eku.crt")" "error 26 at 0 depth lookup: unsuitable certificate purpose"
t_like "other-ca: openssl error 20 against the lab CA" "$(vfy "${CHAIN[@]}" "$P/broken-other-ca.crt")" "error 20 at 0 depth lookup: unable to get local issuer certificate"
t_like "other-ca: verifies against its own CA" "$(vfy -CAfile "$P/broken-other-ca-ca.crt" "$P/broken-other-ca.crt")" ": OK$"
t_is "same-name-ca: its CA has the lab root's exact subject" \
	"$(openssl x509 -in "$P/broken-same-name-ca-ca.crt" -noout -subject)" "$(openssl x509 -in "$P/ca.crt" -noout -subject)"
t_unlike "same-name-ca: but another key" "$(openssl x509 -in "$P/broken-same-name-ca-ca.crt" -noout -pubkey)" \
	"$(openssl x509 -in "$P/ca.crt" -noout -pubkey | sed -n 2p)"
t_like "same-name-ca: openssl error 7 against the lab CA" "$(vfy "${CHAIN[@]}" "$P/broken-same-name-ca.crt")" "error 7 at 0 depth lookup: certificate signature failure"
t_like "same-name-ca: verifies against the CA that made it" "$(vfy -CAfile "$P/broken-same-name-ca-ca.crt" "$P/broken-same-name-ca.crt")" ": OK$"
t_like "self-signed: openssl error 18" "$(vfy "${CHAIN[@]}" "$P/broken-self-signed.crt")" "error 18 at 0 depth lookup: self-signed certificate"
t_is "self-signed: issuer = subject" "$(openssl x509 -in "$P/broken-self-signed.crt" -noout -issuer | sed 's/^issuer=//')" \
	"$(openssl x509 -in "$P/broken-self-signed.crt" -noout -subject | sed 's/^subject=//')"
t_like "weak-rsa-1024: a 1024-bit key" "$(openssl x509 -in "$P/broken-weak-rsa-1024.crt" -noout -text)" "Public-Key: \(1024 bit\)"
t_like "weak-rsa-1024: openssl error 66 at auth level 2" "$(vfy -auth_level 2 "${CHAIN[@]}" "$P/broken-weak-rsa-1024.crt")" "error 66 at 0 depth lookup: EE certificate key too weak"
t_like "sha1: signed with SHA-1" "$(openssl x509 -in "$P/broken-sha1.crt" -noout -text)" "Signature Algorithm: ecdsa-with-SHA1"
t_like "sha1: openssl error 68 at auth level 1" "$(vfy -auth_level 1 "${CHAIN[@]}" "$P/broken-sha1.crt")" "error 68 at 0 depth lookup: CA signature digest algorithm too weak"
t_like "certs broken --list names every kind" "$("$MQTTLS" certs broken --list)" "weak-rsa-1024 +a 1024-bit RSA key"
t_exit "a second broken run without --force exits 1" 1 "$MQTTLS" certs broken expired --dir "$P"
t_ok "with --force it replaces" "$MQTTLS" certs broken expired --dir "$P" --force

# What real clients make of them, served by a real mosquitto.
t_pki_perms "$P"
# serve NAME KIND [extra conf]: a broker serving broken-KIND on a fresh port, which it puts in
# $port (not printed: t_broker must run in this shell so that the broker is stopped at exit).
serve() {
	port=$(t_free_port)
	t_broker "$1" "$port" "listener $port 127.0.0.1
allow_anonymous true
certfile $P/broken-$2-fullchain.crt
keyfile $P/broken-$2.key
${3:-}" >/dev/null 2>&1
}
pub() { "$MPUB" -p "$1" --cafile "$2" -t lab/test -m x "${@:3}" 2>&1; }
if serve bexp expired; then
	t_refused "expired: mosquitto_pub refuses it" "$MPUB" -h localhost -p "$port" --cafile "$P/ca.crt" -t t -m x
	t_like "expired: mosquitto_pub -d says certificate verify failed" "$(pub "$port" "$P/ca.crt" -h localhost -d)" "certificate verify failed"
else t_fail "mosquitto serves broken-expired"; fi
if serve bnosan no-san; then
	t_ok "no-san: OpenSSL clients still accept CN=localhost by name" "$MPUB" -h localhost -p "$port" --cafile "$P/ca.crt" -t t -m x
	t_refused "no-san: refused by IP" "$MPUB" -h 127.0.0.1 -p "$port" --cafile "$P/ca.crt" -t t -m x
else t_fail "mosquitto serves broken-no-san"; fi
if serve bdns dns-only; then
	t_ok "dns-only: accepted by name" "$MPUB" -h localhost -p "$port" --cafile "$P/ca.crt" -t t -m x
	t_refused "dns-only: refused by IP" "$MPUB" -h 127.0.0.1 -p "$port" --cafile "$P/ca.crt" -t t -m x
else t_fail "mosquitto serves broken-dns-only"; fi
if serve bother other-ca; then
	t_refused "other-ca: refused with the lab CA" "$MPUB" -h localhost -p "$port" --cafile "$P/ca.crt" -t t -m x
	t_ok "other-ca: accepted with its own CA" "$MPUB" -h localhost -p "$port" --cafile "$P/broken-other-ca-ca.crt" -t t -m x
else t_fail "mosquitto serves broken-other-ca"; fi
if serve bself self-signed; then
	t_refused "self-signed: refused with the lab CA" "$MPUB" -h localhost -p "$port" --cafile "$P/ca.crt" -t t -m x
	t_ok "self-signed: accepted when it is itself the cafile" "$MPUB" -h localhost -p "$port" --cafile "$P/broken-self-signed.crt" -t t -m x
else t_fail "mosquitto serves broken-self-signed"; fi
if serve bnyv not-yet-valid; then
	t_like "not-yet-valid: mosquitto_pub -d says certificate verify failed" "$(pub "$port" "$P/ca.crt" -h localhost -d)" "certificate verify failed"
else t_fail "mosquitto serves broken-not-yet-valid"; fi
if serve bsame same-name-ca; then
	t_like "same-name-ca: mosquitto_pub -d says certificate verify failed" "$(pub "$port" "$P/ca.crt" -h localhost -d)" "certificate verify failed"
	t_ok "same-name-ca: accepted with the CA that made it" "$MPUB" -h localhost -p "$port" --cafile "$P/broken-same-name-ca-ca.crt" -t t -m x
else t_fail "mosquitto serves broken-same-name-ca"; fi
if serve beku wrong-eku; then
	t_refused "wrong-eku: refused" "$MPUB" -h localhost -p "$port" --cafile "$P/ca.crt" -t t -m x
else t_fail "mosquitto serves broken-wrong-eku"; fi
# Debian builds OpenSSL with security level 2: mosquitto will not even load these two.
port=$(t_free_port)
t_broker bweak "$port" "listener $port 127.0.0.1
certfile $P/broken-weak-rsa-1024-fullchain.crt
keyfile $P/broken-weak-rsa-1024.key" >/dev/null 2>&1
t_broker_exited bweak
t_like "weak-rsa-1024: mosquitto refuses to load it (ee key too small)" "$(cat "$T_TMP/bweak.log")" "ee key too small"
port=$(t_free_port)
t_broker bsha1 "$port" "listener $port 127.0.0.1
certfile $P/broken-sha1-fullchain.crt
keyfile $P/broken-sha1.key" >/dev/null 2>&1
t_broker_exited bsha1
t_like "sha1: mosquitto refuses to load it (ca md too weak)" "$(cat "$T_TMP/bsha1.log")" "ca md too weak"
if serve bweak0 weak-rsa-1024 "ciphers DEFAULT:@SECLEVEL=0"; then
	t_like "weak-rsa-1024 served at SECLEVEL=0: mosquitto_pub refuses it" "$(pub "$port" "$P/ca.crt" -h localhost -d)" "certificate verify failed"
else t_fail "mosquitto serves broken-weak-rsa-1024 at SECLEVEL=0"; fi
if serve bsha10 sha1 "ciphers DEFAULT:@SECLEVEL=0"; then
	t_like "sha1 served at SECLEVEL=0: mosquitto_pub refuses it" "$(pub "$port" "$P/ca.crt" -h localhost -d)" "certificate verify failed"
else t_fail "mosquitto serves broken-sha1 at SECLEVEL=0"; fi

# ---- certs show ----------------------------------------------------------------------------
"$MQTTLS" certs show "$P/broker-fullchain.crt" --json >"$T_TMP/show.json"
t_is "show --json exits 0" "$?" 0
t_is "show --json: two certificates" "$(t_json "$T_TMP/show.json" 'len(j)')" 2
t_is "show --json: depth" "$(t_json "$T_TMP/show.json" '[c["depth"] for c in j]')" "[0, 1]"
t_is "show --json: subject" "$(t_json "$T_TMP/show.json" 'j[0]["subject"]')" "CN=localhost,OU=broker,O=mqttls lab"
t_is "show --json: issuer" "$(t_json "$T_TMP/show.json" 'j[0]["issuer"]')" "CN=mqttls lab intermediate CA,O=mqttls lab"
t_is "show --json: serial as openssl prints it" "$(t_json "$T_TMP/show.json" 'j[0]["serial"]')" \
	"$(openssl x509 -in "$P/broker.crt" -noout -serial | cut -d= -f2)"
t_is "show --json: sha256 as openssl prints it" "$(t_json "$T_TMP/show.json" 'j[0]["sha256"]')" \
	"$(openssl x509 -in "$P/broker.crt" -noout -fingerprint -sha256 | cut -d= -f2)"
t_is "show --json: not_after" "$(t_json "$T_TMP/show.json" 'j[0]["not_after"]')" \
	"$(date -u -d "$(openssl x509 -in "$P/broker.crt" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)"
t_is "show --json: san_ip" "$(t_json "$T_TMP/show.json" '"127.0.0.1" in j[0]["san_ip"] and "::1" in j[0]["san_ip"]')" true
t_is "show --json: san_dns" "$(t_json "$T_TMP/show.json" '"extra.example" in j[0]["san_dns"]')" true
t_is "show --json: key" "$(t_json "$T_TMP/show.json" 'j[0]["key"]')" "EC P-256"
t_is "show --json: sig_alg" "$(t_json "$T_TMP/show.json" 'j[0]["sig_alg"]')" "ecdsa-with-SHA256"
t_is "show --json: eku" "$(t_json "$T_TMP/show.json" 'j[0]["eku"]')" '["serverAuth"]'
t_is "show --json: is_ca" "$(t_json "$T_TMP/show.json" '[c["is_ca"] for c in j]')" "[false, true]"
t_is "show --json: pathlen of the intermediate" "$(t_json "$T_TMP/show.json" 'j[1]["basic_constraints"]["pathlen"]')" 0
spki=$(openssl x509 -in "$P/broker.crt" -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex | awk '{print toupper($2)}' | sed 's/../&:/g; s/:$//')
t_is "show --json: spki_sha256 as a pinning tool computes it" "$(t_json "$T_TMP/show.json" 'j[0]["spki_sha256"]')" "$spki"
out=$("$MQTTLS" certs show "$P/broker.crt" --host 127.0.0.1)
t_like "show marks the SAN that matches --host" "$out" "127.0.0.1 \(matches\)"
t_like "show prints the key" "$out" "key +EC P-256"
out=$("$MQTTLS" certs show "$P/broken-no-san.crt" --host 127.0.0.1)
t_like "show says when a host is not covered" "$out" "127.0.0.1 is not covered"
openssl x509 -in "$P/ca.crt" -outform der -out "$T_TMP/ca.der"
t_like "show reads DER" "$("$MQTTLS" certs show "$T_TMP/ca.der")" "1 certificate \(DER\)"

# ---- export-esp32 ----------------------------------------------------------------------------
"$MQTTLS" certs export-esp32 "$P/ca.crt" --arduino >"$T_TMP/ca.h"
t_is "export-esp32 --arduino exits 0" "$?" 0
t_ok "the Arduino literal compiles as C" gcc -fsyntax-only -Wall -Werror -x c "$T_TMP/ca.h"
t_is "every PEM line is one quoted line ending in \\n" \
	"$(grep -c '^"[A-Za-z0-9+/=-][^"]*\\n";\{0,1\}$' "$T_TMP/ca.h")" "$(wc -l <"$P/ca.crt")"
printf '#include <stdio.h>\n#include "%s"\nint main(void) { fputs(root_ca, stdout); return 0; }\n' "$T_TMP/ca.h" >"$T_TMP/pr.c"
if gcc -o "$T_TMP/pr" "$T_TMP/pr.c" 2>"$T_TMP/gcc.log"; then
	"$T_TMP/pr" >"$T_TMP/ca.from-c"
	t_ok "the C string is the CA byte for byte" cmp "$T_TMP/ca.from-c" "$P/ca.crt"
else
	t_fail "the literal compiles into a program" "$(cat "$T_TMP/gcc.log")"
fi
"$MQTTLS" certs export-esp32 "$P/ca.crt" --esp-idf >"$T_TMP/ca.pem"
t_ok "export-esp32 --esp-idf is the CA byte for byte" cmp "$T_TMP/ca.pem" "$P/ca.crt"
"$MQTTLS" certs export-esp32 "$T_TMP/ca.der" --esp-idf >"$T_TMP/ca2.pem"
t_ok "a DER CA is exported as the same PEM" cmp "$T_TMP/ca2.pem" "$P/ca.crt"
t_like "--name sets the variable" "$("$MQTTLS" certs export-esp32 "$P/ca.crt" --name lab_ca)" "^(.|$'\n')*const char \*lab_ca ="
t_like "exporting a non-CA warns" "$("$MQTTLS" certs export-esp32 "$P/broker.crt" 2>&1 >/dev/null)" "is not a CA"

# ---- errors: one line, the right exit status -------------------------------------------------
one_line() { # DESC STATUS REGEX CMD...
	local desc=$1 want=$2 re=$3 out rc
	shift 3
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	t_is "$desc: exit $want" "$rc" "$want"
	t_is "$desc: one line" "$(printf '%s\n' "$out" | wc -l)" 1
	t_like "$desc: says why" "$out" "$re"
}
one_line "show a missing file" 1 "No such file or directory" "$MQTTLS" certs show "$T_TMP/nope.crt"
one_line "show a key" 1 "holds a private key, not a certificate" "$MQTTLS" certs show "$P/ca.key"
printf 'hello\n' >"$T_TMP/text.txt"
one_line "show a text file" 1 "not a certificate \(neither PEM nor DER\)" "$MQTTLS" certs show "$T_TMP/text.txt"
: >"$T_TMP/empty.crt"
one_line "show an empty file" 1 "is empty" "$MQTTLS" certs show "$T_TMP/empty.crt"
one_line "export a key" 1 "private key" "$MQTTLS" certs export-esp32 "$P/ca.key"
one_line "a bad --san" 2 "not a SAN" "$MQTTLS" certs init --dir "$T_TMP/x" --san localhost
one_line "--rsa 1024" 2 "2048 to 16384" "$MQTTLS" certs init --dir "$T_TMP/x" --rsa 1024
one_line "--days 0" 2 "--days" "$MQTTLS" certs init --dir "$T_TMP/x" --days 0
one_line "an unknown subcommand" 2 "no subcommand 'frobnicate'" "$MQTTLS" certs frobnicate
one_line "an unknown broken kind" 2 "no broken kind 'rotten'" "$MQTTLS" certs broken rotten --dir "$P"
one_line "an option of another subcommand" 2 "no option '--json'" "$MQTTLS" certs init --json
one_line "a missing value" 2 "--dir needs a value" "$MQTTLS" certs init --dir
one_line "show without a file" 2 "needs a FILE" "$MQTTLS" certs show
one_line "--arduino with --esp-idf" 2 "not both" "$MQTTLS" certs export-esp32 "$P/ca.crt" --arduino --esp-idf
t_is "bad arguments wrote nothing" "$(ls "$T_TMP/x" 2>/dev/null)" ""
for s in init server device broken show export-esp32; do
	t_like "certs $s --help" "$("$MQTTLS" certs "$s" --help)" "^usage: mqttls certs $s"
done

t_done
