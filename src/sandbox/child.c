/* child.c - the in-namespace half: runs in iscd's forked children before they exec
 * isc-init or a login session.  A failure is reported on errfd and the child exits. */
#include "sandbox-internal.h"
#include "mnt.h"

#include <linux/close_range.h>

#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <linux/sched.h>

#define NS_ALL (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWPID)

/* One write no larger than PIPE_BUF is never split nor interleaved. */
_Static_assert(sizeof(struct isc_err) <= PIPE_BUF, "a failure report must be one atomic write");

__attribute__((noreturn))
static void child_fail(int errfd, const struct isc_err *e)
{
	(void)!write(errfd, e, sizeof(*e));
	_exit(1);
}

int sandbox_err_recv(int errfd, bool wait, struct isc_err *e)
{
	struct isc_err rep;
	if (!wait && fcntl(errfd, F_SETFL, O_NONBLOCK) < 0)
		return err_sys(e, errno, "read the failure report");
	ssize_t k = read_all(errfd, &rep, sizeof(rep));
	if (k == 0 || k == -EAGAIN)
		return 0;
	if (k < 0)
		return err_sys(e, (int)-k, "read the failure report");
	if (k != (ssize_t)sizeof(rep))
		return err_set(e, EPROTO, "a failure report cut short (%zd bytes)", k);
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	return err_set(e, rep.code > 0 && rep.code < 4096 ? rep.code : EIO, "%s", rep.msg);
}

/* clone3(CLONE_PARENT): the new process is our parent's (iscd's) child, so
 * the supervisor reaps it and its death signal follows the supervisor. */
