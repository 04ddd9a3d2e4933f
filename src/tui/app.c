/*
 * app — the TUI's loop and chrome: the terminal (curses, mouse, bracketed paste), one
 * libevent loop for keys, signals, timers and every engine session, the title, tab bar,
 * status line, help screen and prompts, and the promise that the terminal is restored
 * however the program ends.
 */
#include <ctype.h>
#include <errno.h>
#include <langinfo.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "mqttls/util.h"
#include "mqttls/version.h"
#include "tui.h"

#define MIN_ROWS 10
#define MIN_COLS 40
#define STATUS_SECONDS 6.0
#define PASTE_MAX (64 * 1024)
#define TICK_MS 100
/* Engine events can arrive thousands of times a second (a busy capture): the screen follows at
 * most this often, keys and resizes at once. */
#define REDRAW_MIN_MS 40

/* Modes the TUI turns on and must turn off: SGR mouse reports and bracketed paste. */
#define MODES_ON "\033[?1006h\033[?2004h"
#define MODES_OFF "\033[?2004l\033[?1006l\033[?1002l\033[?1000l"

static const struct tui_view *const views[V_COUNT] = {
	[V_CONNECT] = &view_connect, [V_DIAGNOSE] = &view_diagnose, [V_CHAIN] = &view_chain,
	[V_CAPTURE] = &view_capture, [V_MITM] = &view_mitm,	    [V_LABS] = &view_labs,
	[V_EXPLAIN] = &view_explain,
};

static const struct tui_key_help global_keys[] = {
	{ "? F1", "this help (every key of every view)" },
	{ "Tab Shift-Tab", "next / previous view" },
	{ "1-7 F2-F8", "go to a view by its number" },
	{ "Up Down PgUp PgDn", "move in lists and text" },
	{ "Home End", "first / last" },
	{ "/", "filter the list of this view (Esc clears)" },
	{ "mouse", "click a tab or a row; the wheel scrolls" },
	{ "Ctrl-L", "redraw the screen" },
	{ "q Ctrl-C", "quit (asks first when a lab or the MITM is running)" },
	{ NULL, NULL },
};

/* ---- terminal restore, whatever happens ---------------------------------------------------- */

static struct termios saved_termios;
static bool have_termios;
static volatile sig_atomic_t screen_active;
static struct sigaction old_fatal[32];
/* SIGQUIT (Ctrl-\) is the way out of a TUI that no longer answers: restore and die. */
static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT };

/* Async-signal-safe: only write() and tcsetattr(). */
static void restore_terminal_raw(void)
{
	static const char seq[] = MODES_OFF "\033[0m\033[?25h\033[?1049l\r\n";

	if (!screen_active)
		return;
	screen_active = 0;
	if (write(STDOUT_FILENO, seq, sizeof seq - 1) < 0) {
		/* nothing more can be done from here */
	}
	if (have_termios)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

static void on_fatal_signal(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	restore_terminal_raw();
	/* Hand over to whoever had the signal before (the sanitizers' report, or the default). */
	sigaction(sig, &old_fatal[sig], NULL);
	/* A real fault returns and faults again under the old handler; a signal sent by kill() or
	 * raise() (si_code <= 0) would not come back by itself, so it is sent again. */
	if (sig == SIGABRT || sig == SIGQUIT || !si || si->si_code <= 0)
		raise(sig);
}

/* AddressSanitizer's report ends the process without returning: restore the screen first. */
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static void at_exit_restore(void)
{
	restore_terminal_raw();
}

static void install_restorers(void)
{
	static bool done;
	struct sigaction sa;

	if (tcgetattr(STDIN_FILENO, &saved_termios) == 0)
		have_termios = true;
	if (done)
		return;
	done = true;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER | SA_SIGINFO;
	for (size_t i = 0; i < MQ_ARRAY_LEN(fatal_signals); i++)
		sigaction(fatal_signals[i], &sa, &old_fatal[fatal_signals[i]]);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(at_exit_restore);
	atexit(at_exit_restore);
}

/* ---- small services for the views ------------------------------------------------------ */

void tui_dirty(struct tui *t)
{
	t->dirty = true;
}

void *tui_view_state(struct tui *t, enum tui_view_id id)
{
	return t->vs[id];
}

void tui_switch(struct tui *t, enum tui_view_id id)
{
	if (id >= V_COUNT)
		return;
	t->cur = id;
	if (views[id]->shown)
		views[id]->shown(t, t->vs[id]);
	tui_dirty(t);
}

void tui_status(struct tui *t, enum tui_style s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->status, sizeof t->status, fmt, ap);
	va_end(ap);
	t->status_style = s;
	t->status_until = mq_now_ms() + STATUS_SECONDS * 1000;
	tui_dirty(t);
}

