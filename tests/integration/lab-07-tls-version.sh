#!/usr/bin/env bash
# Lab 7 (tls-version): the broker accepts TLS 1.3 only; a device that speaks 1.2 at most shares no
# version with it. tls_version tlsv1.2 (mosquitto's minimum) lets both in.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lab-lib.sh"

lab_start tls-version
lab_check_fails tls-version TLS_VERSION_MISMATCH
t_is "a TLS 1.3 client is fine meanwhile" "$(t_json "$T_TMP/check.json" 'j["checks"][1]["pass"]')" true
t_ok "openssl s_client with TLS 1.3 connects" bash -c \
	"openssl s_client -connect $LAB_IP:$LAB_PORT -tls1_3 -CAfile $LAB_WD/ca.crt </dev/null 2>&1 | grep -q 'TLSv1.3'"
lab_hints tls-version 3

# Too far the other way: TLS 1.1 is not offered by OpenSSL 3 at its default level anyway, and
# the check would name WEAK_TLS if the broker accepted it. The README's fix:
sed -i 's/^tls_version tlsv1\.3$/tls_version tlsv1.2/' "$LAB_WD/mosquitto.conf"
lab_check_passes tls-version
lab_stop_clean tls-version
t_done
