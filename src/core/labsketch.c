/*
 * labsketch — "mqttls lab sketch": the ESP32 program of a lab, Arduino (.ino, WiFiClientSecure +
 * PubSubClient) or ESP-IDF (main.cpp, esp-mqtt), with the lab's own CA and, for mTLS labs, the
 * device's certificate and key embedded (esp32.h formats them as certs export-esp32 does), the
 * broker's address filled in, and the variant the lab demonstrates behind LAB_INSECURE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab-int.h"
#include "mqttls/chain.h"
#include "mqttls/esp32.h"
#include "mqttls/util.h"

#define SKETCH_FILE_CAP (64u * 1024)

struct sketch {
	struct lab_ctx *c;
	const struct labsketch *k;
	enum lab_sketch_flavor flavor;
	char *ca, *cert, *key;            /* PEM text of the files embedded */
	size_t ca_len, cert_len, key_len;
	char *port, *plain_port, *user, *password, *client_id, *topic;
	char fingerprint[100];            /* "AB:CD:..." of pin-from's certificate, or "" */
	char ca_desc[300];                /* who the CA is, for the comment */
};

/* A C string literal for a short value (names, passwords): quotes and backslashes escaped. */
static void c_literal(struct mq_str *out, const char *s)
{
	mq_str_append(out, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			mq_str_append(out, "\\", 1);
		if ((unsigned char)*p >= 0x20)
			mq_str_append(out, p, 1);
	}
	mq_str_append(out, "\"", 1);
}

/* Comment text from files and definitions: no "* /" that would end the comment early. */
static void comment_text(struct mq_str *out, const char *s)
{
	for (const char *p = s; *p; p++) {
		mq_str_append(out, p, 1);
		if (*p == '*' && p[1] == '/')
			mq_str_append(out, " ", 1);
	}
}

static char *expand_opt(struct lab_ctx *c, const char *tmpl, struct mq_err *err, bool *failed)
{
	char *s;

	if (!tmpl)
		return NULL;
	if (!(s = labctx_expand(c, tmpl, err)))
		*failed = true;
	return s;
}

/* Read a PEM file the sketch embeds; certificates are checked to be certificates. */
static int read_pem(struct lab_ctx *c, const char *tmpl, bool certs, char **out, size_t *len, char *desc,
		    size_t desc_size, char *fp, size_t fp_size, struct mq_err *err)
{
	char path[PATH_MAX], *rel = labctx_expand(c, tmpl, err);
	int rc = -1;

	if (!rel)
		return -1;
	if (!labctx_path(c, rel, path, sizeof path)) {
		mq_errf(err, "path too long: %s", rel);
		goto out;
	}
	if (mq_read_file(path, SKETCH_FILE_CAP, out, len, err) < 0)
		goto out;
	if (certs) {
		STACK_OF(X509) *sk = NULL;
		struct cert_info ci;

		if (chain_load_file(path, &sk, NULL, err) <= 0 || cert_info_from_x509(sk_X509_value(sk, 0), 0, &ci, err) < 0) {
			sk_X509_pop_free(sk, X509_free);
			mq_errf(err, "%s is not a certificate", path);
			goto out;
		}
		if (desc)
			snprintf(desc, desc_size, "%s", ci.subject);
		if (fp)
			snprintf(fp, fp_size, "%s", ci.sha256);
		cert_info_free(&ci);
		sk_X509_pop_free(sk, X509_free);
	}
	rc = 0;
out:
	free(rel);
	return rc;
}

static const char *insecure_words(enum labsketch_insecure v)
{
	switch (v) {
	case LABSKETCH_SETINSECURE:
		return "setInsecure(): the broker is not verified at all, so any broker on the network is accepted";
	case LABSKETCH_SKIP_CN:
		return "the CA is checked but not the host name (esp-mqtt skip_cert_common_name_check), so any "
		       "certificate the CA ever issued is accepted";
	case LABSKETCH_PLAINTEXT:
		return "plain MQTT on the plaintext port: user name, password and every message cross the network "
		       "in clear";
	case LABSKETCH_NO_CLOCK:
		return "set_clock() is never called, so the device believes it is 1970 and finds every certificate "
		       "not yet valid (when its mbedTLS checks dates: CONFIG_MBEDTLS_HAVE_TIME_DATE)";
	case LABSKETCH_NONE:
		break;
	}
	return NULL;
}

