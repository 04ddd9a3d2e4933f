/* explain: one table row per code family and form people paste; each must be recognised. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/ssl.h>

#include "mqttls/explain.h"

struct want {
	const char *input;
	const char *family;     /* an explanation of this family must be present */
	const char *code;       /* with this code */
	const char *name;       /* and this name (NULL: not checked) */
	const char *finding;    /* and this related finding (NULL: not checked) */
	const char *meaning_has; /* a substring of meaning or detail (NULL: not checked) */
};

static const struct want rows[] = {
	/* PubSubClient state() */
	{ "rc=-2", EXPLAIN_PUBSUBCLIENT, "rc=-2", "MQTT_CONNECT_FAILED", "TCP_REFUSED", "TLS" },
	{ "failed, rc=-4 try again in 5 seconds", EXPLAIN_PUBSUBCLIENT, "rc=-4", "MQTT_CONNECTION_TIMEOUT", NULL, NULL },
	{ "client.state() = 5", EXPLAIN_PUBSUBCLIENT, "rc=5", "MQTT_CONNECT_UNAUTHORIZED", "ANONYMOUS_NOT_ALLOWED", NULL },
	{ "failed, rc=-3", EXPLAIN_PUBSUBCLIENT, "rc=-3", "MQTT_CONNECTION_LOST", NULL, NULL },
	{ "rc=4", EXPLAIN_PUBSUBCLIENT, "rc=4", "MQTT_CONNECT_BAD_CREDENTIALS", "BAD_CREDENTIALS", NULL },
	/* mbedTLS in the three ESP32 forms, with 2.x/3.x differences */
	{ "(-9984) X509 - Certificate verification failed, e.g. CRL, CA or signature check failed", EXPLAIN_MBEDTLS, "-0x2700", "MBEDTLS_ERR_X509_CERT_VERIFY_FAILED", "WRONG_CA", "-9984" },
	{ "mbedtls_ssl_handshake returned -0x2700", EXPLAIN_MBEDTLS, "-0x2700", "MBEDTLS_ERR_X509_CERT_VERIFY_FAILED", NULL, NULL },
	{ "Last tls stack error number: 0x2700", EXPLAIN_MBEDTLS, "-0x2700", NULL, NULL, NULL },
	{ "mbedtls_ssl_handshake returned 0xffffd900", EXPLAIN_MBEDTLS, "-0x2700", NULL, NULL, NULL },
	{ "(-29312) SSL - The connection indicated an EOF", EXPLAIN_MBEDTLS, "-0x7280", "MBEDTLS_ERR_SSL_CONN_EOF", "CLIENT_CERT_REQUIRED", NULL },
	{ "-0x7780", EXPLAIN_MBEDTLS, "-0x7780", "MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE", NULL, NULL },
	{ "-0x6E00", EXPLAIN_MBEDTLS, "-0x6E00", "MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE", NULL, "BAD_HS_NEW_SESSION_TICKET" },
	{ "-0x7800", EXPLAIN_MBEDTLS, "-0x7800", "MBEDTLS_ERR_SSL_UNRECOGNIZED_NAME", NULL, "PEER_VERIFY_FAILED" },
	{ "-0x7380", EXPLAIN_MBEDTLS, "-0x7380", "MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN", NULL, "3.x does not use" },
	{ "error -0x2180", EXPLAIN_MBEDTLS, "-0x2180", "MBEDTLS_ERR_X509_INVALID_FORMAT", "CAFILE_INVALID", NULL },
	{ "-0x3D00", EXPLAIN_MBEDTLS, "-0x3D00", "MBEDTLS_ERR_PK_KEY_INVALID_FORMAT", "CLIENT_CERT_INVALID", NULL },
	{ "-0x1080", EXPLAIN_MBEDTLS, "-0x1080", "MBEDTLS_ERR_PEM_NO_HEADER_FOOTER_PRESENT", NULL, NULL },
	{ "-0x0050", EXPLAIN_MBEDTLS, "-0x0050", "MBEDTLS_ERR_NET_CONN_RESET", NULL, NULL },
	{ "-0x0052", EXPLAIN_MBEDTLS, "-0x0052", "MBEDTLS_ERR_NET_UNKNOWN_HOST", "DNS_FAILED", NULL },
	{ "-0x7200", EXPLAIN_MBEDTLS, "-0x7200", "MBEDTLS_ERR_SSL_INVALID_RECORD", "PLAINTEXT_PORT", NULL },
	/* high-level + low-level composite: X509 invalid format + ASN1 unexpected tag */
	{ "-0x21E2", EXPLAIN_MBEDTLS, "-0x21E2", "MBEDTLS_ERR_X509_INVALID_FORMAT", NULL, "MBEDTLS_ERR_ASN1_UNEXPECTED_TAG" },
	{ "-4396", EXPLAIN_MBEDTLS, "-0x112C", "MBEDTLS_ERR_PEM_INVALID_DATA", NULL, "BASE64_INVALID_CHARACTER" },
	/* verify flags, as numbers and as mbedtls_x509_crt_verify_info() text */
	{ "verification flags 0x8", EXPLAIN_MBEDTLS_FLAGS, "flags 0x8", NULL, "WRONG_CA", "alert 48 unknown_ca" },
	{ "esp_tls_cert_verify_flags=0x4", EXPLAIN_MBEDTLS_FLAGS, "flags 0x4", NULL, "HOSTNAME_MISMATCH", "alert 42" },
	{ "verify flags 0x9", EXPLAIN_MBEDTLS_FLAGS, "flags 0x9", NULL, "CERT_EXPIRED", "alert 45" },
	{ "  ! The certificate Common Name (CN) does not match with the expected CN", EXPLAIN_MBEDTLS_FLAGS, "flags 0x4", NULL, NULL, NULL },
	{ "  ! The certificate is not correctly signed by the trusted CA", EXPLAIN_MBEDTLS_FLAGS, "flags 0x8", NULL, NULL, NULL },
	/* esp-tls, both numberings */
	{ "Last error code reported from esp-tls: 0x801a", EXPLAIN_ESPTLS, "0x801A", "ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED", NULL, "ESP-IDF 4.x" },
	{ "esp-tls error 0x8010", EXPLAIN_ESPTLS, "0x8010", NULL, NULL, "ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED" },
	{ "esp-tls error 0x8010", EXPLAIN_ESPTLS, "0x8010", NULL, NULL, "ESP_ERR_MBEDTLS_CERT_PARTLY_OK" },
	{ "0x8004", EXPLAIN_ESPTLS, "0x8004", "ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST", "TCP_REFUSED", "same number" },
	{ "esp-tls: 0x8006", EXPLAIN_ESPTLS, "0x8006", "ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT", NULL, "ESP_ERR_MBEDTLS_CERT_PARTLY_OK" },
	{ "ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED", EXPLAIN_ESPTLS, "0x801A", "ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED", NULL, "0x8010 on 4.x" },
	{ "I (5350) esp-tls-mbedtls: Failed to verify peer certificate!", EXPLAIN_ESPTLS, "esp:verify-failed", NULL, NULL, NULL },
	/* OpenSSL 3, 1.1.1, alert offset, library names from Python / Node */
	{ "OpenSSL Error[0]: error:0A000412:SSL routines::sslv3 alert bad certificate", EXPLAIN_OPENSSL, "error:0A000412", NULL, "IP_NOT_IN_SAN", "bad_certificate" },
	{ "error:0A000412:SSL routines::ssl/tls alert bad certificate", EXPLAIN_OPENSSL, "error:0A000412", NULL, NULL, "name" },
	{ "error:0A000418:SSL routines::tlsv1 alert unknown ca", EXPLAIN_OPENSSL, "error:0A000418", NULL, "WRONG_CA", "unknown_ca" },
	{ "error:0A00045C:SSL routines::tlsv13 alert certificate required", EXPLAIN_OPENSSL, "error:0A00045C", NULL, "CLIENT_CERT_REQUIRED", NULL },
	{ "error:0A000086:SSL routines::certificate verify failed", EXPLAIN_OPENSSL, "error:0A000086", "CERTIFICATE_VERIFY_FAILED", NULL, NULL },
	{ "error:0A00010B:SSL routines::wrong version number", EXPLAIN_OPENSSL, "error:0A00010B", "WRONG_VERSION_NUMBER", "PLAINTEXT_PORT", NULL },
	{ "error:0A0000C7:SSL routines::peer did not return a certificate", EXPLAIN_OPENSSL, "error:0A0000C7", "PEER_DID_NOT_RETURN_A_CERTIFICATE", "CLIENT_CERT_REQUIRED", NULL },
	{ "error:0A00042E:SSL routines::tlsv1 alert protocol version", EXPLAIN_OPENSSL, "error:0A00042E", NULL, "TLS_VERSION_MISMATCH", NULL },
	{ "error:0A0000C1:SSL routines::no shared cipher", EXPLAIN_OPENSSL, "error:0A0000C1", "NO_SHARED_CIPHER", "NO_SHARED_CIPHER", NULL },
	{ "error:0A000126:SSL routines::unexpected eof while reading", EXPLAIN_OPENSSL, "error:0A000126", "UNEXPECTED_EOF_WHILE_READING", NULL, NULL },
	{ "error:0A000438:SSL routines::tlsv1 alert internal error", EXPLAIN_OPENSSL, "error:0A000438", NULL, NULL, "host name does not match" },
	{ "error:14094418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:SSL alert number 48", EXPLAIN_OPENSSL, "error:14094418", NULL, "WRONG_CA", "1.1.1" },
	{ "error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed", EXPLAIN_OPENSSL, "error:1416F086", "CERTIFICATE_VERIFY_FAILED", NULL, "0A000086" },
	{ "error:80000002:system library::No such file or directory", EXPLAIN_OPENSSL, "error:80000002", "ENOENT", NULL, NULL },
	{ "error:8000000D:system library::Permission denied", EXPLAIN_OPENSSL, "error:8000000D", "EACCES", "BROKER_CANNOT_READ_FILE", NULL },
	{ "error:0480006C:PEM routines::no start line", EXPLAIN_OPENSSL, "error:0480006C", "NO_START_LINE", "CAFILE_INVALID", NULL },
	{ "error:05800074:x509 certificate routines::key values mismatch", EXPLAIN_OPENSSL, "error:05800074", "KEY_VALUES_MISMATCH", "CLIENT_KEY_MISMATCH", NULL },
	{ "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", EXPLAIN_PYTHON, "WRONG_VERSION_NUMBER", NULL, "PLAINTEXT_PORT", NULL },
	{ "ssl.SSLError: [SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca", EXPLAIN_ALERT, "alert 48", "unknown_ca", NULL, NULL },
	{ "code: 'ERR_SSL_WRONG_VERSION_NUMBER'", EXPLAIN_NODE, "WRONG_VERSION_NUMBER", NULL, NULL, "Node.js" },
	/* X509 verify codes */
	{ "verify error:num=20:unable to get local issuer certificate", EXPLAIN_X509, "20", "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "INCOMPLETE_CHAIN", NULL },
	{ "Verify return code: 62 (hostname mismatch)", EXPLAIN_X509, "62", "X509_V_ERR_HOSTNAME_MISMATCH", "HOSTNAME_MISMATCH", NULL },
	{ "X509_V_ERR_IP_ADDRESS_MISMATCH", EXPLAIN_X509, "64", "X509_V_ERR_IP_ADDRESS_MISMATCH", "IP_NOT_IN_SAN", NULL },
	{ "certificate verify failed: certificate has expired (_ssl.c:1006)", EXPLAIN_X509, "10", "X509_V_ERR_CERT_HAS_EXPIRED", "CERT_EXPIRED", NULL },
	{ "certificate verify failed: self signed certificate", EXPLAIN_X509, "18", "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_SERVER", "1.1.1" },
	{ "Basic Constraints of CA cert not marked critical", EXPLAIN_X509, "89", "X509_V_ERR_CA_BCONS_NOT_CRITICAL", NULL, "strict" },
	/* TLS alerts by number and name, with the mbedTLS sender's reading */
	{ "alert 48", EXPLAIN_ALERT, "alert 48", "unknown_ca", "WRONG_CA", "setCACert" },
	{ "SSL alert number 42", EXPLAIN_ALERT, "alert 42", "bad_certificate", "IP_NOT_IN_SAN", "CN_MISMATCH" },
	{ "received alert certificate_expired", EXPLAIN_ALERT, "alert 45", "certificate_expired", "CERT_EXPIRED", NULL },
	{ "tls alert unknown ca", EXPLAIN_ALERT, "alert 48", "unknown_ca", NULL, NULL },
	{ "alert number 116", EXPLAIN_ALERT, "alert 116", "certificate_required", "CLIENT_CERT_REQUIRED", NULL },
	/* CONNACK 3.1.1 and MQTT 5 */
	{ "1795308722: Sending CONNACK to 127.0.0.1 (0, 5)", EXPLAIN_CONNACK, "5", "not authorised", "ANONYMOUS_NOT_ALLOWED", NULL },
	{ "Sending CONNACK to auto-1 (0, 135)", EXPLAIN_MQTT5, "0x87", "Not authorized", "NOT_AUTHORIZED", NULL },
	{ "Connection error: Connection Refused: bad user name or password.", EXPLAIN_CONNACK, "4", NULL, "BAD_CREDENTIALS", NULL },
	{ "Connection error: Not authorized", EXPLAIN_MQTT5, "0x87", NULL, NULL, NULL },
	{ "CONNACK reason code 0x86", EXPLAIN_MQTT5, "0x86", "Bad User Name or Password", "BAD_CREDENTIALS", NULL },
	{ "connack code 2", EXPLAIN_CONNACK, "2", NULL, "CLIENT_ID_REJECTED", NULL },
	/* libmosquitto */
	{ "Error: A TLS error occurred.", EXPLAIN_MOSQ_ERR, "8", "MOSQ_ERR_TLS", NULL, NULL },
	{ "Unable to connect (Lookup error.).", EXPLAIN_MOSQ_ERR, "15", "MOSQ_ERR_EAI", "DNS_FAILED", NULL },
	{ "Error: The connection was lost.", EXPLAIN_MOSQ_ERR, "7", "MOSQ_ERR_CONN_LOST", NULL, NULL },
	{ "mosquitto_connect failed: MOSQ_ERR_CONN_REFUSED", EXPLAIN_MOSQ_ERR, "5", "MOSQ_ERR_CONN_REFUSED", NULL, NULL },
	{ "mosquitto_pub exited with status 135", EXPLAIN_MQTT5, "0x87", NULL, NULL, NULL },
	{ "exit code 8", EXPLAIN_MOSQ_ERR, "8", "MOSQ_ERR_TLS", NULL, NULL },
	/* mosquitto broker log and client lines */
	{ "1795308716: Client <unknown> disconnected: Protocol error.", EXPLAIN_MOSQ_LOG, "log:tls-failed", NULL, NULL, "EPROTO" },
	{ "1795308716: Client <unknown> disconnected due to protocol error.", EXPLAIN_MOSQ_LOG, "log:mqtt-protocol-error", NULL, "PLAINTEXT_PORT", NULL },
	{ "Client <unknown> disconnected, not authorised.", EXPLAIN_MOSQ_LOG, "log:not-authorised", NULL, "ANONYMOUS_NOT_ALLOWED", NULL },
	{ "Error: Unable to load server key file /etc/mosquitto/certs/server.key. Check keyfile.", EXPLAIN_MOSQ_LOG, "log:key-load", NULL, "BROKER_CANNOT_READ_FILE", NULL },
	{ "Starting in local only mode. Connections will only be possible from clients running on this machine.", EXPLAIN_MOSQ_LOG, "log:local-only", NULL, "TCP_REFUSED", NULL },
	/* lines copied whole from a sweep of real brokers and the tutorials */
	{ "1795315649: Error: Unsupported tls_version \"tlsv1.2 tlsv1.3\".", EXPLAIN_MOSQ_LOG, "log:tls-version", NULL, "CONF_INCONSISTENT", "one word" },
	{ "1795315696: Error: Unknown configuration variable \"tls_versions\".", EXPLAIN_MOSQ_LOG, "log:conf-unknown", NULL, "CONF_INCONSISTENT", NULL },
	{ "1795315696: Error found at /etc/mosquitto/conf.d/tls.conf:2.", EXPLAIN_MOSQ_LOG, "log:conf-error-at", NULL, "TCP_REFUSED", NULL },
	{ "1795316137: Sending CONNACK to ESP32Client (0, 0)", EXPLAIN_CONNACK, "0", "Connection Accepted", NULL, "accepted" },
	{ "1795317512: Error: Unable to open pwfile \"/etc/mosquitto/passwd\".", EXPLAIN_MOSQ_LOG, "log:pwfile", NULL, "BROKER_CANNOT_READ_FILE", NULL },
	{ "Client (null) received CONNACK (0)", EXPLAIN_CONNACK, "0", "Connection Accepted", NULL, NULL },
	{ "Client (null) received CONNACK (5)", EXPLAIN_CONNACK, "5", NULL, "ANONYMOUS_NOT_ALLOWED", NULL },
	{ "E (7402) TRANSPORT_BASE: Failed to open a new connection: 32774", EXPLAIN_ESPTLS, "0x8006", NULL, NULL, NULL },
	{ "Error: Protocol error", EXPLAIN_MOSQ_CLIENT, "client:eproto", NULL, "CLIENT_CERT_REQUIRED", NULL },
	{ "Error: host name verification failed.", EXPLAIN_MOSQ_CLIENT, "client:hostname", NULL, "HOSTNAME_MISMATCH", NULL },
	{ "Error: Problem setting TLS options: File not found.", EXPLAIN_MOSQ_CLIENT, "client:tls-options", NULL, "CAFILE_INVALID", NULL },
	{ "Error: Connection refused", EXPLAIN_ERRNO, "ECONNREFUSED", NULL, "TCP_REFUSED", NULL },
	/* Node.js */
	{ "Error: Hostname/IP does not match certificate's altnames: IP: 192.168.1.5 is not in the cert's list: code: 'ERR_TLS_CERT_ALTNAME_INVALID'", EXPLAIN_NODE, "ERR_TLS_CERT_ALTNAME_INVALID", NULL, "IP_NOT_IN_SAN", NULL },
	{ "Error: self-signed certificate in certificate chain code: 'SELF_SIGNED_CERT_IN_CHAIN'", EXPLAIN_NODE, "19", NULL, "WRONG_CA", NULL },
	{ "code: 'DEPTH_ZERO_SELF_SIGNED_CERT'", EXPLAIN_NODE, "18", NULL, "SELF_SIGNED_SERVER", NULL },
	{ "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", EXPLAIN_NODE, "20", NULL, NULL, NULL },
	{ "CERT_HAS_EXPIRED", EXPLAIN_NODE, "10", NULL, "CERT_EXPIRED", NULL },
	{ "connect ECONNREFUSED 127.0.0.1:8883", EXPLAIN_NODE, "ECONNREFUSED", NULL, "TCP_REFUSED", NULL },
};

static const struct explain_item *find(const struct explain_result *r, const char *family, const char *code)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].family, family) && !strcmp(r->v[i].code, code))
			return &r->v[i];
	return NULL;
}

