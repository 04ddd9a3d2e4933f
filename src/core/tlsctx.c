#include <arpa/inet.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "mqttls/tlsctx.h"
#include "mqttls/util.h"

static int ctx_index = -1, ssl_index = -1;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void make_indexes(void)
{
	ctx_index = SSL_CTX_get_ex_new_index(0, "mqttls tlsctx record", NULL, NULL, NULL);
	ssl_index = SSL_get_ex_new_index(0, "mqttls tlsctx record", NULL, NULL, NULL);
}

static struct tlsctx_record *record_of(const SSL *ssl)
{
	struct tlsctx_record *r;

	pthread_once(&index_once, make_indexes);
	r = SSL_get_ex_data(ssl, ssl_index);
	if (!r)
		r = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
	return r;
}

void tlsctx_attach(SSL_CTX *ctx, struct tlsctx_record *rec)
{
	pthread_once(&index_once, make_indexes);
	SSL_CTX_set_ex_data(ctx, ctx_index, rec);
}

void tlsctx_attach_ssl(SSL *ssl, struct tlsctx_record *rec)
{
	pthread_once(&index_once, make_indexes);
	SSL_set_ex_data(ssl, ssl_index, rec);
}

bool tlsctx_is_ip(const char *s)
{
	unsigned char buf[16];
	return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

const char *tlsctx_sni(const struct target *t)
{
	if (t->sni && *t->sni)
		return t->sni;
	if (!t->host || tlsctx_is_ip(t->host))
		return NULL;
	return t->host;
}

const char *tlsctx_version_name(int v)
{
	switch (v) {
	case TLS1_VERSION: return "TLSv1";
	case TLS1_1_VERSION: return "TLSv1.1";
	case TLS1_2_VERSION: return "TLSv1.2";
	case TLS1_3_VERSION: return "TLSv1.3";
	default: return "unknown";
	}
}

int tlsctx_alert_received(const struct tlsctx_record *rec)
{
	for (size_t i = rec->n_alerts; i-- > 0;)
		if (!rec->alerts[i].sent && rec->alerts[i].fatal)
			return rec->alerts[i].desc;
	return -1;
}

int tlsctx_alert_sent(const struct tlsctx_record *rec)
{
	for (size_t i = rec->n_alerts; i-- > 0;)
		if (rec->alerts[i].sent && rec->alerts[i].fatal)
			return rec->alerts[i].desc;
	return -1;
}

/* Every verification error is recorded with its depth; the probe lets the handshake go on. */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tlsctx_record *r = ssl ? record_of(ssl) : NULL;
	int err = X509_STORE_CTX_get_error(store);

	if (!r)
		return ok;
	if (!r->verify_called)
		r->verify_first_ms = mq_now_ms();
	r->verify_called = true;
	r->verify_last_ms = mq_now_ms();
	if (!ok && r->n_verrs < TLSCTX_MAX_VERRS) {
		int depth = X509_STORE_CTX_get_error_depth(store);
		bool dup = false;
		for (size_t i = 0; i < r->n_verrs; i++)
			dup |= r->verrs[i].depth == depth && r->verrs[i].err == err;
		if (!dup) {
			r->verrs[r->n_verrs].depth = depth;
			r->verrs[r->n_verrs].err = err;
			r->n_verrs++;
		}
	}
	return r->enforce ? ok : 1;
}

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg)
{
	struct tlsctx_record *r = record_of(ssl);
	const unsigned char *p = buf;

	(void)version;
	(void)arg;
	if (!r || len == 0)
		return;
	if (content_type == SSL3_RT_ALERT && len >= 2) {
		if (r->n_alerts < TLSCTX_MAX_ALERTS) {
			r->alerts[r->n_alerts].sent = write_p != 0;
			r->alerts[r->n_alerts].fatal = p[0] == 2;
			r->alerts[r->n_alerts].desc = p[1];
			r->n_alerts++;
		}
		return;
	}
	if (content_type != SSL3_RT_HANDSHAKE)
		return;
	if (write_p) {
		/* Our Certificate: a 3-byte list length after the header (TLS 1.3 adds a context byte). */
		if (p[0] == SSL3_MT_CERTIFICATE && len >= 7) {
			size_t off = SSL_version(ssl) >= TLS1_3_VERSION ? 5 + p[4] : 4;
			if (off + 3 <= len)
				r->client_cert_sent = ((size_t)p[off] << 16 | (size_t)p[off + 1] << 8 | p[off + 2]) > 0;
		}
		return;
	}
	switch (p[0]) {
	case SSL3_MT_SERVER_HELLO: r->server_hello = true; break;
	case SSL3_MT_CERTIFICATE: r->cert_seen = true; break;
	case SSL3_MT_CERTIFICATE_REQUEST: r->cert_request = true; break;
	case SSL3_MT_NEWSESSION_TICKET: r->ticket_seen = true; break;
	case SSL3_MT_FINISHED: r->finished_seen = true; break;
	default: break;
	}
}

