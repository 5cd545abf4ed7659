/* sandbox.c - the host half of an ISC's construction: userns, idmapped image,
 * profile mounts and /dev assembled on a stage in iscd's private mount namespace. */
#include "sandbox.h"
#include "sandbox-internal.h"
#include "mnt.h"
#include "runstate.h"

#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/pidfd.h>

/* Before 6.15 the kernel clones and stacks only mounts in our namespace:
 * detached ones are attached in the attic first, and overlays are made by
 * path (mount_overlay).  Probed once; ISC_OVERLAY_BY_PATH in the
 * environment makes a newer kernel go the older way, to test it. */
static bool detached_refused;

static void detached_probe(void)
{
	struct isc_err ignore = { 0 };
	_cleanup_close_ int t = mnt_tmpfs(0700, 1 << 20, 0, 0, &ignore);
	_cleanup_close_ int c = t < 0 ? -1 : open_tree(t, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
							   AT_EMPTY_PATH);
	detached_refused = (t >= 0 && c < 0 && errno == EINVAL) || getenv("ISC_OVERLAY_BY_PATH");
}

/* The host's mount namespace, kept before we leave it: the shared image
 * mounts live there (mnt_image_shared). */
static int host_mntns = -1;

int sandbox_host_ns(void)
{
	return host_mntns;
}

int sandbox_host_prepare(const char *attic, struct isc_err *e)
{
	if (host_mntns < 0)
		host_mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (unshare(CLONE_NEWNS) < 0)
		return err_sys(e, errno, "unshare mount namespace");
	/* Nothing we mount may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return err_sys(e, errno, "make mounts private");
	/* Our copies of the host's image mounts and spare /scratch filesystems
	 * would keep them alive after the host lets them go (an image removed,
	 * a spare taken by another ISC, whose /scratch we could then read):
	 * we reach them through the host's namespace only. */
	umount2(ISC_RUN_DIR "/images", MNT_DETACH);
	umount2(ISC_SPARES_DIR, MNT_DETACH);
	int r = mnt_attic_set(attic);
	if (r < 0)
		return err_sys(e, -r, "%s", attic);
	detached_probe();
	return 0;
}

