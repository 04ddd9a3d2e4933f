/*
 * view-labs — the classroom labs beside their instructions: start, hint, check, reset, stop,
 * and diagnose a lab's broker. Every lab engine call blocks (it starts mosquitto and waits,
 * or makes real connections for a check), so each runs as a job off the loop and its result
 * comes back to the view's rows.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/lab.h"
#include "mqttls/util.h"
#include "tui.h"

#define LABS_MAX 64
#define README_MAX (64 * 1024)
#define HINTS_MAX 16

enum lab_op { OP_STATUS, OP_START, OP_STOP, OP_STOP_MINE, OP_HINT, OP_CHECK, OP_RESET };

struct lab_row {
	const struct lab_def *def;
	struct lab_info info;
	bool known;              /* info holds a status */
	bool started_here;       /* this TUI started it: quitting asks about it */
	char *more;              /* what runs beside its broker (lab_companions_describe) */
	char *hints[HINTS_MAX];  /* revealed so far, in order */
	size_t n_hints, hints_total;
	struct lab_check check;  /* the last check made here */
	bool checked;
};

struct vlabs {
	struct lab_row rows[LABS_MAX];
	size_t n;
	struct tui_pane list, text;
	int text_for;            /* the row the README was read for */
	char *readme;
	int list_y, text_y;
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
	struct lab_hint hint;
	struct lab_check check;
	char kept[PATH_MAX + 64];
	bool then_diagnose;
};

static const struct tui_key_help keys[] = {
	{ "Up Down", "select a lab" },
	{ "s", "start the selected lab (its broker and fault)" },
	{ "h", "the next hint" },
	{ "c", "check your fix with real connections" },
	{ "Enter d", "diagnose the lab's broker (starts the lab first if needed)" },
	{ "R", "reset the lab: your files are kept aside, the fault is set up again" },
	{ "x", "stop the lab" },
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
		case OP_HINT:
			rc = lab_hint(j->names[i], &j->hint, &err);
			if (rc == 0)
				rc = lab_status(j->names[i], &j->info[i], &err);
			break;
		case OP_CHECK:
			rc = lab_check(j->names[i], &j->check, &err);
			if (rc == 0)
				rc = lab_status(j->names[i], &j->info[i], &err);
			break;
		case OP_RESET:
			rc = lab_reset(j->names[i], &j->info[i], j->kept, sizeof j->kept, &err);
			break;
		default:
			rc = lab_status(j->names[i], &j->info[i], &err);
		}
		j->ok[i] = rc == 0;
		snprintf(j->err[i], sizeof j->err[i], "%s", err.msg);
		if (j->ok[i] && j->info[i].running)
			j->more[i] = lab_companions_describe(&j->info[i]);
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
	char what[64];

	/* Its broker listens in a namespace of its own: from here a diagnosis would only time out. */
	if (r->info.netns) {
		tui_status(t, S_WARN, "lab %s runs on its own network (--netns): diagnose its broker inside it (nsenter "
			   "-t PID -n; 'mqttls lab status %s' names each namespace's PID)", r->def->name, r->def->name);
		return;
	}
	snprintf(what, sizeof what, "lab %s", r->def->name);
	model_start_lab(t, &r->info, what);
	tui_switch(t, V_DIAGNOSE);
}

static void row_hints_clear(struct lab_row *r)
{
	for (size_t k = 0; k < r->n_hints; k++)
		free(r->hints[k]);
	r->n_hints = 0;
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
			if (j->info[i].broker_error[0])
				tui_status(t, S_WARN, "lab %s is set up; its broker does not run (that is the fault?)", j->names[i]);
			else
				tui_status(t, S_OK, "lab %s %s on %s:%d", j->names[i], j->info[i].reused ? "was running" : "started",
					   j->info[i].host, j->info[i].port);
			if (!strcmp(j->names[i], LAB_BUILTIN) && j->info[i].running) {
				t->builtin = j->info[i];
				t->have_builtin = true;
			}
			if (j->then_diagnose && j->info[i].running)
				diagnose_row(t, r);
			break;
		case OP_STOP:
		case OP_STOP_MINE:
			r->started_here = false;
			r->info.running = false;
			tui_status(t, S_OK, "lab %s stopped", j->names[i]);
			break;
		case OP_HINT:
			/* The engine counts; the view keeps the texts so every hint so far stays readable. */
			if (j->hint.index > r->n_hints && r->n_hints < HINTS_MAX) {
				r->hints[r->n_hints++] = j->hint.text;
				j->hint.text = NULL;
			}
			r->hints_total = j->hint.total;
			tui_status(t, S_OK, "hint %zu of %zu for lab %s", j->hint.index, j->hint.total, j->names[i]);
			v->text.top = 0;
			break;
		case OP_CHECK:
			if (r->checked)
				lab_check_free(&r->check);
			r->check = j->check;
			memset(&j->check, 0, sizeof j->check);
			r->checked = true;
			tui_status(t, r->check.pass ? S_OK : S_WARN, "lab %s: %s", j->names[i],
				   r->check.pass ? "PASS - every check passes" : "not yet - see what still fails");
			v->text.top = 0;
			break;
		case OP_RESET:
			row_hints_clear(r);
			if (r->checked)
				lab_check_free(&r->check);
			r->checked = false;
			tui_status(t, S_OK, "lab %s is set up again%s%s", j->names[i], j->kept[0] ? "; your files: " : "",
				   j->kept);
			break;
		default:
			break;
		}
	}
	free(j->hint.text);
	if (j->op == OP_CHECK)
		lab_check_free(&j->check);
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

