/*
 * tlsdec on real handshakes recorded on loopback (tcpdump) between Debian's mosquitto 2.0.11 and
 * mosquitto_pub (OpenSSL 3.0), plus hand-broken variants for the hostile cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/x509.h>

#include "mqttls/tlsdec.h"

/* TLS 1.2 with require_certificate, client without a certificate: mosquitto_pub, OpenSSL MaxProtocol TLSv1.2 */
static const char mtls12_client1[] =
	"16030100c9010000c50303986608fdcf0e25130f8a713f199114ba8141a0ac07305b4a20a825f5f01c5a7e000038c02c"
	"c030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c"
	"0035002f00ff010000640000000e000c0000096c6f63616c686f7374000b000403000102000a000c000a001d0017001e"
	"00190018002300000016000000170000000d002a0028040305030603080708080809080a080b08040805080604010501"
	"0601030303010302040205020602";

static const char mtls12_server1[] =
	"16030300410200003d03036094e7e241631016d3bcf5670a8bae9e28c6d35d86b6e500444f574e4752440100c02c0000"
	"15ff01000100000b000403000102002300000017000016030303390b0003350003320001a4308201a030820146a00302"
	"01020214106f2e22a59418c36839b41aae74b57af95be371300a06082a8648ce3d04030230173115301306035504030c"
	"0c5465737420526f6f74204341301e170d3236313132323030353731375a170d3236313232323030353731375a301431"
	"12301006035504030c096c6f63616c686f73743059301306072a8648ce3d020106082a8648ce3d03010703420004c396"
	"5076212ddac2bc2a7036626de7e3d5647d045df0670302440fa1900df77375d5db42b3008213eeee898cb45d4f5ad698"
	"70ecc81acbb6c0a097efe37c55c3a3733071301a0603551d110413301182096c6f63616c686f737487047f0000013013"
	"0603551d25040c300a06082b06010505070301301d0603551d0e04160414080fb086fb25ce25d00aa075c1101f63fab4"
	"1e8c301f0603551d23041830168014be5d9627c19752ed0c3f1b622f094a8a996f3c7e300a06082a8648ce3d04030203"
	"48003045022036c350754069258f5a9f76ba65dc19bab13fcfd4a29d28bb033c2d278d0ac22b022100eb7a0e04c68ceb"
	"2b680504bd82b4568a09a04db66d5526c060c1794e8990398d0001883082018430820129a003020102021442106ba0d7"
	"562b4369beff8944e7ecc741df17e6300a06082a8648ce3d04030230173115301306035504030c0c5465737420526f6f"
	"74204341301e170d3236313132323030353731375a170d3236313232323030353731375a30173115301306035504030c"
	"0c5465737420526f6f742043413059301306072a8648ce3d020106082a8648ce3d030107034200046595fc8f73bdc3b4"
	"39431b44d25211a79ed89c5f01c2e27e5540f82a3274dad75afd3f47df3c280a284ffc9518889f7af5c698ade32ac6e6"
	"4c03234733958180a3533051301d0603551d0e04160414be5d9627c19752ed0c3f1b622f094a8a996f3c7e301f060355"
	"1d23041830168014be5d9627c19752ed0c3f1b622f094a8a996f3c7e300f0603551d130101ff040530030101ff300a06"
	"082a8648ce3d040302034900304602210098b1477df1ca867f46e410fddbfa9d5482acf3a83a9d48fd1fb6adda995863"
	"ef0221009c93986a777a8576657eb6b2f08fff64980a7d496c4f7de1722b4c655465828c16030300730c00006f03001d"
	"20d085799d1696d228227c800d87cf01a2ad703737f8ba01bc19324531b65fc3360403004730450220578200c9d54c9b"
	"aea1d7bbb418abd430948e3a2720e10efaf17a8cebef3d446d022100e6e3986bcb88096a1b6d079070bd59e8a5dc0a83"
	"ab5e4f53f7a818c9d3cd0c4916030300340d000030030102400028040305030603080708080809080a080b0804080508"
	"06040105010601030303010302040205020602000016030300040e000000";

static const char mtls12_client2[] =
	"16030300070b000003000000160303002510000021207bc1a4d8ed45fceffc12cf58da452bb1f613253076a3e5182f31"
	"dc0da2124d5b14030300010116030300283875a6b052042713ae78c5aab901f564580aa3f3f50a666fe74df7f4bdf7f8"
	"a62cba6e98080c9972";

