/* wrap.c - seal and open an encryption root's master key (XChaCha20-Poly1305, Argon2id); iscadm and iscd. */
#include "crypt.h"

#include <inttypes.h>
#include <sodium.h>

#define WRAP_MAGIC "isc-wrapped-key 2"
/* Records of format 1 (their AD bound the root's name and the identifier
 * only) are still read; they are sealed again as format 2 when opened. */
#define WRAP_MAGIC_V1 "isc-wrapped-key 1"
/* Argon2id cost for passphrases: a few hundred ms on a small server, and
 * 128 MiB of memory per guess for whoever steals the pool. */
#define WRAP_OPSLIMIT 3ULL
#define WRAP_MEMLIMIT (128ULL << 20)

static int hex_field(const char *val, uint8_t *out, size_t n)
{
	size_t got = 0;
	if (strlen(val) != 2 * n ||
	    sodium_hex2bin(out, n, val, strlen(val), NULL, &got, NULL) < 0 || got != n)
		return -EINVAL;
	return 0;
}

static int u64_field(const char *val, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	if (*val < '0' || *val > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(val, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Each key once; bit i of *seen is field i. */
static const char *const fields[] = {
	"keysource", "generated", "identifier", "kdf", "salt", "opslimit", "memlimit", "nonce", "sealed",
};
enum { F_KEYSOURCE, F_GENERATED, F_IDENTIFIER, F_KDF, F_SALT, F_OPS, F_MEM, F_NONCE, F_SEALED };

static int wrapped_field(struct wrapped *w, const char *key, const char *val, unsigned *seen)
{
	size_t f;
	for (f = 0; f < ARRAY_SIZE(fields); f++)
		if (STREQ(key, fields[f]))
			break;
	if (f == ARRAY_SIZE(fields))
		return -ENOENT;
	if (*seen & (1U << f))
		return -EEXIST;
	*seen |= 1U << f;
	struct keysource ks;
	struct isc_err ignore;
	switch (f) {
	case F_KEYSOURCE:
		if (keysource_parse(val, &ks, &ignore) < 0)
			return -EINVAL;
		return str_copy(w->keysource, sizeof(w->keysource), val);
	case F_GENERATED:
		if (!STREQ(val, "yes") && !STREQ(val, "no"))
			return -EINVAL;
		w->generated = STREQ(val, "yes");
		return 0;
	case F_IDENTIFIER:
		return hex_field(val, w->id, sizeof(w->id));
	case F_KDF:
		if (!STREQ(val, "none") && !STREQ(val, "argon2id"))
			return -EINVAL;
		w->kdf = STREQ(val, "argon2id");
		return 0;
	case F_SALT:
		return hex_field(val, w->salt, sizeof(w->salt));
	/* bounded: a doctored record must not make us burn more than a
	 * gigabyte and twenty passes on one guess */
	case F_OPS:
		return u64_field(val, crypto_pwhash_OPSLIMIT_MIN, 20, &w->opslimit);
	case F_MEM:
		return u64_field(val, crypto_pwhash_MEMLIMIT_MIN, 1ULL << 30, &w->memlimit);
	case F_NONCE:
		return hex_field(val, w->nonce, sizeof(w->nonce));
	case F_SEALED:
		return hex_field(val, w->sealed, sizeof(w->sealed));
	}
	return -ENOENT;
}

int wrapped_parse(const char *text, struct wrapped *w, struct isc_err *e)
{
	memset(w, 0, sizeof(*w));
	if (str_has_prefix(text, WRAP_MAGIC "\n"))
		w->format = 2;
	else if (str_has_prefix(text, WRAP_MAGIC_V1 "\n"))
		w->format = 1;
	else
		return err_set(e, EINVAL, "not an isc wrapped key (bad first line)");
	const char *p = text + strlen(WRAP_MAGIC) + 1;   /* both magics have one length */
	unsigned seen = 0;
	int line = 1;
	while (*p) {
		line++;
		const char *nl = strchr(p, '\n');
		if (!nl)
			return err_set(e, EINVAL, "line %d: no newline at end", line);
		char buf[PATH_MAX + 64];
		size_t len = (size_t)(nl - p);
		if (len >= sizeof(buf))
			return err_set(e, EINVAL, "line %d: too long", line);
		memcpy(buf, p, len);
		buf[len] = '\0';
		p = nl + 1;
		char *eq = strchr(buf, '=');
		if (!eq)
			return err_set(e, EINVAL, "line %d: expected key=value", line);
		*eq = '\0';
		int r = wrapped_field(w, buf, eq + 1, &seen);
		if (r == -ENOENT)
			return err_set(e, EINVAL, "line %d: unknown key '%s'", line, buf);
		if (r == -EEXIST)
			return err_set(e, EINVAL, "line %d: %s given twice", line, buf);
		if (r < 0)
			return err_set(e, EINVAL, "line %d: bad value for %s", line, buf);
	}
	unsigned need = 1U << F_KEYSOURCE | 1U << F_IDENTIFIER | 1U << F_NONCE | 1U << F_SEALED;
	unsigned argon = 1U << F_SALT | 1U << F_OPS | 1U << F_MEM;
	if ((seen & need) != need)
		return err_set(e, EINVAL, "incomplete record (keysource, identifier, nonce, sealed needed)");
	if (w->kdf && (seen & argon) != argon)
		return err_set(e, EINVAL, "argon2id record without its salt and cost");
	if (!w->kdf && (seen & argon))
		return err_set(e, EINVAL, "salt or cost in a record without a kdf");
	return 0;
}

char *wrapped_dump(const struct wrapped *w)
{
	char id[2 * CRYPT_ID_SIZE + 1], salt[33], nonce[49], sealed[2 * sizeof(w->sealed) + 1];
	sodium_bin2hex(id, sizeof(id), w->id, sizeof(w->id));
	sodium_bin2hex(salt, sizeof(salt), w->salt, sizeof(w->salt));
	sodium_bin2hex(nonce, sizeof(nonce), w->nonce, sizeof(w->nonce));
	sodium_bin2hex(sealed, sizeof(sealed), w->sealed, sizeof(w->sealed));
	char *out = NULL;
	int r;
	if (w->kdf)
		r = asprintf(&out, "%s\nkeysource=%s\ngenerated=%s\nidentifier=%s\nkdf=argon2id\n"
			     "salt=%s\nopslimit=%" PRIu64 "\nmemlimit=%" PRIu64 "\nnonce=%s\nsealed=%s\n",
			     w->format == 1 ? WRAP_MAGIC_V1 : WRAP_MAGIC, w->keysource, w->generated ? "yes" : "no", id, salt, w->opslimit,
			     w->memlimit, nonce, sealed);
	else
		r = asprintf(&out, "%s\nkeysource=%s\ngenerated=%s\nidentifier=%s\nkdf=none\n"
			     "nonce=%s\nsealed=%s\n",
			     w->format == 1 ? WRAP_MAGIC_V1 : WRAP_MAGIC, w->keysource, w->generated ? "yes" : "no", id, nonce, sealed);
	return r < 0 ? NULL : out;
}

/* The key that seals: the raw key itself, or Argon2id of the passphrase. */
static int kek_derive(const struct wrapped *w, const struct secret *material, struct secret *kek,
		      struct isc_err *e)
{
	if (secret_alloc(kek, crypto_aead_xchacha20poly1305_ietf_KEYBYTES) < 0)
		return err_set(e, ENOMEM, "out of locked memory");
	if (!w->kdf) {
		if (material->len != kek->len)
			return err_set(e, EINVAL, "a key of %zu bytes where %zu are needed",
				       material->len, kek->len);
		memcpy(kek->buf, material->buf, kek->len);
		return 0;
	}
	if (crypto_pwhash(kek->buf, kek->len, (const char *)material->buf, material->len, w->salt,
			  w->opslimit, (size_t)w->memlimit, crypto_pwhash_ALG_ARGON2ID13) < 0)
		return err_set(e, ENOMEM, "Argon2id needs %" PRIu64 " MiB of memory", w->memlimit >> 20);
	return 0;
}

/* The associated data: the root's name and every field of the record but
 * the nonce and the sealed key itself.  A record copied onto another root,
 * or with its keysource, generated flag, identifier or costs changed, no
 * longer opens. */
static char *ad_make(const struct wrapped *w, const char *ad)
{
	char id[2 * CRYPT_ID_SIZE + 1], salt[33];
	sodium_bin2hex(id, sizeof(id), w->id, sizeof(w->id));
	sodium_bin2hex(salt, sizeof(salt), w->salt, sizeof(w->salt));
	char *out = NULL;
	if (w->format == 1)
		return asprintf(&out, "isc master key v1 %s %s", ad, id) < 0 ? NULL : out;
	if (asprintf(&out, "isc master key v2\nroot=%s\nkeysource=%s\ngenerated=%d\nidentifier=%s\n"
		     "kdf=%d\nsalt=%s\nopslimit=%" PRIu64 "\nmemlimit=%" PRIu64 "\n", ad, w->keysource,
		     w->generated, id, w->kdf, salt, w->opslimit, w->memlimit) < 0)
		return NULL;
	return out;
}

int wrap_seal(struct wrapped *w, const struct keysource *ks, const struct secret *material,
	      const struct secret *master, const char *ad, struct isc_err *e)
{
	if (sodium_init() < 0)
		return err_set(e, ENOSYS, "libsodium failed to initialise");
	w->format = 2;
	keysource_format(ks, w->keysource, sizeof(w->keysource));
	w->kdf = ks->format == KS_PASSPHRASE;
	if (w->kdf) {
		randombytes_buf(w->salt, sizeof(w->salt));
		w->opslimit = WRAP_OPSLIMIT;
		w->memlimit = WRAP_MEMLIMIT;
	} else {
		memset(w->salt, 0, sizeof(w->salt));
		w->opslimit = w->memlimit = 0;
	}
	randombytes_buf(w->nonce, sizeof(w->nonce));
	struct secret kek _cleanup_secret_ = { 0 };
	int r = kek_derive(w, material, &kek, e);
	if (r < 0)
		return r;
	if (master->len != CRYPT_KEY_SIZE)
		return err_set(e, EINVAL, "master key of the wrong size");
	_cleanup_free_ char *adbuf = ad_make(w, ad);
	if (!adbuf)
		return err_set(e, ENOMEM, "out of memory");
	unsigned long long clen = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(w->sealed, &clen, master->buf, master->len,
						   (const unsigned char *)adbuf, strlen(adbuf), NULL,
						   w->nonce, kek.buf);
	return clen == sizeof(w->sealed) ? 0 : err_set(e, EIO, "sealing failed");
}

int wrap_open(const struct wrapped *w, const struct secret *material, const char *ad,
	      struct secret *master, struct isc_err *e)
{
	if (sodium_init() < 0)
		return err_set(e, ENOSYS, "libsodium failed to initialise");
	struct secret kek _cleanup_secret_ = { 0 };
	int r = kek_derive(w, material, &kek, e);
	if (r < 0)
		return r;
	if (secret_alloc(master, CRYPT_KEY_SIZE) < 0)
		return err_set(e, ENOMEM, "out of locked memory");
	_cleanup_free_ char *adbuf = ad_make(w, ad);
	if (!adbuf) {
		secret_free(master);
		return err_set(e, ENOMEM, "out of memory");
	}
	unsigned long long mlen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(master->buf, &mlen, NULL, w->sealed,
						       sizeof(w->sealed), (const unsigned char *)adbuf,
						       strlen(adbuf), w->nonce, kek.buf) < 0 ||
	    mlen != CRYPT_KEY_SIZE) {
		secret_free(master);
		return err_set(e, EKEYREJECTED, "wrong key");
	}
	return 0;
}
