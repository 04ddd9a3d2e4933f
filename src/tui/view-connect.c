/*
 * view-connect — the target as a form (every TARGET option of the contract), a field where a
 * failing mosquitto_sub / mosquitto_pub line is pasted and parsed with the same parser the
 * command line uses, and saved profiles. The form is turned into the argument list of
 * "mqttls diagnose", shown at the bottom, so what the student clicks is also what they could type.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "mqttls/target.h"
#include "mqttls/util.h"
#include "tui.h"

enum fld {
	F_PASTE, F_TRANSPORT, F_HOST, F_PORT, F_CAFILE, F_CERT, F_KEY, F_USER, F_PASS, F_ID, F_TOPIC,
	F_TLSMIN, F_TLSMAX, F_MQTTV, F_VERIFY, F_SNI, F_OTHER, F_N
};
/* Items after the fields: the Diagnose button, then one per profile. */
#define ITEM_GO F_N
#define ITEM_PROFILE0 (F_N + 1)

struct choice {
	const char *label, *value;
};

static const struct choice transports[] = { { "mqtts - MQTT over TLS", "tls" }, { "mqtt - plain MQTT, no TLS", "plain" }, { NULL, NULL } };
static const struct choice tls_mins[] = { { "default", "" }, { "tlsv1.2 and higher", "tlsv1.2" }, { "tlsv1.3 only", "tlsv1.3" }, { NULL, NULL } };
static const struct choice tls_maxs[] = { { "no limit", "" }, { "tlsv1.2 (an ESP32 on mbedTLS 2.x)", "tlsv1.2" }, { NULL, NULL } };
static const struct choice mqttvs[] = { { "3.1.1", "311" }, { "5", "5" }, { "3.1", "31" }, { NULL, NULL } };
static const struct choice verifies[] = {
	{ "CA and host name (as setCACert)", "" },
	{ "CA only, host name unchecked (--insecure)", "--insecure" },
	{ "nothing (--no-verify, as setInsecure)", "--no-verify" },
	{ NULL, NULL },
};

static const struct field_def {
	const char *label;
	const char *opt;               /* the option a text field becomes */
	const struct choice *choices;  /* NULL: a text field */
	bool secret;
	const char *hint;
} defs[F_N] = {
	[F_PASTE] = { "Paste a command", NULL, NULL, false, NULL },
	[F_TRANSPORT] = { "Transport", NULL, transports, false, NULL },
	[F_HOST] = { "Host", "-h", NULL, false, "name or address of the broker" },
	[F_PORT] = { "Port", "-p", NULL, false, "8883 for TLS, 1883 plain" },
	[F_CAFILE] = { "CA file", "--cafile", NULL, false, "the CA that signed the broker (PEM)" },
	[F_CERT] = { "Client cert", "--cert", NULL, false, "for brokers that require one" },
	[F_KEY] = { "Client key", "--key", NULL, false, NULL },
	[F_USER] = { "Username", "-u", NULL, false, NULL },
	[F_PASS] = { "Password", "-P", NULL, true, NULL },
	[F_ID] = { "Client id", "-i", NULL, false, "default: mqttls-<random>" },
	[F_TOPIC] = { "Topic", "-t", NULL, false, "the round trip uses a unique topic under it" },
	[F_TLSMIN] = { "TLS version", NULL, tls_mins, false, NULL },
	[F_TLSMAX] = { "TLS at most", NULL, tls_maxs, false, NULL },
	[F_MQTTV] = { "MQTT version", NULL, mqttvs, false, NULL },
	[F_VERIFY] = { "Verify", NULL, verifies, false, NULL },
	[F_SNI] = { "SNI", "--sni", NULL, false, "default: the host, unless an address" },
	[F_OTHER] = { "Other options", NULL, NULL, false, "e.g. --capath DIR -q 0 -k 30" },
};

struct vconn {
	struct tui_pane pane;
	struct tui_field f[F_N];
	int choice[F_N];
	int editing;                 /* the field being edited, -1 none */
	struct tui_field backup;     /* what Esc puts back */
	char message[600];           /* the paste's outcome or the form's error */
	enum tui_style message_style;
	struct profiles prof;
	char pending[64];            /* the profile name waiting for "replace it?" */
	int pane_y;
};

