/*
 * view-labs — the classroom labs beside their instructions: start, stop, diagnose. The lab
 * engine's calls wait for mosquitto (to listen, to die), so they run as jobs off the loop.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/lab.h"
#include "mqttls/util.h"
#include "tui.h"

#define LABS_MAX 64
#define README_MAX (64 * 1024)

enum lab_op { OP_STATUS, OP_START, OP_STOP, OP_STOP_MINE };

struct lab_row {
	const struct lab_def *def;
	struct lab_info info;
	bool known;           /* info holds a status */
	bool started_here;    /* this TUI started it: quitting asks about it */
	char *more;           /* what the lab runs besides its broker (lab_def.more_describe) */
};

struct vlabs {
	struct lab_row rows[LABS_MAX];
	size_t n;
	struct tui_pane list, text;
	int text_for;         /* the row the instructions were read for */
	char *readme;         /* its README, or NULL */
	int list_y, text_y, text_x;
	bool wide;
};

/* What a job carries to the worker thread and back: the thread touches nothing else. */
struct lab_job {
	struct vlabs *v;
	enum lab_op op;
	size_t n;
	char names[LABS_MAX][32];
	struct lab_info info[LABS_MAX];
	bool ok[LABS_MAX];
	char err[LABS_MAX][512];
	char *more[LABS_MAX];
};

static const struct tui_key_help keys[] = {
	{ "Up Down", "select a lab" },
	{ "s", "start the selected lab's broker" },
	{ "x", "stop it" },
	{ "Enter d", "diagnose the lab's broker (starts it first if needed)" },
	{ "u", "update every lab's status" },
	{ "PgUp PgDn", "scroll the instructions" },
	{ NULL, NULL },
};

static void job_work(void *arg)
{
	struct lab_job *j = arg;

	for (size_t i = 0; i < j->n; i++) {
		struct mq_err err = { 0 };
		int rc;
		switch (j->op) {
		case OP_START:
			rc = lab_start(j->names[i], &j->info[i], &err);
			break;
		case OP_STOP:
		case OP_STOP_MINE:
			rc = lab_stop(j->names[i], &j->info[i], &err);
			j->info[i].running = rc < 0;
			break;
		default:
			rc = lab_status(j->names[i], &j->info[i], &err);
		}
		j->ok[i] = rc == 0;
		snprintf(j->err[i], sizeof j->err[i], "%s", err.msg);
		if (rc == 0 && j->info[i].running) {
			const struct lab_def *d = lab_find(j->names[i]);
			if (d && d->more_describe)
				j->more[i] = d->more_describe(&j->info[i]);
		}
	}
}

static struct lab_row *row_of(struct vlabs *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->rows[i].def->name, name))
			return &v->rows[i];
	return NULL;
}

static void diagnose_row(struct tui *t, struct lab_row *r)
{
	struct target tg;
	char label[160];

	target_init(&tg);
	free(tg.host);
	tg.host = strdup(r->info.host);
	tg.port = r->info.port;
	tg.port_given = true;
	tg.cafile = strdup(r->info.cafile);
	tg.tls_opts_given = true;
	snprintf(label, sizeof label, "%s:%d (lab %s)", r->info.host, r->info.port, r->def->name);
	model_start(t, &tg, label);
	view_connect_show_target(t, tui_view_state(t, V_CONNECT), &tg);
	target_free(&tg);
	tui_switch(t, V_DIAGNOSE);
}

