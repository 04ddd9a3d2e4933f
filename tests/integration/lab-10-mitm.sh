#!/usr/bin/env bash
# Lab 10 (mitm): the student's device starts with setInsecure() and is caught by a rogue broker
# (its password captured); with setCACert() it refuses the rogue and still reaches the broker.
# The MITM engine's own demonstration runs beside it (tests/integration/lab-mitm.sh covers it).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start mitm
t_like "the demonstration is described" "$LAB_START_OUT" 'INSECURE LAB MITM: the rogue relay listens on 127\.0\.0\.1:[0-9]+'
t_like "four companions run beside the broker" "$(lab_pids mitm | wc -l)" '^5$'
lab_check_fails mitm INSECURE_VERIFY_OFF
t_like "the rogue got the student's password" \
	"$(t_json "$T_TMP/check.json" '[c["detail"] for c in j["checks"] if not c["pass"]][0]')" \
	"password 'my-secret-password'"
lab_hints mitm 3

sed -i 's/^verify   none/verify   ca/' "$LAB_WD/device.conf"
lab_check_passes mitm
t_like "the device refused the forgery with what an ESP32 logs" \
	"$(t_json "$T_TMP/check.json" 'j["checks"][0]["detail"]')" "rc=-2 .*MBEDTLS_ERR_X509_CERT_VERIFY_FAILED"

# A lab running on loopback is not moved to a classroom range by another start (the classroom
# itself: tests/integration/lab-instructor-mitm.sh).
t_exit "a running MITM lab is not moved to a classroom LAN by a second start" 1 "$MQTTLS" lab start mitm --lab-bind 10.0.0.0/8
lab_stop_clean mitm
t_done
