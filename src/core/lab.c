/*
 * lab — real mosquitto brokers for classroom labs, found again through a state file.
 *
 * A lab is one row of the table below; starting one is always the same steps: the shared
 * lab PKI (made or refreshed), the certificate the row serves, a free loopback port, a
 * mosquitto.conf, the broker, the state file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mqttls/broker.h"
#include "mqttls/chain.h"
#include "mqttls/lab.h"
#include "mqttls/mitmlab.h"
#include "mqttls/pki.h"
#include "mqttls/util.h"

/* How far above LAB_FIRST_PORT to look, and how often to retry a port lost to a race. */
#define PORT_SPAN      100
#define BIND_RETRIES   5
#define START_WAIT_MS  5000
/* The broker certificate is re-issued when it has less than this left. */
#define REFRESH_DAYS   7

static const struct lab_def lab_table[] = {
	{ "basic", "a working TLS broker with the lab CA: the reference every other lab breaks",
	  "broker", NULL, "" },
	{ "mitm", "setInsecure() vs setCACert() against a rogue relay (INSECURE LAB MITM, loopback only)",
	  "broker", NULL, "", mitmlab_start, mitmlab_stop, mitmlab_describe },
};

const struct lab_def *lab_defs(size_t *n)
{
	*n = MQ_ARRAY_LEN(lab_table);
	return lab_table;
}

const struct lab_def *lab_find(const char *name)
{
	for (size_t i = 0; name && i < MQ_ARRAY_LEN(lab_table); i++)
		if (!strcmp(lab_table[i].name, name))
			return &lab_table[i];
	return NULL;
}

static const struct lab_def *find_or_err(const char *name, struct mq_err *err)
{
	const struct lab_def *d = lab_find(name);
	struct mq_str s = { 0 };

	if (d)
		return d;
	for (size_t i = 0; i < MQ_ARRAY_LEN(lab_table); i++)
		mq_str_printf(&s, "%s%s", i ? ", " : "", lab_table[i].name);
	mq_errf(err, "there is no lab '%s' (labs: %s)", name ? name : "", s.s ? s.s : "");
	mq_str_free(&s);
	return NULL;
}

/* ---- paths and the state file -------------------------------------------------------------- */

static int lab_paths(const struct lab_def *d, struct lab_info *info, char *pkidir, size_t pkisize,
		     struct mq_err *err)
{
	const char *state = mq_state_dir();
	char labsdir[PATH_MAX];

	memset(info, 0, sizeof *info);
	snprintf(info->name, sizeof info->name, "%s", d->name);
	snprintf(info->host, sizeof info->host, "localhost");
	if (!mq_path_join(pkidir, pkisize, state, "pki") || !mq_path_join(labsdir, sizeof labsdir, state, "labs") ||
	    !mq_path_join(info->dir, sizeof info->dir, labsdir, d->name) ||
	    !mq_path_join(info->conf, sizeof info->conf, info->dir, "mosquitto.conf") ||
	    !mq_path_join(info->log, sizeof info->log, info->dir, "mosquitto.log")) {
		mq_errf(err, "the state directory path is too long: %s", state);
		return -1;
	}
	return 0;
}

static char *state_path(const struct lab_info *info, char *buf, size_t size)
{
	return mq_path_join(buf, size, info->dir, "state.json");
}

cJSON *lab_info_to_json(const struct lab_info *info)
{
	cJSON *o = cJSON_CreateObject();
	char t[32];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", info->name);
	cJSON_AddBoolToObject(o, "running", info->running);
	cJSON_AddNumberToObject(o, "pid", info->pid);
	cJSON_AddNumberToObject(o, "port", info->port);
	cJSON_AddStringToObject(o, "host", info->host);
	cJSON_AddBoolToObject(o, "ipv6", info->ipv6);
	cJSON_AddStringToObject(o, "cafile", info->cafile);
	cJSON_AddStringToObject(o, "certfile", info->certfile);
	cJSON_AddStringToObject(o, "keyfile", info->keyfile);
	cJSON_AddStringToObject(o, "dir", info->dir);
	cJSON_AddStringToObject(o, "conf", info->conf);
	cJSON_AddStringToObject(o, "log", info->log);
	cJSON_AddStringToObject(o, "started", info->started ? mq_iso8601(info->started, t, sizeof t) : "");
	cJSON_AddNumberToObject(o, "started_unix", (double)info->started);
	return o;
}

static void json_str(const cJSON *o, const char *key, char *out, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (cJSON_IsString(v) && v->valuestring)
		snprintf(out, size, "%s", v->valuestring);
}

