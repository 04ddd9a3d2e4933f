#!/usr/bin/env bash
# Golden captures, recorded by this test on loopback with tcpdump against a real mosquitto and
# real clients, with certificates made by mqttls certs: TLS 1.2 and 1.3 handshakes with a
# publish, plaintext MQTT with credentials, a client rejecting the broker's CA (1.2 and 1.3),
# mTLS without a client certificate (1.2 and 1.3), MQTT 5 accepted and refused. Each capture is
# decoded by mqttls capture --json into the expected events and verdict, and every fact is
# cross-checked against tshark's decoding of the same file. Then a live capture on lo sees a real
# mosquitto_pub's handshake.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" != 0 ]; then
	t_skip "recording on lo needs root (tcpdump, live capture)"
	t_done
	exit
fi
for tool in tcpdump tshark mosquitto mosquitto_pub; do
	command -v "$tool" >/dev/null || { t_fail "$tool is installed (make deps-test)"; t_done; exit 1; }
done

pki=$(t_pki) || { t_fail "certs init"; t_done; exit 1; }
other=$(t_pki "$T_TMP/other") || { t_fail "certs init (a second, unrelated CA)"; t_done; exit 1; }
"$MQTTLS" certs broken dns-only --dir "$pki" >"$T_TMP/broken.log" 2>&1 && t_pki_perms "$pki" ||
	{ t_fail "certs broken dns-only"; t_done; exit 1; }
pp=$(t_free_port)
pt=$(t_free_port)
pm=$(t_free_port)
pr=$(t_free_port)
ph=$(t_free_port)
p6=$(t_free_port)
p6t=$(t_free_port)
ports="--port $pp --port $pt --port $pm --port $pr --port $ph --port $p6 --port $p6t"

t_broker main "$pp" "allow_anonymous true
listener $pp 127.0.0.1
$(t_tls_listener "$pt" "$pki")
$(t_tls_listener "$pm" "$pki")
require_certificate true
listener $ph 127.0.0.1
cafile $pki/ca.crt
certfile $pki/broken-dns-only-fullchain.crt
keyfile $pki/broken-dns-only.key
listener $p6 ::1
listener $p6t ::1
cafile $pki/ca.crt
certfile $pki/broker-fullchain.crt
keyfile $pki/broker.key" || { t_fail "mosquitto starts"; t_done; exit 1; }
# A second broker that refuses anonymous clients (Mosquitto 2's default).
t_broker strict "$pr" "listener $pr 127.0.0.1" || { t_fail "second mosquitto starts"; t_done; exit 1; }

# A device without TLS 1.3 (an ESP32 on mbedTLS 2.x): tests/pcap/openssl-tls12.cnf caps the client.

# record NAME CMD...: tcpdump on lo around one client run.
record() {
	local name=$1 tp i
	shift
	# shellcheck disable=SC2086
	tcpdump ${REC_IF:--i lo} --immediate-mode -U -s 0 -w "$T_TMP/$name.pcap" "tcp and (port $pp or port $pt or port $pm or port $pr or port $ph or port $p6 or port $p6t)" \
		2>"$T_TMP/$name.tcpdump" &
	tp=$!
	T_PIDS+=("$tp")
	for i in $(seq 1 100); do
		grep -q "listening on" "$T_TMP/$name.tcpdump" 2>/dev/null && break
		sleep 0.05
	done
	"$@" >"$T_TMP/$name.client" 2>&1
	echo $? >"$T_TMP/$name.rc"
	# tcpdump writes each packet as it gets it (-U): stop it once the file has stopped growing,
	# not after a fixed pause that a loaded machine outlasts (the last packets were then lost).
	local size prev=-1
	for i in $(seq 1 50); do
		sleep 0.2
		size=$(stat -c %s "$T_TMP/$name.pcap" 2>/dev/null || echo 0)
		[ "$size" -gt 24 ] && [ "$size" = "$prev" ] && break
		prev=$size
	done
	kill -INT "$tp" 2>/dev/null
	wait "$tp" 2>/dev/null
	# shellcheck disable=SC2086
	"$MQTTLS" capture -r "$T_TMP/$name.pcap" $ports --json >"$T_TMP/$name.jsonl" 2>"$T_TMP/$name.err"
	echo $? >"$T_TMP/$name.capture-rc"
}

