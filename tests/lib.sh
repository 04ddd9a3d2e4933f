# Shared by every shell test suite: TAP output, a private temp directory, real mosquitto
# brokers on free loopback ports that are always stopped (trap), and JSON queries.
#
#   . "$(dirname "$0")/../lib.sh"
#   pki=$(t_pki)                         # certs init in a fresh directory
#   port=$(t_free_port)
#   t_broker b1 "$port" "listener $port 127.0.0.1
#   allow_anonymous true
#   cafile $pki/ca.crt
#   certfile $pki/broker-fullchain.crt
#   keyfile $pki/broker.key"
#   t_ok "diagnose passes" "$MQTTLS" diagnose -h localhost -p "$port" --cafile "$pki/ca.crt"
#   t_done

set -u
: "${MQTTLS:?MQTTLS must name the mqttls binary under test}"
T_N=0
T_FAILED=0
T_BROKERS=()
T_PIDS=()
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mqttls-test.XXXXXX")
# mosquitto started as root drops to the user mosquitto: it must be able to enter this directory.
chmod 0755 "$T_TMP"
T_PY=/usr/bin/python3
# Labs and the built-in broker keep their state here, never in the user's real state directory.
export MQTTLS_STATE_DIR=$T_TMP/state

# Lab brokers run detached (mqttls lab start): stop those recorded in this test's state
# directory, and only when the recorded PID is still a mosquitto.
t_stop_labs() {
	local f pid
	for f in "$MQTTLS_STATE_DIR"/labs/*/state.json; do
		[ -f "$f" ] || continue
		pid=$(sed -n 's/.*"pid":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$f")
		[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = mosquitto ] && kill "$pid" 2>/dev/null
	done
	# Processes a lab runs beside its broker (the MITM lab's relay and devices).
	for f in "$MQTTLS_STATE_DIR"/labs/*/companions.json; do
		[ -f "$f" ] || continue
		for pid in $(sed -n 's/.*"pid":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$f"); do
			[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = mqttls ] && kill "$pid" 2>/dev/null
		done
	done
	return 0
}

t_cleanup() {
	local pid
	t_stop_labs
	for pid in "${T_PIDS[@]}"; do
		# t_bg of a shell function runs it in a subshell: its children go with it.
		pkill -P "$pid" 2>/dev/null
		kill "$pid" 2>/dev/null
	done
	for pid in "${T_BROKERS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	sleep 0.1
	for pid in "${T_BROKERS[@]}" "${T_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null
	done
	if [ -n "${T_KEEP:-}" ]; then
		echo "# kept $T_TMP" >&2
	else
		rm -rf "$T_TMP"
	fi
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

t_pass() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
t_fail() {
	T_N=$((T_N + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $1"
	shift
	local line
	for line in "$@"; do echo "#   $line"; done
}

# t_ok DESC CMD...: the command exits 0.
t_ok() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then t_pass "$desc"; else t_fail "$desc" "command: $*" "exit: $?" "${out:0:2000}"; fi
}

# t_exit DESC STATUS CMD...: the command exits with STATUS.
t_exit() {
	local desc=$1 want=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ]; then t_pass "$desc"; else t_fail "$desc" "command: $*" "exit $rc, wanted $want" "${out:0:2000}"; fi
}

# t_is DESC GOT WANT
t_is() {
	if [ "$2" == "$3" ]; then t_pass "$1"; else t_fail "$1" "got:    '$2'" "wanted: '$3'"; fi
}

# t_like DESC TEXT REGEX (extended regex, grep -E)
t_like() {
	if printf '%s' "$2" | grep -qE -- "$3"; then t_pass "$1"; else t_fail "$1" "no match for /$3/ in:" "${2:0:3000}"; fi
}

# t_unlike DESC TEXT REGEX
t_unlike() {
	if printf '%s' "$2" | grep -qE -- "$3"; then t_fail "$1" "unexpected /$3/ in:" "${2:0:3000}"; else t_pass "$1"; fi
}

t_skip() { T_N=$((T_N + 1)); echo "ok $T_N - # SKIP $1"; }

t_done() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}

# A TCP port on 127.0.0.1 that was free a moment ago.
t_free_port() {
	"$T_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# t_json FILE_OR_- EXPR: evaluate a Python expression on the parsed JSON as "j"; prints the result
# (strings bare, others as JSON). Example: t_json out.json 'j["findings"][0]["id"]'
t_json() {
	local src=$1 expr=$2
	"$T_PY" -c '
import json, sys
src, expr = sys.argv[1], sys.argv[2]
text = sys.stdin.read() if src == "-" else open(src).read()
j = json.loads(text)
v = eval(expr, {"j": j})
print(v if isinstance(v, str) else json.dumps(v))
' "$src" "$expr"
}

# Make a PKI directory's keys readable by the broker's user, as an administrator would.
t_pki_perms() {
	local dir=$1 k
	chmod 0755 "$dir"
	if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
		for k in "$dir"/*.key; do
			[ -f "$k" ] && chown mosquitto "$k"
		done
	fi
	return 0
}

# t_pki [DIR] [extra certs init args]: a fresh lab PKI; prints its directory.
t_pki() {
	local dir=${1:-$T_TMP/pki}
	shift || true
	"$MQTTLS" certs init --dir "$dir" "$@" >"$T_TMP/pki-init.log" 2>&1 || {
		echo "certs init failed: $(cat "$T_TMP/pki-init.log")" >&2
		return 1
	}
	t_pki_perms "$dir"
	echo "$dir"
}

# t_broker NAME PORT CONF: start a real mosquitto with this configuration and wait (5 s at most)
# until it listens on 127.0.0.1:PORT. Its log is $T_TMP/NAME.log. Returns 1 when it does not come up.
t_broker() {
	local name=$1 port=$2 conf=$3 exe i
	exe=$(command -v mosquitto || echo /usr/sbin/mosquitto)
	printf '%s\n' "$conf" >"$T_TMP/$name.conf"
	chmod 0644 "$T_TMP/$name.conf"
	"$exe" -c "$T_TMP/$name.conf" -v >"$T_TMP/$name.log" 2>&1 &
	local pid=$!
	T_BROKERS+=("$pid")
	eval "T_BROKER_PID_$name=$pid"
	for i in $(seq 1 250); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "# broker $name exited at start:" >&2
			sed 's/^/#   /' "$T_TMP/$name.log" >&2
			return 1
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.02
	done
	echo "# broker $name did not listen on $port:" >&2
	sed 's/^/#   /' "$T_TMP/$name.log" >&2
	return 1
}

# t_broker_stop NAME
t_broker_stop() {
	local var="T_BROKER_PID_$1"
	local pid=${!var:-}
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.02
	done
	kill -9 "$pid" 2>/dev/null
}

# t_broker_exited NAME: wait (10 s at most) until a broker that refused to start has exited, so
# its log is complete before a test reads it. Returns 1 when it is still running.
t_broker_exited() {
	local var="T_BROKER_PID_$1"
	local pid=${!var:-}
	[ -n "$pid" ] || return 0
	for _ in $(seq 1 500); do
		# A zombie still answers kill -0; only wait reaps it, and wait returns once it is gone.
		if ! kill -0 "$pid" 2>/dev/null || [ "$(ps -o stat= -p "$pid" 2>/dev/null)" = "Z" ]; then
			wait "$pid" 2>/dev/null
			return 0
		fi
		sleep 0.02
	done
	return 1
}

# t_bg CMD...: run a command in the background, killed at exit; prints nothing, sets T_LAST_PID.
t_bg() {
	"$@" &
	T_LAST_PID=$!
	T_PIDS+=("$T_LAST_PID")
}

# TLS listener lines for a broker serving the lab PKI on PORT.
t_tls_listener() {
	local port=$1 pki=$2
	printf 'listener %s 127.0.0.1\ncafile %s/ca.crt\ncertfile %s/broker-fullchain.crt\nkeyfile %s/broker.key\n' \
		"$port" "$pki" "$pki" "$pki"
}

# t_jsonl FILE EXPR: a Python expression over L, the list of objects in a JSON Lines file; prints
# the result (strings bare, others as JSON). Helpers: evs(type) = every object with that "type",
# ev(type) = the first one (or {}). Example: t_jsonl out.jsonl 'ev("flow_summary")["outcome"]'
t_jsonl() {
	"$T_PY" -c '
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def evs(t): return [e for e in L if e.get("type") == t]
def ev(t):
    x = evs(t)
    return x[0] if x else {}
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))
' "$1" "$2"
}
