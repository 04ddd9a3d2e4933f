#!/usr/bin/python3
"""Real MQTT clients for the MITM and device suites, on Debian's python3-paho-mqtt (1.6).

Run with /usr/bin/python3 (the python3 first on PATH may lack paho). Every subcommand prints one
JSON object on stdout and exits 0 when it did what it was asked, 1 otherwise. Every wait is
bounded by --timeout.

  pub   connect, publish --count messages "PREFIX-N" at --qos, optionally subscribe and wait for
        one message on --expect TOPIC (an injection), then disconnect (or vanish with --vanish,
        so the broker publishes the will)
  sub   subscribe to --topic and collect --count messages (or until --timeout)
  idle  connect with a short keepalive and stay idle for --idle seconds: PINGREQ/PINGRESP must
        keep the session alive
  many  --count concurrent raw TLS+MQTT sessions held open at once, each CONNECT, PUBLISH QoS 1,
        PUBACK; reports how many completed
"""
import argparse
import json
import socket
import ssl
import struct
import sys
import threading
import time

import paho.mqtt.client as mqtt


def tls_context(a):
    if a.no_tls:
        return None
    if a.verify == "none":  # ESP32 setInsecure(): nothing checked
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx = ssl.create_default_context(cafile=a.cafile)
        ctx.check_hostname = a.verify == "full"
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    return ctx


def client(a, cid, **kw):
    proto = mqtt.MQTTv5 if a.v5 else mqtt.MQTTv311
    c = mqtt.Client(client_id=cid, protocol=proto, **kw)
    if a.user:
        c.username_pw_set(a.user, a.password)
    ctx = tls_context(a)
    if ctx:
        c.tls_set_context(ctx)
    return c


def wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def cmd_pub(a):
    out = {"connected": False, "published": 0, "acked": 0, "injected": [], "rc": None}
    conn = threading.Event()
    c = client(a, a.client_id)
    if a.will_topic:
        c.will_set(a.will_topic, a.will_payload, qos=1, retain=False)

    def on_connect(cl, u, flags, rc, props=None):
        out["rc"] = rc if isinstance(rc, int) else rc.value
        conn.set()

    c.on_connect = on_connect
    c.on_message = lambda cl, u, m: out["injected"].append([m.topic, m.payload.decode("utf-8", "replace")])
    try:
        c.connect(a.host, a.port, keepalive=a.keepalive)
    except Exception as e:  # the handshake failed: that is a result, not a crash
        out["error"] = str(e)
        print(json.dumps(out))
        return 1
    c.loop_start()
    if not conn.wait(a.timeout) or out["rc"] != 0:
        out["error"] = "no CONNACK 0"
        c.loop_stop()
        print(json.dumps(out))
        return 1
    out["connected"] = True
    if a.expect:
        c.subscribe(a.expect, 1)
    infos = []
    for i in range(a.count):
        qos = a.qos if a.qos >= 0 else i % 3
        infos.append(c.publish(a.topic, "%s-%d" % (a.prefix, i), qos=qos, retain=a.retain))
        out["published"] += 1
    for inf in infos:
        try:
            inf.wait_for_publish(timeout=a.timeout)
        except Exception:
            pass
        if inf.is_published():
            out["acked"] += 1
    if a.expect:
        wait_for(lambda: out["injected"], a.timeout)
    if a.vanish:
        # Drop the TCP connection without DISCONNECT: the broker must publish the will.
        c.loop_stop()
        c._sock.shutdown(socket.SHUT_RDWR)
        c._sock.close()
    else:
        c.disconnect()
        c.loop_stop()
    print(json.dumps(out))
    return 0 if out["acked"] == a.count else 1


