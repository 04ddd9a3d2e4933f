/* Stub: ESP-IDF 5.x esp_netif.h (with the IP_EVENT of esp_netif_types.h). */
#ifndef STUB_ESP_NETIF_H
#define STUB_ESP_NETIF_H

#include "esp_err.h"
#include "esp_event.h"

typedef struct esp_netif_obj esp_netif_t;

typedef enum {
	IP_EVENT_STA_GOT_IP,
	IP_EVENT_STA_LOST_IP,
	IP_EVENT_AP_STAIPASSIGNED,
	IP_EVENT_GOT_IP6,
} ip_event_t;

#ifdef __cplusplus
extern "C" {
#endif
extern const esp_event_base_t IP_EVENT;
esp_err_t esp_netif_init(void);
esp_netif_t *esp_netif_create_default_wifi_sta(void);
#ifdef __cplusplus
}
#endif

#endif
