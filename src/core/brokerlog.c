/*
 * brokerlog — read a mosquitto 2.0 log for diagnose --broker-log (see brokerlog.h).
 *
 * The messages matched here are mosquitto 2.0.11's, as it printed them on Debian 12 in the
 * integration tests; they are found anywhere in a line so that any timestamp or journald prefix
 * before them does not matter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/brokerlog.h"
#include "mqttls/util.h"

#define MAX_LINE 4096
#define MAX_EV 64

enum fail_kind { F_NONE, F_KEY, F_CERT, F_CA, F_PWFILE, F_ACL, F_PSK, F_CONF, F_USER, F_ADDR };

/* Start failures, by the words mosquitto 2.0 logs for them. */
static const struct {
	const char *needle;
	enum fail_kind kind;
	const char *what;
} fails[] = {
	{ "Unable to load server key file", F_KEY, "its keyfile" },
	{ "Unable to load server certificate", F_CERT, "its certfile" },
	{ "Unable to load CA certificates", F_CA, "its cafile" },
	{ "Unable to open pwfile", F_PWFILE, "its password or PSK file" },
	{ "Error opening password file", F_PWFILE, "its password_file" },
	{ "Unable to open acl_file", F_ACL, "its acl_file" },
	{ "Error opening acl file", F_ACL, "its acl_file" },
	{ "Error opening psk file", F_PSK, "its psk_file" },
	{ "Unknown configuration variable", F_CONF, "its configuration" },
	{ "in configuration.", F_CONF, "its configuration" },
	{ "Unsupported tls_version", F_CONF, "its configuration" },
	{ "per_listener_settings must be set", F_CONF, "its configuration" },
	{ "You must use create a listener", F_CONF, "its configuration" },
	{ "Unable to open include_dir", F_CONF, "its configuration" },
	{ "Unable to open config file", F_CONF, "its configuration" },
	{ "Unable to drop privileges", F_USER, "its user option" },
	{ "Address already in use", F_ADDR, "a listener's port" },
};

struct fail {
	enum fail_kind kind;
	const char *what;
	char *line;           /* the failure line, escaped */
	char *reason;         /* the first OpenSSL reason after it, escaped, or NULL */
	char *where;          /* "Error found at F:N." (escaped), or NULL */
	char *path;           /* the first "quoted" name in the line, or NULL */
};

/* A log line made printable and short; the timestamp prefix stays (it says when). */
static char *clean(const char *p, size_t n)
{
	char *e;

	if (n > 300)
		n = 300;
	e = mq_escape_dup(p, n);
	if (!e)
		abort();
	return e;
}

static char *quoted(const char *line)
{
	const char *a = strchr(line, '"'), *b;

	if (!a)
		return NULL;
	b = strchr(a + 1, '"');
	if (!b || b == a + 1)
		return NULL;
	return clean(a + 1, (size_t)(b - a - 1));
}

static void add_ev(struct brokerlog *l, enum brokerlog_kind kind, int code, int port, const char *text, size_t n)
{
	if (l->n_ev == MAX_EV) {
		free(l->ev[0].text);
		memmove(l->ev, l->ev + 1, (MAX_EV - 1) * sizeof *l->ev);
		l->n_ev--;
	}
	if (!l->ev) {
		l->ev = calloc(MAX_EV, sizeof *l->ev);
		if (!l->ev)
			abort();
	}
	l->ev[l->n_ev].kind = kind;
	l->ev[l->n_ev].code = code;
	l->ev[l->n_ev].port = port;
	l->ev[l->n_ev].text = clean(text, n);
	l->n_ev++;
}

static const char *fix_for(enum fail_kind k, const char *reason)
{
	bool perm = reason && (strstr(reason, "Permission denied") || strstr(reason, "No such file"));

	switch (k) {
	case F_KEY:
	case F_CERT:
	case F_CA:
		if (reason && strstr(reason, "key values mismatch"))
			return "name the key that belongs to the certificate (mqttls lint-conf shows the two digests to compare), "
			       "then start mosquitto again";
		if (perm)
			return "mqttls lint-conf /etc/mosquitto/mosquitto.conf names the path component that blocks the user "
			       "mosquitto and prints the chmod/chgrp that fixes it; then systemctl restart mosquitto";
		return "mqttls lint-conf /etc/mosquitto/mosquitto.conf checks the certificate and key files; then "
		       "systemctl restart mosquitto";
	case F_PWFILE:
	case F_ACL:
	case F_PSK:
		return "make the file readable by the user mosquitto (mqttls lint-conf prints the exact commands), then "
		       "systemctl restart mosquitto";
	case F_USER:
		return "create the user or correct the user option, then systemctl restart mosquitto";
	case F_ADDR:
		return "another program (often a second mosquitto: systemctl status mosquitto) holds the port, or two "
		       "listeners name it: ss -ltnp shows who; stop it or change the port";
	default:
		return "correct the line the log names (mqttls lint-conf lists every line mosquitto would refuse), then "
		       "systemctl restart mosquitto";
	}
}

static const char *id_for(enum fail_kind k, const char *reason)
{
	bool perm = reason && (strstr(reason, "Permission denied") || strstr(reason, "No such file"));

	switch (k) {
	case F_KEY:
		return reason && strstr(reason, "key values mismatch") ? "CONF_KEY_CERT_MISMATCH" : "BROKER_CANNOT_READ_FILE";
	case F_CA:
		return perm ? "BROKER_CANNOT_READ_FILE" : "CAFILE_INVALID";
	case F_CERT:
	case F_PWFILE:
	case F_ACL:
	case F_PSK:
		return "BROKER_CANNOT_READ_FILE";
	default:
		return "CONF_INCONSISTENT";
	}
}

