/* mqttls lint-conf FILE — what a mosquitto.conf will do, before the broker is started with it. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mqttls/conf.h"
#include "mqttls/fsaccess.h"
#include "mqttls/util.h"
#include "mqttls/version.h"

const char usage_lint_conf[] =
	"usage: mqttls lint-conf FILE [--json] [--as-user USER]\n"
	"\n"
	"Reads a mosquitto.conf and the files it names (include_dir, certificates, keys, password,\n"
	"ACL and PSK files) the way mosquitto 2.0 does, without starting a broker, and reports:\n"
	"  - lines mosquitto would refuse, with file and line (it does not start on any of them)\n"
	"  - files the broker's user cannot read: the user option (default mosquitto), its groups,\n"
	"    every directory on the way; the exact chmod/chgrp that fixes it\n"
	"  - listeners that refuse every client (no allow_anonymous in mosquitto 2.x)\n"
	"  - settings that contradict each other, and options that land on another listener\n"
	"  - a key that does not match its certificate, expired or wrong certificates, a missing\n"
	"    intermediate, SANs that do not cover this host\n"
	"  - warnings: keys readable by others, plaintext next to TLS, TLS 1.3 only, no ACL\n"
	"\n"
	"  --json          the result as JSON: listeners, messages, chain and findings\n"
	"  --as-user USER  check the files as USER instead of the configuration's user\n"
	"\n"
	"Run it as root to check files in directories you cannot read yourself.\n"
	"Exit status: 0 when there is no error finding, 1 when there is one (or FILE cannot be\n"
	"read), 2 for a usage error.\n";

static void print_list_line(const char *label, const char *text)
{
	printf("%-10s%s\n", label, text);
}

static void print_human(const struct conf_lint *l, bool color)
{
	const struct conf *c = &l->conf;
	const char *B = color ? "\033[1m" : "", *N = color ? "\033[0m" : "";
	size_t n_err = 0, n_warn = 0;
	struct mq_str files = { 0 };

	for (size_t i = 0; i < c->n_files; i++) {
		char *e = mq_escape_dup(c->files[i].path, strlen(c->files[i].path));
		mq_str_printf(&files, "%s%s (%d line%s)", i ? ", " : "", e, c->files[i].lines,
			      c->files[i].lines == 1 ? "" : "s");
		free(e);
	}
	print_list_line("read", files.s ? files.s : "");
	mq_str_free(&files);
	printf("%-10s%s%s%s%s%s\n", "user", l->user, l->user_exists ? "" : " (does not exist)",
	       l->user_note ? " (" : "", l->user_note ? l->user_note : "", l->user_note ? ")" : "");
	printf("%-10s%s\n", "listeners", c->per_listener_settings.v == 1 ? "(per_listener_settings true)" : "");
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct conf_listener *li = &c->listeners[i];
		char lab[300], where[300] = "";
		if (li->at.file) {
			char *e = mq_escape_dup(li->at.file, strlen(li->at.file));
			snprintf(where, sizeof where, "  %s:%d", e, li->at.line);
			free(e);
		}
		printf("  %s%-44s%s %-5s %s%s\n", B, conf_listener_label(li, lab, sizeof lab), N,
		       conf_listener_is_tls(li) ? "TLS" : "plain",
		       conf_listener_allows_anonymous(c, li) ? "anonymous allowed" : "anonymous refused", where);
	}
	if (c->n_msgs) {
		printf("messages\n");
		for (size_t i = 0; i < c->n_msgs; i++) {
			const struct conf_msg *m = &c->msgs[i];
			if (m->at.file) {
				char *e = mq_escape_dup(m->at.file, strlen(m->at.file));
				printf("  %s:%d: %s: %s\n", e, m->at.line, conf_msg_level_name(m->level), m->text);
				free(e);
			} else {
				printf("  %s: %s\n", conf_msg_level_name(m->level), m->text);
			}
		}
		if (c->n_msgs_dropped)
			printf("  ... and %zu more\n", c->n_msgs_dropped);
	}
	printf("\n");
	if (l->findings.n) {
		findings_print(stdout, &l->findings, color, true);
		printf("\n");
	}
	for (size_t i = 0; i < l->findings.n; i++) {
		n_err += l->findings.v[i].severity == MQ_SEV_ERROR;
		n_warn += l->findings.v[i].severity == MQ_SEV_WARNING;
	}
	if (!n_err && !n_warn)
		printf("No problems found.\n");
	else
		printf("%zu error%s, %zu warning%s.%s\n", n_err, n_err == 1 ? "" : "s", n_warn, n_warn == 1 ? "" : "s",
		       n_err ? " The first error is the one to fix first." : "");
}

int cmd_lint_conf(const struct cli_cmd *self, int argc, char **argv)
{
	struct conf_lint_opts o = { 0 };
	struct conf_lint l;
	struct mq_err err = { 0 };
	const char *file = NULL;
	bool json = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i]))
			return cli_help(self);
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--as-user")) {
			struct fsaccess_user u;
			if (i + 1 >= argc)
				return cli_usage_error(self, "--as-user needs a user name");
			o.as_user = argv[++i];
			if (fsaccess_user_lookup(o.as_user, &u, &err) < 0)
				return cli_usage_error(self, "%s", err.msg);
			fsaccess_user_free(&u);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error(self, "unknown option '%s'", argv[i]);
		} else if (file) {
			return cli_usage_error(self, "one configuration file at a time ('%s' and '%s')", file, argv[i]);
		} else {
			file = argv[i];
		}
	}
	if (!file)
		return cli_usage_error(self, "which mosquitto.conf? (e.g. mqttls lint-conf /etc/mosquitto/mosquitto.conf)");
	if (conf_lint_file(file, &o, &l, &err) < 0) {
		if (json) {
			cJSON *j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "tool", "mqttls");
			cJSON_AddStringToObject(j, "version", MQTTLS_VERSION);
			cJSON_AddStringToObject(j, "file", file);
			cJSON_AddBoolToObject(j, "ok", false);
			cJSON_AddStringToObject(j, "error", err.msg);
			cJSON_AddItemToObject(j, "findings", cJSON_CreateArray());
			cli_print_json(j);
		}
		conf_lint_free(&l);
		return cli_fail(self, "%s", err.msg);
	}
	if (json)
		cli_print_json(conf_lint_to_json(&l));
	else
		print_human(&l, mq_use_color(stdout));
	rc = findings_has_error(&l.findings) ? EXIT_FAIL : EXIT_OK;
	conf_lint_free(&l);
	return rc;
}
