#!/usr/bin/env bash
# Lab 4 (anonymous): Mosquitto 2.x with no allow_anonymous and no password file refuses everyone.
# "allow_anonymous true" lets the sensor in and everyone else too (the check refuses that); a
# password file made with mosquitto_passwd lets the sensor in and keeps the rest out.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start anonymous
lab_check_fails anonymous "(BAD_CREDENTIALS|CONF_ANONYMOUS_UNSET)"
t_is "only the sensor's own check fails" "$(t_json "$T_TMP/check.json" '[c["pass"] for c in j["checks"]]')" \
	'[false, true, true]'
t_like "the real broker's log shows the CONNACK 5" "$(cat "$LAB_DIR/mosquitto.log")" "Sending CONNACK to .*\(0, 5\)"
lab_hints anonymous 3

# The tutorial's shortcut: everyone is let in.
echo "allow_anonymous true" >>"$LAB_WD/mosquitto.conf"
lab_check_json anonymous
t_is "allow_anonymous true: the sensor gets in" "$(t_json "$T_TMP/check.json" 'j["checks"][0]["pass"]')" true
t_is "... and so does a client without credentials: check fails" "$LAB_CHECK_RC" 1
t_is "... which the check names" "$(t_json "$T_TMP/check.json" 'j["checks"][1]["observed"]')" ok

# The README's fix.
sed -i '/^allow_anonymous true$/d' "$LAB_WD/mosquitto.conf"
mosquitto_passwd -c -b "$LAB_WD/passwd" sensor1 greenhouse-42
printf 'allow_anonymous false\npassword_file %s/passwd\n' "$LAB_WD" >>"$LAB_WD/mosquitto.conf"
lab_check_passes anonymous
t_like "a wrong password is refused as such" "$(t_json "$T_TMP/check.json" 'j["checks"][2]["observed"]')" \
	'BAD_CREDENTIALS|NOT_AUTHORIZED'
lab_stop_clean anonymous
t_done
