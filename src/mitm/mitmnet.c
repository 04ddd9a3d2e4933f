#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "mqttls/mitmnet.h"
#include "mqttls/util.h"

#define RECORD "netns.json"
#define MAX_ARGV 16

static const char *const role_names[MITMNET_ROLES] = {
	[MITMNET_DEVICE] = "devices", [MITMNET_ATTACKER] = "attacker", [MITMNET_BROKER] = "broker",
};

const char *mitmnet_role_name(enum mitmnet_role r)
{
	return (unsigned)r < MITMNET_ROLES ? role_names[r] : "";
}

struct holder {
	pid_t pid;
	unsigned long long start;
};

/*
 * The topology, as ip(8) commands run inside one namespace each. "{attacker}" and "{broker}" are
 * the holders' PIDs: a veth pair is made in one namespace with its peer put straight into the
 * other, so no interface ever appears in the machine's own namespace.
 */
static const struct step {
	enum mitmnet_role in;
	const char *const args[MAX_ARGV];
} topology[] = {
	{ MITMNET_DEVICE, { "link", "add", "mq-to-attacker", "type", "veth", "peer", "name", "mq-to-device", "netns",
			    "{attacker}", NULL } },
	{ MITMNET_ATTACKER, { "link", "add", "mq-to-broker", "type", "veth", "peer", "name", "mq-to-attacker", "netns",
			      "{broker}", NULL } },
	{ MITMNET_DEVICE, { "addr", "add", MITMNET_DEVICE_IP "/30", "dev", "mq-to-attacker", NULL } },
	{ MITMNET_ATTACKER, { "addr", "add", MITMNET_ATTACKER_IP "/30", "dev", "mq-to-device", NULL } },
	{ MITMNET_ATTACKER, { "addr", "add", MITMNET_ATTACKER_UP_IP "/30", "dev", "mq-to-broker", NULL } },
	{ MITMNET_BROKER, { "addr", "add", MITMNET_BROKER_IP "/30", "dev", "mq-to-attacker", NULL } },
	{ MITMNET_DEVICE, { "link", "set", "lo", "up", NULL } },
	{ MITMNET_ATTACKER, { "link", "set", "lo", "up", NULL } },
	{ MITMNET_BROKER, { "link", "set", "lo", "up", NULL } },
	{ MITMNET_DEVICE, { "link", "set", "mq-to-attacker", "up", NULL } },
	{ MITMNET_ATTACKER, { "link", "set", "mq-to-device", "up", NULL } },
	{ MITMNET_ATTACKER, { "link", "set", "mq-to-broker", "up", NULL } },
	{ MITMNET_BROKER, { "link", "set", "mq-to-attacker", "up", NULL } },
};

/* ---- the record ------------------------------------------------------------------------------- */

static char *record_path(const char *dir, char *buf, size_t size)
{
	return mq_path_join(buf, size, dir, RECORD);
}

static void read_record(const char *dir, struct holder h[MITMNET_ROLES])
{
	char path[PATH_MAX], *text = NULL;
	cJSON *j;

	memset(h, 0, sizeof(struct holder) * MITMNET_ROLES);
	if (!record_path(dir, path, sizeof path) || mq_read_file(path, 64 * 1024, &text, NULL, NULL) < 0)
		return;
	j = cJSON_Parse(text);
	free(text);
	for (int r = 0; j && r < MITMNET_ROLES; r++) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, role_names[r]);
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(e, "pid");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "start");
		if (cJSON_IsNumber(pid) && pid->valuedouble > 1 && pid->valuedouble < 1 << 30 && cJSON_IsNumber(st)) {
			h[r].pid = (pid_t)pid->valuedouble;
			h[r].start = (unsigned long long)st->valuedouble;
		}
	}
	cJSON_Delete(j);
}