void tui_confirm(struct tui *t, const char *question, const char *choices, prompt_fn fn, void *ctx)
{
	t->prompt.kind = PROMPT_CONFIRM;
	snprintf(t->prompt.question, sizeof t->prompt.question, "%s", question);
	t->prompt.choices = choices;
	t->prompt.fn = fn;
	t->prompt.ctx = ctx;
	tui_dirty(t);
}

void tui_input(struct tui *t, const char *question, const char *initial, bool secret, prompt_fn fn, void *ctx)
{
	t->prompt.kind = PROMPT_INPUT;
	snprintf(t->prompt.question, sizeof t->prompt.question, "%s", question);
	field_set(&t->prompt.field, initial);
	t->prompt.field.secret = secret;
	t->prompt.fn = fn;
	t->prompt.ctx = ctx;
	tui_dirty(t);
}

const char *tui_filter(const struct tui *t)
{
	return t->filter[t->cur];
}

bool tui_filter_match(const struct tui *t, const char *text)
{
	const char *f = t->filter[t->cur];
	size_t n = strlen(f);

	if (!n)
		return true;
	for (const char *p = text ? text : ""; *p; p++)
		if (!strncasecmp(p, f, n))
			return true;
	return false;
}

bool tui_key_is_enter(int k)
{
	return k == '\r' || k == '\n' || k == K_ENTER;
}

bool tui_key_is_backspace(int k)
{
	return k == K_BACKSPACE || k == 0x7F || k == K_CTRL('h');
}

/* ---- drawing the chrome ------------------------------------------------------------------- */

static const char *view_number_label(int i)
{
	static const char *const n[] = { "1", "2", "3", "4", "5", "6", "7", "8", "9" };
	return n[i];
}

static void draw_title(struct tui *t)
{
	char right[256];
	const struct model *m = &t->model;
	int x, w;

	draw_fill(t, 0, 0, t->cols, S_TITLE);
	x = draw_text(t, 0, 1, t->cols - 1, S_TITLE, "mqttls " MQTTLS_VERSION);
	if (view_mitm_running(t->vs[V_MITM])) {
		/* The contract: a running MITM says what it is in the title, whatever view is shown. */
		x += 2;
		x += draw_text(t, 0, x, t->cols - x, S_BANNER, " " "INSECURE LAB MITM" " ");
	}
	if (!m->have_target) {
		snprintf(right, sizeof right, "%s", job_busy(t) ? job_what(t) : "no target");
	} else {
		snprintf(right, sizeof right, "%s", m->label);
	}
	w = draw_width(t, right) + 4;
	if (w > t->cols - x - 3)
		w = t->cols - x - 3;
	if (w > 4) {
		const char *mark = m->running ? draw_spinner(t)
				   : !m->done  ? " "
				   : draw_glyph(t, model_ok(t) ? G_OK : G_FAIL);
		draw_text(t, 0, t->cols - w, 2, S_TITLE, mark);
		draw_text(t, 0, t->cols - w + 2, w - 3, S_TITLE, right);
	}
}

static void draw_tabs(struct tui *t)
{
	int x = 0;

	draw_fill(t, 1, 0, t->cols, S_NORMAL);
	for (int i = 0; i < V_COUNT; i++) {
		char label[64];
		int w;

		snprintf(label, sizeof label, " %s %s ", view_number_label(i), views[i]->name);
		w = draw_width(t, label);
		t->tabs[i] = (struct tui_rect){ 1, x, 1, w };
		if (x < t->cols)
			draw_text(t, 1, x, t->cols - x, i == t->cur ? S_TAB_ON : S_TAB, label);
		if (t->filter[i][0] && x + w < t->cols)
			w += draw_text(t, 1, x + w, 1, S_WARN, "*");
		x += w + 1;
	}
}

