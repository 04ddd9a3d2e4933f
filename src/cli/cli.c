#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mqttls/err.h"
#include "mqttls/lab.h"
#include "mqttls/util.h"

/* One message on stderr; what it quotes (a path, a host, an argument) cannot drive the terminal. */
static void say(const struct cli_cmd *cmd, const char *fmt, va_list ap, const char *tail)
{
	char buf[2048], *safe;

	vsnprintf(buf, sizeof buf, fmt, ap);
	safe = mq_safe_text(buf);
	fprintf(stderr, "mqttls%s%s: %s%s\n", cmd ? " " : "", cmd ? cmd->name : "", safe ? safe : buf, tail);
	free(safe);
}

int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	char tail[64];
	va_list ap;

	snprintf(tail, sizeof tail, " (see 'mqttls %s%s--help')", cmd ? cmd->name : "", cmd ? " " : "");
	va_start(ap, fmt);
	say(cmd, fmt, ap, tail);
	va_end(ap);
	return EXIT_USAGE;
}

int cli_fail(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(cmd, fmt, ap, "");
	va_end(ap);
	return EXIT_FAIL;
}

int cli_help(const struct cli_cmd *cmd)
{
	fputs(cmd->usage, stdout);
	if (cmd->target) {
		if (cmd->usage[0] && cmd->usage[strlen(cmd->usage) - 1] == '\n' &&
		    (strlen(cmd->usage) < 2 || cmd->usage[strlen(cmd->usage) - 2] != '\n'))
			fputc('\n', stdout);
		fputs(target_usage, stdout);
	}
	return EXIT_OK;
}

bool cli_is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-?");
}

int cli_parse_target(const struct cli_cmd *cmd, int argc, char **argv, struct target *t,
		     int (*own)(void *ctx, int argc, char **argv, int i), void *ctx)
{
	struct mq_err err = { 0 };

	for (int i = 1; i < argc;) {
		int used = 0;

		if (own) {
			used = own(ctx, argc, argv, i);
			if (used < 0)
				return EXIT_USAGE;
		}
		if (used == 0) {
			used = target_parse_arg(t, argc, argv, i, &err);
			if (used < 0)
				return cli_usage_error(cmd, "%s", err.msg);
		}
		if (used == 0) {
			if (argv[i][0] == '-')
				return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
			return cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
		}
		i += used;
	}
	if (target_finish(t, &err) < 0)
		return cli_usage_error(cmd, "%s", err.msg);
	return EXIT_OK;
}

void cli_print_json(cJSON *j)
{
	char *s = isatty(STDOUT_FILENO) ? cJSON_Print(j) : cJSON_PrintUnformatted(j);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	cJSON_Delete(j);
	fflush(stdout);
}

double cli_parse_seconds(const char *s)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	/* Decimal only: strtod would also take "nan", "inf" and hexadecimal "0x10". */
	if (strspn(s, "0123456789.") != strlen(s) || !strpbrk(s, "0123456789"))
		return -1;
	v = strtod(s, &end);
	if (*end || !(v > 0 && v <= 86400 * 7))
		return -1;
	return v;
}

int cli_seconds_arg(const struct cli_cmd *cmd, int argc, char **argv, int i, double *out)
{
	if (i + 1 >= argc) {
		cli_usage_error(cmd, "option %s needs a value", argv[i]);
		return -1;
	}
	*out = cli_parse_seconds(argv[i + 1]);
	if (*out < 0) {
		cli_usage_error(cmd, "invalid %s '%s': expected a positive number of seconds", argv[i], argv[i + 1]);
		return -1;
	}
	return 2;
}

void cli_wrap(FILE *out, const char *text, int first_indent, int indent, int width)
{
	int col = 0, ind = first_indent;
	const char *p = text;

	if (width < indent + 20)
		width = indent + 20;
	while (*p) {
		size_t w;
		if (*p == '\n') {
			fputc('\n', out);
			col = 0;
			ind = indent;
			p++;
			continue;
		}
		if (*p == ' ') {
			p++;
			continue;
		}
		w = strcspn(p, " \n");
		if (col == 0) {
			fprintf(out, "%*s", ind, "");
			col = ind;
		} else if (col + 1 + (int)w > width) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else {
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, w, out);
		col += (int)w;
		p += w;
	}
	if (col)
		fputc('\n', out);
}

/* No TARGET options at all: start or reuse the built-in lab broker and point t at it. */
static int use_lab_target(const struct cli_cmd *cmd, struct target *t)
{
	struct lab_info info;
	struct mq_err err = { 0 };

	if (lab_builtin(&info, &err) < 0) {
		cli_fail(cmd, "no target given, and the built-in lab broker could not start: %s", err.msg);
		return EXIT_FAIL;
	}
	lab_target(&info, t);
	fprintf(stderr, "mqttls %s: no target given: the built-in lab broker, %s port %d (%s, CA %s)\n", cmd->name, info.host,
		info.port, info.reused ? "already running" : "started now", info.cafile);
	return EXIT_OK;
}

int cli_target_or_lab(const struct cli_cmd *cmd, int argc, char **argv, struct target *t,
		      int (*own)(void *ctx, int argc, char **argv, int i), void *ctx, const int *own_args)
{
	int rc;

	target_init(t);
	rc = cli_parse_target(cmd, argc, argv, t, own, ctx);
	if (rc == EXIT_OK && argc - 1 == *own_args)
		rc = use_lab_target(cmd, t);
	if (rc != EXIT_OK)
		target_free(t);
	return rc;
}
