/*
 * broker — run Debian's real mosquitto for labs and the built-in demo broker.
 *
 * The broker runs detached (its own session) with its configuration and log in a
 * directory mqttls owns; it is found again by its PID, which is checked to still be
 * a mosquitto before it is signalled.
 */
#ifndef MQTTLS_BROKER_H
#define MQTTLS_BROKER_H

#include <stdbool.h>
#include <sys/types.h>

#include "attrib.h"
#include "err.h"

/* Path of the mosquitto executable (PATH, then /usr/sbin), or NULL when it is not installed. */
const char *broker_exe(void);

/*
 * Write conf_text to DIR/mosquitto.conf, start mosquitto on it with its output in
 * DIR/mosquitto.log, and wait (up to wait_ms) until 127.0.0.1:port accepts connections.
 * On failure the error quotes mosquitto's own last log line. *pid receives the PID.
 */
int broker_start(const char *dir, const char *conf_text, int port, int wait_ms, pid_t *pid,
		 struct mq_err *err) MQ_WUR;

/*
 * Start mosquitto on an existing configuration file, with its output appended to log, and wait
 * (up to wait_ms) until host:port accepts connections. On failure the error quotes mosquitto's
 * own last log line. *pid receives the PID.
 */
int broker_run(const char *conf, const char *log, const char *host, int port, int wait_ms, pid_t *pid,
	       struct mq_err *err) MQ_WUR;

/* True when pid is alive and is a mosquitto process. */
bool broker_alive(pid_t pid);

/* SIGTERM, wait up to 3 s, then SIGKILL. Returns 0 when it is gone (or already was). */
int broker_stop(pid_t pid);

/* The last non-empty line of DIR/mosquitto.log into buf (for error messages). */
char *broker_last_log_line(const char *dir, char *buf, size_t size);

#endif
