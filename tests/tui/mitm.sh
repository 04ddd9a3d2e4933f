#!/usr/bin/env bash
# The MITM view with real victims: the relay starts in front of the built-in lab broker; a
# device that does not verify is accepted and its credentials and messages appear; a verifying
# mosquitto_pub is rejected with its alert; an injected command reaches the subscribed device;
# hostile client ids and topics are shown escaped. q asks before stopping the MITM. Then the
# Labs view: a lab started there makes q ask again, and "stop" really stops it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tui-lib.sh"

tui_start 80 24
tui_wait 'all stages passed' 60 >/dev/null || { t_fail "the built-in lab broker is diagnosed"; t_done; exit 1; }
ca=$(sed -n 's/.*"cafile":[[:space:]]*"\([^"]*\)".*/\1/p' "$MQTTLS_STATE_DIR/labs/basic/state.json")

tui_keys 5
tui_wait 'INSECURE LAB MITM +stopped' 10 >/dev/null
t_like "the MITM view explains itself before it starts" "$(tui_cap)" 's: start the relay in front of localhost:[0-9]+'
tui_keys s
if tui_wait 'INSECURE LAB MITM +running' 20; then t_pass "s starts the MITM"; else t_fail "s starts the MITM"; fi
tui_wait 'listening on 127\.0\.0\.1:[0-9]+' 20 >/dev/null
screen=$(tui_cap)
mport=$(echo "$screen" | sed -n 's/.*victims connect to 127\.0\.0\.1:\([0-9]*\).*/\1/p' | head -1)
t_like "the relay's address is shown" "$mport" '^[0-9]+$'
t_like "the title carries the banner while it runs" "$(echo "$screen" | head -1)" 'INSECURE LAB MITM'
t_like "the forged certificate says what it is" "$screen" 'forged: .*O=INSECURE LAB MITM'

# An insecure device (setInsecure): accepted, its secrets on screen.
"$MQTTLS" device -h 127.0.0.1 -p "$mport" --no-verify -u student -P 's3cret!' -i esp32-kitchen \
	-t lab/kitchen/temp -m '21.5' --count 1 >"$T_TMP/dev1.log" 2>&1
t_is "the insecure device published through the relay" "$?" 0
if tui_wait '#1 +ACCEPTED +user "student" +password "s3cret!"' 20; then
	t_pass "the insecure device is ACCEPTED with its user and password shown"
else
	t_fail "the insecure device is ACCEPTED with its user and password shown"
fi
tui_wait 'device->broker PUBLISH "lab/kitchen/temp" "21\.5"' 20 >/dev/null && t_pass "its message is shown" ||
	t_fail "its message is shown" "$(tui_cap)"

# A verifying client: rejected, with the alert it sent.
timeout 20 mosquitto_pub -h 127.0.0.1 -p "$mport" --cafile "$ca" -t lab/t -m hi >/dev/null 2>&1
if tui_wait '#2 +REJECTED +alert unknown_ca' 20; then t_pass "the verifying client is REJECTED with unknown_ca"; else t_fail "the verifying client is REJECTED with unknown_ca"; fi
t_like "the counts add up" "$(tui_cap)" 'Victims 2: 1 accepted \(captured\), 1 rejected'

# Inject a command to a device that listens for one.
"$MQTTLS" device -h 127.0.0.1 -p "$mport" --no-verify -i esp32-door --subscribe lab/door/cmd \
	-t lab/door/state -m closed --count 0 --interval 0.5 --duration 15 >"$T_TMP/dev2.log" 2>&1 &
T_PIDS+=($!)
dev2=$!
tui_wait 'SUBSCRIBE "lab/door/cmd"' 20 >/dev/null && t_pass "the listening device's SUBSCRIBE is seen" || t_fail "the listening device's SUBSCRIBE is seen"
tui_keys i
tui_wait 'Inject to topic:' 10 >/dev/null
tui_keys C-u
tui_type "lab/door/cmd"
tui_keys Enter
tui_wait 'Payload:' 10 >/dev/null
tui_keys C-u
tui_type "unlock"
tui_keys Enter
tui_wait 'injected to 1 victim' 10 >/dev/null && t_pass "the inject form sends to the subscribed victim" || t_fail "the inject form sends to the subscribed victim" "$(tui_cap)"
tui_wait 'INJECTED -> device "lab/door/cmd" "unlock"' 10 >/dev/null && t_pass "the injection is in the events" || t_fail "the injection is in the events"
for _ in $(seq 1 50); do grep -q unlock "$T_TMP/dev2.log" && break; sleep 0.1; done
t_like "the device received the forged command" "$(cat "$T_TMP/dev2.log")" 'unlock'
kill "$dev2" 2>/dev/null
wait "$dev2" 2>/dev/null

