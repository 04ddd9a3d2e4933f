/*
 * conf — a mosquitto.conf reader that applies the file the way mosquitto 2.0 does, and the
 * checks lint-conf and diagnose --broker-conf run on it.
 *
 * The reader follows mosquitto 2.0.11 as observed on Debian 12 (docs/conf.md lists the rules):
 * options are split on spaces only (a tab belongs to the word), a comment is a line whose first
 * byte is '#', string values are the rest of the line with blanks trimmed (so "cafile x # y" names
 * the file "x # y"), options before any listener belong to the implicit default listener, every
 * file starts again outside any listener, include_dir is followed from the main file only, in
 * mosquitto's order. What mosquitto would refuse is recorded as a CONF_MSG_FATAL message with its
 * file and line; reading goes on so one run reports everything. Nothing here prints.
 */
#ifndef MQTTLS_CONF_H
#define MQTTLS_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "attrib.h"
#include "chain.h"
#include "err.h"
#include "finding.h"

/* Where a setting was read: file is owned by the struct conf (NULL: not set anywhere). */
struct conf_loc {
	const char *file;
	int line;
};

struct conf_str {
	char *v;                 /* NULL when unset */
	struct conf_loc at;
};

struct conf_bool {
	int v;                   /* -1 unset, 0 false, 1 true */
	struct conf_loc at;
};

/* Authentication settings: global, or per listener when per_listener_settings is true. */
struct conf_security {
	struct conf_bool allow_anonymous;
	struct conf_str password_file, acl_file, psk_file;
	struct conf_str *plugins; /* plugin / auth_plugin, in order */
	size_t n_plugins;
};

enum conf_listener_origin {
	CONF_LISTENER_EXPLICIT,   /* a "listener" line */
	CONF_LISTENER_DEFAULT,    /* made by port / bind_address / listener options before any listener */
	CONF_LISTENER_LOCAL_ONLY, /* no listener at all: mosquitto listens on loopback 1883 */
};

struct conf_listener {
	enum conf_listener_origin origin;
	int port;                /* 0 with a unix socket path in bind */
	char *bind;              /* address, host or socket path; NULL: every interface */
	struct conf_loc at;      /* the listener line, or the option that made the default listener */
	const char *made_by;     /* default listener: the option that made it (static string) */
	struct conf_str protocol, cafile, capath, certfile, keyfile, tls_version, ciphers,
		ciphers_tls13, crlfile, dhparamfile, psk_hint, bind_interface;
	struct conf_bool require_certificate, use_identity_as_username, use_subject_as_username;
	struct conf_security sec; /* only meaningful with per_listener_settings true */
};

enum conf_msg_level {
	CONF_MSG_FATAL,   /* mosquitto 2.0 refuses to start (or never finishes reading) */
	CONF_MSG_ERROR,   /* mosquitto starts but does not do what the line says */
	CONF_MSG_WARNING,
	CONF_MSG_INFO,
};

struct conf_msg {
	enum conf_msg_level level;
	struct conf_loc at;
	char *text;
};

struct conf_file {
	char *path;
	int lines;
	bool included;           /* read through include_dir */
};

struct conf {
	struct conf_file *files;
	size_t n_files;
	struct conf_bool per_listener_settings;
	struct conf_str user;
	struct conf_security sec;            /* the global one */
	struct conf_listener *listeners;     /* as mosquitto opens them: explicit, then the default */
	size_t n_listeners;
	bool local_only;                     /* no listener, port or bind_address line */
	struct conf_str *log_files;          /* log_dest file PATH */
	size_t n_log_files;
	struct conf_msg *msgs;
	size_t n_msgs;
	size_t n_msgs_dropped;               /* messages beyond the cap, counted only */

	/* Reader state (private). */
	struct conf_listener deflt;
	bool deflt_used, saw_listener, sec_seen;
	int cur;                             /* -1: the default listener */
	size_t total_lines;
};

/* Caps that keep hostile input bounded; exceeding one is a message, never a crash. */
#define CONF_MAX_FILE_BYTES (8u << 20)
#define CONF_MAX_FILES 512
#define CONF_MAX_LISTENERS 1024
#define CONF_MAX_MSGS 200

void conf_init(struct conf *c) MQ_NONNULL(1);
void conf_free(struct conf *c);

/*
 * Read a main configuration file and the files its include_dir names. Returns 0 when the file
 * could be read (problems in it are messages), -1 with err set when the main file itself cannot
 * be opened or is not a regular file. The result is complete either way and must be freed.
 */
int conf_read_file(struct conf *c, const char *path, struct mq_err *err) MQ_WUR MQ_NONNULL(1, 2);

/*
 * Parse a configuration held in memory, named name in messages. include_dir is recorded but
 * not followed (the fuzzer and unit tests never touch the file system).
 */
