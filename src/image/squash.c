/* squash.c - several overlayfs delta layers made into one, without the base they stand on; iscd (commits). */
#include "image-internal.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define OPAQUE_XATTR "trusted.overlay.opaque"

/* A path some delta touches, and what the deltas say of it. */
struct touched {
	char *path;             /* absolute within the tree: "/etc/motd" */
	bool opaque;            /* an opaque directory in some delta */
	bool nondir;            /* not a directory (or a whiteout) in some delta */
};

struct squash {
	struct touched *v;
	size_t n, cap;
	struct isc_err *e;
};

/* A host path below one of ours, for a message: what an ISC named in it
 * is escaped, and the whole cut at SHOWN bytes. */
#define SHOWN 256
#define SHOWN_SIZE (4 * SHOWN + 4)
static const char *shown(const char *path, char buf[SHOWN_SIZE])
{
	size_t len = strlen(path);
	if (str_escape(path, len < SHOWN ? len : SHOWN, buf, SHOWN_SIZE) < len)
		strcat(buf, "...");
	return buf;
}

static int collect_fn(const struct tree_entry *ent, void *data)
{
	struct squash *s = data;
	const struct stat *st = ent->st;
	char sh[TREE_PATH_SHOW_SIZE];
	if (ent->depth == 0)
		return 0;
	/* squash_build makes host paths (root + this) in PATH_MAX: refuse
	 * here, before a deep delta has all its paths held in memory */
	if (ent->len >= PATH_MAX)
		return err_set(s->e, ENAMETOOLONG, "%s: path longer than %d bytes (cannot be squashed)",
			       tree_path_show(ent->path, sh), PATH_MAX - 1);
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		struct touched *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return err_set(s->e, ENOMEM, "out of memory");
		s->v = v;
		s->cap = cap;
	}
	struct touched t = { .path = strdup(ent->path), .nondir = !S_ISDIR(st->st_mode) };
	if (!t.path)
		return err_set(s->e, ENOMEM, "out of memory");
	if (S_ISDIR(st->st_mode)) {
		char val[4], proc[64];
		_cleanup_close_ int fd = openat(ent->parentfd, ent->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		ssize_t k = fd < 0 ? -1 : getxattr(proc, OPAQUE_XATTR, val, sizeof(val));
		t.opaque = k == 1 && val[0] == 'y';
	}
	s->v[s->n++] = t;
	return 0;
}

static int touched_cmp(const void *a, const void *b)
{
	return strcmp(((const struct touched *)a)->path, ((const struct touched *)b)->path);
}

/* Every xattr of the entry at path in from, set on the same entry in to
 * (what the overlay view shows: its own trusted.overlay.* are hidden). */
static int xattrs_copy(const char *from, const char *to, struct isc_err *e)
{
	char sh[SHOWN_SIZE], nsh[SHOWN_SIZE];
	ssize_t n = llistxattr(from, NULL, 0);
	if (n <= 0)
		return n == 0 || errno == ENOTSUP ? 0 : err_set(e, errno, "%s: list xattrs: %s",
								   shown(from, sh), strerror(errno));
	_cleanup_free_ char *names = malloc((size_t)n);
	_cleanup_free_ char *val = malloc(XATTR_SIZE_MAX);
	if (!names || !val)
		return err_set(e, ENOMEM, "out of memory");
	if ((n = llistxattr(from, names, (size_t)n)) < 0)
		return err_set(e, errno, "%s: list xattrs: %s", shown(from, sh), strerror(errno));
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(names + off) + 1) {
		ssize_t k = lgetxattr(from, names + off, val, XATTR_SIZE_MAX);
		if (k < 0 || lsetxattr(to, names + off, val, (size_t)k, 0) < 0)
			return err_set(e, errno, "%s: xattr %s: %s", shown(from, sh), shown(names + off, nsh),
				       strerror(errno));
	}
	return 0;
}

/* The file's data, its holes left holes: a sparse file of a terabyte
 * costs what it holds, here as in the upper it came from. */
static int file_copy(const char *from, const char *to, off_t size, struct isc_err *e)
{
	char sh[SHOWN_SIZE];
	_cleanup_close_ int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (in < 0 || out < 0)
		return err_set(e, errno, "copy %s: %s", shown(from, sh), strerror(errno));
	char buf[1 << 16];
	for (off_t off = 0; off < size;) {
		off_t data = lseek(in, off, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;   /* a hole to the end */
		if (data < 0)
			data = off;
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || hole > size)
			hole = size;
		while (data < hole) {
			size_t want = (size_t)(hole - data) < sizeof(buf) ? (size_t)(hole - data) : sizeof(buf);
			ssize_t k = pread(in, buf, want, data);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return err_set(e, k < 0 ? errno : EIO, "read %s: %s", shown(from, sh),
					       k < 0 ? strerror(errno) : "shorter than it said");
			for (ssize_t w = 0; w < k;) {
				ssize_t n = pwrite(out, buf + w, (size_t)(k - w), data + w);
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0)
					return err_set(e, errno, "write %s: %s", shown(to, sh), strerror(errno));
				w += n;
			}
			data += k;
		}
		off = hole;
	}
	if (ftruncate(out, size) < 0)
		return err_set(e, errno, "%s: %s", shown(to, sh), strerror(errno));
	return 0;
}

