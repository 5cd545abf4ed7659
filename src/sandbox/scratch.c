/* scratch.c - an ISC's /scratch: a small ext4 in a pool file, encrypted with a key made at boot and forgotten at halt; iscd. */
#include "sandbox.h"
#include "mnt.h"
#include "crypt.h"
#include "runstate.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

void scratch_destroy(const char *img, struct scratch *s)
{
	if (s->mnt >= 0) {
		bool busy;
		struct isc_err ignore;
		/* the mount's descriptor is O_PATH: ioctls need a real open */
		int fd = openat(s->mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			/* The key's secret leaves the kernel now (this open
			 * directory keeps its own inode's key until the close);
			 * the superblock's keyring goes with its last mount.
			 * (Not ext4's shutdown ioctl first, which would spare the
			 * write-back: the kernel logs it at KERN_ALERT, once per
			 * halt, as if the filesystem had failed.) */
			fscrypt_key_remove(fd, s->id, &busy, &ignore);
			close(fd);
		}
		close(s->mnt);
	}
	s->mnt = -1;
	/* the loop device lets go of the file when the filesystem is gone
	 * (autoclear); the ciphertext left in it has no key anywhere */
	unlink(img);
}

static int scratch_mkfs(const char *img, uint64_t size, struct isc_err *e)
{
	int fd = open(img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(e, errno, "create %s", img);
	int r = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;   /* sparse */
	close(fd);
	if (r < 0)
		return err_sys(e, -r, "size %s", img);
	/* No journal: nothing here must survive a crash.  encrypt: fscrypt. */
	char out[512];
	char *argv[] = { "mkfs.ext4", "-q", "-F", "-O", "encrypt,^has_journal", "-m", "0",
			 "-E", "nodiscard,lazy_itable_init=1", "-L", "isc-scratch", (char *)img, NULL };
	r = run_cmd(argv, true, out, sizeof(out));
	if (r != 0)
		return err_set(e, r < 0 ? -r : EIO, "mkfs.ext4 %s failed: %s", img, out);
	return 0;
}

/* templates/ext4-SIZE.img: the empty filesystem every /scratch of that size
 * starts as, made once (under a temporary name, then renamed: two boots
 * making it at once both end with a whole one). */
static int scratch_template(const char *dir, uint64_t size, char *path, size_t n, struct isc_err *e)
{
	char tmp[PATH_MAX];
	snprintf(path, n, "%s/ext4-%llu.img", dir, (unsigned long long)size);
	if (access(path, F_OK) == 0)
		return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_sys(e, errno, "create %s", dir);
	snprintf(tmp, sizeof(tmp), "%s/.ext4-%llu.img.%d", dir, (unsigned long long)size, (int)getpid());
	unlink(tmp);
	int r = scratch_mkfs(tmp, size, e);
	_cleanup_close_ int fd = r < 0 ? -1 : open(tmp, O_RDONLY | O_CLOEXEC);
	if (r == 0 && (fd < 0 || fsync(fd) < 0 || rename(tmp, path) < 0))
		r = err_sys(e, errno, "scratch template %s", path);
	if (r < 0)
		unlink(tmp);
	return r;
}

/* A copy of the template: its size, holes as holes, the few blocks mkfs
 * wrote (a few hundred KB) copied inside the kernel. */
static int scratch_copy(const char *tmpl, const char *img, uint64_t size, struct isc_err *e)
{
	_cleanup_close_ int in = open(tmpl, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0)
		return err_sys(e, errno, "open %s", tmpl);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
		return err_set(e, EINVAL, "%s is not a scratch template of %llu bytes: remove it", tmpl,
			       (unsigned long long)size);
	unlink(img);   /* a crashed supervisor's: its key died with it */
	_cleanup_close_ int out = open(img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return err_sys(e, errno, "create %s", img);
	if (ftruncate(out, (off_t)size) < 0)
		return err_sys(e, errno, "size %s", img);
	off_t off = 0;
	for (;;) {
		off_t data = lseek(in, off, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;   /* holes to the end */
		off_t hole = data < 0 ? -1 : lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return err_sys(e, errno, "read %s", tmpl);
		for (off_t at = data; at < hole;) {
			ssize_t k = copy_file_range(in, &at, out, &(off_t){ at }, (size_t)(hole - at), 0);
			if (k <= 0)
				return err_sys(e, k < 0 ? errno : EIO, "copy %s", tmpl);
		}
		off = hole;
	}
	return 0;
}

/* noexec, nosuid, nodev: what is writable never runs.  noinit_itable: the
 * kernel does not zero the unused inode tables behind the ISC's back (a
 * filesystem that never outlives the boot needs no fsck).  nobarrier: its
 * syncs (an fsync inside, its unmount) flush no cache below it, which
 * here is the loop device's file in the pool: each flush would commit the
 * pool's journal and flush the host's disk, for data nobody reads again. */
static int scratch_mount(const char *dev, struct isc_err *e)
{
	char src[80];
	snprintf(src, sizeof(src), "source=%s", dev);
	const char *opts[] = { src, "noinit_itable", "nobarrier", NULL };
	int m = mnt_fs("ext4", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, e);
	return m < 0 ? err_prefix(e, "scratch") : m;
}

/* A spare: a copy of the template already on a loop device and mounted,
 * made after a boot by a thread of iscd's (scratch_spare_make) and kept in
 * the host's mount namespace (scratch_spare_put) for the next boot of any
 * ISC of the pool to take (spare_claim).  Setting up a loop device and
 * mounting ext4 on it take 4-8 ms here (the loop device's queue freeze,
 * the superblock's reads through it, the filesystem's workqueue thread):
 * a boot that finds a spare pays none of it.  The mount lives under
 * /run/isc/scratch/DEV-INO-SIZE (templates/'s device and inode), its file
 * at templates/spare-SIZE.img; both change hands under
 * /run/isc/scratch/.lock only. */
#define SPARES_DIR ISC_SPARES_DIR

static int spare_names(const char *templates, uint64_t size, struct scratch_spare *sp)
{
	char prefix[64];
	/* none without the host's namespace: ours holds no spare */
	if (sandbox_host_ns() < 0)
		return -ENOENT;
	int r = mnt_spares_name(templates, prefix, sizeof(prefix));
	if (r < 0)
		return r;
	snprintf(sp->mnt, sizeof(sp->mnt), SPARES_DIR "/%s%llu", prefix, (unsigned long long)size);
	snprintf(sp->file, sizeof(sp->file), "%s/spare-%llu.img", templates, (unsigned long long)size);
	return 0;
}

static int spare_lock(void)
{
	if (mkdir_p_at(AT_FDCWD, SPARES_DIR, 0700) < 0)
		return -errno;
	int fd = open(SPARES_DIR "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* In the host's mount namespace: the spare's mount gone again. */
static int spare_drop(void *arg, struct isc_err *e)
{
	(void)e;
	struct scratch_spare *sp = arg;
	umount2(sp->mnt, MNT_DETACH);
	rmdir(sp->mnt);
	return 0;
}

/* In the host's mount namespace: the spare's mount, detached from there. */
static int spare_take(void *arg, struct isc_err *e)
{
	struct scratch_spare *sp = arg;
	if (!mnt_is_root(sp->mnt))
		return -ENOENT;
	if ((sp->fs = open_tree(AT_FDCWD, sp->mnt, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)) < 0)
		return -errno;
	return spare_drop(sp, e);
}

/* The pool's spare of size, its file renamed to img: the mounted
 * filesystem's root (detached), or -errno (none: the caller makes one). */
static int spare_claim(const char *templates, uint64_t size, const char *img)
{
	struct scratch_spare sp = { .fs = -1 };
	if (access(SPARES_DIR "/.lock", F_OK) < 0 || spare_names(templates, size, &sp) < 0)
		return -ENOENT;
	_cleanup_close_ int lock = spare_lock();
	if (lock < 0)
		return lock;
	struct isc_err ignore;
	int r = mnt_in_host(sandbox_host_ns(), spare_take, &sp, &ignore);
	/* a mount without its file (a crash between the two): not a spare */
	if (r == 0 && rename(sp.file, img) < 0) {
		r = -errno;
		close(sp.fs);
	}
	return r < 0 ? r : sp.fs;
}

static int spare_seen(void *arg, struct isc_err *e)
{
	(void)e;
	return mnt_is_root(arg) ? 1 : 0;
}

bool scratch_spare_wanted(const char *templates, uint64_t size)
{
	struct scratch_spare sp;
	char tmpl[PATH_MAX];
	struct isc_err ignore;
	snprintf(tmpl, sizeof(tmpl), "%s/ext4-%llu.img", templates, (unsigned long long)size);
	return access(tmpl, F_OK) == 0 && spare_names(templates, size, &sp) == 0 &&
	       mnt_in_host(sandbox_host_ns(), spare_seen, sp.mnt, &ignore) == 0;
}

int scratch_spare_make(const char *templates, uint64_t size, struct scratch_spare *sp)
{
	char tmpl[PATH_MAX], dev[64];
	struct isc_err e;
	sp->fs = -1;
	sp->tmp[0] = '\0';
	snprintf(tmpl, sizeof(tmpl), "%s/ext4-%llu.img", templates, (unsigned long long)size);
	int r = spare_names(templates, size, sp);
	if (r < 0)
		return r;
	snprintf(sp->tmp, sizeof(sp->tmp), "%s/.spare-%llu.%d", templates, (unsigned long long)size, (int)getpid());
	unlink(sp->tmp);
	if ((r = scratch_copy(tmpl, sp->tmp, size, &e)) == 0) {
		_cleanup_close_ int lfd = loop_attach(sp->tmp, dev, sizeof(dev), &e);
		if ((r = lfd) >= 0 && (r = sp->fs = scratch_mount(dev, &e)) >= 0)
			return 0;
	}
	unlink(sp->tmp);
	sp->tmp[0] = '\0';
	return r;
}

/* In the host's mount namespace: the spare's mount, unless there is one. */
static int spare_put(void *arg, struct isc_err *e)
{
	(void)e;
	struct scratch_spare *sp = arg;
	int r = mnt_run_dir(SPARES_DIR);
	if (r < 0)
		return r;
	if (mnt_is_root(sp->mnt))
		return -EEXIST;
	if ((mkdir(sp->mnt, 0700) < 0 && errno != EEXIST) ||
	    move_mount(sp->fs, "", AT_FDCWD, sp->mnt, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

int scratch_spare_put(struct scratch_spare *sp)
{
	if (sp->fs < 0)
		return 0;
	int r, lock = spare_lock();
	struct isc_err ignore;
	if ((r = lock) >= 0 && (r = mnt_in_host(sandbox_host_ns(), spare_put, sp, &ignore)) == 0 &&
	    rename(sp->tmp, sp->file) < 0) {
		r = -errno;
		mnt_in_host(sandbox_host_ns(), spare_drop, sp, &ignore);   /* a mount needs its file */
	}
	if (r < 0)
		unlink(sp->tmp);
	if (lock >= 0)
		close(lock);
	close(sp->fs);
	sp->fs = -1;
	return r == -EEXIST ? 0 : r;   /* another supervisor's spare came first */
}

/* The encrypted directory, owned by the ISC's root, world-writable and sticky like /tmp. */
static int scratch_dir(int fsroot, uint32_t uid, struct scratch *s, struct isc_err *e)
{
	struct secret key _cleanup_secret_ = { 0 };
	if (secret_random(&key, CRYPT_KEY_SIZE) < 0)
		return err_set(e, ENOMEM, "out of locked memory");
	int r = fscrypt_key_add(fsroot, &key, s->id, e);
	if (r < 0)
		return r;
	if (mkdirat(fsroot, "scratch", 0700) < 0)
		return err_sys(e, errno, "mkdir scratch");
	_cleanup_close_ int dir = openat(fsroot, "scratch", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return err_sys(e, errno, "open scratch");
	if ((r = fscrypt_policy_set(dir, s->id, e)) < 0)
		return r;
	if (fchown(dir, uid, uid) < 0 || fchmod(dir, 01777) < 0)
		return err_sys(e, errno, "chown scratch");
	return 0;
}

/* A filesystem of its own: a copy of the template on a loop device. */
static int scratch_fs(const char *img, const char *templates, uint64_t size, struct isc_err *e)
{
	char dev[64], tmpl[PATH_MAX];
	int r = scratch_template(templates, size, tmpl, sizeof(tmpl), e);
	if (r < 0 || (r = scratch_copy(tmpl, img, size, e)) < 0)
		return r;
	_cleanup_close_ int lfd = loop_attach(img, dev, sizeof(dev), e);
	return lfd < 0 ? lfd : scratch_mount(dev, e);
}

int scratch_create(const char *img, const char *templates, uint64_t size, uint32_t uid, struct scratch *s,
		   struct isc_err *e)
{
	s->mnt = -1;
	int fs = spare_claim(templates, size, img);
	if (fs < 0)
		fs = scratch_fs(img, templates, size, e);
	if (fs < 0) {
		unlink(img);
		return fs;
	}
	_cleanup_close_ int fsroot = fs;
	int r;
	/* fsmount gives an O_PATH descriptor: ioctls need a real open */
	_cleanup_close_ int top = openat(fsroot, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = top < 0 ? err_sys(e, errno, "open scratch filesystem") : scratch_dir(top, uid, s, e);
	/* the clone's source in our namespace (older kernels want it), for
	 * that moment only: the filesystem then lives in the clone */
	char held[PATH_MAX];
	int h = r == 0 ? mnt_attic_hold(fsroot, held, sizeof(held)) : -1;
	if (r == 0 && h < 0)
		r = err_sys(e, -h, "scratch: attach");
	if (r == 0 && (s->mnt = mnt_clone(fsroot, "scratch", false)) < 0)
		r = err_sys(e, -s->mnt, "scratch: mount");
	if (h == 0)
		mnt_attic_release(held);
	if (r < 0) {
		bool busy;
		struct isc_err ignore;
		if (top >= 0)
			fscrypt_key_remove(top, s->id, &busy, &ignore);
		s->mnt = -1;
		unlink(img);
		return err_prefix(e, "/scratch");
	}
	return 0;
}

static int layerfs_attach(const char *img, uint64_t size, const char *label, unsigned attrs,
			  const char *mountpoint, struct isc_err *e)
{
	char dev[64], src[80];
	struct stat st;
	if (stat(img, &st) < 0) {
		/* made once, at the first boot: sparse, journaled (it persists) */
		int fd = open(img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return err_sys(e, errno, "create %s", img);
		int r = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
		close(fd);
		char out[512];
		char *argv[] = { "mkfs.ext4", "-q", "-F", "-m", "0", "-E", "nodiscard,lazy_itable_init=1",
				 "-L", (char *)label, (char *)img, NULL };
		if (r == 0 && (r = run_cmd(argv, true, out, sizeof(out))) != 0) {
			unlink(img);
			return err_set(e, r < 0 ? -r : EIO, "mkfs.ext4 %s failed: %s", img, out);
		}
		if (r < 0) {
			unlink(img);
			return err_sys(e, -r, "size %s", img);
		}
	}
	_cleanup_close_ int lfd = loop_attach(img, dev, sizeof(dev), e);
	if (lfd < 0)
		return lfd;
	snprintf(src, sizeof(src), "source=%s", dev);
	const char *opts[] = { src, NULL };
	_cleanup_close_ int m = mnt_fs("ext4", opts, attrs, e);
	if (m < 0)
		return err_prefix(e, "%s filesystem", label);
	if (mkdir_p_at(AT_FDCWD, mountpoint, 0700) < 0 ||
	    move_mount(m, "", AT_FDCWD, mountpoint, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return err_sys(e, errno, "mount the %s filesystem on %s", label, mountpoint);
	return 0;
}

int varfs_attach(const char *img, uint64_t size, const char *mountpoint, struct isc_err *e)
{
	/* what /var may run or hold is still the overlay's business (noexec,
	 * nosuid, nodev on the overlay); these flags are for the layer itself */
	return layerfs_attach(img, size, "isc-var", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
			      mountpoint, e);
}

int sessionfs_attach(const char *img, uint64_t size, const char *mountpoint, struct isc_err *e)
{
	/* the session's root layer: a maintenance session runs what it
	 * installs (the root overlay is where exec is decided) */
	return layerfs_attach(img, size, "isc-session", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, mountpoint, e);
}

void varfs_detach(const char *mountpoint)
{
	umount2(mountpoint, MNT_DETACH);   /* autoclear lets the loop device go */
}
