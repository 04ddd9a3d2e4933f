#!/usr/bin/env bash
# The TUI with no target: it starts the built-in lab broker and diagnoses it; every stage
# passes. Every view by number, F-key, Tab / Shift-Tab and mouse; help; resize; quit with the
# terminal restored. At 80x24 and 120x40.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tui-lib.sh"

views=(Connect Diagnose Chain Capture MITM Labs Explain)
# What each view shows when it is the current one.
marks=('Paste a command' 'all stages passed' 'Chain from' 'Capture +lo ' 'INSECURE LAB MITM +(stopped|running)' 'Labs +s:start' 'Explain ')

for size in 80x24 120x40; do
	w=${size%x*}
	h=${size#*x}
	tui_start "$w" "$h"

	# First start: the lab broker comes up, then the ladder fills in and passes.
	if tui_wait 'all stages passed' 60; then t_pass "$size: the built-in lab broker is diagnosed"; else t_fail "$size: the built-in lab broker is diagnosed"; fi
	screen=$(tui_cap)
	for st in resolve tcp tls verify mqtt_connect pubsub; do
		t_like "$size: stage $st passed" "$screen" "✓ $st +[0-9.]+ m?s"
	done
	t_like "$size: title names the target" "$(echo "$screen" | head -1)" 'mqttls .* localhost:[0-9]+ \(built-in lab broker\)'
	t_like "$size: every tab is on the tab bar" "$(echo "$screen" | sed -n 2p)" '1 Connect +2 Diagnose +3 Chain +4 Capture +5 MITM +6 Labs +7 Explain'
	t_like "$size: nothing is found wrong" "$screen" 'Every stage passed'
	t_unlike "$size: no finding on a healthy broker" "$screen" 'ROOT CAUSE'

	# Views by number key.
	for i in 0 1 2 3 4 5 6; do
		tui_keys $((i + 1))
		if tui_wait "${marks[$i]}" 10 >/dev/null 2>&1; then
			t_pass "$size: key $((i + 1)) shows ${views[$i]}"
		else
			t_fail "$size: key $((i + 1)) shows ${views[$i]}" "$(tui_cap)"
		fi
	done
	# F2..F8, Tab and Shift-Tab.
	tui_keys F4
	tui_wait "${marks[2]}" 10 >/dev/null 2>&1 && t_pass "$size: F4 shows Chain" || t_fail "$size: F4 shows Chain" "$(tui_cap)"
	tui_keys Tab
	tui_wait "${marks[3]}" 10 >/dev/null 2>&1 && t_pass "$size: Tab goes to the next view" || t_fail "$size: Tab goes to the next view" "$(tui_cap)"
	tui_keys BTab BTab
	tui_wait "${marks[1]}" 10 >/dev/null 2>&1 && t_pass "$size: Shift-Tab goes back" || t_fail "$size: Shift-Tab goes back" "$(tui_cap)"

	# Views by mouse: a click on each tab's label.
	for i in 6 5 4 3 2 1 0; do
		pos=$(tui_cap | sed -n 2p | awk -v n="$((i + 1)) ${views[$i]}" '{ p = index($0, n); if (p) print p - 1 }')
		if [ -z "$pos" ]; then
			t_fail "$size: tab ${views[$i]} found for the mouse"
			continue
		fi
		tui_click $((pos + 2)) 1
		if tui_wait "${marks[$i]}" 10 >/dev/null 2>&1; then
			t_pass "$size: a click on tab ${views[$i]} shows it"
		else
			t_fail "$size: a click on tab ${views[$i]} shows it" "$(tui_cap)"
		fi
	done

	# The Chain view: the leaf is selected, the SAN that matches the target is marked, today is on the bar.
	tui_keys 3
	tui_wait 'Chain from' 10 >/dev/null
	screen=$(tui_cap)
	t_like "$size: the chain is a tree down to the leaf" "$screen" '└─ CN=localhost.*leaf'
	t_like "$size: the matching SAN is marked" "$screen" 'DNS:localhost ◀ matches localhost'
	t_like "$size: the validity bar marks today" "$screen" '█*▼░+'
	t_like "$size: days left are said" "$screen" 'today: valid, [0-9]+ days left'
	# A click on the intermediate in the tree selects it.
	xy=$(tui_find 'CN=mqttls lab intermediate CA')
	tui_click $(( ${xy% *} + 1 )) "${xy#* }"
	if tui_wait 'Subject +CN=mqttls lab intermediate CA' 10 >/dev/null 2>&1; then
		t_pass "$size: a click on a certificate in the tree selects it"
	else
		t_fail "$size: a click on a certificate in the tree selects it" "$(tui_cap)"
	fi
	tui_keys Down
	tui_wait 'Subject +CN=localhost' 10 >/dev/null && t_pass "$size: Down selects the next certificate" || t_fail "$size: Down selects the next certificate"

	# Help lists the keys of every view.
	tui_keys '?'
	tui_wait 'Keys everywhere' 10 >/dev/null
	screen=$(tui_cap)
	t_like "$size: help lists the global keys" "$screen" 'Tab Shift-Tab +next / previous view'
	t_like "$size: help starts with this view's keys" "$screen" 'Chain view \(3\) - the one you are on'
	tui_keys End
	tui_wait 'can never drive your terminal' 10 >/dev/null && t_pass "$size: help scrolls to its end" || t_fail "$size: help scrolls to its end" "$(tui_cap)"
	for v in Connect Diagnose Capture MITM Labs Explain; do
		tui_keys Home
		found=0
		for _ in $(seq 1 12); do
			if tui_cap | grep -q "$v view"; then found=1; break; fi
			tui_keys PageDown
			sleep 0.1
		done
		[ $found = 1 ] && t_pass "$size: help has the $v view's keys" || t_fail "$size: help has the $v view's keys"
	done
	tui_keys Escape
	tui_gone 'Keys everywhere' 10 && t_pass "$size: Esc closes help" || t_fail "$size: Esc closes help"
	tui_keys F1
	tui_wait 'Keys everywhere' 10 >/dev/null && t_pass "$size: F1 opens help" || t_fail "$size: F1 opens help"
	tui_keys q
	tui_gone 'Keys everywhere' 10 && t_pass "$size: q in help closes it, not the TUI" || t_fail "$size: q in help closes it"

	# A lab's README reads as text on the screen: paragraphs reflowed, no Markdown marks.
	if [ "$size" = 120x40 ]; then
		tui_keys 6
		tui_wait 'Labs +s:start' 10 >/dev/null
		tui_keys Down Down
		if tui_wait 'Follows: part 4' 10 >/dev/null; then
			t_pass "$size: the ip-san lab's README is shown"
			t_unlike "$size: without Markdown fences or bold marks" "$(tui_cap)" '```|\*\*'
		else
			t_fail "$size: the ip-san lab's README is shown" "$(tui_cap)"
		fi
	fi

	# Re-run from the Diagnose view with one key.
	tui_keys 2 r
	tui_wait 'all stages passed' 30 >/dev/null && t_pass "$size: r runs the diagnosis again" || t_fail "$size: r runs the diagnosis again"

	# Resize: smaller than the minimum, then another size; the screen follows each time.
	tui_resize 30 8
	tui_wait '30x8 is too small' 10 >/dev/null && t_pass "$size: a too small terminal is said so" || t_fail "$size: a too small terminal is said so" "$(tui_cap)"
	tui_resize 100 30
	if tui_wait 'all stages passed' 10 >/dev/null; then
		tui_wait_len 'Findings' 100
		t_is "$size: after a resize the findings rule spans the new width" "$(tui_line_len 'Findings')" 100
	else
		t_fail "$size: the view is back after the resize" "$(tui_cap)"
	fi
	tui_resize "$w" "$h"
	tui_wait 'all stages passed' 10 >/dev/null

	# Quit: q (nothing started here is running, so no question), the shell is back.
	if tui_quit; then t_pass "$size: q quits"; else t_fail "$size: q quits" "$(tui_cap)"; fi
	t_is "$size: exit status 0" "$(tui_exit_status)" 0
	t_like "$size: the shell prompt is back" "$(tui_cap)" 'TUI-EXIT=0'
	if [ "$size" = 80x24 ]; then
		t_like "$size: leaving, it says the broker it started keeps running" "$(tui_cap)" 'built-in lab broker keeps running on localhost:[0-9]+'
	else
		t_unlike "$size: a broker it found running is not announced" "$(tui_cap)" 'keeps running'
	fi
	t_tui_restored "$size"
	t_tui_clean "$size"
done

# The built-in broker started by the first run is reused by the second and still runs.
"$MQTTLS" lab status basic >"$T_TMP/status.txt" 2>&1
t_like "the built-in lab broker is still running after the TUI left" "$(cat "$T_TMP/status.txt")" 'running'

t_done
