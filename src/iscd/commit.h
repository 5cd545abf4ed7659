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
/* Commit the session layer of ISC name (how: -w, -W, -T): a new image from
 * the image it ran on plus the layer, recorded as the current version in
 * its config; then the layer goes.  *made is false when nothing changed.
 * Takes the pool lock exclusively while it works; rundir/commit is the
 * scratch mount point (in the caller's private mount namespace). */
int commit_session(struct pool *p, const char *name, const char *how, const char *rundir,
		   bool *made, struct isc_err *e);

/* Open and verify the erofs layers of version digest of c (top first) into
 * fds; *n of them.  Close them with layers_close. */
int layers_open_verified(const struct pool *p, const struct isc_config *c, const char *digest,
			 int fds[ISC_MAX_LAYERS], size_t *n, struct isc_err *e);
void layers_close(int fds[ISC_MAX_LAYERS], size_t *n);
