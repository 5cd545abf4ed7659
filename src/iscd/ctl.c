/* ctl.c - the supervisor's control socket: root's requests (halt, reboot,
 * status) and login sessions, each in its own bounded cgroup.  iscd. */
#include "iscd.h"

#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

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
	if (c->session.fd >= 0) {
		watch_del(d, &c->session);
		pidfd_send_signal(c->session.fd, SIGHUP, NULL, 0);
		close(c->session.fd);
		orphan_add(d, c->session_pid);
	}
	session_group_end(d, c);
	if (c->notify.fd >= 0) {
		watch_del(d, &c->notify);
		close(c->notify.fd);
	}
	watch_del(d, &c->sock);
	close(c->sock.fd);
	c->sock.fd = c->session.fd = c->notify.fd = -1;
	c->wants_stop = false;
}

void answer_stoppers(struct iscd *d, enum ipc_type t, const char *msg)
{
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (d->clients[i].sock.fd >= 0 && d->clients[i].wants_stop) {
			reply(d->clients[i].sock.fd, t, 0, msg);
			d->clients[i].wants_stop = false;
		}
}

static void on_session_exit(struct iscd *d, struct watch *w, uint32_t events)
{
	struct client *c = w->arg;
	siginfo_t si = { 0 };
	waitid(P_PIDFD, (id_t)c->session.fd, &si, WEXITED | WNOHANG);
	int st = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	watch_del(d, &c->session);
	close(c->session.fd);
	if (si.si_pid == 0)
		orphan_add(d, c->session_pid);   /* not reapable yet: SIGCHLD will tell */
	c->session.fd = -1;
	/* before the answer: the relays' pipes close with what held them */
	session_group_end(d, c);
	ipc_send(c->sock.fd, IPC_EXIT, st, NULL, 0, NULL, 0);
}

void sessions_end_all(struct iscd *d)
{
	for (size_t i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &d->clients[i];
		if (c->session.fd < 0)
			continue;
		watch_del(d, &c->session);
		close(c->session.fd);
		orphan_add(d, c->session_pid);
		c->session.fd = -1;
		c->session_id = 0;   /* the ISC's groups all go now */
		ipc_send(c->sock.fd, IPC_EXIT, 129, NULL, 0, NULL, 0);
	}
}

/* Whether this login may start: a reason to refuse, or NULL. */
static const char *login_refusal(struct iscd *d, const struct ipc_login *l, size_t nfds, const int *fds)
{
	if (!l->tty && nfds != 3)
		return "malformed login request";
	for (size_t i = 0; !l->tty && i < 3; i++)
		if (!fd_is_relay(fds[i]))
			return "login: stdio must be pipes or sockets (iscadm relays them): no host "
			       "file or terminal enters an ISC";
	if (d->quarantined && !l->force)
		return "the ISC is quarantined: iscadm release it first, look at it from the host "
		       "(snapshot, diff, verify), or log in with --force";
	if (l->force && !d->quarantined)
		return "login --force is for a quarantined ISC, and this one is not";
	if (d->frozen && !d->quarantined)
		return "the ISC is frozen: thaw it first (iscadm thaw), or look at it from the host";
	if (l->kind == LOGIN_TRUSTED && !d->spec.trusted_root)
		return boot_mode_writable(d->mode) ? "the ISC is booted read-write already: use a "
		       "plain login" : "login -T needs a read-only ISC booted by iscadm boot";
	size_t open = 0;
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		open += d->clients[i].session_id != 0;
	if (open >= CGROUP_MAX_SESSIONS)
		return "too many sessions open (the most is " ISC_STR(CGROUP_MAX_SESSIONS) "): end one first";
	return NULL;
}

