/* image.h - immutable root images: build (erofs), content-addressed store, manifest, verify.
 * Runs in iscadm (build, list, rm, verify) and iscd (open + verify before boot). */
#pragma once

#include "common.h"
#include "pool.h"
#include "config.h"

#include <stdint.h>
#include <time.h>

/* Store layout, relative to the pool directory fd:
 *   images/<sha256>.erofs      the image, named by the SHA-256 of the file
 *   images/<sha256>.manifest   per-file digests of the tree it was built from
 *   images/tags/<NAME>         "digest=...\nsource=...\ncreated=...\nsize=...\n"
 *   tmp/                       build staging (removed on success and failure)
 */
#define IMAGE_DIGEST_LEN 64

struct image_info {
	char name[64];
	char digest[IMAGE_DIGEST_LEN + 1];
	char source[512];
	int64_t created;        /* unix time */
	uint64_t size;          /* bytes of the .erofs file */
};

/* Progress lines for long work ("populating", "mkfs.erofs", "hashing"). */
typedef void (*image_progress_fn)(const char *what, void *data);

/* Build NAME from SOURCE: "busybox", "dir:PATH", "tar:FILE",
 * "debootstrap:SUITE[:pkg,pkg]".  Refuses an existing NAME (-EEXIST).
 * Nothing is left behind on failure. */
int image_build(const struct pool *p, const char *name, const char *source,
		image_progress_fn progress, void *pdata, struct isc_err *e);

/* Build an image from an already populated tree (used by build and, later,
 * by commits of writable boots).  On success *digest holds the new digest;
 * the .erofs and .manifest files are in the store (no tag written). */
int image_store_tree(const struct pool *p, const char *tree, char digest[IMAGE_DIGEST_LEN + 1],
		     image_progress_fn progress, void *pdata, struct isc_err *e);

int image_lookup(const struct pool *p, const char *name, struct image_info *out, struct isc_err *e);
/* All tagged images, sorted by name; free(*out). */
int image_list(const struct pool *p, struct image_info **out, size_t *n, struct isc_err *e);
/* Remove NAME's tag, and its blob unless another tag shares it or
 * keep_blob is true (the caller knows an ISC still uses the digest). */
int image_remove(const struct pool *p, const char *name, bool keep_blob, struct isc_err *e);

/* A blob built and hashed but not yet in the store: images/.new-XXXXXX,
 * locked by its maker for as long as it lives (a crash drops the lock, and
 * the next cleanup under the pool lock removes it). */
struct image_staged {
	char tmp[64];                   /* pool-relative, "" once published */
	int lockfd;
	char digest[IMAGE_DIGEST_LEN + 1];
	char *mtext;                    /* its manifest */
	size_t mlen;
};
/* Stage a layer of an ISC's version, without the pool lock: with lower,
 * tree is a session's upper (whiteouts and opaque directories as overlayfs
 * writes them), to be stacked on the layers of version lower, and the blob
 * is salted with it, so the same change on two versions gives two digests
 * and a digest names one stack; without, tree is a whole root. */
int image_stage_layer(const struct pool *p, const char *tree, const char *lower,
		      struct image_staged *st, struct isc_err *e);
/* Move a staged blob and its manifest into the store (the caller holds
 * the pool lock exclusively).  *created: the blob is new. */
int image_staged_publish(const struct pool *p, struct image_staged *st,
			 char digest[IMAGE_DIGEST_LEN + 1], bool *created, struct isc_err *e);
/* Remove what is left of a staged blob and release it (idempotent). */
void image_staged_drop(const struct pool *p, struct image_staged *st);
/* Staging entries (images/.new-*, .build-*): is name's maker gone?  Take
 * the lock on a staging file or directory of one's own (fd, or -errno). */
