/*
 * capevent — capture events as ladder lines for people and JSON Lines for scripts
 * (capture_event_describe / capture_event_json in capture.h). Every string that came off
 * the wire is escaped for terminals; JSON carries text as UTF-8 and anything else as base64.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mqttls/capture.h"

#define C CAPTURE_C2S

const char *capture_outcome_name(enum capture_outcome o)
{
	static const char *const names[] = {
		[CAPTURE_TLS_OK] = "tls_ok",
		[CAPTURE_TLS_FAILED] = "tls_failed",
		[CAPTURE_PLAINTEXT_MQTT] = "plaintext_mqtt",
		[CAPTURE_INCOMPLETE] = "incomplete",
	};

	return (unsigned)o < MQ_ARRAY_LEN(names) ? names[o] : "incomplete";
}

/* ---- names with fallbacks --------------------------------------------------------------------- */

typedef const char *(*name_fn)(uint16_t);

/* The name, or the number in hex (upper case for cipher suites, as IANA writes them). */
static const char *num_name(name_fn fn, uint16_t v, bool upper, char *buf, size_t size)
{
	const char *n = fn(v);

	if (n)
		return n;
	if (upper)
		snprintf(buf, size, "0x%04X", v);
	else
		snprintf(buf, size, "0x%04x", v);
	return buf;
}

static const char *version_name(uint16_t v, char *buf, size_t size)
{
	return num_name(tlsdec_version_name, v, false, buf, size);
}

static const char *alert_name(uint8_t d, char *buf, size_t size)
{
	const char *n = tlsdec_alert_name(d);

	if (n)
		return n;
	snprintf(buf, size, "unknown (%u)", d);
	return buf;
}

/* "TLSv1.3" -> "TLS 1.3" for the ladder. */
static void put_version_short(struct mq_str *out, uint16_t v, bool first)
{
	char buf[16];
	const char *n = version_name(v, buf, sizeof(buf));

	if (!strncmp(n, "TLSv", 4))
		mq_str_printf(out, "%s%s", first ? "TLS " : "/", n + 4);
	else
		mq_str_printf(out, "%s%s", first ? "" : "/", n);
}

/* Clean text for a JSON string: well-formed UTF-8 without NUL (JSON escapes the rest). */
static bool valid_text(const uint8_t *p, size_t n)
{
	return mq_utf8_valid(p, n);
}

/* ---- ladder lines ---------------------------------------------------------------------------- */

static void put_arrow(struct mq_str *out, enum capture_dir d, bool utf8)
{
	if (utf8)
		mq_str_printf(out, "%s", d == C ? "device → broker  " : "device ← broker  ");
	else
		mq_str_printf(out, "%s", d == C ? "device -> broker  " : "device <- broker  ");
}

static void put_esc(struct mq_str *out, const uint8_t *p, size_t n, size_t cut)
{
	char buf[4 * 256 + 1];

	if (n > cut)
		n = cut;
	if (n > 256)
		n = 256;
	mq_escape(p, n, buf, sizeof(buf));
	mq_str_printf(out, "%s", buf);
}

static void describe_ch(const struct tls_client_hello *ch, struct mq_str *out)
{
	char buf[16];

	mq_str_printf(out, "ClientHello (");
	if (ch->sni.p) {
		mq_str_printf(out, "SNI ");
		put_esc(out, ch->sni.p, ch->sni.len, 255);
	} else {
		mq_str_printf(out, "no SNI");
	}
	mq_str_printf(out, ", ");
	for (size_t i = 0; i < ch->n_versions; i++)
		put_version_short(out, ch->versions[i], i == 0);
	mq_str_printf(out, ", %zu cipher suites", ch->n_ciphers_total);
	if (ch->n_groups) {
		mq_str_printf(out, ", groups");
		for (size_t i = 0; i < ch->n_groups && i < 4; i++)
			mq_str_printf(out, " %s", num_name(tlsdec_group_name, ch->groups[i], false, buf, sizeof(buf)));
		if (ch->n_groups > 4)
			mq_str_printf(out, " +%zu", ch->n_groups - 4);
	}
	for (size_t i = 0; i < ch->n_alpn; i++) {
		mq_str_printf(out, i ? "," : ", ALPN ");
		put_esc(out, ch->alpn[i].p, ch->alpn[i].len, 64);
	}
	if (ch->max_fragment_length)
		mq_str_printf(out, ", max fragment %u", ch->max_fragment_length);
	mq_str_printf(out, ")");
}