static void draw_status(struct tui *t)
{
	int y = t->rows - 1, x = 0, right = 0;
	char buf[256];

	draw_fill(t, y, 0, t->cols, S_STATUS);
	/* On the right, always: what runs in the background, and the filter in force. */
	if (job_busy(t)) {
		snprintf(buf, sizeof buf, "%s %s ", draw_spinner(t), job_what(t));
		right = draw_width(t, buf);
		if (right > t->cols / 2)
			right = t->cols / 2;
		draw_text(t, y, t->cols - right, right, S_STATUS, buf);
	}
	if (t->filter[t->cur][0]) {
		int w;
		snprintf(buf, sizeof buf, " filter: %s (Esc clears) ", t->filter[t->cur]);
		w = draw_width(t, buf);
		if (w > t->cols / 2 - right)
			w = t->cols / 2 - right;
		if (w > 0)
			draw_text(t, y, t->cols - right - w, w, S_WARN, buf);
		right += w > 0 ? w : 0;
	}
	if (t->status[0] && mq_now_ms() < t->status_until) {
		enum tui_style s = t->status_style == S_NORMAL ? S_STATUS : t->status_style;
		draw_text(t, y, 1, t->cols - right - 2, s, t->status);
		return;
	}
	t->status[0] = '\0';
	/* Otherwise the keys that matter here. */
	x = 1;
	if (views[t->cur]->hint && draw_width(t, views[t->cur]->hint) + 16 < t->cols - right - x)
		x += draw_text(t, y, x, t->cols - right - x, S_STATUS, views[t->cur]->hint) + 2;
	draw_text(t, y, x, t->cols - right - x, S_STATUS, "?:help  q:quit");
}

static void help_fill(struct tui *t, int width)
{
	struct tui_lines *l = &t->help_pane.lines;
	const struct tui_key_help *k;
	char head[128];

	lines_clear(l);
	l->width = width;
	lines_add(l, -1, S_HEAD, "%s", "Keys everywhere");
	for (k = global_keys; k->keys; k++) {
		lines_add(l, -1, S_KEY, "  %-20s", k->keys);
		lines_seg(l, S_NORMAL, "%s", k->what);
	}
	for (int v = 0; v < V_COUNT; v++) {
		int order = (t->cur + v) % V_COUNT; /* the current view's keys first */
		lines_blank(l, -1);
		snprintf(head, sizeof head, "%s view (%d)%s", views[order]->name, order + 1,
			 order == t->cur ? " - the one you are on" : "");
		lines_add(l, -1, S_HEAD, "%s", head);
		for (k = views[order]->keys; k && k->keys; k++) {
			lines_add(l, -1, S_KEY, "  %-20s", k->keys);
			lines_seg(l, S_NORMAL, "%s", k->what);
		}
	}
	lines_blank(l, -1);
	lines_add(l, -1, S_DIM, "%s", "Esc, q or ? closes this help. Text from brokers, certificates and");
	lines_add(l, -1, S_DIM, "%s", "devices is shown escaped (\\xNN): it can never drive your terminal.");
}

static void draw_help(struct tui *t)
{
	struct tui_rect box = { 2, 2, t->rows - 4, t->cols - 4 }, in;

	if (t->cols < 60) {
		box.x = 0;
		box.w = t->cols;
	}
	draw_box(t, &box, S_NORMAL);
	draw_text(t, box.y, box.x + 2, box.w - 4, S_BOLD, " Help ");
	in = (struct tui_rect){ box.y + 1, box.x + 2, box.h - 2, box.w - 4 };
	help_fill(t, in.w);
	pane_draw(t, &t->help_pane, &in);
}

static void draw_prompt(struct tui *t)
{
	int y = t->rows - 1, x;

	draw_fill(t, y, 0, t->cols, S_STATUS);
	if (t->prompt.kind == PROMPT_FILTER) {
		x = draw_text(t, y, 1, t->cols - 1, S_STATUS, "filter: ");
		field_draw(t, &t->prompt.field, y, 1 + x, t->cols - 2 - x, true);
		return;
	}
	x = draw_text(t, y, 1, t->cols - 2, S_STATUS, t->prompt.question);
	if (t->prompt.kind == PROMPT_INPUT)
		field_draw(t, &t->prompt.field, y, 2 + x, t->cols - 3 - x, true);
}

