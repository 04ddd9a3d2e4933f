#!/usr/bin/python3
"""The JSON shapes of /work/shared/CONTRACT.md, checked field by field.

    contract-shapes.py KIND FILE   (FILE '-' reads standard input)

KIND: diagnose | inspect | lint-conf | chain | capture | mitm-log. Prints one line per violation
and exits 1 when there is one, 0 (printing "ok") when the output has every field the contract
names, with the contract's type. Extra fields are allowed (the contract may be extended); a field
renamed, dropped or given another type is a violation.
"""
import json
import re
import sys

STAGES = ["resolve", "tcp", "tls", "verify", "mqtt_connect", "pubsub"]
STATUSES = {"ok", "failed", "skipped"}
SEVERITIES = {"error", "warning", "info"}
# Every id of the contract's table; the first group may be warnings, every other one is an error.
WARNING_IDS = {"NO_SAN", "KEY_PERMISSIONS_TOO_OPEN", "WEAK_TLS", "CERT_EXPIRING_SOON", "LONG_VALIDITY",
               "INSECURE_VERIFY_OFF", "CONF_PLAINTEXT_EXPOSED", "CONF_TLS_VERSION_PINNED", "CONF_NO_ACL"}
ERROR_IDS = {"DNS_FAILED", "TCP_REFUSED", "TCP_TIMEOUT", "PLAINTEXT_PORT", "NOT_TLS", "TLS_VERSION_MISMATCH",
             "NO_SHARED_CIPHER", "HOSTNAME_MISMATCH", "IP_NOT_IN_SAN", "CERT_EXPIRED", "CERT_NOT_YET_VALID",
             "WRONG_CA", "SELF_SIGNED_SERVER", "INCOMPLETE_CHAIN", "CAFILE_NOT_CA", "CAFILE_INVALID",
             "SERVER_CERT_WRONG_PURPOSE", "CLIENT_CERT_REQUIRED", "CLIENT_CERT_REJECTED",
             "CLIENT_CERT_EXPIRED", "CLIENT_KEY_MISMATCH", "CLIENT_CERT_INVALID", "ANONYMOUS_NOT_ALLOWED",
             "BAD_CREDENTIALS", "NOT_AUTHORIZED", "CLIENT_ID_REJECTED", "ACL_DENIED",
             "BROKER_CANNOT_READ_FILE", "CONF_ANONYMOUS_UNSET", "CONF_INCONSISTENT", "CONF_KEY_CERT_MISMATCH",
             "BROKER_CERT_STALE"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SHA256 = re.compile(r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")
FLOW = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[0-9a-fA-F:]+):\d+->(\[[0-9a-fA-F:.]+\]|[0-9.]+|[0-9a-fA-F:]+):\d+$")
OUTCOMES = {"tls_ok", "tls_failed", "plaintext_mqtt", "incomplete"}

errors = []


def bad(where, msg):
    errors.append("%s: %s" % (where, msg))


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


TYPES = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "num": is_num,
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "obj": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
    "strlist": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}


def field(obj, where, name, kinds):
    """obj[name] must exist and be of one of kinds ("str|null")."""
    if not isinstance(obj, dict):
        bad(where, "is not an object")
        return None
    if name not in obj:
        bad(where, "no field '%s'" % name)
        return None
    v = obj[name]
    if not any(TYPES[k](v) for k in kinds.split("|")):
        bad(where, "'%s' is %s, the contract says %s" % (name, type(v).__name__, kinds))
    return v


def check_chain(chain, where):
    if not isinstance(chain, list):
        bad(where, "chain is not an array")
        return
    for i, c in enumerate(chain):
        w = "%s[%d]" % (where, i)
        if field(c, w, "depth", "int") not in (None, i):
            bad(w, "depth is %r, its place in the chain is %d" % (c.get("depth"), i))
        for name in ("subject", "issuer", "serial", "key", "sig_alg"):
            field(c, w, name, "str")
        for name in ("not_before", "not_after"):
            v = field(c, w, name, "str")
            if isinstance(v, str) and not ISO.match(v):
                bad(w, "%s '%s' is not YYYY-MM-DDTHH:MM:SSZ" % (name, v))
        for name in ("san_dns", "san_ip", "eku"):
            field(c, w, name, "strlist")
        field(c, w, "is_ca", "bool")
        v = field(c, w, "sha256", "str")
        if isinstance(v, str) and not SHA256.match(v):
            bad(w, "sha256 '%s' is not 32 colon-separated hex bytes" % v)


