/* libFuzzer harness: explain must survive any pasted bytes (no crash, no leak, no overread). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/explain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct explain_result r = { 0 };
	/* The engine gets exactly size bytes: no terminator to lean on. */
	char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	explain_text(copy, size, &r);
	cJSON *j = explain_result_to_json(&r, copy, size);
	char *s = cJSON_PrintUnformatted(j);
	free(s);
	cJSON_Delete(j);
	explain_result_free(&r);
	free(copy);
	return 0;
}
