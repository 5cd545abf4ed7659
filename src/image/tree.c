/* tree.c - confined file operations, walks and measures of an image tree or a layer; iscadm and iscd. */
#include "image-internal.h"

#include <dirent.h>
#include <fcntl.h>

int tree_open(int rootfd, const char *path, int flags)
{
	/* a hostile link in a tar or dir source resolves inside the image; a
	 * tree being built is one filesystem, nothing mounted in it is written */
	return inroot_open(rootfd, path, flags, INROOT_NO_XDEV);
}

/* Split "a/b/c" into an fd on the (confined) parent "a/b" and the last name. */
static int tree_parent_open(int rootfd, const char *path, char *name, size_t size)
{
	char dir[PATH_MAX];
	if (str_copy(dir, sizeof(dir), path) < 0)
		return -ENAMETOOLONG;
	char *slash = strrchr(dir, '/');
	const char *last = slash ? slash + 1 : dir;
	if (str_copy(name, size, last) < 0 || !*name || STREQ(name, ".") || STREQ(name, ".."))
		return -EINVAL;
	if (slash)
		*slash = '\0';
	return tree_open(rootfd, slash ? dir : ".", O_RDONLY | O_DIRECTORY);
}

static int tree_mkdir_one(int rootfd, const char *path, mode_t mode)
{
	char name[NAME_MAX + 1];
	_cleanup_close_ int dfd = tree_parent_open(rootfd, path, name, sizeof(name));
	if (dfd < 0)
		return dfd;
	if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST)
		return -errno;
	/* An existing entry must be (or resolve, inside the tree, to) a directory. */
	_cleanup_close_ int fd = tree_open(rootfd, path, O_PATH | O_DIRECTORY);
	return fd < 0 ? fd : 0;
}

int tree_mkdir_p(int rootfd, const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (str_copy(buf, sizeof(buf), path) < 0)
		return -ENAMETOOLONG;
	size_t len = strlen(buf);
	for (size_t i = 1; i <= len; i++) {
		if ((buf[i] != '/' && buf[i] != '\0') || buf[i - 1] == '/')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		int r = tree_mkdir_one(rootfd, buf, mode);
		buf[i] = c;
		if (r < 0)
			return r;
	}
	return 0;
}

int tree_dir_ensure(int rootfd, const char *path, mode_t mode, bool force)
{
	_cleanup_close_ int fd = tree_open(rootfd, path, O_RDONLY | O_DIRECTORY);
	if (fd == -ENOENT) {
		int r = tree_mkdir_p(rootfd, path, 0755);
		if (r < 0)
			return r;
		force = true;
		fd = tree_open(rootfd, path, O_RDONLY | O_DIRECTORY);
	}
	if (fd < 0)
		return fd;
	/* fchmod, not the mkdir mode: the umask must not change 1777 or 0700. */
	return force && fchmod(fd, mode) < 0 ? -errno : 0;
}

int tree_write_file(int rootfd, const char *path, const void *data, size_t len, mode_t mode)
{
	char name[NAME_MAX + 1];
	_cleanup_close_ int dfd = tree_parent_open(rootfd, path, name, sizeof(name));
	if (dfd < 0)
		return dfd;
	/* Replace whatever is there (a symlink must not redirect the write). */
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)  /* umask must not weaken 1777 or tighten 0644 */
		r = -errno;
	return r;
}

int tree_symlink(int rootfd, const char *target, const char *path)
{
	char name[NAME_MAX + 1];
	_cleanup_close_ int dfd = tree_parent_open(rootfd, path, name, sizeof(name));
	if (dfd < 0)
		return dfd;
	if (symlinkat(target, dfd, name) < 0)
		return -errno;
	return 0;
}

/* ---- walks ----------------------------------------------------------------- */

const char *tree_path_show(const char *path, char buf[TREE_PATH_SHOW_SIZE])
{
	size_t len = strlen(path), levels = 0;
	if (len == 0)
		return "/";
	size_t held = str_escape(path, len < TREE_PATH_SHOW ? len : TREE_PATH_SHOW, buf,
				 TREE_PATH_SHOW_SIZE);
	if (held == len)
		return buf;
	for (const char *p = path; (p = strchr(p, '/')); p++)
		levels++;
	size_t n = strlen(buf);
	snprintf(buf + n, TREE_PATH_SHOW_SIZE - n, "... (%zu levels)", levels);
	return buf;
}

