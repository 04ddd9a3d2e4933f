/*
 * conf-lint — what a mosquitto.conf will do to the broker and its clients, as findings.
 *
 * The order of the checks is the order of consequences: first what stops mosquitto from starting
 * (it refuses the file, its user cannot read a file, a key does not fit its certificate, two
 * listeners want the same port), then what refuses every client, then what a device's verifier
 * will reject, then warnings. diagnose --broker-conf relies on that: the first error is the cause.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mqttls/conf.h"
#include "mqttls/fsaccess.h"
#include "mqttls/util.h"
#include "mqttls/version.h"

#define CERT_FILE_CAP (1u << 20)  /* a certificate or key file larger than this is not one */
#define SOON_DAYS 30
#define LONG_DAYS 398
#define DAY 86400LL

struct lint {
	struct conf_lint *out;
	const struct conf_lint_opts *o;
	struct conf *c;
	struct fsaccess_user user;
	bool have_user;
	long long now;
	char **arena;            /* strings made for messages, freed at the end */
	size_t n_arena;
	char **checked;          /* paths whose permissions were already reported */
	size_t n_checked;
	STACK_OF(X509) **sks;    /* the certificates of out->certs[i], same order as its cert_infos */
	struct {
		char *dir;       /* a directory the broker's user cannot enter */
		size_t finding;  /* the one finding that lists every file behind it */
		char *opts;      /* "cafile, certfile" */
	} blocked[16];
	size_t n_blocked;
};

/* ---- small helpers ------------------------------------------------------------------------- */

static char *vsf(const char *fmt, va_list ap) MQ_PRINTF(1, 0);

static char *vsf(const char *fmt, va_list ap)
{
	struct mq_str b = { 0 };

	mq_str_vprintf(&b, fmt, ap);
	return mq_str_take(&b);
}

static char *sf(const char *fmt, ...) MQ_PRINTF(1, 2);

static char *sf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vsf(fmt, ap);
	va_end(ap);
	return s;
}

static const char *keep(struct lint *L, char *s)
{
	char **a = realloc(L->arena, (L->n_arena + 1) * sizeof *a);
	if (!a || !s)
		abort();
	L->arena = a;
	L->arena[L->n_arena++] = s;
	return s;
}

/* Text from the configuration or a certificate, safe for a terminal. */
static const char *E(struct lint *L, const char *s)
{
	return s ? keep(L, mq_escape_dup(s, strlen(s))) : "";
}

/* "mosquitto.conf:12" */
static const char *at(struct lint *L, struct conf_loc loc)
{
	struct mq_str b = { 0 };
	char *e = mq_escape_dup(loc.file ? loc.file : "?", strlen(loc.file ? loc.file : "?"));

	mq_str_printf(&b, "%s:%d", e, loc.line);
	free(e);
	return keep(L, mq_str_take(&b));
}

static const char *label(struct lint *L, const struct conf_listener *l)
{
	char buf[300];
	return keep(L, strdup(conf_listener_label(l, buf, sizeof buf)));
}

/*
 * Add a finding. With only_port set (diagnose), a finding about another listener is kept only
 * when it stops the whole broker. Returns NULL when filtered; the setters accept NULL.
 */
static struct finding *add(struct lint *L, const struct conf_listener *l, bool stops, const char *id,
			   const char *path, const char *fmt, ...) MQ_PRINTF(6, 7);

static struct finding *add(struct lint *L, const struct conf_listener *l, bool stops, const char *id,
			   const char *path, const char *fmt, ...)
{
	struct finding *f;
	va_list ap;
	char *title;

	if (L->o->only_port > 0 && l && l->port != L->o->only_port && !stops)
		return NULL;
	va_start(ap, fmt);
	title = vsf(fmt, ap);
	va_end(ap);
	f = findings_add(&L->out->findings, id, title, NULL, NULL);
	f->stops_broker = stops;
	free(title);
	if (path)
		finding_set_path(f, E(L, path));
	return f;
}

/* Set one text of a finding (the detail, fix or seen); nothing when the finding was filtered out. */
static void set_text(char **dst, const char *fmt, ...) MQ_PRINTF(2, 3);

static void set_text(char **dst, const char *fmt, ...)
{
	va_list ap;

	if (!dst)
		return;
	va_start(ap, fmt);
	free(*dst);
	*dst = vsf(fmt, ap);
	va_end(ap);
}

#define detail(f, ...) set_text((f) ? &(f)->detail : NULL, __VA_ARGS__)
#define fix(f, ...) set_text((f) ? &(f)->fix : NULL, __VA_ARGS__)
#define seen(f, ...) set_text((f) ? &(f)->seen : NULL, __VA_ARGS__)

/* ---- the broker's user ----------------------------------------------------------------------- */

static void pick_user(struct lint *L)
{
	struct conf *c = L->c;
	const char *want = L->o->as_user ? L->o->as_user : c->user.v ? c->user.v : "mosquitto";
	struct mq_err err = { 0 };
	struct finding *f;

	if (fsaccess_user_lookup(want, &L->user, &err) == 0) {
		L->have_user = true;
	} else if (!L->o->as_user && !strcmp(want, "mosquitto") && fsaccess_user_lookup("nobody", &L->user, &err) == 0) {
		/* mosquitto's own fallback when its default user does not exist. */
		L->have_user = true;
	} else if (!L->o->as_user) {
		f = add(L, NULL, true, "CONF_INCONSISTENT", c->user.at.file,
			"mosquitto will exit at start: its user '%s' does not exist", E(L, want));
		detail(f, "%s sets user %s. mosquitto started as root switches to that user and exits when it "
		       "does not exist.", at(L, c->user.at), E(L, want));
		fix(f, "create the user (adduser --system --group --no-create-home %s), or set user to an "
		    "existing one at %s", E(L, want), at(L, c->user.at));
		seen(f, "mosquitto: Error: Unable to drop privileges to '%s' because this user does not exist.",
		     E(L, want));
	}
	if (L->have_user) {
		L->out->user = strdup(L->user.name);
		L->out->user_exists = true;
		L->out->user_is_root = L->user.uid == 0;
	} else {
		L->out->user = strdup(want);
	}
	if (L->o->as_user)
		L->out->user_note = sf("--as-user");
	else if (L->have_user && strcmp(L->user.name, want))
		L->out->user_note = sf("user %s does not exist, so mosquitto falls back to %s; it switches user when "
				       "started as root, as systemd starts it", E(L, want), L->user.name);
	else
		L->out->user_note = sf("%s; mosquitto switches to it when started as root, as systemd does, and reads "
				       "the files as that user; started by another user it runs as that user",
				       c->user.v ? "the user option" : "the default");
}

/* ---- files the configuration names, as the broker's user sees them ------------------------- */

struct file_role {
	const char *opt;
	bool secret;          /* a key, passwords or PSKs: never opened to everyone */
	bool dir;             /* capath: a directory to list */
	bool stops;           /* mosquitto exits at start when it cannot read it */
	const char *log;      /* what mosquitto logs then ("%s": the path) */
};

static const struct file_role roles[] = {
	{ "certfile", false, false, true, "Error: Unable to load server certificate \"%s\". Check certfile." },
	{ "keyfile", true, false, true, "Error: Unable to load server key file \"%s\". Check keyfile." },
	{ "cafile", false, false, true, "Error: Unable to load CA certificates. Check cafile \"%s\"." },
	{ "capath", false, true, false, NULL },
	{ "crlfile", false, false, true, NULL },
	{ "dhparamfile", false, false, true, NULL },
	{ "password_file", true, false, true, "Error: Unable to open pwfile \"%s\"." },
	{ "acl_file", false, false, true, "Error: Unable to open acl_file \"%s\"." },
	{ "psk_file", true, false, true, "Error: Unable to open pwfile \"%s\"." },
	{ "plugin", false, false, true, NULL },
};

static const struct file_role *role(const char *opt)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(roles); i++)
		if (!strcmp(roles[i].opt, opt))
			return &roles[i];
	return &roles[MQ_ARRAY_LEN(roles) - 1];
}

/* tmpl with its one "%s" replaced by arg (tmpl is a table's constant, never input). */
static const char *subst(struct lint *L, const char *tmpl, const char *arg)
{
	struct mq_str b = { 0 };
	const char *p = strstr(tmpl, "%s");

	if (!p)
		return tmpl;
	mq_str_append(&b, tmpl, (size_t)(p - tmpl));
	mq_str_printf(&b, "%s%s", arg, p + 2);
	return keep(L, mq_str_take(&b));
}

static bool already_checked(struct lint *L, const char *path)
{
	char **v;

	for (size_t i = 0; i < L->n_checked; i++)
		if (!strcmp(L->checked[i], path))
			return true;
	v = realloc(L->checked, (L->n_checked + 1) * sizeof *v);
	if (!v)
		abort();
	L->checked = v;
	L->checked[L->n_checked] = strdup(path);
	if (!L->checked[L->n_checked])
		abort();
	L->n_checked++;
	return false;
}

static void seen_stopped(struct lint *L, struct finding *f, const struct file_role *r, const char *path,
			 const char *reason)
{
	if (!r->stops) {
		seen(f, "mosquitto starts, but every device certificate fails verification: the device sees the "
		     "handshake fail (mbedTLS -0x7780 / bad certificate alert) and the broker log shows "
		     "OpenSSL Error[0]: ... certificate verify failed");
		return;
	}
	seen(f, "the broker does not start, so every client sees TCP_REFUSED (PubSubClient rc=-2, mosquitto_pub "
	     "\"Error: Connection refused\"); journalctl -u mosquitto shows %s%s%s",
	     r->log ? subst(L, r->log, E(L, path)) : "an error about this file and then the exit",
	     reason ? " and OpenSSL Error[0]: ... " : "", reason ? reason : "");
}

/*
 * Several files behind one directory the broker cannot enter make one finding: the directory is
 * the cause, and its fix is the same. Returns true when f's file was added to an earlier finding.
 */
static bool merge_blocked(struct lint *L, const struct conf_listener *l, const struct file_role *r, const char *opt,
			  const struct conf_str *s, const struct fsaccess_result *res, const char *plan)
{
	struct finding *f;
	struct mq_str fx = { 0 }, t = { 0 }, d = { 0 };
	char *opts;
	const char *line;

	for (size_t i = 0; i < L->n_blocked; i++) {
		if (strcmp(L->blocked[i].dir, res->blocker))
			continue;
		f = &L->out->findings.v[L->blocked[i].finding];
		if (asprintf(&opts, "%s, %s", L->blocked[i].opts, opt) < 0)
			abort();
		free(L->blocked[i].opts);
		L->blocked[i].opts = opts;
		mq_str_printf(&t, "User %s cannot enter %s, which holds its %s", L->user.name, E(L, res->blocker), opts);
		free(f->title);
		f->title = mq_str_take(&t);
		mq_str_printf(&d, "%s It also needs %s %s (%s).", f->detail, opt, E(L, s->v), at(L, s->at));
		free(f->detail);
		f->detail = mq_str_take(&d);
		/* The fix: every command of both plans, once, in order. */
		mq_str_printf(&fx, "%s", f->fix ? f->fix : "");
		for (line = plan; line && *line;) {
			size_t n = strcspn(line, "\n");
			char *one = strndup(line, n);
			if (!one)
				abort();
			if (!strstr(fx.s ? fx.s : "", one))
				mq_str_printf(&fx, "%s%s", fx.len ? "\n" : "", one);
			free(one);
			line += n + (line[n] == '\n');
		}
		free(f->fix);
		f->fix = mq_str_take(&fx);
		f->stops_broker |= r->stops;
		finding_set_path(f, E(L, res->blocker));
		(void)l;
		return true;
	}
	return false;
}

