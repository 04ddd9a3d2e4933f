/*
 * chain — X.509 certificates as mqttls reports them (the contract's "chain" shape).
 *
 * One struct cert_info per certificate, made from an OpenSSL X509. Used by
 * certs show, inspect, diagnose, lint-conf, capture (TLS 1.2 Certificate messages)
 * and the TUI's Chain view. Every string is copied out of the certificate and is
 * untrusted: escape it (mq_escape) before it reaches a terminal.
 */
#ifndef MQTTLS_CHAIN_H
#define MQTTLS_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <openssl/x509.h>

#include "attrib.h"
#include "err.h"

struct cert_info {
	int depth;                 /* 0 = leaf, as presented */
	char *subject, *issuer;    /* RFC 2253-ish "CN=...,O=..." */
	char *serial;              /* hex, upper case, no separators */
	long long not_before, not_after; /* UNIX seconds */
	char **san_dns;  size_t n_san_dns;
	char **san_ip;   size_t n_san_ip;   /* textual: "127.0.0.1", "::1" */
	bool has_san;              /* a subjectAltName extension is present (even if empty of DNS/IP) */
	char *cn;                  /* the subject's last CN, or NULL */
	char *key;                 /* "EC P-256", "RSA 2048", "Ed25519" */
	int key_bits;
	char *sig_alg;             /* "ecdsa-with-SHA256", "sha256WithRSAEncryption", "sha1WithRSAEncryption" */
	char **key_usage; size_t n_key_usage; /* "digitalSignature", "keyCertSign", ... */
	bool has_key_usage;
	char **eku;      size_t n_eku;        /* "serverAuth", "clientAuth", or dotted OIDs */
	bool has_eku;
	bool has_bc, bc_critical, is_ca;
	int pathlen;               /* -1 when absent */
	char *ski, *aki;           /* hex with colons, or NULL */
	char sha256[96];           /* "AB:CD:..." over the DER certificate */
	char spki_sha256[96];      /* the same over the DER SubjectPublicKeyInfo (public-key pinning) */
	bool self_issued;          /* subject == issuer */
	bool self_signed;          /* self-issued and its signature verifies with its own key */
};

/* Fill out from x. Returns 0, or -1 with err set (out is then empty and safe to free). */
int cert_info_from_x509(X509 *x, int depth, struct cert_info *out, struct mq_err *err) MQ_WUR;
void cert_info_free(struct cert_info *ci);

/* The contract's chain element: depth, subject, issuer, serial, not_before, not_after,
 * san_dns, san_ip, key, sig_alg, eku, is_ca, sha256 — plus the other fields above. */
cJSON *cert_info_to_json(const struct cert_info *ci);
cJSON *chain_to_json(const struct cert_info *v, size_t n);

/*
 * Does the certificate cover host (a DNS name with RFC 6125 wildcards, or an IP address
 * compared as an address)? Follows the CN only when there is no SAN extension.
 * *matched (may be NULL) receives a pointer to the matching SAN string, or the CN.
 */
bool cert_info_matches_host(const struct cert_info *ci, const char *host, const char **matched);

/*
 * Human summary, one field per line, indented by indent spaces. mark_host (may be NULL):
 * the SAN that matches it is marked. color: ANSI colours.
 */
void cert_info_print(FILE *out, const struct cert_info *ci, int indent, const char *mark_host, bool color);

/*
 * Load every certificate in a file. PEM with any number of certificates; a single
 * DER certificate is also accepted and *was_der set. Returns the number loaded (>= 1)
 * or -1 with err saying exactly what the file is (missing, empty, a key, not PEM, ...).
 * Free with sk_X509_pop_free(*out, X509_free).
 */
int chain_load_file(const char *path, STACK_OF(X509) **out, bool *was_der, struct mq_err *err) MQ_WUR;

/* The same over bytes already in memory; what names them in error messages. */
int chain_load_mem(const char *what, const void *data, size_t len, STACK_OF(X509) **out, bool *was_der,
		   struct mq_err *err) MQ_WUR;

#endif
