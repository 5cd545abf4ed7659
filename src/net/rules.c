/* rules.c - isc's nftables tables as one nft script, from the records of running ISCs; pure text, iscd and iscadm.
 *
 * Layout and priorities: docs/net.md.  Every chain, counter and map
 * element of an ISC carries its name (o_NAME, i_NAME, d_NAME, p_NAME,
 * a_NAME, x_NAME), so "nft list ruleset" shows what belongs to whom. */
#include "net.h"

#include <inttypes.h>

static void addr_s(uint32_t a, char *buf)
{
	net_addr_format(a, buf, 16);
}

static void addr6_s(const uint8_t *a, char *buf)
{
	net_addr6_format(a, buf, NET_ADDR6_STRLEN);
}

static void mac_s(const uint8_t *m, char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void counter_decl(FILE *f, const char *fam, char kind, const char *name,
			 const struct net_counter *keep, size_t nkeep)
{
	char want[80];
	uint64_t p = 0, b = 0;
	snprintf(want, sizeof(want), "%s %c_%s", fam, kind, name);
	for (size_t i = 0; i < nkeep; i++)
		if (STREQ(keep[i].name, want)) {
			p = keep[i].packets;
			b = keep[i].bytes;
		}
	fprintf(f, "\tcounter %c_%s { packets %" PRIu64 " bytes %" PRIu64 " }\n", kind, name, p, b);
}

static const char *l4(enum net_proto p)
{
	return p == NET_UDP ? "udp" : "tcp";
}

/* From the ISC: replies to what reached it, then what its egress allows. */
static void chain_out(FILE *f, const struct net_isc *n)
{
	const char *nm = n->name;
	fprintf(f, "\tchain o_%s {\n\t\tct state established,related counter name a_%s accept\n", nm, nm);
	if (n->egress.kind == EGRESS_ALLOW)
		fprintf(f, "\t\tcounter name a_%s accept\n", nm);
	for (size_t i = 0; n->egress.kind == EGRESS_LIST && i < n->egress.n; i++) {
		const struct net_flow *fl = &n->egress.flow[i];
		char a[NET_ADDR6_STRLEN];
		if (fl->v6 && !n->v6)
			continue;
		if (fl->v6)
			addr6_s(fl->addr6, a);
		else
			addr_s(fl->addr, a);
		/* the family always: 0.0.0.0/0 is every IPv4 address, not IPv6 */
		fprintf(f, "\t\tmeta nfproto %s meta l4proto %s ", fl->v6 ? "ipv6" : "ipv4", l4(fl->proto));
		if (fl->len)
			fprintf(f, "%s daddr %s/%u ", fl->v6 ? "ip6" : "ip", a, fl->len);
		fprintf(f, "th dport %u ct state new counter name a_%s accept\n", fl->port, nm);
	}
	fprintf(f, "\t\tcounter name x_%s drop\n\t}\n", nm);
}

/* To the ISC: replies, and what an exposure DNATed to it; nothing else. */
static void chain_in(FILE *f, const struct net_isc *n)
{
	const char *nm = n->name;
	fprintf(f, "\tchain i_%s {\n\t\tct state established,related counter name a_%s accept\n", nm, nm);
	for (size_t i = 0; i < n->nexpose; i++)
		fprintf(f, "\t\tct status dnat meta l4proto %s th dport %u counter name a_%s accept\n",
			l4(n->expose[i].proto), n->expose[i].port, nm);
	fprintf(f, "\t\tcounter name x_%s drop\n\t}\n", nm);
}

/* Each exposure for IPv4, and for IPv6 where the ISC has it; a --from
 * CIDR limits it to its family. */
static void chain_dnat(FILE *f, const struct net_isc *n)
{
	char a[16], a6[NET_ADDR6_STRLEN], from[NET_ADDR6_STRLEN];
	addr_s(n->addr, a);
	addr6_s(n->addr6, a6);
	fprintf(f, "\tchain d_%s {\n", n->name);
	for (size_t i = 0; i < n->nexpose; i++) {
		const struct net_expose *x = &n->expose[i];
		if (!x->from6) {
			fprintf(f, "\t\tmeta nfproto ipv4 meta l4proto %s th dport %u ", l4(x->proto), x->host_port);
			if (x->from_len) {
				addr_s(x->from, from);
				fprintf(f, "ip saddr %s/%u ", from, x->from_len);
			}
			fprintf(f, "dnat ip to %s:%u\n", a, x->port);
		}
		if (n->v6 && (x->from6 || !x->from_len)) {
			fprintf(f, "\t\tmeta nfproto ipv6 meta l4proto %s th dport %u ", l4(x->proto), x->host_port);
			if (x->from6) {
				addr6_s(x->from_a6, from);
				fprintf(f, "ip6 saddr %s/%u ", from, x->from_len);
			}
			fprintf(f, "dnat ip6 to [%s]:%u\n", a6, x->port);
		}
	}
	fprintf(f, "\t}\n");
}

/* Two ISCs cannot claim one host port (nor one ISC twice). */
static int ports_check(const struct net_isc *n, size_t count, struct isc_err *e)
{
	for (size_t i = 0; i < count; i++)
		for (size_t j = 0; j < n[i].nexpose; j++)
			for (size_t k = i; k < count; k++)
				for (size_t l = k == i ? j + 1 : 0; l < n[k].nexpose; l++)
					if (n[i].expose[j].proto == n[k].expose[l].proto &&
					    n[i].expose[j].host_port == n[k].expose[l].host_port)
						return err_set(e, EADDRINUSE, "host port %s:%u: claimed by ISC %s "
							       "and ISC %s", l4(n[i].expose[j].proto),
							       n[i].expose[j].host_port, n[i].name, n[k].name);
	return 0;
}

/* set NAME { type T; elements = { ... } } of the ISCs that pass, or a
 * verdict map to their chains (kind 'o' or 'i'); no elements, no list */
static void addr_set(FILE *f, const char *decl, const struct net_isc *n, size_t count, bool v6,
		     bool cut_only, char kind)
{
	char a[NET_ADDR6_STRLEN];
	size_t k = 0;
	fprintf(f, "\t%s { type %s%s; ", decl, v6 ? "ipv6_addr" : "ipv4_addr", kind ? " : verdict" : "");
	for (size_t i = 0; i < count; i++) {
		if ((v6 && !n[i].v6) || (cut_only && !n[i].cut))
			continue;
		if (v6)
			addr6_s(n[i].addr6, a);
		else
			addr_s(n[i].addr, a);
		fprintf(f, "%s%s", k++ ? ", " : "elements = { ", a);
		if (kind)
			fprintf(f, " : jump %c_%s", kind, n[i].name);
	}
	fprintf(f, "%s}\n", k ? " } " : "");
}

static void inet_table(FILE *f, const struct net_isc *n, size_t count, const struct net_counter *keep,
		       size_t nkeep)
{
	fprintf(f, "table inet isc {\n\tset bridges { type ifname; elements = { ");
	for (size_t i = 0; i < count; i++) {
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= STREQ(n[j].bridge, n[i].bridge);
		if (!seen)
			fprintf(f, "%s\"%s\"", i ? ", " : "", n[i].bridge);
	}
	fprintf(f, " } }\n");
	addr_set(f, "set cut", n, count, false, true, 0);
	addr_set(f, "set cut6", n, count, true, true, 0);
	addr_set(f, "map from_isc", n, count, false, false, 'o');
	addr_set(f, "map to_isc", n, count, false, false, 'i');
	addr_set(f, "map from_isc6", n, count, true, false, 'o');
	addr_set(f, "map to_isc6", n, count, true, false, 'i');
	fprintf(f, "\tmap expose { type inet_proto . inet_service : verdict; ");
	size_t nx = 0;
	for (size_t i = 0; i < count; i++)
		for (size_t j = 0; j < n[i].nexpose; j++)
			fprintf(f, "%s%s . %u : jump d_%s", nx++ ? ", " : "elements = { ", l4(n[i].expose[j].proto),
				n[i].expose[j].host_port, n[i].name);
	fprintf(f, "%s}\n", nx ? " } " : "");
	for (size_t i = 0; i < count; i++) {
		counter_decl(f, "inet", 'a', n[i].name, keep, nkeep);
		counter_decl(f, "inet", 'x', n[i].name, keep, nkeep);
		chain_out(f, &n[i]);
		chain_in(f, &n[i]);
		chain_dnat(f, &n[i]);
	}
	/* filter: before a host firewall's (priority 0) so a cut or a drop
	 * of ours comes first; a cut ISC's packets drop before any
	 * established accept, so its open connections stop too */
	fputs("\tchain forward {\n\t\ttype filter hook forward priority -10; policy accept;\n"
	      "\t\tiifname @bridges ip saddr @cut drop\n\t\toifname @bridges ip daddr @cut drop\n"
	      "\t\tiifname @bridges ip6 saddr @cut6 drop\n\t\toifname @bridges ip6 daddr @cut6 drop\n"
	      /* from a bridge to a bridge is one ISC to another through the
	       * host's routing: only what an exposure DNATed (another ISC's
	       * exposure, which its egress must allow), never directly */
	      "\t\tiifname @bridges oifname @bridges ct status & dnat == 0 drop\n"
	      "\t\tiifname @bridges ip saddr vmap @from_isc\n\t\toifname @bridges ip daddr vmap @to_isc\n"
	      "\t\tiifname @bridges ip6 saddr vmap @from_isc6\n\t\toifname @bridges ip6 daddr vmap @to_isc6\n"
	      "\t\tiifname @bridges drop\n\t\toifname @bridges drop\n\t}\n"
	      /* the host's own services are not an ISC's to reach; neighbour
	       * discovery with the gateway is (hop limit 255: from the link) */
	      "\tchain input {\n\t\ttype filter hook input priority -10; policy accept;\n"
	      "\t\tiifname @bridges ip saddr @cut drop\n\t\tiifname @bridges ip6 saddr @cut6 drop\n"
	      "\t\tiifname @bridges icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 "
	      "accept\n"
	      "\t\tiifname @bridges ct state established,related accept\n\t\tiifname @bridges drop\n\t}\n"
	      /* the host reaches an ISC through an exposure only (127.0.0.1:PORT);
	       * a cut one not at all: by address, since a packet DNATed from
	       * 127.0.0.1 still names lo as its interface in this hook */
	      "\tchain output {\n\t\ttype filter hook output priority -10; policy accept;\n"
	      "\t\tip daddr @cut drop\n\t\tip6 daddr @cut6 drop\n"
	      "\t\toifname @bridges icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n"
	      "\t\toifname @bridges ip daddr vmap @to_isc\n\t\toifname @bridges ip6 daddr vmap @to_isc6\n"
	      "\t\toifname @bridges drop\n\t}\n"
	      /* exposures: to the host's own addresses, from outside and from the host */
	      "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
	      "\t\tfib daddr type local meta l4proto . th dport vmap @expose\n\t}\n"
	      "\tchain output_nat {\n\t\ttype nat hook output priority -100; policy accept;\n"
	      "\t\tfib daddr type local meta l4proto . th dport vmap @expose\n\t}\n"
	      /* 127.0.0.1 as the source of an exposure's connection means
	       * nothing in the ISC: the bridge's address instead; egress
	       * leaves with the host's address */
	      "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	      "\t\toifname @bridges ip saddr 127.0.0.0/8 masquerade\n"
	      "\t\tiifname @bridges oifname != @bridges masquerade\n\t}\n}\n", f);
}

/* Layer 2: each ISC's port sends only from its MAC and addresses (and only
 * IPv4, ARP and, where it has it, IPv6: no router advertisement or
 * redirect, no neighbour advertisement for another's address); nothing is
 * bridged from one ISC to another. */
static void bridge_table(FILE *f, const struct net_isc *n, size_t count, const struct net_counter *keep,
			 size_t nkeep)
{
	char a[16], m[18];
	fprintf(f, "table bridge isc {\n\tmap ports { type ifname : verdict; elements = { ");
	for (size_t i = 0; i < count; i++)
		fprintf(f, "%s\"%s\" : jump p_%s", i ? ", " : "", n[i].veth, n[i].name);
	fprintf(f, " } }\n\tset cut { type ifname; ");
	size_t ncut = 0;
	for (size_t i = 0; i < count; i++)
		if (n[i].cut)
			fprintf(f, "%s\"%s\"", ncut++ ? ", " : "elements = { ", n[i].veth);
	fprintf(f, "%s}\n", ncut ? " } " : "");
	for (size_t i = 0; i < count; i++) {
		const char *nm = n[i].name;
		addr_s(n[i].addr, a);
		mac_s(n[i].mac, m);
		counter_decl(f, "bridge", 'x', nm, keep, nkeep);
		fprintf(f, "\tchain p_%s {\n"
			"\t\tether saddr != %s counter name x_%s drop\n"
			"\t\tmeta protocol ip ip saddr != %s counter name x_%s drop\n"
			"\t\tmeta protocol arp arp saddr ether != %s counter name x_%s drop\n"
			"\t\tmeta protocol arp arp saddr ip != %s counter name x_%s drop\n",
			nm, m, nm, a, nm, m, nm, a, nm);
		if (n[i].v6) {
			char a6[NET_ADDR6_STRLEN], hex[33], mhex[13];
			addr6_s(n[i].addr6, a6);
			for (int b = 0; b < 16; b++)
				snprintf(hex + 2 * b, 3, "%02x", n[i].addr6[b]);
			for (int b = 0; b < 6; b++)
				snprintf(mhex + 2 * b, 3, "%02x", n[i].mac[b]);
			/* Multicast listener messages (the kernel sends its reports
			 * from ::, having no link-local address) go uncounted: noise,
			 * and the bridge's snooping table is not an ISC's to fill.
			 * ICMPv6 in fragments is dropped: the host's conntrack would
			 * reassemble a fragmented advertisement whose first piece
			 * hides the target from the checks below (58: ICMPv6, by
			 * number, since a name needs /etc/protocols).
			 * Neighbour discovery is the IPv6 ARP, held to what ARP is:
			 * an advertisement's target (bits 64-191 of the ICMPv6
			 * message) is its own address, and a solicitation or
			 * advertisement carries no option but its own link-layer
			 * address (source for one, target for the other: type 1 or 2,
			 * length 1, then the MAC), so it cannot point the host's
			 * neighbour entry for its address at another ISC's port.
			 * Router solicitations, advertisements, redirects and router
			 * renumbering are not an ISC's to send. */
			fprintf(f, "\t\tmeta protocol ip6 icmpv6 type { mld-listener-query, mld-listener-report, "
				"mld2-listener-report, mld-listener-done } drop\n"
				"\t\tmeta protocol ip6 ip6 saddr != %s counter name x_%s drop\n"
				"\t\tmeta protocol ip6 exthdr frag exists meta l4proto 58 counter name x_%s drop\n"
				"\t\tmeta protocol ip6 icmpv6 type { nd-router-solicit, nd-router-advert, nd-redirect, "
				"router-renumbering } counter name x_%s drop\n"
				"\t\tmeta protocol ip6 icmpv6 type nd-neighbor-advert @th,64,128 != 0x%s "
				"counter name x_%s drop\n"
				"\t\tmeta protocol ip6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } "
				"ip6 length != { 24, 32 } counter name x_%s drop\n"
				"\t\tmeta protocol ip6 icmpv6 type nd-neighbor-solicit ip6 length 32 @th,192,16 != 0x0101 "
				"counter name x_%s drop\n"
				"\t\tmeta protocol ip6 icmpv6 type nd-neighbor-advert ip6 length 32 @th,192,16 != 0x0201 "
				"counter name x_%s drop\n"
				"\t\tmeta protocol ip6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 length 32 "
				"@th,208,48 != 0x%s counter name x_%s drop\n"
				"\t\tmeta protocol { ip, arp, ip6 } return\n",
				a6, nm, nm, nm, hex, nm, nm, nm, nm, mhex, nm);
		} else {
			fprintf(f, "\t\tmeta protocol { ip, arp } return\n");
		}
		fprintf(f, "\t\tcounter name x_%s drop\n\t}\n", nm);
	}
	fputs("\tchain prerouting {\n\t\ttype filter hook prerouting priority -10; policy accept;\n"
	      "\t\tiifname @cut drop\n\t\tiifname vmap @ports\n\t}\n"
	      "\tchain forward {\n\t\ttype filter hook forward priority -10; policy accept;\n"
	      "\t\tiifname \"" NET_VETH_PREFIX "*\" drop\n\t\toifname \"" NET_VETH_PREFIX "*\" drop\n\t}\n"
	      "\tchain output {\n\t\ttype filter hook output priority -10; policy accept;\n"
	      "\t\toifname @cut drop\n\t}\n}\n", f);
}

char *net_rules_text(const struct net_isc *n, size_t count, const struct net_counter *keep,
		     size_t nkeep, struct isc_err *e)
{
	if (ports_check(n, count, e) < 0)
		return NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f) {
		err_set(e, ENOMEM, "nft script");
		return NULL;
	}
	/* add, delete, add: one transaction that replaces whatever was there
	 * (or nothing), and never touches another table */
	fputs("table inet isc {}\ndelete table inet isc\ntable bridge isc {}\ndelete table bridge isc\n", f);
	if (count) {
		inet_table(f, n, count, keep, nkeep);
		bridge_table(f, n, count, keep, nkeep);
	}
	fclose(f);
	return out;
}

size_t net_counters_parse(const char *text, struct net_counter *c, size_t max)
{
	size_t n = 0;
	char fam[16] = "", name[64] = "";
	for (const char *p = text; *p && n < max;) {
		size_t k = strcspn(p, "\n");
		char line[256], w1[32], w2[64];
		unsigned long long pk, by;
		if (k < sizeof(line)) {
			memcpy(line, p, k);
			line[k] = '\0';
			if (sscanf(line, " table %31s %63s", w1, w2) == 2)
				snprintf(fam, sizeof(fam), "%s", STREQ(w2, "isc") ? w1 : "");
			else if (sscanf(line, " counter %63s", w2) == 1)
				snprintf(name, sizeof(name), "%s", w2);
			else if (*fam && *name && sscanf(line, " packets %llu bytes %llu", &pk, &by) == 2) {
				snprintf(c[n].name, sizeof(c[n].name), "%s %s", fam, name);
				c[n].packets = pk;
				c[n].bytes = by;
				n++;
				name[0] = '\0';
			}
		}
		p += k + (p[k] == '\n');
	}
	return n;
}
