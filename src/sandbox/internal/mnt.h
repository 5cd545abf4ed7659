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

/* A tmpfs of size bytes whose root has mode and belongs to owner. */
int mnt_tmpfs(mode_t mode, uint64_t size, uid_t owner, unsigned attrs, struct isc_err *e);
/* Attach a detached mount on path below rootfd (MNT_RULE). */
int mnt_attach(int mfd, int rootfd, const char *path);
/* ... on target, an O_PATH descriptor of its mount point. */
int mnt_attach_at(int mfd, int target);
/* mnt_attach for a mount mnt_fs or mnt_tmpfs just made, closed here: a
 * negative mfd is passed through with path added to e, so one line
 * makes and places a mount. */
int mnt_place(int mfd, int rootfd, const char *path, struct isc_err *e);
/* Before 6.15 the kernel clones (open_tree) and stacks (overlayfs) only
 * mounts in the caller's namespace, not detached ones.  The attic is a
 * directory of the supervisor's where a detached mount (the root of one,
 * mfd) is attached for as long as it is cloned from: hold gives its path,
 * release detaches it again (what was cloned or stacked stays). */
int mnt_attic_set(const char *dir);
const char *mnt_attic(void);
int mnt_attic_hold(int mfd, char *path, size_t n);
void mnt_attic_release(const char *path);
/* Detached clone of path below dirfd (path "" = dirfd itself). */
int mnt_clone(int dirfd, const char *path, bool recursive);
int mnt_setattr(int mfd, unsigned set, unsigned clr, int userns);
