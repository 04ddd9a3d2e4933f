/*
 * brokerlog on mosquitto 2.0.11's own words (captured from the real broker on Debian 12), and
 * conf_fold_diagnosis on synthetic live diagnoses: the broker-side cause goes first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mqttls/brokerlog.h"
#include "mqttls/conf.h"
#include "mqttls/util.h"

static void parse(struct brokerlog *l, const char *text)
{
	memset(l, 0, sizeof *l);
	brokerlog_parse(text, strlen(text), l);
}

static void key_permission_denied(void **state)
{
	struct brokerlog l;
	(void)state;

	parse(&l, "1795309706: mosquitto version 2.0.11 starting\n"
		  "1795309706: Config loaded from /etc/mosquitto/mosquitto.conf.\n"
		  "1795309706: Opening ipv4 listen socket on port 8883.\n"
		  "1795309706: Error: Unable to load server key file \"/home/pi/certs/broker.key\". Check keyfile.\n"
		  "1795309706: OpenSSL Error[0]: error:8000000D:system library::Permission denied\n"
		  "1795309706: OpenSSL Error[1]: error:10080002:BIO routines::system lib\n");
	assert_true(l.started);
	assert_false(l.running);
	assert_int_equal(l.findings.n, 1);
	assert_string_equal(l.findings.v[0].id, "BROKER_CANNOT_READ_FILE");
	assert_true(l.findings.v[0].stops_broker);
	assert_string_equal(l.findings.v[0].path, "/home/pi/certs/broker.key");
	assert_non_null(strstr(l.findings.v[0].title, "Permission denied"));
	brokerlog_free(&l);
}

static void only_the_last_run_counts(void **state)
{
	struct brokerlog l;
	(void)state;

	/* A failed start, then a good one: nothing stops the broker now. */
	parse(&l, "Nov 22 mosquitto[1]: 1: mosquitto version 2.0.11 starting\n"
		  "Nov 22 mosquitto[1]: 1: Error: Unable to load server certificate \"/x.crt\". Check certfile.\n"
		  "Nov 22 mosquitto[1]: 1: OpenSSL Error[0]: error:0A00018F:SSL routines::ee key too small\n"
		  "Nov 22 mosquitto[2]: 2: mosquitto version 2.0.11 starting\n"
		  "Nov 22 mosquitto[2]: 2: mosquitto version 2.0.11 running\n");
	assert_true(l.running);
	assert_int_equal(l.findings.n, 0);
	brokerlog_free(&l);

	parse(&l, "1: mosquitto version 2.0.11 starting\n"
		  "1: Error: Unable to load server key file \"/k\". Check keyfile.\n"
		  "1: OpenSSL Error[0]: error:05800074:x509 certificate routines::key values mismatch\n");
	assert_string_equal(l.findings.v[0].id, "CONF_KEY_CERT_MISMATCH");
	brokerlog_free(&l);

	parse(&l, "1: mosquitto version 2.0.11 starting\n1: Error: Unknown configuration variable \"foo\".\n"
		  "1: Error found at /etc/mosquitto/conf.d/x.conf:3.\n");
	assert_string_equal(l.findings.v[0].id, "CONF_INCONSISTENT");
	assert_non_null(strstr(l.findings.v[0].detail, "x.conf:3"));
	brokerlog_free(&l);
}

static void clients_of_a_running_broker(void **state)
{
	struct brokerlog l;
	(void)state;

	parse(&l, "1795309902: mosquitto version 2.0.11 starting\n"
		  "1795309902: mosquitto version 2.0.11 running\n"
		  "1795309903: New connection from 127.0.0.1:40174 on port 18950.\n"
		  "1795309903: OpenSSL Error[0]: error:0A0000C7:SSL routines::peer did not return a certificate\n"
		  "1795309903: Client <unknown> disconnected: Protocol error.\n"
		  "1795309903: New connection from 127.0.0.1:40196 on port 1883.\n"
		  "1795309903: Sending CONNACK to 127.0.0.1 (0, 5)\n"
		  "1795309903: Client <unknown> disconnected, not authorised.\n"
		  "1795309903: Client connection from 127.0.0.1 failed: error:0A00010B:SSL routines::wrong version number.\n");
	assert_int_equal(l.findings.n, 0);
	assert_int_equal(l.n_ev, 4);
	assert_int_equal(l.ev[0].kind, BROKERLOG_TLS);
	assert_int_equal(l.ev[0].port, 18950);
	assert_int_equal(l.ev[2].kind, BROKERLOG_CONNACK);
	assert_int_equal(l.ev[2].code, 5);
	assert_int_equal(l.ev[2].port, 1883);
	brokerlog_free(&l);
}

