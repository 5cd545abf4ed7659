/* minisign.c - Ed25519 signatures in minisign's formats (keys, prehashed
 * signatures with a trusted comment), so Debian's minisign and isc sign
 * and verify each other's; iscadm and iscd. */
#include "crypt.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>

#define UNTRUSTED "untrusted comment: "
#define TRUSTED "trusted comment: "
#define HASH_CHUNK (1 << 20)
/* key and signature files are a few lines: anything longer is not one */
#define MINISIGN_FILE_MAX 4096

/* A line of text: [p, p+len), without its newline; *next after it. */
static bool line_take(const char **cur, const char *end, const char **p, size_t *len)
{
	if (*cur >= end)
		return false;
	const char *nl = memchr(*cur, '\n', (size_t)(end - *cur));
	*p = *cur;
	*len = (size_t)((nl ? nl : end) - *cur);
	if (*len && (*p)[*len - 1] == '\r')
		(*len)--;
	*cur = nl ? nl + 1 : end;
	return true;
}

/* Exactly n bytes of base64 (the original alphabet, padded). */
static bool b64_exact(const char *p, size_t len, unsigned char *out, size_t n)
{
	size_t got = 0;
	const char *endp = NULL;
	return sodium_base642bin(out, n, p, len, NULL, &got, &endp, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	       got == n && endp == p + len;
}

static bool prefix(const char *p, size_t len, const char *pre)
{
	size_t n = strlen(pre);
	return len >= n && memcmp(p, pre, n) == 0;
}

int minisign_pub_parse(const char *text, size_t len, struct minisign_pub *pk, struct isc_err *e)
{
	const char *cur = text, *end = text + len, *l;
	size_t n;
	unsigned char raw[2 + MINISIGN_KEYNUM + 32];
	/* the comment line is optional in a key given as one line (minisign -P) */
	if (!line_take(&cur, end, &l, &n))
		return err_set(e, EINVAL, "empty public key");
	if (prefix(l, n, UNTRUSTED) && !line_take(&cur, end, &l, &n))
		return err_set(e, EINVAL, "public key: no key after the comment");
	if (!b64_exact(l, n, raw, sizeof(raw)) || memcmp(raw, "Ed", 2) != 0)
		return err_set(e, EINVAL, "not a minisign public key (base64 of an Ed25519 key expected)");
	memcpy(pk->keynum, raw + 2, MINISIGN_KEYNUM);
	memcpy(pk->pk, raw + 2 + MINISIGN_KEYNUM, 32);
	return 0;
}

int minisign_pub_load(const char *path, struct minisign_pub *pk, struct isc_err *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file_at(AT_FDCWD, path, &text, &len, MINISIGN_FILE_MAX);
	if (r < 0)
		return err_set(e, -r, "public key %s: %s", path, r == -EFBIG ? "too large" : strerror(-r));
	r = minisign_pub_parse(text, len, pk, e);
	return r < 0 ? err_prefix(e, "%s", path) : 0;
}

/* Secret key: Ed, kdf (Sc or none), B2, salt, opslimit, memlimit, then
 * keynum, secret key and a BLAKE2b checksum, XORed with scrypt's output
 * when a password protects them. */
struct sec_raw {
	unsigned char sig_alg[2], kdf_alg[2], chk_alg[2], salt[32], ops[8], mem[8];
	unsigned char keynum[MINISIGN_KEYNUM], sk[64], chk[32];
};
_Static_assert(sizeof(struct sec_raw) == 158, "minisign's secret key layout");

static uint64_t le64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static void checksum(const struct sec_raw *s, unsigned char out[32])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, s->sig_alg, 2);
	crypto_generichash_update(&st, s->keynum, MINISIGN_KEYNUM);
	crypto_generichash_update(&st, s->sk, 64);
	crypto_generichash_final(&st, out, 32);
}

