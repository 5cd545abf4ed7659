/* sandbox-internal.h - shared by sandbox.c, child.c and oci.c only. */
#pragma once

#include "sandbox.h"

/* The forked children report a failure on errfd, a pipe whose write end
 * they hold with O_CLOEXEC: their struct isc_err (code and message) as
 * one write, atomic below PIPE_BUF, then they exit.  A successful exec
 * closes the pipe, so the parent reads end of file. */
/* A setup socket (SOCK_SEQPACKET) and an error pipe, and fork: each side
 * gets its own ends in *sock and *errfd, the other side's are closed.
 * With ns, the child is born in those new namespaces (clone3); with
 * cgfd >= 0 in that cgroup where the kernel can (CLONE_INTO_CGROUP;
 * *born_in, in both processes, says whether).  Returns the child's pid, 0
 * in the child, or -errno. */
#define SANDBOX_NS (CLONE_NEWUSER | CLONE_NEWPID)
pid_t sandbox_fork(int cgfd, unsigned long ns, bool *born_in, int *sock, int *errfd, struct isc_err *e);
__attribute__((noreturn)) void sandbox_child_main(const struct sandbox_spec *s, int sock, int errfd);

/* A child's report read from errfd: -e->code with e set from it, or 0
 * when there is none.  With wait, reads until every writer has exec'd or
 * exited; without, takes only what is there (a child that died wrote its
 * report before it went). */
int sandbox_err_recv(int errfd, bool wait, struct isc_err *e);

/* What a child sends on the setup socket, in whatever order it comes: a
 * login's middle child the session's host pid (an ISC's child is PID 1
 * itself: *pid > 0 is known, none is expected), and the process that will
 * exec 'M' + its pty master, 'S' + its seccomp listener.  A NULL master
 * or notify is not expected.  Reads until all arrived: 0, or -EPROTO
 * (*pid may be set even then). */
int sandbox_recv_setup(int sock, pid_t *pid, int *master, int *notify);

/* Shared with oci.c (an OCI bundle's root is built with the same parts):
 * mask the kernel interfaces below root's /proc and /sys as runc does;
 * bind the host's harmless character devices (null, zero, full, random,
 * urandom, tty), each checked, onto files in the directory dev; pivot
 * into root and detach the old one. */
int sandbox_mask_proc(int root, struct isc_err *e);
int sandbox_dev_nodes(int dev, struct isc_err *e);
/* The whole of an ISC's /dev in the directory dev: pts and shm mount
 * points, the usual links, console's mount point, and the nodes above. */
int sandbox_dev_tree(int dev, struct isc_err *e);
int sandbox_enter_root(int root, struct isc_err *e);
