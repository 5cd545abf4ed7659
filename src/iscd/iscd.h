/* iscd.h - the supervisor of one ISC, shared by its parts: the state
 * machine (machine.c), the ISC's boot and teardown (boot.c), the control
 * socket and logins (ctl.c), seccomp notifications (deny.c), maintenance
 * sessions and their commit (session.c), start-up (main.c).  Host side. */
#pragma once

#include "cgroup.h"
#include "config.h"
#include "confine.h"
#include "commit.h"
#include "image.h"
#include "ipc.h"
#include "kernel.h"
#include "net.h"
#include "pool.h"
#include "runstate.h"
#include "sandbox.h"

#include <pthread.h>

#define MAX_CLIENTS 32
#define STOP_TIMEOUT_S 20
#define LOG_MAX (1 << 20)

struct iscd;

/* A descriptor in the epoll set: its handler travels in the event's data
 * pointer, so the loop dispatches without knowing what the fd is. */
struct watch {
	int fd;
	void (*on)(struct iscd *d, struct watch *w, uint32_t events);
	void *arg;              /* the client, for a client's watches */
};

struct client {
	struct watch sock;      /* the control connection */
	struct watch session;   /* pidfd of the login session this client waits on */
	pid_t session_pid;
	struct watch notify;    /* seccomp listener of the session's filter */
	unsigned session_id;    /* its cgroup: login/s<id>, 0 = none */
	bool wants_stop;        /* halt or reboot requester: answered when done */
};

/* The supervisor's life.  Every event goes through one table (machine.c);
 * a new state is one row there. */
enum iscd_state {
	ST_RUNNING,             /* isc-init runs; logins are served */
	ST_STOPPING,            /* isc-init was asked to end (SIGTERM, then SIGKILL) */
	ST_COMMITTING,          /* isc-init ended; a worker commits the session */
	ST_ENDED,               /* leave the loop */
};
#define ST_COUNT 4

enum iscd_event {
	EV_HALT,                /* a client asked (ipc_hdr IPC_HALT) */
	EV_REBOOT,              /* a client asked, d->next_mode set */
	EV_TERM,                /* SIGTERM or SIGINT to us */
	EV_INIT_EXIT,           /* isc-init ended */
	EV_STOP_TIMEOUT,        /* isc-init did not end in STOP_TIMEOUT_S */
	EV_COMMIT_DONE,         /* the commit worker exited */
};
#define EV_COUNT 6

struct iscd {
	enum iscd_state state;
	struct pool pool;
	struct isc_config cfg;
	struct cgroup cg;
	struct confine confine;
	struct kernel_features kernel;  /* what this kernel offers, probed once */
	char defence[96];       /* the layers in force, "seccomp,landlock,mdwe" */
	char defence_off[256];  /* what is off for want of the kernel, said at boot */
	struct sandbox sb;
	struct scratch scratch;
	char scratch_img[PATH_MAX];
	/* the pool's next spare /scratch, made by a thread after a boot */
	struct restock {
		pthread_t thread;
		bool due, running;
		int done;               /* eventfd: the thread has finished */
		int r;                  /* how it went */
		struct watch w_done;
		char templates[PATH_MAX];
		uint64_t size;
		struct scratch_spare spare;
	} restock;
	char varfs[200];        /* where a bounded /var's filesystem is mounted */
	struct sandbox_spec spec;
	char rundir[128], stage[160], layers[PATH_MAX], volumes[PATH_MAX], info[768];
	int ep, init_fd;
	/* bumped by every watch_del: events fetched before it may name a
	 * watch that is gone or reused, so the loop polls afresh */
	unsigned epoch;
	struct watch w_init, w_console, w_devlog, w_notify, w_ctl, w_sig, w_timer, w_deny, w_commit;
	/* the monitor (monitor.c): its timer, a verify worker while one runs,
	 * what the last one found, and the policy's state */
	struct watch w_monitor, w_verify_done;
	/* isc-init's status pipe (service crash loops) and on-crash=restart's
	 * backoff timer; restarts made for it by this supervisor */
	struct watch w_status, w_crash;
	uint32_t crash_restarts;
	time_t crash_noted;
	/* pressure-threshold: a PSI trigger per resource while it runs, when
	 * each was last noted, how many fired */
	struct watch w_psi[CGROUP_PSI_N];
	time_t psi_noted[CGROUP_PSI_N];
	uint64_t pressure_events;
	pid_t verify_pid;
	int verify_out;
	int64_t verified_at;
	int verify_findings;
	bool quarantined;       /* frozen and cut by on-tamper=quarantine: release lifts it */
	uint64_t quarantines, denials, boots;
	int64_t booted_at;
	bool rollback;          /* on-tamper=rollback: reset to known good before the reboot */
	bool destroy;           /* on-tamper=destroy: crypto-erase once halted */
	/* the times (ms, monotonic) of the last violation_count denials */
	int64_t viol_ring[ISC_VIOLATION_MAX];
	uint32_t viol_next, viol_seen;
	int image_fds[ISC_MAX_LAYERS];   /* the version's erofs layers, top first */
	/* the snapshots' frozen layers under the writable ones (its own, its
	 * origin's when a clone), top first; in isc_dir = the pool's isc/ */
	struct frozen_layer stack[ISC_MAX_FROZEN];
	size_t nstack;
	char isc_dir[PATH_MAX];
	size_t nimage;
	int console_log, sys_log;
	bool rebooting, run_mode;
	bool frozen;            /* by the host (iscadm freeze): no login, thawed to stop */
	enum boot_mode mode, next_mode; /* next_mode: what a reboot brings */
	char **assembly_argv;   /* -W: CMD after the self-assembly scripts */
	int ready;              /* -W: iscadm waits here for the read-only boot */
	char ready_text[256];   /* what it will be told */
	time_t deny_second;     /* seccomp denials logged per second, bounded */
	unsigned deny_logged, deny_dropped;
	/* and answered per second, bounded too: past the budget the listeners
	 * rest until deny_timer fires, and a looping caller waits in the
	 * kernel at its own cost instead of ours */
	unsigned deny_answered;
	bool deny_paused;
	unsigned sessions_made; /* login cgroup ids handed out */
	int exit_status;
	struct client clients[MAX_CLIENTS];
	/* sessions whose client went away: still our children, to be reaped
	 * (an unreaped one would keep the ISC's pid namespace from ending) */
	pid_t orphans[4 * MAX_CLIENTS];
	char **run_argv;
	char **init_argv;
	int tty_sock;           /* run with a terminal: where the pty master goes */
	char session_fs[200];   /* -w/-W: the session's own filesystem is mounted here */
	bool session_on;
	/* net=bridge: the pool's settings, this boot's record, whether it is
	 * in isc's tables (net.c); the resolv.conf bound inside */
	struct net_pool np;
	struct net_isc net;
	bool net_on;
	char resolv[200];
	pid_t commit_pid;       /* a commit worker, while one runs */
	int commit_out;
	char commit_how[4];
};

