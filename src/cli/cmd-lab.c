/* mqttls lab — classroom labs with real brokers: list, start, status, hint, check, reset, stop, sketch. */
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mqttls/lab.h"
#include "mqttls/labdef.h"
#include "mqttls/util.h"

const char usage_lab[] =
	"usage: mqttls lab list [--json]\n"
	"       mqttls lab start NAME [--lab-bind CIDR | --netns]\n"
	"       mqttls lab status [NAME] [--json]\n"
	"       mqttls lab hint NAME\n"
	"       mqttls lab check NAME [--json]\n"
	"       mqttls lab reset NAME\n"
	"       mqttls lab stop [NAME]\n"
	"       mqttls lab sketch NAME [--arduino | --esp-idf]\n"
	"\n"
	"Classroom labs that follow the ESP32 + Mosquitto + TLS tutorial series. Each starts a real\n"
	"mosquitto with a prepared fault; you fix it with your own hands in the files the lab prints,\n"
	"and 'check' proves the fix with real connections (a diagnosis, a simulated ESP32, a capture),\n"
	"saying pass or which finding still stands. NAME is the lab's name or number ('lab list').\n"
	"\n"
	"  list        every lab, and which are running or passed\n"
	"  start       set the lab up and start its broker on a free port (8883 and up); a second\n"
	"              start finds it running. Your edited files are never replaced by a start.\n"
	"  status      what runs where (every lab without NAME)\n"
	"  hint        the next hint, one at a time\n"
	"  check       restart the broker on your files when they changed, then connect and judge;\n"
	"              exit 0 when the lab passes, 1 when a check still fails\n"
	"  reset       put the fault back (your files are moved aside, not deleted)\n"
	"  stop        stop the broker and whatever runs beside it (every lab without NAME)\n"
	"  sketch      the ESP32 program for the lab (Arduino by default, or ESP-IDF), with the lab's\n"
	"              CA, the broker's address and the insecure variant behind LAB_INSECURE\n"
	"\n"
	"  --lab-bind CIDR   instructor mode: serve a classroom LAN (private, link-local or ULA ranges\n"
	"                    only) on this machine's address in CIDR, and print it for the devices\n"
	"  --netns           the MITM lab (root): devices, attacker and broker in three network\n"
	"                    namespaces joined by veth links, so the traffic really crosses interfaces;\n"
	"                    'lab stop' removes them\n"
	"\n"
	"Everything lives in the state directory ($MQTTLS_STATE_DIR, /var/lib/mqttls for root, else\n"
	"~/.local/state/mqttls); brokers keep running after the command returns. 'basic' is the\n"
	"built-in broker of the TUI and 'make run': a working TLS broker with the lab CA.\n";

struct lab_args {
	const char *sub, *name, *lab_bind;
	bool json, esp_idf, arduino, netns;
};

static bool utf8(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && !strcmp(cs, "UTF-8");
}

static const char *mark(bool ok)
{
	return utf8() ? (ok ? "✓" : "✗") : (ok ? "ok" : "FAIL");
}

/* Untrusted or file-made text printed to the terminal, escaped. */
static void put_escaped(const char *s)
{
	char *e = mq_escape_dup(s, strlen(s));
	fputs(e ? e : "", stdout);
	free(e);
}

/* A lab whose broker the student edits (in a directory of their own). */
static bool student_lab(const struct lab_def *d)
{
	return strcmp(d->def->workdir, ".") != 0;
}

/* A lab with something to fix and check (the built-in broker has neither). */
static bool exercise(const struct lab_def *d)
{
	return d->n_checks > 0;
}

static void print_running(const struct lab_def *d, const struct lab_info *i, const char *how)
{
	if (!i->running) {
		printf("Lab '%s' is set up, but its broker is not running: %s\n", i->name,
		       i->broker_error[0] ? i->broker_error : "(no reason recorded)");
		return;
	}
	if (i->netns)
		printf("Lab '%s' %s: mosquitto (pid %ld) with TLS on %s:%d, in the broker's namespace of the lab "
		       "network\n", i->name, how, (long)i->pid, i->host, i->port);
	else if (student_lab(d))
		printf("Lab '%s' %s: mosquitto (pid %ld) on %s:%d%s%s\n", i->name, how, (long)i->pid, i->host, i->port,
		       i->lab_bind[0] ? ", serving the classroom LAN " : "", i->lab_bind);
	else
		printf("Lab '%s' %s: mosquitto (pid %ld) with TLS on %s:%d (%s%s)\n", i->name, how, (long)i->pid, i->host,
		       i->port, i->lab_bind[0] ? i->ip : "127.0.0.1",
		       i->lab_bind[0] ? ", the classroom LAN" : i->ipv6 ? " and ::1" : " only; no IPv6 loopback here");
}

