/* keyring.c - encryption roots: master keys wrapped in the pool's keys/, loaded into the kernel on demand; iscadm and iscd. */
#include "pool.h"
#include "stream.h"

#include <fcntl.h>
#include <sys/stat.h>

const char *keydir_default(void)
{
	const char *env = getenv("ISC_KEYDIR");
	return env && *env == '/' ? env : ISC_DEFAULT_KEYDIR;
}

static void whom_of(const char *root, char *buf, size_t n)
{
	if (STREQ(root, POOL_KEY_ROOT))
		snprintf(buf, n, "the pool");
	else
		snprintf(buf, n, "ISC %s", root);
}

/* KEYDIR/ROOT.key: where isc generates root's key file, and nowhere else. */
static void generated_path(const char *root, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s.key", keydir_default(), root);
}

/* A generated key file is removed with its root, but only at the one path
 * isc would have made it: a doctored record cannot aim the unlink elsewhere. */
static void generated_unlink(const char *root, const struct wrapped *w)
{
	struct keysource ks;
	struct isc_err ignore;
	char want[PATH_MAX];
	generated_path(root, want, sizeof(want));
	if (w->generated && keysource_parse(w->keysource, &ks, &ignore) == 0 &&
	    ks.location == KS_FILE && STREQ(ks.path, want))
		unlink(ks.path);
}

static void wrapped_path(const char *root, char *buf, size_t n)
{
	snprintf(buf, n, "keys/%s.wrapped", root);
}

int keyring_read(const struct pool *p, const char *root, struct wrapped *w, struct isc_err *e)
{
	char path[128], whom[96];
	_cleanup_free_ char *text = NULL;
	wrapped_path(root, path, sizeof(path));
	whom_of(root, whom, sizeof(whom));
	size_t len = 0;
	int r = read_file_at(p->dirfd, path, &text, &len, 1 << 14);
	if (r == -ENOENT)
		return err_set(e, ENOKEY, "%s has no wrapped key in the pool", whom);
	if (r < 0)
		return err_sys(e, -r, "read the wrapped key of %s", whom);
	/* a text record: a NUL would hide what follows it from the parser */
	r = strlen(text) == len ? wrapped_parse(text, w, e) : err_set(e, EINVAL, "a NUL byte in the record");
	return r < 0 ? err_prefix(e, "wrapped key of %s", whom) : 0;
}

static int wrapped_write(const struct pool *p, const char *root, const struct wrapped *w,
			 struct isc_err *e)
{
	char path[128];
	wrapped_path(root, path, sizeof(path));
	_cleanup_free_ char *text = wrapped_dump(w);
	if (!text)
		return err_set(e, ENOMEM, "wrapped key");
	/* tmp + fsync + rename: the old or the new record, never a torn one */
	int r = write_file_atomic(p->dirfd, path, text, strlen(text), 0600);
	return r < 0 ? err_sys(e, -r, "write %s/%s", p->path, path) : 0;
}

int keyring_status(const struct pool *p, const char *root, bool *available, struct wrapped *w,
		   struct isc_err *e)
{
	struct wrapped local;
	if (!w)
		w = &local;
	int r = keyring_read(p, root, w, e);
	if (r < 0)
		return r;
	enum fscrypt_status st;
	if ((r = fscrypt_key_status(p->dirfd, w->id, &st, e)) < 0)
		return r;
	*available = st == FSCRYPT_PRESENT;
	return 0;
}

/* The master key from the keysource and the wrapped record. */
static int wrapped_write(const struct pool *p, const char *root, const struct wrapped *w,
			 struct isc_err *e);

/* Unwrap root's master key.  A record of format 1 that opens is sealed
 * again, as format 2, with the same keysource (best effort: it still
 * opens as it is). */
