/* isc-init.c - PID 1 inside an ISC: starts the image's services, restarts them, reaps every child, answers isc-svc, halts on SIGTERM. */
#include "services.h"

#include <linux/capability.h>
#include <sys/syscall.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <termios.h>
#include <time.h>

#define CLIENTS_MAX 16
#define CLIENT_TIMEOUT_MS 10000
#define PASSWD_MAX (4 << 20)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* epoll tags: kind in the high half, an index in the low half. */
enum tag { TAG_SIGNAL = 1, TAG_TIMER, TAG_LISTEN, TAG_CLIENT, TAG_READY };
#define TAG(kind, idx) (((uint64_t)(kind) << 32) | (uint32_t)(idx))

struct client {
	int fd;                  /* -1: free slot */
	uid_t uid;
	char in[PROTO_LINE_MAX];
	size_t in_len;
	char *out;
	size_t out_len, out_pos;
	int64_t deadline_ms;
	struct svc *wait;        /* a change in progress: reply when it settles */
	enum proto_op wait_op;
};

struct init {
	int status;              /* the supervisor's status pipe, or -1 */
	struct svc_set set;
	struct svc_env env;
	int epfd, sigfd, timerfd, listenfd, rundirfd;
	int console;             /* non-blocking copy of fd 1 for our own lines */
	bool run_mode, halting;
	struct svc *run_svc;
	const char *isc_name;
	char *info;                     /* properties from the supervisor (ISC_INFO) */
	char *state_text;        /* last content of /run/isc/services */
	size_t state_len;
	struct client clients[CLIENTS_MAX];
};

/* What the child reports on the exec-status pipe when a step fails. */
struct spawn_failure {
	int step;
	int err;
};
enum { STEP_SETSID, STEP_STDIN, STEP_GROUPS, STEP_GID, STEP_UID, STEP_CHDIR, STEP_CAPS, STEP_EXEC };
static const char *const step_names[] = {
	[STEP_SETSID] = "create a session", [STEP_STDIN] = "open /dev/null",
	[STEP_GROUPS] = "set groups", [STEP_GID] = "set gid", [STEP_UID] = "set uid",
	[STEP_CHDIR] = "change directory to", [STEP_CAPS] = "limit capabilities",
	[STEP_EXEC] = "exec",
};

static int caps_get(struct __user_cap_header_struct *h, struct __user_cap_data_struct d[2])
{
	*h = (struct __user_cap_header_struct){ .version = _LINUX_CAPABILITY_VERSION_3 };
	return syscall(SYS_capget, h, d) < 0 ? -errno : 0;
}

/* Drop from the bounding set every capability not in keep or not held now:
 * exec as root refills permitted from the bounding set, so a service must
 * never find there what isc-init itself lacks (caps= only takes away). */
static int caps_bound(uint64_t keep)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[2];
	int r = caps_get(&h, d);
	if (r < 0)
		return r;
	keep &= (uint64_t)d[1].permitted << 32 | d[0].permitted;
	for (unsigned cap = 0; cap < 64; cap++)   /* EINVAL: past the kernel's last */
		if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	return 0;
}

/* Permitted, effective and inheritable: what we hold, within keep. */
static int caps_keep(uint64_t keep)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[2];
	int r = caps_get(&h, d);
	if (r < 0)
		return r;
	for (int i = 0; i < 2; i++) {
		uint32_t k = (uint32_t)(keep >> (32 * i));
		d[i].permitted &= k;
		d[i].effective &= k;
		d[i].inheritable &= k;
	}
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;   /* never 0: 0 means "no deadline" */
}

/* ---- console --------------------------------------------------------------- */

/* Our own lines never block PID 1: a console nobody drains loses lines
 * instead of freezing every service's supervision. */
static void console_line(int fd, const char *line)
{
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "isc-init: %s\n", line);
	if (n > (int)sizeof(buf) - 1) {
		n = (int)sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	(void)!write(fd, buf, (size_t)n);
}

static void say(struct init *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct init *in, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	if (in->run_mode)   /* one-shot: stdout belongs to the command */
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	console_line(in->console, line);
}

