/* test_squash.c - unit tests for image_squash: delta layers made into one, on plain directories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include "image.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

struct fixture {
	char *root;                       /* holds everything below */
	char merged[PATH_MAX], base[PATH_MAX], top[PATH_MAX], low[PATH_MAX], out[PATH_MAX];
	char outside[PATH_MAX];           /* stands for the host: must stay untouched */
};

static void mk(const char *dir, const char *rel, const char *content)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (!content) {
		assert_int_equal(mkdir_p_at(AT_FDCWD, p, 0755), 0);
		return;
	}
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, content, strlen(content)), 0);
	close(fd);
}

static void whiteout(const char *dir, const char *rel)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(mknod(p, S_IFCHR | 0, makedev(0, 0)), 0);
}

static void opaque(const char *dir, const char *rel)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->root = tmpdir_make_named("isc-squash");
	snprintf(f->merged, sizeof(f->merged), "%s/merged", f->root);
	snprintf(f->base, sizeof(f->base), "%s/base", f->root);
	snprintf(f->top, sizeof(f->top), "%s/top", f->root);
	snprintf(f->low, sizeof(f->low), "%s/low", f->root);
	snprintf(f->out, sizeof(f->out), "%s/out", f->root);
	snprintf(f->outside, sizeof(f->outside), "%s/outside", f->root);
	const char *dirs[] = { f->merged, f->base, f->top, f->low, f->out, f->outside };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		assert_int_equal(mkdir(dirs[i], 0755), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	tmpdir_remove(f->root);
	free(f);
	return 0;
}

static bool exists(const char *dir, const char *rel, struct stat *st)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lstat(p, st) == 0;
}

static bool is_opaque(const char *dir, const char *rel)
{
	char p[PATH_MAX * 2], v[4];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
}

/* The base, two deltas (low, then top) and the tree they make, written
 * out by hand as overlayfs would show it. */
