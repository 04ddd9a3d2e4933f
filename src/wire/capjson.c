/*
 * capjson — capture events as the contract's JSON Lines (capture.h).
 *
 * Written straight into a growable string rather than through a cJSON tree: a large capture
 * yields hundreds of thousands of events, and building, printing and freeing a tree per event
 * cost more than decoding the packets. capture_event_json() parses this same text when a caller
 * wants a tree, so there is one producer. Text from the wire goes out as a JSON string when it
 * is well-formed UTF-8 without NUL, else as base64 with a "<key>_base64": true beside it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mqttls/capture.h"

#define C CAPTURE_C2S

/* ---- the writer ---------------------------------------------------------------------------- */

/* mq_str_append for the many small pieces of a line: in place while there is room. */
static inline void app(struct mq_str *o, const char *p, size_t n)
{
	if (o->len + n < o->cap) {
		memcpy(o->s + o->len, p, n);
		o->len += n;
		o->s[o->len] = '\0';
	} else {
		mq_str_append(o, p, n);
	}
}

static void put(struct mq_str *o, const char *s)
{
	app(o, s, strlen(s));
}

static void put_u64(struct mq_str *o, unsigned long long v)
{
	char b[24];
	size_t i = sizeof(b);

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	app(o, b + i, sizeof(b) - i);
}

/* A JSON string: quotes, backslashes and control characters escaped; the rest as is (UTF-8). */
static void put_jstr(struct mq_str *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	app(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t el = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		app(o, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
		}
		app(o, esc, el);
	}
	app(o, s + run, n - run);
	app(o, "\"", 1);
}

static void key(struct mq_str *o, const char *k)
{
	app(o, ",\"", 2);
	put(o, k);
	app(o, "\":", 2);
}

static void kv_str(struct mq_str *o, const char *k, const char *v)
{
	key(o, k);
	if (v)
		put_jstr(o, v, strlen(v));
	else
		put(o, "null");
}

static void kv_u64(struct mq_str *o, const char *k, unsigned long long v)
{
	key(o, k);
	put_u64(o, v);
}

static void kv_bool(struct mq_str *o, const char *k, bool v)
{
	key(o, k);
	put(o, v ? "true" : "false");
}

/* Fixed-point with `decimals` digits, exactly (no binary-to-decimal surprises). */
static void put_fixed(struct mq_str *o, double v, int decimals)
{
	long long scale = 1, x;

	for (int i = 0; i < decimals; i++)
		scale *= 10;
	if (v < 0) {
		app(o, "-", 1);
		v = -v;
	}
	x = (long long)(v * (double)scale + 0.5);
	put_u64(o, (unsigned long long)(x / scale));
	if (decimals) {
		char frac[20];
		long long f = x % scale;

		for (int i = decimals - 1; i >= 0; i--, f /= 10)
			frac[i] = (char)('0' + f % 10);
		app(o, ".", 1);
		app(o, frac, (size_t)decimals);
	}
}

/* ,"k_base64":v */
static void kv_b64_flag(struct mq_str *o, const char *k, bool v)
{
	app(o, ",\"", 2);
	put(o, k);
	put(o, v ? "_base64\":true" : "_base64\":false");
}

/* Bytes from the wire: text when it is clean UTF-8, else base64 and key_base64: true. */
static void kv_bytes(struct mq_str *o, const char *k, const uint8_t *p, size_t n, bool always_flag)
{
	key(o, k);
	if (!p) {
		put(o, "null");
		return;
	}
	if (mq_utf8_valid(p, n)) {
		put_jstr(o, (const char *)p, n);
		if (always_flag)
			kv_b64_flag(o, k, false);
		return;
	}
	{
		size_t bl = 4 * ((n + 2) / 3) + 1;
		char *b = malloc(bl);

		if (!b) {
			put(o, "null");
			return;
		}
		EVP_EncodeBlock((unsigned char *)b, p, (int)n);
		put_jstr(o, b, strlen(b));
		free(b);
	}
	kv_b64_flag(o, k, true);
}

