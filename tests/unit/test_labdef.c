/* labdef: the lab definition lexer, the checks of each section, templates, device settings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mqttls/labdef.h"
#include "mqttls/util.h"

/* The smallest lab the parser accepts. */
#define MINIMAL                                                                                                    \
	"[lab]\n"                                                                                                  \
	"number 2\n"                                                                                               \
	"name   ip-san\n"                                                                                          \
	"title  the missing IP SAN\n"                                                                              \
	"broker mosquitto.conf\n"                                                                                  \
	"port   port 8883\n"                                                                                       \
	"[file mosquitto.conf]\n"                                                                                  \
	"text <<END\n"                                                                                             \
	"listener {port} {ip}\n"                                                                                   \
	"END\n"

static int parse(struct labdef *d, const char *text, struct mq_err *err)
{
	mq_err_clear(err);
	return labdef_parse(d, "t.def", text, strlen(text), err);
}

/* Parse text that must fail, and check the message names the line and says what. */
static void refused(const char *text, const char *want)
{
	struct labdef d;
	struct mq_err err;

	if (parse(&d, text, &err) == 0) {
		labdef_free(&d);
		fail_msg("accepted: %s", text);
	}
	if (!strstr(err.msg, want))
		fail_msg("error '%s' lacks '%s'", err.msg, want);
	labdef_free(&d);
}

static void minimal_lab(void **state)
{
	struct labdef d;
	struct mq_err err;
	(void)state;

	assert_int_equal(parse(&d, MINIMAL, &err), 0);
	assert_int_equal(d.number, 2);
	assert_string_equal(d.name, "ip-san");
	assert_string_equal(d.workdir, "files");
	assert_string_equal(d.host, "{ip}");
	assert_int_equal(d.n_ports, 1);
	assert_string_equal(d.ports[0].name, "port");
	assert_int_equal(d.ports[0].first, 8883);
	assert_int_equal(d.n_files, 1);
	assert_int_equal(d.files[0].kind, LABFILE_TEXT);
	assert_string_equal(d.files[0].text, "listener {port} {ip}\n");
	assert_int_equal(d.files[0].mode, -1);
	labdef_free(&d);
}

static void lexer_blocks_comments_crlf(void **state)
{
	struct labdef_doc doc;
	struct mq_err err = { 0 };
	const char text[] = "# comment\r\n\r\n  [file  a/b.conf ]\r\nmode   0600  \r\ntext <<X\r\n  keep  # this\r\n\r\nX\r\n";
	(void)state;

	assert_int_equal(labdef_lex(&doc, "t", text, sizeof text - 1, &err), 0);
	assert_int_equal(doc.n, 1);
	assert_string_equal(doc.v[0].type, "file");
	assert_string_equal(doc.v[0].arg, "a/b.conf");
	assert_int_equal(doc.v[0].n_kv, 2);
	assert_string_equal(doc.v[0].kv[0].value, "0600");
	/* A block is verbatim: leading blanks, '#' and empty lines are kept, CRs are not. */
	assert_string_equal(doc.v[0].kv[1].value, "  keep  # this\n\n");
	assert_int_equal(doc.v[0].kv[1].line, 5);
	labdef_doc_free(&doc);
}

static void lexer_refuses_hostile_bytes(void **state)
{
	struct labdef_doc doc;
	struct mq_err err;
	char *big;
	(void)state;

	mq_err_clear(&err);
	assert_int_equal(labdef_lex(&doc, "t", "[lab]\nname a\0b\n", 15, &err), -1);
	assert_non_null(strstr(err.msg, "t:2: a NUL byte"));
	mq_err_clear(&err);
	assert_int_equal(labdef_lex(&doc, "t", "title \xff\xfe\n", 9, &err), -1);
	assert_non_null(strstr(err.msg, "not valid UTF-8"));
	mq_err_clear(&err);
	assert_int_equal(labdef_lex(&doc, "t", "text <<END\nno end\n", 18, &err), -1);
	assert_non_null(strstr(err.msg, "never ends"));
	mq_err_clear(&err);
	assert_int_equal(labdef_lex(&doc, "t", "[lab\n", 5, &err), -1);
	assert_non_null(strstr(err.msg, "t:1: a section header"));
	mq_err_clear(&err);
	assert_int_equal(labdef_lex(&doc, "t", "Key value\n", 10, &err), -1);
	assert_non_null(strstr(err.msg, "expected 'key value'"));

	big = malloc(LABDEF_MAX_LINE + 10);
	memset(big, 'a', LABDEF_MAX_LINE + 9);
	big[0] = 'k', big[1] = ' ';
	mq_err_clear(&err);
	assert_int_equal(labdef_lex(&doc, "t", big, LABDEF_MAX_LINE + 9, &err), -1);
	assert_non_null(strstr(err.msg, "line too long"));
	mq_err_clear(&err);
	assert_int_equal(labdef_lex(&doc, "t", big, LABDEF_MAX_BYTES + 1, &err), -1);
	assert_non_null(strstr(err.msg, "too large"));
	free(big);
}