static void test_squash(void **state)
{
	struct fixture *f = *state;
	struct isc_err e = { 0 };
	struct stat st;
	/* base: /etc/{a,b}, /etc/d/{x}, /srv/keep */
	mk(f->base, "etc/d", NULL);
	mk(f->base, "etc/a", "a");
	mk(f->base, "etc/b", "b");
	mk(f->base, "etc/d/x", "x");
	mk(f->base, "srv", NULL);
	mk(f->base, "srv/keep", "keep");
	/* low: /etc/b changed, /etc/d replaced (opaque, with y), /etc/gone new */
	mk(f->low, "etc/d", NULL);
	mk(f->low, "etc/b", "b2");
	mk(f->low, "etc/d/y", "y");
	opaque(f->low, "etc/d");
	mk(f->low, "etc/gone", "soon deleted");
	/* top: /etc/a and /etc/gone deleted, /etc/new new */
	mk(f->top, "etc", NULL);
	whiteout(f->top, "etc/a");
	whiteout(f->top, "etc/gone");
	mk(f->top, "etc/new", "new");
	/* merged: what the stack shows */
	mk(f->merged, "etc/d", NULL);
	mk(f->merged, "etc/b", "b2");
	mk(f->merged, "etc/d/y", "y");
	mk(f->merged, "etc/new", "new");
	mk(f->merged, "srv", NULL);
	mk(f->merged, "srv/keep", "keep");
	assert_int_equal(chmod(f->merged, 0711), 0);
	/* a sparse file, new in the top delta */
	char sp[PATH_MAX * 2];
	mk(f->top, "etc/sparse", "");
	snprintf(sp, sizeof(sp), "%s/etc/sparse", f->merged);
	int fd = open(sp, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "x", 1, 1LL << 40), 1);
	close(fd);

	const char *deltas[] = { f->top, f->low };
	if (image_squash(f->merged, f->base, deltas, 2, f->out, &e) < 0)
		fail_msg("image_squash: %s", e.msg);
	/* what a delta touched, as merged shows it */
	assert_true(exists(f->out, "etc/b", &st) && S_ISREG(st.st_mode) && st.st_size == 2);
	assert_true(exists(f->out, "etc/new", &st) && S_ISREG(st.st_mode));
	assert_true(exists(f->out, "etc/d/y", &st));
	/* a deletion the base must see: a whiteout; one of a delta's own file: nothing */
	assert_true(exists(f->out, "etc/a", &st) && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
	assert_false(exists(f->out, "etc/gone", &st));
	/* the replaced directory hides the base's; /etc does not */
	assert_true(is_opaque(f->out, "etc/d"));
	assert_false(is_opaque(f->out, "etc"));
	assert_false(exists(f->out, "etc/d/x", &st));
	/* a sparse file stays sparse: a terabyte of hole costs nothing */
	assert_true(exists(f->out, "etc/sparse", &st) && st.st_size == (1LL << 40) + 1);
	assert_true(st.st_blocks < 1024);
	/* untouched: left to the base */
	assert_false(exists(f->out, "srv", &st));
	/* the root as merged has it */
	assert_int_equal(stat(f->out, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
}

/* A delta made /a a symlink out of the tree; a lower one has /a/b.  The
 * squash must not follow it: nothing appears where it points. */
static void test_squash_symlink(void **state)
{
	struct fixture *f = *state;
	struct isc_err e = { 0 };
	struct stat st;
	mk(f->outside, "b", NULL);   /* a directory the link would lead into */
	mk(f->low, "a/b", NULL);
	mk(f->low, "a/b/c", "c");
	mk(f->top, "", NULL);
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s/a", f->top);
	assert_int_equal(symlink(f->outside, p), 0);
	snprintf(p, sizeof(p), "%s/a", f->merged);
	assert_int_equal(symlink(f->outside, p), 0);
	const char *deltas[] = { f->top, f->low };
	if (image_squash(f->merged, f->base, deltas, 2, f->out, &e) < 0)
		fail_msg("image_squash: %s", e.msg);
	assert_true(exists(f->out, "a", &st) && S_ISLNK(st.st_mode));
	assert_false(exists(f->outside, "b/c", &st));
	assert_false(exists(f->outside, "c", &st));
}

/* A chain of depth levels named comp, in dir/rel, with a file at the bottom. */
static void chain_in(const char *dir, const char *rel, const char *comp, size_t depth)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	int fd = chain_make_at(dfd, rel, comp, depth);
	int f = openat(fd, "bottom", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(f >= 0);
	assert_int_equal(write_all(f, "deep", 4), 0);
	close(f);
	close(fd);
	close(dfd);
}

/* 1,500 levels (3,000 bytes of path, under PATH_MAX with the root): squashed. */
static void test_squash_deep(void **state)
{
	struct fixture *f = *state;
	struct isc_err e = { 0 };
	mk(f->low, "", NULL);
	chain_in(f->top, "d", "a", 1500);
	chain_in(f->merged, "d", "a", 1500);
	const char *deltas[] = { f->top, f->low };
	int before = fd_count();
	if (image_squash(f->merged, f->base, deltas, 2, f->out, &e) < 0)
		fail_msg("image_squash: %s", e.msg);
	assert_int_equal(fd_count(), before);
	int fd = open(f->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	int sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(fd);
	for (int i = 0; i < 1500 && sub >= 0; i++) {
		fd = openat(sub, "a", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(sub);
		sub = fd;
	}
	assert_true(sub >= 0);
	char buf[8] = "";
	int b = openat(sub, "bottom", O_RDONLY | O_CLOEXEC);
	assert_true(b >= 0);
	assert_int_equal(read(b, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "deep", 4);
	close(b);
	close(sub);
}

/* 3,000 levels named with an escape byte: more than squash can copy.
 * Refused before anything is made, in a short message with the byte escaped. */
static void test_squash_too_deep(void **state)
{
	struct fixture *f = *state;
	struct isc_err e = { 0 };
	struct stat st;
	mk(f->low, "", NULL);
	chain_in(f->top, "d", "\x1b", 3000);
	chain_in(f->merged, "d", "\x1b", 3000);
	const char *deltas[] = { f->top, f->low };
	assert_int_equal(image_squash(f->merged, f->base, deltas, 2, f->out, &e), -ENAMETOOLONG);
	if (strlen(e.msg) > 300 || strchr(e.msg, '\x1b') ||
	    !str_has_prefix(e.msg, "/d/\\x1b/\\x1b/") || !strstr(e.msg, "levels): path longer than 4095 bytes"))
		fail_msg("got '%s'", e.msg);
	assert_false(exists(f->out, "d", &st));
}

int main(void)
{
	if (geteuid() != 0) {   /* whiteouts and trusted.* xattrs need root */
		printf("[  PASSED  ] 0 test(s). (skipped: not root)\n");
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_squash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_squash_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_squash_deep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_squash_too_deep, setup, teardown),
	};
	return cmocka_run_group_tests_name("squash", tests, NULL, NULL);
}
