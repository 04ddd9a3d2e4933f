/*
 * libFuzzer harness: a pasted command line (the TUI's paste field, "mqttls diagnose ..." after
 * the shell) must never crash the TARGET parser: quoting, URLs with user:pass@, [v6] hosts,
 * ports, options without values. Once parsed, a copy and a free must be clean too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct target t, copy;
	struct mq_err err = { 0 };
	char *line = malloc(size + 1);

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	target_init(&t);
	target_init(&copy);
	if (target_parse_line(&t, line, &err) == 0)
		target_dup(&copy, &t);
	target_free(&copy);
	target_free(&t);
	free(line);
	return 0;
}
