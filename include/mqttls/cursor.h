/*
 * cursor — checked reads from untrusted bytes (a pcap, a broker, a victim, a file).
 *
 * A struct cursor is a window (p, n) over bytes someone else owns. Every getter
 * either reads what it was asked for and advances, or fails without moving and
 * without touching its output — never a read past the end. All are MQ_WUR: a
 * parser cannot forget to check. Multi-byte getters are big-endian (network order),
 * as TLS and MQTT are.
 *
 *   struct cursor c, ext;
 *   cur_init(&c, data, len);
 *   if (!cur_get_be16(&c, &type) || !cur_sub16(&c, &ext))   // 16-bit length, then that many bytes
 *           goto malformed;
 *
 * A sub-cursor (cur_sub, cur_sub8/16/24) takes a length-delimited part of its parent,
 * so an inner length can never run past its parent's end: lengths that "overflow their
 * parent" fail at the sub-cursor, not somewhere later.
 */
#ifndef MQTTLS_CURSOR_H
#define MQTTLS_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "attrib.h"

struct cursor {
	const uint8_t *p; /* next unread byte */
	size_t n;         /* bytes left */
};

static inline void cur_init(struct cursor *c, const void *p, size_t n)
{
	c->p = (const uint8_t *)p;
	c->n = p ? n : 0;
}

/* Bytes left to read. */
static inline size_t cur_left(const struct cursor *c)
{
	return c->n;
}

static inline bool cur_empty(const struct cursor *c)
{
	return c->n == 0;
}

static inline MQ_WUR bool cur_get_u8(struct cursor *c, uint8_t *v)
{
	if (c->n < 1)
		return false;
	*v = c->p[0];
	c->p++;
	c->n--;
	return true;
}

static inline MQ_WUR bool cur_get_be16(struct cursor *c, uint16_t *v)
{
	if (c->n < 2)
		return false;
	*v = (uint16_t)((unsigned)c->p[0] << 8 | c->p[1]);
	c->p += 2;
	c->n -= 2;
	return true;
}

static inline MQ_WUR bool cur_get_be24(struct cursor *c, uint32_t *v)
{
	if (c->n < 3)
		return false;
	*v = (uint32_t)c->p[0] << 16 | (uint32_t)c->p[1] << 8 | c->p[2];
	c->p += 3;
	c->n -= 3;
	return true;
}

static inline MQ_WUR bool cur_get_be32(struct cursor *c, uint32_t *v)
{
	if (c->n < 4)
		return false;
	*v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 | (uint32_t)c->p[2] << 8 | c->p[3];
	c->p += 4;
	c->n -= 4;
	return true;
}

/* Point *out at the next len bytes (no copy; they live as long as the underlying buffer). */
static inline MQ_WUR bool cur_get_bytes(struct cursor *c, size_t len, const uint8_t **out)
{
	if (c->n < len)
		return false;
	*out = c->p;
	c->p += len;
	c->n -= len;
	return true;
}

/* Copy the next len bytes into dst. */
static inline MQ_WUR bool cur_copy(struct cursor *c, void *dst, size_t len)
{
	if (c->n < len)
		return false;
	if (len)
		memcpy(dst, c->p, len);
	c->p += len;
	c->n -= len;
	return true;
}

static inline MQ_WUR bool cur_skip(struct cursor *c, size_t len)
{
	if (c->n < len)
		return false;
	c->p += len;
	c->n -= len;
	return true;
}

/* Take the next len bytes as *sub and advance past them. */
static inline MQ_WUR bool cur_sub(struct cursor *c, size_t len, struct cursor *sub)
{
	if (c->n < len)
		return false;
	sub->p = c->p;
	sub->n = len;
	c->p += len;
	c->n -= len;
	return true;
}

/* A length-prefixed part (TLS "opaque x<0..2^8-1>" and friends): the prefix, then cur_sub. */
static inline MQ_WUR bool cur_sub8(struct cursor *c, struct cursor *sub)
{
	struct cursor save = *c;
	uint8_t len;

	if (!cur_get_u8(c, &len) || !cur_sub(c, len, sub)) {
		*c = save;
		return false;
	}
	return true;
}

static inline MQ_WUR bool cur_sub16(struct cursor *c, struct cursor *sub)
{
	struct cursor save = *c;
	uint16_t len;

	if (!cur_get_be16(c, &len) || !cur_sub(c, len, sub)) {
		*c = save;
		return false;
	}
	return true;
}

static inline MQ_WUR bool cur_sub24(struct cursor *c, struct cursor *sub)
{
	struct cursor save = *c;
	uint32_t len;

	if (!cur_get_be24(c, &len) || !cur_sub(c, len, sub)) {
		*c = save;
		return false;
	}
	return true;
}

/* Take everything left (a payload that runs to the end); *len may be 0. Cannot fail. */
static inline const uint8_t *cur_rest(struct cursor *c, size_t *len)
{
	const uint8_t *p = c->p;

	*len = c->n;
	c->p += c->n;
	c->n = 0;
	return p;
}

/* Peek without advancing. */
static inline MQ_WUR bool cur_peek_u8(const struct cursor *c, uint8_t *v)
{
	if (c->n < 1)
		return false;
	*v = c->p[0];
	return true;
}

#endif