# jl NAME EXPR: a Python expression over L, the list of JSON objects mqttls printed for NAME.
# Helpers: ev(type) = the first event of that type (or {}), evs(type) = all of them.
jl() { t_jsonl "$T_TMP/$1.jsonl" "$2"; }

# ts NAME QUERY...: tshark's view of the same file (tests/pcap/tshark.py).
ts() {
	local name=$1
	shift
	"$T_PY" "$here/tshark.py" "$T_TMP/$name.pcap" "tcp.port==$pt,tls" "tcp.port==$pm,tls" "tcp.port==$ph,tls" \
		"tcp.port==$p6t,tls" "tcp.port==$pp,mqtt" "tcp.port==$pr,mqtt" "tcp.port==$p6,mqtt" -- "$@"
}

# The facts of a ClientHello / ServerHello, checked against tshark.
check_hellos() {
	local name=$1 n_ts
	t_is "$name: SNI as tshark reads it" "$(jl "$name" 'ev("client_hello")["sni"]')" \
		"$(ts "$name" field 'tls.handshake.type==1' tls.handshake.extensions_server_name)"
	n_ts=$(ts "$name" values 'tls.handshake.type==1' tls.handshake.ciphersuite | tr ',' '\n' | grep -vc '^0x00ff$')
	t_is "$name: offered suites as tshark counts them" "$(jl "$name" 'len(ev("client_hello")["ciphers"])')" "$n_ts"
	t_is "$name: negotiated suite as tshark names it" "$(jl "$name" 'ev("server_hello")["cipher"]')" \
		"$(ts "$name" suite 'tls.handshake.type==2')"
}

# ---- TLS 1.2 handshake and a publish -------------------------------------------------------
record tls12 env OPENSSL_CONF="$here/openssl-tls12.cnf" mosquitto_pub -h localhost -p "$pt" --cafile "$pki/ca.crt" \
	-i golden-12 -t golden/temp -m 21.5 -q 1
t_is "tls12: the client published" "$(cat "$T_TMP/tls12.rc")" 0
t_is "tls12: capture exits 0" "$(cat "$T_TMP/tls12.capture-rc")" 0
t_is "tls12: ClientHello offers TLS 1.2 only" "$(jl tls12 'ev("client_hello")["versions"]')" '["TLSv1.2"]'
t_is "tls12: SNI" "$(jl tls12 'ev("client_hello")["sni"]')" localhost
t_is "tls12: ServerHello TLSv1.2" "$(jl tls12 'ev("server_hello")["version"]')" TLSv1.2
check_hellos tls12
t_is "tls12: ECDHE group from the ServerKeyExchange, as tshark reads it" \
	"$(jl tls12 '{"x25519":"0x001d","secp256r1":"0x0017","secp384r1":"0x0018"}.get(ev("server_hello")["group"])')" \
	"$(ts tls12 field 'tls.handshake.type==12' tls.handshake.server_named_curve)"
t_is "tls12: the broker's chain is leaf + intermediate, as tshark counts it" \
	"$(jl tls12 'len(ev("certificate")["chain"])')" \
	"$(ts tls12 values 'tls.handshake.type==11' tls.handshake.certificate_length | tr ',' '\n' | grep -c .)"
t_is "tls12: certificate serials match tshark's" \
	"$(jl tls12 '",".join(c["serial"].lower() for c in ev("certificate")["chain"])')" \
	"$(ts tls12 values 'tls.handshake.type==11' x509af.serialNumber | tr 'A-F' 'a-f')"
