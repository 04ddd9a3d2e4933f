/*
 * mqttls capture — the CLI face of the capture engine: options, then events printed as a ladder
 * per flow (human), or as the contract's JSON Lines (--json). The engine runs on a libevent loop;
 * Ctrl-C ends it cleanly with every flow's verdict.
 */
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "cli.h"
#include "mqttls/capture.h"
#include "mqttls/util.h"

const char usage_capture[] =
	"usage: mqttls capture (-i IFACE | -r FILE) [-w FILE] [--port N]... [--count N] [--duration SEC]\n"
	"                      [--json] [--stats] [--force]\n"
	"\n"
	"Watch the MQTT ports on the wire (libpcap) or read a capture file, and say for every TCP\n"
	"connection what happened: the TLS handshake (ClientHello, ServerHello, the broker's chain,\n"
	"alerts and who sent them) or plaintext MQTT (CONNECT with its credentials, CONNACK, PUBLISH),\n"
	"then a verdict in plain words: who rejected whom, and why.\n"
	"\n"
	"  -i IFACE        capture live on IFACE (needs root or CAP_NET_RAW); Ctrl-C ends it\n"
	"  -r FILE         read a pcap or pcapng file ('-' reads standard input)\n"
	"  -w FILE         also write the packets read to FILE, a pcap Wireshark opens\n"
	"  --port N        an MQTT port to follow (repeatable; default 1883 and 8883)\n"
	"  --count N       stop after N packets\n"
	"  --duration SEC  stop after SEC seconds\n"
	"  --json          JSON Lines: one object per event, then one flow_summary per connection\n"
	"  --stats         finish with packet, flow, malformed and skipped counts (and libpcap's drops)\n"
	"  --force         let -w replace an existing file\n"
	"\n"
	"In TLS 1.3 the broker's certificate and most alerts are encrypted: mqttls says so, and infers\n"
	"what the record sizes and the timing show (docs/capture.md).\n"
	"\n"
	"Examples:\n"
	"  sudo mqttls capture -i eth0                  # then power-cycle the device\n"
	"  mqttls capture -r device.pcap --json | jq 'select(.type==\"flow_summary\")'\n";

struct printed_marker {
	char unused;
};
static struct printed_marker printed;   /* flow->user once its ladder is out */

struct cap_cli {
	const struct cli_cmd *cmd;
	struct capture_opts o;
	bool json, stats, force, stream, utf8, color;
	struct event_base *base;
	struct capture *cap;
	unsigned flows_shown;
	bool out_broken;
	struct mq_str out;     /* --json lines not yet written */
};

/* ---- options ----------------------------------------------------------------------------------- */

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(struct cap_cli *cc, int argc, char **argv)
{
	const struct cli_cmd *cmd = cc->cmd;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		unsigned long long n;

		if (!strcmp(a, "--json")) {
			cc->json = true;
			continue;
		}
		if (!strcmp(a, "--stats")) {
			cc->stats = true;
			continue;
		}
		if (!strcmp(a, "--force")) {
			cc->force = true;
			continue;
		}
		if (strcmp(a, "-i") && strcmp(a, "-r") && strcmp(a, "-w") && strcmp(a, "--port") && strcmp(a, "--count") &&
		    strcmp(a, "--duration")) {
			if (a[0] == '-' && a[1])
				return cli_usage_error(cmd, "unknown option '%s'", a);
			return cli_usage_error(cmd, "unexpected argument '%s'", a);
		}
		if (!val)
			return cli_usage_error(cmd, "%s needs a value", a);
		i++;
		if (!strcmp(a, "-i") || !strcmp(a, "-r")) {
			if (cc->o.iface || cc->o.file)
				return cli_usage_error(cmd, "give one source: -i IFACE or -r FILE");
			if (!*val)
				return cli_usage_error(cmd, "%s needs a non-empty value", a);
			if (a[1] == 'i')
				cc->o.iface = val;
			else
				cc->o.file = val;
		} else if (!strcmp(a, "-w")) {
			if (cc->o.write_path)
				return cli_usage_error(cmd, "-w given twice");
			if (!*val)
				return cli_usage_error(cmd, "-w needs a file name");
			cc->o.write_path = val;
		} else if (!strcmp(a, "--port")) {
			if (parse_uint(val, 65535, &n) || n == 0)
				return cli_usage_error(cmd, "--port wants a port number from 1 to 65535, not '%s'", val);
			if (cc->o.n_ports == CAPTURE_MAX_PORTS)
				return cli_usage_error(cmd, "at most %d --port options", CAPTURE_MAX_PORTS);
			cc->o.ports[cc->o.n_ports++] = (uint16_t)n;
		} else if (!strcmp(a, "--count")) {
			if (parse_uint(val, ULLONG_MAX, &n) || n == 0)
				return cli_usage_error(cmd, "--count wants a positive number of packets, not '%s'", val);
			cc->o.count = n;
		} else {
			double d = cli_parse_seconds(val);

			if (d <= 0)
				return cli_usage_error(cmd, "--duration wants a positive number of seconds, not '%s'", val);
			cc->o.duration = d;
		}
	}
	if (!cc->o.iface && !cc->o.file)
		return cli_usage_error(cmd, "give a source: -i IFACE to capture live, or -r FILE to read a capture");
	if (cc->force && !cc->o.write_path)
		return cli_usage_error(cmd, "--force only applies to -w FILE");
	cc->o.write_force = cc->force;
	return EXIT_OK;
}

