/* cgroup-internal.h - back-end tables, shared by cgroup.c, v1.c and v2.c only. */
#pragma once

#include "cgroup.h"

extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;

int cg_write(const char *dir, const char *file, const char *val);
/* Send SIGKILL to each pid listed in dir/cgroup.procs; >0 = how many. */
int cg_kill_procs(const char *dir);
