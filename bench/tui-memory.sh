#!/usr/bin/env bash
# bench/tui-memory.sh [SECONDS] — does the TUI's memory stay flat during a long live capture of
# a busy loopback broker?
#
# A real mosquitto on loopback (TLS with `mqttls certs` certificates, and a plaintext listener),
# the release TUI in a tmux pane with its Capture view live on lo, and a bounded load for
# SECONDS (default 600):
#   - one plaintext client with a user name and password publishing 200 messages a second
#     (every PUBLISH is an event on the flow's ladder);
#   - a new TLS connection every 0.2 s that publishes once and leaves (5 new flows a second:
#     3,000 in ten minutes, ten times the flows the view keeps);
#   - a client that rejects the broker's CA every second (an alert, a failed verdict).
# The TUI's resident memory (VmRSS) is sampled every 10 s. Reported: the samples, the RSS after
# the first minute (when the view's rings are full), the maximum and the last, and the slope
# over the rest of the run. Needs root (live capture), tmux, mosquitto, /usr/bin/python3 with
# python3-paho-mqtt. Loopback only; everything it starts is stopped at exit.
set -u
cd "$(dirname "$0")/.." || exit 2
SECONDS_RUN=${1:-600}
PY=/usr/bin/python3
[ "$(id -u)" = 0 ] || { echo "bench/tui-memory.sh: live capture needs root" >&2; exit 2; }
for tool in tmux mosquitto; do
	command -v "$tool" >/dev/null || { echo "bench/tui-memory.sh: $tool is not installed" >&2; exit 2; }
done
"$PY" -c 'import paho.mqtt.client' 2>/dev/null || { echo "bench/tui-memory.sh: python3-paho-mqtt is missing" >&2; exit 2; }
make -s mqttls >/dev/null || exit 2

