/* fuzz_ocispec.c - libFuzzer harness for isc-runtime's config.json parser and rules (src/runtime/spec.c): never crash, refusals are one line, what is accepted keeps isc's invariants. */
#include "spec.h"

#include <sched.h>

#include <sys/mount.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0 accepted, -1 refused (one line); aborts on a broken invariant. */
int ocispec_check(const char *text, size_t len);

int ocispec_check(const char *text, size_t len)
{
	struct oci_spec s;
	struct isc_err e = { 0 };
	int r = oci_spec_parse(text, len, "/bundle", &s, &e);
	if (r < 0) {
		if (e.code == 0 || !*e.msg || strchr(e.msg, '\n'))
			abort();
		oci_spec_free(&s);
		return -1;
	}
	/* an accepted spec: an absolute root, a program, absolute mounts, a
	 * mount, pid, ipc and uts namespace of its own, capabilities within
	 * isc's unless the annotation asked for the spec's */
	if (!s.root || s.root[0] != '/' || !s.proc.args || !s.proc.args[0] || !s.proc.cwd || s.proc.cwd[0] != '/')
		abort();
	for (size_t i = 0; i < s.nmounts; i++)
		if (s.mounts[i].dest[0] != '/' || (s.mounts[i].bind && s.mounts[i].source[0] != '/'))
			abort();
	static const int need[] = { CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWIPC, CLONE_NEWUTS };
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!oci_spec_ns(&s, need[i]))
			abort();
	const char *caps = oci_annotation(&s, "org.isc.caps");
	if (!(caps && STREQ(caps, "spec")) && (s.proc.caps & ~confine_default_caps()))
		abort();
	oci_spec_free(&s);
	return 0;
}

#ifndef OCISPEC_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ocispec_check((const char *)data, size);
	return 0;
}
#endif
