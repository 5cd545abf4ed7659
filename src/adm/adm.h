/* adm.h - iscadm's command groups share this: global options, helpers, handlers. */
#pragma once

#include "config.h"
#include "image.h"
#include "isc.h"
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

/* The ISC exists (its configuration reads): 0, or the exit status of a
 * failure already reported. */
int adm_isc_exists(struct adm *a, const char *name);

/* ---- relay.c: the operator's terminal and an ISC ---- */
/* Copy between our terminal and the session's pty until the session ends. */
void pty_proxy(int master);
/* Fds 0-2 named in mask relayed through pipes by children of ours: out[]
 * holds what the session gets (the rest /dev/null), pids[] the relays. */
int stdio_relays(unsigned mask, int out[3], pid_t pids[3]);
/* The session is over: what it wrote reaches us, then the relays end. */
void stdio_relays_end(pid_t pids[3]);
void close3(int fds[3]);

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
