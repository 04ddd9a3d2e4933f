#!/usr/bin/env bash
# The faults students make by following the tutorials, made the way they make them: the openssl
# CLI (rootCA.key/rootCA.crt with 'openssl req -x509', server.crt with 'openssl x509 -req', with
# and without -extfile SANs; the root/ intermediate/ server/ devices/ layout of the course
# lesson; 'openssl ca' for dates in the past), mosquitto.conf as the tutorials print it, real
# brokers. Each diagnosis must come from what was observed: the certificates here are not
# mqttls's, their names are the students' own, and the printed openssl fixes are run as printed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diagnose.inc"

cd "$T_TMP" || exit 1
q() { "$@" >/dev/null 2>&1 || t_fail "setup: $*"; }

# --- Part 3/4 of the first tutorial: my-ca, CN=iotsec.local, the SAN for the tutorial's LAN IP.
C=$T_TMP/my-ca
mkdir -p "$C/new"
q openssl genrsa -out "$C/rootCA.key" 2048
q openssl req -x509 -new -nodes -key "$C/rootCA.key" -sha256 -days 3650 -out "$C/rootCA.crt" -subj "/C=NP/O=IoTSec/OU=IoTSec CA/CN=IoTSec Root CA"
q openssl genrsa -out "$C/server.key" 2048
q openssl req -new -key "$C/server.key" -out "$C/server.csr" -subj "/C=NP/O=IoTSec/OU=IoTSec Server/CN=iotsec.local"
q openssl x509 -req -in "$C/server.csr" -CA "$C/rootCA.crt" -CAkey "$C/rootCA.key" -CAcreateserial -out "$C/server.crt" -days 365 -sha256 \
	-extfile <(echo "subjectAltName=IP:192.168.28.63,DNS:iotsec.local")
q openssl x509 -req -in "$C/server.csr" -CA "$C/rootCA.crt" -CAkey "$C/rootCA.key" -CAcreateserial -out "$C/server-cnonly.crt" -days 365 -sha256
q openssl x509 -req -in "$C/server.csr" -CA "$C/rootCA.crt" -CAkey "$C/rootCA.key" -CAcreateserial -out "$C/server-ku.crt" -days 365 -sha256 \
	-extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nkeyUsage=critical,keyEncipherment\n')
q openssl x509 -in "$C/rootCA.crt" -outform der -out "$C/rootCA.der"
# A self-signed broker certificate ('openssl req -x509' with the server's own key).
q openssl req -x509 -new -key "$C/server.key" -sha256 -days 365 -out "$C/server-selfsigned.crt" -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
# The CA made again under the same name (a new key), as a student who ran Part 3 twice.
q openssl genrsa -out "$C/new/rootCA.key" 2048
q openssl req -x509 -new -nodes -key "$C/new/rootCA.key" -sha256 -days 3650 -out "$C/new/rootCA.crt" -subj "/C=NP/O=IoTSec/OU=IoTSec CA/CN=IoTSec Root CA"
mkdir -p "$T_TMP/capath"
cp "$C/rootCA.crt" "$T_TMP/capath/"

# --- The course lesson: a root, an intermediate, the broker's certificate, device certificates.
I=$T_TMP/iot-ca
mkdir -p "$I/root" "$I/intermediate" "$I/server" "$I/devices" "$I/client"
q openssl genrsa -out "$I/root/ca.key" 2048
q openssl req -new -x509 -key "$I/root/ca.key" -sha256 -days 3650 -out "$I/root/ca.crt" -subj "/O=SiliconWit/CN=SiliconWit Root CA"
q openssl genrsa -out "$I/intermediate/intermediate.key" 2048
q openssl req -new -key "$I/intermediate/intermediate.key" -out "$I/intermediate/intermediate.csr" -subj "/O=SiliconWit/CN=SiliconWit IoT Intermediate CA"
q openssl x509 -req -in "$I/intermediate/intermediate.csr" -CA "$I/root/ca.crt" -CAkey "$I/root/ca.key" -CAcreateserial -sha256 -days 1825 \
	-out "$I/intermediate/intermediate.crt" -extfile <(printf "basicConstraints=CA:TRUE,pathlen:0\nkeyUsage=keyCertSign,cRLSign")
