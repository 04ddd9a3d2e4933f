/*
 * conf — read a mosquitto.conf as mosquitto 2.0.11 reads it (see conf.h and docs/conf.md).
 *
 * Every rule here was checked against the real broker on Debian 12; where mosquitto's reading is
 * surprising (tabs are not separators, a '#' after a value is part of it, options before the
 * first listener make a second listener on 1883), the reader follows mosquitto and says so in a
 * message rather than reading the file the way its author probably meant.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqttls/conf.h"
#include "mqttls/util.h"

/* All files together: bounded so a hostile include_dir cannot make us read without end. */
#define CONF_MAX_TOTAL_BYTES (64u << 20)

enum opt_kind {
	K_LISTENER,
	K_PORT,
	K_BIND_ADDRESS,
	K_INCLUDE_DIR,
	K_LOG_DEST,
	K_PLS,
	K_USER,
	K_LSTR,        /* a listener's string option (struct conf_str at off) */
	K_LBOOL,       /* a listener's boolean (struct conf_bool at off) */
	K_LOTHER,      /* a listener option mqttls does not model; may make the default listener */
	K_LNEEDS,      /* a listener option that mosquitto refuses before any listener */
	K_SSTR,        /* a security string (struct conf_str in struct conf_security at off) */
	K_SBOOL,       /* allow_anonymous */
	K_SPLUGIN,     /* plugin / auth_plugin */
	K_SOTHER,      /* other security options: they count for the per_listener_settings order */
	K_SOPT,        /* auth_opt_* / plugin_opt_*: need a plugin line before them in the same file */
	K_OTHER,       /* known to mosquitto 2.0, not modelled */
};

struct opt {
	const char *name;
	enum opt_kind kind;
	size_t off;
	bool makes_default;   /* set before any listener, it makes mosquitto open the default listener */
	const char *dflt;     /* K_LOTHER: the value that does not make it */
};

#define L(f) offsetof(struct conf_listener, f)
#define S(f) offsetof(struct conf_security, f)

