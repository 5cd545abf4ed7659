/* verify.c - SHA-256 and the tree digest of images, and the boot-time verification cache; iscadm (verify) and iscd (open before boot). */
#include "image-internal.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/uio.h>
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

/* One SHA-256 in steps: OpenSSL's where loaded (the context is kept for
 * the next start), else libsodium's; both give the same digest. */
struct sha {
	EVP_MD_CTX *ctx;
	crypto_hash_sha256_state st;
};

static void sha_start(struct sha *s)
{
	if (!s->ctx && ossl_load())
		s->ctx = ossl.ctx_new();
	if (s->ctx && ossl.init(s->ctx, ossl.sha256(), NULL) != 1) {
		ossl.ctx_free(s->ctx);
		s->ctx = NULL;
	}
	if (!s->ctx)
		crypto_hash_sha256_init(&s->st);
}

static void sha_update(struct sha *s, const void *buf, size_t n)
{
	if (s->ctx)
		ossl.update(s->ctx, buf, n);
	else
		crypto_hash_sha256_update(&s->st, buf, n);
}

static void sha_finish(struct sha *s, uint8_t md[IMAGE_SHA256_SIZE])
{
	unsigned int n = 0;
	if (s->ctx)
		ossl.final(s->ctx, md, &n);
	else
		crypto_hash_sha256_final(&s->st, md);
}

static void sha_free(struct sha *s)
{
	if (s->ctx)
		ossl.ctx_free(s->ctx);
	sodium_memzero(s, sizeof(*s));
}

/* ---- the tree digest ------------------------------------------------------
 * An image's name (docs/images.md): leaf i is the SHA-256 of the file's
 * bytes [i MiB, i+1 MiB) (the last one shorter, none for an empty file);
 * the digest is the SHA-256 of TREE_DOMAIN with its NUL, the leaves in
 * order, and the file's size as 8 bytes little-endian.  Leaves are
 * independent, so every core hashes; one SHA-256 chain cannot. */
#define TREE_LEAF (1u << 20)
#define TREE_PIECE (128u << 10)   /* read into a buffer the hash then reads from cache */
#define TREE_THREADS 8
static const char TREE_DOMAIN[] = "isc-tree-v1";

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void tree_root_start(struct sha *root)
{
	sha_start(root);
	sha_update(root, TREE_DOMAIN, sizeof(TREE_DOMAIN));
}

static void tree_root_finish(struct sha *root, uint64_t size, uint8_t md[IMAGE_SHA256_SIZE])
{
	uint8_t le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(size >> (8 * i));
	sha_update(root, le, sizeof(le));
	sha_finish(root, md);
}

struct image_hash {
	bool tree;
	struct sha root;        /* flat: the one chain */
	struct sha leaf;
	uint64_t size;
	size_t inleaf;          /* bytes in the open leaf */
};

struct image_hash *image_hash_new(bool flat)
{
	struct image_hash *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->tree = !flat;
	if (h->tree)
		tree_root_start(&h->root);
	else
		sha_start(&h->root);
	return h;
}

static void leaf_close(struct image_hash *h)
{
	uint8_t md[IMAGE_SHA256_SIZE];
	sha_finish(&h->leaf, md);
	sha_update(&h->root, md, sizeof(md));
	h->inleaf = 0;
}

void image_hash_update(struct image_hash *h, const void *buf, size_t n)
{
	const uint8_t *b = buf;
	if (!h->tree) {
		sha_update(&h->root, b, n);
		return;
	}
	while (n) {
		if (h->inleaf == 0)
			sha_start(&h->leaf);
		size_t k = (size_t)min_u64(n, TREE_LEAF - h->inleaf);
		sha_update(&h->leaf, b, k);
		h->inleaf += k;
		h->size += k;
		b += k;
		n -= k;
		if (h->inleaf == TREE_LEAF)
			leaf_close(h);
	}
}

void image_hash_final(struct image_hash *h, uint8_t md[IMAGE_SHA256_SIZE])
{
	if (!h->tree) {
		sha_finish(&h->root, md);
	} else {
		if (h->inleaf)
			leaf_close(h);
		tree_root_finish(&h->root, h->size, md);
	}
	sha_free(&h->root);
	sha_free(&h->leaf);
	sodium_memzero(h, sizeof(*h));
	free(h);
}

struct tree_job {
	int fd;
	uint64_t size, nleaves;
	uint8_t (*leaves)[IMAGE_SHA256_SIZE];
	atomic_uint_fast64_t next;      /* the next leaf anyone takes */
	atomic_int err;
};

