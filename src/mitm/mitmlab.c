#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "mqttls/mitmlab.h"
#include "mqttls/mitmnet.h"
#include "mqttls/util.h"

#define MITM_FIRST_PORT 18883
#define LAB_RUN_TIME "14400"        /* every companion stops by itself after 4 hours */
#define DEVICE_USER "greenhouse"
#define DEVICE_PASS "tomato-42"
#define MAX_ARGS 32

/*
 * The lab is this table. {port} the real broker's port, {mitm} the rogue's, {listen} the rogue's
 * address and port, {rogue} what the devices connect to, {host} the name the broker certificate
 * covers, {cafile} the lab CA, {dir} the lab's directory. On the lab network (--netns) each
 * companion runs in the namespace of its role.
 */
static const struct companion {
	const char *name;
	const char *what;               /* one line for the class */
	bool lab_net;                   /* in instructor mode, told the classroom's --lab-bind range */
	enum mitmnet_role role;         /* where it runs on the lab network */
	const char *const argv[MAX_ARGS];
} companions[] = {
	{ "mitm", "the rogue relay: every password and reading it sees is in this log", true, MITMNET_ATTACKER,
	  { "mitm", "--listen", "{listen}", "--upstream", "{host}:{port}", "--upstream-cafile", "{cafile}",
	    "--inject", "lab/esp32-insecure/cmd=unlock-the-door", "--json-log", "{dir}/mitm.jsonl", "--force",
	    "--duration", LAB_RUN_TIME, NULL } },
	{ "dashboard", "subscribed on the REAL broker: the readings still arrive, nobody notices", false,
	  MITMNET_BROKER,
	  { "device", "-h", "{host}", "-p", "{port}", "--cafile", "{cafile}", "-i", "dashboard", "--watch", "lab/#",
	    "--retry", "2", "--duration", LAB_RUN_TIME, NULL } },
	{ "esp32-insecure", "setInsecure() pointed at the rogue: accepted, and it obeys the injected command", false,
	  MITMNET_DEVICE,
	  { "device", "-h", "{rogue}", "-p", "{mitm}", "--no-verify", "-u", DEVICE_USER, "-P", DEVICE_PASS, "-i",
	    "esp32-insecure", "-t", "lab/esp32-insecure/temp", "--subscribe", "lab/esp32-insecure/cmd", "--count", "0",
	    "--interval", "3", "--retry", "5", "--duration", LAB_RUN_TIME, NULL } },
	{ "esp32-verify", "setCACert() pointed at the rogue: refuses it (unknown_ca), rc=-2, retries", false,
	  MITMNET_DEVICE,
	  { "device", "-h", "{rogue}", "-p", "{mitm}", "--cafile", "{cafile}", "-u", DEVICE_USER, "-P", DEVICE_PASS,
	    "-i", "esp32-verify", "-t", "lab/esp32-verify/temp", "--count", "0", "--interval", "3", "--retry", "5",
	    "--duration", LAB_RUN_TIME, NULL } },
};

struct running {
	pid_t pid;
	unsigned long long start;
};

static char *path_in(const struct lab_info *b, const char *name, char *buf, size_t size)
{
	return mq_path_join(buf, size, b->dir, name);
}

static bool alive(const struct running *r)
{
	return r->pid > 1 && r->start && mq_proc_start(r->pid) == r->start;
}

static int read_record(const struct lab_info *b, struct running *out, int *mitm_port)
{
	char path[PATH_MAX], *text = NULL;
	cJSON *j, *arr;
	int n = 0;

	memset(out, 0, sizeof(struct running) * MQ_ARRAY_LEN(companions));
	*mitm_port = 0;
	if (!path_in(b, "companions.json", path, sizeof path) || mq_read_file(path, 64 * 1024, &text, NULL, NULL) < 0)
		return 0;
	j = cJSON_Parse(text);
	free(text);
	if (!j)
		return 0;
	cJSON *mp = cJSON_GetObjectItemCaseSensitive(j, "mitm_port");
	if (cJSON_IsNumber(mp) && mp->valuedouble > 0 && mp->valuedouble < 65536)
		*mitm_port = (int)mp->valuedouble;
	arr = cJSON_GetObjectItemCaseSensitive(j, "companions");
	for (size_t i = 0; i < MQ_ARRAY_LEN(companions); i++) {
		const cJSON *e;
		cJSON_ArrayForEach(e, arr) {
			const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
			const cJSON *pid = cJSON_GetObjectItemCaseSensitive(e, "pid");
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "start");
			if (cJSON_IsString(nm) && !strcmp(nm->valuestring, companions[i].name) && cJSON_IsNumber(pid) &&
			    pid->valuedouble > 1 && pid->valuedouble < 1 << 30 && cJSON_IsNumber(st)) {
				out[i].pid = (pid_t)pid->valuedouble;
				out[i].start = (unsigned long long)st->valuedouble;
				n++;
			}
		}
	}
	cJSON_Delete(j);
	return n;
}

