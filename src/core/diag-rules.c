/*
 * diag-rules — one row per finding: id, phase, check, explanation.
 *
 * Checks read only the observation. Explanations speak in the user's terms (the host they
 * typed, the file they gave, the names in the certificate), give the fix as commands, and
 * say what the same failure looks like on an ESP32, in mosquitto_pub and in `mosquitto -v`
 * (those strings were observed with mosquitto 2.0.11 / OpenSSL 3.0; the device codes come
 * from the explain tables).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "mqttls/diag-rules.h"
#include "mqttls/explain.h"
#include "mqttls/mqttdec.h"
#include "mqttls/tlsctx.h"
#include "mqttls/util.h"

struct rule_out {
	struct mq_str title, detail, fix, seen;
	const char *path;
};

struct rule {
	const char *id;
	enum diag_rule_phase phase;
	bool (*check)(const struct diag_obs *o, const struct findings *so_far);
	void (*explain)(const struct diag_obs *o, struct rule_out *out);
};

#define DAY 86400LL

/* ---------------------------------------------------------------- observation helpers */

static const struct probe_result *tls_probe(const struct diag_obs *o)
{
	return o->tls_target ? o->tls : NULL;
}

static bool tls_failed(const struct diag_obs *o)
{
	const struct probe_result *p = tls_probe(o);
	return p && p->tcp == PROBE_TCP_OK && (!p->handshake_done || p->rejected_after);
}

static int ssl_reason(const struct diag_obs *o)
{
	const struct probe_result *p = tls_probe(o);
	if (!p || !p->ssl_error || ERR_GET_LIB(p->ssl_error) != ERR_LIB_SSL)
		return 0;
	return ERR_GET_REASON(p->ssl_error);
}

static int alert_in(const struct diag_obs *o)
{
	const struct probe_result *p = tls_probe(o);
	return p ? tlsctx_alert_received(&p->rec) : -1;
}

static int verr_depth(const struct diag_obs *o, int err)
{
	const struct probe_result *p = tls_probe(o);
	if (!p)
		return -1;
	for (size_t i = 0; i < p->rec.n_verrs; i++)
		if (p->rec.verrs[i].err == err)
			return p->rec.verrs[i].depth;
	return -1;
}

static bool has_verr(const struct diag_obs *o, int err)
{
	return verr_depth(o, err) >= 0;
}

/* Verification applies: a chain was presented and the user did not turn verification off. */
static bool verify_applies(const struct diag_obs *o)
{
	return tls_probe(o) && o->n_chain > 0 && o->t->verify != TARGET_VERIFY_NONE;
}

static bool has_any(const struct findings *fs, const char *const *ids)
{
	for (size_t i = 0; ids[i]; i++)
		if (findings_has(fs, ids[i]))
			return true;
	return false;
}

static const struct cert_info *leaf(const struct diag_obs *o)
{
	return o->n_chain ? &o->chain[0] : NULL;
}

static const struct cert_info *at_depth(const struct diag_obs *o, int depth)
{
	return depth >= 0 && (size_t)depth < o->n_chain ? &o->chain[depth] : NULL;
}

static char *date(long long t, char *buf, size_t size)
{
	return mq_iso8601(t, buf, size);
}

/* An untrusted string from a certificate, escaped for any face. */
static void put_untrusted(struct mq_str *b, const char *s)
{
	char *e = mq_escape_dup(s ? s : "", s ? strlen(s) : 0);
	mq_str_printf(b, "%s", e ? e : "");
	free(e);
}

static void san_list(const struct cert_info *ci, struct mq_str *b)
{
	bool any = false;

	for (size_t i = 0; i < ci->n_san_dns; i++) {
		mq_str_printf(b, "%sDNS:", any ? ", " : "");
		put_untrusted(b, ci->san_dns[i]);
		any = true;
	}
	for (size_t i = 0; i < ci->n_san_ip; i++) {
		mq_str_printf(b, "%sIP:", any ? ", " : "");
		put_untrusted(b, ci->san_ip[i]);
		any = true;
	}
	if (!any)
		mq_str_printf(b, "%s", ci->has_san ? "an empty subjectAltName" : "no subjectAltName at all");
}

/* The SAN argument list the fix needs: the names already there plus the one connected to. */
static void san_args(const struct diag_obs *o, struct mq_str *openssl_list, struct mq_str *mqttls_args)
{
	const struct cert_info *l = leaf(o);
	const char *host = o->t->host;
	bool ip = tlsctx_is_ip(host);

	mq_str_printf(openssl_list, "%s:%s", ip ? "IP" : "DNS", host);
	mq_str_printf(mqttls_args, "--san %s:%s", ip ? "IP" : "DNS", host);
	for (size_t i = 0; l && i < l->n_san_dns; i++) {
		char *e = mq_escape_dup(l->san_dns[i], strlen(l->san_dns[i]));
		if (e && strcmp(e, host) && !strpbrk(e, " '\"\\")) {
			mq_str_printf(openssl_list, ",DNS:%s", e);
			mq_str_printf(mqttls_args, " --san DNS:%s", e);
		}
		free(e);
	}
	for (size_t i = 0; l && i < l->n_san_ip; i++) {
		if (strcmp(l->san_ip[i], host)) {
			mq_str_printf(openssl_list, ",IP:%s", l->san_ip[i]);
			mq_str_printf(mqttls_args, " --san IP:%s", l->san_ip[i]);
		}
	}
}

/* OpenSSL's own text for a received alert, exactly as mosquitto's log prints it here. */
static void openssl_alert_line(int alert, struct mq_str *b)
{
	unsigned long code = ERR_PACK(ERR_LIB_SSL, 0, 1000 + alert);
	const char *r = ERR_reason_error_string(code);

	mq_str_printf(b, "OpenSSL Error[0]: error:%08lX:SSL routines::%s", code, r ? r : "alert");
}

static void openssl_reason_line(int reason, struct mq_str *b)
{
	unsigned long code = ERR_PACK(ERR_LIB_SSL, 0, reason);
	const char *r = ERR_reason_error_string(code);

	mq_str_printf(b, "OpenSSL Error[0]: error:%08lX:SSL routines::%s", code, r ? r : "");
}

/* The three places a student looks, for a broker certificate the device rejects. */
static void seen_device_rejects(struct mq_str *b, unsigned flags, const char *pub_line)
{
	char m[96], e[128];
	int alert = explain_mbedtls_alert_for_flags(flags);

	explain_mbedtls_format(-0x2700, m, sizeof m);
	explain_esptls_format(EXPLAIN_ESPTLS_HANDSHAKE, e, sizeof e);
	mq_str_printf(b, "ESP32: PubSubClient rc=-2; WiFiClientSecure logs %s, verify flags 0x%X; esp-tls %s.\n", m, flags, e);
	mq_str_printf(b, "mosquitto_pub: %s\n", pub_line);
	mq_str_printf(b, "mosquitto -v (the alert the ESP32 sends): ");
	openssl_alert_line(alert, b);
	mq_str_printf(b, ", then 'Client <unknown> disconnected: Protocol error.'");
}

static void versions_offered(const struct target *t, char *buf, size_t size)
{
	int lo = t->tls_min ? t->tls_min : TLS1_2_VERSION, hi = t->tls_max ? t->tls_max : TLS1_3_VERSION;

	if (lo == hi)
		snprintf(buf, size, "%s only", tlsctx_version_name(lo));
	else
		snprintf(buf, size, "%s to %s", tlsctx_version_name(lo), tlsctx_version_name(hi));
}

/* ---------------------------------------------------------------- the user's own files in fixes */

