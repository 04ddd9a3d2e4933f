#!/usr/bin/env bash
# diagnose --broker-conf / --broker-log: the broker-side cause becomes the root cause over the
# wire-side symptom, with real brokers (one that cannot start, one that refuses everyone).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diagnose.inc"

pki=$(t_pki) || { t_fail "certs init"; t_done; exit 1; }
ca=$pki/ca.crt

# A key the broker's user cannot read: mosquitto does not start, the port is refused.
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
	mkdir -m 0755 "$T_TMP/locked"
	cp "$pki/broker.key" "$T_TMP/locked/broker.key"
	chown root:root "$T_TMP/locked/broker.key"
	chmod 0600 "$T_TMP/locked/broker.key"
	pk=$(t_free_port)
	printf 'listener %s 127.0.0.1\ncafile %s\ncertfile %s/broker-fullchain.crt\nkeyfile %s/locked/broker.key\nallow_anonymous true\n' \
		"$pk" "$ca" "$pki" "$T_TMP" >"$T_TMP/locked.conf"
	chmod 0644 "$T_TMP/locked.conf"
	mosquitto -c "$T_TMP/locked.conf" >"$T_TMP/locked.log" 2>&1
	t_is "the real mosquitto refuses to start on it" "$?" "1"
	dg_root unreadable-key BROKER_CANNOT_READ_FILE 1 -h localhost -p "$pk" --cafile "$ca" --broker-conf "$T_TMP/locked.conf"
	dg_has unreadable-key TCP_REFUSED
	dg_root unreadable-key-log BROKER_CANNOT_READ_FILE 1 -h localhost -p "$pk" --cafile "$ca" --broker-log "$T_TMP/locked.log"
	dg_root no-conf TCP_REFUSED 1 -h localhost -p "$pk" --cafile "$ca"
else
	t_skip "needs root and the mosquitto user to make a key the broker cannot read"
fi

# A listener with neither allow_anonymous nor a password file: every client is refused.
pa=$(t_free_port)
conf="$(dg_listener "$pa" "$pki" broker-fullchain.crt broker.key)"
t_broker anon "$pa" "$conf" || t_fail "broker starts"
dg_root anon-live ANONYMOUS_NOT_ALLOWED 1 -h localhost -p "$pa" --cafile "$ca"
dg_root anon-conf CONF_ANONYMOUS_UNSET 1 -h localhost -p "$pa" --cafile "$ca" --broker-conf "$T_TMP/anon.conf"
dg_has anon-conf ANONYMOUS_NOT_ALLOWED

# A configuration that cannot be read is said, not a crash.
dg none -h localhost -p "$pa" --cafile "$ca" --broker-conf "$T_TMP/no-such.conf"
t_is "an unreadable --broker-conf: exit 1" "$DG_RC" "1"
t_like "and one sentence on stderr" "$(cat "$T_TMP/none.err")" 'no-such\.conf'
t_is "the JSON is still complete" "$(t_json "$T_TMP/none.json" 'len(j["stages"])')" "6"

t_done