q openssl genrsa -out "$I/server/broker.key" 2048
q openssl req -new -key "$I/server/broker.key" -out "$I/server/broker.csr" -subj "/O=SiliconWit/CN=broker.local"
q openssl x509 -req -in "$I/server/broker.csr" -CA "$I/intermediate/intermediate.crt" -CAkey "$I/intermediate/intermediate.key" -CAcreateserial \
	-sha256 -days 365 -out "$I/server/broker.crt" -extfile <(printf "subjectAltName=DNS:broker.local,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth")
cat "$I/server/broker.crt" "$I/intermediate/intermediate.crt" >"$I/server/broker-fullchain.crt"
cat "$I/intermediate/intermediate.crt" "$I/root/ca.crt" >"$I/ca-both.crt"
# A client given the intermediate alone as its CA file.
cp "$I/intermediate/intermediate.crt" "$I/client/"
q openssl ecparam -genkey -name prime256v1 -out "$I/devices/sensor-001.key"
q openssl req -new -key "$I/devices/sensor-001.key" -out "$I/devices/sensor-001.csr" -subj "/O=SiliconWit/OU=Devices/CN=sensor-001"
q openssl x509 -req -in "$I/devices/sensor-001.csr" -CA "$I/intermediate/intermediate.crt" -CAkey "$I/intermediate/intermediate.key" -CAcreateserial \
	-sha256 -days 365 -out "$I/devices/sensor-001.crt" -extfile <(printf "extendedKeyUsage=clientAuth")
# A device certificate from someone else's CA (the quick-reference tutorial's, CN=client1).
q openssl genrsa -out "$T_TMP/other.key" 2048
q openssl req -new -x509 -days 365 -key "$T_TMP/other.key" -out "$T_TMP/other.crt" -subj "/O=MyOrg/CN=MyCA"
q openssl genrsa -out "$T_TMP/client.key" 2048
q openssl req -new -key "$T_TMP/client.key" -out "$T_TMP/client.csr" -subj "/O=MyOrg/CN=client1"
q openssl x509 -req -days 365 -in "$T_TMP/client.csr" -CA "$T_TMP/other.crt" -CAkey "$T_TMP/other.key" -CAcreateserial -out "$T_TMP/client.crt"

# --- Dates in the past need 'openssl ca' (x509 -req starts now): an expired leaf, an expired intermediate.
D=$T_TMP/dates
mkdir -p "$D/db"
: >"$D/db/index.txt"
echo 1000 >"$D/db/serial"
cat >"$D/ca.cnf" <<EOF
[ ca ]
default_ca = d
[ d ]
database = $D/db/index.txt
serial = $D/db/serial
new_certs_dir = $D/db
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = keyCertSign, cRLSign
[ v3_srv ]
subjectAltName = DNS:localhost,IP:127.0.0.1
EOF
q openssl genrsa -out "$D/root.key" 2048
q openssl req -x509 -new -nodes -key "$D/root.key" -sha256 -days 3650 -out "$D/root.crt" -subj "/CN=Dates Root CA"
q openssl genrsa -out "$D/srv.key" 2048
q openssl req -new -key "$D/srv.key" -out "$D/srv.csr" -subj "/CN=localhost"
q openssl ca -batch -config "$D/ca.cnf" -cert "$D/root.crt" -keyfile "$D/root.key" -in "$D/srv.csr" -out "$D/srv.crt" \
	-startdate 20240101000000Z -enddate 20250101000000Z -extensions v3_srv
