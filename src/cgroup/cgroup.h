/* cgroup.h - one ISC's cgroups behind one interface; v2 and v1 (hybrid) back ends.  iscd and iscadm.
 *
 * Layout (in every hierarchy): isc/NAME holds the ISC's total, with two
 * children: payload/ (isc-init and its services, under the ISC's limits)
 * and login/ (host-started sessions, a reserve of their own), so an
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

struct cgroup_stats {
	uint64_t memory, memory_max;
	uint64_t pids, pids_max;
	uint64_t cpu_usec;
};

/* Pick the back end this host runs (v2 if /sys/fs/cgroup is cgroup2). */
int cgroup_init(struct cgroup *cg, const char *isc_name);
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
/* Names of the ISCs that have a group now (strv_free). */
int cgroup_names(char ***names);
/* Remove the shared parent group if no ISC is left in it. */
void cgroup_remove_parent(void);
