/*
 * tui — the interactive face of mqttls: one ncurses screen over the engine's sessions.
 *
 * Structure (docs/tui.md): one libevent loop (app.c) reads the keyboard and mouse, catches
 * SIGWINCH and the terminating signals, and drives every engine session on the same base.
 * Engine events land in the model (model.c for the diagnosis, each view's own state for the
 * rest); key handlers change state and return flags; the loop redraws once per turn when
 * something said TUI_REDRAW. Nothing here blocks the loop: the lab engine's synchronous calls
 * run on a worker thread (job.c) and come back as a loop event.
 *
 * Every string from the network, a certificate, a victim or a file is escaped (mq_escape)
 * before it is drawn, and the drawing layer itself refuses to emit control characters.
 */
#ifndef MQTTLS_TUI_H
#define MQTTLS_TUI_H

#include <stdbool.h>
#include <stddef.h>

#include <curses.h>
#include <event2/event.h>

#include "mqttls/attrib.h"
#include "mqttls/err.h"
#include "mqttls/lab.h"
#include "mqttls/target.h"

/* ---- keys ------------------------------------------------------------------------------- */

/* A key is a Unicode code point, or an ncurses KEY_* code moved out of Unicode's range. */
#define TK_FN(k)    (0x200000 | (k))
#define K_UP        TK_FN(KEY_UP)
#define K_DOWN      TK_FN(KEY_DOWN)
#define K_LEFT      TK_FN(KEY_LEFT)
#define K_RIGHT     TK_FN(KEY_RIGHT)
#define K_PGUP      TK_FN(KEY_PPAGE)
#define K_PGDN      TK_FN(KEY_NPAGE)
#define K_HOME      TK_FN(KEY_HOME)
#define K_END       TK_FN(KEY_END)
#define K_BTAB      TK_FN(KEY_BTAB)
#define K_BACKSPACE TK_FN(KEY_BACKSPACE)
#define K_DC        TK_FN(KEY_DC)
#define K_ENTER     TK_FN(KEY_ENTER)
#define K_F(n)      TK_FN(KEY_F(n))
#define K_ESC       27
#define K_TAB       '\t'
#define K_RET       '\r'
#define K_CTRL(c)   ((c) & 0x1f)

bool tui_key_is_enter(int k);
bool tui_key_is_backspace(int k);

/* ---- what handlers return --------------------------------------------------------------- */

enum {
	TUI_REDRAW = 1,     /* something the screen shows changed */
	TUI_QUIT = 2,       /* leave (the app still asks when a lab or the MITM is running) */
	TUI_UNHANDLED = 4,  /* not this handler's key: the app tries its global keys */
};

/* ---- drawing (draw.c) ------------------------------------------------------------------- */

enum tui_style {
	S_NORMAL, S_TITLE, S_TAB, S_TAB_ON, S_STATUS, S_DIM, S_BOLD, S_HEAD, S_OK, S_FAIL, S_WARN,
	S_INFO, S_SEL, S_BANNER, S_MATCH, S_KEY, S_FIELD, S_FIELD_ON, S_RUN, S_STYLES
};

enum tui_glyph {
	G_OK, G_FAIL, G_WARN, G_INFO, G_PENDING, G_SKIP, G_TREE_MID, G_TREE_END, G_TREE_BAR, G_BAR_FULL,
	G_BAR_EMPTY, G_TODAY, G_ARROW, G_LARROW, G_OPEN, G_CLOSED, G_HLINE, G_ELLIPSIS, G_BULLET, G_MARK,
	G_GLYPHS
};

struct tui_rect {
	int y, x, h, w;
};

struct tui;

void draw_init(struct tui *t);
attr_t draw_attr(const struct tui *t, enum tui_style s);
const char *draw_glyph(const struct tui *t, enum tui_glyph g);
/* The spinner frame for the current tick. */
const char *draw_spinner(const struct tui *t);

/*
 * Draw text at (y, x), at most w columns, in a style. Newlines end the text; any control
 * character left in it is drawn as '?' (a backstop: untrusted text is escaped before). In the
 * ASCII fallback non-ASCII characters are transliterated or drawn as '?'. Returns columns used.
 */