/* Errors: the console in boot mode, stderr in run mode. */
static void complain(struct init *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void complain(struct init *in, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	console_line(in->run_mode ? 2 : in->console, line);
}

static void ops_say(void *ctx, const char *line)
{
	say(ctx, "%s", line);
}

static int console_open(void)
{
	struct stat st;
	int fd = -1;
	/* Reopening the pty (or a pipe) gives a file description of our own, so
	 * O_NONBLOCK here does not leak to the services that share fd 1.  A
	 * regular file would get a second offset instead: share the first. */
	if (fstat(1, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
		fd = open("/proc/self/fd/1", O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? 1 : fd;
}

/* ---- starting a service ---------------------------------------------------- */

static __attribute__((noreturn)) void child_fail(int errfd, int step)
{
	struct spawn_failure f = { .step = step, .err = errno };
	(void)!write(errfd, &f, sizeof(f));
	_exit(f.err == ENOENT && step == STEP_EXEC ? 127 : 126);
}

/* One-shot commands keep isc-init's terminal: make the command the
 * terminal's foreground job so ^C and job control reach it. */
static void child_session_tty(void)
{
	if (isatty(0) && tcgetsid(0) == getsid(0)) {
		setpgid(0, 0);
		tcsetpgrp(0, getpid());   /* SIGTTOU is still blocked here */
		return;
	}
	setsid();
	if (isatty(0))
		ioctl(0, TIOCSCTTY, 0);   /* best effort: the tty may belong to another session */
}

static void child_signals_reset(void)
{
	sigset_t none;
	/* Ignored dispositions survive exec; the service gets the defaults. */
	for (int sig = 1; sig < _NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static bool groups_same(const struct svc_cred *c)
{
	gid_t cur[SVC_GROUPS_MAX];
	int n = getgroups(SVC_GROUPS_MAX, cur);
	if (n < 0 || (size_t)n != c->ngroups)
		return false;
	for (int i = 0; i < n; i++)
		if (cur[i] != c->groups[i])
			return false;
	return true;
}

static __attribute__((noreturn)) void child_exec(struct init *in, struct svc *s,
						 const struct svc_cred *c, char **envp, int errfd)
{
	if (in->run_mode) {
		child_session_tty();
	} else if (setsid() < 0) {
		child_fail(errfd, STEP_SETSID);
	}
	if (!in->run_mode) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0)
			child_fail(errfd, STEP_STDIN);
		if (null > 0)
			close(null);
	}
	/* setgroups can be denied in a user namespace (setgroups=deny); then
	 * only a service that already has the right groups may start. */
	if (!groups_same(c) && setgroups(c->ngroups, c->groups) < 0)
		child_fail(errfd, STEP_GROUPS);
	if (setgid(c->gid) < 0)
		child_fail(errfd, STEP_GID);
	/* caps=: the bounding set first, while we still hold CAP_SETPCAP; it
	 * limits what the service (or anything it runs) can ever hold */
	if (s->conf.caps_set && caps_bound(s->conf.caps) < 0)
		child_fail(errfd, STEP_CAPS);
	if (setuid(c->uid) < 0)
		child_fail(errfd, STEP_UID);
	/* A root service keeps only caps.  A non-root one lost them all at
	 * setuid (no PR_SET_KEEPCAPS: with ambient empty, exec would drop them
	 * anyway); the bounding set still limits setuid and file-cap programs. */
	if (s->conf.caps_set && c->uid == 0 && caps_keep(s->conf.caps) < 0)
		child_fail(errfd, STEP_CAPS);
	/* chdir after dropping privileges: the service's user must be able to enter it. */
	if (chdir(s->conf.dir) < 0)
		child_fail(errfd, STEP_CHDIR);
	child_signals_reset();
	/* Nothing but 0, 1, 2 crosses exec.  errfd is O_CLOEXEC, so it stays
	 * open to report a failed exec and is gone once exec succeeds. */
	if (errfd > 3)
		close_range(3, (unsigned)errfd - 1, 0);
	close_range((unsigned)errfd + 1, ~0U, 0);
	if (in->run_mode) {
		execvpe(s->conf.argv[0], s->conf.argv, envp);   /* searches our PATH, envp's */
	} else {
		execve(s->conf.argv[0], s->conf.argv, envp);
	}
	child_fail(errfd, STEP_EXEC);
}

static int cred_for(struct init *in, struct svc *s, struct svc_cred *c)
{
	_cleanup_free_ char *passwd = NULL, *group = NULL;
	struct isc_err e = { 0 };
	int r = read_file_at(AT_FDCWD, "/etc/passwd", &passwd, NULL, PASSWD_MAX);
	if (r < 0 && r != -ENOENT)
		complain(in, "%s: cannot read /etc/passwd: %s", s->name, strerror(-r));
	r = read_file_at(AT_FDCWD, "/etc/group", &group, NULL, PASSWD_MAX);
	if (r < 0 && r != -ENOENT)
		complain(in, "%s: cannot read /etc/group: %s", s->name, strerror(-r));
	r = svc_user_resolve(s->conf.user, passwd, group, c, &e);
	if (r < 0)
		complain(in, "%s: cannot start: %s", s->name, e.msg);
	return r;
}

static int ops_spawn(void *ctx, struct svc *s)
{
	struct init *in = ctx;
	struct svc_cred c;
	char path[4096], home[300], user[80], name[128];
	const char *p = getenv("PATH");
	int pfd[2], r;

	if ((r = cred_for(in, s, &c)) < 0)
		return r;
	snprintf(path, sizeof(path), "PATH=%s", p && *p ? p : DEFAULT_PATH);
	snprintf(home, sizeof(home), "HOME=%s", c.home);
	snprintf(user, sizeof(user), "USER=%s", c.name);
	snprintf(name, sizeof(name), "ISC_NAME=%s", in->isc_name ? in->isc_name : "");
	char *envp[] = { path, home, user, (char *)"container=isc", in->isc_name ? name : NULL, NULL };

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r = -errno;
		complain(in, "%s: cannot start: pipe: %s", s->name, strerror(errno));
		return r;
	}
	/* vfork: a fork costs about a millisecond where the hypervisor
	 * shadows page tables, and a boot waits for its first services.  The
	 * child shares our memory until its exec: it only makes system calls
	 * on its own stack (its descriptors, signals and credentials are its
	 * own), and we are non-dumpable, so nothing in the ISC can reach it
	 * through /proc or ptrace meanwhile. */
	pid_t pid = vfork();
	if (pid == 0) {
		close(pfd[0]);
		child_exec(in, s, &c, envp, pfd[1]);
	}
	r = -errno;
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		complain(in, "%s: cannot start: fork: %s", s->name, strerror(-r));
		return r;
	}
	s->pid = pid;
	s->ready_fd = pfd[0];
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG(TAG_READY, s - in->set.v) };
	if (epoll_ctl(in->epfd, EPOLL_CTL_ADD, pfd[0], &ev) < 0)
		complain(in, "%s: epoll: %s", s->name, strerror(errno));   /* reaping still settles it */
	return 0;
}

/* A process group gets the signal, so a service's own children stop too;
 * SIGCONT because a stopped process would never act on SIGTERM. */
static void ops_kill(void *ctx, struct svc *s, int sig)
{
	(void)ctx;
	if (s->pid <= 0)
		return;
	if (kill(-s->pid, sig) < 0)
		kill(s->pid, sig);   /* it left its process group */
	if (sig == SIGTERM && kill(-s->pid, SIGCONT) < 0)
		kill(s->pid, SIGCONT);
}

/* The supervisor's status pipe (fd 3, ISC_STATUS_FD=3): "maintenance NAME"
 * when a service is in a crash loop, for its on-crash policy.  Never
 * blocks PID 1: a full pipe drops the line. */
static void ops_event(void *ctx, const struct svc *s, const char *what)
{
	struct init *in = ctx;
	if (in->status < 0)
		return;
	char line[128];
	int k = snprintf(line, sizeof(line), "%s %s\n", what, s->name);
	if (k > 0 && (size_t)k < sizeof(line) && write(in->status, line, (size_t)k) < 0 && errno == EPIPE) {
		close(in->status);
		in->status = -1;
	}
}

static void status_open(struct init *in)
{
	struct stat st;
	const char *v = getenv("ISC_STATUS_FD");
	in->status = -1;
	if (!v || !STREQ(v, "3") || fstat(3, &st) < 0 || !S_ISFIFO(st.st_mode))
		return;
	/* ours alone: no service inherits it */
	if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0 || fcntl(3, F_SETFL, O_NONBLOCK) < 0)
		return;
	in->status = 3;
	unsetenv("ISC_STATUS_FD");
}

