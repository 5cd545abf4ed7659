/* v1.c - cgroup v1 back end: the same tree in each controller's hierarchy (memory, pids, cpu, cpuacct); iscd and iscadm. */
#include "cgroup-internal.h"

#include <fcntl.h>
#include <sys/stat.h>

/* The controllers an ISC is accounted and limited in, and the freezer
 * where the host mounts it.  Moving a task costs one RCU grace period
 * however many hierarchies it joins. */
static const char *const v1_ctrl[] = { "memory", "pids", "cpu", "cpuacct", "freezer" };
#define V1_OPTIONAL "freezer"

/* Is ctrl's hierarchy one this ISC has a group in?  The required ones
 * always (a missing one fails where it is used). */
static bool v1_has(const char *ctrl)
{
	char p[64];
	if (!STREQ(ctrl, V1_OPTIONAL))
		return true;
	snprintf(p, sizeof(p), "/sys/fs/cgroup/%s/cgroup.procs", ctrl);
	return access(p, F_OK) == 0;
}

/* The group sub (NULL: the ISC's own) in ctrl's hierarchy. */
static void v1_dir(const struct cgroup *cg, const char *ctrl, const char *sub, char *buf, size_t n)
{
	char base[PATH_MAX];
	snprintf(base, sizeof(base), "/sys/fs/cgroup/%s/%s", ctrl, cg->name);
	cg_path(buf, n, base, sub);
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
	char top[PATH_MAX], pay[PATH_MAX];
	int r;
	v1_dir(cg, "memory", NULL, top, sizeof(top));
	v1_dir(cg, "memory", cg_parts[CG_PAYLOAD], pay, sizeof(pay));
	if ((r = v1_memory(top, l->memory + CGROUP_LOGIN_MEMORY)) < 0 || (r = v1_memory(pay, l->memory)) < 0)
		return r;
	v1_dir(cg, "pids", NULL, top, sizeof(top));
	v1_dir(cg, "pids", cg_parts[CG_PAYLOAD], pay, sizeof(pay));
	if ((r = cg_write_u64(top, "pids.max", l->pids + CGROUP_LOGIN_PIDS)) < 0 ||
	    (r = cg_write_u64(pay, "pids.max", l->pids)) < 0)
		return r;
	v1_dir(cg, "cpu", NULL, top, sizeof(top));
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
		if (!v1_has(v1_ctrl[i]))
			continue;
		for (int part = -1; part <= CG_PAYLOAD; part++) {
			char d[PATH_MAX];
			v1_dir(cg, v1_ctrl[i], part < 0 ? NULL : cg_parts[part], d, sizeof(d));
			int r = cg_mkdir(d);
			if (r < 0)
				return r;
		}
	}
	return v1_limits(cg, l);
}

static int v1_add(struct cgroup *cg, const char *sub, uint64_t memory, uint64_t pids)
{
	char d[PATH_MAX];
	/* plain mkdir: a parent that is gone stays gone (no group without
	 * its limits above it).  The first hierarchy says whether the group
	 * exists; in the others one may be left of a failed rollback. */
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrl); i++) {
		if (!v1_has(v1_ctrl[i]))
			continue;
		v1_dir(cg, v1_ctrl[i], sub, d, sizeof(d));
		if (mkdir(d, 0755) < 0 && (errno != EEXIST || i == 0))
			return -errno;
	}
	v1_dir(cg, "memory", sub, d, sizeof(d));
	int r = v1_memory(d, memory);
	if (r < 0)
		return r;
	v1_dir(cg, "pids", sub, d, sizeof(d));
	return cg_write_u64(d, "pids.max", pids);
}

