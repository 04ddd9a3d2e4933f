/*
 * The mosquitto.conf reader on inline texts: scopes, the default and local-only listeners,
 * per_listener_settings, CRLF, tabs, comments, values, errors with file and line, include_dir
 * order and scope on real temporary files. Each expectation was checked against mosquitto 2.0.11.
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

#include "mqttls/conf.h"
#include "mqttls/util.h"

static void parse(struct conf *c, const char *text)
{
	conf_init(c);
	conf_parse_buffer(c, "t.conf", text, strlen(text));
}

/* The first message of a level whose text holds needle, or NULL. */
static const struct conf_msg *msg(const struct conf *c, enum conf_msg_level level, const char *needle)
{
	for (size_t i = 0; i < c->n_msgs; i++)
		if (c->msgs[i].level == level && strstr(c->msgs[i].text, needle))
			return &c->msgs[i];
	return NULL;
}

static size_t count(const struct conf *c, enum conf_msg_level level)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n_msgs; i++)
		n += c->msgs[i].level == level;
	return n;
}

static void listeners_and_tls_scope(void **state)
{
	struct conf c;
	(void)state;

	parse(&c, "# broker\n"
		  "listener 1883 127.0.0.1\n"
		  "\n"
		  "listener 8883\n"
		  "cafile /etc/mosquitto/ca.crt\n"
		  "certfile /etc/mosquitto/broker.crt\n"
		  "keyfile /etc/mosquitto/broker.key\n"
		  "require_certificate true\n"
		  "use_identity_as_username true\n"
		  "tls_version tlsv1.2\n");
	assert_int_equal(c.n_msgs, 0);
	assert_int_equal(c.n_listeners, 2);
	assert_int_equal(c.listeners[0].port, 1883);
	assert_string_equal(c.listeners[0].bind, "127.0.0.1");
	assert_false(conf_listener_is_tls(&c.listeners[0]));
	assert_null(c.listeners[0].cafile.v);
	assert_int_equal(c.listeners[1].port, 8883);
	assert_null(c.listeners[1].bind);
	assert_true(conf_listener_is_tls(&c.listeners[1]));
	assert_string_equal(c.listeners[1].certfile.v, "/etc/mosquitto/broker.crt");
	assert_int_equal(c.listeners[1].certfile.at.line, 6);
	assert_string_equal(c.listeners[1].certfile.at.file, "t.conf");
	assert_int_equal(c.listeners[1].require_certificate.v, 1);
	assert_int_equal(c.listeners[1].use_identity_as_username.v, 1);
	assert_string_equal(c.listeners[1].tls_version.v, "tlsv1.2");
	assert_false(c.local_only);
	/* Anonymous: unset means refused once a listener exists. */
	assert_false(conf_listener_allows_anonymous(&c, &c.listeners[0]));
	conf_free(&c);
}

static void options_before_listener_make_default_listener(void **state)
{
	struct conf c;
	(void)state;

	parse(&c, "certfile /c.crt\nkeyfile /c.key\nlistener 8883\nallow_anonymous true\n");
	assert_int_equal(c.n_listeners, 2);
	/* mosquitto appends the default listener after the explicit ones, on 1883, every interface. */
	assert_int_equal(c.listeners[0].port, 8883);
	assert_null(c.listeners[0].certfile.v);
	assert_int_equal(c.listeners[1].origin, CONF_LISTENER_DEFAULT);
	assert_int_equal(c.listeners[1].port, 1883);
	assert_null(c.listeners[1].bind);
	assert_string_equal(c.listeners[1].certfile.v, "/c.crt");
	assert_string_equal(c.listeners[1].made_by, "certfile");
	assert_int_equal(c.listeners[1].at.line, 1);
	conf_free(&c);

	/* port and bind_address name the default listener wherever they are written. */
	parse(&c, "listener 8883\nport 1884\nbind_address 10.0.0.1\n");
	assert_int_equal(c.n_listeners, 2);
	assert_int_equal(c.listeners[1].port, 1884);
	assert_string_equal(c.listeners[1].bind, "10.0.0.1");
	conf_free(&c);

	/* tls_version alone does not make the default listener (mosquitto 2.0.11). */
	parse(&c, "tls_version tlsv1.2\n");
	assert_int_equal(c.n_listeners, 1);
	assert_int_equal(c.listeners[0].origin, CONF_LISTENER_LOCAL_ONLY);
	conf_free(&c);
}

