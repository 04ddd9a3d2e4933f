/* Placeholder until the lint-conf issue lands: the command is listed but says plainly that it is not built. */
#include "cli.h"

const char usage_lint_conf[] = "usage: mqttls lint-conf ...\n\nNot built yet in this version of mqttls.\n";

int cmd_lint_conf(const struct cli_cmd *self, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail(self, "this command is not built yet in this version of mqttls");
}
