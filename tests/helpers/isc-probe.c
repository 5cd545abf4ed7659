/* isc-probe.c - static test helper run as root inside an ISC: tries what an ISC must not do and prints what the kernel said. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/fanotify.h>
#include <linux/fscrypt.h>
#include <linux/io_uring.h>
#include <linux/kcmp.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <linux/sched.h>
#include <linux/tiocl.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/quota.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef KEXEC_FILE_NO_INITRAMFS
#define KEXEC_FILE_NO_INITRAMFS 0x00000004
#endif

/* ---- results ------------------------------------------------------------------
 * An attempt comes to a word: the errno name it got, "allowed" when the
 * kernel did it, or a word of its own ("empty", "SIGKILL", "contained"). */

static char word[128];

static const char *errname(int err)
{
	const char *n = strerrorname_np(err);
	if (!n) {
		snprintf(word, sizeof(word), "errno%d", err);
		return word;
	}
	return n;
}

static const char *res(long r)
{
	return r < 0 ? errname(errno) : "allowed";
}

static int ptr_to_int(const char *s)
{
	return (int)strtol(s, NULL, 0);
}

/* A child that waits to be killed: a target of our own uid, dumpable. */
static pid_t child_pause(void)
{
	pid_t c = fork();
	if (c == 0) {
		for (;;)
			pause();
	}
	return c;
}

static void child_end(pid_t c)
{
	if (c > 0) {
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
	}
}

/* ---- mount family -------------------------------------------------------------- */

static const char *p_remount_rw(char **a)
{
	/* clear the read-only flag of the mount of / */
	return res(mount(NULL, a[0], NULL, MS_REMOUNT | MS_BIND, NULL));
}

static const char *p_mount(char **a)
{
	/* mount TYPE TARGET [DATA] */
	const char *data = a[2];
	return res(mount(a[0], a[1], a[0], 0, data));
}

static const char *p_mount_bind(char **a)
{
	return res(mount(a[0], a[1], NULL, MS_BIND | MS_REC, NULL));
}

static const char *p_umount(char **a)
{
	return res(umount2(a[0], MNT_DETACH));
}

static const char *p_fsopen(char **a)
{
	return res(syscall(SYS_fsopen, a[0], 0));
}

static const char *p_fspick(char **a)
{
	return res(syscall(SYS_fspick, AT_FDCWD, a[0], 0));
}

static const char *p_open_tree(char **a)
{
	return res(syscall(SYS_open_tree, AT_FDCWD, a[0], OPEN_TREE_CLONE | AT_RECURSIVE));
}

static const char *p_move_mount(char **a)
{
	return res(syscall(SYS_move_mount, AT_FDCWD, a[0], AT_FDCWD, a[1], 0));
}

static const char *p_mount_setattr(char **a)
{
	struct mount_attr at = { .attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC };
	return res(syscall(SYS_mount_setattr, AT_FDCWD, a[0], 0, &at, sizeof(at)));
}

static const char *p_pivot_root(char **a)
{
	if (chdir(a[0]) < 0)
		return errname(errno);
	return res(syscall(SYS_pivot_root, ".", "."));
}

/* The classic escape: chroot into a subdirectory while holding a
 * descriptor on the old root, fchdir back out, walk up, chroot there.
 * "contained": it worked but "/" is still the ISC's root. */
static const char *p_chroot_escape(char **a)
{
	struct stat before, after;
	int old = open("/", O_RDONLY | O_DIRECTORY);
	if (old < 0 || stat("/", &before) < 0)
		return errname(errno);
	if (chroot(a[0]) < 0)
		return errname(errno);
	if (fchdir(old) < 0)
		return errname(errno);
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			return errname(errno);
	if (chroot(".") < 0)
		return errname(errno);
	if (stat("/", &after) < 0)
		return errname(errno);
	return before.st_dev == after.st_dev && before.st_ino == after.st_ino ? "contained" : "escaped";
}

/* ---- files and devices ------------------------------------------------------------ */

/* mknod b|c PATH MAJOR MINOR; if it is made, read from it (the pool). */
static const char *p_mknod(char **a)
{
	mode_t type = a[0][0] == 'b' ? S_IFBLK : S_IFCHR;
	if (mknod(a[1], type | 0600, makedev(ptr_to_int(a[2]), ptr_to_int(a[3]))) < 0)
		return errname(errno);
	char buf[512];
	int fd = open(a[1], O_RDONLY);
	ssize_t k = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	int err = errno;
	if (fd >= 0)
		close(fd);
	unlink(a[1]);
	if (k < 0) {
		snprintf(word, sizeof(word), "made-but-%s", errname(err));
		return word;
	}
	return "allowed";
}

