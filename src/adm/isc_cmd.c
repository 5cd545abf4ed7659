/* isc_cmd.c - iscadm create|get|set|destroy|list|stats: arguments and output. */
#include "adm.h"
#include "cgroup.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
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
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct isc_config c;
	config_init(&c);
	r = isc_config_load(&p, a->argv[1], &c, &e);
	if (r == 0 && (r = config_change(&c, a->argv[2], &e)) == 0)
		r = isc_config_save(&p, &c, &e);
	config_free(&c);
	pool_close(&p);
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
		return adm_usage("destroy [-f] ISC");
	const char *name = a->argv[optind];
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct isc_config cfg;
	if ((r = isc_config_load(&p, name, &cfg, &e)) < 0)
		goto out;
	config_free(&cfg);
	if (isc_running(name)) {
		if (!force) {
			r = err_set(&e, EBUSY, "ISC %s is running (halt it first, or use -f)", name);
			goto out;
		}
		if ((r = isc_halt(name, &e)) < 0)
			goto out;
	}
	isc_clean_stale(name);
	r = isc_destroy(&p, name, &e);
out:
	pool_close(&p);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}

int cmd_list(struct adm *a)
{
	enum { TABLE, PARSABLE, JSON } fmt = TABLE;
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { 0 } };
	int c;
	while ((c = getopt_long(a->argc, a->argv, "p", opts, NULL)) != -1) {
		if (c == 'p')
			fmt = PARSABLE;
		else if (c == 'j')
			fmt = JSON;
		else
			return adm_usage("list [-p | --json]");
	}
	if (optind != a->argc)
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
	json_object *arr = json_object_new_array();
	if (fmt == TABLE)
		printf("%-20s %-10s %-24s %-4s %s\n", "NAME", "STATE", "PROFILE", "MODE", "IMAGE");
	for (size_t i = 0; names[i]; i++) {
		struct isc_config cfg;
		if (isc_config_load(&p, names[i], &cfg, &e) < 0)
			continue;
		/* R read-only, W writable (-w or -W), - not running */
		enum boot_mode bm;
		bool running = isc_run_mode(names[i], &bm) == 0;
		char mode = !running ? '-' : boot_mode_writable(bm) ? 'W' : 'R';
		const char *state = running ? "running" : "installed";
		const char *prof = profile_name(cfg.profile);
		if (fmt == PARSABLE) {
			printf("%s:%s:%s:%c:%s\n", cfg.name, state, prof, mode, cfg.image);
		} else if (fmt == TABLE) {
			printf("%-20s %-10s %-24s %-4c %s\n", cfg.name, state, prof, mode, cfg.image);
		} else {
			json_object *o = json_object_new_object();
			char m[2] = { mode, 0 };
			json_object_object_add(o, "name", json_object_new_string(cfg.name));
			json_object_object_add(o, "state", json_object_new_string(state));
			json_object_object_add(o, "profile", json_object_new_string(prof));
			json_object_object_add(o, "mode", json_object_new_string(m));
			json_object_object_add(o, "image", json_object_new_string(cfg.image));
			json_object_object_add(o, "image-digest", json_object_new_string(cfg.digest));
			json_object_array_add(arr, o);
		}
		config_free(&cfg);
	}
	if (fmt == JSON)
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
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
