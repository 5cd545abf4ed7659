/* confine.h - what every ISC process gets before exec: capabilities, rlimits,
 * no_new_privs, memory-deny-write-execute, Landlock, seccomp.  Applied by
 * iscd's children to isc-init and to login sessions. */
#pragma once

#include "common.h"

#define CONFINE_MAX_WRITABLE 32

struct confine {
	uint64_t caps;          /* capabilities kept (bit = CAP_*) */
	bool mdwe;              /* PR_SET_MDWE: no memory both writable and executable */
	/* W^X by the seccomp filter instead, where the kernel has no MDWE:
	 * W+X mappings, and executable mprotect and shmat, refused */
	bool wx_filter;
	bool landlock;
	bool seccomp;
	uint64_t fsize;         /* RLIMIT_FSIZE in bytes, 0: as inherited (maintenance
				 * sessions, whose files become an image, are bounded) */
	/* Landlock: paths inside the ISC below which writes are allowed */
	const char *writable[CONFINE_MAX_WRITABLE + 1];
	/* and single files that may be written (an OCI engine's /etc/hosts) */
	const char *writable_files[CONFINE_MAX_WRITABLE + 1];
};

/* The default set: enough for a typical service, nothing that administers
 * the kernel or the namespaces the ISC lives in; everything on. */
void confine_default(struct confine *c);
/* Apply everything in c to the calling process (right before exec).  With
 * seccomp, *listener is the filter's notification fd for the supervisor
 * (denials are reported there and answered EPERM), else -1. */
int confine_apply(const struct confine *c, int *listener, struct isc_err *e);

/* The capability set of confine_default(), which limitpriv's "default"
 * stands for: config_limitpriv(spec, confine_default_caps(), ...). */
uint64_t confine_default_caps(void);

/* Compile the seccomp filter (with or without the W^X rules) in the
 * supervisor before it forks: confine_apply in its children then loads the
 * compiled program.  Again only when wx changes.  The program is kept in
 * ISC_RUN_DIR/seccomp for the next supervisor of the same iscd, libseccomp
 * and kernel (seccomp.c); tests point that elsewhere. */
int confine_seccomp_prepare(bool wx, struct isc_err *e);
void confine_seccomp_cache_dir(const char *dir);

/* A host helper that parses what an ISC or a stream made (isc-archive):
 * no_new_privs, only the capabilities in caps (bounding set too), Landlock
 * reads only beneath readable and writable, writes only beneath writable
 * (where the kernel has Landlock), and a seccomp filter refusing what
 * administers the kernel, mounts or namespaces (EPERM). */
int confine_helper(const char *const *readable, const char *const *writable, uint64_t caps,
		   struct isc_err *e);

/* Parts of confine_apply, exposed for tests. */
int confine_caps(uint64_t keep, struct isc_err *e);
/* dirs: directories only (a file or a symlink there is an error); files:
 * regular files only, with the rights a file has (NULL: none). */
int confine_landlock(const char *const *dirs, const char *const *files, struct isc_err *e);
int confine_seccomp(bool wx, int *listener, struct isc_err *e);
/* Answer one pending notification on listener with EPERM; describe it
 * ("mount by pid 12 (sh)") in what.  0, or -errno (-ENOENT: the caller
 * died meanwhile; nothing to report). */
int confine_notify_deny(int listener, char *what, size_t n);

/* ---- an OCI spec's own system call filter (ocisec.c) ----------------------
 * Loaded as a second filter after the ISC's: the kernel runs both and the
 * strictest answer wins, so the spec can only narrow what isc allows. */
enum confine_sc_action {
	SC_KILL_THREAD, SC_KILL_PROCESS, SC_TRAP, SC_ERRNO, SC_TRACE, SC_ALLOW, SC_LOG,
};
struct confine_sc_arg {
	unsigned index;
	uint64_t value, value2;
	int op;                         /* libseccomp's enum scmp_compare */
};
struct confine_sc_rule {
	char **names;
	enum confine_sc_action action;
	int errno_ret;
	struct confine_sc_arg args[6];
	unsigned nargs;
};
struct confine_sc_spec {
	enum confine_sc_action default_action;
	int default_errno;
	char **arches;                  /* "SCMP_ARCH_X86_64", ... */
	struct confine_sc_rule *rules;
	size_t nrules;
};
/* The spec's words for actions ("SCMP_ACT_ERRNO"), comparisons
 * ("SCMP_CMP_MASKED_EQ") and architectures: 0, or -EINVAL for one isc
 * does not know (SCMP_ACT_NOTIFY among them: its listener would be the
 * engine's, and isc's own already reports). */
int confine_sc_action_parse(const char *s, enum confine_sc_action *a);
int confine_sc_op_parse(const char *s, int *op);
int confine_sc_arch_check(const char *s);
int confine_seccomp_spec(const struct confine_sc_spec *s, struct isc_err *e);