static void header(struct mq_str *o, const struct sketch *s)
{
	const struct labdef *d = s->c->d;
	const char *iw = insecure_words(s->k->insecure);

	mq_str_printf(o, "/*\n * mqttls lab %d (%s): ", d->number, d->name);
	comment_text(o, d->title);
	mq_str_printf(o, "\n * Made by \"mqttls lab sketch %s%s\" for the lab's broker at %s:%s.\n", d->name,
		      s->flavor == LAB_SKETCH_ESP_IDF ? " --esp-idf" : "", s->c->ip, s->port);
	if (s->c->netns)
		mq_str_printf(o, " * That is the broker's address on the lab network of --netns, inside this machine:\n"
				 " * for a real ESP32, start the lab with --lab-bind CIDR instead (a private range of\n"
				 " * the classroom LAN) and make the sketch again.\n");
	else if (!s->c->lab_bind[0])
		mq_str_printf(o, " * That is a loopback address: for a real ESP32, start the lab with --lab-bind CIDR\n"
				 " * (a private range of the classroom LAN) and make the sketch again.\n");
	mq_str_printf(o, " * It trusts the lab's CA: ");
	comment_text(o, s->ca_desc);
	mq_str_printf(o, ".\n");
	if (s->k->note) {
		mq_str_printf(o, " *\n * ");
		for (const char *p = s->k->note; *p; p++) {
			if (*p == '\n' && p[1])
				mq_str_printf(o, "\n * ");
			else if (*p != '\n')
				comment_text(o, (char[]){ *p, '\0' });
		}
		mq_str_printf(o, "\n");
	}
	if (iw)
		mq_str_printf(o, " *\n * Build with LAB_INSECURE 1 to see what the lab demonstrates: %s.\n", iw);
	mq_str_printf(o, " */\n");
}

static void constants(struct mq_str *o, const struct sketch *s)
{
	if (s->k->insecure != LABSKETCH_NONE)
		mq_str_printf(o, "\n#ifndef LAB_INSECURE\n#define LAB_INSECURE 0\n#endif\n");
	mq_str_printf(o, "\nconst char *wifi_ssid = \"YOUR_WIFI_NAME\";\nconst char *wifi_password = \"YOUR_WIFI_PASSWORD\";\n");
	mq_str_printf(o, "const char *mqtt_host = ");
	c_literal(o, s->c->ip);
	if (s->k->insecure == LABSKETCH_PLAINTEXT && s->plain_port)
		mq_str_printf(o, ";\n#if LAB_INSECURE\nconst int mqtt_port = %s;   /* the plaintext listener */\n"
				 "#else\nconst int mqtt_port = %s;\n#endif\n",
			      s->plain_port, s->port);
	else
		mq_str_printf(o, ";\nconst int mqtt_port = %s;\n", s->port);
	mq_str_printf(o, "const char *mqtt_client_id = ");
	c_literal(o, s->client_id ? s->client_id : "esp32-lab");
	mq_str_printf(o, ";\nconst char *mqtt_topic = ");
	c_literal(o, s->topic ? s->topic : "lab/esp32/temp");
	mq_str_printf(o, ";\n");
	if (s->user) {
		mq_str_printf(o, "const char *mqtt_user = ");
		c_literal(o, s->user);
		mq_str_printf(o, ";\nconst char *mqtt_password = ");
		c_literal(o, s->password ? s->password : "");
		mq_str_printf(o, ";\n");
	}
	mq_str_printf(o, "\n/* The lab's root CA: what the broker's certificate must lead to. */\n");
	esp32_c_string(o, "lab_ca", s->ca, s->ca_len);
	if (s->cert) {
		mq_str_printf(o, "\n/* This device's certificate (and the intermediate after it) and its private key:\n"
				 " * mutual TLS, the broker takes the certificate's CN as the user name. */\n");
		esp32_c_string(o, "device_cert", s->cert, s->cert_len);
		esp32_c_string(o, "device_key", s->key, s->key_len);
	}
	if (s->fingerprint[0]) {
		mq_str_printf(o, "\n/* The SHA-256 of the broker's own certificate: the only one this device accepts. */\n"
				 "const char *broker_fingerprint = ");
		c_literal(o, s->fingerprint);
		mq_str_printf(o, ";\n");
	}
}

