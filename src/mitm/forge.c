#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "mqttls/forge.h"
#include "mqttls/util.h"

#define THROWAWAY_CA_CN "mqttls throw-away MITM CA"

int forge_parse_spec(char *spec, struct forge_opts *o, struct mq_err *err)
{
	if (!strcmp(spec, "self")) {
		o->mode = FORGE_SELF;
		return 0;
	}
	if (!strncmp(spec, "ca:", 3)) {
		char *comma = strchr(spec + 3, ',');
		if (!comma || comma == spec + 3 || !comma[1]) {
			mq_errf(err, "--forge ca: needs the CA certificate and its key: ca:CERT,KEY");
			return -1;
		}
		*comma = '\0';
		o->mode = FORGE_CA;
		o->ca_cert = spec + 3;
		o->ca_key = comma + 1;
		return 0;
	}
	mq_errf(err, "--forge must be 'self' or 'ca:CERT,KEY', not '%s'", spec);
	return -1;
}

X509 *forge_load_cert(const char *path, struct mq_err *err)
{
	char *text = NULL;
	size_t len = 0;
	BIO *b;
	X509 *x;

	if (mq_read_file(path, 1 << 20, &text, &len, err) < 0)
		return NULL;
	b = BIO_new_mem_buf(text, (int)len);
	x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	if (!x && b) {
		const unsigned char *p = (const unsigned char *)text;
		ERR_clear_error();
		x = d2i_X509(NULL, &p, (long)len);
	}
	BIO_free(b);
	free(text);
	if (!x)
		mq_errf_ssl(err, "%s holds no certificate (PEM or DER)", path);
	return x;
}

static EVP_PKEY *load_key(const char *path, struct mq_err *err)
{
	char *text = NULL;
	size_t len = 0;
	BIO *b;
	EVP_PKEY *k;

	if (mq_read_file(path, 1 << 20, &text, &len, err) < 0)
		return NULL;
	b = BIO_new_mem_buf(text, (int)len);
	k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	OPENSSL_cleanse(text, len);
	free(text);
	if (!k)
		mq_errf_ssl(err, "%s holds no unencrypted private key", path);
	return k;
}

/* Same kind of key as the original, so a device restricted to RSA or EC suites still connects. */
static EVP_PKEY *new_key_like(X509 *tmpl, struct mq_err *err)
{
	EVP_PKEY *k = NULL, *orig = tmpl ? X509_get0_pubkey(tmpl) : NULL;

	if (orig && EVP_PKEY_get_base_id(orig) == EVP_PKEY_RSA)
		k = EVP_RSA_gen(2048);
	else
		k = EVP_EC_gen("P-256");
	if (!k)
		mq_errf_ssl(err, "cannot generate the forged key");
	return k;
}

static int add_ext(X509 *issuer, X509 *subject, int nid, const char *value, struct mq_err *err)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, subject, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext || !X509_add_ext(subject, ext, -1)) {
		X509_EXTENSION_free(ext);
		mq_errf_ssl(err, "cannot add extension %s = %s", OBJ_nid2sn(nid), value);
		return -1;
	}
	X509_EXTENSION_free(ext);
	return 0;
}

static int set_serial_and_dates(X509 *x, int days, struct mq_err *err)
{
	unsigned char rnd[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (RAND_bytes(rnd, sizeof rnd) != 1)
		goto out;
	rnd[0] &= 0x7f;   /* a positive serial, as RFC 5280 wants */
	rnd[0] |= 0x01;
	bn = BN_bin2bn(rnd, sizeof rnd, NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	/* An hour of slack for devices whose clock is a little behind. */
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL))
		goto out;
	ok = 1;
out:
	BN_free(bn);
	if (!ok)
		mq_errf_ssl(err, "cannot set the forged certificate's serial and dates");
	return ok ? 0 : -1;
}

