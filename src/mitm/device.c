#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mitm-int.h"
#include "mqttls/device.h"
#include "mqttls/explain.h"
#include "mqttls/gate.h"
#include "mqttls/mqttdec.h"
#include "mqttls/mqttenc.h"
#include "mqttls/util.h"

/* A CA, certificate or key file larger than this is not one. */
#define DEVICE_FILE_CAP (8u << 20)

/* mbedTLS error codes the ESP32 logs for the failures a simulated device can meet. */
#define MBED_X509_CERT_VERIFY_FAILED  (-0x2700)
#define MBED_SSL_FATAL_ALERT_MESSAGE  (-0x7780)
#define MBED_SSL_CONN_EOF             (-0x7280)
#define MBED_SSL_INVALID_RECORD       (-0x7200)
#define MBED_SSL_TIMEOUT              (-0x6800)

/* OpenSSL's verify result -> the mbedTLS verify flag an ESP32 sets for the same problem, and the
 * finding it is when nothing else can be the cause (an unknown issuer may be a wrong CA or a missing
 * intermediate: only a diagnosis tells them apart). */
#define NOT_SIGNED "The certificate is not correctly signed by the trusted CA"
#define CN_MISMATCH "The certificate Common Name (CN) does not match with the expected CN"
static const struct {
	int x509;
	unsigned flag;
	const char *text;   /* mbedTLS's own description of the flag */
	const char *finding;
} verify_map[] = {
	{ X509_V_ERR_CERT_HAS_EXPIRED, 0x01, "The certificate validity has expired", "CERT_EXPIRED" },
	{ X509_V_ERR_HOSTNAME_MISMATCH, 0x04, CN_MISMATCH, "HOSTNAME_MISMATCH" },
	{ X509_V_ERR_IP_ADDRESS_MISMATCH, 0x04, CN_MISMATCH, "IP_NOT_IN_SAN" },
	{ X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0x08, NOT_SIGNED, NULL },
	{ X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, 0x08, NOT_SIGNED, NULL },
	{ X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, 0x08, NOT_SIGNED, NULL },
	{ X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0x08, NOT_SIGNED, "SELF_SIGNED_SERVER" },
	{ X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, 0x08, NOT_SIGNED, NULL },
	{ X509_V_ERR_CERT_SIGNATURE_FAILURE, 0x08, NOT_SIGNED, NULL },
	{ X509_V_ERR_CERT_UNTRUSTED, 0x08, NOT_SIGNED, NULL },
	{ X509_V_ERR_CERT_NOT_YET_VALID, 0x200, "The certificate validity starts in the future", "CERT_NOT_YET_VALID" },
	{ X509_V_ERR_INVALID_PURPOSE, 0x1000, "Usage does not match the extendedKeyUsage extension",
	  "SERVER_CERT_WRONG_PURPOSE" },
};

struct device {
	struct event_base *base;
	device_observer obs;
	void *arg;
	struct device_opts o;
	char *host, *topic, *client_id, *message, *subscribe;
	unsigned char pin[32];
	bool has_pin;
	SSL_CTX *ctx;
	struct bufferevent *bev;
	struct event *timer;           /* CONNACK/handshake timeout, retry, next publish */
	struct event *ping;
	char address[INET6_ADDRSTRLEN + 16];
	enum { D_IDLE, D_TCP, D_CONNECTING, D_WAIT_CONNACK, D_CONNECTED, D_CLOSING, D_DONE } state;
	int attempt;
	int published, acked, sent;     /* sent: PUBLISH packets written in this session */
	uint16_t next_id;
	bool stopping, sent_since_ping, connected_once;
	const char *finding;            /* what the verify result of the failing attempt means */
	char verified[200];
};