static int write_map(pid_t pid, const char *file, uint32_t base)
{
	char path[64], map[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	snprintf(map, sizeof(map), "0 %u %u\n", base, ISC_UID_COUNT);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write_all(fd, map, strlen(map));
}

/* One erofs layer of the image, read-only: a clone of the host's one mount
 * of this file (one page cache for every boot), or where that cannot be
 * had, a mount of our own.  Before any thread of ours runs: setns into
 * the host's mount namespace refuses a process that has one. */
static int image_clone(int image_fd, struct isc_err *e)
{
	/* nosuid: setuid bits in an image never raise privileges; nodev: an
	 * image cannot bring device nodes. */
	const unsigned attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	int m = host_mntns >= 0 ? mnt_image_shared(image_fd, attrs, host_mntns, e) : -1;
	if (m < 0) {
		err_clear(e);
		m = mnt_erofs(image_fd, attrs, EROFS_AUTO, e);
	}
	return m;
}

/* ... shown through the ISC's idmap, so that files owned by root in the
 * image are owned by root inside. */
static int mount_image(int image_fd, int userns, struct isc_err *e)
{
	int m = image_clone(image_fd, e);
	if (m < 0 || userns < 0)
		return m;
	int r = mnt_setattr(m, MOUNT_ATTR_IDMAP, 0, userns);
	if (r < 0) {
		close(m);
		return err_sys(e, -r, "idmap image");
	}
	return m;
}

/* layers/<layer>/{upper,work}; the upper's root copies the lower's owner and
 * mode so the merged directory looks like the image's. */
static int layer_dirs(const struct sandbox_spec *s, const char *layer, int lower,
		      int *clone, int *upper, int *work, struct isc_err *e)
{
	char dir[PATH_MAX], up[PATH_MAX + 8], wk[PATH_MAX + 8];
	/* a bounded /var keeps its layer in a filesystem of its own */
	const char *base = s->var_layers && STREQ(layer, "var") ? s->var_layers :
			   s->session_layers && STREQ(layer, "rootw") ? s->session_layers : s->layers;
	snprintf(dir, sizeof(dir), "%s/%s", base, layer);
	snprintf(up, sizeof(up), "%s/upper", dir);
	snprintf(wk, sizeof(wk), "%s/work", dir);
	struct stat st, lst;
	if (stat(up, &st) < 0) {
		if (mkdir_p_at(AT_FDCWD, up, 0700) < 0 || fstat(lower, &lst) < 0 ||
		    chown(up, lst.st_uid, lst.st_gid) < 0 || chmod(up, lst.st_mode & 07777) < 0)
			return err_sys(e, errno, "create layer %s", up);
	}
	if (mkdir_p_at(AT_FDCWD, wk, 0700) < 0)
		return err_sys(e, errno, "create %s", wk);
	/* Handed to overlayfs through a detached clone, so the ISC's mount
	 * table shows "/upper", not a host path.  The clone must stay open
	 * until the overlay exists: closing it dissolves the mount. */
	*clone = mnt_clone(AT_FDCWD, dir, false);
	if (*clone < 0)
		return err_sys(e, -*clone, "clone layer %s", layer);
	*upper = openat(*clone, "upper", O_PATH | O_DIRECTORY | O_CLOEXEC);
	*work = openat(*clone, "work", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*upper < 0 || *work < 0)
		return err_sys(e, errno, "open layer %s", layer);
	return 0;
}

/* Overlay features fixed rather than left to the kernel's defaults: an
 * upper becomes an image layer at commit, read by later boots, so it may
 * hold nothing that only the same options could read back (metacopy
 * files, redirected directories, index entries) nor a random uuid that
 * would make two equal changes two different layers. */
static bool ovl_options(int fs, bool volatile_upper)
{
	static const char *const opt[][2] = {
		{ "redirect_dir", "off" }, { "metacopy", "off" }, { "index", "off" }, { "uuid", "off" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(opt); i++)
		if (fsconfig(fs, FSCONFIG_SET_STRING, opt[i][0], opt[i][1], 0) < 0)
			return false;
	/* An upper that dies with the ISC (run --rm) is never synced: else
	 * the overlay's unmount syncs the whole pool it lives on (a journal
	 * commit and a flush down to the host's disk, 2-5 ms of every run). */
	return !volatile_upper || fsconfig(fs, FSCONFIG_SET_FLAG, "volatile", NULL, 0) == 0;
}

/* Overlay layers as descriptors (lowerdir+ with an fd, Linux 6.13): the superblock
 * made, or -errno. */
static int ovl_by_fd(int fs, const int *lowers, size_t nl, int upper, int work)
{
	for (size_t i = 0; i < nl; i++)
		if (fsconfig(fs, FSCONFIG_SET_FD, "lowerdir+", NULL, lowers[i]) < 0)
			return -errno;
	if (upper >= 0 && (fsconfig(fs, FSCONFIG_SET_FD, "upperdir", NULL, upper) < 0 ||
			   fsconfig(fs, FSCONFIG_SET_FD, "workdir", NULL, work) < 0))
		return -errno;
	return fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ? -errno : 0;
}

/* Older kernels: layers by path, and only layers in our own mount
 * namespace (detached mounts are refused before 6.15).  The supervisor's
 * namespace is private: the layers are attached on directories of a
 * fresh one in its attic, named relative to it, and detached again once
 * the overlay holds them (it keeps private clones). */
static int ovl_by_path(int fs, const int *lowers, size_t nl, int layerdir, struct isc_err *e)
{
	char dir[PATH_MAX], sub[PATH_MAX + 24], opt[256] = "", one[32];
	if (!*mnt_attic())
		return err_set(e, EINVAL, "overlay: no staging directory");
	snprintf(dir, sizeof(dir), "%s/layers-XXXXXX", mnt_attic());
	if (!mkdtemp(dir))
		return err_sys(e, errno, "overlay: staging directory in %s", mnt_attic());
	size_t attached = 0;
	int r = 0;
	for (; attached < nl && r == 0; attached++) {
		snprintf(sub, sizeof(sub), "%s/%zu", dir, attached);
		snprintf(one, sizeof(one), "%s%zu", attached ? ":" : "", attached);
		str_append(opt, sizeof(opt), one);
		if (mkdir(sub, 0700) < 0) {
			r = err_sys(e, errno, "overlay: %s", sub);
			continue;
		}
		/* a detached mount's root is attached as it is; a directory
		 * within a mount (in our namespace) through a clone of it */
		if (move_mount(lowers[attached], "", AT_FDCWD, sub, MOVE_MOUNT_F_EMPTY_PATH) == 0)
			continue;
		_cleanup_close_ int t = mnt_clone(lowers[attached], "", false);
		if (t < 0 || move_mount(t, "", AT_FDCWD, sub, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			r = err_sys(e, t < 0 ? -t : errno, "overlay: attach layer %zu", attached);
	}
	/* named relative to the staging directory, so that the ISC's mount
	 * table shows "lowerdir=0:1", no host path (resolved at fsconfig
	 * from 6.5, at create before: in there until both are done) */
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r == 0 && (cwd < 0 || chdir(dir) < 0))
		r = err_sys(e, errno, "overlay: enter %s", dir);
	if (r == 0 && fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", opt, 0) < 0)
		r = err_sys(e, errno, "overlay: lowerdir");
	/* the upper and work directories: their layer's detached clone
	 * attached as "u", so they are "u/upper" and "u/work" */
	snprintf(sub, sizeof(sub), "%s/u", dir);
	bool layer_on = false;
	if (r == 0 && layerdir >= 0) {
		if (mkdir(sub, 0700) < 0 || move_mount(layerdir, "", AT_FDCWD, sub, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			r = err_sys(e, errno, "overlay: attach the layer");
		else
			layer_on = true;
	}
	if (r == 0 && layerdir >= 0 && (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", "u/upper", 0) < 0 ||
					fsconfig(fs, FSCONFIG_SET_STRING, "workdir", "u/work", 0) < 0))
		r = err_sys(e, errno, "overlay: upperdir");
	if (r == 0 && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		r = mnt_fs_fail(fs, errno, e, "overlay");
	if (cwd >= 0 && fchdir(cwd) < 0 && r == 0)
		r = err_sys(e, errno, "overlay: back to the working directory");
	snprintf(sub, sizeof(sub), "%s/u", dir);
	if (layer_on)
		umount2(sub, MNT_DETACH);
	rmdir(sub);
	for (size_t i = 0; i < nl; i++) {
		snprintf(sub, sizeof(sub), "%s/%zu", dir, i);
		if (i < attached)
			umount2(sub, MNT_DETACH);
		rmdir(sub);
	}
	rmdir(dir);
	return r;
}

/* An overlay on lowers (top first: the image's subtree, or the image's
 * layers) with a persistent upper; with layer NULL, lowers only, read-only
 * (s is then not used).  The overlay is made by host root on layers given
 * as descriptors; the upper stores the ISC's host uids (an overlay itself
 * cannot be idmapped here). */
static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int mount_overlay_on(const struct sandbox_spec *s, const int *lowers, size_t nl,
			    const char *layer, unsigned attrs, struct isc_err *e);

/* The frozen layers of the ISC's snapshots under layer's upper (top
 * first, those the layer has): detached clones of frozen/<id>, read-only
 * to the overlay as any lower is.  A clone's origin stored its files under
 * its own uid range: an idmapped view shows them under this ISC's. */
static int frozen_open(const struct sandbox_spec *s, const char *layer, int *fds, size_t *n,
		       struct isc_err *e)
{
	*n = 0;
	if (!s->nfrozen || STREQ(layer, "rootw") || (s->var_layers && STREQ(layer, "var")))
		return 0;
	for (size_t i = 0; i < s->nfrozen; i++) {
		const struct frozen_layer *f = &s->frozen[i];
		char dir[PATH_MAX];
		struct stat st;
		snprintf(dir, sizeof(dir), "%s/%s/data/layers/%s/frozen/%u", s->isc_dir, f->isc, layer, f->id);
		if (lstat(dir, &st) < 0 && errno == ENOENT)
			continue;       /* the layer did not exist when that snapshot was made */
		int fd = f->uid == s->uid ? mnt_clone(AT_FDCWD, dir, false)
					  : mnt_idmapped(dir, f->uid, s->uid, ISC_UID_COUNT, 0, e);
		if (fd < 0) {
			close_all(fds, *n);
			return f->uid == s->uid ? err_sys(e, -fd, "frozen layer %s/%u of %s", f->isc, f->id, layer)
						: err_prefix(e, "frozen layer %s/%u", f->isc, f->id);
		}
		fds[(*n)++] = fd;
	}
	return 0;
}

static int mount_overlay(const struct sandbox_spec *s, const int *lowers, size_t nl,
			 const char *layer, unsigned attrs, struct isc_err *e)
{
	int all[ISC_MAX_FROZEN + ISC_MAX_LAYERS + 1];
	size_t nf = 0;
	if (!layer || nl > ISC_MAX_LAYERS + 1)
		return mount_overlay_on(s, lowers, nl, layer, attrs, e);
	int r = frozen_open(s, layer, all, &nf, e);
	if (r < 0)
		return r;
	memcpy(all + nf, lowers, nl * sizeof(*lowers));
	r = mount_overlay_on(s, all, nf + nl, layer, attrs, e);
	close_all(all, nf);     /* the overlay holds them */
	return r;
}

static int mount_overlay_on(const struct sandbox_spec *s, const int *lowers, size_t nl,
			    const char *layer, unsigned attrs, struct isc_err *e)
{
	_cleanup_close_ int clone = -1, upper = -1, work = -1;
	const char *what = layer ? layer : "of the image's layers";
	if (layer) {
		/* the upper's root copies the bottom lower's owner: the image's */
		int r = layer_dirs(s, layer, lowers[nl - 1], &clone, &upper, &work, e);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	bool vol = layer && s->layers_volatile;
	if (fs < 0 || !ovl_options(fs, vol))
		return mnt_fs_fail(fs, errno, e, "overlay %s", what);
	int r = detached_refused ? -EINVAL : ovl_by_fd(fs, lowers, nl, upper, work);
	/* before 6.13 (no fd layers) or 6.15 (no detached layers) */
	if (r == -EINVAL || detached_refused) {
		close(fs);
		fs = fsopen("overlay", FSOPEN_CLOEXEC);
		if (fs < 0 || !ovl_options(fs, vol))
			return mnt_fs_fail(fs, errno, e, "overlay %s", what);
		if ((r = ovl_by_path(fs, lowers, nl, clone, e)) < 0)
			return err_prefix(e, "%s", what);
	} else if (r < 0) {
		return mnt_fs_fail(fs, -r, e, "overlay %s", what);
	}
	int m = fsmount(fs, FSMOUNT_CLOEXEC, layer ? attrs : attrs | MOUNT_ATTR_RDONLY);
	if (m < 0)
		return err_sys(e, errno, "fsmount overlay %s", layer ? layer : "of layers");
	return m;
}

/* Writable mounts never execute (except under profile none): what runs is
 * never writable, what is writable never runs. */
static unsigned writable_attrs(const struct sandbox_spec *s)
{
	unsigned a = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	return s->profile == PROFILE_NONE ? a : a | MOUNT_ATTR_NOEXEC;
}

/* The detached mount for one profile entry in *m; -1 there for an
 * image-state path the image does not have (nothing to protect). */
static int op_prepare(const struct sandbox_spec *s, const struct profile_path *op, int rootfd,
		      int imgclone, int *m, struct isc_err *e)
{
	int fd, r;
	*m = -1;
	switch (op->kind) {
	case PP_TMPFS:
		fd = mnt_tmpfs(op->mode, s->tmp_size, s->uid, writable_attrs(s) | MOUNT_ATTR_NOEXEC, e);
		break;
	case PP_IMAGE_RO:
		fd = mnt_clone(rootfd, op->path, false);
		if (fd == -ENOENT)
			return 0;
		/* package state is the image's: read-only, except in a maintenance
		 * boot, where it is the writable root's and goes into the commit */
		r = fd < 0 ? fd : mnt_setattr(fd, (s->writable ? 0 : MOUNT_ATTR_RDONLY) |
					      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, -1);
		if (r < 0) {
			if (fd >= 0)
				close(fd);
			return err_sys(e, -r, "read-only %s", op->path);
		}
		break;
	case PP_LAYER: {
		_cleanup_close_ int lower = inroot_open(imgclone, op->path, O_PATH | O_DIRECTORY, MNT_RULE);
		if (lower < 0)
			return err_sys(e, -lower, "image has no directory %s", op->path);
		fd = mount_overlay(s, &lower, 1, op->layer, writable_attrs(s), e);
		break;
	}
	case PP_END:
	default:
		return 0;
	}
	if (fd < 0)
		return fd;
	*m = fd;
	return 0;
}

static int build_profile(const struct sandbox_spec *s, int rootfd, struct isc_err *e)
{
	const struct profile_path *ops = profile_paths(s->profile);
	int fds[16];
	size_t k = 0;
	int r = 0;
	/* lowers come from a detached view of the image: paths shown are the
	 * image's own ("/var"), not the stage's */
	_cleanup_close_ int imgclone = mnt_clone(rootfd, "", false);
	if (imgclone < 0)
		return err_sys(e, -imgclone, "clone image");
	/* in our namespace while its parts are cloned and stacked, where the
	 * kernel refuses detached sources (overlays then name their layers
	 * relative: the attic's path is not shown to the ISC) */
	char held[PATH_MAX] = "";
	if (detached_refused && (r = mnt_attic_hold(imgclone, held, sizeof(held))) < 0)
		return err_sys(e, -r, "attach the image's view");
	/* Phase 1: every detached mount, while the image's own tree is still
	 * what the paths resolve to (clones and lowers come from the image). */
	for (; ops[k].kind != PP_END && r == 0; k++) {
		fds[k] = -1;
		/* self-assembly sees none of the ISC's persistent layers */
		if (!s->image_only || ops[k].kind == PP_TMPFS)
			r = op_prepare(s, &ops[k], rootfd, imgclone, &fds[k], e);
	}
	/* Phase 2: attach in table order (a re-protected path goes on top of
	 * the overlay that contains it). */
	for (size_t i = 0; i < k; i++) {
		if (r == 0 && fds[i] >= 0) {
			int q = mnt_attach(fds[i], rootfd, ops[i].path);
			if (q < 0)
				r = err_sys(e, -q, "mount on %s", ops[i].path);
		}
		if (fds[i] >= 0)
			close(fds[i]);
	}
	if (*held)
		mnt_attic_release(held);
	return r;
}

static int build_volumes(const struct sandbox_spec *s, int rootfd, struct isc_err *e)
{
	for (size_t i = 0; s->volumes && s->volumes[i]; i++) {
		const char *v = s->volumes[i];
		char dir[PATH_MAX], esc[800];
		volume_dir_name(v, esc, sizeof(esc));
		snprintf(dir, sizeof(dir), "%s/%s", s->volumes_dir, esc);
		struct stat st;
		if (stat(dir, &st) < 0 && (mkdir_p_at(AT_FDCWD, dir, 0755) < 0 ||
					   chown(dir, s->uid, s->uid) < 0))
			return err_sys(e, errno, "volume %s", v);
		_cleanup_close_ int m = mnt_clone(AT_FDCWD, dir, false);
		/* self-assembly may read what an operator left in a volume (a
		 * package to install), but nothing there runs or changes */
		unsigned attrs = writable_attrs(s) | (s->image_only ? MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC : 0);
		int r = m < 0 ? m : mnt_setattr(m, attrs, 0, -1);
		if (r == 0)
			r = mnt_attach(m, rootfd, v);
		if (r == -ENOENT)
			return err_set(e, ENOENT, "volume %s: no such directory in the image", v);
		if (r < 0)
			return err_sys(e, -r, "volume %s", v);
	}
	return 0;
}

/* The host's character devices an ISC gets, bound onto empty files in its
 * /dev: each checked to be the real device, then bound from that fd. */
int sandbox_dev_tree(int dev, struct isc_err *e)
{
	mkdirat(dev, "pts", 0755);
	mkdirat(dev, "shm", 0755);
	symlinkat("pts/ptmx", dev, "ptmx");
	symlinkat("/proc/self/fd", dev, "fd");
	symlinkat("/proc/self/fd/0", dev, "stdin");
	symlinkat("/proc/self/fd/1", dev, "stdout");
	symlinkat("/proc/self/fd/2", dev, "stderr");
	close(openat(dev, "console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	return sandbox_dev_nodes(dev, e);
}

int sandbox_dev_nodes(int dev, struct isc_err *e)
{
	static const struct { const char *name; unsigned major, minor; } nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 },
		{ "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		char host[32];
		struct stat st;
		snprintf(host, sizeof(host), "/dev/%s", nodes[i].name);
		/* bind only the real device: a host whose /dev/null was replaced
		 * by a file must not hand that file to every ISC */
		_cleanup_close_ int hfd = open(host, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (hfd < 0 || fstat(hfd, &st) < 0 || !S_ISCHR(st.st_mode) ||
		    major(st.st_rdev) != nodes[i].major || minor(st.st_rdev) != nodes[i].minor)
			return err_set(e, ENODEV, "%s is not the %u:%u character device", host,
				       nodes[i].major, nodes[i].minor);
		close(openat(dev, nodes[i].name, O_CREAT | O_WRONLY | O_CLOEXEC, 0666));
		/* the node just checked, not whatever the path names by now */
		_cleanup_close_ int b = mnt_clone(hfd, "", false);
		int r = b < 0 ? b : mnt_setattr(b, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0, -1);
		if (r == 0)
			r = mnt_attach(b, dev, nodes[i].name);
		if (r < 0)
			return err_sys(e, -r, "bind %s", host);
	}
	return 0;
}

/* A minimal /dev owned by the host: the ISC cannot add nodes to it.  The
 * character devices are binds of the host's harmless ones. */
static int build_dev(const struct sandbox_spec *s, int rootfd, int *devlog, struct isc_err *e)
{
	int r = mnt_place(mnt_tmpfs(0755, 1 << 20, 0, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, e),
			  rootfd, "/dev", e);
	if (r < 0)
		return r;
	_cleanup_close_ int dev = inroot_open(rootfd, "/dev", O_DIRECTORY, MNT_RULE);
	if (dev < 0)
		return err_sys(e, -dev, "open /dev");
	if ((r = sandbox_dev_tree(dev, e)) < 0)
		return r;
	r = mnt_place(mnt_tmpfs(01777, s->tmp_size, s->uid,
				MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, e),
		      rootfd, "/dev/shm", e);
	if (r < 0)
		return r;
	/* /dev/log: the supervisor's end of the ISC's syslog. */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dev/log", s->stage);
	*devlog = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*devlog < 0 || bind(*devlog, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    fchmodat(dev, "log", 0666, 0) < 0)
		return err_sys(e, errno, "bind /dev/log");
	return 0;
}


/* The image's layers (image_clone), taken before the stage is built. */
static int images_clone(const struct sandbox_spec *s, int *img, struct isc_err *e)
{
	if (s->nimage < 1 || s->nimage > ISC_MAX_LAYERS)
		return err_set(e, EINVAL, "%zu image layers (1 to %d)", s->nimage, ISC_MAX_LAYERS);
	for (size_t k = 0; k < s->nimage; k++)
		if ((img[k] = image_clone(s->image_fds[k], e)) < 0) {
			int r = img[k];
			close_all(img, k);
			return r;
		}
	return 0;
}

/* The root: the image's layers (img, closed here), alone or under an
 * overlay, on the stage. */
static int build_root(const struct sandbox_spec *s, int userns, int *img, struct isc_err *e)
{
	_cleanup_close_ int root = -1;
	size_t k = s->nimage;
	for (size_t i = 0; i < k; i++) {
		int r = mnt_setattr(img[i], MOUNT_ATTR_IDMAP, 0, userns);
		if (r < 0) {
			close_all(img, k);
			return err_sys(e, -r, "idmap image");
		}
	}
	if (s->profile == PROFILE_NONE || s->writable || s->trusted_root) {
		/* the whole root is an overlay on the image's layers: the profile
		 * none's own layer, or a maintenance session's, committed at its
		 * end (read-only to the ISC when only login -T may write to it) */
		bool own = s->profile == PROFILE_NONE && !s->writable;
		unsigned ro = !own && !s->writable ? MOUNT_ATTR_RDONLY : 0;
		root = mount_overlay(s, img, k, own ? "root" : "rootw",
				     ro | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, e);
	} else if (k == 1) {
		root = TAKE_FD(img[0]);
	} else {
		root = mount_overlay(s, img, k, NULL, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, e);
	}
	close_all(img, k);   /* the overlay holds its layers */
	if (root < 0)
		return root;
	if (move_mount(root, "", AT_FDCWD, s->stage, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return err_sys(e, errno, "mount root on %s", s->stage);
	return TAKE_FD(root);
}

/* The resolver the supervisor wrote from the host's, not the image's:
 * read-only, nothing in it runs.  An image without /etc/resolv.conf has
 * no place for it (its services resolve nothing by name). */
static int bind_resolv(const struct sandbox_spec *s, int root, struct isc_err *e)
{
	int m = mnt_clone(AT_FDCWD, s->resolv, false);
	if (m < 0)
		return err_sys(e, -m, "clone %s", s->resolv);
	int r = mnt_setattr(m, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, -1);
	if (r == 0)
		r = mnt_attach(m, root, "/etc/resolv.conf");
	close(m);
	if (r == -ENOENT)
		return 0;
	return r < 0 ? err_sys(e, -r, "mount /etc/resolv.conf") : 0;
}

static int build_stage(const struct sandbox_spec *s, int userns, int *img, int *devlog, struct isc_err *e)
{
	_cleanup_close_ int root = build_root(s, userns, img, e);
	if (root < 0)
		return root;
	int r = build_profile(s, root, e);
	if (r == 0)
		r = build_volumes(s, root, e);
	if (r == 0 && s->scratch >= 0 && (r = mnt_attach(s->scratch, root, "/scratch")) < 0)
		r = r == -ENOENT ? err_set(e, ENOENT, "mount /scratch: no /scratch in the image") :
			err_sys(e, -r, "mount /scratch");
	if (r == 0)
		r = build_dev(s, root, devlog, e);
	if (r == 0 && s->resolv)
		r = bind_resolv(s, root, e);
	return r;
}

void sandbox_confine_paths(const struct sandbox_spec *s, struct confine *c)
{
	size_t n = 0;
	/* /dev: null, ptys and shm; /proc: a process's own knobs (the kernel's
	 * are read-only mounts); /scratch and volumes: writable by design */
	static const char *const always[] = { "/dev", "/proc", "/scratch" };
	memset(c->writable, 0, sizeof(c->writable));
	if (s->profile == PROFILE_NONE || s->writable)
		c->writable[n++] = "/";
	for (size_t i = 0; i < ARRAY_SIZE(always); i++)
		c->writable[n++] = always[i];
	for (const struct profile_path *op = profile_paths(s->profile); op->kind != PP_END; op++)
		if (op->kind != PP_IMAGE_RO && n < CONFINE_MAX_WRITABLE)
			c->writable[n++] = op->path;
	for (size_t i = 0; s->volumes && s->volumes[i] && n < CONFINE_MAX_WRITABLE; i++)
		c->writable[n++] = s->volumes[i];
}

int sandbox_commit_view(const int *image_fds, size_t nimage, const char *upper, uint32_t uid,
			const char *mountpoint, struct isc_err *e)
{
	int lowers[ISC_MAX_LAYERS + 1];
	size_t k = 0;
	if (nimage > ISC_MAX_LAYERS)
		return err_set(e, EINVAL, "commit: %zu image layers", nimage);
	/* files stored under the ISC's host uids, seen as the image's own ids */
	_cleanup_close_ int ns = userns_idmap(uid, 0, ISC_UID_COUNT);
	if (ns < 0)
		return err_sys(e, -ns, "commit: user namespace for the id shift");
	_cleanup_close_ int up = mnt_clone(AT_FDCWD, upper, false);
	int r = up < 0 ? up : mnt_setattr(up, MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV, 0, ns);
	if (r < 0)
		return err_sys(e, -r, "commit: idmapped view of %s", upper);
	_cleanup_close_ int m = -1;
	if (nimage == 0) {
		/* the session's own layer, as it is: a delta, with the whiteouts
		 * and opaque directories overlayfs wrote, in the image's ids */
		m = TAKE_FD(up);
	} else {
		/* everything, merged: the upper over the image's layers, no
		 * upper of its own (read-only) */
		lowers[k++] = up;
		for (size_t i = 0; i < nimage && r == 0; i++, k++)
			if ((lowers[k] = mount_image(image_fds[i], -1, e)) < 0)
				r = lowers[k];
		if (r == 0)
			m = mount_overlay(NULL, lowers, k, NULL, MOUNT_ATTR_NODEV, e);
		close_all(lowers + 1, k - 1);
		if (r < 0 || m < 0)
			return err_prefix(e, "commit");
	}
	if (mkdir_p_at(AT_FDCWD, mountpoint, 0700) < 0 ||
	    move_mount(m, "", AT_FDCWD, mountpoint, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return err_sys(e, errno, "commit: mount on %s", mountpoint);
	return 0;
}

int sandbox_layer_mount(int image_fd, const char *mountpoint, struct isc_err *e)
{
	_cleanup_close_ int m = mount_image(image_fd, -1, e);
	if (m < 0)
		return err_prefix(e, "commit");
	if (mkdir_p_at(AT_FDCWD, mountpoint, 0700) < 0 ||
	    move_mount(m, "", AT_FDCWD, mountpoint, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return err_sys(e, errno, "commit: mount on %s", mountpoint);
	return 0;
}

void sandbox_cleanup(const struct sandbox_spec *s, struct sandbox *sb)
{
	if (s->stage)
		umount2(s->stage, MNT_DETACH);
	if (sb->pidfd >= 0)
		close(sb->pidfd);
	if (sb->console >= 0)
		close(sb->console);
	if (sb->devlog >= 0)
		close(sb->devlog);
	if (sb->userns >= 0)
		close(sb->userns);
	if (sb->notify >= 0)
		close(sb->notify);
	sb->pidfd = sb->console = sb->devlog = sb->userns = sb->notify = -1;
}

static int recv_byte(int fd, char want)
{
	char c;
	ssize_t k;
	do
		k = read(fd, &c, 1);
	while (k < 0 && errno == EINTR);
	return k == 1 && c == want ? 0 : -EPROTO;
}

/* The child's move into the ISC's cgroups, by a thread of ours: on a v1
 * host the first cgroup.procs write waits for an RCU grace period
 * (bench/README.md, the floor row), which passes meanwhile instead of
 * after the stage is built.  (A thread, not a process: a fork costs about
 * a millisecond where the hypervisor shadows page tables.) */
struct attach {
	pthread_t thread;
	struct cgroup *cg;
	pid_t pid;
	int r;
	struct isc_err e;
};

static void *attach_run(void *p)
{
	struct attach *a = p;
	/* an fs_struct of its own: the main thread may setns into a mount
	 * namespace while we run or have just been joined (restock_run) */
	if (unshare(CLONE_FS) < 0)
		a->r = err_sys(&a->e, errno, "unshare CLONE_FS");
	else
		a->r = cgroup_attach(a->cg, a->pid, &a->e);
	return NULL;
}

static int attach_start(struct attach *a)
{
	a->e = (struct isc_err){ 0 };
	int r = pthread_create(&a->thread, NULL, attach_run, a);
	return r ? err_sys(&a->e, r, "move into the ISC's cgroups") : 0;
}

static int attach_end(struct attach *a, struct isc_err *e)
{
	pthread_join(a->thread, NULL);
	if (a->r < 0)
		*e = a->e;
	return a->r;
}

/* With the child in its new user namespace: map our ids into it, build
 * the stage through it, put it in the ISC's cgroup, and let it go on. */
static int stage_prepare(const struct sandbox_spec *s, struct sandbox *sb, pid_t c, bool born_in,
			 int sock, int errfd, struct isc_err *e)
{
	int r, img[ISC_MAX_LAYERS];
	char ns[64];
	if ((r = images_clone(s, img, e)) < 0)
		return r;
	struct attach att = { .cg = s->cg, .pid = c };
	if (!born_in && attach_start(&att) < 0) {
		close_all(img, s->nimage);
		*e = att.e;
		return -e->code;
	}
	snprintf(ns, sizeof(ns), "/proc/%d/ns/user", c);
	if (recv_byte(sock, 'U') < 0)
		r = sandbox_err_recv(errfd, false, e) ?: err_set(e, EPROTO, "user namespace not created");
	else if ((r = write_map(c, "uid_map", s->uid)) < 0 || (r = write_map(c, "gid_map", s->uid)) < 0)
		r = err_sys(e, -r, "write id maps");
	else if ((sb->userns = open(ns, O_RDONLY | O_CLOEXEC)) < 0)
		r = err_sys(e, errno, "open %s", ns);
	if (r < 0)
		close_all(img, s->nimage);
	else
		r = build_stage(s, sb->userns, img, &sb->devlog, e);   /* takes img */
	/* the move has happened by now, or failed: either way its thread is joined */
	if (!born_in) {
		struct isc_err ae;
		int ar = attach_end(&att, &ae);
		if (r == 0 && ar < 0) {
			*e = ae;
			r = ar;
		}
	}
	if (r < 0)
		return r;
	if (write(sock, "G", 1) != 1)
		return err_sys(e, EPIPE, "namespace setup");
	return 0;
}

/* The child is in its new network namespace: the supervisor's plumbing,
 * then the child goes on to exec isc-init. */
static int net_prepare(const struct sandbox_spec *s, pid_t c, int sock, int errfd, struct isc_err *e)
{
	if (recv_byte(sock, 'N') < 0)
		return sandbox_err_recv(errfd, false, e) ?: err_set(e, EPROTO, "network namespace not created");
	char ns[64];
	snprintf(ns, sizeof(ns), "/proc/%d/ns/net", c);
	_cleanup_close_ int fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open %s", ns);
	int r = s->net_setup(s->net_arg, fd, e);
	if (r < 0)
		return r;
	if (write(sock, "n", 1) != 1)
		return err_sys(e, EPIPE, "network setup");
	return 0;
}

/* The child, PID 1 of the ISC, sends its console and seccomp listener, in
 * whatever order, then its exec of isc-init closes the error pipe:
 * anything read there is its failure.  On a failure it is gone again. */
static int init_receive(const struct sandbox_spec *s, struct sandbox *sb, pid_t *c, int sock,
			int errfd, struct isc_err *e)
{
	pid_t grand = *c;   /* the child becomes isc-init itself */
	int got = sandbox_recv_setup(sock, &grand, s->stdio ? NULL : &sb->console,
				     s->confine->seccomp ? &sb->notify : NULL);
	*c = -1;
	sb->pid = grand;
	sb->pidfd = pidfd_open(grand, 0);
	int r;
	if (sb->pidfd < 0)
		r = err_sys(e, errno, "pidfd_open");
	else if (got < 0)
		r = sandbox_err_recv(errfd, false, e) ?: err_set(e, -got, "isc-init setup failed");
	else
		r = sandbox_err_recv(errfd, true, e);
	if (r < 0) {
		kill(grand, SIGKILL);   /* not reaped yet: the pid is still its */
		waitpid(grand, NULL, 0);
	}
	return r;
}

int sandbox_start(const struct sandbox_spec *s, struct sandbox *sb, struct isc_err *e)
{
	int sock, errfd;
	sb->pidfd = sb->console = sb->devlog = sb->userns = sb->notify = -1;
	sb->pid = -1;
	if (mkdir_p_at(AT_FDCWD, s->stage, 0700) < 0)
		return err_sys(e, errno, "create %s", s->stage);
	/* on v2 the child is born in the payload's group: no move to wait for */
	int cgfd = cgroup_open(s->cg, 0);
	bool born_in;
	pid_t c = sandbox_fork(cgfd, SANDBOX_NS, &born_in, &sock, &errfd, e);
	if (cgfd >= 0)
		close(cgfd);
	if (c < 0)
		return c;
	if (c == 0)
		sandbox_child_main(s, sock, errfd);   /* never returns */
	int r = stage_prepare(s, sb, c, born_in, sock, errfd, e);
	if (r == 0 && s->net_setup)
		r = net_prepare(s, c, sock, errfd, e);
	if (r == 0)
		r = init_receive(s, sb, &c, sock, errfd, e);
	if (r < 0 && c > 0) {
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
	}
	close(sock);
	close(errfd);
	if (r < 0) {
		sandbox_cleanup(s, sb);
		return err_prefix(e, "start ISC %s", s->name);
	}
	return 0;
}
