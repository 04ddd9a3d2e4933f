#!/usr/bin/env bash
# Lab 5 (wrong-ca): the broker's certificate comes from a root made again under the same name;
# devices holding the original root refuse it. A certificate from the original CA passes.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start wrong-ca
lab_check_fails wrong-ca WRONG_CA
subj() { "$MQTTLS" certs show "$1" --json | t_json - 'j[-1]["subject"]'; }
t_is "the regenerated root has exactly the original's name" "$(subj "$LAB_WD/rootCA-regenerated.crt")" \
	"$(subj "$LAB_WD/ca.crt")"
t_unlike "... and another key" "$("$MQTTLS" certs show "$LAB_WD/rootCA-regenerated.crt" --json | t_json - 'j[0]["spki_sha256"]')" \
	"^$("$MQTTLS" certs show "$LAB_WD/ca.crt" --json | t_json - 'j[0]["spki_sha256"]')\$"
t_ok "trusting the regenerated root instead would work (not the fix: the devices have the old one)" \
	mosquitto_pub -h "$LAB_IP" -p "$LAB_PORT" --cafile "$LAB_WD/rootCA-regenerated.crt" -t t -m m
lab_hints wrong-ca 3

# The README's fix.
"$MQTTLS" certs server broker --dir "$LAB_WD" --san "IP:$LAB_IP" --san DNS:localhost --force >/dev/null
[ "$(id -u)" = 0 ] && chown mosquitto "$LAB_WD/broker.key"
lab_check_passes wrong-ca
lab_stop_clean wrong-ca
t_done