int device_parse_pin(const char *s, unsigned char out[32])
{
	size_t n = 0, len = strlen(s);

	if (!strncmp(s, "sha256//", 8)) {
		s += 8;
		len -= 8;
	}
	if (len == 44 && s[43] == '=') {
		unsigned char tmp[36];
		if (EVP_DecodeBlock(tmp, (const unsigned char *)s, 44) != 33)
			return -1;
		memcpy(out, tmp, 32);
		return 0;
	}
	for (const char *p = s; *p; p++) {
		int v;
		if (*p == ':' || *p == ' ')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			v = (*p | 0x20) - 'a' + 10;
		else
			return -1;
		if (n >= 64)
			return -1;
		if (n % 2 == 0)
			out[n / 2] = (unsigned char)(v << 4);
		else
			out[n / 2] |= (unsigned char)v;
		n++;
	}
	return n == 64 ? 0 : -1;
}

static void emit(struct device *d, struct device_event *ev)
{
	ev->attempt = d->attempt;
	if (!ev->address)
		ev->address = d->address;
	if (d->obs)
		d->obs(ev, d->arg);
}

static void fail(struct device *d, int rc, const char *reason, int mbed, unsigned flags, const char *flags_text,
		 const char *alert);
static void schedule(struct device *d, double seconds);
static void done(struct device *d);
static void device_attempt(struct device *d);
static int start_tls(struct device *d);

/* ---- TLS ------------------------------------------------------------------------------------- */

/* With only a pin (setInsecure + a fingerprint check, as ESP8266's setFingerprint does) the
 * chain is not judged; the pin is checked after the handshake. */
static int accept_all_cb(int ok, X509_STORE_CTX *x)
{
	(void)ok;
	(void)x;
	return 1;
}

/* setCACert() or its equivalent: a CA file or a directory of CAs to verify the broker with. */
static bool has_ca(const struct device *d)
{
	return d->o.cafile || d->o.capath;
}

