/*
 * capture — the session: a libpcap source (live, non-blocking on the caller's libevent loop;
 * or a file read a slice per loop turn so a TUI stays responsive), the optional -w writer,
 * the stop conditions, and libpcap's counters. Frames go to netdec, segments to flowtab.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <pcap/pcap.h>

#include "flowtab.h"
#include "mqttls/capture.h"
#include "mqttls/netdec.h"

#define DEFAULT_SNAPLEN 262144
#define DEFAULT_BATCH 2048

struct capture {
	struct capture_opts o;
	struct capture_observer obs;
	struct capture_stats st;
	struct flowtab *ft;
	pcap_t *pc;
	pcap_dumper_t *dump;
	char *dump_tmp;            /* -w writes here, renamed over write_path at the end */
	int dlt;
	bool live;
	struct event_base *base;
	struct event *ev_read;     /* live: the pcap descriptor; file: a slice of frames */
	struct event *ev_timer;    /* live: libpcap counters once a second */
	struct event *ev_dur;      /* --duration */
	double start_mono;
	bool started, done;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void capture_opts_init(struct capture_opts *o)
{
	memset(o, 0, sizeof(*o));
}

struct capture *capture_new(const struct capture_opts *o, const struct capture_observer *obs, struct mq_err *err)
{
	struct capture *c;
	int sources = !!o->iface + !!o->file + !!o->fp;

	if (sources > 1) {
		mq_errf(err, "give one source: an interface (-i) or a file (-r), not both");
		return NULL;
	}
	if (o->n_ports > CAPTURE_MAX_PORTS) {
		mq_errf(err, "at most %d ports", CAPTURE_MAX_PORTS);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		mq_errf(err, "out of memory");
		return NULL;
	}
	c->o = *o;
	if (!c->o.snaplen)
		c->o.snaplen = DEFAULT_SNAPLEN;
	if (!c->o.batch)
		c->o.batch = DEFAULT_BATCH;
	if (obs)
		c->obs = *obs;
	c->ft = flowtab_new(&c->o, &c->obs, &c->st);
	if (!c->ft) {
		free(c);
		mq_errf(err, "out of memory");
		return NULL;
	}
	c->dlt = -1;
	return c;
}

const struct capture_stats *capture_get_stats(const struct capture *c)
{
	return &c->st;
}

bool capture_done(const struct capture *c)
{
	return c->done;
}

int capture_datalink(const struct capture *c)
{
	return c->dlt;
}

static void refresh_pcap_stats(struct capture *c)
{
	struct pcap_stat ps;

	if (c->live && c->pc && pcap_stats(c->pc, &ps) == 0) {
		c->st.pcap_stats_ok = true;
		c->st.pcap_recv = ps.ps_recv;
		c->st.pcap_drop = ps.ps_drop;
		c->st.pcap_ifdrop = ps.ps_ifdrop;
	}
}

void capture_frame(struct capture *c, int dlt, double ts, const uint8_t *data, size_t caplen, size_t wirelen)
{
	struct net_seg s;
	const char *why;
	int rc;

	c->st.frames++;
	c->st.bytes += caplen;
	c->st.last_ts = ts;
	rc = netdec_frame(dlt, data, caplen, wirelen, &s, &why);
	if (rc == NETDEC_MALFORMED) {
		flowtab_malformed_frame(c->ft, ts, why);
		return;
	}
	if (rc != NETDEC_TCP || (!flowtab_port_wanted(c->ft, s.sport) && !flowtab_port_wanted(c->ft, s.dport))) {
		c->st.skipped++;
		return;
	}
	c->st.tcp++;
	flowtab_segment(c->ft, ts, &s);
}

void capture_finish(struct capture *c)
{
	struct capture_event ev;

	if (c->done)
		return;
	c->done = true;
	refresh_pcap_stats(c);
	if (c->started)
		c->st.elapsed = mono() - c->start_mono;
	if (c->ev_read)
		event_del(c->ev_read);
	if (c->ev_timer)
		event_del(c->ev_timer);
	if (c->ev_dur)
		event_del(c->ev_dur);
	flowtab_finish(c->ft);
	if (c->dump) {
		pcap_dump_close(c->dump);
		c->dump = NULL;
		if (c->dump_tmp && rename(c->dump_tmp, c->o.write_path) != 0)
			snprintf(c->st.file_error, sizeof(c->st.file_error), "cannot write %s: %s", c->o.write_path,
				 strerror(errno));
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = CAPTURE_EV_DONE;
	c->st.events++;
	if (c->obs.event)
		c->obs.event(c->obs.ctx, &ev);
}

void capture_stop(struct capture *c)
{
	capture_finish(c);
}

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct capture *c = (struct capture *)user;

	if (c->done)
		return;
	if (c->dump)
		pcap_dump((u_char *)c->dump, h, data);
	capture_frame(c, c->dlt, (double)h->ts.tv_sec + (double)h->ts.tv_usec / 1e6, data, h->caplen, h->len);
}