static const struct tui_key_help keys[] = {
	{ "Up Down", "move between the fields" },
	{ "Enter", "edit a field / change a choice / load a profile" },
	{ "Left Right Space", "change a choice" },
	{ "d", "diagnose this target (Diagnose view)" },
	{ "p", "paste a mosquitto_sub/pub command line (or just paste it)" },
	{ "s", "save the target as a profile" },
	{ "x Delete", "delete the selected profile" },
	{ "n", "clear the form" },
	{ "b", "fill in the built-in lab broker" },
	{ "editing: Enter", "accept; Tab/Down next field; Esc undo" },
	{ "editing: Ctrl-U/K/W", "delete to start / to end / a word" },
	{ NULL, NULL },
};

/* ---- the form and TARGET ------------------------------------------------------------------ */

static void form_clear(struct vconn *v)
{
	for (int i = 0; i < F_N; i++) {
		if (i != F_PASTE)
			field_set(&v->f[i], "");
		v->f[i].secret = defs[i].secret;
		v->choice[i] = 0;
	}
	field_set(&v->f[F_HOST], "localhost");
	field_set(&v->f[F_PORT], "8883");
}

static int choice_of(const struct choice *c, const char *value)
{
	for (int i = 0; c[i].label; i++)
		if (!strcmp(c[i].value, value))
			return i;
	return 0;
}