static int write_record(const char *dir, const struct holder h[MITMNET_ROLES], struct mq_err *err)
{
	char path[PATH_MAX] = "";
	cJSON *j = cJSON_CreateObject();

	for (int r = 0; r < MITMNET_ROLES; r++) {
		cJSON *e = cJSON_AddObjectToObject(j, role_names[r]);
		cJSON_AddNumberToObject(e, "pid", h[r].pid);
		cJSON_AddNumberToObject(e, "start", (double)h[r].start);
	}
	if (!record_path(dir, path, sizeof path))
		path[0] = '\0';
	return mq_write_json(path, j, "the lab network's namespaces", err);
}

/* The holder is the one recorded (not a process that got its PID since). */
static bool alive(const struct holder *h)
{
	return h->pid > 1 && h->start && mq_proc_start(h->pid) == h->start;
}

pid_t mitmnet_holder(const char *dir, enum mitmnet_role r)
{
	struct holder h[MITMNET_ROLES];

	if ((unsigned)r >= MITMNET_ROLES)
		return 0;
	read_record(dir, h);
	return alive(&h[r]) ? h[r].pid : 0;
}

/* ---- holding a namespace ---------------------------------------------------------------------- */

/* A child in a namespace of its own that does nothing but keep it: out of every lock and
 * descriptor of the lab command, deaf to its terminal, stopped by TERM. */
static pid_t hold(struct holder *out, struct mq_err *err)
{
	int p[2], e = 0;
	sigset_t all;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		mq_errf_errno(err, "cannot make a network namespace");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		mq_errf_errno(err, "cannot make a network namespace");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		setsid();
		prctl(PR_SET_NAME, "mqttls-netns", 0, 0, 0);
		if (unshare(CLONE_NEWNET) < 0)
			e = errno;
		(void)!write(p[1], &e, sizeof e);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		closefrom(3);
		if (e)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &e, sizeof e) != (ssize_t)sizeof e)
		e = EIO;
	close(p[0]);
	if (e) {
		waitpid(pid, NULL, 0);
		/* Not root enough (a container without CAP_SYS_ADMIN), or a kernel without them. */
		mq_errf(err, "cannot make a network namespace (%s): --netns needs root with CAP_SYS_ADMIN and a kernel "
			"with network namespaces", strerror(e));
		return -1;
	}
	out->pid = pid;
	for (int i = 0; i < 100 && !(out->start = mq_proc_start(pid)); i++)
		usleep(1000);
	return pid;
}

