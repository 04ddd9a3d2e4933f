/*
 * pki — the lab certificate authority.
 *
 * A certificate is described by a row (its profile: constraints, usages, who signs it,
 * its validity) and made by one function; a broken kind is a row that changes exactly one
 * thing. All files of one command are made in memory first and then written, so a refusal
 * to overwrite (no --force) leaves nothing half-written.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "mqttls/chain.h"
#include "mqttls/pki.h"
#include "mqttls/util.h"

#define PKI_ORG        "mqttls lab"
#define PKI_ROOT_CN    "mqttls lab root CA"
#define PKI_INTER_CN   "mqttls lab intermediate CA"
#define PKI_OTHER_CN   "unrelated CA (not the mqttls lab)"
#define DAY            86400L
#define ROOT_DAYS      3650
#define INTER_DAYS     1825
/* Certificates start a little in the past: a client whose clock lags must still accept them. */
#define BACKDATE       (5 * 60L)
#define MAX_FILES      16
#define MAX_SANS       64

/* ---- certificate profiles ------------------------------------------------------------------ */

enum profile { PROF_ROOT, PROF_INTER, PROF_SERVER, PROF_CLIENT, PROF_SELF_SERVER };

static const struct {
	const char *bc, *ku, *eku;
	bool aki;
} profiles[] = {
	[PROF_ROOT] = { "critical,CA:TRUE", "critical,keyCertSign,cRLSign", NULL, false },
	[PROF_INTER] = { "critical,CA:TRUE,pathlen:0", "critical,keyCertSign,cRLSign", NULL, true },
	[PROF_SERVER] = { "critical,CA:FALSE", "critical,digitalSignature", "serverAuth", true },
	[PROF_CLIENT] = { "critical,CA:FALSE", "critical,digitalSignature", "clientAuth", true },
	/* What "openssl req -x509" makes: its own CA, no key usage. */
	[PROF_SELF_SERVER] = { "critical,CA:TRUE", NULL, "serverAuth", false },
};

struct cert_req {
	enum profile prof;
	const char *ou, *cn;
	const X509_NAME *subject;  /* replaces O/OU/CN when set (same-name-ca) */
	EVP_PKEY *key;
	X509 *issuer;              /* NULL: self-signed */
	EVP_PKEY *issuer_key;
	long from, to;             /* seconds from now */
	const EVP_MD *md;
	const char *eku;           /* replaces the profile's */
	char *const *sans;         /* NULL-terminated "DNS:x"/"IP:y", or NULL for none */
	bool no_aki;
};

static EVP_PKEY *keygen(int rsa_bits, struct mq_err *err)
{
	EVP_PKEY *k = rsa_bits ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits)
			       : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (!k)
		mq_errf_ssl(err, "cannot generate a %s key", rsa_bits ? "RSA" : "EC P-256");
	return k;
}

/* 127 random bits, positive and of fixed length (RFC 5280: at most 20 octets, CA/B: >= 64 bits). */
static int set_random_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof b) != 1)
		return -1;
	b[0] = (unsigned char)((b[0] & 0x7F) | 0x40);
	bn = BN_bin2bn(b, sizeof b, NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value, struct mq_err *err)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = e && X509_add_ext(x, e, -1);

	X509_EXTENSION_free(e);
	if (!ok)
		mq_errf_ssl(err, "cannot add the %s extension", OBJ_nid2ln(nid));
	return ok ? 0 : -1;
}

/* SANs as GENERAL_NAMEs built directly: a --san value is never parsed as config syntax. */
static int add_sans(X509 *x, char *const *sans, struct mq_err *err)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	int rc = -1;

	if (!gens)
		goto fail;
	for (size_t i = 0; sans[i]; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();

		if (!g)
			goto fail;
		if (!strncmp(sans[i], "IP:", 3)) {
			ASN1_OCTET_STRING *ip = a2i_IPADDRESS(sans[i] + 3);
			if (!ip) {
				GENERAL_NAME_free(g);
				mq_errf(err, "bad IP address in SAN '%s'", sans[i]);
				goto fail;
			}
			GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		} else {
			ASN1_IA5STRING *s = ASN1_IA5STRING_new();
			if (!s || !ASN1_STRING_set(s, sans[i] + 4, -1)) {
				ASN1_IA5STRING_free(s);
				GENERAL_NAME_free(g);
				goto fail;
			}
			GENERAL_NAME_set0_value(g, GEN_DNS, s);
		}
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto fail;
		}
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
		goto fail;
	rc = 0;