static int master_open(const struct pool *p, const struct wrapped *w, const char *root,
		       bool interactive, struct secret *master, struct isc_err *e)
{
	char whom[96];
	struct keysource ks;
	whom_of(root, whom, sizeof(whom));
	int r = keysource_parse(w->keysource, &ks, e);
	if (r < 0)
		return err_prefix(e, "%s", whom);
	if (ks.location == KS_PROMPT && !interactive)
		return err_set(e, ENOKEY, "key of %s is not loaded and its keysource (%s) needs a "
			       "terminal: run iscadm key load %s", whom, w->keysource, root);
	struct secret material _cleanup_secret_ = { 0 };
	if ((r = keysource_read(&ks, whom, false, &material, e)) < 0)
		return err_prefix(e, "%s", whom);
	if ((r = wrap_open(w, &material, root, master, e)) < 0)
		return err_prefix(e, "%s: %s", whom, w->keysource);
	if (w->format == 1 && p) {
		struct wrapped nw = { .generated = w->generated };
		struct isc_err ignore = { 0 };
		memcpy(nw.id, w->id, sizeof(nw.id));
		if (wrap_seal(&nw, &ks, &material, master, root, &ignore) == 0)
			wrapped_write(p, root, &nw, &ignore);
	}
	return 0;
}

int keyring_load(const struct pool *p, const char *root, bool interactive, struct isc_err *e)
{
	struct wrapped w;
	bool available;
	int r = keyring_status(p, root, &available, &w, e);
	if (r < 0 || available)
		return r;
	struct secret master _cleanup_secret_ = { 0 };
	if ((r = master_open(p, &w, root, interactive, &master, e)) < 0)
		return r;
	uint8_t id[CRYPT_ID_SIZE];
	if ((r = fscrypt_key_add(p->dirfd, &master, id, e)) < 0)
		return r;
	if (memcmp(id, w.id, sizeof(id)) != 0) {
		/* the AEAD opened, so this is a doctored record: take it back out */
		bool busy;
		fscrypt_key_remove(p->dirfd, id, &busy, e);
		char whom[96];
		whom_of(root, whom, sizeof(whom));
		return err_set(e, EKEYREJECTED, "wrapped key of %s does not match its identifier", whom);
	}
	return 0;
}

int keyring_unload(const struct pool *p, const char *root, struct isc_err *e)
{
	struct wrapped w;
	int r = keyring_read(p, root, &w, e);
	if (r < 0)
		return r;
	bool busy = false;
	/* The first call wipes the secret: nothing new opens from here on.
	 * Inodes the kernel still holds a moment after a halt (deferred
	 * unmounts, writeback) make it report "busy"; the retries finish the
	 * eviction once they are released. */
	for (int i = 0; i < 50; i++) {
		if ((r = fscrypt_key_remove(p->dirfd, w.id, &busy, e)) < 0)
			return r;
		if (!busy)
			break;
		if (i == 0)
			sync();
		usleep(100 * 1000);
	}
	if (busy) {
		char whom[96];
		whom_of(root, whom, sizeof(whom));
		return err_set(e, EBUSY, "key of %s removed, but files encrypted with it are still "
			       "open; it leaves the kernel when they are closed", whom);
	}
	return 0;
}

/* ks NULL: a random raw key made in the key directory. */
/* An operator's keysource: KEYDIR/NAME.key files are isc's own generated
 * ones, each removed with its root: one named for another root (or the
 * pool) would be lost with it. */
static int keysource_operator(const char *root, const char *text, struct keysource *ks,
			      struct isc_err *e)
{
	int r = keysource_parse(text, ks, e);
	if (r < 0 || ks->location != KS_FILE)
		return r;
	const char *dir = keydir_default(), *slash = strrchr(ks->path, '/');
	size_t dl = strlen(dir);
	char own[PATH_MAX];
	generated_path(root, own, sizeof(own));
	if (slash && (size_t)(slash - ks->path) == dl && strncmp(ks->path, dir, dl) == 0 &&
	    str_has_suffix(slash + 1, ".key") && !STREQ(ks->path, own))
		return err_set(e, EINVAL, "%s: the NAME.key files of %s are the keys isc generates "
			       "(each removed with its ISC); keep your own key elsewhere or under another name",
			       ks->path, dir);
	return 0;
}

