/* pki: the lab CA as files, checked with OpenSSL's own verifier and with cert_info. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "mqttls/chain.h"
#include "mqttls/pki.h"
#include "mqttls/util.h"

struct fixture {
	char dir[64];
	char path[256];
};

static const char *P(struct fixture *f, const char *name)
{
	snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
	return f->path;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/mqttls-pki.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mq_rm_rf(f->dir, NULL), 0);
	free(f);
	return 0;
}

static void init_pki(struct fixture *f, const struct pki_opts *extra)
{
	struct pki_opts o = { .dir = f->dir };
	struct mq_err err = { 0 };

	if (extra) {
		o = *extra;
		o.dir = f->dir;
	}
	if (pki_init(&o, &err) < 0)
		fail_msg("pki_init: %s", err.msg);
}

static STACK_OF(X509) *load(const char *path)
{
	STACK_OF(X509) *sk = NULL;
	struct mq_err err = { 0 };

	if (chain_load_file(path, &sk, NULL, &err) < 1)
		fail_msg("%s", err.msg);
	return sk;
}

static void info_of(const char *path, int idx, struct cert_info *ci)
{
	STACK_OF(X509) *sk = load(path);

	assert_true(idx < sk_X509_num(sk));
	assert_int_equal(cert_info_from_x509(sk_X509_value(sk, idx), idx, ci, NULL), 0);
	sk_X509_pop_free(sk, X509_free);
}

static bool has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/*
 * OpenSSL's verdict on the first certificate of leaf_file, trusting trust_file, with the
 * other certificates of leaf_file as untrusted intermediates. host/ip set the name check.
 */
