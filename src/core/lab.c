/*
 * lab — the catalog of labs (read from the data dir), their setup in the state directory,
 * and their brokers.
 *
 * Starting a lab is always the same steps, whatever its definition says: the shared lab PKI
 * (made or refreshed), the pieces the lab takes from it, free ports, the student's files from
 * the templates with the modes and owners the fault needs, the broker on the student's
 * configuration, the state files. What differs between labs is data (labs/NN-name/lab.def).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lab-int.h"
#include "mqttls/broker.h"
#include "mqttls/chain.h"
#include "mqttls/gate.h"
#include "mqttls/lab.h"
#include "mqttls/mitmlab.h"
#include "mqttls/mitmnet.h"
#include "mqttls/pki.h"
#include "mqttls/util.h"

/* How far above a lab's first port to look, and how often to retry a port lost to a race. */
#define PORT_SPAN      100
#define BIND_RETRIES   5
#define START_WAIT_MS  5000
/* The broker certificate is re-issued when it has less than this left. */
#define REFRESH_DAYS   7
#define MAX_LABS       100
/* Bounds of the fingerprint walk over a student's directory. */
#define FP_MAX_ENTRIES 512
#define FP_MAX_DEPTH   4
#define FP_MAX_FILE    (1u << 20)

/* ---- processes beside a lab's broker ------------------------------------------------------ */

/* A lab's "companions" name one row: what runs beside its broker, started after it. */
static const struct companions {
	const char *name;
	int (*start)(const struct lab_info *broker, struct mq_err *err);
	void (*stop)(const struct lab_info *broker);
	char *(*describe)(const struct lab_info *broker);
} companion_sets[] = {
	{ "mitm", mitmlab_start, mitmlab_stop, mitmlab_describe },
	{ NULL, NULL, NULL, NULL },
};

static const struct companions *companions_of(const struct labdef *d)
{
	for (size_t i = 0; d->companions && companion_sets[i].name; i++)
		if (!strcmp(companion_sets[i].name, d->companions))
			return &companion_sets[i];
	return NULL;
}

/* ---- the catalog ---------------------------------------------------------------------------- */

static struct {
	bool loaded;
	struct lab_def *v;
	struct labdef *defs;
	size_t n;
	char **errors;      /* NULL-terminated */
	size_t n_errors;
} cat;

static void cat_error(const char *fmt, ...) MQ_PRINTF(1, 2);

static void cat_error(const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	char **v;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	v = realloc(cat.errors, (cat.n_errors + 2) * sizeof *v);
	if (!v)
		return;
	cat.errors = v;
	v[cat.n_errors++] = strdup(buf);
	v[cat.n_errors] = NULL;
}

static int by_number(const void *a, const void *b)
{
	return ((const struct labdef *)a)->number - ((const struct labdef *)b)->number;
}

