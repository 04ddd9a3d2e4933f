#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "mitm-int.h"

int mitm_frame_next(struct evbuffer *in, size_t max_packet, const uint8_t **pkt, size_t *len, char *err)
{
	size_t avail = evbuffer_get_length(in), hl, total = 0;
	const uint8_t *raw;

	*pkt = NULL;
	*len = 0;
	if (avail == 0)
		return MQTTDEC_MORE;
	/* The fixed header is at most 5 bytes: that is all that is made contiguous to size the packet. */
	hl = avail < MQTT_MAX_FIXED_HEADER ? avail : MQTT_MAX_FIXED_HEADER;
	raw = evbuffer_pullup(in, (ev_ssize_t)hl);
	if (!raw)
		return MQTTDEC_MORE;
	if (mqttdec_frame(raw, hl, max_packet, NULL, &total, err) == MQTTDEC_BAD)
		return MQTTDEC_BAD;
	if (total == 0 || avail < total)
		return MQTTDEC_MORE;
	raw = evbuffer_pullup(in, (ev_ssize_t)total);
	if (!raw) {
		if (err)
			snprintf(err, MQTTDEC_ERR_SIZE, "out of memory for a %zu-byte packet", total);
		return MQTTDEC_BAD;
	}
	*pkt = raw;
	*len = total;
	return MQTTDEC_OK;
}

void mitm_framer_reset(struct mitm_framer *f)
{
	f->off = 0;
	f->p = NULL;
	f->left = 0;
}

void mitm_framer_free(struct mitm_framer *f)
{
	free(f->scratch);
	memset(f, 0, sizeof *f);
}

/* n bytes from offset off of in into the scratch buffer. */
static const uint8_t *gather(struct mitm_framer *f, struct evbuffer *in, size_t off, size_t n)
{
	struct evbuffer_ptr pos;

	if (n > f->cap) {
		size_t cap = f->cap ? f->cap : 4096;
		uint8_t *s;
		while (cap < n)
			cap *= 2;
		if (!(s = realloc(f->scratch, cap)))
			return NULL;
		f->scratch = s;
		f->cap = cap;
	}
	if (evbuffer_ptr_set(in, &pos, off, EVBUFFER_PTR_SET) < 0 ||
	    evbuffer_copyout_from(in, &pos, f->scratch, n) != (ev_ssize_t)n)
		return NULL;
	return f->scratch;
}

int mitm_framer_next(struct mitm_framer *f, struct evbuffer *in, size_t max_packet, const uint8_t **pkt,
		     size_t *len, char *err)
{
	size_t avail = evbuffer_get_length(in), hl, total = 0;
	const uint8_t *hdr, *raw;

	*pkt = NULL;
	*len = 0;
	if (f->off >= avail)
		return MQTTDEC_MORE;
	avail -= f->off;
	if (f->left == 0) {
		/* The piece of the buffer the next packet starts in. */
		struct evbuffer_ptr pos;
		struct evbuffer_iovec v;
		if (evbuffer_ptr_set(in, &pos, f->off, EVBUFFER_PTR_SET) < 0 ||
		    evbuffer_peek(in, -1, &pos, &v, 1) < 1 || v.iov_len == 0)
			return MQTTDEC_MORE;
		f->p = v.iov_base;
		f->left = v.iov_len;
	}
	hl = avail < MQTT_MAX_FIXED_HEADER ? avail : MQTT_MAX_FIXED_HEADER;
	hdr = f->left >= hl ? f->p : gather(f, in, f->off, hl);
	if (!hdr)
		goto oom;
	if (mqttdec_frame(hdr, hl, max_packet, NULL, &total, err) == MQTTDEC_BAD)
		return MQTTDEC_BAD;
	if (total == 0 || avail < total)
		return MQTTDEC_MORE;
	if (f->left >= total) {
		/* Wholly inside this piece: framed where it lies, no copy. */
		raw = f->p;
		f->p += total;
		f->left -= total;
	} else {
		/* It straddles two pieces: gathered into scratch; the next packet starts in a new piece. */
		if (!(raw = gather(f, in, f->off, total)))
			goto oom;
		f->p = NULL;
		f->left = 0;
	}
	f->off += total;
	*pkt = raw;
	*len = total;
	return MQTTDEC_OK;
oom:
	if (err)
		snprintf(err, MQTTDEC_ERR_SIZE, "out of memory for a %zu-byte packet", total ? total : hl);
	return MQTTDEC_BAD;
}

void mitm_framer_forward(struct mitm_framer *f, struct evbuffer *in, struct evbuffer *out)
{
	struct evbuffer_iovec v;
	size_t n = f->off;

	mitm_framer_reset(f);
	if (n == 0)
		return;
	if (!out) {
		evbuffer_drain(in, n);
		return;
	}
	/* One contiguous copy: the packets go out back to back, in as few TLS records as possible. */
	if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) == 1 && v.iov_len >= n) {
		int got = evbuffer_remove(in, v.iov_base, n);   /* n is never more than in holds */
		v.iov_len = got > 0 ? (size_t)got : 0;
		evbuffer_commit_space(out, &v, 1);
		return;
	}
	evbuffer_remove_buffer(in, out, n);
}
