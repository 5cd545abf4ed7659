/* nl.c - rtnetlink and ctnetlink through libmnl: the bridge, a veth pair into an ISC's network namespace, its address and route, its conntrack entries; iscd, iscadm. */
#include "net.h"
#include "runstate.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/file.h>
#include <time.h>

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
/* what ip_forward was before isc turned it on (absent: isc did not) */
#define IP_FORWARD_SAVED ISC_RUN_DIR "/net-ip_forward"
#define IP6_CONF "/proc/sys/net/ipv6/conf"
/* IPv6 forwarding as it was, and the interfaces whose accept_ra isc moved
 * from 1 to 2 so they keep taking router advertisements while forwarding */
#define IP6_FORWARD_SAVED ISC_RUN_DIR "/net-ip6_forward"

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

/* One request, its acknowledgement: 0 or -errno. */
static int nl_talk(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	static unsigned seq;
	char buf[8192];
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++seq + (unsigned)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	unsigned portid = mnl_socket_get_portid(nl);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		int r = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL);
		if (r < 0)
			return -errno;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags, int index)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return nlh;
}

static int link_up(struct mnl_socket *nl, int index)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, index);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	return nl_talk(nl, nlh);
}

/* An address of family AF_INET or AF_INET6 (alen 4 or 16, network order).
 * IPv6 without duplicate address detection: the address is ours by the
 * store, and usable at once. */
static int addr_put(struct mnl_socket *nl, int index, int family, const void *addr, uint8_t len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	size_t alen = family == AF_INET6 ? 16 : 4;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = len;
	ifa->ifa_index = (unsigned)index;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
	return nl_talk(nl, nlh);
}

static int addr_add(struct mnl_socket *nl, int index, uint32_t addr, uint8_t len)
{
	uint32_t be = htonl(addr);
	return addr_put(nl, index, AF_INET, &be, len);
}

/* The default route of family via gw (network order). */
static int route_put(struct mnl_socket *nl, int index, int family, const void *gw)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = (uint8_t)family;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET6 ? 16 : 4, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	return nl_talk(nl, nlh);
}

static int route_default(struct mnl_socket *nl, int index, uint32_t gw)
{
	uint32_t be = htonl(gw);
	return route_put(nl, index, AF_INET, &be);
}

static int link_delete(struct mnl_socket *nl, const char *ifname)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, 0, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	return nl_talk(nl, nlh);
}

static int sysctl_write(const char *path, const char *v)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write_all(fd, v, strlen(v));
}

static int sysctl_read(const char *path, char *v, size_t n)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k = fd < 0 ? -1 : read(fd, v, n - 1);
	if (k < 1)
		return -1;
	v[k] = '\0';
	return 0;
}

/* A forwarding knob about to be turned on: 1 if it is on already; else 0,
 * with "0" written to the saved file (once: the first value is the one to
 * go back to), whose descriptor *saved is (-1 if it existed). */
static int forward_begin(const char *knob, const char *saved_path, int *saved, struct isc_err *e)
{
	char v[8] = "";
	if (sysctl_read(knob, v, sizeof(v)) < 0)
		return err_sys(e, errno, "read %s", knob);
	if (v[0] == '1')
		return 1;
	mkdir(ISC_RUN_DIR, 0711);
	*saved = open(saved_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (*saved >= 0)
		write_all(*saved, "0\n", 2);
	return 0;
}

/* ip_forward on for the ISCs' routed traffic; what it was is kept once. */
static int forward_on(struct isc_err *e)
{
	_cleanup_close_ int s = -1;
	int r = forward_begin(IP_FORWARD, IP_FORWARD_SAVED, &s, e);
	if (r != 0)
		return r < 0 ? r : 0;
	r = sysctl_write(IP_FORWARD, "1");
	return r < 0 ? err_sys(e, -r, "write %s", IP_FORWARD) : 0;
}

/* IPv6 forwarding on.  With it on, the kernel ignores router
 * advertisements on an interface whose accept_ra is 1: a host that takes
 * its IPv6 route from them would lose it.  Those go to 2 (take them while
 * forwarding), and are named in the saved file to go back at pool close. */
static int forward6_on(struct isc_err *e)
{
	char v[8] = "", path[PATH_MAX];
	_cleanup_close_ int s = -1;
	/* one at a time: two first boots must not both move interfaces, one
	 * of them without naming them */
	mkdir(ISC_RUN_DIR, 0711);
	_cleanup_close_ int lock = open(IP6_FORWARD_SAVED ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return err_sys(e, errno, "lock " IP6_FORWARD_SAVED ".lock");
	int r = forward_begin(IP6_CONF "/all/forwarding", IP6_FORWARD_SAVED, &s, e);
	if (r != 0)
		return r < 0 ? r : 0;
	DIR *d = opendir(IP6_CONF);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || STREQ(de->d_name, "all") || strlen(de->d_name) > 15)
			continue;
		snprintf(path, sizeof(path), IP6_CONF "/%s/accept_ra", de->d_name);
		if (sysctl_read(path, v, sizeof(v)) == 0 && v[0] == '1' && sysctl_write(path, "2") == 0 &&
		    s >= 0) {
			write_all(s, de->d_name, strlen(de->d_name));
			write_all(s, "\n", 1);
		}
	}
	if (d)
		closedir(d);
	r = sysctl_write(IP6_CONF "/all/forwarding", "1");
	return r < 0 ? err_sys(e, -r, "write " IP6_CONF "/all/forwarding") : 0;
}

