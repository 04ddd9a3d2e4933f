#!/usr/bin/env bash
# Lab 11 (pinning): a device that trusts only the lab CA is fooled by a rogue whose forgery the
# stolen intermediate signed; pinning the broker's public key refuses it and keeps the real broker.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start pinning
t_ok "the device's settings are in the student's directory" test -f "$LAB_WD/device.conf"
lab_check_fails pinning connected
t_like "the check says the forgery passed every check the device makes" "$(t_json "$T_TMP/check.json" \
	'[c["detail"] for c in j["checks"] if not c["pass"]][0]')" "CA verified, host name $LAB_IP matched"
t_is "the rogue with a throw-away CA is already refused" "$(t_json "$T_TMP/check.json" 'j["checks"][2]["pass"]')" true
lab_hints pinning 3

# Pinning the wrong thing: the intermediate's key. The real broker is refused now.
spki() { "$MQTTLS" certs show "$1" --json | t_json - 'j[0]["spki_sha256"]'; }
cp "$LAB_WD/device.conf" "$T_TMP/device.conf.orig"
echo "pin $(spki "$MQTTLS_STATE_DIR/pki/intermediate.crt")" >>"$LAB_WD/device.conf"
lab_check_json pinning
t_is "a pin on the intermediate: check still fails" "$LAB_CHECK_RC" 1
t_is "... the real broker is refused" "$(t_json "$T_TMP/check.json" 'j["checks"][1]["observed"]')" refused
t_like "... because the pin matches neither its certificate nor its key" \
	"$(t_json "$T_TMP/check.json" 'j["checks"][1]["detail"]')" "pin matches neither"

# The README's fix: the broker's own public key.
cp "$T_TMP/device.conf.orig" "$LAB_WD/device.conf"
echo "pin $(spki "$LAB_WD/broker.crt")" >>"$LAB_WD/device.conf"
lab_check_passes pinning
t_like "the real broker is accepted by the public key pin" "$(t_json "$T_TMP/check.json" 'j["checks"][1]["detail"]')" \
	"public key pin matched"

# reset puts the fault back and keeps the student's work aside.
out=$("$MQTTLS" lab reset pinning 2>&1)
t_is "lab reset exits 0" "$?" 0
t_like "it says where the old files are" "$out" "Your files from before are in $LAB_DIR/files.before-reset"
t_like "... with the pin in them" "$(cat "$LAB_DIR/files.before-reset/device.conf")" '^pin |
pin '
t_unlike "the device has no pin again" "$(cat "$LAB_WD/device.conf")" '(^|
)pin '
lab_check_fails pinning connected
lab_stop_clean pinning
t_done
