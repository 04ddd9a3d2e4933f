/*
 * reasm — TCP reassembly of one direction (see reasm.h).
 *
 * Sequence numbers are compared as serial numbers (the signed 32-bit difference), so a
 * flow that wraps past 2^32 keeps its order.
 */
#include <stdlib.h>
#include <string.h>

#include "mqttls/reasm.h"

struct reasm_seg {
	struct reasm_seg *next;
	uint32_t seq;
	size_t len;        /* on the wire */
	size_t caplen;     /* of it held in data[] */
	uint8_t data[];
};

/* Segments further ahead than this are not this flow's data (a forged or corrupt sequence). */
#define REASM_WINDOW (64 << 20)

static int32_t diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

/* Hand on bytes [seq, seq+len) of which the first caplen were captured; only the part at or
 * after d->next is new. */
static void deliver(struct reasm_dir *d, uint32_t seq, const uint8_t *p, size_t caplen, size_t len,
		    const struct reasm_out *out)
{
	int32_t before = diff(d->next, seq);
	size_t skip;

	if (before > 0) {
		skip = (size_t)before;
		if (skip >= len) {
			d->dup_bytes += len;
			return;
		}
		d->dup_bytes += skip;
		len -= skip;
		if (skip >= caplen) {
			caplen = 0;
		} else {
			p += skip;
			caplen -= skip;
		}
	}
	if (d->fin) {
		/* Nothing after the FIN is data. */
		int32_t room = diff(d->fin_seq, d->next);

		if (room <= 0)
			return;
		if (len > (size_t)room)
			len = (size_t)room;
		if (caplen > len)
			caplen = len;
	}
	if (caplen) {
		out->data(out->ctx, p, caplen);
		d->delivered += caplen;
	}
	if (len > caplen) {
		d->gap_bytes += len - caplen;
		out->gap(out->ctx, len - caplen);
	}
	d->next += (uint32_t)len;
	if (d->fin && d->next == d->fin_seq)
		d->closed = true;
}

/* Hand on held segments that are now in order (or overlap what was handed on). */
static void drain(struct reasm_dir *d, const struct reasm_out *out)
{
	while (d->held && diff(d->held->seq, d->next) <= 0) {
		struct reasm_seg *s = d->held;

		d->held = s->next;
		d->held_bytes -= s->caplen;
		d->held_segs--;
		deliver(d, s->seq, s->data, s->caplen, s->len, out);
		free(s);
	}
}

/* Give up on the hole before the first held segment: report it as a gap and move on. */
static void skip_hole(struct reasm_dir *d, const struct reasm_out *out)
{
	int32_t hole;

	if (!d->held)
		return;
	hole = diff(d->held->seq, d->next);
	if (hole > 0) {
		d->gap_bytes += (size_t)hole;
		out->gap(out->ctx, (size_t)hole);
		d->next = d->held->seq;
	}
	drain(d, out);
}

static void hold(struct reasm_dir *d, const struct reasm_limits *lim, uint32_t seq, const uint8_t *p,
		 size_t caplen, size_t len, const struct reasm_out *out)
{
	struct reasm_seg **pp, *s;

	d->ooo_segs++;
	/* Same start already held: a retransmission of an early segment. */
	for (pp = &d->held; *pp && diff((*pp)->seq, seq) < 0; pp = &(*pp)->next)
		;
	if (*pp && (*pp)->seq == seq && (*pp)->len >= len) {
		d->dup_bytes += len;
		return;
	}
	while (d->held && (d->held_bytes + caplen > lim->max_bytes || d->held_segs + 1 > lim->max_segs)) {
		skip_hole(d, out);
		if (diff(seq, d->next) <= 0) {
			deliver(d, seq, p, caplen, len, out);
			drain(d, out);
			return;
		}
	}
	if (caplen > lim->max_bytes) {
		/* Larger than the whole budget on its own: everything before it is lost, it is next. */
		d->gap_bytes += (size_t)diff(seq, d->next);
		out->gap(out->ctx, (size_t)diff(seq, d->next));
		d->next = seq;
		deliver(d, seq, p, caplen, len, out);
		drain(d, out);
		return;
	}
	s = malloc(sizeof(*s) + caplen);
	if (!s) {
		d->gap_bytes += len;
		return;
	}
	s->seq = seq;
	s->len = len;
	s->caplen = caplen;
	if (caplen)
		memcpy(s->data, p, caplen);
	for (pp = &d->held; *pp && diff((*pp)->seq, seq) <= 0; pp = &(*pp)->next)
		;
	s->next = *pp;
	*pp = s;
	d->held_bytes += caplen;
	d->held_segs++;
}

void reasm_segment(struct reasm_dir *d, const struct reasm_limits *lim, uint32_t seq, bool syn, bool fin,
		   const uint8_t *payload, size_t caplen, size_t len, const struct reasm_out *out)
{
	if (caplen > len)
		caplen = len;
	if (syn) {
		if (!d->syn || !d->started) {
			d->syn = true;
			d->started = true;
			d->next = seq + 1;
		}
		seq++;  /* data on a SYN starts after it */
	} else if (!d->started) {
		if (!len && !fin)
			return;  /* a pure ACK says nothing about where this direction's data starts */
		d->started = true;
		d->next = seq;
	}
	if (fin && !d->fin) {
		d->fin = true;
		d->fin_seq = seq + (uint32_t)len;
		if (d->next == d->fin_seq)
			d->closed = true;
	}
	if (!len) {
		drain(d, out);
		return;
	}
	if (diff(seq, d->next) <= 0) {
		deliver(d, seq, payload, caplen, len, out);
		drain(d, out);
	} else if (diff(seq, d->next) > REASM_WINDOW) {
		d->oow_segs++;  /* nowhere near this flow's bytes: not trusted as data */
	} else {
		hold(d, lim, seq, payload, caplen, len, out);
	}
}

void reasm_flush(struct reasm_dir *d, const struct reasm_out *out)
{
	while (d->held)
		skip_hole(d, out);
}

void reasm_free(struct reasm_dir *d)
{
	while (d->held) {
		struct reasm_seg *s = d->held;

		d->held = s->next;
		free(s);
	}
	d->held_bytes = d->held_segs = 0;
}
