# Drive the real TUI in tmux: a private tmux server per suite, a shell in a fixed-size pane,
# keys and mouse clicks sent as a terminal would send them, the screen read back as text.
# Source after tests/lib.sh:
#
#   . "$(dirname "$0")/../tui-lib.sh"
#   tui_start 80 24 tui -h localhost -p "$port" --cafile "$pki/ca.crt"
#   tui_wait 'all stages passed' || ...
#   tui_keys 3; tui_wait 'Chain from'
#   tui_quit                      # q, then the shell prompt must be back
#
# The shell's prompt is "TUI-SHELL$ " and the command is followed by "echo TUI-EXIT=$?", so a
# test sees the exit status and the restored terminal on the same screen.

command -v tmux >/dev/null || { echo "1..0 # SKIP tmux is not installed"; exit 0; }

TUI_N=0
TUI_SOCK=mqttls-test-$$-0
TUI_ERR=$T_TMP/tui-stderr.log
TUI_W=80
TUI_H=24
export XDG_CONFIG_HOME=$T_TMP/config

tui_tmux() { tmux -L "$TUI_SOCK" -f /dev/null "$@"; }

tui_cleanup() {
	tui_tmux kill-server 2>/dev/null
	t_cleanup
}
trap tui_cleanup EXIT

# tui_start W H [ARGS...]: a fresh pane W x H with a shell, then "$MQTTLS ARGS..." typed into it.
# TUI_LANG (default C.UTF-8), TUI_ENV (extra "NAME=VALUE" words for the shell) and TUI_CMD_ENV
# (the same for the command only) shape the environment.
tui_start() {
	local w=$1 h=$2 env_args=() kv
	shift 2
	TUI_W=$w
	TUI_H=$h
	# A new server each time: a dying one still holds its socket for a moment.
	tui_tmux kill-server 2>/dev/null
	TUI_N=$((TUI_N + 1))
	TUI_SOCK=mqttls-test-$$-$TUI_N
	env_args=(-e "LANG=${TUI_LANG:-C.UTF-8}" -e "LC_ALL=${TUI_LANG:-C.UTF-8}" -e "MQTTLS_STATE_DIR=$MQTTLS_STATE_DIR"
		-e "XDG_CONFIG_HOME=$XDG_CONFIG_HOME" -e "ASAN_OPTIONS=${ASAN_OPTIONS:-}" -e "LSAN_OPTIONS=${LSAN_OPTIONS:-}"
		-e "UBSAN_OPTIONS=${UBSAN_OPTIONS:-}")
	for kv in ${TUI_ENV:-}; do
		env_args+=(-e "$kv")
	done
	# bash takes its prompt from an rc file, not from the environment.
	printf "PS1='TUI-SHELL\$ '\n" >"$T_TMP/tui-bashrc"
	tui_tmux new-session -d -s t -x "$w" -y "$h" "${env_args[@]}" \
		"env ${TUI_UNSET:+-u $TUI_UNSET} bash --rcfile $(printf '%q' "$T_TMP/tui-bashrc") --noprofile -i" || return 1
	tui_tmux set -g status off
	tui_wait_shell || return 1
	: >"$TUI_ERR"
	local cmd q a
	cmd=$(printf '%q' "$MQTTLS")
	# TUI_CMD_ENV: "NAME=VALUE" words for the command alone (tmux sets TERM for the pane itself).
	[ -n "${TUI_CMD_ENV:-}" ] && cmd="env $TUI_CMD_ENV $cmd"
	for a in "$@"; do
		cmd+=" $(printf '%q' "$a")"
	done
	tui_tmux send-keys -t t -l "clear; $cmd 2>$(printf '%q' "$TUI_ERR"); echo TUI-EXIT=\$?"
	tui_tmux send-keys -t t Enter
}

# The screen as text.
tui_cap() { tui_tmux capture-pane -p -t t; }

tui_wait_shell() {
	local i
	for i in $(seq 1 100); do
		tui_cap 2>/dev/null | grep -q 'TUI-SHELL\$' && return 0
		sleep 0.05
	done
	echo "# the shell did not start in tmux" >&2
	return 1
}

# tui_wait REGEX [SECONDS]: until the screen matches (grep -E). 1 on timeout, the screen on stderr.
tui_wait() {
	local re=$1 secs=${2:-20} i
	for i in $(seq 1 $((secs * 10))); do
		tui_cap | grep -qE -- "$re" && return 0
		sleep 0.1
	done
	echo "# timed out waiting for /$re/; the screen:" >&2
	tui_cap | sed 's/^/#   | /' >&2
	return 1
}

