/* test_net.c - the net module's pure parts: specs, the address store, run records, the nft script, counters, resolv.conf; the netspec corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "net.h"
#include "testutil.h"

#define NETSPEC_NO_MAIN
#include "../fuzz/fuzz_netspec.c"

static void test_expose_good(void **state)
{
	static const struct {
		const char *in, *canon;
		unsigned proto, hp, p, len;
	} good[] = {
		{ "tcp:18080:80", "tcp:18080:80", NET_TCP, 18080, 80, 0 },
		{ "udp:53:5353", "udp:53:5353", NET_UDP, 53, 5353, 0 },
		{ "tcp:1:65535@10.0.0.0/8", "tcp:1:65535@10.0.0.0/8", NET_TCP, 1, 65535, 8 },
		{ "tcp:443:443@192.168.1.7", "tcp:443:443@192.168.1.7/32", NET_TCP, 443, 443, 32 },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct net_expose x;
		struct isc_err e = { 0 };
		char out[64];
		assert_int_equal(net_expose_parse(good[i].in, &x, &e), 0);
		assert_int_equal(x.proto, good[i].proto);
		assert_int_equal(x.host_port, good[i].hp);
		assert_int_equal(x.port, good[i].p);
		assert_int_equal(x.from_len, good[i].len);
		net_expose_format(&x, out, sizeof(out));
		assert_string_equal(out, good[i].canon);
	}
}

static void test_expose_bad(void **state)
{
	static const struct {
		const char *in, *says;
	} bad[] = {
		{ "tcp:0:80", "host port '0' is not 1 to 65535" },
		{ "tcp:65536:80", "host port '65536' is not 1 to 65535" },
		{ "tcp:80:0", "port '0' is not 1 to 65535" },
		{ "tcp:80:99999", "port '99999' is not 1 to 65535" },
		{ "sctp:80:80", "unknown protocol 'sctp'" },
		{ "tcp:80", "expected tcp|udp:HOSTPORT:PORT" },
		{ "tcp:80:80@10.0.0.1/8", "bad CIDR '10.0.0.1/8'" },
		{ "tcp:80:80@10.0.0.0/33", "bad CIDR" },
		{ "tcp:80:80@1.2.3", "bad CIDR" },
		{ "tcp:-1:80", "host port '-1'" },
		{ "tcp:080:80", "host port '080'" },
		{ "", "expected tcp|udp" },
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct net_expose x;
		struct isc_err e = { 0 };
		assert_int_equal(net_expose_parse(bad[i].in, &x, &e), -EINVAL);
		if (!strstr(e.msg, bad[i].says))
			fail_msg("'%s' said '%s', wanted '%s'", bad[i].in, e.msg, bad[i].says);
		assert_null(strchr(e.msg, '\n'));
	}
}

static void test_egress(void **state)
{
	struct net_egress g;
	struct isc_err e = { 0 };
	char out[512];
	(void)state;
	assert_int_equal(net_egress_parse("deny", &g, &e), 0);
	assert_int_equal(g.kind, EGRESS_DENY);
	assert_int_equal(net_egress_parse("allow", &g, &e), 0);
	assert_int_equal(g.kind, EGRESS_ALLOW);
	assert_int_equal(net_egress_parse("tcp:10.0.0.0/8:443,udp:1.1.1.1:53", &g, &e), 0);
	assert_int_equal(g.kind, EGRESS_LIST);
	assert_int_equal(g.n, 2);
	net_egress_format(&g, out, sizeof(out));
	assert_string_equal(out, "tcp:10.0.0.0/8:443,udp:1.1.1.1/32:53");
	const char *bad[] = { "", "tcp:10.0.0.0/8:443,", ",tcp:10.0.0.0/8:443", "tcp:10.0.0.0/8",
			      "icmp:10.0.0.0/8:1", "tcp:10.0.0.1/8:80", "tcp:10.0.0.0/8:0", "Allow" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (net_egress_parse(bad[i], &g, &e) == 0)
			fail_msg("egress '%s' accepted", bad[i]);
	/* at most NET_MAX_EGRESS flows */
	char many[4096] = "";
	for (int i = 0; i <= NET_MAX_EGRESS; i++)
		str_append(many, sizeof(many), i ? ",tcp:10.0.0.0/8:1" : "tcp:10.0.0.0/8:1");
	assert_int_equal(net_egress_parse(many, &g, &e), -E2BIG);
}

