#!/usr/bin/env bash
# Lab 13 (chain): the broker presents its certificate without the intermediate; a device holding
# only the root cannot build the path. The full chain in certfile passes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start chain
lab_check_fails chain INCOMPLETE_CHAIN
t_ok "a client that also holds the intermediate gets through (not the fix: devices hold the root)" bash -c \
	"cat '$LAB_WD/ca.crt' '$LAB_WD/intermediate.crt' >'$T_TMP/both.crt' &&
	 mosquitto_pub -h '$LAB_IP' -p '$LAB_PORT' --cafile '$T_TMP/both.crt' -t t -m m"
lab_hints chain 3

cat "$LAB_WD/broker.crt" "$LAB_WD/intermediate.crt" >"$LAB_WD/broker-fullchain.crt"
sed -i "s|^certfile .*|certfile $LAB_WD/broker-fullchain.crt|" "$LAB_WD/mosquitto.conf"
lab_check_passes chain
lab_stop_clean chain
t_done