static void describe_sh(const struct tls_server_hello *sh, struct mq_str *out)
{
	char b1[16], b2[16];

	if (sh->hello_retry) {
		mq_str_printf(out, "HelloRetryRequest (the broker wants a key share for %s)",
			      num_name(tlsdec_group_name, sh->group, false, b1, sizeof(b1)));
		return;
	}
	mq_str_printf(out, "ServerHello (");
	put_version_short(out, sh->version, true);
	mq_str_printf(out, ", %s", num_name(tlsdec_cipher_name, sh->cipher, true, b1, sizeof(b1)));
	if (sh->group)
		mq_str_printf(out, ", %s", num_name(tlsdec_group_name, sh->group, false, b2, sizeof(b2)));
	mq_str_printf(out, ")");
	if (sh->version == TLS_V_13)
		mq_str_printf(out, " — TLS 1.3 encrypts the rest of the handshake: the broker's certificate cannot be seen");
}

static void describe_chain(const struct capture_event *ev, bool utf8, struct mq_str *out)
{
	const char *dev = ev->dir == C ? "device" : "broker";

	if (ev->u.chain.n_total == 0) {
		mq_str_printf(out, "Certificate (empty: the %s has no certificate to give)", dev);
		return;
	}
	mq_str_printf(out, "Certificate (%zu from the %s)", ev->u.chain.n_total, dev);
	for (size_t i = 0; i < ev->u.chain.n; i++) {
		const struct cert_info *ci = &ev->u.chain.v[i];
		char nb[32], sub[300];

		mq_escape(ci->subject ? ci->subject : "", ci->subject ? strlen(ci->subject) : 0, sub, sizeof(sub));
		mq_str_printf(out, "\n  [%d] %s", ci->depth, sub);
		if (ci->n_san_dns || ci->n_san_ip) {
			mq_str_printf(out, "  SAN");
			for (size_t k = 0; k < ci->n_san_dns && k < 4; k++) {
				mq_str_printf(out, " ");
				put_esc(out, (const uint8_t *)ci->san_dns[k], strlen(ci->san_dns[k]), 128);
			}
			for (size_t k = 0; k < ci->n_san_ip && k < 4; k++)
				mq_str_printf(out, " %s", ci->san_ip[k]);
		} else if (!ci->is_ca) {
			mq_str_printf(out, "  no SAN");
		}
		if (ci->is_ca)
			mq_str_printf(out, "  %s", ci->self_signed ? "self-signed CA" : "CA");
		else if (ci->self_signed)
			mq_str_printf(out, "  self-signed");
		mq_str_printf(out, "  until %s", mq_iso8601(ci->not_after, nb, sizeof(nb)));
		if (i + 1 == ev->u.chain.n && !ci->self_issued && ci->issuer) {
			mq_escape(ci->issuer, strlen(ci->issuer), sub, sizeof(sub));
			mq_str_printf(out, "\n      %s issued by %s", utf8 ? "└" : "`", sub);
		}
	}
	if (ev->u.chain.error)
		mq_str_printf(out, "\n  (%s)", ev->u.chain.error);
}

static void describe_mqtt(const struct mqtt_pkt *m, bool utf8, struct mq_str *out)
{
	mqttdec_describe(m, 64, out);
	if (m->type == MQTT_CONNECT && (m->password.p || m->username.p))
		mq_str_printf(out, "  %s %s IN CLEAR TEXT", utf8 ? "⚠" : "!!",
			      m->password.p ? "PASSWORD" : "USERNAME");
}

