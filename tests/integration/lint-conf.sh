#!/usr/bin/env bash
# lint-conf against real configuration trees with real owners and modes, and the proof that each
# finding is true: where the fault stops or cripples a broker, the real mosquitto is started on the
# same tree and fails the way the finding says; then the finding's own fix is applied and the
# broker works.
. "$(dirname "$0")/../lib.sh"

MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
pki=$(t_pki) || { t_fail "certs init"; t_done; exit 1; }
"$MQTTLS" certs broken all --dir "$pki" >"$T_TMP/broken.log" 2>&1 || t_fail "certs broken all" "$(cat "$T_TMP/broken.log")"
t_pki_perms "$pki"
OUT=$T_TMP/out.json

# lint FILE [ARGS...]: run lint-conf --json; the status is in $LRC, the JSON in $OUT.
lint() {
	"$MQTTLS" lint-conf "$@" --json >"$OUT" 2>"$T_TMP/lint.err"
	LRC=$?
}
ids() { t_json "$OUT" '" ".join(f["id"] for f in j["findings"])'; }
first_error() { t_json "$OUT" 'next((f["id"] for f in j["findings"] if f["severity"] == "error"), "")'; }
field() { t_json "$OUT" "next((f[\"$2\"] for f in j[\"findings\"] if f[\"id\"] == \"$1\"), \"\")"; }
# The fix commands of every finding with this id, as one shell script.
fixes() { t_json "$OUT" "chr(10).join(f[\"fix\"] for f in j[\"findings\"] if f[\"id\"] == \"$1\")"; }

# conf NAME TEXT: write a configuration file; prints its path.
conf() {
	printf '%s\n' "$2" >"$T_TMP/$1.conf"
	chmod 0644 "$T_TMP/$1.conf"
	echo "$T_TMP/$1.conf"
}

# mosq_fails NAME FILE: the real broker exits with an error at start (within 5 s); log in $T_TMP/NAME.log.
mosq_fails() {
	timeout 5 "$MOSQ" -c "$2" >"$T_TMP/$1.log" 2>&1
	local rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
}

pub() { # PORT [mosquitto_pub args]: one message, QoS 1; its output in $T_TMP/pub.out
	local port=$1
	shift
	timeout 10 mosquitto_pub -h localhost -p "$port" -t lint/test -m hi -q 1 "$@" >"$T_TMP/pub.out" 2>&1
}

tls() { printf 'cafile %s/ca.crt\ncertfile %s/%s\nkeyfile %s/%s\n' "$pki" "$pki" "${1:-broker-fullchain.crt}" "$pki" "${2:-broker.key}"; }

# ---- usage ------------------------------------------------------------------------------------
t_exit "no FILE is a usage error" 2 "$MQTTLS" lint-conf
t_exit "an unknown flag is a usage error" 2 "$MQTTLS" lint-conf x.conf --bogus
t_exit "--as-user without a value is a usage error" 2 "$MQTTLS" lint-conf x.conf --as-user
t_exit "--as-user naming no user is a usage error" 2 "$MQTTLS" lint-conf x.conf --as-user no-such-user-here
out=$("$MQTTLS" lint-conf "$T_TMP/missing.conf" 2>&1)
t_is "a missing file exits 1" "$?" 1
t_like "... with one sentence naming it" "$out" "missing.conf.*No such file"
t_is "... on one line" "$(printf '%s\n' "$out" | wc -l)" 1

# ---- Debian's own configuration (local-only mode; conf.d holds only a README) -------------------
if [ -r /etc/mosquitto/mosquitto.conf ]; then
	lint /etc/mosquitto/mosquitto.conf
	t_is "Debian's mosquitto.conf: read without an error" "$LRC" 0
	t_is "... one local-only listener" "$(t_json "$OUT" '[(l["origin"], l["port"], l["anonymous"]) for l in j["listeners"]]')" '[["local_only", 1883, true]]'
else
	t_skip "no /etc/mosquitto/mosquitto.conf"
fi

# ---- a healthy TLS broker ----------------------------------------------------------------------
P=$(t_free_port)
text="listener $P 127.0.0.1
$(tls)
allow_anonymous true"
f=$(conf healthy "$text")
lint "$f"
t_is "healthy: exit 0" "$LRC" 0
t_is "healthy: ok" "$(t_json "$OUT" 'j["ok"]')" true
t_is "healthy: no error finding" "$(first_error)" ""
t_like "healthy: the chain is the certfile's" "$(t_json "$OUT" 'j["chain"][0]["subject"] + " / " + j["chain"][1]["subject"]')" "CN=localhost.* / .*intermediate"
t_is "healthy: one TLS listener on the port" "$(t_json "$OUT" '[[l["port"], l["tls"], l["anonymous"]] for l in j["listeners"]]')" "[[$P, true, true]]"
t_is "healthy: the broker's user" "$(t_json "$OUT" 'j["user"]["name"]')" mosquitto
if t_broker healthy "$P" "$text"; then
	pub "$P" --cafile "$pki/ca.crt"
	t_is "healthy: the real broker accepts a TLS client" "$?" 0
