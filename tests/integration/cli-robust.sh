#!/usr/bin/env bash
# Every command against usage errors and hostile input: bad numbers and conflicting options; a
# directory, a FIFO nobody writes to, /dev/zero, a file too large, a non-UTF-8 file or a missing
# one where a file is expected; outputs that cannot be written or already exist; Ctrl-C in the
# middle of capture, mitm, device and lab start; control bytes in arguments. Each must end (no
# hang: every run is bounded, and a timeout fails), with one precise sentence and the right exit
# status, under ASan with leak checks (a report changes the status), nothing of the user's lost.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../mitm-lib.sh"
src=${MQTTLS_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
export LC_ALL=C.UTF-8

# run NAME CMD...: bounded (a hang is exit 124), stdout/stderr to $T_TMP/NAME.{out,err}, status in $rc.
run() {
	local name=$1
	shift
	timeout -k 5 30 "$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err" </dev/null
	rc=$?
}

# Lines on stderr, the MITM banner aside.
errlines() { grep -vc '^INSECURE LAB MITM - ' "$T_TMP/$1.err"; }

# fails DESC STATUS REGEX CMD...: ends with STATUS and exactly one line on stderr matching REGEX.
fails() {
	local desc=$1 want=$2 re=$3
	shift 3
	run f "$@"
	if [ "$rc" -eq "$want" ] && [ "$(errlines f)" -eq 1 ] && grep -v '^INSECURE LAB MITM - ' "$T_TMP/f.err" | grep -qE -- "$re"; then
		t_pass "$desc"
	else
		t_fail "$desc" "command: $*" "exit $rc (wanted $want)" "stderr: $(head -c 1500 "$T_TMP/f.err")"
	fi
}

pki=$(t_pki) || exit 1
ca=$pki/ca.crt
pt=$(t_free_port)
t_broker main "$pt" "$(t_tls_listener "$pt" "$pki")
allow_anonymous true" || { t_fail "mosquitto starts"; t_done; exit 1; }

# The hostile files.
H=$T_TMP/hostile
mkdir -p "$H/dir"
mkfifo "$H/fifo"
truncate -s 20M "$H/huge"
printf '\xff\xfe\x00listener 1883\n\xc3\x28\x80 allow_anonymous true\r\n\x1b[31mred\n' >"$H/nonutf8"
declare -A what=([dir]="a directory" [fifo]="a FIFO" [zero]="a device" [huge]="too large" [nonutf8]="not a certificate" [missing]="No such file")
path() { case $1 in zero) echo /dev/zero ;; missing) echo "$H/missing" ;; *) echo "$H/$1" ;; esac; }

# ---- a file where a file is expected --------------------------------------------------------
for k in dir fifo zero huge nonutf8 missing; do
	f=$(path "$k")
	run d "$MQTTLS" diagnose --no-weak-probe -h localhost -p "$pt" --cafile "$f" --json
	t_is "diagnose --cafile $k: exit 1, CAFILE_INVALID (a finding, not a crash)" \
		"$rc:$(t_json "$T_TMP/d.out" '[x["id"] for x in j["findings"]][0]' 2>/dev/null)" "1:CAFILE_INVALID"
	run d "$MQTTLS" diagnose --no-weak-probe -h localhost -p "$pt" --cafile "$ca" --cert "$f" --key "$f" --json
	t_is "diagnose --cert/--key $k: exit 1, CLIENT_CERT_INVALID" \
		"$rc:$(t_json "$T_TMP/d.out" '[x["id"] for x in j["findings"]][0]' 2>/dev/null)" "1:CLIENT_CERT_INVALID"
	run i "$MQTTLS" inspect -h localhost -p "$pt" --cafile "$f" --json
	t_is "inspect --cafile $k: exit 1, CAFILE_INVALID" \
		"$rc:$(t_json "$T_TMP/i.out" '[x["id"] for x in j["findings"]][0]' 2>/dev/null)" "1:CAFILE_INVALID"
	[ "$k" = nonutf8 ] && continue
	fails "certs show $k: exit 1, one line" 1 "${what[$k]}" "$MQTTLS" certs show "$f"
	fails "certs export-esp32 $k: exit 1, one line" 1 "${what[$k]}" "$MQTTLS" certs export-esp32 "$f"
	fails "device --cafile $k: exit 1, one line" 1 "--cafile: .*${what[$k]}" "$MQTTLS" device -h localhost -p "$pt" --cafile "$f"
	fails "device --cert $k: exit 1, one line" 1 "--cert: .*${what[$k]}" "$MQTTLS" device -h localhost -p "$pt" --no-verify --cert "$f" --key "$ca"
	fails "mitm --upstream-cafile $k: exit 1, one line" 1 "--upstream-cafile: .*${what[$k]}" \
		"$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --upstream "localhost:$pt" --upstream-cafile "$f"
	fails "mitm --forge ca:$k: exit 1, one line" 1 "${what[$k]}" \
		"$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --forge "ca:$f,$f"
	[ "$k" != missing ] && fails "mitm --clone $k: exit 1, one line" 1 "${what[$k]}" \
		"$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --clone "$f"
	case $k in
	fifo) re="FIFO" ;; zero) re="device" ;; huge) re="too large" ;; dir) re="directory" ;; *) re="${what[$k]}" ;;
	esac
	fails "lint-conf $k: exit 1, one line" 1 "$re" "$MQTTLS" lint-conf "$f"
	fails "diagnose --broker-conf $k: exit 1, it says why" 1 "$re" \
		"$MQTTLS" diagnose --no-weak-probe -h localhost -p "$pt" --cafile "$ca" --broker-conf "$f" --json
	[ "$k" != fifo ] && fails "capture -r $k: exit 1, one line" 1 "${k/zero/dev\/zero}|directory|capture file|No such file" \
		"$MQTTLS" capture -r "$f"
