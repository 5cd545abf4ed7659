/* proc.c - the last steps of every container process before it runs (limits,
 * user, confinement), its terminal, and the monitor that answers isc's
 * seccomp notifications.  isc-runtime. */
#include "runtime.h"
#include "kernel.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <linux/close_range.h>

int ctr_console_connect(const char *path, struct isc_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (str_copy(sa.sun_path, sizeof(sa.sun_path), path) < 0)
		return err_set(e, ENAMETOOLONG, "--console-socket %.64s: path too long", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = err_sys(e, errno, "--console-socket %s", path);
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

int ctr_console_send(int sock, int master, struct isc_err *e)
{
	char name[64] = "/dev/console";
	ptsname_r(master, name, sizeof(name));
	int r = fd_send(sock, name, strlen(name), &master, 1);
	return r < 0 ? err_sys(e, -r, "send the terminal on the console socket") : 0;
}

int ctr_terminal(int sock, unsigned rows, unsigned cols, bool console, struct isc_err *e)
{
	const struct sandbox_pty o = { .console = console, .rows = (unsigned short)rows,
				       .cols = (unsigned short)cols, .send = ctr_console_send };
	int slave = sandbox_pty_open(sock, &o, e);
	if (slave < 0)
		return slave;
	int r = 0;
	for (int i = 0; i < 3 && r == 0; i++)
		if (dup2(slave, i) < 0)
			r = err_sys(e, errno, "stdio");
	if (slave > 2)
		close(slave);
	return r;
}

/* ---- the monitor ------------------------------------------------------------ */

/* Denials to ROOT/denials.log (kept after delete, shared by the
 * containers, one line each, bounded) and to --log. */
#define MONITOR_LOG_MAX (4u << 20)
/* and each process tree's share of it: one noisy container does not use
 * up the file for the others (it is still answered, and counted) */
#define MONITOR_LINES_MAX 1000

static void monitor_log(const struct rt *rt, int logfd, const char *id, const char *verb, const char *what)
{
	struct stat st;
	char ts[40], esc[512];
	time_t now = time(NULL);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	/* what names the process's command as it set it: escaped */
	str_escape(what, strlen(what), esc, sizeof(esc));
	if (logfd >= 0 && fstat(logfd, &st) == 0 && (uint64_t)st.st_size < MONITOR_LOG_MAX)
		dprintf(logfd, "%s %s %s %s\n", ts, id, verb, esc);
	rt_log(rt, "warning", "seccomp: %s %s", verb, esc);
}

__attribute__((noreturn)) static void monitor_main(const struct rt *rt, const char *id, int sock, int logfd)
{
	int listener = -1;
	char b;
	size_t nfd = 1;
	/* the listener comes when the process confines itself; end of file:
	 * it never got there */
	if (fd_recv(sock, &b, 1, &listener, &nfd) <= 0 || nfd != 1 || listener < 0)
		_exit(0);
	close(sock);
	unsigned long logged = 0, quiet = 0;
	for (;;) {
		struct pollfd p = { .fd = listener, .events = POLLIN };
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (p.revents & POLLIN) {
			char what[256];
			int r = confine_notify_deny(listener, what, sizeof(what));
			if (r == 0 && logged < MONITOR_LINES_MAX)
				monitor_log(rt, logfd, id, "denied", what);
			else if (r == 0)
				quiet++;
			else if (r != -ENOENT && r != -EINTR)
				_exit(1);
			if (r == 0 && ++logged == MONITOR_LINES_MAX)
				monitor_log(rt, logfd, id, "note:", "the rest of this process tree's denials are counted, not logged");
			continue;
		}
		/* POLLHUP: no process under the filter is left */
		if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
			if (quiet) {
				char n[96];
				snprintf(n, sizeof(n), "%lu more denials, not logged one by one", quiet);
				monitor_log(rt, logfd, id, "note:", n);
			}
			_exit(0);
		}
	}
}

int ctr_monitor_fork(const struct rt *rt, const char *id)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/denials.log", rt->root);
	int logfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(sv[0]);
		close(sv[1]);
		if (logfd >= 0)
			close(logfd);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		/* nothing of the engine's: its stdio pipes must see end of file
		 * when the container's processes are gone, not when we are */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int i = 0; i < 3 && null >= 0; i++)
			dup3(null, i, 0);
		int keep_lo = sv[1] < logfd ? sv[1] : logfd, keep_hi = sv[1] < logfd ? logfd : sv[1];
		if (logfd < 0)
			keep_lo = keep_hi = sv[1];
		close_range(3, (unsigned)keep_lo - 1, 0);
		if (keep_hi > keep_lo)
			close_range((unsigned)keep_lo + 1, (unsigned)keep_hi - 1, 0);
		close_range((unsigned)keep_hi + 1, ~0U, 0);
		setsid();
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		monitor_main(rt, id, sv[1], logfd);
	}
	close(sv[1]);
	if (logfd >= 0)
		close(logfd);
	return sv[0];
}

/* ---- the process's last steps -------------------------------------------------- */

/* The spec's limits, as given: a hard limit above ours is refused by the
 * kernel (this runtime never holds CAP_SYS_RESOURCE's right to raise). */
