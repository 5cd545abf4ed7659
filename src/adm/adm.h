/* adm.h - iscadm's command groups share this: global options, helpers, handlers. */
#pragma once

#include "config.h"
#include "image.h"
#include "pool.h"

struct adm {
	const char *root;
	int argc;
	char **argv;            /* argv[0] is the command word */
};

/* exit codes */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

int adm_fail(const struct isc_err *e);
int adm_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int adm_pool(struct adm *a, struct pool *p, enum pool_lock lock);
/* ISC name's configuration, the pool opened shared for the read: 0, or the
 * exit status of a failure already reported. */
int adm_config(struct adm *a, const char *name, struct isc_config *c);

bool isc_running(const char *name);
/* R or W of a running ISC, '-' when not running. */
char isc_mode(const char *name);
/* A dead supervisor's leftovers: state files and a cgroup, removed with
 * its lock held (no supervisor starts meanwhile).  false: one runs. */
bool isc_clean_stale(const char *name);
/* Wait until the supervisor of name has exited (up to timeout seconds). */
int isc_wait_stopped(const char *name, int timeout);

int cmd_pool(struct adm *a);
int cmd_image(struct adm *a);
int cmd_create(struct adm *a);
int cmd_get(struct adm *a);
int cmd_set(struct adm *a);
int cmd_destroy(struct adm *a);
int cmd_list(struct adm *a);
int cmd_boot(struct adm *a);
int cmd_halt(struct adm *a);
int cmd_reboot(struct adm *a);
int cmd_console(struct adm *a);
int cmd_notes(struct adm *a);
int cmd_login(struct adm *a);
int cmd_run(struct adm *a);
int cmd_key(struct adm *a);
int cmd_stats(struct adm *a);
int cmd_history(struct adm *a);
int cmd_revert(struct adm *a);

/* Halt a running ISC through its supervisor and wait for it to exit. */
int isc_halt(const char *name, bool reboot, struct isc_err *e);
/* reboot: 0 halt, 'R' reboot read-only, 'W' reboot writable (-w). */
int isc_stop(const char *name, char reboot, struct isc_err *e);
/* Create an ISC (used by create and run). */
struct isc_create_opts {
	const char *image, *profile;
	const char *keysource;          /* NULL: a generated key file */
	const char *encryption_root;    /* use this ISC's key instead */
	char *const *sets;
	bool ephemeral;                 /* run --rm: random key, never stored */
};
int isc_create(struct pool *p, const char *name, const struct isc_create_opts *o, struct isc_err *e);
int isc_destroy(struct pool *p, const char *name, struct isc_err *e);