fail:
	if (rc < 0)
		mq_errf_ssl(err, "cannot add the subjectAltName extension");
	GENERAL_NAMES_free(gens);
	return rc;
}

static X509_NAME *lab_name(const char *ou, const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n && X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)PKI_ORG, -1, -1, 0) &&
	    (!ou || X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1, -1, 0)) &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
		return n;
	X509_NAME_free(n);
	return NULL;
}

static X509 *make_cert(const struct cert_req *r, struct mq_err *err)
{
	X509 *x = X509_new();
	X509_NAME *name = r->subject ? X509_NAME_dup(r->subject) : lab_name(r->ou, r->cn);
	X509V3_CTX ctx;
	const char *ku = profiles[r->prof].ku, *eku = r->eku ? r->eku : profiles[r->prof].eku;
	EVP_PKEY *signer = r->issuer ? r->issuer_key : r->key;

	if (!x || !name || !X509_set_version(x, X509_VERSION_3) || set_random_serial(x) < 0 ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, r->issuer ? X509_get_subject_name(r->issuer) : name) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), r->from) || !X509_gmtime_adj(X509_getm_notAfter(x), r->to) ||
	    !X509_set_pubkey(x, r->key)) {
		mq_errf_ssl(err, "cannot build the certificate for %s", r->cn ? r->cn : "a CA");
		goto fail;
	}
	X509V3_set_ctx(&ctx, r->issuer ? r->issuer : x, x, NULL, NULL, 0);
	/* RSA key exchange (TLS 1.2 RSA suites, older ESP32 builds) needs keyEncipherment. */
	if (ku && r->prof >= PROF_SERVER && EVP_PKEY_get_base_id(r->key) == EVP_PKEY_RSA)
		ku = "critical,digitalSignature,keyEncipherment";
	if (add_ext(x, &ctx, NID_basic_constraints, profiles[r->prof].bc, err) < 0 ||
	    (ku && add_ext(x, &ctx, NID_key_usage, ku, err) < 0) ||
	    (eku && add_ext(x, &ctx, NID_ext_key_usage, eku, err) < 0) ||
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash", err) < 0 ||
	    (profiles[r->prof].aki && !r->no_aki && r->issuer &&
	     add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always", err) < 0) ||
	    (r->sans && r->sans[0] && add_sans(x, r->sans, err) < 0))
		goto fail;
	if (!X509_sign(x, signer, r->md ? r->md : EVP_sha256())) {
		mq_errf_ssl(err, "cannot sign the certificate for %s", r->cn ? r->cn : "a CA");
		goto fail;
	}
	X509_NAME_free(name);
	return x;
fail:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

/* ---- files: made in memory, then written together ------------------------------------------ */

struct out_file {
	char path[PATH_MAX];
	char *data;
	size_t len;
	mode_t mode;
	char what[160];
};

struct staging {
	const struct pki_opts *o;
	struct out_file f[MAX_FILES];
	size_t n;
};

static void staging_free(struct staging *s)
{
	for (size_t i = 0; i < s->n; i++) {
		/* Key material does not linger in freed memory. */
		if (s->f[i].data)
			OPENSSL_cleanse(s->f[i].data, s->f[i].len);
		free(s->f[i].data);
	}
	s->n = 0;
}

static struct out_file *stage_slot(struct staging *s, const char *name, mode_t mode, const char *what,
				   struct mq_err *err)
{
	struct out_file *f;

	if (s->n == MAX_FILES) {
		mq_errf(err, "too many files in one step");
		return NULL;
	}
	f = &s->f[s->n];
	if (!mq_path_join(f->path, sizeof f->path, s->o->dir, name)) {
		mq_errf(err, "path too long: %s/%s", s->o->dir, name);
		return NULL;
	}
	f->mode = mode;
	snprintf(f->what, sizeof f->what, "%s", what);
	f->data = NULL;
	f->len = 0;
	return f;
}

static int bio_take(BIO *b, struct out_file *f, struct staging *s)
{
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);

	if (n <= 0 || !(f->data = malloc((size_t)n)))
		return -1;
	memcpy(f->data, p, (size_t)n);
	f->len = (size_t)n;
	s->n++;
	return 0;
}