bool image_staging_stale(int dirfd, const char *name);
int image_staging_lock(int dirfd, const char *name);
/* Several delta layers made into one, without the base below them: deltas
 * (mounted, top first) are overlayfs uppers or delta layers, merged is
 * the whole tree they make over base (all mounted), out an empty
 * directory.  Afterwards out is one delta with the same effect over base:
 * every path a delta touches, as merged shows it; a whiteout where merged
 * has nothing and base has something; directories opaque where a delta
 * hid the base's.  It costs the size of the deltas, not of the tree.
 * Host paths (merged or out + a delta's path) are built in PATH_MAX: a
 * delta path that cannot fit is ENAMETOOLONG, found while the deltas are
 * read when it alone is PATH_MAX bytes or more, before anything is made. */
int image_squash(const char *merged, const char *base, const char *const *deltas, size_t n,
		 const char *out, struct isc_err *e);
/* Drop images/<digest>.{erofs,manifest} unless a tag other than except uses it. */
/* Clear setuid/setgid bits of files and remove their security.capability
 * xattrs in a tree the ISC wrote (its upper, after it stopped); counts the
 * files changed. */
int image_tree_strip_privileges(int rootfd, unsigned *stripped, struct isc_err *e);
/* What a crash left in images/: staging of a build or commit whose maker
 * is gone (a live one holds its lock), and blobs that no tag and no ISC
 * (image, version, snapshot) names.  Each said to say (if given), removed
 * when repair.  The pool held exclusively.  How many, or -errno. */
typedef void (*image_sweep_fn)(const char *what, void *data);
int image_sweep(const struct pool *p, bool repair, image_sweep_fn say, void *data);
int image_blob_drop_unused(const struct pool *p, const char *digest, const char *except,
			   struct isc_err *e);

/* What a tree holds, measured in one walk (image_tree_measure), so that a
 * commit can refuse a layer before it builds anything from it: mkfs.erofs
 * 1.5 fails or crashes on a path longer than PATH_MAX, and a manifest
 * holds every path in full. */
struct image_tree_stats {
	uint64_t bytes;         /* st_size of the regular files, summed (per name; saturates) */
	uint64_t entries;       /* below the root */
	uint64_t path_bytes;    /* their path lengths, summed: what a manifest must hold */
	uint64_t whiteouts;     /* overlayfs whiteouts (character device 0:0) */
	size_t longest;         /* bytes of the longest path relative to the root ("etc/motd": 8) */
	size_t depth;           /* of the deepest entry ("etc": 1, "etc/motd": 2; 0 if empty) */
	bool devices;           /* a character or block device other than a whiteout */
	bool setid;             /* a non-directory with the setuid or setgid bit */
};

/* Measure the tree at rootfd (walked as tree_walk does: no symlink
 * followed, no mount entered, two descriptors at most).  A tree deeper
 * than 32,768 levels is ENAMETOOLONG, a mount point inside EXDEV; paths in
 * messages are escaped and cut short. */
int image_tree_measure(int rootfd, struct image_tree_stats *out, struct isc_err *e);

/* Full SHA-256 of images/<digest>.erofs compared with its name. */
int image_verify(const struct pool *p, const char *digest, struct isc_err *e);

/* Open images/<digest>.erofs (O_RDONLY) and verify it, unless cachedir
 * (on tmpfs, e.g. /run/isc/verified) holds a record for this digest that
 * matches the file's dev, inode, size, mtime, ctime and the host's boot id.
 * On success the verified fd is returned in *fd and a fresh record written.
 * cachedir NULL, or not owned by us / writable by others: always hash.
 * A mismatch is -EBADMSG with a message naming both digests. */
int image_open_verified(const struct pool *p, const char *digest, const char *cachedir,
			int *fd, struct isc_err *e);

/* isc-archive, the one program that parses archives (libarchive), confined
 * (docs/images.md): "tar NAME", "pack DIR UID", "unpack UID".  Started in
 * directory cwd (-1: ours), its stdin from in (-1: /dev/null) or, with
 * pipe_in, a pipe we write (a->in); its stdout, with pipe_out, a pipe we
 * read (a->out), else /dev/null. */
struct archiver {
	pid_t pid;
	int in, out, err;
};
int archiver_start(struct archiver *a, char *const args[], int cwd, int in, bool pipe_in, bool pipe_out,
		   struct isc_err *e);
