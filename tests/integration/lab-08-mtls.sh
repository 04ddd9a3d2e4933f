#!/usr/bin/env bash
# Lab 8 (mtls): require_certificate, use_identity_as_username and a pattern ACL: a client without
# a certificate is turned away, device1 works on its own topics, and cannot publish as device2.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start mtls
lab_check_fails mtls ok
t_is "before: no certificate needed, and device1 can write device2's topics" \
	"$(t_json "$T_TMP/check.json" '[c["pass"] for c in j["checks"]]')" '[false, true, false]'
lab_hints mtls 3

# Step by step, as the hints go: certificates first.
sed -i "s|^keyfile $LAB_WD/broker.key\$|&\nrequire_certificate true\nuse_identity_as_username true|" "$LAB_WD/mosquitto.conf"
lab_check_json mtls
t_is "require_certificate: a client without one is turned away" "$(t_json "$T_TMP/check.json" 'j["checks"][0]["observed"]')" \
	CLIENT_CERT_REQUIRED
t_is "... but device1 still writes device2's topics" "$(t_json "$T_TMP/check.json" 'j["checks"][2]["pass"]')" false

# Then the ACL: the README's fix, complete.
sed -i 's/^allow_anonymous true$/allow_anonymous false/' "$LAB_WD/mosquitto.conf"
echo "acl_file $LAB_WD/acl.conf" >>"$LAB_WD/mosquitto.conf"
echo 'pattern readwrite devices/%u/#' >"$LAB_WD/acl.conf"
lab_check_passes mtls
t_is "device1 on device2's topic: ACL_DENIED" "$(t_json "$T_TMP/check.json" 'j["checks"][2]["observed"]')" ACL_DENIED
t_ok "device2 with its own certificate works on its own topic" mosquitto_pub -h "$LAB_IP" -p "$LAB_PORT" \
	--cafile "$LAB_WD/ca.crt" --cert "$LAB_WD/device2.crt" --key "$LAB_WD/device2.key" -t devices/device2/telemetry -m 1
lab_stop_clean mtls
t_done
