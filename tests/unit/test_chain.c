/* chain: cert_info from certificates made here with OpenSSL, matching, JSON, file loading. */
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

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "mqttls/chain.h"
#include "mqttls/util.h"

struct ext {
	int nid;
	const char *value;
};

/* A certificate for key, signed by (issuer, ikey) or by itself, with these extensions. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, long from_days,
		       long to_days, const EVP_MD *md, const struct ext *exts, size_t n)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234ABCD);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"mqttls test", -1, -1, 0);
	if (cn)
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	for (size_t i = 0; i < n; i++) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid, exts[i].value);
		assert_non_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, issuer ? ikey : key, md) > 0);
	return x;
}

static EVP_PKEY *ec_key(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(k);
	return k;
}

struct fixture {
	EVP_PKEY *ca_key, *leaf_key;
	X509 *ca, *leaf;
	char dir[64];
};

static int setup(void **state)
{
	static const struct ext ca_exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE,pathlen:0" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" },
		{ NID_subject_key_identifier, "hash" },
	};
	static const struct ext leaf_exts[] = {
		{ NID_basic_constraints, "CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "serverAuth" },
		{ NID_subject_alt_name, "DNS:localhost,DNS:*.example.com,IP:127.0.0.1,IP:::1" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
	};
	struct fixture *f = calloc(1, sizeof *f);

	f->ca_key = ec_key();
	f->leaf_key = ec_key();
	f->ca = make_cert(f->ca_key, "test root", NULL, NULL, 0, 3650, EVP_sha256(), ca_exts, MQ_ARRAY_LEN(ca_exts));
	f->leaf = make_cert(f->leaf_key, "broker", f->ca, f->ca_key, -1, 30, EVP_sha256(), leaf_exts,
			    MQ_ARRAY_LEN(leaf_exts));
	snprintf(f->dir, sizeof f->dir, "/tmp/mqttls-chain.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	X509_free(f->ca);
	X509_free(f->leaf);
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->leaf_key);
	assert_int_equal(mq_rm_rf(f->dir, NULL), 0);
	free(f);
	return 0;
}

static void info(X509 *x, struct cert_info *ci)
{
	struct mq_err err = { 0 };

	assert_int_equal(cert_info_from_x509(x, 0, ci, &err), 0);
}

static void leaf_fields(void **state)
{
	struct fixture *f = *state;
	struct cert_info ci, ca;
	unsigned char md[32], *der = NULL;
	unsigned int mdlen;
	char hex[96];
	int n;

	info(f->leaf, &ci);
	info(f->ca, &ca);
	assert_string_equal(ci.subject, "CN=broker,O=mqttls test");
	assert_string_equal(ci.issuer, "CN=test root,O=mqttls test");
	assert_string_equal(ci.serial, "1234ABCD");
	assert_string_equal(ci.cn, "broker");
	assert_true(ci.has_san);
	assert_int_equal(ci.n_san_dns, 2);
	assert_string_equal(ci.san_dns[0], "localhost");
	assert_string_equal(ci.san_dns[1], "*.example.com");
	assert_int_equal(ci.n_san_ip, 2);
	assert_string_equal(ci.san_ip[0], "127.0.0.1");
	assert_string_equal(ci.san_ip[1], "::1");
	assert_string_equal(ci.key, "EC P-256");
	assert_int_equal(ci.key_bits, 256);
	assert_string_equal(ci.sig_alg, "ecdsa-with-SHA256");
	assert_true(ci.has_key_usage);
	assert_int_equal(ci.n_key_usage, 1);
	assert_string_equal(ci.key_usage[0], "digitalSignature");
	assert_true(ci.has_eku);
	assert_int_equal(ci.n_eku, 1);
	assert_string_equal(ci.eku[0], "serverAuth");
	assert_true(ci.has_bc);
	assert_false(ci.is_ca);
	assert_false(ci.bc_critical);
	assert_int_equal(ci.pathlen, -1);
	assert_false(ci.self_issued);
	assert_false(ci.self_signed);
	assert_non_null(ci.aki);
	assert_non_null(ca.ski);
	assert_string_equal(ci.aki, ca.ski);
	assert_true(ci.not_before < time(NULL) && ci.not_after > time(NULL));
	assert_true(ci.not_after - ci.not_before == 31 * 86400);

	/* The fingerprints, computed independently. */
	assert_true(X509_digest(f->leaf, EVP_sha256(), md, &mdlen));
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + i * 3, 4, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	assert_string_equal(ci.sha256, hex);
	n = i2d_PUBKEY(f->leaf_key, &der);
	assert_true(n > 0);
	assert_true(EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL));
	OPENSSL_free(der);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + i * 3, 4, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	assert_string_equal(ci.spki_sha256, hex);

	cert_info_free(&ci);
	cert_info_free(&ca);
}

