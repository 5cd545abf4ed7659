/* store.c - the content-addressed image store: erofs blobs, manifests and name tags in the pool; iscadm. */
#include "image-internal.h"
#include "runstate.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/file.h>

int image_store_dirs(const struct pool *p, struct isc_err *e)
{
	static const char *const dirs[] = { "images", "images/tags", "tmp" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (mkdirat(p->dirfd, dirs[i], 0700) < 0 && errno != EEXIST)
			return err_set(e, errno, "%s/%s: %s", p->path, dirs[i], strerror(errno));
	return 0;
}

static void progress_say(image_progress_fn progress, void *pdata, const char *what)
{
	if (progress)
		progress(what, pdata);
}

/* ---- building a blob ------------------------------------------------------ */

/* A filesystem UUID derived from the content, so equal trees give equal images. */
static int uuid_from_text(const char *text, size_t len, int64_t epoch, const char *salt,
			  char out[37])
{
	char hex[IMAGE_DIGEST_LEN + 1];
	_cleanup_free_ char *buf = NULL;
	if (asprintf(&buf, "%" PRId64 "\n%s%.*s", epoch, salt ? salt : "", (int)len, text) < 0)
		return -ENOMEM;
	image_sha256_buf(buf, strlen(buf), hex);
	hex[12] = '8';  /* RFC 9562 version 8: vendor-specific */
	hex[16] = "89ab"[hex[16] % 4];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return 0;
}

static int mkfs_run(const char *out, const char *tree, const char *uuid, int64_t epoch,
		    struct isc_err *e)
{
	char uopt[64], env[64], last[512];
	snprintf(uopt, sizeof(uopt), "-U%s", uuid);
	/* SOURCE_DATE_EPOCH fixes the superblock time and clamps newer mtimes
	 * to it (-T would overwrite every mtime). */
	snprintf(env, sizeof(env), "SOURCE_DATE_EPOCH=%" PRId64, epoch);
	char *argv[] = { "mkfs.erofs", "--quiet", "-zlz4hc", uopt, (char *)out, (char *)tree, NULL };
	char *extra[] = { env, NULL };
	int r = cmd_run_lines(argv, extra, NULL, NULL, last, sizeof(last));
	if (r == -ENOENT)
		return err_set(e, ENOENT, "mkfs.erofs not found (install erofs-utils)");
	if (r < 0)
		return err_set(e, r, "mkfs.erofs: %s", strerror(-r));
	if (r > 0)
		return err_set(e, EIO, "mkfs.erofs %s: exit status %d%s%s", tree, r, *last ? ": " : "", last);
	return 0;
}

/* fsync and hash the staged blob. */
static int blob_seal(const struct pool *p, struct image_staged *st, image_progress_fn progress,
		     void *pdata, struct isc_err *e)
{
	_cleanup_close_ int fd = openat(p->dirfd, st->tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0 || fchmod(fd, 0444) < 0)
		return err_set(e, errno, "%s/%s: %s", p->path, st->tmp, strerror(errno));
	progress_say(progress, pdata, "hashing");
	int r = image_digest_fd(fd, p->flat_digest, st->digest);
	return r < 0 ? err_set(e, r, "%s/%s: read: %s", p->path, st->tmp, strerror(-r)) : 0;
}

static int manifest_text(const struct manifest *m, char **text, size_t *len)
{
	FILE *f = open_memstream(text, len);
	if (!f)
		return -ENOMEM;
	int r = manifest_write(m, f);
	if (fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(*text);
		*text = NULL;
	}
	return r;
}

bool image_staging_stale(int dirfd, const char *name)
{
	/* its maker holds a lock on it while it lives; a crash drops the lock */
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	return fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
}

int image_staging_lock(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int blob_build(const struct pool *p, const char *tree, int64_t epoch, const char *salt,
		      struct image_staged *st, image_progress_fn progress, void *pdata, struct isc_err *e)
{
	char tmp[PATH_MAX], uuid[37];
	if (snprintf(tmp, sizeof(tmp), "%s/images/.new-XXXXXX", p->path) >= (int)sizeof(tmp))
		return err_set(e, ENAMETOOLONG, "%s: path too long", p->path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno, "%s: %s", tmp, strerror(errno));
	close(fd);  /* mkfs.erofs reopens it by name */
	snprintf(st->tmp, sizeof(st->tmp), "%s", tmp + strlen(p->path) + 1);
	/* staged without the pool lock (a commit): held so no cleanup takes it */
	st->lockfd = image_staging_lock(p->dirfd, st->tmp);
	if (st->lockfd < 0)
		return err_set(e, -st->lockfd, "%s: lock: %s", tmp, strerror(-st->lockfd));
	int r = uuid_from_text(st->mtext, st->mlen, epoch, salt, uuid);
	if (r < 0)
		return err_set(e, ENOMEM, "out of memory");
	progress_say(progress, pdata, "mkfs.erofs");
	r = mkfs_run(tmp, tree, uuid, epoch, e);
	return r < 0 ? r : blob_seal(p, st, progress, pdata, e);
}

void image_staged_drop(const struct pool *p, struct image_staged *st)
{
	if (st->tmp[0])
		unlinkat(p->dirfd, st->tmp, 0);
	if (st->lockfd >= 0)
		close(st->lockfd);
	free(st->mtext);
	*st = (struct image_staged){ .lockfd = -1 };
}

int image_staged_publish(const struct pool *p, struct image_staged *st,
			 char digest[IMAGE_DIGEST_LEN + 1], bool *created, struct isc_err *e)
{
	char name[128], mname[128];
	snprintf(name, sizeof(name), "images/%s.erofs", st->digest);
	*created = renameat2(p->dirfd, st->tmp, p->dirfd, name, RENAME_NOREPLACE) == 0;
	if (!*created && errno != EEXIST)
		return err_set(e, errno, "%s/%s: %s", p->path, name, strerror(errno));
	if (!*created)
		unlinkat(p->dirfd, st->tmp, 0);  /* same content already stored: keep the old inode */
	st->tmp[0] = '\0';
	int r = fsync_dir_at(p->dirfd, "images");
	if (r < 0)
		return err_set(e, r, "%s/images: fsync: %s", p->path, strerror(-r));
	snprintf(mname, sizeof(mname), "images/%s.manifest", st->digest);
	r = write_file_atomic(p->dirfd, mname, st->mtext, st->mlen, 0444);
	if (r < 0) {
		if (*created)
			image_blob_drop_unused(p, st->digest, NULL, NULL);
		return err_set(e, r, "%s/%s: %s", p->path, mname, strerror(-r));
	}
	memcpy(digest, st->digest, IMAGE_DIGEST_LEN + 1);
	return 0;
}

static int stage_tree(const struct pool *p, const char *tree, int64_t epoch, const char *salt,
		      struct image_staged *st, image_progress_fn progress, void *pdata, struct isc_err *e)
{
	struct manifest m = { 0 };
	int64_t newest;
	*st = (struct image_staged){ .lockfd = -1 };
	int r = image_store_dirs(p, e);
	if (r < 0)
		return r;
	_cleanup_close_ int treefd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (treefd < 0)
		return err_set(e, errno, "%s: %s", tree, strerror(errno));
	progress_say(progress, pdata, "writing manifest");
	r = manifest_build_at(treefd, tree, &m, &newest, e);
	if (r < 0)
		return r;
	r = manifest_text(&m, &st->mtext, &st->mlen);
	manifest_free(&m);
	if (r < 0)
		return err_set(e, r, "manifest of %s: %s", tree, strerror(-r));
	r = blob_build(p, tree, epoch < 0 ? newest : epoch, salt, st, progress, pdata, e);
	if (r < 0)
		image_staged_drop(p, st);
	return r;
}

static int store_tree(const struct pool *p, const char *tree, int64_t epoch,
		      char digest[IMAGE_DIGEST_LEN + 1], bool *created,
		      image_progress_fn progress, void *pdata, struct isc_err *e)
{
	struct image_staged st;
	int r = stage_tree(p, tree, epoch, NULL, &st, progress, pdata, e);
	if (r == 0)
		r = image_staged_publish(p, &st, digest, created, e);
	image_staged_drop(p, &st);
	return r;
}

int image_store_tree_epoch(const struct pool *p, const char *tree, int64_t epoch,
			   char digest[IMAGE_DIGEST_LEN + 1], bool *created,
			   image_progress_fn progress, void *pdata, struct isc_err *e)
{
	return store_tree(p, tree, epoch, digest, created, progress, pdata, e);
}

int image_store_tree(const struct pool *p, const char *tree, char digest[IMAGE_DIGEST_LEN + 1],
		     image_progress_fn progress, void *pdata, struct isc_err *e)
{
	bool created;
	return store_tree(p, tree, -1, digest, &created, progress, pdata, e);
}

int image_stage_layer(const struct pool *p, const char *tree, const char *lower,
		      struct image_staged *st, struct isc_err *e)
{
	char salt[IMAGE_DIGEST_LEN + 8];
	/* the same change on another version is another layer */
	snprintf(salt, sizeof(salt), "lower %s\n", lower ? lower : "");
	return stage_tree(p, tree, -1, lower ? salt : NULL, st, NULL, NULL, e);
}

/* ---- tags ------------------------------------------------------------------ */

static int tag_field(struct image_info *out, const char *key, const char *val, bool *have_size)
{
	char *end = NULL;
	if (STREQ(key, "digest"))
		return str_copy(out->digest, sizeof(out->digest), val);
	if (STREQ(key, "source"))
		return str_copy(out->source, sizeof(out->source), val);
	errno = 0;
	if (STREQ(key, "created")) {
		out->created = strtoll(val, &end, 10);
	} else if (STREQ(key, "size")) {
		out->size = strtoull(val, &end, 10);
		*have_size = true;
	} else {
		return 0;  /* a key from a newer version */
	}
	return errno || end == val || *end || val[0] == '-' ? -EINVAL : 0;
}

static int tag_parse(const char *name, char *text, struct image_info *out)
{
	bool have_size = false;
	char *save = NULL;
	*out = (struct image_info){ .created = -1 };
	snprintf(out->name, sizeof(out->name), "%s", name);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			return -EINVAL;
		*eq = '\0';
		if (tag_field(out, line, eq + 1, &have_size) < 0)
			return -EINVAL;
	}
	return image_digest_valid(out->digest) && out->created >= 0 && have_size ? 0 : -EINVAL;
}

int image_tag_write(const struct pool *p, const struct image_info *info, struct isc_err *e)
{
	char path[128];
	_cleanup_free_ char *text = NULL;
	int n = asprintf(&text, "digest=%s\nsource=%s\ncreated=%" PRId64 "\nsize=%" PRIu64 "\n",
			 info->digest, info->source, info->created, info->size);
	if (n < 0)
		return err_set(e, ENOMEM, "out of memory");
	snprintf(path, sizeof(path), "images/tags/%s", info->name);
	int r = write_file_atomic(p->dirfd, path, text, (size_t)n, 0600);
	return r < 0 ? err_set(e, r, "image %s: %s/%s: %s", info->name, p->path, path, strerror(-r)) : 0;
}

int image_lookup(const struct pool *p, const char *name, struct image_info *out, struct isc_err *e)
{
	char path[128];
	_cleanup_free_ char *text = NULL;
	if (!name_valid(name))
		return err_set(e, EINVAL, "invalid image name '%.64s'", name);
	snprintf(path, sizeof(path), "images/tags/%s", name);
	int r = read_file_at(p->dirfd, path, &text, NULL, 4096);
	if (r == -ENOENT)
		return err_set(e, ENOENT, "image %s not found", name);
	if (r < 0)
		return err_set(e, r, "image %s: %s/%s: %s", name, p->path, path, strerror(-r));
	if (tag_parse(name, text, out) < 0)
		return err_set(e, EINVAL, "image %s: malformed tag %s/%s", name, p->path, path);
	return 0;
}

static int info_cmp(const void *a, const void *b)
{
	return strcmp(((const struct image_info *)a)->name, ((const struct image_info *)b)->name);
}

static int tags_dir_open(const struct pool *p, DIR **d, struct isc_err *e)
{
	int fd = openat(p->dirfd, "images/tags", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*d = NULL;
	if (fd < 0)
		return errno == ENOENT ? 0 : err_set(e, errno, "%s/images/tags: %s", p->path, strerror(errno));
	if (!(*d = fdopendir(fd))) {
		close(fd);
		return err_set(e, errno, "%s/images/tags: %s", p->path, strerror(errno));
	}
	return 0;
}

int image_list(const struct pool *p, struct image_info **out, size_t *n, struct isc_err *e)
{
	DIR *d;
	_cleanup_free_ struct image_info *v = NULL;
	size_t cnt = 0, cap = 0;
	int r = tags_dir_open(p, &d, e);
	struct dirent *de;
	while (r == 0 && d && (de = readdir(d))) {
		if (!name_valid(de->d_name))  /* ".", "..", write_file_atomic temp files */
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			struct image_info *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				r = err_set(e, ENOMEM, "out of memory");
				break;
			}
			v = nv;
		}
		r = image_lookup(p, de->d_name, &v[cnt], e);
		cnt += r == 0;
	}
	if (d)
		closedir(d);
	if (r < 0)
		return r;
	if (cnt)
		qsort(v, cnt, sizeof(*v), info_cmp);
	*out = TAKE_PTR(v);
	*n = cnt;
	return 0;
}