q openssl genrsa -out "$D/int.key" 2048
q openssl req -new -key "$D/int.key" -out "$D/int.csr" -subj "/CN=Dates Intermediate"
q openssl ca -batch -config "$D/ca.cnf" -cert "$D/root.crt" -keyfile "$D/root.key" -in "$D/int.csr" -out "$D/int.crt" \
	-startdate 20220101000000Z -enddate 20250101000000Z -extensions v3_ca
q openssl ca -batch -config "$D/ca.cnf" -cert "$D/int.crt" -keyfile "$D/int.key" -in "$D/srv.csr" -out "$D/srv-under-int.crt" \
	-startdate 20240101000000Z -enddate 20281231000000Z -extensions v3_srv
cat "$D/srv-under-int.crt" "$D/int.crt" >"$D/srv-under-int-chain.crt"

# Permissions as the first tutorial sets them: certificates for everyone, keys for mosquitto.
chmod -R a+rX "$T_TMP"
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
	find "$T_TMP" -name '*.key' -exec chown mosquitto {} + -exec chmod 600 {} +
fi

# tls LISTENER-PORT CERTFILE KEYFILE CAFILE [EXTRA LINES]: the tutorial's listener block.
tls() {
	printf 'listener %s 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n%s\n' "$1" "$4" "$2" "$3" "${5:-}"
}
fix_of() { t_json "$T_TMP/$1.json" 'next(f["fix"] for f in j["findings"] if f["severity"] == "error")'; }
detail_of() { t_json "$T_TMP/$1.json" 'next(f["detail"] for f in j["findings"] if f["severity"] == "error")'; }
title_of() { t_json "$T_TMP/$1.json" 'next(f["title"] for f in j["findings"] if f["severity"] == "error")'; }
# The shell lines of a printed fix (openssl, cat), to run exactly as a student would paste them.
fix_cmds() { fix_of "$1" | sed -n 's/^ *\(openssl .*\|cat .*\)$/\1/p' | sed 's/    # .*$//'; }

# ------------------------------------------------------------------ the tutorial's broker
p1=$(t_free_port)
t_broker tut "$p1" "allow_anonymous true
$(tls "$p1" "$C/server.crt" "$C/server.key" "$C/rootCA.crt")
require_certificate false" || { t_fail "tutorial broker starts"; t_done; exit 1; }

dg_root ip "IP_NOT_IN_SAN" 1 -h 127.0.0.1 -p "$p1" --cafile "$C/rootCA.crt" -t iot/test
dg_stage ip verify failed
f=$(fix_of ip)
t_like "ip: the fix names the student's own certificate and key" "$f" "-in $C/server\\.crt -signkey $C/server\\.key"
t_like "ip: the fix signs with the student's own CA and its key" "$f" "-CA $C/rootCA\\.crt -CAkey $C/rootCA\\.key"
t_like "ip: the fix keeps the names the certificate had" "$f" "subjectAltName=IP:127\\.0\\.0\\.1,DNS:iotsec\\.local,IP:192\\.168\\.28\\.63"
t_unlike "ip: no mqttls-only command for an openssl PKI" "$f" 'mqttls certs server|--dir DIR|broker\.key'
dg_root localhost "HOSTNAME_MISMATCH" 1 mosquitto_sub -h localhost -p "$p1" --cafile "$C/rootCA.crt" -t iot/test
dg_root cafile-is-server "CAFILE_NOT_CA" 1 -h 127.0.0.1 -p "$p1" --cafile "$C/server.crt"
t_like "cafile-is-server: the fix names the CA beside it" "$(fix_of cafile-is-server)" "--cafile $C/rootCA\\.crt"
dg_root cafile-der "CAFILE_INVALID" 1 -h 127.0.0.1 -p "$p1" --cafile "$C/rootCA.der"
dg_root regenerated "WRONG_CA" 1 -h 127.0.0.1 -p "$p1" --cafile "$C/new/rootCA.crt" --insecure
t_like "regenerated: it says the CA was made again under the same name" "$(title_of regenerated)" 'same name'
t_like "regenerated: re-issue from the CA the devices now have" "$(fix_of regenerated)" "-CA $C/new/rootCA\\.crt -CAkey $C/new/rootCA\\.key"
dg_root capath "WRONG_CA" 1 -h 127.0.0.1 -p "$p1" --capath "$T_TMP/capath" --insecure
t_like "capath: the CA is there, the hash links are not" "$(fix_of capath)" "openssl rehash $T_TMP/capath"
openssl rehash "$T_TMP/capath" >/dev/null 2>&1
dg_ok capath-hashed -h 127.0.0.1 -p "$p1" --capath "$T_TMP/capath" --insecure -t iot/test

