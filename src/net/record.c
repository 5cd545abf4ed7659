/* record.c - a bridged ISC's run record, /run/isc/NAME/net: what isc's tables hold for it; iscd writes, iscadm and iscd read. */
#include "net.h"
#include "runstate.h"

#include <fcntl.h>
#include <sys/file.h>

void net_isc_derive(struct net_isc *n)
{
	snprintf(n->veth, sizeof(n->veth), NET_VETH_PREFIX "%08x", n->addr);
	/* locally administered, unicast, and the address: stable per ISC */
	uint8_t mac[6] = { 0x02, 0x15, (uint8_t)(n->addr >> 24), (uint8_t)(n->addr >> 16),
			   (uint8_t)(n->addr >> 8), (uint8_t)n->addr };
	memcpy(n->mac, mac, sizeof(mac));
}

char *net_record_dump(const struct net_isc *n)
{
	char *out = NULL, addr[16], gw[16], eg[2048];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	net_addr_format(n->addr, addr, sizeof(addr));
	net_addr_format(n->gw, gw, sizeof(gw));
	net_egress_format(&n->egress, eg, sizeof(eg));
	fprintf(f, "name=%s\nbridge=%s\naddr=%s/%u\ngw=%s\ncut=%d\negress=%s\n", n->name, n->bridge, addr,
		n->len, gw, n->cut, eg);
	if (n->v6) {
		char a6[NET_ADDR6_STRLEN], g6[NET_ADDR6_STRLEN];
		net_addr6_format(n->addr6, a6, sizeof(a6));
		net_addr6_format(n->gw6, g6, sizeof(g6));
		fprintf(f, "addr6=%s/%u\ngw6=%s\n", a6, n->len6, g6);
	}
	for (size_t i = 0; i < n->nexpose; i++) {
		char x[64];
		net_expose_format(&n->expose[i], x, sizeof(x));
		fprintf(f, "expose=%s\n", x);
	}
	fclose(f);
	return out;
}

static int record_kv(struct net_isc *n, char *k, char *v, struct isc_err *e)
{
	uint8_t l;
	if (STREQ(k, "name") && name_valid(v))
		snprintf(n->name, sizeof(n->name), "%s", v);
	else if (STREQ(k, "bridge") && *v && strlen(v) < sizeof(n->bridge))
		snprintf(n->bridge, sizeof(n->bridge), "%s", v);
	else if (STREQ(k, "addr") && strchr(v, '/')) {
		uint32_t a;
		*strchr(v, '/') = '\0';
		l = (uint8_t)atoi(v + strlen(v) + 1);
		if (net_cidr_parse(v, &a, &(uint8_t){ 0 }) < 0 || l < 8 || l > 30)
			return -EINVAL;
		n->addr = a;
		n->len = l;
	} else if (STREQ(k, "gw"))
		return net_cidr_parse(v, &n->gw, &l) < 0 || l != 32 ? -EINVAL : 0;
	else if (STREQ(k, "addr6") && strchr(v, '/')) {
		/* an address (its host bits set) with the prefix length of its range */
		char a6[NET_ADDR6_STRLEN];
		unsigned len6;
		if (net_cidr_split(v, a6, sizeof(a6), 128, &len6) < 0 || len6 < 48 || len6 > 96 ||
		    net_cidr6_parse(a6, n->addr6, &l) < 0)
			return -EINVAL;
		n->len6 = (uint8_t)len6;
		n->v6 = true;
	} else if (STREQ(k, "gw6"))
		return net_cidr6_parse(v, n->gw6, &l) < 0 || l != 128 ? -EINVAL : 0;
	else if (STREQ(k, "cut") && (STREQ(v, "0") || STREQ(v, "1")))
		n->cut = STREQ(v, "1");
	else if (STREQ(k, "egress"))
		return net_egress_parse(v, &n->egress, e);
	else if (STREQ(k, "expose") && n->nexpose < NET_MAX_EXPOSE)
		return net_expose_parse(v, &n->expose[n->nexpose++], e);
	else
		return -EINVAL;
	return 0;
}

