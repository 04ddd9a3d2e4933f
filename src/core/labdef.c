/*
 * labdef — the lab definition format: a bounded line lexer, then one table of keys per
 * section that says what each value must look like and where it goes.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/finding.h"
#include "mqttls/labdef.h"
#include "mqttls/util.h"

/* ---- the lexer ------------------------------------------------------------------------------ */

struct lexer {
	const char *name;
	const char *buf;
	size_t len, pos;
	int line;
	struct mq_err *err;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * The next line without its newline (and a CR before it). 1 when there is one, 0 at the end,
 * -1 with err set for a line that is too long, holds a NUL byte or is not UTF-8.
 */
static int next_line(struct lexer *lx, const char **start, size_t *n)
{
	const char *p, *nl;
	size_t avail, l;

	if (lx->pos >= lx->len)
		return 0;
	p = lx->buf + lx->pos;
	avail = lx->len - lx->pos;
	nl = memchr(p, '\n', avail);
	l = nl ? (size_t)(nl - p) : avail;
	lx->pos += nl ? l + 1 : l;
	lx->line++;
	if (l && p[l - 1] == '\r')
		l--;
	if (l > LABDEF_MAX_LINE) {
		mq_errf(lx->err, "%s:%d: line too long (%zu bytes; at most %d)", lx->name, lx->line, l, LABDEF_MAX_LINE);
		return -1;
	}
	if (memchr(p, '\0', l)) {
		mq_errf(lx->err, "%s:%d: a NUL byte in the line", lx->name, lx->line);
		return -1;
	}
	if (!mq_utf8_valid(p, l)) {
		mq_errf(lx->err, "%s:%d: the line is not valid UTF-8", lx->name, lx->line);
		return -1;
	}
	*start = p;
	*n = l;
	return 1;
}

static char *dup_n(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();   /* the program cannot go on without memory; no partial definition is used */
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static char *dup_s(const char *s)
{
	return s ? dup_n(s, strlen(s)) : NULL;
}

static void trim(const char **p, size_t *n)
{
	while (*n && is_blank(**p))
		(*p)++, (*n)--;
	while (*n && is_blank((*p)[*n - 1]))
		(*n)--;
}

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static struct labdef_section *new_section(struct labdef_doc *doc, struct lexer *lx)
{
	struct labdef_section *v;

	if (doc->n >= LABDEF_MAX_SECTIONS) {
		mq_errf(lx->err, "%s:%d: too many sections (at most %d)", lx->name, lx->line, LABDEF_MAX_SECTIONS);
		return NULL;
	}
	v = realloc(doc->v, (doc->n + 1) * sizeof *doc->v);
	if (!v)
		abort();
	doc->v = v;
	memset(&v[doc->n], 0, sizeof v[doc->n]);
	v[doc->n].line = lx->line;
	return &v[doc->n++];
}

static int header(struct labdef_doc *doc, struct lexer *lx, const char *p, size_t n)
{
	struct labdef_section *s;
	size_t t = 0;

	/* p starts with '[' and the line is trimmed */
	if (n < 3 || p[n - 1] != ']') {
		mq_errf(lx->err, "%s:%d: a section header is [TYPE] or [TYPE ARGUMENT]", lx->name, lx->line);
		return -1;
	}
	p++, n -= 2;
	trim(&p, &n);
	while (t < n && key_char(p[t]))
		t++;
	if (t == 0 || (t < n && !is_blank(p[t]))) {
		mq_errf(lx->err, "%s:%d: a section type is lower-case letters, digits and '-'", lx->name, lx->line);
		return -1;
	}
	if (!(s = new_section(doc, lx)))
		return -1;
	s->type = dup_n(p, t);
	if (t < n) {
		const char *a = p + t;
		size_t an = n - t;
		trim(&a, &an);
		s->arg = dup_n(a, an);
	}
	return 0;
}

static int block(struct lexer *lx, const char *delim, size_t dn, char **out)
{
	struct mq_str text = { 0 };
	int start = lx->line, r;
	const char *p;
	size_t n;

	while ((r = next_line(lx, &p, &n)) == 1) {
		if (n == dn && !memcmp(p, delim, dn)) {
			*out = mq_str_take(&text);
			return 0;
		}
		if (text.len + n + 1 > LABDEF_MAX_TEXT) {
			mq_errf(lx->err, "%s:%d: the block started at line %d is too long (at most %u bytes)", lx->name,
				lx->line, start, LABDEF_MAX_TEXT);
			mq_str_free(&text);
			return -1;
		}
		mq_str_append(&text, p, n);
		mq_str_append(&text, "\n", 1);
	}
	if (r == 0)
		mq_errf(lx->err, "%s:%d: the block started at line %d never ends (no line '%.*s')", lx->name, lx->line,
			start, (int)dn, delim);
	mq_str_free(&text);
	return -1;
}

static int keyval(struct labdef_doc *doc, struct lexer *lx, const char *p, size_t n)
{
	struct labdef_section *s;
	struct labdef_kv *kv;
	const char *v;
	size_t k = 0, vn;
	int line = lx->line;
	char *value = NULL;

	while (k < n && key_char(p[k]))
		k++;
	if (k == 0 || k > LABDEF_MAX_NAME || (k < n && !is_blank(p[k]))) {
		mq_errf(lx->err, "%s:%d: expected 'key value' (a key is lower-case letters, digits, '-' and '_')",
			lx->name, lx->line);
		return -1;
	}
	v = p + k;
	vn = n - k;
	trim(&v, &vn);
	if (vn >= 2 && v[0] == '<' && v[1] == '<') {
		const char *d = v + 2;
		size_t dn = vn - 2;
		trim(&d, &dn);
		for (size_t i = 0; i < dn; i++)
			if (!((d[i] >= 'A' && d[i] <= 'Z') || (d[i] >= '0' && d[i] <= '9') || d[i] == '_'))
				dn = 0;
		if (dn == 0 || dn > 32) {
			mq_errf(lx->err, "%s:%d: a block is 'key <<WORD' with WORD in capitals (e.g. <<END)", lx->name,
				lx->line);
			return -1;
		}
		if (block(lx, d, dn, &value) < 0)
			return -1;
	}
	if (doc->n == 0 && !new_section(doc, lx)) {
		free(value);
		return -1;
	}
	s = &doc->v[doc->n - 1];
	if (!s->type)
		s->type = dup_s("");
	if (s->n_kv >= LABDEF_MAX_KEYS) {
		mq_errf(lx->err, "%s:%d: too many keys in one section (at most %d)", lx->name, line, LABDEF_MAX_KEYS);
		free(value);
		return -1;
	}
	kv = realloc(s->kv, (s->n_kv + 1) * sizeof *s->kv);
	if (!kv)
		abort();
	s->kv = kv;
	kv[s->n_kv].key = dup_n(p, k);
	kv[s->n_kv].value = value ? value : dup_n(v, vn);
	kv[s->n_kv].line = line;
	s->n_kv++;
	return 0;
}

void labdef_doc_free(struct labdef_doc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->n; i++) {
		for (size_t k = 0; k < doc->v[i].n_kv; k++) {
			free(doc->v[i].kv[k].key);
			free(doc->v[i].kv[k].value);
		}
		free(doc->v[i].kv);
		free(doc->v[i].type);
		free(doc->v[i].arg);
	}
	free(doc->v);
	memset(doc, 0, sizeof *doc);
}

int labdef_lex(struct labdef_doc *doc, const char *name, const char *buf, size_t len, struct mq_err *err)
{
	struct lexer lx = { .name = name, .buf = buf, .len = len, .err = err };
	const char *p;
	size_t n;
	int r;

	memset(doc, 0, sizeof *doc);
	if (len > LABDEF_MAX_BYTES) {
		mq_errf(err, "%s: too large (%zu bytes; at most %u)", name, len, LABDEF_MAX_BYTES);
		return -1;
	}
	if (len && !buf) {
		mq_errf(err, "%s: no data", name);
		return -1;
	}
	while ((r = next_line(&lx, &p, &n)) == 1) {
		trim(&p, &n);
		if (n == 0 || p[0] == '#')
			continue;
		if (p[0] == '[' ? header(doc, &lx, p, n) < 0 : keyval(doc, &lx, p, n) < 0) {
			r = -1;
			break;
		}
	}
	if (r < 0) {
		labdef_doc_free(doc);
		return -1;
	}
	return 0;
}

/* ---- templates ------------------------------------------------------------------------------ */

static const char *const builtin_vars[] = { "ip", "host", "server", "dir", "labdir", "pki", "name", "ipv6" };

bool labdef_builtin_var(const char *name)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(builtin_vars); i++)
		if (!strcmp(builtin_vars[i], name))
			return true;
	return false;
}