done
fails "mitm --clone of a name that is neither a file nor HOST:PORT" 1 "no such certificate file" \
	"$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --clone "$H/missing"
for k in dir fifo zero missing; do
	f=$(path "$k")
	fails "diagnose --broker-log $k: exit 1, it says why" 1 "broker log|FIFO|device|directory|No such file|cannot" \
		"$MQTTLS" diagnose --no-weak-probe -h localhost -p "$pt" --cafile "$ca" --broker-log "$f" --json
done
run d "$MQTTLS" diagnose --no-weak-probe -h localhost -p "$pt" --cafile "$ca" --broker-log "$H/nonutf8" --json
t_is "diagnose --broker-log of a non-UTF-8 file: read, not a crash (exit 0, valid JSON)" "$rc:$(t_json "$T_TMP/d.out" 'j["ok"]')" "0:true"
run l "$MQTTLS" lint-conf "$H/nonutf8" --json
t_is "lint-conf of a non-UTF-8 file: linted (valid JSON), its bytes escaped" "$(t_json "$T_TMP/l.out" 'j["tool"]')" mqttls
run l "$MQTTLS" lint-conf "$H/nonutf8"
t_unlike "... no raw escape byte reaches the terminal" "$(cat "$T_TMP/l.out")" $'\x1b'

# A FIFO is a real source for capture -r (tcpdump -w FIFO): it waits for the writer and says so.
("$MQTTLS" capture -r "$H/fifo" --port 18885 >"$T_TMP/cf.out" 2>"$T_TMP/cf.err"; echo $? >"$T_TMP/cf.rc") &
cfp=$!
T_PIDS+=("$cfp")
cat "$src/tests/pcap/data/tls12-ok.pcap" >"$H/fifo"
wait "$cfp"
t_is "capture -r FIFO reads what a writer puts in it: exit 0" "$(cat "$T_TMP/cf.rc")" 0
t_like "... and said it was waiting for one" "$(cat "$T_TMP/cf.err")" "FIFO: waiting for a program to write"
t_like "... the flow is decoded" "$(cat "$T_TMP/cf.out")" "tls_ok"
cat "$ca" >"$T_TMP/ca.copy"
out=$(cat "$ca" | "$MQTTLS" certs show /dev/stdin 2>&1)
t_like "certs show /dev/stdin reads a pipe (its own standard input)" "$out" '^/dev/stdin: 1 certificate'

# explain - reads standard input, bounded.
out=$("$MQTTLS" explain - </dev/zero 2>&1)
t_is "explain - from /dev/zero: exit 1 (bounded)" "$?" 1
t_like "... and says so in one line" "$out" '^mqttls explain: cannot read standard input \(more than [0-9]+ KB'
out=$("$MQTTLS" explain - <"$H/dir" 2>&1)
t_is "explain - from a directory: exit 1" "$?" 1
out=$(printf 'boot\n\xff\xfe rc=-2 \x1b[2J\n' | "$MQTTLS" explain - 2>&1)
t_is "explain - of a log with invalid UTF-8 and escapes: recognised, exit 0" "$?" 0
t_unlike "... no raw escape byte is echoed" "$out" $'\x1b'

# A state directory that cannot be one.
out=$(MQTTLS_STATE_DIR=$H/huge "$MQTTLS" lab start basic 2>&1)
t_is "lab start with a state directory that is a file: exit 1" "$?" 1
t_like "... one line saying so" "$out" "^mqttls lab: .*huge exists and is not a directory$"