static void local_only_mode(void **state)
{
	struct conf c;
	(void)state;

	/* No listener, port or bind_address: loopback 1883 and anonymous forced on. */
	parse(&c, "allow_anonymous false\nlog_dest stdout\n");
	assert_true(c.local_only);
	assert_int_equal(c.n_listeners, 1);
	assert_int_equal(c.listeners[0].origin, CONF_LISTENER_LOCAL_ONLY);
	assert_int_equal(c.listeners[0].port, 1883);
	assert_true(conf_listener_allows_anonymous(&c, &c.listeners[0]));
	conf_free(&c);

	/* TLS options alone open 1883 on every interface, and 2.0.11 still allows anonymous there. */
	parse(&c, "certfile /c.crt\nkeyfile /c.key\n");
	assert_true(c.local_only);
	assert_int_equal(c.listeners[0].origin, CONF_LISTENER_DEFAULT);
	assert_true(conf_listener_allows_anonymous(&c, &c.listeners[0]));
	conf_free(&c);

	/* ... unless per_listener_settings puts an explicit false on it. */
	parse(&c, "per_listener_settings true\nallow_anonymous false\ncertfile /c.crt\nkeyfile /c.key\n");
	assert_false(conf_listener_allows_anonymous(&c, &c.listeners[0]));
	conf_free(&c);

	/* bind_address leaves local-only mode: anonymous is refused again. */
	parse(&c, "bind_address 127.0.0.1\n");
	assert_false(c.local_only);
	assert_false(conf_listener_allows_anonymous(&c, &c.listeners[0]));
	conf_free(&c);
}

static void per_listener_settings_scope(void **state)
{
	struct conf c;
	(void)state;

	/* Without it, security settings are global wherever they are written. */
	parse(&c, "listener 1883\nlistener 8883\nallow_anonymous true\npassword_file /p\n");
	assert_int_equal(c.sec.allow_anonymous.v, 1);
	assert_string_equal(c.sec.password_file.v, "/p");
	assert_true(conf_listener_allows_anonymous(&c, &c.listeners[0]));
	assert_ptr_equal(conf_listener_security(&c, &c.listeners[0]), &c.sec);
	assert_non_null(msg(&c, CONF_MSG_WARNING, "applies to every listener"));
	conf_free(&c);

	/* With it, each listener has its own, and what comes before any listener is lost. */
	parse(&c, "per_listener_settings true\nallow_anonymous true\nlistener 1883\nlistener 8883\n"
		  "allow_anonymous true\n");
	assert_false(conf_listener_allows_anonymous(&c, &c.listeners[0]));
	assert_true(conf_listener_allows_anonymous(&c, &c.listeners[1]));
	assert_non_null(msg(&c, CONF_MSG_ERROR, "applies to no listener"));
	assert_int_equal(msg(&c, CONF_MSG_ERROR, "applies to no listener")->at.line, 2);
	conf_free(&c);

	/* It must come before any security setting. */
	parse(&c, "listener 1883\nallow_anonymous true\nper_listener_settings true\n");
	assert_non_null(msg(&c, CONF_MSG_FATAL, "per_listener_settings"));
	assert_int_equal(msg(&c, CONF_MSG_FATAL, "per_listener_settings")->at.line, 3);
	conf_free(&c);

	/* Set false after security settings: mosquitto accepts that. */
	parse(&c, "allow_anonymous true\nper_listener_settings false\nlistener 1\n");
	assert_int_equal(count(&c, CONF_MSG_FATAL), 0);
	conf_free(&c);
}