/* Make the entry at rel, as the merged tree shows it, in out: its type,
 * content, owner, mode, xattrs and times (a directory's times are set
 * after its children, by the caller). */
static int entry_copy(const char *merged, const char *out, const char *rel, const struct stat *st,
		      struct isc_err *e)
{
	char from[PATH_MAX], to[PATH_MAX], sh[SHOWN_SIZE];
	snprintf(from, sizeof(from), "%s%s", merged, rel);
	snprintf(to, sizeof(to), "%s%s", out, rel);
	int r = 0;
	switch (st->st_mode & S_IFMT) {
	case S_IFDIR:
		r = mkdir(to, 0700) < 0 ? -errno : 0;
		break;
	case S_IFREG:
		if ((r = file_copy(from, to, st->st_size, e)) < 0)
			return r;
		break;
	case S_IFLNK: {
		char target[PATH_MAX];
		ssize_t k = readlink(from, target, sizeof(target) - 1);
		if (k < 0 || k == (ssize_t)sizeof(target) - 1)
			return err_set(e, k < 0 ? errno : ENAMETOOLONG, "readlink %s: %s", shown(from, sh),
				       strerror(k < 0 ? errno : ENAMETOOLONG));
		target[k] = '\0';
		r = symlink(target, to) < 0 ? -errno : 0;
		break;
	}
	case S_IFCHR:
	case S_IFBLK:   /* images never hold devices; an ISC cannot make them */
		return err_set(e, EPERM, "%s: a device node", shown(from, sh));
	default:   /* fifos, sockets */
		r = mknod(to, st->st_mode & S_IFMT, 0) < 0 ? -errno : 0;
		break;
	}
	if (r < 0 || lchown(to, st->st_uid, st->st_gid) < 0 ||
	    (!S_ISLNK(st->st_mode) && chmod(to, st->st_mode & 07777) < 0))
		return err_set(e, r < 0 ? -r : errno, "%s: %s", shown(to, sh), strerror(r < 0 ? -r : errno));
	/* a directory's xattrs come once its children exist: a default ACL
	 * set now would be inherited by them */
	if (!S_ISDIR(st->st_mode) && (r = xattrs_copy(from, to, e)) < 0)
		return r;
	if (!S_ISDIR(st->st_mode)) {
		struct timespec t[2] = { st->st_atim, st->st_mtim };
		if (utimensat(AT_FDCWD, to, t, AT_SYMLINK_NOFOLLOW) < 0)
			return err_set(e, errno, "%s: times: %s", shown(to, sh), strerror(errno));
	}
	return 0;
}

/* A directory to finish once its children exist. */
struct dir_time {
	char *path;             /* in out */
	char *from;             /* in the merged tree */
	struct timespec t[2];
};

static int dir_time_cmp(const void *key, const void *elem)
{
	const struct dir_time *d = elem;
	return strcmp(key, d->path ? d->path : "");
}

/* Was path made here as a directory?  dirs are in path order. */
static bool dir_made(const struct dir_time *dirs, size_t n, const char *path)
{
	return bsearch(path, dirs, n, sizeof(*dirs), dir_time_cmp) != NULL;
}

