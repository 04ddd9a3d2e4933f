#!/usr/bin/env bash
# Lab 2 (ip-san): the broker's certificate names host names only; a device connecting by IP
# refuses it. Issued again with the IP in its SAN (and the new key given to mosquitto), it passes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start ip-san
lab_check_fails ip-san IP_NOT_IN_SAN
t_like "the evidence names the address and what the certificate has" \
	"$(t_json "$T_TMP/check.json" 'j["checks"][0]["detail"]')" "$LAB_IP"
t_ok "by name the same broker is fine" mosquitto_pub -h localhost -p "$LAB_PORT" --cafile "$LAB_WD/ca.crt" -t t -m m
lab_hints ip-san 3

# Half the fix: the new certificate, its key still root's (0600): the broker cannot start.
"$MQTTLS" certs server broker --dir "$LAB_WD" --san "IP:$LAB_IP" --san DNS:localhost --force >/dev/null
if [ "$(id -u)" = 0 ]; then
	lab_check_json ip-san
	t_is "a new key the broker's user cannot read: check fails" "$LAB_CHECK_RC" 1
	t_like "... and says the broker is down and why" "$(t_json "$T_TMP/check.json" 'j["broker_error"]')" \
		"Unable to load server key file.*Permission denied"
	chown mosquitto "$LAB_WD/broker.key"
fi
lab_check_passes ip-san
lab_stop_clean ip-san
t_done