static void crlf_blanks_comments(void **state)
{
	struct conf c;
	(void)state;

	parse(&c, "# comment\r\n\r\n   \r\nlistener 8883   \r\ncertfile   /a b.crt  \r\nkeyfile /k\r\n"
		  "allow_anonymous true  \r\n#listener 1\n");
	assert_int_equal(count(&c, CONF_MSG_FATAL), 0);
	assert_int_equal(c.n_listeners, 1);
	assert_int_equal(c.listeners[0].port, 8883);
	assert_string_equal(c.listeners[0].certfile.v, "/a b.crt");
	assert_int_equal(c.sec.allow_anonymous.v, 1);
	assert_int_equal(c.files[0].lines, 8);
	conf_free(&c);

	/* No newline at the end, and a bool with a trailing word (mosquitto ignores it). */
	parse(&c, "listener 1 # the first\nallow_anonymous true extra");
	assert_int_equal(c.n_msgs, 0);
	assert_null(c.listeners[0].bind);
	assert_int_equal(c.sec.allow_anonymous.v, 1);
	conf_free(&c);
}

static void what_mosquitto_refuses(void **state)
{
	struct conf c;
	const struct conf_msg *m;
	(void)state;

	parse(&c, "listener 8883\n"
		  "  # indented comment\n"
		  "cafile\t/ca.crt\n"
		  "allow_anonymous yes\n"
		  "ciphersuites TLS_AES_128_GCM_SHA256\n"
		  "cafile /a\n"
		  "cafile /b\n"
		  "certfile\n"
		  "listener 70000\n"
		  "listener abc\n"
		  "allow_anonymous true\t\n"
		  "log_dest nowhere\n"
		  "mount_point x\n"
		  "port 0\n");
	m = msg(&c, CONF_MSG_FATAL, "comment must start");
	assert_non_null(m);
	assert_int_equal(m->at.line, 2);
	m = msg(&c, CONF_MSG_FATAL, "a tab is read as part of the name");
	assert_non_null(m);
	assert_int_equal(m->at.line, 3);
	assert_int_equal(msg(&c, CONF_MSG_FATAL, "allow_anonymous must be true or false")->at.line, 4);
	assert_non_null(msg(&c, CONF_MSG_FATAL, "ciphers_tls1.3"));
	m = msg(&c, CONF_MSG_FATAL, "cafile is set twice");
	assert_non_null(m);
	assert_int_equal(m->at.line, 7);
	assert_non_null(strstr(m->text, "t.conf:6"));
	assert_int_equal(msg(&c, CONF_MSG_FATAL, "certfile has no value")->at.line, 8);
	assert_int_equal(msg(&c, CONF_MSG_FATAL, "out of range")->at.line, 9);
	assert_int_equal(msg(&c, CONF_MSG_FATAL, "unix socket")->at.line, 10);
	assert_non_null(msg(&c, CONF_MSG_FATAL, "(a tab is not a separator"));
	assert_int_equal(msg(&c, CONF_MSG_FATAL, "log_dest")->at.line, 12);
	/* mount_point after a listener is fine; port 0 is not. */
	assert_null(msg(&c, CONF_MSG_FATAL, "mount_point"));
	assert_int_equal(msg(&c, CONF_MSG_FATAL, "port 0 is out of range")->at.line, 14);
	assert_string_equal(c.listeners[0].cafile.v, "/a");
	conf_free(&c);

	parse(&c, "mount_point x\n");
	assert_non_null(msg(&c, CONF_MSG_FATAL, "before any listener"));
	conf_free(&c);
}