/* The certificates, in order, as one PEM file. */
static int stage_certs(struct staging *s, const char *name, const char *what, X509 *const *certs, size_t n,
		       struct mq_err *err)
{
	struct out_file *f = stage_slot(s, name, 0644, what, err);
	BIO *b;
	int rc = -1;

	if (!f)
		return -1;
	b = BIO_new(BIO_s_mem());
	for (size_t i = 0; b && i < n; i++)
		if (!PEM_write_bio_X509(b, certs[i]))
			goto out;
	if (b && bio_take(b, f, s) == 0)
		rc = 0;
out:
	if (rc < 0)
		mq_errf_ssl(err, "cannot encode %s", name);
	BIO_free(b);
	return rc;
}

static int stage_key(struct staging *s, const char *name, const char *what, EVP_PKEY *k, struct mq_err *err)
{
	struct out_file *f = stage_slot(s, name, 0600, what, err);
	BIO *b;
	int rc = -1;

	if (!f)
		return -1;
	b = BIO_new(BIO_s_secmem());
	if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) && bio_take(b, f, s) == 0)
		rc = 0;
	if (rc < 0)
		mq_errf_ssl(err, "cannot encode %s", name);
	BIO_free(b);
	return rc;
}

static int staging_commit(struct staging *s, struct mq_err *err)
{
	const struct pki_opts *o = s->o;

	/* Check everything first: without --force, one existing file means nothing is written. */
	if (!o->force)
		for (size_t i = 0; i < s->n; i++)
			if (mq_file_exists(s->f[i].path)) {
				mq_errf(err, "%s already exists; not overwriting it (use --force to replace it)",
					s->f[i].path);
				return -1;
			}
	for (size_t i = 0; i < s->n; i++) {
		if (mq_write_file(s->f[i].path, s->f[i].data, s->f[i].len, s->f[i].mode, o->force, err) < 0)
			return -1;
		if (o->on_file)
			o->on_file(o->ctx, s->f[i].path, s->f[i].what);
	}
	return 0;
}

/* ---- SANs ---------------------------------------------------------------------------------- */

static bool dns_name_ok(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253)
		return false;
	if (!strncmp(s, "*.", 2))
		s += 2;
	if (!*s || *s == '.')
		return false;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_') || ++label > 63)
			return false;
	}
	return label > 0 || s[-1] == '.';
}

int pki_check_san(const char *san, struct mq_err *err)
{
	unsigned char a[16];

	if (!strncmp(san, "DNS:", 4)) {
		if (dns_name_ok(san + 4))
			return 0;
		mq_errf(err, "'%s' is not a valid DNS name for a SAN", san + 4);
		return -1;
	}
	if (!strncmp(san, "IP:", 3)) {
		if (inet_pton(AF_INET, san + 3, a) == 1 || inet_pton(AF_INET6, san + 3, a) == 1)
			return 0;
		mq_errf(err, "'%s' is not an IPv4 or IPv6 address", san + 3);
		return -1;
	}
	mq_errf(err, "'%s' is not a SAN: write DNS:name or IP:address", san);
	return -1;
}

struct strv {
	char **v;
	size_t n;
};

static int strv_add(struct strv *s, const char *prefix, const char *value)
{
	char **nv, *item;

	if (asprintf(&item, "%s%s", prefix, value) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (!strcasecmp(s->v[i], item)) {
			free(item);
			return 0;
		}
	nv = realloc(s->v, (s->n + 2) * sizeof *nv);
	if (!nv) {
		free(item);
		return -1;
	}
	s->v = nv;
	s->v[s->n++] = item;
	s->v[s->n] = NULL;
	return 0;
}

void pki_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int default_sans(struct strv *s)
{
	struct ifaddrs *ifa = NULL;
	char host[256], buf[INET_ADDRSTRLEN];

	if (strv_add(s, "DNS:", "localhost") < 0)
		return -1;
	if (gethostname(host, sizeof host) == 0) {
		host[sizeof host - 1] = '\0';
		if (dns_name_ok(host) && strv_add(s, "DNS:", host) < 0)
			return -1;
		/* An ESP32 often reaches a laptop broker by its mDNS name. */
		if (dns_name_ok(host) && !strchr(host, '.') && strcmp(host, "localhost") &&
		    strv_add(s, "DNS:", strcat(host, ".local")) < 0)
			return -1;
	}
	if (strv_add(s, "IP:", "127.0.0.1") < 0 || strv_add(s, "IP:", "::1") < 0)
		return -1;
	if (getifaddrs(&ifa) == 0) {
		for (struct ifaddrs *i = ifa; i && s->n < MAX_SANS; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			if (inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf, sizeof buf) &&
			    strv_add(s, "IP:", buf) < 0) {
				freeifaddrs(ifa);
				return -1;
			}
		}
		freeifaddrs(ifa);
	}
	return 0;
}