/* Is path readable by the broker's user? Reports what blocks it. */
static void check_file(struct lint *L, const struct conf_listener *l, const char *opt, const struct conf_str *s)
{
	const struct file_role *r = role(opt);
	struct fsaccess_result res;
	struct finding *f;
	char *plan = NULL;
	const char *p = s->v;

	if (!p || already_checked(L, p))
		return;
	if (p[0] != '/')
		conf_msg_add(L->c, CONF_MSG_WARNING, s->at.file, s->at.line, "%s %s is a relative path: mosquitto "
			     "takes it from its working directory (/ when systemd starts it), not from the "
			     "configuration file's directory; mqttls checked it from its own", opt, E(L, p));
	if (!L->have_user)
		return;
	fsaccess_plan(&L->user, p, r->dir ? FSA_R | FSA_X : FSA_R, r->secret, &res, &plan);
	switch (res.verdict) {
	case FSA_OK:
		if (!r->dir && !S_ISREG(res.st.st_mode)) {
			f = add(L, l, r->stops, "BROKER_CANNOT_READ_FILE", p, "The %s %s is not a regular file", opt,
				E(L, p));
			detail(f, "%s names %s, which is %s.", at(L, s->at), E(L, res.resolved),
			       S_ISDIR(res.st.st_mode) ? "a directory" : S_ISFIFO(res.st.st_mode)
			       ? "a FIFO: mosquitto would wait at start until something writes to it"
			       : "a device or socket, not a file");
			fix(f, "point %s at %s to the PEM file itself", opt, at(L, s->at));
			seen_stopped(L, f, r, p, NULL);
		} else if (r->dir && !S_ISDIR(res.st.st_mode)) {
			f = add(L, l, false, "BROKER_CANNOT_READ_FILE", p, "capath %s is not a directory", E(L, p));
			detail(f, "%s names %s; capath must be a directory of hashed CA certificates (cafile takes "
			       "a single file).", at(L, s->at), E(L, p));
			fix(f, "use cafile %s instead of capath at %s", E(L, p), at(L, s->at));
			seen_stopped(L, f, r, p, NULL);
		}
		break;
	case FSA_DENIED:
		if (res.blocker_is_dir && merge_blocked(L, l, r, opt, s, &res, plan))
			break;
		f = add(L, l, r->stops, "BROKER_CANNOT_READ_FILE", p, "User %s cannot read the %s %s%s%s%s",
			L->user.name, opt, E(L, p), res.blocker_is_dir ? " (it cannot enter " : "",
			res.blocker_is_dir ? E(L, res.blocker) : "", res.blocker_is_dir ? ")" : "");
		detail(f, "%s: %s. mosquitto started as root switches to user %s before it loads the files its "
		       "configuration names (%s), so it %s.", at(L, s->at), res.why, L->user.name, opt,
		       r->stops ? "stops right after starting" : "cannot use the CA certificates there");
		fix(f, "%s", plan);
		seen_stopped(L, f, r, p, "error:8000000D:system library::Permission denied");
		if (f && res.blocker_is_dir && L->n_blocked < MQ_ARRAY_LEN(L->blocked)) {
			L->blocked[L->n_blocked].dir = strdup(res.blocker);
			L->blocked[L->n_blocked].finding = L->out->findings.n - 1;
			L->blocked[L->n_blocked].opts = strdup(opt);
			L->n_blocked++;
		}
		break;
	case FSA_MISSING:
		f = add(L, l, r->stops, "BROKER_CANNOT_READ_FILE", p, "The %s %s does not exist", opt, E(L, p));
		if (strcmp(res.blocker, p))
			detail(f, "%s names %s, but %s does not exist.", at(L, s->at), E(L, p), E(L, res.blocker));
		else
			detail(f, "%s names %s, which does not exist.", at(L, s->at), E(L, p));
		fix(f, "correct the path at %s (an absolute path: mosquitto does not look next to the "
		    "configuration file), or create the file there", at(L, s->at));
		seen_stopped(L, f, r, p, "error:80000002:system library::No such file or directory");
		break;
	case FSA_NOT_DIR:
	case FSA_LOOP:
		f = add(L, l, r->stops, "BROKER_CANNOT_READ_FILE", p, "The %s %s cannot be reached", opt, E(L, p));
		detail(f, "%s names %s: %s.", at(L, s->at), E(L, p), res.why);
		fix(f, "correct the path at %s", at(L, s->at));
		seen_stopped(L, f, r, p, NULL);
		break;
	case FSA_UNKNOWN:
		conf_msg_add(L->c, CONF_MSG_INFO, s->at.file, s->at.line, "could not check %s %s: %s (run mqttls as "
			     "root to check it as user %s)", opt, E(L, p), res.why, L->user.name);
		break;
	}
	free(plan);
}

