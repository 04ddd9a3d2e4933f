/*
 * lab — classroom labs: real mosquitto brokers on loopback (or a classroom LAN) with a
 * prepared fault, files the student fixes by hand, and a check that proves the fix with a
 * real connection.
 *
 * Every lab is a directory of the data dir (mq_data_dir()/labs/NN-name/) holding README.md
 * and lab.def, read at run time (labdef.h, docs/labs.md). The catalog is every lab.def found,
 * in number order; "basic" (lab 0) is the built-in broker the TUI falls back to.
 *
 * Everything a lab does lives in the state directory (mq_state_dir()):
 *   STATE/pki/                    the lab PKI, shared by every lab (made once, then reused; the
 *                                 broker certificate is re-issued when this machine's addresses
 *                                 change or it nears expiry)
 *   STATE/labs/NAME/lab.json      the setup: ports, address, hints shown, last check
 *   STATE/labs/NAME/state.json    the running broker: pid, port, paths
 *   STATE/labs/NAME/mosquitto.log the broker's own log
 *   STATE/labs/NAME/WORKDIR/      the student's files (lab_info.workdir), the broker's
 *                                 configuration among them
 * The broker runs detached, so it outlives the mqttls command that started it; it is found
 * again by its PID, which is checked to still be a mosquitto before it is signalled.
 *
 * Every function here blocks (lab_check for a few seconds: it makes real connections); none
 * prints. All return 0, or -1 with err set.
 */
#ifndef MQTTLS_LAB_H
#define MQTTLS_LAB_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "attrib.h"
#include "err.h"
#include "target.h"

/* The lab every face falls back to: the TUI with no target, "make run". */
#define LAB_BUILTIN "basic"
/* The first port tried by the labs' TLS brokers; the next free one above it is used when it is taken. */
#define LAB_FIRST_PORT 8883

struct labdef;

/* One lab of the catalog: what a list shows. */
struct lab_def {
	int number;                 /* 0 for basic, then 1, 2, ... */
	const char *name;           /* "ip-san": what commands take (its number and dirname work too) */
	const char *dirname;        /* "02-ip-san" */
	const char *title;          /* one line */
	const char *tutorial;       /* which part of the tutorial series it follows, or NULL */
	const char *summary;        /* a paragraph, or NULL */
	const char *readme;         /* the path of its README.md */
	size_t n_hints;
	size_t n_checks;
	bool needs_root;            /* the fault needs mosquitto's drop from root to its own user */
	const struct labdef *def;   /* the whole definition (labdef.h) */
};

/* Every lab, in number order (loaded from the data dir on first use). n is 0 when none loads. */
const struct lab_def *lab_defs(size_t *n);

/* A lab by name, number ("2", "02") or directory name ("02-ip-san"); NULL when there is none. */
const struct lab_def *lab_find(const char *name);

/*
 * Definitions that could not be read (file:line: what is wrong), for "lab list" to show:
 * a broken lab.def never stops the others from loading. NULL-terminated; may be empty.
 */
const char *const *lab_catalog_errors(void);

/* A lab's state, as recorded and checked against the process table. */
struct lab_info {
	char name[32];
	int number;
	bool active;                /* set up by lab_start and not stopped since */
	bool running;               /* its broker is alive and listening */
	bool reused;                /* lab_start found it already running */
	bool resumed;               /* lab_start kept the student's edited files */
	pid_t pid;
	int port;                   /* the broker's TLS port */
	int plain_port;             /* a second, plaintext port when the lab has one, else 0 */
	bool ipv6;                  /* also listening on ::1 */
	bool netns;                 /* on the MITM lab's own network of namespaces (mitmnet.h) */
	char host[64];              /* what clients connect to: "localhost", "127.0.0.1" or a LAN address */
	char ip[64];                /* the address devices use (127.0.0.1, or the classroom LAN's) */
	char lab_bind[64];          /* instructor mode: the --lab-bind range, else "" */
	char cafile[PATH_MAX];      /* what a client trusts */
	char certfile[PATH_MAX], keyfile[PATH_MAX];
	char dir[PATH_MAX];         /* STATE/labs/NAME */
	char workdir[PATH_MAX];     /* the student's files */
	char conf[PATH_MAX], log[PATH_MAX];
	char broker_error[512];     /* why the broker is not running (its last log line), or "" */
	long long started;          /* UNIX seconds the broker started, 0 when it is not running */
	size_t hints_shown, n_hints;
	int last_check;             /* -1 never checked, 0 failed, 1 passed */
};

struct lab_start_opts {
	const char *lab_bind;       /* instructor mode: a private CIDR the broker serves devices on, or NULL */
	bool netns;                 /* the MITM lab on network namespaces of its own (root; mitmnet.h) */
};

