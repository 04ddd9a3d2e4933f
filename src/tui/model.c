/*
 * model — the diagnosis as the Diagnose and Chain views show it. A diag_session runs on the
 * TUI's loop; its events land here (stage states with their timings, log lines) and mark the
 * screen dirty. Certificates and findings are read from the session's result, which the model
 * takes over once the session says DONE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttls/diag.h"
#include "mqttls/util.h"
#include "tui.h"

static void log_add(struct model *m, const char *text)
{
	char *e;

	if (m->n_log == MODEL_LOG_MAX) {
		/* Bounded: the oldest line goes. */
		free(m->log[0]);
		memmove(m->log, m->log + 1, (MODEL_LOG_MAX - 1) * sizeof *m->log);
		m->n_log--;
	}
	if (!m->log) {
		m->log = calloc(MODEL_LOG_MAX, sizeof *m->log);
		if (!m->log)
			return;
	}
	e = mq_escape_dup(text, strlen(text));
	if (e)
		m->log[m->n_log++] = e;
}

static void log_clear(struct model *m)
{
	for (size_t i = 0; i < m->n_log; i++)
		free(m->log[i]);
	m->n_log = 0;
}

static void stages_reset(struct model *m)
{
	for (int i = 0; i < MODEL_STAGES; i++) {
		free(m->stages[i].detail);
		memset(&m->stages[i], 0, sizeof m->stages[i]);
		m->stages[i].status = DIAG_PENDING;
	}
}

/* DONE arrives inside the engine's callback, where the session must not be freed: take it after. */
static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct tui *t = arg;
	struct model *m = &t->model;

	(void)fd;
	(void)what;
	if (!m->session || !diag_session_done(m->session))
		return;
	diag_result_free(m->result);
	m->result = diag_session_take_result(m->session);
	diag_session_free(m->session);
	m->session = NULL;
	tui_dirty(t);
}

static void on_event(void *ctx, const struct diag_event *ev)
{
	struct tui *t = ctx;
	struct model *m = &t->model;
	struct model_stage *st;

	switch (ev->kind) {
	case DIAG_EV_STAGE_STARTED:
		if (ev->stage >= MODEL_STAGES)
			break;
		st = &m->stages[ev->stage];
		st->status = DIAG_RUNNING;
		st->started = mq_now_ms();
		break;
	case DIAG_EV_STAGE_FINISHED:
		if (ev->stage >= MODEL_STAGES || !ev->state)
			break;
		st = &m->stages[ev->stage];
		st->status = (int)ev->state->status;
		st->ms = ev->state->ms;
		free(st->detail);
		st->detail = strdup(ev->state->detail ? ev->state->detail : "");
		break;
	case DIAG_EV_LOG:
		if (ev->text)
			log_add(m, ev->text);
		break;
	case DIAG_EV_DONE:
		m->running = false;
		m->done = true;
		m->finished = mq_now_ms();
		if (ev->result) {
			/* Stages the engine settled without events (skipped) take their final state. */
			for (int i = 0; i < MODEL_STAGES; i++) {
				const struct diag_stage *ds = &ev->result->stages[i];
				st = &m->stages[i];
				if (st->status == DIAG_PENDING || st->status == DIAG_RUNNING) {
					st->status = (int)ds->status;
					st->ms = ds->ms;
					free(st->detail);
					st->detail = strdup(ds->detail ? ds->detail : "");
				}
			}
		}
		event_active(m->reap, 0, 0);
		break;
	case DIAG_EV_CERT:
	case DIAG_EV_FINDING:
		break; /* read from the result at the next redraw */
	}
	tui_dirty(t);
}

void model_init(struct tui *t)
{
	struct model *m = &t->model;

	memset(m, 0, sizeof *m);
	target_init(&m->target);
	stages_reset(m);
	m->reap = event_new(t->base, -1, 0, on_reap, t);
}

static void model_stop(struct model *m)
{
	if (m->session) {
		diag_session_free(m->session);
		m->session = NULL;
	}
	diag_result_free(m->result);
	m->result = NULL;
	m->running = false;
	m->done = false;
}

void model_free(struct tui *t)
{
	struct model *m = &t->model;

	model_stop(m);
	stages_reset(m);
	for (int i = 0; i < MODEL_STAGES; i++)
		free(m->stages[i].detail);
	log_clear(m);
	free(m->log);
	target_free(&m->target);
	if (m->reap)
		event_free(m->reap);
	memset(m, 0, sizeof *m);
}

static int model_begin(struct tui *t)
{
	struct model *m = &t->model;
	struct diag_opts o;
	struct mq_err err = { 0 };

	model_stop(m);
	stages_reset(m);
	log_clear(m);
	m->error[0] = '\0';
	m->run++;
	diag_opts_init(&o);
	m->session = diag_session_new(t->base, &m->target, &o, on_event, t, &err);
	if (!m->session) {
		model_set_error(t, "The diagnosis could not start", err.msg);
		return -1;
	}
	m->running = true;
	m->started = mq_now_ms();
	diag_session_start(m->session);
	tui_dirty(t);
	return 0;
}

int model_start(struct tui *t, const struct target *tg, const char *label)
{
	struct model *m = &t->model;
	char host[128];

	target_dup(&m->target, tg);
	m->have_target = true;
	if (label) {
		snprintf(m->label, sizeof m->label, "%s", label);
	} else {
		/* The host is the user's own text, but still: nothing unescaped reaches the title. */
		mq_escape(tg->host, strlen(tg->host), host, sizeof host);
		snprintf(m->label, sizeof m->label, "%s://%s%s%s:%d", tg->tls ? "mqtts" : "mqtt",
			 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", tg->port);
	}
	return model_begin(t);
}

int model_rerun(struct tui *t)
{
	if (!t->model.have_target) {
		tui_status(t, S_WARN, "nothing to diagnose yet: fill in the Connect view (1) and press d");
		return -1;
	}
	return model_begin(t);
}

const struct diag_result *model_result(const struct tui *t)
{
	const struct model *m = &t->model;

	if (m->result)
		return m->result;
	if (m->session)
		return diag_session_result(m->session);
	return NULL;
}

int model_start_lab(struct tui *t, const struct lab_info *info, const char *what)
{
	struct target tg;
	char label[200];
	int rc;

	target_init(&tg);
	lab_target(info, &tg);
	tg.tls_opts_given = true;
	snprintf(label, sizeof label, "%s:%d (%s)", info->host, info->port, what);
	rc = model_start(t, &tg, label);
	view_connect_show_target(t, t->vs[V_CONNECT], &tg);
	target_free(&tg);
	return rc;
}

bool model_ok(const struct tui *t)
{
	const struct diag_result *r = model_result(t);
	return t->model.done && !t->model.error[0] && r && r->ok;
}

void model_set_error(struct tui *t, const char *what, const char *why)
{
	struct model *m = &t->model;

	snprintf(m->error, sizeof m->error, "%s: %s", what, why && *why ? why : "no reason given");
	m->running = false;
	m->done = true;
	tui_dirty(t);
}
