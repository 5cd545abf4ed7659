/* test_confine.c - unit tests for src/confine: the default capability set, and Landlock, seccomp and MDWE applied in forked children.
 * A test that needs something of the host (root, Landlock, MDWE, a pty, 32-bit entry) checks it first and skips, saying why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include "confine.h"

#include <linux/capability.h>
#include <linux/fscrypt.h>
#include <linux/keyctl.h>
#include <linux/landlock.h>
#include <linux/tiocl.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

#define CAPBIT(c) (1ULL << (c))

/* ---- children ---------------------------------------------------------------- */

/* Confinement cannot be undone, so it is tried in a forked child.  The
 * child must not use cmocka's asserts (a failure would longjmp into the
 * parent's test runner); it says what went wrong on a pipe instead. */
static int report_fd = -1;

__attribute__((format(printf, 1, 0)))
static void child_report(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n > 0)
		(void)!write(report_fd, buf, strnlen(buf, sizeof(buf) - 1));
}

__attribute__((format(printf, 1, 2)))
static int child_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	child_report(fmt, ap);
	va_end(ap);
	return 1;
}

/* In a child: the host lacks what the test needs; the parent skips with
 * the reason instead of failing (see in_child). */
#define CHILD_SKIP 77

__attribute__((format(printf, 1, 2)))
static int child_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	child_report(fmt, ap);
	va_end(ap);
	return CHILD_SKIP;
}

/* cmocka's skip(), with the premise this host does not meet printed. */
__attribute__((format(printf, 1, 2), noreturn))
static void skip_why(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	print_message("skipped: ");
	vprint_message(fmt, ap);
	print_message("\n");
	va_end(ap);
	skip();
	abort();   /* skip() does not return */
}

/* In a child: the test process's own signal handlers are not wanted, and
 * a child stuck on a bug dies of SIGALRM instead of hanging the run. */
static void child_start(void)
{
	signal(SIGSEGV, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	alarm(10);
}

/* Wait for pid; "" if it exited 0, else how it ended. */
static void child_reap(pid_t pid, char *how, size_t n)
{
	int st;
	how[0] = '\0';
	if (waitpid(pid, &st, 0) != pid)
		snprintf(how, n, "waitpid: %s", strerror(errno));
	else if (WIFSIGNALED(st))
		snprintf(how, n, "killed by signal %d", WTERMSIG(st));
	else if (WEXITSTATUS(st) != 0)
		snprintf(how, n, "exit status %d", WEXITSTATUS(st));
}

typedef int (*child_fn)(void *arg);

/* Run fn(arg) in a child; its wait status, and its report in msg. */
static int child_run(child_fn fn, void *arg, char *msg, size_t n)
{
	int p[2], st = -1;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		report_fd = p[1];
		child_start();
		_exit(fn(arg));
	}
	close(p[1]);
	ssize_t k = read_all(p[0], msg, n - 1);   /* EOF: the child is gone */
	msg[k > 0 ? k : 0] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

/* Run fn(arg) in a child and fail with its report unless it returns 0
 * (CHILD_SKIP: skip, with its report as the reason). */
static void in_child(child_fn fn, void *arg)
{
	char msg[512];
	int st = child_run(fn, arg, msg, sizeof(msg));
	if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_SKIP)
		skip_why("%s", msg);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || msg[0])
		fail_msg("child: %s (%s %d)", msg[0] ? msg : "no report",
			 WIFSIGNALED(st) ? "killed by signal" : "exit status",
			 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

/* ---- premises ---------------------------------------------------------------- */

/* The test process must hold every capability in need, effective and
 * permitted, and in its bounding set: applying a set (or cutting the
 * bounding set, CAP_SETPCAP) needs it, as does a call whose unfiltered
 * answer is compared.  Root on the host has them; a container may not. */
static void caps_require(uint64_t need, const char *what)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	assert_int_equal(syscall(SYS_capget, &h, d), 0);
	uint64_t eff = d[0].effective | (uint64_t)d[1].effective << 32;
	uint64_t prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	for (int cap = 0; cap < 64; cap++) {
		if (!(need & CAPBIT(cap)) || ((eff & prm & CAPBIT(cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1))
			continue;
		char *name = cap_to_name(cap);
		char n[64];
		snprintf(n, sizeof(n), "%s", name ? name : "?");
		cap_free(name);
		skip_why("%s needs %s, which this test process lacks (run as root)", what, n);
	}
}

/* ---- the default set (limitpriv's parser and its tests: pool/config.c, test_config.c) ---- */

/* The default keeps what a service needs and nothing that administers
 * the kernel or the ISC's own namespaces. */
static void test_default_caps(void **state)
{
	(void)state;
	uint64_t d = confine_default_caps();
	static const int kept[] = { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL,
				    CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_NET_BIND_SERVICE };
	uint64_t want = 0;
	for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
		want |= CAPBIT(kept[i]);
	assert_int_equal(d, want);
	assert_false(d & CAPBIT(CAP_SYS_ADMIN));
	assert_false(d & CAPBIT(CAP_SYS_PTRACE));
	assert_false(d & CAPBIT(CAP_NET_ADMIN));
	assert_false(d & CAPBIT(CAP_SYS_MODULE));

	struct confine c;
	memset(&c, 0xff, sizeof(c));
	confine_default(&c);
	assert_int_equal(c.caps, d);
	assert_true(c.mdwe && c.landlock && c.seccomp);
	assert_null(c.writable[0]);
}

/* ---- Landlock ---------------------------------------------------------------- */

struct ll_dirs {
	char *root;
	char a[PATH_MAX], b[PATH_MAX];
	int abi;        /* the kernel's Landlock ABI; < 1: none */
	int abi_err;    /* why there is none */
};

static int ll_setup(void **state)
{
	struct ll_dirs *d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	d->abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	d->abi_err = errno;
	d->root = tmpdir_make_named("test_confine");
	snprintf(d->a, sizeof(d->a), "%s/a", d->root);
	snprintf(d->b, sizeof(d->b), "%s/b", d->root);
	if (mkdir(d->a, 0755) < 0 || mkdir(d->b, 0755) < 0)
		return -1;
	char f[PATH_MAX + 8];
	snprintf(f, sizeof(f), "%s/data", d->b);
	if (write_file_atomic(AT_FDCWD, f, "hello", 5, 0644) < 0)
		return -1;
	*state = d;
	return 0;
}

static int ll_teardown(void **state)
{
	struct ll_dirs *d = *state;
	tmpdir_remove(d->root);
	free(d);
	return 0;
}

/* Landlock may be left out of the kernel or of its lsm= list. */
static void landlock_require(const struct ll_dirs *d)
{
	if (d->abi < 1)
		skip_why("Landlock is not available on this kernel: %s", strerror(d->abi_err));
}

/* errno of creating dir/name, 0 if it worked */
static int create_in(const char *dir, const char *name)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	int r = write(fd, "x", 1) == 1 ? 0 : errno;
	close(fd);
	return r;
}

static int errno_of(int r)
{
	return r < 0 ? errno : 0;
}

/* As in confine_apply, no_new_privs comes first: without it only
 * CAP_SYS_ADMIN may restrict itself, and the test need not be root. */
static int landlock_apply(const char *const *w, struct isc_err *e)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_sys(e, errno, "no_new_privs");
	return confine_landlock(w, NULL, e);
}