/* "02-ip-san": two digits, '-', the lab's name. */
static bool dirname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 4 || n > 60 || !(s[0] >= '0' && s[0] <= '9') || !(s[1] >= '0' && s[1] <= '9') || s[2] != '-')
		return false;
	for (size_t i = 3; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static bool cat_accept(const struct labdef *d, const char *dirname, const char *path)
{
	char want[80];

	snprintf(want, sizeof want, "%02d-%s", d->number, d->name);
	if (strcmp(want, dirname)) {
		cat_error("%s: a lab numbered %d and named '%s' belongs in labs/%s", path, d->number, d->name, want);
		return false;
	}
	if (d->companions && !companions_of(d)) {
		cat_error("%s: no companions named '%s' in this build", path, d->companions);
		return false;
	}
	for (size_t i = 0; i < cat.n; i++)
		if (cat.defs[i].number == d->number || !strcmp(cat.defs[i].name, d->name)) {
			cat_error("%s: lab %d '%s' is defined twice", path, d->number, d->name);
			return false;
		}
	return true;
}

static void cat_load(void)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent **ents = NULL;
	int n;

	if (cat.loaded)
		return;
	cat.loaded = true;
	cat.defs = calloc(MAX_LABS, sizeof *cat.defs);
	if (!cat.defs || !mq_path_join(dir, sizeof dir, mq_data_dir(), "labs"))
		return;
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0) {
		cat_error("cannot read the labs in %s: %s", dir, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		struct mq_err e = { 0 };
		struct labdef d;
		char sub[PATH_MAX];

		if (!dirname_ok(ents[i]->d_name) || !mq_path_join(sub, sizeof sub, dir, ents[i]->d_name) ||
		    !mq_path_join(path, sizeof path, sub, "lab.def") || !mq_file_exists(path))
			continue;
		if (cat.n >= MAX_LABS) {
			cat_error("%s: more than %d labs; the rest are ignored", dir, MAX_LABS);
			break;
		}
		if (labdef_load(&d, path, &e) < 0) {
			cat_error("%s", e.msg);
			continue;
		}
		if (!cat_accept(&d, ents[i]->d_name, path)) {
			labdef_free(&d);
			continue;
		}
		cat.defs[cat.n++] = d;
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	qsort(cat.defs, cat.n, sizeof *cat.defs, by_number);
	cat.v = calloc(cat.n ? cat.n : 1, sizeof *cat.v);
	if (!cat.v) {
		cat.n = 0;
		return;
	}
	for (size_t i = 0; i < cat.n; i++) {
		const struct labdef *d = &cat.defs[i];
		struct lab_def *p = &cat.v[i];
		char dn[80], rd[PATH_MAX];

		snprintf(dn, sizeof dn, "%02d-%s", d->number, d->name);
		p->number = d->number;
		p->name = d->name;
		p->dirname = strdup(dn);
		p->title = d->title;
		p->tutorial = d->tutorial;
		p->summary = d->summary;
		p->readme = mq_path_join(path, sizeof path, dir, dn) && mq_path_join(rd, sizeof rd, path, "README.md")
				    ? strdup(rd)
				    : NULL;
		p->n_hints = d->n_hints;
		p->n_checks = d->n_probes;
		p->needs_root = d->needs_root;
		p->def = d;
	}
}

const struct lab_def *lab_defs(size_t *n)
{
	cat_load();
	*n = cat.n;
	return cat.v;
}

const char *const *lab_catalog_errors(void)
{
	static const char *const none[] = { NULL };

	cat_load();
	return cat.errors ? (const char *const *)cat.errors : none;
}

const struct lab_def *lab_find(const char *name)
{
	char *end;
	long num;

	cat_load();
	if (!name || !*name)
		return NULL;
	num = strtol(name, &end, 10);
	for (size_t i = 0; i < cat.n; i++) {
		const struct lab_def *d = &cat.v[i];
		if (!strcmp(d->name, name) || !strcmp(d->dirname, name) ||
		    (!*end && end - name <= 3 && num == d->number))
			return d;
	}
	return NULL;
}

static const struct lab_def *find_or_err(const char *name, struct mq_err *err)
{
	const struct lab_def *d = lab_find(name);
	struct mq_str s = { 0 };

	if (d)
		return d;
	for (size_t i = 0; i < cat.n; i++)
		mq_str_printf(&s, "%s%s", i ? ", " : "", cat.v[i].name);
	if (cat.n == 0)
		mq_errf(err, "there is no lab '%s': no lab definitions were found in %s/labs", name ? name : "",
			mq_data_dir());
	else
		mq_errf(err, "there is no lab '%s' (labs: %s)", name ? name : "", s.s);
	mq_str_free(&s);
	return NULL;
}

/* ---- templates and paths -------------------------------------------------------------------- */

const char *labctx_lookup(void *ctx, const char *name)
{
	const struct lab_ctx *c = ctx;
	const struct labdef *d = c->d;

	for (size_t i = 0; i < d->n_ports; i++)
		if (!strcmp(d->ports[i].name, name))
			return c->portstr[i];
	if (!strcmp(name, "ip"))
		return c->ip;
	if (!strcmp(name, "host"))
		return c->host;
	if (!strcmp(name, "server"))
		return c->lab_bind[0] ? c->ip : "localhost";
	if (!strcmp(name, "dir"))
		return c->workdir;
	if (!strcmp(name, "labdir"))
		return c->labdir;
	if (!strcmp(name, "pki"))
		return c->pkidir;
	if (!strcmp(name, "name"))
		return d->name;
	if (!strcmp(name, "ipv6"))
		return c->ipv6 ? "yes" : "";
	return labdef_var(d, name);
}

char *labctx_expand(struct lab_ctx *c, const char *tmpl, struct mq_err *err)
{
	struct mq_err e = { 0 };
	char *s = labdef_expand(tmpl, labctx_lookup, c, &e);

	if (!s)
		mq_errf(err, "lab '%s': %s", c->d->name, e.msg);
	return s;
}

char *labctx_path(const struct lab_ctx *c, const char *rel, char *buf, size_t size)
{
	if (rel[0] == '/') {
		if ((size_t)snprintf(buf, size, "%s", rel) >= size)
			return NULL;
		return buf;
	}
	return mq_path_join(buf, size, c->workdir, rel);
}

static void set_port(struct lab_ctx *c, size_t i, int port)
{
	c->ports[i] = port;
	snprintf(c->portstr[i], sizeof c->portstr[i], "%d", port & 0xffff);
}

static void expand_host(struct lab_ctx *c)
{
	char *h;

	c->host[0] = '\0';
	h = labdef_expand(c->d->host, labctx_lookup, c, NULL);
	snprintf(c->host, sizeof c->host, "%s", h ? h : c->ip);
	free(h);
}

static char *expand_or_empty(struct lab_ctx *c, const char *tmpl, char *buf, size_t size)
{
	char *s = tmpl ? labdef_expand(tmpl, labctx_lookup, c, NULL) : NULL;

	snprintf(buf, size, "%s", s ? s : "");
	free(s);
	return buf;
}

/* ---- lab.json and state.json ---------------------------------------------------------------- */

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static double json_num(const cJSON *o, const char *key, double lo, double hi, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi ? v->valuedouble : dflt;
}

static bool hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static bool ip_literal(const char *s)
{
	unsigned char buf[16];

	return s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

/* A JSON file mqttls wrote; NULL when missing or unreadable (then it is ignored: set up afresh). */
static cJSON *read_json(const struct lab_ctx *c, const char *file)
{
	char path[PATH_MAX], *text = NULL;
	cJSON *j;

	if (!mq_path_join(path, sizeof path, c->labdir, file) || !mq_file_exists(path) ||
	    mq_read_file(path, 64 * 1024, &text, NULL, NULL) < 0)
		return NULL;
	j = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static void read_setup(struct lab_ctx *c)
{
	cJSON *j = read_json(c, "lab.json");
	const cJSON *ports;
	const char *s;
	bool all_ports = true;
	struct stat st;

	if (!j)
		return;
	ports = cJSON_GetObjectItemCaseSensitive(j, "ports");
	for (size_t i = 0; i < c->d->n_ports; i++) {
		int p = (int)json_num(ports, c->d->ports[i].name, 1, 65535, 0);
		if (p)
			set_port(c, i, p);
		else
			all_ports = false;
	}
	if ((s = json_str(j, "ip")) && ip_literal(s))
		snprintf(c->ip, sizeof c->ip, "%s", s);
	if ((s = json_str(j, "lab_bind")) && strlen(s) < sizeof c->lab_bind)
		snprintf(c->lab_bind, sizeof c->lab_bind, "%s", s);
	c->ipv6 = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ipv6"));
	c->netns = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "netns"));
	if ((s = json_str(j, "setup_fp")) && hex64(s))
		snprintf(c->setup_fp, sizeof c->setup_fp, "%s", s);
	c->active = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "active"));
	c->hints = (size_t)json_num(j, "hints", 0, (double)c->d->n_hints, 0);
	c->last_check = (int)json_num(j, "last_check", -1, 1, -1);
	c->last_check_at = (long long)json_num(j, "last_check_at", 0, 1e12, 0);
	if ((s = json_str(j, "broker_error")))
		snprintf(c->broker_error, sizeof c->broker_error, "%s", s);
	cJSON_Delete(j);
	c->have_setup = c->setup_fp[0] && all_ports && stat(c->workdir, &st) == 0 && S_ISDIR(st.st_mode);
	if (!c->have_setup)
		c->active = false;
}

static void read_state(struct lab_ctx *c)
{
	cJSON *j = read_json(c, "state.json");
	const char *s;

	if (!j)
		return;
	c->pid = (pid_t)json_num(j, "pid", 2, 1 << 30, 0);
	c->started = (long long)json_num(j, "started_unix", 0, 1e12, 0);
	if ((s = json_str(j, "broker_fp")) && hex64(s))
		snprintf(c->broker_fp, sizeof c->broker_fp, "%s", s);
	cJSON_Delete(j);
}

static int write_json(const struct lab_ctx *c, const char *file, cJSON *j, struct mq_err *err)
{
	char path[PATH_MAX] = "", what[128];

	if (!mq_path_join(path, sizeof path, c->labdir, file))
		path[0] = '\0';
	snprintf(what, sizeof what, "the state of lab '%s'", c->d->name);
	return mq_write_json(path, j, what, err);
}

