#!/usr/bin/env bash
# A real broker with a real fault: mosquitto serving a certificate that names only DNS names
# (mqttls certs broken dns-only), reached by 127.0.0.1. The TUI must name IP_NOT_IN_SAN as the
# root cause, open it to its evidence and fix, and show in the Chain view that no SAN matches
# and why. Then the broker is fixed and one key runs the diagnosis again. UTF-8 and ASCII,
# colour and NO_COLOR, 80x24 and 120x40.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tui-lib.sh"

pki=$(t_pki) || exit 1
"$MQTTLS" certs broken dns-only --dir "$pki" >/dev/null || { t_fail "certs broken dns-only"; t_done; exit 1; }
t_pki_perms "$pki"
port=$(t_free_port)
broken_conf="listener $port 127.0.0.1
allow_anonymous true
cafile $pki/ca.crt
certfile $pki/broken-dns-only-fullchain.crt
keyfile $pki/broken-dns-only.key"
t_broker broken "$port" "$broken_conf" || exit 1

for size in 80x24 120x40; do
	w=${size%x*}
	h=${size#*x}
	tui_start "$w" "$h" tui -h 127.0.0.1 -p "$port" --cafile "$pki/ca.crt"
	if tui_wait 'failed in' 30; then t_pass "$size: the diagnosis ends"; else t_fail "$size: the diagnosis ends"; fi
	screen=$(tui_cap)
	t_like "$size: tcp and tls passed" "$screen" '✓ tls +[0-9.]+ m?s +TLSv1\.[23]'
	t_like "$size: verify failed" "$screen" '✗ verify'
	t_like "$size: the MQTT stages were not reached" "$screen" '- mqtt_connect'
	t_like "$size: the root cause is IP_NOT_IN_SAN" "$screen" '✗ IP_NOT_IN_SAN +ROOT CAUSE'
	t_like "$size: the root cause is open on its evidence" "$screen" 'You connected to 127\.0\.0\.1'
	t_like "$size: the evidence names the certificate's names" "$screen" 'DNS:localhost'
	t_like "$size: the title says it failed" "$(echo "$screen" | head -1)" '✗ mqtts://127\.0\.0\.1:'"$port"

	# The fix is in the finding, below the evidence.
	tui_keys PageDown
	if tui_wait 'mqttls certs server [^ ]+ --san IP:127\.0\.0\.1' 10 >/dev/null; then
		t_pass "$size: the fix gives the exact command"
	else
		t_fail "$size: the fix gives the exact command" "$(tui_cap)"
	fi
	# Enter closes the finding, Enter opens it again.
	tui_keys Home Enter
	tui_gone 'You connected to 127' 10 && t_pass "$size: Enter closes the finding" || t_fail "$size: Enter closes the finding" "$(tui_cap)"
	tui_keys Enter
	tui_wait 'You connected to 127' 10 >/dev/null && t_pass "$size: Enter opens it again" || t_fail "$size: Enter opens it again"
	# A click on the finding's row toggles it too.
	xy=$(tui_find 'IP_NOT_IN_SAN')
	tui_click "${xy% *}" "${xy#* }"
	tui_gone 'You connected to 127' 10 && t_pass "$size: a click on the selected finding closes it" || t_fail "$size: a click on the selected finding closes it" "$(tui_cap)"
	tui_keys a
	tui_wait 'You connected to 127' 10 >/dev/null && t_pass "$size: a opens every finding" || t_fail "$size: a opens every finding"

	# The filter hides what does not match and says so in the tab bar; Esc clears it.
	tui_keys /
	tui_type "nothing-like-this"
	tui_keys Enter
	tui_gone 'IP_NOT_IN_SAN +ROOT' 10 && t_pass "$size: / filters the findings" || t_fail "$size: / filters the findings" "$(tui_cap)"
	t_like "$size: the filter is shown" "$(tui_cap)" 'filter: nothing-like-this'
	tui_keys Escape
	tui_wait 'IP_NOT_IN_SAN +ROOT' 10 >/dev/null && t_pass "$size: Esc clears the filter" || t_fail "$size: Esc clears the filter"

	# The log: what the engine noted on the way.
	tui_keys l
	tui_wait 'Log \([0-9]+ lines\)' 10 >/dev/null && t_pass "$size: l shows the log" || t_fail "$size: l shows the log" "$(tui_cap)"
	tui_keys l

	# The Chain view: the leaf's names, none matching, and why.
	tui_keys 3
	tui_wait 'Chain from' 10 >/dev/null
	screen=$(tui_cap)
	t_like "$size: the chain shows the broker's leaf" "$screen" 'CN=localhost,OU=broken: dns-only'
	t_like "$size: verification failed on the address" "$screen" 'verify: IP address mismatch'
	t_like "$size: the leaf's SANs are listed" "$screen" 'Names \(SAN\) DNS:localhost'
	t_unlike "$size: no SAN is marked as matching" "$screen" '◀ matches'
	t_like "$size: the mismatch is called out" "$screen" 'Mismatch +no name in this certificate matches the target'
	t_like "$size: the mismatch is explained for an address" "$screen" 'You connected to 127\.0\.0\.1, an IP address'
	t_like "$size: ... and what to do" "$screen" 'IP:127\.0\.0\.1'
	tui_quit >/dev/null || t_fail "$size: q quits"
	t_tui_clean "$size"
done

# Fix the broker while the TUI watches: a certificate with the address; r runs it again.
tui_start 80 24 tui -h 127.0.0.1 -p "$port" --cafile "$pki/ca.crt"
tui_wait 'IP_NOT_IN_SAN' 30 >/dev/null
t_broker_stop broken
t_broker fixed "$port" "listener $port 127.0.0.1
allow_anonymous true
cafile $pki/ca.crt
certfile $pki/broker-fullchain.crt
keyfile $pki/broker.key" || exit 1
tui_keys r
if tui_wait 'all stages passed' 30; then t_pass "after the fix, r shows every stage passing"; else t_fail "after the fix, r shows every stage passing"; fi
tui_keys 3
tui_wait 'Chain from' 10 >/dev/null
t_like "the address SAN is now marked as the match" "$(tui_cap)" 'IP:127\.0\.0\.1 ◀ matches 127\.0\.0\.1'
tui_quit >/dev/null
t_tui_restored "after the fix"

# ASCII only (a C locale): the same screens with ASCII marks, no UTF-8 byte on screen.
TUI_LANG=C tui_start 80 24 tui -h 127.0.0.1 -p "$port" --cafile "$pki/ca.crt"
tui_wait 'all stages passed' 30 >/dev/null
screen=$(tui_cap)
t_like "ASCII: stages are marked with +" "$screen" '\+ pubsub +[0-9.]+ m?s'
t_unlike "ASCII: no UTF-8 on the screen" "$(printf '%s' "$screen" | LC_ALL=C grep -c $'[\x80-\xff]')" '^[1-9]'
tui_keys 3
tui_wait 'Chain from' 10 >/dev/null
screen=$(tui_cap)
t_like "ASCII: the tree is drawn with ASCII" "$screen" '`- CN=localhost'
t_like "ASCII: the matching SAN is marked" "$screen" 'IP:127\.0\.0\.1 < matches 127\.0\.0\.1'
t_like "ASCII: the validity bar" "$screen" '#*v-+'
tui_quit >/dev/null
t_tui_clean "ASCII"

# Colour by default; none with NO_COLOR (the meaning is in the marks, not the colour).
TUI_UNSET=NO_COLOR tui_start 80 24 tui -h 127.0.0.1 -p "$port" --cafile "$pki/ca.crt"
tui_wait 'all stages passed' 30 >/dev/null
colored=$(tui_tmux capture-pane -e -p -t t)
t_like "colour: the ticks are green" "$colored" $'\e\\[[0-9;]*32[;m][^\e]*✓'
tui_quit >/dev/null
TUI_ENV=NO_COLOR=1 tui_start 80 24 tui -h 127.0.0.1 -p "$port" --cafile "$pki/ca.crt"
tui_wait 'all stages passed' 30 >/dev/null
plain=$(tui_tmux capture-pane -e -p -t t)
t_unlike "NO_COLOR: no colour at all" "$plain" $'\e\\[[0-9;]*(3[0-7]|4[0-7]|38;5|48;5)[;m]'
t_like "NO_COLOR: still bold and reverse for emphasis" "$plain" $'\e\\[[0-9;]*(1|7)[;m]'
tui_quit >/dev/null

t_done