int pki_default_sans(char ***out)
{
	struct strv s = { 0 };

	*out = NULL;
	if (default_sans(&s) < 0) {
		pki_strv_free(s.v);
		return -1;
	}
	*out = s.v;
	return (int)s.n;
}

/* The broker's SANs: the machine's names and addresses, then the user's --san. */
static int broker_sans(const struct pki_opts *o, bool with_ips, struct strv *s, struct mq_err *err)
{
	if (default_sans(s) < 0)
		goto oom;
	if (!with_ips) {
		size_t k = 0;
		for (size_t i = 0; i < s->n; i++) {
			if (!strncmp(s->v[i], "IP:", 3))
				free(s->v[i]);
			else
				s->v[k++] = s->v[i];
		}
		s->n = k;
		s->v[k] = NULL;
	}
	for (size_t i = 0; i < o->n_sans; i++) {
		if (pki_check_san(o->sans[i], err) < 0)
			return -1;
		if (!with_ips && !strncmp(o->sans[i], "IP:", 3))
			continue;
		if (strv_add(s, "", o->sans[i]) < 0)
			goto oom;
	}
	return 0;
oom:
	mq_errf(err, "out of memory");
	return -1;
}

/* ---- the lab CA on disk -------------------------------------------------------------------- */

struct ca {
	X509 *cert;
	EVP_PKEY *key;
};

static void ca_free(struct ca *c)
{
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	c->cert = NULL;
	c->key = NULL;
}

static int load_key(const char *path, EVP_PKEY **out, struct mq_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	BIO *b;

	*out = NULL;
	if (mq_read_file(path, 1 << 20, &buf, &len, err) < 0)
		return -1;
	b = BIO_new_mem_buf(buf, (int)len);
	if (b)
		*out = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (!*out) {
		mq_errf_ssl(err, "%s is not a PEM private key", path);
		return -1;
	}
	return 0;
}

static int load_first_cert(const char *dir, const char *name, X509 **out, struct mq_err *err)
{
	STACK_OF(X509) *sk = NULL;
	char p[PATH_MAX];

	*out = NULL;
	if (!mq_path_join(p, sizeof p, dir, name)) {
		mq_errf(err, "path too long: %s", dir);
		return -1;
	}
	if (chain_load_file(p, &sk, NULL, err) < 0)
		return -1;
	*out = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return 0;
}

/* The lab's intermediate (cert_name/key_name) from o->dir, checked to belong together. */
static int ca_load(const struct pki_opts *o, const char *cert_name, const char *key_name, struct ca *c,
		   struct mq_err *err)
{
	char cp[PATH_MAX], kp[PATH_MAX];

	memset(c, 0, sizeof *c);
	if (!mq_path_join(cp, sizeof cp, o->dir, cert_name) || !mq_path_join(kp, sizeof kp, o->dir, key_name)) {
		mq_errf(err, "path too long: %s", o->dir);
		return -1;
	}
	if (!mq_file_exists(cp) || !mq_file_exists(kp)) {
		mq_errf(err, "there is no lab CA in %s (%s is missing): run 'mqttls certs init --dir %s' first",
			o->dir, mq_file_exists(cp) ? key_name : cert_name, o->dir);
		return -1;
	}
	if (load_first_cert(o->dir, cert_name, &c->cert, err) < 0)
		return -1;
	if (load_key(kp, &c->key, err) < 0)
		goto fail;
	if (X509_check_private_key(c->cert, c->key) != 1) {
		mq_errf_ssl(err, "%s does not belong to %s", kp, cp);
		goto fail;
	}
	return 0;
fail:
	ca_free(c);
	return -1;
}

static long leaf_seconds(const struct pki_opts *o)
{
	return (long)(o->days > 0 ? o->days : PKI_DEFAULT_DAYS) * DAY;
}

/* ---- the commands -------------------------------------------------------------------------- */