static void hostile_log(void **state)
{
	struct brokerlog l;
	struct mq_str b = { 0 };
	static const char nul[] = "1: mosquitto version 2.0.11 starting\n1: Error: Unable to load server key file \"\x1b[31m\0\"\n";
	(void)state;

	memset(&l, 0, sizeof l);
	brokerlog_parse(nul, sizeof nul - 1, &l);
	assert_int_equal(l.findings.n, 1);
	assert_null(strchr(l.findings.v[0].title, '\x1b'));
	brokerlog_free(&l);
	/* Many client events: only the latest are kept. */
	mq_str_printf(&b, "1: mosquitto version 2.0.11 running\n");
	for (int i = 0; i < 5000; i++)
		mq_str_printf(&b, "1: Sending CONNACK to 10.0.0.%d (0, %d)\n", i % 250, i % 6);
	parse(&l, b.s);
	assert_int_equal(l.n_ev, 64);
	assert_int_equal(l.ev[63].code, 4999 % 6);
	brokerlog_free(&l);
	mq_str_free(&b);
}

/* ---- folding into a live diagnosis ------------------------------------------------------------ */

struct tmp {
	char dir[64];
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof *t);
	if (!t)
		return -1;
	snprintf(t->dir, sizeof t->dir, "/tmp/mqttls-fold-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	struct mq_err err = { 0 };
	int rc = mq_rm_rf(t->dir, &err);
	free(t);
	return rc;
}

