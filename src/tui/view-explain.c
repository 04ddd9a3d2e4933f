/* view-explain — paste what a device, a client or a broker printed; read what it means. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/explain.h"
#include "mqttls/util.h"
#include "tui.h"

struct vexplain {
	struct tui_field input;
	bool editing;
	struct tui_field backup;
	struct explain_result res;
	char *asked;             /* the text explained, escaped */
	struct tui_pane pane;
	int pane_y;
};

static const struct tui_key_help keys[] = {
	{ "Enter e", "type or paste a line, then Enter explains it" },
	{ "(paste)", "pasting on this view explains the pasted text at once" },
	{ "Up Down PgUp PgDn", "scroll the explanations" },
	{ "x", "clear" },
	{ NULL, NULL },
};

static void *vexplain_create(struct tui *t)
{
	struct vexplain *v = calloc(1, sizeof *v);
	(void)t;
	if (!v)
		abort();
	v->pane.selectable = false;
	return v;
}

static void vexplain_destroy(struct tui *t, void *p)
{
	struct vexplain *v = p;
	(void)t;
	explain_result_free(&v->res);
	free(v->asked);
	lines_free(&v->pane.lines);
	free(v);
}

static void run_explain(struct vexplain *v)
{
	explain_result_free(&v->res);
	memset(&v->res, 0, sizeof v->res);
	free(v->asked);
	v->asked = NULL;
	v->pane.top = 0;
	if (!v->input.len)
		return;
	v->asked = mq_escape_dup(v->input.buf, v->input.len);
	explain_text(v->input.buf, v->input.len, &v->res);
}

static void fill(struct tui *t, struct vexplain *v)
{
	struct tui_lines *l = &v->pane.lines;
	bool guesses = false;

	if (!v->asked) {
		lines_wrap(t, l, -1, S_DIM, 1,
			   "Paste what a device, a client or a broker printed: an ESP32 line such as "
			   "\"failed, rc=-2\" or \"mbedtls_ssl_handshake returned -0x2700\", an esp-tls code, "
			   "\"Error: A TLS error occurred.\", an OpenSSL error:0A000086, a TLS alert, a CONNACK code, "
			   "or a mosquitto log line like \"Client <unknown> disconnected: Protocol error.\"");
		return;
	}
	if (!v->res.n) {
		lines_add(l, -1, S_WARN, " %s", "Nothing in this text is a code or message mqttls knows.");
		lines_wrap(t, l, -1, S_DIM, 1,
			   "Check the spelling, or paste the whole line as the device printed it. "
			   "mqttls would rather say so than guess.");
		return;
	}
	for (size_t i = 0; i < v->res.n; i++)
		guesses |= v->res.v[i].guess;
	if (guesses)
		lines_wrap(t, l, -1, S_DIM, 1, "A bare number can be several things; here is each reading.");
	for (size_t i = 0; i < v->res.n; i++) {
		const struct explain_item *it = &v->res.v[i];
		char hay[2048];

		snprintf(hay, sizeof hay, "%s %s %s %s", it->family, it->code, it->name ? it->name : "", it->meaning);
		if (!tui_filter_match(t, hay))
			continue;
		lines_blank(l, -1);
		lines_add(l, -1, S_DIM, " %s%s  ", it->guess ? "if it is " : "", it->family);
		lines_seg(l, S_BOLD, "%s", it->code);
		if (it->name && strcmp(it->name, it->code))
			lines_seg(l, S_INFO, "  %s", it->name);
		lines_wrap(t, l, -1, S_NORMAL, 3, it->meaning);
		if (it->detail)
			lines_wrap(t, l, -1, S_DIM, 3, it->detail);
		if (it->findings[0]) {
			struct mq_str f = { 0 };
			for (size_t k = 0; it->findings[k]; k++)
				mq_str_printf(&f, "%s%s", k ? ", " : "", it->findings[k]);
			lines_add(l, -1, S_DIM, "   %s", "related findings: ");
			lines_seg(l, S_WARN, "%s", f.s);
			mq_str_free(&f);
		}
		if (it->matched) {
			lines_add(l, -1, S_DIM, "   %s", "from: ");
			lines_seg_untrusted(l, S_DIM, it->matched, strlen(it->matched));
		}
	}
}

static void vexplain_draw(struct tui *t, void *p, const struct tui_rect *r)
{
	struct vexplain *v = p;
	int y = r->y + 1;

	draw_text(t, y, r->x + 1, 9, S_BOLD, "Explain ");
	field_draw(t, &v->input, y, r->x + 10, r->w - 11, v->editing);
	if (!v->editing && !v->input.len)
		draw_text(t, y, r->x + 10, r->w - 11, S_DIM, "press Enter, then type or paste");
	y += 2;
	if (v->asked) {
		char head[128];
		snprintf(head, sizeof head, " %zu explanation%s ", v->res.n, v->res.n == 1 ? "" : "s");
		draw_text(t, y, r->x, r->w, S_HEAD, head);
		y++;
	}
	lines_clear(&v->pane.lines);
	v->pane.lines.width = r->w - 1;
	fill(t, v);
	v->pane_y = y - r->y;
	pane_draw(t, &v->pane, &(struct tui_rect){ y, r->x, r->y + r->h - y, r->w });
}

static int vexplain_key(struct tui *t, void *p, int key)
{
	struct vexplain *v = p;

	(void)t;
	if (v->editing) {
		int fl = field_key(&v->input, key);
		if (fl & FIELD_CANCEL) {
			v->input = v->backup;
			v->editing = false;
		} else if (fl & FIELD_DONE) {
			v->editing = false;
			run_explain(v);
		}
		return TUI_REDRAW;
	}
	if (tui_key_is_enter(key) || key == 'e' || key == 'i') {
		v->editing = true;
		v->backup = v->input;
		v->input.cur = v->input.len;
		return TUI_REDRAW;
	}
	if (key == 'x') {
		field_set(&v->input, "");
		run_explain(v);
		return TUI_REDRAW;
	}
	return pane_key(&v->pane, key);
}

static int vexplain_paste(struct tui *t, void *p, const char *text, size_t n)
{
	struct vexplain *v = p;

	(void)t;
	if (!v->editing)
		field_set(&v->input, "");
	field_insert(&v->input, text, n);
	if (!v->editing)
		run_explain(v);
	return TUI_REDRAW;
}

static int vexplain_click(struct tui *t, void *p, int y, int x)
{
	struct vexplain *v = p;
	(void)t;
	(void)x;
	if (y == 1 && !v->editing) {
		v->editing = true;
		v->backup = v->input;
		v->input.cur = v->input.len;
	}
	return TUI_REDRAW;
}

static int vexplain_wheel(struct tui *t, void *p, int y, int delta)
{
	struct vexplain *v = p;
	(void)t;
	(void)y;
	return pane_scroll(&v->pane, delta);
}

static bool vexplain_editing(void *p)
{
	return ((struct vexplain *)p)->editing;
}

const struct tui_view view_explain = {
	.name = "Explain",
	.keys = keys,
	.hint = "Enter:type or paste  x:clear",
	.create = vexplain_create,
	.destroy = vexplain_destroy,
	.draw = vexplain_draw,
	.key = vexplain_key,
	.click = vexplain_click,
	.wheel = vexplain_wheel,
	.paste = vexplain_paste,
	.editing = vexplain_editing,
	.filterable = true,
};
