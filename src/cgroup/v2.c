/* v2.c - cgroup v2 back end (unified hierarchy at /sys/fs/cgroup); iscd. */
#include "cgroup-internal.h"

#include <sys/stat.h>

static void v2_dir(const struct cgroup *cg, char *buf, size_t n)
{
	snprintf(buf, n, "/sys/fs/cgroup/%s", cg->name);
}

static int v2_create(struct cgroup *cg)
{
	char d[PATH_MAX];
	if (mkdir("/sys/fs/cgroup/isc", 0755) < 0 && errno != EEXIST)
		return -errno;
	/* let the ISC groups use the controllers the host offers */
	cg_write("/sys/fs/cgroup", "cgroup.subtree_control", "+memory +pids +cpu");
	cg_write("/sys/fs/cgroup/isc", "cgroup.subtree_control", "+memory +pids +cpu");
	v2_dir(cg, d, sizeof(d));
	return mkdir(d, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int v2_attach(struct cgroup *cg, pid_t pid)
{
	char d[PATH_MAX], v[32];
	v2_dir(cg, d, sizeof(d));
	snprintf(v, sizeof(v), "%d", pid);
	return cg_write(d, "cgroup.procs", v);
}

static int v2_kill_all(struct cgroup *cg)
{
	char d[PATH_MAX];
	v2_dir(cg, d, sizeof(d));
	if (cg_write(d, "cgroup.kill", "1") == 0)
		return 0;
	return cg_kill_procs(d);
}

static int v2_populated(struct cgroup *cg)
{
	char d[PATH_MAX], path[PATH_MAX + 32];
	v2_dir(cg, d, sizeof(d));
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

static int v2_destroy(struct cgroup *cg)
{
	char d[PATH_MAX];
	v2_dir(cg, d, sizeof(d));
	int r = rmdir(d) < 0 && errno != ENOENT ? -errno : 0;
	rmdir("/sys/fs/cgroup/isc");   /* the shared parent goes with the last ISC */
	return r;
}

const struct cgroup_ops cgroup_v2_ops = {
	.kind = "v2",
	.create = v2_create,
	.attach = v2_attach,
	.kill_all = v2_kill_all,
	.destroy = v2_destroy,
	.populated = v2_populated,
};
