/*
 * diag — the session: local checks, then resolve → tcp → tls → verify → mqtt_connect →
 * pubsub on one libevent loop, with the follow-up probes a failure calls for (a plain MQTT
 * CONNECT when the port did not answer TLS; TLS 1.2-only and 1.3-only handshakes when no
 * version was shared; TLS 1.0/1.1 and static-RSA handshakes for WEAK_TLS). Observations go
 * into struct diag_obs; diag-rules turns them into findings at the end of each phase.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "mqttls/conf.h"
#include "mqttls/diag-rules.h"
#include "mqttls/diag.h"
#include "mqttls/explain.h"
#include "mqttls/mqconn.h"
#include "mqttls/mqttdec.h"
#include "mqttls/probe.h"
#include "mqttls/tlsctx.h"
#include "mqttls/util.h"
#include "mqttls/version.h"

#define MAX_ADDRS 16
#define MAX_LOG 256

/* ---------------------------------------------------------------- names */

const char *diag_stage_name(enum diag_stage_id s)
{
	static const char *const n[] = { "resolve", "tcp", "tls", "verify", "mqtt_connect", "pubsub" };
	return s < DIAG_STAGES ? n[s] : "unknown";
}

const char *diag_status_name(enum diag_status s)
{
	static const char *const n[] = { "pending", "running", "ok", "failed", "skipped" };
	return s <= DIAG_SKIPPED ? n[s] : "unknown";
}

enum diag_stage_id diag_finding_stage(const char *id)
{
	return diag_rules_stage(id);
}

void diag_opts_init(struct diag_opts *o)
{
	memset(o, 0, sizeof *o);
	o->timeout = 5;
}

/* ---------------------------------------------------------------- resolver thread */

/* getaddrinfo() honours /etc/hosts, nsswitch and mDNS exactly as the user's own tools do;
 * it blocks, so it runs on a thread that reports through a socket the loop watches. */
struct resolve_job {
	pthread_mutex_t mu;
	int refs;
	char *host;
	char port[8];
	int fd;
	int gai;
	struct addrinfo *res;
};

static void job_unref(struct resolve_job *j)
{
	bool last;

	pthread_mutex_lock(&j->mu);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->mu);
	if (!last)
		return;
	if (j->res)
		freeaddrinfo(j->res);
	if (j->fd >= 0)
		close(j->fd);
	pthread_mutex_destroy(&j->mu);
	free(j->host);
	free(j);
}

static void *resolve_thread(void *arg)
{
	struct resolve_job *j = arg;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(j->host, j->port, &hints, &res);

	pthread_mutex_lock(&j->mu);
	j->gai = gai;
	j->res = res;
	pthread_mutex_unlock(&j->mu);
	if (send(j->fd, "x", 1, MSG_NOSIGNAL) < 0) {
		/* The session gave up waiting; nobody reads this answer. */
	}
	job_unref(j);
	return NULL;
}

/* ---------------------------------------------------------------- the session */

struct diag_session {
	struct event_base *base;
	struct target t;
	struct diag_opts o;
	diag_observer fn;
	void *fnctx;
	struct diag_result *r;
	struct diag_obs obs;

	/* local files */
	struct cert_info *ca;
	size_t n_ca;
	STACK_OF(X509) *ca_stack;
	struct cert_info client;
	bool have_client;
	X509 *cert;
	STACK_OF(X509) *cert_extra;
	EVP_PKEY *key;
	char path_ca[PATH_MAX], path_capath[PATH_MAX], path_cert[PATH_MAX], path_key[PATH_MAX];

	/* resolve */
	struct probe_addr addrs[MAX_ADDRS];
	size_t n_addrs;
	struct resolve_job *job;
	int job_fd;
	struct event *ev_resolve, *ev_resolve_timer;

	/* connections */
	SSL_CTX *probe_ctx, *client_ctx;
	struct probe *main, *plain, *v12, *v13, *wold, *wnofs;
	struct probe_addr connected;
	STACK_OF(X509) *chain_x509;
	int followups;
	struct mqconn *mq;
	bool mq_running;
	int weak_pending;

	struct event *ev_kick;
	struct event *ev_silent;   /* half the timeout into a TLS handshake the broker has not answered */
	bool main_done;
	bool done, started;
	double t_start, t_stage[DIAG_STAGES];
	bool phase_done[DIAG_PHASE_END + 1];
};

static void emit(struct diag_session *s, const struct diag_event *ev)
{
	if (s->fn)
		s->fn(s->fnctx, ev);
}

static void add_log(struct diag_session *s, const char *fmt, ...) MQ_PRINTF(2, 3);
static void add_log(struct diag_session *s, const char *fmt, ...)
{
	struct diag_result *r = s->r;
	struct diag_event ev = { .kind = DIAG_EV_LOG };
	va_list ap;
	char line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (r->n_log >= MAX_LOG)
		return;
	char **v = realloc(r->log, (r->n_log + 1) * sizeof *v);
	if (!v)
		abort();
	r->log = v;
	r->log[r->n_log++] = strdup(line);
	ev.text = r->log[r->n_log - 1];
	emit(s, &ev);
}

static void stage_start(struct diag_session *s, enum diag_stage_id id)
{
	struct diag_event ev = { .kind = DIAG_EV_STAGE_STARTED, .stage = id };

	s->r->stages[id].status = DIAG_RUNNING;
	s->t_stage[id] = mq_now_ms();
	ev.state = &s->r->stages[id];
	emit(s, &ev);
}

static void stage_end(struct diag_session *s, enum diag_stage_id id, enum diag_status st, double ms, const char *fmt, ...)
	MQ_PRINTF(5, 6);
static void stage_end(struct diag_session *s, enum diag_stage_id id, enum diag_status st, double ms, const char *fmt, ...)
{
	struct diag_stage *g = &s->r->stages[id];
	struct diag_event ev = { .kind = DIAG_EV_STAGE_FINISHED, .stage = id };
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	g->status = st;
	g->ms = ms >= 0 ? ms : (g->status == DIAG_SKIPPED ? 0 : mq_now_ms() - s->t_stage[id]);
	free(g->detail);
	g->detail = strdup(buf);
	ev.state = g;
	emit(s, &ev);
}

static void skip_from(struct diag_session *s, enum diag_stage_id from, const char *why)
{
	for (int i = from; i < DIAG_STAGES; i++)
		if (s->r->stages[i].status == DIAG_PENDING || s->r->stages[i].status == DIAG_RUNNING)
			stage_end(s, (enum diag_stage_id)i, DIAG_SKIPPED, 0, "%s", why);
}

static void apply_phase(struct diag_session *s, enum diag_rule_phase ph)
{
	size_t before = s->r->findings.n;

	if (s->phase_done[ph])
		return;
	s->phase_done[ph] = true;
	s->obs.now = (long long)time(NULL);
	diag_rules_apply(&s->obs, ph, &s->r->findings);
	for (size_t i = before; i < s->r->findings.n; i++) {
		struct diag_event ev = { .kind = DIAG_EV_FINDING, .finding = &s->r->findings.v[i] };
		emit(s, &ev);
	}
}

/* What the broker's own configuration and log say, folded in so the root cause is the real one. */
static void fold_broker_side(struct diag_session *s)
{
	struct diag_result *r = s->r;
	struct conf_fold_opts fo = { 0 };
	struct mq_err err = { 0 };
	size_t before = r->findings.n;
	char **had = calloc(before + 1, sizeof *had);

	if (!had)
		abort();
	for (size_t i = 0; i < before; i++)
		had[i] = (char *)r->findings.v[i].id;
	fo.conf_path = r->broker_conf;
	fo.log_path = r->broker_log;
	fo.port = r->port;
	fo.served_sha256 = r->n_chain ? r->chain[0].sha256 : NULL;
	if (conf_fold_diagnosis(&fo, &r->findings, &err) < 0) {
		r->broker_error = strdup(err.msg);
		add_log(s, "broker side: %s", err.msg);
	}
	for (size_t i = 0; i < r->findings.n; i++) {
		bool old = false;
		for (size_t k = 0; k < before; k++)
			old |= had[k] == r->findings.v[i].id;
		if (!old) {
			struct diag_event ev = { .kind = DIAG_EV_FINDING, .finding = &r->findings.v[i] };
			emit(s, &ev);
		}
	}
	free(had);
}

static void complete(struct diag_session *s)
{
	struct diag_result *r = s->r;
	bool ok = true;
	struct diag_event ev = { .kind = DIAG_EV_DONE };

	if (s->done)
		return;
	for (int p = DIAG_PHASE_LOCAL; p <= DIAG_PHASE_END; p++)
		apply_phase(s, (enum diag_rule_phase)p);
	skip_from(s, DIAG_RESOLVE, "not reached");
	for (int i = 0; i < DIAG_STAGES; i++) {
		bool applies = true;
		if (!r->tls_target && (i == DIAG_TLS || i == DIAG_VERIFY))
			applies = false;
		if (s->o.tls_only && (i == DIAG_MQTT_CONNECT || i == DIAG_PUBSUB))
			applies = false;
		if (applies && r->stages[i].status != DIAG_OK)
			ok = false;
	}
	findings_sort(&r->findings);
	if (r->broker_conf || r->broker_log)
		fold_broker_side(s);
	if (findings_has_error(&r->findings))
		ok = false;
	r->ok = ok;
	r->total_ms = mq_now_ms() - s->t_start;
	s->done = true;
	ev.result = r;
	emit(s, &ev);
}

/* ---------------------------------------------------------------- local files */