/*
 * The README is Markdown written for a 100-column editor; on the screen its hard line breaks and
 * fences only get in the way. Paragraphs and list items become one line each (lines_wrap wraps them
 * to the pane), fenced blocks keep their lines, indented, and the inline marks ** and ` go.
 */
static char *readme_reflow(const char *md)
{
	struct mq_str out = { 0 };
	bool fence = false, in_para = false;
	const char *p = md;

	while (*p) {
		size_t n = strcspn(p, "\n");
		const char *line = p, *txt;
		size_t tn;

		p += n;
		if (*p == '\n')
			p++;
		while (n && line[n - 1] == '\r')
			n--;
		if (n >= 3 && !strncmp(line, "```", 3)) {
			fence = !fence;
			if (in_para)
				mq_str_append(&out, "\n", 1);
			in_para = false;
			continue;
		}
		if (fence) {
			mq_str_printf(&out, "  %.*s\n", (int)n, line);
			continue;
		}
		txt = line;
		tn = n;
		while (tn && *txt == ' ') {
			txt++;
			tn--;
		}
		if (tn == 0) {
			if (in_para)
				mq_str_append(&out, "\n", 1);
			mq_str_append(&out, "\n", 1);
			in_para = false;
			continue;
		}
		bool heading = *txt == '#';
		bool item = (tn > 1 && (*txt == '-' || *txt == '*') && txt[1] == ' ') ||
			    (tn > 2 && txt[0] >= '0' && txt[0] <= '9' && (txt[1] == '.' || (txt[1] >= '0' && txt[1] <= '9')));
		if (heading) {
			while (tn && (*txt == '#' || *txt == ' ')) {
				txt++;
				tn--;
			}
		}
		if (in_para && (heading || item))
			mq_str_append(&out, "\n", 1);
		else if (in_para)
			mq_str_append(&out, " ", 1);
		for (size_t k = 0; k < tn; k++) {
			if (txt[k] == '`' || (txt[k] == '*' && k + 1 < tn && txt[k + 1] == '*')) {
				if (txt[k] == '*')
					k++;
				continue;
			}
			mq_str_append(&out, &txt[k], 1);
		}
		in_para = !heading;
		if (heading)
			mq_str_append(&out, "\n", 1);
	}
	return mq_str_take(&out);
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
	for (size_t i = 0; i < v->n; i++) {
		free(v->rows[i].more);
		row_hints_clear(&v->rows[i]);
		if (v->rows[i].checked)
			lab_check_free(&v->rows[i].check);
	}
	free(v->readme);
	free(v);
}

static void fill_check(struct tui *t, struct tui_lines *l, const struct lab_check *c)
{
	lines_add(l, -1, S_HEAD, " %s", "Last check ");
	lines_seg(l, c->pass ? S_OK : S_FAIL, "%s %s", draw_glyph(t, c->pass ? G_OK : G_FAIL),
		  c->pass ? "PASS: every check passes" : "not yet");
	if (!c->broker_running) {
		lines_add(l, -1, S_WARN, "   %s", "the broker is not running: ");
		lines_seg_untrusted(l, S_WARN, c->broker_error, strlen(c->broker_error));
	}
	for (size_t i = 0; i < c->n_items; i++) {
		const struct lab_check_item *it = &c->items[i];
		lines_add(l, -1, it->pass ? S_OK : S_FAIL, "   %s ", draw_glyph(t, it->pass ? G_OK : G_FAIL));
		lines_seg(l, S_NORMAL, "%s", it->why ? it->why : "");
		if (!it->pass) {
			char *e = NULL;
			if (asprintf(&e, "expected %s, observed %s%s%s", it->expect ? it->expect : "?",
				     it->observed ? it->observed : "?", it->title ? ": " : "", it->title ? it->title : "") < 0)
				e = NULL;
			if (e)
				lines_wrap(t, l, -1, S_WARN, 6, e);
			free(e);
			if (it->fix && *it->fix)
				lines_wrap(t, l, -1, S_DIM, 6, it->fix);
		}
		if (it->command)
			lines_wrap(t, l, -1, S_DIM, 6, it->command);
	}
}