static void print_more(const struct lab_info *i)
{
	char *more = lab_companions_describe(i);

	if (more)
		printf("\n%s", more);
	free(more);
}

/* The built-in broker and the labs without a student's directory: how to reach them. */
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
	print_more(i);
}

/* A student's lab: where their files are, what to read, how to check. */
static void print_lab(const struct lab_def *d, const struct lab_info *i)
{
	printf("  %s\n", d->title);
	if (d->tutorial)
		printf("  follows: %s\n", d->tutorial);
	printf("\nYour files (the fix happens here): %s\n"
	       "  broker configuration:  %s\n"
	       "  broker log:            %s\n",
	       i->workdir, i->conf, i->log);
	if (i->cafile[0])
		printf("  CA the devices trust:  %s\n", i->cafile);
	if (i->plain_port)
		printf("  plaintext port:        %d\n", i->plain_port);
	if (i->lab_bind[0] && !i->netns)
		printf("\nInstructor mode: devices on the classroom LAN (%s) connect to %s:%d\n"
		       "  (mqttls lab sketch %s writes the ESP32 program with this address)\n",
		       i->lab_bind, i->ip, i->port, i->name);
	printf("\nThe lab:   %s\n"
	       "Check it:  mqttls lab check %s     stuck? mqttls lab hint %s\n"
	       "ESP32:     mqttls lab sketch %s [--esp-idf]\n"
	       "Stop it:   mqttls lab stop %s     start over: mqttls lab reset %s\n",
	       d->readme ? d->readme : "(README.md not found)", i->name, i->name, i->name, i->name, i->name);
	print_more(i);
}

static const char *state_words(const struct lab_info *i)
{
	if (i->running)
		return i->last_check == 1 ? "running, passed" : i->last_check == 0 ? "running, not passed yet" : "running";
	if (i->active)
		return "started, broker down";
	return i->last_check == 1 ? "passed" : "";
}

static int lab_list(const struct lab_args *a)
{
	size_t n;
	const struct lab_def *d = lab_defs(&n);
	const char *const *errs = lab_catalog_errors();
	cJSON *arr = a->json ? cJSON_CreateArray() : NULL;

	for (size_t i = 0; i < n; i++) {
		struct lab_info info;
		struct mq_err err = { 0 };
		const char *st;

		if (lab_status(d[i].name, &info, &err) < 0)
			memset(&info, 0, sizeof info);
		if (arr) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "number", d[i].number);
			cJSON_AddStringToObject(o, "name", d[i].name);
			cJSON_AddStringToObject(o, "dir", d[i].dirname);
			cJSON_AddStringToObject(o, "title", d[i].title);
			cJSON_AddStringToObject(o, "tutorial", d[i].tutorial ? d[i].tutorial : "");
			cJSON_AddStringToObject(o, "readme", d[i].readme ? d[i].readme : "");
			cJSON_AddNumberToObject(o, "hints", (double)d[i].n_hints);
			cJSON_AddNumberToObject(o, "checks", (double)d[i].n_checks);
			cJSON_AddBoolToObject(o, "needs_root", d[i].needs_root);
			cJSON_AddItemToObject(o, "state", lab_info_to_json(&info));
			cJSON_AddItemToArray(arr, o);
			continue;
		}
		st = state_words(&info);
		printf(" %2d  %-14s %s%s%s%s\n", d[i].number, d[i].name, d[i].title, *st ? "  [" : "", st, *st ? "]" : "");
	}
	if (arr) {
		cli_print_json(arr);
	} else {
		if (n == 0)
			printf("No lab definitions were found in %s/labs.\n", mq_data_dir());
		for (size_t i = 0; errs[i]; i++) {
			fputs("mqttls lab: a lab could not be read: ", stderr);
			fputs(errs[i], stderr);
			fputc('\n', stderr);
		}
	}
	return EXIT_OK;
}