static int landlock_child(void *arg)
{
	struct ll_dirs *d = arg;
	struct isc_err e = { 0 };
	char p[PATH_MAX + 64], buf[16] = "";
	const char *w[] = { "/nonexistent/isc-test", d->a, NULL };
	if (landlock_apply(w, &e) < 0)
		return child_fail("confine_landlock: %s", e.msg);
	int r;
	if ((r = create_in(d->a, "new")) != 0)
		return child_fail("create in A: %s", strerror(r));
	snprintf(p, sizeof(p), "%s/sub", d->a);
	if (mkdir(p, 0755) < 0 || (r = create_in(p, "deeper")) != 0)
		return child_fail("create below A: %s", strerror(errno));
	if ((r = create_in(d->b, "new")) != EACCES)
		return child_fail("create in B: got %s, want EACCES", r ? strerror(r) : "success");
	snprintf(p, sizeof(p), "%s/sub", d->b);
	if ((r = errno_of(mkdir(p, 0755))) != EACCES)
		return child_fail("mkdir in B: got %s, want EACCES", r ? strerror(r) : "success");
	snprintf(p, sizeof(p), "%s/data", d->b);
	if ((r = errno_of(open(p, O_WRONLY | O_CLOEXEC))) != EACCES)
		return child_fail("open B/data for writing: got %s, want EACCES", r ? strerror(r) : "success");
	if ((r = errno_of(unlink(p))) != EACCES)
		return child_fail("unlink B/data: got %s, want EACCES", r ? strerror(r) : "success");
	/* moving A's file into B is a write to B; before ABI 2 (no
	 * LANDLOCK_ACCESS_FS_REFER) any move between directories is EXDEV */
	char from[PATH_MAX + 64], to[PATH_MAX + 64];
	int want = d->abi >= 2 ? EACCES : EXDEV;
	snprintf(from, sizeof(from), "%s/new", d->a);
	snprintf(to, sizeof(to), "%s/moved", d->b);
	if ((r = errno_of(rename(from, to))) != want)
		return child_fail("rename A/new to B: got %s, want %s (Landlock ABI %d)", r ? strerror(r) : "success",
				  strerrorname_np(want), d->abi);
	/* reads are not Landlock's business */
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return child_fail("read B/data: %s", strerror(errno));
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n != 5 || memcmp(buf, "hello", 5))
		return child_fail("read B/data: got %zd bytes", n);
	return 0;
}

static void test_landlock_writable(void **state)
{
	struct ll_dirs *d = *state;
	landlock_require(d);
	in_child(landlock_child, d);
	/* what the child made is really there, and nothing in B */
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/new", d->a);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/sub/deeper", d->a);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/new", d->b);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/data", d->b);
	assert_int_equal(access(p, F_OK), 0);
}

/* No writable path at all: no writes anywhere. */
static int landlock_none_child(void *arg)
{
	struct ll_dirs *d = arg;
	struct isc_err e = { 0 };
	if (landlock_apply(NULL, &e) < 0)
		return child_fail("confine_landlock: %s", e.msg);
	int r;
	if ((r = create_in(d->a, "new")) != EACCES)
		return child_fail("create in A: got %s, want EACCES", r ? strerror(r) : "success");
	return 0;
}