static void fill_status(struct tui *t, struct tui_lines *l, const struct lab_row *r)
{
	char line[8192];

	if (r->known && r->info.running) {
		lines_add(l, -1, S_OK, " %s running", draw_glyph(t, G_OK));
		lines_seg(l, S_NORMAL, " on %s:%d (pid %ld)%s", r->info.host, r->info.port, (long)r->info.pid,
			  r->started_here ? ", started here" : "");
		snprintf(line, sizeof line, "try: mosquitto_sub -h %s -p %d --cafile %s -t 'lab/#' -v", r->info.host,
			 r->info.port, r->info.cafile);
		lines_wrap(t, l, -1, S_NORMAL, 1, line);
	} else if (r->known && r->info.active) {
		lines_add(l, -1, S_WARN, " %s", "set up, but its broker does not run");
		if (r->info.broker_error[0]) {
			lines_add(l, -1, S_DIM, "   %s", "");
			lines_seg_untrusted(l, S_WARN, r->info.broker_error, strlen(r->info.broker_error));
		}
	} else if (r->known) {
		lines_add(l, -1, S_DIM, " %s", "not started - s starts it");
	}
	if (r->known && r->info.workdir[0] && (r->info.running || r->info.active)) {
		lines_add(l, -1, S_DIM, " %s", "your files: ");
		lines_seg_untrusted(l, S_NORMAL, r->info.workdir, strlen(r->info.workdir));
	}
}