/* Every option mosquitto 2.0.11 accepts (checked one by one against the binary). */
static const struct opt opts[] = {
	{ "listener", K_LISTENER, 0, false, NULL },
	{ "port", K_PORT, 0, true, NULL },
	{ "bind_address", K_BIND_ADDRESS, 0, true, NULL },
	{ "include_dir", K_INCLUDE_DIR, 0, false, NULL },
	{ "log_dest", K_LOG_DEST, 0, false, NULL },
	{ "per_listener_settings", K_PLS, 0, false, NULL },
	{ "user", K_USER, 0, false, NULL },

	{ "cafile", K_LSTR, L(cafile), true, NULL },
	{ "capath", K_LSTR, L(capath), true, NULL },
	{ "certfile", K_LSTR, L(certfile), true, NULL },
	{ "keyfile", K_LSTR, L(keyfile), true, NULL },
	{ "tls_version", K_LSTR, L(tls_version), false, NULL },
	{ "ciphers", K_LSTR, L(ciphers), true, NULL },
	{ "ciphers_tls1.3", K_LSTR, L(ciphers_tls13), true, NULL },
	{ "crlfile", K_LSTR, L(crlfile), true, NULL },
	{ "dhparamfile", K_LSTR, L(dhparamfile), true, NULL },
	{ "psk_hint", K_LSTR, L(psk_hint), true, NULL },
	{ "bind_interface", K_LSTR, L(bind_interface), true, NULL },
	{ "protocol", K_LSTR, L(protocol), true, NULL },
	{ "require_certificate", K_LBOOL, L(require_certificate), true, NULL },
	{ "use_identity_as_username", K_LBOOL, L(use_identity_as_username), true, NULL },
	{ "use_subject_as_username", K_LBOOL, L(use_subject_as_username), true, NULL },

	{ "max_connections", K_LOTHER, 0, true, "-1" },
	{ "max_qos", K_LOTHER, 0, true, "2" },
	{ "socket_domain", K_LOTHER, 0, true, NULL },
	{ "use_username_as_clientid", K_LOTHER, 0, true, "false" },
	{ "tls_engine", K_LOTHER, 0, true, NULL },
	{ "tls_engine_kpass_sha1", K_LOTHER, 0, true, NULL },
	{ "tls_keyform", K_LOTHER, 0, true, "pem" },
	{ "max_topic_alias", K_LOTHER, 0, false, NULL },
	{ "http_dir", K_LOTHER, 0, false, NULL },
	{ "mount_point", K_LNEEDS, 0, false, NULL },

	{ "allow_anonymous", K_SBOOL, S(allow_anonymous), false, NULL },
	{ "password_file", K_SSTR, S(password_file), true, NULL },
	{ "acl_file", K_SSTR, S(acl_file), false, NULL },
	{ "psk_file", K_SSTR, S(psk_file), true, NULL },
	{ "plugin", K_SPLUGIN, 0, true, NULL },
	{ "auth_plugin", K_SPLUGIN, 0, true, NULL },
	{ "allow_zero_length_clientid", K_SOTHER, 0, true, "true" },
	{ "auto_id_prefix", K_SOTHER, 0, false, NULL },
	{ "auth_plugin_deny_special_chars", K_SOTHER, 0, false, NULL },

	{ "address", K_OTHER, 0, false, NULL },
	{ "addresses", K_OTHER, 0, false, NULL },
	{ "allow_duplicate_messages", K_OTHER, 0, false, NULL },
	{ "autosave_interval", K_OTHER, 0, false, NULL },
	{ "autosave_on_changes", K_OTHER, 0, false, NULL },
	{ "bridge_alpn", K_OTHER, 0, false, NULL },
	{ "bridge_attempt_unsubscribe", K_OTHER, 0, false, NULL },
	{ "bridge_bind_address", K_OTHER, 0, false, NULL },
	{ "bridge_cafile", K_OTHER, 0, false, NULL },
	{ "bridge_capath", K_OTHER, 0, false, NULL },
	{ "bridge_certfile", K_OTHER, 0, false, NULL },
	{ "bridge_identity", K_OTHER, 0, false, NULL },
	{ "bridge_insecure", K_OTHER, 0, false, NULL },
	{ "bridge_keyfile", K_OTHER, 0, false, NULL },
	{ "bridge_max_packet_size", K_OTHER, 0, false, NULL },
	{ "bridge_outgoing_retain", K_OTHER, 0, false, NULL },
	{ "bridge_protocol_version", K_OTHER, 0, false, NULL },
	{ "bridge_psk", K_OTHER, 0, false, NULL },
	{ "bridge_require_ocsp", K_OTHER, 0, false, NULL },
	{ "bridge_tls_version", K_OTHER, 0, false, NULL },
	{ "check_retain_source", K_OTHER, 0, false, NULL },
	{ "cleansession", K_OTHER, 0, false, NULL },
	{ "clientid_prefixes", K_OTHER, 0, false, NULL },
	{ "connection", K_OTHER, 0, false, NULL },
	{ "connection_messages", K_OTHER, 0, false, NULL },
	{ "idle_timeout", K_OTHER, 0, false, NULL },
	{ "keepalive_interval", K_OTHER, 0, false, NULL },
	{ "local_cleansession", K_OTHER, 0, false, NULL },
	{ "local_clientid", K_OTHER, 0, false, NULL },
	{ "local_password", K_OTHER, 0, false, NULL },
	{ "local_username", K_OTHER, 0, false, NULL },
	{ "log_facility", K_OTHER, 0, false, NULL },
	{ "log_timestamp", K_OTHER, 0, false, NULL },
	{ "log_timestamp_format", K_OTHER, 0, false, NULL },
	{ "log_type", K_OTHER, 0, false, NULL },
	{ "max_inflight_bytes", K_OTHER, 0, false, NULL },
	{ "max_inflight_messages", K_OTHER, 0, false, NULL },
	{ "max_keepalive", K_OTHER, 0, false, NULL },
	{ "max_packet_size", K_OTHER, 0, false, NULL },
	{ "max_queued_bytes", K_OTHER, 0, false, NULL },
	{ "max_queued_messages", K_OTHER, 0, false, NULL },
	{ "memory_limit", K_OTHER, 0, false, NULL },
	{ "message_size_limit", K_OTHER, 0, false, NULL },
	{ "notification_topic", K_OTHER, 0, false, NULL },
	{ "notifications", K_OTHER, 0, false, NULL },
	{ "notifications_local_only", K_OTHER, 0, false, NULL },
	{ "persistence", K_OTHER, 0, false, NULL },
	{ "persistence_file", K_OTHER, 0, false, NULL },
	{ "persistence_location", K_OTHER, 0, false, NULL },
	{ "persistent_client_expiration", K_OTHER, 0, false, NULL },
	{ "pid_file", K_OTHER, 0, false, NULL },
	{ "queue_qos0_messages", K_OTHER, 0, false, NULL },
	{ "remote_clientid", K_OTHER, 0, false, NULL },
	{ "remote_password", K_OTHER, 0, false, NULL },
	{ "remote_username", K_OTHER, 0, false, NULL },
	{ "restart_timeout", K_OTHER, 0, false, NULL },
	{ "retain_available", K_OTHER, 0, false, NULL },
	{ "retry_interval", K_OTHER, 0, false, NULL },
	{ "round_robin", K_OTHER, 0, false, NULL },
	{ "set_tcp_nodelay", K_OTHER, 0, false, NULL },
	{ "start_type", K_OTHER, 0, false, NULL },
	{ "sys_interval", K_OTHER, 0, false, NULL },
	{ "threshold", K_OTHER, 0, false, NULL },
	{ "topic", K_OTHER, 0, false, NULL },
	{ "try_private", K_OTHER, 0, false, NULL },
	{ "upgrade_outgoing_qos", K_OTHER, 0, false, NULL },
	{ "websockets_headers_size", K_OTHER, 0, false, NULL },
	{ "websockets_log_level", K_OTHER, 0, false, NULL },
};

#undef L
#undef S

/* Names people write that mosquitto 2.0 does not know, with the one it does. */
static const struct {
	const char *wrong, *right;
} opt_hints[] = {
	{ "ciphersuites", "ciphers_tls1.3" },
	{ "ciphers_tls13", "ciphers_tls1.3" },
	{ "tls_ciphersuites", "ciphers_tls1.3" },
	{ "allow_anonymous:", "allow_anonymous" },
	{ "require_client_certificate", "require_certificate" },
	{ "ca_file", "cafile" },
	{ "cert_file", "certfile" },
	{ "key_file", "keyfile" },
	{ "passwordfile", "password_file" },
	{ "aclfile", "acl_file" },
	{ "store_clean_interval", NULL },
	{ "accept_protocol_versions", NULL },
	{ "global_plugin", NULL },
};

