/*
 * flowtab — flows of a capture: find or make the flow of each segment, reassemble each
 * direction, decode TLS or plaintext MQTT, and report events (see capture.h).
 *
 * Bounded everywhere: at most max_flows flows (the least recently active is evicted, its
 * summary emitted), reassembly caps per direction, TLS/MQTT decoder caps, and a small cache
 * of parsed certificates (a broker sends the same chain to every device, and parsing X.509
 * costs more than everything else a flow needs).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/x509.h>

#include "flowtab.h"
#include "mqttls/reasm.h"

#define DEFAULT_MAX_FLOWS 65536
#define DEFAULT_HELD_BYTES (256 * 1024)
#define DEFAULT_HELD_SEGS 256
#define DEFAULT_MQTT_PACKET (4u << 20)
#define CERT_CACHE 64

/* ---- certificate cache ----------------------------------------------------------------------- */

struct cert_entry {
	uint64_t hash;
	uint8_t *der;
	size_t der_len;
	struct cert_info ci;
	bool ok;              /* ci is valid; else err says why */
	char err[128];
	int refs;             /* held server flights still pointing here */
	bool cached;          /* in the cache array (else freed when refs drops to 0) */
	char *json;           /* ci as a chain element at depth json_depth, made on first use */
	int json_depth;
};

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ^ n;
}

static void entry_free(struct cert_entry *e)
{
	if (!e)
		return;
	if (e->ok)
		cert_info_free(&e->ci);
	free(e->json);
	free(e->der);
	free(e);
}

/* ---- flows ----------------------------------------------------------------------------------- */

struct node;

/* A server flight of TLS <= 1.2 held until its ServerKeyExchange names the group. */
struct held {
	bool sh;
	struct tls_server_hello hello;
	uint8_t alpn[256];
	double sh_ts;
	bool chain;
	struct cert_entry *certs[TLS_MAX_CERTS];
	size_t n_certs, n_total;
	const char *chain_err;
	char chain_err_buf[160];
	double chain_ts;
	enum capture_dir chain_dir;
};

/* Decoders of a flow, made when its first payload says which protocol it speaks. */
struct flow_dec {
	struct tlsdec_stream tls[2];
	struct held held;
	struct mqtt_stream mq[2];
};

struct capture_flow_priv {
	struct reasm_dir rd[2];
	struct flow_dec *dec;   /* NULL until the first payload (and for flows that speak neither) */
	struct node *node;
	enum capture_dir dir;   /* direction being decoded (callback context) */
	double ts;              /* time of the segment being decoded */
	bool app_seen[2];
	int tag_len;            /* TLS 1.3 AEAD tag length of the negotiated suite */
	size_t finished_len;    /* TLS 1.3 Finished message length (4 + hash) */
};

struct node {
	struct capture_flow f;
	struct node *hnext;
	struct node *lru_prev, *lru_next;
	uint64_t hash;
	int af;
	uint8_t a[16], b[16];   /* endpoints in a fixed order, so both directions find the node */
	uint16_t pa, pb;
	bool client_is_a;
	struct flowtab *t;
};

struct flowtab {
	struct capture_opts o;
	struct capture_observer obs;
	struct capture_stats *st;
	struct node **buckets;
	size_t n_buckets, n_nodes;
	struct node *lru_head, *lru_tail;  /* head: least recently active */
	unsigned next_id;
	struct reasm_limits lim;
	struct cert_entry *cache[CERT_CACHE];
	size_t cache_next;
};

static void emit(struct flowtab *t, struct capture_event *ev)
{
	t->st->events++;
	if (t->obs.event)
		t->obs.event(t->obs.ctx, ev);
}

static void ev_init(struct capture_event *ev, enum capture_ev_type type, struct capture_flow *f,
		    enum capture_dir dir, double ts)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->flow = f;
	ev->dir = dir;
	ev->ts = ts;
}

static void note_malformed(struct node *n, enum capture_dir dir, double ts, const char *what)
{
	struct capture_event ev;

	n->f.malformed++;
	n->t->st->malformed++;
	if (!n->f.malformed_what)
		n->f.malformed_what = strdup(what);
	ev_init(&ev, CAPTURE_EV_MALFORMED, &n->f, dir, ts);
	ev.u.text = what;
	emit(n->t, &ev);
}

/* ---- certificates ---------------------------------------------------------------------------- */

static struct cert_entry *cert_get(struct flowtab *t, const uint8_t *der, size_t len)
{
	uint64_t h = fnv1a(der, len);
	struct cert_entry *e;
	const unsigned char *p = der;
	struct mq_err err;
	X509 *x;