/* A path as one shell word: bare when plain, in single quotes otherwise (never a quote inside). */
static void put_path(struct mq_str *b, const char *path)
{
	char *e = mq_escape_dup(path, strlen(path));
	const char *v = e ? e : "";

	if (v[strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-+@%:,=~")] == '\0')
		mq_str_printf(b, "%s", v);
	else if (!strchr(v, '\''))
		mq_str_printf(b, "'%s'", v);
	else
		mq_str_printf(b, "FILE");
	free(e);
}

/* path with its extension replaced (server.crt -> server.csr); a -fullchain/-chain tail dropped. */
static void swap_ext(const char *path, const char *ext, char *buf, size_t size)
{
	static const char *const tails[] = { "-fullchain", ".fullchain", "_fullchain", "-chain", "_chain" };
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
	size_t n = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);

	for (size_t i = 0; i < MQ_ARRAY_LEN(tails); i++) {
		size_t t = strlen(tails[i]);
		if (n > t && !strncmp(path + n - t, tails[i], t)) {
			n -= t;
			break;
		}
	}
	snprintf(buf, size, "%.*s%s", (int)n, path, ext);
}

/* "openssl x509 -x509toreq": a request with the key and subject of an existing certificate. */
static void toreq_cmd(struct mq_str *b, const char *in, const char *key, const char *csr)
{
	mq_str_printf(b, "  openssl x509 -x509toreq -in ");
	put_path(b, in);
	mq_str_printf(b, " -signkey ");
	put_path(b, key);
	mq_str_printf(b, " -out ");
	put_path(b, csr);
	mq_str_printf(b, "\n");
}

/* "openssl x509 -req": the request signed by a CA, with ext as the extension lines (printf form). */
static void sign_cmd(struct mq_str *b, const char *csr, const char *ca, const char *cakey, long long days, const char *out, const char *ext)
{
	mq_str_printf(b, "  openssl x509 -req -in ");
	put_path(b, csr);
	mq_str_printf(b, " -CA ");
	put_path(b, ca);
	mq_str_printf(b, " -CAkey ");
	put_path(b, cakey);
	mq_str_printf(b, " -CAcreateserial -days %lld -sha256 -out ", days);
	put_path(b, out);
	mq_str_printf(b, " -extfile <(printf '%s')", ext);
}

/*
 * The openssl commands that re-issue the served certificate with the same key and subject from
 * the CA that issued it, naming the user's own files where mqttls found them (server.crt,
 * server.key, rootCA.crt, rootCA.key — whatever they are called), with ext as the extension
 * lines. Works with OpenSSL 1.1.1 and 3.x and the bash of every tutorial (-extfile <(...)).
 */
static void reissue_cmds_ca(const struct diag_obs *o, struct mq_str *b, const char *ext, const char *ca_override)
{
	const struct diag_user_files *u = &o->files;
	const struct cert_info *l = o->n_chain ? &o->chain[0] : NULL;
	char crt[600], csr[600], cakey[600];
	const char *in = u->leaf_crt[0] ? u->leaf_crt : u->chain_crt[0] ? u->chain_crt : NULL;
	const char *key = u->leaf_key[0] ? u->leaf_key : "server.key";
	const char *ca = ca_override ? ca_override : u->issuer_crt[0] ? u->issuer_crt : "ca.crt";
	long long days = l ? (l->not_after - l->not_before + 43200) / DAY : 365;
	bool guessed;

	if (u->leaf_crt[0])
		snprintf(crt, sizeof crt, "%s", u->leaf_crt);
	else if (u->chain_crt[0])
		swap_ext(u->chain_crt, ".crt", crt, sizeof crt);
	else
		snprintf(crt, sizeof crt, "server.crt");
	swap_ext(crt, ".csr", csr, sizeof csr);
	if (u->issuer_key[0] && !ca_override)
		snprintf(cakey, sizeof cakey, "%s", u->issuer_key);
	else
		swap_ext(ca, ".key", cakey, sizeof cakey);
	if (days < 1 || days > 397)
		days = 397;
	guessed = !in || !u->leaf_key[0] || (!ca_override && (!u->issuer_crt[0] || !u->issuer_key[0]));

	toreq_cmd(b, in ? in : crt, key, csr);
	sign_cmd(b, csr, ca, cakey, days, crt, ext);
	mq_str_printf(b, "\n");
	if (u->chain_crt[0] && u->issuer_crt[0] && !u->issuer_is_root && !ca_override) {
		mq_str_printf(b, "  cat ");
		put_path(b, crt);
		mq_str_printf(b, " ");
		put_path(b, u->issuer_crt);
		mq_str_printf(b, " > ");
		put_path(b, u->chain_crt);
		mq_str_printf(b, "    # the chain file the broker serves\n");
	} else if (o->n_chain > 1 && !o->chain[1].self_signed && !u->chain_crt[0]) {
		mq_str_printf(b, "  cat ");
		put_path(b, crt);
		mq_str_printf(b, " intermediate.crt > server-fullchain.crt    # the broker sends a chain: rebuild its certfile\n");
	}
	mq_str_printf(b, "  sudo systemctl restart mosquitto    # mosquitto reads certfile at start (or: kill -HUP its pid)");
	if (guessed) {
		struct mq_str g = { 0 };
		if (!in)
			mq_str_printf(&g, "%sserver.crt", g.len ? ", " : "");
		if (!u->leaf_key[0])
			mq_str_printf(&g, "%sserver.key", g.len ? ", " : "");
		if (!ca_override && !u->issuer_crt[0])
			mq_str_printf(&g, "%sca.crt", g.len ? ", " : "");
		if (!ca_override && !u->issuer_key[0]) {
			mq_str_printf(&g, "%s", g.len ? ", " : "");
			put_path(&g, cakey);
		}
		mq_str_printf(b, "\n  (%s: not found beside --cafile — put the broker's certfile and keyfile and the CA that signed them in their place)", g.s);
		mq_str_free(&g);
	}
}

static void reissue_cmds(const struct diag_obs *o, struct mq_str *b, const char *ext)
{
	reissue_cmds_ca(o, b, ext, NULL);
}

/* A device certificate re-issued with its own key from the CA that issued it (files found), or a
 * new one from the CA of --cafile: openssl commands with the user's files. */
static void device_cmds_ca(const struct diag_obs *o, struct mq_str *b, bool renew, bool own_ca)
{
	const char *ca = own_ca ? (o->client_issuer[0] ? o->client_issuer : "device-ca.crt") : (o->t->cafile ? o->t->cafile : "ca.crt");
	const char *cakey = own_ca ? o->client_issuer_key : o->cafile_key;
	bool key_known = cakey && *cakey;
	char kbuf[600], crt[600], key[600], csr[600];

	if (!cakey || !*cakey) {
		swap_ext(ca, ".key", kbuf, sizeof kbuf);
		cakey = kbuf;
	}
	snprintf(crt, sizeof crt, "%s", renew && o->t->cert ? o->t->cert : "device-1.crt");
	snprintf(key, sizeof key, "%s", renew && o->t->key ? o->t->key : "device-1.key");
	swap_ext(crt, ".csr", csr, sizeof csr);
	if (renew)
		toreq_cmd(b, crt, key, csr);
	else
		mq_str_printf(b, "  openssl ecparam -genkey -name prime256v1 -out device-1.key\n  openssl req -new -key device-1.key -subj \"/CN=device-1\" -out device-1.csr\n");
	sign_cmd(b, csr, ca, cakey, 365, crt, "extendedKeyUsage=clientAuth\\n");
	if (!key_known) {
		mq_str_printf(b, "\n  (");
		put_path(b, cakey);
		mq_str_printf(b, ": not found beside the CA certificate — the key of the CA the broker's cafile trusts)");
	}
}

static void device_cmds(const struct diag_obs *o, struct mq_str *b, bool renew)
{
	device_cmds_ca(o, b, renew, renew);
}

/* Extension lines for a re-issued server certificate: its SANs (with extra first) and, when
 * the old one restricted them, a server purpose. purpose_fix: always set serverAuth and a key
 * usage that suits the key. */
static void server_ext(const struct diag_obs *o, const char *san, bool purpose_fix, struct mq_str *b)
{
	const struct cert_info *l = o->n_chain ? &o->chain[0] : NULL;
	bool ec = l && l->key && strncmp(l->key, "RSA", 3);

	if (san && *san)
		mq_str_printf(b, "subjectAltName=%s\\n", san);
	if (purpose_fix || (l && l->has_eku))
		mq_str_printf(b, "extendedKeyUsage=serverAuth\\n");
	if (purpose_fix || (l && l->has_key_usage))
		mq_str_printf(b, "keyUsage=%s\\n", ec ? "digitalSignature" : "digitalSignature,keyEncipherment");
}

/* The SANs the certificate has now, as an openssl list. */
static void san_now(const struct diag_obs *o, struct mq_str *b)
{
	const struct cert_info *l = o->n_chain ? &o->chain[0] : NULL;

	for (size_t i = 0; l && i < l->n_san_dns; i++) {
		char *e = mq_escape_dup(l->san_dns[i], strlen(l->san_dns[i]));
		if (e && !strpbrk(e, " '\"\\%"))
			mq_str_printf(b, "%sDNS:%s", b->len ? "," : "", e);
		free(e);
	}
	for (size_t i = 0; l && i < l->n_san_ip; i++)
		mq_str_printf(b, "%sIP:%s", b->len ? "," : "", l->san_ip[i]);
}

/* ---------------------------------------------------------------- local files */

static const char *file_state_text(enum diag_file_state s)
{
	switch (s) {
	case DIAG_FILE_MISSING: return "does not exist";
	case DIAG_FILE_UNREADABLE: return "cannot be read";
	case DIAG_FILE_EMPTY: return "is empty";
	case DIAG_FILE_DER: return "is DER (binary); OpenSSL and mosquitto read PEM here";
	case DIAG_FILE_NOT_CERT: return "holds no certificate";
	case DIAG_FILE_NOT_KEY: return "holds no private key";
	case DIAG_FILE_ENCRYPTED: return "is an encrypted private key (it needs a password)";
	case DIAG_FILE_NOT_CA: return "holds no CA certificate";
	case DIAG_FILE_NOT_DIR: return "is not a directory";
	default: return "is fine";
	}
}

static bool file_bad(const struct diag_file_obs *f)
{
	return f->state != DIAG_FILE_UNSET && f->state != DIAG_FILE_OK && f->state != DIAG_FILE_NOT_CA;
}

static bool c_cafile_invalid(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return file_bad(&o->cafile) || file_bad(&o->capath);
}

static void e_cafile_invalid(const struct diag_obs *o, struct rule_out *out)
{
	const struct diag_file_obs *f = file_bad(&o->cafile) ? &o->cafile : &o->capath;

	out->path = f->path;
	mq_str_printf(&out->title, "The CA %s %s %s", f == &o->cafile ? "file" : "directory", f->path, file_state_text(f->state));
	mq_str_printf(&out->detail, "You gave %s %s, and it %s", f == &o->cafile ? "--cafile" : "--capath", f->path,
		      file_state_text(f->state));
	if (f->why[0])
		mq_str_printf(&out->detail, ": %s", f->why);
	mq_str_printf(&out->detail, ". Without a usable CA nothing can verify the broker's certificate.");
	switch (f->state) {
	case DIAG_FILE_DER:
		mq_str_printf(&out->fix, "openssl x509 -inform der -in %s -out %s.pem\nthen use --cafile %s.pem (an ESP32 sketch needs the PEM text too: mqttls certs export-esp32 %s.pem)",
			      f->path, f->path, f->path, f->path);
		break;
	case DIAG_FILE_MISSING:
		mq_str_printf(&out->fix, "ls -l %s    # check the path\nGive the certificate of the CA that signed the broker's certificate (with mqttls certs: DIR/ca.crt).", f->path);
		break;
	case DIAG_FILE_UNREADABLE:
		mq_str_printf(&out->fix, "ls -l %s    # see who may read it\nchmod 0644 %s    # a CA certificate is public", f->path, f->path);
		break;
	case DIAG_FILE_NOT_DIR:
		mq_str_printf(&out->fix, "--capath takes a directory of hashed certificates (openssl rehash DIR); for one file use --cafile");
		break;
	default:
		mq_str_printf(&out->fix, "openssl x509 -in %s -noout -subject -issuer    # what is in it?\nGive the CA's certificate (-----BEGIN CERTIFICATE-----), not a key or a request.",
			      f->path);
		break;
	}
	mq_str_printf(&out->seen, "mosquitto_pub: Error: Problem setting TLS options: File not found. (a missing file), or Error: A TLS error occurred.\n"
		      "ESP32: a CA string that is not PEM makes setCACert() fail: mbedTLS -0x2180 (X509 invalid format) or -0x1080 (PEM no header), then rc=-2.");
}

static bool c_cafile_not_ca(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return o->cafile.state == DIAG_FILE_NOT_CA;
}

static void e_cafile_not_ca(const struct diag_obs *o, struct rule_out *out)
{
	out->path = o->cafile.path;
	mq_str_printf(&out->title, "%s is not a CA certificate", o->cafile.path);
	mq_str_printf(&out->detail, "--cafile %s holds ", o->cafile.path);
	if (o->n_ca) {
		mq_str_printf(&out->detail, "\"");
		put_untrusted(&out->detail, o->ca[0].subject);
		mq_str_printf(&out->detail, "\" issued by \"");
		put_untrusted(&out->detail, o->ca[0].issuer);
		mq_str_printf(&out->detail, "\", a certificate with CA:FALSE");
	} else {
		mq_str_printf(&out->detail, "no CA certificate");
	}
	mq_str_printf(&out->detail, ". A client must trust the CA that signed the broker's certificate, not the broker's certificate itself.");
	if (o->n_chain && o->chain[o->n_chain - 1].issuer) {
		mq_str_printf(&out->detail, " The broker's chain ends with a certificate issued by \"");
		put_untrusted(&out->detail, o->chain[o->n_chain - 1].issuer);
		mq_str_printf(&out->detail, "\": that is the CA to give.");
	}
	if (o->cafile_issuer[0]) {
		mq_str_printf(&out->detail, " The CA that issued it is %s.", o->cafile_issuer);
		mq_str_printf(&out->fix, "Use the CA's certificate instead: --cafile ");
		put_path(&out->fix, o->cafile_issuer);
		mq_str_printf(&out->fix, "    # the same file goes into the ESP32 sketch (setCACert)");
	} else {
		mq_str_printf(&out->fix, "openssl x509 -in %s -noout -subject -issuer -ext basicConstraints\nUse the CA's certificate instead: --cafile ca.crt (with mqttls certs: DIR/ca.crt)", o->cafile.path);
	}
	mq_str_printf(&out->seen, "mosquitto_pub: Error: A TLS error occurred.\nESP32 with this file in setCACert(): -0x2700 (-9984) verify flags 0x08 NOT_TRUSTED, rc=-2.");
}

static bool c_client_invalid(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return file_bad(&o->cert) || file_bad(&o->key);
}

static void e_client_invalid(const struct diag_obs *o, struct rule_out *out)
{
	const struct diag_file_obs *f = file_bad(&o->cert) ? &o->cert : &o->key;
	bool is_key = f == &o->key;

	out->path = f->path;
	mq_str_printf(&out->title, "The client %s %s %s", is_key ? "key" : "certificate", f->path, file_state_text(f->state));
	mq_str_printf(&out->detail, "You gave %s %s, and it %s", is_key ? "--key" : "--cert", f->path, file_state_text(f->state));
	if (f->why[0])
		mq_str_printf(&out->detail, ": %s", f->why);
	mq_str_printf(&out->detail, ". The diagnosis continues without a client certificate.");
	if (f->state == DIAG_FILE_ENCRYPTED)
		mq_str_printf(&out->fix, "openssl pkey -in %s -out %s.plain    # asks the password once; keep the result 0600\nchmod 0600 %s.plain", f->path, f->path, f->path);
	else if (f->state == DIAG_FILE_DER)
		mq_str_printf(&out->fix, "openssl %s -inform der -in %s -out %s.pem", is_key ? "pkey" : "x509", f->path, f->path);
	else if (f->state == DIAG_FILE_UNREADABLE)
		mq_str_printf(&out->fix, "ls -l %s    # the key should be readable by you only: chmod 0600 %s; chown $USER %s", f->path, f->path, f->path);
	else
		mq_str_printf(&out->fix, "ls -l %s\nA device certificate and its key come in pairs: mqttls certs device NAME --dir DIR makes NAME.crt and NAME.key.", f->path);
	mq_str_printf(&out->seen, "mosquitto_pub: Error: Problem setting TLS options: File not found. (or 'Unable to load client certificate/key')\n"
		      "ESP32: setCertificate()/setPrivateKey() with a bad string: mbedTLS -0x2180 / -0x3D00 (PK key invalid format), esp-tls %s.",
		      is_key ? "ESP_ERR_MBEDTLS_PK_PARSE_KEY_FAILED (0x8019 on ESP-IDF 5.x, 0x800F on 4.x)" : "ESP_ERR_MBEDTLS_X509_CRT_PARSE_FAILED (0x8015 on ESP-IDF 5.x, 0x800B on 4.x)");
}

static bool c_key_mismatch(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return o->key_mismatch;
}

static void e_key_mismatch(const struct diag_obs *o, struct rule_out *out)
{
	out->path = o->key.path;
	mq_str_printf(&out->title, "The key %s does not belong to the certificate %s", o->key.path, o->cert.path);
	mq_str_printf(&out->detail, "The public key in %s is not the public half of %s: the two files come from different pairs "
		      "(a key regenerated after the certificate was signed, or the wrong device's files). The diagnosis continues without a client certificate.",
		      o->cert.path, o->key.path);
	mq_str_printf(&out->fix, "openssl x509 -in %s -noout -pubkey | openssl sha256\nopenssl pkey -in %s -pubout | openssl sha256    # the two must be equal\n"
		      "Use the key made with this certificate, or issue a new pair: mqttls certs device NAME --dir DIR",
		      o->cert.path, o->key.path);
	mq_str_printf(&out->seen, "mosquitto_pub: Error: Problem setting TLS options: ... (OpenSSL: key values mismatch, error:05800074)\n"
		      "ESP32: esp-tls ESP_ERR_MBEDTLS_SSL_CONF_OWN_CERT_FAILED (0x8016 on ESP-IDF 5.x, 0x800C on 4.x), or the broker rejects the handshake (decrypt_error).");
}

static bool client_dates_bad(const struct diag_obs *o)
{
	return o->client && (o->client->not_after < o->now || o->client->not_before > o->now);
}

static bool c_client_expired(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return o->cert.state == DIAG_FILE_OK && client_dates_bad(o);
}

static void e_client_expired(const struct diag_obs *o, struct rule_out *out)
{
	char a[32], b[32], n[32];
	bool future = o->client->not_before > o->now;

	out->path = o->cert.path;
	mq_str_printf(&out->title, "The client certificate %s %s", o->cert.path, future ? "is not valid yet" : "has expired");
	if (future)
		mq_str_printf(&out->detail, "%s is valid from %s; this machine's clock says %s. Either it was issued with a date in the future, or a clock is wrong (a device without NTP starts in 1970).",
			      o->cert.path, date(o->client->not_before, a, sizeof a), date(o->now, n, sizeof n));
	else
		mq_str_printf(&out->detail, "%s expired on %s (%lld days ago; valid since %s). A broker with require_certificate refuses it.",
			      o->cert.path, date(o->client->not_after, a, sizeof a), (o->now - o->client->not_after) / DAY,
			      date(o->client->not_before, b, sizeof b));
	mq_str_printf(&out->fix, "Issue it again with the same key from the CA that issued it, valid from now:\n");
	device_cmds(o, &out->fix, true);
	if (o->pki_dir[0])
		mq_str_printf(&out->fix, "\nor: mqttls certs device NAME --dir DIR --force");
	mq_str_printf(&out->seen, "mosquitto -v: ");
	openssl_alert_line(45, &out->seen);
	mq_str_printf(&out->seen, " is what the client logs; the broker logs 'OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed'.\n"
		      "mosquitto_pub: Error: Protocol error (TLS 1.3) or Error: A TLS error occurred.\nESP32: -0x7780 (fatal alert received), rc=-2.");
}

/* ---------------------------------------------------------------- resolve, tcp */

static bool c_dns(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return o->resolve_done && !o->resolved;
}

static void e_dns(const struct diag_obs *o, struct rule_out *out)
{
	size_t n = strlen(o->t->host);
	bool mdns = n > 6 && !strcasecmp(o->t->host + n - 6, ".local");

	mq_str_printf(&out->title, "The host name %s does not resolve", o->t->host);
	mq_str_printf(&out->detail, "Looking up %s failed: %s.", o->t->host, o->resolve_error);
	if (mdns)
		mq_str_printf(&out->detail, " Names ending in .local are multicast DNS: they resolve only where avahi / nss-mdns runs, "
			      "and an ESP32 resolves them only with MDNS.queryHost().");
	mq_str_printf(&out->fix, "getent hosts %s    # does this machine resolve it?\nUse the broker's IP address instead (-h <IP>), and make sure the broker certificate names that IP: mqttls certs server NAME --san IP:<IP>",
		      o->t->host);
	mq_str_printf(&out->seen, "ESP32: PubSubClient rc=-2; esp-tls ESP_ERR_ESP_TLS_CANNOT_RESOLVE_HOSTNAME (0x8001); mbedTLS -0x0052 NET_UNKNOWN_HOST.\n"
		      "mosquitto_pub: Unable to connect (Lookup error.).\nmosquitto -v: nothing — the broker never hears from the client.");
}

static bool c_tcp_refused(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return o->tls && o->tls->tcp == PROBE_TCP_REFUSED;
}

static void e_tcp_refused(const struct diag_obs *o, struct rule_out *out)
{
	char e[128];
	bool local = !strcmp(o->t->host, "localhost") || !strncmp(o->tls->address, "127.", 4) || !strcmp(o->tls->address, "::1");

	mq_str_printf(&out->title, "Nothing accepts connections on %s port %d", o->t->host, o->t->port);
	mq_str_printf(&out->detail, "%s:%d refused the TCP connection (%s): no program listens there.", o->tls->address, o->t->port, strerror(ECONNREFUSED));
	if (o->tls->addrs_tried > 1)
		mq_str_printf(&out->detail, " Every address of %s was tried (%s).", o->t->host, o->addresses);
	mq_str_printf(&out->detail, " Either the broker is not running (often it failed to start: look for 'Unable to load server key file' in its log), "
		      "it listens on another port, or — Mosquitto 2.x without any 'listener' line — it listens on localhost only (%s).",
		      local ? "this does not apply when you connect to localhost" : "'Starting in local only mode'");
	mq_str_printf(&out->fix, "sudo ss -ltnp | grep ':%d '    # who listens on %d?\nsudo systemctl status mosquitto; sudo journalctl -u mosquitto -n 20\n"
		      "In mosquitto.conf: listener %d (with certfile/keyfile/cafile for TLS), then sudo systemctl restart mosquitto",
		      o->t->port, o->t->port, o->t->port);
	explain_esptls_format(EXPLAIN_ESPTLS_CONNECT, e, sizeof e);
	mq_str_printf(&out->seen, "ESP32: PubSubClient rc=-2 at once; esp-tls %s, errno 104/111; WiFiClientSecure: 'connect on fd ..., errno: 104, \"Connection reset by peer\"'.\n"
		      "mosquitto_pub: Error: Connection refused\nmosquitto -v: nothing — no broker received the connection.", e);
}

static bool c_tcp_timeout(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return o->tls && (o->tls->tcp == PROBE_TCP_TIMEOUT || o->tls->tcp == PROBE_TCP_UNREACHABLE || o->tls->tcp == PROBE_TCP_ERROR);
}

static void e_tcp_timeout(const struct diag_obs *o, struct rule_out *out)
{
	char e[128];

	mq_str_printf(&out->title, "%s port %d does not answer", o->t->host, o->t->port);
	if (o->tls->tcp == PROBE_TCP_TIMEOUT)
		mq_str_printf(&out->detail, "No answer from %s:%d within %.0f s: the connection attempt was neither accepted nor refused. "
			      "The address is wrong, the host is off, a firewall drops the packets, or the broker is on another network "
			      "(a VM behind NAT is not reachable from the device: use a bridged adapter).", o->tls->address, o->t->port, o->timeout);
	else
		mq_str_printf(&out->detail, "Connecting to %s:%d failed: %s. There is no route to that address from here.",
			      o->tls->address, o->t->port, strerror(o->tls->tcp_errno));
	mq_str_printf(&out->fix, "ping -c 2 %s\nip -4 addr    # on the broker host: is %s one of its addresses?\nsudo ufw allow %d/tcp    # if a firewall is on",
		      o->t->host, o->t->host, o->t->port);
	explain_esptls_format(EXPLAIN_ESPTLS_TIMEOUT, e, sizeof e);
	mq_str_printf(&out->seen, "ESP32: PubSubClient rc=-2 after a long wait; esp-tls %s.\nmosquitto_pub: hangs, then Error: Connection timed out (or No route to host)\n"
		      "mosquitto -v: nothing.", e);
}

/* ---------------------------------------------------------------- TLS */

/* Nothing TLS came back: no ServerHello, no alert, and the exchange ended badly. */
static bool looked_not_tls(const struct diag_obs *o)
{
	const struct probe_result *p = tls_probe(o);
	int r = ssl_reason(o);

	if (!tls_failed(o) || p->rec.server_hello || tlsctx_alert_received(&p->rec) >= 0)
		return false;
	return r == SSL_R_WRONG_VERSION_NUMBER || r == SSL_R_PACKET_LENGTH_TOO_LONG || r == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
	       r == SSL_R_HTTP_REQUEST || r == 0 || p->end == PROBE_END_EOF || p->end == PROBE_END_RESET ||
	       p->end == PROBE_END_TIMEOUT;
}

static bool c_plaintext(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return looked_not_tls(o) && o->plain && o->plain->connack;
}

static void e_plaintext(const struct diag_obs *o, struct rule_out *out)
{
	const struct probe_result *p = o->tls;

	mq_str_printf(&out->title, "Port %d speaks plain MQTT, not TLS", o->t->port);
	mq_str_printf(&out->detail, "The TLS handshake got no TLS answer (the broker %s), and a plain MQTT CONNECT to %s:%d was answered with CONNACK %d (%s). "
		      "This listener has no certfile/keyfile: it is a plain MQTT port (1883-style), and anything sent over it — passwords included — is readable on the network.",
		      p->end == PROBE_END_TIMEOUT ? "stayed silent" : p->end == PROBE_END_RESET ? "reset the connection" : "closed the connection",
		      o->plain->address, o->t->port, o->plain->connack_rc,
		      mqttdec_reason_name(o->t->mqtt_version == 5 ? 5 : 4, 2, (uint8_t)o->plain->connack_rc));
	mq_str_printf(&out->fix, "Connect to the broker's TLS listener (usually 8883): -p 8883\nor make this listener TLS, in mosquitto.conf under 'listener %d':\n"
		      "  certfile /etc/mosquitto/certs/broker-fullchain.crt\n  keyfile /etc/mosquitto/certs/broker.key\n  cafile /etc/mosquitto/certs/ca.crt\nthen sudo systemctl restart mosquitto",
		      o->t->port);
	mq_str_printf(&out->seen, "ESP32: WiFiClientSecure (-29312) SSL - The connection indicated an EOF (-0x7280) or -0x0050 (connection reset), rc=-2.\n"
		      "mosquitto_pub: Error: A TLS error occurred.\nmosquitto -v: Client <unknown> disconnected due to protocol error. (not 'disconnected: Protocol error.' — that one is a TLS failure)");
}

static bool c_not_tls(const struct diag_obs *o, const struct findings *fs)
{
	return looked_not_tls(o) && !findings_has(fs, "PLAINTEXT_PORT");
}

static void e_not_tls(const struct diag_obs *o, struct rule_out *out)
{
	const struct probe_result *p = o->tls;
	char shown[3 * PROBE_FIRST_BYTES + 8];

	mq_str_printf(&out->title, "Port %d answers with something that is neither TLS nor MQTT", o->t->port);
	if (p->n_first) {
		mq_escape(p->first, p->n_first, shown, sizeof shown);
		mq_str_printf(&out->detail, "%s:%d answered the TLS ClientHello with \"%s\" — not a TLS record", p->address, o->t->port, shown);
	} else if (p->end == PROBE_END_TIMEOUT) {
		mq_str_printf(&out->detail, "%s:%d accepted the TCP connection but never answered the TLS ClientHello (%.0f s)", p->address, o->t->port, o->timeout);
	} else {
		mq_str_printf(&out->detail, "%s:%d %s the connection without a word in reply to the TLS ClientHello", p->address, o->t->port,
			      p->end == PROBE_END_RESET ? "reset" : "closed");
	}
	if (o->plain) {
		if (o->plain->connack)
			;
		else if (o->plain->n_first) {
			mq_escape(o->plain->first, o->plain->n_first, shown, sizeof shown);
			mq_str_printf(&out->detail, "; a plain MQTT CONNECT got \"%s\", which is not a CONNACK either", shown);
		} else
			mq_str_printf(&out->detail, "; a plain MQTT CONNECT got no CONNACK either (%s)",
				      o->plain->end == PROBE_END_TIMEOUT ? "silence" : "the connection was closed");
	}
	mq_str_printf(&out->detail, ". Another service listens on this port, or a proxy or firewall in between cuts TLS.");
	mq_str_printf(&out->fix, "sudo ss -ltnp | grep ':%d '    # which program owns the port?\nMQTT over TLS is usually port 8883, plain MQTT 1883.", o->t->port);
	mq_str_printf(&out->seen, "ESP32: -0x7200 (invalid record) or -0x7280 (EOF), rc=-2.\nmosquitto_pub: Error: A TLS error occurred. / Error: The connection was lost.\nmosquitto -v: nothing, if no mosquitto owns this port.");
}

static bool c_version(const struct diag_obs *o, const struct findings *fs)
{
	int r = ssl_reason(o), a = alert_in(o);
	(void)fs;
	if (!tls_failed(o))
		return false;
	return a == 70 || r == SSL_R_UNSUPPORTED_PROTOCOL || r == SSL_R_VERSION_TOO_LOW || r == SSL_R_VERSION_TOO_HIGH ||
	       r == SSL_R_NO_PROTOCOLS_AVAILABLE || r == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION;
}

static void e_version(const struct diag_obs *o, struct rule_out *out)
{
	char offered[64];
	bool only13 = o->accepts_13 == 1 && o->accepts_12 == 0;
	bool only12 = o->accepts_12 == 1 && o->accepts_13 == 0;

	versions_offered(o->t, offered, sizeof offered);
	mq_str_printf(&out->title, "This client and the broker share no TLS version");
	mq_str_printf(&out->detail, "This client offered %s", offered);
	if (o->t->tls_max && o->t->tls_max < TLS1_3_VERSION)
		mq_str_printf(&out->detail, " (--tls-max %s, as a device without TLS 1.3)", tlsctx_version_name(o->t->tls_max));
	if (only13)
		mq_str_printf(&out->detail, "; the broker accepts TLS 1.3 only ('tls_version tlsv1.3')");
	else if (only12)
		mq_str_printf(&out->detail, "; the broker accepts TLS 1.2 only");
	else if (o->accepts_12 == 0 && o->accepts_13 == 0)
		mq_str_printf(&out->detail, "; the broker accepts neither TLS 1.2 nor TLS 1.3 from mqttls");
	if (alert_in(o) == 70)
		mq_str_printf(&out->detail, ", and it answered with alert 70 protocol_version");
	mq_str_printf(&out->detail, ".");
	if (only13)
		mq_str_printf(&out->detail, " Devices without TLS 1.3 cannot connect: an ESP32 on Arduino-ESP32 2.x / ESP-IDF 4.x (mbedTLS 2.x), "
			      "ESP-IDF 5.x builds without CONFIG_MBEDTLS_SSL_PROTO_TLS1_3, ESP8266 (BearSSL), and clients on OpenSSL 1.0.");
	if (only13)
		mq_str_printf(&out->fix, "On the broker, in the TLS listener: tls_version tlsv1.2    (mosquitto: TLS 1.2 is then the minimum; 1.3 stays available)\n"
			      "or move the device to a TLS 1.3 stack (ESP-IDF 5.x with CONFIG_MBEDTLS_SSL_PROTO_TLS1_3=y).");
	else
		mq_str_printf(&out->fix, "Let both sides meet on TLS 1.2 or 1.3: on the broker 'tls_version tlsv1.2' (a minimum), on the client no --tls-max below what the broker needs.");
	mq_str_printf(&out->seen, "ESP32 (mbedTLS 2.x): -0x7780 (-30592) SSL - A fatal alert message was received from our peer, rc=-2; esp-tls ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED.\n"
		      "mosquitto_pub: Error: A TLS error occurred.\nmosquitto -v: ");
	openssl_reason_line(SSL_R_UNSUPPORTED_PROTOCOL, &out->seen);
	mq_str_printf(&out->seen, ", then 'Client <unknown> disconnected: Protocol error.'");
}

static bool c_cipher(const struct diag_obs *o, const struct findings *fs)
{
	int r = ssl_reason(o), a = alert_in(o);
	const struct probe_result *p = tls_probe(o);

	if (!tls_failed(o) || findings_has(fs, "TLS_VERSION_MISMATCH"))
		return false;
	if (r == SSL_R_NO_SHARED_CIPHER || r == SSL_R_NO_CIPHERS_AVAILABLE || r == SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM ||
	    r == SSL_R_NO_SUITABLE_GROUPS || r == SSL_R_NO_SUITABLE_KEY_SHARE || a == 71)
		return true;
	/* handshake_failure before any certificate exchange is a negotiation failure. */
	return a == 40 && !p->rec.cert_request;
}

static void e_cipher(const struct diag_obs *o, struct rule_out *out)
{
	char offered[64];

	versions_offered(o->t, offered, sizeof offered);
	mq_str_printf(&out->title, "This client and the broker share no cipher suite");
	mq_str_printf(&out->detail, "The broker refused the handshake (alert %d %s) before any certificate was exchanged: "
		      "none of the cipher suites this client offered (%s%s%s) is allowed by the broker's 'ciphers' / 'ciphers_tls1.3' lines, "
		      "or the broker's key type fits none of them.",
		      alert_in(o), explain_alert_name(alert_in(o)) ? explain_alert_name(alert_in(o)) : "", offered,
		      o->t->ciphers ? ", --ciphers " : "", o->t->ciphers ? o->t->ciphers : "");
	mq_str_printf(&out->fix, "grep -n '^ciphers' /etc/mosquitto/conf.d/*.conf /etc/mosquitto/mosquitto.conf\n"
		      "Remove the restriction, or allow suites the devices have, e.g.:\n"
		      "  ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384\n"
		      "  ciphers_tls1.3 TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384");
	mq_str_printf(&out->seen, "ESP32: -0x7780 (fatal alert received: handshake_failure), rc=-2.\nmosquitto_pub: Error: A TLS error occurred.\nmosquitto -v: ");
	openssl_reason_line(SSL_R_NO_SHARED_CIPHER, &out->seen);
}

/* ---------------------------------------------------------------- verification */

static const char *const not_ca_ids[] = { "CAFILE_INVALID", "CAFILE_NOT_CA", NULL };

/* The date the chain was checked against: a device's clock given with --clock, or this machine's. */
static long long check_time(const struct diag_obs *o)
{
	return o->t->clock == TARGET_CLOCK_AT ? o->t->clock_at : o->now;
}

static const char *clock_words(const struct diag_obs *o)
{
	return o->t->clock == TARGET_CLOCK_AT ? "the device's clock (--clock)" : "this machine's clock";
}

/* The certificate of the presented chain nearest the leaf with this error (a CA from the CA file
 * that fails the same way is not shown by the broker). */
static const struct cert_info *nearest_with(const struct diag_obs *o, int err, int *depth)
{
	const struct probe_result *p = tls_probe(o);
	int best = -1;

	for (size_t i = 0; p && i < p->rec.n_verrs; i++)
		if (p->rec.verrs[i].err == err && (size_t)p->rec.verrs[i].depth < o->n_chain &&
		    (best < 0 || p->rec.verrs[i].depth < best))
			best = p->rec.verrs[i].depth;
	*depth = best >= 0 ? best : verr_depth(o, err);
	return at_depth(o, *depth);
}

static bool c_expired(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return verify_applies(o) && has_verr(o, X509_V_ERR_CERT_HAS_EXPIRED);
}

static void e_expired(const struct diag_obs *o, struct rule_out *out)
{
	int d = verr_depth(o, X509_V_ERR_CERT_HAS_EXPIRED);
	const struct cert_info *c = at_depth(o, d);
	char a[32], n[32];

	mq_str_printf(&out->title, "The broker's %s has expired", d == 0 ? "certificate" : "CA certificate");
	if (c) {
		mq_str_printf(&out->detail, "\"");
		put_untrusted(&out->detail, c->subject);
		mq_str_printf(&out->detail, "\" (depth %d of the chain the broker sends) expired on %s, %lld days ago by %s (%s).",
			      d, date(c->not_after, a, sizeof a), (check_time(o) - c->not_after) / DAY, clock_words(o),
			      date(check_time(o), n, sizeof n));
	} else {
		mq_str_printf(&out->detail, "A certificate in the broker's chain (depth %d, from your CA file) has expired.", d);
	}
	if (d == 0) {
		struct mq_str ol = { 0 }, ml = { 0 }, ext = { 0 };
		struct mq_str unused = { 0 };
		san_now(o, &ol);
		san_args(o, &unused, &ml);
		mq_str_free(&unused);
		server_ext(o, ol.s, false, &ext);
		if (o->pki_dir[0])
			mq_str_printf(&out->fix, "Issue a new broker certificate and restart mosquitto:\n  mqttls certs server broker %s --dir DIR --force\nor with openssl:\n", ml.s);
		else
			mq_str_printf(&out->fix, "Issue it again from your CA, valid from now (same key, subject and names), then restart mosquitto:\n");
		reissue_cmds(o, &out->fix, ext.s);
		mq_str_free(&ol);
		mq_str_free(&ml);
		mq_str_free(&ext);
	} else if (c && !c->self_signed) {
		const struct diag_user_files *u = &o->files;
		bool mine = d == 1 && u->issuer_crt[0];
		const char *ic = mine ? u->issuer_crt : "intermediate.crt";
		char icsr[600], ikey[600], rkey[600];
		swap_ext(ic, ".csr", icsr, sizeof icsr);
		if (mine && u->issuer_key[0])
			snprintf(ikey, sizeof ikey, "%s", u->issuer_key);
		else
			swap_ext(ic, ".key", ikey, sizeof ikey);
		if (u->root_key[0])
			snprintf(rkey, sizeof rkey, "%s", u->root_key);
		else
			swap_ext(u->root_crt[0] ? u->root_crt : "ca.crt", ".key", rkey, sizeof rkey);
		mq_str_printf(&out->fix, "The intermediate CA expired (the root above it has not): issue it again from the root with the same key and subject,\n");
		toreq_cmd(&out->fix, ic, ikey, icsr);
		sign_cmd(&out->fix, icsr, u->root_crt[0] ? u->root_crt : "ca.crt", rkey, 1825, ic,
			 "basicConstraints=critical,CA:TRUE,pathlen:0\\nkeyUsage=critical,keyCertSign,cRLSign\\n");
		mq_str_printf(&out->fix, "\n  cat ");
		put_path(&out->fix, u->leaf_crt[0] ? u->leaf_crt : "server.crt");
		mq_str_printf(&out->fix, " ");
		put_path(&out->fix, ic);
		mq_str_printf(&out->fix, " > ");
		put_path(&out->fix, u->chain_crt[0] ? u->chain_crt : "server-fullchain.crt");
		mq_str_printf(&out->fix, "    # the chain the broker sends\n  sudo systemctl restart mosquitto\n"
			      "Devices that trust the root need no change; the certificates the intermediate issued stay valid.");
	} else {
		mq_str_printf(&out->fix, "The root CA itself expired: every device trusts this very certificate, so all of them need a new one. "
			      "Make a new root (or re-sign the old key with new dates: openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj \"<same subject>\" -out ca.crt), "
			      "re-issue what it signed if the key changed, and give every device the new CA file (ESP32: setCACert, mqttls certs export-esp32).");
	}
	seen_device_rejects(&out->seen, 0x01, "Error: A TLS error occurred.");
	mq_str_printf(&out->seen, "\nNote: ESP-IDF leaves MBEDTLS_HAVE_TIME_DATE off by default; such an ESP32 ignores dates and still connects.");
}

static bool c_not_yet(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return verify_applies(o) && has_verr(o, X509_V_ERR_CERT_NOT_YET_VALID);
}

static void e_not_yet(const struct diag_obs *o, struct rule_out *out)
{
	int d;
	const struct cert_info *c = nearest_with(o, X509_V_ERR_CERT_NOT_YET_VALID, &d);
	bool device = o->t->clock == TARGET_CLOCK_AT;
	char a[32], n[32];

	mq_str_printf(&out->title, "The broker's certificate is not valid yet");
	if (c) {
		mq_str_printf(&out->detail, "\"");
		put_untrusted(&out->detail, c->subject);
		mq_str_printf(&out->detail, "\" (depth %d) is valid from %s; %s says %s. ", d, date(c->not_before, a, sizeof a),
			      clock_words(o), date(check_time(o), n, sizeof n));
	}
	if (device && o->t->clock_at < TARGET_CLOCK_NEVER_SET)
		mq_str_printf(&out->detail, "A device whose clock was never set (no NTP: an ESP32 starts in 1970) finds every certificate not yet valid, however good it is.");
	else if (device)
		mq_str_printf(&out->detail, "The device's clock is behind the certificate's start.");
	else
		mq_str_printf(&out->detail, "The certificate was issued with a future start date, or this clock is behind.");
	if (device) {
		mq_str_printf(&out->fix, "Set the device's clock before its first handshake: configTime(0, 0, \"pool.ntp.org\") in the sketch "
			      "(esp_sntp_init() in ESP-IDF), then wait until time() is past the certificate's start.\n"
			      "The certificate itself needs nothing.");
	} else {
		mq_str_printf(&out->fix, "date -u; timedatectl    # is this clock right?\n");
		if (d == 0) {
			struct mq_str ol = { 0 }, ext = { 0 };
			san_now(o, &ol);
			server_ext(o, ol.s, false, &ext);
			mq_str_printf(&out->fix, "If it is, issue the certificate again starting now%s:\n", o->pki_dir[0] ? " (mqttls certs server broker --dir DIR --force, or)" : "");
			reissue_cmds(o, &out->fix, ext.s);
			mq_str_printf(&out->fix, "\n");
			mq_str_free(&ol);
			mq_str_free(&ext);
		} else {
			mq_str_printf(&out->fix, "If it is, the CA at depth %d was issued with a future start: issue it again starting now.\n", d);
		}
		mq_str_printf(&out->fix, "On a device, set the clock (NTP: configTime()) before connecting.");
	}
	seen_device_rejects(&out->seen, 0x200, "Error: A TLS error occurred.");
	mq_str_printf(&out->seen, "\nNote: an ESP32 whose mbedTLS was built without CONFIG_MBEDTLS_HAVE_TIME_DATE (ESP-IDF's default, and Arduino-ESP32's libraries) checks no dates at all and connects anyway.");
}

static bool c_self_signed(const struct diag_obs *o, const struct findings *fs)
{
	return verify_applies(o) && has_verr(o, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) && !has_any(fs, not_ca_ids);
}

static void e_self_signed(const struct diag_obs *o, struct rule_out *out)
{
	const struct cert_info *l = leaf(o);

	mq_str_printf(&out->title, "The broker presents a self-signed certificate");
	mq_str_printf(&out->detail, "The broker's certificate \"");
	put_untrusted(&out->detail, l->subject);
	mq_str_printf(&out->detail, "\" signed itself (issuer = subject), and %s does not contain it. A self-signed broker certificate can only be trusted by giving that very certificate as the CA.",
		      o->t->cafile ? o->t->cafile : "the system's CA store");
	if (o->files.leaf_crt[0]) {
		/* The served certificate is on disk: trusting it needs no network command. */
		mq_str_printf(&out->detail, " It is the certificate in %s.", o->files.leaf_crt);
		mq_str_printf(&out->fix, "Trust this certificate itself: --cafile ");
		put_path(&out->fix, o->files.leaf_crt);
		mq_str_printf(&out->fix, "    (ESP32: setCACert with the same file; every re-issue means updating every device)\n"
			      "Better: a CA that signs the broker certificate (mqttls certs init --dir DIR), mosquitto certfile DIR/broker-fullchain.crt, devices trust DIR/ca.crt.");
	} else {
		mq_str_printf(&out->fix, "Better: a CA that signs the broker certificate (mqttls certs init --dir DIR), mosquitto certfile DIR/broker-fullchain.crt, devices trust DIR/ca.crt.\n"
			      "Or trust this certificate itself: openssl s_client -connect %s:%d -showcerts </dev/null | openssl x509 > broker-selfsigned.pem; --cafile broker-selfsigned.pem",
			      o->t->host, o->t->port);
	}
	seen_device_rejects(&out->seen, 0x08, "Error: A TLS error occurred.");
}

/* Is the top of the presented chain's issuer an intermediate of the trusted CA (found on disk)? */
static bool chain_incomplete(const struct diag_obs *o)
{
	return o->issuer_found && o->issuer_chains_to_trusted;
}

static bool issuer_unknown(const struct diag_obs *o)
{
	return has_verr(o, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) || has_verr(o, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT) ||
	       has_verr(o, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE);
}

static bool c_incomplete(const struct diag_obs *o, const struct findings *fs)
{
	return verify_applies(o) && issuer_unknown(o) && chain_incomplete(o) && !has_any(fs, not_ca_ids);
}

static void e_incomplete(const struct diag_obs *o, struct rule_out *out)
{
	const struct cert_info *top = &o->chain[o->n_chain - 1];

	mq_str_printf(&out->title, "The broker does not send the intermediate CA");
	mq_str_printf(&out->detail, "The broker sends %zu certificate%s; the last one was issued by \"", o->n_chain, o->n_chain == 1 ? "" : "s");
	put_untrusted(&out->detail, top->issuer);
	mq_str_printf(&out->detail, "\", which the broker does not send. That certificate is in %s and is signed by your CA, so it is an intermediate: "
		      "a client that trusts only the root (an ESP32 with setCACert(root), mosquitto_pub --cafile %s) cannot build the chain.",
		      o->issuer_path, o->t->cafile ? o->t->cafile : "ca.crt");
	{
		const struct diag_user_files *u = &o->files;
		char chain[600];
		const char *leafp = u->leaf_crt[0] ? u->leaf_crt : "server.crt";
		swap_ext(leafp, "-fullchain.crt", chain, sizeof chain);
		mq_str_printf(&out->fix, "Give mosquitto the full chain (leaf first, then the intermediate):\n  cat ");
		put_path(&out->fix, leafp);
		mq_str_printf(&out->fix, " ");
		put_path(&out->fix, o->issuer_path);
		mq_str_printf(&out->fix, " > ");
		put_path(&out->fix, chain);
		mq_str_printf(&out->fix, "\n  certfile ");
		put_path(&out->fix, chain);
		mq_str_printf(&out->fix, "    # in the listener block of mosquitto.conf, instead of the certificate alone\nthen sudo systemctl restart mosquitto%s",
			      u->leaf_crt[0] ? "" : "\n  (server.crt: the certificate mosquitto serves now, its certfile)");
	}
	seen_device_rejects(&out->seen, 0x08, "Error: A TLS error occurred.");
	mq_str_printf(&out->seen, "\nopenssl s_client: verify error:num=20:unable to get local issuer certificate, then num=21:unable to verify the first certificate.");
}

static bool c_wrong_ca(const struct diag_obs *o, const struct findings *fs)
{
	static const char *const others[] = { "CAFILE_INVALID", "CAFILE_NOT_CA", "SELF_SIGNED_SERVER", "INCOMPLETE_CHAIN", NULL };

	if (!verify_applies(o) || has_any(fs, others))
		return false;
	return issuer_unknown(o) || has_verr(o, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN) || has_verr(o, X509_V_ERR_CERT_SIGNATURE_FAILURE) ||
	       has_verr(o, X509_V_ERR_CERT_UNTRUSTED) || has_verr(o, X509_V_ERR_NO_ISSUER_PUBLIC_KEY) ||
	       has_verr(o, X509_V_ERR_CERT_REJECTED);
}

static void list_cas(const struct diag_obs *o, struct rule_out *out)
{
	for (size_t i = 0; i < o->n_ca && i < 3; i++) {
		mq_str_printf(&out->detail, "%s\"", i ? ", " : "");
		put_untrusted(&out->detail, o->ca[i].subject);
		mq_str_printf(&out->detail, "\"");
	}
	if (o->n_ca > 3)
		mq_str_printf(&out->detail, " and %zu more", o->n_ca - 3);
}

static void e_wrong_ca(const struct diag_obs *o, struct rule_out *out)
{
	const struct cert_info *top = &o->chain[o->n_chain - 1];
	const char *ca = o->t->cafile ? o->t->cafile : o->t->capath ? o->t->capath : "the system's CA store";

	if (o->cafile_partial[0]) {
		/* The CA file has the issuing CA, but not a root: OpenSSL wants the chain to end at one. */
		mq_str_printf(&out->title, "Your CA file stops at an intermediate CA: the root above it is missing");
		mq_str_printf(&out->detail, "%s holds \"", ca);
		put_untrusted(&out->detail, o->cafile_partial);
		mq_str_printf(&out->detail, "\", which does sign the broker's chain, but is itself issued by another CA that is not in the file. "
			      "OpenSSL clients (mosquitto_pub, libmosquitto, this diagnosis) accept a chain only when it ends at a self-signed root they trust; "
			      "an ESP32 (mbedTLS) accepts the intermediate alone, so a device may connect where mosquitto_pub fails.");
		if (o->cafile_root[0])
			mq_str_printf(&out->detail, " The root is in %s.", o->cafile_root);
		if (o->n_chain > 1) {
			mq_str_printf(&out->fix, "The broker already sends the intermediate: trust the root instead, --cafile ");
			put_path(&out->fix, o->cafile_root[0] ? o->cafile_root : "ca.crt");
			mq_str_printf(&out->fix, "%s", o->cafile_root[0] ? "" : "    # the root CA's certificate");
		} else {
			mq_str_printf(&out->fix, "Give the root as well:\n  cat ");
			put_path(&out->fix, ca);
			mq_str_printf(&out->fix, " ");
			put_path(&out->fix, o->cafile_root[0] ? o->cafile_root : "ca.crt");
			mq_str_printf(&out->fix, " > ca-chain.crt; then --cafile ca-chain.crt%s\n"
				      "Better: let the broker send the intermediate (certfile = server certificate + intermediate) and give clients only the root.",
				      o->cafile_root[0] ? "" : "    # ca.crt: the root CA's certificate");
		}
		seen_device_rejects(&out->seen, 0x08, "Error: A TLS error occurred.");
		mq_str_printf(&out->seen, "\nAn ESP32 given the same intermediate in setCACert() connects: mbedTLS trusts any certificate it is given.");
		return;
	}
	if (o->capath_unhashed[0]) {
		mq_str_printf(&out->title, "--capath holds the right CA, but OpenSSL cannot find it there");
		mq_str_printf(&out->detail, "%s in --capath %s is the CA the broker's chain needs, but OpenSSL looks certificates up in a directory by "
			      "the hash of their subject (links named like 1a2b3c4d.0), and this directory has no such link for it: the directory was never hashed.",
			      o->capath_unhashed, o->t->capath);
		mq_str_printf(&out->fix, "openssl rehash ");
		put_path(&out->fix, o->t->capath);
		mq_str_printf(&out->fix, "    # or c_rehash; again whenever a CA is added\nor give the file itself: --cafile ");
		put_path(&out->fix, o->capath_unhashed);
		mq_str_printf(&out->seen, "mosquitto_pub --capath: Error: A TLS error occurred. (the same lookup). An ESP32 has no capath: it is given the CA itself.");
		return;
	}
	if (has_verr(o, X509_V_ERR_CERT_SIGNATURE_FAILURE) || o->ca_same_name[0]) {
		mq_str_printf(&out->title, "The CA was made again under the same name: the broker's certificate is from the old one");
		mq_str_printf(&out->detail, "The broker's chain names \"");
		put_untrusted(&out->detail, top->self_signed ? top->subject : top->issuer);
		mq_str_printf(&out->detail, "\" as its CA, and %s has a CA of that very name, but with another key: the broker's certificate does not verify with it. "
			      "The CA was generated again (openssl req -x509 with a new key, same -subj) after the broker certificate was signed, and one side still has the old one.", ca);
		mq_str_printf(&out->fix, "Re-issue the broker certificate from the CA you now give devices (same key and subject), then restart mosquitto:\n");
		{
			struct mq_str ol = { 0 }, ext = { 0 };
			san_now(o, &ol);
			server_ext(o, ol.s, false, &ext);
			reissue_cmds_ca(o, &out->fix, ext.s, o->t->cafile);
			mq_str_free(&ol);
			mq_str_free(&ext);
		}
		mq_str_printf(&out->fix, "\nand replace the broker's cafile with %s too. Or, if the old CA certificate still exists, give devices that one.", ca);
		seen_device_rejects(&out->seen, 0x08, "Error: A TLS error occurred.");
		return;
	}
	mq_str_printf(&out->title, "The broker's certificate does not lead to the CA you trust");
	if (top->self_signed)
		mq_str_printf(&out->detail, "The broker's chain ends at the root CA \"");
	else
		mq_str_printf(&out->detail, "The broker's chain ends with \"");
	put_untrusted(&out->detail, top->subject);
	if (!top->self_signed) {
		mq_str_printf(&out->detail, "\", issued by \"");
		put_untrusted(&out->detail, top->issuer);
	}
	mq_str_printf(&out->detail, "\"%s; %s holds ", top->self_signed ? " (a root the broker sends is trusted only if the client already has it)" : "", ca);
	if (o->n_ca)
		list_cas(o, out);
	else
		mq_str_printf(&out->detail, "no CA that issued it");
	mq_str_printf(&out->detail, ". The broker's certificate was issued by a different CA than the one you give.");
	if (o->issuer_found)
		mq_str_printf(&out->detail, " The issuing CA is %s, which is not signed by your CA.", o->issuer_path);
	else if (!top->self_signed)
		mq_str_printf(&out->detail, " (If that issuer is an intermediate of your CA, the broker must send it: see INCOMPLETE_CHAIN.)");
	if (o->issuer_found)
		mq_str_printf(&out->fix, "Trust the CA that issued the broker's certificate: --cafile %s (ESP32: mqttls certs export-esp32 %s)", o->issuer_path, o->issuer_path);
	else
		mq_str_printf(&out->fix, "Find which CA signed the broker's certificate:\n  openssl s_client -connect %s:%d -showcerts </dev/null | grep -E 's:|i:'\n"
			      "then give that CA's certificate with --cafile (ESP32: setCACert with it)",
			      o->t->host, o->t->port);
	if (o->t->cafile && o->cafile.state == DIAG_FILE_OK && o->n_ca == 1) {
		struct mq_str ol = { 0 }, ext = { 0 };
		san_now(o, &ol);
		server_ext(o, ol.s, false, &ext);
		mq_str_printf(&out->fix, "\nor re-issue the broker certificate from the CA you give (same key and subject), then restart mosquitto:\n");
		reissue_cmds_ca(o, &out->fix, ext.s, o->t->cafile);
		mq_str_free(&ol);
		mq_str_free(&ext);
	} else {
		mq_str_printf(&out->fix, ", or re-issue the broker certificate from your CA.");
	}
	seen_device_rejects(&out->seen, 0x08, "Error: A TLS error occurred.");
}

static bool c_hostname(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return verify_applies(o) && o->t->verify == TARGET_VERIFY_FULL && has_verr(o, X509_V_ERR_HOSTNAME_MISMATCH);
}

static void names_detail(const struct diag_obs *o, struct rule_out *out, const char *kind)
{
	const struct cert_info *l = leaf(o);

	mq_str_printf(&out->detail, "You connected to %s (%s); the certificate names only ", o->t->host, kind);
	san_list(l, &out->detail);
	if (!l->has_san && l->cn) {
		mq_str_printf(&out->detail, " (its CN is \"");
		put_untrusted(&out->detail, l->cn);
		mq_str_printf(&out->detail, "\")");
	}
	mq_str_printf(&out->detail, ".");
}

static void san_fix(const struct diag_obs *o, struct rule_out *out)
{
	struct mq_str ol = { 0 }, ml = { 0 }, ext = { 0 };
	const char *what = tlsctx_is_ip(o->t->host) ? "IP address" : "name";

	san_args(o, &ol, &ml);
	server_ext(o, ol.s, false, &ext);
	if (o->pki_dir[0])
		mq_str_printf(&out->fix, "Re-issue the broker certificate with this %s in its subjectAltName, then restart mosquitto:\n"
			      "  mqttls certs server broker %s --dir DIR --force\nor with openssl, same key and subject:\n", what, ml.s);
	else
		mq_str_printf(&out->fix, "Re-issue the broker certificate from your CA with this %s in its subjectAltName (same key and subject), then restart mosquitto:\n", what);
	reissue_cmds(o, &out->fix, ext.s);
	mq_str_printf(&out->fix, "\nOr connect with a name the certificate already has.");
	mq_str_free(&ol);
	mq_str_free(&ml);
	mq_str_free(&ext);
}

static void e_hostname(const struct diag_obs *o, struct rule_out *out)
{
	mq_str_printf(&out->title, "The certificate is not valid for %s", o->t->host);
	names_detail(o, out, "a host name");
	san_fix(o, out);
	seen_device_rejects(&out->seen, 0x04, "Unable to connect (A TLS error occurred.) — mosquitto_pub 2.0 checks the name itself and sends alert 80 internal_error, "
			    "so the broker logs 'tlsv1 alert internal error' for mosquitto_pub, 'bad certificate' for an ESP32");
}

static bool c_ip_san(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return verify_applies(o) && o->t->verify == TARGET_VERIFY_FULL && has_verr(o, X509_V_ERR_IP_ADDRESS_MISMATCH);
}

static void e_ip_san(const struct diag_obs *o, struct rule_out *out)
{
	mq_str_printf(&out->title, "The certificate has no IP SAN for %s", o->t->host);
	names_detail(o, out, "an IP address, which only an IP: SAN entry can match — a DNS name or the CN never does");
	san_fix(o, out);
	seen_device_rejects(&out->seen, 0x04, "Unable to connect (A TLS error occurred.); the broker logs 'tlsv1 alert internal error' for mosquitto_pub");
	mq_str_printf(&out->seen, "\nNote: mbedTLS before 3.5 ignores IP SANs entirely; such an ESP32 needs the address in a DNS: entry (or the CN without any SAN).");
}

/* A key usage that leaves out digitalSignature: the key may not sign, and every forward-secret
 * handshake (all of TLS 1.3, ECDHE in TLS 1.2) makes the server sign. OpenSSL clients do not
 * check this for the server's certificate; mbedTLS does (BADCERT_KEY_USAGE). */
static bool ku_cannot_sign(const struct cert_info *l)
{
	if (!l || !l->has_key_usage)
		return false;
	for (size_t i = 0; i < l->n_key_usage; i++)
		if (!strcmp(l->key_usage[i], "digitalSignature"))
			return false;
	return true;
}

static bool c_purpose(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return verify_applies(o) && (verr_depth(o, X509_V_ERR_INVALID_PURPOSE) == 0 || verr_depth(o, X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE) == 0 ||
				     ku_cannot_sign(leaf(o)));
}

static void e_purpose(const struct diag_obs *o, struct rule_out *out)
{
	const struct cert_info *l = leaf(o);
	bool eku_bad = verr_depth(o, X509_V_ERR_INVALID_PURPOSE) == 0;

	mq_str_printf(&out->title, "The broker certificate is not allowed for TLS server use");
	mq_str_printf(&out->detail, "The broker's certificate has extended key usage ");
	if (l->n_eku)
		for (size_t i = 0; i < l->n_eku; i++) {
			mq_str_printf(&out->detail, "%s", i ? ", " : "");
			put_untrusted(&out->detail, l->eku[i]);
		}
	else
		mq_str_printf(&out->detail, "(none)");
	mq_str_printf(&out->detail, " and key usage ");
	if (l->n_key_usage)
		for (size_t i = 0; i < l->n_key_usage; i++)
			mq_str_printf(&out->detail, "%s%s", i ? ", " : "", l->key_usage[i]);
	else
		mq_str_printf(&out->detail, "(none)");
	if (!eku_bad && ku_cannot_sign(l))
		mq_str_printf(&out->detail, ": its key may not sign (no digitalSignature), yet every TLS 1.3 handshake and every ECDHE suite of TLS 1.2 "
			      "makes the broker sign with it. OpenSSL clients (mosquitto_pub, %s) do not check this for a server and connect; "
			      "mbedTLS devices (ESP32) and browsers refuse the certificate.", o->tls && o->tls->handshake_done ? "this diagnosis" : "mqttls");
	else
	mq_str_printf(&out->detail, ": a TLS server certificate needs serverAuth (and digitalSignature when key usage is present). It looks like a device (client) certificate.");
	{
		struct mq_str ol = { 0 }, ext = { 0 };
		san_now(o, &ol);
		server_ext(o, ol.s, true, &ext);
		if (o->pki_dir[0])
			mq_str_printf(&out->fix, "Issue a server certificate: mqttls certs server broker --dir DIR --force\nor with openssl:\n");
		else
			mq_str_printf(&out->fix, "Issue it again as a server certificate (same key, subject and names), then restart mosquitto:\n");
		reissue_cmds(o, &out->fix, ext.s);
		mq_str_free(&ol);
		mq_str_free(&ext);
	}
	seen_device_rejects(&out->seen, !eku_bad && ku_cannot_sign(l) ? 0x800 : 0x1000,
			    !eku_bad && ku_cannot_sign(l) ? "connects (OpenSSL does not check a server's key usage)." : "Error: A TLS error occurred.");
}

static bool c_verify_other(const struct diag_obs *o, const struct findings *fs)
{
	static const char *const done[] = { "CERT_EXPIRED", "CERT_NOT_YET_VALID", "SELF_SIGNED_SERVER", "INCOMPLETE_CHAIN", "WRONG_CA",
					     "HOSTNAME_MISMATCH", "IP_NOT_IN_SAN", "SERVER_CERT_WRONG_PURPOSE", "CAFILE_INVALID", "CAFILE_NOT_CA", NULL };
	const struct probe_result *p = tls_probe(o);
	bool hostname_only = true;

	if (!verify_applies(o) || !p->rec.n_verrs || has_any(fs, done))
		return false;
	/* With --insecure a name error is not one. */
	for (size_t i = 0; i < p->rec.n_verrs; i++)
		if (p->rec.verrs[i].err != X509_V_ERR_HOSTNAME_MISMATCH && p->rec.verrs[i].err != X509_V_ERR_IP_ADDRESS_MISMATCH)
			hostname_only = false;
	return !hostname_only;
}

static void e_verify_other(const struct diag_obs *o, struct rule_out *out)
{
	const struct probe_result *p = tls_probe(o);

	mq_str_printf(&out->title, "The broker's certificate does not verify");
	mq_str_printf(&out->detail, "OpenSSL's verification reported:");
	for (size_t i = 0; i < p->rec.n_verrs; i++)
		mq_str_printf(&out->detail, " %s error %d (%s) at depth %d;", i ? "" : "", p->rec.verrs[i].err,
			      X509_verify_cert_error_string(p->rec.verrs[i].err), p->rec.verrs[i].depth);
	out->detail.s[out->detail.len - 1] = '.';
	mq_str_printf(&out->fix, "openssl s_client -connect %s:%d -CAfile %s -verify_return_error -showcerts </dev/null\nmqttls explain 'verify error:num=%d'",
		      o->t->host, o->t->port, o->t->cafile ? o->t->cafile : "ca.crt", p->rec.verrs[0].err);
	mq_str_printf(&out->seen, "mosquitto_pub: Error: A TLS error occurred.\nESP32: -0x2700 (-9984) X509 - Certificate verification failed, rc=-2.");
}

/* ---------------------------------------------------------------- client certificate */

static bool handshake_refused_us(const struct diag_obs *o)
{
	const struct probe_result *p = tls_probe(o);
	int a = alert_in(o);

	if (!tls_failed(o) || !p->rec.cert_request)
		return false;
	return a >= 0 || p->rejected_after || p->end == PROBE_END_EOF || p->end == PROBE_END_RESET;
}

static bool c_cert_required(const struct diag_obs *o, const struct findings *fs)
{
	int a = alert_in(o);
	(void)fs;
	if (!handshake_refused_us(o) || o->tls->rec.client_cert_sent)
		return false;
	return a == 116 || a == 40 || a == 42 || a == 46 || a < 0 || o->tls->rejected_after;
}

static void e_cert_required(const struct diag_obs *o, struct rule_out *out)
{
	const struct probe_result *p = o->tls;
	int a = alert_in(o);

	mq_str_printf(&out->title, "The broker requires a client certificate and none was given");
	mq_str_printf(&out->detail, "The broker asked for a client certificate (CertificateRequest, 'require_certificate true') and this client %s. "
		      "The broker then ", o->t->cert ? "had no usable one to send (see CLIENT_CERT_INVALID / CLIENT_KEY_MISMATCH)" : "had none (no --cert/--key)");
	if (a >= 0)
		mq_str_printf(&out->detail, "sent alert %d %s", a, explain_alert_name(a) ? explain_alert_name(a) : "");
	else
		mq_str_printf(&out->detail, "closed the connection");
	mq_str_printf(&out->detail, "%s.", p->rejected_after ? " after the handshake (TLS 1.3 decides on the client certificate only then)" : "");
	mq_str_printf(&out->fix, "Give the device's certificate and key: --cert device-1.crt --key device-1.key (same flags for mosquitto_pub/sub)\n");
	if (o->pki_dir[0]) {
		mq_str_printf(&out->fix, "Make them with the broker's CA: mqttls certs device device-1 --dir DIR\n");
	} else {
		mq_str_printf(&out->fix, "Make them with the CA the broker's cafile holds (here the one of --cafile, as in the tutorials):\n");
		device_cmds(o, &out->fix, false);
		mq_str_printf(&out->fix, "\n");
	}
	mq_str_printf(&out->fix, "ESP32: espClient.setCertificate(device_cert); espClient.setPrivateKey(device_key);\n"
		      "If devices should not need one: remove 'require_certificate true' from the listener.");
	mq_str_printf(&out->seen, "ESP32: -0x7780 (fatal alert received) or -0x7280 (EOF), rc=-2.\nmosquitto_pub: Error: Protocol error (TLS 1.3) / Error: A TLS error occurred. (TLS 1.2)\nmosquitto -v: ");
	openssl_reason_line(SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, &out->seen);
	mq_str_printf(&out->seen, ", then 'Client <unknown> disconnected: Protocol error.'");
}

static bool c_cert_rejected(const struct diag_obs *o, const struct findings *fs)
{
	int a = alert_in(o);
	(void)fs;
	if (!handshake_refused_us(o) || !o->tls->rec.client_cert_sent)
		return false;
	if (a == 45 || (a < 0 && client_dates_bad(o)))
		return false;  /* an expired client certificate has its own finding */
	return a != 70 && a != 71;
}

static void e_cert_rejected(const struct diag_obs *o, struct rule_out *out)
{
	int a = alert_in(o);

	mq_str_printf(&out->title, "The broker does not trust the client certificate");
	mq_str_printf(&out->detail, "This client sent %s", o->t->cert);
	if (o->client) {
		mq_str_printf(&out->detail, " (\"");
		put_untrusted(&out->detail, o->client->subject);
		mq_str_printf(&out->detail, "\", issued by \"");
		put_untrusted(&out->detail, o->client->issuer);
		mq_str_printf(&out->detail, "\")");
	}
	mq_str_printf(&out->detail, " and the broker refused it");
	if (a >= 0)
		mq_str_printf(&out->detail, " with alert %d %s", a, explain_alert_name(a) ? explain_alert_name(a) : "");
	if (o->tls->rejected_after)
		mq_str_printf(&out->detail, " after the handshake (TLS 1.3)");
	if (o->client_issuer[0] && !o->client_issuer_is_root && o->client_extra == 0) {
		/* Issued by an intermediate, sent alone: a broker whose cafile holds the root cannot link it. */
		mq_str_printf(&out->detail, ". It was issued by an intermediate CA (in %s), and this client sent the certificate alone: a broker whose cafile "
			      "holds only the root cannot link the two. Send the intermediate along, or give the broker the intermediate too.",
			      o->client_issuer);
		mq_str_printf(&out->fix, "Send the chain, the device's certificate first:\n  cat ");
		put_path(&out->fix, o->t->cert);
		mq_str_printf(&out->fix, " ");
		put_path(&out->fix, o->client_issuer);
		mq_str_printf(&out->fix, " > device-chain.crt\nthen --cert device-chain.crt (ESP32: setCertificate() with both PEM blocks)\n"
			      "or on the broker: cat ");
		put_path(&out->fix, o->client_issuer);
		mq_str_printf(&out->fix, " >> <the listener's cafile>; sudo systemctl restart mosquitto");
		mq_str_printf(&out->seen, "ESP32: -0x7780 (fatal alert received), rc=-2.\nmosquitto_pub: Error: Protocol error (TLS 1.3) / Error: A TLS error occurred. (TLS 1.2)\n"
			      "mosquitto -v: OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed, then 'Client <unknown> disconnected: Protocol error.'");
		return;
	}
	mq_str_printf(&out->detail, ". The broker verifies client certificates against its own 'cafile'; this certificate was not issued by that CA (or by an intermediate the broker can reach).");
	if (o->client_issuer[0])
		mq_str_printf(&out->detail, " It was issued by the CA in %s.", o->client_issuer);
	if (o->t->cafile && o->t->cert && o->t->key && !o->pki_dir[0]) {
		mq_str_printf(&out->fix, "Issue this device's certificate again (same key) from the CA the broker's cafile holds — in the tutorials the one of --cafile:\n");
		device_cmds_ca(o, &out->fix, true, false);
		mq_str_printf(&out->fix, "\nor add the device's CA to the broker: cat %s >> <the listener's cafile>; sudo systemctl restart mosquitto\n"
			      "Check: openssl verify -CAfile <broker cafile> %s", o->client_issuer[0] ? o->client_issuer : "device-ca.crt", o->t->cert);
	} else {
		mq_str_printf(&out->fix, "Issue the device certificate from the CA in the broker's cafile: mqttls certs device NAME --dir DIR (the broker's PKI)\n"
			      "or add the device CA to the broker: cat device-ca.crt >> /etc/mosquitto/certs/ca.crt; sudo systemctl restart mosquitto\n"
			      "Check: openssl verify -CAfile <broker cafile> %s", o->t->cert);
	}
	mq_str_printf(&out->seen, "ESP32: -0x7780 (fatal alert received), rc=-2.\nmosquitto_pub: Error: Protocol error (TLS 1.3) / Error: A TLS error occurred. (TLS 1.2)\n"
		      "mosquitto -v: OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed, then 'Client <unknown> disconnected: Protocol error.'");
}

static bool c_client_expired_alert(const struct diag_obs *o, const struct findings *fs)
{
	if (findings_has(fs, "CLIENT_CERT_EXPIRED") || !handshake_refused_us(o) || !o->tls->rec.client_cert_sent)
		return false;
	return alert_in(o) == 45 || client_dates_bad(o);
}

static void e_client_expired_alert(const struct diag_obs *o, struct rule_out *out)
{
	mq_str_printf(&out->title, "The broker refused the client certificate as expired");
	mq_str_printf(&out->detail, "The broker answered the client certificate %s with alert 45 certificate_expired: by the broker's clock it is expired or not valid yet.",
		      o->t->cert ? o->t->cert : "");
	mq_str_printf(&out->fix, "openssl x509 -in %s -noout -dates; date -u    # compare with the broker host's clock\nIssue a new one: mqttls certs device NAME --dir DIR --force",
		      o->t->cert ? o->t->cert : "device.crt");
	mq_str_printf(&out->seen, "ESP32: -0x7780, rc=-2.\nmosquitto -v: OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed");
}

static bool c_tls_other(const struct diag_obs *o, const struct findings *fs)
{
	static const char *const tls_ids[] = { "PLAINTEXT_PORT", "NOT_TLS", "TLS_VERSION_MISMATCH", "NO_SHARED_CIPHER",
					       "CLIENT_CERT_REQUIRED", "CLIENT_CERT_REJECTED", "CLIENT_CERT_EXPIRED", NULL };
	return tls_failed(o) && !has_any(fs, tls_ids);
}

static void e_tls_other(const struct diag_obs *o, struct rule_out *out)
{
	const struct probe_result *p = o->tls;
	int a = alert_in(o), s = tlsctx_alert_sent(&p->rec);

	mq_str_printf(&out->title, "The TLS handshake failed");
	mq_str_printf(&out->detail, "The handshake with %s:%d failed", p->address, o->t->port);
	if (a >= 0)
		mq_str_printf(&out->detail, "; the broker sent alert %d %s", a, explain_alert_name(a) ? explain_alert_name(a) : "");
	if (s >= 0)
		mq_str_printf(&out->detail, "; this client sent alert %d %s", s, explain_alert_name(s) ? explain_alert_name(s) : "");
	if (p->ssl_error_text[0])
		mq_str_printf(&out->detail, "; OpenSSL: %s", p->ssl_error_text);
	if (p->end == PROBE_END_TIMEOUT)
		mq_str_printf(&out->detail, "; the broker stopped answering for %.0f s", o->timeout);
	mq_str_printf(&out->detail, ". mqttls could not name the cause more precisely.");
	mq_str_printf(&out->fix, "Look at the broker's log for the 'OpenSSL Error' line of this connection and paste it into: mqttls explain '<line>'");
	mq_str_printf(&out->seen, "mosquitto_pub: Error: A TLS error occurred.\nESP32: rc=-2.");
}

/* ---------------------------------------------------------------- MQTT */

static bool connack_refused(const struct diag_obs *o)
{
	return o->mq && o->mq->connack && o->mq->connack_rc != 0;
}

static bool rc_is(const struct diag_obs *o, int v311, int v5)
{
	return o->mq->mqtt_version == MQTT_PROTOCOL_V5 ? o->mq->connack_rc == v5 : o->mq->connack_rc == v311;
}

static bool identity_sent(const struct diag_obs *o)
{
	return o->mq && (o->mq->had_username || o->mq->rec.client_cert_sent);
}

static void seen_connack(const struct diag_obs *o, struct rule_out *out, int v311, int v5)
{
	const char *text311 = mqttdec_reason_name(4, 2, (uint8_t)v311);
	const char *text5 = mqttdec_reason_name(5, 2, (uint8_t)v5);

	mq_str_printf(&out->seen, "ESP32: PubSubClient rc=%d (state() = CONNACK %d).\n", v311, v311);
	mq_str_printf(&out->seen, "mosquitto_pub: Connection error: Connection Refused: %s.  (with -V 5: Connection error: %s)\n", text311, text5);
	mq_str_printf(&out->seen, "mosquitto -v: Sending CONNACK to %s (0, %d)%s", o->tls ? o->tls->address : "<address>",
		      o->mq->mqtt_version == MQTT_PROTOCOL_V5 ? v5 : v311,
		      v311 == 5 ? ", then 'Client <unknown> disconnected, not authorised.'" : "");
}

/* A refusal of a client that sent no identity at all: "not authorised", or — from a listener that
 * takes usernames from certificates (use_identity_as_username without require_certificate) —
 * "bad user name or password" although none was sent. Either way the broker wants credentials. */
static bool c_anonymous(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return connack_refused(o) && !identity_sent(o) &&
	       (rc_is(o, CONNACK_REFUSED_NOT_AUTHORIZED, MQTT_RC_NOT_AUTHORIZED) ||
		rc_is(o, CONNACK_REFUSED_BAD_USERNAME_PASSWORD, MQTT_RC_BAD_USERNAME_OR_PASSWORD));
}

static void e_anonymous(const struct diag_obs *o, struct rule_out *out)
{
	bool four = rc_is(o, CONNACK_REFUSED_BAD_USERNAME_PASSWORD, MQTT_RC_BAD_USERNAME_OR_PASSWORD);

	mq_str_printf(&out->title, "The broker refuses clients without credentials");
	if (four)
		mq_str_printf(&out->detail, "The broker answered CONNACK %d (bad user name or password) to a client that sent neither a username nor a "
			      "client certificate: it wants an identity. Mosquitto answers so when the listener takes usernames from client certificates "
			      "('use_identity_as_username' or 'use_subject_as_username') and this client sent none — without 'require_certificate true' "
			      "the broker does not even ask for one.",
			      o->mq->connack_rc);
	else
		mq_str_printf(&out->detail, "The broker answered CONNACK %d (not authorised) to a client that sent no username%s. "
			      "Mosquitto 2.x refuses anonymous clients unless the listener says 'allow_anonymous true'; with no password_file "
			      "and no certificate identity, it refuses everyone.",
			      o->mq->connack_rc, o->mq->rec.client_cert_sent ? "" : " and no client certificate");
	if (four)
		mq_str_printf(&out->fix, "Give the device's certificate: --cert device.crt --key device.key (ESP32: setCertificate/setPrivateKey), "
			      "and on the broker add 'require_certificate true' to the listener so it asks for it;\n"
			      "or, if devices log in with passwords: -u USER -P PASS, a password_file, and no use_identity_as_username\n"
			      "then sudo systemctl restart mosquitto");
	else
		mq_str_printf(&out->fix, "Either give credentials: -u USER -P PASS, with on the broker:\n"
			      "  sudo mosquitto_passwd -c /etc/mosquitto/passwd USER\n  password_file /etc/mosquitto/passwd    # in the listener / mosquitto.conf\n"
			      "or, in a lab only: allow_anonymous true\nthen sudo systemctl restart mosquitto");
	if (four)
		seen_connack(o, out, 4, MQTT_RC_BAD_USERNAME_OR_PASSWORD);
	else
		seen_connack(o, out, 5, MQTT_RC_NOT_AUTHORIZED);
}

/* Mosquitto 2.0 answers a wrong password or an unknown user with "not authorised" (5 / 0x87),
 * not with 4: a refused client that sent a username (and no certificate) is read as that. */
static bool refused_user(const struct diag_obs *o)
{
	return rc_is(o, CONNACK_REFUSED_NOT_AUTHORIZED, MQTT_RC_NOT_AUTHORIZED) && o->mq->had_username;
}

static bool refused_auth(const struct diag_obs *o)
{
	return rc_is(o, CONNACK_REFUSED_BAD_USERNAME_PASSWORD, MQTT_RC_BAD_USERNAME_OR_PASSWORD) ||
	       rc_is(o, CONNACK_REFUSED_NOT_AUTHORIZED, MQTT_RC_NOT_AUTHORIZED);
}

/* No username, but a client certificate: the broker made the identity from the certificate. */
static bool cert_identity(const struct diag_obs *o)
{
	return !o->mq->had_username && o->mq->rec.client_cert_sent;
}

static bool c_bad_credentials(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return connack_refused(o) && o->mq->had_username &&
	       (rc_is(o, CONNACK_REFUSED_BAD_USERNAME_PASSWORD, MQTT_RC_BAD_USERNAME_OR_PASSWORD) || refused_user(o));
}

static void e_bad_credentials(const struct diag_obs *o, struct rule_out *out)
{
	mq_str_printf(&out->title, "The broker refused the username or password");
	mq_str_printf(&out->detail, "The broker answered CONNACK %d (%s) for user \"", o->mq->connack_rc,
		      mqttdec_reason_name(o->mq->mqtt_version == MQTT_PROTOCOL_V5 ? 5 : 4, 2, (uint8_t)o->mq->connack_rc));
	put_untrusted(&out->detail, o->t->user ? o->t->user : "");
	mq_str_printf(&out->detail, "\": that user is not in its password_file, or the password differs%s.",
		      refused_user(o) ? " (mosquitto answers a wrong password with 'not authorised', not with 'bad user name or password'). "
					"A Mosquitto 2.x listener with no password_file and no allow_anonymous refuses every username too" : "");
	mq_str_printf(&out->fix, "sudo mosquitto_passwd /etc/mosquitto/passwd %s    # set the password again\n"
		      "grep password_file /etc/mosquitto/mosquitto.conf /etc/mosquitto/conf.d/*.conf    # the file the broker really reads\n"
		      "sudo systemctl restart mosquitto    # mosquitto 2.0 reads the file at start and on SIGHUP",
		      o->t->user ? o->t->user : "USER");
	if (refused_user(o))
		seen_connack(o, out, 5, MQTT_RC_NOT_AUTHORIZED);
	else
		seen_connack(o, out, 4, MQTT_RC_BAD_USERNAME_OR_PASSWORD);
}

static bool c_not_authorized(const struct diag_obs *o, const struct findings *fs)
{
	if (!connack_refused(o) || findings_has(fs, "ANONYMOUS_NOT_ALLOWED") || findings_has(fs, "BAD_CREDENTIALS"))
		return false;
	return (refused_auth(o) && cert_identity(o)) ||
	       (o->mq->mqtt_version == MQTT_PROTOCOL_V5 && (o->mq->connack_rc == MQTT_RC_BANNED || o->mq->connack_rc == MQTT_RC_BAD_AUTHENTICATION_METHOD));
}

static void e_not_authorized(const struct diag_obs *o, struct rule_out *out)
{
	mq_str_printf(&out->title, "The broker refused the connection as not authorised");
	mq_str_printf(&out->detail, "The broker answered CONNACK %d (%s) to a client that identified itself with %s. ",
		      o->mq->connack_rc, mqttdec_reason_name(o->mq->mqtt_version == MQTT_PROTOCOL_V5 ? 5 : 4, 2, (uint8_t)o->mq->connack_rc),
		      cert_identity(o) ? "its certificate only (no username)" : "its credentials");
	if (cert_identity(o)) {
		mq_str_printf(&out->detail, "The broker takes the username from the certificate ('use_identity_as_username' uses the CN, "
			      "'use_subject_as_username' the whole subject) and refused that identity");
		if (o->client) {
			mq_str_printf(&out->detail, ": the certificate's subject is \"");
			put_untrusted(&out->detail, o->client->subject);
			mq_str_printf(&out->detail, "\"%s", o->client->cn ? "" : ", which has no CN to use as a username");
		}
		mq_str_printf(&out->detail, ". Or a plugin (dynamic security, auth plugin) does not know that identity.");
	} else {
		mq_str_printf(&out->detail, "The broker knows the client but does not allow it (banned, or an authentication method it does not support).");
	}
	mq_str_printf(&out->fix, "openssl x509 -in %s -noout -subject    # the identity the broker sees\n"
		      "Issue the device certificate with a CN that is the device's username: mqttls certs device <name> --dir DIR (CN=<name>)\n"
		      "and allow that name in the broker's password_file / ACL / plugin.", o->t->cert ? o->t->cert : "device.crt");
	if (rc_is(o, CONNACK_REFUSED_BAD_USERNAME_PASSWORD, MQTT_RC_BAD_USERNAME_OR_PASSWORD))
		seen_connack(o, out, 4, MQTT_RC_BAD_USERNAME_OR_PASSWORD);
	else
		seen_connack(o, out, 5, MQTT_RC_NOT_AUTHORIZED);
}

static bool c_client_id(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return connack_refused(o) && rc_is(o, CONNACK_REFUSED_IDENTIFIER_REJECTED, MQTT_RC_CLIENTID_NOT_VALID);
}

static void e_client_id(const struct diag_obs *o, struct rule_out *out)
{
	mq_str_printf(&out->title, "The broker refused the client id");
	mq_str_printf(&out->detail, "The broker answered CONNACK %d (identifier rejected) for client id \"", o->mq->connack_rc);
	put_untrusted(&out->detail, o->mq->client_id);
	mq_str_printf(&out->detail, "\": empty ids need a clean session, some brokers limit length or characters, and 'clientid_prefixes' in mosquitto.conf rejects ids without the prefix.");
	mq_str_printf(&out->fix, "Use a short unique id of letters, digits and '-': -i esp32-kitchen-01\ngrep clientid_prefixes /etc/mosquitto/mosquitto.conf");
	seen_connack(o, out, 2, MQTT_RC_CLIENTID_NOT_VALID);
}

static bool c_mqtt_other(const struct diag_obs *o, const struct findings *fs)
{
	static const char *const ids[] = { "ANONYMOUS_NOT_ALLOWED", "BAD_CREDENTIALS", "NOT_AUTHORIZED", "CLIENT_ID_REJECTED", NULL };

	if (!o->mq || has_any(fs, ids))
		return false;
	return o->mq->end == MQCONN_END_CONNECT_FAILED || o->mq->end == MQCONN_END_CONNECT_TIMEOUT || connack_refused(o);
}

static void e_mqtt_other(const struct diag_obs *o, struct rule_out *out)
{
	mq_str_printf(&out->title, "The MQTT connection failed after TLS");
	if (connack_refused(o))
		mq_str_printf(&out->detail, "The broker answered CONNACK %d (%s).", o->mq->connack_rc,
			      mqttdec_reason_name(o->mq->mqtt_version == MQTT_PROTOCOL_V5 ? 5 : 4, 2, (uint8_t)o->mq->connack_rc));
	else if (o->mq->end == MQCONN_END_CONNECT_TIMEOUT)
		mq_str_printf(&out->detail, "No CONNACK came within %.0f s after the TLS handshake: the broker accepted the connection but never answered the MQTT CONNECT.", o->timeout);
	else
		mq_str_printf(&out->detail, "libmosquitto could not connect: %s (MOSQ_ERR %d). The TLS probe before it had succeeded; the broker may have changed in between, or it treats libmosquitto's connection differently.",
			      o->mq->mosq_err_text[0] ? o->mq->mosq_err_text : "no CONNACK", o->mq->mosq_err);
	mq_str_printf(&out->fix, "Run again; read the broker log for this connection and paste it into: mqttls explain '<line>'");
	mq_str_printf(&out->seen, "ESP32: PubSubClient rc=-4 (no CONNACK in time) or rc=-2.");
}

static bool c_acl(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return o->mq && (o->mq->end == MQCONN_END_SUB_DENIED || o->mq->end == MQCONN_END_PUB_DENIED || o->mq->end == MQCONN_END_ROUNDTRIP_TIMEOUT);
}

/* What the round trip tells about the direction an ACL denies: 'w' writing, 'r' reading, '?' either. */
static char acl_direction(const struct diag_obs *o)
{
	const struct mqconn_result *m = o->mq;

	if (m->end == MQCONN_END_PUB_DENIED)
		return 'w';
	if (m->end == MQCONN_END_SUB_DENIED)
		return 'r';
	/* MQTT 5 reports a denied publish in its PUBACK: an accepted publish that never comes back
	 * was held back from this reader. MQTT 3.1.1 acknowledges a denied publish all the same. */
	if (m->mqtt_version == MQTT_PROTOCOL_V5 && m->published && m->puback_rc < 0x80 && m->subscribed && m->granted_qos < 0x80 && o->t->qos > 0)
		return 'r';
	return '?';
}

static void e_acl(const struct diag_obs *o, struct rule_out *out)
{
	const struct mqconn_result *m = o->mq;
	char topic[600], dir = acl_direction(o);
	const char *who = o->t->user ? o->t->user : (m->rec.client_cert_sent && o->client && o->client->cn) ? o->client->cn : NULL;
	const char *base = o->t->topic && *o->t->topic ? o->t->topic : "mqttls";

	mq_escape(m->topic, strlen(m->topic), topic, sizeof topic);
	mq_str_printf(&out->title, "%s %s is denied", dir == 'w' ? "Publishing on" : dir == 'r' ? "Reading" : "Publishing or subscribing on", topic);
	if (m->end == MQCONN_END_SUB_DENIED)
		mq_str_printf(&out->detail, "The broker refused the subscription to %s (SUBACK 0x%02X).", topic, m->granted_qos);
	else if (m->end == MQCONN_END_PUB_DENIED)
		mq_str_printf(&out->detail, "The broker refused the publish to %s (PUBACK reason 0x%02X %s).", topic, m->puback_rc,
			      mqttdec_reason_name(5, 4, (uint8_t)m->puback_rc));
	else if (dir == 'r')
		mq_str_printf(&out->detail, "The broker granted the subscription to %s and accepted the publish to it (PUBACK reason 0x%02X; MQTT 5 says 0x87 when the ACL "
			      "denies writing), but never delivered the message within %.0f s: the ACL lets this client write here, not read.",
			      topic, m->puback_rc, o->timeout);
	else
		mq_str_printf(&out->detail, "Subscribed to %s%s and published to it at QoS %d%s, but the message never came back within %.0f s. "
			      "MQTT 3.1.1 brokers drop a denied publish without telling the client (the PUBACK still comes), and hold back messages the client may not read: "
			      "an ACL denies writing to this topic, or reading it (with -V 5 the PUBACK tells which).",
			      topic, m->subscribed ? " (granted)" : " (no SUBACK)", o->t->qos, m->published ? " (acknowledged)" : "", o->timeout);
	mq_str_printf(&out->detail, " The topic is a unique one under your -t, so that no other client's messages interfere.");
	mq_str_printf(&out->fix, "In the broker's acl_file, for this %s (or with 'pattern' and %%u for every one):\n  user ",
		      m->rec.client_cert_sent && !o->t->user ? "certificate's CN, the username with use_identity_as_username" : "user");
	if (who)
		put_untrusted(&out->fix, who);
	else
		mq_str_printf(&out->fix, "<username>");
	mq_str_printf(&out->fix, "\n  topic %s %s/#\nthen sudo systemctl reload mosquitto (SIGHUP re-reads the ACL)",
		      dir == 'w' ? "write" : dir == 'r' ? "read" : "readwrite", base);
	if (dir == 'r')
		mq_str_printf(&out->fix, "\nIf this client should only publish there (a device's telemetry), its ACL is right: the round trip needs reading too — "
			      "diagnose with -t on a topic it may read and write.");
	else if (dir == '?')
		mq_str_printf(&out->fix, "\nA device that should only publish (or only subscribe) there needs just one of the two: diagnose again with -V 5 to see which one is denied.");
	mq_str_printf(&out->seen, "ESP32: client.publish() returns true and nothing arrives; client.subscribe() returns true (PubSubClient does not check the SUBACK).\n"
		      "mosquitto_pub: nothing at all — the publish looks successful.\nmosquitto -v: Denied PUBLISH from <client id> (..., '%s', ...)%s", topic,
		      dir == 'r' ? " does not appear for a denied read: the broker simply does not deliver" : "");
}

/* ---------------------------------------------------------------- warnings */

static bool c_no_san(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return leaf(o) && !leaf(o)->has_san && !findings_has(fs, "HOSTNAME_MISMATCH") && !findings_has(fs, "IP_NOT_IN_SAN");
}

static void e_no_san(const struct diag_obs *o, struct rule_out *out)
{
	const struct cert_info *l = leaf(o);

	mq_str_printf(&out->title, "The broker certificate has no subjectAltName");
	mq_str_printf(&out->detail, "It names the broker only in its CN (\"");
	put_untrusted(&out->detail, l->cn ? l->cn : "");
	mq_str_printf(&out->detail, "\"). OpenSSL and mbedTLS still fall back to the CN, but Go, Chrome-based tools, Python 3.7+ for IP addresses, "
		      "and any client connecting by IP reject a certificate without SAN.");
	san_fix(o, out);
	mq_str_printf(&out->seen, "Works today with mosquitto_pub -h <CN>; fails with -h <IP>: Unable to connect (A TLS error occurred.); Node.js: ERR_TLS_CERT_ALTNAME_INVALID.");
}

static bool c_expiring(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	for (size_t i = 0; i < o->n_chain; i++)
		if (o->chain[i].not_after >= o->now && o->chain[i].not_after - o->now < 30 * DAY)
			return true;
	return false;
}

static void e_expiring(const struct diag_obs *o, struct rule_out *out)
{
	char a[32];

	mq_str_printf(&out->title, "A certificate of the broker's chain expires within 30 days");
	for (size_t i = 0; i < o->n_chain; i++) {
		const struct cert_info *c = &o->chain[i];
		if (c->not_after < o->now || c->not_after - o->now >= 30 * DAY)
			continue;
		mq_str_printf(&out->detail, "%s\"", out->detail.len ? "; " : "");
		put_untrusted(&out->detail, c->subject);
		mq_str_printf(&out->detail, "\" (depth %zu) expires on %s, in %lld days", i, date(c->not_after, a, sizeof a), (c->not_after - o->now) / DAY);
	}
	mq_str_printf(&out->detail, ". Devices with a correct clock will then refuse the broker.");
	mq_str_printf(&out->fix, "Renew before then: mqttls certs server broker --dir DIR --force; sudo systemctl restart mosquitto");
	mq_str_printf(&out->seen, "After expiry: ESP32 -0x2700 flags 0x01 (alert 45 in the broker log); mosquitto_pub: Error: A TLS error occurred.");
}

static bool c_long(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return leaf(o) && leaf(o)->not_after - leaf(o)->not_before > 398 * DAY;
}

static void e_long(const struct diag_obs *o, struct rule_out *out)
{
	const struct cert_info *l = leaf(o);

	mq_str_printf(&out->title, "The broker certificate is valid for more than 398 days");
	mq_str_printf(&out->detail, "It is valid for %lld days. Browsers and Apple/Google clients refuse leaf certificates valid longer than 398 days, "
		      "and a long-lived key that leaks stays usable for years.", (l->not_after - l->not_before) / DAY);
	mq_str_printf(&out->fix, "Re-issue with -days 397 (mqttls certs uses 397 by default) and renew it yearly.");
	mq_str_printf(&out->seen, "Nothing fails today; it is a hygiene warning.");
}

/* A broker that answered TLS 1.3 refuses a TLS 1.2-only ClientHello before any ServerHello:
 * by version (alert 70) or because none of its TLS 1.2 suites fits ('ciphers', alert 40). */
static bool refuses_12(const struct diag_obs *o)
{
	const struct probe_result *p = o->only12;
	int a;

	if (!p || p->tcp != PROBE_TCP_OK || p->handshake_done || p->rec.server_hello)
		return false;
	a = tlsctx_alert_received(&p->rec);
	return a == 70 || a == 40 || a == 71;
}

static bool c_only13(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return refuses_12(o);
}

static void e_only13(const struct diag_obs *o, struct rule_out *out)
{
	int a = tlsctx_alert_received(&o->only12->rec);

	mq_str_printf(&out->title, "The broker accepts TLS 1.3 only: devices without TLS 1.3 cannot connect");
	mq_str_printf(&out->detail, "This client connected with TLS 1.3, but a handshake offering TLS 1.2 only — what an ESP32 on Arduino-ESP32 2.x / "
		      "ESP-IDF 4.x (mbedTLS 2.x), an ESP8266 or an OpenSSL 1.0 client offers — was refused with alert %d %s: %s.",
		      a, explain_alert_name(a) ? explain_alert_name(a) : "",
		      a == 70 ? "the broker allows no TLS version below 1.3 ('tls_version tlsv1.3')"
			      : "none of the TLS 1.2 suites it allows fits (a 'ciphers' line for another key type, or too narrow)");
	if (a == 70)
		mq_str_printf(&out->fix, "In the TLS listener: tls_version tlsv1.2    (in mosquitto a minimum: TLS 1.3 stays available)\nthen sudo systemctl restart mosquitto");
	else
		mq_str_printf(&out->fix, "Allow TLS 1.2 suites for the broker's key type, or drop the 'ciphers' line:\n"
			      "  ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384\n"
			      "then sudo systemctl restart mosquitto; mqttls diagnose --tls-max tlsv1.2 checks it as a TLS 1.2 device would.");
	mq_str_printf(&out->seen, "ESP32 (mbedTLS 2.x): -0x7780 (fatal alert received), rc=-2; laptops and phones connect.\nmosquitto -v: ");
	openssl_reason_line(a == 70 ? SSL_R_UNSUPPORTED_PROTOCOL : SSL_R_NO_SHARED_CIPHER, &out->seen);
	mq_str_printf(&out->seen, ", then 'Client <unknown> disconnected: Protocol error.'");
}

static bool weak_accepted(const struct probe_result *p)
{
	return p && p->handshake_done;
}

static bool cipher_weak(const char *c)
{
	return c && *c && (strstr(c, "_CBC_") || !strncmp(c, "TLS_RSA_WITH", 12));
}

static bool c_weak(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	if (weak_accepted(o->weak_old) || weak_accepted(o->weak_nofs))
		return true;
	if (o->tls && o->tls->handshake_done && cipher_weak(o->tls->cipher))
		return true;
	for (size_t i = 0; i < o->n_chain; i++) {
		const struct cert_info *c = &o->chain[i];
		if ((c->sig_alg && strcasestr(c->sig_alg, "sha1") && !c->self_signed) ||
		    (c->key && !strncmp(c->key, "RSA", 3) && c->key_bits > 0 && c->key_bits < 2048))
			return true;
	}
	return false;
}

static void e_weak(const struct diag_obs *o, struct rule_out *out)
{
	mq_str_printf(&out->title, "The broker accepts weak TLS");
	if (weak_accepted(o->weak_old))
		mq_str_printf(&out->detail, "It completed a handshake offering only %s (%s). ", o->weak_old->version_name, o->weak_old->cipher);
	if (weak_accepted(o->weak_nofs))
		mq_str_printf(&out->detail, "It accepts %s, a suite without forward secrecy: whoever gets the broker's key later can decrypt recorded traffic. ", o->weak_nofs->cipher);
	if (o->tls && o->tls->handshake_done && cipher_weak(o->tls->cipher))
		mq_str_printf(&out->detail, "Even with a modern offer it picked %s. ", o->tls->cipher);
	for (size_t i = 0; i < o->n_chain; i++) {
		const struct cert_info *c = &o->chain[i];
		if (c->sig_alg && strcasestr(c->sig_alg, "sha1") && !c->self_signed) {
			mq_str_printf(&out->detail, "\"");
			put_untrusted(&out->detail, c->subject);
			mq_str_printf(&out->detail, "\" is signed with %s (SHA-1). ", c->sig_alg);
		}
		if (c->key && !strncmp(c->key, "RSA", 3) && c->key_bits > 0 && c->key_bits < 2048) {
			mq_str_printf(&out->detail, "\"");
			put_untrusted(&out->detail, c->subject);
			mq_str_printf(&out->detail, "\" has a %d-bit RSA key. ", c->key_bits);
		}
	}
	mq_str_printf(&out->fix, "In the TLS listener: tls_version tlsv1.2\n  ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384\n"
		      "Re-issue certificates with SHA-256 and EC P-256 or RSA 2048+: mqttls certs init --dir DIR");
	mq_str_printf(&out->seen, "Nothing fails; clients at OpenSSL 3's default security level refuse these anyway, old or misconfigured ones do not.");
}

static bool c_insecure(const struct diag_obs *o, const struct findings *fs)
{
	(void)fs;
	return o->tls_target && o->t->verify != TARGET_VERIFY_FULL;
}

static void e_insecure(const struct diag_obs *o, struct rule_out *out)
{
	const struct probe_result *p = tls_probe(o);
	const struct cert_info *l = leaf(o);

	if (o->t->verify == TARGET_VERIFY_NONE) {
		mq_str_printf(&out->title, "Certificate verification is off (--no-verify, as ESP32 setInsecure())");
		mq_str_printf(&out->detail, "Nothing about the broker's certificate is checked: anyone on the network path (a rogue access point, ARP spoofing, "
			      "a laptop in the classroom) can present any certificate, and this client will send its username, password and messages to it — try it with 'mqttls mitm'.");
		if (p && p->rec.n_verrs)
			mq_str_printf(&out->detail, " Here verification would have failed: %s (depth %d).",
				      X509_verify_cert_error_string(p->rec.verrs[0].err), p->rec.verrs[0].depth);
		else if (p && p->handshake_done)
			mq_str_printf(&out->detail, " Here the certificate would have verified: turning verification on costs nothing.");
		mq_str_printf(&out->fix, "Give the CA instead: --cafile ca.crt (ESP32: espClient.setCACert(ca_pem); mqttls certs export-esp32 ca.crt)");
	} else {
		mq_str_printf(&out->title, "The broker's host name is not checked (--insecure)");
		mq_str_printf(&out->detail, "The CA is checked, the name is not: any certificate your CA ever issued — another device's, a test broker's — can impersonate this broker.");
		if (l) {
			const char *m = NULL;
			if (cert_info_matches_host(l, o->t->host, &m))
				mq_str_printf(&out->detail, " Here the name would match (%s): --insecure is not needed.", o->t->host);
			else
				mq_str_printf(&out->detail, " Here the name would NOT match: the certificate does not cover %s (see IP_NOT_IN_SAN / HOSTNAME_MISMATCH when you drop --insecure).", o->t->host);
		}
		mq_str_printf(&out->fix, "Drop --insecure and connect with a name the certificate covers, or add the name to its SAN: mqttls certs server broker --san %s:%s --dir DIR",
			      tlsctx_is_ip(o->t->host) ? "IP" : "DNS", o->t->host);
	}
	mq_str_printf(&out->seen, "Nothing fails — that is the danger: a rogue broker is accepted just as silently.");
}

/* ---------------------------------------------------------------- the table */

static const struct rule rules[] = {
	{ "CAFILE_INVALID", DIAG_PHASE_LOCAL, c_cafile_invalid, e_cafile_invalid },
	{ "CAFILE_NOT_CA", DIAG_PHASE_LOCAL, c_cafile_not_ca, e_cafile_not_ca },
	{ "CLIENT_CERT_INVALID", DIAG_PHASE_LOCAL, c_client_invalid, e_client_invalid },
	{ "CLIENT_KEY_MISMATCH", DIAG_PHASE_LOCAL, c_key_mismatch, e_key_mismatch },
	{ "CLIENT_CERT_EXPIRED", DIAG_PHASE_LOCAL, c_client_expired, e_client_expired },
	{ "DNS_FAILED", DIAG_PHASE_RESOLVE, c_dns, e_dns },
	{ "TCP_REFUSED", DIAG_PHASE_TCP, c_tcp_refused, e_tcp_refused },
	{ "TCP_TIMEOUT", DIAG_PHASE_TCP, c_tcp_timeout, e_tcp_timeout },
	/* TLS before certificates: the port, the versions, the suites */
	{ "PLAINTEXT_PORT", DIAG_PHASE_TLS, c_plaintext, e_plaintext },
	{ "NOT_TLS", DIAG_PHASE_TLS, c_not_tls, e_not_tls },
	{ "TLS_VERSION_MISMATCH", DIAG_PHASE_TLS, c_version, e_version },
	{ "NO_SHARED_CIPHER", DIAG_PHASE_TLS, c_cipher, e_cipher },
	/* the broker's certificate, as a device checks it first */
	{ "CERT_EXPIRED", DIAG_PHASE_TLS, c_expired, e_expired },
	{ "CERT_NOT_YET_VALID", DIAG_PHASE_TLS, c_not_yet, e_not_yet },
	{ "SELF_SIGNED_SERVER", DIAG_PHASE_TLS, c_self_signed, e_self_signed },
	{ "INCOMPLETE_CHAIN", DIAG_PHASE_TLS, c_incomplete, e_incomplete },
	{ "WRONG_CA", DIAG_PHASE_TLS, c_wrong_ca, e_wrong_ca },
	{ "HOSTNAME_MISMATCH", DIAG_PHASE_TLS, c_hostname, e_hostname },
	{ "IP_NOT_IN_SAN", DIAG_PHASE_TLS, c_ip_san, e_ip_san },
	{ "SERVER_CERT_WRONG_PURPOSE", DIAG_PHASE_TLS, c_purpose, e_purpose },
	{ "VERIFY_FAILED", DIAG_PHASE_TLS, c_verify_other, e_verify_other },
	/* then the broker's verdict on us */
	{ "CLIENT_CERT_REQUIRED", DIAG_PHASE_TLS, c_cert_required, e_cert_required },
	{ "CLIENT_CERT_EXPIRED", DIAG_PHASE_TLS, c_client_expired_alert, e_client_expired_alert },
	{ "CLIENT_CERT_REJECTED", DIAG_PHASE_TLS, c_cert_rejected, e_cert_rejected },
	{ "TLS_HANDSHAKE_FAILED", DIAG_PHASE_TLS, c_tls_other, e_tls_other },
	{ "ANONYMOUS_NOT_ALLOWED", DIAG_PHASE_MQTT, c_anonymous, e_anonymous },
	{ "BAD_CREDENTIALS", DIAG_PHASE_MQTT, c_bad_credentials, e_bad_credentials },
	{ "NOT_AUTHORIZED", DIAG_PHASE_MQTT, c_not_authorized, e_not_authorized },
	{ "CLIENT_ID_REJECTED", DIAG_PHASE_MQTT, c_client_id, e_client_id },
	{ "MQTT_CONNECT_FAILED", DIAG_PHASE_MQTT, c_mqtt_other, e_mqtt_other },
	{ "ACL_DENIED", DIAG_PHASE_PUBSUB, c_acl, e_acl },
	{ "NO_SAN", DIAG_PHASE_END, c_no_san, e_no_san },
	{ "CERT_EXPIRING_SOON", DIAG_PHASE_END, c_expiring, e_expiring },
	{ "LONG_VALIDITY", DIAG_PHASE_END, c_long, e_long },
	{ "WEAK_TLS", DIAG_PHASE_END, c_weak, e_weak },
	{ "CONF_TLS_VERSION_PINNED", DIAG_PHASE_END, c_only13, e_only13 },
	{ "INSECURE_VERIFY_OFF", DIAG_PHASE_END, c_insecure, e_insecure },
};

/* The name the served certificate has in the user's PKI: re-issuing it under that name rewrites
 * the files the broker already uses (NAME.crt, NAME-fullchain.crt). */
static const char *server_name(const struct diag_obs *o)
{
	return o->served_name[0] ? o->served_name : NULL;
}

/* Fixes in the user's own terms: "--dir DIR" and "DIR/x" become their PKI directory when it is
 * known, "certs server broker" the broker certificate's own name. NULL when nothing changes. */
static char *name_user_files(const struct diag_obs *o, const char *fix)
{
	struct mq_str b = { 0 };
	const char *p = fix, *name = server_name(o);

	if (!fix || (!o->pki_dir[0] && !name))
		return NULL;
	while (*p) {
		if (name && !strncmp(p, "certs server broker", 19)) {
			mq_str_printf(&b, "certs server %s", name);
			p += 19;
		} else if (o->pki_dir[0] && !strncmp(p, "--dir DIR", 9)) {
			mq_str_printf(&b, "--dir %s", o->pki_dir);
			p += 9;
		} else if (o->pki_dir[0] && !strncmp(p, "DIR/", 4) && (p == fix || p[-1] == ' ' || p[-1] == '(' || p[-1] == '\n')) {
			mq_str_printf(&b, "%s/", o->pki_dir);
			p += 4;
		} else {
			mq_str_append(&b, p, 1);
			p++;
		}
	}
	return mq_str_take(&b);
}

size_t diag_rules_apply(const struct diag_obs *o, enum diag_rule_phase phase, struct findings *out)
{
	size_t added = 0;

	for (size_t i = 0; i < MQ_ARRAY_LEN(rules); i++) {
		const struct rule *r = &rules[i];
		struct rule_out ro = { 0 };
		struct finding *f;

		if (r->phase != phase || findings_has(out, r->id) || !r->check(o, out))
			continue;
		r->explain(o, &ro);
		{
			char *named = name_user_files(o, ro.fix.s);
			f = findings_add(out, r->id, ro.title.s, ro.detail.s, named ? named : ro.fix.s);
			free(named);
		}
		if (ro.seen.s)
			finding_set_seen(f, "%s", ro.seen.s);
		if (ro.path)
			finding_set_path(f, ro.path);
		mq_str_free(&ro.title);
		mq_str_free(&ro.detail);
		mq_str_free(&ro.fix);
		mq_str_free(&ro.seen);
		added++;
	}
	return added;
}

size_t diag_rules_apply_all(const struct diag_obs *o, struct findings *out)
{
	size_t n = 0;
	for (int p = DIAG_PHASE_LOCAL; p <= DIAG_PHASE_END; p++)
		n += diag_rules_apply(o, (enum diag_rule_phase)p, out);
	return n;
}

enum diag_stage_id diag_rules_stage(const char *id)
{
	static const struct { const char *id; enum diag_stage_id st; } extra[] = {
		{ "HOSTNAME_MISMATCH", DIAG_VERIFY }, { "IP_NOT_IN_SAN", DIAG_VERIFY }, { "CERT_EXPIRED", DIAG_VERIFY },
		{ "CERT_NOT_YET_VALID", DIAG_VERIFY }, { "WRONG_CA", DIAG_VERIFY }, { "SELF_SIGNED_SERVER", DIAG_VERIFY },
		{ "INCOMPLETE_CHAIN", DIAG_VERIFY }, { "SERVER_CERT_WRONG_PURPOSE", DIAG_VERIFY }, { "VERIFY_FAILED", DIAG_VERIFY },
		{ "CAFILE_NOT_CA", DIAG_VERIFY }, { "CAFILE_INVALID", DIAG_VERIFY }, { "NO_SAN", DIAG_VERIFY },
		{ "CERT_EXPIRING_SOON", DIAG_VERIFY }, { "LONG_VALIDITY", DIAG_VERIFY }, { "INSECURE_VERIFY_OFF", DIAG_VERIFY },
		{ "WEAK_TLS", DIAG_TLS }, { "CONF_TLS_VERSION_PINNED", DIAG_TLS }, { "CLIENT_CERT_INVALID", DIAG_TLS }, { "CLIENT_KEY_MISMATCH", DIAG_TLS },
		{ "CLIENT_CERT_EXPIRED", DIAG_TLS },
	};
	for (size_t i = 0; i < MQ_ARRAY_LEN(extra); i++)
		if (!strcmp(extra[i].id, id))
			return extra[i].st;
	for (size_t i = 0; i < MQ_ARRAY_LEN(rules); i++) {
		if (strcmp(rules[i].id, id))
			continue;
		switch (rules[i].phase) {
		case DIAG_PHASE_RESOLVE: return DIAG_RESOLVE;
		case DIAG_PHASE_TCP: return DIAG_TCP;
		case DIAG_PHASE_TLS: return DIAG_TLS;
		case DIAG_PHASE_MQTT: return DIAG_MQTT_CONNECT;
		case DIAG_PHASE_PUBSUB: return DIAG_PUBSUB;
		default: return DIAG_TLS;
		}
	}
	return DIAG_TLS;
}

void diag_rules_verify_summary(const struct diag_obs *o, char *buf, size_t size)
{
	const struct probe_result *p = tls_probe(o);
	const struct cert_info *l = leaf(o);
	const char *m = NULL;

	if (!p || !o->n_chain) {
		snprintf(buf, size, "no certificate was presented");
		return;
	}
	if (o->t->verify == TARGET_VERIFY_NONE) {
		snprintf(buf, size, "not verified (--no-verify)%s", p->rec.n_verrs ? "; it would have failed" : "; it would have passed");
		return;
	}
	for (size_t i = 0; i < p->rec.n_verrs; i++) {
		int e = p->rec.verrs[i].err;
		if (o->t->verify != TARGET_VERIFY_FULL && (e == X509_V_ERR_HOSTNAME_MISMATCH || e == X509_V_ERR_IP_ADDRESS_MISMATCH))
			continue;
		snprintf(buf, size, "%s (error %d at depth %d)", X509_verify_cert_error_string(e), e, p->rec.verrs[i].depth);
		return;
	}
	if (o->t->verify == TARGET_VERIFY_FULL && l && cert_info_matches_host(l, o->t->host, &m) && m) {
		char e[200];
		mq_escape(m, strlen(m), e, sizeof e);
		snprintf(buf, size, "chain of %zu verified against %s; %s matches %s", o->n_chain,
			 o->t->cafile ? o->t->cafile : o->t->capath ? o->t->capath : "the system CAs", o->t->host, e);
	} else {
		snprintf(buf, size, "chain of %zu verified against %s%s", o->n_chain,
			 o->t->cafile ? o->t->cafile : o->t->capath ? o->t->capath : "the system CAs",
			 o->t->verify == TARGET_VERIFY_NO_HOST ? " (host name not checked: --insecure)" : "");
	}
}
