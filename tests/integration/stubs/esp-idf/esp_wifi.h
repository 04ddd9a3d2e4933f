/* Stub: ESP-IDF 5.x esp_wifi.h. */
#ifndef STUB_ESP_WIFI_H
#define STUB_ESP_WIFI_H

#include <stdint.h>
#include "esp_err.h"
#include "esp_event.h"

typedef enum { WIFI_MODE_NULL = 0, WIFI_MODE_STA, WIFI_MODE_AP, WIFI_MODE_APSTA } wifi_mode_t;
typedef enum { WIFI_IF_STA = 0, WIFI_IF_AP } wifi_interface_t;

typedef enum {
	WIFI_EVENT_WIFI_READY = 0,
	WIFI_EVENT_SCAN_DONE,
	WIFI_EVENT_STA_START,
	WIFI_EVENT_STA_STOP,
	WIFI_EVENT_STA_CONNECTED,
	WIFI_EVENT_STA_DISCONNECTED,
} wifi_event_t;

typedef struct {
	uint8_t ssid[32];
	uint8_t password[64];
	uint8_t bssid_set;
	uint8_t bssid[6];
	uint8_t channel;
} wifi_sta_config_t;

typedef struct {
	uint8_t ssid[32];
	uint8_t password[64];
	uint8_t ssid_len;
	uint8_t channel;
} wifi_ap_config_t;

typedef union {
	wifi_ap_config_t ap;
	wifi_sta_config_t sta;
} wifi_config_t;

typedef struct {
	int static_rx_buf_num;
	int dynamic_rx_buf_num;
	int magic;
} wifi_init_config_t;

#define WIFI_INIT_CONFIG_MAGIC 0x1F2F3F4F
#define WIFI_INIT_CONFIG_DEFAULT() { 10, 32, WIFI_INIT_CONFIG_MAGIC }

#ifdef __cplusplus
extern "C" {
#endif
extern const esp_event_base_t WIFI_EVENT;
esp_err_t esp_wifi_init(const wifi_init_config_t *config);
esp_err_t esp_wifi_set_mode(wifi_mode_t mode);
esp_err_t esp_wifi_set_config(wifi_interface_t interface, wifi_config_t *conf);
esp_err_t esp_wifi_start(void);
esp_err_t esp_wifi_connect(void);
#ifdef __cplusplus
}
#endif

#endif
