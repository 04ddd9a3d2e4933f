#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/x509v3.h>

#include "mqttls/forge.h"
#include "mqttls/mitm.h"
#include "mqttls/mqttdec.h"
#include "mqttls/mqttenc.h"

static void topic_filters(void **state)
{
	static const struct {
		const char *filter, *topic;
		bool match;
	} rows[] = {
		{ "a/b", "a/b", true },      { "a/b", "a/c", false },    { "a/+", "a/b", true },
		{ "a/+", "a/b/c", false },   { "a/#", "a/b/c", true },   { "a/#", "a", true },
		{ "#", "a/b", true },        { "+/+", "a/b", true },     { "+", "a/b", false },
		{ "a/+/c", "a//c", true },   { "#", "$SYS/x", false },   { "+/x", "$SYS/x", false },
		{ "$SYS/#", "$SYS/x", true }, { "a/b/", "a/b", false },  { "lab/+/cmd", "lab/esp32/cmd", true },
		{ "a#", "a", false },
	};
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		bool got = mitm_topic_match(rows[i].filter, strlen(rows[i].filter), rows[i].topic, strlen(rows[i].topic));
		if (got != rows[i].match)
			fail_msg("'%s' vs '%s': got %d", rows[i].filter, rows[i].topic, got);
	}
}

/* Every packet mqttls builds decodes back, with mqttdec, to what was put in. */
static void packets_round_trip(void **state)
{
	struct mq_str b = { 0 };
	struct mqtt_pkt p;
	struct mqttenc_connect c = { .level = 5, .client_id = "esp32", .username = "u", .password = "p\0w",
				     .password_len = 3, .keepalive = 15, .clean = true, .will_topic = "w/t",
				     .will_payload = "bye", .will_len = 3, .will_qos = 1, .will_retain = true };
	uint8_t codes[2] = { 0, 2 };
	(void)state;

	assert_int_equal(mqttenc_connect(&b, &c), 0);
	assert_int_equal(mqttdec_decode((uint8_t *)b.s, b.len, 0, &p), MQTTDEC_OK);
	assert_int_equal(p.type, MQTT_CONNECT);
	assert_int_equal(p.version, 5);
	assert_int_equal(p.password.len, 3);
	assert_memory_equal(p.password.p, "p\0w", 3);
	assert_true(p.will && p.will_retain);
	assert_int_equal(p.will_qos, 1);
	b.len = 0;
	for (int level = 4; level <= 5; level++) {
		b.len = 0;
		assert_int_equal(mqttenc_publish(&b, level, "t/x", "21.5", 4, 2, true, false, 7), 0);
		assert_int_equal(mqttdec_decode((uint8_t *)b.s, b.len, level, &p), MQTTDEC_OK);
		assert_int_equal(p.qos, 2);
		assert_int_equal(p.packet_id, 7);
		assert_true(p.retain);
		assert_memory_equal(p.payload.p, "21.5", 4);
		b.len = 0;
		assert_int_equal(mqttenc_connack(&b, level, false, 0), 0);
		assert_int_equal(mqttdec_decode((uint8_t *)b.s, b.len, level, &p), MQTTDEC_OK);
		assert_int_equal(p.type, MQTT_CONNACK);
		b.len = 0;
		assert_int_equal(mqttenc_suback(&b, level, 9, codes, 2), 0);
		assert_int_equal(mqttdec_decode((uint8_t *)b.s, b.len, level, &p), MQTTDEC_OK);
		assert_int_equal(p.list_count, 2);
		b.len = 0;
		assert_int_equal(mqttenc_unsuback(&b, level, 9, 1), 0);
		assert_int_equal(mqttdec_decode((uint8_t *)b.s, b.len, level, &p), MQTTDEC_OK);
		b.len = 0;
		assert_int_equal(mqttenc_subscribe(&b, level, 3, "lab/#", 1), 0);
		assert_int_equal(mqttdec_decode((uint8_t *)b.s, b.len, level, &p), MQTTDEC_OK);
		assert_int_equal(p.type, MQTT_SUBSCRIBE);
	}
	b.len = 0;
	assert_int_equal(mqttenc_ack(&b, MQTT_PUBREL, 5), 0);
	assert_int_equal(mqttdec_decode((uint8_t *)b.s, b.len, 4, &p), MQTTDEC_OK);
	assert_int_equal(p.flags, 2);   /* PUBREL's reserved flags */
	/* What does not fit the protocol is refused, not truncated. */
	assert_int_equal(mqttenc_publish(&b, 4, "t", "x", 1, 1, false, false, 0), -1);
	assert_int_equal(mqttenc_ack(&b, MQTT_CONNECT, 1), -1);
	mq_str_free(&b);
}

