/* mqttls device — a simulated ESP32 that prints what its serial monitor would show. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "cli.h"
#include "mqttls/device.h"
#include "mqttls/util.h"

const char usage_device[] =
	"usage: mqttls device [TARGET] (--cafile FILE | --no-verify | --pin SHA256) [-t TOPIC] [-m MSG]\n"
	"                     [--count N] [--interval SEC] [options]\n"
	"\n"
	"A simulated ESP32 (WiFiClientSecure + PubSubClient): connects, publishes --count messages\n"
	"and prints what a serial monitor would show, with PubSubClient's rc values. Exit 0 when\n"
	"every message was published, 1 when the connection or the verification failed.\n"
	"\n"
	"How it verifies the broker, as the sketch would:\n"
	"  --cafile FILE           setCACert(): the chain must lead to this CA and the host name must\n"
	"                          match (--verify says the same, explicitly)\n"
	"  --no-verify, --insecure setInsecure(): nothing is checked (any broker, even a rogue one)\n"
	"  --skip-cn-check         with --cafile: the CA is checked but not the name (esp-mqtt's\n"
	"                          skip_cert_common_name_check)\n"
	"  --pin SHA256            accept only this certificate or public key (SHA-256, hex or base64);\n"
	"                          which of the two matched is printed\n"
	"\n"
	"  -t TOPIC                where readings go (default sensors/CLIENT_ID/temp)\n"
	"  -m MSG                  the payload (default: a JSON reading that changes each time)\n"
	"  --count N               messages to publish (default 1; 0: until stopped)\n"
	"  --interval SEC          between messages (default 1)\n"
	"  -q, --qos 0|1           0 as PubSubClient (default), 1 waits for each PUBACK\n"
	"  --subscribe TOPIC       subscribe to a command topic and print what arrives\n"
	"  --watch FILTER          publish nothing: subscribe to FILTER and print what arrives (a\n"
	"                          dashboard), until stopped\n"
	"  --retry SEC             after a failure, try again in SEC seconds, as the sketch's loop does\n"
	"  --duration SEC          stop after SEC seconds\n"
	"  --timeout SEC           connect, handshake and CONNACK timeout (default 15, PubSubClient's)\n"
	"\n"
	"The device's clock, for the certificate dates (default ntp: this machine's clock, as a\n"
	"device whose sketch ran configTime() before connecting):\n"
	"  --clock unset           never set: 1970-01-01T00:00:00Z, an ESP32 without NTP. Every\n"
	"                          certificate is then \"not yet valid\" (mbedTLS -0x2700, verify flag\n"
	"                          0x200), when the firmware checks dates at all\n"
	"  --clock ignore          dates not checked: mbedTLS without MBEDTLS_HAVE_TIME_DATE, as\n"
	"                          ESP-IDF builds by default and Arduino-ESP32's libraries are (an\n"
	"                          expired certificate is then accepted)\n"
	"  --clock DATE|-400d      a wrong clock: a UTC date (2020-01-01, 2020-01-01T12:00:00Z) or an\n"
	"                          offset from now (s, m, h, d)\n"
	"\n"
	"TARGET (as mosquitto_pub): -h/--host HOST, -p/--port PORT (default localhost:8883), --cert FILE\n"
	"  --key FILE (mutual TLS), -u/--username USER, -P/--pw PASS, -i/--id CLIENT_ID, -t/--topic,\n"
	"  -m/--message, -k/--keepalive SEC (default 60), -V/--protocol-version 311|5,\n"
	"  --capath DIR or --tls-use-os-certs (CAs from a directory, as --cafile), --tls-version\n"
	"  tlsv1.2|tlsv1.3, --tls-max tlsv1.2, --ciphers LIST, --sni NAME, --clock WHEN; -L/--url or a bare\n"
	"  mqtts://HOST:PORT (mqtt:// for a device without TLS). mosquitto_pub/sub options that change\n"
	"  nothing here (-d, -r, -D/--property ..., --will-topic, --repeat, ...) are accepted and ignored;\n"
	"  TLS-PSK (--psk, --psk-identity) is refused.\n"
	"\n"
	"Note: for this command --insecure means setInsecure() (nothing verified), as on an ESP32;\n"
	"mosquitto_pub's --insecure (CA checked, name not) is --skip-cn-check here.\n";

struct device_cli {
	const struct cli_cmd *cmd;
	bool verify_flag, insecure, skip_cn, qos_given;
	const char *pin, *subscribe;
	bool watch;
	int count, qos;
	double interval, retry, duration, timeout;
	struct event_base *base;
	struct device *dev;
	bool ok, finished;
};

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int own(void *ctx, int argc, char **argv, int i)
{
	struct device_cli *c = ctx;
	const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
	static const char *const with_value[] = { "--pin", "--count", "--interval", "-q", "--qos", "--subscribe", "--retry",
						  "--duration", "--timeout", "--watch" };

	for (size_t k = 0; k < MQ_ARRAY_LEN(with_value); k++)
		if (!strcmp(a, with_value[k]) && !v)
			return cli_usage_error(c->cmd, "%s needs a value", a), -1;
	if (!strcmp(a, "--verify"))
		c->verify_flag = true;
	else if (!strcmp(a, "--insecure") || !strcmp(a, "--no-verify"))
		c->insecure = true;
	else if (!strcmp(a, "--skip-cn-check"))
		c->skip_cn = true;
	else if (!strcmp(a, "--pin"))
		c->pin = v;
	else if (!strcmp(a, "--subscribe"))
		c->subscribe = v;
	else if (!strcmp(a, "--watch")) {
		c->subscribe = v;
		c->watch = true;
	}
	else if (!strcmp(a, "--count")) {
		if (parse_int(v, 0, 10000000, &c->count) < 0)
			return cli_usage_error(c->cmd, "--count wants a number (0: until stopped), not '%s'", v), -1;
	} else if (!strcmp(a, "-q") || !strcmp(a, "--qos")) {
		if (parse_int(v, 0, 1, &c->qos) < 0)
			return cli_usage_error(c->cmd, "-q wants 0 or 1 (a device does not publish with QoS 2), not '%s'", v), -1;
	} else if (!strcmp(a, "--interval") || !strcmp(a, "--retry") || !strcmp(a, "--duration") ||
		   !strcmp(a, "--timeout")) {
		double s = cli_parse_seconds(v);
		if (s <= 0)
			return cli_usage_error(c->cmd, "%s wants seconds, not '%s'", a, v), -1;
		if (!strcmp(a, "--interval"))
			c->interval = s;
		else if (!strcmp(a, "--retry"))
			c->retry = s;
		else if (!strcmp(a, "--duration"))
			c->duration = s;
		else
			c->timeout = s;
	} else {
		return 0;
	}
	return (!strcmp(a, "--verify") || !strcmp(a, "--insecure") || !strcmp(a, "--no-verify") ||
		!strcmp(a, "--skip-cn-check")) ? 1 : 2;
}

static void print_payload(const char *p, size_t n)
{
	char *e = mq_escape_dup(p, n > 512 ? 512 : n);
	printf("%s%s", e ? e : "", n > 512 ? "..." : "");
	free(e);
}

static void on_event(const struct device_event *ev, void *arg)
{
	struct device_cli *c = arg;

	switch (ev->type) {
	case DEVICE_EV_ATTEMPT:
		printf("Attempting MQTT connection to %s...", ev->address);
		break;
	case DEVICE_EV_TLS:
		printf("\n# TLS %s %s; %s\n", ev->tls_version, ev->cipher, ev->verified);
		break;
	case DEVICE_EV_FAILED:
		if (ev->mbedtls_code)
			printf("\n[E][ssl_client] start_ssl_client: %s", ev->mbedtls_text);
		if (ev->verify_flags)
			printf("\n[E][ssl_client] verify flags 0x%02x: %s", ev->verify_flags,
			       ev->flags_text ? ev->flags_text : "");
		printf("\n# ");
		print_payload(ev->reason ? ev->reason : "failed", strlen(ev->reason ? ev->reason : "failed"));
		if (c->retry > 0)
			printf("\nfailed, rc=%d try again in %g seconds\n", ev->rc, c->retry);
		else
			printf("\nfailed, rc=%d\n", ev->rc);
		break;
	case DEVICE_EV_CONNECTED:
		printf("connected\n");
		break;
	case DEVICE_EV_SUBSCRIBED:
		printf("Subscribed to %s\n", ev->topic);
		break;
	case DEVICE_EV_PUBLISHED:
		if (ev->payload) {
			printf("Publish message: ");
			print_payload(ev->payload, ev->payload_len);
			printf("\n");
		} else {
			printf("Published message %d (PUBACK received)\n", ev->n);
		}
		break;
	case DEVICE_EV_MESSAGE:
		/* The topic comes from the broker, which may be a rogue one: escaped like the payload. */
		printf("Message arrived [");
		print_payload(ev->topic, strlen(ev->topic));
		printf("] ");
		print_payload(ev->payload, ev->payload_len);
		printf("\n");
		break;
	case DEVICE_EV_DONE:
		c->finished = true;
		c->ok = ev->ok;
		if (c->watch)
			printf("# watched until stopped\n");
		else if (ev->wanted > 0)
			printf("# published %d of %d message%s\n", ev->published, ev->wanted, ev->wanted == 1 ? "" : "s");
		else
			printf("# published %d message%s\n", ev->published, ev->published == 1 ? "" : "s");
		event_base_loopexit(c->base, NULL);
		break;
	}
	fflush(stdout);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct device_cli *c = arg;
	(void)fd;
	(void)what;
	device_stop(c->dev);
}