static void test_landlock_nothing_writable(void **state)
{
	landlock_require(*state);
	in_child(landlock_none_child, *state);
}

/* A symlink in the list is not followed (O_NOFOLLOW): it is refused, and
 * its target does not become writable. */
static int landlock_symlink_child(void *arg)
{
	struct ll_dirs *d = arg;
	struct isc_err e = { 0 };
	char l[PATH_MAX + 8], want[PATH_MAX + 64];
	snprintf(l, sizeof(l), "%s/link", d->root);
	const char *w[] = { l, NULL };
	int r = landlock_apply(w, &e);
	snprintf(want, sizeof(want), "landlock: open %s: %s", l, strerror(ENOTDIR));
	if (r != -ENOTDIR || !STREQ(e.msg, want))
		return child_fail("symlink as writable: got %d '%s', want '%s'", r, e.msg, want);
	return 0;
}

static void test_landlock_symlink(void **state)
{
	struct ll_dirs *d = *state;
	char l[PATH_MAX + 8];
	landlock_require(d);
	snprintf(l, sizeof(l), "%s/link", d->root);
	assert_int_equal(symlink(d->b, l), 0);
	in_child(landlock_symlink_child, d);
}

/* A writable path that is a file, not a directory, is an error named. */
static int landlock_file_child(void *arg)
{
	struct ll_dirs *d = arg;
	struct isc_err e = { 0 };
	char f[PATH_MAX + 8], want[PATH_MAX + 64];
	snprintf(f, sizeof(f), "%s/data", d->b);
	const char *w[] = { f, NULL };
	int r = landlock_apply(w, &e);
	snprintf(want, sizeof(want), "landlock: open %s: %s", f, strerror(ENOTDIR));
	if (r != -ENOTDIR || !STREQ(e.msg, want))
		return child_fail("file as writable: got %d '%s', want '%s'", r, e.msg, want);
	/* and nothing was restricted */
	if ((r = create_in(d->b, "new")) != 0)
		return child_fail("create in B after the refusal: %s", strerror(r));
	return 0;
}

static void test_landlock_file_refused(void **state)
{
	landlock_require(*state);
	in_child(landlock_file_child, *state);
}

/* The file list: that one file may be written (an OCI engine's /etc/hosts),
 * nothing else beside it may be made; a symlink there is refused. */
static int landlock_files_child(void *arg)
{
	struct ll_dirs *d = arg;
	struct isc_err e = { 0 };
	char f[PATH_MAX + 8], g[PATH_MAX + 8];
	snprintf(f, sizeof(f), "%s/data", d->b);
	snprintf(g, sizeof(g), "%s/link", d->root);
	const char *files[] = { f, NULL }, *links[] = { g, NULL };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return child_fail("no_new_privs");
	int r = confine_landlock(NULL, links, &e);
	if (r != -EINVAL || !strstr(e.msg, "is not a regular file"))
		return child_fail("a symlink as a writable file: got %d '%s'", r, e.msg);
	if (confine_landlock(NULL, files, &e) < 0)
		return child_fail("confine_landlock: %s", e.msg);
	int fd = open(f, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || write(fd, "x", 1) != 1)
		return child_fail("write the listed file: %s", strerror(errno));
	close(fd);
	if ((r = create_in(d->b, "new")) != EACCES)
		return child_fail("create beside the listed file: got %s, want EACCES", r ? strerror(r) : "success");
	return 0;
}

static void test_landlock_files(void **state)
{
	struct ll_dirs *d = *state;
	char l[PATH_MAX + 8], f[PATH_MAX + 8];
	landlock_require(d);
	snprintf(l, sizeof(l), "%s/link", d->root);
	snprintf(f, sizeof(f), "%s/data", d->b);
	assert_int_equal(symlink(f, l), 0);
	in_child(landlock_files_child, d);
}

/* ---- seccomp ----------------------------------------------------------------- */

/* What the child got from each call, sent to the parent in one piece. */
struct sc_result {
	int keyctl, umount, ioctl_deny, ioctl_high, unshare_user, ioctl_ok, clone3;
	int persona_norandom, persona_high, persona_query, persona_ok;
	int tiocsti, tiocsti_high, tioclinux, tiocgwinsz;
	int wx_mmap, wx_mprotect, wx_pkey, wx_rx, wx_ro;
	bool injected;          /* the slave had input after the TIOCSTI calls */
	pid_t getpid;
	char fail[256];
};

/* The calls a child makes under the filter; each denied one waits there
 * for the parent's answer. */
typedef void (*sc_calls_fn)(struct sc_result *res, void *arg);

/* The W^X rules in the filter (the kernels without MDWE), for the next sc_run. */
static bool sc_wx;

static void sc_child(int sock, sc_calls_fn calls, void *arg)
{
	struct sc_result res = { 0 };
	struct isc_err e = { 0 };
	int listener = -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(res.fail, sizeof(res.fail), "no_new_privs: %s", strerror(errno));
		goto out;
	}
	if (confine_seccomp(sc_wx, &listener, &e) < 0 || listener < 0) {
		snprintf(res.fail, sizeof(res.fail), "confine_seccomp: %s (listener %d)", e.msg, listener);
		goto out;
	}
	int r = fd_send(sock, "L", 1, &listener, 1);
	if (r < 0) {
		snprintf(res.fail, sizeof(res.fail), "fd_send: %s", strerror(-r));
		goto out;
	}
	close(listener);
	calls(&res, arg);