def check_findings(findings, where):
    if not isinstance(findings, list):
        bad(where, "findings is not an array")
        return
    for i, f in enumerate(findings):
        w = "%s[%d]" % (where, i)
        fid = field(f, w, "id", "str")
        sev = field(f, w, "severity", "str")
        for name in ("title", "detail", "fix"):
            field(f, w, name, "str")
        if isinstance(fid, str) and fid not in WARNING_IDS | ERROR_IDS:
            bad(w, "id %s is not in the contract's table" % fid)
        if isinstance(sev, str) and sev not in SEVERITIES:
            bad(w, "severity '%s' is not error, warning or info" % sev)
        if fid in ERROR_IDS and sev != "error":
            bad(w, "%s is an error in the contract, not a %s" % (fid, sev))


def check_diagnose(j, where="diagnose"):
    if field(j, where, "tool", "str") not in (None, "mqttls"):
        bad(where, "tool is not 'mqttls'")
    field(j, where, "version", "str")
    t = field(j, where, "target", "obj")
    if isinstance(t, dict):
        field(t, where + ".target", "host", "str")
        field(t, where + ".target", "port", "int")
        field(t, where + ".target", "address", "str|null")
    ok = field(j, where, "ok", "bool")
    stages = field(j, where, "stages", "list")
    if isinstance(stages, list):
        names = [s.get("name") for s in stages if isinstance(s, dict)]
        if names != STAGES:
            bad(where, "stage names are %s, the contract's order is %s" % (names, STAGES))
        for i, s in enumerate(stages):
            w = "%s.stages[%d]" % (where, i)
            field(s, w, "name", "str")
            st = field(s, w, "status", "str")
            if isinstance(st, str) and st not in STATUSES:
                bad(w, "status '%s' is not ok, failed or skipped" % st)
            field(s, w, "ms", "num")
            field(s, w, "detail", "str|null")
        failed = [s["name"] for s in stages if isinstance(s, dict) and s.get("status") == "failed"]
        if ok is True and failed:
            bad(where, "ok is true with failed stages %s" % failed)
    tls = field(j, where, "tls", "obj")
    if isinstance(tls, dict):
        for name in ("version", "cipher", "group", "sni"):
            field(tls, where + ".tls", name, "str|null")
    check_chain(field(j, where, "chain", "list"), where + ".chain")
    findings = field(j, where, "findings", "list")
    check_findings(findings, where + ".findings")
    if ok is True and isinstance(findings, list) and any(f.get("severity") == "error" for f in findings):
        bad(where, "ok is true with an error finding")


def check_lint(j, where="lint-conf"):
    field(j, where, "tool", "str")
    field(j, where, "version", "str")
    field(j, where, "ok", "bool")
    check_chain(field(j, where, "chain", "list"), where + ".chain")
    check_findings(field(j, where, "findings", "list"), where + ".findings")


CAPTURE_FIELDS = {
    "client_hello": [("sni", "str|null"), ("versions", "strlist"), ("ciphers", "strlist"), ("groups", "strlist"),
                     ("alpn", "strlist")],
    "server_hello": [("version", "str"), ("cipher", "str"), ("group", "str|null")],
    "certificate": [("chain", "list")],
    "alert": [("from", "str"), ("level", "str"), ("description", "str")],
    "mqtt_connect": [("client_id", "str"), ("username", "str|null"), ("password", "str|null"), ("protocol", "str")],
    "mqtt_connack": [("code", "int"), ("meaning", "str")],
    "mqtt_publish": [("topic", "str"), ("payload", "str")],
    "flow_summary": [("outcome", "str"), ("reason", "str")],
}


