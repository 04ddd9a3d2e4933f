/* mqttls lab — classroom labs with real brokers: list, start, status, stop. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mqttls/lab.h"
#include "mqttls/util.h"

const char usage_lab[] =
	"usage: mqttls lab list\n"
	"       mqttls lab start NAME\n"
	"       mqttls lab status [NAME] [--json]\n"
	"       mqttls lab stop [NAME]\n"
	"\n"
	"Classroom labs: each starts a real mosquitto on loopback (127.0.0.1 and ::1) with TLS on\n"
	"port 8883, or the next free port when 8883 is taken, using the lab PKI that mqttls keeps in\n"
	"its state directory ($MQTTLS_STATE_DIR, /var/lib/mqttls for root, else ~/.local/state/mqttls).\n"
	"The broker keeps running after the command returns; a second start finds it and reuses it.\n"
	"'stop' and 'status' without NAME act on every lab.\n"
	"\n"
	"  basic   a working TLS broker with the lab CA (the built-in broker of the TUI and 'make run')\n"
	"  mitm    the rogue-broker lab: the real broker, a relay in front of it (INSECURE LAB MITM),\n"
	"          a device that does not verify, one that does, and a dashboard on the real broker\n";

static void print_reach(const struct lab_info *i)
{
	printf("  CA (clients trust this):  %s\n"
	       "  broker certificate:       %s\n"
	       "  configuration:            %s\n"
	       "  broker log:               %s\n"
	       "\n"
	       "Try it:\n"
	       "  mosquitto_sub -h %s -p %d --cafile %s -t 'lab/#' -v\n"
	       "  mosquitto_pub -h %s -p %d --cafile %s -t lab/test -m hello\n"
	       "  mqttls diagnose -h %s -p %d --cafile %s\n"
	       "Stop it: mqttls lab stop %s\n",
	       i->cafile, i->certfile, i->conf, i->log, i->host, i->port, i->cafile, i->host, i->port, i->cafile,
	       i->host, i->port, i->cafile, i->name);
	const struct lab_def *d = lab_find(i->name);
	char *more = d && d->more_describe ? d->more_describe(i) : NULL;
	if (more)
		printf("\n%s", more);
	free(more);
}

static void print_running(const struct lab_info *i, const char *how)
{
	printf("Lab '%s' %s: mosquitto (pid %ld) with TLS on %s:%d (127.0.0.1%s)\n", i->name, how, (long)i->pid,
	       i->host, i->port, i->ipv6 ? " and ::1" : " only; no IPv6 loopback here");
}

static int lab_list(void)
{
	size_t n;
	const struct lab_def *d = lab_defs(&n);

	for (size_t i = 0; i < n; i++)
		printf("  %-12s %s\n", d[i].name, d[i].title);
	return EXIT_OK;
}

static int lab_start_cmd(const struct cli_cmd *self, const char *name)
{
	struct lab_info info;
	struct mq_err err = { 0 };

	if (!name)
		return cli_usage_error(self, "lab start needs a lab name (try: mqttls lab start %s)", LAB_BUILTIN);
	if (!lab_find(name))
		return cli_usage_error(self, "there is no lab '%s' (see 'mqttls lab list')", name);
	if (lab_start(name, &info, &err) < 0)
		return cli_fail(self, "lab '%s' did not start: %s", name, err.msg);
	print_running(&info, info.reused ? "was already running (reused)" : "is running");
	if (info.port != LAB_FIRST_PORT && !info.reused)
		printf("(port %d was taken, so it uses %d)\n", LAB_FIRST_PORT, info.port);
	print_reach(&info);
	return EXIT_OK;
}

static int lab_stop_cmd(const struct cli_cmd *self, const char *name)
{
	size_t n;
	const struct lab_def *d = lab_defs(&n);
	int rc = EXIT_OK, stopped = 0;

	if (name && !lab_find(name))
		return cli_usage_error(self, "there is no lab '%s' (see 'mqttls lab list')", name);
	for (size_t i = 0; i < n; i++) {
		struct lab_info info;
		struct mq_err err = { 0 };

		if (name && strcmp(name, d[i].name))
			continue;
		if (lab_stop(d[i].name, &info, &err) < 0) {
			rc = cli_fail(self, "%s", err.msg);
			continue;
		}
		if (info.running) {
			printf("Stopped lab '%s' (mosquitto pid %ld, port %d).\n", info.name, (long)info.pid, info.port);
			stopped++;
		} else if (name) {
			printf("Lab '%s' was not running.\n", name);
		}
	}
	if (!name && !stopped && rc == EXIT_OK)
		printf("No lab was running.\n");
	return rc;
}

static int lab_status_cmd(const struct cli_cmd *self, const char *name, bool json)
{
	size_t n;
	const struct lab_def *d = lab_defs(&n);
	cJSON *arr = json ? cJSON_CreateArray() : NULL;
	int rc = EXIT_OK, running = 0;

	if (name && !lab_find(name)) {
		cJSON_Delete(arr);
		return cli_usage_error(self, "there is no lab '%s' (see 'mqttls lab list')", name);
	}
	for (size_t i = 0; i < n; i++) {
		struct lab_info info;
		struct mq_err err = { 0 };

		if (name && strcmp(name, d[i].name))
			continue;
		if (lab_status(d[i].name, &info, &err) < 0) {
			rc = cli_fail(self, "%s", err.msg);
			continue;
		}
		if (arr) {
			cJSON_AddItemToArray(arr, lab_info_to_json(&info));
			continue;
		}
		if (info.running) {
			print_running(&info, "is running");
			print_reach(&info);
			running++;
		} else if (name) {
			printf("Lab '%s' is not running (start it: mqttls lab start %s).\n", name, name);
		}
	}
	if (arr)
		cli_print_json(arr);
	else if (!name && !running)
		printf("No lab is running (start one: mqttls lab start %s).\n", LAB_BUILTIN);
	return rc;
}

int cmd_lab(const struct cli_cmd *self, int argc, char **argv)
{
	const char *sub, *name = NULL;
	bool json = false;

	if (argc < 2)
		return cli_usage_error(self, "which one: list, start, status or stop?");
	sub = argv[1];
	for (int i = 2; i < argc; i++) {
		if (cli_is_help(argv[i]))
			return cli_help(self);
		if (!strcmp(argv[i], "--json") && !strcmp(sub, "status"))
			json = true;
		else if (argv[i][0] == '-')
			return cli_usage_error(self, "lab %s has no option '%s'", sub, argv[i]);
		else if (name)
			return cli_usage_error(self, "unexpected argument '%s'", argv[i]);
		else
			name = argv[i];
	}
	if (!strcmp(sub, "list"))
		return name ? cli_usage_error(self, "lab list takes no argument") : lab_list();
	if (!strcmp(sub, "start"))
		return lab_start_cmd(self, name);
	if (!strcmp(sub, "stop"))
		return lab_stop_cmd(self, name);
	if (!strcmp(sub, "status"))
		return lab_status_cmd(self, name, json);
	return cli_usage_error(self, "no subcommand '%s' (list, start, status, stop)", sub);
}
