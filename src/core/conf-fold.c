/*
 * conf-fold — fold the broker's side (its configuration, its log, the certificate on disk) into
 * a live diagnosis so that the root cause is the real one (see conf_fold_diagnosis in conf.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/brokerlog.h"
#include "mqttls/conf.h"
#include "mqttls/util.h"

/* Live symptoms, and the broker-side findings that explain them (besides "stops the broker"). */
static const struct {
	const char *wire;
	const char *broker[6];
} explains[] = {
	{ "PLAINTEXT_PORT", { "CONF_INCONSISTENT" } },
	{ "NOT_TLS", { "CONF_INCONSISTENT" } },
	{ "ANONYMOUS_NOT_ALLOWED", { "CONF_ANONYMOUS_UNSET", "CONF_INCONSISTENT" } },
	{ "NOT_AUTHORIZED", { "CONF_ANONYMOUS_UNSET", "CONF_INCONSISTENT" } },
	{ "BAD_CREDENTIALS", { "CONF_INCONSISTENT" } },
	{ "CLIENT_CERT_REJECTED", { "CONF_INCONSISTENT", "CAFILE_NOT_CA", "CAFILE_INVALID", "BROKER_CANNOT_READ_FILE" } },
	{ "TLS_VERSION_MISMATCH", { "CONF_TLS_VERSION_PINNED" } },
	{ "CERT_EXPIRED", { "BROKER_CERT_STALE" } },
	{ "CERT_NOT_YET_VALID", { "BROKER_CERT_STALE" } },
	{ "HOSTNAME_MISMATCH", { "BROKER_CERT_STALE" } },
	{ "IP_NOT_IN_SAN", { "BROKER_CERT_STALE" } },
	{ "WRONG_CA", { "BROKER_CERT_STALE" } },
	{ "SELF_SIGNED_SERVER", { "BROKER_CERT_STALE" } },
	{ "INCOMPLETE_CHAIN", { "BROKER_CERT_STALE" } },
	{ "SERVER_CERT_WRONG_PURPOSE", { "BROKER_CERT_STALE" } },
};

/* Live findings a log line about a client confirms. */
static const char *const tls_ids[] = { "CLIENT_CERT_REQUIRED", "CLIENT_CERT_REJECTED", "CLIENT_CERT_EXPIRED",
				       "WRONG_CA", "SELF_SIGNED_SERVER", "INCOMPLETE_CHAIN", "HOSTNAME_MISMATCH",
				       "IP_NOT_IN_SAN", "CERT_EXPIRED", "CERT_NOT_YET_VALID", "TLS_VERSION_MISMATCH",
				       "NO_SHARED_CIPHER", "SERVER_CERT_WRONG_PURPOSE", "PLAINTEXT_PORT" };

static bool does_explain(const struct finding *b, const char *wire)
{
	if (!strcmp(wire, "TCP_REFUSED"))
		return b->stops_broker;
	for (size_t i = 0; i < MQ_ARRAY_LEN(explains); i++) {
		if (strcmp(explains[i].wire, wire))
			continue;
		for (size_t k = 0; k < MQ_ARRAY_LEN(explains[i].broker) && explains[i].broker[k]; k++)
			if (!strcmp(explains[i].broker[k], b->id))
				return true;
	}
	return false;
}

/* Add a sentence (made with a literal format) to a finding's text. */
static void append_text(char **dst, const char *fmt, ...) MQ_PRINTF(2, 3);

static void append_text(char **dst, const char *fmt, ...)
{
	struct mq_str s = { 0 };
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (*dst && **dst)
		mq_str_printf(&s, "%s ", *dst);
	mq_str_printf(&s, "%s", buf);
	free(*dst);
	*dst = mq_str_take(&s);
}

static void copy_into(struct findings *dst, const struct finding *src)
{
	struct finding *f = findings_add(dst, src->id, src->title, src->detail, src->fix);

	f->stops_broker = src->stops_broker;
	if (src->seen)
		finding_set_seen(f, "%s", src->seen);
	if (src->path)
		finding_set_path(f, src->path);
}

/* Insert a copy of src at position 0 of fs. */
static void prepend(struct findings *fs, const struct finding *src)
{
	struct finding tmp;

	copy_into(fs, src);
	tmp = fs->v[fs->n - 1];
	memmove(fs->v + 1, fs->v, (fs->n - 1) * sizeof *fs->v);
	fs->v[0] = tmp;
}

static bool in_list(const char *id, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(id, v[i]))
			return true;
	return false;
}

static void add_log_evidence(struct findings *live, const struct brokerlog *bl, int port, const char *log_path)
{
	char *lp = mq_escape_dup(log_path, strlen(log_path));

	for (size_t i = 0; i < live->n; i++) {
		struct finding *f = &live->v[i];
		struct mq_str ev = { 0 };
		size_t shown = 0;
		bool connack = !strcmp(f->id, "ANONYMOUS_NOT_ALLOWED") || !strcmp(f->id, "NOT_AUTHORIZED") ||
			       !strcmp(f->id, "BAD_CREDENTIALS") || !strcmp(f->id, "CLIENT_ID_REJECTED");
		bool tls = in_list(f->id, tls_ids, MQ_ARRAY_LEN(tls_ids));

		if (!connack && !tls)
			continue;
		/* The latest lines are about this diagnosis' own connection attempts. */
		for (size_t k = bl->n_ev; k > 0 && shown < 3; k--) {
			const struct brokerlog_line *e = &bl->ev[k - 1];
			if (e->port && port && e->port != port)
				continue;
			if ((connack && e->kind == BROKERLOG_CONNACK) || (tls && e->kind == BROKERLOG_TLS)) {
				mq_str_printf(&ev, "%s%s", shown ? " / " : "", e->text);
				shown++;
			}
		}
		if (shown)
			append_text(&f->detail, "The broker's log (%s) shows: %s.", lp, ev.s);
		mq_str_free(&ev);
	}
	free(lp);
}

