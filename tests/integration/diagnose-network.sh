#!/usr/bin/env bash
# Network faults against real peers on loopback: a name that does not resolve, a closed port, a
# port whose accept queue is full (its SYNs go unanswered: a silent peer), a plain MQTT listener,
# and ports that answer neither TLS nor MQTT (a banner, silence, an immediate close).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/diagnose.inc"
DG_TIMEOUT=1

pki=$(t_pki) || { t_fail "certs init"; t_done; exit 1; }

# A fake server: "banner" writes an SSH banner, "silent" accepts and says nothing, "close"
# accepts and closes, "full" never accepts and fills its accept queue itself.
fake() {
	t_bg "$T_PY" -c '
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(0 if mode == "full" else 8)
keep = []
if mode == "full":
    for _ in range(4):
        c = socket.socket(); c.setblocking(False)
        try: c.connect(("127.0.0.1", port))
        except OSError: pass
        keep.append(c)
    open(sys.argv[3], "w").close()
    time.sleep(120)
open(sys.argv[3], "w").close()
while True:
    c, _ = s.accept()
    if mode == "banner": c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    if mode == "close": c.close(); continue
    keep.append(c)
' "$1" "$2" "$T_TMP/fake-$2.ready"
	for _ in $(seq 1 100); do [ -f "$T_TMP/fake-$2.ready" ] && return 0; sleep 0.02; done
	return 1
}

dg_root dns DNS_FAILED 1 -h no-such-broker.invalid -p 8883 --cafile "$pki/ca.crt"
dg_stage dns resolve failed
dg_stage dns tcp skipped
t_like "dns: the evidence names the host" "$(t_json "$T_TMP/dns.json" 'j["findings"][0]["detail"]')" 'no-such-broker\.invalid'

closed=$(t_free_port)
dg_root refused TCP_REFUSED 1 -h localhost -p "$closed" --cafile "$pki/ca.crt"
dg_stage refused tcp failed
dg_stage refused tls skipped
t_like "refused: the fix shows who listens" "$(t_json "$T_TMP/refused.json" 'j["findings"][0]["fix"]')" "ss -ltnp"
t_like "refused: the ESP32 view says rc=-2" "$(t_json "$T_TMP/refused.json" 'j["findings"][0]["seen"]')" 'rc=-2'

pfull=$(t_free_port)
fake "$pfull" full || t_fail "the full-backlog peer starts"
dg_root silent TCP_TIMEOUT 1 -h 127.0.0.1 -p "$pfull" --cafile "$pki/ca.crt"
dg_stage silent tcp failed

pplain=$(t_free_port)
t_broker plain "$pplain" "listener $pplain 127.0.0.1
allow_anonymous true" || t_fail "plain broker starts"
dg_root plaintext PLAINTEXT_PORT 1 -h localhost -p "$pplain" --cafile "$pki/ca.crt"
dg_stage plaintext tls failed
t_like "plaintext: the evidence quotes the CONNACK" "$(t_json "$T_TMP/plaintext.json" 'j["findings"][0]["detail"]')" 'CONNACK 0'
t_like "plaintext: mosquitto -v view" "$(t_json "$T_TMP/plaintext.json" 'j["findings"][0]["seen"]')" 'disconnected due to protocol error'
t_like "plaintext: the broker logged the TLS hello as a protocol error" "$(cat "$T_TMP/plain.log")" 'disconnected due to protocol error'

pb=$(t_free_port)
fake "$pb" banner || t_fail "the banner peer starts"
dg_root banner NOT_TLS 1 -h 127.0.0.1 -p "$pb" --cafile "$pki/ca.crt"
t_like "banner: the evidence quotes what came back" "$(t_json "$T_TMP/banner.json" 'j["findings"][0]["detail"]')" 'SSH-2\.0-OpenSSH'

ps=$(t_free_port)
fake "$ps" silent || t_fail "the silent peer starts"
dg_root quiet NOT_TLS 1 -h 127.0.0.1 -p "$ps" --cafile "$pki/ca.crt"
t_like "quiet: the evidence says it never answered" "$(t_json "$T_TMP/quiet.json" 'j["findings"][0]["detail"]')" 'never answered'

pc=$(t_free_port)
fake "$pc" close || t_fail "the closing peer starts"
dg_root closing NOT_TLS 1 -h 127.0.0.1 -p "$pc" --cafile "$pki/ca.crt"
t_like "closing: the evidence says it closed" "$(t_json "$T_TMP/closing.json" 'j["findings"][0]["detail"]')" '(closed|reset) the connection'

t_done
