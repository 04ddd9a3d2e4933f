/*
 * mqload — the bounded MQTT-over-TLS load of bench/mitm.sh (a benchmark tool, not part of mqttls).
 *
 *   mqload PUB_HOST PUB_PORT SUB_HOST SUB_PORT N_QOS0 SIZE N_QOS1
 *
 * A subscriber connects straight to the real broker (SUB) and counts every message by the
 * sequence number in its payload. A publisher connects through the path under test (PUB: the
 * broker itself, mqttls mitm, or sslsplit), without verifying the certificate (the setInsecure
 * device the lab is about), then
 *   1. writes N_QOS0 QoS 0 PUBLISHes of SIZE bytes as fast as TLS takes them: throughput is
 *      N_QOS0 / (first write .. last message counted by the subscriber);
 *   2. does N_QOS1 QoS 1 round trips one at a time (PUBLISH .. PUBACK): latency percentiles.
 * Prints one JSON object; delivery counts say whether every message arrived exactly once, and
 * cpu_s is this tool's own CPU time (both threads), so the script can tell its share from the
 * path's and from other processes'.
 * Blocking sockets, two threads, OpenSSL: small enough that the path, not the tool, is measured.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "mqload: %s\n", what);
	exit(2);
}

static SSL *tls_connect(SSL_CTX *ctx, const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int fd, one = 1;
	SSL *ssl;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		die("cannot resolve");
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0)
		die("cannot connect");
	freeaddrinfo(res);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1)
		die("TLS handshake failed");
	return ssl;
}

static void put_str(unsigned char **p, const char *s)
{
	size_t n = strlen(s);
	*(*p)++ = (unsigned char)(n >> 8);
	*(*p)++ = (unsigned char)n;
	memcpy(*p, s, n);
	*p += n;
}

/* Fixed header + body into out; returns the packet length. */
static size_t packet(unsigned char *out, unsigned first, const unsigned char *body, size_t n)
{
	size_t h = 0, rl = n;
	out[h++] = (unsigned char)first;
	do {
		unsigned char d = rl % 128;
		rl /= 128;
		out[h++] = (unsigned char)(d | (rl ? 0x80 : 0));
	} while (rl);
	memcpy(out + h, body, n);
	return h + n;
}

static void write_all(SSL *ssl, const unsigned char *p, size_t n)
{
	while (n) {
		int w = SSL_write(ssl, p, n > 16384 ? 16384 : (int)n);
		if (w <= 0)
			die("write failed");
		p += w;
		n -= (size_t)w;
	}
}