struct parser {
	struct conf *c;
	bool follow_include;
	bool have_main_id;
	dev_t main_dev;
	ino_t main_ino;
	size_t total_bytes;
	/* Per file (mosquitto restarts these for every file it reads). */
	const char *file;
	int line;
	int level;
	bool plugin_in_file;
	/*
	 * The main file's listener after an include_dir that opened listeners: mosquitto 2.0.11 keeps a
	 * pointer into the array the included files grew, and what follows is lost (checked on Debian 12).
	 */
	bool stale_listener;
	/* Global security settings written inside a listener's block (a common surprise). */
	struct {
		const char *name;
		struct conf_loc at;
		int port;
	} scoped[16];
	size_t n_scoped;
};

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort(); /* the library's policy: out of memory is not a recoverable input problem */
	return q;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

void conf_msg_add(struct conf *c, enum conf_msg_level level, const char *file, int line,
		   const char *fmt, ...)
{
	struct conf_msg *m;
	va_list ap;
	char buf[1024];

	if (c->n_msgs >= CONF_MAX_MSGS) {
		c->n_msgs_dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	c->msgs = xrealloc(c->msgs, (c->n_msgs + 1) * sizeof *c->msgs);
	m = &c->msgs[c->n_msgs++];
	m->level = level;
	m->at.file = file;
	m->at.line = line;
	m->text = xstrdup(buf);
}

#define MSG(p, level, ...) conf_msg_add((p)->c, (level), (p)->file, (p)->line, __VA_ARGS__)

/* A value from a file, made printable (it may hold any byte). */
static char *shown(const char *s)
{
	char *e = mq_escape_dup(s, strlen(s));
	if (!e)
		abort();
	return e;
}

static void listener_init(struct conf_listener *l)
{
	memset(l, 0, sizeof *l);
	l->require_certificate.v = -1;
	l->use_identity_as_username.v = -1;
	l->use_subject_as_username.v = -1;
	l->sec.allow_anonymous.v = -1;
}

static void str_free(struct conf_str *s)
{
	free(s->v);
	s->v = NULL;
}

static void security_free(struct conf_security *s)
{
	str_free(&s->password_file);
	str_free(&s->acl_file);
	str_free(&s->psk_file);
	for (size_t i = 0; i < s->n_plugins; i++)
		str_free(&s->plugins[i]);
	free(s->plugins);
	s->plugins = NULL;
	s->n_plugins = 0;
}

static void listener_free(struct conf_listener *l)
{
	struct conf_str *strs[] = { &l->protocol, &l->cafile, &l->capath, &l->certfile, &l->keyfile,
				    &l->tls_version, &l->ciphers, &l->ciphers_tls13, &l->crlfile,
				    &l->dhparamfile, &l->psk_hint, &l->bind_interface };

	for (size_t i = 0; i < MQ_ARRAY_LEN(strs); i++)
		str_free(strs[i]);
	free(l->bind);
	l->bind = NULL;
	security_free(&l->sec);
}

void conf_init(struct conf *c)
{
	memset(c, 0, sizeof *c);
	c->per_listener_settings.v = -1;
	c->sec.allow_anonymous.v = -1;
	c->cur = -1;
	listener_init(&c->deflt);
}

void conf_free(struct conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i].path);
	free(c->files);
	str_free(&c->user);
	security_free(&c->sec);
	for (size_t i = 0; i < c->n_listeners; i++)
		listener_free(&c->listeners[i]);
	free(c->listeners);
	listener_free(&c->deflt);
	for (size_t i = 0; i < c->n_log_files; i++)
		str_free(&c->log_files[i]);
	free(c->log_files);
	for (size_t i = 0; i < c->n_msgs; i++)
		free(c->msgs[i].text);
	free(c->msgs);
	memset(c, 0, sizeof *c);
}

static const char *add_file(struct conf *c, const char *path, bool included)
{
	c->files = xrealloc(c->files, (c->n_files + 1) * sizeof *c->files);
	c->files[c->n_files].path = xstrdup(path);
	c->files[c->n_files].lines = 0;
	c->files[c->n_files].included = included;
	return c->files[c->n_files++].path;
}

static const struct opt *find_opt(const char *name)
{
	for (size_t i = 0; i < MQ_ARRAY_LEN(opts); i++)
		if (!strcmp(opts[i].name, name))
			return &opts[i];
	if (!strncmp(name, "auth_opt_", 9) || !strncmp(name, "plugin_opt_", 11)) {
		static const struct opt plugin_opt = { "plugin option", K_SOPT, 0, false, NULL };
		return &plugin_opt;
	}
	return NULL;
}

/*
 * mosquitto_validate_utf8's rule for configuration strings: well-formed UTF-8 without control
 * characters, surrogates or non-characters.
 */
static bool valid_utf8(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		uint32_t cp;
		int n;

		if (*u < 0x80) {
			cp = *u;
			n = 0;
		} else if ((*u & 0xE0) == 0xC0) {
			cp = *u & 0x1F;
			n = 1;
		} else if ((*u & 0xF0) == 0xE0) {
			cp = *u & 0x0F;
			n = 2;
		} else if ((*u & 0xF8) == 0xF0) {
			cp = *u & 0x07;
			n = 3;
		} else {
			return false;
		}
		u++;
		for (int i = 0; i < n; i++, u++) {
			if ((*u & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (*u & 0x3F);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000))
			return false;
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		if (cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F))
			return false;
		if ((cp & 0xFFFF) >= 0xFFFE || (cp >= 0xFDD0 && cp <= 0xFDEF))
			return false;
	}
	return true;
}

