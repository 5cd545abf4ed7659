/* adm.h - iscadm's command groups share this: global options, helpers, handlers. */
#pragma once

#include "config.h"
#include "image.h"
#include "isc.h"
#include "pool.h"

#include <json-c/json.h>
#include <pthread.h>

struct adm {
	const char *root;
	int argc;
	char **argv;            /* argv[0] is the command word */
	bool audited;           /* the command's record is written */
};

/* exit codes */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

int adm_fail(const struct isc_err *e);
/* The command's record in the pool's audit log (words, the user, exit
 * status rc), once; what only reads is not recorded.  main() calls it when
 * the command returns; a command that detaches the pool, before. */
void adm_audit(struct adm *a, int rc);
/* What a command did, said in the audit log as an event of its own. */
void adm_audit_note(struct adm *a, const char *isc, const char *event, const char *msg);
int adm_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int adm_pool(struct adm *a, struct pool *p, enum pool_lock lock);
/* ISC name's configuration, the pool opened shared for the read: 0, or the
 * exit status of a failure already reported. */
int adm_config(struct adm *a, const char *name, struct isc_config *c);

/* One ISC's command opened: the pool with lock, name's record loaded.
 * 0, or the exit status of a failure already reported (nothing left open). */
struct adm_isc {
	struct pool pool;
	struct isc_config cfg;
};
int adm_isc_open(struct adm *a, const char *name, enum pool_lock lock, struct adm_isc *o);
void adm_isc_close(struct adm_isc *o);

/* The ISC exists (its configuration reads): 0, or the exit status of a
 * failure already reported. */
int adm_isc_exists(struct adm *a, const char *name);
/* The names of the pool's ISCs, or only the one named only (which must
 * exist): 0, or the exit status of a failure already reported. */
int adm_isc_names(struct pool *p, const char *only, char ***names);

/* ---- table.c: a listing as a table, -p or --json ---- */
enum table_fmt { TABLE_TEXT, TABLE_PARSABLE, TABLE_JSON };
struct table_col {
	const char *head, *key;         /* the table's header, the JSON key */
	int width;                      /* -1: in --json only */
};
struct table {
	enum table_fmt fmt;
	const struct table_col *cols;
	size_t ncols, last;             /* last: the last column shown as text */
	json_object *arr;
};
/* -p / --json among argv (argv[0] is the command word): the index of the
 * first operand, or -1 for a usage error. */
int table_opts(int argc, char **argv, enum table_fmt *fmt);
void table_begin(struct table *t, enum table_fmt fmt, const struct table_col *cols, size_t ncols);
/* One value a column, NULL or "" shown as "-" in the table. */
void table_row(struct table *t, const char *const *vals);
void table_end(struct table *t);

/* ---- relay.c: the operator's terminal and an ISC ---- */
/* Copy between our terminal and the session's pty until the session ends. */
void pty_proxy(int master);
/* Fds 0-2 named in mask relayed through pipes by one thread of ours: out[]
 * holds what the session gets (the rest /dev/null). */
struct relay {
	pthread_t thread;
	bool running;
	int pipes[3];           /* our ends, -1 where not relayed */
	int stop[2];            /* written: the thread returns */
};
int stdio_relays(unsigned mask, int out[3], struct relay *rl);
/* The session is over: what it wrote reaches us, then the relay ends. */
void stdio_relays_end(struct relay *rl);
void close3(int fds[3]);

int cmd_pool(struct adm *a);
int cmd_expose(struct adm *a);
int cmd_unexpose(struct adm *a);
int cmd_net(struct adm *a);
/* isc_stale_hook: a dead supervisor's network goes (net_cmd.c) */
void adm_net_stale(const char *name);
int cmd_host(struct adm *a);
int cmd_image(struct adm *a);
int cmd_create(struct adm *a);
int cmd_get(struct adm *a);
int cmd_set(struct adm *a);
int cmd_destroy(struct adm *a);
int cmd_list(struct adm *a);
int cmd_boot(struct adm *a);
int cmd_halt(struct adm *a);
int cmd_freeze(struct adm *a);
int cmd_thaw(struct adm *a);
int cmd_reboot(struct adm *a);
int cmd_console(struct adm *a);
int cmd_notes(struct adm *a);
int cmd_audit(struct adm *a);
int cmd_release(struct adm *a);
int cmd_metrics(struct adm *a);
int cmd_update(struct adm *a);
int cmd_login(struct adm *a);
int cmd_run(struct adm *a);
int cmd_key(struct adm *a);
int cmd_stats(struct adm *a);
int cmd_history(struct adm *a);
int cmd_revert(struct adm *a);
int cmd_verify(struct adm *a);
int cmd_diff(struct adm *a);
int cmd_send(struct adm *a);
int cmd_receive(struct adm *a);
int cmd_snapshot(struct adm *a);
int cmd_rollback(struct adm *a);
int cmd_clone(struct adm *a);
int cmd_promote(struct adm *a);
int cmd_reset(struct adm *a);
/* destroy ISC@SNAPSHOT (snapshot_cmd.c) */
int adm_snapshot_destroy(struct adm *a, const char *arg);
