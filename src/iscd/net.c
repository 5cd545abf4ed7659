/* net.c - the ISC's network at each boot and stop: its address, run record, isc's tables, the veth into its namespace; iscd. */
#include "iscd.h"
#include "net.h"

#include <fcntl.h>

static bool isc_exists(void *arg, const char *name)
{
	const struct pool *p = arg;
	char path[128];
	snprintf(path, sizeof(path), "isc/%s/config", name);
	return faccessat(p->dirfd, path, F_OK, 0) == 0;
}

/* The ISC's resolv.conf from the host's: only what an ISC can use, read
 * bounded; a host whose stub resolver (127.0.0.53) hides the real ones
 * has them in systemd-resolved's own file. */
static int resolv_write(struct iscd *d, struct isc_err *e)
{
	static const char *const from[] = { "/etc/resolv.conf", "/run/systemd/resolve/resolv.conf" };
	_cleanup_free_ char *out = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(from); i++) {
		_cleanup_free_ char *host = NULL;
		if (read_file_at(AT_FDCWD, from[i], &host, NULL, 65536) < 0)
			continue;
		free(out);
		if (!(out = net_resolv_make(host, d->net.v6)))
			return err_set(e, ENOMEM, "resolv.conf");
		if (strstr(out, "\nnameserver "))
			break;
	}
	if (!out && !(out = strdup("# written by isc: the host has no resolv.conf\n")))
		return err_set(e, ENOMEM, "resolv.conf");
	_cleanup_close_ int dir = open(d->rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dir < 0 ? -errno : write_file_atomic(dir, "resolv.conf", out, strlen(out), 0644);
	if (r < 0)
		return err_sys(e, -r, "write %s/resolv.conf", d->rundir);
	snprintf(d->resolv, sizeof(d->resolv), "%s/resolv.conf", d->rundir);
	return 0;
}

/* In the sandbox's hands: the ISC's network namespace exists, isc-init
 * does not yet.  The rules first (this ISC in isc's tables), then the
 * link: no packet of it ever passes unfiltered. */
static int net_setup(void *arg, int netns, struct isc_err *e)
{
	struct iscd *d = arg;
	int r = net_bridge_ensure(&d->np, e);
	if (r < 0)
		return err_prefix(e, "ISC %s", d->cfg.name);
	if ((r = net_record_write(&d->net, e)) < 0)
		return r;
	d->net_on = true;
	if ((r = net_sync(e)) < 0 || (r = net_plumb(&d->net, netns, e)) < 0) {
		struct isc_err ignored = { 0 };
		net_record_remove(d->cfg.name);
		net_sync(&ignored);
		d->net_on = false;
		return err_prefix(e, "ISC %s: network", d->cfg.name);
	}
	char addr[16], a6[NET_ADDR6_STRLEN + 8] = "", eg[256];
	net_addr_format(d->net.addr, addr, sizeof(addr));
	if (d->net.v6) {
		a6[0] = ' ';
		net_addr6_format(d->net.addr6, a6 + 1, sizeof(a6) - 1);
		snprintf(a6 + strlen(a6), sizeof(a6) - strlen(a6), "/%u", d->net.len6);
	}
	net_egress_format(&d->net.egress, eg, sizeof(eg));
	note(d, "net", "net: eth0 %s/%u%s on %s, egress %s, %zu exposure(s)", addr, d->net.len, a6, d->net.bridge,
	     eg, d->net.nexpose);
	return 0;
}

int iscd_net_prepare(struct iscd *d, struct isc_err *e)
{
	d->spec.net_setup = NULL;
	d->spec.resolv = NULL;
	if (d->cfg.net != NET_BRIDGE)
		return 0;
	int r = net_pool_load(d->pool.dirfd, &d->np, e);
	if (r < 0)
		return r;
	/* IPv6 where the host has it */
	d->np.v6 &= net_host_has_ipv6();
	struct net_isc *n = &d->net;
	memset(n, 0, sizeof(*n));
	if ((r = net_addr_get(d->pool.dirfd, &d->np, d->cfg.name, isc_exists, &d->pool, &n->addr, e)) < 0)
		return r;
	snprintf(n->name, sizeof(n->name), "%s", d->cfg.name);
	snprintf(n->bridge, sizeof(n->bridge), "%s", d->np.bridge);
	n->len = d->np.len;
	n->gw = net_gateway(&d->np);
	if ((n->v6 = d->np.v6)) {
		net_addr6_of(&d->np, n->addr, n->addr6);
		net_addr6_of(&d->np, n->gw, n->gw6);
		n->len6 = d->np.len6;
	}
	net_isc_derive(n);
	/* a maintenance boot has its own egress (an archive for apt-get),
	 * which never opens normal boots */
	n->egress = boot_mode_writable(d->mode) ? d->cfg.maintenance_egress : d->cfg.egress;
	for (size_t i = 0; i < d->cfg.nexpose; i++) {
		const struct net_expose *x = &d->cfg.expose[i];
		if (net_port_busy(x->proto, x->host_port))
			return err_set(e, EADDRINUSE, "ISC %s: host port %s:%u is in use by a host process: "
				       "boot refused", d->cfg.name, net_proto_name(x->proto), x->host_port);
		n->expose[n->nexpose++] = *x;
	}
	if ((r = resolv_write(d, e)) < 0)
		return r;
	d->spec.net_setup = net_setup;
	d->spec.net_arg = d;
	d->spec.resolv = d->resolv;
	return 0;
}

void iscd_net_stop(struct iscd *d)
{
	struct isc_err e = { 0 };
	if (!d->net_on)
		return;
	net_record_remove(d->cfg.name);
	if (net_sync(&e) < 0)
		note(d, "net", "net: rules of %s not removed: %s (iscadm net sync)", d->cfg.name, e.msg);
	/* its peer went with the namespace; the host end too, unless the
	 * namespace outlives init (a session's process): not for long */
	net_link_remove(d->net.veth);
	d->net_on = false;
}
