#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "mqttls/target.h"
#include "mqttls/util.h"

const char target_usage[] =
	"TARGET options, as mosquitto_pub/mosquitto_sub take them (a leading mosquitto_pub or\n"
	"mosquitto_sub word is ignored, so a failing command line can be pasted as it is):\n"
	"  -h, --host HOST        broker host name or address (default localhost)\n"
	"  -p, --port PORT        broker port (default 8883; 1883 for mqtt://)\n"
	"  --cafile FILE          CA certificate(s) to verify the broker with (PEM)\n"
	"  --capath DIR           directory of hashed CA certificates\n"
	"  --tls-use-os-certs     the system's CA store (as --capath /etc/ssl/certs)\n"
	"  --cert FILE            client certificate (PEM), with --key\n"
	"  --key FILE             client private key (PEM)\n"
	"  -u, --username USER    username\n"
	"  -P, --pw PASS          password\n"
	"  -i, --id ID            client id (default mqttls-<random>)\n"
	"  -t, --topic TOPIC      topic (the round trip uses a unique topic under it)\n"
	"  -m, --message MESSAGE  message payload\n"
	"  -q, --qos QOS          QoS for the round trip (0, 1 or 2; default 1)\n"
	"  -k, --keepalive SEC    keepalive (default 60)\n"
	"  -V, --protocol-version 311|5   MQTT version (also mqttv311, mqttv5, 31)\n"
	"  --insecure             do not check the broker's host name (the CA still is), as mosquitto\n"
	"  --no-verify            verify nothing, as an ESP32 with setInsecure()\n"
	"  --tls-version V        tlsv1.2: the lowest version offered; tlsv1.3: the only one\n"
	"  --tls-max V            the highest version offered (tlsv1.2 is an ESP32 on mbedTLS 2.x)\n"
	"  --ciphers LIST         TLS 1.2 cipher list, in OpenSSL syntax\n"
	"  --sni NAME             server name to send (default: the host, unless it is an address)\n"
	"  --clock WHEN           the device's clock for the certificate dates: unset (1970, an ESP32\n"
	"                         without NTP), ignore (dates not checked), a UTC date, -400d, or ntp\n"
	"  -L, --url URL          the target as a URL (also accepted alone, without -L):\n"
	"                         mqtts://[USER[:PASS]@]HOST[:PORT][/TOPIC], or mqtt://... for plain MQTT\n"
	"mosquitto_pub/sub options that do not change the connection (-d, -r, -n, -l, -s, -v, -N, -R,\n"
	"-c, -D/--property ..., --will-topic, --will-payload, --repeat, ...) are accepted and ignored;\n"
	"TLS-PSK (--psk, --psk-identity) is refused: mqttls speaks certificates.\n";

void target_init(struct target *t)
{
	memset(t, 0, sizeof *t);
	t->host = strdup("localhost");
	t->port = 8883;
	t->tls = true;
	t->verify = TARGET_VERIFY_FULL;
	t->mqtt_version = 311;
	t->keepalive = 60;
	t->qos = 1;
}

