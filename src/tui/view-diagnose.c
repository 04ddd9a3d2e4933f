/*
 * view-diagnose — the stage ladder as it happens (resolve, tcp, tls, verify, mqtt_connect,
 * pubsub) with timings and a spinner on the stage that waits, then the findings, root cause
 * first, each opening to its evidence, the fix and what the device prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/diag.h"
#include "mqttls/finding.h"
#include "mqttls/util.h"
#include "tui.h"

#define MAX_FINDINGS 64

struct vdiag {
	struct tui_pane pane;
	bool open[MAX_FINDINGS];
	unsigned run;            /* the model's run these states belong to */
	bool opened_root;        /* the root cause was opened for this run */
	bool show_log;
	int pane_y;              /* the pane's first row within the view, as last drawn */
};

static const struct tui_key_help keys[] = {
	{ "r", "run the diagnosis again" },
	{ "Enter Space", "open / close the selected finding" },
	{ "Right Left", "open / close" },
	{ "a", "open or close every finding" },
	{ "l", "show the log (libmosquitto and engine notes) / the findings" },
	{ "c", "the certificate chain (Chain view)" },
	{ "e", "change the target (Connect view)" },
	{ NULL, NULL },
};

static void *vdiag_create(struct tui *t)
{
	struct vdiag *v = calloc(1, sizeof *v);
	(void)t;
	if (!v)
		abort();
	v->pane.selectable = true;
	return v;
}

static void vdiag_destroy(struct tui *t, void *p)
{
	struct vdiag *v = p;
	(void)t;
	lines_free(&v->pane.lines);
	free(v);
}

static void fmt_ms(char *buf, size_t size, double ms)
{
	if (ms >= 10000)
		snprintf(buf, size, "%.0f s", ms / 1000);
	else if (ms >= 1000)
		snprintf(buf, size, "%.1f s", ms / 1000);
	else if (ms >= 100)
		snprintf(buf, size, "%.0f ms", ms);
	else
		snprintf(buf, size, "%.1f ms", ms);
}

static enum tui_style sev_style(enum mq_severity s)
{
	return s == MQ_SEV_ERROR ? S_FAIL : s == MQ_SEV_WARNING ? S_WARN : S_INFO;
}

static enum tui_glyph sev_glyph(enum mq_severity s)
{
	return s == MQ_SEV_ERROR ? G_FAIL : s == MQ_SEV_WARNING ? G_WARN : G_INFO;
}

static void draw_ladder(struct tui *t, const struct tui_rect *r, int y)
{
	const struct model *m = &t->model;

	for (int i = 0; i < MODEL_STAGES && y < r->y + r->h; i++, y++) {
		const struct model_stage *st = &m->stages[i];
		const char *g;
		enum tui_style s;
		char ms[32] = "";
		int x = r->x + 1;

		switch (st->status) {
		case DIAG_RUNNING:
			g = draw_spinner(t);
			s = S_RUN;
			fmt_ms(ms, sizeof ms, mq_now_ms() - st->started);
			break;
		case DIAG_OK:
			g = draw_glyph(t, G_OK);
			s = S_OK;
			fmt_ms(ms, sizeof ms, st->ms);
			break;
		case DIAG_FAILED:
			g = draw_glyph(t, G_FAIL);
			s = S_FAIL;
			fmt_ms(ms, sizeof ms, st->ms);
			break;
		case DIAG_SKIPPED:
			g = draw_glyph(t, G_SKIP);
			s = S_DIM;
			break;
		default:
			g = draw_glyph(t, G_PENDING);
			s = S_DIM;
		}
		draw_text(t, y, x, 2, s, g);
		draw_text(t, y, x + 2, 13, st->status == DIAG_PENDING || st->status == DIAG_SKIPPED ? S_DIM : S_BOLD,
			  diag_stage_name((enum diag_stage_id)i));
		{
			int w = draw_width(t, ms);
			draw_text(t, y, x + 15 + (9 - w > 0 ? 9 - w : 0), 9, S_NORMAL, ms);
		}
		if (st->status == DIAG_RUNNING)
			draw_text(t, y, x + 26, r->w - x - 27, S_DIM, "waiting");
		else if (st->detail)
			draw_text(t, y, x + 26, r->w - x - 27, s == S_FAIL ? S_FAIL : S_NORMAL, st->detail);
		else if (st->status == DIAG_SKIPPED)
			draw_text(t, y, x + 26, r->w - x - 27, S_DIM, "not reached");
	}
}