static void ca_fields(void **state)
{
	struct fixture *f = *state;
	struct cert_info ci;

	info(f->ca, &ci);
	assert_true(ci.has_bc);
	assert_true(ci.bc_critical);
	assert_true(ci.is_ca);
	assert_int_equal(ci.pathlen, 0);
	assert_int_equal(ci.n_key_usage, 2);
	assert_string_equal(ci.key_usage[0], "keyCertSign");
	assert_string_equal(ci.key_usage[1], "cRLSign");
	assert_false(ci.has_san);
	assert_false(ci.has_eku);
	assert_true(ci.self_issued);
	assert_true(ci.self_signed);
	assert_null(ci.aki);
	cert_info_free(&ci);
}

static void rsa_sha1_and_unrestricted(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	X509 *x;
	struct cert_info ci;
	(void)state;

	assert_non_null(k);
	x = make_cert(k, NULL, NULL, NULL, 0, 1, EVP_sha1(), NULL, 0);
	info(x, &ci);
	assert_string_equal(ci.key, "RSA 2048");
	assert_int_equal(ci.key_bits, 2048);
	assert_string_equal(ci.sig_alg, "sha1WithRSAEncryption");
	assert_null(ci.cn);
	assert_false(ci.has_bc);
	assert_false(ci.has_key_usage);
	assert_false(ci.has_eku);
	assert_true(ci.self_signed);
	cert_info_free(&ci);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void host_matching(void **state)
{
	struct fixture *f = *state;
	struct cert_info ci;
	const char *m = NULL;

	info(f->leaf, &ci);
	assert_true(cert_info_matches_host(&ci, "localhost", &m));
	assert_string_equal(m, "localhost");
	assert_true(cert_info_matches_host(&ci, "LOCALHOST.", NULL));
	assert_true(cert_info_matches_host(&ci, "a.example.com", &m));
	assert_string_equal(m, "*.example.com");
	assert_false(cert_info_matches_host(&ci, "example.com", NULL));
	assert_false(cert_info_matches_host(&ci, "a.b.example.com", NULL));
	assert_false(cert_info_matches_host(&ci, ".example.com", NULL));
	assert_true(cert_info_matches_host(&ci, "127.0.0.1", &m));
	assert_string_equal(m, "127.0.0.1");
	assert_true(cert_info_matches_host(&ci, "0:0:0:0:0:0:0:1", &m));
	assert_string_equal(m, "::1");
	assert_false(cert_info_matches_host(&ci, "127.0.0.2", &m));
	assert_null(m);
	assert_false(cert_info_matches_host(&ci, "broker", NULL)); /* the CN is ignored when a SAN exists */
	assert_false(cert_info_matches_host(&ci, "", NULL));
	cert_info_free(&ci);
}

static void cn_only_and_bad_wildcards(void **state)
{
	static const struct ext wild[] = { { NID_subject_alt_name, "DNS:*.com,DNS:f*.example.org,DNS:127.0.0.1" } };
	EVP_PKEY *k = ec_key();
	X509 *cn_only = make_cert(k, "mybroker.local", NULL, NULL, 0, 1, EVP_sha256(), NULL, 0);
	X509 *w = make_cert(k, "x", NULL, NULL, 0, 1, EVP_sha256(), wild, 1);
	X509 *ip_cn = make_cert(k, "192.168.1.10", NULL, NULL, 0, 1, EVP_sha256(), NULL, 0);
	struct cert_info a, b, c;
	const char *m;
	(void)state;

	info(cn_only, &a);
	info(w, &b);
	info(ip_cn, &c);
	assert_false(a.has_san);
	assert_true(cert_info_matches_host(&a, "MyBroker.local", &m));
	assert_string_equal(m, "mybroker.local");
	assert_false(cert_info_matches_host(&b, "example.com", NULL));
	assert_false(cert_info_matches_host(&b, "foo.example.org", NULL));
	/* An address is never matched against DNS names nor the CN. */
	assert_false(cert_info_matches_host(&b, "127.0.0.1", NULL));
	assert_false(cert_info_matches_host(&c, "192.168.1.10", NULL));
	cert_info_free(&a);
	cert_info_free(&b);
	cert_info_free(&c);
	X509_free(cn_only);
	X509_free(w);
	X509_free(ip_cn);
	EVP_PKEY_free(k);
}

/* "good.com\0.evil.com" must never be taken for good.com, nor truncate anything. */
static void embedded_nul_in_san(void **state)
{
	static const char evil[] = "good.com\0.evil.com";
	EVP_PKEY *k = ec_key();
	X509 *x = make_cert(k, "good.com", NULL, NULL, 0, 1, EVP_sha256(), NULL, 0);
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	struct cert_info ci;
	cJSON *j;
	char *txt;
	(void)state;

	ASN1_STRING_set(s, evil, sizeof evil - 1);
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	sk_GENERAL_NAME_push(gens, g);
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0), 1);
	GENERAL_NAMES_free(gens);
	info(x, &ci);
	assert_int_equal(ci.n_san_dns, 1);
	assert_string_equal(ci.san_dns[0], "good.com\\x00.evil.com");
	assert_false(cert_info_matches_host(&ci, "good.com", NULL));
	j = cert_info_to_json(&ci);
	txt = cJSON_PrintUnformatted(j);
	assert_non_null(strstr(txt, "good.com\\\\x00.evil.com"));
	free(txt);
	cJSON_Delete(j);
	cert_info_free(&ci);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void json_shape(void **state)
{
	struct fixture *f = *state;
	struct cert_info v[2];
	cJSON *a, *o, *bc;

	info(f->leaf, &v[0]);
	assert_int_equal(cert_info_from_x509(f->ca, 1, &v[1], NULL), 0);
	a = chain_to_json(v, 2);
	assert_int_equal(cJSON_GetArraySize(a), 2);
	o = cJSON_GetArrayItem(a, 0);
	assert_int_equal(cJSON_GetObjectItem(o, "depth")->valueint, 0);
	assert_string_equal(cJSON_GetObjectItem(o, "subject")->valuestring, "CN=broker,O=mqttls test");
	assert_string_equal(cJSON_GetObjectItem(o, "serial")->valuestring, "1234ABCD");
	assert_int_equal(strlen(cJSON_GetObjectItem(o, "not_before")->valuestring), 20);
	assert_true(cJSON_GetObjectItem(o, "not_after")->valuestring[19] == 'Z');
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "san_dns")), 2);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "san_ip"), 1)->valuestring, "::1");
	assert_string_equal(cJSON_GetObjectItem(o, "key")->valuestring, "EC P-256");
	assert_string_equal(cJSON_GetObjectItem(o, "sig_alg")->valuestring, "ecdsa-with-SHA256");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "eku"), 0)->valuestring, "serverAuth");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "is_ca")));
	assert_int_equal(strlen(cJSON_GetObjectItem(o, "sha256")->valuestring), 95);
	o = cJSON_GetArrayItem(a, 1);
	assert_int_equal(cJSON_GetObjectItem(o, "depth")->valueint, 1);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "is_ca")));
	bc = cJSON_GetObjectItem(o, "basic_constraints");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(bc, "critical")));
	assert_int_equal(cJSON_GetObjectItem(bc, "pathlen")->valueint, 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "self_signed")));
	cJSON_Delete(a);
	cert_info_free(&v[0]);
	cert_info_free(&v[1]);
}