static void redraw(struct tui *t)
{
	struct tui_rect area;

	t->want_cursor = false;
	erase();
	if (t->rows < MIN_ROWS || t->cols < MIN_COLS) {
		char msg[96];
		snprintf(msg, sizeof msg, "%dx%d is too small", t->cols, t->rows);
		draw_text(t, t->rows / 2 - 1, 0, t->cols, S_BOLD, msg);
		snprintf(msg, sizeof msg, "mqttls needs %dx%d", MIN_COLS, MIN_ROWS);
		draw_text(t, t->rows / 2, 0, t->cols, S_NORMAL, msg);
		draw_text(t, t->rows / 2 + 1, 0, t->cols, S_DIM, "q quits");
	} else {
		draw_title(t);
		draw_tabs(t);
		area = (struct tui_rect){ 2, 0, t->rows - 3, t->cols };
		views[t->cur]->draw(t, t->vs[t->cur], &area);
		if (t->help)
			draw_help(t);
		if (t->prompt.kind != PROMPT_NONE)
			draw_prompt(t);
		else
			draw_status(t);
	}
	if (t->want_cursor) {
		if (t->cursor_shown != 1)
			curs_set(1);
		t->cursor_shown = 1;
		move(t->cursor_y, t->cursor_x);
	} else {
		if (t->cursor_shown != 0)
			curs_set(0);
		t->cursor_shown = 0;
	}
	refresh();
}

/* ---- quitting ----------------------------------------------------------------------------- */

static int on_quit_answer(struct tui *t, void *ctx, int choice, const char *text)
{
	(void)ctx;
	(void)text;
	switch (choice) {
	case 's':
		if (job_busy(t)) {
			tui_status(t, S_WARN, "busy: %s - q again in a moment", job_what(t));
			return TUI_REDRAW;
		}
		view_labs_stop_all(t, t->vs[V_LABS]);
		t->quit_after_job = true;
		return TUI_REDRAW;
	case 'k':
	case 'y':
		return TUI_QUIT;
	}
	return TUI_REDRAW;
}

/* q: leave at once unless something started here would stop or keep running unseen. */
static int request_quit(struct tui *t)
{
	char labs[256], q[512];
	bool mitm = view_mitm_running(t->vs[V_MITM]);

	if (t->prompt.kind == PROMPT_CONFIRM && t->prompt.fn == on_quit_answer)
		return TUI_QUIT; /* asked already: a second q or Ctrl-C means it */
	if (view_labs_running(t, t->vs[V_LABS], labs, sizeof labs)) {
		snprintf(q, sizeof q, "Lab %s still running (started here)%s. s: stop and quit  k: keep it, quit  Esc: stay",
			 labs, mitm ? ", and the MITM stops" : "");
		tui_confirm(t, q, "sk", on_quit_answer, NULL);
		return TUI_REDRAW;
	}
	if (mitm) {
		tui_confirm(t, "The MITM lab is running; quitting stops it. Quit? y/n", "yn", on_quit_answer, NULL);
		return TUI_REDRAW;
	}
	return TUI_QUIT;
}

/* ---- input -------------------------------------------------------------------------------- */

static int prompt_key(struct tui *t, int key)
{
	prompt_fn fn = t->prompt.fn;
	void *ctx = t->prompt.ctx;
	int r;

	if (t->prompt.kind == PROMPT_CONFIRM) {
		int c = key < 0x80 ? tolower(key) : key;
		if (key == K_ESC || (c < 0x80 && strchr(t->prompt.choices, c) && c)) {
			t->prompt.kind = PROMPT_NONE;
			return fn ? fn(t, ctx, c == K_ESC ? K_ESC : c, NULL) | TUI_REDRAW : TUI_REDRAW;
		}
		if (c == 'n' || c == 'c') {
			t->prompt.kind = PROMPT_NONE;
			return TUI_REDRAW;
		}
		return 0;
	}
	r = field_key(&t->prompt.field, key);
	if (t->prompt.kind == PROMPT_FILTER) {
		if (r & FIELD_CANCEL) {
			t->filter[t->cur][0] = '\0';
			t->prompt.kind = PROMPT_NONE;
		} else {
			snprintf(t->filter[t->cur], sizeof t->filter[t->cur], "%s", t->prompt.field.buf);
			if (r & FIELD_DONE)
				t->prompt.kind = PROMPT_NONE;
		}
		return TUI_REDRAW;
	}
	if (r & FIELD_CANCEL) {
		t->prompt.kind = PROMPT_NONE;
		return (fn ? fn(t, ctx, K_ESC, NULL) : 0) | TUI_REDRAW;
	}
	if ((r & FIELD_DONE) && !(r & (FIELD_NEXT | FIELD_PREV))) {
		char text[FIELD_MAX];
		memcpy(text, t->prompt.field.buf, t->prompt.field.len + 1);
		t->prompt.kind = PROMPT_NONE;
		return (fn ? fn(t, ctx, K_RET, text) : 0) | TUI_REDRAW;
	}
	return TUI_REDRAW;
}