static bool var_name_ok(const char *p, size_t n)
{
	if (n == 0 || n >= LABDEF_MAX_NAME || !(p[0] >= 'a' && p[0] <= 'z'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!key_char(p[i]))
			return false;
	return true;
}

/* "{if NAME}": the name, or NULL when the line is not one. */
static bool if_line(const char *p, size_t n, char *name, size_t size)
{
	if (n < 6 || memcmp(p, "{if ", 4) || p[n - 1] != '}' || n - 5 >= size || !var_name_ok(p + 4, n - 5))
		return false;
	memcpy(name, p + 4, n - 5);
	name[n - 5] = '\0';
	return true;
}

static bool truthy(const char *v)
{
	return v && *v && strcmp(v, "no") && strcmp(v, "0");
}

static int expand_line(struct mq_str *out, const char *p, size_t n, labdef_lookup lookup, void *ctx,
		       struct mq_err *err, int line)
{
	for (size_t i = 0; i < n;) {
		const char *close, *v;
		char name[LABDEF_MAX_NAME];
		size_t nl;

		if (p[i] != '{') {
			const char *next = memchr(p + i, '{', n - i);
			size_t run = next ? (size_t)(next - (p + i)) : n - i;
			mq_str_append(out, p + i, run);
			i += run;
			continue;
		}
		if (i + 1 < n && p[i + 1] == '{') {
			mq_str_append(out, "{", 1);
			i += 2;
			continue;
		}
		close = memchr(p + i, '}', n - i);
		nl = close ? (size_t)(close - (p + i + 1)) : 0;
		if (!close || !var_name_ok(p + i + 1, nl)) {
			mq_errf(err, "template line %d: '{' starts neither {NAME} nor {{", line);
			return -1;
		}
		memcpy(name, p + i + 1, nl);
		name[nl] = '\0';
		if (!(v = lookup(ctx, name))) {
			mq_errf(err, "template line %d: unknown name {%s}", line, name);
			return -1;
		}
		mq_str_append(out, v, strlen(v));
		i += nl + 2;
	}
	return 0;
}

char *labdef_expand(const char *tmpl, labdef_lookup lookup, void *ctx, struct mq_err *err)
{
	struct mq_str out = { 0 };
	const char *p = tmpl;
	bool in_if = false, keep = true;
	int line = 0, if_line_no = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char name[LABDEF_MAX_NAME];

		line++;
		if (if_line(p, n, name, sizeof name)) {
			if (in_if) {
				mq_errf(err, "template line %d: {if} inside {if} (line %d)", line, if_line_no);
				goto fail;
			}
			in_if = true;
			if_line_no = line;
			keep = truthy(lookup(ctx, name));
			if (!lookup(ctx, name) && !labdef_builtin_var(name)) {
				mq_errf(err, "template line %d: unknown name {if %s}", line, name);
				goto fail;
			}
		} else if (n == 5 && !memcmp(p, "{end}", 5)) {
			if (!in_if) {
				mq_errf(err, "template line %d: {end} without {if}", line);
				goto fail;
			}
			in_if = false;
			keep = true;
		} else if (keep) {
			if (expand_line(&out, p, n, lookup, ctx, err, line) < 0)
				goto fail;
			if (nl)
				mq_str_append(&out, "\n", 1);
		}
		p += nl ? n + 1 : n;
	}
	if (in_if) {
		mq_errf(err, "template line %d: {if} without {end}", if_line_no);
		goto fail;
	}
	return mq_str_take(&out);
fail:
	mq_str_free(&out);
	return NULL;
}

