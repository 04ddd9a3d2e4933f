/*
 * diag-rules — from what a diagnosis observed to findings. Pure: no I/O, no clock of its
 * own (the observation carries "now"), so every rule can be tested on a synthetic
 * observation. A rule is a table row: the finding id, the stage it belongs to, a check and
 * an explanation (title, evidence in the user's terms, the fix as commands, and what the
 * same failure looks like on an ESP32, in mosquitto_pub and in the broker log).
 *
 * Findings are derived only from what was observed (alerts, OpenSSL errors, verification
 * results and the certificates themselves, CONNACK codes), never from how a test broker
 * happens to be set up.
 */
#ifndef MQTTLS_DIAG_RULES_H
#define MQTTLS_DIAG_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "chain.h"
#include "diag.h"
#include "finding.h"
#include "mqconn.h"
#include "probe.h"
#include "target.h"

/* What the local checks found about one file the TARGET names. */
enum diag_file_state {
	DIAG_FILE_UNSET,       /* not given */
	DIAG_FILE_OK,
	DIAG_FILE_MISSING,
	DIAG_FILE_UNREADABLE,  /* exists, cannot be read (why says so) */
	DIAG_FILE_EMPTY,
	DIAG_FILE_DER,         /* a DER certificate where PEM is needed */
	DIAG_FILE_NOT_CERT,    /* not a certificate (why says what it is) */
	DIAG_FILE_NOT_KEY,     /* not a private key */
	DIAG_FILE_ENCRYPTED,   /* a private key that needs a password */
	DIAG_FILE_NOT_CA,      /* certificates, none of them a CA */
	DIAG_FILE_NOT_DIR,     /* --capath that is not a directory */
};

struct diag_file_obs {
	enum diag_file_state state;
	const char *path;
	char why[256];
};

/* Which phase of the diagnosis a rule runs in. */
enum diag_rule_phase {
	DIAG_PHASE_LOCAL,      /* before connecting */
	DIAG_PHASE_RESOLVE,
	DIAG_PHASE_TCP,
	DIAG_PHASE_TLS,        /* the TLS stage and verification */
	DIAG_PHASE_MQTT,
	DIAG_PHASE_PUBSUB,
	DIAG_PHASE_END,        /* warnings, once everything is known */
};

/* The user's own files for the certificate the broker serves, found by content beside the files
 * given (see diag.c): fixes name them. "" where not found. */
struct diag_user_files {
	bool searched;
	char leaf_crt[512];            /* a file holding the served certificate alone (server.crt) */
	char chain_crt[512];           /* a file holding it followed by more (broker-fullchain.crt) */
	char leaf_key[512];            /* its private key (server.key) */
	char issuer_crt[512];          /* the CA that issued it, first in its file (rootCA.crt, intermediate.crt) */
	char issuer_key[512];          /* that CA's key (rootCA.key) */
	bool issuer_is_root;           /* the issuer is self-signed (no intermediate to send) */
	char root_crt[512];            /* when the issuer is an intermediate: the root that signs it */
	char root_key[512];
};

struct diag_obs {
	const struct target *t;
	long long now;                 /* UNIX seconds */
	double timeout;

	struct diag_file_obs cafile, capath, cert, key;
	const struct cert_info *ca;    /* the certificates of --cafile, when readable */
	char pki_dir[256];             /* the directory of --cafile when it is an mqttls PKI (ca.key and
	                                  intermediate.key beside it): fixes then name it; "" otherwise */
	char served_name[80];          /* NAME when pki_dir holds the served certificate as NAME.crt
	                                  (mqttls certs server NAME re-issues exactly it); "" otherwise */
	size_t n_ca;
	const struct cert_info *client; /* the certificate of --cert, when readable */
	bool key_mismatch;

	bool resolve_done, resolved;
	char resolve_error[160];       /* gai_strerror() or "no answer within N s" */
	bool host_is_ip;
	char addresses[256];           /* "127.0.0.1, ::1" */

	const struct probe_result *tls;    /* the TLS (or, for mqtt://, plain) probe; NULL before it ran */
	const struct probe_result *plain;  /* plain MQTT CONNECT on the same port, when TLS looked wrong */
	int accepts_12, accepts_13;        /* -1 not probed, 0 refused, 1 accepted */
	const struct probe_result *weak_old, *weak_nofs;
	const struct probe_result *only12; /* a TLS 1.2-only handshake after a TLS 1.3 one worked (what a device without TLS 1.3 meets) */
	bool tls_target;                   /* false for mqtt:// */

	const struct cert_info *chain;     /* presented by the broker, leaf first */
	size_t n_chain;
	/* The CA that issued the top of the presented chain, when a certificate file next to the
	 * CA file (or the client certificate) holds it: the missing piece, seen on disk. */
	bool issuer_found;
	bool issuer_chains_to_trusted;     /* it is signed by a CA of --cafile: an intermediate */
	char issuer_path[512];

	const struct mqconn_result *mq;    /* NULL when the MQTT stages did not run */

	struct diag_user_files files;
	char cafile_issuer[512];           /* CAFILE_NOT_CA: the CA that issued the certificate given as --cafile, found beside it */
	char ca_same_name[512];            /* a CA of --cafile/--capath named like the CA the broker's chain needs, with another key */
	char capath_unhashed[512];         /* a file of --capath holding the CA the chain needs, which OpenSSL's lookup by hash missed */
	char cafile_partial[512];          /* subject of the CA of --cafile that signs the chain, itself not a root */
	char cafile_root[512];             /* the root above it, found on disk */

	/* For fixes about the client certificate (searched only when one is needed). */
	bool client_files_searched;
	char cafile_key[512];              /* the key of the CA in --cafile, found beside it */
	char client_issuer[512];           /* the CA that issued --cert, found among the user's files */
	char client_issuer_key[512];
	bool client_issuer_is_root;        /* false: an intermediate, which a broker trusting the root needs sent along */
	size_t client_extra;               /* certificates in --cert after the client's own (a chain it sends) */
};

/* Add the findings of every rule of this phase (in table order). Returns how many were added. */
size_t diag_rules_apply(const struct diag_obs *o, enum diag_rule_phase phase, struct findings *out);

/* Run every phase in order (tests and tools that already hold a whole observation). */
size_t diag_rules_apply_all(const struct diag_obs *o, struct findings *out);

/* The stage a finding id is shown under. */
enum diag_stage_id diag_rules_stage(const char *id);

/* One line about the verification result for the verify stage's detail. */
void diag_rules_verify_summary(const struct diag_obs *o, char *buf, size_t size);

#endif
