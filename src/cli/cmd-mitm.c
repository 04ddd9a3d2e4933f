/* mqttls mitm — the rogue-broker lab, as text for the class (and a JSON log for scripts). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <event2/event.h>

#include "cli.h"
#include "mqttls/gate.h"
#include "mqttls/mitm.h"
#include "mqttls/mqttdec.h"
#include "mqttls/util.h"

const char usage_mitm[] =
	"usage: mqttls mitm --listen ADDR:PORT [--upstream HOST:PORT --upstream-cafile FILE]\n"
	"                   [--forge self|ca:CERT,KEY] [--inject TOPIC=PAYLOAD] [--json-log FILE]\n"
	"                   [--duration SEC] [options]\n"
	"\n"
	"INSECURE LAB MITM: a rogue broker for a classroom. It presents a forged broker certificate;\n"
	"a device that does not verify the broker (ESP32 setInsecure()) connects, and its user name,\n"
	"password and every message appear here. A device that verifies refuses it, and the alert it\n"
	"sent is shown. Point the victim at the MITM by its address or a hosts entry: mqttls never\n"
	"spoofs ARP or DNS.\n"
	"\n"
	"  --listen ADDR:PORT      where victims connect (loopback unless inside --lab-bind)\n"
	"  --lab-bind CIDR         admit a private, link-local or unique-local lab network (repeatable)\n"
	"  --upstream HOST:PORT    relay each victim to the real broker (loopback or lab network)\n"
	"  --upstream-cafile FILE  the CA that verifies the real broker (required with --upstream)\n"
	"  --upstream-cert FILE    client certificate for a broker that requires one (with --upstream-key)\n"
	"  --upstream-key FILE\n"
	"  --forge self            clone the real certificate's subject and SANs, sign with a throw-away\n"
	"                          CA (the default)\n"
	"  --forge ca:CERT,KEY     sign the forgery with this CA (the stolen-CA lab)\n"
	"  --forge-name NAME       put NAME (host or IP) in the forgery instead of the cloned names;\n"
	"                          repeatable (with ca: the certificate-confusion lab)\n"
	"  --clone FILE|HOST:PORT  the certificate to clone (default: the upstream's, fetched at start)\n"
	"  --inject TOPIC=PAYLOAD  publish this to each victim that subscribes to a matching filter\n"
	"                          (repeatable)\n"
	"  --json-log FILE         one JSON object per event (mode 0600); --force replaces FILE\n"
	"  --duration SEC          stop after SEC seconds (default 3600)\n"
	"  --max-conns N           at most N victims at once (default 256)\n"
	"  -v, --verbose           also show every other packet (PINGREQ, PUBACK, ...)\n"
	"  -q, --quiet             only the banner and errors on the terminal\n"
	"\n"
	"Without --upstream it is a rogue broker: CONNACK 0 to every CONNECT, every message kept.\n"
	"Example (relay in front of a broker on 127.0.0.1:8883):\n"
	"  mqttls mitm --listen 127.0.0.1:18883 --upstream localhost:8883 --upstream-cafile ca.crt \\\n"
	"      --inject lab/cmd=open --json-log mitm.jsonl\n";

#define MAX_LIST 32

struct mitm_cli {
	const struct cli_cmd *cmd;
	struct mitm_opts o;
	const char *lab[MAX_LIST];
	const char *names[MAX_LIST];
	struct mitm_inject inject[MAX_LIST];
	char *inject_buf[MAX_LIST];
	size_t n_inject_buf;
	char *forge_spec;
	bool verbose, quiet, color;
	struct event_base *base;
	struct mitm *m;
	bool started, failed;
};

static void stamp(char *buf, size_t size, double ts)
{
	time_t t = (time_t)ts;
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(buf, size, "%H:%M:%S", &tm);
}

/* Untrusted bytes, quoted and escaped, cut at max. */
static void print_bytes(FILE *f, const uint8_t *p, size_t n, size_t max)
{
	char *e = mq_escape_dup(p, n > max ? max : n);
	fprintf(f, "\"%s\"%s", e ? e : "", n > max ? "..." : "");
	free(e);
}

static const char *paint(const struct mitm_cli *c, const char *code)
{
	return c->color ? code : "";
}

