/* audit.h - the pool's audit log: append-only, hash-chained records of every
 * security-relevant event (docs/audit.md).  iscadm and iscd write it; iscadm
 * reads and verifies it. */
#pragma once

#include "common.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#define AUDIT_DIR "audit"            /* in the pool, under the pool key */
#define AUDIT_LOG "audit/log"
#define AUDIT_LINE_MAX 32768         /* one record, newline included */
#define AUDIT_HASH_HEX 64

/* One event as its writer gives it; text fields are escaped here (no
 * control byte, nothing that is not UTF-8 reaches the log) and bounded. */
struct audit_event {
	const char *source;          /* "iscadm", "iscd" */
	const char *isc;             /* the ISC concerned, or NULL */
	const char *event;           /* one word: command, boot, commit, notice, seccomp, net, ... */
	const char *msg;             /* one line, or NULL */
	char *const *args;           /* a command's words (NULL-terminated), or NULL */
	int result;                  /* a command's exit status, or -1 */
};

/* Append one record under the log's lock, chained to the last one, and
 * hand it to the host's syslog (LOG_AUTHPRIV).  pooldirfd: the pool's
 * directory.  An unfinished record a crashed writer left at the end is
 * cut first, and that is recorded too. */
int audit_append(int pooldirfd, const struct audit_event *ev, struct isc_err *e);

/* One record as read back. */
struct audit_record {
	uint64_t line;               /* 1-based line of the log */
	uint64_t seq;                /* its own number (0: unreadable) */
	bool ok;                     /* in the chain: form, hash, number, link */
	char hash[AUDIT_HASH_HEX + 1];
	json_object *obj;            /* the record (NULL when unreadable) */
	const char *time, *source, *isc, *event, *msg;
};

/* What a walk found about the chain: the first bad record, if any. */
enum audit_fault {
	AUDIT_FAULT_NONE,
	AUDIT_FAULT_FORM,            /* not a record: cut, edited past parsing */
	AUDIT_FAULT_HASH,            /* its contents do not match its hash: edited */
	AUDIT_FAULT_SEQ,             /* not the number that follows: deleted, moved */
	AUDIT_FAULT_LINK,            /* does not chain to the record before: one rewritten */
	AUDIT_FAULT_HEAD,            /* the anchored head is not in the log: cut or replaced */
};
struct audit_check {
	uint64_t records;            /* lines read */
	uint64_t bad_line, bad_seq;  /* the first bad record */
	uint64_t want_seq;           /* the number that belonged there */
	enum audit_fault fault;
	char head[AUDIT_HASH_HEX + 1];   /* the last record's hash ("" for an empty log) */
	uint64_t head_seq;
	char head_time[40];
};

/* Read every record in order, checking the chain as it goes; fn (may be
 * NULL) sees each one, good or bad, and stops the walk by returning
 * non-zero.  anchor: a head an operator kept, which must be some
 * record's hash, or NULL.  0 (the chain's state in *c), or -errno. */
int audit_walk(int pooldirfd, const char *anchor, int (*fn)(const struct audit_record *, void *),
	       void *arg, struct audit_check *c, struct isc_err *e);

/* The fault in words, for a person: "record 17 (line 17): ...". */
void audit_fault_say(const struct audit_check *c, char *buf, size_t size);

/* One record's line checked alone: its form and its hash; seq and hash
 * out.  For the walk and its fuzz harness. */
enum audit_fault audit_line_check(const char *line, size_t len, struct audit_record *r);