/* Does any tag other than except point at digest?  Unreadable tags count as
 * users: keeping a blob too long is harmless, deleting a used one is not. */
static int digest_in_use(const struct pool *p, const char *digest, const char *except,
			 bool *used, struct isc_err *e)
{
	DIR *d;
	int r = tags_dir_open(p, &d, e);
	struct dirent *de;
	*used = false;
	while (r == 0 && d && !*used && (de = readdir(d))) {
		struct image_info info;
		if (!name_valid(de->d_name) || (except && STREQ(de->d_name, except)))
			continue;
		*used = image_lookup(p, de->d_name, &info, NULL) < 0 || STREQ(info.digest, digest);
	}
	if (d)
		closedir(d);
	return r;
}

int image_blob_drop_unused(const struct pool *p, const char *digest, const char *except,
			   struct isc_err *e)
{
	static const char *const exts[] = { "erofs", "manifest" };
	bool used;
	int r = digest_in_use(p, digest, except, &used, e);
	if (r < 0 || used)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
		char name[128];
		struct stat st, pst;
		snprintf(name, sizeof(name), "images/%s.%s", digest, exts[i]);
		/* the host's shared mount of it would keep the file */
		if (i == 0 && fstatat(p->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && fstat(p->dirfd, &pst) == 0)
			mnt_image_release(pst.st_dev, &st);
		if (unlinkat(p->dirfd, name, 0) < 0 && errno != ENOENT)
			return err_set(e, errno, "%s/%s: %s", p->path, name, strerror(errno));
	}
	/* and its verification record: it names a file that is gone */
	char rec[128];
	snprintf(rec, sizeof(rec), ISC_RUN_DIR "/verified/%s", digest);
	unlink(rec);
	r = fsync_dir_at(p->dirfd, "images");
	return r < 0 ? err_set(e, r, "%s/images: fsync: %s", p->path, strerror(-r)) : 0;
}