static int global_key(struct tui *t, int key)
{
	const struct tui_view *v = views[t->cur];

	if (key == '?' || key == K_F(1)) {
		t->help = true;
		t->help_pane.top = 0;
		return TUI_REDRAW;
	}
	if (key == 'q' || key == 'Q')
		return request_quit(t);
	if (key == K_TAB) {
		tui_switch(t, (enum tui_view_id)((t->cur + 1) % V_COUNT));
		return TUI_REDRAW;
	}
	if (key == K_BTAB) {
		tui_switch(t, (enum tui_view_id)((t->cur + V_COUNT - 1) % V_COUNT));
		return TUI_REDRAW;
	}
	if (key >= '1' && key < '1' + V_COUNT) {
		tui_switch(t, (enum tui_view_id)(key - '1'));
		return TUI_REDRAW;
	}
	for (int i = 0; i < V_COUNT; i++) {
		if (key == K_F(2 + i)) {
			tui_switch(t, (enum tui_view_id)i);
			return TUI_REDRAW;
		}
	}
	if (key == '/' && v->filterable) {
		t->prompt.kind = PROMPT_FILTER;
		field_set(&t->prompt.field, t->filter[t->cur]);
		return TUI_REDRAW;
	}
	if (key == K_CTRL('l')) {
		clearok(curscr, TRUE);
		return TUI_REDRAW;
	}
	return TUI_UNHANDLED;
}

static int help_key(struct tui *t, int key)
{
	int r = pane_key(&t->help_pane, key);

	if (r != TUI_UNHANDLED)
		return r;
	t->help = false;
	return TUI_REDRAW;
}

static void handle_key(struct tui *t, int key)
{
	const struct tui_view *v = views[t->cur];
	int r;

	if (t->prompt.kind != PROMPT_NONE) {
		r = prompt_key(t, key);
	} else if (t->help) {
		r = help_key(t, key);
	} else if (v->editing && v->editing(t->vs[t->cur])) {
		/* A field has the keyboard: only F1 and the F-keys stay global. */
		r = (key == K_F(1) || (key >= K_F(2) && key < K_F(2 + V_COUNT))) ? global_key(t, key)
										   : v->key(t, t->vs[t->cur], key);
	} else {
		r = global_key(t, key);
		if (r & TUI_UNHANDLED)
			r = v->key(t, t->vs[t->cur], key);
		if ((r & TUI_UNHANDLED) && key == K_ESC && t->filter[t->cur][0]) {
			t->filter[t->cur][0] = '\0';
			r = TUI_REDRAW;
		}
	}
	if (r & TUI_QUIT)
		t->quit = true;
	if (r & TUI_REDRAW)
		tui_dirty(t);
}

static void handle_paste(struct tui *t)
{
	const struct tui_view *v = views[t->cur];
	char *text = t->paste ? t->paste : "";
	size_t n = t->paste_len;

	if (t->prompt.kind == PROMPT_INPUT || t->prompt.kind == PROMPT_FILTER) {
		field_insert(&t->prompt.field, text, n);
		if (t->prompt.kind == PROMPT_FILTER)
			snprintf(t->filter[t->cur], sizeof t->filter[t->cur], "%s", t->prompt.field.buf);
	} else if (t->prompt.kind == PROMPT_NONE && !t->help && v->paste) {
		v->paste(t, t->vs[t->cur], text, n);
	} else {
		tui_status(t, S_WARN, "the %s view takes no pasted text", v->name);
	}
	free(t->paste);
	t->paste = NULL;
	t->paste_len = 0;
	tui_dirty(t);
}

