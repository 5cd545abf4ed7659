/* isc_cmd.c - iscadm create|get|set|destroy|list|stats: arguments and output. */
#include "adm.h"
#include "cgroup.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

int cmd_create(struct adm *a)
{
	struct isc_create_opts o = { 0 };
	_cleanup_strv_ char **sets = calloc(1, sizeof(char *));
	static const struct option opts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "profile", required_argument, NULL, 'p' },
		{ "set", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "encryption-root", required_argument, NULL, 'E' },
		{ 0 },
	};
	static const char usage[] = "create ISC --image NAME [--profile P] [--key KEYSOURCE | "
		"--encryption-root ISC] [--set k=v]...";
	int c;
	while ((c = getopt_long(a->argc, a->argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i': o.image = optarg; break;
		case 'p': o.profile = optarg; break;
		case 's': strv_push(&sets, optarg); break;
		case 'k': o.keysource = optarg; break;
		case 'E': o.encryption_root = optarg; break;
		default: return adm_usage("%s", usage);
		}
	}
	if (!o.image || optind + 1 != a->argc)
		return adm_usage("%s", usage);
	o.sets = sets;
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	struct isc_err e = { 0 };
	r = isc_create(&p, a->argv[optind], &o, &e);
	pool_close(&p);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}

int cmd_get(struct adm *a)
{
	if (a->argc != 2 && a->argc != 3)
		return adm_usage("get ISC [PROP]");
	struct isc_err e = { 0 };
	struct isc_config c;
	int r = adm_config(a, a->argv[1], &c);
	if (r)
		return r;
	if (a->argc == 2) {
		_cleanup_free_ char *text = config_dump(&c);
		fputs(text ? text : "", stdout);
	} else {
		char v[4096];
		if (config_get(&c, a->argv[2], v, sizeof(v)) < 0) {
			config_free(&c);
			err_set(&e, EINVAL, "unknown property '%s'", a->argv[2]);
			return adm_fail(&e);
		}
		puts(v);
	}
	config_free(&c);
	return EXIT_OK;
}

int cmd_set(struct adm *a)
{
	if (a->argc != 3)
		return adm_usage("set ISC PROP=VALUE");
	struct adm_isc o;
	int r = adm_isc_open(a, a->argv[1], POOL_LOCK_EXCLUSIVE, &o);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct minisign_pub keys[2];
	size_t nk;
	/* a key it cannot read now would refuse every boot: refuse it here */
	if ((r = config_change(&o.cfg, a->argv[2], &e)) == 0 &&
	    (r = image_trusted_keys(&o.pool, &o.cfg, keys, &nk, &e)) == 0)
		r = isc_config_save(&o.pool, &o.cfg, &e);
	adm_isc_close(&o);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}

int cmd_destroy(struct adm *a)
{
	bool force = false;
	int c;
	while ((c = getopt(a->argc, a->argv, "f")) != -1) {
		if (c != 'f')
			return adm_usage("destroy [-f] ISC");
		force = true;
	}
	if (optind + 1 != a->argc)
		return adm_usage("destroy [-f] ISC | destroy ISC@SNAPSHOT");
	const char *name = a->argv[optind];
	if (strchr(name, '@')) {
		if (force)
			return adm_usage("destroy ISC@SNAPSHOT: no -f (a snapshot is not running)");
		return adm_snapshot_destroy(a, name);
	}
	struct adm_isc o;
	int r = adm_isc_open(a, name, POOL_LOCK_EXCLUSIVE, &o);
	if (r)
		return r;
	config_free(&o.cfg);
	struct pool *p = &o.pool;
	struct isc_err e = { 0 };
	if (isc_running(name)) {
		if (!force) {
			r = err_set(&e, EBUSY, "ISC %s is running (halt it first, or use -f)", name);
			goto out;
		}
		if ((r = isc_halt(name, &e)) < 0)
			goto out;
	}
	isc_clean_stale(name);
	r = isc_destroy(p, name, &e);
out:
	pool_close(p);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}

int cmd_list(struct adm *a)
{
	static const struct table_col cols[] = {
		{ "NAME", "name", 20 }, { "STATE", "state", 11 }, { "PROFILE", "profile", 24 },
		{ "MODE", "mode", 4 }, { "IMAGE", "image", 0 }, { NULL, "image-digest", -1 },
		{ NULL, "defence", -1 },
	};
	enum table_fmt fmt;
	if (table_opts(a->argc, a->argv, &fmt) != a->argc)
		return adm_usage("list [-p | --json]");
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_SHARED);
	if (r)
		return r;
	struct isc_err e = { 0 };
	_cleanup_strv_ char **names = NULL;
	if (isc_names(&p, &names, &e) < 0) {
		pool_close(&p);
		return adm_fail(&e);
	}
	struct table t;
	table_begin(&t, fmt, cols, ARRAY_SIZE(cols));
	for (size_t i = 0; names[i]; i++) {
		struct isc_config cfg;
		if (isc_config_load(&p, names[i], &cfg, &e) < 0)
			continue;
		/* R read-only, W writable (-w or -W), - not running */
		struct run_state st;
		bool running = isc_run_state(names[i], &st) == 0;
		const char *mode = !running ? "-" : boot_mode_writable(st.mode) ? "W" : "R";
		const char *vals[] = { cfg.name, !running ? "installed" : st.quarantined ? "quarantined" : st.frozen ? "frozen" : "running",
				       profile_name(cfg.profile), mode, cfg.image, cfg.digest,
				       running ? st.layers : "" };
		table_row(&t, vals);
		config_free(&cfg);
	}
	table_end(&t);
	pool_close(&p);
	return EXIT_OK;
}

int cmd_stats(struct adm *a)
{
	if (a->argc != 2)
		return adm_usage("stats ISC");
	const char *name = a->argv[1];
	struct isc_err e = { 0 };
	struct isc_config c;
	int r = adm_config(a, name, &c);
	if (r)
		return r;
	config_free(&c);
	if (!isc_running(name)) {
		err_set(&e, EINVAL, "ISC %s is not running", name);
		return adm_fail(&e);
	}
	/* read straight from the ISC's cgroup: the supervisor need not answer */
	struct cgroup cg;
	struct cgroup_stats st;
	cgroup_init(&cg, name);
	if (cgroup_stats(&cg, &st, &e) < 0)
		return adm_fail(&e);
	char mem[32], max[32];
	format_size(st.memory, mem, sizeof(mem));
	format_size(st.memory_max, max, sizeof(max));
	printf("memory  %s of %s\n", mem, st.memory_max == UINT64_MAX ? "unlimited" : max);
	printf("pids    %" PRIu64 " of %" PRIu64 "\n", st.pids, st.pids_max);
	printf("cpu     %" PRIu64 ".%03" PRIu64 " s\n", st.cpu_usec / 1000000, st.cpu_usec / 1000 % 1000);
	return EXIT_OK;
}
