#!/usr/bin/env bash
# Lab 12 (confusion): a device that checks the CA but not the host name accepts a certificate
# the lab CA issued for another machine; checking the name refuses it.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start confusion
lab_check_fails confusion INSECURE_VERIFY_OFF
t_like "the rogue was accepted with the name unchecked" \
	"$(t_json "$T_TMP/check.json" '[c["detail"] for c in j["checks"] if not c["pass"]][0]')" "host name NOT checked"
t_like "the check prints a command that does the same" \
	"$(t_json "$T_TMP/check.json" 'j["checks"][0]["command"]')" "--forge-name other-device\.lab .*--skip-cn-check"
lab_hints confusion 3

# The README's fix.
sed -i 's/^verify  ca-only/verify  ca/' "$LAB_WD/device.conf"
lab_check_passes confusion
t_like "the device refused the forgery in the handshake" \
	"$(t_json "$T_TMP/check.json" 'j["checks"][0]["detail"]')" "rc=-2 .*(name|IP address) mismatch"

# A settings file the student broke is an observation, not a crash.
echo "verify sometimes" >>"$LAB_WD/device.conf"
lab_check_json confusion
t_is "a broken device.conf: check fails" "$LAB_CHECK_RC" 1
t_like "... saying which line" "$(t_json "$T_TMP/check.json" 'j["checks"][0]["detail"]')" "device.conf:[0-9]+: verify"
lab_stop_clean confusion
t_done
