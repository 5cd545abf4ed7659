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
	bool writable;                  /* maintenance boot: the whole root is an overlay (layer rootw) */
	bool image_only;                /* with writable: self-assembly (-W), whose commit must
					 * hold nothing the ISC wrote: no profile layers, fresh
					 * tmpfs, volumes read-only and noexec (docs/maintenance.md) */
	bool trusted_root;              /* read-only boot whose root is that overlay, mounted
					 * read-only, so login -T can write through it */
	const int *image_fds;           /* verified erofs layers of the image, top first */
	size_t nimage;
	const char *layers;             /* host path: persistent upper layers */
	bool layers_volatile;           /* they die with the ISC (run --rm): never synced */
	const char *var_layers;         /* host path holding the var layer when /var is bounded */
	const char *session_layers;     /* host path holding the rootw layer of a -w/-W session */
	const struct frozen_layer *frozen;  /* snapshots' frozen layers under each upper, top first */
	size_t nfrozen;
	const char *isc_dir;            /* host path: the pool's isc/ (the ISCs frozen layers are of) */
	const char *volumes_dir;        /* host path: persistent volumes */
	char *const *volumes;
	uint64_t tmp_size;
	const char *stage;              /* host path where the root is assembled */
	int scratch;                    /* detached mount for /scratch, -1: none */
	int init_fd;                    /* isc-init, on a detached read-only bind (O_PATH) */
	/* > 2: the write end of the supervisor's status pipe, isc-init's fd 3
	 * (ISC_STATUS_FD=3) for service events; anything else: none */
	int status_fd;
	char *const *init_argv;
	const char *info;               /* ISC_INFO for isc-init: "key: value;..." */
	const int *stdio;               /* NULL: a console pty */
	bool tty;                       /* with stdio NULL: that pty is an operator's terminal
					 * (line discipline on), not a raw console log */
	struct cgroup *cg;
	const struct confine *confine;
	/* With net_setup: called once the ISC's network namespace exists
	 * (netns: a descriptor of it) and before isc-init is made in it, so
	 * every service starts with its network plumbed and filtered. */
	int (*net_setup)(void *arg, int netns, struct isc_err *e);
	void *net_arg;
	const char *resolv;             /* host file bound read-only on /etc/resolv.conf, or NULL */
};

struct sandbox {
	pid_t pid;                      /* isc-init, our child */
	int pidfd;
	int console;                    /* pty master, -1 with stdio */
	int devlog;                     /* datagram socket behind /dev/log */
	int notify;                     /* seccomp listener of isc-init's filter, or -1 */
	int userns;
};

/* Give the calling process (iscd) a private mount namespace so that every
 * mount made for the ISC is invisible to the host and dies with us; attic
 * (a directory made here) is where older kernels' detached mounts are
 * attached in it (mnt_clone). */
int sandbox_host_prepare(const char *attic, struct isc_err *e);
/* The host's mount namespace, kept by sandbox_host_prepare (else -1). */
int sandbox_host_ns(void);
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
	unsigned session;               /* its cgroup (cgroup_session_create) */
	const struct confine *confine;
	bool tty;
	const int *stdio;               /* used when !tty */
	char *const *argv;
	char *const *envp;
	int sock;                       /* receives the pty master when tty */
	bool trusted;                   /* login -T: writable root, own pid ns and devpts */
	const char *stage;              /* trusted: the host path of the ISC's root */
	uint32_t uid;                   /* trusted: the ISC root's host uid (owns /tmp, /run) */
};
pid_t sandbox_login_spawn(const struct sandbox_login *l, int *master, int *notify, struct isc_err *e);
/* Fill c->writable with the paths the profile, /scratch and the volumes
 * make writable inside the ISC (Landlock's allow list). */
void sandbox_confine_paths(const struct sandbox_spec *s, struct confine *c);

/* /scratch: an ext4 of size bytes in the file img (in the pool), through a
 * loop device, its directory encrypted with a random key that only the
 * kernel holds.  Destroying removes the key and the file.  The empty
 * filesystem is a copy of a template in templates (made there once per
 * size, docs/encryption.md): no mkfs at every boot. */
struct scratch {
	int mnt;                        /* detached mount of the encrypted directory */
	uint8_t id[16];                 /* its fscrypt key identifier */
};
int scratch_create(const char *img, const char *templates, uint64_t size, uint32_t uid, struct scratch *s,
		   struct isc_err *e);
void scratch_destroy(const char *img, struct scratch *s);
/* A spare /scratch filesystem for the pool's next boot (scratch.c says
 * why): _wanted (no other thread running) when the pool has a template
 * of size and no spare of it; _make (blocking: a copy, a loop device, a
 * mount; iscd runs it in a thread) leaves sp->fs, the detached mount;
 * _put, with no other thread running, hands it to the host's mount
 * namespace for scratch_create to take, or drops it.  0 or -errno. */
