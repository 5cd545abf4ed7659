/* version.c - an ISC's image versions: find one, revert to one, prune the
 * old.  The isc library (iscadm history|revert; the dock's rollback). */
#include "isc.h"
#include "image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

void isc_versions(struct isc_config *c)
{
	if (c->nversions == 0)
		config_version_add(c, c->digest, c->created, "build", 0, NULL);
}

int isc_version_find(const struct isc_config *c, const char *want, size_t *idx, struct isc_err *e)
{
	size_t n = strlen(want), found = SIZE_MAX;
	if (n < 6 || n > 64 || strspn(want, "0123456789abcdef") != n)
		return err_set(e, EINVAL, "version '%s': give a digest or at least 6 of its first hex digits", want);
	for (size_t i = 0; i < c->nversions; i++)
		if (strncmp(c->versions[i].digest, want, n) == 0) {
			if (found != SIZE_MAX && !STREQ(c->versions[found].digest, c->versions[i].digest))
				return err_set(e, EINVAL, "version '%s' is ambiguous", want);
			found = i;
		}
	if (found == SIZE_MAX)
		return err_set(e, ENOENT, "ISC %s has no version %s (see iscadm history %s)", c->name, want, c->name);
	*idx = found;
	return 0;
}

/* Which version of c a revert to want (NULL: the one before the current) means. */
static int revert_target(const struct isc_config *c, const char *want, size_t *idx, struct isc_err *e)
{
	size_t cur = SIZE_MAX;
	for (size_t i = 0; i < c->nversions; i++)
		if (STREQ(c->versions[i].digest, c->digest))
			cur = i;
	if (want)
		return isc_version_find(c, want, idx, e);
	if (cur == SIZE_MAX || cur == 0)
		return err_set(e, ENOENT, "ISC %s has no version before the current one", c->name);
	*idx = cur - 1;
	return 0;
}

/* Every layer of version idx verified in full. */
static int version_verify(struct pool *p, const struct isc_config *c, size_t idx, struct isc_err *e)
{
	char layers[ISC_MAX_LAYERS][65];
	const char *d = c->versions[idx].digest;
	int nl = config_layers(c, d, layers, ISC_MAX_LAYERS);
	if (nl < 0)
		return err_set(e, ELOOP, "ISC %s: version %.12s has more than %d layers", c->name, d,
			       ISC_MAX_LAYERS);
	for (int l = 0; l < nl; l++)
		if (image_verify(p, layers[l], e) < 0)
			return err_prefix(e, "ISC %s: version %.12s", c->name, d);
	/* an ISC that requires signatures goes back only to a signed version */
	return image_version_signed(p, c, layers, NULL, (size_t)nl, e);
}

