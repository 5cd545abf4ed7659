/* cgroup.h - one ISC cgroup behind one interface; v2 and v1 (hybrid) back ends. iscd. */
#pragma once

#include "common.h"

struct cgroup {
	const struct cgroup_ops *ops;
	char name[128];          /* relative: isc/<name> */
};

struct cgroup_ops {
	const char *kind;
	int (*create)(struct cgroup *cg);
	int (*attach)(struct cgroup *cg, pid_t pid);
	int (*kill_all)(struct cgroup *cg);
	int (*destroy)(struct cgroup *cg);
	int (*populated)(struct cgroup *cg);   /* >0 if any process remains */
};

/* Pick the back end this host runs (v2 if /sys/fs/cgroup is cgroup2). */
int cgroup_init(struct cgroup *cg, const char *isc_name);
int cgroup_create(struct cgroup *cg, struct isc_err *e);
int cgroup_attach(struct cgroup *cg, pid_t pid, struct isc_err *e);
/* Kill every process, wait for the group to empty, remove it. */
int cgroup_destroy(struct cgroup *cg, struct isc_err *e);