/* What a leaf's files hold and say: a broker's (the leaf alone, and a fullchain beside it) or a
 * device's (the leaf with the intermediate after it: what mosquitto_pub --cert sends). */
struct leaf_kind {
	enum profile prof;
	const char *ou;
	const char *crt_what, *key_what;
	size_t crt_certs;            /* 1: the leaf alone; 2: the leaf and the intermediate */
	const char *full_what;       /* NULL: no base-fullchain.crt */
};

static const struct leaf_kind broker_leaf = {
	PROF_SERVER, "broker", "broker certificate (the leaf alone)", "broker private key (mosquitto keyfile)", 1,
	"broker certificate + intermediate (mosquitto certfile)",
};
static const struct leaf_kind device_leaf = {
	PROF_CLIENT, "device", "device certificate + intermediate (mosquitto_pub --cert, ESP32 setCertificate)",
	"device private key (mosquitto_pub --key, ESP32 setPrivateKey)", 2, NULL,
};

/* A leaf signed by the intermediate, staged as base.crt, base.key (and base-fullchain.crt). */
static int stage_leaf(struct staging *s, const struct ca *inter, const struct leaf_kind *k, const char *base,
		      const char *cn, char *const *sans, struct mq_err *err)
{
	const struct pki_opts *o = s->o;
	char crt[NAME_MAX + 1], key[NAME_MAX + 1], full[NAME_MAX + 1];
	struct cert_req r = { .prof = k->prof, .ou = k->ou, .cn = cn, .issuer = inter->cert,
			      .issuer_key = inter->key, .from = -BACKDATE, .to = leaf_seconds(o), .sans = sans };
	X509 *x = NULL, *chain[2];
	int rc = -1;

	if ((size_t)snprintf(crt, sizeof crt, "%s.crt", base) >= sizeof crt ||
	    (size_t)snprintf(key, sizeof key, "%s.key", base) >= sizeof key ||
	    (size_t)snprintf(full, sizeof full, "%s-fullchain.crt", base) >= sizeof full) {
		mq_errf(err, "name too long: %s", base);
		return -1;
	}
	r.key = keygen(o->rsa_bits, err);
	if (!r.key || !(x = make_cert(&r, err)))
		goto out;
	chain[0] = x;
	chain[1] = inter->cert;
	if (stage_certs(s, crt, k->crt_what, chain, k->crt_certs, err) < 0 || stage_key(s, key, k->key_what, r.key, err) < 0 ||
	    (k->full_what && stage_certs(s, full, k->full_what, chain, 2, err) < 0))
		goto out;
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(r.key);
	return rc;
}

static int stage_server(struct staging *s, const struct ca *inter, const char *base, const char *cn,
			char *const *sans, struct mq_err *err)
{
	return stage_leaf(s, inter, &broker_leaf, base, cn, sans, err);
}

static int stage_device(struct staging *s, const struct ca *inter, const char *name, struct mq_err *err)
{
	return stage_leaf(s, inter, &device_leaf, name, name, NULL, err);
}

/* A file name made from a user's NAME: one path component, nothing hidden. */
int pki_check_name(const char *name, struct mq_err *err)
{
	if (!name || !*name || strchr(name, '/') || name[0] == '.' || strlen(name) > 64) {
		mq_errf(err, "'%s' cannot be a certificate name (a plain file name of at most 64 characters, no '/', "
			"not starting with '.')", name ? name : "");
		return -1;
	}
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7F) {
			mq_errf(err, "a certificate name cannot contain spaces or control characters");
			return -1;
		}
	return 0;
}

/*
 * Check the options; make DIR when what is made needs no lab CA from it (init, broken kinds
 * with their own signer). created (may be NULL) says whether DIR was made here.
 */
static int prepare(const struct pki_opts *o, bool need_ca, bool *created, struct mq_err *err)
{
	struct stat st;

	if (!o->dir || !*o->dir) {
		mq_errf(err, "no directory given for the PKI");
		return -1;
	}
	if (o->rsa_bits && (o->rsa_bits < 2048 || o->rsa_bits > 16384)) {
		mq_errf(err, "RSA keys must have 2048 to 16384 bits (got %d)", o->rsa_bits);
		return -1;
	}
	if (o->days < 0 || o->days > 36500) {
		mq_errf(err, "validity must be 1 to 36500 days (got %d)", o->days);
		return -1;
	}
	/* The CA lives in DIR: a directory that does not exist yet holds none, so make nothing. */
	if (need_ca)
		return 0;
	if (created)
		*created = stat(o->dir, &st) < 0;
	return mq_mkdir_p(o->dir, 0755, err);
}