static void handle_mouse(struct tui *t, int y, int x, int button, bool press)
{
	const struct tui_view *v = views[t->cur];
	struct tui_rect area = { 2, 0, t->rows - 3, t->cols };
	int r = 0;

	if (button == 64 || button == 65) {
		int delta = button == 64 ? -3 : 3;
		if (t->help)
			r = pane_scroll(&t->help_pane, delta);
		else if (v->wheel && y >= area.y && y < area.y + area.h)
			r = v->wheel(t, t->vs[t->cur], y - area.y, delta);
		if (r & TUI_REDRAW)
			tui_dirty(t);
		return;
	}
	if (button != 0 || !press)
		return;
	if (t->help) {
		t->help = false;
		tui_dirty(t);
		return;
	}
	if (t->prompt.kind != PROMPT_NONE)
		return;
	if (y == 1) {
		for (int i = 0; i < V_COUNT; i++) {
			if (x >= t->tabs[i].x && x < t->tabs[i].x + t->tabs[i].w) {
				tui_switch(t, (enum tui_view_id)i);
				return;
			}
		}
		return;
	}
	if (y >= area.y && y < area.y + area.h && v->click) {
		r = v->click(t, t->vs[t->cur], y - area.y, x - area.x);
		if (r & TUI_QUIT)
			t->quit = true;
		if (r & TUI_REDRAW)
			tui_dirty(t);
	}
}

/* The rest of an escape sequence that curses did not recognise: SGR mouse and paste brackets. */
static int next_char(void)
{
	wint_t wc;
	int r = get_wch(&wc);
	if (r == ERR)
		return -1;
	return r == KEY_CODE_YES ? TK_FN((int)wc) : (int)wc;
}

static void handle_escape(struct tui *t)
{
	char seq[32];
	size_t n = 0;
	int c = next_char();

	if (c < 0) {
		if (!t->pasting)
			handle_key(t, K_ESC);
		return;
	}
	if (c != '[' && c != 'O') {
		if (!t->pasting) {
			handle_key(t, K_ESC);
			handle_key(t, c);
		}
		return;
	}
	/* CSI: parameters, then one final byte. */
	while (n + 1 < sizeof seq) {
		c = next_char();
		if (c < 0 || c > 0x7E)
			return;
		seq[n++] = (char)c;
		if (c >= 0x40 && c <= 0x7E && !(n == 1 && c == '<'))
			break;
	}
	seq[n] = '\0';
	if (!strcmp(seq, "200~")) {
		t->pasting = true;
		t->paste_len = 0;
		return;
	}
	if (!strcmp(seq, "201~")) {
		if (t->pasting) {
			t->pasting = false;
			handle_paste(t);
		}
		return;
	}
	if (seq[0] == '<' && !t->pasting) {
		int b, x, y;
		char fin;
		if (sscanf(seq + 1, "%d;%d;%d%c", &b, &x, &y, &fin) == 4 && (fin == 'M' || fin == 'm')) {
			if (b & 32) /* motion */
				return;
			handle_mouse(t, y - 1, x - 1, b & ~(4 | 8 | 16), fin == 'M');
		}
	}
}

static void curses_mouse(struct tui *t)
{
	MEVENT me;

	if (getmouse(&me) != OK)
		return;
	if (me.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED))
		handle_mouse(t, me.y, me.x, 0, true);
#ifdef BUTTON4_PRESSED
	else if (me.bstate & BUTTON4_PRESSED)
		handle_mouse(t, me.y, me.x, 64, true);
#endif
#ifdef BUTTON5_PRESSED
	else if (me.bstate & BUTTON5_PRESSED)
		handle_mouse(t, me.y, me.x, 65, true);
#endif
}

static void paste_add(struct tui *t, int key)
{
	char u[4];
	size_t n;

	if (key >= TK_FN(0) || key < 0 || key > 0x10FFFF)
		return;
	n = field_utf8(key, u);
	if (t->paste_len + n + 1 > PASTE_MAX)
		return;
	if (!t->paste) {
		t->paste = malloc(PASTE_MAX);
		if (!t->paste)
			return;
	}
	memcpy(t->paste + t->paste_len, u, n);
	t->paste_len += n;
	t->paste[t->paste_len] = '\0';
}