else
	t_fail "healthy: the real broker starts"
fi
human=$("$MQTTLS" lint-conf "$f")
t_like "healthy: human output lists the listener" "$human" "listener $P on 127.0.0.1 +TLS +anonymous allowed"
t_like "healthy: human output ends with the tally" "$human" "No problems found"

# ---- BROKER_CANNOT_READ_FILE: a home directory without x --------------------------------------
H=$T_TMP/home/alice
mkdir -p "$H/certs"
cp "$pki/ca.crt" "$pki/broker-fullchain.crt" "$pki/broker.key" "$H/certs/"
chown -R nobody:nogroup "$H"
chmod 0700 "$H"
chmod 0600 "$H/certs/broker.key"
P=$(t_free_port)
text="listener $P 127.0.0.1
cafile $H/certs/ca.crt
certfile $H/certs/broker-fullchain.crt
keyfile $H/certs/broker.key
allow_anonymous true"
f=$(conf home "$text")
lint "$f"
t_is "home dir: exit 1" "$LRC" 1
t_is "home dir: the root cause is BROKER_CANNOT_READ_FILE" "$(first_error)" BROKER_CANNOT_READ_FILE
t_like "home dir: the title names the directory that blocks" "$(field BROKER_CANNOT_READ_FILE title)" "User mosquitto cannot enter $H, which holds its cafile, certfile, keyfile"
t_like "home dir: the evidence says why" "$(field BROKER_CANNOT_READ_FILE detail)" "neither the owner \(nobody\) nor in group nogroup .*drwx------"
t_is "home dir: one finding for the one directory" "$(t_json "$OUT" 'sum(f["id"] == "BROKER_CANNOT_READ_FILE" for f in j["findings"])')" 1
t_like "home dir: ... naming every file behind it" "$(field BROKER_CANNOT_READ_FILE detail)" "also needs certfile .*also needs keyfile"
t_is "home dir: ... it stops the broker" "$(t_json "$OUT" 'j["findings"][0].get("stops_broker")')" true
mosq_fails home "$f"
t_is "home dir: the real mosquitto exits" "$?" 0
t_like "home dir: ... because it cannot read the file" "$(cat "$T_TMP/home.log")" "Unable to load .*(Permission denied|$H)"
t_like "home dir: ... Permission denied" "$(cat "$T_TMP/home.log")" "Permission denied"
fixes BROKER_CANNOT_READ_FILE >"$T_TMP/fix.sh"
t_like "home dir: the fix opens the directory for passage only" "$(cat "$T_TMP/fix.sh")" "^chmod o\+x $H$"
t_unlike "home dir: the fix never makes the key readable by others" "$(cat "$T_TMP/fix.sh")" "o\+r|a\+r.*broker.key|chmod 6?44 .*key"
t_ok "home dir: the fix runs" bash -e "$T_TMP/fix.sh"
t_is "home dir: the key is 0640, group mosquitto, after the fix" "$(stat -c '%a %G' "$H/certs/broker.key")" "640 mosquitto"
t_is "home dir: the directory is 0701" "$(stat -c %a "$H")" 701
lint "$f"
t_is "home dir: lint-conf passes after the fix" "$LRC" 0
if t_broker home "$P" "$text"; then
	pub "$P" --cafile "$H/certs/ca.crt"
	t_is "home dir: the real broker works after the fix" "$?" 0
else
	t_fail "home dir: the real broker starts after the fix"
fi

