/*
 * diag-rules on synthetic observations: one row per situation, the root cause (first error
 * finding) it must give, a finding that must be there, and one that must not. The same
 * observations a real diagnosis makes, built by hand, so every rule is exercised without a broker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mosquitto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "mqttls/diag-rules.h"
#include "mqttls/util.h"

#define NOW 1800000000LL
#define DAY 86400LL

/* Everything one situation needs, owned here. */
struct sit {
	struct target t;
	struct diag_obs o;
	struct probe_result tls, plain, weak;
	struct mqconn_result mq;
	struct cert_info chain[2];
	struct cert_info ca, client;
	char *dns[2], *ips[1];
};

static void leaf_for(struct cert_info *c, const char *cn, const char *dns, const char *ip)
{
	memset(c, 0, sizeof *c);
	c->subject = strdup(cn);
	c->issuer = strdup("CN=Lab Intermediate");
	c->cn = strdup(cn + 3);
	c->not_before = NOW - 30 * DAY;
	c->not_after = NOW + 300 * DAY;
	c->key = strdup("EC P-256");
	c->key_bits = 256;
	c->sig_alg = strdup("ecdsa-with-SHA256");
	if (dns || ip)
		c->has_san = true;
	if (dns) {
		c->san_dns = calloc(1, sizeof *c->san_dns);
		c->san_dns[0] = strdup(dns);
		c->n_san_dns = 1;
	}
	if (ip) {
		c->san_ip = calloc(1, sizeof *c->san_ip);
		c->san_ip[0] = strdup(ip);
		c->n_san_ip = 1;
	}
}

/* A healthy TLS 1.3 connection to localhost, verified, MQTT round trip done. */
static void healthy(struct sit *s)
{
	memset(s, 0, sizeof *s);
	target_init(&s->t);
	free(s->t.host);
	s->t.host = strdup("localhost");
	s->t.cafile = strdup("/pki/ca.crt");
	s->o.t = &s->t;
	s->o.now = NOW;
	s->o.timeout = 5;
	s->o.tls_target = true;
	s->o.accepts_12 = s->o.accepts_13 = -1;
	s->o.cafile.state = DIAG_FILE_OK;
	s->o.cafile.path = "/pki/ca.crt";
	s->o.resolve_done = s->o.resolved = true;
	snprintf(s->o.addresses, sizeof s->o.addresses, "127.0.0.1");
	s->tls.tcp = PROBE_TCP_OK;
	snprintf(s->tls.address, sizeof s->tls.address, "127.0.0.1");
	s->tls.end = PROBE_END_OK;
	s->tls.handshake_done = true;
	s->tls.version = TLS1_3_VERSION;
	snprintf(s->tls.version_name, sizeof s->tls.version_name, "TLSv1.3");
	snprintf(s->tls.cipher, sizeof s->tls.cipher, "TLS_AES_256_GCM_SHA384");
	s->tls.rec.server_hello = s->tls.rec.cert_seen = true;
	s->o.tls = &s->tls;
	leaf_for(&s->chain[0], "CN=localhost", "localhost", "127.0.0.1");
	s->o.chain = s->chain;
	s->o.n_chain = 1;
	s->mq.mqtt_version = MQTT_PROTOCOL_V311;
	s->mq.connack = true;
	s->mq.end = MQCONN_END_ROUNDTRIP_OK;
	snprintf(s->mq.topic, sizeof s->mq.topic, "mqttls/diag/x");
	s->o.mq = &s->mq;
}

static void release(struct sit *s)
{
	for (size_t i = 0; i < 2; i++)
		cert_info_free(&s->chain[i]);
	cert_info_free(&s->ca);
	cert_info_free(&s->client);
	target_free(&s->t);
}

static void verr(struct sit *s, int err, int depth)
{
	s->tls.rec.verrs[s->tls.rec.n_verrs].err = err;
	s->tls.rec.verrs[s->tls.rec.n_verrs].depth = depth;
	s->tls.rec.n_verrs++;
	s->o.mq = NULL;  /* a failed verification stops the MQTT stages */
}

