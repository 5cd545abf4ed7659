/* spec.h - an OCI bundle's config.json (runtime-spec 1.x) as isc-runtime reads it,
 * and the ISC's rules over it (docs/oci.md).  isc-runtime. */
#pragma once

#include "cgroup.h"
#include "confine.h"
#include "sandbox.h"

#define OCI_MAX_CONFIG (4u << 20)
#define OCI_MAX_IDMAPS 16
#define OCI_MAX_NS 8
#define OCI_MAX_RLIMITS 16

struct oci_rlimit {
	int resource;
	uint64_t soft, hard;
};

struct oci_process {
	bool terminal;
	unsigned rows, cols;
	uint32_t uid, gid;
	gid_t *gids;
	size_t ngids;
	bool has_umask;
	mode_t umask;
	char **args, **env;
	char *cwd;
	uint64_t caps;                  /* what the process keeps: the spec's bounding set, within isc's */
	struct oci_rlimit rlimits[OCI_MAX_RLIMITS];
	size_t nrlimits;
	bool has_oom_score;
	int oom_score_adj;
};

struct oci_ns {
	int type;                       /* CLONE_NEW* */
	char *path;                     /* join this one instead of making one */
};

struct oci_idmap {
	uint32_t container, host, size;
};
/* An idmapped mount's own uidMappings and gidMappings. */
struct oci_mount_ids {
	struct oci_idmap uid[OCI_MAX_IDMAPS], gid[OCI_MAX_IDMAPS];
	size_t nuid, ngid;
};

struct oci_hook {
	char *path;
	char **args, **env;
	int timeout;                    /* seconds, 0: none */
};
enum oci_hook_kind {
	HOOK_PRESTART, HOOK_CREATE_RUNTIME, HOOK_POSTSTART, HOOK_POSTSTOP,
	HOOK_CREATE_CONTAINER,          /* in the container's namespaces, before pivot_root */
	HOOK_START_CONTAINER,           /* in the container, after start, before the process */
	HOOK_KINDS
};

struct oci_spec {
	char *version;
	char *root;                     /* absolute */
	char *hostname;
	struct oci_process proc;
	struct oci_mount *mounts;
	struct oci_mount_ids **mount_ids;       /* per mount: its own maps, or NULL (the container's) */
	size_t nmounts;
	struct oci_ns ns[OCI_MAX_NS];
	size_t nns;
	struct oci_idmap uidmap[OCI_MAX_IDMAPS], gidmap[OCI_MAX_IDMAPS];
	size_t nuidmap, ngidmap;
	char **masked, **readonly;
	char *cgroups_path;
	struct cgroup_limits limits;
	char **sysctl;                  /* "key=value" */
	bool has_seccomp;
	struct confine_sc_spec seccomp;
	unsigned long rootfs_propagation;
	char **annotations;             /* "key=value" */
	struct oci_hook *hooks[HOOK_KINDS];
	size_t nhooks[HOOK_KINDS];
	/* the ISC's rules, as the annotations set them */
	enum isc_profile profile;
	bool mdwe;
	char **exec_ok;                 /* org.isc.writable-exec */
};

/* Parse config.json's text (len bytes) strictly: every field isc reads has
 * the type the spec gives it, or an error names it.  bundle makes a
 * relative root.path and bind source absolute.  Then the ISC's rules: a
 * spec that would weaken one is refused with the field and the annotation
 * that allows it.  0, or -EINVAL with e. */
int oci_spec_parse(const char *text, size_t len, const char *bundle, struct oci_spec *s, struct isc_err *e);
/* An exec's process.json, with the container's spec for its rules. */
int oci_process_parse(const char *text, size_t len, const struct oci_spec *s, struct oci_process *p,
		      struct isc_err *e);
/* update's LinuxResources object: what it gives goes into l, and given
 * says which (OCI_RES_*); the rest of l stays. */
enum { OCI_RES_MEMORY = 1 << 0, OCI_RES_PIDS = 1 << 1, OCI_RES_CPU = 1 << 2 };
int oci_resources_parse(const char *text, size_t len, struct cgroup_limits *l, unsigned *given, struct isc_err *e);
void oci_process_free(struct oci_process *p);
void oci_spec_free(struct oci_spec *s);
/* Does the spec give the container a namespace of type (CLONE_NEW*)?  Its
 * entry, or NULL. */
const struct oci_ns *oci_spec_ns(const struct oci_spec *s, int type);
/* The value of annotation key, or NULL. */
const char *oci_annotation(const struct oci_spec *s, const char *key);
/* "SIGTERM", "TERM" or "15": the number, or -EINVAL. */
int oci_signal_parse(const char *s);
/* The engines' default capability set (Docker's, which podman and
 * containerd hand on) and isc's: names for the features command. */
const char *oci_cap_name(unsigned cap);
