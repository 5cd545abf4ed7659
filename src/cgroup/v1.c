/* v1.c - cgroup v1 back end: one group per controller hierarchy (memory, pids, cpu); iscd. */
#include "cgroup-internal.h"

#include <sys/stat.h>

/* The controllers an ISC is accounted and limited in. */
static const char *const v1_ctrl[] = { "memory", "pids", "cpu" };

static void v1_dir(const struct cgroup *cg, const char *ctrl, char *buf, size_t n)
{
	snprintf(buf, n, "/sys/fs/cgroup/%s/%s", ctrl, cg->name);
}

static int v1_create(struct cgroup *cg)
{
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrl); i++) {
		char d[PATH_MAX], parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "/sys/fs/cgroup/%s/isc", v1_ctrl[i]);
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return -errno;
		v1_dir(cg, v1_ctrl[i], d, sizeof(d));
		if (mkdir(d, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

static int v1_attach(struct cgroup *cg, pid_t pid)
{
	char v[32];
	snprintf(v, sizeof(v), "%d", pid);
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrl); i++) {
		char d[PATH_MAX];
		v1_dir(cg, v1_ctrl[i], d, sizeof(d));
		int r = cg_write(d, "cgroup.procs", v);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_kill_all(struct cgroup *cg)
{
	char d[PATH_MAX];
	v1_dir(cg, "pids", d, sizeof(d));   /* every ISC process is in each hierarchy */
	return cg_kill_procs(d);
}

static int v1_populated(struct cgroup *cg)
{
	char d[PATH_MAX], path[PATH_MAX + 32];
	v1_dir(cg, "pids", d, sizeof(d));
	snprintf(path, sizeof(path), "%s/cgroup.procs", d);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int pid, n = 0;
	while (fscanf(f, "%d", &pid) == 1)
		n++;
	fclose(f);
	return n;
}

static int v1_destroy(struct cgroup *cg)
{
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrl); i++) {
		char d[PATH_MAX];
		v1_dir(cg, v1_ctrl[i], d, sizeof(d));
		if (rmdir(d) < 0 && errno != ENOENT && r == 0)
			r = -errno;
		/* the shared parent goes with the last ISC (EBUSY while others run) */
		snprintf(d, sizeof(d), "/sys/fs/cgroup/%s/isc", v1_ctrl[i]);
		rmdir(d);
	}
	return r;
}

const struct cgroup_ops cgroup_v1_ops = {
	.kind = "v1",
	.create = v1_create,
	.attach = v1_attach,
	.kill_all = v1_kill_all,
	.destroy = v1_destroy,
	.populated = v1_populated,
};
