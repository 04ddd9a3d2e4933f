/*
 * verdict — what a flow's packets mean for the failure, in plain words (see capture.h).
 *
 * Rules are rows tried in order; the first that recognises the flow decides. Alerts map to
 * finding ids through a table of (who sent it, which alert) rows. In TLS 1.3 the alerts
 * after the ServerHello and the certificates are encrypted: those verdicts rest on record
 * sizes and on who closed when, and say so (inferred).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/capture.h"
#include "mqttls/mqttdec.h"
#include "mqttls/tlsdec.h"

#define C CAPTURE_C2S
#define S CAPTURE_S2C

static void say(struct capture_verdict *v, enum capture_outcome o, const char *finding, bool inferred,
		const char *fmt, ...) MQ_PRINTF(5, 6);
/* The reason being written; verdict_compute copies it into the flow's verdict. */
static __thread char reason_buf[640];

static void say(struct capture_verdict *v, enum capture_outcome o, const char *finding, bool inferred,
		const char *fmt, ...)
{
	va_list ap;

	v->outcome = o;
	v->finding = finding;
	v->inferred = inferred;
	va_start(ap, fmt);
	vsnprintf(reason_buf, sizeof(reason_buf), fmt, ap);
	va_end(ap);
}

static const char *vname(uint16_t v, char *buf, size_t size)
{
	const char *n = tlsdec_version_name(v);

	if (n)
		return n;
	snprintf(buf, size, "0x%04x", v);
	return buf;
}

static void offered_list(const struct capture_flow *f, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < f->tls.n_offered && len < size; i++) {
		char tmp[16];

		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", vname(f->tls.offered[i], tmp, sizeof(tmp)));
	}
}

/* The escaped leaf subject/issuer for reasons (cert_info strings may hold control characters). */
static const char *esc(const char *s, char *buf, size_t size)
{
	return mq_escape(s ? s : "", s ? strlen(s) : 0, buf, size);
}

static bool closed_by(const struct capture_flow *f, enum capture_dir d)
{
	return f->fin[d] || f->rst[d];
}

/* ---- no TLS, no MQTT ------------------------------------------------------------------------- */

static bool rule_no_payload(const struct capture_flow *f, struct capture_verdict *v)
{
	if (f->proto != CAPTURE_PROTO_UNKNOWN)
		return false;
	if (f->syn && !f->synack && f->rst[S])
		say(v, CAPTURE_INCOMPLETE, "TCP_REFUSED", false,
		    "the broker's host refused the TCP connection (RST): nothing listens on port %u", f->server_port);
	else if (f->syn && !f->synack && !f->rst[S])
		say(v, CAPTURE_INCOMPLETE, "TCP_TIMEOUT", true,
		    "nothing answered the device's SYN on port %u: a wrong address, or a firewall that drops it",
		    f->server_port);
	else if (closed_by(f, C) || closed_by(f, S))
		say(v, CAPTURE_INCOMPLETE, NULL, false, "TCP connected, but the %s closed it before either side sent anything",
		    closed_by(f, C) ? "device" : "broker");
	else
		say(v, CAPTURE_INCOMPLETE, NULL, false, "no payload was captured on this connection");
	return true;
}

static bool rule_other(const struct capture_flow *f, struct capture_verdict *v)
{
	if (f->proto != CAPTURE_PROTO_OTHER)
		return false;
	say(v, CAPTURE_INCOMPLETE, "NOT_TLS", false, "port %u carried something that is neither TLS nor MQTT; it was not decoded",
	    f->server_port);
	return true;
}

/* ---- TLS alerts -------------------------------------------------------------------------------- */

struct alert_rule {
	enum capture_dir from;
	uint8_t desc;
	const char *finding;
	const char *text;   /* after "the device/broker ... : <alert>" */
};

