# Helpers for the MITM and device suites (sourced after lib.sh): a real mqttls mitm in the
# background with its JSON log, queries over that log, and the real Python/paho clients.
#
#   t_mitm relay --listen 127.0.0.1:$mp --upstream localhost:$bp --upstream-cafile "$pki/ca.crt"
#   t_log relay 'count(ev, "connect")'          # Python over the log's events as "ev"
#   t_mitm_stop relay; t_is "mitm exits cleanly" "$T_MITM_RC" 0

T_MC=("$T_PY" "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/mqtt-clients.py")

# t_mc ARGS...: run tests/mqtt-clients.py with Debian's python3 (paho).
t_mc() { "${T_MC[@]}" "$@"; }

# t_mitm NAME ARGS...: start "mqttls mitm ARGS --json-log $T_TMP/NAME.jsonl" and wait (10 s at most)
# until its log says "listening". Output in $T_TMP/NAME.out, stderr in $T_TMP/NAME.err.
t_mitm() {
	local name=$1 i
	shift
	rm -f "$T_TMP/$name.jsonl"
	"$MQTTLS" mitm --json-log "$T_TMP/$name.jsonl" "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err" &
	local pid=$!
	T_PIDS+=("$pid")
	eval "T_MITM_PID_$name=$pid"
	for i in $(seq 1 500); do
		if grep -q '"event":"listening"' "$T_TMP/$name.jsonl" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "# mitm $name exited at start:" >&2
			sed 's/^/#   /' "$T_TMP/$name.err" >&2
			return 1
		fi
		sleep 0.02
	done
	echo "# mitm $name did not start listening" >&2
	return 1
}

# t_mitm_stop NAME: SIGTERM, wait for it; T_MITM_RC is its exit status (ASan leak reports make it
# non-zero, so a clean 0 also means no leak).
t_mitm_stop() {
	local var="T_MITM_PID_$1"
	local pid=${!var:-}
	T_MITM_RC=
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	T_MITM_RC=$?
}

# t_log NAME EXPR: evaluate EXPR over the events of $T_TMP/NAME.jsonl as "ev" (a list of dicts);
# helpers: count(ev, "event", **fields) and pick(ev, "event", **fields).
t_log() {
	"$T_PY" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def pick(ev, name, **kw):
    return [e for e in ev if e.get("event") == name and all(e.get(k) == v for k, v in kw.items())]
def count(ev, name, **kw):
    return len(pick(ev, name, **kw))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))
' "$T_TMP/$1.jsonl" "$2"
}

# t_wait_log NAME EXPR: wait (10 s at most) until EXPR over the log is true.
t_wait_log() {
	local i
	for i in $(seq 1 500); do
		[ "$(t_log "$1" "$2" 2>/dev/null)" = "true" ] && return 0
		sleep 0.02
	done
	return 1
}

# t_passwd FILE USER PASS: a mosquitto password file readable by the broker's user.
t_passwd() {
	: >"$1"
	mosquitto_passwd -b "$1" "$2" "$3" >/dev/null 2>&1
	chmod 0644 "$1"
}
