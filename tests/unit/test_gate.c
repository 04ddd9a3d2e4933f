#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mqttls/gate.h"

/* gate_check on a literal; returns what the gate said. */
static int check(struct gate *g, enum gate_role role, const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct mq_err err = { 0 };

	assert_int_equal(gate_parse_literal(ip, port, &ss, &len), 0);
	return gate_check(g, role, (struct sockaddr *)&ss, len, &err);
}

static void loopback_only_by_default(void **state)
{
	struct gate g;
	(void)state;
	gate_init(&g);
	assert_int_equal(check(&g, GATE_LISTEN, "127.0.0.1", 8883), 0);
	assert_int_equal(check(&g, GATE_LISTEN, "127.9.9.9", 8883), 0);
	assert_int_equal(check(&g, GATE_LISTEN, "::1", 8883), 0);
	assert_int_equal(check(&g, GATE_UPSTREAM, "[::1]", 8883), 0);
	assert_int_equal(check(&g, GATE_LISTEN, "0.0.0.0", 8883), -1);
	assert_int_equal(check(&g, GATE_LISTEN, "::", 8883), -1);
	assert_int_equal(check(&g, GATE_LISTEN, "192.168.1.10", 8883), -1);
	assert_int_equal(check(&g, GATE_UPSTREAM, "8.8.8.8", 8883), -1);
	assert_int_equal(check(&g, GATE_PEER, "10.0.0.1", 8883), -1);
	assert_int_equal(check(&g, GATE_VICTIM, "192.168.1.20", 40000), -1);
	assert_int_equal(g.checked, 10);
	assert_int_equal(g.refused, 6);
}