static int write_record(const struct lab_info *b, const struct running *r, int mitm_port, struct mq_err *err)
{
	char path[PATH_MAX] = "";
	cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "companions");

	cJSON_AddNumberToObject(j, "mitm_port", mitm_port);
	for (size_t i = 0; i < MQ_ARRAY_LEN(companions); i++) {
		if (!r[i].pid)
			continue;
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", companions[i].name);
		cJSON_AddNumberToObject(e, "pid", r[i].pid);
		cJSON_AddNumberToObject(e, "start", (double)r[i].start);
		cJSON_AddItemToArray(arr, e);
	}
	if (!path_in(b, "companions.json", path, sizeof path))
		path[0] = '\0';
	return mq_write_json(path, j, "the MITM lab's processes", err);
}

static void stop_one(struct running *r)
{
	if (!alive(r))
		return;
	kill(r->pid, SIGTERM);
	for (int i = 0; i < 300 && alive(r); i++) {
		waitpid(r->pid, NULL, WNOHANG);   /* our own child when started by this process */
		usleep(10000);
	}
	if (alive(r))
		kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, WNOHANG);
}

void mitmlab_stop(const struct lab_info *b)
{
	struct running r[MQ_ARRAY_LEN(companions)];
	char path[PATH_MAX];
	int port;

	read_record(b, r, &port);
	/* The devices first, so the relay's log ends with them leaving. */
	for (size_t i = MQ_ARRAY_LEN(companions); i-- > 0;)
		stop_one(&r[i]);
	if (path_in(b, "companions.json", path, sizeof path))
		unlink(path);
}

/* Where the rogue listens: the attacker's address on the lab network, this machine's classroom
 * address in instructor mode, else loopback. */
static const char *rogue_ip(const struct lab_info *b)
{
	return b->netns ? MITMNET_ATTACKER_IP : b->lab_bind[0] ? b->ip : "127.0.0.1";
}

/* Substitute {port} {mitm} {listen} {rogue} {host} {cafile} {dir} in one argument. */
static char *expand(const char *tmpl, const struct lab_info *b, int mitm_port)
{
	struct mq_str s = { 0 };
	char num[16], listen[INET6_ADDRSTRLEN + 16];

	for (const char *p = tmpl; *p;) {
		const char *v = NULL;
		size_t skip = 0;
		if (!strncmp(p, "{port}", 6)) {
			snprintf(num, sizeof num, "%d", b->port);
			v = num;
			skip = 6;
		} else if (!strncmp(p, "{mitm}", 6)) {
			snprintf(num, sizeof num, "%d", mitm_port);
			v = num;
			skip = 6;
		} else if (!strncmp(p, "{listen}", 8)) {
			snprintf(listen, sizeof listen, strchr(rogue_ip(b), ':') ? "[%s]:%d" : "%s:%d", rogue_ip(b),
				 mitm_port);
			v = listen;
			skip = 8;
		} else if (!strncmp(p, "{rogue}", 7)) {
			/* on one machine the devices name the broker's host, and find the rogue there */
			v = b->netns ? MITMNET_ATTACKER_IP : b->host;
			skip = 7;
		} else if (!strncmp(p, "{host}", 6)) {
			v = b->host;
			skip = 6;
		} else if (!strncmp(p, "{cafile}", 8)) {
			v = b->cafile;
			skip = 8;
		} else if (!strncmp(p, "{dir}", 5)) {
			v = b->dir;
			skip = 5;
		}
		if (v) {
			mq_str_append(&s, v, strlen(v));
			p += skip;
		} else {
			mq_str_append(&s, p, 1);
			p++;
		}
	}
	return mq_str_take(&s);
}

static int spawn(const struct companion *c, const struct lab_info *b, int mitm_port, struct running *out,
		 struct mq_err *err)
{
	char exe[PATH_MAX], logpath[PATH_MAX], logname[NAME_MAX + 1];
	char *argv[MAX_ARGS + 4] = { 0 };   /* the program, the table's arguments, --lab-bind CIDR, NULL */
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	size_t argc = 0;
	int logfd = -1, nsfd = -1, rc = -1;
	pid_t pid;

