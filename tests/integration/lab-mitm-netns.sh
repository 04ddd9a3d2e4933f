#!/usr/bin/env bash
# lab start mitm --netns: the MITM lab on a network of its own — the devices, the attacker and the
# real broker in three network namespaces joined by veth links. Proven here: every process runs in
# the namespace of its role; the devices' traffic crosses the attacker's interfaces (their counters
# grow, a capture inside the attacker's namespace sees it, the relay logs the devices' own
# address) and the devices have no other way to the broker; status and check work from outside;
# lab stop, a start over what a crash left, and a start that fails leave no namespace, interface
# or process behind.
. "$(dirname "$0")/../lib.sh"

DIR=$MQTTLS_STATE_DIR/labs/mitm
wait_file() { # FILE REGEX: up to 30 s
	for _ in $(seq 1 1500); do grep -qE -- "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done
	return 1
}
companion() { t_json "$DIR/companions.json" "[c['pid'] for c in j['companions'] if c['name'] == '$1'][0]"; }
holder() { t_json "$DIR/netns.json" "j['$1']['pid']"; }
netns_of() { readlink "/proc/$1/ns/net"; }
in_ns() { local pid=$1; shift; nsenter -t "$pid" -n "$@"; }
dev_bytes() { # HOLDER IFACE rx|tx: the interface's byte counter, read inside the namespace
	in_ns "$1" cat /proc/net/dev | awk -v i="$2:" -v w="$3" '$1 == i { print (w == "rx" ? $2 : $10) }'
}
# The holders of this test's lab networks still alive (a namespace's inode number is reused as
# soon as it is freed, so a namespace is followed by its holder, never by its number).
holder_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = mqttls-netns ] || continue
		grep -q ') Z ' "$p/stat" 2>/dev/null && continue
		tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "MQTTLS_STATE_DIR=$MQTTLS_STATE_DIR" && echo "${p#/proc/}"
	done | sort -n | tr '\n' ' '
}
holders_alive() { holder_pids | wc -w; }
# Which of these PIDs still run (zombies aside).
still() { local p; for p in "$@"; do [ -r "/proc/$p/stat" ] && ! grep -q ') Z ' "/proc/$p/stat" && echo "$p"; done; }
# Every process of this test's MITM lab: its mosquitto, its companions, its namespaces' holders.
lab_procs() {
	local p
	for p in /proc/[0-9]*; do
		grep -qF "$DIR" "$p/cmdline" 2>/dev/null && ! grep -q ') Z ' "$p/stat" 2>/dev/null && echo "${p#/proc/}"
	done
	holder_pids
}
# A refusal is one line, exit 1, and makes nothing.
refused() { # DESC REGEX COMMAND...
	local desc=$1 re=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	t_is "$desc: exit 1" "$rc" 1
	t_like "... saying why" "$out" "$re"
	t_is "... in one line" "$(printf '%s\n' "$out" | wc -l)" 1
	t_is "... and no namespace was made" "$(holders_alive)" 0
}

if [ "$(id -u)" != 0 ]; then
	refused "without root, lab start mitm --netns is refused" "needs root \(sudo mqttls lab start mitm --netns\)" \
		"$MQTTLS" lab start mitm --netns
	t_skip "the lab network itself needs root"
	t_done
	exit 0
fi
if ! unshare -n true 2>/dev/null; then
	refused "where no network namespace can be made, lab start mitm --netns is refused" \
		"cannot make a network namespace" "$MQTTLS" lab start mitm --netns
	t_skip "the lab network itself needs network namespaces"
	t_done
	exit 0
fi
if ! command -v nsenter >/dev/null || ! command -v tcpdump >/dev/null || ! command -v setpriv >/dev/null; then
	t_skip "this test looks into the lab network with nsenter, tcpdump and setpriv"
	t_done
	exit 0
fi
# Whatever happens, the lab goes, and with it its namespaces (their holders, should lab stop fail).
trap '"$MQTTLS" lab stop mitm >/dev/null 2>&1; kill -9 $(holder_pids) 2>/dev/null; t_cleanup' EXIT

# Refusals, before anything is made or where it cannot be.
t_exit "--netns with --lab-bind is a usage error" 2 "$MQTTLS" lab start mitm --netns --lab-bind 10.9.0.0/24
refused "--netns on another lab is refused" "only the MITM lab has a network of namespaces" \
	"$MQTTLS" lab start basic --netns