static int make_throwaway_ca(X509 **ca_out, EVP_PKEY **key_out, struct mq_err *err)
{
	X509 *ca = X509_new();
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_NAME *n = X509_NAME_new();

	if (!ca || !k || !n) {
		mq_errf_ssl(err, "cannot create the throw-away CA");
		goto fail;
	}
	if (!X509_set_version(ca, 2) || set_serial_and_dates(ca, 2, err) < 0 ||
	    !X509_NAME_add_entry_by_NID(n, NID_organizationName, MBSTRING_ASC,
					(const unsigned char *)FORGE_ORG, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_ASC,
					(const unsigned char *)THROWAWAY_CA_CN, -1, -1, 0) ||
	    !X509_set_subject_name(ca, n) || !X509_set_issuer_name(ca, n) || !X509_set_pubkey(ca, k)) {
		mq_errf_ssl(err, "cannot create the throw-away CA");
		goto fail;
	}
	if (add_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE,pathlen:0", err) < 0 ||
	    add_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign", err) < 0 ||
	    add_ext(ca, ca, NID_subject_key_identifier, "hash", err) < 0)
		goto fail;
	if (!X509_sign(ca, k, EVP_sha256())) {
		mq_errf_ssl(err, "cannot sign the throw-away CA");
		goto fail;
	}
	X509_NAME_free(n);
	*ca_out = ca;
	*key_out = k;
	return 0;
fail:
	X509_NAME_free(n);
	X509_free(ca);
	EVP_PKEY_free(k);
	return -1;
}

/* The template's subject with O replaced (or added before the CN) by the lab marker. */
static X509_NAME *cloned_subject(X509 *tmpl, const char *cn)
{
	X509_NAME *n = X509_NAME_new(), *src = tmpl ? X509_get_subject_name(tmpl) : NULL;
	bool have_org = false;
	int count = src ? X509_NAME_entry_count(src) : 0;

	if (!n)
		return NULL;
	for (int i = 0; i < count; i++) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(src, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		if (nid == NID_organizationName) {
			if (have_org)
				continue;
			have_org = true;
			if (!X509_NAME_add_entry_by_NID(n, NID_organizationName, MBSTRING_ASC,
							(const unsigned char *)FORGE_ORG, -1, -1, 0))
				goto fail;
			continue;
		}
		if (nid == NID_commonName && cn)
			continue;
		if (!X509_NAME_add_entry(n, e, -1, 0))
			goto fail;
	}
	if (!have_org) {
		int cn_at = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
		if (!X509_NAME_add_entry_by_NID(n, NID_organizationName, MBSTRING_ASC,
						(const unsigned char *)FORGE_ORG, -1, cn_at, 0))
			goto fail;
	}
	if (cn && !X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
					      (const unsigned char *)cn, -1, -1, 0))
		goto fail;
	return n;
fail:
	X509_NAME_free(n);
	return NULL;
}

/* "DNS:host,IP:1.2.3.4" for the given names; each name must be a plain host name or address. */
static int names_to_san(const char *const *names, size_t n, struct mq_str *out, struct mq_err *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = names[i];
		unsigned char tmp[16];
		bool ip = inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
		if (!*s || strlen(s) > 253 || (!ip && strpbrk(s, ",:=\\ \t\r\n"))) {
			mq_errf(err, "'%s' is not a host name or IP address for the forged certificate", s);
			return -1;
		}
		mq_str_printf(out, "%s%s:%s", i ? "," : "", ip ? "IP" : "DNS", s);
	}
	return 0;
}

