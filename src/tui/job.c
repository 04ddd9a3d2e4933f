/*
 * job — the lab engine's calls are synchronous (they start mosquitto and wait until it
 * listens, or wait for it to die), so the TUI runs them on a worker thread and hears of
 * their end through a pipe on the loop: the screen keeps moving meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tui.h"

static void *job_thread(void *arg)
{
	struct tui *t = arg;
	char c = 1;

	t->job.work(t->job.arg);
	while (write(t->job.fds[1], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void job_reap(struct tui *t)
{
	job_done_fn done = t->job.done;
	void *arg = t->job.arg;

	pthread_join((pthread_t)t->job.thread, NULL);
	t->job.running = false;
	t->job.what[0] = '\0';
	if (done)
		done(t, arg);
}

static void on_job_done(evutil_socket_t fd, short what, void *arg)
{
	struct tui *t = arg;
	char c;

	(void)what;
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	if (t->job.running)
		job_reap(t);
	tui_dirty(t);
}

void job_init(struct tui *t)
{
	t->job.fds[0] = t->job.fds[1] = -1;
	if (pipe2(t->job.fds, O_CLOEXEC) < 0)
		return;
	t->job.ev = event_new(t->base, t->job.fds[0], EV_READ | EV_PERSIST, on_job_done, t);
	if (t->job.ev)
		event_add(t->job.ev, NULL);
}

int job_run(struct tui *t, const char *what, job_work_fn work, job_done_fn done, void *arg)
{
	pthread_t th;

	if (t->job.running) {
		tui_status(t, S_WARN, "busy: %s - try again in a moment", t->job.what);
		return -1;
	}
	if (!t->job.ev) {
		tui_status(t, S_FAIL, "cannot run %s: no worker pipe", what);
		return -1;
	}
	snprintf(t->job.what, sizeof t->job.what, "%s", what);
	t->job.work = work;
	t->job.done = done;
	t->job.arg = arg;
	t->job.running = true;
	if (pthread_create(&th, NULL, job_thread, t) != 0) {
		t->job.running = false;
		tui_status(t, S_FAIL, "cannot run %s: %s", what, strerror(errno));
		return -1;
	}
	t->job.thread = (unsigned long)th;
	tui_dirty(t);
	return 0;
}

bool job_busy(const struct tui *t)
{
	return t->job.running;
}

const char *job_what(const struct tui *t)
{
	return t->job.what;
}

void job_fini(struct tui *t)
{
	if (t->job.running) {
		/* Wait: the thread must not outlive the state it writes to. Its done() still frees what it made. */
		job_reap(t);
	}
	if (t->job.ev)
		event_free(t->job.ev);
	t->job.ev = NULL;
	for (int i = 0; i < 2; i++)
		if (t->job.fds[i] >= 0)
			close(t->job.fds[i]);
	t->job.fds[0] = t->job.fds[1] = -1;
}