int cmd_device(const struct cli_cmd *self, int argc, char **argv)
{
	struct device_cli c = { .cmd = self, .count = 1 };
	struct target t;
	struct device_opts o = { 0 };
	struct mq_err err = { 0 };
	struct event *sigint = NULL, *sigterm = NULL, *deadline = NULL;
	const char *mode;
	int rc;

	target_init(&t);
	rc = cli_parse_target(self, argc, argv, &t, own, &c);
	if (rc != EXIT_OK)
		goto out;
	if (t.verify == TARGET_VERIFY_NONE)
		c.insecure = true;
	if (t.tls) {
		bool ca = t.cafile || t.capath;
		if (!ca && !c.insecure && !c.pin) {
			rc = cli_usage_error(self, "say how the device checks the broker: --cafile FILE (setCACert), "
					     "--no-verify (setInsecure) or --pin SHA256");
			goto out;
		}
		if (c.verify_flag && !ca) {
			rc = cli_usage_error(self, "--verify (setCACert) needs the CA: --cafile FILE");
			goto out;
		}
		if (c.insecure && (c.verify_flag || c.skip_cn)) {
			rc = cli_usage_error(self, "--no-verify/--insecure (setInsecure) contradicts --verify and --skip-cn-check");
			goto out;
		}
		if (c.skip_cn && !ca) {
			rc = cli_usage_error(self, "--skip-cn-check needs --cafile FILE (the CA is still checked)");
			goto out;
		}
	}
	if (c.pin) {
		unsigned char pin[32];
		if (device_parse_pin(c.pin, pin) < 0) {
			rc = cli_usage_error(self, "--pin wants a SHA-256 fingerprint: 64 hex digits (colons allowed) "
					     "or 44 characters of base64, not '%s'", c.pin);
			goto out;
		}
	}
	o.host = t.host;
	o.port = t.port;
	o.tls = t.tls;
	o.cafile = c.insecure ? NULL : t.cafile;
	o.capath = c.insecure ? NULL : t.capath;
	o.ciphers = t.ciphers;
	o.verify = c.insecure ? DEVICE_VERIFY_NONE : c.skip_cn ? DEVICE_VERIFY_CA_ONLY : DEVICE_VERIFY_FULL;
	o.pin = c.pin;
	o.cert = t.cert;
	o.key = t.key;
	o.sni = t.sni;
	o.tls_min = t.tls_min;
	o.tls_max = t.tls_max;
	o.client_id = t.client_id;
	o.username = t.user;
	o.password = t.pass;
	o.mqtt_version = t.mqtt_version == 5 ? 5 : 4;
	o.keepalive = t.keepalive;
	o.topic = t.topic;
	o.message = t.message;
	o.count = c.count;
	o.interval = c.interval;
	o.qos = c.qos;
	o.subscribe = c.subscribe;
	o.watch = c.watch;
	o.retry = c.retry;
	o.timeout = c.timeout;
	o.clock = t.clock;
	o.clock_at = t.clock_at;

	if (!t.tls)
		mode = "plain MQTT (no TLS): anyone on the path reads everything";
	else if (c.pin)
		mode = o.cafile || o.capath ? "pinned, and setCACert(): CA, name and pin checked" : "pinned: only the pin is checked";
	else if (c.insecure)
		mode = "setInsecure(): NOTHING is checked, a rogue broker is accepted";
	else if (c.skip_cn)
		mode = "setCACert() with the name check skipped: the CA is checked, the host name is not";
	else
		mode = "setCACert(): the CA and the host name are checked";
	printf("# mqttls device: a simulated ESP32 (WiFiClientSecure + PubSubClient)\n# %s:%d, %s\n", t.host, t.port,
	       mode);
	if (t.tls && t.clock == TARGET_CLOCK_AT) {
		char when[32];
		printf("# the device's clock says %s%s\n", mq_iso8601(t.clock_at, when, sizeof when),
		       t.clock_at < TARGET_CLOCK_NEVER_SET ? " (never set: no NTP before the first handshake)" : "");
	} else if (t.tls && t.clock == TARGET_CLOCK_IGNORE) {
		printf("# certificate dates are not checked (mbedTLS built without MBEDTLS_HAVE_TIME_DATE)\n");
	}

	c.base = event_base_new();
	if (!c.base) {
		rc = cli_fail(self, "cannot create the event loop");
		goto out;
	}
	c.dev = device_new(c.base, &o, on_event, &c, &err);
	if (!c.dev) {
		rc = cli_fail(self, "%s", err.msg);
		goto out;
	}
	sigint = evsignal_new(c.base, SIGINT, on_stop, &c);
	sigterm = evsignal_new(c.base, SIGTERM, on_stop, &c);
	if (sigint)
		evsignal_add(sigint, NULL);
	if (sigterm)
		evsignal_add(sigterm, NULL);
	if (c.duration > 0 && (deadline = evtimer_new(c.base, on_stop, &c))) {
		struct timeval tv = { (time_t)c.duration, (suseconds_t)((c.duration - (time_t)c.duration) * 1e6) };
		evtimer_add(deadline, &tv);
	}
	event_base_dispatch(c.base);
	rc = c.finished && c.ok ? EXIT_OK : EXIT_FAIL;
out:
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (deadline)
		event_free(deadline);
	device_free(c.dev);
	if (c.base)
		event_base_free(c.base);
	target_free(&t);
	return rc;
}