static void forward6_restore(void)
{
	char text[65536] = "", path[PATH_MAX], v[8];
	_cleanup_close_ int lock = open(IP6_FORWARD_SAVED ".lock", O_RDWR | O_CLOEXEC);
	if (lock >= 0)
		flock(lock, LOCK_EX);
	if (sysctl_read(IP6_FORWARD_SAVED, text, sizeof(text)) < 0 || text[0] != '0')
		return;
	if (sysctl_write(IP6_CONF "/all/forwarding", "0") < 0)
		return;
	char *save = NULL;
	strtok_r(text, "\n", &save);
	for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strchr(l, '/') || l[0] == '.')
			continue;
		snprintf(path, sizeof(path), IP6_CONF "/%s/accept_ra", l);
		if (sysctl_read(path, v, sizeof(v)) == 0 && v[0] == '2')
			sysctl_write(path, "1");
	}
	unlink(IP6_FORWARD_SAVED);
}

int net_bridge_ensure(const struct net_pool *np, struct isc_err *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], path[128];
	struct mnl_socket *nl = nl_open();
	if (!nl)
		return err_sys(e, errno, "netlink");
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, np->bridge);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	int r = nl_talk(nl, nlh);
	int index = (int)if_nametoindex(np->bridge);
	if ((r < 0 && r != -EEXIST) || index <= 0) {
		mnl_socket_close(nl);
		return err_sys(e, r < 0 ? -r : ENODEV, "create bridge %s", np->bridge);
	}
	r = addr_add(nl, index, net_gateway(np), np->len);
	if ((r == 0 || r == -EEXIST) && np->v6) {
		uint8_t gw6[16];
		net_addr6_of(np, net_gateway(np), gw6);
		r = addr_put(nl, index, AF_INET6, gw6, np->len6);
	}
	if (r == 0 || r == -EEXIST)
		r = link_up(nl, index);
	mnl_socket_close(nl);
	if (r < 0)
		return err_sys(e, -r, "bridge %s: address and up", np->bridge);
	/* the bridge takes no router advertisement and configures nothing
	 * from one: its IPv6 address is the gateway's, given above */
	static const char *const quiet[] = { "accept_ra", "autoconf" };
	for (size_t i = 0; np->v6 && i < ARRAY_SIZE(quiet); i++) {
		snprintf(path, sizeof(path), IP6_CONF "/%s/%s", np->bridge, quiet[i]);
		if ((r = sysctl_write(path, "0")) < 0)
			return err_sys(e, -r, "write %s", path);
	}
	/* an exposure reached from the host as 127.0.0.1:PORT is DNATed out
	 * of this bridge with that source: only this interface allows it */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", np->bridge);
	if ((r = sysctl_write(path, "1")) < 0)
		return err_sys(e, -r, "write %s", path);
	if ((r = forward_on(e)) < 0)
		return r;
	return np->v6 ? forward6_on(e) : 0;
}

int net_bridge_remove(const char *bridge, struct isc_err *e)
{
	struct mnl_socket *nl = nl_open();
	if (!nl)
		return err_sys(e, errno, "netlink");
	int r = link_delete(nl, bridge);
	mnl_socket_close(nl);
	if (r < 0 && r != -ENODEV)
		return err_sys(e, -r, "delete bridge %s", bridge);
	/* ip_forward back to what it was, if isc changed it */
	char v[8] = "";
	_cleanup_close_ int fd = open(IP_FORWARD_SAVED, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && read(fd, v, sizeof(v) - 1) > 0 && v[0] == '0' && sysctl_write(IP_FORWARD, "0") == 0)
		unlink(IP_FORWARD_SAVED);
	forward6_restore();
	return 0;
}

