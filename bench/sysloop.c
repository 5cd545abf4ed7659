/* sysloop.c - bench helper run inside an ISC: ns per getppid() and per 4 KiB read(), best of 5 rounds. */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	const char *file = argc > 2 ? argv[2] : "/bin/busybox";
	/* "empty-filter": first install a filter that allows everything, to
	 * show what merely having seccomp on costs a system call here */
	if (argc > 3 && strcmp(argv[3], "empty-filter") == 0) {
		struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		struct sock_fprog prog = { .len = 1, .filter = &allow };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
			perror("seccomp");
			return 1;
		}
	}
	double best_ppid = 1e18, best_read = 1e18;
	static char buf[4096];
	int fd = open(file, O_RDONLY);
	if (fd < 0) {
		perror(file);
		return 1;
	}
	for (int round = 0; round < 5; round++) {
		double t0 = now_ns();
		for (long i = 0; i < n; i++)
			getppid();
		double t1 = now_ns();
		for (long i = 0; i < n; i++)
			if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
				return 1;
		double t2 = now_ns();
		if ((t1 - t0) / n < best_ppid)
			best_ppid = (t1 - t0) / n;
		if ((t2 - t1) / n < best_read)
			best_read = (t2 - t1) / n;
	}
	printf("getppid %.1f ns\nread4k %.1f ns\n", best_ppid, best_read);
	return 0;
}