static const char mtls12_server2[] =
	"15030300020228";

/* TLS 1.3 success: ClientHello, then the server flight (ServerHello, CCS, encrypted records) */
static const char ok13_client1[] =
	"16030100ee010000ea0303f6a9d5cce49a3f053532db0a3f3e89e1a4d2cc112e8355ff18824b1529be397820dcae14b8"
	"b320afdcf7bea1a1b71d5595f07134503b0c8722c526d9deb5a26567000813021303130100ff010000990000000e000c"
	"0000096c6f63616c686f7374000b000403000102000a00160014001d0017001e00190018010001010102010301040023"
	"00000016000000170000000d001e001c040305030603080708080809080a080b080408050806040105010601002b0003"
	"020304002d00020101003300260024001d0020a0937b6fa9d58ad07fd430dcaa73aeb6dc24fe4b294953fffb39e7782a"
	"f53543";

static const char ok13_server1[] =
	"160303007a020000760303e273ce9022acc8b5cb497e21a924d20955691c09225082f077a728a5c1d469af20dcae14b8"
	"b320afdcf7bea1a1b71d5595f07134503b0c8722c526d9deb5a26567130200002e002b0002030400330024001d00207f"
	"bd097cb9dcad6dbd8b645c87049763bd69bb577d0d6e85cb8a4ceb6aff36101403030001011703030017c3eee8b6c769"
	"ecf5a88de219f66436bff69a13238d28c4170303034fea63573bcce6721b9852bbd8ee4302c22792d29e222ba9ded631"
	"806c8149e827b12d7f74454fb612ffcc67ec4f49c700fc0d2e2e7a9575022de640787a12a70a645c226222c72b87e752"
	"8d9c4c0d70538f3d74511ddd20994b556e2a4bc2f78e86f88d21797abf0eb54f986e18489c7dd2a92ffdcaf6afd0a0aa"
	"0b54642429a4b661476ed7e4fe408bf342ab5679d55045fa49b3d0f872117b5ee55e2bb7036bffa0187f89c2095b2dff"
	"d2eef377f74beaf68df930792c586f03725280c541e95cde77a9af47adb0e4a2095f15a0ab91d97840f2f1113aa44ed1"
	"2320aecad9574b0710c6a8d7f3fc20883961b2d6c316db2721cadeced8b9248b5a7685f3b8a2608ebd64c4587134a43f"
	"85f511047b51d52818f557efef6bc82901d5cb52429086ac5148715c72204603ac64690d480d203b12324d439139cd7e"
	"243954183b67dc6510bcafb56525c79e7cd1593862c4a85e127bd0078eb1d355561739290372c983b1d3495e3dcb095e"
	"e9d00ac7c0b7e3b4963369dc38bc75822dd1ff9c5e07395dd603604a6b19fc7622ae437b788f4e6b193d505ddf959797"
	"21a1965cfbcc2b5aaac28734a035e106989ab100d762b994a3c5e113864a7babbc852f386121d737c51247e631c8fe38"
	"3e7fdadd53cb1627c33dd6f8b3716855f9299729f0321d315bf29c821a919a7edf72021a20f323eafa568899af761336"
	"e100b2a3faff4dd366ceeee6912c98ae7dae4b17ecad79aecc97aa8bb3c90c6dee9a45beabd228356be95dca6b50a5c7"
	"be92187360a5fb19398d5cc42d0fb20cc86d26db9c67b4621841ade03e0bf8f497e75be2797dfc405bde36c0cd10f0ce"
	"6beb3bb5acf9787e34f9d0c6beaba488e7075edaab32ce04fa6d1943fec3d8b40eceb7461c86b85503bacf18e04888bd"
	"e01be434f52e3c05d6905553b1c70d9febd032ac10d6be70b2adbb07b32b65552274f8c50705dc4cde1baced9c1a576b"
	"48cddf327d2af81a76cdf4d4a387ccf0b66709905ec6214cd25fcb407b642ab52dfa5792a48593c2020e5706a212068b"
	"ec05788a5ce772ceb2f1edab4ab2e6b169ac05df0fb30bf6f6bc452eaf8d720ad6ee6ddf9fa133def02c665e7a1d171e"
	"c0cddfcd343fd9b8e85dac3ad5349a54bd82ff647841597585b20a11c5b1245a9d1a6f50fa8dc55d498db82ead4c72c2"
	"22583713c5170303005f15d60e5c0bf0e1c5caa7caf4812fededdaa0d917c12aa12f6a03c4b7c82b5daac7601c1da19c"
	"4720ef354bf331e5f79ee228c3dabc7919f582ae52c7fbec1bf25f7eeb3f1dc268e8409f6233400613bcb5a1f768f3bb"
	"ae8666c5d35ba7b9891703030045aa76d336cb3c08f4be452166296df40c32b01aaf031db9ddc919afbf7a30e4f8e1d8"
	"f9fb25c5683aa072e09986267948ff838e77d2a1236dd67a603eb2593839115fdab2aa";

