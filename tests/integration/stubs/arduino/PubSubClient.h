/* Stub: PubSubClient 2.8 by Nick O'Leary. */
#ifndef STUB_PUBSUBCLIENT_H
#define STUB_PUBSUBCLIENT_H

#include "Arduino.h"
#include "Client.h"

#define MQTT_CONNECTION_TIMEOUT     -4
#define MQTT_CONNECTION_LOST        -3
#define MQTT_CONNECT_FAILED         -2
#define MQTT_DISCONNECTED           -1
#define MQTT_CONNECTED               0
#define MQTT_CONNECT_UNAUTHORIZED    5

typedef void (*MQTT_CALLBACK_SIGNATURE)(char *topic, uint8_t *payload, unsigned int length);

class PubSubClient : public Print {
public:
	PubSubClient();
	PubSubClient(Client &client);
	PubSubClient &setServer(IPAddress ip, uint16_t port);
	PubSubClient &setServer(const char *domain, uint16_t port);
	PubSubClient &setCallback(MQTT_CALLBACK_SIGNATURE callback);
	PubSubClient &setClient(Client &client);
	PubSubClient &setKeepAlive(uint16_t keepAlive);
	PubSubClient &setSocketTimeout(uint16_t timeout);
	bool setBufferSize(uint16_t size);
	bool connect(const char *id);
	bool connect(const char *id, const char *user, const char *pass);
	bool connect(const char *id, const char *willTopic, uint8_t willQos, bool willRetain, const char *willMessage);
	bool connect(const char *id, const char *user, const char *pass, const char *willTopic, uint8_t willQos,
		     bool willRetain, const char *willMessage);
	void disconnect();
	bool publish(const char *topic, const char *payload);
	bool publish(const char *topic, const char *payload, bool retained);
	bool publish(const char *topic, const uint8_t *payload, unsigned int plength);
	bool subscribe(const char *topic);
	bool subscribe(const char *topic, uint8_t qos);
	bool loop();
	bool connected();
	int state();
};

#endif
