/* Stub: the ESP32 core's WiFi.h. */
#ifndef STUB_WIFI_H
#define STUB_WIFI_H

#include "Arduino.h"
#include "WiFiClient.h"

typedef enum {
	WL_IDLE_STATUS = 0,
	WL_NO_SSID_AVAIL = 1,
	WL_SCAN_COMPLETED = 2,
	WL_CONNECTED = 3,
	WL_CONNECT_FAILED = 4,
	WL_CONNECTION_LOST = 5,
	WL_DISCONNECTED = 6,
} wl_status_t;

class WiFiClass {
public:
	wl_status_t begin(const char *ssid, const char *passphrase = NULL, int32_t channel = 0,
			  const uint8_t *bssid = NULL, bool connect = true);
	wl_status_t status();
	IPAddress localIP();
	bool disconnect(bool wifioff = false, bool eraseap = false);
};

extern WiFiClass WiFi;

#endif