static void mapped_addresses_are_unwrapped(void **state)
{
	struct gate g;
	struct sockaddr_storage ss;
	socklen_t len;
	(void)state;
	gate_init(&g);
	assert_int_equal(check(&g, GATE_UPSTREAM, "::ffff:8.8.8.8", 8883), -1);
	assert_int_equal(check(&g, GATE_UPSTREAM, "[::ffff:8.8.8.8]", 8883), -1);
	assert_int_equal(check(&g, GATE_UPSTREAM, "::ffff:127.0.0.1", 8883), 0);
	assert_int_equal(check(&g, GATE_LISTEN, "::ffff:0.0.0.0", 8883), -1);
	/* The canonical form is plain IPv4. */
	assert_int_equal(gate_parse_literal("::ffff:127.0.0.1", 1, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	/* IPv4-compatible, NAT64 and 6to4 forms embed public IPv4 addresses too: refused. */
	assert_int_equal(check(&g, GATE_UPSTREAM, "::8.8.8.8", 8883), -1);
	assert_int_equal(check(&g, GATE_UPSTREAM, "64:ff9b::808:808", 8883), -1);
	assert_int_equal(check(&g, GATE_UPSTREAM, "2002:808:808::1", 8883), -1);
}

static void literals_are_inet_pton_only(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	(void)state;
	/* inet_aton shorthand is not a literal here: it goes through the resolver and the gate. */
	assert_int_equal(gate_parse_literal("127.1", 1, &ss, &len), -1);
	assert_int_equal(gate_parse_literal("134744072", 1, &ss, &len), -1);
	assert_int_equal(gate_parse_literal("0x7f.1", 1, &ss, &len), -1);
	assert_int_equal(gate_parse_literal("", 1, &ss, &len), -1);
	assert_int_equal(gate_parse_literal("[]", 1, &ss, &len), -1);
}

static void lab_ranges(void **state)
{
	struct gate g;
	struct mq_err err = { 0 };
	(void)state;
	gate_init(&g);
	assert_int_equal(gate_add_lab(&g, "192.168.50.0/24", &err), 0);
	assert_int_equal(gate_add_lab(&g, "10.1.2.3/16", &err), 0);
	assert_int_equal(gate_add_lab(&g, "172.16.0.0/12", &err), 0);
	assert_int_equal(gate_add_lab(&g, "169.254.0.0/16", &err), 0);
	assert_int_equal(gate_add_lab(&g, "fd00:1::/64", &err), 0);
	assert_int_equal(gate_add_lab(&g, "fe80::/10", &err), 0);
	assert_int_equal(gate_add_lab(&g, "::ffff:192.168.60.0/120", &err), 0);

	mq_err_clear(&err);
	assert_int_equal(gate_add_lab(&g, "8.8.8.0/24", &err), -1);
	assert_non_null(strstr(err.msg, "not a lab network"));
	mq_err_clear(&err);
	assert_int_equal(gate_add_lab(&g, "10.0.0.0/7", &err), -1);
	assert_int_equal(gate_add_lab(&g, "172.32.0.0/16", &err), -1);
	assert_int_equal(gate_add_lab(&g, "0.0.0.0/0", &err), -1);
	assert_int_equal(gate_add_lab(&g, "::/0", &err), -1);
	assert_int_equal(gate_add_lab(&g, "2001:db8::/32", &err), -1);
	assert_int_equal(gate_add_lab(&g, "fc00::/6", &err), -1);
	assert_int_equal(gate_add_lab(&g, "::ffff:8.8.8.0/120", &err), -1);
	assert_int_equal(gate_add_lab(&g, "192.168.1.0/33", &err), -1);
	assert_int_equal(gate_add_lab(&g, "192.168.1.0/", &err), -1);
	assert_int_equal(gate_add_lab(&g, "192.168.1.0/2x", &err), -1);
	assert_int_equal(gate_add_lab(&g, "192.168.1.0/-1", &err), -1);
	assert_int_equal(gate_add_lab(&g, "lab", &err), -1);
	assert_int_equal(gate_add_lab(&g, "192.168.1", &err), -1);

	assert_int_equal(check(&g, GATE_LISTEN, "192.168.50.7", 8883), 0);
	assert_int_equal(check(&g, GATE_UPSTREAM, "10.1.200.1", 8883), 0);
	assert_int_equal(check(&g, GATE_UPSTREAM, "10.2.0.1", 8883), -1);
	assert_int_equal(check(&g, GATE_UPSTREAM, "192.168.51.1", 8883), -1);
	assert_int_equal(check(&g, GATE_VICTIM, "192.168.60.9", 1), 0);
	assert_int_equal(check(&g, GATE_VICTIM, "::ffff:192.168.60.9", 1), 0);
	assert_int_equal(check(&g, GATE_UPSTREAM, "fd00:1::5", 8883), 0);
	assert_int_equal(check(&g, GATE_UPSTREAM, "fd00:2::5", 8883), -1);
	assert_int_equal(check(&g, GATE_UPSTREAM, "8.8.8.8", 8883), -1);
	assert_int_equal(check(&g, GATE_LISTEN, "0.0.0.0", 8883), -1);
}

static void never_relay_to_itself(void **state)
{
	struct gate g;
	struct sockaddr_storage ss;
	socklen_t len;
	(void)state;
	gate_init(&g);
	assert_int_equal(gate_parse_literal("127.0.0.1", 8883, &ss, &len), 0);
	gate_set_listen(&g, (struct sockaddr *)&ss, len);
	assert_int_equal(check(&g, GATE_UPSTREAM, "127.0.0.1", 8883), -1);
	assert_int_equal(check(&g, GATE_PEER, "::ffff:127.0.0.1", 8883), -1);
	assert_int_equal(check(&g, GATE_UPSTREAM, "127.0.0.1", 8884), 0);
	assert_int_equal(check(&g, GATE_UPSTREAM, "127.0.0.2", 8883), 0);
	/* Victims come from the listener's own address legitimately (loopback clients). */
	assert_int_equal(check(&g, GATE_VICTIM, "127.0.0.1", 8883), 0);
}

static void resolve_judges_every_address(void **state)
{
	struct gate g;
	struct sockaddr_storage out[GATE_MAX_ADDRS];
	socklen_t lens[GATE_MAX_ADDRS];
	struct mq_err err = { 0 };
	int n;
	(void)state;
	gate_init(&g);
	n = gate_resolve(&g, GATE_UPSTREAM, "localhost", 8883, out, lens, GATE_MAX_ADDRS, &err);
	assert_true(n >= 1);
	for (int i = 0; i < n; i++)
		assert_true(gate_is_loopback((struct sockaddr *)&out[i]));
	/* inet_aton's decimal form of 8.8.8.8, resolved without any network traffic. */
	mq_err_clear(&err);
	assert_int_equal(gate_resolve(&g, GATE_UPSTREAM, "134744072", 8883, out, lens, GATE_MAX_ADDRS, &err), -1);
	assert_non_null(strstr(err.msg, "8.8.8.8"));
	assert_non_null(strstr(err.msg, "134744072"));
	mq_err_clear(&err);
	assert_int_equal(gate_resolve(&g, GATE_UPSTREAM, "::ffff:8.8.8.8", 8883, out, lens, GATE_MAX_ADDRS, &err), -1);
	assert_non_null(strstr(err.msg, "8.8.8.8"));
}

static void host_port_splitting(void **state)
{
	char host[256];
	int port = 0;
	struct mq_err err = { 0 };
	(void)state;
	assert_int_equal(gate_split_hostport("127.0.0.1:8883", host, sizeof host, &port, &err), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8883);
	assert_int_equal(gate_split_hostport("[::1]:1", host, sizeof host, &port, &err), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 1);
	assert_int_equal(gate_split_hostport("broker.lab:65535", host, sizeof host, &port, &err), 0);
	assert_int_equal(gate_split_hostport("::1:8883", host, sizeof host, &port, &err), -1);
	assert_int_equal(gate_split_hostport("host", host, sizeof host, &port, &err), -1);
	assert_int_equal(gate_split_hostport("host:0", host, sizeof host, &port, &err), -1);
	assert_int_equal(gate_split_hostport("host:65536", host, sizeof host, &port, &err), -1);
	assert_int_equal(gate_split_hostport("host: 1", host, sizeof host, &port, &err), -1);
	assert_int_equal(gate_split_hostport("host:+1", host, sizeof host, &port, &err), -1);
	assert_int_equal(gate_split_hostport(":8883", host, sizeof host, &port, &err), -1);
	assert_int_equal(gate_split_hostport("[::1]8883", host, sizeof host, &port, &err), -1);
	assert_int_equal(gate_split_hostport("[]:8883", host, sizeof host, &port, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loopback_only_by_default),
		cmocka_unit_test(mapped_addresses_are_unwrapped),
		cmocka_unit_test(literals_are_inet_pton_only),
		cmocka_unit_test(lab_ranges),
		cmocka_unit_test(never_relay_to_itself),
		cmocka_unit_test(resolve_judges_every_address),
		cmocka_unit_test(host_port_splitting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