static void dump(const struct explain_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		print_message("#   got %s %s %s\n", r->v[i].family, r->v[i].code, r->v[i].name ? r->v[i].name : "-");
}

static void every_row(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct want *w = &rows[i];
		struct explain_result r = { 0 };
		const struct explain_item *it;

		explain_text(w->input, strlen(w->input), &r);
		it = find(&r, w->family, w->code);
		if (!it) {
			print_message("# row %zu: '%s' wanted %s %s\n", i, w->input, w->family, w->code);
			dump(&r);
			fail();
		}
		if (w->name && (!it->name || strcmp(it->name, w->name))) {
			print_message("# row %zu: '%s' name %s, wanted %s\n", i, w->input, it->name ? it->name : "NULL", w->name);
			fail();
		}
		if (w->finding) {
			bool found = false;
			for (size_t k = 0; it->findings[k]; k++)
				found |= !strcmp(it->findings[k], w->finding);
			if (!found) {
				print_message("# row %zu: '%s' lacks finding %s\n", i, w->input, w->finding);
				fail();
			}
		}
		if (w->meaning_has && !strstr(it->meaning, w->meaning_has) &&
		    !(it->detail && strstr(it->detail, w->meaning_has))) {
			print_message("# row %zu: '%s' meaning lacks '%s': %s / %s\n", i, w->input, w->meaning_has, it->meaning,
				      it->detail ? it->detail : "");
			fail();
		}
		explain_result_free(&r);
	}
}