static void values_as_mosquitto_reads_them(void **state)
{
	struct conf c;
	(void)state;

	/* A '#' after a value is part of it. */
	parse(&c, "listener 8883\ncafile /etc/ca.crt # our CA\n");
	assert_string_equal(c.listeners[0].cafile.v, "/etc/ca.crt # our CA");
	assert_non_null(msg(&c, CONF_MSG_WARNING, "no comments after a value"));
	conf_free(&c);

	/* A control character in a value is malformed UTF-8 to mosquitto. */
	parse(&c, "listener 8883\ncafile /a\x01b\nkeyfile /\xc3\x28\n");
	assert_int_equal(count(&c, CONF_MSG_FATAL), 2);
	conf_free(&c);

	/* atoi: "8883x" is 8883. */
	parse(&c, "listener 8883x\n");
	assert_int_equal(c.listeners[0].port, 8883);
	conf_free(&c);

	/* Booleans: true/false/1/0 only. */
	parse(&c, "listener 1\nrequire_certificate 1\nuse_identity_as_username 0\n");
	assert_int_equal(c.listeners[0].require_certificate.v, 1);
	assert_int_equal(c.listeners[0].use_identity_as_username.v, 0);
	conf_free(&c);

	/* log_dest file PATH, plugins, plugin options. */
	parse(&c, "log_dest file /var/log/mosquitto/mosquitto.log\nplugin /usr/lib/dynsec.so\n"
		  "plugin_opt_config_file /etc/dynsec.json\n");
	assert_int_equal(c.n_log_files, 1);
	assert_string_equal(c.log_files[0].v, "/var/log/mosquitto/mosquitto.log");
	assert_int_equal(c.sec.n_plugins, 1);
	assert_int_equal(count(&c, CONF_MSG_FATAL), 0);
	conf_free(&c);

	parse(&c, "auth_opt_x y\n");
	assert_non_null(msg(&c, CONF_MSG_FATAL, "plugin"));
	conf_free(&c);
}

static void nul_bytes_and_long_lines(void **state)
{
	struct conf c;
	char *big;
	size_t n = 1u << 20;
	static const char with_nul[] = "listener 1\nallow_anonymous true\0junk\nuser x\n";
	(void)state;

	conf_init(&c);
	conf_parse_buffer(&c, "nul.conf", with_nul, sizeof with_nul - 1);
	assert_non_null(msg(&c, CONF_MSG_ERROR, "NUL byte"));
	assert_int_equal(msg(&c, CONF_MSG_ERROR, "NUL byte")->at.line, 2);
	assert_int_equal(c.sec.allow_anonymous.v, 1);
	assert_string_equal(c.user.v, "x");
	conf_free(&c);

	big = malloc(n + 32);
	assert_non_null(big);
	memcpy(big, "user ", 5);
	memset(big + 5, 'a', n);
	memcpy(big + 5 + n, "\nlistener 2\n", 13);
	conf_init(&c);
	conf_parse_buffer(&c, "big.conf", big, strlen(big));
	assert_int_equal(strlen(c.user.v), n);
	assert_int_equal(c.listeners[0].port, 2);
	conf_free(&c);
	free(big);
}

static void message_cap(void **state)
{
	struct conf c;
	struct mq_str b = { 0 };
	(void)state;

	for (int i = 0; i < 10000; i++)
		mq_str_printf(&b, "bogus%d 1\n", i);
	parse(&c, b.s);
	assert_int_equal(c.n_msgs, CONF_MAX_MSGS);
	assert_int_equal(c.n_msgs_dropped, 10000 - CONF_MAX_MSGS);
	assert_int_equal(c.files[0].lines, 10000);
	conf_free(&c);
	mq_str_free(&b);
}

/* ---- files on disk: include_dir ------------------------------------------------------------ */

struct tmp {
	char dir[64];
};

static void put(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof *t);
	char sub[128];

	snprintf(t->dir, sizeof t->dir, "/tmp/mqttls-conf-XXXXXX");
	if (!t || !mkdtemp(t->dir))
		return -1;
	snprintf(sub, sizeof sub, "%s/conf.d", t->dir);
	mkdir(sub, 0755);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	struct mq_err err = { 0 };

	if (mq_rm_rf(t->dir, &err) < 0)
		return -1;
	free(t);
	return 0;
}

