/*
 * view-mitm — the rogue-broker lab on the projector: an INSECURE LAB MITM relay in front of the
 * broker being diagnosed (or the built-in lab), the victims as they arrive — accepted, or
 * rejected with the alert they sent — their credentials and messages, and an inject form.
 * Everything a victim sent is escaped before it is stored; memory is bounded (victims and the
 * event log are rings).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqttls/mitm.h"
#include "mqttls/util.h"
#include "tui.h"

#define VICTIMS_MAX 200
#define EVENTS_MAX 1000
#define SHOWN_BYTES 96

struct victim {
	unsigned id;
	char client[64];
	bool decided, accepted, closed;
	char alert[48];
	char reason[400];
	char tls[64];
	/* Escaped: up to four characters per byte received. */
	char client_id[SHOWN_BYTES * 4 + 16], user[SHOWN_BYTES * 4 + 16], pass[SHOWN_BYTES * 4 + 16];
	bool connected, has_user, has_pass;
	unsigned publishes;
};

struct evline {
	char *text;
	enum tui_style style;
};

struct vmitm {
	struct mitm *m;
	bool running, listening;
	struct event *reap;          /* frees the engine after STOPPED, outside its callback */
	char listen[64], upstream[300], upstream_cafile[4096], upstream_cert[4096], upstream_key[4096];
	char forged_subject[300], forged_issuer[300], forged_sans[300];
	char stopped_reason[300];
	struct victim victims[VICTIMS_MAX];
	size_t n_victims;            /* ring: the newest VICTIMS_MAX */
	unsigned total_victims, accepted, rejected, messages;
	struct evline events[EVENTS_MAX];
	size_t ev_first, n_events;   /* ring */
	struct tui_pane pane;
	struct tui *t;
	char inject_topic[256];
	int pane_y;
};

static const struct tui_key_help keys[] = {
	{ "s", "start the MITM relay in front of the diagnosed broker" },
	{ "x", "stop it" },
	{ "i", "inject a message to the victims (topic, then payload)" },
	{ "Up Down PgUp PgDn", "scroll the events" },
	{ "End", "follow new events again" },
	{ "c", "clear the victims and events" },
	{ NULL, NULL },
};

static void ev_add(struct vmitm *v, enum tui_style s, const char *fmt, ...) MQ_PRINTF(3, 4);
static void ev_add(struct vmitm *v, enum tui_style s, const char *fmt, ...)
{
	struct evline *e;
	char stamp[32], *body = NULL, *line = NULL;
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&body, fmt, ap) < 0)
		body = NULL;
	va_end(ap);
	if (!body)
		return;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
	if (asprintf(&line, "%s %s", stamp, body) < 0)
		line = NULL;
	free(body);
	if (!line)
		return;
	if (v->n_events == EVENTS_MAX) {
		/* The oldest line makes room: memory stays flat however long the lab runs. */
		free(v->events[v->ev_first].text);
		v->ev_first = (v->ev_first + 1) % EVENTS_MAX;
		v->n_events--;
	}
	e = &v->events[(v->ev_first + v->n_events) % EVENTS_MAX];
	e->text = line;
	e->style = s;
	v->n_events++;
}

static void events_clear(struct vmitm *v)
{
	for (size_t i = 0; i < v->n_events; i++)
		free(v->events[(v->ev_first + i) % EVENTS_MAX].text);
	v->ev_first = v->n_events = 0;
}

static void esc(char *out, size_t size, const uint8_t *p, size_t n)
{
	char tmp[SHOWN_BYTES * 4 + 8];
	mq_escape(p, n > SHOWN_BYTES ? SHOWN_BYTES : n, tmp, sizeof tmp);
	snprintf(out, size, "%s%s", tmp, n > SHOWN_BYTES ? "..." : "");
}

static struct victim *victim_of(struct vmitm *v, unsigned id, const char *client)
{
	struct victim *vi;

