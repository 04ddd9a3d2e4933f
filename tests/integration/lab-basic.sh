#!/usr/bin/env bash
# mqttls lab start/status/stop basic: a real detached mosquitto with the lab PKI, reached by
# the exact mosquitto_pub line mqttls prints, reused while it runs, stopped by its PID only,
# and moved to the next port when 8883 is taken. Lab brokers left running by a failure are
# stopped by lib.sh (t_stop_labs) from their state files, never by a PID that may be reused.
. "$(dirname "$0")/../lib.sh"

MSUB=$(command -v mosquitto_sub)
MPUB=$(command -v mosquitto_pub)
STATE=$MQTTLS_STATE_DIR/labs/basic/state.json

# t_refused DESC CMD...: the command fails.
t_refused() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then t_fail "$desc" "command: $*" "succeeded: $out"; else t_pass "$desc"; fi
}
port_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
is_mosquitto() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = mosquitto ]; }
# A process that exists and is not a zombie (a detached broker's parent is init, which may reap late).
alive() { [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null; }
# Hold 127.0.0.1:PORT (or ::1 with a second argument) with a listener of our own; prints nothing.
hold_port() {
	t_bg "$T_PY" -c '
import socket, sys, time
fam = socket.AF_INET6 if sys.argv[2] == "::1" else socket.AF_INET
s = socket.socket(fam)
# Connections of earlier tests may linger in TIME_WAIT on the port: they must not stop us holding it.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[2], int(sys.argv[1])))
except OSError:
    sys.exit(0)
s.listen(1)
time.sleep(120)
' "$1" "${2:-127.0.0.1}"
	sleep 0.3
}

t_like "lab list shows basic" "$("$MQTTLS" lab list)" "basic +a working TLS broker"

# Whatever holds 8883 on this machine, hold it ourselves when we can: the lab must move on.
hold_port 8883
out=$("$MQTTLS" lab start basic 2>&1)
t_is "lab start basic exits 0" "$?" 0
t_like "it says where it runs" "$out" "Lab 'basic' is running: mosquitto \(pid [0-9]+\) with TLS on localhost:[0-9]+"
t_ok "it records a state file" test -f "$STATE"
pid=$(t_json "$STATE" 'j["pid"]')
port=$(t_json "$STATE" 'j["port"]')
ca=$(t_json "$STATE" 'j["cafile"]')
t_ok "the recorded PID is a mosquitto" is_mosquitto "$pid"
t_unlike "8883 was taken, so another port" "$port" "^8883$"
t_like "and it says so" "$out" "port 8883 was taken, so it uses $port"
t_like "the port is the next free one above 8883" "$port" "^88(8[4-9]|9[0-9])$|^89[0-9][0-9]$"
t_ok "it listens on 127.0.0.1:$port" port_listening "$port"
t_is "the CA is in the state directory" "$ca" "$MQTTLS_STATE_DIR/pki/ca.crt"
t_like "it prints the mosquitto_pub line" "$out" "mosquitto_pub -h localhost -p $port --cafile $ca -t lab/test -m hello"
t_like "it prints the diagnose line" "$out" "mqttls diagnose -h localhost -p $port --cafile $ca"
t_is "broker key is 0600" "$(stat -c %a "$MQTTLS_STATE_DIR/pki/broker.key")" 600
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
	t_is "as root, the broker key belongs to mosquitto" "$(stat -c %U "$MQTTLS_STATE_DIR/pki/broker.key")" mosquitto
	t_is "the CA key stays root's" "$(stat -c %U "$MQTTLS_STATE_DIR/pki/ca.key")" root
fi

# The exact line mqttls printed, run as printed, and a subscriber that receives it.
"$MSUB" -h localhost -p "$port" --cafile "$ca" -t 'lab/#' -C 1 -W 10 >"$T_TMP/sub.out" 2>&1 &
sub=$!
T_PIDS+=("$sub")
sleep 0.5
line=$(printf '%s\n' "$out" | grep -m1 -o 'mosquitto_pub .*')
t_ok "the printed mosquitto_pub line publishes" bash -c "$line"
wait "$sub"
t_is "a subscriber through the lab broker receives it" "$(cat "$T_TMP/sub.out")" "hello"
if [ "$(t_json "$STATE" 'j["ipv6"]')" = true ]; then
	t_ok "it serves ::1 too" "$MPUB" -h ::1 -p "$port" --cafile "$ca" -t lab/test -m v6
else
	t_skip "no IPv6 loopback on this machine"
fi
t_ok "publish by 127.0.0.1" "$MPUB" -h 127.0.0.1 -p "$port" --cafile "$ca" -t lab/test -m v4
t_refused "a client without the lab CA is refused" "$MPUB" -h localhost -p "$port" -t lab/test -m x \
	--cafile /etc/ssl/certs/ca-certificates.crt

out=$("$MQTTLS" lab start basic 2>&1)
t_is "a second start exits 0" "$?" 0
t_like "and reuses the running broker" "$out" "was already running \(reused\): mosquitto \(pid $pid\)"
t_is "same PID in the state file" "$(t_json "$STATE" 'j["pid"]')" "$pid"
t_is "only one lab broker" "$(pgrep -f -c "mosquitto -c $MQTTLS_STATE_DIR/labs/basic/mosquitto.conf")" 1
t_like "lab status says it runs" "$("$MQTTLS" lab status basic)" "Lab 'basic' is running: .*localhost:$port"
t_is "lab status --json: running" "$("$MQTTLS" lab status basic --json | t_json - '[j[0]["running"], j[0]["port"]]')" "[true, $port]"

ca_before=$(sha256sum <"$ca")
out=$("$MQTTLS" lab stop basic 2>&1)
t_is "lab stop exits 0" "$?" 0
t_like "and says what it stopped" "$out" "Stopped lab 'basic' \(mosquitto pid $pid, port $port\)"
t_refused "no process is left" alive "$pid"
t_refused "the port is free" port_listening "$port"
t_refused "the state file is gone" test -f "$STATE"
t_like "lab status: not running" "$("$MQTTLS" lab status basic)" "Lab 'basic' is not running"
t_like "a second stop: was not running" "$("$MQTTLS" lab stop basic)" "Lab 'basic' was not running"
t_exit "and exits 0" 0 "$MQTTLS" lab stop basic

# Started again: the CA is kept (a device flashed with it keeps working), the broker is new.
out=$("$MQTTLS" lab start basic 2>&1)
t_is "start again exits 0" "$?" 0
pid2=$(t_json "$STATE" 'j["pid"]')
t_is "the lab CA is the same one" "$(sha256sum <"$ca")" "$ca_before"
t_unlike "a new broker" "$pid2" "^$pid$"

# A broker that died behind mqttls's back leaves a stale state file: status and start see it.
kill -9 "$pid2"
sleep 0.2
t_like "a killed broker is reported not running" "$("$MQTTLS" lab status basic)" "is not running"
out=$("$MQTTLS" lab start basic 2>&1)
t_like "start replaces a stale state" "$out" "Lab 'basic' is running"
pid3=$(t_json "$STATE" 'j["pid"]')
t_ok "with a live mosquitto" is_mosquitto "$pid3"
t_ok "stop it" "$MQTTLS" lab stop

# stop signals only a mosquitto: a recorded PID that now belongs to something else survives.
sleep 60 &
other=$!
T_PIDS+=("$other")
mkdir -p "$(dirname "$STATE")"
printf '{"name":"basic","pid":%d,"port":8883}\n' "$other" >"$STATE"
"$MQTTLS" lab stop basic >/dev/null 2>&1
t_ok "lab stop never signals a PID that is not mosquitto" alive "$other"
kill "$other"

# An address taken on ::1 alone is skipped too (mosquitto would fail to bind it).
if ip -6 addr show lo 2>/dev/null | grep -q '::1/128'; then
	hold_port "$port" ::1
	out=$("$MQTTLS" lab start basic 2>&1)
	p4=$(t_json "$STATE" 'j["port"]')
	t_unlike "a port held on ::1 only is skipped" "$p4" "^$port$"
	t_ok "the broker still serves ::1" "$MPUB" -h ::1 -p "$p4" --cafile "$ca" -t lab/test -m x
	"$MQTTLS" lab stop >/dev/null
else
	t_skip "no IPv6 loopback on this machine"
fi

t_exit "lab start of an unknown lab is a usage error" 2 "$MQTTLS" lab start nope
t_like "and names the labs" "$("$MQTTLS" lab start nope 2>&1)" "no lab 'nope'"
t_exit "lab start without a name is a usage error" 2 "$MQTTLS" lab start
t_exit "an unknown lab subcommand is a usage error" 2 "$MQTTLS" lab frob
t_like "lab --help" "$("$MQTTLS" lab --help)" "^usage: mqttls lab"

t_done
