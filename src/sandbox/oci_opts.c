/* oci_opts.c - the option words of an OCI spec's mounts, as isc reads them; isc-runtime (and its fuzz target: no other part of the sandbox needed). */
#include "sandbox.h"

#include <sys/mount.h>

/* The option words of an OCI mount (runc's list); anything else with a '='
 * is the filesystem's own option, and an unknown word is one too, except
 * on a bind, which has no filesystem to take it. */
static const struct {
	const char *name;
	unsigned set, clr;
} oci_attrs[] = {
	{ "ro", MOUNT_ATTR_RDONLY, 0 }, { "rw", 0, MOUNT_ATTR_RDONLY },
	{ "nosuid", MOUNT_ATTR_NOSUID, 0 }, { "suid", 0, MOUNT_ATTR_NOSUID },
	{ "nodev", MOUNT_ATTR_NODEV, 0 }, { "dev", 0, MOUNT_ATTR_NODEV },
	{ "noexec", MOUNT_ATTR_NOEXEC, 0 }, { "exec", 0, MOUNT_ATTR_NOEXEC },
	{ "nosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0 }, { "symfollow", 0, MOUNT_ATTR_NOSYMFOLLOW },
	{ "nodiratime", MOUNT_ATTR_NODIRATIME, 0 }, { "diratime", 0, MOUNT_ATTR_NODIRATIME },
};
static const struct {
	const char *name;
	unsigned value;
} oci_atime[] = {
	{ "relatime", MOUNT_ATTR_RELATIME }, { "norelatime", MOUNT_ATTR_RELATIME },
	{ "noatime", MOUNT_ATTR_NOATIME }, { "atime", MOUNT_ATTR_RELATIME },
	{ "strictatime", MOUNT_ATTR_STRICTATIME },
};
static const struct {
	const char *name;
	unsigned long value;
	bool recursive;
} oci_prop[] = {
	{ "private", MS_PRIVATE, false }, { "rprivate", MS_PRIVATE, true },
	{ "slave", MS_SLAVE, false }, { "rslave", MS_SLAVE, true },
	{ "shared", MS_SHARED, false }, { "rshared", MS_SHARED, true },
	{ "unbindable", MS_UNBINDABLE, false }, { "runbindable", MS_UNBINDABLE, true },
};
/* words that change nothing here: the kernel's defaults, or the engine's
 * own (podman strips z/Z before, "notmpcopyup" asks for nothing) */
static const char *const oci_noop[] = { "defaults", "async", "nomand", "notmpcopyup", "loud" };

int oci_mount_option(struct oci_mount *m, const char *opt, struct isc_err *e)
{
	if (STREQ(opt, "bind") || STREQ(opt, "rbind")) {
		m->bind = true;
		m->recursive = STREQ(opt, "rbind");
		return 0;
	}
	if (STREQ(opt, "tmpcopyup")) {
		m->copyup = true;
		return 0;
	}
	if (STREQ(opt, "rro")) {
		m->set |= MOUNT_ATTR_RDONLY;
		m->clr &= ~MOUNT_ATTR_RDONLY;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(oci_attrs); i++)
		if (STREQ(opt, oci_attrs[i].name)) {
			m->set = (m->set & ~oci_attrs[i].clr) | oci_attrs[i].set;
			m->clr = (m->clr & ~oci_attrs[i].set) | oci_attrs[i].clr;
			return 0;
		}
	for (size_t i = 0; i < ARRAY_SIZE(oci_atime); i++)
		if (STREQ(opt, oci_atime[i].name)) {
			m->set = (m->set & ~MOUNT_ATTR__ATIME) | oci_atime[i].value;
			m->clr |= MOUNT_ATTR__ATIME;
			return 0;
		}
	for (size_t i = 0; i < ARRAY_SIZE(oci_prop); i++)
		if (STREQ(opt, oci_prop[i].name)) {
			m->propagation = oci_prop[i].value;
			return 0;
		}
	for (size_t i = 0; i < ARRAY_SIZE(oci_noop); i++)
		if (STREQ(opt, oci_noop[i]))
			return 0;
	if (STREQ(opt, "idmap") || STREQ(opt, "ridmap")) {
		m->idmap = true;
		m->ridmap |= STREQ(opt, "ridmap");
		return 0;
	}
	/* ways of mounting isc does not do: refused, never silently dropped */
	static const char *const refused[] = { "copy-symlink", "remount", "sync", "dirsync", "mand" };
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		if (STREQ(opt, refused[i]))
			return err_set(e, EINVAL, "mount option \"%s\" is not supported by isc-runtime", opt);
	if (strlen(opt) > 256 || !*opt)
		return err_set(e, EINVAL, "mount option of %zu bytes", strlen(opt));
	return strv_push(&m->data, opt) < 0 ? err_set(e, ENOMEM, "mount options") : 0;
}