void target_free(struct target *t)
{
	if (!t)
		return;
	free(t->host);
	free(t->cafile);
	free(t->capath);
	free(t->cert);
	free(t->key);
	free(t->user);
	free(t->pass);
	free(t->client_id);
	free(t->topic);
	free(t->message);
	free(t->sni);
	free(t->ciphers);
	free(t->pasted_tool);
	memset(t, 0, sizeof *t);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void target_dup(struct target *dst, const struct target *src)
{
	char **const strs[] = { &dst->host, &dst->cafile, &dst->capath, &dst->cert, &dst->key, &dst->user, &dst->pass,
				&dst->client_id, &dst->topic, &dst->message, &dst->sni, &dst->ciphers, &dst->pasted_tool };

	if (dst == src)
		return;
	target_free(dst);
	*dst = *src;
	/* Every string field now points into src: give dst its own copies. */
	for (size_t i = 0; i < MQ_ARRAY_LEN(strs); i++)
		*strs[i] = dup_or_null(*strs[i]);
}

/* YYYY-MM-DD, optionally followed by THH:MM:SS and an optional Z: UTC. */
static int parse_date(const char *s, long long *out)
{
	struct tm tm = { 0 }, back;
	int n = 0, len = (int)strlen(s);
	time_t t;

	if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || n != 10)
		return -1;
	if (n < len) {
		int m = 0;
		if ((s[n] != 'T' && s[n] != ' ') ||
		    sscanf(s + n + 1, "%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &m) != 3 || m != 8)
			return -1;
		n += 1 + m;
		if (s[n] == 'Z')
			n++;
		if (n != len)
			return -1;
	}
	if (tm.tm_year < 1970 || tm.tm_year > 9999)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	t = timegm(&tm);
	/* timegm normalises 2026-02-30 into March: such a date was not a date. */
	if (t == (time_t)-1 || tm.tm_mday != back.tm_mday || tm.tm_mon != back.tm_mon || tm.tm_hour != back.tm_hour ||
	    tm.tm_min != back.tm_min || tm.tm_sec != back.tm_sec)
		return -1;
	*out = (long long)t;
	return 0;
}

int target_parse_clock(const char *s, enum target_clock *mode, long long *at, struct mq_err *err)
{
	static const struct { char unit; long long seconds; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};

	*at = 0;
	if (!strcmp(s, "ntp") || !strcmp(s, "system")) {
		*mode = TARGET_CLOCK_SYSTEM;
		return 0;
	}
	if (!strcmp(s, "ignore")) {
		*mode = TARGET_CLOCK_IGNORE;
		return 0;
	}
	*mode = TARGET_CLOCK_AT;
	if (!strcmp(s, "unset"))
		return 0;
	if (parse_date(s, at) == 0)
		return 0;
	if ((s[0] == '+' || s[0] == '-') && isdigit((unsigned char)s[1])) {
		char *end;
		long long v = strtoll(s + 1, &end, 10);
		for (size_t i = 0; i < MQ_ARRAY_LEN(units) && end[0] && !end[1]; i++) {
			/* A hundred years either way is more than any device's clock is off. */
			if (end[0] != units[i].unit || v > 100LL * 366 * 86400 / units[i].seconds)
				continue;
			*at = (long long)time(NULL) + (s[0] == '-' ? -v : v) * units[i].seconds;
			if (*at < 0)
				*at = 0;
			return 0;
		}
	}
	mq_errf(err, "invalid --clock '%s': expected unset (1970, a device without NTP), ignore (dates not checked), "
		"ntp (this machine's clock), a UTC date such as 2020-01-01 or 2020-01-01T12:00:00Z, or an offset "
		"such as -400d or +2h", s);
	return -1;
}

const char *target_clock_arg(enum target_clock mode, long long at, char *buf, size_t size)
{
	if (mode == TARGET_CLOCK_SYSTEM)
		snprintf(buf, size, "ntp");
	else if (mode == TARGET_CLOCK_IGNORE)
		snprintf(buf, size, "ignore");
	else if (at == 0)
		snprintf(buf, size, "unset");
	else
		mq_iso8601(at, buf, size);
	return buf;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
}

int target_tls_version_from_name(const char *name)
{
	static const struct { const char *name; int v; } tab[] = {
		{ "tlsv1", TLS1_VERSION },     { "tlsv1.0", TLS1_VERSION },
		{ "tlsv1.1", TLS1_1_VERSION }, { "tlsv1.2", TLS1_2_VERSION },
		{ "tlsv1.3", TLS1_3_VERSION },
	};
	for (size_t i = 0; i < MQ_ARRAY_LEN(tab); i++)
		if (!strcasecmp(name, tab[i].name))
			return tab[i].v;
	return 0;
}

const char *target_tls_version_name(int v)
{
	switch (v) {
	case TLS1_VERSION: return "TLSv1";
	case TLS1_1_VERSION: return "TLSv1.1";
	case TLS1_2_VERSION: return "TLSv1.2";
	case TLS1_3_VERSION: return "TLSv1.3";
	default: return "default";
	}
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!*s || isspace((unsigned char)*s))
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int set_port(struct target *t, const char *s, const char *what, struct mq_err *err)
{
	long v;

	if (parse_int(s, 1, 65535, &v) < 0) {
		mq_errf(err, "invalid port '%s' in %s: expected a number from 1 to 65535", s, what);
		return -1;
	}
	t->port = (int)v;
	t->port_given = true;
	return 0;
}

/*
 * mqtts://[user[:pass]@]host[:port][/topic], with [v6] hosts. Also used for a bare
 * host[:port] positional, where scheme is NULL.
 */
static int parse_url(struct target *t, const char *arg, struct mq_err *err)
{
	const char *p = arg, *hs, *he, *at, *slash;
	char buf[1024];
	size_t n;

	if (!strncmp(p, "mqtts://", 8) || !strncmp(p, "ssl://", 6) || !strncmp(p, "tls://", 6)) {
		t->tls = true;
		p = strstr(p, "://") + 3;
	} else if (!strncmp(p, "mqtt://", 7) || !strncmp(p, "tcp://", 6)) {
		t->tls = false;
		if (!t->port_given)
			t->port = 1883;
		p = strstr(p, "://") + 3;
	} else if (strstr(p, "://")) {
		mq_errf(err, "unsupported URL scheme in '%s': use mqtts:// or mqtt://", arg);
		return -1;
	}
	t->url_given = true;
	slash = strchr(p, '/');
	at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		n = (size_t)((colon ? colon : at) - p);
		if (n >= sizeof buf)
			goto bad;
		memcpy(buf, p, n);
		buf[n] = '\0';
		set_str(&t->user, buf);
		if (colon) {
			n = (size_t)(at - colon - 1);
			if (n >= sizeof buf)
				goto bad;
			memcpy(buf, colon + 1, n);
			buf[n] = '\0';
			set_str(&t->pass, buf);
		}
		p = at + 1;
	}
	if (*p == '[') {
		hs = p + 1;
		he = strchr(hs, ']');
		if (!he)
			goto bad;
		p = he + 1;
	} else {
		hs = p;
		he = p + strcspn(p, ":/");
		p = he;
	}
	n = (size_t)(he - hs);
	if (n == 0 || n >= sizeof buf)
		goto bad;
	memcpy(buf, hs, n);
	buf[n] = '\0';
	set_str(&t->host, buf);
	if (*p == ':') {
		p++;
		n = strcspn(p, "/");
		if (n == 0 || n >= 8)
			goto bad;
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (set_port(t, buf, arg, err) < 0)
			return -1;
		p += n;
	}
	if (*p == '/' && p[1])
		set_str(&t->topic, p + 1);
	else if (*p && *p != '/')
		goto bad;
	return 0;
bad:
	mq_errf(err, "cannot parse '%s': expected mqtts://HOST[:PORT] or mqtt://HOST[:PORT]", arg);
	return -1;
}

/* mosquitto_pub/sub options that do not change the connection: accepted, ignored. */
static const char *const ignored_flags[] = {
	"-d", "--debug", "-r", "--retain", "-n", "--null-message", "-l", "--stdin-line", "-s",
	"--stdin-file", "-N", "-R", "--no-retain", "-v", "--verbose", "-c", "--disable-clean-session",
	"--quiet", "--nodelay", "--pretty", "-E", "--retained-only", "--remove-retained",
	"--will-retain", "--retain-as-published", "-S", "--no-utf8",
};
static const char *const ignored_with_value[] = {
	"-A", "-C", "-e", "-f", "--file", "-F", "-I", "--id-prefix", "-M", "-T", "--filter-out",
	"-U", "--unsubscribe", "-W", "-x", "--keyform", "--tls-alpn", "--tls-engine",
	"--tls-engine-kpass-sha1", "--proxy", "--will-payload", "--will-qos", "--will-topic",
	"--repeat", "--repeat-delay", "--unix", "--random-filter", "--message-expiry-interval",
};

static bool in_list(const char *a, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(a, list[i]))
			return true;
	return false;
}

