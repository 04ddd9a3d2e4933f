/*
 * view-capture — live flows on an interface (or a capture file replayed) on the TUI's loop:
 * per flow the handshake as a ladder between device and broker with the alerts highlighted,
 * the flow's verdict, and plaintext credentials called out. The engine's text is already
 * escaped; it is drawn through the escaping layer all the same. Memory is bounded: at most
 * FLOWS_MAX flows (the oldest go first) and LADDER_MAX lines each, so a capture can run for
 * hours on a busy broker without growing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqttls/capture.h"
#include "mqttls/tlsdec.h"
#include "mqttls/util.h"
#include "tui.h"

#define FLOWS_MAX 300
#define LADDER_MAX 64
/* The engine keeps a closed flow until it is evicted or the capture ends (its summary waits for
 * the end). A live view runs for hours: bound the engine's table too, to a classroom's worth of
 * devices at once; the least recently active flow goes first, so a device that keeps talking
 * is never the one dropped. */
#define ENGINE_FLOWS 1024

struct cap_line {
	char *text;
	enum tui_style style;
	double ts;
};

struct cap_flow {
	unsigned id;
	char client[56], server[56];
	double first_ts;
	char proto[24];             /* "TLS 1.3", "MQTT 3.1.1", "" */
	bool verdict_known;
	enum capture_outcome outcome;
	char *reason;
	const char *finding;
	bool inferred;
	bool creds, alert;
	struct cap_line lines[LADDER_MAX];
	size_t n_lines;
	unsigned dropped;           /* ladder lines beyond LADDER_MAX */
};

struct vcap {
	struct tui *t;
	struct capture *cap;
	bool running;
	struct event *reap;         /* frees the session after DONE, outside its callback */
	char source[1024];          /* an interface, or a file */
	uint16_t ports[CAPTURE_MAX_PORTS];
	size_t n_ports;
	bool ports_set;             /* the user chose them; else they follow the targets */
	struct cap_flow *flows[FLOWS_MAX];   /* oldest first */
	size_t n_flows;
	unsigned evicted;
	struct capture_stats stats; /* the last counters seen */
	char error[600];
	struct tui_pane list, ladder;
	int list_y, ladder_y;
};

static const struct tui_key_help keys[] = {
	{ "s", "start / stop the capture" },
	{ "i", "the interface (lo, eth0, any) or a pcap/pcapng file to replay" },
	{ "p", "the TCP ports to follow (default 1883, 8883 and the targets' ports)" },
	{ "Up Down Home End", "select a flow; its ladder is shown below" },
	{ "PgUp PgDn", "scroll the ladder" },
	{ "c", "clear the flows" },
	{ NULL, NULL },
};

static void flow_free(struct cap_flow *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_lines; i++)
		free(f->lines[i].text);
	free(f->reason);
	free(f);
}

static void flows_clear(struct vcap *v)
{
	for (size_t i = 0; i < v->n_flows; i++)
		flow_free(v->flows[i]);
	v->n_flows = 0;
	v->evicted = 0;
	v->list.sel = 0;
	v->list.top = 0;
}

static struct cap_flow *flow_find(struct vcap *v, unsigned id)
{
	for (size_t i = v->n_flows; i-- > 0;)
		if (v->flows[i]->id == id)
			return v->flows[i];
	return NULL;
}

static struct cap_flow *flow_new(struct vcap *v, const struct capture_flow *cf)
{
	struct cap_flow *f = calloc(1, sizeof *f);

	if (!f)
		return NULL;
	if (v->n_flows == FLOWS_MAX) {
		/* The oldest flow makes room; the selection stays on the flow it was on. */
		flow_free(v->flows[0]);
		memmove(v->flows, v->flows + 1, (FLOWS_MAX - 1) * sizeof *v->flows);
		v->n_flows--;
		v->evicted++;
		if (v->list.sel > 0)
			v->list.sel--;
	}
	f->id = cf->id;
	mq_escape(cf->client, strlen(cf->client), f->client, sizeof f->client);
	mq_escape(cf->server, strlen(cf->server), f->server, sizeof f->server);
	f->first_ts = cf->first_ts;
	v->flows[v->n_flows++] = f;
	return f;
}