/* The session's process, or negative errno with e set. */
static pid_t login_spawn(struct iscd *d, struct client *c, const struct ipc_login *l, char **argv,
			 const int *fds, int *master, struct isc_err *e)
{
	bool trusted = l->kind == LOGIN_TRUSTED;
	/* a trusted session's shell reads no profile: /etc/profile and
	 * ~/.profile are the image's there, but a login shell would also
	 * follow whatever they source */
	static char *shell[] = { "/bin/sh", "-l", NULL }, *trusted_shell[] = { "/bin/sh", NULL };
	char term[64];
	snprintf(term, sizeof(term), "TERM=%s", l->term[0] ? l->term : "dumb");
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "USER=root",
			 "LOGNAME=root", "SHELL=/bin/sh", "container=isc", term, NULL };
	/* a trusted session writes through the root: Landlock lets it */
	static struct confine tc;
	tc = d->confine;
	memset(tc.writable, 0, sizeof(tc.writable));
	tc.writable[0] = "/";
	tc.fsize = d->cfg.session_size;
	/* from now on a crash of ours still commits what the session wrote */
	if (trusted && commit_state_write(&d->pool, d->cfg.name, "commit -T", d->cfg.digest, e) < 0)
		return -e->code;
	/* each session its own bounded group, so no session, and nothing an
	 * earlier one left, can spend what the next login needs */
	unsigned id = ++d->sessions_made;
	if (cgroup_session_create(&d->cg, id, e) < 0)
		return -e->code;
	c->session_id = id;
	struct sandbox_login sl = {
		.init_pidfd = d->sb.pidfd, .cg = &d->cg, .session = id, .confine = trusted ? &tc : &d->confine,
		.tty = l->tty, .stdio = fds, .argv = argv[0] ? argv : trusted ? trusted_shell : shell,
		.envp = envp, .trusted = trusted, .stage = d->stage, .uid = d->cfg.uid,
	};
	int notify = -1;
	pid_t pid = sandbox_login_spawn(&sl, master, &notify, e);
	if (pid < 0) {
		session_group_end(d, c);
		return pid;
	}
	c->session_pid = pid;
	watch_add(d, &c->session, pidfd_open(pid, 0), on_session_exit, c);
	if (notify >= 0)
		watch_add(d, &c->notify, notify, deny_on_notify, c);
	return pid;
}

static void do_login(struct iscd *d, struct client *c, const char *payload, size_t len,
		     int *fds, size_t nfds)
{
	struct ipc_login l;
	_cleanup_free_ char **argv = NULL;
	struct isc_err e = { 0 };
	if (ipc_login_parse(payload, len, &l, &argv) < 0) {
		reply(c->sock.fd, IPC_ERR, EBADMSG, "malformed login request");
		return;
	}
	const char *no = login_refusal(d, &l, nfds, fds);
	if (no) {
		reply(c->sock.fd, IPC_ERR, EINVAL, no);
		return;
	}
	int master = -1;
	pid_t pid = login_spawn(d, c, &l, argv, fds, &master, &e);
	if (pid < 0) {
		reply(c->sock.fd, IPC_ERR, e.code, e.msg);
		return;
	}
	if (l.force)
		note(d, "quarantine", "isc: a forced login into the quarantine (pid %d, group login/s%u): "
		     "the ISC's own processes stay frozen", (int)pid, c->session_id);
	if (master >= 0) {
		struct winsize ws = { .ws_row = l.rows, .ws_col = l.cols };
		if (l.rows && l.cols)
			ioctl(master, TIOCSWINSZ, &ws);
		ipc_send(c->sock.fd, IPC_PTY, 0, NULL, 0, &master, 1);
		close(master);
	} else {
		reply(c->sock.fd, IPC_OK, 0, NULL);
	}
}

/* iscadm freeze / thaw: every process of the ISC, sessions' too, stopped
 * by the cgroup freezer (for a consistent snapshot, for quarantine) and
 * let go again.  Nothing inside can tell or resist. */
