/* services.h - service files, user lookup, per-service state machine and control protocol; used by isc-init (PID 1) and isc-svc. */
#pragma once

#include "common.h"

#include <stdint.h>
#include <sys/types.h>

#define SVC_DIR "/etc/isc/services"
#define SVC_RUN_DIR "/run/isc"
#define SVC_SOCKET "/run/isc/init.sock"
#define SVC_STATE_FILE "/run/isc/services"

#define SVC_FILE_MAX (64 * 1024)   /* a service file larger than this is refused */
#define SVC_ARGS_MAX 256           /* exec= arguments */
#define SVC_AFTER_MAX 64           /* names in after= */
#define SVC_MAX 256                /* services per ISC */
#define SVC_NAME_MAX 64            /* including the NUL; name_valid() allows 63 */
#define SVC_GROUPS_MAX 256         /* supplementary groups of a service user */

/* Restart policy: backoff doubles from BACKOFF_MIN to BACKOFF_MAX, resets
 * after UPTIME_RESET of uptime; FAIL_LIMIT failures in FAIL_WINDOW put the
 * service in maintenance. */
#define SVC_BACKOFF_MIN_MS 1000
#define SVC_BACKOFF_MAX_MS 30000
#define SVC_UPTIME_RESET_MS 60000
#define SVC_FAIL_WINDOW_MS 60000
#define SVC_FAIL_LIMIT 5

/* ---- service files (svc_conf.c) ---------------------------------------- */
enum svc_restart { SVC_RESTART_ALWAYS, SVC_RESTART_ON_FAILURE, SVC_RESTART_NEVER };

struct svc_conf {
	char **argv;                 /* exec=, split; argv[0] absolute */
	char user[SVC_NAME_MAX];     /* user=, "root" by default */
	enum svc_restart restart;
	char **after;                /* after=, service names (may be NULL) */
	char *dir;                   /* dir=, "/" by default */
	bool caps_set;               /* caps= given: the service keeps only caps */
	uint64_t caps;               /* bit = CAP_* */
};

/* Parse one service file.  On error e->msg reads "line N: reason". */
int svc_conf_parse(const char *text, size_t len, struct svc_conf *c, struct isc_err *e);
void svc_conf_free(struct svc_conf *c);
/* Split an exec= value: blanks separate arguments, "..." quotes with \" and \\. */
int svc_exec_split(const char *value, char ***argv, struct isc_err *e);
const char *svc_restart_name(enum svc_restart r);
/* caps=: "none" or a comma list of capability names without "cap_"
 * (capabilities(7), lower case), no repeats. */
int svc_caps_parse(const char *value, uint64_t *caps, struct isc_err *e);
/* A capability's name ("net_bind_service"), NULL past the known ones. */
const char *svc_cap_name(unsigned cap);
/* The canonical text of c, which svc_conf_parse() reads back to the same c. */
int svc_conf_format(const struct svc_conf *c, char **out);

/* ---- users (svc_user.c) -------------------------------------------------- */
struct svc_cred {
	uid_t uid;
	gid_t gid;
	size_t ngroups;
	gid_t groups[SVC_GROUPS_MAX];   /* supplementary, primary gid first */
	char name[SVC_NAME_MAX];
	char home[256];
};

/* Resolve user=root|NAME|UID against the text of /etc/passwd and
 * /etc/group (either may be NULL when the image has none). */
int svc_user_resolve(const char *spec, const char *passwd, const char *group,
		     struct svc_cred *c, struct isc_err *e);
/* Is s acceptable in user=? (root, a user name, or a decimal uid) */
bool svc_user_spec_valid(const char *s);

/* ---- the state machine (svc_state.c) ------------------------------------ */
enum svc_state {
	SVC_DOWN,          /* no process; waiting for after= if want is set */
	SVC_STARTING,      /* forked, exec not yet confirmed */
	SVC_ONLINE,        /* exec succeeded */
	SVC_BACKOFF,       /* crashed, restart timer armed */
	SVC_STOPPING,      /* SIGTERM sent; goal says what comes next */
	SVC_DISABLED,      /* stopped by request until enable or reboot */
	SVC_MAINTENANCE,   /* configuration error or failing too often */
	SVC_STATE_COUNT
};

enum svc_event {
	SVC_EV_START,      /* boot, or a dependency came online */
	SVC_EV_READY,      /* exec succeeded */
	SVC_EV_EXIT_OK,    /* process ended with status 0 */
	SVC_EV_EXIT_FAIL,  /* non-zero status or killed by a signal */
	SVC_EV_TIMER,      /* deadline reached */
	SVC_EV_DISABLE,
	SVC_EV_ENABLE,
	SVC_EV_RESTART,
	SVC_EV_HALT,
	SVC_EVENT_COUNT
};

enum svc_goal { SVC_GOAL_DISABLE, SVC_GOAL_RESTART, SVC_GOAL_HALT };

