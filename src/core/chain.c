/*
 * chain — X.509 certificates as mqttls reports them.
 *
 * Everything here reads certificates that came from a file, a broker or a pcap:
 * every string is copied out, forced to valid UTF-8 without NULs (so JSON stays
 * valid and "good.com\0.evil.com" cannot pass for good.com), and counts are capped.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "mqttls/chain.h"
#include "mqttls/util.h"

/* More than any real certificate carries; a hostile one gets truncated, not trusted. */
#define CHAIN_MAX_SAN      4096
#define CHAIN_MAX_EKU      64
/* Bigger than the system CA bundle (about 150 roots, 220 KB). */
#define CHAIN_MAX_CERTS    1000
#define CHAIN_MAX_FILE     (8u << 20)

/* ---- strings out of certificates ----------------------------------------------------------- */

/*
 * A copy of untrusted bytes that is a valid C and UTF-8 string. Bytes that are not
 * (a NUL, invalid UTF-8) make the whole value escaped, so it is visibly odd and never
 * equal to the clean name it may be imitating.
 */
static char *dup_untrusted(const void *p, size_t len)
{
	char *s;

	if (mq_utf8_valid(p, len)) {
		s = malloc(len + 1);
		if (s) {
			memcpy(s, p, len);
			s[len] = '\0';
		}
		return s;
	}
	return mq_escape_dup(p, len);
}

static char *name_string(const X509_NAME *name)
{
	/* RFC 2253 order (CN first) but UTF-8 kept readable instead of \XX-escaped. */
	unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *s = NULL;
	long n;

	if (!b)
		return NULL;
	if (X509_NAME_print_ex(b, name, 0, flags) < 0) {
		/* Undecodable string types: fall back to the escaped one-line form. */
		(void)BIO_reset(b);
		if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0)
			(void)BIO_reset(b);
	}
	n = BIO_get_mem_data(b, &data);
	s = dup_untrusted(data ? data : "", n > 0 ? (size_t)n : 0);
	BIO_free(b);
	ERR_clear_error();
	return s;
}

static char *asn1_string_dup(const ASN1_STRING *as)
{
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, as);
	char *s;

	if (n < 0) {
		ERR_clear_error();
		return dup_untrusted(ASN1_STRING_get0_data(as), (size_t)ASN1_STRING_length(as));
	}
	s = dup_untrusted(utf8, (size_t)n);
	OPENSSL_free(utf8);
	return s;
}

static char *hex_colons(const unsigned char *p, size_t n)
{
	char *s = malloc(n ? n * 3 : 1);

	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(s + i * 3, 4, "%02X%s", p[i], i + 1 < n ? ":" : "");
	return s;
}

static void hex_colons_buf(const unsigned char *p, size_t n, char *out, size_t size)
{
	char *s = hex_colons(p, n);

	snprintf(out, size, "%s", s ? s : "");
	free(s);
}

static int strv_push(char ***v, size_t *n, char *s)
{
	char **nv;

	if (!s)
		return -1;
	nv = realloc(*v, (*n + 1) * sizeof **v);
	if (!nv) {
		free(s);
		return -1;
	}
	*v = nv;
	(*v)[(*n)++] = s;
	return 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- the fields ---------------------------------------------------------------------------- */

static long long asn1_time_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm)) {
		ERR_clear_error();
		return 0;
	}
	return (long long)timegm(&tm);
}

static char *serial_hex(const X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex, *s;

	if (!bn)
		return strdup("?");
	hex = BN_bn2hex(bn);
	BN_free(bn);
	if (!hex)
		return strdup("?");
	s = strdup(hex);
	OPENSSL_free(hex);
	return s;
}

