# Shared by the lab suites (tests/integration/lab-NN-*.sh): the whole story of a lab with real
# brokers — start, check fails with the lab's finding, the README's fix applied, check passes,
# stop leaves no process, port or namespace behind. Source after tests/lib.sh.
#
#   lab_start NAME                     start it; sets LAB_DIR LAB_WD LAB_PORT LAB_IP LAB_PID
#   lab_check_fails NAME WHAT          check exits 1 and some failing check observed WHAT
#                                      (a finding id or an observation such as "connected")
#   lab_check_passes NAME              check exits 0, every check passed
#   lab_stop_clean NAME                stop; no broker, companion, port or namespace is left
#   lab_netns PREFIX ADDR...           a classroom network namespace (sets NSNAME, IN), removed at exit

LAB_PIDS_SEEN=""
LAB_PORTS_SEEN=""

# The processes a lab has right now: its broker and what runs beside it.
lab_pids() {
	local dir=$MQTTLS_STATE_DIR/labs/$1
	sed -n 's/.*"pid":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$dir/state.json" "$dir/companions.json" 2>/dev/null
}

lab_alive() { [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null; }
lab_port_listening() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

lab_start() {
	local name=$1 out
	shift
	out=$("$MQTTLS" lab start "$name" "$@" 2>&1)
	t_is "$name: lab start exits 0" "$?" 0
	LAB_START_OUT=$out
	LAB_JSON=$("$MQTTLS" lab status "$name" --json)
	LAB_DIR=$(echo "$LAB_JSON" | t_json - 'j[0]["dir"]')
	LAB_WD=$(echo "$LAB_JSON" | t_json - 'j[0]["workdir"]')
	LAB_PORT=$(echo "$LAB_JSON" | t_json - 'j[0]["port"]')
	LAB_PLAIN=$(echo "$LAB_JSON" | t_json - 'j[0].get("plain_port", 0)')
	LAB_IP=$(echo "$LAB_JSON" | t_json - 'j[0]["ip"]')
	LAB_PID=$(echo "$LAB_JSON" | t_json - 'j[0]["pid"]')
	LAB_PIDS_SEEN="$LAB_PIDS_SEEN $(lab_pids "$name")"
	LAB_PORTS_SEEN="$LAB_PORTS_SEEN $LAB_PORT ${LAB_PLAIN#0}"
	t_like "$name: it prints where the student's files are" "$out" "Your files \(the fix happens here\): $LAB_WD"
	t_like "$name: ... and how to check" "$out" "mqttls lab check $name"
}

# The check as JSON, and its exit status in LAB_CHECK_RC.
lab_check_json() {
	"$MQTTLS" lab check "$1" --json >"$T_TMP/check.json" 2>"$T_TMP/check.err"
	LAB_CHECK_RC=$?
}

lab_check_fails() {
	local name=$1 what=$2 seen
	lab_check_json "$name"
	t_is "$name: check fails before the fix (exit 1)" "$LAB_CHECK_RC" 1
	seen=$(t_json "$T_TMP/check.json" '" ".join("%s/%s" % (c["observed"], c["finding"]) for c in j["checks"] if not c["pass"])' 2>/dev/null)
	t_like "$name: ... and what still stands is $what" "$seen" "(^| |/)$what( |/|$)"
	# The human form says the same.
	t_like "$name: the human check names it too" "$("$MQTTLS" lab check "$name" 2>&1)" "not yet — .*$what|$what"
}

lab_check_passes() {
	local name=$1 failing
	lab_check_json "$name"
	failing=$(t_json "$T_TMP/check.json" '"; ".join("%s: %s %s" % (c["why"], c["observed"], c["detail"]) for c in j["checks"] if not c["pass"])' 2>/dev/null)
	t_is "$name: check passes after the fix (exit 0)" "$LAB_CHECK_RC" 0
	t_is "$name: ... every check passed" "$failing" ""
	t_like "$name: the human check says PASS" "$("$MQTTLS" lab check "$name" 2>&1)" "PASS — every check passes"
}

lab_stop_clean() {
	local name=$1 left="" pid port ports
	LAB_PIDS_SEEN="$LAB_PIDS_SEEN $(lab_pids "$name")"
	t_ok "$name: lab stop exits 0" "$MQTTLS" lab stop "$name"
	for pid in $LAB_PIDS_SEEN; do
		lab_alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != bash ] && left="$left $pid"
	done
	t_is "$name: no process of the lab is left" "$left" ""
	ports=""
	for port in $LAB_PORTS_SEEN; do
		lab_port_listening "$port" "$LAB_IP" && ports="$ports $port"
	done
	t_is "$name: no port of the lab is left listening" "$ports" ""
	t_unlike "$name: no state file is left" "$(ls "$MQTTLS_STATE_DIR/labs/$name")" 'state\.json|companions\.json'
	if command -v ip >/dev/null; then
		t_is "$name: no network namespace is left" "$(ip netns list 2>/dev/null | grep -c mqttls-lab)" 0
	fi
	t_like "$name: status says it is not running" "$("$MQTTLS" lab status "$name")" "is not running"
}

# lab_hints NAME N: the hints come one at a time, the count is kept, the last one repeats.
lab_hints() {
	local name=$1 n=$2 i out
	for i in $(seq 1 "$n"); do
		out=$("$MQTTLS" lab hint "$name")
		t_like "$name: hint $i of $n comes in turn" "$out" "^Hint $i of $n for lab '$name':"
	done
	t_like "$name: after the last, the last again" "$("$MQTTLS" lab hint "$name")" "^Hint $n of $n.*last hint|Hint $n of $n"
	t_like "$name: status counts them" "$("$MQTTLS" lab status "$name")" "hints shown: $n of $n"
}

# lab_netns PREFIX ADDR...: a network namespace standing in for a classroom, its lo holding each
# ADDR (no module needed), removed at exit (lab_netns_del removes it earlier). Sets NSNAME and IN,
# the command prefix that runs inside it. Returns 1 after a skip when this machine cannot make one.
lab_netns() {
	local prefix=$1 a
	shift
	if [ "$(id -u)" != 0 ] || ! ip netns add "$prefix-$$" 2>/dev/null; then
		t_skip "instructor mode needs root and network namespaces"
		return 1
	fi
	NSNAME=$prefix-$$
	trap 'lab_netns_del; t_cleanup' EXIT
	ip -n "$NSNAME" link set lo up
	for a in "$@"; do
		ip -n "$NSNAME" addr add "$a" dev lo
	done
	IN=(ip netns exec "$NSNAME")
}

lab_netns_del() {
	ip netns pids "$NSNAME" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$NSNAME" 2>/dev/null
}