static void fill_findings(struct tui *t, struct vdiag *v, const struct diag_result *res)
{
	struct tui_lines *l = &v->pane.lines;
	const struct findings *fs = res ? &res->findings : NULL;
	int items = 0;
	bool root_seen = false;

	if (!fs || fs->n == 0) {
		if (t->model.running) {
			lines_add(l, -1, S_DIM, "  %s", "Findings appear here as the stages finish.");
		} else if (res && res->ok) {
			lines_add(l, 0, S_OK, " %s ", draw_glyph(t, G_OK));
			lines_seg(l, S_OK, "%s", "Every stage passed.");
			lines_wrap(t, l, 0, S_NORMAL, 4,
				   "The broker answers, its certificate verifies for the name you connected to, "
				   "MQTT CONNECT is accepted and a publish/subscribe round trip comes back.");
			items = 1;
			if (t->have_builtin && res->port == t->builtin.port && !strcmp(res->host, t->builtin.host)) {
				/* The first screen of "make run": say where to go from here. */
				lines_blank(l, -1);
				lines_wrap(t, l, -1, S_DIM, 1,
					   "This is the built-in lab broker, working as it should. From here: 1 Connect "
					   "diagnoses your own broker (paste its mosquitto_sub line); 3 Chain shows this "
					   "one's certificates; 6 Labs breaks it on purpose, one lab per tutorial part; "
					   "5 MITM shows what a device with setInsecure() gives away. ? lists every key.");
			}
		}
		v->pane.nitems = items;
		return;
	}
	for (size_t i = 0; i < fs->n && i < MAX_FINDINGS; i++) {
		const struct finding *f = &fs->v[i];
		bool root = f->severity == MQ_SEV_ERROR && !root_seen;
		char hay[1024];

		if (root)
			root_seen = true;
		snprintf(hay, sizeof hay, "%s %s %s", f->id, f->title ? f->title : "", f->detail ? f->detail : "");
		if (!tui_filter_match(t, hay))
			continue;
		if (root && !v->opened_root && t->model.done) {
			v->open[i] = true;
			v->opened_root = true;
		}
		lines_add(l, (int)i, S_DIM, " %s ", draw_glyph(t, v->open[i] ? G_OPEN : G_CLOSED));
		lines_seg(l, sev_style(f->severity), "%s %s", draw_glyph(t, sev_glyph(f->severity)), f->id);
		if (root)
			lines_seg(l, S_BANNER, " %s ", "ROOT CAUSE");
		lines_seg(l, S_NORMAL, "  %s", f->title ? f->title : "");
		if (v->open[i]) {
			if (f->detail && *f->detail) {
				lines_add(l, (int)i, S_HEAD, "    %s", "Evidence");
				lines_wrap(t, l, (int)i, S_NORMAL, 6, f->detail);
			}
			if (f->fix && *f->fix) {
				lines_add(l, (int)i, S_HEAD, "    %s", "Fix");
				lines_wrap(t, l, (int)i, S_BOLD, 6, f->fix);
			}
			if (f->seen && *f->seen) {
				lines_add(l, (int)i, S_HEAD, "    %s", "What the device and the tools print");
				lines_wrap(t, l, (int)i, S_DIM, 6, f->seen);
			}
			if (f->path && *f->path) {
				lines_add(l, (int)i, S_HEAD, "    %s", "File  ");
				lines_seg_untrusted(l, S_NORMAL, f->path, strlen(f->path));
			}
			lines_blank(l, (int)i);
		}
	}
	v->pane.nitems = (int)(fs->n < MAX_FINDINGS ? fs->n : MAX_FINDINGS);
	/* Items are indexes into the findings: hidden ones are skipped by selection. */
	if (v->pane.sel >= 0 && v->pane.sel < v->pane.nitems) {
		bool visible = false;
		for (size_t k = 0; k < l->n; k++)
			visible |= l->v[k].item == v->pane.sel;
		if (!visible)
			for (size_t k = 0; k < l->n; k++)
				if (l->v[k].item >= 0) {
					v->pane.sel = l->v[k].item;
					break;
				}
	}
}

static void fill_log(struct tui *t, struct vdiag *v)
{
	const struct model *m = &t->model;
	struct tui_lines *l = &v->pane.lines;

	if (!m->n_log)
		lines_add(l, -1, S_DIM, "  %s", "No log lines yet.");
	for (size_t i = 0; i < m->n_log; i++)
		if (tui_filter_match(t, m->log[i]))
			lines_add(l, -1, S_NORMAL, " %s", m->log[i]);
	v->pane.nitems = 0;
}