# ---- BROKER_CANNOT_READ_FILE: a key copied by root, mode 0600 ----------------------------------
D=$T_TMP/rootkey
mkdir -p "$D"
cp "$pki/broker.key" "$D/"
chown root:root "$D/broker.key"
chmod 0600 "$D/broker.key"
P=$(t_free_port)
text="listener $P 127.0.0.1
$(tls)
keyfile $D/broker.key
allow_anonymous true"
text=$(printf '%s\n' "$text" | grep -v "keyfile $pki")
f=$(conf rootkey "$text")
lint "$f"
t_is "root key: BROKER_CANNOT_READ_FILE" "$(first_error)" BROKER_CANNOT_READ_FILE
t_like "root key: it is the file itself" "$(field BROKER_CANNOT_READ_FILE detail)" "of $D/broker.key \(-rw------- root:root\)"
mosq_fails rootkey "$f"
t_is "root key: the real mosquitto exits" "$?" 0
t_like "root key: ... Unable to load server key file" "$(cat "$T_TMP/rootkey.log")" "Unable to load server key file"
t_like "root key: ... Permission denied" "$(cat "$T_TMP/rootkey.log")" "Permission denied"
fixes BROKER_CANNOT_READ_FILE >"$T_TMP/fix.sh"
t_is "root key: the fix gives the key to the broker's group" "$(cat "$T_TMP/fix.sh")" "chgrp mosquitto $D/broker.key
chmod g+r,o-rwx $D/broker.key"
bash -e "$T_TMP/fix.sh"
lint "$f"
t_is "root key: clean after the fix" "$(first_error)" ""
t_broker rootkey "$P" "$text" && pub "$P" --cafile "$pki/ca.crt"
t_is "root key: the real broker works after the fix" "$?" 0

# ---- a log file the broker's user cannot write ----------------------------------------------------
mkdir -p "$T_TMP/logs"
chmod 0700 "$T_TMP/logs"
P=$(t_free_port)
text="listener $P 127.0.0.1
allow_anonymous true
log_dest file $T_TMP/logs/mosquitto.log"
f=$(conf logfile "$text")
lint "$f"
t_like "log file in a root-only directory: a warning message" "$(t_json "$OUT" '[m["text"] for m in j["messages"] if m["level"] == "warning"]')" "cannot write the log file $T_TMP/logs/mosquitto.log"
t_is "... not an error" "$LRC" 0
if t_broker logfile "$P" "$text"; then
	sleep 0.2
	t_like "... the real mosquitto runs without it" "$(cat "$T_TMP/logfile.log")" "Unable to open log file .* for writing"
	t_broker_stop logfile
fi

# ---- POSIX ACLs: the kernel's rules, not only the mode bits -----------------------------------
if command -v setfacl >/dev/null; then
	D=$T_TMP/acl
	mkdir -p "$D"
	cp "$pki/broker.key" "$D/"
	chown root:root "$D/broker.key"
	chmod 0600 "$D/broker.key"
	setfacl -m u:mosquitto:r "$D/broker.key"
	P=$(t_free_port)
	text="listener $P 127.0.0.1
$(tls | grep -v keyfile)
keyfile $D/broker.key
allow_anonymous true"
	f=$(conf acl "$text")
	lint "$f"
	t_is "ACL u:mosquitto:r on a root 0600 key: readable" "$(first_error)" ""
	t_broker acl "$P" "$text" && pub "$P" --cafile "$pki/ca.crt"
	t_is "... and the real broker reads it" "$?" 0
	t_broker_stop acl
	# The ACL mask limits the named user: chmod g-r on a file with an ACL sets mask to ---.
	chmod g-r "$D/broker.key"
	lint "$f"
	t_is "ACL with mask ---: BROKER_CANNOT_READ_FILE" "$(first_error)" BROKER_CANNOT_READ_FILE
	t_like "... the ACL is named" "$(field BROKER_CANNOT_READ_FILE detail)" "the ACL on $D/broker.key"
	mosq_fails aclmask "$f"
	t_like "... the real mosquitto cannot read it either" "$(cat "$T_TMP/aclmask.log")" "Permission denied"
	fixes BROKER_CANNOT_READ_FILE >"$T_TMP/fix.sh"
	t_is "... the fix is one setfacl" "$(cat "$T_TMP/fix.sh")" "setfacl -m u:mosquitto:r $D/broker.key"
	bash -e "$T_TMP/fix.sh"
	t_broker acl2 "$P" "$text" && pub "$P" --cafile "$pki/ca.crt"
	t_is "... after it the real broker reads the key" "$?" 0
else
	t_skip "setfacl is not installed (Debian package acl)"
fi

