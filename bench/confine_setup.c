/* confine_setup.c - what confinement adds to an ISC's start: the time of
 * confine_apply() (capabilities, rlimits, no_new_privs, MDWE, Landlock on
 * the fixed-configuration profile's writable paths, seccomp with its
 * notification listener), measured in a fresh child each run, against the
 * same child doing nothing.  Prints medians in microseconds.
 *
 *   bench-confine-setup [RUNS]     (default 200; run as root)
 *
 * The seccomp filter is compiled once first, as iscd does; with
 * ISC_BENCH_COMPILE_EACH set, each child compiles it (libseccomp) itself.
 */
#include "confine.h"

#include <sys/wait.h>
#include <time.h>

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* One child: apply (or not) and report the elapsed nanoseconds. */
static int64_t one(bool apply)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct confine c;
		struct isc_err e = { 0 };
		int listener = -1;
		confine_default(&c);
		/* the fixed-configuration profile's writable paths */
		static const char *const w[] = { "/dev", "/proc", "/scratch", "/var", "/tmp", "/run", "/var/tmp", NULL };
		for (size_t i = 0; w[i]; i++)
			c.writable[i] = w[i];
		int64_t t0 = now_ns();
		if (apply && confine_apply(&c, &listener, &e) < 0) {
			fprintf(stderr, "confine_apply: %s\n", e.msg);
			_exit(1);
		}
		int64_t dt = now_ns() - t0;
		_exit(write(p[1], &dt, sizeof(dt)) == sizeof(dt) ? 0 : 1);
	}
	close(p[1]);
	int64_t dt = -1;
	if (read(p[0], &dt, sizeof(dt)) != sizeof(dt))
		dt = -1;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? dt : -1;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 200;
	if (runs < 1 || runs > 100000) {
		fprintf(stderr, "usage: bench-confine-setup [RUNS]\n");
		return 2;
	}
	/* as iscd does: the filter is compiled once, before the children */
	struct isc_err e = { 0 };
	if (getenv("ISC_BENCH_COMPILE_EACH") == NULL && confine_seccomp_prepare(false, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	int64_t *on = calloc((size_t)runs, sizeof(*on)), *off = calloc((size_t)runs, sizeof(*off));
	if (!on || !off)
		return 1;
	for (int i = 0; i < runs; i++) {   /* interleaved, so drift hits both alike */
		if ((on[i] = one(true)) < 0 || (off[i] = one(false)) < 0)
			return 1;
	}
	qsort(on, (size_t)runs, sizeof(*on), cmp64);
	qsort(off, (size_t)runs, sizeof(*off), cmp64);
	printf("confine_apply: median %.1f us (min %.1f, p90 %.1f); nothing applied: median %.1f us; %d runs\n",
	       (double)on[runs / 2] / 1000, (double)on[0] / 1000, (double)on[runs * 9 / 10] / 1000,
	       (double)off[runs / 2] / 1000, runs);
	free(on);
	free(off);
	return 0;
}
