/* iscd.c - the supervisor of one ISC: builds its sandbox, owns its cgroup, console
 * and /dev/log, serves the control socket, and tears everything down.  Runs on the host. */
#include "cgroup.h"
#include "config.h"
#include "confine.h"
#include "commit.h"
#include "image.h"
#include "ipc.h"
#include "pool.h"
#include "sandbox.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#define MAX_CLIENTS 32
#define STOP_TIMEOUT_S 20
#define LOG_MAX (1 << 20)

struct client {
	int fd;
	int session_pidfd;      /* login session this client waits on */
	pid_t session_pid;
	int notify;             /* seccomp listener of the session's filter */
	unsigned session_id;    /* its cgroup: login/s<id>, 0 = none */
	bool wants_stop;        /* halt or reboot requester: answered when done */
};

struct iscd {
	struct pool pool;
	struct isc_config cfg;
	struct cgroup cg;
	struct confine confine;
	struct sandbox sb;
	struct scratch scratch;
	char scratch_img[PATH_MAX];
	char varfs[200];        /* where a bounded /var's filesystem is mounted */
	struct sandbox_spec spec;
	char rundir[128], stage[160], layers[PATH_MAX], volumes[PATH_MAX], info[512];
	int ep, sigfd, ctl, timer, init_fd;
	int image_fds[ISC_MAX_LAYERS];   /* the version's erofs layers, top first */
	size_t nimage;
	int console_log, sys_log, notes_log;
	bool stopping, rebooting, run_mode;
	/* R read-only, W read-write (-w), T transient (-W: self-assembly,
	 * commit, then read-only); next_mode is what a reboot brings */
	char mode, next_mode;
	char **assembly_argv;   /* -W: CMD after the self-assembly scripts */
	int ready;              /* -W: iscadm waits here for the read-only boot */
	char ready_text[256];   /* what it will be told */
	time_t deny_second;     /* seccomp denials logged per second, bounded */
	unsigned deny_logged, deny_dropped;
	/* and answered per second, bounded too: past the budget the listeners
	 * rest until deny_timer fires, and a looping caller waits in the
	 * kernel at its own cost instead of ours */
	unsigned deny_answered;
	int deny_timer;
	bool deny_paused;
	unsigned sessions_made; /* login cgroup ids handed out */
	int exit_status;
	struct client clients[MAX_CLIENTS];
	/* sessions whose client went away: still our children, to be reaped
	 * (an unreaped one would keep the ISC's pid namespace from ending) */
	pid_t orphans[4 * MAX_CLIENTS];
	char **run_argv;
	char **init_argv;
	int tty_sock;           /* run with a terminal: where the pty master goes */
	char session_fs[200];   /* -w/-W: the session's own filesystem is mounted here */
	bool session_on;
	pid_t commit_pid;       /* a commit worker, while one runs */
	int commit_pidfd, commit_out;
	char commit_how[4];
	bool quit;              /* leave the loop (a halt stopped a commit) */
};

static void log_append(struct iscd *d, int *fd, const char *file, const char *buf, size_t n)
{
	char path[PATH_MAX], old[PATH_MAX + 4];
	snprintf(path, sizeof(path), "%s/isc/%s/data/%s", d->pool.path, d->cfg.name, file);
	struct stat st;
	/* bounded: one old generation kept, so a chatty ISC cannot fill the pool */
	if (*fd >= 0 && fstat(*fd, &st) == 0 && st.st_size > LOG_MAX) {
		snprintf(old, sizeof(old), "%s.1", path);
		rename(path, old);
		close(*fd);
		*fd = -1;
	}
	if (*fd < 0)
		*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (*fd >= 0)
		write_all(*fd, buf, n);
}

__attribute__((format(printf, 2, 3)))
static void note(struct iscd *d, const char *fmt, ...)
{
	char raw[512], buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	/* one line, whatever ISC-chosen text (a file name in a commit's
	 * error) it quotes: a control byte or newline cannot forge another */
	str_escape_ctl(buf, sizeof(buf) - 1, raw, strnlen(raw, sizeof(raw)), 0);
	size_t n = strlen(buf);
	buf[n++] = '\n';
	/* the supervisor's own record, apart from the console: the console
	 * is the ISC's byte stream, which can imitate a note or push real
	 * ones out of its rotation; nothing inside reaches this file */
	log_append(d, &d->notes_log, "notes.log", buf, n);
}

static int ep_add(struct iscd *d, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	return epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int init_memfd(struct isc_err *e)
{
	char path[PATH_MAX];
	if (isc_libexec_path("isc-init", path, sizeof(path)) < 0)
		return err_set(e, ENOENT, "isc-init not found");
	_cleanup_close_ int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return err_sys(e, errno, "open %s", path);
	/* PID 1 comes from the host, sealed: nothing inside can rewrite it */
	int fd = memfd_create("isc-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return err_sys(e, errno, "memfd_create");
	if (copy_fd(in, fd) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
		close(fd);
		return err_sys(e, errno, "seal isc-init");
	}
	return fd;
}

static void write_state(struct iscd *d)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "state=running\nmode=%c\npid=%d\nsupervisor=%d\n",
			 d->mode == 'R' ? 'R' : 'W', d->sb.pid, getpid());
	char path[200];
	snprintf(path, sizeof(path), "%s/state", d->rundir);
	write_file_atomic(AT_FDCWD, path, buf, (size_t)n, 0600);
}

static void orphans_reap(struct iscd *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(d->orphans); i++)
		if (d->orphans[i] > 0 && waitpid(d->orphans[i], NULL, WNOHANG) != 0)
			d->orphans[i] = 0;
}

