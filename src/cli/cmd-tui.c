/* mqttls / mqttls tui [TARGET] — the interactive screen (src/tui/). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../tui/tui.h"

const char usage_tui[] =
	"usage: mqttls [--ascii] [--no-mouse] [--no-color]\n"
	"       mqttls tui [TARGET] [--ascii] [--no-mouse] [--no-color]\n"
	"\n"
	"The interactive screen: connect, diagnose, read the certificate chain, run the MITM lab and\n"
	"the classroom labs, explain an error. With no TARGET it starts (or finds) the built-in lab\n"
	"broker and diagnoses it, so there is always something to show. Press ? inside for every key.\n"
	"\n"
	"  --ascii      draw with ASCII only (the default when the locale is not UTF-8)\n"
	"  --no-mouse   leave the mouse to the terminal (select and copy text as usual)\n"
	"  --no-color   monochrome, also spelt --no-colour (NO_COLOR=1 in the environment does the same)\n"
	"\n"
	"Saved targets live in $XDG_CONFIG_HOME/mqttls/profiles (~/.config/mqttls/profiles).\n"
	"For scripts and pipes use 'mqttls diagnose' instead: the TUI needs a terminal ('mqttls' followed\n"
	"by TARGET options, without 'tui', runs diagnose).\n";

static int own_arg(void *ctx, int argc, char **argv, int i)
{
	struct tui_opts *o = ctx;
	(void)argc;

	if (!strcmp(argv[i], "--ascii"))
		o->ascii = true;
	else if (!strcmp(argv[i], "--no-mouse"))
		o->no_mouse = true;
	else if (!strcmp(argv[i], "--no-color") || !strcmp(argv[i], "--no-colour"))
		o->no_color = true;
	else
		return 0;
	return 1;
}

int cmd_tui(const struct cli_cmd *self, int argc, char **argv)
{
	struct tui_opts o = { 0 };
	struct target t;
	struct mq_err err = { 0 };
	bool have_target = false;
	int rc;

	target_init(&t);
	for (int i = 1; i < argc; i++)
		if (cli_is_help(argv[i])) {
			target_free(&t);
			return cli_help(self);
		}
	if (argc > 1) {
		rc = cli_parse_target(self, argc, argv, &t, own_arg, &o);
		if (rc != EXIT_OK) {
			target_free(&t);
			return rc;
		}
		/* Only the display flags given: still the built-in lab. */
		for (int i = 1; i < argc; i++)
			if (strcmp(argv[i], "--ascii") && strcmp(argv[i], "--no-mouse") && strcmp(argv[i], "--no-color") &&
			    strcmp(argv[i], "--no-colour"))
				have_target = true;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		target_free(&t);
		return cli_fail(self, "the TUI needs a terminal on standard input and output; "
				      "for scripts use 'mqttls diagnose [TARGET]' (add --json for JSON)");
	}
	rc = tui_main(have_target ? &t : NULL, &o, &err);
	target_free(&t);
	if (rc < 0)
		return cli_fail(self, "%s", err.msg);
	return EXIT_OK;
}
