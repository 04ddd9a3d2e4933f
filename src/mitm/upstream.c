#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "mitm-int.h"
#include "mqttls/util.h"

/* A CA, certificate or key file larger than this is not one. */
#define UPSTREAM_FILE_CAP (8u << 20)

/*
 * mosquitto leaves Nagle on: a small packet of its (the CONNACK right after the TLS 1.3 session
 * tickets, a PUBLISH right after another) waits until what it sent before is acknowledged, and
 * the kernel delays that ACK up to 40 ms when the relay has nothing to send back. Asking for a
 * quick ACK sends the one pending now (and the kernel soon leaves quick-ACK mode by itself, so it
 * is asked on every read). The device's side keeps the kernel's default: there the relay
 * acknowledges as the broker itself would.
 */
void upstream_ack_now(evutil_socket_t fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

/* A session ticket arrived: it carries no data, so no read callback acknowledges it, and the
 * broker's CONNACK is the small packet behind it. The session itself is not kept. */
static int on_session_ticket(SSL *ssl, SSL_SESSION *sess)
{
	(void)sess;
	upstream_ack_now(SSL_get_fd(ssl));
	return 0;
}

SSL_CTX *upstream_ctx_new(const char *cafile, const char *cert, const char *key, struct mq_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		mq_errf_ssl(err, "cannot create the upstream TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* OpenSSL would wait forever on a FIFO and say little about a directory: look first. */
	if ((cafile && mq_check_file("--upstream-cafile", cafile, UPSTREAM_FILE_CAP, err) < 0) ||
	    (cert && mq_check_file("--upstream-cert", cert, UPSTREAM_FILE_CAP, err) < 0) ||
	    (key && mq_check_file("--upstream-key", key, UPSTREAM_FILE_CAP, err) < 0))
		goto fail;
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, on_session_ticket);
	if (cafile) {
		if (!SSL_CTX_load_verify_locations(ctx, cafile, NULL)) {
			mq_errf_ssl(err, "--upstream-cafile %s cannot be loaded", cafile);
			goto fail;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if ((cert != NULL) != (key != NULL)) {
		mq_errf(err, "--upstream-cert and --upstream-key go together");
		goto fail;
	}
	if (cert) {
		if (!SSL_CTX_use_certificate_chain_file(ctx, cert)) {
			mq_errf_ssl(err, "--upstream-cert %s cannot be loaded", cert);
			goto fail;
		}
		if (!SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM)) {
			mq_errf_ssl(err, "--upstream-key %s cannot be loaded", key);
			goto fail;
		}
		if (!SSL_CTX_check_private_key(ctx)) {
			mq_errf_ssl(err, "--upstream-key %s does not belong to %s", key, cert);
			goto fail;
		}
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct bufferevent *upstream_connect(struct mitm *m, SSL_CTX *ctx, const char *host,
				     const struct sockaddr_storage *addrs, const socklen_t *lens, size_t n,
				     struct mq_err *err)
{
	struct sockaddr_storage lit;
	socklen_t litlen;
	struct bufferevent *bev = NULL;
	SSL *ssl = NULL;
	bool is_ip = gate_parse_literal(host, 0, &lit, &litlen) == 0;
	size_t i;

	(void)litlen;
	/* The gate again, right before connect(): the addresses were judged at start. */
	for (i = 0; i < n; i++)
		if (gate_check(&m->gate, GATE_UPSTREAM, (const struct sockaddr *)&addrs[i], lens[i], err) == 0)
			break;
	if (i == n)
		return NULL;
	ssl = SSL_new(ctx);
	if (!ssl) {
		mq_errf_ssl(err, "cannot create the upstream TLS session");
		return NULL;
	}
	if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) {
		/* The real broker is checked as a careful client would: its chain and its name. */
		if (is_ip ? !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) : !SSL_set1_host(ssl, host)) {
			mq_errf_ssl(err, "cannot set the upstream name to verify");
			SSL_free(ssl);
			return NULL;
		}
	}
	if (!is_ip)
		SSL_set_tlsext_host_name(ssl, host);
	bev = bufferevent_openssl_socket_new(m->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		mq_errf(err, "cannot create the upstream connection");
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	if (bufferevent_socket_connect(bev, (const struct sockaddr *)&addrs[i], (int)lens[i]) < 0) {
		mq_errf_errno(err, "cannot connect to the upstream");
		bufferevent_free(bev);
		return NULL;
	}
	int one = 1;
	setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct timeval tv = { MITM_HANDSHAKE_TIMEOUT, 0 };
	bufferevent_set_timeouts(bev, &tv, &tv);
	return bev;
}

int upstream_check_peer(struct mitm *m, struct bufferevent *bev, struct mq_err *err)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getpeername(bufferevent_getfd(bev), (struct sockaddr *)&ss, &len) < 0) {
		mq_errf_errno(err, "cannot tell which peer the upstream connection reached");
		return -1;
	}
	return gate_check(&m->gate, GATE_PEER, (struct sockaddr *)&ss, len, err);
}

void upstream_failure(struct bufferevent *bev, short what, char *buf, size_t size)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	unsigned long e = bufferevent_get_openssl_error(bev), next;
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	int sockerr = EVUTIL_SOCKET_ERROR();

	while ((next = bufferevent_get_openssl_error(bev)) != 0)
		e = next;   /* the deepest reason is the last one queued */
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(buf, size, "no answer within %d s", MITM_HANDSHAKE_TIMEOUT);
	else if (ssl && vr != X509_V_OK)
		snprintf(buf, size, "the real broker's certificate did not verify: %s (X509 error %ld)",
			 X509_verify_cert_error_string(vr), vr);
	else if (e)
		snprintf(buf, size, "TLS: %s", ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "error");
	else if ((what & BEV_EVENT_ERROR) && sockerr)
		snprintf(buf, size, "%s", evutil_socket_error_to_string(sockerr));
	else
		snprintf(buf, size, "the real broker closed the connection");
}