static void arduino(struct mq_str *o, const struct sketch *s)
{
	enum labsketch_insecure ins = s->k->insecure;

	header(o, s);
	mq_str_printf(o, "#include <WiFi.h>\n#include <WiFiClientSecure.h>\n#include <PubSubClient.h>\n#include <time.h>\n");
	constants(o, s);
	if (ins == LABSKETCH_PLAINTEXT)
		mq_str_printf(o, "\n#if LAB_INSECURE\nWiFiClient net;          /* no TLS at all */\n#else\n"
				 "WiFiClientSecure net;\n#endif\n");
	else
		mq_str_printf(o, "\nWiFiClientSecure net;\n");
	mq_str_printf(o,
		      "PubSubClient mqtt(net);\n"
		      "\n"
		      "void connect_wifi() {\n"
		      "  Serial.print(\"Connecting to WiFi\");\n"
		      "  WiFi.begin(wifi_ssid, wifi_password);\n"
		      "  while (WiFi.status() != WL_CONNECTED) {\n"
		      "    delay(500);\n"
		      "    Serial.print(\".\");\n"
		      "  }\n"
		      "  Serial.print(\"\\nWiFi connected, IP \");\n"
		      "  Serial.println(WiFi.localIP());\n"
		      "}\n"
		      "\n"
		      "/* Certificates are valid from one date to another. An mbedTLS that checks dates\n"
		      " * (CONFIG_MBEDTLS_HAVE_TIME_DATE) on a device that still thinks it is 1970 finds every\n"
		      " * certificate \"not yet valid\"; one that does not (Arduino-ESP32's libraries, ESP-IDF's\n"
		      " * default) accepts expired ones too. Set the clock before the first handshake. */\n"
		      "void set_clock() {\n"
		      "  configTime(0, 0, \"pool.ntp.org\", \"time.nist.gov\");\n"
		      "  Serial.print(\"Waiting for the time\");\n"
		      "  time_t now = time(nullptr);\n"
		      "  while (now < 1700000000) {\n"
		      "    delay(500);\n"
		      "    Serial.print(\".\");\n"
		      "    now = time(nullptr);\n"
		      "  }\n"
		      "  Serial.println(\" ok\");\n"
		      "}\n"
		      "\n"
		      "void setup_tls() {\n");
	if (ins == LABSKETCH_PLAINTEXT)
		mq_str_printf(o, "#if !LAB_INSECURE\n");
	if (ins == LABSKETCH_SETINSECURE)
		mq_str_printf(o, "#if LAB_INSECURE\n  net.setInsecure();            /* NEVER in a real device */\n#else\n");
	mq_str_printf(o, "  net.setCACert(lab_ca);\n");
	if (ins == LABSKETCH_SETINSECURE)
		mq_str_printf(o, "#endif\n");
	if (s->cert)
		mq_str_printf(o, "  net.setCertificate(device_cert);\n  net.setPrivateKey(device_key);\n");
	if (ins == LABSKETCH_PLAINTEXT)
		mq_str_printf(o, "#endif\n");
	if (ins == LABSKETCH_SKIP_CN)
		mq_str_printf(o, "  /* WiFiClientSecure always checks the host name once a CA is set: the variant\n"
				 "   * without the check is the ESP-IDF one (mqttls lab sketch %s --esp-idf). */\n",
			      s->c->d->name);
	mq_str_printf(o, "}\n\nbool connect_mqtt() {\n");
	if (s->fingerprint[0])
		mq_str_printf(o, "  /* Connect first, compare the broker's certificate with the pin, then speak MQTT\n"
				 "   * on the same connection (PubSubClient keeps a connected client). */\n"
				 "  if (!net.connect(mqtt_host, mqtt_port)) {\n"
				 "    Serial.println(\"TLS connection failed\");\n"
				 "    return false;\n"
				 "  }\n"
				 "  if (!net.verify(broker_fingerprint, nullptr)) {\n"
				 "    Serial.println(\"the broker's certificate does not match the pin: refusing it\");\n"
				 "    net.stop();\n"
				 "    return false;\n"
				 "  }\n");
	if (s->user)
		mq_str_printf(o, "  return mqtt.connect(mqtt_client_id, mqtt_user, mqtt_password);\n}\n");
	else
		mq_str_printf(o, "  return mqtt.connect(mqtt_client_id);\n}\n");
	mq_str_printf(o,
		      "\n"
		      "void setup() {\n"
		      "  Serial.begin(115200);\n"
		      "  connect_wifi();\n");
	if (ins == LABSKETCH_NO_CLOCK)
		mq_str_printf(o, "#if !LAB_INSECURE\n  set_clock();\n#endif\n");
	else
		mq_str_printf(o, "  set_clock();\n");
	mq_str_printf(o,
		      "  setup_tls();\n"
		      "  mqtt.setServer(mqtt_host, mqtt_port);\n"
		      "}\n"
		      "\n"
		      "void loop() {\n"
		      "  static unsigned long last = 0;\n"
		      "  while (!mqtt.connected()) {\n"
		      "    Serial.print(\"Connecting to MQTT broker...\");\n"
		      "    if (connect_mqtt()) {\n"
		      "      Serial.println(\"connected\");\n"
		      "    } else {\n"
		      "      /* rc=-2: no TCP or no TLS (mqttls explain rc=-2); 5: not authorised */\n"
		      "      Serial.print(\"failed, rc=\");\n"
		      "      Serial.print(mqtt.state());\n"
		      "      Serial.println(\" try again in 5 seconds\");\n"
		      "      delay(5000);\n"
		      "    }\n"
		      "  }\n"
		      "  mqtt.loop();\n"
		      "  if (millis() - last > 5000) {\n"
		      "    last = millis();\n"
		      "    char reading[64];\n"
		      "    snprintf(reading, sizeof reading, \"{\\\"temp\\\": %%.1f}\", 20.0 + (millis() / 1000 %% 50) / 10.0);\n"
		      "    mqtt.publish(mqtt_topic, reading);\n"
		      "  }\n"
		      "}\n");
}

