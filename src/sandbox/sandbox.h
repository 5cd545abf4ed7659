/* sandbox.h - build an ISC: user namespace with idmapped image and layers, the
 * profile's mounts, /dev, /proc, /sys, pivot_root, then exec isc-init.  iscd. */
#pragma once

#include "cgroup.h"
#include "config.h"
#include "confine.h"

struct sandbox_spec {
	const char *name;               /* hostname */
	uint32_t uid;                   /* first host uid/gid of the ISC's range */
	enum isc_profile profile;
	int image_fd;                   /* verified erofs image */
	const char *layers;             /* host path: persistent upper layers */
	const char *volumes_dir;        /* host path: persistent volumes */
	char *const *volumes;
	uint64_t tmp_size;
	const char *stage;              /* host path where the root is assembled */
	int init_fd;                    /* sealed memfd holding isc-init */
	char *const *init_argv;
	const int *stdio;               /* NULL: a console pty */
	struct cgroup *cg;
	const struct confine *confine;
};

struct sandbox {
	pid_t pid;                      /* isc-init, our child */
	int pidfd;
	int console;                    /* pty master, -1 with stdio */
	int devlog;                     /* datagram socket behind /dev/log */
	int userns;
};

/* Give the calling process (iscd) a private mount namespace so that every
 * mount made for the ISC is invisible to the host and dies with us. */
int sandbox_host_prepare(struct isc_err *e);
int sandbox_start(const struct sandbox_spec *s, struct sandbox *sb, struct isc_err *e);
/* Unmount the stage after isc-init is gone; close descriptors. */
void sandbox_cleanup(const struct sandbox_spec *s, struct sandbox *sb);

/* A login session: enter every namespace of the ISC whose init is
 * init_pidfd, join its cgroup, confine, and exec argv.  With tty, a pty
 * from the ISC's own devpts is made and its master sent on sock.
 * Returns the session's pid (our child) or negative errno. */
struct sandbox_login {
	int init_pidfd;
	struct cgroup *cg;
	const struct confine *confine;
	bool tty;
	const int *stdio;               /* used when !tty */
	char *const *argv;
	char *const *envp;
	int sock;                       /* receives the pty master when tty */
};
pid_t sandbox_login_spawn(const struct sandbox_login *l, int *master, struct isc_err *e);