# The pasted tutorial line, with iotsec.local only in a private /etc/hosts (never the real one).
if unshare -m true 2>/dev/null; then
	printf '127.0.0.1 localhost\n127.0.0.1 iotsec.local\n' >"$T_TMP/hosts"
	unshare -m bash -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' _ "$T_TMP/hosts" \
		"$MQTTLS" diagnose --json --timeout 3 mosquitto_sub -h iotsec.local -p "$p1" --cafile "$C/rootCA.crt" -t iot/test >"$T_TMP/pasted.json" 2>&1
	t_is "pasted tutorial line by name: it works" "$(t_json "$T_TMP/pasted.json" 'j["ok"]' 2>&1)" "true"
else
	t_skip "unshare -m is not allowed here"
fi

# The printed fix, run as printed: the re-issued certificate has the IP, the broker (after a
# SIGHUP, as the fix says) serves it, and the same diagnosis passes.
fix_cmds ip >"$T_TMP/fix-ip.sh"
t_like "ip: the fix is two openssl commands" "$(cat "$T_TMP/fix-ip.sh")" '^openssl x509 -x509toreq .*'$'\n''openssl x509 -req '
if bash -e "$T_TMP/fix-ip.sh" >"$T_TMP/fix-ip.log" 2>&1; then
	t_pass "ip: the printed openssl commands run"
else
	t_fail "ip: the printed openssl commands run" "$(cat "$T_TMP/fix-ip.log")"
fi
chmod a+r "$C/server.crt"
kill -HUP "$T_BROKER_PID_tut"
for _ in $(seq 1 50); do
	"$MQTTLS" diagnose --json --timeout 3 -h 127.0.0.1 -p "$p1" --cafile "$C/rootCA.crt" >"$T_TMP/after.json" 2>/dev/null && break
	sleep 0.1
done
dg_ok ip-fixed -h 127.0.0.1 -p "$p1" --cafile "$C/rootCA.crt" -t iot/test
t_broker_stop tut

# ------------------------------------------------------------------ other certificates, one broker
declare -A port
conf="allow_anonymous true"
add() { port[$1]=$(t_free_port); conf+=$'\n'"$(tls "${port[$1]}" "$2" "$3" "$4")"; }
add cnonly "$C/server-cnonly.crt" "$C/server.key" "$C/rootCA.crt"
add ku "$C/server-ku.crt" "$C/server.key" "$C/rootCA.crt"
add leafonly "$I/server/broker.crt" "$I/server/broker.key" "$I/root/ca.crt"
add fullchain "$I/server/broker-fullchain.crt" "$I/server/broker.key" "$I/root/ca.crt"
add expired "$D/srv.crt" "$D/srv.key" "$D/root.crt"
add expint "$D/srv-under-int-chain.crt" "$D/srv.key" "$D/root.crt"
add selfsigned "$C/server-selfsigned.crt" "$C/server.key" "$C/rootCA.crt"
t_broker certs "${port[cnonly]}" "$conf" || { t_fail "broker starts"; t_done; exit 1; }

