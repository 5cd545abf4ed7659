/* oci.c - the root of an OCI bundle's container, built with the ISC's rules on
 * top of the spec's mounts; runs in isc-runtime's container process. */
#include "sandbox.h"
#include "sandbox-internal.h"
#include "mnt.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static bool on_list(char *const *list, const char *s)
{
	for (size_t i = 0; list && list[i]; i++)
		if (STREQ(list[i], s))
			return true;
	return false;
}

static const struct oci_mount *spec_mount(const struct sandbox_oci *o, const char *dest)
{
	for (size_t i = 0; i < o->nmounts; i++)
		if (STREQ(o->mounts[i].dest, dest))
			return &o->mounts[i];
	return NULL;
}

/* The mount point dest below root (O_PATH), made where missing: a
 * directory, or with file an empty file.  Symlinks in the image are
 * followed inside the root only (openat2 RESOLVE_IN_ROOT), as runc does
 * with its secure join; the last component is made with O_NOFOLLOW. */
static int mkpoint(int root, const char *dest, bool file, unsigned rule)
{
	int t = inroot_open(root, dest, O_PATH, rule);
	if (t != -ENOENT)
		return t;
	_cleanup_close_ int dir = fcntl(root, F_DUPFD_CLOEXEC, 3);
	_cleanup_free_ char *copy = strdup(dest);
	if (dir < 0 || !copy)
		return -ENOMEM;
	char *save = NULL, *next;
	for (char *c = strtok_r(copy, "/", &save); c; c = next) {
		next = strtok_r(NULL, "/", &save);
		if (STREQ(c, "..") || STREQ(c, "."))
			return -EINVAL;
		if (!next && file) {
			int f = openat(dir, c, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (f < 0 && errno != EEXIST)
				return -errno;
			if (f >= 0)
				close(f);
		} else if (mkdirat(dir, c, 0755) < 0 && errno != EEXIST) {
			return -errno;
		}
		int sub = inroot_open(dir, c, next ? O_PATH | O_DIRECTORY : O_PATH, rule);
		if (sub < 0 || !next)
			return sub;
		close(dir);
		dir = sub;
	}
	return fcntl(root, F_DUPFD_CLOEXEC, 3);     /* dest "/" */
}

static int attach_at(int mfd, int root, const char *dest, bool file, struct isc_err *e)
{
	/* the kernel's own views land exactly where they are named: an image
	 * whose /proc is a symlink does not move proc (and its masks) elsewhere */
	unsigned rule = str_has_prefix(dest, "/proc") || str_has_prefix(dest, "/sys") ||
			str_has_prefix(dest, "/dev") ? INROOT_NO_SYMLINKS : 0;
	_cleanup_close_ int t = mkpoint(root, dest, file, rule);
	if (t < 0)
		return err_sys(e, -t, "mount point %s", dest);
	if (move_mount(mfd, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return err_sys(e, errno, "mount on %s", dest);
	return 0;
}

static bool is_dev(const struct oci_mount *m)
{
	return STREQ(m->type, "devpts") || (STREQ(m->dest, "/dev") && STREQ(m->type, "tmpfs"));
}

/* The attributes a mount gets: what it asks for, then the ISC's rules,
 * which it cannot lift (docs/oci.md): nothing set-uid anywhere; no device
 * but on /dev; the kernel's views (proc, sysfs) never run anything, sysfs
 * read-only; and what is writable never runs, save where the annotation
 * org.isc.writable-exec names the destination. */
static void final_attrs(const struct sandbox_oci *o, const struct oci_mount *m, unsigned *set, unsigned *clr)
{
	unsigned s = m->set | MOUNT_ATTR_NOSUID;
	if (!is_dev(m))
		s |= MOUNT_ATTR_NODEV;
	if (STREQ(m->type, "proc") || STREQ(m->type, "sysfs") || STREQ(m->type, "mqueue"))
		s |= MOUNT_ATTR_NOEXEC;
	if (STREQ(m->type, "sysfs") || STREQ(m->type, "cgroup") || STREQ(m->type, "cgroup2"))
		s |= MOUNT_ATTR_RDONLY;
	if (!(s & MOUNT_ATTR_RDONLY) && !on_list(o->exec_ok, m->dest))
		s |= MOUNT_ATTR_NOEXEC;
	*set = s;
	*clr = m->clr & ~s;
}

static int mount_bind(const struct sandbox_oci *o, const struct oci_mount *m, int root, struct isc_err *e)
{
	unsigned set, clr;
	final_attrs(o, m, &set, &clr);
	/* an idmapped bind comes made: its filesystem's user namespace is the
	 * host's, where this process has no say, so the runtime made it there */
	int made = o->idmap_fds ? o->idmap_fds[m - o->mounts] : -1;
	if (m->idmap && made < 0)
		return err_set(e, EINVAL, "bind %s: idmapped, but not made", m->source);
	_cleanup_close_ int b = made >= 0 ? fcntl(made, F_DUPFD_CLOEXEC, 3) :
				open_tree(AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
					  (m->recursive ? AT_RECURSIVE : 0));
	if (b < 0)
		return err_sys(e, errno, "bind %s", m->source);
	struct mount_attr a = { .attr_set = set, .attr_clr = clr, .propagation = m->propagation };
	if (mount_setattr(b, "", AT_EMPTY_PATH | (m->recursive ? AT_RECURSIVE : 0), &a, sizeof(a)) < 0)
		return err_sys(e, errno, "bind %s: attributes", m->source);
	struct stat st;
	if (fstat(b, &st) < 0)
		return err_sys(e, errno, "bind %s", m->source);
	return attach_at(b, root, m->dest, !S_ISDIR(st.st_mode), e);
}

/* cgroup v1 (hybrid host): a read-only tmpfs with the container's own
 * group of each hierarchy bound read-only, as runc does without a cgroup
 * namespace; v2: cgroup2 itself, read-only. */
static int mount_cgroup(const struct sandbox_oci *o, const struct oci_mount *m, int root, struct isc_err *e)
{
	const unsigned ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
	if (!o->cgroup_v1) {
		int r = mnt_fs("cgroup2", NULL, ro, e);
		return r < 0 ? err_prefix(e, "%s", m->dest) : attach_at(r, root, m->dest, false, e) < 0 ?
			(close(r), -e->code) : (close(r), 0);
	}
	const char *opts[] = { "mode=755", "size=64k", NULL };
	int t = mnt_fs("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, e);
	if (t < 0)
		return err_prefix(e, "%s", m->dest);
	int r = attach_at(t, root, m->dest, false, e);
	close(t);
	_cleanup_close_ int dir = r < 0 ? -1 : inroot_open(root, m->dest, O_DIRECTORY, 0);
	if (r < 0 || dir < 0)
		return r < 0 ? r : err_sys(e, -dir, "open %s", m->dest);
	static const char *const ctrl[] = { "memory", "pids", "cpu", "cpuacct", "freezer" };
	for (size_t i = 0; i < ARRAY_SIZE(ctrl); i++) {
		char host[PATH_MAX];
		snprintf(host, sizeof(host), "/sys/fs/cgroup/%s/%s", ctrl[i], o->cgroup_v1);
		_cleanup_close_ int b = open_tree(AT_FDCWD, host, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (b < 0 && errno == ENOENT)
			continue;
		if (b < 0 || mnt_setattr(b, ro, 0, -1) < 0 || mkdirat(dir, ctrl[i], 0755) < 0 ||
		    mnt_attach(b, dir, ctrl[i]) < 0)
			return err_sys(e, errno, "cgroup %s", ctrl[i]);
	}
	return mnt_setattr(dir, ro, 0, -1) < 0 ? err_sys(e, errno, "%s read-only", m->dest) : 0;
}

static int dev_fill(int root, struct isc_err *e);

/* tmpcopyup: what the root holds at a tmpfs's mount point, copied into
 * the new tmpfs before it is mounted there.  The image's entries are
 * never followed: symlinks are copied as links, regular files as bytes,
 * directories walked (32 deep at most); fifos are made again, device
 * nodes and sockets left out (isc's /dev is the only place of devices).
 * Set-id bits are dropped (the tmpfs is nosuid anyway); owners kept. */
static int copy_tree(int from, int to, int depth)
{
	if (depth > 32)
		return -ELOOP;
	int dfd = fcntl(from, F_DUPFD_CLOEXEC, 3);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return -errno;
	}
	int r = 0;
	for (struct dirent *de; r == 0 && (de = readdir(d));) {
		if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(from, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			break;
		}
		mode_t mode = st.st_mode & 01777;
		if (S_ISDIR(st.st_mode)) {
			int src = openat(from, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), dst = -1;
			if (src < 0 || mkdirat(to, de->d_name, mode) < 0 ||
			    (dst = openat(to, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				r = -errno;
			else
				r = copy_tree(src, dst, depth + 1);
			if (r == 0 && fchmod(dst, mode) < 0)
				r = -errno;
			if (src >= 0)
				close(src);
			if (dst >= 0)
				close(dst);
		} else if (S_ISREG(st.st_mode)) {
			int src = openat(from, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			int dst = src < 0 ? -1 : openat(to, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
							mode);
			if (src < 0 || dst < 0)
				r = -errno;
			else
				r = copy_fd(src, dst);
			if (src >= 0)
				close(src);
			if (dst >= 0)
				close(dst);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(from, de->d_name, target, sizeof(target) - 1);
			if (n < 0)
				r = -errno;
			else if ((target[n] = '\0', symlinkat(target, to, de->d_name)) < 0)
				r = -errno;
		} else if (S_ISFIFO(st.st_mode)) {
			if (mkfifoat(to, de->d_name, mode) < 0)
				r = -errno;
		} else {
			continue;
		}
		if (r == 0 && fchownat(to, de->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
	}
	closedir(d);
	return r;
}

/* The tmpfs of a tmpcopyup mount, filled from the root's directory at
 * its mount point (where there is one). */
static int copyup(int mfd, int root, const char *dest, struct isc_err *e)
{
	_cleanup_close_ int from = inroot_open(root, dest, O_RDONLY | O_DIRECTORY, 0);
	if (from == -ENOENT)
		return 0;
	if (from < 0)
		return err_sys(e, -from, "tmpcopyup %s", dest);
	/* the tmpfs's own root keeps the mode its options give it */
	int r = copy_tree(from, mfd, 0);
	return r < 0 ? err_sys(e, -r, "tmpcopyup %s", dest) : 0;
}

static int mount_one(const struct sandbox_oci *o, const struct oci_mount *m, int root, struct isc_err *e)
{
	if (m->bind)
		return mount_bind(o, m, root, e);
	if (STREQ(m->type, "cgroup"))
		return mount_cgroup(o, m, root, e);
	unsigned set, clr;
	final_attrs(o, m, &set, &clr);
	int f = mnt_fs(m->type, (const char *const *)m->data, set, e);
	if (f < 0)
		return err_prefix(e, "%s", m->dest);
	if (m->copyup && copyup(f, root, m->dest, e) < 0) {
		close(f);
		return -e->code;
	}
	int r = attach_at(f, root, m->dest, false, e);
	close(f);
	if (r == 0 && m->propagation) {
		_cleanup_close_ int t = inroot_open(root, m->dest, O_PATH, 0);
		struct mount_attr a = { .propagation = m->propagation };
		if (t < 0 || mount_setattr(t, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
			return err_sys(e, t < 0 ? -t : errno, "%s propagation", m->dest);
	}
	if (r == 0 && STREQ(m->dest, "/dev") && STREQ(m->type, "tmpfs"))
		r = dev_fill(root, e);
	return r;
}

/* A /dev of isc's making: the harmless character devices bound from the
 * host (never made with mknod), the usual links, pts and shm. */
static int dev_fill(int root, struct isc_err *e)
{
	_cleanup_close_ int dev = inroot_open(root, "/dev", O_DIRECTORY, MNT_RULE);
	if (dev < 0)
		return err_sys(e, -dev, "open /dev");
	mkdirat(dev, "mqueue", 0755);
	return sandbox_dev_tree(dev, e);
}

/* A mount the spec does not make, made as an ISC gets it. */
static int mount_default(const struct sandbox_oci *o, int root, const char *dest, const char *type,
			 const char *const *opts, struct isc_err *e)
{
	struct oci_mount m = { .dest = (char *)dest, .type = (char *)type, .data = (char **)opts };
	return mount_one(o, &m, root, e);
}

/* The profile's paths, on the root's own files: tmpfs where it keeps
 * nothing, the root's own directory writable (and never run from) where
 * it keeps something, read-only again where the profile says so.  Made
 * before the spec's mounts, which land on top (podman's /run/.containerenv
 * on the tmpfs /run). */
static int profile_mounts(const struct sandbox_oci *o, int root, struct isc_err *e)
{
	const unsigned w = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
	for (const struct profile_path *op = profile_paths(o->profile); op->kind != PP_END; op++) {
		if (spec_mount(o, op->path))
			continue;
		int r = 0;
		switch (op->kind) {
		case PP_TMPFS: {
			/* an image without the directory, which the container's root
			 * (another uid, in a user namespace) may not make: nothing
			 * there to be written, the read-only root stays */
			_cleanup_close_ int p = mkpoint(root, op->path, false, 0);
			if (p == -EACCES || p == -EPERM || p == -EROFS)
				continue;
			if (p < 0)
				return err_sys(e, -p, "mount point %s", op->path);
			int t = mnt_tmpfs(op->mode, 64ULL << 20, 0, w, e);
			if (t < 0)
				return err_prefix(e, "%s", op->path);
			r = attach_at(t, root, op->path, false, e);
			close(t);
			break;
		}
		case PP_LAYER:
		case PP_IMAGE_RO: {
			int b = mnt_clone(root, op->path, true);
			if (b == -ENOENT || b == -ELOOP)
				continue;       /* the image has no such directory: nothing to open */
			if (b < 0)
				return err_sys(e, -b, "%s", op->path);
			r = mnt_setattr(b, op->kind == PP_LAYER ? w : w | MOUNT_ATTR_RDONLY,
					op->kind == PP_LAYER ? MOUNT_ATTR_RDONLY : 0, -1);
			if (r == 0)
				r = mnt_attach(b, root, op->path);
			close(b);
			if (r < 0)
				return err_sys(e, -r, "%s", op->path);
			break;
		}
		case PP_END:
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int mask_paths(const struct sandbox_oci *o, int root, struct isc_err *e)
{
	const unsigned locked = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
	for (size_t i = 0; o->masked && o->masked[i]; i++) {
		_cleanup_close_ int t = inroot_open(root, o->masked[i], O_PATH | O_NOFOLLOW, 0);
		struct stat st;
		if (t == -ENOENT)
			continue;
		if (t < 0 || fstat(t, &st) < 0)
			return err_sys(e, t < 0 ? -t : errno, "mask %s", o->masked[i]);
		const char *opts[] = { "size=0", "mode=0555", NULL };
		int m = S_ISDIR(st.st_mode) ? mnt_fs("tmpfs", opts, locked, e) : mnt_clone(root, "/dev/null", false);
		if (m < 0)
			return err_sys(e, -m, "mask %s", o->masked[i]);
		int r = move_mount(m, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
		close(m);
		if (r < 0)
			return err_sys(e, errno, "mask %s", o->masked[i]);
	}
	for (size_t i = 0; o->readonly && o->readonly[i]; i++) {
		int m = mnt_clone(root, o->readonly[i], true);
		if (m == -ENOENT)
			continue;
		int r = m < 0 ? m : mnt_setattr(m, locked, 0, -1);
		if (r == 0)
			r = mnt_attach(m, root, o->readonly[i]);
		if (m >= 0)
			close(m);
		if (r < 0)
			return err_sys(e, -r, "read-only %s", o->readonly[i]);
	}
	/* isc's own list on top: the spec's may leave some out */
	return sandbox_mask_proc(root, e);
}

int sandbox_oci_root(const struct sandbox_oci *o, struct isc_err *e)
{
	/* nothing of ours propagates back to the host's namespace */
	unsigned long prop = o->root_propagation ? o->root_propagation : MS_SLAVE;
	if (mount(NULL, "/", NULL, MS_REC | prop, NULL) < 0)
		return err_sys(e, errno, "root propagation");
	/* the root a mount of its own, so it can be pivoted into and made
	 * read-only (by path: a descriptor from before our mount namespace
	 * is not one of its mounts; in a user namespace the path must be one
	 * the container's root may walk, as with runc) */
	if (mount(o->root, o->root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err_sys(e, errno, "bind %s", o->root);
	_cleanup_close_ int root = open(o->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return err_sys(e, errno, "open %s", o->root);
	int r = o->profile == PROFILE_NONE ? 0 : profile_mounts(o, root, e);
	if (r == 0 && !spec_mount(o, "/dev")) {
		const char *opts[] = { "mode=755", "size=1m", NULL };
		r = mount_default(o, root, "/dev", "tmpfs", opts, e);
	}
	for (size_t i = 0; r == 0 && i < o->nmounts; i++)
		r = mount_one(o, &o->mounts[i], root, e);
	static const struct { const char *dest, *type, *opts[5]; } defaults[] = {
		{ "/proc", "proc", { NULL } },
		{ "/dev/pts", "devpts", { "newinstance", "ptmxmode=0666", "mode=0620", NULL } },
		{ "/dev/shm", "tmpfs", { "mode=1777", "size=64m", NULL } },
	};
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(defaults); i++)
		if (!spec_mount(o, defaults[i].dest))
			r = mount_default(o, root, defaults[i].dest, defaults[i].type, defaults[i].opts, e);
	if (r == 0)
		r = mask_paths(o, root, e);
	if (r == 0 && o->before_pivot)
		r = o->before_pivot(o->arg, e);
	if (r == 0)
		r = sandbox_enter_root(root, e);
	if (r < 0)
		return r;
	/* what runs is never writable: the root (the image with the engine's
	 * writable layer) is read-only, whatever root.readonly says */
	if (o->profile != PROFILE_NONE) {
		struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
		if (mount_setattr(AT_FDCWD, "/", 0, &a, sizeof(a)) < 0)
			return err_sys(e, errno, "root read-only");
	}
	return 0;
}

void sandbox_oci_confine_paths(const struct sandbox_oci *o, struct confine *c)
{
	size_t n = 0;
	memset(c->writable, 0, sizeof(c->writable));
	if (o->profile == PROFILE_NONE)
		c->writable[n++] = "/";
	c->writable[n++] = "/dev";
	c->writable[n++] = "/proc";
	for (const struct profile_path *op = profile_paths(o->profile); op->kind != PP_END; op++)
		if (op->kind != PP_IMAGE_RO && n < CONFINE_MAX_WRITABLE)
			c->writable[n++] = op->path;
	/* after pivot_root: a writable mount of one file (the engine's
	 * /etc/hosts) is a rule for that file, never for its directory */
	size_t nf = 0;
	memset(c->writable_files, 0, sizeof(c->writable_files));
	for (size_t i = 0; i < o->nmounts; i++) {
		struct stat st;
		const char *d = o->mounts[i].dest;
		if ((o->mounts[i].set & MOUNT_ATTR_RDONLY) || lstat(d, &st) < 0)
			continue;
		if (S_ISREG(st.st_mode) && nf < CONFINE_MAX_WRITABLE)
			c->writable_files[nf++] = d;
		else if (S_ISDIR(st.st_mode) && n < CONFINE_MAX_WRITABLE && !on_list((char *const *)c->writable, d))
			c->writable[n++] = d;
	}
}
