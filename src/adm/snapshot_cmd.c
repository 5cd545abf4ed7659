/* snapshot_cmd.c - iscadm snapshot|rollback|clone|promote|reset, destroy ISC@SNAP: arguments
 * and output; the work is the isc library's (snapshot.c, docs/snapshots.md). */
#include "adm.h"

#include <getopt.h>
#include <time.h>

/* "ISC@SNAP" into its parts, or a usage error (exit status) naming what. */
static int snap_arg(const char *arg, const char *usage, char isc[64], char snap[64])
{
	if (config_origin_split(arg, isc, snap) < 0)
		return adm_usage("'%.100s': expected ISC@SNAPSHOT (%s)", arg, usage);
	return 0;
}

/* The pool opened exclusively for a change to ISC isc (which must exist):
 * 0, or the exit status of a failure already reported. */
static int change_open(struct adm *a, const char *isc, struct pool *p)
{
	int r = adm_isc_exists(a, isc);
	return r ? r : adm_pool(a, p, POOL_LOCK_EXCLUSIVE);
}

/* The library's answer r: the pool closed, EXIT_OK or the failure said. */
static int change_close(struct pool *p, int r, const struct isc_err *e)
{
	pool_close(p);
	return r < 0 ? adm_fail(e) : EXIT_OK;
}

static void when_text(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
}

/* snapshot -l [ISC] [-p | --json]: every snapshot of one ISC or all, oldest
 * first, with what depends on it. */
static int snapshot_list(struct adm *a, const char *only, enum table_fmt fmt)
{
	static const struct table_col cols[] = {
		{ "SNAPSHOT", "snapshot", 30 }, { "MADE", "made", 20 }, { "VERSION", "version", 12 },
		{ "KNOWN-GOOD", "known_good", 10 }, { "CLONES", "clones", 0 },
		{ "DIGEST", "digest", -1 },
	};
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_SHARED);
	if (r)
		return r;
	struct isc_err e = { 0 };
	_cleanup_strv_ char **names = NULL;
	if ((r = adm_isc_names(&p, only, &names))) {
		pool_close(&p);
		return r;
	}
	struct table t;
	table_begin(&t, fmt, cols, ARRAY_SIZE(cols));
	for (size_t i = 0; r == 0 && names[i]; i++) {
		struct isc_config c;
		if ((r = isc_config_load(&p, names[i], &c, &e)) < 0)
			break;
		for (size_t k = 0; k < c.nsnapshots; k++) {
			const struct isc_snapshot *s = &c.snapshots[k];
			char full[130], made[32], ver[13], clones[96] = "", first[64];
			snprintf(full, sizeof(full), "%s@%s", c.name, s->name);
			when_text(s->made, made, sizeof(made));
			snprintf(ver, sizeof(ver), "%.12s", s->digest);
			int nc = isc_clones(&p, c.name, s->name, first, sizeof(first));
			if (nc == 1)
				snprintf(clones, sizeof(clones), "%s", first);
			else if (nc > 1)
				snprintf(clones, sizeof(clones), "%s and %d more", first, nc - 1);
			const char *vals[] = { full, made, ver, s->known_good ? "yes" : "no", clones, s->digest };
			table_row(&t, vals);
		}
		config_free(&c);
	}
	table_end(&t);
	pool_close(&p);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}