static void job_done(struct tui *t, void *arg)
{
	struct lab_job *j = arg;
	struct vlabs *v = j->v;

	for (size_t i = 0; i < j->n; i++) {
		struct lab_row *r = row_of(v, j->names[i]);
		if (!r) {
			free(j->more[i]);
			continue;
		}
		free(r->more);
		r->more = j->more[i];
		j->more[i] = NULL;
		if (!j->ok[i]) {
			tui_status(t, S_FAIL, "lab %s: %s", j->names[i], j->err[i]);
			continue;
		}
		r->info = j->info[i];
		r->known = true;
		switch (j->op) {
		case OP_START:
			if (!j->info[i].reused)
				r->started_here = true;
			tui_status(t, S_OK, "lab %s %s on %s:%d", j->names[i], j->info[i].reused ? "was running" : "started",
				   j->info[i].host, j->info[i].port);
			if (!strcmp(j->names[i], LAB_BUILTIN)) {
				t->builtin = j->info[i];
				t->have_builtin = true;
			}
			break;
		case OP_STOP:
		case OP_STOP_MINE:
			r->started_here = false;
			r->info.running = false;
			tui_status(t, S_OK, "lab %s stopped", j->names[i]);
			break;
		default:
			break;
		}
	}
	free(j);
}

static int run_op(struct tui *t, struct vlabs *v, enum lab_op op, const char *only, const char *what)
{
	struct lab_job *j = calloc(1, sizeof *j);

	if (!j)
		return TUI_REDRAW;
	j->v = v;
	j->op = op;
	for (size_t i = 0; i < v->n; i++) {
		if (only && strcmp(v->rows[i].def->name, only))
			continue;
		if (op == OP_STOP_MINE && !v->rows[i].started_here)
			continue;
		snprintf(j->names[j->n++], sizeof j->names[0], "%s", v->rows[i].def->name);
	}
	if (job_run(t, what, job_work, job_done, j) < 0)
		free(j);
	return TUI_REDRAW;
}

static void *vlabs_create(struct tui *t)
{
	struct vlabs *v = calloc(1, sizeof *v);
	const struct lab_def *defs;
	size_t n;

	(void)t;
	if (!v)
		abort();
	defs = lab_defs(&n);
	for (size_t i = 0; i < n && i < LABS_MAX; i++)
		v->rows[v->n++].def = &defs[i];
	v->list.selectable = true;
	v->text.selectable = false;
	v->text_for = -1;
	return v;
}

static void vlabs_destroy(struct tui *t, void *p)
{
	struct vlabs *v = p;
	(void)t;
	lines_free(&v->list.lines);
	lines_free(&v->text.lines);
	for (size_t i = 0; i < v->n; i++)
		free(v->rows[i].more);
	free(v->readme);
	free(v);
}

/* labs/NN-NAME/README.md (or labs/NAME/README.md) under the data directory. */
static char *read_readme(const char *name)
{
	char dir[4096], path[4096 + 300];
	DIR *d;
	struct dirent *e;
	char *text = NULL;
	size_t len;
	struct mq_err err = { 0 };

	snprintf(dir, sizeof dir, "%s/labs", mq_data_dir());
	d = opendir(dir);
	if (!d)
		return NULL;
	while (!text && (e = readdir(d))) {
		const char *dash = strchr(e->d_name, '-');
		if (strcmp(e->d_name, name) && !(dash && !strcmp(dash + 1, name)))
			continue;
		snprintf(path, sizeof path, "%s/%s/README.md", dir, e->d_name);
		if (mq_read_file(path, README_MAX, &text, &len, &err) < 0)
			text = NULL;
	}
	closedir(d);
	return text;
}