static void on_resize(struct tui *t)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	t->rows = LINES;
	t->cols = COLS;
	clearok(curscr, TRUE);
	tui_dirty(t);
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
	struct tui *t = arg;
	wint_t wc;
	int r;

	(void)fd;
	(void)what;
	t->input_seen = true;
	while (!t->quit && (r = get_wch(&wc)) != ERR) {
		int key = r == KEY_CODE_YES ? TK_FN((int)wc) : (int)wc;

		if (key == TK_FN(KEY_RESIZE)) {
			/* resizeterm() queues this key itself: the size is already taken, only redraw. */
			t->rows = LINES;
			t->cols = COLS;
			tui_dirty(t);
		} else if (key == TK_FN(KEY_MOUSE)) {
			if (!t->pasting)
				curses_mouse(t);
		} else if (key == K_ESC) {
			handle_escape(t);
		} else if (t->pasting) {
			paste_add(t, key == TK_FN(KEY_ENTER) ? '\n' : key);
		} else {
			handle_key(t, key);
		}
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct tui *t = arg;

	(void)what;
	t->input_seen = true;
	switch (sig) {
	case SIGWINCH:
		on_resize(t);
		break;
	case SIGINT:
		/* Ctrl-C is q: asks when something would stop; a second one leaves. */
		if (request_quit(t) & TUI_QUIT)
			t->quit = true;
		tui_dirty(t);
		break;
	default: /* SIGTERM, SIGHUP: leave now, restoring the terminal on the way out */
		t->quit = true;
		break;
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct tui *t = arg;

	(void)fd;
	(void)what;
	t->tick++;
	tui_dirty(t);
}

static void on_redraw_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	/* Only wakes the loop: the redraw happens at the end of this turn. */
}

static bool anything_moves(struct tui *t)
{
	if (job_busy(t) || t->model.running)
		return true;
	if (t->status[0] && mq_now_ms() < t->status_until + TICK_MS)
		return true;
	for (int i = 0; i < V_COUNT; i++)
		if (views[i]->busy && views[i]->busy(t, t->vs[i]))
			return true;
	return false;
}

/* ---- start and stop ----------------------------------------------------------------------- */

static void builtin_work(void *arg)
{
	struct tui *t = arg;
	struct mq_err err = { 0 };

	if (lab_builtin(&t->builtin, &err) < 0)
		snprintf(t->builtin_error, sizeof t->builtin_error, "%s", err.msg);
	else
		t->have_builtin = true;
}

static void builtin_done(struct tui *t, void *arg)
{
	(void)arg;
	if (!t->have_builtin) {
		tui_status(t, S_FAIL, "the built-in lab broker did not start: %s", t->builtin_error);
		model_set_error(t, "The built-in lab broker did not start", t->builtin_error);
		return;
	}
	model_start_lab(t, &t->builtin, "built-in lab broker");
	tui_status(t, S_OK, "%s the built-in lab broker on %s:%d - diagnosing it",
		   t->builtin.reused ? "found" : "started", t->builtin.host, t->builtin.port);
}

static int screen_start(struct tui *t, struct mq_err *err)
{
	const char *term = getenv("TERM");

	install_restorers();
	t->screen = newterm(NULL, stdout, stdin);
	if (!t->screen) {
		mq_errf(err, "cannot drive this terminal (TERM=%s): set TERM to a known terminal type, e.g. xterm-256color",
			term && *term ? term : "(unset)");
		return -1;
	}
	set_term(t->screen);
	screen_active = 1;
	t->active = true;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	t->cursor_shown = 0;
	t->rows = LINES;
	t->cols = COLS;
	{
		const char *nc = getenv("NO_COLOR");
		t->color = has_colors() && !(nc && *nc) && !t->opts.no_color;
	}
	t->utf8 = !t->opts.ascii && !strcasecmp(nl_langinfo(CODESET), "UTF-8");
	draw_init(t);
	if (!t->opts.no_mouse) {
		mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED
#ifdef BUTTON4_PRESSED
				  | BUTTON4_PRESSED
#endif
#ifdef BUTTON5_PRESSED
				  | BUTTON5_PRESSED
#endif
			  ,
			  NULL);
		mouseinterval(0);
		t->mouse = true;
	}
	/* SGR mouse reports (any terminal size) and bracketed paste (a pasted line is text, not keys). */
	fputs(t->mouse ? MODES_ON : "\033[?2004h", stdout);
	fflush(stdout);
	return 0;
}