int minisign_sec_load(const char *path, const char *whom, struct minisign_sec *out, struct isc_err *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len, n;
	const char *l, *cur;
	int r = read_file_at(AT_FDCWD, path, &text, &len, MINISIGN_FILE_MAX);
	if (r < 0)
		return err_set(e, -r, "secret key %s: %s", path, strerror(-r));
	_cleanup_secret_ struct secret raw = { 0 };
	if (secret_alloc(&raw, sizeof(struct sec_raw)) < 0)
		return err_set(e, ENOMEM, "out of memory");
	struct sec_raw *s = (struct sec_raw *)raw.buf;
	cur = text;
	if (!line_take(&cur, text + len, &l, &n) || !prefix(l, n, UNTRUSTED) ||
	    !line_take(&cur, text + len, &l, &n) || !b64_exact(l, n, raw.buf, raw.len) ||
	    memcmp(s->sig_alg, "Ed", 2) != 0 || memcmp(s->chk_alg, "B2", 2) != 0)
		return err_set(e, EINVAL, "%s: not a minisign secret key", path);
	sodium_memzero(text, len);
	bool encrypted = memcmp(s->kdf_alg, "Sc", 2) == 0;
	if (!encrypted && memcmp(s->kdf_alg, "\0\0", 2) != 0)
		return err_set(e, EINVAL, "%s: unknown key derivation", path);
	if (encrypted) {
		struct keysource ks = { .format = KS_PASSPHRASE, .location = KS_PROMPT };
		_cleanup_secret_ struct secret pass = { 0 }, stream = { 0 };
		if ((r = keysource_read(&ks, whom, false, &pass, e)) < 0)
			return r;
		if (secret_alloc(&stream, MINISIGN_KEYNUM + 64 + 32) < 0)
			return err_set(e, ENOMEM, "out of memory");
		/* the cost is what the key file says, within libsodium's bounds */
		if (crypto_pwhash_scryptsalsa208sha256(stream.buf, stream.len, (const char *)pass.buf, pass.len,
						       s->salt, le64(s->ops), (size_t)le64(s->mem)) != 0)
			return err_set(e, ENOMEM, "%s: scrypt with this key's parameters failed", path);
		for (size_t i = 0; i < stream.len; i++)
			s->keynum[i] ^= stream.buf[i];   /* keynum, sk and chk are contiguous */
	}
	/* the checksum tells a wrong password; minisign -W leaves it zero */
	unsigned char chk[32];
	checksum(s, chk);
	if ((encrypted || !sodium_is_zero(s->chk, 32)) && sodium_memcmp(chk, s->chk, 32) != 0)
		return err_set(e, EKEYREJECTED, "%s: %s", path,
			       encrypted ? "wrong password" : "corrupt secret key (checksum)");
	memcpy(out->keynum, s->keynum, MINISIGN_KEYNUM);
	memcpy(out->sk, s->sk, 64);
	return 0;
}

/* BLAKE2b-512 of everything readable from fd, from offset 0: what a
 * prehashed ("ED") signature signs. */
static int hash_fd(int fd, unsigned char out[64])
{
	_cleanup_free_ unsigned char *buf = malloc(HASH_CHUNK);
	if (!buf)
		return -ENOMEM;
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 64);
	for (off_t off = 0;;) {
		ssize_t n = pread(fd, buf, HASH_CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		crypto_generichash_update(&st, buf, (size_t)n);
		off += n;
	}
	crypto_generichash_final(&st, out, 64);
	return 0;
}

void minisign_sec_wipe(struct minisign_sec *sk)
{
	sodium_memzero(sk, sizeof(*sk));
}

