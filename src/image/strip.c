/* strip.c - take privilege bits out of a layer the ISC wrote, before it becomes an image; iscd. */
#include "image-internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

struct strip_ctx {
	unsigned stripped;
	struct isc_err *e;
};

/* A setuid file or a file capability is inert inside isc (nosuid mounts,
 * no_new_privs), but an image outlives isc's mounts: mounted or
 * extracted elsewhere, a setuid-root shell the ISC planted would be a way
 * in.  Directories keep their setgid bit (group inheritance, no privilege). */
static int strip_fn(const struct tree_entry *ent, void *data)
{
	struct strip_ctx *c = data;
	const struct stat *st = ent->st;
	char show[TREE_PATH_SHOW_SIZE];
	const char *path = tree_path_show(ent->path, show);
	if (!S_ISREG(st->st_mode))
		return 0;
	bool setid = st->st_mode & (S_ISUID | S_ISGID);
	/* O_NOFOLLOW|O_NONBLOCK: an entry swapped for a link or a fifo since
	 * the walk saw it is not followed, nor waited on */
	_cleanup_close_ int fd = openat(ent->parentfd, ent->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
					O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(c->e, errno, "open %s", path);
	if (setid && fchmod(fd, st->st_mode & 01777) < 0)
		return err_sys(c->e, errno, "clear setuid/setgid of %s", path);
	bool cap = fgetxattr(fd, "security.capability", NULL, 0) >= 0;
	if (cap && fremovexattr(fd, "security.capability") < 0 && errno != ENODATA)
		return err_sys(c->e, errno, "remove the file capability of %s", path);
	c->stripped += setid || cap;
	return 0;
}

int image_tree_strip_privileges(int rootfd, unsigned *stripped, struct isc_err *e)
{
	struct strip_ctx c = { .e = e };
	int r = tree_walk(rootfd, strip_fn, &c, e);
	if (stripped)
		*stripped = c.stripped;
	return r;
}