static bool count_reached(const struct capture *c)
{
	return c->o.count && c->st.frames >= c->o.count;
}

/* A file: read one slice of frames, then yield to the loop and come back. */
static void on_file_slice(evutil_socket_t fd, short what, void *arg)
{
	struct capture *c = arg;
	struct pcap_pkthdr *h;
	const u_char *data;
	(void)fd;
	(void)what;

	for (size_t i = 0; i < c->o.batch && !c->done; i++) {
		int rc;

		if (count_reached(c)) {
			capture_finish(c);
			return;
		}
		rc = pcap_next_ex(c->pc, &h, &data);
		if (rc == 1) {
			on_frame((u_char *)c, h, data);
			continue;
		}
		if (rc == PCAP_ERROR) {
			/* Most often a file cut inside a frame (a capture that was killed): keep what was read. */
			c->st.file_truncated = true;
			snprintf(c->st.file_error, sizeof(c->st.file_error), "%s", pcap_geterr(c->pc));
		}
		capture_finish(c);
		return;
	}
	if (!c->done)
		event_active(c->ev_read, EV_READ, 0);
}

static void on_live_readable(evutil_socket_t fd, short what, void *arg)
{
	struct capture *c = arg;
	(void)fd;
	(void)what;

	while (!c->done) {
		int want = c->o.count ? (int)(c->o.count - c->st.frames) : -1;
		int rc;

		if (want == 0) {
			capture_finish(c);
			return;
		}
		if (want < 0 || want > 512)
			want = 512;
		rc = pcap_dispatch(c->pc, want, on_frame, (u_char *)c);
		if (rc < 0) {
			snprintf(c->st.file_error, sizeof(c->st.file_error), "%s", pcap_geterr(c->pc));
			capture_finish(c);
			return;
		}
		if (rc == 0)
			break;
	}
	if (count_reached(c))
		capture_finish(c);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct capture *c = arg;
	(void)fd;
	(void)what;

	refresh_pcap_stats(c);
	if (c->dump)
		pcap_dump_flush(c->dump);
}

static void on_duration(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	capture_finish(arg);
}

/* "tcp port 1883 or ...", also inside VLAN tags. */
static void build_filter(const struct capture *c, char *buf, size_t size)
{
	char ports[CAPTURE_MAX_PORTS * 16] = "";
	size_t n = c->o.n_ports ? c->o.n_ports : 2;
	const uint16_t defaults[2] = { 1883, 8883 };

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(ports);

		snprintf(ports + l, sizeof(ports) - l, "%sport %u", i ? " or " : "",
			 c->o.n_ports ? c->o.ports[i] : defaults[i]);
	}
	snprintf(buf, size, "(tcp and (%s)) or (vlan and tcp and (%s))", ports, ports);
}

static int open_live(struct capture *c, struct mq_err *err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	char filter[CAPTURE_MAX_PORTS * 40];
	struct bpf_program prog;
	int rc;

	c->pc = pcap_create(c->o.iface, ebuf);
	if (!c->pc) {
		mq_errf(err, "cannot capture on %s: %s", c->o.iface, ebuf);
		return -1;
	}
	pcap_set_snaplen(c->pc, c->o.snaplen);
	pcap_set_promisc(c->pc, 1);
	pcap_set_timeout(c->pc, 100);
	/* Packets must reach the loop as they arrive, not when a kernel buffer fills. */
	pcap_set_immediate_mode(c->pc, 1);
	rc = pcap_activate(c->pc);
	if (rc < 0) {
		const char *detail = pcap_geterr(c->pc);

		if (rc == PCAP_ERROR_PERM_DENIED)
			mq_errf(err, "no permission to capture on %s (run as root or give mqttls CAP_NET_RAW): %s",
				c->o.iface, detail);
		else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
			mq_errf(err, "no such interface: %s", c->o.iface);
		else
			mq_errf(err, "cannot capture on %s: %s", c->o.iface, detail[0] ? detail : pcap_statustostr(rc));
		return -1;
	}
	c->live = true;
	c->dlt = pcap_datalink(c->pc);
	build_filter(c, filter, sizeof(filter));
	if (pcap_compile(c->pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) == 0) {
		if (pcap_setfilter(c->pc, &prog) != 0) {
			/* The engine filters by port itself too; a filter is only a saving. */
		}
		pcap_freecode(&prog);
	}
	if (pcap_setnonblock(c->pc, 1, ebuf) != 0) {
		mq_errf(err, "cannot make the capture on %s non-blocking: %s", c->o.iface, ebuf);
		return -1;
	}
	return 0;
}

