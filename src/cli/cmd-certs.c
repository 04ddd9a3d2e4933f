/* mqttls certs — the lab PKI: one row per subcommand, options shared through one parser. */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cli.h"
#include "mqttls/chain.h"
#include "mqttls/esp32.h"
#include "mqttls/pki.h"
#include "mqttls/util.h"

#define DEFAULT_DIR "certs/lab"

const char usage_certs[] =
	"usage: mqttls certs SUBCOMMAND [ARGS]\n"
	"\n"
	"The lab PKI, made by mqttls itself with OpenSSL: a root CA, an intermediate CA, broker and\n"
	"device certificates, and deliberately broken certificates for labs and tests.\n"
	"\n"
	"  certs init [--dir DIR] [--rsa BITS] [--san DNS:x|IP:y]... [--days N] [--force]\n"
	"  certs server NAME [--san DNS:x|IP:y]... [--dir DIR] [--rsa BITS] [--days N] [--force]\n"
	"  certs device NAME [--dir DIR] [--rsa BITS] [--days N] [--force]\n"
	"  certs broken KIND|all [--dir DIR] [--san ...] [--rsa BITS] [--days N] [--force]  (or --list)\n"
	"  certs show FILE [--json] [--host HOST]\n"
	"  certs export-esp32 FILE [--arduino | --esp-idf] [--name VAR]\n"
	"\n"
	"DIR is certs/lab by default. Keys are written mode 0600; nothing that exists is replaced\n"
	"without --force. 'mqttls certs SUBCOMMAND --help' describes one subcommand.\n";

static const char certs_usage_init[] =
	"usage: mqttls certs init [--dir DIR] [--rsa BITS] [--san DNS:x|IP:y]... [--days N] [--force]\n"
	"\n"
	"Make a lab PKI in DIR (default certs/lab):\n"
	"  ca.crt, ca.key                      root CA (what clients trust: --cafile, ESP32 setCACert)\n"
	"  intermediate.crt, intermediate.key  intermediate CA (pathlen 0), signs the rest\n"
	"  broker.crt, broker.key              broker certificate for localhost, this host's name,\n"
	"                                      127.0.0.1, ::1, every local IPv4 address and each --san\n"
	"  broker-fullchain.crt                broker + intermediate: mosquitto's certfile\n"
	"  device1.crt, device1.key            a device certificate (EKU clientAuth) for mutual TLS\n"
	"\n"
	"  --dir DIR       where to write (created if missing)\n"
	"  --rsa BITS      RSA keys of BITS bits (2048-16384) instead of ECDSA P-256\n"
	"  --san DNS:x     an extra name or address for the broker certificate (repeatable)\n"
	"  --days N        validity of the broker and device certificates (default 397)\n"
	"  --force         replace existing files\n";

static const char certs_usage_server[] =
	"usage: mqttls certs server NAME [--san DNS:x|IP:y]... [--dir DIR] [--rsa BITS] [--days N] [--force]\n"
	"\n"
	"A broker certificate NAME.crt / NAME.key / NAME-fullchain.crt, signed by the lab intermediate\n"
	"in DIR (default certs/lab; run 'certs init' first). Its SANs are NAME (when it is a host name\n"
	"or an address) and every --san.\n";

static const char certs_usage_device[] =
	"usage: mqttls certs device NAME [--dir DIR] [--rsa BITS] [--days N] [--force]\n"
	"\n"
	"A device (client) certificate NAME.crt / NAME.key with CN=NAME and EKU clientAuth, signed by\n"
	"the lab intermediate in DIR (default certs/lab). NAME.crt holds the device certificate and the\n"
	"intermediate: the chain a client presents to a broker that trusts ca.crt.\n";

static const char certs_usage_broken[] =
	"usage: mqttls certs broken KIND|all [--dir DIR] [--san DNS:x|IP:y]... [--rsa BITS] [--days N] [--force]\n"
	"       mqttls certs broken --list\n"
	"\n"
	"A broker certificate with exactly one defect, for labs and tests: broken-KIND.crt,\n"
	"broken-KIND.key and broken-KIND-fullchain.crt (mosquitto's certfile) in DIR (default\n"
	"certs/lab, which needs 'certs init' first). 'all' makes every kind. --list shows the kinds.\n"
	"--rsa and --days apply where the defect leaves them free (weak-rsa-1024 keeps its 1024 bits,\n"
	"expired and not-yet-valid keep their dates).\n";