/* ---- human output ------------------------------------------------------------------------------ */

static void out_check(struct cap_cli *cc)
{
	/* A closed pipe (| head) ends the capture quietly instead of filling nobody's screen. */
	if (!cc->out_broken && ferror(stdout)) {
		cc->out_broken = true;
		capture_stop(cc->cap);
	}
}

/* Lines of an event, each "  +  0.412 ms  text"; continuation lines indented under the text. */
static void add_lines(struct cap_cli *cc, struct mq_str *buf, const struct capture_event *ev, const char *text)
{
	const struct capture_flow *f = ev->flow;
	double ms = f ? (ev->ts - f->first_ts) * 1000.0 : 0;
	const char *p = text;
	char prefix[32];

	if (cc->stream)
		snprintf(prefix, sizeof(prefix), "#%u ", f ? f->id : 0);
	else
		snprintf(prefix, sizeof(prefix), "  ");
	mq_str_printf(buf, "%s%9.3f ms  ", prefix, ms);
	for (;;) {
		const char *nl = strchr(p, '\n');

		if (!nl) {
			mq_str_printf(buf, "%s\n", p);
			break;
		}
		mq_str_append(buf, p, (size_t)(nl - p));
		mq_str_printf(buf, "\n%*s", (int)strlen(prefix) + 14, "");
		p = nl + 1;
	}
}

static void put_header(struct cap_cli *cc, struct mq_str *buf, const struct capture_flow *f)
{
	char when[32];

	mq_iso8601((long long)f->first_ts, when, sizeof(when));
	mq_str_printf(buf, "%sflow #%u  %s %s %s  (%s)\n", cc->flows_shown++ && !cc->stream ? "\n" : "", f->id, f->client,
		      cc->utf8 ? "→" : "->", f->server, when);
}

static void put_verdict(struct cap_cli *cc, struct mq_str *buf, const struct capture_flow *f)
{
	const struct capture_verdict *v = &f->verdict;
	const char *mark, *col = "", *end = "";

	switch (v->outcome) {
	case CAPTURE_TLS_OK:
		mark = cc->utf8 ? "✓" : "ok";
		col = "\033[32m";
		break;
	case CAPTURE_TLS_FAILED:
		mark = cc->utf8 ? "✗" : "x";
		col = "\033[31m";
		break;
	case CAPTURE_PLAINTEXT_MQTT:
		mark = "!";
		col = "\033[33m";
		break;
	default:
		mark = "?";
		break;
	}
	if (!cc->color)
		col = "";
	else if (*col)
		end = "\033[0m";
	if (cc->stream)
		mq_str_printf(buf, "#%u ", f->id);
	else
		mq_str_printf(buf, "  ");
	mq_str_printf(buf, "%s%s %s: %s%s", col, mark, capture_outcome_name(v->outcome), v->reason ? v->reason : "", end);
	if (v->finding)
		mq_str_printf(buf, "  [%s%s]", v->finding, v->inferred ? ", inferred" : "");
	else if (v->inferred)
		mq_str_printf(buf, "  (inferred)");
	mq_str_printf(buf, "\n");
}