static bool is_mosquitto_word(const char *a)
{
	const char *base = strrchr(a, '/');

	base = base ? base + 1 : a;
	return !strcmp(base, "mosquitto_pub") || !strcmp(base, "mosquitto_sub") ||
	       !strcmp(base, "mosquitto_rr");
}

int target_parse_arg(struct target *t, int argc, char **argv, int i, struct mq_err *err)
{
	const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
	long n;

#define NEED_VALUE()                                                                     \
	do {                                                                             \
		if (!v) {                                                                \
			mq_errf(err, "option %s needs a value", a);                      \
			return -1;                                                       \
		}                                                                        \
	} while (0)

	if (is_mosquitto_word(a)) {
		const char *base = strrchr(a, '/');
		t->pasted = true;
		set_str(&t->pasted_tool, base ? base + 1 : a);
		return 1;
	}
	if (!strcmp(a, "-h") || !strcmp(a, "--host")) {
		NEED_VALUE();
		if (!*v) {
			mq_errf(err, "option %s needs a host name or address, not an empty string", a);
			return -1;
		}
		set_str(&t->host, v);
		return 2;
	}
	if (!strcmp(a, "-p") || !strcmp(a, "--port")) {
		NEED_VALUE();
		return set_port(t, v, a, err) < 0 ? -1 : 2;
	}
	if (!strcmp(a, "-L") || !strcmp(a, "--url")) {
		NEED_VALUE();
		return parse_url(t, v, err) < 0 ? -1 : 2;
	}
	struct { const char *opt; char **dst; bool tls; } strs[] = {
		{ "--cafile", &t->cafile, true }, { "--capath", &t->capath, true },
		{ "--cert", &t->cert, true },     { "--key", &t->key, true },
		{ "-u", &t->user, false },        { "--username", &t->user, false },
		{ "-P", &t->pass, false },        { "--pw", &t->pass, false },
		{ "-i", &t->client_id, false },   { "--id", &t->client_id, false },
		{ "-t", &t->topic, false },       { "--topic", &t->topic, false },
		{ "-m", &t->message, false },     { "--message", &t->message, false },
		{ "--sni", &t->sni, true },       { "--ciphers", &t->ciphers, true },
	};
	for (size_t k = 0; k < MQ_ARRAY_LEN(strs); k++) {
		if (strcmp(a, strs[k].opt))
			continue;
		NEED_VALUE();
		set_str(strs[k].dst, v);
		if (strs[k].tls)
			t->tls_opts_given = true;
		return 2;
	}
	if (!strcmp(a, "--insecure")) {
		if (t->verify == TARGET_VERIFY_FULL)
			t->verify = TARGET_VERIFY_NO_HOST;
		t->tls_opts_given = true;
		return 1;
	}
	if (!strcmp(a, "--no-verify")) {
		t->verify = TARGET_VERIFY_NONE;
		t->tls_opts_given = true;
		return 1;
	}
	if (!strcmp(a, "--clock")) {
		NEED_VALUE();
		if (target_parse_clock(v, &t->clock, &t->clock_at, err) < 0)
			return -1;
		t->tls_opts_given = true;
		return 2;
	}
	if (!strcmp(a, "--tls-use-os-certs")) {
		set_str(&t->capath, "/etc/ssl/certs");
		t->tls_opts_given = true;
		return 1;
	}
	if (!strcmp(a, "--tls-version") || !strcmp(a, "--tls-max")) {
		int ver;
		NEED_VALUE();
		ver = target_tls_version_from_name(v);
		if (!ver) {
			mq_errf(err, "invalid TLS version '%s' for %s: expected tlsv1.2 or tlsv1.3", v, a);
			return -1;
		}
		if (!strcmp(a, "--tls-max")) {
			t->tls_max = ver;
		} else {
			t->tls_min = ver;
			if (ver == TLS1_3_VERSION)
				t->tls_max = ver; /* mosquitto: tlsv1.3 means only 1.3 */
		}
		t->tls_opts_given = true;
		return 2;
	}
	if (!strcmp(a, "-V") || !strcmp(a, "--protocol-version")) {
		NEED_VALUE();
		if (!strcmp(v, "5") || !strcasecmp(v, "mqttv5"))
			t->mqtt_version = 5;
		else if (!strcmp(v, "311") || !strcasecmp(v, "mqttv311"))
			t->mqtt_version = 311;
		else if (!strcmp(v, "31") || !strcasecmp(v, "mqttv31"))
			t->mqtt_version = 31;
		else {
			mq_errf(err, "invalid MQTT version '%s' for %s: expected 311 or 5", v, a);
			return -1;
		}
		return 2;
	}
	if (!strcmp(a, "-q") || !strcmp(a, "--qos")) {
		NEED_VALUE();
		if (parse_int(v, 0, 2, &n) < 0) {
			mq_errf(err, "invalid QoS '%s' for %s: expected 0, 1 or 2", v, a);
			return -1;
		}
		t->qos = (int)n;
		return 2;
	}
	if (!strcmp(a, "-k") || !strcmp(a, "--keepalive")) {
		NEED_VALUE();
		if (parse_int(v, 0, 65535, &n) < 0) {
			mq_errf(err, "invalid keepalive '%s' for %s: expected seconds from 0 to 65535", v, a);
			return -1;
		}
		t->keepalive = (int)n;
		return 2;
	}
	if (!strcmp(a, "--psk") || !strcmp(a, "--psk-identity")) {
		mq_errf(err, "%s: TLS-PSK is not supported by mqttls; use certificates", a);
		return -1;
	}
	if (!strcmp(a, "-D") || !strcmp(a, "--property")) {
		/* -D COMMAND IDENTIFIER VALUE, and user-property takes a name and a value. */
		int need = (i + 2 < argc && !strcmp(argv[i + 2], "user-property")) ? 4 : 3;
		if (i + need >= argc) {
			mq_errf(err, "option %s needs a command, a property and a value", a);
			return -1;
		}
		return need + 1;
	}
	if (in_list(a, ignored_flags, MQ_ARRAY_LEN(ignored_flags)))
		return 1;
	if (in_list(a, ignored_with_value, MQ_ARRAY_LEN(ignored_with_value))) {
		NEED_VALUE();
		return 2;
	}
	if (a[0] == '-')
		return 0;
	/* A positional argument: a URL, or host[:port]. */
	if (strstr(a, "://") || (!t->url_given && a[0]))
		return parse_url(t, a, err) < 0 ? -1 : 1;
	return 0;
#undef NEED_VALUE
}