dg_root cnonly-ip "IP_NOT_IN_SAN" 1 -h 127.0.0.1 -p "${port[cnonly]}" --cafile "$C/rootCA.crt"
t_like "cnonly-ip: the evidence says there is no SAN at all" "$(detail_of cnonly-ip)" 'no subjectAltName at all'
dg_root cnonly-name "HOSTNAME_MISMATCH" 1 -h localhost -p "${port[cnonly]}" --cafile "$C/rootCA.crt"
dg_root ku "SERVER_CERT_WRONG_PURPOSE" 1 -h localhost -p "${port[ku]}" --cafile "$C/rootCA.crt" -t iot/test
t_like "ku: the evidence names the missing digitalSignature" "$(detail_of ku)" 'no digitalSignature'
t_like "ku: the fix gives it a key usage that signs, from the student's files" "$(fix_of ku)" "-CAkey $C/rootCA\\.key .*keyUsage=digitalSignature"
dg_stage ku mqtt_connect ok
dg_root leafonly "INCOMPLETE_CHAIN" 1 -h localhost -p "${port[leafonly]}" --cafile "$I/root/ca.crt"
t_like "leafonly: the intermediate is found beside the root's directory" "$(fix_of leafonly)" \
	"cat $I/server/broker\\.crt $I/[a-z]+/intermediate\\.crt > $I/server/broker-fullchain\\.crt"
dg_ok fullchain -h localhost -p "${port[fullchain]}" --cafile "$I/root/ca.crt" -t test/mtls
dg_root intonly "WRONG_CA" 1 -h localhost -p "${port[leafonly]}" --cafile "$I/client/intermediate.crt"
t_like "intonly: the CA file stops at the intermediate" "$(title_of intonly)" 'stops at an intermediate'
t_like "intonly: the root is found on disk" "$(detail_of intonly)" "The root is in $I/root/ca\\.crt"
dg_root expired "CERT_EXPIRED" 1 -h localhost -p "${port[expired]}" --cafile "$D/root.crt"
t_like "expired: re-issue with the certificate's own key" "$(fix_of expired)" "-in $D/srv\\.crt -signkey $D/srv\\.key"
t_like "expired: re-issue from its own CA" "$(fix_of expired)" "-CA $D/root\\.crt -CAkey $D/root\\.key"
dg_root expint "CERT_EXPIRED" 1 -h localhost -p "${port[expint]}" --cafile "$D/root.crt"
t_like "expint: the intermediate expired, not the root" "$(fix_of expint)" "intermediate CA expired"
t_like "expint: the intermediate is issued again from the root" "$(fix_of expint)" "-in $D/int\\.csr -CA $D/root\\.crt -CAkey $D/root\\.key"
t_unlike "expint: devices keep their CA" "$(fix_of expint)" 'certs init'
dg_root selfsigned "SELF_SIGNED_SERVER" 1 -h localhost -p "${port[selfsigned]}" --cafile "$C/rootCA.crt"
t_like "selfsigned: the fix trusts the file that holds it" "$(fix_of selfsigned)" "--cafile $C/server-selfsigned\\.crt"
dg_ok selfsigned-trusted -h localhost -p "${port[selfsigned]}" --cafile "$C/server-selfsigned.crt" -t iot/test
t_broker_stop certs

# ------------------------------------------------------------------ TLS versions: what works for a laptop and not for a device
p5=$(t_free_port)
t_broker v13 "$p5" "allow_anonymous true
$(tls "$p5" "$I/server/broker-fullchain.crt" "$I/server/broker.key" "$I/root/ca.crt" 'tls_version tlsv1.3')" || t_fail "TLS 1.3-only broker starts"
dg_ok only13 -h localhost -p "$p5" --cafile "$I/root/ca.crt" -t iot/test
dg_has only13 CONF_TLS_VERSION_PINNED
t_like "only13: a TLS 1.2 device is refused by version" "$(t_json "$T_TMP/only13.json" 'next(f["detail"] for f in j["findings"] if f["id"] == "CONF_TLS_VERSION_PINNED")')" 'alert 70'
dg_root only13-device "TLS_VERSION_MISMATCH" 1 -h localhost -p "$p5" --cafile "$I/root/ca.crt" --tls-max tlsv1.2
t_broker_stop v13