static pid_t fork_parent(void)
{
	struct clone_args a = { .flags = CLONE_PARENT };
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

static int become_root(struct isc_err *e)
{
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return err_sys(e, errno, "become root in the user namespace");
	if (setgroups(0, NULL) < 0)
		return err_sys(e, errno, "setgroups");
	return 0;
}

static int mount_kernel_fs(int root, struct isc_err *e)
{
	/* proc for this pid namespace; nothing in it may run or be a device */
	int r = mnt_place(mnt_fs("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, e),
			  root, "/proc", e);
	/* sysfs of this network namespace, read-only */
	if (r == 0)
		r = mnt_place(mnt_fs("sysfs", NULL, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				     MOUNT_ATTR_NOEXEC, e), root, "/sys", e);
	/* a private devpts: the ISC's terminals are its own */
	const char *pts[] = { "ptmxmode=0666", "mode=0620", NULL };
	if (r == 0)
		r = mnt_place(mnt_fs("devpts", pts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, e),
			      root, "/dev/pts", e);
	return r;
}

/* The kernel interfaces a container must not see or change (as runc masks). */
int sandbox_mask_proc(int root, struct isc_err *e)
{
	static const char *const hide_file[] = { "/proc/kcore", "/proc/keys", "/proc/timer_list",
		"/proc/sched_debug", "/proc/latency_stats", "/proc/key-users" };
	/* block devices: a loop device's backing_file names a host path (the
	 * pool's image, a /scratch file) */
	static const char *const hide_dir[] = { "/proc/acpi", "/proc/scsi", "/proc/asound",
		"/sys/firmware", "/sys/devices/virtual/powercap", "/sys/block", "/sys/class/block",
		"/sys/dev/block", "/sys/devices/virtual/block" };
	static const char *const ro[] = { "/proc/sys", "/proc/sysrq-trigger", "/proc/irq",
		"/proc/bus", "/proc/fs" };
	const unsigned locked = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
	/* A path this kernel does not have is nothing to hide.  Each target is
	 * looked up before its mount is made: a detached mount closed unused
	 * costs an RCU grace period to dissolve. */
	for (size_t i = 0; i < ARRAY_SIZE(hide_file); i++) {
		_cleanup_close_ int t = inroot_open(root, hide_file[i], O_PATH, MNT_RULE);
		if (t == -ENOENT)
			continue;
		int m = t < 0 ? t : mnt_clone(root, "/dev/null", false);
		int r = m < 0 ? m : mnt_attach_at(m, t);
		if (m >= 0)
			close(m);
		if (r < 0)
			return err_sys(e, -r, "mask %s", hide_file[i]);
	}
	/* one empty, read-only tmpfs for them all (the first is mounted, the
	 * others are binds of it): every superblock costs each memory cgroup
	 * of the host a shrinker slot, so masks come in one */
	const char *opts[] = { "size=0", "mode=0555", NULL };
	const char *first = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(hide_dir); i++) {
		_cleanup_close_ int t = inroot_open(root, hide_dir[i], O_PATH, MNT_RULE);
		if (t == -ENOENT)
			continue;
		if (t < 0)
			return err_sys(e, -t, "mask %s", hide_dir[i]);
		int m = first ? mnt_clone(root, first, false) : mnt_fs("tmpfs", opts, locked, e);
		if (m < 0)
			return first ? err_sys(e, -m, "mask %s", hide_dir[i]) : err_prefix(e, "mask %s", hide_dir[i]);
		int r = mnt_attach_at(m, t);
		close(m);
		if (r < 0)
			return err_sys(e, -r, "mask %s", hide_dir[i]);
		if (!first)
			first = hide_dir[i];
	}
	for (size_t i = 0; i < ARRAY_SIZE(ro); i++) {
		int m = mnt_clone(root, ro[i], true);
		if (m == -ENOENT)
			continue;
		int r = m < 0 ? m : mnt_setattr(m, locked, 0, -1);
		if (r == 0)
			r = mnt_attach(m, root, ro[i]);
		if (m >= 0)
			close(m);
		if (r < 0)
			return err_sys(e, -r, "read-only %s", ro[i]);
	}
	return 0;
}

int sandbox_enter_root(int root, struct isc_err *e)
{
	/* pivot_root(".", "."): the old root ends up on top and is detached,
	 * so no host path stays reachable. */
	if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return err_sys(e, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return err_sys(e, errno, "detach old root");
	if (chdir("/") < 0)
		return err_sys(e, errno, "chdir /");
	return 0;
}

static int loopback_up(struct isc_err *e)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return err_sys(e, errno, "loopback");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return err_sys(e, errno, "loopback up");
	return 0;
}

int sandbox_pty_open(int sock, const struct sandbox_pty *o, struct isc_err *e)
{
	_cleanup_close_ int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || unlockpt(master) < 0)
		return err_sys(e, errno, "open ptmx");
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return err_sys(e, errno, "open pty");
	if (o->rows && o->cols) {
		struct winsize ws = { .ws_row = o->rows, .ws_col = o->cols };
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	if (o->raw) {
		/* the console is a log, not a terminal: no \r\n translation */
		struct termios t;
		if (tcgetattr(slave, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(slave, TCSANOW, &t);
		}
	}
	int r = 0;
	if (o->console) {
		/* /dev/console is the container's own terminal, never the host's */
		_cleanup_close_ int b = open_tree(slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		r = b < 0 ? -errno : mnt_attach(b, AT_FDCWD, "/dev/console");
		if (r < 0)
			err_sys(e, -r, "bind /dev/console");
	}
	if (r == 0)
		r = o->send(sock, master, e);
	if (r == 0 && (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0))
		r = err_sys(e, errno, "make the pty our terminal");
	if (r < 0) {
		close(slave);
		return r;
	}
	return slave;
}

/* The master to the supervisor, which relays it. */
static int pty_send(int sock, int master, struct isc_err *e)
{
	int r = fd_send(sock, "M", 1, &master, 1);
	return r < 0 ? err_sys(e, -r, "send pty") : 0;
}

/* stdio from the caller's descriptors, or else the pty slave (closed here). */
static int set_stdio(const int *stdio, int slave, struct isc_err *e)
{
	int r = 0;
	for (int i = 0; i < 3 && r == 0; i++)
		if (dup2(stdio ? stdio[i] : slave, i) < 0)
			r = err_sys(e, errno, "stdio");
	if (slave > 2)
		close(slave);
	return r;
}

/* Confine ourselves; the filter's notifications go to the supervisor,
 * which answers them. */
static int confine_send(const struct confine *c, int sock, struct isc_err *e)
{
	int listener;
	if (confine_apply(c, &listener, e) < 0)
		return err_prefix(e, "confine");
	if (listener < 0)
		return 0;
	int r = fd_send(sock, "S", 1, &listener, 1);
	if (r == 0 && close(listener) < 0)
		r = -errno;
	return r < 0 ? err_sys(e, -r, "send seccomp listener") : 0;
}

/* isc-init's process, in the ISC's new namespaces: kernel filesystems,
 * the root, its name, loopback, console and confinement. */
static int init_prepare(const struct sandbox_spec *s, int sock, struct isc_err *e)
{
	/* pivot_root refuses a locked new root: stack a recursive clone of the
	 * stage on itself. Only its top is unlocked; every mount below keeps
	 * the locks (and read-only/noexec locks) it got from the supervisor. */
	_cleanup_close_ int top = open_tree(AT_FDCWD, s->stage, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (top < 0 || move_mount(top, "", AT_FDCWD, s->stage, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return err_sys(e, errno, "clone stage");
	_cleanup_close_ int root = open(s->stage, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return err_sys(e, errno, "open stage");
	int r = mount_kernel_fs(root, e);
	if (r == 0)
		r = sandbox_mask_proc(root, e);
	if (r == 0)
		r = sandbox_enter_root(root, e);
	if (r < 0)
		return r;
	if (sethostname(s->name, strlen(s->name)) < 0)
		return err_sys(e, errno, "sethostname");
	if ((r = loopback_up(e)) < 0)
		return r;
	int slave = -1;
	const struct sandbox_pty console = { .console = true, .raw = !s->tty, .send = pty_send };
	if (!s->stdio && (slave = sandbox_pty_open(sock, &console, e)) < 0)
		return err_prefix(e, "console");
	if ((r = set_stdio(s->stdio, slave, e)) < 0)
		return r;
	return confine_send(s->confine, sock, e);
}

__attribute__((noreturn))
static void init_main(const struct sandbox_spec *s, int sock, int errfd)
{
	struct isc_err e = { 0 };
	/* if the supervisor dies, the ISC dies with it: no unsupervised ISC */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (init_prepare(s, sock, &e) < 0)
		child_fail(errfd, &e);
	char name_env[96];
	snprintf(name_env, sizeof(name_env), "ISC_NAME=%s", s->name);
	_cleanup_free_ char *info_env = NULL;
	if (s->info && asprintf(&info_env, "ISC_INFO=%s", s->info) < 0)
		info_env = NULL;
	/* nothing of ours crosses into the ISC but stdio and the status pipe
	 * (a write end: what isc-init says of its services, which the
	 * supervisor reads as the ISC's words); errfd reports a failed exec
	 * and closes with it; init_fd is the program itself */
	int init_fd = s->init_fd;
	bool status = s->status_fd > 2;
	if (status && init_fd == 3)
		init_fd = fcntl(3, F_DUPFD_CLOEXEC, 4);
	if (status && errfd == 3)
		errfd = fcntl(3, F_DUPFD_CLOEXEC, 4);
	if (status)
		status = s->status_fd == 3 ? fcntl(3, F_SETFD, 0) == 0 : dup2(s->status_fd, 3) == 3;
	char *envp[6] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "container=isc", name_env };
	size_t k = 3;
	if (info_env)
		envp[k++] = info_env;
	if (status)
		envp[k++] = "ISC_STATUS_FD=3";
	envp[k] = NULL;
	close_range(status ? 4 : 3, ~0U, CLOSE_RANGE_CLOEXEC);
	/* the supervisor's blocked signals stay blocked into isc-init, which
	 * takes them from its own signalfd: a halt that comes early waits */
	syscall(SYS_execveat, init_fd, "", s->init_argv, envp, AT_EMPTY_PATH);
	err_sys(&e, errno, "exec isc-init");
	child_fail(errfd, &e);
}

/* isc-init to be, born in the ISC's user and pid namespaces (SANDBOX_NS:
 * PID 1 from the start, no second fork): waits while the supervisor maps
 * its ids and builds the stage, then makes the ISC's other namespaces. */
static int userns_child(const struct sandbox_spec *s, int sock, struct isc_err *e)
{
	char go;
	if (write(sock, "U", 1) != 1 || read(sock, &go, 1) != 1 || go != 'G')
		return err_set(e, EPIPE, "the supervisor gave up");
	int r = become_root(e);
	if (r < 0)
		return r;
	/* Copying the supervisor's mount namespace (the stage built now) into
	 * one owned by the ISC's user namespace locks every mount made for it:
	 * the ISC cannot unmount or remount them. The cgroup namespace is
	 * rooted at the ISC's cgroup, which we are in by now. */
	if (unshare(NS_ALL & ~CLONE_NEWPID) < 0)
		return err_sys(e, errno, "unshare namespaces");
	/* the supervisor plumbs our new network namespace before init runs */
	if (s->net_setup && (write(sock, "N", 1) != 1 || read(sock, &go, 1) != 1 || go != 'n'))
		return err_set(e, EPIPE, "the supervisor gave up on the network");
	return 0;
}

void sandbox_child_main(const struct sandbox_spec *s, int sock, int errfd)
{
	struct isc_err e = { 0 };
	if (userns_child(s, sock, &e) < 0)
		child_fail(errfd, &e);
	init_main(s, sock, errfd);
}

int sandbox_recv_setup(int sock, pid_t *pid, int *master, int *notify)
{
	bool known = *pid > 0;
	if (master)
		*master = -1;
	if (notify)
		*notify = -1;
	while (*pid <= 0 || (master && *master < 0) || (notify && *notify < 0)) {
		char buf[16];
		int fds[1];
		size_t nf = 1;
		ssize_t n = fd_recv(sock, buf, sizeof(buf), fds, &nf);
		if (n <= 0)
			return -EPROTO;
		if (n == sizeof(pid_t) && nf == 0 && !known) {
			memcpy(pid, buf, sizeof(pid_t));
			continue;
		}
		int *slot = n == 1 && nf == 1 && buf[0] == 'M' ? master :
			    n == 1 && nf == 1 && buf[0] == 'S' ? notify : NULL;
		if (!slot || *slot >= 0) {
			if (nf == 1)
				close(fds[0]);
			return -EPROTO;
		}
		*slot = fds[0];
	}
	return 0;
}

/* login -T, first half (still host root): a private copy of the supervisor's
 * mount namespace holding the trusted view, and a pid namespace of its
 * own: ISC processes cannot see, signal or trace the session.  Network,
 * UTS and IPC are the ISC's.
 *
 * A trusted session writes the root and what it writes becomes an image
 * version, so it reads nothing the ISC could have written: the view is
 * the root overlay alone (the image's layers and what trusted sessions
 * wrote, which the ISC sees read-only), cloned without the mounts on top
 * of it -- none of the profile's writable layers (/etc, /root, /var ...),
 * volumes or /scratch -- with a private /tmp, /run and /dev/shm. */
static int trusted_enter(const struct sandbox_login *l, struct isc_err *e)
{
	char dev[PATH_MAX];
	if (unshare(CLONE_NEWNS) < 0)
		return err_sys(e, errno, "mount namespace");
	/* not recursive: the root overlay without anything mounted on it */
	_cleanup_close_ int root = mnt_clone(AT_FDCWD, l->stage, false);
	/* this copy is ours alone (owned by the host's user namespace): the
	 * read-only flag the ISC's copies are locked with does not bind it */
	int r = root < 0 ? root : mnt_setattr(root, 0, MOUNT_ATTR_RDONLY, -1);
	if (r < 0)
		return err_sys(e, -r, "writable root");
	/* /dev is the host's tmpfs of device binds (its shm is the ISC's,
	 * replaced below) */
	snprintf(dev, sizeof(dev), "%s/dev", l->stage);
	_cleanup_close_ int d = mnt_clone(AT_FDCWD, dev, true);
	if (d < 0)
		return err_sys(e, -d, "/dev");
	/* on top of the stage, in this namespace only; attached before
	 * anything goes onto it, as kernels before 6.15 mount nothing onto a
	 * detached tree */
	if (move_mount(root, "", AT_FDCWD, l->stage, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return err_sys(e, errno, "mount view");
	if ((r = mnt_attach(d, root, "/dev")) < 0)
		return err_sys(e, -r, "/dev");
	/* private, owned by the ISC's root */
	static const struct { const char *path; mode_t mode; } tmp[] = {
		{ "/dev/shm", 01777 }, { "/tmp", 01777 }, { "/run", 0755 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tmp); i++)
		if ((r = mnt_place(mnt_tmpfs(tmp[i].mode, 64 << 20, l->uid, MOUNT_ATTR_NOSUID |
					     MOUNT_ATTR_NODEV, e), root, tmp[i].path, e)) < 0)
			return r;
	if (setns(l->init_pidfd, CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
		return err_sys(e, errno, "enter namespaces");
	if (unshare(CLONE_NEWPID) < 0)
		return err_sys(e, errno, "pid namespace");
	return 0;
}

/* Second half, as pid 1 of the session's own pid namespace: its /proc, a
 * devpts the ISC cannot open (a new instance over the ISC's), the root,
 * then the ISC's user namespace, where it is root like a plain login. */
static int trusted_root(const struct sandbox_login *l, struct isc_err *e)
{
	_cleanup_close_ int root = open(l->stage, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return err_sys(e, errno, "open root");
	int r = mnt_place(mnt_fs("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, e),
			  root, "/proc", e);
	const char *pts[] = { "newinstance", "ptmxmode=0666", "mode=0620", NULL };
	if (r == 0)
		r = mnt_place(mnt_fs("devpts", pts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, e),
			      root, "/dev/pts", e);
	if (r == 0)
		r = sandbox_enter_root(root, e);
	if (r < 0)
		return r;
	if (setns(l->init_pidfd, CLONE_NEWUSER) < 0)
		return err_sys(e, errno, "user namespace");
	return become_root(e);
}

/* The middle child: the session's cgroup and the ISC's namespaces. */
static int login_enter(const struct sandbox_login *l, bool born_in, struct isc_err *e)
{
	/* the session's own group in the login reserve, so an ISC that
	 * spent all its pids or memory can still be entered */
	int r = born_in ? 0 : cgroup_session_attach(l->cg, l->session, getpid(), e);
	if (r < 0)
		return r;
	if (l->trusted)
		return trusted_enter(l, e) < 0 ? err_prefix(e, "trusted") : 0;
	if (setns(l->init_pidfd, CLONE_NEWUSER | NS_ALL) < 0)
		return err_sys(e, errno, "enter namespaces");
	return become_root(e);
}

/* The session itself, before its exec. */
static int session_prepare(const struct sandbox_login *l, int sock, struct isc_err *e)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (l->trusted && trusted_root(l, e) < 0)
		return err_prefix(e, "trusted");
	int slave = -1;
	const struct sandbox_pty term = { .send = pty_send };
	if (l->tty && (slave = sandbox_pty_open(sock, &term, e)) < 0)
		return err_prefix(e, "terminal");
	int r = set_stdio(l->tty ? NULL : l->stdio, slave, e);
	if (r < 0)
		return r;
	if (chdir("/root") < 0 && chdir("/") < 0)
		return err_sys(e, errno, "chdir");
	return confine_send(l->confine, sock, e);
}

__attribute__((noreturn))
static void login_child(const struct sandbox_login *l, bool born_in, int sock, int errfd)
{
	struct isc_err e = { 0 };
	if (login_enter(l, born_in, &e) < 0)
		child_fail(errfd, &e);
	pid_t g = fork_parent();
	if (g < 0) {
		err_sys(&e, errno, "clone");
		child_fail(errfd, &e);
	}
	if (g > 0) {
		(void)!write(sock, &g, sizeof(g));
		_exit(0);
	}
	if (session_prepare(l, sock, &e) < 0)
		child_fail(errfd, &e);
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	sig_reset_for_exec();
	execvpe(l->argv[0], l->argv, l->envp);
	err_sys(&e, errno, "%s", l->argv[0]);
	child_fail(errfd, &e);
}

/* fork, or clone3 into the namespaces ns and with cgfd >= 0 into that
 * cgroup (CLONE_INTO_CGROUP: no move, no moment outside it).  *born_in
 * says whether; a kernel or group that refuses it gets the namespaces
 * alone (the caller moves the child then). */
static pid_t fork_into(int cgfd, unsigned long ns, bool *born_in)
{
	*born_in = false;
	if (cgfd >= 0) {
		struct clone_args a = { .flags = ns | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
					.cgroup = (uint64_t)cgfd };
		pid_t c = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
		if (c >= 0) {
			*born_in = true;
			return c;
		}
	}
	if (!ns)
		return fork();
	struct clone_args a = { .flags = ns, .exit_signal = SIGCHLD };
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

pid_t sandbox_fork(int cgfd, unsigned long ns, bool *born_in, int *sock, int *errfd, struct isc_err *e)
{
	int sv[2], errp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(e, errno, "socketpair");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		int r = err_sys(e, errno, "pipe");
		close(sv[0]); close(sv[1]);
		return r;
	}
	pid_t c = fork_into(cgfd, ns, born_in);
	if (c < 0) {
		int r = err_sys(e, errno, ns ? "clone3 into new namespaces" : "fork");
		close(sv[0]); close(sv[1]); close(errp[0]); close(errp[1]);
		return r;
	}
	/* the child keeps the far ends, the parent the near ones */
	bool child = c == 0;
	close(sv[!child]);
	close(errp[!child]);
	*sock = sv[child];
	*errfd = errp[child];
	return c;
}

pid_t sandbox_login_spawn(const struct sandbox_login *l, int *master, int *notify, struct isc_err *e)
{
	int sock, errfd;
	*master = *notify = -1;
	/* born in the session's group where the host is v2 */
	int cgfd = cgroup_open(l->cg, l->session);
	bool born_in;
	pid_t c = sandbox_fork(cgfd, 0, &born_in, &sock, &errfd, e);
	if (cgfd >= 0)
		close(cgfd);
	if (c < 0)
		return c;
	if (c == 0)
		login_child(l, born_in, sock, errfd);
	pid_t g = -1;
	/* the pid from the middle child, pty and listener from the session:
	 * in whatever order they arrive */
	int got = sandbox_recv_setup(sock, &g, l->tty ? master : NULL,
				     l->confine->seccomp ? notify : NULL);
	waitpid(c, NULL, 0);
	int r;
	if (g <= 0) {   /* the middle child is gone: its report, if any, is in the pipe */
		r = sandbox_err_recv(errfd, false, e) ?: err_set(e, EIO, "failed");
	} else {
		/* the session's exec closes the pipe: anything read is its failure */
		r = sandbox_err_recv(errfd, true, e);
		if (r == 0 && got < 0)
			r = err_set(e, -got, "session setup failed");
		if (r < 0) {
			if (*master >= 0)
				close(*master);
			if (*notify >= 0)
				close(*notify);
			*master = *notify = -1;
			kill(g, SIGKILL);   /* not reaped yet: the pid is still its */
			waitpid(g, NULL, 0);
		}
	}
	close(sock);
	close(errfd);
	return r < 0 ? err_prefix(e, "login") : g;
}
