/* confine.c - capability bounding set and no_new_privs (libcap); runs in iscd's children. */
#include "confine.h"

#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#define CAPBIT(c) (1ULL << (c))

void confine_default(struct confine *c)
{
	c->caps =
		CAPBIT(CAP_CHOWN) |             /* services chown their own files */
		CAPBIT(CAP_DAC_OVERRIDE) |      /* root reads files of its service users */
		CAPBIT(CAP_FOWNER) |            /* chmod/utime of files it does not own */
		CAPBIT(CAP_FSETID) |            /* keep setgid bits on its own data */
		CAPBIT(CAP_KILL) |              /* signal its own services (pid ns bounds it) */
		CAPBIT(CAP_SETGID) |            /* drop to a service user */
		CAPBIT(CAP_SETUID) |
		CAPBIT(CAP_SETPCAP) |           /* drop capabilities further */
		CAPBIT(CAP_NET_BIND_SERVICE);   /* listen on ports below 1024 */
	/* Not kept, among others: SYS_ADMIN (mount, namespaces), SYS_BOOT,
	 * SYS_MODULE, SYS_RAWIO, SYS_PTRACE, NET_ADMIN, NET_RAW, MKNOD,
	 * SYS_TIME, SYSLOG, AUDIT_*, BPF, PERFMON: each administers something
	 * outside the service. */
}

int confine_apply(const struct confine *c, struct isc_err *e)
{
	int last = CAP_LAST_CAP;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	for (int cap = 0; cap <= last; cap++)
		if (!(c->caps & CAPBIT(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
		    errno != EINVAL)
			return err_sys(e, errno, "drop capability %d from bounding set", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return err_sys(e, errno, "clear ambient capabilities");
	cap_t caps = cap_init();
	if (!caps)
		return err_sys(e, errno, "cap_init");
	for (int cap = 0; cap <= last && cap < 64; cap++) {
		if (!(c->caps & CAPBIT(cap)))
			continue;
		cap_value_t v = cap;
		cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET);
		cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET);
	}
	int r = cap_set_proc(caps);
	cap_free(caps);
	if (r < 0)
		return err_sys(e, errno, "set capabilities");
	/* setuid binaries inside must never raise privileges */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys(e, errno, "no_new_privs");
	return 0;
}
