/* net.h - an ISC's network: specs (expose, egress), the pool's address
 * store, the run record of a bridged ISC, isc's nftables tables and the
 * netlink plumbing (veth, bridge, addresses, routes).  iscd, iscadm; the
 * spec parsers also in config.c.  docs/net.md says why it is built so. */
#pragma once

#include "common.h"

#include <netinet/in.h>

#define NET_MAX_EXPOSE 32
#define NET_MAX_EGRESS 32
#define NET_BRIDGE_DEFAULT "isc0"
#define NET_RANGE_DEFAULT "10.77.0.0/16"
/* IPv6 where the host has it: a ULA prefix ("isc" in its global ID); an
 * ISC's address is the prefix with its IPv4 host number in the low bits */
#define NET_RANGE6_DEFAULT "fd69:7363::/64"
/* host ends of the veth pairs: NET_VETH_PREFIX and the ISC's address in hex */
#define NET_VETH_PREFIX "iscv"

enum net_proto {
	NET_TCP,
	NET_UDP,
};
const char *net_proto_name(enum net_proto p);

/* tcp:HOSTPORT:PORT[@CIDR]: DNAT from the host's addresses (from CIDR only) */
struct net_expose {
	enum net_proto proto;
	uint16_t host_port, port;
	uint32_t from;                  /* host order; with from_len 0: anyone */
	uint8_t from_len;               /* IPv4 0-32, IPv6 (from6) 1-128 */
	bool from6;                     /* from_a6/from_len, IPv6 sources only */
	uint8_t from_a6[16];
};

/* tcp:CIDR:PORT: one flow the ISC may open */
struct net_flow {
	enum net_proto proto;
	uint32_t addr;                  /* host order */
	uint8_t len;                    /* IPv4 0-32, IPv6 0-128 */
	uint16_t port;
	bool v6;                        /* addr6/len */
	uint8_t addr6[16];
};

enum net_egress_kind {
	EGRESS_DENY,                    /* nothing out (the default) */
	EGRESS_ALLOW,                   /* anything out, masqueraded */
	EGRESS_LIST,                    /* the flows listed, masqueraded */
};
struct net_egress {
	enum net_egress_kind kind;
	size_t n;
	struct net_flow flow[NET_MAX_EGRESS];
};

/* ---- specs (spec.c): each refusal is one line naming the spec ---- */
/* a.b.c.d/len (a bare address is /32); host bits must be zero. */
int net_cidr_parse(const char *s, uint32_t *addr, uint8_t *len);
void net_addr_format(uint32_t addr, char *buf, size_t n);
/* IPv6: x:x::x/len (a bare address is /128); host bits must be zero. */
int net_cidr6_parse(const char *s, uint8_t addr[16], uint8_t *len);
/* ADDR[/LEN] split: ADDR into buf (n bytes), LEN (decimal, no leading
 * zero, at most max; max when absent) into *l.  0 or -EINVAL. */
int net_cidr_split(const char *s, char *buf, size_t n, unsigned max, unsigned *l);
/* Either family: *v6 says which of addr/addr6 was filled. */
int net_cidr_any_parse(const char *s, bool *v6, uint32_t *addr, uint8_t addr6[16], uint8_t *len);
#define NET_ADDR6_STRLEN 46             /* INET6_ADDRSTRLEN */
void net_addr6_format(const uint8_t addr[16], char *buf, size_t n);
int net_expose_parse(const char *s, struct net_expose *x, struct isc_err *e);
/* canonical: tcp:18080:80 or tcp:18080:80@10.0.0.0/8 */
void net_expose_format(const struct net_expose *x, char *buf, size_t n);
/* deny | allow | tcp:CIDR:PORT,udp:CIDR:PORT,... */
int net_egress_parse(const char *s, struct net_egress *g, struct isc_err *e);
void net_egress_format(const struct net_egress *g, char *buf, size_t n);
/* net=none|bridge */
enum net_mode {
	NET_NONE,
	NET_BRIDGE,
};
int net_mode_parse(const char *s, enum net_mode *m);
const char *net_mode_name(enum net_mode m);

/* ---- the pool's settings and address store (addr.c) ---- */
struct net_pool {
	char bridge[16];                /* IFNAMSIZ */
	uint32_t base;                  /* the range, host order */
	uint8_t len;
	bool v6;                        /* range6= is a prefix, not none */
	uint8_t base6[16];              /* range6, its length 48-96 */
	uint8_t len6;
};
/* pool/net/conf (bridge=, range=, range6=), defaults when absent. */
int net_pool_load(int pooldir, struct net_pool *np, struct isc_err *e);
/* "bridge=NAME" or "range=CIDR" for the pool; -EINVAL naming it. */
int net_pool_set(int pooldir, const char *kv, struct isc_err *e);
/* The gateway (the bridge's address): the range's first host. */
static inline uint32_t net_gateway(const struct net_pool *np) { return np->base + 1; }
/* An IPv4 address of the range as IPv6: the prefix and its host number. */
void net_addr6_of(const struct net_pool *np, uint32_t addr, uint8_t out[16]);
/* Has the host IPv6 (the kernel's, not turned off for all interfaces)? */
bool net_host_has_ipv6(void);
/* The address store (pool/net/addrs, "NAME ADDR" a line, under a flock):
 * name's address, allocated if it has none (lowest free, never the
 * network, gateway or broadcast).  Entries of ISCs that exist no more
 * (exists false) are reclaimed first.  -ENOSPC: the range is full. */