/* Who sent which alert, and what it means for an MQTT device and its broker. */
static const struct alert_rule alert_rules[] = {
	{ C, 48, "WRONG_CA", "it does not trust the CA that issued the broker's certificate" },
	{ C, 42, "HOSTNAME_MISMATCH", "mbedTLS devices send this when the name they connected to is not in the certificate" },
	{ C, 45, "CERT_EXPIRED", "the broker's certificate (or a CA above it) is out of its validity period" },
	{ C, 43, "SERVER_CERT_WRONG_PURPOSE", "the certificate's key usage or EKU does not allow a TLS server" },
	{ C, 46, NULL, "the device could not accept the broker's certificate" },
	{ C, 44, NULL, "the broker's certificate is revoked" },
	{ C, 70, "TLS_VERSION_MISMATCH", "the device does not accept the TLS version the broker chose" },
	{ C, 40, "NO_SHARED_CIPHER", "the device does not accept what the broker chose" },
	{ C, 51, NULL, "the broker's signature did not verify with the key in its certificate" },
	{ C, 80, NULL, "libmosquitto clients (mosquitto_pub, mosquitto_sub) send this when the broker's certificate does not match the host name they connected to" },
	{ S, 116, "CLIENT_CERT_REQUIRED", "the broker requires a client certificate and the device sent none" },
	{ S, 70, "TLS_VERSION_MISMATCH", "the broker accepts none of the TLS versions the device offered" },
	{ S, 48, "CLIENT_CERT_REJECTED", "the broker does not trust the CA that issued the device's certificate" },
	{ S, 42, "CLIENT_CERT_REJECTED", "the broker rejected the device's certificate" },
	{ S, 46, "CLIENT_CERT_REJECTED", "the broker rejected the device's certificate" },
	{ S, 43, "CLIENT_CERT_REJECTED", "the device's certificate is not allowed for TLS client use" },
	{ S, 45, "CLIENT_CERT_EXPIRED", "the device's certificate is out of its validity period" },
	{ S, 51, "CLIENT_KEY_MISMATCH", "the device's signature did not verify: its key does not belong to its certificate" },
	{ S, 112, NULL, "the broker does not serve the name the device asked for (SNI)" },
	{ S, 71, "NO_SHARED_CIPHER", "the broker wants stronger parameters than the device offered" },
};

static const struct capture_alert *first_fatal(const struct capture_flow *f)
{
	for (size_t i = 0; i < f->tls.n_alerts; i++)
		if (f->tls.alerts[i].level == 2 || f->tls.alerts[i].desc != 0)
			return &f->tls.alerts[i];
	return f->tls.n_alerts ? &f->tls.alerts[0] : NULL;
}

static bool rule_tls_alert(const struct capture_flow *f, struct capture_verdict *v)
{
	const struct capture_alert *a;
	const struct alert_rule *r = NULL;
	const char *who, *name, *finding;
	char nbuf[32], s1[300], s2[300], extra[700] = "";
	bool inferred = false;

	if (f->proto != CAPTURE_PROTO_TLS || !(a = first_fatal(f)))
		return false;
	who = a->from == C ? "device" : "broker";
	name = tlsdec_alert_name(a->desc);
	if (!name) {
		snprintf(nbuf, sizeof(nbuf), "alert %u", a->desc);
		name = nbuf;
	}
	for (size_t i = 0; i < MQ_ARRAY_LEN(alert_rules); i++)
		if (alert_rules[i].from == a->from && alert_rules[i].desc == a->desc)
			r = &alert_rules[i];
	finding = r ? r->finding : NULL;

	/* Refine with what the (TLS <= 1.2) chain and the ClientHello showed. */
	if (a->from == C && (a->desc == 48 || a->desc == 42 || a->desc == 46 || a->desc == 45 || a->desc == 80)) {
		if (a->desc == 48 && f->tls.leaf_self_signed && f->tls.n_certs == 1)
			finding = "SELF_SIGNED_SERVER";
		if ((a->desc == 42 || a->desc == 46 || a->desc == 80) && f->tls.leaf_matches_sni == 0)
			finding = "HOSTNAME_MISMATCH";
		else if ((a->desc == 42 || a->desc == 80) && f->tls.leaf_matches_sni == 1)
			finding = NULL;
		else if (a->desc == 42)
			inferred = true;
		if ((a->desc == 45 || a->desc == 46) && f->tls.leaf_not_yet_valid)
			finding = "CERT_NOT_YET_VALID";
		else if (a->desc == 46 && f->tls.leaf_expired)
			finding = "CERT_EXPIRED";
		if (f->tls.leaf_subject && a->desc == 48 && f->tls.chain_root) {
			snprintf(extra, sizeof(extra), "; the broker's chain (%s) leads to %s: the device must trust that CA "
				 "(ESP32 setCACert, --cafile)", esc(f->tls.leaf_subject, s1, sizeof(s1)),
				 esc(f->tls.chain_root, s2, sizeof(s2)));
		} else if (f->tls.leaf_subject) {
			size_t l = (size_t)snprintf(extra, sizeof(extra), "; the broker presented %s, issued by %s",
						    esc(f->tls.leaf_subject, s1, sizeof(s1)), esc(f->tls.leaf_issuer, s2, sizeof(s2)));
			if (f->tls.leaf_matches_sni == 0 && l < sizeof(extra))
				snprintf(extra + l, sizeof(extra) - l, ", which does not cover the name %s", f->tls.sni);
			else if (f->tls.leaf_matches_sni == 1 && (a->desc == 42 || a->desc == 80) && l < sizeof(extra))
				snprintf(extra + l, sizeof(extra) - l, ", which does cover %s: the device objects to something else",
					 f->tls.sni);
		} else if (f->tls.version == TLS_V_13) {
			snprintf(extra, sizeof(extra), "; TLS 1.3 encrypts the broker's certificate, so it cannot be shown");
		}
	}
	if (a->from == S && a->desc == 40) {
		if (f->tls.cert_request && f->tls.client_certs == 0) {
			say(v, CAPTURE_TLS_FAILED, "CLIENT_CERT_REQUIRED", false,
			    "the broker requires a client certificate and the device sent none (alert handshake_failure "
			    "right after the device's empty Certificate)");
			return true;
		}
		if (!f->tls.server_hello) {
			char off[128];

			offered_list(f, off, sizeof(off));
			say(v, CAPTURE_TLS_FAILED, "NO_SHARED_CIPHER", false,
			    "the broker refused the ClientHello with handshake_failure: it shares no cipher suite or group "
			    "with what the device offered (%s)", off);
			return true;
		}
	}
	if (a->from == S && a->desc == 70) {
		char off[128];

		offered_list(f, off, sizeof(off));
		say(v, CAPTURE_TLS_FAILED, "TLS_VERSION_MISMATCH", false,
		    "the broker rejected the device's TLS versions: protocol_version (the device offered %s)", off);
		return true;
	}
	if (a->from == S && a->desc == 51 && !f->tls.client_cert_verify)
		finding = NULL;
	if (a->desc == 0 || a->desc == 90) {
		say(v, CAPTURE_TLS_FAILED, NULL, false, "the %s gave up on the handshake (%s) before it completed", who, name);
		return true;
	}
	say(v, CAPTURE_TLS_FAILED, finding, inferred, "the %s rejected the %s: %s%s%s%s", who,
	    a->from == C ? "broker certificate" : "handshake", name, r ? " — " : "", r ? r->text : "", extra);
	return true;
}

