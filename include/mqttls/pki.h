/*
 * pki — the lab certificate authority, written against OpenSSL 3's API.
 *
 * Every test, lab and the built-in broker use certificates made here at run time,
 * so nothing in the repository expires and every broken certificate can be made on demand.
 * Private keys are written 0600; nothing existing is overwritten without force.
 */
#ifndef MQTTLS_PKI_H
#define MQTTLS_PKI_H

#include <stdbool.h>
#include <stddef.h>

#include "attrib.h"
#include "err.h"

/* File names inside a PKI directory made by pki_init(). */
#define PKI_ROOT_CERT       "ca.crt"            /* the root CA: what clients trust (--cafile) */
#define PKI_ROOT_KEY        "ca.key"
#define PKI_INTER_CERT      "intermediate.crt"
#define PKI_INTER_KEY       "intermediate.key"
#define PKI_BROKER_CERT     "broker.crt"        /* the leaf alone */
#define PKI_BROKER_KEY      "broker.key"
#define PKI_BROKER_CHAIN    "broker-fullchain.crt" /* leaf + intermediate: mosquitto's certfile */
#define PKI_DEVICE_CERT     "device1.crt"       /* one device (mTLS), CN=device1, EKU clientAuth */
#define PKI_DEVICE_KEY      "device1.key"

struct pki_opts {
	const char *dir;           /* where the files go; created if missing */
	bool force;                /* replace existing files */
	int rsa_bits;              /* 0: ECDSA P-256; else RSA with this many bits */
	const char *const *sans;   /* extra "DNS:x" / "IP:y" for broker certificates */
	size_t n_sans;
	int days;                  /* leaf validity; 0: the default (<= 398 days) */
};

/* Root CA, intermediate, broker leaf + full chain, one device certificate. */
int pki_init(const struct pki_opts *o, struct mq_err *err) MQ_WUR;

/* A broker certificate NAME.crt/NAME.key (+ NAME-fullchain.crt) signed by the intermediate. */
int pki_server(const struct pki_opts *o, const char *name, struct mq_err *err) MQ_WUR;

/* A device certificate NAME.crt/NAME.key, CN=NAME, EKU clientAuth, signed by the intermediate. */
int pki_device(const struct pki_opts *o, const char *name, struct mq_err *err) MQ_WUR;

/*
 * A deliberately broken broker certificate of the given kind (see pki_broken_kinds),
 * written as broken-KIND.crt / broken-KIND.key (+ broken-KIND-fullchain.crt where a chain
 * applies, and for other-ca/same-name-ca/self-signed the CA that signed it).
 */
int pki_broken(const struct pki_opts *o, const char *kind, struct mq_err *err) MQ_WUR;

/* NULL-terminated list of the kinds pki_broken() accepts. */
extern const char *const pki_broken_kinds[];

#endif