/* Hex to bytes (test data only). */
static uint8_t *unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *b = malloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		b[i] = (uint8_t)v;
	}
	*len = n;
	return b;
}

/* What the record layer reported, as text, for comparing runs. */
struct log {
	char s[4096];
	size_t len;
	struct tls_client_hello ch;
	struct tls_server_hello sh;
	struct tls_cert_list certs;
	size_t n_certs_seen;
	struct tls_cert_request cr;
	bool got_cr;
	uint16_t ske_group;
	uint8_t *leaf;
	size_t leaf_len;
};

static void logf_(struct log *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	l->len += (size_t)vsnprintf(l->s + l->len, sizeof(l->s) - l->len, fmt, ap);
	va_end(ap);
}

static void on_hs(void *ctx, uint8_t type, const uint8_t *body, size_t len)
{
	struct log *l = ctx;
	char err[TLSDEC_ERR_SIZE];

	logf_(l, "%s(%zu) ", tlsdec_handshake_name(type), len);
	if (type == TLS_HS_CLIENT_HELLO)
		assert_int_equal(tlsdec_client_hello(body, len, &l->ch, err), 0);
	if (type == TLS_HS_SERVER_HELLO)
		assert_int_equal(tlsdec_server_hello(body, len, &l->sh, err), 0);
	if (type == TLS_HS_CERTIFICATE) {
		assert_int_equal(tlsdec_certificate(body, len, false, &l->certs, err), 0);
		l->n_certs_seen = l->certs.n_total;
		if (l->certs.n && !l->leaf) {
			l->leaf = malloc(l->certs.der[0].len);
			memcpy(l->leaf, l->certs.der[0].p, l->certs.der[0].len);
			l->leaf_len = l->certs.der[0].len;
		}
	}
	if (type == TLS_HS_CERTIFICATE_REQUEST) {
		assert_int_equal(tlsdec_cert_request(body, len, false, &l->cr, err), 0);
		l->got_cr = true;
	}
	if (type == TLS_HS_SERVER_KEY_EXCHANGE)
		l->ske_group = tlsdec_ske_group(body, len);
}

static void on_alert(void *ctx, uint8_t level, uint8_t desc)
{
	logf_(ctx, "alert(%u,%s) ", level, tlsdec_alert_name(desc));
}

static void on_ccs(void *ctx)
{
	logf_(ctx, "CCS ");
}

static void on_opaque(void *ctx, uint8_t type, size_t len)
{
	logf_(ctx, "opaque(%u,%zu) ", type, len);
}

static const struct tlsdec_events events = { on_hs, on_alert, on_ccs, on_opaque };

/* Feed a hex stream in one piece to a fresh stream (tls13 as given); returns the log. */
static void run(const char *hex, bool tls13, struct log *l)
{
	struct tlsdec_stream s;
	size_t n;
	uint8_t *b = unhex(hex, &n);

	tlsdec_stream_init(&s);
	s.tls13 = tls13;
	assert_int_equal(tlsdec_stream_feed(&s, b, n, &events, l), 0);
	assert_false(s.dead);
	tlsdec_stream_free(&s);
	free(b);
}

