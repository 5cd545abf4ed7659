/* cgroup.h - one ISC's cgroups behind one interface; v2 and v1 (hybrid) back ends.  iscd and iscadm.
 *
 * Layout (in every hierarchy): isc/NAME holds the ISC's total, with two
 * children: payload/ (isc-init and its services, under the ISC's limits)
 * and login/ (host-started sessions, a reserve of their own; made with
 * the first session, as most ISCs never see one), so an
 * operator can log in to an ISC whose services exhausted their pids or
 * memory.  Each session has its own group login/s<id> inside that
 * reserve, so what one session leaves behind cannot lock out the next,
 * and ending a session kills everything in its group. */
#pragma once

#include "common.h"

struct cgroup_ops;

struct cgroup {
	const struct cgroup_ops *ops;
	char name[128];          /* relative: isc/<name> */
	/* v2: the ISC's group, absolute: /sys/fs/cgroup/isc/NAME, or under a
	 * host systemd /sys/fs/cgroup/isc.slice/isc-NAME.scope/isc */
	char v2[PATH_MAX];
	bool scoped;             /* v2 in a systemd scope delegated to us */
};

struct cgroup_limits {
	uint64_t memory;         /* payload bytes; no swap ever */
	uint64_t pids;           /* payload tasks */
	uint32_t cpu_weight;     /* 1..10000, 100 = a fair share (v2 scale) */
	uint32_t cpu_milli;      /* CPU quota in thousandths of a CPU, 0 = none */
};

/* One login session's limits, and how many sessions may run at once (the
 * supervisor refuses one more).  login/ holds room for all of them, and
 * the ISC's total is the payload's limits plus login/'s. */
#define CGROUP_SESSION_MEMORY (64ULL << 20)
#define CGROUP_SESSION_PIDS 32
#define CGROUP_MAX_SESSIONS 8
#define CGROUP_LOGIN_MEMORY (CGROUP_MAX_SESSIONS * CGROUP_SESSION_MEMORY)
#define CGROUP_LOGIN_PIDS (CGROUP_MAX_SESSIONS * CGROUP_SESSION_PIDS)

/* The resources PSI keeps pressure for: "cpu", "memory", "io". */
enum { CGROUP_PSI_CPU, CGROUP_PSI_MEMORY, CGROUP_PSI_IO, CGROUP_PSI_N };
extern const char *const cgroup_psi_names[CGROUP_PSI_N];

struct cgroup_stats {
	uint64_t memory, memory_max;
	uint64_t pids, pids_max;
	uint64_t cpu_usec;
	/* pressure that ended in a refusal: processes the OOM killer took at
	 * the memory limit, forks refused at the pids limit (0 where the
	 * kernel does not count them) */
	uint64_t oom_kills, pids_refused;
	/* pressure stall information (cgroup v2 with PSI): microseconds some
	 * or all of the ISC's tasks waited for each resource */
	bool psi;
	uint64_t psi_some_usec[CGROUP_PSI_N], psi_full_usec[CGROUP_PSI_N];
};

/* Pick the back end this host runs (v2 if /sys/fs/cgroup is cgroup2), and
 * find the ISC's group: in its systemd scope if it has one. */
int cgroup_init(struct cgroup *cg, const char *isc_name);
/* An OCI container's groups (isc-runtime): path is its cgroupsPath,
 * relative to each hierarchy's root ("/" at the start dropped); the same
 * layout below it.  -EINVAL for an empty path, a "." or ".." component, or
 * one too long. */
int cgroup_init_path(struct cgroup *cg, const char *path);
/* The directory whose tree lists every process of the group (v1: its
 * pids hierarchy's), for reading cgroup.procs below it. */
int cgroup_procs_dir(const struct cgroup *cg, char *buf, size_t n);
/* Does this host's systemd own the unified hierarchy?  Then the ISC's
 * groups live in a transient scope of its (cgroup_scope_enter, iscd only,
 * in scope.c: docs/cgroups.md says why). */
