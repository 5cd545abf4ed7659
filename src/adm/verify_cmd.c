/* verify_cmd.c - iscadm verify ISC and diff ISC: an ISC's integrity, finding by finding. */
#include "adm.h"

/* Paths are the ISC's: escaped, and cut (with a mark) past this much. */
#define SHOWN_PATH_MAX 4096

static void shown(const char *s, char *out, size_t n)
{
	size_t len = s ? strlen(s) : 0;
	size_t used = str_escape(s ? s : "", len, out, n - 4);
	if (used < len)
		strcat(out, "...");
}

static int row_fn(const struct isc_finding *f, void *data)
{
	struct table *t = data;
	char path[SHOWN_PATH_MAX + 4], where[512], detail[2048];
	shown(f->path, path, sizeof(path));
	shown(f->where, where, sizeof(where));
	shown(f->detail, detail, sizeof(detail));
	const char *vals[] = { isc_finding_name(f->kind), path[0] ? path : "-", where, detail };
	table_row(t, vals);
	fflush(stdout);
	return 0;
}

static void progress(const char *what, void *data)
{
	fprintf(stderr, "iscadm: verify %s: %s\n", (const char *)data, what);
}

/* verify: exit 0 clean, 1 findings, 2 an error (the check could not be made) */
int cmd_verify(struct adm *a)
{
	static const struct table_col cols[] = {
		{ "FINDING", "finding", 9 }, { "PATH", "path", 32 }, { "WHERE", "where", 22 },
		{ "DETAIL", "detail", 0 },
	};
	enum table_fmt fmt;
	int i = table_opts(a->argc, a->argv, &fmt);
	if (i < 0 || i + 1 != a->argc)
		return adm_usage("verify [-p | --json] ISC");
	const char *name = a->argv[i];
	struct adm_isc o;
	int r = adm_isc_open(a, name, POOL_LOCK_SHARED, &o);
	if (r)
		return EXIT_USAGE;
	struct isc_err e = { 0 };
	struct table t;
	table_begin(&t, fmt, cols, ARRAY_SIZE(cols));
	int n = isc_verify(&o.pool, &o.cfg, row_fn, &t, isatty(2) ? progress : NULL, (void *)name, &e);
	table_end(&t);
	adm_isc_close(&o);
	if (n < 0) {
		adm_fail(&e);
		return EXIT_USAGE;
	}
	if (n > 0)
		fprintf(stderr, "iscadm: %s: %d finding%s\n", name, n, n == 1 ? "" : "s");
	else if (fmt == TABLE_TEXT)
		fprintf(stderr, "iscadm: %s: verified: every layer matches its digest, the writable layers keep "
			"to profile %s\n", name, profile_name(o.cfg.profile));
	return n > 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_diff(struct adm *a)
{
	static const struct table_col cols[] = {
		{ "CHANGE", "change", 6 }, { "PATH", "path", 40 }, { "WHERE", "where", -1 },
		{ "DETAIL", "detail", 0 },
	};
	static const char usage[] = "diff [-p | --json] ISC [@SNAPSHOT]";
	enum table_fmt fmt;
	int i = table_opts(a->argc, a->argv, &fmt);
	if (i < 0 || i + 1 > a->argc || i + 2 < a->argc)
		return adm_usage("%s", usage);
	/* ISC @SNAP, or ISC@SNAP as the other snapshot commands take it */
	char name[64], snap[64] = "";
	const char *at = i + 2 == a->argc ? a->argv[i + 1] : NULL;
	if (at && (at[0] != '@' || !at[1] || strlen(at) >= sizeof(snap) + 1))
		return adm_usage("'%.100s': expected @SNAPSHOT (%s)", at, usage);
	if (at)
		snprintf(snap, sizeof(snap), "%s", at + 1);
	if (strchr(a->argv[i], '@')) {
		if (at || config_origin_split(a->argv[i], name, snap) < 0)
			return adm_usage("'%.100s': expected ISC or ISC@SNAPSHOT (%s)", a->argv[i], usage);
	} else {
		snprintf(name, sizeof(name), "%s", a->argv[i]);
	}
	struct adm_isc o;
	int r = adm_isc_open(a, name, POOL_LOCK_SHARED, &o);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct table t;
	table_begin(&t, fmt, cols, ARRAY_SIZE(cols));
	int n = isc_diff(&o.pool, &o.cfg, snap[0] ? snap : NULL, row_fn, &t, &e);
	table_end(&t);
	adm_isc_close(&o);
	return n < 0 ? adm_fail(&e) : EXIT_OK;
}