static const struct svc_ops init_ops = { .spawn = ops_spawn, .kill = ops_kill, .say = ops_say,
					 .event = ops_event };

/* ---- exec status and reaping --------------------------------------------- */

static void ready_close(struct init *in, struct svc *s)
{
	epoll_ctl(in->epfd, EPOLL_CTL_DEL, s->ready_fd, NULL);
	close(s->ready_fd);
	s->ready_fd = -1;
}

/* EOF on the exec-status pipe means exec succeeded; a record means a step failed. */
static void ready_check(struct init *in, struct svc *s)
{
	struct spawn_failure f;
	ssize_t n;
	do
		n = read(s->ready_fd, &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n == (ssize_t)sizeof(f) && f.step >= 0 && f.step <= STEP_EXEC) {
		const char *obj = f.step == STEP_EXEC ? s->conf.argv[0]
				: f.step == STEP_CHDIR ? s->conf.dir : NULL;
		if (in->run_mode)
			complain(in, "cannot %s%s%s: %s", step_names[f.step], obj ? " " : "",
				 obj ? obj : "", strerror(f.err));
		else
			complain(in, "%s: cannot %s%s%s: %s", s->name, step_names[f.step],
				 obj ? " " : "", obj ? obj : "", strerror(f.err));
	}
	ready_close(in, s);
	if (n == 0 && s->state == SVC_STARTING)
		svc_dispatch(&in->env, s, SVC_EV_READY);
}