/* Opened for writing, never written: a success is the finding. */
static const char *p_open_write(char **a)
{
	int fd = open(a[0], O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errname(errno);
	close(fd);
	return "allowed";
}

static const char *p_open_rdwr(char **a)
{
	int fd = open(a[0], O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errname(errno);
	close(fd);
	return "allowed";
}

static const char *p_create(char **a)
{
	int fd = open(a[0], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return errname(errno);
	close(fd);
	unlink(a[0]);
	return "allowed";
}

/* Landlock behind the mounts: a tmpfs mounted (where a mount gets through)
 * outside the profile's writable paths, then a file created in it. */
static const char *p_mount_create(char **a)
{
	char path[300];
	if (mount("tmpfs", a[0], "tmpfs", 0, NULL) < 0) {
		snprintf(word, sizeof(word), "mount-%s", errname(errno));
		return word;
	}
	snprintf(path, sizeof(path), "%s/x", a[0]);
	const char *r = p_create((char *[]){ path, NULL });
	umount2(a[0], MNT_DETACH);
	return r;
}

static const char *p_mkdir(char **a)
{
	if (mkdir(a[0], 0755) < 0)
		return errname(errno);
	rmdir(a[0]);
	return "allowed";
}

/* "empty", "data" or the errno: masked /proc files read as nothing. */
static const char *p_read(char **a)
{
	char buf[256];
	int fd = open(a[0], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errname(errno);
	ssize_t k = read(fd, buf, sizeof(buf));
	int err = errno;
	close(fd);
	return k < 0 ? errname(err) : k == 0 ? "empty" : "data";
}

static const char *p_opendir(char **a)
{
	DIR *d = opendir(a[0]);
	if (!d)
		return errname(errno);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return "allowed";
}

static const char *p_readlink(char **a)
{
	char buf[256];
	return res(readlink(a[0], buf, sizeof(buf)));
}

/* exec PATH: the program is run with "noop" (isc-probe itself). */
static const char *p_exec(char **a)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return errname(errno);
	pid_t c = fork();
	if (c == 0) {
		char *argv[] = { a[0], "noop", NULL };
		execv(a[0], argv);
		int err = errno;
		(void)!write(p[1], &err, sizeof(err));
		_exit(127);
	}
	close(p[1]);
	int err = 0, st = 0;
	ssize_t k = read(p[0], &err, sizeof(err));
	close(p[0]);
	waitpid(c, &st, 0);
	if (k == sizeof(err))
		return errname(err);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "allowed" : "failed";
}

/* What ld.so would do with a program it cannot exec: map it executable. */
static const char *p_mmap_exec(char **a)
{
	int fd = open(a[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errname(errno);
	void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	int err = errno;
	close(fd);
	if (m == MAP_FAILED)
		return errname(err);
	munmap(m, 4096);
	return "allowed";
}

/* A setuid-root copy of this program, run as UID: does euid become 0? */
static const char *p_setuid_exec(char **a)
{
	int p[2];
	uid_t uid = (uid_t)ptr_to_int(a[1]);
	if (pipe(p) < 0)
		return errname(errno);
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		dup2(p[1], 1);
		if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
			_exit(3);
		char *argv[] = { a[0], "euid", NULL };
		execv(a[0], argv);
		_exit(4);
	}
	close(p[1]);
	char buf[64] = "";
	ssize_t k = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	int st;
	waitpid(c, &st, 0);
	if (k <= 0) {
		snprintf(word, sizeof(word), "no-answer-%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return word;
	}
	buf[k] = '\0';
	return (uid_t)atoi(buf) == uid ? "not-raised" : "raised";
}

/* ---- memory: MDWE ---------------------------------------------------------------- */

static const char *p_mprotect_exec(char **a)
{
	unsigned char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return errname(errno);
	m[0] = 0xc3;   /* ret */
	const char *r = res(mprotect(m, 4096, PROT_READ | PROT_EXEC));
	munmap(m, 4096);
	return r;
}

static const char *p_mmap_rwx(char **a)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return errname(errno);
	munmap(m, 4096);
	return "allowed";
}

static const char *p_mdwe_off(char **a)
{
	return res(prctl(PR_SET_MDWE, 0, 0, 0, 0));
}

/* ---- privileges -------------------------------------------------------------------- */

static const char *p_cap_raise(char **a)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int cap = ptr_to_int(a[0]);
	if (syscall(SYS_capget, &h, d) < 0)
		return errname(errno);
	d[cap / 32].effective |= 1U << (cap % 32);
	d[cap / 32].permitted |= 1U << (cap % 32);
	return res(syscall(SYS_capset, &h, d));
}

static const char *p_ambient_raise(char **a)
{
	return res(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, ptr_to_int(a[0]), 0, 0));
}

static const char *p_euid(char **a)
{
	printf("%u\n", (unsigned)geteuid());
	return NULL;
}

/* ---- the kernel ------------------------------------------------------------------ */

static const char *p_init_module(char **a)
{
	static char image[64];
	return res(syscall(SYS_init_module, image, sizeof(image), ""));
}

static const char *p_finit_module(char **a)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errname(errno);
	const char *r = res(syscall(SYS_finit_module, fd, "", 0));
	close(fd);
	return r;
}

static const char *p_delete_module(char **a)
{
	return res(syscall(SYS_delete_module, "isc_probe_none", O_NONBLOCK));
}

static const char *p_kexec_load(char **a)
{
	return res(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL));
}

static const char *p_kexec_file_load(char **a)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errname(errno);
	const char *r = res(syscall(SYS_kexec_file_load, fd, -1, 1UL, "", KEXEC_FILE_NO_INITRAMFS));
	close(fd);
	return r;
}

static const char *p_bpf(char **a)
{
	union bpf_attr at;
	memset(&at, 0, sizeof(at));
	at.map_type = BPF_MAP_TYPE_ARRAY;
	at.key_size = 4;
	at.value_size = 4;
	at.max_entries = 1;
	return res(syscall(SYS_bpf, BPF_MAP_CREATE, &at, sizeof(at)));
}