out:
	(void)!write(sock, &res, sizeof(res));
	char c;
	(void)!read(sock, &c, 1);   /* stay alive until the parent has looked */
}

/* Run calls(arg) in a child under the filter, answer the ndenied
 * notifications they must cause and check each names that child and the
 * system call in denied[] (in order), and that nothing else was reported;
 * the child's results in *res, its pid returned. */
static pid_t sc_run(sc_calls_fn calls, void *arg, const char *const *denied, size_t ndenied,
		   struct sc_result *res)
{
	int sv[2];
	assert_true(ndenied <= 8);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		child_start();
		sc_child(sv[1], calls, arg);
		_exit(0);
	}
	close(sv[1]);

	/* nothing asserted until the child is reaped */
	char what[8][128], problem[256] = "", how[64];
	int listener = -1, quiet = -1;
	size_t nfd = 1, answered = 0;
	memset(what, 0, sizeof(what));
	memset(res, 0, sizeof(*res));
	/* the listener, or the child's report of why there is none */
	struct pollfd pf[2] = { { .fd = sv[0], .events = POLLIN } };
	if (poll(pf, 1, 5000) != 1 || fd_recv(sv[0], res, sizeof(*res), &listener, &nfd) < 1 || nfd != 1) {
		if (!res->fail[0])
			snprintf(problem, sizeof(problem), "no listener from the child");
		goto out;
	}
	memset(res, 0, sizeof(*res));
	for (; answered < ndenied; answered++) {
		pf[0] = (struct pollfd){ .fd = listener, .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = sv[0], .events = POLLIN };
		if (poll(pf, 2, 5000) < 1 || !(pf[0].revents & POLLIN)) {
			/* done early: its results say why, or a call was not denied */
			bool done = (pf[1].revents & POLLIN) && read(sv[0], res, sizeof(*res)) == sizeof(*res);
			if (done && res->fail[0])
				goto out;
			snprintf(problem, sizeof(problem), "no notification for %s%s", denied[answered],
				 done ? ": the child finished without it (a call was let through)" : "");
			goto out;
		}
		int r = confine_notify_deny(listener, what[answered], sizeof(what[answered]));
		if (r < 0) {
			snprintf(problem, sizeof(problem), "confine_notify_deny: %s", strerror(-r));
			goto out;
		}
	}
	pf[0] = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	if (poll(pf, 1, 5000) != 1 || read(sv[0], res, sizeof(*res)) != sizeof(*res)) {
		snprintf(problem, sizeof(problem), "no results from the child");
		goto out;
	}
	/* the child is still alive and has made its allowed calls */
	pf[0] = (struct pollfd){ .fd = listener, .events = POLLIN };
	quiet = poll(pf, 1, 200);
out:
	if (problem[0] || res->fail[0])
		kill(pid, SIGKILL);
	close(sv[0]);   /* lets the child exit */
	child_reap(pid, how, sizeof(how));
	if (listener >= 0)
		close(listener);

	if (res->fail[0])
		fail_msg("child: %s", res->fail);
	if (problem[0])
		fail_msg("%s (answered %zu; child %s)", problem, answered, how[0] ? how : "exit 0");
	assert_string_equal(how, "");
	for (size_t i = 0; i < ndenied; i++) {
		char want[128];
		snprintf(want, sizeof(want), "%s by pid %d (test_confine)", denied[i], (int)pid);
		assert_string_equal(what[i], want);
	}
	assert_int_equal(quiet, 0);   /* the allowed calls were not reported */
	return pid;
}

