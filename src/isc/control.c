/* control.c - boot, halt, reboot, run and login: starting a supervisor and
 * talking to a running one over its control socket.  The isc library
 * (iscadm). */
#include "isc.h"
#include "ipc.h"

#include <fcntl.h>
#include <sys/wait.h>

/* The ISC exists; a writable mode suits its profile; with want_key, its
 * key is in the kernel (loaded from its keysource here, where a terminal
 * can be prompted; iscd cannot). */
static int boot_check(const char *root, const char *name, enum boot_mode mode, bool want_key,
		      bool interactive, struct isc_err *e)
{
	struct pool p;
	struct isc_config c;
	if (pool_open(&p, root, POOL_LOCK_SHARED, e) < 0)
		return -e->code;
	int r = isc_config_load(&p, name, &c, e);
	if (r == 0) {
		/* under none the root is writable already */
		if (boot_mode_writable(mode) && c.profile == PROFILE_NONE)
			r = err_set(e, EINVAL, "ISC %s has profile none: its root is writable already "
				    "(-w/-W are for read-only ISCs)", name);
		else if (want_key && !isc_running(name))
			r = isc_key_ready(&p, &c, interactive, e);
		config_free(&c);
	}
	pool_close(&p);
	return r;
}

/* Start iscd and wait for its word. */
static int boot_spawn(const char *root, const char *name, struct isc_boot *b, struct isc_err *e)
{
	char iscd[PATH_MAX], log[PATH_MAX];
	if (isc_libexec_path("iscd", iscd, sizeof(iscd)) < 0)
		return err_set(e, ENOENT, "iscd not found");
	run_path(log, sizeof(log), name, NULL);
	mkdir_p_at(AT_FDCWD, log, 0700);
	run_path(log, sizeof(log), name, "iscd.log");
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	char **argv = NULL;
	const char *fixed[] = { "iscd", "--root", root, "--ready-fd", "3", "--mode", boot_mode_name(b->mode),
				name, "--" };
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		strv_push(&argv, fixed[i]);
	for (size_t i = 0; b->cmd && b->cmd[i]; i++)
		strv_push(&argv, b->cmd[i]);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0) {
		int err = errno;
		strv_free(argv);
		close(p[0]);
		close(p[1]);
		return err_sys(e, err, "open /dev/null");
	}
	/* its log, else nowhere */
	int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int r = spawn_detached(iscd, argv, (int[]){ null, out >= 0 ? out : null, out >= 0 ? out : null, p[1] }, 4);
	strv_free(argv);
	close(p[1]);
	close(null);
	if (out >= 0)
		close(out);
	if (r < 0) {
		close(p[0]);
		return err_sys(e, -r, "start %s", iscd);
	}
	int fd = p[0];
	char buf[1200];
	ssize_t n = read_all(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(b->said, sizeof(b->said), "%s", buf);
	/* "OK", "OK committed DIGEST", "OK unchanged" (-W), "FAIL why" (-W:
	 * running read-only, update not made), "ERR why" */
	if (STREQ(buf, "OK") || str_has_prefix(buf, "OK "))
		return 0;
	if (str_has_prefix(buf, "FAIL "))
		return err_set(e, ECANCELED, "ISC %s: %s", name, buf + 5);
	return err_set(e, EIO, "%s", str_has_prefix(buf, "ERR ") ? buf + 4 :
		       "supervisor failed to start (see " ISC_RUN_DIR "/NAME/iscd.log)");
}

int isc_boot(const char *root, const char *name, struct isc_boot *b, struct isc_err *e)
{
	b->said[0] = '\0';
	int r = boot_check(root, name, b->mode, true, b->interactive, e);
	if (r < 0)
		return r;
	if (isc_running(name))
		return err_set(e, EBUSY, "ISC %s is already running", name);
	isc_clean_stale(name);
	return boot_spawn(root, name, b, e);
}

/* One request, one answer. */
/* A request to name's supervisor; its answer's text in said (may be NULL). */
static int ctl_request_said(const char *name, enum ipc_type t, const void *data, size_t len,
			    char *said, size_t n, struct isc_err *e)
{
	_cleanup_close_ int fd = ipc_connect(name);
	if (fd < 0)
		return err_sys(e, -fd, "ISC %s: supervisor not reachable", name);
	int r = ipc_send(fd, t, 0, data, len, NULL, 0);
	if (r < 0)
		return err_sys(e, -r, "ISC %s: send", name);
	struct ipc_hdr h;
	char buf[IPC_MAX + 1];
	if ((r = ipc_recv(fd, &h, buf, NULL, NULL)) < 0)
		return err_sys(e, -r, "ISC %s: no answer from supervisor", name);
	if (h.type == IPC_ERR)
		return err_set(e, EIO, "ISC %s: %s", name, buf);
	if (said)
		str_copy(said, n, buf);
	return 0;
}

