#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "mqttls/mqconn.h"
#include "mqttls/util.h"

enum state { C_IDLE, C_CONNECTING, C_SUBSCRIBING, C_WAITING, C_DONE };

struct mqconn {
	struct event_base *base;
	struct mqconn_opts o;
	SSL_CTX *ctx;
	char *host, *user, *pass, *payload;
	int port, keepalive, qos, version;
	struct mosquitto *mosq;
	struct event *ev_read, *ev_write, *ev_timer, *ev_kick, *ev_done;
	int fd;
	enum state state;
	bool goodbye;
	int sub_mid, pub_mid;
	double t0, t_connack;
	mqconn_cb cb;
	void *cbctx;
	struct mqconn_result r;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
	mosquitto_lib_init();
}

static void random_hex(char *buf, size_t bytes)
{
	unsigned char r[16];
	static const char hex[] = "0123456789abcdef";

	if (bytes > sizeof r)
		bytes = sizeof r;
	if (RAND_bytes(r, (int)bytes) != 1) {
		/* Uniqueness is what matters here, not secrecy. */
		unsigned long long t = (unsigned long long)(mq_now_ms() * 1000);
		for (size_t i = 0; i < bytes; i++)
			r[i] = (unsigned char)(t >> (8 * (i % 8)));
	}
	for (size_t i = 0; i < bytes; i++) {
		buf[2 * i] = hex[r[i] >> 4];
		buf[2 * i + 1] = hex[r[i] & 15];
	}
	buf[2 * bytes] = '\0';
}

void mqconn_topic(const struct target *t, char *buf, size_t size)
{
	char rnd[17], base[400];
	size_t n;

	random_hex(rnd, 8);
	if (!t->topic || !*t->topic) {
		snprintf(buf, size, "mqttls/diag/%s", rnd);
		return;
	}
	/* A subscription filter is not a topic: keep the levels before its first wildcard. */
	snprintf(base, sizeof base, "%s", t->topic);
	for (char *p = base; *p; p++) {
		if (*p == '#' || *p == '+') {
			*p = '\0';
			break;
		}
	}
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	if (n == 0)
		snprintf(buf, size, "mqttls/diag/%s", rnd);
	else
		snprintf(buf, size, "%s/mqttls-%s", base, rnd);
}

/* ---------------------------------------------------------------- finishing */

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct mqconn *c = arg;
	(void)fd;
	(void)what;
	if (c->goodbye)
		(void)mosquitto_loop_write(c->mosq, 1);
	c->cb(c, MQCONN_PHASE_DONE, c->cbctx);
}

static void finish(struct mqconn *c, enum mqconn_end end)
{
	if (c->state == C_DONE)
		return;
	if (c->r.end == MQCONN_END_NONE)
		c->r.end = end;
	c->state = C_DONE;
	evtimer_del(c->ev_timer);
	event_del(c->ev_read);
	event_del(c->ev_write);
	/* A clean goodbye, so the broker logs a normal disconnect, not a dropped client. It is
	 * queued here (this may run inside a libmosquitto callback, which holds its locks) and
	 * written from on_done. */
	if (c->r.connack && c->r.connack_rc == 0 && c->mosq && mosquitto_disconnect(c->mosq) == MOSQ_ERR_SUCCESS)
		c->goodbye = true;
	event_active(c->ev_done, 0, 0);
}

static void set_err(struct mqconn *c, int rc)
{
	if (c->r.mosq_err)
		return;
	c->r.mosq_err = rc;
	if (rc == MOSQ_ERR_ERRNO)
		snprintf(c->r.mosq_err_text, sizeof c->r.mosq_err_text, "%s", strerror(errno));
	else
		snprintf(c->r.mosq_err_text, sizeof c->r.mosq_err_text, "%s", mosquitto_strerror(rc));
}

static void arm_timer(struct mqconn *c)
{
	struct timeval tv;
	double t = c->o.timeout > 0 ? c->o.timeout : 5;

	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	evtimer_add(c->ev_timer, &tv);
}

/* ---------------------------------------------------------------- libmosquitto callbacks */

