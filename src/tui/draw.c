/*
 * draw — styles with a monochrome fallback, glyphs with an ASCII fallback, text that can
 * never carry a control sequence to the terminal, and scrollable panes of lines.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "mqttls/util.h"
#include "tui.h"

/* ---- styles --------------------------------------------------------------------------------- */

struct style_def {
	short fg, bg;      /* -1: the terminal's default */
	attr_t color_attr; /* added when colours are on */
	attr_t mono;       /* used alone without colours: meaning never rests on colour alone */
};

static const struct style_def styles[S_STYLES] = {
	[S_NORMAL] = { -1, -1, 0, 0 },
	[S_TITLE] = { COLOR_WHITE, COLOR_BLUE, A_BOLD, A_REVERSE },
	[S_TAB] = { -1, -1, 0, 0 },
	[S_TAB_ON] = { COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD },
	[S_STATUS] = { COLOR_BLACK, COLOR_WHITE, 0, A_REVERSE },
	[S_DIM] = { -1, -1, A_DIM, A_DIM },
	[S_BOLD] = { -1, -1, A_BOLD, A_BOLD },
	[S_HEAD] = { COLOR_CYAN, -1, A_BOLD, A_BOLD | A_UNDERLINE },
	[S_OK] = { COLOR_GREEN, -1, A_BOLD, A_BOLD },
	[S_FAIL] = { COLOR_RED, -1, A_BOLD, A_BOLD },
	[S_WARN] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
	[S_INFO] = { COLOR_CYAN, -1, 0, 0 },
	[S_SEL] = { -1, -1, A_REVERSE, A_REVERSE },
	[S_BANNER] = { COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD },
	[S_MATCH] = { COLOR_BLACK, COLOR_GREEN, A_BOLD, A_BOLD | A_UNDERLINE },
	[S_KEY] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
	[S_FIELD] = { -1, -1, A_UNDERLINE, A_UNDERLINE },
	[S_FIELD_ON] = { COLOR_BLACK, COLOR_YELLOW, 0, A_REVERSE },
	[S_RUN] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
};

void draw_init(struct tui *t)
{
	if (t->color) {
		start_color();
		use_default_colors();
	}
	for (int s = 0; s < S_STYLES; s++) {
		const struct style_def *d = &styles[s];
		if (!t->color) {
			t->attr[s] = d->mono;
			continue;
		}
		if (d->fg == -1 && d->bg == -1) {
			t->attr[s] = d->color_attr;
			continue;
		}
		init_pair((short)(s + 1), d->fg, d->bg);
		t->attr[s] = COLOR_PAIR(s + 1) | d->color_attr;
	}
}

attr_t draw_attr(const struct tui *t, enum tui_style s)
{
	return s < S_STYLES ? t->attr[s] : 0;
}

/* ---- glyphs --------------------------------------------------------------------------------- */

static const char *const glyphs[G_GLYPHS][2] = {
	/*                 UTF-8      ASCII */
	[G_OK] = { "\u2713", "+" },
	[G_FAIL] = { "\u2717", "x" },
	[G_WARN] = { "!", "!" },
	[G_INFO] = { "i", "i" },
	[G_PENDING] = { "\u00b7", "." },
	[G_SKIP] = { "-", "-" },
	[G_TREE_MID] = { "\u251c\u2500 ", "|- " },
	[G_TREE_END] = { "\u2514\u2500 ", "`- " },
	[G_TREE_BAR] = { "\u2502  ", "|  " },
	[G_BAR_FULL] = { "\u2588", "#" },
	[G_BAR_EMPTY] = { "\u2591", "-" },
	[G_TODAY] = { "\u25bc", "v" },
	[G_ARROW] = { "\u2192", "->" },
	[G_LARROW] = { "\u2190", "<-" },
	[G_OPEN] = { "\u25be", "v" },
	[G_CLOSED] = { "\u25b8", ">" },
	[G_HLINE] = { "\u2500", "-" },
	[G_ELLIPSIS] = { "\u2026", "..." },
	[G_BULLET] = { "\u2022", "*" },
	[G_MARK] = { "\u25c0", "<" },
};

const char *draw_glyph(const struct tui *t, enum tui_glyph g)
{
	return glyphs[g][t->utf8 ? 0 : 1];
}

const char *draw_spinner(const struct tui *t)
{
	static const char *const u[] = { "\u280b", "\u2819", "\u2839", "\u2838", "\u283c", "\u2834", "\u2826",
					 "\u2827", "\u2807", "\u280f" };
	static const char *const a[] = { "|", "/", "-", "\\" };
	return t->utf8 ? u[t->tick % MQ_ARRAY_LEN(u)] : a[t->tick % MQ_ARRAY_LEN(a)];
}