static void alert_in(struct sit *s, int desc)
{
	s->tls.rec.alerts[s->tls.rec.n_alerts].desc = desc;
	s->tls.rec.alerts[s->tls.rec.n_alerts].fatal = true;
	s->tls.rec.n_alerts++;
	s->tls.handshake_done = false;
	s->tls.end = PROBE_END_SSL_ERROR;
	s->tls.ssl_error = ERR_PACK(ERR_LIB_SSL, 0, 1000 + desc);
	s->o.mq = NULL;
}

static void no_tls(struct sit *s, enum probe_end end)
{
	s->tls.handshake_done = false;
	s->tls.rec.server_hello = s->tls.rec.cert_seen = false;
	s->tls.end = end;
	s->o.n_chain = 0;
	s->o.mq = NULL;
}

/* ---------------------------------------------------------------- situations */

static void s_dns(struct sit *s) { s->o.resolved = false; snprintf(s->o.resolve_error, sizeof s->o.resolve_error, "Name or service not known"); s->o.tls = NULL; s->o.mq = NULL; s->o.n_chain = 0; }
static void s_refused(struct sit *s) { s->tls.tcp = PROBE_TCP_REFUSED; s->tls.tcp_errno = 111; no_tls(s, PROBE_END_NONE); }
static void s_timeout(struct sit *s) { s->tls.tcp = PROBE_TCP_TIMEOUT; no_tls(s, PROBE_END_NONE); }
static void s_unreach(struct sit *s) { s->tls.tcp = PROBE_TCP_UNREACHABLE; s->tls.tcp_errno = 113; no_tls(s, PROBE_END_NONE); }
static void s_plaintext(struct sit *s)
{
	no_tls(s, PROBE_END_EOF);
	s->tls.ssl_error = ERR_PACK(ERR_LIB_SSL, 0, SSL_R_UNEXPECTED_EOF_WHILE_READING);
	s->plain.tcp = PROBE_TCP_OK;
	s->plain.connack = true;
	s->o.plain = &s->plain;
}
static void s_not_tls(struct sit *s)
{
	no_tls(s, PROBE_END_SSL_ERROR);
	s->tls.ssl_error = ERR_PACK(ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER);
	memcpy(s->tls.first, "SSH-2.0-x\r\n", 11);
	s->tls.n_first = 11;
	s->plain.tcp = PROBE_TCP_OK;
	s->o.plain = &s->plain;
}
static void s_silent(struct sit *s) { no_tls(s, PROBE_END_TIMEOUT); }
static void s_version(struct sit *s)
{
	alert_in(s, 70);
	s->tls.rec.cert_seen = false;
	s->o.n_chain = 0;
	s->t.tls_max = TLS1_2_VERSION;
	s->o.accepts_12 = 0;
	s->o.accepts_13 = 1;
}
static void s_version_local(struct sit *s)
{
	no_tls(s, PROBE_END_SSL_ERROR);
	s->tls.rec.server_hello = true;
	s->tls.ssl_error = ERR_PACK(ERR_LIB_SSL, 0, SSL_R_UNSUPPORTED_PROTOCOL);
}
static void s_cipher(struct sit *s) { alert_in(s, 40); s->tls.rec.cert_seen = false; s->o.n_chain = 0; }
static void s_cipher_71(struct sit *s) { alert_in(s, 71); s->o.n_chain = 0; }
static void s_required_12(struct sit *s) { alert_in(s, 40); s->tls.rec.cert_request = true; }
static void s_required_13(struct sit *s)
{
	alert_in(s, 116);
	s->tls.handshake_done = true;
	s->tls.rejected_after = true;
	s->tls.rec.cert_request = true;
}
static void s_required_eof(struct sit *s)
{
	s->tls.handshake_done = false;
	s->tls.rec.cert_request = true;
	s->tls.end = PROBE_END_EOF;
	s->o.mq = NULL;
}
static void s_rejected(struct sit *s) { alert_in(s, 48); s->tls.rec.cert_request = s->tls.rec.client_cert_sent = true; s->t.cert = strdup("/d.crt"); }
static void s_rejected_13(struct sit *s) { s_required_13(s); s->tls.rec.alerts[0].desc = 42; s->tls.rec.client_cert_sent = true; s->t.cert = strdup("/d.crt"); }
static void s_client_expired_alert(struct sit *s) { alert_in(s, 45); s->tls.rec.cert_request = s->tls.rec.client_cert_sent = true; s->t.cert = strdup("/d.crt"); }
static void s_tls_other(struct sit *s) { alert_in(s, 80); }