int pki_init(const struct pki_opts *o, struct mq_err *err)
{
	struct staging s = { .o = o };
	struct ca root = { 0 }, inter = { 0 };
	struct strv sans = { 0 };
	struct cert_req rr = { .prof = PROF_ROOT, .cn = PKI_ROOT_CN, .from = -BACKDATE, .to = ROOT_DAYS * DAY };
	struct cert_req ir = { .prof = PROF_INTER, .cn = PKI_INTER_CN, .from = -BACKDATE, .to = INTER_DAYS * DAY };
	int rc = -1;

	if (prepare(o, false, NULL, err) < 0 || broker_sans(o, true, &sans, err) < 0)
		goto out;
	if (!(root.key = rr.key = keygen(o->rsa_bits, err)) || !(root.cert = make_cert(&rr, err)))
		goto out;
	ir.issuer = root.cert;
	ir.issuer_key = root.key;
	if (!(inter.key = ir.key = keygen(o->rsa_bits, err)) || !(inter.cert = make_cert(&ir, err)))
		goto out;
	if (stage_certs(&s, PKI_ROOT_CERT, "root CA: what clients trust (mosquitto_pub --cafile, ESP32 setCACert)",
			&root.cert, 1, err) < 0 ||
	    stage_key(&s, PKI_ROOT_KEY, "root CA private key (keep it off devices)", root.key, err) < 0 ||
	    stage_certs(&s, PKI_INTER_CERT, "intermediate CA (signs brokers and devices)", &inter.cert, 1, err) < 0 ||
	    stage_key(&s, PKI_INTER_KEY, "intermediate CA private key", inter.key, err) < 0 ||
	    stage_server(&s, &inter, "broker", "localhost", sans.v, err) < 0 ||
	    stage_device(&s, &inter, "device1", err) < 0)
		goto out;
	rc = staging_commit(&s, err);
out:
	staging_free(&s);
	ca_free(&root);
	ca_free(&inter);
	pki_strv_free(sans.v);
	return rc;
}

/* A broker certificate base.crt/.key/-fullchain.crt signed by the intermediate in o->dir. */
static int issue_server(const struct pki_opts *o, const char *base, const char *cn, struct strv *sans,
			struct mq_err *err)
{
	struct staging s = { .o = o };
	struct ca inter;
	int rc = -1;

	if (ca_load(o, PKI_INTER_CERT, PKI_INTER_KEY, &inter, err) == 0) {
		if (stage_server(&s, &inter, base, cn, sans->v, err) == 0)
			rc = staging_commit(&s, err);
		staging_free(&s);
		ca_free(&inter);
	}
	pki_strv_free(sans->v);
	return rc;
}

int pki_broker(const struct pki_opts *o, struct mq_err *err)
{
	struct strv sans = { 0 };

	if (prepare(o, true, NULL, err) < 0 || broker_sans(o, true, &sans, err) < 0) {
		pki_strv_free(sans.v);
		return -1;
	}
	return issue_server(o, "broker", "localhost", &sans, err);
}

int pki_server(const struct pki_opts *o, const char *name, struct mq_err *err)
{
	struct strv sans = { 0 };
	unsigned char a[16];
	int rc = 0;

	if (pki_check_name(name, err) < 0 || prepare(o, true, NULL, err) < 0)
		return -1;
	/* NAME is what clients connect to, so it is a SAN too when it can be one. */
	if (inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1)
		rc = strv_add(&sans, "IP:", name);
	else if (dns_name_ok(name))
		rc = strv_add(&sans, "DNS:", name);
	for (size_t i = 0; rc == 0 && i < o->n_sans; i++) {
		if (pki_check_san(o->sans[i], err) < 0) {
			pki_strv_free(sans.v);
			return -1;
		}
		rc = strv_add(&sans, "", o->sans[i]);
	}
	if (rc < 0 || sans.n == 0) {
		mq_errf(err, sans.n ? "out of memory" : "'%s' is neither a DNS name nor an address: give --san DNS:x or --san IP:y", name);
		pki_strv_free(sans.v);
		return -1;
	}
	return issue_server(o, name, name, &sans, err);
}

