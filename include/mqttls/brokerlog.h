/*
 * brokerlog — what a mosquitto 2.0 log says about the broker's last start and the clients it
 * refused, for diagnose --broker-log. The log may be mosquitto's own file (log_dest file), its
 * stderr, or journalctl output: lines are matched by the message, whatever the prefix.
 *
 * Only the last run counts: from the last "mosquitto version ... starting" line on. A start
 * failure ("Unable to load server key file" and the OpenSSL reason after it, a configuration
 * error, "Address already in use") becomes a finding that stops the broker. What the running
 * broker logged about clients (CONNACK codes, OpenSSL errors, protocol errors) is kept as
 * evidence lines for the live findings it confirms. Every byte of the log is untrusted.
 */
#ifndef MQTTLS_BROKERLOG_H
#define MQTTLS_BROKERLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "attrib.h"
#include "err.h"
#include "finding.h"

/* The log's tail that is read: a longer log is read from this many bytes before its end. */
#define BROKERLOG_MAX_BYTES (4u << 20)

enum brokerlog_kind {
	BROKERLOG_CONNACK,       /* "Sending CONNACK to ... (0, N)": code */
	BROKERLOG_TLS,           /* an OpenSSL error or a protocol error on a client connection */
};

struct brokerlog_line {
	enum brokerlog_kind kind;
	int code;                /* BROKERLOG_CONNACK: the return code */
	int port;                /* the listener port the connection came in on, 0 when unknown */
	char *text;              /* the log line without its timestamp, escaped for a terminal */
};

struct brokerlog {
	bool started;            /* a "starting" line was seen */
	bool running;            /* ... followed by "running": the last start succeeded */
	size_t n_lines;          /* lines of the last run */
	struct findings findings;   /* start failures (stops_broker set) */
	struct brokerlog_line *ev;  /* evidence about clients, oldest first, at most 64 (the latest) */
	size_t n_ev;
};

/*
 * Read a log file. Returns 0 (what it says is in out, possibly nothing), or -1 with err set
 * when the file cannot be read. Free out with brokerlog_free in both cases.
 */
int brokerlog_read(const char *path, struct brokerlog *out, struct mq_err *err) MQ_WUR MQ_NONNULL(1, 2);

/* The same over text in memory (the fuzzer and the unit tests); out is filled from scratch. */
void brokerlog_parse(const char *text, size_t len, struct brokerlog *out) MQ_NONNULL(1, 3);

void brokerlog_free(struct brokerlog *l);

#endif
