/* tree.c - confined file operations and a breadth-first walk over an image tree; iscadm. */
#include "image-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

int tree_open(int rootfd, const char *path, int flags)
{
	/* IN_ROOT: ".." and absolute symlinks stop at the tree's root, so a
	 * hostile link in a tar or dir source resolves inside the image. */
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	while (*path == '/')
		path++;
	if (*path == '\0')
		path = ".";
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
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

struct walk_queue {
	char **v;
	size_t head, n, cap;
};

static int walk_push(struct walk_queue *q, const char *path)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		char **v = realloc(q->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		q->v = v;
		q->cap = cap;
	}
	if (!(q->v[q->n] = strdup(path)))
		return -ENOMEM;
	q->n++;
	return 0;
}

static void walk_queue_free(struct walk_queue *q)
{
	for (size_t i = q->head; i < q->n; i++)
		free(q->v[i]);
	free(q->v);
}

/* Report every child of the directory at path and queue the subdirectories. */
static int walk_dir(int rootfd, const char *path, struct walk_queue *q, tree_walk_fn fn,
		    void *data, struct isc_err *e)
{
	/* Only real directories are queued, so NO_SYMLINKS fails only on a race. */
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS };
	const char *rel = path[1] ? path + 1 : ".";
	long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	if (fd < 0)
		return err_set(e, errno, "%s: %s", path, strerror(errno));
	DIR *d = fdopendir((int)fd);
	if (!d) {
		int r = err_set(e, errno, "%s: %s", path, strerror(errno));
		close((int)fd);
		return r;
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
			continue;
		char child[PATH_MAX];
		struct stat st;
		if (snprintf(child, sizeof(child), "%s/%s", path[1] ? path : "", de->d_name) >= (int)sizeof(child))
			r = err_set(e, ENAMETOOLONG, "%s/%s: path too long", path, de->d_name);
		else if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = err_set(e, errno, "%s: %s", child, strerror(errno));
		else if ((r = fn(child, dirfd(d), de->d_name, &st, data)) == 0 && S_ISDIR(st.st_mode))
			r = walk_push(q, child) < 0 ? err_set(e, ENOMEM, "out of memory") : 0;
	}
	if (r == 0 && errno)
		r = err_set(e, errno, "%s: readdir: %s", path, strerror(errno));
	closedir(d);
	return r;
}

int tree_walk(int rootfd, tree_walk_fn fn, void *data, struct isc_err *e)
{
	struct stat st;
	if (fstat(rootfd, &st) < 0)
		return err_set(e, errno, "/: %s", strerror(errno));
	int r = fn("/", rootfd, ".", &st, data);
	if (r < 0)
		return r;
	struct walk_queue q = { 0 };
	if (walk_push(&q, "/") < 0)
		return err_set(e, ENOMEM, "out of memory");
	while (r == 0 && q.head < q.n) {
		_cleanup_free_ char *path = q.v[q.head++];
		r = walk_dir(rootfd, path, &q, fn, data, e);
	}
	walk_queue_free(&q);
	return r;
}

static int max_mtime_fn(const char *path, int parentfd, const char *name,
			const struct stat *st, void *data)
{
	int64_t *max = data;
	(void)path, (void)parentfd, (void)name;
	if ((int64_t)st->st_mtim.tv_sec > *max)
		*max = st->st_mtim.tv_sec;
	return 0;
}

int tree_max_mtime(int rootfd, int64_t *out, struct isc_err *e)
{
	*out = 0;
	return tree_walk(rootfd, max_mtime_fn, out, e);
}
