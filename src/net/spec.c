/* spec.c - the text of expose and egress specs, net=, and an ISC's resolv.conf; pure, iscadm and iscd. */
#include "net.h"

#include <arpa/inet.h>

const char *net_proto_name(enum net_proto p)
{
	switch (p) {
	case NET_TCP: return "tcp";
	case NET_UDP: return "udp";
	}
	return "?";
}

static int proto_parse(const char *s, size_t n, enum net_proto *p)
{
	if (n == 3 && strncmp(s, "tcp", 3) == 0)
		*p = NET_TCP;
	else if (n == 3 && strncmp(s, "udp", 3) == 0)
		*p = NET_UDP;
	else
		return -EINVAL;
	return 0;
}

/* 1..65535, decimal digits only, no leading zero */
static int port_parse(const char *s, size_t n, uint16_t *port)
{
	unsigned v = 0;
	if (n == 0 || n > 5 || s[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int net_cidr_split(const char *s, char *buf, size_t n, unsigned max, unsigned *l)
{
	const char *slash = strchr(s, '/');
	size_t k = slash ? (size_t)(slash - s) : strlen(s);
	if (k == 0 || k >= n)
		return -EINVAL;
	memcpy(buf, s, k);
	buf[k] = '\0';
	*l = max;
	if (!slash)
		return 0;
	const char *d = slash + 1;
	size_t dn = strlen(d);
	if (dn == 0 || dn > 3 || strspn(d, "0123456789") != dn || (dn > 1 && d[0] == '0'))
		return -EINVAL;
	*l = (unsigned)atoi(d);
	return *l > max ? -EINVAL : 0;
}

int net_cidr_parse(const char *s, uint32_t *addr, uint8_t *len)
{
	char buf[32];
	unsigned l;
	/* inet_pton takes dotted quads only: no octal, hex or short forms */
	struct in_addr a;
	if (net_cidr_split(s, buf, sizeof(buf), 32, &l) < 0 || inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	uint32_t h = ntohl(a.s_addr);
	uint32_t mask = l ? ~0U << (32 - l) : 0;
	if (h & ~mask)
		return -EINVAL;   /* host bits set: say what you mean */
	*addr = h;
	*len = (uint8_t)l;
	return 0;
}

void net_addr_format(uint32_t addr, char *buf, size_t n)
{
	snprintf(buf, n, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
}

int net_cidr6_parse(const char *s, uint8_t addr[16], uint8_t *len)
{
	char buf[NET_ADDR6_STRLEN];
	unsigned l;
	if (net_cidr_split(s, buf, sizeof(buf), 128, &l) < 0)
		return -EINVAL;
	/* no zone (%eth0), no embedded IPv4 tricks beyond what inet_pton takes */
	struct in6_addr a;
	if (!strchr(buf, ':') || inet_pton(AF_INET6, buf, &a) != 1)
		return -EINVAL;
	for (unsigned bit = l; bit < 128; bit++)
		if (a.s6_addr[bit / 8] & (0x80 >> (bit % 8)))
			return -EINVAL;   /* host bits set */
	memcpy(addr, a.s6_addr, 16);
	*len = (uint8_t)l;
	return 0;
}

int net_cidr_any_parse(const char *s, bool *v6, uint32_t *addr, uint8_t addr6[16], uint8_t *len)
{
	*v6 = strchr(s, ':') != NULL;
	return *v6 ? net_cidr6_parse(s, addr6, len) : net_cidr_parse(s, addr, len);
}

void net_addr6_format(const uint8_t addr[16], char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN];
	if (!inet_ntop(AF_INET6, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, n, "%s", a);
}

static void cidr_format(uint32_t addr, uint8_t len, char *buf, size_t n)
{
	char a[16];
	net_addr_format(addr, a, sizeof(a));
	snprintf(buf, n, "%s/%u", a, len);
}

static void cidr6_format(const uint8_t *addr, uint8_t len, char *buf, size_t n)
{
	char a[NET_ADDR6_STRLEN];
	net_addr6_format(addr, a, sizeof(a));
	snprintf(buf, n, "%s/%u", a, len);
}

/* A spec is quoted in its refusal: one line, nothing a terminal acts on. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int net_expose_parse(const char *s, struct net_expose *x, struct isc_err *e)
{
	if (!printable(s))
		return err_set(e, EINVAL, "expose: a control or non-ASCII character in the spec");
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	const char *at = c2 ? strchr(c2 + 1, '@') : NULL;
	size_t len = strlen(s);
	*x = (struct net_expose){ 0 };
	if (len > 96 || !c1 || !c2)
		return err_set(e, EINVAL, "expose '%.64s': expected tcp|udp:HOSTPORT:PORT", s);
	if (proto_parse(s, (size_t)(c1 - s), &x->proto) < 0)
		return err_set(e, EINVAL, "expose '%s': unknown protocol '%.*s' (tcp or udp)", s,
			       (int)(c1 - s), s);
	const char *end = at ? at : s + len;
	if (port_parse(c1 + 1, (size_t)(c2 - c1 - 1), &x->host_port) < 0)
		return err_set(e, EINVAL, "expose '%s': host port '%.*s' is not 1 to 65535", s,
			       (int)(c2 - c1 - 1), c1 + 1);
	if (port_parse(c2 + 1, (size_t)(end - c2 - 1), &x->port) < 0)
		return err_set(e, EINVAL, "expose '%s': port '%.*s' is not 1 to 65535", s,
			       (int)(end - c2 - 1), c2 + 1);
	/* a /0 says nothing (and would read back as "anyone", both families) */
	if (at && (net_cidr_any_parse(at + 1, &x->from6, &x->from, x->from_a6, &x->from_len) < 0 ||
		   !x->from_len))
		return err_set(e, EINVAL, "expose '%s': bad CIDR '%s' (a.b.c.d/len or x:x::x/len, host bits "
			       "zero)", s, at + 1);
	return 0;
}

void net_expose_format(const struct net_expose *x, char *buf, size_t n)
{
	char from[64] = "";
	if (x->from6) {
		from[0] = '@';
		cidr6_format(x->from_a6, x->from_len, from + 1, sizeof(from) - 1);
	} else if (x->from_len || x->from) {
		from[0] = '@';
		cidr_format(x->from, x->from_len, from + 1, sizeof(from) - 1);
	}
	snprintf(buf, n, "%s:%u:%u%s", net_proto_name(x->proto), x->host_port, x->port, from);
}

static int flow_parse(const char *s, size_t n, struct net_flow *f, struct isc_err *e)
{
	char item[96];
	if (n == 0)
		return err_set(e, EINVAL, "egress: empty item");
	if (n >= sizeof(item))
		return err_set(e, EINVAL, "egress item '%.40s...': too long", s);
	memcpy(item, s, n);
	item[n] = '\0';
	char *c1 = strchr(item, ':'), *c2 = c1 ? strrchr(item, ':') : NULL;
	if (!c1 || c2 == c1)
		return err_set(e, EINVAL, "egress item '%s': expected tcp|udp:CIDR:PORT", item);
	if (proto_parse(item, (size_t)(c1 - item), &f->proto) < 0)
		return err_set(e, EINVAL, "egress item '%s': unknown protocol '%.*s' (tcp or udp)", item,
			       (int)(c1 - item), item);
	*c2 = '\0';
	/* an IPv6 CIDR stands in brackets, tcp:[2001:db8::/32]:443 (so that
	 * tcp:fd00::1:53 is never read one way when meant the other); an
	 * IPv4 one does not */
	char *cidr = c1 + 1;
	size_t cn = strlen(cidr);
	bool bracketed = cn >= 2 && cidr[0] == '[' && cidr[cn - 1] == ']';
	if (bracketed) {
		cidr[cn - 1] = '\0';
		cidr++;
	}
	if (net_cidr_any_parse(cidr, &f->v6, &f->addr, f->addr6, &f->len) < 0 || f->v6 != bracketed)
		return err_set(e, EINVAL, "egress item '%s:%s': bad CIDR '%s' (a.b.c.d/len or "
			       "[x:x::x/len], host bits zero)", item, c2 + 1, cidr);
	if (port_parse(c2 + 1, strlen(c2 + 1), &f->port) < 0)
		return err_set(e, EINVAL, "egress item '%s:%s': port '%s' is not 1 to 65535", item, c2 + 1,
			       c2 + 1);
	return 0;
}

int net_egress_parse(const char *s, struct net_egress *g, struct isc_err *e)
{
	memset(g, 0, sizeof(*g));
	if (STREQ(s, "deny") || STREQ(s, "allow")) {
		g->kind = STREQ(s, "deny") ? EGRESS_DENY : EGRESS_ALLOW;
		return 0;
	}
	if (!*s)
		return err_set(e, EINVAL, "egress: empty (deny, allow, or tcp|udp:CIDR:PORT,...)");
	if (!printable(s))
		return err_set(e, EINVAL, "egress: a control or non-ASCII character in the spec");
	g->kind = EGRESS_LIST;
	for (const char *p = s;;) {
		size_t n = strcspn(p, ",");
		if (g->n == NET_MAX_EGRESS)
			return err_set(e, E2BIG, "egress: at most %d flows", NET_MAX_EGRESS);
		int r = flow_parse(p, n, &g->flow[g->n], e);
		if (r < 0)
			return r;
		g->n++;
		if (!p[n])
			break;
		p += n + 1;
	}
	return 0;
}

void net_egress_format(const struct net_egress *g, char *buf, size_t n)
{
	size_t at = 0;
	buf[0] = '\0';
	if (g->kind != EGRESS_LIST) {
		snprintf(buf, n, "%s", g->kind == EGRESS_DENY ? "deny" : "allow");
		return;
	}
	for (size_t i = 0; i < g->n && at < n; i++) {
		char c[64];
		if (g->flow[i].v6) {
			c[0] = '[';
			cidr6_format(g->flow[i].addr6, g->flow[i].len, c + 1, sizeof(c) - 2);
			strcat(c, "]");
		} else {
			cidr_format(g->flow[i].addr, g->flow[i].len, c, sizeof(c));
		}
		at += (size_t)snprintf(buf + at, n - at, "%s%s:%s:%u", i ? "," : "",
				       net_proto_name(g->flow[i].proto), c, g->flow[i].port);
	}
}

int net_mode_parse(const char *s, enum net_mode *m)
{
	if (STREQ(s, "none"))
		*m = NET_NONE;
	else if (STREQ(s, "bridge"))
		*m = NET_BRIDGE;
	else
		return -EINVAL;
	return 0;
}

const char *net_mode_name(enum net_mode m)
{
	return m == NET_BRIDGE ? "bridge" : "none";
}

/* A nameserver an ISC reaches through the host: not loopback (a stub
 * resolver on the host, 127.0.0.53, is not reachable from inside); IPv6
 * only where the ISC has it, and not link-local (that needs the host's
 * interface) nor multicast. */
static bool ns_usable(const char *a, bool v6)
{
	uint32_t addr;
	uint8_t len, a6[16];
	static const uint8_t any[16], loop[16] = { [15] = 1 };
	if (strchr(a, ':'))
		return v6 && net_cidr6_parse(a, a6, &len) == 0 && len == 128 && memcmp(a6, any, 16) &&
		       memcmp(a6, loop, 16) && !(a6[0] == 0xfe && (a6[1] & 0xc0) == 0x80) && a6[0] != 0xff;
	return net_cidr_parse(a, &addr, &len) == 0 && len == 32 && (addr >> 24) != 127 && addr != 0;
}

char *net_resolv_make(const char *host, bool v6)
{
	char *out = NULL;
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);
	if (!f)
		return NULL;
	fputs("# written by isc from the host's resolv.conf\n", f);
	int ns = 0, lines = 0;
	for (const char *p = host; *p && lines < 64;) {
		size_t n = strcspn(p, "\n");
		char line[256], word[16], arg[240];
		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			if (sscanf(line, "%15s %239s", word, arg) == 2) {
				bool printable = true;
				for (const char *c = line; *c; c++)
					printable &= (unsigned char)*c >= ' ' && *c != 0x7f;
				if (STREQ(word, "nameserver") && ns < 3 && ns_usable(arg, v6)) {
					fprintf(f, "nameserver %s\n", arg);
					ns++;
				} else if (printable && (STREQ(word, "search") || STREQ(word, "options"))) {
					fprintf(f, "%s\n", line);
				}
			}
			lines++;
		}
		p += n + (p[n] == '\n');
	}
	fclose(f);
	return out;
}
