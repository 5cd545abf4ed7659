/* iscd.c - the supervisor of one ISC: builds its sandbox, owns its cgroup, console
 * and /dev/log, serves the control socket, and tears everything down.  Runs on the host. */
#include "cgroup.h"
#include "config.h"
#include "confine.h"
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
	bool wants_stop;        /* halt or reboot requester: answered when done */
};

struct iscd {
	struct pool pool;
	struct isc_config cfg;
	struct cgroup cg;
	struct confine confine;
	struct sandbox sb;
	struct sandbox_spec spec;
	char rundir[128], stage[160], layers[PATH_MAX], volumes[PATH_MAX];
	int ep, sigfd, ctl, timer, image_fd, init_fd;
	int console_log, sys_log;
	bool stopping, rebooting, run_mode;
	int exit_status;
	struct client clients[MAX_CLIENTS];
	char **run_argv;
	char **init_argv;
};

static void log_append(struct iscd *d, int *fd, const char *file, const char *buf, size_t n)
{
	char path[PATH_MAX], old[PATH_MAX + 4];
	snprintf(path, sizeof(path), "%s/isc/%s/%s", d->pool.path, d->cfg.name, file);
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
	int n = snprintf(buf, sizeof(buf), "state=running\nmode=R\npid=%d\nsupervisor=%d\n",
			 d->sb.pid, getpid());
	char path[200];
	snprintf(path, sizeof(path), "%s/state", d->rundir);
	write_file_atomic(AT_FDCWD, path, buf, (size_t)n, 0600);
}

static int isc_prepare(struct iscd *d, const char *isc, struct isc_err *e);

static int isc_start(struct iscd *d, struct isc_err *e)
{
	int r = cgroup_create(&d->cg, e);
	if (r < 0)
		return r;
	r = sandbox_start(&d->spec, &d->sb, e);
	if (r < 0) {
		cgroup_destroy(&d->cg, NULL);
		return r;
	}
	ep_add(d, d->sb.pidfd);
	if (d->sb.console >= 0)
		ep_add(d, d->sb.console);
	ep_add(d, d->sb.devlog);
	write_state(d);
	console_note(d, "isc: booted %s read-only from image %s (%.12s), profile %s",
		     d->cfg.name, d->cfg.image, d->cfg.digest, profile_name(d->cfg.profile));
	return 0;
}

static void isc_teardown(struct iscd *d)
{
	struct isc_err e = { 0 };
	int fds[] = { d->sb.pidfd, d->sb.console, d->sb.devlog };
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
	sandbox_cleanup(&d->spec, &d->sb);
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
	}
	epoll_ctl(d->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = c->session_pidfd = -1;
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

static void do_login(struct iscd *d, struct client *c, const char *payload, size_t len,
		     int *fds, size_t nfds)
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
	struct sandbox_login sl = {
		.init_pidfd = d->sb.pidfd, .cg = &d->cg, .confine = &d->confine,
		.tty = l.tty, .stdio = fds, .argv = argv[0] ? argv : shell, .envp = envp,
	};
	struct isc_err e = { 0 };
	int master = -1;
	pid_t pid = sandbox_login_spawn(&sl, &master, &e);
	if (pid < 0) {
		reply(c->fd, IPC_ERR, e.code, e.msg);
		return;
	}
	c->session_pid = pid;
	c->session_pidfd = pidfd_open(pid, 0);
	ep_add(d, c->session_pidfd);
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
			do_login(d, c, buf, h.len, fds, nfds);
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
			d->clients[i] = (struct client){ .fd = fd, .session_pidfd = -1 };
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
			d->clients[i].session_pidfd = -1;
			ipc_send(d->clients[i].fd, IPC_EXIT, 129, NULL, 0, NULL, 0);
		}
	isc_teardown(d);
	if (!d->run_mode)
		console_note(d, "isc: init exited (status %d)", st);
	if ((d->rebooting || inside_reboot) && !d->run_mode) {
		struct isc_err e = { 0 };
		d->stopping = d->rebooting = false;
		if (isc_prepare(d, d->cfg.name, &e) < 0 || isc_start(d, &e) < 0) {
			console_note(d, "isc: reboot failed: %s", e.msg);
			answer_stoppers(d, IPC_ERR, e.msg);
			return false;
		}
		answer_stoppers(d, IPC_OK, "rebooted");
		return true;
	}
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
			} else if (fd == d->ctl) {
				on_accept(d);
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
			} else {
				for (size_t j = 0; j < MAX_CLIENTS; j++) {
					struct client *c = &d->clients[j];
					if (c->session_pidfd == fd)
						on_session_exit(d, c);
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
	if (d->image_fd >= 0)
		close(d->image_fd);
	d->image_fd = -1;
	r = image_open_verified(&d->pool, d->cfg.digest, ISC_RUN_DIR "/verified", &d->image_fd, e);
	if (r < 0)
		return err_prefix(e, "refusing to boot %s", name);
	d->spec = (struct sandbox_spec){
		.name = d->cfg.name, .uid = d->cfg.uid, .profile = d->cfg.profile,
		.image_fd = d->image_fd, .layers = d->layers, .volumes_dir = d->volumes,
		.volumes = d->cfg.volumes, .tmp_size = d->cfg.tmp_size, .stage = d->stage,
		.init_fd = d->init_fd, .init_argv = d->init_argv, .stdio = d->run_mode ? stdio : NULL,
		.cg = &d->cg, .confine = &d->confine,
	};
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
	snprintf(d->layers, sizeof(d->layers), "%s/isc/%s/layers", d->pool.path, name);
	snprintf(d->volumes, sizeof(d->volumes), "%s/isc/%s/volumes", d->pool.path, name);
	if ((r = sandbox_host_prepare(e)) < 0)
		return r;
	d->image_fd = -1;
	if ((d->init_fd = init_memfd(e)) < 0)
		return d->init_fd;
	cgroup_init(&d->cg, name);
	confine_default(&d->confine);
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
	if ((r = isc_prepare(d, name, e)) < 0)
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
	ep_add(d, d->sigfd);
	ep_add(d, d->timer);
	if (!d->run_mode && (r = ctl_listen(d, e)) < 0)
		return r;
	return isc_start(d, e);
}

static void usage(void)
{
	fprintf(stderr, "usage: iscd --root DIR [--ready-fd N] NAME\n"
			"       iscd --root DIR --run NAME -- CMD...\n"
			"iscd is started by iscadm; it is not meant to be run by hand.\n");
}

int main(int argc, char **argv)
{
	static struct iscd d = { .console_log = -1, .sys_log = -1, .ctl = -1 };
	const char *root = NULL;
	int ready = -1;
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "ready-fd", required_argument, NULL, 'f' },
		{ "run", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'f': ready = atoi(optarg); break;
		case 'R': d.run_mode = true; break;
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
	if (d.run_mode) {
		if (optind < argc && STREQ(argv[optind], "--"))
			optind++;
		if (optind >= argc) {
			usage();
			return 2;
		}
		d.run_argv = argv + optind;
	}
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		d.clients[i] = (struct client){ .fd = -1, .session_pidfd = -1 };
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
	if (ready >= 0) {
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
