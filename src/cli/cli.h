/*
 * cli — the command-line face: one row per command (as tmux's cmd_entry), and the
 * few helpers every cmd-*.c shares for usage errors and output.
 */
#ifndef MQTTLS_CLI_H
#define MQTTLS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "mqttls/attrib.h"
#include "mqttls/target.h"

/* Exit statuses of every command (CONTRACT.md). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct cli_cmd {
	const char *name;
	const char *summary;   /* one line for "mqttls --help" */
	const char *usage;     /* the whole "mqttls CMD --help" text */
	int (*exec)(const struct cli_cmd *self, int argc, char **argv); /* argv[0] is the command name */
	bool target;           /* takes the TARGET options: --help lists them after the usage */
};

/* Print "mqttls CMD: <message>" and a pointer to --help on stderr; returns EXIT_USAGE. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...) MQ_PRINTF(2, 3);

/* Print "mqttls CMD: <message>" on stderr; returns EXIT_FAIL. */
int cli_fail(const struct cli_cmd *cmd, const char *fmt, ...) MQ_PRINTF(2, 3);

/* Print the command's usage (and the TARGET options when it takes them) on stdout; returns EXIT_OK. */
int cli_help(const struct cli_cmd *cmd);

/* True for --help (and -? / help as the only argument). -h is mosquitto's host flag, not help. */
bool cli_is_help(const char *arg);

/*
 * Parse a TARGET from argv[1..]: each argument is offered to own() first (which returns
 * how many it consumed, 0 if not its own, -1 after printing a usage error), then to the
 * target parser. Returns EXIT_OK, or EXIT_USAGE after printing one precise message.
 */
int cli_parse_target(const struct cli_cmd *cmd, int argc, char **argv, struct target *t,
		     int (*own)(void *ctx, int argc, char **argv, int i), void *ctx);

/* Print a cJSON value (pretty when stdout is a terminal) and a newline; frees it. */
void cli_print_json(cJSON *j);

/*
 * Print text word-wrapped to width columns, every line indented by indent spaces
 * (the first by first_indent). Embedded newlines start new lines. Text is printed as is:
 * escape untrusted parts before.
 */
void cli_wrap(FILE *out, const char *text, int first_indent, int indent, int width);

/*
 * The TARGET of a command that diagnoses: cli_parse_target() into t (initialised here), then,
 * when every argument was the command's own (*own_args of them, counted by own()), the built-in
 * lab broker, started or reused (with a note on stderr). EXIT_OK, or the error status (EXIT_FAIL
 * when the lab broker could not start) with t freed.
 */
int cli_target_or_lab(const struct cli_cmd *cmd, int argc, char **argv, struct target *t,
		      int (*own)(void *ctx, int argc, char **argv, int i), void *ctx, const int *own_args);

/* Parse a positive decimal number of seconds ("2", "0.5"); -1 when invalid. */
double cli_parse_seconds(const char *s);

/* "--timeout SEC" at argv[i]: the seconds in *out and 2 (both consumed), or -1 after a usage error. */
int cli_seconds_arg(const struct cli_cmd *cmd, int argc, char **argv, int i, double *out);

/* Look up a command row by name (the table lives in main.c). */
const struct cli_cmd *cli_find(const char *name);

/* Each command, in its own cmd-*.c. */
int cmd_tui(const struct cli_cmd *self, int argc, char **argv);
int cmd_diagnose(const struct cli_cmd *self, int argc, char **argv);
int cmd_inspect(const struct cli_cmd *self, int argc, char **argv);
int cmd_lint_conf(const struct cli_cmd *self, int argc, char **argv);
int cmd_capture(const struct cli_cmd *self, int argc, char **argv);
int cmd_certs(const struct cli_cmd *self, int argc, char **argv);
int cmd_lab(const struct cli_cmd *self, int argc, char **argv);
int cmd_mitm(const struct cli_cmd *self, int argc, char **argv);
int cmd_device(const struct cli_cmd *self, int argc, char **argv);
int cmd_explain(const struct cli_cmd *self, int argc, char **argv);

/* Usage texts, defined beside each command. */
extern const char usage_tui[], usage_diagnose[], usage_inspect[], usage_lint_conf[],
	usage_capture[], usage_certs[], usage_lab[], usage_mitm[], usage_device[], usage_explain[];

#endif
