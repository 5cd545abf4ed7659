/* crypt.h - fscrypt v2 ioctls, keysources and key wrapping (libsodium); used
 * by iscadm and iscd.  Key material lives only in sodium_malloc'd (locked,
 * guarded) buffers and is wiped when freed. */
#pragma once

#include "common.h"

#include <limits.h>
#include <stdint.h>

#define CRYPT_KEY_SIZE 32         /* master and wrapping keys: 256 bits */
#define CRYPT_ID_SIZE 16          /* fscrypt v2 key identifier */
#define CRYPT_PASS_MIN 8
#define CRYPT_PASS_MAX 512

/* A secret: locked memory, wiped on free. */
struct secret {
	unsigned char *buf;
	size_t len;
};
int secret_alloc(struct secret *s, size_t len);
void secret_free(struct secret *s);
static inline void secret_freep(struct secret *s) { secret_free(s); }
#define _cleanup_secret_ _cleanup_(secret_freep)
int secret_random(struct secret *s, size_t len);

/* ---- fscrypt (fscrypt.c) -------------------------------------------------
 * fd is any file or directory on the filesystem whose keyring is meant. */
enum fscrypt_status {
	FSCRYPT_ABSENT,
	FSCRYPT_PRESENT,
	FSCRYPT_REMOVING,          /* removed, but files were still in use */
};
int fscrypt_key_add(int fd, const struct secret *key, uint8_t id[CRYPT_ID_SIZE], struct isc_err *e);
/* Remove for all users.  *busy is set when files still held it open. */
int fscrypt_key_remove(int fd, const uint8_t id[CRYPT_ID_SIZE], bool *busy, struct isc_err *e);
int fscrypt_key_status(int fd, const uint8_t id[CRYPT_ID_SIZE], enum fscrypt_status *st,
		       struct isc_err *e);
/* Set a v2 policy (AES-256-XTS contents, AES-256-CTS names) on an empty directory. */
int fscrypt_policy_set(int dirfd, const uint8_t id[CRYPT_ID_SIZE], struct isc_err *e);
/* The directory's v2 key identifier: 0, -ENODATA when not encrypted. */
int fscrypt_policy_get(int dirfd, uint8_t id[CRYPT_ID_SIZE]);
/* Does the filesystem under fd support fscrypt? */
bool fscrypt_supported(int fd);

/* ---- keysources (keysource.c) ---------------------------------------------
 * FORMAT,LOCATION: raw|hex|passphrase , file:///abs/path|prompt */
enum ks_format { KS_RAW, KS_HEX, KS_PASSPHRASE };
enum ks_location { KS_FILE, KS_PROMPT };
struct keysource {
	enum ks_format format;
	enum ks_location location;
	char path[PATH_MAX];
};
int keysource_parse(const char *text, struct keysource *ks, struct isc_err *e);
void keysource_format(const struct keysource *ks, char *buf, size_t n);
/* Read the key material: 32 bytes for raw/hex, the passphrase otherwise.
 * whom names the owner in prompts and errors ("ISC web").  confirm asks a
 * prompted passphrase twice (when it is being set). */
int keysource_read(const struct keysource *ks, const char *whom, bool confirm,
		   struct secret *out, struct isc_err *e);
/* Make a new random raw key file (0600, never overwriting). */
int keysource_generate(const char *path, struct isc_err *e);

/* ---- wrapping (wrap.c) ----------------------------------------------------
 * The pool's record of an encryption root: its master key sealed with
 * XChaCha20-Poly1305 under a key from the keysource (Argon2id for
 * passphrases).  Text, one key=value per line; see docs/encryption.md. */
struct wrapped {
	int format;                   /* 2; 1: read, its AD bound name and identifier only */
	char keysource[PATH_MAX + 32];
	bool generated;               /* keysource file made by isc: removed with the root */
	uint8_t id[CRYPT_ID_SIZE];    /* fscrypt identifier of the master key */
	bool kdf;                     /* Argon2id over a passphrase */
	uint8_t salt[16];
	uint64_t opslimit, memlimit;
	uint8_t nonce[24];
	uint8_t sealed[CRYPT_KEY_SIZE + 16];
};
int wrapped_parse(const char *text, struct wrapped *w, struct isc_err *e);
char *wrapped_dump(const struct wrapped *w);
/* Seal master under material (ad binds it to the root's name). */
int wrap_seal(struct wrapped *w, const struct keysource *ks, const struct secret *material,
	      const struct secret *master, const char *ad, struct isc_err *e);
/* -EKEYREJECTED ("wrong key") when material does not open it. */
int wrap_open(const struct wrapped *w, const struct secret *material, const char *ad,
	      struct secret *master, struct isc_err *e);

/* ---- minisign signatures (minisign.c) --------------------------------------
 * Ed25519 in minisign's own formats (https://jedisct1.github.io/minisign/):
 * keys as minisign -G writes them (a password-protected secret key is
 * opened with a prompted passphrase), signatures prehashed with BLAKE2b-512
 * ("ED") and a trusted comment bound by a second signature. */
#define MINISIGN_KEYNUM 8
struct minisign_pub {
	unsigned char keynum[MINISIGN_KEYNUM], pk[32];
};
struct minisign_sec {
	unsigned char keynum[MINISIGN_KEYNUM], sk[64];
};
struct minisign_sig {
	unsigned char keynum[MINISIGN_KEYNUM], sig[64], global[64];
	char trusted[1024];
	size_t trusted_len;
};
/* A public key file's text (or the bare base64 line of minisign -P). */
int minisign_pub_parse(const char *text, size_t len, struct minisign_pub *pk, struct isc_err *e);
/* A public key file; missing or unreadable is an error, never a skip. */
int minisign_pub_load(const char *path, struct minisign_pub *pk, struct isc_err *e);
/* A secret key file; whom names the key in a passphrase prompt. */
int minisign_sec_load(const char *path, const char *whom, struct minisign_sec *sk, struct isc_err *e);
void minisign_sec_wipe(struct minisign_sec *sk);
/* Sign everything readable from fd: the text of a .minisig file (free it). */
int minisign_sign_fd(int fd, const struct minisign_sec *sk, const char *trusted, char **text,
		     struct isc_err *e);
int minisign_sig_parse(const char *text, size_t len, struct minisign_sig *s, struct isc_err *e);
/* fd's content against s, by the one of keys that made it: -EKEYREJECTED
 * for a key not among them, -EBADMSG for a wrong signature. */
int minisign_verify_fd(int fd, const struct minisign_sig *s, const struct minisign_pub *keys, size_t nkeys,
		       struct isc_err *e);
/* A new key pair without a password (the host's key, protected by where
 * it lives): pub (0644), then sec (0600), below dirfd. */
int minisign_keypair_make(int dirfd, const char *sec, const char *pub, struct isc_err *e);