static void on_log(struct mosquitto *m, void *obj, int level, const char *str)
{
	struct mqconn *c = obj;
	(void)m;
	(void)level;
	if (c->r.n_log < MQCONN_MAX_LOG)
		c->r.log[c->r.n_log++] = strndup(str, 300);
}

static void start_roundtrip(struct mqconn *c)
{
	int rc;

	c->state = C_SUBSCRIBING;
	arm_timer(c);
	rc = mosquitto_subscribe(c->mosq, &c->sub_mid, c->r.topic, c->qos);
	if (rc != MOSQ_ERR_SUCCESS) {
		set_err(c, rc);
		finish(c, MQCONN_END_LOST);
	}
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags, const mosquitto_property *props)
{
	struct mqconn *c = obj;
	(void)m;
	(void)flags;
	(void)props;
	c->r.connack = true;
	c->r.connack_rc = rc;
	c->t_connack = mq_now_ms();
	c->r.connack_ms = c->t_connack - c->t0;
	evtimer_del(c->ev_timer);
	if (rc != 0) {
		c->cb(c, MQCONN_PHASE_CONNACK, c->cbctx);
		finish(c, MQCONN_END_CONNACK_REFUSED);
		return;
	}
	c->cb(c, MQCONN_PHASE_CONNACK, c->cbctx);
	if (!c->o.roundtrip) {
		finish(c, MQCONN_END_CONNECTED);
		return;
	}
	start_roundtrip(c);
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted, const mosquitto_property *props)
{
	struct mqconn *c = obj;
	int rc;
	(void)m;
	(void)props;
	if (mid != c->sub_mid || c->state != C_SUBSCRIBING)
		return;
	c->r.subscribed = true;
	c->r.granted_qos = n > 0 ? granted[0] : 0x80;
	if (c->r.granted_qos >= 0x80) {
		finish(c, MQCONN_END_SUB_DENIED);
		return;
	}
	c->state = C_WAITING;
	arm_timer(c);
	rc = mosquitto_publish(c->mosq, &c->pub_mid, c->r.topic, (int)strlen(c->payload), c->payload, c->qos, false);
	if (rc != MOSQ_ERR_SUCCESS) {
		set_err(c, rc);
		finish(c, MQCONN_END_LOST);
	}
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason, const mosquitto_property *props)
{
	struct mqconn *c = obj;
	(void)m;
	(void)props;
	if (mid != c->pub_mid)
		return;
	c->r.published = true;
	c->r.puback_rc = reason;
	if (reason >= 0x80)
		finish(c, MQCONN_END_PUB_DENIED);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg, const mosquitto_property *props)
{
	struct mqconn *c = obj;
	size_t plen = strlen(c->payload);
	(void)m;
	(void)props;
	if (c->state != C_WAITING || !msg->topic || strcmp(msg->topic, c->r.topic))
		return;
	if ((size_t)msg->payloadlen != plen || (plen && memcmp(msg->payload, c->payload, plen)))
		return;
	c->r.received = true;
	c->r.roundtrip_ms = mq_now_ms() - c->t_connack;
	finish(c, MQCONN_END_ROUNDTRIP_OK);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc, const mosquitto_property *props)
{
	struct mqconn *c = obj;
	(void)m;
	(void)props;
	if (c->state == C_DONE)
		return;
	set_err(c, rc ? rc : MOSQ_ERR_CONN_LOST);
	finish(c, c->r.connack ? MQCONN_END_LOST : MQCONN_END_CONNECT_FAILED);
}

/* ---------------------------------------------------------------- socket events */

static bool handshake_pending(struct mqconn *c)
{
	SSL *ssl = c->ctx ? mosquitto_ssl_get(c->mosq) : NULL;
	return ssl && !SSL_is_init_finished(ssl);
}

static void update_write_interest(struct mqconn *c)
{
	SSL *ssl = c->ctx ? mosquitto_ssl_get(c->mosq) : NULL;

	if (c->state == C_DONE)
		return;
	if (mosquitto_want_write(c->mosq) || (ssl && SSL_want_write(ssl)))
		event_add(c->ev_write, NULL);
}

