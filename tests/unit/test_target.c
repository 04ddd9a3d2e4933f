#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/ssl.h>

#include "mqttls/target.h"

static int parse(struct target *t, const char *line, struct mq_err *err)
{
	target_init(t);
	mq_err_clear(err);
	return target_parse_line(t, line, err);
}

static void pasted_mosquitto_sub_with_tls(void **state)
{
	struct target t;
	struct mq_err err;
	(void)state;

	assert_int_equal(parse(&t, "mosquitto_sub -h iotsec.local -p 8883 --cafile /home/iotsec/my-ca/rootCA.crt -t iot/test -d", &err), 0);
	assert_string_equal(t.host, "iotsec.local");
	assert_int_equal(t.port, 8883);
	assert_string_equal(t.cafile, "/home/iotsec/my-ca/rootCA.crt");
	assert_string_equal(t.topic, "iot/test");
	assert_true(t.tls);
	assert_true(t.pasted);
	assert_string_equal(t.pasted_tool, "mosquitto_sub");
	target_free(&t);
}

static void pasted_without_tls_is_plain_1883(void **state)
{
	struct target t;
	struct mq_err err;
	(void)state;

	assert_int_equal(parse(&t, "$ mosquitto_pub -h 192.168.28.63 -t iot/test -m hi -u alice -P 's3cr et'", &err), 0);
	assert_false(t.tls);
	assert_int_equal(t.port, 1883);
	assert_string_equal(t.pass, "s3cr et");
	target_free(&t);
}

static void pasted_tls_without_port_is_8883(void **state)
{
	struct target t;
	struct mq_err err;
	(void)state;

	assert_int_equal(parse(&t, "mosquitto_pub --cafile ca.crt -t x -m y", &err), 0);
	assert_true(t.tls);
	assert_int_equal(t.port, 8883);
	target_free(&t);
}

static void urls(void **state)
{
	struct target t;
	struct mq_err err;
	(void)state;

	assert_int_equal(parse(&t, "mqtts://bob:pw@[::1]:18883/lab/t", &err), 0);
	assert_string_equal(t.host, "::1");
	assert_int_equal(t.port, 18883);
	assert_string_equal(t.user, "bob");
	assert_string_equal(t.pass, "pw");
	assert_string_equal(t.topic, "lab/t");
	assert_true(t.tls);
	target_free(&t);

	assert_int_equal(parse(&t, "mqtt://broker.lan", &err), 0);
	assert_false(t.tls);
	assert_int_equal(t.port, 1883);
	target_free(&t);

	assert_int_equal(parse(&t, "-L mqtts://h:99999", &err), -1);
	assert_non_null(strstr(err.msg, "1 to 65535"));
	target_free(&t);

	assert_int_equal(parse(&t, "http://example", &err), -1);
	assert_non_null(strstr(err.msg, "scheme"));
	target_free(&t);
}

static void verify_modes_and_versions(void **state)
{
	struct target t;
	struct mq_err err;
	(void)state;

	assert_int_equal(parse(&t, "--insecure --tls-version tlsv1.2 --tls-max tlsv1.2 -V mqttv5", &err), 0);
	assert_int_equal(t.verify, TARGET_VERIFY_NO_HOST);
	assert_int_equal(t.tls_min, TLS1_2_VERSION);
	assert_int_equal(t.tls_max, TLS1_2_VERSION);
	assert_int_equal(t.mqtt_version, 5);
	target_free(&t);

	assert_int_equal(parse(&t, "--no-verify --insecure --tls-version tlsv1.3", &err), 0);
	assert_int_equal(t.verify, TARGET_VERIFY_NONE);
	assert_int_equal(t.tls_min, TLS1_3_VERSION);
	assert_int_equal(t.tls_max, TLS1_3_VERSION);
	target_free(&t);

	assert_int_equal(parse(&t, "--tls-version tlsv1.3 --tls-max tlsv1.2", &err), -1);
	assert_non_null(strstr(err.msg, "no TLS version"));
	target_free(&t);
}

static void usage_errors_are_precise(void **state)
{
	struct target t;
	struct mq_err err;
	(void)state;

	assert_int_equal(parse(&t, "-p", &err), -1);
	assert_string_equal(err.msg, "option -p needs a value");
	target_free(&t);

	assert_int_equal(parse(&t, "-p eighty", &err), -1);
	assert_non_null(strstr(err.msg, "invalid port 'eighty'"));
	target_free(&t);

	assert_int_equal(parse(&t, "--cert c.pem", &err), -1);
	assert_non_null(strstr(err.msg, "--key"));
	target_free(&t);

	assert_int_equal(parse(&t, "--bogus", &err), -1);
	assert_non_null(strstr(err.msg, "--bogus"));
	target_free(&t);

	assert_int_equal(parse(&t, "-h x 'unterminated", &err), -1);
	assert_non_null(strstr(err.msg, "unterminated"));
	target_free(&t);

	assert_int_equal(parse(&t, "mqtt://h --cafile ca.crt", &err), -1);
	assert_non_null(strstr(err.msg, "mqtts://"));
	target_free(&t);
}

static void ignored_mosquitto_flags_keep_arity(void **state)
{
	struct target t;
	struct mq_err err;
	(void)state;

	assert_int_equal(parse(&t, "mosquitto_sub -v -C 1 -W 5 -D connect user-property a b -h h2 --cafile c -t '#'", &err), 0);
	assert_string_equal(t.host, "h2");
	assert_string_equal(t.topic, "#");
	target_free(&t);
}