static char *ip_text(const ASN1_OCTET_STRING *os)
{
	const unsigned char *p = ASN1_STRING_get0_data(os);
	int len = ASN1_STRING_length(os);
	char buf[INET6_ADDRSTRLEN + 1];
	struct mq_str s = { 0 };

	if (len == 4 && inet_ntop(AF_INET, p, buf, sizeof buf))
		return strdup(buf);
	if (len == 16 && inet_ntop(AF_INET6, p, buf, sizeof buf))
		return strdup(buf);
	/* An iPAddress of another length is malformed; show its bytes rather than hide it. */
	mq_str_printf(&s, "invalid(%d bytes", len);
	for (int i = 0; i < len && i < 32; i++)
		mq_str_printf(&s, "%s%02X", i ? "" : ":", p[i]);
	mq_str_printf(&s, ")");
	return mq_str_take(&s);
}

/* Every subjectAltName extension (a hostile certificate may carry several). */
static int fill_san(X509 *x, struct cert_info *ci)
{
	int pos = -1;

	while ((pos = X509_get_ext_by_NID(x, NID_subject_alt_name, pos)) >= 0) {
		GENERAL_NAMES *gens = X509V3_EXT_d2i(X509_get_ext(x, pos));

		ci->has_san = true;
		if (!gens) {
			ERR_clear_error();
			continue;
		}
		for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
			const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
			int rc = 0;

			if (ci->n_san_dns + ci->n_san_ip >= CHAIN_MAX_SAN)
				break;
			if (g->type == GEN_DNS)
				rc = strv_push(&ci->san_dns, &ci->n_san_dns,
					       dup_untrusted(ASN1_STRING_get0_data(g->d.dNSName),
							     (size_t)ASN1_STRING_length(g->d.dNSName)));
			else if (g->type == GEN_IPADD)
				rc = strv_push(&ci->san_ip, &ci->n_san_ip, ip_text(g->d.iPAddress));
			if (rc < 0) {
				GENERAL_NAMES_free(gens);
				return -1;
			}
		}
		GENERAL_NAMES_free(gens);
	}
	return 0;
}

static char *last_cn(X509 *x)
{
	const X509_NAME *name = X509_get_subject_name(x);
	int pos = -1, last = -1;

	while ((pos = X509_NAME_get_index_by_NID(name, NID_commonName, pos)) >= 0)
		last = pos;
	if (last < 0)
		return NULL;
	return asn1_string_dup(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
}

static const struct {
	int id;
	const char *name;
	bool sized;   /* "RSA 2048": the size is part of the name */
} key_types[] = {
	{ EVP_PKEY_RSA, "RSA", true },
	{ EVP_PKEY_RSA_PSS, "RSA-PSS", true },
	{ EVP_PKEY_DSA, "DSA", true },
	{ EVP_PKEY_EC, "EC", false },
	{ EVP_PKEY_ED25519, "Ed25519", false },
	{ EVP_PKEY_ED448, "Ed448", false },
};

static char *ec_key_name(EVP_PKEY *pk)
{
	char group[80], buf[128];
	const char *nist;
	size_t gl = 0;

	if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &gl)) {
		ERR_clear_error();
		snprintf(buf, sizeof buf, "EC (explicit parameters, %d bits)", EVP_PKEY_get_bits(pk));
		return strdup(buf);
	}
	nist = EC_curve_nid2nist(OBJ_txt2nid(group));
	snprintf(buf, sizeof buf, "EC %s", nist ? nist : group);
	return strdup(buf);
}

static char *key_name(X509 *x, int *bits)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char buf[128];
	int id;

	*bits = 0;
	if (!pk) {
		X509_PUBKEY *xpk = X509_get_X509_PUBKEY(x);
		ASN1_OBJECT *alg = NULL;
		char oid[80] = "?";

		ERR_clear_error();
		if (xpk && X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, xpk) && alg)
			OBJ_obj2txt(oid, sizeof oid, alg, 0);
		snprintf(buf, sizeof buf, "unsupported key (%s)", oid);
		return dup_untrusted(buf, strlen(buf));
	}
	*bits = EVP_PKEY_get_bits(pk);
	id = EVP_PKEY_get_base_id(pk);
	for (size_t i = 0; i < MQ_ARRAY_LEN(key_types); i++) {
		if (key_types[i].id != id)
			continue;
		if (id == EVP_PKEY_EC)
			return ec_key_name(pk);
		if (key_types[i].sized)
			snprintf(buf, sizeof buf, "%s %d", key_types[i].name, *bits);
		else
			snprintf(buf, sizeof buf, "%s", key_types[i].name);
		return strdup(buf);
	}
	snprintf(buf, sizeof buf, "%s %d", OBJ_nid2sn(id) ? OBJ_nid2sn(id) : "unknown", *bits);
	return strdup(buf);
}