static const char certs_usage_show[] =
	"usage: mqttls certs show FILE [--json] [--host HOST]\n"
	"\n"
	"Every certificate in FILE (PEM with any number of certificates, or one DER certificate):\n"
	"subject, issuer, serial, validity, SANs, key, signature algorithm, key usage, EKU, basic\n"
	"constraints, SHA-256 fingerprints. --json prints the contract's chain array. --host marks\n"
	"the SAN that matches HOST (or says that none does).\n";

static const char certs_usage_export[] =
	"usage: mqttls certs export-esp32 FILE [--arduino | --esp-idf] [--name VAR]\n"
	"\n"
	"The CA certificate(s) in FILE for an ESP32:\n"
	"  --arduino   (default) a C string for WiFiClientSecure::setCACert(), one quoted line per\n"
	"              PEM line: paste it into the sketch\n"
	"  --esp-idf   the PEM itself, for a file listed in EMBED_TXTFILES (esp_tls cacert_buf)\n"
	"  --name VAR  the C variable's name (default root_ca)\n"
	"A DER file is converted to PEM.\n";

/* ---- one option parser for every subcommand ----------------------------------------------- */

enum {
	O_DIR = 1 << 0, O_RSA = 1 << 1, O_SAN = 1 << 2, O_DAYS = 1 << 3, O_FORCE = 1 << 4,
	O_JSON = 1 << 5, O_HOST = 1 << 6, O_ARDUINO = 1 << 7, O_ESPIDF = 1 << 8, O_NAME = 1 << 9,
	O_LIST = 1 << 10,
};

struct args {
	struct pki_opts pki;
	const char *sans[64];
	const char *pos;      /* the one positional argument (NAME, KIND, FILE) */
	const char *host, *var;
	unsigned seen;
};

static const struct optdef {
	const char *name;
	unsigned bit;
	bool value;
} optdefs[] = {
	{ "--dir", O_DIR, true }, { "--rsa", O_RSA, true }, { "--san", O_SAN, true },
	{ "--days", O_DAYS, true }, { "--force", O_FORCE, false }, { "--json", O_JSON, false },
	{ "--host", O_HOST, true }, { "--arduino", O_ARDUINO, false }, { "--esp-idf", O_ESPIDF, false },
	{ "--name", O_NAME, true }, { "--list", O_LIST, false },
};

