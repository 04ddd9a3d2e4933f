#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include "mqttls/mqttdec.h"
#include "mqttls/probe.h"
#include "mqttls/util.h"

enum state { S_IDLE, S_CONNECT, S_HANDSHAKE, S_VERDICT, S_PLAIN, S_DONE };

#define PROBE_IN_MAX 4096

struct probe {
	struct event_base *base;
	struct probe_opts o;
	struct probe_addr *addrs;
	size_t n_addrs, cur;
	char *sni, *client_id;
	probe_cb cb;
	void *ctx;

	enum state state;
	int fd;
	struct event *ev_read, *ev_write, *ev_timer, *ev_kick, *ev_done;
	SSL_CTX *sctx;
	SSL *ssl;
	BIO *rbio, *wbio;
	bool eof, reset;
	bool saw_timeout, saw_unreach;
	int unreach_errno;

	unsigned char *out;           /* bytes waiting for the socket */
	size_t out_len, out_off, out_cap;
	unsigned char in[PROBE_IN_MAX]; /* MQTT bytes received (plain, or decrypted) */
	size_t in_len;

	double t_start, t_phase;
	struct probe_result r;
};

static void finish(struct probe *p);
static void tls_step(struct probe *p);
static void connect_next(struct probe *p);

static void arm_timer(struct probe *p)
{
	struct timeval tv;
	double t = p->o.timeout > 0 ? p->o.timeout : 5;

	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	evtimer_add(p->ev_timer, &tv);
	p->t_phase = mq_now_ms();
}

static void close_fd(struct probe *p)
{
	if (p->ev_read)
		event_del(p->ev_read);
	if (p->ev_write)
		event_del(p->ev_write);
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
}

/* ---------------------------------------------------------------- output */

static void out_append(struct probe *p, const void *data, size_t len)
{
	if (p->out_len + len > p->out_cap) {
		size_t cap = p->out_cap ? p->out_cap * 2 : 4096;
		while (cap < p->out_len + len)
			cap *= 2;
		unsigned char *n = realloc(p->out, cap);
		if (!n)
			abort();
		p->out = n;
		p->out_cap = cap;
	}
	memcpy(p->out + p->out_len, data, len);
	p->out_len += len;
}

/* Move what OpenSSL wrote into its memory BIO to our output buffer. */
static void out_from_bio(struct probe *p)
{
	unsigned char buf[4096];
	int n;

	if (!p->wbio)
		return;
	while ((n = BIO_read(p->wbio, buf, sizeof buf)) > 0)
		out_append(p, buf, (size_t)n);
}

/* Send what can be sent now; the rest waits for the socket to be writable. */
static void flush(struct probe *p)
{
	out_from_bio(p);
	while (p->fd >= 0 && p->out_off < p->out_len) {
		ssize_t n = send(p->fd, p->out + p->out_off, p->out_len - p->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			p->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(p->ev_write, NULL);
			return;
		}
		/* The broker is gone; what it did before that is what counts. */
		p->out_off = p->out_len;
		break;
	}
	if (p->out_off == p->out_len)
		p->out_off = p->out_len = 0;
}

/* ---------------------------------------------------------------- end */

static void record_ssl_error(struct probe *p)
{
	unsigned long e = ERR_get_error();

	if (e && !p->r.ssl_error) {
		p->r.ssl_error = e;
		ERR_error_string_n(e, p->r.ssl_error_text, sizeof p->r.ssl_error_text);
	}
	ERR_clear_error();
}

static void record_tls_params(struct probe *p)
{
	const SSL_CIPHER *c;
	STACK_OF(X509) *chain;

	if (!p->ssl)
		return;
	if (p->r.rec.server_hello) {
		p->r.version = SSL_version(p->ssl);
		snprintf(p->r.version_name, sizeof p->r.version_name, "%s", tlsctx_version_name(p->r.version));
	}
	if (p->r.handshake_done) {
		c = SSL_get_current_cipher(p->ssl);
		if (c)
			snprintf(p->r.cipher, sizeof p->r.cipher, "%s", SSL_CIPHER_standard_name(c) ? SSL_CIPHER_standard_name(c) : SSL_CIPHER_get_name(c));
		int nid = SSL_get_negotiated_group(p->ssl);
		const char *g = nid > 0 ? SSL_group_to_name(p->ssl, nid) : NULL;
		if (g)
			snprintf(p->r.group, sizeof p->r.group, "%s", g);
	}
	p->r.verify_result = SSL_get_verify_result(p->ssl);
	if (!p->r.chain) {
		chain = SSL_get_peer_cert_chain(p->ssl);
		if (chain && sk_X509_num(chain) > 0)
			p->r.chain = X509_chain_up_ref(chain);
	}
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	(void)fd;
	(void)what;
	p->cb(p, PROBE_PHASE_DONE, p->ctx);
}

