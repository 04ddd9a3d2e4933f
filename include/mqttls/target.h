/*
 * target — where and how to connect, in mosquitto_pub/mosquitto_sub terms.
 *
 * A command parses its own options first and offers every other argument to
 * target_parse_arg(), so a user can paste a failing mosquitto_sub line after
 * "mqttls diagnose" and get the same connection.
 */
#ifndef MQTTLS_TARGET_H
#define MQTTLS_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "attrib.h"
#include "err.h"

enum target_verify {
	TARGET_VERIFY_FULL,     /* CA and host name (ESP32 setCACert, mosquitto default) */
	TARGET_VERIFY_NO_HOST,  /* --insecure: CA checked, host name not */
	TARGET_VERIFY_NONE,     /* --no-verify: nothing (ESP32 setInsecure) */
};

/* --clock: the date the broker's certificates are checked against (a device's clock). */
enum target_clock {
	TARGET_CLOCK_SYSTEM,    /* this machine's clock (a device whose NTP worked): the default */
	TARGET_CLOCK_AT,        /* a fixed date, clock_at: "unset" is 1970, an ESP32 that never ran NTP */
	TARGET_CLOCK_IGNORE,    /* dates not checked at all (mbedTLS without MBEDTLS_HAVE_TIME_DATE) */
};
/* A device clock before 2000 was never set: it counts from 1970 since the device booted. */
#define TARGET_CLOCK_NEVER_SET 946684800LL

struct target {
	char *host;          /* never NULL after target_init: "localhost" by default */
	int port;            /* 8883 by default, 1883 for mqtt:// */
	bool port_given;
	bool tls;            /* false for mqtt:// or a pasted mosquitto_* line without TLS options (but not -p 8883) */
	char *cafile, *capath, *cert, *key;
	char *user, *pass, *client_id, *topic, *message, *sni;
	char *ciphers;       /* --ciphers (TLS <= 1.2 list, as mosquitto) */
	enum target_verify verify;
	int tls_min, tls_max; /* TLS1_2_VERSION style numbers; 0 = library default */
	int mqtt_version;    /* 311 (default), 31 or 5 */
	int keepalive;       /* -k, default 60 */
	int qos;             /* -q, default 1 for the round trip */
	enum target_clock clock; /* --clock; applied to the verification only */
	long long clock_at;  /* TARGET_CLOCK_AT: UNIX seconds */

	/* How the target was given, so the diagnosis can speak about the user's own command. */
	bool pasted;         /* a leading mosquitto_pub / mosquitto_sub word */
	char *pasted_tool;   /* "mosquitto_sub" / "mosquitto_pub" / NULL */
	bool tls_opts_given; /* any of --cafile --capath --cert --key --insecure --tls-version ... */
	bool url_given;
};

void target_init(struct target *t) MQ_NONNULL(1);
void target_free(struct target *t);

/* A deep copy of src into dst (whatever dst held is freed; dst must be initialised or zeroed). */
void target_dup(struct target *dst, const struct target *src) MQ_NONNULL(1, 2);

/*
 * Try to consume argv[i] (and its value) as a TARGET option or a positional
 * mqtts:// URL / host[:port]. Returns the number of arguments consumed (>= 1),
 * 0 when argv[i] is not a target argument, or -1 on a usage error (err says exactly what).
 */
int target_parse_arg(struct target *t, int argc, char **argv, int i, struct mq_err *err) MQ_WUR;

/*
 * Finish parsing: apply the rules that need every option (mqtt:// port, a pasted
 * mosquitto line without TLS options speaks plain MQTT, cert without key, ...).
 */
int target_finish(struct target *t, struct mq_err *err) MQ_WUR;

/* Parse a whole command line (after the command word); convenience for tests and the TUI. */
int target_parse_line(struct target *t, const char *line, struct mq_err *err) MQ_WUR;

/* "tlsv1.2" -> TLS1_2_VERSION, or 0 if unknown. */
int target_tls_version_from_name(const char *name);
const char *target_tls_version_name(int v);

/*
 * Read a --clock value: "ntp" or "system" (this machine's clock), "unset" (1970-01-01T00:00:00Z),
 * "ignore", a UTC date "2026-01-31" or "2026-01-31T12:00:00Z", or an offset from now "-400d",
 * "+2h" (units s, m, h, d). 0, or -1 with err saying what is accepted.
 */
int target_parse_clock(const char *s, enum target_clock *mode, long long *at, struct mq_err *err) MQ_WUR;

/* A clock as --clock would take it back: "ntp", "unset", "ignore" or an ISO 8601 date. */
const char *target_clock_arg(enum target_clock mode, long long at, char *buf, size_t size);

/* One line of help text listing the TARGET options, for every command's --help. */
extern const char target_usage[];

/* Split a command line the way a POSIX shell would for simple quoting ('', "", \). */
int target_split_line(const char *line, int *argc_out, char ***argv_out, struct mq_err *err) MQ_WUR;
void target_free_argv(int argc, char **argv);

#endif