static int v1_attach(struct cgroup *cg, const char *sub, pid_t pid)
{
	char v[32];
	snprintf(v, sizeof(v), "%d", pid);
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrl); i++) {
		char d[PATH_MAX];
		if (!v1_has(v1_ctrl[i]))
			continue;
		v1_dir(cg, v1_ctrl[i], sub, d, sizeof(d));
		int r = cg_write(d, "cgroup.procs", v);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_kill(struct cgroup *cg, const char *sub)
{
	char d[PATH_MAX];
	/* every ISC process is in each hierarchy; pids is as good as any.
	 * pids.max 0 (allowed below pids.current) fails every fork in the
	 * tree with EAGAIN, so what is killed is not replaced: no freezer
	 * hierarchy needed.  A group already gone: nothing to kill. */
	v1_dir(cg, "pids", sub, d, sizeof(d));
	cg_write(d, "pids.max", "0");
	return cg_tree_each(d, cg_kill_procs);
}

static int v1_populated(struct cgroup *cg, const char *sub)
{
	char d[PATH_MAX];
	v1_dir(cg, "pids", sub, d, sizeof(d));
	return cg_tree_each(d, cg_count_procs);
}

static int v1_remove(struct cgroup *cg, const char *sub)
{
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrl); i++) {
		char d[PATH_MAX];
		if (!v1_has(v1_ctrl[i]))
			continue;
		v1_dir(cg, v1_ctrl[i], sub, d, sizeof(d));
		int rr = cg_tree_each(d, cg_rmdir);
		if (rr < 0 && r == 0)
			r = rr;
		/* the shared parent goes with the last ISC (busy while others run) */
		if (!sub) {
			snprintf(d, sizeof(d), "/sys/fs/cgroup/%s/isc", v1_ctrl[i]);
			cg_rmdir(d);
		}
	}
	return r;
}

static int v1_stats(struct cgroup *cg, struct cgroup_stats *st)
{
	char d[PATH_MAX];
	uint64_t ns = 0;
	int r;
	v1_dir(cg, "memory", NULL, d, sizeof(d));
	if ((r = cg_read_u64(d, "memory.usage_in_bytes", NULL, &st->memory)) < 0)
		return r;
	v1_dir(cg, "memory", cg_parts[CG_PAYLOAD], d, sizeof(d));
	cg_read_u64(d, "memory.limit_in_bytes", NULL, &st->memory_max);
	cg_read_u64(d, "memory.oom_control", "oom_kill", &st->oom_kills);
	v1_dir(cg, "pids", NULL, d, sizeof(d));
	cg_read_u64(d, "pids.current", NULL, &st->pids);
	v1_dir(cg, "pids", cg_parts[CG_PAYLOAD], d, sizeof(d));
	cg_read_u64(d, "pids.max", NULL, &st->pids_max);
	cg_read_u64(d, "pids.events", "max", &st->pids_refused);
	v1_dir(cg, "cpuacct", NULL, d, sizeof(d));
	cg_read_u64(d, "cpuacct.usage", NULL, &ns);
	st->cpu_usec = ns / 1000;
	return 0;
}

/* freezer.state of a group: writing FROZEN freezes its whole tree;
 * reading says FREEZING until every task has stopped, and FROZEN while the
 * group or a parent is frozen.  A group frozen by itself stays so when its
 * parent thaws.  A frozen task takes no signal, SIGKILL included, until
 * thawed. */
static int v1_freeze(struct cgroup *cg, const char *sub, bool on)
{
	char d[PATH_MAX];
	if (!v1_has("freezer"))
		return -EOPNOTSUPP;
	v1_dir(cg, "freezer", sub, d, sizeof(d));
	return cg_write(d, "freezer.state", on ? "FROZEN" : "THAWED");
}

static int v1_frozen(struct cgroup *cg, const char *sub)
{
	char d[PATH_MAX], path[PATH_MAX + 16], st[32] = "";
	if (!v1_has("freezer"))
		return 0;
	v1_dir(cg, "freezer", sub, d, sizeof(d));
	snprintf(path, sizeof(path), "%s/freezer.state", d);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t k = read_all(fd, st, sizeof(st) - 1);
	if (k < 0)
		return (int)k;
	return str_has_prefix(st, "FROZEN");
}

static int v1_thaw_one(const char *d)
{
	return cg_write(d, "freezer.state", "THAWED");
}

static int v1_thaw_tree(struct cgroup *cg)
{
	char d[PATH_MAX];
	if (!v1_has("freezer"))
		return -EOPNOTSUPP;
	v1_dir(cg, "freezer", NULL, d, sizeof(d));
	return cg_tree_each(d, v1_thaw_one);
}

const struct cgroup_ops cgroup_v1_ops = {
	.kind = "v1",
	.create = v1_create,
	.add = v1_add,
	.attach = v1_attach,
	.kill = v1_kill,
	.populated = v1_populated,
	.remove = v1_remove,
	.stats = v1_stats,
	.freeze = v1_freeze,
	.frozen = v1_frozen,
	.thaw_tree = v1_thaw_tree,
};