static const char *write_file(struct tmp *t, const char *name, const char *text, char *buf, size_t size)
{
	FILE *f;
	snprintf(buf, size, "%s/%s", t->dir, name);
	f = fopen(buf, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return buf;
}

static void anonymous_becomes_root_cause(void **state)
{
	struct tmp *t = *state;
	struct findings live = { 0 };
	struct conf_fold_opts o = { 0 };
	struct mq_err err = { 0 };
	char path[128];

	o.conf_path = write_file(t, "anon.conf", "listener 1883 127.0.0.1\nlistener 8883 127.0.0.1\nallow_anonymous false\n"
				 "per_listener_settings false\n", path, sizeof path);
	o.port = 1883;
	findings_add(&live, "ANONYMOUS_NOT_ALLOWED", NULL, "CONNACK 5", "add credentials");
	findings_add(&live, "NO_SAN", NULL, "x", "y");
	assert_int_equal(conf_fold_diagnosis(&o, &live, &err), 0);
	assert_string_equal(live.v[0].id, "CONF_ANONYMOUS_UNSET");
	assert_string_equal(live.v[1].id, "ANONYMOUS_NOT_ALLOWED");
	assert_non_null(strstr(live.v[1].detail, "follows from CONF_ANONYMOUS_UNSET"));
	/* The other listener's finding is not about this diagnosis. */
	assert_int_equal(live.n, 3);
	assert_string_equal(live.v[2].id, "NO_SAN");
	findings_free(&live);
}

static void refused_because_it_cannot_start(void **state)
{
	struct tmp *t = *state;
	struct findings live = { 0 };
	struct conf_fold_opts o = { 0 };
	struct mq_err err = { 0 };
	char path[128], log[128], text[512];

	snprintf(text, sizeof text, "listener 8883 127.0.0.1\ncertfile %s/none.crt\nkeyfile %s/none.key\nallow_anonymous true\n",
		 t->dir, t->dir);
	o.conf_path = write_file(t, "down.conf", text, path, sizeof path);
	o.log_path = write_file(t, "down.log", "1: mosquitto version 2.0.11 starting\n"
				"1: Error: Unable to load server certificate \"x\". Check certfile.\n"
				"1: OpenSSL Error[0]: error:80000002:system library::No such file or directory\n", log, sizeof log);
	o.port = 8883;
	findings_add(&live, "TCP_REFUSED", NULL, "nothing listens", "start it");
	assert_int_equal(conf_fold_diagnosis(&o, &live, &err), 0);
	assert_string_equal(live.v[0].id, "BROKER_CANNOT_READ_FILE");
	assert_true(live.v[0].stops_broker);
	assert_string_equal(live.v[1].id, "TCP_REFUSED");
	findings_free(&live);

	/* A port the configuration does not open: said in the refused finding. */
	o.log_path = NULL;
	o.conf_path = write_file(t, "other.conf", "listener 1883\nallow_anonymous true\n", path, sizeof path);
	findings_add(&live, "TCP_REFUSED", NULL, "nothing listens", "start it");
	assert_int_equal(conf_fold_diagnosis(&o, &live, &err), 0);
	assert_string_equal(live.v[0].id, "TCP_REFUSED");
	assert_non_null(strstr(live.v[0].detail, "opens no listener on port 8883: it has listener 1883"));
	findings_free(&live);

	/* A file that cannot be read: an error, live untouched. */
	o.conf_path = "/nonexistent/mosquitto.conf";
	findings_add(&live, "TCP_REFUSED", NULL, "d", "f");
	assert_int_equal(conf_fold_diagnosis(&o, &live, &err), -1);
	assert_non_null(strstr(err.msg, "mosquitto.conf"));
	assert_int_equal(live.n, 1);
	findings_free(&live);
}

static void log_lines_confirm(void **state)
{
	struct tmp *t = *state;
	struct findings live = { 0 };
	struct conf_fold_opts o = { 0 };
	struct mq_err err = { 0 };
	char log[128];

	o.log_path = write_file(t, "clients.log", "1: mosquitto version 2.0.11 running\n"
				"1: New connection from 127.0.0.1:5 on port 8883.\n"
				"1: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca\n"
				"1: Client <unknown> disconnected: Protocol error.\n", log, sizeof log);
	o.port = 8883;
	findings_add(&live, "WRONG_CA", NULL, "the chain leads elsewhere", "use the right CA");
	assert_int_equal(conf_fold_diagnosis(&o, &live, &err), 0);
	assert_int_equal(live.n, 1);
	assert_non_null(strstr(live.v[0].detail, "tlsv1 alert unknown ca"));
	findings_free(&live);
}

/* A log longer than the reader keeps: only its end is read, and the last start is in the end. */
static void long_log_read_from_its_end(void **state)
{
	char path[] = "/tmp/mqttls-brokerlog-XXXXXX", fifo[64];
	struct brokerlog l;
	struct mq_err err = { 0 };
	const char *start = "1: mosquitto version 2.0.11 starting\n"
			    "1: Error: Unable to load server key file \"/k\". Check keyfile.\n"
			    "1: OpenSSL Error[0]: error:8000000D:system library::Permission denied\n";
	char line[100];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	(void)state;

	assert_non_null(f);
	/* A start that ran, then more than BROKERLOG_MAX_BYTES of chatter, then the failed start. */
	fputs("0: mosquitto version 2.0.11 starting\n0: mosquitto version 2.0.11 running\n", f);
	memset(line, 'x', sizeof line - 2);
	line[sizeof line - 2] = '\n';
	line[sizeof line - 1] = '\0';
	for (size_t n = 0; n <= BROKERLOG_MAX_BYTES; n += sizeof line - 1)
		fputs(line, f);
	fputs(start, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(brokerlog_read(path, &l, &err), 0);
	assert_true(l.started);
	assert_false(l.running);
	assert_int_equal(l.findings.n, 1);
	assert_string_equal(l.findings.v[0].id, "BROKER_CANNOT_READ_FILE");
	brokerlog_free(&l);
	unlink(path);

	/* Not a regular file: refused at once (a FIFO would block a reader). */
	snprintf(fifo, sizeof fifo, "/tmp/mqttls-brokerlog-fifo-%ld", (long)getpid());
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(brokerlog_read(fifo, &l, &err), -1);
	assert_non_null(strstr(err.msg, "is a FIFO"));
	unlink(fifo);
	mq_err_clear(&err);
	assert_int_equal(brokerlog_read("/nonexistent/mosquitto.log", &l, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/mosquitto.log"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_permission_denied),
		cmocka_unit_test(only_the_last_run_counts),
		cmocka_unit_test(clients_of_a_running_broker),
		cmocka_unit_test(hostile_log),
		cmocka_unit_test(anonymous_becomes_root_cause),
		cmocka_unit_test(refused_because_it_cannot_start),
		cmocka_unit_test(log_lines_confirm),
		cmocka_unit_test(long_log_read_from_its_end),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