static char *obj_name(const ASN1_OBJECT *o)
{
	char buf[128];
	int nid = OBJ_obj2nid(o);

	if (nid != NID_undef && OBJ_nid2ln(nid))
		return strdup(OBJ_nid2ln(nid));
	/* An OID OpenSSL does not know: its dotted form is all there is to show. */
	OBJ_obj2txt(buf, sizeof buf, o, 1);
	return strdup(buf);
}

static char *sig_alg_name(const X509 *x)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *o = NULL;

	X509_get0_signature(NULL, &alg, x);
	if (!alg)
		return strdup("?");
	X509_ALGOR_get0(&o, NULL, NULL, alg);
	return o ? obj_name(o) : strdup("?");
}

static const struct {
	uint32_t bit;
	const char *name;
} key_usages[] = {
	{ KU_DIGITAL_SIGNATURE, "digitalSignature" },
	{ KU_NON_REPUDIATION, "nonRepudiation" },
	{ KU_KEY_ENCIPHERMENT, "keyEncipherment" },
	{ KU_DATA_ENCIPHERMENT, "dataEncipherment" },
	{ KU_KEY_AGREEMENT, "keyAgreement" },
	{ KU_KEY_CERT_SIGN, "keyCertSign" },
	{ KU_CRL_SIGN, "cRLSign" },
	{ KU_ENCIPHER_ONLY, "encipherOnly" },
	{ KU_DECIPHER_ONLY, "decipherOnly" },
};

static int fill_key_usage(X509 *x, struct cert_info *ci)
{
	ASN1_BIT_STRING *ku;
	uint32_t v = 0;
	int crit = -1;

	ci->has_key_usage = X509_get_ext_by_NID(x, NID_key_usage, -1) >= 0;
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	if (!ku) {
		ERR_clear_error();
		return 0;
	}
	/* KU_* are the DER bit string's first two bytes, as OpenSSL itself reads them. */
	if (ku->length > 0)
		v = ku->data[0];
	if (ku->length > 1)
		v |= (uint32_t)ku->data[1] << 8;
	for (size_t i = 0; i < MQ_ARRAY_LEN(key_usages); i++) {
		if ((v & key_usages[i].bit) &&
		    strv_push(&ci->key_usage, &ci->n_key_usage, strdup(key_usages[i].name)) < 0) {
			ASN1_BIT_STRING_free(ku);
			return -1;
		}
	}
	ASN1_BIT_STRING_free(ku);
	return 0;
}

static int fill_eku(X509 *x, struct cert_info *ci)
{
	EXTENDED_KEY_USAGE *eku;

	ci->has_eku = X509_get_ext_by_NID(x, NID_ext_key_usage, -1) >= 0;
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	if (!eku) {
		ERR_clear_error();
		return 0;
	}
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku) && i < CHAIN_MAX_EKU; i++) {
		const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
		int nid = OBJ_obj2nid(o);
		char buf[128];
		char *s;

		/* Short names are the ones people know: serverAuth, clientAuth. */
		if (nid != NID_undef && OBJ_nid2sn(nid))
			s = strdup(OBJ_nid2sn(nid));
		else
			s = strdup(OBJ_obj2txt(buf, sizeof buf, o, 1) > 0 ? buf : "?");
		if (strv_push(&ci->eku, &ci->n_eku, s) < 0) {
			sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
			return -1;
		}
	}
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return 0;
}

static void fill_basic_constraints(X509 *x, struct cert_info *ci)
{
	BASIC_CONSTRAINTS *bc;
	int crit = -1;

	ci->pathlen = -1;
	ci->has_bc = X509_get_ext_by_NID(x, NID_basic_constraints, -1) >= 0;
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	if (!bc) {
		ERR_clear_error();
		return;
	}
	ci->bc_critical = crit == 1;
	ci->is_ca = bc->ca != 0;
	if (bc->pathlen) {
		long v = ASN1_INTEGER_get(bc->pathlen);
		ci->pathlen = v < 0 || v > INT_MAX ? INT_MAX : (int)v;
	}
	BASIC_CONSTRAINTS_free(bc);
}

