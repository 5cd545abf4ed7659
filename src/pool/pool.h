/* pool.h - the pool: an ext4 filesystem with the encrypt feature holding images,
 * ISC configs and layers; loop-backed when the root directory cannot do fscrypt.
 * Used by iscadm and iscd. */
#pragma once

#include "common.h"
#include "crypt.h"

#include <limits.h>
#include <stdint.h>

#define ISC_DEFAULT_ROOT "/var/lib/isc"
#define POOL_DEFAULT_SIZE (8ULL << 30)
#define ISC_DEFAULT_KEYDIR "/etc/isc/keys"
/* The encryption root of shared images: keys/.pool.wrapped, keydir/.pool.key
 * (ISC names cannot start with a dot). */
#define POOL_KEY_ROOT ".pool"

struct pool {
	char root[PATH_MAX];    /* $ISC_ROOT: host-only, 0700 */
	char path[PATH_MAX];    /* the pool directory: root/pool */
	int dirfd;              /* open on path */
	int lockfd;             /* flock on root/lock */
	bool flat_digest;       /* images named by their SHA-256 (a pool made before
				 * the tree digest, docs/images.md), not by the tree digest */
};
/* In images/ of a pool whose images are named by the tree digest. */
#define POOL_TREE_MARK ".tree-digest"

enum pool_lock {
	POOL_LOCK_SHARED,       /* readers and boots */
	POOL_LOCK_EXCLUSIVE,    /* create, destroy, image build/rm */
};

/* Resolve the root (--root, $ISC_ROOT, default). */
const char *pool_root_default(const char *opt);
/* Open the pool, creating and/or attaching it when needed (loop image of
 * POOL_DEFAULT_SIZE if the root's filesystem cannot do fscrypt). */
int pool_open(struct pool *p, const char *root, enum pool_lock lock, struct isc_err *e);
/* Explicit creation; size 0 means the default.  -EEXIST if it exists. */
int pool_create(const char *root, uint64_t size, struct isc_err *e);
void pool_close(struct pool *p);
/* Detach: unmount the pool and release its loop device. */
int pool_detach(const char *root, struct isc_err *e);

struct pool_status {
	bool exists, attached, loop;
	char backing[PATH_MAX]; /* image file or "directory" */
	char device[64];        /* /dev/loopN when loop-backed */
	uint64_t size, used, avail;
};
int pool_status_get(const char *root, struct pool_status *st, struct isc_err *e);
/* Relock the held pool lock (shared <-> exclusive). */
int pool_relock(struct pool *p, enum pool_lock lock);

/* ---- encryption roots (keyring.c) -------------------------------------------
 * root is an ISC name or POOL_KEY_ROOT.  The pool holds keys/ROOT.wrapped:
 * the root's master key sealed by its keysource (docs/encryption.md). */
/* $ISC_KEYDIR (absolute) or /etc/isc/keys: where generated key files go. */
const char *keydir_default(void);
/* New random master key, wrapped by keysource (NULL: a generated raw key
 * file KEYDIR/ROOT.key), written to the pool and loaded into the kernel. */
int keyring_create(const struct pool *p, const char *root, const char *keysource,
		   uint8_t id[CRYPT_ID_SIZE], struct isc_err *e);
int keyring_read(const struct pool *p, const char *root, struct wrapped *w, struct isc_err *e);
/* Load into the kernel unless there already; prompts only when interactive. */
int keyring_load(const struct pool *p, const char *root, bool interactive, struct isc_err *e);
int keyring_unload(const struct pool *p, const char *root, struct isc_err *e);
int keyring_status(const struct pool *p, const char *root, bool *available, struct wrapped *w,
		   struct isc_err *e);
/* Re-wrap the master key under a new keysource (needs the old one). */
int keyring_change(const struct pool *p, const char *root, const char *keysource, struct isc_err *e);
/* Is dir (relative to the pool) under root's key and isc's policy?  A
 * pool changed behind isc's back (a directory swapped for a clear one)
 * must not get anyone's data in clear. */
int keyring_check_dir(const struct pool *p, const char *root, const char *dir, struct isc_err *e);
/* Unload, drop the wrapped record and a generated key file. */
int keyring_remove(const struct pool *p, const char *root, struct isc_err *e);
/* root's master key, unwrapped from its keysource (a raw send derives
 * its stream key from it). */
int keyring_master(const struct pool *p, const char *root, bool interactive, struct secret *master,
		   struct isc_err *e);
/* A record another pool's root `from` had (a raw stream's), opened with
 * its wrapping key (at keysource, when given, else where the record
 * says), its master key added to the kernel and sealed again as root's
 * own record here.  id: the key's identifier; stream_key: the raw stream
 * key the master key gives (stream_key_derive). */
int keyring_import(const struct pool *p, const char *root, const char *from, const char *record,
		   const char *keysource, bool interactive, uint8_t id[CRYPT_ID_SIZE], uint8_t stream_key[32],
		   struct isc_err *e);
