/* common.h - errors, cleanup helpers, fd/fs/string utilities; linked into every isc process. */
#pragma once

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---- errors -------------------------------------------------------------
 * Functions return 0 or a negative errno.  Where a reason must reach a
 * person, the caller passes a struct isc_err; the callee fills it with
 * err_set() and returns its result, callers on the way up add context
 * with err_prefix().  Only top-level handlers print. */
struct isc_err {
	int code;            /* positive errno */
	char msg[1024];
};

int err_set(struct isc_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int err_prefix(struct isc_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void err_clear(struct isc_err *e);

/* ---- cleanup ------------------------------------------------------------ */
static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
void strv_free(char **v);
static inline void strv_freep(char ***v) { strv_free(*v); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_ _cleanup_(strv_freep)

#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STREQ(a, b) (strcmp((a), (b)) == 0)
#define ISC_STR_(x) #x
#define ISC_STR(x) ISC_STR_(x)

/* ---- strings ------------------------------------------------------------ */
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* Copy with truncation check: -ENAMETOOLONG if src does not fit. */
int str_copy(char *dst, size_t size, const char *src);
/* Append to the string in dst, cut to fit size. */
void str_append(char *dst, size_t size, const char *src);
/* "8G", "512M", "64k", "1024" -> bytes. */
int parse_size(const char *s, uint64_t *out);
void format_size(uint64_t bytes, char *buf, size_t size);
/* A name for an ISC or image: [A-Za-z0-9][A-Za-z0-9_.-]{0,62}. */
bool name_valid(const char *s);
size_t strv_length(char *const *v);
/* Append a copy of s; returns 0 or -ENOMEM. */
int strv_push(char ***v, const char *s);
char **strv_copy(char *const *v);

/* ---- escaping -------------------------------------------------------------
 * One rule for bytes someone else chose (an ISC's console, a file name in
 * an error, a helper's output) on their way to a person: what shows is
 * text, and it reads back to the bytes unambiguously.
 *   - printable ASCII is kept, except the backslash, which becomes \\;
 *   - valid UTF-8 (RFC 3629) is kept, except the C1 controls U+0080..U+009F
 *     (an 8-bit CSI or OSC) and the bidi controls U+061C, U+200E, U+200F,
 *     U+202A..U+202E and U+2066..U+2069 (they reorder what follows, so a
 *     name could show as another);
 *   - every other byte becomes \xNN (lower-case hex): the C0 controls, NUL
 *     and DEL, each byte of a C1 or bidi control, each byte that is not
 *     part of valid UTF-8.
 * Tab and newline are controls like the others: in one field (a name, a
 * message) a tab would pass for spaces and a newline could forge a line.
 * ESC_KEEP_NL is for text laid out in lines (a console): there \n and \t
 * stay as they are, as layout; a \r, which could overwrite a line, never. */
enum str_escape_flags {
	ESC_KEEP_NL = 1 << 0,   /* lines of text: \n and \t kept */
	ESC_MORE    = 1 << 1,   /* src goes on after n: keep a UTF-8 sequence cut at the end */
};
/* Escape src[0..n) into dst, NUL-terminated, never ending in half an escape
 * or half a character (size 5 or more always makes progress).  Returns the
 * bytes of src consumed: n, or fewer when dst is full or (ESC_MORE) at a
 * sequence cut at the end.  dst has no NUL inside: a NUL byte is escaped. */
size_t str_escape_ctl(char *dst, size_t size, const char *src, size_t n, unsigned flags);
/* str_escape_ctl without flags (one field, on one line), arguments in the
 * order of a copy: in[0..inlen) into out. */
size_t str_escape(const char *in, size_t inlen, char *out, size_t outsize);
/* write_all through str_escape_ctl: the bytes of buf consumed (n, or with
 * ESC_MORE up to 3 fewer: a cut UTF-8 sequence, for the next call), or -errno. */
ssize_t fd_write_escaped(int fd, const char *buf, size_t n, unsigned flags);

/* ---- libraries loaded when first needed (lib.c) --------------------------- */
/* dlopen(soname) once per caller; NULL with e saying which package to install. */
void *lib_open(const char *soname, const char *package, struct isc_err *e);
/* Fill each slot (a function pointer of the symbol's own type) from h. */
struct lib_sym {
	const char *name;
	void *slot;                     /* address of the function pointer */
};
#define LIB_SYM(var, fn) { #fn, &(var) }
int lib_syms(void *h, const char *soname, const struct lib_sym *syms, size_t n, struct isc_err *e);

/* ---- files -------------------------------------------------------------- */
/* Crash-safe write: temp file, fsync, rename over name, fsync the directory. */
int write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* What write_file_atomic waits for: the file's bytes, the rename. */
enum {
	WRITE_SYNC_DATA = 1 << 0,
	WRITE_SYNC_DIR  = 1 << 1,
};
/* Temp file and rename (a reader sees the old or the new bytes, never a
 * mix), waiting only for what flags name: 0 for what a reboot forgets
 * anyway (run state); WRITE_SYNC_DATA where the rename itself may be lost
 * but never a renamed file without its bytes. */
int write_file_replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		       unsigned flags);
/* Read a whole (small) file; *buf is NUL-terminated. -EFBIG above max. */
int read_file_at(int dirfd, const char *path, char **buf, size_t *len, size_t max);
/* Write all of buf, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);
ssize_t read_all(int fd, void *buf, size_t len);
int mkdir_p_at(int dirfd, const char *path, mode_t mode);
/* Remove name (below dirfd) and, if it is a directory, everything under it,
 * however deep: no recursion, at most two descriptors of its own (walk.c).
 * A symlink is removed, never followed; nothing on another mount is
 * touched: a mount point below name is -EBUSY.  Stops at the first entry
 * it cannot remove and returns that error, the rest left in place.  A
 * locked fscrypt tree (no key) is removed too: nothing is renamed.
 * A name that does not exist is 0. */
int rm_rf_at(int dirfd, const char *name);
int fsync_dir_at(int dirfd, const char *path);
/* Copy a regular file's bytes from one fd to another (copy_file_range, then read/write). */
int copy_fd(int in, int out);
/* Run argv (PATH lookup), wait; stdout to /dev/null when quiet.  Returns exit
 * status (0..255), or -errno.  Output of a failing command is kept in out (if given). */
int run_cmd(char *const argv[], bool quiet, char *out, size_t outsize);
/* fork() with a pipe from the child to us (both ends close-on-exec): in
 * the child *fd is the write end, in the parent the read end. */
pid_t fork_piped(int *fd);
/* Start path with fds[i] as its fd i (i < n <= SPAWN_FDS_MAX) and no
 * other fd of ours, in a session of its own, with default signal
 * dispositions and nothing blocked.  Its pid (our child), or -errno (the
 * exec's too). */
#define SPAWN_FDS_MAX 8
pid_t spawn_fds(const char *path, char *const argv[], const int *fds, int n);
/* The same as a daemon: not our child (a vfork'd go-between spawns it and
 * exits), so no caller ever has it to reap.  0 once it runs, or -errno. */
int spawn_detached(const char *path, char *const argv[], const int *fds, int n);

/* ---- processes ----------------------------------------------------------- */
/* In a child about to exec: default dispositions, nothing blocked. */
void sig_reset_for_exec(void);

/* ---- tree walks (walk.c) -------------------------------------------------
 * Depth first over a directory tree someone else may have made, without
 * recursion.  The walk holds one descriptor, two while it moves between
 * levels, whatever the depth; it climbs back through "..", checked against
 * the directory it came down from, so a tree moved under it ends the walk
 * (-ESTALE) instead of leading it elsewhere.  It never follows a symlink
 * and never enters another mount (-EXDEV).  Memory grows with the depth
 * only: per level a read position and up to 8 KiB of the names of
 * subdirectories still to enter.
 *
 *   dirwalk_open(&w, dirfd, name, false);
 *   while ((r = dirwalk_next(&w)) > 0)
 *           if (r == DIRWALK_ENTRY && S_ISDIR(w.st.st_mode)) dirwalk_enter(&w);
 *   dirwalk_close(&w);
 *
 * A directory's entries come before anything below them: a directory
 * marked with dirwalk_enter is walked once its parent has been read (or a
 * chunk of it, for a wide one), then comes DIRWALK_LEAVE for it.
 * A walker that removes entries as it goes sets rescan: a directory read
 * in chunks is read once more from the start, as read positions need not
 * survive removals on every filesystem. */
enum dirwalk_event {
	DIRWALK_END = 0,
	DIRWALK_ENTRY,          /* an entry of the directory dirwalk_fd(): name, st */
	DIRWALK_LEAVE,          /* a directory entered earlier is done: name (in dirwalk_fd()) */
};

struct dirwalk_level;

struct dirwalk {
	const char *name;       /* of the entry: inside path, valid until the next call */
	char *path;             /* "/a/b": the entry from the top ("" for the top itself);
				 * after an error, what failed */
	size_t len;             /* strlen(path) */
	size_t depth;           /* of the entry: 1 for an entry of the top */
	struct stat st;         /* of the entry (DIRWALK_ENTRY) */
	/* the walk's own */
	DIR *d;
	struct dirwalk_level *lv;
	size_t n, cap, dirlen, pathcap;
	bool rescan;
};

/* Walk the directory name below dirfd ("." for dirfd itself).  Call
 * dirwalk_close() afterwards, also when this fails. */
int dirwalk_open(struct dirwalk *w, int dirfd, const char *name, bool rescan);
/* The next event (> 0), DIRWALK_END, or -errno. */
int dirwalk_next(struct dirwalk *w);
/* Walk the directory just returned as DIRWALK_ENTRY (after its siblings). */
int dirwalk_enter(struct dirwalk *w);
/* The directory being read: the parent of the entry (of the directory left). */
int dirwalk_fd(const struct dirwalk *w);
void dirwalk_close(struct dirwalk *w);

/* ---- loop devices -------------------------------------------------------- */
/* Attach img to a free loop device with LO_FLAGS_AUTOCLEAR; returns the
 * open device (dev names it).  Keep it open until mounted: autoclear
 * detaches the device on its last close. */
int loop_attach(const char *img, char *dev, size_t n, struct isc_err *e);
/* The same for an open file (name is what the device shows as its
 * backing file), read-only if ro. */
int loop_attach_fd(int file, const char *name, bool ro, char *dev, size_t n, struct isc_err *e);

/* ---- mounts on descriptors (mount.c) ------------------------------------ */
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
/* The erofs image of image_fd (a verified pool file) as a detached clone
 * of the host's one mount of that file, /run/isc/images/DEV-INO (made now
 * where missing): every boot of every ISC on the image reads one page
 * cache (docs/images.md).  hostns: the host's mount namespace, entered for
 * the moment (-1: we are in it).  -errno and e; the caller may then mount
 * the image for itself. */
int mnt_image_shared(int image_fd, unsigned attrs, int hostns, struct isc_err *e);
/* Remove the shared mounts of the files of pool_dev's filesystem (image
 * NULL), or of that one file (pool close, image removal; in the host's
 * namespace).  How many were mounted. */
int mnt_image_release(dev_t pool_dev, const struct stat *image);
/* A pool's spare /scratch filesystems are ISC_SPARES_DIR/DEV-INO-SIZE,
 * DEV-INO its templates/ directory's (two directory pools on one
 * filesystem have their own): the prefix "DEV-INO-", or -errno.  _release
 * unmounts them (pool close; the host's namespace); how many. */
int mnt_spares_name(const char *templates, char *prefix, size_t n);
int mnt_spares_release(const char *templates);
/* The host-wide mounts under ISC_RUN_DIR (images/, scratch/): dir made a
 * private mount of its own (as /run/netns is), so that nothing mounted
 * beneath propagates to another namespace.  0 or -errno. */
int mnt_run_dir(const char *dir);
/* Unmount (detached) and remove dir's entries named prefix... (only that
 * one, if only); how many were mounted. */
int mnt_run_release(const char *dir, const char *prefix, const char *only);
/* path is the root of a mount */
bool mnt_is_root(const char *path);
/* fn(arg, e) in the host's mount namespace hostns (-1: we are in it), then
 * back in ours; the caller has no other thread (setns refuses it then). */
int mnt_in_host(int hostns, int (*fn)(void *arg, struct isc_err *e), void *arg, struct isc_err *e);
/* e for a failed fsopen (fs < 0) or fsconfig(FSCONFIG_CMD_CREATE): the
 * context, code's text, and what the filesystem logged on fs, if anything. */
int mnt_fs_fail(int fs, int code, struct isc_err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A user namespace (its fd) whose uid and gid maps are "from to count": an
 * idmapped mount through it shows files stored under the ids from.. as
 * to..  Made by a short-lived child; the fd keeps it. */
int userns_idmap(uint32_t from, uint32_t to, uint32_t count);
/* A detached clone of the host directory path, idmapped so, with attrs
 * (MOUNT_ATTR_*): the mount's fd, or -errno and e. */
int mnt_idmapped(const char *path, uint32_t from, uint32_t to, uint32_t count, unsigned attrs,
		 struct isc_err *e);

/* ---- fd passing ---------------------------------------------------------- */
int fd_send(int sock, const void *data, size_t len, const int *fds, size_t nfds);
/* Receive a message and up to *nfds fds (set to the number received). */
ssize_t fd_recv(int sock, void *data, size_t len, int *fds, size_t *nfds);

/* ---- paths inside a tree (inroot.c) -------------------------------------
 * The one rule for a path inside an image, a layer or an ISC's root held
 * by rootfd: openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, so
 * "..", absolute paths and absolute symlinks stop at rootfd and no magic
 * link leads out; always O_CLOEXEC.  Leading '/' are dropped: "" and "/"
 * are rootfd itself.  rule adds, per caller:
 *   INROOT_NO_SYMLINKS  no symlink anywhere in path (ELOOP): a mount
 *                       target is the path named, not where a link the
 *                       ISC planted points (mounts are crossed: a stage
 *                       is made of them);
 *   INROOT_NO_XDEV      no mount crossed (EXDEV): a tree being built is
 *                       one filesystem; links inside it are followed.
 * O_NOFOLLOW is the caller's and acts on the last component only (with
 * O_PATH it opens a symlink itself).  O_CREAT is -EINVAL: create with
 * mkdirat/openat on the parent.  EAGAIN (a rename raced the ".." check)
 * is retried a few times, then returned; ENOSYS (no openat2, before
 * Linux 5.6) is returned as is: there is no fallback to a plain open. */
enum inroot_rule {
	INROOT_NO_SYMLINKS = 1 << 0,
	INROOT_NO_XDEV     = 1 << 1,
};
int inroot_open(int rootfd, const char *path, int flags, unsigned rule);

/* ---- paths --------------------------------------------------------------- */
/* Find a helper program (iscd, isc-init, isc-svc): $ISC_LIBEXEC, next to
 * the running binary, or the configured libexec directory. */
int isc_libexec_path(const char *name, char *buf, size_t size);

/* err_set with ": strerror(code)" appended: for failures of a system call. */
int err_sys(struct isc_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
