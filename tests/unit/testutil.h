/* testutil.h - helpers shared by the cmocka unit tests (header-only). */
#pragma once

#include "common.h"

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
