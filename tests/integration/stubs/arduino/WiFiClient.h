/* Stub: the ESP32 core's WiFiClient (plain TCP). */
#ifndef STUB_WIFICLIENT_H
#define STUB_WIFICLIENT_H

#include "Client.h"

class WiFiClient : public Client {
public:
	WiFiClient();
	int connect(IPAddress ip, uint16_t port);
	int connect(const char *host, uint16_t port);
	size_t write(const uint8_t *buf, size_t size);
	int available();
	int read();
	void stop();
	uint8_t connected();
};

#endif