/* A secret readable by more than the broker: the finding with a fix that keeps the broker reading. */
static void check_secret_mode(struct lint *L, const struct conf_listener *l, const char *opt, const struct conf_str *s)
{
	struct stat st;
	char who[200], desc[128];
	const char *by;
	struct finding *f;
	const char *q;

	if (!s->v || !L->have_user || L->user.uid == 0 || stat(s->v, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	if (already_checked(L, keep(L, sf("mode:%s", s->v))))
		return;
	by = fsaccess_readable_by_others(&L->user, &st, who, sizeof who);
	if (!by)
		return;
	q = E(L, s->v);
	f = add(L, l, false, "KEY_PERMISSIONS_TOO_OPEN", s->v, "The %s %s is readable by %s", opt, q, by);
	detail(f, "%s (%s) holds %s; anyone who can read it can %s.", q, fsaccess_describe(&st, desc, sizeof desc),
	       !strcmp(opt, "keyfile") ? "the broker's private key" : !strcmp(opt, "psk_file") ? "the pre-shared keys"
	       : "the password hashes", !strcmp(opt, "keyfile") ? "impersonate the broker to every device"
	       : !strcmp(opt, "psk_file") ? "impersonate any device or the broker" : "try the passwords offline");
	if (st.st_uid == L->user.uid)
		fix(f, "chmod go-rwx %s", q);
	else if (fsaccess_user_in_group(&L->user, st.st_gid) && !(st.st_mode & S_IRGRP && strstr(by, "group")))
		fix(f, "chmod o-rwx %s", q);
	else
		fix(f, "chgrp %s %s\nchmod g+r,o-rwx %s", L->user.group, q, q);
	seen(f, "nothing fails: the broker works, and so would a copy of it made with this key");
}

/*
 * log_dest file: mosquitto opens it after switching user and goes on without it when it cannot,
 * so the log a user reads to debug stays empty. A message, not a finding: clients are not affected.
 */
static void check_log_files(struct lint *L)
{
	for (size_t i = 0; L->have_user && i < L->c->n_log_files; i++) {
		const struct conf_str *s = &L->c->log_files[i];
		struct fsaccess_result r;
		char dir[4096];
		const char *slash = strrchr(s->v, '/');

		if (fsaccess_check(&L->user, s->v, FSA_W, &r) == FSA_OK)
			continue;
		if (r.verdict == FSA_MISSING && !strcmp(r.blocker, s->v) && slash) {
			/* A new file: the directory must let the user in and write. */
			snprintf(dir, sizeof dir, "%.*s", slash == s->v ? 1 : (int)(slash - s->v), s->v);
			if (fsaccess_check(&L->user, dir, FSA_W | FSA_X, &r) == FSA_OK)
				continue;
		}
		conf_msg_add(L->c, CONF_MSG_WARNING, s->at.file, s->at.line, "user %s cannot write the log file %s "
			     "(%s): mosquitto keeps running but logs nothing there (\"Error: Unable to open log file "
			     "... for writing.\")", L->user.name, E(L, s->v), r.why);
	}
}

/* ---- certificates and keys ------------------------------------------------------------------- */

/* Read a certificate or key file; a FIFO or device is not read (the permission check names it). */
static int read_small(const char *path, char **buf, size_t *len)
{
	struct mq_err err = { 0 };

	return mq_read_regular_file(path, CERT_FILE_CAP, buf, len, NULL, &err);
}

static struct conf_cert_file *new_cert_file(struct lint *L, const struct conf_listener *l, const char *role_name,
					    const char *path)
{
	struct conf_lint *o = L->out;
	struct conf_cert_file *cf;

	o->certs = realloc(o->certs, (o->n_certs + 1) * sizeof *o->certs);
	if (!o->certs)
		abort();
	cf = &o->certs[o->n_certs++];
	memset(cf, 0, sizeof *cf);
	cf->port = l->port;
	cf->role = role_name;
	cf->path = strdup(path);
	return cf;
}

/*
 * Certificates of a file as cert_infos in out->certs and X509s in L->sks (kept, borrowed through
 * *sk). Returns the count, 0 when unreadable to us, -1 when not certificates. *idx: the entry in
 * out->certs (an index: the array moves as it grows), -1 when none.
 */
static int load_certs(struct lint *L, const struct conf_listener *l, const char *role_name, const char *path,
		      STACK_OF(X509) **sk, long *idx, bool *was_der, struct mq_err *err)
{
	STACK_OF(X509) *all = NULL, *kept;
	struct conf_cert_file *cf;
	char *buf;
	size_t len;
	int n;

	*sk = NULL;
	*idx = -1;
	if (read_small(path, &buf, &len) < 0)
		return 0; /* the permission check reports what the broker would see */
	n = chain_load_mem(E(L, path), buf, len, &all, was_der, err);
	free(buf);
	if (n < 0)
		return -1;
	kept = sk_X509_new_null();
	cf = new_cert_file(L, l, role_name, path);
	cf->certs = calloc((size_t)n, sizeof *cf->certs);
	L->sks = realloc(L->sks, L->out->n_certs * sizeof *L->sks);
	if (!cf->certs || !kept || !L->sks)
		abort();
	for (int i = 0; i < n; i++) {
		struct mq_err e2 = { 0 };
		X509 *x = sk_X509_value(all, i);
		if (cert_info_from_x509(x, (int)cf->n_certs, &cf->certs[cf->n_certs], &e2) == 0) {
			cf->n_certs++;
			X509_up_ref(x);
			if (!sk_X509_push(kept, x))
				abort();
		}
	}
	sk_X509_pop_free(all, X509_free);
	*idx = (long)L->out->n_certs - 1;
	L->sks[*idx] = kept;
	*sk = kept;
	return n;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1; /* never prompt: the broker cannot either */
}

enum key_state { KEY_OK, KEY_UNREADABLE_TO_US, KEY_ENCRYPTED, KEY_DER, KEY_NONE };

static enum key_state load_key(const char *path, EVP_PKEY **pk)
{
	char *buf;
	size_t len;
	BIO *b;
	enum key_state st = KEY_NONE;

	*pk = NULL;
	if (read_small(path, &buf, &len) < 0)
		return KEY_UNREADABLE_TO_US;
	if (strstr(buf, "-----BEGIN ENCRYPTED PRIVATE KEY-----") || strstr(buf, "Proc-Type: 4,ENCRYPTED")) {
		free(buf);
		return KEY_ENCRYPTED;
	}
	b = BIO_new_mem_buf(buf, (int)len);
	if (b) {
		*pk = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
		BIO_free(b);
	}
	if (*pk) {
		st = KEY_OK;
	} else if (!strstr(buf, "-----BEGIN ")) {
		const unsigned char *p = (const unsigned char *)buf;
		EVP_PKEY *d = d2i_AutoPrivateKey(NULL, &p, (long)len);
		st = d ? KEY_DER : KEY_NONE;
		EVP_PKEY_free(d);
	}
	ERR_clear_error();
	free(buf);
	return st;
}

static const char *date(struct lint *L, long long t)
{
	char buf[32];
	return keep(L, strdup(mq_iso8601(t, buf, sizeof buf)));
}

static bool has_str(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* A certificate by position: file f of out->certs, certificate i. */
struct cref {
	long f;
	size_t i;
};

static const struct cert_info *ci_of(struct lint *L, struct cref r)
{
	return &L->out->certs[r.f].certs[r.i];
}

/*
 * The certificate among files[] that issued c: its name, key identifier and key usage fit
 * (X509_check_issued) and its key verifies c's signature. *same_name_only is set when a
 * certificate has the issuer's name but did not sign c (a CA made again under the same name).
 */
static bool find_issuer(struct lint *L, struct cref c, const long *files, size_t n_files, struct cref *out,
			bool *same_name_only)
{
	X509 *x = sk_X509_value(L->sks[c.f], (int)c.i);

	for (size_t k = 0; k < n_files; k++) {
		long g = files[k];
		if (g < 0)
			continue;
		for (int i = 0; i < sk_X509_num(L->sks[g]); i++) {
			X509 *cand = sk_X509_value(L->sks[g], i);
			if (g == c.f && (size_t)i == c.i)
				continue;
			if (X509_check_issued(cand, x) != X509_V_OK) {
				if (same_name_only && !X509_NAME_cmp(X509_get_subject_name(cand), X509_get_issuer_name(x)))
					*same_name_only = true;
				continue;
			}
			if (X509_verify(x, X509_get0_pubkey(cand)) != 1) {
				ERR_clear_error();
				if (same_name_only)
					*same_name_only = true;
				continue;
			}
			out->f = g;
			out->i = (size_t)i;
			return true;
		}
	}
	return false;
}

/* A SAN list for openssl's -addext, from what the certificate has plus what it should have. */
static const char *san_arg(struct lint *L, const struct cert_info *leaf, char *const *names, size_t n_names,
			   char *const *addrs, size_t n_addrs)
{
	struct mq_str b = { 0 };
	const char *sep = "";

	for (size_t i = 0; leaf && i < leaf->n_san_dns; i++, sep = ",")
		mq_str_printf(&b, "%sDNS:%s", sep, leaf->san_dns[i]);
	for (size_t i = 0; i < n_names; i++, sep = ",")
		if (!leaf || !has_str(leaf->san_dns, leaf->n_san_dns, names[i]))
			mq_str_printf(&b, "%sDNS:%s", sep, names[i]);
	for (size_t i = 0; leaf && i < leaf->n_san_ip; i++, sep = ",")
		mq_str_printf(&b, "%sIP:%s", sep, leaf->san_ip[i]);
	for (size_t i = 0; i < n_addrs; i++, sep = ",")
		if (!leaf || !has_str(leaf->san_ip, leaf->n_san_ip, addrs[i]))
			mq_str_printf(&b, "%sIP:%s", sep, addrs[i]);
	/* mbedTLS before 3.5 (ESP-IDF 4.x, early 5.x) matches only dNSName SANs, an address too. */
	for (size_t i = 0; i < n_addrs; i++)
		if (!strchr(addrs[i], ':') && (!leaf || !has_str(leaf->san_dns, leaf->n_san_dns, addrs[i])))
			mq_str_printf(&b, "%sDNS:%s", sep, addrs[i]);
	return E(L, keep(L, mq_str_take(&b)));
}

/*
 * Commands that issue a new broker certificate for the same key with these SANs. When the certfile
 * also carries the intermediate, the commands keep it after the new certificate.
 */
static const char *reissue(struct lint *L, const struct conf_listener *l, const struct cert_info *leaf, const char *sans)
{
	const char *cn = leaf && leaf->cn ? E(L, leaf->cn) : "broker";
	const char *issuer = leaf && leaf->issuer ? E(L, leaf->issuer) : "your CA";
	const char *cert = E(L, l->certfile.v);
	size_t n_in_file = 1;

	for (size_t i = 0; i < L->out->n_certs; i++)
		if (!strcmp(L->out->certs[i].role, "certfile") && !strcmp(L->out->certs[i].path, l->certfile.v))
			n_in_file = L->out->certs[i].n_certs;
	if (n_in_file > 1)
		return keep(L, sf("# with the CA that issued it (%s) as ca.crt / ca.key:\n"
				  "awk 'n; /END CERTIFICATE/ {n=1}' %s > chain.pem    # the certificates after the first\n"
				  "openssl req -new -key %s -subj \"/CN=%s\" -addext \"subjectAltName=%s\" -out broker.csr\n"
				  "openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 397 "
				  "-copy_extensions copy -out broker.crt.new\n"
				  "cat broker.crt.new chain.pem > %s\n"
				  "systemctl reload mosquitto    # mosquitto re-reads certfile on SIGHUP",
				  issuer, cert, E(L, l->keyfile.v), cn, sans, cert));
	return keep(L, sf("# with the CA that issued it (%s) as ca.crt / ca.key:\n"
			  "openssl req -new -key %s -subj \"/CN=%s\" -addext \"subjectAltName=%s\" -out broker.csr\n"
			  "openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 397 "
			  "-copy_extensions copy -out %s\n"
			  "systemctl reload mosquitto    # mosquitto re-reads certfile on SIGHUP",
			  issuer, E(L, l->keyfile.v), cn, sans, cert));
}

struct host_ids {
	char *names[8];
	size_t n_names;
	char *addrs[64];
	size_t n_addrs;
	bool loopback_only;
};

static void host_ids_free(struct host_ids *h)
{
	for (size_t i = 0; i < h->n_names; i++)
		free(h->names[i]);
	for (size_t i = 0; i < h->n_addrs; i++)
		free(h->addrs[i]);
}

static void add_name(struct host_ids *h, const char *n)
{
	if (!n || !*n || !strcmp(n, "localhost") || h->n_names >= MQ_ARRAY_LEN(h->names) ||
	    has_str(h->names, h->n_names, n))
		return;
	h->names[h->n_names++] = strdup(n);
}

static void add_addr(struct host_ids *h, const struct sockaddr *sa)
{
	char buf[INET6_ADDRSTRLEN];

	if (h->n_addrs >= MQ_ARRAY_LEN(h->addrs))
		return;
	if (sa->sa_family == AF_INET) {
		const struct in_addr *a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		if ((ntohl(a->s_addr) >> 24) == 127)
			return;
		inet_ntop(AF_INET, a, buf, sizeof buf);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_V4MAPPED(a))
			return;
		inet_ntop(AF_INET6, a, buf, sizeof buf);
	} else {
		return;
	}
	if (!has_str(h->addrs, h->n_addrs, buf))
		h->addrs[h->n_addrs++] = strdup(buf);
}

/* The names and addresses devices can use to reach listener l on this host. */
static void host_ids_for(const struct conf_listener *l, struct host_ids *h)
{
	char host[256];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_CANONNAME }, *res = NULL;

	memset(h, 0, sizeof *h);
	if (l->bind) {
		struct addrinfo *r;
		hints.ai_flags = 0;
		if (getaddrinfo(l->bind, NULL, &hints, &res) != 0)
			return;
		for (r = res; r; r = r->ai_next)
			add_addr(h, r->ai_addr);
		freeaddrinfo(res);
		if (h->n_addrs == 0) {
			h->loopback_only = true;
			return;
		}
		if (!inet_pton(AF_INET, l->bind, host) && !inet_pton(AF_INET6, l->bind, host))
			add_name(h, l->bind);
		return;
	}
	if (gethostname(host, sizeof host - 8) == 0) {
		host[sizeof host - 9] = '\0';
		add_name(h, host);
		if (!strchr(host, '.')) {
			char local[264];
			snprintf(local, sizeof local, "%s.local", host);
			add_name(h, local);
		}
		if (getaddrinfo(host, NULL, &hints, &res) == 0) {
			if (res->ai_canonname && strchr(res->ai_canonname, '.'))
				add_name(h, res->ai_canonname);
			freeaddrinfo(res);
		}
	}
	{
		struct ifaddrs *ifs = NULL, *i;
		if (getifaddrs(&ifs) == 0) {
			for (i = ifs; i; i = i->ifa_next)
				if (i->ifa_addr)
					add_addr(h, i->ifa_addr);
			freeifaddrs(ifs);
		}
	}
}

static void check_host_coverage(struct lint *L, const struct conf_listener *l, const struct cert_info *leaf)
{
	struct host_ids h;
	struct finding *f;
	struct mq_str names = { 0 }, has = { 0 };
	const char *sep = "";

	if (L->o->no_host_names || l->port == 0)
		return;
	host_ids_for(l, &h);
	if (h.loopback_only || (h.n_names == 0 && h.n_addrs == 0))
		goto out;
	for (size_t i = 0; i < h.n_names; i++)
		if (cert_info_matches_host(leaf, h.names[i], NULL))
			goto out;
	for (size_t i = 0; i < h.n_addrs; i++)
		if (cert_info_matches_host(leaf, h.addrs[i], NULL))
			goto out;
	for (size_t i = 0; i < h.n_addrs; i++, sep = ", ")
		mq_str_printf(&names, "%s%s", sep, h.addrs[i]);
	for (size_t i = 0; i < h.n_names; i++, sep = ", ")
		mq_str_printf(&names, "%s%s", sep, h.names[i]);
	sep = "";
	for (size_t i = 0; i < leaf->n_san_dns; i++, sep = ", ")
		mq_str_printf(&has, "%sDNS:%s", sep, leaf->san_dns[i]);
	for (size_t i = 0; i < leaf->n_san_ip; i++, sep = ", ")
		mq_str_printf(&has, "%sIP:%s", sep, leaf->san_ip[i]);
	if (!leaf->has_san)
		mq_str_printf(&has, "no SAN, only CN=%s", leaf->cn ? leaf->cn : "(none)");
	f = add(L, l, false, h.n_addrs ? "IP_NOT_IN_SAN" : "HOSTNAME_MISMATCH", l->certfile.v,
		"The broker certificate on %s names none of this host's addresses or names", label(L, l));
	detail(f, "Devices reach %s at %s, but the certificate in %s names only %s: a device that checks the "
	       "name (ESP32 setCACert, mosquitto_pub without --insecure) rejects it unless it connects to "
	       "one of those names. The fix lists each address twice, as IP: and as DNS:, because mbedTLS "
	       "before 3.5 (ESP-IDF 4.x and early 5.x builds) compares even an address only with DNS names.",
	       label(L, l), E(L, names.s), E(L, l->certfile.v), E(L, has.s ? has.s : "nothing"));
	fix(f, "%s", reissue(L, l, leaf, san_arg(L, leaf, h.names, h.n_names, h.addrs, h.n_addrs)));
	seen(f, "ESP32 (mbedTLS): -0x2700 with verify flags 0x04 (CN_MISMATCH), PubSubClient rc=-2, and the "
	     "broker logs OpenSSL Error[0]: ... sslv3 alert bad certificate (42); mosquitto_pub: \"Error: A TLS "
	     "error occurred.\" (with -d: \"Error: host name verification failed.\"), and the broker logs "
	     "tlsv1 alert internal error");
out:
	mq_str_free(&names);
	mq_str_free(&has);
	host_ids_free(&h);
}

/*
 * OpenSSL 3 at Debian's security level 2 refuses to load a certificate with an RSA key under
 * 2048 bits or a SHA-1 signature ("ee key too small", "ca md too weak"), so mosquitto exits;
 * only "@SECLEVEL=0" in ciphers lets it serve one, and then it is weak TLS.
 */
static void weak_cert(struct lint *L, const struct conf_listener *l, const struct conf_cert_file *cf,
		      const struct cert_info *ci, const char *what)
{
	bool small = ci->key && (!strncmp(ci->key, "RSA", 3) || !strncmp(ci->key, "DSA", 3)) && ci->key_bits &&
		     ci->key_bits < 2048;
	bool sha1 = ci->sig_alg && (strstr(ci->sig_alg, "sha1") || strstr(ci->sig_alg, "SHA1") ||
				    strstr(ci->sig_alg, "md5")) && !ci->self_signed;
	bool level0 = l->ciphers.v && strstr(l->ciphers.v, "@SECLEVEL=0");
	const char *why = small ? keep(L, sf("a %d-bit %s key", ci->key_bits, ci->key_bits ? E(L, ci->key) : "RSA"))
			  : keep(L, sf("a %s signature", E(L, ci->sig_alg)));
	struct finding *f;

	if (!small && !sha1)
		return;
	if (!level0) {
		f = add(L, l, true, "BROKER_CANNOT_READ_FILE", cf->path, "mosquitto refuses to load the certfile %s: "
			"the %s (%s) has %s", E(L, cf->path), what, E(L, ci->subject), why);
		detail(f, "OpenSSL 3 at Debian's default security level 2 does not load a certificate with %s, so "
		       "mosquitto exits at start.", small ? "an RSA key under 2048 bits" : "a SHA-1 or MD5 signature");
		fix(f, "%s", ci == &cf->certs[0] ? reissue(L, l, ci, san_arg(L, ci, NULL, 0, NULL, 0))
		    : "issue the intermediate again with a 2048-bit or EC key and SHA-256");
		if (small && ci == &cf->certs[0])
			fix(f, "make a new key, then issue the certificate for it:\nopenssl genpkey -algorithm EC "
			    "-pkeyopt ec_paramgen_curve:P-256 -out %s\n%s", E(L, l->keyfile.v),
			    reissue(L, l, ci, san_arg(L, ci, NULL, 0, NULL, 0)));
		seen(f, "the broker does not start (TCP_REFUSED); log: Error: Unable to load server certificate "
		     "\"%s\". Check certfile. / OpenSSL Error[0]: ... %s", E(L, cf->path),
		     small ? (ci == &cf->certs[0] ? "ee key too small" : "ca key too small") : "ca md too weak");
		return;
	}
	f = add(L, l, false, "WEAK_TLS", cf->path, "The %s (%s) has %s", what, E(L, ci->subject), why);
	detail(f, "ciphers %s lowers OpenSSL's security level so mosquitto serves it; devices that check "
	       "(OpenSSL 3, current mbedTLS) refuse it, and such keys and signatures can be forged.", E(L, l->ciphers.v));
	fix(f, "issue it again with a 2048-bit or EC key and SHA-256, and drop @SECLEVEL=0 from ciphers");
}

static void check_validity(struct lint *L, const struct conf_listener *l, const struct conf_cert_file *cf)
{
	for (size_t i = 0; i < cf->n_certs; i++) {
		const struct cert_info *ci = &cf->certs[i];
		const char *what = i == 0 ? "broker certificate" : "intermediate in the certfile";
		struct finding *f;

		if (L->now > ci->not_after) {
			f = add(L, l, false, "CERT_EXPIRED", cf->path, "The %s (%s) expired on %s", what,
				E(L, ci->subject), date(L, ci->not_after));
			detail(f, "%s in %s was valid until %s, %lld days ago. Every client that verifies the "
			       "broker rejects it.", E(L, ci->subject), E(L, cf->path), date(L, ci->not_after),
			       (L->now - ci->not_after) / DAY);
			fix(f, "%s", i == 0 ? reissue(L, l, ci, san_arg(L, ci, NULL, 0, NULL, 0))
			    : "issue a new intermediate from the root, re-sign the broker certificate with it, "
			      "and put both in certfile (server certificate first)");
			seen(f, "mosquitto_pub: \"Error: A TLS error occurred.\" (with -d: certificate verify failed); "
			     "broker log: OpenSSL Error[0]: ... sslv3 alert certificate expired (alert 45). An ESP32 "
			     "checks dates only with CONFIG_MBEDTLS_HAVE_TIME_DATE (off by default) and a set clock: "
			     "then -0x2700 with flags 0x01 (EXPIRED), PubSubClient rc=-2; without it, it still "
			     "connects while other clients fail");
		} else if (L->now < ci->not_before) {
			f = add(L, l, false, "CERT_NOT_YET_VALID", cf->path, "The %s (%s) is not valid before %s", what,
				E(L, ci->subject), date(L, ci->not_before));
			detail(f, "%s in %s becomes valid only at %s (in %lld hours by this machine's clock): "
			       "the clock of the machine that issued it was ahead. A device whose clock is "
			       "behind (an ESP32 without NTP starts in 1970) rejects even a correct certificate.",
			       E(L, ci->subject), E(L, cf->path), date(L, ci->not_before),
			       (ci->not_before - L->now) / 3600 + 1);
			fix(f, "check the clocks (timedatectl; on the device, configTime() before connecting), "
			    "then issue the certificate again:\n%s",
			    i == 0 ? reissue(L, l, ci, san_arg(L, ci, NULL, 0, NULL, 0)) : "(re-sign the intermediate)");
			seen(f, "mosquitto_pub: \"Error: A TLS error occurred.\" (with -d: certificate verify failed); "
			     "an ESP32 that checks dates: -0x2700 with flags 0x200 (FUTURE)");
		} else if (ci->not_after - L->now < SOON_DAYS * DAY) {
			f = add(L, l, false, "CERT_EXPIRING_SOON", cf->path, "The %s (%s) expires on %s", what,
				E(L, ci->subject), date(L, ci->not_after));
			detail(f, "%lld days left: devices will refuse the broker from then on.",
			       (ci->not_after - L->now) / DAY);
			fix(f, "%s", i == 0 ? reissue(L, l, ci, san_arg(L, ci, NULL, 0, NULL, 0))
			    : "issue a new intermediate and put it in certfile");
		}
		if (i == 0 && ci->not_after - ci->not_before > LONG_DAYS * DAY) {
			f = add(L, l, false, "LONG_VALIDITY", cf->path, "The broker certificate is valid for %lld days",
				(ci->not_after - ci->not_before) / DAY);
			detail(f, "%s is valid from %s to %s. Certificates valid for more than %d days are "
			       "refused by Apple's clients and stay usable for years if the key leaks.",
			       E(L, ci->subject), date(L, ci->not_before), date(L, ci->not_after), LONG_DAYS);
			fix(f, "issue it for at most 397 days (-days 397) and renew it on a schedule");
		}
		weak_cert(L, l, cf, ci, what);
	}
}

static void check_purpose(struct lint *L, const struct conf_listener *l, const struct conf_cert_file *cf)
{
	const struct cert_info *leaf = &cf->certs[0];
	struct finding *f;
	bool eku_bad = leaf->has_eku && !has_str(leaf->eku, leaf->n_eku, "serverAuth") &&
		       !has_str(leaf->eku, leaf->n_eku, "anyExtendedKeyUsage");
	bool ku_bad = leaf->has_key_usage && !has_str(leaf->key_usage, leaf->n_key_usage, "digitalSignature") &&
		      !has_str(leaf->key_usage, leaf->n_key_usage, "keyEncipherment");

	if (!eku_bad && !ku_bad)
		return;
	f = add(L, l, false, "SERVER_CERT_WRONG_PURPOSE", cf->path, "The broker certificate %s is not allowed for "
		"TLS servers", E(L, leaf->subject));
	if (eku_bad)
		detail(f, "Its extended key usage lists %s%s but not serverAuth: clients refuse it as a server "
		       "certificate.", leaf->n_eku ? E(L, leaf->eku[0]) : "nothing", leaf->n_eku > 1 ? ", ..." : "");
	else
		detail(f, "Its key usage allows neither digitalSignature nor keyEncipherment, so it cannot "
		       "be used for a TLS handshake.");
	fix(f, "issue it again with -addext \"extendedKeyUsage=serverAuth\" -addext "
	    "\"keyUsage=digitalSignature,keyEncipherment\"");
	seen(f, "mosquitto_pub: \"Error: A TLS error occurred.\", and the broker logs OpenSSL Error[0]: ... "
	     "sslv3 alert unsupported certificate (43); ESP32 (mbedTLS): -0x2700 with flags 0x1000 "
	     "(EXT_KEY_USAGE) or 0x800 (KEY_USAGE)");
}

/*
 * Certificates next to the certfile (intermediate.crt beside broker.crt is the usual layout), to
 * name the intermediate a certfile lacks. Bounded: the first 64 *.crt / *.pem files of 1 MiB at most.
 */
static long neighbours(struct lint *L, const struct conf_listener *l, const char *certfile)
{
	char dir[4096], path[4352];
	const char *slash = strrchr(certfile, '/');
	long idx = -1, first = -1;
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - certfile) ? (int)(slash - certfile) : 1, certfile);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d)) && n < 64) {
		size_t len = strlen(de->d_name);
		STACK_OF(X509) *sk = NULL;
		struct mq_err err = { 0 };
		bool der;
		if (len < 5 || (strcmp(de->d_name + len - 4, ".crt") && strcmp(de->d_name + len - 4, ".pem")))
			continue;
		if (!mq_path_join(path, sizeof path, dir, de->d_name) || !strcmp(path, certfile))
			continue;
		n++;
		if (load_certs(L, l, "neighbour", path, &sk, &idx, &der, &err) > 0 && first < 0)
			first = idx;
	}
	closedir(d);
	return first;
}