static void emit_fail(struct brokerlog *l, const struct fail *f)
{
	struct finding *x;
	struct mq_str d = { 0 };

	x = findings_add(&l->findings, id_for(f->kind, f->reason), NULL, NULL, fix_for(f->kind, f->reason));
	free(x->title);
	x->title = NULL;
	{
		struct mq_str t = { 0 };
		mq_str_printf(&t, "The broker's log: mosquitto stopped at start on %s%s%s%s", f->what,
			      f->path ? " " : "", f->path ? f->path : "", f->reason ? ": " : "");
		if (f->reason)
			mq_str_printf(&t, "%s", f->reason);
		x->title = mq_str_take(&t);
	}
	mq_str_printf(&d, "The last start in the log ended with: %s", f->line);
	if (f->reason)
		mq_str_printf(&d, " (OpenSSL: %s)", f->reason);
	if (f->where)
		mq_str_printf(&d, "; %s", f->where);
	mq_str_printf(&d, ". mosquitto exits after it, so nothing listens and every client is refused.");
	x->detail = mq_str_take(&d);
	x->stops_broker = true;
	finding_set_seen(x, "every client: TCP_REFUSED (PubSubClient rc=-2, mosquitto_pub \"Error: Connection refused\")");
	if (f->path)
		finding_set_path(x, f->path);
}

static void fail_free(struct fail *f)
{
	free(f->line);
	free(f->reason);
	free(f->where);
	free(f->path);
	memset(f, 0, sizeof *f);
}

static int atoi_at(const char *p)
{
	long v = 0;
	while (*p >= '0' && *p <= '9' && v < 1000000)
		v = v * 10 + (*p++ - '0');
	return (int)v;
}

void brokerlog_parse(const char *text, size_t len, struct brokerlog *l)
{
	const char *start = text, *p, *end = text + len;
	struct fail f = { 0 };
	int port = 0;

	memset(l, 0, sizeof *l);
	/* The last run: from the last "starting" line on. */
	for (p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (memmem(p, n, "mosquitto version ", 18) && memmem(p, n, " starting", 9)) {
			start = p;
			l->started = true;
		}
		p += n + (nl ? 1 : 0);
	}
	for (p = start; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[MAX_LINE + 1];
		const char *q;

		memcpy(line, p, n > MAX_LINE ? MAX_LINE : n);
		line[n > MAX_LINE ? MAX_LINE : n] = '\0';
		p += n + (nl ? 1 : 0);
		l->n_lines++;
		/* A NUL in the line ends it, as for any C reader of the same log. */
		n = strlen(line);
		if (strstr(line, "mosquitto version ") && strstr(line, " running")) {
			l->running = true;
			continue;
		}
		if ((q = strstr(line, "New connection from ")) && (q = strstr(q, " on port "))) {
			port = atoi_at(q + 9);
			continue;
		}
		if ((q = strstr(line, "Sending CONNACK to ")) && (q = strrchr(q, '(')) && (q = strchr(q, ','))) {
			add_ev(l, BROKERLOG_CONNACK, atoi_at(q + 2), port, line, n);
			continue;
		}
		if (!l->running && f.kind != F_NONE) {
			if (!f.reason && (q = strstr(line, "OpenSSL Error[0]: "))) {
				const char *r = strrchr(q, ':');
				f.reason = clean(r ? r + 1 : q + 18, strlen(r ? r + 1 : q + 18));
				continue;
			}
			if (!f.where && (q = strstr(line, "Error found at "))) {
				f.where = clean(q, strlen(q));
				continue;
			}
		}
		if (!l->running && f.kind == F_NONE) {
			for (size_t i = 0; i < MQ_ARRAY_LEN(fails); i++) {
				if (!strstr(line, fails[i].needle))
					continue;
				f.kind = fails[i].kind;
				f.what = fails[i].what;
				f.line = clean(line, n);
				f.path = quoted(line);
				break;
			}
			if (f.kind != F_NONE)
				continue;
		}
		if (l->running && (strstr(line, "OpenSSL Error[") || strstr(line, "disconnected: Protocol error") ||
				   (strstr(line, "Client connection from ") && strstr(line, " failed: "))))
			add_ev(l, BROKERLOG_TLS, 0, port, line, n);
	}
	if (f.kind != F_NONE && !l->running)
		emit_fail(l, &f);
	fail_free(&f);
}

int brokerlog_read(const char *path, struct brokerlog *out, struct mq_err *err)
{
	char *buf = NULL;
	size_t got = 0;

	memset(out, 0, sizeof *out);
	/* The end of a long log is the part about the last start. */
	if (mq_read_regular_tail(path, BROKERLOG_MAX_BYTES, &buf, &got, err) < 0)
		return -1;
	brokerlog_parse(buf, got, out);
	free(buf);
	return 0;
}

void brokerlog_free(struct brokerlog *l)
{
	if (!l)
		return;
	findings_free(&l->findings);
	for (size_t i = 0; i < l->n_ev; i++)
		free(l->ev[i].text);
	free(l->ev);
	memset(l, 0, sizeof *l);
}