static void test_cidr(void **state)
{
	uint32_t a;
	uint8_t l;
	(void)state;
	assert_int_equal(net_cidr_parse("10.77.0.0/16", &a, &l), 0);
	assert_int_equal(a, 0x0a4d0000);
	assert_int_equal(l, 16);
	assert_int_equal(net_cidr_parse("0.0.0.0/0", &a, &l), 0);
	assert_int_equal(l, 0);
	const char *bad[] = { "10.77.0.1/16", "10.77.0.0/", "10.77.0.0/017", "10.77.0/16", "a.b.c.d",
			      "10.77.0.0/16x", "0x0a.0.0.0/8", "/8", "256.0.0.0/8" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (net_cidr_parse(bad[i], &a, &l) == 0)
			fail_msg("CIDR '%s' accepted", bad[i]);
}

static bool exists_but_gone(void *arg, const char *name)
{
	(void)arg;
	return !STREQ(name, "gone");
}

static void test_addr_store(void **state)
{
	(void)state;
	char *d = tmpdir_make_named("isc-net-test");
	int dir = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct net_pool np;
	struct isc_err e = { 0 };
	uint32_t a, b, c;
	assert_int_equal(net_pool_load(dir, &np, &e), 0);
	assert_string_equal(np.bridge, "isc0");
	assert_int_equal(np.base, 0x0a4d0000);
	assert_int_equal(net_pool_set(dir, "range=10.9.0.0/29", &e), 0);
	assert_int_equal(net_pool_set(dir, "bridge=iscv1", &e), -EINVAL);
	assert_int_equal(net_pool_set(dir, "range=10.9.0.0/30", &e), -EINVAL);
	assert_int_equal(net_pool_load(dir, &np, &e), 0);
	assert_int_equal(np.len, 29);
	/* lowest free, stable, never .0 .1 or the broadcast */
	assert_int_equal(net_addr_get(dir, &np, "web", NULL, NULL, &a, &e), 0);
	assert_int_equal(a, 0x0a090002);
	assert_int_equal(net_addr_get(dir, &np, "web", NULL, NULL, &b, &e), 0);
	assert_int_equal(a, b);
	const char *names[] = { "b", "c", "d", "gone" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		assert_int_equal(net_addr_get(dir, &np, names[i], NULL, NULL, &c, &e), 0);
	assert_int_equal(c, 0x0a090006);
	/* full: .2 to .6 taken */
	assert_int_equal(net_addr_get(dir, &np, "late", NULL, NULL, &c, &e), -ENOSPC);
	assert_non_null(strstr(e.msg, "ISC late: no free address in the range 10.9.0.0/29"));
	/* an ISC that exists no more is reclaimed */
	assert_int_equal(net_addr_get(dir, &np, "late", exists_but_gone, NULL, &c, &e), 0);
	assert_int_equal(c, 0x0a090006);
	/* released at destroy: the lowest is free again */
	assert_int_equal(net_addr_release(dir, "web", &e), 0);
	assert_int_equal(net_addr_release(dir, "web", &e), 0);
	assert_int_equal(net_addr_get(dir, &np, "new", NULL, NULL, &c, &e), 0);
	assert_int_equal(c, 0x0a090002);
	close(dir);
	tmpdir_remove(d);
}

static void test_addrs_parse(void **state)
{
	struct net_alloc a[4];
	(void)state;
	/* lines that do not parse are dropped */
	int n = net_addrs_parse("web 10.0.0.2\nbad\n-x 10.0.0.3\nok 10.0.0.4\nz 10.0.0.0/8\n", a, 4);
	assert_int_equal(n, 2);
	assert_string_equal(a[1].name, "ok");
	struct net_pool np = { .base = 0x0a000000, .len = 29 };
	struct net_alloc used[] = { { "a", 0x0a000002 }, { "b", 0x0a000004 } };
	assert_int_equal(net_addr_pick(&np, used, 2), 0x0a000003);
}

static struct net_isc sample(const char *name, uint32_t addr)
{
	struct net_isc n = { 0 };
	snprintf(n.name, sizeof(n.name), "%s", name);
	snprintf(n.bridge, sizeof(n.bridge), "isc0");
	n.addr = addr;
	n.len = 16;
	n.gw = 0x0a4d0001;
	net_isc_derive(&n);
	return n;
}

static void test_record(void **state)
{
	(void)state;
	struct net_isc n = sample("web-1", 0x0a4d0002), m;
	struct isc_err e = { 0 };
	assert_string_equal(n.veth, "iscv0a4d0002");
	assert_int_equal(n.mac[0], 0x02);
	assert_int_equal(net_egress_parse("tcp:10.0.0.0/8:443", &n.egress, &e), 0);
	assert_int_equal(net_expose_parse("tcp:18080:80@10.0.0.0/8", &n.expose[0], &e), 0);
	n.nexpose = 1;
	n.cut = true;
	char *t = net_record_dump(&n);
	assert_int_equal(net_record_parse(t, &m, &e), 0);
	char *t2 = net_record_dump(&m);
	assert_string_equal(t, t2);
	assert_true(m.cut);
	free(t);
	free(t2);
	assert_int_equal(net_record_parse("name=x\n", &m, &e), -EINVAL);
	assert_int_equal(net_record_parse("name=x\nbridge=b\naddr=10.0.0.2/16\ngw=10.0.0.1\nbogus=1\n", &m, &e),
			 -EINVAL);
}

static void test_rules(void **state)
{
	(void)state;
	struct isc_err e = { 0 };
	struct net_isc n[2] = { sample("web", 0x0a4d0002), sample("db", 0x0a4d0003) };
	net_expose_parse("tcp:18080:80@10.1.0.0/16", &n[0].expose[0], &e);
	n[0].nexpose = 1;
	net_egress_parse("udp:10.0.0.0/8:53", &n[0].egress, &e);
	n[1].egress.kind = EGRESS_ALLOW;
	n[1].cut = true;
	struct net_counter keep[] = { { "inet a_web", 7, 700 } };
	char *t = net_rules_text(n, 2, keep, 1, &e);
	assert_non_null(t);
	static const char *const want[] = {
		"table inet isc {}\ndelete table inet isc\ntable bridge isc {}\ndelete table bridge isc\n",
		"counter a_web { packets 7 bytes 700 }",
		"counter x_web { packets 0 bytes 0 }",
		"elements = { 10.77.0.2 : jump o_web, 10.77.0.3 : jump o_db }",
		"elements = { tcp . 18080 : jump d_web }",
		"meta l4proto tcp th dport 18080 ip saddr 10.1.0.0/16 dnat ip to 10.77.0.2:80",
		"ct status dnat meta l4proto tcp th dport 80 counter name a_web accept",
		"meta l4proto udp ip daddr 10.0.0.0/8 th dport 53 ct state new counter name a_web accept",
		"chain o_db {\n\t\tct state established,related counter name a_db accept\n\t\tcounter name a_db accept",
		"set cut { type ipv4_addr; elements = { 10.77.0.3 } }",
		"ether saddr != 02:15:0a:4d:00:02 counter name x_web drop",
		"meta protocol ip ip saddr != 10.77.0.2 counter name x_web drop",
		"\"iscv0a4d0003\" : jump p_db",
		"set cut { type ifname; elements = { \"iscv0a4d0003\" } }",
		"type filter hook forward priority -10",
		"type nat hook prerouting priority dstnat",
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(t, want[i]))
			fail_msg("the script lacks '%s':\n%s", want[i], t);
	/* web's egress has no allow-all line; db's deny-all ends each chain */
	assert_null(strstr(t, "chain o_web {\n\t\tct state established,related counter name a_web accept\n"
			      "\t\tcounter name a_web accept"));
	free(t);
	/* nothing runs: the tables go */
	t = net_rules_text(n, 0, NULL, 0, &e);
	assert_string_equal(t, "table inet isc {}\ndelete table inet isc\ntable bridge isc {}\ndelete table bridge isc\n");
	free(t);
	/* two ISCs, one host port */
	n[1].expose[0] = n[0].expose[0];
	n[1].nexpose = 1;
	assert_null(net_rules_text(n, 2, NULL, 0, &e));
	assert_non_null(strstr(e.msg, "host port tcp:18080: claimed by ISC web and ISC db"));
}

/* IPv6: CIDRs, exposures --from and egress flows, the pool's range6, a
 * record with addr6, the rules of an ISC with IPv6 */
static void test_ipv6(void **state)
{
	(void)state;
	uint8_t a[16], l;
	struct isc_err e = { 0 };
	assert_int_equal(net_cidr6_parse("fd69:7363::/64", a, &l), 0);
	assert_int_equal(l, 64);
	assert_int_equal(a[0], 0xfd);
	assert_int_equal(net_cidr6_parse("2001:db8::1", a, &l), 0);
	assert_int_equal(l, 128);
	assert_int_equal(net_cidr6_parse("::/0", a, &l), 0);
	static const char *const bad[] = { "fd00::1/64", "fd00::/129", "fd00:::/64", "fd00::/", "fd00::/064",
					   "10.0.0.0/8", "fe80::1%eth0", "::ffff:1.2.3.4/96/1", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (net_cidr6_parse(bad[i], a, &l) == 0)
			fail_msg("'%s' parsed as an IPv6 CIDR", bad[i]);
	/* expose --from an IPv6 prefix, round trip */
	struct net_expose x;
	char out[128];
	assert_int_equal(net_expose_parse("tcp:18080:80@2001:db8::/32", &x, &e), 0);
	assert_true(x.from6);
	assert_int_equal(x.from_len, 32);
	net_expose_format(&x, out, sizeof(out));
	assert_string_equal(out, "tcp:18080:80@2001:db8::/32");
	assert_int_equal(net_expose_parse("tcp:18080:80@2001:db8::1/32", &x, &e), -EINVAL);
	assert_int_equal(net_expose_parse("tcp:18080:80@::/0", &x, &e), -EINVAL);   /* say nothing instead */
	/* egress flows, bracketed or not; canonical with brackets */
	struct net_egress g;
	assert_int_equal(net_egress_parse("tcp:[2001:db8::/32]:443,udp:[fd00::53]:53,tcp:10.0.0.0/8:80", &g, &e), 0);
	assert_int_equal(g.n, 3);
	assert_true(g.flow[0].v6 && g.flow[1].v6 && !g.flow[2].v6);
	assert_int_equal(g.flow[1].len, 128);
	char eg[512];
	net_egress_format(&g, eg, sizeof(eg));
	assert_string_equal(eg, "tcp:[2001:db8::/32]:443,udp:[fd00::53/128]:53,tcp:10.0.0.0/8:80");
	struct net_egress g2;
	assert_int_equal(net_egress_parse(eg, &g2, &e), 0);
	assert_memory_equal(g.flow[0].addr6, g2.flow[0].addr6, 16);
	assert_int_equal(net_egress_parse("tcp:[fd00::/64:80", &g, &e), -EINVAL);
	assert_int_equal(net_egress_parse("tcp:fd00::1:53", &g, &e), -EINVAL);     /* brackets, always */
	assert_int_equal(net_egress_parse("tcp:[1.2.3.4/32]:80", &g, &e), -EINVAL); /* and only for IPv6 */
	assert_int_equal(net_expose_parse("tcp:18080:80@0.0.0.0/0", &x, &e), -EINVAL);
	/* the pool: range6, an ISC's address from its IPv4 host number */
	char *dir = tmpdir_make_named("isc-net6-test");
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	struct net_pool np;
	assert_int_equal(net_pool_load(fd, &np, &e), 0);
	assert_true(np.v6);
	assert_int_equal(np.len6, 64);
	assert_int_equal(net_pool_set(fd, "range6=fd00:1:2::/48", &e), 0);
	assert_int_equal(net_pool_set(fd, "range6=fd00::/97", &e), -EINVAL);
	assert_int_equal(net_pool_set(fd, "range6=10.0.0.0/8", &e), -EINVAL);
	assert_int_equal(net_pool_set(fd, "range6=fe80::/64", &e), -EINVAL);      /* link-local */
	assert_int_equal(net_pool_set(fd, "range6=ff05::/64", &e), -EINVAL);      /* multicast */
	assert_int_equal(net_pool_set(fd, "range6=::ffff:0:0/96", &e), -EINVAL);  /* IPv4-mapped */
	assert_non_null(strstr(e.msg, "not a unicast prefix"));
	assert_int_equal(net_pool_load(fd, &np, &e), 0);
	uint8_t six[16];
	char txt[NET_ADDR6_STRLEN];
	net_addr6_of(&np, np.base + 0x1234, six);
	net_addr6_format(six, txt, sizeof(txt));
	assert_string_equal(txt, "fd00:1:2::1234");
	assert_int_equal(net_pool_set(fd, "range6=none", &e), 0);
	assert_int_equal(net_pool_load(fd, &np, &e), 0);
	assert_false(np.v6);
	assert_int_equal(net_pool_set(fd, "range=10.9.0.0/24", &e), 0);   /* range6 stays none */
	assert_int_equal(net_pool_load(fd, &np, &e), 0);
	assert_false(np.v6);
	close(fd);
	tmpdir_remove(dir);
	/* a record with IPv6, round trip; and the rules */
	struct net_isc n = sample("web", 0x0a4d0002), m;
	n.v6 = true;
	n.len6 = 64;
	assert_int_equal(net_cidr6_parse("fd69:7363::2", n.addr6, &l), 0);
	assert_int_equal(net_cidr6_parse("fd69:7363::1", n.gw6, &l), 0);
	assert_int_equal(net_expose_parse("tcp:18080:80", &n.expose[0], &e), 0);
	assert_int_equal(net_expose_parse("tcp:18081:81@10.0.0.0/8", &n.expose[1], &e), 0);
	assert_int_equal(net_expose_parse("tcp:18082:82@fd00::/8", &n.expose[2], &e), 0);
	n.nexpose = 3;
	assert_int_equal(net_egress_parse("tcp:[::/0]:443,tcp:0.0.0.0/0:80", &n.egress, &e), 0);
	n.cut = true;
	char *t = net_record_dump(&n);
	assert_non_null(strstr(t, "addr6=fd69:7363::2/64\ngw6=fd69:7363::1\n"));
	assert_int_equal(net_record_parse(t, &m, &e), 0);
	assert_true(m.v6);
	assert_memory_equal(m.addr6, n.addr6, 16);
	free(t);
	assert_int_equal(net_record_parse("name=x\nbridge=b\naddr=10.0.0.2/16\ngw=10.0.0.1\naddr6=fd00::2/64\n",
					  &m, &e), -EINVAL);   /* no gw6 */
	struct net_isc both[2] = { n, sample("old", 0x0a4d0003) };
	t = net_rules_text(both, 2, NULL, 0, &e);
	assert_non_null(t);
	static const char *const want[] = {
		"map from_isc6 { type ipv6_addr : verdict; elements = { fd69:7363::2 : jump o_web } }",
		"map to_isc6 { type ipv6_addr : verdict; elements = { fd69:7363::2 : jump i_web } }",
		"set cut6 { type ipv6_addr; elements = { fd69:7363::2 } }",
		"meta nfproto ipv4 meta l4proto tcp th dport 18080 dnat ip to 10.77.0.2:80",
		"meta nfproto ipv6 meta l4proto tcp th dport 18080 dnat ip6 to [fd69:7363::2]:80",
		"meta nfproto ipv4 meta l4proto tcp th dport 18081 ip saddr 10.0.0.0/8 dnat ip to 10.77.0.2:81",
		"meta nfproto ipv6 meta l4proto tcp th dport 18082 ip6 saddr fd00::/8 dnat ip6 to [fd69:7363::2]:82",
		"meta nfproto ipv6 meta l4proto tcp th dport 443 ct state new",
		"meta nfproto ipv4 meta l4proto tcp th dport 80 ct state new",
		"meta protocol ip6 ip6 saddr != fd69:7363::2 counter name x_web drop",
		"icmpv6 type nd-neighbor-advert @th,64,128 != 0xfd697363000000000000000000000002 counter name x_web drop",
		"meta protocol { ip, arp, ip6 } return",
		"icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 length 32 @th,208,48 != 0x02150a4d0002",
		"icmpv6 type nd-neighbor-advert ip6 length 32 @th,192,16 != 0x0201",
		"icmpv6 type { nd-router-solicit, nd-router-advert, nd-redirect, router-renumbering }",
		"iifname @bridges ip6 saddr vmap @from_isc6",
		/* neighbour discovery with the gateway before any ISC's chain */
		"icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n\t\toifname @bridges ip daddr vmap",
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(t, want[i]))
			fail_msg("the script lacks '%s':\n%s", want[i], t);
	/* no IPv6 DNAT for a --from IPv4 exposure; an ISC without IPv6 only IPv4 and ARP */
	assert_null(strstr(t, "dport 18081 dnat ip6"));
	assert_null(strstr(t, "dport 18082 dnat ip to"));
	assert_non_null(strstr(t, "chain p_old {"));
	assert_non_null(strstr(strstr(t, "chain p_old {"), "meta protocol { ip, arp } return"));
	free(t);
	/* without any IPv6 ISC: empty IPv6 maps, which nft takes */
	t = net_rules_text(&both[1], 1, NULL, 0, &e);
	assert_non_null(strstr(t, "map from_isc6 { type ipv6_addr : verdict; }"));
	assert_null(strstr(t, "dnat ip6"));
	free(t);
}

static void test_counters(void **state)
{
	(void)state;
	const char *listing =
		"table inet filter {\n\tcounter other {\n\t\tpackets 1 bytes 2\n\t}\n}\n"
		"table inet isc {\n\tcounter a_web {\n\t\tpackets 5 bytes 300\n\t}\n"
		"\tcounter x_web {\n\t\tpackets 0 bytes 0\n\t}\n}\n"
		"table bridge isc {\n\tcounter x_web {\n\t\tpackets 9 bytes 99\n\t}\n}\n";
	struct net_counter c[8];
	size_t n = net_counters_parse(listing, c, 8);
	assert_int_equal(n, 3);
	assert_string_equal(c[0].name, "inet a_web");
	assert_int_equal(c[0].packets, 5);
	assert_string_equal(c[2].name, "bridge x_web");
	assert_int_equal(c[2].bytes, 99);
}

static void test_resolv(void **state)
{
	(void)state;
	char *r = net_resolv_make("# comment\nnameserver 127.0.0.53\nnameserver 10.0.0.1\n"
				  "search example.org\noptions edns0\nnameserver ::1\nnameserver 1.1.1.1\n"
				  "nameserver 8.8.8.8\nnameserver 9.9.9.9\nsearch \x1b[31mevil\n", false);
	assert_non_null(strstr(r, "nameserver 10.0.0.1\n"));
	assert_null(strstr(r, "127.0.0.53"));
	assert_null(strstr(r, "::1"));
	assert_null(strstr(r, "9.9.9.9"));   /* three at most, as the resolver reads */
	assert_non_null(strstr(r, "search example.org\n"));
	assert_null(strchr(r, '\x1b'));
	free(r);
	/* IPv6 nameservers only for an ISC with IPv6; never loopback or link-local */
	const char *six = "nameserver fe80::1\nnameserver ::1\nnameserver 2001:db8::53\nnameserver 10.0.0.1\n";
	r = net_resolv_make(six, false);
	assert_null(strstr(r, "2001:db8::53"));
	assert_non_null(strstr(r, "nameserver 10.0.0.1\n"));
	free(r);
	r = net_resolv_make(six, true);
	assert_non_null(strstr(r, "nameserver 2001:db8::53\n"));
	assert_null(strstr(r, "fe80"));
	assert_null(strstr(r, "::1\n"));
	free(r);
}

static void corpus_one(const char *file, const char *text, size_t len, bool pass)
{
	(void)len;
	int r = netspec_check(text);
	if (pass && r < 0)
		fail_msg("corpus pass/%s refused", file);
	if (!pass && r == 0)
		fail_msg("corpus fail/%s accepted", file);
}

static void test_corpus(void **state)
{
	(void)state;
	assert_true(corpus_each("netspec", "pass", corpus_one) >= 5);
	assert_true(corpus_each("netspec", "fail", corpus_one) >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expose_good), cmocka_unit_test(test_expose_bad),
		cmocka_unit_test(test_egress), cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_addr_store), cmocka_unit_test(test_addrs_parse),
		cmocka_unit_test(test_record), cmocka_unit_test(test_rules),
		cmocka_unit_test(test_counters), cmocka_unit_test(test_resolv),
		cmocka_unit_test(test_corpus), cmocka_unit_test(test_ipv6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