def cmd_sub(a):
    got = []
    ready = threading.Event()
    c = client(a, a.client_id)

    def on_connect(cl, u, flags, rc, props=None):
        cl.subscribe(a.topic, a.qos if a.qos >= 0 else 2)

    c.on_connect = on_connect
    c.on_subscribe = lambda *x: ready.set()
    c.on_message = lambda cl, u, m: got.append([m.topic, m.payload.decode("utf-8", "replace"), m.qos, int(m.retain)])
    c.connect(a.host, a.port, keepalive=a.keepalive)
    c.loop_start()
    ready.wait(a.timeout)
    if a.ready_file:
        open(a.ready_file, "w").write("ready\n")
    wait_for(lambda: len(got) >= a.count, a.timeout)
    time.sleep(a.linger)
    c.disconnect()
    c.loop_stop()
    print(json.dumps({"count": len(got), "messages": got}))
    return 0 if len(got) >= a.count else 1


def cmd_idle(a):
    out = {"connected": False, "disconnected": False}
    c = client(a, a.client_id)
    c.on_connect = lambda *x: out.__setitem__("connected", True)
    c.on_disconnect = lambda *x: out.__setitem__("disconnected", True)
    c.connect(a.host, a.port, keepalive=a.keepalive)
    c.loop_start()
    wait_for(lambda: out["connected"], a.timeout)
    time.sleep(a.idle)
    still = out["connected"] and not out["disconnected"]
    info = c.publish(a.topic, "after-idle", qos=1)
    info.wait_for_publish(timeout=a.timeout)
    out["published_after_idle"] = info.is_published()
    c.disconnect()
    c.loop_stop()
    out["alive"] = still
    print(json.dumps(out))
    return 0 if still and out["published_after_idle"] else 1


def mqtt_string(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def remaining(n):
    out = b""
    while True:
        d = n % 128
        n //= 128
        out += bytes([d | (0x80 if n else 0)])
        if not n:
            return out


def cmd_many(a):
    """N sessions open at the same time through one MITM: a classroom."""
    ctx = tls_context(a)
    socks, ok = [], 0
    try:
        for i in range(a.count):
            raw = socket.create_connection((a.host, a.port), timeout=a.timeout)
            s = ctx.wrap_socket(raw, server_hostname=a.host) if ctx else raw
            body = mqtt_string("MQTT") + bytes([4, 2]) + struct.pack("!H", 60) + mqtt_string("class-%03d" % i)
            s.sendall(bytes([0x10]) + remaining(len(body)) + body)
            socks.append(s)
        # All connected at once; now each gets its CONNACK, publishes QoS 1 and gets its PUBACK.
        for i, s in enumerate(socks):
            s.settimeout(a.timeout)
            if s.recv(4) != b"\x20\x02\x00\x00":
                continue
            body = mqtt_string(a.topic) + struct.pack("!H", 1) + ("hello-%03d" % i).encode()
            s.sendall(bytes([0x32]) + remaining(len(body)) + body)
        for s in socks:
            try:
                if s.recv(4) == b"\x40\x02\x00\x01":
                    ok += 1
            except Exception:
                pass
    finally:
        for s in socks:
            try:
                s.sendall(b"\xe0\x00")
                s.close()
            except Exception:
                pass
    print(json.dumps({"opened": len(socks), "completed": ok}))
    return 0 if ok == a.count else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["pub", "sub", "idle", "many"])
    p.add_argument("--host", default="localhost")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cafile")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--verify", choices=["full", "ca", "none"], default="full")
    p.add_argument("--no-tls", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--client-id", default="")
    p.add_argument("--topic", default="sensors/t")
    p.add_argument("--prefix", default="m")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--qos", type=int, default=0, help="-1: cycle 0,1,2")
    p.add_argument("--retain", action="store_true")
    p.add_argument("--v5", action="store_true")
    p.add_argument("--keepalive", type=int, default=60)
    p.add_argument("--expect")
    p.add_argument("--will-topic")
    p.add_argument("--will-payload", default="")
    p.add_argument("--vanish", action="store_true")
    p.add_argument("--idle", type=float, default=0)
    p.add_argument("--linger", type=float, default=0)
    p.add_argument("--ready-file")
    p.add_argument("--timeout", type=float, default=20)
    a = p.parse_args()
    return {"pub": cmd_pub, "sub": cmd_sub, "idle": cmd_idle, "many": cmd_many}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
