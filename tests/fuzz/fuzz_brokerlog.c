/* brokerlog: hostile bytes as a mosquitto log. */
#include <stdint.h>
#include <stdlib.h>

#include "mqttls/brokerlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct brokerlog l;

	brokerlog_parse((const char *)data, size, &l);
	cJSON_Delete(findings_to_json(&l.findings));
	brokerlog_free(&l);
	return 0;
}
