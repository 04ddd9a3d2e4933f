/*
 * reasm — TCP reassembly of one direction of a flow, enough for TLS records and MQTT packets
 * that span segments.
 *
 * In-order bytes are handed on in place (no copy); out-of-order segments are copied and held,
 * within caps on bytes and segments; retransmitted bytes are dropped; sequence numbers wrap.
 * When the caps are reached, or the flow ends with a hole, the hole is reported as a gap of
 * N bytes and never handed on as data. Bytes a snaplen cut off are a gap too. A direction
 * whose SYN was not captured starts at its first data segment.
 */
#ifndef MQTTLS_REASM_H
#define MQTTLS_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reasm_seg;

struct reasm_limits {
	size_t max_bytes;   /* held out-of-order bytes per direction */
	size_t max_segs;    /* held out-of-order segments per direction */
};

struct reasm_dir {
	bool started;       /* the next sequence number is known */
	bool syn;           /* a SYN was seen */
	bool fin;           /* a FIN was seen (fin_seq valid) */
	bool closed;        /* every byte up to the FIN was handed on */
	uint32_t next;      /* the next sequence number to hand on */
	uint32_t fin_seq;
	struct reasm_seg *held;  /* out-of-order segments, in sequence order */
	size_t held_bytes, held_segs;
	uint64_t delivered;      /* bytes handed on */
	uint64_t gap_bytes;      /* bytes never seen */
	uint64_t dup_bytes;      /* retransmitted bytes dropped */
	uint64_t ooo_segs;       /* segments that arrived early */
	uint64_t oow_segs;       /* segments far outside the window, ignored */
};

struct reasm_out {
	void (*data)(void *ctx, const uint8_t *p, size_t n);  /* n > 0 */
	void (*gap)(void *ctx, size_t missing);
	void *ctx;
};

/*
 * One segment of this direction: its sequence number, flags (SYN/FIN), the captured payload
 * (caplen bytes) and its length on the wire (len >= caplen).
 */
void reasm_segment(struct reasm_dir *d, const struct reasm_limits *lim, uint32_t seq, bool syn, bool fin,
		   const uint8_t *payload, size_t caplen, size_t len, const struct reasm_out *out);

/* The flow is over: hand on what is held, with gaps for the holes between. */
void reasm_flush(struct reasm_dir *d, const struct reasm_out *out);

/* Free held segments (without handing them on). */
void reasm_free(struct reasm_dir *d);

#endif
