/* test_cgroup.c - unit tests for src/cgroup on this host's cgroups: login sessions' groups, ended and destroyed (root only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include "cgroup.h"

#include <linux/magic.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>

/* ---- this host's hierarchies -------------------------------------------------- */

/* The hierarchies an ISC has a group in: the unified one, or the v1
 * controllers the back end uses.  [0] is where pids.* lives, [1] memory. */
static const char *const v2_roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup" };
static const char *const v1_roots[] = { "/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu",
					"/sys/fs/cgroup/cpuacct" };
static const char *const *roots;
static size_t nroots;
static bool v2;

static char isc_name[64];
static struct cgroup cg;
static bool created;

/* A cgroup file's text (they report size 0: read to EOF); "" if unreadable. */
static void read_text(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k = fd < 0 ? -1 : read_all(fd, buf, n - 1);
	buf[k > 0 ? k : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/* Which layout this host has; false (skip) if neither is usable. */
static bool layout_probe(void)
{
	struct statfs sf;
	if (geteuid() != 0 || statfs("/sys/fs/cgroup", &sf) < 0)
		return false;
	if (sf.f_type == CGROUP2_SUPER_MAGIC) {
		char ctl[512];
		read_text("/sys/fs/cgroup/cgroup.controllers", ctl, sizeof(ctl));
		if (!strstr(ctl, "memory") || !strstr(ctl, "pids"))
			return false;
		v2 = true;
		roots = v2_roots;
		nroots = 1;
		return true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(v1_roots); i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/cgroup.procs", v1_roots[i]);
		if (access(p, F_OK) < 0)
			return false;
	}
	roots = v1_roots;
	nroots = ARRAY_SIZE(v1_roots);
	return true;
}

/* root/isc/NAME[/sub] */
static void group_path(const char *root, const char *sub, char *buf, size_t n)
{
	snprintf(buf, n, "%s/isc/%s%s%s", root, isc_name, sub ? "/" : "", sub ? sub : "");
}

/* In how many hierarchies group sub exists. */
static size_t group_count(const char *sub)
{
	size_t n = 0;
	for (size_t i = 0; i < nroots; i++) {
		char p[PATH_MAX];
		struct stat st;
		group_path(roots[i], sub, p, sizeof(p));
		n += stat(p, &st) == 0 && S_ISDIR(st.st_mode);
	}
	return n;
}

/* A number from sub's file in the pids ([0]) or memory ([1]) hierarchy. */
static uint64_t group_read(int which, const char *sub, const char *file)
{
	char p[PATH_MAX + 64], s[64], *end;
	group_path(roots[v2 ? 0 : which], sub, p, sizeof(p));
	snprintf(p + strlen(p), sizeof(p) - strlen(p), "/%s", file);
	read_text(p, s, sizeof(s));
	uint64_t v = strtoull(s, &end, 10);
	if (end == s)
		fail_msg("%s: \"%s\"", p, s);
	return v;
}

static int cg_setup(void **state)
{
	(void)state;
	if (!layout_probe())
		return 0;
	snprintf(isc_name, sizeof(isc_name), "unit-cg-%d", (int)getpid());
	cgroup_init(&cg, isc_name);
	struct cgroup_limits l = { .memory = 256ULL << 20, .pids = 64, .cpu_weight = 100 };
	struct isc_err e = { 0 };
	created = true;   /* a half-made group is removed too */
	if (cgroup_create(&cg, &l, &e) < 0) {
		print_error("%s\n", e.msg);
		return -1;
	}
	return 0;
}

/* Everything this test made goes, whatever failed: groups, then the
 * children (the test is the sessions' subreaper). */
static int cg_teardown(void **state)
{
	(void)state;
	if (created)
		cgroup_destroy(&cg, NULL);
	created = false;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (roots && group_count(NULL) != 0) {
		print_error("isc/%s left behind\n", isc_name);
		return -1;
	}
	return 0;
}

#define SKIP_UNLESS_USABLE()                  \
	do {                                  \
		if (!created)                 \
			skip();               \
	} while (0)

/* ---- a session's processes ---------------------------------------------------- */

#define TRIES 40

struct report {
	int attach_err;      /* errno of cgroup_session_attach, 0 if it worked */
	int made, eagain, other;
	pid_t pids[TRIES];
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A child moves itself into session id (as a login's child does), tries
 * tries forks of sleepers that outlive it, reports and exits: what it
 * made stays behind in the session, as after `sleep 60 &`. */
static struct report session_fill(unsigned id, int tries)
{
	struct report rep = { 0 };
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		struct isc_err e = { 0 };
		close(p[0]);
		if (cgroup_session_attach(&cg, id, getpid(), &e) < 0)
			rep.attach_err = e.code;
		for (int i = 0; !rep.attach_err && i < tries; i++) {
			pid_t s = fork();
			if (s == 0) {
				for (;;)
					pause();
			}
			if (s > 0)
				rep.pids[rep.made++] = s;
			else if (errno == EAGAIN)
				rep.eagain++;
			else
				rep.other++;
		}
		(void)!write(p[1], &rep, sizeof(rep));
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read_all(p[0], &rep, sizeof(rep)), sizeof(rep));
	close(p[0]);
	int st;
	assert_int_equal(waitpid(c, &st, 0), c);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(rep.attach_err, 0);
	return rep;
}

/* Each of pids (orphans, reaped here as subreaper) died of SIGKILL
 * before deadline. */
static void all_killed_by(const pid_t *pids, int n, double deadline)
{
	for (int i = 0; i < n; i++) {
		int st;
		pid_t r;
		while ((r = waitpid(pids[i], &st, WNOHANG)) == 0 && now() < deadline)
			nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
		if (r != pids[i])
			fail_msg("sleeper %d not dead in time", (int)pids[i]);
		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), SIGKILL);
	}
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_limits(void **state)
{
	(void)state;
	SKIP_UNLESS_USABLE();
	struct isc_err e = { 0 };
	/* the login reserve comes with the first session, whole */
	assert_int_equal(group_count("login"), 0);
	assert_int_equal(cgroup_session_create(&cg, 1, &e), 0);
	assert_int_equal(group_count("login/s1"), nroots);
	assert_int_equal(group_read(0, "login/s1", "pids.max"), CGROUP_SESSION_PIDS);
	assert_int_equal(group_read(1, "login/s1", v2 ? "memory.max" : "memory.limit_in_bytes"),
			 CGROUP_SESSION_MEMORY);
	assert_int_equal(group_read(0, "login", "pids.max"), CGROUP_MAX_SESSIONS * CGROUP_SESSION_PIDS);
	assert_int_equal(group_read(1, "login", v2 ? "memory.max" : "memory.limit_in_bytes"),
			 CGROUP_MAX_SESSIONS * CGROUP_SESSION_MEMORY);
	assert_int_equal(group_read(0, NULL, "pids.max"), 64 + CGROUP_LOGIN_PIDS);
	assert_int_equal(group_read(1, NULL, v2 ? "memory.max" : "memory.limit_in_bytes"),
			 (256ULL << 20) + CGROUP_LOGIN_MEMORY);
	/* a session not ended is not made again under the next one */
	assert_int_equal(cgroup_session_create(&cg, 1, &e), -EEXIST);
	assert_int_equal(e.code, EEXIST);
	assert_int_equal(cgroup_session_end(&cg, 1), 0);
}

/* The reported problem: one session's leftovers used up the login reserve
 * and every later login failed to fork. */
static void test_session_end(void **state)
{
	(void)state;
	SKIP_UNLESS_USABLE();
	struct isc_err e = { 0 };
	assert_int_equal(cgroup_session_create(&cg, 1, &e), 0);
	assert_int_equal(cgroup_session_create(&cg, 2, &e), 0);

	/* the session's first process and 31 sleepers fill its 32 */
	struct report r1 = session_fill(1, TRIES);
	assert_int_equal(r1.made, CGROUP_SESSION_PIDS - 1);
	assert_int_equal(r1.eagain, TRIES - r1.made);
	assert_int_equal(r1.other, 0);
	assert_int_equal(group_read(0, "login/s1", "pids.current"), CGROUP_SESSION_PIDS - 1);

	/* another session is not short of anything meanwhile */
	struct report r2 = session_fill(2, 1);
	assert_int_equal(r2.made, 1);

	double t0 = now();
	assert_int_equal(cgroup_session_end(&cg, 1), 0);
	assert_true(now() - t0 < 2.0);
	assert_int_equal(group_count("login/s1"), 0);
	assert_int_equal(group_count("login"), nroots);
	all_killed_by(r1.pids, r1.made, t0 + 2.0);

	/* session 2 untouched, and still forks */
	assert_int_equal(kill(r2.pids[0], 0), 0);
	struct report r2b = session_fill(2, 1);
	assert_int_equal(r2b.made, 1);
	assert_int_equal(group_read(0, "login/s2", "pids.current"), 2);

	/* ending again, or an id never made: nothing to do */
	assert_int_equal(cgroup_session_end(&cg, 1), 0);
	assert_int_equal(cgroup_session_end(&cg, 99), 0);
	/* the id is free again */
	assert_int_equal(cgroup_session_create(&cg, 1, &e), 0);
	assert_int_equal(session_fill(1, 1).made, 1);
}

/* A fork bomb in a session: capped by pids.max, and ended in bounded time. */
static void test_session_end_fork_bomb(void **state)
{
	(void)state;
	SKIP_UNLESS_USABLE();
	struct isc_err e = { 0 };
	assert_int_equal(cgroup_session_create(&cg, 3, &e), 0);
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		close(p[0]);
		int err = cgroup_session_attach(&cg, 3, getpid(), &e) < 0 ? e.code : 0;
		(void)!write(p[1], &err, sizeof(err));
		close(p[1]);
		if (err)
			_exit(1);
		for (;;)
			fork();
	}
	close(p[1]);
	int err = -1;
	assert_int_equal(read_all(p[0], &err, sizeof(err)), sizeof(err));
	close(p[0]);
	assert_int_equal(err, 0);
	nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 * 1000 }, NULL);
	assert_true(group_read(0, "login/s3", "pids.current") <= CGROUP_SESSION_PIDS);

	double t0 = now();
	assert_int_equal(cgroup_session_end(&cg, 3), 0);
	assert_true(now() - t0 < 2.0);
	assert_int_equal(group_count("login/s3"), 0);
	all_killed_by(&c, 1, t0 + 2.0);
}