/* Quote for a POSIX shell (and target_split_line): plain words stay bare. */
static void quote_arg(struct mq_str *s, const char *a)
{
	bool plain = *a != '\0';

	for (const char *p = a; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-[]", *p))
			plain = false;
	if (plain) {
		mq_str_printf(s, "%s", a);
		return;
	}
	mq_str_append(s, "'", 1);
	for (const char *p = a; *p; p++) {
		if (*p == '\'')
			mq_str_printf(s, "'\\''");
		else
			mq_str_append(s, p, 1);
	}
	mq_str_append(s, "'", 1);
}

struct args {
	char **v;
	int n;
};

static void args_add(struct args *a, const char *s)
{
	char **v = realloc(a->v, (size_t)(a->n + 2) * sizeof *v);
	if (!v)
		abort();
	a->v = v;
	a->v[a->n++] = strdup(s);
	a->v[a->n] = NULL;
}

static void args_free(struct args *a)
{
	target_free_argv(a->n, a->v);
	a->v = NULL;
	a->n = 0;
}

/* The form as "mqttls diagnose" arguments. -1 with err when "Other options" does not split. */
static int form_args(const struct vconn *v, struct args *a, struct mq_err *err)
{
	const char *host = v->f[F_HOST].buf, *port = v->f[F_PORT].buf;

	if (v->choice[F_TRANSPORT] == 1) {
		char url[2 * FIELD_MAX + 32];
		bool v6 = strchr(host, ':') != NULL;
		snprintf(url, sizeof url, "mqtt://%s%s%s%s%s", v6 ? "[" : "", *host ? host : "localhost", v6 ? "]" : "",
			 *port ? ":" : "", port);
		args_add(a, url);
	} else {
		if (*host) {
			args_add(a, "-h");
			args_add(a, host);
		}
		if (*port) {
			args_add(a, "-p");
			args_add(a, port);
		}
	}
	for (int i = 0; i < F_N; i++) {
		if (!defs[i].opt || i == F_HOST || i == F_PORT || !v->f[i].len)
			continue;
		args_add(a, defs[i].opt);
		args_add(a, v->f[i].buf);
	}
	if (*tls_mins[v->choice[F_TLSMIN]].value) {
		args_add(a, "--tls-version");
		args_add(a, tls_mins[v->choice[F_TLSMIN]].value);
	}
	if (*tls_maxs[v->choice[F_TLSMAX]].value) {
		args_add(a, "--tls-max");
		args_add(a, tls_maxs[v->choice[F_TLSMAX]].value);
	}
	if (strcmp(mqttvs[v->choice[F_MQTTV]].value, "311")) {
		args_add(a, "-V");
		args_add(a, mqttvs[v->choice[F_MQTTV]].value);
	}
	if (*verifies[v->choice[F_VERIFY]].value)
		args_add(a, verifies[v->choice[F_VERIFY]].value);
	if (v->f[F_OTHER].len) {
		int argc = 0;
		char **argv = NULL;
		if (target_split_line(v->f[F_OTHER].buf, &argc, &argv, err) < 0)
			return -1;
		for (int i = 0; i < argc; i++)
			args_add(a, argv[i]);
		target_free_argv(argc, argv);
	}
	return 0;
}

/* One line of shell words; secret: the password's value masked. */
static char *args_line(const struct args *a, bool mask)
{
	struct mq_str s = { 0 };

	for (int i = 0; i < a->n; i++) {
		if (i)
			mq_str_append(&s, " ", 1);
		if (mask && i > 0 && (!strcmp(a->v[i - 1], "-P") || !strcmp(a->v[i - 1], "--pw")))
			mq_str_printf(&s, "****");
		else
			quote_arg(&s, a->v[i]);
	}
	return mq_str_take(&s);
}

static int parse_args(const struct args *a, struct target *tg, struct mq_err *err)
{
	target_init(tg);
	for (int i = 0; i < a->n;) {
		int used = target_parse_arg(tg, a->n, a->v, i, err);
		if (used < 0)
			return -1;
		if (used == 0) {
			mq_errf(err, "unknown option '%s'", a->v[i]);
			return -1;
		}
		i += used;
	}
	return target_finish(tg, err);
}

/* The form as a TARGET: 0, or -1 with err in the parser's own words. */
static int form_target(const struct vconn *v, struct target *tg, struct mq_err *err)
{
	struct args a = { 0 };
	int rc = form_args(v, &a, err);

	if (rc == 0)
		rc = parse_args(&a, tg, err);
	else
		target_init(tg);
	args_free(&a);
	return rc;
}

static void set_text(struct vconn *v, enum fld i, const char *s)
{
	field_set(&v->f[i], s ? s : "");
}

static void form_from_target(struct vconn *v, const struct target *tg)
{
	struct mq_str other = { 0 };
	char num[16];

	form_clear(v);
	v->choice[F_TRANSPORT] = tg->tls ? 0 : 1;
	set_text(v, F_HOST, tg->host);
	snprintf(num, sizeof num, "%d", tg->port);
	set_text(v, F_PORT, num);
	set_text(v, F_CAFILE, tg->cafile);
	set_text(v, F_CERT, tg->cert);
	set_text(v, F_KEY, tg->key);
	set_text(v, F_USER, tg->user);
	set_text(v, F_PASS, tg->pass);
	set_text(v, F_ID, tg->client_id);
	set_text(v, F_TOPIC, tg->topic);
	set_text(v, F_SNI, tg->sni);
	v->choice[F_TLSMIN] = tg->tls_min == TLS1_3_VERSION ? 2 : tg->tls_min == TLS1_2_VERSION ? 1 : 0;
	v->choice[F_TLSMAX] = tg->tls_max == TLS1_2_VERSION ? 1 : 0;
	v->choice[F_MQTTV] = choice_of(mqttvs, tg->mqtt_version == 5 ? "5" : tg->mqtt_version == 31 ? "31" : "311");
	v->choice[F_VERIFY] = tg->verify == TARGET_VERIFY_NONE ? 2 : tg->verify == TARGET_VERIFY_NO_HOST ? 1 : 0;
	/* What the form has no field for is kept, as options, in "Other options". */
	if (tg->capath) {
		mq_str_printf(&other, "--capath ");
		quote_arg(&other, tg->capath);
	}
	if (tg->message) {
		mq_str_printf(&other, "%s-m ", other.len ? " " : "");
		quote_arg(&other, tg->message);
	}
	if (tg->ciphers) {
		mq_str_printf(&other, "%s--ciphers ", other.len ? " " : "");
		quote_arg(&other, tg->ciphers);
	}
	if (tg->qos != 1)
		mq_str_printf(&other, "%s-q %d", other.len ? " " : "", tg->qos);
	if (tg->keepalive != 60)
		mq_str_printf(&other, "%s-k %d", other.len ? " " : "", tg->keepalive);
	if (tg->clock != TARGET_CLOCK_SYSTEM) {
		char when[32];
		mq_str_printf(&other, "%s--clock %s", other.len ? " " : "",
			      target_clock_arg(tg->clock, tg->clock_at, when, sizeof when));
	}
	set_text(v, F_OTHER, other.s);
	mq_str_free(&other);
}

void view_connect_show_target(struct tui *t, void *p, const struct target *tg)
{
	struct vconn *v = p;
	(void)t;
	if (v && tg)
		form_from_target(v, tg);
}

/* ---- actions ------------------------------------------------------------------------------ */

static void message(struct vconn *v, enum tui_style s, const char *fmt, ...) MQ_PRINTF(3, 4);
static void message(struct vconn *v, enum tui_style s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->message, sizeof v->message, fmt, ap);
	va_end(ap);
	v->message_style = s;
}

