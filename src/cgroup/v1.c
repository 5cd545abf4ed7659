/* v1.c - cgroup v1 back end: the same tree in each controller's hierarchy (memory, pids, cpu, cpuacct); iscd and iscadm. */
#include "cgroup-internal.h"

/* The controllers an ISC is accounted and limited in.  Moving a task costs
 * one RCU grace period however many hierarchies it joins. */
static const char *const v1_ctrl[] = { "memory", "pids", "cpu", "cpuacct" };

/* part < 0: the ISC's own group */
static void v1_dir(const struct cgroup *cg, const char *ctrl, int part, char *buf, size_t n)
{
	if (part < 0)
		snprintf(buf, n, "/sys/fs/cgroup/%s/%s", ctrl, cg->name);
	else
		snprintf(buf, n, "/sys/fs/cgroup/%s/%s/%s", ctrl, cg->name, cg_parts[part]);
}

/* v1 has no swap.max: memory+swap capped at the memory limit leaves a
 * group no swap to grow into, and swappiness 0 keeps reclaim off its
 * anonymous pages.  Without swap accounting only the latter exists. */
static int v1_memory(const char *d, uint64_t bytes)
{
	char memsw[PATH_MAX + 32];
	int r = cg_write_u64(d, "memory.limit_in_bytes", bytes);
	snprintf(memsw, sizeof(memsw), "%s/memory.memsw.limit_in_bytes", d);
	if (r == 0 && access(memsw, F_OK) == 0)
		r = cg_write_u64(d, "memory.memsw.limit_in_bytes", bytes);
	return r < 0 ? r : cg_write(d, "memory.swappiness", "0");
}

static int v1_limits(struct cgroup *cg, const struct cgroup_limits *l)
{
	char top[PATH_MAX], pay[PATH_MAX], login[PATH_MAX];
	int r;
	v1_dir(cg, "memory", -1, top, sizeof(top));
	v1_dir(cg, "memory", CG_PAYLOAD, pay, sizeof(pay));
	v1_dir(cg, "memory", CG_LOGIN, login, sizeof(login));
	if ((r = v1_memory(top, l->memory + CGROUP_LOGIN_MEMORY)) < 0 ||
	    (r = v1_memory(pay, l->memory)) < 0 || (r = v1_memory(login, CGROUP_LOGIN_MEMORY)) < 0)
		return r;
	v1_dir(cg, "pids", -1, top, sizeof(top));
	v1_dir(cg, "pids", CG_PAYLOAD, pay, sizeof(pay));
	v1_dir(cg, "pids", CG_LOGIN, login, sizeof(login));
	if ((r = cg_write_u64(top, "pids.max", l->pids + CGROUP_LOGIN_PIDS)) < 0 ||
	    (r = cg_write_u64(pay, "pids.max", l->pids)) < 0 ||
	    (r = cg_write_u64(login, "pids.max", CGROUP_LOGIN_PIDS)) < 0)
		return r;
	v1_dir(cg, "cpu", -1, top, sizeof(top));
	/* v2's weight 100 is v1's 1024 shares */
	uint64_t shares = (uint64_t)l->cpu_weight * 1024 / 100;
	if ((r = cg_write_u64(top, "cpu.shares", shares < 2 ? 2 : shares)) < 0)
		return r;
	if (l->cpu_milli && ((r = cg_write(top, "cpu.cfs_period_us", "100000")) < 0 ||
			     (r = cg_write_u64(top, "cpu.cfs_quota_us", (uint64_t)l->cpu_milli * 100)) < 0))
		return r;
	return 0;
}

static int v1_create(struct cgroup *cg, const struct cgroup_limits *l)
{
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrl); i++) {
		for (int part = -1; part < (int)ARRAY_SIZE(cg_parts); part++) {
			char d[PATH_MAX];
			v1_dir(cg, v1_ctrl[i], part, d, sizeof(d));
			int r = cg_mkdir(d);
			if (r < 0)
				return r;
		}
	}
	return v1_limits(cg, l);
}

static int v1_attach(struct cgroup *cg, enum cgroup_part part, pid_t pid)
{
	char v[32];
	snprintf(v, sizeof(v), "%d", pid);
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrl); i++) {
		char d[PATH_MAX];
		v1_dir(cg, v1_ctrl[i], (int)part, d, sizeof(d));
		int r = cg_write(d, "cgroup.procs", v);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_kill_all(struct cgroup *cg)
{
	int n = 0;
	/* every ISC process is in each hierarchy; pids is as good as any */
	for (int part = -1; part < (int)ARRAY_SIZE(cg_parts); part++) {
		char d[PATH_MAX];
		v1_dir(cg, "pids", part, d, sizeof(d));
		n += cg_kill_procs(d);
	}
	return n;
}

static int v1_populated(struct cgroup *cg)
{
	int n = 0;
	for (int part = -1; part < (int)ARRAY_SIZE(cg_parts); part++) {
		char d[PATH_MAX];
		v1_dir(cg, "pids", part, d, sizeof(d));
		n += cg_count_procs(d);
	}
	return n;
}

static int v1_destroy(struct cgroup *cg)
{
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrl); i++) {
		char d[PATH_MAX];
		for (int part = (int)ARRAY_SIZE(cg_parts) - 1; part >= -1; part--) {
			v1_dir(cg, v1_ctrl[i], part, d, sizeof(d));
			int rr = cg_rmdir(d);
			if (rr < 0 && r == 0)
				r = rr;
		}
		/* the shared parent goes with the last ISC (busy while others run) */
		snprintf(d, sizeof(d), "/sys/fs/cgroup/%s/isc", v1_ctrl[i]);
		cg_rmdir(d);
	}
	return r;
}

static int v1_stats(struct cgroup *cg, struct cgroup_stats *st)
{
	char d[PATH_MAX];
	uint64_t ns = 0;
	int r;
	v1_dir(cg, "memory", -1, d, sizeof(d));
	if ((r = cg_read_u64(d, "memory.usage_in_bytes", NULL, &st->memory)) < 0)
		return r;
	v1_dir(cg, "memory", CG_PAYLOAD, d, sizeof(d));
	cg_read_u64(d, "memory.limit_in_bytes", NULL, &st->memory_max);
	v1_dir(cg, "pids", -1, d, sizeof(d));
	cg_read_u64(d, "pids.current", NULL, &st->pids);
	v1_dir(cg, "pids", CG_PAYLOAD, d, sizeof(d));
	cg_read_u64(d, "pids.max", NULL, &st->pids_max);
	v1_dir(cg, "cpuacct", -1, d, sizeof(d));
	cg_read_u64(d, "cpuacct.usage", NULL, &ns);
	st->cpu_usec = ns / 1000;
	return 0;
}

const struct cgroup_ops cgroup_v1_ops = {
	.kind = "v1",
	.create = v1_create,
	.attach = v1_attach,
	.kill_all = v1_kill_all,
	.destroy = v1_destroy,
	.populated = v1_populated,
	.stats = v1_stats,
};
