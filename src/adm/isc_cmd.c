/* isc_cmd.c - iscadm create|get|set|destroy|list, and the running-state helpers. */
#include "adm.h"
#include "cgroup.h"

#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

bool isc_running(const char *name)
{
	char path[200];
	snprintf(path, sizeof(path), ISC_RUN_DIR "/%s/lock", name);
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	/* the supervisor holds this lock for its whole life */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	flock(fd, LOCK_UN);
	return false;
}

char isc_mode(const char *name)
{
	char path[200];
	_cleanup_free_ char *buf = NULL;
	if (!isc_running(name))
		return '-';
	snprintf(path, sizeof(path), ISC_RUN_DIR "/%s/state", name);
	if (read_file_at(AT_FDCWD, path, &buf, NULL, 4096) < 0)
		return 'R';
	return strstr(buf, "mode=W") ? 'W' : 'R';
}

void isc_clean_stale(const char *name)
{
	if (isc_running(name))
		return;
	char path[200];
	snprintf(path, sizeof(path), ISC_RUN_DIR "/%s/state", name);
	unlink(path);
	snprintf(path, sizeof(path), ISC_RUN_DIR "/%s/ctl", name);
	unlink(path);
	struct cgroup cg;
	cgroup_init(&cg, name);
	cgroup_destroy(&cg, NULL);
}

int isc_wait_stopped(const char *name, int timeout)
{
	for (int i = 0; i < timeout * 50; i++) {
		if (!isc_running(name))
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

static uint32_t uid_alloc(struct pool *p)
{
	_cleanup_strv_ char **names = NULL;
	struct isc_err e = { 0 };
	if (isc_names(p, &names, &e) < 0)
		return 0;
	for (uint32_t slot = 0; slot < 32768; slot++) {
		uint32_t uid = ISC_UID_FIRST + slot * ISC_UID_COUNT;
		bool used = false;
		for (size_t i = 0; names[i] && !used; i++) {
			struct isc_config c;
			if (isc_config_load(p, names[i], &c, &e) == 0) {
				used = c.uid == uid;
				config_free(&c);
			}
		}
		if (!used)
			return uid;
	}
	return 0;
}

int isc_create(struct pool *p, const char *name, const char *image, const char *profile,
	       char *const *sets, struct isc_err *e)
{
	struct isc_config c;
	struct image_info info;
	struct stat st;
	char dir[128], tmp[160];
	config_init(&c);
	if (!name_valid(name))
		return err_set(e, EINVAL, "invalid ISC name '%s'", name);
	snprintf(dir, sizeof(dir), "isc/%s", name);
	if (fstatat(p->dirfd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set(e, EEXIST, "ISC %s already exists", name);
	if (profile && profile_from_name(profile, &c.profile) < 0)
		return err_set(e, EINVAL, "unknown profile '%s' (strict, fixed-configuration, "
			       "flexible-configuration, none)", profile);
	for (size_t i = 0; sets && sets[i]; i++)
		if (config_set(&c, sets[i], e) < 0) {
			config_free(&c);
			return -e->code;
		}
	if (image_lookup(p, image, &info, e) < 0) {
		config_free(&c);
		return -e->code;
	}
	str_copy(c.name, sizeof(c.name), name);
	str_copy(c.image, sizeof(c.image), image);
	memcpy(c.digest, info.digest, sizeof(c.digest));
	c.created = time(NULL);
	if (!(c.uid = uid_alloc(p))) {
		config_free(&c);
		return err_set(e, ENOSPC, "no free uid range for %s", name);
	}
	/* made under tmp/, then renamed: an ISC exists whole or not at all */
	snprintf(tmp, sizeof(tmp), "tmp/create-%s", name);
	rm_rf_at(p->dirfd, tmp);
	int r = mkdirat(p->dirfd, tmp, 0700) < 0 ? -errno : 0;
	_cleanup_free_ char *text = config_dump(&c);
	char cfg[200];
	snprintf(cfg, sizeof(cfg), "%s/config", tmp);
	if (r == 0)
		r = text ? write_file_atomic(p->dirfd, cfg, text, strlen(text), 0600) : -ENOMEM;
	if (r == 0 && renameat(p->dirfd, tmp, p->dirfd, dir) < 0)
		r = -errno;
	if (r == 0)
		r = fsync_dir_at(p->dirfd, "isc");
	config_free(&c);
	if (r < 0) {
		rm_rf_at(p->dirfd, tmp);
		return err_sys(e, -r, "create ISC %s", name);
	}
	return 0;
}

int isc_destroy(struct pool *p, const char *name, struct isc_err *e)
{
	char dir[128], tmp[160];
	snprintf(dir, sizeof(dir), "isc/%s", name);
	snprintf(tmp, sizeof(tmp), "tmp/destroy-%s", name);
	rm_rf_at(p->dirfd, tmp);
	/* rename first: a crash mid-removal leaves no half ISC behind */
	if (renameat(p->dirfd, dir, p->dirfd, tmp) < 0)
		return err_sys(e, errno, "destroy %s", name);
	fsync_dir_at(p->dirfd, "isc");
	int r = rm_rf_at(p->dirfd, tmp);
	char run[200];
	snprintf(run, sizeof(run), ISC_RUN_DIR "/%s", name);
	rm_rf_at(AT_FDCWD, run);
	return r < 0 ? err_sys(e, -r, "remove %s data", name) : 0;
}

int cmd_create(struct adm *a)
{
	const char *image = NULL, *profile = NULL;
	_cleanup_strv_ char **sets = calloc(1, sizeof(char *));
	static const struct option opts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "profile", required_argument, NULL, 'p' },
		{ "set", required_argument, NULL, 's' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(a->argc, a->argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i': image = optarg; break;
		case 'p': profile = optarg; break;
		case 's': strv_push(&sets, optarg); break;
		default: return adm_usage("create ISC --image NAME [--profile P] [--set k=v]...");
		}
	}
	if (!image || optind + 1 != a->argc)
		return adm_usage("create ISC --image NAME [--profile P] [--set k=v]...");
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	struct isc_err e = { 0 };
	r = isc_create(&p, a->argv[optind], image, profile, sets, &e);
	pool_close(&p);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}

int cmd_get(struct adm *a)
{
	if (a->argc != 2 && a->argc != 3)
		return adm_usage("get ISC [PROP]");
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_SHARED);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct isc_config c;
	r = isc_config_load(&p, a->argv[1], &c, &e);
	pool_close(&p);
	if (r < 0)
		return adm_fail(&e);
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
	if (r == 0 && (r = config_set(&c, a->argv[2], &e)) == 0)
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
		if ((r = isc_halt(name, false, &e)) < 0)
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
		char mode = isc_mode(names[i]);
		const char *state = mode == '-' ? "installed" : "running";
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