/* What revert and update share: halted, no session waiting for its commit. */
static int version_change_ok(struct pool *p, const char *name, struct isc_err *e)
{
	struct stat st;
	char layer[200];
	snprintf(layer, sizeof(layer), "isc/%s/data/layers/rootw", name);
	if (isc_running(name))
		return err_set(e, EBUSY, "ISC %s is running: halt it first", name);
	if (fstatat(p->dirfd, layer, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set(e, EBUSY, "ISC %s has a maintenance session not yet committed: boot it "
			       "once, then change its version", name);
	return 0;
}

int isc_revert(struct pool *p, const char *name, const char *want, struct isc_version *now,
	       struct isc_err *e)
{
	struct isc_config c;
	size_t idx = 0;
	int r = isc_config_load(p, name, &c, e);
	if (r < 0)
		return r;
	isc_versions(&c);
	r = version_change_ok(p, name, e);
	if (r == 0)
		r = revert_target(&c, want, &idx, e);
	if (r == 0)
		r = version_verify(p, &c, idx, e);
	if (r == 0) {
		memcpy(c.digest, c.versions[idx].digest, sizeof(c.digest));
		r = isc_config_save(p, &c, e);
	}
	if (r == 0 && now)
		*now = c.versions[idx];
	config_free(&c);
	return r;
}

int isc_update(struct pool *p, const char *name, const char *image, char prev[65], char now[65],
	       struct isc_err *e)
{
	struct isc_config c;
	struct image_info info;
	int r = isc_config_load(p, name, &c, e);
	if (r < 0)
		return r;
	isc_versions(&c);
	/* its layer is hashed in full by the boot that follows, which the
	 * caller undoes when it fails: not twice here */
	if ((r = version_change_ok(p, name, e)) == 0)
		r = image_lookup(p, image, &info, e);
	if (r == 0) {
		str_copy(prev, 65, c.digest);
		str_copy(now, 65, info.digest);
	}
	if (r == 0 && STREQ(c.digest, info.digest)) {
		config_free(&c);
		return 1;
	}
	if (r == 0) {
		char layers[1][65];
		str_copy(layers[0], sizeof(layers[0]), info.digest);
		r = image_version_signed(p, &c, layers, NULL, 1, e);
	}
	if (r == 0 && (r = config_version_add(&c, info.digest, time(NULL), "update", 0, NULL)) == -ENOSPC)
		err_set(e, ENOSPC, "ISC %s: no room for another version: iscadm history --prune first", name);
	else if (r < 0 && !e->code)
		err_set(e, -r, "ISC %s: image %s cannot be a version of it", name, image);
	if (r == 0) {
		str_copy(c.image, sizeof(c.image), image);
		memcpy(c.digest, info.digest, sizeof(c.digest));
		r = isc_config_save(p, &c, e);
	}
	config_free(&c);
	return r;
}

/* Keep version i, and what its layers stand on. */
static int keep_with_lowers(const struct isc_config *c, size_t i, bool *keep)
{
	char layers[ISC_MAX_LAYERS][65];
	int n = config_layers(c, c->versions[i].digest, layers, ISC_MAX_LAYERS);
	if (n < 0)
		return n;
	keep[i] = true;
	for (int l = 1; l < n; l++)
		for (size_t j = 0; j < c->nversions; j++)
			if (STREQ(c->versions[j].digest, layers[l]))
				keep[j] = true;
	return 0;
}

/* A snapshot's version stays while the snapshot does. */
static bool snapshot_on(const struct isc_config *c, const char *digest)
{
	for (size_t i = 0; i < c->nsnapshots; i++)
		if (STREQ(c->snapshots[i].digest, digest))
			return true;
	return false;
}

int isc_prune(struct pool *p, struct isc_config *c, size_t keep, struct isc_err *e)
{
	struct isc_version kept[ISC_MAX_VERSIONS];
	bool keepv[ISC_MAX_VERSIONS] = { false };
	size_t nk = 0, first = c->nversions > keep ? c->nversions - keep : 0;
	char gone[ISC_MAX_VERSIONS][65];
	size_t ng = 0;
	/* the newest KEEP, the current version and the snapshots' stay, whatever
	 * their age, with the versions their layers are deltas on */
	for (size_t i = 0; i < c->nversions; i++)
		if ((i >= first || STREQ(c->versions[i].digest, c->digest) || snapshot_on(c, c->versions[i].digest)) &&
		    keep_with_lowers(c, i, keepv) < 0)
			return err_set(e, ELOOP, "ISC %s: version %.12s has more than %d layers: "
				       "nothing pruned", c->name, c->versions[i].digest, ISC_MAX_LAYERS);
	for (size_t i = 0; i < c->nversions; i++) {
		if (keepv[i])
			kept[nk++] = c->versions[i];
		else
			snprintf(gone[ng++], 65, "%s", c->versions[i].digest);
	}
	memcpy(c->versions, kept, nk * sizeof(kept[0]));
	c->nversions = nk;
	int r = isc_config_save(p, c, e);   /* forget them first, then free them */
	for (size_t i = 0; r == 0 && i < ng; i++) {
		bool still = false;
		for (size_t j = 0; j < nk; j++)
			still = still || STREQ(kept[j].digest, gone[i]);
		if (!still && !isc_digest_used(p, gone[i], c->name))
			image_blob_drop_unused(p, gone[i], NULL, NULL);   /* kept if a tag names it */
	}
	return r;
}