static int diagnose(struct tui *t, struct vconn *v)
{
	struct target tg;
	struct mq_err err = { 0 };

	if (form_target(v, &tg, &err) < 0) {
		tui_status(t, S_FAIL, "cannot diagnose this: %s", err.msg);
		target_free(&tg);
		return TUI_REDRAW;
	}
	model_start(t, &tg, NULL);
	target_free(&tg);
	message(v, S_NORMAL, "%s", "");
	tui_switch(t, V_DIAGNOSE);
	return TUI_REDRAW;
}

static void parse_paste(struct tui *t, struct vconn *v)
{
	struct target tg;
	struct mq_err err = { 0 };
	char shown[300];

	(void)t;
	target_init(&tg);
	if (!v->f[F_PASTE].len) {
		message(v, S_DIM, "%s", "");
	} else if (target_parse_line(&tg, v->f[F_PASTE].buf, &err) < 0) {
		message(v, S_FAIL, "not understood: %s", err.msg);
	} else {
		form_from_target(v, &tg);
		mq_escape(tg.host, strlen(tg.host), shown, sizeof shown);
		message(v, S_OK, "understood: %s://%s:%d%s%s%s - d diagnoses it", tg.tls ? "mqtts" : "mqtt", shown, tg.port,
			tg.pasted_tool ? " (" : "", tg.pasted_tool ? tg.pasted_tool : "", tg.pasted_tool ? ")" : "");
	}
	target_free(&tg);
}

static void edit_start(struct vconn *v, int i)
{
	v->editing = i;
	v->backup = v->f[i];
	v->f[i].cur = v->f[i].len;
	v->pane.sel = i;
}

static void edit_end(struct tui *t, struct vconn *v, bool keep)
{
	int i = v->editing;

	if (i < 0)
		return;
	if (!keep)
		v->f[i] = v->backup;
	v->editing = -1;
	if (keep && i == F_PASTE)
		parse_paste(t, v);
}

static void cycle(struct vconn *v, int i, int dir)
{
	int n = 0;
	while (defs[i].choices[n].label)
		n++;
	v->choice[i] = (v->choice[i] + dir + n) % n;
}

static int activate(struct tui *t, struct vconn *v, int item)
{
	if (item == ITEM_GO)
		return diagnose(t, v);
	if (item >= ITEM_PROFILE0 && (size_t)(item - ITEM_PROFILE0) < v->prof.n) {
		const struct profile *p = &v->prof.v[item - ITEM_PROFILE0];
		struct target tg;
		struct mq_err err = { 0 };
		target_init(&tg);
		if (target_parse_line(&tg, p->line, &err) < 0) {
			tui_status(t, S_FAIL, "profile %s: %s", p->name, err.msg);
		} else {
			form_from_target(v, &tg);
			tui_status(t, S_OK, "profile %s loaded - d diagnoses it", p->name);
		}
		target_free(&tg);
		return TUI_REDRAW;
	}
	if (item < 0 || item >= F_N)
		return TUI_REDRAW;
	if (defs[item].choices)
		cycle(v, item, 1);
	else
		edit_start(v, item);
	return TUI_REDRAW;
}

/* ---- profiles ----------------------------------------------------------------------------- */

static int save_now(struct tui *t, struct vconn *v, const char *name)
{
	struct args a = { 0 };
	struct mq_err err = { 0 };
	struct target tg;
	char *line;

	if (form_target(v, &tg, &err) < 0) {
		target_free(&tg);
		tui_status(t, S_FAIL, "not saved: %s", err.msg);
		return TUI_REDRAW;
	}
	target_free(&tg);
	if (form_args(v, &a, &err) < 0) {
		args_free(&a);
		tui_status(t, S_FAIL, "not saved: %s", err.msg);
		return TUI_REDRAW;
	}
	line = args_line(&a, false);
	args_free(&a);
	if (profiles_put(&v->prof, name, line, &err) < 0)
		tui_status(t, S_FAIL, "not saved: %s", err.msg);
	else
		tui_status(t, S_OK, "saved profile %s in %s", name, v->prof.path);
	free(line);
	return TUI_REDRAW;
}