struct svc {
	char name[SVC_NAME_MAX];
	struct svc_conf conf;
	char *error;             /* configuration error: the service stays in maintenance */
	size_t *deps;            /* indexes of conf.after in the set */
	size_t ndeps;

	enum svc_state state;
	enum svc_goal goal;      /* while STOPPING */
	bool want;               /* DOWN: start once every dependency is online */
	pid_t pid;
	int ready_fd;            /* exec-status pipe while STARTING (owned by the driver) */
	int wstatus;             /* last wait status, set by the driver before EXIT */
	int64_t started_ms;
	int64_t deadline_ms;     /* 0: none */
	int backoff_ms;          /* next restart delay */
	int64_t fails[SVC_FAIL_LIMIT];   /* ring of recent failure times */
	unsigned nfails;
};

/* What the state machine asks of the world; isc-init forks and kills, the
 * unit tests record.  spawn() sets s->pid and returns 0, or returns -errno
 * after reporting why. */
struct svc_ops {
	int (*spawn)(void *ctx, struct svc *s);
	void (*kill)(void *ctx, struct svc *s, int sig);
	void (*say)(void *ctx, const char *line);
	/* optional: a service entered a state the supervisor acts on
	 * ("maintenance": a crash loop, SVC_FAIL_LIMIT fails in the window) */
	void (*event)(void *ctx, const struct svc *s, const char *what);
};

struct svc_set {
	struct svc *v;
	size_t n;
	char **notes;            /* load-time problems not tied to one service */
};

struct svc_env {
	struct svc_set *set;
	const struct svc_ops *ops;
	void *ctx;
	int64_t now_ms;          /* CLOCK_MONOTONIC, set before each dispatch */
	int stop_timeout_ms;
};

void svc_dispatch(struct svc_env *env, struct svc *s, enum svc_event ev);
/* Start every DOWN service whose dependencies are now online. */
void svc_set_kick(struct svc_env *env);
/* Does s have a process (STARTING, ONLINE, STOPPING)? */
bool svc_has_process(const struct svc *s);
/* Earliest deadline in the set, 0 if none. */
int64_t svc_set_next_deadline(const struct svc_set *set);
const char *svc_state_name(enum svc_state st);     /* internal name */
const char *svc_state_public(enum svc_state st);   /* online|disabled|offline|maintenance */
const char *svc_event_name(enum svc_event ev);

/* ---- the set of services (svc_set.c) ------------------------------------ */
/* Read every service file in dirfd; per-file problems go to the service's
 * error or set->notes, only a failure to read the directory is returned. */
int svc_set_load(struct svc_set *set, int dirfd, const char *dirpath);
/* Add one service from file text (path is for messages). */
int svc_set_add_text(struct svc_set *set, const char *name, const char *text, size_t len,
		     const char *path);
/* Add one service with a ready-made configuration (takes ownership of c's contents). */
int svc_set_add_conf(struct svc_set *set, const char *name, struct svc_conf *c);
/* Resolve after= to indexes; unknown names and cycles become errors.  Call once. */
void svc_set_link(struct svc_set *set);
struct svc *svc_set_find(struct svc_set *set, const char *name);
void svc_set_free(struct svc_set *set);
/* "STATE NAME\n" per service, sorted by name; *out is malloc'd. */
int svc_set_format(const struct svc_set *set, char **out, size_t *len);

/* ---- control protocol (svc_proto.c) ------------------------------------- */
#define PROTO_LINE_MAX 128          /* a request, newline included */
#define PROTO_REPLY_MAX (1 << 20)   /* what a client accepts */

enum proto_op { PROTO_LIST, PROTO_ENABLE, PROTO_DISABLE, PROTO_RESTART, PROTO_INFO };

struct proto_request {
	enum proto_op op;
	char name[SVC_NAME_MAX];
};

/* Parse one request line (without its newline). */
int proto_request_parse(const char *line, size_t len, struct proto_request *rq);
int proto_request_format(const struct proto_request *rq, char *buf, size_t size);
const char *proto_op_name(enum proto_op op);
bool proto_op_changes(enum proto_op op);

struct proto_reply {
	bool ok;
	const char *body;       /* after the head line (list), inside the parsed buffer */
	size_t body_len;
	char message[256];      /* error text */
};

/* Parse a whole reply (the bytes up to EOF) and check it is complete:
 * "ok\n", "ok N\n" + N lines "STATE NAME\n", or "error MESSAGE\n". */
int proto_reply_parse(const char *buf, size_t len, struct proto_reply *rp);
/* The reply to "info": "ok N\n" + N lines "KEY: VALUE\n" of printable text,
 * or an error line. */
int proto_info_parse(const char *buf, size_t len, struct proto_reply *rp);
/* isc-init's properties, from the supervisor's ISC_INFO ("k: v;k: v"):
 * the reply body for "info"; *out is malloc'd. */
int proto_info_format(const char *info, char **out, size_t *lines);
