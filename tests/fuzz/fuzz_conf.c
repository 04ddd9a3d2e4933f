/* conf: hostile bytes as a mosquitto.conf, through the reader and every question asked of it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mqttls/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	char buf[300];

	conf_init(&c);
	conf_parse_buffer(&c, "fuzz.conf", (const char *)data, size);
	for (size_t i = 0; i < c.n_listeners; i++) {
		const struct conf_listener *l = &c.listeners[i];
		(void)conf_listener_is_tls(l);
		(void)conf_listener_allows_anonymous(&c, l);
		(void)conf_listener_security(&c, l);
		(void)conf_listener_label(l, buf, sizeof buf);
	}
	(void)conf_find_listener(&c, 8883);
	for (size_t i = 0; i < c.n_msgs; i++)
		(void)conf_msg_level_name(c.msgs[i].level);
	conf_free(&c);
	return 0;
}
