#!/usr/bin/env bash
# However the TUI ends — q, Ctrl-C, SIGTERM, SIGHUP, Ctrl-\, a crash — the terminal comes back
# as it was. And where there is no terminal to take, it says so instead of starting.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tui-lib.sh"

pki=$(t_pki) || exit 1
port=$(t_free_port)
t_broker good "$port" "$(t_tls_listener "$port" "$pki")
allow_anonymous true" || exit 1
target=(tui -h localhost -p "$port" --cafile "$pki/ca.crt")

tui_pid() { pgrep -f -n -- "$MQTTLS tui -h localhost -p $port" ; }

# Ctrl-C: the terminal's interrupt, with nothing running that would stop.
tui_start 80 24 "${target[@]}"
tui_wait 'all stages passed' 30 >/dev/null
tui_keys C-c
if tui_wait 'TUI-EXIT=' 20 >/dev/null; then t_pass "Ctrl-C quits"; else t_fail "Ctrl-C quits" "$(tui_cap)"; fi
t_is "Ctrl-C: exit status 0" "$(tui_exit_status)" 0
t_tui_restored "Ctrl-C"
t_tui_clean "Ctrl-C"

for sig in TERM HUP; do
	tui_start 80 24 "${target[@]}"
	tui_wait 'all stages passed' 30 >/dev/null
	pid=$(tui_pid)
	if [ -z "$pid" ]; then
		t_fail "SIG$sig: the TUI's pid is found"
		continue
	fi
	kill -"$sig" "$pid"
	if tui_wait 'TUI-EXIT=' 20 >/dev/null; then t_pass "SIG$sig: the TUI leaves"; else t_fail "SIG$sig: the TUI leaves" "$(tui_cap)"; fi
	t_tui_restored "SIG$sig"
	t_tui_clean "SIG$sig"
done

# Ctrl-\ (SIGQUIT): the way out of a TUI that no longer answers. It dies, and still restores.
tui_start 80 24 "${target[@]}"
tui_wait 'all stages passed' 30 >/dev/null
tui_keys 'C-\'
if tui_wait 'TUI-EXIT=' 20 >/dev/null; then t_pass "Ctrl-\\ ends the TUI"; else t_fail "Ctrl-\\ ends the TUI" "$(tui_cap)"; fi
t_is "Ctrl-\\: died of SIGQUIT" "$(tui_exit_status)" 131
t_tui_restored "SIGQUIT"

# A crash (SIGSEGV): the terminal is restored before the sanitizer's report or the core.
tui_start 80 24 "${target[@]}"
tui_wait 'all stages passed' 30 >/dev/null
pid=$(tui_pid)
[ -n "$pid" ] && kill -SEGV "$pid"
if tui_wait 'TUI-EXIT=' 20 >/dev/null; then t_pass "a crash ends the TUI"; else t_fail "a crash ends the TUI" "$(tui_cap)"; fi
t_unlike "a crash exits non-zero" "$(tui_exit_status)" '^0$'
t_tui_restored "crash"

# Resizing while a diagnosis runs against a silent peer (the spinner turns; the screen follows).
silent=$(t_free_port)
"$T_PY" -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
conns = []
end = time.time() + 60
while time.time() < end:
    s.settimeout(0.5)
    try: conns.append(s.accept()[0])
    except socket.timeout: pass
' "$silent" &
T_PIDS+=($!)
sleep 0.3
tui_start 80 24 tui -h 127.0.0.1 -p "$silent" --cafile "$pki/ca.crt"
tui_wait 'running [0-9.]+ m?s' 20 >/dev/null && t_pass "a silent broker: the diagnosis shows it is running" || t_fail "a silent broker: running shown" "$(tui_cap)"
first=$(tui_cap | grep -o 'running [0-9.]* m\?s' | head -1)
sleep 1
second=$(tui_cap | grep -o 'running [0-9.]* m\?s' | head -1)
if [ -n "$first" ] && [ "$first" != "$second" ]; then t_pass "the clock keeps moving while a stage waits"; else t_fail "the clock keeps moving while a stage waits" "$first / $second"; fi
tui_resize 120 40
tui_wait_len 'Findings' 120
t_is "resized while running: the screen follows" "$(tui_line_len 'Findings')" 120
tui_keys 1
tui_wait 'Paste a command' 10 >/dev/null && t_pass "keys answer while a stage waits" || t_fail "keys answer while a stage waits"
tui_quit >/dev/null && t_pass "q quits while a stage waits" || t_fail "q quits while a stage waits" "$(tui_cap)"
t_tui_restored "silent peer"
t_tui_clean "silent peer"

# No terminal: a clear sentence, not a broken screen.
out=$("$MQTTLS" tui -h localhost -p "$port" </dev/null 2>&1 >/dev/null)
rc=$?
t_is "without a terminal: exit 1" "$rc" 1
t_like "without a terminal: says what to use instead" "$out" "needs a terminal.*mqttls diagnose"
out=$("$MQTTLS" tui --bogus 2>&1)
t_is "an unknown option is a usage error" "$?" 2
t_like "... named in one sentence" "$out" "unknown option '--bogus'"
t_like "tui --help describes the command" "$("$MQTTLS" tui --help)" 'mqttls tui \[TARGET\]'

# A terminal type curses does not know: the error is printed, the terminal untouched.
TUI_CMD_ENV=TERM=no-such-terminal-type tui_start 80 24 "${target[@]}"
tui_wait 'TUI-EXIT=' 20 >/dev/null
t_is "an unknown TERM: exit 1" "$(tui_exit_status)" 1
t_like "an unknown TERM: the reason" "$(cat "$TUI_ERR")" 'cannot drive this terminal \(TERM=no-such-terminal-type\)'
t_tui_restored "unknown TERM"

t_done