static void file_state(struct diag_file_obs *f, enum diag_file_state st, const char *fmt, ...) MQ_PRINTF(3, 4);
static void file_state(struct diag_file_obs *f, enum diag_file_state st, const char *fmt, ...)
{
	va_list ap;

	f->state = st;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(f->why, sizeof f->why, fmt, ap);
		va_end(ap);
	}
}

/* Exists, is a regular file, can be opened, is not empty. False with the state set otherwise. */
static bool file_usable(struct diag_file_obs *f)
{
	struct stat st;
	int fd;

	if (stat(f->path, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			file_state(f, DIAG_FILE_MISSING, "%s", strerror(errno));
		else
			file_state(f, DIAG_FILE_UNREADABLE, "%s", strerror(errno));
		return false;
	}
	if (S_ISDIR(st.st_mode)) {
		file_state(f, DIAG_FILE_UNREADABLE, "it is a directory");
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		file_state(f, DIAG_FILE_UNREADABLE, "it is not a regular file");
		return false;
	}
	fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		file_state(f, DIAG_FILE_UNREADABLE, "%s", strerror(errno));
		return false;
	}
	close(fd);
	if (st.st_size == 0) {
		file_state(f, DIAG_FILE_EMPTY, NULL);
		return false;
	}
	return true;
}

static int pw_refuse(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	*(bool *)u = true;
	return -1;
}

static void check_cafile(struct diag_session *s)
{
	struct diag_file_obs *f = &s->obs.cafile;
	struct mq_err err = { 0 };
	bool der = false, any_ca = false;

	if (!s->t.cafile)
		return;
	snprintf(s->path_ca, sizeof s->path_ca, "%s", s->t.cafile);
	f->path = s->path_ca;
	f->state = DIAG_FILE_OK;
	if (!file_usable(f))
		return;
	if (chain_load_file(f->path, &s->ca_stack, &der, &err) < 0) {
		file_state(f, DIAG_FILE_NOT_CERT, "%s", err.msg);
		ERR_clear_error();
		return;
	}
	s->n_ca = (size_t)sk_X509_num(s->ca_stack);
	s->ca = calloc(s->n_ca, sizeof *s->ca);
	if (!s->ca)
		abort();
	for (size_t i = 0; i < s->n_ca; i++) {
		X509 *x = sk_X509_value(s->ca_stack, (int)i);
		if (cert_info_from_x509(x, (int)i, &s->ca[i], &err) < 0)
			mq_err_clear(&err);
		if (X509_check_ca(x) >= 1)
			any_ca = true;
	}
	if (der)
		file_state(f, DIAG_FILE_DER, "OpenSSL's CA loading reads only PEM ('-----BEGIN CERTIFICATE-----')");
	else if (!any_ca)
		file_state(f, DIAG_FILE_NOT_CA, NULL);
	s->obs.ca = s->ca;
	s->obs.n_ca = s->n_ca;
	{
		/* An mqttls PKI (or any with both CA keys beside it): fixes can name the directory. */
		char tmp[PATH_MAX], dir[PATH_MAX], k1[PATH_MAX], k2[PATH_MAX];
		snprintf(tmp, sizeof tmp, "%s", f->path);
		snprintf(dir, sizeof dir, "%s", dirname(tmp));
		if (mq_path_join(k1, sizeof k1, dir, "ca.key") && mq_path_join(k2, sizeof k2, dir, "intermediate.key") &&
		    mq_file_exists(k1) && mq_file_exists(k2) && strlen(dir) < sizeof s->obs.pki_dir && !strpbrk(dir, " '\"\\$`"))
			memcpy(s->obs.pki_dir, dir, strlen(dir) + 1);
	}
}