/* atoi() as mosquitto uses it: leading blanks, a sign, digits; the rest is ignored. */
static long mq_atoi(const char *s)
{
	long v = 0;
	int sign = 1;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '-' || *s == '+')
		sign = *s++ == '-' ? -1 : 1;
	while (isdigit((unsigned char)*s) && v < 100000000)
		v = v * 10 + (*s++ - '0');
	return sign * v;
}

/* The rest of the line as a string value, trimmed as misc__trimblanks does; NULL when empty. */
static char *rest_value(char **save)
{
	char *v = *save, *end;

	if (!v || !*v)
		return NULL;
	*save = v + strlen(v);
	while (isspace((unsigned char)*v))
		v++;
	if (!*v)
		return NULL;
	end = v + strlen(v) - 1;
	while (end > v && isspace((unsigned char)*end))
		*end-- = '\0';
	return v;
}

/* Parse a string value; 0 with *out set, -1 after a message. */
static int parse_string(struct parser *p, const char *name, char **save, char **out)
{
	char *v = rest_value(save);

	if (!v) {
		MSG(p, CONF_MSG_FATAL, "%s has no value (mosquitto: \"Empty %s value in configuration.\")", name, name);
		return -1;
	}
	if (!valid_utf8(v)) {
		char *e = shown(v);
		MSG(p, CONF_MSG_FATAL, "the value of %s is not valid UTF-8 or holds a control character: \"%s\" "
		    "(mosquitto: \"Malformed UTF-8 in configuration.\")", name, e);
		free(e);
		return -1;
	}
	if (strchr(v, '#')) {
		char *e = shown(v);
		MSG(p, CONF_MSG_WARNING, "the value of %s is \"%s\": mosquitto has no comments after a value, "
		    "so the '#' and what follows are part of it", name, e);
		free(e);
	}
	*out = v;
	return 0;
}

static int parse_bool(struct parser *p, const char *name, char **save, int *out)
{
	char *t = strtok_r(NULL, " ", save);

	if (!t) {
		MSG(p, CONF_MSG_FATAL, "%s has no value (mosquitto: \"Empty %s value in configuration.\")", name, name);
		return -1;
	}
	if (!strcmp(t, "true") || !strcmp(t, "1")) {
		*out = 1;
	} else if (!strcmp(t, "false") || !strcmp(t, "0")) {
		*out = 0;
	} else {
		char *e = shown(t);
		MSG(p, CONF_MSG_FATAL, "%s must be true or false, not \"%s\"%s (mosquitto: \"Invalid %s value\")",
		    name, e, strpbrk(t, "\t\v\f") ? " (a tab is not a separator for mosquitto)" : "", name);
		free(e);
		return -1;
	}
	return 0;
}

static struct conf_listener *cur_listener(struct parser *p)
{
	return p->c->cur < 0 ? &p->c->deflt : &p->c->listeners[p->c->cur];
}

static bool pls(const struct parser *p)
{
	return p->c->per_listener_settings.v == 1;
}

static struct conf_security *cur_security(struct parser *p)
{
	return pls(p) ? &cur_listener(p)->sec : &p->c->sec;
}

/* always: port and bind_address name the default listener even inside another listener's block. */
static void made_default(struct parser *p, const char *name, bool always)
{
	if ((p->c->cur >= 0 && !always) || p->c->deflt_used)
		return;
	p->c->deflt_used = true;
	p->c->deflt.made_by = name;
	p->c->deflt.at.file = p->file;
	p->c->deflt.at.line = p->line;
}

static void set_str(struct parser *p, const char *name, struct conf_str *dst, const char *v)
{
	if (dst->v) {
		MSG(p, CONF_MSG_FATAL, "%s is set twice for the same %s (first at %s:%d; mosquitto: "
		    "\"Duplicate %s value in configuration.\")", name,
		    p->c->cur < 0 && !pls(p) ? "scope" : "listener", dst->at.file, dst->at.line, name);
		return;
	}
	dst->v = xstrdup(v);
	dst->at.file = p->file;
	dst->at.line = p->line;
}

static void note_scoped(struct parser *p, const char *name)
{
	if (pls(p) || p->c->cur < 0 || p->n_scoped >= MQ_ARRAY_LEN(p->scoped))
		return;
	p->scoped[p->n_scoped].name = name;
	p->scoped[p->n_scoped].at.file = p->file;
	p->scoped[p->n_scoped].at.line = p->line;
	p->scoped[p->n_scoped].port = p->c->listeners[p->c->cur].port;
	p->n_scoped++;
}

static int read_file(struct parser *p, const char *path, int level);

static void do_listener(struct parser *p, char **save)
{
	struct conf *c = p->c;
	struct conf_listener *l;
	char *t = strtok_r(NULL, " ", save), *host;
	long port;

	if (!t) {
		MSG(p, CONF_MSG_FATAL, "listener has no port (mosquitto: \"Empty listener value in configuration.\")");
		return;
	}
	port = mq_atoi(t);
	if (port < 0 || port > 65535) {
		MSG(p, CONF_MSG_FATAL, "listener port %ld is out of range (mosquitto: \"Invalid port value\")", port);
		return;
	}
	host = strtok_r(NULL, " ", save);
	if (host && host[0] == '#')
		host = NULL;
	if (port == 0 && !host) {
		char *e = shown(t);
		MSG(p, CONF_MSG_FATAL, "listener \"%s\" is port 0, which needs a unix socket path after it "
		    "(mosquitto: \"A listener with port 0 must provide a Unix socket path.\")", e);
		free(e);
		return;
	}
	if (c->n_listeners >= CONF_MAX_LISTENERS) {
		MSG(p, CONF_MSG_ERROR, "more than %d listeners: mqttls stops modelling them here", CONF_MAX_LISTENERS);
		return;
	}
	c->listeners = xrealloc(c->listeners, (c->n_listeners + 1) * sizeof *c->listeners);
	l = &c->listeners[c->n_listeners];
	listener_init(l);
	l->origin = CONF_LISTENER_EXPLICIT;
	l->port = (int)port;
	l->bind = host ? xstrdup(host) : NULL;
	l->at.file = p->file;
	l->at.line = p->line;
	c->cur = (int)c->n_listeners++;
	c->saw_listener = true;
}

