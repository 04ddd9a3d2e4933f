#!/usr/bin/env bash
# Lab 3 (key-perms): mosquitto, started as root, drops to the user mosquitto before it reads its
# files, which sit in a home directory without x, the key owned by root 0600: the real broker does
# not start. The fix opens the directory and gives the key to mosquitto, still 0600; the shortcut
# (a world-readable key) starts the broker but does not pass.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

if [ "$(id -u)" != 0 ] || ! id mosquitto >/dev/null 2>&1; then
	out=$("$MQTTLS" lab start key-perms 2>&1)
	t_like "without root the lab says it needs root" "$out" "needs root"
	t_done
	exit 0
fi

lab_start key-perms
HOME_DIR=$LAB_DIR/home/student
t_is "the key is root's, mode 0600" "$(stat -c '%U %a' "$LAB_WD/broker.key")" "root 600"
t_is "the home directory is 0700" "$(stat -c %a "$HOME_DIR")" 700
t_like "start says the broker did not start, in mosquitto's words" "$LAB_START_OUT" \
	"its broker is not running: .*Error: Unable to load CA certificates.*\(Permission denied\)"
t_unlike "nothing listens" "$(lab_port_listening "$LAB_PORT" && echo open)" open
t_like "the real mosquitto's log says so" "$(cat "$LAB_DIR/mosquitto.log")" "Permission denied"
lab_check_fails key-perms BROKER_CANNOT_READ_FILE
t_like "the evidence names the directory the user mosquitto cannot enter" \
	"$(t_json "$T_TMP/check.json" 'j["checks"][0]["detail"]')" "home/student"
lab_hints key-perms 3

# While its broker is down, another program takes the lab's port: the check must not diagnose it.
t_bg "$T_PY" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
s.settimeout(60)
while True:
    c, _ = s.accept()
    c.close()
' "$LAB_PORT"
intruder=$T_LAST_PID
for _ in $(seq 1 100); do lab_port_listening "$LAB_PORT" && break; sleep 0.05; done
lab_check_json key-perms
t_is "another program on the lab's port: nothing is diagnosed" \
	"$(t_json "$T_TMP/check.json" '[c["observed"] for c in j["checks"]]')" '["port taken", "port taken"]'
t_like "... and the check says what to do" "$(t_json "$T_TMP/check.json" 'j["checks"][0]["detail"]')" "mqttls lab reset key-perms"
kill "$intruder"
wait "$intruder" 2>/dev/null

# The directory alone: mosquitto now stops at the key.
chmod o+x "$HOME_DIR"
lab_check_json key-perms
t_is "the directory fixed, the key still root's: check fails" "$LAB_CHECK_RC" 1
t_like "... the broker now stops at the key" "$(t_json "$T_TMP/check.json" 'j["broker_error"]')" \
	"Unable to load server key file"

# The shortcut: a key everyone can read. The broker starts; the check refuses it.
chmod 644 "$LAB_WD/broker.key"
lab_check_json key-perms
t_is "a world-readable key: the broker runs" "$(t_json "$T_TMP/check.json" 'j["broker_running"]')" true
t_is "... and the first check passes" "$(t_json "$T_TMP/check.json" 'j["checks"][0]["pass"]')" true
t_is "... but the lab does not" "$LAB_CHECK_RC" 1
t_is "... because the key is too open" "$(t_json "$T_TMP/check.json" 'j["checks"][1]["finding"]')" KEY_PERMISSIONS_TOO_OPEN

# The README's fix.
chmod 600 "$LAB_WD/broker.key"
chown mosquitto "$LAB_WD/broker.key"
lab_check_passes key-perms
lab_stop_clean key-perms
t_done
