/*
 * esp32 — certificates and keys written the way an ESP32 program embeds them: a C string
 * literal per PEM line, for WiFiClientSecure::setCACert / setCertificate / setPrivateKey and
 * esp-mqtt's certificate fields. Shared by "certs export-esp32" and "lab sketch".
 */
#ifndef MQTTLS_ESP32_H
#define MQTTLS_ESP32_H

#include <stddef.h>

#include "util.h"

/*
 * Append "const char *VAR =\n" and one "LINE\n" literal per line of text, the last one ended by
 * ';' — adjacent literals are one string to the compiler, so the program holds text byte for
 * byte. Quotes, backslashes and control bytes are escaped; a last line without a newline gets none.
 */
void esp32_c_string(struct mq_str *out, const char *var, const char *text, size_t len);

#endif
