#!/usr/bin/env bash
# The gate, proven from the outside: every refused address is refused before any socket
# connects (strace shows no connect() to an Internet address at all), with one clear sentence,
# and the banner comes first even then. Nothing here sends a packet off this machine: the
# refused addresses are never contacted, which is exactly what is checked.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../mitm-lib.sh"

pki=$(t_pki) || exit 1
# LeakSanitizer cannot run under ptrace; the leak checks are in the other suites.
export ASAN_OPTIONS=detect_leaks=0:exitcode=86

have_strace=0
command -v strace >/dev/null 2>&1 && strace -f -qq -e trace=connect -o /dev/null true 2>/dev/null && have_strace=1

# Commands run as "${T_RUN[@]}" mqttls mitm ... (a namespace wrapper below).
T_RUN=(env)

# The connect()/bind() calls strace saw on TCP sockets to IPv4/IPv6 addresses, one per line.
# glibc's getaddrinfo connect()s a UDP socket to each candidate to sort them (RFC 6724): that sends
# nothing, and is not counted; any TCP connect would be.
tcp_calls() {
	"$T_PY" - "$1" <<'PY'
import re, sys
tcp = set()
for line in open(sys.argv[1]):
    m = re.match(r"(\d+)\s+socket\((AF_INET6?), (SOCK_\w+).*\)\s+=\s+(\d+)", line)
    if m:
        key = (m.group(1), m.group(4))
        (tcp.add if m.group(3) == "SOCK_STREAM" else tcp.discard)(key)
        continue
    m = re.match(r"(\d+)\s+(connect|bind)\((\d+), \{sa_family=AF_INET", line)
    if m and (m.group(1), m.group(3)) in tcp:
        print(line.strip())
PY
}

# refused DESC REGEX ARGS...: mqttls mitm ARGS exits non-zero, says REGEX, the banner is line 1
# of stderr, and (under strace) it never called connect() on an IPv4/IPv6 socket.
refused() {
	local desc=$1 re=$2 rc
	shift 2
	if [ "$have_strace" = 1 ]; then
		strace -f -qq -e trace=socket,connect,bind -o "$T_TMP/strace.txt" "${T_RUN[@]}" "$MQTTLS" mitm "$@" \
			>"$T_TMP/out.txt" 2>"$T_TMP/err.txt"
	else
		"${T_RUN[@]}" "$MQTTLS" mitm "$@" >"$T_TMP/out.txt" 2>"$T_TMP/err.txt"
	fi
	rc=$?
	t_unlike "$desc: refused (exit $rc)" "$rc" '^0$'
	t_like "$desc: says why" "$(cat "$T_TMP/err.txt")" "$re"
	t_like "$desc: the banner is still the first line" "$(head -n1 "$T_TMP/err.txt")" '^INSECURE LAB MITM'
	if [ "$have_strace" = 1 ]; then
		t_is "$desc: no TCP socket connected or bound (strace)" "$(tcp_calls "$T_TMP/strace.txt")" ""
	else
		t_skip "$desc: strace is not available to prove no socket connected"
	fi
}

lp=$(t_free_port)
up=$(t_free_port)
ca=$pki/ca.crt

refused "--listen 0.0.0.0 without --lab-bind" 'unspecified address' --listen "0.0.0.0:$lp"
refused "--listen [::]" 'unspecified address' --listen "[::]:$lp"
refused "--listen 0.0.0.0 even with --lab-bind" 'unspecified address' --listen "0.0.0.0:$lp" --lab-bind 192.168.77.0/24
refused "--listen on a LAN address without --lab-bind" 'loopback-only unless --lab-bind' --listen "192.168.77.1:$lp"
refused "--listen outside the --lab-bind range" 'neither loopback nor inside a --lab-bind range' \
	--listen "10.9.9.9:$lp" --lab-bind 192.168.77.0/24
