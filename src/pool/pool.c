/* pool.c - open, create, attach and detach the pool (ext4 with encrypt, loop-backed by default); iscadm. */
#include "pool.h"
#include "audit.h"

#include <fcntl.h>
#include <linux/fscrypt.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

const char *pool_root_default(const char *opt)
{
	if (opt && *opt)
		return opt;
	const char *env = getenv("ISC_ROOT");
	return env && *env ? env : ISC_DEFAULT_ROOT;
}

/* fscrypt support is what the pool is for: ask the kernel, not the fs type. */
static bool dir_can_fscrypt(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct fscrypt_get_policy_ex_arg arg = { .policy_size = sizeof(arg.policy) };
	if (ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &arg) == 0)
		return true;
	return errno == ENODATA;   /* supported, directory not yet encrypted */
}

static bool is_mountpoint(const char *path)
{
	struct stat a, b;
	char parent[PATH_MAX + 4];
	snprintf(parent, sizeof(parent), "%s/..", path);
	if (stat(path, &a) < 0 || stat(parent, &b) < 0)
		return false;
	return a.st_dev != b.st_dev;
}

static void pool_paths(const char *root, char *img, char *dir, size_t n)
{
	snprintf(img, n, "%s/pool.img", root);
	snprintf(dir, n, "%s/pool", root);
}

static int pool_attach(const char *root, struct isc_err *e)
{
	char img[PATH_MAX], dir[PATH_MAX], dev[64];
	pool_paths(root, img, dir, sizeof(img));
	if (is_mountpoint(dir))
		return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_sys(e, errno, "mkdir %s", dir);
	_cleanup_close_ int lfd = loop_attach(img, dev, sizeof(dev), e);
	if (lfd < 0)
		return lfd;
	int r;
	/* nosuid: nothing on the pool is a setuid program for the host.  Not
	 * nodev: debootstrap refuses to build a Debian root on a nodev mount;
	 * ISCs see the pool only through their own nodev mounts. */
	if (mount(dev, dir, "ext4", MS_NOSUID, "errors=remount-ro") < 0) {
		r = err_sys(e, errno, "mount pool %s on %s", dev, dir);
		rmdir(dir);
		return r;   /* closing lfd lets autoclear detach the device */
	}
	return 0;
}

static int ensure_root(const char *root, struct isc_err *e)
{
	if (mkdir_p_at(AT_FDCWD, root, 0700) < 0)
		return err_sys(e, errno, "create %s", root);
	/* $ISC_ROOT is host-only: keys, configs and layers must not be reachable. */
	if (chmod(root, 0700) < 0)
		return err_sys(e, errno, "chmod %s", root);
	return 0;
}