static int verify(const char *trust_file, const char *leaf_file, const char *host, const char *ip,
		  int purpose, int auth_level)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *trust = load(trust_file), *chain = load(leaf_file);
	X509 *leaf = sk_X509_shift(chain);
	X509_VERIFY_PARAM *vp;
	int rc;

	for (int i = 0; i < sk_X509_num(trust); i++)
		X509_STORE_add_cert(store, sk_X509_value(trust, i));
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, chain), 1);
	vp = X509_STORE_CTX_get0_param(ctx);
	if (host)
		X509_VERIFY_PARAM_set1_host(vp, host, 0);
	if (ip)
		X509_VERIFY_PARAM_set1_ip_asc(vp, ip);
	if (purpose)
		X509_STORE_CTX_set_purpose(ctx, purpose);
	if (auth_level >= 0)
		X509_VERIFY_PARAM_set_auth_level(vp, auth_level);
	rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(trust, X509_free);
	return rc;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void init_makes_a_verifiable_pki(void **state)
{
	struct fixture *f = *state;
	const char *sans[] = { "DNS:broker.example", "IP:10.9.8.7" };
	struct pki_opts o = { .sans = sans, .n_sans = 2 };
	struct cert_info root, inter, leaf, dev;
	char ca[256];
	char **defs = NULL;
	int ndefs;

	init_pki(f, &o);
	snprintf(ca, sizeof ca, "%s", P(f, PKI_ROOT_CERT));
	assert_int_equal(mode_of(P(f, PKI_ROOT_KEY)), 0600);
	assert_int_equal(mode_of(P(f, PKI_INTER_KEY)), 0600);
	assert_int_equal(mode_of(P(f, PKI_BROKER_KEY)), 0600);
	assert_int_equal(mode_of(P(f, PKI_DEVICE_KEY)), 0600);
	assert_int_equal(mode_of(P(f, PKI_ROOT_CERT)), 0644);

	info_of(ca, 0, &root);
	assert_true(root.is_ca && root.bc_critical && root.self_signed);
	assert_int_equal(root.pathlen, -1);
	assert_true(has(root.key_usage, root.n_key_usage, "keyCertSign"));
	assert_true(has(root.key_usage, root.n_key_usage, "cRLSign"));
	assert_non_null(root.ski);
	assert_string_equal(root.key, "EC P-256");

	info_of(P(f, PKI_INTER_CERT), 0, &inter);
	assert_true(inter.is_ca && inter.bc_critical);
	assert_int_equal(inter.pathlen, 0);
	assert_string_equal(inter.aki, root.ski);
	assert_string_equal(inter.issuer, root.subject);

	info_of(P(f, PKI_BROKER_CERT), 0, &leaf);
	assert_false(leaf.is_ca);
	assert_string_equal(leaf.aki, inter.ski);
	assert_true(leaf.n_eku == 1 && !strcmp(leaf.eku[0], "serverAuth"));
	assert_true(has(leaf.san_dns, leaf.n_san_dns, "localhost"));
	assert_true(has(leaf.san_dns, leaf.n_san_dns, "broker.example"));
	assert_true(has(leaf.san_ip, leaf.n_san_ip, "127.0.0.1"));
	assert_true(has(leaf.san_ip, leaf.n_san_ip, "::1"));
	assert_true(has(leaf.san_ip, leaf.n_san_ip, "10.9.8.7"));
	/* Every address of this machine is in it too. */
	ndefs = pki_default_sans(&defs);
	assert_true(ndefs >= 4);
	for (int i = 0; i < ndefs; i++) {
		if (!strncmp(defs[i], "IP:", 3))
			assert_true(has(leaf.san_ip, leaf.n_san_ip, defs[i] + 3));
		else
			assert_true(has(leaf.san_dns, leaf.n_san_dns, defs[i] + 4));
	}
	pki_strv_free(defs);
	assert_true(leaf.not_after - leaf.not_before <= 398 * 86400);
	assert_true(leaf.not_after - time(NULL) >= 396 * 86400);
	/* A random serial of at least 64 bits. */
	assert_true(strlen(leaf.serial) >= 16);
	assert_string_not_equal(leaf.serial, inter.serial);

	info_of(P(f, PKI_DEVICE_CERT), 0, &dev);
	assert_string_equal(dev.cn, "device1");
	assert_true(dev.n_eku == 1 && !strcmp(dev.eku[0], "clientAuth"));
	cert_info_free(&dev);
	/* The device file carries the intermediate too: what a client presents. */
	info_of(P(f, PKI_DEVICE_CERT), 1, &dev);
	assert_string_equal(dev.sha256, inter.sha256);

	assert_int_equal(verify(ca, P(f, PKI_BROKER_CHAIN), "localhost", NULL, X509_PURPOSE_SSL_SERVER, 2), X509_V_OK);
	assert_int_equal(verify(ca, P(f, PKI_BROKER_CHAIN), NULL, "::1", X509_PURPOSE_SSL_SERVER, 2), X509_V_OK);
	assert_int_equal(verify(ca, P(f, PKI_BROKER_CHAIN), NULL, "10.9.8.7", 0, -1), X509_V_OK);
	assert_int_equal(verify(ca, P(f, PKI_BROKER_CHAIN), "other.example", NULL, 0, -1),
			 X509_V_ERR_HOSTNAME_MISMATCH);
	/* The leaf alone does not reach the root: the full chain file is needed. */
	assert_int_equal(verify(ca, P(f, PKI_BROKER_CERT), NULL, NULL, 0, -1),
			 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	assert_int_equal(verify(ca, P(f, PKI_DEVICE_CERT), NULL, NULL, X509_PURPOSE_SSL_CLIENT, 2), X509_V_OK);
	assert_int_equal(verify(ca, P(f, PKI_DEVICE_CERT), NULL, NULL, X509_PURPOSE_SSL_SERVER, -1),
			 X509_V_ERR_INVALID_PURPOSE);

	cert_info_free(&root);
	cert_info_free(&inter);
	cert_info_free(&leaf);
	cert_info_free(&dev);
}

static void never_overwrites_without_force(void **state)
{
	struct fixture *f = *state;
	struct pki_opts o = { .dir = f->dir };
	struct mq_err err = { 0 };
	struct cert_info before, after;

	/* One existing file: nothing at all is written. */
	assert_int_equal(mq_write_file(P(f, PKI_DEVICE_KEY), "mine\n", 5, 0600, false, NULL), 0);
	assert_int_equal(pki_init(&o, &err), -1);
	assert_non_null(strstr(err.msg, "device1.key already exists"));
	assert_non_null(strstr(err.msg, "--force"));
	assert_false(mq_file_exists(P(f, PKI_ROOT_CERT)));
	unlink(P(f, PKI_DEVICE_KEY));

	init_pki(f, NULL);
	info_of(P(f, PKI_ROOT_CERT), 0, &before);
	mq_err_clear(&err);
	assert_int_equal(pki_init(&o, &err), -1);
	assert_non_null(strstr(err.msg, "already exists"));
	info_of(P(f, PKI_ROOT_CERT), 0, &after);
	assert_string_equal(before.sha256, after.sha256);
	cert_info_free(&after);

	o.force = true;
	mq_err_clear(&err);
	assert_int_equal(pki_init(&o, &err), 0);
	info_of(P(f, PKI_ROOT_CERT), 0, &after);
	assert_string_not_equal(before.sha256, after.sha256);
	assert_int_equal(mode_of(P(f, PKI_ROOT_KEY)), 0600);
	cert_info_free(&before);
	cert_info_free(&after);
}

static void rsa_and_days(void **state)
{
	struct fixture *f = *state;
	struct pki_opts o = { .rsa_bits = 2048, .days = 30 };
	struct cert_info leaf;

	init_pki(f, &o);
	info_of(P(f, PKI_BROKER_CERT), 0, &leaf);
	assert_string_equal(leaf.key, "RSA 2048");
	assert_string_equal(leaf.sig_alg, "sha256WithRSAEncryption");
	assert_true(has(leaf.key_usage, leaf.n_key_usage, "keyEncipherment"));
	assert_true(leaf.not_after - leaf.not_before <= 30 * 86400 + 600);
	assert_true(leaf.not_after - leaf.not_before >= 30 * 86400);
	cert_info_free(&leaf);
}

static void server_and_device(void **state)
{
	struct fixture *f = *state;
	const char *sans[] = { "IP:192.168.28.63" };
	struct pki_opts o = { .dir = f->dir, .sans = sans, .n_sans = 1 };
	struct mq_err err = { 0 };
	struct cert_info ci;
	char ca[256];

	assert_int_equal(pki_server(&o, "iotsec.local", &err), -1);
	assert_non_null(strstr(err.msg, "certs init"));
	init_pki(f, NULL);
	snprintf(ca, sizeof ca, "%s", P(f, PKI_ROOT_CERT));
	mq_err_clear(&err);
	assert_int_equal(pki_server(&o, "iotsec.local", &err), 0);
	info_of(P(f, "iotsec.local.crt"), 0, &ci);
	assert_string_equal(ci.cn, "iotsec.local");
	assert_int_equal(ci.n_san_dns, 1);
	assert_string_equal(ci.san_dns[0], "iotsec.local");
	assert_int_equal(ci.n_san_ip, 1);
	assert_string_equal(ci.san_ip[0], "192.168.28.63");
	cert_info_free(&ci);
	assert_int_equal(mode_of(P(f, "iotsec.local.key")), 0600);
	assert_int_equal(verify(ca, P(f, "iotsec.local-fullchain.crt"), NULL, "192.168.28.63", X509_PURPOSE_SSL_SERVER, 2),
			 X509_V_OK);

	mq_err_clear(&err);
	assert_int_equal(pki_device(&o, "esp32-kitchen", &err), 0);
	info_of(P(f, "esp32-kitchen.crt"), 0, &ci);
	assert_string_equal(ci.cn, "esp32-kitchen");
	cert_info_free(&ci);
	assert_int_equal(verify(ca, P(f, "esp32-kitchen.crt"), NULL, NULL, X509_PURPOSE_SSL_CLIENT, 2), X509_V_OK);

	mq_err_clear(&err);
	assert_int_equal(pki_device(&o, "../evil", &err), -1);
	assert_non_null(strstr(err.msg, "cannot be a certificate name"));
	mq_err_clear(&err);
	assert_int_equal(pki_device(&o, "esp32-kitchen", &err), -1);
	assert_non_null(strstr(err.msg, "already exists"));
}

static void broken_kinds_carry_their_defect(void **state)
{
	struct fixture *f = *state;
	struct pki_opts o = { .dir = f->dir };
	struct mq_err err = { 0 };
	struct cert_info ci, lab_root;
	char ca[256], full[256], crt[256];
	size_t n = 0;

	assert_int_equal(pki_broken(&o, "expired", &err), -1);
	assert_non_null(strstr(err.msg, "certs init"));
	mq_err_clear(&err);
	assert_int_equal(pki_broken(&o, "bogus", &err), -1);
	assert_non_null(strstr(err.msg, "unknown broken kind"));
	init_pki(f, NULL);
	snprintf(ca, sizeof ca, "%s", P(f, PKI_ROOT_CERT));
	info_of(ca, 0, &lab_root);
	for (const char *const *k = pki_broken_kinds; *k; k++, n++) {
		mq_err_clear(&err);
		assert_non_null(pki_broken_describe(*k));
		if (pki_broken(&o, *k, &err) < 0)
			fail_msg("pki_broken %s: %s", *k, err.msg);
		assert_true(mq_file_exists(P(f, "broken-expired.key")) || strcmp(*k, "expired"));
	}
	assert_int_equal(n, 10);
	assert_null(pki_broken_describe("bogus"));

#define BROKEN(kind) (snprintf(full, sizeof full, "%s/broken-" kind "-fullchain.crt", f->dir), \
		      snprintf(crt, sizeof crt, "%s/broken-" kind ".crt", f->dir), full)

	assert_int_equal(verify(ca, BROKEN("expired"), "localhost", NULL, 0, -1), X509_V_ERR_CERT_HAS_EXPIRED);
	assert_int_equal(verify(ca, BROKEN("not-yet-valid"), "localhost", NULL, 0, -1), X509_V_ERR_CERT_NOT_YET_VALID);

	assert_int_equal(verify(ca, BROKEN("no-san"), NULL, NULL, X509_PURPOSE_SSL_SERVER, 2), X509_V_OK);
	info_of(crt, 0, &ci);
	assert_false(ci.has_san);
	assert_string_equal(ci.cn, "localhost");
	cert_info_free(&ci);
	assert_int_equal(verify(ca, BROKEN("no-san"), NULL, "127.0.0.1", 0, -1), X509_V_ERR_IP_ADDRESS_MISMATCH);

	assert_int_equal(verify(ca, BROKEN("dns-only"), "localhost", NULL, X509_PURPOSE_SSL_SERVER, 2), X509_V_OK);
	assert_int_equal(verify(ca, full, NULL, "127.0.0.1", 0, -1), X509_V_ERR_IP_ADDRESS_MISMATCH);
	info_of(crt, 0, &ci);
	assert_true(ci.has_san && ci.n_san_dns > 0 && ci.n_san_ip == 0);
	cert_info_free(&ci);

	assert_int_equal(verify(ca, BROKEN("wrong-eku"), "localhost", NULL, X509_PURPOSE_SSL_SERVER, -1),
			 X509_V_ERR_INVALID_PURPOSE);
	info_of(crt, 0, &ci);
	assert_true(ci.n_eku == 1 && !strcmp(ci.eku[0], "clientAuth"));
	cert_info_free(&ci);

	assert_int_equal(verify(ca, BROKEN("other-ca"), "localhost", NULL, 0, -1),
			 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	assert_int_equal(verify(P(f, "broken-other-ca-ca.crt"), BROKEN("other-ca"), "localhost", NULL,
				X509_PURPOSE_SSL_SERVER, 2), X509_V_OK);

	assert_int_equal(verify(ca, BROKEN("same-name-ca"), "localhost", NULL, 0, -1), X509_V_ERR_CERT_SIGNATURE_FAILURE);
	info_of(crt, 0, &ci);
	assert_string_equal(ci.issuer, lab_root.subject);
	cert_info_free(&ci);
	info_of(P(f, "broken-same-name-ca-ca.crt"), 0, &ci);
	assert_string_equal(ci.subject, lab_root.subject);
	assert_string_not_equal(ci.spki_sha256, lab_root.spki_sha256);
	cert_info_free(&ci);
	assert_int_equal(verify(P(f, "broken-same-name-ca-ca.crt"), BROKEN("same-name-ca"), "localhost", NULL, 0, -1),
			 X509_V_OK);

	assert_int_equal(verify(ca, BROKEN("self-signed"), "localhost", NULL, 0, -1),
			 X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
	info_of(crt, 0, &ci);
	assert_true(ci.self_signed);
	cert_info_free(&ci);
	assert_int_equal(verify(crt, BROKEN("self-signed"), "localhost", NULL, X509_PURPOSE_SSL_SERVER, 2), X509_V_OK);

	/* Accepted by a lax verifier, refused at the security level Debian's TLS uses. */
	assert_int_equal(verify(ca, BROKEN("weak-rsa-1024"), "localhost", NULL, 0, -1), X509_V_OK);
	assert_int_equal(verify(ca, full, "localhost", NULL, 0, 2), X509_V_ERR_EE_KEY_TOO_SMALL);
	info_of(crt, 0, &ci);
	assert_string_equal(ci.key, "RSA 1024");
	cert_info_free(&ci);

	assert_int_equal(verify(ca, BROKEN("sha1"), "localhost", NULL, 0, -1), X509_V_OK);
	assert_int_equal(verify(ca, full, "localhost", NULL, 0, 1), X509_V_ERR_CA_MD_TOO_WEAK);
	info_of(crt, 0, &ci);
	assert_string_equal(ci.sig_alg, "ecdsa-with-SHA1");
	cert_info_free(&ci);
#undef BROKEN
	cert_info_free(&lab_root);
}

static void san_checks(void **state)
{
	struct mq_err err;
	(void)state;

	static const char *good[] = { "DNS:localhost", "DNS:*.lab.example", "DNS:my-broker_1.local", "IP:10.0.0.1",
				      "IP:fe80::1", "IP:::1" };
	static const char *bad[] = { "localhost", "DNS:", "DNS:a..b", "DNS:a b", "DNS:x,IP:1.2.3.4", "IP:300.1.1.1",
				     "IP:host", "URI:http://x", "DNS:a*.example", "DNS:*.", "DNS:." };
	for (size_t i = 0; i < MQ_ARRAY_LEN(good); i++) {
		mq_err_clear(&err);
		if (pki_check_san(good[i], &err) < 0)
			fail_msg("%s rejected: %s", good[i], err.msg);
	}
	for (size_t i = 0; i < MQ_ARRAY_LEN(bad); i++) {
		mq_err_clear(&err);
		if (pki_check_san(bad[i], &err) == 0)
			fail_msg("%s accepted", bad[i]);
		assert_true(mq_err_isset(&err));
	}
}

static int fresh(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mq_rm_rf(f->dir, NULL), 0);
	assert_int_equal(mq_mkdir_p(f->dir, 0700, NULL), 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(init_makes_a_verifiable_pki, fresh),
		cmocka_unit_test_setup(never_overwrites_without_force, fresh),
		cmocka_unit_test_setup(rsa_and_days, fresh),
		cmocka_unit_test_setup(server_and_device, fresh),
		cmocka_unit_test_setup(broken_kinds_carry_their_defect, fresh),
		cmocka_unit_test(san_checks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
