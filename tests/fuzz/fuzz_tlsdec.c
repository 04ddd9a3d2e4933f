/*
 * libFuzzer: the TLS record layer over a stream cut into random chunks, and every handshake
 * message parser on whatever messages come out of it (and on the raw input).
 *
 * Input: byte 0 picks TLS 1.3 mode and the chunk seed, the rest is one direction of a stream.
 * Invariant checked: the events are the same whatever the chunking.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/tlsdec.h"

struct log {
	uint64_t h;      /* a running hash of the events, to compare runs */
	unsigned n;
};

static void mix(struct log *l, uint64_t v)
{
	l->h = (l->h ^ v) * 0x100000001b3ull;
	l->n++;
}

static void parse_all(const uint8_t *body, size_t len)
{
	struct tls_client_hello ch;
	struct tls_server_hello sh;
	struct tls_cert_list cl;
	struct tls_cert_request cr;
	char err[TLSDEC_ERR_SIZE];

	if (!tlsdec_client_hello(body, len, &ch, err)) {
		for (size_t i = 0; i < ch.n_ciphers; i++)
			(void)tlsdec_cipher_name(ch.ciphers[i]);
		if (ch.sni.p && (ch.sni.p < body || ch.sni.p + ch.sni.len > body + len))
			abort();
	}
	if (!tlsdec_server_hello(body, len, &sh, err))
		(void)tlsdec_group_name(sh.group);
	for (int t13 = 0; t13 < 2; t13++) {
		if (!tlsdec_certificate(body, len, t13, &cl, err))
			for (size_t i = 0; i < cl.n; i++)
				if (cl.der[i].p < body || cl.der[i].p + cl.der[i].len > body + len || !cl.der[i].len)
					abort();
		(void)tlsdec_cert_request(body, len, t13, &cr, err);
	}
	(void)tlsdec_ske_group(body, len);
}

static void on_hs(void *ctx, uint8_t type, const uint8_t *body, size_t len)
{
	mix(ctx, (uint64_t)type << 32 | len);
	if (len > TLSDEC_MAX_HANDSHAKE)
		abort();
	parse_all(body, len);
}

static void on_alert(void *ctx, uint8_t level, uint8_t desc)
{
	mix(ctx, 0x100000u | (unsigned)level << 8 | desc);
	(void)tlsdec_alert_name(desc);
}

static void on_ccs(void *ctx)
{
	mix(ctx, 0x200000u);
}

static void on_opaque(void *ctx, uint8_t type, size_t len)
{
	mix(ctx, 0x300000u | (uint64_t)type << 24 | len);
}

static const struct tlsdec_events ev = { on_hs, on_alert, on_ccs, on_opaque };

static struct log run(const uint8_t *data, size_t size, bool tls13, uint32_t seed, bool *dead)
{
	struct tlsdec_stream s;
	struct log l = { 0xcbf29ce484222325ull, 0 };
	size_t off = 0;

	tlsdec_stream_init(&s);
	s.tls13 = tls13;
	while (off < size) {
		size_t n = size - off;

		if (seed) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 23;
			if (n > size - off)
				n = size - off;
		}
		if (tlsdec_stream_feed(&s, data + off, n, &ev, &l))
			break;
		off += n;
	}
	*dead = s.dead;
	if (s.hs_len > TLSDEC_MAX_HANDSHAKE + 4 || s.rec_cap > 2 * TLSDEC_MAX_RECORD)
		abort();  /* buffers stay within their caps */
	tlsdec_stream_free(&s);
	return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct log a, b;
	bool tls13, da, db;

	if (size < 1)
		return 0;
	tls13 = data[0] & 1;
	parse_all(data + 1, size - 1);
	a = run(data + 1, size - 1, tls13, 0, &da);
	b = run(data + 1, size - 1, tls13, data[0] | 1u, &db);
	if (a.h != b.h || a.n != b.n || da != db)
		abort();
	(void)tlsdec_looks_like_tls(data, size);
	return 0;
}
