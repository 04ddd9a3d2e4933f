/* Stub: the ESP32 core's WiFiClientSecure (mbedTLS underneath). */
#ifndef STUB_WIFICLIENTSECURE_H
#define STUB_WIFICLIENTSECURE_H

#include "WiFi.h"

class WiFiClientSecure : public WiFiClient {
public:
	WiFiClientSecure();
	int connect(IPAddress ip, uint16_t port);
	int connect(const char *host, uint16_t port);
	void setInsecure();
	void setCACert(const char *rootCA);
	void setCertificate(const char *client_ca);
	void setPrivateKey(const char *private_key);
	void setPreSharedKey(const char *pskIdent, const char *psKey);
	/* SHA-256 fingerprint of the peer's certificate as hex pairs, separators allowed. */
	bool verify(const char *fingerprint, const char *domain_name);
	int lastError(char *buf, const size_t size);
	void setHandshakeTimeout(unsigned long handshake_timeout);
};

#endif