	for (size_t i = 0; i < v->n_victims; i++)
		if (v->victims[i].id == id)
			return &v->victims[i];
	if (v->n_victims == VICTIMS_MAX) {
		/* Drop the oldest: a classroom's worth stays visible. */
		memmove(v->victims, v->victims + 1, (VICTIMS_MAX - 1) * sizeof *v->victims);
		v->n_victims--;
	}
	vi = &v->victims[v->n_victims++];
	memset(vi, 0, sizeof *vi);
	vi->id = id;
	snprintf(vi->client, sizeof vi->client, "%s", client ? client : "?");
	v->total_victims++;
	return vi;
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct vmitm *v = arg;
	(void)fd;
	(void)what;
	if (v->m && !v->running) {
		mitm_free(v->m);
		v->m = NULL;
	}
	tui_dirty(v->t);
}

static void on_mitm(const struct mitm_event *ev, void *arg)
{
	struct vmitm *v = arg;
	struct victim *vi = ev->victim ? victim_of(v, ev->victim, ev->client) : NULL;
	char a[SHOWN_BYTES * 4 + 16], b[SHOWN_BYTES * 4 + 16];
	const char *arrow = ev->dir == MITM_D2B ? "device->broker" : "broker->device";

	switch (ev->type) {
	case MITM_EV_LISTENING:
		v->listening = true;
		snprintf(v->listen, sizeof v->listen, "%s", ev->listen ? ev->listen : "");
		mq_escape(ev->forged_subject ? ev->forged_subject : "", ev->forged_subject ? strlen(ev->forged_subject) : 0,
			  v->forged_subject, sizeof v->forged_subject);
		mq_escape(ev->forged_issuer ? ev->forged_issuer : "", ev->forged_issuer ? strlen(ev->forged_issuer) : 0,
			  v->forged_issuer, sizeof v->forged_issuer);
		mq_escape(ev->forged_sans ? ev->forged_sans : "", ev->forged_sans ? strlen(ev->forged_sans) : 0,
			  v->forged_sans, sizeof v->forged_sans);
		ev_add(v, S_WARN, "listening on %s, relaying to %s", v->listen, v->upstream);
		break;
	case MITM_EV_HANDSHAKE:
		if (!vi)
			break;
		vi->decided = true;
		vi->accepted = ev->result && !strcmp(ev->result, "accepted");
		if (vi->accepted) {
			v->accepted++;
			snprintf(vi->tls, sizeof vi->tls, "%s", ev->tls_version ? ev->tls_version : "");
			ev_add(v, S_FAIL, "#%u %s TLS ACCEPTED (%s): this device does not verify the broker", vi->id,
			       vi->client, vi->tls);
		} else {
			v->rejected++;
			snprintf(vi->alert, sizeof vi->alert, "%s", ev->alert ? ev->alert : "");
			mq_escape(ev->reason ? ev->reason : "", ev->reason ? strlen(ev->reason) : 0, vi->reason,
				  sizeof vi->reason);
			ev_add(v, S_OK, "#%u %s TLS REJECTED%s%s: %s", vi->id, vi->client, ev->alert ? " alert " : "",
			       ev->alert ? ev->alert : "", vi->reason);
		}
		break;
	case MITM_EV_CONNECT:
		if (!vi)
			break;
		vi->connected = true;
		esc(vi->client_id, sizeof vi->client_id, ev->client_id, ev->client_id_len);
		vi->has_user = ev->has_username;
		vi->has_pass = ev->has_password;
		if (ev->has_username)
			esc(vi->user, sizeof vi->user, ev->username, ev->username_len);
		if (ev->has_password)
			esc(vi->pass, sizeof vi->pass, ev->password, ev->password_len);
		ev_add(v, S_FAIL, "#%u CONNECT client id \"%s\" user %s%s%s password %s%s%s", vi->id, vi->client_id,
		       vi->has_user ? "\"" : "", vi->has_user ? vi->user : "(none)", vi->has_user ? "\"" : "",
		       vi->has_pass ? "\"" : "", vi->has_pass ? vi->pass : "(none)", vi->has_pass ? "\"" : "");
		break;
	case MITM_EV_PUBLISH:
		v->messages++;
		if (vi)
			vi->publishes++;
		esc(a, sizeof a, ev->topic, ev->topic_len);
		esc(b, sizeof b, ev->payload, ev->payload_len);
		ev_add(v, S_NORMAL, "#%u %s PUBLISH \"%s\" \"%s\" (qos %d)", ev->victim, arrow, a, b, ev->qos);
		break;
	case MITM_EV_SUBSCRIBE:
		esc(a, sizeof a, ev->topic, ev->topic_len);
		ev_add(v, S_NORMAL, "#%u SUBSCRIBE \"%s\"", ev->victim, a);
		break;
	case MITM_EV_INJECT:
		esc(a, sizeof a, ev->topic, ev->topic_len);
		esc(b, sizeof b, ev->payload, ev->payload_len);
		ev_add(v, S_BANNER, "#%u INJECTED -> device \"%s\" \"%s\"", ev->victim, a, b);
		break;
	case MITM_EV_CONNACK:
		ev_add(v, S_DIM, "#%u CONNACK %d (%s)", ev->victim, ev->code, ev->meaning ? ev->meaning : "");
		break;
	case MITM_EV_UPSTREAM:
		mq_escape(ev->reason ? ev->reason : "", ev->reason ? strlen(ev->reason) : 0, a, sizeof a);
		ev_add(v, ev->result && !strcmp(ev->result, "connected") ? S_DIM : S_WARN, "#%u upstream %s%s%s",
		       ev->victim, ev->result ? ev->result : "", ev->reason ? ": " : "", a);
		break;
	case MITM_EV_MALFORMED:
		mq_escape(ev->reason ? ev->reason : "", ev->reason ? strlen(ev->reason) : 0, a, sizeof a);
		ev_add(v, S_WARN, "#%u malformed packet %s: %s", ev->victim, arrow, a);
		break;
	case MITM_EV_REFUSED:
		mq_escape(ev->reason ? ev->reason : "", ev->reason ? strlen(ev->reason) : 0, a, sizeof a);
		ev_add(v, S_WARN, "%s refused: %s", ev->client ? ev->client : "a connection", a);
		break;
	case MITM_EV_CLOSED:
		if (vi)
			vi->closed = true;
		mq_escape(ev->reason ? ev->reason : "", ev->reason ? strlen(ev->reason) : 0, a, sizeof a);
		ev_add(v, S_DIM, "#%u closed: %s", ev->victim, a);
		break;
	case MITM_EV_STOPPED:
		v->running = false;
		v->listening = false;
		mq_escape(ev->reason ? ev->reason : "", ev->reason ? strlen(ev->reason) : 0, v->stopped_reason,
			  sizeof v->stopped_reason);
		ev_add(v, S_WARN, "stopped: %s", v->stopped_reason);
		event_active(v->reap, 0, 0);
		break;
	case MITM_EV_PACKET:
		break; /* PINGREQ and friends would drown what the class should see */
	}
	tui_dirty(v->t);
}

