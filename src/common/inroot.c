/* inroot.c - the one rule for opening a path inside a tree held by a directory fd
 * (an image being built, an ISC's stage); iscadm, iscd and its children. */
#include "common.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

/* A rename in the tree while ".." is resolved makes the kernel refuse
 * (EAGAIN) rather than risk a step outside; a few more tries ride out a
 * busy tree, a tree renamed in a loop still fails. */
#define INROOT_TRIES 8

int inroot_open(int rootfd, const char *path, int flags, unsigned rule)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		/* IN_ROOT: "..", absolute paths and absolute symlinks stop at
		 * rootfd; NO_MAGICLINKS: no /proc/<pid>/fd/N jump out of it */
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
			   (rule & INROOT_NO_SYMLINKS ? RESOLVE_NO_SYMLINKS : 0) |
			   (rule & INROOT_NO_XDEV ? RESOLVE_NO_XDEV : 0),
	};
	/* the mode would be 0: create with mkdirat/openat on the parent
	 * (O_TMPFILE holds O_DIRECTORY's bit: compare all of it) */
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return -EINVAL;
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	for (int i = 1;; i++) {
		long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN || i == INROOT_TRIES)
			return -errno;
	}
}