refused "--lab-bind of a public range" 'not a lab network' --listen "127.0.0.1:$lp" --lab-bind 8.8.8.0/24
refused "--lab-bind wider than a private range" 'not a lab network' --listen "127.0.0.1:$lp" --lab-bind 10.0.0.0/7
refused "--lab-bind 0.0.0.0/0" 'not a lab network' --listen "127.0.0.1:$lp" --lab-bind 0.0.0.0/0
refused "a public upstream" 'refusing to connect upstream to 8\.8\.8\.8:8883' \
	--listen "127.0.0.1:$lp" --upstream 8.8.8.8:8883 --upstream-cafile "$ca"
refused "an upstream ::ffff:8.8.8.8" 'refusing to connect upstream to 8\.8\.8\.8:8883' \
	--listen "127.0.0.1:$lp" --upstream '[::ffff:8.8.8.8]:8883' --upstream-cafile "$ca"
refused "a public IPv6 upstream" 'refusing to connect upstream' \
	--listen "127.0.0.1:$lp" --upstream '[2001:4860:4860::8888]:8883' --upstream-cafile "$ca"
# inet_aton's shorthand is not a literal for the gate: it is a name, resolved (locally, by libc)
# to 8.8.8.8, and that resolved address is refused.
refused "a host name that resolves to a public address (134744072 = 8.8.8.8)" \
	"8\\.8\\.8\\.8.*'134744072' resolves to it" \
	--listen "127.0.0.1:$lp" --upstream 134744072:8883 --upstream-cafile "$ca"
refused "a public upstream even inside a --lab-bind run" 'neither loopback nor inside' \
	--listen "127.0.0.1:$lp" --lab-bind 192.168.77.0/24 --upstream 8.8.4.4:8883 --upstream-cafile "$ca"
refused "a public address to clone a certificate from" 'refusing to connect upstream to 1\.1\.1\.1' \
	--listen "127.0.0.1:$lp" --clone 1.1.1.1:8883
refused "relaying to its own listening address" "the MITM's own listening address" \
	--listen "127.0.0.1:$lp" --upstream "127.0.0.1:$lp" --upstream-cafile "$ca"
refused "relaying to itself by name" "own listening address" \
	--listen "127.0.0.1:$lp" --upstream "localhost:$lp" --upstream-cafile "$ca"
refused "an upstream without a CA to verify it" 'needs --upstream-cafile' --listen "127.0.0.1:$lp" --upstream "localhost:$up"

# A name whose resolver entries mix lab and public addresses: a private mount namespace gives
# this one process its own /etc/hosts (the machine's is untouched). Inside it the resolver reads
# that file only and any DNS query would go to loopback, so no name ever leaves the machine.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	printf '127.0.0.1 localhost\n8.8.8.8 evil.lab\n127.0.0.1 mixed.lab\n8.8.8.8 mixed.lab\n' >"$T_TMP/hosts"
	printf 'hosts: files\n' >"$T_TMP/nsswitch.conf"
	printf 'nameserver 127.0.0.1\n' >"$T_TMP/resolv.conf"
	cat >"$T_TMP/in-ns.sh" <<NS
mount --bind "$T_TMP/hosts" /etc/hosts || exit 99
mount --bind "$T_TMP/nsswitch.conf" /etc/nsswitch.conf || exit 99
mount --bind "$T_TMP/resolv.conf" /etc/resolv.conf || exit 99
exec "\$@"
NS
	T_RUN=(unshare -m sh "$T_TMP/in-ns.sh")
	refused "a name with one loopback and one public address" "8\\.8\\.8\\.8.*'mixed\\.lab' resolves to it" \
		--listen "127.0.0.1:$lp" --upstream mixed.lab:8883 --upstream-cafile "$ca"
	refused "a name that resolves only to a public address" "8\\.8\\.8\\.8.*'evil\\.lab' resolves to it" \
		--listen "127.0.0.1:$lp" --upstream evil.lab:8883 --upstream-cafile "$ca"
	T_RUN=(env)
else
	t_skip "a private /etc/hosts needs root and unshare -m"
fi

# The checker itself sees a TCP connect when there is one: an allowed clone from a real broker.
if [ "$have_strace" = 1 ]; then
	bp=$(t_free_port)
	t_broker real "$bp" "$(t_tls_listener "$bp" "$pki")