static int need_lab(const struct cli_cmd *self, const struct lab_args *a)
{
	if (!a->name)
		return cli_usage_error(self, "lab %s needs a lab name or number: 'mqttls lab list' names them", a->sub);
	if (!lab_find(a->name))
		return cli_usage_error(self, "there is no lab '%s': 'mqttls lab list' names them", a->name);
	return EXIT_OK;
}

static int lab_start_cmd(const struct cli_cmd *self, const struct lab_args *a)
{
	struct lab_start_opts o = { .lab_bind = a->lab_bind, .netns = a->netns };
	const struct lab_def *d;
	struct lab_info info;
	struct mq_err err = { 0 };
	int rc;

	if (!a->name)
		return cli_usage_error(self, "lab start needs a lab name (try: mqttls lab start %s)", LAB_BUILTIN);
	if ((rc = need_lab(self, a)) != EXIT_OK)
		return rc;
	d = lab_find(a->name);
	if (lab_start_with(a->name, &o, &info, &err) < 0)
		return cli_fail(self, "lab '%s' did not start: %s", d->name, err.msg);
	print_running(d, &info, info.reused ? "was already running (reused)" : "is running");
	if (info.resumed)
		printf("(your edited files were kept: 'mqttls lab reset %s' puts the fault back)\n", info.name);
	if (!exercise(d) && info.running && info.port != LAB_FIRST_PORT && !info.reused && !info.lab_bind[0])
		printf("(port %d was taken, so it uses %d)\n", LAB_FIRST_PORT, info.port);
	if (exercise(d))
		print_lab(d, &info);
	else
		print_reach(&info);
	return EXIT_OK;
}

/* Run op() on the lab named, or on every lab, and hand each result to each(); a lab op() fails
 * on is reported and the others still run. */
static int each_lab(const struct cli_cmd *self, const struct lab_args *a,
		    int (*op)(const char *name, struct lab_info *info, struct mq_err *err),
		    void (*each)(const struct lab_def *d, const struct lab_info *info, void *ctx), void *ctx)
{
	size_t n;
	const struct lab_def *d = lab_defs(&n);
	int rc = EXIT_OK;

	if (a->name && (rc = need_lab(self, a)) != EXIT_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct lab_info info;
		struct mq_err err = { 0 };

		if (a->name && &d[i] != lab_find(a->name))
			continue;
		if (op(d[i].name, &info, &err) < 0) {
			rc = cli_fail(self, "%s", err.msg);
			continue;
		}
		each(&d[i], &info, ctx);
	}
	return rc;
}

struct lab_walk {
	const struct lab_args *a;
	cJSON *arr;          /* status --json */
	int count;           /* labs stopped, or shown */
};

static void stopped_one(const struct lab_def *d, const struct lab_info *info, void *ctx)
{
	struct lab_walk *w = ctx;

	(void)d;
	if (info->running) {
		printf("Stopped lab '%s' (mosquitto pid %ld, port %d).\n", info->name, (long)info->pid, info->port);
		w->count++;
	} else if (w->a->name) {
		printf("Lab '%s' was not running.\n", info->name);
	}
}

static int lab_stop_cmd(const struct cli_cmd *self, const struct lab_args *a)
{
	struct lab_walk w = { .a = a };
	int rc = each_lab(self, a, lab_stop, stopped_one, &w);

	if (rc == EXIT_OK && !a->name && !w.count)
		printf("No lab was running.\n");
	return rc;
}

static void status_one(const struct lab_def *d, const struct lab_info *info, void *ctx)
{
	struct lab_walk *w = ctx;

	if (w->arr) {
		cJSON_AddItemToArray(w->arr, lab_info_to_json(info));
		return;
	}
	if (info->running || info->active) {
		print_running(d, info, "is running");
		if (exercise(d)) {
			printf("  files: %s\n  hints shown: %zu of %zu; last check: %s\n", info->workdir, info->hints_shown,
			       info->n_hints, info->last_check < 0 ? "none yet" : info->last_check ? "pass" : "not yet");
			print_more(info);
		} else {
			print_reach(info);
		}
		w->count++;
	} else if (w->a->name) {
		printf("Lab '%s' is not running (start it: mqttls lab start %s).\n", info->name, info->name);
	}
}

