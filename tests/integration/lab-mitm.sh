#!/usr/bin/env bash
# mqttls lab start mitm / stop: the whole demonstration on one machine — the real broker, the
# rogue relay in front of it, a device that does not verify (its password, readings and the
# injected command all show), one that does (refused with unknown_ca), a dashboard on the real
# broker that still gets the readings — and a stop that leaves no process and no port behind.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../mitm-lib.sh"

DIR=$MQTTLS_STATE_DIR/labs/mitm
wait_file() { # FILE REGEX: up to 20 s
	for _ in $(seq 1 1000); do grep -qE -- "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done
	return 1
}
companion_pids() { sed -n 's/.*"pid":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$DIR/companions.json" 2>/dev/null; }

t_like "lab list shows the MITM lab" "$("$MQTTLS" lab list)" 'mitm +setInsecure\(\) vs setCACert\(\)'
out=$("$MQTTLS" lab start mitm 2>&1)
t_is "lab start mitm exits 0" "$?" "0"
t_like "it names the rogue relay and says what it is" "$out" 'INSECURE LAB MITM: the rogue relay listens on 127\.0\.0\.1:[0-9]+'
t_like "it explains how the devices are pointed at the rogue" "$out" 'never.*spoofs ARP or DNS|spoofs ARP or DNS'
mp=$(echo "$out" | sed -n 's/.*rogue relay listens on 127\.0\.0\.1:\([0-9]*\).*/\1/p')
bp=$(echo "$out" | sed -n "s/.*TLS on localhost:\([0-9]*\) .*/\1/p" | head -n1)
t_like "four companions are recorded" "$(companion_pids | wc -l)" '^4$'
for pid in $(companion_pids); do
	t_is "companion $pid is a running mqttls" "$(cat "/proc/$pid/comm" 2>/dev/null)" "mqttls"
done

t_ok "the insecure device's password reaches the attacker's log" wait_file "$DIR/mitm.jsonl" '"event":"connect".*"client_id":"esp32-insecure".*"password":"tomato-42"'
t_ok "... its readings too" wait_file "$DIR/mitm.jsonl" '"event":"publish".*"dir":"device_to_broker".*"topic":"lab/esp32-insecure/temp"'
t_ok "the injected command reaches the insecure device" wait_file "$DIR/esp32-insecure.log" 'Message arrived \[lab/esp32-insecure/cmd\] unlock-the-door'
t_ok "the verifying device refuses the rogue with unknown_ca" wait_file "$DIR/mitm.jsonl" '"event":"handshake".*"result":"rejected","alert":"unknown_ca"'
t_ok "... and its serial monitor shows rc=-2" wait_file "$DIR/esp32-verify.log" 'failed, rc=-2 try again in 5 seconds'
t_ok "the dashboard on the real broker still gets the readings" wait_file "$DIR/dashboard.log" 'Message arrived \[lab/esp32-insecure/temp\]'
t_unlike "nothing from the verifying device was captured" "$(cat "$DIR/mitm.jsonl")" '"client_id":"esp32-verify"'
t_is "the attacker's log is mode 0600" "$(stat -c %a "$DIR/mitm.jsonl")" "600"
t_like "the relay's terminal log starts with the banner" "$(head -n1 "$DIR/mitm.log")" '^INSECURE LAB MITM'

# A device of the student's own, as the lab text suggests.
out=$("$MQTTLS" device -h localhost -p "$mp" --no-verify -u student -P my-secret -m hi 2>&1)
t_is "a student's own insecure device is accepted by the rogue" "$?" "0"
t_ok "... and the student sees their own password in the log" wait_file "$DIR/mitm.jsonl" '"password":"my-secret"'

out=$("$MQTTLS" lab start mitm 2>&1)
t_like "a second start reuses the running lab" "$out" 'already running \(reused\)'
t_like "... with the same relay" "$out" "127\\.0\\.0\\.1:$mp"
t_like "lab status mitm shows the companions" "$("$MQTTLS" lab status mitm)" 'esp32-verify +running'

# One companion dies: the next start replaces the whole set.
kill "$(companion_pids | tail -n1)"
sleep 0.3
t_like "status shows a companion that died" "$("$MQTTLS" lab status mitm)" 'NOT running'
"$MQTTLS" lab start mitm >/dev/null 2>&1
t_is "start brings the set back" "$(for p in $(companion_pids); do cat "/proc/$p/comm" 2>/dev/null; echo; done | grep -c mqttls)" "4"

pids="$(companion_pids) $(sed -n 's/.*"pid":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$DIR/state.json")"
out=$("$MQTTLS" lab stop 2>&1)
t_is "lab stop (every lab) exits 0" "$?" "0"
left=""
for pid in $pids; do
	[ -r "/proc/$pid/stat" ] && ! grep -q ') Z ' "/proc/$pid/stat" && left="$left $pid"
done
t_is "no process of the lab is left" "$left" ""
# (connections just closed linger in TIME_WAIT, so "free" means: nothing listens there any more)
listens() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
t_exit "nothing listens on the relay's port any more" 1 listens "$mp"
t_exit "nothing listens on the broker's port any more" 1 listens "$bp"
t_unlike "the companions record is gone" "$(ls "$DIR")" 'companions\.json'
t_like "the relay stopped cleanly (its log ends with the stop)" "$(tail -n1 "$DIR/mitm.log")" 'stopped: terminated'
t_like "the relay's JSON log ends with the stop" "$(tail -n1 "$DIR/mitm.jsonl")" '"event":"stopped"'
t_unlike "no companion was killed with a leak report" "$(cat "$DIR"/*.log)" 'LeakSanitizer|AddressSanitizer'
t_like "a second stop says nothing was running" "$("$MQTTLS" lab stop mitm)" 'was not running'
t_done