static void stale_cert(struct findings *b, const char *served, const char *on_disk, const char *conf_path, int port)
{
	struct finding *f = findings_add(b, "BROKER_CERT_STALE", NULL, NULL,
					 "systemctl reload mosquitto    # mosquitto 2.0 re-reads certfile and keyfile on SIGHUP\n"
					 "(or systemctl restart mosquitto)");
	struct mq_str d = { 0 };
	char *cp = mq_escape_dup(conf_path, strlen(conf_path));

	mq_str_printf(&d, "The broker presented a certificate with SHA-256 %s on port %d, but the certfile that %s names "
		      "for that listener now holds %s. mosquitto reads certfile at start and on SIGHUP only, so it "
		      "still serves the certificate it loaded before the file was replaced.", served, port, cp, on_disk);
	free(f->detail);
	f->detail = mq_str_take(&d);
	finding_set_seen(f, "the new certificate changes nothing for the devices until the broker reloads it: they "
			    "keep failing (or working) the way they did with the old one");
	free(cp);
}

/* A refused connection to a port the configuration does not open: say which ports it opens. */
static void no_listener_on_port(struct findings *live, size_t i, const char *conf_path, int port)
{
	struct conf c;
	struct mq_err err = { 0 };
	struct mq_str ports = { 0 };
	char *cp;

	conf_init(&c);
	if (conf_read_file(&c, conf_path, &err) == 0 && !conf_find_listener(&c, port)) {
		for (size_t k = 0; k < c.n_listeners; k++) {
			char lab[300];
			mq_str_printf(&ports, "%s%s", k ? ", " : "", conf_listener_label(&c.listeners[k], lab, sizeof lab));
		}
		cp = mq_escape_dup(conf_path, strlen(conf_path));
		append_text(&live->v[i].detail, "The broker's configuration %s opens no listener on port %d: it has %s.",
			    cp, port, ports.s ? ports.s : "none");
		free(cp);
	}
	mq_str_free(&ports);
	conf_free(&c);
}

int conf_fold_diagnosis(const struct conf_fold_opts *o, struct findings *live, struct mq_err *err)
{
	struct findings b = { 0 };
	struct brokerlog bl = { 0 };
	char on_disk[96] = "";
	const struct finding *root = NULL;
	bool have_log = false, *used;
	size_t root_i = 0;

	if (o->conf_path && conf_lint_append(o->conf_path, o->port, &b, on_disk, err) < 0)
		return -1;
	if (o->log_path) {
		if (brokerlog_read(o->log_path, &bl, err) < 0) {
			brokerlog_free(&bl);
			findings_free(&b);
			return -1;
		}
		have_log = true;
	}
	if (o->conf_path && o->served_sha256 && *o->served_sha256 && *on_disk && strcmp(o->served_sha256, on_disk))
		stale_cert(&b, o->served_sha256, on_disk, o->conf_path, o->port);
	/* The log's start failure: once only, with the configuration's own finding when both say it. */
	for (size_t i = 0; have_log && i < bl.findings.n; i++) {
		const struct finding *lf = &bl.findings.v[i];
		bool dup = false;
		for (size_t k = 0; k < b.n && !dup; k++) {
			if (strcmp(b.v[k].id, lf->id) || !b.v[k].stops_broker)
				continue;
			append_text(&b.v[k].detail, "The broker's log confirms it: %s", lf->detail ? lf->detail : "");
			dup = true;
		}
		if (!dup)
			copy_into(&b, lf);
	}
	findings_sort(&b);

	for (size_t i = 0; i < live->n && !root; i++)
		if (live->v[i].severity == MQ_SEV_ERROR) {
			root = &live->v[i];
			root_i = i;
		}
	used = calloc(b.n ? b.n : 1, sizeof *used);
	if (!used)
		abort();
	if (root) {
		char *wire_id = strdup(root->id);
		bool explained = false;
		for (size_t k = 0; k < b.n && wire_id && !explained; k++) {
			struct finding *bf = &b.v[k];
			if (!does_explain(bf, wire_id))
				continue;
			if (bf->severity == MQ_SEV_ERROR) {
				append_text(&live->v[root_i].detail, "This follows from %s on the broker's side (above).",
					    bf->id);
				prepend(live, bf);
				root_i++; /* the wire finding moved down by one */
			} else {
				append_text(&live->v[root_i].detail, "On the broker's side: %s (%s below).", bf->title, bf->id);
				copy_into(live, bf);
			}
			used[k] = explained = true;
		}
		if (wire_id && !strcmp(wire_id, "TCP_REFUSED") && o->conf_path)
			no_listener_on_port(live, root_i, o->conf_path, o->port);
		free(wire_id);
	}
	for (size_t k = 0; k < b.n; k++)
		if (!used[k] && !findings_has(live, b.v[k].id))
			copy_into(live, &b.v[k]);
	free(used);
	if (have_log)
		add_log_evidence(live, &bl, o->port, o->log_path);
	findings_sort(live);
	findings_free(&b);
	brokerlog_free(&bl);
	return 0;
}