/* At the start of a handshake: put the user's server name in, whatever the SSL's maker set. */
static void info_cb(const SSL *cssl, int where, int ret)
{
	SSL *ssl = (SSL *)cssl;
	struct tlsctx_record *r;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_START))
		return;
	r = record_of(ssl);
	if (!r || !r->override_sni)
		return;
	{
		char *name = r->sni[0] ? r->sni : NULL;
		if (!SSL_set_tlsext_host_name(ssl, name))
			ERR_clear_error();
	}
}

static int set_versions(SSL_CTX *ctx, int min, int max, struct mq_err *err)
{
	if ((min && !SSL_CTX_set_min_proto_version(ctx, min)) || (max && !SSL_CTX_set_max_proto_version(ctx, max))) {
		mq_errf_ssl(err, "cannot set the TLS versions");
		return -1;
	}
	return 0;
}

SSL_CTX *tlsctx_new(const struct target *t, const struct tlsctx_creds *creds, enum tlsctx_mode mode,
		    struct mq_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_VERIFY_PARAM *param;

	if (!ctx) {
		mq_errf_ssl(err, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_msg_callback(ctx, msg_cb);
	SSL_CTX_set_info_callback(ctx, info_cb);
	/* Nothing is resumed: every handshake must show the broker's full behaviour. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);

	switch (mode) {
	case TLSCTX_OLD_VERSIONS:
		/* OpenSSL 3 refuses TLS 1.0/1.1 at its default security level; only this probe lowers it. */
		SSL_CTX_set_security_level(ctx, 0);
		if (set_versions(ctx, TLS1_VERSION, TLS1_1_VERSION, err) < 0 ||
		    !SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0"))
			goto fail;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		break;
	case TLSCTX_NO_FS:
		SSL_CTX_set_security_level(ctx, 0);
		if (set_versions(ctx, TLS1_2_VERSION, TLS1_2_VERSION, err) < 0 ||
		    !SSL_CTX_set_cipher_list(ctx, "kRSA:@SECLEVEL=0"))
			goto fail;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		break;
	case TLSCTX_ONLY_12:
	case TLSCTX_ONLY_13: {
		int v = mode == TLSCTX_ONLY_12 ? TLS1_2_VERSION : TLS1_3_VERSION;
		if (set_versions(ctx, v, v, err) < 0)
			goto fail;
		if (t->ciphers && mode == TLSCTX_ONLY_12 && !SSL_CTX_set_cipher_list(ctx, t->ciphers))
			goto bad_ciphers;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		break;
	}
	case TLSCTX_PROBE:
	case TLSCTX_CLIENT:
		if (set_versions(ctx, t->tls_min, t->tls_max, err) < 0)
			goto fail;
		if (t->ciphers && !SSL_CTX_set_cipher_list(ctx, t->ciphers))
			goto bad_ciphers;
		/* The CA: what the user gave, else the system's store (mosquitto's --tls-use-os-certs). */
		if (t->cafile || t->capath) {
			struct stat st;
			/* A CA file that cannot be loaded is a finding, reported by the local checks; one
			 * that is not a regular file (a FIFO would block OpenSSL's fopen) is not opened. */
			const char *cafile = t->cafile && stat(t->cafile, &st) == 0 && S_ISREG(st.st_mode) ? t->cafile : NULL;
			if ((cafile || t->capath) && !SSL_CTX_load_verify_locations(ctx, cafile, t->capath))
				ERR_clear_error();
		} else if (!SSL_CTX_set_default_verify_paths(ctx)) {
			ERR_clear_error();
		}
		param = SSL_CTX_get0_param(ctx);
		if (t->verify == TARGET_VERIFY_FULL && t->host) {
			X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (tlsctx_is_ip(t->host)) {
				if (!X509_VERIFY_PARAM_set1_ip_asc(param, t->host))
					ERR_clear_error();
			} else if (!X509_VERIFY_PARAM_set1_host(param, t->host, 0)) {
				ERR_clear_error();
			}
		}
		/* A device's clock (--clock) changes what the dates mean to it, nothing else. */
		if (t->clock == TARGET_CLOCK_AT)
			X509_VERIFY_PARAM_set_time(param, (time_t)t->clock_at);
		else if (t->clock == TARGET_CLOCK_IGNORE)
			X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
		if (mode == TLSCTX_CLIENT && t->verify == TARGET_VERIFY_NONE)
			SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		else
			SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
		if (creds && creds->cert && creds->key) {
			if (SSL_CTX_use_certificate(ctx, creds->cert) != 1 ||
			    SSL_CTX_use_PrivateKey(ctx, creds->key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
				/* A key that does not match: connect without it, as the finding says. */
				ERR_clear_error();
				SSL_CTX_free(ctx);
				return tlsctx_new(t, NULL, mode, err);
			}
			for (int i = 0; creds->extra && i < sk_X509_num(creds->extra); i++) {
				X509 *x = sk_X509_value(creds->extra, i);
				X509_up_ref(x);
				if (!SSL_CTX_add_extra_chain_cert(ctx, x)) {
					X509_free(x);
					ERR_clear_error();
				}
			}
		}
		break;
	}
	return ctx;
bad_ciphers:
	mq_errf_ssl(err, "--ciphers '%s' leaves no cipher suite OpenSSL knows", t->ciphers);
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
