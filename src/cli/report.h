/*
 * report — how diagnose and inspect print a diagnosis for a person: the stage ladder with
 * marks and milliseconds, the root cause in one sentence, then each finding with its
 * evidence, its fix and what the same failure looks like elsewhere.
 */
#ifndef MQTTLS_CLI_REPORT_H
#define MQTTLS_CLI_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "mqttls/diag.h"

struct report_style {
	bool color;
	bool utf8;
	int width;      /* columns to wrap text at */
};

/* Colour when out is a terminal without NO_COLOR; UTF-8 marks when the locale is UTF-8. */
void report_style_init(struct report_style *st, FILE *out);

/* One line of the ladder: "  ✓ tls            4.2 ms  TLSv1.3 ...". */
void report_stage(FILE *out, const struct report_style *st, enum diag_stage_id id, const struct diag_stage *g);

/* Root cause, findings (errors first, then warnings), or the all-clear. */
void report_findings(FILE *out, const struct report_style *st, const struct diag_result *r, bool inspect);

/* The presented chain, each certificate's fields, the SAN matching host marked. */
void report_chain(FILE *out, const struct report_style *st, const struct diag_result *r, const char *host);

#endif