int draw_text(struct tui *t, int y, int x, int w, enum tui_style s, const char *text);
/* The same for untrusted bytes: escaped with mq_escape first. */
int draw_untrusted(struct tui *t, int y, int x, int w, enum tui_style s, const void *p, size_t n);
void draw_fill(struct tui *t, int y, int x, int w, enum tui_style s);
/* Display width of UTF-8 text as draw_text would draw it. */
int draw_width(const struct tui *t, const char *text);
/* Byte length of the longest prefix of text that fits in w columns. */
size_t draw_fit(const struct tui *t, const char *text, int w);
/* A box outline (help and dialogs). */
void draw_box(struct tui *t, const struct tui_rect *r, enum tui_style s);

/* ---- lines and panes: scrollable, selectable content (draw.c) ----------------------------- */

#define LINE_SEGS 8

struct tui_seg {
	char *text;
	enum tui_style style;
};

struct tui_line {
	struct tui_seg seg[LINE_SEGS];
	int nseg;
	int item;          /* the selectable item this line belongs to, -1 for none */
};

struct tui_lines {
	struct tui_line *v;
	size_t n, cap;
	int width;         /* the width lines are wrapped to */
};

void lines_clear(struct tui_lines *l);
void lines_free(struct tui_lines *l);
/* Start a new line belonging to item, with one segment (trusted text, printf-style). */
void lines_add(struct tui_lines *l, int item, enum tui_style s, const char *fmt, ...) MQ_PRINTF(4, 5);
/* Append a segment to the last line. */
void lines_seg(struct tui_lines *l, enum tui_style s, const char *fmt, ...) MQ_PRINTF(3, 4);
/* Append untrusted bytes, escaped, as a segment of the last line. */
void lines_seg_untrusted(struct tui_lines *l, enum tui_style s, const void *p, size_t n);
/* Add text word-wrapped to the lines' width with an indent (newlines in text start new lines). */
void lines_wrap(struct tui *t, struct tui_lines *l, int item, enum tui_style s, int indent, const char *text);
void lines_blank(struct tui_lines *l, int item);
/*
 * Append text to the last line as a segment, wrapped: what does not fit continues on new
 * lines (of the same item) indented by hang columns. Newlines in text break lines too.
 */
void lines_wrap_seg(struct tui *t, struct tui_lines *l, enum tui_style s, int hang, const char *text);

/*
 * A pane shows lines in a rectangle, scrolled so the selected item stays visible. With
 * selectable false the arrows scroll line by line instead.
 */
struct tui_pane {
	struct tui_lines lines;
	int top;           /* first line shown */
	int sel;           /* selected item, -1 none */
	int nitems;        /* items the view put in lines (the view sets it when it fills lines) */
	bool selectable;
	bool follow;       /* keep the end in view as lines arrive (logs) until the user scrolls */
	int height;        /* as last drawn */
	int row_item[512]; /* item shown on each row as last drawn, -1 none */
	int rows;
};

void pane_draw(struct tui *t, struct tui_pane *p, const struct tui_rect *r);
/* Navigation keys (arrows, PgUp/PgDn, Home/End); TUI_UNHANDLED for any other key. */
int pane_key(struct tui_pane *p, int key);
/* The item under row y (relative to the pane), or -1. */
int pane_item_at(const struct tui_pane *p, int y);
/* Scroll by delta lines (mouse wheel). */
int pane_scroll(struct tui_pane *p, int delta);

/* ---- a one-line text editor (field.c) ----------------------------------------------------- */

#define FIELD_MAX 4096

struct tui_field {
	char buf[FIELD_MAX];
	size_t len, cur;   /* bytes; cur is on a character boundary */
	int scroll;        /* first column shown */
	bool secret;       /* draw '*' for every character */
};

enum { FIELD_EDITED = 1, FIELD_DONE = 2, FIELD_CANCEL = 4, FIELD_NEXT = 8, FIELD_PREV = 16 };

void field_set(struct tui_field *f, const char *text);
/* Insert text at the cursor (a paste); control characters become spaces. */
void field_insert(struct tui_field *f, const char *text, size_t n);
/* A code point (at most U+10FFFF) as UTF-8 into out; returns its length. */
size_t field_utf8(int c, char out[4]);
/* Editing keys; returns FIELD_* flags, 0 when the key is not the field's. */
int field_key(struct tui_field *f, int key);
/* Draw at (y, x) w columns wide; the cursor is placed when active. */
void field_draw(struct tui *t, struct tui_field *f, int y, int x, int w, bool active);

