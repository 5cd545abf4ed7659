/* confine.h - what every ISC process gets before exec: capability bounding set,
 * no_new_privs.  Applied by iscd to isc-init and to login sessions. */
#pragma once

#include "common.h"

struct confine {
	uint64_t caps;          /* capabilities kept (bit = CAP_*) */
};

/* The default set: enough for a typical service, nothing that administers
 * the kernel or the namespaces the ISC lives in. */
void confine_default(struct confine *c);
/* Drop every capability not in c->caps from the bounding, permitted,
 * effective and inheritable sets, clear ambient, set no_new_privs.
 * Runs in the child right before exec. */
int confine_apply(const struct confine *c, struct isc_err *e);