static void line_continuations(void **state)
{
	struct target t;
	struct mq_err err;
	(void)state;

	assert_int_equal(parse(&t, "mosquitto_pub \\\n  -h a.b \\\n  --cafile \"/x y/ca.crt\" -t t", &err), 0);
	assert_string_equal(t.host, "a.b");
	assert_string_equal(t.cafile, "/x y/ca.crt");
	target_free(&t);
}

/* mosquitto_pub 2.0 on port 8883 without TLS options uses TLS with the system's CAs. */
static void pasted_8883_without_tls_is_tls(void **state)
{
	struct target t;
	struct mq_err err;
	(void)state;

	assert_int_equal(parse(&t, "mosquitto_sub -h 10.0.0.7 -p 8883 -t iot/#", &err), 0);
	assert_true(t.tls);
	assert_null(t.cafile);
	target_free(&t);
	assert_int_equal(parse(&t, "mosquitto_sub -h 10.0.0.7 -p 1884 -t iot/#", &err), 0);
	assert_false(t.tls);
	target_free(&t);
}

static void dup_is_deep(void **state)
{
	struct target a, b;
	struct mq_err err;
	(void)state;

	assert_int_equal(parse(&a, "-h broker.lan -p 8884 --cafile ca.crt -u alice -P pw -t t --tls-max tlsv1.2", &err), 0);
	target_init(&b);
	target_dup(&b, &a);
	target_free(&a);
	/* b owns its strings: a is gone and b still reads (ASan would catch a use after free). */
	assert_string_equal(b.host, "broker.lan");
	assert_string_equal(b.cafile, "ca.crt");
	assert_string_equal(b.user, "alice");
	assert_int_equal(b.port, 8884);
	assert_int_equal(b.tls_max, TLS1_2_VERSION);
	target_free(&b);
}

static void clock_option(void **state)
{
	struct target t;
	struct mq_err err;
	enum target_clock mode;
	long long at, now = (long long)time(NULL);
	char buf[32];
	(void)state;

	assert_int_equal(parse(&t, "-h x --cafile ca.crt", &err), 0);
	assert_int_equal(t.clock, TARGET_CLOCK_SYSTEM);
	target_free(&t);
	assert_int_equal(parse(&t, "-h x --cafile ca.crt --clock unset", &err), 0);
	assert_int_equal(t.clock, TARGET_CLOCK_AT);
	assert_true(t.clock_at == 0);
	assert_string_equal(target_clock_arg(t.clock, t.clock_at, buf, sizeof buf), "unset");
	target_free(&t);
	assert_int_equal(parse(&t, "--clock ignore", &err), 0);
	assert_int_equal(t.clock, TARGET_CLOCK_IGNORE);
	assert_string_equal(target_clock_arg(t.clock, t.clock_at, buf, sizeof buf), "ignore");
	target_free(&t);

	assert_int_equal(target_parse_clock("2024-02-29", &mode, &at, &err), 0);
	assert_true(at == 1709164800LL);
	assert_int_equal(target_parse_clock("2024-02-29T23:59:59Z", &mode, &at, &err), 0);
	assert_true(at == 1709164800LL + 86399);
	assert_string_equal(target_clock_arg(mode, at, buf, sizeof buf), "2024-02-29T23:59:59Z");
	assert_int_equal(target_parse_clock("2024-02-29 00:00:01", &mode, &at, &err), 0);
	assert_true(at == 1709164801LL);
	assert_int_equal(target_parse_clock("-400d", &mode, &at, &err), 0);
	assert_true(at <= now - 400LL * 86400 && at > now - 400LL * 86400 - 60);
	assert_int_equal(target_parse_clock("+2h", &mode, &at, &err), 0);
	assert_true(at >= now + 7200 && at < now + 7260);
	assert_int_equal(target_parse_clock("ntp", &mode, &at, &err), 0);
	assert_int_equal(mode, TARGET_CLOCK_SYSTEM);

	/* Not dates: a day that does not exist, a year before 1970, junk after, no unit, too far. */
	const char *const bad[] = { "2023-02-29", "1969-12-31", "2024-01-01X", "2024-1-1", "-400", "+5w",
				    "-999999999d", "", "2024-01-01T25:00:00Z" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		mq_err_clear(&err);
		assert_int_equal(target_parse_clock(bad[i], &mode, &at, &err), -1);
		assert_non_null(strstr(err.msg, "invalid --clock"));
	}
	/* On the command line: a usage error naming the option; and mqtt:// has no certificate. */
	assert_int_equal(parse(&t, "--clock", &err), -1);
	assert_non_null(strstr(err.msg, "--clock needs a value"));
	target_free(&t);
	assert_int_equal(parse(&t, "mqtt://h --clock unset", &err), -1);
	assert_non_null(strstr(err.msg, "TLS options"));
	target_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pasted_mosquitto_sub_with_tls),
		cmocka_unit_test(pasted_without_tls_is_plain_1883),
		cmocka_unit_test(pasted_tls_without_port_is_8883),
		cmocka_unit_test(urls),
		cmocka_unit_test(verify_modes_and_versions),
		cmocka_unit_test(usage_errors_are_precise),
		cmocka_unit_test(ignored_mosquitto_flags_keep_arity),
		cmocka_unit_test(line_continuations),
		cmocka_unit_test(dup_is_deep),
		cmocka_unit_test(pasted_8883_without_tls_is_tls),
		cmocka_unit_test(clock_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
