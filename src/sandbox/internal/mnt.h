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

/* fsopen + string options ("key=value" or "flag") + fsmount: a detached
 * mount, or -errno with e saying which step failed ("mount proc: ..."). */
int mnt_fs(const char *type, const char *const *opts, unsigned attrs, struct isc_err *e);
/* An erofs image read from image_fd, read-only: straight from the file
 * where the kernel can (6.12: file-backed mounts), else through a
 * read-only loop device that goes away with the mount.  EROFS_AUTO tries
 * the file first and remembers a kernel that refuses it. */
enum mnt_erofs_via { EROFS_AUTO, EROFS_FILE, EROFS_LOOP };
int mnt_erofs(int image_fd, unsigned attrs, enum mnt_erofs_via via, struct isc_err *e);
/* false once a mount found that this kernel needs the loop device. */
bool mnt_erofs_from_file(void);
/* A tmpfs of size bytes whose root has mode and belongs to owner. */
int mnt_tmpfs(mode_t mode, uint64_t size, uid_t owner, unsigned attrs, struct isc_err *e);
/* e for a failed fsopen (fs < 0) or fsconfig(FSCONFIG_CMD_CREATE): the
 * context, code's text, and what the filesystem logged on fs, if anything. */
int mnt_fs_fail(int fs, int code, struct isc_err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Attach a detached mount on path below rootfd (MNT_RULE). */
int mnt_attach(int mfd, int rootfd, const char *path);
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