T=$(mktemp -d /tmp/mqttls-bench-tui.XXXXXX)
chmod 0755 "$T"
SOCK=mqttls-bench-$$
PIDS=()
cleanup() {
	tmux -L "$SOCK" kill-server 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

./mqttls certs init --dir "$T/pki" >/dev/null || exit 2
./mqttls certs init --dir "$T/other" >/dev/null || exit 2
chmod 0755 "$T/pki"
id mosquitto >/dev/null 2>&1 && chown mosquitto "$T"/pki/*.key
TLS=$(free_port)
PLAIN=$(free_port)
cat >"$T/broker.conf" <<EOF
per_listener_settings false
allow_anonymous true
listener $TLS 127.0.0.1
cafile $T/pki/ca.crt
certfile $T/pki/broker-fullchain.crt
keyfile $T/pki/broker.key
listener $PLAIN 127.0.0.1
EOF
chmod 0644 "$T/broker.conf"
mosquitto -c "$T/broker.conf" >"$T/broker.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$TLS") 2>/dev/null && break; sleep 0.05; done

# The TUI is the pane's own process, so the pane's pid is the TUI's.
tmux -L "$SOCK" -f /dev/null new-session -d -s b -x 120 -y 40 \
	-e MQTTLS_STATE_DIR="$T/state" -e XDG_CONFIG_HOME="$T/config" -e LANG=C.UTF-8 \
	"$PWD/mqttls tui -h localhost -p $TLS --cafile $T/pki/ca.crt"
TUI=$(tmux -L "$SOCK" display -p -t b '#{pane_pid}')
screen() { tmux -L "$SOCK" capture-pane -p -t b; }
for _ in $(seq 1 100); do screen | grep -q 'all stages passed' && break; sleep 0.1; done
tmux -L "$SOCK" send-keys -t b 4 p C-u
tmux -L "$SOCK" send-keys -t b -l "$PLAIN $TLS"
tmux -L "$SOCK" send-keys -t b Enter s
for _ in $(seq 1 50); do screen | grep -q 'running  frames' && break; sleep 0.1; done

# The load, bounded in time and rate.
"$PY" - "$SECONDS_RUN" "$PLAIN" "$TLS" "$T/pki/ca.crt" "$T/other/ca.crt" >"$T/load.log" 2>&1 <<'EOF' &
import ssl, sys, threading, time
import paho.mqtt.client as mqtt
dur, plain, tls, ca, other = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
end = time.time() + dur
counts = {"plain": 0, "tls_ok": 0, "tls_rejected": 0}

def client(cid):
    try:
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid)
    except AttributeError:
        return mqtt.Client(client_id=cid)

def plain_pub():
    c = client("bench-plain")
    c.username_pw_set("alice", "wonderland")
    c.connect("127.0.0.1", plain)
    c.loop_start()
    n = 0
    while time.time() < end:
        c.publish("bench/plain", "reading %d" % n)
        n += 1
        counts["plain"] = n
        time.sleep(0.005)
    c.loop_stop()
    c.disconnect()

def churn(cafile, key, every):
    n = 0
    while time.time() < end:
        t0 = time.time()
        c = client("bench-%s-%d" % (key, n))
        c.tls_set(ca_certs=cafile)
        try:
            c.connect("localhost", tls)
            c.loop_start()
            c.publish("bench/tls", "x").wait_for_publish(2)
            c.disconnect()
            c.loop_stop()
        except Exception:
            pass
        n += 1
        counts[key] = n
        time.sleep(max(0, every - (time.time() - t0)))

ts = [threading.Thread(target=plain_pub), threading.Thread(target=churn, args=(ca, "tls_ok", 0.2)),
      threading.Thread(target=churn, args=(other, "tls_rejected", 1.0))]
for t in ts: t.start()
for t in ts: t.join()
print(counts)
EOF
LOAD=$!
PIDS+=($LOAD)

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$TUI/status" 2>/dev/null; }
echo "# tui-memory: ${SECONDS_RUN}s of load; RSS of the TUI (pid $TUI) every 10 s" >&2
samples=()
start=$(date +%s)
while kill -0 "$LOAD" 2>/dev/null; do
	r=$(rss)
	[ -n "$r" ] || { echo "bench/tui-memory.sh: the TUI is gone" >&2; screen >&2; exit 1; }
	samples+=("$(( $(date +%s) - start )) $r")
	echo "#   t=$(( $(date +%s) - start ))s rss=${r} kB" >&2
	sleep 10
done
wait "$LOAD"
samples+=("$(( $(date +%s) - start )) $(rss)")
last_screen=$(screen)
frames=$(echo "$last_screen" | sed -n 's/.*frames \([0-9]*\).*/\1/p' | head -1)
flows=$(echo "$last_screen" | sed -n 's/.*flows \([0-9]*\).*/\1/p' | head -1)
tmux -L "$SOCK" send-keys -t b q

printf '%s\n' "${samples[@]}" | "$PY" -c '
import sys
rows = [tuple(map(int, l.split())) for l in sys.stdin if l.strip()]
warm = [r for r in rows if r[0] >= 60] or rows
xs = [r[0] for r in warm]; ys = [r[1] for r in warm]
n = len(warm); mx = sum(xs) / n; my = sum(ys) / n
den = sum((x - mx) ** 2 for x in xs) or 1
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 60
print("| measure | value |")
print("|---|---:|")
print("| RSS at start | %.1f MB |" % (rows[0][1] / 1024))
print("| RSS after the first minute | %.1f MB |" % (warm[0][1] / 1024))
print("| RSS max | %.1f MB |" % (max(r[1] for r in rows) / 1024))
print("| RSS at the end | %.1f MB |" % (rows[-1][1] / 1024))
print("| slope after the first minute | %+.1f kB/min |" % slope)
half = [r for r in rows if r[0] >= rows[-1][0] / 2] or rows
hx = [r[0] for r in half]; hy = [r[1] for r in half]
hmx = sum(hx) / len(half); hmy = sum(hy) / len(half)
hden = sum((x - hmx) ** 2 for x in hx) or 1
hslope = sum((x - hmx) * (y - hmy) for x, y in zip(hx, hy)) / hden * 60
print("| RSS at half time | %.1f MB |" % (half[0][1] / 1024))
print("| slope over the second half | %+.1f kB/min |" % hslope)
print("| samples | %d |" % len(rows))
'
echo "| frames captured | ${frames:-?} |"
echo "| flows seen | ${flows:-?} |"
echo "| load | $(tail -1 "$T/load.log") |"