static SSL_CTX *make_ctx(struct device *d, struct mq_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		mq_errf_ssl(err, "cannot create a TLS context");
		return NULL;
	}
	if (d->o.tls_min)
		SSL_CTX_set_min_proto_version(ctx, d->o.tls_min);
	if (d->o.tls_max)
		SSL_CTX_set_max_proto_version(ctx, d->o.tls_max);
	/* OpenSSL would wait forever on a FIFO and say little about a directory: look first. */
	if ((d->o.cafile && mq_check_file("--cafile", d->o.cafile, DEVICE_FILE_CAP, err) < 0) ||
	    (d->o.cert && mq_check_file("--cert", d->o.cert, DEVICE_FILE_CAP, err) < 0) ||
	    (d->o.key && mq_check_file("--key", d->o.key, DEVICE_FILE_CAP, err) < 0))
		goto fail;
	if (has_ca(d) && !SSL_CTX_load_verify_locations(ctx, d->o.cafile, d->o.capath)) {
		mq_errf_ssl(err, "cannot load the CA %s %s", d->o.cafile ? "file" : "directory",
			    d->o.cafile ? d->o.cafile : d->o.capath);
		goto fail;
	}
	/* The device's clock is what its mbedTLS compares the dates with. */
	if (d->o.clock == TARGET_CLOCK_AT)
		X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx), (time_t)d->o.clock_at);
	else if (d->o.clock == TARGET_CLOCK_IGNORE)
		X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
	if (d->o.ciphers && !SSL_CTX_set_cipher_list(ctx, d->o.ciphers)) {
		mq_errf_ssl(err, "--ciphers '%s' leaves no cipher suite OpenSSL knows", d->o.ciphers);
		goto fail;
	}
	if (d->o.verify == DEVICE_VERIFY_NONE || (d->has_pin && !has_ca(d)))
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_all_cb);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (d->o.cert) {
		if (!SSL_CTX_use_certificate_chain_file(ctx, d->o.cert) ||
		    !SSL_CTX_use_PrivateKey_file(ctx, d->o.key ? d->o.key : d->o.cert, SSL_FILETYPE_PEM) ||
		    !SSL_CTX_check_private_key(ctx)) {
			mq_errf_ssl(err, "cannot use the device certificate %s", d->o.cert);
			goto fail;
		}
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Which pin matched: "certificate" / "public key", or NULL. Fills the two fingerprints. */
static const char *pin_check(struct device *d, X509 *leaf, char *cert_hex, char *spki_hex, size_t size)
{
	unsigned char c[EVP_MAX_MD_SIZE], k[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned cl = 0, kl = 0;
	int dl;

	X509_digest(leaf, EVP_sha256(), c, &cl);
	dl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der);
	if (dl > 0)
		EVP_Digest(der, (size_t)dl, k, &kl, EVP_sha256(), NULL);
	OPENSSL_free(der);
	cert_hex[0] = spki_hex[0] = '\0';
	for (unsigned i = 0; i < cl && 2 * i + 3 < size; i++)
		snprintf(cert_hex + 2 * i, size - 2 * i, "%02x", c[i]);
	for (unsigned i = 0; i < kl && 2 * i + 3 < size; i++)
		snprintf(spki_hex + 2 * i, size - 2 * i, "%02x", k[i]);
	if (cl == 32 && !memcmp(c, d->pin, 32))
		return "certificate";
	if (kl == 32 && !memcmp(k, d->pin, 32))
		return "public key";
	return NULL;
}

/* ---- MQTT ------------------------------------------------------------------------------------ */

static void write_packet(struct device *d, struct mq_str *b)
{
	if (d->bev && b->len)
		bufferevent_write(d->bev, b->s, b->len);
	d->sent_since_ping = true;
	mq_str_free(b);
}

static void send_connect(struct device *d)
{
	struct mq_str b = { 0 };
	struct mqttenc_connect c = {
		.level = d->o.mqtt_version == 5 ? 5 : 4,
		.client_id = d->client_id,
		.username = d->o.username,
		.password = d->o.password,
		.password_len = d->o.password ? strlen(d->o.password) : 0,
		.keepalive = d->o.keepalive,
		.clean = true,
	};
	if (mqttenc_connect(&b, &c) == 0)
		write_packet(d, &b);
	mq_str_free(&b);
}

static void publish_next(struct device *d)
{
	struct mq_str b = { 0 };
	char payload[256];
	const char *msg = d->message;
	int n = d->published + 1;

	if (!msg) {
		/* A reading that changes, as the tutorials' sensor sketches send. */
		snprintf(payload, sizeof payload, "{\"device\":\"%s\",\"n\":%d,\"temp\":%.1f}", d->client_id, n,
			 20.0 + (n % 50) / 10.0);
		msg = payload;
	}
	if (mqttenc_publish(&b, d->o.mqtt_version == 5 ? 5 : 4, d->topic, msg, strlen(msg), d->o.qos, false,
			    false, d->o.qos ? ++d->next_id : 0) < 0) {
		mq_str_free(&b);
		return;
	}
	if (d->next_id == 0xffff)
		d->next_id = 0;
	write_packet(d, &b);
	d->sent++;
	if (d->o.qos == 0) {
		struct device_event ev = { .type = DEVICE_EV_PUBLISHED };
		d->published++;
		ev.n = d->published;
		ev.topic = d->topic;
		ev.payload = msg;
		ev.payload_len = strlen(msg);
		ev.ok = true;
		emit(d, &ev);
	}
}

static bool all_sent(const struct device *d)
{
	return d->o.count > 0 && d->published >= d->o.count;
}

static void graceful_end(struct device *d)
{
	struct mq_str b = { 0 };

	if (mqttenc_empty(&b, MQTT_DISCONNECT) == 0)
		write_packet(d, &b);
	d->state = D_CLOSING;
	bufferevent_disable(d->bev, EV_READ);
	/* done() runs from the write callback once the DISCONNECT left */
	if (evbuffer_get_length(bufferevent_get_output(d->bev)) == 0)
		done(d);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct device *d = arg;
	(void)fd;
	(void)what;

	switch (d->state) {
	case D_TCP:
		fail(d, DEVICE_RC_CONNECT_FAILED, "Connect to Server failed! (timed out)", 0, 0, NULL, NULL);
		break;
	case D_CONNECTING:
		fail(d, DEVICE_RC_CONNECT_FAILED, "no TLS connection within the timeout", MBED_SSL_TIMEOUT, 0, NULL, NULL);
		break;
	case D_WAIT_CONNACK:
		fail(d, DEVICE_RC_TIMEOUT, "no CONNACK within the timeout", 0, 0, NULL, NULL);
		break;
	case D_CONNECTED:
		if (all_sent(d) || d->stopping)
			break;
		if (d->o.qos == 0 || d->sent == d->acked) {
			publish_next(d);
			if (all_sent(d)) {
				graceful_end(d);
				break;
			}
		}
		if (d->o.qos == 0 || !all_sent(d))
			schedule(d, d->o.interval);
		break;
	case D_IDLE:
		device_attempt(d);
		break;
	default:
		break;
	}
}

static void schedule(struct device *d, double seconds)
{
	struct timeval tv = { (time_t)seconds, (suseconds_t)((seconds - (time_t)seconds) * 1e6) };
	evtimer_add(d->timer, &tv);
}

static void on_ping(evutil_socket_t fd, short what, void *arg)
{
	struct device *d = arg;
	struct mq_str b = { 0 };
	(void)fd;
	(void)what;
	if (d->state != D_CONNECTED)
		return;
	if (!d->sent_since_ping && mqttenc_empty(&b, MQTT_PINGREQ) == 0)
		write_packet(d, &b);
	d->sent_since_ping = false;
	mq_str_free(&b);
}

static void handle(struct device *d, const struct mqtt_pkt *p)
{
	struct device_event ev = { 0 };

	switch (p->type) {
	case MQTT_CONNACK:
		if (d->state != D_WAIT_CONNACK)
			break;
		evtimer_del(d->timer);
		if (p->reason != 0) {
			char why[160];
			snprintf(why, sizeof why, "the broker refused the connection: CONNACK %u (%s)", p->reason,
				 mqttdec_reason_name(p->version, MQTT_CONNACK, p->reason));
			/* PubSubClient hands a 3.1.1 CONNACK code straight to state() */
			fail(d, p->reason, why, 0, 0, NULL, NULL);
			return;
		}
		d->state = D_CONNECTED;
		ev.type = DEVICE_EV_CONNECTED;
		ev.rc = DEVICE_RC_CONNECTED;
		ev.verified = d->verified;
		emit(d, &ev);
		if (d->subscribe) {
			struct mq_str b = { 0 };
			if (mqttenc_subscribe(&b, d->o.mqtt_version == 5 ? 5 : 4, ++d->next_id, d->subscribe, 0) == 0)
				write_packet(d, &b);
			mq_str_free(&b);
		}
		if (d->o.keepalive > 0) {
			struct timeval tv = { d->o.keepalive, 0 };
			event_add(d->ping, &tv);
		}
		d->connected_once = true;
		if (!d->o.watch)
			on_timer(-1, 0, d);   /* the first reading goes out at once */
		break;
	case MQTT_PUBACK:
		if (d->o.qos == 1 && d->state >= D_CONNECTED) {
			d->acked++;
			d->published++;
			ev.type = DEVICE_EV_PUBLISHED;
			ev.n = d->published;
			ev.topic = d->topic;
			ev.ok = true;
			emit(d, &ev);
			if (all_sent(d))
				graceful_end(d);
		}
		break;
	case MQTT_SUBACK:
		ev.type = DEVICE_EV_SUBSCRIBED;
		ev.topic = d->subscribe;
		ev.qos = p->list_count && p->list.p ? p->list.p[0] : 0;
		emit(d, &ev);
		break;
	case MQTT_PUBLISH: {
		char *topic = mq_escape_dup(p->topic.p, p->topic.len);
		ev.type = DEVICE_EV_MESSAGE;
		ev.topic = topic ? topic : "";
		ev.payload = (const char *)p->payload.p;
		ev.payload_len = p->payload.len;
		ev.qos = p->qos;
		emit(d, &ev);
		free(topic);
		if (p->qos == 1) {
			struct mq_str b = { 0 };
			if (mqttenc_ack(&b, MQTT_PUBACK, p->packet_id) == 0)
				write_packet(d, &b);
			mq_str_free(&b);
		}
		break;
	}
	default:
		break;
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct device *d = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (d->bev == bev && d->state != D_CLOSING && d->state != D_DONE && d->state != D_IDLE) {
		struct mqtt_pkt p;
		const uint8_t *raw;
		size_t total;
		int rc = mitm_frame_next(in, 1u << 20, &raw, &total, NULL);

		if (rc == MQTTDEC_MORE)
			return;
		if (rc == MQTTDEC_BAD) {
			fail(d, DEVICE_RC_LOST, "the broker sent something that is not MQTT", 0, 0, NULL, NULL);
			return;
		}
		if (raw && mqttdec_decode(raw, total, d->o.mqtt_version == 5 ? 5 : 4, &p) == MQTTDEC_OK)
			handle(d, &p);
		if (d->bev == bev)
			evbuffer_drain(in, total);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct device *d = arg;
	(void)bev;
	if (d->state == D_CLOSING)
		done(d);
}

static const char *tls_failure(struct device *d, int *mbed, unsigned *flags, const char **flags_text,
			       const char **finding, const char **alert, char *buf, size_t size)
{
	SSL *ssl = bufferevent_openssl_get_ssl(d->bev);
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e = 0, next;

	while ((next = bufferevent_get_openssl_error(d->bev)) != 0)
		e = next;
	if (vr != X509_V_OK && d->o.verify != DEVICE_VERIFY_NONE) {
		*mbed = MBED_X509_CERT_VERIFY_FAILED;
		for (size_t i = 0; i < MQ_ARRAY_LEN(verify_map); i++)
			if (verify_map[i].x509 == vr) {
				*flags = verify_map[i].flag;
				*flags_text = verify_map[i].text;
				*finding = verify_map[i].finding;
			}
		snprintf(buf, size, "the broker's certificate did not verify: %s", X509_verify_cert_error_string(vr));
		if (d->o.clock == TARGET_CLOCK_AT &&
		    (vr == X509_V_ERR_CERT_NOT_YET_VALID || vr == X509_V_ERR_CERT_HAS_EXPIRED)) {
			char when[32];
			size_t n = strlen(buf);
			snprintf(buf + n, size - n, " (by the device's clock, %s%s)", mq_iso8601(d->o.clock_at, when, sizeof when),
				 d->o.clock_at < TARGET_CLOCK_NEVER_SET ? ": never set, no NTP" : "");
		}
		return buf;
	}
	if (e && ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET && ERR_GET_REASON(e) < SSL_AD_REASON_OFFSET + 256) {
		*mbed = MBED_SSL_FATAL_ALERT_MESSAGE;
		*alert = explain_alert_name(ERR_GET_REASON(e) - SSL_AD_REASON_OFFSET);
		snprintf(buf, size, "the broker ended the handshake with the alert %s",
			 *alert ? *alert : "(unknown)");
		return buf;
	}
	if (e && ERR_GET_REASON(e) == SSL_R_WRONG_VERSION_NUMBER) {
		*mbed = MBED_SSL_INVALID_RECORD;
		snprintf(buf, size, "the port does not speak TLS (a plain MQTT port such as 1883?)");
		return buf;
	}
	if (e) {
		*mbed = MBED_SSL_CONN_EOF;
		snprintf(buf, size, "TLS failed: %s", ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "error");
		return buf;
	}
	*mbed = MBED_SSL_CONN_EOF;
	snprintf(buf, size, "the broker closed the connection during the handshake");
	return buf;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct device *d = arg;
	char buf[300];
	(void)bev;

	if (d->state == D_TCP) {
		int sockerr = EVUTIL_SOCKET_ERROR();
		if (what & BEV_EVENT_CONNECTED) {
			int one = 1;
			setsockopt(bufferevent_getfd(d->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			if (!d->o.tls)
				goto mqtt;
			if (start_tls(d) < 0)
				fail(d, DEVICE_RC_CONNECT_FAILED, "out of memory", 0, 0, NULL, NULL);
			return;
		}
		snprintf(buf, sizeof buf, "Connect to Server failed! (%s)",
			 (what & BEV_EVENT_TIMEOUT) ? "timed out"
			 : sockerr		    ? evutil_socket_error_to_string(sockerr)
						    : "connection closed");
		fail(d, DEVICE_RC_CONNECT_FAILED, buf, 0, 0, NULL, NULL);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		struct device_event ev = { .type = DEVICE_EV_TLS };
		{
			SSL *ssl = bufferevent_openssl_get_ssl(d->bev);
			X509 *leaf = SSL_get1_peer_certificate(ssl);
			const char *which = NULL;
			char ch[80], kh[80];
			if (d->has_pin) {
				which = leaf ? pin_check(d, leaf, ch, kh, sizeof ch) : NULL;
				if (!which) {
					X509_free(leaf);
					snprintf(buf, sizeof buf, "the pin matches neither the certificate (sha256 %s) nor "
						 "its public key (sha256 %s)", leaf ? ch : "-", leaf ? kh : "-");
					fail(d, DEVICE_RC_CONNECT_FAILED, buf, MBED_X509_CERT_VERIFY_FAILED, 0x100,
					     "Other reason (can be used by verify callback)", NULL);
					return;
				}
			}
			X509_free(leaf);
			if (d->has_pin)
				snprintf(d->verified, sizeof d->verified, "%s pin matched%s", which,
					 has_ca(d) ? ", CA verified" : " (the chain itself was not checked)");
			else if (d->o.verify == DEVICE_VERIFY_NONE)
				snprintf(d->verified, sizeof d->verified, "NOT verified (setInsecure): any broker is accepted");
			else if (d->o.verify == DEVICE_VERIFY_CA_ONLY)
				snprintf(d->verified, sizeof d->verified, "CA verified, host name NOT checked");
			else
				snprintf(d->verified, sizeof d->verified, "CA verified, host name %s matched", d->host);
			if (d->o.clock == TARGET_CLOCK_IGNORE && d->o.verify != DEVICE_VERIFY_NONE) {
				size_t n = strlen(d->verified);
				snprintf(d->verified + n, sizeof d->verified - n, "; dates NOT checked");
			}
			ev.tls_version = SSL_get_version(ssl);
			ev.cipher = SSL_get_cipher_name(ssl);
			ev.verified = d->verified;
			emit(d, &ev);
		}
mqtt:
		if (!d->o.tls)
			snprintf(d->verified, sizeof d->verified, "plain MQTT: no TLS at all");
		d->state = D_WAIT_CONNACK;
		send_connect(d);
		schedule(d, d->o.timeout);
		return;
	}
	if (d->state == D_CLOSING) {
		done(d);
		return;
	}
	if (d->state == D_CONNECTING) {
		int mbed = 0;
		unsigned flags = 0;
		const char *flags_text = NULL, *alert = NULL, *finding = NULL;
		if (what & BEV_EVENT_TIMEOUT) {
			fail(d, DEVICE_RC_CONNECT_FAILED, "no TLS connection within the timeout", MBED_SSL_TIMEOUT, 0,
			     NULL, NULL);
			return;
		}
		tls_failure(d, &mbed, &flags, &flags_text, &finding, &alert, buf, sizeof buf);
		d->finding = finding;
		fail(d, DEVICE_RC_CONNECT_FAILED, buf, mbed, flags, flags_text, alert);
		return;
	}
	if (d->state == D_WAIT_CONNACK) {
		fail(d, DEVICE_RC_CONNECT_FAILED, "the broker closed the connection before CONNACK", 0, 0, NULL, NULL);
		return;
	}
	fail(d, DEVICE_RC_LOST, (what & BEV_EVENT_EOF) ? "the broker closed the connection" : "the connection failed",
	     0, 0, NULL, NULL);
}

static void drop_connection(struct device *d)
{
	if (d->bev) {
		/* The TCP-only stage owns its socket itself (see start_tls). */
		evutil_socket_t fd = d->state == D_TCP && d->o.tls ? bufferevent_getfd(d->bev) : -1;
		bufferevent_free(d->bev);
		d->bev = NULL;
		if (fd >= 0)
			evutil_closesocket(fd);
	}
	evtimer_del(d->timer);
	event_del(d->ping);
}

static void done(struct device *d)
{
	struct device_event ev = { .type = DEVICE_EV_DONE };

	if (d->state == D_DONE)
		return;
	drop_connection(d);
	d->state = D_DONE;
	ev.published = d->published;
	ev.wanted = d->o.count;
	ev.ok = d->o.watch ? d->connected_once : d->o.count > 0 ? d->published >= d->o.count : d->published > 0;
	emit(d, &ev);
}

static void fail(struct device *d, int rc, const char *reason, int mbed, unsigned flags, const char *flags_text,
		 const char *alert)
{
	struct device_event ev = { .type = DEVICE_EV_FAILED };
	char mtext[128];

	drop_connection(d);
	d->state = D_IDLE;
	ev.rc = rc;
	ev.reason = reason;
	ev.mbedtls_code = mbed;
	ev.mbedtls_text = mbed ? explain_mbedtls_format(mbed, mtext, sizeof mtext) : NULL;
	ev.verify_flags = flags;
	ev.flags_text = flags_text;
	ev.finding = d->finding;
	ev.alert = alert;
	d->finding = NULL;
	emit(d, &ev);
	if (d->o.retry > 0 && !d->stopping)
		schedule(d, d->o.retry);
	else
		done(d);
}

static void device_attempt(struct device *d)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC }, *res = NULL;
	struct device_event ev = { .type = DEVICE_EV_ATTEMPT };
	char port[8];
	int rc;

	d->attempt++;
	d->sent = d->acked = 0;
	snprintf(port, sizeof port, "%d", d->o.port);
	snprintf(d->address, sizeof d->address, "%s:%d", d->host, d->o.port);
	rc = getaddrinfo(d->host, port, &hints, &res);
	if (rc != 0) {
		char why[300];
		emit(d, &ev);
		snprintf(why, sizeof why, "cannot resolve %s: %s", d->host, gai_strerror(rc));
		fail(d, DEVICE_RC_CONNECT_FAILED, why, 0, 0, NULL, NULL);
		return;
	}
	gate_addr_str(res->ai_addr, d->address, sizeof d->address);
	emit(d, &ev);
	/* TCP first, TLS on the connected socket: so a refused port is told apart from a refused
	 * handshake, as WiFiClientSecure's "Connect to Server failed!" is. */
	d->bev = bufferevent_socket_new(d->base, -1, d->o.tls ? 0 : BEV_OPT_CLOSE_ON_FREE);
	if (!d->bev)
		goto oom;
	bufferevent_setcb(d->bev, on_read, on_write, on_event, d);
	bufferevent_enable(d->bev, EV_READ | EV_WRITE);
	d->state = D_TCP;
	if (bufferevent_socket_connect(d->bev, res->ai_addr, (int)res->ai_addrlen) < 0) {
		char why[300];
		snprintf(why, sizeof why, "Connect to Server failed! (%s)",
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		freeaddrinfo(res);
		fail(d, DEVICE_RC_CONNECT_FAILED, why, 0, 0, NULL, NULL);
		return;
	}
	freeaddrinfo(res);
	schedule(d, d->o.timeout);
	return;
oom:
	freeaddrinfo(res);
	fail(d, DEVICE_RC_CONNECT_FAILED, "out of memory", 0, 0, NULL, NULL);
}

/* The TCP connection is up: start TLS on the same socket. */
static int start_tls(struct device *d)
{
	struct sockaddr_storage lit;
	socklen_t litlen;
	bool is_ip = gate_parse_literal(d->host, 0, &lit, &litlen) == 0;
	evutil_socket_t fd = bufferevent_getfd(d->bev);
	SSL *ssl = SSL_new(d->ctx);

	bufferevent_free(d->bev);   /* made without CLOSE_ON_FREE: fd stays open */
	d->bev = NULL;
	if (!ssl) {
		evutil_closesocket(fd);
		return -1;
	}
	if (d->o.verify == DEVICE_VERIFY_FULL && !(d->has_pin && !has_ca(d))) {
		if (is_ip)
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), d->host);
		else
			SSL_set1_host(ssl, d->host);
	}
	if (d->o.sni)
		SSL_set_tlsext_host_name(ssl, d->o.sni);
	else if (!is_ip)
		SSL_set_tlsext_host_name(ssl, d->host);
	d->bev = bufferevent_openssl_socket_new(d->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (!d->bev) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(d->bev, 1);
	bufferevent_setcb(d->bev, on_read, on_write, on_event, d);
	bufferevent_enable(d->bev, EV_READ | EV_WRITE);
	d->state = D_CONNECTING;
	return 0;
}

struct device *device_new(struct event_base *base, const struct device_opts *o, device_observer obs, void *arg,
			  struct mq_err *err)
{
	struct device *d = calloc(1, sizeof *d);
	char id[32];

	if (!d) {
		mq_errf(err, "out of memory");
		return NULL;
	}
	d->base = base;
	d->obs = obs;
	d->arg = arg;
	d->o = *o;
	if (d->o.timeout <= 0)
		d->o.timeout = 15;
	if (d->o.interval <= 0)
		d->o.interval = 1;
	if (d->o.keepalive < 0)
		d->o.keepalive = 15;
	snprintf(id, sizeof id, "esp32-%06x", (unsigned)getpid() & 0xffffff);
	d->host = strdup(o->host ? o->host : "localhost");
	d->client_id = strdup(o->client_id ? o->client_id : id);
	d->message = o->message ? strdup(o->message) : NULL;
	d->subscribe = o->subscribe ? strdup(o->subscribe) : NULL;
	if (!d->host || !d->client_id || (o->message && !d->message) || (o->subscribe && !d->subscribe))
		goto oom;
	if (o->topic) {
		d->topic = strdup(o->topic);
	} else {
		size_t n = strlen(d->client_id) + 32;
		d->topic = malloc(n);
		if (d->topic)
			snprintf(d->topic, n, "sensors/%s/temp", d->client_id);
	}
	if (!d->topic)
		goto oom;
	d->o.host = d->host;
	d->o.client_id = d->client_id;
	d->o.topic = d->topic;
	if (o->pin) {
		if (device_parse_pin(o->pin, d->pin) < 0) {
			mq_errf(err, "--pin wants a SHA-256 fingerprint: 64 hex digits (colons allowed) or 44 "
				"characters of base64, not '%s'", o->pin);
			goto fail;
		}
		d->has_pin = true;
	}
	if (d->o.tls && !(d->ctx = make_ctx(d, err)))
		goto fail;
	d->timer = evtimer_new(base, on_timer, d);
	d->ping = event_new(base, -1, EV_PERSIST, on_ping, d);
	if (!d->timer || !d->ping)
		goto oom;
	d->state = D_IDLE;
	schedule(d, 0);
	return d;
oom:
	mq_errf(err, "out of memory");
fail:
	device_free(d);
	return NULL;
}

void device_stop(struct device *d)
{
	d->stopping = true;
	if (d->state == D_CONNECTED)
		graceful_end(d);
	else if (d->state != D_CLOSING)
		done(d);
}

void device_free(struct device *d)
{
	if (!d)
		return;
	if (d->timer && d->ping)
		drop_connection(d);
	else if (d->bev)
		bufferevent_free(d->bev);
	if (d->timer)
		event_free(d->timer);
	if (d->ping)
		event_free(d->ping);
	SSL_CTX_free(d->ctx);
	free(d->host);
	free(d->client_id);
	free(d->message);
	free(d->subscribe);
	free(d->topic);
	free(d);
}
