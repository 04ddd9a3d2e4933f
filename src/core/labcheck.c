/*
 * labcheck — "mqttls lab check": the real connections a lab's definition lists, and whether
 * what they observed is what the fixed lab must show.
 *
 * A check never reads the student's files to decide: it (re)starts the broker on them and
 * connects, as a diagnosis, as a simulated ESP32 (against the broker or against a rogue broker
 * made for the check), or under a capture. Each kind of connection is one row of a table.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lab-int.h"
#include "mqttls/capture.h"
#include "mqttls/device.h"
#include "mqttls/diag.h"
#include "mqttls/finding.h"
#include "mqttls/mitm.h"
#include "mqttls/mitmnet.h"
#include "mqttls/pki.h"
#include "mqttls/target.h"
#include "mqttls/util.h"

/* Bounds of one connection: a device's own timeout, and the whole probe's. */
#define DEVICE_TIMEOUT 5.0
#define PROBE_DEADLINE 20
/* The name a rogue's forgery carries in the certificate-confusion lab. */
#define OTHER_NAME "other-device.lab"

struct probe_env {
	struct lab_ctx *c;
	const struct labprobe *p;
	struct lab_check_item *it;
};

static char *fmt(const char *f, ...) MQ_PRINTF(1, 2);

static char *fmt(const char *f, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Untrusted bytes (a rogue's capture) as printable text. */
static char *esc(const void *p, size_t n)
{
	return mq_escape_dup(p, n);
}

/* ---- a simulated device, against the broker or a rogue, maybe under a capture -------------- */

struct devrun {
	struct event_base *base;
	struct device *dev;
	struct mitm *rogue;
	struct capture *cap;
	struct event *settle;
	struct device_opts o;
	bool listening, stopped, done, cap_done;
	/* the device's side */
	bool connected, tls_failed;
	int published, rc;
	const char *finding;            /* the finding the device's verify result means, or NULL */
	char reason[300], verified[160], mbed[300], alert[64];
	/* the rogue's side */
	bool accepted, rejected, captured;
	char rogue_alert[64], user[128], pass[128];
	/* the capture's side: credentials seen in clear, TLS flows seen */
	bool plain_creds, plain_mqtt;
	unsigned tls_flows;
	char sniffed[300];
	struct mq_err err;
};

static bool devrun_over(const struct devrun *r)
{
	return r->done && (!r->rogue || r->stopped) && (!r->cap || r->cap_done);
}

static void on_settled(evutil_socket_t fd, short what, void *arg)
{
	struct devrun *r = arg;

	(void)fd;
	(void)what;
	capture_stop(r->cap);
}

/* The device is done: let the capture see the last packets, stop the rogue, then leave. */
static void devrun_finish(struct devrun *r)
{
	struct timeval settle = { 0, 300 * 1000 };

	if (r->rogue && !r->stopped)
		mitm_stop(r->rogue, "the check is done");
	if (r->cap && !r->cap_done && !r->settle && (r->settle = evtimer_new(r->base, on_settled, r)) != NULL)
		evtimer_add(r->settle, &settle);
	if (devrun_over(r))
		event_base_loopbreak(r->base);
}

static void on_device(const struct device_event *ev, void *arg)
{
	struct devrun *r = arg;

	switch (ev->type) {
	case DEVICE_EV_TLS:
		snprintf(r->verified, sizeof r->verified, "%s", ev->verified ? ev->verified : "");
		break;
	case DEVICE_EV_CONNECTED:
		r->connected = true;
		break;
	case DEVICE_EV_FAILED:
		r->rc = ev->rc;
		snprintf(r->reason, sizeof r->reason, "%s", ev->reason ? ev->reason : "");
		if (ev->mbedtls_text)
			snprintf(r->mbed, sizeof r->mbed, "an ESP32 would log %s", ev->mbedtls_text);
		else if (ev->mbedtls_code)
			snprintf(r->mbed, sizeof r->mbed, "an ESP32 would log -0x%04X", (unsigned)-ev->mbedtls_code);
		if (ev->verify_flags) {
			size_t n = strlen(r->mbed);
			snprintf(r->mbed + n, sizeof r->mbed - n, ", verify flags 0x%02x (%s)", ev->verify_flags,
				 ev->flags_text ? ev->flags_text : "");
		}
		snprintf(r->alert, sizeof r->alert, "%s", ev->alert ? ev->alert : "");
		r->finding = ev->finding;
		/* A failure with an mbedTLS code or verify flags happened in the handshake, not before. */
		r->tls_failed = ev->mbedtls_code || ev->verify_flags || ev->alert;
		break;
	case DEVICE_EV_DONE:
		r->published = ev->published;
		r->done = true;
		devrun_finish(r);
		break;
	default:
		break;
	}
}

static void start_device(struct devrun *r)
{
	if (!(r->dev = device_new(r->base, &r->o, on_device, r, &r->err))) {
		r->done = true;
		devrun_finish(r);
	}
}

static void on_rogue(const struct mitm_event *ev, void *arg)
{
	struct devrun *r = arg;
	char *s;

	switch (ev->type) {
	case MITM_EV_LISTENING:
		r->listening = true;
		start_device(r);
		break;
	case MITM_EV_HANDSHAKE:
		if (ev->result && !strcmp(ev->result, "accepted")) {
			r->accepted = true;
		} else {
			r->rejected = true;
			snprintf(r->rogue_alert, sizeof r->rogue_alert, "%s", ev->alert ? ev->alert : "");
		}
		break;
	case MITM_EV_CONNECT:
		r->captured = true;
		if (ev->has_username && (s = esc(ev->username, ev->username_len))) {
			snprintf(r->user, sizeof r->user, "%s", s);
			free(s);
		}
		if (ev->has_password && (s = esc(ev->password, ev->password_len))) {
			snprintf(r->pass, sizeof r->pass, "%s", s);
			free(s);
		}
		break;
	case MITM_EV_STOPPED:
		r->stopped = true;
		if (!r->listening && !r->err.msg[0])
			mq_errf(&r->err, "the rogue broker stopped before it listened: %s", ev->reason ? ev->reason : "");
		if (!r->listening)
			r->done = true;
		if (devrun_over(r))
			event_base_loopbreak(r->base);
		break;
	default:
		break;
	}
}

static void on_capture(void *ctx, const struct capture_event *ev)
{
	struct devrun *r = ctx;
	const struct mqtt_pkt *m;
	char *u, *p;

	switch (ev->type) {
	case CAPTURE_EV_CLIENT_HELLO:
		r->tls_flows++;
		break;
	case CAPTURE_EV_MQTT:
		r->plain_mqtt = true;
		m = ev->u.mqtt;
		if (ev->dir != CAPTURE_C2S || m->type != MQTT_CONNECT || (!m->username.p && !m->password.p))
			break;
		r->plain_creds = true;
		u = m->username.p ? esc(m->username.p, m->username.len) : NULL;
		p = m->password.p ? esc(m->password.p, m->password.len) : NULL;
		snprintf(r->sniffed, sizeof r->sniffed, "user name '%s', password '%s'", u ? u : "", p ? p : "");
		free(u);
		free(p);
		break;
	case CAPTURE_EV_DONE:
		r->cap_done = true;
		if (devrun_over(r))
			event_base_loopbreak(r->base);
		break;
	default:
		break;
	}
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct devrun *r = arg;

	(void)fd;
	(void)what;
	mq_errf(&r->err, "the connection did not finish within %d s", PROBE_DEADLINE);
	event_base_loopbreak(r->base);
}

/* The same device as a command line, for the student to run. */
static char *device_command(const struct devrun *r, enum labverify verify, const char *before)
{
	struct mq_str s = { 0 };

	if (before)
		mq_str_printf(&s, "%s & ", before);
	if (!r->o.tls)
		mq_str_printf(&s, "mqttls device mqtt://%s:%d", r->o.host, r->o.port);
	else
		mq_str_printf(&s, "mqttls device -h %s -p %d", r->o.host, r->o.port);
	if (r->o.tls && verify == LABVERIFY_NONE)
		mq_str_printf(&s, " --no-verify");
	else if (r->o.tls && r->o.cafile)
		mq_str_printf(&s, " --cafile %s%s", r->o.cafile, verify == LABVERIFY_CA_ONLY ? " --skip-cn-check" : "");
	if (r->o.pin)
		mq_str_printf(&s, " --pin %s", r->o.pin);
	if (r->o.cert)
		mq_str_printf(&s, " --cert %s --key %s", r->o.cert, r->o.key);
	if (r->o.tls && r->o.clock != TARGET_CLOCK_SYSTEM) {
		char when[32];
		mq_str_printf(&s, " --clock %s", target_clock_arg(r->o.clock, r->o.clock_at, when, sizeof when));
	}
	if (r->o.username)
		mq_str_printf(&s, " -u %s -P %s", r->o.username, r->o.password ? r->o.password : "''");
	return mq_str_take(&s);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/*
 * The device the check runs: the student's settings file (their sketch's setup(), as data), or
 * TARGET options the definition gives. A settings file the student broke is an observation
 * (it->observed "unreadable settings"), not an error: returns 1 then.
 */
static int load_device(struct probe_env *e, struct labdevice *dv, struct mq_err *err)
{
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int rc;

	memset(dv, 0, sizeof *dv);
	if (e->p->target) {
		struct target t;
		char *line = labctx_expand(e->c, e->p->target, err);

		target_init(&t);
		rc = line ? target_parse_line(&t, line, err) : -1;
		free(line);
		if (rc == 0) {
			dv->host = dup_or_null(t.host);
			dv->port = t.port;
			dv->tls = t.tls;
			dv->verify = t.verify == TARGET_VERIFY_NONE ? LABVERIFY_NONE
				     : t.verify == TARGET_VERIFY_NO_HOST ? LABVERIFY_CA_ONLY : LABVERIFY_CA;
			dv->cafile = dup_or_null(t.cafile);
			dv->cert = dup_or_null(t.cert);
			dv->key = dup_or_null(t.key);
			dv->user = dup_or_null(t.user);
			dv->password = dup_or_null(t.pass);
			dv->client_id = dup_or_null(t.client_id);
			dv->topic = dup_or_null(t.topic);
			dv->clock = t.clock;
			dv->clock_at = t.clock_at;
		}
		target_free(&t);
		return rc;
	}
	if (!labctx_path(e->c, e->p->device, path, sizeof path)) {
		mq_errf(err, "path too long: %s", e->c->workdir);
		return -1;
	}
	if (mq_read_file(path, LABDEF_MAX_BYTES, &text, &len, err) == 0) {
		rc = labdef_device_parse(dv, path, text, len, err);
		free(text);
		if (rc == 0)
			return 0;
	}
	e->it->observed = strdup("unreadable settings");
	e->it->title = strdup("the device settings cannot be used");
	e->it->detail = strdup(err->msg);
	mq_err_clear(err);
	return 1;
}

/* Set up a rogue broker for the device (listening on the lab's address, another port). */
static struct mitm *rogue_new(struct probe_env *e, struct devrun *r, char **command, struct mq_err *err)
{
	static const char *const names[] = { OTHER_NAME };
	struct lab_ctx *c = e->c;
	const char *lab_bind[] = { c->lab_bind };
	const char *ip = c->lab_bind[0] ? c->ip : "127.0.0.1";
	struct mitm_opts mo = { 0 };
	char listen[96], inter[PATH_MAX], interkey[PATH_MAX], *certfile = NULL;
	struct mitm *m;
	int port = mq_free_port();

	if (port < 0) {
		mq_errf(err, "no free port for the rogue broker");
		return NULL;
	}
	snprintf(listen, sizeof listen, strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, port);
	mo.listen = listen;
	if (c->lab_bind[0]) {
		mo.lab_bind = lab_bind;
		mo.n_lab_bind = 1;
	}
	mo.duration = 2 * PROBE_DEADLINE;
	mo.max_conns = 4;
	if (e->p->against == LABAGAINST_ROGUE_OTHER_NAME) {
		mo.forge.names = names;
		mo.forge.n_names = 1;
	} else if (c->d->certfile && (certfile = labctx_expand(c, c->d->certfile, NULL)) && mq_file_exists(certfile)) {
		/* The forgery copies the names of the certificate the real broker serves. */
		mo.clone = certfile;
	}
	if (e->p->against != LABAGAINST_ROGUE_SELF) {
		/* The attacker holds the lab's intermediate: stolen from a provisioning laptop, say. */
		if (!mq_path_join(inter, sizeof inter, c->pkidir, PKI_INTER_CERT) ||
		    !mq_path_join(interkey, sizeof interkey, c->pkidir, PKI_INTER_KEY)) {
			free(certfile);
			mq_errf(err, "path too long: %s", c->pkidir);
			return NULL;
		}
		mo.forge.mode = FORGE_CA;
		mo.forge.ca_cert = inter;
		mo.forge.ca_key = interkey;
	}
	*command = fmt("mqttls mitm --listen %s%s%s%s%s%s%s%s", listen, c->lab_bind[0] ? " --lab-bind " : "", c->lab_bind,
		       mo.forge.mode == FORGE_CA ? " --forge ca:" : "", mo.forge.mode == FORGE_CA ? inter : "",
		       mo.forge.mode == FORGE_CA ? "," : "", mo.forge.mode == FORGE_CA ? interkey : "",
		       e->p->against == LABAGAINST_ROGUE_OTHER_NAME ? " --forge-name " OTHER_NAME : "");
	/* The device keeps its host name: the attacker took over its address (a hosts entry, DHCP,
	 * a rogue access point); only the port is the rogue's. */
	r->o.port = port;
	m = mitm_new(r->base, &mo, on_rogue, r, err);
	free(certfile);
	return m;
}

static struct capture *capture_for(struct probe_env *e, struct devrun *r, char **command, struct mq_err *err)
{
	struct capture_opts co;
	struct capture_observer obs = { .event = on_capture, .ctx = r };
	struct mq_str cmd = { 0 };
	struct capture *cap;
	char *ports = labctx_expand(e->c, e->p->ports, err), *save = NULL;

	if (!ports)
		return NULL;
	capture_opts_init(&co);
	/* Traffic to this machine's own addresses, loopback or LAN, goes through lo. */
	co.iface = "lo";
	co.duration = 2 * PROBE_DEADLINE;
	mq_str_printf(&cmd, "mqttls capture -i lo");
	for (char *t = strtok_r(ports, " ", &save); t && co.n_ports < CAPTURE_MAX_PORTS; t = strtok_r(NULL, " ", &save)) {
		int p = atoi(t);
		if (p > 0 && p < 65536) {
			co.ports[co.n_ports++] = (uint16_t)p;
			mq_str_printf(&cmd, " --port %d", p);
		}
	}
	free(ports);
	*command = mq_str_take(&cmd);
	if (!(cap = capture_new(&co, &obs, err)))
		return NULL;
	if (capture_start(cap, r->base, err) < 0) {
		capture_free(cap);
		return NULL;
	}
	return cap;
}

static void observe_device(struct probe_env *e, struct devrun *r, enum labverify verify)
{
	const struct labprobe *p = e->p;
	struct lab_check_item *it = e->it;
	/* A rogue the device never shook hands with was never reached: that proves nothing either way. */
	bool reached = r->accepted || r->rejected || r->tls_failed;

	it->observed = strdup(r->connected ? "connected"
			      : p->against != LABAGAINST_BROKER && !reached ? "not reached" : "refused");
	it->pass = !strcmp(p->expect, it->observed);
	if (p->against != LABAGAINST_BROKER && r->connected) {
		it->title = strdup("the device accepted the rogue broker");
		it->detail = r->captured && r->pass[0]
				     ? fmt("%s; it sent the rogue its user name '%s' and password '%s'", r->verified, r->user,
					   r->pass)
				     : fmt("%s; it published to the rogue", r->verified);
		if (verify != LABVERIFY_CA)
			it->finding = "INSECURE_VERIFY_OFF";
	} else if (p->against != LABAGAINST_BROKER && !reached) {
		it->title = strdup("the device never reached the rogue broker");
		it->detail = fmt("rc=%d %s", r->rc, r->reason);
	} else if (p->against != LABAGAINST_BROKER) {
		it->title = strdup("the device refused the rogue broker");
		it->detail = fmt("rc=%d %s%s%s%s%s", r->rc, r->reason, r->mbed[0] ? "; " : "", r->mbed,
				 r->rogue_alert[0] ? "; the rogue saw the alert " : "", r->rogue_alert);
	} else if (r->connected) {
		it->title = strdup("the device connected to the lab's broker");
		it->detail = fmt("%s; %d message%s published", r->o.tls ? r->verified : "plain MQTT, no TLS at all",
				 r->published, r->published == 1 ? "" : "s");
	} else {
		it->finding = r->finding;
		it->title = strdup("the device could not connect to the lab's broker");
		it->detail = fmt("rc=%d %s%s%s%s%s", r->rc, r->reason, r->mbed[0] ? "; " : "", r->mbed,
				 r->alert[0] ? "; alert " : "", r->alert);
	}
}

static void observe_capture(struct probe_env *e, struct devrun *r)
{
	struct lab_check_item *it = e->it;

	if (r->plain_creds) {
		it->observed = strdup("plaintext credentials");
		it->finding = "PLAINTEXT_PORT";
		it->title = strdup("the capture read the sensor's login in clear");
		it->detail = fmt("%s%s", r->sniffed, r->connected ? "; the readings that followed are just as readable" : "");
	} else if (r->plain_mqtt) {
		it->observed = strdup("plaintext MQTT");
		it->finding = "PLAINTEXT_PORT";
		it->title = strdup("the capture read the sensor's MQTT in clear");
		it->detail = strdup("no password in it, but every topic and reading is readable");
	} else if (!r->connected) {
		it->observed = strdup("refused");
		it->title = strdup("the sensor could not connect at all");
		it->detail = fmt("rc=%d %s%s%s", r->rc, r->reason, r->mbed[0] ? "; " : "", r->mbed);
	} else {
		it->observed = strdup("no-plaintext");
		it->pass = !strcmp(e->p->expect, "no-plaintext");
		it->title = strdup("the sensor connected and nothing on the wire was readable");
		it->detail = fmt("%s; %u TLS handshake%s captured", r->verified, r->tls_flows, r->tls_flows == 1 ? "" : "s");
	}
}

static int run_device(struct probe_env *e, struct mq_err *err)
{
	const struct labprobe *p = e->p;
	struct lab_check_item *it = e->it;
	struct devrun r = { 0 };
	struct labdevice dv;
	char cafile[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], client_id[64], topic[96];
	char *before = NULL;
	struct event *deadline = NULL;
	struct timeval tv = { PROBE_DEADLINE, 0 };
	int rc = load_device(e, &dv, err);

	if (rc != 0)
		return rc > 0 ? 0 : -1;
	rc = -1;
	snprintf(client_id, sizeof client_id, "lab-check-%s", e->c->d->name);
	snprintf(topic, sizeof topic, "lab/%s/check", e->c->d->name);
	r.o = (struct device_opts){
		.host = dv.host, .port = dv.port, .tls = dv.tls,
		.verify = dv.verify == LABVERIFY_NONE ? DEVICE_VERIFY_NONE
			  : dv.verify == LABVERIFY_CA_ONLY ? DEVICE_VERIFY_CA_ONLY : DEVICE_VERIFY_FULL,
		.pin = dv.pin, .client_id = dv.client_id ? dv.client_id : client_id,
		.username = dv.user, .password = dv.password, .mqtt_version = 4, .keepalive = 15,
		.topic = dv.topic ? dv.topic : topic, .message = "lab check", .count = 1, .interval = 0.2,
		.qos = 1, .timeout = DEVICE_TIMEOUT, .clock = dv.clock, .clock_at = dv.clock_at,
	};
	if (dv.cafile && labctx_path(e->c, dv.cafile, cafile, sizeof cafile))
		r.o.cafile = cafile;
	if (dv.cert && labctx_path(e->c, dv.cert, cert, sizeof cert) && labctx_path(e->c, dv.key, key, sizeof key)) {
		r.o.cert = cert;
		r.o.key = key;
	}
	if (!(r.base = event_base_new())) {
		mq_errf(err, "cannot make an event loop");
		goto out;
	}
	if (p->kind == LABPROBE_CAPTURE && !(r.cap = capture_for(e, &r, &before, &r.err))) {
		/* Capturing needs root (or CAP_NET_RAW): without it there is nothing to judge. */
		it->command = before;
		before = NULL;
		it->observed = strdup("not run");
		it->title = strdup("the capture could not start");
		it->detail = strdup(r.err.msg);
		rc = 0;
		goto out;
	}
	if (p->kind == LABPROBE_DEVICE && p->against != LABAGAINST_BROKER) {
		if (!(r.rogue = rogue_new(e, &r, &before, err)))
			goto out;
		if (r.done && !r.stopped)
			mitm_stop(r.rogue, "the device could not start");
	} else {
		start_device(&r);
	}
	if (!devrun_over(&r)) {
		if (!(deadline = evtimer_new(r.base, on_deadline, &r)) || evtimer_add(deadline, &tv) < 0) {
			mq_errf(err, "cannot arm a timer");
			goto out;
		}
		event_base_dispatch(r.base);
	}
	it->command = device_command(&r, dv.verify, before);
	if (!r.dev && r.err.msg[0]) {
		it->observed = strdup("not run");
		it->title = strdup("the device could not be started");
		it->detail = strdup(r.err.msg);
	} else if (p->kind == LABPROBE_CAPTURE) {
		observe_capture(e, &r);
	} else {
		observe_device(e, &r, dv.verify);
	}
	rc = 0;
out:
	if (deadline)
		event_free(deadline);
	if (r.settle)
		event_free(r.settle);
	if (r.dev)
		device_free(r.dev);
	if (r.rogue)
		mitm_free(r.rogue);
	if (r.cap)
		capture_free(r.cap);
	if (r.base)
		event_base_free(r.base);
	free(before);
	labdevice_free(&dv);
	return rc;
}

/* ---- a diagnosis ------------------------------------------------------------------------- */

/* Is id one of the '|'-separated ids of list (n bytes)? */
static bool id_in(const char *list, size_t n, const char *id)
{
	size_t l = strlen(id);

	for (const char *p = list, *end = list + n; p < end;) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		size_t k = bar ? (size_t)(bar - p) : (size_t)(end - p);
		if (k == l && !memcmp(p, id, l))
			return true;
		p += k + 1;
	}
	return false;
}

static const struct finding *first_error(const struct findings *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		if (fs->v[i].severity == MQ_SEV_ERROR)
			return &fs->v[i];
	return NULL;
}

static void describe_finding(struct lab_check_item *it, const struct finding *f)
{
	it->finding = f->id;
	it->title = dup_or_null(f->title);
	it->detail = dup_or_null(f->detail);
	it->fix = dup_or_null(f->fix);
}

/*
 * Judge a diagnosis against "ok" or "A|B", then any "!ID". ok means every stage passed and no
 * error finding stands (warnings are allowed unless excluded by name).
 */
static void judge(struct lab_check_item *it, const char *expect, const struct diag_result *r)
{
	const struct finding *err1 = first_error(&r->findings), *excluded = NULL;
	size_t n = strcspn(expect, " ");
	bool want_ok = n == 2 && !memcmp(expect, "ok", 2), ok = r->ok && !err1, first_pass = false;

	if (want_ok) {
		first_pass = ok;
	} else {
		for (size_t i = 0; i < r->findings.n && !first_pass; i++)
			first_pass = id_in(expect, n, r->findings.v[i].id);
	}
	for (const char *p = expect + n; *p && !excluded;) {
		size_t k;
		while (*p == ' ')
			p++;
		k = strcspn(p, " ");
		for (size_t i = 0; k > 1 && p[0] == '!' && i < r->findings.n && !excluded; i++)
			if (strlen(r->findings.v[i].id) == k - 1 && !memcmp(p + 1, r->findings.v[i].id, k - 1))
				excluded = &r->findings.v[i];
		p += k;
	}
	it->pass = first_pass && !excluded;
	it->observed = strdup(ok ? "ok" : err1 ? err1->id : "failed");
	if (it->pass)
		return;
	if (excluded && first_pass) {
		describe_finding(it, excluded);
	} else if (!want_ok && ok) {
		/* The connection went through where the fixed lab must refuse it. */
		it->title = strdup("every stage passed");
		it->detail = fmt("the diagnosis expected %.*s here, and the connection, the verification and the "
				 "publish/subscribe round trip all succeeded",
				 (int)n, expect);
	} else if (err1) {
		struct mq_str also = { 0 };
		describe_finding(it, err1);
		for (size_t i = 0; i < r->findings.n; i++)
			if (&r->findings.v[i] != err1 && r->findings.v[i].severity == MQ_SEV_ERROR)
				mq_str_printf(&also, "%s%s — %s", also.len ? "\n" : "", r->findings.v[i].id,
					      r->findings.v[i].title);
		it->also = also.len ? mq_str_take(&also) : NULL;
		mq_str_free(&also);
	} else {
		it->title = strdup("the connection failed without a finding");
		for (int i = 0; i < DIAG_STAGES; i++)
			if (r->stages[i].status == DIAG_FAILED) {
				it->detail = fmt("stage %s: %s", diag_stage_name((enum diag_stage_id)i), r->stages[i].detail);
				break;
			}
	}
}

static int run_diagnose(struct probe_env *e, struct mq_err *err)
{
	const struct labprobe *p = e->p;
	struct lab_check_item *it = e->it;
	struct diag_result *r = NULL;
	struct diag_opts o;
	struct target t;
	char *line = labctx_expand(e->c, p->target, err), *conf = NULL;
	int rc = -1;

	target_init(&t);
	if (!line || target_parse_line(&t, line, err) < 0)
		goto out;
	if (p->broker_conf && !(conf = labctx_expand(e->c, p->broker_conf, err)))
		goto out;
	/* A broker that does not run is explained by its own side: why it stopped comes first. */
	if (!conf && !labctx_broker_running(e->c))
		conf = strdup(e->c->conf);
	diag_opts_init(&o);
	o.timeout = DEVICE_TIMEOUT;
	/* What the broker's side says, folded in exactly as diagnose --broker-conf does. */
	o.broker_conf = conf;
	if (diag_run(&t, &o, NULL, NULL, &r, err) < 0)
		goto out;
	judge(it, p->expect, r);
	if (r->broker_error && !it->pass && !it->detail)
		it->detail = fmt("the broker's configuration could not be read: %s", r->broker_error);
	it->command = fmt("mqttls diagnose %s%s%s", line, conf ? " --broker-conf " : "", conf ? conf : "");
	rc = 0;
out:
	diag_result_free(r);
	target_free(&t);
	free(line);
	free(conf);
	return rc;
}

/* ---- the table ------------------------------------------------------------------------------ */

static const struct {
	enum labprobe_kind kind;
	const char *name;
	int (*run)(struct probe_env *e, struct mq_err *err);
} probe_kinds[] = {
	{ LABPROBE_DIAGNOSE, "diagnose", run_diagnose },
	{ LABPROBE_DEVICE, "device", run_device },
	{ LABPROBE_CAPTURE, "capture", run_device },
};

static void item_free(struct lab_check_item *it)
{
	free(it->why);
	free(it->kind);
	free(it->command);
	free(it->expect);
	free(it->observed);
	free(it->title);
	free(it->detail);
	free(it->fix);
	free(it->also);
}

void lab_check_free(struct lab_check *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_items; i++)
		item_free(&c->items[i]);
	free(c->items);
	memset(c, 0, sizeof *c);
}

int lab_check(const char *name, struct lab_check *out, struct mq_err *err)
{
	struct lab_ctx c;
	char fp[LABCTX_FP_HEX];
	bool taken;
	int rc = -1, home = -2;

	memset(out, 0, sizeof *out);
	if (labctx_open(name, &c, err) < 0)
		return -1;
	snprintf(out->name, sizeof out->name, "%s", c.d->name);
	out->number = c.d->number;
	if (c.d->n_probes == 0) {
		mq_errf(err, "lab '%s' has nothing to check: it is the working reference the other labs break", c.d->name);
		return -1;
	}
	if (labctx_lock(&c, err) < 0)
		return -1;
	if (!c.active) {
		mq_errf(err, "lab '%s' is not started (mqttls lab start %s)", c.d->name, c.d->name);
		goto out;
	}
	/* On the MITM lab network the check's connections are made where the broker is. */
	if ((home = labctx_netns_enter(&c, err)) == -1)
		goto out;
	/* The student changed files (or modes, or owners), or the broker is down: as they would,
	 * restart it on what is there now, so the check sees what a device would. */
	if (labctx_fingerprint(&c, fp, err) < 0)
		goto out;
	if (!labctx_broker_running(&c) || strcmp(fp, c.broker_fp)) {
		struct mq_err ignore = { 0 };
		if (labctx_broker_down(&c, err) < 0)
			goto out;
		out->restarted = true;
		if (labctx_broker_up(&c, &ignore) < 0 && !c.broker_error[0])
			goto out;
	}
	out->broker_running = labctx_broker_running(&c);
	snprintf(out->broker_error, sizeof out->broker_error, "%s", out->broker_running ? "" : c.broker_error);
	/* Another program on the lab's port would be diagnosed in its place: say so instead. */
	taken = !out->broker_running &&
		mq_wait_listening(c.lab_bind[0] ? c.ip : "127.0.0.1", c.ports[0], 500) == 0;
	out->items = calloc(c.d->n_probes, sizeof *out->items);
	if (!out->items) {
		mq_errf(err, "out of memory");
		goto out;
	}
	out->pass = true;
	for (size_t i = 0; i < c.d->n_probes; i++) {
		const struct labprobe *p = &c.d->probes[i];
		struct lab_check_item *it = &out->items[out->n_items++];
		struct probe_env e = { .c = &c, .p = p, .it = it };

		it->why = strdup(p->why);
		it->kind = strdup(probe_kinds[p->kind].name);
		it->expect = strdup(p->expect);
		if (taken) {
			it->observed = strdup("port taken");
			it->title = fmt("another program answers on port %d, not this lab's broker", c.ports[0]);
			it->detail = fmt("the lab's broker cannot listen there, so nothing can be checked; stop that "
					 "program, or 'mqttls lab reset %s' to set the lab up on a free port (your files "
					 "are kept aside)", c.d->name);
			out->pass = false;
			continue;
		}
		if (!probe_kinds[p->kind].run) {
			mq_errf(err, "lab '%s' needs the %s engine, which is not in this build yet", c.d->name,
				probe_kinds[p->kind].name);
			goto out;
		}
		if (probe_kinds[p->kind].run(&e, err) < 0)
			goto out;
		out->pass &= it->pass;
	}
	out->at = (long long)time(NULL);
	c.last_check = out->pass;
	c.last_check_at = out->at;
	if (labctx_save(&c, err) < 0)
		goto out;
	rc = 0;
out:
	mitmnet_leave(home);
	labctx_close(&c);
	return rc;
}

cJSON *lab_check_to_json(const struct lab_check *c)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char t[32];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "lab", c->name);
	cJSON_AddNumberToObject(o, "number", c->number);
	cJSON_AddBoolToObject(o, "pass", c->pass);
	cJSON_AddBoolToObject(o, "restarted", c->restarted);
	cJSON_AddBoolToObject(o, "broker_running", c->broker_running);
	cJSON_AddStringToObject(o, "broker_error", c->broker_error);
	cJSON_AddStringToObject(o, "at", c->at ? mq_iso8601(c->at, t, sizeof t) : "");
	arr = cJSON_AddArrayToObject(o, "checks");
	for (size_t i = 0; i < c->n_items; i++) {
		const struct lab_check_item *it = &c->items[i];
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "why", it->why ? it->why : "");
		cJSON_AddStringToObject(j, "kind", it->kind ? it->kind : "");
		cJSON_AddStringToObject(j, "command", it->command ? it->command : "");
		cJSON_AddStringToObject(j, "expect", it->expect ? it->expect : "");
		cJSON_AddStringToObject(j, "observed", it->observed ? it->observed : "");
		cJSON_AddBoolToObject(j, "pass", it->pass);
		if (it->finding)
			cJSON_AddStringToObject(j, "finding", it->finding);
		else
			cJSON_AddNullToObject(j, "finding");
		cJSON_AddStringToObject(j, "title", it->title ? it->title : "");
		cJSON_AddStringToObject(j, "detail", it->detail ? it->detail : "");
		cJSON_AddStringToObject(j, "fix", it->fix ? it->fix : "");
		cJSON_AddStringToObject(j, "also", it->also ? it->also : "");
		cJSON_AddItemToArray(arr, j);
	}
	return o;
}
