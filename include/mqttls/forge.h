/*
 * forge — the rogue broker's certificate.
 *
 * The forgery copies what a device might look at — the real broker certificate's subject and
 * subjectAltName — into a fresh certificate with a fresh key, and marks it: its organisation
 * (O) is always "INSECURE LAB MITM", so anyone who looks at it in a lab sees what it is.
 *   FORGE_SELF  signed by a throw-away CA made on the spot (no device trusts it: a device that
 *               verifies refuses it with unknown_ca; one that does not verify accepts it);
 *   FORGE_CA    signed by a CA the attacker holds (the stolen-CA lab), or, with names given,
 *               for another name (the certificate-confusion lab).
 */
#ifndef MQTTLS_FORGE_H
#define MQTTLS_FORGE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include "attrib.h"
#include "err.h"

#define FORGE_ORG "INSECURE LAB MITM"

enum forge_mode { FORGE_SELF, FORGE_CA };

struct forge_opts {
	enum forge_mode mode;
	const char *ca_cert, *ca_key;   /* FORGE_CA: PEM files */
	X509 *tmpl;                     /* the certificate to clone (not owned); NULL: names only */
	/* Names that replace the clone's CN and SANs ("host", "1.2.3.4"); with no template and no
	 * names, "localhost", 127.0.0.1 and ::1. */
	const char *const *names;
	size_t n_names;
	int days;                       /* validity; 0 = 30 */
};

struct forge {
	X509 *cert;                     /* the forged leaf */
	EVP_PKEY *key;
	STACK_OF(X509) *chain;          /* what to send after the leaf (the signing CA when it is an intermediate) */
	X509 *ca;                       /* the signing CA (throw-away or given) */
};

/* "self" or "ca:CERT,KEY" into o (strings point into spec, which must outlive o). */
int forge_parse_spec(char *spec, struct forge_opts *o, struct mq_err *err) MQ_WUR MQ_NONNULL(1, 2);

/* Make the forgery. Returns 0, or -1 with err set (nothing to free then). */
int forge_make(const struct forge_opts *o, struct forge *out, struct mq_err *err) MQ_WUR MQ_NONNULL(1, 2);

void forge_free(struct forge *f);

/* Load one PEM (or DER) certificate from a file. NULL with err set on failure. */
X509 *forge_load_cert(const char *path, struct mq_err *err);

#endif
