/* paths.c - where the helper programs live: next to the running binary (build tree) or libexec. */
#include "common.h"

#include <limits.h>
#include <sys/stat.h>

int isc_libexec_path(const char *name, char *buf, size_t size)
{
	const char *env = getenv("ISC_LIBEXEC");
	struct stat st;
	char self[PATH_MAX];

	if (env && *env) {
		snprintf(buf, size, "%s/%s", env, name);
		return stat(buf, &st) == 0 ? 0 : -ENOENT;
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, size, "%s/%s", self, name);
			if (stat(buf, &st) == 0)
				return 0;
			/* installed layout: iscadm in sbin, helpers in libexec/isc */
			snprintf(buf, size, "%s/../libexec/isc/%s", self, name);
			if (stat(buf, &st) == 0)
				return 0;
		}
	}
	snprintf(buf, size, "%s/%s", ISC_LIBEXECDIR, name);
	return stat(buf, &st) == 0 ? 0 : -ENOENT;
}