static void fill_text(struct tui *t, struct vlabs *v, struct lab_row *r)
{
	struct tui_lines *l = &v->text.lines;

	lines_add(l, -1, S_HEAD, " %s", r->def->name);
	lines_wrap(t, l, -1, S_BOLD, 1, r->def->title);
	lines_blank(l, -1);
	if (r->known && r->info.running) {
		char line[8192];
		lines_add(l, -1, S_OK, " %s running", draw_glyph(t, G_OK));
		lines_seg(l, S_NORMAL, " on %s:%d (pid %ld)%s", r->info.host, r->info.port, (long)r->info.pid,
			  r->started_here ? ", started here" : "");
		lines_add(l, -1, S_DIM, " %s", "Try it from a shell:");
		snprintf(line, sizeof line, "mosquitto_sub -h %s -p %d --cafile %s -t lab/test -v", r->info.host,
			 r->info.port, r->info.cafile);
		lines_wrap(t, l, -1, S_NORMAL, 3, line);
		snprintf(line, sizeof line, "mqttls diagnose -h %s -p %d --cafile %s", r->info.host, r->info.port,
			 r->info.cafile);
		lines_wrap(t, l, -1, S_NORMAL, 3, line);
		lines_add(l, -1, S_DIM, " %s", "Broker log:");
		lines_wrap(t, l, -1, S_NORMAL, 3, r->info.log);
		if (r->more) {
			lines_blank(l, -1);
			lines_wrap(t, l, -1, S_NORMAL, 1, r->more);
		}
	} else if (r->known) {
		lines_add(l, -1, S_DIM, " %s", "stopped - s starts it");
	}
	lines_blank(l, -1);
	if (v->readme) {
		/* The lab's README is the project's own file; still, it is drawn through the escaping layer. */
		lines_wrap(t, l, -1, S_NORMAL, 1, v->readme);
	}
}

static void vlabs_draw(struct tui *t, void *p, const struct tui_rect *r)
{
	struct vlabs *v = p;
	struct tui_lines *l = &v->list.lines;
	struct tui_rect lr, tr;
	int sel;

	v->wide = r->w >= 100;
	lines_clear(l);
	l->width = r->w;
	for (size_t i = 0; i < v->n; i++) {
		struct lab_row *row = &v->rows[i];
		const char *state = !row->known ? "?" : row->info.running ? "running" : "stopped";
		if (!tui_filter_match(t, row->def->name) && !tui_filter_match(t, row->def->title))
			continue;
		lines_add(l, (int)i, row->known && row->info.running ? S_OK : S_DIM, " %-8s ", state);
		lines_seg(l, S_BOLD, "%-12s ", row->def->name);
		if (v->wide || r->w >= 60)
			lines_seg(l, S_NORMAL, "%s", v->wide ? "" : row->def->title);
	}
	v->list.nitems = (int)v->n;
	if (v->wide) {
		lr = (struct tui_rect){ r->y + 1, r->x, r->h - 1, 34 };
		tr = (struct tui_rect){ r->y + 1, r->x + 35, r->h - 1, r->w - 35 };
	} else {
		int lh = (int)v->n + 1;
		if (lh > r->h / 3)
			lh = r->h / 3;
		lr = (struct tui_rect){ r->y + 1, r->x, lh, r->w };
		tr = (struct tui_rect){ r->y + 2 + lh, r->x, r->h - lh - 2, r->w };
	}
	draw_text(t, r->y, r->x, r->w, S_HEAD, " Labs  s:start  x:stop  Enter:diagnose  u:update");
	v->list_y = lr.y - r->y;
	pane_draw(t, &v->list, &lr);
	if (!v->wide)
		for (int x = r->x; x < r->x + r->w; x++)
			draw_text(t, tr.y - 1, x, 1, S_DIM, draw_glyph(t, G_HLINE));

	sel = v->list.sel;
	if (sel < 0 || (size_t)sel >= v->n)
		return;
	if (v->text_for != sel) {
		free(v->readme);
		v->readme = read_readme(v->rows[sel].def->name);
		v->text_for = sel;
		v->text.top = 0;
	}
	lines_clear(&v->text.lines);
	v->text.lines.width = tr.w - 1;
	fill_text(t, v, &v->rows[sel]);
	v->text_y = tr.y - r->y;
	v->text_x = tr.x - r->x;
	pane_draw(t, &v->text, &tr);
}

static struct lab_row *selected(struct vlabs *v)
{
	return v->list.sel >= 0 && (size_t)v->list.sel < v->n ? &v->rows[v->list.sel] : NULL;
}