# ---- outputs that cannot be written, or that exist ------------------------------------------
pcap=$src/tests/pcap/data/tls12-ok.pcap
fails "capture -w into a directory that does not exist" 1 "cannot write .*No such file" "$MQTTLS" capture -r "$pcap" -w /proc/no-such/x.pcap
fails "capture -w naming a directory" 1 "is a directory|exists" "$MQTTLS" capture -r "$pcap" -w "$H/dir"
fails "capture -w naming a directory, with --force" 1 "[Ii]s a directory" "$MQTTLS" capture -r "$pcap" -w "$H/dir" --force
fails "mitm --json-log into a directory that does not exist" 1 "cannot create .*No such file" \
	"$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --json-log /proc/no-such/x.jsonl
fails "mitm --json-log naming a directory" 1 "is a directory" \
	"$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --json-log "$H/dir" --force
fails "certs init --dir that cannot be made" 1 "cannot create directory" "$MQTTLS" certs init --dir /proc/no-such/pki
fails "certs init --dir naming a file" 1 "exists and is not a directory" "$MQTTLS" certs init --dir "$H/huge"
run full "$MQTTLS" diagnose --no-weak-probe -h localhost -p "$pt" --cafile "$ca" --json
"$MQTTLS" diagnose --no-weak-probe -h localhost -p "$pt" --cafile "$ca" --json >/dev/full 2>"$T_TMP/full.err"
t_is "diagnose --json > /dev/full: exit 1, not 0 with a lost result" "$?" 1
t_like "... and says the output is incomplete" "$(cat "$T_TMP/full.err")" "cannot write the output"
"$MQTTLS" certs show "$ca" | true
t_is "a reader that stops early (| head) is no error" "${PIPESTATUS[0]}" 0

# Nothing that exists is replaced without --force.
"$MQTTLS" certs server keep.example --dir "$pki" >/dev/null 2>&1
"$MQTTLS" certs device keep-dev --dir "$pki" >/dev/null 2>&1
"$MQTTLS" certs broken expired --dir "$pki" >/dev/null 2>&1
before=$(cd "$pki" && sha256sum -- *)
for cmd in "init" "server keep.example" "device keep-dev" "broken expired" "broken all"; do
	# shellcheck disable=SC2086
	run e "$MQTTLS" certs $cmd --dir "$pki"
	t_is "certs $cmd over existing files: exit 1, one line" "$rc:$(errlines e)" "1:1"
done
t_is "... and not one file changed" "$(cd "$pki" && sha256sum -- *)" "$before"
echo "my notes" >"$T_TMP/notes.pcap"
run w "$MQTTLS" capture -r "$pcap" -w "$T_TMP/notes.pcap"
t_is "capture -w over a user's file: refused (exit 1), the file kept" "$rc:$(cat "$T_TMP/notes.pcap")" "1:my notes"
echo "my notes" >"$T_TMP/notes.jsonl"
run w "$MQTTLS" mitm --listen "127.0.0.1:$(t_free_port)" --json-log "$T_TMP/notes.jsonl"
t_is "mitm --json-log over a user's file: refused (exit 1), the file kept" "$rc:$(cat "$T_TMP/notes.jsonl")" "1:my notes"
# A run that cannot start leaves no log of its own behind: the same command works once it can.
busy=$(t_free_port)
"$T_PY" -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(30)' "$busy" &
bp=$!
T_PIDS+=("$bp")
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$busy") 2>/dev/null && break; sleep 0.02; done
fails "mitm on a port in use: exit 1, one line" 1 "Address already in use" \
	"$MQTTLS" mitm --listen "127.0.0.1:$busy" --json-log "$T_TMP/new.jsonl" --duration 1
t_is "... and the log it had created is gone" "$(ls "$T_TMP/new.jsonl" 2>&1 | grep -c 'No such file')" 1
kill "$bp" 2>/dev/null

# ---- usage errors: bad numbers, conflicts ---------------------------------------------------
u() { fails "$1" 2 "^mqttls [a-z0-9 -]+: .*\(see 'mqttls [a-z0-9 -]*--help'\)$" "${@:2}"; }
for v in 0 -1 abc '' 1e999 nan inf 0x10; do
	u "diagnose --timeout '$v'" "$MQTTLS" diagnose --timeout "$v"
	u "device --interval '$v'" "$MQTTLS" device --no-verify --interval "$v"
	u "capture --duration '$v'" "$MQTTLS" capture -r "$pcap" --duration "$v"
	u "mitm --duration '$v'" "$MQTTLS" mitm --listen 127.0.0.1:1 --duration "$v"