static void do_port(struct parser *p, char **save)
{
	char *t = strtok_r(NULL, " ", save);
	long port;

	if (!t) {
		MSG(p, CONF_MSG_FATAL, "port has no value (mosquitto: \"Empty port value in configuration.\")");
		return;
	}
	port = mq_atoi(t);
	if (port < 1 || port > 65535) {
		MSG(p, CONF_MSG_FATAL, "port %ld is out of range 1-65535 (mosquitto: \"Invalid port value\")", port);
		return;
	}
	p->c->deflt.port = (int)port;
	p->c->saw_listener = true;
	made_default(p, "port", true);
}

static void do_bind_address(struct parser *p, char **save)
{
	char *v;

	if (parse_string(p, "bind_address", save, &v) < 0)
		return;
	if (p->c->deflt.bind) {
		MSG(p, CONF_MSG_FATAL, "bind_address is set twice (mosquitto: \"Duplicate bind_address value in configuration.\")");
		return;
	}
	p->c->deflt.bind = xstrdup(v);
	p->c->saw_listener = true;
	made_default(p, "bind_address", true);
}

static void do_log_dest(struct parser *p, char **save)
{
	static const char *const dests[] = { "stdout", "stderr", "syslog", "topic", "file", "dlt", "none" };
	struct conf *c = p->c;
	char *t = strtok_r(NULL, " ", save), *v;
	bool ok = false;

	if (!t) {
		MSG(p, CONF_MSG_FATAL, "log_dest has no value (mosquitto: \"Empty log_dest value in configuration.\")");
		return;
	}
	for (size_t i = 0; i < MQ_ARRAY_LEN(dests); i++)
		ok |= !strcmp(t, dests[i]);
	if (!ok) {
		char *e = shown(t);
		MSG(p, CONF_MSG_FATAL, "log_dest \"%s\" is not one of stdout, stderr, syslog, topic, file, dlt, none "
		    "(mosquitto: \"Invalid log_dest value\")", e);
		free(e);
		return;
	}
	if (strcmp(t, "file"))
		return;
	v = rest_value(save);
	if (!v) {
		MSG(p, CONF_MSG_FATAL, "log_dest file has no path (mosquitto: \"Empty \\\"log_dest file\\\" value in configuration.\")");
		return;
	}
	c->log_files = xrealloc(c->log_files, (c->n_log_files + 1) * sizeof *c->log_files);
	c->log_files[c->n_log_files].v = xstrdup(v);
	c->log_files[c->n_log_files].at.file = p->file;
	c->log_files[c->n_log_files].at.line = p->line;
	c->n_log_files++;
}

/*
 * mosquitto's include_dir order: letters compared case-insensitively first, and where they are
 * the same letter the upper case one first ("A.conf", "a.conf", "B.conf").
 */
static int include_cmp(const void *a, const void *b)
{
	const unsigned char *s1 = *(const unsigned char *const *)a;
	const unsigned char *s2 = *(const unsigned char *const *)b;

	while (*s1 && *s2) {
		int r = toupper(*s1) - toupper(*s2);
		if (r)
			return r;
		r = (int)*s1 - (int)*s2;
		if (r)
			return r;
		s1++;
		s2++;
	}
	return (int)*s1 - (int)*s2;
}

static void do_include_dir(struct parser *p, char **save)
{
	char *dir, **names = NULL, *dir_copy;
	size_t n = 0, cap = 0;
	DIR *d;
	struct dirent *de;
	const char *file = p->file;
	int line = p->line;
	int saved_cur;
	bool saved_plugin;
	size_t listeners_before;

	if (parse_string(p, "include_dir", save, &dir) < 0)
		return;
	if (p->level > 0) {
		MSG(p, CONF_MSG_WARNING, "include_dir in an included file: mosquitto ignores it (it is only read "
		    "from the main file)");
		return;
	}
	if (!p->follow_include) {
		MSG(p, CONF_MSG_INFO, "include_dir %s not followed (configuration read from memory)", dir);
		return;
	}
	dir_copy = xstrdup(dir);
	d = opendir(dir_copy);
	if (!d) {
		MSG(p, CONF_MSG_FATAL, "include_dir %s cannot be opened: %s (mosquitto: \"Unable to open include_dir\")",
		    dir_copy, strerror(errno));
		free(dir_copy);
		return;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".conf"))
			continue;
		if (n >= CONF_MAX_FILES) {
			MSG(p, CONF_MSG_ERROR, "include_dir %s holds more than %d .conf files: mqttls reads the first %d",
			    dir_copy, CONF_MAX_FILES, CONF_MAX_FILES);
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, include_cmp);
	saved_cur = p->c->cur;
	saved_plugin = p->plugin_in_file;
	listeners_before = p->c->n_listeners;
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		if (!mq_path_join(path, sizeof path, dir_copy, names[i])) {
			conf_msg_add(p->c, CONF_MSG_ERROR, file, line, "path too long in include_dir %s", dir_copy);
			continue;
		}
		if (p->have_main_id && stat(path, &st) == 0 && st.st_dev == p->main_dev && st.st_ino == p->main_ino)
			conf_msg_add(p->c, CONF_MSG_WARNING, file, line, "include_dir %s holds the main configuration file "
			       "itself (%s): mosquitto reads it a second time", dir_copy, names[i]);
		read_file(p, path, p->level + 1);
		p->file = file;
		p->line = line;
	}
	/* The main file goes on in the listener it was in: mosquitto's reader keeps it per file. */
	p->c->cur = saved_cur;
	p->plugin_in_file = saved_plugin;
	if (saved_cur >= 0 && p->c->n_listeners != listeners_before)
		p->stale_listener = true;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir_copy);
}