static char *print_to_string(const struct cert_info *ci, const char *host, bool color)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	cert_info_print(m, ci, 2, host, color);
	fclose(m);
	return buf;
}

static void human_print(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *k = ec_key();
	X509 *old = make_cert(k, "old", NULL, NULL, -30, -2, EVP_sha256(), NULL, 0);
	struct cert_info ci, o;
	char *s;

	info(f->leaf, &ci);
	info(old, &o);
	s = print_to_string(&ci, "127.0.0.1", false);
	assert_non_null(strstr(s, "  subject      CN=broker,O=mqttls test\n"));
	assert_non_null(strstr(s, "SAN IP       127.0.0.1 (matches), ::1\n"));
	assert_non_null(strstr(s, "EC P-256"));
	assert_null(strchr(s, '\033'));
	free(s);
	s = print_to_string(&ci, "10.0.0.1", true);
	assert_non_null(strstr(s, "10.0.0.1 is not covered"));
	assert_non_null(strchr(s, '\033'));
	free(s);
	s = print_to_string(&o, NULL, false);
	assert_non_null(strstr(s, "EXPIRED 2 days ago"));
	assert_non_null(strstr(s, "SAN          none"));
	assert_non_null(strstr(s, "(self-signed)"));
	free(s);
	cert_info_free(&ci);
	cert_info_free(&o);
	X509_free(old);
	EVP_PKEY_free(k);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

static char *pem_of(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s;
	long n;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &data);
	s = strndup(data, (size_t)n);
	BIO_free(b);
	return s;
}