refused "a user who is not root is refused" "needs root \(sudo mqttls lab start mitm --netns\)" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$MQTTLS" lab start mitm --netns
refused "root without CAP_SYS_ADMIN (a container, say) cannot make a namespace" \
	"cannot make a network namespace \(Operation not permitted\): --netns needs root with CAP_SYS_ADMIN" \
	setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin "$MQTTLS" lab start mitm --netns
# Without CAP_NET_ADMIN the namespaces are made, and the first veth link fails: all of it goes.
refused "root without CAP_NET_ADMIN fails at the first link" "ip link add mq-to-attacker type veth .*failed: .*Operation not permitted" \
	setpriv --bounding-set=-net_admin --inh-caps=-net_admin "$MQTTLS" lab start mitm --netns
t_is "... and nothing of the lab runs" "$(lab_procs)" ""
t_like "... nor is it running" "$("$MQTTLS" lab status mitm)" "is not running"

out=$("$MQTTLS" lab start mitm --netns 2>&1)
t_is "lab start mitm --netns exits 0" "$?" 0
t_like "the broker runs in its namespace" "$out" "mosquitto \(pid [0-9]+\) with TLS on 10\.231\.10\.6:[0-9]+, in the broker's namespace"
t_like "the rogue relay listens on the attacker's address" "$out" "rogue relay listens on 10\.231\.10\.1:[0-9]+"
t_like "the lab network is described" "$out" "attacker +\(held by [0-9]+\) +10\.231\.10\.1 on mq-to-device, 10\.231\.10\.5 on mq-to-broker"
mp=$(echo "$out" | sed -n 's/.*rogue relay listens on 10\.231\.10\.1:\([0-9]*\).*/\1/p')
bp=$(echo "$out" | sed -n 's/.*with TLS on 10\.231\.10\.6:\([0-9]*\),.*/\1/p')
DEVH=$(holder devices) ATKH=$(holder attacker) BRKH=$(holder broker)
t_is "three namespaces, each held by a process" "$(holders_alive)" 3
NS_DEV=$(netns_of "$DEVH") NS_ATK=$(netns_of "$ATKH") NS_BRK=$(netns_of "$BRKH")
t_unlike "... all three different from the machine's" "$NS_DEV $NS_ATK $NS_BRK" "$(netns_of $$)"
t_like "the device's link" "$(in_ns "$DEVH" ip -4 -o addr show mq-to-attacker)" "inet 10\.231\.10\.2/30"
t_like "the attacker's link to the devices" "$(in_ns "$ATKH" ip -4 -o addr show mq-to-device)" "inet 10\.231\.10\.1/30"
t_like "the attacker's link to the broker" "$(in_ns "$ATKH" ip -4 -o addr show mq-to-broker)" "inet 10\.231\.10\.5/30"
t_like "the broker's link" "$(in_ns "$BRKH" ip -4 -o addr show mq-to-attacker)" "inet 10\.231\.10\.6/30"
t_unlike "every veth end has its carrier when start returns" \
	"$(in_ns "$DEVH" ip -br link; in_ns "$ATKH" ip -br link; in_ns "$BRKH" ip -br link)" "NO-CARRIER| DOWN "
t_is "no interface of the lab is in the machine's own namespace" "$(ip -o link show | grep -c ' mq-to-')" 0

st=$("$MQTTLS" lab status mitm --json)
t_is "status --json says netns" "$(echo "$st" | t_json - 'j[0]["netns"]')" true
t_is "... running, at the broker's address" "$(echo "$st" | t_json - '[j[0]["running"], j[0]["ip"]]')" '[true, "10.231.10.6"]'
bpid=$(echo "$st" | t_json - 'j[0]["pid"]')
t_is "mosquitto is in the broker's namespace" "$(netns_of "$bpid")" "$NS_BRK"
t_is "the relay is in the attacker's" "$(netns_of "$(companion mitm)")" "$NS_ATK"
t_is "the insecure device is in the devices'" "$(netns_of "$(companion esp32-insecure)")" "$NS_DEV"
t_is "the verifying device too" "$(netns_of "$(companion esp32-verify)")" "$NS_DEV"
t_is "the dashboard is on the broker's side" "$(netns_of "$(companion dashboard)")" "$NS_BRK"

# The lesson, over the links.
t_ok "the insecure device's password reaches the attacker" wait_file "$DIR/mitm.jsonl" '"event":"connect".*"client_id":"esp32-insecure".*"password":"tomato-42"'
t_like "... from the devices' address" \
	"$(grep '"event":"connect"' "$DIR/mitm.jsonl" | grep esp32-insecure | head -n1)" '"client":"10\.231\.10\.2:[0-9]+"'
