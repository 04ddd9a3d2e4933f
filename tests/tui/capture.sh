#!/usr/bin/env bash
# The Capture view on real traffic: live on lo while real clients talk to real brokers — a
# plaintext CONNECT with a password (called out), a client that rejects the broker's CA (its
# unknown_ca alert highlighted in the ladder, the flow's verdict), a good TLS connection — and
# the same traffic replayed from a pcap file written by mqttls capture -w.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tui-lib.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP live capture needs root"; exit 0; }

pki=$(t_pki) || exit 1
other=$T_TMP/other
"$MQTTLS" certs init --dir "$other" >/dev/null 2>&1
tls=$(t_free_port)
plain=$(t_free_port)
t_broker tls "$tls" "$(t_tls_listener "$tls" "$pki")
allow_anonymous true" || exit 1
t_broker plain "$plain" "listener $plain 127.0.0.1
allow_anonymous true" || exit 1

traffic() {
	mosquitto_pub -h 127.0.0.1 -p "$plain" -u alice -P wonderland -t lab/t -m hello
	timeout 10 mosquitto_pub -h localhost -p "$tls" --cafile "$other/ca.crt" -t lab/t -m x >/dev/null 2>&1
	mosquitto_pub -h localhost -p "$tls" --cafile "$pki/ca.crt" -t lab/t -m ok
}

for size in 80x24 120x40; do
	tui_start "${size%x*}" "${size#*x}" tui -h localhost -p "$tls" --cafile "$pki/ca.crt"
	tui_wait 'all stages passed' 30 >/dev/null
	tui_keys 4
	tui_wait 'Capture +lo ' 10 >/dev/null && t_pass "$size: the Capture view defaults to lo" || t_fail "$size: the Capture view defaults to lo" "$(tui_cap)"
	t_like "$size: the target's port is followed by default" "$(tui_cap)" "ports 1883 8883 $tls"
	tui_keys p C-u
	tui_type "$plain $tls"
	tui_keys Enter s
	if tui_wait 'running +frames' 10; then t_pass "$size: s starts a live capture"; else t_fail "$size: s starts a live capture"; fi
	sleep 0.5
	traffic
	if tui_wait 'flows 3' 20; then t_pass "$size: three flows seen live"; else t_fail "$size: three flows seen live"; fi
	tui_wait '✓ tls_ok' 20 >/dev/null
	screen=$(tui_cap)
	t_like "$size: plaintext credentials are called out" "$screen" "#1 .*:$plain +MQTT +PLAINTEXT CREDENTIALS"
	t_like "$size: the rejected handshake's verdict" "$screen" "#2 .*:$tls +TLSv1\\.[23] +✗ tls_failed"
	t_like "$size: the good one" "$screen" "#3 .*:$tls +TLSv1\\.[23] +✓ tls_ok"
	# The first flow's ladder shows the password in the clear.
	tui_keys Home
	tui_wait 'flow #1:' 10 >/dev/null
	tui_seek 'PASSWORD IN CLEAR TEXT'
	t_like "$size: the ladder shows the CONNECT with its password" "$(tui_cap | tr -s ' ' | tr -d '\n')" 'device → broker CONNECT .*username "alice" ?password "wonderland"'
	# The second: the device's alert, and the verdict with its finding.
	tui_keys Down
	tui_wait 'flow #2:' 10 >/dev/null
	t_like "$size: the ladder shows the ClientHello" "$(tui_cap)" 'device → broker +ClientHello'
	tui_seek 'Alert fatal unknown_ca'
	t_like "$size: the alert the device sent" "$(tui_cap)" 'device → broker +Alert fatal unknown_ca'
	tui_seek 'WRONG_CA'
	screen=$(tui_cap)
	t_like "$size: the verdict says who rejected whom" "$screen" 'verdict +✗ tls_failed: the device rejected the broker'
	t_like "$size: ... and names the finding" "$screen" 'WRONG_CA'
	# A click selects a flow.
	xy=$(tui_find '#3 ')
	tui_click "${xy% *}" "${xy#* }"
	tui_wait 'flow #3:' 10 >/dev/null && t_pass "$size: a click on a flow shows its ladder" || t_fail "$size: a click on a flow shows its ladder" "$(tui_cap)"
	tui_keys s
	tui_wait 'stopped +frames' 10 >/dev/null && t_pass "$size: s stops the capture" || t_fail "$size: s stops the capture" "$(tui_cap)"
	tui_quit >/dev/null || t_fail "$size: q quits"
	t_tui_restored "$size"
	t_tui_clean "$size"
done

# A file: recorded by mqttls capture -w while the same clients run, replayed in the view.
pcap=$T_TMP/rec.pcap
"$MQTTLS" capture -i lo --port "$plain" --port "$tls" -w "$pcap" --duration 4 >/dev/null 2>&1 &
T_PIDS+=($!)
rec=$!
sleep 1
traffic
wait "$rec"
t_ok "a capture file was written" test -s "$pcap"
tui_start 80 24 tui -h localhost -p "$tls" --cafile "$pki/ca.crt"
tui_wait 'all stages passed' 30 >/dev/null
tui_keys 4 i C-u
tui_type "$pcap"
tui_keys Enter p C-u
tui_type "$plain $tls"
tui_keys Enter s
if tui_wait 'stopped +frames [0-9]+ +flows 3' 20; then t_pass "a file is replayed to its end"; else t_fail "a file is replayed to its end"; fi
t_like "the file's flows have their verdicts" "$(tui_cap)" 'PLAINTEXT CREDENTIALS'
# A file that is not a capture: the reason, not a crash.
echo "not a pcap" >"$T_TMP/bad.pcap"
tui_keys i C-u
tui_type "$T_TMP/bad.pcap"
tui_keys Enter s
tui_wait 'bad\.pcap' 10 >/dev/null
t_unlike "a bad file does not start" "$(tui_cap)" 'running'
t_like "a bad file is refused with a reason" "$(tui_cap)" 'is not a capture file'
tui_quit >/dev/null
t_tui_clean "file"

t_done