static int ctl_request(const char *name, enum ipc_type t, const void *data, size_t len,
		       struct isc_err *e)
{
	return ctl_request_said(name, t, data, len, NULL, 0, e);
}

static int need_running(const char *name, struct isc_err *e)
{
	if (isc_running(name))
		return 0;
	isc_clean_stale(name);
	return err_set(e, EINVAL, "ISC %s is not running", name);
}

int isc_halt(const char *name, struct isc_err *e)
{
	int r = need_running(name, e);
	if (r == 0)
		r = ctl_request(name, IPC_HALT, NULL, 0, e);
	if (r < 0)
		return r;
	/* a writable session is committed before the supervisor exits */
	if (isc_wait_stopped(name, 3600) < 0)
		return err_set(e, ETIMEDOUT, "ISC %s: supervisor did not exit", name);
	return 0;
}

int isc_freeze(const char *name, bool frozen, struct isc_err *e)
{
	int r = need_running(name, e);
	return r < 0 ? r : ctl_request(name, frozen ? IPC_FREEZE : IPC_THAW, NULL, 0, e);
}

int isc_release(const char *name, char *said, size_t n, struct isc_err *e)
{
	int r = need_running(name, e);
	return r < 0 ? r : ctl_request_said(name, IPC_RELEASE, NULL, 0, said, n, e);
}

int isc_reboot(const char *root, const char *name, enum boot_mode mode, struct isc_err *e)
{
	struct ipc_reboot rq = { .mode = (uint8_t)mode };
	int r = boot_check(root, name, mode, false, false, e);
	if (r == 0)
		r = need_running(name, e);
	return r < 0 ? r : ctl_request(name, IPC_REBOOT, &rq, sizeof(rq), e);
}

pid_t isc_run_spawn(const struct isc_run *rn, struct isc_err *e)
{
	char iscd[PATH_MAX];
	if (isc_libexec_path("iscd", iscd, sizeof(iscd)) < 0)
		return err_set(e, ENOENT, "iscd not found");
	char **argv = NULL;
	const char *fixed[] = { "iscd", "--root", rn->root, "--run" };
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		strv_push(&argv, fixed[i]);
	if (rn->tty_sock >= 0) {
		strv_push(&argv, "--tty-fd");
		strv_push(&argv, "3");
	}
	strv_push(&argv, rn->name);
	strv_push(&argv, "--");
	for (size_t i = 0; rn->cmd[i]; i++)
		strv_push(&argv, rn->cmd[i]);
	int fds[4] = { rn->stdio[0], rn->stdio[1], rn->stdio[2], rn->tty_sock };
	pid_t pid = spawn_fds(iscd, argv, fds, rn->tty_sock >= 0 ? 4 : 3);
	strv_free(argv);
	return pid < 0 ? err_sys(e, (int)-pid, "start %s", iscd) : pid;
}

int isc_login_start(const char *name, const struct isc_login *l, int *sock, int *master,
		    struct isc_err *e)
{
	*sock = *master = -1;
	if (!isc_running(name))
		return err_set(e, EINVAL, "ISC %s is not running", name);
	_cleanup_close_ int fd = ipc_connect(name);
	if (fd < 0)
		return err_sys(e, -fd, "ISC %s: supervisor not reachable", name);
	struct ipc_login rq = { .tty = l->tty, .kind = (uint8_t)l->kind, .rows = l->rows, .cols = l->cols,
				.force = l->force };
	snprintf(rq.term, sizeof(rq.term), "%s", l->term && strlen(l->term) < sizeof(rq.term) ? l->term : "");
	char buf[IPC_MAX + 1];
	size_t len;
	if (ipc_login_build(&rq, l->argv, buf, IPC_MAX, &len) < 0)
		return err_set(e, E2BIG, "command too long");
	int r = ipc_send(fd, IPC_LOGIN, 0, buf, len, l->tty ? NULL : l->stdio, l->tty ? 0 : 3);
	if (r < 0)
		return err_sys(e, -r, "ISC %s: send", name);
	struct ipc_hdr h;
	int fds[1];
	size_t nfds = 1;
	if (ipc_recv(fd, &h, buf, fds, &nfds) < 0)
		return err_set(e, EIO, "ISC %s: no answer from supervisor", name);
	if (h.type == IPC_ERR)
		return err_set(e, EIO, "ISC %s: %s", name, buf);
	if (h.type == IPC_PTY && nfds == 1)
		*master = fds[0];
	else if (nfds == 1)
		close(fds[0]);
	*sock = TAKE_FD(fd);
	return 0;
}

int isc_login_wait(int sock)
{
	struct ipc_hdr h;
	char buf[IPC_MAX + 1];
	if (ipc_recv(sock, &h, buf, NULL, NULL) < 0 || h.type != IPC_EXIT)
		return -EIO;
	return h.status;
}