/* ---- values --------------------------------------------------------------------------------- */

enum vtype {
	V_LINE,      /* one line of text */
	V_TEXT,      /* text, a block allowed */
	V_TMPL1,     /* a one-line template: checked for unknown names once the whole file is read */
	V_TMPL,      /* a template, a block allowed */
	V_NAME,      /* [a-z][a-z0-9_-]* */
	V_PATH,      /* a relative path without "..": letters, digits, . _ - / */
	V_MODE,      /* octal, at most 07777 */
	V_OWNER,     /* a user name */
	V_BOOL,      /* yes / no */
	V_NUMBER,    /* 0..99 */
};

struct keydef {
	const char *key;
	enum vtype type;
	size_t off;      /* offset of the char * (or int / bool) in the target struct */
	bool required;
};

struct ctx {
	const char *file;
	struct mq_err *err;
	struct labdef *d;
};

static int bad(struct ctx *c, int line, const char *fmt, ...) MQ_PRINTF(3, 4);

static int bad(struct ctx *c, int line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	mq_errf(c->err, "%s:%d: %s", c->file, line, msg);
	return -1;
}

static bool path_ok(const char *s, bool dot_ok)
{
	size_t n = strlen(s);
	const char *c = s;

	if (dot_ok && !strcmp(s, "."))
		return true;
	if (n == 0 || n > 200 || s[0] == '/' || s[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-' || s[i] == '/'))
			return false;
	/* Every component: not empty, not "." and not "..". */
	while (*c) {
		size_t l = strcspn(c, "/");
		if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += l;
		if (*c == '/')
			c++;
	}
	return true;
}

static bool owner_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 31 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!key_char(s[i]))
			return false;
	return true;
}

static int set_value(struct ctx *c, const struct keydef *k, void *target, const struct labdef_kv *kv)
{
	char *end;
	long v;

	switch (k->type) {
	case V_NAME:
		if (!var_name_ok(kv->value, strlen(kv->value)))
			return bad(c, kv->line, "%s: a name is lower-case letters, digits, '-' and '_' (at most 31)", kv->key);
		break;
	case V_PATH:
		if (!path_ok(kv->value, !strcmp(kv->key, "workdir")))
			return bad(c, kv->line, "%s: '%s' is not a relative path of letters, digits, '.', '_', '-' and '/' "
				   "without '..'", kv->key, kv->value);
		break;
	case V_OWNER:
		if (!owner_ok(kv->value))
			return bad(c, kv->line, "%s: '%s' is not a user name", kv->key, kv->value);
		break;
	case V_MODE:
		v = strtol(kv->value, &end, 8);
		if (!*kv->value || *end || v < 0 || v > 07777)
			return bad(c, kv->line, "%s: '%s' is not an octal mode (e.g. 0600)", kv->key, kv->value);
		*(int *)((char *)target + k->off) = (int)v;
		return 0;
	case V_BOOL:
		if (strcmp(kv->value, "yes") && strcmp(kv->value, "no"))
			return bad(c, kv->line, "%s: yes or no, not '%s'", kv->key, kv->value);
		*(bool *)((char *)target + k->off) = !strcmp(kv->value, "yes");
		return 0;
	case V_NUMBER:
		v = strtol(kv->value, &end, 10);
		if (!*kv->value || *end || v < 0 || v > 99)
			return bad(c, kv->line, "%s: a number from 0 to 99, not '%s'", kv->key, kv->value);
		*(int *)((char *)target + k->off) = (int)v;
		return 0;
	case V_LINE:
	case V_TMPL1:
		if (strchr(kv->value, '\n'))
			return bad(c, kv->line, "%s: one line, not a block", kv->key);
		break;
	case V_TEXT:
	case V_TMPL:
		break;
	}
	free(*(char **)((char *)target + k->off));
	*(char **)((char *)target + k->off) = dup_s(kv->value);
	return 0;
}

/*
 * Apply a section's keys to target through its table; keys the table does not know go to
 * custom (which returns 1 when it took the key), else they are an error.
 */
static int apply(struct ctx *c, const struct labdef_section *s, const struct keydef *keys, size_t nkeys,
		 void *target, int (*custom)(struct ctx *, void *, const struct labdef_kv *))
{
	for (size_t i = 0; i < s->n_kv; i++) {
		const struct labdef_kv *kv = &s->kv[i];
		const struct keydef *k = NULL;
		int r;

		for (size_t j = 0; j < nkeys && !k; j++)
			if (!strcmp(keys[j].key, kv->key))
				k = &keys[j];
		if (k) {
			if (set_value(c, k, target, kv) < 0)
				return -1;
			continue;
		}
		r = custom ? custom(c, target, kv) : 0;
		if (r < 0)
			return -1;
		if (r == 0)
			return bad(c, kv->line, "[%s] has no key '%s'", s->type, kv->key);
	}
	for (size_t j = 0; j < nkeys; j++) {
		bool seen = false;
		if (!keys[j].required)
			continue;
		for (size_t i = 0; i < s->n_kv && !seen; i++)
			seen = !strcmp(s->kv[i].key, keys[j].key);
		if (!seen)
			return bad(c, s->line, "[%s] needs '%s'", s->type, keys[j].key);
	}
	return 0;
}

