#!/usr/bin/env bash
# diagnose --broker-conf / --broker-log against real brokers: when the broker's side explains
# what the connection showed, that is the root cause (the first finding).
. "$(dirname "$0")/../lib.sh"

MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
pki=$(t_pki) || { t_fail "certs init"; t_done; exit 1; }
"$MQTTLS" certs broken dns-only --dir "$pki" >/dev/null 2>&1 || t_fail "certs broken dns-only"
t_pki_perms "$pki"
OUT=$T_TMP/out.json

diag() { # ARGS...: diagnose --json; status in $DRC, JSON in $OUT
	"$MQTTLS" diagnose "$@" --json --timeout 3 >"$OUT" 2>"$T_TMP/diag.err"
	DRC=$?
}
ids() { t_json "$OUT" '" ".join(f["id"] for f in j["findings"])'; }
first() { t_json "$OUT" 'j["findings"][0]["id"] if j["findings"] else ""'; }
conf() { printf '%s\n' "$2" >"$T_TMP/$1.conf"; chmod 0644 "$T_TMP/$1.conf"; echo "$T_TMP/$1.conf"; }

# ---- the broker cannot read its key: refused, and why ----------------------------------------
D=$T_TMP/keys
mkdir -p "$D"
cp "$pki/broker.key" "$D/"
chown root:root "$D/broker.key"
chmod 0600 "$D/broker.key"
P=$(t_free_port)
f=$(conf nokey "listener $P 127.0.0.1
cafile $pki/ca.crt
certfile $pki/broker-fullchain.crt
keyfile $D/broker.key
allow_anonymous true")
timeout 5 "$MOSQ" -c "$f" >"$T_TMP/nokey.log" 2>&1
t_unlike "the real broker exits (it cannot read its key)" "$?" "^0$"
diag -h localhost -p "$P" --cafile "$pki/ca.crt"
t_is "without --broker-conf: TCP_REFUSED is all the wire says" "$(first)" TCP_REFUSED
diag -h localhost -p "$P" --cafile "$pki/ca.crt" --broker-conf "$f"
t_is "with --broker-conf: the root cause is the unreadable key" "$(first)" BROKER_CANNOT_READ_FILE
t_is "... then the refused connection" "$(t_json "$OUT" 'j["findings"][1]["id"]')" TCP_REFUSED
t_like "... which says it follows from it" "$(t_json "$OUT" 'j["findings"][1]["detail"]')" "follows from BROKER_CANNOT_READ_FILE"
t_is "... exit 1" "$DRC" 1
diag -h localhost -p "$P" --cafile "$pki/ca.crt" --broker-log "$T_TMP/nokey.log"
t_is "with --broker-log alone: the log names the key" "$(first)" BROKER_CANNOT_READ_FILE
t_like "... with mosquitto's own words" "$(t_json "$OUT" 'j["findings"][0]["title"]')" "keyfile $D/broker.key: Permission denied"

# ---- a port the configuration does not open ----------------------------------------------------
Q=$(t_free_port)
f=$(conf elsewhere "listener $P 127.0.0.1
cafile $pki/ca.crt
certfile $pki/broker-fullchain.crt
keyfile $pki/broker.key
allow_anonymous true")
diag -h localhost -p "$Q" --cafile "$pki/ca.crt" --broker-conf "$f"
t_is "refused on a port the conf does not open: TCP_REFUSED" "$(first)" TCP_REFUSED
t_like "... saying which listeners the conf has" "$(t_json "$OUT" 'j["findings"][0]["detail"]')" "opens no listener on port $Q: it has listener $P on 127.0.0.1"

# ---- no allow_anonymous: CONNACK 5, and the conf line that causes it ---------------------------
P=$(t_free_port)
text="listener $P 127.0.0.1
cafile $pki/ca.crt
certfile $pki/broker-fullchain.crt
keyfile $pki/broker.key"
f=$(conf anon "$text")
if t_broker anon "$P" "$text"; then
	diag -h localhost -p "$P" --cafile "$pki/ca.crt"
	t_is "without --broker-conf: ANONYMOUS_NOT_ALLOWED" "$(first)" ANONYMOUS_NOT_ALLOWED
	diag -h localhost -p "$P" --cafile "$pki/ca.crt" --broker-conf "$f" --broker-log "$T_TMP/anon.log"
	t_is "with --broker-conf: CONF_ANONYMOUS_UNSET first" "$(first)" CONF_ANONYMOUS_UNSET
	t_is "... then the CONNACK refusal" "$(t_json "$OUT" 'j["findings"][1]["id"]')" ANONYMOUS_NOT_ALLOWED
	t_like "... which the broker's log confirms" "$(t_json "$OUT" 'j["findings"][1]["detail"]')" "Sending CONNACK to .*\(0, 5\)"
fi

# ---- the certfile was replaced, the broker not reloaded ----------------------------------------
P=$(t_free_port)
cp "$pki/broken-dns-only-fullchain.crt" "$T_TMP/served.crt"
cp "$pki/broken-dns-only.key" "$T_TMP/served.key"
chown mosquitto "$T_TMP/served.key"
text="listener $P 127.0.0.1
cafile $pki/ca.crt
certfile $T_TMP/served.crt
keyfile $T_TMP/served.key
allow_anonymous true"
f=$(conf stale "$text")
if t_broker stale "$P" "$text"; then
	diag -h 127.0.0.1 -p "$P" --cafile "$pki/ca.crt" --broker-conf "$f"
	t_is "a DNS-only certificate reached by IP: IP_NOT_IN_SAN, nothing stale yet" "$(first)" IP_NOT_IN_SAN
	t_unlike "... no BROKER_CERT_STALE" "$(ids)" BROKER_CERT_STALE
	# The fix on disk: a certificate with the IP, the same key. The broker is not told.
	cp "$pki/broker-fullchain.crt" "$T_TMP/served.crt"
	cp "$pki/broker.key" "$T_TMP/served.key"
	diag -h 127.0.0.1 -p "$P" --cafile "$pki/ca.crt"
	t_is "certfile replaced, broker not reloaded: the wire still says IP_NOT_IN_SAN" "$(first)" IP_NOT_IN_SAN
	diag -h 127.0.0.1 -p "$P" --cafile "$pki/ca.crt" --broker-conf "$f"
	t_is "with --broker-conf: BROKER_CERT_STALE is the root cause" "$(first)" BROKER_CERT_STALE
	t_like "... naming both fingerprints" "$(t_json "$OUT" 'j["findings"][0]["detail"]')" "SHA-256 [0-9A-F:]{20,}.*now holds [0-9A-F:]{20,}"
	t_like "... and the reload" "$(t_json "$OUT" 'j["findings"][0]["fix"]')" "systemctl reload mosquitto"
	var=T_BROKER_PID_stale
	kill -HUP "${!var}"
	sleep 0.5
	diag -h 127.0.0.1 -p "$P" --cafile "$pki/ca.crt" --broker-conf "$f"
	t_is "after SIGHUP (the reload): the diagnosis passes" "$(t_json "$OUT" 'j["ok"]')" true
	t_is "... exit 0" "$DRC" 0
fi

# ---- files that cannot be read ------------------------------------------------------------------
out=$("$MQTTLS" diagnose -h localhost -p 1 --broker-conf "$T_TMP/none.conf" 2>&1)
t_is "--broker-conf naming no file: exit 1" "$?" 1
t_like "... one sentence" "$out" "none.conf"
t_exit "--broker-log without a value: usage error" 2 "$MQTTLS" diagnose -h localhost --broker-log

t_done
