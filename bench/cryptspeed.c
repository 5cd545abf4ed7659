/* cryptspeed.c - raw speed of the crypto isc leans on, for bench/aesni.sh and bench/verity.sh:
 * AES-256-XTS in 4 KiB data units (as fscrypt encrypts file contents) through the kernel (AF_ALG,
 * one driver named) or OpenSSL, isc's own SHA-256 and tree digest of an image file (image_digest_fd), and
 * fs-verity's O(1) file digest.
 *
 *   bench-cryptspeed xts DRIVER [MIB]    kernel skcipher DRIVER (e.g. xts-aes-aesni,
 *                                        xts(ecb(aes-generic))); prints "MB/s driver"
 *   bench-cryptspeed xts-openssl [MIB]   OpenSSL's EVP_aes_256_xts (OPENSSL_ia32cap picks the code)
 *   bench-cryptspeed sha256 FILE         the file's SHA-256, one chain; prints "ms MB/s digest"
 *   bench-cryptspeed digest FILE         isc's image digest (the tree digest, every core); the same
 *   bench-cryptspeed measure FILE        FS_IOC_MEASURE_VERITY, what isc would call at boot on an
 *                                        fs-verity image; prints "ms sha256:digest"
 *
 * MIB defaults to 256.  Decryption is timed (what a read pays); every 4 KiB unit gets its own
 * tweak, the unit's index, as fscrypt's v2 IV.  Exit 77 when the kernel offers no AF_ALG
 * skcipher or no such driver.  A benchmark helper: no isc state is touched.
 */
#include "image.h"

#include <fcntl.h>
#include <linux/fsverity.h>
#include <linux/if_alg.h>
#include <sys/ioctl.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <time.h>

#ifndef SOL_ALG
#define SOL_ALG 279
#endif

#define UNIT 4096
#define KEYLEN 64  /* AES-256-XTS: two 256-bit keys */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double mb_per_s(uint64_t bytes, int64_t ns)
{
	return ns > 0 ? (double)bytes / 1e6 / ((double)ns / 1e9) : 0;
}

static void key_fill(unsigned char *key)
{
	/* the two halves must differ (the kernel's xts_verify_key refuses equal ones) */
	for (int i = 0; i < KEYLEN; i++)
		key[i] = (unsigned char)(i * 7 + 1);
}

/* One data unit through an AF_ALG operation socket: op + IV + data in, data out. */
static int alg_unit(int opfd, uint64_t index, unsigned char *buf)
{
	char cbuf[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct af_alg_iv) + 16)] = {0};
	struct iovec iov = { .iov_base = buf, .iov_len = UNIT };
	struct msghdr msg = { .msg_control = cbuf, .msg_controllen = sizeof(cbuf),
			      .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_OP;
	c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
	*(uint32_t *)(void *)CMSG_DATA(c) = ALG_OP_DECRYPT;
	c = CMSG_NXTHDR(&msg, c);
	c->cmsg_level = SOL_ALG;
	c->cmsg_type = ALG_SET_IV;
	c->cmsg_len = CMSG_LEN(sizeof(struct af_alg_iv) + 16);
	struct af_alg_iv *iv = (void *)CMSG_DATA(c);
	iv->ivlen = 16;
	memset(iv->iv, 0, 16);
	memcpy(iv->iv, &index, sizeof(index));  /* little-endian, as fscrypt's lblk_num */
	if (sendmsg(opfd, &msg, 0) != UNIT)
		return -errno;
	return read(opfd, buf, UNIT) == UNIT ? 0 : -EIO;
}

