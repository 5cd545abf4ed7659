/* helper.c - the confinement of host helpers that parse ISC-made or
 * received data (isc-archive): root on the host, so the walls are what a
 * bug in the parser could reach (docs/confine.md). */
#include "confine.h"

#include <fcntl.h>
#include <sched.h>
#include <linux/landlock.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/* Landlock with reads handled too: the helper reads only its input tree
 * and the libraries it may still load (/usr: gconv, locales). */
static int helper_landlock(const char *const *readable, const char *const *writable, struct isc_err *e)
{
	int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return 0;   /* no Landlock on this kernel: caps and seccomp still hold */
	const uint64_t read = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
			      LANDLOCK_ACCESS_FS_EXECUTE;
	uint64_t write = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
			 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
			 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
			 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
			 LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		write |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		write |= LANDLOCK_ACCESS_FS_TRUNCATE;
	struct landlock_ruleset_attr attr = { .handled_access_fs = read | write };
	_cleanup_close_ int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0)
		return err_sys(e, errno, "landlock ruleset");
	for (int pass = 0; pass < 2; pass++) {
		const char *const *list = pass ? writable : readable;
		for (size_t i = 0; list && list[i]; i++) {
			_cleanup_close_ int fd = open(list[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0) {
				if (errno == ENOENT && !pass)
					continue;
				return err_sys(e, errno, "landlock: open %s", list[i]);
			}
			struct landlock_path_beneath_attr pb = { .allowed_access = pass ? read | write : read,
								 .parent_fd = fd };
			if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
				return err_sys(e, errno, "landlock: rule for %s", list[i]);
		}
	}
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return err_sys(e, errno, "landlock: restrict");
	return 0;
}

/* What a parser never needs, however it was made to misbehave. */
static int helper_seccomp(struct isc_err *e)
{
	static const char *const denied[] = {
		"mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
		"move_mount", "open_tree", "mount_setattr", "setns", "unshare", "bpf", "perf_event_open",
#ifndef __SANITIZE_ADDRESS__
		/* the leak checker of a sanitized build stops the world by ptrace */
		"ptrace",
#endif
		"process_vm_readv", "process_vm_writev", "kexec_load", "kexec_file_load",
		"init_module", "finit_module", "delete_module", "open_by_handle_at", "name_to_handle_at",
		"keyctl", "add_key", "request_key", "swapon", "swapoff", "reboot", "syslog", "iopl",
		"ioperm", "socket", "socketpair", "connect", "execve", "execveat", "userfaultfd",
		"io_uring_setup", "pidfd_getfd", "quotactl", "acct", "settimeofday", "clock_settime",
		"sethostname", "setdomainname", "setuid", "setgid", "setreuid", "setregid", "setresuid",
		"setresgid", "setgroups", "capset", "personality",
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return err_set(e, ENOMEM, "seccomp");
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(denied) && r == 0; i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr != __NR_SCMP_ERROR)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	/* clone with a namespace flag: as unshare; clone3's flags are out of
	 * the filter's sight, so ENOSYS (libc falls back to clone) */
	static const uint64_t ns[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
				       CLONE_NEWNET, CLONE_NEWCGROUP };
	for (size_t i = 0; i < ARRAY_SIZE(ns) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r < 0 ? err_sys(e, -r, "seccomp filter") : 0;
}

int confine_helper(const char *const *readable, const char *const *writable, uint64_t caps,
		   struct isc_err *e)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys(e, errno, "no_new_privs");
	int r = confine_caps(caps, e);
	if (r == 0)
		r = helper_landlock(readable, writable, e);
	if (r == 0)
		r = helper_seccomp(e);
	return r;
}
