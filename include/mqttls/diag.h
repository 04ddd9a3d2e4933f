/*
 * diag — the diagnosis engine: walk every stage of an MQTT-over-TLS connection and name
 * what is wrong, with the evidence and the fix.
 *
 * Stages, in order: resolve, tcp, tls, verify, mqtt_connect, pubsub. Before connecting, the
 * local files of the TARGET (--cafile, --cert, --key) are checked. A session is a
 * non-blocking object on the caller's libevent loop: it reports what happens through an
 * observer (stage started / finished with timings, certificate seen, finding, log line,
 * done) and leaves a struct diag_result. It never prints.
 *
 *   CLI:  diag_run() runs a session on its own loop to completion.
 *   TUI:  diag_session_new(base, ...) + diag_session_start(); events arrive from the TUI's
 *         loop; diag_session_free() to stop early or to re-run with a new session.
 *
 * Every string in the result that came from the network or a file (certificate fields,
 * log lines) is untrusted: escape it (mq_escape) before it reaches a terminal.
 */
#ifndef MQTTLS_DIAG_H
#define MQTTLS_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "attrib.h"
#include "chain.h"
#include "err.h"
#include "finding.h"
#include "target.h"

enum diag_stage_id {
	DIAG_RESOLVE,
	DIAG_TCP,
	DIAG_TLS,
	DIAG_VERIFY,
	DIAG_MQTT_CONNECT,
	DIAG_PUBSUB,
	DIAG_STAGES
};

enum diag_status {
	DIAG_PENDING,      /* not started yet */
	DIAG_RUNNING,
	DIAG_OK,
	DIAG_FAILED,
	DIAG_SKIPPED,      /* not reached (an earlier stage failed), or not part of this run */
};

/* "resolve", "tcp", "tls", "verify", "mqtt_connect", "pubsub" (the contract's names). */
const char *diag_stage_name(enum diag_stage_id s);
/* "pending", "running", "ok", "failed", "skipped". */
const char *diag_status_name(enum diag_status s);

struct diag_stage {
	enum diag_status status;
	double ms;             /* how long the stage took; 0 when skipped */
	char *detail;          /* one line for humans ("127.0.0.1:8883", "TLSv1.3 TLS_AES_256_GCM_SHA384"); "" at worst */
};

struct diag_tls {
	bool handshake_done;
	char version[16];      /* "TLSv1.3", "" when no ServerHello came */
	char cipher[96];       /* IANA name */
	char group[32];        /* "x25519" */
	char sni[256];         /* sent, "" for none */
	bool cert_requested;   /* the broker sent a CertificateRequest */
	bool client_cert_sent;
	int alert_received;    /* last fatal alert from the broker, -1 none */
	int alert_sent;        /* last fatal alert we sent, -1 none */
	long verify_code;      /* X509_V_OK or the first verification error */
	char verify_text[128]; /* OpenSSL's words for it */
};

struct diag_result {
	char *host;            /* as given */
	int port;
	char address[64];      /* the address connected to (or tried last), "" before the tcp stage */
	bool tls_target;       /* false for mqtt:// (plain MQTT): tls and verify are skipped */
	char clock[32];        /* --clock as given back ("unset", a date, "ignore"); "" for this machine's */
	struct diag_stage stages[DIAG_STAGES];
	bool ok;               /* every stage that applies passed and no error finding */
	struct diag_tls tls;
	struct cert_info *chain;   /* presented by the broker, leaf first */
	size_t n_chain;
	struct findings findings;  /* sorted: errors first; the first error is the root cause */
	char *broker_conf;     /* --broker-conf given, or NULL */
	char *broker_log;      /* --broker-log given, or NULL */
	char *broker_error;    /* why --broker-conf / --broker-log could not be read, or NULL */
	double total_ms;
	char **log;            /* libmosquitto's log lines and the engine's notes, oldest first */
	size_t n_log;
};

enum diag_event_kind {
	DIAG_EV_STAGE_STARTED,   /* stage */
	DIAG_EV_STAGE_FINISHED,  /* stage, state (status, ms, detail) */
	DIAG_EV_CERT,            /* cert: one certificate of the presented chain, in depth order */
	DIAG_EV_FINDING,         /* finding: as it is found (the final order comes with DONE) */
	DIAG_EV_LOG,             /* text: a log line */
	DIAG_EV_DONE,            /* result: complete; no more events */
};

struct diag_event {
	enum diag_event_kind kind;
	enum diag_stage_id stage;
	const struct diag_stage *state;
	const struct cert_info *cert;
	const struct finding *finding;
	const char *text;
	const struct diag_result *result;
};

/* Called from the loop for every event. Must not free the session (do that after DONE returns). */
typedef void (*diag_observer)(void *ctx, const struct diag_event *ev);

struct diag_opts {
	double timeout;          /* seconds a silent peer is waited for, per wait (default 5) */
	bool tls_only;           /* inspect: resolve, tcp, tls, verify — no MQTT stages */
	bool no_weak_probe;      /* do not probe for TLS 1.0/1.1 and non-forward-secret suites */
	const char *broker_conf; /* a mosquitto.conf whose findings are folded in (conf_fold_diagnosis) */
	const char *broker_log;  /* a mosquitto log read the same way */
};

void diag_opts_init(struct diag_opts *o) MQ_NONNULL(1);

struct diag_session;

/*
 * A session for t on base (t is copied). Returns NULL with err set only for a problem
 * of the program itself (out of memory, no event base); everything about the target,
 * its files and the broker is reported as findings.
 */
struct diag_session *diag_session_new(struct event_base *base, const struct target *t, const struct diag_opts *o,
				      diag_observer fn, void *ctx, struct mq_err *err) MQ_WUR;

/* Begin; events follow from the loop (none from inside this call). */
void diag_session_start(struct diag_session *s);

bool diag_session_done(const struct diag_session *s);

/* The result so far (complete once done). Owned by the session. */
const struct diag_result *diag_session_result(const struct diag_session *s);

/* Take the result out of the session (after done); free it with diag_result_free(). */
struct diag_result *diag_session_take_result(struct diag_session *s);

/* Stop what runs, close every connection, free. No further events. */
void diag_session_free(struct diag_session *s);

/*
 * Run a session to completion on a private loop. *out receives the result (free with
 * diag_result_free). Returns 0, or -1 with err set for a problem of the program itself.
 */
int diag_run(const struct target *t, const struct diag_opts *o, diag_observer fn, void *ctx,
	     struct diag_result **out, struct mq_err *err) MQ_WUR;

/* The contract's diagnose --json object: tool, version, target, ok, stages, tls, chain, findings. */
cJSON *diag_result_to_json(const struct diag_result *r);

void diag_result_free(struct diag_result *r);

/* The stage a finding id belongs to (where the ladder shows it), for faces that group them. */
enum diag_stage_id diag_finding_stage(const char *id);

#endif
