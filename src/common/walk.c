/* walk.c - depth-first walks over directory trees an ISC may have made (removal, manifests), any depth, two descriptors; iscadm and iscd. */
#include "common.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

struct dirwalk_level {
	dev_t dev;
	ino_t ino;
	long pos;               /* where reading resumes after a subdirectory */
	size_t off;             /* in path: the '/' before this directory's name */
	bool resumed;           /* read in pieces since it was last read from the start */
};

/* A directory next to fd: a name from readdir, or "..".  No symlink is
 * followed and no mount crossed (RESOLVE_NO_XDEV also refuses a bind mount
 * of the same filesystem, which an st_dev check would miss). */
static int walk_openat(int fd, const char *name)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long r = syscall(SYS_openat2, fd, name, &how, sizeof(how));
	return r < 0 ? -errno : (int)r;
}

/* Read fd from now on, at pos; fd is consumed. */
static int walk_switch(struct dirwalk *w, int fd, long pos)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (w->d)
		closedir(w->d);
	w->d = d;
	if (pos)
		seekdir(d, pos);
	return 0;
}

static int walk_path_room(struct dirwalk *w, size_t need)
{
	if (need <= w->pathcap)
		return 0;
	size_t cap = w->pathcap;
	while (cap < need)
		cap *= 2;
	char *p = realloc(w->path, cap);
	if (!p)
		return -ENOMEM;
	w->path = p;
	w->pathcap = cap;
	return 0;
}

int dirwalk_open(struct dirwalk *w, int dirfd, const char *name, bool rescan)
{
	struct stat st;
	*w = (struct dirwalk){ .rescan = rescan, .pathcap = 256 };
	w->path = malloc(w->pathcap);
	w->lv = malloc(16 * sizeof(*w->lv));
	if (!w->path || !w->lv)
		return -ENOMEM;
	w->cap = 16;
	w->path[0] = '\0';
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	w->lv[w->n++] = (struct dirwalk_level){ .dev = st.st_dev, .ino = st.st_ino };
	return walk_switch(w, fd, 0);
}

/* path = the current directory's path + "/" + name. */
static int walk_name(struct dirwalk *w, const char *name)
{
	size_t n = strlen(name);
	int r = walk_path_room(w, w->dirlen + n + 2);
	if (r < 0)
		return r;
	w->path[w->dirlen] = '/';
	memcpy(w->path + w->dirlen + 1, name, n + 1);
	w->len = w->dirlen + 1 + n;
	w->name = w->path + w->dirlen + 1;
	w->depth = w->n;
	return 0;
}

/* Back into the parent, where its reading stopped: only if ".." is still
 * the directory we came down from. */
static int walk_up(struct dirwalk *w)
{
	struct dirwalk_level *l = &w->lv[w->n - 1], *p = l - 1;
	struct stat st;
	int fd = walk_openat(dirfd(w->d), "..");
	if (fd < 0)
		return fd;
	int r = fstat(fd, &st) < 0 ? -errno : st.st_dev != p->dev || st.st_ino != p->ino ? -ESTALE : 0;
	if (r == 0)
		r = walk_switch(w, fd, p->pos);
	else
		close(fd);
	if (r < 0)
		return r;
	w->path[w->dirlen] = '\0';      /* the directory left, by its path and name */
	w->len = w->dirlen;
	w->name = w->path + l->off + 1;
	w->depth = --w->n;
	w->dirlen = l->off;
	return DIRWALK_LEAVE;
}

int dirwalk_next(struct dirwalk *w)
{
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(w->d);
		if (de) {
			if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
				continue;
			int r = walk_name(w, de->d_name);
			if (r < 0)
				return r;
			if (fstatat(dirfd(w->d), w->name, &w->st, AT_SYMLINK_NOFOLLOW) == 0)
				return DIRWALK_ENTRY;
			if (errno != ENOENT)    /* gone meanwhile: nothing to report */
				return -errno;
			continue;
		}
		w->path[w->dirlen] = '\0';      /* what fails now is this directory */
		w->len = w->dirlen;
		if (errno)
			return -errno;
		struct dirwalk_level *l = &w->lv[w->n - 1];
		if (w->rescan && l->resumed) {
			l->resumed = false;
			rewinddir(w->d);
			continue;
		}
		return w->n == 1 ? DIRWALK_END : walk_up(w);
	}
}

int dirwalk_enter(struct dirwalk *w)
{
	if (!S_ISDIR(w->st.st_mode))
		return -ENOTDIR;
	if (w->n == w->cap) {
		struct dirwalk_level *v = realloc(w->lv, 2 * w->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->lv = v;
		w->cap *= 2;
	}
	int fd = walk_openat(dirfd(w->d), w->name);
	if (fd < 0)
		return fd;
	struct stat st;
	int r = fstat(fd, &st) < 0 ? -errno : st.st_dev != w->lv[0].dev ? -EXDEV : 0;
	if (r < 0) {
		close(fd);
		return r;
	}
	struct dirwalk_level *p = &w->lv[w->n - 1];
	p->pos = telldir(w->d);
	p->resumed = true;
	r = walk_switch(w, fd, 0);
	if (r < 0)
		return r;
	w->lv[w->n++] = (struct dirwalk_level){ .dev = st.st_dev, .ino = st.st_ino, .off = w->dirlen };
	w->dirlen = w->len;
	return 0;
}

int dirwalk_fd(const struct dirwalk *w)
{
	return dirfd(w->d);
}

void dirwalk_top(const struct dirwalk *w, dev_t *dev, ino_t *ino)
{
	*dev = w->lv[0].dev;
	*ino = w->lv[0].ino;
}

void dirwalk_close(struct dirwalk *w)
{
	if (w->d)
		closedir(w->d);
	free(w->lv);
	free(w->path);
	*w = (struct dirwalk){ 0 };
}