	if (n <= 0) {
		mq_errf_errno(err, "cannot find the mqttls executable to start %s", c->name);
		return -1;
	}
	exe[n] = '\0';
	snprintf(logname, sizeof logname, "%s.log", c->name);
	if (!path_in(b, logname, logpath, sizeof logpath)) {
		mq_errf(err, "path too long: %s", b->dir);
		return -1;
	}
	argv[argc++] = exe;
	for (size_t i = 0; i < MAX_ARGS && c->argv[i]; i++)
		if (!(argv[argc++] = expand(c->argv[i], b, mitm_port)))
			goto out;
	/* The gate of the companion itself decides again what the classroom range allows. */
	if (c->lab_net && b->lab_bind[0] &&
	    (!(argv[argc++] = strdup("--lab-bind")) || !(argv[argc++] = strdup(b->lab_bind))))
		goto out;
	if (b->netns && (nsfd = mitmnet_open(b->dir, c->role, err)) < 0)
		goto out;
	/* Credentials go through these logs: readable by their owner only. */
	logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (logfd < 0) {
		mq_errf_errno(err, "cannot create %s", logpath);
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		mq_errf_errno(err, "cannot start %s", c->name);
		goto out;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		/* On the lab network: into the namespace of its role before anything else. */
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0) {
			dprintf(logfd, "mqttls: cannot enter the lab network's %s namespace\n", mitmnet_role_name(c->role));
			_exit(126);
		}
		setsid();
		mq_signals_child();
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		closefrom(3);
		signal(SIGPIPE, SIG_IGN);
		execv(exe, argv);
		_exit(127);
	}
	out->pid = pid;
	/* Read the start time while it is certainly ours (it cannot have been reaped yet). */
	for (int i = 0; i < 100 && !(out->start = mq_proc_start(pid)); i++)
		usleep(1000);
	rc = 0;
out:
	if (logfd >= 0)
		close(logfd);
	if (nsfd >= 0)
		close(nsfd);
	for (size_t i = 1; i < argc; i++)
		free(argv[i]);
	return rc;
}

static int pick_port(const struct lab_info *b)
{
	for (int p = MITM_FIRST_PORT; p < MITM_FIRST_PORT + 100; p++)
		if (p != b->port && mq_port_is_free(p) && (!b->lab_bind[0] || mq_port_free_on(rogue_ip(b), p)))
			return p;
	return -1;
}

/* On the lab network, the rogue's port and its listening are the attacker namespace's business. */
static int attacker_side(const struct lab_info *b, struct mq_err *err)
{
	return b->netns ? mitmnet_enter(b->dir, MITMNET_ATTACKER, err) : -2;
}

int mitmlab_start(const struct lab_info *b, struct mq_err *err)
{
	struct running r[MQ_ARRAY_LEN(companions)];
	int mitm_port, home, n = read_record(b, r, &mitm_port);
	bool all = n == (int)MQ_ARRAY_LEN(companions);

	for (size_t i = 0; i < MQ_ARRAY_LEN(companions) && all; i++)
		all = alive(&r[i]);
	if (all)
		return 0;
	/* Some are gone: start the whole set afresh rather than mix old and new. */
	mitmlab_stop(b);
	memset(r, 0, sizeof r);
	if ((home = attacker_side(b, err)) == -1)
		return -1;
	mitm_port = pick_port(b);
	mitmnet_leave(home);
	if (mitm_port < 0) {
		mq_errf(err, "no free port for the rogue relay between %d and %d", MITM_FIRST_PORT, MITM_FIRST_PORT + 99);
		return -1;
	}
	for (size_t i = 0; i < MQ_ARRAY_LEN(companions); i++) {
		if (spawn(&companions[i], b, mitm_port, &r[i], err) < 0)
			goto fail;
		/* Record as we go, so a failure part-way still stops what was started. */
		if (write_record(b, r, mitm_port, err) < 0)
			goto fail;
		/* The devices need the relay listening (it fetches and forges the certificate first). */
		if (i == 0) {
			char logpath[PATH_MAX], *text = NULL;
			bool up;
			if ((home = attacker_side(b, err)) == -1)
				goto fail;
			up = mq_wait_listening(rogue_ip(b), mitm_port, 10000) == 0;
			mitmnet_leave(home);
			if (up)
				continue;
			if (!path_in(b, "mitm.log", logpath, sizeof logpath) ||
			    mq_read_file(logpath, 4096, &text, NULL, NULL) < 0)
				text = NULL;
			mq_errf(err, "the rogue relay did not start listening on %s:%d%s%s", rogue_ip(b), mitm_port,
				text && *text ? ": " : "", text ? text : "");
			free(text);
			goto fail;
		}
	}
	return 0;
fail:
	mitmlab_stop(b);
	return -1;
}