static void after_loop(struct mqconn *c, int rc)
{
	if (c->state == C_DONE)
		return;
	if (rc != MOSQ_ERR_SUCCESS) {
		set_err(c, rc);
		finish(c, c->r.connack ? MQCONN_END_LOST : MQCONN_END_CONNECT_FAILED);
		return;
	}
	if (mosquitto_socket(c->mosq) < 0) {
		set_err(c, MOSQ_ERR_CONN_LOST);
		finish(c, c->r.connack ? MQCONN_END_LOST : MQCONN_END_CONNECT_FAILED);
		return;
	}
	update_write_interest(c);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct mqconn *c = arg;
	int rc;
	SSL *ssl;
	(void)what;
	if (c->state == C_DONE)
		return;
	/* Acknowledge at once: a broker without set_tcp_nodelay holds its CONNACK back (Nagle)
	 * until the TLS 1.3 session tickets before it are acknowledged, a delayed ACK later. */
	{
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
	}
	/* Read until OpenSSL holds nothing more: a whole packet may sit in its buffer. */
	do {
		rc = mosquitto_loop_read(c->mosq, 1);
		ssl = c->ctx ? mosquitto_ssl_get(c->mosq) : NULL;
	} while (rc == MOSQ_ERR_SUCCESS && c->state != C_DONE && ssl && SSL_pending(ssl) > 0);
	after_loop(c, rc);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct mqconn *c = arg;
	int rc;
	(void)fd;
	(void)what;
	if (c->state == C_DONE)
		return;
	/* While the TLS handshake runs, libmosquitto advances it from its read path. */
	rc = handshake_pending(c) ? mosquitto_loop_read(c->mosq, 1) : mosquitto_loop_write(c->mosq, 1);
	after_loop(c, rc);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mqconn *c = arg;
	(void)fd;
	(void)what;
	if (c->state == C_CONNECTING)
		finish(c, MQCONN_END_CONNECT_TIMEOUT);
	else if (c->state == C_SUBSCRIBING || c->state == C_WAITING)
		finish(c, MQCONN_END_ROUNDTRIP_TIMEOUT);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct mqconn *c = arg;
	int rc;
	(void)fd;
	(void)what;

	c->state = C_CONNECTING;
	c->t0 = mq_now_ms();
	arm_timer(c);
	rc = mosquitto_connect_async(c->mosq, c->host, c->port, c->keepalive);
	if (rc != MOSQ_ERR_SUCCESS) {
		set_err(c, rc);
		c->cb(c, MQCONN_PHASE_CONNACK, c->cbctx);
		finish(c, MQCONN_END_CONNECT_FAILED);
		return;
	}
	c->fd = mosquitto_socket(c->mosq);
	if (c->fd < 0) {
		set_err(c, MOSQ_ERR_NO_CONN);
		c->cb(c, MQCONN_PHASE_CONNACK, c->cbctx);
		finish(c, MQCONN_END_CONNECT_FAILED);
		return;
	}
	event_assign(c->ev_read, c->base, c->fd, EV_READ | EV_PERSIST, on_read, c);
	event_assign(c->ev_write, c->base, c->fd, EV_WRITE, on_write, c);
	event_add(c->ev_read, NULL);
	/* The TCP connect completes when the socket turns writable. */
	event_add(c->ev_write, NULL);
}