/* machine.c */
void iscd_event(struct iscd *d, enum iscd_event ev);
const char *iscd_state_name(enum iscd_state s);
int iscd_loop(struct iscd *d);
/* epoll, signals and timers, before anything else is watched */
int iscd_watch_own(struct iscd *d, struct isc_err *e);

/* boot.c: one boot of the ISC, its logs and the supervisor's notes */
int watch_add(struct iscd *d, struct watch *w, int fd,
	      void (*on)(struct iscd *, struct watch *, uint32_t), void *arg);
void watch_del(struct iscd *d, struct watch *w);
/* A supervisor's note: a record of event (one word) in the pool's audit log. */
void note(struct iscd *d, const char *event, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_append(struct iscd *d, int *fd, const char *file, const char *buf, size_t n);
int isc_prepare(struct iscd *d, const char *isc, struct isc_err *e);
int isc_start(struct iscd *d, struct isc_err *e);
void isc_teardown(struct iscd *d);
/* After a boot, beside the loop: the pool's next spare /scratch.  _end
 * waits for the thread and hands the spare over (before a boot and
 * before iscd exits: no thread may run then). */
void restock_begin(struct iscd *d);
void restock_end(struct iscd *d);
/* ISC_RUN_DIR/NAME/state: how it booted, pids, layers, frozen or not */
void state_write(struct iscd *d);
void orphan_add(struct iscd *d, pid_t pid);
void orphans_reap(struct iscd *d);
void ready_say(struct iscd *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool fd_is_relay(int fd);

/* net.c: the ISC's network (net=bridge), before isc-init and at its end */
int iscd_net_prepare(struct iscd *d, struct isc_err *e);
void iscd_net_stop(struct iscd *d);
/* ctl.c: the control socket and login sessions */
int ctl_listen(struct iscd *d, struct isc_err *e);
void answer_stoppers(struct iscd *d, enum ipc_type t, const char *msg);
/* isc-init ended: every session with it */
void sessions_end_all(struct iscd *d);

/* monitor.c: the periodic verify and the on-tamper policy */
int monitor_setup(struct iscd *d, struct isc_err *e);
void monitor_start(struct iscd *d);
void monitor_stop(struct iscd *d);
/* a seccomp denial, counted against violation-threshold */
void monitor_denial(struct iscd *d);
/* isc-init's status pipe for this boot: its write end for the spec, the
 * read end watched (monitor_status_end at teardown) */
int monitor_status_begin(struct iscd *d, int *write_end, struct isc_err *e);
void monitor_status_end(struct iscd *d);
/* iscadm release: quarantine lifted; what to answer, or NULL (e says why) */
const char *monitor_release(struct iscd *d, struct isc_err *e);

/* deny.c: seccomp listeners */
void deny_on_notify(struct iscd *d, struct watch *w, uint32_t events);
void deny_on_timer(struct iscd *d, struct watch *w, uint32_t events);
void deny_reset(struct iscd *d);

/* session.c: maintenance sessions and their commit */
int session_begin(struct iscd *d, struct isc_err *e);
int session_recover(struct iscd *d, const char *name, struct isc_err *e);
/* isc-init ended with status st: true if a commit now runs */
bool session_after_init(struct iscd *d, int st);
void commit_done(struct iscd *d);
void commit_abort(struct iscd *d);