static void line_add(struct cap_flow *f, double ts, enum tui_style s, const char *text)
{
	if (f->n_lines == LADDER_MAX) {
		f->dropped++;
		return;
	}
	f->lines[f->n_lines].text = mq_escape_dup(text, strlen(text));
	f->lines[f->n_lines].style = s;
	f->lines[f->n_lines].ts = ts;
	if (f->lines[f->n_lines].text)
		f->n_lines++;
}

static enum tui_style line_style(const struct capture_event *ev)
{
	switch (ev->type) {
	case CAPTURE_EV_ALERT:
		return ev->u.alert.desc == 0 ? S_DIM : S_FAIL; /* close_notify is a goodbye, not a failure */
	case CAPTURE_EV_ENCRYPTED_ALERT:
		return ev->u.enc.inferred ? S_FAIL : S_DIM;
	case CAPTURE_EV_MALFORMED:
	case CAPTURE_EV_GAP:
		return S_WARN;
	case CAPTURE_EV_MQTT:
		if (ev->u.mqtt->type == MQTT_CONNECT && (ev->u.mqtt->password.p || ev->u.mqtt->username.p))
			return S_BANNER;
		return S_NORMAL;
	case CAPTURE_EV_FLOW_OPEN:
	case CAPTURE_EV_FLOW_CLOSE:
	case CAPTURE_EV_CCS:
		return S_DIM;
	default:
		return S_NORMAL;
	}
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct vcap *v = arg;

	(void)fd;
	(void)what;
	if (v->cap && !v->running) {
		v->stats = *capture_get_stats(v->cap);
		capture_free(v->cap);
		v->cap = NULL;
	}
	tui_dirty(v->t);
}

static void on_event(void *ctx, const struct capture_event *ev)
{
	struct vcap *v = ctx;
	const struct capture_flow *cf = ev->flow;
	struct cap_flow *f;
	struct mq_str line = { 0 };

	tui_dirty(v->t);
	if (ev->type == CAPTURE_EV_DONE) {
		v->running = false;
		event_active(v->reap, 0, 0);
		return;
	}
	if (!cf)
		return;
	f = flow_find(v, cf->id);
	if (!f && ev->type != CAPTURE_EV_FLOW_END && ev->type != CAPTURE_EV_FLOW_SUMMARY)
		f = flow_new(v, cf);
	if (!f)
		return;
	switch (ev->type) {
	case CAPTURE_EV_SERVER_HELLO: {
		char buf[32];
		const char *n = tlsdec_name(TLSN_VERSION, cf->tls.version, buf, sizeof buf);
		snprintf(f->proto, sizeof f->proto, "%s", n);
		break;
	}
	case CAPTURE_EV_MQTT:
		if (!f->proto[0])
			snprintf(f->proto, sizeof f->proto, "%s", "MQTT");
		if (ev->u.mqtt->type == MQTT_CONNECT && (ev->u.mqtt->password.p || ev->u.mqtt->username.p))
			f->creds = true;
		break;
	case CAPTURE_EV_ALERT:
	case CAPTURE_EV_ENCRYPTED_ALERT:
		if (line_style(ev) == S_FAIL)
			f->alert = true;
		break;
	case CAPTURE_EV_FLOW_END:
	case CAPTURE_EV_FLOW_SUMMARY:
		f->verdict_known = true;
		f->outcome = cf->verdict.outcome;
		free(f->reason);
		f->reason = cf->verdict.reason ? mq_escape_dup(cf->verdict.reason, strlen(cf->verdict.reason)) : NULL;
		f->finding = cf->verdict.finding;
		f->inferred = cf->verdict.inferred;
		return;
	default:
		break;
	}
	if (capture_event_describe(ev, v->t->utf8, &line)) {
		/* A certificate's description runs over several lines: each becomes one. */
		char *p = line.s, *nl;
		while (p) {
			nl = strchr(p, '\n');
			if (nl)
				*nl = '\0';
			line_add(f, ev->ts, line_style(ev), p);
			p = nl ? nl + 1 : NULL;
		}
	}
	mq_str_free(&line);
}

/* ---- start and stop ----------------------------------------------------------------------- */

static void add_port(struct vcap *v, int port)
{
	if (port <= 0 || port > 65535 || v->n_ports >= CAPTURE_MAX_PORTS)
		return;
	for (size_t i = 0; i < v->n_ports; i++)
		if (v->ports[i] == port)
			return;
	v->ports[v->n_ports++] = (uint16_t)port;
}

