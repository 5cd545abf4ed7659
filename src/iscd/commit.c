/* commit.c - a maintenance session's changes made into a new image version, crash-safe; iscd. */
#include "commit.h"
#include "image.h"
#include "sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

static void layer_path(const char *name, const char *leaf, char *buf, size_t n)
{
	snprintf(buf, n, "isc/%s/data/layers/rootw%s%s", name, leaf ? "/" : "", leaf ? leaf : "");
}

int commit_state_write(const struct pool *p, const char *name, const char *state, const char *on,
		       struct isc_err *e)
{
	char dir[200], path[220], text[128];
	layer_path(name, NULL, dir, sizeof(dir));
	layer_path(name, "state", path, sizeof(path));
	if (mkdir_p_at(p->dirfd, dir, 0700) < 0)
		return err_sys(e, errno, "create %s/%s", p->path, dir);
	snprintf(text, sizeof(text), "%s\non=%s\n", state, on);
	int r = write_file_atomic(p->dirfd, path, text, strlen(text), 0600);
	return r < 0 ? err_sys(e, -r, "write %s/%s", p->path, path) : 0;
}

bool commit_pending(const struct pool *p, const char *name, char *state, size_t n)
{
	char dir[200], path[220];
	_cleanup_free_ char *text = NULL;
	struct stat st;
	layer_path(name, NULL, dir, sizeof(dir));
	layer_path(name, "state", path, sizeof(path));
	state[0] = '\0';
	if (fstatat(p->dirfd, dir, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	if (read_file_at(p->dirfd, path, &text, NULL, 256) == 0)
		snprintf(state, n, "%.*s", (int)strcspn(text, "\n"), text);
	return true;
}

int commit_discard(const struct pool *p, const char *name, struct isc_err *e)
{
	char dir[200];
	layer_path(name, NULL, dir, sizeof(dir));
	int r = rm_rf_at(p->dirfd, dir);
	return r < 0 && r != -ENOENT ? err_sys(e, -r, "remove %s/%s", p->path, dir) : 0;
}

/* Bytes the session wrote (regular files of the upper), and whether it
 * holds anything at all. */
static void upper_measure(int fd, uint64_t *bytes, bool *any)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (STREQ(de->d_name, ".") || STREQ(de->d_name, ".."))
			continue;
		*any = true;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode))
			*bytes += (uint64_t)st.st_size;
		else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				upper_measure(sub, bytes, any);
		}
	}
	closedir(d);
}

/* Has the config moved past the version the session ran on? */
static bool session_committed(const struct pool *p, const char *name, const struct isc_config *c)
{
	char path[220];
	_cleanup_free_ char *text = NULL;
	layer_path(name, "state", path, sizeof(path));
	if (read_file_at(p->dirfd, path, &text, NULL, 256) < 0)
		return false;
	const char *on = strstr(text, "\non=");
	return on && strncmp(on + 4, c->digest, 64) != 0;
}

/* Staging a crashed commit or build left in images/: only safe while we
 * hold the pool lock exclusively (no build of anyone else is running). */
static void stale_staging_remove(const struct pool *p)
{
	_cleanup_close_ int fd = openat(p->dirfd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d)
		return;
	fd = -1;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!fnmatch(".new-*", de->d_name, 0) || !fnmatch(".build-*", de->d_name, 0))
			rm_rf_at(dirfd(d), de->d_name);
	closedir(d);
}

int layers_open_verified(const struct pool *p, const struct isc_config *c, const char *digest,
			 int fds[ISC_MAX_LAYERS], size_t *n, struct isc_err *e)
{
	char layers[ISC_MAX_LAYERS][65];
	*n = 0;
	int k = config_layers(c, digest, layers, ISC_MAX_LAYERS);
	if (k < 0)
		return err_set(e, ELOOP, "version %.12s of ISC %s: more than %d layers", digest, c->name,
			       ISC_MAX_LAYERS);
	for (int i = 0; i < k; i++) {
		int r = image_open_verified(p, layers[i], ISC_RUN_DIR "/verified", &fds[*n], e);
		if (r < 0) {
			layers_close(fds, n);
			return r;
		}
		(*n)++;
	}
	return 0;
}

void layers_close(int fds[ISC_MAX_LAYERS], size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		close(fds[i]);
	*n = 0;
}