static void fill_digests(X509 *x, struct cert_info *ci)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	int derlen;

	if (X509_digest(x, EVP_sha256(), md, &mdlen))
		hex_colons_buf(md, mdlen, ci->sha256, sizeof ci->sha256);
	/* The whole SubjectPublicKeyInfo, as pinning tools hash it (not X509_pubkey_digest). */
	derlen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (derlen > 0 && EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha256(), NULL))
		hex_colons_buf(md, mdlen, ci->spki_sha256, sizeof ci->spki_sha256);
	OPENSSL_free(der);
	ERR_clear_error();
}

int cert_info_from_x509(X509 *x, int depth, struct cert_info *out, struct mq_err *err)
{
	const ASN1_OCTET_STRING *kid;

	memset(out, 0, sizeof *out);
	out->pathlen = -1;
	if (!x) {
		mq_errf(err, "no certificate");
		return -1;
	}
	out->depth = depth;
	out->subject = name_string(X509_get_subject_name(x));
	out->issuer = name_string(X509_get_issuer_name(x));
	out->serial = serial_hex(x);
	out->not_before = asn1_time_unix(X509_get0_notBefore(x));
	out->not_after = asn1_time_unix(X509_get0_notAfter(x));
	out->cn = last_cn(x);
	out->key = key_name(x, &out->key_bits);
	out->sig_alg = sig_alg_name(x);
	if (!out->subject || !out->issuer || !out->serial || !out->key || !out->sig_alg)
		goto fail;
	if (fill_san(x, out) < 0 || fill_key_usage(x, out) < 0 || fill_eku(x, out) < 0)
		goto fail;
	fill_basic_constraints(x, out);
	if ((kid = X509_get0_subject_key_id(x)) != NULL)
		out->ski = hex_colons(ASN1_STRING_get0_data(kid), (size_t)ASN1_STRING_length(kid));
	if ((kid = X509_get0_authority_key_id(x)) != NULL)
		out->aki = hex_colons(ASN1_STRING_get0_data(kid), (size_t)ASN1_STRING_length(kid));
	fill_digests(x, out);
	out->self_issued = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
	out->self_signed = out->self_issued && X509_self_signed(x, 1) == 1;
	ERR_clear_error();
	return 0;
fail:
	cert_info_free(out);
	ERR_clear_error();
	mq_errf(err, "out of memory reading a certificate");
	return -1;
}