/* Follow issuers from the leaf through the certfile itself; the last certificate reached. */
static struct cref chain_end(struct lint *L, long cf_idx)
{
	struct cref cur = { cf_idx, 0 }, iss;

	for (int guard = 0; guard < 16 && !ci_of(L, cur)->self_issued && find_issuer(L, cur, &cf_idx, 1, &iss, NULL);
	     guard++)
		cur = iss;
	return cur;
}

static const char *subjects(struct lint *L, const struct conf_cert_file *f)
{
	struct mq_str b = { 0 };
	for (size_t i = 0; i < f->n_certs && i < 3; i++)
		mq_str_printf(&b, "%s%s", i ? "; " : "", f->certs[i].subject);
	if (f->n_certs > 3)
		mq_str_printf(&b, "; and %zu more", f->n_certs - 3);
	return E(L, keep(L, mq_str_take(&b)));
}

static const char *seen_untrusted =
	"ESP32 (mbedTLS): -0x2700 with verify flags 0x08 (NOT_TRUSTED), PubSubClient rc=-2; mosquitto_pub: "
	"\"Error: A TLS error occurred.\" (with -d: certificate verify failed); broker log: OpenSSL "
	"Error[0]: ... tlsv1 alert unknown ca (48)";

/*
 * What the broker sends is the certfile, or, when that holds the leaf alone, the leaf and what
 * OpenSSL finds for it in cafile (it builds the chain from its store; checked with mosquitto 2.0.11).
 * Devices are taken to trust the CA in cafile, as in every tutorial setup.
 */