static void unknown_input_is_said_honestly(void **state)
{
	static const char *const inputs[] = {
		"xyzzy", "hello world", "", "   ", "-0x5555", "0x8400", "error:0A00FFFF is not here",
		"2.0.11", "port 32769", "1795308716:", "-99999999999999999999",
	};
	(void)state;
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		struct explain_result r = { 0 };
		size_t n = explain_text(inputs[i], strlen(inputs[i]), &r);
		/* error:0A00FFFF is an OpenSSL code this library does not name: it is said so, not guessed. */
		if (i == 6) {
			assert_int_equal(n, 1);
			assert_non_null(strstr(r.v[0].meaning, "does not name"));
		} else if (n != 0) {
			print_message("# '%s' gave %zu explanations\n", inputs[i], n);
			dump(&r);
			fail();
		}
		explain_result_free(&r);
	}
}

static void bare_numbers_are_guesses_of_every_family(void **state)
{
	struct explain_result r = { 0 };
	(void)state;

	explain_text("5", 1, &r);
	assert_non_null(find(&r, EXPLAIN_PUBSUBCLIENT, "rc=5"));
	assert_non_null(find(&r, EXPLAIN_CONNACK, "5"));
	assert_non_null(find(&r, EXPLAIN_MOSQ_ERR, "5"));
	for (size_t i = 0; i < r.n; i++)
		assert_true(r.v[i].guess);
	explain_result_free(&r);

	explain_text("-2", 2, &r);
	assert_non_null(find(&r, EXPLAIN_PUBSUBCLIENT, "rc=-2"));
	explain_result_free(&r);

	explain_text("48", 2, &r);
	assert_non_null(find(&r, EXPLAIN_ALERT, "alert 48"));
	explain_result_free(&r);
}

