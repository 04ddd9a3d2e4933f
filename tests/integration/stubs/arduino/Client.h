/* Stub: Arduino's Client interface (what PubSubClient drives). */
#ifndef STUB_CLIENT_H
#define STUB_CLIENT_H

#include "Arduino.h"

class Client : public Print {
public:
	virtual int connect(IPAddress ip, uint16_t port) = 0;
	virtual int connect(const char *host, uint16_t port) = 0;
	virtual size_t write(const uint8_t *buf, size_t size) = 0;
	virtual int available() = 0;
	virtual int read() = 0;
	virtual void stop() = 0;
	virtual uint8_t connected() = 0;
};

#endif