static X509 *template_cert(void)
{
	X509 *x = X509_new();
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509_NAME *n = X509_get_subject_name(x);
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509_set_version(x, 2);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Real Org", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"broker.lab", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "DNS:broker.lab,IP:10.1.2.3");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, k, EVP_sha256());
	EVP_PKEY_free(k);
	return x;
}

static char *name_text(X509_NAME *n)
{
	return X509_NAME_oneline(n, NULL, 0);
}

static void forgery_clones_and_marks(void **state)
{
	struct forge_opts o = { .mode = FORGE_SELF };
	struct forge f;
	struct mq_err err = { 0 };
	X509 *t = template_cert();
	char *subj, *iss;
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *sc = X509_STORE_CTX_new();
	(void)state;

	o.tmpl = t;
	assert_int_equal(forge_make(&o, &f, &err), 0);
	subj = name_text(X509_get_subject_name(f.cert));
	iss = name_text(X509_get_issuer_name(f.cert));
	assert_non_null(strstr(subj, "O=INSECURE LAB MITM"));
	assert_non_null(strstr(subj, "CN=broker.lab"));
	assert_null(strstr(subj, "Real Org"));
	assert_non_null(strstr(iss, "throw-away MITM CA"));
	/* The SAN is the real one, byte for byte. */
	ASN1_OCTET_STRING *a = X509_EXTENSION_get_data(X509_get_ext(t, X509_get_ext_by_NID(t, NID_subject_alt_name, -1)));
	ASN1_OCTET_STRING *b = X509_EXTENSION_get_data(X509_get_ext(f.cert, X509_get_ext_by_NID(f.cert, NID_subject_alt_name, -1)));
	assert_int_equal(ASN1_OCTET_STRING_cmp(a, b), 0);
	assert_int_equal(X509_check_host(f.cert, "broker.lab", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(f.cert, "10.1.2.3", 0), 1);
	/* It chains to its own throw-away CA, and to nothing else. */
	X509_STORE_add_cert(st, f.ca);
	X509_STORE_CTX_init(sc, st, f.cert, NULL);
	assert_int_equal(X509_verify_cert(sc), 1);
	assert_int_equal(X509_check_purpose(f.cert, X509_PURPOSE_SSL_SERVER, 0), 1);
	assert_int_equal(sk_X509_num(f.chain), 0);   /* a self-signed CA is not sent */
	X509_STORE_CTX_free(sc);
	X509_STORE_free(st);
	OPENSSL_free(subj);
	OPENSSL_free(iss);
	forge_free(&f);

	/* Names replace the clone's; bad names are refused. */
	const char *names[] = { "other.example", "192.168.1.9" };
	o.names = names;
	o.n_names = 2;
	assert_int_equal(forge_make(&o, &f, &err), 0);
	assert_int_equal(X509_check_host(f.cert, "broker.lab", 0, 0, NULL), 0);
	assert_int_equal(X509_check_host(f.cert, "other.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(f.cert, "192.168.1.9", 0), 1);
	forge_free(&f);
	const char *bad[] = { "a,b" };
	o.names = bad;
	o.n_names = 1;
	mq_err_clear(&err);
	assert_int_equal(forge_make(&o, &f, &err), -1);
	assert_non_null(strstr(err.msg, "not a host name"));
	X509_free(t);
}

static void forge_specs(void **state)
{
	struct forge_opts o = { 0 };
	struct mq_err err = { 0 };
	char a[] = "self", b[] = "ca:ca.crt,ca.key", c[] = "ca:ca.crt", d[] = "other";
	(void)state;
	assert_int_equal(forge_parse_spec(a, &o, &err), 0);
	assert_int_equal(o.mode, FORGE_SELF);
	assert_int_equal(forge_parse_spec(b, &o, &err), 0);
	assert_int_equal(o.mode, FORGE_CA);
	assert_string_equal(o.ca_cert, "ca.crt");
	assert_string_equal(o.ca_key, "ca.key");
	assert_int_equal(forge_parse_spec(c, &o, &err), -1);
	assert_int_equal(forge_parse_spec(d, &o, &err), -1);
}

/* The log line: contract fields, untrusted bytes escaped or base64, always valid JSON. */
static void log_lines(void **state)
{
	struct mitm_event ev;
	struct mq_str s = { 0 };
	cJSON *j;
	(void)state;

	memset(&ev, 0, sizeof ev);
	ev.type = MITM_EV_CONNECT;
	ev.ts = 1795312499.123933;
	ev.victim = 3;
	ev.client = "127.0.0.1:40000";
	ev.protocol = 4;
	ev.client_id = (const uint8_t *)"id\"\n\x01";
	ev.client_id_len = 5;
	ev.has_username = true;
	ev.username = (const uint8_t *)"al\xc3\xa9";
	ev.username_len = 4;
	ev.has_password = true;
	ev.password = (const uint8_t *)"\xff\x00pw";
	ev.password_len = 4;
	mitm_event_to_jsonl(&ev, &s);
	assert_non_null(strstr(s.s, "\"ts\":1795312499.123933"));
	assert_non_null(strstr(s.s, "\"client_id\":\"id\\\"\\u000a\\u0001\""));
	j = cJSON_Parse(s.s);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "event")->valuestring, "connect");
	assert_string_equal(cJSON_GetObjectItem(j, "client")->valuestring, "127.0.0.1:40000");
	assert_string_equal(cJSON_GetObjectItem(j, "username")->valuestring, "al\xc3\xa9");
	assert_string_equal(cJSON_GetObjectItem(j, "password")->valuestring, "/wBwdw==");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "password_base64")));
	assert_string_equal(cJSON_GetObjectItem(j, "protocol")->valuestring, "3.1.1");
	cJSON_Delete(j);
	mq_str_free(&s);

	memset(&ev, 0, sizeof ev);
	ev.type = MITM_EV_HANDSHAKE;
	ev.client = "127.0.0.1:1";
	ev.victim = 1;
	ev.result = "rejected";
	ev.alert = "unknown_ca";
	j = mitm_event_to_json(&ev);
	assert_string_equal(cJSON_GetObjectItem(j, "alert")->valuestring, "unknown_ca");
	assert_string_equal(cJSON_GetObjectItem(j, "result")->valuestring, "rejected");
	cJSON_Delete(j);
}