	for (size_t i = 0; i < CERT_CACHE; i++) {
		e = t->cache[i];
		if (e && e->hash == h && e->der_len == len && !memcmp(e->der, der, len))
			return e;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->hash = h;
	e->der = malloc(len);
	if (!e->der) {
		free(e);
		return NULL;
	}
	memcpy(e->der, der, len);
	e->der_len = len;
	mq_err_clear(&err);
	x = d2i_X509(NULL, &p, (long)len);
	if (!x || p != der + len) {
		snprintf(e->err, sizeof(e->err), "not a DER X.509 certificate");
	} else if (cert_info_from_x509(x, 0, &e->ci, &err) == 0) {
		e->ok = true;
	} else {
		snprintf(e->err, sizeof(e->err), "%.120s", err.msg);
	}
	X509_free(x);
	/* Cache it in the next slot nobody holds; with every slot held, it lives only for its flight. */
	for (size_t k = 0; k < CERT_CACHE; k++) {
		size_t i = (t->cache_next + k) % CERT_CACHE;

		if (!t->cache[i] || t->cache[i]->refs == 0) {
			entry_free(t->cache[i]);
			t->cache[i] = e;
			e->cached = true;
			t->cache_next = (i + 1) % CERT_CACHE;
			break;
		}
	}
	return e;
}

static void cert_put(struct cert_entry *e)
{
	if (e && --e->refs <= 0 && !e->cached)
		entry_free(e);
}

/* The certificate as JSON, made once: every device of a broker gets the same chain. */
static const char *cert_json(struct cert_entry *e, int depth)
{
	if (!e->json || e->json_depth != depth) {
		struct cert_info ci = e->ci;
		cJSON *j;

		free(e->json);
		ci.depth = depth;
		j = cert_info_to_json(&ci);
		e->json = j ? cJSON_PrintUnformatted(j) : NULL;
		e->json_depth = depth;
		cJSON_Delete(j);
	}
	return e->json;
}

/* ---- the held TLS <= 1.2 server flight --------------------------------------------------------- */

static void flush_held(struct node *n)
{
	struct held *h;
	struct capture_event ev;

	if (!n->f.priv || !n->f.priv->dec || n->f.proto != CAPTURE_PROTO_TLS)
		return;
	h = &n->f.priv->dec->held;
	if (h->sh) {
		h->sh = false;
		ev_init(&ev, CAPTURE_EV_SERVER_HELLO, &n->f, CAPTURE_S2C, h->sh_ts);
		ev.u.sh = &h->hello;
		emit(n->t, &ev);
	}
	if (h->chain) {
		struct cert_info v[TLS_MAX_CERTS];
		const char *json[TLS_MAX_CERTS];
		size_t k = 0;

		h->chain = false;
		for (size_t i = 0; i < h->n_certs; i++) {
			if (h->certs[i] && h->certs[i]->ok) {
				v[k] = h->certs[i]->ci;
				v[k].depth = (int)i;
				json[k] = cert_json(h->certs[i], (int)i);
				k++;
			}
		}
		ev_init(&ev, CAPTURE_EV_CERTIFICATE, &n->f, h->chain_dir, h->chain_ts);
		ev.u.chain.v = k ? v : NULL;
		ev.u.chain.n = k;
		ev.u.chain.n_total = h->n_total;
		ev.u.chain.error = h->chain_err;
		ev.u.chain.json = json;
		emit(n->t, &ev);
		for (size_t i = 0; i < h->n_certs; i++)
			cert_put(h->certs[i]);
		h->n_certs = 0;
	}
}

/* ---- TLS --------------------------------------------------------------------------------------- */

static void leaf_facts(struct node *n, const struct cert_entry *leaf, double ts)
{
	struct capture_flow *f = &n->f;
	const struct cert_info *ci = &leaf->ci;

	free(f->tls.leaf_subject);
	free(f->tls.leaf_issuer);
	f->tls.leaf_subject = strdup(ci->subject ? ci->subject : "");
	f->tls.leaf_issuer = strdup(ci->issuer ? ci->issuer : "");
	f->tls.leaf_self_signed = ci->self_signed;
	f->tls.leaf_expired = ci->not_after && (long long)ts > ci->not_after;
	f->tls.leaf_not_yet_valid = ci->not_before && (long long)ts < ci->not_before;
	/* The SNI is the name the device connected to; without one (an IP address) nothing is known. */
	f->tls.leaf_matches_sni = f->tls.sni ? cert_info_matches_host(ci, f->tls.sni, NULL) : -1;
}

static void on_certificate(struct node *n, const uint8_t *body, size_t len)
{
	struct capture_flow *f = &n->f;
	struct capture_flow_priv *p = f->priv;
	struct held *h = &p->dec->held;
	struct tls_cert_list cl;
	char err[TLSDEC_ERR_SIZE];

	if (tlsdec_certificate(body, len, false, &cl, err)) {
		note_malformed(n, p->dir, p->ts, err);
		return;
	}
	if (p->dir == CAPTURE_C2S)
		f->tls.client_certs = (int)cl.n_total;
	else
		f->tls.n_certs = (unsigned)cl.n_total;
	if (h->chain)
		flush_held(n);
	h->chain = true;
	h->chain_dir = p->dir;
	h->chain_ts = p->ts;
	h->n_total = cl.n_total;
	h->n_certs = 0;
	h->chain_err = NULL;
	for (size_t i = 0; i < cl.n; i++) {
		struct cert_entry *e = cert_get(n->t, cl.der[i].p, cl.der[i].len);

		if (e)
			e->refs++;
		h->certs[h->n_certs++] = e;
		if (e && !e->ok && !h->chain_err) {
			snprintf(h->chain_err_buf, sizeof(h->chain_err_buf), "certificate %zu: %.120s", i, e->err);
			h->chain_err = h->chain_err_buf;
		}
	}
	if (p->dir == CAPTURE_S2C && h->n_certs && h->certs[0] && h->certs[0]->ok)
		leaf_facts(n, h->certs[0], p->ts);
	if (p->dir == CAPTURE_S2C && h->n_certs && h->certs[h->n_certs - 1] && h->certs[h->n_certs - 1]->ok) {
		const struct cert_info *top = &h->certs[h->n_certs - 1]->ci;

		free(f->tls.chain_root);
		f->tls.chain_root = strdup(top->issuer ? top->issuer : "");
	}
	/* The client's own Certificate, or a server's in a flight already announced: show it now. */
	if (p->dir == CAPTURE_C2S || !h->sh)
		flush_held(n);
}

static void set_tls13(struct node *n)
{
	struct capture_flow_priv *p = n->f.priv;
	const char *name = tlsdec_cipher_name(n->f.tls.cipher);

	p->dec->tls[0].tls13 = p->dec->tls[1].tls13 = true;
	p->tag_len = name && strstr(name, "CCM_8") ? 8 : 16;
	p->finished_len = 4 + (name && strstr(name, "SHA384") ? 48 : 32);
}

static void on_handshake(void *ctx, uint8_t type, const uint8_t *body, size_t len)
{
	struct node *n = ctx;
	struct capture_flow *f = &n->f;
	struct capture_flow_priv *p = f->priv;
	struct capture_event ev;
	char err[TLSDEC_ERR_SIZE];

	if (p->dir == CAPTURE_S2C && p->dec->held.sh && type != TLS_HS_CERTIFICATE && type != TLS_HS_SERVER_KEY_EXCHANGE)
		flush_held(n);
	switch (type) {
	case TLS_HS_CLIENT_HELLO: {
		struct tls_client_hello ch;

		if (p->dir != CAPTURE_C2S || tlsdec_client_hello(body, len, &ch, err)) {
			note_malformed(n, p->dir, p->ts, p->dir != CAPTURE_C2S ? "ClientHello from the server" : err);
			return;
		}
		f->tls.client_hello = true;
		if (ch.sni.p && !f->tls.sni)
			f->tls.sni = mq_escape_dup(ch.sni.p, ch.sni.len);
		f->tls.n_offered = ch.n_versions;
		memcpy(f->tls.offered, ch.versions, ch.n_versions * sizeof(ch.versions[0]));
		ev_init(&ev, CAPTURE_EV_CLIENT_HELLO, f, p->dir, p->ts);
		ev.u.ch = &ch;
		emit(n->t, &ev);
		return;
	}
	case TLS_HS_SERVER_HELLO: {
		struct held *h = &p->dec->held;

		if (p->dir != CAPTURE_S2C || tlsdec_server_hello(body, len, &h->hello, err)) {
			note_malformed(n, p->dir, p->ts, p->dir != CAPTURE_S2C ? "ServerHello from the client" : err);
			return;
		}
		/* The hello's ALPN points into this record: keep a copy for the held event. */
		if (h->hello.alpn.p) {
			size_t l = h->hello.alpn.len < sizeof(h->alpn) ? h->hello.alpn.len : sizeof(h->alpn);

			memcpy(h->alpn, h->hello.alpn.p, l);
			h->hello.alpn.p = h->alpn;
			h->hello.alpn.len = l;
		}
		f->tls.server_hello = true;
		f->tls.hello_retry = f->tls.hello_retry || h->hello.hello_retry;
		f->tls.version = h->hello.version;
		f->tls.cipher = h->hello.cipher;
		f->tls.group = h->hello.group;
		h->sh_ts = p->ts;
		h->sh = true;
		if (h->hello.version == TLS_V_13 && !h->hello.hello_retry)
			set_tls13(n);
		/* TLS 1.3 names its group here; TLS <= 1.2 in the ServerKeyExchange that follows. */
		if (h->hello.version >= TLS_V_13)
			flush_held(n);
		return;
	}
	case TLS_HS_CERTIFICATE:
		on_certificate(n, body, len);
		return;
	case TLS_HS_SERVER_KEY_EXCHANGE:
		if (p->dir == CAPTURE_S2C) {
			uint16_t g = tlsdec_ske_group(body, len);

			if (g) {
				f->tls.group = g;
				p->dec->held.hello.group = g;
			}
		}
		flush_held(n);
		break;
	case TLS_HS_CERTIFICATE_REQUEST: {
		struct tls_cert_request cr;

		flush_held(n);
		if (tlsdec_cert_request(body, len, false, &cr, err)) {
			note_malformed(n, p->dir, p->ts, err);
			return;
		}
		f->tls.cert_request = true;
		ev_init(&ev, CAPTURE_EV_CERT_REQUEST, f, p->dir, p->ts);
		ev.u.cr = &cr;
		emit(n->t, &ev);
		return;
	}
	case TLS_HS_CERTIFICATE_VERIFY:
		if (p->dir == CAPTURE_C2S)
			f->tls.client_cert_verify = true;
		break;
	default:
		break;
	}
	flush_held(n);
	ev_init(&ev, CAPTURE_EV_HANDSHAKE, f, p->dir, p->ts);
	ev.u.hs.type = type;
	ev.u.hs.len = len;
	emit(n->t, &ev);
}

static void on_alert(void *ctx, uint8_t level, uint8_t desc)
{
	struct node *n = ctx;
	struct capture_flow *f = &n->f;
	struct capture_flow_priv *p = f->priv;
	struct capture_event ev;

	flush_held(n);
	if (f->tls.n_alerts < CAPTURE_MAX_ALERTS)
		f->tls.alerts[f->tls.n_alerts++] = (struct capture_alert){ p->ts, p->dir, level, desc };
	ev_init(&ev, CAPTURE_EV_ALERT, f, p->dir, p->ts);
	ev.u.alert.level = level;
	ev.u.alert.desc = desc;
	emit(n->t, &ev);
}

static void on_ccs(void *ctx)
{
	struct node *n = ctx;
	struct capture_flow_priv *p = n->f.priv;
	struct capture_event ev;

	flush_held(n);
	n->f.tls.ccs[p->dir] = true;
	ev_init(&ev, CAPTURE_EV_CCS, &n->f, p->dir, p->ts);
	emit(n->t, &ev);
}

/* What a TLS 1.3 encrypted record most likely holds, from its content length and the phase. */
static const char *tls13_meaning(struct node *n, size_t content, enum capture_ev_type *type)
{
	struct capture_flow *f = &n->f;
	struct capture_flow_priv *p = f->priv;
	enum capture_dir d = p->dir;

	*type = CAPTURE_EV_ENCRYPTED;
	if (d == CAPTURE_C2S && !f->tls.finished[CAPTURE_C2S]) {
		if (content == 2) {
			f->tls.client_alert13 = true;
			*type = CAPTURE_EV_ENCRYPTED_ALERT;
			return "alert";
		}
		if (content == p->finished_len) {
			f->tls.finished[CAPTURE_C2S] = true;
			return "Finished";
		}
		if (f->tls.client_cert13 < 0 && content == 8) {
			f->tls.client_cert13 = 0;
			return "Certificate, empty: the device has no client certificate";
		}
		if (f->tls.client_cert13 < 0 && content == 8 + p->finished_len) {
			f->tls.client_cert13 = 0;
			f->tls.finished[CAPTURE_C2S] = true;
			return "empty Certificate and Finished";
		}
		if (f->tls.client_cert13 < 0 && content > 100) {
			f->tls.client_cert13 = 1;
			return "Certificate: the device sent a client certificate";
		}
		if (f->tls.client_cert13 == 1)
			return "CertificateVerify";
		return NULL;
	}
	if (d == CAPTURE_S2C && !f->tls.finished[CAPTURE_C2S])
		return "encrypted handshake";
	if (d == CAPTURE_S2C && !p->app_seen[CAPTURE_S2C] && content == 2) {
		f->tls.server_alert13 = true;
		f->tls.server_alert13_ts = p->ts;
		*type = CAPTURE_EV_ENCRYPTED_ALERT;
		return "alert";
	}
	*type = CAPTURE_EV_APPDATA;
	return NULL;
}

static void on_opaque(void *ctx, uint8_t ct, size_t len)
{
	struct node *n = ctx;
	struct capture_flow *f = &n->f;
	struct capture_flow_priv *p = f->priv;
	enum capture_dir d = p->dir;
	struct capture_event ev;
	enum capture_ev_type type = CAPTURE_EV_APPDATA;
	const char *meaning = NULL;
	bool inferred = false;

	flush_held(n);
	if (ct == TLS_CT_ALERT) {
		/* TLS <= 1.2 after ChangeCipherSpec: an alert we cannot read (close_notify, usually). */
		f->tls.enc_alerts[d]++;
		type = CAPTURE_EV_ENCRYPTED_ALERT;
		meaning = "alert";
	} else if (ct == TLS_CT_HANDSHAKE) {
		type = CAPTURE_EV_ENCRYPTED;
		meaning = f->tls.finished[d] ? "encrypted handshake" : "Finished";
		f->tls.finished[d] = true;
	} else if (ct == TLS_CT_APPDATA && p->dec->tls[d].tls13 && len > (size_t)p->tag_len) {
		size_t content = len - (size_t)p->tag_len - 1;

		if (f->tls.n_enc13[d] < CAPTURE_MAX_ENC)
			f->tls.enc13[d][f->tls.n_enc13[d]++] = (uint32_t)content;
		meaning = tls13_meaning(n, content, &type);
		inferred = meaning && type != CAPTURE_EV_APPDATA && strcmp(meaning, "encrypted handshake");
	} else if (ct == TLS_CT_HEARTBEAT) {
		return;
	}
	if (type == CAPTURE_EV_APPDATA) {
		f->tls.app_records[d]++;
		f->tls.app_bytes[d] += len;
		if (p->app_seen[d])
			return;  /* the first record of application data gets a line; the rest are counted */
		p->app_seen[d] = true;
	}
	ev_init(&ev, type, f, d, p->ts);
	ev.u.enc.content_type = ct;
	ev.u.enc.len = len;
	ev.u.enc.meaning = meaning;
	ev.u.enc.inferred = inferred;
	emit(n->t, &ev);
}

static const struct tlsdec_events tls_events = { on_handshake, on_alert, on_ccs, on_opaque };

/* ---- MQTT -------------------------------------------------------------------------------------- */

static int on_mqtt_packet(void *ctx, const uint8_t *pkt, size_t len)
{
	struct node *n = ctx;
	struct capture_flow *f = &n->f;
	struct capture_flow_priv *p = f->priv;
	struct capture_event ev;
	struct mqtt_pkt m;

	if (mqttdec_decode(pkt, len, f->mqtt.version, &m) != MQTTDEC_OK) {
		char what[TLSDEC_ERR_SIZE + 16];

		snprintf(what, sizeof(what), "MQTT %s", m.err);
		note_malformed(n, p->dir, p->ts, what);
		return 0;
	}
	if (m.type == MQTT_CONNECT && p->dir == CAPTURE_C2S) {
		f->mqtt.version = m.version;
		f->mqtt.connect = true;
		f->mqtt.username = m.username.p != NULL;
		f->mqtt.password = m.password.p != NULL;
	} else if (m.type == MQTT_CONNACK && p->dir == CAPTURE_S2C && !f->mqtt.connack) {
		f->mqtt.connack = true;
		f->mqtt.connack_code = m.reason;
	} else if (m.type == MQTT_PUBLISH) {
		f->mqtt.publishes[p->dir]++;
	}
	ev_init(&ev, CAPTURE_EV_MQTT, f, p->dir, p->ts);
	ev.u.mqtt = &m;
	emit(n->t, &ev);
	return 0;
}

/* ---- bytes of a direction ------------------------------------------------------------------------ */

static enum capture_proto sniff(const uint8_t *p, size_t n)
{
	if (n >= 2 && p[0] >= TLS_CT_CCS && p[0] <= TLS_CT_APPDATA && p[1] == 3)
		return CAPTURE_PROTO_TLS;
	if (n >= 1 && p[0] == TLS_CT_HANDSHAKE)
		return CAPTURE_PROTO_TLS;
	/* Every MQTT packet type but 0 and 15 (AUTH, v5 only) is plausible as a first byte. */
	if (n >= 1 && (p[0] >> 4) >= MQTT_CONNECT && (p[0] >> 4) <= MQTT_AUTH)
		return CAPTURE_PROTO_MQTT;
	return CAPTURE_PROTO_OTHER;
}

struct dir_ctx {
	struct node *n;
	enum capture_dir dir;
};

static void on_data(void *ctx, const uint8_t *data, size_t len)
{
	struct dir_ctx *dc = ctx;
	struct node *n = dc->n;
	struct capture_flow *f = &n->f;
	struct capture_flow_priv *p = f->priv;
	enum capture_dir d = dc->dir;

	if (f->proto == CAPTURE_PROTO_UNKNOWN) {
		f->proto = sniff(data, len);
		if (f->proto == CAPTURE_PROTO_TLS || f->proto == CAPTURE_PROTO_MQTT) {
			p->dec = calloc(1, sizeof(*p->dec));
			if (!p->dec) {
				f->proto = CAPTURE_PROTO_OTHER;
				return;
			}
			for (int k = 0; k < 2; k++) {
				tlsdec_stream_init(&p->dec->tls[k]);
				mqtt_stream_init(&p->dec->mq[k], n->t->o.max_mqtt_packet);
			}
		}
		if (f->proto == CAPTURE_PROTO_TLS)
			n->t->st->tls_flows++;
		else if (f->proto == CAPTURE_PROTO_MQTT)
			n->t->st->mqtt_flows++;
		else
			n->t->st->skipped++;
	}
	p->dir = d;
	if (f->proto == CAPTURE_PROTO_TLS && !f->tls.dead[d]) {
		if (tlsdec_stream_feed(&p->dec->tls[d], data, len, &tls_events, n)) {
			f->tls.dead[d] = true;
			note_malformed(n, d, p->ts, p->dec->tls[d].err);
		}
	} else if (f->proto == CAPTURE_PROTO_MQTT && !f->mqtt.dead[d]) {
		if (mqtt_stream_feed(&p->dec->mq[d], data, len, on_mqtt_packet, n, NULL) == MQTTDEC_BAD) {
			char what[TLSDEC_ERR_SIZE + 16];

			f->mqtt.dead[d] = true;
			snprintf(what, sizeof(what), "MQTT %s", p->dec->mq[d].err);
			note_malformed(n, d, p->ts, what);
		}
	}
}

static void on_gap(void *ctx, size_t missing)
{
	struct dir_ctx *dc = ctx;
	struct node *n = dc->n;
	struct capture_flow *f = &n->f;
	struct capture_flow_priv *p = f->priv;
	enum capture_dir d = dc->dir;
	struct capture_event ev;

	flush_held(n);
	f->gap_bytes[d] += missing;
	n->t->st->gap_bytes += missing;
	/* A decoder cannot find its next record or packet after a hole: stop decoding this direction. */
	if (f->proto == CAPTURE_PROTO_TLS)
		f->tls.dead[d] = true;
	else if (f->proto == CAPTURE_PROTO_MQTT)
		f->mqtt.dead[d] = true;
	ev_init(&ev, CAPTURE_EV_GAP, f, d, p->ts);
	ev.u.gap.bytes = missing;
	emit(n->t, &ev);
}

/* ---- the table ----------------------------------------------------------------------------------- */

static uint64_t key_hash(int af, const uint8_t *a, const uint8_t *b, uint16_t pa, uint16_t pb)
{
	size_t alen = af == AF_INET6 ? 16 : 4;
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)af;