# ---- the broker's user: --as-user and the user option ------------------------------------------
P=$(t_free_port)
f=$(conf asuser "listener $P 127.0.0.1
$(tls)
allow_anonymous true")
lint "$f" --as-user nobody
t_is "--as-user nobody: the mosquitto-owned key is unreadable" "$(first_error)" BROKER_CANNOT_READ_FILE
t_like "--as-user: the title names the user" "$(field BROKER_CANNOT_READ_FILE title)" "User nobody cannot read the keyfile"
t_is "--as-user: the JSON says who" "$(t_json "$OUT" 'j["user"]["name"]')" nobody
f=$(conf usernobody "listener $P 127.0.0.1
$(tls)
allow_anonymous true
user nobody")
lint "$f"
t_is "user nobody: the key is unreadable" "$(first_error)" BROKER_CANNOT_READ_FILE
mosq_fails usernobody "$f"
t_is "user nobody: the real mosquitto exits" "$?" 0
t_like "user nobody: ... on the key" "$(cat "$T_TMP/usernobody.log")" "Unable to load server key file"
f=$(conf nouser "listener $P 127.0.0.1
allow_anonymous true
user no-such-user-here")
lint "$f"
t_is "user that does not exist: CONF_INCONSISTENT" "$(first_error)" CONF_INCONSISTENT
t_like "... saying mosquitto exits" "$(field CONF_INCONSISTENT title)" "will exit at start: its user 'no-such-user-here' does not exist"
mosq_fails nouser "$f"
t_like "user that does not exist: the real mosquitto says so" "$(cat "$T_TMP/nouser.log")" "Unable to drop privileges to 'no-such-user-here'"

# ---- CONF_ANONYMOUS_UNSET ----------------------------------------------------------------------
P=$(t_free_port)
text="listener $P 127.0.0.1
$(tls)"
f=$(conf anon "$text")
lint "$f"
t_is "no allow_anonymous: CONF_ANONYMOUS_UNSET" "$(first_error)" CONF_ANONYMOUS_UNSET
t_like "... says the default" "$(field CONF_ANONYMOUS_UNSET detail)" "allow_anonymous is not set.*mosquitto 2.x"
if t_broker anon "$P" "$text"; then
	pub "$P" --cafile "$pki/ca.crt"
	t_is "no allow_anonymous: the real broker answers CONNACK 5" "$?" 5
	t_like "... not authorised" "$(cat "$T_TMP/pub.out")" "not authori[sz]ed"
	t_like "... and logs (0, 5)" "$(cat "$T_TMP/anon.log")" "Sending CONNACK to .* \(0, 5\)"
	t_broker_stop anon
else
	t_fail "no allow_anonymous: the real broker starts"
fi
t_like "the fix is allow_anonymous true" "$(field CONF_ANONYMOUS_UNSET fix)" "allow_anonymous true"
text="$text
allow_anonymous true"
f=$(conf anon "$text")
lint "$f"
t_unlike "after the fix: no CONF_ANONYMOUS_UNSET" "$(ids)" CONF_ANONYMOUS_UNSET
P=$(t_free_port)
text="listener $P 127.0.0.1
$(tls)
allow_anonymous true"
t_broker anonfixed "$P" "$text" && pub "$P" --cafile "$pki/ca.crt"
t_is "after the fix: the real broker accepts the client" "$?" 0

# per_listener_settings: allow_anonymous before the listener applies to no listener.
P=$(t_free_port)
text="per_listener_settings true
allow_anonymous true
listener $P 127.0.0.1
$(tls)"
f=$(conf pls "$text")
lint "$f"
t_like "per_listener_settings: CONF_ANONYMOUS_UNSET" "$(ids)" CONF_ANONYMOUS_UNSET
t_like "... and the lost allow_anonymous line is named" "$(t_json "$OUT" '[f["title"] for f in j["findings"] if f["id"] == "CONF_INCONSISTENT"]')" "pls.conf:2: allow_anonymous comes before any listener"
t_broker pls "$P" "$text" && pub "$P" --cafile "$pki/ca.crt"
t_is "per_listener_settings: the real broker refuses with CONNACK 5" "$?" 5

# mTLS with identities: a way in, but no ACL.
P=$(t_free_port)
text="listener $P 127.0.0.1
$(tls)
require_certificate true
use_identity_as_username true"
f=$(conf mtls "$text")
lint "$f"
t_is "mTLS with identities: no error" "$(first_error)" ""
t_like "mTLS with identities: CONF_NO_ACL warning" "$(ids)" CONF_NO_ACL
t_is "mTLS with identities: exit 0 with warnings only" "$LRC" 0
t_broker mtls "$P" "$text" && pub "$P" --cafile "$pki/ca.crt" --cert "$pki/device1.crt" --key "$pki/device1.key"
t_is "mTLS with identities: the real broker accepts a device certificate" "$?" 0

# ---- KEY_PERMISSIONS_TOO_OPEN ------------------------------------------------------------------
D=$T_TMP/openkey
mkdir -p "$D"
cp "$pki/broker.key" "$D/"
chmod 0644 "$D/broker.key"
P=$(t_free_port)
text="listener $P 127.0.0.1
$(tls broker-fullchain.crt broker.key | grep -v keyfile)
keyfile $D/broker.key
allow_anonymous true"
f=$(conf openkey "$text")
lint "$f"
t_like "key 0644: KEY_PERMISSIONS_TOO_OPEN" "$(ids)" KEY_PERMISSIONS_TOO_OPEN
t_is "key 0644: a warning, exit 0" "$LRC" 0
t_like "... readable by every user" "$(field KEY_PERMISSIONS_TOO_OPEN title)" "readable by every user"
fixes KEY_PERMISSIONS_TOO_OPEN >"$T_TMP/fix.sh"
bash -e "$T_TMP/fix.sh"
t_is "key 0644: after the fix no one else can read it" "$(stat -c '%a %G' "$D/broker.key")" "640 mosquitto"
lint "$f"
t_unlike "key 0644: the warning is gone" "$(ids)" "KEY_PERMISSIONS_TOO_OPEN|BROKER_CANNOT_READ_FILE"
t_broker openkey "$P" "$text" && pub "$P" --cafile "$pki/ca.crt"
t_is "key 0644: the broker still reads it after the fix" "$?" 0

# ---- CONF_KEY_CERT_MISMATCH --------------------------------------------------------------------
P=$(t_free_port)
f=$(conf mismatch "listener $P 127.0.0.1
$(tls broker-fullchain.crt device1.key)
allow_anonymous true")
lint "$f"
t_is "device key for the broker certificate: CONF_KEY_CERT_MISMATCH" "$(first_error)" CONF_KEY_CERT_MISMATCH
mosq_fails mismatch "$f"
t_is "... the real mosquitto exits" "$?" 0
t_like "... with key values mismatch" "$(cat "$T_TMP/mismatch.log")" "key values mismatch"

# ---- CONF_INCONSISTENT -------------------------------------------------------------------------
P=$(t_free_port)
text="listener $P 127.0.0.1
certfile $pki/broker-fullchain.crt
allow_anonymous true"
f=$(conf nokey "$text")
lint "$f"
t_is "certfile without keyfile: CONF_INCONSISTENT" "$(first_error)" CONF_INCONSISTENT
t_like "... it speaks plain MQTT" "$(field CONF_INCONSISTENT title)" "certfile but no keyfile: it speaks plain MQTT"
if t_broker nokey "$P" "$text"; then
	pub "$P" --cafile "$pki/ca.crt"
	t_unlike "certfile without keyfile: a TLS client fails on the real broker" "$?" "^0$"
	pub "$P"
	t_is "certfile without keyfile: a plain client gets in" "$?" 0
fi

P=$(t_free_port)
text="listener $P 127.0.0.1
$(tls)
use_identity_as_username true"
f=$(conf noreq "$text")
lint "$f"
t_like "use_identity_as_username without require_certificate: CONF_INCONSISTENT" "$(t_json "$OUT" '[f["title"] for f in j["findings"] if f["id"] == "CONF_INCONSISTENT"]')" "takes the username from the client certificate but does not ask for one"
t_broker noreq "$P" "$text" && pub "$P" --cafile "$pki/ca.crt" --cert "$pki/device1.crt" --key "$pki/device1.key"
t_is "... the real broker refuses even a device with a certificate (CONNACK 4)" "$?" 4

P=$(t_free_port)
text="listener $P 127.0.0.1
certfile $pki/broker-fullchain.crt
keyfile $pki/broker.key
require_certificate true
allow_anonymous true"
f=$(conf nocafile "$text")
lint "$f"
t_like "require_certificate without cafile: CONF_INCONSISTENT" "$(t_json "$OUT" '[f["title"] for f in j["findings"] if f["id"] == "CONF_INCONSISTENT"]')" "requires client certificates but has no cafile"
t_broker nocafile "$P" "$text" && pub "$P" --cafile "$pki/ca.crt" --cert "$pki/device1.crt" --key "$pki/device1.key"
t_unlike "... the real broker rejects a good device certificate" "$?" "^0$"

P=$(t_free_port)
P2=$(t_free_port)
text="certfile $pki/broker-fullchain.crt
keyfile $pki/broker.key
port $P2
bind_address 127.0.0.1
listener $P 127.0.0.1
allow_anonymous true"
f=$(conf before "$text")
lint "$f"
t_like "TLS options before any listener: CONF_INCONSISTENT" "$(field CONF_INCONSISTENT title)" "certfile comes before any listener line: it configures an extra listener on port $P2"
if t_broker before "$P" "$text"; then
	pub "$P" --cafile "$pki/ca.crt"
	t_unlike "... the real listener $P is not TLS" "$?" "^0$"
	pub "$P2" --cafile "$pki/ca.crt"
	t_is "... the TLS went to the extra listener $P2" "$?" 0
fi

f=$(conf syntax "listener 1884 127.0.0.1
allow_anonymous true
  # an indented comment")
lint "$f"
t_is "an indented comment: the broker will not start" "$(first_error)" CONF_INCONSISTENT
t_like "... at its line" "$(field CONF_INCONSISTENT title)" "will not start: .*syntax.conf:3: unknown option \"#\""
mosq_fails syntax "$f"
t_like "... and the real mosquitto stops at the same line" "$(cat "$T_TMP/syntax.log")" "Error found at .*syntax.conf:3"

f=$(conf tab "$(printf 'listener\t1884\nallow_anonymous true')")
lint "$f"
t_like "a tab after the option: named as such" "$(field CONF_INCONSISTENT title)" "tab is read as part of the name"
mosq_fails tab "$f"
t_like "... the real mosquitto stops at line 1" "$(cat "$T_TMP/tab.log")" "Error found at .*tab.conf:1"

I=$T_TMP/inc.d
mkdir -p "$I"
printf 'listener 1884 127.0.0.1\nallow_anonymous yes\n' >"$I/b.conf"
printf 'log_type all\n' >"$I/a.conf"
f=$(conf include "include_dir $I")
lint "$f"
t_like "an error in an included file: named with its file and line" "$(field CONF_INCONSISTENT title)" "inc.d/b.conf:2: allow_anonymous must be true or false"
t_is "... both files were read" "$(t_json "$OUT" '[x["included"] for x in j["files"]]')" '[false, true, true]'
mosq_fails include "$f"
t_like "... the real mosquitto stops at the same place" "$(cat "$T_TMP/include.log")" "Error found at .*inc.d/b.conf:2"

P=$(t_free_port)
f=$(conf dup "listener $P
allow_anonymous true
listener $P 127.0.0.1")
lint "$f"
t_like "two listeners on one port: CONF_INCONSISTENT" "$(field CONF_INCONSISTENT title)" "Two listeners want port $P"
mosq_fails dup "$f"
t_like "... the real mosquitto: Address already in use" "$(cat "$T_TMP/dup.log")" "Address already in use"

# ---- certificates --------------------------------------------------------------------------------
broken() { # KIND: a listener serving that broken certificate
	printf 'listener %s 127.0.0.1\ncafile %s/ca.crt\ncertfile %s/broken-%s-fullchain.crt\nkeyfile %s/broken-%s.key\nallow_anonymous true\n' \
		"$1" "$pki" "$pki" "$2" "$pki" "$2"
}
for kind_id in expired:CERT_EXPIRED not-yet-valid:CERT_NOT_YET_VALID wrong-eku:SERVER_CERT_WRONG_PURPOSE \
	self-signed:SELF_SIGNED_SERVER same-name-ca:WRONG_CA other-ca:WRONG_CA; do
	kind=${kind_id%%:*}
	id=${kind_id#*:}
	P=$(t_free_port)
	text=$(broken "$P" "$kind")
	f=$(conf "broken-$kind" "$text")
	lint "$f"
	t_is "certificate $kind: $id" "$(first_error)" "$id"
	if t_broker "broken_${kind//-/_}" "$P" "$text"; then
		pub "$P" --cafile "$pki/ca.crt"
		t_unlike "certificate $kind: a client trusting ca.crt fails on the real broker" "$?" "^0$"
		t_broker_stop "broken_${kind//-/_}"
	else
		t_fail "certificate $kind: the real broker starts"
	fi
done

P=$(t_free_port)
f=$(conf nosan "$(broken "$P" no-san)")
lint "$f"
t_like "certificate without SAN: NO_SAN (a warning)" "$(ids)" NO_SAN
t_is "... exit 0" "$LRC" 0

for kind in weak-rsa-1024 sha1; do
	P=$(t_free_port)
	f=$(conf "broken-$kind" "$(broken "$P" "$kind")")
	lint "$f"
	t_is "certificate $kind: mosquitto will not load it" "$(first_error)" BROKER_CANNOT_READ_FILE
	mosq_fails "broken-$kind" "$f"
	t_like "certificate $kind: the real mosquitto refuses to load it" "$(cat "$T_TMP/broken-$kind.log")" "Unable to load server certificate"
	t_like "certificate $kind: ... as too weak" "$(cat "$T_TMP/broken-$kind.log")" "ee key too small|ca md too weak"
done

# The intermediate: missing from a leaf-only certfile, added by OpenSSL when cafile holds it.
P=$(t_free_port)
text="listener $P 127.0.0.1
$(tls broker.crt)
allow_anonymous true"
f=$(conf leafonly "$text")
lint "$f"
t_is "leaf-only certfile: INCOMPLETE_CHAIN" "$(first_error)" INCOMPLETE_CHAIN
t_like "... naming the intermediate next to it" "$(field INCOMPLETE_CHAIN fix)" "cat $pki/broker.crt $pki/intermediate.crt > "
if t_broker leafonly "$P" "$text"; then
	pub "$P" --cafile "$pki/ca.crt"
	t_unlike "leaf-only certfile: a client trusting the root fails on the real broker" "$?" "^0$"
	t_broker_stop leafonly
fi
cp "$pki/broker.crt" "$T_TMP/leaf.crt"
(cd "$T_TMP" && eval "$(field INCOMPLETE_CHAIN fix | grep '^cat ' | sed "s#$pki/broker.crt#$T_TMP/leaf.crt#g")")
t_ok "leaf-only certfile: the fix's cat makes a full chain" test -s "$T_TMP/leaf.crt.fullchain"
P=$(t_free_port)
text="listener $P 127.0.0.1
cafile $pki/ca.crt
certfile $T_TMP/leaf.crt.fullchain
keyfile $pki/broker.key
allow_anonymous true"
f=$(conf leaffixed "$text")
lint "$f"
t_is "leaf-only certfile: clean after the fix" "$(first_error)" ""
t_broker leaffixed "$P" "$text" && pub "$P" --cafile "$pki/ca.crt"
t_is "leaf-only certfile: the real broker works after the fix" "$?" 0
cat "$pki/ca.crt" "$pki/intermediate.crt" >"$T_TMP/bundle.crt"
P=$(t_free_port)
text="listener $P 127.0.0.1
cafile $T_TMP/bundle.crt
certfile $pki/broker.crt
keyfile $pki/broker.key
allow_anonymous true"
f=$(conf autochain "$text")
lint "$f"
t_unlike "leaf-only certfile with the intermediate in cafile: no INCOMPLETE_CHAIN" "$(ids)" INCOMPLETE_CHAIN
t_broker autochain "$P" "$text" && pub "$P" --cafile "$pki/ca.crt"
t_is "... and the real broker does send it" "$?" 0

P=$(t_free_port)
text="listener $P 127.0.0.1
cafile $pki/broker.crt
certfile $pki/broker-fullchain.crt
keyfile $pki/broker.key
require_certificate true
allow_anonymous true"
f=$(conf notca "$text")
lint "$f"
t_like "cafile is the broker certificate: CAFILE_NOT_CA" "$(ids)" CAFILE_NOT_CA
t_broker notca "$P" "$text" && pub "$P" --cafile "$pki/ca.crt" --cert "$pki/device1.crt" --key "$pki/device1.key"
t_unlike "... the real broker rejects every device certificate" "$?" "^0$"

"$MQTTLS" certs server elsewhere --dir "$pki" --san DNS:elsewhere.example >/dev/null 2>&1
t_pki_perms "$pki"
f=$(conf sans "listener 8883
cafile $pki/ca.crt
certfile $pki/elsewhere-fullchain.crt
keyfile $pki/elsewhere.key
allow_anonymous true")
lint "$f"
t_like "a certificate for another host on every interface: IP_NOT_IN_SAN" "$(ids)" "IP_NOT_IN_SAN|HOSTNAME_MISMATCH"
t_like "... the fix names this host's address" "$(t_json "$OUT" 'next(f["fix"] for f in j["findings"] if f["id"] in ("IP_NOT_IN_SAN", "HOSTNAME_MISMATCH"))')" "subjectAltName=DNS:elsewhere,DNS:elsewhere.example,.*(IP:|DNS:$(hostname))"

W=$T_TMP/reissue
mkdir -p "$W"
cp "$pki/intermediate.crt" "$W/ca.crt"
cp "$pki/intermediate.key" "$W/ca.key"
t_json "$OUT" 'next(f["fix"] for f in j["findings"] if f["id"] in ("IP_NOT_IN_SAN", "HOSTNAME_MISMATCH"))' |
	grep -v '^systemctl' >"$W/fix.sh"
(cd "$W" && bash -e fix.sh) >"$W/fix.log" 2>&1
t_is "... the fix's openssl commands run (the intermediate as ca.crt)" "$?" 0
lint "$f"
t_unlike "... and the new certificate covers this host" "$(ids)" "IP_NOT_IN_SAN|HOSTNAME_MISMATCH"
t_is "... with the intermediate still after it" "$(t_json "$OUT" 'len(j["chain"])')" 2

# ---- warnings ------------------------------------------------------------------------------------
P=$(t_free_port)
P2=$(t_free_port)
text="listener $P2
listener $P 127.0.0.1
$(tls)
tls_version tlsv1.3
allow_anonymous true"
f=$(conf warn "$text")
lint "$f"
t_like "plaintext on every interface next to TLS: CONF_PLAINTEXT_EXPOSED" "$(ids)" CONF_PLAINTEXT_EXPOSED
t_like "tls_version tlsv1.3: CONF_TLS_VERSION_PINNED" "$(ids)" CONF_TLS_VERSION_PINNED
t_is "warnings only: exit 0" "$LRC" 0
text=$(printf '%s\n' "$text" | sed "s/^listener $P2\$/listener $P2 127.0.0.1/")
if t_broker warn "$P" "$text"; then
	echo | timeout 5 openssl s_client -connect "127.0.0.1:$P" -tls1_2 -CAfile "$pki/ca.crt" >"$T_TMP/s12.out" 2>&1
	t_unlike "tls_version tlsv1.3: a TLS 1.2-only client fails on the real broker" "$?" "^0$"
	echo | timeout 5 openssl s_client -connect "127.0.0.1:$P" -tls1_3 -CAfile "$pki/ca.crt" >"$T_TMP/s13.out" 2>&1
	t_like "... a TLS 1.3 client gets through" "$(cat "$T_TMP/s13.out")" "Verify return code: 0"
fi

# ---- hostile input -------------------------------------------------------------------------------
mkfifo "$T_TMP/fifo.crt"
f=$(conf fifo "listener 1884 127.0.0.1
cafile $pki/ca.crt
certfile $T_TMP/fifo.crt
keyfile $pki/broker.key
allow_anonymous true")
timeout 20 "$MQTTLS" lint-conf "$f" --json >"$OUT" 2>&1
t_is "a FIFO as certfile: answered, no hang" "$?" 1
t_like "... as a file the broker cannot use" "$(field BROKER_CANNOT_READ_FILE title)" "is not a regular file"
f=$(conf zero "listener 1884 127.0.0.1
cafile /dev/zero
certfile /dev/zero
keyfile /dev/zero
allow_anonymous true")
timeout 20 "$MQTTLS" lint-conf "$f" --json >"$OUT" 2>&1
t_is "/dev/zero as every file: answered" "$?" 1
t_like "... BROKER_CANNOT_READ_FILE" "$(ids)" BROKER_CANNOT_READ_FILE
timeout 20 "$MQTTLS" lint-conf "$T_TMP/fifo.crt" >"$T_TMP/fifo.out" 2>&1
t_is "a FIFO as the configuration: exit 1 at once" "$?" 1
t_like "... saying so" "$(cat "$T_TMP/fifo.out")" "FIFO"
L=$T_TMP/loop.d
mkdir -p "$L"
ln -s "$L/b.conf" "$L/a.conf"
ln -s "$L/a.conf" "$L/b.conf"
ln -s "$L" "$L/self.conf"
f=$(conf loop "include_dir $L
include_dir $L")
timeout 20 "$MQTTLS" lint-conf "$f" --json >"$OUT" 2>&1
t_is "include_dir with a symlink loop, twice: answered" "$?" 1
t_like "... the loop is named" "$(t_json "$OUT" '[m["text"] for m in j["messages"]]')" "Too many levels of symbolic links"
"$T_PY" -c '
import sys
with open(sys.argv[1], "wb") as f:
    for i in range(10000):
        f.write(b"bogus_option_%d value\n" % i)
    f.write(b"user " + b"u" * (1 << 20) + b"\n")
    f.write(b"listener 1884\x00junk\nallow_anonymous true\n")
' "$T_TMP/big.conf"
timeout 60 "$MQTTLS" lint-conf "$T_TMP/big.conf" --json >"$OUT" 2>&1
t_is "10,000 bad lines, a 1 MB line, a NUL byte: exit 1" "$?" 1
t_is "... messages capped and counted" "$(t_json "$OUT" 'len(j["messages"]) <= 200 and j["messages_dropped"] > 9000')" true
t_is "... the first refused line is the root cause" "$(t_json "$OUT" 'j["findings"][0]["title"]')" 'mosquitto will not start: '"$T_TMP"'/big.conf:1: unknown option "bogus_option_0" (mosquitto 2.0: "Unknown configuration variable", it does not start)'

# ---- the JSON shape ------------------------------------------------------------------------------
lint "$T_TMP/leafonly.conf"
t_is "JSON: every finding has the contract's fields" "$(t_json "$OUT" 'all(set(("id","severity","title","detail","fix")) <= set(f) for f in j["findings"])')" true
t_is "JSON: the chain has the contract's fields" "$(t_json "$OUT" 'all(set(("depth","subject","issuer","serial","not_before","not_after","san_dns","san_ip","key","sig_alg","eku","is_ca","sha256")) <= set(c) for c in j["chain"])')" true
lint "$T_TMP/tab.conf"
t_is "JSON: messages carry level, file and line" "$(t_json "$OUT" '[j["messages"][0][k] for k in ("level", "line")] + [j["messages"][0]["file"].endswith("tab.conf")]')" '["fatal", 1, true]'

t_done