static void finish(struct probe *p)
{
	if (p->state == S_DONE)
		return;
	if (p->r.tcp == PROBE_TCP_OK && p->o.kind == PROBE_TLS) {
		record_tls_params(p);
		p->r.tls_ms = mq_now_ms() - p->t_phase;
	}
	flush(p);
	p->state = S_DONE;
	evtimer_del(p->ev_timer);
	close_fd(p);
	event_active(p->ev_done, 0, 0);
}

static void end_with(struct probe *p, enum probe_end end)
{
	if (p->r.end == PROBE_END_NONE)
		p->r.end = end;
	finish(p);
}

/* ---------------------------------------------------------------- MQTT bytes */

/* Look at the MQTT bytes received so far: a CONNACK, something else, or not enough yet. */
static bool mqtt_check(struct probe *p)
{
	size_t hdr = 0, total = 0;
	struct mqtt_pkt pkt;
	int rc;

	if (p->in_len == 0)
		return false;
	/* A broker's first packet is its CONNACK (type 2, no flags): any other first byte — a
	 * banner, an HTTP answer — settles it at once instead of waiting for a frame to fill. */
	if (p->in[0] != 0x20) {
		p->r.mqtt_other = true;
		return true;
	}
	rc = mqttdec_frame(p->in, p->in_len, PROBE_IN_MAX, &hdr, &total, NULL);
	if (rc == MQTTDEC_MORE)
		return p->in_len >= PROBE_IN_MAX ? (p->r.mqtt_other = true) : false;
	if (rc == MQTTDEC_OK && mqttdec_decode(p->in, total, p->o.mqtt_version == 5 ? MQTT_V5 : MQTT_V311, &pkt) == MQTTDEC_OK &&
	    pkt.type == MQTT_CONNACK) {
		p->r.connack = true;
		p->r.connack_rc = pkt.reason;
		return true;
	}
	p->r.mqtt_other = true;
	return true;
}

size_t probe_connect_packet(unsigned char *buf, size_t size, const char *client_id, int mqtt_version)
{
	size_t idlen = client_id ? strlen(client_id) : 0, rl, n = 0;
	bool v5 = mqtt_version == 5;

	if (idlen > 64)
		idlen = 64;
	rl = 10 + (v5 ? 1 : 0) + 2 + idlen;
	if (rl > 127 || rl + 2 > size)
		return 0;
	buf[n++] = 0x10;
	buf[n++] = (unsigned char)rl;
	buf[n++] = 0;
	buf[n++] = 4;
	memcpy(buf + n, "MQTT", 4);
	n += 4;
	buf[n++] = v5 ? 5 : 4;
	buf[n++] = 0x02;            /* clean session, no credentials */
	buf[n++] = 0;
	buf[n++] = 30;              /* keepalive */
	if (v5)
		buf[n++] = 0;           /* no properties */
	buf[n++] = (unsigned char)(idlen >> 8);
	buf[n++] = (unsigned char)idlen;
	memcpy(buf + n, client_id, idlen);
	n += idlen;
	return n;
}

static void send_connect(struct probe *p, bool over_tls)
{
	unsigned char pkt[160];
	size_t n = probe_connect_packet(pkt, sizeof pkt, p->client_id, p->o.mqtt_version);

	if (!n)
		return;
	if (over_tls) {
		if (SSL_write(p->ssl, pkt, (int)n) <= 0)
			ERR_clear_error();
	} else {
		out_append(p, pkt, n);
	}
	flush(p);
}

/* ---------------------------------------------------------------- TLS */