/* ---- views ------------------------------------------------------------------------------ */

struct tui_key_help {
	const char *keys, *what;
};

struct tui_view {
	const char *name;                  /* tab label */
	const struct tui_key_help *keys;   /* for the help screen; ends with { NULL, NULL } */
	const char *hint;                  /* the few keys the status line shows */
	void *(*create)(struct tui *t);
	void (*destroy)(struct tui *t, void *v);
	void (*draw)(struct tui *t, void *v, const struct tui_rect *r);
	int (*key)(struct tui *t, void *v, int key);
	/* A left click at (y, x) relative to the view's rectangle. */
	int (*click)(struct tui *t, void *v, int y, int x);
	/* Mouse wheel: delta lines at row y. */
	int (*wheel)(struct tui *t, void *v, int y, int delta);
	/* A bracketed paste outside any edit field. */
	int (*paste)(struct tui *t, void *v, const char *text, size_t n);
	/* True while a text field of the view has the keyboard (global keys are off). */
	bool (*editing)(void *v);
	/* True while it shows something that moves (the spinner ticks). */
	bool (*busy)(struct tui *t, void *v);
	/* The view became the current one. */
	void (*shown)(struct tui *t, void *v);
	bool filterable;                   /* "/" filters its list */
};

extern const struct tui_view view_connect, view_diagnose, view_chain, view_capture, view_mitm, view_labs,
	view_explain;

enum tui_view_id { V_CONNECT, V_DIAGNOSE, V_CHAIN, V_CAPTURE, V_MITM, V_LABS, V_EXPLAIN, V_COUNT };

/* ---- the model of a diagnosis (model.c) --------------------------------------------------- */

struct diag_session;
struct diag_result;
struct cert_info;

#define MODEL_STAGES 6
#define MODEL_LOG_MAX 500

struct model_stage {
	int status;           /* enum diag_status */
	double ms;
	double started;       /* mq_now_ms() when it started, for the live timer */
	char *detail;
};

struct model {
	struct target target;        /* what is diagnosed (the model's own copy) */
	bool have_target;
	char label[200];             /* "localhost:8883 (built-in lab)" */
	struct diag_session *session;
	struct diag_result *result;  /* taken from the session when done */
	struct model_stage stages[MODEL_STAGES];
	bool running, done;
	double started, finished;
	unsigned run;                /* how many runs, for the views to notice a new one */
	char error[1100];            /* a problem of the program, not a finding */
	char **log;                  /* escaped, newest last, at most MODEL_LOG_MAX */
	size_t n_log;
	struct event *reap;          /* takes the result after DONE, outside the engine's callback */
};

void model_init(struct tui *t);
void model_free(struct tui *t);
/* Diagnose t (copied); label may be NULL. Stops a running diagnosis first. */
int model_start(struct tui *t, const struct target *tg, const char *label);
/* Diagnose a lab's broker (host, port, CA from its info); what names it in the title. Connect shows it too. */
int model_start_lab(struct tui *t, const struct lab_info *info, const char *what);
/* Diagnose the same target again. */
int model_rerun(struct tui *t);
/* The result as it stands (the session's while running, ours once done), or NULL. */
const struct diag_result *model_result(const struct tui *t);
/* Done, and every stage passed with no error finding. */
bool model_ok(const struct tui *t);
/* A problem that kept the diagnosis from running at all (shown in place of the ladder). */
void model_set_error(struct tui *t, const char *what, const char *why);

/* ---- background jobs (job.c) ------------------------------------------------------------ */

/* work() runs on a worker thread and must not touch curses or the model; done() runs on the loop. */
typedef void (*job_work_fn)(void *arg);
typedef void (*job_done_fn)(struct tui *t, void *arg);

/* One job at a time: returns -1 (and says so on the status line) while another runs. */
int job_run(struct tui *t, const char *what, job_work_fn work, job_done_fn done, void *arg);
bool job_busy(const struct tui *t);
const char *job_what(const struct tui *t);
void job_init(struct tui *t);
/* Wait for a running job (at exit), then release everything. */
void job_fini(struct tui *t);

/* ---- saved profiles (profile.c) ----------------------------------------------------------- */

struct profile {
	char *name;
	char *line;   /* TARGET options, shell-quoted, as typed after "mqttls diagnose" */
};

