/* mnt.h - mount helpers on file descriptors (new mount API), private to src/sandbox. */
#pragma once

#include "common.h"

#include <fcntl.h>
#include <sys/mount.h>

/* How the sandbox resolves a path below the stage or the image
 * (inroot_open): no symlink at all, so a mount lands on the path the
 * profile or the configuration names, never where a link an ISC planted
 * in its layers points; mounts are crossed, the stage is made of them. */
#define MNT_RULE INROOT_NO_SYMLINKS

/* fsopen + string options ("key=value" or "flag") + fsmount: a detached mount. */
int mnt_fs(const char *type, const char *const *opts, unsigned attrs, char *why, size_t n);
/* Attach a detached mount on path below rootfd. */
int mnt_attach(int mfd, int rootfd, const char *path);
/* Detached clone of path below dirfd (path "" = dirfd itself). */
int mnt_clone(int dirfd, const char *path, bool recursive);
int mnt_setattr(int mfd, unsigned set, unsigned clr, int userns);
