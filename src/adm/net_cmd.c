/* net_cmd.c - iscadm expose|unexpose and net status|sync|cut|restore: the ISC's record, and isc's tables for one that runs. */
#include "adm.h"
#include "net.h"

/* A running ISC's record changed: write it and rebuild isc's tables (one
 * transaction); on a failure the record goes back as it was. */
static int record_apply(const struct net_isc *now, const struct net_isc *before, struct isc_err *e)
{
	int r = net_record_write(now, e);
	if (r == 0 && (r = net_sync(e)) < 0) {
		struct isc_err ignored = { 0 };
		net_record_write(before, &ignored);
	}
	return r;
}

/* Is proto:port exposed by another ISC of this pool, or a running one of any pool? */
static int port_claimed(struct pool *p, const char *self, const struct net_expose *x, struct isc_err *e)
{
	_cleanup_strv_ char **names = NULL;
	int r = isc_names(p, &names, e);
	if (r < 0)
		return r;
	for (size_t i = 0; names[i]; i++) {
		struct isc_config c;
		if (STREQ(names[i], self) || isc_config_load(p, names[i], &c, e) < 0)
			continue;
		for (size_t k = 0; k < c.nexpose; k++)
			if (c.expose[k].proto == x->proto && c.expose[k].host_port == x->host_port) {
				config_free(&c);
				return err_set(e, EADDRINUSE, "host port %s:%u is already exposed by ISC %s",
					       net_proto_name(x->proto), x->host_port, names[i]);
			}
		config_free(&c);
	}
	_cleanup_free_ struct net_isc *live = NULL;
	size_t n;
	err_clear(e);
	if (net_records_live(&live, &n, NULL, NULL, e) < 0)
		return -e->code;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < live[i].nexpose && !STREQ(live[i].name, self); k++)
			if (live[i].expose[k].proto == x->proto && live[i].expose[k].host_port == x->host_port)
				return err_set(e, EADDRINUSE, "host port %s:%u is already exposed by ISC %s",
					       net_proto_name(x->proto), x->host_port, live[i].name);
	if (net_port_busy(x->proto, x->host_port))
		return err_set(e, EADDRINUSE, "host port %s:%u is in use by a host process",
			       net_proto_name(x->proto), x->host_port);
	return 0;
}

/* expose ISC tcp:HOSTPORT:PORT [--from CIDR] | unexpose ISC tcp:HOSTPORT:PORT */
static int expose_args(struct adm *a, bool add, struct net_expose *x, struct isc_err *e)
{
	const char *use = add ? "expose ISC tcp|udp:HOSTPORT:PORT [--from CIDR]" :
				"unexpose ISC tcp|udp:HOSTPORT:PORT";
	const char *from = NULL;
	if (add && a->argc == 5 && STREQ(a->argv[3], "--from"))
		from = a->argv[4];
	else if (a->argc != 3)
		return adm_usage("%s", use);
	if (!name_valid(a->argv[1]))
		return adm_usage("%s: '%s' is not an ISC name", use, a->argv[1]);
	if (net_expose_parse(a->argv[2], x, e) < 0)
		return adm_fail(e);
	if (from && x->from_len)
		return adm_usage("%s: a CIDR in the spec and --from", use);
	if (from && (net_cidr_any_parse(from, &x->from6, &x->from, x->from_a6, &x->from_len) < 0 ||
		     !x->from_len)) {
		err_set(e, EINVAL, "expose %s --from '%s': bad CIDR (a.b.c.d/len or x:x::x/len, host bits "
			"zero)", a->argv[2], from);
		return adm_fail(e);
	}
	return 0;
}

static int expose_change(struct adm *a, bool add)
{
	struct isc_err e = { 0 };
	struct net_expose x;
	int r = expose_args(a, add, &x, &e);
	if (r)
		return r;
	const char *name = a->argv[1];
	struct adm_isc o;
	if ((r = adm_isc_open(a, name, POOL_LOCK_EXCLUSIVE, &o)))
		return r;
	struct net_isc rec, before;
	bool live = false;
	if (add && o.cfg.net != NET_BRIDGE)
		r = err_set(&e, EINVAL, "ISC %s has net=none: set net=bridge to expose a port", name);
	else if (add && (r = port_claimed(&o.pool, name, &x, &e)) == 0)
		r = config_expose_add(&o.cfg, &x, &e);
	else if (!add)
		r = config_expose_remove(&o.cfg, &x, &e);
	/* a running ISC's tables change now, in one transaction */
	if (r == 0 && isc_running(name) && net_record_read(name, &rec, &e) == 0) {
		before = rec;
		live = true;
		if (add) {
			rec.expose[rec.nexpose++] = x;
		} else {
			size_t k = 0;
			for (size_t i = 0; i < rec.nexpose; i++)
				if (rec.expose[i].proto != x.proto || rec.expose[i].host_port != x.host_port)
					rec.expose[k++] = rec.expose[i];
			rec.nexpose = k;
		}
		r = record_apply(&rec, &before, &e);
	}
	if (r == 0 && (r = isc_config_save(&o.pool, &o.cfg, &e)) < 0 && live) {
		struct isc_err ignored = { 0 };
		record_apply(&before, &rec, &ignored);
	}
	adm_isc_close(&o);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}