/* ---- text ----------------------------------------------------------------------------------- */

/* Decode one UTF-8 character; invalid bytes come back as U+FFFD, one byte consumed. */
static uint32_t utf8_next(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	uint32_t c = *p++;
	int more = 0;
	uint32_t min = 0;

	if (c >= 0xF0 && c < 0xF5) {
		c &= 0x07;
		more = 3;
		min = 0x10000;
	} else if (c >= 0xE0) {
		c &= 0x0F;
		more = 2;
		min = 0x800;
	} else if (c >= 0xC2 && c < 0xE0) {
		c &= 0x1F;
		more = 1;
		min = 0x80;
	} else if (c >= 0x80) {
		*pp = p;
		return 0xFFFD;
	}
	for (int i = 0; i < more; i++) {
		if (p >= end || (*p & 0xC0) != 0x80) {
			*pp = *pp + 1;
			return 0xFFFD;
		}
		c = (c << 6) | (*p++ & 0x3F);
	}
	if (more && (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))) {
		*pp = *pp + 1;
		return 0xFFFD;
	}
	*pp = p;
	return c;
}

/* Characters that reorder or hide text: shown as '?' so a certificate cannot disguise itself. */
static bool invisible(uint32_t c)
{
	return (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x206F) ||
	       c == 0xFEFF || c == 0x00AD || (c >= 0xFFF9 && c <= 0xFFFB);
}

/* ASCII stand-ins for the punctuation mqttls's own texts use. */
static const char *translit(uint32_t c)
{
	static const struct { uint32_t c; const char *s; } tab[] = {
		{ 0x2014, "--" }, { 0x2013, "-" },  { 0x2018, "'" },  { 0x2019, "'" },  { 0x201C, "\"" },
		{ 0x201D, "\"" }, { 0x2026, "..." }, { 0x2192, "->" }, { 0x2190, "<-" }, { 0x2713, "+" },
		{ 0x2717, "x" },  { 0x2022, "*" },  { 0x00B7, "." },  { 0x00D7, "x" },  { 0x2265, ">=" },
		{ 0x2264, "<=" }, { 0x00A0, " " },  { 0x2500, "-" },  { 0x2502, "|" },
	};
	for (size_t i = 0; i < MQ_ARRAY_LEN(tab); i++)
		if (tab[i].c == c)
			return tab[i].s;
	return "?";
}

/*
 * Walk text as draw_text would: calls out(piece, bytes, columns) for every drawable piece
 * until w columns are used (w < 0: no limit). Returns the columns used; *consumed gets the
 * bytes of text consumed.
 */
typedef void (*piece_fn)(void *ctx, const wchar_t *wc, int n, const char *ascii);

static int walk(const struct tui *t, const char *text, int w, piece_fn out, void *ctx, size_t *consumed)
{
	const unsigned char *p = (const unsigned char *)text, *end = p + strlen(text);
	int used = 0;

	while (p < end && *p != '\n') {
		const unsigned char *start = p;
		uint32_t c = utf8_next(&p, end);
		int cw;
		wchar_t wc[2] = { 0, 0 };
		const char *ascii = NULL;
		char one[2] = { 0, 0 };

		if (c < 0x20 || (c >= 0x7F && c < 0xA0) || invisible(c)) {
			one[0] = '?';
			ascii = one;
			cw = 1;
		} else if (c < 0x80) {
			one[0] = (char)c;
			ascii = one;
			cw = 1;
		} else if (!t->utf8) {
			ascii = translit(c);
			cw = (int)strlen(ascii);
		} else {
			wc[0] = (wchar_t)c;
			cw = wcwidth(wc[0]);
			if (cw < 0 || c == 0xFFFD) {
				one[0] = '?';
				ascii = one;
				cw = 1;
			}
		}
		if (w >= 0 && used + cw > w) {
			p = start;
			break;
		}
		if (out)
			out(ctx, ascii ? NULL : wc, ascii ? 0 : 1, ascii);
		used += cw;
	}
	if (consumed)
		*consumed = (size_t)(p - (const unsigned char *)text);
	return used;
}

struct put_ctx {
	struct tui *t;
};

static void put_piece(void *ctx, const wchar_t *wc, int n, const char *ascii)
{
	(void)ctx;
	if (ascii)
		addstr(ascii);
	else
		addnwstr(wc, n);
}