static void close_tls_ok(struct probe *p)
{
	p->r.end = PROBE_END_OK;
	if (SSL_shutdown(p->ssl) < 0)
		ERR_clear_error();
	finish(p);
}

static void handshake_done(struct probe *p)
{
	p->r.handshake_done = true;
	record_tls_params(p);
	p->r.tls_ms = mq_now_ms() - p->t_phase;
	if (p->o.first_read && p->r.version >= TLS1_3_VERSION && p->r.rec.cert_request) {
		/* The broker decides on our certificate after the handshake: ask it something. */
		p->state = S_VERDICT;
		evtimer_del(p->ev_timer);
		{
			struct timeval tv;
			double t = p->o.timeout > 0 ? p->o.timeout : 5;
			tv.tv_sec = (time_t)t;
			tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
			evtimer_add(p->ev_timer, &tv);
		}
		send_connect(p, true);
		tls_step(p);
		return;
	}
	close_tls_ok(p);
}

static void tls_fail(struct probe *p, int sslerr)
{
	if (sslerr == SSL_ERROR_SSL) {
		record_ssl_error(p);
		/* An error while reading EOF is still the broker hanging up. */
		if (p->r.ssl_error && ERR_GET_REASON(p->r.ssl_error) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			p->r.end = p->reset ? PROBE_END_RESET : PROBE_END_EOF;
		else
			p->r.end = PROBE_END_SSL_ERROR;
	} else if (sslerr == SSL_ERROR_ZERO_RETURN) {
		p->r.end = PROBE_END_EOF;
	} else {
		record_ssl_error(p);
		p->r.end = p->reset ? PROBE_END_RESET : p->eof ? PROBE_END_EOF : PROBE_END_SOCKET;
	}
	if (p->state == S_VERDICT)
		p->r.rejected_after = true;
	finish(p);
}

static void tls_step(struct probe *p)
{
	int rc, e;

	if (p->state == S_HANDSHAKE) {
		ERR_clear_error();
		rc = SSL_do_handshake(p->ssl);
		flush(p);
		if (rc == 1) {
			handshake_done(p);
			return;
		}
		e = SSL_get_error(p->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return;
		tls_fail(p, e);
		return;
	}
	if (p->state != S_VERDICT)
		return;
	for (;;) {
		unsigned char buf[2048];
		ERR_clear_error();
		rc = SSL_read(p->ssl, buf, sizeof buf);
		flush(p);
		if (rc > 0) {
			size_t n = (size_t)rc;
			if (n > sizeof p->in - p->in_len)
				n = sizeof p->in - p->in_len;
			memcpy(p->in + p->in_len, buf, n);
			p->in_len += n;
			if (mqtt_check(p)) {
				p->r.verdict_read = true;
				close_tls_ok(p);
				return;
			}
			continue;
		}
		e = SSL_get_error(p->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			/* A session ticket comes only once the broker has accepted our certificate. */
			if (p->r.rec.ticket_seen) {
				p->r.verdict_read = true;
				close_tls_ok(p);
			}
			return;
		}
		tls_fail(p, e);
		return;
	}
}

static void start_tls(struct probe *p)
{
	p->ssl = SSL_new(p->sctx);
	p->rbio = BIO_new(BIO_s_mem());
	p->wbio = BIO_new(BIO_s_mem());
	if (!p->ssl || !p->rbio || !p->wbio) {
		BIO_free(p->rbio);
		BIO_free(p->wbio);
		p->rbio = p->wbio = NULL;
		record_ssl_error(p);
		end_with(p, PROBE_END_SSL_ERROR);
		return;
	}
	/* An empty read BIO means "wait", not end of file, until the socket says so. */
	BIO_set_mem_eof_return(p->rbio, -1);
	SSL_set_bio(p->ssl, p->rbio, p->wbio);
	tlsctx_attach_ssl(p->ssl, &p->r.rec);
	if (p->sni) {
		SSL_set_tlsext_host_name(p->ssl, p->sni);
		snprintf(p->r.sni, sizeof p->r.sni, "%s", p->sni);
	}
	SSL_set_connect_state(p->ssl);
	p->state = S_HANDSHAKE;
	arm_timer(p);
	tls_step(p);
}

/* ---------------------------------------------------------------- socket events */

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	unsigned char buf[16384];
	ssize_t n;

	(void)what;
	n = recv(fd, buf, sizeof buf, 0);
	if (n > 0) {
		size_t k = (size_t)n;
		if (p->r.n_first < PROBE_FIRST_BYTES) {
			size_t c = PROBE_FIRST_BYTES - p->r.n_first;
			if (c > k)
				c = k;
			memcpy(p->r.first + p->r.n_first, buf, c);
			p->r.n_first += c;
		}
		p->r.bytes_in += k;
		if (p->state == S_PLAIN) {
			if (k > sizeof p->in - p->in_len)
				k = sizeof p->in - p->in_len;
			memcpy(p->in + p->in_len, buf, k);
			p->in_len += k;
			if (mqtt_check(p))
				end_with(p, PROBE_END_OK);
			return;
		}
		if (BIO_write(p->rbio, buf, (int)k) != (int)k) {
			record_ssl_error(p);
			end_with(p, PROBE_END_SSL_ERROR);
			return;
		}
		tls_step(p);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		p->r.sys_errno = errno;
		if (errno == ECONNRESET)
			p->reset = true;
	}
	p->eof = true;
	event_del(p->ev_read);
	if (p->state == S_PLAIN) {
		end_with(p, p->reset ? PROBE_END_RESET : n == 0 ? PROBE_END_EOF : PROBE_END_SOCKET);
		return;
	}
	/* Let OpenSSL see the end of the stream and say what it makes of it. */
	BIO_set_mem_eof_return(p->rbio, 0);
	tls_step(p);
	if (p->state != S_DONE) {
		if (p->state == S_VERDICT)
			p->r.rejected_after = true;
		end_with(p, p->reset ? PROBE_END_RESET : PROBE_END_EOF);
	}
}

static void connected(struct probe *p)
{
	p->r.tcp = PROBE_TCP_OK;
	p->r.tcp_ms = mq_now_ms() - p->t_phase;
	snprintf(p->r.address, sizeof p->r.address, "%s", p->addrs[p->cur].text);
	evtimer_del(p->ev_timer);
	event_assign(p->ev_read, p->base, p->fd, EV_READ | EV_PERSIST, on_read, p);
	event_add(p->ev_read, NULL);
	p->cb(p, PROBE_PHASE_TCP, p->ctx);
	if (p->o.kind == PROBE_PLAIN_MQTT) {
		p->state = S_PLAIN;
		arm_timer(p);
		send_connect(p, false);
		return;
	}
	start_tls(p);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	int soerr = 0;
	socklen_t sl = sizeof soerr;

	(void)what;
	if (p->state != S_CONNECT) {
		flush(p);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr == 0) {
		connected(p);
		return;
	}
	if (soerr == ECONNRESET || soerr == EPIPE) {
		/* The handshake completed and the peer reset it at once (a service that accepts and
		 * hangs up, a broker at max_connections): TCP answered; what follows says who it is. */
		p->reset = true;
		connected(p);
		return;
	}
	p->r.tcp_errno = soerr;
	if (soerr == EHOSTUNREACH || soerr == ENETUNREACH) {
		p->saw_unreach = true;
		p->unreach_errno = soerr;
	}
	close_fd(p);
	p->cur++;
	connect_next(p);
}

static void tcp_failed(struct probe *p)
{
	if (p->saw_timeout)
		p->r.tcp = PROBE_TCP_TIMEOUT;
	else if (p->saw_unreach) {
		p->r.tcp = PROBE_TCP_UNREACHABLE;
		p->r.tcp_errno = p->unreach_errno;
	} else if (p->r.tcp_errno == ECONNREFUSED)
		p->r.tcp = PROBE_TCP_REFUSED;
	else
		p->r.tcp = PROBE_TCP_ERROR;
	p->r.tcp_ms = mq_now_ms() - p->t_phase;
	p->cb(p, PROBE_PHASE_TCP, p->ctx);
	finish(p);
}

static void connect_next(struct probe *p)
{
	while (p->cur < p->n_addrs) {
		const struct probe_addr *a = &p->addrs[p->cur];
		int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		p->r.addrs_tried = p->cur + 1;
		snprintf(p->r.address, sizeof p->r.address, "%s", a->text);
		if (fd < 0) {
			p->r.tcp_errno = errno;
			p->cur++;
			continue;
		}
		p->fd = fd;
		{
			int one = 1;
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		}
		if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0) {
			connected(p);
			return;
		}
		if (errno == EINPROGRESS) {
			event_assign(p->ev_write, p->base, fd, EV_WRITE, on_write, p);
			event_add(p->ev_write, NULL);
			return;
		}
		p->r.tcp_errno = errno;
		if (errno == EHOSTUNREACH || errno == ENETUNREACH) {
			p->saw_unreach = true;
			p->unreach_errno = errno;
		}
		close_fd(p);
		p->cur++;
	}
	tcp_failed(p);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	(void)fd;
	(void)what;
	switch (p->state) {
	case S_CONNECT:
		/* A silent address: the whole connect phase had its time. */
		p->saw_timeout = true;
		close_fd(p);
		tcp_failed(p);
		break;
	case S_VERDICT:
		/* The broker said nothing either way after the handshake. */
		p->r.verdict_timeout = true;
		close_tls_ok(p);
		break;
	case S_HANDSHAKE:
	case S_PLAIN:
		end_with(p, PROBE_END_TIMEOUT);
		break;
	default:
		break;
	}
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	(void)fd;
	(void)what;
	p->state = S_CONNECT;
	p->t_start = mq_now_ms();
	arm_timer(p);
	connect_next(p);
}