struct scratch_spare {
	int fs;
	char mnt[128], file[PATH_MAX], tmp[PATH_MAX];
};
bool scratch_spare_wanted(const char *templates, uint64_t size);
int scratch_spare_make(const char *templates, uint64_t size, struct scratch_spare *sp);
int scratch_spare_put(struct scratch_spare *sp);

/* A maintenance session's tree, for its commit, mounted read-only on
 * mountpoint (in the caller's private mount namespace); the upper's host
 * uids uid.. are shifted back to 0.. through an idmapped mount.  With
 * nimage 0, the upper alone: a delta layer, whiteouts and all.  Else the
 * whole merged tree: the upper over the image's layers (top first).
 * Unmount with umount2(MNT_DETACH). */
int sandbox_commit_view(const int *image_fds, size_t nimage, const char *upper, uint32_t uid,
			const char *mountpoint, struct isc_err *e);
/* One erofs layer, as stored (the image's own ids), read-only on
 * mountpoint (in the caller's private mount namespace). */
int sandbox_layer_mount(int image_fd, const char *mountpoint, struct isc_err *e);

/* A bounded /var (var-size): an ext4 of size bytes in img, made at first
 * use, mounted on mountpoint for the var layer.  img lives in the ISC's
 * encrypted data: its blocks are encrypted once, as that file's. */
int varfs_attach(const char *img, uint64_t size, const char *mountpoint, struct isc_err *e);
void varfs_detach(const char *mountpoint);
/* The same for a maintenance session (-w, -W): its root layer (rootw) in
 * a filesystem of session-size, so what it writes is bounded; detach with
 * varfs_detach. */
int sessionfs_attach(const char *img, uint64_t size, const char *mountpoint, struct isc_err *e);

/* ---- an OCI bundle's container (oci.c; isc-runtime, docs/oci.md) ----------
 * The root of a container that an engine (podman, containerd) prepared:
 * built by the container's first process, in its own new mount namespace,
 * right before it waits to be started.  The ISC's rules go on top of the
 * spec's mounts: the root read-only, what is writable never runs. */
struct oci_mount {
	char *dest, *type, *source;
	bool bind, recursive;           /* "bind" / "rbind" */
	unsigned set, clr;              /* MOUNT_ATTR_* the options ask for */
	unsigned long propagation;      /* MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_UNBINDABLE or 0 */
	char **data;                    /* the filesystem's own options ("mode=755") */
	bool copyup;                    /* tmpcopyup: a tmpfs starts with what the root has there */
	bool idmap, ridmap;             /* an idmapped bind ("idmap"; "ridmap": its submounts too) */
};
struct sandbox_oci {
	const char *root;               /* the bundle's root.path, absolute */
	enum isc_profile profile;       /* its writable paths (the profile table), on the root's own files */
	const struct oci_mount *mounts;
	size_t nmounts;
	char *const *masked, *const *readonly;
	unsigned long root_propagation; /* MS_* for every mount of the namespace; 0: MS_SLAVE */
	char *const *exec_ok;           /* destinations a writable mount may run from (annotation) */
	const char *cgroup_v1;          /* the container's group below each v1 hierarchy, or NULL */
	/* per mount, the idmapped clone of an idmap bind's source, made on the
	 * host (where the source's filesystem lets it be idmapped) and handed
	 * in; -1 (or NULL) for the others */
	const int *idmap_fds;
	/* called with every mount made, right before pivot_root (the
	 * createContainer hooks), or NULL */
	int (*before_pivot)(void *arg, struct isc_err *e);
	void *arg;
};
/* In the container's first process, in its new mount namespace: every
 * mount, /dev's nodes, masked and read-only paths, the profile's writable
 * paths, pivot_root, and the root made read-only (not in profile none). */
int sandbox_oci_root(const struct sandbox_oci *o, struct isc_err *e);
/* The writable mounts' destinations and the profile's paths: Landlock's
 * allow list for the container's processes. */
void sandbox_oci_confine_paths(const struct sandbox_oci *o, struct confine *c);
/* A pty from the devpts at /dev/pts (the new root's), in a process about
 * to become a container's: its master handed over by send (to isc's
 * supervisor, or on an engine's console socket), its slave bound on
 * /dev/console when console, made the caller's controlling terminal in a
 * new session, and returned. */
struct sandbox_pty {
	bool console;
	bool raw;                       /* a console that is a log: no line discipline */
	unsigned short rows, cols;      /* the window, when both are given */
	int (*send)(int sock, int master, struct isc_err *e);
};
int sandbox_pty_open(int sock, const struct sandbox_pty *o, struct isc_err *e);
/* A mount's options as the OCI spec writes them ("ro", "nosuid", "rbind",
 * "rprivate", "mode=755"): into m's flags and data.  -EINVAL and e for an
 * option isc does not know how to honour. */
int oci_mount_option(struct oci_mount *m, const char *opt, struct isc_err *e);