/* ---- sections ------------------------------------------------------------------------------- */

#define F(type, field) offsetof(type, field)

static const struct keydef lab_keys[] = {
	{ "number", V_NUMBER, F(struct labdef, number), true },
	{ "name", V_NAME, F(struct labdef, name), true },
	{ "title", V_LINE, F(struct labdef, title), true },
	{ "tutorial", V_LINE, F(struct labdef, tutorial), false },
	{ "summary", V_TEXT, F(struct labdef, summary), false },
	{ "workdir", V_PATH, F(struct labdef, workdir), false },
	{ "broker", V_PATH, F(struct labdef, broker), true },
	{ "host", V_TMPL1, F(struct labdef, host), false },
	{ "cafile", V_TMPL1, F(struct labdef, cafile), false },
	{ "certfile", V_TMPL1, F(struct labdef, certfile), false },
	{ "keyfile", V_TMPL1, F(struct labdef, keyfile), false },
	{ "companions", V_NAME, F(struct labdef, companions), false },
	{ "needs-root", V_BOOL, F(struct labdef, needs_root), false },
};

static int lab_custom(struct ctx *c, void *target, const struct labdef_kv *kv)
{
	struct labdef *d = target;
	char name[LABDEF_MAX_NAME], extra;
	int first;

	if (!strcmp(kv->key, "fault")) {
		if (strcmp(kv->value, "broker-down"))
			return bad(c, kv->line, "fault: only 'broker-down' (the fault keeps the broker from starting), "
				   "not '%s'", kv->value);
		d->broker_down = true;
		return 1;
	}
	if (strcmp(kv->key, "port"))
		return 0;
	if (sscanf(kv->value, "%31s %d %c", name, &first, &extra) != 2 || !var_name_ok(name, strlen(name)) ||
	    first < 1 || first > 65535)
		return bad(c, kv->line, "port: 'NAME FIRST' (e.g. 'port 8883'), not '%s'", kv->value);
	if (labdef_builtin_var(name))
		return bad(c, kv->line, "port: '%s' is a built-in name", name);
	for (size_t i = 0; i < d->n_ports; i++)
		if (!strcmp(d->ports[i].name, name))
			return bad(c, kv->line, "port: '%s' is given twice", name);
	if (d->n_ports >= LABDEF_MAX_PORTS)
		return bad(c, kv->line, "port: at most %s ports", "4");
	snprintf(d->ports[d->n_ports].name, sizeof d->ports[d->n_ports].name, "%s", name);
	d->ports[d->n_ports++].first = first;
	return 1;
}

static int sec_lab(struct ctx *c, const struct labdef_section *s)
{
	struct labdef *d = c->d;

	if (d->name)
		return bad(c, s->line, "a second [lab] section");
	if (apply(c, s, lab_keys, MQ_ARRAY_LEN(lab_keys), d, lab_custom) < 0)
		return -1;
	if (d->n_ports == 0 || strcmp(d->ports[0].name, "port"))
		return bad(c, s->line, "[lab] needs 'port port FIRST' first (the broker's TLS port)%s", "");
	if (!d->workdir)
		d->workdir = dup_s("files");
	if (!d->host)
		d->host = dup_s("{ip}");
	return 0;
}

static int sec_set(struct ctx *c, const struct labdef_section *s)
{
	struct labdef *d = c->d;

	for (size_t i = 0; i < s->n_kv; i++) {
		const struct labdef_kv *kv = &s->kv[i];
		if (!var_name_ok(kv->key, strlen(kv->key)) || labdef_builtin_var(kv->key))
			return bad(c, kv->line, "[set] '%s' is not a free variable name", kv->key);
		if (labdef_var(d, kv->key))
			return bad(c, kv->line, "[set] '%s' is defined twice", kv->key);
		if (strchr(kv->value, '{') || strchr(kv->value, '\n'))
			return bad(c, kv->line, "[set] '%s': a value is one line without '{'", kv->key);
		d->vars = realloc(d->vars, (d->n_vars + 1) * sizeof *d->vars);
		if (!d->vars)
			abort();
		d->vars[d->n_vars].name = dup_s(kv->key);
		d->vars[d->n_vars].value = dup_s(kv->value);
		d->n_vars++;
	}
	return 0;
}

static struct labfile *new_file(struct ctx *c, const struct labdef_section *s)
{
	struct labdef *d = c->d;
	struct labfile *f;

	if (!s->arg || !path_ok(s->arg, false)) {
		bad(c, s->line, "[%s PATH]: a relative path of letters, digits, '.', '_', '-' and '/' without '..'",
		    s->type);
		return NULL;
	}
	for (size_t i = 0; i < d->n_files; i++)
		if (!strcmp(d->files[i].path, s->arg)) {
			bad(c, s->line, "the file %s is given twice", s->arg);
			return NULL;
		}
	d->files = realloc(d->files, (d->n_files + 1) * sizeof *d->files);
	if (!d->files)
		abort();
	f = &d->files[d->n_files++];
	memset(f, 0, sizeof *f);
	f->path = dup_s(s->arg);
	f->mode = -1;
	f->line = s->line;
	return f;
}

static const struct keydef file_keys[] = {
	{ "text", V_TMPL, F(struct labfile, text), true },
	{ "mode", V_MODE, F(struct labfile, mode), false },
	{ "owner", V_OWNER, F(struct labfile, owner), false },
};