done
for v in 0 -1 65536 abc '' 99999999999999999999 8883x; do
	u "diagnose -p '$v'" "$MQTTLS" diagnose -p "$v"
	u "capture --port '$v'" "$MQTTLS" capture -r "$pcap" --port "$v"
done
for v in 0 -1 abc '' 99999999999999999999999; do
	u "capture --count '$v'" "$MQTTLS" capture -r "$pcap" --count "$v"
	u "mitm --max-conns '$v'" "$MQTTLS" mitm --listen 127.0.0.1:1 --max-conns "$v"
	u "certs init --days '$v'" "$MQTTLS" certs init --dir "$T_TMP/p" --days "$v"
done
u "device --count -1" "$MQTTLS" device --no-verify --count -1
u "certs init --rsa 1024" "$MQTTLS" certs init --dir "$T_TMP/p" --rsa 1024
u "certs init --san of no kind" "$MQTTLS" certs init --dir "$T_TMP/p" --san localhost
u "-k -1" "$MQTTLS" diagnose -k -1
u "-q 3" "$MQTTLS" diagnose -q 3
u "capture -i and -r" "$MQTTLS" capture -i lo -r "$pcap"
u "capture --force without -w" "$MQTTLS" capture -r "$pcap" --force
u "--cert without --key" "$MQTTLS" diagnose --cert "$ca"
u "mqtt:// with TLS options" "$MQTTLS" diagnose mqtt://localhost --cafile "$ca"
u "--tls-version tlsv1.3 with --tls-max tlsv1.2" "$MQTTLS" diagnose --tls-version tlsv1.3 --tls-max tlsv1.2
u "-P without -u (MQTT 3.1.1)" "$MQTTLS" diagnose -P secret
u "--psk" "$MQTTLS" diagnose --psk 00
u "device --no-verify with --verify" "$MQTTLS" device --no-verify --verify --cafile "$ca"
u "device --skip-cn-check without a CA" "$MQTTLS" device --skip-cn-check --no-verify
u "device --pin that is not a fingerprint" "$MQTTLS" device --pin 1234
u "certs export-esp32 --arduino --esp-idf" "$MQTTLS" certs export-esp32 "$ca" --arduino --esp-idf
u "certs export-esp32 --name that is not a C identifier" "$MQTTLS" certs export-esp32 "$ca" --name 'a b'
u "lab sketch --arduino --esp-idf" "$MQTTLS" lab sketch ip-san --arduino --esp-idf
u "lab start with two names" "$MQTTLS" lab start basic ip-san
u "lab list --lab-bind" "$MQTTLS" lab list --lab-bind 10.0.0.0/8
u "explain - with text" "$MQTTLS" explain - rc=-2
u "lint-conf two files" "$MQTTLS" lint-conf a.conf b.conf
u "lint-conf --as-user of nobody known" "$MQTTLS" lint-conf a.conf --as-user no-such-user-here
u "mitm --inject with a wildcard topic" "$MQTTLS" mitm --listen 127.0.0.1:1 --inject 'a/#=x'
u "mitm --listen without a port" "$MQTTLS" mitm --listen 127.0.0.1
u "tui with a TARGET option without its value" "$MQTTLS" tui -h
u "a URL with a port that is not one" "$MQTTLS" diagnose mqtts://host:99999
run long "$MQTTLS" diagnose "mqtts://u:$(head -c 5000 /dev/zero | tr '\0' A)@localhost:1" --json
t_is "a URL with a 5000-byte password: a usage error, not a crash" "$rc" 2

# Bytes a terminal would obey, in arguments: escaped on the way out.
run esc "$MQTTLS" diagnose --no-weak-probe -h $'bad\x1b]0;owned\x07host\xff' -p "$pt" --cafile "$ca"
t_is "diagnose of a host name with control bytes: exit 1" "$rc" 1
t_unlike "... no raw control byte in its output" "$(cat "$T_TMP/esc.out" "$T_TMP/esc.err")" $'\x1b|\x07'
run esc "$MQTTLS" explain $'\x1b[2J\xff\xfe'
t_is "explain of control bytes: not recognised (exit 1)" "$rc" 1
t_unlike "... not echoed raw" "$(cat "$T_TMP/esc.out")" $'\x1b'
run esc "$MQTTLS" diagnose --no-weak-probe -h localhost -p "$pt" --cafile "$ca" -t $'bad\xff/\x1b[31m' --json
t_is "diagnose -t with invalid UTF-8: ends (exit 0 or 1), valid JSON" "$([ "$rc" -le 1 ] && t_json "$T_TMP/esc.out" 'j["tool"]')" mqttls
run esc "$MQTTLS" certs show $'/no/such/\x1b[31mfile'
t_unlike "certs show of a path with escapes: the path is escaped" "$(cat "$T_TMP/esc.err")" $'\x1b'

