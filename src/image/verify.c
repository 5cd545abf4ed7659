/* verify.c - SHA-256 of images and the boot-time verification cache; iscadm (verify) and iscd (open before boot). */
#include "image-internal.h"

#include <fcntl.h>
#include <openssl/evp.h>

#define HASH_CHUNK (1 << 20)

static void hex_encode(const unsigned char *md, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

bool image_digest_valid(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == IMAGE_DIGEST_LEN;
}

void image_sha256_buf(const void *buf, size_t len, char out[IMAGE_DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, mdlen, out);
}

int image_sha256_fd(int fd, char out[IMAGE_DIGEST_LEN + 1])
{
	_cleanup_free_ unsigned char *buf = malloc(HASH_CHUNK);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r = buf && ctx ? 0 : -ENOMEM;
	if (r == 0 && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		r = -EIO;
	/* pread from 0: the caller's file offset neither matters nor moves. */
	for (off_t off = 0; r == 0;) {
		ssize_t n = pread(fd, buf, HASH_CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else if (n == 0)
			break;
		else if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			r = -EIO;
		off += n;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (r == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		r = -EIO;
	EVP_MD_CTX_free(ctx);
	if (r == 0)
		hex_encode(md, mdlen, out);
	return r;
}

static int image_blob_open(const struct pool *p, const char *digest, struct isc_err *e)
{
	char path[128];
	if (!image_digest_valid(digest))
		return err_set(e, EINVAL, "invalid image digest '%.80s'", digest);
	snprintf(path, sizeof(path), "images/%s.erofs", digest);
	int fd = openat(p->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno, "image %.12s…: %s", digest,
			       errno == ENOENT ? "not in the store" : strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, EINVAL, "image %.12s…: not a regular file", digest);
	}
	return fd;
}

static int image_hash_check(int fd, const char *digest, struct isc_err *e)
{
	char got[IMAGE_DIGEST_LEN + 1];
	int r = image_sha256_fd(fd, got);
	if (r < 0)
		return err_set(e, r, "image %.12s…: read: %s", digest, strerror(-r));
	if (!STREQ(got, digest))
		return err_set(e, EBADMSG, "image %.12s…: digest mismatch (file hashes to %.12s…)",
			       digest, got);
	return 0;
}

int image_verify(const struct pool *p, const char *digest, struct isc_err *e)
{
	_cleanup_close_ int fd = image_blob_open(p, digest, e);
	if (fd < 0)
		return fd;
	return image_hash_check(fd, digest, e);
}

/* ---- verification cache ---------------------------------------------------
 * A record says "this inode, unchanged since, hashed right on this boot".
 * ctime cannot be set from user space, so any write to the file after the
 * hash changes it; the boot id stops a record surviving a reboot in which
 * the pool could have been edited offline.  The cache lives on tmpfs and
 * is trusted only if nobody but us can write it. */

static int boot_id_read(char *buf, size_t size)
{
	_cleanup_close_ int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read_all(fd, buf, size - 1);  /* procfs reports size 0: no read_file_at */
	if (n <= 0)
		return n < 0 ? (int)n : -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf[0] ? 0 : -EIO;
}

static int cache_record_format(int fd, char *buf, size_t size)
{
	struct stat st;
	char boot[64];
	if (fstat(fd, &st) < 0)
		return -errno;
	int r = boot_id_read(boot, sizeof(boot));
	if (r < 0)
		return r;
	snprintf(buf, size, "%llu %llu %lld %lld %lld %s\n", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
		 (long long)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec, boot);
	return 0;
}

/* An fd on cachedir if it is safe to trust, else -errno (the cache is then skipped). */
static int cache_dir_open(const char *cachedir)
{
	if (!cachedir || !*cachedir)
		return -ENOENT;
	int r = mkdir_p_at(AT_FDCWD, cachedir, 0700);
	if (r < 0)
		return r;
	int fd = open(cachedir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static bool cache_hit(int cfd, const char *digest, const char *record)
{
	_cleanup_free_ char *old = NULL;
	if (cfd < 0 || read_file_at(cfd, digest, &old, NULL, 256) < 0)
		return false;
	return STREQ(old, record);
}

int image_open_verified(const struct pool *p, const char *digest, const char *cachedir,
			int *fdp, struct isc_err *e)
{
	char record[256];
	_cleanup_close_ int fd = image_blob_open(p, digest, e);
	if (fd < 0)
		return fd;
	/* Stat before hashing: a write during the hash leaves a record that
	 * can never match again. */
	int r = cache_record_format(fd, record, sizeof(record));
	if (r < 0)
		return err_set(e, r, "image %.12s…: stat: %s", digest, strerror(-r));
	_cleanup_close_ int cfd = cache_dir_open(cachedir);
	if (!cache_hit(cfd, digest, record)) {
		r = image_hash_check(fd, digest, e);
		if (r < 0) {
			if (cfd >= 0)
				unlinkat(cfd, digest, 0);
			return r;
		}
		/* The cache only saves time: failing to record is not an error. */
		if (cfd >= 0)
			write_file_atomic(cfd, digest, record, strlen(record), 0600);
	}
	*fdp = TAKE_FD(fd);
	return 0;
}