static void human_event(struct cap_cli *cc, const struct capture_event *ev)
{
	struct capture_flow *f = (struct capture_flow *)ev->flow;
	struct mq_str line = { 0 };
	struct mq_str *buf;

	if (!f)
		return;
	if (ev->type == CAPTURE_EV_FLOW_OPEN) {
		buf = calloc(1, sizeof(*buf));
		if (!buf)
			return;
		f->user = buf;
		if (cc->stream) {
			put_header(cc, buf, f);
			fputs(buf->s, stdout);
			mq_str_free(buf);
		} else {
			put_header(cc, buf, f);
		}
	}
	buf = f->user == &printed ? NULL : f->user;
	if (ev->type == CAPTURE_EV_FLOW_END || ev->type == CAPTURE_EV_FLOW_SUMMARY) {
		if (!buf)
			return;
		put_verdict(cc, buf, f);
		fputs(buf->s, stdout);
		mq_str_free(buf);
		free(buf);
		f->user = &printed;
		if (cc->stream)
			fflush(stdout);
		out_check(cc);
		return;
	}
	if (!buf || !capture_event_describe(ev, cc->utf8, &line)) {
		mq_str_free(&line);
		return;
	}
	add_lines(cc, buf, ev, line.s);
	mq_str_free(&line);
	if (cc->stream) {
		fputs(buf->s, stdout);
		fflush(stdout);
		mq_str_free(buf);
		out_check(cc);
	}
}

static void print_stats(struct cap_cli *cc)
{
	const struct capture_stats *s = capture_get_stats(cc->cap);

	if (cc->json) {
		cJSON *j = capture_stats_json(s);
		char *txt = cJSON_PrintUnformatted(j);

		if (txt)
			printf("%s\n", txt);
		free(txt);
		cJSON_Delete(j);
		return;
	}
	printf("\ncapture statistics\n");
	printf("  packets read        %llu (%llu bytes)\n", (unsigned long long)s->frames, (unsigned long long)s->bytes);
	printf("  TCP on the ports    %llu segments in %llu flows (TLS %llu, plain MQTT %llu)\n",
	       (unsigned long long)s->tcp, (unsigned long long)s->flows, (unsigned long long)s->tls_flows,
	       (unsigned long long)s->mqtt_flows);
	printf("  malformed           %llu (skipped and counted, never trusted)\n", (unsigned long long)s->malformed);
	printf("  skipped             %llu (not TCP/IP, other ports, IP fragments, undecodable flows)\n",
	       (unsigned long long)s->skipped);
	printf("  cut by the snaplen  %llu packets\n", (unsigned long long)s->truncated);
	printf("  not captured        %llu bytes (gaps in flows)\n", (unsigned long long)s->gap_bytes);
	printf("  retransmitted       %llu bytes, %llu segments out of order\n", (unsigned long long)s->dup_bytes,
	       (unsigned long long)s->ooo_segs);
	if (s->flows_evicted)
		printf("  flows evicted       %llu (over the flow limit: their summaries came early)\n",
		       (unsigned long long)s->flows_evicted);
	if (s->pcap_stats_ok)
		printf("  libpcap             %u received, %u dropped by the kernel, %u dropped by the interface\n",
		       s->pcap_recv, s->pcap_drop, s->pcap_ifdrop);
	printf("  time                %.3f s\n", s->elapsed);
}

static void flush_out(struct cap_cli *cc)
{
	if (cc->out.len && !cc->out_broken)
		fwrite(cc->out.s, 1, cc->out.len, stdout);
	cc->out.len = 0;
	if (cc->stream)
		fflush(stdout);
	out_check(cc);
}

/* ---- the observer ------------------------------------------------------------------------------ */

static void on_event(void *ctx, const struct capture_event *ev)
{
	struct cap_cli *cc = ctx;

	if (ev->type == CAPTURE_EV_DONE) {
		flush_out(cc);
		event_base_loopbreak(cc->base);
		return;
	}
	if (cc->out_broken)
		return;
	if (cc->json) {
		if (capture_event_json_write(ev, &cc->out)) {
			mq_str_append(&cc->out, "\n", 1);
			/* Written in large pieces; a live capture flushes every line for those who tail it. */
			if (cc->stream || cc->out.len >= 1 << 16)
				flush_out(cc);
		}
		return;
	}
	human_event(cc, ev);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct cap_cli *cc = arg;
	(void)sig;
	(void)what;

	capture_stop(cc->cap);
}