int labctx_save(struct lab_ctx *c, struct mq_err *err)
{
	cJSON *j = cJSON_CreateObject(), *ports = cJSON_AddObjectToObject(j, "ports");

	cJSON_AddStringToObject(j, "name", c->d->name);
	cJSON_AddNumberToObject(j, "number", c->d->number);
	for (size_t i = 0; i < c->d->n_ports; i++)
		if (c->ports[i])
			cJSON_AddNumberToObject(ports, c->d->ports[i].name, c->ports[i]);
	cJSON_AddStringToObject(j, "ip", c->ip);
	cJSON_AddStringToObject(j, "lab_bind", c->lab_bind);
	cJSON_AddBoolToObject(j, "ipv6", c->ipv6);
	cJSON_AddBoolToObject(j, "netns", c->netns);
	cJSON_AddStringToObject(j, "setup_fp", c->setup_fp);
	cJSON_AddBoolToObject(j, "active", c->active);
	cJSON_AddNumberToObject(j, "hints", (double)c->hints);
	cJSON_AddNumberToObject(j, "last_check", c->last_check);
	cJSON_AddNumberToObject(j, "last_check_at", (double)c->last_check_at);
	cJSON_AddStringToObject(j, "broker_error", c->broker_error);
	if (mq_mkdir_p(c->labdir, 0755, err) < 0) {
		cJSON_Delete(j);
		return -1;
	}
	return write_json(c, "lab.json", j, err);
}

static void fill_info(struct lab_ctx *c, struct lab_info *info)
{
	memset(info, 0, sizeof *info);
	snprintf(info->name, sizeof info->name, "%s", c->d->name);
	info->number = c->d->number;
	info->active = c->active;
	info->running = labctx_broker_running(c);
	info->pid = info->running ? c->pid : 0;
	info->port = c->ports[0];
	info->plain_port = c->d->n_ports > 1 ? c->ports[1] : 0;
	info->ipv6 = c->ipv6;
	info->netns = c->netns;
	snprintf(info->host, sizeof info->host, "%s", c->host);
	snprintf(info->ip, sizeof info->ip, "%s", c->ip);
	snprintf(info->lab_bind, sizeof info->lab_bind, "%s", c->lab_bind);
	expand_or_empty(c, c->d->cafile, info->cafile, sizeof info->cafile);
	expand_or_empty(c, c->d->certfile, info->certfile, sizeof info->certfile);
	expand_or_empty(c, c->d->keyfile, info->keyfile, sizeof info->keyfile);
	snprintf(info->dir, sizeof info->dir, "%s", c->labdir);
	snprintf(info->workdir, sizeof info->workdir, "%s", c->workdir);
	snprintf(info->conf, sizeof info->conf, "%s", c->conf);
	snprintf(info->log, sizeof info->log, "%s", c->log);
	if (!info->running)
		snprintf(info->broker_error, sizeof info->broker_error, "%s", c->broker_error);
	info->started = info->running ? c->started : 0;
	info->hints_shown = c->hints;
	info->n_hints = c->d->n_hints;
	info->last_check = c->last_check;
}

cJSON *lab_info_to_json(const struct lab_info *info)
{
	cJSON *o = cJSON_CreateObject();
	char t[32];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", info->name);
	cJSON_AddNumberToObject(o, "number", info->number);
	cJSON_AddBoolToObject(o, "active", info->active);
	cJSON_AddBoolToObject(o, "running", info->running);
	cJSON_AddNumberToObject(o, "pid", info->pid);
	cJSON_AddNumberToObject(o, "port", info->port);
	if (info->plain_port)
		cJSON_AddNumberToObject(o, "plain_port", info->plain_port);
	cJSON_AddStringToObject(o, "host", info->host);
	cJSON_AddStringToObject(o, "ip", info->ip);
	cJSON_AddStringToObject(o, "lab_bind", info->lab_bind);
	cJSON_AddBoolToObject(o, "ipv6", info->ipv6);
	cJSON_AddBoolToObject(o, "netns", info->netns);
	cJSON_AddStringToObject(o, "cafile", info->cafile);
	cJSON_AddStringToObject(o, "certfile", info->certfile);
	cJSON_AddStringToObject(o, "keyfile", info->keyfile);
	cJSON_AddStringToObject(o, "dir", info->dir);
	cJSON_AddStringToObject(o, "workdir", info->workdir);
	cJSON_AddStringToObject(o, "conf", info->conf);
	cJSON_AddStringToObject(o, "log", info->log);
	cJSON_AddStringToObject(o, "broker_error", info->broker_error);
	cJSON_AddStringToObject(o, "started", info->started ? mq_iso8601(info->started, t, sizeof t) : "");
	cJSON_AddNumberToObject(o, "started_unix", (double)info->started);
	cJSON_AddNumberToObject(o, "hints_shown", (double)info->hints_shown);
	cJSON_AddNumberToObject(o, "hints", (double)info->n_hints);
	if (info->last_check < 0)
		cJSON_AddNullToObject(o, "last_check");
	else
		cJSON_AddStringToObject(o, "last_check", info->last_check ? "pass" : "fail");
	return o;
}

static int state_write(struct lab_ctx *c, struct mq_err *err)
{
	struct lab_info info;
	cJSON *j;

	fill_info(c, &info);
	info.running = true;
	info.pid = c->pid;
	info.started = c->started;
	j = lab_info_to_json(&info);
	cJSON_DeleteItemFromObject(j, "running");
	cJSON_DeleteItemFromObject(j, "active");
	cJSON_AddStringToObject(j, "broker_fp", c->broker_fp);
	return write_json(c, "state.json", j, err);
}

static void state_remove(const struct lab_ctx *c)
{
	char path[PATH_MAX];

	if (mq_path_join(path, sizeof path, c->labdir, "state.json"))
		unlink(path);
}

/* ---- opening a lab -------------------------------------------------------------------------- */

int labctx_open(const char *name, struct lab_ctx *c, struct mq_err *err)
{
	const struct lab_def *pub = find_or_err(name, err);
	char labs[PATH_MAX];

	memset(c, 0, sizeof *c);
	c->lock = -1;
	c->last_check = -1;
	if (!pub)
		return -1;
	c->pub = pub;
	c->d = pub->def;
	snprintf(c->ip, sizeof c->ip, "127.0.0.1");
	for (size_t i = 0; i < c->d->n_ports; i++)
		set_port(c, i, 0);
	if ((size_t)snprintf(c->statedir, sizeof c->statedir, "%s", mq_state_dir()) >= sizeof c->statedir ||
	    !mq_path_join(c->pkidir, sizeof c->pkidir, c->statedir, "pki") ||
	    !mq_path_join(labs, sizeof labs, c->statedir, "labs") ||
	    !mq_path_join(c->labdir, sizeof c->labdir, labs, c->d->name) ||
	    !(strcmp(c->d->workdir, ".") ? mq_path_join(c->workdir, sizeof c->workdir, c->labdir, c->d->workdir)
					 : strcpy(c->workdir, c->labdir)) ||
	    !mq_path_join(c->conf, sizeof c->conf, c->workdir, c->d->broker) ||
	    !mq_path_join(c->log, sizeof c->log, c->labdir, "mosquitto.log")) {
		mq_errf(err, "the state directory path is too long: %s", mq_state_dir());
		return -1;
	}
	read_setup(c);
	read_state(c);
	expand_host(c);
	return 0;
}

