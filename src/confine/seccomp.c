/* seccomp.c - the ISC's system call filter (libseccomp): denials go to the supervisor, which logs and answers EPERM; iscd and its children. */
#include "confine.h"
#include "runstate.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/fscrypt.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

/* Denied for every ISC process; each denial is reported to the supervisor
 * (SECCOMP_RET_USER_NOTIF) and answered EPERM.  The model is Docker's
 * default profile, minus what a service never needs.  See docs/confine.md. */
static const int denied_syscalls[] = {
	/* the mount table: mounts are the supervisor's, and locked */
	SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
	SCMP_SYS(move_mount), SCMP_SYS(open_tree), SCMP_SYS(fsopen), SCMP_SYS(fsconfig),
	SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(mount_setattr),
	/* the kernel itself: modules, kexec, reboot, swap, clocks, accounting */
	SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
	SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load), SCMP_SYS(reboot),
	SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(settimeofday), SCMP_SYS(clock_settime),
	SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex), SCMP_SYS(acct), SCMP_SYS(syslog),
	SCMP_SYS(quotactl), SCMP_SYS(quotactl_fd), SCMP_SYS(iopl), SCMP_SYS(ioperm),
	SCMP_SYS(uselib), SCMP_SYS(vhangup), SCMP_SYS(lookup_dcookie), SCMP_SYS(nfsservctl),
	SCMP_SYS(_sysctl), SCMP_SYS(sysfs), SCMP_SYS(ustat),
	/* tracing and observing other processes, the ISC's init and sessions */
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
	SCMP_SYS(kcmp), SCMP_SYS(pidfd_getfd), SCMP_SYS(perf_event_open), SCMP_SYS(bpf),
	SCMP_SYS(fanotify_init), SCMP_SYS(userfaultfd),
	/* file handles bypass path checks (the "shocker" escape) */
	SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at),
	/* namespaces: the ISC's are fixed */
	SCMP_SYS(setns),
	/* the kernel keyrings: host keys and the pool's fscrypt keys */
	SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
	/* io_uring runs operations outside this filter */
	SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
};

/* ioctl requests denied on any descriptor, reported like the calls above. */
static const unsigned long denied_ioctls[] = {
	/* fscrypt: /scratch and volumes are the pool's ext4 seen directly, so
	 * these would reach its keyring.  Adding keys (even under its own uid),
	 * probing key status or policies tells an ISC what the host holds. */
	FS_IOC_ADD_ENCRYPTION_KEY, FS_IOC_REMOVE_ENCRYPTION_KEY,
	FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS, FS_IOC_GET_ENCRYPTION_KEY_STATUS,
	FS_IOC_SET_ENCRYPTION_POLICY, FS_IOC_GET_ENCRYPTION_POLICY,
	FS_IOC_GET_ENCRYPTION_POLICY_EX, FS_IOC_GET_ENCRYPTION_NONCE,
	FS_IOC_GET_ENCRYPTION_PWSALT,
	/* terminal injection: TIOCSTI types into a shared terminal (su in a root login), TIOCLINUX pastes on a VT */
	TIOCSTI, TIOCLINUX,
};

/* personality(2): only what Docker allows -- PER_LINUX with PER_LINUX32
 * (0x8) and/or UNAME26 (0x20000), and the query 0xffffffff.  The rest
 * turns off address randomisation (ADDR_NO_RANDOMIZE) or makes readable
 * memory executable (READ_IMPLIES_EXEC).  A filter cannot say "none of
 * these values" in one comparison, so each rule tests one bit together
 * with bit 31, and the rules add up to exactly that set (the persona is
 * an unsigned int: the upper half of the register is not compared). */
static int personality_rules(scmp_filter_ctx ctx, uint32_t deny)
{
	const uint32_t top = 1U << 31, ok = 0x8 | 0x20000;
	int r = 0;
	for (int b = 0; b < 31 && r == 0; b++) {
		uint32_t bit = 1U << b;
		/* bit 31 clear: any bit beyond the allowed two is denied */
		if (!(ok & bit))
			r = seccomp_rule_add(ctx, deny, SCMP_SYS(personality), 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, bit | top, bit));
		/* bit 31 set: only all 32 bits set (the query) passes */
		if (r == 0)
			r = seccomp_rule_add(ctx, deny, SCMP_SYS(personality), 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, bit | top, top));
	}
	return r;
}

static int rules_add(scmp_filter_ctx ctx)
{
	const uint32_t deny = SCMP_ACT_NOTIFY;
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(denied_syscalls) && r == 0; i++) {
		r = seccomp_rule_add(ctx, deny, denied_syscalls[i], 0);
		if (r == -EFAULT || r == -EDOM)
			r = 0;   /* not a syscall on this architecture */
	}
	/* the request is an unsigned int: compare the low 32 bits only, so
	 * garbage in the upper half cannot slip past */
	for (size_t i = 0; i < ARRAY_SIZE(denied_ioctls) && r == 0; i++)
		r = seccomp_rule_add(ctx, deny, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, denied_ioctls[i]));
	/* New user namespaces would give root inside them the mount API
	 * again.  clone3 passes its flags in memory a filter cannot read: it
	 * answers ENOSYS (quietly: libc tries it first) and libc uses clone. */
	if (r == 0)
		r = seccomp_rule_add(ctx, deny, SCMP_SYS(unshare), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	if (r == 0)
		r = seccomp_rule_add(ctx, deny, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0)
		r = personality_rules(ctx, deny);
	return r;
}

