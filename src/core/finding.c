#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/finding.h"
#include "mqttls/util.h"

#define E MQ_SEV_ERROR
#define W MQ_SEV_WARNING

static const struct finding_def defs[] = {
	{ "DNS_FAILED", E, "The broker's host name does not resolve" },
	{ "TCP_REFUSED", E, "Nothing accepts connections on that port" },
	{ "TCP_TIMEOUT", E, "The broker does not answer at all" },
	{ "PLAINTEXT_PORT", E, "The port speaks plain MQTT, not TLS" },
	{ "NOT_TLS", E, "The port answers with something that is neither TLS nor MQTT" },
	{ "TLS_VERSION_MISMATCH", E, "Client and broker share no TLS version" },
	{ "NO_SHARED_CIPHER", E, "Client and broker share no cipher suite" },
	{ "HOSTNAME_MISMATCH", E, "The certificate is not valid for the host name connected to" },
	{ "IP_NOT_IN_SAN", E, "The certificate has no IP SAN for the address connected to" },
	{ "NO_SAN", W, "The certificate has no subjectAltName" },
	{ "CERT_EXPIRED", E, "A certificate in the broker's chain has expired" },
	{ "CERT_NOT_YET_VALID", E, "A certificate in the broker's chain is not valid yet" },
	{ "WRONG_CA", E, "The broker's certificate does not lead to the CA the client trusts" },
	{ "SELF_SIGNED_SERVER", E, "The broker presents a self-signed certificate the client does not trust" },
	{ "INCOMPLETE_CHAIN", E, "The broker does not send the intermediate CA" },
	{ "CAFILE_NOT_CA", E, "The CA file is not a CA certificate" },
	{ "CAFILE_INVALID", E, "The CA file cannot be used" },
	{ "SERVER_CERT_WRONG_PURPOSE", E, "The broker certificate is not allowed for TLS server use" },
	{ "CLIENT_CERT_REQUIRED", E, "The broker requires a client certificate and none was given" },
	{ "CLIENT_CERT_REJECTED", E, "The broker rejected the client certificate" },
	{ "CLIENT_CERT_EXPIRED", E, "The client certificate is expired or not yet valid" },
	{ "CLIENT_KEY_MISMATCH", E, "The client key does not belong to the client certificate" },
	{ "CLIENT_CERT_INVALID", E, "The client certificate or key cannot be used" },
	{ "ANONYMOUS_NOT_ALLOWED", E, "The broker refuses clients without credentials" },
	{ "BAD_CREDENTIALS", E, "The broker refused the username or password" },
	{ "NOT_AUTHORIZED", E, "The broker refused the connection as not authorised" },
	{ "CLIENT_ID_REJECTED", E, "The broker refused the client id" },
	{ "ACL_DENIED", E, "Publishing or subscribing on the topic is denied" },
	{ "BROKER_CANNOT_READ_FILE", E, "The broker's user cannot read a file the config names" },
	{ "KEY_PERMISSIONS_TOO_OPEN", W, "A private key is readable by other users" },
	{ "CONF_ANONYMOUS_UNSET", E, "A listener will refuse every client" },
	{ "CONF_INCONSISTENT", E, "Broker settings contradict each other" },
	{ "CONF_KEY_CERT_MISMATCH", E, "The broker's keyfile does not match its certfile" },
	{ "WEAK_TLS", W, "The broker accepts weak TLS" },
	{ "CERT_EXPIRING_SOON", W, "A certificate expires within 30 days" },
	{ "LONG_VALIDITY", W, "A leaf certificate is valid for more than 398 days" },
	{ "INSECURE_VERIFY_OFF", W, "Certificate verification is switched off" },
	/* lint-conf warnings added after the first contract (additive). */
	{ "CONF_PLAINTEXT_EXPOSED", W, "A plaintext listener on every interface sits next to a TLS one" },
	{ "CONF_TLS_VERSION_PINNED", W, "A TLS listener accepts only one TLS version" },
	{ "CONF_NO_ACL", W, "Clients have their own identities but no ACL limits what they may do" },
	{ "BROKER_CERT_STALE", E, "The broker serves another certificate than the certfile on disk" },
	/* Extensions beyond the contract's table (additive): a failed stage that no more specific
	 * rule explains still gets an error finding, so the root cause is never silent. */
	{ "TLS_HANDSHAKE_FAILED", E, "The TLS handshake failed for a reason mqttls could not name" },
	{ "VERIFY_FAILED", E, "The broker's certificate does not verify" },
	{ "MQTT_CONNECT_FAILED", E, "The MQTT connection failed after TLS" },
};

#undef E
#undef W

const struct finding_def *finding_def(const char *id)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(defs); i++)
		if (!strcmp(defs[i].id, id))
			return &defs[i];
	return NULL;
}

const struct finding_def *finding_defs(size_t *n)
{
	*n = MQ_ARRAY_LEN(defs);
	return defs;
}

