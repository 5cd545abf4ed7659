/* commit.c - a maintenance session's changes made into a new image version, crash-safe; iscd. */
#include "commit.h"
#include "image.h"
#include "runstate.h"
#include "sandbox.h"

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
	/* what it requires of its versions' signatures, over the fds verified */
	int r = image_version_signed(p, c, layers, fds, *n, e);
	if (r < 0)
		layers_close(fds, n);
	return r;
}

void layers_close(int fds[ISC_MAX_LAYERS], size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		close(fds[i]);
	*n = 0;
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
static int stage_squashed(const struct pool *p, const char *rundir, const int *img, size_t nimg,
			  const char *upper, uint32_t uid, const char *base_digest,
			  struct image_staged *st, struct isc_err *e)
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
	_cleanup_close_ int lock = image_staging_lock(p->dirfd, stage + strlen(p->path) + 1);
	(void)lock;   /* held until we return: a sweep leaves the stage alone */
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
		r = image_stage_layer(p, stage, base_digest, st, e);
	umount2(merged, MNT_DETACH);
	umount2(up, MNT_DETACH);
	umount2(base, MNT_DETACH);
	for (size_t i = 0; i < nl; i++)
		umount2(lay[i], MNT_DETACH);
	rm_rf_at(p->dirfd, stage + strlen(p->path) + 1);
	return r;
}

/* What a session left that can never become an image: refused with one
 * bounded line (EFBIG, ENAMETOOLONG, EPERM), so the caller drops the
 * session instead of retrying it at every boot. */
static int upper_check(const struct commit_req *rq, const struct image_tree_stats *st,
		       struct isc_err *e)
{
	char have[32], most[32];
	/* a path the builder can still open below the view's mount point */
	size_t room = PATH_MAX - 1 - strlen(rq->rundir) - sizeof("/commit/");
	format_size(st->bytes, have, sizeof(have));
	format_size(rq->limit, most, sizeof(most));
	if (st->bytes > rq->limit)
		return err_set(e, EFBIG, "the session wrote %s (sparse files counted at their full "
			       "size), more than session-size %s", have, most);
	if (st->longest > room)
		return err_set(e, ENAMETOOLONG, "the session made a path of %zu bytes (%zu levels "
			       "deep); mkfs.erofs stores paths up to %zu", st->longest, st->depth, room);
	if (st->devices)
		return err_set(e, EPERM, "the session made a device node");
	return 0;
}

bool commit_rejected(const struct isc_err *e)
{
	return e->code == EFBIG || e->code == ENAMETOOLONG || e->code == EPERM;
}

/* Phase one, without the pool lock (its length is the session's): the
 * new layer built and hashed in images/ staging.  *nothing: the session
 * changed nothing, or was committed before a crash. */
static int commit_stage(struct pool *p, struct commit_req *rq, struct isc_config *c,
			struct image_staged *st, char lower[IMAGE_DIGEST_LEN + 1], bool *nothing,
			struct isc_err *e)
{
	struct image_tree_stats ts = { 0 };
	unsigned stripped = 0;
	*nothing = false;
	lower[0] = '\0';
	_cleanup_close_ int ufd = open(rq->upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ufd < 0 && errno != ENOENT)
		return err_sys(e, errno, "open %s", rq->upper);
	int r = ufd < 0 ? 0 : image_tree_measure(ufd, &ts, e);
	if (r < 0)
		return r;
	if (ts.entries == 0) {   /* nothing below the upper's root: nothing changed */
		*nothing = true;
		return 0;
	}
	if ((r = upper_check(rq, &ts, e)) < 0)
		return r;
	rq->change = ts.bytes;
	/* the ISC is gone now: nothing inside races this */
	if ((r = image_tree_strip_privileges(ufd, &stripped, e)) < 0)
		return r;
	if ((r = isc_config_load(p, rq->name, c, e)) < 0)
		return r;
	if (session_committed(p, rq->name, c)) {   /* a crash after the commit point */
		*nothing = true;
		return 0;
	}
	int img[ISC_MAX_LAYERS];
	size_t nimg = 0;
	char mnt[200], layers[ISC_MAX_LAYERS][65];
	if ((r = layers_open_verified(p, c, c->digest, img, &nimg, e)) < 0)
		return r;
	/* A delta on the version the session ran on, while the stack is not
	 * too deep.  Then, while its deltas are small next to its base, all
	 * of them and the session squashed into one delta on the base; else
	 * the whole merged tree again. */
	bool delta = nimg < ISC_MAX_LAYERS, squash = false;
	if (!delta && config_layers(c, c->digest, layers, ISC_MAX_LAYERS) == (int)nimg)
		squash = deltas_small(img, nimg, ts.bytes);
	if (delta)
		snprintf(lower, IMAGE_DIGEST_LEN + 1, "%s", c->digest);
	else if (squash)
		snprintf(lower, IMAGE_DIGEST_LEN + 1, "%s", layers[nimg - 1]);
	if (squash && stage_squashed(p, rq->rundir, img, nimg, rq->upper, c->uid, lower, st, e) < 0) {
		/* whatever stopped the squash, the whole tree still commits */
		err_clear(e);
		squash = false;
		lower[0] = '\0';
	}
	if (!squash) {
		snprintf(mnt, sizeof(mnt), "%s/commit", rq->rundir);
		umount2(mnt, MNT_DETACH);
		r = sandbox_commit_view(img, delta ? 0 : nimg, rq->upper, c->uid, mnt, e);
		if (r == 0)
			r = image_stage_layer(p, mnt, lower[0] ? lower : NULL, st, e);
		umount2(mnt, MNT_DETACH);
	}
	layers_close(img, &nimg);
	return r;
}