static void esp_idf(struct mq_str *o, const struct sketch *s)
{
	enum labsketch_insecure ins = s->k->insecure;

	header(o, s);
	mq_str_printf(o,
		      "/* main/main.cpp of an ESP-IDF 5.x project (idf.py create-project), with the mqtt component. */\n"
		      "#include <stdio.h>\n"
		      "#include <string.h>\n"
		      "#include <time.h>\n"
		      "#include \"freertos/FreeRTOS.h\"\n"
		      "#include \"freertos/task.h\"\n"
		      "#include \"esp_event.h\"\n"
		      "#include \"esp_log.h\"\n"
		      "#include \"esp_netif.h\"\n"
		      "#include \"esp_sntp.h\"\n"
		      "#include \"esp_wifi.h\"\n"
		      "#include \"nvs_flash.h\"\n"
		      "#include \"mqtt_client.h\"\n");
	constants(o, s);
	mq_str_printf(o,
		      "\n"
		      "static const char *TAG = \"lab\";\n"
		      "static esp_mqtt_client_handle_t client;\n"
		      "\n"
		      "static void on_wifi(void *, esp_event_base_t base, int32_t id, void *)\n"
		      "{\n"
		      "  if (base == WIFI_EVENT && (id == WIFI_EVENT_STA_START || id == WIFI_EVENT_STA_DISCONNECTED))\n"
		      "    esp_wifi_connect();\n"
		      "  else if (base == IP_EVENT && id == IP_EVENT_STA_GOT_IP)\n"
		      "    ESP_LOGI(TAG, \"WiFi connected\");\n"
		      "}\n"
		      "\n"
		      "static void wifi_start(void)\n"
		      "{\n"
		      "  ESP_ERROR_CHECK(esp_netif_init());\n"
		      "  ESP_ERROR_CHECK(esp_event_loop_create_default());\n"
		      "  esp_netif_create_default_wifi_sta();\n"
		      "  wifi_init_config_t init = WIFI_INIT_CONFIG_DEFAULT();\n"
		      "  ESP_ERROR_CHECK(esp_wifi_init(&init));\n"
		      "  ESP_ERROR_CHECK(esp_event_handler_register(WIFI_EVENT, ESP_EVENT_ANY_ID, on_wifi, NULL));\n"
		      "  ESP_ERROR_CHECK(esp_event_handler_register(IP_EVENT, IP_EVENT_STA_GOT_IP, on_wifi, NULL));\n"
		      "  wifi_config_t wc = {};\n"
		      "  strncpy((char *)wc.sta.ssid, wifi_ssid, sizeof wc.sta.ssid);\n"
		      "  strncpy((char *)wc.sta.password, wifi_password, sizeof wc.sta.password);\n"
		      "  ESP_ERROR_CHECK(esp_wifi_set_mode(WIFI_MODE_STA));\n"
		      "  ESP_ERROR_CHECK(esp_wifi_set_config(WIFI_IF_STA, &wc));\n"
		      "  ESP_ERROR_CHECK(esp_wifi_start());\n"
		      "}\n"
		      "\n"
		      "/* With CONFIG_MBEDTLS_HAVE_TIME_DATE=y in sdkconfig (off by default: then no date is\n"
		      " * checked at all, and an expired certificate passes), a device whose clock still says\n"
		      " * 1970 finds every certificate \"not yet valid\". Set the clock first. */\n"
		      "static void set_clock(void)\n"
		      "{\n"
		      "  esp_sntp_setoperatingmode(ESP_SNTP_OPMODE_POLL);\n"
		      "  esp_sntp_setservername(0, \"pool.ntp.org\");\n"
		      "  esp_sntp_init();\n"
		      "  while (time(NULL) < 1700000000)\n"
		      "    vTaskDelay(pdMS_TO_TICKS(500));\n"
		      "}\n"
		      "\n"
		      "static void on_mqtt(void *, esp_event_base_t, int32_t id, void *data)\n"
		      "{\n"
		      "  esp_mqtt_event_handle_t ev = (esp_mqtt_event_handle_t)data;\n"
		      "  switch ((esp_mqtt_event_id_t)id) {\n"
		      "  case MQTT_EVENT_CONNECTED:\n"
		      "    ESP_LOGI(TAG, \"connected\");\n"
		      "    break;\n"
		      "  case MQTT_EVENT_DISCONNECTED:\n"
		      "    ESP_LOGW(TAG, \"disconnected\");\n"
		      "    break;\n"
		      "  case MQTT_EVENT_ERROR:\n"
		      "    /* mqttls explain understands both numbers */\n"
		      "    if (ev->error_handle->error_type == MQTT_ERROR_TYPE_TCP_TRANSPORT)\n"
		      "      ESP_LOGE(TAG, \"esp-tls 0x%%x, TLS stack -0x%%x\", ev->error_handle->esp_tls_last_esp_err,\n"
		      "               -ev->error_handle->esp_tls_stack_err);\n"
		      "    else if (ev->error_handle->error_type == MQTT_ERROR_TYPE_CONNECTION_REFUSED)\n"
		      "      ESP_LOGE(TAG, \"CONNACK %%d\", (int)ev->error_handle->connect_return_code);\n"
		      "    break;\n"
		      "  default:\n"
		      "    break;\n"
		      "  }\n"
		      "}\n"
		      "\n"
		      "extern \"C\" void app_main(void)\n"
		      "{\n"
		      "  ESP_ERROR_CHECK(nvs_flash_init());\n"
		      "  wifi_start();\n"
		      "  vTaskDelay(pdMS_TO_TICKS(5000));\n");
	if (ins == LABSKETCH_NO_CLOCK)
		mq_str_printf(o, "#if LAB_INSECURE\n  (void)set_clock;   /* the clock stays in 1970 */\n#else\n"
				 "  set_clock();\n#endif\n");
	else
		mq_str_printf(o, "  set_clock();\n");
	mq_str_printf(o,
		      "\n"
		      "  char uri[128];\n");
	if (ins == LABSKETCH_PLAINTEXT)
		mq_str_printf(o, "#if LAB_INSECURE\n  snprintf(uri, sizeof uri, \"mqtt://%%s:%%d\", mqtt_host, mqtt_port);\n"
				 "#else\n  snprintf(uri, sizeof uri, \"mqtts://%%s:%%d\", mqtt_host, mqtt_port);\n#endif\n");
	else
		mq_str_printf(o, "  snprintf(uri, sizeof uri, \"mqtts://%%s:%%d\", mqtt_host, mqtt_port);\n");
	mq_str_printf(o, "  esp_mqtt_client_config_t cfg = {};\n  cfg.broker.address.uri = uri;\n");
	if (ins == LABSKETCH_SETINSECURE)
		mq_str_printf(o, "#if LAB_INSECURE\n"
				 "  /* No certificate at all: esp-tls then verifies nothing, once sdkconfig has\n"
				 "   * CONFIG_ESP_TLS_INSECURE=y and CONFIG_ESP_TLS_SKIP_SERVER_CERT_VERIFY=y. NEVER in a real device. */\n"
				 "#else\n");
	if (ins == LABSKETCH_PLAINTEXT)
		mq_str_printf(o, "#if !LAB_INSECURE\n");
	mq_str_printf(o, "  cfg.broker.verification.certificate = lab_ca;\n");
	if (ins == LABSKETCH_SKIP_CN)
		mq_str_printf(o, "#if LAB_INSECURE\n  cfg.broker.verification.skip_cert_common_name_check = true;\n#endif\n");
	if (s->cert)
		mq_str_printf(o, "  cfg.credentials.authentication.certificate = device_cert;\n"
				 "  cfg.credentials.authentication.key = device_key;\n");
	if (ins == LABSKETCH_SETINSECURE || ins == LABSKETCH_PLAINTEXT)
		mq_str_printf(o, "#endif\n");
	if (s->fingerprint[0])
		mq_str_printf(o, "  /* esp-mqtt has no hook to compare the broker's certificate with broker_fingerprint:\n"
				 "   * the Arduino variant (mqttls lab sketch %s) shows the pin. */\n",
			      s->c->d->name);
	mq_str_printf(o, "  cfg.credentials.client_id = mqtt_client_id;\n");
	if (s->user)
		mq_str_printf(o, "  cfg.credentials.username = mqtt_user;\n"
				 "  cfg.credentials.authentication.password = mqtt_password;\n");
	mq_str_printf(o,
		      "  client = esp_mqtt_client_init(&cfg);\n"
		      "  esp_mqtt_client_register_event(client, MQTT_EVENT_ANY, on_mqtt, NULL);\n"
		      "  esp_mqtt_client_start(client);\n"
		      "\n"
		      "  for (int n = 0;; n++) {\n"
		      "    char reading[64];\n"
		      "    snprintf(reading, sizeof reading, \"{\\\"temp\\\": %%.1f}\", 20.0 + (n %% 50) / 10.0);\n"
		      "    esp_mqtt_client_publish(client, mqtt_topic, reading, 0, 0, 0);\n"
		      "    vTaskDelay(pdMS_TO_TICKS(5000));\n"
		      "  }\n"
		      "}\n");
}