# Hostile bytes from a victim: escaped, the terminal untouched.
title_before=$(tui_flag pane_title)
# (the real broker refuses such a client id; the relay has seen it by then)
"$MQTTLS" device -h 127.0.0.1 -p "$mport" --no-verify -i $'evil\e]2;PWNED\a' -u $'\e[2J' --count 1 >/dev/null 2>&1
"$MQTTLS" device -h 127.0.0.1 -p "$mport" --no-verify -i hostile-topic -t $'lab/\e[31mred' -m $'\e]2;PWNED\a' \
	--count 1 >/dev/null 2>&1
tui_wait 'PUBLISH "lab/\\x1B\[31mred" "\\x1B\]2;PWNED\\x07"' 20 >/dev/null && t_pass "a hostile topic and payload are shown escaped" ||
	t_fail "a hostile topic and payload are shown escaped" "$(tui_cap)"
tui_wait 'evil\\x1B\]2;PWNED\\x07' 20 >/dev/null && t_pass "a hostile client id is shown escaped" || t_fail "a hostile client id is shown escaped" "$(tui_cap)"
screen=$(tui_cap)
t_like "a hostile user name is shown escaped" "$screen" 'user "\\x1B\[2J"'
t_is "the pane title was not changed by a victim" "$(tui_flag pane_title)" "$title_before"
t_like "the screen was not cleared by a victim" "$(echo "$screen" | sed -n 2p)" '1 Connect'

# q asks; n stays; q then y leaves, and the relay is gone.
tui_keys q
tui_wait 'The MITM lab is running; quitting stops it\. Quit\? y/n' 10 >/dev/null && t_pass "q asks before stopping the MITM" || t_fail "q asks before stopping the MITM" "$(tui_cap)"
tui_keys n
tui_gone 'Quit\? y/n' 10 && t_pass "n stays" || t_fail "n stays"
t_like "still running after n" "$(tui_cap)" 'INSECURE LAB MITM +running'
tui_keys x
tui_wait 'INSECURE LAB MITM +stopped' 10 >/dev/null && t_pass "x stops the MITM" || t_fail "x stops the MITM" "$(tui_cap)"
tui_keys s
tui_wait 'INSECURE LAB MITM +running' 10 >/dev/null
tui_wait 'listening on' 10 >/dev/null
mport=$(tui_cap | sed -n 's/.*victims connect to 127\.0\.0\.1:\([0-9]*\).*/\1/p' | head -1)
tui_keys q
tui_wait 'Quit\? y/n' 10 >/dev/null
tui_keys y
tui_wait 'TUI-EXIT=' 30 >/dev/null && t_pass "y quits" || t_fail "y quits" "$(tui_cap)"
t_tui_restored "after the MITM"
t_tui_clean "after the MITM"
if (exec 3<>"/dev/tcp/127.0.0.1/$mport") 2>/dev/null; then t_fail "the relay port is closed after quitting"; else t_pass "the relay port is closed after quitting"; fi

# Labs: a lab started from the Labs view is asked about at q; "stop" stops it.
tui_start 120 40
tui_wait 'all stages passed' 60 >/dev/null
tui_keys 6
# The view asks the lab engine for every lab's state first (a job): wait for it.
tui_wait 'basic +running' 30 >/dev/null
tui_gone 'checking the labs' 30
t_like "the Labs view lists the labs" "$(tui_cap)" '10 mitm'
xy=$(tui_find ' 10 mitm')
tui_click "$(( ${xy% *} + 2 ))" "${xy#* }"
tui_wait 'setInsecure\(\) vs setCACert\(\)' 10 >/dev/null && t_pass "a click selects a lab and shows its text" || t_fail "a click selects a lab" "$(tui_cap)"
tui_keys s
if tui_wait 'lab mitm started' 90; then t_pass "s starts the selected lab"; else t_fail "s starts the selected lab"; fi
tui_wait 'running on localhost' 10 >/dev/null && t_pass "the lab's broker is shown running" || t_fail "the lab's broker is shown running" "$(tui_cap)"
t_like "what the lab runs besides its broker is described" "$(tui_cap)" 'rogue relay listens on 127\.0\.0\.1:[0-9]+'
tui_keys q
tui_wait 'Lab mitm still running \(started here\)\. s: stop and quit +k: keep it, quit +Esc: stay' 10 >/dev/null &&
	t_pass "q asks before leaving a lab running" || t_fail "q asks before leaving a lab running" "$(tui_cap)"
tui_keys Escape
tui_gone 'still running \(started here\)' 10 && t_pass "Esc stays" || t_fail "Esc stays"
tui_keys q
tui_wait 'still running' 10 >/dev/null
tui_keys s
tui_wait 'TUI-EXIT=' 60 >/dev/null && t_pass "s stops the lab, then quits" || t_fail "s stops the lab, then quits" "$(tui_cap)"
t_tui_restored "after the lab"
t_tui_clean "after the lab"
"$MQTTLS" lab status mitm >"$T_TMP/st.txt" 2>&1
t_like "the lab is stopped" "$(cat "$T_TMP/st.txt")" 'is not running'

t_done
