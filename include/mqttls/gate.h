/*
 * gate — the one place that decides where the MITM lab may listen and connect.
 *
 * Every address the MITM engine (and `mqttls device`'s lab use of it) is about to bind,
 * connect to, accept from, or has just connected to passes through gate_check(). The rules
 * (docs/mitm.md):
 *   - loopback is always allowed;
 *   - otherwise the address must lie inside a --lab-bind range, and a lab range must itself be
 *     private (RFC 1918), link-local (169.254/16, fe80::/10), ULA (fc00::/7) or loopback;
 *   - ::ffff:a.b.c.d is judged as a.b.c.d; unspecified (0.0.0.0, ::) is never allowed;
 *   - the upstream may never be the MITM's own listening address (it would relay to itself).
 * Literal addresses are parsed with inet_pton only (no inet_aton shorthand like "127.1");
 * names are resolved once, and every resolved address must pass, before any socket connects.
 */
#ifndef MQTTLS_GATE_H
#define MQTTLS_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "attrib.h"
#include "err.h"

enum gate_role {
	GATE_LISTEN,        /* about to bind the victims' listener */
	GATE_UPSTREAM,      /* about to connect to the real broker (or fetch its certificate) */
	GATE_PEER,          /* the peer a connected upstream socket actually reached */
	GATE_VICTIM,        /* a victim that just connected to the listener */
};

#define GATE_MAX_LAB 8
#define GATE_MAX_ADDRS 16

struct gate_net {
	int family;                /* AF_INET or AF_INET6 */
	unsigned char addr[16];    /* network address, host bits cleared */
	int prefix;
};

struct gate {
	struct gate_net lab[GATE_MAX_LAB];
	size_t n_lab;
	struct sockaddr_storage listen;  /* canonical (mapped addresses unwrapped) */
	bool have_listen;
	unsigned long checked, refused;  /* counters, for tests and the TUI's status line */
};

void gate_init(struct gate *g) MQ_NONNULL(1);

/*
 * Admit a --lab-bind range "ADDR/PREFIX" (a bare address is a /32 or /128). Refused unless
 * the whole range is private, link-local, ULA or loopback. Returns 0 or -1 with err set.
 */
int gate_add_lab(struct gate *g, const char *cidr, struct mq_err *err) MQ_WUR MQ_NONNULL(1, 2);

/* Record the listening address (already checked with GATE_LISTEN) for the self-relay rule. */
void gate_set_listen(struct gate *g, const struct sockaddr *sa, socklen_t len) MQ_NONNULL(1, 2);

/*
 * THE gate. 0 when role may use sa; -1 with err saying which rule refused it.
 * Counts every call and every refusal.
 */
int gate_check(struct gate *g, enum gate_role role, const struct sockaddr *sa, socklen_t len,
	       struct mq_err *err) MQ_WUR MQ_NONNULL(1, 3);

/*
 * Parse "HOST:PORT", "[V6]:PORT" or "V6ADDR" forms into host and port (port required).
 * Returns 0 or -1 with err set.
 */
int gate_split_hostport(const char *s, char *host, size_t hostsz, int *port, struct mq_err *err)
	MQ_WUR MQ_NONNULL(1, 2, 4);

/*
 * An address literal (inet_pton only, brackets allowed, ::ffff: unwrapped) into out with port.
 * Returns 0, or -1 when it is not a literal (no error message set: it may be a host name).
 */
int gate_parse_literal(const char *host, int port, struct sockaddr_storage *out, socklen_t *len);

/*
 * Resolve host (a literal or a name, TCP) and pass every address through gate_check(role).
 * All addresses must pass, or nothing is returned: a name that resolves to one lab address and
 * one public address is refused. Up to max addresses are returned, canonical, in resolver order.
 * Returns the count (>= 1) or -1 with err set. No socket is created.
 */
int gate_resolve(struct gate *g, enum gate_role role, const char *host, int port,
		 struct sockaddr_storage *out, socklen_t *lens, size_t max, struct mq_err *err)
	MQ_WUR MQ_NONNULL(1, 3, 5, 6);

/* Canonical form: an IPv4-mapped IPv6 address becomes AF_INET. Returns the new length. */
socklen_t gate_canon(const struct sockaddr *sa, socklen_t len, struct sockaddr_storage *out) MQ_NONNULL(1, 3);

/* "127.0.0.1:8883" / "[::1]:8883" into buf. Returns buf. */
char *gate_addr_str(const struct sockaddr *sa, char *buf, size_t size) MQ_NONNULL(1, 2);

/* True for loopback (after unwrapping ::ffff:). */
bool gate_is_loopback(const struct sockaddr *sa) MQ_NONNULL(1);

#endif