allow_anonymous true" || exit 1
	strace -f -qq -e trace=socket,connect,bind -o "$T_TMP/strace.txt" "$MQTTLS" mitm --listen "127.0.0.1:$lp" \
		--clone "127.0.0.1:$bp" --duration 1 >/dev/null 2>&1
	t_like "control: strace shows the TCP connect of an allowed clone" "$(tcp_calls "$T_TMP/strace.txt")" \
		"connect\\(.*htons\\($bp\\).*127\\.0\\.0\\.1"
fi

# Usage errors are exit 2 with one sentence.
t_exit "--listen is required" 2 "$MQTTLS" mitm
t_exit "a port is required" 2 "$MQTTLS" mitm --listen 127.0.0.1
t_exit "--max-conns must be a number" 2 "$MQTTLS" mitm --listen "127.0.0.1:$lp" --max-conns many
t_exit "--inject needs TOPIC=PAYLOAD" 2 "$MQTTLS" mitm --listen "127.0.0.1:$lp" --inject nothing
t_exit "--inject refuses a wildcard topic" 2 "$MQTTLS" mitm --listen "127.0.0.1:$lp" --inject 'a/#=x'
t_exit "an unknown option" 2 "$MQTTLS" mitm --listen "127.0.0.1:$lp" --arp-spoof

# What is allowed runs: loopback by default, and a loopback listener with a lab range admitted.
export ASAN_OPTIONS=detect_leaks=1:exitcode=86
t_mitm ok --listen "127.0.0.1:$lp" --lab-bind 192.168.77.0/24 --duration 1 || exit 1
t_is "loopback with a lab range runs as a rogue broker" "$(t_log ok 'pick(ev, "listening")[0]["mode"]')" "rogue"
t_is "the default connection limit is in force" "$(t_log ok 'pick(ev, "listening")[0]["max_conns"]')" "256"
var=T_MITM_PID_ok
wait "${!var}"
t_is "--duration ends the run by itself, exit 0" "$?" "0"
t_like "... and says why" "$(t_log ok 'ev[-1]["reason"]')" 'maximum run time \(1 s\)'

# Without --duration a run is still bounded: the default maximum is an hour.
t_mitm dflt --listen "127.0.0.1:$(t_free_port)" || exit 1
t_is "without --duration the maximum run time is 3600 s" "$(t_log dflt 'pick(ev, "listening")[0]["duration"]')" "3600"
t_mitm_stop dflt
t_is "... and SIGTERM stops it cleanly" "$T_MITM_RC" "0"

# --max-conns: the third simultaneous victim is turned away before TLS.
mp=$(t_free_port)
t_mitm few --listen "127.0.0.1:$mp" --max-conns 2 --duration 60 || exit 1
exec 5<>"/dev/tcp/127.0.0.1/$mp" 6<>"/dev/tcp/127.0.0.1/$mp"
t_wait_log few 'True' # let the two be accepted
sleep 0.3
exec 7<>"/dev/tcp/127.0.0.1/$mp"
t_wait_log few 'count(ev, "refused") == 1'
t_like "--max-conns 2 refuses the third victim" "$(t_log few 'pick(ev, "refused")[0]["reason"]')" 'max-conns 2'
exec 5>&- 6>&- 7>&-

# The log: never readable by others, never overwriting without --force.
touch "$T_TMP/taken.jsonl"
out=$("$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --json-log "$T_TMP/taken.jsonl" --duration 1 2>&1)
t_is "an existing --json-log is not overwritten" "$?" "1"
t_like "... and the user is told to use --force" "$out" 'already exists: use --force'
chmod 0644 "$T_TMP/taken.jsonl"
"$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --json-log "$T_TMP/taken.jsonl" --force --duration 1 >/dev/null 2>&1
t_is "--force replaces it, mode 0600" "$(stat -c %a "$T_TMP/taken.jsonl")" "600"
t_like "... starting with the banner" "$(head -n1 "$T_TMP/taken.jsonl")" '"banner":"INSECURE LAB MITM"'

t_done