/* ---- TLS 1.3: what the sizes and the timing say ------------------------------------------------- */

static bool rule_tls13_inferred(const struct capture_flow *f, struct capture_verdict *v)
{
	if (f->proto != CAPTURE_PROTO_TLS || f->tls.version != TLS_V_13)
		return false;
	if (f->tls.client_alert13) {
		say(v, CAPTURE_TLS_FAILED, NULL, true,
		    "the device aborted the handshake with an encrypted alert right after the broker's certificate; "
		    "TLS 1.3 hides both, but this is what a device does when it does not trust the broker's CA "
		    "(unknown_ca) or the name does not match (bad_certificate)");
		return true;
	}
	if (!f->tls.finished[C])
		return false;
	if (f->tls.server_alert13 || (closed_by(f, S) && !f->tls.app_records[S] && !f->tls.app_records[C])) {
		const char *how = f->tls.server_alert13 ? "answered the device's Finished with an encrypted alert and closed"
							: "closed the connection right after the device's Finished";

		if (f->tls.client_cert13 == 0)
			say(v, CAPTURE_TLS_FAILED, "CLIENT_CERT_REQUIRED", true,
			    "the broker asked for a client certificate, the device sent an empty one, and the broker %s "
			    "(its certificate_required alert is encrypted in TLS 1.3)", how);
		else if (f->tls.client_cert13 == 1)
			say(v, CAPTURE_TLS_FAILED, "CLIENT_CERT_REJECTED", true,
			    "the device sent a client certificate and the broker %s: it does not accept that certificate "
			    "(TLS 1.3 encrypts the alert that says why)", how);
		else
			say(v, CAPTURE_TLS_FAILED, NULL, true, "the broker %s (TLS 1.3 encrypts the alert that says why)", how);
		return true;
	}
	return false;
}

/* ---- TLS completed ------------------------------------------------------------------------------ */