static void unknown_option(struct parser *p, const char *tok)
{
	char *e = shown(tok);
	const char *tab = strpbrk(tok, "\t\v\f");

	if (tok[0] == '#') {
		MSG(p, CONF_MSG_FATAL, "unknown option \"%s\": a comment must start at the very beginning of the "
		    "line for mosquitto (mosquitto: \"Unknown configuration variable\")", e);
	} else if (tab) {
		MSG(p, CONF_MSG_FATAL, "unknown option \"%s\": mosquitto separates an option from its value with "
		    "spaces only, a tab is read as part of the name", e);
	} else {
		for (size_t i = 0; i < MQ_ARRAY_LEN(opt_hints); i++) {
			if (strcmp(tok, opt_hints[i].wrong))
				continue;
			if (opt_hints[i].right)
				MSG(p, CONF_MSG_FATAL, "unknown option \"%s\": mosquitto 2.0 calls it %s "
				    "(mosquitto: \"Unknown configuration variable\")", e, opt_hints[i].right);
			else
				MSG(p, CONF_MSG_FATAL, "unknown option \"%s\": not in mosquitto 2.0 (other versions "
				    "have it; mosquitto: \"Unknown configuration variable\")", e);
			free(e);
			return;
		}
		MSG(p, CONF_MSG_FATAL, "unknown option \"%s\" (mosquitto 2.0: \"Unknown configuration variable\", "
		    "it does not start)", e);
	}
	free(e);
}

static void parse_line(struct parser *p, char *line)
{
	struct conf *c = p->c;
	char *save = NULL, *tok, *v;
	const struct opt *o;
	int b;

	tok = strtok_r(line, " ", &save);
	if (!tok)
		return;
	o = find_opt(tok);
	if (!o) {
		unknown_option(p, tok);
		return;
	}
	if (o->kind == K_LISTENER) {
		p->stale_listener = false;
	} else if (p->stale_listener && (o->kind == K_LSTR || o->kind == K_LBOOL || o->kind == K_LOTHER ||
					 (pls(p) && (o->kind == K_SSTR || o->kind == K_SBOOL || o->kind == K_SPLUGIN)))) {
		MSG(p, CONF_MSG_ERROR, "%s follows an include_dir whose files open listeners: mosquitto 2.0.11 "
		    "applies it to no listener; put include_dir at the end of the file or repeat the listener "
		    "line before %s", o->name, o->name);
		return;
	}
	switch (o->kind) {
	case K_LISTENER:
		do_listener(p, &save);
		break;
	case K_PORT:
		do_port(p, &save);
		break;
	case K_BIND_ADDRESS:
		do_bind_address(p, &save);
		break;
	case K_INCLUDE_DIR:
		do_include_dir(p, &save);
		break;
	case K_LOG_DEST:
		do_log_dest(p, &save);
		break;
	case K_PLS:
		if (parse_bool(p, o->name, &save, &b) < 0)
			return;
		if (b && c->sec_seen) {
			MSG(p, CONF_MSG_FATAL, "per_listener_settings true comes after a security setting (mosquitto: "
			    "\"per_listener_settings must be set before any other security settings.\")");
			return;
		}
		c->per_listener_settings.v = b;
		c->per_listener_settings.at.file = p->file;
		c->per_listener_settings.at.line = p->line;
		break;
	case K_USER:
		if (parse_string(p, o->name, &save, &v) == 0)
			set_str(p, o->name, &c->user, v);
		break;
	case K_LSTR:
		if (parse_string(p, o->name, &save, &v) < 0)
			return;
		set_str(p, o->name, (struct conf_str *)((char *)cur_listener(p) + o->off), v);
		if (o->makes_default && (strcmp(o->name, "protocol") || strcmp(v, "mqtt")))
			made_default(p, o->name, false);
		break;
	case K_LBOOL: {
		struct conf_bool *dst = (struct conf_bool *)((char *)cur_listener(p) + o->off);
		if (parse_bool(p, o->name, &save, &b) < 0)
			return;
		dst->v = b;
		dst->at.file = p->file;
		dst->at.line = p->line;
		if (b && o->makes_default)
			made_default(p, o->name, false);
		break;
	}
	case K_LOTHER:
		tok = strtok_r(NULL, " ", &save);
		if (!tok) {
			MSG(p, CONF_MSG_WARNING, "%s has no value", o->name);
			return;
		}
		if (o->makes_default && (!o->dflt || strcmp(tok, o->dflt)))
			made_default(p, o->name, false);
		break;
	case K_LNEEDS:
		if (c->cur < 0)
			MSG(p, CONF_MSG_FATAL, "%s comes before any listener (mosquitto: \"You must use create a "
			    "listener before using the %s option\")", o->name, o->name);
		break;
	case K_SSTR: {
		struct conf_security *sec;
		c->sec_seen = true;
		if (parse_string(p, o->name, &save, &v) < 0)
			return;
		sec = cur_security(p);
		set_str(p, o->name, (struct conf_str *)((char *)sec + o->off), v);
		note_scoped(p, o->name);
		if (pls(p) && o->makes_default)
			made_default(p, o->name, false);
		break;
	}
	case K_SBOOL: {
		struct conf_bool *dst;
		c->sec_seen = true;
		if (parse_bool(p, o->name, &save, &b) < 0)
			return;
		dst = (struct conf_bool *)((char *)cur_security(p) + o->off);
		dst->v = b;
		dst->at.file = p->file;
		dst->at.line = p->line;
		note_scoped(p, o->name);
		break;
	}
	case K_SPLUGIN: {
		struct conf_security *sec;
		c->sec_seen = true;
		if (parse_string(p, o->name, &save, &v) < 0)
			return;
		sec = cur_security(p);
		sec->plugins = xrealloc(sec->plugins, (sec->n_plugins + 1) * sizeof *sec->plugins);
		sec->plugins[sec->n_plugins].v = xstrdup(v);
		sec->plugins[sec->n_plugins].at.file = p->file;
		sec->plugins[sec->n_plugins].at.line = p->line;
		sec->n_plugins++;
		p->plugin_in_file = true;
		if (pls(p))
			made_default(p, o->name, false);
		break;
	}
	case K_SOTHER:
		c->sec_seen = true;
		tok = strtok_r(NULL, " ", &save);
		if (!tok) {
			MSG(p, CONF_MSG_FATAL, "%s has no value (mosquitto: \"Empty %s value in configuration.\")",
			    o->name, o->name);
			return;
		}
		if (pls(p) && o->makes_default && (!o->dflt || strcmp(tok, o->dflt)))
			made_default(p, o->name, false);
		break;
	case K_SOPT:
		c->sec_seen = true;
		if (!p->plugin_in_file) {
			char *e = shown(line);
			MSG(p, CONF_MSG_FATAL, "%s comes before any plugin line in this file (mosquitto: \"An auth_opt_ "
			    "option exists in the config file without an auth_plugin.\")", e);
			free(e);
		}
		break;
	case K_OTHER:
		if (!strtok_r(NULL, " ", &save))
			MSG(p, CONF_MSG_WARNING, "%s has no value", o->name);
		break;
	}
}

