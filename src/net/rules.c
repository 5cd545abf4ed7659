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
		char a[16];
		addr_s(fl->addr, a);
		fprintf(f, "\t\tmeta l4proto %s ", l4(fl->proto));
		if (fl->len)
			fprintf(f, "ip daddr %s/%u ", a, fl->len);
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

static void chain_dnat(FILE *f, const struct net_isc *n)
{
	char a[16], from[16];
	addr_s(n->addr, a);
	fprintf(f, "\tchain d_%s {\n", n->name);
	for (size_t i = 0; i < n->nexpose; i++) {
		const struct net_expose *x = &n->expose[i];
		fprintf(f, "\t\tmeta l4proto %s th dport %u ", l4(x->proto), x->host_port);
		if (x->from_len) {
			addr_s(x->from, from);
			fprintf(f, "ip saddr %s/%u ", from, x->from_len);
		}
		fprintf(f, "dnat ip to %s:%u\n", a, x->port);
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

static void inet_table(FILE *f, const struct net_isc *n, size_t count, const struct net_counter *keep,
		       size_t nkeep)
{
	char a[16];
	fprintf(f, "table inet isc {\n\tset bridges { type ifname; elements = { ");
	for (size_t i = 0; i < count; i++) {
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			seen |= STREQ(n[j].bridge, n[i].bridge);
		if (!seen)
			fprintf(f, "%s\"%s\"", i ? ", " : "", n[i].bridge);
	}
	fprintf(f, " } }\n\tset cut { type ipv4_addr; ");
	size_t ncut = 0;
	for (size_t i = 0; i < count; i++)
		if (n[i].cut) {
			addr_s(n[i].addr, a);
			fprintf(f, "%s%s", ncut++ ? ", " : "elements = { ", a);
		}
	fprintf(f, "%s}\n", ncut ? " } " : "");
	const char *maps[] = { "from_isc", "to_isc" };
	for (size_t m = 0; m < 2; m++) {
		fprintf(f, "\tmap %s { type ipv4_addr : verdict; elements = { ", maps[m]);
		for (size_t i = 0; i < count; i++) {
			addr_s(n[i].addr, a);
			fprintf(f, "%s%s : jump %c_%s", i ? ", " : "", a, m ? 'i' : 'o', n[i].name);
		}
		fprintf(f, " } }\n");
	}
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
	      "\t\tiifname @bridges ip saddr vmap @from_isc\n\t\toifname @bridges ip daddr vmap @to_isc\n"
	      "\t\tiifname @bridges drop\n\t\toifname @bridges drop\n\t}\n"
	      /* the host's own services are not an ISC's to reach */
	      "\tchain input {\n\t\ttype filter hook input priority -10; policy accept;\n"
	      "\t\tiifname @bridges ip saddr @cut drop\n"
	      "\t\tiifname @bridges ct state established,related accept\n\t\tiifname @bridges drop\n\t}\n"
	      /* the host reaches an ISC through an exposure only (127.0.0.1:PORT);
	       * a cut one not at all: by address, since a packet DNATed from
	       * 127.0.0.1 still names lo as its interface in this hook */
	      "\tchain output {\n\t\ttype filter hook output priority -10; policy accept;\n"
	      "\t\tip daddr @cut drop\n"
	      "\t\toifname @bridges ip daddr vmap @to_isc\n\t\toifname @bridges drop\n\t}\n"
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

/* Layer 2: each ISC's port sends only from its MAC and address (and only
 * IPv4 and ARP); nothing is bridged from one ISC to another. */
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
			"\t\tmeta protocol arp arp saddr ip != %s counter name x_%s drop\n"
			"\t\tmeta protocol { ip, arp } return\n"
			"\t\tcounter name x_%s drop\n\t}\n", nm, m, nm, a, nm, m, nm, a, nm, nm);
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