static int lab_status_cmd(const struct cli_cmd *self, const struct lab_args *a)
{
	struct lab_walk w = { .a = a, .arr = a->json ? cJSON_CreateArray() : NULL };
	int rc = each_lab(self, a, lab_status, status_one, &w);

	if (rc == EXIT_USAGE)
		cJSON_Delete(w.arr);
	else if (w.arr)
		cli_print_json(w.arr);
	else if (!a->name && !w.count)
		printf("No lab is running (start one: mqttls lab start %s).\n", LAB_BUILTIN);
	return rc;
}

static int lab_hint_cmd(const struct cli_cmd *self, const struct lab_args *a)
{
	struct lab_hint h;
	struct mq_err err = { 0 };
	int rc;

	if ((rc = need_lab(self, a)) != EXIT_OK)
		return rc;
	if (lab_hint(a->name, &h, &err) < 0)
		return cli_fail(self, "%s", err.msg);
	printf("Hint %zu of %zu for lab '%s':\n", h.index, h.total, lab_find(a->name)->name);
	if (strchr(h.text, '\n')) {
		/* A block keeps its lines: commands and configuration are copied from it. */
		for (const char *p = h.text; *p;) {
			size_t n = strcspn(p, "\n");
			printf("  %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
	} else {
		cli_wrap(stdout, h.text, 2, 2, 96);
	}
	free(h.text);
	if (h.index == h.total)
		printf("(that was the last hint; 'mqttls lab check %s' says what still fails)\n", lab_find(a->name)->name);
	return EXIT_OK;
}

/* Text from the engine (evidence, fixes): its lines kept, each escaped and wrapped under the item. */
static void print_text(const char *text, const char *label, bool verbatim)
{
	/* Made safe for the terminal, but backslashes kept: a printf '...\n' in a fix must stay one. */
	char *safe = mq_safe_text(text);

	if (label)
		printf("      %s\n", label);
	for (const char *p = safe ? safe : ""; *p;) {
		size_t n = strcspn(p, "\n");
		/* Commands are never re-wrapped: they must stay copyable, one per line. */
		if (verbatim) {
			printf("%17s%.*s\n", "", (int)n, p);
		} else {
			char *line = strndup(p, n);
			cli_wrap(stdout, line ? line : "", 17, 17, 100);
			free(line);
		}
		p += n + (p[n] == '\n');
	}
	free(safe);
}

static void print_item(const struct lab_check_item *it)
{
	printf("  %s %s\n", mark(it->pass), it->why);
	if (it->pass)
		return;
	printf("      ran:       ");
	put_escaped(it->command ? it->command : "");
	printf("\n      expected:  %s\n      observed:  %s", it->expect, it->observed ? it->observed : "?");
	if (it->finding && (!it->observed || strcmp(it->finding, it->observed)))
		printf(" (%s)", it->finding);
	if (it->title) {
		printf(" — ");
		put_escaped(it->title);
	}
	printf("\n");
	if (it->detail && *it->detail)
		print_text(it->detail, NULL, false);
	if (it->fix && *it->fix)
		print_text(it->fix, "fix:", true);
	if (it->also)
		print_text(it->also, "also found:", false);
}

static int lab_check_cmd(const struct cli_cmd *self, const struct lab_args *a)
{
	struct lab_check c;
	struct mq_err err = { 0 };
	size_t failing = 0;
	int rc;

	if ((rc = need_lab(self, a)) != EXIT_OK)
		return rc;
	if (lab_check(a->name, &c, &err) < 0) {
		lab_check_free(&c);
		return cli_fail(self, "%s", err.msg);
	}
	for (size_t i = 0; i < c.n_items; i++)
		failing += !c.items[i].pass;
	if (a->json) {
		cli_print_json(lab_check_to_json(&c));
	} else {
		if (c.pass)
			printf("Lab %d (%s): PASS — every check passes.\n", c.number, c.name);
		else
			printf("Lab %d (%s): not yet — %zu of %zu check%s still fail%s.\n", c.number, c.name, failing, c.n_items,
			       c.n_items == 1 ? "" : "s", failing == 1 ? "s" : "");
		if (c.restarted && c.broker_running)
			printf("(the broker was restarted on your files first)\n");
		if (!c.broker_running) {
			printf("The broker is not running: ");
			put_escaped(c.broker_error[0] ? c.broker_error : "(no reason recorded)");
			printf("\n");
		}
		printf("\n");
		for (size_t i = 0; i < c.n_items; i++)
			print_item(&c.items[i]);
		if (!c.pass)
			printf("\nStuck? mqttls lab hint %s\n", c.name);
	}
	rc = c.pass ? EXIT_OK : EXIT_FAIL;
	lab_check_free(&c);
	return rc;
}

static int lab_reset_cmd(const struct cli_cmd *self, const struct lab_args *a)
{
	struct lab_info info;
	struct mq_err err = { 0 };
	char kept[PATH_MAX + 64];
	int rc;

	if ((rc = need_lab(self, a)) != EXIT_OK)
		return rc;
	if (lab_reset(a->name, &info, kept, sizeof kept, &err) < 0)
		return cli_fail(self, "%s", err.msg);
	printf("Lab '%s' is set up again with its fault%s.\n", info.name, info.running ? " and its broker restarted" : "");
	if (kept[0])
		printf("Your files from before are in %s\n", kept);
	printf("Your files: %s\n", info.workdir);
	return EXIT_OK;
}

static int lab_sketch_cmd(const struct cli_cmd *self, const struct lab_args *a)
{
	struct mq_err err = { 0 };
	char *text = NULL;
	int rc;

	if ((rc = need_lab(self, a)) != EXIT_OK)
		return rc;
	if (a->arduino && a->esp_idf)
		return cli_usage_error(self, "--arduino and --esp-idf exclude each other");
	if (lab_sketch(a->name, a->esp_idf ? LAB_SKETCH_ESP_IDF : LAB_SKETCH_ARDUINO, &text, &err) < 0)
		return cli_fail(self, "%s", err.msg);
	fputs(text, stdout);
	free(text);
	return EXIT_OK;
}

static const struct {
	const char *name;
	int (*run)(const struct cli_cmd *self, const struct lab_args *a);
	bool json, lab_bind, flavor;    /* lab_bind: the start options, --lab-bind and --netns */
} subs[] = {
	{ "list", NULL, true, false, false },	       { "start", lab_start_cmd, false, true, false },
	{ "status", lab_status_cmd, true, false, false }, { "hint", lab_hint_cmd, false, false, false },
	{ "check", lab_check_cmd, true, false, false },   { "reset", lab_reset_cmd, false, false, false },
	{ "stop", lab_stop_cmd, false, false, false },     { "sketch", lab_sketch_cmd, false, false, true },
};

int cmd_lab(const struct cli_cmd *self, int argc, char **argv)
{
	struct lab_args a = { 0 };
	size_t s;

	if (argc < 2)
		return cli_usage_error(self, "which one: list, start, status, hint, check, reset, stop or sketch?");
	if (cli_is_help(argv[1]))
		return cli_help(self);
	a.sub = argv[1];
	for (s = 0; s < MQ_ARRAY_LEN(subs) && strcmp(subs[s].name, a.sub); s++)
		;
	if (s == MQ_ARRAY_LEN(subs))
		return cli_usage_error(self, "no subcommand '%s' (list, start, status, hint, check, reset, stop, sketch)",
				       a.sub);
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];

		if (cli_is_help(o))
			return cli_help(self);
		if (!strcmp(o, "--json") && subs[s].json) {
			a.json = true;
		} else if (!strcmp(o, "--lab-bind") && subs[s].lab_bind) {
			if (i + 1 >= argc)
				return cli_usage_error(self, "--lab-bind needs a CIDR (e.g. 192.168.28.0/24)");
			a.lab_bind = argv[++i];
		} else if (!strcmp(o, "--netns") && subs[s].lab_bind) {
			a.netns = true;
		} else if (!strcmp(o, "--arduino") && subs[s].flavor) {
			a.arduino = true;
		} else if (!strcmp(o, "--esp-idf") && subs[s].flavor) {
			a.esp_idf = true;
		} else if (o[0] == '-') {
			return cli_usage_error(self, "lab %s has no option '%s'", a.sub, o);
		} else if (a.name) {
			return cli_usage_error(self, "unexpected argument '%s'", o);
		} else {
			a.name = o;
		}
	}
	if (a.netns && a.lab_bind)
		return cli_usage_error(self, "--netns and --lab-bind exclude each other");
	if (!subs[s].run)
		return a.name ? cli_usage_error(self, "lab list takes no argument") : lab_list(&a);
	return subs[s].run(self, &a);
}