static void s_expired(struct sit *s) { verr(s, X509_V_ERR_CERT_HAS_EXPIRED, 0); s->chain[0].not_after = NOW - 3 * DAY; }
static void s_expired_ca(struct sit *s) { verr(s, X509_V_ERR_CERT_HAS_EXPIRED, 1); }
static void s_not_yet(struct sit *s) { verr(s, X509_V_ERR_CERT_NOT_YET_VALID, 0); s->chain[0].not_before = NOW + DAY; }
static void s_self_signed(struct sit *s) { verr(s, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0); }
static void s_incomplete(struct sit *s)
{
	verr(s, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0);
	verr(s, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, 0);
	s->o.issuer_found = s->o.issuer_chains_to_trusted = true;
	snprintf(s->o.issuer_path, sizeof s->o.issuer_path, "/pki/intermediate.crt");
}
static void s_wrong_ca(struct sit *s) { verr(s, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0); }
static void s_wrong_ca_found(struct sit *s) { s_wrong_ca(s); s->o.issuer_found = true; snprintf(s->o.issuer_path, sizeof s->o.issuer_path, "/pki/other-ca.crt"); }
static void s_same_name(struct sit *s) { verr(s, X509_V_ERR_CERT_SIGNATURE_FAILURE, 0); }
static void s_root_in_chain(struct sit *s) { verr(s, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, 1); }
static void s_hostname(struct sit *s) { verr(s, X509_V_ERR_HOSTNAME_MISMATCH, 0); }
static void s_ip(struct sit *s) { free(s->t.host); s->t.host = strdup("192.168.28.63"); verr(s, X509_V_ERR_IP_ADDRESS_MISMATCH, 0); }
static void s_purpose(struct sit *s) { verr(s, X509_V_ERR_INVALID_PURPOSE, 0); }
static void s_verify_other(struct sit *s) { verr(s, X509_V_ERR_PATH_LENGTH_EXCEEDED, 1); }
static void s_insecure_name(struct sit *s) { s->t.verify = TARGET_VERIFY_NO_HOST; s_hostname(s); s->o.mq = &s->mq; }
static void s_no_verify(struct sit *s) { s->t.verify = TARGET_VERIFY_NONE; s_wrong_ca(s); s->o.mq = &s->mq; }

static void s_cafile_der(struct sit *s) { s->o.cafile.state = DIAG_FILE_DER; s_wrong_ca(s); }
static void s_cafile_missing(struct sit *s) { s->o.cafile.state = DIAG_FILE_MISSING; s_wrong_ca(s); }
static void s_cafile_not_ca(struct sit *s) { s->o.cafile.state = DIAG_FILE_NOT_CA; s_wrong_ca(s); }
static void s_key_mismatch(struct sit *s)
{
	s->t.cert = strdup("/d.crt");
	s->t.key = strdup("/d.key");
	s->o.cert.state = s->o.key.state = DIAG_FILE_OK;
	s->o.cert.path = "/d.crt";
	s->o.key.path = "/d.key";
	s->o.key_mismatch = true;
}
static void s_key_encrypted(struct sit *s) { s_key_mismatch(s); s->o.key_mismatch = false; s->o.key.state = DIAG_FILE_ENCRYPTED; }
static void s_client_expired(struct sit *s)
{
	s_key_mismatch(s);
	s->o.key_mismatch = false;
	leaf_for(&s->client, "CN=dev1", NULL, NULL);
	s->client.not_after = NOW - DAY;
	s->o.client = &s->client;
}

