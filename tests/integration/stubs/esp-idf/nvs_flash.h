/* Stub: ESP-IDF 5.x nvs_flash.h. */
#ifndef STUB_NVS_FLASH_H
#define STUB_NVS_FLASH_H

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif
esp_err_t nvs_flash_init(void);
#ifdef __cplusplus
}
#endif

#endif