static void several_codes_in_one_log(void **state)
{
	const char *log =
		"1795308716: New connection from 127.0.0.1:47044 on port 18883.\n"
		"1795308716: OpenSSL Error[0]: error:0A000412:SSL routines::sslv3 alert bad certificate\n"
		"1795308716: Client <unknown> disconnected: Protocol error.\n";
	struct explain_result r = { 0 };
	const struct explain_item *it;
	(void)state;

	explain_text(log, strlen(log), &r);
	assert_non_null(find(&r, EXPLAIN_MOSQ_LOG, "log:tls-failed"));
	it = find(&r, EXPLAIN_OPENSSL, "error:0A000412");
	assert_non_null(it);
	/* In a broker log, the alert came from the device: the mbedTLS reading must be given. */
	assert_non_null(strstr(it->detail, "the device sent it"));
	/* The port and the timestamps are not codes. */
	assert_null(find(&r, EXPLAIN_ESPTLS, "0x8001"));
	explain_result_free(&r);
}

static void helpers(void **state)
{
	char buf[160];
	(void)state;

	assert_string_equal(explain_alert_name(48), "unknown_ca");
	assert_string_equal(explain_alert_name(116), "certificate_required");
	assert_null(explain_alert_name(3));
	assert_string_equal(explain_x509_name(62), "X509_V_ERR_HOSTNAME_MISMATCH");
	/* mbedTLS picks the alert by its own order: the CN mismatch wins over an untrusted CA. */
	assert_int_equal(explain_mbedtls_alert_for_flags(0x04 | 0x08), 42);
	assert_int_equal(explain_mbedtls_alert_for_flags(0x08), 48);
	assert_int_equal(explain_mbedtls_alert_for_flags(0x01 | 0x08), 45);
	assert_int_equal(explain_mbedtls_alert_for_flags(0x1000), 43);
	assert_int_equal(explain_mbedtls_alert_for_flags(0x200), 46);
	assert_int_equal(explain_mbedtls_alert_for_flags(0x100 | 0x04), 49);
	explain_mbedtls_format(-0x2700, buf, sizeof buf);
	assert_string_equal(buf, "-0x2700 (-9984) MBEDTLS_ERR_X509_CERT_VERIFY_FAILED");
	explain_esptls_format(EXPLAIN_ESPTLS_HANDSHAKE, buf, sizeof buf);
	assert_string_equal(buf, "ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED (0x801A on ESP-IDF 5.x, 0x8010 on 4.x)");
	explain_esptls_format(EXPLAIN_ESPTLS_CONNECT, buf, sizeof buf);
	assert_string_equal(buf, "ESP_ERR_ESP_TLS_FAILED_CONNECT_TO_HOST (0x8004)");
}

static void json_shape(void **state)
{
	struct explain_result r = { 0 };
	cJSON *j;
	(void)state;

	explain_text("rc=-2 \x1b[31m", 11, &r);
	j = explain_result_to_json(&r, "rc=-2 \x1b[31m", 11);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "recognised")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "explanations")), 1);
	/* The pasted input is escaped: no raw escape byte survives. */
	assert_null(strchr(cJSON_GetObjectItem(j, "input")->valuestring, '\x1b'));
	cJSON_Delete(j);
	explain_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_row),
		cmocka_unit_test(unknown_input_is_said_honestly),
		cmocka_unit_test(bare_numbers_are_guesses_of_every_family),
		cmocka_unit_test(several_codes_in_one_log),
		cmocka_unit_test(helpers),
		cmocka_unit_test(json_shape),
	};
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