t_is "tls12: the leaf is the broker certificate" "$(jl tls12 'ev("certificate")["chain"][0]["sha256"]')" \
	"$(openssl x509 -in "$pki/broker.crt" -noout -fingerprint -sha256 | cut -d= -f2)"
t_like "tls12: the leaf covers localhost" "$(jl tls12 'ev("certificate")["chain"][0]["san_dns"]')" '"localhost"'
t_is "tls12: both Finished messages, then application data" \
	"$(jl tls12 '[e["from"] for e in evs("application_data")]')" '["client", "server"]'
t_is "tls12: verdict" "$(jl tls12 'ev("flow_summary")["outcome"]')" tls_ok
t_is "tls12: one flow" "$(jl tls12 'len(evs("flow_summary"))')" 1
t_like "tls12: the flow is named client first" "$(jl tls12 'ev("flow_summary")["flow"]')" "^127\.0\.0\.1:[0-9]+->127\.0\.0\.1:$pt\$"

# ---- TLS 1.3 -------------------------------------------------------------------------------
record tls13 mosquitto_pub -h localhost -p "$pt" --cafile "$pki/ca.crt" --tls-version tlsv1.3 -i golden-13 \
	-t golden/temp -m 22.0 -q 1
t_is "tls13: the client published" "$(cat "$T_TMP/tls13.rc")" 0
t_is "tls13: ClientHello offers TLS 1.3" "$(jl tls13 'ev("client_hello")["versions"][0]')" TLSv1.3
t_is "tls13: ServerHello TLSv1.3 (supported_versions), as tshark reads it" \
	"$(jl tls13 '{"TLSv1.3":"0x0304"}.get(ev("server_hello")["version"])')" \
	"$(ts tls13 field 'tls.handshake.type==2' tls.handshake.extensions.supported_version)"
check_hellos tls13
t_is "tls13: key share group as tshark reads it" \
	"$(jl tls13 '{"x25519":"29","secp256r1":"23"}.get(ev("server_hello")["group"])')" \
	"$(ts tls13 field 'tls.handshake.type==2' tls.handshake.extensions_key_share_group)"
t_is "tls13: no certificate event (TLS 1.3 encrypts it)" "$(jl tls13 'len(evs("certificate"))')" 0
t_is "tls13: the device's Finished inferred from its record size" \
	"$(jl tls13 '[e["meaning"] for e in evs("encrypted_record") if e["from"]=="client"]')" '["Finished"]'
t_is "tls13: verdict" "$(jl tls13 'ev("flow_summary")["outcome"]')" tls_ok

# ---- plaintext MQTT with credentials --------------------------------------------------------
record plain mosquitto_pub -h 127.0.0.1 -p "$pp" -i esp32-kitchen -u alice -P 's3cret pw' \
	-t sensors/kitchen/temp -m 21.5 -q 1
t_is "plain: the client published" "$(cat "$T_TMP/plain.rc")" 0
t_is "plain: username" "$(jl plain 'ev("mqtt_connect")["username"]')" alice
t_is "plain: username as tshark reads it" "$(jl plain 'ev("mqtt_connect")["username"]')" \
	"$(ts plain field mqtt.username mqtt.username)"
t_is "plain: password in the clear" "$(jl plain 'ev("mqtt_connect")["password"]')" 's3cret pw'
t_is "plain: password as tshark reads it" "$(jl plain 'ev("mqtt_connect")["password"]')" \
	"$(ts plain field mqtt.passwd mqtt.passwd)"
t_is "plain: client id as tshark reads it" "$(jl plain 'ev("mqtt_connect")["client_id"]')" \
	"$(ts plain field mqtt.clientid mqtt.clientid)"