# ------------------------------------------------------------------ mutual TLS with identities and ACLs (the lesson's broker)
printf 'pattern write devices/%%u/telemetry/#\npattern read devices/%%u/commands/#\n' >"$T_TMP/acl.conf"
chmod 0644 "$T_TMP/acl.conf"
p3=$(t_free_port)
t_broker mtls "$p3" "$(tls "$p3" "$I/server/broker-fullchain.crt" "$I/server/broker.key" "$I/ca-both.crt" 'require_certificate true
use_identity_as_username true')
acl_file $T_TMP/acl.conf" || { t_fail "mTLS broker starts"; t_done; exit 1; }
dg_root mtls-none "CLIENT_CERT_REQUIRED" 1 -h localhost -p "$p3" --cafile "$I/root/ca.crt"
t_like "mtls-none: the fix makes a device certificate with the student's CA" "$(fix_of mtls-none)" "-CA $I/root/ca\\.crt -CAkey $I/root/ca\\.key .*clientAuth"
dg_root mtls-other "CLIENT_CERT_REJECTED" 1 -h localhost -p "$p3" --cafile "$I/root/ca.crt" --cert "$T_TMP/client.crt" --key "$T_TMP/client.key"
t_like "mtls-other: the evidence names the CA that did issue it" "$(detail_of mtls-other)" "issued by the CA in $T_TMP/other\\.crt"
# The printed re-issue, run as printed: the same key, now from the CA the broker trusts.
fix_cmds mtls-other >"$T_TMP/fix-other.sh"
if bash -e "$T_TMP/fix-other.sh" >"$T_TMP/fix-other.log" 2>&1; then t_pass "mtls-other: the printed openssl commands run"; else t_fail "mtls-other: the printed openssl commands run" "$(cat "$T_TMP/fix-other.log")"; fi
dg mtls-other-fixed -h localhost -p "$p3" --cafile "$I/root/ca.crt" --cert "$T_TMP/client.crt" --key "$T_TMP/client.key"
dg_stage mtls-other-fixed tls ok
dg_stage mtls-other-fixed mqtt_connect ok
dg_root mtls-key "CLIENT_KEY_MISMATCH" 1 -h localhost -p "$p3" --cafile "$I/root/ca.crt" --cert "$I/devices/sensor-001.crt" --key "$T_TMP/client.key"
dg_root acl-read "ACL_DENIED" 1 -h localhost -p "$p3" --cafile "$I/root/ca.crt" --cert "$I/devices/sensor-001.crt" \
	--key "$I/devices/sensor-001.key" -t devices/sensor-001/telemetry -V 5
t_like "acl-read: MQTT 5 tells it is the reading that is denied" "$(title_of acl-read)" '^Reading '
t_like "acl-read: the fix names the certificate's CN as the user" "$(fix_of acl-read)" 'user sensor-001'
dg_root acl-write "ACL_DENIED" 1 -h localhost -p "$p3" --cafile "$I/root/ca.crt" --cert "$I/devices/sensor-001.crt" \
	--key "$I/devices/sensor-001.key" -t devices/sensor-001/commands -V 5
t_like "acl-write: the publish is what is denied" "$(title_of acl-write)" '^Publishing on '
t_broker_stop mtls

# A device certificate from the intermediate, sent alone, to a broker whose cafile holds only the root.
p7=$(t_free_port)
t_broker mtls2 "$p7" "allow_anonymous true
$(tls "$p7" "$I/server/broker-fullchain.crt" "$I/server/broker.key" "$I/root/ca.crt" 'require_certificate true')" || t_fail "root-only mTLS broker starts"
dg_root devleaf "CLIENT_CERT_REJECTED" 1 -h localhost -p "$p7" --cafile "$I/root/ca.crt" --cert "$I/devices/sensor-001.crt" --key "$I/devices/sensor-001.key"
t_like "devleaf: the device's intermediate was not sent" "$(detail_of devleaf)" 'issued by an intermediate CA .*sent the certificate alone'
fix_cmds devleaf >"$T_TMP/fix-devleaf.sh"
( cd "$T_TMP" && bash -e fix-devleaf.sh ) >"$T_TMP/fix-devleaf.log" 2>&1 || t_fail "devleaf: the printed cat runs" "$(cat "$T_TMP/fix-devleaf.log")"
dg_ok devleaf-chain -h localhost -p "$p7" --cafile "$I/root/ca.crt" --cert "$T_TMP/device-chain.crt" --key "$I/devices/sensor-001.key" -t iot/test
t_broker_stop mtls2

