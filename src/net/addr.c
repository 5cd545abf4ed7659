/* addr.c - the pool's network settings and its address store (pool/net/addrs under a flock); iscd, iscadm. */
#include "net.h"

#include <fcntl.h>
#include <sys/file.h>

static bool ifname_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	/* never one of ours for veths, and never a name the kernel reserves */
	return s[0] >= 'a' && s[0] <= 'z' && !str_has_prefix(s, NET_VETH_PREFIX) && !STREQ(s, "lo");
}

/* One setting into np; -EINVAL with e naming it. */
static int pool_kv(struct net_pool *np, const char *kv, struct isc_err *e)
{
	if (str_has_prefix(kv, "bridge=")) {
		if (!ifname_valid(kv + 7))
			return err_set(e, EINVAL, "bridge '%s': expected an interface name of 1 to 15 "
				       "of a-z 0-9 - _ (not %s*)", kv + 7, NET_VETH_PREFIX);
		snprintf(np->bridge, sizeof(np->bridge), "%s", kv + 7);
		return 0;
	}
	if (str_has_prefix(kv, "range=")) {
		uint32_t a;
		uint8_t l;
		/* at least the network, the gateway, one ISC and the broadcast */
		if (net_cidr_parse(kv + 6, &a, &l) < 0 || l < 8 || l > 29)
			return err_set(e, EINVAL, "range '%s': expected a.b.c.d/len, len 8 to 29, host bits zero",
				       kv + 6);
		np->base = a;
		np->len = l;
		return 0;
	}
	if (str_has_prefix(kv, "range6=")) {
		uint8_t a[16], l;
		if (STREQ(kv + 7, "none")) {
			np->v6 = false;
			return 0;
		}
		/* the low 32 bits carry the IPv4 host number; a unicast prefix
		 * (not ::/.., the IPv4-mapped one, link-local or multicast) */
		static const uint8_t zero[8];
		if (net_cidr6_parse(kv + 7, a, &l) < 0 || l < 48 || l > 96)
			return err_set(e, EINVAL, "range6 '%s': expected x:x::/len, len 48 to 96, host bits "
				       "zero, or none", kv + 7);
		if (!memcmp(a, zero, 8) || a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
			return err_set(e, EINVAL, "range6 '%s': not a unicast prefix (a unique local one such "
				       "as fd69:7363::/64, or a global one)", kv + 7);
		np->v6 = true;
		memcpy(np->base6, a, 16);
		np->len6 = l;
		return 0;
	}
	return err_set(e, EINVAL, "pool setting '%s': expected bridge=NAME, range=CIDR or range6=CIDR|none",
		       kv);
}

void net_addr6_of(const struct net_pool *np, uint32_t addr, uint8_t out[16])
{
	uint32_t host = addr - np->base;
	memcpy(out, np->base6, 16);
	out[12] |= (uint8_t)(host >> 24);
	out[13] |= (uint8_t)(host >> 16);
	out[14] |= (uint8_t)(host >> 8);
	out[15] |= (uint8_t)host;
}

/* "all" and "default" both: a new bridge takes "default"'s */
bool net_host_has_ipv6(void)
{
	static const char *const knobs[] = { "/proc/sys/net/ipv6/conf/all/disable_ipv6",
					     "/proc/sys/net/ipv6/conf/default/disable_ipv6" };
	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++) {
		char v[4] = "";
		_cleanup_close_ int fd = open(knobs[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, v, sizeof(v) - 1) < 1 || v[0] != '0')
			return false;
	}
	return true;
}

int net_pool_load(int pooldir, struct net_pool *np, struct isc_err *e)
{
	_cleanup_free_ char *text = NULL;
	snprintf(np->bridge, sizeof(np->bridge), NET_BRIDGE_DEFAULT);
	net_cidr_parse(NET_RANGE_DEFAULT, &np->base, &np->len);
	np->v6 = net_cidr6_parse(NET_RANGE6_DEFAULT, np->base6, &np->len6) == 0;
	int r = read_file_at(pooldir, "net/conf", &text, NULL, 4096);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return err_sys(e, -r, "read the pool's net/conf");
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if ((r = pool_kv(np, l, e)) < 0)
			return err_prefix(e, "pool net/conf");
	return 0;
}

int net_pool_set(int pooldir, const char *kv, struct isc_err *e)
{
	struct net_pool np;
	int r = net_pool_load(pooldir, &np, e);
	if (r < 0 || (r = pool_kv(&np, kv, e)) < 0)
		return r;
	char text[192], range[24], range6[NET_ADDR6_STRLEN + 4] = "none";
	net_addr_format(np.base, range, sizeof(range));
	if (np.v6) {
		net_addr6_format(np.base6, range6, sizeof(range6));
		snprintf(range6 + strlen(range6), sizeof(range6) - strlen(range6), "/%u", np.len6);
	}
	snprintf(text, sizeof(text), "bridge=%s\nrange=%s/%u\nrange6=%s\n", np.bridge, range, np.len, range6);
	if (mkdirat(pooldir, "net", 0700) < 0 && errno != EEXIST)
		return err_sys(e, errno, "create the pool's net/");
	if ((r = write_file_atomic(pooldir, "net/conf", text, strlen(text), 0600)) < 0)
		return err_sys(e, -r, "write the pool's net/conf");
	return 0;
}

