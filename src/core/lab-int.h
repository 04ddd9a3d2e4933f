/*
 * lab-int — what lab.c (catalog, setup, brokers), labcheck.c (the check's connections) and
 * labsketch.c (ESP32 programs) share about one lab in the state directory.
 */
#ifndef MQTTLS_LAB_INT_H
#define MQTTLS_LAB_INT_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "mqttls/err.h"
#include "mqttls/lab.h"
#include "mqttls/labdef.h"

#define LABCTX_FP_HEX 65

/* One lab: its definition, its paths, and what lab.json and state.json record. */
struct lab_ctx {
	const struct lab_def *pub;
	const struct labdef *d;
	char statedir[PATH_MAX], pkidir[PATH_MAX], labdir[PATH_MAX], workdir[PATH_MAX];
	char conf[PATH_MAX], log[PATH_MAX];
	int lock;                           /* flock'd descriptor, -1 when not held */

	/* lab.json: the setup */
	bool have_setup;                    /* lab.json holds a setup and the work directory exists */
	bool active;                        /* started and not stopped since */
	int ports[LABDEF_MAX_PORTS];
	char portstr[LABDEF_MAX_PORTS][8];
	char ip[64];                        /* the address devices use */
	char host[64];                      /* the lab's host template, expanded */
	char lab_bind[64];                  /* instructor mode's CIDR, or "" */
	bool ipv6;                          /* ::1 served too (loopback mode only) */
	bool netns;                         /* on the MITM lab network: the broker in its namespace */
	char setup_fp[LABCTX_FP_HEX];       /* the work directory as the setup left it */
	size_t hints;
	int last_check;                     /* -1, 0, 1 */
	long long last_check_at;
	char broker_error[512];

	/* state.json: the running broker */
	pid_t pid;
	long long started;
	char broker_fp[LABCTX_FP_HEX];      /* the work directory when the broker started */
};

/* Find the lab, fill its paths and read lab.json and state.json (both may be missing). */
int labctx_open(const char *name, struct lab_ctx *c, struct mq_err *err) MQ_WUR;
/* Release the lock if held. */
void labctx_close(struct lab_ctx *c);
/* One start, stop, reset or check of this lab at a time, across processes. */
int labctx_lock(struct lab_ctx *c, struct mq_err *err) MQ_WUR;
/* Write lab.json. */
int labctx_save(struct lab_ctx *c, struct mq_err *err) MQ_WUR;

/* Template lookup over the lab's variables (labdef_lookup). */
const char *labctx_lookup(void *ctx, const char *name);
/* Expand a template of the lab; NULL with err set. free() the result. */
char *labctx_expand(struct lab_ctx *c, const char *tmpl, struct mq_err *err);
/* A path of the work directory (relative) or as given (absolute) into buf; NULL when too long. */
char *labctx_path(const struct lab_ctx *c, const char *rel, char *buf, size_t size);

/* The work directory's fingerprint: contents, modes and owners of everything the broker reads. */
int labctx_fingerprint(const struct lab_ctx *c, char out[LABCTX_FP_HEX], struct mq_err *err) MQ_WUR;

/*
 * A lab on the MITM lab network (netns) reaches its broker from inside the broker's namespace:
 * move the calling thread there. Returns what to give mitmnet_leave() afterwards: -2 when the lab
 * is not on that network (nothing done), -1 with err when the namespace cannot be entered.
 */
int labctx_netns_enter(const struct lab_ctx *c, struct mq_err *err);

/* Is the recorded broker alive and listening? */
bool labctx_broker_running(const struct lab_ctx *c);
/* Stop the recorded broker (if it is still a mosquitto) and forget it. */
int labctx_broker_down(struct lab_ctx *c, struct mq_err *err) MQ_WUR;
/*
 * Start the broker on the work directory as it is, on the recorded ports, and record it.
 * -1 with err when it does not come up (its last log line); c->broker_error says the same.
 */
int labctx_broker_up(struct lab_ctx *c, struct mq_err *err) MQ_WUR;

#endif