/* Blobs that no tag and no ISC (current image or any version) names: what
 * a crash between storing a blob and recording it left.  Only while we
 * hold the pool lock exclusively (no build, create or commit of anyone
 * else is half-way); a blob is kept when any record cannot be read. */
static void unreferenced_blobs_remove(const struct pool *p)
{
	_cleanup_strv_ char **blobs = calloc(1, sizeof(char *));
	_cleanup_close_ int fd = openat(p->dirfd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 && blobs ? fdopendir(fd) : NULL;
	if (!d)
		return;
	fd = -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		char digest[IMAGE_DIGEST_LEN + 1];
		if (strlen(de->d_name) != IMAGE_DIGEST_LEN + 6 || !str_has_suffix(de->d_name, ".erofs"))
			continue;
		snprintf(digest, sizeof(digest), "%.*s", IMAGE_DIGEST_LEN, de->d_name);
		if (strspn(digest, "0123456789abcdef") == IMAGE_DIGEST_LEN && strv_push(&blobs, digest) < 0)
			break;
	}
	closedir(d);
	for (size_t i = 0; blobs[i]; i++) {
		struct isc_err ignore = { 0 };
		if (!isc_digest_used(p, blobs[i], NULL))
			image_blob_drop_unused(p, blobs[i], NULL, &ignore);   /* kept if a tag names it */
	}
}

/* The deltas of a stack (the layers above its base, and the session's
 * change, counted at its full size) are small next to the base:
 * squashing them costs less than writing the whole tree. */
static bool deltas_small(const int *img, size_t nimg, uint64_t change)
{
	struct stat st;
	uint64_t deltas = change;
	for (size_t i = 0; i + 1 < nimg; i++)
		if (fstat(img[i], &st) == 0)
			deltas += (uint64_t)st.st_size;
	return fstat(img[nimg - 1], &st) == 0 && deltas <= (uint64_t)st.st_size / 2;
}

/* The session's upper and every delta of the stack made into one layer on
 * the stack's base (img[nimg - 1]): mounted views in rundir, the new tree
 * staged in images/ (encrypted, and cleaned up after a crash like a
 * build's staging). */
static int store_squashed(const struct pool *p, const char *rundir, const int *img, size_t nimg,
			  const char *upper, uint32_t uid, const char *base_digest,
			  char digest[IMAGE_DIGEST_LEN + 1], bool *created, struct isc_err *e)
{
	char merged[200], up[200], base[200], lay[ISC_MAX_LAYERS][200], stage[PATH_MAX];
	const char *deltas[ISC_MAX_LAYERS + 1];
	size_t nd = 0, nl = 0;
	snprintf(merged, sizeof(merged), "%s/commit", rundir);
	snprintf(up, sizeof(up), "%s/commit-up", rundir);
	snprintf(base, sizeof(base), "%s/commit-base", rundir);
	umount2(merged, MNT_DETACH);
	umount2(up, MNT_DETACH);
	umount2(base, MNT_DETACH);
	snprintf(stage, sizeof(stage), "%s/images/.build-squash-XXXXXX", p->path);
	if (!mkdtemp(stage))
		return err_sys(e, errno, "commit: staging in %s/images", p->path);
	int r = sandbox_commit_view(img, nimg, upper, uid, merged, e);
	if (r == 0 && (r = sandbox_commit_view(NULL, 0, upper, uid, up, e)) == 0)
		deltas[nd++] = up;
	for (size_t i = 0; r == 0 && i + 1 < nimg; i++) {
		snprintf(lay[i], sizeof(lay[i]), "%s/commit-l%zu", rundir, i);
		umount2(lay[i], MNT_DETACH);
		if ((r = sandbox_layer_mount(img[i], lay[i], e)) == 0) {
			deltas[nd++] = lay[i];
			nl++;
		}
	}
	if (r == 0)
		r = sandbox_layer_mount(img[nimg - 1], base, e);
	if (r == 0)
		r = image_squash(merged, base, deltas, nd, stage, e);
	if (r == 0)
		r = image_store_layer(p, stage, base_digest, digest, created, e);
	umount2(merged, MNT_DETACH);
	umount2(up, MNT_DETACH);
	umount2(base, MNT_DETACH);
	for (size_t i = 0; i < nl; i++)
		umount2(lay[i], MNT_DETACH);
	rm_rf_at(p->dirfd, stage + strlen(p->path) + 1);
	return r;
}