/*
 * The log writer looks at 16 (or 8) bytes at a time: every length around those steps, with a byte
 * that needs escaping or a multi-byte sequence (valid or not) at every position, must give
 * exactly the bytes back as text when mq_utf8_valid() accepts them, and base64 when it does not.
 */
static void log_text_every_length_and_position(void **state)
{
	static const struct {
		const char *b;
		size_t n;
	} odd[] = {
		{ "\"", 1 }, { "\\", 1 }, { "\n", 1 }, { "\x1f", 1 }, { "\x7f", 1 }, { "\0", 1 },
		{ "\xc3\xa9", 2 }, { "\xe2\x82\xac", 3 }, { "\xf0\x9f\x98\x80", 4 },
		{ "\x80", 1 }, { "\xc0\x80", 2 }, { "\xed\xa0\x80", 3 }, { "\xf4\x90\x80\x80", 4 },
		{ "\xe2\x82", 2 }, { "\xff", 1 },
	};
	uint8_t buf[80];
	(void)state;

	for (size_t len = 0; len <= 40; len++) {
		for (size_t k = 0; k < MQ_ARRAY_LEN(odd); k++) {
			for (size_t at = 0; at <= len; at++) {
				struct mitm_event ev;
				size_t n = len;
				cJSON *j;
				const cJSON *pl, *b64;

				memset(buf, 'a' + (int)(len % 26), sizeof buf);
				if (at + odd[k].n <= len)
					memcpy(buf + at, odd[k].b, odd[k].n);
				else if (at < len)
					continue;
				else
					n = len;   /* at == len: the plain text alone */
				memset(&ev, 0, sizeof ev);
				ev.type = MITM_EV_PUBLISH;
				ev.packet_id = -1;
				ev.client = "127.0.0.1:1";
				ev.topic = (const uint8_t *)"t";
				ev.topic_len = 1;
				ev.payload = buf;
				ev.payload_len = n;
				j = mitm_event_to_json(&ev);
				assert_non_null(j);
				pl = cJSON_GetObjectItem(j, "payload");
				b64 = cJSON_GetObjectItem(j, "payload_base64");
				assert_true(cJSON_IsString(pl));
				if (mq_utf8_valid(buf, n)) {
					assert_null(b64);
					assert_int_equal(strlen(pl->valuestring), n);
					assert_memory_equal(pl->valuestring, buf, n);
				} else {
					assert_true(cJSON_IsTrue(b64));
				}
				cJSON_Delete(j);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(topic_filters),
		cmocka_unit_test(packets_round_trip),
		cmocka_unit_test(forgery_clones_and_marks),
		cmocka_unit_test(forge_specs),
		cmocka_unit_test(log_lines),
		cmocka_unit_test(log_text_every_length_and_position),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
