/* sandbox-internal.h - shared by sandbox.c and child.c only. */
#pragma once

#include "sandbox.h"

__attribute__((noreturn)) void sandbox_child_main(const struct sandbox_spec *s, int sock, int errfd);

/* What the children send on the setup socket, in whatever order it comes:
 * the grandchild's host pid (from the middle child), and from the
 * grandchild 'M' + its pty master, 'S' + its seccomp listener.  A NULL
 * master or notify is not expected.  Reads until all arrived: 0, or
 * -EPROTO (*pid may be set even then). */
int sandbox_recv_setup(int sock, pid_t *pid, int *master, int *notify);
