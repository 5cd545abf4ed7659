/* image-internal.h - shared by the image module's files only (store, build sources, manifest); iscadm and iscd. */
#pragma once

#include "image.h"

#include <sys/stat.h>

/* ---- tree helpers (tree.c): paths inside a tree being built are resolved
 * by inroot_open (common.h) with INROOT_NO_XDEV, so a symlink in a tar or
 * dir source can never send a write outside the tree. */
int tree_open(int rootfd, const char *path, int flags);
/* mkdir -p inside the tree; an existing non-directory is -ENOTDIR. */
int tree_mkdir_p(int rootfd, const char *path, mode_t mode);
/* Ensure a directory; set mode when it is created, or always with force. */
int tree_dir_ensure(int rootfd, const char *path, mode_t mode, bool force);
int tree_write_file(int rootfd, const char *path, const void *data, size_t len, mode_t mode);
int tree_symlink(int rootfd, const char *target, const char *path);

/* ---- walks (tree.c) --------------------------------------------------------
 * tree_walk reports every entry of a tree: "/" first, then depth first,
 * each directory before what it holds (callers that need an order sort).
 * Whatever the depth it holds two descriptors (dirwalk in common.h) and
 * no recursion; it follows no symlink and enters no other mount (EXDEV).
 * An entry deeper than max_depth levels is ENAMETOOLONG; tree_walk
 * allows TREE_WALK_MAX_DEPTH, which with one-byte names is a 64 KiB path. */
#define TREE_WALK_MAX_DEPTH 32768

/* One entry, valid during the call only. */
struct tree_entry {
	const char *path;       /* absolute within the tree: "/", "/etc", "/etc/motd" */
	size_t len;             /* strlen(path), not bounded by PATH_MAX */
	size_t depth;           /* components: 0 for "/", 2 for "/etc/motd" */
	int parentfd;           /* with name, locates the entry ("/": the root fd and ".") */
	const char *name;
	const struct stat *st;
};
/* A negative return ends the walk; the callback sets e itself. */
typedef int (*tree_walk_fn)(const struct tree_entry *ent, void *data);
int tree_walk_max(int rootfd, size_t max_depth, tree_walk_fn fn, void *data, struct isc_err *e);
int tree_walk(int rootfd, tree_walk_fn fn, void *data, struct isc_err *e);

/* A path of a tree fit for a message, whatever an ISC named or nested:
 * its first TREE_PATH_SHOW bytes, escaped (str_escape), then "... (N
 * levels)" when it is longer.  "" is "/".  Returns buf, or a literal. */
#define TREE_PATH_SHOW 64
#define TREE_PATH_SHOW_SIZE (4 * TREE_PATH_SHOW + 48)
const char *tree_path_show(const char *path, char buf[TREE_PATH_SHOW_SIZE]);
/* Newest mtime (seconds) of any entry of the tree. */
int tree_max_mtime(int rootfd, int64_t *out, struct isc_err *e);

/* ---- child processes (spawn.c) ------------------------------------------- */
typedef void (*cmd_line_fn)(const char *line, void *data);
/* Run argv with stdout+stderr merged into a pipe, calling fn per line (may be
 * NULL); the last non-empty line is kept in last.  extra_env entries
 * ("K=V") override the inherited environment.  Returns exit status, or -errno. */
int cmd_run_lines(char *const argv[], char *const extra_env[], cmd_line_fn fn, void *data,
		  char *last, size_t lastsize);

/* ---- store (store.c, verify.c) ------------------------------------------- */
bool image_digest_valid(const char *s);
int image_store_dirs(const struct pool *p, struct isc_err *e);
/* image_store_tree with an explicit SOURCE_DATE_EPOCH (< 0: the tree's newest
 * mtime); *created tells whether the blob is new (the caller may drop it). */
int image_store_tree_epoch(const struct pool *p, const char *tree, int64_t epoch,
			   char digest[IMAGE_DIGEST_LEN + 1], bool *created,
			   image_progress_fn progress, void *pdata, struct isc_err *e);
int image_tag_write(const struct pool *p, const struct image_info *info, struct isc_err *e);


/* ---- sources (build.c, busybox.c, tar.c, debootstrap.c) ------------------ */
int image_source_busybox(int treefd, int64_t *epoch, struct isc_err *e);
int image_source_dir(const char *tree, int treefd, const char *path, struct isc_err *e);
/* *epoch: the newest mtime an entry of the archive names (the extracted
 * tree's directories may carry the time of extraction instead). */
int image_source_tar(int treefd, const char *file, int64_t *epoch, struct isc_err *e);
int image_source_debootstrap(const char *tree, int treefd, const char *spec,
			     image_progress_fn progress, void *pdata, struct isc_err *e);
/* Mountpoints the sandbox needs and /usr/sbin/isc-svc, for every source. */
int image_tree_finish(int treefd, struct isc_err *e);
int image_install_isc_svc(int treefd, struct isc_err *e);

/* ---- manifest (manifest.c) ----------------------------------------------- */
/* The manifest's TYPE letter of a file mode. */
char manifest_type(mode_t mode);
int manifest_build_at(int rootfd, const char *tree, struct manifest *m, int64_t *max_mtime,
		      struct isc_err *e);