static void notify_calls(struct sc_result *res, void *arg)
{
	(void)arg;
	int n = 0;
	res->keyctl = errno_of((int)syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	res->umount = errno_of(umount2("/nonexistent", 0));
	struct fscrypt_policy_v1 pol;
	int dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	res->ioctl_deny = errno_of(ioctl(dfd, FS_IOC_GET_ENCRYPTION_POLICY, &pol));
	/* the kernel reads the request as 32 bits: garbage above must not pass */
	res->ioctl_high = errno_of((int)syscall(SYS_ioctl, dfd,
				   0xdead00000000UL | (unsigned long)FS_IOC_GET_ENCRYPTION_POLICY, &pol));
	close(dfd);
	res->unshare_user = errno_of(unshare(CLONE_NEWUSER));
	/* address randomisation off; a value with bit 31 that is not the query */
	res->persona_norandom = errno_of((int)syscall(SYS_personality, 0x0040000UL));
	res->persona_high = errno_of((int)syscall(SYS_personality, 0xfffffffeUL));
	/* allowed, and quiet */
	res->persona_query = errno_of((int)syscall(SYS_personality, 0xffffffffUL) < 0 ? -1 : 0);
	res->persona_ok = errno_of((int)syscall(SYS_personality, 0x20008UL) < 0 ? -1 : 0);
	syscall(SYS_personality, 0UL);
	res->getpid = (pid_t)syscall(SYS_getpid);
	int p[2];
	if (pipe(p) == 0) {
		res->ioctl_ok = errno_of(ioctl(p[0], FIONREAD, &n));
		close(p[0]);
		close(p[1]);
	}
	/* flags a filter cannot read: ENOSYS, no notification */
	res->clone3 = errno_of((int)syscall(SYS_clone3, NULL, 0));
}

static void test_seccomp_notify(void **state)
{
	/* second run: compiled once in the parent, loaded as a program */
	if (state && *state) {
		struct isc_err e = { 0 };
		if (confine_seccomp_prepare(false, &e) < 0)
			fail_msg("confine_seccomp_prepare: %s", e.msg);
	}
	static const char *const denied[] = { "keyctl", "umount2", "ioctl", "ioctl", "unshare",
					      "personality", "personality" };
	struct sc_result res;
	pid_t pid = sc_run(notify_calls, NULL, denied, ARRAY_SIZE(denied), &res);
	assert_int_equal(res.keyctl, EPERM);
	assert_int_equal(res.umount, EPERM);
	assert_int_equal(res.ioctl_deny, EPERM);
	assert_int_equal(res.ioctl_high, EPERM);
	assert_int_equal(res.unshare_user, EPERM);
	assert_int_equal(res.persona_norandom, EPERM);
	assert_int_equal(res.persona_high, EPERM);
	assert_int_equal(res.persona_query, 0);
	assert_int_equal(res.persona_ok, 0);
	assert_int_equal(res.getpid, pid);
	assert_int_equal(res.ioctl_ok, 0);
	assert_int_equal(res.clone3, ENOSYS);
}

/* ---- seccomp: W^X where the kernel has no MDWE ------------------------------------ */

static int map_errno(void *p)
{
	return p == MAP_FAILED ? errno : 0;
}

static void wx_calls(struct sc_result *res, void *arg)
{
	(void)arg;
	long pg = sysconf(_SC_PAGESIZE);
	res->wx_mmap = map_errno(mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE | PROT_EXEC,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	void *rw = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rw == MAP_FAILED) {
		snprintf(res->fail, sizeof(res->fail), "mmap RW: %s", strerror(errno));
		return;
	}
	res->wx_mprotect = errno_of(mprotect(rw, (size_t)pg, PROT_READ | PROT_EXEC));
	res->wx_pkey = errno_of((int)syscall(SYS_pkey_mprotect, rw, (size_t)pg, PROT_READ | PROT_EXEC, -1));
	/* what W^X leaves: mapping code read-only-executable, taking write away */
	res->wx_rx = map_errno(mmap(NULL, (size_t)pg, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	res->wx_ro = errno_of(mprotect(rw, (size_t)pg, PROT_READ));
}

static void test_seccomp_wx(void **state)
{
	(void)state;
	static const char *const denied[] = { "mmap", "mprotect", "pkey_mprotect" };
	struct sc_result res;
	sc_wx = true;
	sc_run(wx_calls, NULL, denied, ARRAY_SIZE(denied), &res);
	sc_wx = false;
	assert_int_equal(res.wx_mmap, EPERM);
	assert_int_equal(res.wx_mprotect, EPERM);
	assert_int_equal(res.wx_pkey, EPERM);
	assert_int_equal(res.wx_rx, 0);
	assert_int_equal(res.wx_ro, 0);
	/* the control: without the rules the same calls pass (no MDWE is set here) */
	sc_run(wx_calls, NULL, NULL, 0, &res);
	assert_int_equal(res.wx_mmap, 0);
	assert_int_equal(res.wx_mprotect, 0);
	assert_int_equal(res.wx_rx, 0);
}

/* Without a filter the same calls reach the kernel: the EPERMs above are
 * the filter's, not the kernel's own answers. */
static int unfiltered_child(void *arg)
{
	(void)arg;
	int r = errno_of(umount2("/nonexistent", 0));
	if (r != ENOENT)
		return child_fail("umount2 unfiltered: got %s, want ENOENT", r ? strerror(r) : "success");
	r = errno_of((int)syscall(SYS_clone3, NULL, 0));
	if (r == ENOSYS)
		return child_skip("this kernel has no clone3 (Linux 5.3): its ENOSYS cannot be told from the filter's");
	if (r != EINVAL)
		return child_fail("clone3 unfiltered: got %s, want EINVAL", r ? strerror(r) : "success");
	return 0;
}

static void test_seccomp_baseline(void **state)
{
	(void)state;
	/* without CAP_SYS_ADMIN the kernel itself answers umount2 with EPERM */
	caps_require(CAPBIT(CAP_SYS_ADMIN), "an unfiltered umount2 that the kernel does not refuse");
	in_child(unfiltered_child, NULL);
}

/* ---- seccomp: terminal injection ----------------------------------------------- */

/* A pty of our own, master and slave: the premise of the terminal tests. */
struct pty {
	int master, slave;
};

static void pty_open(struct pty *t)
{
	t->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t->master < 0)
		skip_why("no pty to try terminal ioctls on: posix_openpt: %s", strerror(errno));
	const char *name = grantpt(t->master) == 0 && unlockpt(t->master) == 0 ? ptsname(t->master) : NULL;
	t->slave = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
	if (t->slave < 0) {
		int err = errno;
		close(t->master);
		skip_why("no pty to try terminal ioctls on: open its slave: %s", strerror(err));
	}
}

static void pty_close(struct pty *t)
{
	close(t->slave);
	close(t->master);
}

/* Whether the slave has input: a line pushed with TIOCSTI. */
static bool pty_has_input(int slave)
{
	struct pollfd pf = { .fd = slave, .events = POLLIN };
	return poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN);
}

/* In a child: the slave becomes our controlling terminal, as a login
 * shell's is; the kernel lets TIOCSTI through there (with
 * dev.tty.legacy_tiocsti=1), so only the filter stands in the way. */
static int pty_take(int slave)
{
	return setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 ? -1 : 0;
}

static void tty_calls(struct sc_result *res, void *arg)
{
	int slave = *(int *)arg;
	char nl = '\n', sel = TIOCL_PASTESEL;
	struct winsize ws;
	if (pty_take(slave) < 0) {
		snprintf(res->fail, sizeof(res->fail), "make the pty our terminal: %s", strerror(errno));
		return;
	}
	res->tiocsti = errno_of(ioctl(slave, TIOCSTI, &nl));
	/* the kernel reads the request as 32 bits: garbage above must not pass */
	res->tiocsti_high = errno_of((int)syscall(SYS_ioctl, slave, 0xdead00000000UL | (unsigned long)TIOCSTI, &nl));
	res->tioclinux = errno_of(ioctl(slave, TIOCLINUX, &sel));
	/* allowed, and quiet */
	res->tiocgwinsz = errno_of(ioctl(slave, TIOCGWINSZ, &ws));
	res->injected = pty_has_input(slave);
}

static void test_seccomp_tty(void **state)
{
	(void)state;
	struct pty t;
	pty_open(&t);
	static const char *const denied[] = { "ioctl", "ioctl", "ioctl" };
	struct sc_result res;
	sc_run(tty_calls, &t.slave, denied, ARRAY_SIZE(denied), &res);
	bool injected = pty_has_input(t.slave);
	pty_close(&t);
	assert_int_equal(res.tiocsti, EPERM);
	assert_int_equal(res.tiocsti_high, EPERM);
	assert_int_equal(res.tioclinux, EPERM);
	assert_int_equal(res.tiocgwinsz, 0);
	assert_false(res.injected);   /* nothing typed into the terminal */
	assert_false(injected);
}

/* Without the filter TIOCSTI does type into the terminal: the test above
 * sees the filter's refusal, not the kernel's (or a pty that takes no input). */
static int tty_unfiltered_child(void *arg)
{
	int slave = *(int *)arg;
	char nl = '\n', sel = TIOCL_PASTESEL;
	if (pty_take(slave) < 0)
		return child_fail("make the pty our terminal: %s", strerror(errno));
	int r = errno_of(ioctl(slave, TIOCSTI, &nl));
	if (r == EIO)
		return child_skip("TIOCSTI is refused by this kernel itself (dev.tty.legacy_tiocsti=0, no CAP_SYS_ADMIN)");
	if (r != 0)
		return child_fail("TIOCSTI unfiltered on our own terminal: %s", strerror(r));
	if (!pty_has_input(slave))
		return child_fail("TIOCSTI unfiltered succeeded, but the terminal has no input");
	/* a pty is no VT: the kernel's answer, never EPERM */
	r = errno_of(ioctl(slave, TIOCLINUX, &sel));
	if (r == EPERM || r == 0)
		return child_fail("TIOCLINUX unfiltered on a pty: got %s, want the kernel's refusal",
				  r ? strerror(r) : "success");
	return 0;
}

static void test_seccomp_tty_baseline(void **state)
{
	(void)state;
	struct pty t;
	pty_open(&t);
	in_child(tty_unfiltered_child, &t.slave);
	pty_close(&t);
}

/* ---- seccomp: the other x86 system call entries -------------------------------- */

#if defined(__x86_64__)
/* The filter is for x86-64 calls; the i386 (int 0x80) and x32 entries
 * number system calls differently and must not be a way around it. */
static long int80(long nr, long a, long b, long c)
{
	long r;
	/* the 32-bit entry saves r8-r11 as zero on some kernels */
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory", "r8", "r9", "r10",
			 "r11");
	return r;
}

