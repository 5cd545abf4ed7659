/* commit.h - a maintenance session's changes made into a new image version; iscd. */
#pragma once

#include "config.h"
#include "pool.h"

/* The session's layer: isc/NAME/data/layers/rootw/{upper,work,state}.
 * state says what to do with it if the supervisor dies: "commit HOW" or
 * "discard HOW" (a -W session whose self-assembly has not finished), and
 * the version the session runs on: once the config has moved past it,
 * the commit point was passed and the layer only needs removing. */
int commit_state_write(const struct pool *p, const char *name, const char *state, const char *on,
		       struct isc_err *e);
/* Is a session layer left (a crash, or a session not yet committed)?
 * *state receives its recorded state (empty if none). */
bool commit_pending(const struct pool *p, const char *name, char *state, size_t n);
/* Drop the session layer without committing. */
int commit_discard(const struct pool *p, const char *name, struct isc_err *e);
struct commit_req {
	const char *name;
	const char *how;                /* -w, -W, -T */
	const char *rundir;             /* rundir/commit*: scratch mount points (in the
					 * caller's private mount namespace) */
	const char *upper;              /* host path of the session's upper */
	uint64_t limit;                 /* session-size: the most a commit reads */
	uint64_t change;                /* filled in: bytes the session wrote */
};
/* Commit the session layer of an ISC: a new image from the image it ran on
 * plus the layer, recorded as the current version in its config; then the
 * layer goes.  *made is false when nothing changed.  The long part runs
 * without the pool lock (the caller holds the ISC's own); the pool lock is
 * taken exclusively only to publish. */
int commit_session(struct pool *p, const struct commit_req *rq, bool *made, struct isc_err *e);
/* Did the commit refuse what the session holds (too big, too deep, a
 * device)?  Then it never will: drop the session, keep the version. */
bool commit_rejected(const struct isc_err *e);

/* Open and verify the erofs layers of version digest of c (top first) into
 * fds; *n of them.  Close them with layers_close. */
int layers_open_verified(const struct pool *p, const struct isc_config *c, const char *digest,
			 int fds[ISC_MAX_LAYERS], size_t *n, struct isc_err *e);
void layers_close(int fds[ISC_MAX_LAYERS], size_t *n);
