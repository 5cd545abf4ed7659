/* sign.c - image signatures: images/<digest>.erofs.minisig (minisign's own
 * name for a file's signature), the keys an ISC trusts, the pool's host
 * key for commits; iscadm (sign, revert, verify) and iscd (boot, commit). */
#include "image-internal.h"
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#define SIG_FILE_MAX 4096
#define HOST_KEY "signing/host.key"
#define HOST_PUB "signing/host.pub"

static void sig_name(const char *digest, char *buf, size_t n)
{
	snprintf(buf, n, "images/%s.erofs.minisig", digest);
}

int image_sign_blob(const struct pool *p, const char *digest, const struct minisign_sec *sk,
		    const char *trusted, struct isc_err *e)
{
	char path[128], sig[160];
	if (!image_digest_valid(digest))
		return err_set(e, EINVAL, "invalid image digest '%.80s'", digest);
	snprintf(path, sizeof(path), "images/%s.erofs", digest);
	_cleanup_close_ int fd = openat(p->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno, "image %.12s…: %s", digest, strerror(errno));
	_cleanup_free_ char *text = NULL;
	int r = minisign_sign_fd(fd, sk, trusted, &text, e);
	if (r < 0)
		return err_prefix(e, "image %.12s…", digest);
	sig_name(digest, sig, sizeof(sig));
	r = write_file_atomic(p->dirfd, sig, text, strlen(text), 0444);
	return r < 0 ? err_set(e, -r, "%s/%s: %s", p->path, sig, strerror(-r)) : 0;
}

int image_host_key(const struct pool *p, struct minisign_sec *sk, struct isc_err *e)
{
	char path[PATH_MAX];
	struct stat st;
	if (fstatat(p->dirfd, HOST_KEY, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return err_set(e, errno, "%s/%s: %s", p->path, HOST_KEY, strerror(errno));
		if (mkdirat(p->dirfd, "signing", 0700) < 0 && errno != EEXIST)
			return err_set(e, errno, "%s/signing: %s", p->path, strerror(errno));
		int r = minisign_keypair_make(p->dirfd, HOST_KEY, HOST_PUB, e);
		if (r < 0)
			return err_prefix(e, "the pool's signing key");
	}
	snprintf(path, sizeof(path), "%s/%s", p->path, HOST_KEY);
	return minisign_sec_load(path, "the pool's signing key", sk, e);
}

int image_trusted_keys(const struct pool *p, const struct isc_config *c, struct minisign_pub keys[2],
		       size_t *n, struct isc_err *e)
{
	*n = 0;
	if (!c->require_signature[0])
		return 0;
	/* never fail open: the operator's key must be there and read */
	int r = minisign_pub_load(c->require_signature, &keys[0], e);
	if (r < 0)
		return err_prefix(e, "ISC %s requires signatures", c->name);
	*n = 1;
	/* commits of its maintenance sessions carry the pool's own signature */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", p->path, HOST_PUB);
	struct isc_err ignore = { 0 };
	if (minisign_pub_load(path, &keys[1], &ignore) == 0)
		*n = 2;
	return 0;
}

int image_signature_check(const struct pool *p, const char *digest, int fd, const struct minisign_pub *keys,
			  size_t n, struct isc_err *e)
{
	char sig[160];
	_cleanup_free_ char *text = NULL;
	size_t len;
	sig_name(digest, sig, sizeof(sig));
	int r = read_file_at(p->dirfd, sig, &text, &len, SIG_FILE_MAX);
	if (r < 0)
		return err_set(e, r == -ENOENT ? ENOKEY : -r, "image %.12s… is %s", digest,
			       r == -ENOENT ? "not signed" : "signed, but its signature cannot be read");
	struct minisign_sig s;
	if ((r = minisign_sig_parse(text, len, &s, e)) < 0 || (r = minisign_verify_fd(fd, &s, keys, n, e)) < 0)
		return err_prefix(e, "image %.12s…: signature", digest);
	return 0;
}

int image_version_signed(const struct pool *p, const struct isc_config *c, char (*layers)[65], const int *fds,
			 size_t nl, struct isc_err *e)
{
	struct minisign_pub keys[2];
	size_t nk;
	int r = image_trusted_keys(p, c, keys, &nk, e);
	if (r < 0 || nk == 0)
		return r;
	for (size_t i = 0; i < nl; i++) {
		char path[128];
		_cleanup_close_ int own = -1;
		int fd = fds ? fds[i] : -1;
		if (fd < 0) {
			snprintf(path, sizeof(path), "images/%s.erofs", layers[i]);
			if ((own = fd = openat(p->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				return err_set(e, errno, "image %.12s…: %s", layers[i], strerror(errno));
		}
		if ((r = image_signature_check(p, layers[i], fd, keys, nk, e)) < 0)
			return err_prefix(e, "ISC %s requires signatures (require-signature=%s)", c->name,
					  c->require_signature);
	}
	return 0;
}

int image_sign_commit(const struct pool *p, const struct isc_config *c, const char *digest, struct isc_err *e)
{
	if (!c->require_signature[0])
		return 0;
	_cleanup_(minisign_sec_wipe) struct minisign_sec sk;
	int r = image_host_key(p, &sk, e);
	if (r < 0)
		return r;
	char trusted[256];
	snprintf(trusted, sizeof(trusted), "timestamp:%lld\tfile:%s.erofs\tisc:commit of %s",
		 (long long)time(NULL), digest, c->name);
	return image_sign_blob(p, digest, &sk, trusted, e);
}
