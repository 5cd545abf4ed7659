/* host_cmd.c - iscadm host check: each kernel feature isc uses, present or
 * not, and what follows for ISCs on this host. */
#include "adm.h"
#include "kernel.h"

struct feature {
	const char *name, *since;
	bool required;          /* without it no ISC boots here */
	const char *yes, *no;   /* what follows */
};

static void row(struct table *t, const struct feature *f, bool have, const char *value, bool *missing)
{
	const char *vals[] = { f->name, value ? value : have ? "yes" : "no", f->since,
			       have ? f->yes : f->no };
	table_row(t, vals);
	if (f->required && !have)
		*missing = true;
}

int cmd_host(struct adm *a)
{
	static const struct table_col cols[] = {
		{ "FEATURE", "feature", 26 }, { "PRESENT", "present", 8 }, { "SINCE", "since", 6 },
		{ "WHAT FOLLOWS", "follows", 0 },
	};
	static const struct feature fs[] = {
		{ "user namespaces", "3.8", true, "each ISC has its own ids", "no ISC can boot" },
		{ "new mount API", "5.2", true, "mounts built on descriptors", "no ISC can boot" },
		{ "erofs", "5.4", true, "images are erofs", "no image can be mounted" },
		{ "erofs from a file", "6.12", false, "images mount straight from the pool",
		  "images mount through read-only loop devices (the same guarantee)" },
		{ "overlayfs", "4.0", true, "writable layers over the image", "no ISC can boot" },
		{ "overlay layers as fds", "6.13", false, "layers handed over as descriptors",
		  "layers are attached in a private mount namespace first" },
		{ "loop devices", "2.6", true, "the pool's filesystem", "no pool" },
		{ "ext4 encryption", "4.1", true, "ISC data encrypted at rest (fscrypt)", "no pool" },
		{ "AES instructions", "cpu", false, "encryption costs little CPU",
		  "encryption runs in software: slower, as safe" },
		{ "cgroup v2 (unified)", "4.5", false, "the cgroup v2 back end",
		  "the cgroup v1 back end (hybrid or legacy hierarchy)" },
		{ "seccomp", "3.5", true, "the system call filter", "no ISC can boot" },
		{ "seccomp notification", "5.0", false, "denials reported to the supervisor",
		  "denials not reported" },
		{ "Landlock", "5.13", false, "write rules enforced below the writable paths",
		  "landlock off at boot, said in the notes (require=landlock refuses)" },
		{ "memory-deny-write-exec", "6.3", false, "no page writable and executable",
		  "W^X by the seccomp filter instead, said at boot (require=mdwe refuses)" },
		{ "ext4 verity", "5.4", false, "not used yet: cold boots read the whole image",
		  "cold boots read the whole image" },
		{ "device-mapper", "2.6", false, "not used yet (dm-verity)", "not used" },
	};
	enum table_fmt fmt;
	if (a->argc < 2 || !STREQ(a->argv[1], "check") ||
	    table_opts(a->argc - 1, a->argv + 1, &fmt) != a->argc - 1)
		return adm_usage("host check [-p | --json]");
	struct kernel_features k;
	kernel_probe(&k, true);
	const bool have[] = { k.userns, k.mount_api, k.erofs, k.erofs_file, k.overlay,
			      k.overlay_fd_layers, k.loop, k.fscrypt, k.aes, k.cgroup2, k.seccomp,
			      k.seccomp_notify, k.landlock_abi > 0, k.mdwe, k.fsverity, k.device_mapper };
	_Static_assert(ARRAY_SIZE(have) == ARRAY_SIZE(fs), "one probe a feature");
	struct feature kernel = { "kernel", "-", false, k.release, "" };
	char abi[24];
	snprintf(abi, sizeof(abi), "ABI %d", k.landlock_abi);
	struct table t;
	bool missing = false;
	table_begin(&t, fmt, cols, ARRAY_SIZE(cols));
	row(&t, &kernel, true, NULL, &missing);
	for (size_t i = 0; i < ARRAY_SIZE(fs); i++)
		row(&t, &fs[i], have[i], STREQ(fs[i].name, "Landlock") && have[i] ? abi : NULL, &missing);
	table_end(&t);
	if (missing) {
		struct isc_err e = { 0 };
		err_set(&e, ENOTSUP, "this kernel lacks what every ISC needs (see docs/kernels.md)");
		return adm_fail(&e);
	}
	return EXIT_OK;
}
