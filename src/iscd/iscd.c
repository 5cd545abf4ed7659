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
	int console_log, sys_log;
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
	int exit_status;
	struct client clients[MAX_CLIENTS];
	/* sessions whose client went away: still our children, to be reaped
	 * (an unreaped one would keep the ISC's pid namespace from ending) */
	pid_t orphans[4 * MAX_CLIENTS];
	char **run_argv;
	char **init_argv;
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
static void console_note(struct iscd *d, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	log_append(d, &d->console_log, "console.log", buf, (size_t)n);
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
	if (d->sb.console >= 0)
		ep_add(d, d->sb.console);
	ep_add(d, d->sb.devlog);
	if (d->sb.notify >= 0)
		ep_add(d, d->sb.notify);
	write_state(d);
	console_note(d, "isc: booted %s %s from image %s (%.12s), profile %s", d->cfg.name,
		     d->mode == 'R' ? "read-only" : "read-write", d->cfg.image, d->cfg.digest,
		     profile_name(d->cfg.profile));
	if (d->mode == 'W')
		console_note(d, "NOTICE: Read-only ISC booted read-write");
	else if (d->mode == 'T')
		console_note(d, "NOTICE: This read-only ISC transiently booted read-write");
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
		console_note(d, "isc: seccomp: %u more denials not logged", d->deny_dropped);
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

static void client_close(struct iscd *d, struct client *c)
{
	if (c->session_pidfd >= 0) {
		epoll_ctl(d->ep, EPOLL_CTL_DEL, c->session_pidfd, NULL);
		pidfd_send_signal(c->session_pidfd, SIGHUP, NULL, 0);
		close(c->session_pidfd);
		orphan_add(d, c->session_pid);
	}
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
	console_note(d, "isc: %s requested", reboot ? "reboot" : "halt");
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
	char *shell[] = { "/bin/sh", "-l", NULL };
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
	struct sandbox_login sl = {
		.init_pidfd = d->sb.pidfd, .cg = &d->cg, .confine = trusted ? &tc : &d->confine,
		.tty = l.tty, .stdio = fds, .argv = argv[0] ? argv : shell, .envp = envp,
		.trusted = trusted, .stage = d->stage,
	};
	int master = -1;
	pid_t pid = sandbox_login_spawn(&sl, &master, &c->notify, &e);
	if (pid < 0) {
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
		/* only the host chooses a writable boot: status 'w' from iscadm */
		d->next_mode = h.type == IPC_REBOOT && h.status == 'w' ? 'W' : 'R';
		stop_begin(d, h.type == IPC_REBOOT);
		break;
	case IPC_STATUS: {
		char st[128];
		snprintf(st, sizeof(st), "%s R %d", d->stopping ? "stopping" : "running", d->sb.pid);
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

/* Before a writable boot: its layer records what a crash should leave. */
static int session_begin(struct iscd *d, struct isc_err *e)
{
	if (d->mode == 'R')
		return 0;
	return commit_state_write(&d->pool, d->cfg.name, d->mode == 'W' ? "commit -w" : "discard -W",
				  d->cfg.digest, e);
}

/* A writable boot ended with init's status st: commit what it changed
 * (-W only if self-assembly succeeded), then come back read-only. */
static void session_end(struct iscd *d, int st)
{
	struct isc_err e = { 0 };
	bool made = false;
	const char *how = d->mode == 'W' ? "-w" : "-W";
	if (d->mode == 'T' && st != 0) {
		console_note(d, "NOTICE: Self-assembly failed (status %d): nothing committed, "
			     "booting read-only", st);
		commit_discard(&d->pool, d->cfg.name, &e);
		snprintf(d->ready_text, sizeof(d->ready_text),
			 "FAIL self-assembly failed (status %d); running read-only on the previous version\n", st);
		d->rebooting = true;
		return;
	}
	if (d->mode == 'T') {
		console_note(d, "NOTICE: Self-assembly completed, rebooting read-only");
		commit_state_write(&d->pool, d->cfg.name, "commit -W", d->cfg.digest, &e);
		d->rebooting = true;
	}
	if (commit_session(&d->pool, d->cfg.name, how, d->rundir, &made, &e) < 0) {
		console_note(d, "isc: %s", e.msg);
		snprintf(d->ready_text, sizeof(d->ready_text), "FAIL %s\n", e.msg);
		return;
	}
	struct isc_config c;
	if (made && isc_config_load(&d->pool, d->cfg.name, &c, &e) == 0) {
		console_note(d, "isc: committed image version %.12s (%s)", c.digest, how);
		snprintf(d->ready_text, sizeof(d->ready_text), "OK committed %.12s\n", c.digest);
		config_free(&c);
	} else {
		console_note(d, "isc: nothing changed, no new image version");
		snprintf(d->ready_text, sizeof(d->ready_text), "OK unchanged\n");
	}
}

/* A read-only boot ended: commit what login -T sessions wrote, if any. */
static void trusted_end(struct iscd *d)
{
	char state[64];
	struct isc_err e = { 0 };
	bool made = false;
	if (!commit_pending(&d->pool, d->cfg.name, state, sizeof(state)))
		return;
	if (!STREQ(state, "commit -T")) {
		commit_discard(&d->pool, d->cfg.name, &e);   /* untouched: nothing could write */
		return;
	}
	if (commit_session(&d->pool, d->cfg.name, "-T", d->rundir, &made, &e) < 0)
		console_note(d, "isc: %s", e.msg);
	else if (made)
		console_note(d, "isc: committed what trusted sessions changed as a new image version (-T)");
}

/* A supervisor that died left a session layer: finish its commit, or
 * drop it if its self-assembly never completed. */
static int session_recover(struct iscd *d, const char *name, struct isc_err *e)
{
	char state[64];
	bool made;
	if (!commit_pending(&d->pool, name, state, sizeof(state)))
		return 0;
	if (str_has_prefix(state, "commit ")) {
		int r = commit_session(&d->pool, name, state + 7, d->rundir, &made, e);
		return r < 0 ? err_prefix(e, "finishing an interrupted commit") : 0;
	}
	return commit_discard(&d->pool, name, e);
}

/* isc-init ended: a requested reboot starts it again, anything else ends us. */
static bool on_init_exit(struct iscd *d)
{
	siginfo_t si = { 0 };
	waitid(P_PIDFD, (id_t)d->sb.pidfd, &si, WEXITED | WNOHANG);
	int st = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	/* reboot(2) inside a pid namespace kills its init with SIGHUP */
	bool inside_reboot = si.si_code != CLD_EXITED && si.si_status == SIGHUP;
	d->exit_status = st;
	struct itimerspec off = { 0 };
	timerfd_settime(d->timer, 0, &off, NULL);
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (d->clients[i].session_pidfd >= 0) {
			epoll_ctl(d->ep, EPOLL_CTL_DEL, d->clients[i].session_pidfd, NULL);
			close(d->clients[i].session_pidfd);
			orphan_add(d, d->clients[i].session_pid);
			d->clients[i].session_pidfd = -1;
			ipc_send(d->clients[i].fd, IPC_EXIT, 129, NULL, 0, NULL, 0);
		}
	isc_teardown(d);
	if (!d->run_mode)
		console_note(d, "isc: init exited (status %d)", st);
	if (d->mode != 'R')
		session_end(d, st);
	else if (d->spec.trusted_root)
		trusted_end(d);
	/* nothing inside can ask for a writable boot: an inside reboot comes
	 * back read-only, like every boot the host did not mark -w */
	if (inside_reboot)
		d->next_mode = 'R';
	if ((d->rebooting || inside_reboot) && !d->run_mode) {
		struct isc_err e = { 0 };
		d->stopping = d->rebooting = false;
		d->mode = d->next_mode;
		d->next_mode = 'R';
		if (isc_prepare(d, d->cfg.name, &e) < 0 || session_begin(d, &e) < 0 ||
		    isc_start(d, &e) < 0) {
			console_note(d, "isc: reboot failed: %s", e.msg);
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
			console_note(d, "isc: seccomp: %u more denials not logged", d->deny_dropped);
		d->deny_second = now;
		d->deny_logged = d->deny_dropped = 0;
		if (!d->deny_paused)
			d->deny_answered = 0;
	}
	if (d->deny_logged++ < DENY_LOGGED_PER_SECOND)
		console_note(d, "isc: seccomp: denied %s", what);
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
		struct epoll_event ev[16];
		int n = epoll_wait(d->ep, ev, 16, -1);
		if (n < 0 && errno == EINTR)
			continue;
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			if (fd == d->sb.pidfd) {
				if (!on_init_exit(d))
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
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
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
	if (confine_limitpriv(d->cfg.limitpriv, &d->confine.caps, e) < 0)
		return err_prefix(e, "ISC %s", name);
	d->spec = (struct sandbox_spec){
		.name = d->cfg.name, .uid = d->cfg.uid, .profile = d->cfg.profile,
		.writable = d->mode != 'R',
		/* a read-only boot's root is the session overlay, read-only to
		 * the ISC: login -T writes through it (not for run --rm) */
		.trusted_root = d->mode == 'R' && !d->run_mode && d->cfg.profile != PROFILE_NONE,
		.image_fds = d->image_fds, .nimage = d->nimage, .layers = d->layers, .volumes_dir = d->volumes,
		.volumes = d->cfg.volumes, .tmp_size = d->cfg.tmp_size, .stage = d->stage,
		.init_fd = d->init_fd, .init_argv = d->mode == 'T' ? d->assembly_argv : d->init_argv, .info = d->info, .stdio = d->run_mode ? stdio : NULL,
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
			"       iscd --root DIR --run NAME -- CMD...\n"
			"iscd is started by iscadm; it is not meant to be run by hand.\n");
}

int main(int argc, char **argv)
{
	static struct iscd d = { .console_log = -1, .sys_log = -1, .ctl = -1, .mode = 'R',
				 .next_mode = 'R', .ready = -1 };
	const char *root = NULL;
	int ready = -1;
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "ready-fd", required_argument, NULL, 'f' },
		{ "run", no_argument, NULL, 'R' },
		{ "mode", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'f': ready = atoi(optarg); break;
		case 'R': d.run_mode = true; break;
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
