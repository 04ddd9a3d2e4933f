/*
 * capevent — capture events as ladder lines for people (capture_event_describe in capture.h);
 * capjson.c writes the same events as JSON Lines. Every string that came off the wire is
 * escaped for terminals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "mqttls/capture.h"

#define C CAPTURE_C2S

const char *capture_outcome_name(enum capture_outcome o)
{
	static const char *const names[] = {
		[CAPTURE_TLS_OK] = "tls_ok",
		[CAPTURE_TLS_FAILED] = "tls_failed",
		[CAPTURE_PLAINTEXT_MQTT] = "plaintext_mqtt",
		[CAPTURE_INCOMPLETE] = "incomplete",
	};

	return (unsigned)o < MQ_ARRAY_LEN(names) ? names[o] : "incomplete";
}

/* ---- names with fallbacks --------------------------------------------------------------------- */

/* "TLSv1.3" -> "TLS 1.3" for the ladder. */
static void put_version_short(struct mq_str *out, uint16_t v, bool first)
{
	char buf[16];
	const char *n = tlsdec_name(TLSN_VERSION, v, buf, sizeof(buf));

	if (!strncmp(n, "TLSv", 4))
		mq_str_printf(out, "%s%s", first ? "TLS " : "/", n + 4);
	else
		mq_str_printf(out, "%s%s", first ? "" : "/", n);
}

/* ---- ladder lines ---------------------------------------------------------------------------- */

static void put_arrow(struct mq_str *out, enum capture_dir d, bool utf8)
{
	if (utf8)
		mq_str_printf(out, "%s", d == C ? "device → broker  " : "device ← broker  ");
	else
		mq_str_printf(out, "%s", d == C ? "device -> broker  " : "device <- broker  ");
}

static void put_esc(struct mq_str *out, const uint8_t *p, size_t n, size_t cut)
{
	char buf[4 * 256 + 1];

	if (n > cut)
		n = cut;
	if (n > 256)
		n = 256;
	mq_escape(p, n, buf, sizeof(buf));
	mq_str_printf(out, "%s", buf);
}

static void describe_ch(const struct tls_client_hello *ch, struct mq_str *out)
{
	char buf[16];

	mq_str_printf(out, "ClientHello (");
	if (ch->sni.p) {
		mq_str_printf(out, "SNI ");
		put_esc(out, ch->sni.p, ch->sni.len, 255);
	} else {
		mq_str_printf(out, "no SNI");
	}
	mq_str_printf(out, ", ");
	for (size_t i = 0; i < ch->n_versions; i++)
		put_version_short(out, ch->versions[i], i == 0);
	mq_str_printf(out, ", %zu cipher suites", ch->n_ciphers_total);
	if (ch->n_groups) {
		mq_str_printf(out, ", groups");
		for (size_t i = 0; i < ch->n_groups && i < 4; i++)
			mq_str_printf(out, " %s", tlsdec_name(TLSN_GROUP, ch->groups[i], buf, sizeof(buf)));
		if (ch->n_groups > 4)
			mq_str_printf(out, " +%zu", ch->n_groups - 4);
	}
	for (size_t i = 0; i < ch->n_alpn; i++) {
		mq_str_printf(out, i ? "," : ", ALPN ");
		put_esc(out, ch->alpn[i].p, ch->alpn[i].len, 64);
	}
	if (ch->max_fragment_length)
		mq_str_printf(out, ", max fragment %u", ch->max_fragment_length);
	mq_str_printf(out, ")");
}

static void describe_sh(const struct tls_server_hello *sh, struct mq_str *out)
{
	char b1[16], b2[16];

	if (sh->hello_retry) {
		mq_str_printf(out, "HelloRetryRequest (the broker wants a key share for %s)",
			      tlsdec_name(TLSN_GROUP, sh->group, b1, sizeof(b1)));
		return;
	}
	mq_str_printf(out, "ServerHello (");
	put_version_short(out, sh->version, true);
	mq_str_printf(out, ", %s", tlsdec_name(TLSN_CIPHER, sh->cipher, b1, sizeof(b1)));
	if (sh->group)
		mq_str_printf(out, ", %s", tlsdec_name(TLSN_GROUP, sh->group, b2, sizeof(b2)));
	mq_str_printf(out, ")");
	if (sh->version == TLS_V_13)
		mq_str_printf(out, " — TLS 1.3 encrypts the rest of the handshake: the broker's certificate cannot be seen");
}