static void on_event(const struct mitm_event *ev, void *arg)
{
	struct mitm_cli *c = arg;
	FILE *f = stdout;
	char ts[16];
	const char *red = paint(c, "\033[1;31m"), *grn = paint(c, "\033[1;32m"), *yel = paint(c, "\033[1;33m"),
		   *off = paint(c, "\033[0m");

	if (ev->type == MITM_EV_LISTENING)
		c->started = true;
	if (ev->type == MITM_EV_STOPPED) {
		if (!c->started) {
			c->failed = true;
			fprintf(stderr, "mqttls mitm: %s\n", ev->reason ? ev->reason : "stopped");
		} else if (!c->quiet) {
			stamp(ts, sizeof ts, ev->ts);
			fprintf(f, "[%s] stopped: %s\n", ts, ev->reason ? ev->reason : "");
		}
		fflush(f);
		event_base_loopexit(c->base, NULL);
		return;
	}
	if (c->quiet || (ev->type == MITM_EV_PACKET && !c->verbose))
		return;
	stamp(ts, sizeof ts, ev->ts);
	fprintf(f, "[%s] ", ts);
	if (ev->victim)
		fprintf(f, "#%u ", ev->victim);
	switch (ev->type) {
	case MITM_EV_LISTENING:
		fprintf(f, "%s listening on %s as a %s%s%s\n", MITM_BANNER, ev->listen,
			!strcmp(ev->mode, "relay") ? "relay to " : "rogue broker", ev->upstream ? ev->upstream : "", "");
		fprintf(f, "           forged certificate: %s\n", ev->forged_subject);
		fprintf(f, "           issued by:          %s\n", ev->forged_issuer);
		if (ev->forged_sans && *ev->forged_sans)
			fprintf(f, "           names:              %s\n", ev->forged_sans);
		fprintf(f, "           SHA-256:            %s\n", ev->forged_sha256);
		break;
	case MITM_EV_HANDSHAKE:
		if (!strcmp(ev->result, "accepted")) {
			/* The SNI is what the victim sent: escaped before it reaches the class's screen. */
			char *sni = ev->sni ? mq_escape_dup(ev->sni, strlen(ev->sni)) : NULL;
			fprintf(f, "%s  %sTLS ACCEPTED%s (%s, %s%s%s): this device did not verify the broker\n",
				ev->client, red, off, ev->tls_version, ev->cipher, sni ? ", SNI " : "", sni ? sni : "");
			free(sni);
		} else
			fprintf(f, "%s  %sTLS REJECTED%s%s%s: %s\n", ev->client, grn, off,
				ev->alert ? " alert " : "", ev->alert ? ev->alert : "", ev->reason);
		break;
	case MITM_EV_CONNECT:
		fprintf(f, "%sCONNECT%s client_id ", yel, off);
		print_bytes(f, ev->client_id, ev->client_id_len, 200);
		fprintf(f, " username ");
		if (ev->has_username)
			print_bytes(f, ev->username, ev->username_len, 200);
		else
			fprintf(f, "(none)");
		fprintf(f, " password ");
		if (ev->has_password)
			print_bytes(f, ev->password, ev->password_len, 200);
		else
			fprintf(f, "(none)");
		fprintf(f, " (MQTT %s, keepalive %d)\n", mqttdec_version_name(ev->protocol), ev->keepalive);
		if (ev->has_will) {
			fprintf(f, "           will: ");
			print_bytes(f, ev->topic, ev->topic_len, 200);
			fprintf(f, " = ");
			print_bytes(f, ev->payload, ev->payload_len, 200);
			fprintf(f, " (qos %d%s)\n", ev->qos, ev->retain ? ", retained" : "");
		}
		break;
	case MITM_EV_CONNACK:
		fprintf(f, "CONNACK %d (%s)%s%s\n", ev->code, ev->meaning ? ev->meaning : "",
			ev->reason ? " " : "", ev->reason ? ev->reason : "");
		break;
	case MITM_EV_PUBLISH:
		fprintf(f, "%s  PUBLISH ", ev->dir == MITM_D2B ? "device -> broker" : "broker -> device");
		print_bytes(f, ev->topic, ev->topic_len, 200);
		fprintf(f, " ");
		print_bytes(f, ev->payload, ev->payload_len, 200);
		fprintf(f, " (qos %d%s%s, %zu bytes)\n", ev->qos, ev->retain ? ", retained" : "",
			ev->has_will ? ", the will of a device that vanished" : "", ev->payload_len);
		break;
	case MITM_EV_SUBSCRIBE:
		fprintf(f, "SUBSCRIBE ");
		print_bytes(f, ev->topic, ev->topic_len, 200);
		fprintf(f, " (qos %d)\n", ev->qos);
		break;
	case MITM_EV_INJECT:
		fprintf(f, "%sINJECTED%s -> device  ", red, off);
		print_bytes(f, ev->topic, ev->topic_len, 200);
		fprintf(f, " ");
		print_bytes(f, ev->payload, ev->payload_len, 200);
		fprintf(f, "\n");
		break;
	case MITM_EV_UPSTREAM:
		fprintf(f, "upstream %s%s%s\n", ev->result, ev->reason ? ": " : "", ev->reason ? ev->reason : "");
		break;
	case MITM_EV_PACKET:
		fprintf(f, "%s  %s", ev->dir == MITM_D2B ? "device -> broker" : "broker -> device", ev->packet);
		if (ev->packet_id >= 0)
			fprintf(f, " id %d", ev->packet_id);
		if (ev->code >= 0)
			fprintf(f, " code %d (%s)", ev->code, ev->meaning ? ev->meaning : "");
		fprintf(f, "%s%s\n", ev->reason ? " " : "", ev->reason ? ev->reason : "");
		break;
	case MITM_EV_MALFORMED:
		fprintf(f, "malformed packet %s: %s\n", ev->dir == MITM_D2B ? "from the device" : "from the broker",
			ev->reason);
		break;
	case MITM_EV_REFUSED:
		fprintf(f, "%s refused: %s\n", ev->client ? ev->client : "connection", ev->reason);
		break;
	case MITM_EV_CLOSED:
		fprintf(f, "closed: %s (%llu packets from the device, %llu to it)\n", ev->reason,
			(unsigned long long)ev->packets[MITM_D2B], (unsigned long long)ev->packets[MITM_B2D]);
		break;
	case MITM_EV_STOPPED:
		break;
	}
	fflush(f);
}

