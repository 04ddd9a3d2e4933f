#include <stdio.h>
#include <string.h>

#include "mqttls/esp32.h"

static void literal_bytes(struct mq_str *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"' || c == '\\')
			mq_str_printf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			/* Three octal digits always: a following digit cannot join the escape. */
			mq_str_printf(out, "\\%03o", c);
		else
			mq_str_append(out, (const char *)&c, 1);
	}
}

void esp32_c_string(struct mq_str *out, const char *var, const char *text, size_t len)
{
	const char *line = text, *end = text + len;

	mq_str_printf(out, "const char *%s =\n", var);
	if (len == 0) {
		mq_str_printf(out, "\"\";\n");
		return;
	}
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t l = nl ? (size_t)(nl - line) : (size_t)(end - line);

		mq_str_append(out, "\"", 1);
		literal_bytes(out, line, l);
		mq_str_printf(out, "%s\"%s\n", nl ? "\\n" : "", nl && nl + 1 < end ? "" : ";");
		line += l + (nl ? 1 : 0);
	}
}