static void orphan_add(struct iscd *d, pid_t pid)
{
	orphans_reap(d);
	for (size_t i = 0; i < ARRAY_SIZE(d->orphans); i++)
		if (d->orphans[i] <= 0) {
			d->orphans[i] = pid;
			return;
		}
	/* full: a session that ignores SIGHUP must not outlive its client */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int isc_prepare(struct iscd *d, const char *isc, struct isc_err *e);
static void commit_abort(struct iscd *d);
static void answer_stoppers(struct iscd *d, enum ipc_type t, const char *msg);
static void ready_say(struct iscd *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What iscadm passes for an ISC's stdio: pipes or sockets it relays, never
 * a host file or terminal that a process left inside could keep. */
static bool fd_is_relay(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

static bool stdio_is_relayed(void)
{
	return fd_is_relay(0) && fd_is_relay(1) && fd_is_relay(2);
}

static int isc_start(struct iscd *d, struct isc_err *e)
{
	int r = scratch_create(d->scratch_img, d->cfg.scratch_size, d->cfg.uid, &d->scratch, e);
	if (r < 0)
		return r;
	d->spec.var_layers = NULL;
	if (d->cfg.var_size) {
		char img[PATH_MAX];
		snprintf(img, sizeof(img), "%s/isc/%s/data/var.img", d->pool.path, d->cfg.name);
		if ((r = varfs_attach(img, d->cfg.var_size, d->varfs, e)) < 0) {
			scratch_destroy(d->scratch_img, &d->scratch);
			return r;
		}
		d->spec.var_layers = d->varfs;
	}
	d->spec.scratch = d->scratch.mnt;
	d->spec.session_layers = d->session_on ? d->session_fs : NULL;
	struct cgroup_limits lim = { .memory = d->cfg.memory, .pids = d->cfg.pids,
				     .cpu_weight = d->cfg.cpu_weight, .cpu_milli = d->cfg.cpu_milli };
	if ((r = cgroup_create(&d->cg, &lim, e)) < 0) {
		cgroup_destroy(&d->cg, NULL);
		varfs_detach(d->varfs);
		scratch_destroy(d->scratch_img, &d->scratch);
		return r;
	}
	r = sandbox_start(&d->spec, &d->sb, e);
	if (r < 0) {
		cgroup_destroy(&d->cg, NULL);
		varfs_detach(d->varfs);
		scratch_destroy(d->scratch_img, &d->scratch);
		return r;
	}
	ep_add(d, d->sb.pidfd);
	if (d->tty_sock >= 0 && d->sb.console >= 0) {
		/* run with a terminal: the pty is the operator's to proxy, not a log */
		fd_send(d->tty_sock, "M", 1, &d->sb.console, 1);
		close(d->sb.console);
		close(d->tty_sock);
		d->sb.console = d->tty_sock = -1;
	}
	if (d->sb.console >= 0)
		ep_add(d, d->sb.console);
	ep_add(d, d->sb.devlog);
	if (d->sb.notify >= 0)
		ep_add(d, d->sb.notify);
	write_state(d);
	note(d, "isc: booted %s %s from image %s (%.12s), profile %s", d->cfg.name,
		     d->mode == 'R' ? "read-only" : "read-write", d->cfg.image, d->cfg.digest,
		     profile_name(d->cfg.profile));
	if (d->mode == 'W')
		note(d, "NOTICE: Read-only ISC booted read-write");
	else if (d->mode == 'T')
		note(d, "NOTICE: This read-only ISC transiently booted read-write");
	return 0;
}

static void isc_teardown(struct iscd *d)
{
	struct isc_err e = { 0 };
	int fds[] = { d->sb.pidfd, d->sb.console, d->sb.devlog, d->sb.notify };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			epoll_ctl(d->ep, EPOLL_CTL_DEL, fds[i], NULL);
	/* drain what the console still holds */
	char buf[4096];
	ssize_t n;
	if (d->sb.console >= 0) {
		fcntl(d->sb.console, F_SETFL, O_NONBLOCK);
		while ((n = read(d->sb.console, buf, sizeof(buf))) > 0)
			log_append(d, &d->console_log, "console.log", buf, (size_t)n);
	}
	cgroup_destroy(&d->cg, &e);
	orphans_reap(d);
	if (d->deny_dropped)   /* a flood that stopped: its count still reaches the log */
		note(d, "isc: seccomp: %u more denials not logged", d->deny_dropped);
	d->deny_dropped = d->deny_logged = d->deny_answered = 0;
	d->deny_paused = false;
	timerfd_settime(d->deny_timer, 0, &(struct itimerspec){ 0 }, NULL);
	sandbox_cleanup(&d->spec, &d->sb);
	varfs_detach(d->varfs);
	/* every boot has a new /scratch: the old one's key goes now */
	scratch_destroy(d->scratch_img, &d->scratch);
	d->sb.pid = -1;
}

static void reply(int fd, enum ipc_type t, int status, const char *msg)
{
	ipc_send(fd, t, status, msg, msg ? strlen(msg) : 0, NULL, 0);
}

/* A session's processes end with it, whatever its stdio: nothing it
 * left running keeps a pipe open or the login reserve spent. */
static void session_group_end(struct iscd *d, struct client *c)
{
	if (c->session_id)
		cgroup_session_end(&d->cg, c->session_id);
	c->session_id = 0;
}

static void client_close(struct iscd *d, struct client *c)
{
	if (c->session_pidfd >= 0) {
		epoll_ctl(d->ep, EPOLL_CTL_DEL, c->session_pidfd, NULL);
		pidfd_send_signal(c->session_pidfd, SIGHUP, NULL, 0);
		close(c->session_pidfd);
		orphan_add(d, c->session_pid);
	}
	session_group_end(d, c);
	if (c->notify >= 0) {
		epoll_ctl(d->ep, EPOLL_CTL_DEL, c->notify, NULL);
		close(c->notify);
	}
	epoll_ctl(d->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = c->session_pidfd = c->notify = -1;
	c->wants_stop = false;
}

static void stop_begin(struct iscd *d, bool reboot)
{
	d->rebooting = d->rebooting || reboot;
	if (d->stopping)
		return;
	d->stopping = true;
	note(d, "isc: %s requested", reboot ? "reboot" : "halt");
	pidfd_send_signal(d->sb.pidfd, SIGTERM, NULL, 0);
	struct itimerspec t = { .it_value.tv_sec = STOP_TIMEOUT_S };
	timerfd_settime(d->timer, 0, &t, NULL);
}

static void do_login(struct iscd *d, struct client *c, const struct ipc_hdr *h,
		     const char *payload, size_t len, int *fds, size_t nfds)
{
	struct ipc_login l;
	_cleanup_free_ char **argv = NULL;
	if (ipc_login_parse(payload, len, &l, &argv) < 0 || (!l.tty && nfds != 3)) {
		reply(c->fd, IPC_ERR, EBADMSG, "malformed login request");
		return;
	}
	for (size_t i = 0; !l.tty && i < 3; i++)
		if (!fd_is_relay(fds[i])) {
			reply(c->fd, IPC_ERR, EINVAL, "login: stdio must be pipes or sockets "
			      "(iscadm relays them): no host file or terminal enters an ISC");
			return;
		}
	/* a trusted session's shell reads no profile: /etc/profile and
	 * ~/.profile are the image's there, but a login shell would also
	 * follow whatever they source */
	char *shell[] = { "/bin/sh", "-l", NULL }, *trusted_shell[] = { "/bin/sh", NULL };
	char term[64];
	snprintf(term, sizeof(term), "TERM=%s", l.term[0] ? l.term : "dumb");
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "USER=root",
			 "LOGNAME=root", "SHELL=/bin/sh", "container=isc", term, NULL };
	bool trusted = h->status == 'T';
	struct isc_err e = { 0 };
	/* a trusted session writes through the root: Landlock lets it */
	static struct confine tc;
	tc = d->confine;
	memset(tc.writable, 0, sizeof(tc.writable));
	tc.writable[0] = "/";
	tc.fsize = d->cfg.session_size;
	if (trusted && !d->spec.trusted_root) {
		reply(c->fd, IPC_ERR, EINVAL, d->mode != 'R' ? "the ISC is booted read-write already: "
		      "use a plain login" : "login -T needs a read-only ISC booted by iscadm boot");
		return;
	}
	/* from now on a crash of ours still commits what the session wrote */
	if (trusted && commit_state_write(&d->pool, d->cfg.name, "commit -T", d->cfg.digest, &e) < 0) {
		reply(c->fd, IPC_ERR, e.code, e.msg);
		return;
	}
	size_t open = 0;
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		open += d->clients[i].session_id != 0;
	if (open >= CGROUP_MAX_SESSIONS) {
		reply(c->fd, IPC_ERR, EBUSY, "too many sessions open (the most is "
		      ISC_STR(CGROUP_MAX_SESSIONS) "): end one first");
		return;
	}
	/* each session its own bounded group, so no session, and nothing an
	 * earlier one left, can spend what the next login needs */
	unsigned id = ++d->sessions_made;
	if (cgroup_session_create(&d->cg, id, &e) < 0) {
		reply(c->fd, IPC_ERR, e.code, e.msg);
		return;
	}
	c->session_id = id;
	struct sandbox_login sl = {
		.init_pidfd = d->sb.pidfd, .cg = &d->cg, .session = id, .confine = trusted ? &tc : &d->confine,
		.tty = l.tty, .stdio = fds, .argv = argv[0] ? argv : trusted ? trusted_shell : shell,
		.envp = envp, .trusted = trusted, .stage = d->stage, .uid = d->cfg.uid,
	};
	int master = -1;
	pid_t pid = sandbox_login_spawn(&sl, &master, &c->notify, &e);
	if (pid < 0) {
		session_group_end(d, c);
		reply(c->fd, IPC_ERR, e.code, e.msg);
		return;
	}
	c->session_pid = pid;
	c->session_pidfd = pidfd_open(pid, 0);
	ep_add(d, c->session_pidfd);
	if (c->notify >= 0)
		ep_add(d, c->notify);
	if (master >= 0) {
		struct winsize ws = { .ws_row = l.rows, .ws_col = l.cols };
		if (l.rows && l.cols)
			ioctl(master, TIOCSWINSZ, &ws);
		ipc_send(c->fd, IPC_PTY, 0, NULL, 0, &master, 1);
		close(master);
	} else {
		reply(c->fd, IPC_OK, 0, NULL);
	}
}

static void on_client(struct iscd *d, struct client *c)
{
	struct ipc_hdr h;
	char buf[IPC_MAX + 1];
	int fds[3];
	size_t nfds = 3;
	int r = ipc_recv(c->fd, &h, buf, fds, &nfds);
	if (r < 0) {
		/* a malformed message ends the conversation */
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		client_close(d, c);
		return;
	}
	switch ((enum ipc_type)h.type) {
	case IPC_HALT:
	case IPC_REBOOT:
		c->wants_stop = true;
		if (d->commit_pid > 0) {
			/* the first halt started this commit; one more stops it */
			commit_abort(d);
			answer_stoppers(d, IPC_OK, "halted; the commit was stopped, the session is kept");
			ready_say(d, "%s", d->ready_text);
			d->quit = true;
			break;
		}
		/* only the host chooses a writable boot: status 'w' from iscadm */
		d->next_mode = h.type == IPC_REBOOT && h.status == 'w' ? 'W' : 'R';
		stop_begin(d, h.type == IPC_REBOOT);
		break;
	case IPC_STATUS: {
		char st[128];
		snprintf(st, sizeof(st), "%s R %d", d->commit_pid > 0 ? "committing" :
			 d->stopping ? "stopping" : "running", d->sb.pid);
		reply(c->fd, IPC_OK, 0, st);
		break;
	}
	case IPC_LOGIN:
		if (c->session_pidfd >= 0 || d->stopping)
			reply(c->fd, IPC_ERR, EBUSY, d->stopping ? "ISC is stopping" : "session already open");
		else
			do_login(d, c, &h, buf, h.len, fds, nfds);
		break;
	case IPC_OK:
	case IPC_ERR:
	case IPC_PTY:
	case IPC_EXIT:
		client_close(d, c);
		break;
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
}

static void on_accept(struct iscd *d)
{
	int fd = accept4(d->ctl, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	/* only host root may command a supervisor */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != 0) {
		close(fd);
		return;
	}
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (d->clients[i].fd < 0) {
			d->clients[i] = (struct client){ .fd = fd, .session_pidfd = -1, .notify = -1 };
			ep_add(d, fd);
			return;
		}
	close(fd);
}

static void on_session_exit(struct iscd *d, struct client *c)
{
	siginfo_t si = { 0 };
	waitid(P_PIDFD, (id_t)c->session_pidfd, &si, WEXITED | WNOHANG);
	int st = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	epoll_ctl(d->ep, EPOLL_CTL_DEL, c->session_pidfd, NULL);
	close(c->session_pidfd);
	if (si.si_pid == 0)
		orphan_add(d, c->session_pid);   /* not reapable yet: SIGCHLD will tell */
	c->session_pidfd = -1;
	/* before the answer: the relays' pipes close with what held them */
	session_group_end(d, c);
	ipc_send(c->fd, IPC_EXIT, st, NULL, 0, NULL, 0);
}

static void answer_stoppers(struct iscd *d, enum ipc_type t, const char *msg)
{
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (d->clients[i].fd >= 0 && d->clients[i].wants_stop) {
			reply(d->clients[i].fd, t, 0, msg);
			d->clients[i].wants_stop = false;
		}
}

__attribute__((format(printf, 2, 3)))
static void ready_say(struct iscd *d, const char *fmt, ...)
{
	if (d->ready < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vdprintf(d->ready, fmt, ap);
	va_end(ap);
	close(d->ready);
	d->ready = -1;
}

/* Where a session's upper lives: a -w/-W session's own filesystem, or
 * (login -T) the ISC's layers in the pool. */
static void session_upper(const struct iscd *d, const char *name, char *buf, size_t n)
{
	if (d->session_on)
		snprintf(buf, n, "%s/rootw/upper", d->session_fs);
	else
		snprintf(buf, n, "%s/isc/%s/data/layers/rootw/upper", d->pool.path, name);
}

static void session_img(const struct iscd *d, const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/isc/%s/data/session.img", d->pool.path, name);
}

/* A -w/-W session's filesystem: new for a new session, the old one for a
 * session left to commit. */
static int session_fs_open(struct iscd *d, const char *name, uint64_t size, struct isc_err *e)
{
	char img[PATH_MAX];
	if (d->session_on)
		return 0;
	session_img(d, name, img, sizeof(img));
	int r = sessionfs_attach(img, size, d->session_fs, e);
	d->session_on = r == 0;
	return r;
}

/* Unmount the session's filesystem; with drop, its file goes too. */
static void session_fs_close(struct iscd *d, const char *name, bool drop)
{
	char img[PATH_MAX];
	if (d->session_on)
		varfs_detach(d->session_fs);
	d->session_on = false;
	session_img(d, name, img, sizeof(img));
	if (drop)
		unlink(img);
}

/* The session is over without a commit, or after one: nothing of it stays. */
static int session_drop(struct iscd *d, const char *name, struct isc_err *e)
{
	session_fs_close(d, name, true);
	return commit_discard(&d->pool, name, e);
}

/* Before a writable boot: its layer records what a crash should leave. */
static int session_begin(struct iscd *d, struct isc_err *e)
{
	if (d->mode == 'R')
		return 0;
	int r = commit_state_write(&d->pool, d->cfg.name, d->mode == 'W' ? "commit -w" : "discard -W",
				   d->cfg.digest, e);
	return r < 0 ? r : session_fs_open(d, d->cfg.name, d->cfg.session_size, e);
}

/* A commit's outcome, as the worker reports it in one line: "MADE DIGEST",
 * "NONE", "REJECT why" (never committable: dropped) or "ERR why" (kept for
 * the next boot).  Acts on it and says so; returns 0 or -1 (ERR). */
static int commit_outcome(struct iscd *d, const char *name, const char *how, const char *line)
{
	struct isc_err e = { 0 };
	if (str_has_prefix(line, "MADE ")) {
		note(d, "isc: committed image version %.12s (%s)", line + 5, how);
		snprintf(d->ready_text, sizeof(d->ready_text), "OK committed %.12s\n", line + 5);
		session_fs_close(d, name, true);
		return 0;
	}
	if (STREQ(line, "NONE")) {
		note(d, "isc: nothing changed, no new image version");
		snprintf(d->ready_text, sizeof(d->ready_text), "OK unchanged\n");
		session_fs_close(d, name, true);
		return 0;
	}
	if (str_has_prefix(line, "REJECT ")) {
		note(d, "isc: %s; the session is discarded, the ISC stays on its version", line + 7);
		snprintf(d->ready_text, sizeof(d->ready_text), "FAIL %s; session discarded\n", line + 7);
		session_drop(d, name, &e);
		return 0;
	}
	note(d, "isc: %s", str_has_prefix(line, "ERR ") ? line + 4 : "commit failed");
	snprintf(d->ready_text, sizeof(d->ready_text), "FAIL %s\n",
		 str_has_prefix(line, "ERR ") ? line + 4 : "commit failed");
	session_fs_close(d, name, false);
	return -1;
}

/* The commit itself, in a process of its own so the supervisor keeps
 * answering (list, halt) and a halt can stop it: writes its outcome line
 * to out. */
static __attribute__((noreturn)) void commit_worker(struct iscd *d, const char *name,
						    const char *how, int out)
{
	char upper[PATH_MAX];
	struct isc_err e = { 0 };
	struct isc_config c;
	bool made = false;
	/* its group goes with it (mkfs.erofs included) when a halt stops it */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	session_upper(d, name, upper, sizeof(upper));
	uint64_t limit = 2ULL << 30;
	if (isc_config_load(&d->pool, name, &c, &e) == 0) {
		limit = c.session_size;
		config_free(&c);
	}
	struct commit_req rq = { .name = name, .how = how, .rundir = d->rundir, .upper = upper,
				 .limit = limit };
	int r = commit_session(&d->pool, &rq, &made, &e);
	if (r < 0)
		dprintf(out, "%s %s", commit_rejected(&e) ? "REJECT" : "ERR", e.msg);
	else if (made && isc_config_load(&d->pool, name, &c, &e) == 0)
		dprintf(out, "MADE %s", c.digest);
	else
		dprintf(out, made ? "MADE ?" : "NONE");
	_exit(0);
}

static int commit_begin(struct iscd *d, const char *how)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		close(p[0]);
		commit_worker(d, d->cfg.name, how, p[1]);
	}
	close(p[1]);
	setpgid(pid, pid);   /* before a halt could want to kill its group */
	d->commit_pid = pid;
	d->commit_out = p[0];
	snprintf(d->commit_how, sizeof(d->commit_how), "%s", how);
	d->commit_pidfd = pidfd_open(pid, 0);
	ep_add(d, d->commit_pidfd);
	return 0;
}

/* The worker's line, once it exited (bounded: one line). */
static void commit_collect(struct iscd *d, char *line, size_t n)
{
	ssize_t k = read_all(d->commit_out, line, n - 1);
	line[k > 0 ? k : 0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	waitpid(d->commit_pid, NULL, 0);
	epoll_ctl(d->ep, EPOLL_CTL_DEL, d->commit_pidfd, NULL);
	close(d->commit_pidfd);
	close(d->commit_out);
	d->commit_pid = 0;
	d->commit_pidfd = d->commit_out = -1;
}

/* A halt while a commit runs: stop it at once, and keep the session,
 * whole, for the next boot to commit (nothing is lost; the ISC stays on
 * its version meanwhile).  What the worker had mounted or staged goes. */
static void commit_abort(struct iscd *d)
{
	static const char *const views[] = { "commit", "commit-up", "commit-base", "commit-l0",
		"commit-l1", "commit-l2", "commit-l3", "commit-l4", "commit-l5", "commit-l6", "commit-l7" };
	char line[64];
	kill(-d->commit_pid, SIGKILL);
	commit_collect(d, line, sizeof(line));
	for (size_t i = 0; i < ARRAY_SIZE(views); i++) {
		char path[300];
		snprintf(path, sizeof(path), "%s/%s", d->rundir, views[i]);
		umount2(path, MNT_DETACH);
	}
	session_fs_close(d, d->cfg.name, false);
	note(d, "isc: commit (%s) stopped by a halt: the session is kept and committed at the next boot",
	     d->commit_how);
	snprintf(d->ready_text, sizeof(d->ready_text), "FAIL halted during the commit; the session "
		 "is kept for the next boot\n");
}

/* A writable boot ended with init's status st: commit what it changed
 * (-W only if self-assembly succeeded), then come back read-only.  True
 * if a commit now runs. */
static bool session_end(struct iscd *d, int st)
{
	struct isc_err e = { 0 };
	if (d->mode == 'T' && st != 0) {
		note(d, "NOTICE: Self-assembly failed (status %d): nothing committed, booting read-only", st);
		session_drop(d, d->cfg.name, &e);
		snprintf(d->ready_text, sizeof(d->ready_text),
			 "FAIL self-assembly failed (status %d); running read-only on the previous version\n", st);
		d->rebooting = true;
		return false;
	}
	if (d->mode == 'T') {
		note(d, "NOTICE: Self-assembly completed, rebooting read-only");
		commit_state_write(&d->pool, d->cfg.name, "commit -W", d->cfg.digest, &e);
		d->rebooting = true;
	}
	int r = commit_begin(d, d->mode == 'W' ? "-w" : "-W");
	if (r < 0) {
		note(d, "isc: cannot start the commit: %s; the session is kept", strerror(-r));
		session_fs_close(d, d->cfg.name, false);
	}
	return r == 0;
}

/* A read-only boot ended: commit what login -T sessions wrote, if any. */
static bool trusted_end(struct iscd *d)
{
	char state[64];
	struct isc_err e = { 0 };
	if (!commit_pending(&d->pool, d->cfg.name, state, sizeof(state)))
		return false;
	if (!STREQ(state, "commit -T")) {
		commit_discard(&d->pool, d->cfg.name, &e);   /* untouched: nothing could write */
		return false;
	}
	int r = commit_begin(d, "-T");
	if (r < 0)
		note(d, "isc: cannot start the commit: %s; the session is kept", strerror(-r));
	return r == 0;
}

/* A supervisor that died left a session layer: finish its commit (in a
 * worker, waited for: there is nothing else to answer yet), or drop it if
 * its self-assembly never completed or it can never be committed. */
static int session_recover(struct iscd *d, const char *name, struct isc_err *e)
{
	char state[64], img[PATH_MAX], line[1100];
	if (!commit_pending(&d->pool, name, state, sizeof(state)))
		return 0;
	session_img(d, name, img, sizeof(img));
	if (!str_has_prefix(state, "commit "))
		return session_drop(d, name, e);
	if (access(img, F_OK) == 0 && session_fs_open(d, name, 0, e) < 0)
		return err_prefix(e, "finishing an interrupted commit");
	snprintf(d->cfg.name, sizeof(d->cfg.name), "%s", name);
	int r = commit_begin(d, state + 7);
	if (r < 0)
		return err_sys(e, -r, "finishing an interrupted commit");
	commit_collect(d, line, sizeof(line));
	if (commit_outcome(d, name, state + 7, line) < 0)
		return err_set(e, EIO, "finishing an interrupted commit: %s",
			       str_has_prefix(line, "ERR ") ? line + 4 : "failed");
	return 0;
}

/* After init is gone and any commit is done: boot again, or end. */
static bool after_stop(struct iscd *d)
{
	if (d->rebooting && !d->run_mode) {
		struct isc_err e = { 0 };
		d->stopping = d->rebooting = false;
		d->mode = d->next_mode;
		d->next_mode = 'R';
		if (isc_prepare(d, d->cfg.name, &e) < 0 || session_begin(d, &e) < 0 ||
		    isc_start(d, &e) < 0) {
			note(d, "isc: reboot failed: %s", e.msg);
			answer_stoppers(d, IPC_ERR, e.msg);
			ready_say(d, "ERR %s\n", e.msg);
			return false;
		}
		answer_stoppers(d, IPC_OK, "rebooted");
		ready_say(d, "%s", d->ready_text);
		return true;
	}
	ready_say(d, "ERR the ISC did not come back read-only\n");
	answer_stoppers(d, IPC_OK, "halted");
	return false;
}

/* The commit worker exited: its outcome, then what came after the stop. */
static bool on_commit_done(struct iscd *d)
{
	char line[1100];
	commit_collect(d, line, sizeof(line));
	commit_outcome(d, d->cfg.name, d->commit_how, line);
	return after_stop(d);
}

/* isc-init ended: commit what a session changed, then a requested reboot
 * starts it again; anything else ends us. */
static bool on_init_exit(struct iscd *d)
{
	siginfo_t si = { 0 };
	waitid(P_PIDFD, (id_t)d->sb.pidfd, &si, WEXITED | WNOHANG);
	int st = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	d->exit_status = st;
	struct itimerspec off = { 0 };
	timerfd_settime(d->timer, 0, &off, NULL);
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (d->clients[i].session_pidfd >= 0) {
			epoll_ctl(d->ep, EPOLL_CTL_DEL, d->clients[i].session_pidfd, NULL);
			close(d->clients[i].session_pidfd);
			orphan_add(d, d->clients[i].session_pid);
			d->clients[i].session_pidfd = -1;
			d->clients[i].session_id = 0;   /* the ISC's groups all go now */
			ipc_send(d->clients[i].fd, IPC_EXIT, 129, NULL, 0, NULL, 0);
		}
	isc_teardown(d);
	if (!d->run_mode)
		note(d, "isc: init exited (status %d)", st);
	/* reboot(2) inside a pid namespace kills its init with SIGHUP; nothing
	 * inside can ask for a writable boot: an inside reboot comes back
	 * read-only, like every boot the host did not mark -w */
	if (si.si_code != CLD_EXITED && si.si_status == SIGHUP) {
		d->next_mode = 'R';
		d->rebooting = true;
	}
	d->stopping = true;   /* no login while a commit runs */
	bool committing = false;
	if (d->mode != 'R')
		committing = session_end(d, st);
	else if (d->spec.trusted_root)
		committing = trusted_end(d);
	return committing || after_stop(d);
}

static void on_devlog(struct iscd *d)
{
	char buf[2048], line[2200];
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(d->sb.devlog, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n <= 0)
			return;
		buf[n] = '\0';
		for (ssize_t k = 0; k < n; k++)
			if (buf[k] == '\n' || (unsigned char)buf[k] < ' ')
				buf[k] = ' ';
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		int m = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02dZ %s\n",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
				 tm.tm_sec, buf);
		log_append(d, &d->sys_log, "syslog", line, (size_t)m);
	}
}

#define DENY_LOGGED_PER_SECOND 20
#define DENY_ANSWERED_PER_SECOND 2000

/* Every seccomp listener we watch: isc-init's and the sessions'. */
static void listeners_watch(struct iscd *d, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0 };
	int fds[MAX_CLIENTS + 1];
	size_t n = 0;
	if (d->sb.notify >= 0)
		fds[n++] = d->sb.notify;
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (d->clients[i].notify >= 0)
			fds[n++] = d->clients[i].notify;
	for (size_t i = 0; i < n; i++) {
		ev.data.fd = fds[i];
		epoll_ctl(d->ep, EPOLL_CTL_MOD, fds[i], &ev);
	}
	d->deny_paused = !on;
}

static void on_deny_timer(struct iscd *d)
{
	uint64_t x;
	(void)!read(d->deny_timer, &x, sizeof(x));
	d->deny_answered = 0;
	listeners_watch(d, true);
}

/* A system call the filter denies: answer EPERM, and say so in the
 * console log (bounded: a loop of denials must not flood it, nor keep
 * the supervisor busy outside the ISC's CPU share). */
static void on_notify(struct iscd *d, int fd, uint32_t events)
{
	char what[160];
	if (!(events & EPOLLIN)) {
		/* hung up: no process uses the filter any more (receiving now
		 * would block on older kernels); its owner closes it */
		epoll_ctl(d->ep, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	int r = confine_notify_deny(fd, what, sizeof(what));
	if (r < 0)
		return;
	time_t now = time(NULL);
	if (now != d->deny_second) {
		if (d->deny_dropped)
			note(d, "isc: seccomp: %u more denials not logged", d->deny_dropped);
		d->deny_second = now;
		d->deny_logged = d->deny_dropped = 0;
		if (!d->deny_paused)
			d->deny_answered = 0;
	}
	if (d->deny_logged++ < DENY_LOGGED_PER_SECOND)
		note(d, "isc: seccomp: denied %s", what);
	else
		d->deny_dropped++;
	if (++d->deny_answered >= DENY_ANSWERED_PER_SECOND && !d->deny_paused) {
		struct itimerspec t = { .it_value = { .tv_sec = 1 } };
		listeners_watch(d, false);
		timerfd_settime(d->deny_timer, 0, &t, NULL);
	}
}

static int loop(struct iscd *d)
{
	for (;;) {
		if (d->quit)
			return d->exit_status;
		struct epoll_event ev[16];
		int n = epoll_wait(d->ep, ev, 16, -1);
		if (n < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			if (d->quit)
				return d->exit_status;
			if (fd == d->sb.pidfd) {
				if (!on_init_exit(d))
					return d->exit_status;
			} else if (fd == d->commit_pidfd) {
				if (!on_commit_done(d))
					return d->exit_status;
			} else if (fd == d->sb.console) {
				char buf[4096];
				ssize_t k = read(fd, buf, sizeof(buf));
				if (k > 0)
					log_append(d, &d->console_log, "console.log", buf, (size_t)k);
				else
					epoll_ctl(d->ep, EPOLL_CTL_DEL, fd, NULL);
			} else if (fd == d->sb.devlog) {
				on_devlog(d);
			} else if (fd == d->sb.notify) {
				on_notify(d, fd, ev[i].events);
			} else if (fd == d->ctl) {
				on_accept(d);
			} else if (fd == d->deny_timer) {
				on_deny_timer(d);
			} else if (fd == d->timer) {
				uint64_t x;
				read(fd, &x, sizeof(x));
				/* isc-init did not stop in time */
				pidfd_send_signal(d->sb.pidfd, SIGKILL, NULL, 0);
			} else if (fd == d->sigfd) {
				struct signalfd_siginfo si;
				read(fd, &si, sizeof(si));
				if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && d->commit_pid > 0) {
					commit_abort(d);
					answer_stoppers(d, IPC_OK, "halted; the commit was stopped");
					ready_say(d, "%s", d->ready_text);
					return d->exit_status;
				} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					stop_begin(d, false);
				else if (si.ssi_signo == SIGCHLD)
					orphans_reap(d);
			} else {
				for (size_t j = 0; j < MAX_CLIENTS; j++) {
					struct client *c = &d->clients[j];
					if (c->session_pidfd == fd)
						on_session_exit(d, c);
					else if (c->notify == fd)
						on_notify(d, fd, ev[i].events);
					else if (c->fd == fd)
						on_client(d, c);
				}
			}
		}
	}
}

static int ctl_listen(struct iscd *d, struct isc_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ctl", d->rundir);
	unlink(sa.sun_path);
	d->ctl = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	mode_t old = umask(077);  /* the socket is root's alone */
	int r = d->ctl < 0 ? -1 : bind(d->ctl, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(d->ctl, 8) < 0)
		return err_sys(e, errno, "control socket %s", sa.sun_path);
	return ep_add(d, d->ctl);
}

/* Every boot, reboots included, reads the configuration afresh and runs
 * from an image verified now (the /run cache makes an unchanged one cheap). */
static int isc_prepare(struct iscd *d, const char *isc, struct isc_err *e)
{
	static const int stdio[3] = { 0, 1, 2 };
	char name[64];
	snprintf(name, sizeof(name), "%s", isc);   /* may point into d->cfg */
	config_free(&d->cfg);
	int r = isc_config_load(&d->pool, name, &d->cfg, e);
	if (r < 0)
		return r;
	/* on reboot too: a key unloaded behind our back stops the boot here */
	if ((r = isc_key_ready(&d->pool, &d->cfg, false, e)) < 0)
		return err_prefix(e, "refusing to boot %s", name);
	layers_close(d->image_fds, &d->nimage);
	r = layers_open_verified(&d->pool, &d->cfg, d->cfg.digest, d->image_fds, &d->nimage, e);
	if (r < 0)
		return err_prefix(e, "refusing to boot %s", name);
	/* What the ISC may know about itself: properties, never a host path
	 * or a key's location. */
	char mem[32], scratch[32];
	format_size(d->cfg.memory, mem, sizeof(mem));
	format_size(d->cfg.scratch_size, scratch, sizeof(scratch));
	snprintf(d->info, sizeof(d->info),
		 "name: %s;image: %s %.12s;profile: %s;mode: %s;"
		 "encryption: on (aes-256-xts, names aes-256-cts) inherited from host;"
		 "scratch: /scratch %s, encrypted with a key made at boot;memory: %s, no swap",
		 d->cfg.name, d->cfg.image, d->cfg.digest, profile_name(d->cfg.profile),
		 d->mode == 'R' ? "read-only" : "read-write", scratch, mem);
	confine_default(&d->confine);
	d->confine.mdwe = d->cfg.mdwe;
	d->confine.seccomp = d->cfg.seccomp;
	d->confine.landlock = d->cfg.landlock;
	/* a maintenance session's files become an image: none may be larger
	 * than a commit reads */
	d->confine.fsize = d->mode != 'R' ? d->cfg.session_size : 0;
	if (confine_limitpriv(d->cfg.limitpriv, &d->confine.caps, e) < 0)
		return err_prefix(e, "ISC %s", name);
	d->spec = (struct sandbox_spec){
		.name = d->cfg.name, .uid = d->cfg.uid, .profile = d->cfg.profile,
		.writable = d->mode != 'R', .image_only = d->mode == 'T',
		/* a read-only boot's root is the session overlay, read-only to
		 * the ISC: login -T writes through it (not for run --rm) */
		.trusted_root = d->mode == 'R' && !d->run_mode && d->cfg.profile != PROFILE_NONE,
		.image_fds = d->image_fds, .nimage = d->nimage, .layers = d->layers, .volumes_dir = d->volumes,
		.volumes = d->cfg.volumes, .tmp_size = d->cfg.tmp_size, .stage = d->stage,
		.init_fd = d->init_fd, .init_argv = d->mode == 'T' ? d->assembly_argv : d->init_argv, .info = d->info,
		.stdio = d->run_mode && d->tty_sock < 0 ? stdio : NULL, .tty = d->tty_sock >= 0,
		.cg = &d->cg, .confine = &d->confine,
	};
	sandbox_confine_paths(&d->spec, &d->confine);
	return 0;
}

static int setup(struct iscd *d, const char *root, const char *name, struct isc_err *e)
{
	int r = pool_open(&d->pool, root, POOL_LOCK_SHARED, e);
	if (r < 0)
		return r;
	/* other commands may run while we supervise */
	flock(d->pool.lockfd, LOCK_UN);
	snprintf(d->stage, sizeof(d->stage), "%s/root", d->rundir);
	snprintf(d->varfs, sizeof(d->varfs), "%s/varfs", d->rundir);
	snprintf(d->session_fs, sizeof(d->session_fs), "%s/session", d->rundir);
	snprintf(d->layers, sizeof(d->layers), "%s/isc/%s/data/layers", d->pool.path, name);
	snprintf(d->volumes, sizeof(d->volumes), "%s/isc/%s/data/volumes", d->pool.path, name);
	snprintf(d->scratch_img, sizeof(d->scratch_img), "%s/isc/%s/scratch.img", d->pool.path, name);
	d->scratch.mnt = -1;
	if ((r = sandbox_host_prepare(e)) < 0)
		return r;
	d->nimage = 0;
	if ((d->init_fd = init_memfd(e)) < 0)
		return d->init_fd;
	cgroup_init(&d->cg, name);
	confine_default(&d->confine);
	/* once, here: every boot and session then loads it compiled */
	if ((r = confine_seccomp_prepare(e)) < 0)
		return r;
	static char *init_argv[] = { "isc-init", NULL };
	char **argv = init_argv;
	if (d->run_mode) {
		argv = NULL;
		strv_push(&argv, "isc-init");
		strv_push(&argv, "--run");
		strv_push(&argv, "--");
		for (size_t i = 0; d->run_argv[i]; i++)
			strv_push(&argv, d->run_argv[i]);
	}
	d->init_argv = argv;
	if (d->mode == 'T') {
		/* the self-assembly step: the image's scripts in order, then CMD */
		static const char script[] =
			"for f in /etc/isc/self-assembly.d/*; do\n"
			"  [ -f \"$f\" ] && [ -x \"$f\" ] || continue\n"
			"  echo \"self-assembly: $f\"\n"
			"  \"$f\" || { s=$?; echo \"self-assembly: $f failed (status $s)\"; exit 1; }\n"
			"done\n"
			"[ $# -eq 0 ] && exit 0\n"
			"echo \"self-assembly: $*\"\n"
			"\"$@\" || { s=$?; echo \"self-assembly: $1 failed (status $s)\"; exit 1; }\n";
		char **t = NULL;
		strv_push(&t, "isc-init");
		strv_push(&t, "--run");
		strv_push(&t, "--");
		strv_push(&t, "/bin/sh");
		strv_push(&t, "-c");
		strv_push(&t, script);
		strv_push(&t, "self-assembly");
		for (size_t i = 0; d->run_argv && d->run_argv[i]; i++)
			strv_push(&t, d->run_argv[i]);
		d->assembly_argv = t;
	}
	if ((r = session_recover(d, name, e)) < 0)
		return r;
	if ((r = isc_prepare(d, name, e)) < 0)
		return r;
	if ((r = session_begin(d, e)) < 0)
		return r;
	if ((d->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return err_sys(e, errno, "epoll");
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGCHLD);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	d->sigfd = signalfd(-1, &ss, SFD_CLOEXEC);
	d->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	d->deny_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	ep_add(d, d->sigfd);
	ep_add(d, d->timer);
	ep_add(d, d->deny_timer);
	if (!d->run_mode && (r = ctl_listen(d, e)) < 0)
		return r;
	return isc_start(d, e);
}

static void usage(void)
{
	fprintf(stderr, "usage: iscd --root DIR [--ready-fd N] NAME\n"
			"       iscd --root DIR [--ready-fd N] --mode W|T NAME [-- CMD...]\n"
			"       iscd --root DIR --run [--tty-fd N] NAME -- CMD...\n"
			"iscd is started by iscadm; it is not meant to be run by hand.\n");
}

int main(int argc, char **argv)
{
	static struct iscd d = { .console_log = -1, .sys_log = -1, .notes_log = -1, .ctl = -1, .ep = -1,
				 .commit_pidfd = -1, .commit_out = -1, .mode = 'R',
				 .next_mode = 'R', .ready = -1, .tty_sock = -1 };
	const char *root = NULL;
	int ready = -1;
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "ready-fd", required_argument, NULL, 'f' },
		{ "run", no_argument, NULL, 'R' },
		{ "mode", required_argument, NULL, 'm' },
		{ "tty-fd", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'f': ready = atoi(optarg); break;
		case 'R': d.run_mode = true; break;
		case 't': d.tty_sock = atoi(optarg); break;
		case 'm':
			if (strlen(optarg) != 1 || !strchr("RWT", optarg[0])) {
				usage();
				return 2;
			}
			d.mode = optarg[0];
			break;
		default: usage(); return 2;
		}
	}
	if (optind >= argc || !root) {
		usage();
		return 2;
	}
	const char *name = argv[optind++];
	if (ready >= 0 && fcntl(ready, F_SETFD, FD_CLOEXEC) < 0)
		ready = -1;   /* never leak it into the ISC */
	if (d.tty_sock >= 0 && (!d.run_mode || fcntl(d.tty_sock, F_SETFD, FD_CLOEXEC) < 0)) {
		usage();
		return 2;
	}
	if (d.run_mode || d.mode == 'T') {
		if (optind < argc && STREQ(argv[optind], "--"))
			optind++;
		if (d.run_mode && optind >= argc) {
			usage();
			return 2;
		}
		d.run_argv = argv + optind;
	}
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		d.clients[i] = (struct client){ .fd = -1, .session_pidfd = -1, .notify = -1 };
	d.sb.pidfd = d.sb.console = d.sb.devlog = d.sb.userns = -1;
	struct isc_err e = { 0 };
	int status = 1;
	if (!name_valid(name)) {
		err_set(&e, EINVAL, "invalid ISC name");
		goto out;
	}
	if (d.run_mode && d.tty_sock < 0 && !stdio_is_relayed()) {
		err_set(&e, EINVAL, "run: stdin, stdout and stderr must be pipes or sockets "
			"(iscadm relays them): no host file or terminal enters an ISC");
		goto out;
	}
	snprintf(d.rundir, sizeof(d.rundir), ISC_RUN_DIR "/%s", name);
	mkdir_p_at(AT_FDCWD, d.rundir, 0700);
	/* search-only for others: the ISC's own root must reach the stage below
	 * by name while it is built; every file here stays 0600. */
	chmod(ISC_RUN_DIR, 0711);
	chmod(d.rundir, 0711);
	char lockpath[200];
	snprintf(lockpath, sizeof(lockpath), "%s/lock", d.rundir);
	/* held for our whole life: how every other command knows we run */
	int lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
		err_set(&e, EBUSY, "ISC %s is already running", name);
		goto out;
	}
	if (setup(&d, root, name, &e) < 0)
		goto out;
	if (ready >= 0 && d.mode == 'T') {
		d.ready = ready;   /* told when it runs read-only again */
		ready = -1;
	} else if (ready >= 0) {
		write_all(ready, "OK\n", 3);
		close(ready);
		ready = -1;
	}
	status = loop(&d);
	e.code = 0;
out:
	if (e.code) {
		if (ready >= 0)
			dprintf(ready, "ERR %s\n", e.msg);
		else
			fprintf(stderr, "iscd: %s\n", e.msg);
	}
	if (d.ctl >= 0) {
		char path[200];
		snprintf(path, sizeof(path), "%s/ctl", d.rundir);
		unlink(path);
	}
	if (d.rundir[0]) {
		char path[200];
		snprintf(path, sizeof(path), "%s/state", d.rundir);
		unlink(path);
	}
	config_free(&d.cfg);
	pool_close(&d.pool);
	return e.code ? 1 : status;
}