int cmd_snapshot(struct adm *a)
{
	static const char usage[] = "snapshot ISC@SNAPSHOT [--known-good] | snapshot -l [-p | --json] [ISC]";
	static const struct option opts[] = { { "known-good", no_argument, NULL, 'k' },
					      { "json", no_argument, NULL, 'j' }, { 0 } };
	bool list = false, good = false;
	enum table_fmt fmt = TABLE_TEXT;
	int c;
	while ((c = getopt_long(a->argc, a->argv, "lp", opts, NULL)) != -1) {
		switch (c) {
		case 'l': list = true; break;
		case 'p': fmt = TABLE_PARSABLE; break;
		case 'j': fmt = TABLE_JSON; break;
		case 'k': good = true; break;
		default: return adm_usage("%s", usage);
		}
	}
	if (list) {
		if (good || a->argc - optind > 1)
			return adm_usage("%s", usage);
		return snapshot_list(a, optind < a->argc ? a->argv[optind] : NULL, fmt);
	}
	char isc[64], snap[64];
	if (fmt != TABLE_TEXT || optind + 1 != a->argc)
		return adm_usage("%s", usage);
	int r = snap_arg(a->argv[optind], usage, isc, snap);
	struct pool p;
	if (r || (r = change_open(a, isc, &p)))
		return r;
	struct isc_err e = { 0 };
	r = isc_snapshot(&p, isc, snap, good, &e);
	if ((r = change_close(&p, r, &e)))
		return r;
	printf("%s@%s%s\n", isc, snap, good ? " (known good)" : "");
	return EXIT_OK;
}

int cmd_rollback(struct adm *a)
{
	static const char usage[] = "rollback [-r] ISC@SNAPSHOT";
	bool later = false;
	int c;
	while ((c = getopt(a->argc, a->argv, "r")) != -1) {
		if (c != 'r')
			return adm_usage("%s", usage);
		later = true;
	}
	char isc[64], snap[64];
	if (optind + 1 != a->argc)
		return adm_usage("%s", usage);
	int r = snap_arg(a->argv[optind], usage, isc, snap);
	struct pool p;
	if (r || (r = change_open(a, isc, &p)))
		return r;
	struct isc_err e = { 0 };
	r = isc_rollback(&p, isc, snap, later, &e);
	if ((r = change_close(&p, r, &e)))
		return r;
	printf("%s: rolled back to %s@%s\n", isc, isc, snap);
	return EXIT_OK;
}

int cmd_clone(struct adm *a)
{
	static const char usage[] = "clone ISC@SNAPSHOT NEWISC";
	char isc[64], snap[64];
	if (a->argc != 3)
		return adm_usage("%s", usage);
	int r = snap_arg(a->argv[1], usage, isc, snap);
	struct pool p;
	if (r || (r = change_open(a, isc, &p)))
		return r;
	struct isc_err e = { 0 };
	r = isc_clone(&p, isc, snap, a->argv[2], &e);
	if ((r = change_close(&p, r, &e)))
		return r;
	printf("%s: a clone of %s@%s\n", a->argv[2], isc, snap);
	return EXIT_OK;
}

int cmd_promote(struct adm *a)
{
	if (a->argc != 2)
		return adm_usage("promote ISC");
	struct pool p;
	int r = change_open(a, a->argv[1], &p);
	if (r)
		return r;
	struct isc_err e = { 0 };
	r = isc_promote(&p, a->argv[1], &e);
	if ((r = change_close(&p, r, &e)))
		return r;
	printf("%s: promoted, stands on its own layers\n", a->argv[1]);
	return EXIT_OK;
}

int cmd_reset(struct adm *a)
{
	if (a->argc != 2)
		return adm_usage("reset ISC");
	struct pool p;
	int r = change_open(a, a->argv[1], &p);
	if (r)
		return r;
	struct isc_err e = { 0 };
	char snap[64];
	r = isc_reset(&p, a->argv[1], snap, sizeof(snap), &e);
	if ((r = change_close(&p, r, &e)))
		return r;
	printf("%s: reset to %s@%s (known good, verified)\n", a->argv[1], a->argv[1], snap);
	return EXIT_OK;
}

int adm_snapshot_destroy(struct adm *a, const char *arg)
{
	char isc[64], snap[64];
	int r = snap_arg(arg, "destroy ISC@SNAPSHOT", isc, snap);
	struct pool p;
	if (r || (r = change_open(a, isc, &p)))
		return r;
	struct isc_err e = { 0 };
	return change_close(&p, isc_snapshot_destroy(&p, isc, snap, &e), &e);
}
