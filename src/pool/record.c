/* record.c - an ISC's record in the pool: its config file, the ISC list, digests in use, its data key; iscadm, iscd. */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>

int isc_config_load(const struct pool *p, const char *name, struct isc_config *c, struct isc_err *e)
{
	char path[128];
	_cleanup_free_ char *text = NULL;
	if (!name_valid(name))
		return err_set(e, EINVAL, "invalid ISC name '%s'", name);
	snprintf(path, sizeof(path), "isc/%s/config", name);
	int r = read_file_at(p->dirfd, path, &text, NULL, 1 << 16);
	if (r == -ENOENT)
		return err_set(e, ENOENT, "no ISC named %s", name);
	if (r < 0)
		return err_sys(e, -r, "read %s config", name);
	r = config_parse(text, c, e);
	if (r < 0)
		return err_prefix(e, "ISC %s", name);
	return 0;
}

int isc_config_save(const struct pool *p, const struct isc_config *c, struct isc_err *e)
{
	char path[128];
	_cleanup_free_ char *text = config_dump(c);
	if (!text)
		return err_set(e, ENOMEM, "config");
	snprintf(path, sizeof(path), "isc/%s/config", c->name);
	int r = write_file_atomic(p->dirfd, path, text, strlen(text), 0600);
	return r < 0 ? err_sys(e, -r, "write %s config", c->name) : 0;
}

static size_t stack_add(struct frozen_layer *out, size_t n, size_t max, const char *isc, uint32_t uid,
			const struct isc_chain *ch)
{
	for (size_t i = 0; i < ch->n && n < max; i++) {
		str_copy(out[n].isc, sizeof(out[n].isc), isc);
		out[n].id = ch->id[i];
		out[n++].uid = uid;
	}
	return n;
}

int isc_frozen_stack(const struct pool *p, const struct isc_config *c, const struct isc_chain *top,
		     struct frozen_layer *out, size_t max, struct isc_err *e)
{
	size_t n = stack_add(out, 0, max, c->name, c->uid, top);
	char origin[sizeof(c->origin)];
	str_copy(origin, sizeof(origin), c->origin);
	for (int depth = 0; origin[0]; depth++) {
		char isc[64], snap[64];
		struct isc_config o;
		if (depth >= ISC_MAX_ORIGINS)
			return err_set(e, ELOOP, "ISC %s: more than %d origins deep", c->name, ISC_MAX_ORIGINS);
		if (config_origin_split(origin, isc, snap) < 0)
			return err_set(e, EINVAL, "ISC %s: bad origin '%s'", c->name, origin);
		int r = isc_config_load(p, isc, &o, e);
		if (r < 0)
			return err_prefix(e, "ISC %s: its origin %s", c->name, origin);
		const struct isc_snapshot *s = config_snapshot(&o, snap);
		if (!s)
			r = err_set(e, ENOENT, "ISC %s: its origin %s is gone", c->name, origin);
		else if (s->chain.n > max - n)
			r = err_set(e, E2BIG, "ISC %s: more than %zu frozen layers", c->name, max);
		else
			n = stack_add(out, n, max, o.name, o.uid, &s->chain);
		str_copy(origin, sizeof(origin), o.origin);
		config_free(&o);
		if (r < 0)
			return r;
	}
	return (int)n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int isc_names(const struct pool *p, char ***names, struct isc_err *e)
{
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	int fd = openat(p->dirfd, "isc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!v || fd < 0)
		return err_set(e, fd < 0 ? errno : ENOMEM, "open isc directory");
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_sys(e, errno, "read isc directory");
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		char cfg[128];
		if (!name_valid(de->d_name))
			continue;
		snprintf(cfg, sizeof(cfg), "%s/config", de->d_name);
		if (fstatat(dirfd(d), cfg, &st, 0) < 0)
			continue;   /* half-made by a crashed create: not an ISC */
		if (strv_push(&v, de->d_name) < 0) {
			closedir(d);
			return err_set(e, ENOMEM, "list");
		}
	}
	closedir(d);
	qsort(v, strv_length(v), sizeof(char *), cmp_str);
	*names = TAKE_PTR(v);
	return 0;
}

bool isc_digest_used(const struct pool *p, const char *digest, const char *except)
{
	_cleanup_strv_ char **names = NULL;
	struct isc_err e = { 0 };
	bool used = false;
	if (isc_names(p, &names, &e) < 0)
		return true;   /* unsure: keep it */
	for (size_t i = 0; names[i] && !used; i++) {
		struct isc_config c;
		if (except && STREQ(names[i], except))
			continue;
		if (isc_config_load(p, names[i], &c, &e) < 0) {
			used = true;
			continue;
		}
		used = STREQ(c.digest, digest);
		for (size_t j = 0; j < c.nversions && !used; j++)
			used = STREQ(c.versions[j].digest, digest);
		config_free(&c);
	}
	return used;
}

int isc_key_ready(const struct pool *p, const struct isc_config *c, bool interactive,
		  struct isc_err *e)
{
	if (!STREQ(config_key_root(c), ISC_KEY_EPHEMERAL)) {
		char data[128];
		snprintf(data, sizeof(data), "isc/%s/data", c->name);
		int r = keyring_load(p, config_key_root(c), interactive, e);
		return r < 0 ? r : keyring_check_dir(p, config_key_root(c), data, e);
	}
	/* run --rm: the key was never stored; once gone, the data is too */
	char path[128];
	uint8_t id[CRYPT_ID_SIZE];
	enum fscrypt_status st;
	snprintf(path, sizeof(path), "isc/%s/data", c->name);
	_cleanup_close_ int fd = openat(p->dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 ? -errno : fscrypt_policy_get(fd, id);
	if (r < 0)
		return err_sys(e, -r, "ISC %s: encryption policy of its data", c->name);
	if ((r = fscrypt_key_status(p->dirfd, id, &st, e)) < 0)
		return r;
	return st == FSCRYPT_PRESENT ? 0 : err_set(e, ENOKEY, "ISC %s: its ephemeral key is gone",
						    c->name);
}

int pool_require_get(const struct pool *p, unsigned *set, struct isc_err *e)
{
	_cleanup_free_ char *text = NULL;
	*set = 0;
	int r = read_file_at(p->dirfd, "require", &text, NULL, 256);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return err_sys(e, -r, "read %s/require", p->path);
	text[strcspn(text, "\n")] = '\0';
	if (isc_require_parse(text, set) < 0)
		return err_set(e, EINVAL, "%s/require: not a require= list", p->path);
	return 0;
}

int pool_require_set(const struct pool *p, unsigned set, struct isc_err *e)
{
	char text[64];
	if (!set) {
		if (unlinkat(p->dirfd, "require", 0) < 0 && errno != ENOENT)
			return err_sys(e, errno, "remove %s/require", p->path);
		return 0;
	}
	isc_require_format(set, text, sizeof(text) - 1);
	str_append(text, sizeof(text), "\n");
	int r = write_file_atomic(p->dirfd, "require", text, strlen(text), 0600);
	return r < 0 ? err_sys(e, -r, "write %s/require", p->path) : 0;
}