int net_link_remove(const char *ifname)
{
	struct mnl_socket *nl = nl_open();
	if (!nl)
		return -errno;
	int r = link_delete(nl, ifname);
	mnl_socket_close(nl);
	return r == -ENODEV ? 0 : r;
}

bool net_link_exists(const char *ifname)
{
	return if_nametoindex(ifname) > 0;
}

static int veth_create(struct mnl_socket *nl, const struct net_isc *n, int bridge, int netns)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, n->veth);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)bridge);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	struct ifinfomsg *pi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pi));
	pi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, n->mac);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh);
}

/* A netlink socket of the namespace netns, and eth0's index there: a
 * socket stays with the namespace it was made in. */
static struct mnl_socket *nl_open_in(int netns, bool v6, int *eth0)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(netns, CLONE_NEWNET) < 0)
		return NULL;
	struct mnl_socket *nl = nl_open();
	*eth0 = (int)if_nametoindex("eth0");
	int saved = errno;
	/* A network sysctl is the namespace of whoever opens it: ours now.
	 * IPv4 only: no IPv6 address, not even link-local, so the ISC sends
	 * nothing the bridge's rules would not let through.  With IPv6: only
	 * the address given below (no link-local, no autoconfiguration), so
	 * every packet it sends has the one source the bridge accepts. */
	static const char *const off[][2] = { { "all/disable_ipv6", "1" }, { "default/disable_ipv6", "1" } };
	static const char *const only[][2] = { { "eth0/addr_gen_mode", "1" }, { "eth0/accept_ra", "0" },
					       { "eth0/autoconf", "0" } };
	int bad = 0;
	for (size_t i = 0; i < (v6 ? ARRAY_SIZE(only) : ARRAY_SIZE(off)); i++) {
		char path[128];
		snprintf(path, sizeof(path), IP6_CONF "/%s", v6 ? only[i][0] : off[i][0]);
		int r = sysctl_write(path, v6 ? only[i][1] : off[i][1]);
		/* a kernel without IPv6 has nothing to turn off */
		if (r < 0 && !bad && (v6 || r != -ENOENT))
			bad = -r;
	}
	if (setns(self, CLONE_NEWNET) < 0)
		abort();   /* the supervisor left in the ISC's network: never go on */
	if (bad && nl) {
		/* an ISC with an address the rules do not expect: no boot */
		mnl_socket_close(nl);
		errno = bad;
		return NULL;
	}
	errno = saved;
	return nl;
}

int net_plumb(const struct net_isc *n, int netns, struct isc_err *e)
{
	int bridge = (int)if_nametoindex(n->bridge), eth0 = 0, r;
	if (bridge <= 0)
		return err_sys(e, ENODEV, "bridge %s", n->bridge);
	struct mnl_socket *nl = nl_open();
	if (!nl)
		return err_sys(e, errno, "netlink");
	r = veth_create(nl, n, bridge, netns);
	if (r == 0 && n->v6) {
		/* the host's end: a bridge port, no address of its own */
		char path[128];
		snprintf(path, sizeof(path), IP6_CONF "/%s/addr_gen_mode", n->veth);
		r = sysctl_write(path, "1");
	}
	if (r == 0)
		r = link_up(nl, (int)if_nametoindex(n->veth));
	if (r < 0) {
		err_sys(e, -r, "veth %s", n->veth);
		goto fail;
	}
	struct mnl_socket *in = nl_open_in(netns, n->v6, &eth0);
	if (!in || eth0 <= 0) {
		r = err_sys(e, in ? ENODEV : errno, "eth0 in the ISC's network namespace");
		if (in)
			mnl_socket_close(in);
		goto fail;
	}
	if ((r = addr_add(in, eth0, n->addr, n->len)) < 0 || (r = link_up(in, eth0)) < 0 ||
	    (r = route_default(in, eth0, n->gw)) < 0)
		err_sys(e, -r, "eth0: address, up and default route");
	else if (n->v6 && ((r = addr_put(in, eth0, AF_INET6, n->addr6, n->len6)) < 0 ||
			   (r = route_put(in, eth0, AF_INET6, n->gw6)) < 0))
		err_sys(e, -r, "eth0: IPv6 address and default route");
	mnl_socket_close(in);
	if (r == 0) {
		mnl_socket_close(nl);
		return 0;
	}
fail:
	link_delete(nl, n->veth);
	mnl_socket_close(nl);
	return r;
}