int draw_text(struct tui *t, int y, int x, int w, enum tui_style s, const char *text)
{
	int used;

	if (w <= 0 || y < 0 || y >= t->rows || x >= t->cols)
		return 0;
	if (x + w > t->cols)
		w = t->cols - x;
	attrset(draw_attr(t, s));
	move(y, x);
	used = walk(t, text ? text : "", w, put_piece, NULL, NULL);
	attrset(A_NORMAL);
	return used;
}

int draw_untrusted(struct tui *t, int y, int x, int w, enum tui_style s, const void *p, size_t n)
{
	char *e = mq_escape_dup(p, n);
	int used = draw_text(t, y, x, w, s, e ? e : "");
	free(e);
	return used;
}

void draw_fill(struct tui *t, int y, int x, int w, enum tui_style s)
{
	if (y < 0 || y >= t->rows || w <= 0)
		return;
	if (x + w > t->cols)
		w = t->cols - x;
	attrset(draw_attr(t, s));
	mvhline(y, x, ' ', w);
	attrset(A_NORMAL);
}

int draw_width(const struct tui *t, const char *text)
{
	return walk(t, text ? text : "", -1, NULL, NULL, NULL);
}

size_t draw_fit(const struct tui *t, const char *text, int w)
{
	size_t n = 0;
	walk(t, text ? text : "", w, NULL, NULL, &n);
	return n;
}

void draw_box(struct tui *t, const struct tui_rect *r, enum tui_style s)
{
	for (int y = r->y; y < r->y + r->h; y++)
		draw_fill(t, y, r->x, r->w, s);
	attrset(draw_attr(t, s));
	if (t->utf8) {
		mvhline_set(r->y, r->x, WACS_HLINE, r->w);
		mvhline_set(r->y + r->h - 1, r->x, WACS_HLINE, r->w);
		mvvline_set(r->y, r->x, WACS_VLINE, r->h);
		mvvline_set(r->y, r->x + r->w - 1, WACS_VLINE, r->h);
		mvadd_wch(r->y, r->x, WACS_ULCORNER);
		mvadd_wch(r->y, r->x + r->w - 1, WACS_URCORNER);
		mvadd_wch(r->y + r->h - 1, r->x, WACS_LLCORNER);
		mvadd_wch(r->y + r->h - 1, r->x + r->w - 1, WACS_LRCORNER);
	} else {
		mvhline(r->y, r->x, '-', r->w);
		mvhline(r->y + r->h - 1, r->x, '-', r->w);
		mvvline(r->y, r->x, '|', r->h);
		mvvline(r->y, r->x + r->w - 1, '|', r->h);
		mvaddch(r->y, r->x, '+');
		mvaddch(r->y, r->x + r->w - 1, '+');
		mvaddch(r->y + r->h - 1, r->x, '+');
		mvaddch(r->y + r->h - 1, r->x + r->w - 1, '+');
	}
	attrset(A_NORMAL);
}

/* ---- lines ---------------------------------------------------------------------------------- */

void lines_clear(struct tui_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		for (int k = 0; k < l->v[i].nseg; k++)
			free(l->v[i].seg[k].text);
	l->n = 0;
}

void lines_free(struct tui_lines *l)
{
	lines_clear(l);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static struct tui_line *line_new(struct tui_lines *l, int item)
{
	struct tui_line *ln;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct tui_line *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			abort();
		l->v = v;
		l->cap = cap;
	}
	ln = &l->v[l->n++];
	memset(ln, 0, sizeof *ln);
	ln->item = item;
	return ln;
}

static void seg_add(struct tui_lines *l, enum tui_style s, char *text)
{
	struct tui_line *ln;

	if (!l->n)
		line_new(l, -1);
	ln = &l->v[l->n - 1];
	if (ln->nseg == LINE_SEGS) {
		/* Full: the last segment takes the rest, in its own style. */
		struct tui_seg *last = &ln->seg[LINE_SEGS - 1];
		size_t a = strlen(last->text), b = strlen(text);
		char *m = realloc(last->text, a + b + 1);
		if (!m)
			abort();
		memcpy(m + a, text, b + 1);
		last->text = m;
		free(text);
		return;
	}
	ln->seg[ln->nseg].text = text;
	ln->seg[ln->nseg].style = s;
	ln->nseg++;
}

static char *vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	return s;
}

void lines_add(struct tui_lines *l, int item, enum tui_style s, const char *fmt, ...)
{
	va_list ap;

	line_new(l, item);
	va_start(ap, fmt);
	seg_add(l, s, vfmt(fmt, ap));
	va_end(ap);
}

void lines_seg(struct tui_lines *l, enum tui_style s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	seg_add(l, s, vfmt(fmt, ap));
	va_end(ap);
}