static int own_arg(struct mitm_cli *c, int argc, char **argv, int i)
{
	const char *a = argv[i];
	const char *v = i + 1 < argc ? argv[i + 1] : NULL;
	static const char *const with_value[] = {
		"--listen", "--lab-bind", "--upstream", "--upstream-cafile", "--upstream-cert", "--upstream-key",
		"--forge", "--forge-name", "--clone", "--inject", "--json-log", "--duration", "--max-conns",
	};
	bool needs = false;

	for (size_t k = 0; k < MQ_ARRAY_LEN(with_value); k++)
		needs |= !strcmp(a, with_value[k]);
	if (needs && !v)
		return cli_usage_error(c->cmd, "%s needs a value", a), -1;

	if (!strcmp(a, "--listen"))
		c->o.listen = v;
	else if (!strcmp(a, "--lab-bind")) {
		if (c->o.n_lab_bind >= MAX_LIST)
			return cli_usage_error(c->cmd, "too many --lab-bind"), -1;
		c->lab[c->o.n_lab_bind++] = v;
	} else if (!strcmp(a, "--upstream"))
		c->o.upstream = v;
	else if (!strcmp(a, "--upstream-cafile"))
		c->o.upstream_cafile = v;
	else if (!strcmp(a, "--upstream-cert"))
		c->o.upstream_cert = v;
	else if (!strcmp(a, "--upstream-key"))
		c->o.upstream_key = v;
	else if (!strcmp(a, "--forge")) {
		struct mq_err err = { 0 };
		free(c->forge_spec);
		c->forge_spec = strdup(v);
		if (!c->forge_spec || forge_parse_spec(c->forge_spec, &c->o.forge, &err) < 0)
			return cli_usage_error(c->cmd, "%s", err.msg), -1;
	} else if (!strcmp(a, "--forge-name")) {
		if (c->o.forge.n_names >= MAX_LIST)
			return cli_usage_error(c->cmd, "too many --forge-name"), -1;
		c->names[c->o.forge.n_names++] = v;
	} else if (!strcmp(a, "--clone"))
		c->o.clone = v;
	else if (!strcmp(a, "--inject")) {
		const char *eq = strchr(v, '=');
		if (!eq || eq == v)
			return cli_usage_error(c->cmd, "--inject wants TOPIC=PAYLOAD, not '%s'", v), -1;
		if (memchr(v, '+', (size_t)(eq - v)) || memchr(v, '#', (size_t)(eq - v)))
			return cli_usage_error(c->cmd, "--inject needs a topic name, not a filter with + or #"), -1;
		if (c->o.n_inject >= MAX_LIST)
			return cli_usage_error(c->cmd, "too many --inject"), -1;
		char *buf = strdup(v);
		if (!buf)
			return -1;
		buf[eq - v] = '\0';
		c->inject_buf[c->n_inject_buf++] = buf;
		c->inject[c->o.n_inject].topic = buf;
		c->inject[c->o.n_inject++].payload = buf + (eq - v) + 1;
	} else if (!strcmp(a, "--json-log"))
		c->o.json_log = v;
	else if (!strcmp(a, "--duration")) {
		c->o.duration = cli_parse_seconds(v);
		if (c->o.duration <= 0)
			return cli_usage_error(c->cmd, "--duration wants seconds (up to a week), not '%s'", v), -1;
	} else if (!strcmp(a, "--max-conns")) {
		char *end;
		long n = strtol(v, &end, 10);
		if (*end || n < 1 || n > 10000)
			return cli_usage_error(c->cmd, "--max-conns wants a number from 1 to 10000, not '%s'", v), -1;
		c->o.max_conns = (int)n;
	} else if (!strcmp(a, "--force"))
		c->o.force = true;
	else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
		c->verbose = true;
	else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
		c->quiet = true;
	else if (a[0] == '-')
		return cli_usage_error(c->cmd, "unknown option '%s'", a), -1;
	else
		return cli_usage_error(c->cmd, "unexpected argument '%s'", a), -1;
	return needs ? 2 : 1;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct mitm_cli *c = arg;
	(void)what;
	mitm_stop(c->m, sig == SIGINT ? "interrupted" : "terminated");
}