static int sec_file(struct ctx *c, const struct labdef_section *s)
{
	struct labfile *f = new_file(c, s);

	if (!f)
		return -1;
	f->kind = LABFILE_TEXT;
	return apply(c, s, file_keys, MQ_ARRAY_LEN(file_keys), f, NULL);
}

static const struct keydef pki_keys[] = {
	{ "from", V_PATH, F(struct labfile, from), false },
	{ "mode", V_MODE, F(struct labfile, mode), false },
	{ "owner", V_OWNER, F(struct labfile, owner), false },
	{ "in-place", V_BOOL, F(struct labfile, in_place), false },
};

static int pki_custom(struct ctx *c, void *target, const struct labdef_kv *kv)
{
	struct labfile *f = target;
	char kind[16], arg[LABDEF_MAX_NAME], extra;

	if (strcmp(kv->key, "make"))
		return 0;
	if (sscanf(kv->value, "%15s %31s %c", kind, arg, &extra) != 2 || (strcmp(kind, "broken") && strcmp(kind, "device")) ||
	    !var_name_ok(arg, strlen(arg)))
		return bad(c, kv->line, "make: 'broken KIND' or 'device NAME', not '%s'", kv->value);
	free(f->make_kind);
	free(f->make_arg);
	f->make_kind = dup_s(kind);
	f->make_arg = dup_s(arg);
	return 1;
}

static int sec_pki(struct ctx *c, const struct labdef_section *s)
{
	struct labfile *f = new_file(c, s);
	const char *base;

	if (!f)
		return -1;
	f->kind = LABFILE_PKI;
	if (apply(c, s, pki_keys, MQ_ARRAY_LEN(pki_keys), f, pki_custom) < 0)
		return -1;
	if (!f->from) {
		base = strrchr(f->path, '/');
		f->from = dup_s(base ? base + 1 : f->path);
	}
	if (strchr(f->from, '/'))
		return bad(c, s->line, "from: '%s' must be a file name in the lab PKI", f->from);
	if (f->in_place && strcmp(f->path, f->from))
		return bad(c, s->line, "[pki %s] in-place: the path is the shared file's own name", f->path);
	return 0;
}

static const struct keydef dir_keys[] = {
	{ "mode", V_MODE, F(struct labdir, mode), true },
	{ "owner", V_OWNER, F(struct labdir, owner), false },
};

static int sec_dir(struct ctx *c, const struct labdef_section *s)
{
	struct labdef *d = c->d;
	struct labdir *dr;

	if (!s->arg || !path_ok(s->arg, false))
		return bad(c, s->line, "[dir PATH]: a relative path without '..'");
	d->dirs = realloc(d->dirs, (d->n_dirs + 1) * sizeof *d->dirs);
	if (!d->dirs)
		abort();
	dr = &d->dirs[d->n_dirs++];
	memset(dr, 0, sizeof *dr);
	dr->path = dup_s(s->arg);
	dr->line = s->line;
	return apply(c, s, dir_keys, MQ_ARRAY_LEN(dir_keys), dr, NULL);
}

static int sec_hint(struct ctx *c, const struct labdef_section *s)
{
	struct labdef *d = c->d;

	if (s->n_kv != 1 || strcmp(s->kv[0].key, "text") || !*s->kv[0].value)
		return bad(c, s->line, "[hint] has exactly one key: text");
	d->hints = realloc(d->hints, (d->n_hints + 1) * sizeof *d->hints);
	if (!d->hints)
		abort();
	d->hints[d->n_hints++] = dup_s(s->kv[0].value);
	return 0;
}

static const struct keydef check_keys[] = {
	{ "why", V_LINE, F(struct labprobe, why), true },
	{ "expect", V_LINE, F(struct labprobe, expect), true },
	{ "target", V_TMPL1, F(struct labprobe, target), false },
	{ "device", V_PATH, F(struct labprobe, device), false },
	{ "broker-conf", V_TMPL1, F(struct labprobe, broker_conf), false },
	{ "ports", V_TMPL1, F(struct labprobe, ports), false },
};

struct word { const char *word; int value; };

static const struct word probe_kinds[] = {
	{ "diagnose", LABPROBE_DIAGNOSE }, { "device", LABPROBE_DEVICE }, { "capture", LABPROBE_CAPTURE },
};
static const struct word againsts[] = {
	{ "broker", LABAGAINST_BROKER },
	{ "rogue-self", LABAGAINST_ROGUE_SELF },
	{ "rogue-stolen-ca", LABAGAINST_ROGUE_STOLEN_CA },
	{ "rogue-other-name", LABAGAINST_ROGUE_OTHER_NAME },
};

static int word_value(const struct word *w, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(w[i].word, s))
			return w[i].value;
	return -1;
}

static int check_custom(struct ctx *c, void *target, const struct labdef_kv *kv)
{
	struct labprobe *p = target;
	int v;

	if (!strcmp(kv->key, "kind")) {
		if ((v = word_value(probe_kinds, MQ_ARRAY_LEN(probe_kinds), kv->value)) < 0)
			return bad(c, kv->line, "kind: diagnose, device or capture, not '%s'", kv->value);
		p->kind = (enum labprobe_kind)v;
		return 1;
	}
	if (!strcmp(kv->key, "against")) {
		if ((v = word_value(againsts, MQ_ARRAY_LEN(againsts), kv->value)) < 0)
			return bad(c, kv->line, "against: broker, rogue-self, rogue-stolen-ca or rogue-other-name, not '%s'",
				   kv->value);
		p->against = (enum labagainst)v;
		return 1;
	}
	return 0;
}