void cert_info_free(struct cert_info *ci)
{
	if (!ci)
		return;
	free(ci->subject);
	free(ci->issuer);
	free(ci->serial);
	strv_free(ci->san_dns, ci->n_san_dns);
	strv_free(ci->san_ip, ci->n_san_ip);
	free(ci->cn);
	free(ci->key);
	free(ci->sig_alg);
	strv_free(ci->key_usage, ci->n_key_usage);
	strv_free(ci->eku, ci->n_eku);
	free(ci->ski);
	free(ci->aki);
	memset(ci, 0, sizeof *ci);
	ci->pathlen = -1;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static cJSON *strv_json(char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

cJSON *cert_info_to_json(const struct cert_info *ci)
{
	cJSON *o = cJSON_CreateObject(), *bc;
	char t[32];

	if (!o)
		return NULL;
	/* The contract's fields first, in its order. */
	cJSON_AddNumberToObject(o, "depth", ci->depth);
	add_str_or_null(o, "subject", ci->subject);
	add_str_or_null(o, "issuer", ci->issuer);
	add_str_or_null(o, "serial", ci->serial);
	cJSON_AddStringToObject(o, "not_before", mq_iso8601(ci->not_before, t, sizeof t));
	cJSON_AddStringToObject(o, "not_after", mq_iso8601(ci->not_after, t, sizeof t));
	cJSON_AddItemToObject(o, "san_dns", strv_json(ci->san_dns, ci->n_san_dns));
	cJSON_AddItemToObject(o, "san_ip", strv_json(ci->san_ip, ci->n_san_ip));
	add_str_or_null(o, "key", ci->key);
	add_str_or_null(o, "sig_alg", ci->sig_alg);
	cJSON_AddItemToObject(o, "eku", strv_json(ci->eku, ci->n_eku));
	cJSON_AddBoolToObject(o, "is_ca", ci->is_ca);
	cJSON_AddStringToObject(o, "sha256", ci->sha256);
	/* Extensions of the contract. */
	add_str_or_null(o, "cn", ci->cn);
	cJSON_AddNumberToObject(o, "key_bits", ci->key_bits);
	cJSON_AddBoolToObject(o, "has_san", ci->has_san);
	cJSON_AddBoolToObject(o, "has_eku", ci->has_eku);
	cJSON_AddBoolToObject(o, "has_key_usage", ci->has_key_usage);
	cJSON_AddItemToObject(o, "key_usage", strv_json(ci->key_usage, ci->n_key_usage));
	if (ci->has_bc && (bc = cJSON_AddObjectToObject(o, "basic_constraints")) != NULL) {
		cJSON_AddBoolToObject(bc, "critical", ci->bc_critical);
		cJSON_AddBoolToObject(bc, "ca", ci->is_ca);
		if (ci->pathlen >= 0)
			cJSON_AddNumberToObject(bc, "pathlen", ci->pathlen);
		else
			cJSON_AddNullToObject(bc, "pathlen");
	} else {
		cJSON_AddNullToObject(o, "basic_constraints");
	}
	add_str_or_null(o, "ski", ci->ski);
	add_str_or_null(o, "aki", ci->aki);
	cJSON_AddStringToObject(o, "spki_sha256", ci->spki_sha256);
	cJSON_AddBoolToObject(o, "self_issued", ci->self_issued);
	cJSON_AddBoolToObject(o, "self_signed", ci->self_signed);
	return o;
}

cJSON *chain_to_json(const struct cert_info *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cert_info_to_json(&v[i]));
	return a;
}

/* ---- host name matching (RFC 6125 / RFC 2818) ---------------------------------------------- */

/* host without one trailing dot, lower-cased into buf; false when it does not fit or is empty. */
static bool norm_host(const char *host, char *buf, size_t size)
{
	size_t n = strlen(host);

	if (n && host[n - 1] == '.')
		n--;
	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] - 'A' + 'a' : host[i]);
	buf[n] = '\0';
	return true;
}

/*
 * One presented DNS identifier against the host. A wildcard is accepted only as the
 * whole left-most label ("*.example.com", as browsers and mosquitto do), matches exactly
 * one non-empty label, and needs at least two labels after it ("*.com" never matches).
 */
static bool dns_id_matches(const char *pattern, const char *host)
{
	char p[256], h[256];
	const char *pdot, *hdot;

	if (!norm_host(pattern, p, sizeof p) || !norm_host(host, h, sizeof h))
		return false;
	if (p[0] != '*')
		return strchr(p, '*') == NULL && strcmp(p, h) == 0;
	if (p[1] != '.' || strchr(p + 1, '*'))
		return false;
	pdot = p + 1;
	if (!strchr(pdot + 1, '.'))
		return false;
	hdot = strchr(h, '.');
	if (!hdot || hdot == h)
		return false;
	return strcmp(pdot, hdot) == 0;
}

static bool ip_equal(const char *a, const char *b)
{
	unsigned char x[16], y[16];
	int fam = strchr(a, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(fam, a, x) != 1 || inet_pton(fam, b, y) != 1)
		return false;
	return memcmp(x, y, fam == AF_INET6 ? 16 : 4) == 0;
}