t_ok "the relay reached the broker across the attacker's other link" wait_file "$DIR/mitm.jsonl" '"event":"upstream".*"result":"connected"'
t_ok "the verifying device refuses the rogue with unknown_ca" wait_file "$DIR/mitm.jsonl" '"event":"handshake".*"result":"rejected","alert":"unknown_ca"'
t_ok "the dashboard on the real broker gets the readings" wait_file "$DIR/dashboard.log" 'Message arrived \[lab/esp32-insecure/temp\]'
t_ok "the injected command reaches the insecure device" wait_file "$DIR/esp32-insecure.log" 'Message arrived \[lab/esp32-insecure/cmd\] unlock-the-door'

# The traffic really crosses the interfaces: counters, and captures inside the attacker.
rx0=$(dev_bytes "$ATKH" mq-to-device rx)
tx0=$(dev_bytes "$ATKH" mq-to-broker tx)
in_ns "$ATKH" timeout 20 tcpdump -ni mq-to-device -c 4 -w "$T_TMP/device-side.pcap" "tcp port $mp" 2>/dev/null &
cap1=$!
in_ns "$ATKH" timeout 20 tcpdump -ni mq-to-broker -c 4 -w "$T_TMP/broker-side.pcap" "tcp port $bp" 2>/dev/null &
cap2=$!
readings() { grep -c '"event":"publish".*"dir":"device_to_broker"' "$DIR/mitm.jsonl"; }
n0=$(readings)
for _ in $(seq 1 200); do
	[ "$(readings)" -gt "$n0" ] && break
	sleep 0.1
done
wait $cap1 $cap2
t_ok "a new reading went through the relay meanwhile" test "$(readings)" -gt "$n0"
t_ok "bytes came in on the attacker's side towards the devices" test "$(dev_bytes "$ATKH" mq-to-device rx)" -gt "$rx0"
t_ok "bytes went out on its side towards the broker" test "$(dev_bytes "$ATKH" mq-to-broker tx)" -gt "$tx0"
t_like "the capture on mq-to-device has the device and the rogue" \
	"$(tcpdump -nr "$T_TMP/device-side.pcap" 2>/dev/null)" "10\.231\.10\.2\.[0-9]+ > 10\.231\.10\.1\.$mp:|10\.231\.10\.1\.$mp > 10\.231\.10\.2\.[0-9]+:"
t_like "the capture on mq-to-broker has the relay and the broker" \
	"$(tcpdump -nr "$T_TMP/broker-side.pcap" 2>/dev/null)" "10\.231\.10\.5\.[0-9]+ > 10\.231\.10\.6\.$bp:|10\.231\.10\.6\.$bp > 10\.231\.10\.5\.[0-9]+:"
t_exit "the devices have no way to the broker but the relay" 1 \
	in_ns "$DEVH" timeout 5 bash -c "exec 3<>/dev/tcp/10.231.10.6/$bp"

# Status, reuse and check from outside the namespaces.
t_like "lab status shows the companions running" "$("$MQTTLS" lab status mitm)" 'esp32-verify +running'
t_like "a second start --netns reuses it" "$("$MQTTLS" lab start mitm --netns 2>&1)" 'already running \(reused\)'
"$MQTTLS" lab check mitm --json >"$T_TMP/check.json"
t_is "lab check runs on the lab network and fails as it should" \
	"$(t_json "$T_TMP/check.json" '[c["finding"] for c in j["checks"] if not c["pass"]]')" '["INSECURE_VERIFY_OFF"]'
sed -i 's/^verify .*/verify   ca/' "$DIR/device.conf"
t_ok "after the fix the check passes" "$MQTTLS" lab check mitm
t_like "the sketch says its address is the lab network's, not one a real ESP32 reaches" \
	"$("$MQTTLS" lab sketch mitm | head -n 8 | tr '\n' ' ')" "broker at 10\.231\.10\.6:[0-9]+\. +\* That is the broker's address on the lab network of --netns"

# Reset puts the fault back on the same network: the broker again in the broker's namespace.
t_ok "lab reset mitm exits 0" "$MQTTLS" lab reset mitm
t_is "... the namespaces are the same" "$(netns_of "$DEVH") $(netns_of "$ATKH") $(netns_of "$BRKH")" "$NS_DEV $NS_ATK $NS_BRK"
t_is "... its new mosquitto is in the broker's" \
	"$(netns_of "$("$MQTTLS" lab status mitm --json | t_json - 'j[0]["pid"]')")" "$NS_BRK"
