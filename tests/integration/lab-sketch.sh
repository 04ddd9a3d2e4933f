#!/usr/bin/env bash
# mqttls lab sketch: for every lab, the Arduino and the ESP-IDF program, each built both ways
# (LAB_INSECURE 0 and 1), syntax-checked as C++ by g++ against the stub headers of
# tests/integration/stubs, with the PEM it embeds equal byte for byte to the lab's own files
# and the broker's address and port filled in.
. "$(dirname "$0")/../lib.sh"

STUBS=$(cd "$(dirname "$0")/stubs" && pwd)
CXXFLAGS=(-std=gnu++17 -fsyntax-only -Wall -Wextra -Werror)

# c_string FILE VAR: the bytes of the C string literal "const char *VAR = ..." in FILE.
c_string() {
	"$T_PY" - "$1" "$2" <<'PY'
import ast, re, sys
text = open(sys.argv[1]).read()
m = re.search(r'const char \*' + re.escape(sys.argv[2]) + r' =\n((?:".*"\n)*?".*";)', text)
if not m:
    sys.exit("no literal " + sys.argv[2])
out = b""
for line in m.group(1).splitlines():
    lit = line.rstrip(";")
    # A C string literal of printable ASCII and \n, \", \\ escapes reads the same in Python.
    out += ast.literal_eval(lit).encode()
sys.stdout.buffer.write(out)
PY
}

# same_bytes DESC FILE_A FILE_B
same_bytes() {
	if cmp -s "$2" "$3"; then t_pass "$1"; else t_fail "$1" "$(cmp "$2" "$3" 2>&1)"; fi
}

# compile DESC FLAVOR FILE LAB_INSECURE
compile() {
	local desc=$1 flavor=$2 file=$3 ins=$4 out
	if [ "$flavor" = arduino ]; then
		out=$(g++ "${CXXFLAGS[@]}" -x c++ -I"$STUBS/arduino" -include Arduino.h -DLAB_INSECURE="$ins" "$file" 2>&1)
	else
		out=$(g++ "${CXXFLAGS[@]}" -x c++ -I"$STUBS/esp-idf" -DLAB_INSECURE="$ins" "$file" 2>&1)
	fi
	if [ -z "$out" ]; then t_pass "$desc"; else t_fail "$desc" "${out:0:3000}"; fi
}

labs=$("$MQTTLS" lab list --json | t_json - '" ".join(l["name"] for l in j if l["number"] > 0)')
t_like "every numbered lab is listed" "$(echo "$labs" | wc -w)" '^1[3-9]$'

out=$("$MQTTLS" lab sketch first-tls 2>&1)
t_exit "a lab that was never started has no sketch yet" 1 "$MQTTLS" lab sketch first-tls
t_like "... and says why" "$out" "embeds its own CA and address \(mqttls lab start first-tls\)"
t_exit "--arduino and --esp-idf together are a usage error" 2 "$MQTTLS" lab sketch first-tls --arduino --esp-idf
t_exit "a sketch of an unknown lab is a usage error" 2 "$MQTTLS" lab sketch nope
t_exit "the built-in broker has no sketch" 1 "$MQTTLS" lab sketch basic

for lab in $labs; do
	if ! "$MQTTLS" lab start "$lab" >"$T_TMP/start-$lab.log" 2>&1; then
		t_fail "lab $lab starts" "$(cat "$T_TMP/start-$lab.log")"
		continue
	fi
	status=$("$MQTTLS" lab status "$lab" --json)
	port=$(echo "$status" | t_json - 'j[0]["port"]')
	ip=$(echo "$status" | t_json - 'j[0]["ip"]')
	def=$MQTTLS_SRC/labs/$(ls "$MQTTLS_SRC/labs" | grep -E "^[0-9]{2}-$lab\$")/lab.def
	ca=$(echo "$status" | t_json - 'j[0]["cafile"]')
	for flavor in arduino esp-idf; do
		f=$T_TMP/$lab-$flavor.cpp
		if ! "$MQTTLS" lab sketch "$lab" --"$flavor" >"$f" 2>"$T_TMP/err"; then
			t_fail "$lab: lab sketch --$flavor" "$(cat "$T_TMP/err")"
			continue
		fi
		compile "$lab: the $flavor sketch compiles as C++" "$flavor" "$f" 0
		if grep -q '^#ifndef LAB_INSECURE' "$f"; then
			compile "$lab: ... and its insecure variant too" "$flavor" "$f" 1
		fi
		c_string "$f" lab_ca >"$T_TMP/embedded.pem"
		same_bytes "$lab: the $flavor sketch embeds the lab's CA byte for byte" "$T_TMP/embedded.pem" "$ca"
		t_like "$lab: ... with the broker's address" "$(grep -E '^const char \*mqtt_host' "$f")" "\"$ip\";"
		t_like "$lab: ... and port" "$(grep -E '^const int mqtt_port' "$f" | tail -1)" "= $port;"
		if grep -q '^cert ' "$def"; then
			c_string "$f" device_cert >"$T_TMP/cert.pem"
			c_string "$f" device_key >"$T_TMP/key.pem"
			dev=$(sed -n 's/^cert *{dir}\/\(.*\)$/\1/p' "$def")
			wd=$(echo "$status" | t_json - 'j[0]["workdir"]')
			same_bytes "$lab: ... and the device certificate" "$T_TMP/cert.pem" "$wd/$dev"
			same_bytes "$lab: ... and its key" "$T_TMP/key.pem" "$wd/${dev%.crt}.key"
		fi
	done
	"$MQTTLS" lab stop "$lab" >/dev/null 2>&1
done

# What each insecure variant really changes.
for pair in "ip-san:net.setInsecure();" "confusion:skip_cert_common_name_check = true" "sniff:WiFiClient net;" \
	"mitm:net.setInsecure();"; do
	lab=${pair%%:*}
	f=$T_TMP/$lab-arduino.cpp
	[ "$lab" = confusion ] && f=$T_TMP/$lab-esp-idf.cpp
	t_like "$lab: the insecure variant does what the lab demonstrates" "$(cat "$f")" "$(printf '%s' "${pair#*:}" | sed 's/[.()*]/\\&/g')"
done
t_like "mtls: the sketch presents the device certificate" "$(cat "$T_TMP/mtls-arduino.cpp")" 'net\.setCertificate\(device_cert\);'
t_like "pinning: the sketch checks the pin before MQTT" "$(cat "$T_TMP/pinning-arduino.cpp")" 'net\.verify\(broker_fingerprint'
t_like "anonymous: the sketch logs in" "$(cat "$T_TMP/anonymous-arduino.cpp")" 'mqtt\.connect\(mqtt_client_id, mqtt_user, mqtt_password\)'
t_like "sniff: the plaintext variant uses the plaintext port" "$(cat "$T_TMP/sniff-esp-idf.cpp")" 'mqtt://%s:%d'

# The stubs catch a sketch that calls what does not exist.
printf '#include <WiFiClientSecure.h>\nWiFiClientSecure n;\nvoid setup() { n.setCACertificate("x"); }\n' >"$T_TMP/bad.ino"
if g++ "${CXXFLAGS[@]}" -x c++ -I"$STUBS/arduino" -include Arduino.h "$T_TMP/bad.ino" >/dev/null 2>&1; then
	t_fail "a sketch calling an API that does not exist fails the check"
else
	t_pass "a sketch calling an API that does not exist fails the check"
fi
t_like "every lab is stopped" "$("$MQTTLS" lab stop)" "No lab was running"
t_done
