/* ipc.h - the closed set of typed messages between iscadm and iscd over the
 * control socket (SOCK_SEQPACKET, root only, SO_PEERCRED checked). */
#pragma once

#include "common.h"
#include "runstate.h"

#define IPC_MAX 8192

enum ipc_type {
	IPC_HALT = 1,           /* c->d: stop the ISC, supervisor exits */
	IPC_REBOOT,             /* c->d: stop and start again; payload = struct ipc_reboot */
	IPC_STATUS,             /* c->d: one line of state */
	IPC_LOGIN,              /* c->d: payload = struct ipc_login + argv; fds 0,1,2 unless tty */
	IPC_OK,                 /* d->c: done; text payload */
	IPC_ERR,                /* d->c: failed; one-line reason */
	IPC_PTY,                /* d->c: the session's pty master is attached */
	IPC_EXIT,               /* d->c: session ended; status = exit code */
	IPC_FREEZE,             /* c->d: freeze every process of the ISC */
	IPC_THAW,               /* c->d: let them run again */
	IPC_RELEASE,            /* c->d: lift a quarantine (thaw, network back) */
};
#define IPC_LAST IPC_RELEASE

struct ipc_hdr {
	uint32_t type;
	int32_t status;         /* IPC_EXIT: the exit code; IPC_ERR: an errno; else 0 */
	uint32_t len;           /* payload bytes after the header */
};

struct ipc_reboot {
	uint8_t mode;           /* enum boot_mode; only the host asks for a writable one */
};

struct ipc_login {
	uint8_t tty;
	uint8_t kind;           /* enum login_kind */
	uint16_t rows, cols;
	char term[32];
	uint8_t force;          /* into a quarantined ISC (its processes stay frozen) */
	uint8_t pad;
	/* followed by argv strings, each NUL-terminated; none = login shell */
};

int ipc_send(int sock, enum ipc_type type, int status, const void *data, size_t len,
	     const int *fds, size_t nfds);
/* Receive one message; payload is NUL-terminated in buf (size >= IPC_MAX + 1). */
int ipc_recv(int sock, struct ipc_hdr *h, char *buf, int *fds, size_t *nfds);
/* Validate a reboot request (an empty payload is a read-only reboot). */
int ipc_reboot_parse(const char *payload, size_t len, enum boot_mode *mode);
/* Validate a login request; *argv is a NULL-terminated vector pointing into
 * payload (free only the vector).  Malformed = -EBADMSG. */
int ipc_login_parse(const char *payload, size_t len, struct ipc_login *l, char ***argv);
int ipc_login_build(const struct ipc_login *l, char *const *argv, char *buf, size_t size, size_t *len);
/* Connect to ISC_RUN_DIR/<name>/ctl. */
int ipc_connect(const char *name);