/* What was just asked for (status, check, hints) first; the lab's own text after it. */
static void fill_text(struct tui *t, struct vlabs *v, struct lab_row *r)
{
	struct tui_lines *l = &v->text.lines;
	const struct lab_def *d = r->def;

	lines_add(l, -1, S_HEAD, " %02d %s", d->number, d->name);
	lines_wrap(t, l, -1, S_BOLD, 1, d->title);
	fill_status(t, l, r);
	if (r->checked) {
		lines_blank(l, -1);
		fill_check(t, l, &r->check);
	}
	if (r->n_hints) {
		lines_blank(l, -1);
		lines_add(l, -1, S_HEAD, " Hints (%zu of %zu)", r->n_hints, r->hints_total);
		for (size_t k = r->n_hints; k-- > 0;) {
			/* The newest first: it is the one just asked for. */
			lines_add(l, -1, S_BOLD, "  %zu.", k + 1);
			lines_wrap(t, l, -1, S_NORMAL, 5, r->hints[k]);
		}
	} else if (d->n_hints) {
		lines_add(l, -1, S_DIM, " %zu hint%s: h shows the next one", d->n_hints, d->n_hints == 1 ? "" : "s");
	}
	if (d->tutorial) {
		lines_blank(l, -1);
		lines_wrap(t, l, -1, S_DIM, 1, d->tutorial);
	}
	if (d->summary) {
		lines_blank(l, -1);
		lines_wrap(t, l, -1, S_NORMAL, 1, d->summary);
	}
	if (r->more) {
		lines_blank(l, -1);
		lines_wrap(t, l, -1, S_NORMAL, 1, r->more);
	}
	if (v->readme) {
		lines_blank(l, -1);
		/* The lab's README is the project's own file; it is still drawn through the escaping layer. */
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
	if (!v->n)
		lines_add(l, -1, S_WARN, " %s", "no lab definitions found (labs/ in the data directory)");
	for (size_t i = 0; i < v->n; i++) {
		struct lab_row *row = &v->rows[i];
		const char *state = !row->known ? "" : row->info.running ? "running" : row->info.active ? "set up" : "";
		char hay[512];

		snprintf(hay, sizeof hay, "%s %s", row->def->name, row->def->title);
		if (!tui_filter_match(t, hay))
			continue;
		lines_add(l, (int)i, S_DIM, " %02d ", row->def->number);
		lines_seg(l, S_BOLD, "%-12s ", row->def->name);
		lines_seg(l, row->known && row->info.running ? S_OK : S_DIM, "%-8s", state);
		if (row->checked)
			lines_seg(l, row->check.pass ? S_OK : S_FAIL, "%s ", draw_glyph(t, row->check.pass ? G_OK : G_FAIL));
		if (!v->wide)
			lines_seg(l, S_NORMAL, " %s", row->def->title);
	}
	v->list.nitems = (int)v->n;
	if (v->wide) {
		lr = (struct tui_rect){ r->y + 1, r->x, r->h - 1, 36 };
		tr = (struct tui_rect){ r->y + 1, r->x + 37, r->h - 1, r->w - 37 };
	} else {
		int lh = r->h / 3;
		if (lh > (int)v->n)
			lh = (int)v->n;
		if (lh < 3)
			lh = 3;
		lr = (struct tui_rect){ r->y + 1, r->x, lh, r->w };
		tr = (struct tui_rect){ r->y + 2 + lh, r->x, r->h - lh - 2, r->w };
	}
	draw_text(t, r->y, r->x, r->w, S_HEAD, " Labs  s:start h:hint c:check Enter:diagnose R:reset x:stop");
	v->list_y = lr.y - r->y;
	pane_draw(t, &v->list, &lr);
	if (!v->wide)
		for (int x = r->x; x < r->x + r->w; x++)
			draw_text(t, tr.y - 1, x, 1, S_DIM, draw_glyph(t, G_HLINE));

	sel = v->list.sel;
	if (sel < 0 || (size_t)sel >= v->n)
		return;
	if (v->text_for != sel) {
		char *text = NULL;
		size_t len;
		struct mq_err err = { 0 };
		free(v->readme);
		v->readme = NULL;
		if (v->rows[sel].def->readme && mq_read_file(v->rows[sel].def->readme, README_MAX, &text, &len, &err) == 0) {
			v->readme = readme_reflow(text);
			free(text);
		}
		v->text_for = sel;
		v->text.top = 0;
	}
	lines_clear(&v->text.lines);
	v->text.lines.width = tr.w - 1;
	fill_text(t, v, &v->rows[sel]);
	v->text_y = tr.y - r->y;
	pane_draw(t, &v->text, &tr);
}

static struct lab_row *selected(struct vlabs *v)
{
	return v->list.sel >= 0 && (size_t)v->list.sel < v->n ? &v->rows[v->list.sel] : NULL;
}

static int on_reset(struct tui *t, void *ctx, int choice, const char *text)
{
	struct vlabs *v = ctx;
	struct lab_row *r = selected(v);
	char what[96];

	(void)text;
	if (choice != 'y' || !r)
		return TUI_REDRAW;
	snprintf(what, sizeof what, "resetting lab %s", r->def->name);
	return run_op(t, v, OP_RESET, r->def->name, what);
}

static int vlabs_key(struct tui *t, void *p, int key)
{
	struct vlabs *v = p;
	struct lab_row *r = selected(v);
	char what[128];

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
	switch (key) {
	case 's':
		snprintf(what, sizeof what, "starting lab %s", r->def->name);
		return run_op(t, v, OP_START, r->def->name, what);
	case 'x':
		snprintf(what, sizeof what, "stopping lab %s", r->def->name);
		return run_op(t, v, OP_STOP, r->def->name, what);
	case 'h':
		snprintf(what, sizeof what, "the next hint for lab %s", r->def->name);
		return run_op(t, v, OP_HINT, r->def->name, what);
	case 'c':
		snprintf(what, sizeof what, "checking lab %s with real connections", r->def->name);
		return run_op(t, v, OP_CHECK, r->def->name, what);
	case 'R':
		snprintf(what, sizeof what,
			 "Reset lab %s? Your files are moved aside and the fault is set up again. y/n", r->def->name);
		tui_confirm(t, what, "yn", on_reset, v);
		return TUI_REDRAW;
	}
	if (key == 'd' || tui_key_is_enter(key)) {
		struct lab_job *j;
		if (r->known && r->info.running) {
			diagnose_row(t, r);
			return TUI_REDRAW;
		}
		/* Start it first, then diagnose: one key for "show me this lab". */
		j = calloc(1, sizeof *j);
		if (!j)
			return TUI_REDRAW;
		j->v = v;
		j->op = OP_START;
		j->n = 1;
		j->then_diagnose = true;
		snprintf(j->names[0], sizeof j->names[0], "%s", r->def->name);
		snprintf(what, sizeof what, "starting lab %s", r->def->name);
		if (job_run(t, what, job_work, job_done, j) < 0)
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
		if (v->rows[i].started_here && (v->rows[i].info.running || v->rows[i].info.active) && o < size)
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
	.hint = "s:start  h:hint  c:check  Enter:diagnose  x:stop",
	.create = vlabs_create,
	.destroy = vlabs_destroy,
	.draw = vlabs_draw,
	.key = vlabs_key,
	.click = vlabs_click,
	.wheel = vlabs_wheel,
	.shown = vlabs_shown,
	.filterable = true,
};