static int rlimits_set(const struct oci_process *p, struct isc_err *e)
{
	for (size_t i = 0; i < p->nrlimits; i++) {
		struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
		if (setrlimit(p->rlimits[i].resource, &rl) < 0)
			return err_sys(e, errno, "process.rlimits[%zu] (%llu:%llu)", i,
				       (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	}
	return 0;
}

static int user_set(const struct oci_process *p, struct isc_err *e)
{
	/* the capabilities isc keeps survive the change of uid; confine then
	 * narrows them */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return err_sys(e, errno, "keep capabilities");
	if (setgroups(p->ngids, p->gids) < 0)
		return err_sys(e, errno, "process.user.additionalGids");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return err_sys(e, errno, "process.user.gid %u", p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return err_sys(e, errno, "process.user.uid %u", p->uid);
	/* leaving uid 0 cleared the effective set: back from the permitted
	 * one, so that confine can still narrow the bounding set */
	if (p->uid != 0) {
		cap_t c = cap_get_proc();
		cap_value_t v[CAP_LAST_CAP + 1];
		int n = 0;
		for (cap_value_t k = 0; c && k <= CAP_LAST_CAP; k++) {
			cap_flag_value_t f;
			if (cap_get_flag(c, k, CAP_PERMITTED, &f) == 0 && f == CAP_SET)
				v[n++] = k;
		}
		int r = !c || cap_set_flag(c, CAP_EFFECTIVE, n, v, CAP_SET) < 0 || cap_set_proc(c) < 0 ? -errno : 0;
		if (c)
			cap_free(c);
		if (r < 0)
			return err_sys(e, -r, "capabilities after the change of user");
	}
	if (p->has_umask)
		umask(p->umask);
	return 0;
}

static int oom_set(const struct oci_process *p, struct isc_err *e)
{
	if (!p->has_oom_score)
		return 0;
	char v[16];
	snprintf(v, sizeof(v), "%d", p->oom_score_adj);
	_cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write_all(fd, v, strlen(v)) < 0)
		return err_sys(e, errno, "process.oomScoreAdj");
	return 0;
}

void ctr_confine_init(const struct oci_spec *s, struct confine *c)
{
	struct kernel_features k;
	kernel_probe(&k, false);
	confine_default(c);
	c->caps = s->proc.caps;
	c->mdwe = s->mdwe && k.mdwe;
	/* W^X still holds where the kernel has no MDWE: the filter gives it */
	c->wx_filter = s->mdwe && !k.mdwe;
	c->landlock = k.landlock_abi > 0;
	struct sandbox_oci o = { .profile = s->profile, .mounts = s->mounts, .nmounts = s->nmounts };
	sandbox_oci_confine_paths(&o, c);
}

static int confine_set(const struct oci_spec *s, int mon, struct isc_err *e)
{
	struct confine c;
	ctr_confine_init(s, &c);
	int listener = -1;
	if (confine_apply(&c, &listener, e) < 0)
		return err_prefix(e, "confine");
	if (listener >= 0) {
		int r = fd_send(mon, "S", 1, &listener, 1);
		close(listener);
		if (r < 0)
			return err_sys(e, -r, "hand the seccomp listener to the monitor");
	}
	close(mon);
	/* last: the spec's own filter, on top of isc's */
	if (s->has_seccomp && confine_seccomp_spec(&s->seccomp, e) < 0)
		return err_prefix(e, "linux.seccomp");
	return 0;
}

static void fail(int errfd, const struct isc_err *e)
{
	if (errfd >= 0)
		write_all(errfd, e, sizeof(*e));
	else
		dprintf(2, "isc-runtime: %s\n", e->msg);
	_exit(127);
}

void ctr_exec_process(const struct oci_spec *s, const struct oci_process *p, unsigned preserve_fds, int mon,
		      int errfd)
{
	struct isc_err e = { 0 };
	/* caps are the process's own (an exec's may differ): the spec copy
	 * confine_set reads carries them */
	struct oci_spec view = *s;
	view.proc.caps = p->caps;
	if (rlimits_set(p, &e) < 0 || oom_set(p, &e) < 0 || user_set(p, &e) < 0)
		fail(errfd, &e);
	if (chdir(p->cwd) < 0) {
		err_sys(&e, errno, "process.cwd %.200s", p->cwd);
		fail(errfd, &e);
	}
	if (confine_set(&view, mon, &e) < 0)
		fail(errfd, &e);
	/* the engine's fds 3.. (LISTEN_FDS) stay; nothing else of ours */
	for (unsigned i = 0; i < preserve_fds; i++)
		fcntl(3 + (int)i, F_SETFD, 0);
	if (errfd >= 0 && errfd < 3 + (int)preserve_fds)
		errfd = -1;
	close_range(3 + preserve_fds, ~0U, errfd >= 0 ? CLOSE_RANGE_CLOEXEC : 0);
	clearenv();
	for (size_t i = 0; p->env && p->env[i]; i++)
		putenv(p->env[i]);
	sig_reset_for_exec();
	execvp(p->args[0], p->args);
	err_sys(&e, errno, "exec %.200s", p->args[0]);
	fail(errfd, &e);
	_exit(127);
}