static int on_overwrite(struct tui *t, void *ctx, int choice, const char *text)
{
	struct vconn *v = ctx;

	(void)text;
	if (choice == 'y')
		return save_now(t, v, v->pending);
	tui_status(t, S_NORMAL, "profile %s kept as it was", v->pending);
	return TUI_REDRAW;
}

static int on_profile_name(struct tui *t, void *ctx, int choice, const char *text)
{
	struct vconn *v = ctx;
	char q[160];

	if (choice != K_RET || !text || !*text)
		return TUI_REDRAW;
	if (!profile_name_ok(text)) {
		tui_status(t, S_FAIL, "%s", "a profile name is letters, digits, '-', '_' or '.', at most 40 characters");
		return TUI_REDRAW;
	}
	snprintf(v->pending, sizeof v->pending, "%s", text);
	for (size_t i = 0; i < v->prof.n; i++) {
		if (!strcmp(v->prof.v[i].name, text)) {
			snprintf(q, sizeof q, "A profile named %s exists. Replace it? y/n", text);
			tui_confirm(t, q, "yn", on_overwrite, v);
			return TUI_REDRAW;
		}
	}
	return save_now(t, v, text);
}

static int on_delete(struct tui *t, void *ctx, int choice, const char *text)
{
	struct vconn *v = ctx;
	struct mq_err err = { 0 };
	int i = v->pane.sel - ITEM_PROFILE0;

	(void)text;
	if (choice != 'y' || i < 0 || (size_t)i >= v->prof.n)
		return TUI_REDRAW;
	if (profiles_delete(&v->prof, (size_t)i, &err) < 0)
		tui_status(t, S_FAIL, "not deleted: %s", err.msg);
	else
		tui_status(t, S_OK, "%s", "profile deleted");
	return TUI_REDRAW;
}

/* ---- the view ----------------------------------------------------------------------------- */

static void *vconn_create(struct tui *t)
{
	struct vconn *v = calloc(1, sizeof *v);
	(void)t;
	if (!v)
		abort();
	v->pane.selectable = true;
	v->editing = -1;
	form_clear(v);
	field_set(&v->f[F_PASTE], "");
	profiles_load(&v->prof);
	return v;
}

static void vconn_destroy(struct tui *t, void *p)
{
	struct vconn *v = p;
	(void)t;
	lines_free(&v->pane.lines);
	profiles_free(&v->prof);
	free(v);
}

#define LABEL_W 17