/* W^X without PR_SET_MDWE (before Linux 6.3), as systemd's
 * MemoryDenyWriteExecute= does it: no mapping made writable and executable
 * at once, no mprotect or shmat that makes memory executable.  Stricter
 * than MDWE (which lets a mapping that is executable already stay so): a
 * filter cannot see what a mapping was.  Reported like every denial. */
static int wx_rules(scmp_filter_ctx ctx)
{
	const uint32_t deny = SCMP_ACT_NOTIFY;
	const uint64_t wx = PROT_WRITE | PROT_EXEC;
	int r = seccomp_rule_add(ctx, deny, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, wx, wx));
	if (r == 0)
		r = seccomp_rule_add(ctx, deny, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
	if (r == 0)
		r = seccomp_rule_add(ctx, deny, SCMP_SYS(pkey_mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
	if (r == 0)
		r = seccomp_rule_add(ctx, deny, SCMP_SYS(shmat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC));
	return r == -EFAULT || r == -EDOM ? 0 : r;
}

static scmp_filter_ctx filter_build(bool wx, int *r)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		*r = -ENOMEM;
		return NULL;
	}
	/* a binary tree of syscall numbers, not a list: a denied call is
	 * found in log(n) steps (allowed ones are cached by the kernel) */
	*r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (*r == 0)
		*r = rules_add(ctx);
	if (*r == 0 && wx)
		*r = wx_rules(ctx);
	if (*r < 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/* The filter compiled once by the supervisor, before it forks: its
 * children load the program as it is instead of compiling it again (the
 * compile is most of what confinement adds to a start). */
static struct sock_filter *prepared;
static unsigned short prepared_len;
static bool prepared_wx;

/* The compiled program, kept for the next supervisor: the compile is 1-1.4
 * ms of every boot here, and the program is the same until iscd, libseccomp
 * or the kernel changes, which the file's name says.  As trusted as iscd
 * itself: root's, in a root-only directory, checked for its owner and mode;
 * a trailer (a checksum of the program) catches a torn or truncated file,
 * which is then compiled again, never loaded. */
static char cache_dir[PATH_MAX] = ISC_RUN_DIR "/seccomp";
#define CACHE_MAGIC 0x42434349u   /* "ICCB" */

void confine_seccomp_cache_dir(const char *dir)
{
	snprintf(cache_dir, sizeof(cache_dir), "%s", dir);
}

static uint32_t prog_sum(const struct sock_filter *prog, size_t n)
{
	const unsigned char *b = (const unsigned char *)prog;
	uint32_t h = 2166136261u;   /* FNV-1a */
	for (size_t i = 0; i < n * sizeof(*prog); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* A file's identity in a name: device, inode, mtime. */
static int file_id(const char *path, char *buf, size_t n)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	snprintf(buf, n, "%llx-%llx-%llx.%09ld", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	return 0;
}

/* Named by our program's file, libseccomp's (a rebuilt package of the same
 * version is another file) and the kernel's release. */
static int cache_name(bool wx, char *path, size_t n)
{
	char exe[96], lib[96];
	struct utsname u;
	Dl_info dl;
	if (!dladdr((void *)seccomp_version, &dl) || !dl.dli_fname)
		return -ENOENT;
	if (file_id("/proc/self/exe", exe, sizeof(exe)) < 0 || file_id(dl.dli_fname, lib, sizeof(lib)) < 0 ||
	    uname(&u) < 0)
		return -ENOENT;
	int k = snprintf(path, n, "%s/%s-%s-%.64s-%d.bpf", cache_dir, exe, lib, u.release, wx);
	return k < 0 || (size_t)k >= n || strchr(u.release, '/') ? -ENAMETOOLONG : 0;
}

static struct sock_filter *cache_load(bool wx, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	if (cache_name(wx, path, sizeof(path)) < 0)
		return NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077))
		return NULL;
	size_t sz = (size_t)st.st_size, n = (sz - 8) / sizeof(struct sock_filter);
	if (sz < 8 + sizeof(struct sock_filter) || (sz - 8) % sizeof(struct sock_filter) || n > BPF_MAXINSNS)
		return NULL;
	struct sock_filter *prog = malloc(sz);
	uint32_t trailer[2];
	if (!prog || pread(fd, prog, sz, 0) != (ssize_t)sz) {
		free(prog);
		return NULL;
	}
	memcpy(trailer, (char *)prog + sz - 8, 8);
	if (trailer[0] != CACHE_MAGIC || trailer[1] != prog_sum(prog, n)) {
		free(prog);
		return NULL;
	}
	*len = n;
	return prog;
}

/* Best effort: without it the next boot compiles again. */
static void cache_store(bool wx, const struct sock_filter *prog, size_t n)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	if (cache_name(wx, path, sizeof(path)) < 0 || mkdir_p_at(AT_FDCWD, cache_dir, 0700) < 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	uint32_t trailer[2] = { CACHE_MAGIC, prog_sum(prog, n) };
	if (fd < 0 || write_all(fd, prog, n * sizeof(*prog)) < 0 || write_all(fd, trailer, sizeof(trailer)) < 0 ||
	    rename(tmp, path) < 0)
		unlink(tmp);
}

static int compile(bool wx, struct sock_filter **out, size_t *len, struct isc_err *e)
{
	int r;
	scmp_filter_ctx ctx = filter_build(wx, &r);
	if (!ctx)
		return err_sys(e, -r, "seccomp filter");
	_cleanup_close_ int fd = memfd_create("isc-seccomp", MFD_CLOEXEC);
	struct stat st;
	if (fd < 0 || (r = seccomp_export_bpf(ctx, fd)) < 0 || fstat(fd, &st) < 0) {
		seccomp_release(ctx);
		return err_sys(e, r < 0 ? -r : errno, "export the seccomp filter");
	}
	seccomp_release(ctx);
	size_t n = (size_t)st.st_size / sizeof(struct sock_filter);
	if (n == 0 || n > BPF_MAXINSNS || (size_t)st.st_size % sizeof(struct sock_filter))
		return err_set(e, EPROTO, "exported seccomp filter of %lld bytes", (long long)st.st_size);
	struct sock_filter *prog = malloc((size_t)st.st_size);
	if (!prog)
		return err_set(e, ENOMEM, "out of memory");
	if (pread(fd, prog, (size_t)st.st_size, 0) != st.st_size) {
		free(prog);
		return err_sys(e, errno ? errno : EIO, "read the exported seccomp filter");
	}
	*out = prog;
	*len = n;
	return 0;
}

int confine_seccomp_prepare(bool wx, struct isc_err *e)
{
	if (prepared && prepared_wx == wx)
		return 0;
	free(prepared);
	prepared = NULL;
	size_t n = 0;
	struct sock_filter *prog = cache_load(wx, &n);
	if (!prog) {
		int r = compile(wx, &prog, &n, e);
		if (r < 0)
			return r;
		cache_store(wx, prog, n);
	}
	prepared = prog;
	prepared_len = (unsigned short)n;
	prepared_wx = wx;
	return 0;
}

int confine_seccomp(bool wx, int *listener, struct isc_err *e)
{
	*listener = -1;
	if (prepared && prepared_wx == wx) {
		/* no_new_privs is set already (confine_apply) */
		struct sock_fprog prog = { .len = prepared_len, .filter = prepared };
		int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
				      &prog);
		if (fd < 0)
			return err_sys(e, errno, "seccomp filter");
		*listener = fd;
		return 0;
	}
	int r;
	scmp_filter_ctx ctx = filter_build(wx, &r);
	if (!ctx)
		return err_sys(e, -r, "seccomp filter");
	r = seccomp_load(ctx);
	if (r == 0 && (*listener = seccomp_notify_fd(ctx)) < 0)
		r = -EIO;
	seccomp_release(ctx);   /* keeps the listener open */
	return r < 0 ? err_sys(e, -r, "seccomp filter") : 0;
}

/* libseccomp reports a failed ioctl as -ECANCELED (no filter of this
 * process set SCMP_FLTATR_API_SYSRAWRC): the ioctl's errno says more. */
static int notify_rc(int r)
{
	int err = errno;
	return r == -ECANCELED && err > 0 ? -err : r;
}

int confine_notify_deny(int listener, char *what, size_t n)
{
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	if (seccomp_notify_alloc(&req, &resp) < 0)
		return -ENOMEM;
	int r = notify_rc(seccomp_notify_receive(listener, req));
	if (r == 0) {
		char *name = seccomp_syscall_resolve_num_arch(req->data.arch, req->data.nr);
		char comm[32] = "?", path[64];
		/* the pid is the host's: we are in the initial pid namespace */
		snprintf(path, sizeof(path), "/proc/%u/comm", req->pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t k = read(fd, comm, sizeof(comm) - 1);
			comm[k > 0 ? k : 0] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
			close(fd);
		}
		/* the name is the ISC's to choose: no control bytes reach the log */
		for (char *c = comm; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		/* the pid may have been reused since the call: then the name is not its */
		if (seccomp_notify_id_valid(listener, req->id) != 0)
			snprintf(comm, sizeof(comm), "?");
		snprintf(what, n, "%s by pid %u (%s)", name ? name : "?", req->pid, comm);
		free(name);
		resp->id = req->id;
		resp->error = -EPERM;
		resp->val = 0;
		resp->flags = 0;
		r = notify_rc(seccomp_notify_respond(listener, resp));
		if (r == -ENOENT)
			r = 0;   /* it died waiting; still worth reporting */
	}
	seccomp_notify_free(req, resp);
	return r;
}