static int other_abi_child(void *arg)
{
	bool x32 = *(bool *)arg;
	struct isc_err e = { 0 };
	int listener;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || confine_seccomp(false, &listener, &e) < 0)
		return child_fail("confine_seccomp: %s", e.msg);
	close(listener);
	long r;
	if (x32) {
		r = syscall(0x40000000L | SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
		r = r < 0 ? -errno : r;
	} else {
		r = int80(288 /* keyctl on i386 */, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
	}
	return child_fail("%s keyctl returned %ld", x32 ? "x32" : "i386", r);
}

static void other_abi_killed(bool x32)
{
	char msg[512];
	int st = child_run(other_abi_child, &x32, msg, sizeof(msg));
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("%s call under the filter: %s (status %#x), want death by SIGSYS", x32 ? "x32" : "i386",
			 msg[0] ? msg : "no report", st);
}

/* Without a filter: an i386 getpid through int 0x80 returns our pid.  A
 * kernel without 32-bit entry (ia32_emulation=0, no IA32_EMULATION) has
 * no gate there: the CPU faults (SIGSEGV) before any filter runs. */
static int int80_child(void *arg)
{
	(void)arg;
	long r = int80(20 /* getpid on i386 */, 0, 0, 0);
	if (r != getpid())
		return child_fail("i386 getpid unfiltered returned %ld, want %d", r, (int)getpid());
	return 0;
}

static void test_seccomp_i386(void **state)
{
	(void)state;
	char msg[512];
	int st = child_run(int80_child, NULL, msg, sizeof(msg));
	if (WIFSIGNALED(st))
		skip_why("32-bit syscall entry disabled on this kernel: int $0x80 faults before any filter "
			 "(an unfiltered getpid died of signal %d)", WTERMSIG(st));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || msg[0])
		fail_msg("child: %s (status %#x)", msg[0] ? msg : "no report", st);
	other_abi_killed(false);
}

