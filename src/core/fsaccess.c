/*
 * fsaccess — the kernel's permission walk, done on metadata for another user (see fsaccess.h).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mqttls/fsaccess.h"
#include "mqttls/util.h"

#define MAX_LINKS 40       /* the kernel's limit on symbolic links in one lookup */
#define MAX_GROUPS 4096
#define MAX_PLAN_STEPS 16

/* A change the plan makes, applied in memory so the next step of the walk sees it. */
struct fsaccess_override {
	char path[PATH_MAX];
	mode_t mode;
	gid_t gid;
	bool acl_grant;          /* setfacl -m u:USER:... was planned: the user passes */
};

struct overrides {
	const struct fsaccess_override *v;
	size_t n;
};

/* POSIX ACL xattr layout (linux/posix_acl_xattr.h): a version, then 8-byte entries. */
enum { ACL_VERSION = 2, ACL_USER_OBJ = 0x01, ACL_USER = 0x02, ACL_GROUP_OBJ = 0x04, ACL_GROUP = 0x08,
       ACL_MASK = 0x10, ACL_OTHER = 0x20 };

int fsaccess_user_lookup(const char *name, struct fsaccess_user *u, struct mq_err *err)
{
	struct passwd *pw;
	struct group *gr;
	int n = 64;
	char num[32];

	memset(u, 0, sizeof *u);
	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		mq_errf(err, "there is no user '%s' on this machine", name);
		return -1;
	}
	u->name = strdup(pw->pw_name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	gr = getgrgid(pw->pw_gid);
	snprintf(num, sizeof num, "%u", (unsigned)pw->pw_gid);
	u->group = strdup(gr ? gr->gr_name : num);
	for (;;) {
		int got = n;
		gid_t *g = realloc(u->groups, (size_t)n * sizeof *g);
		if (!g || !u->name || !u->group)
			abort();
		u->groups = g;
		if (getgrouplist(u->name, u->gid, u->groups, &got) >= 0) {
			u->n_groups = got;
			break;
		}
		if (got <= n || got > MAX_GROUPS) {
			u->n_groups = n;
			break;
		}
		n = got;
	}
	return 0;
}

void fsaccess_user_free(struct fsaccess_user *u)
{
	if (!u)
		return;
	free(u->name);
	free(u->group);
	free(u->groups);
	memset(u, 0, sizeof *u);
}

bool fsaccess_user_in_group(const struct fsaccess_user *u, gid_t gid)
{
	if (gid == u->gid)
		return true;
	for (int i = 0; i < u->n_groups; i++)
		if (u->groups[i] == gid)
			return true;
	return false;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* The kernel's posix_acl_permission(); -1 when the blob is not a valid ACL. */
static int acl_permits(const struct fsaccess_user *u, const struct stat *st, const unsigned char *a, size_t len,
		       int want)
{
	size_t n, i;
	int mask = 7;
	bool found = false;

	if (len < 4 || (len - 4) % 8 || le32(a) != ACL_VERSION)
		return -1;
	n = (len - 4) / 8;
	for (i = 0; i < n; i++)
		if (le16(a + 4 + i * 8) == ACL_MASK)
			mask = le16(a + 4 + i * 8 + 2) & 7;
	for (i = 0; i < n; i++) {
		const unsigned char *e = a + 4 + i * 8;
		if (le16(e) == ACL_USER_OBJ && u->uid == st->st_uid)
			return ((le16(e + 2) & want) == want);
	}
	if (u->uid != st->st_uid) {
		for (i = 0; i < n; i++) {
			const unsigned char *e = a + 4 + i * 8;
			if (le16(e) == ACL_USER && le32(e + 4) == u->uid)
				return ((le16(e + 2) & mask & want) == want);
		}
	}
	for (i = 0; i < n; i++) {
		const unsigned char *e = a + 4 + i * 8;
		uint16_t tag = le16(e);
		gid_t g;
		if (tag == ACL_GROUP_OBJ)
			g = st->st_gid;
		else if (tag == ACL_GROUP)
			g = (gid_t)le32(e + 4);
		else
			continue;
		if (fsaccess_user_in_group(u, g)) {
			found = true;
			if ((le16(e + 2) & mask & want) == want)
				return 1;
		}
	}
	if (found)
		return 0;
	for (i = 0; i < n; i++) {
		const unsigned char *e = a + 4 + i * 8;
		if (le16(e) == ACL_OTHER)
			return ((le16(e + 2) & want) == want);
	}
	return 0;
}

bool fsaccess_permits(const struct fsaccess_user *u, const struct stat *st, const void *acl, size_t acl_len,
		      int want)
{
	mode_t m = st->st_mode;
	int bits;

	if (u->uid == 0) {
		/* Root reads and writes anything; it executes only what has some x bit (or a directory). */
		if (!(want & FSA_X) || S_ISDIR(m))
			return true;
		return (m & 0111) != 0;
	}
	if (acl && acl_len) {
		int r = acl_permits(u, st, acl, acl_len, want);
		if (r >= 0)
			return r;
	}
	if (u->uid == st->st_uid)
		bits = (m >> 6) & 7;
	else if (fsaccess_user_in_group(u, st->st_gid))
		bits = (m >> 3) & 7;
	else
		bits = m & 7;
	return (bits & want) == want;
}

static const char *user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%u", (unsigned)uid);
	return buf;
}