int minisign_sign_fd(int fd, const struct minisign_sec *sk, const char *trusted, char **text,
		     struct isc_err *e)
{
	unsigned char h[64], sig[2 + MINISIGN_KEYNUM + 64], global[64];
	int r = hash_fd(fd, h);
	if (r < 0)
		return err_set(e, -r, "read: %s", strerror(-r));
	memcpy(sig, "ED", 2);
	memcpy(sig + 2, sk->keynum, MINISIGN_KEYNUM);
	crypto_sign_detached(sig + 2 + MINISIGN_KEYNUM, NULL, h, sizeof(h), sk->sk);
	/* the trusted comment is bound to the signature by a second one */
	size_t tl = strlen(trusted);
	_cleanup_free_ unsigned char *g = malloc(64 + tl);
	if (!g)
		return err_set(e, ENOMEM, "out of memory");
	memcpy(g, sig + 2 + MINISIGN_KEYNUM, 64);
	memcpy(g + 64, trusted, tl);
	crypto_sign_detached(global, NULL, g, 64 + tl, sk->sk);
	char b1[sodium_base64_ENCODED_LEN(sizeof(sig), sodium_base64_VARIANT_ORIGINAL)];
	char b2[sodium_base64_ENCODED_LEN(sizeof(global), sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(b1, sizeof(b1), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(b2, sizeof(b2), global, sizeof(global), sodium_base64_VARIANT_ORIGINAL);
	if (asprintf(text, UNTRUSTED "signature from isc\n%s\n" TRUSTED "%s\n%s\n", b1, trusted, b2) < 0)
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

int minisign_sig_parse(const char *text, size_t len, struct minisign_sig *s, struct isc_err *e)
{
	const char *cur = text, *end = text + len, *l;
	size_t n;
	unsigned char raw[2 + MINISIGN_KEYNUM + 64];
	if (!line_take(&cur, end, &l, &n) || !prefix(l, n, UNTRUSTED))
		return err_set(e, EINVAL, "not a minisign signature (no comment line)");
	if (!line_take(&cur, end, &l, &n) || !b64_exact(l, n, raw, sizeof(raw)))
		return err_set(e, EINVAL, "not a minisign signature");
	if (memcmp(raw, "Ed", 2) == 0)
		return err_set(e, ENOTSUP, "a legacy signature (minisign -l): sign again without -l");
	if (memcmp(raw, "ED", 2) != 0)
		return err_set(e, EINVAL, "unknown signature algorithm");
	memcpy(s->keynum, raw + 2, MINISIGN_KEYNUM);
	memcpy(s->sig, raw + 2 + MINISIGN_KEYNUM, 64);
	if (!line_take(&cur, end, &l, &n) || !prefix(l, n, TRUSTED))
		return err_set(e, EINVAL, "minisign signature: no trusted comment");
	n -= strlen(TRUSTED);
	if (n >= sizeof(s->trusted))
		return err_set(e, EINVAL, "minisign signature: trusted comment too long");
	memcpy(s->trusted, l + strlen(TRUSTED), n);
	s->trusted[n] = '\0';
	s->trusted_len = n;
	if (!line_take(&cur, end, &l, &n) || !b64_exact(l, n, s->global, sizeof(s->global)))
		return err_set(e, EINVAL, "minisign signature: no global signature");
	while (line_take(&cur, end, &l, &n))
		if (n)
			return err_set(e, EINVAL, "minisign signature: text after the signature");
	return 0;
}

int minisign_verify_fd(int fd, const struct minisign_sig *s, const struct minisign_pub *keys, size_t nkeys,
		       struct isc_err *e)
{
	const struct minisign_pub *pk = NULL;
	for (size_t i = 0; i < nkeys && !pk; i++)
		if (memcmp(keys[i].keynum, s->keynum, MINISIGN_KEYNUM) == 0)
			pk = &keys[i];
	if (!pk)
		return err_set(e, EKEYREJECTED, "signed by key %016" PRIX64 ", which is not trusted",
			       le64(s->keynum));
	unsigned char h[64];
	int r = hash_fd(fd, h);
	if (r < 0)
		return err_set(e, -r, "read: %s", strerror(-r));
	if (crypto_sign_verify_detached(s->sig, h, sizeof(h), pk->pk) != 0)
		return err_set(e, EBADMSG, "signature does not match the content");
	_cleanup_free_ unsigned char *g = malloc(64 + s->trusted_len);
	if (!g)
		return err_set(e, ENOMEM, "out of memory");
	memcpy(g, s->sig, 64);
	memcpy(g + 64, s->trusted, s->trusted_len);
	if (crypto_sign_verify_detached(s->global, g, 64 + s->trusted_len, pk->pk) != 0)
		return err_set(e, EBADMSG, "the trusted comment was altered");
	return 0;
}

int minisign_keypair_make(int dirfd, const char *sec, const char *pub, struct isc_err *e)
{
	_cleanup_secret_ struct secret raw = { 0 };
	if (secret_alloc(&raw, sizeof(struct sec_raw)) < 0)
		return err_set(e, ENOMEM, "out of memory");
	struct sec_raw *s = (struct sec_raw *)raw.buf;
	unsigned char pk[32];
	memset(s, 0, sizeof(*s));
	memcpy(s->sig_alg, "Ed", 2);
	memcpy(s->chk_alg, "B2", 2);          /* kdf none: the pool is the key's protection */
	randombytes_buf(s->keynum, MINISIGN_KEYNUM);
	crypto_sign_keypair(pk, s->sk);
	checksum(s, s->chk);
	char b64[sodium_base64_ENCODED_LEN(sizeof(struct sec_raw), sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(b64, sizeof(b64), raw.buf, raw.len, sodium_base64_VARIANT_ORIGINAL);
	char text[sizeof(b64) + 128];
	int n = snprintf(text, sizeof(text), UNTRUSTED "isc host signing key (unencrypted)\n%s\n", b64);
	char stext[sizeof(text)];
	memcpy(stext, text, sizeof(text));
	sodium_memzero(text, sizeof(text));
	unsigned char praw[2 + MINISIGN_KEYNUM + 32];
	memcpy(praw, "Ed", 2);
	memcpy(praw + 2, s->keynum, MINISIGN_KEYNUM);
	memcpy(praw + 2 + MINISIGN_KEYNUM, pk, 32);
	char pb[sodium_base64_ENCODED_LEN(sizeof(praw), sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(pb, sizeof(pb), praw, sizeof(praw), sodium_base64_VARIANT_ORIGINAL);
	int pn = snprintf(text, sizeof(text), UNTRUSTED "minisign public key %016" PRIX64 "\n%s\n",
		     le64(s->keynum), pb);
	/* the public half first: a secret key on disk always has its public key */
	int r = write_file_atomic(dirfd, pub, text, (size_t)pn, 0644);
	if (r == 0)
		r = write_file_atomic(dirfd, sec, stext, (size_t)n, 0600);
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(stext, sizeof(stext));
	return r < 0 ? err_set(e, -r, "%s: %s", sec, strerror(-r)) : 0;
}