/* The x32 bit is seen by the filter before the kernel looks for an x32
 * table: SIGSYS whether or not this kernel has CONFIG_X86_X32_ABI. */
static void test_seccomp_x32(void **state)
{
	(void)state;
	other_abi_killed(true);
}
#endif

/* ---- confine_apply: MDWE, capabilities, rlimits ------------------------------- */

static int mdwe_child(void *arg)
{
	bool mdwe = *(bool *)arg;
	struct confine c = { .caps = confine_default_caps(), .mdwe = mdwe };
	struct isc_err e = { 0 };
	int listener = 42;
	if (confine_apply(&c, &listener, &e) < 0)
		return child_fail("confine_apply: %s", e.msg);
	if (listener != -1)
		return child_fail("listener %d without seccomp", listener);
	int got = prctl(PR_GET_MDWE, 0, 0, 0, 0);
	if (got != (mdwe ? PR_MDWE_REFUSE_EXEC_GAIN : 0))
		return child_fail("PR_GET_MDWE: %d", got);

	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return child_fail("mmap rw: %s", strerror(errno));
	int r = errno_of(mprotect(p, 4096, PROT_READ | PROT_EXEC));
	if (r != (mdwe ? EACCES : 0))
		return child_fail("mprotect rw -> rx: got %s", r ? strerror(r) : "success");
	void *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r = q == MAP_FAILED ? errno : 0;
	if (mdwe && r == 0)
		return child_fail("mmap rwx succeeded under MDWE");
	if (!mdwe && r != 0)
		return child_fail("mmap rwx without MDWE: %s", strerror(r));
	return 0;
}

/* PR_SET_MDWE exists since Linux 6.3; confine_apply needs root's
 * capabilities to apply the default set. */
static void mdwe_require(void)
{
	if (prctl(PR_GET_MDWE, 0, 0, 0, 0) < 0)
		skip_why("this kernel has no memory-deny-write-execute (PR_GET_MDWE: %s; Linux 6.3)", strerror(errno));
	caps_require(confine_default_caps() | CAPBIT(CAP_SETPCAP), "confine_apply with the default set");
}

static void test_apply_mdwe(void **state)
{
	(void)state;
	mdwe_require();
	bool on = true;
	in_child(mdwe_child, &on);
}

/* Without MDWE a mapping can be made executable: unless this process
 * inherited MDWE already (it cannot be undone), or a security module
 * refuses executable anonymous memory. */
static void test_apply_no_mdwe(void **state)
{
	(void)state;
	mdwe_require();
	int got = prctl(PR_GET_MDWE, 0, 0, 0, 0);
	if (got != 0)
		skip_why("this test process runs under MDWE already (PR_GET_MDWE %d, inherited)", got);
	void *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q == MAP_FAILED)
		skip_why("this host refuses writable executable memory to the test itself: %s", strerror(errno));
	munmap(q, 4096);
	bool off = false;
	in_child(mdwe_child, &off);
}

/* MDWE is set right before exec: the program exec'd must still have it.
 * The child runs this test program again as the probe (see main). */
static int mdwe_exec_child(void *arg)
{
	(void)arg;
	struct confine c = { .caps = confine_default_caps(), .mdwe = true };
	struct isc_err e = { 0 };
	int listener;
	if (confine_apply(&c, &listener, &e) < 0)
		return child_fail("confine_apply: %s", e.msg);
	char *argv[] = { "test_confine", "--mdwe-probe", NULL };
	execv("/proc/self/exe", argv);
	return child_fail("exec: %s", strerror(errno));
}

/* After exec, under MDWE: 0 if W^X holds, else what did not. */
static int mdwe_probe(void)
{
	if (prctl(PR_GET_MDWE, 0, 0, 0, 0) != PR_MDWE_REFUSE_EXEC_GAIN)
		return 2;
	void *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return q == MAP_FAILED && errno == EACCES ? 0 : 3;
}

static void test_apply_mdwe_exec(void **state)
{
	(void)state;
	mdwe_require();
	in_child(mdwe_exec_child, NULL);
}

/* The set kept (limitpriv default,-kill,+net_raw) is what the process is left with. */
static uint64_t caps_kept(void)
{
	return (confine_default_caps() & ~CAPBIT(CAP_KILL)) | CAPBIT(CAP_NET_RAW);
}