bool cert_info_matches_host(const struct cert_info *ci, const char *host, const char **matched)
{
	unsigned char addr[16];
	bool is_ip;

	if (matched)
		*matched = NULL;
	if (!ci || !host || !*host)
		return false;
	is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	if (is_ip) {
		/* An address is only ever an iPAddress SAN (RFC 2818 3.1; OpenSSL's X509_check_ip). */
		for (size_t i = 0; i < ci->n_san_ip; i++)
			if (ip_equal(host, ci->san_ip[i])) {
				if (matched)
					*matched = ci->san_ip[i];
				return true;
			}
		return false;
	}
	for (size_t i = 0; i < ci->n_san_dns; i++)
		if (dns_id_matches(ci->san_dns[i], host)) {
			if (matched)
				*matched = ci->san_dns[i];
			return true;
		}
	if (!ci->has_san && ci->cn && dns_id_matches(ci->cn, host)) {
		if (matched)
			*matched = ci->cn;
		return true;
	}
	return false;
}

/* ---- human summary ------------------------------------------------------------------------- */

#define C_RED    "\033[31m"
#define C_GREEN  "\033[32m"
#define C_YELLOW "\033[33m"
#define C_OFF    "\033[0m"

static void field(FILE *out, int indent, const char *label)
{
	fprintf(out, "%*s%-13s", indent, "", label);
}

static void put_escaped(FILE *out, const char *s)
{
	char *e = mq_escape_dup(s, strlen(s));

	fputs(e ? e : "?", out);
	free(e);
}

static void print_list(FILE *out, char *const *v, size_t n, const char *marked, bool color)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", out);
		if (marked && v[i] == marked) {
			fputs(color ? C_GREEN : "", out);
			put_escaped(out, v[i]);
			fputs(color ? " (matches)" C_OFF : " (matches)", out);
		} else {
			put_escaped(out, v[i]);
		}
	}
	if (n == 0)
		fputs("none", out);
	fputc('\n', out);
}

static void print_validity(FILE *out, const struct cert_info *ci, bool color)
{
	char a[32], b[32];
	long long now = (long long)time(NULL);
	long long days;

	fprintf(out, "%s .. %s", mq_iso8601(ci->not_before, a, sizeof a), mq_iso8601(ci->not_after, b, sizeof b));
	if (now < ci->not_before) {
		fprintf(out, "  %sNOT YET VALID%s (starts in %lld days)", color ? C_RED : "", color ? C_OFF : "",
			(ci->not_before - now + 86399) / 86400);
	} else if (now > ci->not_after) {
		fprintf(out, "  %sEXPIRED%s %lld days ago", color ? C_RED : "", color ? C_OFF : "",
			(now - ci->not_after) / 86400);
	} else {
		days = (ci->not_after - now) / 86400;
		fprintf(out, "  %s(%lld days left)%s", color && days < 30 ? C_YELLOW : "", days,
			color && days < 30 ? C_OFF : "");
	}
	fputc('\n', out);
}

/* Could this be a TLS server's certificate (where a missing SAN matters)? */
static bool may_serve_tls(const struct cert_info *ci)
{
	if (ci->is_ca)
		return false;
	if (!ci->has_eku)
		return true;
	for (size_t i = 0; i < ci->n_eku; i++)
		if (!strcmp(ci->eku[i], "serverAuth") || !strcmp(ci->eku[i], "anyExtendedKeyUsage"))
			return true;
	return false;
}