void lines_seg_untrusted(struct tui_lines *l, enum tui_style s, const void *p, size_t n)
{
	char *e = mq_escape_dup(p, n);
	if (!e)
		abort();
	seg_add(l, s, e);
}

void lines_blank(struct tui_lines *l, int item)
{
	lines_add(l, item, S_NORMAL, "%s", "");
}

void lines_wrap(struct tui *t, struct tui_lines *l, int item, enum tui_style s, int indent, const char *text)
{
	int width = (l->width > 0 ? l->width : 80) - indent;
	const char *p = text ? text : "";

	if (width < 10)
		width = 10;
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t plen = nl ? (size_t)(nl - p) : strlen(p);
		char *para = strndup(p, plen);
		const char *q = para;
		int lead = 0, w = width, ind = indent;

		if (!para)
			abort();
		/* An indented line (a command in a fix) continues under itself, not under the margin. */
		while (para[lead] == ' ' && lead < width / 2)
			lead++;
		do {
			size_t fit = draw_fit(t, q, w), cut = fit;
			if (q[fit]) {
				/* Break at the last space that fits, unless the word is longer than a line. */
				size_t sp = fit;
				while (sp > 0 && q[sp] != ' ')
					sp--;
				if (sp > 0)
					cut = sp;
			}
			if (cut == 0 && *q)
				cut = 1;
			lines_add(l, item, s, "%*s%.*s", ind, "", (int)cut, q);
			q += cut;
			while (*q == ' ')
				q++;
			ind = indent + lead;
			w = width - lead;
		} while (*q);
		free(para);
		if (!nl)
			break;
		p = nl + 1;
	}
}

static int line_width(const struct tui *t, const struct tui_line *ln)
{
	int w = 0;
	for (int k = 0; k < ln->nseg; k++)
		w += draw_width(t, ln->seg[k].text);
	return w;
}

void lines_wrap_seg(struct tui *t, struct tui_lines *l, enum tui_style s, int hang, const char *text)
{
	int width = l->width > 0 ? l->width : 80, item, avail;
	const char *q = text ? text : "";
	bool first = true;

	if (!l->n)
		line_new(l, -1);
	item = l->v[l->n - 1].item;
	if (hang > width / 2)
		hang = width / 2;
	avail = width - line_width(t, &l->v[l->n - 1]);
	for (;;) {
		size_t nl = strcspn(q, "\n"), fit, cut;
		char *piece = strndup(q, nl), *seg;

		if (!piece)
			abort();
		if (avail < 8)
			avail = 8;
		fit = draw_fit(t, piece, avail);
		cut = fit;
		if (piece[fit]) {
			/* Break at the last space that fits, unless the word is longer than a line. */
			size_t sp = fit;
			while (sp > 0 && piece[sp] != ' ')
				sp--;
			if (sp > 0)
				cut = sp;
		}
		if (!first) {
			line_new(l, item);
			if (hang)
				lines_seg(l, S_NORMAL, "%*s", hang, "");
		}
		seg = strndup(piece, cut);
		if (!seg)
			abort();
		seg_add(l, s, seg);
		free(piece);
		q += cut;
		first = false;
		avail = width - hang;
		while (*q == ' ')
			q++;
		if (*q == '\n' && q[1])
			q++;
		else if (!*q || *q == '\n')
			break;
	}
}

/* ---- panes ---------------------------------------------------------------------------------- */

static int first_line_of(const struct tui_pane *p, int item, int *last)
{
	int first = -1;
	for (size_t i = 0; i < p->lines.n; i++) {
		if (p->lines.v[i].item != item)
			continue;
		if (first < 0)
			first = (int)i;
		if (last)
			*last = (int)i;
	}
	return first;
}