t_is "plain: protocol" "$(jl plain 'ev("mqtt_connect")["protocol"]')" 3.1.1
t_is "plain: CONNACK 0" "$(jl plain 'ev("mqtt_connack")["code"]')" 0
t_is "plain: publish topic as tshark reads it" "$(jl plain 'ev("mqtt_publish")["topic"]')" \
	"$(ts plain field mqtt.topic mqtt.topic)"
t_is "plain: publish payload as tshark reads it" "$(jl plain 'ev("mqtt_publish")["payload"].encode().hex()')" \
	"$(ts plain field mqtt.msg mqtt.msg)"
t_is "plain: verdict" "$(jl plain 'ev("flow_summary")["outcome"]')" plaintext_mqtt
t_is "plain: credentials flagged" "$(jl plain 'ev("flow_summary")["credentials_in_clear"]')" true
t_like "plain: said loudly" "$(jl plain 'ev("flow_summary")["reason"]')" "PASSWORD CROSSED THE NETWORK IN CLEAR TEXT"

# ---- the device rejects the broker's CA -----------------------------------------------------
for v in 12 13; do
	if [ "$v" = 12 ]; then
		record badca$v env OPENSSL_CONF="$here/openssl-tls12.cnf" mosquitto_pub -h localhost -p "$pt" \
			--cafile "$other/ca.crt" -t golden/x -m x
	else
		record badca$v mosquitto_pub -h localhost -p "$pt" --cafile "$other/ca.crt" --tls-version tlsv1.3 \
			-t golden/x -m x
	fi
	t_unlike "badca$v: the client failed" "$(cat "$T_TMP/badca$v.rc")" '^0$'
	t_is "badca$v: alert from the client" "$(jl badca$v 'ev("alert")["from"]')" client
	t_is "badca$v: unknown_ca, fatal" "$(jl badca$v 'ev("alert")["level"] + " " + ev("alert")["description"]')" "fatal unknown_ca"
	t_is "badca$v: tshark sees alert 48 from the client port" \
		"$(ts badca$v field tls.alert_message tcp.srcport),$(ts badca$v field tls.alert_message tls.alert_message.desc)" \
		"$(jl badca$v 'ev("flow_summary")["flow"].split("->")[0].rsplit(":",1)[1]'),48"
	t_is "badca$v: verdict" "$(jl badca$v 'ev("flow_summary")["outcome"] + " " + str(ev("flow_summary")["finding"])')" \
		"tls_failed WRONG_CA"
	t_like "badca$v: reason in plain words" "$(jl badca$v 'ev("flow_summary")["reason"]')" "rejected the broker certificate: unknown_ca"
done
t_is "badca12: the chain that was rejected is shown" "$(jl badca12 'len(ev("certificate")["chain"])')" 2
check_hellos badca12

# ---- the broker's certificate does not cover the address the device connected to ---------------
record name12 env OPENSSL_CONF="$here/openssl-tls12.cnf" mosquitto_pub -h 127.0.0.1 -p "$ph" --cafile "$pki/ca.crt" \
	-t golden/x -m x
t_unlike "name12: the client failed" "$(cat "$T_TMP/name12.rc")" '^0$'
t_is "name12: the SANs shown are the ones tshark reads" "$(jl name12 '",".join(ev("certificate")["chain"][0]["san_dns"])')" \
	"$(ts name12 values 'tls.handshake.type==11' x509ce.dNSName)"
t_is "name12: the device's alert, as tshark reads it" \
	"$(jl name12 'ev("alert")["from"] + " " + ev("alert")["description"]')" \
	"client $(ts name12 field tls.alert_message tls.alert_message.desc | sed 's/^80$/internal_error/')"
t_is "name12: verdict" "$(jl name12 'ev("flow_summary")["finding"]')" HOSTNAME_MISMATCH
t_like "name12: names the name" "$(jl name12 'ev("flow_summary")["reason"]')" "does not cover the name 127\.0\.0\.1"

# ---- mTLS: the broker requires a client certificate, the device has none ---------------------
record mtls12 env OPENSSL_CONF="$here/openssl-tls12.cnf" mosquitto_pub -h localhost -p "$pm" --cafile "$pki/ca.crt" \
	-t golden/x -m x