/* ---- conntrack (ctnetlink) ------------------------------------------------ */

#define CT_FLUSH_MAX 65536

struct ct_dump {
	uint32_t addr;                  /* network order */
	const uint8_t *addr6;           /* or NULL */
	size_t n;
	struct nlattr **orig;           /* copies of the matching entries' CTA_TUPLE_ORIG */
	uint8_t *family;                /* and their families */
};

/* An address of a tuple (CTA_TUPLE_ORIG or _REPLY): src or dst, IPv4 or IPv6. */
static bool tuple_has(const struct nlattr *tuple, const struct ct_dump *d)
{
	const struct nlattr *a, *b;
	mnl_attr_for_each_nested(a, tuple) {
		if (mnl_attr_get_type(a) != CTA_TUPLE_IP)
			continue;
		mnl_attr_for_each_nested(b, a) {
			int t = mnl_attr_get_type(b);
			if ((t == CTA_IP_V4_SRC || t == CTA_IP_V4_DST) && mnl_attr_get_payload_len(b) == 4 &&
			    mnl_attr_get_u32(b) == d->addr)
				return true;
			if ((t == CTA_IP_V6_SRC || t == CTA_IP_V6_DST) && d->addr6 &&
			    mnl_attr_get_payload_len(b) == 16 && !memcmp(mnl_attr_get_payload(b), d->addr6, 16))
				return true;
		}
	}
	return false;
}

static int ct_entry(const struct nlmsghdr *nlh, void *arg)
{
	struct ct_dump *d = arg;
	const struct nlattr *a, *orig = NULL;
	bool match = false;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		int t = mnl_attr_get_type(a);
		if (t != CTA_TUPLE_ORIG && t != CTA_TUPLE_REPLY)
			continue;
		if (t == CTA_TUPLE_ORIG)
			orig = a;
		match |= tuple_has(a, d);
	}
	if (match && orig && d->n < CT_FLUSH_MAX) {
		struct nlattr *copy = malloc(orig->nla_len);
		if (copy) {
			const struct nfgenmsg *nf = mnl_nlmsg_get_payload(nlh);
			memcpy(copy, orig, orig->nla_len);
			d->family[d->n] = nf->nfgen_family;
			d->orig[d->n++] = copy;
		}
	}
	return MNL_CB_OK;
}

static struct nlmsghdr *ct_msg(char *buf, uint16_t type, uint16_t flags, uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = (unsigned)time(NULL);
	struct nfgenmsg *nf = mnl_nlmsg_put_extra_header(nlh, sizeof(*nf));
	nf->nfgen_family = family;
	nf->version = NFNETLINK_V0;
	return nlh;
}

int net_conntrack_flush(const struct net_isc *ni, struct isc_err *e)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ct_dump d = { .addr = htonl(ni->addr), .addr6 = ni->v6 ? ni->addr6 : NULL,
			     .orig = calloc(CT_FLUSH_MAX, sizeof(struct nlattr *)),
			     .family = calloc(CT_FLUSH_MAX, 1) };
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	int r = 0;
	if (!d.orig || !d.family || !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = err_sys(e, d.orig && d.family ? errno : ENOMEM, "conntrack netlink");
		goto out;
	}
	/* the whole table first, then the deletes: the kernel's dump is not
	 * disturbed by our own changes */
	/* both families: AF_UNSPEC */
	struct nlmsghdr *nlh = ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = err_sys(e, errno, "conntrack dump");
		goto out;
	}
	unsigned portid = mnl_socket_get_portid(nl), seq = nlh->nlmsg_seq;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			r = err_sys(e, errno, "conntrack dump");
			goto out;
		}
		int k = mnl_cb_run(buf, (size_t)n, seq, portid, ct_entry, &d);
		if (k <= MNL_CB_STOP)
			break;
	}
	for (size_t i = 0; i < d.n; i++) {
		nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, 0, d.family[i]);
		memcpy(mnl_nlmsg_get_payload_tail(nlh), d.orig[i], d.orig[i]->nla_len);
		nlh->nlmsg_len += MNL_ALIGN(d.orig[i]->nla_len);
		int k = nl_talk(nl, nlh);
		if (k < 0 && k != -ENOENT)   /* gone meanwhile: fine */
			r = err_sys(e, -k, "conntrack delete");
	}
out:
	for (size_t i = 0; i < d.n; i++)
		free(d.orig[i]);
	free(d.orig);
	free(d.family);
	if (nl)
		mnl_socket_close(nl);
	return r;
}