void pane_draw(struct tui *t, struct tui_pane *p, const struct tui_rect *r)
{
	int n = (int)p->lines.n, h = r->h;

	p->height = h;
	p->rows = 0;
	if (h <= 0 || r->w <= 0)
		return;
	if (p->selectable) {
		if (p->sel >= p->nitems)
			p->sel = p->nitems - 1;
		if (p->sel < 0 && p->nitems > 0)
			p->sel = 0;
		if (p->sel >= 0) {
			int last = 0, first = first_line_of(p, p->sel, &last);
			if (first >= 0) {
				if (last - first + 1 > h)
					last = first + h - 1;
				if (first < p->top)
					p->top = first;
				if (last >= p->top + h)
					p->top = last - h + 1;
			}
		}
	} else if (p->follow) {
		p->top = n - h;
	}
	if (p->top > n - h)
		p->top = n - h;
	if (p->top < 0)
		p->top = 0;

	for (int row = 0; row < h && row < (int)MQ_ARRAY_LEN(p->row_item); row++) {
		int li = p->top + row, x = r->x;
		bool sel;
		const struct tui_line *ln;

		draw_fill(t, r->y + row, r->x, r->w, S_NORMAL);
		p->row_item[row] = -1;
		p->rows = row + 1;
		if (li >= n)
			continue;
		ln = &p->lines.v[li];
		p->row_item[row] = ln->item;
		sel = p->selectable && ln->item >= 0 && ln->item == p->sel;
		if (sel)
			draw_fill(t, r->y + row, r->x, r->w, S_SEL);
		for (int k = 0; k < ln->nseg && x < r->x + r->w; k++) {
			enum tui_style s = ln->seg[k].style;
			if (sel && (s == S_NORMAL || s == S_DIM || s == S_BOLD))
				s = S_SEL;
			x += draw_text(t, r->y + row, x, r->x + r->w - x, s, ln->seg[k].text);
		}
	}
	/* A scroll hint when there is more than fits. */
	if (n > h && r->w > 4) {
		if (p->top > 0)
			draw_text(t, r->y, r->x + r->w - 1, 1, S_DIM, t->utf8 ? "\u25b2" : "^");
		if (p->top + h < n)
			draw_text(t, r->y + h - 1, r->x + r->w - 1, 1, S_DIM, t->utf8 ? "\u25bc" : "v");
	}
}

int pane_scroll(struct tui_pane *p, int delta)
{
	int n = (int)p->lines.n, h = p->height > 0 ? p->height : 1;

	p->top += delta;
	if (p->top > n - h)
		p->top = n - h;
	if (p->top < 0)
		p->top = 0;
	p->follow = p->top >= n - h;
	if (p->selectable && p->sel >= 0) {
		/* Keep the selection on screen, so the next draw does not scroll back. */
		int first = first_line_of(p, p->sel, NULL);
		if (first >= 0 && (first < p->top || first >= p->top + h)) {
			for (int i = p->top; i < n && i < p->top + h; i++) {
				if (p->lines.v[i].item >= 0) {
					p->sel = p->lines.v[i].item;
					break;
				}
			}
		}
	}
	return TUI_REDRAW;
}

int pane_key(struct tui_pane *p, int key)
{
	int h = p->height > 1 ? p->height - 1 : 1;

	if (!p->selectable) {
		switch (key) {
		case K_UP:
			return pane_scroll(p, -1);
		case K_DOWN:
			return pane_scroll(p, 1);
		case K_PGUP:
			return pane_scroll(p, -h);
		case K_PGDN:
		case ' ':
			return pane_scroll(p, h);
		case K_HOME:
			return pane_scroll(p, -(int)p->lines.n);
		case K_END:
			return pane_scroll(p, (int)p->lines.n);
		}
		return TUI_UNHANDLED;
	}
	switch (key) {
	case K_UP:
		if (p->sel > 0)
			p->sel--;
		return TUI_REDRAW;
	case K_DOWN:
		if (p->sel + 1 < p->nitems)
			p->sel++;
		return TUI_REDRAW;
	case K_HOME:
		p->sel = 0;
		p->top = 0;
		return TUI_REDRAW;
	case K_END:
		p->sel = p->nitems - 1;
		return TUI_REDRAW;
	case K_PGUP:
	case K_PGDN: {
		/* Move by a screenful of lines, landing on the item there. */
		int first = first_line_of(p, p->sel, NULL), target;
		if (first < 0)
			first = 0;
		target = first + (key == K_PGUP ? -h : h);
		if (target < 0)
			target = 0;
		if (target >= (int)p->lines.n)
			target = (int)p->lines.n - 1;
		if (key == K_PGUP) {
			for (int i = target; i >= 0; i--)
				if (p->lines.v[i].item >= 0) {
					p->sel = p->lines.v[i].item;
					break;
				}
			if (target == 0)
				p->sel = 0;
			p->top -= h;
		} else {
			for (int i = target; i < (int)p->lines.n; i++)
				if (p->lines.v[i].item >= 0) {
					p->sel = p->lines.v[i].item;
					break;
				}
			if (target >= (int)p->lines.n - 1)
				p->sel = p->nitems - 1;
			p->top += h;
		}
		if (p->top < 0)
			p->top = 0;
		return TUI_REDRAW;
	}
	}
	return TUI_UNHANDLED;
}

int pane_item_at(const struct tui_pane *p, int y)
{
	if (y < 0 || y >= p->rows || y >= (int)MQ_ARRAY_LEN(p->row_item))
		return -1;
	return p->row_item[y];
}
