#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "mqttls/util.h"

#ifndef MQTTLS_DATADIR
#define MQTTLS_DATADIR "/usr/local/share/mqttls"
#endif

static bool is_own_stdin(const struct stat *st)
{
	struct stat in;

	return fstat(STDIN_FILENO, &in) == 0 && in.st_dev == st->st_dev && in.st_ino == st->st_ino;
}

int mq_read_file(const char *path, size_t cap, char **out, size_t *len, struct mq_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t r;
	int fd;

	*out = NULL;
	if (len)
		*len = 0;
	/* Non-blocking: opening a FIFO nobody writes to must not wait forever. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		mq_errf_errno(err, "cannot open %s", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		mq_errf_errno(err, "cannot stat %s", path);
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		mq_errf(err, "%s is a directory, not a file", path);
		goto fail;
	}
	/* A pipe or a terminal is read only when it is this process's own standard input
	 * (/dev/stdin, "cmd | mqttls ... /dev/stdin"): anything else would block or never end. */
	if (!S_ISREG(st.st_mode) && !is_own_stdin(&st)) {
		mq_errf(err, "%s is %s, not a file", path,
			S_ISFIFO(st.st_mode) ? "a FIFO (a named pipe)" : S_ISSOCK(st.st_mode) ? "a socket" : "a device");
		goto fail;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		mq_errf_errno(err, "cannot read %s", path);
		goto fail;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > cap) {
		mq_errf(err, "%s is too large (%lld bytes; at most %zu)", path, (long long)st.st_size, cap);
		goto fail;
	}
	buf = malloc(cap + 1);
	if (!buf) {
		mq_errf(err, "out of memory reading %s", path);
		goto fail;
	}
	for (;;) {
		if (got == cap) {
			char c;
			if (read(fd, &c, 1) == 1) {
				mq_errf(err, "%s is too large (more than %zu bytes)", path, cap);
				goto fail;
			}
			break;
		}
		r = read(fd, buf + got, cap - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			mq_errf_errno(err, "cannot read %s", path);
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(fd);
	*out = buf;
	if (len)
		*len = got;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int mq_check_file(const char *what, const char *path, size_t cap, struct mq_err *err)
{
	struct mq_err e = { 0 };
	char *buf = NULL;

	if (mq_read_file(path, cap, &buf, NULL, &e) < 0) {
		mq_errf(err, "%s%s%s", what ? what : "", what ? ": " : "", e.msg);
		return -1;
	}
	free(buf);
	return 0;
}

/* A regular file's bytes: all of them up to cap (more is an error), or with tail only its last cap. */
static int read_regular(const char *path, size_t cap, bool tail, char **out, size_t *len, mode_t *type,
			struct mq_err *err)
{
	struct stat st;
	size_t got = 0, want;
	int fd;

	*out = NULL;
	if (len)
		*len = 0;
	if (type)
		*type = 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		mq_errf_errno(err, "cannot open %s", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		mq_errf_errno(err, "cannot stat %s", path);
		close(fd);
		return -1;
	}
	if (type)
		*type = st.st_mode & S_IFMT;
	if (!S_ISREG(st.st_mode)) {
		mq_errf(err, "%s is %s", path, S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO"
			: S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "not a regular file");
		close(fd);
		return -1;
	}
	want = (size_t)st.st_size;
	if (want > cap && !tail) {
		mq_errf(err, "%s is too large (%lld bytes; at most %zu)", path, (long long)st.st_size, cap);
		close(fd);
		return -1;
	}
	if (want > cap) {
		if (lseek(fd, (off_t)(st.st_size - (off_t)cap), SEEK_SET) < 0) {
			mq_errf_errno(err, "cannot read %s", path);
			close(fd);
			return -1;
		}
		want = cap;
	}
	*out = malloc(want + 1);
	if (!*out) {
		mq_errf(err, "out of memory reading %s", path);
		close(fd);
		return -1;
	}
	/* A file that grows while it is read is read up to the size fstat gave. */
	while (got < want) {
		ssize_t r = read(fd, *out + got, want - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			mq_errf_errno(err, "cannot read %s", path);
			free(*out);
			*out = NULL;
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	(*out)[got] = '\0';
	if (len)
		*len = got;
	return 0;
}

int mq_read_regular_file(const char *path, size_t cap, char **out, size_t *len, mode_t *type, struct mq_err *err)
{
	return read_regular(path, cap, false, out, len, type, err);
}

int mq_read_regular_tail(const char *path, size_t cap, char **out, size_t *len, struct mq_err *err)
{
	return read_regular(path, cap, true, out, len, NULL, err);
}

int mq_write_file(const char *path, const void *data, size_t len, mode_t mode, bool force,
		  struct mq_err *err)
{
	char tmp[PATH_MAX];
	int fd;

	if (!force) {
		/* O_EXCL: never replace what the user already has, even in a race. */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd < 0) {
			if (errno == EEXIST)
				mq_errf(err, "%s already exists; not overwriting it (use --force to replace it)", path);
			else
				mq_errf_errno(err, "cannot create %s", path);
			return -1;
		}
		if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
			mq_errf_errno(err, "cannot write %s", path);
			close(fd);
			unlink(path);
			return -1;
		}
		if (close(fd) < 0) {
			mq_errf_errno(err, "cannot write %s", path);
			return -1;
		}
		return 0;
	}
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
		mq_errf(err, "path too long: %s", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		mq_errf_errno(err, "cannot create %s", tmp);
		return -1;
	}
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		mq_errf_errno(err, "cannot write %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		mq_errf_errno(err, "cannot replace %s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int mq_write_json(const char *path, struct cJSON *j, const char *what, struct mq_err *err)
{
	char *text = j ? cJSON_Print(j) : NULL;
	int rc;

	cJSON_Delete(j);
	if (!text || !path || !*path) {
		free(text);
		mq_errf(err, "cannot record %s", what);
		return -1;
	}
	rc = mq_write_file(path, text, strlen(text), 0644, true, err);
	free(text);
	return rc;
}

int mq_mkdir_p(const char *path, mode_t mode, struct mq_err *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	struct stat st;

	if (n == 0 || n >= sizeof buf) {
		mq_errf(err, "bad directory path '%s'", path);
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST) {
				mq_errf_errno(err, "cannot create directory %s", buf);
				return -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		mq_errf(err, "%s exists and is not a directory", path);
		return -1;
	}
	return 0;
}

int mq_rm_rf(const char *path, struct mq_err *err)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char sub[PATH_MAX];

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : (mq_errf_errno(err, "cannot stat %s", path), -1);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0) {
			mq_errf_errno(err, "cannot remove %s", path);
			return -1;
		}
		return 0;
	}
	d = opendir(path);
	if (!d) {
		mq_errf_errno(err, "cannot open directory %s", path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!mq_path_join(sub, sizeof sub, path, de->d_name)) {
			mq_errf(err, "path too long under %s", path);
			closedir(d);
			return -1;
		}
		if (mq_rm_rf(sub, err) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (rmdir(path) < 0) {
		mq_errf_errno(err, "cannot remove %s", path);
		return -1;
	}
	return 0;
}

char *mq_path_join(char *buf, size_t size, const char *dir, const char *name)
{
	int n;

	if (name[0] == '/' || !dir || !*dir)
		n = snprintf(buf, size, "%s", name);
	else
		n = snprintf(buf, size, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	return (n < 0 || (size_t)n >= size) ? NULL : buf;
}

bool mq_file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

double mq_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int mq_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

unsigned long long mq_proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields start after the last ')'. */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ' || p[2] == 'Z')
		return 0;
	p += 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		v = strtoull(p, NULL, 10);
	return v;
}

bool mq_port_is_free(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd, one = 1;
	bool ok;

	if (port <= 0 || port > 65535)
		return false;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	if (!ok)
		return false;
	/* A broker bound to :: or another address may still answer on loopback. */
	return mq_wait_listening("127.0.0.1", port, 0) != 0;
}

bool mq_port_free_on(const char *ip, int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *res;
	char service[8];
	int fd, one = 1;
	bool ok;

	if (port < 0 || port > 65535)
		return false;
	snprintf(service, sizeof service, "%d", port);
	if (getaddrinfo(ip, service, &hints, &res) != 0)
		return false;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		ok = bind(fd, res->ai_addr, res->ai_addrlen) == 0;
		close(fd);
	} else {
		ok = false;
	}
	freeaddrinfo(res);
	return ok;
}

static int try_connect(const struct addrinfo *ai, int timeout_ms)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	struct pollfd pfd;
	int soerr = 0;
	socklen_t sl = sizeof soerr;

	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		close(fd);
		return 0;
	}
	if (errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, timeout_ms < 50 ? 50 : timeout_ms) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int mq_wait_listening(const char *host, int port, int timeout_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char ps[8];
	double deadline = mq_now_ms() + timeout_ms;

	snprintf(ps, sizeof ps, "%d", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return -1;
	for (;;) {
		for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
			if (try_connect(ai, 200) == 0) {
				freeaddrinfo(res);
				return 0;
			}
		}
		if (mq_now_ms() >= deadline)
			break;
		usleep(20 * 1000);
	}
	freeaddrinfo(res);
	return -1;
}

const char *mq_data_dir(void)
{
	static char dir[PATH_MAX + 64];
	char exe[PATH_MAX], probe[PATH_MAX + 64];
	const char *env = getenv("MQTTLS_DATADIR");
	ssize_t n;

	if (env && *env)
		return env;
	if (dir[0])
		return dir;
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 3; up++) {
			char *slash = strrchr(exe, '/');
			if (!slash)
				break;
			*slash = '\0';
			if (mq_path_join(probe, sizeof probe, exe, "labs") && mq_file_exists(probe)) {
				snprintf(dir, sizeof dir, "%s", exe);
				return dir;
			}
			/* An installed binary in PREFIX/bin finds PREFIX/share/mqttls, whatever PREFIX was. */
			if ((size_t)snprintf(probe, sizeof probe, "%s/share/mqttls/labs", exe) < sizeof probe &&
			    mq_file_exists(probe)) {
				probe[strlen(probe) - strlen("/labs")] = '\0';
				snprintf(dir, sizeof dir, "%s", probe);
				return dir;
			}
		}
	}
	snprintf(dir, sizeof dir, "%s", MQTTLS_DATADIR);
	return dir;
}