static void client_hello_tls12_only(void **state)
{
	struct log l = { .len = 0 };
	(void)state;

	run(mtls12_client1, false, &l);
	assert_string_equal(l.s, "ClientHello(197) ");
	assert_int_equal(l.ch.sni.len, 9);
	assert_memory_equal(l.ch.sni.p ? "localhost" : "", "localhost", 9);
	assert_false(l.ch.has_supported_versions);
	assert_int_equal(l.ch.n_versions, 1);
	assert_string_equal(tlsdec_version_name(l.ch.versions[0]), "TLSv1.2");
	/* 28 suites on the wire, the renegotiation SCSV is a signal, not a suite. */
	assert_int_equal(l.ch.n_ciphers, 27);
	assert_true(l.ch.renegotiation_scsv);
	assert_string_equal(tlsdec_cipher_name(l.ch.ciphers[0]), "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
	assert_string_equal(tlsdec_cipher_name(l.ch.ciphers[3]), "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
	assert_int_equal(l.ch.n_groups, 5);
	assert_string_equal(tlsdec_group_name(l.ch.groups[0]), "x25519");
	assert_string_equal(tlsdec_group_name(l.ch.groups[1]), "secp256r1");
	assert_true(l.ch.n_sigalgs > 5);
	assert_string_equal(tlsdec_sigalg_name(l.ch.sigalgs[0]), "ecdsa_secp256r1_sha256");
	assert_int_equal(l.ch.n_alpn, 0);
}

static void client_hello_tls13(void **state)
{
	struct log l = { .len = 0 };
	(void)state;

	run(ok13_client1, false, &l);
	assert_true(l.ch.has_supported_versions);
	assert_int_equal(l.ch.n_versions, 1);
	assert_int_equal(l.ch.versions[0], TLS_V_13);
	assert_int_equal(l.ch.n_key_shares, 1);
	assert_int_equal(l.ch.key_shares[0], 29);
	assert_int_equal(l.ch.n_ciphers, 3);
	assert_string_equal(tlsdec_cipher_name(l.ch.ciphers[0]), "TLS_AES_256_GCM_SHA384");
	assert_int_equal(l.ch.n_groups, 10);
	assert_string_equal(tlsdec_group_name(l.ch.groups[5]), "ffdhe2048");
}

static void server_flight_tls12_with_certificate_request(void **state)
{
	struct log l = { .len = 0 };
	const unsigned char *p;
	X509 *x;
	(void)state;

	run(mtls12_server1, false, &l);
	assert_string_equal(l.s, "ServerHello(61) Certificate(821) ServerKeyExchange(111) CertificateRequest(48) "
				 "ServerHelloDone(0) ");
	assert_int_equal(l.sh.version, TLS_V_12);
	assert_false(l.sh.hello_retry);
	assert_string_equal(tlsdec_cipher_name(l.sh.cipher), "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
	assert_string_equal(tlsdec_group_name(l.ske_group), "x25519");
	/* OpenSSL completes the chain from the CA file: leaf, then the root. */
	assert_int_equal(l.certs.n_total, 2);
	p = l.leaf;
	x = d2i_X509(NULL, &p, (long)l.leaf_len);
	assert_non_null(x);
	assert_ptr_equal(p, l.leaf + l.leaf_len);
	X509_free(x);
	free(l.leaf);
	assert_true(l.got_cr);
	/* mosquitto names no acceptable CAs. */
	assert_int_equal(l.cr.n_cas, 0);
	assert_true(l.cr.n_sigalgs > 5);
}

static void client_without_certificate_then_alert(void **state)
{
	struct log c = { .len = 0 }, s = { .len = 0 };
	struct tlsdec_stream st;
	size_t n;
	uint8_t *b;
	(void)state;

	/* The client's second flight: an empty Certificate, its key exchange, CCS, then ciphertext. */
	tlsdec_stream_init(&st);
	b = unhex(mtls12_client1, &n);
	assert_int_equal(tlsdec_stream_feed(&st, b, n, &events, &c), 0);
	free(b);
	b = unhex(mtls12_client2, &n);
	assert_int_equal(tlsdec_stream_feed(&st, b, n, &events, &c), 0);
	free(b);
	assert_string_equal(c.s, "ClientHello(197) Certificate(3) ClientKeyExchange(33) CCS opaque(22,40) ");
	assert_int_equal(c.n_certs_seen, 0);
	assert_true(st.ciphered);
	tlsdec_stream_free(&st);

	run(mtls12_server2, false, &s);
	assert_string_equal(s.s, "alert(2,handshake_failure) ");
}

static void server_flight_tls13(void **state)
{
	struct log l = { .len = 0 };
	(void)state;

	run(ok13_server1, true, &l);
	assert_string_equal(l.s, "ServerHello(118) CCS opaque(23,23) opaque(23,847) opaque(23,95) opaque(23,69) ");
	assert_int_equal(l.sh.legacy_version, TLS_V_12);
	assert_int_equal(l.sh.version, TLS_V_13);
	assert_string_equal(tlsdec_group_name(l.sh.group), "x25519");
	assert_string_equal(tlsdec_cipher_name(l.sh.cipher), "TLS_AES_256_GCM_SHA384");
}

/* The same events whatever the cuts: every split in two, then single bytes. */
static void record_layer_any_split(void **state)
{
	struct log whole = { .len = 0 };
	size_t n;
	uint8_t *b = unhex(mtls12_server1, &n);
	(void)state;

	run(mtls12_server1, false, &whole);
	free(whole.leaf);
	for (size_t cut = 0; cut <= n; cut++) {
		struct log l = { .len = 0 };
		struct tlsdec_stream s;

		tlsdec_stream_init(&s);
		assert_int_equal(tlsdec_stream_feed(&s, b, cut, &events, &l), 0);
		assert_int_equal(tlsdec_stream_feed(&s, b + cut, n - cut, &events, &l), 0);
		assert_string_equal(l.s, whole.s);
		tlsdec_stream_free(&s);
		free(l.leaf);
	}
	{
		struct log l = { .len = 0 };
		struct tlsdec_stream s;

		tlsdec_stream_init(&s);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(tlsdec_stream_feed(&s, b + i, 1, &events, &l), 0);
		assert_string_equal(l.s, whole.s);
		tlsdec_stream_free(&s);
		free(l.leaf);
	}
	free(b);
}

static void expect_dead(const uint8_t *p, size_t n, const char *why)
{
	struct tlsdec_stream s;
	struct log l = { .len = 0 };

	tlsdec_stream_init(&s);
	assert_int_equal(tlsdec_stream_feed(&s, p, n, &events, &l), -1);
	assert_true(s.dead);
	if (!strstr(s.err, why))
		fail_msg("error \"%s\" does not say \"%s\"", s.err, why);
	assert_int_equal(tlsdec_stream_feed(&s, p, n, &events, &l), -1);
	tlsdec_stream_free(&s);
}

static void hostile_records(void **state)
{
	static const uint8_t too_long[] = { 0x16, 0x03, 0x03, 0x48, 0x01 };  /* 18433 > 2^14+2048 */
	static const uint8_t empty_hs[] = { 0x16, 0x03, 0x03, 0x00, 0x00 };
	static const uint8_t mqtt[] = { 0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c };
	static const uint8_t huge_hs[] = { 0x16, 0x03, 0x03, 0x00, 0x04, 0x0b, 0xff, 0xff, 0xff };
	static const uint8_t bad_ccs[] = { 0x14, 0x03, 0x03, 0x00, 0x02, 0x01, 0x01 };
	static const uint8_t odd_alert[] = { 0x15, 0x03, 0x03, 0x00, 0x03, 0x02, 0x30, 0x00 };
	struct tlsdec_stream s;
	struct log l = { .len = 0 };
	(void)state;

	expect_dead(too_long, sizeof(too_long), "over the TLS limit");
	expect_dead(empty_hs, sizeof(empty_hs), "empty handshake record");
	expect_dead(mqtt, sizeof(mqtt), "not TLS");
	expect_dead(huge_hs, sizeof(huge_hs), "Certificate message of 16777215 bytes");
	expect_dead(bad_ccs, sizeof(bad_ccs), "ChangeCipherSpec record of 2 bytes");
	expect_dead(odd_alert, sizeof(odd_alert), "alert record of 3 bytes");
	assert_false(tlsdec_looks_like_tls(mqtt, sizeof(mqtt)));

	/* 1-byte records announcing a 16 MB handshake message: refused at the message header. */
	tlsdec_stream_init(&s);
	for (int i = 0; i < 3; i++) {
		static const uint8_t one[3][6] = {
			{ 0x16, 0x03, 0x03, 0x00, 0x01, 0x0b },
			{ 0x16, 0x03, 0x03, 0x00, 0x01, 0xff },
			{ 0x16, 0x03, 0x03, 0x00, 0x01, 0xff },
		};
		assert_int_equal(tlsdec_stream_feed(&s, one[i], 6, &events, &l), 0);
	}
	assert_int_equal(tlsdec_stream_feed(&s, (const uint8_t[]){ 0x16, 0x03, 0x03, 0x00, 0x01, 0xff }, 6, &events, &l),
			 -1);
	assert_non_null(strstr(s.err, "over the"));
	assert_true(s.hs_cap <= 512);
	tlsdec_stream_free(&s);
}

static void hostile_messages(void **state)
{
	/* Certificate lists whose lengths do not add up, an extension overflowing its block. */
	static const uint8_t cert_overflow[] = { 0x00, 0x00, 0x08, 0x00, 0x00, 0x09, 1, 2, 3, 4, 5 };
	static const uint8_t cert_short[] = { 0x00, 0x01, 0x00, 0x00, 0x00 };
	static const uint8_t cert_trailing[] = { 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0x30, 0x99 };
	static const uint8_t cert_empty_entry[] = { 0x00, 0x00, 0x03, 0x00, 0x00, 0x00 };
	struct tls_cert_list cl;
	struct tls_client_hello ch;
	struct tls_server_hello sh;
	char err[TLSDEC_ERR_SIZE];
	size_t n;
	uint8_t *b = unhex(mtls12_client1, &n);
	(void)state;

	assert_int_equal(tlsdec_certificate(cert_overflow, sizeof(cert_overflow), false, &cl, err), -1);
	assert_non_null(strstr(err, "do not add up"));
	assert_int_equal(tlsdec_certificate(cert_short, sizeof(cert_short), false, &cl, err), -1);
	assert_int_equal(tlsdec_certificate(cert_trailing, sizeof(cert_trailing), false, &cl, err), -1);
	assert_int_equal(tlsdec_certificate(cert_empty_entry, sizeof(cert_empty_entry), false, &cl, err), -1);
	assert_int_equal(tlsdec_certificate((const uint8_t[]){ 0, 0, 0 }, 3, false, &cl, err), 0);
	assert_int_equal(cl.n_total, 0);

	/* The ClientHello body starts after 5 + 4 header bytes; its extensions block is the last
	 * 0x64 bytes. Make the first extension (server_name, length 0x0e) claim 0xff bytes. */
	assert_int_equal(tlsdec_client_hello(b + 9, n - 9, &ch, err), 0);
	b[9 + 197 - 0x64 + 3] = 0xff;
	assert_int_equal(tlsdec_client_hello(b + 9, n - 9, &ch, err), -1);
	assert_non_null(strstr(err, "overflows"));
	b[9 + 197 - 0x64 + 3] = 0x0e;
	/* The server name list inside it claiming more than its extension. */
	b[9 + 197 - 0x64 + 5] = 0x20;
	assert_int_equal(tlsdec_client_hello(b + 9, n - 9, &ch, err), -1);
	assert_non_null(strstr(err, "server_name"));
	/* Every truncation of a ClientHello fails cleanly, except the one cut exactly before the
	 * extensions block, which is a valid extension-less hello. */
	for (size_t cut = 0; cut < 197; cut++) {
		int rc = tlsdec_client_hello(b + 9, cut, &ch, err);

		assert_true(rc == -1 || cut == 197 - 0x64 - 2);
		if (cut < 38)
			assert_int_equal(tlsdec_server_hello(b + 9, cut, &sh, err), -1);
	}
	free(b);
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(tlsdec_alert_name(48), "unknown_ca");
	assert_string_equal(tlsdec_alert_name(116), "certificate_required");
	assert_null(tlsdec_alert_name(255));
	assert_true(tlsdec_is_grease(0x0A0A));
	assert_true(tlsdec_is_grease(0xFAFA));
	assert_false(tlsdec_is_grease(0x0A1A));
	assert_string_equal(tlsdec_cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
	assert_string_equal(tlsdec_cipher_name(0xC0AC), "TLS_ECDHE_ECDSA_WITH_AES_128_CCM");
	assert_null(tlsdec_cipher_name(0xFEFE));
	assert_string_equal(tlsdec_version_name(0x0304), "TLSv1.3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(client_hello_tls12_only),
		cmocka_unit_test(client_hello_tls13),
		cmocka_unit_test(server_flight_tls12_with_certificate_request),
		cmocka_unit_test(client_without_certificate_then_alert),
		cmocka_unit_test(server_flight_tls13),
		cmocka_unit_test(record_layer_any_split),
		cmocka_unit_test(hostile_records),
		cmocka_unit_test(hostile_messages),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
