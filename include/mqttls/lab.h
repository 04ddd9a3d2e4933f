/*
 * lab — classroom labs: real mosquitto brokers on loopback with the lab PKI, started,
 * found again and stopped by mqttls.
 *
 * A lab is a row (struct lab_def): what its broker serves and how it is configured.
 * Everything lives in the state directory (mq_state_dir()):
 *   STATE/pki/                      the lab PKI, shared by every lab (made once, then reused;
 *                                   the broker certificate is re-issued when this machine's
 *                                   addresses change or it nears expiry)
 *   STATE/labs/NAME/mosquitto.conf  written at each start
 *   STATE/labs/NAME/mosquitto.log   the broker's own log
 *   STATE/labs/NAME/state.json      pid, port and paths of the running broker
 * The broker runs detached, so it outlives the mqttls command that started it.
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

/* The lab every face falls back to: the TUI with no target, "make run". */
#define LAB_BUILTIN "basic"
/* The first port tried; the next free one above it is used when it is taken. */
#define LAB_FIRST_PORT 8883

struct lab_info;

struct lab_def {
	const char *name;
	const char *title;          /* one line for "lab list" */
	const char *cert;           /* base name of what the broker serves in STATE/pki: "broker"
				       (broker-fullchain.crt + broker.key) or e.g. "broken-expired" */
	const char *broken_kind;    /* the pki_broken() kind that makes cert, or NULL */
	const char *conf_extra;     /* more mosquitto.conf lines, "" for none */
	/* A lab with more than a broker (the MITM lab: mitmlab.h) starts, stops and describes the
	 * rest here, after its broker is up; NULL for none. */
	int (*more_start)(const struct lab_info *info, struct mq_err *err);
	void (*more_stop)(const struct lab_info *info);
	char *(*more_describe)(const struct lab_info *info);   /* text to show; free() it */
};

/* Every lab, in the order "lab list" shows them. */
const struct lab_def *lab_defs(size_t *n);
const struct lab_def *lab_find(const char *name);

/* A lab's broker as recorded in its state file. */
struct lab_info {
	char name[32];
	bool running;
	bool reused;                /* lab_start found it already running */
	pid_t pid;
	int port;
	bool ipv6;                  /* also listening on ::1 */
	char host[16];              /* "localhost": a name the broker certificate covers */
	char cafile[PATH_MAX];      /* what a client trusts */
	char certfile[PATH_MAX], keyfile[PATH_MAX];
	char dir[PATH_MAX];         /* STATE/labs/NAME */
	char conf[PATH_MAX], log[PATH_MAX];
	long long started;          /* UNIX seconds */
};

/*
 * Start the lab's broker, or find it already running (info->reused). Makes or refreshes the
 * lab PKI, picks LAB_FIRST_PORT or the next free port (retrying when mosquitto loses a race
 * for it), makes the key readable by the broker's user when run as root, and records the
 * broker in its state file. 0, or -1 with err.
 */
int lab_start(const char *name, struct lab_info *info, struct mq_err *err) MQ_WUR;

/*
 * The built-in broker (LAB_BUILTIN), started or reused: what the TUI and "make run" connect
 * to with info->host, info->port and info->cafile.
 */
int lab_builtin(struct lab_info *info, struct mq_err *err) MQ_WUR;

/*
 * Stop the lab's broker by its recorded PID (only when that PID is still a mosquitto) and
 * remove its state file. info receives what was recorded; info->running says whether it was
 * running. Not running is not an error. 0, or -1 with err (the broker would not die).
 */
int lab_stop(const char *name, struct lab_info *info, struct mq_err *err) MQ_WUR;

/* What the state file says, checked against the process table: info->running. 0, or -1 with err. */
int lab_status(const char *name, struct lab_info *info, struct mq_err *err) MQ_WUR;

/* The info as JSON (name, running, pid, port, host, ipv6, cafile, certfile, keyfile, conf, log, started). */
cJSON *lab_info_to_json(const struct lab_info *info);

#endif