static void vconn_draw(struct tui *t, void *p, const struct tui_rect *r)
{
	struct vconn *v = p;
	struct tui_lines *l = &v->pane.lines;
	struct args a = { 0 };
	struct mq_err err = { 0 };
	int bottom = 2, y;

	lines_clear(l);
	l->width = r->w;
	for (int i = 0; i < F_N; i++) {
		const struct field_def *d = &defs[i];
		if (i == F_TRANSPORT)
			lines_add(l, -1, S_HEAD, " %s", "Target");
		lines_add(l, i, S_NORMAL, " %-*s", LABEL_W - 1, d->label);
		if (d->choices) {
			lines_seg(l, S_BOLD, "%s ", draw_glyph(t, G_LARROW));
			lines_seg(l, S_NORMAL, "%s", d->choices[v->choice[i]].label);
			lines_seg(l, S_BOLD, " %s", draw_glyph(t, G_ARROW));
		} else if (v->f[i].len) {
			/* The user's own text, but a paste can carry anything: escaped like the rest. */
			if (v->f[i].secret) {
				char stars[64];
				size_t n = v->f[i].len < sizeof stars - 1 ? v->f[i].len : sizeof stars - 1;
				memset(stars, '*', n);
				stars[n] = '\0';
				lines_seg(l, S_FIELD, "%s", stars);
			} else {
				lines_seg_untrusted(l, S_FIELD, v->f[i].buf, v->f[i].len);
			}
		} else {
			lines_seg(l, S_DIM, "%s", d->hint ? d->hint : "");
		}
		if (i == F_PASTE) {
			if (v->message[0])
				lines_wrap(t, l, i, v->message_style, LABEL_W, v->message);
			else
				lines_add(l, i, S_DIM, " %*s%s", LABEL_W - 1, "",
					  "e.g. mosquitto_sub -h 192.168.1.10 -p 8883 --cafile ca.crt -t test");
		}
	}
	lines_add(l, ITEM_GO, S_OK, " %*s[ %s ]", LABEL_W - 1, "", "Diagnose this target (d)");
	lines_blank(l, -1);
	lines_add(l, -1, S_HEAD, " %s", "Saved profiles");
	lines_seg(l, S_DIM, "  %s", v->prof.path);
	if (v->prof.error[0])
		lines_add(l, -1, S_FAIL, "   %s", v->prof.error);
	if (!v->prof.n)
		lines_add(l, -1, S_DIM, "   %s", "none yet: s saves the form under a name");
	for (size_t i = 0; i < v->prof.n; i++) {
		if (!tui_filter_match(t, v->prof.v[i].name) && !tui_filter_match(t, v->prof.v[i].line))
			continue;
		lines_add(l, ITEM_PROFILE0 + (int)i, S_BOLD, "   %-14s ", v->prof.v[i].name);
		lines_seg_untrusted(l, S_DIM, v->prof.v[i].line, strlen(v->prof.v[i].line));
	}
	v->pane.nitems = ITEM_PROFILE0 + (int)v->prof.n;
	if (v->pane.sel < 0)
		v->pane.sel = 0;

	v->pane_y = 0;
	pane_draw(t, &v->pane, &(struct tui_rect){ r->y, r->x, r->h - bottom, r->w });

	/* The field being edited is drawn over its row. */
	if (v->editing >= 0) {
		for (int row = 0; row < v->pane.rows; row++) {
			if (v->pane.row_item[row] == v->editing) {
				field_draw(t, &v->f[v->editing], r->y + row, r->x + LABEL_W, r->w - LABEL_W - 1, true);
				break;
			}
		}
	}

	/* The same target as a command line. */
	y = r->y + r->h - bottom;
	draw_fill(t, y, r->x, r->w, S_NORMAL);
	if (form_args(v, &a, &err) == 0) {
		char *line = args_line(&a, true);
		char *full = NULL;
		if (asprintf(&full, "mqttls diagnose %s", line) < 0)
			full = NULL;
		draw_text(t, y, r->x + 1, 3, S_DIM, "$ ");
		draw_untrusted(t, y, r->x + 3, r->w - 4, S_BOLD, full ? full : line, strlen(full ? full : line));
		free(full);
		free(line);
	} else {
		draw_text(t, y, r->x + 1, r->w - 2, S_FAIL, err.msg);
	}
	args_free(&a);
	draw_text(t, y + 1, r->x + 1, r->w - 2, S_DIM,
		  v->editing >= 0 ? "Enter accepts, Esc undoes, Tab goes to the next field"
				  : "Enter edits, d diagnoses, s saves a profile, p pastes a command line");
}

