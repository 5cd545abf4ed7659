/* kernel.h - what this kernel offers of the features isc uses, probed for
 * real (a call tried, not a version compared).  docs/kernels.md has the
 * versions and what isc does without each. */
#pragma once

#include "common.h"

struct kernel_features {
	char release[65];
	bool userns;            /* user namespaces (max_user_namespaces > 0) */
	bool mount_api;         /* fsopen/fsmount, Linux 5.2 */
	bool erofs;             /* erofs at all */
	bool erofs_file;        /* erofs straight from a file, Linux 6.12 */
	bool overlay;
	bool overlay_fd_layers; /* overlay layers given as fds (lowerdir+), Linux 6.13 */
	bool loop;              /* /dev/loop-control */
	bool fscrypt;           /* ext4 encryption */
	bool fsverity;          /* ext4 verity */
	bool device_mapper;     /* /dev/mapper/control (dm-verity could use it) */
	bool aes;               /* the CPU's AES instructions (AES-NI) */
	bool cgroup2;           /* the unified hierarchy at /sys/fs/cgroup */
	bool seccomp;
	bool seccomp_notify;    /* SECCOMP_RET_USER_NOTIF, Linux 5.0 */
	int landlock_abi;       /* 0: none (Linux 5.13 brings 1; it may be off in lsm=) */
	bool mdwe;              /* PR_SET_MDWE, Linux 6.3 */
};

/* Probe the defence layers and the rest cheaply; with filesystems, also
 * try erofs and overlayfs for real (root; erofs logs a line for its empty
 * test file on 6.12 and later) and read the CPU's flags for AES (reading
 * /proc/cpuinfo asks every CPU its frequency: most of a probe's 0.6 ms
 * here): host check does, a booting ISC need not (aes stays false). */
void kernel_probe(struct kernel_features *k, bool filesystems);

/* The capabilities an ISC's root keeps by default (limitpriv's "default"):
 * enough for a typical service, nothing that administers the kernel or
 * the namespaces the ISC lives in.  Not kept, among others: SYS_ADMIN
 * (mount, namespaces), SYS_BOOT, SYS_MODULE, SYS_RAWIO, SYS_PTRACE,
 * NET_ADMIN, NET_RAW, MKNOD.  confine applies it; receive compares with it. */
#define ISC_CAP(c) (1ULL << (c))
#define ISC_CAPS_DEFAULT                                                                       \
	(ISC_CAP(0) /* CHOWN: services chown their own files */ |                               \
	 ISC_CAP(1) /* DAC_OVERRIDE: root reads files of its service users */ |                 \
	 ISC_CAP(3) /* FOWNER: chmod/utime of files it does not own */ |                        \
	 ISC_CAP(4) /* FSETID: keep setgid bits on its own data */ |                            \
	 ISC_CAP(5) /* KILL: signal its own services (the pid namespace bounds it) */ |          \
	 ISC_CAP(6) /* SETGID: drop to a service user */ | ISC_CAP(7) /* SETUID */ |             \
	 ISC_CAP(8) /* SETPCAP: drop capabilities further */ |                                  \
	 ISC_CAP(10) /* NET_BIND_SERVICE: listen on ports below 1024 */)
