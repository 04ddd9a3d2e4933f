/* mqttls inspect [TARGET] — the TLS handshake alone: parameters, the presented chain, the verification. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"
#include "mqttls/diag.h"
#include "mqttls/util.h"

const char usage_inspect[] =
	"usage: mqttls inspect [TARGET] [--json] [--timeout SEC]\n"
	"\n"
	"The TLS handshake alone: the negotiated version, cipher suite and group, whether the broker\n"
	"asks for a client certificate, and the chain it presents — every certificate's subject,\n"
	"issuer, serial, validity, SANs (the one matching the host you gave is marked), key, signature\n"
	"algorithm, key usage, EKU, basic constraints and SHA-256 fingerprint — verified against the\n"
	"CA you give (--cafile), or the system's CAs. No MQTT is sent.\n"
	"\n"
	"  --json          the diagnose JSON shape (stages, tls, chain, findings)\n"
	"  --timeout SEC   how long a silent peer is waited for (default 5)\n"
	"\n"
	"With no TARGET at all, the built-in lab broker is started (or reused) and inspected.\n"
	"Exit status: 0 when the handshake works and the chain verifies, 1 otherwise, 2 for a usage error.\n"
	"\n";

struct ictx {
	const struct cli_cmd *self;
	int own_args;
	bool json;
	double timeout;
};

static int own(void *ctx, int argc, char **argv, int i)
{
	struct ictx *d = ctx;

	if (!strcmp(argv[i], "--json")) {
		d->json = true;
		d->own_args++;
		return 1;
	}
	if (!strcmp(argv[i], "--timeout")) {
		if (cli_seconds_arg(d->self, argc, argv, i, &d->timeout) < 0)
			return -1;
		d->own_args += 2;
		return 2;
	}
	return 0;
}

static void print_tls(const struct report_style *st, const struct diag_result *r)
{
	const struct diag_tls *t = &r->tls;

	printf("\n%sHandshake%s\n", st->color ? "\033[1m" : "", st->color ? "\033[0m" : "");
	printf("  version      %s\n", t->version[0] ? t->version : "(none negotiated)");
	if (t->cipher[0])
		printf("  cipher       %s\n", t->cipher);
	if (t->group[0])
		printf("  group        %s\n", t->group);
	printf("  SNI sent     %s\n", t->sni[0] ? t->sni : "(none: the host is an address)");
	printf("  client cert  %s\n", !t->cert_requested ? "not asked for" : t->client_cert_sent ? "asked for, sent" : "asked for, none sent");
	if (t->alert_received >= 0)
		printf("  alert        %d received from the broker\n", t->alert_received);
	printf("  verification %s\n", r->stages[DIAG_VERIFY].detail ? r->stages[DIAG_VERIFY].detail : "");
}

int cmd_inspect(const struct cli_cmd *self, int argc, char **argv)
{
	struct target t;
	struct ictx d = { .self = self, .timeout = 5 };
	struct diag_opts o;
	struct diag_result *r = NULL;
	struct mq_err err = { 0 };
	struct report_style st;
	int rc;

	if ((rc = cli_target_or_lab(self, argc, argv, &t, own, &d, &d.own_args)) != EXIT_OK)
		return rc;
	if (!t.tls) {
		target_free(&t);
		return cli_usage_error(self, "inspect looks at a TLS handshake; mqtt:// is plain MQTT (use mqtts:// or diagnose)");
	}
	diag_opts_init(&o);
	o.timeout = d.timeout;
	o.tls_only = true;
	o.no_weak_probe = true;
	report_style_init(&st, stdout);
	if (diag_run(&t, &o, NULL, NULL, &r, &err) < 0) {
		target_free(&t);
		return cli_fail(self, "%s", err.msg);
	}
	if (d.json) {
		cli_print_json(diag_result_to_json(r));
	} else {
		char *host = mq_safe_text(t.host);
		printf("%smqttls inspect%s %s port %d\n\n", st.color ? "\033[1m" : "", st.color ? "\033[0m" : "", host ? host : "",
		       t.port);
		free(host);
		for (int i = DIAG_RESOLVE; i <= DIAG_VERIFY; i++)
			report_stage(stdout, &st, (enum diag_stage_id)i, &r->stages[i]);
		if (r->stages[DIAG_TLS].status != DIAG_SKIPPED)
			print_tls(&st, r);
		report_chain(stdout, &st, r, t.host);
		report_findings(stdout, &st, r, true);
	}
	rc = r->ok ? EXIT_OK : EXIT_FAIL;
	diag_result_free(r);
	target_free(&t);
	return rc;
}
