#!/usr/bin/env bash
# Instructor mode (lab start NAME --lab-bind CIDR): the lab serves a classroom LAN on this
# machine's address in a private range, checked by the MITM gate's own rules, prints that address
# for the devices and puts it in the sketch. The "classroom" is a network namespace this test
# makes, its interface holding 10.203.7.1/24 (on its own lo: no module needed), always removed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_netns labtest 10.203.7.1/24 || { t_done; exit 0; }

out=$("${IN[@]}" "$MQTTLS" lab start confusion --lab-bind 8.8.8.0/24 2>&1)
t_is "a public range is refused" "$?" 1
t_like "... by the MITM gate's rule" "$out" "private|link-local|ULA"
out=$("${IN[@]}" "$MQTTLS" lab start confusion --lab-bind 192.168.99.0/24 2>&1)
t_is "a range with no address of this machine is refused" "$?" 1
t_like "... saying which addresses it has" "$out" "no address of this machine lies in 192\.168\.99\.0/24 \(it has 10\.203\.7\.1"
t_exit "--lab-bind without a value is a usage error" 2 "$MQTTLS" lab start confusion --lab-bind

out=$("${IN[@]}" "$MQTTLS" lab start confusion --lab-bind 10.203.7.0/24 2>&1)
t_is "lab start --lab-bind 10.203.7.0/24 exits 0" "$?" 0
st=$("${IN[@]}" "$MQTTLS" lab status confusion --json)
port=$(echo "$st" | t_json - 'j[0]["port"]')
t_is "the devices' address is the classroom one" "$(echo "$st" | t_json - 'j[0]["ip"]')" 10.203.7.1
t_like "start prints it for the devices" "$out" "devices on the classroom LAN \(10\.203\.7\.0/24\) connect to 10\.203\.7\.1:$port"
t_ok "the broker listens on the classroom address" "${IN[@]}" bash -c "exec 3<>/dev/tcp/10.203.7.1/$port"
t_unlike "... and not on loopback" "$("${IN[@]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && echo open" 2>/dev/null)" open
t_like "the sketch connects to it" "$("${IN[@]}" "$MQTTLS" lab sketch confusion | grep '^const char \*mqtt_host')" '"10\.203\.7\.1"'
t_unlike "... without the loopback warning" "$("${IN[@]}" "$MQTTLS" lab sketch confusion)" "That is a loopback address"

"${IN[@]}" "$MQTTLS" lab check confusion --json >"$T_TMP/c.json"
t_is "the check runs on the classroom address and fails as it should" \
	"$(t_json "$T_TMP/c.json" '[c["finding"] for c in j["checks"] if not c["pass"]]')" '["INSECURE_VERIFY_OFF"]'
t_like "... the rogue listened there too" "$(t_json "$T_TMP/c.json" 'j["checks"][0]["command"]')" "--listen 10\.203\.7\.1:"
sed -i 's/^verify  ca-only/verify  ca/' "$(echo "$st" | t_json - 'j[0]["workdir"]')/device.conf"
t_ok "after the fix the check passes" "${IN[@]}" "$MQTTLS" lab check confusion
out=$("${IN[@]}" "$MQTTLS" lab start confusion 2>&1)
t_like "a running classroom lab is reused" "$out" "already running \(reused\)"
pid=$(echo "$st" | t_json - 'j[0]["pid"]')
t_ok "lab stop exits 0" "${IN[@]}" "$MQTTLS" lab stop confusion
t_unlike "no broker is left" "$(lab_alive "$pid" && echo alive)" alive
t_is "no process is left in the classroom namespace" "$(ip netns pids "$NSNAME" | wc -l)" 0
lab_netns_del
t_unlike "the namespace is gone" "$(ip netns list)" "$NSNAME"
t_done