static void include_dir_order_and_scope(void **state)
{
	struct tmp *t = *state;
	char main_path[256], inc[128], text[512];
	struct conf c;
	struct mq_err err = { 0 };

	snprintf(inc, sizeof inc, "%s/conf.d", t->dir);
	put(inc, "b.conf", "listener 1002\n");
	put(inc, "A.conf", "listener 1000\n");
	put(inc, "a.conf", "certfile /inc.crt\nkeyfile /inc.key\n");
	put(inc, "B.conf", "include_dir /nowhere\nlistener 1001\n");
	put(inc, "notes.txt", "garbage that is never read\n");
	put(inc, ".conf", "garbage\n");
	snprintf(text, sizeof text, "per_listener_settings false\nlistener 8883\ninclude_dir %s\nallow_anonymous true\n", inc);
	put(t->dir, "mosquitto.conf", text);
	snprintf(main_path, sizeof main_path, "%s/mosquitto.conf", t->dir);

	conf_init(&c);
	assert_int_equal(conf_read_file(&c, main_path, &err), 0);
	/* Read in mosquitto's order: case-insensitive, upper case first on the same letter. */
	assert_int_equal(c.n_files, 5);
	assert_non_null(strstr(c.files[1].path, "/A.conf"));
	assert_non_null(strstr(c.files[2].path, "/a.conf"));
	assert_non_null(strstr(c.files[3].path, "/B.conf"));
	assert_non_null(strstr(c.files[4].path, "/b.conf"));
	assert_true(c.files[1].included);
	/* Listeners in reading order, then the default one made by a.conf's certfile. */
	assert_int_equal(c.n_listeners, 5);
	assert_int_equal(c.listeners[0].port, 8883);
	assert_int_equal(c.listeners[1].port, 1000);
	assert_int_equal(c.listeners[2].port, 1001);
	assert_int_equal(c.listeners[3].port, 1002);
	assert_int_equal(c.listeners[4].origin, CONF_LISTENER_DEFAULT);
	assert_string_equal(c.listeners[4].certfile.v, "/inc.crt");
	assert_non_null(strstr(c.listeners[4].at.file, "/a.conf"));
	/* include_dir in an included file is ignored, with a warning at its line. */
	assert_non_null(msg(&c, CONF_MSG_WARNING, "only read from the main file"));
	assert_non_null(strstr(msg(&c, CONF_MSG_WARNING, "only read from the main file")->at.file, "B.conf"));
	assert_int_equal(c.sec.allow_anonymous.v, 1);
	assert_int_equal(c.sec.allow_anonymous.at.line, 4);
	conf_free(&c);
}

static void include_dir_keeps_main_listener(void **state)
{
	struct tmp *t = *state;
	char main_path[256], inc[128], text[512];
	struct conf c;
	struct mq_err err = { 0 };

	snprintf(inc, sizeof inc, "%s/quiet.d", t->dir);
	mkdir(inc, 0755);
	put(inc, "log.conf", "log_type all\n");
	snprintf(text, sizeof text, "listener 8883\ninclude_dir %s\ncertfile /c\nkeyfile /k\n", inc);
	put(t->dir, "m2.conf", text);
	snprintf(main_path, sizeof main_path, "%s/m2.conf", t->dir);
	conf_init(&c);
	assert_int_equal(conf_read_file(&c, main_path, &err), 0);
	assert_int_equal(c.n_listeners, 1);
	assert_string_equal(c.listeners[0].certfile.v, "/c");
	conf_free(&c);

	/* An empty include_dir (Debian's conf.d holds only a README). */
	snprintf(inc, sizeof inc, "%s/empty.d", t->dir);
	mkdir(inc, 0755);
	put(inc, "README", "not a .conf file\n");
	snprintf(text, sizeof text, "listener 8883\ninclude_dir %s\n", inc);
	put(t->dir, "m3.conf", text);
	snprintf(main_path, sizeof main_path, "%s/m3.conf", t->dir);
	conf_init(&c);
	assert_int_equal(conf_read_file(&c, main_path, &err), 0);
	assert_int_equal(c.n_files, 1);
	assert_int_equal(c.n_msgs, 0);
	conf_free(&c);
	snprintf(main_path, sizeof main_path, "%s/m2.conf", t->dir);
	snprintf(inc, sizeof inc, "%s/quiet.d", t->dir);

	/* When the included files open listeners, 2.0.11 loses what follows in the main file. */
	put(inc, "more.conf", "listener 9000\n");
	conf_init(&c);
	assert_int_equal(conf_read_file(&c, main_path, &err), 0);
	assert_null(c.listeners[0].certfile.v);
	assert_non_null(msg(&c, CONF_MSG_ERROR, "applies it to no listener"));
	assert_int_equal(msg(&c, CONF_MSG_ERROR, "applies it to no listener")->at.line, 3);
	conf_free(&c);
}