static const char *p_perf_event_open(char **a)
{
	struct perf_event_attr at;
	memset(&at, 0, sizeof(at));
	at.type = PERF_TYPE_SOFTWARE;
	at.size = sizeof(at);
	at.config = PERF_COUNT_SW_TASK_CLOCK;
	at.exclude_kernel = 1;
	at.exclude_hv = 1;
	return res(syscall(SYS_perf_event_open, &at, 0, -1, -1, 0));
}

static const char *p_userfaultfd(char **a)
{
	return res(syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
}

static const char *p_io_uring_setup(char **a)
{
	struct io_uring_params pr;
	memset(&pr, 0, sizeof(pr));
	return res(syscall(SYS_io_uring_setup, 1, &pr));
}

static const char *p_fanotify_init(char **a)
{
	return res(syscall(SYS_fanotify_init, FAN_CLASS_NOTIF, O_RDONLY));
}

static const char *p_iopl(char **a)
{
	return res(syscall(SYS_iopl, 3));
}

static const char *p_ioperm(char **a)
{
	return res(syscall(SYS_ioperm, 0x80UL, 1UL, 1));
}

static const char *p_swapon(char **a)
{
	return res(syscall(SYS_swapon, a[0], 0));
}

static const char *p_swapoff(char **a)
{
	return res(syscall(SYS_swapoff, a[0]));
}

/* CAD_OFF: harmless even where reboot(2) is allowed */
static const char *p_reboot(char **a)
{
	return res(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
			   LINUX_REBOOT_CMD_CAD_OFF, NULL));
}

static const char *p_acct(char **a)
{
	return res(syscall(SYS_acct, a[0]));
}

static const char *p_syslog(char **a)
{
	return res(syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0));
}

/* personality HEX: set the persona (ADDR_NO_RANDOMIZE is 40000) */
static const char *p_personality(char **a)
{
	unsigned long v = strtoul(a[0], NULL, 16);
	long r = syscall(SYS_personality, v);
	if (r >= 0 && v != 0xffffffffUL)
		syscall(SYS_personality, 0UL);   /* back to PER_LINUX */
	return res(r < 0 ? -1 : 0);
}

static const char *p_quotactl(char **a)
{
	char buf[256];
	return res(syscall(SYS_quotactl, QCMD(Q_GETFMT, USRQUOTA), a[0], 0, buf));
}

/* The time is set to itself: harmless where it is allowed. */
static const char *p_clock_settime(char **a)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return res(syscall(SYS_clock_settime, CLOCK_REALTIME, &ts));
}

static const char *p_settimeofday(char **a)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return res(syscall(SYS_settimeofday, &tv, NULL));
}

/* modes 0 only reads: denied all the same */
static const char *p_adjtimex(char **a)
{
	struct timex tx = { .modes = 0 };
	return res(syscall(SYS_adjtimex, &tx));
}

static const char *p_sethostname(char **a)
{
	return res(sethostname(a[0], strlen(a[0])));
}

/* ---- keys and fscrypt ------------------------------------------------------------ */