/*
 * Start the lab, or find it already running (info->reused). Makes or refreshes the shared
 * PKI; sets the fault up in the student's directory, unless the student has edited it since
 * (then it is kept: info->resumed); picks free ports; starts the broker from the student's
 * configuration (a lab whose fault keeps the broker from starting is started all the same,
 * with info->broker_error saying why); records everything.
 */
int lab_start(const char *name, struct lab_info *info, struct mq_err *err) MQ_WUR;
int lab_start_with(const char *name, const struct lab_start_opts *o, struct lab_info *info, struct mq_err *err)
	MQ_WUR;

/*
 * The built-in broker (LAB_BUILTIN), started or reused: what the TUI and "make run" connect
 * to with info->host, info->port and info->cafile. -1 when its broker does not run.
 */
int lab_builtin(struct lab_info *info, struct mq_err *err) MQ_WUR;

/* Point t at a lab's broker: its host and port over TLS, its CA (whatever t held there is freed). */
void lab_target(const struct lab_info *info, struct target *t) MQ_NONNULL(1, 2);

/*
 * Stop the lab: its broker (only when the recorded PID is still a mosquitto) and whatever runs
 * beside it. The student's files stay. info->running says whether it was running. Not running
 * is not an error; -1 when the broker would not die.
 */
int lab_stop(const char *name, struct lab_info *info, struct mq_err *err) MQ_WUR;

/* What is recorded, checked against the process table. */
int lab_status(const char *name, struct lab_info *info, struct mq_err *err) MQ_WUR;

/* The info as JSON (name, number, active, running, pid, port, host, ip, ipv6, cafile, ...). */
cJSON *lab_info_to_json(const struct lab_info *info);

/*
 * What runs beside the lab's broker (the MITM lab's rogue relay and devices), as text for the
 * faces to show after start and status; NULL when the lab has nothing beside its broker. free() it.
 */
char *lab_companions_describe(const struct lab_info *info);

/*
 * The next hint, one at a time: index is 1-based; when every hint was shown, the last again.
 * The text has the lab's own paths, address and ports filled in; free() it.
 */
struct lab_hint {
	size_t index, total;
	char *text;
};
int lab_hint(const char *name, struct lab_hint *out, struct mq_err *err) MQ_WUR;

/*
 * Put the fault back: the student's directory is moved aside (info->workdir + ".before-reset",
 * replacing an older one) and set up again; a running lab is restarted on it.
 */
int lab_reset(const char *name, struct lab_info *info, char *kept, size_t kept_size, struct mq_err *err) MQ_WUR;

/* ---- check ---------------------------------------------------------------------------------- */

/* One real connection the check made, and what it observed. Strings may be NULL where noted. */
struct lab_check_item {
	char *why;                  /* what this connection proves */
	char *kind;                 /* "diagnose", "device" or "capture" */
	char *command;              /* the same connection as a command the student can run */
	char *expect;               /* "ok", "connected", "refused", "no-plaintext" or finding ids "A|B" */
	char *observed;             /* "ok", a finding id, "connected", "refused", "plaintext credentials" */
	bool pass;
	const char *finding;        /* the contract id that still stands, or NULL */
	char *title, *detail, *fix; /* what was observed, in words (untrusted parts escaped); NULL when none */
	char *also;                 /* the other errors the diagnosis found, "ID — title" a line, or NULL */
};

struct lab_check {
	char name[32];
	int number;
	bool pass;                  /* every item passed */
	bool restarted;             /* the broker was (re)started from the student's files first */
	bool broker_running;
	char broker_error[512];     /* why the broker does not run, or "" */
	struct lab_check_item *items;
	size_t n_items;
	long long at;
};

/*
 * Check the lab: (re)start its broker from the student's files when they changed or the broker
 * is down, then make every connection its definition lists (a diagnosis, a simulated device,
 * against the broker or a rogue broker made for the check, a capture) and compare what it
 * observed with what the fixed lab must show. out is filled even when the check fails; -1 only
 * when the check could not be made at all (the lab is not started, ...). Free out with
 * lab_check_free().
 */
int lab_check(const char *name, struct lab_check *out, struct mq_err *err) MQ_WUR;
void lab_check_free(struct lab_check *c);
cJSON *lab_check_to_json(const struct lab_check *c);

/* ---- sketch --------------------------------------------------------------------------------- */

enum lab_sketch_flavor { LAB_SKETCH_ARDUINO, LAB_SKETCH_ESP_IDF };

/*
 * The ESP32 program for the lab (Arduino .ino, or an ESP-IDF main.cpp), with the lab's CA (and
 * the device certificate and key of mTLS labs) embedded, the broker's address filled in, and
 * the variant the lab demonstrates behind LAB_INSECURE. The lab must be set up (lab_start),
 * since what is embedded is its own files. *out is malloc'd.
 */
int lab_sketch(const char *name, enum lab_sketch_flavor flavor, char **out, struct mq_err *err) MQ_WUR;

#endif