/* 1 when a state file was read, 0 when there is none, -1 when it is unreadable. */
static int state_read(struct lab_info *info, struct mq_err *err)
{
	char path[PATH_MAX], *text = NULL;
	const cJSON *v;
	cJSON *j;

	if (!state_path(info, path, sizeof path) || !mq_file_exists(path))
		return 0;
	if (mq_read_file(path, 64 * 1024, &text, NULL, err) < 0)
		return -1;
	j = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		/* A state file mqttls cannot read names no broker it could stop: start afresh. */
		unlink(path);
		return 0;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "pid");
	info->pid = cJSON_IsNumber(v) && v->valuedouble > 1 && v->valuedouble < 1 << 30 ? (pid_t)v->valuedouble : 0;
	v = cJSON_GetObjectItemCaseSensitive(j, "port");
	info->port = cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 65536 ? (int)v->valuedouble : 0;
	v = cJSON_GetObjectItemCaseSensitive(j, "ipv6");
	info->ipv6 = cJSON_IsTrue(v);
	v = cJSON_GetObjectItemCaseSensitive(j, "started_unix");
	info->started = cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
	json_str(j, "cafile", info->cafile, sizeof info->cafile);
	json_str(j, "certfile", info->certfile, sizeof info->certfile);
	json_str(j, "keyfile", info->keyfile, sizeof info->keyfile);
	cJSON_Delete(j);
	return 1;
}

static int state_write(const struct lab_info *info, struct mq_err *err)
{
	char path[PATH_MAX], *text;
	cJSON *j = lab_info_to_json(info);
	int rc;

	cJSON_DeleteItemFromObject(j, "running");
	text = cJSON_Print(j);
	cJSON_Delete(j);
	if (!text || !state_path(info, path, sizeof path)) {
		free(text);
		mq_errf(err, "cannot record the lab's state");
		return -1;
	}
	rc = mq_write_file(path, text, strlen(text), 0644, true, err);
	free(text);
	return rc;
}

static void state_remove(const struct lab_info *info)
{
	char path[PATH_MAX];

	if (state_path(info, path, sizeof path))
		unlink(path);
}

