/*
 * labdef — the lab definition format (docs/labs.md): labs/NN-name/lab.def, read at run time.
 *
 * Two layers. The lexer turns the bytes of a file into sections of "key value" pairs:
 *
 *   # a comment                   blank lines and lines whose first non-blank byte is '#'
 *   [lab]                         a section: [TYPE] or [TYPE ARGUMENT]
 *   name     ip-san               a key, blanks, the value (the rest of the line, trimmed)
 *   text <<END                    a block value: the lines that follow, verbatim, up to a
 *   ...                           line that is exactly END
 *   END
 *
 * Keys before the first section belong to an unnamed section (type ""), which is all a
 * device settings file (labdef_device_parse) has. The second layer checks every section
 * and key against what a lab may say and builds struct labdef; templates ({port}, {dir},
 * {if ipv6} ... {end}) are checked for unknown names at parse time and expanded later by
 * labdef_expand(). Every byte is untrusted: reads are bounded, sizes capped, NUL bytes and
 * invalid UTF-8 refused, and every error names the file and the line.
 */
#ifndef MQTTLS_LABDEF_H
#define MQTTLS_LABDEF_H

#include <stdbool.h>
#include <stddef.h>

#include "attrib.h"
#include "err.h"
#include "target.h"

#define LABDEF_MAX_BYTES    (256u * 1024)  /* a whole file */
#define LABDEF_MAX_LINE     4096           /* one line, block lines included */
#define LABDEF_MAX_SECTIONS 128
#define LABDEF_MAX_KEYS     64             /* per section */
#define LABDEF_MAX_TEXT     (64u * 1024)   /* one block value */
#define LABDEF_MAX_PORTS    4
#define LABDEF_MAX_NAME     32             /* lab, variable, port and companion names */

/* ---- the lexer ------------------------------------------------------------------------------ */

struct labdef_kv {
	char *key;
	char *value;             /* never NULL; a block keeps its final newline */
	int line;
};

struct labdef_section {
	char *type;              /* "" for keys before any section */
	char *arg;               /* NULL when the header has none */
	int line;
	struct labdef_kv *kv;
	size_t n_kv;
};

struct labdef_doc {
	struct labdef_section *v;
	size_t n;
};

/*
 * Split buf (len bytes, not necessarily NUL-terminated) into sections. name is used in
 * messages ("labs/02-ip-san/lab.def:12: ..."). Returns 0, or -1 with err set; doc is complete
 * or empty either way and must be freed.
 */
int labdef_lex(struct labdef_doc *doc, const char *name, const char *buf, size_t len, struct mq_err *err)
	MQ_WUR MQ_NONNULL(1, 2, 5);
void labdef_doc_free(struct labdef_doc *doc);

/* ---- a lab ---------------------------------------------------------------------------------- */

/* A file the student's directory gets at setup ([file PATH] or [pki PATH]). */
enum labfile_kind { LABFILE_TEXT, LABFILE_PKI };

struct labfile {
	enum labfile_kind kind;
	char *path;              /* relative to the work directory */
	char *text;              /* TEXT: a template */
	char *from;              /* PKI: a file of the shared lab PKI */
	char *make_kind;         /* PKI: "broken" or "device" (made first when missing), or NULL */
	char *make_arg;          /* its kind or name */
	bool in_place;           /* PKI: not copied: owner and mode are set on the shared file */
	int mode;                /* -1: 0600 for keys (*.key), 0644 otherwise */
	char *owner;             /* a user name, or NULL: whoever runs mqttls */
	int line;
};

/* A directory's mode and owner ([dir PATH]), relative to the lab's state directory. */
struct labdir {
	char *path;
	int mode;
	char *owner;
	int line;
};

struct labport {
	char name[LABDEF_MAX_NAME];  /* the template variable: {port}, {plain} */
	int first;                   /* the first port tried; the next free one above it otherwise */
};

struct labvar {
	char *name, *value;
};

enum labprobe_kind { LABPROBE_DIAGNOSE, LABPROBE_DEVICE, LABPROBE_CAPTURE };

/* Where a device probe connects: the lab's broker, or a rogue broker run for the check. */
enum labagainst {
	LABAGAINST_BROKER,
	LABAGAINST_ROGUE_SELF,       /* a forgery from a throw-away CA */
	LABAGAINST_ROGUE_STOLEN_CA,  /* the broker's names, signed by the lab's own intermediate */
	LABAGAINST_ROGUE_OTHER_NAME, /* the lab's intermediate, but for another host name */
};

/* One real connection the check makes, and what it must observe ([check]). */
struct labprobe {
	enum labprobe_kind kind;
	char *why;               /* what this connection proves, one line */
	char *expect;            /* "ok", "connected", "refused", "no-plaintext" or finding ids "A|B" */
	char *target;            /* diagnose, device: TARGET options (a template) */
	char *device;            /* device, capture: a device settings file in the work directory */
	enum labagainst against;
	char *broker_conf;       /* diagnose: fold this configuration's findings in (a template) */
	char *ports;             /* capture: the ports to watch (a template, blank separated) */
	int line;
};

