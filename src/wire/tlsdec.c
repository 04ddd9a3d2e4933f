/*
 * tlsdec — the TLS record layer and handshake message parsers for passive capture
 * (see tlsdec.h). Names of suites, groups, algorithms and alerts are in tlsnames.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/cursor.h"
#include "mqttls/tlsdec.h"

#define FAIL(...) do { if (err) snprintf(err, TLSDEC_ERR_SIZE, __VA_ARGS__); return -1; } while (0)

enum {
	EXT_SERVER_NAME = 0,
	EXT_MAX_FRAGMENT_LENGTH = 1,
	EXT_STATUS_REQUEST = 5,
	EXT_SUPPORTED_GROUPS = 10,
	EXT_SIGNATURE_ALGORITHMS = 13,
	EXT_ALPN = 16,
	EXT_EXTENDED_MASTER_SECRET = 23,
	EXT_SESSION_TICKET = 35,
	EXT_PRE_SHARED_KEY = 41,
	EXT_EARLY_DATA = 42,
	EXT_SUPPORTED_VERSIONS = 43,
	EXT_CERTIFICATE_AUTHORITIES = 47,
	EXT_SIGNATURE_ALGORITHMS_CERT = 50,
	EXT_KEY_SHARE = 51,
};

/* SHA-256 of "HelloRetryRequest": a ServerHello with this random is a HelloRetryRequest (RFC 8446 4.1.3). */
static const uint8_t hrr_random[32] = {
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

bool tlsdec_is_grease(uint16_t v)
{
	return (v & 0x0F0F) == 0x0A0A && (v >> 8) == (v & 0xFF);
}

/* A list of 16-bit values (an inner length-prefixed vector); GREASE dropped, the rest kept up to cap. */
static int get_u16_list(struct cursor *c, uint16_t *out, size_t cap, size_t *n, size_t *total, const char *what,
			char *err)
{
	struct cursor l;

	if (!cur_sub16(c, &l))
		FAIL("%s: list length runs past its extension", what);
	if (cur_left(&l) % 2)
		FAIL("%s: odd list length %zu", what, cur_left(&l));
	*n = 0;
	if (total)
		*total = 0;
	while (!cur_empty(&l)) {
		uint16_t v;

		if (!cur_get_be16(&l, &v))
			FAIL("%s: truncated", what);
		if (tlsdec_is_grease(v))
			continue;
		if (total)
			(*total)++;
		if (*n < cap)
			out[(*n)++] = v;
	}
	return 0;
}

static int ch_extension(uint16_t type, struct cursor *d, struct tls_client_hello *ch, char *err)
{
	struct cursor l, name;
	uint8_t b;
	uint16_t w;

	switch (type) {
	case EXT_SERVER_NAME:
		if (!cur_sub16(d, &l))
			FAIL("server_name: list length runs past its extension");
		while (!cur_empty(&l)) {
			if (!cur_get_u8(&l, &b) || !cur_sub16(&l, &name))
				FAIL("server_name: entry runs past its list");
			if (b == 0 && !ch->sni.p) {
				ch->sni.p = name.p ? name.p : (const uint8_t *)"";
				ch->sni.len = name.n;
			}
		}
		break;
	case EXT_MAX_FRAGMENT_LENGTH:
		if (!cur_get_u8(d, &b))
			FAIL("max_fragment_length: empty");
		if (b >= 1 && b <= 4)
			ch->max_fragment_length = 256u << b;
		break;
	case EXT_SUPPORTED_GROUPS:
		return get_u16_list(d, ch->groups, TLS_MAX_GROUPS, &ch->n_groups, NULL, "supported_groups", err);
	case EXT_SIGNATURE_ALGORITHMS:
		return get_u16_list(d, ch->sigalgs, TLS_MAX_SIGALGS, &ch->n_sigalgs, NULL, "signature_algorithms", err);
	case EXT_ALPN:
		if (!cur_sub16(d, &l))
			FAIL("ALPN: list length runs past its extension");
		while (!cur_empty(&l)) {
			if (!cur_sub8(&l, &name))
				FAIL("ALPN: protocol name runs past its list");
			if (ch->n_alpn < TLS_MAX_ALPN)
				ch->alpn[ch->n_alpn++] = (struct tls_bytes){ name.p, name.n };
		}
		break;
	case EXT_SUPPORTED_VERSIONS:
		if (!cur_sub8(d, &l) || cur_left(&l) % 2)
			FAIL("supported_versions: bad list length");
		ch->has_supported_versions = true;
		ch->n_versions = 0;
		while (cur_get_be16(&l, &w))
			if (!tlsdec_is_grease(w) && ch->n_versions < TLS_MAX_VERSIONS)
				ch->versions[ch->n_versions++] = w;
		break;
	case EXT_KEY_SHARE:
		if (!cur_sub16(d, &l))
			FAIL("key_share: list length runs past its extension");
		while (!cur_empty(&l)) {
			struct cursor key;

			if (!cur_get_be16(&l, &w) || !cur_sub16(&l, &key))
				FAIL("key_share: entry runs past its list");
			if (!tlsdec_is_grease(w) && ch->n_key_shares < TLS_MAX_GROUPS)
				ch->key_shares[ch->n_key_shares++] = w;
		}
		break;
	case EXT_STATUS_REQUEST:
		ch->has_status_request = true;
		return 0;
	case EXT_SESSION_TICKET:
		ch->has_session_ticket = true;
		return 0;
	case EXT_PRE_SHARED_KEY:
		ch->has_psk = true;
		return 0;
	case EXT_EARLY_DATA:
		ch->has_early_data = true;
		return 0;
	default:
		return 0;  /* not needed: its length was already checked against its parent */
	}
	if (!cur_empty(d))
		FAIL("extension %u: %zu bytes left after its content", type, cur_left(d));
	return 0;
}

/* Walk an extensions block; fn reads one extension's data. Counts them into *n. */
static int walk_extensions(struct cursor *c, size_t *n, char *err,
			   int (*fn)(uint16_t type, struct cursor *d, void *arg, char *err), void *arg)
{
	struct cursor exts;

	if (cur_empty(c))
		return 0;  /* no extensions block at all (old clients) */
	if (!cur_sub16(c, &exts))
		FAIL("extensions length runs past the message");
	if (!cur_empty(c))
		FAIL("%zu bytes after the extensions", cur_left(c));
	while (!cur_empty(&exts)) {
		uint16_t type;
		struct cursor d;

		if (!cur_get_be16(&exts, &type) || !cur_sub16(&exts, &d))
			FAIL("extension overflows the extensions block");
		(*n)++;
		if (fn(type, &d, arg, err))
			return -1;
	}
	return 0;
}

static int ch_ext_cb(uint16_t type, struct cursor *d, void *arg, char *err)
{
	return ch_extension(type, d, arg, err);
}

int tlsdec_client_hello(const uint8_t *body, size_t len, struct tls_client_hello *ch, char *err)
{
	struct cursor c, sid, suites, comp;

	memset(ch, 0, sizeof(*ch));
	cur_init(&c, body, len);
	if (!cur_get_be16(&c, &ch->legacy_version) || !cur_skip(&c, 32))
		FAIL("ClientHello: truncated before its random");
	if (!cur_sub8(&c, &sid) || cur_left(&sid) > 32)
		FAIL("ClientHello: bad session id");
	if (!cur_sub16(&c, &suites) || cur_left(&suites) % 2 || cur_empty(&suites))
		FAIL("ClientHello: bad cipher suite list");
	while (!cur_empty(&suites)) {
		uint16_t s;

		if (!cur_get_be16(&suites, &s))
			FAIL("ClientHello: truncated cipher suite");
		if (s == 0x00FF) {
			ch->renegotiation_scsv = true;
			continue;
		}
		if (s == 0x5600) {
			ch->fallback_scsv = true;
			continue;
		}
		if (tlsdec_is_grease(s))
			continue;
		ch->n_ciphers_total++;
		if (ch->n_ciphers < TLS_MAX_CIPHERS)
			ch->ciphers[ch->n_ciphers++] = s;
	}
	if (!cur_sub8(&c, &comp) || cur_empty(&comp))
		FAIL("ClientHello: bad compression method list");
	if (walk_extensions(&c, &ch->n_extensions, err, ch_ext_cb, ch))
		return -1;
	if (!ch->has_supported_versions || ch->n_versions == 0) {
		ch->versions[0] = ch->legacy_version;
		ch->n_versions = 1;
	}
	return 0;
}

static int sh_ext_cb(uint16_t type, struct cursor *d, void *arg, char *err)
{
	struct tls_server_hello *sh = arg;
	struct cursor l, name, key;
	uint8_t b;

	switch (type) {
	case EXT_SUPPORTED_VERSIONS:
		if (!cur_get_be16(d, &sh->version))
			FAIL("supported_versions: empty");
		break;
	case EXT_KEY_SHARE:
		if (!cur_get_be16(d, &sh->group))
			FAIL("key_share: empty");
		if (!sh->hello_retry && !cur_sub16(d, &key))
			FAIL("key_share: key runs past its extension");
		break;
	case EXT_ALPN:
		if (!cur_sub16(d, &l) || !cur_sub8(&l, &name) || !cur_empty(&l))
			FAIL("ALPN: not exactly one protocol");
		sh->alpn = (struct tls_bytes){ name.p, name.n };
		break;
	case EXT_MAX_FRAGMENT_LENGTH:
		if (!cur_get_u8(d, &b))
			FAIL("max_fragment_length: empty");
		if (b >= 1 && b <= 4)
			sh->max_fragment_length = 256u << b;
		break;
	case EXT_EXTENDED_MASTER_SECRET:
		sh->extended_master_secret = true;
		return 0;
	default:
		return 0;
	}
	if (!cur_empty(d))
		FAIL("extension %u: %zu bytes left after its content", type, cur_left(d));
	return 0;
}

int tlsdec_server_hello(const uint8_t *body, size_t len, struct tls_server_hello *sh, char *err)
{
	struct cursor c, sid;
	const uint8_t *random;
	uint8_t comp;

	memset(sh, 0, sizeof(*sh));
	cur_init(&c, body, len);
	if (!cur_get_be16(&c, &sh->legacy_version) || !cur_get_bytes(&c, 32, &random))
		FAIL("ServerHello: truncated before its random");
	sh->hello_retry = !memcmp(random, hrr_random, 32);
	if (!cur_sub8(&c, &sid) || cur_left(&sid) > 32)
		FAIL("ServerHello: bad session id");
	if (!cur_get_be16(&c, &sh->cipher) || !cur_get_u8(&c, &comp))
		FAIL("ServerHello: truncated cipher suite or compression");
	if (walk_extensions(&c, &sh->n_extensions, err, sh_ext_cb, sh))
		return -1;
	if (!sh->version)
		sh->version = sh->legacy_version;
	return 0;
}

int tlsdec_certificate(const uint8_t *body, size_t len, bool tls13, struct tls_cert_list *out, char *err)
{
	struct cursor c, list, ctx;

	memset(out, 0, sizeof(*out));
	cur_init(&c, body, len);
	if (tls13 && !cur_sub8(&c, &ctx))
		FAIL("Certificate: request context runs past the message");
	if (!cur_sub24(&c, &list))
		FAIL("Certificate: list length %s", cur_left(&c) < 3 ? "missing" : "runs past the message");
	if (!cur_empty(&c))
		FAIL("Certificate: %zu bytes after the certificate list", cur_left(&c));
	while (!cur_empty(&list)) {
		struct cursor cert, exts;

		if (!cur_sub24(&list, &cert))
			FAIL("Certificate: certificate %zu overflows the list (lengths do not add up)", out->n_total + 1);
		if (cur_empty(&cert))
			FAIL("Certificate: certificate %zu is empty", out->n_total + 1);
		if (tls13 && !cur_sub16(&list, &exts))
			FAIL("Certificate: extensions of certificate %zu overflow the list", out->n_total + 1);
		if (out->n < TLS_MAX_CERTS)
			out->der[out->n++] = (struct tls_bytes){ cert.p, cert.n };
		out->n_total++;
	}
	return 0;
}

int tlsdec_cert_request(const uint8_t *body, size_t len, bool tls13, struct tls_cert_request *out, char *err)
{
	struct cursor c, types, cas;

	memset(out, 0, sizeof(*out));
	cur_init(&c, body, len);
	if (tls13) {
		/* The TLS 1.3 form only travels encrypted; keep what its extensions say if ever given one. */
		struct cursor ctx;

		if (!cur_sub8(&c, &ctx))
			FAIL("CertificateRequest: context runs past the message");
		return 0;
	}
	if (!cur_sub8(&c, &types) || cur_empty(&types))
		FAIL("CertificateRequest: bad certificate type list");
	if (get_u16_list(&c, out->sigalgs, TLS_MAX_SIGALGS, &out->n_sigalgs, NULL, "CertificateRequest", err))
		return -1;
	if (!cur_sub16(&c, &cas))
		FAIL("CertificateRequest: CA list runs past the message");
	while (!cur_empty(&cas)) {
		struct cursor dn;

		if (!cur_sub16(&cas, &dn))
			FAIL("CertificateRequest: CA name overflows its list");
		if (out->n_cas < TLS_MAX_CAS)
			out->cas[out->n_cas++] = (struct tls_bytes){ dn.p, dn.n };
		out->n_cas_total++;
	}
	if (!cur_empty(&c))
		FAIL("CertificateRequest: %zu bytes after the CA list", cur_left(&c));
	return 0;
}

uint16_t tlsdec_ske_group(const uint8_t *body, size_t len)
{
	struct cursor c;
	uint8_t curve_type;
	uint16_t group;

	cur_init(&c, body, len);
	/* ECParameters: curve_type named_curve (3), then the group. */
	if (!cur_get_u8(&c, &curve_type) || curve_type != 3 || !cur_get_be16(&c, &group))
		return 0;
	return group;
}

bool tlsdec_looks_like_tls(const uint8_t *p, size_t n)
{
	size_t len;

	if (n < 5 || (p[0] != TLS_CT_HANDSHAKE && p[0] != TLS_CT_ALERT) || p[1] != 3 || p[2] > 4)
		return false;
	len = (size_t)p[3] << 8 | p[4];
	return len > 0 && len <= TLSDEC_MAX_RECORD;
}

/* ---- the record layer ---------------------------------------------------------------------- */

void tlsdec_stream_init(struct tlsdec_stream *s)
{
	memset(s, 0, sizeof(*s));
}

void tlsdec_stream_free(struct tlsdec_stream *s)
{
	if (!s)
		return;
	free(s->rec);
	free(s->hs);
	s->rec = s->hs = NULL;
	s->rec_cap = s->hs_cap = 0;
}

static int dead(struct tlsdec_stream *s, const char *fmt, ...) MQ_PRINTF(2, 3);
static int dead(struct tlsdec_stream *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->dead) {
		va_start(ap, fmt);
		vsnprintf(s->err, sizeof(s->err), fmt, ap);
		va_end(ap);
	}
	s->dead = true;
	return -1;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	size_t nc = *cap ? *cap : 512;
	uint8_t *nb;

	if (need <= *cap)
		return 0;
	while (nc < need)
		nc *= 2;
	nb = realloc(*buf, nc);
	if (!nb)
		return -1;
	*buf = nb;
	*cap = nc;
	return 0;
}