int target_finish(struct target *t, struct mq_err *err)
{
	if (t->pasted && !t->tls_opts_given && !t->url_given) {
		/* mosquitto_pub without any TLS option speaks plain MQTT, on 1883 by default — except
		 * on port 8883, where mosquitto_pub/sub 2.0 use TLS with the system's CA store. */
		t->tls = t->port_given && t->port == 8883;
		if (!t->port_given)
			t->port = 1883;
	} else if (t->pasted && t->tls_opts_given && !t->port_given && !t->url_given) {
		t->port = 8883;
	}
	if (!t->tls && t->tls_opts_given) {
		mq_errf(err, "mqtt:// means plain MQTT, but TLS options were given: use mqtts:// instead");
		return -1;
	}
	if ((t->cert != NULL) != (t->key != NULL)) {
		mq_errf(err, "--cert and --key must be given together (%s is missing)", t->cert ? "--key" : "--cert");
		return -1;
	}
	if (t->tls_min && t->tls_max && t->tls_min > t->tls_max) {
		mq_errf(err, "--tls-version %s is higher than --tls-max %s: no TLS version is left to offer",
			target_tls_version_name(t->tls_min), target_tls_version_name(t->tls_max));
		return -1;
	}
	if (t->pass && !t->user && t->mqtt_version != 5) {
		mq_errf(err, "-P was given without -u: MQTT %s allows a password only with a username",
			t->mqtt_version == 31 ? "3.1" : "3.1.1");
		return -1;
	}
	return 0;
}