static const char *group_name(gid_t gid, char *buf, size_t size)
{
	struct group *gr = getgrgid(gid);
	if (gr)
		snprintf(buf, size, "%s", gr->gr_name);
	else
		snprintf(buf, size, "%u", (unsigned)gid);
	return buf;
}

char *fsaccess_describe(const struct stat *st, char *buf, size_t size)
{
	char perms[11], un[64], gn[64];
	mode_t m = st->st_mode;
	const char *rwx = "rwxrwxrwx";

	perms[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISFIFO(m) ? 'p' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b'
		 : S_ISSOCK(m) ? 's' : '-';
	for (int i = 0; i < 9; i++)
		perms[1 + i] = (m & (1u << (8 - i))) ? rwx[i] : '-';
	perms[10] = '\0';
	snprintf(buf, size, "%s %s:%s", perms, user_name(st->st_uid, un, sizeof un), group_name(st->st_gid, gn, sizeof gn));
	return buf;
}

static const struct fsaccess_override *find_ov(const struct overrides *ov, const char *path)
{
	for (size_t i = ov ? ov->n : 0; i > 0; i--)
		if (!strcmp(ov->v[i - 1].path, path))
			return &ov->v[i - 1];
	return NULL;
}

/* Metadata of a path as the plan would leave it; 0 or -1 with errno. */
static int look(const struct overrides *r, const char *path, struct stat *st, unsigned char *acl,
		size_t acl_cap, size_t *acl_len, bool *granted)
{
	const struct fsaccess_override *ov;
	ssize_t n;

	*acl_len = 0;
	*granted = false;
	if (stat(path, st) < 0)
		return -1;
	ov = find_ov(r, path);
	if (ov && ov->acl_grant) {
		*granted = true;
		return 0;
	}
	if (ov) {
		st->st_mode = (st->st_mode & S_IFMT) | (ov->mode & 07777);
		st->st_gid = ov->gid;
		return 0; /* a planned chmod replaces what an ACL said: plans use chmod only without ACLs */
	}
	n = getxattr(path, "system.posix_acl_access", acl, acl_cap);
	if (n > 0)
		*acl_len = (size_t)n;
	return 0;
}

static bool may(const struct fsaccess_user *u, const struct stat *st, const unsigned char *acl, size_t acl_len,
		bool granted, int want)
{
	return granted || fsaccess_permits(u, st, acl_len ? acl : NULL, acl_len, want);
}

static void explain(const struct fsaccess_user *u, struct fsaccess_result *r, const char *verb)
{
	char desc[128], gn[64], on[64];
	char *p = mq_escape_dup(r->blocker, strlen(r->blocker));

	fsaccess_describe(&r->st, desc, sizeof desc);
	if (r->has_acl)
		snprintf(r->why, sizeof r->why, "the ACL on %s (%s) does not let %s %s it", p, desc, u->name, verb);
	else if (u->uid == r->st.st_uid)
		snprintf(r->why, sizeof r->why, "%s owns %s (%s) but the owner's bits do not let it %s it", u->name, p,
			 desc, verb);
	else if (fsaccess_user_in_group(u, r->st.st_gid))
		snprintf(r->why, sizeof r->why, "%s is in group %s, whose bits on %s (%s) do not let it %s it", u->name,
			 group_name(r->st.st_gid, gn, sizeof gn), p, desc, verb);
	else
		snprintf(r->why, sizeof r->why, "%s is neither the owner (%s) nor in group %s of %s (%s), and others "
			 "may not %s it", u->name, user_name(r->st.st_uid, on, sizeof on),
			 group_name(r->st.st_gid, gn, sizeof gn), p, desc, verb);
	free(p);
}

/* End the walk at path: why is "<path> <text>[: <arg>]". */
static enum fsaccess_verdict stop(struct fsaccess_result *r, enum fsaccess_verdict v, const char *path,
				  const char *text, const char *arg)
{
	char *p = mq_escape_dup(path, strlen(path));

	r->verdict = v;
	snprintf(r->blocker, sizeof r->blocker, "%s", path);
	snprintf(r->why, sizeof r->why, "%s %s%s%s", p, text, arg ? ": " : "", arg ? arg : "");
	free(p);
	return v;
}

static int join(char *out, size_t size, const char *dir, const char *name, size_t nlen)
{
	int n = snprintf(out, size, "%s%s%.*s", dir, strcmp(dir, "/") ? "/" : "", (int)nlen, name);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static enum fsaccess_verdict walk(const struct fsaccess_user *u, const char *path, int want,
				  struct fsaccess_result *r, const struct overrides *ov)
{
	char cur[PATH_MAX], todo[2 * PATH_MAX], next[PATH_MAX], target[PATH_MAX];
	unsigned char acl[1024];
	size_t acl_len;
	const char *p;
	int links = 0;
	bool granted;
	struct stat st;

	memset(r, 0, sizeof *r);
	if (!*path)
		return stop(r, FSA_MISSING, path, "(an empty path) names no file", NULL);
	if (path[0] == '/') {
		snprintf(cur, sizeof cur, "/");
	} else if (!getcwd(cur, sizeof cur)) {
		return stop(r, FSA_UNKNOWN, path, "cannot be resolved: the current directory is unknown", NULL);
	}
	if (snprintf(todo, sizeof todo, "%s", path) >= (int)sizeof todo)
		return stop(r, FSA_UNKNOWN, path, "is too long", NULL);
	p = todo;
	for (;;) {
		size_t len;
		const char *rest;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		rest = p + len;
		if (len == 1 && p[0] == '.') {
			p = rest;
			continue;
		}
		/* Looking anything up in a directory needs x on it. */
		if (look(ov, cur, &st, acl, sizeof acl, &acl_len, &granted) < 0)
			return stop(r, FSA_UNKNOWN, cur, "cannot be looked at by mqttls itself", strerror(errno));
		if (!may(u, &st, acl, acl_len, granted, FSA_X)) {
			r->verdict = FSA_DENIED;
			snprintf(r->blocker, sizeof r->blocker, "%s", cur);
			r->blocker_is_dir = true;
			r->need = FSA_X;
			r->st = st;
			r->has_acl = acl_len > 0;
			explain(u, r, "enter");
			return r->verdict;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(cur, '/');
			if (slash && slash != cur)
				*slash = '\0';
			else
				snprintf(cur, sizeof cur, "/");
			p = rest;
			continue;
		}
		if (join(next, sizeof next, cur, p, len) < 0)
			return stop(r, FSA_UNKNOWN, path, "is too long", NULL);
		if (lstat(next, &st) < 0) {
			if (errno == ENOENT)
				return stop(r, FSA_MISSING, next, "does not exist", NULL);
			if (errno == ENOTDIR)
				return stop(r, FSA_NOT_DIR, cur, "is not a directory", NULL);
			return stop(r, FSA_UNKNOWN, next, "cannot be looked at by mqttls itself", strerror(errno));
		}
		if (S_ISLNK(st.st_mode)) {
			char tmp[2 * PATH_MAX];
			ssize_t tl;
			if (++links > MAX_LINKS)
				return stop(r, FSA_LOOP, next, "has too many levels of symbolic links (a loop)", NULL);
			tl = readlink(next, target, sizeof target - 1);
			if (tl < 0)
				return stop(r, FSA_UNKNOWN, next, "is a link mqttls cannot read", strerror(errno));
			target[tl] = '\0';
			if (snprintf(tmp, sizeof tmp, "%s%s", target, rest) >= (int)sizeof tmp)
				return stop(r, FSA_UNKNOWN, path, "is too long", NULL);
			memcpy(todo, tmp, sizeof todo);
			if (target[0] == '/')
				snprintf(cur, sizeof cur, "/");
			p = todo;
			continue;
		}
		if (*rest) {
			/* More to walk (or a trailing slash): this must be a directory. */
			if (!S_ISDIR(st.st_mode))
				return stop(r, FSA_NOT_DIR, next, "is not a directory", NULL);
		}
		memcpy(cur, next, sizeof cur);
		p = rest;
	}
	snprintf(r->resolved, sizeof r->resolved, "%s", cur);
	if (look(ov, cur, &st, acl, sizeof acl, &acl_len, &granted) < 0)
		return stop(r, FSA_UNKNOWN, cur, "cannot be looked at by mqttls itself", strerror(errno));
	r->st = st;
	for (int bit = FSA_R; bit; bit >>= 1)
		if ((want & bit) && !may(u, &st, acl, acl_len, granted, bit))
			r->need |= bit;
	if (!r->need) {
		r->verdict = FSA_OK;
		return r->verdict;
	}
	r->verdict = FSA_DENIED;
	snprintf(r->blocker, sizeof r->blocker, "%s", cur);
	r->has_acl = acl_len > 0;
	explain(u, r, S_ISDIR(st.st_mode) && (r->need & FSA_X) ? "enter" : r->need & FSA_W ? "write" : "read");
	return r->verdict;
}

enum fsaccess_verdict fsaccess_check(const struct fsaccess_user *u, const char *path, int want,
				     struct fsaccess_result *r)
{
	return walk(u, path, want, r, NULL);
}

/* Quote a path for sh when it needs it. */
static void sh_quote(struct mq_str *b, const char *s)
{
	char *e = mq_escape_dup(s, strlen(s)); /* a hostile name must not carry escapes to the terminal */

	if (e[strspn(e, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._+-:@%,=")] == '\0') {
		mq_str_printf(b, "%s", e);
	} else {
		mq_str_append(b, "'", 1);
		for (const char *c = e; *c; c++) {
			if (*c == '\'')
				mq_str_append(b, "'\\''", 4);
			else
				mq_str_append(b, c, 1);
		}
		mq_str_append(b, "'", 1);
	}
	free(e);
}

static void bits_text(int need, char out[4])
{
	int i = 0;
	if (need & FSA_R)
		out[i++] = 'r';
	if (need & FSA_W)
		out[i++] = 'w';
	if (need & FSA_X)
		out[i++] = 'x';
	out[i] = '\0';
}

static mode_t bits_mode(int need, int shift)
{
	return (mode_t)((need & 7) << shift);
}

/* One step of the plan for r's blocker: the commands, and the override that models them. */
static void plan_step(const struct fsaccess_user *u, const struct fsaccess_result *r, bool secret,
		      struct mq_str *fix, struct fsaccess_override *ov)
{
	const struct stat *st = &r->st;
	bool dir = r->blocker_is_dir || S_ISDIR(st->st_mode);
	mode_t mode = st->st_mode & 07777;
	char bits[4];

	bits_text(r->need, bits);
	snprintf(ov->path, sizeof ov->path, "%s", r->blocker);
	ov->gid = st->st_gid;
	ov->acl_grant = false;
	if (r->has_acl) {
		/* The file already has an ACL: one more entry is the change that touches nobody else. */
		mq_str_printf(fix, "setfacl -m u:%s:%s ", u->name, bits);
		sh_quote(fix, r->blocker);
		mq_str_printf(fix, "\n");
		ov->acl_grant = true;
		return;
	}
	if (u->uid == st->st_uid) {
		mq_str_printf(fix, "chmod u+%s ", bits);
		mode |= bits_mode(r->need, 6);
	} else if (fsaccess_user_in_group(u, st->st_gid)) {
		mq_str_printf(fix, "chmod g+%s%s ", bits, secret && !dir ? ",o-rwx" : "");
		mode |= bits_mode(r->need, 3);
		if (secret && !dir)
			mode &= ~(mode_t)07;
	} else if (dir) {
		/* x on a directory lets others through it, not list it: the files keep their own modes. */
		mq_str_printf(fix, "chmod o+%s ", bits);
		mode |= bits_mode(r->need, 0);
	} else if (secret) {
		/* Give the broker's group read access instead of opening the secret to every user. */
		mq_str_printf(fix, "chgrp %s ", u->group);
		sh_quote(fix, r->blocker);
		mq_str_printf(fix, "\nchmod g+%s,o-rwx ", bits);
		ov->gid = u->gid;
		mode = (mode | bits_mode(r->need, 3)) & ~(mode_t)07;
	} else {
		mq_str_printf(fix, "chmod a+%s ", bits);
		mode |= bits_mode(r->need, 6) | bits_mode(r->need, 3) | bits_mode(r->need, 0);
	}
	sh_quote(fix, r->blocker);
	mq_str_printf(fix, "\n");
	ov->mode = mode;
}

enum fsaccess_verdict fsaccess_plan(const struct fsaccess_user *u, const char *path, int want, bool secret,
				    struct fsaccess_result *r, char **fix)
{
	struct fsaccess_override *ov = calloc(MAX_PLAN_STEPS, sizeof *ov); /* 64 KiB: not on the stack */
	struct fsaccess_result step;
	struct mq_str b = { 0 };
	struct overrides o = { ov, 0 };

	if (!ov)
		abort();

	walk(u, path, want, r, NULL);
	if (r->verdict == FSA_DENIED) {
		step = *r;
		while (step.verdict == FSA_DENIED && o.n < MAX_PLAN_STEPS) {
			plan_step(u, &step, secret, &b, &ov[o.n]);
			o.n++;
			walk(u, path, want, &step, &o);
		}
	}
	free(ov);
	*fix = mq_str_take(&b);
	/* Drop the last newline: the finding's fix is lines, not a file. */
	if (**fix && (*fix)[strlen(*fix) - 1] == '\n')
		(*fix)[strlen(*fix) - 1] = '\0';
	return r->verdict;
}

static bool group_has_others(const struct fsaccess_user *u, const struct stat *st, gid_t gid, char *who,
			     size_t size)
{
	struct group *gr = getgrgid(gid);
	struct passwd *pw;
	bool found = false;

	if (gr) {
		for (char **m = gr->gr_mem; m && *m; m++) {
			struct passwd *mp;
			if (!strcmp(*m, u->name) || !strcmp(*m, "root"))
				continue;
			mp = getpwnam(*m);
			if (mp && mp->pw_uid == st->st_uid)
				continue;
			snprintf(who, size, "%s", *m);
			return true;
		}
	}
	setpwent();
	while ((pw = getpwent())) {
		if (pw->pw_gid == gid && pw->pw_uid != u->uid && pw->pw_uid != 0 && pw->pw_uid != st->st_uid) {
			snprintf(who, size, "%s", pw->pw_name);
			found = true;
			break;
		}
	}
	endpwent();
	return found;
}

const char *fsaccess_readable_by_others(const struct fsaccess_user *u, const struct stat *st, char *buf, size_t size)
{
	char who[64], gn[64];

	if (st->st_mode & S_IROTH) {
		snprintf(buf, size, "every user on the machine (others have r)");
		return buf;
	}
	if ((st->st_mode & S_IRGRP) && group_has_others(u, st, st->st_gid, who, sizeof who)) {
		snprintf(buf, size, "group %s, which has other members (%s)", group_name(st->st_gid, gn, sizeof gn), who);
		return buf;
	}
	return NULL;
}