/* A list of IANA names (plain ASCII: no escaping needed) as a JSON array. The same client
 * software sends the same lists in every hello, so the text of recent lists is kept. */
#define NAMES_CACHE 16

struct names_entry {
	enum tls_name_kind kind;
	size_t n;
	uint16_t v[TLS_MAX_CIPHERS];
	char *text;
	size_t len;
};

static __thread struct names_entry names_cache[NAMES_CACHE];

static void kv_names(struct mq_str *o, const char *k, const uint16_t *v, size_t n, enum tls_name_kind kind)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)kind;
	struct names_entry *e;
	struct mq_str t = { 0 };
	char buf[24];

	key(o, k);
	if (n > TLS_MAX_CIPHERS)
		n = TLS_MAX_CIPHERS;
	for (size_t i = 0; i < n; i++)
		h = (h ^ v[i]) * 0x100000001b3ull;
	e = &names_cache[(h ^ (h >> 32)) % NAMES_CACHE];
	if (e->text && e->kind == kind && e->n == n && !memcmp(e->v, v, n * sizeof(*v))) {
		app(o, e->text, e->len);
		return;
	}
	app(&t, "[", 1);
	for (size_t i = 0; i < n; i++) {
		const char *s = tlsdec_name(kind, v[i], buf, sizeof(buf));

		if (i)
			app(&t, ",", 1);
		app(&t, "\"", 1);
		put(&t, s);
		app(&t, "\"", 1);
	}
	app(&t, "]", 1);
	app(o, t.s, t.len);
	free(e->text);
	e->kind = kind;
	e->n = n;
	memcpy(e->v, v, n * sizeof(*v));
	e->len = t.len;
	e->text = mq_str_take(&t);
}

static void begin(struct mq_str *o, const struct capture_event *ev, const char *type)
{
	put(o, "{\"ts\":");
	put_fixed(o, ev->ts, 6);
	kv_str(o, "flow", ev->flow ? ev->flow->name : NULL);
	kv_str(o, "type", type);
}

static void from(struct mq_str *o, enum capture_dir d)
{
	kv_str(o, "from", d == C ? "client" : "server");
}

/* ---- events ---------------------------------------------------------------------------------- */

static void client_hello(struct mq_str *o, const struct capture_event *ev)
{
	const struct tls_client_hello *ch = ev->u.ch;

	begin(o, ev, "client_hello");
	kv_bytes(o, "sni", ch->sni.p, ch->sni.len, false);
	kv_names(o, "versions", ch->versions, ch->n_versions, TLSN_VERSION);
	kv_names(o, "ciphers", ch->ciphers, ch->n_ciphers, TLSN_CIPHER);
	kv_names(o, "groups", ch->groups, ch->n_groups, TLSN_GROUP);
	key(o, "alpn");
	app(o, "[", 1);
	for (size_t i = 0, k = 0; i < ch->n_alpn; i++) {
		/* ALPN names are bytes; a non-UTF-8 one is left out rather than mangled. */
		if (!mq_utf8_valid(ch->alpn[i].p, ch->alpn[i].len))
			continue;
		if (k++)
			app(o, ",", 1);
		put_jstr(o, (const char *)ch->alpn[i].p, ch->alpn[i].len);
	}
	app(o, "]", 1);
	kv_names(o, "signature_algorithms", ch->sigalgs, ch->n_sigalgs, TLSN_SIGALG);
	kv_names(o, "key_share_groups", ch->key_shares, ch->n_key_shares, TLSN_GROUP);
	if (ch->n_ciphers_total > ch->n_ciphers)
		kv_u64(o, "ciphers_total", ch->n_ciphers_total);
	if (ch->max_fragment_length)
		kv_u64(o, "max_fragment_length", ch->max_fragment_length);
}

