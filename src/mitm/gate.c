#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/gate.h"

enum range_kind { RANGE_LOOPBACK, RANGE_PRIVATE, RANGE_LINK_LOCAL, RANGE_ULA };

/* The only address blocks a lab may use, as a table so adding one is one row. */
static const struct {
	int family;
	unsigned char addr[16];
	int prefix;
	enum range_kind kind;
	const char *name;
} ranges[] = {
	{ AF_INET, { 127 }, 8, RANGE_LOOPBACK, "loopback 127.0.0.0/8" },
	{ AF_INET, { 10 }, 8, RANGE_PRIVATE, "private 10.0.0.0/8" },
	{ AF_INET, { 172, 16 }, 12, RANGE_PRIVATE, "private 172.16.0.0/12" },
	{ AF_INET, { 192, 168 }, 16, RANGE_PRIVATE, "private 192.168.0.0/16" },
	{ AF_INET, { 169, 254 }, 16, RANGE_LINK_LOCAL, "link-local 169.254.0.0/16" },
	{ AF_INET6, { [15] = 1 }, 128, RANGE_LOOPBACK, "loopback ::1" },
	{ AF_INET6, { 0xfc }, 7, RANGE_ULA, "unique local fc00::/7" },
	{ AF_INET6, { 0xfe, 0x80 }, 10, RANGE_LINK_LOCAL, "link-local fe80::/10" },
};

static const char *const role_names[] = {
	[GATE_LISTEN] = "listen on",
	[GATE_UPSTREAM] = "connect upstream to",
	[GATE_PEER] = "stay connected to",
	[GATE_VICTIM] = "accept a victim from",
};

void gate_init(struct gate *g)
{
	memset(g, 0, sizeof *g);
}

static bool prefix_match(const unsigned char *a, const unsigned char *net, int prefix)
{
	int whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, net, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (net[whole] & mask);
}

static int addr_bytes(const struct sockaddr *sa, int *family, unsigned char out[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		*family = AF_INET;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(out, &a6->s6_addr[12], 4);
			*family = AF_INET;
		} else {
			memcpy(out, a6->s6_addr, 16);
			*family = AF_INET6;
		}
		return 0;
	}
	return -1;
}

socklen_t gate_canon(const struct sockaddr *sa, socklen_t len, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof *out);
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6) &&
	    IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;
		s4->sin_family = AF_INET;
		s4->sin_port = s6->sin6_port;
		memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
		return sizeof *s4;
	}
	if (len > sizeof *out)
		len = sizeof *out;
	memcpy(out, sa, len);
	return len;
}

static int range_of(int family, const unsigned char *a)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(ranges); i++)
		if (ranges[i].family == family && prefix_match(a, ranges[i].addr, ranges[i].prefix))
			return (int)i;
	return -1;
}

