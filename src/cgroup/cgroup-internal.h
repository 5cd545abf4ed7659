/* cgroup-internal.h - back-end tables, shared by cgroup.c, v1.c and v2.c only. */
#pragma once

#include "cgroup.h"

extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;

int cg_write(const char *dir, const char *file, const char *val);
int cg_write_u64(const char *dir, const char *file, uint64_t v);
/* The first number in dir/file (for "key value" files: the value of key). */
int cg_read_u64(const char *dir, const char *file, const char *key, uint64_t *v);
/* mkdir dir, and its missing parents up to the hierarchy's root. */
int cg_mkdir(const char *dir);
/* rmdir dir, waiting out the kernel's asynchronous teardown of a child
 * just removed; -EBUSY at once when dir still holds groups or tasks. */
int cg_rmdir(const char *dir);
/* Send SIGKILL to each pid listed in dir/cgroup.procs; >0 = how many. */
int cg_kill_procs(const char *dir);
/* Number of pids in dir/cgroup.procs. */
int cg_count_procs(const char *dir);
#define CG_NPARTS 2
extern const char *const cg_parts[CG_NPARTS];   /* "payload", "login" */