/* ---- actions ------------------------------------------------------------------------------ */

static int start(struct tui *t, struct vmitm *v)
{
	const struct target *tg = t->model.have_target ? &t->model.target : NULL;
	struct mitm_opts o;
	struct mq_err err = { 0 };
	int port;

	if (v->running)
		return TUI_REDRAW;
	if (tg && (!tg->tls || !tg->cafile))
		tg = NULL;
	if (!tg && !t->have_builtin) {
		tui_status(t, S_WARN, "%s",
			   "the MITM relays to a TLS broker whose CA you have: diagnose one first, or start the basic lab");
		return TUI_REDRAW;
	}
	if (tg) {
		bool v6 = strchr(tg->host, ':') != NULL;
		snprintf(v->upstream, sizeof v->upstream, "%s%s%s:%d", v6 ? "[" : "", tg->host, v6 ? "]" : "", tg->port);
		snprintf(v->upstream_cafile, sizeof v->upstream_cafile, "%s", tg->cafile);
		snprintf(v->upstream_cert, sizeof v->upstream_cert, "%s", tg->cert ? tg->cert : "");
		snprintf(v->upstream_key, sizeof v->upstream_key, "%s", tg->key ? tg->key : "");
	} else {
		snprintf(v->upstream, sizeof v->upstream, "%s:%d", t->builtin.host, t->builtin.port);
		snprintf(v->upstream_cafile, sizeof v->upstream_cafile, "%s", t->builtin.cafile);
		v->upstream_cert[0] = v->upstream_key[0] = '\0';
	}
	port = mq_free_port();
	if (port < 0) {
		tui_status(t, S_FAIL, "%s", "no free port on loopback for the MITM");
		return TUI_REDRAW;
	}
	snprintf(v->listen, sizeof v->listen, "127.0.0.1:%d", port);
	memset(&o, 0, sizeof o);
	o.listen = v->listen;
	o.upstream = v->upstream;
	o.upstream_cafile = v->upstream_cafile;
	o.upstream_cert = v->upstream_cert[0] ? v->upstream_cert : NULL;
	o.upstream_key = v->upstream_key[0] ? v->upstream_key : NULL;
	o.forge.mode = FORGE_SELF;
	v->stopped_reason[0] = '\0';
	v->m = mitm_new(t->base, &o, on_mitm, v, &err);
	if (!v->m) {
		mq_escape(err.msg, strlen(err.msg), v->stopped_reason, sizeof v->stopped_reason);
		tui_status(t, S_FAIL, "the MITM did not start: %s", v->stopped_reason);
		return TUI_REDRAW;
	}
	v->running = true;
	ev_add(v, S_WARN, "%s starting: relay %s -> %s", MITM_BANNER, v->listen, v->upstream);
	return TUI_REDRAW;
}