/* Deliver every whole handshake message in p[0..n); returns how many bytes were used, or -1. */
static long hs_messages(struct tlsdec_stream *s, const uint8_t *p, size_t n, const struct tlsdec_events *ev,
			void *ctx)
{
	size_t off = 0;

	while (n - off >= 4) {
		size_t mlen = (size_t)p[off + 1] << 16 | (size_t)p[off + 2] << 8 | p[off + 3];

		if (mlen > TLSDEC_MAX_HANDSHAKE)
			return dead(s, "%s message of %zu bytes is over the %d-byte limit",
				    tlsdec_handshake_name(p[off]) ? tlsdec_handshake_name(p[off]) : "handshake", mlen,
				    TLSDEC_MAX_HANDSHAKE);
		if (n - off - 4 < mlen)
			break;
		if (ev->handshake)
			ev->handshake(ctx, p[off], p + off + 4, mlen);
		off += 4 + mlen;
	}
	return (long)off;
}

static int on_handshake_record(struct tlsdec_stream *s, const uint8_t *p, size_t n, const struct tlsdec_events *ev,
			       void *ctx)
{
	long used;

	if (s->hs_len == 0) {
		/* Common case: whole messages inside the record, read in place. */
		used = hs_messages(s, p, n, ev, ctx);
		if (used < 0)
			return -1;
		p += used;
		n -= (size_t)used;
		if (n == 0)
			return 0;
	}
	if (grow(&s->hs, &s->hs_cap, s->hs_len + n))
		return dead(s, "out of memory");
	memcpy(s->hs + s->hs_len, p, n);
	s->hs_len += n;
	used = hs_messages(s, s->hs, s->hs_len, ev, ctx);
	if (used < 0)
		return -1;
	memmove(s->hs, s->hs + used, s->hs_len - (size_t)used);
	s->hs_len -= (size_t)used;
	/* A message still incomplete can only grow to the cap (checked in hs_messages on its header). */
	return 0;
}