static void hostile_files(void **state)
{
	struct tmp *t = *state;
	char path[256], inc[128], text[512], a[256], b[256];
	struct conf c;
	struct mq_err err = { 0 };

	/* A FIFO, a symlink loop, /dev/zero and a directory among the included files. */
	snprintf(inc, sizeof inc, "%s/hostile.d", t->dir);
	mkdir(inc, 0755);
	snprintf(path, sizeof path, "%s/fifo.conf", inc);
	assert_int_equal(mkfifo(path, 0644), 0);
	snprintf(a, sizeof a, "%s/loop1.conf", inc);
	snprintf(b, sizeof b, "%s/loop2.conf", inc);
	assert_int_equal(symlink(b, a), 0);
	assert_int_equal(symlink(a, b), 0);
	snprintf(path, sizeof path, "%s/zero.conf", inc);
	assert_int_equal(symlink("/dev/zero", path), 0);
	snprintf(path, sizeof path, "%s/dir.conf", inc);
	mkdir(path, 0755);
	put(inc, "ok.conf", "listener 1234\n");
	snprintf(text, sizeof text, "include_dir %s\n", inc);
	put(t->dir, "hostile.conf", text);
	snprintf(path, sizeof path, "%s/hostile.conf", t->dir);
	conf_init(&c);
	assert_int_equal(conf_read_file(&c, path, &err), 0);
	assert_non_null(msg(&c, CONF_MSG_FATAL, "a FIFO"));
	assert_non_null(msg(&c, CONF_MSG_FATAL, "symbolic links"));
	assert_non_null(msg(&c, CONF_MSG_FATAL, "a device"));
	assert_non_null(msg(&c, CONF_MSG_FATAL, "a directory"));
	assert_int_equal(c.n_listeners, 1);
	assert_int_equal(c.listeners[0].port, 1234);
	conf_free(&c);

	/* An include_dir that holds the main file: read twice, as mosquitto does, then duplicates. */
	snprintf(text, sizeof text, "user someone\ninclude_dir %s\n", t->dir);
	put(t->dir, "self.conf", text);
	snprintf(path, sizeof path, "%s/self.conf", t->dir);
	conf_init(&c);
	assert_int_equal(conf_read_file(&c, path, &err), 0);
	assert_non_null(msg(&c, CONF_MSG_WARNING, "main configuration file itself"));
	assert_non_null(msg(&c, CONF_MSG_FATAL, "user is set twice"));
	conf_free(&c);

	/* The main file itself: missing, a FIFO. */
	conf_init(&c);
	snprintf(path, sizeof path, "%s/missing.conf", t->dir);
	assert_int_equal(conf_read_file(&c, path, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
	conf_free(&c);
	mq_err_clear(&err);
	conf_init(&c);
	snprintf(path, sizeof path, "%s/fifo.conf", inc);
	assert_int_equal(conf_read_file(&c, path, &err), -1);
	assert_non_null(strstr(err.msg, "FIFO"));
	conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(listeners_and_tls_scope),
		cmocka_unit_test(options_before_listener_make_default_listener),
		cmocka_unit_test(local_only_mode),
		cmocka_unit_test(per_listener_settings_scope),
		cmocka_unit_test(crlf_blanks_comments),
		cmocka_unit_test(what_mosquitto_refuses),
		cmocka_unit_test(values_as_mosquitto_reads_them),
		cmocka_unit_test(nul_bytes_and_long_lines),
		cmocka_unit_test(message_cap),
		cmocka_unit_test(include_dir_order_and_scope),
		cmocka_unit_test(include_dir_keeps_main_listener),
		cmocka_unit_test(hostile_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
