/*
 * err — one place for the most specific cause of a real error.
 *
 * A function that fails writes why into the caller's struct mq_err. The first
 * (deepest) writer wins: outer layers call mq_errf() too, but it does nothing
 * once a message is set, so "cannot read ca.pem: Permission denied" is not
 * replaced by "cannot load certificates". Findings are not errors (see finding.h).
 */
#ifndef MQTTLS_ERR_H
#define MQTTLS_ERR_H

#include <stdbool.h>
#include "attrib.h"

struct mq_err {
	char msg[512];
};

/* Clear the error. */
void mq_err_clear(struct mq_err *e) MQ_NONNULL(1);

/* Set the message unless one is already set. e may be NULL (nothing is recorded). */
void mq_errf(struct mq_err *e, const char *fmt, ...) MQ_PRINTF(2, 3);

/* Like mq_errf, then append ": " and strerror(errno) as it was on entry. */
void mq_errf_errno(struct mq_err *e, const char *fmt, ...) MQ_PRINTF(2, 3);

/*
 * Like mq_errf, then append the deepest OpenSSL reason from the thread's error
 * queue (drained completely, so later calls start clean).
 */
void mq_errf_ssl(struct mq_err *e, const char *fmt, ...) MQ_PRINTF(2, 3);

/* True when a message has been set. */
bool mq_err_isset(const struct mq_err *e);

#endif