/* Read a configuration file; a FIFO or a device is named, never read. 0, or -1 after a message. */
static int load(struct parser *p, const char *path, char **buf, size_t *len)
{
	struct mq_err err = { 0 };
	mode_t type;
	size_t cap = CONF_MAX_TOTAL_BYTES - p->total_bytes;

	if (cap > CONF_MAX_FILE_BYTES)
		cap = CONF_MAX_FILE_BYTES;
	if (mq_read_regular_file(path, cap, buf, len, &type, &err) < 0) {
		if (type == S_IFREG)
			MSG(p, CONF_MSG_ERROR, "mqttls cannot check it: %s", err.msg);
		else if (type == S_IFDIR)
			MSG(p, CONF_MSG_FATAL, "%s is a directory (mosquitto: \"is a directory\")", path);
		else if (type == S_IFIFO)
			MSG(p, CONF_MSG_FATAL, "%s is a FIFO: mosquitto would wait forever for someone to write to it", path);
		else if (type == S_IFCHR || type == S_IFBLK)
			MSG(p, CONF_MSG_FATAL, "%s is a device, not a file", path);
		else if (type)
			MSG(p, CONF_MSG_FATAL, "%s is not a regular file", path);
		else
			MSG(p, CONF_MSG_FATAL, "%s (mosquitto: \"Unable to open config file\")", err.msg);
		return -1;
	}
	p->total_bytes += *len;
	return 0;
}

static void parse_text(struct parser *p, char *buf, size_t len, size_t file_index)
{
	struct conf *c = p->c;
	size_t pos = 0;

	/* Each file starts outside any listener and with no plugin, as in mosquitto's reader. */
	c->cur = -1;
	p->plugin_in_file = false;
	p->line = 0;
	while (pos < len) {
		char *line = buf + pos;
		char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		char *nul;

		pos += n + (nl ? 1 : 0);
		p->line++;
		c->files[file_index].lines = p->line;
		c->total_lines++;
		line[n] = '\0';
		nul = memchr(line, '\0', n);
		if (nul) {
			MSG(p, CONF_MSG_ERROR, "line holds a NUL byte: mosquitto reads the line only up to it and "
			    "joins what follows the next line break to it");
			n = (size_t)(nul - line);
		}
		if (n == 0 || line[0] == '#' || line[0] == '\r')
			continue;
		while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
			line[--n] = '\0';
		parse_line(p, line);
	}
}

static int read_file(struct parser *p, const char *path, int level)
{
	struct conf *c = p->c;
	size_t idx;
	char *buf;
	size_t len;

	if (c->n_files >= CONF_MAX_FILES) {
		MSG(p, CONF_MSG_ERROR, "more than %d files: mqttls stops reading here", CONF_MAX_FILES);
		return -1;
	}
	idx = c->n_files;
	/* A file that cannot be read is reported against itself, line 0. */
	p->file = add_file(c, path, level > 0);
	p->line = 0;
	if (load(p, path, &buf, &len) < 0)
		return -1;
	p->level = level;
	parse_text(p, buf, len, idx);
	p->level = 0;
	free(buf);
	return 0;
}

