#include <stdio.h>

#include <event2/buffer.h>

#include "mitm-int.h"

int mitm_frame_next(struct evbuffer *in, size_t max_packet, const uint8_t **pkt, size_t *len, char *err)
{
	size_t avail = evbuffer_get_length(in), hl, total = 0;
	const uint8_t *raw;

	*pkt = NULL;
	*len = 0;
	if (avail == 0)
		return MQTTDEC_MORE;
	/* The fixed header is at most 5 bytes: that is all that is made contiguous to size the packet. */
	hl = avail < MQTT_MAX_FIXED_HEADER ? avail : MQTT_MAX_FIXED_HEADER;
	raw = evbuffer_pullup(in, (ev_ssize_t)hl);
	if (!raw)
		return MQTTDEC_MORE;
	if (mqttdec_frame(raw, hl, max_packet, NULL, &total, err) == MQTTDEC_BAD)
		return MQTTDEC_BAD;
	if (total == 0 || avail < total)
		return MQTTDEC_MORE;
	raw = evbuffer_pullup(in, (ev_ssize_t)total);
	if (!raw) {
		if (err)
			snprintf(err, MQTTDEC_ERR_SIZE, "out of memory for a %zu-byte packet", total);
		return MQTTDEC_BAD;
	}
	*pkt = raw;
	*len = total;
	return MQTTDEC_OK;
}