static int xts_kernel(const char *driver, uint64_t bytes)
{
	struct sockaddr_alg sa = { .salg_family = AF_ALG, .salg_type = "skcipher" };
	snprintf((char *)sa.salg_name, sizeof(sa.salg_name), "%s", driver);
	_cleanup_close_ int tfm = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (tfm < 0) {
		printf("unavailable: socket(AF_ALG): %s (kernel without CONFIG_CRYPTO_USER_API_SKCIPHER)\n",
		       strerror(errno));
		return 77;
	}
	if (bind(tfm, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("unavailable: %s: %s\n", driver, strerror(errno));
		return 77;
	}
	unsigned char key[KEYLEN];
	key_fill(key);
	if (setsockopt(tfm, SOL_ALG, ALG_SET_KEY, key, sizeof(key)) < 0)
		return printf("setkey %s: %s\n", driver, strerror(errno)), 1;
	_cleanup_close_ int op = accept4(tfm, NULL, NULL, SOCK_CLOEXEC);
	if (op < 0)
		return printf("accept %s: %s\n", driver, strerror(errno)), 1;
	unsigned char buf[UNIT];
	memset(buf, 0xa5, sizeof(buf));
	for (uint64_t i = 0; i < 64; i++)  /* warm up: first use instantiates the template */
		if (alg_unit(op, i, buf) < 0)
			return printf("%s: %s\n", driver, strerror(errno)), 1;
	int64_t t0 = now_ns();
	for (uint64_t i = 0; i < bytes / UNIT; i++)
		if (alg_unit(op, i, buf) < 0)
			return printf("%s: %s\n", driver, strerror(errno)), 1;
	printf("%.1f %s\n", mb_per_s(bytes, now_ns() - t0), driver);
	return 0;
}

static int xts_openssl(uint64_t bytes)
{
	unsigned char key[KEYLEN], iv[16] = {0}, in[UNIT], out[UNIT];
	key_fill(key);
	memset(in, 0xa5, sizeof(in));
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_DecryptInit_ex(ctx, EVP_aes_256_xts(), NULL, key, NULL) != 1)
		return printf("EVP_aes_256_xts: init failed\n"), 1;
	int len, r = 0;
	int64_t t0 = now_ns();
	for (uint64_t i = 0; i < bytes / UNIT && r == 0; i++) {
		memcpy(iv, &i, sizeof(i));
		if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1 ||
		    EVP_DecryptUpdate(ctx, out, &len, in, UNIT) != 1)
			r = 1;
	}
	int64_t ns = now_ns() - t0;
	EVP_CIPHER_CTX_free(ctx);
	if (r)
		return printf("EVP_aes_256_xts: decrypt failed\n"), 1;
	printf("%.1f openssl-%s\n", mb_per_s(bytes, ns), OpenSSL_version(OPENSSL_VERSION_STRING));
	return 0;
}

static int sha256_file(const char *path, bool flat)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return printf("%s: %s\n", path, strerror(errno)), 1;
	char digest[IMAGE_DIGEST_LEN + 1];
	int64_t t0 = now_ns();
	int r = image_digest_fd(fd, flat, digest);
	int64_t ns = now_ns() - t0;
	if (r < 0)
		return printf("%s: %s\n", path, strerror(-r)), 1;
	printf("%.1f %.1f %s\n", (double)ns / 1e6, mb_per_s((uint64_t)st.st_size, ns), digest);
	return 0;
}

/* fs-verity's file digest: O(1), the kernel hashes the stored root hash and descriptor. */
static int verity_measure(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return printf("%s: %s\n", path, strerror(errno)), 1;
	union {
		struct fsverity_digest d;
		unsigned char space[sizeof(struct fsverity_digest) + 64];
	} u = { .d.digest_size = 64 };
	int64_t t0 = now_ns();
	int r = ioctl(fd, FS_IOC_MEASURE_VERITY, &u.d);
	int64_t ns = now_ns() - t0;
	if (r < 0)
		return printf("%s: FS_IOC_MEASURE_VERITY: %s\n", path, strerror(errno)), 1;
	char hex[2 * 64 + 1];
	for (unsigned i = 0; i < u.d.digest_size && i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02x", u.d.digest[i]);
	printf("%.3f %s:%s\n", (double)ns / 1e6, u.d.digest_algorithm == FS_VERITY_HASH_ALG_SHA256 ?
	       "sha256" : "other", hex);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	uint64_t mib = 256;
	if (STREQ(cmd, "xts") && argc >= 3) {
		if (argc > 3)
			mib = strtoull(argv[3], NULL, 10);
		return xts_kernel(argv[2], mib << 20);
	}
	if (STREQ(cmd, "xts-openssl")) {
		if (argc > 2)
			mib = strtoull(argv[2], NULL, 10);
		return xts_openssl(mib << 20);
	}
	if (STREQ(cmd, "sha256") && argc == 3)
		return sha256_file(argv[2], true);
	if (STREQ(cmd, "digest") && argc == 3)
		return sha256_file(argv[2], false);
	if (STREQ(cmd, "measure") && argc == 3)
		return verity_measure(argv[2]);
	fprintf(stderr, "usage: bench-cryptspeed xts DRIVER [MIB] | xts-openssl [MIB] | sha256 FILE | digest FILE | measure FILE\n");
	return 2;
}