static void s_anonymous(struct sit *s) { s->mq.connack_rc = 5; s->mq.end = MQCONN_END_CONNACK_REFUSED; }
static void s_anonymous_5(struct sit *s) { s->mq.mqtt_version = MQTT_PROTOCOL_V5; s->mq.connack_rc = 0x87; s->mq.end = MQCONN_END_CONNACK_REFUSED; }
static void s_password(struct sit *s) { s_anonymous(s); s->mq.had_username = true; s->t.user = strdup("alice"); }
static void s_password_4(struct sit *s) { s_password(s); s->mq.connack_rc = 4; }
static void s_cert_identity(struct sit *s) { s->mq.connack_rc = 4; s->mq.end = MQCONN_END_CONNACK_REFUSED; s->mq.rec.client_cert_sent = true; }
static void s_banned(struct sit *s) { s->mq.mqtt_version = MQTT_PROTOCOL_V5; s->mq.connack_rc = 0x8A; s->mq.end = MQCONN_END_CONNACK_REFUSED; }
static void s_client_id(struct sit *s) { s->mq.connack_rc = 2; s->mq.end = MQCONN_END_CONNACK_REFUSED; }
static void s_no_connack(struct sit *s) { s->mq.connack = false; s->mq.end = MQCONN_END_CONNECT_TIMEOUT; }
static void s_acl_sub(struct sit *s) { s->mq.end = MQCONN_END_SUB_DENIED; s->mq.granted_qos = 0x80; }
static void s_acl_pub(struct sit *s) { s->mq.end = MQCONN_END_PUB_DENIED; s->mq.puback_rc = 0x87; }
static void s_acl_silent(struct sit *s) { s->mq.end = MQCONN_END_ROUNDTRIP_TIMEOUT; s->mq.subscribed = s->mq.published = true; }
/* Observed: use_identity_as_username without require_certificate answers a client with no identity CONNACK 4. */
static void s_anonymous_4(struct sit *s) { s->mq.connack_rc = 4; s->mq.end = MQCONN_END_CONNACK_REFUSED; }
/* MQTT 5: the publish was accepted (PUBACK 0) and the subscription granted, nothing came back: reading is denied. */
static void s_acl_read_5(struct sit *s) { s_acl_silent(s); s->mq.mqtt_version = MQTT_PROTOCOL_V5; s->t.qos = 1; }

