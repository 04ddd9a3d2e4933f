#!/usr/bin/env bash
# Instructor mode for the MITM lab (lab start mitm --lab-bind CIDR): the real broker and the rogue
# relay listen on this machine's classroom address, the relay is told the range so its own gate
# admits nothing outside it, the simulated devices and the dashboard work there, the student's
# check runs its rogue there, and stop leaves nothing. The "classroom" is a network namespace
# this test makes (10.203.8.1/24 on its own lo, plus 192.0.2.1 as an address outside the range
# to connect from), always removed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_netns labmitm 10.203.8.1/24 192.0.2.1/32 || { t_done; exit 0; }
DIR=$MQTTLS_STATE_DIR/labs/mitm
wait_file() { # FILE REGEX: up to 20 s
	for _ in $(seq 1 1000); do grep -qE -- "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done
	return 1
}
companion_pids() { sed -n 's/.*"pid":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$DIR/companions.json" 2>/dev/null; }

out=$("${IN[@]}" "$MQTTLS" lab start mitm --lab-bind 8.8.8.0/24 2>&1)
t_is "a public range is refused" "$?" 1
t_like "... by the MITM gate's rule" "$out" "private|link-local|ULA"
t_unlike "... before anything started" "$(ls "$DIR" 2>/dev/null)" 'companions\.json|state\.json'

out=$("${IN[@]}" "$MQTTLS" lab start mitm --lab-bind 10.203.8.0/24 2>&1)
t_is "lab start mitm --lab-bind 10.203.8.0/24 exits 0" "$?" 0
st=$("${IN[@]}" "$MQTTLS" lab status mitm --json)
bp=$(echo "$st" | t_json - 'j[0]["port"]')
t_is "the broker serves the classroom address" "$(echo "$st" | t_json - 'j[0]["ip"]')" 10.203.8.1
t_like "the rogue relay listens on the classroom address" "$out" 'INSECURE LAB MITM: the rogue relay listens on 10\.203\.8\.1:[0-9]+ in front of the real broker'
mp=$(echo "$out" | sed -n 's/.*rogue relay listens on 10\.203\.8\.1:\([0-9]*\).*/\1/p')
t_like "start says where real ESP32s meet the rogue" "$out" "a real ESP32 pointed at 10\\.203\\.8\\.1:$mp "
t_like "... and where the broker" "$out" "at 10\\.203\\.8\\.1:$bp, the real broker"
t_like "four companions run beside the broker" "$(companion_pids | wc -l)" '^4$'
rogue=$(companion_pids | head -n1)
t_like "the relay was told the classroom range" "$(tr '\0' ' ' <"/proc/$rogue/cmdline")" \
	"mitm --listen 10\\.203\\.8\\.1:$mp --upstream 10\\.203\\.8\\.1:$bp .* --lab-bind 10\\.203\\.8\\.0/24"
t_ok "the relay answers on the classroom address" "${IN[@]}" bash -c "exec 3<>/dev/tcp/10.203.8.1/$mp"
t_unlike "... and not on loopback" "$("${IN[@]}" bash -c "exec 3<>/dev/tcp/127.0.0.1/$mp && echo open" 2>/dev/null)" open

t_ok "the insecure device, on the classroom address, hands the rogue its password" \
	wait_file "$DIR/mitm.jsonl" '"event":"connect","ts":[0-9.]+,"client":"10\.203\.8\.1:[0-9]+".*"client_id":"esp32-insecure".*"password":"tomato-42"'
t_ok "... and obeys the injected command" wait_file "$DIR/esp32-insecure.log" 'Message arrived \[lab/esp32-insecure/cmd\] unlock-the-door'
t_ok "the verifying device refuses the rogue with unknown_ca" wait_file "$DIR/mitm.jsonl" '"result":"rejected","alert":"unknown_ca"'
t_ok "the dashboard on the real broker still gets the readings" wait_file "$DIR/dashboard.log" 'Message arrived \[lab/esp32-insecure/temp\]'

# A board of the class, pointed at the rogue by its address.
out=$("${IN[@]}" "$MQTTLS" device -h 10.203.8.1 -p "$mp" --no-verify -u esp32-desk7 -P class-secret -m hi 2>&1)
t_is "a classroom device that does not verify is accepted by the rogue" "$?" 0
t_ok "... and its password shows in the attacker's log" wait_file "$DIR/mitm.jsonl" '"password":"class-secret"'
out=$("${IN[@]}" "$MQTTLS" device -h 10.203.8.1 -p "$mp" --cafile "$(echo "$st" | t_json - 'j[0]["cafile"]')" 2>&1)
t_like "one that verifies refuses it" "$out" 'failed, rc=-2'

# The relay's own gate: a device from an address outside the classroom range is turned away.
"${IN[@]}" "$T_PY" -c '
import socket, sys
s = socket.socket()
s.bind(("192.0.2.1", 0))
s.settimeout(5)
s.connect(("10.203.8.1", int(sys.argv[1])))
try:
    s.recv(1)
except OSError:
    pass
' "$mp" 2>/dev/null
t_ok "a device from outside the range is refused by the relay's gate" \
	wait_file "$DIR/mitm.jsonl" '"event":"refused","ts":[0-9.]+,"client":"192\.0\.2\.1:[0-9]+"'
t_unlike "... and never shakes hands" "$(grep '"client":"192\.0\.2\.1' "$DIR/mitm.jsonl")" '"event":"handshake"'

# The student's check: its rogue and its device on the classroom address too.
"${IN[@]}" "$MQTTLS" lab check mitm --json >"$T_TMP/c.json"
t_is "the check fails as it should" "$(t_json "$T_TMP/c.json" '[c["finding"] for c in j["checks"] if not c["pass"]]')" '["INSECURE_VERIFY_OFF"]'
t_like "... its rogue listened on the classroom address, with the range" \
	"$(t_json "$T_TMP/c.json" 'j["checks"][0]["command"]')" "^mqttls mitm --listen 10\\.203\\.8\\.1:[0-9]+ --lab-bind 10\\.203\\.8\\.0/24 & "
sed -i 's/^verify   none/verify   ca/' "$DIR/device.conf"
t_ok "after the fix the check passes" "${IN[@]}" "$MQTTLS" lab check mitm

pids="$(companion_pids) $(echo "$st" | t_json - 'j[0]["pid"]')"
t_ok "lab stop exits 0" "${IN[@]}" "$MQTTLS" lab stop mitm
left=""
for pid in $pids; do lab_alive "$pid" && left="$left $pid"; done
t_is "no process of the lab is left" "$left" ""
t_is "no process is left in the classroom namespace" "$(ip netns pids "$NSNAME" | wc -l)" 0
t_unlike "nothing listens on the relay's port" "$("${IN[@]}" bash -c "exec 3<>/dev/tcp/10.203.8.1/$mp && echo open" 2>/dev/null)" open
t_like "the relay stopped cleanly" "$(tail -n1 "$DIR/mitm.jsonl")" '"event":"stopped"'
t_unlike "no companion reported a leak" "$(cat "$DIR"/*.log)" 'LeakSanitizer|AddressSanitizer'
lab_netns_del
t_unlike "the namespace is gone" "$(ip netns list)" "$NSNAME"
t_done