int image_remove(const struct pool *p, const char *name, bool keep_blob, struct isc_err *e)
{
	struct image_info info;
	char path[128];
	int r = image_lookup(p, name, &info, e);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "images/tags/%s", name);
	if (unlinkat(p->dirfd, path, 0) < 0)
		return err_set(e, errno, "image %s: %s/%s: %s", name, p->path, path, strerror(errno));
	r = fsync_dir_at(p->dirfd, "images/tags");
	if (r < 0)
		return err_set(e, r, "image %s: fsync %s/images/tags: %s", name, p->path, strerror(-r));
	if (keep_blob)
		return 0;
	r = image_blob_drop_unused(p, info.digest, name, e);
	return r < 0 ? err_prefix(e, "image %s", name) : 0;
}

/* One entry of images/ for image_sweep: staging whose maker's lock is
 * gone (said, and removed when repairing), a blob's digest kept for later. */
static int sweep_entry(struct dirwalk *w, bool repair, image_sweep_fn say, void *data, char ***blobs,
		       int *found)
{
	char digest[IMAGE_DIGEST_LEN + 1];
	if (!fnmatch(".new-*", w->name, 0) || !fnmatch(".build-*", w->name, 0)) {
		if (image_staging_stale(dirwalk_fd(w), w->name)) {
			char what[128];
			(*found)++;
			snprintf(what, sizeof(what), "images/%.64s: staging of an interrupted build or commit", w->name);
			if (say)
				say(what, data);
			if (repair)
				rm_rf_at(dirwalk_fd(w), w->name);
		}
		return 0;
	}
	if (strlen(w->name) != IMAGE_DIGEST_LEN + 6 || !str_has_suffix(w->name, ".erofs") ||
	    strspn(w->name, "0123456789abcdef") != IMAGE_DIGEST_LEN)
		return 0;
	snprintf(digest, sizeof(digest), "%.*s", IMAGE_DIGEST_LEN, w->name);
	return strv_push(blobs, digest);
}

