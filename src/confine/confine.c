/* confine.c - capabilities (libcap), rlimits, no_new_privs, MDWE, then Landlock and seccomp; runs in iscd's children before exec. */
#include "confine.h"
#include "kernel.h"

#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

#define CAPBIT(c) (1ULL << (c))

uint64_t confine_default_caps(void)
{
	/* the numbers in ISC_CAPS_DEFAULT are the kernel's */
	_Static_assert(ISC_CAPS_DEFAULT == (CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_FOWNER) |
					    CAPBIT(CAP_FSETID) | CAPBIT(CAP_KILL) | CAPBIT(CAP_SETGID) |
					    CAPBIT(CAP_SETUID) | CAPBIT(CAP_SETPCAP) | CAPBIT(CAP_NET_BIND_SERVICE)),
		       "ISC_CAPS_DEFAULT");
	return ISC_CAPS_DEFAULT;
}

void confine_default(struct confine *c)
{
	memset(c, 0, sizeof(*c));
	c->caps = confine_default_caps();
	c->mdwe = c->landlock = c->seccomp = true;
}

int confine_caps(uint64_t keep, struct isc_err *e)
{
	/* The kernel's last capability is below the first the bounding set
	 * does not know (EINVAL on a drop, or on a read of one kept): no read
	 * of /proc/sys, whose first lookup in the ISC's fresh procfs builds
	 * its sysctl tree. */
	int last = 63;
	for (int cap = 0; cap <= last; cap++) {
		bool kept = keep & CAPBIT(cap);
		if (prctl(kept ? PR_CAPBSET_READ : PR_CAPBSET_DROP, cap, 0, 0, 0) >= 0)
			continue;
		if (errno != EINVAL)
			return err_sys(e, errno, "drop capability %d from bounding set", cap);
		last = cap - 1;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return err_sys(e, errno, "clear ambient capabilities");
	cap_t caps = cap_init();
	if (!caps)
		return err_sys(e, errno, "cap_init");
	for (int cap = 0; cap <= last && cap < 64; cap++) {
		if (!(keep & CAPBIT(cap)))
			continue;
		cap_value_t v = cap;
		cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET);
		cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET);
	}
	int r = cap_set_proc(caps);
	cap_free(caps);
	return r < 0 ? err_sys(e, errno, "set capabilities") : 0;
}

/* Lowered, never raised: CAP_SYS_RESOURCE is not ours to use. */
static int rlimits_apply(const struct confine *c, struct isc_err *e)
{
	const struct { int res; rlim_t max; const char *name; } lim[] = {
		{ RLIMIT_CORE, 0, "core" },             /* no service memory dumped to disk */
		{ RLIMIT_NOFILE, 65536, "nofile" },
		{ RLIMIT_MEMLOCK, 8 << 20, "memlock" },
		/* no file, not even a sparse one, larger than a commit may read */
		{ RLIMIT_FSIZE, c->fsize ? c->fsize : RLIM_INFINITY, "fsize" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(lim); i++) {
		struct rlimit rl;
		if (getrlimit(lim[i].res, &rl) < 0)
			return err_sys(e, errno, "getrlimit %s", lim[i].name);
		if (rl.rlim_max > lim[i].max)
			rl.rlim_max = lim[i].max;
		if (rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		if (setrlimit(lim[i].res, &rl) < 0)
			return err_sys(e, errno, "setrlimit %s", lim[i].name);
	}
	return 0;
}

int confine_apply(const struct confine *c, int *listener, struct isc_err *e)
{
	*listener = -1;
	int r = confine_caps(c->caps, e);
	if (r == 0)
		r = rlimits_apply(c, e);
	if (r < 0)
		return r;
	/* setuid binaries inside must never raise privileges */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys(e, errno, "no_new_privs");
	/* inherited across fork and exec: no page of any ISC process is ever
	 * writable and executable (mdwe=off for JIT runtimes) */
	if (c->mdwe && prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) < 0)
		return err_sys(e, errno, "memory-deny-write-execute");
	if (c->landlock && (r = confine_landlock(c->writable, c->writable_files, e)) < 0)
		return r;
	/* last: the filter would report the steps above as denials */
	return c->seccomp ? confine_seccomp(c->wx_filter, listener, e) : 0;
}

