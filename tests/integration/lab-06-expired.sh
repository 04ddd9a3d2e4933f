#!/usr/bin/env bash
# Lab 6 (expired): the broker's certificate expired yesterday; a new one from the same
# intermediate passes (and is far from expiry).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start expired
lab_check_fails expired CERT_EXPIRED
t_like "certs show says how long ago" "$("$MQTTLS" certs show "$LAB_WD/broker-fullchain.crt")" "expired|-[0-9]+ days"
lab_hints expired 3
t_like "the sketch sets its clock before the first handshake" "$("$MQTTLS" lab sketch expired)" 'configTime\(0, 0, "pool\.ntp\.org"'

"$MQTTLS" certs server broker --dir "$LAB_WD" --san "IP:$LAB_IP" --san DNS:localhost --force >/dev/null
[ "$(id -u)" = 0 ] && chown mosquitto "$LAB_WD/broker.key"
lab_check_passes expired
lab_stop_clean expired
t_done