static void vdiag_draw(struct tui *t, void *p, const struct tui_rect *r)
{
	struct vdiag *v = p;
	const struct model *m = &t->model;
	const struct diag_result *res = model_result(t);
	char head[256], ms[32];
	int y = r->y;

	if (v->run != m->run) {
		memset(v->open, 0, sizeof v->open);
		v->run = m->run;
		v->opened_root = false;
		v->pane.sel = 0;
		v->pane.top = 0;
	}
	if (!m->have_target) {
		if (job_busy(t)) {
			draw_text(t, y + 1, r->x + 2, 2, S_RUN, draw_spinner(t));
			draw_text(t, y + 1, r->x + 4, r->w - 5, S_NORMAL, job_what(t));
			draw_text(t, y + 3, r->x + 2, r->w - 3, S_DIM,
				  "The first start makes the lab's certificates; it takes a moment.");
		} else if (m->error[0]) {
			draw_text(t, y + 1, r->x + 2, r->w - 3, S_FAIL, m->error);
		} else {
			draw_text(t, y + 1, r->x + 2, r->w - 3, S_NORMAL,
				  "Nothing diagnosed yet: fill in the Connect view (1) and press d.");
		}
		return;
	}

	/* Where and how it went. */
	draw_text(t, y, r->x + 1, r->w - 2, S_BOLD, m->label);
	if (m->running) {
		fmt_ms(ms, sizeof ms, mq_now_ms() - m->started);
		snprintf(head, sizeof head, "%s running %s", draw_spinner(t), ms);
		draw_text(t, y, r->x + r->w - draw_width(t, head) - 1, draw_width(t, head), S_RUN, head);
	} else if (m->done && res) {
		fmt_ms(ms, sizeof ms, res->total_ms);
		snprintf(head, sizeof head, "%s %s in %s", draw_glyph(t, res->ok ? G_OK : G_FAIL),
			 res->ok ? "all stages passed" : "failed", ms);
		draw_text(t, y, r->x + r->w - draw_width(t, head) - 1, draw_width(t, head), res->ok ? S_OK : S_FAIL,
			  head);
	}
	y++;
	if (m->error[0]) {
		lines_clear(&v->pane.lines);
		v->pane.lines.width = r->w - 2;
		lines_wrap(t, &v->pane.lines, -1, S_FAIL, 1, m->error);
		v->pane.nitems = 0;
		v->pane_y = y + 1 - r->y;
		pane_draw(t, &v->pane, &(struct tui_rect){ y + 1, r->x, r->h - 2, r->w });
		return;
	}
	draw_ladder(t, r, y + 1);
	y += MODEL_STAGES + 2;
	if (y >= r->y + r->h)
		return;

	/* Findings or log. */
	lines_clear(&v->pane.lines);
	v->pane.lines.width = r->w - 1;
	if (v->show_log) {
		snprintf(head, sizeof head, " Log (%zu lines) ", m->n_log);
		fill_log(t, v);
		v->pane.selectable = false;
	} else {
		size_t n = res ? res->findings.n : 0;
		snprintf(head, sizeof head, " Findings (%zu)%s ", n, n > 1 ? " - the root cause first" : "");
		fill_findings(t, v, res);
		v->pane.selectable = true;
	}
	{
		int x = r->x + draw_text(t, y, r->x, r->w, S_HEAD, head);
		for (; x < r->x + r->w; x++)
			draw_text(t, y, x, 1, S_DIM, draw_glyph(t, G_HLINE));
	}
	y++;
	v->pane_y = y - r->y;
	pane_draw(t, &v->pane, &(struct tui_rect){ y, r->x, r->y + r->h - y, r->w });
}

static int toggle(struct vdiag *v, int how)
{
	int i = v->pane.sel;

	if (v->show_log || i < 0 || i >= MAX_FINDINGS)
		return TUI_REDRAW;
	v->open[i] = how < 0 ? !v->open[i] : how;
	return TUI_REDRAW;
}

static int vdiag_key(struct tui *t, void *p, int key)
{
	struct vdiag *v = p;
	int r = pane_key(&v->pane, key);

	if (r != TUI_UNHANDLED)
		return r;
	if (tui_key_is_enter(key) || key == ' ')
		return toggle(v, -1);
	switch (key) {
	case 'r':
	case 'R':
		model_rerun(t);
		return TUI_REDRAW;
	case K_RIGHT:
		return toggle(v, 1);
	case K_LEFT:
		return toggle(v, 0);
	case 'a': {
		bool any = false;
		for (int i = 0; i < MAX_FINDINGS; i++)
			any |= v->open[i];
		for (int i = 0; i < MAX_FINDINGS; i++)
			v->open[i] = !any;
		v->opened_root = true;
		return TUI_REDRAW;
	}
	case 'l':
		v->show_log = !v->show_log;
		v->pane.top = 0;
		v->pane.follow = v->show_log;
		return TUI_REDRAW;
	case 'c':
		tui_switch(t, V_CHAIN);
		return TUI_REDRAW;
	case 'e':
		tui_switch(t, V_CONNECT);
		return TUI_REDRAW;
	}
	return TUI_UNHANDLED;
}

static int vdiag_click(struct tui *t, void *p, int y, int x)
{
	struct vdiag *v = p;
	int item = pane_item_at(&v->pane, y - v->pane_y);

	(void)t;
	(void)x;
	if (item < 0)
		return 0;
	if (item == v->pane.sel)
		return toggle(v, -1);
	v->pane.sel = item;
	return TUI_REDRAW;
}

static int vdiag_wheel(struct tui *t, void *p, int y, int delta)
{
	struct vdiag *v = p;
	(void)t;
	(void)y;
	return pane_scroll(&v->pane, delta);
}

static bool vdiag_busy(struct tui *t, void *p)
{
	(void)p;
	return t->model.running;
}

const struct tui_view view_diagnose = {
	.name = "Diagnose",
	.keys = keys,
	.hint = "r:re-run  Enter:open  l:log  c:chain",
	.create = vdiag_create,
	.destroy = vdiag_destroy,
	.draw = vdiag_draw,
	.key = vdiag_key,
	.click = vdiag_click,
	.wheel = vdiag_wheel,
	.busy = vdiag_busy,
	.filterable = true,
};
