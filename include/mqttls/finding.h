/*
 * finding — what a diagnosis concluded, under the contract's stable ids.
 *
 * A finding is not an error: an expired broker certificate is something a probe
 * observed. Rules turn observations into findings; faces print them.
 */
#ifndef MQTTLS_FINDING_H
#define MQTTLS_FINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "attrib.h"

enum mq_severity { MQ_SEV_ERROR, MQ_SEV_WARNING, MQ_SEV_INFO };

/* One row per contract id: its severity and a short title (docs/findings.md explains each). */
struct finding_def {
	const char *id;
	enum mq_severity severity;
	const char *title;
};

/* The row for id, or NULL when id is not a contract id. */
const struct finding_def *finding_def(const char *id);
/* Every row, for docs and tests. */
const struct finding_def *finding_defs(size_t *n);

const char *finding_severity_name(enum mq_severity s);

struct finding {
	const char *id;          /* a contract id (static string from the table) */
	enum mq_severity severity;
	char *title;             /* one sentence: what is wrong */
	char *detail;            /* the evidence, in the user's own terms */
	char *fix;               /* exact commands or conf lines; may hold several lines */
	char *seen;              /* what the same failure looks like on a device / mosquitto_pub / broker log */
	char *path;              /* the file concerned, when there is one */
	bool stops_broker;       /* a broker-side finding that keeps mosquitto from starting (lint-conf) */
};

struct findings {
	struct finding *v;
	size_t n, cap;
};

/*
 * Add a finding. id must be a contract id (abort()s otherwise: a programming error).
 * title NULL takes the table's title. Strings are copied. Returns the new finding
 * so the caller can set seen/path with finding_set().
 */
struct finding *findings_add(struct findings *fs, const char *id, const char *title,
			     const char *detail, const char *fix) MQ_NONNULL(1, 2);

/* printf-style setters for the optional fields. */
void finding_set_seen(struct finding *f, const char *fmt, ...) MQ_PRINTF(2, 3);
void finding_set_path(struct finding *f, const char *path);

/* True when a finding with this id is present. */
bool findings_has(const struct findings *fs, const char *id);
/* True when any finding has severity error. */
bool findings_has_error(const struct findings *fs);
/* Move error findings before warnings before info, keeping their relative order. */
void findings_sort(struct findings *fs);

/* The contract's "findings" array. */
cJSON *findings_to_json(const struct findings *fs);

/*
 * Human rendering (lint-conf's): each finding as "✗ ID  title" then indented detail / fix / seen,
 * each verbatim. color adds ANSI colours; utf8 picks marks. diagnose and inspect wrap the
 * evidence to the terminal instead (src/cli/report.c) and share finding_print_lines.
 */
void findings_print(FILE *out, const struct findings *fs, bool color, bool utf8);

/* One labelled part of a finding as text: "    LABEL", then every line of text indented by six
 * spaces as it is (commands stay copyable). Nothing for empty text. */
void finding_print_lines(FILE *out, const char *label, const char *text, bool color);

void findings_free(struct findings *fs);

#endif