static bool rule_tls_ok(const struct capture_flow *f, struct capture_verdict *v)
{
	char vb[16];
	const char *cipher;
	bool done13, done12;

	if (f->proto != CAPTURE_PROTO_TLS || !f->tls.server_hello)
		return false;
	done12 = f->tls.version < TLS_V_13 && f->tls.finished[C] && f->tls.finished[S];
	done13 = f->tls.version == TLS_V_13 && f->tls.finished[C] && (f->tls.app_records[C] || f->tls.app_records[S]);
	if (!done12 && !done13)
		return false;
	cipher = tlsdec_cipher_name(f->tls.cipher);
	say(v, CAPTURE_TLS_OK, NULL, false, "handshake completed (%s, %s%s); %llu bytes of encrypted data followed",
	    vname(f->tls.version, vb, sizeof(vb)), cipher ? cipher : "an unknown suite",
	    f->tls.client_certs > 0 || f->tls.client_cert13 == 1 ? ", with a client certificate" : "",
	    (unsigned long long)(f->tls.app_bytes[C] + f->tls.app_bytes[S]));
	return true;
}

/* ---- TLS that went nowhere ---------------------------------------------------------------------- */

static bool rule_tls_unanswered(const struct capture_flow *f, struct capture_verdict *v)
{
	if (f->proto != CAPTURE_PROTO_TLS || f->tls.server_hello)
		return false;
	if (!f->tls.client_hello) {
		if (f->gap_bytes[C])
			say(v, CAPTURE_INCOMPLETE, NULL, false,
			    "the device's TLS bytes were not captured (%llu bytes missing: a snaplen too small?)",
			    (unsigned long long)f->gap_bytes[C]);
		else if (f->malformed)
			say(v, CAPTURE_INCOMPLETE, NULL, false, "the device's TLS could not be decoded: %s", f->malformed_what);
		else if (f->syn)
			say(v, CAPTURE_INCOMPLETE, NULL, false, "the device's ClientHello was not captured");
		else
			say(v, CAPTURE_INCOMPLETE, NULL, false,
			    "the capture started after the TLS handshake: %llu bytes of encrypted data, nothing to judge",
			    (unsigned long long)(f->bytes[C] + f->bytes[S]));
		return true;
	}
	if (f->tls.dead[S] && f->bytes[S]) {
		bool mqtt = f->malformed_what && strstr(f->malformed_what, "not TLS") != NULL;

		say(v, CAPTURE_TLS_FAILED, mqtt ? "PLAINTEXT_PORT" : "NOT_TLS", true,
		    "the broker answered the ClientHello with something that is not TLS: port %u %s", f->server_port,
		    mqtt ? "is probably a plain MQTT port" : "does not speak TLS");
		return true;
	}
	if (closed_by(f, S) && !f->bytes[S]) {
		/* What a plain MQTT listener does with a ClientHello: 0x16 is no packet it knows. */
		say(v, CAPTURE_TLS_FAILED, "PLAINTEXT_PORT", true,
		    "the broker closed the connection when the device sent its ClientHello, without a word: port %u "
		    "most likely speaks plain MQTT%s", f->server_port,
		    f->server_port == 1883 ? " (TLS is usually on 8883)" : "");
		return true;
	}
	if (closed_by(f, C))
		say(v, CAPTURE_INCOMPLETE, NULL, false, "the device gave up before the broker answered its ClientHello");
	else
		say(v, CAPTURE_INCOMPLETE, NULL, false, "the broker never answered the ClientHello while the capture ran");
	return true;
}

static bool rule_tls_cut(const struct capture_flow *f, struct capture_verdict *v)
{
	if (f->proto != CAPTURE_PROTO_TLS)
		return false;
	if (closed_by(f, C) || closed_by(f, S)) {
		enum capture_dir first = !closed_by(f, S) ? C
				       : !closed_by(f, C) ? S
				       : (f->fin[C] ? f->fin_ts[C] : f->rst_ts[C]) <= (f->fin[S] ? f->fin_ts[S] : f->rst_ts[S]) ? C : S;

		say(v, CAPTURE_TLS_FAILED, NULL, true,
		    "the %s closed the connection in the middle of the handshake without an alert%s", first == C ? "device" : "broker",
		    first == C && f->tls.version < TLS_V_13 && !f->tls.finished[C]
			    ? " — some TLS stacks do that instead of sending unknown_ca when they reject the certificate"
			    : "");
		return true;
	}
	say(v, CAPTURE_INCOMPLETE, NULL, false, "the handshake had not finished when the capture ended");
	return true;
}

/* ---- plaintext MQTT ----------------------------------------------------------------------------- */