static const char *p_add_key(char **a)
{
	return res(syscall(SYS_add_key, "user", "isc-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
}

static const char *p_request_key(char **a)
{
	return res(syscall(SYS_request_key, "user", "isc-probe", NULL, 0));
}

static const char *p_keyctl_id(char **a)
{
	return res(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
}

/* fscrypt-ioctl NAME DIR: one of the key and policy ioctls */
static const char *p_fscrypt_ioctl(char **a)
{
	union { struct fscrypt_add_key_arg a; unsigned char bytes[sizeof(struct fscrypt_add_key_arg) + 32]; } add;
	struct fscrypt_remove_key_arg rm = { .key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER };
	struct fscrypt_get_key_status_arg st = { .key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER };
	struct fscrypt_get_policy_ex_arg pol = { .policy_size = sizeof(pol.policy) };
	struct fscrypt_policy_v2 set = { .version = FSCRYPT_POLICY_V2 };
	unsigned char nonce[16];   /* FS_KEY_NONCE_SIZE */
	memset(&add, 0, sizeof(add));
	add.a.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	add.a.raw_size = 32;
	static const struct { const char *name; unsigned long req; int arg; } io[] = {
		{ "add-key", FS_IOC_ADD_ENCRYPTION_KEY, 0 },
		{ "remove-key", FS_IOC_REMOVE_ENCRYPTION_KEY, 1 },
		{ "remove-key-all-users", FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS, 1 },
		{ "key-status", FS_IOC_GET_ENCRYPTION_KEY_STATUS, 2 },
		{ "get-policy-ex", FS_IOC_GET_ENCRYPTION_POLICY_EX, 3 },
		{ "set-policy", FS_IOC_SET_ENCRYPTION_POLICY, 4 },
		{ "get-nonce", FS_IOC_GET_ENCRYPTION_NONCE, 5 },
	};
	void *args[] = { &add, &rm, &st, &pol, &set, nonce };
	for (size_t i = 0; i < sizeof(io) / sizeof(io[0]); i++) {
		if (strcmp(io[i].name, a[0]) != 0)
			continue;
		int fd = open(a[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return errname(errno);
		const char *r = res(ioctl(fd, io[i].req, args[io[i].arg]));
		close(fd);
		return r;
	}
	return "unknown-ioctl";
}

/* ---- terminals -------------------------------------------------------------------- */

/* A pty from the ISC's /dev/ptmx, made the controlling terminal of a
 * child of ours as a login's terminal is: there the kernel itself lets
 * TIOCSTI through (dev.tty.legacy_tiocsti=1), so what refuses it is the
 * filter.  req on the slave: 0 or the errno; *typed: the slave has input. */
static int tty_ioctl_child(unsigned long req, void *arg, bool *typed)
{
	int p[2], res[2] = { EIO, 0 };
	if (pipe(p) < 0)
		return errno;
	pid_t c = fork();
	if (c == 0) {
		int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), s = -1;
		if (m < 0 || unlockpt(m) < 0 || (s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0 ||
		    setsid() < 0 || ioctl(s, TIOCSCTTY, 0) < 0) {
			res[0] = -errno;   /* the setup, not the attempt */
		} else {
			res[0] = ioctl(s, req, arg) < 0 ? errno : 0;
			struct pollfd pf = { .fd = s, .events = POLLIN };
			res[1] = poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN);
		}
		(void)!write(p[1], res, sizeof(res));
		_exit(0);
	}
	close(p[1]);
	if (c < 0 || read(p[0], res, sizeof(res)) != sizeof(res))
		res[0] = c < 0 ? errno : EIO;
	close(p[0]);
	if (c > 0)
		waitpid(c, NULL, 0);
	*typed = res[1];
	return res[0];
}

static const char *tty_word(int err, bool typed)
{
	if (err < 0) {
		snprintf(word, sizeof(word), "no-pty-%s", errname(-err));
		return word;
	}
	return err ? errname(err) : typed ? "injected" : "allowed";
}

/* tiocsti: type a newline into the terminal's input; "injected" if it arrived */
static const char *p_tiocsti(char **a)
{
	char nl = '\n';
	bool typed = false;
	int err = tty_ioctl_child(TIOCSTI, &nl, &typed);
	return tty_word(err, typed);
}

/* tiocsti-stdin: type a command line into whatever terminal fd 0 is (the
 * operator's, if one were passed in); "typed" if the kernel took it */
static const char *p_tiocsti_stdin(char **a)
{
	const char *line = "echo ISC-INJECTED\n";
	for (const char *c = line; *c; c++)
		if (ioctl(0, TIOCSTI, c) < 0)
			return errname(errno);
	return "typed";
}

/* tioclinux: paste the VT selection (on a pty the kernel says ENOTTY) */
static const char *p_tioclinux(char **a)
{
	char sel = TIOCL_PASTESEL;
	bool typed = false;
	int err = tty_ioctl_child(TIOCLINUX, &sel, &typed);
	return tty_word(err, typed);
}

/* ---- file handles ---------------------------------------------------------------- */

static const char *p_name_to_handle(char **a)
{
	struct { struct file_handle h; unsigned char b[128]; } fh = { .h.handle_bytes = 128 };
	int mnt;
	return res(syscall(SYS_name_to_handle_at, AT_FDCWD, a[0], &fh.h, &mnt, 0));
}

/* shocker: a hand-made handle for inode 2 (an ext4 root) on the mount of DIR */
static const char *p_open_by_handle(char **a)
{
	struct { struct file_handle h; uint32_t ino, gen; } fh = {
		.h = { .handle_bytes = 8, .handle_type = 1 /* FILEID_INO32_GEN */ }, .ino = 2, .gen = 0 };
	int mfd = open(a[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return errname(errno);
	long fd = syscall(SYS_open_by_handle_at, mfd, &fh.h, O_RDONLY);
	const char *r = res(fd);
	if (fd >= 0)
		close((int)fd);
	close(mfd);
	return r;
}

/* ---- other processes ------------------------------------------------------------- */

static const char *p_ptrace(char **a)
{
	bool child = strcmp(a[0], "child") == 0;
	pid_t t = child ? child_pause() : ptr_to_int(a[0]);
	long r = syscall(SYS_ptrace, PTRACE_SEIZE, t, 0, 0);
	const char *w = res(r);
	if (r == 0 && !child)
		syscall(SYS_ptrace, PTRACE_DETACH, t, 0, 0);
	if (child)
		child_end(t);
	return w;
}

static const char *p_ptrace_traceme(char **a)
{
	int p[2];
	if (pipe(p) < 0)
		return errname(errno);
	pid_t c = fork();
	if (c == 0) {
		int err = syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) < 0 ? errno : 0;
		(void)!write(p[1], &err, sizeof(err));
		_exit(0);
	}
	close(p[1]);
	int err = -1;
	(void)!read(p[0], &err, sizeof(err));
	close(p[0]);
	waitpid(c, NULL, 0);
	return err ? errname(err) : "allowed";
}

static int victim = 42;

/* process_vm_writev|readv on a child of ours (same layout after fork) */
static const char *p_process_vm(char **a)
{
	bool wr = strcmp(a[0], "write") == 0;
	pid_t c = child_pause();
	int mine = 7;
	struct iovec l = { &mine, sizeof(mine) }, r = { &victim, sizeof(victim) };
	long k = wr ? syscall(SYS_process_vm_writev, c, &l, 1, &r, 1, 0)
		    : syscall(SYS_process_vm_readv, c, &l, 1, &r, 1, 0);
	const char *w = res(k);
	child_end(c);
	return w;
}

static const char *p_kcmp(char **a)
{
	pid_t c = child_pause();
	const char *w = res(syscall(SYS_kcmp, getpid(), c, KCMP_VM, 0, 0));
	child_end(c);
	return w;
}

static const char *p_pidfd_getfd(char **a)
{
	pid_t c = child_pause();
	long pfd = syscall(SYS_pidfd_open, c, 0);
	const char *w = pfd < 0 ? errname(errno) : res(syscall(SYS_pidfd_getfd, (int)pfd, 0, 0));
	child_end(c);
	return w;
}

static const char *p_kill(char **a)
{
	return res(kill(ptr_to_int(a[0]), ptr_to_int(a[1])));
}

static const char *p_pidfd_open(char **a)
{
	return res(syscall(SYS_pidfd_open, ptr_to_int(a[0]), 0));
}

/* A login being set up runs iscd's own code inside the ISC's pid namespace
 * for a moment (the runc CVE-2019-5736 window).  For SECONDS, look for any
 * process whose executable is not one of the image's and try to open it
 * and its descriptors.  "none": nothing opened; how many such processes
 * were seen (and refused) is printed. */
static const char *p_exe_race(char **a)
{
	struct stat self;
	if (stat("/proc/self/exe", &self) < 0)
		return errname(errno);
	time_t end = time(NULL) + ptr_to_int(a[0]);
	long seen = 0, joining = 0, opened = 0;
	char mine[16];
	snprintf(mine, sizeof(mine), "%d", getpid());
	while (time(NULL) < end) {
		DIR *d = opendir("/proc");
		if (!d)
			return errname(errno);
		struct dirent *de;
		while ((de = readdir(d))) {
			char p[300], comm[32] = "";
			struct stat st;
			if (de->d_name[0] < '1' || de->d_name[0] > '9' || strcmp(de->d_name, mine) == 0)
				continue;
			snprintf(p, sizeof(p), "/proc/%s/exe", de->d_name);
			int fd = open(p, O_PATH | O_CLOEXEC);
			if (fd < 0) {
				if (errno != EACCES)
					continue;   /* gone, or a kernel thread */
				seen++;
				snprintf(p, sizeof(p), "/proc/%s/comm", de->d_name);
				int c = open(p, O_RDONLY | O_CLOEXEC);
				ssize_t k = c < 0 ? -1 : read(c, comm, sizeof(comm) - 1);
				if (c >= 0)
					close(c);
				comm[k > 0 ? k : 0] = '\0';
				joining += strncmp(comm, "iscd", 4) == 0;
				snprintf(p, sizeof(p), "/proc/%s/fd/0", de->d_name);
				int f = open(p, O_PATH | O_CLOEXEC);
				if (f >= 0) {
					opened++;
					fprintf(stderr, "opened %s\n", p);
					close(f);
				}
				continue;
			}
			if (fstat(fd, &st) == 0 && st.st_dev != self.st_dev) {
				opened++;
				fprintf(stderr, "opened the executable of pid %s\n", de->d_name);
			}
			close(fd);
		}
		closedir(d);
	}
	printf("refused: %ld opens, %ld of a login being set up\n", seen, joining);
	return opened ? "opened" : "none";
}

/* ---- namespaces ------------------------------------------------------------------ */

static int ns_flag(const char *n)
{
	static const struct { const char *name; int flag; } f[] = {
		{ "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "net", CLONE_NEWNET },
		{ "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC }, { "pid", CLONE_NEWPID },
		{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (strcmp(f[i].name, n) == 0)
			return f[i].flag;
	return 0;
}

static const char *p_unshare(char **a)
{
	return res(unshare(ns_flag(a[0])));
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t k = write(fd, s, strlen(s));
	close(fd);
	return k == (ssize_t)strlen(s) ? 0 : -1;
}

/* A new user namespace, root in it, then a mount namespace and a tmpfs:
 * the mount API back through the side door. */
static const char *p_userns_mount(char **a)
{
	char map[32];
	uid_t u = geteuid();
	gid_t g = getegid();
	if (unshare(CLONE_NEWUSER) < 0)
		return errname(errno);
	/* Mapping the parent's root needs CAP_SETFCAP at the unshare; the
	 * capabilities in the new namespace come without any map. */
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)u);
	write_str("/proc/self/uid_map", map);
	write_str("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)g);
	write_str("/proc/self/gid_map", map);
	if (unshare(CLONE_NEWNS) < 0) {
		snprintf(word, sizeof(word), "userns-then-%s", errname(errno));
		return word;
	}
	if (mount("tmpfs", a[0], "tmpfs", 0, NULL) < 0) {
		snprintf(word, sizeof(word), "userns-then-mount-%s", errname(errno));
		return word;
	}
	return "allowed";
}

static const char *p_clone_newuser(char **a)
{
	long c = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (c == 0)
		_exit(0);
	if (c < 0)
		return errname(errno);
	waitpid((pid_t)c, NULL, 0);
	return "allowed";
}

static const char *p_clone3_newuser(char **a)
{
	struct clone_args ca = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
	long c = syscall(SYS_clone3, &ca, sizeof(ca));
	if (c == 0)
		_exit(0);
	if (c < 0)
		return errname(errno);
	waitpid((pid_t)c, NULL, 0);
	return "allowed";
}

static const char *p_setns(char **a)
{
	int fd = open(a[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errname(errno);
	const char *r = res(setns(fd, 0));
	close(fd);
	return r;
}

/* Every namespace any visible process is in, against ours: "none" when no
 * process shows a namespace from outside the ISC (nothing to setns to). */
static const char *p_ns_scan(char **a)
{
	static const char *const kinds[] = { "user", "mnt", "pid", "net", "uts", "ipc", "cgroup" };
	DIR *d = opendir("/proc");
	if (!d)
		return errname(errno);
	struct dirent *de;
	int foreign = 0, seen = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			char p[300], q[64];
			struct stat theirs, ours;
			snprintf(p, sizeof(p), "/proc/%s/ns/%s", de->d_name, kinds[i]);
			snprintf(q, sizeof(q), "/proc/self/ns/%s", kinds[i]);
			if (stat(p, &theirs) < 0 || stat(q, &ours) < 0)
				continue;
			seen++;
			if (theirs.st_ino != ours.st_ino) {
				foreign++;
				fprintf(stderr, "foreign namespace: %s\n", p);
			}
		}
	}
	closedir(d);
	if (foreign)
		return "foreign";
	return seen ? "none" : "none-readable";
}

/* ---- network ---------------------------------------------------------------------- */

static const char *p_socket(char **a)
{
	long s;
	if (strcmp(a[0], "raw4") == 0)
		s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	else if (strcmp(a[0], "raw6") == 0)
		s = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	else if (strcmp(a[0], "packet") == 0)
		s = socket(AF_PACKET, SOCK_RAW, htons(0x0003 /* ETH_P_ALL */));
	else
		return "unknown-socket";
	const char *r = res(s);
	if (s >= 0)
		close((int)s);
	return r;
}

/* ---- resources ---------------------------------------------------------------- */

/* forkbomb MAX HOLD: fork children until fork fails (or MAX); report, hold
 * them HOLD seconds (the pids are spent meanwhile), then end them. */
static const char *p_forkbomb(char **a)
{
	int max = ptr_to_int(a[0]), hold = ptr_to_int(a[1]), n = 0, err = 0;
	pid_t *kids = calloc((size_t)max, sizeof(pid_t));
	if (!kids)
		return "ENOMEM";
	for (; n < max; n++) {
		pid_t c = fork();
		if (c == 0) {
			for (;;)
				pause();
		}
		if (c < 0) {
			err = errno;
			break;
		}
		kids[n] = c;
	}
	printf("forks: %d\n", n);
	fflush(stdout);
	sleep((unsigned)hold);
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	free(kids);
	return err ? errname(err) : "allowed";
}

/* memhog MB: a child touches MB of memory; "SIGKILL" when the limit kills it */
static const char *p_memhog(char **a)
{
	long mb = ptr_to_int(a[0]);
	pid_t c = fork();
	if (c == 0) {
		for (long i = 0; i < mb; i++) {
			char *m = malloc(1 << 20);
			if (!m)
				_exit(2);
			memset(m, 0x5a, 1 << 20);
		}
		_exit(0);
	}
	int st;
	if (c < 0 || waitpid(c, &st, 0) < 0)
		return errname(errno);
	if (WIFSIGNALED(st))
		return sigabbrev_np(WTERMSIG(st)) ? (snprintf(word, sizeof(word), "SIG%s",
							      sigabbrev_np(WTERMSIG(st))), word) : "signal";
	return WEXITSTATUS(st) == 0 ? "allowed" : "ENOMEM";
}

/* fill FILE MB: write until an error or MB; the file is removed after */
static const char *p_fill(char **a)
{
	static char buf[1 << 20];
	long mb = ptr_to_int(a[1]), i = 0;
	int fd = open(a[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return errname(errno);
	memset(buf, 0x5a, sizeof(buf));
	int err = 0;
	for (; i < mb && !err; i++) {
		size_t off = 0;
		while (off < sizeof(buf)) {
			ssize_t k = write(fd, buf + off, sizeof(buf) - off);
			if (k < 0) {
				err = errno;
				break;
			}
			off += (size_t)k;
		}
	}
	if (!err && fsync(fd) < 0)
		err = errno;
	close(fd);
	printf("written: %ld MB\n", i - (err ? 1 : 0));
	unlink(a[0]);
	return err ? errname(err) : "allowed";
}

/* logflood N: N lines of 1 KiB to /dev/log; "sent" when all went */
static const char *p_logflood(char **a)
{
	long n = ptr_to_int(a[0]), sent = 0;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errname(errno);
	char line[1024];
	for (long i = 0; i < n; i++) {
		int k = snprintf(line, sizeof(line), "<13>isc-probe: flood %ld ", i);
		memset(line + k, 'x', sizeof(line) - (size_t)k);
		if (send(s, line, sizeof(line), 0) == (ssize_t)sizeof(line))
			sent++;
	}
	close(s);
	printf("sent: %ld\n", sent);
	return sent == n ? "sent" : "partly-sent";
}

/* denyflood N: N denied calls in a row; each must still be EPERM */
static const char *p_denyflood(char **a)
{
	long n = ptr_to_int(a[0]), eperm = 0;
	for (long i = 0; i < n; i++)
		if (syscall(SYS_acct, NULL) < 0 && errno == EPERM)
			eperm++;
	printf("eperm: %ld of %ld\n", eperm, n);
	return eperm == n ? "EPERM" : "not-all-EPERM";
}

static const char *p_noop(char **a)
{
	return NULL;
}

/* ---- the earlier all-in-one probes (t_crypt.sh) ---------------------------------- */

static int expect_eperm(const char *what, long r)
{
	int err = r < 0 ? errno : 0;
	printf("%s: %s\n", what, r < 0 ? errname(err) : "allowed");
	return r < 0 && err == EPERM ? 0 : 1;
}

static int probe_fscrypt(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		perror(dir);
		return 2;
	}
	/* the argument with 32 bytes of raw key after it */
	union { struct fscrypt_add_key_arg a; unsigned char bytes[sizeof(struct fscrypt_add_key_arg) + 32]; } u;
	memset(&u, 0, sizeof(u));
	struct fscrypt_add_key_arg *add = &u.a;
	add->key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	add->raw_size = 32;
	struct fscrypt_remove_key_arg rm = { .key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER };
	struct fscrypt_get_key_status_arg st = { .key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER };
	struct fscrypt_get_policy_ex_arg pol = { .policy_size = sizeof(pol.policy) };
	struct fscrypt_policy_v2 set = { .version = FSCRYPT_POLICY_V2 };
	int bad = 0;
	bad |= expect_eperm("FS_IOC_ADD_ENCRYPTION_KEY", ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, add));
	bad |= expect_eperm("FS_IOC_REMOVE_ENCRYPTION_KEY", ioctl(fd, FS_IOC_REMOVE_ENCRYPTION_KEY, &rm));
	bad |= expect_eperm("FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS",
			    ioctl(fd, FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS, &rm));
	bad |= expect_eperm("FS_IOC_GET_ENCRYPTION_KEY_STATUS", ioctl(fd, FS_IOC_GET_ENCRYPTION_KEY_STATUS, &st));
	bad |= expect_eperm("FS_IOC_GET_ENCRYPTION_POLICY_EX", ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &pol));
	bad |= expect_eperm("FS_IOC_SET_ENCRYPTION_POLICY", ioctl(fd, FS_IOC_SET_ENCRYPTION_POLICY, &set));
	close(fd);
	return bad;
}

static int probe_keyctl(void)
{
	int bad = 0;
	bad |= expect_eperm("add_key", syscall(SYS_add_key, "user", "isc-probe", "x", 1, -2 /* process */));
	bad |= expect_eperm("request_key", syscall(SYS_request_key, "user", "isc-probe", NULL, 0));
	bad |= expect_eperm("keyctl", syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -4, 0));
	return bad;
}

/* ---- the table ---------------------------------------------------------------- */

struct probe {
	const char *name;
	int nargs;              /* required; a third optional one for "mount" */
	const char *expect;     /* what a confined ISC must get */
	const char *(*fn)(char **);
};

static const struct probe probes[] = {
	{ "remount-rw", 1, "EPERM", p_remount_rw },
	{ "mount", 2, "EPERM", p_mount },
	{ "mount-bind", 2, "EPERM", p_mount_bind },
	{ "mount-create", 1, "EACCES", p_mount_create },
	{ "umount", 1, "EPERM", p_umount },
	{ "fsopen", 1, "EPERM", p_fsopen },
	{ "fspick", 1, "EPERM", p_fspick },
	{ "open-tree", 1, "EPERM", p_open_tree },
	{ "move-mount", 2, "EPERM", p_move_mount },
	{ "mount-setattr", 1, "EPERM", p_mount_setattr },
	{ "pivot-root", 1, "EPERM", p_pivot_root },
	{ "chroot-escape", 1, "EPERM", p_chroot_escape },
	{ "mknod", 4, "EPERM", p_mknod },
	{ "open-write", 1, "EROFS", p_open_write },
	{ "open-rdwr", 1, "EACCES", p_open_rdwr },
	{ "create", 1, "EROFS", p_create },
	{ "mkdir", 1, "EROFS", p_mkdir },
	{ "read", 1, "empty", p_read },
	{ "opendir", 1, "EACCES", p_opendir },
	{ "readlink", 1, "EACCES", p_readlink },
	{ "exec", 1, "EACCES", p_exec },
	{ "mmap-exec", 1, "EPERM", p_mmap_exec },
	{ "setuid-exec", 2, "not-raised", p_setuid_exec },
	{ "mprotect-exec", 0, "EACCES", p_mprotect_exec },
	{ "mmap-rwx", 0, "EACCES", p_mmap_rwx },
	{ "mdwe-off", 0, "EPERM", p_mdwe_off },
	{ "cap-raise", 1, "EPERM", p_cap_raise },
	{ "ambient-raise", 1, "EPERM", p_ambient_raise },
	{ "init-module", 0, "EPERM", p_init_module },
	{ "finit-module", 0, "EPERM", p_finit_module },
	{ "delete-module", 0, "EPERM", p_delete_module },
	{ "kexec-load", 0, "EPERM", p_kexec_load },
	{ "kexec-file-load", 0, "EPERM", p_kexec_file_load },
	{ "bpf", 0, "EPERM", p_bpf },
	{ "perf-event-open", 0, "EPERM", p_perf_event_open },
	{ "userfaultfd", 0, "EPERM", p_userfaultfd },
	{ "io-uring-setup", 0, "EPERM", p_io_uring_setup },
	{ "fanotify-init", 0, "EPERM", p_fanotify_init },
	{ "iopl", 0, "EPERM", p_iopl },
	{ "ioperm", 0, "EPERM", p_ioperm },
	{ "swapon", 1, "EPERM", p_swapon },
	{ "swapoff", 1, "EPERM", p_swapoff },
	{ "reboot", 0, "EPERM", p_reboot },
	{ "acct", 1, "EPERM", p_acct },
	{ "syslog", 0, "EPERM", p_syslog },
	{ "personality", 1, "EPERM", p_personality },
	{ "quotactl", 1, "EPERM", p_quotactl },
	{ "clock-settime", 0, "EPERM", p_clock_settime },
	{ "settimeofday", 0, "EPERM", p_settimeofday },
	{ "adjtimex", 0, "EPERM", p_adjtimex },
	{ "sethostname", 1, "EPERM", p_sethostname },
	{ "add-key", 0, "EPERM", p_add_key },
	{ "request-key", 0, "EPERM", p_request_key },
	{ "keyctl-id", 0, "EPERM", p_keyctl_id },
	{ "fscrypt-ioctl", 2, "EPERM", p_fscrypt_ioctl },
	{ "tiocsti", 0, "EPERM", p_tiocsti },
	{ "tioclinux", 0, "EPERM", p_tioclinux },
	{ "tiocsti-stdin", 0, "EPERM", p_tiocsti_stdin },
	{ "name-to-handle", 1, "EPERM", p_name_to_handle },
	{ "open-by-handle", 1, "EPERM", p_open_by_handle },
	{ "ptrace", 1, "EPERM", p_ptrace },
	{ "ptrace-traceme", 0, "EPERM", p_ptrace_traceme },
	{ "process-vm", 1, "EPERM", p_process_vm },
	{ "kcmp", 0, "EPERM", p_kcmp },
	{ "pidfd-getfd", 0, "EPERM", p_pidfd_getfd },
	{ "kill", 2, "ESRCH", p_kill },
	{ "pidfd-open", 1, "ESRCH", p_pidfd_open },
	{ "exe-race", 1, "none", p_exe_race },
	{ "unshare", 1, "EPERM", p_unshare },
	{ "userns-mount", 1, "EPERM", p_userns_mount },
	{ "clone-newuser", 0, "EPERM", p_clone_newuser },
	{ "clone3-newuser", 0, "ENOSYS", p_clone3_newuser },
	{ "setns", 1, "EPERM", p_setns },
	{ "ns-scan", 0, "none", p_ns_scan },
	{ "socket", 1, "EPERM", p_socket },
	{ "forkbomb", 2, "EAGAIN", p_forkbomb },
	{ "memhog", 1, "SIGKILL", p_memhog },
	{ "fill", 2, "ENOSPC", p_fill },
	{ "logflood", 1, "sent", p_logflood },
	{ "denyflood", 1, "EPERM", p_denyflood },
	{ "euid", 0, NULL, p_euid },
	{ "noop", 0, NULL, p_noop },
};

static bool in_list(const char *w, const char *list)
{
	size_t n = strlen(w);
	for (const char *p = list; p && *p; ) {
		const char *end = strchrnul(p, ',');
		if ((size_t)(end - p) == n && strncmp(p, w, n) == 0)
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

static int usage(void)
{
	fprintf(stderr, "usage: isc-probe [--expect WORD[,WORD...]] ATTEMPT [ARG...]\n"
		"       isc-probe fscrypt DIR | isc-probe keyctl\n"
		"Prints \"ATTEMPT ARG...: RESULT\" (an errno name, allowed, or the attempt's own word)\n"
		"and exits 0 only if RESULT is the expected one.  Attempts:");
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		fprintf(stderr, " %s", probes[i].name);
	fputc('\n', stderr);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "fscrypt") == 0)
		return probe_fscrypt(argv[2]);
	if (argc == 2 && strcmp(argv[1], "keyctl") == 0)
		return probe_keyctl();
	const char *expect = NULL;
	int i = 1;
	if (argc > 2 && strcmp(argv[1], "--expect") == 0) {
		expect = argv[2];
		i = 3;
	}
	if (i >= argc)
		return usage();
	for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
		const struct probe *p = &probes[k];
		int n = argc - i - 1;
		if (strcmp(p->name, argv[i]) != 0)
			continue;
		if (n < p->nargs || n > p->nargs + (strcmp(p->name, "mount") == 0))
			return usage();
		char *args[4] = { NULL, NULL, NULL, NULL };
		for (int j = 0; j < n; j++)
			args[j] = argv[i + 1 + j];
		const char *r = p->fn(args);
		if (!r)
			return 0;
		printf("%s", p->name);
		for (int j = 0; j < n; j++)
			printf(" %s", args[j]);
		printf(": %s\n", r);
		return in_list(r, expect ? expect : p->expect) ? 0 : 1;
	}
	return usage();
}
