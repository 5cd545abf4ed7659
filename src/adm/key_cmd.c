/* key_cmd.c - iscadm key load|unload|change|status: an ISC's wrapping key and its master key in the kernel. */
#include "adm.h"

#include <getopt.h>

/* The encryption root of ISC name, refusing ephemeral keys. */
static int key_root(struct pool *p, const char *name, char *root, size_t n, struct isc_err *e)
{
	struct isc_config c;
	int r = isc_config_load(p, name, &c, e);
	if (r < 0)
		return r;
	snprintf(root, n, "%s", config_key_root(&c));
	config_free(&c);
	if (STREQ(root, ISC_KEY_EPHEMERAL))
		return err_set(e, EINVAL, "ISC %s has an ephemeral key: nothing to load or change", name);
	return 0;
}

/* A running ISC under root's key, if any. */
static bool root_in_use(struct pool *p, const char *root, char *who, size_t n)
{
	_cleanup_strv_ char **names = NULL;
	struct isc_err e = { 0 };
	bool used = false;
	if (isc_names(p, &names, &e) < 0)
		return false;
	for (size_t i = 0; names[i] && !used; i++) {
		struct isc_config c;
		if (isc_config_load(p, names[i], &c, &e) < 0)
			continue;
		if (STREQ(config_key_root(&c), root) && isc_running(c.name)) {
			used = true;
			snprintf(who, n, "%s", c.name);
		}
		config_free(&c);
	}
	return used;
}

static int key_unload_one(struct pool *p, const char *root, struct isc_err *e)
{
	char who[64];
	if (root_in_use(p, root, who, sizeof(who)))
		return err_set(e, EBUSY, "ISC %s is running: the key of %s stays loaded", who, root);
	int r = keyring_unload(p, root, e);
	return r < 0 ? err_prefix(e, "ISC %s", root) : 0;
}

static int key_unload_all(struct pool *p)
{
	_cleanup_strv_ char **names = NULL;
	struct isc_err e = { 0 };
	int status = EXIT_OK;
	if (isc_names(p, &names, &e) < 0)
		return adm_fail(&e);
	for (size_t i = 0; names[i]; i++) {
		struct isc_config c;
		if (isc_config_load(p, names[i], &c, &e) < 0 || !STREQ(config_key_root(&c), c.name)) {
			if (!e.code)
				config_free(&c);
			err_clear(&e);
			continue;   /* ephemeral keys and clients of another root */
		}
		config_free(&c);
		if (key_unload_one(p, names[i], &e) < 0) {
			adm_fail(&e);
			status = EXIT_FAIL;
			err_clear(&e);
		}
	}
	return status;
}

/* A reason in a table cell: it can quote what a pool file holds, so one
 * escaped line (str_escape), cut to the cell with "..." (n >= 8). */
static const char *key_reason(const struct isc_err *e, char *buf, size_t n)
{
	size_t len = strnlen(e->msg, sizeof(e->msg));
	if (str_escape(e->msg, len, buf, n - 3) < len)
		strcat(buf, "...");
	return buf;
}

/* key status ISC: one word. */
static int key_status_one(struct pool *p, const char *name)
{
	struct isc_err e = { 0 };
	char root[64];
	bool avail;
	struct isc_config c;
	if (isc_config_load(p, name, &c, &e) < 0)
		return adm_fail(&e);
	snprintf(root, sizeof(root), "%s", config_key_root(&c));
	config_free(&c);
	if (STREQ(root, ISC_KEY_EPHEMERAL)) {
		puts("available");
		return EXIT_OK;
	}
	if (keyring_status(p, root, &avail, NULL, &e) < 0)
		return adm_fail(&e);
	puts(avail ? "available" : "unavailable");
	return EXIT_OK;
}