t_unlike "mtls12: the client failed" "$(cat "$T_TMP/mtls12.rc")" '^0$'
t_is "mtls12: CertificateRequest seen, as tshark sees it" "$(jl mtls12 'len(evs("certificate_request"))')" \
	"$(ts mtls12 values 'tls.handshake.type==13' tls.handshake.type | tr ',' '\n' | grep -c '^13$')"
t_is "mtls12: the device's Certificate is empty" "$(jl mtls12 '[e["count"] for e in evs("certificate") if e["from"]=="client"]')" '[0]'
t_is "mtls12: handshake_failure from the broker" "$(jl mtls12 'ev("alert")["from"] + " " + ev("alert")["description"]')" \
	"server handshake_failure"
t_is "mtls12: tshark sees alert 40 from the broker's port" \
	"$(ts mtls12 field tls.alert_message tcp.srcport),$(ts mtls12 field tls.alert_message tls.alert_message.desc)" "$pm,40"
t_is "mtls12: verdict" "$(jl mtls12 'ev("flow_summary")["finding"] + " " + str(ev("flow_summary")["inferred"])')" \
	"CLIENT_CERT_REQUIRED False"

record mtls13 mosquitto_pub -h localhost -p "$pm" --cafile "$pki/ca.crt" --tls-version tlsv1.3 -t golden/x -m x
t_unlike "mtls13: the client failed" "$(cat "$T_TMP/mtls13.rc")" '^0$'
t_is "mtls13: the device's encrypted records are the ones tshark lists" \
	"$(jl mtls13 '",".join("23:%d" % e["length"] for e in L if e.get("from")=="client" and e["type"] in ("encrypted_record","encrypted_alert","application_data"))')" \
	"$(ts mtls13 records "$(jl mtls13 'ev("flow_summary")["flow"].split("->")[0].rsplit(":",1)[1]')" | tr ',' '\n' | grep '^23:' | paste -sd,)"
t_is "mtls13: an empty client Certificate inferred from its size" \
	"$(jl mtls13 '[e["meaning"].split(",")[0] for e in evs("encrypted_record") if e["from"]=="client"]')" '["Certificate", "Finished"]'
t_is "mtls13: the broker's answer is an encrypted alert" "$(jl mtls13 'ev("encrypted_alert")["from"]')" server
t_is "mtls13: verdict (inferred)" \
	"$(jl mtls13 'ev("flow_summary")["outcome"] + " " + ev("flow_summary")["finding"] + " " + str(ev("flow_summary")["inferred"])')" \
	"tls_failed CLIENT_CERT_REQUIRED True"

# ---- mTLS with the device's certificate -------------------------------------------------------
record mtlsok12 env OPENSSL_CONF="$here/openssl-tls12.cnf" mosquitto_pub -h localhost -p "$pm" \
	--cafile "$pki/ca.crt" --cert "$pki/device1.crt" --key "$pki/device1.key" -t golden/x -m x
t_is "mtlsok12: the client published" "$(cat "$T_TMP/mtlsok12.rc")" 0
t_is "mtlsok12: the device's certificate is shown" \
	"$(jl mtlsok12 '[e["chain"][0]["subject"] for e in evs("certificate") if e["from"]=="client"][0]')" \
	"$(openssl x509 -in "$pki/device1.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
t_is "mtlsok12: tshark sees the same two Certificate messages" "$(jl mtlsok12 'len(evs("certificate"))')" \
	"$(ts mtlsok12 values 'tls.handshake.type==11' tls.handshake.type | tr ',' '\n' | grep -c '^11$')"
t_like "mtlsok12: verdict" "$(jl mtlsok12 'ev("flow_summary")["outcome"] + " " + ev("flow_summary")["reason"]')" \
	"^tls_ok .*with a client certificate"