static void s_no_san(struct sit *s) { cert_info_free(&s->chain[0]); leaf_for(&s->chain[0], "CN=localhost", NULL, NULL); }
static void s_soon(struct sit *s) { s->chain[0].not_after = NOW + 10 * DAY; }
static void s_long(struct sit *s) { s->chain[0].not_before = NOW - 500 * DAY; s->chain[0].not_after = NOW + 400 * DAY; }
static void s_weak_old(struct sit *s) { s->weak.handshake_done = true; snprintf(s->weak.version_name, 16, "TLSv1.1"); s->o.weak_old = &s->weak; }
static void s_weak_cbc(struct sit *s) { s->tls.version = TLS1_2_VERSION; snprintf(s->tls.cipher, sizeof s->tls.cipher, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"); }
static void s_weak_sha1(struct sit *s) { free(s->chain[0].sig_alg); s->chain[0].sig_alg = strdup("ecdsa-with-SHA1"); }
static void s_weak_rsa(struct sit *s) { free(s->chain[0].key); s->chain[0].key = strdup("RSA 1024"); s->chain[0].key_bits = 1024; }
static void s_nothing(struct sit *s) { (void)s; }
static void s_plain_target(struct sit *s) { s->o.tls_target = false; s->t.tls = false; s->o.n_chain = 0; }
/* Verification fails and the broker also wants a certificate: the device fails on verification first. */
static void s_two(struct sit *s) { s_required_12(s); verr(s, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0); }

struct row {
	const char *name;
	void (*setup)(struct sit *s);
	const char *root;      /* first error, or "none" */
	const char *has;       /* also present (may be NULL) */
	const char *lacks;     /* must be absent (may be NULL) */
	const char *text;      /* a substring of the root's (or has's) detail/fix/seen (may be NULL) */
};

static const struct row rows[] = {
	{ "healthy", s_nothing, "none", NULL, "INSECURE_VERIFY_OFF", NULL },
	{ "plain mqtt://", s_plain_target, "none", NULL, "INSECURE_VERIFY_OFF", NULL },
	{ "dns", s_dns, "DNS_FAILED", NULL, "TCP_REFUSED", "Name or service not known" },
	{ "refused", s_refused, "TCP_REFUSED", NULL, "TCP_TIMEOUT", "ss -ltnp" },
	{ "timeout", s_timeout, "TCP_TIMEOUT", NULL, NULL, "within 5 s" },
	{ "unreachable", s_unreach, "TCP_TIMEOUT", NULL, NULL, "No route to host" },
	{ "plaintext", s_plaintext, "PLAINTEXT_PORT", NULL, "NOT_TLS", "disconnected due to protocol error" },
	{ "not tls", s_not_tls, "NOT_TLS", NULL, "PLAINTEXT_PORT", "SSH-2.0-x" },
	{ "silent", s_silent, "NOT_TLS", NULL, NULL, "never answered" },
	{ "version, alert 70", s_version, "TLS_VERSION_MISMATCH", NULL, "NO_SHARED_CIPHER", "TLS 1.3 only" },
	{ "version, local", s_version_local, "TLS_VERSION_MISMATCH", NULL, NULL, NULL },
	{ "cipher, alert 40", s_cipher, "NO_SHARED_CIPHER", NULL, "CLIENT_CERT_REQUIRED", "ciphers" },
	{ "cipher, alert 71", s_cipher_71, "NO_SHARED_CIPHER", NULL, NULL, NULL },
	{ "cert required 1.2", s_required_12, "CLIENT_CERT_REQUIRED", NULL, "NO_SHARED_CIPHER", "alert 40" },
	{ "cert required 1.3", s_required_13, "CLIENT_CERT_REQUIRED", NULL, NULL, "after the handshake" },
	{ "cert required, closed", s_required_eof, "CLIENT_CERT_REQUIRED", NULL, NULL, "closed the connection" },
	{ "cert rejected", s_rejected, "CLIENT_CERT_REJECTED", NULL, "CLIENT_CERT_REQUIRED", "unknown_ca" },
	{ "cert rejected 1.3", s_rejected_13, "CLIENT_CERT_REJECTED", NULL, NULL, "after the handshake" },
	{ "client expired by alert", s_client_expired_alert, "CLIENT_CERT_EXPIRED", NULL, "CLIENT_CERT_REJECTED", NULL },
	{ "other tls failure", s_tls_other, "TLS_HANDSHAKE_FAILED", NULL, NULL, "internal_error" },
	{ "expired", s_expired, "CERT_EXPIRED", NULL, "WRONG_CA", "3 days ago" },
	{ "CA expired", s_expired_ca, "CERT_EXPIRED", NULL, NULL, "CA itself expired" },
	{ "not yet valid", s_not_yet, "CERT_NOT_YET_VALID", NULL, NULL, "clock" },
	{ "self-signed", s_self_signed, "SELF_SIGNED_SERVER", NULL, "WRONG_CA", NULL },
	{ "incomplete chain", s_incomplete, "INCOMPLETE_CHAIN", NULL, "WRONG_CA", "/pki/intermediate.crt" },
	{ "wrong CA", s_wrong_ca, "WRONG_CA", NULL, "INCOMPLETE_CHAIN", "openssl s_client" },
	{ "wrong CA, issuer on disk", s_wrong_ca_found, "WRONG_CA", NULL, NULL, "--cafile /pki/other-ca.crt" },
	{ "same-name CA", s_same_name, "WRONG_CA", NULL, NULL, "generated again" },
	{ "root in chain", s_root_in_chain, "WRONG_CA", NULL, NULL, NULL },
	{ "hostname", s_hostname, "HOSTNAME_MISMATCH", NULL, NULL, "subjectAltName=DNS:localhost" },
	{ "ip not in san", s_ip, "IP_NOT_IN_SAN", NULL, NULL, "subjectAltName=IP:192.168.28.63" },
	{ "wrong purpose", s_purpose, "SERVER_CERT_WRONG_PURPOSE", NULL, NULL, "serverAuth" },
	{ "other verify error", s_verify_other, "VERIFY_FAILED", NULL, NULL, "path length" },
	{ "--insecure, name wrong", s_insecure_name, "none", "INSECURE_VERIFY_OFF", "HOSTNAME_MISMATCH", NULL },
	{ "--no-verify, CA wrong", s_no_verify, "none", "INSECURE_VERIFY_OFF", "WRONG_CA", "would have failed" },
	{ "cafile DER", s_cafile_der, "CAFILE_INVALID", NULL, "WRONG_CA", "-inform der" },
	{ "cafile missing", s_cafile_missing, "CAFILE_INVALID", NULL, "WRONG_CA", "does not exist" },
	{ "cafile not a CA", s_cafile_not_ca, "CAFILE_NOT_CA", NULL, "WRONG_CA", NULL },
	{ "key mismatch", s_key_mismatch, "CLIENT_KEY_MISMATCH", NULL, NULL, "openssl sha256" },
	{ "key encrypted", s_key_encrypted, "CLIENT_CERT_INVALID", NULL, NULL, "password" },
	{ "client cert expired", s_client_expired, "CLIENT_CERT_EXPIRED", NULL, NULL, "1 days ago" },
	{ "anonymous", s_anonymous, "ANONYMOUS_NOT_ALLOWED", NULL, "NOT_AUTHORIZED", "allow_anonymous true" },
	{ "anonymous, MQTT 5", s_anonymous_5, "ANONYMOUS_NOT_ALLOWED", NULL, NULL, "(0, 135)" },
	{ "wrong password", s_password, "BAD_CREDENTIALS", NULL, "NOT_AUTHORIZED", "mosquitto_passwd" },
	{ "bad user name or password", s_password_4, "BAD_CREDENTIALS", NULL, NULL, NULL },
	{ "certificate identity", s_cert_identity, "NOT_AUTHORIZED", NULL, "BAD_CREDENTIALS", "use_identity_as_username" },
	{ "banned", s_banned, "NOT_AUTHORIZED", NULL, NULL, NULL },
	{ "client id", s_client_id, "CLIENT_ID_REJECTED", NULL, NULL, NULL },
	{ "no connack", s_no_connack, "MQTT_CONNECT_FAILED", NULL, NULL, NULL },
	{ "acl, subscribe", s_acl_sub, "ACL_DENIED", NULL, NULL, "SUBACK 0x80" },
	{ "acl, publish (v5)", s_acl_pub, "ACL_DENIED", NULL, NULL, "PUBACK reason 0x87" },
	{ "acl, silent", s_acl_silent, "ACL_DENIED", NULL, NULL, "never came back" },
	{ "acl, MQTT 5 reading denied", s_acl_read_5, "ACL_DENIED", NULL, NULL, "not read" },
	{ "no identity, CONNACK 4", s_anonymous_4, "ANONYMOUS_NOT_ALLOWED", NULL, "BAD_CREDENTIALS", "require_certificate true" },
	{ "no san", s_no_san, "none", "NO_SAN", NULL, NULL },
	{ "expiring soon", s_soon, "none", "CERT_EXPIRING_SOON", "LONG_VALIDITY", "in 10 days" },
	{ "long validity", s_long, "none", "LONG_VALIDITY", NULL, "900 days" },
	{ "weak: TLS 1.1 accepted", s_weak_old, "none", "WEAK_TLS", NULL, "TLSv1.1" },
	{ "weak: CBC negotiated", s_weak_cbc, "none", "WEAK_TLS", NULL, "CBC" },
	{ "weak: SHA-1 signature", s_weak_sha1, "none", "WEAK_TLS", NULL, "SHA-1" },
	{ "weak: RSA 1024", s_weak_rsa, "none", "WEAK_TLS", NULL, "1024-bit" },
	{ "verification before the client certificate", s_two, "WRONG_CA", "CLIENT_CERT_REQUIRED", NULL, NULL },
};

static const struct finding *find(const struct findings *fs, const char *id)
{
	for (size_t i = 0; i < fs->n; i++)
		if (!strcmp(fs->v[i].id, id))
			return &fs->v[i];
	return NULL;
}

static bool has_text(const struct finding *f, const char *t)
{
	return (f->detail && strstr(f->detail, t)) || (f->fix && strstr(f->fix, t)) || (f->seen && strstr(f->seen, t)) ||
	       (f->title && strstr(f->title, t));
}

static void every_row(void **state)
{
	int failures = 0;
	(void)state;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct sit s;
		struct findings fs = { 0 };
		const char *root = "none";
		struct mq_str all = { 0 };

		healthy(&s);
		r->setup(&s);
		diag_rules_apply_all(&s.o, &fs);
		findings_sort(&fs);
		for (size_t k = 0; k < fs.n; k++) {
			mq_str_printf(&all, "%s ", fs.v[k].id);
			if (fs.v[k].severity == MQ_SEV_ERROR && !strcmp(root, "none"))
				root = fs.v[k].id;
		}
		if (strcmp(root, r->root)) {
			print_message("# %s: root %s, wanted %s (findings: %s)\n", r->name, root, r->root, all.s ? all.s : "");
			failures++;
		}
		if (r->has && !find(&fs, r->has)) {
			print_message("# %s: lacks %s (findings: %s)\n", r->name, r->has, all.s ? all.s : "");
			failures++;
		}
		if (r->lacks && find(&fs, r->lacks)) {
			print_message("# %s: has %s, which it must not (findings: %s)\n", r->name, r->lacks, all.s ? all.s : "");
			failures++;
		}
		if (r->text) {
			const struct finding *f = find(&fs, strcmp(r->root, "none") ? r->root : r->has);
			if (!f || !has_text(f, r->text)) {
				print_message("# %s: no '%s' in %s: %s | %s | %s\n", r->name, r->text, f ? f->id : "-",
					      f && f->detail ? f->detail : "", f && f->fix ? f->fix : "", f && f->seen ? f->seen : "");
				failures++;
			}
		}
		/* Every finding is complete enough to act on. */
		for (size_t k = 0; k < fs.n; k++) {
			if (!fs.v[k].title || !*fs.v[k].title || !fs.v[k].detail || !*fs.v[k].detail || !fs.v[k].fix || !*fs.v[k].fix) {
				print_message("# %s: %s lacks a title, evidence or fix\n", r->name, fs.v[k].id);
				failures++;
			}
		}
		mq_str_free(&all);
		findings_free(&fs);
		release(&s);
	}
	assert_int_equal(failures, 0);
}

/* A phase applies only its own rules; apply_all runs them in order, once each. */
static void phases(void **state)
{
	struct sit s;
	struct findings fs = { 0 };
	(void)state;

	healthy(&s);
	s_anonymous(&s);
	assert_int_equal(diag_rules_apply(&s.o, DIAG_PHASE_TLS, &fs), 0);
	assert_int_equal(diag_rules_apply(&s.o, DIAG_PHASE_MQTT, &fs), 1);
	assert_int_equal(diag_rules_apply(&s.o, DIAG_PHASE_MQTT, &fs), 0);
	assert_string_equal(fs.v[0].id, "ANONYMOUS_NOT_ALLOWED");
	findings_free(&fs);
	release(&s);
	assert_int_equal(diag_rules_stage("IP_NOT_IN_SAN"), DIAG_VERIFY);
	assert_int_equal(diag_rules_stage("TCP_REFUSED"), DIAG_TCP);
	assert_int_equal(diag_rules_stage("ACL_DENIED"), DIAG_PUBSUB);
}

/* Hostile certificate text never reaches a finding raw. */
static void untrusted_text_is_escaped(void **state)
{
	struct sit s;
	struct findings fs = { 0 };
	(void)state;

	healthy(&s);
	cert_info_free(&s.chain[0]);
	leaf_for(&s.chain[0], "CN=evil\033[2J", "evil\033]0;pwned\007", NULL);
	s_hostname(&s);
	diag_rules_apply_all(&s.o, &fs);
	for (size_t k = 0; k < fs.n; k++) {
		assert_null(strchr(fs.v[k].detail, '\033'));
		assert_null(strchr(fs.v[k].fix, '\033'));
	}
	findings_free(&fs);
	release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_row),
		cmocka_unit_test(phases),
		cmocka_unit_test(untrusted_text_is_escaped),
	};
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
