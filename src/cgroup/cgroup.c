/* cgroup.c - front end: choose the back end, shared helpers; iscd. */
#include "cgroup-internal.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/statfs.h>
#include <time.h>

int cg_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write_all(fd, val, strlen(val));
}

int cg_kill_procs(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	int n = 0, pid;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 0 && kill(pid, SIGKILL) == 0)
			n++;
	fclose(f);
	return n;
}

int cgroup_init(struct cgroup *cg, const char *isc_name)
{
	struct statfs sf;
	snprintf(cg->name, sizeof(cg->name), "isc/%s", isc_name);
	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		cg->ops = &cgroup_v2_ops;
	else
		cg->ops = &cgroup_v1_ops;
	return 0;
}

int cgroup_create(struct cgroup *cg, struct isc_err *e)
{
	int r = cg->ops->create(cg);
	return r < 0 ? err_sys(e, -r, "create cgroup %s (%s)", cg->name, cg->ops->kind) : 0;
}

int cgroup_attach(struct cgroup *cg, pid_t pid, struct isc_err *e)
{
	int r = cg->ops->attach(cg, pid);
	return r < 0 ? err_sys(e, -r, "move pid %d into cgroup %s", pid, cg->name) : 0;
}

int cgroup_destroy(struct cgroup *cg, struct isc_err *e)
{
	/* Nothing of the ISC may outlive it: kill until empty (bounded). */
	for (int i = 0; i < 200; i++) {
		cg->ops->kill_all(cg);
		if (cg->ops->populated(cg) <= 0)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	int r = cg->ops->destroy(cg);
	return r < 0 ? err_sys(e, -r, "remove cgroup %s", cg->name) : 0;
}