const char *mq_state_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("MQTTLS_STATE_DIR"), *xdg, *home;
	struct passwd *pw;

	if (env && *env)
		return env;
	if (dir[0])
		return dir;
	if (geteuid() == 0) {
		snprintf(dir, sizeof dir, "/var/lib/mqttls");
		return dir;
	}
	xdg = getenv("XDG_STATE_HOME");
	if (xdg && *xdg) {
		snprintf(dir, sizeof dir, "%s/mqttls", xdg);
		return dir;
	}
	home = getenv("HOME");
	if ((!home || !*home) && (pw = getpwuid(geteuid())) != NULL)
		home = pw->pw_dir;
	snprintf(dir, sizeof dir, "%s/.local/state/mqttls", home && *home ? home : "/tmp");
	return dir;
}

static void str_grow(struct mq_str *b, size_t need)
{
	size_t cap;
	char *p;

	if (b->len + need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < b->len + need + 1)
		cap *= 2;
	p = realloc(b->s, cap);
	if (!p)
		abort(); /* out of memory: nothing sensible remains to be done */
	b->s = p;
	b->cap = cap;
}

void mq_str_append(struct mq_str *b, const char *data, size_t len)
{
	str_grow(b, len);
	memcpy(b->s + b->len, data, len);
	b->len += len;
	b->s[b->len] = '\0';
}

