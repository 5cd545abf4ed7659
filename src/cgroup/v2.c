/* v2.c - cgroup v2 back end (unified hierarchy at /sys/fs/cgroup); iscd and iscadm. */
#include "cgroup-internal.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <inttypes.h>

#define V2_CONTROLLERS "+memory +pids +cpu +io"

/* The group sub (NULL: the ISC's own). */
static void v2_dir(const struct cgroup *cg, const char *sub, char *buf, size_t n)
{
	cg_path(buf, n, cg->v2, sub);
}

static int v2_limits(struct cgroup *cg, const struct cgroup_limits *l)
{
	char top[PATH_MAX], pay[PATH_MAX], cpu[64];
	v2_dir(cg, NULL, top, sizeof(top));
	v2_dir(cg, cg_parts[CG_PAYLOAD], pay, sizeof(pay));
	int r;
	/* no swap, in the whole subtree: the ISC's memory never reaches a disk in clear */
	if ((r = cg_write_u64(top, "memory.max", l->memory + CGROUP_LOGIN_MEMORY)) < 0 ||
	    (r = cg_write(top, "memory.swap.max", "0")) < 0 ||
	    (r = cg_write_u64(pay, "memory.max", l->memory)) < 0 ||
	    (r = cg_write_u64(top, "pids.max", l->pids + CGROUP_LOGIN_PIDS)) < 0 ||
	    (r = cg_write_u64(pay, "pids.max", l->pids)) < 0 ||
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
	v2_dir(cg, cg_parts[CG_PAYLOAD], d, sizeof(d));
	int r = cg_mkdir(d);
	if (r < 0)
		return r;
	/* let the ISC groups use the controllers the host offers; the ISC's
	 * group holds no process itself: its children (payload/, login/) do.  In a scope,
	 * systemd hands the controllers to the scope and the scope's own
	 * group passes them on (the supervisor sits in a leaf beside isc/);
	 * without, the hierarchy's root and the shared isc/ are ours. */
	v2_dir(cg, NULL, d, sizeof(d));
	if (cg->scoped) {
		char scope[PATH_MAX];
		snprintf(scope, sizeof(scope), "%s", d);
		*strrchr(scope, '/') = '\0';
		cg_write(scope, "cgroup.subtree_control", V2_CONTROLLERS);
	} else {
		/* every group from the root down to ours (isc/, or the parents
		 * of an OCI container's cgroupsPath) */
		char up[PATH_MAX];
		snprintf(up, sizeof(up), "%s", d);
		for (char *c = up + strlen("/sys/fs/cgroup"); c; c = strchr(c + 1, '/')) {
			char keep = *c;
			*c = '\0';
			cg_write(up, "cgroup.subtree_control", V2_CONTROLLERS);
			*c = keep;
		}
	}
	cg_write(d, "cgroup.subtree_control", V2_CONTROLLERS);
	return v2_limits(cg, l);
}

static int v2_add(struct cgroup *cg, const char *sub, uint64_t memory, uint64_t pids)
{
	char d[PATH_MAX], parent[PATH_MAX];
	v2_dir(cg, sub, d, sizeof(d));
	/* plain mkdir: a parent that is gone stays gone (no group without
	 * its limits above it) */
	if (mkdir(d, 0755) < 0)
		return -errno;
	/* A group gets memory.max and pids.max only from controllers its
	 * parent hands down, and a parent that does may hold no process of
	 * its own (v2's no-internal-process rule): EBUSY if it still does. */
	snprintf(parent, sizeof(parent), "%s", d);
	*strrchr(parent, '/') = '\0';
	int r;
	if ((r = cg_write(parent, "cgroup.subtree_control", "+memory +pids")) < 0 ||
	    (r = cg_write_u64(d, "memory.max", memory)) < 0)
		return r;
	return cg_write_u64(d, "pids.max", pids);
}

static int v2_attach(struct cgroup *cg, const char *sub, pid_t pid)
{
	char d[PATH_MAX], v[32];
	v2_dir(cg, sub, d, sizeof(d));
	snprintf(v, sizeof(v), "%d", pid);
	return cg_write(d, "cgroup.procs", v);
}

static int v2_kill(struct cgroup *cg, const char *sub)
{
	char d[PATH_MAX];
	v2_dir(cg, sub, d, sizeof(d));
	/* cgroup.kill (5.14) SIGKILLs the whole tree, forks in flight and
	 * tasks migrating in included */
	if (cg_write(d, "cgroup.kill", "1") == 0)
		return 0;
	/* older kernels: pids.max 0 (allowed below pids.current) fails every
	 * fork in the tree, so what is killed is not replaced */
	cg_write(d, "pids.max", "0");
	return cg_tree_each(d, cg_kill_procs);
}

static int v2_populated(struct cgroup *cg, const char *sub)
{
	char d[PATH_MAX];
	uint64_t v;
	v2_dir(cg, sub, d, sizeof(d));
	/* "populated" in cgroup.events covers the whole tree; a group gone
	 * holds nothing */
	int r = cg_read_u64(d, "cgroup.events", "populated", &v);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	return v > 0;
}

static int v2_remove(struct cgroup *cg, const char *sub)
{
	char d[PATH_MAX];
	v2_dir(cg, sub, d, sizeof(d));
	int r = cg_tree_each(d, cg_rmdir);
	/* the shared parent goes with the last ISC; a scope goes by systemd's
	 * hand when its last process (the supervisor) has exited */
	if (!sub && !cg->scoped)
		cg_rmdir("/sys/fs/cgroup/isc");
	return r;
}

/* total= of the "some" or "full" line of dir/RESOURCE.pressure */
static int psi_total(const char *dir, unsigned res, const char *kind, uint64_t *v)
{
	char path[PATH_MAX + 16], line[256];
	snprintf(path, sizeof(path), "%s/%s.pressure", dir, cgroup_psi_names[res]);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		const char *t = strstr(line, " total=");
		if (str_has_prefix(line, kind) && line[strlen(kind)] == ' ' && t)
			return sscanf(t + 7, "%" SCNu64, v) == 1 ? 0 : -EINVAL;
	}
	return -ENOENT;
}