int cmd_expose(struct adm *a)
{
	return expose_change(a, true);
}

int cmd_unexpose(struct adm *a)
{
	return expose_change(a, false);
}

/* net cut|restore ISC: every flow of a running ISC stops, or comes back. */
static int net_cut(struct adm *a, bool cut)
{
	struct isc_err e = { 0 };
	const char *name = a->argv[2];
	int r = adm_isc_exists(a, name);
	if (r)
		return r;
	struct net_isc rec, before;
	if (!isc_running(name) || (r = net_record_read(name, &rec, &e)) == -ENOENT) {
		err_set(&e, EINVAL, "ISC %s is not running with net=bridge", name);
		return adm_fail(&e);
	}
	if (r < 0)
		return adm_fail(&e);
	before = rec;
	rec.cut = cut;
	if ((r = record_apply(&rec, &before, &e)) < 0)
		return adm_fail(&e);
	/* dropped from now on, and forgotten: nothing resumes at restore */
	if (cut && net_conntrack_flush(&rec, &e) < 0)
		return adm_fail(&e);
	return EXIT_OK;
}

static void u64_pair(uint64_t a, uint64_t b, char *buf, size_t n)
{
	snprintf(buf, n, "%llu/%llu", (unsigned long long)a, (unsigned long long)b);
}

/* net status [ISC] [-p | --json] */
static int net_status(struct adm *a)
{
	static const struct table_col cols[] = {
		{ "NAME", "name", 16 }, { "NET", "net", 7 }, { "ADDRESS", "address", 16 },
		{ "FLOWS", "flows", 6 }, { "ACCEPTED", "accepted", 16 }, { "DROPPED", "dropped", 16 },
		{ "EGRESS", "egress", 18 }, { "EXPOSE", "expose", 24 }, { "ADDRESS6", "address6", 0 },
	};
	enum table_fmt fmt;
	int first = table_opts(a->argc - 1, a->argv + 1, &fmt);
	if (first < 0 || a->argc - 1 - first > 1)
		return adm_usage("net status [ISC] [-p | --json]");
	const char *only = a->argc - 1 - first == 1 ? a->argv[1 + first] : NULL;
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_SHARED);
	if (r)
		return r;
	struct isc_err e = { 0 };
	_cleanup_strv_ char **names = NULL;
	if ((r = adm_isc_names(&p, only, &names))) {
		pool_close(&p);
		return r;
	}
	struct table t;
	table_begin(&t, fmt, cols, ARRAY_SIZE(cols));
	for (size_t i = 0; names[i]; i++) {
		struct isc_config c;
		if (isc_config_load(&p, names[i], &c, &e) < 0)
			continue;
		struct net_isc rec;
		struct net_stats st = { 0 };
		char addr[24] = "", addr6[NET_ADDR6_STRLEN] = "", eg[2048], ex[4096], acc[48] = "", drop[48] = "";
		bool live = isc_running(names[i]) && net_record_read(names[i], &rec, &e) == 0;
		if (live) {
			/* what is in force: this boot's egress, its exposures */
			net_addr_format(rec.addr, addr, sizeof(addr));
			if (rec.v6)
				net_addr6_format(rec.addr6, addr6, sizeof(addr6));
			net_egress_format(&rec.egress, eg, sizeof(eg));
			c.nexpose = rec.nexpose;
			memcpy(c.expose, rec.expose, sizeof(c.expose));
			if (net_stats_read(names[i], &st, &e) == 0) {
				u64_pair(st.acc_packets, st.acc_bytes, acc, sizeof(acc));
				u64_pair(st.drop_packets, st.drop_bytes, drop, sizeof(drop));
			}
		} else {
			net_egress_format(&c.egress, eg, sizeof(eg));
		}
		config_get(&c, "expose", ex, sizeof(ex));
		const char *flows = !live ? "" : rec.cut ? "cut" : "open";
		const char *vals[] = { c.name, net_mode_name(c.net), addr, flows, acc, drop,
				       c.net == NET_BRIDGE ? eg : "", ex, addr6 };
		table_row(&t, vals);
		config_free(&c);
	}
	table_end(&t);
	pool_close(&p);
	return EXIT_OK;
}

void adm_net_stale(const char *name)
{
	/* a dead supervisor's run record: its rules and veth go now */
	char path[PATH_MAX];
	struct isc_err e = { 0 };
	if (run_path(path, sizeof(path), name, "net") == 0 && access(path, F_OK) == 0 && net_sync(&e) < 0)
		adm_fail(&e);
}

int cmd_net(struct adm *a)
{
	struct isc_err e = { 0 };
	if (a->argc >= 2 && STREQ(a->argv[1], "status"))
		return net_status(a);
	if (a->argc == 3 && (STREQ(a->argv[1], "cut") || STREQ(a->argv[1], "restore")))
		return net_cut(a, STREQ(a->argv[1], "cut"));
	if (a->argc == 2 && STREQ(a->argv[1], "sync"))
		return net_sync(&e) < 0 ? adm_fail(&e) : EXIT_OK;
	return adm_usage("net status [ISC] [-p | --json] | net sync | net cut ISC | net restore ISC");
}
