#!/usr/bin/python3
"""Hostile captures for tests/pcap/hostile.sh, built from real ones or from scratch.

  mkpcap.py KIND OUT [SOURCE.pcap]

Kinds (each a case from the capture issue's list of captures to survive):
  truncated-file      SOURCE cut in the middle of a packet record
  caplen-gt-len       SOURCE with every record claiming more captured bytes than the packet had
  snaplen             SOURCE re-cut to a 80-byte snaplen (headers only, payloads missing)
  doff-lt-5           SOURCE with every TCP data offset set to 4
  opt-len-0           a SYN whose MSS option has length 0, then a plaintext MQTT flow
  tiny-16mb           1-byte TLS records announcing a 16 MB Certificate, 4000 of them
  record-len-0        a TLS handshake record of length 0
  record-too-long     a TLS record of 2^14+2048+1 bytes
  ext-overflow        SOURCE's ClientHello with its first extension overflowing the block
  certlist-mismatch   SOURCE's Certificate list length one more than its certificates
  mqtt-rl5            an MQTT packet whose remaining length takes 5 bytes
  mqtt-string-past    an MQTT CONNECT whose client id length runs past the packet
  million-flows       1,000,000 SYNs from distinct ports and addresses
  no-syn              SOURCE without its first three packets (the capture joined late)
  resegment           SOURCE with every payload cut into 100-byte segments sent in reverse
                      order, plus a retransmitted and an overlapping segment each time
"""
import struct
import sys

PCAP_HDR = struct.Struct("<IHHiIII")
REC = struct.Struct("<IIII")


def read_pcap(path):
    d = open(path, "rb").read()
    magic, _, _, _, _, snap, lt = PCAP_HDR.unpack_from(d)
    assert magic == 0xA1B2C3D4, "little-endian microsecond pcap expected"
    recs, off = [], PCAP_HDR.size
    while off + REC.size <= len(d):
        ts, us, cl, ln = REC.unpack_from(d, off)
        off += REC.size
        recs.append([ts, us, cl, ln, bytearray(d[off:off + cl])])
        off += cl
    return snap, lt, recs


def pcap_bytes(lt, recs, snap=262144):
    out = [PCAP_HDR.pack(0xA1B2C3D4, 2, 4, 0, 0, snap, lt)]
    for ts, us, cl, ln, data in recs:
        out.append(REC.pack(ts, us, cl, ln))
        out.append(bytes(data))
    return b"".join(out)


def write(path, lt, recs, snap=262144):
    with open(path, "wb") as f:
        f.write(pcap_bytes(lt, recs, snap))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b"", opts=b""):
    """Ethernet + IPv4 + TCP."""
    doff = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, doff << 4, flags, 65535, 0,
                      0) + opts + payload
    total = 20 + len(tcp)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp


SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