static int on_record(struct tlsdec_stream *s, const uint8_t *p, size_t n, const struct tlsdec_events *ev, void *ctx)
{
	switch (s->type) {
	case TLS_CT_CCS:
		if (n != 1 || p[0] != 1)
			return dead(s, "ChangeCipherSpec record of %zu bytes", n);
		if (ev->ccs)
			ev->ccs(ctx);
		if (!s->tls13)
			s->ciphered = true;
		return 0;
	case TLS_CT_ALERT:
		if (n % 2)
			return dead(s, "alert record of %zu bytes", n);
		for (size_t i = 0; i < n; i += 2)
			if (ev->alert)
				ev->alert(ctx, p[i], p[i + 1]);
		return 0;
	case TLS_CT_HANDSHAKE:
		return on_handshake_record(s, p, n, ev, ctx);
	default:
		return 0;
	}
}

static int record_header(struct tlsdec_stream *s, const struct tlsdec_events *ev, void *ctx)
{
	const uint8_t *h = s->hdr;

	s->type = h[0];
	s->rec_len = (size_t)h[3] << 8 | h[4];
	s->rec_got = 0;
	if (s->type < TLS_CT_CCS || s->type > TLS_CT_HEARTBEAT)
		return dead(s, "not TLS: record content type %u", s->type);
	if (h[1] != 3 || h[2] > 4)
		return dead(s, "not TLS: record version %u.%u", h[1], h[2]);
	if (s->rec_len > TLSDEC_MAX_RECORD)
		return dead(s, "record of %zu bytes is over the TLS limit of %d", s->rec_len, TLSDEC_MAX_RECORD);
	if (s->rec_len == 0 && s->type != TLS_CT_APPDATA)
		return dead(s, "empty %s record", s->type == TLS_CT_HANDSHAKE ? "handshake" : "non-data");
	if (!s->records++)
		s->record_version = (uint16_t)(h[1] << 8 | h[2]);
	s->rec_opaque = s->type == TLS_CT_APPDATA || s->type == TLS_CT_HEARTBEAT ||
			(s->ciphered && (s->type == TLS_CT_HANDSHAKE || s->type == TLS_CT_ALERT));
	if (s->rec_opaque && ev->opaque)
		ev->opaque(ctx, s->type, s->rec_len);
	return 0;
}

