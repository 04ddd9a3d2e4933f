#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "mqttls/err.h"

void mq_err_clear(struct mq_err *e)
{
	e->msg[0] = '\0';
}

bool mq_err_isset(const struct mq_err *e)
{
	return e && e->msg[0] != '\0';
}

static void vset(struct mq_err *e, const char *fmt, va_list ap)
{
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

void mq_errf(struct mq_err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->msg[0])
		return;
	va_start(ap, fmt);
	vset(e, fmt, ap);
	va_end(ap);
}

void mq_errf_errno(struct mq_err *e, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t n;

	if (!e || e->msg[0])
		return;
	va_start(ap, fmt);
	vset(e, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(saved));
}

void mq_errf_ssl(struct mq_err *e, const char *fmt, ...)
{
	unsigned long code, last = 0;
	const char *data = NULL, *ldata = NULL;
	int flags = 0;
	char reason[256];
	va_list ap;
	size_t n;

	/* The first queued error is the deepest: it is the one that names the cause. */
	while ((code = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (!last) {
			last = code;
			ldata = (flags & ERR_TXT_STRING) ? data : NULL;
		}
	}
	if (!e || e->msg[0])
		return;
	va_start(ap, fmt);
	vset(e, fmt, ap);
	va_end(ap);
	if (!last)
		return;
	/* Reason text varies between OpenSSL releases; the hex code does not, so give both. */
	snprintf(reason, sizeof reason, "%s (error:%08lX)",
		 ERR_reason_error_string(last) ? ERR_reason_error_string(last) : "unknown reason", last);
	n = strlen(e->msg);
	if (ldata && *ldata)
		snprintf(e->msg + n, sizeof e->msg - n, ": %s (%s)", reason, ldata);
	else
		snprintf(e->msg + n, sizeof e->msg - n, ": %s", reason);
}