static int on_payload(struct tui *t, void *ctx, int choice, const char *text)
{
	struct vmitm *v = ctx;
	int n;

	if (choice != K_RET || !v->m || !v->running)
		return TUI_REDRAW;
	n = mitm_inject_now(v->m, v->inject_topic, text, strlen(text));
	tui_status(t, n > 0 ? S_OK : S_WARN, "injected to %d victim%s%s", n, n == 1 ? "" : "s",
		   n ? "" : " (none is subscribed to a matching topic)");
	return TUI_REDRAW;
}

static int on_topic(struct tui *t, void *ctx, int choice, const char *text)
{
	struct vmitm *v = ctx;

	if (choice != K_RET || !text || !*text)
		return TUI_REDRAW;
	if (strpbrk(text, "+#")) {
		tui_status(t, S_WARN, "%s", "inject to a topic name, not a filter with + or #");
		return TUI_REDRAW;
	}
	snprintf(v->inject_topic, sizeof v->inject_topic, "%s", text);
	tui_input(t, "Payload:", "open", false, on_payload, v);
	return TUI_REDRAW;
}

/* ---- the view ----------------------------------------------------------------------------- */

static void *vmitm_create(struct tui *t)
{
	struct vmitm *v = calloc(1, sizeof *v);
	if (!v)
		abort();
	v->t = t;
	v->pane.selectable = false;
	v->pane.follow = true;
	v->reap = event_new(t->base, -1, 0, on_reap, v);
	snprintf(v->inject_topic, sizeof v->inject_topic, "lab/cmd");
	return v;
}

static void vmitm_destroy(struct tui *t, void *p)
{
	struct vmitm *v = p;
	(void)t;
	if (v->m) {
		/* Quitting: the engine closes every victim; its last events go nowhere. */
		mitm_free(v->m);
	}
	if (v->reap)
		event_free(v->reap);
	events_clear(v);
	lines_free(&v->pane.lines);
	free(v);
}

