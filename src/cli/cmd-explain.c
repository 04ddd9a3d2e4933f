/* Placeholder until the explain issue lands: the command is listed but says plainly that it is not built. */
#include "cli.h"

const char usage_explain[] = "usage: mqttls explain ...\n\nNot built yet in this version of mqttls.\n";

int cmd_explain(const struct cli_cmd *self, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail(self, "this command is not built yet in this version of mqttls");
}