int pki_device(const struct pki_opts *o, const char *name, struct mq_err *err)
{
	struct staging s = { .o = o };
	struct ca inter;
	int rc = -1;

	if (pki_check_name(name, err) < 0 || prepare(o, true, NULL, err) < 0 ||
	    ca_load(o, PKI_INTER_CERT, PKI_INTER_KEY, &inter, err) < 0)
		return -1;
	if (stage_device(&s, &inter, name, err) == 0)
		rc = staging_commit(&s, err);
	staging_free(&s);
	ca_free(&inter);
	return rc;
}

/* ---- broken certificates ------------------------------------------------------------------- */

enum signer { BY_INTERMEDIATE, BY_OTHER_CA, BY_SAME_NAME_CA, BY_ITSELF };
enum san_set { SANS_ALL, SANS_NONE, SANS_DNS_ONLY };

static const struct broken {
	const char *kind;
	const char *defect;
	enum signer signer;
	enum san_set sans;
	long from_days, to_days;   /* validity relative to now; 0/0: the normal leaf validity */
	const char *eku;           /* NULL: serverAuth */
	int rsa_bits;              /* 0: the lab's key type */
	bool sha1;
} broken[] = {
	{ "expired", "expired yesterday (valid from 400 days ago until 1 day ago)",
	  BY_INTERMEDIATE, SANS_ALL, -400, -1, NULL, 0, false },
	{ "not-yet-valid", "valid only from 30 days from now (a future notBefore)",
	  BY_INTERMEDIATE, SANS_ALL, 30, 400, NULL, 0, false },
	{ "no-san", "no subjectAltName at all: only CN=localhost",
	  BY_INTERMEDIATE, SANS_NONE, 0, 0, NULL, 0, false },
	{ "dns-only", "DNS names only in its SAN, no IP address (connecting by IP fails)",
	  BY_INTERMEDIATE, SANS_DNS_ONLY, 0, 0, NULL, 0, false },
	{ "wrong-eku", "extended key usage clientAuth only: not allowed to act as a TLS server",
	  BY_INTERMEDIATE, SANS_ALL, 0, 0, "clientAuth", 0, false },
	{ "other-ca", "signed by an unrelated CA (broken-other-ca-ca.crt), not the lab CA",
	  BY_OTHER_CA, SANS_ALL, 0, 0, NULL, 0, false },
	{ "same-name-ca", "signed by a CA with the lab root's exact name but another key (a regenerated rootCA)",
	  BY_SAME_NAME_CA, SANS_ALL, 0, 0, NULL, 0, false },
	{ "self-signed", "self-signed: issued by itself, as 'openssl req -x509' makes them",
	  BY_ITSELF, SANS_ALL, 0, 0, NULL, 0, false },
	{ "weak-rsa-1024", "a 1024-bit RSA key (below every current minimum)",
	  BY_INTERMEDIATE, SANS_ALL, 0, 0, NULL, 1024, false },
	{ "sha1", "signed with SHA-1 by the lab intermediate",
	  BY_INTERMEDIATE, SANS_ALL, 0, 0, NULL, 0, true },
};

const char *const pki_broken_kinds[] = {
	"expired", "not-yet-valid", "no-san", "dns-only", "wrong-eku",
	"other-ca", "same-name-ca", "self-signed", "weak-rsa-1024", "sha1", NULL,
};

static const struct broken *broken_find(const char *kind)
{
	for (size_t i = 0; kind && i < MQ_ARRAY_LEN(broken); i++)
		if (!strcmp(broken[i].kind, kind))
			return &broken[i];
	return NULL;
}

const char *pki_broken_describe(const char *kind)
{
	const struct broken *b = broken_find(kind);

	return b ? b->defect : NULL;
}

/* A new root for other-ca / same-name-ca, staged as broken-KIND-ca.crt/.key. */
static int make_rogue_ca(struct staging *s, const struct broken *b, const X509_NAME *subject, struct ca *c,
			 struct mq_err *err)
{
	struct cert_req r = { .prof = PROF_ROOT, .cn = PKI_OTHER_CN, .subject = subject, .from = -BACKDATE,
			      .to = ROOT_DAYS * DAY };
	char crt[64], key[64], what[128];