int mq_str_vprintf(struct mq_str *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -1;
	str_grow(b, (size_t)n);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return n;
}

void mq_str_printf(struct mq_str *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mq_str_vprintf(b, fmt, ap);
	va_end(ap);
}

char *mq_str_take(struct mq_str *b)
{
	char *s = b->s ? b->s : strdup("");

	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void mq_str_free(struct mq_str *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

/* Length of a valid UTF-8 sequence at p (excluding overlongs and surrogates), or 0. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0xC2 || p[0] > 0xF4)
		return 0;
	n = p[0] < 0xE0 ? 2 : p[0] < 0xF0 ? 3 : 4;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	if (n == 2)
		cp = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
	else if (n == 3)
		cp = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
	else
		cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
		     ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp < 0xA0))
		return 0;
	return n;
}

bool mq_utf8_valid(const void *in, size_t len)
{
	const unsigned char *p = in;

	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		size_t n;
		uint32_t cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c < 0xC2 || c > 0xF4)
			return false;
		n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		if (n > len - i)
			return false;
		cp = c & (0xFF >> (n + 1));
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n;
	}
	return true;
}

char *mq_safe_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	struct mq_str b = { 0 };
	size_t len = strlen((const char *)p);

	for (size_t i = 0; i < len;) {
		size_t u;

		if ((p[i] >= 0x20 && p[i] < 0x7F) || p[i] == '\n' || p[i] == '\t') {
			size_t run = i;
			while (run < len && ((p[run] >= 0x20 && p[run] < 0x7F) || p[run] == '\n' || p[run] == '\t'))
				run++;
			mq_str_append(&b, (const char *)p + i, run - i);
			i = run;
		} else if (p[i] >= 0x80 && (u = utf8_len(p + i, len - i)) != 0) {
			mq_str_append(&b, (const char *)p + i, u);
			i += u;
		} else {
			mq_str_printf(&b, "\\x%02X", p[i]);
			i++;
		}
	}
	return mq_str_take(&b);
}

char *mq_escape(const void *in, size_t len, char *out, size_t size)
{
	const unsigned char *p = in;
	size_t o = 0;

	if (size == 0)
		return out;
	for (size_t i = 0; i < len; i++) {
		char tmp[8];
		size_t tl, u;

		if (p[i] >= 0x20 && p[i] < 0x7F && p[i] != '\\') {
			tmp[0] = (char)p[i];
			tl = 1;
		} else if (p[i] == '\\') {
			memcpy(tmp, "\\\\", 2);
			tl = 2;
		} else if (p[i] == '\n') {
			memcpy(tmp, "\\n", 2);
			tl = 2;
		} else if (p[i] == '\t') {
			memcpy(tmp, "\\t", 2);
			tl = 2;
		} else if (p[i] >= 0x80 && (u = utf8_len(p + i, len - i)) != 0) {
			if (o + u >= size)
				break;
			memcpy(out + o, p + i, u);
			o += u;
			i += u - 1;
			continue;
		} else {
			tl = (size_t)snprintf(tmp, sizeof tmp, "\\x%02X", p[i]);
		}
		if (o + tl >= size)
			break;
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	out[o] = '\0';
	return out;
}

char *mq_escape_dup(const void *in, size_t len)
{
	size_t size = len * 4 + 1;
	char *out = malloc(size);

	return out ? mq_escape(in, len, out, size) : NULL;
}

char *mq_iso8601(long long t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "?");
	return buf;
}

bool mq_use_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");

	if (nc && *nc)
		return false;
	return isatty(fileno(f));
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

void mq_signals_hold(sigset_t *saved)
{
	sigset_t set;

	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, saved);
}

void mq_signals_release(const sigset_t *saved)
{
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

void mq_signals_child(void)
{
	sigset_t set;

	stop_signals(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}