void cert_info_print(FILE *out, const struct cert_info *ci, int indent, const char *mark_host, bool color)
{
	const char *matched = NULL;

	if (mark_host)
		cert_info_matches_host(ci, mark_host, &matched);
	field(out, indent, "subject");
	put_escaped(out, ci->subject ? ci->subject : "");
	if (ci->self_signed)
		fputs("  (self-signed)", out);
	else if (ci->self_issued)
		fputs("  (self-issued)", out);
	fputc('\n', out);
	field(out, indent, "issuer");
	put_escaped(out, ci->issuer ? ci->issuer : "");
	fputc('\n', out);
	field(out, indent, "serial");
	fprintf(out, "%s\n", ci->serial ? ci->serial : "?");
	field(out, indent, "valid");
	print_validity(out, ci, color);
	if (ci->has_san) {
		field(out, indent, "SAN DNS");
		print_list(out, ci->san_dns, ci->n_san_dns, matched, color);
		field(out, indent, "SAN IP");
		print_list(out, ci->san_ip, ci->n_san_ip, matched, color);
	} else if (may_serve_tls(ci)) {
		field(out, indent, "SAN");
		fprintf(out, "%snone%s (clients that ignore the CN will reject it)\n", color ? C_YELLOW : "",
			color ? C_OFF : "");
	} else {
		field(out, indent, "SAN");
		fputs("none\n", out);
	}
	if (ci->cn) {
		field(out, indent, "CN");
		put_escaped(out, ci->cn);
		if (matched == ci->cn)
			fputs(" (matches, no SAN)", out);
		fputc('\n', out);
	}
	if (mark_host && !matched) {
		field(out, indent, "host");
		fprintf(out, "%s", color ? C_RED : "");
		put_escaped(out, mark_host);
		fprintf(out, " is not covered by this certificate%s\n", color ? C_OFF : "");
	}
	field(out, indent, "key");
	fprintf(out, "%s\n", ci->key ? ci->key : "?");
	field(out, indent, "signature");
	fprintf(out, "%s\n", ci->sig_alg ? ci->sig_alg : "?");
	field(out, indent, "key usage");
	if (ci->has_key_usage)
		print_list(out, ci->key_usage, ci->n_key_usage, NULL, false);
	else
		fputs("(not restricted)\n", out);
	field(out, indent, "EKU");
	if (ci->has_eku)
		print_list(out, ci->eku, ci->n_eku, NULL, false);
	else
		fputs("(not restricted)\n", out);
	field(out, indent, "CA");
	if (!ci->has_bc)
		fputs("no (no basicConstraints)\n", out);
	else {
		fprintf(out, "%s (basicConstraints%s", ci->is_ca ? "yes" : "no", ci->bc_critical ? " critical" : "");
		if (ci->is_ca && ci->pathlen >= 0)
			fprintf(out, ", pathlen %d", ci->pathlen);
		fputs(")\n", out);
	}
	if (ci->ski) {
		field(out, indent, "SKI");
		fprintf(out, "%s\n", ci->ski);
	}
	if (ci->aki) {
		field(out, indent, "AKI");
		fprintf(out, "%s\n", ci->aki);
	}
	field(out, indent, "SHA-256");
	fprintf(out, "%s\n", ci->sha256);
	field(out, indent, "SPKI SHA-256");
	fprintf(out, "%s\n", ci->spki_sha256);
}

/* ---- files --------------------------------------------------------------------------------- */

/* What a PEM block that is not a certificate is, and what to do with it. */
static const struct {
	const char *label_part;
	const char *what;
} pem_others[] = {
	{ "PRIVATE KEY", "a private key, not a certificate" },
	{ "CERTIFICATE REQUEST", "a certificate signing request (CSR), not a certificate: it still has to be signed by a CA" },
	{ "PUBLIC KEY", "a public key, not a certificate" },
	{ "X509 CRL", "a certificate revocation list, not a certificate" },
	{ "PKCS7", "a PKCS#7 bundle, not PEM certificates (openssl pkcs7 -print_certs -in FILE converts it)" },
	{ "PARAMETERS", "key parameters, not a certificate" },
};

static bool pem_is_cert(const char *label)
{
	return !strcmp(label, PEM_STRING_X509) || !strcmp(label, PEM_STRING_X509_OLD) ||
	       !strcmp(label, PEM_STRING_X509_TRUSTED);
}

static int load_pem(const char *path, const char *buf, size_t len, STACK_OF(X509) *certs,
		    struct mq_err *err)
{
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	const char *other = NULL;
	int blocks = 0;