struct probe *probe_start(struct event_base *base, const struct probe_opts *o, probe_cb cb, void *ctx,
			  struct mq_err *err)
{
	struct probe *p = calloc(1, sizeof *p);

	if (!p)
		abort();
	p->base = base;
	p->o = *o;
	p->cb = cb;
	p->ctx = ctx;
	p->fd = -1;
	if (o->n_addrs == 0) {
		mq_errf(err, "no address to connect to");
		free(p);
		return NULL;
	}
	p->addrs = calloc(o->n_addrs, sizeof *p->addrs);
	if (!p->addrs)
		abort();
	memcpy(p->addrs, o->addrs, o->n_addrs * sizeof *p->addrs);
	p->n_addrs = o->n_addrs;
	p->o.addrs = p->addrs;
	p->sni = o->sni ? strdup(o->sni) : NULL;
	p->client_id = strdup(o->client_id ? o->client_id : "mqttls-probe");
	p->o.sni = p->sni;
	p->o.client_id = p->client_id;
	if (o->kind == PROBE_TLS) {
		if (!o->ctx) {
			mq_errf(err, "a TLS probe needs a TLS context");
			goto fail;
		}
		SSL_CTX_up_ref(o->ctx);
		p->sctx = o->ctx;
	}
	p->ev_read = event_new(base, -1, 0, on_read, p);
	p->ev_write = event_new(base, -1, 0, on_write, p);
	p->ev_timer = evtimer_new(base, on_timer, p);
	p->ev_kick = event_new(base, -1, 0, on_kick, p);
	p->ev_done = event_new(base, -1, 0, on_done, p);
	if (!p->ev_read || !p->ev_write || !p->ev_timer || !p->ev_kick || !p->ev_done) {
		mq_errf(err, "cannot create events");
		goto fail;
	}
	event_active(p->ev_kick, 0, 0);
	return p;
fail:
	probe_free(p);
	return NULL;
}

const struct probe_result *probe_result(const struct probe *p)
{
	return &p->r;
}

STACK_OF(X509) *probe_take_chain(struct probe *p)
{
	STACK_OF(X509) *c = p->r.chain;
	p->r.chain = NULL;
	return c;
}

void probe_free(struct probe *p)
{
	if (!p)
		return;
	close_fd(p);
	if (p->ev_read)
		event_free(p->ev_read);
	if (p->ev_write)
		event_free(p->ev_write);
	if (p->ev_timer)
		event_free(p->ev_timer);
	if (p->ev_kick)
		event_free(p->ev_kick);
	if (p->ev_done)
		event_free(p->ev_done);
	SSL_free(p->ssl);   /* frees both memory BIOs */
	SSL_CTX_free(p->sctx);
	if (p->r.chain)
		sk_X509_pop_free(p->r.chain, X509_free);
	free(p->out);
	free(p->addrs);
	free(p->sni);
	free(p->client_id);
	free(p);
}