bool cgroup_systemd_owns(void);
/* Where systemd owns the hierarchy: ask it for the transient scope
 * isc.slice/isc-NAME.scope with Delegate=yes and this process in it, move
 * this process into the scope's supervisor/ leaf, and make the ISC's groups
 * the scope's isc/ (cgroup_create makes them).  Nothing elsewhere; a
 * process already in the scope (a reboot) just stays.  iscd only: it links
 * the cgroup_scope library (libsystemd). */
int cgroup_scope_enter(struct cgroup *cg, const char *isc_name, struct isc_err *e);
/* The same for an OCI container under --systemd-cgroup (isc-runtime):
 * path is "slice:prefix:name"; the caller enters the transient scope
 * prefix-name.scope in slice and cg becomes the scope's isc/ group
 * (cg->name the path below /sys/fs/cgroup, for cgroup_init_path later). */
int cgroup_scope_enter_oci(struct cgroup *cg, const char *path, struct isc_err *e);
int cgroup_create(struct cgroup *cg, const struct cgroup_limits *l, struct isc_err *e);
int cgroup_attach(struct cgroup *cg, pid_t pid, struct isc_err *e);
/* Make isc/NAME/login/s<id> in every hierarchy with one session's limits
 * (CGROUP_SESSION_PIDS tasks, CGROUP_SESSION_MEMORY bytes).  The ISC's
 * groups must exist (they are never made again here); EEXIST if the
 * session's group is still there (a session not ended). */
int cgroup_session_create(struct cgroup *cg, unsigned id, struct isc_err *e);
/* Move pid into session id's group: the session's own child calls it for
 * itself before it enters the ISC's namespaces. */
int cgroup_session_attach(struct cgroup *cg, unsigned id, pid_t pid, struct isc_err *e);
/* End session id: close its group to forks, kill every process in it
 * until it is empty (bounded, about 2 s), remove the group.  0 also for
 * an id that has no group; -EBUSY if something could not be killed. */
int cgroup_session_end(struct cgroup *cg, unsigned id);
int cgroup_stats(struct cgroup *cg, struct cgroup_stats *st, struct isc_err *e);
/* Kill every process (sessions' too), wait for the groups to empty,
 * remove them all. */
int cgroup_destroy(struct cgroup *cg, struct isc_err *e);
/* Freeze (true) or thaw every process of the ISC, sessions' too, and wait
 * until the kernel says the whole tree is (bounded: -ETIMEDOUT after about
 * 5 s, the tree thawed again).  -EOPNOTSUPP where v1 has no freezer.
 * Thawing thaws every group, one frozen by cgroup_freeze_running too. */
int cgroup_freeze(struct cgroup *cg, bool frozen, struct isc_err *e);
/* Freeze what runs now, each in its own group: the payload and the n
 * sessions given; then let the ISC's own group go if it was frozen.  A
 * session started afterwards (login --force into a quarantine) runs.  On
 * an error, what this froze is thawed unless the whole tree was frozen. */
int cgroup_freeze_running(struct cgroup *cg, const unsigned *sessions, size_t n, struct isc_err *e);
/* A PSI trigger on the ISC's group (docs/dock.md): a descriptor that polls
 * POLLPRI (EPOLLPRI) when some task of the ISC stalled on resource for
 * over pct percent of a window_s-second window, at most once a window.
 * -EOPNOTSUPP on v1 (no pressure per group), -ENOENT where the kernel
 * keeps none (built without PSI, or booted with psi=0). */
int cgroup_pressure_trigger(struct cgroup *cg, unsigned resource, unsigned pct, unsigned window_s);
/* >0 frozen, 0 not, negative errno. */
int cgroup_frozen(struct cgroup *cg);
/* A descriptor of the payload's group (session 0) or session id's, for
 * clone3(CLONE_INTO_CGROUP): the child starts in it, with no move and no
 * moment outside.  -EOPNOTSUPP on v1. */
int cgroup_open(struct cgroup *cg, unsigned session);
/* Names of the ISCs that have a group now (strv_free). */
int cgroup_names(char ***names);
/* Remove the shared parent group if no ISC is left in it. */
void cgroup_remove_parent(void);