static void check_capath(struct diag_session *s)
{
	struct diag_file_obs *f = &s->obs.capath;
	struct stat st;

	if (!s->t.capath)
		return;
	snprintf(s->path_capath, sizeof s->path_capath, "%s", s->t.capath);
	f->path = s->path_capath;
	f->state = DIAG_FILE_OK;
	if (stat(f->path, &st) < 0)
		file_state(f, DIAG_FILE_MISSING, "%s", strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		file_state(f, DIAG_FILE_NOT_DIR, NULL);
}

static void check_client(struct diag_session *s)
{
	struct diag_file_obs *fc = &s->obs.cert, *fk = &s->obs.key;
	struct mq_err err = { 0 };
	STACK_OF(X509) *sk = NULL;
	bool der = false, asked = false;
	BIO *bio;

	if (!s->t.cert || !s->t.key)
		return;
	snprintf(s->path_cert, sizeof s->path_cert, "%s", s->t.cert);
	snprintf(s->path_key, sizeof s->path_key, "%s", s->t.key);
	fc->path = s->path_cert;
	fk->path = s->path_key;
	fc->state = fk->state = DIAG_FILE_OK;

	if (file_usable(fc)) {
		if (chain_load_file(fc->path, &sk, &der, &err) < 0) {
			file_state(fc, DIAG_FILE_NOT_CERT, "%s", err.msg);
			ERR_clear_error();
		} else {
			s->cert = sk_X509_shift(sk);
			s->cert_extra = sk;
			if (der)
				file_state(fc, DIAG_FILE_DER, "mosquitto_pub and libmosquitto read the client certificate as PEM");
			if (cert_info_from_x509(s->cert, 0, &s->client, &err) == 0) {
				s->have_client = true;
				s->obs.client = &s->client;
			}
		}
	}
	if (file_usable(fk)) {
		bio = BIO_new_file(fk->path, "r");
		if (bio)
			s->key = PEM_read_bio_PrivateKey(bio, NULL, pw_refuse, &asked);
		if (!s->key && bio && !asked) {
			(void)BIO_reset(bio);
			EVP_PKEY *k = d2i_PrivateKey_bio(bio, NULL);
			if (k) {
				EVP_PKEY_free(k);
				file_state(fk, DIAG_FILE_DER, "a DER key; mosquitto reads PEM keys");
			} else {
				char head[64] = "";
				FILE *fp = fopen(fk->path, "r");
				if (fp) {
					size_t n = fread(head, 1, sizeof head - 1, fp);
					head[n] = '\0';
					fclose(fp);
				}
				file_state(fk, DIAG_FILE_NOT_KEY, "%s", strstr(head, "BEGIN CERTIFICATE") ? "it holds a certificate, not a key" : "no PEM private key in it");
			}
		} else if (!s->key && asked) {
			file_state(fk, DIAG_FILE_ENCRYPTED, NULL);
		}
		BIO_free(bio);
		ERR_clear_error();
	}
	if (s->cert && s->key && fc->state == DIAG_FILE_OK && fk->state == DIAG_FILE_OK && X509_check_private_key(s->cert, s->key) != 1)
		s->obs.key_mismatch = true;
	ERR_clear_error();
}

/* ---------------------------------------------------------------- the missing issuer, on disk */

static bool cert_file_name(const char *n)
{
	size_t l = strlen(n);
	static const char *const ext[] = { ".crt", ".pem", ".cer", ".ca-bundle" };

	for (size_t i = 0; i < MQ_ARRAY_LEN(ext); i++) {
		size_t e = strlen(ext[i]);
		if (l > e && !strcasecmp(n + l - e, ext[i]))
			return true;
	}
	return false;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/*
 * The user's own PKI files, looked for by content (never by name alone): in the directories of
 * --cafile, --cert and --capath, and in the directories beside the CA file's — tutorials keep
 * root/, intermediate/, server/ and devices/ side by side. Bounded in directories, files and
 * bytes, so a CA file in /etc/ssl/certs costs little.
 */
#define SCAN_DIRS 24
#define SCAN_FILES 400
#define SCAN_BYTES (8u * 1024 * 1024)

struct pki_scan {
	char dirs[SCAN_DIRS][PATH_MAX];
	size_t n_dirs;
	int files;
	size_t bytes;
};

static void scan_add_dir(struct pki_scan *sc, const char *dir)
{
	struct stat st;

	if (sc->n_dirs >= SCAN_DIRS || strlen(dir) >= PATH_MAX || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return;
	for (size_t k = 0; k < sc->n_dirs; k++)
		if (!strcmp(sc->dirs[k], dir))
			return;
	snprintf(sc->dirs[sc->n_dirs++], PATH_MAX, "%s", dir);
}

static void scan_dirs_init(struct diag_session *s, struct pki_scan *sc)
{
	const char *files[] = { s->t.cafile, s->t.cert };
	char tmp[PATH_MAX], dir[PATH_MAX], parent[PATH_MAX];

	memset(sc, 0, sizeof *sc);
	for (size_t i = 0; i < MQ_ARRAY_LEN(files); i++) {
		if (!files[i])
			continue;
		snprintf(tmp, sizeof tmp, "%s", files[i]);
		scan_add_dir(sc, dirname(tmp));
	}
	if (s->t.capath)
		scan_add_dir(sc, s->t.capath);
	if (!s->t.cafile)
		return;
	snprintf(tmp, sizeof tmp, "%s", s->t.cafile);
	snprintf(dir, sizeof dir, "%s", dirname(tmp));
	snprintf(tmp, sizeof tmp, "%s", dir);
	snprintf(parent, sizeof parent, "%s", dirname(tmp));
	if (!strcmp(parent, dir))
		return;
	scan_add_dir(sc, parent);
	{
		struct dirent **names = NULL;
		int n = scandir(parent, &names, NULL, by_name);
		for (int i = 0; i < n; i++) {
			char sub[PATH_MAX];
			if (names[i]->d_name[0] != '.' && mq_path_join(sub, sizeof sub, parent, names[i]->d_name))
				scan_add_dir(sc, sub);
			free(names[i]);
		}
		free(names);
	}
}

/* Called for each certificate file; return true to stop the scan. */
typedef bool (*scan_visit)(struct diag_session *s, const char *path, STACK_OF(X509) *sk, void *ctx);

static void scan_pki_files(struct diag_session *s, struct pki_scan *sc, scan_visit visit, void *ctx)
{
	bool stop = false;

	for (size_t i = 0; i < sc->n_dirs && !stop; i++) {
		struct dirent **names = NULL;
		int n = scandir(sc->dirs[i], &names, NULL, by_name);
		for (int d = 0; d < n; d++) {
			const char *name = names[d]->d_name;
			char path[PATH_MAX];
			struct stat st;
			STACK_OF(X509) *sk = NULL;
			bool der = false;
			struct mq_err err = { 0 };

			if (stop || sc->files >= SCAN_FILES || sc->bytes >= SCAN_BYTES || name[0] == '.' || !cert_file_name(name) ||
			    !mq_path_join(path, sizeof path, sc->dirs[i], name) || stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
			    st.st_size > 1024 * 1024)
				continue;
			sc->files++;
			sc->bytes += (size_t)st.st_size;
			if (chain_load_file(path, &sk, &der, &err) < 0) {
				ERR_clear_error();
				continue;
			}
			stop = visit(s, path, sk, ctx);
			ERR_clear_error();
			sk_X509_pop_free(sk, X509_free);
		}
		for (int d = 0; d < n; d++)
			free(names[d]);
		free(names);
	}
	sc->files = 0;
	sc->bytes = 0;
}

/* Does c (a CA) sign x? By name and by signature: a CA made again under the same name does not. */
static bool signs(X509 *c, X509 *x)
{
	EVP_PKEY *pk = X509_get0_pubkey(c);

	return !X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(x)) && X509_check_ca(c) >= 1 && pk &&
	       X509_verify(x, pk) == 1;
}

struct issuer_look {
	X509 *top;
	int pass;            /* 0: a file holding it alone (intermediate.crt); 1: first in its file; 2: anywhere */
	bool found, chains_to_trusted;
	bool self_signed;    /* the issuer found is a root */
	bool want_key;       /* find its key beside it too */
	char path[512], key[512];
};

static bool key_beside(const char *crt, X509 *x, char *out, size_t size);

static bool visit_issuer(struct diag_session *s, const char *path, STACK_OF(X509) *sk, void *ctx)
{
	struct issuer_look *l = ctx;

	if (l->pass == 0 && sk_X509_num(sk) != 1)
		return false;
	for (int i = 0; i < sk_X509_num(sk) && (l->pass == 2 || i == 0); i++) {
		X509 *c = sk_X509_value(sk, i);
		if (!signs(c, l->top))
			continue;
		l->found = true;
		l->self_signed = X509_check_issued(c, c) == X509_V_OK;
		snprintf(l->path, sizeof l->path, "%.500s", path);
		if (l->want_key && i == 0)
			key_beside(path, c, l->key, sizeof l->key);
		for (int k = 0; s->ca_stack && k < sk_X509_num(s->ca_stack); k++) {
			X509 *ca = sk_X509_value(s->ca_stack, k);
			if (X509_cmp(ca, c) && signs(ca, c))
				l->chains_to_trusted = true;
		}
		return true;
	}
	return false;
}

/* The CA that signs x among the user's files, a file that starts with it preferred. */
static bool look_issuer(struct diag_session *s, struct pki_scan *sc, X509 *x, struct issuer_look *l)
{
	bool want_key = l->want_key;

	memset(l, 0, sizeof *l);
	l->want_key = want_key;
	l->top = x;
	for (l->pass = 0; l->pass < 3 && !l->found; l->pass++)
		scan_pki_files(s, sc, visit_issuer, l);
	return l->found;
}

/* When the chain stops at an unknown issuer, look for that issuer among the user's files. */
static void find_missing_issuer(struct diag_session *s, struct pki_scan *sc)
{
	struct issuer_look l;
	X509 *top;

	if (!s->chain_x509 || sk_X509_num(s->chain_x509) == 0)
		return;
	top = sk_X509_value(s->chain_x509, sk_X509_num(s->chain_x509) - 1);
	if (X509_check_issued(top, top) == X509_V_OK || !look_issuer(s, sc, top, &l))
		return;
	s->obs.issuer_found = true;
	s->obs.issuer_chains_to_trusted = l.chains_to_trusted;
	snprintf(s->obs.issuer_path, sizeof s->obs.issuer_path, "%s", l.path);
	add_log(s, "the issuer of the broker's last certificate is in %s (%s)", s->obs.issuer_path,
		s->obs.issuer_chains_to_trusted ? "signed by a CA of --cafile" : "not signed by a CA of --cafile");
}

/* Is the file at cand a private key for x? One that cannot be read (0600, another owner) or
 * asks for a password is taken by its name alone: that, not its content, is what the fix names. */
static bool key_for(const char *cand, X509 *x, bool by_name)
{
	struct stat st;
	BIO *bio;
	EVP_PKEY *key = NULL;
	bool asked = false, ok;

	if (stat(cand, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 64 * 1024)
		return false;
	bio = BIO_new_file(cand, "r");
	if (!bio) {
		ERR_clear_error();
		return by_name;
	}
	key = PEM_read_bio_PrivateKey(bio, NULL, pw_refuse, &asked);
	ok = key ? X509_check_private_key(x, key) == 1 : asked && by_name;
	EVP_PKEY_free(key);
	BIO_free(bio);
	ERR_clear_error();
	return ok;
}

/* The private key of the certificate in crt: by the names people give pairs (server.crt and
 * server.key, broker-fullchain.crt and broker.key, server-cert.pem and server-key.pem), else
 * any key in the same directory that matches it. */
static bool key_beside(const char *crt, X509 *x, char *out, size_t size)
{
	static const char *const tails[] = { "-fullchain", ".fullchain", "_fullchain", "-chain", "_chain", "-cert", "_cert", "" };
	static const char *const kinds[] = { ".key", "-key.pem", "_key.pem", ".key.pem" };
	char stem[PATH_MAX], cand[PATH_MAX + 16], dir[PATH_MAX];
	char *dot, *slash;
	struct dirent **names = NULL;
	int n;
	bool found = false;

	snprintf(stem, sizeof stem, "%s", crt);
	dot = strrchr(stem, '.');
	slash = strrchr(stem, '/');
	if (dot && (!slash || dot > slash))
		*dot = '\0';
	for (size_t i = 0; i < MQ_ARRAY_LEN(tails); i++) {
		size_t l = strlen(stem), t = strlen(tails[i]);
		if (t && (l <= t || strcmp(stem + l - t, tails[i])))
			continue;
		for (size_t k = 0; k < MQ_ARRAY_LEN(kinds); k++) {
			snprintf(cand, sizeof cand, "%.*s%s", (int)(l - t), stem, kinds[k]);
			if (key_for(cand, x, true) && strlen(cand) < size) {
				memcpy(out, cand, strlen(cand) + 1);
				return true;
			}
		}
	}
	snprintf(cand, sizeof cand, "%s", crt);
	snprintf(dir, sizeof dir, "%s", dirname(cand));
	n = scandir(dir, &names, NULL, by_name);
	for (int d = 0; d < n; d++) {
		const char *nm = names[d]->d_name;
		size_t l = strlen(nm);
		if (!found && d < 200 && nm[0] != '.' && ((l > 4 && !strcmp(nm + l - 4, ".key")) || (l > 8 && !strcmp(nm + l - 8, "-key.pem"))) &&
		    mq_path_join(cand, sizeof cand, dir, nm) && key_for(cand, x, false) && strlen(cand) < size) {
			memcpy(out, cand, strlen(cand) + 1);
			found = true;
		}
		free(names[d]);
	}
	free(names);
	return found;
}

struct user_look {
	X509 *leaf, *issuer;
	X509 *root_of;       /* the issuer when it is an intermediate: the root above it is wanted too */
};

static bool visit_user(struct diag_session *s, const char *path, STACK_OF(X509) *sk, void *ctx)
{
	struct user_look *l = ctx;
	struct diag_user_files *u = &s->obs.files;
	X509 *first = sk_X509_value(sk, 0);

	if (!first)
		return false;
	if (!X509_cmp(first, l->leaf)) {
		/* The leaf alone (server.crt) is what a re-issue rewrites; leaf + CA is the chain file. */
		char *slot = sk_X509_num(sk) == 1 ? u->leaf_crt : u->chain_crt;
		if (!*slot && strlen(path) < sizeof u->leaf_crt)
			memcpy(slot, path, strlen(path) + 1);
	}
	if (l->issuer && !u->issuer_crt[0] && !X509_cmp(first, l->issuer) && strlen(path) < sizeof u->issuer_crt)
		memcpy(u->issuer_crt, path, strlen(path) + 1);
	if (l->root_of && !u->root_crt[0] && signs(first, l->root_of) && strlen(path) < sizeof u->root_crt)
		memcpy(u->root_crt, path, strlen(path) + 1);
	return u->leaf_crt[0] && u->chain_crt[0] && (!l->issuer || u->issuer_crt[0]) && (!l->root_of || u->root_crt[0]);
}

/*
 * The files a fix for the served certificate names: the certificate itself, its key, the CA
 * that issued it and that CA's key — so the printed openssl commands are the user's own
 * (server.crt, rootCA.key), whatever tool or tutorial made them.
 */
static void find_user_files(struct diag_session *s, struct pki_scan *sc)
{
	struct diag_user_files *u = &s->obs.files;
	struct user_look l = { 0 };

	if (!s->chain_x509 || sk_X509_num(s->chain_x509) == 0)
		return;
	l.leaf = sk_X509_value(s->chain_x509, 0);
	/* Its issuer: sent by the broker, or a CA of --cafile that signs it. */
	if (sk_X509_num(s->chain_x509) > 1 && signs(sk_X509_value(s->chain_x509, 1), l.leaf))
		l.issuer = sk_X509_value(s->chain_x509, 1);
	for (int k = 0; !l.issuer && s->ca_stack && k < sk_X509_num(s->ca_stack); k++)
		if (signs(sk_X509_value(s->ca_stack, k), l.leaf))
			l.issuer = sk_X509_value(s->ca_stack, k);
	if (l.issuer && X509_cmp(l.issuer, l.leaf) == 0)
		l.issuer = NULL;   /* self-signed: no CA to sign with */
	u->issuer_is_root = l.issuer && X509_check_issued(l.issuer, l.issuer) == X509_V_OK;
	if (l.issuer && !u->issuer_is_root)
		l.root_of = l.issuer;
	scan_pki_files(s, sc, visit_user, &l);
	if (u->root_crt[0]) {
		STACK_OF(X509) *sk = NULL;
		bool der = false;
		struct mq_err err = { 0 };
		if (chain_load_file(u->root_crt, &sk, &der, &err) == 0 && sk_X509_num(sk) > 0)
			key_beside(u->root_crt, sk_X509_value(sk, 0), u->root_key, sizeof u->root_key);
		if (sk)
			sk_X509_pop_free(sk, X509_free);
		ERR_clear_error();
	}
	if (u->leaf_crt[0] || u->chain_crt[0])
		key_beside(u->leaf_crt[0] ? u->leaf_crt : u->chain_crt, l.leaf, u->leaf_key, sizeof u->leaf_key);
	if (u->issuer_crt[0])
		key_beside(u->issuer_crt, l.issuer, u->issuer_key, sizeof u->issuer_key);
	u->searched = true;
	if (u->leaf_crt[0] || u->chain_crt[0])
		add_log(s, "the served certificate is %s%s%s (key %s); its CA %s (key %s)", u->leaf_crt, u->leaf_crt[0] && u->chain_crt[0] ? " and " : "",
			u->chain_crt, u->leaf_key[0] ? u->leaf_key : "not found", u->issuer_crt[0] ? u->issuer_crt : "not found",
			u->issuer_key[0] ? u->issuer_key : "not found");
}

/* The issuer of a non-CA certificate given as --cafile, among the user's files: the CA to give instead. */
static bool visit_cafile_issuer(struct diag_session *s, const char *path, STACK_OF(X509) *sk, void *ctx)
{
	X509 *x = ctx;
	X509 *first = sk_X509_value(sk, 0);

	if (!first || !signs(first, x) || strlen(path) >= sizeof s->obs.cafile_issuer)
		return false;
	memcpy(s->obs.cafile_issuer, path, strlen(path) + 1);
	return true;
}

/*
 * The files a fix for the client certificate names: the CA that issued it (and its key), whether
 * that CA is an intermediate the client must send along, and the key of the CA of --cafile (the
 * CA a tutorial broker verifies devices with too).
 */
static void find_client_files(struct diag_session *s)
{
	struct pki_scan sc;
	struct issuer_look l = { .want_key = true };

	if (s->obs.client_files_searched)
		return;
	s->obs.client_files_searched = true;
	if (s->ca_stack && sk_X509_num(s->ca_stack) == 1 && X509_check_ca(sk_X509_value(s->ca_stack, 0)) >= 1)
		key_beside(s->t.cafile, sk_X509_value(s->ca_stack, 0), s->obs.cafile_key, sizeof s->obs.cafile_key);
	if (!s->cert)
		return;
	s->obs.client_extra = s->cert_extra ? (size_t)sk_X509_num(s->cert_extra) : 0;
	if (X509_check_issued(s->cert, s->cert) == X509_V_OK)
		return;
	scan_dirs_init(s, &sc);
	if (!look_issuer(s, &sc, s->cert, &l))
		return;
	snprintf(s->obs.client_issuer, sizeof s->obs.client_issuer, "%s", l.path);
	snprintf(s->obs.client_issuer_key, sizeof s->obs.client_issuer_key, "%s", l.key);
	s->obs.client_issuer_is_root = l.self_signed;
	add_log(s, "the client certificate's CA is %s (%s)", l.path, l.self_signed ? "a root" : "an intermediate");
}

static void local_checks(struct diag_session *s)
{
	check_cafile(s);
	if (s->obs.cafile.state == DIAG_FILE_NOT_CA && s->ca_stack && sk_X509_num(s->ca_stack)) {
		struct pki_scan sc;
		scan_dirs_init(s, &sc);
		scan_pki_files(s, &sc, visit_cafile_issuer, sk_X509_value(s->ca_stack, 0));
	}
	check_capath(s);
	check_client(s);
	if (s->have_client && (s->client.not_after < (long long)time(NULL) || s->client.not_before > (long long)time(NULL)))
		find_client_files(s);
	for (size_t i = 0; i < s->n_ca; i++)
		add_log(s, "CA file: %s certificate %zu is a %s", s->t.cafile, i, s->ca[i].is_ca ? "CA" : "non-CA certificate");
}

/* Which NAME.crt of the user's PKI directory is the certificate the broker serves. */
static void find_served_name(struct diag_session *s)
{
	struct dirent **names = NULL;
	X509 *leafx;
	int n;

	if (!s->obs.pki_dir[0] || !s->chain_x509 || sk_X509_num(s->chain_x509) == 0)
		return;
	leafx = sk_X509_value(s->chain_x509, 0);
	n = scandir(s->obs.pki_dir, &names, NULL, by_name);
	for (int d = 0; d < n && d < 400; d++) {
		const char *nm = names[d]->d_name;
		size_t l = strlen(nm);
		char path[PATH_MAX];
		struct stat st;
		BIO *bio;
		X509 *x = NULL;

		if (s->obs.served_name[0] || l < 5 || l - 4 >= sizeof s->obs.served_name || strcmp(nm + l - 4, ".crt") ||
		    (l > 14 && !strcmp(nm + l - 14, "-fullchain.crt")) ||
		    nm[strspn(nm, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")] != '\0' ||
		    !mq_path_join(path, sizeof path, s->obs.pki_dir, nm) || stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_size > 256 * 1024)
			continue;
		bio = BIO_new_file(path, "r");
		if (bio)
			x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (x && X509_cmp(x, leafx) == 0) {
			memcpy(s->obs.served_name, nm, l - 4);
			s->obs.served_name[l - 4] = '\0';
		}
		X509_free(x);
		BIO_free(bio);
		ERR_clear_error();
	}
	for (int d = 0; d < n; d++)
		free(names[d]);
	free(names);
}

/* The chain's certificates, then the CAs the client trusts: which names what. */
static X509 *chain_top(struct diag_session *s)
{
	return s->chain_x509 && sk_X509_num(s->chain_x509) ? sk_X509_value(s->chain_x509, sk_X509_num(s->chain_x509) - 1) : NULL;
}

struct same_name_look {
	X509 *top;
};

/* A file of --capath that holds the CA the chain needs (or the very root it sends). */
static bool visit_capath(struct diag_session *s, const char *path, STACK_OF(X509) *sk, void *ctx)
{
	struct same_name_look *l = ctx;

	for (int i = 0; i < sk_X509_num(sk); i++) {
		X509 *c = sk_X509_value(sk, i);
		if ((signs(c, l->top) || !X509_cmp(c, l->top)) && strlen(path) < sizeof s->obs.capath_unhashed) {
			memcpy(s->obs.capath_unhashed, path, strlen(path) + 1);
			return true;
		}
	}
	return false;
}

static void name_of(X509 *x, char *buf, size_t size)
{
	struct cert_info ci = { 0 };
	struct mq_err err = { 0 };

	buf[0] = '\0';
	if (cert_info_from_x509(x, 0, &ci, &err) == 0 && ci.subject)
		snprintf(buf, size, "%s", ci.subject);
	cert_info_free(&ci);
}

/*
 * Why the trusted CAs did not verify a chain whose issuer is known by name: a CA of the same
 * name with another key (made again), the right CA in a --capath that was never hashed, or a CA
 * file that holds the issuing intermediate but not the root above it.
 */
static void find_trust_mismatch(struct diag_session *s, struct pki_scan *sc)
{
	X509 *top = chain_top(s);
	int n = s->chain_x509 ? sk_X509_num(s->chain_x509) : 0;

	if (!top)
		return;
	for (int k = 0; s->ca_stack && k < sk_X509_num(s->ca_stack); k++) {
		X509 *ca = sk_X509_value(s->ca_stack, k);
		for (int i = 0; i < n && !s->obs.ca_same_name[0] && !s->obs.cafile_partial[0]; i++) {
			X509 *x = sk_X509_value(s->chain_x509, i);
			bool self = X509_check_issued(x, x) == X509_V_OK;
			if (signs(ca, x) || !X509_cmp(ca, x)) {
				/* It does verify this one: the CA file stops below a root. */
				if (X509_check_issued(ca, ca) != X509_V_OK) {
					struct issuer_look l;
					name_of(ca, s->obs.cafile_partial, sizeof s->obs.cafile_partial);
					if (look_issuer(s, sc, ca, &l))
						snprintf(s->obs.cafile_root, sizeof s->obs.cafile_root, "%s", l.path);
				}
				continue;
			}
			if (!X509_NAME_cmp(X509_get_subject_name(ca), self ? X509_get_subject_name(x) : X509_get_issuer_name(x)))
				name_of(ca, s->obs.ca_same_name, sizeof s->obs.ca_same_name);
		}
	}
	if (s->t.capath && !s->t.cafile) {
		struct same_name_look l = { top };
		struct pki_scan only = { 0 };
		snprintf(only.dirs[0], PATH_MAX, "%s", s->t.capath);
		only.n_dirs = 1;
		scan_pki_files(s, &only, visit_capath, &l);
	}
}

/* Warnings whose fixes re-issue the served certificate need the user's files even when it verified. */
static bool needs_user_files(struct diag_session *s)
{
	const struct cert_info *l = s->r->n_chain ? &s->r->chain[0] : NULL;
	bool ds = false, server = false;

	if (!l)
		return false;
	for (size_t i = 0; i < l->n_key_usage; i++)
		ds |= !strcmp(l->key_usage[i], "digitalSignature");
	for (size_t i = 0; i < l->n_eku; i++)
		server |= !strcmp(l->eku[i], "serverAuth");
	return !l->has_san || (l->has_key_usage && !ds) || (l->has_eku && !server);
}

/* ---------------------------------------------------------------- MQTT stages */

static void on_mqconn(struct mqconn *c, enum mqconn_phase ph, void *ctx);
static void on_weak(struct probe *p, enum probe_phase ph, void *ctx);

static void check_end(struct diag_session *s)
{
	if (!s->mq_running && s->weak_pending == 0 && s->followups == 0)
		complete(s);
}

static void start_mqtt(struct diag_session *s)
{
	struct mqconn_opts mo = { 0 };
	struct mq_err err = { 0 };

	mo.connect_host = s->connected.text;
	mo.ctx = s->r->tls_target ? s->client_ctx : NULL;
	mo.timeout = s->o.timeout;
	mo.roundtrip = true;
	stage_start(s, DIAG_MQTT_CONNECT);
	s->mq = mqconn_start(s->base, &s->t, &mo, on_mqconn, s, &err);
	if (!s->mq) {
		stage_end(s, DIAG_MQTT_CONNECT, DIAG_FAILED, -1, "%s", err.msg);
		add_log(s, "libmosquitto: %s", err.msg);
		return;
	}
	s->mq_running = true;
}

/* One more handshake on the connected address with ctx (taken: freed here); on_weak reports it. */
static void weak_probe(struct diag_session *s, struct probe **slot, struct probe_opts *po, SSL_CTX *ctx)
{
	struct mq_err err = { 0 };

	if (!ctx)
		return;
	po->ctx = ctx;
	*slot = probe_start(s->base, po, on_weak, s, &err);
	if (*slot)
		s->weak_pending++;
	SSL_CTX_free(ctx);
}

static void start_weak(struct diag_session *s)
{
	struct probe_opts po = { 0 };
	struct mq_err err = { 0 };
	SSL_CTX *c_old = tlsctx_new(&s->t, NULL, TLSCTX_OLD_VERSIONS, &err);
	SSL_CTX *c_nofs = tlsctx_new(&s->t, NULL, TLSCTX_NO_FS, &err);

	po.kind = PROBE_TLS;
	po.addrs = &s->connected;
	po.n_addrs = 1;
	po.sni = tlsctx_sni(&s->t);
	po.timeout = s->o.timeout;
	weak_probe(s, &s->wold, &po, c_old);
	weak_probe(s, &s->wnofs, &po, c_nofs);
	/* This client got TLS 1.3; a device without it (an ESP32 on mbedTLS 2.x) offers TLS 1.2 only.
	 * Does the broker take such a handshake at all? */
	if (!s->v12 && s->obs.tls && s->obs.tls->version == TLS1_3_VERSION && !s->t.tls_max && s->t.tls_min != TLS1_3_VERSION)
		weak_probe(s, &s->v12, &po, tlsctx_new(&s->t, NULL, TLSCTX_ONLY_12, &err));
	ERR_clear_error();
}

static void on_weak(struct probe *p, enum probe_phase ph, void *ctx)
{
	struct diag_session *s = ctx;

	if (ph != PROBE_PHASE_DONE)
		return;
	if (p == s->wold)
		s->obs.weak_old = probe_result(p);
	else if (p == s->v12)
		s->obs.only12 = probe_result(p);
	else
		s->obs.weak_nofs = probe_result(p);
	if (probe_result(p)->handshake_done)
		add_log(s, "weak TLS probe accepted: %s %s", probe_result(p)->version_name, probe_result(p)->cipher);
	s->weak_pending--;
	check_end(s);
}

static void log_mq(struct diag_session *s, const struct mqconn_result *m)
{
	for (size_t i = 0; i < m->n_log; i++) {
		char e[400];
		mq_escape(m->log[i], strlen(m->log[i]), e, sizeof e);
		add_log(s, "libmosquitto: %s", e);
	}
}

static void on_mqconn(struct mqconn *c, enum mqconn_phase ph, void *ctx)
{
	struct diag_session *s = ctx;
	const struct mqconn_result *m = mqconn_result(c);
	int v = m->mqtt_version == 5 ? 5 : 4;

	s->obs.mq = m;
	if (ph == MQCONN_PHASE_CONNACK) {
		if (m->connack && m->connack_rc == 0) {
			stage_end(s, DIAG_MQTT_CONNECT, DIAG_OK, m->connack_ms, "CONNACK %d (accepted) for client id %s, MQTT %s", m->connack_rc,
				  m->client_id, mqttdec_version_name(v));
			stage_start(s, DIAG_PUBSUB);
		} else if (m->connack) {
			stage_end(s, DIAG_MQTT_CONNECT, DIAG_FAILED, m->connack_ms, "CONNACK %d (%s)", m->connack_rc,
				  mqttdec_reason_name(v, MQTT_CONNACK, (uint8_t)m->connack_rc));
		} else {
			stage_end(s, DIAG_MQTT_CONNECT, DIAG_FAILED, -1, "no CONNACK: %s", m->mosq_err_text[0] ? m->mosq_err_text : "the connection failed");
		}
		return;
	}
	/* DONE */
	if (s->r->stages[DIAG_MQTT_CONNECT].status == DIAG_RUNNING)
		stage_end(s, DIAG_MQTT_CONNECT, DIAG_FAILED, -1, "%s",
			  m->end == MQCONN_END_CONNECT_TIMEOUT ? "no CONNACK within the timeout" :
			  m->mosq_err_text[0] ? m->mosq_err_text : "no CONNACK");
	if (s->r->stages[DIAG_PUBSUB].status == DIAG_RUNNING) {
		char topic[300];
		mq_escape(m->topic, strlen(m->topic), topic, sizeof topic);
		switch (m->end) {
		case MQCONN_END_ROUNDTRIP_OK:
			stage_end(s, DIAG_PUBSUB, DIAG_OK, m->roundtrip_ms, "QoS %d message came back on %s", s->t.qos, topic);
			break;
		case MQCONN_END_SUB_DENIED:
			stage_end(s, DIAG_PUBSUB, DIAG_FAILED, -1, "subscription to %s refused (SUBACK 0x%02X)", topic, m->granted_qos);
			break;
		case MQCONN_END_PUB_DENIED:
			stage_end(s, DIAG_PUBSUB, DIAG_FAILED, -1, "publish to %s refused (PUBACK 0x%02X)", topic, m->puback_rc);
			break;
		case MQCONN_END_ROUNDTRIP_TIMEOUT:
			stage_end(s, DIAG_PUBSUB, DIAG_FAILED, -1, "the message on %s did not come back within %.0f s", topic, s->o.timeout);
			break;
		default:
			stage_end(s, DIAG_PUBSUB, DIAG_FAILED, -1, "connection lost: %s", m->mosq_err_text[0] ? m->mosq_err_text : "dropped");
			break;
		}
	}
	log_mq(s, m);
	apply_phase(s, DIAG_PHASE_MQTT);
	apply_phase(s, DIAG_PHASE_PUBSUB);
	s->mq_running = false;
	check_end(s);
}

/* ---------------------------------------------------------------- TLS stage */

static bool verification_failed(const struct diag_session *s)
{
	const struct probe_result *p = s->obs.tls;

	if (!p || s->t.verify == TARGET_VERIFY_NONE)
		return false;
	for (size_t i = 0; i < p->rec.n_verrs; i++) {
		int e = p->rec.verrs[i].err;
		if (s->t.verify == TARGET_VERIFY_NO_HOST && (e == X509_V_ERR_HOSTNAME_MISMATCH || e == X509_V_ERR_IP_ADDRESS_MISMATCH))
			continue;
		return true;
	}
	return false;
}

static void after_tls(struct diag_session *s)
{
	const struct probe_result *p = s->obs.tls;
	bool tls_ok = p->handshake_done && !p->rejected_after;

	apply_phase(s, DIAG_PHASE_TLS);
	if (!tls_ok || verification_failed(s) || s->o.tls_only) {
		skip_from(s, DIAG_MQTT_CONNECT, s->o.tls_only ? "not part of inspect" :
			  !tls_ok ? "TLS failed" : "the broker's certificate did not verify");
		if (tls_ok && !s->o.tls_only && !s->o.no_weak_probe)
			start_weak(s);
		check_end(s);
		return;
	}
	start_mqtt(s);
	if (!s->o.no_weak_probe)
		start_weak(s);
	check_end(s);
}

static void on_followup(struct probe *p, enum probe_phase ph, void *ctx)
{
	struct diag_session *s = ctx;
	const struct probe_result *r = probe_result(p);

	if (ph != PROBE_PHASE_DONE)
		return;
	if (p == s->plain) {
		s->obs.plain = r;
		if (r->connack)
			add_log(s, "plain MQTT CONNECT to %s:%d answered with CONNACK %d", r->address, s->t.port, r->connack_rc);
		else
			add_log(s, "plain MQTT CONNECT to %s:%d got no CONNACK", r->address, s->t.port);
	} else if (p == s->v12) {
		s->obs.accepts_12 = r->handshake_done ? 1 : 0;
	} else if (p == s->v13) {
		s->obs.accepts_13 = r->handshake_done ? 1 : 0;
	}
	if (--s->followups == 0 && s->main_done)
		after_tls(s);
}

static bool start_followup_for(struct diag_session *s, struct probe **slot, enum probe_kind kind, SSL_CTX *ctx, double timeout)
{
	struct probe_opts po = { 0 };
	struct mq_err err = { 0 };

	po.kind = kind;
	po.addrs = &s->connected;
	po.n_addrs = 1;
	po.ctx = ctx;
	po.sni = tlsctx_sni(&s->t);
	po.timeout = timeout;
	po.client_id = "mqttls-plain-probe";
	po.mqtt_version = s->t.mqtt_version == 5 ? 5 : 4;
	*slot = probe_start(s->base, &po, on_followup, s, &err);
	if (!*slot)
		return false;
	s->followups++;
	return true;
}

static bool start_followup(struct diag_session *s, struct probe **slot, enum probe_kind kind, SSL_CTX *ctx)
{
	return start_followup_for(s, slot, kind, ctx, s->o.timeout);
}

/*
 * Half the timeout into a handshake the peer has not answered with a single byte: ask it in
 * plain MQTT now, for the rest of the time, so a silent peer costs one --timeout, not two.
 */
static void on_silent(evutil_socket_t fd, short what, void *arg)
{
	struct diag_session *s = arg;
	const struct probe_result *r = s->main ? probe_result(s->main) : NULL;

	(void)fd;
	(void)what;
	if (!r || s->main_done || s->plain || r->tcp != PROBE_TCP_OK || r->bytes_in > 0)
		return;
	add_log(s, "no answer to the ClientHello after %.1f s: trying plain MQTT meanwhile", s->o.timeout / 2);
	start_followup_for(s, &s->plain, PROBE_PLAIN_MQTT, NULL, s->o.timeout / 2);
}

static void tls_detail(const struct probe_result *p, char *buf, size_t size)
{
	int a = tlsctx_alert_received(&p->rec), sent = tlsctx_alert_sent(&p->rec);

	if (p->handshake_done && !p->rejected_after) {
		snprintf(buf, size, "%s %s%s%s%s", p->version_name, p->cipher, p->group[0] ? " " : "", p->group,
			 p->rec.cert_request ? (p->rec.client_cert_sent ? ", client certificate accepted" : ", client certificate asked for") : "");
		return;
	}
	if (p->rejected_after)
		snprintf(buf, size, "%s handshake done, then the broker refused this client%s%s", p->version_name, a >= 0 ? ": alert " : "",
			 a >= 0 ? explain_alert_name(a) ? explain_alert_name(a) : "?" : "");
	else if (a >= 0)
		snprintf(buf, size, "the broker sent alert %d %s", a, explain_alert_name(a) ? explain_alert_name(a) : "");
	else if (p->bytes_in == 0 && (p->end == PROBE_END_EOF || p->end == PROBE_END_RESET))
		/* OpenSSL answers a closed socket with an alert of its own; the closing is the news. */
		snprintf(buf, size, "the broker %s the connection without a TLS answer", p->end == PROBE_END_RESET ? "reset" : "closed");
	else if (sent >= 0)
		snprintf(buf, size, "this client sent alert %d %s: %s", sent, explain_alert_name(sent) ? explain_alert_name(sent) : "", p->ssl_error_text);
	else if (p->end == PROBE_END_TIMEOUT)
		snprintf(buf, size, "no answer to the ClientHello");
	else if (p->end == PROBE_END_EOF)
		snprintf(buf, size, "the broker closed the connection%s", p->rec.server_hello ? " during the handshake" : " without a TLS answer");
	else if (p->end == PROBE_END_RESET)
		snprintf(buf, size, "the broker reset the connection");
	else
		snprintf(buf, size, "%s", p->ssl_error_text[0] ? p->ssl_error_text : "the handshake failed");
}

static void on_main(struct probe *p, enum probe_phase ph, void *ctx)
{
	struct diag_session *s = ctx;
	const struct probe_result *r = probe_result(p);
	char det[600];

	if (ph == PROBE_PHASE_TCP) {
		snprintf(s->r->address, sizeof s->r->address, "%s", r->address);
		if (r->tcp == PROBE_TCP_OK) {
			for (size_t i = 0; i < s->n_addrs; i++)
				if (!strcmp(s->addrs[i].text, r->address))
					s->connected = s->addrs[i];
			stage_end(s, DIAG_TCP, DIAG_OK, r->tcp_ms, "connected to %s port %d", r->address, s->t.port);
			if (s->r->tls_target) {
				stage_start(s, DIAG_TLS);
				s->ev_silent = evtimer_new(s->base, on_silent, s);
				if (s->ev_silent) {
					double h = s->o.timeout / 2;
					struct timeval tv = { .tv_sec = (time_t)h, .tv_usec = (suseconds_t)((h - (double)(time_t)h) * 1e6) };
					evtimer_add(s->ev_silent, &tv);
				}
			}
		} else {
			stage_end(s, DIAG_TCP, DIAG_FAILED, r->tcp_ms, "%s port %d: %s", r->address, s->t.port,
				  r->tcp == PROBE_TCP_TIMEOUT ? "no answer" : strerror(r->tcp_errno));
		}
		s->obs.tls = r;
		apply_phase(s, DIAG_PHASE_TCP);
		return;
	}

	/* DONE */
	s->obs.tls = r;
	if (r->tcp != PROBE_TCP_OK) {
		skip_from(s, DIAG_TLS, "TCP failed");
		check_end(s);
		return;
	}
	if (!s->r->tls_target) {
		stage_end(s, DIAG_TLS, DIAG_SKIPPED, 0, "plain MQTT (mqtt://): no TLS");
		stage_end(s, DIAG_VERIFY, DIAG_SKIPPED, 0, "plain MQTT (mqtt://): no certificate");
		if (s->o.tls_only)
			skip_from(s, DIAG_MQTT_CONNECT, "not part of inspect");
		else
			start_mqtt(s);
		check_end(s);
		return;
	}

	/* The TLS facts for the result. */
	struct diag_tls *tl = &s->r->tls;
	tl->handshake_done = r->handshake_done && !r->rejected_after;
	snprintf(tl->version, sizeof tl->version, "%s", r->version_name);
	snprintf(tl->cipher, sizeof tl->cipher, "%s", r->cipher);
	snprintf(tl->group, sizeof tl->group, "%s", r->group);
	snprintf(tl->sni, sizeof tl->sni, "%s", r->sni);
	tl->cert_requested = r->rec.cert_request;
	tl->client_cert_sent = r->rec.client_cert_sent;
	tl->alert_received = tlsctx_alert_received(&r->rec);
	tl->alert_sent = tlsctx_alert_sent(&r->rec);
	tl->verify_code = r->rec.n_verrs ? r->rec.verrs[0].err : X509_V_OK;
	snprintf(tl->verify_text, sizeof tl->verify_text, "%s", X509_verify_cert_error_string(tl->verify_code));
	for (size_t i = 0; i < r->rec.n_alerts; i++)
		add_log(s, "TLS alert %d %s %s the broker", r->rec.alerts[i].desc,
			explain_alert_name(r->rec.alerts[i].desc) ? explain_alert_name(r->rec.alerts[i].desc) : "",
			r->rec.alerts[i].sent ? "sent to" : "received from");
	if (r->ssl_error_text[0])
		add_log(s, "OpenSSL: %s", r->ssl_error_text);

	/* The chain, as certificates the faces can show. */
	s->chain_x509 = probe_take_chain(p);
	if (s->chain_x509) {
		size_t n = (size_t)sk_X509_num(s->chain_x509);
		s->r->chain = calloc(n, sizeof *s->r->chain);
		if (!s->r->chain)
			abort();
		for (size_t i = 0; i < n; i++) {
			struct mq_err err = { 0 };
			if (cert_info_from_x509(sk_X509_value(s->chain_x509, (int)i), (int)i, &s->r->chain[s->r->n_chain], &err) == 0) {
				struct diag_event ev = { .kind = DIAG_EV_CERT, .cert = &s->r->chain[s->r->n_chain] };
				s->r->n_chain++;
				emit(s, &ev);
			}
		}
		s->obs.chain = s->r->chain;
		s->obs.n_chain = s->r->n_chain;
	}

	tls_detail(r, det, sizeof det);
	stage_end(s, DIAG_TLS, r->handshake_done && !r->rejected_after ? DIAG_OK : DIAG_FAILED, r->tls_ms, "%s", det);

	/* Verification happened inside the handshake; it is reported on its own. */
	if (s->r->n_chain) {
		double vms = r->rec.verify_called ? r->rec.verify_last_ms - r->rec.verify_first_ms : 0;
		stage_start(s, DIAG_VERIFY);
		if (verification_failed(s) || needs_user_files(s)) {
			struct pki_scan sc;
			scan_dirs_init(s, &sc);
			if (verification_failed(s)) {
				find_missing_issuer(s, &sc);
				find_trust_mismatch(s, &sc);
			}
			find_user_files(s, &sc);
			find_served_name(s);
		}
		diag_rules_verify_summary(&s->obs, det, sizeof det);
		stage_end(s, DIAG_VERIFY, verification_failed(s) ? DIAG_FAILED : DIAG_OK, vms, "%s", det);
	} else {
		stage_end(s, DIAG_VERIFY, DIAG_SKIPPED, 0, "no certificate was presented");
	}

	/* Follow-ups the failure calls for, then the rules of the TLS phase. */
	s->main_done = true;
	if (s->ev_silent)
		evtimer_del(s->ev_silent);
	if ((!r->handshake_done || r->rejected_after) && r->rec.cert_request)
		find_client_files(s);
	if (!r->handshake_done && !r->rec.server_hello && tlsctx_alert_received(&r->rec) < 0 && !s->plain)
		start_followup(s, &s->plain, PROBE_PLAIN_MQTT, NULL);
	if (!r->handshake_done) {
		int reason = r->ssl_error && ERR_GET_LIB(r->ssl_error) == ERR_LIB_SSL ? ERR_GET_REASON(r->ssl_error) : 0;
		if (tlsctx_alert_received(&r->rec) == 70 || reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_VERSION_TOO_LOW ||
		    reason == SSL_R_VERSION_TOO_HIGH || reason == SSL_R_NO_PROTOCOLS_AVAILABLE) {
			struct mq_err err = { 0 };
			SSL_CTX *c12 = tlsctx_new(&s->t, NULL, TLSCTX_ONLY_12, &err);
			SSL_CTX *c13 = tlsctx_new(&s->t, NULL, TLSCTX_ONLY_13, &err);
			if (c12) {
				start_followup(s, &s->v12, PROBE_TLS, c12);
				SSL_CTX_free(c12);
			}
			if (c13) {
				start_followup(s, &s->v13, PROBE_TLS, c13);
				SSL_CTX_free(c13);
			}
		}
	}
	if (s->followups == 0)
		after_tls(s);
}

static void start_connect(struct diag_session *s)
{
	struct probe_opts po = { 0 };
	struct mq_err err = { 0 };
	char rnd[7] = "000000";
	unsigned char b[3];
	char cid[40];

	if (RAND_bytes(b, sizeof b) == 1)
		snprintf(rnd, sizeof rnd, "%02x%02x%02x", b[0], b[1], b[2]);
	snprintf(cid, sizeof cid, "mqttls-probe-%s", rnd);
	stage_start(s, DIAG_TCP);
	po.kind = s->r->tls_target ? PROBE_TLS : PROBE_PLAIN_MQTT;
	po.addrs = s->addrs;
	po.n_addrs = s->n_addrs;
	po.ctx = s->probe_ctx;
	po.sni = tlsctx_sni(&s->t);
	po.timeout = s->o.timeout;
	po.first_read = true;
	po.client_id = cid;
	po.mqtt_version = s->t.mqtt_version == 5 ? 5 : 4;
	s->main = probe_start(s->base, &po, on_main, s, &err);
	if (!s->main) {
		stage_end(s, DIAG_TCP, DIAG_FAILED, -1, "%s", err.msg);
		complete(s);
	}
}

/* ---------------------------------------------------------------- resolve */

static void resolve_finish(struct diag_session *s, int gai, struct addrinfo *res, const char *timeout_msg)
{
	struct mq_str list = { 0 };

	for (struct addrinfo *a = res; a && s->n_addrs < MAX_ADDRS; a = a->ai_next) {
		struct probe_addr *pa = &s->addrs[s->n_addrs];
		bool dup = false;
		if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) || a->ai_addrlen > sizeof pa->ss)
			continue;
		memset(pa, 0, sizeof *pa);
		memcpy(&pa->ss, a->ai_addr, a->ai_addrlen);
		pa->len = a->ai_addrlen;
		if (getnameinfo(a->ai_addr, a->ai_addrlen, pa->text, sizeof pa->text, NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		for (size_t i = 0; i < s->n_addrs; i++)
			dup |= !strcmp(s->addrs[i].text, pa->text);
		if (dup)
			continue;
		mq_str_printf(&list, "%s%s", list.len ? ", " : "", pa->text);
		s->n_addrs++;
	}
	s->obs.resolve_done = true;
	s->obs.resolved = s->n_addrs > 0;
	snprintf(s->obs.addresses, sizeof s->obs.addresses, "%s", list.s ? list.s : "");
	if (s->obs.resolved) {
		stage_end(s, DIAG_RESOLVE, DIAG_OK, -1, "%s → %s", s->t.host, list.s);
	} else {
		snprintf(s->obs.resolve_error, sizeof s->obs.resolve_error, "%s",
			 timeout_msg ? timeout_msg : gai ? gai_strerror(gai) : "no IPv4 or IPv6 address");
		stage_end(s, DIAG_RESOLVE, DIAG_FAILED, -1, "%s: %s", s->t.host, s->obs.resolve_error);
	}
	mq_str_free(&list);
	apply_phase(s, DIAG_PHASE_RESOLVE);
	if (!s->obs.resolved) {
		skip_from(s, DIAG_TCP, "the host name did not resolve");
		complete(s);
		return;
	}
	start_connect(s);
}

static void stop_resolver(struct diag_session *s)
{
	if (s->ev_resolve) {
		event_free(s->ev_resolve);
		s->ev_resolve = NULL;
	}
	if (s->ev_resolve_timer) {
		event_free(s->ev_resolve_timer);
		s->ev_resolve_timer = NULL;
	}
	if (s->job_fd >= 0) {
		close(s->job_fd);
		s->job_fd = -1;
	}
	if (s->job) {
		job_unref(s->job);
		s->job = NULL;
	}
}

static void on_resolved(evutil_socket_t fd, short what, void *arg)
{
	struct diag_session *s = arg;
	struct addrinfo *res;
	int gai;
	char c;

	(void)what;
	if (recv(fd, &c, 1, 0) < 0 && errno == EAGAIN)
		return;
	pthread_mutex_lock(&s->job->mu);
	res = s->job->res;
	s->job->res = NULL;
	gai = s->job->gai;
	pthread_mutex_unlock(&s->job->mu);
	stop_resolver(s);
	resolve_finish(s, gai, res, NULL);
	if (res)
		freeaddrinfo(res);
}

static void on_resolve_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct diag_session *s = arg;
	char msg[96];

	(void)fd;
	(void)what;
	stop_resolver(s);
	snprintf(msg, sizeof msg, "no answer from the name service within %.0f s", s->o.timeout);
	resolve_finish(s, 0, NULL, msg);
}

static void start_resolve(struct diag_session *s)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *res = NULL;
	char port[8];
	int sv[2];
	pthread_t th;
	pthread_attr_t attr;
	struct resolve_job *j;

	stage_start(s, DIAG_RESOLVE);
	snprintf(port, sizeof port, "%d", s->t.port);
	s->obs.host_is_ip = tlsctx_is_ip(s->t.host);
	if (s->obs.host_is_ip) {
		int gai = getaddrinfo(s->t.host, port, &hints, &res);
		resolve_finish(s, gai, res, NULL);
		if (res)
			freeaddrinfo(res);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
		resolve_finish(s, EAI_SYSTEM, NULL, "cannot start the resolver");
		return;
	}
	j = calloc(1, sizeof *j);
	if (!j)
		abort();
	pthread_mutex_init(&j->mu, NULL);
	j->refs = 2;
	j->host = strdup(s->t.host);
	snprintf(j->port, sizeof j->port, "%s", port);
	j->fd = sv[1];
	s->job = j;
	s->job_fd = sv[0];
	s->ev_resolve = event_new(s->base, sv[0], EV_READ, on_resolved, s);
	s->ev_resolve_timer = evtimer_new(s->base, on_resolve_timeout, s);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (!s->ev_resolve || !s->ev_resolve_timer || pthread_create(&th, &attr, resolve_thread, j) != 0) {
		pthread_attr_destroy(&attr);
		job_unref(j);  /* the thread's reference */
		stop_resolver(s);
		resolve_finish(s, EAI_SYSTEM, NULL, "cannot start the resolver");
		return;
	}
	pthread_attr_destroy(&attr);
	event_add(s->ev_resolve, NULL);
	{
		struct timeval tv = { .tv_sec = (time_t)s->o.timeout, .tv_usec = (suseconds_t)((s->o.timeout - (double)(time_t)s->o.timeout) * 1e6) };
		evtimer_add(s->ev_resolve_timer, &tv);
	}
}

/* ---------------------------------------------------------------- lifecycle */

static void on_start(evutil_socket_t fd, short what, void *arg);

struct diag_session *diag_session_new(struct event_base *base, const struct target *t, const struct diag_opts *o,
				      diag_observer fn, void *ctx, struct mq_err *err)
{
	struct diag_session *s;

	if (!base || !t || !t->host) {
		mq_errf(err, "a diagnosis needs an event loop and a target");
		return NULL;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->base = base;
	target_dup(&s->t, t);
	if (o)
		s->o = *o;
	else
		diag_opts_init(&s->o);
	if (s->o.timeout <= 0)
		s->o.timeout = 5;
	s->o.broker_conf = s->o.broker_log = NULL;  /* the result keeps its own copies */
	s->fn = fn;
	s->fnctx = ctx;
	s->job_fd = -1;
	s->r = calloc(1, sizeof *s->r);
	if (!s->r)
		abort();
	s->r->host = strdup(t->host);
	s->r->port = t->port;
	s->r->tls_target = t->tls;
	if (t->clock != TARGET_CLOCK_SYSTEM)
		target_clock_arg(t->clock, t->clock_at, s->r->clock, sizeof s->r->clock);
	s->r->broker_conf = o && o->broker_conf ? strdup(o->broker_conf) : NULL;
	s->r->broker_log = o && o->broker_log ? strdup(o->broker_log) : NULL;
	for (int i = 0; i < DIAG_STAGES; i++)
		s->r->stages[i].detail = strdup("");
	s->r->tls.alert_received = s->r->tls.alert_sent = -1;
	s->obs.t = &s->t;
	s->obs.timeout = s->o.timeout;
	s->obs.tls_target = t->tls;
	s->obs.accepts_12 = s->obs.accepts_13 = -1;

	if (t->tls) {
		/* The client certificate is loaded when the session starts; the contexts get it then. */
		s->probe_ctx = tlsctx_new(&s->t, NULL, TLSCTX_PROBE, err);
		if (!s->probe_ctx)
			goto fail;
	}
	s->ev_kick = event_new(base, -1, 0, on_start, s);
	if (!s->ev_kick) {
		mq_errf(err, "cannot create an event");
		goto fail;
	}
	return s;
fail:
	diag_session_free(s);
	return NULL;
}

static void on_start(evutil_socket_t fd, short what, void *arg)
{
	struct diag_session *s = arg;
	struct mq_err err = { 0 };
	struct tlsctx_creds creds = { 0 };

	(void)fd;
	(void)what;
	s->t_start = mq_now_ms();
	local_checks(s);
	if (s->t.tls) {
		bool usable = s->cert && s->key && s->obs.cert.state == DIAG_FILE_OK && s->obs.key.state == DIAG_FILE_OK && !s->obs.key_mismatch;
		creds.cert = s->cert;
		creds.extra = s->cert_extra;
		creds.key = s->key;
		SSL_CTX_free(s->probe_ctx);
		s->probe_ctx = tlsctx_new(&s->t, usable ? &creds : NULL, TLSCTX_PROBE, &err);
		s->client_ctx = tlsctx_new(&s->t, usable ? &creds : NULL, TLSCTX_CLIENT, &err);
		if (!s->probe_ctx || !s->client_ctx) {
			stage_start(s, DIAG_RESOLVE);
			stage_end(s, DIAG_RESOLVE, DIAG_FAILED, -1, "%s", err.msg);
			complete(s);
			return;
		}
	}
	apply_phase(s, DIAG_PHASE_LOCAL);
	start_resolve(s);
}

void diag_session_start(struct diag_session *s)
{
	if (s->started)
		return;
	s->started = true;
	event_active(s->ev_kick, 0, 0);
}

bool diag_session_done(const struct diag_session *s)
{
	return s->done;
}

const struct diag_result *diag_session_result(const struct diag_session *s)
{
	return s->r;
}

struct diag_result *diag_session_take_result(struct diag_session *s)
{
	struct diag_result *r = s->r;

	/* Findings point into nothing the session owns; the chain and log move with the result. */
	s->r = NULL;
	return r;
}

void diag_session_free(struct diag_session *s)
{
	if (!s)
		return;
	stop_resolver(s);
	probe_free(s->main);
	probe_free(s->plain);
	probe_free(s->v12);
	probe_free(s->v13);
	probe_free(s->wold);
	probe_free(s->wnofs);
	mqconn_free(s->mq);
	if (s->ev_kick)
		event_free(s->ev_kick);
	if (s->ev_silent)
		event_free(s->ev_silent);
	SSL_CTX_free(s->probe_ctx);
	SSL_CTX_free(s->client_ctx);
	if (s->chain_x509)
		sk_X509_pop_free(s->chain_x509, X509_free);
	for (size_t i = 0; i < s->n_ca; i++)
		cert_info_free(&s->ca[i]);
	free(s->ca);
	if (s->ca_stack)
		sk_X509_pop_free(s->ca_stack, X509_free);
	if (s->have_client)
		cert_info_free(&s->client);
	X509_free(s->cert);
	if (s->cert_extra)
		sk_X509_pop_free(s->cert_extra, X509_free);
	EVP_PKEY_free(s->key);
	diag_result_free(s->r);
	target_free(&s->t);
	free(s);
}

void diag_result_free(struct diag_result *r)
{
	if (!r)
		return;
	free(r->host);
	for (int i = 0; i < DIAG_STAGES; i++)
		free(r->stages[i].detail);
	for (size_t i = 0; i < r->n_chain; i++)
		cert_info_free(&r->chain[i]);
	free(r->chain);
	findings_free(&r->findings);
	free(r->broker_conf);
	free(r->broker_log);
	free(r->broker_error);
	for (size_t i = 0; i < r->n_log; i++)
		free(r->log[i]);
	free(r->log);
	free(r);
}

struct run_ctx {
	diag_observer fn;
	void *ctx;
	struct event_base *base;
};

static void run_observer(void *ctx, const struct diag_event *ev)
{
	struct run_ctx *rc = ctx;

	if (rc->fn)
		rc->fn(rc->ctx, ev);
	if (ev->kind == DIAG_EV_DONE)
		event_base_loopbreak(rc->base);
}

int diag_run(const struct target *t, const struct diag_opts *o, diag_observer fn, void *ctx,
	     struct diag_result **out, struct mq_err *err)
{
	struct run_ctx rc = { fn, ctx, NULL };
	struct diag_session *s;

	*out = NULL;
	rc.base = event_base_new();
	if (!rc.base) {
		mq_errf(err, "cannot create an event loop");
		return -1;
	}
	s = diag_session_new(rc.base, t, o, run_observer, &rc, err);
	if (!s) {
		event_base_free(rc.base);
		return -1;
	}
	diag_session_start(s);
	while (!diag_session_done(s))
		if (event_base_dispatch(rc.base) < 0)
			break;
	*out = diag_session_take_result(s);
	diag_session_free(s);
	event_base_free(rc.base);
	if (!*out) {
		mq_errf(err, "the diagnosis did not finish");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- JSON */

static cJSON *str_or_null(const char *s)
{
	return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

cJSON *diag_result_to_json(const struct diag_result *r)
{
	cJSON *o = cJSON_CreateObject(), *tg = cJSON_CreateObject(), *st = cJSON_CreateArray(), *tl = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "tool", MQTTLS_NAME);
	cJSON_AddStringToObject(o, "version", MQTTLS_VERSION);
	cJSON_AddStringToObject(tg, "host", r->host);
	cJSON_AddNumberToObject(tg, "port", r->port);
	cJSON_AddItemToObject(tg, "address", str_or_null(r->address));
	cJSON_AddBoolToObject(tg, "tls", r->tls_target);
	if (r->clock[0])
		cJSON_AddStringToObject(tg, "clock", r->clock);
	cJSON_AddItemToObject(o, "target", tg);
	cJSON_AddBoolToObject(o, "ok", r->ok);
	for (int i = 0; i < DIAG_STAGES; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", diag_stage_name((enum diag_stage_id)i));
		cJSON_AddStringToObject(e, "status", diag_status_name(r->stages[i].status));
		cJSON_AddNumberToObject(e, "ms", (double)(long long)(r->stages[i].ms * 10 + 0.5) / 10);
		cJSON_AddStringToObject(e, "detail", r->stages[i].detail ? r->stages[i].detail : "");
		cJSON_AddItemToArray(st, e);
	}
	cJSON_AddItemToObject(o, "stages", st);
	cJSON_AddItemToObject(tl, "version", str_or_null(r->tls.version));
	cJSON_AddItemToObject(tl, "cipher", str_or_null(r->tls.cipher));
	cJSON_AddItemToObject(tl, "group", str_or_null(r->tls.group));
	cJSON_AddItemToObject(tl, "sni", str_or_null(r->tls.sni));
	cJSON_AddBoolToObject(tl, "handshake_done", r->tls.handshake_done);
	cJSON_AddBoolToObject(tl, "client_cert_requested", r->tls.cert_requested);
	cJSON_AddBoolToObject(tl, "client_cert_sent", r->tls.client_cert_sent);
	if (r->tls.alert_received >= 0)
		cJSON_AddNumberToObject(tl, "alert_received", r->tls.alert_received);
	else
		cJSON_AddNullToObject(tl, "alert_received");
	if (r->tls.alert_sent >= 0)
		cJSON_AddNumberToObject(tl, "alert_sent", r->tls.alert_sent);
	else
		cJSON_AddNullToObject(tl, "alert_sent");
	cJSON_AddNumberToObject(tl, "verify_code", (double)r->tls.verify_code);
	cJSON_AddItemToObject(tl, "verify_text", str_or_null(r->tls.verify_text));
	cJSON_AddItemToObject(o, "tls", tl);
	cJSON_AddItemToObject(o, "chain", chain_to_json(r->chain, r->n_chain));
	cJSON_AddItemToObject(o, "findings", findings_to_json(&r->findings));
	cJSON_AddNumberToObject(o, "total_ms", (double)(long long)(r->total_ms * 10 + 0.5) / 10);
	return o;
}