int net_record_parse(const char *text, struct net_isc *n, struct isc_err *e)
{
	memset(n, 0, sizeof(*n));
	for (const char *p = text; *p;) {
		size_t k = strcspn(p, "\n");
		char line[2100];
		if (k >= sizeof(line))
			return err_set(e, EINVAL, "net record: line too long");
		memcpy(line, p, k);
		line[k] = '\0';
		p += k + (p[k] == '\n');
		char *eq = strchr(line, '=');
		if (!eq)
			return err_set(e, EINVAL, "net record: expected key=value");
		*eq = '\0';
		struct isc_err sub = { 0 };
		if (record_kv(n, line, eq + 1, &sub) < 0)
			return err_set(e, EINVAL, "net record: bad %s", line);
	}
	static const uint8_t zero6[16];
	if (!n->name[0] || !n->bridge[0] || !n->addr || !n->gw)
		return err_set(e, EINVAL, "net record: name, bridge, addr and gw are required");
	if (n->v6 && !memcmp(n->gw6, zero6, 16))
		return err_set(e, EINVAL, "net record: addr6 without gw6");
	net_isc_derive(n);
	return 0;
}

int net_record_write(const struct net_isc *n, struct isc_err *e)
{
	char dir[PATH_MAX];
	if (run_path(dir, sizeof(dir), n->name, NULL) < 0)
		return err_set(e, ENAMETOOLONG, "ISC %s: run path", n->name);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open %s", dir);
	_cleanup_free_ char *text = net_record_dump(n);
	if (!text)
		return err_set(e, ENOMEM, "net record");
	int r = write_file_atomic(fd, "net", text, strlen(text), 0600);
	return r < 0 ? err_sys(e, -r, "write %s/net", dir) : 0;
}

int net_record_read(const char *name, struct net_isc *n, struct isc_err *e)
{
	char dir[PATH_MAX];
	if (run_path(dir, sizeof(dir), name, NULL) < 0)
		return err_set(e, ENAMETOOLONG, "ISC %s: run path", name);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : err_sys(e, errno, "open %s", dir);
	_cleanup_free_ char *text = NULL;
	int r = read_file_at(fd, "net", &text, NULL, 16384);
	if (r == -ENOENT)
		return r;
	if (r < 0)
		return err_sys(e, -r, "read %s/net", dir);
	if ((r = net_record_parse(text, n, e)) < 0)
		return err_prefix(e, "ISC %s", name);
	if (!STREQ(n->name, name))
		return err_set(e, EINVAL, "ISC %s: its net record names %s", name, n->name);
	return 0;
}

void net_record_remove(const char *name)
{
	char path[PATH_MAX];
	if (run_path(path, sizeof(path), name, "net") == 0)
		unlink(path);
}


static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct net_isc *)a)->name, ((const struct net_isc *)b)->name);
}

int net_records_live(struct net_isc **live, size_t *nlive, struct net_isc **dead, size_t *ndead,
		     struct isc_err *e)
{
	*live = NULL;
	*nlive = 0;
	if (dead) {
		*dead = NULL;
		*ndead = 0;
	}
	DIR *d = opendir(ISC_RUN_DIR);
	if (!d)
		return errno == ENOENT ? 0 : err_sys(e, errno, "open %s", ISC_RUN_DIR);
	size_t cap = 0, dcap = 0;
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d)) && r == 0) {
		struct net_isc n;
		struct isc_err sub = { 0 };
		if (!name_valid(de->d_name) || net_record_read(de->d_name, &n, &sub) < 0)
			continue;   /* no record (net=none), or one we cannot trust: not ours */
		bool alive = run_supervisor_alive(de->d_name);
		struct net_isc **v = alive ? live : dead;
		size_t *cnt = alive ? nlive : ndead, *cp = alive ? &cap : &dcap;
		if (!alive && !dead)
			continue;
		if (*cnt == *cp) {
			*cp = *cp ? *cp * 2 : 8;
			struct net_isc *nv = realloc(*v, *cp * sizeof(**v));
			if (!nv) {
				r = err_set(e, ENOMEM, "net records");
				break;
			}
			*v = nv;
		}
		(*v)[(*cnt)++] = n;
	}
	closedir(d);
	if (*nlive)
		qsort(*live, *nlive, sizeof(**live), by_name);
	return r;
}