/* "ok", "connected", "refused", "no-plaintext" or finding ids "A|B", then "!ID" that must not be seen. */
static bool ids_ok(const char *p, size_t n)
{
	while (n) {
		size_t l = 0;
		char id[64];

		while (l < n && p[l] != '|')
			l++;
		if (l == 0 || l >= sizeof id)
			return false;
		memcpy(id, p, l);
		id[l] = '\0';
		if (!finding_def(id))
			return false;
		p += l;
		n -= l;
		if (n) {
			p++;
			if (!--n)
				return false;
		}
	}
	return true;
}

static bool expect_ok(const char *e)
{
	static const char *const words[] = { "ok", "connected", "refused", "no-plaintext" };
	const char *p = e;
	bool first = true;

	if (strlen(e) > 300)
		return false;
	while (*p) {
		size_t n = strcspn(p, " ");
		bool ok = false;

		if (n == 0) {
			p++;
			continue;
		}
		if (first) {
			for (size_t i = 0; i < MQ_ARRAY_LEN(words); i++)
				ok |= strlen(words[i]) == n && !memcmp(words[i], p, n);
			ok = ok || ids_ok(p, n);
		} else {
			ok = p[0] == '!' && n > 1 && ids_ok(p + 1, n - 1);
		}
		if (!ok)
			return false;
		first = false;
		p += n;
	}
	return !first;
}

static int sec_check(struct ctx *c, const struct labdef_section *s)
{
	struct labdef *d = c->d;
	struct labprobe *p;
	bool kind_seen = false;

	for (size_t i = 0; i < s->n_kv; i++)
		kind_seen |= !strcmp(s->kv[i].key, "kind");
	if (!kind_seen)
		return bad(c, s->line, "[check] needs 'kind'");
	d->probes = realloc(d->probes, (d->n_probes + 1) * sizeof *d->probes);
	if (!d->probes)
		abort();
	p = &d->probes[d->n_probes++];
	memset(p, 0, sizeof *p);
	p->line = s->line;
	if (apply(c, s, check_keys, MQ_ARRAY_LEN(check_keys), p, check_custom) < 0)
		return -1;
	if (!expect_ok(p->expect))
		return bad(c, s->line, "expect: 'ok', 'connected', 'refused', 'no-plaintext' or contract finding ids "
			   "A|B, then any '!ID' that must not be found; not '%s'", p->expect);
	switch (p->kind) {
	case LABPROBE_DIAGNOSE:
		if (!p->target)
			return bad(c, s->line, "a diagnose check needs 'target' (the TARGET options)");
		if (!strncmp(p->expect, "connected", 9) || !strncmp(p->expect, "refused", 7) ||
		    !strncmp(p->expect, "no-plaintext", 12))
			return bad(c, s->line, "a diagnose check expects 'ok' or finding ids, not '%s'", p->expect);
		break;
	case LABPROBE_DEVICE:
		if (!p->device == !p->target)
			return bad(c, s->line, "a device check needs 'device' (a settings file) or 'target' (TARGET options)");
		if (strcmp(p->expect, "connected") && strcmp(p->expect, "refused"))
			return bad(c, s->line, "a device check expects 'connected' or 'refused', not '%s'", p->expect);
		break;
	case LABPROBE_CAPTURE:
		if (!p->device || !p->ports)
			return bad(c, s->line, "a capture check needs 'device' and 'ports'");
		if (strcmp(p->expect, "no-plaintext"))
			return bad(c, s->line, "a capture check expects 'no-plaintext', not '%s'", p->expect);
		break;
	}
	return 0;
}

static const struct keydef sketch_keys[] = {
	{ "cafile", V_TMPL1, F(struct labsketch, cafile), false },
	{ "cert", V_TMPL1, F(struct labsketch, cert), false },
	{ "key", V_TMPL1, F(struct labsketch, key), false },
	{ "pin-from", V_TMPL1, F(struct labsketch, pin_from), false },
	{ "user", V_TMPL1, F(struct labsketch, user), false },
	{ "password", V_TMPL1, F(struct labsketch, password), false },
	{ "client-id", V_TMPL1, F(struct labsketch, client_id), false },
	{ "topic", V_TMPL1, F(struct labsketch, topic), false },
	{ "port", V_TMPL1, F(struct labsketch, port), false },
	{ "note", V_TEXT, F(struct labsketch, note), false },
};

static const struct word insecures[] = {
	{ "none", LABSKETCH_NONE },
	{ "setinsecure", LABSKETCH_SETINSECURE },
	{ "skip-cn", LABSKETCH_SKIP_CN },
	{ "plaintext", LABSKETCH_PLAINTEXT },
	{ "no-clock", LABSKETCH_NO_CLOCK },
};

static int sketch_custom(struct ctx *c, void *target, const struct labdef_kv *kv)
{
	struct labsketch *k = target;
	int v;

	if (strcmp(kv->key, "insecure"))
		return 0;
	if ((v = word_value(insecures, MQ_ARRAY_LEN(insecures), kv->value)) < 0)
		return bad(c, kv->line, "insecure: none, setinsecure, skip-cn, plaintext or no-clock, not '%s'", kv->value);
	k->insecure = (enum labsketch_insecure)v;
	return 1;
}

static int sec_sketch(struct ctx *c, const struct labdef_section *s)
{
	struct labdef *d = c->d;

	if (d->has_sketch)
		return bad(c, s->line, "a second [sketch] section");
	d->has_sketch = true;
	if (apply(c, s, sketch_keys, MQ_ARRAY_LEN(sketch_keys), &d->sketch, sketch_custom) < 0)
		return -1;
	if ((d->sketch.cert == NULL) != (d->sketch.key == NULL))
		return bad(c, s->line, "[sketch] cert and key go together");
	if (!d->sketch.cafile)
		d->sketch.cafile = dup_s("{dir}/ca.crt");
	if (!d->sketch.port)
		d->sketch.port = dup_s("{port}");
	return 0;
}

