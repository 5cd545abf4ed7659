/* live.c - is an ISC running, how did it boot, and what a dead supervisor
 * left behind.  The isc library (iscadm). */
#include "isc.h"
#include "cgroup.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

bool isc_running(const char *name)
{
	return run_supervisor_alive(name);
}

int isc_run_state(const char *name, struct run_state *st)
{
	if (!isc_running(name))
		return -ESRCH;
	/* a supervisor between its lock and its first state file: not yet
	 * writable, its layers not yet known */
	if (run_state_read(name, st) < 0)
		*st = (struct run_state){ .mode = BOOT_READONLY };
	return 0;
}

int isc_run_mode(const char *name, enum boot_mode *mode)
{
	struct run_state st;
	int r = isc_run_state(name, &st);
	if (r == 0)
		*mode = st.mode;
	return r;
}

/* Hold name's supervisor lock, so that none starts while we clean up
 * after a dead one: the lock's fd, or -1 when a supervisor runs.  *made:
 * we created the lock file (and remove it again). */
static int stale_hold(const char *name, bool *made)
{
	char dir[PATH_MAX], path[PATH_MAX];
	*made = false;
	if (run_path(dir, sizeof(dir), name, NULL) < 0 || run_path(path, sizeof(path), name, "lock") < 0)
		return -1;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		mkdir(ISC_RUN_DIR, 0711);
		mkdir(dir, 0700);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		*made = fd >= 0;
	}
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

void (*isc_stale_hook)(const char *name);

bool isc_clean_stale(const char *name)
{
	bool made;
	char path[PATH_MAX];
	int fd = stale_hold(name, &made);
	if (fd < 0)
		return false;
	run_state_remove(name);
	run_path(path, sizeof(path), name, "ctl");
	unlink(path);
	struct cgroup cg;
	cgroup_init(&cg, name);
	cgroup_destroy(&cg, NULL);
	if (made) {
		run_path(path, sizeof(path), name, "lock");
		unlink(path);
		run_path(path, sizeof(path), name, NULL);
		rmdir(path);
	}
	close(fd);
	if (isc_stale_hook)
		isc_stale_hook(name);
	return true;
}

int isc_wait_stopped(const char *name, int timeout)
{
	for (int i = 0; i < timeout * 50; i++) {
		if (!isc_running(name))
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}