static void server_hello(struct mq_str *o, const struct capture_event *ev)
{
	const struct tls_server_hello *sh = ev->u.sh;
	char b[24];

	begin(o, ev, "server_hello");
	kv_str(o, "version", tlsdec_name(TLSN_VERSION, sh->version, b, sizeof(b)));
	kv_str(o, "cipher", tlsdec_name(TLSN_CIPHER, sh->cipher, b, sizeof(b)));
	kv_str(o, "group", sh->group ? tlsdec_name(TLSN_GROUP, sh->group, b, sizeof(b)) : NULL);
	kv_bool(o, "hello_retry", sh->hello_retry);
}

static void certificate(struct mq_str *o, const struct capture_event *ev)
{
	begin(o, ev, "certificate");
	key(o, "chain");
	app(o, "[", 1);
	for (size_t i = 0; i < ev->u.chain.n; i++) {
		const char *j = ev->u.chain.json ? ev->u.chain.json[i] : NULL;

		if (i)
			app(o, ",", 1);
		if (j) {
			put(o, j);
		} else {
			cJSON *t = cert_info_to_json(&ev->u.chain.v[i]);
			char *s = t ? cJSON_PrintUnformatted(t) : NULL;

			put(o, s ? s : "null");
			free(s);
			cJSON_Delete(t);
		}
	}
	app(o, "]", 1);
	from(o, ev->dir);
	kv_u64(o, "count", ev->u.chain.n_total);
	if (ev->u.chain.error)
		kv_str(o, "error", ev->u.chain.error);
}

static void cert_request(struct mq_str *o, const struct capture_event *ev)
{
	const struct tls_cert_request *cr = ev->u.cr;

	begin(o, ev, "certificate_request");
	key(o, "ca_names");
	app(o, "[", 1);
	for (size_t i = 0, k = 0; i < cr->n_cas; i++) {
		const unsigned char *p = cr->cas[i].p;
		X509_NAME *nm = d2i_X509_NAME(NULL, &p, (long)cr->cas[i].len);
		char line[256];

		if (!nm)
			continue;
		X509_NAME_oneline(nm, line, sizeof(line));
		X509_NAME_free(nm);
		if (!mq_utf8_valid(line, strlen(line)))
			continue;
		if (k++)
			app(o, ",", 1);
		put_jstr(o, line, strlen(line));
	}
	app(o, "]", 1);
	kv_names(o, "signature_algorithms", cr->sigalgs, cr->n_sigalgs, TLSN_SIGALG);
}