static void screen_stop(struct tui *t)
{
	if (!t->active)
		return;
	if (t->mouse)
		mousemask(0, NULL);
	fputs(MODES_OFF, stdout);
	fflush(stdout);
	curs_set(1);
	endwin();
	delscreen(t->screen);
	t->screen = NULL;
	t->active = false;
	screen_active = 0;
	if (have_termios)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

static int add_signal(struct tui *t, int i, int sig)
{
	t->ev_sig[i] = evsignal_new(t->base, sig, on_signal, t);
	return t->ev_sig[i] && evsignal_add(t->ev_sig[i], NULL) == 0 ? 0 : -1;
}

int tui_main(const struct target *tg, const struct tui_opts *o, struct mq_err *err)
{
	struct tui *t = calloc(1, sizeof *t);
	static const int sigs[] = { SIGWINCH, SIGINT, SIGTERM, SIGHUP };
	int rc = -1;

	if (!t) {
		mq_errf(err, "out of memory");
		return -1;
	}
	t->opts = *o;
	t->base = event_base_new();
	if (!t->base) {
		mq_errf(err, "cannot create the event loop");
		goto out;
	}
	/* Before curses starts, so it keeps its hands off these signals: the loop handles them. */
	for (size_t i = 0; i < MQ_ARRAY_LEN(sigs); i++) {
		if (add_signal(t, (int)i, sigs[i]) < 0) {
			mq_errf(err, "cannot watch signal %d", sigs[i]);
			goto out;
		}
	}
	job_init(t);
	model_init(t);
	if (screen_start(t, err) < 0)
		goto out;
	for (int i = 0; i < V_COUNT; i++)
		t->vs[i] = views[i]->create(t);
	t->help_pane.selectable = false;

	t->ev_stdin = event_new(t->base, STDIN_FILENO, EV_READ | EV_PERSIST, on_stdin, t);
	t->ev_tick = event_new(t->base, -1, EV_PERSIST, on_tick, t);
	t->ev_redraw = event_new(t->base, -1, 0, on_redraw_timer, t);
	if (!t->ev_stdin || !t->ev_tick || !t->ev_redraw || event_add(t->ev_stdin, NULL) < 0) {
		mq_errf(err, "cannot watch the keyboard");
		goto out;
	}

	if (tg) {
		model_start(t, tg, NULL);
		view_connect_show_target(t, t->vs[V_CONNECT], tg);
		tui_switch(t, V_DIAGNOSE);
	} else {
		tui_switch(t, V_DIAGNOSE);
		job_run(t, "starting the built-in lab broker", builtin_work, builtin_done, t);
	}
	tui_status(t, S_STATUS, "%s", "? lists every key - Tab and 1-7 change views - q quits");

	t->dirty = true;
	while (!t->quit) {
		bool moving;

		if (t->quit_after_job && !job_busy(t))
			break;
		if (t->dirty) {
			double now = mq_now_ms(), since = now - t->last_redraw;
			if (t->input_seen || since >= REDRAW_MIN_MS) {
				t->dirty = false;
				t->input_seen = false;
				t->last_redraw = now;
				redraw(t);
			} else if (!evtimer_pending(t->ev_redraw, NULL)) {
				struct timeval tv = { 0, (suseconds_t)((REDRAW_MIN_MS - since) * 1000) + 1 };
				evtimer_add(t->ev_redraw, &tv);
			}
		}
		/* The spinner's timer runs only while something moves: an idle TUI sleeps. */
		moving = anything_moves(t);
		if (moving && !evtimer_pending(t->ev_tick, NULL)) {
			struct timeval tv = { 0, TICK_MS * 1000 };
			evtimer_add(t->ev_tick, &tv);
		} else if (!moving && evtimer_pending(t->ev_tick, NULL)) {
			evtimer_del(t->ev_tick);
		}
		if (event_base_loop(t->base, EVLOOP_ONCE) < 0) {
			snprintf(t->fatal, sizeof t->fatal, "the event loop failed");
			break;
		}
	}
	rc = 0;
out:
	screen_stop(t);
	if (t->fatal[0]) {
		mq_errf(err, "%s", t->fatal);
		rc = -1;
	}
	if (t->base) {
		job_fini(t);
		for (int i = 0; i < V_COUNT; i++)
			if (t->vs[i])
				views[i]->destroy(t, t->vs[i]);
		model_free(t);
		if (t->ev_stdin)
			event_free(t->ev_stdin);
		if (t->ev_tick)
			event_free(t->ev_tick);
		if (t->ev_redraw)
			event_free(t->ev_redraw);
		for (size_t i = 0; i < MQ_ARRAY_LEN(t->ev_sig); i++)
			if (t->ev_sig[i])
				event_free(t->ev_sig[i]);
		event_base_free(t->base);
	}
	if (rc == 0 && t->have_builtin && !t->builtin.reused)
		printf("The built-in lab broker keeps running on %s:%d ('mqttls lab stop %s' stops it).\n",
		       t->builtin.host, t->builtin.port, LAB_BUILTIN);
	lines_free(&t->help_pane.lines);
	free(t->paste);
	free(t);
	return rc;
}
