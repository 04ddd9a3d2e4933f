#!/usr/bin/env bash
# Lab 1 (first-tls): the broker's listener has no certificate, so the TLS port speaks plain MQTT;
# the three lines of the README make it speak TLS, verified against the lab CA and only that.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start first-tls
lab_check_fails first-tls PLAINTEXT_PORT
# Not mosquitto_pub: on port 8883 without TLS options it speaks TLS with the system CAs (2.0).
t_ok "a plain MQTT client really gets in on the TLS port" "$T_PY" -c '
import sys, paho.mqtt.publish as p
p.single("t", "m", hostname=sys.argv[1], port=int(sys.argv[2]))' "$LAB_IP" "$LAB_PORT"
lab_hints first-tls 3

# The README's fix.
printf 'cafile %s/ca.crt\ncertfile %s/broker-fullchain.crt\nkeyfile %s/broker.key\n' "$LAB_WD" "$LAB_WD" "$LAB_WD" \
	>>"$LAB_WD/mosquitto.conf"
lab_check_passes first-tls
t_is "the client with another CA is refused with WRONG_CA" "$(t_json "$T_TMP/check.json" 'j["checks"][1]["observed"]')" WRONG_CA
t_ok "mosquitto_pub with the lab CA publishes over TLS" \
	mosquitto_pub -h "$LAB_IP" -p "$LAB_PORT" --cafile "$LAB_WD/ca.crt" -t lab/first -m hello
t_unlike "plain MQTT no longer gets in" "$(mosquitto_pub -h "$LAB_IP" -p "$LAB_PORT" -t t -m m 2>&1; echo "rc=$?")" 'rc=0$'
lab_stop_clean first-tls
t_done