/* 1883, 8883, and the brokers the TUI knows about: what a student would want to watch. */
static void default_ports(struct tui *t, struct vcap *v)
{
	if (v->ports_set)
		return;
	v->n_ports = 0;
	add_port(v, 1883);
	add_port(v, 8883);
	if (t->model.have_target)
		add_port(v, t->model.target.port);
	if (t->have_builtin)
		add_port(v, t->builtin.port);
}

static bool is_file_source(const char *s)
{
	return strchr(s, '/') || strstr(s, ".pcap") || !strcmp(s, "-");
}

static int start(struct tui *t, struct vcap *v)
{
	struct capture_opts o;
	struct capture_observer obs = { on_event, v };
	struct mq_err err = { 0 };

	if (v->running)
		return TUI_REDRAW;
	if (v->cap) {
		capture_free(v->cap);
		v->cap = NULL;
	}
	default_ports(t, v);
	capture_opts_init(&o);
	if (is_file_source(v->source)) {
		if (!strcmp(v->source, "-")) {
			snprintf(v->error, sizeof v->error, "%s", "standard input is the keyboard here: give a file");
			return TUI_REDRAW;
		}
		o.file = v->source;
	} else {
		o.iface = v->source;
	}
	memcpy(o.ports, v->ports, v->n_ports * sizeof v->ports[0]);
	o.n_ports = v->n_ports;
	o.max_flows = ENGINE_FLOWS;
	v->error[0] = '\0';
	memset(&v->stats, 0, sizeof v->stats);
	v->cap = capture_new(&o, &obs, &err);
	if (v->cap && capture_start(v->cap, t->base, &err) == 0) {
		v->running = true;
		tui_status(t, S_OK, "capturing on %s", v->source);
		return TUI_REDRAW;
	}
	mq_escape(err.msg, strlen(err.msg), v->error, sizeof v->error);
	if (v->cap) {
		capture_free(v->cap);
		v->cap = NULL;
	}
	return TUI_REDRAW;
}

static int on_source(struct tui *t, void *ctx, int choice, const char *text)
{
	struct vcap *v = ctx;

	(void)t;
	if (choice != K_RET || !text || !*text)
		return TUI_REDRAW;
	snprintf(v->source, sizeof v->source, "%s", text);
	return TUI_REDRAW;
}

static int on_ports(struct tui *t, void *ctx, int choice, const char *text)
{
	struct vcap *v = ctx;
	uint16_t ports[CAPTURE_MAX_PORTS];
	size_t n = 0;
	const char *p = text;

	if (choice != K_RET || !text)
		return TUI_REDRAW;
	while (*p) {
		char *end;
		long port;
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		port = strtol(p, &end, 10);
		if (end == p || port < 1 || port > 65535 || n == CAPTURE_MAX_PORTS) {
			tui_status(t, S_FAIL, "ports are numbers from 1 to 65535, at most %d", CAPTURE_MAX_PORTS);
			return TUI_REDRAW;
		}
		ports[n++] = (uint16_t)port;
		p = end;
	}
	if (!n) {
		v->ports_set = false;
		default_ports(t, v);
		return TUI_REDRAW;
	}
	memcpy(v->ports, ports, n * sizeof ports[0]);
	v->n_ports = n;
	v->ports_set = true;
	return TUI_REDRAW;
}

/* ---- the view ----------------------------------------------------------------------------- */

static void *vcap_create(struct tui *t)
{
	struct vcap *v = calloc(1, sizeof *v);

	if (!v)
		abort();
	v->t = t;
	v->list.selectable = true;
	v->ladder.selectable = false;
	v->reap = event_new(t->base, -1, 0, on_reap, v);
	snprintf(v->source, sizeof v->source, "%s", "lo");
	return v;
}

static void vcap_destroy(struct tui *t, void *p)
{
	struct vcap *v = p;

	(void)t;
	/* Leaving: the session ends here, its last events go nowhere. */
	capture_free(v->cap);
	if (v->reap)
		event_free(v->reap);
	flows_clear(v);
	lines_free(&v->list.lines);
	lines_free(&v->ladder.lines);
	free(v);
}

