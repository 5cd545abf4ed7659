/* build.c - image_build: stage a tree from a source, finish it for the sandbox, store and tag it; iscadm. */
#include "image-internal.h"

#include <fcntl.h>

#define SOURCES_HELP "busybox, dir:PATH, tar:FILE, debootstrap:SUITE[:pkgs]"

/* ---- finishing: what every image needs, whatever its source ---------------- */

int image_install_isc_svc(int treefd, struct isc_err *e)
{
	char src[PATH_MAX];
	struct stat st;
	if (isc_libexec_path("isc-svc", src, sizeof(src)) < 0)
		return err_set(e, ENOENT, "isc-svc helper not found (build isc, or set ISC_LIBEXEC)");
	_cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0)
		return err_set(e, errno, "%s: %s", src, strerror(errno));
	_cleanup_close_ int dfd = tree_open(treefd, "usr/sbin", O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return err_set(e, dfd, "image tree /usr/sbin: %s", strerror(-dfd));
	/* Replace, never write through: the source tree may hold a symlink here. */
	if (unlinkat(dfd, "isc-svc", 0) < 0 && errno != ENOENT)
		return err_set(e, errno, "image tree /usr/sbin/isc-svc: %s", strerror(errno));
	_cleanup_close_ int out = openat(dfd, "isc-svc", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	int r = out < 0 ? -errno : copy_fd(in, out);
	if (r == 0 && (fchmod(out, 0755) < 0 || (geteuid() == 0 && fchown(out, 0, 0) < 0)))
		r = -errno;
	/* Keep the helper's own mtime so rebuilding the same tree is reproducible. */
	if (r == 0 && futimens(out, (struct timespec[2]){ st.st_atim, st.st_mtim }) < 0)
		r = -errno;
	return r < 0 ? err_set(e, r, "image tree /usr/sbin/isc-svc: %s", strerror(-r)) : 0;
}

int image_tree_finish(int treefd, struct isc_err *e)
{
	/* Mountpoints the sandbox needs: an image is read-only, so they must
	 * be in it.  The two tmp dirs are world-writable scratch when mounted
	 * over, so their mode is forced. */
	static const struct { const char *path; mode_t mode; bool force; } dirs[] = {
		{ "proc", 0555, false }, { "sys", 0555, false }, { "dev", 0755, false },
		{ "tmp", 01777, true }, { "run", 0755, false }, { "var/tmp", 01777, true },
		{ "scratch", 0755, false }, { "etc/isc/services", 0755, false },
		{ "usr/sbin", 0755, false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int r = tree_dir_ensure(treefd, dirs[i].path, dirs[i].mode, dirs[i].force);
		if (r < 0)
			return err_set(e, r, "image tree /%s: %s", dirs[i].path,
				       r == -ENOTDIR ? "exists and is not a directory" : strerror(-r));
	}
	return image_install_isc_svc(treefd, e);
}

/* ---- dir:PATH ---------------------------------------------------------------- */

struct dev_scan {
	const char *src;
	struct isc_err *e;
};

static int dev_scan_fn(const struct tree_entry *ent, void *data)
{
	struct dev_scan *s = data;
	char shown[TREE_PATH_SHOW_SIZE];
	if (S_ISBLK(ent->st->st_mode) || S_ISCHR(ent->st->st_mode))
		return err_set(s->e, EPERM, "dir %s: %s is a device node (devices are refused)", s->src,
			       tree_path_show(ent->path, shown));
	return 0;
}

int image_source_dir(const char *tree, int treefd, const char *path, struct isc_err *e)
{
	struct stat st;
	char from[PATH_MAX], to[PATH_MAX], out[1024];
	if (stat(path, &st) < 0)
		return err_set(e, errno, "dir %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(e, ENOTDIR, "dir %s: not a directory", path);
	if (snprintf(from, sizeof(from), "%s/.", path) >= (int)sizeof(from) ||
	    snprintf(to, sizeof(to), "%s/", tree) >= (int)sizeof(to))
		return err_set(e, ENAMETOOLONG, "dir %s: path too long", path);
	char *argv[] = { "cp", "-a", "--reflink=auto", "--", from, to, NULL };
	int r = run_cmd(argv, true, out, sizeof(out));
	if (r != 0) {
		out[strcspn(out, "\n")] = '\0';
		return err_set(e, r < 0 ? r : EIO, "dir %s: copy failed: %s", path,
			       r < 0 ? strerror(-r) : out);
	}
	/* Checked on our copy, not the source, so the source cannot change
	 * between the check and the copy. */
	struct dev_scan s = { .src = path, .e = e };
	return tree_walk(treefd, dev_scan_fn, &s, e);
}

/* ---- image_build -------------------------------------------------------------- */

static int source_check(const char *source, struct isc_err *e)
{
	static const char *const prefixes[] = { "dir:", "tar:", "debootstrap:" };
	if (strlen(source) >= sizeof(((struct image_info *)0)->source))
		return err_set(e, EINVAL, "image source too long");
	for (const unsigned char *c = (const unsigned char *)source; *c; c++)
		if (*c < 0x20 || *c == 0x7f)  /* the tag file is line-based */
			return err_set(e, EINVAL, "image source contains control characters");
	if (STREQ(source, "busybox"))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (str_has_prefix(source, prefixes[i]) && source[strlen(prefixes[i])])
			return 0;
	return err_set(e, EINVAL, "unknown image source '%s' (" SOURCES_HELP ")", source);
}

static int source_populate(const char *tree, int treefd, const char *source, int64_t *epoch,
			   image_progress_fn progress, void *pdata, struct isc_err *e)
{
	if (STREQ(source, "busybox"))
		return image_source_busybox(treefd, epoch, e);
	if (str_has_prefix(source, "dir:"))
		return image_source_dir(tree, treefd, source + 4, e);
	if (str_has_prefix(source, "tar:"))
		return image_source_tar(treefd, source + 4, epoch, e);
	if (str_has_prefix(source, "debootstrap:"))
		return image_source_debootstrap(tree, treefd, source + 12, progress, pdata, e);
	return err_set(e, EINVAL, "unknown image source '%s' (" SOURCES_HELP ")", source);
}

/* Populate, finish and store stage/root; then tag it. */
static int build_staged(const struct pool *p, const char *stage, const char *name,
			const char *source, image_progress_fn progress, void *pdata, struct isc_err *e)
{
	struct image_info info = { .created = time(NULL) };
	char tree[PATH_MAX], blob[128];
	int64_t epoch = -1;
	bool created = false;
	struct stat st;
	if (snprintf(tree, sizeof(tree), "%s/root", stage) >= (int)sizeof(tree))
		return err_set(e, ENAMETOOLONG, "%s: path too long", stage);
	if (mkdir(tree, 0755) < 0 || chmod(tree, 0755) < 0)
		return err_set(e, errno, "%s: %s", tree, strerror(errno));
	_cleanup_close_ int treefd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (treefd < 0)
		return err_set(e, errno, "%s: %s", tree, strerror(errno));
	if (progress)
		progress("populating", pdata);
	int r = source_populate(tree, treefd, source, &epoch, progress, pdata, e);
	/* The source's own newest mtime, taken before finishing touches the
	 * tree: mkfs.erofs clamps to it, so equal sources give equal images. */
	if (r == 0 && epoch < 0)
		r = tree_max_mtime(treefd, &epoch, e);
	if (r == 0)
		r = image_tree_finish(treefd, e);
	if (r == 0)
		r = image_store_tree_epoch(p, tree, epoch, info.digest, &created, progress, pdata, e);
	if (r < 0)
		return r;
	snprintf(blob, sizeof(blob), "images/%s.erofs", info.digest);
	snprintf(info.name, sizeof(info.name), "%s", name);
	snprintf(info.source, sizeof(info.source), "%s", source);
	if (fstatat(p->dirfd, blob, &st, 0) < 0) {
		r = err_set(e, errno, "%s/%s: %s", p->path, blob, strerror(errno));
	} else {
		info.size = (uint64_t)st.st_size;
		r = image_tag_write(p, &info, e);
	}
	if (r < 0 && created)
		image_blob_drop_unused(p, info.digest, NULL, NULL);
	return r;
}

int image_build(const struct pool *p, const char *name, const char *source,
		image_progress_fn progress, void *pdata, struct isc_err *e)
{
	char stage[PATH_MAX], tag[128];
	if (!name_valid(name))
		return err_set(e, EINVAL, "invalid image name '%.64s' (letters, digits, '_', '.', '-'; "
			       "at most 63, starting with a letter or digit)", name);
	int r = source_check(source, e);
	if (r < 0)
		return r;
	/* Fail before a long populate, not after it. */
	if (isc_libexec_path("isc-svc", stage, sizeof(stage)) < 0)
		return err_set(e, ENOENT, "isc-svc helper not found (build isc, or set ISC_LIBEXEC)");
	snprintf(tag, sizeof(tag), "images/tags/%s", name);
	if (faccessat(p->dirfd, tag, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set(e, EEXIST, "image %s already exists", name);
	if ((r = image_store_dirs(p, e)) < 0)
		return r;
	if (snprintf(stage, sizeof(stage), "%s/images/.build-XXXXXX", p->path) >= (int)sizeof(stage))
		return err_set(e, ENAMETOOLONG, "%s: path too long", p->path);
	if (!mkdtemp(stage))
		return err_set(e, errno, "%s: %s", stage, strerror(errno));
	_cleanup_close_ int lock = image_staging_lock(p->dirfd, stage + strlen(p->path) + 1);
	(void)lock;   /* held until we return: a sweep leaves the stage alone */
	r = build_staged(p, stage, name, source, progress, pdata, e);
	rm_rf_at(p->dirfd, stage + strlen(p->path) + 1);
	return r;
}