static int v2_stats(struct cgroup *cg, struct cgroup_stats *st)
{
	char d[PATH_MAX];
	v2_dir(cg, NULL, d, sizeof(d));
	int r = cg_read_u64(d, "memory.current", NULL, &st->memory);
	if (r < 0)
		return r;
	cg_read_u64(d, "pids.current", NULL, &st->pids);
	cg_read_u64(d, "cpu.stat", "usage_usec", &st->cpu_usec);
	v2_dir(cg, cg_parts[CG_PAYLOAD], d, sizeof(d));
	cg_read_u64(d, "memory.max", NULL, &st->memory_max);
	cg_read_u64(d, "pids.max", NULL, &st->pids_max);
	cg_read_u64(d, "memory.events", "oom_kill", &st->oom_kills);
	cg_read_u64(d, "pids.events", "max", &st->pids_refused);
	v2_dir(cg, NULL, d, sizeof(d));
	st->psi = true;
	for (unsigned i = 0; i < CGROUP_PSI_N && st->psi; i++)
		st->psi = psi_total(d, i, "some", &st->psi_some_usec[i]) == 0 &&
			  psi_total(d, i, "full", &st->psi_full_usec[i]) == 0;
	return 0;
}

/* cgroup.freeze (5.2) on a group freezes its whole tree; cgroup.events
 * says "frozen 1" once every task below has stopped.  A group frozen by
 * itself stays so when its parent thaws. */
static int v2_freeze(struct cgroup *cg, const char *sub, bool on)
{
	char d[PATH_MAX];
	v2_dir(cg, sub, d, sizeof(d));
	return cg_write(d, "cgroup.freeze", on ? "1" : "0");
}

static int v2_frozen(struct cgroup *cg, const char *sub)
{
	char d[PATH_MAX];
	uint64_t v;
	v2_dir(cg, sub, d, sizeof(d));
	int r = cg_read_u64(d, "cgroup.events", "frozen", &v);
	return r < 0 ? r : v > 0;
}

static int v2_thaw_one(const char *d)
{
	return cg_write(d, "cgroup.freeze", "0");
}

static int v2_thaw_tree(struct cgroup *cg)
{
	char d[PATH_MAX];
	v2_dir(cg, NULL, d, sizeof(d));
	return cg_tree_each(d, v2_thaw_one);
}

static int v2_open(struct cgroup *cg, const char *sub)
{
	char d[PATH_MAX];
	v2_dir(cg, sub, d, sizeof(d));
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

const struct cgroup_ops cgroup_v2_ops = {
	.kind = "v2",
	.create = v2_create,
	.add = v2_add,
	.attach = v2_attach,
	.kill = v2_kill,
	.populated = v2_populated,
	.remove = v2_remove,
	.stats = v2_stats,
	.freeze = v2_freeze,
	.frozen = v2_frozen,
	.thaw_tree = v2_thaw_tree,
	.open = v2_open,
};
