#!/usr/bin/env bash
# Lab 9 (sniff): the sensor's user name and password are read off the wire on the plaintext port
# by a real capture; after moving it to TLS and closing the plaintext port, the capture sees only
# a TLS handshake, and nobody can log in in clear.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start sniff
t_like "it has a plaintext port too" "$LAB_PLAIN" '^1[89][0-9][0-9]$'
t_ok "both ports listen" lab_port_listening "$LAB_PLAIN" "$LAB_IP"
lab_check_fails sniff PLAINTEXT_PORT
t_like "the capture read the password" \
	"$(t_json "$T_TMP/check.json" 'j["checks"][0]["detail"]')" "user name 'sensor7', password 'orchid-blue-77'"
t_is "the plaintext port still takes a login" "$(t_json "$T_TMP/check.json" 'j["checks"][1]["observed"]')" connected

# What the student does first: capture it themselves while the check runs the sensor.
"$MQTTLS" capture -i lo --port "$LAB_PLAIN" --duration 8 --json >"$T_TMP/cap.jsonl" 2>"$T_TMP/cap.err" &
cap=$!
T_PIDS+=("$cap")
sleep 1
"$MQTTLS" lab check sniff >/dev/null 2>&1
wait "$cap"
t_like "mqttls capture shows the CONNECT with the password" "$(cat "$T_TMP/cap.jsonl")" \
	'"type":[[:space:]]*"mqtt_connect".*"password":[[:space:]]*"orchid-blue-77"'
lab_hints sniff 3

# Half the fix: the sensor on TLS, the plaintext port still open.
sed -i -e "s/^port .*/port     $LAB_PORT/" -e 's/^tls .*/tls      yes\nverify   ca\ncafile   ca.crt/' "$LAB_WD/device.conf"
lab_check_json sniff
t_is "the sensor on TLS: the capture sees no password" "$(t_json "$T_TMP/check.json" 'j["checks"][0]["pass"]')" true
t_like "... only a TLS handshake" "$(t_json "$T_TMP/check.json" 'j["checks"][0]["detail"]')" "1 TLS handshake captured"
t_is "... but the plaintext port still takes a login: check fails" "$LAB_CHECK_RC" 1

# The rest of the README's fix.
sed -i "/^# Plain MQTT/d; /^listener $LAB_PLAIN /d" "$LAB_WD/mosquitto.conf"
lab_check_passes sniff
t_unlike "the plaintext port is closed" "$(lab_port_listening "$LAB_PLAIN" "$LAB_IP" && echo open)" open
lab_stop_clean sniff
t_done
