/* mnt.c - mounts made on descriptors, never on paths an ISC could swap; iscd and its children. */
#include "mnt.h"

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

int mnt_attach_at(int mfd, int target)
{
	if (move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

int mnt_attach(int mfd, int rootfd, const char *path)
{
	_cleanup_close_ int t = inroot_open(rootfd, path, O_PATH, MNT_RULE);
	return t < 0 ? t : mnt_attach_at(mfd, t);
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