	for (size_t i = 0; i < alen; i++)
		h = (h ^ a[i]) * 0x100000001b3ull;
	for (size_t i = 0; i < alen; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	h = (h ^ pa) * 0x100000001b3ull;
	h = (h ^ pb) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static void lru_unlink(struct flowtab *t, struct node *n)
{
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else
		t->lru_head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else
		t->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
}

static void lru_push(struct flowtab *t, struct node *n)
{
	n->lru_prev = t->lru_tail;
	n->lru_next = NULL;
	if (t->lru_tail)
		t->lru_tail->lru_next = n;
	else
		t->lru_head = n;
	t->lru_tail = n;
}

static void priv_free(struct capture_flow *f)
{
	struct capture_flow_priv *p = f->priv;

	if (!p)
		return;
	for (int d = 0; d < 2; d++)
		reasm_free(&p->rd[d]);
	if (p->dec) {
		for (int d = 0; d < 2; d++) {
			tlsdec_stream_free(&p->dec->tls[d]);
			mqtt_stream_free(&p->dec->mq[d]);
		}
		for (size_t i = 0; i < p->dec->held.n_certs; i++)
			cert_put(p->dec->held.certs[i]);
		free(p->dec);
	}
	free(p);
	f->priv = NULL;
}

/* Hand on what reassembly holds, then decide the flow's verdict (once). */
static void summarize(struct node *n)
{
	struct capture_flow *f = &n->f;
	struct capture_event ev;

	if (f->summarized)
		return;
	if (f->priv) {
		for (int d = 0; d < 2; d++) {
			struct dir_ctx dc = { n, (enum capture_dir)d };
			struct reasm_out out = { on_data, on_gap, &dc };

			f->priv->ts = f->last_ts;
			reasm_flush(&f->priv->rd[d], &out);
		}
		flush_held(n);
	}
	verdict_compute(f, &f->verdict);
	f->summarized = true;
	ev_init(&ev, CAPTURE_EV_FLOW_SUMMARY, f, CAPTURE_C2S, f->last_ts);
	emit(n->t, &ev);
	priv_free(f);
}

static void node_free(struct node *n)
{
	priv_free(&n->f);
	free(n->f.tls.leaf_subject);
	free(n->f.tls.leaf_issuer);
	free(n->f.tls.chain_root);
	free(n->f.tls.sni);
	free(n->f.malformed_what);
	free(n->f.verdict.reason);
	free(n);
}

static void table_remove(struct flowtab *t, struct node *n)
{
	struct node **pp = &t->buckets[n->hash & (t->n_buckets - 1)];

	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	lru_unlink(t, n);
	t->n_nodes--;
}

static void evict_oldest(struct flowtab *t)
{
	struct node *n = t->lru_head;

	if (!n)
		return;
	summarize(n);
	table_remove(t, n);
	t->st->flows_evicted++;
	node_free(n);
}

static void grow_buckets(struct flowtab *t)
{
	size_t nb = t->n_buckets * 2;
	struct node **b = calloc(nb, sizeof(*b));

	if (!b)
		return;  /* longer chains, still correct */
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct node *n = t->buckets[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = nb;
}

bool flowtab_port_wanted(const struct flowtab *t, uint16_t port)
{
	for (size_t i = 0; i < t->o.n_ports; i++)
		if (t->o.ports[i] == port)
			return true;
	return false;
}

static struct node *new_flow(struct flowtab *t, const struct net_seg *s, double ts, int af, const uint8_t *a,
			     const uint8_t *b, uint16_t pa, uint16_t pb, uint64_t h, bool src_is_a)
{
	struct node *n;
	bool src_client;
	size_t alen = af == AF_INET6 ? 16 : 4;

	while (t->n_nodes >= t->o.max_flows)
		evict_oldest(t);
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->f.priv = calloc(1, sizeof(*n->f.priv));
	if (!n->f.priv) {
		free(n);
		return NULL;
	}
	n->t = t;
	n->hash = h;
	n->af = af;
	memcpy(n->a, a, alen);
	memcpy(n->b, b, alen);
	n->pa = pa;
	n->pb = pb;
	/* The client: who sent the SYN; else who is not on an MQTT port; else who spoke first. */
	if ((s->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		src_client = true;
	else if ((s->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
		src_client = false;
	else if (flowtab_port_wanted(t, s->dport) && !flowtab_port_wanted(t, s->sport))
		src_client = true;
	else if (flowtab_port_wanted(t, s->sport) && !flowtab_port_wanted(t, s->dport))
		src_client = false;
	else
		src_client = true;
	n->client_is_a = src_client == src_is_a;
	n->f.id = ++t->next_id;
	netdec_endpoint(af, src_client ? s->src : s->dst, src_client ? s->sport : s->dport, n->f.client,
			sizeof(n->f.client));
	netdec_endpoint(af, src_client ? s->dst : s->src, src_client ? s->dport : s->sport, n->f.server,
			sizeof(n->f.server));
	n->f.client_port = src_client ? s->sport : s->dport;
	n->f.server_port = src_client ? s->dport : s->sport;
	snprintf(n->f.name, sizeof(n->f.name), "%s->%s", n->f.client, n->f.server);
	n->f.first_ts = n->f.last_ts = ts;
	n->f.syn = (s->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
	n->f.synack = (s->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK);
	n->f.tls.client_certs = -1;
	n->f.tls.client_cert13 = -1;
	n->f.tls.leaf_matches_sni = -1;
	n->f.priv->node = n;
	n->f.priv->tag_len = 16;
	n->f.priv->finished_len = 36;
	n->hnext = t->buckets[h & (t->n_buckets - 1)];
	t->buckets[h & (t->n_buckets - 1)] = n;
	t->n_nodes++;
	lru_push(t, n);
	t->st->flows++;
	if (t->n_nodes > t->n_buckets)
		grow_buckets(t);
	{
		struct capture_event ev;

		ev_init(&ev, CAPTURE_EV_FLOW_OPEN, &n->f, src_client ? CAPTURE_C2S : CAPTURE_S2C, ts);
		emit(t, &ev);
	}
	return n;
}

static void close_event(struct node *n, enum capture_dir d, double ts)
{
	struct capture_event ev;

	flush_held(n);
	ev_init(&ev, CAPTURE_EV_FLOW_CLOSE, &n->f, d, ts);
	emit(n->t, &ev);
}

void flowtab_segment(struct flowtab *t, double ts, const struct net_seg *s)
{
	size_t alen = s->af == AF_INET6 ? 16 : 4;
	int c = memcmp(s->src, s->dst, alen);
	bool src_is_a = c < 0 || (c == 0 && s->sport <= s->dport);
	const uint8_t *a = src_is_a ? s->src : s->dst, *b = src_is_a ? s->dst : s->src;
	uint16_t pa = src_is_a ? s->sport : s->dport, pb = src_is_a ? s->dport : s->sport;
	uint64_t h = key_hash(s->af, a, b, pa, pb);
	struct node *n;
	struct capture_flow *f;
	struct capture_flow_priv *p;
	enum capture_dir d;

	for (n = t->buckets[h & (t->n_buckets - 1)]; n; n = n->hnext)
		if (n->hash == h && n->af == s->af && n->pa == pa && n->pb == pb && !memcmp(n->a, a, alen) &&
		    !memcmp(n->b, b, alen))
			break;
	if (n && n->f.closed && (s->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		/* The same ports again after the old flow ended: a new connection. */
		summarize(n);
		table_remove(t, n);
		node_free(n);
		n = NULL;
	}
	if (!n) {
		n = new_flow(t, s, ts, s->af, a, b, pa, pb, h, src_is_a);
		if (!n)
			return;
	} else {
		lru_unlink(t, n);
		lru_push(t, n);
	}
	f = &n->f;
	d = (src_is_a == n->client_is_a) ? CAPTURE_C2S : CAPTURE_S2C;
	f->last_ts = ts;
	f->packets[d]++;
	f->bytes[d] += s->len;
	if (s->caplen < s->len)
		t->st->truncated++;
	if ((s->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN && d == CAPTURE_C2S)
		f->syn = true;
	if ((s->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && d == CAPTURE_S2C)
		f->synack = true;
	p = f->priv;
	if (!p)
		return;  /* closed and summarized: late packets only count */
	p->ts = ts;
	{
		struct dir_ctx dc = { n, d };
		struct reasm_out out = { on_data, on_gap, &dc };
		uint64_t dup = p->rd[d].dup_bytes, ooo = p->rd[d].ooo_segs;

		if (!(s->flags & TCP_RST))
			reasm_segment(&p->rd[d], &t->lim, s->seq, s->flags & TCP_SYN, s->flags & TCP_FIN, s->payload,
				      s->caplen, s->len, &out);
		t->st->dup_bytes += p->rd[d].dup_bytes - dup;
		t->st->ooo_segs += p->rd[d].ooo_segs - ooo;
	}
	if ((s->flags & TCP_FIN) && !f->fin[d]) {
		f->fin[d] = true;
		f->fin_ts[d] = ts;
		close_event(n, d, ts);
	}
	if ((s->flags & TCP_RST) && !f->rst[d]) {
		f->rst[d] = true;
		f->rst_ts[d] = ts;
		close_event(n, d, ts);
	}
	if (!f->closed && ((f->fin[0] && f->fin[1]) || f->rst[0] || f->rst[1])) {
		f->closed = true;
		/* Both directions are done: decide now and free the decoders; the summary is emitted at the end. */
		for (int k = 0; k < 2; k++) {
			struct dir_ctx dc = { n, (enum capture_dir)k };
			struct reasm_out out = { on_data, on_gap, &dc };

			reasm_flush(&p->rd[k], &out);
		}
		flush_held(n);
		verdict_compute(f, &f->verdict);
		priv_free(f);
		{
			struct capture_event ev;

			ev_init(&ev, CAPTURE_EV_FLOW_END, f, d, ts);
			emit(t, &ev);
		}
	}
}

void flowtab_malformed_frame(struct flowtab *t, double ts, const char *why)
{
	struct capture_event ev;

	t->st->malformed++;
	ev_init(&ev, CAPTURE_EV_MALFORMED, NULL, CAPTURE_C2S, ts);
	ev.u.text = why;
	emit(t, &ev);
}

struct flowtab *flowtab_new(const struct capture_opts *o, const struct capture_observer *obs,
			    struct capture_stats *stats)
{
	struct flowtab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->o = *o;
	if (!t->o.max_flows)
		t->o.max_flows = DEFAULT_MAX_FLOWS;
	if (!t->o.held_bytes)
		t->o.held_bytes = DEFAULT_HELD_BYTES;
	if (!t->o.held_segs)
		t->o.held_segs = DEFAULT_HELD_SEGS;
	if (!t->o.max_mqtt_packet)
		t->o.max_mqtt_packet = DEFAULT_MQTT_PACKET;
	if (!t->o.n_ports) {
		t->o.ports[0] = 1883;
		t->o.ports[1] = 8883;
		t->o.n_ports = 2;
	}
	t->lim.max_bytes = t->o.held_bytes;
	t->lim.max_segs = t->o.held_segs;
	if (obs)
		t->obs = *obs;
	t->st = stats;
	t->n_buckets = 1024;
	t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	return t;
}

static int by_id(const void *a, const void *b)
{
	const struct node *x = *(struct node *const *)a, *y = *(struct node *const *)b;

	return x->f.id < y->f.id ? -1 : x->f.id > y->f.id;
}

void flowtab_finish(struct flowtab *t)
{
	struct node **v;
	size_t k = 0;

	if (!t->n_nodes)
		return;
	v = malloc(t->n_nodes * sizeof(*v));
	if (!v) {
		while (t->lru_head)
			evict_oldest(t);
		return;
	}
	for (struct node *n = t->lru_head; n; n = n->lru_next)
		v[k++] = n;
	qsort(v, k, sizeof(*v), by_id);
	for (size_t i = 0; i < k; i++)
		summarize(v[i]);
	free(v);
}

void flowtab_free(struct flowtab *t)
{
	if (!t)
		return;
	while (t->lru_head) {
		struct node *n = t->lru_head;

		lru_unlink(t, n);
		node_free(n);
	}
	for (size_t i = 0; i < CERT_CACHE; i++)
		entry_free(t->cache[i]);
	free(t->buckets);
	free(t);
}
