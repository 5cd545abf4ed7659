/* test_common.c - unit tests for src/common: error contract, sizes, names, strv, terminal-safe text, files, fd passing, child commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <locale.h>
#include <wchar.h>

/* ---- helpers ----------------------------------------------------------------- */

static char *tmpdir_make(void)
{
	return tmpdir_make_named("test_common");
}

static int dir_open(const char *d)
{
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void put_at(int dirfd, const char *name, const char *data)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, strlen(data)), 0);
	close(fd);
}

/* The whole content of a file, or NULL when it cannot be read. */
static char *slurp_at(int dirfd, const char *name)
{
	char *buf = NULL;
	return read_file_at(dirfd, name, &buf, NULL, 1 << 20) == 0 ? buf : NULL;
}

/* Directory entries other than . and .., sorted, joined with spaces. */
static void dir_list(int dirfd, const char *sub, char *out, size_t n)
{
	int fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	DIR *d = fdopendir(fd);
	assert_non_null(d);
	char **v = calloc(1, sizeof(char *));
	struct dirent *de;
	while ((de = readdir(d)))
		if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, ".."))
			assert_int_equal(strv_push(&v, de->d_name), 0);
	closedir(d);
	size_t k = strv_length(v);
	for (size_t i = 1; i < k; i++)       /* insertion sort: tiny lists */
		for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	out[0] = '\0';
	for (size_t i = 0; i < k; i++)
		snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? " " : "", v[i]);
	strv_free(v);
}

/* A pipe whose read end is non-blocking: read() gives 0 only once every
 * copy of the write end is closed, -EAGAIN while one is still open. */
static void pipe_nb(int p[2])
{
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
}

static ssize_t read_now(int fd)
{
	char c;
	ssize_t n = read(fd, &c, 1);
	return n < 0 ? -errno : n;
}

