/* lib.c - libraries loaded when first needed (libnftables, libsystemd):
 * every iscadm and iscd start would otherwise pay for loading them and
 * their own dependencies (docs/performance.md).  Host side only. */
#include "common.h"

#include <dlfcn.h>

void *lib_open(const char *soname, const char *package, struct isc_err *e)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		err_set(e, ENOENT, "cannot load %s (%s): install %s", soname, why ? why : "not found", package);
	}
	return h;
}

int lib_syms(void *h, const char *soname, const struct lib_sym *syms, size_t n, struct isc_err *e)
{
	for (size_t i = 0; i < n; i++) {
		void *p = dlsym(h, syms[i].name);
		if (!p)
			return err_set(e, ENOENT, "%s has no %s: a version isc was not built for", soname,
				       syms[i].name);
		memcpy(syms[i].slot, &p, sizeof(p));
	}
	return 0;
}