static int keysource_pick(const char *root, const char *text, struct keysource *ks,
			  bool *generated, struct isc_err *e)
{
	*generated = false;
	if (text)
		return keysource_operator(root, text, ks, e);
	char path[PATH_MAX], buf[PATH_MAX + 32];
	generated_path(root, path, sizeof(path));
	snprintf(buf, sizeof(buf), "raw,file://%s", path);
	int r = keysource_parse(buf, ks, e);
	if (r < 0)
		return r;
	struct stat st;
	/* the pool key file may serve several pools (test roots, a recreated pool) */
	if (STREQ(root, POOL_KEY_ROOT) && stat(ks->path, &st) == 0)
		return 0;
	if ((r = keysource_generate(ks->path, e)) < 0)
		return r;
	*generated = !STREQ(root, POOL_KEY_ROOT);
	return 0;
}

int keyring_create(const struct pool *p, const char *root, const char *keysource,
		   uint8_t id[CRYPT_ID_SIZE], struct isc_err *e)
{
	char whom[96];
	whom_of(root, whom, sizeof(whom));
	struct wrapped w = { 0 };
	struct keysource ks;
	bool generated;
	int r = keysource_pick(root, keysource, &ks, &generated, e);
	if (r < 0)
		return r;
	struct secret material _cleanup_secret_ = { 0 }, master _cleanup_secret_ = { 0 };
	bool added = false;
	if ((r = keysource_read(&ks, whom, true, &material, e)) < 0)
		goto fail;
	if ((r = secret_random(&master, CRYPT_KEY_SIZE)) < 0) {
		r = err_set(e, -r, "out of locked memory");
		goto fail;
	}
	if ((r = fscrypt_key_add(p->dirfd, &master, w.id, e)) < 0)
		goto fail;
	added = true;
	w.generated = generated;
	if ((r = wrap_seal(&w, &ks, &material, &master, root, e)) < 0 ||
	    (r = wrapped_write(p, root, &w, e)) < 0)
		goto fail;
	memcpy(id, w.id, CRYPT_ID_SIZE);
	return 0;
fail:
	if (added) {
		bool busy;
		struct isc_err ignore;
		fscrypt_key_remove(p->dirfd, w.id, &busy, &ignore);
	}
	if (generated)
		unlink(ks.path);
	return err_prefix(e, "%s", whom);
}

int keyring_change(const struct pool *p, const char *root, const char *keysource, struct isc_err *e)
{
	char whom[96];
	whom_of(root, whom, sizeof(whom));
	struct wrapped old, w = { 0 };
	struct keysource ks, oldks;
	int r = keyring_read(p, root, &old, e);
	if (r < 0)
		return r;
	if ((r = keysource_operator(root, keysource, &ks, e)) < 0)
		return r;
	struct secret master _cleanup_secret_ = { 0 }, material _cleanup_secret_ = { 0 };
	if ((r = master_open(NULL, &old, root, true, &master, e)) < 0)
		return r;
	if ((r = keysource_read(&ks, whom, true, &material, e)) < 0)
		return err_prefix(e, "%s", whom);
	/* Only the wrapping changes: the master key, hence every byte of
	 * data, stays as it is, whatever the ISC holds. */
	memcpy(w.id, old.id, sizeof(w.id));
	if ((r = wrap_seal(&w, &ks, &material, &master, root, e)) < 0 ||
	    (r = wrapped_write(p, root, &w, e)) < 0)
		return r;
	if (keysource_parse(old.keysource, &oldks, e) == 0 && !STREQ(oldks.path, ks.path))
		generated_unlink(root, &old);   /* made by isc for this root alone */
	err_clear(e);
	return 0;
}

int keyring_master(const struct pool *p, const char *root, bool interactive, struct secret *master,
		   struct isc_err *e)
{
	struct wrapped w;
	int r = keyring_read(p, root, &w, e);
	return r < 0 ? r : master_open(NULL, &w, root, interactive, master, e);
}