# tui_gone REGEX [SECONDS]: until the screen no longer matches.
tui_gone() {
	local re=$1 secs=${2:-20} i
	for i in $(seq 1 $((secs * 10))); do
		tui_cap | grep -qE -- "$re" || return 0
		sleep 0.1
	done
	return 1
}

# Keys by tmux name (Enter, Tab, BTab, F1, Up, PageDown, Escape, C-c, ...) or literal words.
tui_keys() { tui_tmux send-keys -t t "$@"; }
# Text typed as it is (no key names).
tui_type() { tui_tmux send-keys -t t -l -- "$1"; }

# A left click at column X, row Y (0-based), as an SGR mouse report (press and release).
tui_click() {
	local x=$(($1 + 1)) y=$(($2 + 1))
	tui_tmux send-keys -t t -l $'\e'"[<0;${x};${y}M"$'\e'"[<0;${x};${y}m"
}

# The mouse wheel at row Y: up or down.
tui_wheel() {
	local b=64
	[ "$1" = down ] && b=65
	tui_tmux send-keys -t t -l $'\e'"[<${b};10;$(($2 + 1))M"
}

# Paste TEXT as a terminal does: bracketed when the application asked for it.
tui_paste() {
	tui_tmux set-buffer -b tuitest -- "$1"
	tui_tmux paste-buffer -p -b tuitest -t t
}

tui_resize() {
	TUI_W=$1
	TUI_H=$2
	tui_tmux resize-window -t t -x "$1" -y "$2"
}

# The column and row (0-based) where REGEX first appears on the screen: "X Y", or nothing.
tui_find() {
	tui_cap | awk -v re="$1" '{ if (match($0, re)) { print RSTART - 1, NR - 1; exit } }'
}

# The length in characters of the first screen line matching REGEX (trailing blanks are not kept).
tui_line_len() {
	tui_cap | "$T_PY" -c '
import re, sys
for line in sys.stdin.read().split("\n"):
    if re.search(sys.argv[1], line):
        print(len(line.rstrip()))
        break
' "$1"
}

# tui_wait_len REGEX N [SECONDS]: until that line is N characters long (a redraw after a resize).
tui_wait_len() {
	local i
	for i in $(seq 1 $((${3:-10} * 10))); do
		[ "$(tui_line_len "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# tmux's view of the terminal modes: alternate screen, mouse, cursor.
tui_flag() { tui_tmux display -p -t t "#{$1}"; }

# tui_seek REGEX [KEY] [TIMES]: press KEY (PageDown) until the screen shows REGEX.
tui_seek() {
	local re=$1 key=${2:-PageDown} n=${3:-8} i
	for i in $(seq 0 "$n"); do
		tui_cap | grep -qE -- "$re" && return 0
		tui_keys "$key"
		sleep 0.2
	done
	tui_cap | grep -qE -- "$re"
}

# q, then wait for the shell. Prints nothing; returns 1 when the TUI did not leave.
tui_quit() {
	tui_keys q
	tui_wait 'TUI-EXIT=' 30
}

# The exit status the shell printed.
tui_exit_status() { tui_cap | sed -n 's/.*TUI-EXIT=\([0-9]*\).*/\1/p' | tail -1; }

# t_tui_restored DESC: after the TUI left, the terminal is as it was.
t_tui_restored() {
	local desc=$1 alt mouse cursor stty_out
	alt=$(tui_flag alternate_on)
	mouse=$(tui_flag mouse_any_flag)
	cursor=$(tui_flag cursor_flag)
	t_is "$desc: alternate screen left" "$alt" 0
	t_is "$desc: mouse reporting off" "$mouse" 0
	t_is "$desc: cursor visible" "$cursor" 1
	# The marker is split in the command so only the output line has it whole.
	tui_type "stty -a | tr ' ;' '\n\n' | grep -xE -- '-?(icanon|echo)' | tr '\n' ' '; echo STTY-\"\"DONE"
	tui_keys Enter
	tui_wait 'STTY-DONE$' 10 >/dev/null 2>&1
	stty_out=$(tui_cap | grep 'STTY-DONE$' | tail -1)
	t_like "$desc: line editing and echo back on" "$stty_out" '(^| )icanon echo'
}

# No sanitizer report from the TUI process.
t_tui_clean() {
	local err
	err=$(cat "$TUI_ERR" 2>/dev/null)
	t_unlike "$1: no sanitizer report" "$err" 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:'
}