	if (!b) {
		mq_errf(err, "out of memory reading %s", path);
		return -1;
	}
	for (;;) {
		char *label = NULL, *header = NULL;
		unsigned char *data = NULL;
		long dlen = 0;
		unsigned long e;

		if (!PEM_read_bio(b, &label, &header, &data, &dlen)) {
			e = ERR_peek_last_error();
			/* No further BEGIN line is the normal end of the file. */
			if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
				ERR_clear_error();
				break;
			}
			mq_errf_ssl(err, "%s: PEM block %d is damaged", path, blocks + 1);
			goto fail;
		}
		blocks++;
		if (pem_is_cert(label)) {
			const unsigned char *p = data;
			X509 *x = !strcmp(label, PEM_STRING_X509_TRUSTED) ? d2i_X509_AUX(NULL, &p, dlen)
									   : d2i_X509(NULL, &p, dlen);
			if (!x) {
				mq_errf_ssl(err, "%s: certificate %d is not a valid certificate", path,
					    sk_X509_num(certs) + 1);
			} else if (sk_X509_num(certs) >= CHAIN_MAX_CERTS) {
				X509_free(x);
				mq_errf(err, "%s holds more than %d certificates", path, CHAIN_MAX_CERTS);
			} else if (!sk_X509_push(certs, x)) {
				X509_free(x);
				mq_errf(err, "out of memory reading %s", path);
			}
		} else {
			for (size_t i = 0; !other && i < MQ_ARRAY_LEN(pem_others); i++)
				if (strstr(label, pem_others[i].label_part))
					other = pem_others[i].what;
		}
		OPENSSL_free(label);
		OPENSSL_free(header);
		OPENSSL_free(data);
		if (mq_err_isset(err))
			goto fail;
	}
	BIO_free(b);
	if (sk_X509_num(certs) == 0) {
		if (other)
			mq_errf(err, "%s holds %s", path, other);
		else
			mq_errf(err, "%s holds PEM data but no certificate", path);
		return -1;
	}
	return 0;
fail:
	BIO_free(b);
	return -1;
}

static int load_der(const char *path, const unsigned char *buf, size_t len, STACK_OF(X509) *certs,
		    struct mq_err *err)
{
	const unsigned char *p = buf;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	EVP_PKEY *pk;

	if (x && p == buf + len) {
		if (sk_X509_push(certs, x))
			return 0;
		X509_free(x);
		mq_errf(err, "out of memory reading %s", path);
		return -1;
	}
	X509_free(x);
	ERR_clear_error();
	p = buf;
	pk = d2i_AutoPrivateKey(NULL, &p, (long)len);
	if (pk) {
		EVP_PKEY_free(pk);
		mq_errf(err, "%s holds a private key (DER), not a certificate", path);
		return -1;
	}
	ERR_clear_error();
	mq_errf(err, "%s is not a certificate (neither PEM nor DER)", path);
	return -1;
}

int chain_load_mem(const char *what, const void *data, size_t len, STACK_OF(X509) **out, bool *was_der,
		   struct mq_err *err)
{
	STACK_OF(X509) *certs = NULL;
	const char *buf = data;
	size_t i;

	*out = NULL;
	if (was_der)
		*was_der = false;
	for (i = 0; i < len && buf[i] && strchr(" \t\r\n", buf[i]); i++)
		;
	if (i == len) {
		mq_errf(err, "%s is empty", what);
		return -1;
	}
	if (len > INT_MAX) {
		mq_errf(err, "%s is too large", what);
		return -1;
	}
	certs = sk_X509_new_null();
	if (!certs) {
		mq_errf(err, "out of memory reading %s", what);
		return -1;
	}
	if (memmem(buf, len, "-----BEGIN ", 11)) {
		if (load_pem(what, buf, len, certs, err) < 0)
			goto fail;
	} else {
		if (load_der(what, data, len, certs, err) < 0)
			goto fail;
		if (was_der)
			*was_der = true;
	}
	*out = certs;
	return sk_X509_num(certs);
fail:
	sk_X509_pop_free(certs, X509_free);
	ERR_clear_error();
	return -1;
}

int chain_load_file(const char *path, STACK_OF(X509) **out, bool *was_der, struct mq_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int n;

	*out = NULL;
	if (was_der)
		*was_der = false;
	if (mq_read_file(path, CHAIN_MAX_FILE, &buf, &len, err) < 0)
		return -1;
	n = chain_load_mem(path, buf, len, out, was_der, err);
	free(buf);
	return n;
}