static struct svc *svc_by_pid(struct init *in, pid_t pid)
{
	for (size_t i = 0; i < in->set.n; i++)
		if (in->set.v[i].pid == pid && svc_has_process(&in->set.v[i]))
			return &in->set.v[i];
	return NULL;
}

static void reap(struct init *in)
{
	int st;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct svc *s = svc_by_pid(in, pid);
		if (!s)
			continue;   /* an orphan re-parented to us: reaping is all it needs */
		if (s->ready_fd >= 0)
			ready_check(in, s);
		if (in->run_mode && s == in->run_svc)
			exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		s->wstatus = st;
		svc_dispatch(&in->env, s, WIFEXITED(st) && WEXITSTATUS(st) == 0 ? SVC_EV_EXIT_OK
										 : SVC_EV_EXIT_FAIL);
	}
}

/* ---- control socket --------------------------------------------------------- */

static void client_close(struct init *in, struct client *c)
{
	char sink[512];
	/* Closing with unread input resets the connection, which can destroy
	 * the error reply before the client reads it: drain what is there. */
	for (int i = 0; i < 16 && recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	epoll_ctl(in->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Write what the socket takes now; the rest waits for EPOLLOUT. */
static void client_flush(struct init *in, struct client *c)
{
	while (c->out_pos < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct epoll_event ev = { .events = EPOLLOUT,
						  .data.u64 = TAG(TAG_CLIENT, c - in->clients) };
			epoll_ctl(in->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			return;
		}
		if (n <= 0)
			break;
		c->out_pos += (size_t)n;
	}
	client_close(in, c);   /* one request per connection */
}

static void client_reply(struct init *in, struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void client_reply(struct init *in, struct client *c, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		client_close(in, c);
		return;
	}
	free(c->out);
	c->out = msg;
	c->out_len = (size_t)n;
	c->out_pos = 0;
	c->wait = NULL;
	client_flush(in, c);
}

static void client_list(struct init *in, struct client *c)
{
	_cleanup_free_ char *body = NULL;
	size_t len;
	if (svc_set_format(&in->set, &body, &len) < 0) {
		client_reply(in, c, "error out of memory\n");
		return;
	}
	client_reply(in, c, "ok %zu\n%s", in->set.n, body);
}

static void client_request(struct init *in, struct client *c, const char *line, size_t len)
{
	static const enum svc_event events[] = {
		[PROTO_ENABLE] = SVC_EV_ENABLE, [PROTO_DISABLE] = SVC_EV_DISABLE,
		[PROTO_RESTART] = SVC_EV_RESTART,
	};
	struct proto_request rq;
	if (proto_request_parse(line, len, &rq) < 0) {
		client_reply(in, c, "error malformed request\n");
		return;
	}
	if (rq.op == PROTO_LIST) {
		client_list(in, c);
		return;
	}
	if (rq.op == PROTO_INFO) {
		_cleanup_free_ char *body = NULL;
		size_t lines;
		if (proto_info_format(in->info, &body, &lines) < 0)
			client_reply(in, c, "error out of memory\n");
		else
			client_reply(in, c, "ok %zu\n%s", lines, body);
		return;
	}
	/* The socket is 0600 already; the check keeps a mode slip from
	 * handing service control to an unprivileged user. */
	if (c->uid != 0) {
		client_reply(in, c, "error permission denied\n");
		return;
	}
	if (in->halting) {
		client_reply(in, c, "error isc-init is halting\n");
		return;
	}
	struct svc *s = svc_set_find(&in->set, rq.name);
	if (!s) {
		client_reply(in, c, "error no service named %s\n", rq.name);
		return;
	}
	if (s->error && rq.op != PROTO_DISABLE) {
		client_reply(in, c, "error %s has a configuration error (see the console)\n",
			     s->name);
		return;
	}
	svc_dispatch(&in->env, s, events[rq.op]);
	c->wait = s;   /* answered by clients_settle() once s leaves STARTING/STOPPING */
	c->wait_op = rq.op;
	c->deadline_ms = 0;
	struct epoll_event ev = { .events = 0, .data.u64 = TAG(TAG_CLIENT, c - in->clients) };
	epoll_ctl(in->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void client_read(struct init *in, struct client *c)
{
	ssize_t n;
	do
		n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		client_close(in, c);
		return;
	}
	c->in_len += (size_t)n;
	char *nl = memchr(c->in, '\n', c->in_len);
	if (nl && (size_t)(nl - c->in) + 1 == c->in_len) {
		client_request(in, c, c->in, (size_t)(nl - c->in));
		return;
	}
	if (nl || c->in_len == sizeof(c->in))   /* junk after the line, or no line in bound */
		client_reply(in, c, "error malformed request\n");
}

static void client_event(struct init *in, uint32_t idx, uint32_t events)
{
	if (idx >= CLIENTS_MAX || in->clients[idx].fd < 0)
		return;
	struct client *c = &in->clients[idx];
	if (c->out)
		client_flush(in, c);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_read(in, c);
}

static void client_accept(struct init *in)
{
	for (;;) {
		int fd = accept4(in->listenfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct client *c = NULL;
		for (size_t i = 0; i < CLIENTS_MAX && !c; i++)
			if (in->clients[i].fd < 0)
				c = &in->clients[i];
		struct ucred cred;
		socklen_t sl = sizeof(cred);
		if (!c || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0) {
			close(fd);   /* busy: the client sees EOF and says so */
			continue;
		}
		c->fd = fd;
		c->uid = cred.uid;
		c->deadline_ms = in->env.now_ms + CLIENT_TIMEOUT_MS;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
					  .data.u64 = TAG(TAG_CLIENT, c - in->clients) };
		if (epoll_ctl(in->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			client_close(in, c);
	}
}

/* Answer the clients whose change has settled. */
static void clients_settle(struct init *in)
{
	for (size_t i = 0; i < CLIENTS_MAX; i++) {
		struct client *c = &in->clients[i];
		if (c->fd < 0 || !c->wait)
			continue;
		struct svc *s = c->wait;
		if (s->state == SVC_STARTING || s->state == SVC_STOPPING)
			continue;
		bool ok = c->wait_op == PROTO_DISABLE ? s->state == SVC_DISABLED
			: s->state != SVC_BACKOFF && s->state != SVC_MAINTENANCE &&
			  s->state != SVC_DISABLED;
		if (ok)
			client_reply(in, c, "ok\n");
		else if (in->halting)
			client_reply(in, c, "error isc-init is halting\n");
		else
			client_reply(in, c, "error %s did not start (see the console)\n", s->name);
	}
}

static void clients_expire(struct init *in)
{
	for (size_t i = 0; i < CLIENTS_MAX; i++) {
		struct client *c = &in->clients[i];
		if (c->fd >= 0 && c->deadline_ms && c->deadline_ms <= in->env.now_ms)
			client_close(in, c);
	}
}

static int ctl_open(struct init *in)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;
	/* /run is a fresh tmpfs each boot, so nothing here outlives the ISC. */
	if (mkdir(SVC_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	in->rundirfd = open(SVC_RUN_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (in->rundirfd < 0 || fchmod(in->rundirfd, 0755) < 0)
		return -errno;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(sa.sun_path, SVC_SOCKET);
	unlinkat(in->rundirfd, "init.sock", 0);
	mode_t old = umask(0177);   /* created 0600: no window where others could connect */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, CLIENTS_MAX) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG(TAG_LISTEN, 0) };
	if (epoll_ctl(in->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	in->listenfd = fd;
	return 0;
}

/* Mirror the public states for readers without socket access. */
static void state_publish(struct init *in)
{
	char *text;
	size_t len;
	if (in->rundirfd < 0 || svc_set_format(&in->set, &text, &len) < 0)
		return;
	if (in->state_text && in->state_len == len && memcmp(in->state_text, text, len) == 0) {
		free(text);
		return;
	}
	int r = write_file_atomic(in->rundirfd, "services", text, len, 0644);
	if (r < 0)
		complain(in, "cannot write %s: %s", SVC_STATE_FILE, strerror(-r));
	free(in->state_text);
	in->state_text = text;
	in->state_len = len;
}

/* ---- signals, timers, the loop ---------------------------------------------- */

static void halt_begin(struct init *in)
{
	if (in->halting)
		return;
	in->halting = true;
	say(in, "halting");
	for (size_t i = 0; i < in->set.n; i++)
		svc_dispatch(&in->env, &in->set.v[i], SVC_EV_HALT);
}

static void signal_event(struct init *in)
{
	struct signalfd_siginfo si;
	while (read(in->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			break;   /* reaped below, whatever woke us */
		case SIGTERM:
		case SIGINT:
			halt_begin(in);
			break;
		default:
			break;
		}
	}
	reap(in);
}

static void timer_event(struct init *in)
{
	uint64_t ticks;
	(void)!read(in->timerfd, &ticks, sizeof(ticks));
	for (size_t i = 0; i < in->set.n; i++) {
		struct svc *s = &in->set.v[i];
		if (s->deadline_ms && s->deadline_ms <= in->env.now_ms)
			svc_dispatch(&in->env, s, SVC_EV_TIMER);
	}
	clients_expire(in);
}

static void timer_arm(struct init *in)
{
	int64_t next = svc_set_next_deadline(&in->set);
	for (size_t i = 0; i < CLIENTS_MAX; i++) {
		int64_t d = in->clients[i].fd >= 0 ? in->clients[i].deadline_ms : 0;
		if (d && (!next || d < next))
			next = d;
	}
	struct itimerspec its = { 0 };
	if (next) {   /* absolute, in now_ms()'s terms (which adds 1 ms) */
		next -= 1;
		its.it_value.tv_sec = next / 1000;
		its.it_value.tv_nsec = (next % 1000) * 1000000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(in->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static bool halt_done(struct init *in)
{
	for (size_t i = 0; i < in->set.n; i++)
		if (svc_has_process(&in->set.v[i]))
			return false;
	return true;
}

static void loop_once(struct init *in)
{
	struct epoll_event evs[32];
	timer_arm(in);
	int n = epoll_wait(in->epfd, evs, ARRAY_SIZE(evs), -1);
	if (n < 0) {
		if (errno != EINTR) {
			complain(in, "epoll_wait: %s", strerror(errno));
			sleep(1);   /* never spin, never exit */
		}
		return;
	}
	in->env.now_ms = now_ms();
	for (int i = 0; i < n; i++) {
		uint32_t idx = (uint32_t)evs[i].data.u64;
		switch ((enum tag)(evs[i].data.u64 >> 32)) {
		case TAG_SIGNAL: signal_event(in); break;
		case TAG_TIMER: timer_event(in); break;
		case TAG_LISTEN: client_accept(in); break;
		case TAG_CLIENT: client_event(in, idx, evs[i].events); break;
		case TAG_READY:
			if (idx < in->set.n && in->set.v[idx].ready_fd >= 0)
				ready_check(in, &in->set.v[idx]);
			break;
		}
	}
	if (!in->halting)
		svc_set_kick(&in->env);
	clients_settle(in);
	state_publish(in);
}

/* ---- setup ---------------------------------------------------------------- */

/* PID 1 gets no default action from the kernel for signals sent inside
 * its namespace, but iscd (outside) could still kill it with one: ignore
 * everything not handled, except faults, which must stay fatal. */
static int signals_setup(struct init *in)
{
	static const int faults[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT };
	sigset_t mask;
	for (int sig = 1; sig < _NSIG; sig++) {
		bool fault = false;
		for (size_t i = 0; i < ARRAY_SIZE(faults); i++)
			fault |= faults[i] == sig;
		if (!fault && sig != SIGCHLD && sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_IGN);   /* glibc's internal signals refuse: harmless */
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTTOU);   /* so a forked child may tcsetpgrp before it resets */
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	sigdelset(&mask, SIGTTOU);
	in->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	return in->sigfd < 0 ? -errno : 0;
}

static int loop_setup(struct init *in)
{
	int r;
	in->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (in->epfd < 0)
		return -errno;
	if ((r = signals_setup(in)) < 0)
		return r;
	in->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (in->timerfd < 0)
		return -errno;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG(TAG_SIGNAL, 0) };
	if (epoll_ctl(in->epfd, EPOLL_CTL_ADD, in->sigfd, &ev) < 0)
		return -errno;
	ev.data.u64 = TAG(TAG_TIMER, 0);
	if (epoll_ctl(in->epfd, EPOLL_CTL_ADD, in->timerfd, &ev) < 0)
		return -errno;
	return 0;
}

static int stop_timeout_ms(struct init *in)
{
	const char *v = getenv("ISC_STOP_TIMEOUT");
	char *end;
	if (!v || !*v)
		return 10000;
	errno = 0;
	long s = strtol(v, &end, 10);
	if (errno || *end || s < 0 || s > 3600) {
		complain(in, "ignoring ISC_STOP_TIMEOUT=%s (want 0..3600 seconds)", v);
		return 10000;
	}
	return (int)s * 1000;
}

static void services_load(struct init *in)
{
	_cleanup_close_ int dfd = open(SVC_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		say(in, "no services (%s: %s)", SVC_DIR, strerror(errno));
		return;
	}
	int r = svc_set_load(&in->set, dfd, SVC_DIR);
	if (r < 0)
		complain(in, "cannot read %s: %s", SVC_DIR, strerror(-r));
	svc_set_link(&in->set);
	for (char **n = in->set.notes; n && *n; n++)
		say(in, "%s", *n);
	for (size_t i = 0; i < in->set.n; i++)
		if (in->set.v[i].error)
			say(in, "%s in maintenance: %s", in->set.v[i].name, in->set.v[i].error);
	if (in->set.n == 0)
		say(in, "no services in %s", SVC_DIR);
}

/* --run: the command is the only service, run once with our own stdio. */
static int run_load(struct init *in, char **cmd)
{
	struct svc_conf c = { .restart = SVC_RESTART_NEVER };
	const char *base = strrchr(cmd[0], '/');
	base = base ? base + 1 : cmd[0];
	strcpy(c.user, "root");
	c.argv = strv_copy(cmd);
	c.dir = strdup("/");
	if (!c.argv || !c.dir || svc_set_add_conf(&in->set, name_valid(base) ? base : "run", &c) < 0) {
		svc_conf_free(&c);
		return -ENOMEM;
	}
	in->run_svc = &in->set.v[0];
	return 0;
}

/* When the loop cannot even be built, still be a correct PID 1: reap, and
 * on SIGTERM stop everything and exit. */
static __attribute__((noreturn)) void fallback_reaper(struct init *in, int err)
{
	sigset_t mask;
	siginfo_t si;
	complain(in, "cannot set up the event loop (%s); only reaping", strerror(-err));
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	for (;;) {
		if (sigwaitinfo(&mask, &si) < 0)
			continue;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (si.si_signo == SIGTERM || si.si_signo == SIGINT) {
			kill(-1, SIGTERM);
			sleep((unsigned)in->env.stop_timeout_ms / 1000);
			kill(-1, SIGKILL);
			exit(0);
		}
	}
}

static void usage(FILE *f)
{
	fputs("usage: isc-init                    boot: run the services in " SVC_DIR "\n"
	      "       isc-init --run -- CMD ARG...  run CMD as the only service, exit with its status\n"
	      "       isc-init --check [DIR]      check service files, print them canonically\n", f);
}

/* sshd -t style: report every problem, print the rest as the parser read them. */
static int check_dir(const char *dir)
{
	struct svc_set set = { 0 };
	int bad = 0;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || svc_set_load(&set, dfd, dir) < 0) {
		fprintf(stderr, "isc-init: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	svc_set_link(&set);
	for (char **n = set.notes; n && *n; n++, bad = 1)
		fprintf(stderr, "isc-init: %s\n", *n);
	for (size_t i = 0; i < set.n; i++) {
		_cleanup_free_ char *text = NULL;
		if (set.v[i].error) {
			fprintf(stderr, "isc-init: %s: %s\n", set.v[i].name, set.v[i].error);
			bad = 1;
		} else if (svc_conf_format(&set.v[i].conf, &text) == 0) {
			printf("# %s\n%s\n", set.v[i].name, text);
		}
	}
	svc_set_free(&set);
	return bad;
}

int main(int argc, char **argv)
{
	static struct init in = { .status = -1, .listenfd = -1, .rundirfd = -1, .sigfd = -1, .timerfd = -1,
				  .epfd = -1 };
	char **cmd = NULL;

	/* First, whatever the mode: nothing in PID 1's memory is for ptrace,
	 * /proc/1/mem or core files of ISC processes.  Each exec resets it, so
	 * services are dumpable as usual; a vforked child, which shares this
	 * memory, is not until then. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* the PATH services get (ops_spawn), and the one execvpe searches */
	const char *path = getenv("PATH");
	if (!path || !*path)
		setenv("PATH", DEFAULT_PATH, 1);
	if (argc >= 2 && STREQ(argv[1], "--check")) {
		if (argc > 3) {
			usage(stderr);
			return 2;
		}
		return check_dir(argc == 3 ? argv[2] : SVC_DIR);
	}
	if (argc == 2 && (STREQ(argv[1], "--help") || STREQ(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 4 && STREQ(argv[1], "--run") && STREQ(argv[2], "--")) {
		cmd = argv + 3;
		in.run_mode = true;
	} else if (argc != 1) {
		if (getpid() != 1) {
			usage(stderr);
			return 2;
		}
		in.console = 1;
		complain(&in, "ignoring unexpected arguments");   /* PID 1 boots anyway */
	}

	if (getpid() != 1)   /* outside a pid namespace (tests): still inherit orphans */
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	umask(022);
	for (size_t i = 0; i < CLIENTS_MAX; i++)
		in.clients[i].fd = -1;
	in.console = console_open();
	status_open(&in);
	in.isc_name = getenv("ISC_NAME");
	if (getenv("ISC_INFO"))
		in.info = strdup(getenv("ISC_INFO"));
	in.env = (struct svc_env){ .set = &in.set, .ops = &init_ops, .ctx = &in,
				   .now_ms = now_ms(), .stop_timeout_ms = stop_timeout_ms(&in) };
	int r = loop_setup(&in);
	if (r < 0)
		fallback_reaper(&in, r);

	if (in.run_mode) {
		if (run_load(&in, cmd) < 0)
			complain(&in, "out of memory");
	} else {
		say(&in, "booting ISC%s%s", in.isc_name ? " " : "", in.isc_name ? in.isc_name : "");
		services_load(&in);
	}
	if ((r = ctl_open(&in)) < 0)
		complain(&in, "no control socket %s: %s", SVC_SOCKET, strerror(-r));

	for (size_t i = 0; i < in.set.n; i++)
		svc_dispatch(&in.env, &in.set.v[i], SVC_EV_START);
	if (in.run_mode && (!in.run_svc || in.run_svc->state != SVC_STARTING))
		return 127;   /* the command could not even be forked; reported above */
	state_publish(&in);
	for (;;) {
		loop_once(&in);
		if (in.halting && halt_done(&in)) {
			say(&in, "halted");
			return 0;
		}
	}
}
