/* walk.c - depth-first walks over directory trees an ISC may have made (removal, manifests), any depth, two descriptors; iscadm and iscd. */
#include "common.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

/* Names of subdirectories a level gathers before it enters them: the
 * directory is closed while its subdirectories are walked and read again
 * (from where it stopped) once per this many bytes of names, not once per
 * subdirectory, which made a wide directory cost its width squared. */
#define WALK_CHUNK 8192

struct dirwalk_level {
	dev_t dev;
	ino_t ino;
	long pos;               /* where reading resumes once the pending names are done */
	size_t off;             /* in path: the '/' before this directory's name */
	char *pending;          /* subdirectories to enter, NUL-separated (kept for reuse) */
	size_t plen, pcap, pnext;
	bool eof;               /* read to the end */
	bool resumed;           /* read in more than one piece since read from the start */
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

static int grow(char **buf, size_t *cap, size_t need, size_t first)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : first;
	while (c < need)
		c *= 2;
	char *p = realloc(*buf, c);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = c;
	return 0;
}

/* One more level: slots are zeroed when made, their name buffers reused. */
static int walk_level_room(struct dirwalk *w)
{
	if (w->n < w->cap)
		return 0;
	size_t cap = w->cap ? 2 * w->cap : 16;
	struct dirwalk_level *v = realloc(w->lv, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(v + w->cap, 0, (cap - w->cap) * sizeof(*v));
	w->lv = v;
	w->cap = cap;
	return 0;
}

static void walk_push(struct dirwalk *w, const struct stat *st, size_t off)
{
	struct dirwalk_level *l = &w->lv[w->n++];
	l->dev = st->st_dev;
	l->ino = st->st_ino;
	l->off = off;
	l->pos = 0;
	l->plen = l->pnext = 0;
	l->eof = l->resumed = false;
}

int dirwalk_open(struct dirwalk *w, int dirfd, const char *name, bool rescan)
{
	struct stat st;
	*w = (struct dirwalk){ .rescan = rescan };
	if (grow(&w->path, &w->pathcap, 1, 256) < 0 || walk_level_room(w) < 0)
		return -ENOMEM;
	w->path[0] = '\0';
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	walk_push(w, &st, 0);
	return walk_switch(w, fd, 0);
}

/* path = the current directory's path + "/" + name. */
static int walk_name(struct dirwalk *w, const char *name)
{
	size_t n = strlen(name);
	int r = grow(&w->path, &w->pathcap, w->dirlen + n + 2, 256);
	if (r < 0)
		return r;
	w->path[w->dirlen] = '/';
	memcpy(w->path + w->dirlen + 1, name, n + 1);
	w->len = w->dirlen + 1 + n;
	w->name = w->path + w->dirlen + 1;
	w->depth = w->n;
	return 0;
}

/* The next entry of the current directory (DIRWALK_ENTRY), or 0 at its end. */
static int walk_read(struct dirwalk *w, struct dirwalk_level *l)
{
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(w->d);
		if (!de) {
			w->path[w->dirlen] = '\0';      /* what fails now is this directory */
			w->len = w->dirlen;
			l->eof = errno == 0;
			return -errno;
		}
		if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
			continue;
		int r = walk_name(w, de->d_name);
		if (r < 0)
			return r;
		if (fstatat(dirfd(w->d), w->name, &w->st, AT_SYMLINK_NOFOLLOW) == 0)
			return DIRWALK_ENTRY;
		if (errno != ENOENT)    /* gone meanwhile: nothing to report */
			return -errno;
	}
}

/* Into the next pending subdirectory of l (one gone meanwhile is skipped). */
static int walk_down(struct dirwalk *w)
{
	int r = walk_level_room(w);
	if (r < 0)
		return r;
	struct dirwalk_level *l = &w->lv[w->n - 1];
	const char *name = l->pending + l->pnext;
	l->pnext += strlen(name) + 1;
	if ((r = walk_name(w, name)) < 0)
		return r;
	int fd = walk_openat(dirfd(w->d), name);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	struct stat st;
	r = fstat(fd, &st) < 0 ? -errno : st.st_dev != w->lv[0].dev ? -EXDEV : 0;
	if (r < 0) {
		close(fd);
		return r;
	}
	if (!l->eof)
		l->pos = telldir(w->d);
	if ((r = walk_switch(w, fd, 0)) < 0)
		return r;
	walk_push(w, &st, w->dirlen);
	w->dirlen = w->len;
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
		r = walk_switch(w, fd, p->eof ? 0 : p->pos);
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

/* A directory is read a chunk of subdirectory names at a time, then they
 * are walked one after the other, then the next chunk is read. */
int dirwalk_next(struct dirwalk *w)
{
	for (;;) {
		struct dirwalk_level *l = &w->lv[w->n - 1];
		int r;
		if (!l->eof && l->plen < WALK_CHUNK) {
			if ((r = walk_read(w, l)) != 0)
				return r;
		} else if (l->pnext < l->plen) {
			if ((r = walk_down(w)) < 0)
				return r;
		} else if (!l->eof) {
			l->plen = l->pnext = 0;
			l->resumed = true;
		} else if (w->rescan && l->resumed) {
			l->resumed = l->eof = false;
			l->plen = l->pnext = 0;
			rewinddir(w->d);
		} else {
			return w->n == 1 ? DIRWALK_END : walk_up(w);
		}
	}
}

int dirwalk_enter(struct dirwalk *w)
{
	if (!S_ISDIR(w->st.st_mode))
		return -ENOTDIR;
	struct dirwalk_level *l = &w->lv[w->n - 1];
	size_t n = strlen(w->name) + 1;
	int r = grow(&l->pending, &l->pcap, l->plen + n, 64);
	if (r < 0)
		return r;
	memcpy(l->pending + l->plen, w->name, n);
	l->plen += n;
	return 0;
}

int dirwalk_fd(const struct dirwalk *w)
{
	return dirfd(w->d);
}

void dirwalk_close(struct dirwalk *w)
{
	if (w->d)
		closedir(w->d);
	for (size_t i = 0; i < w->cap; i++)
		free(w->lv[i].pending);
	free(w->lv);
	free(w->path);
	*w = (struct dirwalk){ 0 };
}
