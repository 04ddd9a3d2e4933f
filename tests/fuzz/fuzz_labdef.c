/*
 * libFuzzer harness: the lab definition format. Any bytes as a lab definition and as a device's
 * settings file, and every template a definition accepted, expanded: no crash, no leak, no
 * read past the input (which gets no terminator to lean on).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/labdef.h"

static const char *any(void *ctx, const char *name)
{
	(void)ctx;
	/* Every name is known here except one, so unknown-name paths run too. */
	return strcmp(name, "nope") ? "v" : NULL;
}

static void expand(const char *t)
{
	char *s;

	if (t && (s = labdef_expand(t, any, NULL, NULL)) != NULL)
		free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	struct labdef d;
	struct labdevice dv;
	struct mq_err err = { 0 };

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (labdef_parse(&d, "fuzz.def", copy, size, &err) == 0) {
		expand(d.host);
		for (size_t i = 0; i < d.n_files; i++)
			expand(d.files[i].text);
		for (size_t i = 0; i < d.n_hints; i++)
			expand(d.hints[i]);
		for (size_t i = 0; i < d.n_probes; i++)
			expand(d.probes[i].target);
		labdef_free(&d);
	}
	mq_err_clear(&err);
	if (labdef_device_parse(&dv, "fuzz.conf", copy, size, &err) == 0)
		labdevice_free(&dv);
	free(copy);
	return 0;
}