# ---- Ctrl-C in the middle -------------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
	"$MQTTLS" capture -i lo --port "$pt" -w "$T_TMP/int.pcap" >"$T_TMP/int.out" 2>"$T_TMP/int.err" &
	cp=$!
	T_PIDS+=("$cp")
	for _ in $(seq 1 100); do grep -q "listening on lo" "$T_TMP/int.err" 2>/dev/null && break; sleep 0.05; done
	mosquitto_pub -h localhost -p "$pt" --cafile "$ca" -t robust/int -m 1
	sleep 0.3
	kill -INT "$cp"
	wait "$cp"
	t_is "capture -i -w ended by Ctrl-C: exit 0" "$?" 0
	t_like "... every connection's verdict printed" "$(cat "$T_TMP/int.out")" "tls_ok"
	run r "$MQTTLS" capture -r "$T_TMP/int.pcap" --port "$pt"
	t_is "... the -w file is a complete capture" "$rc:$(grep -c tls_ok "$T_TMP/r.out")" "0:1"
	t_is "... nothing half-written is left beside it" "$(ls "$T_TMP" | grep -c 'int\.pcap.')" 0
else
	t_skip "live capture needs root"
fi
mp=$(t_free_port)
t_mitm rogue --listen "127.0.0.1:$mp" || { t_fail "mitm starts"; t_done; exit 1; }
t_mc pub --port "$mp" --verify none --client-id int-victim --topic robust/m --count 2 >/dev/null
eval "pid=\$T_MITM_PID_rogue"
kill -INT "$pid"
wait "$pid"
t_is "mitm ended by Ctrl-C: exit 0 (no leak)" "$?" 0
t_is "... every line of its log is JSON, the last one says it stopped" \
	"$("$T_PY" -c 'import json,sys; L=[json.loads(l) for l in open(sys.argv[1])]; print(L[-1]["event"], L[-1]["reason"])' "$T_TMP/rogue.jsonl")" "stopped interrupted"
t_is "... with the victim's messages" "$(t_log rogue 'count(ev, "publish")')" 2
# device_ctrl_c COUNT: a device publishing COUNT messages gets Ctrl-C after its first; $rc, $T_TMP/dev.out.
device_ctrl_c() {
	"$MQTTLS" device -h localhost -p "$pt" --cafile "$ca" --count "$1" --interval 0.05 >"$T_TMP/dev.out" 2>&1 &
	local dp=$!
	T_PIDS+=("$dp")
	for _ in $(seq 1 200); do grep -q 'Publish message' "$T_TMP/dev.out" && break; sleep 0.02; done
	kill -INT "$dp"
	wait "$dp"
	rc=$?
}
device_ctrl_c 1000
t_is "device --count 1000 interrupted: not every message was published, exit 1" "$rc" 1
t_like "... it says how many were" "$(cat "$T_TMP/dev.out")" '# published [0-9]+ of 1000 messages'
device_ctrl_c 0
t_is "device --count 0 (until stopped) ended by Ctrl-C: exit 0" "$rc" 0

# lab start interrupted at every moment: afterwards, whatever it started, lab stop finds it.
# (Job control on: a background job must get SIGINT as a terminal's Ctrl-C would give it.)
set -m
orphans=0
for d in 0.01 0.03 0.05 0.07 0.09 0.11 0.13 0.15 0.2 0.3; do
	"$MQTTLS" lab start ip-san >/dev/null 2>&1 &
	lp=$!
	sleep "$d"
	kill -INT "$lp" 2>/dev/null
	wait "$lp" 2>/dev/null
	"$MQTTLS" lab stop ip-san >/dev/null 2>&1
	for p in $(pgrep -x mosquitto); do
		grep -qF "$MQTTLS_STATE_DIR/labs/ip-san" "/proc/$p/cmdline" 2>/dev/null && { orphans=$((orphans + 1)); kill "$p"; }
	done
done
set +m
t_is "lab start interrupted at 10 moments: no broker left that lab stop does not find" "$orphans" 0
"$MQTTLS" lab start ip-san >/dev/null 2>&1
t_is "... and the lab still starts afterwards" "$?" 0
"$MQTTLS" lab stop >/dev/null 2>&1
t_done