static int port_of(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

char *gate_addr_str(const struct sockaddr *sa, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned char a[16];
	int family;

	if (addr_bytes(sa, &family, a) < 0) {
		snprintf(buf, size, "(address family %d)", sa->sa_family);
		return buf;
	}
	inet_ntop(family, a, ip, sizeof ip);
	snprintf(buf, size, family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, port_of(sa));
	return buf;
}

bool gate_is_loopback(const struct sockaddr *sa)
{
	unsigned char a[16];
	int family, r;

	if (addr_bytes(sa, &family, a) < 0)
		return false;
	r = range_of(family, a);
	return r >= 0 && ranges[r].kind == RANGE_LOOPBACK;
}

int gate_add_lab(struct gate *g, const char *cidr, struct mq_err *err)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(cidr, '/');
	size_t hlen = slash ? (size_t)(slash - cidr) : strlen(cidr);
	struct gate_net n = { 0 };
	int maxp, r;

	if (g->n_lab >= GATE_MAX_LAB) {
		mq_errf(err, "at most %d --lab-bind ranges", GATE_MAX_LAB);
		return -1;
	}
	if (hlen == 0 || hlen >= sizeof host) {
		mq_errf(err, "--lab-bind '%s' is not an address range such as 192.168.50.0/24", cidr);
		return -1;
	}
	memcpy(host, cidr, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, n.addr) == 1) {
		n.family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, host, n.addr) == 1) {
		n.family = AF_INET6;
		maxp = 128;
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)n.addr)) {
			memmove(n.addr, n.addr + 12, 4);
			memset(n.addr + 4, 0, 12);
			n.family = AF_INET;
			maxp = 32;
		}
	} else {
		mq_errf(err, "--lab-bind '%s' is not an address range such as 192.168.50.0/24", cidr);
		return -1;
	}
	n.prefix = maxp;
	if (slash) {
		const char *p = slash + 1;
		int v = 0;
		if (!*p || strlen(p) > 3)
			goto bad_prefix;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				goto bad_prefix;
			v = v * 10 + (*p - '0');
		}
		/* A mapped address given with an IPv6 prefix length keeps its IPv4 meaning. */
		if (n.family == AF_INET && strchr(host, ':')) {
			if (v < 96)
				goto bad_prefix;
			v -= 96;
		}
		if (v > maxp)
			goto bad_prefix;
		n.prefix = v;
	}
	/* Clear host bits so "192.168.50.7/24" means the network it names. */
	for (int bit = n.prefix; bit < maxp; bit++)
		n.addr[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
	r = range_of(n.family, n.addr);
	if (r < 0 || n.prefix < ranges[r].prefix) {
		mq_errf(err, "--lab-bind %s is not a lab network: only private (10/8, 172.16/12, "
			"192.168/16), link-local (169.254/16, fe80::/10), unique-local (fc00::/7) or "
			"loopback ranges are allowed", cidr);
		return -1;
	}
	g->lab[g->n_lab++] = n;
	return 0;
bad_prefix:
	mq_errf(err, "--lab-bind '%s' has an invalid prefix length", cidr);
	return -1;
}

void gate_set_listen(struct gate *g, const struct sockaddr *sa, socklen_t len)
{
	gate_canon(sa, len, &g->listen);
	g->have_listen = true;
}

static bool same_endpoint(const struct sockaddr *a, const struct sockaddr *b)
{
	unsigned char x[16], y[16];
	int fx, fy;

	if (addr_bytes(a, &fx, x) < 0 || addr_bytes(b, &fy, y) < 0 || fx != fy)
		return false;
	if (port_of(a) != port_of(b))
		return false;
	return memcmp(x, y, fx == AF_INET ? 4 : 16) == 0;
}

int gate_check(struct gate *g, enum gate_role role, const struct sockaddr *sa, socklen_t len,
	       struct mq_err *err)
{
	unsigned char a[16];
	char what[INET6_ADDRSTRLEN + 16];
	int family, r;
	const char *verb = (unsigned)role < MQ_ARRAY_LEN(role_names) ? role_names[role] : "use";

	g->checked++;
	if ((sa->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)) ||
	    addr_bytes(sa, &family, a) < 0) {
		mq_errf(err, "refusing to %s a non-IP address", verb);
		goto refuse;
	}
	gate_addr_str(sa, what, sizeof what);
	if ((family == AF_INET && !memcmp(a, "\0\0\0\0", 4)) ||
	    (family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED((struct in6_addr *)a))) {
		mq_errf(err, "refusing to %s %s: the unspecified address means every interface; give "
			"a loopback address, or this machine's address inside a --lab-bind range", verb, what);
		goto refuse;
	}
	r = range_of(family, a);
	if (!(r >= 0 && ranges[r].kind == RANGE_LOOPBACK)) {
		bool inside = false;
		for (size_t i = 0; i < g->n_lab && !inside; i++)
			inside = g->lab[i].family == family && prefix_match(a, g->lab[i].addr, g->lab[i].prefix);
		if (!inside) {
			if (g->n_lab == 0)
				mq_errf(err, "refusing to %s %s: the MITM lab is loopback-only unless --lab-bind "
					"names a private lab network that contains it", verb, what);
			else
				mq_errf(err, "refusing to %s %s: it is neither loopback nor inside a --lab-bind "
					"range", verb, what);
			goto refuse;
		}
	}
	if ((role == GATE_UPSTREAM || role == GATE_PEER) && g->have_listen &&
	    same_endpoint(sa, (const struct sockaddr *)&g->listen)) {
		mq_errf(err, "refusing to %s %s: that is the MITM's own listening address", verb, what);
		goto refuse;
	}
	return 0;
