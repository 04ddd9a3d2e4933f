#!/usr/bin/env bash
# The command-line contract (CONTRACT.md), command by command, against real peers: every command,
# flag and JSON field it names exists and behaves as written — exit statuses 0/1/2, the diagnose
# object, the shared chain and findings shapes of inspect, lint-conf and certs show, capture's
# JSON Lines table and flow_summary outcomes, mitm's --json-log events, device's modes and exit
# codes, and every TARGET option. Shapes are checked field by field by tests/contract-shapes.py,
# so a renamed field or a changed type fails here.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../mitm-lib.sh"
src=${MQTTLS_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
export LC_ALL=C.UTF-8

# shape KIND FILE DESC: the output has the contract's shape.
shape() {
	local out
	out=$("$T_PY" "$src/tests/contract-shapes.py" "$1" "$2" 2>&1)
	if [ "$out" = ok ]; then t_pass "$3"; else t_fail "$3" "${out:0:3000}"; fi
}

# run NAME CMD...: stdout to $T_TMP/NAME.out, stderr to NAME.err, status in $rc.
run() {
	local name=$1
	shift
	"$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err" </dev/null
	rc=$?
}

# usage DESC CMD...: a usage error: exit 2, one line on stderr naming the command, nothing on stdout.
usage() {
	local desc=$1
	shift
	run usage "$@"
	t_is "$desc: exit 2" "$rc" 2
	t_is "$desc: one line on stderr" "$(grep -v '^INSECURE LAB MITM - ' "$T_TMP/usage.err" | wc -l)" 1
	t_like "$desc: it names the command" "$(grep -v '^INSECURE LAB MITM - ' "$T_TMP/usage.err")" "^mqttls( [a-z-]+)*: "
	t_is "$desc: nothing on stdout" "$(wc -c <"$T_TMP/usage.out")" 0
}

pki=$(t_pki) || exit 1
other=$(t_pki "$T_TMP/other") || exit 1
"$MQTTLS" certs broken dns-only --dir "$pki" >/dev/null 2>&1 && t_pki_perms "$pki" || { t_fail "certs broken dns-only"; t_done; exit 1; }
ca=$pki/ca.crt
t_passwd "$T_TMP/passwd" sensor s3cret
pt=$(t_free_port)
pp=$(t_free_port)
pd=$(t_free_port)
pm=$(t_free_port)
pa=$(t_free_port)
tls() { printf 'cafile %s/ca.crt\ncertfile %s/%s-fullchain.crt\nkeyfile %s/%s.key\n' "$pki" "$pki" "$1" "$pki" "$1"; }
t_broker main "$pt" "per_listener_settings true
listener $pt 127.0.0.1
allow_anonymous true
$(tls broker)
listener $pp 127.0.0.1
allow_anonymous true
listener $pd 127.0.0.1
allow_anonymous true
$(tls broken-dns-only)
listener $pm 127.0.0.1
allow_anonymous true
require_certificate true
$(tls broker)
listener $pa 127.0.0.1
allow_anonymous false
password_file $T_TMP/passwd
$(tls broker)" || { t_fail "mosquitto starts"; t_done; exit 1; }
for p in "$pp" "$pd" "$pm" "$pa"; do
	for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.02; done
done
D=("$MQTTLS" diagnose --no-weak-probe)

# ---- the program ------------------------------------------------------------------------------
version=$("$MQTTLS" --version)
t_like "--version: mqttls and a version" "$version" '^mqttls [0-9]+\.[0-9]+\.[0-9]+$'
version=${version#mqttls }
run help "$MQTTLS" --help
t_is "--help: exit 0" "$rc" 0
for c in tui diagnose inspect lint-conf capture certs lab mitm device explain; do
	t_like "--help lists $c" "$(cat "$T_TMP/help.out")" "^  $c "
	run chelp "$MQTTLS" "$c" --help
	t_is "$c --help: exit 0" "$rc" 0
	t_like "$c --help: its usage" "$(head -1 "$T_TMP/chelp.out")" "^usage: mqttls .*$c|^usage: mqttls \[--ascii\]"
done
for c in tui diagnose inspect; do
	run chelp "$MQTTLS" "$c" --help
	for o in -h -p --cafile --capath --cert --key -u -P -i -t -m --insecure --no-verify --tls-version --tls-max -V --sni mqtts:// mqtt://; do
		grep -qF -- "$o" "$T_TMP/chelp.out" || t_fail "$c --help names the TARGET option $o"
	done
	t_pass "$c --help names every TARGET option of the contract"
done
usage "an unknown command" "$MQTTLS" no-such-command

# ---- diagnose -------------------------------------------------------------------------------
run healthy "${D[@]}" -h localhost -p "$pt" --cafile "$ca" --json
t_is "diagnose, healthy broker: exit 0" "$rc" 0
shape diagnose "$T_TMP/healthy.out" "diagnose --json has the contract's shape"
t_is "... ok is true" "$(t_json "$T_TMP/healthy.out" 'j["ok"]')" true
t_is "... every stage ok, in the contract's order" "$(t_json "$T_TMP/healthy.out" '[s["name"]+":"+s["status"] for s in j["stages"]]')" \
	'["resolve:ok", "tcp:ok", "tls:ok", "verify:ok", "mqtt_connect:ok", "pubsub:ok"]'
t_is "... target" "$(t_json "$T_TMP/healthy.out" '[j["target"]["host"], j["target"]["port"], j["target"]["address"]]')" \
	"[\"localhost\", $pt, \"127.0.0.1\"]"
t_is "... tool and version" "$(t_json "$T_TMP/healthy.out" '[j["tool"], j["version"]]')" "[\"mqttls\", \"$version\"]"
t_is "... the chain: leaf and intermediate" "$(t_json "$T_TMP/healthy.out" '[c["depth"] for c in j["chain"]]')" '[0, 1]'
t_is "... the leaf is the broker's certificate" "$(t_json "$T_TMP/healthy.out" 'j["chain"][0]["sha256"]')" \
	"$(openssl x509 -in "$pki/broker.crt" -noout -fingerprint -sha256 | cut -d= -f2)"
t_is "... no error finding" "$(t_json "$T_TMP/healthy.out" '[f["id"] for f in j["findings"] if f["severity"] == "error"]')" '[]'

run ipsan "${D[@]}" -h 127.0.0.1 -p "$pd" --cafile "$ca" --json
t_is "diagnose, IP not in the SAN: exit 1" "$rc" 1
shape diagnose "$T_TMP/ipsan.out" "... the failure has the contract's shape too"
t_is "... ok is false" "$(t_json "$T_TMP/ipsan.out" 'j["ok"]')" false
t_is "... the root cause is the first error finding" "$(t_json "$T_TMP/ipsan.out" '[f["id"] for f in j["findings"] if f["severity"] == "error"][0]')" IP_NOT_IN_SAN
t_is "... verify failed, the stages after it skipped" "$(t_json "$T_TMP/ipsan.out" '[s["status"] for s in j["stages"]][3:]')" \
	'["failed", "skipped", "skipped"]'

run nocafile "${D[@]}" -h localhost -p "$pt" --cafile "$T_TMP/missing.crt" --json
t_is "a --cafile that cannot be read: exit 1, not a crash" "$rc" 1
shape diagnose "$T_TMP/nocafile.out" "... with the contract's shape"
t_is "... it is a finding" "$(t_json "$T_TMP/nocafile.out" '[f["id"] for f in j["findings"]][0]')" CAFILE_INVALID

# A peer that accepts and never says a word: --timeout bounds the wait.
"$T_PY" -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",0)); s.listen(8)
print(s.getsockname()[1], flush=True)
c=[]
end=time.time()+60
while time.time()<end:
    s.settimeout(1)
    try: c.append(s.accept()[0])
    except OSError: pass' >"$T_TMP/silent.port" &
T_PIDS+=("$!")
for _ in $(seq 1 100); do [ -s "$T_TMP/silent.port" ] && break; sleep 0.02; done
silent=$(cat "$T_TMP/silent.port")
run silent "${D[@]}" -h 127.0.0.1 -p "$silent" --cafile "$ca" --timeout 0.5 --json
t_is "diagnose --timeout against a silent peer: exit 1" "$rc" 1
shape diagnose "$T_TMP/silent.out" "... with the contract's shape"
t_is "... the TLS stage failed" "$(t_json "$T_TMP/silent.out" 'j["stages"][2]["status"]')" failed

# --broker-conf / --broker-log: the broker's own configuration and log are read in.
run bconf "${D[@]}" -h localhost -p "$pt" --cafile "$ca" --broker-conf "$T_TMP/main.conf" --broker-log "$T_TMP/main.log" --json
t_is "diagnose --broker-conf FILE --broker-log FILE on a healthy broker: exit 0" "$rc" 0
shape diagnose "$T_TMP/bconf.out" "... with the contract's shape"
printf 'listener %s 127.0.0.1\n%s' "$pa" "$(tls broker)" >"$T_TMP/noanon.conf"
run bconf2 "${D[@]}" -h localhost -p "$pa" --cafile "$ca" --broker-conf "$T_TMP/noanon.conf" --json
t_is "diagnose --broker-conf naming a listener that refuses everyone: exit 1" "$rc" 1
t_like "... the configuration's finding is in the result" "$(t_json "$T_TMP/bconf2.out" '[f["id"] for f in j["findings"]]')" CONF_ANONYMOUS_UNSET
shape diagnose "$T_TMP/bconf2.out" "... with the contract's shape"
run bconf3 "${D[@]}" -h localhost -p "$pt" --cafile "$ca" --broker-conf "$T_TMP/no-such.conf"
t_is "diagnose --broker-conf with a file that cannot be read: exit 1" "$rc" 1
t_like "... and it says which file" "$(cat "$T_TMP/bconf3.err")" "no-such\.conf"

usage "diagnose with an unknown flag" "$MQTTLS" diagnose -h localhost --no-such-flag
usage "diagnose --timeout without its value" "$MQTTLS" diagnose -h localhost --timeout
usage "diagnose --timeout that is not a number" "$MQTTLS" diagnose -h localhost --timeout soon
usage "diagnose --timeout nan" "$MQTTLS" diagnose -h localhost --timeout nan
usage "diagnose --broker-conf without its value" "$MQTTLS" diagnose -h localhost --broker-conf
usage "diagnose -p out of range" "$MQTTLS" diagnose -h localhost -p 70000
usage "diagnose -V 4" "$MQTTLS" diagnose -h localhost -V 4
usage "diagnose --tls-version tlsv9" "$MQTTLS" diagnose -h localhost --tls-version tlsv9

# ---- the TARGET options ---------------------------------------------------------------------
dj() { run tgt "${D[@]}" "$@" --json; }
dj --cafile "$ca" --timeout 0.5
t_is "TARGET defaults: -h localhost -p 8883" "$(t_json "$T_TMP/tgt.out" '[j["target"]["host"], j["target"]["port"]]')" '["localhost", 8883]'
dj mqtt://127.0.0.1 --timeout 0.5
t_is "mqtt://HOST: port 1883 by default, plain MQTT" "$(t_json "$T_TMP/tgt.out" '[j["target"]["port"], j["target"].get("tls")]')" '[1883, false]'
mkdir -p "$T_TMP/capath" && cp "$ca" "$T_TMP/capath/" && openssl rehash "$T_TMP/capath" 2>/dev/null
dj -h localhost -p "$pt" --capath "$T_TMP/capath"
t_is "--capath DIR verifies the broker" "$rc" 0
dj -h localhost -p "$pm" --cafile "$ca" --cert "$pki/device1.crt" --key "$pki/device1.key"
t_is "--cert/--key: a broker requiring a client certificate accepts it" "$rc" 0
dj -h localhost -p "$pm" --cafile "$ca"
t_is "... and without them it fails (exit 1)" "$rc" 1
dj -h localhost -p "$pa" --cafile "$ca" -u sensor -P s3cret
t_is "-u/-P: a broker with a password file accepts them" "$rc" 0
dj -h localhost -p "$pa" --cafile "$ca" -u sensor -P wrong
t_is "... and a wrong password fails (exit 1)" "$rc" 1
dj -h localhost -p "$pt" --cafile "$ca" -i contract-id-42 -t contract/topic -m hello
t_is "-i/-t/-m: exit 0" "$rc" 0
t_like "... CONNECT used the client id" "$(t_json "$T_TMP/tgt.out" 'j["stages"][4]["detail"]')" 'contract-id-42'
t_like "... the round trip ran under the topic" "$(t_json "$T_TMP/tgt.out" 'j["stages"][5]["detail"]')" 'contract/topic/'
dj -h 127.0.0.1 -p "$pd" --cafile "$ca" --insecure
t_is "--insecure: the host name is not checked (exit 0 on a DNS-only certificate by IP)" "$rc" 0
t_like "... and the risk is said" "$(t_json "$T_TMP/tgt.out" '[f["id"]+":"+f["severity"] for f in j["findings"]]')" 'INSECURE_VERIFY_OFF:warning'
dj -h localhost -p "$pt" --cafile "$other/ca.crt" --insecure
t_is "--insecure: the CA still is checked (exit 1 with another CA)" "$rc" 1
dj -h localhost -p "$pt" --cafile "$other/ca.crt" --no-verify
t_is "--no-verify: nothing is checked (exit 0 with another CA)" "$rc" 0
t_like "... and the risk is said" "$(t_json "$T_TMP/tgt.out" '[f["id"] for f in j["findings"]]')" 'INSECURE_VERIFY_OFF'
dj -h localhost -p "$pt" --cafile "$ca" --tls-version tlsv1.3
t_is "--tls-version tlsv1.3: TLS 1.3 only" "$(t_json "$T_TMP/tgt.out" 'j["tls"]["version"]')" TLSv1.3
dj -h localhost -p "$pt" --cafile "$ca" --tls-version tlsv1.2
t_is "--tls-version tlsv1.2: the lowest offered, 1.3 still negotiated" "$(t_json "$T_TMP/tgt.out" '[j["ok"], j["tls"]["version"]]')" '[true, "TLSv1.3"]'
dj -h localhost -p "$pt" --cafile "$ca" --tls-max tlsv1.2
t_is "--tls-max tlsv1.2: TLS 1.2 at most" "$(t_json "$T_TMP/tgt.out" '[j["ok"], j["tls"]["version"]]')" '[true, "TLSv1.2"]'
dj -h localhost -p "$pt" --cafile "$ca" -V 5
t_is "-V 5: exit 0" "$rc" 0
t_like "... MQTT 5 was spoken" "$(t_json "$T_TMP/tgt.out" 'j["stages"][4]["detail"]')" 'MQTT 5'
dj -h localhost -p "$pt" --cafile "$ca" -V 311
t_like "-V 311: MQTT 3.1.1" "$(t_json "$T_TMP/tgt.out" 'j["stages"][4]["detail"]')" 'MQTT 3\.1\.1'
dj -h localhost -p "$pt" --cafile "$ca" --sni localhost.example --insecure
t_is "--sni NAME is the name sent" "$(t_json "$T_TMP/tgt.out" 'j["tls"]["sni"]')" localhost.example
dj "mqtts://localhost:$pt" --cafile "$ca"
t_is "mqtts://HOST:PORT: exit 0" "$rc" 0
t_is "... TLS to that port" "$(t_json "$T_TMP/tgt.out" '[j["target"]["port"], j["tls"]["version"] is not None]')" "[$pt, true]"
dj "mqtt://127.0.0.1:$pp"
t_is "mqtt://HOST:PORT: plain MQTT passes (exit 0)" "$rc" 0
t_is "... no TLS stage applies" "$(t_json "$T_TMP/tgt.out" '[j["ok"], j["stages"][2]["status"]]')" '[true, "skipped"]'
run pasted "$MQTTLS" diagnose mosquitto_pub -h localhost -p "$pt" --cafile "$ca" -t contract/pasted -m hi -q 1 --json
t_is "a pasted mosquitto_pub line after diagnose: exit 0" "$rc" 0
run pasted "$MQTTLS" mosquitto_sub -h localhost -p "$pt" --cafile "$ca" -t 'contract/#' -v --json
t_is "a pasted mosquitto_sub line alone is diagnosed: exit 0" "$rc" 0
shape diagnose "$T_TMP/pasted.out" "... with the contract's shape"

# ---- inspect --------------------------------------------------------------------------------
run insp "$MQTTLS" inspect -h localhost -p "$pt" --cafile "$ca" --json
t_is "inspect, healthy broker: exit 0" "$rc" 0
shape inspect "$T_TMP/insp.out" "inspect --json has the diagnose shape"
t_is "... version, cipher, group" "$(t_json "$T_TMP/insp.out" '[bool(j["tls"][k]) for k in ("version", "cipher", "group")]')" '[true, true, true]'
t_is "... the same chain fields as diagnose" "$(t_json "$T_TMP/insp.out" 'sorted(j["chain"][0])')" \
	"$(t_json "$T_TMP/healthy.out" 'sorted(j["chain"][0])')"
run insp2 "$MQTTLS" inspect -h localhost -p "$pt" --cafile "$other/ca.crt" --json
t_is "inspect with another CA: exit 1" "$rc" 1
shape inspect "$T_TMP/insp2.out" "... with the diagnose shape"
t_is "... the same finding fields as diagnose" "$(t_json "$T_TMP/insp2.out" 'sorted(set(k for f in j["findings"] for k in ("id","severity","title","detail","fix") if k in f))')" \
	'["detail", "fix", "id", "severity", "title"]'
run insp3 "$MQTTLS" inspect -h localhost -p "$pt" --cafile "$ca"
t_like "inspect prints every field the contract names" "$(cat "$T_TMP/insp3.out")" \
	'subject.*|issuer.*|serial|valid|SAN|key|signature|key usage|EKU|CA  |SHA-256'
for f in subject issuer serial valid 'SAN DNS' 'SAN IP' key signature 'key usage' EKU 'CA ' SHA-256; do
	grep -q "^  $f" "$T_TMP/insp3.out" || t_fail "inspect prints '$f'"
done
t_pass "inspect prints subject, issuer, serial, validity, SANs, key, signature, key usage, EKU, CA, SHA-256"
usage "inspect of mqtt://" "$MQTTLS" inspect "mqtt://127.0.0.1:$pp"
usage "inspect with an unknown flag" "$MQTTLS" inspect --no-such-flag

# ---- lint-conf ------------------------------------------------------------------------------
printf 'listener 18883 127.0.0.1\nallow_anonymous true\n%s' "$(tls broker)" >"$T_TMP/good.conf"
run lint "$MQTTLS" lint-conf "$T_TMP/good.conf" --json
t_is "lint-conf of a good configuration: exit 0" "$rc" 0
shape lint-conf "$T_TMP/lint.out" "lint-conf --json has the chain and findings shapes"
t_is "... the chain of its certfile" "$(t_json "$T_TMP/lint.out" 'len(j["chain"])')" 2
t_is "... the chain has diagnose's fields" "$(t_json "$T_TMP/lint.out" 'sorted(j["chain"][0])')" "$(t_json "$T_TMP/healthy.out" 'sorted(j["chain"][0])')"
run lint2 "$MQTTLS" lint-conf "$T_TMP/noanon.conf" --json
t_is "lint-conf of a listener that refuses everyone: exit 1" "$rc" 1
shape lint-conf "$T_TMP/lint2.out" "... with the contract's shapes"
t_is "... an error finding" "$(t_json "$T_TMP/lint2.out" '[f["id"] for f in j["findings"] if f["severity"] == "error"]')" '["CONF_ANONYMOUS_UNSET"]'
run lint3 "$MQTTLS" lint-conf "$T_TMP/no-such.conf"
t_is "lint-conf of a missing file: exit 1" "$rc" 1
t_is "... one line" "$(wc -l <"$T_TMP/lint3.err")" 1
usage "lint-conf without FILE" "$MQTTLS" lint-conf
usage "lint-conf with an unknown flag" "$MQTTLS" lint-conf "$T_TMP/good.conf" --no-such-flag

# ---- certs ----------------------------------------------------------------------------------
run show "$MQTTLS" certs show "$pki/broker-fullchain.crt" --json
t_is "certs show --json: exit 0" "$rc" 0
shape chain "$T_TMP/show.out" "certs show --json is the contract's chain array"
t_is "... with diagnose's fields" "$(t_json "$T_TMP/show.out" 'sorted(j[0])')" "$(t_json "$T_TMP/healthy.out" 'sorted(j["chain"][0])')"
before=$(sha256sum "$pki"/*.crt "$pki"/*.key)
run again "$MQTTLS" certs init --dir "$pki"
t_is "certs init over an existing PKI: exit 1" "$rc" 1
t_is "... and nothing was replaced" "$(sha256sum "$pki"/*.crt "$pki"/*.key)" "$before"
run esp "$MQTTLS" certs export-esp32 "$ca"
t_is "certs export-esp32: exit 0" "$rc" 0
t_like "... an Arduino const char* literal" "$(cat "$T_TMP/esp.out")" '^const char \*root_ca =$'
t_is "... one quoted line per PEM line, each ending \\n" \
	"$(grep -c '^"[^"]*\\n"' "$T_TMP/esp.out")" "$(grep -c . "$ca")"
run list "$MQTTLS" certs broken --list
t_is "certs broken --list names the ten kinds" "$(awk '{print $1}' "$T_TMP/list.out" | tr '\n' ' ')" \
	"expired not-yet-valid no-san dns-only wrong-eku other-ca same-name-ca self-signed weak-rsa-1024 sha1 "
usage "certs with no subcommand" "$MQTTLS" certs
usage "certs broken of an unknown kind" "$MQTTLS" certs broken no-such-kind --dir "$pki"
usage "certs server with a NAME that cannot name a file" "$MQTTLS" certs server ../evil --dir "$pki"

# ---- explain --------------------------------------------------------------------------------
run ex "$MQTTLS" explain rc=-2
t_is "explain TEXT it knows: exit 0" "$rc" 0
run ex "$MQTTLS" explain "nothing anyone would print"
t_is "explain TEXT it does not know: exit 1" "$rc" 1
t_like "... and says so" "$(cat "$T_TMP/ex.out")" 'does not recognise'
for text in rc=-2 -0x2700 error:0A000086 "Client <unknown> disconnected: Protocol error." 0x801A; do
	run ex "$MQTTLS" explain -- "$text"
	t_is "explain '$text': recognised" "$rc" 0
done
usage "explain with nothing to explain" "$MQTTLS" explain

# ---- lab ------------------------------------------------------------------------------------
run lablist "$MQTTLS" lab list
t_is "lab list: exit 0" "$rc" 0
t_is "... lab 0 (the built-in broker) to 13" "$(awk '{print $1}' "$T_TMP/lablist.out" | tr '\n' ' ')" "0 1 2 3 4 5 6 7 8 9 10 11 12 13 "
run labstart "$MQTTLS" lab start basic
t_is "lab start basic: exit 0" "$rc" 0
lport=$(t_json "$(printf '%s' "$MQTTLS_STATE_DIR/labs/basic/state.json")" 'j["port"]')
run labdiag "${D[@]}" -h localhost -p "$lport" --cafile "$MQTTLS_STATE_DIR/pki/ca.crt" --json
t_is "... a real broker answers, with the lab CA" "$rc" 0
run labcheck "$MQTTLS" lab check basic
t_is "lab check of the reference lab (nothing to check): exit 1, one line" "$rc:$(wc -l <"$T_TMP/labcheck.err")" "1:1"
run labstop "$MQTTLS" lab stop
t_is "lab stop: exit 0" "$rc" 0
(exec 3<>"/dev/tcp/127.0.0.1/$lport") 2>/dev/null && t_fail "... nothing listens on its port any more" || t_pass "... nothing listens on its port any more"
usage "lab start of a lab that does not exist" "$MQTTLS" lab start no-such-lab
usage "lab with no subcommand" "$MQTTLS" lab

# ---- tui ------------------------------------------------------------------------------------
run tui "$MQTTLS" tui -h localhost -p "$pt" --cafile "$ca"
t_is "tui without a terminal: exit 1" "$rc" 1
t_like "... and one sentence on what to use instead" "$(cat "$T_TMP/tui.err")" "needs a terminal.*mqttls diagnose"
usage "tui with an unknown flag" "$MQTTLS" tui --no-such-flag

# ---- device ---------------------------------------------------------------------------------
leaf_pin=$(openssl x509 -in "$pki/broker.crt" -outform DER | sha256sum | cut -d' ' -f1)
t_mc sub --port "$pt" --cafile "$ca" --client-id contract-watch --topic contract/dev --count 3 --timeout 20 \
	--ready-file "$T_TMP/sub.ready" >"$T_TMP/sub.json" &
sp=$!
for _ in $(seq 1 250); do [ -f "$T_TMP/sub.ready" ] && break; sleep 0.02; done
run dev "$MQTTLS" device -h localhost -p "$pt" --cafile "$ca" -t contract/dev -m reading --count 3 --interval 0.1
t_is "device --cafile (setCACert): every message published, exit 0" "$rc" 0
wait "$sp"
t_is "... -t, -m and --count: a real subscriber got them" "$(t_json "$T_TMP/sub.json" '[m[:2] for m in j["messages"]]')" \
	'[["contract/dev", "reading"], ["contract/dev", "reading"], ["contract/dev", "reading"]]'
run dev "$MQTTLS" device -h localhost -p "$pt" --verify --cafile "$ca"
t_is "device --verify --cafile: exit 0" "$rc" 0
run dev "$MQTTLS" device -h localhost -p "$pt" --cafile "$other/ca.crt"
t_is "device --cafile with another CA: the verification fails, exit 1" "$rc" 1
t_like "... PubSubClient's rc=-2, as a serial monitor shows" "$(cat "$T_TMP/dev.out")" 'failed, rc=-2'
run dev "$MQTTLS" device -h localhost -p "$pt" --capath "$T_TMP/capath" --qos 1
t_is "device --capath DIR (a TARGET option) verifies with those CAs, --qos 1: exit 0" "$rc" 0
t_like "... each publish waited for its PUBACK" "$(cat "$T_TMP/dev.out")" 'PUBACK received'
run dev "$MQTTLS" device -h localhost -p "$pt" --capath "$other" --tls-max tlsv1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256
t_is "device --capath of another CA: exit 1" "$rc" 1
run dev "$MQTTLS" device -h localhost -p "$pt" --cafile "$ca" --tls-max tlsv1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256
t_like "device --ciphers is what is offered" "$(cat "$T_TMP/dev.out")" 'TLSv1\.2 ECDHE-ECDSA-AES128-GCM-SHA256'
run dev "$MQTTLS" device -h localhost -p "$pt" --no-verify
t_is "device --no-verify (setInsecure) accepts any broker: exit 0" "$rc" 0
run dev "$MQTTLS" device -h localhost -p "$pt" --insecure
t_is "device --insecure is the same: exit 0" "$rc" 0
run dev "$MQTTLS" device -h localhost -p "$pt" --pin "$leaf_pin"
t_is "device --pin SHA256 of the broker's certificate: exit 0" "$rc" 0
run dev "$MQTTLS" device -h localhost -p "$pt" --pin "$(printf '%064d' 0)"
t_is "device --pin of another certificate: exit 1" "$rc" 1
run dev "$MQTTLS" device -h localhost -p "$pa" --cafile "$ca" -u sensor -P wrong
t_is "device refused by CONNACK: exit 1" "$rc" 1
usage "device without a way to check the broker" "$MQTTLS" device -h localhost -p "$pt"
usage "device --count that is not a number" "$MQTTLS" device -h localhost -p "$pt" --no-verify --count many
usage "device --interval nan" "$MQTTLS" device -h localhost -p "$pt" --no-verify --interval nan

# ---- capture --------------------------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
	"$MQTTLS" capture -i lo --port "$pt" --port "$pp" --port "$pd" --json -w "$T_TMP/live.pcap" \
		>"$T_TMP/live.jsonl" 2>"$T_TMP/live.err" &
	cap=$!
	T_PIDS+=("$cap")
	for _ in $(seq 1 100); do grep -q "listening on lo" "$T_TMP/live.err" 2>/dev/null && break; sleep 0.05; done
	sleep 0.3
	# TLS 1.2 (the broker's chain is readable), a client rejecting the broker's CA, plaintext
	# with credentials, and a connection that never says anything.
	OPENSSL_CONF=$src/tests/pcap/openssl-tls12.cnf mosquitto_pub -h localhost -p "$pt" --cafile "$ca" -t contract/cap -m tls12 -q 1
	OPENSSL_CONF=$src/tests/pcap/openssl-tls12.cnf mosquitto_pub -h localhost -p "$pd" --cafile "$other/ca.crt" -t contract/cap -m no >/dev/null 2>&1
	mosquitto_pub -h 127.0.0.1 -p "$pp" -u alice -P plain-secret -i plain-dev -t contract/plain -m open -q 1
	# A connection still open, silent, when the capture ends: its flow is incomplete.
	"$T_PY" -c 'import socket,sys,time; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); time.sleep(5)' "$pp" &
	holder=$!
	T_PIDS+=("$holder")
	sleep 0.5
	kill -INT "$cap"
	wait "$cap"
	t_is "capture -i lo, ended by Ctrl-C: exit 0" "$?" 0
	kill "$holder" 2>/dev/null
	shape capture "$T_TMP/live.jsonl" "capture --json (live) has the contract's JSON Lines shape"
	run replay "$MQTTLS" capture -r "$T_TMP/live.pcap" --port "$pt" --port "$pp" --port "$pd" --json
	t_is "capture -r of the -w file: exit 0" "$rc" 0
	shape capture "$T_TMP/replay.out" "capture -r --json has the contract's JSON Lines shape"
	t_is "... the -w file holds what was seen live" "$(t_jsonl "$T_TMP/replay.out" 'sorted((e["flow"], e["type"]) for e in L if e["type"] != "tcp_close")')" \
		"$(t_jsonl "$T_TMP/live.jsonl" 'sorted((e["flow"], e["type"]) for e in L if e["type"] != "tcp_close")')"
	J=$T_TMP/replay.out
	for ty in client_hello server_hello certificate alert mqtt_connect mqtt_connack mqtt_publish flow_summary; do
		t_is "... an event of type $ty" "$(t_jsonl "$J" "len(evs(\"$ty\")) > 0")" true
	done
	t_is "... the outcomes tls_ok, tls_failed, plaintext_mqtt and incomplete" \
		"$(t_jsonl "$J" 'sorted(set(e["outcome"] for e in evs("flow_summary")))')" '["incomplete", "plaintext_mqtt", "tls_failed", "tls_ok"]'
	t_is "... flows name the client side first" \
		"$(t_jsonl "$J" 'all(e["flow"].split("->")[1].rsplit(":",1)[1] in ("'"$pt"'","'"$pp"'","'"$pd"'") for e in L)')" true
	t_is "... the client rejected the broker's CA: alert from client, unknown_ca" \
		"$(t_jsonl "$J" '[(e["from"], e["description"]) for e in evs("alert")][:1]')" '[["client", "unknown_ca"]]'
	t_is "... plaintext credentials" "$(t_jsonl "$J" '[ev("mqtt_connect")[k] for k in ("client_id", "username", "password", "protocol")]')" \
		'["plain-dev", "alice", "plain-secret", "3.1.1"]'
	t_is "... CONNACK code and meaning" "$(t_jsonl "$J" '[ev("mqtt_connack")["code"], bool(ev("mqtt_connack")["meaning"])]')" '[0, true]'
	t_is "... PUBLISH topic and payload" "$(t_jsonl "$J" '[ev("mqtt_publish")["topic"], ev("mqtt_publish")["payload"]]')" '["contract/plain", "open"]'
	t_is "... TLS 1.2: the broker's chain is the leaf and the intermediate" \
		"$(t_jsonl "$J" 'ev("certificate")["chain"][0]["sha256"]')" "$(openssl x509 -in "$pki/broker.crt" -noout -fingerprint -sha256 | cut -d= -f2)"
	run count "$MQTTLS" capture -r "$T_TMP/live.pcap" --port "$pt" --count 3 --stats --json
	t_is "capture --count N --stats: exit 0" "$rc" 0
	t_is "... N packets read" "$(t_jsonl "$T_TMP/count.out" '[e for e in L if e.get("type") == "stats"][0]["packets"]')" 3
	run dur "$MQTTLS" capture -i lo --port "$pt" --duration 0.5
	t_is "capture -i --duration SEC ends by itself: exit 0" "$rc" 0
	before=$(sha256sum "$T_TMP/live.pcap")
	run w "$MQTTLS" capture -r "$T_TMP/live.pcap" -w "$T_TMP/live.pcap"
	t_is "capture -w over an existing file without --force: exit 1" "$rc" 1
	t_is "... and the file is untouched" "$(sha256sum "$T_TMP/live.pcap")" "$before"
	run w "$MQTTLS" capture -r "$T_TMP/live.pcap" -w "$T_TMP/copy.pcap"
	run w2 "$MQTTLS" capture -r "$T_TMP/live.pcap" -w "$T_TMP/copy.pcap" --force
	t_is "... with --force it is replaced: exit 0" "$rc" 0
else
	t_skip "live capture needs root"
fi
usage "capture without a source" "$MQTTLS" capture
usage "capture with two sources" "$MQTTLS" capture -i lo -r "$T_TMP/x.pcap"
usage "capture --port 0" "$MQTTLS" capture -r "$T_TMP/x.pcap" --port 0
usage "capture --count 0" "$MQTTLS" capture -r "$T_TMP/x.pcap" --count 0
usage "capture --duration nan" "$MQTTLS" capture -r "$T_TMP/x.pcap" --duration nan

# ---- mitm -----------------------------------------------------------------------------------
mp=$(t_free_port)
t_mitm relay --listen "127.0.0.1:$mp" --upstream "localhost:$pt" --upstream-cafile "$ca" \
	--inject contract/cmd=open --duration 120 || { t_fail "mitm relay starts"; t_done; exit 1; }
t_like "mitm: the first line on stderr says INSECURE LAB MITM" "$(head -1 "$T_TMP/relay.err")" '^INSECURE LAB MITM'
t_like "... so does the forged certificate's organisation" "$(t_log relay 'pick(ev, "listening")[0]["forged_subject"]')" 'O=INSECURE LAB MITM'
t_is "... the log is mode 0600" "$(stat -c %a "$T_TMP/relay.jsonl")" 600
t_mc sub --port "$pt" --cafile "$ca" --client-id real-watch --topic contract/relay --count 2 --timeout 20 \
	--ready-file "$T_TMP/rs.ready" >"$T_TMP/rs.json" &
rsp=$!
for _ in $(seq 1 250); do [ -f "$T_TMP/rs.ready" ] && break; sleep 0.02; done
out=$(t_mc pub --port "$mp" --verify none --user victim --password hunter2 --client-id victim-1 \
	--topic contract/relay --prefix r --count 2 --qos 1 --expect contract/cmd)
t_is "a victim that does not verify is accepted and relayed (CONNACK 0, both acked)" "$(echo "$out" | t_json - '[j["rc"], j["acked"]]')" "[0, 2]"
t_is "... and receives the injection" "$(echo "$out" | t_json - 'j["injected"]')" '[["contract/cmd", "open"]]'
wait "$rsp"
t_is "... the real broker still gets every message" "$(t_json "$T_TMP/rs.json" '[m[1] for m in j["messages"]]')" '["r-0", "r-1"]'
mosquitto_pub -h localhost -p "$mp" --cafile "$ca" -t contract/relay -m nope >/dev/null 2>&1
t_wait_log relay 'count(ev, "handshake", result="rejected") == 1' || true
t_mitm_stop relay
t_is "mitm stopped by SIGTERM: exit 0 (no leak)" "$T_MITM_RC" 0
shape mitm-log "$T_TMP/relay.jsonl" "mitm --json-log has the contract's event shapes"
t_is "... handshake accepted" "$(t_log relay 'count(ev, "handshake", result="accepted")')" 1
t_is "... handshake rejected with the alert the victim sent" "$(t_log relay '[e["alert"] for e in pick(ev, "handshake", result="rejected")]')" '["unknown_ca"]'
t_is "... connect with the credentials" "$(t_log relay '[[e[k] for k in ("client_id", "username", "password")] for e in pick(ev, "connect")]')" \
	'[["victim-1", "victim", "hunter2"]]'
t_is "... publish device_to_broker" "$(t_log relay '[e["payload"] for e in pick(ev, "publish", dir="device_to_broker")]')" '["r-0", "r-1"]'
t_is "... inject" "$(t_log relay '[[e["topic"], e["payload"]] for e in pick(ev, "inject")]')" '[["contract/cmd", "open"]]'
t_is "... every event names its client" "$(t_log relay 'all(isinstance(e["client"], str) for e in ev if e["event"] in ("handshake", "connect", "publish", "inject"))')" true

# --forge ca:CERT,KEY and --duration: the forgery is signed by the CA given, and the run ends by itself.
mp2=$(t_free_port)
run forge "$MQTTLS" mitm --listen "127.0.0.1:$mp2" --forge "ca:$pki/intermediate.crt,$pki/intermediate.key" \
	--json-log "$T_TMP/forge.jsonl" --duration 1
t_is "mitm --forge ca:CERT,KEY --duration 1: exit 0" "$rc" 0
t_like "... the forgery is issued by that CA" "$(t_log forge 'pick(ev, "listening")[0]["forged_issuer"]')" 'CN=mqttls lab intermediate CA'
before=$(sha256sum "$T_TMP/forge.jsonl")
run forge2 "$MQTTLS" mitm --listen "127.0.0.1:$mp2" --json-log "$T_TMP/forge.jsonl" --duration 1
t_is "mitm --json-log over an existing file without --force: exit 1" "$rc" 1
t_is "... and the file is untouched" "$(sha256sum "$T_TMP/forge.jsonl")" "$before"
usage "mitm without --listen" "$MQTTLS" mitm
usage "mitm --listen without its value" "$MQTTLS" mitm --listen
usage "mitm --inject without =" "$MQTTLS" mitm --listen "127.0.0.1:$mp2" --inject topic-only
usage "mitm --forge of an unknown kind" "$MQTTLS" mitm --listen "127.0.0.1:$mp2" --forge other
usage "mitm with an unknown flag" "$MQTTLS" mitm --listen "127.0.0.1:$mp2" --no-such-flag
run refuse "$MQTTLS" mitm --listen "0.0.0.0:$mp2"
t_is "mitm --listen 0.0.0.0 without --lab-bind is refused: exit 1" "$rc" 1
t_is "... after the banner, one line" "$(tail -n +2 "$T_TMP/refuse.err" | wc -l)" 1

t_done