bool capture_event_describe(const struct capture_event *ev, bool utf8, struct mq_str *out)
{
	char buf[32];

	switch (ev->type) {
	case CAPTURE_EV_FLOW_OPEN:
		put_arrow(out, C, utf8);
		mq_str_printf(out, "%s", ev->flow->syn ? "TCP connect (SYN)" : "(the capture joined a connection already open)");
		return true;
	case CAPTURE_EV_CLIENT_HELLO:
		put_arrow(out, ev->dir, utf8);
		describe_ch(ev->u.ch, out);
		return true;
	case CAPTURE_EV_SERVER_HELLO:
		put_arrow(out, ev->dir, utf8);
		describe_sh(ev->u.sh, out);
		return true;
	case CAPTURE_EV_CERTIFICATE:
		put_arrow(out, ev->dir, utf8);
		describe_chain(ev, utf8, out);
		return true;
	case CAPTURE_EV_CERT_REQUEST:
		put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "CertificateRequest: the broker asks the device for a client certificate");
		return true;
	case CAPTURE_EV_HANDSHAKE: {
		const char *n = tlsdec_handshake_name(ev->u.hs.type);

		put_arrow(out, ev->dir, utf8);
		if (n)
			mq_str_printf(out, "%s", n);
		else
			mq_str_printf(out, "handshake message %u", ev->u.hs.type);
		return true;
	}
	case CAPTURE_EV_CCS:
		put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "ChangeCipherSpec");
		return true;
	case CAPTURE_EV_ENCRYPTED:
		put_arrow(out, ev->dir, utf8);
		if (ev->u.enc.inferred)
			mq_str_printf(out, "%s (encrypted, %zu-byte record: inferred from its size)", ev->u.enc.meaning,
				      ev->u.enc.len);
		else if (ev->u.enc.meaning && !strcmp(ev->u.enc.meaning, "Finished"))
			mq_str_printf(out, "Finished (encrypted)");
		else
			mq_str_printf(out, "%s (%zu bytes)", ev->u.enc.meaning ? ev->u.enc.meaning : "encrypted record",
				      ev->u.enc.len);
		return true;
	case CAPTURE_EV_APPDATA:
		put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "application data (encrypted MQTT; first record %zu bytes)", ev->u.enc.len);
		return true;
	case CAPTURE_EV_ALERT:
		put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "Alert %s %s", ev->u.alert.level == 2 ? "fatal" : ev->u.alert.level == 1 ? "warning" : "?",
			      alert_name(ev->u.alert.desc, buf, sizeof(buf)));
		return true;
	case CAPTURE_EV_ENCRYPTED_ALERT:
		put_arrow(out, ev->dir, utf8);
		if (ev->u.enc.inferred)
			mq_str_printf(out, "Alert (encrypted, %zu-byte record: TLS 1.3 hides which alert)", ev->u.enc.len);
		else
			mq_str_printf(out, "Alert (encrypted; usually close_notify)");
		return true;
	case CAPTURE_EV_MQTT:
		put_arrow(out, ev->dir, utf8);
		describe_mqtt(ev->u.mqtt, utf8, out);
		return true;
	case CAPTURE_EV_MALFORMED:
		if (ev->flow)
			put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "malformed, skipped: %s", ev->u.text);
		return true;
	case CAPTURE_EV_GAP:
		put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "[%zu bytes not captured: the rest of this direction is not decoded]", ev->u.gap.bytes);
		return true;
	case CAPTURE_EV_FLOW_CLOSE:
		put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "%s", ev->flow->rst[ev->dir] ? "RST (connection reset)" : "FIN (closes)");
		return true;
	default:
		return false;
	}
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static cJSON *base(const struct capture_event *ev, const char *type)
{
	cJSON *o = cJSON_CreateObject();
	char ts[32];

	/* Microseconds exactly, as the capture recorded them. */
	snprintf(ts, sizeof(ts), "%.6f", ev->ts);
	cJSON_AddItemToObject(o, "ts", cJSON_CreateRaw(ts));
	if (ev->flow)
		cJSON_AddStringToObject(o, "flow", ev->flow->name);
	else
		cJSON_AddNullToObject(o, "flow");
	cJSON_AddStringToObject(o, "type", type);
	return o;
}