record mtlsok13 mosquitto_pub -h localhost -p "$pm" --cafile "$pki/ca.crt" --cert "$pki/device1.crt" \
	--key "$pki/device1.key" -t golden/x -m x
t_is "mtlsok13: the client published" "$(cat "$T_TMP/mtlsok13.rc")" 0
t_is "mtlsok13: a client certificate inferred from its size" \
	"$(jl mtlsok13 '[e["meaning"].split(":")[0] for e in evs("encrypted_record") if e["from"]=="client"]')" \
	'["Certificate", "CertificateVerify", "Finished"]'
t_like "mtlsok13: verdict" "$(jl mtlsok13 'ev("flow_summary")["outcome"] + " " + ev("flow_summary")["reason"]')" \
	"^tls_ok .*with a client certificate"

# ---- the wrong protocol on the port -------------------------------------------------------------
record plain2tls mosquitto_pub -h 127.0.0.1 -p "$pt" -t golden/x -m x
t_is "plain2tls: a CONNECT sent to the TLS port" "$(jl plain2tls 'ev("mqtt_connect")["protocol"]')" 3.1.1
t_like "plain2tls: verdict" "$(jl plain2tls 'ev("flow_summary")["reason"]')" "port $pt most likely expects TLS"
record tls2plain mosquitto_pub -h localhost -p "$pp" --cafile "$pki/ca.crt" -t golden/x -m x
t_is "tls2plain: a ClientHello sent to the plain port" "$(jl tls2plain 'ev("client_hello")["sni"]')" localhost
t_is "tls2plain: verdict" "$(jl tls2plain 'ev("flow_summary")["outcome"] + " " + ev("flow_summary")["finding"]')" \
	"tls_failed PLAINTEXT_PORT"

# ---- MQTT 5 ---------------------------------------------------------------------------------
record v5 mosquitto_pub -V mqttv5 -h 127.0.0.1 -p "$pp" -i v5dev -D connect session-expiry-interval 60 \
	-D publish user-property unit celsius -t v5/temp -m 19.5 -q 1
t_is "v5: the client published" "$(cat "$T_TMP/v5.rc")" 0
t_is "v5: protocol 5, as tshark reads it" "$(jl v5 'ev("mqtt_connect")["protocol"]')" "$(ts v5 field mqtt.ver mqtt.ver)"
t_is "v5: publish topic as tshark reads it" "$(jl v5 'ev("mqtt_publish")["topic"]')" "$(ts v5 field mqtt.topic mqtt.topic)"
t_is "v5: payload after the properties" "$(jl v5 'ev("mqtt_publish")["payload"]')" 19.5
t_is "v5: PUBACK decoded" "$(jl v5 'ev("mqtt_puback")["packet_id"]')" 1
t_is "v5: verdict" "$(jl v5 'ev("flow_summary")["outcome"]')" plaintext_mqtt

record v5refused mosquitto_pub -V mqttv5 -h 127.0.0.1 -p "$pr" -t v5/temp -m 1
t_unlike "v5refused: the client was refused" "$(cat "$T_TMP/v5refused.rc")" '^0$'
t_is "v5refused: CONNACK 0x87 as tshark reads it" "$(jl v5refused 'ev("mqtt_connack")["code"]')" \
	"$(ts v5refused field mqtt.connack.reason_code mqtt.connack.reason_code)"
t_is "v5refused: its meaning" "$(jl v5refused 'ev("mqtt_connack")["meaning"]')" "Not authorized"
t_is "v5refused: verdict" "$(jl v5refused 'ev("flow_summary")["finding"]')" ANONYMOUS_NOT_ALLOWED