static void do_freeze(struct iscd *d, struct client *c, bool on)
{
	struct isc_err e = { 0 };
	if (d->state != ST_RUNNING) {
		reply(c->sock.fd, IPC_ERR, EBUSY, "ISC is stopping");
		return;
	}
	if (d->quarantined && !on) {
		reply(c->sock.fd, IPC_ERR, EPERM, "the ISC is quarantined: iscadm release it");
		return;
	}
	if (d->frozen == on) {
		reply(c->sock.fd, IPC_OK, 0, on ? "frozen already" : "not frozen");
		return;
	}
	if (cgroup_freeze(&d->cg, on, &e) < 0) {
		reply(c->sock.fd, IPC_ERR, e.code, e.msg);
		return;
	}
	d->frozen = on;
	state_write(d);
	note(d, "freeze", "isc: %s by the host", on ? "frozen" : "thawed");
	reply(c->sock.fd, IPC_OK, 0, on ? "frozen" : "thawed");
}

/* Validate in one switch, act in the state machine or here. */
static void on_request(struct iscd *d, struct client *c, const struct ipc_hdr *h, const char *buf,
		       int *fds, size_t nfds)
{
	char st[128];
	switch ((enum ipc_type)h->type) {
	case IPC_HALT:
		c->wants_stop = true;
		d->next_mode = BOOT_READONLY;
		iscd_event(d, EV_HALT);
		break;
	case IPC_REBOOT:
		/* only the host chooses a writable boot: iscadm says which */
		if (ipc_reboot_parse(buf, h->len, &d->next_mode) < 0) {
			reply(c->sock.fd, IPC_ERR, EBADMSG, "malformed reboot request");
			break;
		}
		c->wants_stop = true;
		iscd_event(d, EV_REBOOT);
		break;
	case IPC_FREEZE:
	case IPC_THAW:
		do_freeze(d, c, h->type == IPC_FREEZE);
		break;
	case IPC_RELEASE: {
		struct isc_err e = { 0 };
		const char *said = d->state == ST_RUNNING ? monitor_release(d, &e) : "not quarantined";
		if (said)
			reply(c->sock.fd, IPC_OK, 0, said);
		else
			reply(c->sock.fd, IPC_ERR, e.code, e.msg);
		break;
	}
	case IPC_STATUS:
		snprintf(st, sizeof(st), "%s R %d", iscd_state_name(d->state), d->sb.pid);
		reply(c->sock.fd, IPC_OK, 0, st);
		break;
	case IPC_LOGIN:
		if (c->session.fd >= 0 || d->state != ST_RUNNING)
			reply(c->sock.fd, IPC_ERR, EBUSY, d->state != ST_RUNNING ? "ISC is stopping" :
			      "session already open");
		else
			do_login(d, c, buf, h->len, fds, nfds);
		break;
	case IPC_OK:
	case IPC_ERR:
	case IPC_PTY:
	case IPC_EXIT:
		client_close(d, c);
		break;
	}
}

static void on_client(struct iscd *d, struct watch *w, uint32_t events)
{
	struct client *c = w->arg;
	struct ipc_hdr h;
	char buf[IPC_MAX + 1];
	int fds[3];
	size_t nfds = 3;
	if (ipc_recv(c->sock.fd, &h, buf, fds, &nfds) < 0)
		client_close(d, c);   /* a malformed message ends the conversation */
	else
		on_request(d, c, &h, buf, fds, nfds);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
}

static void on_accept(struct iscd *d, struct watch *w, uint32_t events)
{
	int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	/* only host root may command a supervisor */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != 0) {
		close(fd);
		return;
	}
	for (size_t i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &d->clients[i];
		if (c->sock.fd < 0) {
			*c = (struct client){ .session.fd = -1, .notify.fd = -1 };
			watch_add(d, &c->sock, fd, on_client, c);
			return;
		}
	}
	close(fd);
}

int ctl_listen(struct iscd *d, struct isc_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ctl", d->rundir);
	unlink(sa.sun_path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	mode_t old = umask(077);  /* the socket is root's alone */
	int r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 8) < 0)
		return err_sys(e, errno, "control socket %s", sa.sun_path);
	return watch_add(d, &d->w_ctl, fd, on_accept, NULL);
}
