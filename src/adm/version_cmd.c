/* version_cmd.c - iscadm history|revert: an ISC's image versions, made by maintenance sessions. */
#include "adm.h"

#include <getopt.h>
#include <inttypes.h>
#include <time.h>

/* history: one line a version, oldest first, "DIGEST TIME HOW CHANGE
 * [current]" (documented and scripted on, so no header); -p and --json. */
int cmd_history(struct adm *a)
{
	static const char usage[] = "history [-p | --json] ISC | history ISC --prune KEEP";
	static const struct option opts[] = { { "prune", required_argument, NULL, 'P' },
					      { "json", no_argument, NULL, 'j' }, { 0 } };
	static const struct table_col cols[] = {
		{ "DIGEST", "digest", 64 }, { "MADE", "made", 20 }, { "HOW", "how", 5 },
		{ "CHANGE", "change", 0 }, { "CURRENT", "current", 0 },
	};
	enum table_fmt fmt = TABLE_TEXT;
	long keep = -1;
	int c;
	while ((c = getopt_long(a->argc, a->argv, "p", opts, NULL)) != -1) {
		char *end;
		if (c == 'p' || c == 'j') {
			fmt = c == 'p' ? TABLE_PARSABLE : TABLE_JSON;
			continue;
		}
		if (c != 'P')
			return adm_usage("%s", usage);
		keep = strtol(optarg, &end, 10);
		if (*end || end == optarg || keep < 1 || keep > ISC_MAX_VERSIONS)
			return adm_usage("--prune KEEP: a number from 1 to %d", ISC_MAX_VERSIONS);
	}
	if (optind + 1 != a->argc || (keep > 0 && fmt != TABLE_TEXT))
		return adm_usage("%s", usage);
	struct adm_isc o;
	int r = adm_isc_open(a, a->argv[optind], keep > 0 ? POOL_LOCK_EXCLUSIVE : POOL_LOCK_SHARED, &o);
	if (r)
		return r;
	struct isc_err e = { 0 };
	const struct isc_config *cfg = &o.cfg;
	isc_versions(&o.cfg);
	if (keep > 0) {
		r = isc_prune(&o.pool, &o.cfg, (size_t)keep, &e);
		adm_isc_close(&o);
		return r < 0 ? adm_fail(&e) : EXIT_OK;
	}
	struct table t;
	if (fmt != TABLE_TEXT)
		table_begin(&t, fmt, cols, ARRAY_SIZE(cols));
	for (size_t i = 0; i < cfg->nversions; i++) {
		const struct isc_version *v = &cfg->versions[i];
		char when[32], change[24];
		struct tm tm;
		time_t tt = (time_t)v->made;
		bool cur = STREQ(v->digest, cfg->digest);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
		snprintf(change, sizeof(change), "%" PRIu64, v->change);
		const char *vals[] = { v->digest, when, v->how, change, cur ? "yes" : "no" };
		if (fmt != TABLE_TEXT)
			table_row(&t, vals);
		else
			printf("%s %s %s %s%s\n", v->digest, when, v->how, change, cur ? " current" : "");
	}
	if (fmt != TABLE_TEXT)
		table_end(&t);
	adm_isc_close(&o);
	return EXIT_OK;
}

int cmd_revert(struct adm *a)
{
	if (a->argc != 2 && a->argc != 3)
		return adm_usage("revert ISC [VERSION]");
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct isc_version now;
	r = isc_revert(&p, a->argv[1], a->argc == 3 ? a->argv[2] : NULL, &now, &e);
	pool_close(&p);
	if (r < 0)
		return adm_fail(&e);
	printf("%s: now on version %.12s (%s)\n", a->argv[1], now.digest, now.how);
	return EXIT_OK;
}