static int leaf_hash(struct tree_job *j, uint64_t i, struct sha *s, unsigned char *buf)
{
	off_t off = (off_t)(i * TREE_LEAF);
	uint64_t left = min_u64(TREE_LEAF, j->size - i * TREE_LEAF);
	bool asked = false;
	sha_start(s);
	while (left) {
		/* Warm, the page cache has it all and nothing more is asked of
		 * the kernel.  Cold (RWF_NOWAIT finds a page missing), the next
		 * leaves are asked for: they come through the loop device and
		 * fscrypt's decryption while this one is hashed. */
		struct iovec iov = { buf, (size_t)min_u64(left, TREE_PIECE) };
		ssize_t n = preadv2(j->fd, &iov, 1, off, asked ? 0 : RWF_NOWAIT);
		if (n < 0 && !asked && (errno == EAGAIN || errno == EOPNOTSUPP)) {
			readahead(j->fd, off + TREE_LEAF, HASH_AHEAD);
			asked = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ESTALE;  /* shorter than when it was measured */
		sha_update(s, buf, (size_t)n);
		off += n;
		left -= (uint64_t)n;
	}
	sha_finish(s, j->leaves[i]);
	return 0;
}

static void *tree_worker(void *arg)
{
	struct tree_job *j = arg;
	struct sha s = { 0 };
	unsigned char *buf = malloc(TREE_PIECE);
	int r = buf ? 0 : -ENOMEM;
	while (r == 0 && atomic_load(&j->err) == 0) {
		uint64_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->nleaves)
			break;
		r = leaf_hash(j, i, &s, buf);
	}
	int none = 0;
	if (r < 0)
		atomic_compare_exchange_strong(&j->err, &none, r);
	sha_free(&s);
	free(buf);
	return NULL;
}

static unsigned tree_threads(uint64_t nleaves)
{
	cpu_set_t set;
	long n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
	uint64_t t = min_u64(min_u64(n > 0 ? (uint64_t)n : 1, TREE_THREADS), nleaves);
	return t ? (unsigned)t : 1;
}

static int tree_digest_fd(int fd, uint8_t md[IMAGE_SHA256_SIZE])
{
	struct stat st, after;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	struct tree_job j = { .fd = fd, .size = (uint64_t)st.st_size };
	j.nleaves = (j.size + TREE_LEAF - 1) / TREE_LEAF;
	_cleanup_free_ uint8_t (*leaves)[IMAGE_SHA256_SIZE] = calloc(j.nleaves ? j.nleaves : 1, sizeof(*leaves));
	if (!leaves)
		return -ENOMEM;
	j.leaves = leaves;
	atomic_init(&j.next, 0);
	atomic_init(&j.err, 0);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	ossl_load();  /* here, before any thread looks */
	/* helpers take no signals: the caller's handlers run where it expects */
	pthread_t tid[TREE_THREADS];
	unsigned nt = 0, want = tree_threads(j.nleaves);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (nt + 1 < want && pthread_create(&tid[nt], NULL, tree_worker, &j) == 0)
		nt++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	tree_worker(&j);  /* and this thread too; fewer helpers only cost time */
	for (unsigned i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);
	int r = atomic_load(&j.err);
	if (r < 0)
		return r;
	/* grown or rewritten while read: what was hashed is not what is there */
	if (fstat(fd, &after) < 0)
		return -errno;
	if (after.st_size != st.st_size || after.st_ctim.tv_sec != st.st_ctim.tv_sec ||
	    after.st_ctim.tv_nsec != st.st_ctim.tv_nsec)
		return -ESTALE;
	struct sha root = { 0 };
	tree_root_start(&root);
	sha_update(&root, leaves, j.nleaves * sizeof(*leaves));
	tree_root_finish(&root, j.size, md);
	sha_free(&root);
	return 0;
}

int image_digest_fd(int fd, bool flat, char out[IMAGE_DIGEST_LEN + 1])
{
	if (flat)
		return image_sha256_fd(fd, out);
	uint8_t md[IMAGE_SHA256_SIZE];
	int r = tree_digest_fd(fd, md);
	if (r == 0)
		hex_encode(md, sizeof(md), out);
	return r;
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
	struct image_hash *h = buf ? image_hash_new(true) : NULL;
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

static int image_hash_check(const struct pool *p, int fd, const char *digest, struct isc_err *e)
{
	char got[IMAGE_DIGEST_LEN + 1];
	int r = image_digest_fd(fd, p->flat_digest, got);
	if (r == -ESTALE)
		return err_set(e, EBUSY, "image %.12s…: changed while it was being verified", digest);
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
	return image_hash_check(p, fd, digest, e);
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
		r = image_hash_check(p, fd, digest, e);
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