/* A failure of the walk itself, at w->path. */
static int walk_fail(const struct dirwalk *w, int r, struct isc_err *e)
{
	char shown[TREE_PATH_SHOW_SIZE];
	const char *p = tree_path_show(w->path ? w->path : "", shown);
	switch (-r) {
	case ENOMEM:
		return err_set(e, ENOMEM, "out of memory");
	case ESTALE:
		return err_set(e, ESTALE, "%s: moved while the tree was read", p);
	case EXDEV:
		return err_set(e, EXDEV, "%s: a mount point (not walked)", p);
	default:
		return err_set(e, -r, "%s: %s", p, strerror(-r));
	}
}

static int walk_entry(struct dirwalk *w, size_t max_depth, tree_walk_fn fn, void *data,
		      struct isc_err *e)
{
	char shown[TREE_PATH_SHOW_SIZE];
	/* the bound keeps what one path costs (here and in every caller that
	 * stores paths) in proportion, whatever an ISC nests */
	if (w->depth > max_depth)
		return err_set(e, ENAMETOOLONG, "%s: deeper than %zu levels",
			       tree_path_show(w->path, shown), max_depth);
	struct tree_entry ent = { w->path, w->len, w->depth, dirwalk_fd(w), w->name, &w->st };
	int r = fn(&ent, data);
	if (r < 0)
		return r;
	if (S_ISDIR(w->st.st_mode) && (r = dirwalk_enter(w)) < 0)
		return walk_fail(w, r, e);
	return 0;
}

int tree_walk_max(int rootfd, size_t max_depth, tree_walk_fn fn, void *data, struct isc_err *e)
{
	struct stat st;
	if (fstat(rootfd, &st) < 0)
		return err_sys(e, errno, "/");
	struct tree_entry root = { "/", 1, 0, rootfd, ".", &st };
	int r = fn(&root, data);
	if (r < 0)
		return r;
	struct dirwalk w;
	r = dirwalk_open(&w, rootfd, ".", false);
	if (r < 0) {
		dirwalk_close(&w);
		return err_sys(e, r, "/");
	}
	for (;;) {
		int ev = dirwalk_next(&w);
		if (ev == DIRWALK_END)
			break;
		if (ev < 0) {
			r = walk_fail(&w, ev, e);
			break;
		}
		if (ev == DIRWALK_ENTRY && (r = walk_entry(&w, max_depth, fn, data, e)) < 0)
			break;
	}
	dirwalk_close(&w);
	return r;
}

int tree_walk(int rootfd, tree_walk_fn fn, void *data, struct isc_err *e)
{
	return tree_walk_max(rootfd, TREE_WALK_MAX_DEPTH, fn, data, e);
}

static int max_mtime_fn(const struct tree_entry *ent, void *data)
{
	int64_t *max = data;
	if ((int64_t)ent->st->st_mtim.tv_sec > *max)
		*max = ent->st->st_mtim.tv_sec;
	return 0;
}

int tree_max_mtime(int rootfd, int64_t *out, struct isc_err *e)
{
	*out = 0;
	return tree_walk(rootfd, max_mtime_fn, out, e);
}

static int measure_fn(const struct tree_entry *ent, void *data)
{
	struct image_tree_stats *s = data;
	const struct stat *st = ent->st;
	if (ent->depth == 0)
		return 0;
	s->entries++;
	s->path_bytes += ent->len;
	if (S_ISREG(st->st_mode))   /* saturates: sparse files can claim anything */
		s->bytes = s->bytes > UINT64_MAX - (uint64_t)st->st_size ? UINT64_MAX
			   : s->bytes + (uint64_t)st->st_size;
	if (ent->len - 1 > s->longest)
		s->longest = ent->len - 1;
	if (ent->depth > s->depth)
		s->depth = ent->depth;
	bool whiteout = S_ISCHR(st->st_mode) && st->st_rdev == 0;
	s->whiteouts += whiteout;
	s->devices |= (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) && !whiteout;
	s->setid |= !S_ISDIR(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID));
	return 0;
}

int image_tree_measure(int rootfd, struct image_tree_stats *out, struct isc_err *e)
{
	*out = (struct image_tree_stats){ 0 };
	return tree_walk(rootfd, measure_fn, out, e);
}
