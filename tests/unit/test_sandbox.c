/* test_sandbox.c - unit tests for src/sandbox's mount helpers on the real
 * kernel (root only): an erofs image from its file and through a loop
 * device, which older kernels (before 6.12) need. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include "mnt.h"

#include <sys/stat.h>

static char *dir;
static char image[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	char *argv[] = { "mkfs.erofs", "--help", NULL };
	char out[256];
	if (geteuid() != 0 || run_cmd(argv, true, out, sizeof(out)) == 127)
		return 0;
	dir = tmpdir_make_named("isc-ut-sandbox");
	char tree[PATH_MAX + 8], file[PATH_MAX + 16];
	snprintf(tree, sizeof(tree), "%s/tree", dir);
	snprintf(file, sizeof(file), "%s/hello", tree);
	snprintf(image, sizeof(image), "%s/img.erofs", dir);
	assert_int_equal(mkdir(tree, 0755), 0);
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, "hello\n", 6), 0);
	close(fd);
	char *mk[] = { "mkfs.erofs", image, tree, NULL };
	assert_int_equal(run_cmd(mk, true, out, sizeof(out)), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (dir)
		tmpdir_remove(dir);
	return 0;
}

/* Loop devices whose backing file is our image (sysfs names it). */
static int loops_of_image(void)
{
	int n = 0;
	for (int i = 0; i < 256; i++) {
		char p[80], back[PATH_MAX] = "";
		snprintf(p, sizeof(p), "/sys/block/loop%d/loop/backing_file", i);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t k = read(fd, back, sizeof(back) - 1);
		close(fd);
		back[k > 0 ? k : 0] = '\0';
		back[strcspn(back, "\n")] = '\0';
		n += STREQ(back, image);
	}
	return n;
}

/* Mount the image one way, read its file through the mount, unmount. */
static int mount_read(enum mnt_erofs_via via, char *got, size_t n)
{
	struct isc_err e = { 0 };
	_cleanup_close_ int fd = open(image, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	int m = mnt_erofs(fd, MOUNT_ATTR_RDONLY, via, &e);
	if (m < 0)
		return m;
	_cleanup_close_ int f = openat(m, "hello", O_RDONLY | O_CLOEXEC);
	assert_true(f >= 0);
	ssize_t k = read(f, got, n - 1);
	got[k > 0 ? k : 0] = '\0';
	close(m);   /* a detached mount goes with its last fd */
	return 0;
}

static void test_erofs_loop(void **state)
{
	(void)state;
	if (!dir)
		skip();
	char got[16];
	assert_int_equal(mount_read(EROFS_LOOP, got, sizeof(got)), 0);
	assert_string_equal(got, "hello\n");
	/* the loop device went with the mount (autoclear, asynchronously) */
	for (int i = 0; i < 50 && loops_of_image() > 0; i++)
		usleep(20000);
	assert_int_equal(loops_of_image(), 0);
}

static void test_erofs_file_or_auto(void **state)
{
	(void)state;
	if (!dir)
		skip();
	char got[16];
	int r = mount_read(EROFS_FILE, got, sizeof(got));
	if (r == -ENOTBLK) {
		/* before 6.12: AUTO falls back to the loop device, and learns */
		print_message("this kernel mounts erofs only from a block device\n");
		assert_int_equal(mount_read(EROFS_AUTO, got, sizeof(got)), 0);
		assert_false(mnt_erofs_from_file());
	} else {
		assert_int_equal(r, 0);
		assert_int_equal(mount_read(EROFS_AUTO, got, sizeof(got)), 0);
		assert_true(mnt_erofs_from_file());
	}
	assert_string_equal(got, "hello\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_erofs_loop),
		cmocka_unit_test(test_erofs_file_or_auto),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
