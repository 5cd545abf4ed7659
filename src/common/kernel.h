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
 * test file on 6.12 and later): host check does, a booting ISC need not. */
void kernel_probe(struct kernel_features *k, bool filesystems);