static void lexer_caps_sections(void **state)
{
	struct mq_str s = { 0 };
	struct labdef_doc doc;
	struct mq_err err = { 0 };
	(void)state;

	for (int i = 0; i <= LABDEF_MAX_SECTIONS; i++)
		mq_str_printf(&s, "[hint]\ntext %d\n", i);
	assert_int_equal(labdef_lex(&doc, "t", s.s, s.len, &err), -1);
	assert_non_null(strstr(err.msg, "too many sections"));
	mq_str_free(&s);
}

static void sections_and_keys_are_checked(void **state)
{
	(void)state;

	refused("[lab]\nnumber 100\n", "t.def:2: number: a number from 0 to 99");
	refused(MINIMAL "[lab]\nname x\n", "a second [lab]");
	refused(MINIMAL "[frobnicate]\n", "no section type [frobnicate]");
	refused(MINIMAL "[file ../etc/passwd]\ntext x\n", "without '..'");
	refused(MINIMAL "[file /etc/passwd]\ntext x\n", "relative path");
	refused(MINIMAL "[file a]\ntext x\ncolour red\n", "[file] has no key 'colour'");
	refused(MINIMAL "[file a]\nmode 0999\ntext x\n", "not an octal mode");
	refused(MINIMAL "[file a]\nmode 0600\n", "[file] needs 'text'");
	refused(MINIMAL "[file mosquitto.conf]\ntext x\n", "given twice");
	refused(MINIMAL "[pki a.key]\nmake stolen ca\n", "make: 'broken KIND' or 'device NAME'");
	refused(MINIMAL "[pki a.key]\nowner Root!\n", "not a user name");
	refused(MINIMAL "[dir home]\n", "[dir] needs 'mode'");
	refused(MINIMAL "[hint]\n", "exactly one key: text");
	refused(MINIMAL "[hint]\ntitle x\n", "exactly one key: text");
	refused(MINIMAL "[set]\nip 1.2.3.4\n", "not a free variable name");
	refused(MINIMAL "[set]\nuser a\nuser b\n", "defined twice");
	refused(MINIMAL "[set]\nport 1\n", "both a port and a [set] variable");
	refused(MINIMAL "[sketch]\ncert x.crt\n", "cert and key go together");
	refused(MINIMAL "[sketch]\ninsecure maybe\n", "insecure: none, setinsecure");
	refused("[lab]\nnumber 1\nname a\ntitle t\nbroker b.conf\nport tls 8883\n", "'port port FIRST' first");
	refused("[lab]\nnumber 1\nname a\ntitle t\nbroker b.conf\nport port 8883\n", "not one of the lab's [file]s");
	refused("[lab]\nnumber 1\nname a\ntitle t\nbroker b.conf\nport port 70000\n", "port: 'NAME FIRST'");
	refused("[lab]\nnumber 1\nname a\ntitle t\nbroker b.conf\nport port 1\nport port 2\n", "given twice");
	refused("[lab]\nnumber 1\nname a\ntitle <<T\ntwo\nlines\nT\n", "title: one line");
	refused("name a\n", "keys before the first section");
	refused("[hint]\ntext x\n", "no [lab] section");
}