int net_addrs_parse(const char *text, struct net_alloc *a, size_t max)
{
	size_t n = 0;
	for (const char *p = text; *p && n < max;) {
		size_t k = strcspn(p, "\n");
		char line[128], name[64], addr[20];
		uint32_t v;
		uint8_t l;
		if (k < sizeof(line)) {
			memcpy(line, p, k);
			line[k] = '\0';
			/* a line that does not parse is dropped: the store is ours */
			if (sscanf(line, "%63s %19s", name, addr) == 2 && name_valid(name) &&
			    net_cidr_parse(addr, &v, &l) == 0 && l == 32) {
				snprintf(a[n].name, sizeof(a[n].name), "%s", name);
				a[n++].addr = v;
			}
		}
		p += k + (p[k] == '\n');
	}
	return (int)n;
}

uint32_t net_addr_pick(const struct net_pool *np, const struct net_alloc *a, size_t n)
{
	uint32_t size = 1U << (32 - np->len);
	/* .0 network, .1 gateway, the last one broadcast */
	for (uint32_t off = 2; off < size - 1; off++) {
		uint32_t want = np->base + off;
		bool used = false;
		for (size_t i = 0; i < n && !used; i++)
			used = a[i].addr == want;
		if (!used)
			return want;
	}
	return 0;
}

#define ADDRS_MAX 4096

/* The store's lock held, its entries read. */
static int store_open(int pooldir, struct net_alloc **a, int *n, struct isc_err *e)
{
	if (mkdirat(pooldir, "net", 0700) < 0 && errno != EEXIST)
		return err_sys(e, errno, "create the pool's net/");
	int lock = openat(pooldir, "net/addrs.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0)
		return err_sys(e, errno, "open the pool's net/addrs.lock");
	if (flock(lock, LOCK_EX) < 0) {
		close(lock);
		return err_sys(e, errno, "lock the pool's address store");
	}
	_cleanup_free_ char *text = NULL;
	int r = read_file_at(pooldir, "net/addrs", &text, NULL, ADDRS_MAX * 96);
	*a = calloc(ADDRS_MAX, sizeof(**a));
	if (!*a || (r < 0 && r != -ENOENT)) {
		close(lock);
		free(*a);
		return *a ? err_sys(e, -r, "read the pool's net/addrs") : err_set(e, ENOMEM, "addrs");
	}
	*n = r == -ENOENT ? 0 : net_addrs_parse(text, *a, ADDRS_MAX);
	return lock;
}

static int store_save(int pooldir, const struct net_alloc *a, int n, struct isc_err *e)
{
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return err_set(e, ENOMEM, "addrs");
	for (int i = 0; i < n; i++) {
		char ad[16];
		net_addr_format(a[i].addr, ad, sizeof(ad));
		fprintf(f, "%s %s\n", a[i].name, ad);
	}
	fclose(f);
	int r = write_file_atomic(pooldir, "net/addrs", out ? out : "", len, 0600);
	return r < 0 ? err_sys(e, -r, "write the pool's net/addrs") : 0;
}

int net_addr_get(int pooldir, const struct net_pool *np, const char *name,
		 bool (*exists)(void *arg, const char *name), void *arg, uint32_t *addr,
		 struct isc_err *e)
{
	_cleanup_free_ struct net_alloc *a = NULL;
	int n, r = 0;
	_cleanup_close_ int lock = store_open(pooldir, &a, &n, e);
	if (lock < 0)
		return lock;
	uint32_t mask = ~0U << (32 - np->len);
	int keep = 0;
	bool changed = false;
	*addr = 0;
	for (int i = 0; i < n; i++) {
		/* an ISC destroyed without its release (a crash), or an address
		 * outside a range changed since: reclaimed */
		bool mine = STREQ(a[i].name, name);
		bool in = (a[i].addr & mask) == np->base;
		if ((!mine && exists && !exists(arg, a[i].name)) || (mine && (!in || *addr))) {
			changed = true;
			continue;
		}
		if (mine)
			*addr = a[i].addr;
		a[keep++] = a[i];
	}
	n = keep;
	if (!*addr) {
		char range[24];
		if (n >= ADDRS_MAX || !(*addr = net_addr_pick(np, a, (size_t)n))) {
			net_addr_format(np->base, range, sizeof(range));
			return err_set(e, ENOSPC, "ISC %s: no free address in the range %s/%u (%d allocated)",
				       name, range, np->len, n);
		}
		snprintf(a[n].name, sizeof(a[n].name), "%s", name);
		a[n++].addr = *addr;
		changed = true;
	}
	if (changed)
		r = store_save(pooldir, a, n, e);
	return r;
}

int net_addr_release(int pooldir, const char *name, struct isc_err *e)
{
	_cleanup_free_ struct net_alloc *a = NULL;
	int n, keep = 0;
	_cleanup_close_ int lock = store_open(pooldir, &a, &n, e);
	if (lock < 0)
		return lock;
	for (int i = 0; i < n; i++)
		if (!STREQ(a[i].name, name))
			a[keep++] = a[i];
	return keep == n ? 0 : store_save(pooldir, a, keep, e);
}
