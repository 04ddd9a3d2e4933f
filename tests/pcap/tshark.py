#!/usr/bin/python3
"""The same capture as tshark decodes it, for the pcap suites to cross-check mqttls against.

  tshark.py PCAP DECODE_AS... -- QUERY ARGS

DECODE_AS are tshark -d values ("tcp.port==8883,tls"). Queries print one value (or nothing):
  field FILTER FIELD [N]     the Nth (default first) non-empty value of FIELD in packets matching FILTER
  values FILTER FIELD        every value of FIELD in matching packets, comma-joined
  records SRCPORT            TLS records sent from SRCPORT: "type:length" comma-joined, in order
  suite FILTER               the cipher suite name tshark shows in the matching handshake message
"""
import json
import re
import subprocess
import sys


def tshark(pcap, decode, args):
    cmd = ["tshark", "-n", "-r", pcap]
    for d in decode:
        cmd += ["-d", d]
    return subprocess.run(cmd + args, capture_output=True, text=True, check=False).stdout


def as_list(x):
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    pcap, decode, q = argv[0], argv[1:sep], argv[sep + 1:]
    if q[0] in ("field", "values"):
        out = tshark(pcap, decode, ["-Y", q[1], "-T", "fields", "-E", "occurrence=a", "-e", q[2]])
        vals = []
        for line in out.splitlines():
            vals += [v for v in line.split(",") if v]
        if q[0] == "values":
            print(",".join(vals))
        else:
            n = int(q[3]) if len(q) > 3 else 0
            if len(vals) > n:
                print(vals[n])
    elif q[0] == "records":
        pkts = json.loads(tshark(pcap, decode, ["-Y", "tcp.srcport==%s && tls" % q[1], "-T", "json", "--no-duplicate-keys"]) or "[]")
        recs = []
        for p in pkts:
            for tls in as_list(p["_source"]["layers"].get("tls")):
                if not isinstance(tls, dict):
                    continue
                for r in as_list(tls.get("tls.record")):
                    t = r.get("tls.record.opaque_type") or r.get("tls.record.content_type")
                    recs.append("%s:%s" % (t, r.get("tls.record.length")))
        print(",".join(recs))
    elif q[0] == "suite":
        out = tshark(pcap, decode, ["-Y", q[1], "-V"])
        m = re.search(r"Cipher Suite: (\S+) \(0x", out)
        if m:
            print(m.group(1))
    else:
        sys.exit("unknown query " + q[0])


main()