static int load(const char *path, STACK_OF(X509) **sk, bool *der, struct mq_err *err)
{
	mq_err_clear(err);
	return chain_load_file(path, sk, der, err);
}

static void load_files(void **state)
{
	struct fixture *f = *state;
	char path[128], *a = pem_of(f->leaf), *b = pem_of(f->ca), *both;
	STACK_OF(X509) *sk = NULL;
	struct mq_err err;
	unsigned char *der = NULL;
	bool was_der = true;
	int n;

	snprintf(path, sizeof path, "%s/chain.pem", f->dir);
	assert_true(asprintf(&both, "subject=whatever openssl printed\r\n%s%s", a, b) > 0);
	write_file(path, both, strlen(both));
	assert_int_equal(load(path, &sk, &was_der, &err), 2);
	assert_false(was_der);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), f->leaf), 0);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 1), f->ca), 0);
	sk_X509_pop_free(sk, X509_free);

	snprintf(path, sizeof path, "%s/ca.der", f->dir);
	n = i2d_X509(f->ca, &der);
	write_file(path, der, (size_t)n);
	OPENSSL_free(der);
	assert_int_equal(load(path, &sk, &was_der, &err), 1);
	assert_true(was_der);
	sk_X509_pop_free(sk, X509_free);

	snprintf(path, sizeof path, "%s/missing.pem", f->dir);
	assert_int_equal(load(path, &sk, NULL, &err), -1);
	assert_null(sk);
	assert_non_null(strstr(err.msg, "No such file"));

	snprintf(path, sizeof path, "%s/empty.pem", f->dir);
	write_file(path, "\n \n", 3);
	assert_int_equal(load(path, &sk, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "is empty"));

	assert_int_equal(load(f->dir, &sk, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "directory"));

	snprintf(path, sizeof path, "%s/key.pem", f->dir);
	{
		BIO *kb = BIO_new(BIO_s_mem());
		char *data;
		long kl;
		PEM_write_bio_PrivateKey(kb, f->leaf_key, NULL, NULL, 0, NULL, NULL);
		kl = BIO_get_mem_data(kb, &data);
		write_file(path, data, (size_t)kl);
		BIO_free(kb);
	}
	assert_int_equal(load(path, &sk, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "a private key, not a certificate"));

	snprintf(path, sizeof path, "%s/key.der", f->dir);
	der = NULL;
	n = i2d_PrivateKey(f->leaf_key, &der);
	write_file(path, der, (size_t)n);
	OPENSSL_free(der);
	assert_int_equal(load(path, &sk, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "private key (DER)"));

	snprintf(path, sizeof path, "%s/text.txt", f->dir);
	write_file(path, "hello, I am not a certificate\n", 30);
	assert_int_equal(load(path, &sk, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "neither PEM nor DER"));

	snprintf(path, sizeof path, "%s/damaged.pem", f->dir);
	a[40] = '!';
	a[41] = '*';
	write_file(path, a, strlen(a));
	assert_int_equal(load(path, &sk, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "damaged"));

	snprintf(path, sizeof path, "%s/truncated.der", f->dir);
	der = NULL;
	n = i2d_X509(f->ca, &der);
	write_file(path, der, (size_t)n / 2);
	OPENSSL_free(der);
	assert_int_equal(load(path, &sk, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "neither PEM nor DER"));

	if (geteuid() != 0) {
		snprintf(path, sizeof path, "%s/chain.pem", f->dir);
		chmod(path, 0);
		assert_int_equal(load(path, &sk, NULL, &err), -1);
		assert_non_null(strstr(err.msg, "Permission denied"));
	}
	free(a);
	free(b);
	free(both);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(leaf_fields),
		cmocka_unit_test(ca_fields),
		cmocka_unit_test(rsa_sha1_and_unrestricted),
		cmocka_unit_test(host_matching),
		cmocka_unit_test(cn_only_and_bad_wildcards),
		cmocka_unit_test(embedded_nul_in_san),
		cmocka_unit_test(json_shape),
		cmocka_unit_test(human_print),
		cmocka_unit_test(load_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