refuse:
	g->refused++;
	return -1;
}

int gate_parse_literal(const char *host, int port, struct sockaddr_storage *out, socklen_t *len)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);
	struct sockaddr_in *s4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 s6 = { 0 };

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, host, n);
	buf[n] = '\0';
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, buf, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons((uint16_t)port);
		*len = gate_canon((struct sockaddr *)&s6, sizeof s6, out);
		return 0;
	}
	return -1;
}

int gate_split_hostport(const char *s, char *host, size_t hostsz, int *port, struct mq_err *err)
{
	const char *colon, *hs = s, *he;
	char *end;
	long p;

	if (s[0] == '[') {
		he = strchr(s, ']');
		if (!he || he[1] != ':') {
			mq_errf(err, "'%s' is not HOST:PORT (an IPv6 address goes in brackets: [::1]:8883)", s);
			return -1;
		}
		hs = s + 1;
		colon = he + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon == s) {
			mq_errf(err, "'%s' is not HOST:PORT", s);
			return -1;
		}
		if (memchr(s, ':', (size_t)(colon - s))) {
			mq_errf(err, "'%s' is ambiguous: put an IPv6 address in brackets, e.g. [::1]:8883", s);
			return -1;
		}
		he = colon;
	}
	if ((size_t)(he - hs) >= hostsz || he == hs) {
		mq_errf(err, "'%s' is not HOST:PORT", s);
		return -1;
	}
	p = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || p < 1 || p > 65535) {
		mq_errf(err, "'%s' has no valid port (1-65535)", s);
		return -1;
	}
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	*port = (int)p;
	return 0;
}

int gate_resolve(struct gate *g, enum gate_role role, const char *host, int port,
		 struct sockaddr_storage *out, socklen_t *lens, size_t max, struct mq_err *err)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	struct sockaddr_storage tmp[GATE_MAX_ADDRS];
	socklen_t tlen[GATE_MAX_ADDRS];
	char portstr[8];
	size_t n = 0;
	int rc;

	if (max == 0)
		return -1;
	if (gate_parse_literal(host, port, &tmp[0], &tlen[0]) == 0) {
		if (gate_check(g, role, (struct sockaddr *)&tmp[0], tlen[0], err) < 0)
			return -1;
		out[0] = tmp[0];
		lens[0] = tlen[0];
		return 1;
	}
	snprintf(portstr, sizeof portstr, "%d", port);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_family = AF_UNSPEC;
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0) {
		mq_errf(err, "cannot resolve '%s': %s", host, gai_strerror(rc));
		return -1;
	}
	/* Judge every address first: one public address among lab ones refuses the whole name. */
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		struct sockaddr_storage c;
		socklen_t cl = gate_canon(ai->ai_addr, ai->ai_addrlen, &c);
		struct mq_err why = { 0 };
		if (gate_check(g, role, (struct sockaddr *)&c, cl, &why) < 0) {
			mq_errf(err, "%s ('%s' resolves to it)", why.msg, host);
			freeaddrinfo(res);
			return -1;
		}
		if (n < GATE_MAX_ADDRS && n < max) {
			bool dup = false;
			for (size_t i = 0; i < n && !dup; i++)
				dup = tlen[i] == cl && !memcmp(&tmp[i], &c, cl);
			if (!dup) {
				tmp[n] = c;
				tlen[n++] = cl;
			}
		}
	}
	freeaddrinfo(res);
	if (n == 0) {
		mq_errf(err, "'%s' resolved to no address", host);
		return -1;
	}
	memcpy(out, tmp, n * sizeof tmp[0]);
	memcpy(lens, tlen, n * sizeof tlen[0]);
	return (int)n;
}
