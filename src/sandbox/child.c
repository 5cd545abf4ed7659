/* child.c - the in-namespace half: runs in iscd's forked children before they exec
 * isc-init or a login session.  Every failure is written to errfd and exits. */
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

__attribute__((noreturn, format(printf, 2, 3)))
static void die(int errfd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		write_all(errfd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	_exit(1);
}

/* clone3(CLONE_PARENT): the new process is our parent's (iscd's) child, so
 * the supervisor reaps it and its death signal follows the supervisor. */
static pid_t fork_parent(void)
{
	struct clone_args a = { .flags = CLONE_PARENT };
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

static void become_root(int errfd)
{
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		die(errfd, "become root in the user namespace: %s", strerror(errno));
	if (setgroups(0, NULL) < 0)
		die(errfd, "setgroups: %s", strerror(errno));
}

static void mount_kernel_fs(int root, int errfd)
{
	char why[256];
	/* proc for this pid namespace; nothing in it may run or be a device */
	int m = mnt_fs("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, why, sizeof(why));
	if (m < 0 || mnt_attach(m, root, "/proc") < 0)
		die(errfd, "/proc: %s", m < 0 ? why : strerror(errno));
	close(m);
	/* sysfs of this network namespace, read-only */
	m = mnt_fs("sysfs", NULL, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, why, sizeof(why));
	if (m < 0 || mnt_attach(m, root, "/sys") < 0)
		die(errfd, "/sys: %s", m < 0 ? why : strerror(errno));
	close(m);
	/* a private devpts: the ISC's terminals are its own */
	const char *pts[] = { "ptmxmode=0666", "mode=0620", NULL };
	m = mnt_fs("devpts", pts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, why, sizeof(why));
	if (m < 0 || mnt_attach(m, root, "/dev/pts") < 0)
		die(errfd, "/dev/pts: %s", m < 0 ? why : strerror(errno));
	close(m);
}

/* The kernel interfaces a container must not see or change (as runc masks). */
static void mask_proc(int root, int errfd)
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
	char why[256];
	for (size_t i = 0; i < ARRAY_SIZE(hide_file); i++) {
		int m = mnt_clone(root, "/dev/null", false);
		if (m < 0)
			die(errfd, "clone /dev/null: %s", strerror(-m));
		int r = mnt_attach(m, root, hide_file[i]);
		close(m);
		if (r < 0 && r != -ENOENT)
			die(errfd, "mask %s: %s", hide_file[i], strerror(-r));
	}
	const char *opts[] = { "size=0", "mode=0555", NULL };
	for (size_t i = 0; i < ARRAY_SIZE(hide_dir); i++) {
		int m = mnt_fs("tmpfs", opts, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, why, sizeof(why));
		if (m < 0)
			die(errfd, "mask %s: %s", hide_dir[i], why);
		int r = mnt_attach(m, root, hide_dir[i]);
		close(m);
		if (r < 0 && r != -ENOENT)
			die(errfd, "mask %s: %s", hide_dir[i], strerror(-r));
	}
	for (size_t i = 0; i < ARRAY_SIZE(ro); i++) {
		int m = mnt_clone(root, ro[i], true);
		if (m == -ENOENT)
			continue;
		int r = m < 0 ? m : mnt_setattr(m, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, -1);
		if (r == 0)
			r = mnt_attach(m, root, ro[i]);
		if (m >= 0)
			close(m);
		if (r < 0)
			die(errfd, "read-only %s: %s", ro[i], strerror(-r));
	}
}

static void enter_root(int root, int errfd)
{
	/* pivot_root(".", "."): the old root ends up on top and is detached,
	 * so no host path stays reachable. */
	if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		die(errfd, "pivot_root: %s", strerror(errno));
	if (umount2(".", MNT_DETACH) < 0)
		die(errfd, "detach old root: %s", strerror(errno));
	if (chdir("/") < 0)
		die(errfd, "chdir /: %s", strerror(errno));
}

static void loopback_up(int errfd)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die(errfd, "loopback: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die(errfd, "loopback up: %s", strerror(errno));
}

/* A pty from the ISC's devpts; the master goes to the supervisor, the slave
 * becomes our controlling terminal and stdio. */
static int pty_open(int sock, bool console, bool raw, char *why, size_t n)
{
	int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || unlockpt(master) < 0) {
		snprintf(why, n, "open ptmx: %s", strerror(errno));
		return -1;
	}
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0) {
		snprintf(why, n, "open pty: %s", strerror(errno));
		return -1;
	}
	if (raw) {
		/* the console is a log, not a terminal: no \r\n translation */
		struct termios t;
		if (tcgetattr(slave, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(slave, TCSANOW, &t);
		}
	}
	if (console) {
		int b = open_tree(slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (b < 0 || mnt_attach(b, AT_FDCWD, "/dev/console") < 0) {
			snprintf(why, n, "bind /dev/console: %s", strerror(errno));
			return -1;
		}
		close(b);
	}
	if (fd_send(sock, "M", 1, &master, 1) < 0) {
		snprintf(why, n, "send pty: %s", strerror(errno));
		return -1;
	}
	close(master);
	setsid();
	ioctl(slave, TIOCSCTTY, 0);
	return slave;
}

static void set_stdio(const int *stdio, int slave, int errfd)
{
	for (int i = 0; i < 3; i++) {
		int fd = stdio ? stdio[i] : slave;
		if (dup2(fd, i) < 0)
			die(errfd, "stdio: %s", strerror(errno));
	}
}

__attribute__((noreturn))
static void init_main(const struct sandbox_spec *s, int sock, int errfd)
{
	char why[512];
	struct isc_err e = { 0 };
	/* if the supervisor dies, the ISC dies with it: no unsupervised ISC */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* pivot_root refuses a locked new root: stack a recursive clone of the
	 * stage on itself. Only its top is unlocked; every mount below keeps
	 * the locks (and read-only/noexec locks) it got from the supervisor. */
	int top = open_tree(AT_FDCWD, s->stage, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (top < 0 || move_mount(top, "", AT_FDCWD, s->stage, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		die(errfd, "clone stage: %s", strerror(errno));
	close(top);
	int root = open(s->stage, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		die(errfd, "open stage: %s", strerror(errno));
	mount_kernel_fs(root, errfd);
	mask_proc(root, errfd);
	enter_root(root, errfd);
	if (sethostname(s->name, strlen(s->name)) < 0)
		die(errfd, "sethostname: %s", strerror(errno));
	loopback_up(errfd);
	int slave = -1;
	if (!s->stdio && (slave = pty_open(sock, true, !s->tty, why, sizeof(why))) < 0)
		die(errfd, "console: %s", why);
	set_stdio(s->stdio, slave, errfd);
	if (slave > 2)
		close(slave);
	int listener;
	if (confine_apply(s->confine, &listener, &e) < 0)
		die(errfd, "confine: %s", e.msg);
	/* the filter's notifications go to the supervisor, which answers them */
	if (listener >= 0 && (fd_send(sock, "S", 1, &listener, 1) < 0 || close(listener) < 0))
		die(errfd, "send seccomp listener: %s", strerror(errno));
	char name_env[96];
	snprintf(name_env, sizeof(name_env), "ISC_NAME=%s", s->name);
	_cleanup_free_ char *info_env = NULL;
	if (s->info && asprintf(&info_env, "ISC_INFO=%s", s->info) < 0)
		info_env = NULL;
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "container=isc", name_env, info_env, NULL };
	/* nothing of ours crosses into the ISC but stdio (errfd reports a
	 * failed exec and closes with it; init_fd is the program itself) */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	/* the supervisor's blocked signals stay blocked into isc-init, which
	 * takes them from its own signalfd: a halt that comes early waits */
	syscall(SYS_execveat, s->init_fd, "", s->init_argv, envp, AT_EMPTY_PATH);
	die(errfd, "exec isc-init: %s", strerror(errno));
}

void sandbox_child_main(const struct sandbox_spec *s, int sock, int errfd)
{
	/* C: owns the new user namespace while the supervisor builds the stage */
	if (unshare(CLONE_NEWUSER) < 0)
		die(errfd, "unshare user namespace: %s", strerror(errno));
	if (write(sock, "U", 1) != 1)
		_exit(1);
	char go;
	if (read(sock, &go, 1) != 1 || go != 'G')
		_exit(1);
	become_root(errfd);
	/* Copying the supervisor's mount namespace into one owned by the ISC's
	 * user namespace locks every mount made for it: the ISC cannot unmount
	 * or remount them. The cgroup namespace is rooted at the ISC's cgroup. */
	if (unshare(NS_ALL) < 0)
		die(errfd, "unshare namespaces: %s", strerror(errno));
	pid_t g = fork_parent();
	if (g < 0)
		die(errfd, "clone init: %s", strerror(errno));
	if (g == 0)
		init_main(s, sock, errfd);
	write(sock, &g, sizeof(g));
	_exit(0);
}

int sandbox_recv_setup(int sock, pid_t *pid, int *master, int *notify)
{
	*pid = -1;
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
		if (n == sizeof(pid_t) && nf == 0) {
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

/* A fresh tmpfs on path below root, owned by the ISC's root. */
static void trusted_tmpfs(int root, const char *path, mode_t mode, uint32_t uid, int errfd)
{
	char why[256], o_mode[24], o_uid[24], o_gid[24];
	snprintf(o_mode, sizeof(o_mode), "mode=%o", mode);
	snprintf(o_uid, sizeof(o_uid), "uid=%u", uid);
	snprintf(o_gid, sizeof(o_gid), "gid=%u", uid);
	const char *opts[] = { "size=64m", o_mode, o_uid, o_gid, NULL };
	int m = mnt_fs("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, why, sizeof(why));
	if (m < 0 || mnt_attach(m, root, path) < 0)
		die(errfd, "trusted: %s: %s", path, m < 0 ? why : strerror(errno));
	close(m);
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
static void trusted_enter(const struct sandbox_login *l, int errfd)
{
	char dev[PATH_MAX];
	if (unshare(CLONE_NEWNS) < 0)
		die(errfd, "trusted: mount namespace: %s", strerror(errno));
	/* not recursive: the root overlay without anything mounted on it */
	int root = mnt_clone(AT_FDCWD, l->stage, false);
	/* this copy is ours alone (owned by the host's user namespace): the
	 * read-only flag the ISC's copies are locked with does not bind it */
	int r = root < 0 ? root : mnt_setattr(root, 0, MOUNT_ATTR_RDONLY, -1);
	if (r < 0)
		die(errfd, "trusted: writable root: %s", strerror(-r));
	/* /dev is the host's tmpfs of device binds (its shm is the ISC's,
	 * replaced below) */
	snprintf(dev, sizeof(dev), "%s/dev", l->stage);
	int d = mnt_clone(AT_FDCWD, dev, true);
	if (d < 0 || (r = mnt_attach(d, root, "/dev")) < 0)
		die(errfd, "trusted: /dev: %s", strerror(d < 0 ? -d : -r));
	close(d);
	trusted_tmpfs(root, "/dev/shm", 01777, l->uid, errfd);
	trusted_tmpfs(root, "/tmp", 01777, l->uid, errfd);
	trusted_tmpfs(root, "/run", 0755, l->uid, errfd);
	/* on top of the stage, in this namespace only */
	if (move_mount(root, "", AT_FDCWD, l->stage, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		die(errfd, "trusted: mount view: %s", strerror(errno));
	close(root);
	if (setns(l->init_pidfd, CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
		die(errfd, "trusted: enter namespaces: %s", strerror(errno));
	if (unshare(CLONE_NEWPID) < 0)
		die(errfd, "trusted: pid namespace: %s", strerror(errno));
}

/* Second half, as pid 1 of the session's own pid namespace: its /proc, a
 * devpts the ISC cannot open (a new instance over the ISC's), the root,
 * then the ISC's user namespace, where it is root like a plain login. */
static void trusted_root(const struct sandbox_login *l, int errfd)
{
	char why[256];
	_cleanup_close_ int root = open(l->stage, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		die(errfd, "trusted: open root: %s", strerror(errno));
	int m = mnt_fs("proc", NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, why, sizeof(why));
	if (m < 0 || mnt_attach(m, root, "/proc") < 0)
		die(errfd, "trusted: /proc: %s", m < 0 ? why : strerror(errno));
	close(m);
	const char *pts[] = { "newinstance", "ptmxmode=0666", "mode=0620", NULL };
	m = mnt_fs("devpts", pts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, why, sizeof(why));
	if (m < 0 || mnt_attach(m, root, "/dev/pts") < 0)
		die(errfd, "trusted: devpts: %s", m < 0 ? why : strerror(errno));
	close(m);
	if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0)
		die(errfd, "trusted: pivot_root: %s", strerror(errno));
	if (setns(l->init_pidfd, CLONE_NEWUSER) < 0)
		die(errfd, "trusted: user namespace: %s", strerror(errno));
	become_root(errfd);
}

pid_t sandbox_login_spawn(const struct sandbox_login *l, int *master, int *notify, struct isc_err *e)
{
	int sv[2], errp[2];
	*master = *notify = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(errp, O_CLOEXEC) < 0)
		return err_sys(e, errno, "socketpair");
	pid_t c = fork();
	if (c < 0)
		return err_sys(e, errno, "fork");
	if (c == 0) {
		close(sv[0]);
		close(errp[0]);
		struct isc_err ce = { 0 };
		/* the session's own group in the login reserve, so an ISC that
		 * spent all its pids or memory can still be entered */
		if (cgroup_session_attach(l->cg, l->session, getpid(), &ce) < 0)
			die(errp[1], "%s", ce.msg);
		if (l->trusted)
			trusted_enter(l, errp[1]);
		else if (setns(l->init_pidfd, CLONE_NEWUSER | NS_ALL) < 0)
			die(errp[1], "enter namespaces: %s", strerror(errno));
		if (!l->trusted)
			become_root(errp[1]);
		pid_t g = fork_parent();
		if (g < 0)
			die(errp[1], "clone: %s", strerror(errno));
		if (g > 0) {
			write(sv[1], &g, sizeof(g));
			_exit(0);
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (l->trusted)
			trusted_root(l, errp[1]);
		char why[256];
		int slave = -1;
		if (l->tty && (slave = pty_open(sv[1], false, false, why, sizeof(why))) < 0)
			die(errp[1], "terminal: %s", why);
		set_stdio(l->tty ? NULL : l->stdio, slave, errp[1]);
		if (slave > 2)
			close(slave);
		if (chdir("/root") < 0 && chdir("/") < 0)
			die(errp[1], "chdir: %s", strerror(errno));
		int listener;
		if (confine_apply(l->confine, &listener, &ce) < 0)
			die(errp[1], "confine: %s", ce.msg);
		if (listener >= 0 && (fd_send(sv[1], "S", 1, &listener, 1) < 0 || close(listener) < 0))
			die(errp[1], "send seccomp listener: %s", strerror(errno));
		close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
		sig_reset_for_exec();
		execvpe(l->argv[0], l->argv, l->envp);
		die(errp[1], "%s: %s", l->argv[0], strerror(errno));
	}
	close(sv[1]);
	close(errp[1]);
	pid_t g = -1;
	char why[512];
	/* the pid from the middle child, pty and listener from the session:
	 * in whatever order they arrive */
	int got = sandbox_recv_setup(sv[0], &g, l->tty ? master : NULL,
				     l->confine->seccomp ? notify : NULL);
	waitpid(c, NULL, 0);
	if (g <= 0) {
		ssize_t q = read_all(errp[0], why, sizeof(why) - 1);
		why[q > 0 ? q : 0] = '\0';
		close(sv[0]);
		close(errp[0]);
		return err_set(e, EIO, "login: %s", why[0] ? why : "failed");
	}
	ssize_t k = read_all(errp[0], why, sizeof(why) - 1);
	if (got < 0 && k <= 0)
		k = snprintf(why, sizeof(why), "session setup failed");
	close(sv[0]);
	close(errp[0]);
	if (k > 0) {
		why[k] = '\0';
		if (*master >= 0)
			close(*master);
		if (*notify >= 0)
			close(*notify);
		*master = *notify = -1;
		waitpid(g, NULL, 0);
		return err_set(e, EIO, "login: %s", why);
	}
	return g;
}