/* The namespace inode of a process ("net:[4026532...]"), "" when it cannot be read. */
static void ns_of(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%ld/ns/net", (long)pid);
	n = readlink(path, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/* Signal every process in the holder's namespace but the holder; how many there were. */
static int signal_inside(const struct holder *h, int sig)
{
	char want[64], have[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	if (!alive(h))
		return 0;
	ns_of(h->pid, want, sizeof want);
	if (!want[0] || !(d = opendir("/proc")))
		return 0;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 1 || pid == (long)h->pid || pid == (long)getpid())
			continue;
		ns_of((pid_t)pid, have, sizeof have);
		if (!strcmp(have, want) && kill((pid_t)pid, sig) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static void stop_holders(struct holder h[MITMNET_ROLES])
{
	/* What still runs in there (a device a student started by hand, say) goes first. */
	for (int r = 0; r < MITMNET_ROLES; r++)
		signal_inside(&h[r], SIGTERM);
	for (int i = 0; i < 30; i++) {
		int left = 0;
		for (int r = 0; r < MITMNET_ROLES; r++)
			left += signal_inside(&h[r], 0);
		if (!left)
			break;
		usleep(100000);
	}
	for (int r = 0; r < MITMNET_ROLES; r++)
		signal_inside(&h[r], SIGKILL);
	for (int r = 0; r < MITMNET_ROLES; r++) {
		if (!alive(&h[r]))
			continue;
		kill(h[r].pid, SIGTERM);
		for (int i = 0; i < 100 && alive(&h[r]); i++) {
			waitpid(h[r].pid, NULL, WNOHANG);   /* our child when this process made it */
			usleep(10000);
		}
		if (alive(&h[r]))
			kill(h[r].pid, SIGKILL);
		waitpid(h[r].pid, NULL, WNOHANG);
	}
}

void mitmnet_down(const char *dir)
{
	struct holder h[MITMNET_ROLES];
	char path[PATH_MAX];

	read_record(dir, h);
	stop_holders(h);
	if (record_path(dir, path, sizeof path))
		unlink(path);
}

/* ---- ip(8) inside a namespace ----------------------------------------------------------------- */

static const char *ip_tool(void)
{
	static const char *const where[] = { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" };

	for (size_t i = 0; i < MQ_ARRAY_LEN(where); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

/* ip ARGS... run in the holder's namespace; 0, or -1 with err holding what ip said. */
static int run_ip(const struct holder h[MITMNET_ROLES], const struct step *s, struct mq_err *err)
{
	const char *ip = ip_tool();
	char *argv[MAX_ARGV + 2], pids[MITMNET_ROLES][16], out[512] = "", nspath[64];
	size_t argc = 0, got = 0;
	int fds[2], status, nsfd;
	pid_t pid;
	ssize_t n;

	if (!ip) {
		mq_errf(err, "the lab network needs iproute2's ip (apt-get install iproute2)");
		return -1;
	}
	for (int r = 0; r < MITMNET_ROLES; r++)
		snprintf(pids[r], sizeof pids[r], "%ld", (long)h[r].pid);
	argv[argc++] = (char *)ip;
	for (size_t i = 0; i < MAX_ARGV && s->args[i]; i++)
		argv[argc++] = !strcmp(s->args[i], "{attacker}") ? pids[MITMNET_ATTACKER]
			       : !strcmp(s->args[i], "{broker}") ? pids[MITMNET_BROKER]
								 : (char *)s->args[i];
	argv[argc] = NULL;
	snprintf(nspath, sizeof nspath, "/proc/%ld/ns/net", (long)h[s->in].pid);
	if ((nsfd = open(nspath, O_RDONLY | O_CLOEXEC)) < 0) {
		mq_errf_errno(err, "the lab network's %s namespace is gone", role_names[s->in]);
		return -1;
	}
	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		mq_errf_errno(err, "cannot run ip");
		close(nsfd);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		mq_signals_child();
		if (setns(nsfd, CLONE_NEWNET) < 0)
			_exit(126);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		dup2(fds[1], 2);
		execv(ip, argv);
		_exit(127);
	}
	close(nsfd);
	close(fds[1]);
	while (got < sizeof out - 1 && (n = read(fds[0], out + got, sizeof out - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	out[strcspn(out, "\n")] = '\0';
	{
		struct mq_str cmd = { 0 };
		for (size_t i = 1; i < argc; i++)
			mq_str_printf(&cmd, " %s", argv[i]);
		mq_errf(err, "in the %s namespace, ip%s failed: %s", role_names[s->in], cmd.s ? cmd.s : "",
			out[0] ? out : WIFEXITED(status) && WEXITSTATUS(status) == 126 ? "cannot enter it" : "no reason given");
		mq_str_free(&cmd);
	}
	return -1;
}

/* Every veth end, where it lives. */
static const struct link {
	enum mitmnet_role in;
	const char *dev;
} links[] = {
	{ MITMNET_DEVICE, "mq-to-attacker" },
	{ MITMNET_ATTACKER, "mq-to-device" },
	{ MITMNET_ATTACKER, "mq-to-broker" },
	{ MITMNET_BROKER, "mq-to-attacker" },
};

#define LINK_WAIT_MS 5000

/* A datagram socket of the holder's namespace (a socket stays in the namespace it was made in). */
static int socket_in(const struct holder *h)
{
	char path[64];
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), ns, s = -1;

	snprintf(path, sizeof path, "/proc/%ld/ns/net", (long)h->pid);
	if (home < 0)
		return -1;
	if ((ns = open(path, O_RDONLY | O_CLOEXEC)) >= 0 && setns(ns, CLONE_NEWNET) == 0) {
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		(void)setns(home, CLONE_NEWNET);   /* as mitmnet_leave: it has the right, and the descriptor */
	}
	if (ns >= 0)
		close(ns);
	close(home);
	return s;
}

/* A veth end has a carrier a moment after both ends are up: until then what a device or the
 * relay sends first is dropped. Wait for every end (IFF_RUNNING), up to LINK_WAIT_MS. */
static int links_running(const struct holder h[MITMNET_ROLES], struct mq_err *err)
{
	double until = mq_now_ms() + LINK_WAIT_MS;

	for (size_t i = 0; i < MQ_ARRAY_LEN(links); i++) {
		struct ifreq ifr = { 0 };
		int s = socket_in(&h[links[i].in]);
		bool up = false;

		if (s < 0) {
			mq_errf_errno(err, "cannot look at the lab network's %s namespace", role_names[links[i].in]);
			return -1;
		}
		snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", links[i].dev);
		while (!(up = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_RUNNING)) && mq_now_ms() < until)
			usleep(20000);
		close(s);
		if (!up) {
			mq_errf(err, "the lab network's link %s in the %s namespace did not come up within %d s", links[i].dev,
				role_names[links[i].in], LINK_WAIT_MS / 1000);
			return -1;
		}
	}
	return 0;
}

int mitmnet_up(const char *dir, struct mq_err *err)
{
	struct holder h[MITMNET_ROLES] = { 0 };
	char path[PATH_MAX];
	sigset_t saved;

	if (geteuid() != 0) {
		mq_errf(err, "the lab network (network namespaces and veth links) needs root");
		return -1;
	}
	mitmnet_down(dir);
	/* From a holder's fork to its record, and until a failure has removed them all: a Ctrl-C
	 * waits, so that no holder is ever left where neither lab stop nor the next start finds it. */
	mq_signals_hold(&saved);
	for (int r = 0; r < MITMNET_ROLES; r++) {
		if (hold(&h[r], err) < 0)
			goto fail;
		/* Recorded as they come, so that a failure part-way is cleaned up by the next start too. */
		if (write_record(dir, h, err) < 0)
			goto fail;
	}
	for (size_t i = 0; i < MQ_ARRAY_LEN(topology); i++)
		if (run_ip(h, &topology[i], err) < 0)
			goto fail;
	if (links_running(h, err) < 0)
		goto fail;
	mq_signals_release(&saved);
	return 0;
fail:
	stop_holders(h);
	if (record_path(dir, path, sizeof path))
		unlink(path);
	mq_signals_release(&saved);
	return -1;
}

/* ---- entering ----------------------------------------------------------------------------------- */

int mitmnet_open(const char *dir, enum mitmnet_role r, struct mq_err *err)
{
	struct holder h[MITMNET_ROLES];
	char path[64];
	int fd;

	read_record(dir, h);
	if ((unsigned)r >= MITMNET_ROLES || !alive(&h[r])) {
		mq_errf(err, "the lab network's %s namespace is gone (mqttls lab stop mitm, then start it again)",
			mitmnet_role_name(r));
		return -1;
	}
	snprintf(path, sizeof path, "/proc/%ld/ns/net", (long)h[r].pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		mq_errf_errno(err, "cannot open the lab network's %s namespace", role_names[r]);
	return fd;
}

int mitmnet_enter(const char *dir, enum mitmnet_role r, struct mq_err *err)
{
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), fd;

	if (home < 0) {
		mq_errf_errno(err, "cannot tell which network namespace this is");
		return -1;
	}
	if ((fd = mitmnet_open(dir, r, err)) < 0) {
		close(home);
		return -1;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		mq_errf_errno(err, "cannot enter the lab network's %s namespace", role_names[r]);
		close(fd);
		close(home);
		return -1;
	}
	close(fd);
	return home;
}

void mitmnet_leave(int home)
{
	if (home < 0)
		return;
	/* Back where the thread came from: that namespace lives as long as the descriptor does. */
	(void)setns(home, CLONE_NEWNET);
	close(home);
}
