#!/usr/bin/env bash
# Lab 6 (expired): the broker's certificate expired yesterday, and the student's device never sets
# its clock. A new certificate from the same intermediate passes the diagnosis (and is far from
# expiry), but the device, in 1970, still finds it not yet valid; with its clock set over NTP
# (clock ntp in device.conf, configTime() in the sketch) it connects.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start expired
lab_check_fails expired CERT_EXPIRED
lab_check_fails expired CERT_NOT_YET_VALID
t_like "the device check is a real connection with the student's clock" \
	"$(t_json "$T_TMP/check.json" '[c["command"] for c in j["checks"] if c["kind"] == "device"][0]')" \
	"^mqttls device -h $LAB_IP -p $LAB_PORT --cafile .*ca\.crt --clock unset\$"
t_like "... and it fails as an ESP32 in 1970 does" \
	"$(t_json "$T_TMP/check.json" '[c["detail"] for c in j["checks"] if c["kind"] == "device"][0]')" \
	"rc=-2 .*not yet valid .*1970-01-01T00:00:00Z.*-0x2700 .*verify flags 0x200"
t_like "certs show says how long ago" "$("$MQTTLS" certs show "$LAB_WD/broker-fullchain.crt")" "expired|-[0-9]+ days"
lab_hints expired 4
sketch=$("$MQTTLS" lab sketch expired)
t_like "the sketch sets its clock before the first handshake" "$sketch" 'configTime\(0, 0, "pool\.ntp\.org"'
t_like "... and its insecure variant is the device that never does" "$sketch" '#if !LAB_INSECURE
  set_clock\(\);
#endif'

# The README's first fix: a new certificate. The diagnosis passes; the device in 1970 does not.
"$MQTTLS" certs server broker --dir "$LAB_WD" --san "IP:$LAB_IP" --san DNS:localhost --force >/dev/null
[ "$(id -u)" = 0 ] && chown mosquitto "$LAB_WD/broker.key"
lab_check_json expired
t_is "with a new certificate the check still fails" "$LAB_CHECK_RC" 1
t_is "... only for the device's clock" \
	"$(t_json "$T_TMP/check.json" '" ".join("%s/%s/%s" % (c["kind"], c["observed"], c["finding"]) for c in j["checks"] if not c["pass"])')" \
	"device/refused/CERT_NOT_YET_VALID"

# The second: the clock set over NTP before the first handshake.
t_like "device.conf starts with the clock unset" "$(cat "$LAB_WD/device.conf")" $'\nclock +unset'
sed -i 's/^clock .*/clock    ntp/' "$LAB_WD/device.conf"
lab_check_passes expired
t_unlike "the passing device check names no clock of its own" \
	"$(t_json "$T_TMP/check.json" '[c["command"] for c in j["checks"] if c["kind"] == "device"][0]')" "--clock"
lab_stop_clean expired
t_done