/* key status: every ISC's key, a listing. */
static int key_status_all(struct pool *p, enum table_fmt fmt)
{
	static const struct table_col cols[] = {
		{ "NAME", "name", 20 }, { "KEYSTATUS", "keystatus", 12 },
		{ "ENCRYPTION-ROOT", "encryption-root", 20 }, { "KEYSOURCE", "keysource", 0 },
	};
	struct isc_err e = { 0 };
	_cleanup_strv_ char **names = NULL;
	if (isc_names(p, &names, &e) < 0)
		return adm_fail(&e);
	struct table t;
	table_begin(&t, fmt, cols, ARRAY_SIZE(cols));
	for (size_t i = 0; names[i]; i++) {
		struct isc_config c;
		struct wrapped w;
		char why[128];
		bool avail = false;
		if (isc_config_load(p, names[i], &c, &e) < 0) {
			err_clear(&e);
			continue;
		}
		const char *root = config_key_root(&c);
		const char *vals[4] = { c.name, "available", root, "ephemeral" };
		if (STREQ(root, ISC_KEY_EPHEMERAL))
			vals[2] = "";
		else if (keyring_status(p, root, &avail, &w, &e) == 0)
			vals[1] = avail ? "available" : "unavailable", vals[3] = w.keysource;
		else
			vals[1] = "error", vals[3] = key_reason(&e, why, sizeof(why));
		table_row(&t, vals);
		err_clear(&e);
		config_free(&c);
	}
	table_end(&t);
	return EXIT_OK;
}

static int key_usage(void)
{
	return adm_usage("key load ISC | key unload ISC | key unload -a | key status [-p | --json | ISC] | "
			 "key change ISC --key KEYSOURCE");
}

static int key_change(struct pool *p, int argc, char **argv)
{
	const char *ks = NULL;
	static const struct option opts[] = { { "key", required_argument, NULL, 'k' }, { 0 } };
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'k')
			return key_usage();
		ks = optarg;
	}
	if (!ks || optind + 1 != argc)
		return key_usage();
	struct isc_err e = { 0 };
	char root[64];
	struct keysource parsed;
	if (keysource_parse(ks, &parsed, &e) < 0 || key_root(p, argv[optind], root, sizeof(root), &e) < 0)
		return adm_fail(&e);
	if (!STREQ(root, argv[optind])) {
		err_set(&e, EINVAL, "ISC %s uses the key of %s (its encryption root): change it there",
			argv[optind], root);
		return adm_fail(&e);
	}
	return keyring_change(p, root, ks, &e) < 0 ? adm_fail(&e) : EXIT_OK;
}

int cmd_key(struct adm *a)
{
	if (a->argc < 2)
		return key_usage();
	const char *verb = a->argv[1];
	bool change = STREQ(verb, "change");
	if (!change && !STREQ(verb, "load") && !STREQ(verb, "unload") && !STREQ(verb, "status"))
		return key_usage();
	bool status = STREQ(verb, "status");
	enum table_fmt fmt = TABLE_TEXT;
	int first = 2;   /* status: -p/--json for the listing */
	if (status && (first = table_opts(a->argc - 1, a->argv + 1, &fmt) + 1) <= 0)
		return key_usage();
	if (status && (a->argc - first > 1 || (a->argc - first == 1 && fmt != TABLE_TEXT)))
		return key_usage();
	if (!change && !status && a->argc != 3)
		return key_usage();
	struct pool p;
	/* exclusive: no create, destroy or boot races a key change, or an
	 * unload between its "is it running" check and the removal (a
	 * supervisor takes its ISC's lock before it opens the pool) */
	bool excl = change || STREQ(verb, "unload");
	int r = adm_pool(a, &p, excl ? POOL_LOCK_EXCLUSIVE : POOL_LOCK_SHARED);
	if (r)
		return r;
	struct isc_err e = { 0 };
	char root[64];
	if (change)
		r = key_change(&p, a->argc - 1, a->argv + 1);
	else if (status)
		r = first < a->argc ? key_status_one(&p, a->argv[first]) : key_status_all(&p, fmt);
	else if (STREQ(verb, "unload") && STREQ(a->argv[2], "-a"))
		r = key_unload_all(&p);
	else if (key_root(&p, a->argv[2], root, sizeof(root), &e) < 0)
		r = adm_fail(&e);
	else if (STREQ(verb, "load"))
		r = keyring_load(&p, root, true, &e) < 0 ? adm_fail(&e) : EXIT_OK;
	else
		r = key_unload_one(&p, root, &e) < 0 ? adm_fail(&e) : EXIT_OK;
	pool_close(&p);
	return r;
}