static void check_chain(struct lint *L, const struct conf_listener *l, long cf_idx, long ca_idx)
{
	struct cref leaf = { cf_idx, 0 }, cur, iss;
	const struct conf_cert_file *cf, *caf;
	struct finding *f;
	bool same_name = false, found;
	long nb;

	if (ca_idx < 0 || L->out->certs[ca_idx].n_certs == 0)
		return; /* nothing says what devices trust: the issuer may be a root they hold */
	cf = &L->out->certs[cf_idx];
	caf = &L->out->certs[ca_idx];
	if (ci_of(L, leaf)->self_signed) {
		for (size_t i = 0; i < caf->n_certs; i++)
			if (!strcmp(caf->certs[i].sha256, cf->certs[0].sha256))
				return;
		f = add(L, l, false, "SELF_SIGNED_SERVER", cf->path, "The broker presents a self-signed certificate");
		detail(f, "%s in %s signed itself. Devices that trust the CA in cafile (%s) reject it; only a device "
		       "given this very certificate as its CA accepts it.", E(L, cf->certs[0].subject), E(L, cf->path),
		       subjects(L, caf));
		fix(f, "%s", reissue(L, l, &cf->certs[0], san_arg(L, &cf->certs[0], NULL, 0, NULL, 0)));
		seen(f, "%s", seen_untrusted);
		return;
	}
	cur = chain_end(L, cf_idx);
	if (ci_of(L, cur)->self_signed)
		return;
	found = find_issuer(L, cur, &ca_idx, 1, &iss, &same_name);
	if (found && (ci_of(L, iss)->self_signed || cf->n_certs == 1))
		return; /* a root the devices hold, or an intermediate OpenSSL adds from cafile */
	if (!found && same_name) {
		f = add(L, l, false, "WRONG_CA", cf->path, "The broker's certificate was signed by another CA with the "
			"same name as the one in cafile");
		detail(f, "%s names its issuer %s, and cafile %s holds a CA with that name, but that CA's key did not "
		       "sign it: the CA was made again (same name, new key). Devices that have the CA from cafile "
		       "reject the broker.", E(L, ci_of(L, cur)->subject), E(L, ci_of(L, cur)->issuer), E(L, caf->path));
		fix(f, "issue the broker certificate again from the CA in %s, or give the devices the CA that "
		    "signed it", E(L, caf->path));
		seen(f, "mosquitto_pub: \"Error: A TLS error occurred.\" (with -d: certificate verify failed); "
		     "ESP32 (mbedTLS): -0x2700 with verify flags 0x08 (NOT_TRUSTED)");
		return;
	}
	if (!found) {
		/* Perhaps an intermediate lies next to the certfile: load those files, then look again. */
		nb = neighbours(L, l, cf->path);
		cf = &L->out->certs[cf_idx];
		caf = &L->out->certs[ca_idx];
		/* The file that holds the issuer first and least else (intermediate.crt, not a fullchain). */
		for (long k = nb; nb >= 0 && k < (long)L->out->n_certs; k++) {
			struct cref r;
			if (find_issuer(L, cur, &k, 1, &r, NULL) && r.i == 0 &&
			    (!found || L->out->certs[k].n_certs < L->out->certs[iss.f].n_certs)) {
				iss = r;
				found = true;
			}
		}
	}
	if (found && !ci_of(L, iss)->self_issued) {
		const struct conf_cert_file *owner = &L->out->certs[iss.f];
		f = add(L, l, false, "INCOMPLETE_CHAIN", cf->path, "The broker does not send the intermediate %s",
			E(L, ci_of(L, iss)->subject));
		detail(f, "%s was issued by the intermediate %s (in %s), but the broker sends %s. A device that "
		       "trusts only the root cannot build the chain.", E(L, ci_of(L, cur)->subject),
		       E(L, ci_of(L, iss)->subject), E(L, owner->path),
		       cf->n_certs == 1 ? "its certificate alone (OpenSSL adds an intermediate from cafile, "
		       "and cafile does not hold this one)" : "the certfile as it is, without it");
		fix(f, "put the server certificate first and the intermediate after it in one file:\n"
		    "cat %s %s > %s.fullchain\nthen: certfile %s.fullchain  (at %s), and systemctl reload mosquitto",
		    E(L, cf->path), E(L, owner->path), E(L, cf->path), E(L, cf->path), at(L, l->certfile.at));
		seen(f, "%s", seen_untrusted);
		return;
	}
	f = add(L, l, false, "WRONG_CA", cf->path, "The broker's certificate does not lead to the CA in its cafile");
	detail(f, "%s was issued by %s, which is neither in certfile %s, nor in cafile %s (%s), nor next to the "
	       "certfile. Devices that trust the CA in cafile reject the broker: either %s is an intermediate "
	       "that certfile must carry, or the certificate comes from another CA.", E(L, ci_of(L, cur)->subject),
	       E(L, ci_of(L, cur)->issuer), E(L, cf->path), E(L, caf->path), subjects(L, caf),
	       E(L, ci_of(L, cur)->issuer));
	fix(f, "issue the broker certificate from the CA the devices trust (the one in %s), or append the "
	    "missing intermediate to %s", E(L, caf->path), E(L, cf->path));
	seen(f, "%s", seen_untrusted);
}

static void check_cafile(struct lint *L, const struct conf_listener *l, long *ca_idx)
{
	STACK_OF(X509) *sk = NULL;
	const struct conf_cert_file *caf;
	long idx = -1;
	struct mq_err err = { 0 };
	struct finding *f;
	bool der = false;
	int n;
	size_t not_ca = 0;

	*ca_idx = -1;
	if (!l->cafile.v)
		return;
	n = load_certs(L, l, "cafile", l->cafile.v, &sk, &idx, &der, &err);
	if (n < 0 || der) {
		f = add(L, l, true, "CAFILE_INVALID", l->cafile.v, "The broker's cafile %s cannot be loaded",
			E(L, l->cafile.v));
		detail(f, "%s names it: %s. mosquitto loads cafile as PEM at start and exits when it holds no "
		       "certificate.", at(L, l->cafile.at), der ? "it is DER, not PEM" : err.msg);
		fix(f, der ? "openssl x509 -inform DER -in %s -out %s.pem, then cafile %s.pem"
		    : "point cafile at the CA certificate (PEM, -----BEGIN CERTIFICATE-----) at %s%s%s",
		    der ? E(L, l->cafile.v) : at(L, l->cafile.at), der ? E(L, l->cafile.v) : "",
		    der ? E(L, l->cafile.v) : "");
		seen(f, "the broker does not start (TCP_REFUSED for every client); log: Error: Unable to load CA "
		     "certificates. Check cafile \"%s\".", E(L, l->cafile.v));
		return;
	}
	*ca_idx = idx;
	if (idx < 0)
		return;
	caf = &L->out->certs[idx];
	for (size_t i = 0; i < caf->n_certs; i++)
		not_ca += !caf->certs[i].is_ca;
	if (not_ca == 0 || not_ca < caf->n_certs)
		return;
	if (l->require_certificate.v != 1) {
		conf_msg_add(L->c, CONF_MSG_WARNING, l->cafile.at.file, l->cafile.at.line, "cafile %s holds no CA "
			     "certificate (%s is not a CA); it only matters once require_certificate is true",
			     E(L, l->cafile.v), E(L, caf->certs[0].subject));
		return;
	}
	f = add(L, l, false, "CAFILE_NOT_CA", l->cafile.v, "The broker's cafile %s is not a CA certificate",
		E(L, l->cafile.v));
	detail(f, "%s holds %s, which is not a CA (basicConstraints CA:FALSE or absent). With "
	       "require_certificate true the broker verifies device certificates against cafile, so every "
	       "device certificate is rejected.", E(L, l->cafile.v), E(L, caf->certs[0].subject));
	fix(f, "set cafile at %s to the CA that signs the device certificates (e.g. ca.crt, not the "
	    "broker's or a device's own certificate)", at(L, l->cafile.at));
	seen(f, "devices fail in the handshake (mbedTLS -0x7780 SSL - A fatal alert message was received); "
	     "broker log: OpenSSL Error[0]: ... certificate verify failed");
}

