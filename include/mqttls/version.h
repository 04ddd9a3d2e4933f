#ifndef MQTTLS_VERSION_H
#define MQTTLS_VERSION_H
#define MQTTLS_NAME "mqttls"
#define MQTTLS_VERSION "1.0.0"
#endif
