/* fscrypt.c - the kernel's fscrypt v2 ioctls: keys in the filesystem keyring, directory policies; iscadm and iscd. */
#include "crypt.h"

#include <linux/fscrypt.h>
#include <sodium.h>
#include <sys/ioctl.h>

int secret_alloc(struct secret *s, size_t len)
{
	if (sodium_init() < 0)
		return -ENOSYS;
	/* sodium_malloc: mlock'd (never swapped), guard pages around, and
	 * sodium_free wipes it. */
	s->buf = sodium_malloc(len ? len : 1);
	s->len = s->buf ? len : 0;
	return s->buf ? 0 : -ENOMEM;
}

void secret_free(struct secret *s)
{
	if (s->buf)
		sodium_free(s->buf);
	s->buf = NULL;
	s->len = 0;
}

int secret_random(struct secret *s, size_t len)
{
	int r = secret_alloc(s, len);
	if (r == 0)
		randombytes_buf(s->buf, len);
	return r;
}

int fscrypt_key_add(int fd, const struct secret *key, uint8_t id[CRYPT_ID_SIZE], struct isc_err *e)
{
	struct secret arg_mem = { 0 };
	size_t size = sizeof(struct fscrypt_add_key_arg) + key->len;
	/* the argument carries the raw key: it lives in locked memory too */
	if (secret_alloc(&arg_mem, size) < 0)
		return err_set(e, ENOMEM, "out of locked memory for a key");
	struct fscrypt_add_key_arg *arg = (void *)arg_mem.buf;
	memset(arg, 0, size);
	arg->key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	arg->raw_size = (uint32_t)key->len;
	memcpy(arg->raw, key->buf, key->len);
	int r = 0;
	if (ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, arg) < 0)
		r = err_sys(e, errno, "add key to the filesystem keyring");
	else
		memcpy(id, arg->key_spec.u.identifier, CRYPT_ID_SIZE);
	secret_free(&arg_mem);
	return r;
}

int fscrypt_key_remove(int fd, const uint8_t id[CRYPT_ID_SIZE], bool *busy, struct isc_err *e)
{
	struct fscrypt_remove_key_arg arg = { .key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER };
	memcpy(arg.key_spec.u.identifier, id, CRYPT_ID_SIZE);
	/* ALL_USERS: whoever added it, the key leaves the filesystem; the
	 * kernel evicts every cached inode and page it protected. */
	if (ioctl(fd, FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS, &arg) < 0) {
		if (errno == ENOKEY) {
			*busy = false;
			return 0;   /* not loaded: nothing to remove */
		}
		return err_sys(e, errno, "remove key from the filesystem keyring");
	}
	*busy = arg.removal_status_flags & FSCRYPT_KEY_REMOVAL_STATUS_FLAG_FILES_BUSY;
	return 0;
}

int fscrypt_key_status(int fd, const uint8_t id[CRYPT_ID_SIZE], enum fscrypt_status *st,
		       struct isc_err *e)
{
	struct fscrypt_get_key_status_arg arg = { .key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER };
	memcpy(arg.key_spec.u.identifier, id, CRYPT_ID_SIZE);
	if (ioctl(fd, FS_IOC_GET_ENCRYPTION_KEY_STATUS, &arg) < 0)
		return err_sys(e, errno, "query key status");
	switch (arg.status) {
	case FSCRYPT_KEY_STATUS_PRESENT: *st = FSCRYPT_PRESENT; break;
	case FSCRYPT_KEY_STATUS_INCOMPLETELY_REMOVED: *st = FSCRYPT_REMOVING; break;
	default: *st = FSCRYPT_ABSENT; break;
	}
	return 0;
}

int fscrypt_policy_set(int dirfd, const uint8_t id[CRYPT_ID_SIZE], struct isc_err *e)
{
	struct fscrypt_policy_v2 pol = {
		.version = FSCRYPT_POLICY_V2,
		.contents_encryption_mode = FSCRYPT_MODE_AES_256_XTS,
		.filenames_encryption_mode = FSCRYPT_MODE_AES_256_CTS,
		/* 32-byte padding of names: hides name lengths as far as fscrypt can */
		.flags = FSCRYPT_POLICY_FLAGS_PAD_32,
	};
	memcpy(pol.master_key_identifier, id, CRYPT_ID_SIZE);
	if (ioctl(dirfd, FS_IOC_SET_ENCRYPTION_POLICY, &pol) < 0)
		return err_sys(e, errno, "set encryption policy");
	return 0;
}

int fscrypt_policy_get(int dirfd, uint8_t id[CRYPT_ID_SIZE])
{
	struct fscrypt_get_policy_ex_arg arg = { .policy_size = sizeof(arg.policy) };
	if (ioctl(dirfd, FS_IOC_GET_ENCRYPTION_POLICY_EX, &arg) < 0)
		return -errno;
	/* isc's policy and no other: a weaker one is as bad as none */
	if (arg.policy.version != FSCRYPT_POLICY_V2 ||
	    arg.policy.v2.contents_encryption_mode != FSCRYPT_MODE_AES_256_XTS ||
	    arg.policy.v2.filenames_encryption_mode != FSCRYPT_MODE_AES_256_CTS ||
	    arg.policy.v2.flags != FSCRYPT_POLICY_FLAGS_PAD_32)
		return -EPROTO;
	memcpy(id, arg.policy.v2.master_key_identifier, CRYPT_ID_SIZE);
	return 0;
}

bool fscrypt_supported(int fd)
{
	uint8_t id[CRYPT_ID_SIZE];
	int r = fscrypt_policy_get(fd, id);
	return r == 0 || r == -ENODATA;
}