static bool parse_int(const char *s, long lo, long hi, int *out)
{
	char *end;
	long v;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return false;
	v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

static bool c_identifier(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* Parse argv[1..] against the options this subcommand allows; EXIT_OK or EXIT_USAGE. */
static int parse_args(const struct cli_cmd *self, int argc, char **argv, unsigned allowed, const char *pos_name,
		      struct args *a)
{
	struct mq_err err = { 0 };

	memset(a, 0, sizeof *a);
	a->pki.dir = DEFAULT_DIR;
	a->pki.sans = a->sans;
	a->var = "root_ca";
	for (int i = 1; i < argc; i++) {
		const struct optdef *d = NULL;
		const char *v = NULL;

		for (size_t k = 0; k < MQ_ARRAY_LEN(optdefs); k++)
			if (!strcmp(argv[i], optdefs[k].name))
				d = &optdefs[k];
		if (!d) {
			if (argv[i][0] == '-' && argv[i][1])
				return cli_usage_error(self, "no option '%s'", argv[i]);
			if (!pos_name || a->pos)
				return cli_usage_error(self, "unexpected argument '%s'", argv[i]);
			a->pos = argv[i];
			continue;
		}
		if (!(allowed & d->bit))
			return cli_usage_error(self, "no option '%s' here", d->name);
		if (d->value) {
			if (i + 1 >= argc)
				return cli_usage_error(self, "%s needs a value", d->name);
			v = argv[++i];
		}
		a->seen |= d->bit;
		switch (d->bit) {
		case O_DIR:
			if (!*v)
				return cli_usage_error(self, "--dir needs a directory");
			a->pki.dir = v;
			break;
		case O_RSA:
			if (!parse_int(v, 2048, 16384, &a->pki.rsa_bits))
				return cli_usage_error(self, "--rsa takes a key size from 2048 to 16384 bits, not '%s'", v);
			break;
		case O_SAN:
			if (pki_check_san(v, &err) < 0)
				return cli_usage_error(self, "bad --san: %s", err.msg);
			if (a->pki.n_sans == MQ_ARRAY_LEN(a->sans))
				return cli_usage_error(self, "at most %zu --san options", MQ_ARRAY_LEN(a->sans));
			a->sans[a->pki.n_sans++] = v;
			break;
		case O_DAYS:
			if (!parse_int(v, 1, 36500, &a->pki.days))
				return cli_usage_error(self, "--days takes a number of days from 1 to 36500, not '%s'", v);
			break;
		case O_FORCE:
			a->pki.force = true;
			break;
		case O_HOST:
			a->host = v;
			break;
		case O_NAME:
			if (!c_identifier(v))
				return cli_usage_error(self, "--name must be a C identifier, not '%s'", v);
			a->var = v;
			break;
		}
	}
	if ((a->seen & O_ARDUINO) && (a->seen & O_ESPIDF))
		return cli_usage_error(self, "give --arduino or --esp-idf, not both");
	if (pos_name && !a->pos && !(a->seen & O_LIST))
		return cli_usage_error(self, "needs %s", pos_name);
	/* A NAME that cannot name a file is a bad argument, said before anything is made. */
	if (a->pos && pos_name && !strcmp(pos_name, "a NAME") && pki_check_name(a->pos, &err) < 0)
		return cli_usage_error(self, "%s", err.msg);
	return EXIT_OK;
}

/* ---- output helpers ------------------------------------------------------------------------ */

/* Files are listed as they are written, under a heading printed once the first one is. */
struct listing {
	char heading[256];
	bool started;
};

static void on_file(void *ctx, const char *path, const char *what)
{
	struct listing *l = ctx;

	if (!l->started && l->heading[0])
		printf("%s\n", l->heading);
	l->started = true;
	printf("  %-36s %s\n", path, what);
	fflush(stdout);
}

static void key_kind(const struct args *a, char *buf, size_t size)
{
	if (a->pki.rsa_bits)
		snprintf(buf, size, "RSA %d", a->pki.rsa_bits);
	else
		snprintf(buf, size, "ECDSA P-256");
}

/* The SANs of a certificate as written, read back from the file (what clients will see). */
static void print_sans_of(const char *dir, const char *file)
{
	char path[PATH_MAX];
	STACK_OF(X509) *sk = NULL;
	struct cert_info ci;

	if (!mq_path_join(path, sizeof path, dir, file) || chain_load_file(path, &sk, NULL, NULL) < 1)
		return;
	if (cert_info_from_x509(sk_X509_value(sk, 0), 0, &ci, NULL) == 0) {
		printf("It covers:");
		for (size_t i = 0; i < ci.n_san_dns; i++)
			printf(" %s", ci.san_dns[i]);
		for (size_t i = 0; i < ci.n_san_ip; i++)
			printf(" %s", ci.san_ip[i]);
		if (!ci.has_san)
			printf(" no SAN at all (CN %s only)", ci.cn ? ci.cn : "-");
		putchar('\n');
	}
	cert_info_free(&ci);
	sk_X509_pop_free(sk, X509_free);
}

static void print_root_hint(const char *dir, const char *key)
{
	if (geteuid() == 0)
		printf("As root, mosquitto reads these files as the user mosquitto: chown mosquitto %s/%s\n"
		       "(and every directory above it must be searchable by that user).\n", dir, key);
}

#define LISTING(a) ((struct listing *)(a)->pki.ctx)

/* ---- subcommands --------------------------------------------------------------------------- */

static int do_init(const struct cli_cmd *self, struct args *a)
{
	struct mq_err err = { 0 };
	char kk[32], abs[PATH_MAX];

	key_kind(a, kk, sizeof kk);
	snprintf(LISTING(a)->heading, sizeof LISTING(a)->heading,
		 "Made the lab PKI in %s (%s, broker and device certificates valid %d days):", a->pki.dir, kk,
		 a->pki.days ? a->pki.days : PKI_DEFAULT_DAYS);
	if (pki_init(&a->pki, &err) < 0)
		return cli_fail(self, "%s", err.msg);
	print_sans_of(a->pki.dir, PKI_BROKER_CERT);
	/* mosquitto resolves relative paths from its own working directory: give it absolute ones. */
	if (!realpath(a->pki.dir, abs))
		snprintf(abs, sizeof abs, "%s", a->pki.dir);
	printf("\nNext:\n"
	       "  serve it from mosquitto (mosquitto.conf):\n"
	       "      listener 8883\n"
	       "      cafile %1$s/%3$s\n"
	       "      certfile %1$s/%4$s\n"
	       "      keyfile %1$s/%5$s\n"
	       "  test it:       mosquitto_pub -h localhost -p 8883 --cafile %2$s/%3$s -t test -m hello\n"
	       "  for an ESP32:  mqttls certs export-esp32 %2$s/%3$s\n"
	       "  or let mqttls run a broker with its own lab PKI: mqttls lab start basic\n",
	       abs, a->pki.dir, PKI_ROOT_CERT, PKI_BROKER_CHAIN, PKI_BROKER_KEY);
	print_root_hint(abs, PKI_BROKER_KEY);
	return EXIT_OK;
}

static int do_server(const struct cli_cmd *self, struct args *a)
{
	struct mq_err err = { 0 };
	char crt[NAME_MAX + 32];

	snprintf(LISTING(a)->heading, sizeof LISTING(a)->heading, "Made broker certificate '%s' in %s:", a->pos,
		 a->pki.dir);
	if (pki_server(&a->pki, a->pos, &err) < 0)
		return cli_fail(self, "%s", err.msg);
	snprintf(crt, sizeof crt, "%s.crt", a->pos);
	print_sans_of(a->pki.dir, crt);
	printf("\nNext: in mosquitto.conf, certfile %1$s/%2$s-fullchain.crt and keyfile %1$s/%2$s.key; clients keep\n"
	       "--cafile %1$s/%3$s. Check it: mqttls certs show %1$s/%2$s.crt\n",
	       a->pki.dir, a->pos, PKI_ROOT_CERT);
	return EXIT_OK;
}

static int do_device(const struct cli_cmd *self, struct args *a)
{
	struct mq_err err = { 0 };

	snprintf(LISTING(a)->heading, sizeof LISTING(a)->heading, "Made device certificate '%s' in %s:", a->pos,
		 a->pki.dir);
	if (pki_device(&a->pki, a->pos, &err) < 0)
		return cli_fail(self, "%s", err.msg);
	printf("\nNext: mosquitto_pub -h localhost -p 8883 --cafile %1$s/%2$s --cert %1$s/%3$s.crt --key %1$s/%3$s.key -t test -m hi\n"
	       "(the broker needs 'require_certificate true' and 'cafile' naming the lab CA to ask for it)\n",
	       a->pki.dir, PKI_ROOT_CERT, a->pos);
	return EXIT_OK;
}

static int do_broken(const struct cli_cmd *self, struct args *a)
{
	struct mq_err err = { 0 };
	bool all = a->pos && !strcmp(a->pos, "all");

	if (a->seen & O_LIST) {
		for (const char *const *k = pki_broken_kinds; *k; k++)
			printf("  %-15s %s\n", *k, pki_broken_describe(*k));
		return EXIT_OK;
	}
	if (!all && !pki_broken_describe(a->pos)) {
		struct mq_str s = { 0 };
		for (const char *const *k = pki_broken_kinds; *k; k++)
			mq_str_printf(&s, "%s%s", k == pki_broken_kinds ? "" : ", ", *k);
		cli_usage_error(self, "no broken kind '%s' (kinds: %s, or all)", a->pos, s.s);
		mq_str_free(&s);
		return EXIT_USAGE;
	}
	for (const char *const *k = pki_broken_kinds; *k; k++) {
		if (!all && strcmp(*k, a->pos))
			continue;
		snprintf(LISTING(a)->heading, sizeof LISTING(a)->heading, "broken-%s: %s", *k, pki_broken_describe(*k));
		LISTING(a)->started = false;
		if (pki_broken(&a->pki, *k, &err) < 0)
			return cli_fail(self, "%s", err.msg);
	}
	printf("\nNext: serve one with mosquitto (certfile %1$s/broken-%2$s-fullchain.crt, keyfile %1$s/broken-%2$s.key)\n"
	       "and see what a client makes of it: mqttls diagnose -h localhost -p PORT --cafile %1$s/%3$s\n",
	       a->pki.dir, all ? "KIND" : a->pos, PKI_ROOT_CERT);
	return EXIT_OK;
}

static int load_or_fail(const struct cli_cmd *self, const char *path, STACK_OF(X509) **sk, bool *der)
{
	struct mq_err err = { 0 };

	if (chain_load_file(path, sk, der, &err) < 0) {
		cli_fail(self, "%s", err.msg);
		return -1;
	}
	return 0;
}

static int do_show(const struct cli_cmd *self, struct args *a)
{
	STACK_OF(X509) *sk = NULL;
	struct cert_info *v;
	struct mq_err err = { 0 };
	bool der = false, color = mq_use_color(stdout);
	int n, rc = EXIT_OK;
	char *epath;

	if (load_or_fail(self, a->pos, &sk, &der) < 0)
		return EXIT_FAIL;
	n = sk_X509_num(sk);
	v = calloc((size_t)n, sizeof *v);
	if (!v) {
		sk_X509_pop_free(sk, X509_free);
		return cli_fail(self, "out of memory");
	}
	for (int i = 0; i < n; i++)
		if (cert_info_from_x509(sk_X509_value(sk, i), i, &v[i], &err) < 0) {
			rc = cli_fail(self, "%s: %s", a->pos, err.msg);
			goto out;
		}
	if (a->seen & O_JSON) {
		cli_print_json(chain_to_json(v, (size_t)n));
		goto out;
	}
	epath = mq_escape_dup(a->pos, strlen(a->pos));
	printf("%s: %d certificate%s (%s)\n", epath, n, n == 1 ? "" : "s", der ? "DER" : "PEM");
	free(epath);
	for (int i = 0; i < n; i++) {
		printf("\n[%d]\n", i);
		/* The host is a question about the server certificate, not about the CAs after it. */
		cert_info_print(stdout, &v[i], 2, v[i].is_ca ? NULL : a->host, color);
	}
out:
	for (int i = 0; i < n; i++)
		cert_info_free(&v[i]);
	free(v);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

/* A comment-safe copy of untrusted text: escaped, and no "*" followed by "/". */
static void print_comment_text(const char *s)
{
	char *e = mq_escape_dup(s, strlen(s));

	for (const char *p = e; p && *p; p++) {
		putchar(*p);
		if (*p == '*' && p[1] == '/')
			putchar(' ');
	}
	free(e);
}

static int do_export(const struct cli_cmd *self, struct args *a)
{
	STACK_OF(X509) *sk = NULL;
	BIO *b;
	char *pem = NULL;
	long len;
	bool der = false;
	int n;

	if (load_or_fail(self, a->pos, &sk, &der) < 0)
		return EXIT_FAIL;
	n = sk_X509_num(sk);
	b = BIO_new(BIO_s_mem());
	for (int i = 0; b && i < n; i++)
		PEM_write_bio_X509(b, sk_X509_value(sk, i));
	len = b ? BIO_get_mem_data(b, &pem) : 0;
	if (len <= 0) {
		BIO_free(b);
		sk_X509_pop_free(sk, X509_free);
		return cli_fail(self, "cannot encode the certificates of %s", a->pos);
	}
	for (int i = 0; i < n; i++) {
		struct cert_info ci;
		if (cert_info_from_x509(sk_X509_value(sk, i), i, &ci, NULL) == 0 && !ci.is_ca) {
			char *subj = mq_escape_dup(ci.subject, strlen(ci.subject));
			fprintf(stderr, "mqttls certs export-esp32: note: certificate %d in %s is not a CA (%s); "
				"setCACert needs the CA that signed the broker, usually ca.crt\n", i, a->pos,
				subj ? subj : "?");
			free(subj);
		}
		cert_info_free(&ci);
	}
	if (a->seen & O_ESPIDF) {
		fwrite(pem, 1, (size_t)len, stdout);
	} else {
		struct cert_info ci;
		char until[32];

		printf("/*\n * CA certificate for WiFiClientSecure::setCACert(%s), made by mqttls certs export-esp32\n", a->var);
		for (int i = 0; i < n; i++) {
			if (cert_info_from_x509(sk_X509_value(sk, i), i, &ci, NULL) == 0) {
				printf(" * ");
				print_comment_text(ci.subject);
				printf(" (valid until %s)\n", mq_iso8601(ci.not_after, until, sizeof until));
			}
			cert_info_free(&ci);
		}
		printf(" * ESP-IDF: mqttls certs export-esp32 FILE --esp-idf > main/ca.pem (EMBED_TXTFILES)\n */\n");
		struct mq_str lit = { 0 };
		esp32_c_string(&lit, a->var, pem, (size_t)len);
		fputs(lit.s, stdout);
		mq_str_free(&lit);
	}
	BIO_free(b);
	sk_X509_pop_free(sk, X509_free);
	return EXIT_OK;
}

static const struct sub {
	const char *name;
	const char *usage;
	unsigned opts;
	const char *pos;   /* what the positional argument is, or NULL */
	int (*run)(const struct cli_cmd *self, struct args *a);
} subs[] = {
	{ "init", certs_usage_init, O_DIR | O_RSA | O_SAN | O_DAYS | O_FORCE, NULL, do_init },
	{ "server", certs_usage_server, O_DIR | O_RSA | O_SAN | O_DAYS | O_FORCE, "a NAME", do_server },
	{ "device", certs_usage_device, O_DIR | O_RSA | O_DAYS | O_FORCE, "a NAME", do_device },
	{ "broken", certs_usage_broken, O_DIR | O_SAN | O_FORCE | O_LIST | O_RSA | O_DAYS, "a KIND (or --list)", do_broken },
	{ "show", certs_usage_show, O_JSON | O_HOST, "a FILE", do_show },
	{ "export-esp32", certs_usage_export, O_ARDUINO | O_ESPIDF | O_NAME, "a FILE", do_export },
};

int cmd_certs(const struct cli_cmd *self, int argc, char **argv)
{
	const struct sub *sub = NULL;
	struct listing listing = { 0 };
	struct cli_cmd subcmd;
	char name[32];
	struct args a;
	int rc;

	if (argc < 2)
		return cli_usage_error(self, "which one: init, server, device, broken, show or export-esp32?");
	if (cli_is_help(argv[1]))
		return cli_help(self);
	for (size_t i = 0; i < MQ_ARRAY_LEN(subs); i++)
		if (!strcmp(subs[i].name, argv[1]))
			sub = &subs[i];
	if (!sub)
		return cli_usage_error(self, "no subcommand '%s' (init, server, device, broken, show, export-esp32)", argv[1]);
	for (int i = 2; i < argc; i++)
		if (cli_is_help(argv[i])) {
			fputs(sub->usage, stdout);
			return EXIT_OK;
		}
	/* Usage errors name the subcommand and point at its own --help. */
	snprintf(name, sizeof name, "certs %s", sub->name);
	subcmd = (struct cli_cmd){ .name = name, .summary = self->summary, .usage = sub->usage, .exec = self->exec };
	rc = parse_args(&subcmd, argc - 1, argv + 1, sub->opts, sub->pos, &a);
	if (rc != EXIT_OK)
		return rc;
	a.pki.on_file = on_file;
	a.pki.ctx = &listing;
	return sub->run(&subcmd, &a);
}