static bool utf8_locale(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
}

int cmd_capture(const struct cli_cmd *self, int argc, char **argv)
{
	struct cap_cli cc;
	struct capture_observer obs;
	struct event *sigint = NULL, *sigterm = NULL;
	const struct capture_stats *s;
	struct mq_err err;
	int rc = EXIT_OK;

	memset(&cc, 0, sizeof(cc));
	cc.cmd = self;
	for (int i = 1; i < argc; i++)
		if (cli_is_help(argv[i]))
			return cli_help(self);
	capture_opts_init(&cc.o);
	if ((rc = parse_args(&cc, argc, argv)) != EXIT_OK)
		return rc;
	{
		struct stat st;
		/* Found before the capture runs, not after: the packets read would have nowhere to go. */
		if (cc.o.write_path && stat(cc.o.write_path, &st) == 0 && S_ISDIR(st.st_mode))
			return cli_fail(self, "-w %s is a directory: give a file name", cc.o.write_path);
	}
	cc.stream = cc.o.iface != NULL;
	cc.utf8 = utf8_locale();
	cc.color = mq_use_color(stdout);
	mq_err_clear(&err);
	cc.base = event_base_new();
	if (!cc.base)
		return cli_fail(self, "cannot start the event loop");
	obs.event = on_event;
	obs.ctx = &cc;
	{
		struct stat st;
		/* Reading a FIFO waits for its writer (tcpdump -w FIFO): say so, rather than look hung. */
		if (cc.o.file && strcmp(cc.o.file, "-") && stat(cc.o.file, &st) == 0 && S_ISFIFO(st.st_mode))
			fprintf(stderr, "mqttls capture: %s is a FIFO: waiting for a program to write a capture into it "
					"(Ctrl-C gives up)\n", cc.o.file);
	}
	cc.cap = capture_new(&cc.o, &obs, &err);
	if (!cc.cap || capture_start(cc.cap, cc.base, &err)) {
		rc = cli_fail(self, "%s", err.msg);
		goto out;
	}
	sigint = evsignal_new(cc.base, SIGINT, on_signal, &cc);
	sigterm = evsignal_new(cc.base, SIGTERM, on_signal, &cc);
	if (sigint)
		event_add(sigint, NULL);
	if (sigterm)
		event_add(sigterm, NULL);
	if (cc.stream)
		fprintf(stderr, "mqttls capture: listening on %s; Ctrl-C ends and prints every connection's verdict\n",
			cc.o.iface);
	while (!capture_done(cc.cap))
		if (event_base_dispatch(cc.base) != 0)
			break;
	if (!capture_done(cc.cap))
		capture_stop(cc.cap);
	s = capture_get_stats(cc.cap);
	if (!cc.json && !cc.out_broken && s->flows == 0) {
		printf("no TCP traffic on port%s", cc.o.n_ports == 1 ? "" : "s");
		for (size_t i = 0; i < (cc.o.n_ports ? cc.o.n_ports : 2); i++)
			printf("%s%u", i ? ", " : " ", cc.o.n_ports ? cc.o.ports[i] : (i ? 8883 : 1883));
		printf(" in %llu packet%s read\n", (unsigned long long)s->frames, s->frames == 1 ? "" : "s");
	}
	if (cc.stats && !cc.out_broken)
		print_stats(&cc);
	fflush(stdout);
	if (s->file_truncated)
		fprintf(stderr, "mqttls capture: warning: %s ends in the middle of a packet (%s); everything before it was decoded\n",
			cc.o.file ? cc.o.file : "the capture", s->file_error);
	else if (s->file_error[0]) {
		rc = cli_fail(self, "%s", s->file_error);
	}
	if (s->pcap_stats_ok && (s->pcap_drop || s->pcap_ifdrop))
		fprintf(stderr, "mqttls capture: warning: libpcap dropped %u packets (%u by the interface): "
				"some flows may be incomplete\n", s->pcap_drop, s->pcap_ifdrop);
out:
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	capture_free(cc.cap);
	event_base_free(cc.base);
	mq_str_free(&cc.out);
	return rc;
}