void conf_parse_buffer(struct conf *c, const char *name, const char *buf, size_t len) MQ_NONNULL(1, 2);

/* The security settings that apply to l (its own with per_listener_settings, else the global). */
const struct conf_security *conf_listener_security(const struct conf *c, const struct conf_listener *l);

/* True when l speaks TLS: certfile and keyfile both set, or a PSK hint. */
bool conf_listener_is_tls(const struct conf_listener *l);

/* Does mosquitto let a client without credentials in on l? */
bool conf_listener_allows_anonymous(const struct conf *c, const struct conf_listener *l);

/* The listener that accepts connections on port (first match), or NULL. */
const struct conf_listener *conf_find_listener(const struct conf *c, int port);

/* "listener 8883 on every interface" style label for messages. buf >= 96 bytes. */
const char *conf_listener_label(const struct conf_listener *l, char *buf, size_t size);

const char *conf_msg_level_name(enum conf_msg_level l);

/* Add a message (checks add theirs too); beyond CONF_MAX_MSGS they are only counted. */
void conf_msg_add(struct conf *c, enum conf_msg_level level, const char *file, int line, const char *fmt, ...)
	MQ_PRINTF(5, 6) MQ_NONNULL(1);

/* ---- the checks (conf-lint.c) ------------------------------------------------------------ */

struct conf_lint_opts {
	const char *as_user;     /* the broker's user; NULL: the conf's "user" (default mosquitto) */
	long long now;           /* UNIX time for validity checks; 0: the clock */
	int only_port;           /* > 0: only what concerns the listener on this port (diagnose) */
	bool no_host_names;      /* skip the "SANs cover this host" check (tests on other hosts' files) */
};

/* A certificate file read for a listener, for the contract's "chain" output. */
struct conf_cert_file {
	int port;
	const char *role;        /* "certfile" or "cafile" */
	char *path;
	struct cert_info *certs;
	size_t n_certs;
};

struct conf_lint {
	struct conf conf;
	struct findings findings;
	char *user;              /* the user the checks were made as */
	bool user_exists;
	bool user_is_root;
	char *user_note;         /* how the user was chosen and when it applies */
	struct conf_cert_file *certs;
	size_t n_certs;
};

/*
 * Read path and check everything: permissions as the broker's user, authentication, listener
 * and TLS consistency, certificates and keys. Returns 0 (findings in out->findings, sorted with
 * errors first) or -1 with err set when the main file cannot be read at all. Free with
 * conf_lint_free in both cases.
 */
int conf_lint_file(const char *path, const struct conf_lint_opts *o, struct conf_lint *out,
		   struct mq_err *err) MQ_WUR MQ_NONNULL(1, 3);

void conf_lint_free(struct conf_lint *l);

/*
 * For diagnose --broker-conf: lint path for the listener on port and append the findings that
 * concern it to fs (unsorted, in the order found). certfile_sha256 (may be NULL, >= 96 bytes)
 * receives the SHA-256 fingerprint ("AB:CD:...") of the first certificate in that listener's
 * certfile, or "" when there is none or it cannot be read. Returns 0, or -1 with err set.
 */
int conf_lint_append(const char *path, int port, struct findings *fs, char *certfile_sha256,
		     struct mq_err *err) MQ_WUR MQ_NONNULL(1, 3);

/*
 * diagnose --broker-conf / --broker-log: fold what the broker's side says into a live diagnosis.
 *
 * The configuration is linted for the listener on port (what stops the whole broker is kept for
 * every listener), the certificate the broker presented is compared with its certfile on disk
 * (BROKER_CERT_STALE when they differ: the broker was not restarted after the file changed), and
 * the log's last start is read. Then, when a broker-side error explains the live root cause — the
 * broker cannot start and the TCP connection is refused, a listener without allow_anonymous and a
 * CONNACK 5, a changed certfile and a certificate the client rejects — it goes first and becomes
 * the root cause, and the wire finding says it follows from it. Other broker-side findings come
 * after the live ones; the same id on both sides is reported once; the log's lines about clients
 * are added to the live findings they confirm. live stays sorted, errors first.
 */
struct conf_fold_opts {
	const char *conf_path;       /* --broker-conf, or NULL */
	const char *log_path;        /* --broker-log, or NULL */
	int port;                    /* the port that was diagnosed */
	const char *served_sha256;   /* the presented leaf's fingerprint ("AB:CD:..."); NULL or "" when none */
};

/* 0, or -1 with err set when a named file cannot be read (live is then unchanged). */
int conf_fold_diagnosis(const struct conf_fold_opts *o, struct findings *live, struct mq_err *err)
	MQ_WUR MQ_NONNULL(1, 2);

/* The lint result as JSON: file, ok, user, files, listeners, messages, chain, findings. */
cJSON *conf_lint_to_json(const struct conf_lint *l);

#endif