/* A supervisor that died left sessions behind: destroy takes them along. */
static void test_destroy_sessions(void **state)
{
	(void)state;
	SKIP_UNLESS_USABLE();
	struct isc_err e = { 0 };
	assert_int_equal(cgroup_session_create(&cg, 4, &e), 0);
	assert_int_equal(cgroup_session_create(&cg, 5, &e), 0);
	struct report r = session_fill(4, 3);
	assert_int_equal(r.made, 3);

	double t0 = now();
	assert_int_equal(cgroup_destroy(&cg, &e), 0);
	created = false;
	assert_int_equal(group_count(NULL), 0);
	all_killed_by(r.pids, r.made, t0 + 2.0);
}

/* No session group where the ISC has none: it would have no limits above it. */
static void test_session_without_isc(void **state)
{
	(void)state;
	SKIP_UNLESS_USABLE();
	struct isc_err e = { 0 };
	assert_int_equal(cgroup_destroy(&cg, &e), 0);
	created = false;
	assert_int_equal(cgroup_session_create(&cg, 1, &e), -ENOENT);
	assert_int_equal(e.code, ENOENT);
	assert_int_equal(group_count(NULL), 0);
	assert_int_equal(cgroup_session_end(&cg, 1), 0);
}

int main(void)
{
	/* sleepers a session leaves are orphans: reparented here, so a test
	 * sees how they died and none is left a zombie */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_limits, cg_setup, cg_teardown),
		cmocka_unit_test_setup_teardown(test_session_end, cg_setup, cg_teardown),
		cmocka_unit_test_setup_teardown(test_session_end_fork_bomb, cg_setup, cg_teardown),
		cmocka_unit_test_setup_teardown(test_destroy_sessions, cg_setup, cg_teardown),
		cmocka_unit_test_setup_teardown(test_session_without_isc, cg_setup, cg_teardown),
	};
	return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