int pool_create(const char *root, uint64_t size, struct isc_err *e)
{
	char img[PATH_MAX], dir[PATH_MAX];
	pool_paths(root, img, dir, sizeof(img));
	int r = ensure_root(root, e);
	if (r < 0)
		return r;
	struct stat st;
	if (stat(img, &st) == 0 || (stat(dir, &st) == 0 && is_mountpoint(dir)))
		return err_set(e, EEXIST, "pool at %s already exists", root);
	if (size == 0 && dir_can_fscrypt(root)) {
		/* The root's own filesystem can encrypt: the pool is a directory. */
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return err_sys(e, errno, "mkdir %s", dir);
		return 0;
	}
	if (size == 0)
		size = POOL_DEFAULT_SIZE;
	if (size < (64ULL << 20))
		return err_set(e, EINVAL, "pool size must be at least 64M");
	int fd = open(img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(e, errno, "create %s", img);
	/* sparse: only what is written takes space on the host */
	if (ftruncate(fd, (off_t)size) < 0) {
		r = err_sys(e, errno, "size %s", img);
		close(fd);
		unlink(img);
		return r;
	}
	close(fd);
	char out[1024];
	char *argv[] = { "mkfs.ext4", "-q", "-F", "-O", "encrypt", "-m", "0", "-L", "iscpool",
			 "-E", "lazy_itable_init=1,lazy_journal_init=1", img, NULL };
	r = run_cmd(argv, true, out, sizeof(out));
	if (r != 0) {
		unlink(img);
		return err_sys(e, r < 0 ? -r : EIO, "mkfs.ext4 %s failed: %s", img, out);
	}
	r = pool_attach(root, e);
	if (r < 0)
		unlink(img);
	return r;
}

/* images/ (and image builds below it) are encrypted under the pool's own
 * key: images are shared by ISCs with different keys, like a dataset that
 * several clones share.  The audit log is too: the pool's, not an ISC's,
 * and readable whenever the pool is open.  Made under tmp/ and renamed:
 * encrypted or absent. */
static int pool_keyed_dir_create(struct pool *p, const char *name, const char *sub, const char *mark,
				 struct isc_err *e)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "tmp/%s.new", name);
	uint8_t id[CRYPT_ID_SIZE];
	rm_rf_at(p->dirfd, tmp);
	/* the pool key: made with the first such directory, then reused */
	struct wrapped w;
	int r = keyring_read(p, POOL_KEY_ROOT, &w, e);
	if (r == -ENOKEY) {
		err_clear(e);
		r = keyring_create(p, POOL_KEY_ROOT, NULL, id, e);
	} else if (r == 0) {
		memcpy(id, w.id, sizeof(id));
	}
	if (r < 0)
		return r;
	if (mkdirat(p->dirfd, tmp, 0700) < 0)
		return err_sys(e, errno, "mkdir %s/%s", p->path, tmp);
	_cleanup_close_ int fd = openat(p->dirfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open %s/%s", p->path, tmp);
	if ((r = fscrypt_policy_set(fd, id, e)) < 0)
		return err_prefix(e, "%s/%s", p->path, tmp);
	int mfd = mark ? openat(fd, mark, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400) : -1;
	if ((mark && (mfd < 0 || close(mfd) < 0)) ||
	    (sub && mkdirat(fd, sub, 0700) < 0) || renameat(p->dirfd, tmp, p->dirfd, name) < 0 ||
	    fsync_dir_at(p->dirfd, ".") < 0)
		return err_sys(e, errno, "create %s/%s", p->path, name);
	return 0;
}