class Flow:
    """A TCP connection from 10.0.0.1:sport to 10.0.0.2:dport, frames in order."""

    def __init__(self, sport, dport, t0=1700000000):
        self.c, self.s = [10, 0, 0, 1], [10, 0, 0, 2]
        self.sp, self.dp = sport, dport
        self.cseq, self.sseq = 1000, 5000
        self.t = t0 * 1000000
        self.recs = []

    def add(self, data):
        self.t += 100
        self.recs.append([self.t // 1000000, self.t % 1000000, len(data), len(data), bytearray(data)])

    def open(self, syn_opts=b""):
        self.add(frame(self.c, self.s, self.sp, self.dp, self.cseq, 0, SYN, opts=syn_opts))
        self.add(frame(self.s, self.c, self.dp, self.sp, self.sseq, self.cseq + 1, SYN | ACK))
        self.cseq += 1
        self.sseq += 1
        self.add(frame(self.c, self.s, self.sp, self.dp, self.cseq, self.sseq, ACK))

    def client(self, payload):
        self.add(frame(self.c, self.s, self.sp, self.dp, self.cseq, self.sseq, PSH | ACK, payload))
        self.cseq += len(payload)

    def server(self, payload):
        self.add(frame(self.s, self.c, self.dp, self.sp, self.sseq, self.cseq, PSH | ACK, payload))
        self.sseq += len(payload)

    def close(self):
        self.add(frame(self.c, self.s, self.sp, self.dp, self.cseq, self.sseq, FIN | ACK))
        self.add(frame(self.s, self.c, self.dp, self.sp, self.sseq, self.cseq + 1, FIN | ACK))


def tcp_payload_offset(data):
    ihl = (data[14] & 0x0F) * 4
    t = 14 + ihl
    return t, t + (data[t + 12] >> 4) * 4


def first_payload_with(recs, marker):
    """The record whose TCP payload starts with marker: (record, payload offset)."""
    for r in recs:
        _, p = tcp_payload_offset(r[4])
        if bytes(r[4][p:p + len(marker)]) == marker:
            return r, p
    raise SystemExit("no payload starting with %r" % marker)


def connect_string_past_end():
    # A CONNECT with a client id claiming 200 bytes in a 22-byte packet.
    return bytes([0x10, 0x16, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 200]) + b"esp32-abcd"


def main():
    kind, out = sys.argv[1], sys.argv[2]
    src = sys.argv[3] if len(sys.argv) > 3 else None
    if kind in ("truncated-file", "caplen-gt-len", "snaplen", "doff-lt-5", "ext-overflow", "certlist-mismatch",
                "no-syn", "resegment"):
        snap, lt, recs = read_pcap(src)
    if kind == "truncated-file":
        b = pcap_bytes(lt, recs, snap)
        # Cut inside the record data of the sixth packet.
        off = PCAP_HDR.size
        for r in recs[:5]:
            off += REC.size + r[2]
        open(out, "wb").write(b[:off + REC.size + recs[5][2] // 2])
    elif kind == "caplen-gt-len":
        for r in recs:
            r[3] = max(1, r[2] - 10)
        write(out, lt, recs, snap)
    elif kind == "snaplen":
        for r in recs:
            r[4] = r[4][:80]
            r[2] = len(r[4])
        write(out, lt, recs, 80)
    elif kind == "doff-lt-5":
        for r in recs:
            t, _ = tcp_payload_offset(r[4])
            r[4][t + 12] = 0x40
        write(out, lt, recs, snap)
    elif kind == "ext-overflow":
        r, p = first_payload_with(recs, b"\x16\x03")
        body = p + 9
        # legacy_version, random, session id, suites, compression, then the extensions block.
        q = body + 2 + 32
        q += 1 + r[4][q]
        q += 2 + (r[4][q] << 8 | r[4][q + 1])
        q += 1 + r[4][q]
        # First extension's length (after the block length and its type) claims 0xFFF0 bytes.
        r[4][q + 4], r[4][q + 5] = 0xFF, 0xF0
        write(out, lt, recs, snap)
    elif kind == "certlist-mismatch":
        for r in recs:
            t, p = tcp_payload_offset(r[4])
            data = r[4]
            i = p
            # Walk the records in this segment for a Certificate handshake message.
            while i + 9 <= len(data):
                if data[i] == 22 and data[i + 5] == 11:
                    ll = data[i + 9] << 16 | data[i + 10] << 8 | data[i + 11]
                    ll += 1
                    data[i + 9], data[i + 10], data[i + 11] = ll >> 16, (ll >> 8) & 0xFF, ll & 0xFF
                    write(out, lt, recs, snap)
                    return
                i += 5 + (data[i + 3] << 8 | data[i + 4])
        raise SystemExit("no Certificate message found")
    elif kind == "no-syn":
        write(out, lt, recs[3:], snap)
    elif kind == "resegment":
        new = []
        for r in recs:
            t, p = tcp_payload_offset(r[4])
            data = bytes(r[4])
            payload = data[p:]
            if not payload:
                new.append(r)
                continue
            seq = struct.unpack_from("!I", data, t + 4)[0]
            flags = data[t + 13]

            def piece(off, n, last):
                b = bytearray(data[:p] + payload[off:off + n])
                struct.pack_into("!H", b, 16, len(b) - 14)
                struct.pack_into("!I", b, t + 4, (seq + off) & 0xFFFFFFFF)
                b[t + 13] = flags if last else flags & ~FIN
                return [r[0], r[1], len(b), len(b), b]

            cuts = list(range(0, len(payload), 100))
            chunks = [piece(o, 100, o == cuts[-1]) for o in cuts]
            chunks.reverse()
            chunks.append(piece(0, 100, len(payload) <= 100))  # a retransmission
            if len(payload) > 150:
                chunks.append(piece(50, 100, False))  # an overlap of two others
            new += chunks
        write(out, lt, new, snap)
    elif kind == "opt-len-0":
        f = Flow(40001, 1883)
        f.open(syn_opts=bytes([2, 0, 0, 0]))
        f.client(bytes([0x10, 0x0c, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 0]))
        f.server(bytes([0x20, 2, 0, 0]))
        f.close()
        write(out, 1, f.recs)
    elif kind == "tiny-16mb":
        f = Flow(40002, 8883)
        f.open()
        # A Certificate message header announcing 0xFFFFFF bytes, one byte per record, in 1-byte segments.
        hs = bytes([11, 0xFF, 0xFF, 0xFF]) + b"\x00" * 3996
        for b in hs:
            f.client(bytes([22, 3, 3, 0, 1, b]))
        f.close()
        write(out, 1, f.recs)
    elif kind in ("record-len-0", "record-too-long"):
        f = Flow(40003, 8883)
        f.open()
        if kind == "record-len-0":
            f.client(bytes([22, 3, 1, 0, 0]))
        else:
            n = 16384 + 2048 + 1
            f.client(bytes([23, 3, 3, n >> 8, n & 0xFF]) + b"\x00" * 1000)
        f.close()
        write(out, 1, f.recs)
    elif kind == "mqtt-rl5":
        f = Flow(40004, 1883)
        f.open()
        f.client(bytes([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) + b"x" * 20)
        f.close()
        write(out, 1, f.recs)
    elif kind == "mqtt-string-past":
        f = Flow(40005, 1883)
        f.open()
        f.client(connect_string_past_end())
        f.close()
        write(out, 1, f.recs)
    elif kind == "million-flows":
        with open(out, "wb") as fh:
            fh.write(PCAP_HDR.pack(0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            base = frame([10, 0, 0, 1], [10, 0, 0, 2], 1, 8883, 7, 0, SYN)
            ba = bytearray(base)
            t0 = 1700000000
            for i in range(1000000):
                # Source address 10.a.b.c and port vary; the checksums are not checked by anyone here.
                ba[26:30] = bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
                ba[34:36] = struct.pack("!H", 1024 + i % 60000)
                fh.write(REC.pack(t0 + i // 1000000, i % 1000000, len(ba), len(ba)))
                fh.write(ba)
    else:
        raise SystemExit("unknown kind " + kind)


main()