static void checks_are_checked(void **state)
{
	struct labdef d;
	struct mq_err err;
	(void)state;

	assert_int_equal(parse(&d, MINIMAL "[check]\nkind diagnose\nwhy a\nexpect ok !KEY_PERMISSIONS_TOO_OPEN\n"
				   "target -h {ip} -p {port}\n"
				   "[check]\nkind device\nwhy b\ndevice device.conf\nagainst rogue-stolen-ca\nexpect refused\n"
				   "[check]\nkind diagnose\nwhy c\nexpect ANONYMOUS_NOT_ALLOWED|NOT_AUTHORIZED\ntarget -p {port}\n",
			       &err),
			 0);
	assert_int_equal(d.n_probes, 3);
	assert_int_equal(d.probes[0].kind, LABPROBE_DIAGNOSE);
	assert_string_equal(d.probes[0].expect, "ok !KEY_PERMISSIONS_TOO_OPEN");
	assert_int_equal(d.probes[1].kind, LABPROBE_DEVICE);
	assert_int_equal(d.probes[1].against, LABAGAINST_ROGUE_STOLEN_CA);
	assert_string_equal(d.probes[2].expect, "ANONYMOUS_NOT_ALLOWED|NOT_AUTHORIZED");
	labdef_free(&d);

	refused(MINIMAL "[check]\nwhy a\nexpect ok\ntarget x\n", "[check] needs 'kind'");
	refused(MINIMAL "[check]\nkind diagnose\nwhy a\nexpect ok\n", "needs 'target'");
	refused(MINIMAL "[check]\nkind diagnose\nwhy a\nexpect NO_SUCH_FINDING\ntarget x\n", "contract finding ids");
	refused(MINIMAL "[check]\nkind diagnose\nwhy a\nexpect ok NOT_TLS\ntarget x\n", "contract finding ids");
	refused(MINIMAL "[check]\nkind diagnose\nwhy a\nexpect connected\ntarget x\n", "expects 'ok' or finding ids");
	refused(MINIMAL "[check]\nkind device\nwhy a\nexpect ok\ndevice d.conf\n", "'connected' or 'refused'");
	refused(MINIMAL "[check]\nkind device\nwhy a\nexpect refused\n", "needs 'device'");
	refused(MINIMAL "[check]\nkind device\nwhy a\nexpect refused\ndevice d\ntarget -p 1\n", "needs 'device'");
	refused(MINIMAL "[check]\nkind device\nwhy a\nexpect refused\ndevice d\nagainst moon\n", "against: broker");
	refused(MINIMAL "[check]\nkind capture\nwhy a\nexpect refused\ndevice d\nports {port}\n", "'no-plaintext'");
	refused(MINIMAL "[check]\nkind teleport\n", "kind: diagnose, device or capture");
}

static void templates_are_checked_at_parse(void **state)
{
	(void)state;

	refused(MINIMAL "[file a]\ntext listener {prot}\n", "unknown name {prot}");
	refused(MINIMAL "[file a]\ntext <<END\n{if ipv6}\nx\nEND\n", "{if} without {end}");
	refused(MINIMAL "[file a]\ntext <<END\n{end}\nEND\n", "{end} without {if}");
	refused(MINIMAL "[file a]\ntext a { b\n", "'{' starts neither");
	refused(MINIMAL "[hint]\ntext see {nothing}\n", "unknown name {nothing}");
	refused(MINIMAL "[check]\nkind diagnose\nwhy a\nexpect ok\ntarget -p {nope}\n", "unknown name {nope}");
}

static const char *lookup(void *ctx, const char *name)
{
	(void)ctx;
	if (!strcmp(name, "port"))
		return "8884";
	if (!strcmp(name, "ip"))
		return "127.0.0.1";
	if (!strcmp(name, "ipv6"))
		return "";
	if (!strcmp(name, "on"))
		return "yes";
	return NULL;
}

static void expand(void **state)
{
	struct mq_err err = { 0 };
	char *s;
	(void)state;

	s = labdef_expand("listener {port} {ip}\n{{literal}\n", lookup, NULL, &err);
	assert_string_equal(s, "listener 8884 127.0.0.1\n{literal}\n");
	free(s);
	s = labdef_expand("a\n{if ipv6}\nv6 {port}\n{end}\n{if on}\nyes\n{end}\nb", lookup, NULL, &err);
	assert_string_equal(s, "a\nyes\nb");
	free(s);
	assert_null(labdef_expand("{if on}\n{if on}\n{end}\n{end}\n", lookup, NULL, &err));
	assert_non_null(strstr(err.msg, "{if} inside {if}"));
	mq_err_clear(&err);
	assert_null(labdef_expand("{port", lookup, NULL, &err));
	mq_err_clear(&err);
	assert_null(labdef_expand("{Port}", lookup, NULL, &err));
}

static void every_shipped_lab_parses(void **state)
{
	static const char *const dirs[] = { "00-basic", "01-first-tls", "02-ip-san", "03-key-perms", "04-anonymous",
					    "05-wrong-ca", "06-expired", "07-tls-version", "08-mtls", "09-sniff",
					    "10-mitm", "11-pinning", "12-confusion", "13-chain" };
	const char *src = getenv("MQTTLS_SRC");
	(void)state;

	if (!src)
		skip();
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char path[4096];
		struct labdef d;
		struct mq_err err = { 0 };

		snprintf(path, sizeof path, "%s/labs/%s/lab.def", src, dirs[i]);
		if (labdef_load(&d, path, &err) < 0)
			fail_msg("%s", err.msg);
		assert_int_equal(d.number, atoi(dirs[i]));
		assert_string_equal(d.name, dirs[i] + 3);
		/* Every student's lab has hints and a check; the reference has neither. */
		if (d.number > 0) {
			assert_true(d.n_hints >= 2);
			assert_true(d.n_probes >= 1);
			assert_true(d.has_sketch);
		}
		labdef_free(&d);
	}
}