/* Phase two, under the pool lock and short: the staged blob into the
 * store and the new version into the config, one atomic rename. */
static int commit_publish(struct pool *p, const struct commit_req *rq, const struct isc_config *ran,
			  struct image_staged *st, const char *lower, bool *made, struct isc_err *e)
{
	char digest[IMAGE_DIGEST_LEN + 1];
	struct isc_config c;
	bool created = false;
	int r = isc_config_load(p, rq->name, &c, e);
	if (r < 0)
		return r;
	if (!STREQ(c.digest, ran->digest)) {
		r = err_set(e, ESTALE, "ISC %s moved to version %.12s while the session ran on %.12s",
			    rq->name, c.digest, ran->digest);
		goto out;
	}
	image_sweep(p, true, NULL, NULL);
	if ((r = image_staged_publish(p, st, digest, &created, e)) < 0)
		goto out;
	if (!STREQ(digest, c.digest)) {
		/* a config from before versions: its image was the first */
		if (c.nversions == 0)
			config_version_add(&c, c.digest, c.created, "build", 0, NULL);
		if ((r = config_version_add(&c, digest, time(NULL), rq->how, rq->change,
					    lower[0] ? lower : NULL)) < 0) {
			r = r == -ENOSPC ? err_set(e, ENOSPC, "ISC %s has %d image versions: prune some "
						   "(iscadm history %s --prune KEEP)", rq->name, ISC_MAX_VERSIONS,
						   rq->name)
					 : err_set(e, -r, "version %.12s: bad lower", digest);
			goto out;
		}
		memcpy(c.digest, digest, sizeof(c.digest));
		/* signed before it is recorded: an ISC that requires signatures
		 * never has an unsigned version */
		if ((r = image_sign_commit(p, &c, digest, e)) < 0)
			goto out;
		/* the commit point */
		if ((r = isc_config_save(p, &c, e)) < 0)
			goto out;
		*made = true;
	}
	r = commit_discard(p, rq->name, e);
	created = false;   /* recorded: the blob is the ISC's now */
out:
	/* a blob of this commit that no config records goes again */
	if (r < 0 && created && !*made)
		image_blob_drop_unused(p, digest, NULL, NULL);
	config_free(&c);
	return r;
}

int commit_session(struct pool *p, const struct commit_req *rq, bool *made, struct isc_err *e)
{
	struct isc_config c = { 0 };
	struct image_staged st = { .lockfd = -1 };
	char lower[IMAGE_DIGEST_LEN + 1];
	bool nothing;
	struct commit_req q = *rq;
	*made = false;
	int r = commit_stage(p, &q, &c, &st, lower, &nothing, e);
	if (r == 0 && nothing) {
		r = commit_discard(p, rq->name, e);
	} else if (r == 0) {
		/* no build, destroy or other commit while the store and the
		 * config change */
		if (flock(p->lockfd, LOCK_EX) < 0) {
			r = err_sys(e, errno, "lock the pool");
		} else {
			r = commit_publish(p, &q, &c, &st, lower, made, e);
			flock(p->lockfd, LOCK_UN);
		}
	}
	image_staged_drop(p, &st);
	config_free(&c);
	return r < 0 ? err_prefix(e, "commit of ISC %s", rq->name) : 0;
}