/* ---- fetching the certificate to clone ------------------------------------------------------- */

struct mitm_fetch {
	struct mitm *m;
	struct bufferevent *bev;
};

void upstream_fetch_free(struct mitm_fetch *f)
{
	if (!f)
		return;
	if (f->bev)
		bufferevent_free(f->bev);
	free(f);
}

static void fetch_event(struct bufferevent *bev, short what, void *arg)
{
	struct mitm_fetch *f = arg;
	struct mitm *m = f->m;
	struct mq_err err = { 0 };
	char why[512];

	if (what & BEV_EVENT_CONNECTED) {
		X509 *peer;
		if (upstream_check_peer(m, bev, &err) < 0) {
			m->fetch = NULL;
			upstream_fetch_free(f);
			mitm_fail_start(m, "%s", err.msg);
			return;
		}
		peer = SSL_get1_peer_certificate(bufferevent_openssl_get_ssl(bev));
		m->fetch = NULL;
		upstream_fetch_free(f);
		if (!peer) {
			mitm_fail_start(m, "the broker sent no certificate to clone");
			return;
		}
		mitm_forged_and_ready(m, peer);
		X509_free(peer);
		return;
	}
	upstream_failure(bev, what, why, sizeof why);
	m->fetch = NULL;
	upstream_fetch_free(f);
	mitm_fail_start(m, "cannot fetch the certificate to clone from the real broker: %s", why);
}

int upstream_fetch_start(struct mitm *m, bool verify, struct mq_err *err)
{
	struct mitm_fetch *f = calloc(1, sizeof *f);
	SSL_CTX *ctx = m->up_ctx;

	if (!f) {
		mq_errf(err, "out of memory");
		return -1;
	}
	f->m = m;
	if (!verify) {
		/* --clone HOST:PORT: the attacker copies whatever the broker shows, trusted or not. */
		if (!m->fetch_ctx && !(m->fetch_ctx = upstream_ctx_new(NULL, NULL, NULL, err))) {
			free(f);
			return -1;
		}
		ctx = m->fetch_ctx;
		f->bev = upstream_connect(m, ctx, m->clone_host, m->clone_addr, m->clone_len, m->n_clone, err);
	} else {
		f->bev = upstream_connect(m, ctx, m->upstream_host, m->up_addr, m->up_len, m->n_up, err);
	}
	if (!f->bev) {
		free(f);
		return -1;
	}
	bufferevent_setcb(f->bev, NULL, NULL, fetch_event, f);
	bufferevent_enable(f->bev, EV_READ);
	m->fetch = f;
	return 0;
}