static void sketch_free(struct sketch *s)
{
	free(s->ca);
	free(s->cert);
	free(s->key);
	free(s->port);
	free(s->plain_port);
	free(s->user);
	free(s->password);
	free(s->client_id);
	free(s->topic);
}

int lab_sketch(const char *name, enum lab_sketch_flavor flavor, char **out, struct mq_err *err)
{
	struct lab_ctx c;
	struct sketch s = { .c = &c, .flavor = flavor };
	struct mq_str o = { 0 };
	bool failed = false;
	int rc = -1;

	*out = NULL;
	if (labctx_open(name, &c, err) < 0)
		return -1;
	if (!c.d->has_sketch) {
		mq_errf(err, "lab '%s' has no ESP32 side", c.d->name);
		return -1;
	}
	if (!c.have_setup) {
		mq_errf(err, "lab '%s' is not set up yet: the sketch embeds its own CA and address (mqttls lab start %s)",
			c.d->name, c.d->name);
		return -1;
	}
	s.k = &c.d->sketch;
	s.port = expand_opt(&c, s.k->port, err, &failed);
	s.plain_port = c.d->n_ports > 1 ? strdup(c.portstr[1]) : NULL;
	s.user = expand_opt(&c, s.k->user, err, &failed);
	s.password = expand_opt(&c, s.k->password, err, &failed);
	s.client_id = expand_opt(&c, s.k->client_id, err, &failed);
	s.topic = expand_opt(&c, s.k->topic, err, &failed);
	if (failed || read_pem(&c, s.k->cafile, true, &s.ca, &s.ca_len, s.ca_desc, sizeof s.ca_desc, NULL, 0, err) < 0)
		goto out;
	if (s.k->cert && (read_pem(&c, s.k->cert, false, &s.cert, &s.cert_len, NULL, 0, NULL, 0, err) < 0 ||
			  read_pem(&c, s.k->key, false, &s.key, &s.key_len, NULL, 0, NULL, 0, err) < 0))
		goto out;
	if (s.k->pin_from) {
		char *pem = NULL;
		size_t len;
		int r = read_pem(&c, s.k->pin_from, true, &pem, &len, NULL, 0, s.fingerprint, sizeof s.fingerprint, err);
		free(pem);
		if (r < 0)
			goto out;
	}
	if (flavor == LAB_SKETCH_ESP_IDF)
		esp_idf(&o, &s);
	else
		arduino(&o, &s);
	*out = mq_str_take(&o);
	rc = 0;
out:
	mq_str_free(&o);
	sketch_free(&s);
	return rc;
}