int tlsdec_stream_feed(struct tlsdec_stream *s, const uint8_t *data, size_t len, const struct tlsdec_events *ev,
		       void *ctx)
{
	size_t off = 0;

	if (s->dead)
		return -1;
	while (off < len) {
		size_t n;

		if (s->hdr_len < 5) {
			n = 5 - s->hdr_len;
			if (n > len - off)
				n = len - off;
			memcpy(s->hdr + s->hdr_len, data + off, n);
			s->hdr_len += n;
			off += n;
			if (s->hdr_len < 5)
				break;
			if (record_header(s, ev, ctx))
				return -1;
		}
		n = s->rec_len - s->rec_got;
		if (n > len - off)
			n = len - off;
		if (s->rec_opaque) {
			s->rec_got += n;
		} else if (s->rec_got == 0 && n == s->rec_len) {
			s->rec_got = n;
			if (on_record(s, data + off, n, ev, ctx))
				return -1;
		} else if (n) {
			if (grow(&s->rec, &s->rec_cap, s->rec_got + n))
				return dead(s, "out of memory");
			memcpy(s->rec + s->rec_got, data + off, n);
			s->rec_got += n;
			if (s->rec_got == s->rec_len && on_record(s, s->rec, s->rec_len, ev, ctx))
				return -1;
		}
		off += n;
		if (s->rec_got == s->rec_len)
			s->hdr_len = 0;
	}
	return 0;
}
