/* mount.c - filesystems mounted on descriptors (new mount API), erofs from a file or a loop device, idmapped views; iscd, and iscadm to inspect an image. */
#include "common.h"
#include "runstate.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

int mnt_fs_fail(int fs, int code, struct isc_err *e, const char *fmt, ...)
{
	char head[256], log[256] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	/* the filesystem's own words ("e overlay: ...") say more than the errno */
	ssize_t k = fs >= 0 ? read(fs, log, sizeof(log) - 1) : 0;
	log[k > 0 ? k - (log[k - 1] == '\n') : 0] = '\0';
	return err_set(e, code, "%s: %s%s%s", head, strerror(code), *log ? ": " : "", log);
}

int mnt_fs(const char *type, const char *const *opts, unsigned attrs, struct isc_err *e)
{
	_cleanup_close_ int fs = fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return err_sys(e, errno, "fsopen %s", type);
	for (size_t i = 0; opts && opts[i]; i++) {
		char key[64];
		const char *eq = strchr(opts[i], '=');
		int r;
		if (eq) {
			snprintf(key, sizeof(key), "%.*s", (int)(eq - opts[i]), opts[i]);
			r = fsconfig(fs, FSCONFIG_SET_STRING, key, eq + 1, 0);
		} else {
			r = fsconfig(fs, FSCONFIG_SET_FLAG, opts[i], NULL, 0);
		}
		if (r < 0)
			return err_sys(e, errno, "%s option %s", type, opts[i]);
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return mnt_fs_fail(fs, errno, e, "mount %s", type);
	int m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (m < 0)
		return err_sys(e, errno, "fsmount %s", type);
	return m;
}

/* Does this kernel mount erofs from a regular file (6.12)?  Learnt at the
 * first mount: 1 yes, 0 no, -1 not yet known. */
static int erofs_from_file = -1;

static int erofs_via_loop(int image_fd, unsigned attrs, struct isc_err *e)
{
	char dev[32], name[48], so[48];
	snprintf(name, sizeof(name), "isc-image-fd-%d", image_fd);
	_cleanup_close_ int lfd = loop_attach_fd(image_fd, name, true, dev, sizeof(dev), e);
	if (lfd < 0)
		return lfd;
	snprintf(so, sizeof(so), "source=%s", dev);
	/* a read-only superblock: the device is read-only (EACCES else) */
	const char *opts[] = { so, "ro", NULL };
	/* the mount holds the device; autoclear detaches it with the mount */
	return mnt_fs("erofs", opts, attrs, e);
}

int mnt_erofs(int image_fd, unsigned attrs, enum mnt_erofs_via via, struct isc_err *e)
{
	if (via == EROFS_LOOP || (via == EROFS_AUTO && erofs_from_file == 0))
		return erofs_via_loop(image_fd, attrs, e);
	char so[48];
	snprintf(so, sizeof(so), "source=/proc/self/fd/%d", image_fd);
	const char *opts[] = { so, NULL };
	int m = mnt_fs("erofs", opts, attrs, e);
	if (m >= 0 || via == EROFS_FILE)
		return m;
	/* before 6.12 erofs wants a block device: the file is not one */
	if (m != -ENOTBLK)
		return m;
	erofs_from_file = 0;
	err_clear(e);
	return erofs_via_loop(image_fd, attrs, e);
}

bool mnt_erofs_from_file(void)
{
	return erofs_from_file != 0;
}

int userns_idmap(uint32_t from, uint32_t to, uint32_t count)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t c = fork();
	if (c < 0) {
		int r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (c == 0) {
		char x;
		close(p[1]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		(void)!read(p[0], &x, 1);   /* hold the namespace until told */
		_exit(0);
	}
	close(p[0]);
	char path[64], map[64];
	snprintf(map, sizeof(map), "%u %u %u\n", from, to, count);
	int r = 0;
	for (int tries = 0; tries < 1000 && r == 0; tries++) {
		/* wait until the child has its own namespace */
		struct stat a, b;
		snprintf(path, sizeof(path), "/proc/%d/ns/user", c);
		if (stat(path, &a) == 0 && stat("/proc/self/ns/user", &b) == 0 && a.st_ino != b.st_ino)
			break;
		usleep(1000);
	}
	static const char *const files[] = { "uid_map", "gid_map" };
	for (size_t i = 0; i < ARRAY_SIZE(files) && r == 0; i++) {
		snprintf(path, sizeof(path), "/proc/%d/%s", c, files[i]);
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
		r = fd < 0 ? -errno : write_all(fd, map, strlen(map));
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/user", c);
	int ns = r < 0 ? r : open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		ns = -errno;
	close(p[1]);   /* the child may go: the fd keeps the namespace */
	waitpid(c, NULL, 0);
	return ns;
}

int mnt_idmapped(const char *path, uint32_t from, uint32_t to, uint32_t count, unsigned attrs,
		 struct isc_err *e)
{
	_cleanup_close_ int ns = userns_idmap(from, to, count);
	if (ns < 0)
		return err_sys(e, -ns, "user namespace for the ids of %s", path);
	int m = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (m < 0)
		return err_sys(e, errno, "%s", path);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP | attrs, .userns_fd = (uint64_t)ns };
	if (mount_setattr(m, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0) {
		int r = err_sys(e, errno, "idmapped view of %s", path);
		close(m);
		return r;
	}
	return m;
}

/* ---- shared image mounts ------------------------------------------------------ */

#define IMAGES_DIR ISC_RUN_DIR "/images"

bool mnt_is_root(const char *path)
{
	struct statx stx;
	return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0 &&
	       (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

int mnt_run_dir(const char *dir)
{
	if (mkdir_p_at(AT_FDCWD, dir, 0700) < 0)
		return -errno;
	if (!mnt_is_root(dir) && mount(dir, dir, NULL, MS_BIND, NULL) < 0)
		return -errno;
	return mount(NULL, dir, NULL, MS_PRIVATE, NULL) < 0 ? -errno : 0;
}

int mnt_in_host(int hostns, int (*fn)(void *arg, struct isc_err *e), void *arg, struct isc_err *e)
{
	if (hostns < 0)
		return fn(arg, e);
	_cleanup_close_ int self = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (self < 0 || cwd < 0)
		return err_sys(e, errno, "our mount namespace");
	if (setns(hostns, CLONE_NEWNS) < 0)
		return err_sys(e, errno, "enter the host's mount namespace");
	int r = fn(arg, e);
	/* back: a supervisor left in the host's namespace would mount there */
	if (setns(self, CLONE_NEWNS) < 0) {
		fprintf(stderr, "isc: cannot return to our mount namespace: %s\n", strerror(errno));
		_exit(70);
	}
	if (fchdir(cwd) < 0 && r >= 0)
		r = err_sys(e, errno, "back to the working directory");
	return r;
}

struct shared {
	int image_fd;
	const struct stat *st;
	unsigned attrs;
	int clone;
};

/* In the host's mount namespace: the shared mount of the image's file
 * (made now if missing), and a detached clone of it. */
static int shared_clone(void *arg, struct isc_err *e)
{
	struct shared *sh = arg;
	char path[128];
	snprintf(path, sizeof(path), IMAGES_DIR "/%llx-%llx", (unsigned long long)sh->st->st_dev,
		 (unsigned long long)sh->st->st_ino);
	int r = mnt_run_dir(IMAGES_DIR);
	if (r < 0)
		return err_sys(e, -r, "%s", IMAGES_DIR);
	_cleanup_close_ int lock = open(IMAGES_DIR "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return err_sys(e, errno, "lock %s", IMAGES_DIR);
	if (!mnt_is_root(path)) {
		_cleanup_close_ int m = mnt_erofs(sh->image_fd, sh->attrs, EROFS_AUTO, e);
		if (m < 0)
			return m;
		if ((mkdir(path, 0700) < 0 && errno != EEXIST) ||
		    move_mount(m, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return err_sys(e, errno, "mount %s", path);
	}
	sh->clone = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	return sh->clone < 0 ? err_sys(e, errno, "clone %s", path) : 0;
}

int mnt_image_shared(int image_fd, unsigned attrs, int hostns, struct isc_err *e)
{
	struct stat st;
	if (fstat(image_fd, &st) < 0)
		return err_sys(e, errno, "image");
	struct shared sh = { .image_fd = image_fd, .st = &st, .attrs = attrs, .clone = -1 };
	int r = mnt_in_host(hostns, shared_clone, &sh, e);
	if (r < 0 && sh.clone >= 0)
		close(sh.clone);
	return r < 0 ? r : sh.clone;
}

int mnt_run_release(const char *dir, const char *prefix, const char *only)
{
	char path[PATH_MAX];
	int n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!str_has_prefix(de->d_name, prefix) || (only && !STREQ(de->d_name, only)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (mnt_is_root(path) && umount2(path, MNT_DETACH) == 0)
			n++;
		rmdir(path);
	}
	closedir(d);
	return n;
}

int mnt_image_release(dev_t pool_dev, const struct stat *image)
{
	char prefix[64], one[64];
	snprintf(prefix, sizeof(prefix), "%llx-", (unsigned long long)pool_dev);
	if (image)
		snprintf(one, sizeof(one), "%llx-%llx", (unsigned long long)image->st_dev,
			 (unsigned long long)image->st_ino);
	return mnt_run_release(IMAGES_DIR, prefix, image ? one : NULL);
}

int mnt_spares_name(const char *templates, char *prefix, size_t n)
{
	struct stat st;
	if (stat(templates, &st) < 0)
		return -errno;
	snprintf(prefix, n, "%llx-%llx-", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return 0;
}

int mnt_spares_release(const char *templates)
{
	char prefix[64];
	return mnt_spares_name(templates, prefix, sizeof(prefix)) < 0 ? 0 :
	       mnt_run_release(ISC_SPARES_DIR, prefix, NULL);
}