	snprintf(crt, sizeof crt, "broken-%s-ca.crt", b->kind);
	snprintf(key, sizeof key, "broken-%s-ca.key", b->kind);
	snprintf(what, sizeof what, "the CA that signed broken-%s.crt", b->kind);
	if (!(c->key = r.key = keygen(s->o->rsa_bits, err)) || !(c->cert = make_cert(&r, err)))
		return -1;
	if (stage_certs(s, crt, what, &c->cert, 1, err) < 0 ||
	    stage_key(s, key, "its private key", c->key, err) < 0)
		return -1;
	return 0;
}

int pki_broken(const struct pki_opts *o, const char *kind, struct mq_err *err)
{
	const struct broken *b = broken_find(kind);
	struct staging s = { .o = o };
	struct ca lab = { 0 }, rogue = { 0 }, root = { 0 };
	struct strv sans = { 0 };
	struct cert_req r = { .prof = PROF_SERVER, .cn = "localhost", .from = -BACKDATE };
	char ou[64], crt[64], key[64], full[64];
	X509 *x = NULL, *chain[2];
	size_t nchain = 1;
	bool created = false;
	int rc = -1;

	if (!b) {
		mq_errf(err, "unknown broken kind '%s'", kind ? kind : "");
		return -1;
	}
	if (prepare(o, false, &created, err) < 0 ||
	    (b->sans != SANS_NONE && broker_sans(o, b->sans == SANS_ALL, &sans, err) < 0))
		goto out;
	snprintf(ou, sizeof ou, "broken: %s", b->kind);
	snprintf(crt, sizeof crt, "broken-%s.crt", b->kind);
	snprintf(key, sizeof key, "broken-%s.key", b->kind);
	snprintf(full, sizeof full, "broken-%s-fullchain.crt", b->kind);
	r.ou = ou;
	r.sans = sans.v;
	r.eku = b->eku;
	r.md = b->sha1 ? EVP_sha1() : EVP_sha256();
	if (b->from_days || b->to_days) {
		r.from = b->from_days * DAY;
		r.to = b->to_days * DAY;
	} else {
		r.to = leaf_seconds(o);
	}
	switch (b->signer) {
	case BY_INTERMEDIATE:
		if (ca_load(o, PKI_INTER_CERT, PKI_INTER_KEY, &lab, err) < 0)
			goto out;
		r.issuer = lab.cert;
		r.issuer_key = lab.key;
		chain[1] = lab.cert;
		nchain = 2;
		break;
	case BY_OTHER_CA:
		if (make_rogue_ca(&s, b, NULL, &rogue, err) < 0)
			goto out;
		r.issuer = rogue.cert;
		r.issuer_key = rogue.key;
		break;
	case BY_SAME_NAME_CA:
		/* Only the name is needed from the real root; its key is never read. */
		if (ca_load(o, PKI_INTER_CERT, PKI_INTER_KEY, &lab, err) < 0 ||
		    load_first_cert(o->dir, PKI_ROOT_CERT, &root.cert, err) < 0)
			goto out;
		if (make_rogue_ca(&s, b, X509_get_subject_name(root.cert), &rogue, err) < 0)
			goto out;
		r.issuer = rogue.cert;
		r.issuer_key = rogue.key;
		/*
		 * No authorityKeyIdentifier, as "openssl x509 -req -CA" of OpenSSL 3.0 makes them:
		 * a client then finds the real root by name and fails on the signature itself.
		 */
		r.no_aki = true;
		break;
	case BY_ITSELF:
		r.prof = PROF_SELF_SERVER;
		break;
	}
	if (!(r.key = keygen(b->rsa_bits ? b->rsa_bits : o->rsa_bits, err)) || !(x = make_cert(&r, err)))
		goto out;
	chain[0] = x;
	if (stage_certs(&s, crt, b->defect, chain, 1, err) < 0 ||
	    stage_key(&s, key, "its private key", r.key, err) < 0 ||
	    stage_certs(&s, full, nchain == 2 ? "the certificate + the lab intermediate (mosquitto certfile)"
					      : "what a broker serves (mosquitto certfile)",
			chain, nchain, err) < 0)
		goto out;
	rc = staging_commit(&s, err);
out:
	X509_free(x);
	EVP_PKEY_free(r.key);
	staging_free(&s);
	ca_free(&lab);
	ca_free(&rogue);
	ca_free(&root);
	pki_strv_free(sans.v);
	/* A directory made for a certificate that could not be made is not left behind (rmdir
	 * removes it only while it is empty). */
	if (rc < 0 && created)
		rmdir(o->dir);
	return rc;
}