static void verdict_seg(struct tui *t, struct tui_lines *l, const struct cap_flow *f, bool full)
{
	if (f->creds) {
		lines_seg(l, S_BANNER, " %s ", "PLAINTEXT CREDENTIALS");
		lines_seg(l, S_NORMAL, "%s", " ");
	}
	if (!f->verdict_known) {
		lines_seg(l, S_DIM, "%s", f->alert ? "alert seen..." : "...");
		return;
	}
	switch (f->outcome) {
	case CAPTURE_TLS_OK:
		lines_seg(l, S_OK, "%s tls_ok", draw_glyph(t, G_OK));
		break;
	case CAPTURE_TLS_FAILED:
		lines_seg(l, S_FAIL, "%s tls_failed", draw_glyph(t, G_FAIL));
		break;
	case CAPTURE_PLAINTEXT_MQTT:
		lines_seg(l, S_WARN, "%s plaintext_mqtt", draw_glyph(t, G_WARN));
		break;
	default:
		lines_seg(l, S_DIM, "%s", "incomplete");
	}
	if (f->reason && full) {
		lines_seg(l, S_NORMAL, "%s", ": ");
		lines_wrap_seg(t, l, S_NORMAL, 10, f->reason);
	} else if (f->reason && f->outcome != CAPTURE_TLS_OK) {
		lines_seg(l, S_NORMAL, ": %s", f->reason);
	}
	if (f->finding) {
		char tag[96];
		snprintf(tag, sizeof tag, "  [%s%s]", f->finding, f->inferred ? ", inferred" : "");
		if (full)
			lines_wrap_seg(t, l, S_WARN, 10, tag);
		else
			lines_seg(l, S_WARN, "%s", tag);
	}
}

static void vcap_draw(struct tui *t, void *p, const struct tui_rect *r)
{
	struct vcap *v = p;
	struct tui_lines *l = &v->list.lines;
	char head[1400], ports[256] = "";
	size_t o = 0;
	int y = r->y, lh;
	const struct capture_stats *st = v->cap ? capture_get_stats(v->cap) : &v->stats;

	if (!v->running)
		default_ports(t, v);
	for (size_t i = 0; i < v->n_ports && o < sizeof ports; i++)
		o += (size_t)snprintf(ports + o, sizeof ports - o, "%s%u", i ? " " : "", v->ports[i]);
	{
		/* What matters most first, so 80 columns show it: source, state, counts, then ports. */
		const char *slash = strrchr(v->source, '/');
		char s[300];
		int x;
		snprintf(head, sizeof head, " Capture  %s%s  ", is_file_source(v->source) ? "file " : "",
			 slash ? slash + 1 : v->source);
		x = r->x + draw_untrusted(t, y, r->x, r->w, S_BOLD, head, strlen(head));
		snprintf(s, sizeof s, "%s%s  frames %llu  flows %llu%s  ", v->running ? draw_spinner(t) : "",
			 v->running ? " running" : "stopped", (unsigned long long)st->frames, (unsigned long long)st->flows,
			 st->pcap_stats_ok && st->pcap_drop ? "  DROPPED" : "");
		x += draw_text(t, y, x, r->x + r->w - x, v->running ? S_RUN : S_DIM, s);
		snprintf(s, sizeof s, "ports %s", ports);
		draw_text(t, y, x, r->x + r->w - x, S_DIM, s);
	}
	y++;
	if (v->error[0]) {
		draw_text(t, y++, r->x + 1, r->w - 2, S_FAIL, v->error);
	} else if (!v->n_flows) {
		draw_text(t, y++, r->x + 1, r->w - 2, S_DIM,
			  v->running ? "waiting for traffic on these ports..."
				     : "s starts capturing (live capture needs root or CAP_NET_RAW); i picks the interface or a file");
	}

	/* The flows, newest at the bottom as they arrive. */
	lines_clear(l);
	l->width = r->w;
	for (size_t i = 0; i < v->n_flows; i++) {
		const struct cap_flow *f = v->flows[i];
		char hay[400];
		snprintf(hay, sizeof hay, "%s %s %s %s %s", f->client, f->server, f->proto, f->reason ? f->reason : "",
			 f->finding ? f->finding : "");
		if (!tui_filter_match(t, hay))
			continue;
		lines_add(l, (int)i, S_DIM, " #%-4u", f->id);
		lines_seg(l, S_NORMAL, "%s %s %s ", f->client, draw_glyph(t, G_ARROW), f->server);
		lines_seg(l, S_INFO, "%-8s ", f->proto[0] ? f->proto : "-");
		verdict_seg(t, l, f, false);
	}
	v->list.nitems = (int)v->n_flows;
	lh = (r->y + r->h - y) / 3;
	if (lh < 3)
		lh = 3;
	v->list_y = y - r->y;
	pane_draw(t, &v->list, &(struct tui_rect){ y, r->x, lh, r->w });
	y += lh;

	/* The selected flow's ladder. */
	lines_clear(&v->ladder.lines);
	v->ladder.lines.width = r->w - 1;
	if (v->list.sel >= 0 && (size_t)v->list.sel < v->n_flows) {
		const struct cap_flow *f = v->flows[v->list.sel];
		char title[200];
		int x;
		snprintf(title, sizeof title, " flow #%u: %s %s %s ", f->id, f->client, draw_glyph(t, G_ARROW), f->server);
		x = r->x + draw_text(t, y, r->x, r->w, S_HEAD, title);
		for (; x < r->x + r->w; x++)
			draw_text(t, y, x, 1, S_DIM, draw_glyph(t, G_HLINE));
		y++;
		for (size_t i = 0; i < f->n_lines; i++) {
			lines_add(&v->ladder.lines, -1, S_DIM, " %+8.1f ms  ", (f->lines[i].ts - f->first_ts) * 1000.0);
			lines_wrap_seg(t, &v->ladder.lines, f->lines[i].style, 30, f->lines[i].text);
		}
		if (f->dropped)
			lines_add(&v->ladder.lines, -1, S_DIM, "   ... %u more events not kept", f->dropped);
		lines_add(&v->ladder.lines, -1, S_BOLD, " %s", "verdict  ");
		verdict_seg(t, &v->ladder.lines, f, true);
	}
	v->ladder_y = y - r->y;
	pane_draw(t, &v->ladder, &(struct tui_rect){ y, r->x, r->y + r->h - y, r->w });
}