static int caps_child(void *arg)
{
	(void)arg;
	struct confine c = { .caps = caps_kept() };
	struct isc_err e = { 0 };
	int listener;
	if (confine_apply(&c, &listener, &e) < 0)
		return child_fail("confine_apply: %s", e.msg);
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return child_fail("capget: %s", strerror(errno));
	uint64_t eff = d[0].effective | (uint64_t)d[1].effective << 32;
	uint64_t prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	if (eff != c.caps || prm != c.caps)
		return child_fail("capabilities: effective %#llx permitted %#llx, want %#llx",
				  (unsigned long long)eff, (unsigned long long)prm, (unsigned long long)c.caps);
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0 || prctl(PR_CAPBSET_READ, CAP_KILL, 0, 0, 0) != 0 ||
	    prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0) != 1)
		return child_fail("bounding set not as limitpriv says");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return child_fail("no_new_privs not set");
	struct rlimit rl;
	if (getrlimit(RLIMIT_CORE, &rl) < 0 || rl.rlim_max != 0)
		return child_fail("RLIMIT_CORE max %llu", (unsigned long long)rl.rlim_max);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max > 65536)
		return child_fail("RLIMIT_NOFILE max %llu", (unsigned long long)rl.rlim_max);
	return 0;
}

static void test_apply_caps(void **state)
{
	(void)state;
	caps_require(caps_kept() | CAPBIT(CAP_SETPCAP), "applying default,-kill,+net_raw");
	in_child(caps_child, NULL);
}

static char *cache_dir;

static off_t file_read(const char *path, char *buf, size_t n)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t k = read(fd, buf, n);
	assert_true(k > 0 && (size_t)k < n);
	return k;
}

/* The one .bpf file of the cache for wx (its name ends -0.bpf or -1.bpf). */
static void cache_file(bool wx, char *path, size_t n)
{
	DIR *d = opendir(cache_dir);
	assert_non_null(d);
	struct dirent *de;
	int found = 0;
	char tail[8];
	snprintf(tail, sizeof(tail), "-%d.bpf", wx);
	while ((de = readdir(d)))
		if (strlen(de->d_name) > strlen(tail) &&
		    STREQ(de->d_name + strlen(de->d_name) - strlen(tail), tail)) {
			snprintf(path, n, "%s/%s", cache_dir, de->d_name);
			found++;
		}
	closedir(d);
	assert_int_equal(found, 1);
}

/* The compiled filter is kept for the next supervisor; a torn or foreign
 * copy is compiled again, never loaded (seccomp.c). */
static void test_seccomp_cache(void **state)
{
	(void)state;
	struct isc_err e = { 0 };
	char path[PATH_MAX], good[65536], now[65536];
	assert_int_equal(confine_seccomp_prepare(true, &e), 0);
	assert_int_equal(confine_seccomp_prepare(false, &e), 0);
	cache_file(false, path, sizeof(path));
	off_t n = file_read(path, good, sizeof(good));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a byte of the program flipped: the trailer no longer matches */
	char flipped[65536];
	memcpy(flipped, good, (size_t)n);
	flipped[n / 2] ^= 0x40;
	assert_int_equal(write_file_atomic(AT_FDCWD, path, flipped, (size_t)n, 0600), 0);
	assert_int_equal(confine_seccomp_prepare(true, &e), 0);   /* from the cache */
	assert_int_equal(confine_seccomp_prepare(false, &e), 0);  /* compiled again */
	assert_int_equal(file_read(path, now, sizeof(now)), n);
	assert_memory_equal(now, good, (size_t)n);
	/* readable by others: not trusted, compiled again and kept 0600 */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(confine_seccomp_prepare(true, &e), 0);
	assert_int_equal(confine_seccomp_prepare(false, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* cut short: refused as well */
	assert_int_equal(truncate(path, n - 3), 0);
	assert_int_equal(confine_seccomp_prepare(true, &e), 0);
	assert_int_equal(confine_seccomp_prepare(false, &e), 0);
	assert_int_equal(file_read(path, now, sizeof(now)), n);
	assert_memory_equal(now, good, (size_t)n);
}

int main(int argc, char **argv)
{
	if (argc == 2 && STREQ(argv[1], "--mdwe-probe"))
		return mdwe_probe();
	cache_dir = tmpdir_make_named("isc-seccomp-cache");
	confine_seccomp_cache_dir(cache_dir);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seccomp_cache),
		cmocka_unit_test(test_default_caps),
		cmocka_unit_test_setup_teardown(test_landlock_writable, ll_setup, ll_teardown),
		cmocka_unit_test_setup_teardown(test_landlock_nothing_writable, ll_setup, ll_teardown),
		cmocka_unit_test_setup_teardown(test_landlock_symlink, ll_setup, ll_teardown),
		cmocka_unit_test_setup_teardown(test_landlock_file_refused, ll_setup, ll_teardown),
		cmocka_unit_test_setup_teardown(test_landlock_files, ll_setup, ll_teardown),
		cmocka_unit_test(test_seccomp_notify),
		{ "test_seccomp_notify (compiled once, loaded as a program)", test_seccomp_notify, NULL, NULL,
		  (void *)"prepared" },
		cmocka_unit_test(test_seccomp_baseline),
		cmocka_unit_test(test_seccomp_wx),
		cmocka_unit_test(test_seccomp_tty),
		cmocka_unit_test(test_seccomp_tty_baseline),
#if defined(__x86_64__)
		cmocka_unit_test(test_seccomp_i386),
		cmocka_unit_test(test_seccomp_x32),
#endif
		cmocka_unit_test(test_apply_mdwe),
		cmocka_unit_test(test_apply_no_mdwe),
		cmocka_unit_test(test_apply_mdwe_exec),
		cmocka_unit_test(test_apply_caps),
	};
	int r = cmocka_run_group_tests_name("confine", tests, NULL, NULL);
	tmpdir_remove(cache_dir);
	return r;
}
