/* isc_cmd.c - iscadm create|get|set|destroy|list, and the running-state helpers. */
#include "adm.h"
#include "cgroup.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
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

/* Hold name's supervisor lock, so that none starts while we clean up
 * after a dead one: the lock's fd, or -1 when a supervisor runs.  *made:
 * we created the lock file (and remove it again). */
static int stale_hold(const char *name, bool *made)
{
	char dir[200], path[220];
	snprintf(dir, sizeof(dir), ISC_RUN_DIR "/%s", name);
	snprintf(path, sizeof(path), "%s/lock", dir);
	*made = false;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		mkdir(ISC_RUN_DIR, 0711);
		mkdir(dir, 0700);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		*made = fd >= 0;
	}
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

bool isc_clean_stale(const char *name)
{
	bool made;
	int fd = stale_hold(name, &made);
	if (fd < 0)
		return false;
	char path[220];
	snprintf(path, sizeof(path), ISC_RUN_DIR "/%s/state", name);
	unlink(path);
	snprintf(path, sizeof(path), ISC_RUN_DIR "/%s/ctl", name);
	unlink(path);
	struct cgroup cg;
	cgroup_init(&cg, name);
	cgroup_destroy(&cg, NULL);
	if (made) {
		snprintf(path, sizeof(path), ISC_RUN_DIR "/%s/lock", name);
		unlink(path);
		snprintf(path, sizeof(path), ISC_RUN_DIR "/%s", name);
		rmdir(path);
	}
	close(fd);
	return true;
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

/* The key of a new ISC: its own (from o->keysource or a generated file),
 * another ISC's root, or an ephemeral one never written anywhere. */
static int create_key(struct pool *p, const char *name, const struct isc_create_opts *o,
		      struct isc_config *c, uint8_t id[CRYPT_ID_SIZE], struct isc_err *e)
{
	if (o->ephemeral) {
		struct secret key _cleanup_secret_ = { 0 };
		if (secret_random(&key, CRYPT_KEY_SIZE) < 0)
			return err_set(e, ENOMEM, "out of locked memory");
		str_copy(c->encryption_root, sizeof(c->encryption_root), ISC_KEY_EPHEMERAL);
		return fscrypt_key_add(p->dirfd, &key, id, e);
	}
	if (o->encryption_root) {
		struct isc_config other;
		int r = isc_config_load(p, o->encryption_root, &other, e);
		if (r < 0)
			return err_prefix(e, "encryption root");
		const char *root = config_key_root(&other);
		if (STREQ(root, ISC_KEY_EPHEMERAL))
			r = err_set(e, EINVAL, "ISC %s has an ephemeral key and cannot be an encryption "
				    "root", other.name);
		str_copy(c->encryption_root, sizeof(c->encryption_root), root);
		config_free(&other);
		struct wrapped w;
		if (r == 0 && (r = keyring_load(p, root, true, e)) == 0 &&
		    (r = keyring_read(p, root, &w, e)) == 0)
			memcpy(id, w.id, CRYPT_ID_SIZE);
		return r;
	}
	/* a crashed destroy may have left the old record of this name */
	keyring_remove(p, name, e);
	err_clear(e);
	return keyring_create(p, name, o->keysource, id, e);
}

static void create_key_undo(struct pool *p, const char *name, const struct isc_create_opts *o,
			    const uint8_t id[CRYPT_ID_SIZE])
{
	struct isc_err ignore;
	bool busy;
	if (o->ephemeral)
		fscrypt_key_remove(p->dirfd, id, &busy, &ignore);
	else if (!o->encryption_root)
		keyring_remove(p, name, &ignore);
}

/* isc/NAME/config in clear (what list and boot read first), isc/NAME/data
 * under the key: layers, volumes, logs. */
static int create_tree(struct pool *p, const char *tmp, const struct isc_config *c,
		       const uint8_t id[CRYPT_ID_SIZE], struct isc_err *e)
{
	char path[200];
	rm_rf_at(p->dirfd, tmp);
	snprintf(path, sizeof(path), "%s/data", tmp);
	if (mkdirat(p->dirfd, tmp, 0700) < 0 || mkdirat(p->dirfd, path, 0700) < 0)
		return err_sys(e, errno, "create %s/%s", p->path, path);
	_cleanup_close_ int data = openat(p->dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (data < 0)
		return err_sys(e, errno, "open %s/%s", p->path, path);
	int r = fscrypt_policy_set(data, id, e);
	if (r < 0)
		return err_prefix(e, "%s/%s", p->path, path);
	_cleanup_free_ char *text = config_dump(c);
	snprintf(path, sizeof(path), "%s/config", tmp);
	r = text ? write_file_atomic(p->dirfd, path, text, strlen(text), 0600) : -ENOMEM;
	return r < 0 ? err_sys(e, -r, "write %s/%s", p->path, path) : 0;
}

int isc_create(struct pool *p, const char *name, const struct isc_create_opts *o, struct isc_err *e)
{
	struct isc_config c;
	struct image_info info;
	struct stat st;
	char dir[128], tmp[160];
	uint8_t id[CRYPT_ID_SIZE];
	int r;
	config_init(&c);
	if (!name_valid(name))
		return err_set(e, EINVAL, "invalid ISC name '%s'", name);
	snprintf(dir, sizeof(dir), "isc/%s", name);
	if (fstatat(p->dirfd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set(e, EEXIST, "ISC %s already exists", name);
	if (o->profile && profile_from_name(o->profile, &c.profile) < 0)
		return err_set(e, EINVAL, "unknown profile '%s' (strict, fixed-configuration, "
			       "flexible-configuration, none)", o->profile);
	if (o->keysource && o->encryption_root)
		return err_set(e, EINVAL, "--key and --encryption-root exclude each other");
	struct keysource ks;
	if (o->keysource && keysource_parse(o->keysource, &ks, e) < 0)
		return -e->code;
	for (size_t i = 0; o->sets && o->sets[i]; i++)
		if (config_set(&c, o->sets[i], e) < 0)
			goto fail_cfg;
	if (image_lookup(p, o->image, &info, e) < 0)
		goto fail_cfg;
	str_copy(c.name, sizeof(c.name), name);
	str_copy(c.image, sizeof(c.image), o->image);
	memcpy(c.digest, info.digest, sizeof(c.digest));
	c.created = time(NULL);
	config_version_add(&c, info.digest, c.created, "build", 0, NULL);
	if (!(c.uid = uid_alloc(p))) {
		err_set(e, ENOSPC, "no free uid range for %s", name);
		goto fail_cfg;
	}
	if (create_key(p, name, o, &c, id, e) < 0)
		goto fail_cfg;
	/* made under tmp/, then renamed: an ISC exists whole or not at all */
	snprintf(tmp, sizeof(tmp), "tmp/create-%s", name);
	r = create_tree(p, tmp, &c, id, e);
	if (r == 0 && renameat(p->dirfd, tmp, p->dirfd, dir) < 0)
		r = err_sys(e, errno, "create ISC %s", name);
	if (r == 0 && (r = fsync_dir_at(p->dirfd, "isc")) < 0)
		r = err_sys(e, -r, "create ISC %s", name);
	config_free(&c);
	if (r < 0) {
		rm_rf_at(p->dirfd, tmp);
		create_key_undo(p, name, o, id);
	}
	return r;
fail_cfg:
	config_free(&c);
	return -e->code;
}

/* ISCs whose data is under name's key, other than name itself. */
static int key_dependents(struct pool *p, const char *name, char *first, size_t n)
{
	_cleanup_strv_ char **names = NULL;
	struct isc_err e = { 0 };
	int count = 0;
	if (isc_names(p, &names, &e) < 0)
		return 0;
	for (size_t i = 0; names[i]; i++) {
		struct isc_config c;
		if (STREQ(names[i], name) || isc_config_load(p, names[i], &c, &e) < 0)
			continue;
		if (STREQ(config_key_root(&c), name) && count++ == 0)
			snprintf(first, n, "%s", c.name);
		config_free(&c);
	}
	return count;
}

int isc_destroy(struct pool *p, const char *name, struct isc_err *e)
{
	char dir[128], tmp[160], data[200], other[64];
	struct isc_config c;
	int r = isc_config_load(p, name, &c, e);
	if (r < 0)
		return r;
	bool own = STREQ(config_key_root(&c), name), ephemeral = STREQ(config_key_root(&c), ISC_KEY_EPHEMERAL);
	config_free(&c);
	if (own && key_dependents(p, name, other, sizeof(other)) > 0)
		return err_set(e, EBUSY, "ISC %s is the encryption root of %s: destroy that first",
			       name, other);
	snprintf(dir, sizeof(dir), "isc/%s", name);
	snprintf(tmp, sizeof(tmp), "tmp/destroy-%s", name);
	rm_rf_at(p->dirfd, tmp);
	/* rename first: a crash mid-removal leaves no half ISC behind */
	if (renameat(p->dirfd, dir, p->dirfd, tmp) < 0)
		return err_sys(e, errno, "destroy %s", name);
	fsync_dir_at(p->dirfd, "isc");
	uint8_t id[CRYPT_ID_SIZE];
	snprintf(data, sizeof(data), "%s/data", tmp);
	_cleanup_close_ int dfd = openat(p->dirfd, data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool have_id = dfd >= 0 && fscrypt_policy_get(dfd, id) == 0;
	/* Files are removed first, then the key: with nothing left open
	 * under it, the key leaves the kernel completely. */
	r = rm_rf_at(p->dirfd, tmp);
	if (ephemeral && have_id) {
		bool busy;
		fscrypt_key_remove(p->dirfd, id, &busy, e);
	}
	if (own)
		keyring_remove(p, name, e);
	char run[200];
	snprintf(run, sizeof(run), ISC_RUN_DIR "/%s", name);
	rm_rf_at(AT_FDCWD, run);
	return r < 0 ? err_sys(e, -r, "remove %s data", name) : 0;
}

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
	/* /var's filesystem is made once, at its first boot: its size is fixed then */
	if (r == 0 && str_has_prefix(a->argv[2], "var-size="))
		r = err_set(&e, EPERM, "var-size is fixed when the ISC is created");
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