static void mqtt_packet(struct mq_str *o, const struct capture_event *ev)
{
	const struct mqtt_pkt *m = ev->u.mqtt;
	char type[32];

	switch (m->type) {
	case MQTT_CONNECT:
		begin(o, ev, "mqtt_connect");
		kv_bytes(o, "client_id", m->client_id.p, m->client_id.len, false);
		kv_bytes(o, "username", m->username.p, m->username.len, false);
		kv_bytes(o, "password", m->password.p, m->password.len, false);
		kv_str(o, "protocol", mqttdec_version_name(m->version));
		kv_u64(o, "keepalive", m->keepalive);
		kv_bool(o, "clean_start", m->clean_start);
		if (m->will) {
			kv_bytes(o, "will_topic", m->will_topic.p, m->will_topic.len, false);
			kv_bytes(o, "will_payload", m->will_payload.p, m->will_payload.len, false);
		}
		return;
	case MQTT_CONNACK: {
		const char *finding = mqttdec_connack_finding(m->version, m->reason, ev->flow->mqtt.username);

		begin(o, ev, "mqtt_connack");
		kv_u64(o, "code", m->reason);
		kv_str(o, "meaning", mqttdec_reason_name(m->version, m->type, m->reason));
		kv_bool(o, "session_present", m->session_present);
		if (finding)
			kv_str(o, "finding", finding);
		return;
	}
	case MQTT_PUBLISH:
		begin(o, ev, "mqtt_publish");
		kv_bytes(o, "topic", m->topic.p, m->topic.len, false);
		kv_bytes(o, "payload", m->payload.p, m->payload.len, true);
		kv_u64(o, "qos", m->qos);
		kv_bool(o, "retain", m->retain);
		if (m->has_packet_id)
			kv_u64(o, "packet_id", m->packet_id);
		from(o, ev->dir);
		return;
	default:
		break;
	}
	snprintf(type, sizeof(type), "mqtt_%s", mqttdec_type_name(m->type));
	for (char *p = type; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	begin(o, ev, type);
	from(o, ev->dir);
	if (m->has_packet_id)
		kv_u64(o, "packet_id", m->packet_id);
	if (m->has_reason) {
		kv_u64(o, "code", m->reason);
		kv_str(o, "meaning", mqttdec_reason_name(m->version, m->type, m->reason));
	}
	if (m->type == MQTT_SUBSCRIBE || m->type == MQTT_UNSUBSCRIBE) {
		struct cursor it;
		struct mqtt_bytes fl;
		uint8_t opt;
		size_t k = 0;

		key(o, "filters");
		app(o, "[", 1);
		cur_init(&it, m->list.p, m->list.len);
		while (mqttdec_filter_next(&it, m, &fl, &opt)) {
			if (k++)
				app(o, ",", 1);
			put_jstr(o, (const char *)fl.p, fl.len);  /* filters were checked as UTF-8 when decoded */
		}
		app(o, "]", 1);
	}
	if (m->type == MQTT_SUBACK || m->type == MQTT_UNSUBACK) {
		key(o, "codes");
		app(o, "[", 1);
		for (size_t i = 0; i < m->list.len; i++) {
			if (i)
				app(o, ",", 1);
			put_u64(o, m->list.p[i]);
		}
		app(o, "]", 1);
	}
}

static void summary(struct mq_str *o, const struct capture_event *ev)
{
	const struct capture_flow *f = ev->flow;
	char b[24];

	begin(o, ev, "flow_summary");
	kv_str(o, "outcome", capture_outcome_name(f->verdict.outcome));
	kv_str(o, "reason", f->verdict.reason ? f->verdict.reason : "");
	kv_str(o, "finding", f->verdict.finding);
	kv_bool(o, "inferred", f->verdict.inferred);
	kv_str(o, "protocol", f->proto == CAPTURE_PROTO_TLS ? "tls" : f->proto == CAPTURE_PROTO_MQTT ? "mqtt"
				 : f->proto == CAPTURE_PROTO_OTHER ? "other" : "none");
	if (f->proto == CAPTURE_PROTO_TLS && f->tls.server_hello) {
		kv_str(o, "tls_version", tlsdec_name(TLSN_VERSION, f->tls.version, b, sizeof(b)));
		if (tlsdec_cipher_name(f->tls.cipher))
			kv_str(o, "cipher", tlsdec_cipher_name(f->tls.cipher));
	}
	if (f->tls.sni)
		kv_str(o, "sni", f->tls.sni);
	if (f->proto == CAPTURE_PROTO_MQTT)
		kv_bool(o, "credentials_in_clear", f->mqtt.username || f->mqtt.password);
	key(o, "duration_ms");
	put_fixed(o, (f->last_ts - f->first_ts) * 1000.0, 3);
	kv_u64(o, "packets", f->packets[0] + f->packets[1]);
	kv_u64(o, "bytes", f->bytes[0] + f->bytes[1]);
	if (f->malformed)
		kv_u64(o, "malformed", f->malformed);
	if (f->gap_bytes[0] + f->gap_bytes[1])
		kv_u64(o, "missing_bytes", f->gap_bytes[0] + f->gap_bytes[1]);
}

bool capture_event_json_write(const struct capture_event *ev, struct mq_str *o)
{
	char b[24];

	switch (ev->type) {
	case CAPTURE_EV_CLIENT_HELLO:
		client_hello(o, ev);
		break;
	case CAPTURE_EV_SERVER_HELLO:
		server_hello(o, ev);
		break;
	case CAPTURE_EV_CERTIFICATE:
		certificate(o, ev);
		break;
	case CAPTURE_EV_CERT_REQUEST:
		cert_request(o, ev);
		break;
	case CAPTURE_EV_HANDSHAKE:
		begin(o, ev, "tls_handshake");
		from(o, ev->dir);
		kv_str(o, "message", tlsdec_name(TLSN_HANDSHAKE, ev->u.hs.type, b, sizeof(b)));
		kv_u64(o, "length", ev->u.hs.len);
		break;
	case CAPTURE_EV_CCS:
		begin(o, ev, "change_cipher_spec");
		from(o, ev->dir);
		break;
	case CAPTURE_EV_ENCRYPTED:
	case CAPTURE_EV_APPDATA:
		begin(o, ev, ev->type == CAPTURE_EV_APPDATA ? "application_data" : "encrypted_record");
		from(o, ev->dir);
		kv_u64(o, "length", ev->u.enc.len);
		if (ev->u.enc.meaning)
			kv_str(o, "meaning", ev->u.enc.meaning);
		kv_bool(o, "inferred", ev->u.enc.inferred);
		break;
	case CAPTURE_EV_ALERT:
		begin(o, ev, "alert");
		from(o, ev->dir);
		if (ev->u.alert.level == 1 || ev->u.alert.level == 2)
			kv_str(o, "level", ev->u.alert.level == 2 ? "fatal" : "warning");
		else
			kv_u64(o, "level", ev->u.alert.level);
		kv_str(o, "description", tlsdec_name(TLSN_ALERT, ev->u.alert.desc, b, sizeof(b)));
		kv_bool(o, "encrypted", false);
		break;
	case CAPTURE_EV_ENCRYPTED_ALERT:
		begin(o, ev, "encrypted_alert");
		from(o, ev->dir);
		kv_u64(o, "length", ev->u.enc.len);
		kv_bool(o, "inferred", ev->u.enc.inferred);
		break;
	case CAPTURE_EV_MQTT:
		mqtt_packet(o, ev);
		break;
	case CAPTURE_EV_MALFORMED:
		begin(o, ev, "malformed");
		if (ev->flow)
			from(o, ev->dir);
		kv_str(o, "what", ev->u.text);
		break;
	case CAPTURE_EV_GAP:
		begin(o, ev, "gap");
		from(o, ev->dir);
		kv_u64(o, "bytes", ev->u.gap.bytes);
		break;
	case CAPTURE_EV_FLOW_CLOSE:
		begin(o, ev, "tcp_close");
		from(o, ev->dir);
		kv_bool(o, "reset", ev->flow->rst[ev->dir]);
		break;
	case CAPTURE_EV_FLOW_SUMMARY:
		summary(o, ev);
		break;
	default:
		return false;
	}
	app(o, "}", 1);
	return true;
}

cJSON *capture_event_json(const struct capture_event *ev)
{
	struct mq_str s = { 0 };
	cJSON *j = NULL;

	if (capture_event_json_write(ev, &s))
		j = cJSON_ParseWithLength(s.s, s.len);
	mq_str_free(&s);
	return j;
}

cJSON *capture_stats_json(const struct capture_stats *s)
{
	cJSON *o = cJSON_CreateObject();
	char ts[32];

	/* Like every line: ts (the last frame's), flow (none), type. */
	snprintf(ts, sizeof(ts), "%.6f", s->last_ts);
	cJSON_AddItemToObject(o, "ts", cJSON_CreateRaw(ts));
	cJSON_AddNullToObject(o, "flow");
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
