/* cgroup-internal.h - back-end tables, shared by cgroup.c, v1.c and v2.c only. */
#pragma once

#include "cgroup.h"

/* A group is named relative to the ISC's own: sub is "payload", "login"
 * or "login/s<id>"; NULL is the ISC's group itself (with all below it). */
struct cgroup_ops {
	const char *kind;
	/* the ISC's group with payload/ and login/ (parents made as needed) */
	int (*create)(struct cgroup *cg, const struct cgroup_limits *l);
	/* one new group below an existing one (never made again if its
	 * parent is gone); -EEXIST, with nothing changed, if it exists */
	int (*add)(struct cgroup *cg, const char *sub, uint64_t memory, uint64_t pids);
	int (*attach)(struct cgroup *cg, const char *sub, pid_t pid);
	/* close sub's tree to forks, SIGKILL every process in it */
	int (*kill)(struct cgroup *cg, const char *sub);
	int (*populated)(struct cgroup *cg, const char *sub);   /* >0 if any process remains in the tree */
	/* rmdir sub's tree, children first; with NULL also the shared parent if empty */
	int (*remove)(struct cgroup *cg, const char *sub);
	int (*stats)(struct cgroup *cg, struct cgroup_stats *st);
	/* write sub's freezer state (that group alone; its tree follows);
	 * then frozen() says when it holds */
	int (*freeze)(struct cgroup *cg, const char *sub, bool on);
	int (*frozen)(struct cgroup *cg, const char *sub);   /* >0 frozen, 0 not (thawed or on its way) */
	/* thaw every group of the ISC, each one frozen by itself included */
	int (*thaw_tree)(struct cgroup *cg);
	/* O_DIRECTORY descriptor of sub's group; NULL where there is none (v1) */
	int (*open)(struct cgroup *cg, const char *sub);
};

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
/* fn(d) for dir and every group below it, children before their parent
 * (the order rmdir needs).  Returns the sum of fn's results, or the first
 * error (the walk still goes on).  No group, nothing done: 0. */
int cg_tree_each(const char *dir, int (*fn)(const char *d));
/* base/sub, or base alone when sub is NULL. */
void cg_path(char *buf, size_t n, const char *base, const char *sub);

/* The systemd scope of an ISC: isc.slice/isc-NAME.scope, the ISC's groups
 * in its isc/, the supervisor in its supervisor/. */
#define CG_SLICE "/sys/fs/cgroup/isc.slice"
#define CG_SCOPE_ISC "isc"
#define CG_SCOPE_SUPERVISOR "supervisor"

enum cgroup_part { CG_PAYLOAD, CG_LOGIN };
#define CG_NPARTS 2
extern const char *const cg_parts[CG_NPARTS];   /* "payload", "login" */
