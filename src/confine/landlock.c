/* landlock.c - the second wall: writes only beneath the profile's writable paths (Landlock); iscd's children before exec. */
#include "confine.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)     /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)    /* ABI 5 */
#endif

/* Every right that changes the file system.  Reads and execution are the
 * mounts' business (read-only image, noexec writable mounts). */
static uint64_t write_rights(int abi)
{
	uint64_t r = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
		LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
		LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
		LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
		LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	/* device ioctls (ptys, /dev/null) stay allowed where writes are: below /dev */
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* One file the rules let be written: it must be a regular file (not a
 * symlink to one: the rule would hold for what the link names now). */
static int file_rule(int rs, const char *path, uint64_t rights, struct isc_err *e)
{
	struct stat st;
	_cleanup_close_ int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return err_sys(e, errno, "landlock: open %s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, EINVAL, "landlock: %s is not a regular file", path);
	struct landlock_path_beneath_attr pb = {
		.allowed_access = rights & (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE),
		.parent_fd = fd,
	};
	if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		return err_sys(e, errno, "landlock: rule for %s", path);
	return 0;
}

int confine_landlock(const char *const *writable, const char *const *files, struct isc_err *e)
{
	int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return err_sys(e, errno, "landlock not available");
	struct landlock_ruleset_attr attr = { .handled_access_fs = write_rights(abi) };
	_cleanup_close_ int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0)
		return err_sys(e, errno, "landlock ruleset");
	for (size_t i = 0; writable && writable[i]; i++) {
		/* paths inside the ISC, after pivot_root: the mounts are locked,
		 * so what is opened here is what the ISC will write to */
		_cleanup_close_ int fd = open(writable[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return err_sys(e, errno, "landlock: open %s", writable[i]);
		}
		struct landlock_path_beneath_attr pb = { .allowed_access = attr.handled_access_fs,
							 .parent_fd = fd };
		if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			return err_sys(e, errno, "landlock: rule for %s", writable[i]);
	}
	for (size_t i = 0; files && files[i]; i++)
		if (file_rule(rs, files[i], attr.handled_access_fs, e) < 0)
			return -e->code;
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return err_sys(e, errno, "landlock: restrict");
	return 0;
}
