/* field — a one-line text editor for forms, prompts and pasted command lines. */
#include <string.h>

#include "tui.h"

static size_t prev_char(const struct tui_field *f, size_t i)
{
	while (i > 0) {
		i--;
		if (((unsigned char)f->buf[i] & 0xC0) != 0x80)
			break;
	}
	return i;
}

static size_t next_char(const struct tui_field *f, size_t i)
{
	if (i < f->len)
		i++;
	while (i < f->len && ((unsigned char)f->buf[i] & 0xC0) == 0x80)
		i++;
	return i;
}

void field_set(struct tui_field *f, const char *text)
{
	f->len = 0;
	f->cur = 0;
	f->scroll = 0;
	field_insert(f, text ? text : "", text ? strlen(text) : 0);
}

void field_insert(struct tui_field *f, const char *text, size_t n)
{
	/* Keep whole characters only: a paste cut at the end must not leave half of one. */
	if (f->len + n >= FIELD_MAX) {
		n = FIELD_MAX - 1 - f->len;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	memmove(f->buf + f->cur + n, f->buf + f->cur, f->len - f->cur);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		/* Newlines of a pasted multi-line command become spaces; other controls too. */
		f->buf[f->cur + i] = (c < 0x20 || c == 0x7F) ? ' ' : (char)c;
	}
	f->len += n;
	f->cur += n;
	f->buf[f->len] = '\0';
}

static void delete_range(struct tui_field *f, size_t a, size_t b)
{
	memmove(f->buf + a, f->buf + b, f->len - b);
	f->len -= b - a;
	f->buf[f->len] = '\0';
	f->cur = a;
}

size_t field_utf8(int c, char out[4])
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

int field_key(struct tui_field *f, int key)
{
	if (tui_key_is_enter(key))
		return FIELD_DONE;
	if (key == K_ESC)
		return FIELD_CANCEL;
	if (key == K_TAB || key == K_DOWN)
		return FIELD_NEXT | FIELD_DONE;
	if (key == K_BTAB || key == K_UP)
		return FIELD_PREV | FIELD_DONE;
	if (tui_key_is_backspace(key)) {
		if (f->cur > 0)
			delete_range(f, prev_char(f, f->cur), f->cur);
		return FIELD_EDITED;
	}
	switch (key) {
	case K_DC:
	case K_CTRL('d'):
		if (f->cur < f->len)
			delete_range(f, f->cur, next_char(f, f->cur));
		return FIELD_EDITED;
	case K_LEFT:
	case K_CTRL('b'):
		f->cur = prev_char(f, f->cur);
		return FIELD_EDITED;
	case K_RIGHT:
	case K_CTRL('f'):
		f->cur = next_char(f, f->cur);
		return FIELD_EDITED;
	case K_HOME:
	case K_CTRL('a'):
		f->cur = 0;
		return FIELD_EDITED;
	case K_END:
	case K_CTRL('e'):
		f->cur = f->len;
		return FIELD_EDITED;
	case K_CTRL('u'):
		delete_range(f, 0, f->cur);
		return FIELD_EDITED;
	case K_CTRL('k'):
		delete_range(f, f->cur, f->len);
		return FIELD_EDITED;
	case K_CTRL('w'): {
		size_t a = f->cur;
		while (a > 0 && f->buf[a - 1] == ' ')
			a--;
		while (a > 0 && f->buf[a - 1] != ' ')
			a--;
		delete_range(f, a, f->cur);
		return FIELD_EDITED;
	}
	}
	if (key >= 0x20 && key != 0x7F && key <= 0x10FFFF && !(key >= 0x80 && key < 0xA0)) {
		char u[4];
		field_insert(f, u, field_utf8(key, u));
		return FIELD_EDITED;
	}
	return 0;
}

void field_draw(struct tui *t, struct tui_field *f, int y, int x, int w, bool active)
{
	char shown[FIELD_MAX];
	size_t n = 0;
	int curcol;

	if (w <= 0)
		return;
	if (f->secret) {
		/* One star per character, so the length is visible but nothing else. */
		for (size_t i = 0; i < f->len && n + 1 < sizeof shown; i = next_char(f, i))
			shown[n++] = '*';
		shown[n] = '\0';
	} else {
		memcpy(shown, f->buf, f->len + 1);
	}
	{
		char before[FIELD_MAX];
		size_t cb = f->secret ? 0 : f->cur;
		if (f->secret)
			for (size_t i = 0; i < f->cur; i = next_char(f, i))
				cb++;
		memcpy(before, shown, cb);
		before[cb] = '\0';
		curcol = draw_width(t, before);
	}
	/* Scroll so the cursor stays inside, with a little context on the left. */
	if (curcol < f->scroll)
		f->scroll = curcol - w / 4 < 0 ? 0 : curcol - w / 4;
	if (curcol >= f->scroll + w)
		f->scroll = curcol - w + 1;
	draw_fill(t, y, x, w, active ? S_FIELD_ON : S_FIELD);
	{
		/* Skip scroll columns of text. */
		size_t skip = draw_fit(t, shown, f->scroll);
		draw_text(t, y, x, w, active ? S_FIELD_ON : S_FIELD, shown + skip);
	}
	if (active) {
		t->want_cursor = true;
		t->cursor_y = y;
		t->cursor_x = x + curcol - f->scroll;
	}
}