static bool rule_mqtt(const struct capture_flow *f, struct capture_verdict *v)
{
	char creds[160] = "";
	int ver = f->mqtt.version;

	if (f->proto != CAPTURE_PROTO_MQTT)
		return false;
	if (f->mqtt.username || f->mqtt.password)
		snprintf(creds, sizeof(creds), "; THE %s CROSSED THE NETWORK IN CLEAR TEXT: anyone on the path can read %s",
			 f->mqtt.username && f->mqtt.password ? "USERNAME AND PASSWORD" : f->mqtt.password ? "PASSWORD" : "USERNAME",
			 f->mqtt.password ? "and reuse them" : "it");
	if (!f->mqtt.connect) {
		if (f->malformed && f->syn)
			say(v, CAPTURE_PLAINTEXT_MQTT, "PLAINTEXT_PORT", false,
			    "plain MQTT without TLS, but the device's packets are malformed: %s", f->malformed_what);
		else
			say(v, CAPTURE_PLAINTEXT_MQTT, "PLAINTEXT_PORT", false,
			    "plain MQTT without TLS (%s)%s",
			    f->syn ? "no CONNECT was captured" : "the capture started after the CONNECT",
			    f->mqtt.publishes[C] + f->mqtt.publishes[S] ? ": the messages are readable by anyone on the path" : "");
		return true;
	}
	if (f->mqtt.connack && mqttdec_reason_is_error(ver, MQTT_CONNACK, f->mqtt.connack_code)) {
		say(v, CAPTURE_PLAINTEXT_MQTT, mqttdec_connack_finding(ver, f->mqtt.connack_code, f->mqtt.username), false,
		    "plain MQTT without TLS; the broker refused the CONNECT: %s (CONNACK %u)%s%s",
		    mqttdec_reason_name(ver, MQTT_CONNACK, f->mqtt.connack_code), f->mqtt.connack_code,
		    !f->mqtt.username && f->mqtt.connack_code == (ver == MQTT_V5 ? 0x87 : 5)
			    ? " — the device sent no username: anonymous clients are not allowed (Mosquitto 2 default)"
			    : "",
		    creds);
		return true;
	}
	if (f->mqtt.connack) {
		say(v, CAPTURE_PLAINTEXT_MQTT, "PLAINTEXT_PORT", false,
		    "plain MQTT without TLS: the broker accepted the device%s%s", creds,
		    creds[0] ? "" : "; every message it sends can be read by anyone on the path");
		return true;
	}
	if (closed_by(f, S) && !f->bytes[S]) {
		/* A TLS listener reading a CONNECT as a record header gives up without a word. */
		say(v, CAPTURE_PLAINTEXT_MQTT, NULL, true,
		    "the device spoke plain MQTT and the broker closed the connection without a CONNACK: port %u most "
		    "likely expects TLS (the device needs its TLS client, e.g. WiFiClientSecure, and the CA)%s",
		    f->server_port, creds);
		return true;
	}
	say(v, CAPTURE_PLAINTEXT_MQTT, "PLAINTEXT_PORT", false, "plain MQTT without TLS; no CONNACK was captured%s", creds);
	return true;
}

static bool rule_fallback(const struct capture_flow *f, struct capture_verdict *v)
{
	(void)f;
	say(v, CAPTURE_INCOMPLETE, NULL, false, "nothing conclusive was captured");
	return true;
}

/* In order: the first rule that recognises the flow decides. */
static bool (*const rules[])(const struct capture_flow *, struct capture_verdict *) = {
	rule_no_payload,
	rule_other,
	rule_mqtt,
	rule_tls_alert,
	rule_tls13_inferred,
	rule_tls_ok,
	rule_tls_unanswered,
	rule_tls_cut,
	rule_fallback,
};

void verdict_compute(const struct capture_flow *f, struct capture_verdict *v)
{
	free(v->reason);
	memset(v, 0, sizeof(*v));
	reason_buf[0] = '\0';
	for (size_t i = 0; i < MQ_ARRAY_LEN(rules); i++)
		if (rules[i](f, v))
			break;
	if (f->gap_bytes[C] + f->gap_bytes[S] && v->outcome == CAPTURE_INCOMPLETE && !strstr(reason_buf, "not captured")) {
		size_t l = strlen(reason_buf);

		snprintf(reason_buf + l, sizeof(reason_buf) - l, " (%llu bytes of it were not captured)",
			 (unsigned long long)(f->gap_bytes[C] + f->gap_bytes[S]));
	}
	v->reason = strdup(reason_buf);
}