static int vconn_key(struct tui *t, void *p, int key)
{
	struct vconn *v = p;
	int r;

	if (v->editing >= 0) {
		int fl = field_key(&v->f[v->editing], key);
		if (fl & FIELD_CANCEL) {
			edit_end(t, v, false);
		} else if (fl & FIELD_DONE) {
			int next = v->editing + ((fl & FIELD_NEXT) ? 1 : (fl & FIELD_PREV) ? -1 : 0);
			bool moving = fl & (FIELD_NEXT | FIELD_PREV);
			edit_end(t, v, true);
			if (moving && next >= 0 && next < F_N) {
				v->pane.sel = next;
				if (!defs[next].choices)
					edit_start(v, next);
			}
		}
		return TUI_REDRAW;
	}
	r = pane_key(&v->pane, key);
	if (r != TUI_UNHANDLED)
		return r;
	if (tui_key_is_enter(key))
		return activate(t, v, v->pane.sel);
	if (v->pane.sel >= 0 && v->pane.sel < F_N && defs[v->pane.sel].choices &&
	    (key == ' ' || key == K_RIGHT || key == K_LEFT)) {
		cycle(v, v->pane.sel, key == K_LEFT ? -1 : 1);
		return TUI_REDRAW;
	}
	switch (key) {
	case 'd':
	case 'D':
		return diagnose(t, v);
	case 'p':
	case 'P':
		v->pane.top = 0;
		edit_start(v, F_PASTE);
		return TUI_REDRAW;
	case 'e':
		return activate(t, v, v->pane.sel);
	case 's':
	case 'S':
		tui_input(t, "Save the form as profile:", "", false, on_profile_name, v);
		return TUI_REDRAW;
	case 'x':
	case K_DC:
		if (v->pane.sel >= ITEM_PROFILE0 && (size_t)(v->pane.sel - ITEM_PROFILE0) < v->prof.n) {
			char q[160];
			snprintf(q, sizeof q, "Delete profile %s? y/n", v->prof.v[v->pane.sel - ITEM_PROFILE0].name);
			tui_confirm(t, q, "yn", on_delete, v);
		}
		return TUI_REDRAW;
	case 'n':
		form_clear(v);
		field_set(&v->f[F_PASTE], "");
		message(v, S_NORMAL, "%s", "");
		return TUI_REDRAW;
	case 'b':
		if (!t->have_builtin) {
			tui_status(t, S_WARN, "%s", "the built-in lab broker is not running (Labs view: start basic)");
			return TUI_REDRAW;
		}
		form_clear(v);
		set_text(v, F_HOST, t->builtin.host);
		{
			char num[16];
			snprintf(num, sizeof num, "%d", t->builtin.port);
			set_text(v, F_PORT, num);
		}
		set_text(v, F_CAFILE, t->builtin.cafile);
		tui_status(t, S_OK, "%s", "the built-in lab broker - d diagnoses it");
		return TUI_REDRAW;
	}
	return TUI_UNHANDLED;
}

static int vconn_click(struct tui *t, void *p, int y, int x)
{
	struct vconn *v = p;
	int item = pane_item_at(&v->pane, y - v->pane_y);

	(void)x;
	if (v->editing >= 0)
		edit_end(t, v, true);
	if (item < 0)
		return TUI_REDRAW;
	if (item == v->pane.sel || item == ITEM_GO)
		return activate(t, v, item);
	v->pane.sel = item;
	return TUI_REDRAW;
}

static int vconn_wheel(struct tui *t, void *p, int y, int delta)
{
	struct vconn *v = p;
	(void)t;
	(void)y;
	return pane_scroll(&v->pane, delta);
}

/* A command copied from a tutorial is often continued over lines with backslashes: one line. */
static size_t join_lines(const char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\\' && i + 1 < n && (in[i + 1] == '\n' || in[i + 1] == '\r')) {
			i += (in[i + 1] == '\r' && i + 2 < n && in[i + 2] == '\n') ? 2 : 1;
			out[o++] = ' ';
		} else if (in[i] == '\r' || in[i] == '\n') {
			out[o++] = ' ';
		} else {
			out[o++] = in[i];
		}
	}
	return o;
}

static int vconn_paste(struct tui *t, void *p, const char *text, size_t n)
{
	struct vconn *v = p;
	char *one = malloc(n + 1);

	if (!one)
		return TUI_REDRAW;
	n = join_lines(text, n, one);
	if (v->editing >= 0) {
		field_insert(&v->f[v->editing], one, n);
		free(one);
		return TUI_REDRAW;
	}
	/* A paste on this view is a command line: it goes where command lines go, and is read at once. */
	field_set(&v->f[F_PASTE], "");
	field_insert(&v->f[F_PASTE], one, n);
	free(one);
	v->pane.sel = F_PASTE;
	v->pane.top = 0;
	parse_paste(t, v);
	return TUI_REDRAW;
}

static bool vconn_editing(void *p)
{
	return ((struct vconn *)p)->editing >= 0;
}

static void vconn_shown(struct tui *t, void *p)
{
	struct vconn *v = p;
	(void)t;
	profiles_load(&v->prof);
}

const struct tui_view view_connect = {
	.name = "Connect",
	.keys = keys,
	.hint = "Enter:edit  d:diagnose  p:paste  s:save",
	.create = vconn_create,
	.destroy = vconn_destroy,
	.draw = vconn_draw,
	.key = vconn_key,
	.click = vconn_click,
	.wheel = vconn_wheel,
	.paste = vconn_paste,
	.editing = vconn_editing,
	.shown = vconn_shown,
	.filterable = true,
};
