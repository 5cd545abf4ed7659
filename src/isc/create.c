/* create.c - an ISC made whole or not at all, and destroyed with its key.
 * The isc library (iscadm). */
#include "isc.h"
#include "image.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>

bool isc_run_name(const char *name, pid_t *pid)
{
	if (!str_has_prefix(name, "run-"))
		return false;
	const char *d = name + 4;
	long long n = 0;
	for (size_t i = 0; d[i]; i++) {
		if (d[i] < '0' || d[i] > '9' || i >= 10)
			return false;
		n = n * 10 + (d[i] - '0');
	}
	if (d[0] == '0' || n <= 0 || n > INT_MAX)   /* "run-" and "run-0" too */
		return false;
	if (pid)
		*pid = (pid_t)n;
	return true;
}

int isc_name_kept(const char *name, struct isc_err *e)
{
	return isc_run_name(name, NULL) ?
		err_set(e, EINVAL, "ISC name %s: names run-NUMBER are kept for run --rm; choose another", name) : 0;
}

uint32_t isc_uid_alloc(struct pool *p)
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
		       const uint8_t id[CRYPT_ID_SIZE], bool ephemeral, struct isc_err *e)
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
	/* An ephemeral ISC (run --rm) is gone with its key at the next
	 * reboot: its record need not outlive a crash, not even whole (an
	 * fsync here cost 2-5 ms of every run).  Its name says what it was:
	 * pool check removes one left behind, config torn or not. */
	r = text ? write_file_replace(p->dirfd, path, text, strlen(text), 0600,
				      ephemeral ? 0 : WRITE_SYNC_DATA | WRITE_SYNC_DIR) : -ENOMEM;
	return r < 0 ? err_sys(e, -r, "write %s/%s", p->path, path) : 0;
}