static void check_tls(struct lint *L, const struct conf_listener *l)
{
	STACK_OF(X509) *certs = NULL;
	const struct conf_cert_file *cf = NULL;
	struct mq_err err = { 0 };
	EVP_PKEY *pk = NULL;
	struct finding *f;
	bool der = false;
	int n;
	long ca_idx, cf_idx;
	enum key_state ks;
	const char *cert = l->certfile.v, *key = l->keyfile.v;

	check_cafile(L, l, &ca_idx);
	if (!cert || !key)
		return;
	n = load_certs(L, l, "certfile", cert, &certs, &cf_idx, &der, &err);
	cf = cf_idx >= 0 ? &L->out->certs[cf_idx] : NULL;
	if (n < 0 || der) {
		f = add(L, l, true, "BROKER_CANNOT_READ_FILE", cert, "The certfile %s holds no certificate mosquitto can "
			"load", E(L, cert));
		detail(f, "%s names it: %s. mosquitto reads certfile as PEM and exits when it cannot.",
		       at(L, l->certfile.at), der ? "it is a DER certificate" : err.msg);
		if (der)
			fix(f, "openssl x509 -inform DER -in %s -out %s.pem\nthen: certfile %s.pem  (at %s)", E(L, cert),
			    E(L, cert), E(L, cert), at(L, l->certfile.at));
		else
			fix(f, "point certfile at %s to the broker's PEM certificate (-----BEGIN CERTIFICATE-----)",
			    at(L, l->certfile.at));
		seen(f, "the broker does not start (TCP_REFUSED); log: Error: Unable to load server certificate "
		     "\"%s\". Check certfile.", E(L, cert));
		cf = NULL;
	}
	ks = load_key(key, &pk);
	if (ks == KEY_ENCRYPTED || ks == KEY_DER || ks == KEY_NONE) {
		f = add(L, l, true, "BROKER_CANNOT_READ_FILE", key, ks == KEY_ENCRYPTED ? "The keyfile %s is protected "
			"by a passphrase" : "The keyfile %s holds no private key mosquitto can load", E(L, key));
		if (ks == KEY_ENCRYPTED) {
			detail(f, "mosquitto asks for the passphrase on the terminal it was started from; started "
			       "by systemd it has none and exits.");
			fix(f, "openssl pkey -in %s -out %s.plain    # asks for the passphrase once\n"
			    "chgrp %s %s.plain\nchmod 640 %s.plain\nthen: keyfile %s.plain  (at %s)", E(L, key), E(L, key),
			    L->have_user ? L->user.group : "mosquitto", E(L, key), E(L, key), E(L, key),
			    at(L, l->keyfile.at));
		} else {
			detail(f, "%s names %s, which is %s.", at(L, l->keyfile.at), E(L, key),
			       ks == KEY_DER ? "a DER key (mosquitto reads PEM only)"
			       : "not a PEM private key (a certificate or something else?)");
			if (ks == KEY_DER)
				fix(f, "openssl pkey -inform DER -in %s -out %s.pem\nthen: keyfile %s.pem  (at %s)",
				    E(L, key), E(L, key), E(L, key), at(L, l->keyfile.at));
			else
				fix(f, "point keyfile at %s to the broker's private key (-----BEGIN PRIVATE KEY-----)",
				    at(L, l->keyfile.at));
		}
		seen(f, "the broker does not start (TCP_REFUSED); log: Error: Unable to load server key file "
		     "\"%s\". Check keyfile.", E(L, key));
	} else if (ks == KEY_OK && cf && n > 0 && X509_check_private_key(sk_X509_value(certs, 0), pk) != 1) {
		bool ca_first = cf->n_certs > 1 && cf->certs[0].is_ca;
		ERR_clear_error();
		f = add(L, l, true, "CONF_KEY_CERT_MISMATCH", key, "The keyfile %s does not belong to the certfile %s",
			E(L, key), E(L, cert));
		detail(f, "The public key in %s (%s, %s) is not the one of the private key in %s.%s mosquitto "
		       "checks this at start and exits.", E(L, cert), E(L, cf->certs[0].subject),
		       E(L, cf->certs[0].key), E(L, key), ca_first ? " The first certificate in certfile is a CA: "
		       "the server certificate must come first." : "");
		fix(f, "# find the pair whose two digests are equal:\n"
		    "openssl x509 -in %s -noout -pubkey | openssl sha256\n"
		    "openssl pkey -in %s -pubout | openssl sha256\n"
		    "# then name the matching files at %s and %s, or issue a new certificate for this key",
		    E(L, cert), E(L, key), at(L, l->certfile.at), at(L, l->keyfile.at));
		seen(f, "the broker does not start (TCP_REFUSED); log: Error: Unable to load server key file "
		     "\"%s\". Check keyfile. / OpenSSL Error[0]: error:05800074:x509 certificate routines::key "
		     "values mismatch", E(L, key));
	}
	EVP_PKEY_free(pk);
	ERR_clear_error();
	if (cf && cf->n_certs > 0) {
		check_validity(L, l, cf);
		check_purpose(L, l, cf);
		check_chain(L, l, cf_idx, ca_idx);
		cf = &L->out->certs[cf_idx];
		check_host_coverage(L, l, &cf->certs[0]);
		if (!cf->certs[0].has_san) {
			f = add(L, l, false, "NO_SAN", cert, "The broker certificate %s has no subjectAltName",
				E(L, cf->certs[0].subject));
			detail(f, "It names the broker only in its CN. OpenSSL and mbedTLS still fall back to the "
			       "CN, but Go, browsers and newer Python clients do not.");
			fix(f, "%s", reissue(L, l, &cf->certs[0], san_arg(L, &cf->certs[0], cf->certs[0].cn ? &cf->certs[0].cn : NULL,
									  cf->certs[0].cn ? 1 : 0, NULL, 0)));
		}
	}
}

/* ---- listener settings that contradict each other -------------------------------------------- */

static bool identity_in(const struct conf_listener *l)
{
	bool cert_id = l->certfile.v && l->keyfile.v && l->require_certificate.v == 1 &&
		       (l->use_identity_as_username.v == 1 || l->use_subject_as_username.v == 1);
	bool psk_id = l->psk_hint.v && l->use_identity_as_username.v == 1;
	return cert_id || psk_id;
}

static const char *seen_connack5 =
	"mosquitto_pub: \"Connection error: Connection Refused: not authorised.\"; PubSubClient state() 5 "
	"(MQTT_CONNECT_UNAUTHORIZED); broker log: \"Sending CONNACK to ... (0, 5)\" and \"Client <unknown> "
	"disconnected, not authorised.\"";

static bool refuses_all(struct lint *L, const struct conf_listener *l)
{
	const struct conf_security *s = conf_listener_security(L->c, l);

	if (L->o->only_port > 0 && l->port != L->o->only_port)
		return false;
	return !conf_listener_allows_anonymous(L->c, l) && !s->password_file.v && !s->n_plugins && !identity_in(l);
}

/*
 * Listeners nobody can log in to. Without per_listener_settings the cause and the fix are the
 * same for all of them (one global allow_anonymous), so they make one finding.
 */
static void check_anonymous(struct lint *L)
{
	struct conf *c = L->c;
	bool pls = c->per_listener_settings.v == 1;
	struct mq_str names = { 0 };
	const struct conf_listener *first = NULL;
	size_t n = 0;

	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct conf_listener *l = &c->listeners[i];
		const struct conf_security *s = conf_listener_security(c, l);
		struct finding *f;
		const char *who;

		if (!refuses_all(L, l))
			continue;
		if (!pls) {
			mq_str_printf(&names, "%s%s", n ? (i + 1 == c->n_listeners ? " and " : ", ") : "", label(L, l));
			if (!first)
				first = l;
			n++;
			continue;
		}
		who = label(L, l);
		f = add(L, l, false, "CONF_ANONYMOUS_UNSET", l->at.file, "%s will refuse every client", who);
		if (s->allow_anonymous.v == 0)
			detail(f, "allow_anonymous is false for it (%s) and it has no password_file, no plugin and no "
			       "certificate identity (require_certificate with use_identity_as_username), so no "
			       "client can log in.", at(L, s->allow_anonymous.at));
		else
			detail(f, "allow_anonymous is not set for this listener (per_listener_settings is true), and "
			       "mosquitto 2.x then refuses clients without a username; it has no password_file, no "
			       "plugin and no certificate identity (require_certificate with use_identity_as_username), "
			       "so every CONNECT is refused.%s", c->deflt.sec.allow_anonymous.v == 1 ? keep(L, sf(
			       " The allow_anonymous true at %s comes before any listener line, and with "
			       "per_listener_settings true it belongs to the default listener only.",
			       at(L, c->deflt.sec.allow_anonymous.at))) : "");
		fix(f, "to let clients in without credentials, add under the listener line at %s:\n"
		    "  allow_anonymous true\nor give them passwords:\n  mosquitto_passwd -c /etc/mosquitto/passwd DEVICE_NAME\n"
		    "  password_file /etc/mosquitto/passwd   (under the same listener)\nthen: systemctl restart mosquitto",
		    at(L, l->at));
		seen(f, "%s", seen_connack5);
	}
	if (first) {
		const struct conf_security *s = &c->sec;
		struct finding *f = add(L, first, false, "CONF_ANONYMOUS_UNSET", first->at.file, "%s will refuse every client",
					E(L, names.s));
		if (s->allow_anonymous.v == 0)
			detail(f, "allow_anonymous is false (%s) and there is no password_file, no plugin and no "
			       "certificate identity (require_certificate with use_identity_as_username), so no client "
			       "can log in.", at(L, s->allow_anonymous.at));
		else
			detail(f, "allow_anonymous is not set, and mosquitto 2.x then refuses clients without a username; "
			       "there is no password_file, no plugin and no certificate identity (require_certificate "
			       "with use_identity_as_username), so every CONNECT is refused.");
		fix(f, "to let clients in without credentials, add anywhere in the configuration "
		    "(per_listener_settings is false, so it applies to every listener):\n  allow_anonymous true\n"
		    "or give them passwords:\n  mosquitto_passwd -c /etc/mosquitto/passwd DEVICE_NAME\n"
		    "  password_file /etc/mosquitto/passwd\nthen: systemctl restart mosquitto");
		seen(f, "%s", seen_connack5);
	}
	mq_str_free(&names);
}