/* Two descriptors per victim: ask for the hard limit so a classroom fits. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int cmd_mitm(const struct cli_cmd *self, int argc, char **argv)
{
	struct mitm_cli c = { .cmd = self };
	struct mq_err err = { 0 };
	struct event *sigint = NULL, *sigterm = NULL;
	int rc = EXIT_FAIL;

	/* The banner comes first, before anything can fail, so no one mistakes what this is. */
	fprintf(stderr, "%s - mqttls %s: for classroom labs on loopback or lab networks only\n", MITM_BANNER,
		"mitm");
	for (int i = 1; i < argc;) {
		if (cli_is_help(argv[i]))
			return cli_help(self);
		int used = own_arg(&c, argc, argv, i);
		if (used < 0) {
			rc = EXIT_USAGE;
			goto out;
		}
		i += used;
	}
	if (!c.o.listen) {
		rc = cli_usage_error(self, "--listen ADDR:PORT is required (e.g. --listen 127.0.0.1:18883)");
		goto out;
	}
	{
		/* Syntax is a usage error (2); what the gate refuses is a failure (1), said by the engine. */
		const char *const spec[] = { c.o.listen, c.o.upstream };
		char host[256];
		int port;
		for (size_t k = 0; k < MQ_ARRAY_LEN(spec); k++) {
			if (spec[k] && gate_split_hostport(spec[k], host, sizeof host, &port, &err) < 0) {
				rc = cli_usage_error(self, "%s %s", k ? "--upstream" : "--listen", err.msg);
				goto out;
			}
		}
	}
	c.o.lab_bind = c.lab;
	c.o.forge.names = c.names;
	c.o.inject = c.inject;
	c.color = mq_use_color(stdout);
	raise_fd_limit();

	c.base = event_base_new();
	if (!c.base) {
		rc = cli_fail(self, "cannot create the event loop");
		goto out;
	}
	c.m = mitm_new(c.base, &c.o, on_event, &c, &err);
	if (!c.m) {
		/* A start that stopped has said why already (the STOPPED event): once is enough. */
		rc = c.failed ? EXIT_FAIL : cli_fail(self, "%s", err.msg);
		goto out;
	}
	sigint = evsignal_new(c.base, SIGINT, on_signal, &c);
	sigterm = evsignal_new(c.base, SIGTERM, on_signal, &c);
	if (sigint)
		evsignal_add(sigint, NULL);
	if (sigterm)
		evsignal_add(sigterm, NULL);
	event_base_dispatch(c.base);
	rc = c.failed ? EXIT_FAIL : EXIT_OK;
out:
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	mitm_free(c.m);
	if (c.base)
		event_base_free(c.base);
	for (size_t i = 0; i < c.n_inject_buf; i++)
		free(c.inject_buf[i]);
	free(c.forge_spec);
	return rc;
}