static int pool_keyed_dir_open(struct pool *p, const char *name, const char *sub, const char *mark,
			       struct isc_err *e)
{
	_cleanup_close_ int fd = openat(p->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return pool_keyed_dir_create(p, name, sub, mark, e);
	if (fd < 0)
		return err_sys(e, errno, "open %s/%s", p->path, name);
	uint8_t id[CRYPT_ID_SIZE];
	int r = fscrypt_policy_get(fd, id);
	if (r == -ENODATA)
		return err_set(e, EPROTO, "pool %s predates encryption (%s/ is in clear); "
			       "recreate it", p->path, name);
	if (r < 0)
		return err_sys(e, -r, "encryption policy of %s/%s", p->path, name);
	/* under the pool key's policy, not one slipped in its place */
	if ((r = keyring_check_dir(p, POOL_KEY_ROOT, name, e)) < 0)
		return r;
	enum fscrypt_status st;
	if ((r = fscrypt_key_status(p->dirfd, id, &st, e)) < 0)
		return r;
	return st == FSCRYPT_PRESENT ? 0 : keyring_load(p, POOL_KEY_ROOT, false, e);
}

static int pool_lock_take(int fd, enum pool_lock lock)
{
	return flock(fd, lock == POOL_LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH) < 0 ? -errno : 0;
}

int pool_relock(struct pool *p, enum pool_lock lock)
{
	return pool_lock_take(p->lockfd, lock);
}

int pool_open(struct pool *p, const char *root, enum pool_lock lock, struct isc_err *e)
{
	char img[PATH_MAX], dir[PATH_MAX], lockpath[PATH_MAX + 8];
	p->dirfd = p->lockfd = -1;
	p->flat_digest = false;
	if (str_copy(p->root, sizeof(p->root), root) < 0)
		return err_set(e, ENAMETOOLONG, "root %s", root);
	int r = ensure_root(root, e);
	if (r < 0)
		return r;
	snprintf(lockpath, sizeof(lockpath), "%s/lock", root);
	p->lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->lockfd < 0)
		return err_sys(e, errno, "open %s", lockpath);
	/* Creation and attach run under the exclusive lock, then we settle
	 * on the lock the caller asked for. */
	if ((r = pool_lock_take(p->lockfd, POOL_LOCK_EXCLUSIVE)) < 0)
		goto fail_lock;
	pool_paths(root, img, dir, sizeof(img));
	struct stat st;
	if (stat(img, &st) == 0)
		r = pool_attach(root, e);
	else if (!(stat(dir, &st) == 0 && dir_can_fscrypt(dir)))
		r = pool_create(root, 0, e);
	if (r < 0)
		goto fail;
	snprintf(p->path, sizeof(p->path), "%s", dir);
	p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0) {
		r = err_sys(e, errno, "open pool %s", dir);
		goto fail;
	}
	static const char *const dirs[] = { "keys", "isc", "tmp" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (mkdirat(p->dirfd, dirs[i], 0700) < 0 && errno != EEXIST) {
			r = err_sys(e, errno, "mkdir %s/%s", dir, dirs[i]);
			goto fail;
		}
	if ((r = pool_keyed_dir_open(p, "images", "tags", POOL_TREE_MARK, e)) < 0 ||
	    (r = pool_keyed_dir_open(p, AUDIT_DIR, NULL, NULL, e)) < 0)
		goto fail;
	/* a pool made before the tree digest keeps naming its images by
	 * SHA-256; the mark unreadable for another reason is an error, not an
	 * older pool (images would be stored under names it never checks) */
	if (faccessat(p->dirfd, "images/" POOL_TREE_MARK, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		p->flat_digest = false;
	} else if (errno == ENOENT) {
		p->flat_digest = true;
	} else {
		r = err_sys(e, errno, "%s/images/%s", p->path, POOL_TREE_MARK);
		goto fail;
	}
	if (lock != POOL_LOCK_EXCLUSIVE && (r = pool_lock_take(p->lockfd, lock)) < 0)
		goto fail_lock;
	return 0;
fail_lock:
	err_sys(e, -r, "lock %s", lockpath);
fail:
	pool_close(p);
	return r;
}

void pool_close(struct pool *p)
{
	if (p->dirfd >= 0)
		close(p->dirfd);
	if (p->lockfd >= 0)
		close(p->lockfd);
	p->dirfd = p->lockfd = -1;
}

int pool_detach(const char *root, struct isc_err *e)
{
	char img[PATH_MAX], dir[PATH_MAX];
	pool_paths(root, img, dir, sizeof(img));
	/* its spare /scratch filesystems, whatever the pool is (a directory
	 * pool's too: they are named by its templates/ directory) */
	char templates[PATH_MAX + 16];
	snprintf(templates, sizeof(templates), "%s/templates", dir);
	mnt_spares_release(templates);
	if (!is_mountpoint(dir))
		return 0;
	/* the host's shared mounts of its images hold their files open */
	struct stat st;
	if (stat(dir, &st) == 0)
		mnt_image_release(st.st_dev, NULL);
	/* right after a halt the kernel may still be letting go of the ISC's
	 * mounts (deferred unmounts): EBUSY for a moment, then free */
	for (int i = 0; umount2(dir, 0) < 0; i++) {
		if (errno != EBUSY || i == 40)
			return err_sys(e, errno, "unmount pool %s", dir);
		usleep(50 * 1000);
	}
	return 0;
}

int pool_status_get(const char *root, struct pool_status *s, struct isc_err *e)
{
	char img[PATH_MAX], dir[PATH_MAX];
	memset(s, 0, sizeof(*s));
	pool_paths(root, img, dir, sizeof(img));
	struct stat st;
	if (stat(img, &st) == 0) {
		s->exists = s->loop = true;
		snprintf(s->backing, sizeof(s->backing), "%s", img);
		s->size = (uint64_t)st.st_size;
		s->attached = is_mountpoint(dir);
	} else if (stat(dir, &st) == 0) {
		s->exists = s->attached = true;
		snprintf(s->backing, sizeof(s->backing), "directory %s", dir);
	}
	if (s->attached) {
		struct statvfs vfs;
		if (statvfs(dir, &vfs) < 0)
			return err_sys(e, errno, "statvfs %s", dir);
		if (!s->loop)
			s->size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		s->used = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
		s->avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		/* the loop device backing the mount, from mountinfo */
		FILE *f = fopen("/proc/self/mountinfo", "re");
		char line[4096];
		while (f && fgets(line, sizeof(line), f)) {
			char mp[PATH_MAX], src[256];
			if (sscanf(line, "%*s %*s %*s %*s %4095s %*[^-]- %*s %255s", mp, src) == 2 &&
			    STREQ(mp, dir))
				snprintf(s->device, sizeof(s->device), "%s", src);
		}
		if (f)
			fclose(f);
	}
	return 0;
}