struct mqconn *mqconn_start(struct event_base *base, const struct target *t, const struct mqconn_opts *o,
			    mqconn_cb cb, void *ctx, struct mq_err *err)
{
	struct mqconn *c = calloc(1, sizeof *c);
	char rnd[17];

	if (!c)
		abort();
	pthread_once(&lib_once, lib_init);
	c->base = base;
	c->o = *o;
	c->cb = cb;
	c->cbctx = ctx;
	c->fd = -1;
	c->host = strdup(o->connect_host ? o->connect_host : t->host);
	c->o.connect_host = c->host;
	c->port = t->port;
	c->keepalive = t->keepalive >= 5 ? t->keepalive : 5;
	c->qos = t->qos;
	c->version = t->mqtt_version == 5 ? MQTT_PROTOCOL_V5 : t->mqtt_version == 31 ? MQTT_PROTOCOL_V31 : MQTT_PROTOCOL_V311;
	c->r.mqtt_version = c->version;
	random_hex(rnd, 6);
	if (t->client_id)
		snprintf(c->r.client_id, sizeof c->r.client_id, "%s", t->client_id);
	else
		snprintf(c->r.client_id, sizeof c->r.client_id, "mqttls-%s", rnd);
	mqconn_topic(t, c->r.topic, sizeof c->r.topic);
	if (t->message && *t->message) {
		c->payload = strdup(t->message);
	} else {
		char pl[64];
		snprintf(pl, sizeof pl, "mqttls round trip %s", rnd);
		c->payload = strdup(pl);
	}
	c->r.had_username = t->user != NULL;

	/* -i "" asks for an empty client id on the wire (the broker then assigns one, or refuses). */
	c->mosq = mosquitto_new(t->client_id && !*t->client_id ? NULL : c->r.client_id, true, c);
	if (!c->mosq) {
		mq_errf_errno(err, "cannot create a libmosquitto client");
		goto fail;
	}
	mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, c->version);
	/* Small packets both ways: without this, Nagle and delayed ACKs add 40 ms per step. */
	mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_log_callback_set(c->mosq, on_log);
	mosquitto_connect_v5_callback_set(c->mosq, on_connect);
	mosquitto_subscribe_v5_callback_set(c->mosq, on_subscribe);
	mosquitto_publish_v5_callback_set(c->mosq, on_publish);
	mosquitto_message_v5_callback_set(c->mosq, on_message);
	mosquitto_disconnect_v5_callback_set(c->mosq, on_disconnect);
	if (t->user && mosquitto_username_pw_set(c->mosq, t->user, t->pass) != MOSQ_ERR_SUCCESS) {
		mq_errf(err, "libmosquitto refused the username/password");
		goto fail;
	}
	if (o->ctx) {
		SSL_CTX_up_ref(o->ctx);
		c->ctx = o->ctx;
		c->r.rec.enforce = true;
		/* libmosquitto is handed an address; the broker must still see the user's server name. */
		c->r.rec.override_sni = true;
		snprintf(c->r.rec.sni, sizeof c->r.rec.sni, "%s", tlsctx_sni(t) ? tlsctx_sni(t) : "");
		tlsctx_attach(c->ctx, &c->r.rec);
		if (mosquitto_void_option(c->mosq, MOSQ_OPT_SSL_CTX, c->ctx) != MOSQ_ERR_SUCCESS) {
			mq_errf(err, "libmosquitto refused the TLS context");
			goto fail;
		}
		mosquitto_int_option(c->mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
	}
	c->ev_read = event_new(base, -1, 0, on_read, c);
	c->ev_write = event_new(base, -1, 0, on_write, c);
	c->ev_timer = evtimer_new(base, on_timer, c);
	c->ev_kick = event_new(base, -1, 0, on_kick, c);
	c->ev_done = event_new(base, -1, 0, on_done, c);
	if (!c->ev_read || !c->ev_write || !c->ev_timer || !c->ev_kick || !c->ev_done) {
		mq_errf(err, "cannot create events");
		goto fail;
	}
	event_active(c->ev_kick, 0, 0);
	return c;
fail:
	mqconn_free(c);
	return NULL;
}

const struct mqconn_result *mqconn_result(const struct mqconn *c)
{
	return &c->r;
}

void mqconn_free(struct mqconn *c)
{
	if (!c)
		return;
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	if (c->ev_timer)
		event_free(c->ev_timer);
	if (c->ev_kick)
		event_free(c->ev_kick);
	if (c->ev_done)
		event_free(c->ev_done);
	if (c->mosq)
		mosquitto_destroy(c->mosq);
	if (c->ctx) {
		tlsctx_attach(c->ctx, NULL);
		SSL_CTX_free(c->ctx);
	}
	for (size_t i = 0; i < c->r.n_log; i++)
		free(c->r.log[i]);
	free(c->host);
	free(c->payload);
	free(c);
}