int net_addr_get(int pooldir, const struct net_pool *np, const char *name,
		 bool (*exists)(void *arg, const char *name), void *arg, uint32_t *addr,
		 struct isc_err *e);
/* Free name's address (destroy); absent is fine. */
int net_addr_release(int pooldir, const char *name, struct isc_err *e);
/* The store as text lines parsed: pure, for tests.  At most max entries. */
struct net_alloc {
	char name[64];
	uint32_t addr;
};
int net_addrs_parse(const char *text, struct net_alloc *a, size_t max);
/* Lowest free host of the range not in a[0..n); 0 when full. */
uint32_t net_addr_pick(const struct net_pool *np, const struct net_alloc *a, size_t n);

/* ---- a bridged ISC's run record, /run/isc/NAME/net (record.c) ---- */
struct net_isc {
	char name[64];
	char bridge[16], veth[16];
	uint32_t addr, gw;
	uint8_t len;
	bool v6;                        /* addr6/len6 and gw6 too */
	uint8_t addr6[16], gw6[16];
	uint8_t len6;
	uint8_t mac[6];
	bool cut;
	struct net_egress egress;       /* in force: egress or maintenance-egress */
	size_t nexpose;
	struct net_expose expose[NET_MAX_EXPOSE];
};
/* Fill veth and mac from addr (both derived from it, so stable). */
void net_isc_derive(struct net_isc *n);
char *net_record_dump(const struct net_isc *n);
int net_record_parse(const char *text, struct net_isc *n, struct isc_err *e);
int net_record_write(const struct net_isc *n, struct isc_err *e);
/* -ENOENT without one. */
int net_record_read(const char *name, struct net_isc *n, struct isc_err *e);
void net_record_remove(const char *name);
/* The records of ISCs whose supervisor lives, sorted by name; records of
 * dead ones are put in *dead (may be NULL).  free() both. */
int net_records_live(struct net_isc **live, size_t *nlive, struct net_isc **dead, size_t *ndead,
		     struct isc_err *e);

/* ---- rules (rules.c, pure text; nft.c applies) ---- */
struct net_counter {
	char name[80];                  /* "inet a_NAME", "bridge x_NAME" */
	uint64_t packets, bytes;
};
/* The whole of isc's tables for these ISCs, as one nft script that
 * replaces them (one transaction); counters keep the values given.
 * NULL with e set: two ISCs claim one host port. free() it. */
char *net_rules_text(const struct net_isc *n, size_t count, const struct net_counter *keep,
		     size_t nkeep, struct isc_err *e);
/* Parse "nft list counters" text. */
size_t net_counters_parse(const char *text, struct net_counter *c, size_t max);

/* ---- nftables (nft.c, libnftables) ---- */
/* Rebuild isc's tables from the live records, in one transaction, under
 * /run/isc/net.lock; records of dead supervisors are dropped, their host
 * veth deleted. */
int net_sync(struct isc_err *e);
/* Remove isc's tables (pool close, nothing running). */
int net_tables_remove(struct isc_err *e);
/* Counters of name: accepted and dropped, packets and bytes. */
struct net_stats {
	uint64_t acc_packets, acc_bytes, drop_packets, drop_bytes;
};
int net_stats_read(const char *name, struct net_stats *s, struct isc_err *e);
/* Is a host socket bound to port (tcp: listening, udp: bound)?
 * Reads /proc/net/{tcp,tcp6,udp,udp6}. */
bool net_port_busy(enum net_proto p, uint16_t port);

/* ---- netlink (nl.c, libmnl) ---- */
/* The bridge up with the gateway address (and the IPv6 gateway with
 * np->v6), route_localnet on it, and forwarding on (the values before are
 * kept in /run/isc/net-ip_forward, net-ip6_forward). */
int net_bridge_ensure(const struct net_pool *np, struct isc_err *e);
/* Delete the bridge, restore ip_forward if we changed it. */
int net_bridge_remove(const char *bridge, struct isc_err *e);
/* The veth pair: host end n->veth on the bridge, peer eth0 in the network
 * namespace netns with n->mac, n->addr/len, up, default route via n->gw;
 * with n->v6 the same for n->addr6/len6 via n->gw6, else no IPv6 inside. */
int net_plumb(const struct net_isc *n, int netns, struct isc_err *e);
/* Delete a host veth; absent is fine. */
int net_link_remove(const char *ifname);
/* Delete every conntrack entry with n's address (IPv4 or IPv6) in either
 * tuple: what net cut stopped cannot resume on restore. */
int net_conntrack_flush(const struct net_isc *n, struct isc_err *e);
/* Does the host have a link of this name? */
bool net_link_exists(const char *ifname);

/* ---- resolv.conf for an ISC (spec.c) ---- */
/* From the host's resolv.conf text: search/options lines and the
 * nameservers an ISC can reach (not loopback; IPv6 ones, not link-local,
 * only with v6), bounded. free() it. */
char *net_resolv_make(const char *host_text, bool v6);