int labctx_lock(struct lab_ctx *c, struct mq_err *err)
{
	char path[PATH_MAX];
	int fd;

	if (c->lock >= 0)
		return 0;
	if (mq_mkdir_p(c->labdir, 0755, err) < 0 || !mq_path_join(path, sizeof path, c->labdir, ".lock"))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		mq_errf_errno(err, "cannot lock %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	c->lock = fd;
	/* What another process did while we waited counts. */
	read_setup(c);
	read_state(c);
	expand_host(c);
	return 0;
}

void labctx_close(struct lab_ctx *c)
{
	if (c->lock >= 0)
		close(c->lock);
	c->lock = -1;
}

/* ---- the fingerprint of the student's files ------------------------------------------------- */

static void fp_entry(EVP_MD_CTX *m, const char *rel, const char *abs, bool content)
{
	struct stat st;
	char meta[160];

	EVP_DigestUpdate(m, rel, strlen(rel) + 1);
	if (lstat(abs, &st) < 0) {
		EVP_DigestUpdate(m, "missing", 8);
		return;
	}
	snprintf(meta, sizeof meta, "%o %ld %ld %lld", (unsigned)st.st_mode, (long)st.st_uid, (long)st.st_gid,
		 (long long)st.st_size);
	EVP_DigestUpdate(m, meta, strlen(meta) + 1);
	if (S_ISREG(st.st_mode) && content && (size_t)st.st_size <= FP_MAX_FILE) {
		char *text = NULL;
		size_t len = 0;
		if (mq_read_file(abs, FP_MAX_FILE, &text, &len, NULL) == 0)
			EVP_DigestUpdate(m, text, len);
		free(text);
	} else if (S_ISREG(st.st_mode)) {
		snprintf(meta, sizeof meta, "%lld.%ld", (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
		EVP_DigestUpdate(m, meta, strlen(meta) + 1);
	}
}

static int no_dots(const struct dirent *e)
{
	return strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
}

static void fp_tree(EVP_MD_CTX *m, const char *abs, const char *rel, int depth, int *count)
{
	struct dirent **ents = NULL;
	int n = scandir(abs, &ents, no_dots, alphasort);

	for (int i = 0; i < n; i++) {
		char a[PATH_MAX], r[PATH_MAX];
		struct stat st;

		if (++*count <= FP_MAX_ENTRIES && mq_path_join(a, sizeof a, abs, ents[i]->d_name) &&
		    mq_path_join(r, sizeof r, rel, ents[i]->d_name)) {
			fp_entry(m, r, a, true);
			if (depth < FP_MAX_DEPTH && lstat(a, &st) == 0 && S_ISDIR(st.st_mode))
				fp_tree(m, a, r, depth + 1, count);
		}
		free(ents[i]);
	}
	free(ents);
}

int labctx_fingerprint(const struct lab_ctx *c, char out[LABCTX_FP_HEX], struct mq_err *err)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char abs[PATH_MAX];
	int count = 0;

	if (!m || !EVP_DigestInit_ex(m, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(m);
		mq_errf_ssl(err, "cannot compute a fingerprint");
		return -1;
	}
	if (!strcmp(c->d->workdir, ".")) {
		/* The lab's own directory also holds its state: only the declared files count (not the
		 * shared PKI's, which mqttls re-issues itself). */
		for (size_t i = 0; i < c->d->n_files; i++) {
			const struct labfile *f = &c->d->files[i];
			if (!f->in_place && mq_path_join(abs, sizeof abs, c->workdir, f->path))
				fp_entry(m, f->path, abs, true);
		}
	} else {
		/* Every directory from the lab's down to the work directory: their modes are part of the
		 * story (a home directory without x). */
		char rel[PATH_MAX];
		snprintf(rel, sizeof rel, "%s", c->d->workdir);
		for (char *p = rel; p;) {
			char *slash = strchr(p, '/');
			if (slash)
				*slash = '\0';
			if (mq_path_join(abs, sizeof abs, c->labdir, rel))
				fp_entry(m, rel, abs, false);
			if (slash)
				*slash = '/';
			p = slash ? slash + 1 : NULL;
		}
		for (size_t i = 0; i < c->d->n_dirs; i++)
			if (mq_path_join(abs, sizeof abs, c->labdir, c->d->dirs[i].path))
				fp_entry(m, c->d->dirs[i].path, abs, false);
		fp_tree(m, c->workdir, ".", 0, &count);
	}
	EVP_DigestFinal_ex(m, md, &mdlen);
	EVP_MD_CTX_free(m);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* ---- the shared PKI ------------------------------------------------------------------------- */

static bool cert_info_of(const char *path, struct cert_info *ci)
{
	STACK_OF(X509) *sk = NULL;
	bool ok = false;

	if (chain_load_file(path, &sk, NULL, NULL) > 0)
		ok = cert_info_from_x509(sk_X509_value(sk, 0), 0, ci, NULL) == 0;
	sk_X509_pop_free(sk, X509_free);
	return ok;
}

static bool has_str(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(v[i], s))
			return true;
	return false;
}

/* Is the broker certificate there, valid for a while yet, and for every current name and address? */
/* The MITM lab network's broker is reached at its own address there: its certificate names it too. */
static const char *const lab_net_sans[] = { "IP:" MITMNET_BROKER_IP };

static bool broker_cert_current(const char *pkidir, bool lab_net)
{
	char path[PATH_MAX], **sans = NULL;
	struct cert_info ci;
	bool ok;
	int n;

	if (!mq_path_join(path, sizeof path, pkidir, PKI_BROKER_KEY) || !mq_file_exists(path) ||
	    !mq_path_join(path, sizeof path, pkidir, PKI_BROKER_CHAIN) || !mq_file_exists(path) ||
	    !mq_path_join(path, sizeof path, pkidir, PKI_BROKER_CERT) || !cert_info_of(path, &ci))
		return false;
	ok = ci.not_after > (long long)time(NULL) + REFRESH_DAYS * 86400LL;
	n = pki_default_sans(&sans);
	for (int i = 0; ok && i < n; i++)
		ok = !strncmp(sans[i], "IP:", 3) ? has_str(ci.san_ip, ci.n_san_ip, sans[i] + 3)
						 : has_str(ci.san_dns, ci.n_san_dns, sans[i] + 4);
	pki_strv_free(sans);
	if (ok && lab_net)
		ok = has_str(ci.san_ip, ci.n_san_ip, lab_net_sans[0] + 3);
	cert_info_free(&ci);
	return ok && n > 0;
}

static bool ca_present(const char *pkidir)
{
	static const char *const need[] = { PKI_ROOT_CERT, PKI_ROOT_KEY, PKI_INTER_CERT, PKI_INTER_KEY };
	char path[PATH_MAX];

	for (size_t i = 0; i < MQ_ARRAY_LEN(need); i++)
		if (!mq_path_join(path, sizeof path, pkidir, need[i]) || !mq_file_exists(path))
			return false;
	return true;
}

/*
 * The lab PKI is mqttls's own: made when missing, its broker certificate re-issued when stale,
 * and (with fresh) each broken certificate a lab takes made again, so it covers this machine's
 * addresses of today. The CA is kept, so a device flashed with it keeps working. Labs share it:
 * one lock for all.
 */
static int pki_ready(struct lab_ctx *c, bool fresh, struct mq_err *err)
{
	struct pki_opts o = { .dir = c->pkidir, .force = true };
	char path[PATH_MAX];
	int lock, rc = -1;

	if (c->netns) {
		o.sans = lab_net_sans;
		o.n_sans = MQ_ARRAY_LEN(lab_net_sans);
	}
	if (mq_mkdir_p(c->pkidir, 0755, err) < 0 || !mq_path_join(path, sizeof path, c->pkidir, ".lock"))
		return -1;
	lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		mq_errf_errno(err, "cannot lock %s", path);
		goto out;
	}
	if (!ca_present(c->pkidir)) {
		if (pki_init(&o, err) < 0)
			goto out;
	} else if (!broker_cert_current(c->pkidir, c->netns) && pki_broker(&o, err) < 0) {
		goto out;
	}
	for (size_t i = 0; i < c->d->n_files; i++) {
		const struct labfile *f = &c->d->files[i];
		char made[NAME_MAX + 1];

		if (!f->make_kind)
			continue;
		if (!strcmp(f->make_kind, "broken")) {
			snprintf(made, sizeof made, "broken-%s.crt", f->make_arg);
			if ((fresh || !mq_path_join(path, sizeof path, c->pkidir, made) || !mq_file_exists(path)) &&
			    pki_broken(&o, f->make_arg, err) < 0)
				goto out;
		} else {
			snprintf(made, sizeof made, "%s.crt", f->make_arg);
			if ((!mq_path_join(path, sizeof path, c->pkidir, made) || !mq_file_exists(path)) &&
			    pki_device(&o, f->make_arg, err) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	if (lock >= 0)
		close(lock);
	return rc;
}

/* ---- setting a lab up ----------------------------------------------------------------------- */

/* mosquitto started as root reads its files as the user mosquitto: it must enter these. */
static int traversable(const char *dir, struct mq_err *err)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		mq_errf_errno(err, "cannot stat %s", dir);
		return -1;
	}
	if ((st.st_mode & 0055) == 0055)
		return 0;
	if (chmod(dir, (st.st_mode & 07777) | 0055) < 0) {
		mq_errf_errno(err, "cannot make %s readable for the mosquitto user", dir);
		return -1;
	}
	return 0;
}

/* Owners only mean something to root: anyone else's broker runs as themselves. */
static int set_owner(const char *path, const char *owner, struct mq_err *err)
{
	struct passwd *pw;

	if (!owner || geteuid() != 0)
		return 0;
	if (!(pw = getpwnam(owner))) {
		mq_errf(err, "the lab needs a user '%s', which this machine does not have (Debian: apt-get install "
			"mosquitto makes the user mosquitto)", owner);
		return -1;
	}
	if (chown(path, pw->pw_uid, pw->pw_gid) < 0) {
		mq_errf_errno(err, "cannot give %s to %s", path, owner);
		return -1;
	}
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static int write_lab_file(struct lab_ctx *c, const struct labfile *f, struct mq_err *err)
{
	char path[PATH_MAX], src[PATH_MAX], *text = NULL, *slash;
	int mode = f->mode >= 0 ? f->mode : ends_with(f->path, ".key") ? 0600 : 0644, rc = -1;
	size_t len = 0;

	if (f->kind == LABFILE_PKI) {
		if (!mq_path_join(src, sizeof src, c->pkidir, f->from)) {
			mq_errf(err, "path too long: %s", c->pkidir);
			return -1;
		}
		if (f->in_place) {
			if (chmod(src, (mode_t)mode) < 0) {
				mq_errf_errno(err, "cannot set the mode of %s", src);
				return -1;
			}
			return set_owner(src, f->owner, err);
		}
		if (mq_read_file(src, FP_MAX_FILE, &text, &len, err) < 0)
			return -1;
	} else if (!(text = labctx_expand(c, f->text, err))) {
		return -1;
	} else {
		len = strlen(text);
	}
	if (!mq_path_join(path, sizeof path, c->workdir, f->path)) {
		mq_errf(err, "path too long: %s", c->workdir);
		goto out;
	}
	if ((slash = strrchr(path, '/')) != NULL) {
		*slash = '\0';
		if (mq_mkdir_p(path, 0755, err) < 0)
			goto out;
		*slash = '/';
	}
	if (mq_write_file(path, text, len, (mode_t)mode, true, err) < 0)
		goto out;
	/* The umask does not decide a lab's fault: the definition does. */
	if (chmod(path, (mode_t)mode) < 0) {
		mq_errf_errno(err, "cannot set the mode of %s", path);
		goto out;
	}
	rc = set_owner(path, f->owner, err);
out:
	free(text);
	return rc;
}

/* Remove the student's tree: the work directory's first component under the lab's directory. */
static int clear_workdir(struct lab_ctx *c, const char *aside, struct mq_err *err)
{
	char top[PATH_MAX], path[PATH_MAX], moved[PATH_MAX + 32];

	if (!strcmp(c->d->workdir, "."))
		return 0;
	snprintf(top, sizeof top, "%s", c->d->workdir);
	top[strcspn(top, "/")] = '\0';
	if (!mq_path_join(path, sizeof path, c->labdir, top)) {
		mq_errf(err, "path too long: %s", c->labdir);
		return -1;
	}
	if (!aside)
		return mq_rm_rf(path, err);
	snprintf(moved, sizeof moved, "%s%s", path, aside);
	if (mq_rm_rf(moved, err) < 0)
		return -1;
	if (mq_file_exists(path) && rename(path, moved) < 0) {
		mq_errf_errno(err, "cannot move %s aside", path);
		return -1;
	}
	return 0;
}

/* Make the work directory and every directory above it (up to the lab's) 0755, as created. */
static int make_workdir(struct lab_ctx *c, struct mq_err *err)
{
	char rel[PATH_MAX], abs[PATH_MAX];

	if (mq_mkdir_p(c->workdir, 0755, err) < 0)
		return -1;
	if (!strcmp(c->d->workdir, "."))
		return 0;
	snprintf(rel, sizeof rel, "%s", c->d->workdir);
	for (char *p = rel; p;) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (!mq_path_join(abs, sizeof abs, c->labdir, rel) || chmod(abs, 0755) < 0) {
			mq_errf_errno(err, "cannot set up %s", abs);
			return -1;
		}
		if (slash)
			*slash = '/';
		p = slash ? slash + 1 : NULL;
	}
	return 0;
}

static bool port_usable(const struct lab_ctx *c, int port)
{
	if (c->lab_bind[0])
		return mq_port_free_on(c->ip, port) && mq_port_is_free(port);
	return mq_port_is_free(port) && (!c->ipv6 || mq_port_free_on("::1", port));
}

static bool in_list(const int *v, size_t n, int x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/*
 * Ports other started labs hold, even while their broker is down (a lab whose fault keeps its
 * broker from starting gets it back once the student fixes it). At most n.
 */
static size_t ports_of_other_labs(const struct lab_ctx *c, int *out, size_t n)
{
	size_t found = 0;

	for (size_t i = 0; i < cat.n && found < n; i++) {
		struct lab_ctx o;

		if (&cat.v[i] == c->pub || labctx_open(cat.v[i].name, &o, NULL) < 0 || !o.active)
			continue;
		for (size_t k = 0; k < o.d->n_ports && found < n; k++)
			if (o.ports[k])
				out[found++] = o.ports[k];
	}
	return found;
}

static int pick_ports(struct lab_ctx *c, const int *skip, size_t nskip, struct mq_err *err)
{
	int taken[MAX_LABS * LABDEF_MAX_PORTS], home;
	size_t ntaken = ports_of_other_labs(c, taken, MQ_ARRAY_LEN(taken));

	/* Ports are free or not where the broker will listen. */
	if ((home = labctx_netns_enter(c, err)) == -1)
		return -1;
	for (size_t i = 0; i < c->d->n_ports; i++) {
		const struct labport *lp = &c->d->ports[i];
		int chosen = 0;

		for (int p = lp->first; p < lp->first + PORT_SPAN && p < 65536 && !chosen; p++)
			if (!in_list(skip, nskip, p) && !in_list(c->ports, i, p) && !in_list(taken, ntaken, p) &&
			    port_usable(c, p))
				chosen = p;
		if (!chosen) {
			mq_errf(err, "no free port between %d and %d on %s", lp->first, lp->first + PORT_SPAN - 1, c->ip);
			mitmnet_leave(home);
			return -1;
		}
		set_port(c, i, chosen);
	}
	mitmnet_leave(home);
	return 0;
}

/* The fault, from the definition: ports, files, modes and owners, then the fingerprint. */
static int setup(struct lab_ctx *c, const int *skip, size_t nskip, struct mq_err *err)
{
	char labs[PATH_MAX], abs[PATH_MAX];

	if (pick_ports(c, skip, nskip, err) < 0)
		return -1;
	expand_host(c);
	if (clear_workdir(c, NULL, err) < 0 || make_workdir(c, err) < 0)
		return -1;
	for (size_t i = 0; i < c->d->n_files; i++)
		if (write_lab_file(c, &c->d->files[i], err) < 0)
			return -1;
	for (size_t i = 0; i < c->d->n_dirs; i++) {
		const struct labdir *dr = &c->d->dirs[i];
		if (!mq_path_join(abs, sizeof abs, c->labdir, dr->path) || mq_mkdir_p(abs, 0755, err) < 0 ||
		    chmod(abs, (mode_t)dr->mode) < 0 || set_owner(abs, dr->owner, err) < 0) {
			mq_errf_errno(err, "cannot set up %s", abs);
			return -1;
		}
	}
	if (geteuid() == 0 && (!mq_path_join(labs, sizeof labs, c->statedir, "labs") || traversable(c->statedir, err) < 0 ||
			       traversable(labs, err) < 0 || traversable(c->pkidir, err) < 0 ||
			       traversable(c->labdir, err) < 0))
		return -1;
	if (labctx_fingerprint(c, c->setup_fp, err) < 0)
		return -1;
	c->have_setup = true;
	return 0;
}

/*
 * Instructor mode: the range must be private (the MITM gate's own rule), and this machine must
 * have an address in it. The first one found serves the devices.
 */
static int classroom_address(const char *cidr, char *ip, size_t size, struct mq_err *err)
{
	struct ifaddrs *ifa = NULL;
	struct mq_str seen = { 0 };
	struct gate g;
	int rc = -1;

	gate_init(&g);
	if (gate_add_lab(&g, cidr, err) < 0)
		return -1;
	if (getifaddrs(&ifa) < 0) {
		mq_errf_errno(err, "cannot list this machine's addresses");
		return -1;
	}
	for (struct ifaddrs *a = ifa; a; a = a->ifa_next) {
		socklen_t len;
		char host[64];

		if (!a->ifa_addr || (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6))
			continue;
		len = a->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		if (gate_is_loopback(a->ifa_addr) ||
		    (a->ifa_addr->sa_family == AF_INET6 &&
		     IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr)) ||
		    !inet_ntop(a->ifa_addr->sa_family,
			       a->ifa_addr->sa_family == AF_INET ? (void *)&((struct sockaddr_in *)a->ifa_addr)->sin_addr
								 : (void *)&((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr,
			       host, sizeof host))
			continue;
		if (gate_check(&g, GATE_LISTEN, a->ifa_addr, len, NULL) == 0) {
			snprintf(ip, size, "%s", host);
			rc = 0;
			break;
		}
		mq_str_printf(&seen, "%s%s", seen.len ? ", " : "", host);
	}
	if (rc < 0)
		mq_errf(err, "no address of this machine lies in %s (it has %s)", cidr, seen.s ? seen.s : "none but loopback");
	mq_str_free(&seen);
	freeifaddrs(ifa);
	return rc;
}

/* ---- the broker ----------------------------------------------------------------------------- */

int labctx_netns_enter(const struct lab_ctx *c, struct mq_err *err)
{
	return c->netns ? mitmnet_enter(c->labdir, MITMNET_BROKER, err) : -2;
}

bool labctx_broker_running(const struct lab_ctx *c)
{
	struct mq_err ignore = { 0 };
	int home;
	bool up;

	if (c->pid <= 0 || c->ports[0] <= 0 || !broker_alive(c->pid))
		return false;
	/* A broker on the lab network listens in its namespace: a missing namespace is a broker down. */
	if ((home = labctx_netns_enter(c, &ignore)) == -1)
		return false;
	up = mq_wait_listening(c->lab_bind[0] ? c->ip : "127.0.0.1", c->ports[0], 1000) == 0;
	mitmnet_leave(home);
	return up;
}

int labctx_broker_down(struct lab_ctx *c, struct mq_err *err)
{
	/* Only a PID that is still a mosquitto is signalled: a reused PID is someone else's. */
	if (c->pid > 0 && broker_alive(c->pid) && broker_stop(c->pid) < 0) {
		mq_errf(err, "mosquitto (pid %ld) of lab '%s' would not stop", (long)c->pid, c->d->name);
		return -1;
	}
	state_remove(c);
	c->pid = 0;
	c->started = 0;
	c->broker_fp[0] = '\0';
	return 0;
}

static int broker_up(struct lab_ctx *c, struct mq_err *err);

int labctx_broker_up(struct lab_ctx *c, struct mq_err *err)
{
	sigset_t saved;
	int rc;

	/* From the fork to the recorded PID: a Ctrl-C waits until the broker can be found again. */
	mq_signals_hold(&saved);
	rc = broker_up(c, err);
	mq_signals_release(&saved);
	return rc;
}

static int broker_up(struct lab_ctx *c, struct mq_err *err)
{
	struct mq_err e = { 0 };
	char fp[LABCTX_FP_HEX];
	pid_t pid;
	int rc, home;

	if (labctx_fingerprint(c, fp, err) < 0)
		return -1;
	/* On the lab network the broker is born in its namespace (broker_run forks from this thread),
	 * with a certificate that names its address there (another lab may have re-issued it since). */
	if (c->netns && pki_ready(c, false, err) < 0)
		return -1;
	if ((home = labctx_netns_enter(c, &e)) == -1)
		rc = -1;
	else
		rc = broker_run(c->conf, c->log, c->lab_bind[0] ? c->ip : "127.0.0.1", c->ports[0], START_WAIT_MS, &pid,
				&e);
	mitmnet_leave(home);
	/* Something else may have answered on the port while our broker was dying. */
	if (rc == 0 && waitpid(pid, NULL, WNOHANG) != 0) {
		rc = -1;
		mq_errf(&e, "mosquitto exited at start: Address already in use");
	}
	if (rc < 0) {
		snprintf(c->broker_error, sizeof c->broker_error, "%s", e.msg);
		c->pid = 0;
		state_remove(c);
		mq_errf(err, "%s", e.msg);
		return -1;
	}
	c->pid = pid;
	c->started = (long long)time(NULL);
	snprintf(c->broker_fp, sizeof c->broker_fp, "%s", fp);
	c->broker_error[0] = '\0';
	if (state_write(c, err) < 0) {
		broker_stop(pid);
		c->pid = 0;
		return -1;
	}
	return 0;
}

/* ---- the operations ------------------------------------------------------------------------- */

static int companions_start(struct lab_ctx *c, struct mq_err *err)
{
	const struct companions *cs = companions_of(c->d);
	struct lab_info info;
	sigset_t saved;
	int rc;

	if (!cs || !c->pid)
		return 0;
	fill_info(c, &info);
	/* Every companion is recorded before a Ctrl-C takes effect (lab stop must find them all). */
	mq_signals_hold(&saved);
	rc = cs->start(&info, err);
	mq_signals_release(&saved);
	return rc;
}

static void companions_stop(struct lab_ctx *c)
{
	const struct companions *cs = companions_of(c->d);
	struct lab_info info;

	if (!cs)
		return;
	fill_info(c, &info);
	cs->stop(&info);
}

/* Start the broker on a fresh setup, moving to other ports when one is lost to a race. */
static int start_fresh(struct lab_ctx *c, struct mq_err *err)
{
	int skip[BIND_RETRIES * LABDEF_MAX_PORTS + 1];
	size_t nskip = 0;

	for (int attempt = 0;; attempt++) {
		struct mq_err e = { 0 };

		if (setup(c, skip, nskip, err) < 0)
			return -1;
		if (labctx_broker_up(c, &e) == 0)
			return 0;
		if (strstr(e.msg, "Address already in use") && attempt < BIND_RETRIES) {
			for (size_t i = 0; i < c->d->n_ports; i++)
				skip[nskip++] = c->ports[i];
			continue;
		}
		/* The fault itself may keep the broker down: the lab is set up all the same. */
		if (c->d->broker_down)
			return 0;
		mq_errf(err, "%s", e.msg);
		return -1;
	}
}

int lab_start_with(const char *name, const struct lab_start_opts *o, struct lab_info *info, struct mq_err *err)
{
	struct lab_ctx c;
	const char *want_bind = o && o->lab_bind ? o->lab_bind : "";
	char fp[LABCTX_FP_HEX], ip[64] = "127.0.0.1";
	bool edited, netns = o && o->netns, made_net = false;
	int rc = -1;

	memset(info, 0, sizeof *info);
	if (labctx_open(name, &c, err) < 0)
		return -1;
	if (c.d->needs_root && geteuid() != 0) {
		mq_errf(err, "lab '%s' shows what happens when mosquitto, started as root, reads its files as the "
			"user mosquitto: it needs root (sudo mqttls lab start %s)", c.d->name, c.d->name);
		return -1;
	}
	if (netns) {
		/* The MITM lab on a network of its own: the broker at its address there, the whole lab
		 * network as the lab's range (the relay's gate admits it, as with --lab-bind). */
		if (*want_bind) {
			mq_errf(err, "--netns makes the lab a network of its own: it does not serve a classroom LAN "
				"(--lab-bind) at the same time");
			return -1;
		}
		if (!c.d->companions || strcmp(c.d->companions, "mitm")) {
			mq_errf(err, "only the MITM lab has a network of namespaces (mqttls lab start mitm --netns)");
			return -1;
		}
		if (geteuid() != 0) {
			mq_errf(err, "--netns makes network namespaces and veth links: it needs root (sudo mqttls lab "
				"start %s --netns)", c.d->name);
			return -1;
		}
		want_bind = MITMNET_CIDR;
		snprintf(ip, sizeof ip, "%s", MITMNET_BROKER_IP);
	} else if (*want_bind && classroom_address(want_bind, ip, sizeof ip, err) < 0) {
		return -1;
	}
	if (mq_mkdir_p(mq_state_dir(), 0755, err) < 0 || labctx_lock(&c, err) < 0)
		return -1;
	if (c.active && labctx_broker_running(&c)) {
		if (netns != c.netns && (netns || *want_bind)) {
			mq_errf(err, "lab '%s' is already running %s; stop it first (mqttls lab stop %s)", c.d->name,
				c.netns ? "on its own network (--netns)" : c.lab_bind[0] ? c.lab_bind : "on loopback",
				c.d->name);
			goto out;
		}
		if (*want_bind && strcmp(want_bind, c.lab_bind)) {
			mq_errf(err, "lab '%s' is already running %s; stop it first to serve %s", c.d->name,
				c.lab_bind[0] ? c.lab_bind : "on loopback", want_bind);
			goto out;
		}
		if (companions_start(&c, err) < 0)
			goto out;
		fill_info(&c, info);
		info->reused = true;
		rc = 0;
		goto out;
	}
	if (labctx_broker_down(&c, err) < 0)
		goto out;
	/* The lab network is made afresh for every start; what an earlier one left goes first. */
	mitmnet_down(c.labdir);
	if (netns) {
		if (mitmnet_up(c.labdir, err) < 0)
			goto out;
		made_net = true;
	}
	edited = c.have_setup && labctx_fingerprint(&c, fp, err) == 0 && strcmp(fp, c.setup_fp);
	if (edited) {
		struct mq_err theirs = { 0 };

		/* The student's work is never thrown away by a start: resume on the recorded setup. */
		if (strcmp(want_bind, c.lab_bind) || netns != c.netns) {
			mq_errf(err, "your edited files in %s were set up for %s; 'mqttls lab reset %s' sets the lab up "
				"again for %s (your files are kept aside)", c.workdir,
				c.netns ? "the lab network (--netns)" : c.lab_bind[0] ? c.lab_bind : "loopback", c.d->name,
				netns ? "the lab network (--netns)" : *want_bind ? want_bind : "loopback");
			goto out;
		}
		/* Their files, their broker: when it does not start, info->broker_error says why. */
		if (pki_ready(&c, false, err) < 0 || (labctx_broker_up(&c, &theirs) < 0 && !c.broker_error[0]))
			goto out;
	} else {
		snprintf(c.lab_bind, sizeof c.lab_bind, "%s", want_bind);
		snprintf(c.ip, sizeof c.ip, "%s", ip);
		c.netns = netns;
		c.ipv6 = !*want_bind && mq_port_free_on("::1", 0);
		if (pki_ready(&c, true, err) < 0 || start_fresh(&c, err) < 0)
			goto out;
	}
	c.active = true;
	if (labctx_save(&c, err) < 0)
		goto out;
	if (companions_start(&c, err) < 0) {
		/* Nothing half-started is left behind. */
		struct mq_err ignore = { 0 };
		companions_stop(&c);
		c.active = false;
		if (labctx_broker_down(&c, &ignore) < 0 || labctx_save(&c, &ignore) < 0)
			mq_errf(err, "%s", ignore.msg);
		goto out;
	}
	fill_info(&c, info);
	info->resumed = edited;
	rc = 0;
out:
	if (rc < 0 && made_net) {
		/* A start that failed leaves no lab network behind, nor anything running in it. */
		struct mq_err ignore = { 0 };
		companions_stop(&c);
		/* mitmnet_down stops whatever still runs in the namespaces, the broker included */
		if (labctx_broker_down(&c, &ignore) < 0)
			ignore.msg[0] = '\0';
		mitmnet_down(c.labdir);
		if (c.active) {
			c.active = false;
			if (labctx_save(&c, &ignore) < 0)
				ignore.msg[0] = '\0';
		}
	}
	labctx_close(&c);
	return rc;
}

int lab_start(const char *name, struct lab_info *info, struct mq_err *err)
{
	return lab_start_with(name, NULL, info, err);
}

int lab_builtin(struct lab_info *info, struct mq_err *err)
{
	if (lab_start(LAB_BUILTIN, info, err) < 0)
		return -1;
	if (!info->running) {
		mq_errf(err, "the built-in broker did not start: %s", info->broker_error);
		return -1;
	}
	return 0;
}

void lab_target(const struct lab_info *info, struct target *t)
{
	free(t->host);
	t->host = strdup(info->host);
	t->port = info->port;
	t->port_given = true;
	t->tls = true;
	free(t->cafile);
	t->cafile = strdup(info->cafile);
}

int lab_status(const char *name, struct lab_info *info, struct mq_err *err)
{
	struct lab_ctx c;

	memset(info, 0, sizeof *info);
	if (labctx_open(name, &c, err) < 0)
		return -1;
	fill_info(&c, info);
	return 0;
}

int lab_stop(const char *name, struct lab_info *info, struct mq_err *err)
{
	struct lab_ctx c;
	int rc = -1;

	memset(info, 0, sizeof *info);
	if (labctx_open(name, &c, err) < 0)
		return -1;
	if (!mq_file_exists(c.labdir)) {
		fill_info(&c, info);
		return 0;
	}
	if (labctx_lock(&c, err) < 0)
		return -1;
	fill_info(&c, info);
	info->running = c.pid > 0 && broker_alive(c.pid);
	info->pid = c.pid;
	companions_stop(&c);
	if (labctx_broker_down(&c, err) < 0)
		goto out;
	mitmnet_down(c.labdir);   /* the lab network, when it has one (or a start left one) */
	if (c.have_setup || c.active) {
		c.active = false;
		if (labctx_save(&c, err) < 0)
			goto out;
	}
	rc = 0;
out:
	labctx_close(&c);
	return rc;
}

int lab_hint(const char *name, struct lab_hint *out, struct mq_err *err)
{
	struct lab_ctx c;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (labctx_open(name, &c, err) < 0)
		return -1;
	if (c.d->n_hints == 0) {
		mq_errf(err, "lab '%s' has no hints", c.d->name);
		return -1;
	}
	if (labctx_lock(&c, err) < 0)
		return -1;
	if (c.hints < c.d->n_hints)
		c.hints++;
	if (labctx_save(&c, err) < 0)
		goto out;
	out->index = c.hints;
	out->total = c.d->n_hints;
	if (!(out->text = labctx_expand(&c, c.d->hints[c.hints - 1], err)))
		goto out;
	rc = 0;
out:
	labctx_close(&c);
	return rc;
}

int lab_reset(const char *name, struct lab_info *info, char *kept, size_t kept_size, struct mq_err *err)
{
	struct lab_ctx c;
	bool was_active;
	int rc = -1;

	memset(info, 0, sizeof *info);
	if (kept && kept_size)
		kept[0] = '\0';
	if (labctx_open(name, &c, err) < 0)
		return -1;
	if (labctx_lock(&c, err) < 0)
		return -1;
	if (!c.have_setup) {
		mq_errf(err, "lab '%s' was never started: there is nothing to reset (mqttls lab start %s)", c.d->name,
			c.d->name);
		goto out;
	}
	was_active = c.active;
	if (c.netns && !was_active) {
		/* A stopped lab has no network any more: it is set up again on loopback. */
		c.netns = false;
		c.lab_bind[0] = '\0';
		snprintf(c.ip, sizeof c.ip, "127.0.0.1");
	}
	companions_stop(&c);
	if (labctx_broker_down(&c, err) < 0 || clear_workdir(&c, ".before-reset", err) < 0)
		goto out;
	if (kept && kept_size && strcmp(c.d->workdir, ".")) {
		char top[PATH_MAX];
		snprintf(top, sizeof top, "%s", c.d->workdir);
		top[strcspn(top, "/")] = '\0';
		snprintf(kept, kept_size, "%s/%s.before-reset", c.labdir, top);
	}
	if (pki_ready(&c, true, err) < 0)
		goto out;
	if (was_active) {
		if (start_fresh(&c, err) < 0)
			goto out;
	} else if (setup(&c, NULL, 0, err) < 0) {
		goto out;
	}
	c.active = was_active;
	if (labctx_save(&c, err) < 0 || (was_active && companions_start(&c, err) < 0))
		goto out;
	fill_info(&c, info);
	rc = 0;
out:
	labctx_close(&c);
	return rc;
}

char *lab_companions_describe(const struct lab_info *info)
{
	const struct lab_def *p = lab_find(info->name);
	const struct companions *cs = p ? companions_of(p->def) : NULL;

	return cs && cs->describe ? cs->describe(info) : NULL;
}
