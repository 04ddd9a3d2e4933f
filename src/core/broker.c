#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mqttls/broker.h"
#include "mqttls/util.h"

const char *broker_exe(void)
{
	static char found[PATH_MAX];
	const char *path = getenv("PATH");
	char dirs[4096];

	if (found[0])
		return found;
	/* Debian installs the broker in /usr/sbin, which is not on a user's PATH. */
	snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/usr/local/sbin", path ? path : "/usr/bin");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char cand[PATH_MAX];
		if (mq_path_join(cand, sizeof cand, d, "mosquitto") && access(cand, X_OK) == 0) {
			snprintf(found, sizeof found, "%s", cand);
			return found;
		}
	}
	return NULL;
}

/*
 * What to quote from a broker's log: its last "Error: ..." line with the OpenSSL reason that
 * follows it ("Permission denied"), rather than the last of the OpenSSL lines; else the last line.
 */
static char *log_last_line(const char *log, char *buf, size_t size)
{
	char *text = NULL, *line, *save = NULL, *err_line = NULL, *reason = NULL, *last = NULL;
	size_t len = 0;

	buf[0] = '\0';
	if (mq_read_file(log, 1 << 20, &text, &len, NULL) < 0)
		return buf;
	for (line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char *e = strstr(line, "Error: "), *o = strstr(line, "OpenSSL Error[0]: ");
		if (!*line)
			continue;
		last = line;
		if (o && err_line && !reason) {
			char *r = strrchr(o, ':');
			reason = r && r[1] ? r + 1 : o + 18;
		} else if (e && !strstr(line, "OpenSSL Error")) {
			err_line = line;
			reason = NULL;
		}
	}
	if (err_line)
		snprintf(buf, size, "%s%s%s%s", err_line, reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
	else
		snprintf(buf, size, "%s", last ? last : "");
	free(text);
	return buf;
}

char *broker_last_log_line(const char *dir, char *buf, size_t size)
{
	char path[PATH_MAX];

	buf[0] = '\0';
	if (!mq_path_join(path, sizeof path, dir, "mosquitto.log"))
		return buf;
	return log_last_line(path, buf, size);
}

/*
 * Gone: no such process, or a zombie waiting for a parent that may never reap it (a
 * detached broker's parent is init, and not every init reaps promptly).
 */
static bool pid_gone(pid_t pid)
{
	char path[64], buf[256];
	const char *close_paren;
	FILE *f;
	size_t n;

	if (kill(pid, 0) < 0)
		return true;
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')' (comm may hold anything). */
	close_paren = strrchr(buf, ')');
	return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

bool broker_alive(pid_t pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	if (pid <= 0 || pid_gone(pid))
		return false;
	snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof comm, f))
		comm[0] = '\0';
	fclose(f);
	/* A reused PID that now belongs to something else must never be signalled. */
	return strncmp(comm, "mosquitto", 9) == 0;
}

int broker_start(const char *dir, const char *conf_text, int port, int wait_ms, pid_t *pid,
		 struct mq_err *err)
{
	char conf[PATH_MAX], log[PATH_MAX];

	if (!mq_path_join(conf, sizeof conf, dir, "mosquitto.conf") ||
	    !mq_path_join(log, sizeof log, dir, "mosquitto.log")) {
		mq_errf(err, "directory path too long: %s", dir);
		return -1;
	}
	if (mq_write_file(conf, conf_text, strlen(conf_text), 0644, true, err) < 0)
		return -1;
	return broker_run(conf, log, "127.0.0.1", port, wait_ms, pid, err);
}

int broker_run(const char *conf, const char *log, const char *host, int port, int wait_ms, pid_t *pid,
	       struct mq_err *err)
{
	char last[512];
	const char *exe = broker_exe();
	double deadline;
	pid_t child;
	int status;

	if (!exe) {
		mq_errf(err, "mosquitto is not installed (Debian: apt-get install mosquitto)");
		return -1;
	}
	/* Waiting for the port to answer proves nothing when something else answers on it already. */
	if (mq_wait_listening(host, port, 0) == 0) {
		mq_errf(err, "Address already in use: something else listens on %s:%d", host, port);
		return -1;
	}
	child = fork();
	if (child < 0) {
		mq_errf_errno(err, "cannot start mosquitto");
		return -1;
	}
	if (child == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_RDONLY);

		setsid();
		mq_signals_child();
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execl(exe, "mosquitto", "-c", conf, (char *)NULL);
		_exit(127);
	}
	deadline = mq_now_ms() + wait_ms;
	for (;;) {
		if (waitpid(child, &status, WNOHANG) == child) {
			log_last_line(log, last, sizeof last);
			mq_errf(err, "mosquitto exited at start%s%s (config %s)", last[0] ? ": " : "", last, conf);
			return -1;
		}
		if (mq_wait_listening(host, port, 0) == 0) {
			/* Another process may have taken the port meanwhile while ours fails to bind it:
			 * a broker that dies right after is not up. */
			usleep(50 * 1000);
			if (waitpid(child, &status, WNOHANG) == child) {
				log_last_line(log, last, sizeof last);
				mq_errf(err, "mosquitto exited at start%s%s (config %s)", last[0] ? ": " : "", last, conf);
				return -1;
			}
			break;
		}
		if (mq_now_ms() > deadline) {
			broker_stop(child);
			log_last_line(log, last, sizeof last);
			mq_errf(err, "mosquitto did not listen on %s:%d within %d ms%s%s", host, port, wait_ms,
				last[0] ? "; its log says: " : "", last);
			return -1;
		}
		usleep(20 * 1000);
	}
	*pid = child;
	return 0;
}

int broker_stop(pid_t pid)
{
	double deadline;

	if (pid <= 0 || pid_gone(pid))
		return 0;
	kill(pid, SIGTERM);
	deadline = mq_now_ms() + 3000;
	while (mq_now_ms() < deadline) {
		/* Reap it when it is our child; otherwise just watch it go. */
		if (waitpid(pid, NULL, WNOHANG) == pid || pid_gone(pid))
			return 0;
		usleep(20 * 1000);
	}
	kill(pid, SIGKILL);
	for (deadline = mq_now_ms() + 1000; mq_now_ms() < deadline; usleep(20 * 1000))
		if (waitpid(pid, NULL, WNOHANG) == pid || pid_gone(pid))
			return 0;
	return -1;
}