static void describe_chain(const struct capture_event *ev, bool utf8, struct mq_str *out)
{
	const char *dev = ev->dir == C ? "device" : "broker";

	if (ev->u.chain.n_total == 0) {
		mq_str_printf(out, "Certificate (empty: the %s has no certificate to give)", dev);
		return;
	}
	mq_str_printf(out, "Certificate (%zu from the %s)", ev->u.chain.n_total, dev);
	for (size_t i = 0; i < ev->u.chain.n; i++) {
		const struct cert_info *ci = &ev->u.chain.v[i];
		char nb[32], sub[300];

		mq_escape(ci->subject ? ci->subject : "", ci->subject ? strlen(ci->subject) : 0, sub, sizeof(sub));
		mq_str_printf(out, "\n  [%d] %s", ci->depth, sub);
		if (ci->n_san_dns || ci->n_san_ip) {
			mq_str_printf(out, "  SAN");
			for (size_t k = 0; k < ci->n_san_dns && k < 4; k++) {
				mq_str_printf(out, " ");
				put_esc(out, (const uint8_t *)ci->san_dns[k], strlen(ci->san_dns[k]), 128);
			}
			for (size_t k = 0; k < ci->n_san_ip && k < 4; k++)
				mq_str_printf(out, " %s", ci->san_ip[k]);
		} else if (!ci->is_ca) {
			mq_str_printf(out, "  no SAN");
		}
		if (ci->is_ca)
			mq_str_printf(out, "  %s", ci->self_signed ? "self-signed CA" : "CA");
		else if (ci->self_signed)
			mq_str_printf(out, "  self-signed");
		mq_str_printf(out, "  until %s", mq_iso8601(ci->not_after, nb, sizeof(nb)));
		if (i + 1 == ev->u.chain.n && !ci->self_issued && ci->issuer) {
			mq_escape(ci->issuer, strlen(ci->issuer), sub, sizeof(sub));
			mq_str_printf(out, "\n      %s issued by %s", utf8 ? "└" : "`", sub);
		}
	}
	if (ev->u.chain.error)
		mq_str_printf(out, "\n  (%s)", ev->u.chain.error);
}

static void describe_mqtt(const struct mqtt_pkt *m, bool utf8, struct mq_str *out)
{
	mqttdec_describe(m, 64, out);
	if (m->type == MQTT_CONNECT && (m->password.p || m->username.p))
		mq_str_printf(out, "  %s %s IN CLEAR TEXT", utf8 ? "⚠" : "!!",
			      m->password.p ? "PASSWORD" : "USERNAME");
}

bool capture_event_describe(const struct capture_event *ev, bool utf8, struct mq_str *out)
{
	char buf[32];

	switch (ev->type) {
	case CAPTURE_EV_FLOW_OPEN:
		put_arrow(out, C, utf8);
		mq_str_printf(out, "%s", ev->flow->syn ? "TCP connect (SYN)" : "(the capture joined a connection already open)");
		return true;
	case CAPTURE_EV_CLIENT_HELLO:
		put_arrow(out, ev->dir, utf8);
		describe_ch(ev->u.ch, out);
		return true;
	case CAPTURE_EV_SERVER_HELLO:
		put_arrow(out, ev->dir, utf8);
		describe_sh(ev->u.sh, out);
		return true;
	case CAPTURE_EV_CERTIFICATE:
		put_arrow(out, ev->dir, utf8);
		describe_chain(ev, utf8, out);
		return true;
	case CAPTURE_EV_CERT_REQUEST:
		put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "CertificateRequest: the broker asks the device for a client certificate");
		return true;
	case CAPTURE_EV_HANDSHAKE: {
		const char *n = tlsdec_handshake_name(ev->u.hs.type);

		put_arrow(out, ev->dir, utf8);
		if (n)
			mq_str_printf(out, "%s", n);
		else
			mq_str_printf(out, "handshake message %u", ev->u.hs.type);
		return true;
	}
	case CAPTURE_EV_CCS:
		put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "ChangeCipherSpec");
		return true;
	case CAPTURE_EV_ENCRYPTED:
		put_arrow(out, ev->dir, utf8);
		if (ev->u.enc.inferred)
			mq_str_printf(out, "%s (encrypted, %zu-byte record: inferred from its size)", ev->u.enc.meaning,
				      ev->u.enc.len);
		else if (ev->u.enc.meaning && !strcmp(ev->u.enc.meaning, "Finished"))
			mq_str_printf(out, "Finished (encrypted)");
		else
			mq_str_printf(out, "%s (%zu bytes)", ev->u.enc.meaning ? ev->u.enc.meaning : "encrypted record",
				      ev->u.enc.len);
		return true;
	case CAPTURE_EV_APPDATA:
		put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "application data (encrypted MQTT; first record %zu bytes)", ev->u.enc.len);
		return true;
	case CAPTURE_EV_ALERT:
		put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "Alert %s %s", ev->u.alert.level == 2 ? "fatal" : ev->u.alert.level == 1 ? "warning" : "?",
			      tlsdec_name(TLSN_ALERT, ev->u.alert.desc, buf, sizeof(buf)));
		return true;
	case CAPTURE_EV_ENCRYPTED_ALERT:
		put_arrow(out, ev->dir, utf8);
		if (ev->u.enc.inferred)
			mq_str_printf(out, "Alert (encrypted, %zu-byte record: TLS 1.3 hides which alert)", ev->u.enc.len);
		else
			mq_str_printf(out, "Alert (encrypted; usually close_notify)");
		return true;
	case CAPTURE_EV_MQTT:
		put_arrow(out, ev->dir, utf8);
		describe_mqtt(ev->u.mqtt, utf8, out);
		return true;
	case CAPTURE_EV_MALFORMED:
		if (ev->flow)
			put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "malformed, skipped: %s", ev->u.text);
		return true;
	case CAPTURE_EV_GAP:
		put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "[%zu bytes not captured: the rest of this direction is not decoded]", ev->u.gap.bytes);
		return true;
	case CAPTURE_EV_FLOW_CLOSE:
		put_arrow(out, ev->dir, utf8);
		mq_str_printf(out, "%s", ev->flow->rst[ev->dir] ? "RST (connection reset)" : "FIN (closes)");
		return true;
	default:
		return false;
	}
}