/* One level of the shared walker, nothing entered: blobs are dropped
 * after it, as dropping one changes the directory it reads.  A blob is
 * kept when any record or tag cannot be read. */
int image_sweep(const struct pool *p, bool repair, image_sweep_fn say, void *data)
{
	_cleanup_strv_ char **blobs = calloc(1, sizeof(char *));
	struct dirwalk w;
	int found = 0;
	if (!blobs)
		return -ENOMEM;
	int r = dirwalk_open(&w, p->dirfd, "images", false);
	while (r >= 0 && (r = dirwalk_next(&w)) > 0)
		if (r == DIRWALK_ENTRY)
			r = sweep_entry(&w, repair, say, data, &blobs, &found);
	dirwalk_close(&w);
	for (size_t i = 0; blobs[i]; i++) {
		struct isc_err ignore = { 0 };
		bool tagged;
		if (isc_digest_used(p, blobs[i], NULL) || digest_in_use(p, blobs[i], NULL, &tagged, &ignore) < 0 ||
		    tagged)
			continue;
		char what[160];
		found++;
		snprintf(what, sizeof(what), "images/%.12s: a layer no tag and no ISC names (stored, never recorded)",
			 blobs[i]);
		if (say)
			say(what, data);
		if (repair)
			image_blob_drop_unused(p, blobs[i], NULL, &ignore);
	}
	return r < 0 ? r : found;
}
