#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "cli.h"
#include "mqttls/version.h"

static const struct cli_cmd commands[] = {
	{ "tui", "the interactive screen (the default with no command)", usage_tui, cmd_tui, true },
	{ "diagnose", "walk every stage of a connection and name what is wrong", usage_diagnose, cmd_diagnose, true },
	{ "inspect", "the TLS handshake and the broker's certificate chain", usage_inspect, cmd_inspect, true },
	{ "explain", "explain an error code or log line from a device or broker", usage_explain, cmd_explain },
	{ "lint-conf", "check a mosquitto.conf and the files it names", usage_lint_conf, cmd_lint_conf },
	{ "capture", "capture or read MQTT/TLS traffic and say who rejected whom", usage_capture, cmd_capture },
	{ "certs", "the lab PKI: CA, broker and device certificates, broken ones too", usage_certs, cmd_certs },
	{ "lab", "classroom labs with real brokers: list, start, check, stop", usage_lab, cmd_lab },
	{ "mitm", "the rogue-broker lab (INSECURE, loopback or lab networks only)", usage_mitm, cmd_mitm },
	{ "device", "a simulated ESP32 client that verifies like the real one", usage_device, cmd_device },
};

const struct cli_cmd *cli_find(const char *name)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out,
		"mqttls %s - find out why an MQTT device will not talk to its broker over TLS\n\n"
		"usage: mqttls [COMMAND] [ARGS...]\n\n"
		"commands:\n",
		MQTTLS_VERSION);
	for (size_t i = 0; i < MQ_ARRAY_LEN(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\nWith no command, mqttls opens the TUI on the built-in lab broker.\n"
		"'mqttls COMMAND --help' describes a command; 'mqttls --version' prints the version.\n"
		"Paste a failing command after diagnose: mqttls diagnose mosquitto_sub -h HOST -p 8883 --cafile ca.crt -t t\n");
}

/* A reader that went away (mqttls ... | head) is no error; a full disk or a broken file is. */
static bool stdout_reader_gone(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = 0 };

	return poll(&p, 1, 0) > 0 && (p.revents & POLLERR);
}

/*
 * What a command printed must have reached its destination: "mqttls diagnose --json > out.json"
 * on a full disk must not exit 0 with half a file.
 */
static int finish(const char *name, int rc)
{
	int flushed, e;

	errno = 0;
	flushed = fflush(stdout);
	e = errno;
	if (!ferror(stdout) || stdout_reader_gone())
		return rc;
	fprintf(stderr, "mqttls%s%s: cannot write the output%s%s; what was written is incomplete\n", name ? " " : "",
		name ? name : "", flushed && e ? ": " : "", flushed && e ? strerror(e) : "");
	return rc == EXIT_OK ? EXIT_FAIL : rc;
}

static int dispatch(int argc, char **argv, const char **name)
{
	const struct cli_cmd *cmd;

	if (argc < 2)
		return cmd_tui(cli_find("tui"), 1, argv);
	if (!strcmp(argv[1], "--version")) {
		printf("mqttls %s\n", MQTTLS_VERSION);
		return EXIT_OK;
	}
	if (cli_is_help(argv[1])) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			usage(stdout);
			return EXIT_OK;
		}
		cmd = cli_find(argv[2]);
		if (!cmd) {
			fprintf(stderr, "mqttls: no such command '%s' (see 'mqttls --help')\n", argv[2]);
			return EXIT_USAGE;
		}
		return cli_help(cmd);
	}
	cmd = cli_find(argv[1]);
	/* "mqttls --ascii" is the TUI drawn another way, not a target to diagnose. */
	if (!cmd && (!strcmp(argv[1], "--ascii") || !strcmp(argv[1], "--no-mouse") || !strcmp(argv[1], "--no-color") ||
		     !strcmp(argv[1], "--no-colour")))
		return cmd_tui(cli_find("tui"), argc, argv);
	if (!cmd) {
		/* A pasted mosquitto_sub line or a bare option means: diagnose it. */
		if (argv[1][0] == '-' || strstr(argv[1], "mosquitto_") || strstr(argv[1], "://")) {
			cmd = cli_find("diagnose");
			*name = cmd->name;
			for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
				if (cli_is_help(argv[i]))
					return cli_help(cmd);
			return cmd->exec(cmd, argc, argv);
		}
		fprintf(stderr, "mqttls: no such command '%s' (see 'mqttls --help')\n", argv[1]);
		return EXIT_USAGE;
	}
	*name = cmd->name;
	/* --help anywhere before a lone "--" asks for help, and runs nothing. certs and lab have
	 * help per subcommand: theirs is found by the command itself. */
	if (strcmp(cmd->name, "certs") && strcmp(cmd->name, "lab"))
		for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
			if (cli_is_help(argv[i]))
				return cli_help(cmd);
	return cmd->exec(cmd, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	const char *name = NULL;
	int rc;

	setlocale(LC_ALL, "");
	/* A peer that hangs up must give an error from write(), not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
	rc = dispatch(argc, argv, &name);
	return finish(name, rc);
}