static void start_then_diagnose_done(struct tui *t, void *arg)
{
	struct lab_job *j = arg;
	struct vlabs *v = j->v;
	char name[32];
	bool ok = j->n == 1 && j->ok[0];

	snprintf(name, sizeof name, "%s", j->names[0]);
	job_done(t, j);
	if (ok) {
		struct lab_row *r = row_of(v, name);
		if (r)
			diagnose_row(t, r);
	}
}

static int vlabs_key(struct tui *t, void *p, int key)
{
	struct vlabs *v = p;
	struct lab_row *r = selected(v);
	char what[96];

	switch (key) {
	case K_UP:
	case K_DOWN:
	case K_HOME:
	case K_END:
		return pane_key(&v->list, key);
	case K_PGUP:
	case K_PGDN:
	case ' ':
		return pane_key(&v->text, key);
	case 'u':
		return run_op(t, v, OP_STATUS, NULL, "checking the labs");
	}
	if (!r)
		return TUI_UNHANDLED;
	if (key == 's') {
		snprintf(what, sizeof what, "starting lab %s", r->def->name);
		return run_op(t, v, OP_START, r->def->name, what);
	}
	if (key == 'x') {
		snprintf(what, sizeof what, "stopping lab %s", r->def->name);
		return run_op(t, v, OP_STOP, r->def->name, what);
	}
	if (key == 'd' || tui_key_is_enter(key)) {
		if (r->known && r->info.running) {
			diagnose_row(t, r);
			return TUI_REDRAW;
		}
		/* Start it first, then diagnose: one key for "show me this lab". */
		struct lab_job *j = calloc(1, sizeof *j);
		if (!j)
			return TUI_REDRAW;
		j->v = v;
		j->op = OP_START;
		j->n = 1;
		snprintf(j->names[0], sizeof j->names[0], "%s", r->def->name);
		snprintf(what, sizeof what, "starting lab %s", r->def->name);
		if (job_run(t, what, job_work, start_then_diagnose_done, j) < 0)
			free(j);
		return TUI_REDRAW;
	}
	return TUI_UNHANDLED;
}

static int vlabs_click(struct tui *t, void *p, int y, int x)
{
	struct vlabs *v = p;
	int item = pane_item_at(&v->list, y - v->list_y);

	(void)x;
	if (item < 0)
		return 0;
	if (item == v->list.sel)
		return vlabs_key(t, v, 'd');
	v->list.sel = item;
	return TUI_REDRAW;
}

static int vlabs_wheel(struct tui *t, void *p, int y, int delta)
{
	struct vlabs *v = p;
	(void)t;
	if (y >= v->text_y)
		return pane_scroll(&v->text, delta);
	return pane_scroll(&v->list, delta);
}

static void vlabs_shown(struct tui *t, void *p)
{
	struct vlabs *v = p;
	if (!job_busy(t))
		run_op(t, v, OP_STATUS, NULL, "checking the labs");
}

bool view_labs_running(struct tui *t, void *p, char *what, size_t size)
{
	struct vlabs *v = p;
	size_t o = 0;

	(void)t;
	what[0] = '\0';
	for (size_t i = 0; i < v->n; i++)
		if (v->rows[i].started_here && v->rows[i].info.running && o < size)
			o += (size_t)snprintf(what + o, size - o, "%s%s", o ? ", " : "", v->rows[i].def->name);
	return o > 0;
}

void view_labs_stop_all(struct tui *t, void *p)
{
	run_op(t, p, OP_STOP_MINE, NULL, "stopping the labs started here");
}

const struct tui_view view_labs = {
	.name = "Labs",
	.keys = keys,
	.hint = "s:start  x:stop  Enter:diagnose  u:update",
	.create = vlabs_create,
	.destroy = vlabs_destroy,
	.draw = vlabs_draw,
	.key = vlabs_key,
	.click = vlabs_click,
	.wheel = vlabs_wheel,
	.shown = vlabs_shown,
	.filterable = true,
};