/* Does the base have an entry at path (through real directories only)? */
static bool in_base(int basefd, const char *path)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, basefd, path + 1, &how, sizeof(how));
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int squash_build(struct squash *s, const char *merged, const char *base, const char *out)
{
	struct isc_err *e = s->e;
	_cleanup_close_ int basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (basefd < 0)
		return err_set(e, errno, "%s: %s", base, strerror(errno));
	struct dir_time *dirs = calloc(s->n + 1, sizeof(*dirs));
	struct { dev_t dev; ino_t ino; char *path; } *links = calloc(s->n + 1, sizeof(*links));
	size_t nd = 0, nl = 0;
	int r = dirs && links ? 0 : err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n && r == 0; i++) {
		const struct touched *t = &s->v[i];
		char m[PATH_MAX], o[PATH_MAX], parent[PATH_MAX], sh[SHOWN_SIZE];
		struct stat st;
		/* Under a path where the merged tree has no directory (removed,
		 * or replaced by a file or symlink) nothing of it shows.  Only a
		 * directory made here a moment ago counts: no path is ever
		 * resolved through a symlink, in the merged tree or in out
		 * (an absolute one would lead out of both, into the host). */
		if (snprintf(parent, sizeof(parent), "%s%s", out, t->path) >= (int)sizeof(parent) ||
		    snprintf(m, sizeof(m), "%s%s", merged, t->path) >= (int)sizeof(m)) {
			r = err_set(e, ENAMETOOLONG, "%s: path too long", shown(t->path, sh));
			break;
		}
		*strrchr(parent, '/') = '\0';
		if (!STREQ(parent, out) && !dir_made(dirs, nd, parent))
			continue;
		snprintf(o, sizeof(o), "%s%s", out, t->path);
		if (lstat(m, &st) < 0) {
			if (errno != ENOENT) {
				r = err_set(e, errno, "%s: %s", shown(m, sh), strerror(errno));
				break;
			}
			/* gone: a whiteout, if the base has something to hide */
			if (in_base(basefd, t->path) && mknod(o, S_IFCHR | 0, makedev(0, 0)) < 0)
				r = err_set(e, errno, "whiteout %s: %s", shown(o, sh), strerror(errno));
			continue;
		}
		/* a file linked twice in the deltas stays one file */
		bool linked = false;
		for (size_t k = 0; !S_ISDIR(st.st_mode) && st.st_nlink > 1 && k < nl && !linked; k++)
			if (links[k].dev == st.st_dev && links[k].ino == st.st_ino) {
				if (link(links[k].path, o) < 0)
					r = err_set(e, errno, "link %s: %s", shown(o, sh), strerror(errno));
				linked = true;
			}
		if (linked)
			continue;
		if ((r = entry_copy(merged, out, t->path, &st, e)) < 0)
			break;
		if (!S_ISDIR(st.st_mode) && st.st_nlink > 1)
			links[nl++] = (typeof(*links)){ st.st_dev, st.st_ino, strdup(o) };
		if (S_ISDIR(st.st_mode)) {
			/* The base's directory shows through only if no delta
			 * hid it: an opaque one, or a file or whiteout in its
			 * place, stops the merge below it. */
			if ((t->opaque || t->nondir) && lsetxattr(o, OPAQUE_XATTR, "y", 1, 0) < 0)
				r = err_set(e, errno, "%s: opaque: %s", shown(o, sh), strerror(errno));
			dirs[nd++] = (struct dir_time){ strdup(o), strdup(m), { st.st_atim, st.st_mtim } };
			if (!dirs[nd - 1].path || !dirs[nd - 1].from)
				r = err_set(e, ENOMEM, "out of memory");
		}
	}
	/* children first: then a directory's xattrs, and its time is its own again */
	for (size_t i = nd; i-- > 0;) {
		char sh[SHOWN_SIZE];
		if (r == 0)
			r = xattrs_copy(dirs[i].from, dirs[i].path, e);
		if (r == 0 && utimensat(AT_FDCWD, dirs[i].path, dirs[i].t, 0) < 0)
			r = err_set(e, errno, "%s: times: %s", shown(dirs[i].path, sh), strerror(errno));
		free(dirs[i].path);
		free(dirs[i].from);
	}
	for (size_t i = 0; i < nl; i++)
		free(links[i].path);
	free(dirs);
	free(links);
	return r;
}

int image_squash(const char *merged, const char *base, const char *const *deltas, size_t n,
		 const char *out, struct isc_err *e)
{
	struct squash s = { .e = e };
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		_cleanup_close_ int fd = open(deltas[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = fd < 0 ? err_set(e, errno, "%s: %s", deltas[i], strerror(errno))
			   : tree_walk(fd, collect_fn, &s, e);
	}
	if (r == 0) {
		/* parents before children; one entry per path, flags joined */
		qsort(s.v, s.n, sizeof(*s.v), touched_cmp);
		size_t k = 0;
		for (size_t i = 0; i < s.n; i++) {
			if (k && STREQ(s.v[k - 1].path, s.v[i].path)) {
				s.v[k - 1].opaque |= s.v[i].opaque;
				s.v[k - 1].nondir |= s.v[i].nondir;
				free(s.v[i].path);
			} else {
				s.v[k++] = s.v[i];
			}
		}
		s.n = k;
		r = squash_build(&s, merged, base, out);
	}
	/* the root directory: as the merged tree has it */
	struct stat st;
	if (r == 0 && (stat(merged, &st) < 0 || chown(out, st.st_uid, st.st_gid) < 0 ||
		       chmod(out, st.st_mode & 07777) < 0 || (r = xattrs_copy(merged, out, e)) < 0 ||
		       utimensat(AT_FDCWD, out, (struct timespec[2]){ st.st_atim, st.st_mtim }, 0) < 0))
		r = r < 0 ? r : err_set(e, errno, "%s: %s", out, strerror(errno));
	for (size_t i = 0; i < s.n; i++)
		free(s.v[i].path);
	free(s.v);
	return r;
}