static void device_settings(void **state)
{
	struct labdevice dv;
	struct mq_err err = { 0 };
	const char *ok = "# mine\nhost 127.0.0.1\nport 8884\nverify ca-only\ncafile ca.crt\npin AB:CD\nuser u\npassword p w\n";
	(void)state;

	assert_int_equal(labdef_device_parse(&dv, "d.conf", ok, strlen(ok), &err), 0);
	assert_string_equal(dv.host, "127.0.0.1");
	assert_int_equal(dv.port, 8884);
	assert_true(dv.tls);
	assert_int_equal(dv.verify, LABVERIFY_CA_ONLY);
	assert_string_equal(dv.password, "p w");
	labdevice_free(&dv);

	assert_int_equal(labdef_device_parse(&dv, "d.conf", "host h\nport 1\ntls no\n", 21, &err), 0);
	assert_false(dv.tls);
	assert_int_equal(dv.verify, LABVERIFY_CA);
	labdevice_free(&dv);

	mq_err_clear(&err);
	assert_int_equal(labdef_device_parse(&dv, "d.conf", "host h\nport 99999\n", 18, &err), -1);
	assert_non_null(strstr(err.msg, "d.conf:2: port"));
	mq_err_clear(&err);
	assert_int_equal(labdef_device_parse(&dv, "d.conf", "host h\nport 1\nverify maybe\n", 27, &err), -1);
	assert_non_null(strstr(err.msg, "verify: ca"));
	mq_err_clear(&err);
	assert_int_equal(labdef_device_parse(&dv, "d.conf", "port 1\n", 7, &err), -1);
	assert_non_null(strstr(err.msg, "needs 'host'"));
	mq_err_clear(&err);
	assert_int_equal(labdef_device_parse(&dv, "d.conf", "[lab]\nhost h\nport 1\n", 20, &err), -1);
	assert_non_null(strstr(err.msg, "without sections"));
	mq_err_clear(&err);
	assert_int_equal(labdef_device_parse(&dv, "d.conf", "host h\nport 1\ncert c\n", 21, &err), -1);
	assert_non_null(strstr(err.msg, "cert and key go together"));
	mq_err_clear(&err);
	assert_int_equal(labdef_device_parse(&dv, "d.conf", "host h\x01\nport 1\n", 15, &err), -1);
	assert_non_null(strstr(err.msg, "control characters"));
}

static void device_clock(void **state)
{
	struct labdevice dv;
	struct mq_err err = { 0 };
	const char *unset = "host h\nport 1\nclock unset\n", *date = "host h\nport 1\nclock 2020-02-29T12:00:00Z\n";
	const char *bad = "host h\nport 1\nclock yesterday\n", *plain = "host h\nport 1\n";
	(void)state;

	/* Without a clock line the device set its clock (NTP): this machine's clock. */
	assert_int_equal(labdef_device_parse(&dv, "d.conf", plain, strlen(plain), &err), 0);
	assert_int_equal(dv.clock, TARGET_CLOCK_SYSTEM);
	labdevice_free(&dv);
	assert_int_equal(labdef_device_parse(&dv, "d.conf", unset, strlen(unset), &err), 0);
	assert_int_equal(dv.clock, TARGET_CLOCK_AT);
	assert_true(dv.clock_at == 0);
	labdevice_free(&dv);
	assert_int_equal(labdef_device_parse(&dv, "d.conf", date, strlen(date), &err), 0);
	assert_int_equal(dv.clock, TARGET_CLOCK_AT);
	assert_true(dv.clock_at == 1582977600LL);
	labdevice_free(&dv);
	assert_int_equal(labdef_device_parse(&dv, "d.conf", bad, strlen(bad), &err), -1);
	assert_non_null(strstr(err.msg, "d.conf:3: clock: ntp"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_lab),
		cmocka_unit_test(lexer_blocks_comments_crlf),
		cmocka_unit_test(lexer_refuses_hostile_bytes),
		cmocka_unit_test(lexer_caps_sections),
		cmocka_unit_test(sections_and_keys_are_checked),
		cmocka_unit_test(checks_are_checked),
		cmocka_unit_test(templates_are_checked_at_parse),
		cmocka_unit_test(expand),
		cmocka_unit_test(every_shipped_lab_parses),
		cmocka_unit_test(device_settings),
		cmocka_unit_test(device_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
