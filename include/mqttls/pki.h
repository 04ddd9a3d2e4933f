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
	/* Told of every file written, in order, with what it is for (the engine never prints). */
	void (*on_file)(void *ctx, const char *path, const char *what);
	void *ctx;
};

/* Leaf validity when pki_opts.days is 0: under the 398-day limit browsers and CAs keep. */
#define PKI_DEFAULT_DAYS    397

/* Root CA, intermediate, broker leaf + full chain, one device certificate. */
int pki_init(const struct pki_opts *o, struct mq_err *err) MQ_WUR;

/*
 * (Re)issue the broker certificate of an existing PKI made by pki_init(): broker.crt,
 * broker.key and broker-fullchain.crt, signed by the intermediate, with the default SANs
 * (pki_default_sans) plus o->sans. The lab broker uses it when the machine's addresses change.
 */
int pki_broker(const struct pki_opts *o, struct mq_err *err) MQ_WUR;

/* 0 when NAME can name certificate files (one path component, not hidden, printable); else -1. */
int pki_check_name(const char *name, struct mq_err *err) MQ_WUR;

/* A broker certificate NAME.crt/NAME.key (+ NAME-fullchain.crt) signed by the intermediate. */
int pki_server(const struct pki_opts *o, const char *name, struct mq_err *err) MQ_WUR;

/*
 * A device certificate NAME.crt/NAME.key, CN=NAME, EKU clientAuth, signed by the intermediate.
 * NAME.crt holds the device certificate followed by the intermediate: that is the chain a
 * client must present (mosquitto_pub --cert, ESP32 setCertificate) to a broker that trusts
 * only the root (cafile ca.crt).
 */
int pki_device(const struct pki_opts *o, const char *name, struct mq_err *err) MQ_WUR;

/*
 * A deliberately broken broker certificate of the given kind (see pki_broken_kinds),
 * written into o->dir as broken-KIND.crt / broken-KIND.key and broken-KIND-fullchain.crt
 * (what a broker serves: certfile). Each carries exactly one defect and otherwise the
 * broker's default SANs. Signed by the lab intermediate (so the PKI of pki_init must
 * exist there), except: other-ca by a new unrelated root written as broken-other-ca-ca.crt/.key;
 * same-name-ca by a new root with the lab root's exact subject, written as
 * broken-same-name-ca-ca.crt/.key; self-signed by itself. docs/pki.md lists what each
 * defect makes a client say.
 */
int pki_broken(const struct pki_opts *o, const char *kind, struct mq_err *err) MQ_WUR;

/* NULL-terminated list of the kinds pki_broken() accepts. */
extern const char *const pki_broken_kinds[];

/* One line on what a broken kind's defect is, or NULL for an unknown kind. */
const char *pki_broken_describe(const char *kind);

/* Check one subjectAltName argument: "DNS:name" or "IP:address" (v4 or v6). */
int pki_check_san(const char *san, struct mq_err *err) MQ_WUR;

/*
 * The SANs a broker certificate of this machine gets: DNS:localhost, DNS:<host name>
 * (and <host name>.local when it has no dot, for mDNS), IP:127.0.0.1, IP:::1 and every
 * local IPv4 address. Returns the count (>= 4) and a NULL-terminated array; free with
 * pki_strv_free. -1 when out of memory.
 */
int pki_default_sans(char ***out) MQ_WUR;
void pki_strv_free(char **v);

#endif