static void check_listener_tls_settings(struct lint *L, const struct conf_listener *l)
{
	struct conf *c = L->c;
	const struct conf_security *s = conf_listener_security(c, l);
	bool tls = conf_listener_is_tls(l);
	struct finding *f;

	if (!!l->certfile.v != !!l->keyfile.v) {
		const struct conf_str *set = l->certfile.v ? &l->certfile : &l->keyfile;
		f = add(L, l, false, "CONF_INCONSISTENT", set->at.file, "%s has a %s but no %s: it speaks plain MQTT",
			label(L, l), l->certfile.v ? "certfile" : "keyfile", l->certfile.v ? "keyfile" : "certfile");
		detail(f, "mosquitto turns TLS on only when both certfile and keyfile are set; with %s alone (%s) "
		       "the listener accepts plain MQTT and a TLS client fails in the handshake.",
		       l->certfile.v ? "certfile" : "keyfile", at(L, set->at));
		fix(f, "add the %s line next to %s", l->certfile.v ? "keyfile /path/to/broker.key"
		    : "certfile /path/to/broker.crt", at(L, set->at));
		seen(f, "mosquitto_pub --cafile ...: \"A TLS error occurred.\"; ESP32: mbedTLS -0x7200 (invalid "
		     "record) / PubSubClient rc=-2; mqttls diagnose: PLAINTEXT_PORT");
	} else if (!tls) {
		const struct {
			const char *name;
			bool set;
			struct conf_loc at;
		} tls_only[] = {
			{ "cafile", l->cafile.v, l->cafile.at },
			{ "capath", l->capath.v, l->capath.at },
			{ "require_certificate", l->require_certificate.v == 1, l->require_certificate.at },
			{ "use_identity_as_username", l->use_identity_as_username.v == 1, l->use_identity_as_username.at },
			{ "use_subject_as_username", l->use_subject_as_username.v == 1, l->use_subject_as_username.at },
			{ "tls_version", l->tls_version.v, l->tls_version.at },
			{ "ciphers", l->ciphers.v, l->ciphers.at },
			{ "ciphers_tls1.3", l->ciphers_tls13.v, l->ciphers_tls13.at },
			{ "crlfile", l->crlfile.v, l->crlfile.at },
		};
		for (size_t i = 0; i < MQ_ARRAY_LEN(tls_only); i++) {
			if (!tls_only[i].set)
				continue;
			f = add(L, l, false, "CONF_INCONSISTENT", tls_only[i].at.file, "%s is set on %s, which has no "
				"certfile/keyfile: the listener speaks plain MQTT", tls_only[i].name, label(L, l));
			detail(f, "%s (%s) only means something on a TLS listener, and mosquitto turns TLS on only with "
			       "certfile and keyfile. Devices that expect TLS here fail in the handshake.",
			       tls_only[i].name, at(L, tls_only[i].at));
			fix(f, "add certfile and keyfile to this listener, or remove %s at %s", tls_only[i].name,
			    at(L, tls_only[i].at));
			seen(f, "mosquitto_pub --cafile ...: \"A TLS error occurred.\"; mqttls diagnose: PLAINTEXT_PORT");
			break;
		}
	}
	if (tls && l->certfile.v && l->require_certificate.v == 1 && !l->cafile.v && !l->capath.v) {
		f = add(L, l, false, "CONF_INCONSISTENT", l->require_certificate.at.file, "%s requires client "
			"certificates but has no cafile or capath to verify them", label(L, l));
		detail(f, "require_certificate true (%s) makes the broker verify every device certificate, but "
		       "with no cafile/capath it trusts no CA, so every device certificate is rejected.",
		       at(L, l->require_certificate.at));
		fix(f, "add under the listener: cafile /path/to/the-ca-that-signs-device-certificates.crt");
		seen(f, "device: the handshake fails after it sends its certificate (mbedTLS -0x7780, fatal "
		     "alert); broker log: OpenSSL Error[0]: ... certificate verify failed");
	}
	if (tls && l->certfile.v && !l->psk_hint.v && l->require_certificate.v != 1 &&
	    (l->use_identity_as_username.v == 1 || l->use_subject_as_username.v == 1)) {
		const struct conf_bool *b = l->use_identity_as_username.v == 1 ? &l->use_identity_as_username
									      : &l->use_subject_as_username;
		f = add(L, l, false, "CONF_INCONSISTENT", b->at.file, "%s takes the username from the client "
			"certificate but does not ask for one", label(L, l));
		detail(f, "%s (%s) needs require_certificate true: without it the broker never asks for a "
		       "client certificate, has no identity to use, and refuses every client.",
		       l->use_identity_as_username.v == 1 ? "use_identity_as_username" : "use_subject_as_username",
		       at(L, b->at));
		fix(f, "add under the listener: require_certificate true   (and cafile with the devices' CA)");
		seen(f, "mosquitto_pub: \"Connection Refused: bad user name or password.\" (CONNACK 4); broker "
		     "log: \"Sending CONNACK to ... (0, 4)\"");
	}
	if (l->psk_hint.v && !s->psk_file.v) {
		f = add(L, l, false, "CONF_INCONSISTENT", l->psk_hint.at.file, "%s offers PSK (psk_hint) but has no "
			"psk_file", label(L, l));
		detail(f, "psk_hint (%s) turns on pre-shared-key TLS, but without psk_file the broker knows no "
		       "key, so every PSK handshake fails.", at(L, l->psk_hint.at));
		fix(f, "add psk_file /etc/mosquitto/psk (lines identity:hexkey)%s",
		    c->per_listener_settings.v == 1 ? " under this listener" : "");
		seen(f, "device: the handshake fails (unknown PSK identity); broker log: Client <unknown> "
		     "disconnected: Protocol error.");
	}
	if (tls && l->tls_version.v && strcmp(l->tls_version.v, "tlsv1.3") && strcmp(l->tls_version.v, "tlsv1.2") &&
	    strcmp(l->tls_version.v, "tlsv1.1")) {
		f = add(L, l, true, "CONF_INCONSISTENT", l->tls_version.at.file, "tls_version %s is not one mosquitto "
			"knows", E(L, l->tls_version.v));
		detail(f, "%s: mosquitto 2.0 accepts tlsv1.3, tlsv1.2 or tlsv1.1 (the lowest version allowed) and "
		       "exits on anything else when it opens the listener.", at(L, l->tls_version.at));
		fix(f, "tls_version tlsv1.2   (at %s)", at(L, l->tls_version.at));
		seen(f, "the broker does not start (TCP_REFUSED); log: Error: Unsupported tls_version \"%s\".",
		     E(L, l->tls_version.v));
	}
}

/* Listeners that want the same port and address: mosquitto exits with "Address already in use". */
static void check_ports(struct lint *L)
{
	struct conf *c = L->c;

	for (size_t i = 0; i < c->n_listeners; i++) {
		for (size_t j = i + 1; j < c->n_listeners; j++) {
			const struct conf_listener *a = &c->listeners[i], *b = &c->listeners[j];
			struct finding *f;
			if (a->port == 0 || a->port != b->port)
				continue;
			if (a->bind && b->bind && strcmp(a->bind, b->bind))
				continue;
			f = add(L, b, true, "CONF_INCONSISTENT", b->at.file, "Two listeners want port %d", a->port);
			detail(f, "%s (%s) and %s (%s) both bind port %d on %s; the second bind fails and mosquitto "
			       "exits.", label(L, a), at(L, a->at), label(L, b), at(L, b->at), a->port,
			       a->bind && b->bind ? "the same address" : "overlapping addresses");
			fix(f, "give one of them another port%s", b->origin == CONF_LISTENER_DEFAULT ?
			    " (the default listener comes from port/bind_address or from listener options "
			    "written before the first listener line)" : "");
			seen(f, "the broker does not start (TCP_REFUSED); log: Error: Address already in use");
			return;
		}
	}
}

/* Listener options before the first listener line open a second listener on 1883. */
static void check_default_listener(struct lint *L)
{
	struct conf *c = L->c;
	const struct conf_listener *d = NULL;
	size_t explicit_n = 0;
	struct finding *f;

	for (size_t i = 0; i < c->n_listeners; i++) {
		if (c->listeners[i].origin == CONF_LISTENER_DEFAULT)
			d = &c->listeners[i];
		else if (c->listeners[i].origin == CONF_LISTENER_EXPLICIT)
			explicit_n++;
	}
	if (!d || !explicit_n || !d->made_by || !strcmp(d->made_by, "port") || !strcmp(d->made_by, "bind_address"))
		return;
	f = add(L, d, false, "CONF_INCONSISTENT", d->at.file, "%s comes before any listener line: it configures "
		"an extra listener on port %d, not the listener below it", d->made_by, d->port);
	detail(f, "%s (%s) is a listener option written before the first listener line (in its own file: every "
	       "file starts outside any listener). mosquitto gives it to the default listener, which it then "
	       "opens on port %d on every interface%s, while the listener that follows does not get it.",
	       d->made_by, at(L, d->at), d->port, conf_listener_is_tls(d) ? " with TLS" : " without TLS");
	fix(f, "move the lines from %s down under the listener they are meant for (or repeat the listener "
	    "line at the top of an included file)", at(L, d->at));
	seen(f, "the log shows \"Opening ipv4 listen socket on port %d.\" for a port you did not ask for", d->port);
}

/* ---- warnings ---------------------------------------------------------------------------------- */

static void check_warnings(struct lint *L)
{
	struct conf *c = L->c;
	const struct conf_listener *tls_l = NULL;
	struct finding *f;

	for (size_t i = 0; i < c->n_listeners && !tls_l; i++)
		if (conf_listener_is_tls(&c->listeners[i]))
			tls_l = &c->listeners[i];
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct conf_listener *l = &c->listeners[i];
		const struct conf_security *s = conf_listener_security(c, l);

		if (tls_l && !conf_listener_is_tls(l) && !l->bind && l->port && l->origin != CONF_LISTENER_LOCAL_ONLY &&
		    (!l->protocol.v || !strcmp(l->protocol.v, "mqtt"))) {
			f = add(L, l, false, "CONF_PLAINTEXT_EXPOSED", l->at.file, "%s speaks plain MQTT next to the TLS "
				"%s", label(L, l), label(L, tls_l));
			detail(f, "Anything that reaches this host can skip TLS by connecting to port %d: passwords "
			       "and messages cross the network in clear%s.", l->port,
			       conf_listener_allows_anonymous(c, l) ? ", and no credentials are needed" : "");
			fix(f, "bind it to loopback for local tools (listener %d 127.0.0.1), or remove it", l->port);
		}
		if (conf_listener_is_tls(l) && l->tls_version.v && !strcmp(l->tls_version.v, "tlsv1.3")) {
			f = add(L, l, false, "CONF_TLS_VERSION_PINNED", l->tls_version.at.file, "%s accepts TLS 1.3 only",
				label(L, l));
			detail(f, "tls_version tlsv1.3 (%s) is the lowest version mosquitto 2.0 allows, so TLS 1.2 "
			       "devices cannot connect: ESP8266, and ESP32 builds on mbedTLS 2.x (Arduino-ESP32 before 3.0).",
			       at(L, l->tls_version.at));
			fix(f, "tls_version tlsv1.2   (allows 1.2 and 1.3; at %s)", at(L, l->tls_version.at));
			seen(f, "a TLS 1.2 client gets a protocol_version alert (70; mbedTLS -0x7780); broker log: "
			     "OpenSSL Error[0]: ... unsupported protocol; mqttls diagnose --tls-max tlsv1.2: "
			     "TLS_VERSION_MISMATCH");
		} else if (conf_listener_is_tls(l) && l->tls_version.v && !strcmp(l->tls_version.v, "tlsv1.1")) {
			f = add(L, l, false, "WEAK_TLS", l->tls_version.at.file, "%s accepts TLS 1.1", label(L, l));
			detail(f, "tls_version tlsv1.1 (%s) lets clients negotiate TLS 1.1, deprecated since 2021 "
			       "(RFC 8996).", at(L, l->tls_version.at));
			fix(f, "tls_version tlsv1.2   (at %s)", at(L, l->tls_version.at));
		}
		if (!s->acl_file.v && !s->n_plugins && (identity_in(l) || (s->password_file.v && l->origin !=
									      CONF_LISTENER_LOCAL_ONLY))) {
			f = add(L, l, false, "CONF_NO_ACL", l->at.file, "Every client of %s may read and write every topic",
				label(L, l));
			detail(f, "Clients authenticate with their own identity (%s) but no acl_file limits them: "
			       "one stolen device key or password reads and commands every other device.",
			       identity_in(l) ? "certificate or PSK identity" : "password_file");
			fix(f, "acl_file /etc/mosquitto/acl%s, with e.g.\n  pattern readwrite devices/%%u/#\n"
			    "  user admin\n  topic readwrite #", c->per_listener_settings.v == 1 ? " under this listener" : "");
		}
	}
}

/* ---- the whole run ------------------------------------------------------------------------------ */