int keyring_import(const struct pool *p, const char *root, const char *from, const char *record,
		   const char *keysource, bool interactive, uint8_t id[CRYPT_ID_SIZE],
		   uint8_t stream_key[STREAM_KEY_LEN], struct isc_err *e)
{
	char whom[96];
	whom_of(root, whom, sizeof(whom));
	struct wrapped sent, w = { 0 };
	struct keysource ks;
	int r = wrapped_parse(record, &sent, e);
	if (r < 0)
		return err_prefix(e, "the stream's wrapped key");
	/* the wrapping key at its own place here, or where the sender kept
	 * it; the record opens as it was sealed (its keysource is in its
	 * additional data) */
	if ((r = keysource_operator(root, keysource ? keysource : sent.keysource, &ks, e)) < 0)
		return r;
	if (ks.location == KS_PROMPT && !interactive)
		return err_set(e, ENOKEY, "%s: the stream's key needs a passphrase and there is no terminal: "
			       "use receive -i FILE from a terminal", whom);
	struct secret master _cleanup_secret_ = { 0 }, material _cleanup_secret_ = { 0 };
	if ((r = keysource_read(&ks, whom, false, &material, e)) < 0)
		return err_prefix(e, "%s", whom);
	if ((r = wrap_open(&sent, &material, from, &master, e)) < 0)
		return err_prefix(e, "%s: the stream's key with %s", whom, keysource ? keysource : sent.keysource);
	if ((r = fscrypt_key_add(p->dirfd, &master, w.id, e)) < 0)
		return r;
	if (memcmp(w.id, sent.id, sizeof(w.id)) != 0) {
		bool busy;
		struct isc_err ignore;
		fscrypt_key_remove(p->dirfd, w.id, &busy, &ignore);
		return err_set(e, EKEYREJECTED, "the stream's wrapped key does not match its identifier");
	}
	/* sealed again for this root's name: the same master key, hence the
	 * same ciphertext, under the same wrapping key */
	if ((r = wrap_seal(&w, &ks, &material, &master, root, e)) < 0 || (r = wrapped_write(p, root, &w, e)) < 0) {
		bool busy;
		struct isc_err ignore;
		fscrypt_key_remove(p->dirfd, w.id, &busy, &ignore);
		return r;
	}
	memcpy(id, w.id, CRYPT_ID_SIZE);
	stream_key_derive(master.buf, master.len, stream_key);
	return 0;
}

int keyring_remove(const struct pool *p, const char *root, struct isc_err *e)
{
	struct wrapped w;
	char path[128];
	int r = keyring_read(p, root, &w, e);
	if (r == -ENOKEY) {
		err_clear(e);
		return 0;
	}
	if (r < 0)
		return r;
	bool busy;
	if ((r = fscrypt_key_remove(p->dirfd, w.id, &busy, e)) < 0)
		return r;
	wrapped_path(root, path, sizeof(path));
	if (unlinkat(p->dirfd, path, 0) < 0 && errno != ENOENT)
		return err_sys(e, errno, "remove %s/%s", p->path, path);
	fsync_dir_at(p->dirfd, "keys");
	generated_unlink(root, &w);
	err_clear(e);
	return 0;
}

int keyring_check_dir(const struct pool *p, const char *root, const char *dir, struct isc_err *e)
{
	struct wrapped w;
	uint8_t id[CRYPT_ID_SIZE];
	int r = keyring_read(p, root, &w, e);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = openat(p->dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "open %s/%s", p->path, dir);
	r = fscrypt_policy_get(fd, id);
	if (r == -ENODATA)
		return err_set(e, EPROTO, "%s/%s is not encrypted: refusing to use it", p->path, dir);
	if (r == -EPROTO)
		return err_set(e, EPROTO, "%s/%s has an encryption policy isc did not set: refusing to use it",
			       p->path, dir);
	if (r < 0)
		return err_sys(e, -r, "encryption policy of %s/%s", p->path, dir);
	if (memcmp(id, w.id, sizeof(id)) != 0)
		return err_set(e, EPROTO, "%s/%s is encrypted under another key than its wrapped record's: "
			       "refusing to use it", p->path, dir);
	return 0;
}