char *mitmlab_describe(const struct lab_info *b)
{
	struct running r[MQ_ARRAY_LEN(companions)];
	struct mq_str s = { 0 };
	char logpath[PATH_MAX], logname[NAME_MAX + 1];
	int mitm_port;

	if (!read_record(b, r, &mitm_port))
		return NULL;
	mq_str_printf(&s,
		      "INSECURE LAB MITM: the rogue relay listens on %s:%d in front of the real broker\n"
		      "%s:%d. Both simulated ESP32s are pointed at the rogue by its address, as an attacker\n"
		      "would arrange with a hosts entry or a DHCP/DNS setting on a real network (mqttls never\n"
		      "spoofs ARP or DNS).\n\n",
		      rogue_ip(b), mitm_port, b->host, b->port);
	if (b->netns) {
		long dev = mitmnet_holder(b->dir, MITMNET_DEVICE), atk = mitmnet_holder(b->dir, MITMNET_ATTACKER),
		     brk = mitmnet_holder(b->dir, MITMNET_BROKER);
		mq_str_printf(&s,
			      "The lab network (--netns): three network namespaces joined by veth links; the\n"
			      "process holding each is named, for nsenter -t PID -n.\n"
			      "  devices   (held by %ld)  %s on mq-to-attacker: the two ESP32s\n"
			      "  attacker  (held by %ld)  %s on mq-to-device, %s on mq-to-broker: the relay\n"
			      "  broker    (held by %ld)  %s on mq-to-attacker: mosquitto, the dashboard\n"
			      "The devices have no route to the broker: all they send crosses the attacker's\n"
			      "interfaces. Watch it there:\n"
			      "  nsenter -t %ld -n tcpdump -ni mq-to-device tcp port %d\n"
			      "  nsenter -t %ld -n mqttls capture -i mq-to-device --port %d\n\n",
			      dev, MITMNET_DEVICE_IP, atk, MITMNET_ATTACKER_IP, MITMNET_ATTACKER_UP_IP, brk,
			      MITMNET_BROKER_IP, atk, mitm_port, atk, mitm_port);
	} else if (b->lab_bind[0]) {
		mq_str_printf(&s,
			      "Classroom LAN %s: a real ESP32 pointed at %s:%d (mqtt_port in the\n"
			      "sketch) meets the rogue; at %s:%d, the real broker. The rogue answers devices\n"
			      "inside %s only.\n\n",
			      b->lab_bind, b->ip, mitm_port, b->ip, b->port, b->lab_bind);
	}
	for (size_t i = 0; i < MQ_ARRAY_LEN(companions); i++) {
		snprintf(logname, sizeof logname, "%s.log", companions[i].name);
		path_in(b, logname, logpath, sizeof logpath);
		mq_str_printf(&s, "  %-15s %s (pid %ld)\n  %-15s %s\n  %-15s tail -f %s\n", companions[i].name,
			      alive(&r[i]) ? "running" : "NOT running", (long)r[i].pid, "", companions[i].what, "",
			      logpath);
	}
	path_in(b, "mitm.jsonl", logpath, sizeof logpath);
	{
		char in_ns[80] = "";
		const char *to = b->netns ? MITMNET_ATTACKER_IP : b->host;
		if (b->netns)
			snprintf(in_ns, sizeof in_ns, "nsenter -t %ld -n ", (long)mitmnet_holder(b->dir, MITMNET_DEVICE));
		mq_str_printf(&s,
			      "\nThe attacker's view as JSON: %s\n"
			      "Try a device of your own against the rogue:\n"
			      "  %smqttls device -h %s -p %d --no-verify -u me -P my-secret     (watch the relay log)\n"
			      "  %smqttls device -h %s -p %d --cafile %s    (refused: unknown_ca)\n",
			      logpath, in_ns, to, mitm_port, in_ns, to, mitm_port, b->cafile);
	}
	return mq_str_take(&s);
}