int target_split_line(const char *line, int *argc_out, char ***argv_out, struct mq_err *err)
{
	char **argv = NULL;
	int argc = 0, cap = 0;
	const char *p = line;
	struct mq_str cur = { 0 };

	for (;;) {
		bool have = false;
		char q = 0;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
		       (*p == '\\' && (p[1] == '\n' || (p[1] == '\r' && p[2] == '\n'))))
			p += (*p == '\\') ? (p[1] == '\r' ? 3 : 2) : 1;
		if (!*p)
			break;
		for (; *p; p++) {
			if (q) {
				if (*p == q) {
					q = 0;
				} else if (q == '"' && *p == '\\' && p[1] && strchr("\"\\$`", p[1])) {
					mq_str_append(&cur, ++p, 1);
				} else {
					mq_str_append(&cur, p, 1);
				}
				continue;
			}
			if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
				break;
			if (*p == '\'' || *p == '"') {
				q = *p;
				have = true;
			} else if (*p == '\\' && p[1] == '\n') {
				p++;
				break;
			} else if (*p == '\\' && p[1]) {
				mq_str_append(&cur, ++p, 1);
			} else {
				mq_str_append(&cur, p, 1);
			}
		}
		if (q) {
			mq_errf(err, "unterminated %s quote in the command line", q == '"' ? "double" : "single");
			mq_str_free(&cur);
			target_free_argv(argc, argv);
			return -1;
		}
		if (cur.len || have) {
			if (argc + 2 > cap) {
				cap = cap ? cap * 2 : 16;
				argv = realloc(argv, (size_t)cap * sizeof *argv);
				if (!argv)
					abort();
			}
			argv[argc++] = mq_str_take(&cur);
			argv[argc] = NULL;
		}
	}
	mq_str_free(&cur);
	*argc_out = argc;
	*argv_out = argv;
	return 0;
}

void target_free_argv(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

int target_parse_line(struct target *t, const char *line, struct mq_err *err)
{
	int argc = 0, i = 0, rc = 0;
	char **argv = NULL;

	if (target_split_line(line, &argc, &argv, err) < 0)
		return -1;
	/* People paste what their terminal showed: a prompt, sudo, or our own command. */
	while (i < argc && (!strcmp(argv[i], "$") || !strcmp(argv[i], "#") || !strcmp(argv[i], "sudo") ||
			    !strcmp(argv[i], "mqttls") || !strcmp(argv[i], "./mqttls") ||
			    !strcmp(argv[i], "diagnose") || !strcmp(argv[i], "inspect")))
		i++;
	while (i < argc) {
		int used = target_parse_arg(t, argc, argv, i, err);
		if (used < 0) {
			rc = -1;
			break;
		}
		if (used == 0) {
			mq_errf(err, "unknown option '%s'", argv[i]);
			rc = -1;
			break;
		}
		i += used;
	}
	if (rc == 0)
		rc = target_finish(t, err);
	target_free_argv(argc, argv);
	return rc;
}