const char *finding_severity_name(enum mq_severity s)
{
	switch (s) {
	case MQ_SEV_ERROR: return "error";
	case MQ_SEV_WARNING: return "warning";
	default: return "info";
	}
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct finding *findings_add(struct findings *fs, const char *id, const char *title,
			     const char *detail, const char *fix)
{
	const struct finding_def *d = finding_def(id);
	struct finding *f;

	if (!d)
		abort(); /* an id outside the contract is a bug, not an input problem */
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 8;
		struct finding *v = realloc(fs->v, cap * sizeof *v);
		if (!v)
			abort();
		fs->v = v;
		fs->cap = cap;
	}
	f = &fs->v[fs->n++];
	memset(f, 0, sizeof *f);
	f->id = d->id;
	f->severity = d->severity;
	f->title = strdup(title ? title : d->title);
	f->detail = dup_or_null(detail);
	f->fix = dup_or_null(fix);
	return f;
}

void finding_set_seen(struct finding *f, const char *fmt, ...)
{
	struct mq_str b = { 0 };
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = mq_str_vprintf(&b, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	free(f->seen);
	f->seen = mq_str_take(&b);
}

void finding_set_path(struct finding *f, const char *path)
{
	free(f->path);
	f->path = dup_or_null(path);
}

bool findings_has(const struct findings *fs, const char *id)
{
	for (size_t i = 0; i < fs->n; i++)
		if (!strcmp(fs->v[i].id, id))
			return true;
	return false;
}

bool findings_has_error(const struct findings *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		if (fs->v[i].severity == MQ_SEV_ERROR)
			return true;
	return false;
}

void findings_sort(struct findings *fs)
{
	/* A stable insertion sort: n is small and order within a severity carries meaning. */
	for (size_t i = 1; i < fs->n; i++) {
		struct finding tmp = fs->v[i];
		size_t j = i;
		while (j > 0 && fs->v[j - 1].severity > tmp.severity) {
			fs->v[j] = fs->v[j - 1];
			j--;
		}
		fs->v[j] = tmp;
	}
}

cJSON *findings_to_json(const struct findings *fs)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < fs->n; i++) {
		const struct finding *f = &fs->v[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", f->id);
		cJSON_AddStringToObject(o, "severity", finding_severity_name(f->severity));
		cJSON_AddStringToObject(o, "title", f->title);
		cJSON_AddStringToObject(o, "detail", f->detail ? f->detail : "");
		cJSON_AddStringToObject(o, "fix", f->fix ? f->fix : "");
		if (f->seen)
			cJSON_AddStringToObject(o, "seen", f->seen);
		if (f->path)
			cJSON_AddStringToObject(o, "path", f->path);
		if (f->stops_broker)
			cJSON_AddBoolToObject(o, "stops_broker", true);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

void finding_print_lines(FILE *out, const char *label, const char *raw, bool color)
{
	char *text;
	const char *p;

	if (!raw || !*raw)
		return;
	/* Texts quote paths and certificate fields: nothing in them may drive the terminal. */
	text = mq_safe_text(raw);
	p = text ? text : "";
	fprintf(out, "    %s%s%s\n", color ? "\033[1m" : "", label, color ? "\033[0m" : "");
	while (*p) {
		size_t n = strcspn(p, "\n");
		fprintf(out, "      %.*s\n", (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
	free(text);
}

void findings_print(FILE *out, const struct findings *fs, bool color, bool utf8)
{
	for (size_t i = 0; i < fs->n; i++) {
		const struct finding *f = &fs->v[i];
		const char *mark, *col;

		switch (f->severity) {
		case MQ_SEV_ERROR:
			mark = utf8 ? "✗" : "x";
			col = "\033[1;31m";
			break;
		case MQ_SEV_WARNING:
			mark = "!";
			col = "\033[1;33m";
			break;
		default:
			mark = utf8 ? "·" : "-";
			col = "\033[1;36m";
			break;
		}
		char *title = mq_safe_text(f->title), *path = f->path ? mq_safe_text(f->path) : NULL;

		fprintf(out, "%s%s %s%s  %s\n", color ? col : "", mark, f->id, color ? "\033[0m" : "", title ? title : "");
		if (path)
			fprintf(out, "    file: %s\n", path);
		free(title);
		free(path);
		finding_print_lines(out, "why:", f->detail, color);
		finding_print_lines(out, "fix:", f->fix, color);
		finding_print_lines(out, "what it looks like elsewhere:", f->seen, color);
		if (i + 1 < fs->n)
			fputc('\n', out);
	}
}

void findings_free(struct findings *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->v[i].title);
		free(fs->v[i].detail);
		free(fs->v[i].fix);
		free(fs->v[i].seen);
		free(fs->v[i].path);
	}
	free(fs->v);
	memset(fs, 0, sizeof *fs);
}