static int vcap_key(struct tui *t, void *p, int key)
{
	struct vcap *v = p;
	char ports[256] = "";
	size_t o = 0;

	switch (key) {
	case 's':
	case 'S':
		if (v->running) {
			capture_stop(v->cap);
			return TUI_REDRAW;
		}
		return start(t, v);
	case 'x':
		if (v->running)
			capture_stop(v->cap);
		return TUI_REDRAW;
	case 'i':
		if (v->running) {
			tui_status(t, S_WARN, "%s", "stop the capture first (s)");
			return TUI_REDRAW;
		}
		tui_input(t, "Interface or capture file:", v->source, false, on_source, v);
		return TUI_REDRAW;
	case 'p':
		if (v->running) {
			tui_status(t, S_WARN, "%s", "stop the capture first (s)");
			return TUI_REDRAW;
		}
		for (size_t i = 0; i < v->n_ports && o < sizeof ports; i++)
			o += (size_t)snprintf(ports + o, sizeof ports - o, "%s%u", i ? " " : "", v->ports[i]);
		tui_input(t, "Ports (empty: the defaults):", ports, false, on_ports, v);
		return TUI_REDRAW;
	case 'c':
		flows_clear(v);
		return TUI_REDRAW;
	case K_UP:
	case K_DOWN:
	case K_HOME:
	case K_END: {
		int r = pane_key(&v->list, key);
		v->ladder.top = 0;
		return r;
	}
	case K_PGUP:
	case K_PGDN:
	case ' ':
		return pane_key(&v->ladder, key);
	}
	return TUI_UNHANDLED;
}

static int vcap_click(struct tui *t, void *p, int y, int x)
{
	struct vcap *v = p;
	int item = pane_item_at(&v->list, y - v->list_y);

	(void)t;
	(void)x;
	if (item < 0)
		return 0;
	v->list.sel = item;
	v->ladder.top = 0;
	return TUI_REDRAW;
}

static int vcap_wheel(struct tui *t, void *p, int y, int delta)
{
	struct vcap *v = p;
	(void)t;
	if (y >= v->ladder_y)
		return pane_scroll(&v->ladder, delta);
	return pane_scroll(&v->list, delta);
}

static bool vcap_busy(struct tui *t, void *p)
{
	(void)t;
	return ((struct vcap *)p)->running;
}

const struct tui_view view_capture = {
	.name = "Capture",
	.keys = keys,
	.hint = "s:start/stop  i:interface  p:ports  c:clear",
	.create = vcap_create,
	.destroy = vcap_destroy,
	.draw = vcap_draw,
	.key = vcap_key,
	.click = vcap_click,
	.wheel = vcap_wheel,
	.busy = vcap_busy,
	.filterable = true,
};