/* One start or stop at a time per lab, across processes. The lock goes with the descriptor. */
static int lab_lock(const struct lab_info *info, struct mq_err *err)
{
	char path[PATH_MAX];
	int fd;

	if (mq_mkdir_p(info->dir, 0755, err) < 0 || !mq_path_join(path, sizeof path, info->dir, ".lock"))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		mq_errf_errno(err, "cannot lock %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* ---- the PKI ------------------------------------------------------------------------------- */

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
static bool broker_cert_current(const char *pkidir)
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
 * The lab PKI is mqttls's own (in its state directory): made when missing, and its broker
 * certificate re-issued when stale. The CA is kept, so a device flashed with it keeps working.
 */
static int lab_pki(const struct lab_def *d, const char *pkidir, struct lab_info *info, struct mq_err *err)
{
	struct pki_opts o = { .dir = pkidir, .force = true };
	char crt[NAME_MAX + 1], key[NAME_MAX + 1];

	if (!ca_present(pkidir)) {
		if (pki_init(&o, err) < 0)
			return -1;
	} else if (!broker_cert_current(pkidir) && pki_broker(&o, err) < 0) {
		return -1;
	}
	snprintf(crt, sizeof crt, "%s-fullchain.crt", d->cert);
	snprintf(key, sizeof key, "%s.key", d->cert);
	if (!mq_path_join(info->cafile, sizeof info->cafile, pkidir, PKI_ROOT_CERT) ||
	    !mq_path_join(info->certfile, sizeof info->certfile, pkidir, crt) ||
	    !mq_path_join(info->keyfile, sizeof info->keyfile, pkidir, key)) {
		mq_errf(err, "path too long: %s", pkidir);
		return -1;
	}
	if (d->broken_kind && !mq_file_exists(info->certfile) && pki_broken(&o, d->broken_kind, err) < 0)
		return -1;
	return 0;
}

/*
 * mosquitto started as root reads its files as the user mosquitto: its key must be that
 * user's, and every directory above it traversable, as an administrator would set it up.
 */
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

static int broker_can_read(const struct lab_info *info, const char *pkidir, struct mq_err *err)
{
	struct passwd *pw;

	if (geteuid() != 0 || (pw = getpwnam("mosquitto")) == NULL)
		return 0;
	if (traversable(mq_state_dir(), err) < 0 || traversable(pkidir, err) < 0 || traversable(info->dir, err) < 0)
		return -1;
	if (chown(info->keyfile, pw->pw_uid, pw->pw_gid) < 0) {
		mq_errf_errno(err, "cannot give %s to the mosquitto user", info->keyfile);
		return -1;
	}
	return 0;
}

/* ---- ports and the broker ------------------------------------------------------------------ */

static bool bind6(int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	bool ok;

	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static char *conf_text(const struct lab_def *d, const struct lab_info *info)
{
	struct mq_str s = { 0 };
	const char *addrs[] = { "127.0.0.1", info->ipv6 ? "::1" : NULL };

	mq_str_printf(&s,
		      "# mqttls lab '%s', written by mqttls at each 'mqttls lab start %s'.\n"
		      "per_listener_settings false\n"
		      "allow_anonymous true\n"
		      "persistence false\n"
		      "log_timestamp_format %%Y-%%m-%%dT%%H:%%M:%%S\n",
		      d->name, d->name);
	/* TLS settings belong to the listener above them, so each address gets its own. */
	for (size_t i = 0; i < MQ_ARRAY_LEN(addrs) && addrs[i]; i++)
		mq_str_printf(&s, "\nlistener %d %s\ncafile %s\ncertfile %s\nkeyfile %s\n", info->port, addrs[i],
			      info->cafile, info->certfile, info->keyfile);
	if (d->conf_extra && *d->conf_extra)
		mq_str_printf(&s, "\n%s\n", d->conf_extra);
	return mq_str_take(&s);
}

static int run_broker(const struct lab_def *d, struct lab_info *info, struct mq_err *err)
{
	int retries = 0;

	info->ipv6 = bind6(0);
	for (int port = LAB_FIRST_PORT; port < LAB_FIRST_PORT + PORT_SPAN; port++) {
		struct mq_err e = { 0 };
		char *conf;
		pid_t pid;
		int rc;

		if (!mq_port_is_free(port) || (info->ipv6 && !bind6(port)))
			continue;
		info->port = port;
		conf = conf_text(d, info);
		rc = broker_start(info->dir, conf, port, START_WAIT_MS, &pid, &e);
		free(conf);
		/* Something else may have answered on the port while our broker was dying. */
		if (rc == 0 && waitpid(pid, NULL, WNOHANG) != 0) {
			rc = -1;
			mq_errf(&e, "Address already in use");
		}
		if (rc == 0) {
			info->pid = pid;
			info->running = true;
			info->started = (long long)time(NULL);
			return 0;
		}
		if (!strstr(e.msg, "Address already in use") || ++retries > BIND_RETRIES) {
			mq_errf(err, "%s", e.msg);
			return -1;
		}
	}
	mq_errf(err, "no free port between %d and %d on loopback", LAB_FIRST_PORT, LAB_FIRST_PORT + PORT_SPAN - 1);
	return -1;
}

/* ---- the operations ------------------------------------------------------------------------ */

/* Fill info from the state file and the process table. Returns 1 running, 0 not, -1 error. */
static int probe(struct lab_info *info, struct mq_err *err)
{
	int r = state_read(info, err);

	if (r <= 0)
		return r;
	info->running = broker_alive(info->pid) && info->port > 0 &&
			mq_wait_listening("127.0.0.1", info->port, 1000) == 0;
	return info->running ? 1 : 0;
}

int lab_start(const char *name, struct lab_info *info, struct mq_err *err)
{
	const struct lab_def *d = find_or_err(name, err);
	char pkidir[PATH_MAX];
	int lock, rc = -1;

	if (!d || lab_paths(d, info, pkidir, sizeof pkidir, err) < 0)
		return -1;
	if (mq_mkdir_p(mq_state_dir(), 0755, err) < 0 || (lock = lab_lock(info, err)) < 0)
		return -1;
	switch (probe(info, err)) {
	case 1:
		info->reused = true;
		rc = d->more_start ? d->more_start(info, err) : 0;
		goto out;
	case -1:
		goto out;
	}
	state_remove(info);
	if (mq_mkdir_p(pkidir, 0755, err) < 0 || lab_pki(d, pkidir, info, err) < 0 ||
	    broker_can_read(info, pkidir, err) < 0 || run_broker(d, info, err) < 0)
		goto out;
	if (state_write(info, err) < 0 || (d->more_start && d->more_start(info, err) < 0)) {
		broker_stop(info->pid);
		state_remove(info);
		info->running = false;
		goto out;
	}
	rc = 0;
out:
	close(lock);
	return rc;
}

int lab_builtin(struct lab_info *info, struct mq_err *err)
{
	return lab_start(LAB_BUILTIN, info, err);
}

int lab_status(const char *name, struct lab_info *info, struct mq_err *err)
{
	const struct lab_def *d = find_or_err(name, err);
	char pkidir[PATH_MAX];

	if (!d || lab_paths(d, info, pkidir, sizeof pkidir, err) < 0)
		return -1;
	return probe(info, err) < 0 ? -1 : 0;
}

int lab_stop(const char *name, struct lab_info *info, struct mq_err *err)
{
	const struct lab_def *d = find_or_err(name, err);
	char pkidir[PATH_MAX];
	int lock, rc = 0;

	if (!d || lab_paths(d, info, pkidir, sizeof pkidir, err) < 0)
		return -1;
	if (!mq_file_exists(info->dir))
		return 0;
	if ((lock = lab_lock(info, err)) < 0)
		return -1;
	if (state_read(info, err) < 0) {
		close(lock);
		return -1;
	}
	if (d->more_stop)
		d->more_stop(info);
	/* Only a PID that is still a mosquitto is signalled: a reused PID is someone else's. */
	info->running = broker_alive(info->pid);
	if (info->running && broker_stop(info->pid) < 0) {
		mq_errf(err, "mosquitto (pid %ld) of lab '%s' would not stop", (long)info->pid, d->name);
		rc = -1;
	} else {
		state_remove(info);
	}
	close(lock);
	return rc;
}