int isc_create(struct pool *p, const char *name, const struct isc_create_opts *o, struct isc_err *e)
{
	struct isc_config c;
	struct image_info info;
	struct stat st;
	char dir[128];
	int r;
	config_init(&c);
	if (!name_valid(name))
		return err_set(e, EINVAL, "invalid ISC name '%s'", name);
	snprintf(dir, sizeof(dir), "isc/%s", name);
	if (fstatat(p->dirfd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set(e, EEXIST, "ISC %s already exists", name);
	char prop[80];
	/* one parser of profile names: the configuration's */
	snprintf(prop, sizeof(prop), "profile=%s", o->profile ? o->profile : "");
	if (o->profile && config_set(&c, prop, e) < 0)
		return -e->code;
	if (o->keysource && o->encryption_root)
		return err_set(e, EINVAL, "--key and --encryption-root exclude each other");
	struct keysource ks;
	if (o->keysource && keysource_parse(o->keysource, &ks, e) < 0)
		return -e->code;
	for (size_t i = 0; o->sets && o->sets[i]; i++)
		if (config_set(&c, o->sets[i], e) < 0)
			goto fail_cfg;
	struct minisign_pub keys[2];
	size_t nk;
	if (image_trusted_keys(p, &c, keys, &nk, e) < 0)
		goto fail_cfg;
	if (image_lookup(p, o->image, &info, e) < 0)
		goto fail_cfg;
	str_copy(c.name, sizeof(c.name), name);
	str_copy(c.image, sizeof(c.image), o->image);
	memcpy(c.digest, info.digest, sizeof(c.digest));
	c.created = time(NULL);
	config_version_add(&c, info.digest, c.created, "build", 0, NULL);
	/* its first state is known good (iscadm reset comes back to it) */
	if (!o->ephemeral && !c.var_size)
		isc_snapshot_initial(&c, true);
	r = isc_create_record(p, &c, o, e);
	config_free(&c);
	return r;
fail_cfg:
	config_free(&c);
	return -e->code;
}

int isc_create_record(struct pool *p, struct isc_config *c, const struct isc_create_opts *o,
		      struct isc_err *e)
{
	char dir[128], tmp[160];
	uint8_t id[CRYPT_ID_SIZE];
	snprintf(dir, sizeof(dir), "isc/%s", c->name);
	if (fstatat(p->dirfd, dir, &(struct stat){ 0 }, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set(e, EEXIST, "ISC %s already exists", c->name);
	if (!o->ephemeral && isc_name_kept(c->name, e) < 0)
		return -e->code;
	if (!(c->uid = isc_uid_alloc(p)))
		return err_set(e, ENOSPC, "no free uid range for %s", c->name);
	if (create_key(p, c->name, o, c, id, e) < 0)
		return -e->code;
	/* made under tmp/, then renamed: an ISC exists whole or not at all */
	snprintf(tmp, sizeof(tmp), "tmp/create-%s", c->name);
	int r = create_tree(p, tmp, c, id, o->ephemeral, e);
	if (r == 0 && renameat(p->dirfd, tmp, p->dirfd, dir) < 0)
		r = err_sys(e, errno, "create ISC %s", c->name);
	if (r == 0 && !o->ephemeral && (r = fsync_dir_at(p->dirfd, "isc")) < 0)
		r = err_sys(e, -r, "create ISC %s", c->name);
	if (r < 0) {
		rm_rf_at(p->dirfd, tmp);
		create_key_undo(p, c->name, o, id);
	}
	return r;
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
	bool own = false, ephemeral = true;
	int r = isc_config_load(p, name, &c, e);
	if (r < 0 && !isc_run_name(name, NULL))
		return r;
	/* a run's record may be torn by a crash (create_tree): still a run's */
	if (r == 0) {
		own = STREQ(config_key_root(&c), name);
		ephemeral = STREQ(config_key_root(&c), ISC_KEY_EPHEMERAL);
		config_free(&c);
	}
	err_clear(e);
	if (isc_clones(p, name, NULL, other, sizeof(other)) > 0)
		return err_set(e, EBUSY, "ISC %s has a clone, %s: destroy it or iscadm promote %s first",
			       name, other, other);
	if (own && key_dependents(p, name, other, sizeof(other)) > 0)
		return err_set(e, EBUSY, "ISC %s is the encryption root of %s: destroy that first",
			       name, other);
	snprintf(dir, sizeof(dir), "isc/%s", name);
	snprintf(tmp, sizeof(tmp), "tmp/destroy-%s", name);
	rm_rf_at(p->dirfd, tmp);
	/* rename first: a crash mid-removal leaves no half ISC behind */
	if (renameat(p->dirfd, dir, p->dirfd, tmp) < 0)
		return err_sys(e, errno, "destroy %s", name);
	if (!ephemeral)
		fsync_dir_at(p->dirfd, "isc");
	uint8_t id[CRYPT_ID_SIZE];
	snprintf(data, sizeof(data), "%s/data", tmp);
	int dfd = openat(p->dirfd, data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool have_id = dfd >= 0 && fscrypt_policy_get(dfd, id) == 0;
	if (dfd >= 0)
		close(dfd);
	/* Files are removed first, then the key: with nothing left open
	 * under it (this directory's fd included), the key leaves the
	 * kernel completely ("inode(s) still busy" in the kernel log else). */
	r = rm_rf_at(p->dirfd, tmp);
	if (ephemeral && have_id) {
		bool busy;
		fscrypt_key_remove(p->dirfd, id, &busy, e);
	}
	if (own)
		keyring_remove(p, name, e);
	/* its address (net=bridge) is free for the next ISC */
	struct isc_err ignored = { 0 };
	net_addr_release(p->dirfd, name, &ignored);
	char run[PATH_MAX];
	if (run_path(run, sizeof(run), name, NULL) == 0)
		rm_rf_at(AT_FDCWD, run);
	return r < 0 ? err_sys(e, -r, "remove %s data", name) : 0;
}

