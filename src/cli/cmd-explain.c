/* mqttls explain TEXT — what a device, client or broker printed, in plain words. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mqttls/explain.h"
#include "mqttls/util.h"
#include "mqttls/version.h"

const char usage_explain[] =
	"usage: mqttls explain [--json] TEXT...\n"
	"       mqttls explain [--json] -          (read the text from standard input)\n"
	"       mqttls explain [--json] -- TEXT... (everything after -- is text)\n"
	"\n"
	"Explains what a device, a client or a broker printed. Paste the line as it is:\n"
	"  PubSubClient state()      rc=-2, failed, rc=5\n"
	"  mbedTLS (ESP32)           -9984, -0x2700, 0x2700, verify flags 0x8\n"
	"  esp-tls                   0x801A, ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED (ESP-IDF 4.x and 5.x)\n"
	"  OpenSSL                   error:0A000412:SSL routines::sslv3 alert bad certificate\n"
	"  X509 verify results       verify error:num=20, X509_V_ERR_HOSTNAME_MISMATCH\n"
	"  TLS alerts                alert 48, unknown_ca\n"
	"  CONNACK / MQTT 5 reasons  'Sending CONNACK to 10.0.0.5 (0, 5)', 0x87\n"
	"  libmosquitto              'Error: A TLS error occurred.', MOSQ_ERR_TLS\n"
	"  mosquitto log lines       'Client <unknown> disconnected: Protocol error.'\n"
	"  Node.js / Python          ERR_TLS_CERT_ALTNAME_INVALID, [SSL: CERTIFICATE_VERIFY_FAILED]\n"
	"\n"
	"A bare number is read as every code it could be, each marked as a guess.\n"
	"Exit status: 0 when something was recognised, 1 when nothing was, 2 for a usage error.\n"
	"\n"
	"  --json    one JSON object: {input, recognised, explanations: [{family, code, name,\n"
	"            meaning, detail, findings, guess, matched}]}\n";

static const char *family_label(const char *f)
{
	static const struct { const char *f, *label; } tab[] = {
		{ EXPLAIN_PUBSUBCLIENT, "PubSubClient" }, { EXPLAIN_MBEDTLS, "mbedTLS" },
		{ EXPLAIN_MBEDTLS_FLAGS, "mbedTLS verify flags" }, { EXPLAIN_ESPTLS, "esp-tls" },
		{ EXPLAIN_OPENSSL, "OpenSSL" }, { EXPLAIN_X509, "X509 verify" }, { EXPLAIN_ALERT, "TLS alert" },
		{ EXPLAIN_CONNACK, "CONNACK (MQTT 3.1.1)" }, { EXPLAIN_MQTT5, "MQTT 5 reason code" },
		{ EXPLAIN_MOSQ_ERR, "libmosquitto" }, { EXPLAIN_MOSQ_LOG, "mosquitto broker log" },
		{ EXPLAIN_MOSQ_CLIENT, "mosquitto_pub/sub" }, { EXPLAIN_NODE, "Node.js" }, { EXPLAIN_PYTHON, "Python" },
		{ EXPLAIN_ERRNO, "system error" },
	};
	for (size_t i = 0; i < MQ_ARRAY_LEN(tab); i++)
		if (!strcmp(tab[i].f, f))
			return tab[i].label;
	return f;
}

static int read_stdin(struct mq_str *b)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0) {
		if (b->len + (size_t)n > EXPLAIN_MAX_INPUT)
			return -1;
		mq_str_append(b, buf, (size_t)n);
	}
	return n < 0 ? -1 : 0;
}

static void print_human(const struct explain_result *r, bool color)
{
	const char *B = color ? "\033[1m" : "", *D = color ? "\033[2m" : "", *N = color ? "\033[0m" : "";
	size_t guesses = 0;

	for (size_t i = 0; i < r->n; i++)
		guesses += r->v[i].guess;
	if (guesses > 1)
		printf("A bare number can be several things; here is each reading:\n\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct explain_item *it = &r->v[i];
		char head[256];

		snprintf(head, sizeof head, "%s%s%s  %s%s%s", it->guess && guesses > 1 ? "if it is " : "", family_label(it->family), "",
			 B, it->code, N);
		printf("%s", head);
		if (it->name && strcmp(it->name, it->code))
			printf("  %s%s%s", D, it->name, N);
		printf("\n");
		cli_wrap(stdout, it->meaning, 2, 2, 88);
		if (it->detail)
			cli_wrap(stdout, it->detail, 2, 2, 88);
		if (it->findings[0]) {
			struct mq_str f = { 0 };
			for (size_t k = 0; it->findings[k]; k++)
				mq_str_printf(&f, "%s%s", k ? ", " : "", it->findings[k]);
			printf("  %srelated findings:%s %s (docs/findings.md)\n", D, N, f.s);
			mq_str_free(&f);
		}
		if (i + 1 < r->n)
			printf("\n");
	}
}

int cmd_explain(const struct cli_cmd *self, int argc, char **argv)
{
	struct mq_str text = { 0 };
	struct explain_result r = { 0 };
	bool json = false, from_stdin = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		if (!strcmp(argv[i], "--")) {
			for (i++; i < argc; i++)
				mq_str_printf(&text, "%s%s", text.len ? " " : "", argv[i]);
			break;
		}
		if (!strcmp(argv[i], "-")) {
			from_stdin = true;
			continue;
		}
		if (cli_is_help(argv[i])) {
			mq_str_free(&text);
			return cli_help(self);
		}
		/* Codes start with one dash (-0x2700, -9984); words after two dashes are options. */
		if (argv[i][0] == '-' && argv[i][1] == '-' && isalpha((unsigned char)argv[i][2])) {
			mq_str_free(&text);
			return cli_usage_error(self, "unknown option '%s'; text that starts with '--' goes after a lone --",
					       argv[i]);
		}
		mq_str_printf(&text, "%s%s", text.len ? " " : "", argv[i]);
	}
	if (from_stdin && text.len) {
		mq_str_free(&text);
		return cli_usage_error(self, "give the text either as arguments or on standard input ('-'), not both");
	}
	if (from_stdin && read_stdin(&text) < 0) {
		mq_str_free(&text);
		return cli_fail(self, "cannot read standard input (more than %d KB, or a read error)", EXPLAIN_MAX_INPUT / 1024);
	}
	if (!text.len) {
		mq_str_free(&text);
		return cli_usage_error(self, "nothing to explain: give the error text, e.g. mqttls explain rc=-2");
	}

	explain_text(text.s, text.len, &r);
	if (json) {
		cJSON *j = explain_result_to_json(&r, text.s, text.len);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "tool", MQTTLS_NAME);
		cJSON_AddStringToObject(o, "version", MQTTLS_VERSION);
		for (cJSON *c = j->child; c;) {
			cJSON *next = c->next;
			cJSON_AddItemToObject(o, c->string, cJSON_DetachItemViaPointer(j, c));
			c = next;
		}
		cJSON_Delete(j);
		cli_print_json(o);
	} else if (r.n) {
		print_human(&r, mq_use_color(stdout));
	} else {
		char *esc = mq_escape_dup(text.s, text.len > 300 ? 300 : text.len);
		printf("mqttls does not recognise anything in \"%s\".\n", esc ? esc : "");
		cli_wrap(stdout,
			 "It knows PubSubClient rc values, mbedTLS and esp-tls codes, OpenSSL error:XXXXXXXX codes, X509 verify "
			 "results, TLS alerts, CONNACK and MQTT 5 reason codes, libmosquitto errors, mosquitto log lines and "
			 "Node.js/Python TLS errors. Paste the whole line as the device or broker printed it, or run "
			 "'mqttls diagnose' against the broker to find the cause directly.",
			 0, 0, 88);
		free(esc);
	}
	rc = r.n ? EXIT_OK : EXIT_FAIL;
	explain_result_free(&r);
	mq_str_free(&text);
	return rc;
}
