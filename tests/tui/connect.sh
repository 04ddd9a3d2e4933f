#!/usr/bin/env bash
# The Connect view: a failing mosquitto_sub line typed into the paste field and pasted
# (bracketed paste) is parsed into the form by the CLI's own parser; a bad line is refused in
# the parser's words; the form diagnoses; profiles are saved (0600), asked about before being
# replaced, loaded and deleted. The Explain view explains a pasted line.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tui-lib.sh"

pki=$(t_pki) || exit 1
port=$(t_free_port)
t_broker good "$port" "$(t_tls_listener "$port" "$pki")
allow_anonymous true" || exit 1
profiles=$XDG_CONFIG_HOME/mqttls/profiles

for size in 80x24 120x40; do
	w=${size%x*}
	h=${size#*x}
	rm -rf "$XDG_CONFIG_HOME"
	tui_start "$w" "$h" tui -h 127.0.0.1 -p 1 --cafile "$pki/ca.crt"
	tui_wait 'failed in|TCP_REFUSED' 30 >/dev/null
	tui_keys 1
	tui_wait 'Paste a command' 10 >/dev/null

	# Typed into the paste field (p), then Enter.
	tui_keys p
	tui_type "mosquitto_sub -h localhost -p $port --cafile '$pki/ca.crt' -t 'sensors/#' -u alice -P 'top secret' -V 5"
	tui_keys Enter
	if tui_wait 'understood: mqtts://localhost:'"$port"' \(mosquitto_sub\)' 10; then
		t_pass "$size: a typed mosquitto_sub line is understood"
	else
		t_fail "$size: a typed mosquitto_sub line is understood"
	fi
	screen=$(tui_cap)
	t_like "$size: host filled in" "$screen" 'Host +localhost'
	t_like "$size: port filled in" "$screen" "Port +$port"
	t_like "$size: topic filled in (quotes removed)" "$screen" 'Topic +sensors/#'
	t_like "$size: user filled in" "$screen" 'Username +alice'
	t_like "$size: the password is masked" "$screen" 'Password +\*{10}( |$)'
	t_unlike "$size: the password is never shown" "$screen" 'top secret'
	t_like "$size: MQTT 5 chosen" "$screen" 'MQTT version +← 5 →'
	t_like "$size: the command line below, password masked" "$screen" '\$ mqttls diagnose -h localhost -p '"$port"
	# Diagnose what was pasted.
	tui_keys d
	if tui_wait 'all stages passed' 30; then t_pass "$size: d diagnoses the pasted target"; else t_fail "$size: d diagnoses the pasted target"; fi
	t_like "$size: the title is the pasted target" "$(tui_cap | head -1)" "mqtts://localhost:$port"

	# A bracketed paste anywhere on the view goes to the paste field and is parsed at once.
	tui_keys 1
	tui_wait 'Paste a command' 10 >/dev/null
	tui_paste "mosquitto_pub -h 127.0.0.1 -p 1883 -t plain/t -m hi"
	if tui_wait 'understood: mqtt://127\.0\.0\.1:1883 \(mosquitto_pub\)' 10; then
		t_pass "$size: a pasted line without TLS options is plain MQTT"
	else
		t_fail "$size: a pasted line without TLS options is plain MQTT"
	fi
	t_like "$size: transport switched to plain" "$(tui_cap)" 'Transport +← mqtt - plain MQTT, no TLS →'
	t_like "$size: what the form has no field for is kept" "$(tui_cap)" '\$ mqttls diagnose mqtt://127\.0\.0\.1:1883 -t plain/t -m hi'
	# A line the parser refuses says why, in the parser's words, and changes nothing.
	tui_paste "mosquitto_sub -h 10.0.0.1 -p"
	if tui_wait 'not understood: option -p needs a value' 10; then
		t_pass "$size: a broken line is refused with the reason"
	else
		t_fail "$size: a broken line is refused with the reason"
	fi
	t_like "$size: the form kept the last good target" "$(tui_cap)" 'Host +127\.0\.0\.1'
	# A multi-line paste (a command continued with backslashes) is one command.
	tui_paste "mosquitto_sub -h localhost \\
  -p $port --cafile $pki/ca.crt \\
  -t a/b"
	tui_wait 'understood: mqtts://localhost:'"$port" 10 >/dev/null && t_pass "$size: a continued multi-line paste is one command" || t_fail "$size: a continued multi-line paste is one command" "$(tui_cap)"

	# Editing a field: Up/Down to it, Enter, Ctrl-U, type, Enter.
	tui_keys Home
	for _ in 1 2 3; do tui_keys Down; done
	tui_keys Enter C-u
	tui_type "$port"
	tui_keys Enter
	tui_wait "Port +$port" 10 >/dev/null && t_pass "$size: a field is edited in place" || t_fail "$size: a field is edited in place" "$(tui_cap)"
	# Esc while editing puts the old value back.
	tui_keys Enter C-u
	tui_type "9"
	tui_keys Escape
	tui_wait "Port +$port" 10 >/dev/null && t_pass "$size: Esc undoes an edit" || t_fail "$size: Esc undoes an edit" "$(tui_cap)"
	# A choice changes with Space.
	tui_keys Home
	for _ in $(seq 1 14); do tui_keys Down; done
	tui_keys Space
	tui_wait 'Verify +← CA only, host name unchecked' 10 >/dev/null && t_pass "$size: Space changes a choice" || t_fail "$size: Space changes a choice" "$(tui_cap)"
	t_like "$size: the command line follows the form" "$(tui_cap)" '--insecure'
	tui_keys Space Space

	# Save as a profile, then again under the same name: asked first.
	tui_keys s
	tui_wait 'Save the form as profile:' 10 >/dev/null
	tui_type "lab-one"
	tui_keys Enter
	tui_wait 'saved profile lab-one' 10 >/dev/null && t_pass "$size: s saves a profile" || t_fail "$size: s saves a profile" "$(tui_cap)"
	t_is "$size: the profile file is private" "$(stat -c %a "$profiles" 2>/dev/null)" 600
	t_like "$size: the profile is the diagnose arguments" "$(cat "$profiles" 2>/dev/null)" "^lab-one = -h localhost -p $port --cafile [^ ]+/ca\.crt -t a/b"
	echo "# a line of my own" >>"$profiles"
	tui_keys s
	tui_wait 'Save the form as profile:' 10 >/dev/null
	tui_type "lab-one"
	tui_keys Enter
	tui_wait 'A profile named lab-one exists. Replace it\? y/n' 10 >/dev/null && t_pass "$size: replacing a profile is asked" || t_fail "$size: replacing a profile is asked" "$(tui_cap)"
	tui_keys n
	tui_wait 'kept as it was' 10 >/dev/null && t_pass "$size: n keeps it" || t_fail "$size: n keeps it"
	t_like "$size: the user's own lines are kept" "$(cat "$profiles")" '# a line of my own'
	# Load it: clear the form, then Enter on the profile.
	tui_keys n
	tui_wait 'Host +localhost' 10 >/dev/null
	tui_keys End Enter
	tui_wait 'profile lab-one loaded' 10 >/dev/null && t_pass "$size: Enter on a profile loads it" || t_fail "$size: Enter on a profile loads it" "$(tui_cap)"
	t_like "$size: the loaded profile fills the form" "$(tui_cap)" 'Topic +a/b'
	# Delete it, after a question.
	tui_keys End x
	tui_wait 'Delete profile lab-one\? y/n' 10 >/dev/null
	tui_keys y
	tui_wait 'profile deleted' 10 >/dev/null && t_pass "$size: x deletes a profile after asking" || t_fail "$size: x deletes a profile after asking" "$(tui_cap)"
	t_unlike "$size: gone from the file" "$(cat "$profiles")" 'lab-one'
	t_like "$size: ... the other lines stay" "$(cat "$profiles")" '# a line of my own'

	# Explain: a pasted ESP32 line.
	tui_keys 7
	tui_wait 'Explain ' 10 >/dev/null
	tui_paste "[E][WiFiClientSecure.cpp:135] connect(): start_ssl_client: -9984 ... failed, rc=-2"
	if tui_wait 'PubSubClient|pubsubclient' 10; then t_pass "$size: the pasted line is explained"; else t_fail "$size: the pasted line is explained"; fi
	screen=$(tui_cap)
	t_like "$size: rc=-2 is recognised" "$screen" 'rc=-2'
	t_like "$size: the mbedTLS code is recognised" "$screen" '-0x2700|-9984'
	# Typed, then Enter.
	tui_keys x Enter
	tui_type "Client <unknown> disconnected: Protocol error."
	tui_keys Enter
	tui_wait 'mosquitto' 10 >/dev/null && t_pass "$size: a typed broker log line is explained" || t_fail "$size: a typed broker log line is explained" "$(tui_cap)"
	tui_keys x Enter
	tui_type "hello world"
	tui_keys Enter
	tui_wait 'Nothing in this text is a code or message mqttls knows' 10 >/dev/null && t_pass "$size: unknown text is said to be unknown" || t_fail "$size: unknown text is said to be unknown"
	# While typing, the number keys are text, not view switches.
	tui_keys Enter C-u
	tui_type "12345"
	tui_wait 'Explain +12345' 10 >/dev/null && t_pass "$size: digits typed into a field stay there" || t_fail "$size: digits typed into a field stay there" "$(tui_cap)"
	# UTF-8 typed in, and a character deleted whole.
	tui_keys C-u
	tui_type "capteur-été"
	tui_keys BSpace
	tui_wait 'Explain +capteur-ét( |$)' 10 >/dev/null && t_pass "$size: UTF-8 is typed and erased by character" || t_fail "$size: UTF-8 is typed and erased by character" "$(tui_cap)"
	tui_keys Escape

	tui_quit >/dev/null || t_fail "$size: q quits"
	t_tui_restored "$size"
	t_tui_clean "$size"
done

t_done