def check_capture(lines):
    summaries = {}
    for n, j in enumerate(lines, 1):
        w = "line %d" % n
        if "type" in j and j["type"] == "stats":
            continue  # --stats: not in the contract's table
        field(j, w, "ts", "num")
        flow = field(j, w, "flow", "str")
        if isinstance(flow, str) and not FLOW.match(flow):
            bad(w, "flow '%s' is not SRC:PORT->DST:PORT" % flow)
        t = field(j, w, "type", "str")
        w = "%s (%s)" % (w, t)
        for name, kinds in CAPTURE_FIELDS.get(t, []):
            field(j, w, name, kinds)
        if t == "certificate":
            check_chain(j.get("chain"), w + ".chain")
        if t == "alert" and j.get("from") not in ("client", "server"):
            bad(w, "from is %r, not client or server" % j.get("from"))
        if t == "mqtt_connect" and j.get("protocol") not in ("3.1.1", "5", "3.1"):
            bad(w, "protocol is %r, not 3.1.1 or 5" % j.get("protocol"))
        if t == "mqtt_publish" and "payload_base64" in j and not isinstance(j["payload_base64"], bool):
            bad(w, "payload_base64 is not a boolean")
        if t == "flow_summary":
            if j.get("outcome") not in OUTCOMES:
                bad(w, "outcome %r is not one of %s" % (j.get("outcome"), sorted(OUTCOMES)))
            if flow in summaries:
                bad(w, "a second flow_summary for %s" % flow)
            summaries[flow] = n
        elif isinstance(flow, str) and flow in summaries:
            bad(w, "an event of %s after its flow_summary" % flow)
    flows = {j.get("flow") for j in lines if j.get("type") not in (None, "stats")}
    for f in flows - set(summaries):
        bad("capture", "flow %s has no flow_summary" % f)


MITM_FIELDS = {
    "handshake": [("client", "str"), ("result", "str")],
    "connect": [("client", "str"), ("client_id", "str"), ("username", "str|null"), ("password", "str|null")],
    "publish": [("client", "str"), ("dir", "str"), ("topic", "str"), ("payload", "str")],
    "inject": [("client", "str"), ("topic", "str"), ("payload", "str")],
}


def check_mitm(lines):
    if lines and "INSECURE LAB MITM" not in json.dumps(lines[0]):
        bad("mitm-log", "the first line does not say INSECURE LAB MITM")
    for n, j in enumerate(lines, 1):
        w = "line %d" % n
        ev = field(j, w, "event", "str")
        w = "%s (%s)" % (w, ev)
        for name, kinds in MITM_FIELDS.get(ev, []):
            field(j, w, name, kinds)
        if ev == "handshake":
            if j.get("result") not in ("accepted", "rejected"):
                bad(w, "result %r is not accepted or rejected" % j.get("result"))
            if j.get("result") == "rejected":
                field(j, w, "alert", "str")
        if ev == "publish" and j.get("dir") not in ("device_to_broker", "broker_to_device"):
            bad(w, "dir %r is not device_to_broker or broker_to_device" % j.get("dir"))


def main():
    kind, path = sys.argv[1], sys.argv[2]
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    try:
        if kind in ("capture", "mitm-log"):
            lines = [json.loads(l) for l in text.splitlines() if l.strip()]
        else:
            doc = json.loads(text)
    except ValueError as e:
        print("not JSON: %s" % e)
        return 1
    if kind in ("diagnose", "inspect"):
        check_diagnose(doc, kind)
    elif kind == "lint-conf":
        check_lint(doc)
    elif kind == "chain":
        check_chain(doc, "chain")
        if not doc:
            bad("chain", "is empty")
    elif kind == "capture":
        if not lines:
            bad("capture", "no events")
        check_capture(lines)
    elif kind == "mitm-log":
        if not lines:
            bad("mitm-log", "no events")
        check_mitm(lines)
    else:
        print("unknown kind %s" % kind)
        return 2
    for e in errors:
        print(e)
    if not errors:
        print("ok")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
