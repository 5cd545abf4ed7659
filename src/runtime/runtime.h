/* runtime.h - isc-runtime's parts: the state directory, the container's
 * creation and start, exec, and the monitor that answers seccomp
 * notifications (docs/oci.md).  isc-runtime. */
#pragma once

#include "spec.h"

#define RT_DEFAULT_ROOT "/run/isc-runtime"
#define RT_MAX_ID 128

/* The global options of the runc contract. */
struct rt {
	const char *root;               /* --root: where containers' states live */
	const char *log;                /* --log: errors and seccomp denials go there too */
	bool log_json;                  /* --log-format json */
	bool debug;
	bool systemd_cgroup;
};

/* What isc-runtime keeps of a container, in ROOT/ID/state.json. */
struct ctr_state {
	char id[RT_MAX_ID + 1];
	pid_t pid;
	uint64_t start;                 /* the pid's start time (clock ticks after boot), against reuse */
	char bundle[PATH_MAX];
	char rootfs[PATH_MAX];
	char created[40];               /* RFC 3339 */
	char cgroup[256];
	char **annotations;             /* "key=value" */
};
enum ctr_status { CTR_CREATING, CTR_CREATED, CTR_RUNNING, CTR_PAUSED, CTR_STOPPED };
const char *ctr_status_name(enum ctr_status s);

/* An error on stderr (one line), and in --log as runc writes it. */
void rt_log_error(const struct rt *rt, const char *msg);
/* A line to --log (if any) at level ("warning", "info"). */
void rt_log(const struct rt *rt, const char *level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- state (state.c) ---- */
bool ctr_id_valid(const char *id);
/* ROOT/ID into buf. */
int ctr_dir(const struct rt *rt, const char *id, char *buf, size_t n);
int ctr_state_write(const struct rt *rt, const struct ctr_state *st, struct isc_err *e);
/* -ENOENT with e ("container X does not exist") when there is none. */
int ctr_state_read(const struct rt *rt, const char *id, struct ctr_state *st, struct isc_err *e);
void ctr_state_free(struct ctr_state *st);
enum ctr_status ctr_status(const struct rt *rt, const struct ctr_state *st);
/* A descriptor of the container's first process, -ESRCH once it is gone
 * (or its pid is another process's now). */
int ctr_pidfd(const struct ctr_state *st);
uint64_t proc_start_time(pid_t pid);
/* The container's spec as it was at create (ROOT/ID/config.json). */
int ctr_spec_load(const struct rt *rt, const struct ctr_state *st, struct oci_spec *s, struct isc_err *e);
/* The OCI state JSON (state command, hooks' stdin); free() it. */
char *ctr_state_json(const struct rt *rt, const struct ctr_state *st);
/* Every pid in the container's cgroup tree; free() *pids. */
int ctr_pids(const struct ctr_state *st, pid_t **pids, size_t *n);

/* ---- create and start (create.c) ---- */
struct create_opts {
	const char *id, *bundle, *pid_file, *console_socket;
	unsigned preserve_fds;
	bool foreground;                /* run: we wait for it (no exit of ours hands it on) */
};
/* The container made and waiting for start; its pid in *pid. */
int ctr_create(const struct rt *rt, const struct create_opts *o, pid_t *pid, struct isc_err *e);
int ctr_start(const struct rt *rt, const char *id, struct isc_err *e);
/* Remove what create made: the cgroup (every process in it killed), the
 * state directory; the poststop hooks run.  force: also a running one. */
int ctr_delete(const struct rt *rt, const char *id, bool force, struct isc_err *e);
/* Run hooks of kind with the state on their stdin. */
int ctr_hooks(const struct rt *rt, const struct oci_spec *s, enum oci_hook_kind kind, const struct ctr_state *st,
	      struct isc_err *e);

/* ---- the container's processes (proc.c) ---- */
/* What a process of the container gets right before it runs, in its
 * namespaces: limits, user, cwd, confinement (isc's filter, whose
 * listener goes to the monitor on mon, then the spec's), environment. */
__attribute__((noreturn)) void ctr_exec_process(const struct oci_spec *s, const struct oci_process *p,
						unsigned preserve_fds, int mon, int errfd);
/* isc's confinement for the spec's processes, as far as this kernel
 * has each layer (W^X by the filter where it has no MDWE). */
void ctr_confine_init(const struct oci_spec *s, struct confine *c);
/* Fork the monitor: detached, it answers isc's seccomp notifications of
 * the process that sends it a listener on the returned socket, logging
 * each, until every process under that filter is gone.  Returns the
 * caller's end (the process's), or -errno. */
int ctr_monitor_fork(const struct rt *rt, const char *id);
/* Connect to the engine's --console-socket: the fd, or -errno and e. */
int ctr_console_connect(const char *path, struct isc_err *e);
/* Hand a pty master to the engine on its console socket. */
int ctr_console_send(int sock, int master, struct isc_err *e);
/* A pty of the container's devpts as our terminal and stdio; master sent on sock. */
int ctr_terminal(int sock, unsigned rows, unsigned cols, bool console, struct isc_err *e);

/* ---- exec (exec.c) ---- */
struct exec_opts {
	const char *id, *process, *pid_file, *console_socket, *cwd;
	char *const *args;
	char *const *env;
	bool tty, detach;
	unsigned preserve_fds;
};
/* Without detach: the process's exit status (0-255), or -errno. */
int ctr_exec(const struct rt *rt, const struct exec_opts *o, struct isc_err *e);