static int open_file(struct capture *c, struct mq_err *err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct stat sb;

	if (c->o.fp) {
		c->pc = pcap_fopen_offline(c->o.fp, ebuf);
		if (!c->pc)
			fclose(c->o.fp);  /* ours from capture_start on, opened or not */
		c->o.fp = NULL;
	} else {
		if (strcmp(c->o.file, "-") && stat(c->o.file, &sb) != 0) {
			mq_errf_errno(err, "cannot read %s", c->o.file);
			return -1;
		}
		if (strcmp(c->o.file, "-") && S_ISDIR(sb.st_mode)) {
			mq_errf(err, "%s is a directory, not a capture file", c->o.file);
			return -1;
		}
		c->pc = pcap_open_offline(c->o.file, ebuf);
	}
	if (!c->pc) {
		mq_errf(err, "%s is not a capture file libpcap can read (pcap or pcapng): %s",
			c->o.file ? c->o.file : "the input", ebuf);
		return -1;
	}
	c->dlt = pcap_datalink(c->pc);
	return 0;
}

static int open_dump(struct capture *c, struct mq_err *err)
{
	size_t n;

	if (!c->o.write_force && access(c->o.write_path, F_OK) == 0) {
		mq_errf(err, "%s exists; use --force to replace it", c->o.write_path);
		return -1;
	}
	n = strlen(c->o.write_path) + 16;
	c->dump_tmp = malloc(n);
	if (!c->dump_tmp) {
		mq_errf(err, "out of memory");
		return -1;
	}
	snprintf(c->dump_tmp, n, "%s.part", c->o.write_path);
	c->dump = pcap_dump_open(c->pc, c->dump_tmp);
	if (!c->dump) {
		mq_errf(err, "cannot write %s: %s", c->o.write_path, pcap_geterr(c->pc));
		return -1;
	}
	return 0;
}

int capture_start(struct capture *c, struct event_base *base, struct mq_err *err)
{
	if (c->started) {
		mq_errf(err, "capture already started");
		return -1;
	}
	if (!c->o.iface && !c->o.file && !c->o.fp) {
		mq_errf(err, "nothing to read: give an interface (-i) or a capture file (-r)");
		return -1;
	}
	if (c->o.iface ? open_live(c, err) : open_file(c, err))
		return -1;
	if (!netdec_dlt_supported(c->dlt)) {
		const char *name = pcap_datalink_val_to_name(c->dlt);

		mq_errf(err, "link type %d (%s) is not supported: mqttls reads Ethernet, Linux cooked, BSD loopback and raw IP",
			c->dlt, name ? name : "unknown");
		return -1;
	}
	if (c->o.write_path && open_dump(c, err))
		return -1;
	c->base = base;
	c->started = true;
	c->start_mono = mono();
	if (c->live) {
		struct timeval one = { 1, 0 };

		c->ev_read = event_new(base, pcap_get_selectable_fd(c->pc), EV_READ | EV_PERSIST, on_live_readable, c);
		c->ev_timer = event_new(base, -1, EV_PERSIST, on_tick, c);
		if (!c->ev_read || !c->ev_timer || event_add(c->ev_read, NULL) || event_add(c->ev_timer, &one)) {
			mq_errf(err, "cannot watch the capture descriptor");
			return -1;
		}
	} else {
		c->ev_read = event_new(base, -1, 0, on_file_slice, c);
		if (!c->ev_read) {
			mq_errf(err, "out of memory");
			return -1;
		}
		event_active(c->ev_read, EV_READ, 0);
	}
	if (c->o.duration > 0) {
		/* A file is read as fast as it goes; --duration still bounds the wall time. */
		struct timeval tv = { (time_t)c->o.duration,
				      (suseconds_t)((c->o.duration - (double)(time_t)c->o.duration) * 1e6) };

		c->ev_dur = event_new(base, -1, 0, on_duration, c);
		if (!c->ev_dur || event_add(c->ev_dur, &tv)) {
			mq_errf(err, "cannot arm the --duration timer");
			return -1;
		}
	}
	return 0;
}

void capture_free(struct capture *c)
{
	if (!c)
		return;
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_timer)
		event_free(c->ev_timer);
	if (c->ev_dur)
		event_free(c->ev_dur);
	if (c->dump) {
		pcap_dump_close(c->dump);
		unlink(c->dump_tmp);
	}
	if (c->pc)
		pcap_close(c->pc);
	flowtab_free(c->ft);
	free(c->dump_tmp);
	free(c);
}
