/* child.c - the in-namespace half: runs in iscd's forked children before they exec
 * isc-init or a login session.  Every failure is written to errfd and exits. */
#include "sandbox-internal.h"
#include "mnt.h"

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
	static const char *const hide_dir[] = { "/proc/acpi", "/proc/scsi", "/proc/asound",
		"/sys/firmware", "/sys/devices/virtual/powercap" };
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
static int pty_open(int sock, bool console, char *why, size_t n)
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
	if (console) {
		/* the console is a log, not a terminal: no \r\n translation */
		struct termios t;
		if (tcgetattr(slave, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(slave, TCSANOW, &t);
		}
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
	if (!s->stdio && (slave = pty_open(sock, true, why, sizeof(why))) < 0)
		die(errfd, "console: %s", why);
	set_stdio(s->stdio, slave, errfd);
	if (slave > 2)
		close(slave);
	if (confine_apply(s->confine, &e) < 0)
		die(errfd, "confine: %s", e.msg);
	char name_env[96];
	snprintf(name_env, sizeof(name_env), "ISC_NAME=%s", s->name);
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "container=isc", name_env, NULL };
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

pid_t sandbox_login_spawn(const struct sandbox_login *l, int *master, struct isc_err *e)
{
	int sv[2], errp[2];
	*master = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(errp, O_CLOEXEC) < 0)
		return err_sys(e, errno, "socketpair");
	pid_t c = fork();
	if (c < 0)
		return err_sys(e, errno, "fork");
	if (c == 0) {
		close(sv[0]);
		close(errp[0]);
		struct isc_err ce = { 0 };
		if (cgroup_attach(l->cg, getpid(), &ce) < 0)
			die(errp[1], "%s", ce.msg);
		if (setns(l->init_pidfd, CLONE_NEWUSER | NS_ALL) < 0)
			die(errp[1], "enter namespaces: %s", strerror(errno));
		become_root(errp[1]);
		pid_t g = fork_parent();
		if (g < 0)
			die(errp[1], "clone: %s", strerror(errno));
		if (g > 0) {
			write(sv[1], &g, sizeof(g));
			_exit(0);
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char why[256];
		int slave = -1;
		if (l->tty && (slave = pty_open(sv[1], false, why, sizeof(why))) < 0)
			die(errp[1], "terminal: %s", why);
		set_stdio(l->tty ? NULL : l->stdio, slave, errp[1]);
		if (slave > 2)
			close(slave);
		if (chdir("/root") < 0 && chdir("/") < 0)
			die(errp[1], "chdir: %s", strerror(errno));
		if (confine_apply(l->confine, &ce) < 0)
			die(errp[1], "confine: %s", ce.msg);
		execvpe(l->argv[0], l->argv, l->envp);
		die(errp[1], "%s: %s", l->argv[0], strerror(errno));
	}
	close(sv[1]);
	close(errp[1]);
	pid_t g = -1;
	char why[512];
	ssize_t k = read(sv[0], &g, sizeof(g));
	waitpid(c, NULL, 0);
	if (k != sizeof(g) || g <= 0) {
		k = read_all(errp[0], why, sizeof(why) - 1);
		why[k > 0 ? k : 0] = '\0';
		close(sv[0]);
		close(errp[0]);
		return err_set(e, EIO, "login: %s", why[0] ? why : "failed");
	}
	if (l->tty) {
		int fds[1];
		size_t nf = 1;
		char b;
		if (fd_recv(sv[0], &b, 1, fds, &nf) > 0 && nf == 1)
			*master = fds[0];
	}
	k = read_all(errp[0], why, sizeof(why) - 1);
	close(sv[0]);
	close(errp[0]);
	if (k > 0) {
		why[k] = '\0';
		if (*master >= 0)
			close(*master);
		*master = -1;
		waitpid(g, NULL, 0);
		return err_set(e, EIO, "login: %s", why);
	}
	return g;
}
