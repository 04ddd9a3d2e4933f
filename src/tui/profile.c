/*
 * profile — saved targets, one per line in $XDG_CONFIG_HOME/mqttls/profiles:
 *
 *     # comments and blank lines are kept as they are
 *     office = -h 192.168.28.63 -p 8883 --cafile /home/me/ca.crt -u sensor -P secret
 *
 * The value is what a user would type after "mqttls diagnose", so a profile can be copied
 * to the command line and back. The file is mode 0600 (it may hold a password) and is
 * rewritten whole, keeping every line the TUI did not write.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/util.h"
#include "tui.h"

#define PROFILES_MAX_BYTES (1u << 20)

/* Every line of the file, and which profile each one is (-1 for others). */
struct raw {
	char **v;
	size_t n;
};

static void config_path(char *buf, size_t size)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (x && *x)
		snprintf(buf, size, "%s/mqttls/profiles", x);
	else
		snprintf(buf, size, "%s/.config/mqttls/profiles", home && *home ? home : ".");
}

bool profile_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 40)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
			return false;
	return true;
}

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void clear_list(struct profiles *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].line);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

/* Split the file into lines and pick out "NAME = LINE" entries. raw may be NULL. */
static int parse(struct profiles *p, const char *text, struct raw *raw)
{
	const char *s = text;

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		char *line = strndup(s, n), *eq, *name;

		if (!line)
			return -1;
		if (raw) {
			char **v = realloc(raw->v, (raw->n + 1) * sizeof *v);
			if (!v) {
				free(line);
				return -1;
			}
			raw->v = v;
			raw->v[raw->n++] = strdup(line);
		}
		eq = strchr(line, '=');
		name = trim(line);
		if (*name != '#' && eq) {
			*eq = '\0';
			name = trim(line);
			if (profile_name_ok(name)) {
				struct profile *v = realloc(p->v, (p->n + 1) * sizeof *v);
				if (!v) {
					free(line);
					return -1;
				}
				p->v = v;
				p->v[p->n].name = strdup(name);
				p->v[p->n].line = strdup(trim(eq + 1));
				p->n++;
			}
		}
		free(line);
		s = nl ? nl + 1 : s + n;
	}
	return 0;
}

static void raw_free(struct raw *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
}

static int read_raw(struct profiles *p, struct raw *raw, struct mq_err *err)
{
	char *text = NULL;
	size_t len = 0;

	clear_list(p);
	if (!mq_file_exists(p->path))
		return 0;
	if (mq_read_file(p->path, PROFILES_MAX_BYTES, &text, &len, err) < 0)
		return -1;
	if (parse(p, text, raw) < 0) {
		free(text);
		mq_errf(err, "out of memory reading %s", p->path);
		return -1;
	}
	free(text);
	return 0;
}

void profiles_load(struct profiles *p)
{
	struct mq_err err = { 0 };

	config_path(p->path, sizeof p->path);
	p->error[0] = '\0';
	if (read_raw(p, NULL, &err) < 0)
		snprintf(p->error, sizeof p->error, "%s", err.msg);
}

static int write_raw(struct profiles *p, const struct raw *raw, struct mq_err *err)
{
	struct mq_str s = { 0 };
	char dir[4096];
	char *slash;
	int rc;

	snprintf(dir, sizeof dir, "%s", p->path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		if (mq_mkdir_p(dir, 0700, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < raw->n; i++)
		if (raw->v[i])
			mq_str_printf(&s, "%s\n", raw->v[i]);
	/* Replacing our own file is what the user asked for: they confirmed a same-named profile. */
	rc = mq_write_file(p->path, s.s ? s.s : "", s.len, 0600, true, err);
	mq_str_free(&s);
	return rc;
}

static bool raw_is(const char *line, const char *name)
{
	char *copy = strdup(line), *eq, *n;
	bool is = false;

	if (!copy)
		return false;
	eq = strchr(copy, '=');
	n = trim(copy);
	if (*n != '#' && eq) {
		*eq = '\0';
		is = !strcmp(trim(copy), name);
	}
	free(copy);
	return is;
}

int profiles_put(struct profiles *p, const char *name, const char *line, struct mq_err *err)
{
	struct raw raw = { 0 };
	char *entry = NULL;
	bool replaced = false;
	int rc = -1;

	if (!profile_name_ok(name)) {
		mq_errf(err, "a profile name is letters, digits, '-', '_' or '.', at most 40 characters");
		return -1;
	}
	if (strchr(line, '\n')) {
		mq_errf(err, "a profile is one line");
		return -1;
	}
	if (read_raw(p, &raw, err) < 0)
		goto out;
	if (asprintf(&entry, "%s = %s", name, line) < 0) {
		entry = NULL;
		goto out;
	}
	for (size_t i = 0; i < raw.n; i++) {
		if (raw.v[i] && raw_is(raw.v[i], name)) {
			free(raw.v[i]);
			raw.v[i] = replaced ? NULL : strdup(entry);
			replaced = true;
		}
	}
	if (!replaced) {
		if (!raw.n) {
			char **v = realloc(raw.v, sizeof *v);
			if (!v)
				goto out;
			raw.v = v;
			raw.v[raw.n++] =
				strdup("# mqttls saved targets: NAME = the TARGET options of 'mqttls diagnose'");
		}
		char **v = realloc(raw.v, (raw.n + 1) * sizeof *v);
		if (!v)
			goto out;
		raw.v = v;
		raw.v[raw.n++] = strdup(entry);
	}
	if (write_raw(p, &raw, err) < 0)
		goto out;
	rc = 0;
out:
	free(entry);
	raw_free(&raw);
	profiles_load(p);
	return rc;
}

int profiles_delete(struct profiles *p, size_t idx, struct mq_err *err)
{
	struct raw raw = { 0 };
	char *name;
	int rc = -1;

	if (idx >= p->n)
		return 0;
	name = strdup(p->v[idx].name);
	if (!name || read_raw(p, &raw, err) < 0)
		goto out;
	for (size_t i = 0; i < raw.n; i++) {
		if (raw.v[i] && raw_is(raw.v[i], name)) {
			free(raw.v[i]);
			raw.v[i] = NULL;
		}
	}
	if (write_raw(p, &raw, err) < 0)
		goto out;
	rc = 0;
out:
	free(name);
	raw_free(&raw);
	profiles_load(p);
	return rc;
}

void profiles_free(struct profiles *p)
{
	clear_list(p);
}
