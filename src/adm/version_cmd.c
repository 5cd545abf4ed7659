/* version_cmd.c - iscadm history|revert: an ISC's image versions, made by maintenance sessions. */
#include "adm.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>

/* The versions of c as shown: a config from before versions has one. */
static void versions_of(struct isc_config *c)
{
	if (c->nversions == 0)
		config_version_add(c, c->digest, c->created, "build", 0, NULL);
}

/* VERSION: a digest, or a unique prefix of one (at least 6 hex digits). */
static int version_find(const struct isc_config *c, const char *want, size_t *idx, struct isc_err *e)
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

static int history_prune(struct pool *p, struct isc_config *c, long keep, struct isc_err *e)
{
	struct isc_version kept[ISC_MAX_VERSIONS];
	bool keepv[ISC_MAX_VERSIONS] = { false };
	size_t nk = 0, first = c->nversions > (size_t)keep ? c->nversions - (size_t)keep : 0;
	char gone[ISC_MAX_VERSIONS][65];
	size_t ng = 0;
	/* the newest KEEP and the current version stay, whatever its age, with
	 * the versions their layers are deltas on */
	for (size_t i = 0; i < c->nversions; i++)
		if ((i >= first || STREQ(c->versions[i].digest, c->digest)) &&
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

int cmd_history(struct adm *a)
{
	static const char usage[] = "history ISC [--prune KEEP]";
	static const struct option opts[] = { { "prune", required_argument, NULL, 'p' }, { 0 } };
	long keep = -1;
	int c;
	while ((c = getopt_long(a->argc, a->argv, "", opts, NULL)) != -1) {
		char *end;
		if (c != 'p')
			return adm_usage("%s", usage);
		keep = strtol(optarg, &end, 10);
		if (*end || end == optarg || keep < 1 || keep > ISC_MAX_VERSIONS)
			return adm_usage("--prune KEEP: a number from 1 to %d", ISC_MAX_VERSIONS);
	}
	if (optind + 1 != a->argc)
		return adm_usage("%s", usage);
	struct pool p;
	int r = adm_pool(a, &p, keep > 0 ? POOL_LOCK_EXCLUSIVE : POOL_LOCK_SHARED);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct isc_config cfg;
	if ((r = isc_config_load(&p, a->argv[optind], &cfg, &e)) < 0) {
		pool_close(&p);
		return adm_fail(&e);
	}
	versions_of(&cfg);
	if (keep > 0)
		r = history_prune(&p, &cfg, keep, &e);
	else
		for (size_t i = 0; i < cfg.nversions; i++) {
			const struct isc_version *v = &cfg.versions[i];
			char when[32];
			struct tm tm;
			time_t t = (time_t)v->made;
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
			printf("%s %s %s %" PRIu64 "%s\n", v->digest, when, v->how, v->change,
			       STREQ(v->digest, cfg.digest) ? " current" : "");
		}
	config_free(&cfg);
	pool_close(&p);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}

int cmd_revert(struct adm *a)
{
	if (a->argc != 2 && a->argc != 3)
		return adm_usage("revert ISC [VERSION]");
	const char *name = a->argv[1];
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct isc_config c;
	struct stat st;
	char layer[200];
	size_t idx = 0, cur = SIZE_MAX;
	if ((r = isc_config_load(&p, name, &c, &e)) < 0)
		goto out_pool;
	versions_of(&c);
	snprintf(layer, sizeof(layer), "isc/%s/data/layers/rootw", name);
	if (isc_running(name))
		r = err_set(&e, EBUSY, "ISC %s is running: halt it first", name);
	else if (fstatat(p.dirfd, layer, &st, AT_SYMLINK_NOFOLLOW) == 0)
		r = err_set(&e, EBUSY, "ISC %s has a maintenance session not yet committed: boot it "
			    "once, then revert", name);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < c.nversions; i++)
		if (STREQ(c.versions[i].digest, c.digest))
			cur = i;
	if (a->argc == 3)
		r = version_find(&c, a->argv[2], &idx, &e);
	else if (cur == SIZE_MAX || cur == 0)
		r = err_set(&e, ENOENT, "ISC %s has no version before the current one", name);
	else
		idx = cur - 1;
	/* verified in full, every layer, before it is made current */
	char layers[ISC_MAX_LAYERS][65];
	int nl = r == 0 ? config_layers(&c, c.versions[idx].digest, layers, ISC_MAX_LAYERS) : 0;
	if (nl < 0)
		r = err_set(&e, ELOOP, "ISC %s: version %.12s has more than %d layers", name,
			    c.versions[idx].digest, ISC_MAX_LAYERS);
	for (int l = 0; r == 0 && l < nl; l++)
		if ((r = image_verify(&p, layers[l], &e)) < 0)
			err_prefix(&e, "ISC %s: version %.12s", name, c.versions[idx].digest);
	if (r == 0) {
		memcpy(c.digest, c.versions[idx].digest, sizeof(c.digest));
		r = isc_config_save(&p, &c, &e);
	}
	if (r == 0)
		printf("%s: now on version %.12s (%s)\n", name, c.digest, c.versions[idx].how);
out:
	config_free(&c);
out_pool:
	pool_close(&p);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}