static const struct {
	const char *type;
	int (*fn)(struct ctx *c, const struct labdef_section *s);
	bool needs_arg;
} sections[] = {
	{ "lab", sec_lab, false },	{ "set", sec_set, false },   { "file", sec_file, true },
	{ "pki", sec_pki, true },	{ "dir", sec_dir, true },    { "hint", sec_hint, false },
	{ "check", sec_check, false }, { "sketch", sec_sketch, false },
};

/* ---- template names ------------------------------------------------------------------------- */

const char *labdef_var(const struct labdef *d, const char *name)
{
	for (size_t i = 0; i < d->n_vars; i++)
		if (!strcmp(d->vars[i].name, name))
			return d->vars[i].value;
	return NULL;
}

static bool port_name(const struct labdef *d, const char *name)
{
	for (size_t i = 0; i < d->n_ports; i++)
		if (!strcmp(d->ports[i].name, name))
			return true;
	return false;
}

static const char *known_name(void *ctx, const char *name)
{
	const struct labdef *d = ctx;

	return labdef_builtin_var(name) || labdef_var(d, name) || port_name(d, name) ? "" : NULL;
}

static int check_tmpl(struct ctx *c, const char *t, int line, const char *what)
{
	struct mq_err e = { 0 };
	char *out;

	if (!t)
		return 0;
	if (!(out = labdef_expand(t, known_name, c->d, &e))) {
		mq_errf(c->err, "%s:%d: %s: %s", c->file, line, what, e.msg);
		return -1;
	}
	free(out);
	return 0;
}

static int check_templates(struct ctx *c)
{
	struct labdef *d = c->d;
	const char *lab_t[] = { d->host, d->cafile, d->certfile, d->keyfile };
	const struct labsketch *k = &d->sketch;
	const char *sk_t[] = { k->cafile, k->cert, k->key, k->pin_from, k->user, k->password, k->client_id,
			       k->topic, k->port };

	for (size_t i = 0; i < MQ_ARRAY_LEN(lab_t); i++)
		if (check_tmpl(c, lab_t[i], 1, "[lab]") < 0)
			return -1;
	for (size_t i = 0; i < d->n_files; i++)
		if (check_tmpl(c, d->files[i].text, d->files[i].line, d->files[i].path) < 0)
			return -1;
	for (size_t i = 0; i < d->n_hints; i++)
		if (check_tmpl(c, d->hints[i], 1, "[hint]") < 0)
			return -1;
	for (size_t i = 0; i < d->n_probes; i++) {
		const struct labprobe *p = &d->probes[i];
		if (check_tmpl(c, p->target, p->line, "[check] target") < 0 ||
		    check_tmpl(c, p->broker_conf, p->line, "[check] broker-conf") < 0 ||
		    check_tmpl(c, p->ports, p->line, "[check] ports") < 0)
			return -1;
	}
	for (size_t i = 0; i < MQ_ARRAY_LEN(sk_t); i++)
		if (check_tmpl(c, sk_t[i], 1, "[sketch]") < 0)
			return -1;
	return 0;
}

/* ---- a whole definition --------------------------------------------------------------------- */

int labdef_parse(struct labdef *d, const char *name, const char *buf, size_t len, struct mq_err *err)
{
	struct labdef_doc doc;
	struct ctx c = { .file = name, .err = err, .d = d };
	bool broker_file = false;

	memset(d, 0, sizeof *d);
	if (labdef_lex(&doc, name, buf, len, err) < 0)
		return -1;
	for (size_t i = 0; i < doc.n; i++) {
		const struct labdef_section *s = &doc.v[i];
		int (*fn)(struct ctx *, const struct labdef_section *) = NULL;

		for (size_t j = 0; j < MQ_ARRAY_LEN(sections) && !fn; j++)
			if (!strcmp(sections[j].type, s->type)) {
				fn = sections[j].fn;
				if (sections[j].needs_arg != (s->arg != NULL)) {
					bad(&c, s->line, sections[j].needs_arg ? "[%s] needs an argument"
											    : "[%s] takes no argument",
					    s->type);
					goto fail;
				}
			}
		if (!fn) {
			if (!*s->type)
				bad(&c, s->line, "keys before the first section");
			else
				bad(&c, s->line, "no section type [%s]", s->type);
			goto fail;
		}
		if (fn(&c, s) < 0)
			goto fail;
	}
	if (!d->name) {
		mq_errf(err, "%s: no [lab] section", name);
		goto fail;
	}
	for (size_t i = 0; i < d->n_files; i++)
		broker_file |= !strcmp(d->files[i].path, d->broker);
	if (!broker_file) {
		mq_errf(err, "%s: the broker's configuration %s is not one of the lab's [file]s", name, d->broker);
		goto fail;
	}
	for (size_t i = 0; i < d->n_vars; i++)
		if (port_name(d, d->vars[i].name)) {
			mq_errf(err, "%s: '%s' is both a port and a [set] variable", name, d->vars[i].name);
			goto fail;
		}
	if (check_templates(&c) < 0)
		goto fail;
	labdef_doc_free(&doc);
	return 0;
fail:
	labdef_doc_free(&doc);
	labdef_free(d);
	return -1;
}

int labdef_load(struct labdef *d, const char *path, struct mq_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(d, 0, sizeof *d);
	if (mq_read_file(path, LABDEF_MAX_BYTES, &text, &len, err) < 0)
		return -1;
	rc = labdef_parse(d, path, text, len, err);
	free(text);
	return rc;
}