static void add_from(cJSON *o, enum capture_dir d)
{
	cJSON_AddStringToObject(o, "from", d == C ? "client" : "server");
}

/* Text as a JSON string when it is clean UTF-8, else base64 and key_base64: true. */
static void add_bytes(cJSON *o, const char *key, const uint8_t *p, size_t n, bool always_flag)
{
	char flag[64];

	snprintf(flag, sizeof(flag), "%s_base64", key);
	if (!p) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	if (valid_text(p, n)) {
		char *s = malloc(n + 1);

		if (!s)
			return;
		memcpy(s, p, n);
		s[n] = '\0';
		cJSON_AddStringToObject(o, key, s);
		free(s);
		if (always_flag)
			cJSON_AddFalseToObject(o, flag);
	} else {
		char *b = malloc(4 * ((n + 2) / 3) + 1);

		if (!b)
			return;
		EVP_EncodeBlock((unsigned char *)b, p, (int)n);
		cJSON_AddStringToObject(o, key, b);
		free(b);
		cJSON_AddTrueToObject(o, flag);
	}
}

static cJSON *u16_names(const uint16_t *v, size_t n, name_fn fn, bool upper)
{
	cJSON *a = cJSON_CreateArray();
	char buf[16];

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(num_name(fn, v[i], upper, buf, sizeof(buf))));
	return a;
}

static cJSON *json_ch(const struct capture_event *ev)
{
	const struct tls_client_hello *ch = ev->u.ch;
	cJSON *o = base(ev, "client_hello"), *alpn;

	add_bytes(o, "sni", ch->sni.p, ch->sni.len, false);
	cJSON_AddItemToObject(o, "versions", u16_names(ch->versions, ch->n_versions, tlsdec_version_name, false));
	cJSON_AddItemToObject(o, "ciphers", u16_names(ch->ciphers, ch->n_ciphers, tlsdec_cipher_name, true));
	cJSON_AddItemToObject(o, "groups", u16_names(ch->groups, ch->n_groups, tlsdec_group_name, false));
	alpn = cJSON_AddArrayToObject(o, "alpn");
	for (size_t i = 0; i < ch->n_alpn; i++) {
		cJSON *tmp = cJSON_CreateObject();

		add_bytes(tmp, "p", ch->alpn[i].p, ch->alpn[i].len, false);
		cJSON_AddItemToArray(alpn, cJSON_DetachItemFromObject(tmp, "p"));
		cJSON_Delete(tmp);
	}
	cJSON_AddItemToObject(o, "signature_algorithms",
			      u16_names(ch->sigalgs, ch->n_sigalgs, tlsdec_sigalg_name, false));
	cJSON_AddItemToObject(o, "key_share_groups",
			      u16_names(ch->key_shares, ch->n_key_shares, tlsdec_group_name, false));
	if (ch->n_ciphers_total > ch->n_ciphers)
		cJSON_AddNumberToObject(o, "ciphers_total", (double)ch->n_ciphers_total);
	if (ch->max_fragment_length)
		cJSON_AddNumberToObject(o, "max_fragment_length", ch->max_fragment_length);
	return o;
}

static cJSON *json_sh(const struct capture_event *ev)
{
	const struct tls_server_hello *sh = ev->u.sh;
	cJSON *o = base(ev, "server_hello");
	char b1[16], b2[16], b3[16];

	cJSON_AddStringToObject(o, "version", version_name(sh->version, b1, sizeof(b1)));
	cJSON_AddStringToObject(o, "cipher", num_name(tlsdec_cipher_name, sh->cipher, true, b2, sizeof(b2)));
	if (sh->group)
		cJSON_AddStringToObject(o, "group", num_name(tlsdec_group_name, sh->group, false, b3, sizeof(b3)));
	else
		cJSON_AddNullToObject(o, "group");
	cJSON_AddBoolToObject(o, "hello_retry", sh->hello_retry);
	return o;
}