# ---- the human ladder ------------------------------------------------------------------------
out=$("$MQTTLS" capture -r "$T_TMP/badca12.pcap" --port "$pt" 2>&1)
t_like "ladder: the device's ClientHello" "$out" "device (→|->) broker  ClientHello \(SNI localhost, TLS 1\.2"
t_like "ladder: the broker's chain" "$out" "device (←|<-) broker  Certificate \(2 from the broker\)"
t_like "ladder: who sent the alert" "$out" "device (→|->) broker  Alert fatal unknown_ca"
t_like "ladder: the verdict" "$out" "tls_failed: the device rejected the broker certificate: unknown_ca.*\[WRONG_CA\]"
out=$("$MQTTLS" capture -r "$T_TMP/plain.pcap" --port "$pp" --stats 2>&1)
t_like "ladder: the password in clear text, loudly" "$out" 'password "s3cret pw".*PASSWORD IN CLEAR TEXT'
t_like "stats: counts" "$out" "TCP on the ports +[0-9]+ segments in 1 flows \(TLS 0, plain MQTT 1\)"

# ---- -w writes a pcap tshark reads back whole ---------------------------------------------------
# shellcheck disable=SC2086
t_ok "-w: capture copies what it reads" "$MQTTLS" capture -r "$T_TMP/tls12.pcap" $ports -w "$T_TMP/copy.pcap"
t_is "-w: tshark reads the same packets from the copy" "$(tshark -r "$T_TMP/copy.pcap" 2>/dev/null | wc -l)" \
	"$(tshark -r "$T_TMP/tls12.pcap" 2>/dev/null | wc -l)"
t_exit "-w: an existing file is not replaced without --force" 1 "$MQTTLS" capture -r "$T_TMP/tls12.pcap" -w "$T_TMP/copy.pcap"
t_ok "-w --force replaces it" "$MQTTLS" capture -r "$T_TMP/plain.pcap" -w "$T_TMP/copy.pcap" --force
t_is "-w --force: the copy is the new capture" "$(tshark -r "$T_TMP/copy.pcap" 2>/dev/null | wc -l)" \
	"$(tshark -r "$T_TMP/plain.pcap" 2>/dev/null | wc -l)"

# ---- pcapng and Linux cooked captures decode the same ----------------------------------------
editcap -F pcapng "$T_TMP/badca12.pcap" "$T_TMP/badca12.pcapng" 2>/dev/null
# shellcheck disable=SC2086
t_is "pcapng: same verdict" "$("$MQTTLS" capture -r "$T_TMP/badca12.pcapng" $ports --json | grep -c '"finding":"WRONG_CA"')" 1
for dlt in LINUX_SLL LINUX_SLL2; do
	REC_IF="-i any -y $dlt" record "any-$dlt" env OPENSSL_CONF="$here/openssl-tls12.cnf" mosquitto_pub -h localhost \
		-p "$pt" --cafile "$other/ca.crt" -t golden/x -m x
	t_like "Linux cooked ($dlt): tshark agrees on the link type" "$(tshark -r "$T_TMP/any-$dlt.pcap" -T fields \
		-e frame.protocols 2>/dev/null | head -1)" "^sll"
	t_is "Linux cooked ($dlt): same verdict" "$(jl "any-$dlt" 'ev("flow_summary")["finding"]')" WRONG_CA
done

# ---- IPv6 ------------------------------------------------------------------------------------
record v6plain mosquitto_pub -h ::1 -p "$p6" -i v6-device -u bob -P hunter2 -t v6/t -m 6
t_is "v6plain: the client published" "$(cat "$T_TMP/v6plain.rc")" 0
t_like "v6plain: the flow is named with bracketed addresses" "$(jl v6plain 'ev("flow_summary")["flow"]')" \
	"^\[::1\]:[0-9]+->\[::1\]:$p6\$"
t_is "v6plain: password as tshark reads it" "$(jl v6plain 'ev("mqtt_connect")["password"]')" \
	"$(ts v6plain field mqtt.passwd mqtt.passwd)"