static void fatal_messages(struct lint *L)
{
	struct conf *c = L->c;
	size_t n_fatal = 0, n_error = 0;

	for (size_t i = 0; i < c->n_msgs; i++) {
		const struct conf_msg *m = &c->msgs[i];
		struct finding *f;
		if (m->level == CONF_MSG_FATAL && n_fatal++ == 0) {
			f = add(L, NULL, true, "CONF_INCONSISTENT", m->at.file, "mosquitto will not start: %s:%d: %s",
				E(L, m->at.file ? m->at.file : "?"), m->at.line, m->text);
			detail(f, "mosquitto 2.0 stops at the first line it cannot accept and exits (\"Error found at "
			       "%s:%d.\").", E(L, m->at.file ? m->at.file : "?"), m->at.line);
			fix(f, "correct line %d of %s", m->at.line, E(L, m->at.file ? m->at.file : "?"));
			seen(f, "the broker does not start, so every client sees TCP_REFUSED (PubSubClient rc=-2)");
		} else if (m->level == CONF_MSG_ERROR && n_error++ < 20) {
			f = add(L, NULL, false, "CONF_INCONSISTENT", m->at.file, "%s:%d: %s",
				E(L, m->at.file ? m->at.file : "?"), m->at.line, m->text);
			fix(f, "correct line %d of %s", m->at.line, E(L, m->at.file ? m->at.file : "?"));
		}
	}
	if (n_fatal > 1)
		conf_msg_add(c, CONF_MSG_INFO, NULL, 0, "%zu more line%s that mosquitto would refuse %s listed "
			     "among the messages", n_fatal - 1, n_fatal == 2 ? "" : "s", n_fatal == 2 ? "is" : "are");
}

static void check_listener_files(struct lint *L, const struct conf_listener *l)
{
	if (conf_listener_is_tls(l)) {
		check_file(L, l, "cafile", &l->cafile);
		check_file(L, l, "capath", &l->capath);
		check_file(L, l, "certfile", &l->certfile);
		check_file(L, l, "keyfile", &l->keyfile);
		check_file(L, l, "crlfile", &l->crlfile);
		check_file(L, l, "dhparamfile", &l->dhparamfile);
	}
}

static void check_security_files(struct lint *L, const struct conf_security *s, const struct conf_listener *l)
{
	check_file(L, l, "password_file", &s->password_file);
	check_file(L, l, "acl_file", &s->acl_file);
	check_file(L, l, "psk_file", &s->psk_file);
	for (size_t i = 0; i < s->n_plugins; i++)
		check_file(L, l, "plugin", &s->plugins[i]);
}

int conf_lint_file(const char *path, const struct conf_lint_opts *o, struct conf_lint *out, struct mq_err *err)
{
	static const struct conf_lint_opts none = { 0 };
	struct lint L = { .out = out, .o = o ? o : &none };
	struct conf *c = &out->conf;
	int rc;

	memset(out, 0, sizeof *out);
	conf_init(c);
	L.c = c;
	L.now = L.o->now ? L.o->now : (long long)time(NULL);
	rc = conf_read_file(c, path, err);
	if (rc < 0)
		return -1;
	fatal_messages(&L);
	pick_user(&L);
	/* Files first: an unreadable one stops the broker before anything else matters. */
	if (c->per_listener_settings.v != 1)
		check_security_files(&L, &c->sec, NULL);
	for (size_t i = 0; i < c->n_listeners; i++) {
		check_listener_files(&L, &c->listeners[i]);
		if (c->per_listener_settings.v == 1)
			check_security_files(&L, &c->listeners[i].sec, &c->listeners[i]);
	}
	for (size_t i = 0; i < c->n_listeners; i++)
		if (conf_listener_is_tls(&c->listeners[i]))
			check_tls(&L, &c->listeners[i]);
	check_ports(&L);
	for (size_t i = 0; i < c->n_listeners; i++)
		check_listener_tls_settings(&L, &c->listeners[i]);
	check_default_listener(&L);
	check_anonymous(&L);
	if (c->per_listener_settings.v != 1) {
		check_secret_mode(&L, NULL, "psk_file", &c->sec.psk_file);
		check_secret_mode(&L, NULL, "password_file", &c->sec.password_file);
	}
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct conf_listener *l = &c->listeners[i];
		if (conf_listener_is_tls(l))
			check_secret_mode(&L, l, "keyfile", &l->keyfile);
		if (c->per_listener_settings.v == 1) {
			check_secret_mode(&L, l, "psk_file", &l->sec.psk_file);
			check_secret_mode(&L, l, "password_file", &l->sec.password_file);
		}
	}
	check_warnings(&L);
	check_log_files(&L);
	findings_sort(&out->findings);
	for (size_t i = 0; i < L.n_arena; i++)
		free(L.arena[i]);
	free(L.arena);
	for (size_t i = 0; i < L.n_checked; i++)
		free(L.checked[i]);
	free(L.checked);
	for (size_t i = 0; i < L.n_blocked; i++) {
		free(L.blocked[i].dir);
		free(L.blocked[i].opts);
	}
	for (size_t i = 0; i < out->n_certs; i++)
		sk_X509_pop_free(L.sks[i], X509_free);
	free(L.sks);
	fsaccess_user_free(&L.user);
	return 0;
}

void conf_lint_free(struct conf_lint *l)
{
	if (!l)
		return;
	conf_free(&l->conf);
	findings_free(&l->findings);
	free(l->user);
	free(l->user_note);
	for (size_t i = 0; i < l->n_certs; i++) {
		for (size_t k = 0; k < l->certs[i].n_certs; k++)
			cert_info_free(&l->certs[i].certs[k]);
		free(l->certs[i].certs);
		free(l->certs[i].path);
	}
	free(l->certs);
	memset(l, 0, sizeof *l);
}

/* ---- output ------------------------------------------------------------------------------------ */

static const char *origin_name(enum conf_listener_origin o)
{
	switch (o) {
	case CONF_LISTENER_DEFAULT: return "default";
	case CONF_LISTENER_LOCAL_ONLY: return "local_only";
	default: return "listener";
	}
}

static void add_opt_str(cJSON *o, const char *k, const struct conf_str *s)
{
	if (s->v) {
		char *e = mq_escape_dup(s->v, strlen(s->v));
		cJSON_AddStringToObject(o, k, e ? e : "");
		free(e);
	}
}

static const struct conf_cert_file *cert_file_for(const struct conf_lint *l, int port, const char *role_name)
{
	for (size_t i = 0; i < l->n_certs; i++)
		if (l->certs[i].port == port && !strcmp(l->certs[i].role, role_name))
			return &l->certs[i];
	return NULL;
}

cJSON *conf_lint_to_json(const struct conf_lint *l)
{
	const struct conf *c = &l->conf;
	cJSON *j = cJSON_CreateObject(), *a, *o, *u;
	const struct conf_cert_file *first = NULL;

	cJSON_AddStringToObject(j, "tool", "mqttls");
	cJSON_AddStringToObject(j, "version", MQTTLS_VERSION);
	if (c->n_files) {
		char *e = mq_escape_dup(c->files[0].path, strlen(c->files[0].path));
		cJSON_AddStringToObject(j, "file", e ? e : "");
		free(e);
	}
	cJSON_AddBoolToObject(j, "ok", !findings_has_error(&l->findings));
	u = cJSON_AddObjectToObject(j, "user");
	cJSON_AddStringToObject(u, "name", l->user ? l->user : "");
	cJSON_AddBoolToObject(u, "exists", l->user_exists);
	if (l->user_note)
		cJSON_AddStringToObject(u, "note", l->user_note);
	cJSON_AddBoolToObject(j, "per_listener_settings", c->per_listener_settings.v == 1);
	a = cJSON_AddArrayToObject(j, "files");
	for (size_t i = 0; i < c->n_files; i++) {
		char *e = mq_escape_dup(c->files[i].path, strlen(c->files[i].path));
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", e ? e : "");
		cJSON_AddNumberToObject(o, "lines", c->files[i].lines);
		cJSON_AddBoolToObject(o, "included", c->files[i].included);
		cJSON_AddItemToArray(a, o);
		free(e);
	}
	a = cJSON_AddArrayToObject(j, "listeners");
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct conf_listener *li = &c->listeners[i];
		const struct conf_cert_file *cf = cert_file_for(l, li->port, "certfile");
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "port", li->port);
		if (li->bind) {
			char *e = mq_escape_dup(li->bind, strlen(li->bind));
			cJSON_AddStringToObject(o, "bind", e ? e : "");
			free(e);
		} else {
			cJSON_AddNullToObject(o, "bind");
		}
		cJSON_AddStringToObject(o, "origin", origin_name(li->origin));
		if (li->at.file) {
			char *e = mq_escape_dup(li->at.file, strlen(li->at.file));
			cJSON_AddStringToObject(o, "file", e ? e : "");
			cJSON_AddNumberToObject(o, "line", li->at.line);
			free(e);
		}
		cJSON_AddBoolToObject(o, "tls", conf_listener_is_tls(li));
		cJSON_AddBoolToObject(o, "anonymous", conf_listener_allows_anonymous(c, li));
		add_opt_str(o, "certfile", &li->certfile);
		add_opt_str(o, "keyfile", &li->keyfile);
		add_opt_str(o, "cafile", &li->cafile);
		add_opt_str(o, "capath", &li->capath);
		add_opt_str(o, "tls_version", &li->tls_version);
		cJSON_AddBoolToObject(o, "require_certificate", li->require_certificate.v == 1);
		cJSON_AddBoolToObject(o, "use_identity_as_username", li->use_identity_as_username.v == 1);
		add_opt_str(o, "password_file", &conf_listener_security(c, li)->password_file);
		add_opt_str(o, "acl_file", &conf_listener_security(c, li)->acl_file);
		if (cf) {
			cJSON_AddItemToObject(o, "chain", chain_to_json(cf->certs, cf->n_certs));
			if (!first)
				first = cf;
		}
		cJSON_AddItemToArray(a, o);
	}
	a = cJSON_AddArrayToObject(j, "messages");
	for (size_t i = 0; i < c->n_msgs; i++) {
		const struct conf_msg *m = &c->msgs[i];
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "level", conf_msg_level_name(m->level));
		if (m->at.file) {
			char *e = mq_escape_dup(m->at.file, strlen(m->at.file));
			cJSON_AddStringToObject(o, "file", e ? e : "");
			cJSON_AddNumberToObject(o, "line", m->at.line);
			free(e);
		}
		cJSON_AddStringToObject(o, "text", m->text);
		cJSON_AddItemToArray(a, o);
	}
	if (c->n_msgs_dropped)
		cJSON_AddNumberToObject(j, "messages_dropped", (double)c->n_msgs_dropped);
	cJSON_AddItemToObject(j, "chain", first ? chain_to_json(first->certs, first->n_certs) : cJSON_CreateArray());
	cJSON_AddItemToObject(j, "findings", findings_to_json(&l->findings));
	return j;
}

int conf_lint_append(const char *path, int port, struct findings *fs, char *certfile_sha256, struct mq_err *err)
{
	struct conf_lint_opts o = { .only_port = port };
	struct conf_lint l;
	const struct conf_cert_file *cf;

	if (certfile_sha256)
		certfile_sha256[0] = '\0';
	if (conf_lint_file(path, &o, &l, err) < 0) {
		conf_lint_free(&l);
		return -1;
	}
	for (size_t i = 0; i < l.findings.n; i++) {
		const struct finding *src = &l.findings.v[i];
		struct finding *f = findings_add(fs, src->id, src->title, src->detail, src->fix);
		f->stops_broker = src->stops_broker;
		if (src->seen)
			finding_set_seen(f, "%s", src->seen);
		if (src->path)
			finding_set_path(f, src->path);
	}
	cf = cert_file_for(&l, port, "certfile");
	if (certfile_sha256 && cf && cf->n_certs)
		snprintf(certfile_sha256, 96, "%s", cf->certs[0].sha256);
	conf_lint_free(&l);
	return 0;
}