static cJSON *json_cr(const struct capture_event *ev)
{
	const struct tls_cert_request *cr = ev->u.cr;
	cJSON *o = base(ev, "certificate_request"), *cas = cJSON_CreateArray();

	for (size_t i = 0; i < cr->n_cas; i++) {
		const unsigned char *p = cr->cas[i].p;
		X509_NAME *nm = d2i_X509_NAME(NULL, &p, (long)cr->cas[i].len);
		char line[256];

		if (!nm)
			continue;
		X509_NAME_oneline(nm, line, sizeof(line));
		X509_NAME_free(nm);
		add_bytes(cas, "x", (const uint8_t *)line, strlen(line), false);
		cJSON_AddItemToArray(cas, cJSON_DetachItemFromObject(cas, "x"));
	}
	cJSON_AddItemToObject(o, "ca_names", cas);
	cJSON_AddItemToObject(o, "signature_algorithms",
			      u16_names(cr->sigalgs, cr->n_sigalgs, tlsdec_sigalg_name, false));
	return o;
}

static cJSON *json_mqtt(const struct capture_event *ev)
{
	const struct mqtt_pkt *m = ev->u.mqtt;
	cJSON *o;
	char type[32];

	switch (m->type) {
	case MQTT_CONNECT:
		o = base(ev, "mqtt_connect");
		add_bytes(o, "client_id", m->client_id.p, m->client_id.len, false);
		add_bytes(o, "username", m->username.p, m->username.len, false);
		add_bytes(o, "password", m->password.p, m->password.len, false);
		cJSON_AddStringToObject(o, "protocol", mqttdec_version_name(m->version));
		cJSON_AddNumberToObject(o, "keepalive", m->keepalive);
		cJSON_AddBoolToObject(o, "clean_start", m->clean_start);
		if (m->will) {
			add_bytes(o, "will_topic", m->will_topic.p, m->will_topic.len, false);
			add_bytes(o, "will_payload", m->will_payload.p, m->will_payload.len, false);
		}
		return o;
	case MQTT_CONNACK: {
		const char *finding = mqttdec_connack_finding(m->version, m->reason, ev->flow->mqtt.username);

		o = base(ev, "mqtt_connack");
		cJSON_AddNumberToObject(o, "code", m->reason);
		cJSON_AddStringToObject(o, "meaning", mqttdec_reason_name(m->version, m->type, m->reason));
		cJSON_AddBoolToObject(o, "session_present", m->session_present);
		if (finding)
			cJSON_AddStringToObject(o, "finding", finding);
		return o;
	}
	case MQTT_PUBLISH:
		o = base(ev, "mqtt_publish");
		add_bytes(o, "topic", m->topic.p, m->topic.len, false);
		add_bytes(o, "payload", m->payload.p, m->payload.len, true);
		cJSON_AddNumberToObject(o, "qos", m->qos);
		cJSON_AddBoolToObject(o, "retain", m->retain);
		if (m->has_packet_id)
			cJSON_AddNumberToObject(o, "packet_id", m->packet_id);
		add_from(o, ev->dir);
		return o;
	default:
		break;
	}
	snprintf(type, sizeof(type), "mqtt_%s", mqttdec_type_name(m->type));
	for (char *p = type; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	o = base(ev, type);
	add_from(o, ev->dir);
	if (m->has_packet_id)
		cJSON_AddNumberToObject(o, "packet_id", m->packet_id);
	if (m->has_reason) {
		cJSON_AddNumberToObject(o, "code", m->reason);
		cJSON_AddStringToObject(o, "meaning", mqttdec_reason_name(m->version, m->type, m->reason));
	}
	if (m->type == MQTT_SUBSCRIBE || m->type == MQTT_UNSUBSCRIBE) {
		cJSON *a = cJSON_AddArrayToObject(o, "filters");
		struct cursor it;
		struct mqtt_bytes fl;
		uint8_t opt;

		cur_init(&it, m->list.p, m->list.len);
		while (mqttdec_filter_next(&it, m, &fl, &opt)) {
			cJSON *tmp = cJSON_CreateObject();

			add_bytes(tmp, "f", fl.p, fl.len, false);
			cJSON_AddItemToArray(a, cJSON_DetachItemFromObject(tmp, "f"));
			cJSON_Delete(tmp);
		}
	}
	if (m->type == MQTT_SUBACK || m->type == MQTT_UNSUBACK) {
		cJSON *a = cJSON_AddArrayToObject(o, "codes");

		for (size_t i = 0; i < m->list.len; i++)
			cJSON_AddItemToArray(a, cJSON_CreateNumber(m->list.p[i]));
	}
	return o;
}

static cJSON *json_summary(const struct capture_event *ev)
{
	const struct capture_flow *f = ev->flow;
	cJSON *o = base(ev, "flow_summary");
	char b1[16];

	cJSON_AddStringToObject(o, "outcome", capture_outcome_name(f->verdict.outcome));
	cJSON_AddStringToObject(o, "reason", f->verdict.reason ? f->verdict.reason : "");
	if (f->verdict.finding)
		cJSON_AddStringToObject(o, "finding", f->verdict.finding);
	else
		cJSON_AddNullToObject(o, "finding");
	cJSON_AddBoolToObject(o, "inferred", f->verdict.inferred);
	cJSON_AddStringToObject(o, "protocol", f->proto == CAPTURE_PROTO_TLS ? "tls" : f->proto == CAPTURE_PROTO_MQTT ? "mqtt"
					       : f->proto == CAPTURE_PROTO_OTHER ? "other" : "none");
	if (f->proto == CAPTURE_PROTO_TLS && f->tls.server_hello) {
		cJSON_AddStringToObject(o, "tls_version", version_name(f->tls.version, b1, sizeof(b1)));
		if (tlsdec_cipher_name(f->tls.cipher))
			cJSON_AddStringToObject(o, "cipher", tlsdec_cipher_name(f->tls.cipher));
	}
	if (f->tls.sni)
		cJSON_AddStringToObject(o, "sni", f->tls.sni);
	if (f->proto == CAPTURE_PROTO_MQTT)
		cJSON_AddBoolToObject(o, "credentials_in_clear", f->mqtt.username || f->mqtt.password);
	{
		char ms[32];

		snprintf(ms, sizeof(ms), "%.3f", (f->last_ts - f->first_ts) * 1000.0);
		cJSON_AddItemToObject(o, "duration_ms", cJSON_CreateRaw(ms));
	}
	cJSON_AddNumberToObject(o, "packets", (double)(f->packets[0] + f->packets[1]));
	cJSON_AddNumberToObject(o, "bytes", (double)(f->bytes[0] + f->bytes[1]));
	if (f->malformed)
		cJSON_AddNumberToObject(o, "malformed", f->malformed);
	if (f->gap_bytes[0] + f->gap_bytes[1])
		cJSON_AddNumberToObject(o, "missing_bytes", (double)(f->gap_bytes[0] + f->gap_bytes[1]));
	return o;
}

cJSON *capture_event_json(const struct capture_event *ev)
{
	cJSON *o;
	char buf[32];

	switch (ev->type) {
	case CAPTURE_EV_CLIENT_HELLO:
		return json_ch(ev);
	case CAPTURE_EV_SERVER_HELLO:
		return json_sh(ev);
	case CAPTURE_EV_CERTIFICATE:
		o = base(ev, "certificate");
		cJSON_AddItemToObject(o, "chain", chain_to_json(ev->u.chain.v, ev->u.chain.n));
		add_from(o, ev->dir);
		cJSON_AddNumberToObject(o, "count", (double)ev->u.chain.n_total);
		if (ev->u.chain.error)
			cJSON_AddStringToObject(o, "error", ev->u.chain.error);
		return o;
	case CAPTURE_EV_CERT_REQUEST:
		return json_cr(ev);
	case CAPTURE_EV_HANDSHAKE:
		o = base(ev, "tls_handshake");
		add_from(o, ev->dir);
		cJSON_AddStringToObject(o, "message", tlsdec_handshake_name(ev->u.hs.type) ? tlsdec_handshake_name(ev->u.hs.type)
											 : "unknown");
		cJSON_AddNumberToObject(o, "length", (double)ev->u.hs.len);
		return o;
	case CAPTURE_EV_CCS:
		o = base(ev, "change_cipher_spec");
		add_from(o, ev->dir);
		return o;
	case CAPTURE_EV_ENCRYPTED:
	case CAPTURE_EV_APPDATA:
		o = base(ev, ev->type == CAPTURE_EV_APPDATA ? "application_data" : "encrypted_record");
		add_from(o, ev->dir);
		cJSON_AddNumberToObject(o, "length", (double)ev->u.enc.len);
		if (ev->u.enc.meaning)
			cJSON_AddStringToObject(o, "meaning", ev->u.enc.meaning);
		cJSON_AddBoolToObject(o, "inferred", ev->u.enc.inferred);
		return o;
	case CAPTURE_EV_ALERT:
		o = base(ev, "alert");
		add_from(o, ev->dir);
		if (ev->u.alert.level == 1 || ev->u.alert.level == 2)
			cJSON_AddStringToObject(o, "level", ev->u.alert.level == 2 ? "fatal" : "warning");
		else
			cJSON_AddNumberToObject(o, "level", ev->u.alert.level);
		cJSON_AddStringToObject(o, "description", alert_name(ev->u.alert.desc, buf, sizeof(buf)));
		cJSON_AddBoolToObject(o, "encrypted", false);
		return o;
	case CAPTURE_EV_ENCRYPTED_ALERT:
		o = base(ev, "encrypted_alert");
		add_from(o, ev->dir);
		cJSON_AddNumberToObject(o, "length", (double)ev->u.enc.len);
		cJSON_AddBoolToObject(o, "inferred", ev->u.enc.inferred);
		return o;
	case CAPTURE_EV_MQTT:
		return json_mqtt(ev);
	case CAPTURE_EV_MALFORMED:
		o = base(ev, "malformed");
		if (ev->flow)
			add_from(o, ev->dir);
		cJSON_AddStringToObject(o, "what", ev->u.text);
		return o;
	case CAPTURE_EV_GAP:
		o = base(ev, "gap");
		add_from(o, ev->dir);
		cJSON_AddNumberToObject(o, "bytes", (double)ev->u.gap.bytes);
		return o;
	case CAPTURE_EV_FLOW_CLOSE:
		o = base(ev, "tcp_close");
		add_from(o, ev->dir);
		cJSON_AddBoolToObject(o, "reset", ev->flow->rst[ev->dir]);
		return o;
	case CAPTURE_EV_FLOW_SUMMARY:
		return json_summary(ev);
	default:
		return NULL;
	}
}

cJSON *capture_stats_json(const struct capture_stats *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", "stats");
	cJSON_AddNumberToObject(o, "packets", (double)s->frames);
	cJSON_AddNumberToObject(o, "bytes", (double)s->bytes);
	cJSON_AddNumberToObject(o, "tcp_segments", (double)s->tcp);
	cJSON_AddNumberToObject(o, "flows", (double)s->flows);
	cJSON_AddNumberToObject(o, "tls_flows", (double)s->tls_flows);
	cJSON_AddNumberToObject(o, "mqtt_flows", (double)s->mqtt_flows);
	cJSON_AddNumberToObject(o, "malformed", (double)s->malformed);
	cJSON_AddNumberToObject(o, "skipped", (double)s->skipped);
	cJSON_AddNumberToObject(o, "truncated", (double)s->truncated);
	cJSON_AddNumberToObject(o, "missing_bytes", (double)s->gap_bytes);
	cJSON_AddNumberToObject(o, "retransmitted_bytes", (double)s->dup_bytes);
	cJSON_AddNumberToObject(o, "out_of_order", (double)s->ooo_segs);
	cJSON_AddNumberToObject(o, "flows_evicted", (double)s->flows_evicted);
	if (s->pcap_stats_ok) {
		cJSON_AddNumberToObject(o, "pcap_received", s->pcap_recv);
		cJSON_AddNumberToObject(o, "pcap_dropped", s->pcap_drop);
		cJSON_AddNumberToObject(o, "pcap_if_dropped", s->pcap_ifdrop);
	}
	cJSON_AddBoolToObject(o, "file_truncated", s->file_truncated);
	cJSON_AddNumberToObject(o, "seconds", s->elapsed);
	return o;
}