/* Close our pipe ends, wait: its exit status (0 done, 1 refused, 2 failed,
 * 3 the input is not a whole archive; 128+N killed by signal N), its one
 * line in msg (control bytes as '?'). */
int archiver_finish(struct archiver *a, char *msg, size_t n);
/* Stop it now (a stream that broke off), and wait. */
void archiver_kill(struct archiver *a);
/* A name fit for a one-line message in buf: control bytes as '?'. */
const char *image_name_shown(const char *name, char *buf, size_t n);

/* An image's digest in steps (a received stream): the tree digest, or
 * with flat the file's SHA-256 (a pool's flat_digest; OpenSSL's SHA-256,
 * loaded at the first use, libsodium's where it cannot be): new (NULL:
 * out of memory), update, final (which frees). */
#define IMAGE_SHA256_SIZE 32
struct image_hash;
struct image_hash *image_hash_new(bool flat);
void image_hash_update(struct image_hash *h, const void *buf, size_t n);
void image_hash_final(struct image_hash *h, uint8_t md[IMAGE_SHA256_SIZE]);
/* The digest that names the image file open on fd (docs/images.md): the
 * tree digest (1 MiB leaves, hashed on every core), or with flat its
 * SHA-256.  -ESTALE: the file changed while it was read. */
int image_digest_fd(int fd, bool flat, char out[IMAGE_DIGEST_LEN + 1]);
/* The tree digest's name in a send stream's header (docs/stream.md). */
#define IMAGE_TREE_NAME "isc-tree-v1"
/* SHA-256 of everything readable from fd (from offset 0), as lowercase hex. */
int image_sha256_fd(int fd, char out[IMAGE_DIGEST_LEN + 1]);
/* ... of len bytes (a symlink's target, as manifests record it). */
void image_sha256_buf(const void *buf, size_t len, char out[IMAGE_DIGEST_LEN + 1]);

/* ---- manifest ---------------------------------------------------------------
 * Text, one entry per line, sorted by path, first line "isc-manifest 1":
 *   TYPE MODE UID GID SIZE SHA256 PATH
 * TYPE f d l (file, dir, symlink) c b p s; MODE 4 octal digits (07777);
 * SIZE bytes of the file or link target, 0 otherwise; SHA256 of file bytes
 * or of the link target, "-" otherwise; PATH begins with "/" and has bytes
 * outside 0x21..0x7e and '%' escaped as %XX (uppercase hex).  Only this
 * canonical form parses, so write(parse(text)) == text.  A PATH may be
 * longer than PATH_MAX but not than 64 KiB unescaped: a longer one is
 * refused by manifest_build and manifest_parse alike. */
struct manifest_entry {
	char type;
	uint32_t mode;
	uint32_t uid, gid;
	uint64_t size;
	char sha256[IMAGE_DIGEST_LEN + 1];
	char *path;             /* unescaped */
};

struct manifest {
	struct manifest_entry *e;
	size_t n;
};

int manifest_build(const char *tree, struct manifest *m, struct isc_err *e);
int manifest_write(const struct manifest *m, FILE *f);
int manifest_parse(const char *text, size_t len, struct manifest *m, struct isc_err *e);
void manifest_free(struct manifest *m);

/* ---- inspection (inspect.c): layers against their manifests ---------------- */
/* images/<digest>.manifest, parsed (bounded). */
int image_manifest_load(const struct pool *p, const char *digest, struct manifest *m,
			struct isc_err *e);
/* The entry of path (unescaped, "/etc/motd") in a sorted manifest, or NULL. */
const struct manifest_entry *manifest_find(const struct manifest *m, const char *path);

enum image_diff_kind { IMAGE_ADDED = 'A', IMAGE_CHANGED = 'C', IMAGE_DELETED = 'D' };
enum image_diff_what {
	IMAGE_DIFF_TYPE = 1 << 0,
	IMAGE_DIFF_MODE = 1 << 1,
	IMAGE_DIFF_OWNER = 1 << 2,
	IMAGE_DIFF_CONTENT = 1 << 3,    /* bytes, link target, or an opaque directory */
};
enum image_exec { IMAGE_EXEC_NONE, IMAGE_EXEC_MODE, IMAGE_EXEC_ELF, IMAGE_EXEC_SCRIPT };
/* One path that differs.  was: the recorded entry (NULL if added); now:
 * what is there (NULL if deleted; its sha256 "?" where it was not read:
 * a file whose size already differs).  The rest is what a writable
 * layer's entry is, for policy: a device node (not a whiteout), a setuid
 * or setgid file, something that could run, an owner outside the ISC's
 * ids.  Valid during the call only. */
