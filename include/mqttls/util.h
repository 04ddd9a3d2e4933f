/*
 * util — small helpers every module uses: files, directories, ports, clocks,
 * a growable string, and escaping of untrusted text before it reaches a terminal.
 * Functions returning int return 0 on success and -1 on failure with *err set.
 */
#ifndef MQTTLS_UTIL_H
#define MQTTLS_UTIL_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "attrib.h"
#include "err.h"

/*
 * Read a whole file, refusing files larger than cap bytes. *out is NUL-terminated; free() it.
 * A FIFO, socket or device is refused (it would block or never end) unless it is this
 * process's own standard input.
 */
int mq_read_file(const char *path, size_t cap, char **out, size_t *len, struct mq_err *err) MQ_WUR;

/*
 * Before a path goes to a library that opens it itself (OpenSSL's *_file functions): 0 when it
 * is a readable file of at most cap bytes, else -1 with err saying what it is instead (missing,
 * a directory, a FIFO that would block, a device, too large), prefixed with what (e.g. "--cafile").
 */
int mq_check_file(const char *what, const char *path, size_t cap, struct mq_err *err) MQ_WUR;

/*
 * Like mq_read_file for a path that anyone may have put anything behind (a configuration names
 * it): only a regular file is read, so a FIFO never blocks and a device is never read without
 * end. *type (may be NULL) receives the S_IFMT bits of what the path is (0 when it could not be
 * opened), for a message that says what it was.
 */
int mq_read_regular_file(const char *path, size_t cap, char **out, size_t *len, mode_t *type,
			 struct mq_err *err) MQ_WUR;

/* The same, but a file larger than cap is not refused: its last cap bytes are read (a log). */
int mq_read_regular_tail(const char *path, size_t cap, char **out, size_t *len, struct mq_err *err) MQ_WUR;

/*
 * Write a file with the given mode. Without force an existing file is never touched
 * (the error names it and says to use --force). With force it is replaced atomically.
 */
int mq_write_file(const char *path, const void *data, size_t len, mode_t mode, bool force,
		  struct mq_err *err) MQ_WUR;

/*
 * A state record: j (consumed, may be NULL) written as indented JSON to path, mode 0644,
 * replaced atomically. On failure the error says it could not record WHAT.
 */
struct cJSON;
int mq_write_json(const char *path, struct cJSON *j, const char *what, struct mq_err *err) MQ_WUR;

/* mkdir -p with mode for the directories it creates. */
int mq_mkdir_p(const char *path, mode_t mode, struct mq_err *err) MQ_WUR;

/* Remove a directory tree (no symlink following). Missing is not an error. */
int mq_rm_rf(const char *path, struct mq_err *err) MQ_WUR;

/* Join dir and name into buf ("dir/name"). Returns buf, or NULL when it does not fit. */
char *mq_path_join(char *buf, size_t size, const char *dir, const char *name);

bool mq_file_exists(const char *path);

/* Monotonic milliseconds, fractional. */
double mq_now_ms(void);

/* A TCP port on 127.0.0.1 that was free a moment ago (bind to 0), or -1. */
int mq_free_port(void);

/* True when nothing accepts on 127.0.0.1:port and it can be bound. */
bool mq_port_is_free(int port);
/* True when a TCP socket can bind to the address literal ip (IPv4 or IPv6) and port (0: any). */
bool mq_port_free_on(const char *ip, int port);

/* The kernel's start time of a process (field 22 of /proc/PID/stat), 0 when it is gone or a
 * zombie: a recorded PID with its start time names one process, never one that reused the PID. */
unsigned long long mq_proc_start(pid_t pid);

/* Wait until something accepts TCP connections on host:port, up to timeout_ms. 0 when it does. */
int mq_wait_listening(const char *host, int port, int timeout_ms);

/*
 * Where mqttls finds its data (labs/): $MQTTLS_DATADIR, else the directory of the
 * running executable when it holds labs/ (a build tree), else the installed data dir.
 */
const char *mq_data_dir(void);

/*
 * The per-user state directory for labs and the built-in broker: $MQTTLS_STATE_DIR,
 * else /var/lib/mqttls for root (so the mosquitto user can traverse it), else
 * $XDG_STATE_HOME/mqttls or ~/.local/state/mqttls.
 */
const char *mq_state_dir(void);

/* A growable NUL-terminated string. Zero-initialise, append, free with mq_str_free. */
struct mq_str {
	char *s;
	size_t len, cap;
};
void mq_str_printf(struct mq_str *b, const char *fmt, ...) MQ_PRINTF(2, 3);
/* The same with a va_list (ap is used up). Returns the bytes added, or -1 (nothing added). */
int mq_str_vprintf(struct mq_str *b, const char *fmt, va_list ap) MQ_PRINTF(2, 0);
void mq_str_append(struct mq_str *b, const char *data, size_t len);
/* Give up ownership of the string (never NULL: "" when empty); the struct is reset. */
char *mq_str_take(struct mq_str *b);
void mq_str_free(struct mq_str *b);

/*
 * Make untrusted bytes safe to print on a terminal: control characters, DEL, C1 controls
 * and invalid UTF-8 become \xNN (or \n, \t, \\). Valid UTF-8 is kept. Always NUL-terminates
 * and truncates at size; returns out.
 */
char *mq_escape(const void *in, size_t len, char *out, size_t size);

/*
 * Text made by mqttls that may carry untrusted pieces (a host name, a path, a certificate's
 * subject), made safe for a terminal: lines and tabs are kept, as is valid UTF-8 and every
 * printable byte (backslashes too: already escaped text stays as it is); control bytes, C1
 * controls and invalid UTF-8 become \xNN. Allocated (free() it); never NULL unless out of memory.
 */
char *mq_safe_text(const char *s);

/* Same, allocated (free() it). Never NULL unless out of memory. */
char *mq_escape_dup(const void *in, size_t len);

/* True when the bytes are valid UTF-8 (no overlongs, no surrogates) without a NUL. */
bool mq_utf8_valid(const void *p, size_t len);

/* Format a UNIX time as "2026-01-01T00:00:00Z". buf >= 21 bytes. */
char *mq_iso8601(long long t, char *buf, size_t size);

/* true when stdout is a terminal and NO_COLOR is unset or empty. */
bool mq_use_color(FILE *f);

/*
 * Ctrl-C between starting a detached process (a lab's broker) and recording its PID would leave
 * it running where no "lab stop" finds it. Such a section holds SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT in the calling thread; a signal that came meanwhile is acted on at the release.
 * A child forked inside calls mq_signals_child() before exec, so it does not inherit the hold.
 */
void mq_signals_hold(sigset_t *saved);
void mq_signals_release(const sigset_t *saved);
void mq_signals_child(void);

#endif
