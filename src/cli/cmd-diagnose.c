/* mqttls diagnose [TARGET] — walk every stage of the connection and name what is wrong. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"
#include "mqttls/diag.h"
#include "mqttls/util.h"

const char usage_diagnose[] =
	"usage: mqttls diagnose [TARGET] [--json] [--timeout SEC] [--broker-conf FILE] [--broker-log FILE]\n"
	"       mqttls diagnose mosquitto_sub -h HOST -p 8883 --cafile ca.crt -t topic   (paste a failing command)\n"
	"\n"
	"Walks every stage of an MQTT-over-TLS connection — resolve, tcp, tls, verify, mqtt_connect,\n"
	"pubsub — and says what is wrong in one sentence, with the evidence, the fix as commands, and\n"
	"what the same failure looks like on an ESP32, in mosquitto_pub and in the broker's log.\n"
	"The local files (--cafile, --cert, --key) are checked before connecting. The last stage\n"
	"publishes and subscribes at QoS 1 on a unique topic under -t (default mqttls/diag/...).\n"
	"\n"
	"  --json             the contract's JSON object on standard output\n"
	"  --timeout SEC      how long a silent peer is waited for, per step (default 5)\n"
	"  --broker-conf FILE fold in what lint-conf finds in the broker's mosquitto.conf, so that a\n"
	"                     broker-side cause (a key it cannot read, no allow_anonymous, a\n"
	"                     certificate changed without a restart) becomes the root cause\n"
	"  --broker-log FILE  the same with the broker's log (its last start)\n"
	"  --no-weak-probe    do not test whether the broker accepts TLS 1.0/1.1 or suites without\n"
	"                     forward secrecy (two extra handshakes)\n"
	"  --show-log         also print libmosquitto's log and the engine's notes\n"
	"\n"
	"With no TARGET at all, the built-in lab broker is started (or reused) and diagnosed.\n"
	"\n"
	"Exit status: 0 when every stage passed, 1 when the connection fails or an error was found,\n"
	"2 for a usage error.\n"
	"\n";

struct dctx {
	const struct cli_cmd *self;
	bool json, show_log, no_weak;
	double timeout;
	const char *broker_conf, *broker_log;
	int own_args;
	struct report_style st;
	bool header_done;
	const struct target *t;
};

static int own(void *ctx, int argc, char **argv, int i)
{
	struct dctx *d = ctx;
	const char *a = argv[i];

	if (!strcmp(a, "--json")) {
		d->json = true;
		d->own_args++;
		return 1;
	}
	if (!strcmp(a, "--show-log")) {
		d->show_log = true;
		d->own_args++;
		return 1;
	}
	if (!strcmp(a, "--no-weak-probe")) {
		d->no_weak = true;
		d->own_args++;
		return 1;
	}
	if (!strcmp(a, "--timeout")) {
		if (cli_seconds_arg(d->self, argc, argv, i, &d->timeout) < 0)
			return -1;
		d->own_args += 2;
		return 2;
	}
	if (!strcmp(a, "--broker-conf") || !strcmp(a, "--broker-log")) {
		if (i + 1 >= argc) {
			cli_usage_error(d->self, "option %s needs a value", a);
			return -1;
		}
		if (!strcmp(a, "--broker-conf"))
			d->broker_conf = argv[i + 1];
		else
			d->broker_log = argv[i + 1];
		d->own_args += 2;
		return 2;
	}
	return 0;
}

static void header(struct dctx *d)
{
	const struct target *t = d->t;
	const struct report_style *st = &d->st;

	struct mq_str line = { 0 };
	char *safe;

	mq_str_printf(&line, "%s port %d, %s", t->host, t->port, t->tls ? "TLS" : "plain MQTT");
	if (t->tls)
		mq_str_printf(&line, ", CA %s", t->cafile ? t->cafile : t->capath ? t->capath : "from the system store");
	if (t->cert)
		mq_str_printf(&line, ", client certificate %s", t->cert);
	if (t->tls && t->clock != TARGET_CLOCK_SYSTEM) {
		char when[32];
		mq_str_printf(&line, ", device clock %s", target_clock_arg(t->clock, t->clock_at, when, sizeof when));
	}
	mq_str_printf(&line, ", MQTT %s", t->mqtt_version == 5 ? "5" : t->mqtt_version == 31 ? "3.1" : "3.1.1");
	/* The user's own words, but pasted from anywhere: no byte of them drives the terminal. */
	safe = mq_safe_text(line.s);
	printf("%smqttls diagnose%s %s\n\n", st->color ? "\033[1m" : "", st->color ? "\033[0m" : "", safe ? safe : "");
	free(safe);
	mq_str_free(&line);
	fflush(stdout);
}

static void observe(void *ctx, const struct diag_event *ev)
{
	struct dctx *d = ctx;

	if (d->json)
		return;
	if (!d->header_done) {
		header(d);
		d->header_done = true;
	}
	if (ev->kind == DIAG_EV_STAGE_FINISHED) {
		report_stage(stdout, &d->st, ev->stage, ev->state);
		fflush(stdout);
	}
}

int cmd_diagnose(const struct cli_cmd *self, int argc, char **argv)
{
	struct target t;
	struct dctx d = { .self = self, .timeout = 5 };
	struct diag_opts o;
	struct diag_result *r = NULL;
	struct mq_err err = { 0 };
	int rc;

	if ((rc = cli_target_or_lab(self, argc, argv, &t, own, &d, &d.own_args)) != EXIT_OK)
		return rc;
	diag_opts_init(&o);
	o.timeout = d.timeout;
	o.no_weak_probe = d.no_weak;
	o.broker_conf = d.broker_conf;
	o.broker_log = d.broker_log;
	d.t = &t;
	report_style_init(&d.st, stdout);

	if (diag_run(&t, &o, observe, &d, &r, &err) < 0) {
		target_free(&t);
		return cli_fail(self, "%s", err.msg);
	}
	if (d.json) {
		cli_print_json(diag_result_to_json(r));
	} else {
		report_findings(stdout, &d.st, r, false);
		if (d.show_log && r->n_log) {
			printf("\nLog:\n");
			for (size_t i = 0; i < r->n_log; i++)
				printf("  %s\n", r->log[i]);
		}
	}
	if (r->broker_error)
		fprintf(stderr, "mqttls diagnose: %s\n", r->broker_error);
	rc = r->ok && !r->broker_error ? EXIT_OK : EXIT_FAIL;
	diag_result_free(r);
	target_free(&t);
	return rc;
}