struct image_diff {
	enum image_diff_kind kind;
	unsigned what;                  /* IMAGE_DIFF_*, for IMAGE_CHANGED */
	const char *path;
	const struct manifest_entry *was, *now;
	bool device, setid, foreign_owner;
	enum image_exec exec;
};
typedef int (*image_diff_fn)(const struct image_diff *d, void *data);

/* The files of blob digest as they are (mounted read-only, detached, for
 * the walk only) against its recorded manifest: for a blob whose digest
 * no longer matches, which paths changed. */
int image_blob_compare(const struct pool *p, const char *digest, image_diff_fn fn, void *data,
		       struct isc_err *e);

/* The manifests of a version's layers, top first. */
struct image_stack {
	struct manifest *m;
	size_t n;
};
int image_stack_load(const struct pool *p, char (*digests)[IMAGE_DIGEST_LEN + 1], size_t n,
		     struct image_stack *s, struct isc_err *e);
void image_stack_free(struct image_stack *s);
/* What the stack shows at path (a whiteout above hides it), or NULL. */
const struct manifest_entry *image_stack_find(const struct image_stack *s, const char *path);

/* Every entry of an overlayfs upper (upperfd, mounted at at in the ISC,
 * its ids stored shifted by uid_base) that changes what stack shows:
 * added, changed, deleted (whiteouts); stack NULL: all of it is added,
 * each whiteout deleted.
 * Regular files are read only where the stack has one of the same size
 * (their digest decides) and for their first bytes (could it run?).  The
 * walk follows nothing and enters no mount; a running ISC may change the
 * tree meanwhile: what vanishes is skipped. */
int image_upper_diff(int upperfd, const char *at, uint32_t uid_base, const struct image_stack *stack,
		     image_diff_fn fn, void *data, struct isc_err *e);

/* ---- signatures (sign.c) ----------------------------------------------------
 * A layer's signature is images/<digest>.erofs.minisig, minisign's own
 * name for it, so `minisign -Sm images/<digest>.erofs` signs in place and
 * `minisign -Vm` checks isc's.  An ISC with require-signature=PUBKEY boots
 * and reverts only to versions whose every layer is signed by that key or
 * by the pool's own key (signing/host.key, made on first use), which signs
 * the commits of its maintenance sessions. */
int image_sign_blob(const struct pool *p, const char *digest, const struct minisign_sec *sk,
		    const char *trusted, struct isc_err *e);
/* The pool's signing key, made the first time it is needed. */
int image_host_key(const struct pool *p, struct minisign_sec *sk, struct isc_err *e);
/* The keys c trusts: none (*n 0) when it requires no signature; its key
 * unreadable is an error, never a skip. */
int image_trusted_keys(const struct pool *p, const struct isc_config *c, struct minisign_pub keys[2],
		       size_t *n, struct isc_err *e);
/* digest's signature over fd (the blob) by one of keys: -ENOKEY unsigned,
 * -EKEYREJECTED another key, -EBADMSG wrong. */
int image_signature_check(const struct pool *p, const char *digest, int fd, const struct minisign_pub *keys,
			  size_t n, struct isc_err *e);
/* Every layer of a version (fds: the blobs already open, or NULL) signed
 * as c requires; 0 at once when it requires nothing. */
int image_version_signed(const struct pool *p, const struct isc_config *c, char (*layers)[65], const int *fds,
			 size_t nl, struct isc_err *e);
/* A committed layer of c signed with the pool's key, if c requires signatures. */
int image_sign_commit(const struct pool *p, const struct isc_config *c, const char *digest, struct isc_err *e);
