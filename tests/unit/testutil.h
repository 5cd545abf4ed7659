/* testutil.h - helpers shared by the cmocka unit tests (header-only). */
#pragma once

#include "common.h"

#include <dirent.h>
#include <fcntl.h>

/* A fresh directory under /tmp; remove with tmpdir_remove(). */
static inline char *tmpdir_make_named(const char *prefix)
{
	char *d = NULL;
	assert_true(asprintf(&d, "/tmp/%s.XXXXXX", prefix) > 0);
	assert_non_null(mkdtemp(d));
	return d;
}

static inline void tmpdir_remove(char *d)
{
	assert_int_equal(rm_rf_at(AT_FDCWD, d), 0);
	free(d);
}

/* tests/fuzz/corpus/NAME in the source tree (meson passes its root). */
static inline bool corpus_find_named(const char *name, char *out, size_t n)
{
	return snprintf(out, n, "%s/tests/fuzz/corpus/%s", ISC_SOURCE_ROOT, name) < (int)n &&
	       access(out, R_OK) == 0;
}

/* Feed every file of tests/fuzz/corpus/NAME/SUB to check(); returns how
 * many there were.  check() asserts what pass/ or fail/ must give. */
typedef void (*corpus_check_fn)(const char *file, const char *data, size_t len, bool pass);

static inline size_t corpus_each(const char *name, const char *sub, corpus_check_fn check)
{
	char base[PATH_MAX], path[PATH_MAX + 16];
	if (!corpus_find_named(name, base, sizeof(base)))
		fail_msg("tests/fuzz/corpus/%s not found", name);
	snprintf(path, sizeof(path), "%s/%s", base, sub);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		fail_msg("no corpus directory %s", path);
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	size_t n = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *data = NULL;
		size_t len = 0;
		assert_int_equal(read_file_at(dirfd(d), de->d_name, &data, &len, 1 << 16), 0);
		check(de->d_name, data, len, STREQ(sub, "pass"));
		free(data);
		n++;
	}
	closedir(d);
	return n;
}

/* Descriptors open in this process now (a leak check: compare before and after). */
static inline int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;   /* not the one opendir holds */
}

/* name/comp/comp/... levels deep below dirfd, made one level at a time
 * relative to the last (no path string ever holds the whole chain).
 * Returns an open descriptor on the deepest directory. */
static inline int chain_make_at(int dirfd, const char *name, const char *comp, size_t levels)
{
	assert_int_equal(mkdirat(dirfd, name, 0755), 0);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (size_t i = 0; i < levels; i++) {
		assert_int_equal(mkdirat(fd, comp, 0755), 0);
		int sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(sub >= 0);
		close(fd);
		fd = sub;
	}
	return fd;
}