int forge_make(const struct forge_opts *o, struct forge *out, struct mq_err *err)
{
	static const char *const default_names[] = { "localhost", "127.0.0.1", "::1" };
	const char *const *names = o->names;
	size_t n_names = o->n_names;
	X509 *leaf = NULL, *ca = NULL;
	EVP_PKEY *key = NULL, *ca_key = NULL;
	X509_NAME *subj = NULL;
	STACK_OF(X509) *chain = NULL;
	struct mq_str san = { 0 };
	int days = o->days > 0 ? o->days : 30;

	memset(out, 0, sizeof *out);
	if (!o->tmpl && n_names == 0) {
		names = default_names;
		n_names = MQ_ARRAY_LEN(default_names);
	}
	if (o->mode == FORGE_CA) {
		if (!o->ca_cert || !o->ca_key) {
			mq_errf(err, "--forge ca: needs a CA certificate and key");
			goto fail;
		}
		if (!(ca = forge_load_cert(o->ca_cert, err)) || !(ca_key = load_key(o->ca_key, err)))
			goto fail;
		if (!X509_check_private_key(ca, ca_key)) {
			ERR_clear_error();
			mq_errf(err, "%s is not the key of %s", o->ca_key, o->ca_cert);
			goto fail;
		}
		if (X509_check_ca(ca) == 0) {
			mq_errf(err, "%s is not a CA certificate (no CA:TRUE basic constraint): it cannot sign "
				"a forgery that devices would accept", o->ca_cert);
			goto fail;
		}
	} else if (make_throwaway_ca(&ca, &ca_key, err) < 0) {
		goto fail;
	}
	if (!(key = new_key_like(o->tmpl, err)) || !(leaf = X509_new()))
		goto fail;
	subj = cloned_subject(o->tmpl, n_names ? names[0] : NULL);
	if (!subj || !X509_set_version(leaf, 2) || set_serial_and_dates(leaf, days, err) < 0 ||
	    !X509_set_subject_name(leaf, subj) || !X509_set_issuer_name(leaf, X509_get_subject_name(ca)) ||
	    !X509_set_pubkey(leaf, key)) {
		mq_errf_ssl(err, "cannot build the forged certificate");
		goto fail;
	}
	if (n_names) {
		if (names_to_san(names, n_names, &san, err) < 0 ||
		    add_ext(ca, leaf, NID_subject_alt_name, san.s, err) < 0)
			goto fail;
	} else {
		/* Clone the real SAN extension byte for byte: the names a device checks are the same. */
		int at = X509_get_ext_by_NID(o->tmpl, NID_subject_alt_name, -1);
		if (at >= 0 && !X509_add_ext(leaf, X509_get_ext(o->tmpl, at), -1)) {
			mq_errf_ssl(err, "cannot copy the subjectAltName");
			goto fail;
		}
	}
	if (add_ext(ca, leaf, NID_basic_constraints, "critical,CA:FALSE", err) < 0 ||
	    add_ext(ca, leaf, NID_key_usage,
		    EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? "critical,digitalSignature,keyEncipherment"
							      : "critical,digitalSignature", err) < 0 ||
	    add_ext(ca, leaf, NID_ext_key_usage, "serverAuth", err) < 0 ||
	    add_ext(ca, leaf, NID_subject_key_identifier, "hash", err) < 0 ||
	    (X509_get_ext_by_NID(ca, NID_subject_key_identifier, -1) >= 0 &&
	     add_ext(ca, leaf, NID_authority_key_identifier, "keyid:always", err) < 0))
		goto fail;
	if (!X509_sign(leaf, ca_key, EVP_sha256())) {
		mq_errf_ssl(err, "cannot sign the forged certificate");
		goto fail;
	}
	if (!(chain = sk_X509_new_null()))
		goto fail;
	/* A given intermediate must travel with the leaf, as a real broker's fullchain does. */
	if (o->mode == FORGE_CA && X509_check_issued(ca, ca) != X509_V_OK) {
		if (!X509_up_ref(ca))
			goto fail;
		if (!sk_X509_push(chain, ca)) {
			X509_free(ca);
			goto fail;
		}
	}
	X509_NAME_free(subj);
	EVP_PKEY_free(ca_key);
	mq_str_free(&san);
	out->cert = leaf;
	out->key = key;
	out->chain = chain;
	out->ca = ca;
	return 0;
fail:
	mq_errf(err, "cannot forge the certificate");
	X509_NAME_free(subj);
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
	mq_str_free(&san);
	return -1;
}

void forge_free(struct forge *f)
{
	if (!f)
		return;
	X509_free(f->cert);
	EVP_PKEY_free(f->key);
	sk_X509_pop_free(f->chain, X509_free);
	X509_free(f->ca);
	memset(f, 0, sizeof *f);
}