t_is "... the relay in the attacker's" "$(netns_of "$(companion mitm)")" "$NS_ATK"
t_like "... and the check fails again as it should" "$("$MQTTLS" lab check mitm 2>&1)" "INSECURE_VERIFY_OFF"

# A crash (the broker and every companion killed, nothing stopped): the next start clears what
# was left. (The check restarted the broker on the edited files: its pid is read again.)
bpid=$("$MQTTLS" lab status mitm --json | t_json - 'j[0]["pid"]')
pids="$bpid $(sed -n 's/.*"pid":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$DIR/companions.json")"
t_is "... they are all in the lab's namespaces" \
	"$(for p in $pids; do case $(netns_of "$p") in "$NS_DEV" | "$NS_ATK" | "$NS_BRK") echo in ;; *) echo OUT ;; esac; done | sort -u)" in
kill -9 $pids
for _ in $(seq 1 100); do
	gone=1
	for p in $pids; do [ -r "/proc/$p/stat" ] && ! grep -q ') Z ' "/proc/$p/stat" && gone=0; done
	[ "$gone" = 1 ] && break
	sleep 0.05
done
old_holders=$(holder_pids)
t_ok "a start after the crash exits 0" "$MQTTLS" lab start mitm --netns
t_is "the old namespaces' holders are gone" "$(still $old_holders)" ""
t_is "three new ones are held" "$(holders_alive)" 3

# Stop: nothing left.
pids="$(holder_pids) $("$MQTTLS" lab status mitm --json | t_json - 'j[0]["pid"]')"
pids="$pids $(sed -n 's/.*"pid":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$DIR/companions.json")"
t_ok "lab stop mitm exits 0" "$MQTTLS" lab stop mitm
t_is "no process of the lab is left, the namespaces' holders included" "$(still $pids)" ""
t_is "no holder of this lab is left" "$(holders_alive)" 0
t_is "no interface of the lab is left" "$(ip -o link show | grep -c ' mq-to-')" 0
t_unlike "the record is gone" "$(ls "$DIR")" 'netns\.json'
t_like "status says it is not running" "$("$MQTTLS" lab status mitm)" "is not running"

# A start that fails part-way (the relay's log cannot be made) removes the network it made.
ln -sf /nonexistent "$DIR/mitm.log"
out=$("$MQTTLS" lab start mitm --netns 2>&1)
t_is "a start whose relay cannot start fails (exit 1)" "$?" 1
t_like "... saying why" "$out" "mitm\.log"
t_is "... and leaves no namespace" "$(holders_alive)" 0
t_is "... nor its broker" "$("$MQTTLS" lab status mitm --json | t_json - 'j[0]["running"]')" false
rm -f "$DIR/mitm.log"

# Ctrl-C at any moment of a start, a little later each time until one ends by itself: whatever
# it made, lab stop finds and removes. (Job control on: a background job gets SIGINT as a
# terminal's Ctrl-C would give it.)
set -m
left="" tries=0 with_net=0
for k in $(seq 0 100); do
	"$MQTTLS" lab start mitm --netns >/dev/null 2>&1 &
	lp=$!
	sleep "$(awk -v k="$k" 'BEGIN { printf "%.2f", 0.01 + 0.03 * k }')"
	kill -INT "$lp" 2>/dev/null
	wait "$lp" 2>/dev/null
	rc=$?
	[ "$rc" != 0 ] && [ "$(holders_alive)" -gt 0 ] && with_net=$((with_net + 1))
	"$MQTTLS" lab stop mitm >/dev/null 2>&1
	left="$left$(lab_procs)"
	tries=$((tries + 1))
	[ "$rc" = 0 ] && break
done
set +m
t_ok "some starts were interrupted after their namespaces were made ($with_net of $tries)" test "$with_net" -gt 0
t_is "lab start --netns interrupted at $tries moments: lab stop leaves no process nor namespace" "$left" ""
t_ok "... and it starts again afterwards" "$MQTTLS" lab start mitm --netns
t_is "... with its three namespaces" "$(holders_alive)" 3
t_ok "lab stop without a name stops it too" "$MQTTLS" lab stop
t_is "... leaving nothing of it" "$(lab_procs)" ""
t_done
