/* image-internal.h - shared by the image module's files only (store, build sources, manifest); iscadm and iscd. */
#pragma once

#include "image.h"

#include <sys/stat.h>

/* ---- tree helpers (tree.c): paths inside a tree being built are resolved
 * with RESOLVE_IN_ROOT so a symlink in a tar or dir source can never send a
 * write outside the tree. */
int tree_open(int rootfd, const char *path, int flags);
/* mkdir -p inside the tree; an existing non-directory is -ENOTDIR. */
int tree_mkdir_p(int rootfd, const char *path, mode_t mode);
/* Ensure a directory; set mode when it is created, or always with force. */
int tree_dir_ensure(int rootfd, const char *path, mode_t mode, bool force);
int tree_write_file(int rootfd, const char *path, const void *data, size_t len, mode_t mode);
int tree_symlink(int rootfd, const char *target, const char *path);

/* Called for every entry, "/" first, then breadth-first; path is absolute
 * within the tree, parentfd/name locate the entry (name "." for the root). */
typedef int (*tree_walk_fn)(const char *path, int parentfd, const char *name,
			    const struct stat *st, void *data);
int tree_walk(int rootfd, tree_walk_fn fn, void *data, struct isc_err *e);
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
void image_sha256_buf(const void *buf, size_t len, char out[IMAGE_DIGEST_LEN + 1]);
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
int image_source_tar(int treefd, const char *file, struct isc_err *e);
int image_source_debootstrap(const char *tree, int treefd, const char *spec,
			     image_progress_fn progress, void *pdata, struct isc_err *e);
/* Mountpoints the sandbox needs and /usr/sbin/isc-svc, for every source. */
int image_tree_finish(int treefd, struct isc_err *e);
int image_install_isc_svc(int treefd, struct isc_err *e);

/* ---- manifest (manifest.c) ----------------------------------------------- */
int manifest_build_at(int rootfd, const char *tree, struct manifest *m, int64_t *max_mtime,
		      struct isc_err *e);