/* What "mqttls lab sketch" writes ([sketch]). Strings are templates or NULL. */
enum labsketch_insecure {
	LABSKETCH_NONE, LABSKETCH_SETINSECURE, LABSKETCH_SKIP_CN, LABSKETCH_PLAINTEXT,
	LABSKETCH_NO_CLOCK,      /* the clock is never set: the device stays in 1970 */
};

struct labsketch {
	char *cafile;            /* embedded for setCACert (default {dir}/ca.crt) */
	char *cert, *key;        /* mTLS: embedded for setCertificate / setPrivateKey */
	char *pin_from;          /* a certificate whose SHA-256 the sketch pins */
	char *user, *password, *client_id, *topic;
	char *port;              /* default {port} */
	enum labsketch_insecure insecure;  /* the variant the lab demonstrates */
	char *note;              /* a comment at the top of the sketch */
};

struct labdef {
	int number;
	char *name;              /* "ip-san": also the state directory's name */
	char *title, *tutorial, *summary;
	char *workdir;           /* the student's directory, relative to the lab's state directory */
	char *broker;            /* the configuration the broker runs from, relative to workdir */
	char *host;              /* what clients connect to (a template; default {ip}) */
	char *cafile, *certfile, *keyfile;  /* templates, shown by start and status */
	char *companions;        /* processes run beside the broker ("mitm"), or NULL */
	bool needs_root;         /* the fault needs mosquitto's drop from root to its own user */
	bool broker_down;        /* the fault keeps the broker from starting */
	struct labport ports[LABDEF_MAX_PORTS];
	size_t n_ports;
	struct labvar *vars;
	size_t n_vars;
	struct labfile *files;
	size_t n_files;
	struct labdir *dirs;
	size_t n_dirs;
	char **hints;
	size_t n_hints;
	struct labprobe *probes;
	size_t n_probes;
	struct labsketch sketch;
	bool has_sketch;
};

/*
 * Parse a lab definition. Returns 0, or -1 with err naming the file and line; d is
 * complete or empty either way and must be freed with labdef_free().
 */
int labdef_parse(struct labdef *d, const char *name, const char *buf, size_t len, struct mq_err *err)
	MQ_WUR MQ_NONNULL(1, 2, 5);
/* Read and parse a file (at most LABDEF_MAX_BYTES). */
int labdef_load(struct labdef *d, const char *path, struct mq_err *err) MQ_WUR MQ_NONNULL(1, 2);
void labdef_free(struct labdef *d);

/* The value of a [set] variable, or NULL when the lab sets no such variable. */
const char *labdef_var(const struct labdef *d, const char *name);

/* ---- templates ------------------------------------------------------------------------------ */

/*
 * Look a template variable up: its value, or NULL when there is no such variable. The
 * built-in names (docs/labs.md) are the port names, ip, host, server, dir, labdir, pki, name, ipv6.
 */
typedef const char *(*labdef_lookup)(void *ctx, const char *name);

/*
 * Expand {NAME} from lookup, "{{" into "{", and keep only the lines between "{if NAME}" and
 * "{end}" (each on a line of its own, no nesting) when NAME is set and not "" or "no".
 * Returns a malloc'd string, or NULL with err set (unknown name, unbalanced {if}).
 */
char *labdef_expand(const char *tmpl, labdef_lookup lookup, void *ctx, struct mq_err *err) MQ_NONNULL(1, 2);

/* True when name is one of the built-in template names. */
bool labdef_builtin_var(const char *name);

/* ---- a device's settings (the student's device.conf in the device labs) -------------------- */

enum labverify { LABVERIFY_CA, LABVERIFY_CA_ONLY, LABVERIFY_NONE };

struct labdevice {
	char *host;
	int port;
	bool tls;
	enum labverify verify;   /* ca: setCACert; ca-only: skip_cert_common_name_check; none: setInsecure */
	char *cafile;            /* relative to the work directory, or absolute */
	char *pin;               /* SHA-256 of the certificate or of its public key, or NULL */
	char *cert, *key;
	char *user, *password, *client_id, *topic;
	enum target_clock clock; /* ntp (the default), unset, ignore or a date: as --clock */
	long long clock_at;
};

/* Parse device settings; 0, or -1 with err naming the line. Free with labdevice_free. */
int labdef_device_parse(struct labdevice *dv, const char *name, const char *buf, size_t len, struct mq_err *err)
	MQ_WUR MQ_NONNULL(1, 2, 5);
void labdevice_free(struct labdevice *dv);

#endif