static void draw_intro(struct tui *t, struct vmitm *v, const struct tui_rect *r, int y)
{
	struct tui_lines l = { .width = r->w - 2 };
	const struct target *tg = t->model.have_target ? &t->model.target : NULL;
	char up[400];

	if (tg && tg->tls && tg->cafile)
		snprintf(up, sizeof up, "%s:%d", tg->host, tg->port);
	else if (t->have_builtin)
		snprintf(up, sizeof up, "%s:%d (the built-in lab)", t->builtin.host, t->builtin.port);
	else
		snprintf(up, sizeof up, "%s", "(none yet: diagnose a TLS broker with its CA, or start the basic lab)");
	lines_wrap(t, &l, -1, S_NORMAL, 1,
		   "A rogue broker for the classroom. It sits in front of the real broker with a forged "
		   "certificate (organisation \"INSECURE LAB MITM\"), on loopback only. A device that does not "
		   "verify the broker (ESP32 setInsecure()) connects through it: its user name, password and "
		   "every message appear here, and you can inject a command to it. A device that verifies "
		   "(setCACert) refuses it, and the alert it sent is shown.");
	lines_blank(&l, -1);
	lines_add(&l, -1, S_BOLD, " s: start the relay in front of ");
	lines_seg_untrusted(&l, S_BOLD, up, strlen(up));
	if (v->stopped_reason[0]) {
		lines_blank(&l, -1);
		lines_add(&l, -1, S_WARN, " last run: %s", v->stopped_reason);
	}
	for (size_t i = 0; i < l.n && y < r->y + r->h; i++, y++) {
		int x = r->x;
		for (int k = 0; k < l.v[i].nseg; k++)
			x += draw_text(t, y, x, r->x + r->w - x, l.v[i].seg[k].style, l.v[i].seg[k].text);
	}
	lines_free(&l);
}