# A listener that takes usernames from certificates but never asks for one (no require_certificate).
p6=$(t_free_port)
t_broker ident "$p6" "allow_anonymous false
$(tls "$p6" "$C/server.crt" "$C/server.key" "$C/rootCA.crt" 'use_identity_as_username true')" || t_fail "identity broker starts"
dg_root ident "ANONYMOUS_NOT_ALLOWED" 1 -h 127.0.0.1 -p "$p6" --cafile "$C/rootCA.crt" --insecure
t_like "ident: CONNACK 4 to a client without any identity" "$(detail_of ident)" 'CONNACK 4 .*neither a username nor'
dg_root ident-conf "CONF_INCONSISTENT" 1 -h 127.0.0.1 -p "$p6" --cafile "$C/rootCA.crt" --insecure --broker-conf "$T_TMP/ident.conf"
t_broker_stop ident

# ------------------------------------------------------------------ not a broker at all
# A service that greets first (an SSH banner), one that resets at once, one that never speaks.
srv() {
	exec "$T_PY" -c '
import socket, struct, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", port)); s.listen(8)
keep = []
end = time.time() + 60
while time.time() < end:
    c, _ = s.accept()
    if mode == "banner": c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"); keep.append(c)
    elif mode == "reset": c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()
    else: keep.append(c)
' "$1" "$2"
}
for mode in banner reset silent; do
	p=$(t_free_port)
	t_bg srv "$mode" "$p"
	for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.02; done
	DG_TIMEOUT=2 dg_root "$mode" "NOT_TLS" 1 -h 127.0.0.1 -p "$p" --cafile "$C/rootCA.crt"
	dg_stage "$mode" tcp ok
done
t_like "banner: the evidence quotes what the port said" "$(detail_of banner)" 'SSH-2\.0-OpenSSH'
t_like "banner: the plain MQTT CONNECT got the banner, not a CONNACK" "$(detail_of banner)" 'which is not a CONNACK either'
t_like "silent: both questions met silence" "$(detail_of silent)" 'never answered the TLS ClientHello.*silence'

# ------------------------------------------------------------------ the quick reference's configuration, as printed
p4=$(t_free_port)
cat >"$T_TMP/quickref.conf" <<EOF
listener $p4 127.0.0.1
certfile $C/server.crt
keyfile $C/server.key
cafile $C/rootCA.crt
require_certificate true
use_identity_as_username true
tls_version tlsv1.2 tlsv1.3
ciphers ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384
EOF
mosquitto -c "$T_TMP/quickref.conf" >"$T_TMP/quickref.log" 2>&1
t_is "quickref: the real mosquitto refuses this configuration" "$?" "1"
dg_root quickref "TCP_REFUSED" 1 -h localhost -p "$p4" --cafile "$C/rootCA.crt"
dg_root quickref-conf "CONF_INCONSISTENT" 1 -h localhost -p "$p4" --cafile "$C/rootCA.crt" --broker-conf "$T_TMP/quickref.conf"
t_like "quickref-conf: it names the tls_version line" "$(fix_of quickref-conf)$(detail_of quickref-conf)" 'tls_version'
t_like "quickref: explain reads the broker's own words" "$("$MQTTLS" explain "$(grep -m1 'Unsupported tls_version' "$T_TMP/quickref.log")")" 'one word'

t_done