void labdef_free(struct labdef *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->title);
	free(d->tutorial);
	free(d->summary);
	free(d->workdir);
	free(d->broker);
	free(d->host);
	free(d->cafile);
	free(d->certfile);
	free(d->keyfile);
	free(d->companions);
	for (size_t i = 0; i < d->n_vars; i++) {
		free(d->vars[i].name);
		free(d->vars[i].value);
	}
	free(d->vars);
	for (size_t i = 0; i < d->n_files; i++) {
		free(d->files[i].path);
		free(d->files[i].text);
		free(d->files[i].from);
		free(d->files[i].make_kind);
		free(d->files[i].make_arg);
		free(d->files[i].owner);
	}
	free(d->files);
	for (size_t i = 0; i < d->n_dirs; i++) {
		free(d->dirs[i].path);
		free(d->dirs[i].owner);
	}
	free(d->dirs);
	for (size_t i = 0; i < d->n_hints; i++)
		free(d->hints[i]);
	free(d->hints);
	for (size_t i = 0; i < d->n_probes; i++) {
		struct labprobe *p = &d->probes[i];
		free(p->why);
		free(p->expect);
		free(p->target);
		free(p->device);
		free(p->broker_conf);
		free(p->ports);
	}
	free(d->probes);
	free(d->sketch.cafile);
	free(d->sketch.cert);
	free(d->sketch.key);
	free(d->sketch.pin_from);
	free(d->sketch.user);
	free(d->sketch.password);
	free(d->sketch.client_id);
	free(d->sketch.topic);
	free(d->sketch.port);
	free(d->sketch.note);
	memset(d, 0, sizeof *d);
}

/* ---- device settings ------------------------------------------------------------------------ */

static const struct keydef device_keys[] = {
	{ "host", V_LINE, F(struct labdevice, host), true },
	{ "cafile", V_LINE, F(struct labdevice, cafile), false },
	{ "pin", V_LINE, F(struct labdevice, pin), false },
	{ "cert", V_LINE, F(struct labdevice, cert), false },
	{ "key", V_LINE, F(struct labdevice, key), false },
	{ "user", V_LINE, F(struct labdevice, user), false },
	{ "password", V_LINE, F(struct labdevice, password), false },
	{ "client-id", V_LINE, F(struct labdevice, client_id), false },
	{ "topic", V_LINE, F(struct labdevice, topic), false },
	{ "tls", V_BOOL, F(struct labdevice, tls), false },
};

static const struct word verifies[] = {
	{ "ca", LABVERIFY_CA }, { "ca-only", LABVERIFY_CA_ONLY }, { "none", LABVERIFY_NONE },
};

static int device_custom(struct ctx *c, void *target, const struct labdef_kv *kv)
{
	struct labdevice *dv = target;
	char *end;
	long v;

	if (!strcmp(kv->key, "verify")) {
		if ((v = word_value(verifies, MQ_ARRAY_LEN(verifies), kv->value)) < 0)
			return bad(c, kv->line, "verify: ca (setCACert), ca-only (the name is not checked) or none "
				   "(setInsecure), not '%s'", kv->value);
		dv->verify = (enum labverify)v;
		return 1;
	}
	if (!strcmp(kv->key, "port")) {
		v = strtol(kv->value, &end, 10);
		if (!*kv->value || *end || v < 1 || v > 65535)
			return bad(c, kv->line, "port: 1 to 65535, not '%s'", kv->value);
		dv->port = (int)v;
		return 1;
	}
	if (!strcmp(kv->key, "clock")) {
		struct mq_err e = { 0 };
		if (target_parse_clock(kv->value, &dv->clock, &dv->clock_at, &e) < 0)
			return bad(c, kv->line, "clock: ntp (set over NTP before connecting), unset (never set: 1970), "
				   "ignore (dates not checked) or a UTC date, not '%s'", kv->value);
		return 1;
	}
	return 0;
}

int labdef_device_parse(struct labdevice *dv, const char *name, const char *buf, size_t len, struct mq_err *err)
{
	struct labdef_doc doc;
	struct ctx c = { .file = name, .err = err };
	int rc = -1;

	memset(dv, 0, sizeof *dv);
	dv->tls = true;
	if (labdef_lex(&doc, name, buf, len, err) < 0)
		return -1;
	if (doc.n != 1 || *doc.v[0].type) {
		mq_errf(err, "%s: device settings are 'key value' lines without sections", name);
		goto out;
	}
	if (apply(&c, &doc.v[0], device_keys, MQ_ARRAY_LEN(device_keys), dv, device_custom) < 0)
		goto out;
	if (!dv->port) {
		mq_errf(err, "%s: no 'port'", name);
		goto out;
	}
	/* Values go into file names, host names and MQTT strings: one line, no control bytes. */
	for (size_t i = 0; i < doc.v[0].n_kv; i++)
		for (const char *p = doc.v[0].kv[i].value; *p; p++)
			if ((unsigned char)*p < 0x20) {
				mq_errf(err, "%s:%d: %s: control characters are not allowed", name, doc.v[0].kv[i].line,
					doc.v[0].kv[i].key);
				goto out;
			}
	if ((dv->cert == NULL) != (dv->key == NULL)) {
		mq_errf(err, "%s: cert and key go together", name);
		goto out;
	}
	rc = 0;
out:
	labdef_doc_free(&doc);
	if (rc < 0)
		labdevice_free(dv);
	return rc;
}

void labdevice_free(struct labdevice *dv)
{
	if (!dv)
		return;
	free(dv->host);
	free(dv->cafile);
	free(dv->pin);
	free(dv->cert);
	free(dv->key);
	free(dv->user);
	free(dv->password);
	free(dv->client_id);
	free(dv->topic);
	memset(dv, 0, sizeof *dv);
}
