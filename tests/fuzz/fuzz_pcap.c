/*
 * libFuzzer: the whole capture path on hostile input — a pcap/pcapng file opened from memory
 * (fmemopen + pcap_fopen_offline, as mqttls capture -r reads it) through link, IP and TCP
 * decoding, reassembly, TLS / MQTT decoding, verdicts, and the text and JSON every event
 * becomes; or (odd first byte) raw frames of one link type fed straight to the engine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <pcap/dlt.h>

#include "mqttls/capture.h"

static const int dlts[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP, DLT_RAW, DLT_IPV4, DLT_IPV6 };

static void on_event(void *ctx, const struct capture_event *ev)
{
	struct mq_str s = { 0 };
	cJSON *j;

	(void)ctx;
	if (ev->type == CAPTURE_EV_DONE)
		return;
	(void)capture_event_describe(ev, ev->ts > 0, &s);
	mq_str_free(&s);
	/* Whatever came off the wire, the JSON line must parse. */
	if (capture_event_json_write(ev, &s)) {
		j = cJSON_ParseWithLength(s.s, s.len);
		if (!j)
			abort();
		cJSON_Delete(j);
	}
	mq_str_free(&s);
}

static void opts(struct capture_opts *o)
{
	capture_opts_init(o);
	/* Small caps, so eviction and the reassembly limits are reached by small inputs. */
	o->max_flows = 8;
	o->held_bytes = 4096;
	o->held_segs = 8;
	o->max_mqtt_packet = 8192;
	o->batch = 64;
	/* The MQTT ports, and those of the loopback captures the corpus was seeded from. */
	static const uint16_t ports[] = { 1883, 8883, 18830, 18831, 18832, 18883, 18884, 18885, 18886 };

	memcpy(o->ports, ports, sizeof(ports));
	o->n_ports = sizeof(ports) / sizeof(ports[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capture_observer obs = { on_event, NULL };
	struct capture_opts o;
	struct capture *c;
	struct mq_err err;

	if (size < 2)
		return 0;
	opts(&o);
	mq_err_clear(&err);
	if (data[0] & 1) {
		/* Frames: [len_hi len_lo frame...]... of one link type. */
		int dlt = dlts[data[1] % (sizeof(dlts) / sizeof(dlts[0]))];
		size_t off = 2;
		double ts = 1e9;

		c = capture_new(&o, &obs, &err);
		if (!c)
			return 0;
		while (off + 2 <= size) {
			size_t n = (size_t)data[off] << 8 | data[off + 1];

			off += 2;
			if (n > size - off)
				n = size - off;
			capture_frame(c, dlt, ts, data + off, n, n + (data[1] & 0x80 ? 7 : 0));
			ts += 0.001;
			off += n;
		}
		capture_finish(c);
		capture_free(c);
		return 0;
	}
	{
		struct event_base *base = event_base_new();
		FILE *fp = fmemopen((void *)(data + 1), size - 1, "rb");

		if (!base || !fp) {
			if (fp)
				fclose(fp);
			if (base)
				event_base_free(base);
			return 0;
		}
		o.fp = fp;
		c = capture_new(&o, &obs, &err);
		if (!c) {
			fclose(fp);
		} else {
			if (capture_start(c, base, &err) == 0)
				while (!capture_done(c) && event_base_loop(base, EVLOOP_ONCE) == 0)
					;
			capture_free(c);
		}
		event_base_free(base);
	}
	return 0;
}