static void vmitm_draw(struct tui *t, void *p, const struct tui_rect *r)
{
	struct vmitm *v = p;
	int y = r->y, x, vh;
	char buf[6000];

	x = r->x + draw_text(t, y, r->x, r->w, S_BANNER, " " MITM_BANNER " ");
	snprintf(buf, sizeof buf, "  %s", v->running ? (v->listening ? "running" : "starting...") : "stopped");
	draw_text(t, y, x, r->x + r->w - x, v->running ? S_FAIL : S_DIM, buf);
	y++;
	if (!v->running && !v->n_events) {
		draw_intro(t, v, r, y + 1);
		return;
	}
	if (v->running) {
		snprintf(buf, sizeof buf, " victims connect to %s %s relay to %s", v->listen, draw_glyph(t, G_ARROW),
			 v->upstream);
		draw_untrusted(t, y++, r->x, r->w, S_BOLD, buf, strlen(buf));
		snprintf(buf, sizeof buf, " forged: %s  (signed by %s)", v->forged_subject, v->forged_issuer);
		draw_text(t, y++, r->x, r->w, S_DIM, buf);
		snprintf(buf, sizeof buf, "  insecure: mqttls device -h 127.0.0.1 -p %s --no-verify -u student -P secret",
			 strrchr(v->listen, ':') ? strrchr(v->listen, ':') + 1 : "?");
		draw_text(t, y++, r->x, r->w, S_NORMAL, buf);
		snprintf(buf, sizeof buf, "  verifying: mosquitto_pub -h 127.0.0.1 -p %s --cafile %s -t lab/t -m hi",
			 strrchr(v->listen, ':') ? strrchr(v->listen, ':') + 1 : "?", v->upstream_cafile);
		draw_untrusted(t, y++, r->x, r->w, S_NORMAL, buf, strlen(buf));
	} else {
		snprintf(buf, sizeof buf, " stopped: %s - s starts it again, c clears", v->stopped_reason);
		draw_text(t, y++, r->x, r->w, S_WARN, buf);
	}
	snprintf(buf, sizeof buf, " Victims %u: %u accepted (captured), %u rejected; %u messages ", v->total_victims,
		 v->accepted, v->rejected, v->messages);
	draw_text(t, y++, r->x, r->w, S_HEAD, buf);

	/* The newest victims first, as many as a third of the screen holds. */
	vh = (r->y + r->h - y) / 3;
	if (vh < 2)
		vh = 2;
	for (int k = 0; k < vh && (size_t)k < v->n_victims; k++) {
		const struct victim *vi = &v->victims[v->n_victims - 1 - (size_t)k];
		/* What the class should read first comes first: the verdict, then the loot. */
		if (vi->accepted && vi->connected)
			snprintf(buf, sizeof buf, " #%-3u ACCEPTED  user %s%s%s  password %s%s%s  id \"%s\"  %s %s", vi->id,
				 vi->has_user ? "\"" : "", vi->has_user ? vi->user : "(none)", vi->has_user ? "\"" : "",
				 vi->has_pass ? "\"" : "", vi->has_pass ? vi->pass : "(none)", vi->has_pass ? "\"" : "",
				 vi->client_id, vi->tls, vi->client);
		else if (vi->accepted)
			snprintf(buf, sizeof buf, " #%-3u ACCEPTED  %s, no CONNECT yet  %s", vi->id, vi->tls, vi->client);
		else if (vi->decided)
			snprintf(buf, sizeof buf, " #%-3u REJECTED  alert %s  %s  %s", vi->id, vi->alert[0] ? vi->alert : "(none)",
				 vi->client, vi->reason);
		else
			snprintf(buf, sizeof buf, " #%-3u handshake...  %s", vi->id, vi->client);
		draw_text(t, y + k, r->x, r->w, vi->accepted ? S_FAIL : vi->decided ? S_OK : S_DIM, buf);
	}
	if (!v->n_victims)
		draw_text(t, y, r->x, r->w, S_DIM, "   none yet: point a device at the address above");
	y += vh;

	draw_text(t, y++, r->x, r->w, S_HEAD, " Events ");
	lines_clear(&v->pane.lines);
	v->pane.lines.width = r->w;
	for (size_t i = 0; i < v->n_events; i++) {
		const struct evline *e = &v->events[(v->ev_first + i) % EVENTS_MAX];
		if (tui_filter_match(t, e->text))
			lines_add(&v->pane.lines, -1, e->style, " %s", e->text);
	}
	v->pane_y = y - r->y;
	pane_draw(t, &v->pane, &(struct tui_rect){ y, r->x, r->y + r->h - y, r->w });
}

static int vmitm_key(struct tui *t, void *p, int key)
{
	struct vmitm *v = p;

	switch (key) {
	case 's':
	case 'S':
		return start(t, v);
	case 'x':
	case 'X':
		if (v->m && v->running)
			mitm_stop(v->m, "stopped from the TUI");
		return TUI_REDRAW;
	case 'i':
	case 'I':
		if (!v->running) {
			tui_status(t, S_WARN, "%s", "start the MITM first (s)");
			return TUI_REDRAW;
		}
		tui_input(t, "Inject to topic:", v->inject_topic, false, on_topic, v);
		return TUI_REDRAW;
	case 'c':
		events_clear(v);
		v->n_victims = 0;
		v->total_victims = v->accepted = v->rejected = v->messages = 0;
		return TUI_REDRAW;
	case K_END:
		v->pane.follow = true;
		return TUI_REDRAW;
	}
	return pane_key(&v->pane, key);
}

static int vmitm_wheel(struct tui *t, void *p, int y, int delta)
{
	struct vmitm *v = p;
	(void)t;
	(void)y;
	return pane_scroll(&v->pane, delta);
}

bool view_mitm_running(void *p)
{
	const struct vmitm *v = p;
	return v && v->running;
}

const struct tui_view view_mitm = {
	.name = "MITM",
	.keys = keys,
	.hint = "s:start  x:stop  i:inject  c:clear",
	.create = vmitm_create,
	.destroy = vmitm_destroy,
	.draw = vmitm_draw,
	.key = vmitm_key,
	.wheel = vmitm_wheel,
	.filterable = true,
};