static int commit_locked(struct pool *p, const char *name, const char *how, const char *rundir,
			 bool *made, struct isc_err *e)
{
	char upper[PATH_MAX], rel[220], mnt[200], digest[IMAGE_DIGEST_LEN + 1];
	struct isc_config c;
	uint64_t change = 0;
	bool any = false;
	*made = false;
	layer_path(name, "upper", rel, sizeof(rel));
	snprintf(upper, sizeof(upper), "%s/%s", p->path, rel);
	int ufd = openat(p->dirfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ufd >= 0)
		upper_measure(ufd, &change, &any);
	if (!any)
		return commit_discard(p, name, e);   /* nothing changed: no new version */
	stale_staging_remove(p);
	unreferenced_blobs_remove(p);
	int r = isc_config_load(p, name, &c, e);
	if (r < 0)
		return r;
	if (session_committed(p, name, &c)) {   /* a crash after the commit point */
		config_free(&c);
		return commit_discard(p, name, e);
	}
	int img[ISC_MAX_LAYERS];
	size_t nimg = 0;
	bool created = false;
	if ((r = layers_open_verified(p, &c, c.digest, img, &nimg, e)) < 0)
		goto out;
	/* A delta on the version the session ran on, while the stack is not
	 * too deep.  Then, while its deltas are small next to its base, all
	 * of them and the session squashed into one delta on the base; else
	 * the whole merged tree again. */
	char layers[ISC_MAX_LAYERS][65];
	bool delta = nimg < ISC_MAX_LAYERS, squash = false;
	if (!delta && config_layers(&c, c.digest, layers, ISC_MAX_LAYERS) == (int)nimg)
		squash = deltas_small(img, nimg, change);
	const char *lower = delta ? c.digest : squash ? layers[nimg - 1] : NULL;
	if (squash && store_squashed(p, rundir, img, nimg, upper, c.uid, lower, digest, &created, e) < 0) {
		/* whatever stopped the squash, the whole tree still commits */
		err_clear(e);
		squash = false;
		lower = NULL;
	}
	if (squash) {
		r = 0;
	} else {
		snprintf(mnt, sizeof(mnt), "%s/commit", rundir);
		umount2(mnt, MNT_DETACH);
		if ((r = sandbox_commit_view(img, delta ? 0 : nimg, upper, c.uid, mnt, e)) < 0)
			goto out;
		r = image_store_layer(p, mnt, lower, digest, &created, e);
		umount2(mnt, MNT_DETACH);
	}
	if (r < 0)
		goto out;
	if (!STREQ(digest, c.digest)) {
		/* a config from before versions: its image was the first */
		if (c.nversions == 0)
			config_version_add(&c, c.digest, c.created, "build", 0, NULL);
		/* the commit point: one atomic rename of the config */
		if ((r = config_version_add(&c, digest, time(NULL), how, change, lower)) < 0) {
			r = r == -ENOSPC ? err_set(e, ENOSPC, "ISC %s has %d image versions: prune some "
						   "(iscadm history %s --prune KEEP)", name, ISC_MAX_VERSIONS, name)
					 : err_set(e, -r, "version %.12s: bad lower", digest);
			goto out;
		}
		memcpy(c.digest, digest, sizeof(c.digest));
		if ((r = isc_config_save(p, &c, e)) < 0)
			goto out;
		*made = true;
	}
	r = commit_discard(p, name, e);
	created = false;   /* recorded: the blob is the ISC's now */
out:
	/* a blob of this commit that no config records goes again (a kill
	 * right here leaves it: content-addressed, it is found again by the
	 * same commit) */
	if (r < 0 && created && !*made)
		image_blob_drop_unused(p, digest, NULL, NULL);
	layers_close(img, &nimg);
	config_free(&c);
	return r < 0 ? err_prefix(e, "commit of ISC %s", name) : 0;
}

int commit_session(struct pool *p, const char *name, const char *how, const char *rundir,
		   bool *made, struct isc_err *e)
{
	/* no build, destroy or other commit meanwhile */
	if (flock(p->lockfd, LOCK_EX) < 0)
		return err_sys(e, errno, "lock the pool");
	int r = commit_locked(p, name, how, rundir, made, e);
	flock(p->lockfd, LOCK_UN);
	return r;
}
