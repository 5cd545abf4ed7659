/* v2.c - cgroup v2 back end (unified hierarchy at /sys/fs/cgroup); iscd and iscadm. */
#include "cgroup-internal.h"


/* part < 0: the ISC's own group */
static void v2_dir(const struct cgroup *cg, int part, char *buf, size_t n)
{
	if (part < 0)
		snprintf(buf, n, "/sys/fs/cgroup/%s", cg->name);
	else
		snprintf(buf, n, "/sys/fs/cgroup/%s/%s", cg->name, cg_parts[part]);
}

static int v2_limits(struct cgroup *cg, const struct cgroup_limits *l)
{
	char top[PATH_MAX], pay[PATH_MAX], login[PATH_MAX], cpu[64];
	v2_dir(cg, -1, top, sizeof(top));
	v2_dir(cg, CG_PAYLOAD, pay, sizeof(pay));
	v2_dir(cg, CG_LOGIN, login, sizeof(login));
	int r;
	/* no swap, in the whole subtree: the ISC's memory never reaches a disk in clear */
	if ((r = cg_write_u64(top, "memory.max", l->memory + CGROUP_LOGIN_MEMORY)) < 0 ||
	    (r = cg_write(top, "memory.swap.max", "0")) < 0 ||
	    (r = cg_write_u64(pay, "memory.max", l->memory)) < 0 ||
	    (r = cg_write_u64(login, "memory.max", CGROUP_LOGIN_MEMORY)) < 0 ||
	    (r = cg_write_u64(top, "pids.max", l->pids + CGROUP_LOGIN_PIDS)) < 0 ||
	    (r = cg_write_u64(pay, "pids.max", l->pids)) < 0 ||
	    (r = cg_write_u64(login, "pids.max", CGROUP_LOGIN_PIDS)) < 0 ||
	    (r = cg_write_u64(top, "cpu.weight", l->cpu_weight)) < 0)
		return r;
	if (l->cpu_milli) {
		snprintf(cpu, sizeof(cpu), "%u 100000", l->cpu_milli * 100);
		if ((r = cg_write(top, "cpu.max", cpu)) < 0)
			return r;
	}
	/* block I/O weight where the host's scheduler offers it */
	cg_write(top, "io.weight", "default 100");
	return 0;
}

static int v2_create(struct cgroup *cg, const struct cgroup_limits *l)
{
	char d[PATH_MAX];
	for (int part = 0; part < (int)ARRAY_SIZE(cg_parts); part++) {
		v2_dir(cg, part, d, sizeof(d));
		int r = cg_mkdir(d);
		if (r < 0)
			return r;
	}
	/* let the ISC groups use the controllers the host offers; the ISC's
	 * group holds no process itself: its two children do */
	v2_dir(cg, -1, d, sizeof(d));
	cg_write("/sys/fs/cgroup", "cgroup.subtree_control", "+memory +pids +cpu +io");
	cg_write("/sys/fs/cgroup/isc", "cgroup.subtree_control", "+memory +pids +cpu +io");
	cg_write(d, "cgroup.subtree_control", "+memory +pids +cpu +io");
	return v2_limits(cg, l);
}

static int v2_attach(struct cgroup *cg, enum cgroup_part part, pid_t pid)
{
	char d[PATH_MAX], v[32];
	v2_dir(cg, (int)part, d, sizeof(d));
	snprintf(v, sizeof(v), "%d", pid);
	return cg_write(d, "cgroup.procs", v);
}

static int v2_kill_all(struct cgroup *cg)
{
	char d[PATH_MAX];
	v2_dir(cg, -1, d, sizeof(d));
	if (cg_write(d, "cgroup.kill", "1") == 0)
		return 0;
	int n = 0;
	for (int part = 0; part < (int)ARRAY_SIZE(cg_parts); part++) {
		v2_dir(cg, part, d, sizeof(d));
		n += cg_kill_procs(d);
	}
	return n;
}

static int v2_populated(struct cgroup *cg)
{
	char d[PATH_MAX];
	int n = 0;
	for (int part = 0; part < (int)ARRAY_SIZE(cg_parts); part++) {
		v2_dir(cg, part, d, sizeof(d));
		n += cg_count_procs(d);
	}
	return n;
}

static int v2_destroy(struct cgroup *cg)
{
	char d[PATH_MAX];
	int r = 0;
	for (int part = (int)ARRAY_SIZE(cg_parts) - 1; part >= -1; part--) {
		v2_dir(cg, part, d, sizeof(d));
		int rr = cg_rmdir(d);
		if (rr < 0 && r == 0)
			r = rr;
	}
	cg_rmdir("/sys/fs/cgroup/isc");   /* the shared parent goes with the last ISC */
	return r;
}

static int v2_stats(struct cgroup *cg, struct cgroup_stats *st)
{
	char d[PATH_MAX];
	v2_dir(cg, -1, d, sizeof(d));
	int r = cg_read_u64(d, "memory.current", NULL, &st->memory);
	if (r < 0)
		return r;
	cg_read_u64(d, "pids.current", NULL, &st->pids);
	cg_read_u64(d, "cpu.stat", "usage_usec", &st->cpu_usec);
	v2_dir(cg, CG_PAYLOAD, d, sizeof(d));
	cg_read_u64(d, "memory.max", NULL, &st->memory_max);
	cg_read_u64(d, "pids.max", NULL, &st->pids_max);
	return 0;
}

const struct cgroup_ops cgroup_v2_ops = {
	.kind = "v2",
	.create = v2_create,
	.attach = v2_attach,
	.kill_all = v2_kill_all,
	.destroy = v2_destroy,
	.populated = v2_populated,
	.stats = v2_stats,
};
