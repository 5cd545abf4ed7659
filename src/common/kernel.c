/* kernel.c - probe the kernel features isc uses, each by trying it. */
#include "kernel.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#ifndef PR_GET_MDWE
#define PR_GET_MDWE 66
#endif

static int fs_open(const char *type)
{
	return (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
}

/* The start of a /proc file (they report size 0: read, bounded). */
static bool proc_read(const char *path, char *buf, size_t n)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k = fd < 0 ? -1 : read_all(fd, buf, n - 1);
	buf[k > 0 ? k : 0] = '\0';
	return k > 0;
}

/* The first CPU's flags name AES. */
static bool cpu_aes(void)
{
	static char text[64 << 10];
	if (!proc_read("/proc/cpuinfo", text, sizeof(text)))
		return false;
	char *flags = strstr(text, "\nflags");
	if (!flags)
		return false;
	flags[strcspn(flags + 1, "\n") + 1] = '\0';
	return strstr(flags, " aes ") || str_has_suffix(flags, " aes");
}

/* erofs on an empty file: a kernel that mounts from files reads it and
 * finds no superblock; an older one wants a block device (ENOTBLK).  The
 * file is on a disk filesystem, as the pool's images are (erofs cannot
 * read a tmpfs or memfd file and says ENOTBLK there too). */
static bool erofs_from_file(void)
{
	_cleanup_close_ int fs = fs_open("erofs");
	_cleanup_close_ int mfd = open("/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	char src[48];
	if (fs < 0 || mfd < 0)
		return false;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", mfd);
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", src, 0) < 0)
		return false;
	return syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 && errno != ENOTBLK;
}

static bool overlay_fd_layers(void)
{
	_cleanup_close_ int fs = fs_open("overlay");
	_cleanup_close_ int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fs >= 0 && dir >= 0 &&
	       syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, "lowerdir+", NULL, dir) == 0;
}

void kernel_probe(struct kernel_features *k, bool filesystems)
{
	struct utsname u;
	struct statfs sf;
	struct seccomp_notif_sizes sizes;
	char userns[32];
	int fd;
	*k = (struct kernel_features){ 0 };
	if (uname(&u) == 0)
		snprintf(k->release, sizeof(k->release), "%s", u.release);
	k->userns = proc_read("/proc/sys/user/max_user_namespaces", userns, sizeof(userns)) &&
		    atoi(userns) > 0;
	if ((fd = fs_open("tmpfs")) >= 0) {
		k->mount_api = true;
		close(fd);
	}
	if ((fd = fs_open("erofs")) >= 0) {
		k->erofs = true;
		close(fd);
		k->erofs_file = filesystems && erofs_from_file();
	}
	if ((fd = fs_open("overlay")) >= 0) {
		k->overlay = true;
		close(fd);
		k->overlay_fd_layers = filesystems && overlay_fd_layers();
	}
	k->loop = access("/dev/loop-control", F_OK) == 0;
	k->fscrypt = access("/sys/fs/ext4/features/encryption", F_OK) == 0;
	k->fsverity = access("/sys/fs/ext4/features/verity", F_OK) == 0;
	k->device_mapper = access("/dev/mapper/control", F_OK) == 0;
	k->aes = filesystems && cpu_aes();
	k->cgroup2 = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
	k->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
	k->seccomp_notify = syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0;
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	k->landlock_abi = abi > 0 ? (int)abi : 0;
	/* before 6.3, PR_GET_MDWE is EINVAL like any unknown option */
	k->mdwe = prctl(PR_GET_MDWE, 0, 0, 0, 0) >= 0;
}
