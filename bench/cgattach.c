/* cgattach.c - the floor under every start that makes a cgroup: one run of
 * isc's own cgroup code for a process, and nothing else.  Makes an ISC's
 * groups (cgroup_create, the limits of a default ISC), forks a child that
 * waits, moves it in (cgroup_attach: the cgroup.procs writes whose first
 * one waits for an RCU grace period on a v1 host), lets it exit, and
 * removes the groups.  bench/start.sh times it as the "cgroup attach" row.
 *
 *   bench-cgattach            (as root; exit status 0 on success)
 */
#include "cgroup.h"

#include <fcntl.h>
#include <sys/wait.h>

int main(void)
{
	struct cgroup cg;
	struct isc_err e = { 0 };
	char name[64];
	int p[2];
	snprintf(name, sizeof(name), "bench-cgattach-%d", (int)getpid());
	const struct cgroup_limits lim = { .memory = 256ULL << 20, .pids = 512, .cpu_weight = 100 };
	if (cgroup_init(&cg, name) < 0 || cgroup_create(&cg, &lim, &e) < 0) {
		fprintf(stderr, "bench-cgattach: %s\n", e.msg[0] ? e.msg : "no cgroups");
		return 1;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return 1;
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(p[1]);
		_exit(read(p[0], &b, 1) < 0);
	}
	close(p[0]);
	int r = c < 0 ? -1 : cgroup_attach(&cg, c, &e);
	close(p[1]);
	if (c > 0)
		waitpid(c, NULL, 0);
	cgroup_destroy(&cg, NULL);
	if (r < 0)
		fprintf(stderr, "bench-cgattach: %s\n", e.msg);
	return r < 0;
}
