/* mnt.c - mounts made on descriptors, never on paths an ISC could swap; iscd and its children. */
#include "mnt.h"

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

int mnt_tmpfs(mode_t mode, uint64_t size, uid_t owner, unsigned attrs, struct isc_err *e)
{
	char o_size[40], o_mode[24], o_uid[24], o_gid[24];
	snprintf(o_size, sizeof(o_size), "size=%llu", (unsigned long long)size);
	snprintf(o_mode, sizeof(o_mode), "mode=%o", mode);
	snprintf(o_uid, sizeof(o_uid), "uid=%u", owner);
	snprintf(o_gid, sizeof(o_gid), "gid=%u", owner);
	const char *opts[] = { o_size, o_mode, o_uid, o_gid, NULL };
	return mnt_fs("tmpfs", opts, attrs, e);
}

int mnt_attach(int mfd, int rootfd, const char *path)
{
	_cleanup_close_ int t = inroot_open(rootfd, path, O_PATH, MNT_RULE);
	if (t < 0)
		return t;
	if (move_mount(mfd, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

int mnt_place(int mfd, int rootfd, const char *path, struct isc_err *e)
{
	if (mfd < 0)
		return err_prefix(e, "%s", path);
	int r = mnt_attach(mfd, rootfd, path);
	close(mfd);
	return r < 0 ? err_sys(e, -r, "mount on %s", path) : 0;
}

/* Where detached mounts are attached for older kernels (mnt_attic_set). */
static char attic[PATH_MAX];
static unsigned attic_used;

int mnt_attic_set(const char *dir)
{
	if (str_copy(attic, sizeof(attic), dir) < 0)
		return -ENAMETOOLONG;
	if (mkdir(attic, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

const char *mnt_attic(void)
{
	return attic;
}

int mnt_attic_hold(int mfd, char *path, size_t n)
{
	if (!*attic)
		return -EINVAL;
	snprintf(path, n, "%s/%u", attic, attic_used++);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (move_mount(mfd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		int r = -errno;
		rmdir(path);
		return r;
	}
	return 0;
}

void mnt_attic_release(const char *path)
{
	umount2(path, MNT_DETACH);
	rmdir(path);
}

int mnt_clone(int dirfd, const char *path, bool recursive)
{
	unsigned fl = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
	int fd;
	if (!*path)
		fd = open_tree(dirfd, "", fl | AT_EMPTY_PATH);
	else if (dirfd == AT_FDCWD)
		fd = open_tree(AT_FDCWD, path, fl);   /* a host path we chose */
	else {
		_cleanup_close_ int p = inroot_open(dirfd, path, O_PATH, MNT_RULE);
		if (p < 0)
			return p;
		fd = open_tree(p, "", fl | AT_EMPTY_PATH);
	}
	return fd < 0 ? -errno : fd;
}

int mnt_setattr(int mfd, unsigned set, unsigned clr, int userns)
{
	struct mount_attr a = { .attr_set = set, .attr_clr = clr };
	if (userns >= 0)
		a.userns_fd = (uint64_t)userns;
	return mount_setattr(mfd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0 ? -errno : 0;
}