static int memfd_with(const char *text)
{
	int fd = memfd_create("test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
	return fd;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bool gone_at(int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

/* rm_rf_at with at most limit descriptors open in the whole process: a
 * removal that kept one per level would run out. */
static int rm_rf_limited(int dirfd, const char *name, int limit)
{
	struct rlimit old, low = { .rlim_cur = (rlim_t)limit };
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int r = rm_rf_at(dirfd, name);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	return r;
}

/* ---- errors ------------------------------------------------------------------ */

static void test_err_set(void **state)
{
	(void)state;
	struct isc_err e = { 0 };
	assert_int_equal(err_set(&e, ENOENT, "open %s", "/x"), -ENOENT);
	assert_int_equal(e.code, ENOENT);
	assert_string_equal(e.msg, "open /x");

	/* a negative errno is accepted as well */
	assert_int_equal(err_set(&e, -EACCES, "mount %d", 3), -EACCES);
	assert_int_equal(e.code, EACCES);
	assert_string_equal(e.msg, "mount 3");

	/* "no error" is not a failure a caller could miss: it becomes EIO */
	assert_int_equal(err_set(&e, 0, "odd"), -EIO);
	assert_int_equal(e.code, EIO);

	/* without a struct the code is still returned */
	assert_int_equal(err_set(NULL, EPERM, "nobody listens"), -EPERM);

	/* a long reason is cut, not overflowed */
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(err_set(&e, E2BIG, "%s", big), -E2BIG);
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);

	err_clear(&e);
	assert_int_equal(e.code, 0);
	assert_string_equal(e.msg, "");
}

static void test_err_prefix(void **state)
{
	(void)state;
	struct isc_err e = { 0 };
	err_set(&e, ENOENT, "no such file");
	assert_int_equal(err_prefix(&e, "config line %d", 3), -ENOENT);
	assert_int_equal(err_prefix(&e, "ISC %s", "web"), -ENOENT);
	assert_string_equal(e.msg, "ISC web: config line 3: no such file");
	assert_int_equal(e.code, ENOENT);

	/* context on an empty error still yields a failure code */
	err_clear(&e);
	assert_int_equal(err_prefix(&e, "ctx"), -EIO);
	assert_int_equal(e.code, EIO);
	assert_string_equal(e.msg, "ctx: ");

	assert_int_equal(err_prefix(NULL, "ctx"), -EIO);

	/* a full message loses its tail, keeps the new context, stays terminated */
	char big[sizeof(e.msg)];
	memset(big, 'o', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	err_set(&e, EINVAL, "%s", big);
	assert_int_equal(err_prefix(&e, "head"), -EINVAL);
	assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
	assert_memory_equal(e.msg, "head: ooo", 9);

	/* a prefix longer than the message buffer is cut as well */
	char longhead[600];
	memset(longhead, 'h', sizeof(longhead) - 1);
	longhead[sizeof(longhead) - 1] = '\0';
	err_set(&e, EINVAL, "tail");
	err_prefix(&e, "%s%s", longhead, longhead);
	assert_true(strlen(e.msg) < sizeof(e.msg));
	assert_int_equal(e.msg[0], 'h');
}

static void test_err_sys(void **state)
{
	(void)state;
	struct isc_err e = { 0 };
	assert_int_equal(err_sys(&e, EACCES, "mount %s", "/srv"), -EACCES);
	assert_int_equal(e.code, EACCES);
	assert_string_equal(e.msg, "mount /srv: Permission denied");

	assert_int_equal(err_sys(&e, -ENOSPC, "write %s", "config"), -ENOSPC);
	assert_string_equal(e.msg, "write config: No space left on device");

	assert_int_equal(err_sys(&e, 0, "read"), -EIO);
	assert_string_equal(e.msg, "read: Input/output error");

	assert_int_equal(err_sys(NULL, ENOENT, "x"), -ENOENT);
}

/* ---- strings ----------------------------------------------------------------- */

static void test_parse_size_valid(void **state)
{
	(void)state;
	static const struct { const char *s; uint64_t v; } ok[] = {
		{ "0", 0 },
		{ "1024", 1024 },
		{ "64k", 64ULL << 10 },
		{ "64K", 64ULL << 10 },
		{ "8G", 8ULL << 30 },
		{ "512MiB", 512ULL << 20 },
		{ "512M", 512ULL << 20 },
		{ "2mb", 2ULL << 20 },
		{ "1T", 1ULL << 40 },
		{ "4KiB", 4096 },
		{ "16777215T", 16777215ULL << 40 },
		{ "18446744073709551615", UINT64_MAX },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		uint64_t v = 12345;
		if (parse_size(ok[i].s, &v) != 0 || v != ok[i].v)
			fail_msg("parse_size(\"%s\") = %llu, want %llu", ok[i].s,
				 (unsigned long long)v, (unsigned long long)ok[i].v);
	}
}

static void test_parse_size_invalid(void **state)
{
	(void)state;
	static const struct { const char *s; int r; } bad[] = {
		{ "", -EINVAL }, { "G", -EINVAL }, { "12X", -EINVAL }, { "-1", -EINVAL },
		{ " 1", -EINVAL }, { "+1", -EINVAL }, { "1 G", -EINVAL }, { "1G ", -EINVAL },
		{ "1iB", -EINVAL }, { "1GG", -EINVAL }, { "0x10", -EINVAL }, { "1.5G", -EINVAL },
		{ "1GiBx", -EINVAL },
		/* does not fit 64 bits: as a number, or once scaled */
		{ "18446744073709551616", -EINVAL },
		{ "99999999999999999999999", -EINVAL },
		{ "17179869184G", -ERANGE },
		{ "16777216T", -ERANGE },
		{ "18014398509481984k", -ERANGE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 777;
		int r = parse_size(bad[i].s, &v);
		if (r != bad[i].r || v != 777)
			fail_msg("parse_size(\"%s\") = %d (value %llu), want %d and no value",
				 bad[i].s, r, (unsigned long long)v, bad[i].r);
	}
	uint64_t v;
	assert_int_equal(parse_size(NULL, &v), -EINVAL);
}

static void test_format_size(void **state)
{
	(void)state;
	char b[32];
	format_size(512, b, sizeof(b));
	assert_string_equal(b, "512B");
	format_size(1536, b, sizeof(b));
	assert_string_equal(b, "1.5K");
	format_size(8ULL << 30, b, sizeof(b));
	assert_string_equal(b, "8.0G");
	format_size(3ULL << 50, b, sizeof(b));
	assert_string_equal(b, "3072.0T");
}

static void test_name_valid(void **state)
{
	(void)state;
	char max[64], over[65];
	memset(max, 'a', 63);
	max[63] = '\0';
	memset(over, 'a', 64);
	over[64] = '\0';
	const char *good[] = { "a", "web", "web-1", "A.b_c", "9lives", "x.y-z_0", max };
	const char *bad[] = { "", ".", "..", "-a", "_a", ".hidden", "a/b", "/a", "a b",
		"a\n", "caf\xc3\xa9", "a:b", "a*", over };
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!name_valid(good[i]))
			fail_msg("name '%s' refused", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (name_valid(bad[i]))
			fail_msg("name '%s' accepted", bad[i]);
}

static void test_str_copy_prefix(void **state)
{
	(void)state;
	char b[4] = "zzz";
	assert_int_equal(str_copy(b, sizeof(b), "abc"), 0);
	assert_string_equal(b, "abc");
	assert_int_equal(str_copy(b, sizeof(b), "abcd"), -ENAMETOOLONG);
	assert_string_equal(b, "abc");    /* untouched on failure */
	assert_true(str_has_prefix("volume=/srv", "volume="));
	assert_true(str_has_prefix("abc", ""));
	assert_false(str_has_prefix("vol", "volume"));
}

static void test_str_escape(void **state)
{
	(void)state;
	char out[64];
	static const struct { const char *in, *out; } cases[] = {
		{ "plain/path", "plain/path" },
		{ "\x1b[31mred", "\\x1b[31mred" },
		{ "tab\tnl\ndel\x7f", "tab\\x09nl\\x0adel\\x7f" },
		{ "back\\slash", "back\\\\slash" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7" },
		{ "bad\xff\xc3", "bad\\xff\\xc3" },            /* not UTF-8, cut sequence */
		{ "\xc0\xaf", "\\xc0\\xaf" },                  /* overlong '/' */
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },         /* surrogate */
		{ "c1\xc2\x9b", "c1\\xc2\\x9b" },              /* C1 CSI */
		{ "\xe2\x80\xae" "evil", "\\xe2\\x80\\xae" "evil" },   /* right-to-left override */
		{ "\xe2\x81\xa7" "x", "\\xe2\\x81\\xa7" "x" },         /* right-to-left isolate */
		{ "\xe2\x80\x8f", "\\xe2\\x80\\x8f" },                /* right-to-left mark */
		{ "\xd8\x9c", "\\xd8\\x9c" },                            /* Arabic letter mark */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = strlen(cases[i].in);
		assert_int_equal(str_escape(cases[i].in, n, out, sizeof(out)), n);
		assert_string_equal(out, cases[i].out);
	}
	/* a NUL inside the given length is escaped too */
	assert_int_equal(str_escape("a\0b", 3, out, sizeof(out)), 3);
	assert_string_equal(out, "a\\x00b");
	/* bounded: never half an escape, and it says how much it took */
	assert_int_equal(str_escape("ab\x1b", 3, out, 6), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(str_escape("ab\x1b", 3, out, 7), 3);
	assert_string_equal(out, "ab\\x1b");
	assert_int_equal(str_escape("\xc3\xa9", 2, out, 2), 0);
	assert_string_equal(out, "");
	assert_int_equal(str_escape("x", 1, out, 0), 0);
}

static void test_strv(void **state)
{
	(void)state;
	char **v = NULL;
	assert_int_equal(strv_length(v), 0);
	assert_int_equal(strv_push(&v, "one"), 0);
	assert_int_equal(strv_push(&v, ""), 0);
	assert_int_equal(strv_push(&v, "three"), 0);
	assert_int_equal(strv_length(v), 3);
	assert_string_equal(v[0], "one");
	assert_string_equal(v[1], "");
	assert_string_equal(v[2], "three");
	assert_null(v[3]);

	/* the copy is deep: changing it leaves the original alone */
	char **c = strv_copy(v);
	assert_non_null(c);
	assert_int_equal(strv_length(c), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_ptr_not_equal(c[i], v[i]);
		assert_string_equal(c[i], v[i]);
	}
	assert_null(c[3]);
	c[0][0] = 'X';
	assert_string_equal(v[0], "one");
	strv_free(c);

	/* copying nothing gives an empty vector, not NULL */
	c = strv_copy(NULL);
	assert_non_null(c);
	assert_null(c[0]);
	strv_free(c);

	strv_free(v);
	strv_free(NULL);

	_cleanup_strv_ char **auto_v = NULL;
	assert_int_equal(strv_push(&auto_v, "freed at scope end"), 0);
}

/* ---- files ------------------------------------------------------------------- */

static void test_write_file_atomic(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	int dfd = dir_open(d);
	mode_t old = umask(077);

	assert_int_equal(write_file_atomic(dfd, "cfg", "first\n", 6, 0644), 0);
	char *got = slurp_at(dfd, "cfg");
	assert_non_null(got);
	assert_string_equal(got, "first\n");
	free(got);
	struct stat st;
	assert_int_equal(fstatat(dfd, "cfg", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0644);     /* the mode asked for, umask or not */

	/* Replacement is a rename: a hard link to the old file keeps the old bytes. */
	assert_int_equal(linkat(dfd, "cfg", dfd, "old-link", 0), 0);
	assert_int_equal(write_file_atomic(dfd, "cfg", "second, longer\n", 15, 0600), 0);
	got = slurp_at(dfd, "cfg");
	assert_string_equal(got, "second, longer\n");
	free(got);
	got = slurp_at(dfd, "old-link");
	assert_string_equal(got, "first\n");
	free(got);
	assert_int_equal(fstatat(dfd, "cfg", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* Shorter content does not keep a tail of the longer one. */
	assert_int_equal(write_file_atomic(dfd, "cfg", "3", 1, 0600), 0);
	got = slurp_at(dfd, "cfg");
	assert_string_equal(got, "3");
	free(got);

	/* Empty content gives an empty file. */
	assert_int_equal(write_file_atomic(dfd, "empty", "", 0, 0600), 0);
	assert_int_equal(fstatat(dfd, "empty", &st, 0), 0);
	assert_int_equal(st.st_size, 0);

	/* In a subdirectory, and no temporary file is left anywhere. */
	assert_int_equal(mkdirat(dfd, "sub", 0700), 0);
	assert_int_equal(write_file_atomic(dfd, "sub/inner", "x", 1, 0600), 0);
	char list[256];
	dir_list(dfd, ".", list, sizeof(list));
	assert_string_equal(list, "cfg empty old-link sub");
	dir_list(dfd, "sub", list, sizeof(list));
	assert_string_equal(list, "inner");

	/* A symlink at the name is replaced; the file it pointed to is untouched. */
	put_at(dfd, "victim", "keep me");
	assert_int_equal(symlinkat("victim", dfd, "link"), 0);
	assert_int_equal(write_file_atomic(dfd, "link", "new", 3, 0600), 0);
	assert_int_equal(fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	got = slurp_at(dfd, "victim");
	assert_string_equal(got, "keep me");
	free(got);

	/* A missing directory fails with ENOENT and creates nothing. */
	assert_int_equal(write_file_atomic(dfd, "nodir/f", "x", 1, 0600), -ENOENT);
	dir_list(dfd, ".", list, sizeof(list));
	assert_string_equal(list, "cfg empty link old-link sub victim");

	umask(old);
	close(dfd);
	tmpdir_remove(d);
}

static void test_read_file_at(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	int dfd = dir_open(d);
	put_at(dfd, "ten", "0123456789");
	put_at(dfd, "empty", "");

	char *buf = NULL;
	size_t len = 99;
	assert_int_equal(read_file_at(dfd, "ten", &buf, &len, 10), 0);  /* exactly max */
	assert_int_equal(len, 10);
	assert_string_equal(buf, "0123456789");
	free(buf);

	buf = NULL;
	assert_int_equal(read_file_at(dfd, "ten", &buf, &len, 9), -EFBIG);
	assert_null(buf);

	assert_int_equal(read_file_at(dfd, "empty", &buf, &len, 10), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);

	buf = NULL;
	assert_int_equal(read_file_at(dfd, "missing", &buf, &len, 10), -ENOENT);
	assert_null(buf);

	/* never through a symlink, never a directory */
	assert_int_equal(symlinkat("ten", dfd, "link"), 0);
	assert_int_equal(read_file_at(dfd, "link", &buf, &len, 10), -ELOOP);
	assert_int_equal(mkdirat(dfd, "dir", 0700), 0);
	assert_int_equal(read_file_at(dfd, "dir", &buf, &len, 10), -EINVAL);
	assert_null(buf);

	close(dfd);
	tmpdir_remove(d);
}

static void test_rm_rf_at(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	int dfd = dir_open(d);

	/* outside/ is what the symlinks point at: it must survive */
	assert_int_equal(mkdirat(dfd, "outside", 0755), 0);
	put_at(dfd, "outside/precious", "data");
	assert_int_equal(mkdir_p_at(dfd, "tree/a/b/c", 0755), 0);
	put_at(dfd, "tree/a/b/c/file", "x");
	put_at(dfd, "tree/top", "y");
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "%s/outside", d);
	assert_int_equal(symlinkat(target, dfd, "tree/dirlink"), 0);
	assert_int_equal(symlinkat("../../../outside/precious", dfd, "tree/a/b/filelink"), 0);
	assert_int_equal(symlinkat("/nonexistent/dangling", dfd, "tree/a/dangling"), 0);
	assert_int_equal(mkfifoat(dfd, "tree/a/fifo", 0600), 0);
	assert_int_equal(fchmodat(dfd, "tree/a/b", 0500, 0), 0);   /* read-only dir: still removed (root) */

	assert_int_equal(rm_rf_at(dfd, "tree"), 0);
	struct stat st;
	assert_int_equal(fstatat(dfd, "tree", &st, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(errno, ENOENT);
	char *got = slurp_at(dfd, "outside/precious");
	assert_non_null(got);
	assert_string_equal(got, "data");
	free(got);

	/* a symlink named directly is removed as a link, its target stays */
	assert_int_equal(symlinkat(target, dfd, "toplink"), 0);
	assert_int_equal(rm_rf_at(dfd, "toplink"), 0);
	assert_int_equal(fstatat(dfd, "toplink", &st, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(fstatat(dfd, "outside/precious", &st, 0), 0);

	/* a plain file, and something already gone */
	put_at(dfd, "plain", "z");
	assert_int_equal(rm_rf_at(dfd, "plain"), 0);
	assert_int_equal(fstatat(dfd, "plain", &st, 0), -1);
	assert_int_equal(rm_rf_at(dfd, "never-was"), 0);

	char list[64];
	dir_list(dfd, ".", list, sizeof(list));
	assert_string_equal(list, "outside");

	close(dfd);
	tmpdir_remove(d);
}

/* 20,000 levels: no recursion, no descriptor per level, no PATH_MAX. */
static void test_rm_rf_deep(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	int dfd = dir_open(d);
	int bottom = chain_make_at(dfd, "deep", "a", 20000);
	put_at(bottom, "file", "at the bottom");
	assert_int_equal(symlinkat("/", bottom, "root-link"), 0);
	close(bottom);
	int before = fd_count();
	double t0 = now_s();
	assert_int_equal(rm_rf_limited(dfd, "deep", before + 3), 0);
	double took = now_s() - t0;
	assert_true(gone_at(dfd, "deep"));
	assert_int_equal(fd_count(), before);
	if (took > 30)
		fail_msg("removing 20,000 levels took %.1f s", took);
	close(dfd);
	tmpdir_remove(d);
}

/* Wide and deep at once, files, fifos and symlinks (into the tree, to the
 * outside, dangling) at every level: all of it goes, nothing outside. */
static void test_rm_rf_wide_links(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	int dfd = dir_open(d);
	char target[PATH_MAX], name[32];
	assert_int_equal(mkdirat(dfd, "outside", 0755), 0);
	put_at(dfd, "outside/precious", "data");
	snprintf(target, sizeof(target), "%s/outside", d);
	assert_int_equal(mkdirat(dfd, "tree", 0755), 0);
	int tree = openat(dfd, "tree", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(tree >= 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		int sub = chain_make_at(tree, name, "s", (size_t)(i % 4));
		put_at(sub, "f", "x");
		if (i % 10 == 0) {
			assert_int_equal(symlinkat(target, sub, "out"), 0);
			assert_int_equal(symlinkat("../../../../../outside/precious", sub, "up"), 0);
			assert_int_equal(symlinkat("/nonexistent", sub, "dangling"), 0);
		}
		if (i % 100 == 0)
			assert_int_equal(mkfifoat(sub, "fifo", 0600), 0);
		if (i % 500 == 0)
			assert_int_equal(fchmod(sub, 0), 0);   /* root removes it anyway */
		close(sub);
	}
	close(tree);
	int before = fd_count();
	double t0 = now_s();
	assert_int_equal(rm_rf_limited(dfd, "tree", before + 3), 0);
	if (now_s() - t0 > 30)
		fail_msg("removing a wide tree took %.1f s", now_s() - t0);
	assert_int_equal(fd_count(), before);
	assert_true(gone_at(dfd, "tree"));
	char *got = slurp_at(dfd, "outside/precious");
	assert_non_null(got);
	assert_string_equal(got, "data");
	free(got);
	close(dfd);
	tmpdir_remove(d);
}

/* A mount below the tree is never entered: -EBUSY, its files stay.  A
 * bind mount of the same filesystem too (same st_dev). */
static void test_rm_rf_mounts(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	int dfd = dir_open(d);
	char path[PATH_MAX], src[PATH_MAX];
	int bottom = chain_make_at(dfd, "tree", "m", 3);
	close(bottom);
	snprintf(path, sizeof(path), "%s/tree/m/m/m", d);
	if (mount("tmpfs", path, "tmpfs", 0, "size=1m") < 0) {
		print_message("cannot mount tmpfs here (%s): skipping\n", strerror(errno));
		close(dfd);
		tmpdir_remove(d);
		skip();
	}
	put_at(dfd, "tree/m/m/m/kept", "on another filesystem");
	assert_int_equal(rm_rf_at(dfd, "tree"), -EBUSY);
	char *got = slurp_at(dfd, "tree/m/m/m/kept");
	assert_non_null(got);
	free(got);
	assert_int_equal(umount2(path, MNT_DETACH), 0);

	assert_int_equal(mkdirat(dfd, "other", 0755), 0);
	put_at(dfd, "other/kept", "same filesystem, other mount");
	snprintf(src, sizeof(src), "%s/other", d);
	assert_int_equal(mount(src, path, NULL, MS_BIND, NULL), 0);
	assert_int_equal(rm_rf_at(dfd, "tree"), -EBUSY);
	assert_false(gone_at(dfd, "other/kept"));
	assert_int_equal(umount2(path, MNT_DETACH), 0);
	assert_int_equal(rm_rf_at(dfd, "tree"), 0);
	assert_true(gone_at(dfd, "tree"));
	close(dfd);
	tmpdir_remove(d);
}

/* The walk under rm_rf_at: events in order, paths, and a tree moved under
 * it ends the walk instead of leading it elsewhere. */
static void test_dirwalk(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	int dfd = dir_open(d);
	close(chain_make_at(dfd, "t", "x", 2));
	put_at(dfd, "t/x/f", "");
	struct dirwalk w;
	char seen[256] = "";
	int r;
	assert_int_equal(dirwalk_open(&w, dfd, "t", false), 0);
	while ((r = dirwalk_next(&w)) > 0) {
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s%s:%zu ",
			 r == DIRWALK_LEAVE ? "-" : "+", w.path, w.depth);
		if (r == DIRWALK_ENTRY && S_ISDIR(w.st.st_mode))
			assert_int_equal(dirwalk_enter(&w), 0);
	}
	assert_int_equal(r, DIRWALK_END);
	dirwalk_close(&w);
	/* a directory's entries (f and x/x in readdir order), then below them */
	if (!STREQ(seen, "+/x:1 +/x/x:2 +/x/f:2 -/x/x:2 -/x:1 ") &&
	    !STREQ(seen, "+/x:1 +/x/f:2 +/x/x:2 -/x/x:2 -/x:1 "))
		fail_msg("walk: %s", seen);

	/* x moved away while the walk reads it: the way back up from x is
	 * no longer the directory the walk came down from */
	assert_int_equal(dirwalk_open(&w, dfd, "t", false), 0);
	assert_int_equal(dirwalk_next(&w), DIRWALK_ENTRY);
	assert_string_equal(w.path, "/x");
	assert_int_equal(dirwalk_enter(&w), 0);
	assert_int_equal(dirwalk_next(&w), DIRWALK_ENTRY);   /* inside x now */
	assert_int_equal(renameat(dfd, "t/x", dfd, "moved"), 0);
	assert_int_equal(mkdirat(dfd, "t/x", 0755), 0);
	while ((r = dirwalk_next(&w)) > 0)
		if (r == DIRWALK_ENTRY && S_ISDIR(w.st.st_mode))
			assert_int_equal(dirwalk_enter(&w), 0);
	assert_int_equal(r, -ESTALE);
	dirwalk_close(&w);
	assert_int_equal(rm_rf_at(dfd, "moved"), 0);
	assert_int_equal(rm_rf_at(dfd, "t"), 0);
	close(dfd);
	tmpdir_remove(d);
}

/* A directory wider than one chunk of names is read in pieces: every
 * entry still comes exactly once, each directory before its content. */
static void test_dirwalk_wide(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	int dfd = dir_open(d);
	char name[32];
	enum { WIDE = 3000 };
	int top = chain_make_at(dfd, "t", "", 0);
	for (int i = 0; i < WIDE; i++) {
		snprintf(name, sizeof(name), "subdirectory-%d", i);
		int sub = chain_make_at(top, name, "", 0);
		put_at(sub, "f", "");
		close(sub);
	}
	close(top);
	unsigned char *dirs = calloc(WIDE, 1), *files = calloc(WIDE, 1);
	struct dirwalk w;
	int r, i;
	size_t leaves = 0;
	assert_int_equal(dirwalk_open(&w, dfd, "t", false), 0);
	while ((r = dirwalk_next(&w)) > 0) {
		if (r == DIRWALK_LEAVE) {
			leaves++;
			continue;
		}
		if (sscanf(w.path, "/subdirectory-%d", &i) != 1 || i < 0 || i >= WIDE)
			fail_msg("unexpected %s", w.path);
		if (S_ISDIR(w.st.st_mode)) {
			assert_int_equal(dirs[i]++, 0);
			assert_int_equal(dirwalk_enter(&w), 0);
		} else {
			assert_int_equal(dirs[i], 1);   /* its directory came first */
			assert_int_equal(files[i]++, 0);
		}
	}
	assert_int_equal(r, DIRWALK_END);
	dirwalk_close(&w);
	assert_int_equal(leaves, WIDE);
	for (i = 0; i < WIDE; i++)
		assert_int_equal(files[i], 1);
	free(dirs);
	free(files);
	close(dfd);
	tmpdir_remove(d);
}

static void test_mkdir_p_at(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	int dfd = dir_open(d);
	assert_int_equal(mkdir_p_at(dfd, "x/y/z", 0700), 0);
	assert_int_equal(mkdir_p_at(dfd, "x/y/z", 0700), 0);   /* again: fine */
	struct stat st;
	assert_int_equal(fstatat(dfd, "x/y/z", &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	put_at(dfd, "file", "");
	assert_int_equal(mkdir_p_at(dfd, "file/sub", 0700), -ENOTDIR);
	close(dfd);
	tmpdir_remove(d);
}

static void fill_pattern(char *b, size_t n)
{
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (char)x;
	}
}

static void test_copy_fd(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	int dfd = dir_open(d);
	size_t n = 300000;
	char *data = malloc(n);
	assert_non_null(data);
	fill_pattern(data, n);

	/* file to file (copy_file_range) */
	int in = openat(dfd, "in", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(in >= 0);
	assert_int_equal(write_all(in, data, n), 0);
	assert_int_equal(lseek(in, 0, SEEK_SET), 0);
	int out = openat(dfd, "out", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(out >= 0);
	assert_int_equal(copy_fd(in, out), 0);
	char *got = NULL;
	size_t len = 0;
	assert_int_equal(read_file_at(dfd, "out", &got, &len, n), 0);
	assert_int_equal(len, n);
	assert_memory_equal(got, data, n);
	free(got);
	close(in);
	close(out);

	/* from a pipe (no copy_file_range: the read/write fallback) */
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(write_all(p[1], data, 4000), 0);
	close(p[1]);
	out = openat(dfd, "out2", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(out >= 0);
	assert_int_equal(copy_fd(p[0], out), 0);
	assert_int_equal(read_file_at(dfd, "out2", &got, &len, n), 0);
	assert_int_equal(len, 4000);
	assert_memory_equal(got, data, 4000);
	free(got);
	close(p[0]);
	close(out);

	/* an unreadable source is an error, not an empty copy */
	out = openat(dfd, "out3", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	in = openat(dfd, "in", O_WRONLY | O_CLOEXEC);
	assert_true(out >= 0 && in >= 0);
	assert_int_equal(copy_fd(in, out), -EBADF);
	close(in);
	close(out);

	free(data);
	close(dfd);
	tmpdir_remove(d);
}

/* ---- terminal-safe text ------------------------------------------------------ */

/* src (n bytes) escaped in one call with room to spare; asserts it all went. */
static char *escaped(const char *src, size_t n, unsigned flags)
{
	static char out[4096];
	assert_int_equal(str_escape_ctl(out, sizeof(out), src, n, flags), n);
	return out;
}
#define ESC(lit, flags) escaped(lit, sizeof(lit) - 1, flags)

/* What a terminal shows and never acts on: printable ASCII, tab, newline,
 * and UTF-8 sequences that are not C1 controls. */
static bool term_safe(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n; i++) {
		if ((u[i] >= 0x20 && u[i] < 0x7f) || u[i] == '\n' || u[i] == '\t')
			continue;
		mbstate_t st = { 0 };
		wchar_t wc;
		size_t k = mbrtowc(&wc, s + i, n - i, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k < 2 || (wc >= 0x80 && wc < 0xa0) ||
		    wc == 0x061c || wc == 0x200e || wc == 0x200f || (wc >= 0x202a && wc <= 0x202e) ||
		    (wc >= 0x2066 && wc <= 0x2069))
			return false;
		i += k - 1;
	}
	return true;
}

/* The escaped text read back: \\ and \xNN are the only escapes. */
static size_t unescape(const char *s, char *out)
{
	size_t o = 0;
	for (size_t i = 0; s[i]; o++) {
		unsigned v;
		if (s[i] != '\\') {
			out[o] = s[i++];
		} else if (s[i + 1] == '\\') {
			out[o] = '\\';
			i += 2;
		} else {
			assert_int_equal(s[i + 1], 'x');
			assert_int_equal(sscanf(s + i + 2, "%2x", &v), 1);
			out[o] = (char)v;
			i += 4;
		}
	}
	return o;
}

static void test_escape_controls(void **state)
{
	(void)state;
	/* a backslash is doubled, so text that spells an escape cannot pass
	 * for one; tab and newline are kept only in lines of text */
	assert_string_equal(ESC("plain text\tand a \\x1b", 0), "plain text\\x09and a \\\\x1b");
	assert_string_equal(ESC("plain text\tand a \\x1b", ESC_KEEP_NL), "plain text\tand a \\\\x1b");
	assert_string_equal(ESC("two\nlines\n", ESC_KEEP_NL), "two\nlines\n");
	assert_string_equal(ESC("one\nline", 0), "one\\x0aline");
	/* ESC with CSI: clear the screen, move the cursor, recolour */
	assert_string_equal(ESC("\033[2J\033[H\033[31mred", ESC_KEEP_NL), "\\x1b[2J\\x1b[H\\x1b[31mred");
	/* OSC 52, a clipboard write, ended by BEL or by ST (ESC \) */
	assert_string_equal(ESC("\033]52;c;SGVsbG8=\a", 0), "\\x1b]52;c;SGVsbG8=\\x07");
	assert_string_equal(ESC("\033]52;c;SGVsbG8=\033\\", 0), "\\x1b]52;c;SGVsbG8=\\x1b\\\\");
	/* a carriage return would let a line overwrite itself */
	assert_string_equal(ESC("isc: ok\rforged", ESC_KEEP_NL), "isc: ok\\x0dforged");
	/* the rest of C0, DEL, a NUL inside the bytes */
	assert_string_equal(ESC("\x01\x08\x0b\x0c\x1f\x7f", ESC_KEEP_NL), "\\x01\\x08\\x0b\\x0c\\x1f\\x7f");
	assert_string_equal(ESC("a\0b", 0), "a\\x00b");
}

static void test_escape_utf8(void **state)
{
	(void)state;
	/* C1 controls as UTF-8 (U+009B CSI, U+009D OSC, U+0085 NEL): a terminal
	 * honours them as it does ESC [ and ESC ] */
	assert_string_equal(ESC("\xc2\x9b" "2J", 0), "\\xc2\\x9b2J");
	assert_string_equal(ESC("\xc2\x9d" "52;c;eA==\xc2\x9c", 0), "\\xc2\\x9d52;c;eA==\\xc2\\x9c");
	assert_string_equal(ESC("\xc2\x85", 0), "\\xc2\\x85");
	/* the same as single 8-bit bytes: not UTF-8 at all */
	assert_string_equal(ESC("\x9b" "2J", 0), "\\x9b2J");
	/* valid UTF-8 is kept: U+00A0 (just past C1), é, €, U+FFFD, an emoji, U+10FFFF */
	static const char *const keep[] = {
		"\xc2\xa0", "caf\xc3\xa9", "\xe2\x82\xac 5", "\xef\xbf\xbd", "\xf0\x9f\x98\x80",
		"\xf4\x8f\xbf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xf0\x90\x80\x80",
	};
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		assert_string_equal(escaped(keep[i], strlen(keep[i]), 0), keep[i]);
	/* invalid: overlong forms, surrogates, above U+10FFFF, stray continuation
	 * bytes, a sequence cut short or interrupted; every byte shown */
	static const struct { const char *in, *out; } bad[] = {
		{ "\xc0\xaf", "\\xc0\\xaf" },                     /* overlong '/' */
		{ "\xc1\xbf", "\\xc1\\xbf" },
		{ "\xe0\x80\xaf", "\\xe0\\x80\\xaf" },
		{ "\xe0\x9f\xbf", "\\xe0\\x9f\\xbf" },
		{ "\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf" },
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },             /* U+D800 */
		{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },     /* U+110000 */
		{ "\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80" },
		{ "\xff\xfe", "\\xff\\xfe" },
		{ "\x80x", "\\x80x" },
		{ "\xe2\x82", "\\xe2\\x82" },                       /* cut at the end */
		{ "\xe2\x82" "A", "\\xe2\\x82A" },                  /* interrupted */
		{ "\xe2\x1b[2J", "\\xe2\\x1b[2J" },                /* ... by an escape */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_string_equal(escaped(bad[i].in, strlen(bad[i].in), ESC_KEEP_NL), bad[i].out);
}

static void test_escape_bounds(void **state)
{
	(void)state;
	char out[64];
	/* a full buffer stops before an escape or a sequence, never inside one */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(str_escape_ctl(out, 5, "\033\033", 2, 0), 1);
	assert_string_equal(out, "\\x1b");
	assert_int_equal(str_escape_ctl(out, 4, "\033", 1, 0), 0);
	assert_string_equal(out, "");
	assert_int_equal(str_escape_ctl(out, 4, "ab\xe2\x82\xac", 5, 0), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(str_escape_ctl(out, 0, "x", 1, 0), 0);
	assert_string_equal(out, "ab");   /* no room even for the NUL: untouched */
	/* ESC_MORE leaves a sequence cut at the end for the call with what follows */
	assert_int_equal(str_escape_ctl(out, sizeof(out), "x\xe2\x82", 3, ESC_MORE), 1);
	assert_string_equal(out, "x");
	assert_int_equal(str_escape_ctl(out, sizeof(out), "\xf0\x9f", 2, ESC_MORE), 0);
	/* ... but not an invalid one */
	assert_int_equal(str_escape_ctl(out, sizeof(out), "x\xe2\x41", 3, ESC_MORE), 3);
	assert_string_equal(out, "x\\xe2A");

	/* in small pieces, the same result as in one call */
	const char text[] = "ok \033]52;c;SGVsbG8=\a caf\xc3\xa9 \xc2\x9b" "2J \xf0\x9f\x98\x80\n\xff";
	char whole[256], pieces[256] = "";
	size_t n = sizeof(text) - 1, done = 0;
	assert_int_equal(str_escape_ctl(whole, sizeof(whole), text, n, ESC_KEEP_NL), n);
	while (done < n) {
		size_t k = str_escape_ctl(out, 7, text + done, n - done, ESC_KEEP_NL);
		assert_true(k > 0);
		strcat(pieces, out);
		done += k;
	}
	assert_string_equal(pieces, whole);
}

/* The one rule, as both entry points apply it: in one field (no flags)
 * and in lines of text (ESC_KEEP_NL). */
static void test_escape_rule(void **state)
{
	(void)state;
	static const struct { const char *in, *field, *lines; } rule[] = {
		{ "a\\b", "a\\\\b", "a\\\\b" },                      /* backslash doubled */
		{ "\\x1b", "\\\\x1b", "\\\\x1b" },                  /* ... so text never spells an escape */
		{ "a\tb", "a\\x09b", "a\tb" },                       /* tab: layout in lines only */
		{ "a\nb", "a\\x0ab", "a\nb" },                       /* newline: likewise */
		{ "a\rb", "a\\x0db", "a\\x0db" },                   /* CR: never */
		{ "\x1b[H\x7f", "\\x1b[H\\x7f", "\\x1b[H\\x7f" },
		{ "\xc2\x9b", "\\xc2\\x9b", "\\xc2\\x9b" },           /* C1 CSI */
		{ "gpj.\xe2\x80\xae" "exe", "gpj.\\xe2\\x80\\xaeexe", "gpj.\\xe2\\x80\\xaeexe" },   /* RLO */
		{ "\xe2\x81\xa6x\xe2\x81\xa9", "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9",
		  "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9" },                 /* LRI ... PDI */
		{ "\xe2\x80\x8e\xd8\x9c", "\\xe2\\x80\\x8e\\xd8\\x9c", "\\xe2\\x80\\x8e\\xd8\\x9c" },
		{ "\xe2\x80\x8d\xe2\x80\xaf", "\xe2\x80\x8d\xe2\x80\xaf", "\xe2\x80\x8d\xe2\x80\xaf" },   /* ZWJ, NNBSP: text */
		{ "\xff", "\\xff", "\\xff" },
	};
	char out[128];
	for (size_t i = 0; i < ARRAY_SIZE(rule); i++) {
		size_t n = strlen(rule[i].in);
		assert_string_equal(escaped(rule[i].in, n, 0), rule[i].field);
		assert_string_equal(escaped(rule[i].in, n, ESC_KEEP_NL), rule[i].lines);
		assert_int_equal(str_escape(rule[i].in, n, out, sizeof(out)), n);
		assert_string_equal(out, rule[i].field);
	}
	/* unambiguous: any bytes read back from what is shown, in both modes;
	 * the field is one line of text, and nothing shown is a control */
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	size_t n = 65536;
	char *data = malloc(n), *esc = malloc(4 * n + 1), *back = malloc(n + 1);
	assert_true(data && esc && back);
	fill_pattern(data, n);
	memcpy(data + 100, "\\x41\xe2\x80\xae\\\\", 8);
	for (unsigned flags = 0; flags <= ESC_KEEP_NL; flags += ESC_KEEP_NL) {
		assert_int_equal(str_escape_ctl(esc, 4 * n + 1, data, n, flags), n);
		assert_true(term_safe(esc, strlen(esc)));
		assert_true(flags || !strpbrk(esc, "\t\n"));
		assert_int_equal(unescape(esc, back), n);
		assert_memory_equal(back, data, n);
	}
	free(data);
	free(esc);
	free(back);
}

static void test_fd_write_escaped(void **state)
{
	(void)state;
	/* term_safe asks libc's UTF-8 decoder, not ours */
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	char *d = tmpdir_make();
	int dfd = dir_open(d);
	/* random bytes, written in chunks cut anywhere: the file is safe for a
	 * terminal and the same as one call would make of them */
	size_t n = 200000;
	char *data = malloc(n);
	assert_non_null(data);
	fill_pattern(data, n);
	memcpy(data + 4095, "\xe2\x82\xac", 3);   /* a sequence across the first cut */
	int out = openat(dfd, "out", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(out >= 0);
	size_t carry = 0, at = 0;
	while (at < n) {
		size_t chunk = at + 4096 - carry > n ? n - at : 4096 - carry;
		at += chunk;
		chunk += carry;
		unsigned more = at < n ? ESC_MORE : 0;
		ssize_t w = fd_write_escaped(out, data + at - chunk, chunk, ESC_KEEP_NL | more);
		assert_true(w >= 0 && (size_t)w <= chunk && chunk - (size_t)w <= 3);
		assert_true(more || (size_t)w == chunk);
		carry = chunk - (size_t)w;
	}
	close(out);
	char *got = NULL;
	size_t len = 0;
	assert_int_equal(read_file_at(dfd, "out", &got, &len, 4 * n + 1), 0);
	assert_true(len > n);
	assert_true(term_safe(got, len));
	assert_non_null(memmem(got, len, "\xe2\x82\xac", 3));
	/* all of it went through: one escaped call over the whole gives the same */
	char *one = malloc(4 * n + 1);
	assert_non_null(one);
	assert_int_equal(str_escape_ctl(one, 4 * n + 1, data, n, ESC_KEEP_NL), n);
	assert_int_equal(strlen(one), len);
	assert_memory_equal(one, got, len);
	free(one);
	free(got);

	/* a write that fails is reported */
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[1]);
	assert_int_equal(fd_write_escaped(p[0], "x", 1, 0), -EBADF);
	close(p[0]);
	free(data);
	close(dfd);
	tmpdir_remove(d);
}

/* ---- fd passing -------------------------------------------------------------- */

static void test_fd_pass(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	int mfd = memfd_with("through the socket");

	assert_int_equal(fd_send(sv[0], "hello", 5, &mfd, 1), 0);
	char buf[32] = { 0 };
	int fds[4] = { -1, -1, -1, -1 };
	size_t nfds = 4;
	assert_int_equal(fd_recv(sv[1], buf, sizeof(buf), fds, &nfds), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(nfds, 1);
	assert_true(fds[0] >= 0 && fds[0] != mfd);
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);   /* no leak into children */
	char rd[32] = { 0 };
	assert_int_equal(pread(fds[0], rd, sizeof(rd) - 1, 0), 18);
	assert_string_equal(rd, "through the socket");
	close(fds[0]);

	/* a message without fds reports none */
	assert_int_equal(fd_send(sv[0], "x", 1, NULL, 0), 0);
	nfds = 4;
	assert_int_equal(fd_recv(sv[1], buf, sizeof(buf), fds, &nfds), 1);
	assert_int_equal(nfds, 0);

	/* at most 8 per message */
	int nine[9];
	for (size_t i = 0; i < 9; i++)
		nine[i] = mfd;
	assert_int_equal(fd_send(sv[0], "x", 1, nine, 9), -EINVAL);
	assert_int_equal(fd_send(sv[0], "x", 1, nine, 8), 0);
	nfds = 8;
	int eight[8];
	assert_int_equal(fd_recv(sv[1], buf, sizeof(buf), eight, &nfds), 1);
	assert_int_equal(nfds, 8);
	for (size_t i = 0; i < 8; i++)
		close(eight[i]);

	/* a closed peer reads as end of stream */
	close(sv[0]);
	nfds = 4;
	assert_int_equal(fd_recv(sv[1], buf, sizeof(buf), fds, &nfds), 0);
	assert_int_equal(nfds, 0);
	close(sv[1]);
	close(mfd);
}

/* More fds than the receiver asked for: the extra ones are closed, not
 * left open in the receiving process.  The write end of a pipe tells: once
 * the sender's copy is closed, EOF on the read end proves no copy is left. */
static void test_fd_recv_surplus_closed(void **state)
{
	(void)state;
	int sv[2], p[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	pipe_nb(p);
	int mfd = memfd_with("kept");
	int send_fds[2] = { mfd, p[1] };

	assert_int_equal(fd_send(sv[0], "m", 1, send_fds, 2), 0);
	close(p[1]);
	assert_int_equal(read_now(p[0]), -EAGAIN);   /* the copy in flight keeps it open */
	int fds[1] = { -1 };
	size_t nfds = 1;
	char b;
	assert_int_equal(fd_recv(sv[1], &b, 1, fds, &nfds), 1);
	assert_int_equal(nfds, 1);
	char rd[8] = { 0 };
	assert_int_equal(pread(fds[0], rd, sizeof(rd) - 1, 0), 4);
	assert_string_equal(rd, "kept");
	close(fds[0]);
	assert_int_equal(read_now(p[0]), 0);         /* surplus write end was closed */
	close(p[0]);

	/* and with no room for fds at all */
	pipe_nb(p);
	assert_int_equal(fd_send(sv[0], "m", 1, &p[1], 1), 0);
	close(p[1]);
	assert_int_equal(fd_recv(sv[1], &b, 1, NULL, NULL), 1);
	assert_int_equal(read_now(p[0]), 0);
	close(p[0]);

	pipe_nb(p);
	assert_int_equal(fd_send(sv[0], "m", 1, &p[1], 1), 0);
	close(p[1]);
	nfds = 0;
	assert_int_equal(fd_recv(sv[1], &b, 1, fds, &nfds), 1);
	assert_int_equal(nfds, 0);
	assert_int_equal(read_now(p[0]), 0);
	close(p[0]);

	close(mfd);
	close(sv[0]);
	close(sv[1]);
}

/* ---- child commands ---------------------------------------------------------- */

static void test_run_cmd_status_output(void **state)
{
	(void)state;
	char out[256];
	char *fail3[] = { "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3", NULL };
	assert_int_equal(run_cmd(fail3, true, out, sizeof(out)), 3);
	assert_string_equal(out, "to-stdout\nto-stderr\n");

	char *ok[] = { "true", NULL };
	memset(out, 'x', sizeof(out));
	assert_int_equal(run_cmd(ok, true, out, sizeof(out)), 0);
	assert_string_equal(out, "");

	/* stdin is /dev/null: a command reading it ends at once */
	char *cat[] = { "cat", NULL };
	assert_int_equal(run_cmd(cat, true, out, sizeof(out)), 0);
	assert_string_equal(out, "");

	/* a program not on PATH: 127 and a reason */
	char *missing[] = { "isc-test-no-such-program", NULL };
	assert_int_equal(run_cmd(missing, true, out, sizeof(out)), 127);
	assert_true(str_has_prefix(out, "cannot run isc-test-no-such-program: "));

	/* killed by a signal: 128 + signal */
	char *killed[] = { "sh", "-c", "kill -9 $$", NULL };
	assert_int_equal(run_cmd(killed, true, NULL, 0), 128 + 9);

	/* no buffer: output is drained, not an error */
	assert_int_equal(run_cmd(fail3, true, NULL, 0), 3);
}

static void test_run_cmd_truncates(void **state)
{
	(void)state;
	/* far more than a pipe holds: the child must not block on a full pipe */
	char *big[] = { "sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a; exit 5", NULL };
	char out[16];
	assert_int_equal(run_cmd(big, true, out, sizeof(out)), 5);
	assert_string_equal(out, "aaaaaaaaaaaaaaa");
}

/* Without quiet, stdout goes to the caller's stderr; only stderr is captured. */
static void test_run_cmd_not_quiet(void **state)
{
	(void)state;
	char *d = tmpdir_make();
	int dfd = dir_open(d);
	int f = openat(dfd, "stderr", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(f >= 0);
	fflush(stderr);
	int saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(f, 2), 2);
	char out[256];
	char *argv[] = { "sh", "-c", "echo progress; echo problem >&2; exit 1", NULL };
	int r = run_cmd(argv, false, out, sizeof(out));
	dup2(saved, 2);
	close(saved);
	assert_int_equal(r, 1);
	assert_string_equal(out, "problem\n");
	char *seen = slurp_at(dfd, "stderr");
	assert_string_equal(seen, "progress\n");
	free(seen);
	close(f);
	close(dfd);
	tmpdir_remove(d);
}

/* What a spawned shell saw: its fds, session and parent, as one line. */
static char *spawned_report(int rd)
{
	char *buf = calloc(1, 4096);
	assert_non_null(buf);
	ssize_t n = read_all(rd, buf, 4095);
	assert_true(n > 0);
	buf[n] = '\0';
	return buf;
}

/* which of the shell's fds 0-9 are open (by stat: nothing opened to look),
 * then its session, pid and parent, then its stdin */
#define REPORT "for n in 0 1 2 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$n ] && printf '%s ' $n; done; " \
	"printf '|%s|%s|%s|' \"$(cut -d' ' -f6 /proc/$$/stat)\" $$ $PPID; cat"

/* spawn_fds: fds[i] becomes i, however they overlap; nothing else of ours
 * crosses; a session of its own; the exec's failure is the caller's. */
static void test_spawn_fds(void **state)
{
	(void)state;
	int in[2], out[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	int stray = open("/dev/null", O_RDONLY);   /* not close-on-exec: must not cross */
	assert_true(stray >= 3 && stray <= 9);      /* where the report looks */
	/* stdout to the pipe, stdin from the other; fd 2 gets what was fd 0 */
	int fds[3] = { in[0], out[1], 0 };
	char *argv[] = { "/bin/sh", "-c", REPORT, NULL };
	pid_t pid = spawn_fds("/bin/sh", argv, fds, 3);
	assert_true(pid > 0);
	close(out[1]);
	close(in[0]);
	assert_int_equal(write(in[1], "fed", 3), 3);
	close(in[1]);
	char *seen = spawned_report(out[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char want[128];
	/* fds 0 1 2 only; its own session; our child */
	snprintf(want, sizeof(want), "0 1 2 |%d|%d|%d|fed", pid, pid, getpid());
	assert_string_equal(seen, want);
	free(seen);
	close(out[0]);
	close(stray);
	char *missing[] = { "isc-test-no-such-program", NULL };
	assert_int_equal(spawn_fds("/nonexistent/isc-test", missing, fds, 0), -ENOENT);
}

/* spawn_detached: running once it returns, and nobody's child of ours. */
static void test_spawn_detached(void **state)
{
	(void)state;
	int out[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int fds[4] = { null, out[1], out[1], out[1] };
	char *argv[] = { "/bin/sh", "-c", REPORT, NULL };
	assert_int_equal(spawn_detached("/bin/sh", argv, fds, 4), 0);
	close(out[1]);
	char *seen = spawned_report(out[0]);
	int fd0, fd1, fd2, fd3, sid, pid, ppid;
	assert_int_equal(sscanf(seen, "%d %d %d %d |%d|%d|%d|", &fd0, &fd1, &fd2, &fd3, &sid, &pid, &ppid), 7);
	assert_int_equal(fd3, 3);
	assert_int_equal(sid, pid);
	assert_int_not_equal(ppid, getpid());
	/* not ours to reap: no child is left to us */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	free(seen);
	close(out[0]);
	char *missing[] = { "x", NULL };
	assert_int_equal(spawn_detached("/nonexistent/isc-test", missing, fds, 1), -ENOENT);
	close(null);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spawn_fds),
		cmocka_unit_test(test_spawn_detached),
		cmocka_unit_test(test_err_set),
		cmocka_unit_test(test_err_prefix),
		cmocka_unit_test(test_err_sys),
		cmocka_unit_test(test_parse_size_valid),
		cmocka_unit_test(test_parse_size_invalid),
		cmocka_unit_test(test_format_size),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_str_copy_prefix),
		cmocka_unit_test(test_str_escape),
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_write_file_atomic),
		cmocka_unit_test(test_read_file_at),
		cmocka_unit_test(test_rm_rf_at),
		cmocka_unit_test(test_rm_rf_deep),
		cmocka_unit_test(test_rm_rf_wide_links),
		cmocka_unit_test(test_rm_rf_mounts),
		cmocka_unit_test(test_dirwalk),
		cmocka_unit_test(test_dirwalk_wide),
		cmocka_unit_test(test_mkdir_p_at),
		cmocka_unit_test(test_copy_fd),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_utf8),
		cmocka_unit_test(test_escape_bounds),
		cmocka_unit_test(test_escape_rule),
		cmocka_unit_test(test_fd_write_escaped),
		cmocka_unit_test(test_fd_pass),
		cmocka_unit_test(test_fd_recv_surplus_closed),
		cmocka_unit_test(test_run_cmd_status_output),
		cmocka_unit_test(test_run_cmd_truncates),
		cmocka_unit_test(test_run_cmd_not_quiet),
	};
	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