record v6tls mosquitto_pub -h ::1 -p "$p6t" --cafile "$pki/ca.crt" -i v6-tls -t v6/t -m 6
t_is "v6tls: the client published" "$(cat "$T_TMP/v6tls.rc")" 0
check_hellos v6tls
t_is "v6tls: verdict" "$(jl v6tls 'ev("flow_summary")["outcome"]')" tls_ok

# ---- --count and --duration end a file early --------------------------------------------------
# shellcheck disable=SC2086
t_is "--count: stops after N packets" "$("$MQTTLS" capture -r "$T_TMP/tls12.pcap" $ports --count 3 --json --stats |
	t_jsonl /dev/stdin 'ev("stats")["packets"]')" 3
# shellcheck disable=SC2086
t_is "--count: the flow cut short is incomplete" "$("$MQTTLS" capture -r "$T_TMP/tls12.pcap" $ports --count 5 --json |
	t_jsonl /dev/stdin 'ev("flow_summary")["outcome"]')" incomplete

# ---- live capture on lo ------------------------------------------------------------------------
"$MQTTLS" capture -i lo --port "$pt" --json --stats --duration 20 >"$T_TMP/live.jsonl" 2>"$T_TMP/live.err" &
cap=$!
T_PIDS+=("$cap")
for i in $(seq 1 100); do
	grep -q "listening on lo" "$T_TMP/live.err" 2>/dev/null && break
	sleep 0.05
done
sleep 0.3
mosquitto_pub -h localhost -p "$pt" --cafile "$pki/ca.crt" -i live-device -t golden/live -m 1 -q 1
t_is "live: mosquitto_pub succeeded" "$?" 0
sleep 0.5
kill -INT "$cap"
wait "$cap"
t_is "live: capture ends cleanly on Ctrl-C" "$?" 0
t_is "live: its ClientHello was seen" "$(jl live 'ev("client_hello")["sni"]')" localhost
t_is "live: its ServerHello was seen" "$(jl live 'ev("server_hello")["version"]')" TLSv1.3
t_is "live: verdict" "$(jl live 'ev("flow_summary")["outcome"]')" tls_ok
t_is "live: libpcap's counters reported" "$(jl live '"pcap_received" in ev("stats") and ev("stats")["pcap_dropped"] >= 0')" true

# The human face live: each line as it happens, tagged with its flow, then the verdict.
"$MQTTLS" capture -i lo --port "$pt" >"$T_TMP/live.txt" 2>"$T_TMP/live-human.err" &
cap=$!
T_PIDS+=("$cap")
for i in $(seq 1 100); do
	grep -q "listening on lo" "$T_TMP/live-human.err" 2>/dev/null && break
	sleep 0.05
done
sleep 0.3
mosquitto_pub -h localhost -p "$pt" --cafile "$other/ca.crt" -t golden/live -m 1 >/dev/null 2>&1
sleep 0.5
kill -INT "$cap"
wait "$cap"
out=$(cat "$T_TMP/live.txt")
t_like "live ladder: a flow header" "$out" "^flow #1  127\.0\.0\.1:[0-9]+ (→|->) 127\.0\.0\.1:$pt"
t_like "live ladder: lines tagged with their flow" "$out" "#1 +[0-9.]+ ms  device (→|->) broker  Alert fatal unknown_ca"
t_like "live ladder: the verdict" "$out" "#1 (✗|x) tls_failed: .*\[WRONG_CA\]"

# --duration ends a live capture by itself.
"$MQTTLS" capture -i lo --port "$pt" --duration 1 --json >"$T_TMP/dur.jsonl" 2>"$T_TMP/dur.err" &
cap=$!
T_PIDS+=("$cap")
for i in $(seq 1 100); do
	kill -0 "$cap" 2>/dev/null || break
	sleep 0.1
done
t_unlike "live: --duration 1 ended it within 10 s" "$(kill -0 "$cap" 2>&1 && echo running)" running
wait "$cap"
t_is "live: --duration exits 0" "$?" 0

t_done
