#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "cli.h"
#include "report.h"
#include "mqttls/util.h"

void report_style_init(struct report_style *st, FILE *out)
{
	struct winsize ws;
	const char *cs = nl_langinfo(CODESET);

	st->color = mq_use_color(out);
	st->utf8 = cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
	st->width = 92;
	if (isatty(fileno(out)) && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		st->width = ws.ws_col < 110 ? ws.ws_col - 2 : 108;
}

static const char *c(const struct report_style *st, const char *code)
{
	return st->color ? code : "";
}

void report_stage(FILE *out, const struct report_style *st, enum diag_stage_id id, const struct diag_stage *g)
{
	const char *mark, *col;
	char ms[24] = "";

	switch (g->status) {
	case DIAG_OK: mark = st->utf8 ? "✓" : "ok"; col = "\033[32m"; break;
	case DIAG_FAILED: mark = st->utf8 ? "✗" : "XX"; col = "\033[1;31m"; break;
	case DIAG_SKIPPED: mark = st->utf8 ? "·" : "--"; col = "\033[2m"; break;
	default: mark = "?"; col = ""; break;
	}
	char *detail = mq_safe_text(g->detail);   /* it names what the user typed: the host, a path */

	if (g->status != DIAG_SKIPPED)
		snprintf(ms, sizeof ms, "%.1f ms", g->ms);
	fprintf(out, "  %s%s%s %-13s %10s  ", c(st, col), mark, c(st, "\033[0m"), diag_stage_name(id), ms);
	if (g->status == DIAG_SKIPPED)
		fprintf(out, "%sskipped: %s%s\n", c(st, "\033[2m"), detail ? detail : "", c(st, "\033[0m"));
	else
		fprintf(out, "%s\n", detail ? detail : "");
	free(detail);
}

static void block(FILE *out, const struct report_style *st, const char *label, const char *raw, bool verbatim)
{
	char *text;

	/* Commands and log lines: one per line, never re-wrapped (they must stay copyable). */
	if (verbatim) {
		finding_print_lines(out, label, raw, st->color);
		return;
	}
	if (!raw || !*raw)
		return;
	/* Evidence quotes what the peer and the user gave: nothing in it may drive the terminal. */
	text = mq_safe_text(raw);
	fprintf(out, "    %s%s%s\n", c(st, "\033[1m"), label, c(st, "\033[0m"));
	cli_wrap(out, text, 6, 6, st->width);
	free(text);
}

static void one_finding(FILE *out, const struct report_style *st, const struct finding *f)
{
	const char *mark, *col;

	switch (f->severity) {
	case MQ_SEV_ERROR: mark = st->utf8 ? "✗" : "x"; col = "\033[1;31m"; break;
	case MQ_SEV_WARNING: mark = "!"; col = "\033[1;33m"; break;
	default: mark = "-"; col = "\033[1;36m"; break;
	}
	char *title = mq_safe_text(f->title), *path = f->path ? mq_safe_text(f->path) : NULL;

	fprintf(out, "%s%s %s%s  %s\n", c(st, col), mark, f->id, c(st, "\033[0m"), title ? title : "");
	if (path)
		fprintf(out, "    file: %s\n", path);
	free(title);
	free(path);
	block(out, st, "evidence:", f->detail, false);
	block(out, st, "fix:", f->fix, true);
	block(out, st, "what the same failure looks like elsewhere:", f->seen, true);
}

void report_findings(FILE *out, const struct report_style *st, const struct diag_result *r, bool inspect)
{
	const struct findings *fs = &r->findings;
	size_t errors = 0;

	for (size_t i = 0; i < fs->n; i++)
		errors += fs->v[i].severity == MQ_SEV_ERROR;
	fputc('\n', out);
	if (errors) {
		char *title = mq_safe_text(fs->v[0].title);
		fprintf(out, "%sRoot cause:%s ", c(st, "\033[1;31m"), c(st, "\033[0m"));
		cli_wrap(out, title ? title : "", 0, 12, st->width);
		free(title);
		fputc('\n', out);
	} else if (r->ok) {
		if (inspect)
			fprintf(out, "%sThe handshake works and the broker's certificate verifies.%s\n", c(st, "\033[1;32m"), c(st, "\033[0m"));
		else {
			char *host = mq_safe_text(r->host);
			fprintf(out, "%sEvery stage passed:%s %s:%d answers TLS, its certificate verifies, and an MQTT round trip works.\n",
				c(st, "\033[1;32m"), c(st, "\033[0m"), host ? host : "", r->port);
			free(host);
		}
		if (fs->n)
			fputc('\n', out);
	} else {
		fprintf(out, "The connection did not complete, and mqttls found no specific cause.\n");
	}
	for (size_t i = 0; i < fs->n; i++) {
		if (i == errors && errors && i < fs->n)
			fprintf(out, "%sAlso worth fixing:%s\n\n", c(st, "\033[1m"), c(st, "\033[0m"));
		one_finding(out, st, &fs->v[i]);
		if (i + 1 < fs->n)
			fputc('\n', out);
	}
	if (errors > 1)
		fprintf(out, "\n%s(The first error is the root cause; the later ones may follow from it.)%s\n", c(st, "\033[2m"), c(st, "\033[0m"));
}

void report_chain(FILE *out, const struct report_style *st, const struct diag_result *r, const char *host)
{
	if (!r->n_chain) {
		fprintf(out, "\nThe broker presented no certificate.\n");
		return;
	}
	fprintf(out, "\n%sChain presented by the broker%s (%zu certificate%s, leaf first):\n", c(st, "\033[1m"), c(st, "\033[0m"),
		r->n_chain, r->n_chain == 1 ? "" : "s");
	for (size_t i = 0; i < r->n_chain; i++) {
		fputc('\n', out);
		cert_info_print(out, &r->chain[i], 2, i == 0 ? host : NULL, st->color);
	}
}
