/* mnt.c - mounts made on descriptors, never on paths an ISC could swap; iscd and its children. */
#include "mnt.h"

int mnt_fs(const char *type, const char *const *opts, unsigned attrs, char *why, size_t n)
{
	_cleanup_close_ int fs = fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0) {
		snprintf(why, n, "fsopen %s: %s", type, strerror(errno));
		return -errno;
	}
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
		if (r < 0) {
			snprintf(why, n, "%s option %s: %s", type, opts[i], strerror(errno));
			return -errno;
		}
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int err = errno;
		char log[256] = "";
		ssize_t k = read(fs, log, sizeof(log) - 1);
		log[k > 0 ? k : 0] = '\0';
		if (k > 0 && log[k - 1] == '\n')
			log[k - 1] = '\0';
		snprintf(why, n, "mount %s: %s%s%s", type, strerror(err), *log ? ": " : "", log);
		return -err;
	}
	int m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (m < 0) {
		snprintf(why, n, "fsmount %s: %s", type, strerror(errno));
		return -errno;
	}
	return m;
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