struct profiles {
	struct profile *v;
	size_t n;
	char path[4096];
	char error[512];   /* why the file could not be read, "" when fine */
};

/* $XDG_CONFIG_HOME/mqttls/profiles (or ~/.config/mqttls/profiles). */
void profiles_load(struct profiles *p);
int profiles_put(struct profiles *p, const char *name, const char *line, struct mq_err *err) MQ_WUR;
int profiles_delete(struct profiles *p, size_t i, struct mq_err *err) MQ_WUR;
void profiles_free(struct profiles *p);
/* A name is letters, digits, '-', '_', '.', at most 40. */
bool profile_name_ok(const char *name);

/* ---- the application (app.c) ---------------------------------------------------------- */

enum prompt_kind { PROMPT_NONE, PROMPT_CONFIRM, PROMPT_INPUT, PROMPT_FILTER };

/* choice: the key pressed (lower case) for a confirmation, K_RET for input, K_ESC when cancelled. */
typedef int (*prompt_fn)(struct tui *t, void *ctx, int choice, const char *text);

struct tui_opts {
	bool ascii;          /* force the ASCII fallback */
	bool no_mouse;
	bool no_color;
};

struct tui {
	struct event_base *base;
	struct tui_opts opts;
	SCREEN *screen;
	bool active;                 /* curses owns the terminal */
	int rows, cols;
	bool color, utf8, mouse;
	attr_t attr[S_STYLES];
	unsigned tick;               /* spinner frame */
	struct event *ev_stdin, *ev_tick, *ev_redraw, *ev_sig[5];
	bool dirty, quit;
	bool input_seen;             /* a key or a resize since the last redraw: draw at once */
	double last_redraw;
	bool quit_after_job;         /* leave once the running job (stopping labs) is done */
	bool want_cursor;            /* a field placed the cursor during this redraw */
	int cursor_y, cursor_x, cursor_shown;

	int cur;                     /* current view */
	void *vs[V_COUNT];
	struct tui_rect tabs[V_COUNT]; /* where each tab label was drawn, for clicks */
	char filter[V_COUNT][128];

	bool help;
	struct tui_pane help_pane;

	struct {
		enum prompt_kind kind;
		char question[600];
		const char *choices;     /* confirmation keys, e.g. "yn" */
		struct tui_field field;
		prompt_fn fn;
		void *ctx;
	} prompt;

	char status[512];
	enum tui_style status_style;
	double status_until;

	/* bracketed paste being received */
	bool pasting;
	char *paste;
	size_t paste_len;

	struct model model;

	/* the built-in lab broker, when the TUI started or found it */
	struct lab_info builtin;
	bool have_builtin;
	char builtin_error[512];

	struct {
		bool running;
		char what[128];
		int fds[2];
		struct event *ev;
		job_work_fn work;
		job_done_fn done;
		void *arg;
		unsigned long thread;
	} job;

	char fatal[512];             /* printed after endwin */
};

/* The view states, for views that read each other. */
void *tui_view_state(struct tui *t, enum tui_view_id id);
void tui_switch(struct tui *t, enum tui_view_id id);
/* A message on the status line for a few seconds. */
void tui_status(struct tui *t, enum tui_style s, const char *fmt, ...) MQ_PRINTF(3, 4);
void tui_confirm(struct tui *t, const char *question, const char *choices, prompt_fn fn, void *ctx);
void tui_input(struct tui *t, const char *question, const char *initial, bool secret, prompt_fn fn, void *ctx);
/* Does text match the current view's "/" filter (case-insensitive substring)? */
bool tui_filter_match(const struct tui *t, const char *text);
const char *tui_filter(const struct tui *t);
/* Mark the screen for redraw at the end of this loop turn. */
void tui_dirty(struct tui *t);

/* Ask views whether quitting would stop something (a lab started here, the MITM). */
bool view_labs_running(struct tui *t, void *v, char *what, size_t size);
void view_labs_stop_all(struct tui *t, void *v);
bool view_mitm_running(void *v);
/* The Diagnose view shows a new target: Connect fills its form from it. */
void view_connect_show_target(struct tui *t, void *v, const struct target *tg);

/* Run the TUI until the user quits. tg: what to diagnose first, or NULL for the built-in lab. */
int tui_main(const struct target *tg, const struct tui_opts *o, struct mq_err *err);

#endif
