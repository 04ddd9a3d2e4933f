/*
 * flowtab — the capture engine's flows: lookup, reassembly, TLS/MQTT decoding per direction,
 * events, eviction. Internal to src/wire (capture.c drives it).
 */
#ifndef MQTTLS_WIRE_FLOWTAB_H
#define MQTTLS_WIRE_FLOWTAB_H

#include "mqttls/capture.h"
#include "mqttls/netdec.h"

struct flowtab;

struct flowtab *flowtab_new(const struct capture_opts *o, const struct capture_observer *obs,
			    struct capture_stats *stats);

/* Is this port one of the capture's MQTT ports? */
bool flowtab_port_wanted(const struct flowtab *t, uint16_t port);

/* One TCP segment on the ports, at time ts. */
void flowtab_segment(struct flowtab *t, double ts, const struct net_seg *s);

/* A frame that could not be decoded (no flow): counted and reported. */
void flowtab_malformed_frame(struct flowtab *t, double ts, const char *why);

/* End of capture: every flow's held bytes, then its summary, in order of first packet. */
void flowtab_finish(struct flowtab *t);

void flowtab_free(struct flowtab *t);

#endif
