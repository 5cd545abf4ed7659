/* verify.c - SHA-256 of images and the boot-time verification cache; iscadm (verify) and iscd (open before boot). */
#include "image-internal.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h>

#define HASH_CHUNK (1 << 20)
#define HASH_AHEAD (4 << 20)

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

/* ---- SHA-256 ------------------------------------------------------------- */

/* OpenSSL's SHA-256 uses the CPU's SHA extensions (libsodium's does not:
 * 0.72 of the read ceiling where OpenSSL keeps up), but loading libcrypto
 * costs every process start 2.5 ms: it is loaded at the first hash of a
 * file or stream, and a start that only meets the verification cache never
 * loads it.  Where it cannot be loaded, libsodium's gives the same digest. */
static struct {
	typeof(&EVP_MD_CTX_new) ctx_new;
	typeof(&EVP_MD_CTX_free) ctx_free;
	typeof(&EVP_sha256) sha256;
	typeof(&EVP_DigestInit_ex) init;
	typeof(&EVP_DigestUpdate) update;
	typeof(&EVP_DigestFinal_ex) final;
	int state;              /* 0 not tried, 1 loaded, -1 not loadable */
} ossl;

static bool ossl_load(void)
{
	static const char soname[] = "libcrypto.so.3";
	if (ossl.state)
		return ossl.state > 0;
	struct isc_err e = { 0 };
	void *h = lib_open(soname, "libssl3", &e);
	const struct lib_sym syms[] = {
		LIB_SYM(ossl.ctx_new, EVP_MD_CTX_new), LIB_SYM(ossl.ctx_free, EVP_MD_CTX_free),
		LIB_SYM(ossl.sha256, EVP_sha256), LIB_SYM(ossl.init, EVP_DigestInit_ex),
		LIB_SYM(ossl.update, EVP_DigestUpdate), LIB_SYM(ossl.final, EVP_DigestFinal_ex),
	};
	ossl.state = h && lib_syms(h, soname, syms, ARRAY_SIZE(syms), &e) == 0 ? 1 : -1;
	return ossl.state > 0;
}

struct image_hash {
	EVP_MD_CTX *ctx;        /* NULL: libsodium's state below */
	crypto_hash_sha256_state st;
};

struct image_hash *image_hash_new(void)
{
	struct image_hash *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	if (ossl_load() && (h->ctx = ossl.ctx_new()) && ossl.init(h->ctx, ossl.sha256(), NULL) != 1) {
		ossl.ctx_free(h->ctx);
		h->ctx = NULL;
	}
	if (!h->ctx)
		crypto_hash_sha256_init(&h->st);
	return h;
}

void image_hash_update(struct image_hash *h, const void *buf, size_t n)
{
	if (h->ctx)
		ossl.update(h->ctx, buf, n);
	else
		crypto_hash_sha256_update(&h->st, buf, n);
}

void image_hash_final(struct image_hash *h, uint8_t md[IMAGE_SHA256_SIZE])
{
	unsigned int n = 0;
	if (h->ctx) {
		ossl.final(h->ctx, md, &n);
		ossl.ctx_free(h->ctx);
	} else {
		crypto_hash_sha256_final(&h->st, md);
	}
	sodium_memzero(h, sizeof(*h));
	free(h);
}

/* A link target or a small file: libsodium, no library to load. */
void image_sha256_buf(const void *buf, size_t len, char out[IMAGE_DIGEST_LEN + 1])
{
	unsigned char md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(md, buf, len);
	hex_encode(md, sizeof(md), out);
}

int image_sha256_fd(int fd, char out[IMAGE_DIGEST_LEN + 1])
{
	_cleanup_free_ unsigned char *buf = malloc(HASH_CHUNK);
	struct image_hash *h = buf ? image_hash_new() : NULL;
	if (!h)
		return -ENOMEM;
	int r = 0;
	/* Cold, the bytes come through the loop device and fscrypt's
	 * decryption (kworkers, any core): ask for the next chunks before
	 * hashing this one, so that reading, decrypting and hashing overlap
	 * (docs/images.md, verification). */
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	/* pread from 0: the caller's file offset neither matters nor moves. */
	for (off_t off = 0; r == 0;) {
		readahead(fd, off + HASH_CHUNK, HASH_AHEAD);
		ssize_t n = pread(fd, buf, HASH_CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else if (n == 0)
			break;
		else
			image_hash_update(h, buf, (size_t)n);
		off += n;
	}
	uint8_t md[IMAGE_SHA256_SIZE];
	image_hash_final(h, md);
	if (r == 0)
		hex_encode(md, sizeof(md), out);
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
