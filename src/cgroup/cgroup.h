/* cgroup.h - one ISC's cgroups behind one interface; v2 and v1 (hybrid) back ends.  iscd and iscadm.
 *
 * Layout (in every hierarchy): isc/NAME holds the ISC's total, with two
 * children: payload/ (isc-init and its services, under the ISC's limits)
 * and login/ (host-started sessions, a small reserve of their own), so an
 * operator can log in to an ISC whose services exhausted their pids or
 * memory. */
#pragma once

#include "common.h"

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

/* What the login group gets on top of the payload's limits. */
#define CGROUP_LOGIN_MEMORY (64ULL << 20)
#define CGROUP_LOGIN_PIDS 32

struct cgroup_stats {
	uint64_t memory, memory_max;
	uint64_t pids, pids_max;
	uint64_t cpu_usec;
};

enum cgroup_part { CG_PAYLOAD, CG_LOGIN };

struct cgroup_ops {
	const char *kind;
	int (*create)(struct cgroup *cg, const struct cgroup_limits *l);
	int (*attach)(struct cgroup *cg, enum cgroup_part part, pid_t pid);
	int (*kill_all)(struct cgroup *cg);
	int (*destroy)(struct cgroup *cg);
	int (*populated)(struct cgroup *cg);   /* >0 if any process remains */
	int (*stats)(struct cgroup *cg, struct cgroup_stats *st);
};

/* Pick the back end this host runs (v2 if /sys/fs/cgroup is cgroup2). */
int cgroup_init(struct cgroup *cg, const char *isc_name);
int cgroup_create(struct cgroup *cg, const struct cgroup_limits *l, struct isc_err *e);
int cgroup_attach(struct cgroup *cg, pid_t pid, struct isc_err *e);
int cgroup_attach_login(struct cgroup *cg, pid_t pid, struct isc_err *e);
int cgroup_stats(struct cgroup *cg, struct cgroup_stats *st, struct isc_err *e);
/* Kill every process, wait for the group to empty, remove it. */
int cgroup_destroy(struct cgroup *cg, struct isc_err *e);
/* Names of the ISCs that have a group now (strv_free). */
int cgroup_names(char ***names);
/* Remove the shared parent group if no ISC is left in it. */
void cgroup_remove_parent(void);