static void finish(struct parser *p)
{
	struct conf *c = p->c;

	if (c->deflt_used && c->n_listeners < CONF_MAX_LISTENERS) {
		struct conf_listener *l;
		c->listeners = xrealloc(c->listeners, (c->n_listeners + 1) * sizeof *c->listeners);
		l = &c->listeners[c->n_listeners++];
		*l = c->deflt;
		l->origin = CONF_LISTENER_DEFAULT;
		if (!l->port)
			l->port = 1883;
		listener_init(&c->deflt);
	} else if (c->per_listener_settings.v == 1) {
		/* With per_listener_settings, settings before any listener belong to the default listener. */
		struct conf_security *s = &c->deflt.sec;
		const struct conf_loc *lost[] = { &s->allow_anonymous.at, &s->acl_file.at };
		const char *names[] = { "allow_anonymous", "acl_file" };
		for (size_t i = 0; i < MQ_ARRAY_LEN(lost); i++)
			if (lost[i]->file)
				conf_msg_add(c, CONF_MSG_ERROR, lost[i]->file, lost[i]->line,
				       "%s comes before any listener: with per_listener_settings true it belongs to "
				       "the default listener, which is not opened, so it applies to no listener",
				       names[i]);
	}
	c->local_only = !c->saw_listener;
	if (c->n_listeners == 0) {
		struct conf_listener *l;
		c->listeners = xrealloc(c->listeners, sizeof *c->listeners);
		l = &c->listeners[c->n_listeners++];
		listener_init(l);
		l->origin = CONF_LISTENER_LOCAL_ONLY;
		l->port = 1883;
		l->bind = xstrdup("127.0.0.1");
	}
	if (c->per_listener_settings.v != 1 && c->n_listeners > 1) {
		for (size_t i = 0; i < p->n_scoped; i++)
			conf_msg_add(c, CONF_MSG_WARNING, p->scoped[i].at.file, p->scoped[i].at.line,
			       "%s is written under listener %d but applies to every listener "
			       "(per_listener_settings is false)", p->scoped[i].name, p->scoped[i].port);
	}
}

int conf_read_file(struct conf *c, const char *path, struct mq_err *err)
{
	struct parser p = { .c = c, .follow_include = true };
	struct stat st;
	size_t before;

	if (stat(path, &st) == 0) {
		p.have_main_id = true;
		p.main_dev = st.st_dev;
		p.main_ino = st.st_ino;
	}
	before = c->n_msgs;
	if (read_file(&p, path, 0) < 0) {
		mq_errf(err, "%s", c->n_msgs > before ? c->msgs[before].text : "cannot read the file");
		finish(&p);
		return -1;
	}
	finish(&p);
	return 0;
}

void conf_parse_buffer(struct conf *c, const char *name, const char *buf, size_t len)
{
	struct parser p = { .c = c, .follow_include = false };
	char *copy = xrealloc(NULL, len + 1);
	size_t idx = c->n_files;

	memcpy(copy, buf, len);
	copy[len] = '\0';
	p.file = add_file(c, name, false);
	parse_text(&p, copy, len, idx);
	finish(&p);
	free(copy);
}

const struct conf_security *conf_listener_security(const struct conf *c, const struct conf_listener *l)
{
	return c->per_listener_settings.v == 1 ? &l->sec : &c->sec;
}

bool conf_listener_is_tls(const struct conf_listener *l)
{
	return (l->certfile.v && l->keyfile.v) || l->psk_hint.v;
}

bool conf_listener_allows_anonymous(const struct conf *c, const struct conf_listener *l)
{
	const struct conf_security *s = conf_listener_security(c, l);

	if (l->origin == CONF_LISTENER_LOCAL_ONLY)
		return true;
	/*
	 * mosquitto 2.0.11 decides "local only" before it opens the default listener, so a file with
	 * TLS options but no listener/port/bind_address line gets anonymous access on every interface.
	 */
	if (c->local_only)
		return c->per_listener_settings.v == 1 ? s->allow_anonymous.v != 0 : true;
	return s->allow_anonymous.v == 1;
}

const struct conf_listener *conf_find_listener(const struct conf *c, int port)
{
	for (size_t i = 0; i < c->n_listeners; i++)
		if (c->listeners[i].port == port)
			return &c->listeners[i];
	return NULL;
}

const char *conf_listener_label(const struct conf_listener *l, char *buf, size_t size)
{
	char *b = l->bind ? mq_escape_dup(l->bind, strlen(l->bind)) : NULL;

	switch (l->origin) {
	case CONF_LISTENER_LOCAL_ONLY:
		snprintf(buf, size, "the local-only listener 1883 on loopback");
		break;
	case CONF_LISTENER_DEFAULT:
		snprintf(buf, size, "the default listener %d on %s", l->port, b ? b : "every interface");
		break;
	default:
		if (l->port == 0)
			snprintf(buf, size, "listener on unix socket %s", b ? b : "?");
		else
			snprintf(buf, size, "listener %d on %s", l->port, b ? b : "every interface");
		break;
	}
	free(b);
	return buf;
}

const char *conf_msg_level_name(enum conf_msg_level l)
{
	switch (l) {
	case CONF_MSG_FATAL: return "fatal";
	case CONF_MSG_ERROR: return "error";
	case CONF_MSG_WARNING: return "warning";
	default: return "info";
	}
}