/* Read one whole packet; returns its type byte, body in buf (len in *n). */
static int read_packet(SSL *ssl, unsigned char *buf, size_t cap, size_t *n)
{
	unsigned char b;
	size_t rl = 0, mul = 1, got = 0;
	int first;

	if (SSL_read(ssl, &b, 1) != 1)
		return -1;
	first = b;
	do {
		if (SSL_read(ssl, &b, 1) != 1)
			return -1;
		rl += (b & 127) * mul;
		mul *= 128;
	} while (b & 128);
	if (rl > cap)
		die("packet too large");
	while (got < rl) {
		int r = SSL_read(ssl, buf + got, (int)(rl - got));
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	*n = rl;
	return first;
}

static void mqtt_connect(SSL *ssl, const char *id)
{
	unsigned char body[128], *p = body, pkt[160], in[16];
	size_t n;

	put_str(&p, "MQTT");
	*p++ = 4;
	*p++ = 2;
	*p++ = 0;
	*p++ = 60;
	put_str(&p, id);
	write_all(ssl, pkt, packet(pkt, 0x10, body, (size_t)(p - body)));
	if (read_packet(ssl, in, sizeof in, &n) != 0x20 || n < 2 || in[1] != 0)
		die("no CONNACK 0");
}

struct counts {
	int n0, n1;
	unsigned char *seen0, *seen1;
	int uniq0, uniq1, dup0, dup1;
	double last0;
	SSL *ssl;
	pthread_mutex_t mu;
};

static void *subscriber(void *arg)
{
	struct counts *c = arg;
	unsigned char *buf = malloc(1 << 20);
	size_t n;
	int t;

	while ((t = read_packet(c->ssl, buf, 1 << 20, &n)) >= 0) {
		if ((t & 0xf0) != 0x30 || n < 2)
			continue;
		size_t tl = (size_t)buf[0] << 8 | buf[1], off = 2 + tl;
		int qos = (t >> 1) & 3;
		unsigned id = 0;
		if (qos) {
			id = (unsigned)buf[off] << 8 | buf[off + 1];
			off += 2;
		}
		long seq = strtol((const char *)buf + off, NULL, 10);
		pthread_mutex_lock(&c->mu);
		if (tl == 8 && !memcmp(buf + 2, "bench/q0", 8) && seq >= 0 && seq < c->n0) {
			if (c->seen0[seq]++)
				c->dup0++;
			else
				c->uniq0++;
			c->last0 = now();
		} else if (tl == 8 && !memcmp(buf + 2, "bench/q1", 8) && seq >= 0 && seq < c->n1) {
			if (c->seen1[seq]++)
				c->dup1++;
			else
				c->uniq1++;
		}
		pthread_mutex_unlock(&c->mu);
		if (qos == 1) {
			unsigned char ack[4] = { 0x40, 2, (unsigned char)(id >> 8), (unsigned char)id };
			write_all(c->ssl, ack, 4);
		}
	}
	free(buf);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct counts c = { .mu = PTHREAD_MUTEX_INITIALIZER };
	SSL_CTX *ctx;
	SSL *pub;
	pthread_t th;
	size_t size;
	unsigned char body[4096], *p, *stream, in[64];
	size_t len = 0, n;
	double t0, deadline, *lat;

	if (argc != 8)
		die("usage: mqload PUB_HOST PUB_PORT SUB_HOST SUB_PORT N_QOS0 SIZE N_QOS1");
	c.n0 = atoi(argv[5]);
	size = (size_t)atoi(argv[6]);
	c.n1 = atoi(argv[7]);
	if (c.n0 < 1 || c.n1 < 1 || size < 12 || size > 2048)
		die("bad numbers");
	c.seen0 = calloc((size_t)c.n0, 1);
	c.seen1 = calloc((size_t)c.n1, 1);
	lat = calloc((size_t)c.n1, sizeof *lat);
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

	/* The subscriber, straight to the real broker, subscribed before anything is sent. */
	c.ssl = tls_connect(ctx, argv[3], argv[4]);
	mqtt_connect(c.ssl, "mqload-sub");
	p = body;
	*p++ = 0;
	*p++ = 1;
	put_str(&p, "bench/q0");
	*p++ = 0;
	put_str(&p, "bench/q1");
	*p++ = 1;
	{
		unsigned char pkt[64];
		write_all(c.ssl, pkt, packet(pkt, 0x82, body, (size_t)(p - body)));
		if (read_packet(c.ssl, in, sizeof in, &n) != 0x90)
			die("no SUBACK");
	}
	pthread_create(&th, NULL, subscriber, &c);

	pub = tls_connect(ctx, argv[1], argv[2]);
	mqtt_connect(pub, "mqload-pub");

	/* 1. QoS 0 throughput: the whole batch encoded first, then written as fast as TLS takes it. */
	stream = malloc((size_t)c.n0 * (size + 16));
	for (int i = 0; i < c.n0; i++) {
		p = body;
		put_str(&p, "bench/q0");
		snprintf((char *)p, size + 1, "%08d", i);
		memset(p + 8, 'x', size - 8);
		p += size;
		len += packet(stream + len, 0x30, body, (size_t)(p - body));
	}
	t0 = now();
	write_all(pub, stream, len);
	deadline = now() + 60;
	for (;;) {
		pthread_mutex_lock(&c.mu);
		int done = c.uniq0 >= c.n0;
		pthread_mutex_unlock(&c.mu);
		if (done || now() > deadline)
			break;
		usleep(200);
	}
	usleep(300000);   /* late duplicates would show up here */
	double secs = c.last0 - t0;

	/* 2. QoS 1 round trips, one at a time. */
	int acked = 0;
	for (int i = 0; i < c.n1; i++) {
		unsigned char pkt[4200];
		unsigned id = (unsigned)(i % 65535) + 1;
		p = body;
		put_str(&p, "bench/q1");
		*p++ = (unsigned char)(id >> 8);
		*p++ = (unsigned char)id;
		snprintf((char *)p, size + 1, "%08d", i);
		memset(p + 8, 'y', size - 8);
		p += size;
		double s = now();
		write_all(pub, pkt, packet(pkt, 0x32, body, (size_t)(p - body)));
		if (read_packet(pub, in, sizeof in, &n) != 0x40 || n != 2 || ((unsigned)in[0] << 8 | in[1]) != id)
			die("no PUBACK");
		lat[i] = (now() - s) * 1000;
		acked++;
	}
	usleep(300000);
	qsort(lat, (size_t)c.n1, sizeof *lat, cmp);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	pthread_mutex_lock(&c.mu);
	printf("{\"cpu_s\":%.6f,\"qos0\":{\"sent\":%d,\"received\":%d,\"duplicates\":%d,\"missing\":%d,\"seconds\":%.4f,"
	       "\"msgs_per_s\":%.0f},\"qos1\":{\"sent\":%d,\"acked\":%d,\"received\":%d,\"duplicates\":%d,"
	       "\"missing\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}}\n",
	       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
	       c.n0, c.uniq0, c.dup0, c.n0 - c.uniq0, secs, secs > 0 ? c.uniq0 / secs : 0, c.n1, acked, c.uniq1,
	       c.dup1, c.n1 - c.uniq1, lat[c.n1 / 2], lat[(c.n1 * 99) / 100], lat[c.n1 - 1]);
	pthread_mutex_unlock(&c.mu);
	fflush(stdout);
	_exit(0);   /* the subscriber thread is blocked in SSL_read; nothing to tidy for a benchmark */
}
