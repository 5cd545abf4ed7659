/* boot_cmd.c - iscadm boot|halt|reboot|login|run: talking to supervisors. */
#include "adm.h"
#include "ipc.h"

#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>

/* The ISC exists; with want_key, its key is in the kernel (loaded from its
 * keysource here, where a terminal can be prompted; iscd cannot). */
static int need_isc(struct adm *a, const char *name, bool want_key, struct isc_err *e)
{
	struct pool p;
	struct isc_config c;
	if (pool_open(&p, a->root, POOL_LOCK_SHARED, e) < 0)
		return -e->code;
	int r = isc_config_load(&p, name, &c, e);
	if (r == 0) {
		if (want_key && !isc_running(name))
			r = isc_key_ready(&p, &c, true, e);
		config_free(&c);
	}
	pool_close(&p);
	return r;
}

/* Start iscd detached (its own session, stdio to a log) and wait for its word. */
static int spawn_iscd(struct adm *a, const char *name, char mode, char *const *cmd,
		      char *said, size_t saidn, struct isc_err *e)
{
	char iscd[PATH_MAX], log[200];
	if (isc_libexec_path("iscd", iscd, sizeof(iscd)) < 0)
		return err_set(e, ENOENT, "iscd not found");
	snprintf(log, sizeof(log), ISC_RUN_DIR "/%s", name);
	mkdir_p_at(AT_FDCWD, log, 0700);
	snprintf(log, sizeof(log), ISC_RUN_DIR "/%s/iscd.log", name);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		return err_sys(e, errno, "fork");
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		int null = open("/dev/null", O_RDWR);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(null, 0);
		dup2(out >= 0 ? out : null, 1);
		dup2(out >= 0 ? out : null, 2);
		char fdarg[16];
		snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
		fcntl(p[1], F_SETFD, 0);
		char m[2] = { mode, '\0' };
		char **argv = NULL;
		char *fixed[] = { "iscd", "--root", (char *)a->root, "--ready-fd", fdarg, "--mode", m,
				  (char *)name, "--" };
		for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
			strv_push(&argv, fixed[i]);
		for (size_t i = 0; cmd && cmd[i]; i++)
			strv_push(&argv, cmd[i]);
		execv(iscd, argv);
		_exit(127);
	}
	close(p[1]);
	waitpid(pid, NULL, 0);
	char buf[1200];
	ssize_t n = read_all(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	buf[n > 0 ? n : 0] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	if (said)
		snprintf(said, saidn, "%s", buf);
	/* "OK", "OK committed DIGEST", "OK unchanged" (-W), "FAIL why" (-W:
	 * running read-only, update not made), "ERR why" */
	if (STREQ(buf, "OK") || str_has_prefix(buf, "OK "))
		return 0;
	if (str_has_prefix(buf, "FAIL "))
		return err_set(e, ECANCELED, "ISC %s: %s", name, buf + 5);
	return err_set(e, EIO, "%s", str_has_prefix(buf, "ERR ") ? buf + 4 :
		       "supervisor failed to start (see " ISC_RUN_DIR "/NAME/iscd.log)");
}

/* -w/-W are for the read-only profiles: under none the root is writable already. */
static int writable_ok(struct adm *a, const char *name, struct isc_err *e)
{
	struct pool p;
	struct isc_config c;
	if (pool_open(&p, a->root, POOL_LOCK_SHARED, e) < 0)
		return -e->code;
	int r = isc_config_load(&p, name, &c, e);
	pool_close(&p);
	if (r < 0)
		return r;
	r = c.profile == PROFILE_NONE ? err_set(e, EINVAL, "ISC %s has profile none: its root is "
						"writable already (-w/-W are for read-only ISCs)", name) : 0;
	config_free(&c);
	return r;
}

int cmd_boot(struct adm *a)
{
	static const char usage[] = "boot ISC | boot -w ISC | boot -W ISC [-- CMD...]";
	char mode = 'R';
	int c;
	while ((c = getopt(a->argc, a->argv, "+wW")) != -1) {
		if (c != 'w' && c != 'W')
			return adm_usage("%s", usage);
		mode = c == 'w' ? 'W' : 'T';
	}
	if (optind >= a->argc)
		return adm_usage("%s", usage);
	const char *name = a->argv[optind++];
	char **cmd = NULL;
	if (optind < a->argc) {
		if (mode != 'T' || !STREQ(a->argv[optind], "--") || optind + 1 >= a->argc)
			return adm_usage("%s", usage);
		cmd = a->argv + optind + 1;
	}
	struct isc_err e = { 0 };
	if (need_isc(a, name, true, &e) < 0)
		return adm_fail(&e);
	if (mode != 'R' && writable_ok(a, name, &e) < 0)
		return adm_fail(&e);
	if (isc_running(name)) {
		err_set(&e, EBUSY, "ISC %s is already running", name);
		return adm_fail(&e);
	}
	isc_clean_stale(name);
	char said[300] = "";
	if (spawn_iscd(a, name, mode, cmd, said, sizeof(said), &e) < 0)
		return adm_fail(&e);
	if (mode == 'T')
		printf("%s: %s\n", name, str_has_prefix(said, "OK committed") ?
		       "update committed, running read-only" : "nothing changed, running read-only");
	return EXIT_OK;
}

static int ctl_request(const char *name, enum ipc_type t, int status, char *out, size_t n,
		       struct isc_err *e)
{
	_cleanup_close_ int fd = ipc_connect(name);
	if (fd < 0)
		return err_sys(e, -fd, "ISC %s: supervisor not reachable", name);
	if (ipc_send(fd, t, status, NULL, 0, NULL, 0) < 0)
		return err_sys(e, errno, "ISC %s: send", name);
	struct ipc_hdr h;
	char buf[IPC_MAX + 1];
	int r = ipc_recv(fd, &h, buf, NULL, NULL);
	if (r < 0)
		return err_sys(e, -r, "ISC %s: no answer from supervisor", name);
	if (h.type == IPC_ERR)
		return err_set(e, EIO, "ISC %s: %s", name, buf);
	if (out)
		snprintf(out, n, "%s", buf);
	return 0;
}

int isc_halt(const char *name, bool reboot, struct isc_err *e)
{
	return isc_stop(name, reboot ? 'R' : 0, e);
}

int isc_stop(const char *name, char reboot, struct isc_err *e)
{
	int r = ctl_request(name, reboot ? IPC_REBOOT : IPC_HALT, reboot == 'W' ? 'w' : 0, NULL, 0, e);
	if (r < 0)
		return r;
	/* a writable session is committed before the supervisor exits */
	if (!reboot && isc_wait_stopped(name, 3600) < 0)
		return err_set(e, ETIMEDOUT, "ISC %s: supervisor did not exit", name);
	return 0;
}

static int halt_or_reboot(struct adm *a, bool reboot)
{
	char mode = reboot ? 'R' : 0;
	int c;
	while (reboot && (c = getopt(a->argc, a->argv, "+w")) != -1) {
		if (c != 'w')
			return adm_usage("reboot [-w] ISC");
		mode = 'W';
	}
	if (!reboot)
		optind = 1;
	if (optind + 1 != a->argc)
		return adm_usage("%s ISC", reboot ? "reboot [-w]" : "halt");
	const char *name = a->argv[optind];
	struct isc_err e = { 0 };
	if (need_isc(a, name, false, &e) < 0)
		return adm_fail(&e);
	if (!isc_running(name)) {
		isc_clean_stale(name);
		err_set(&e, EINVAL, "ISC %s is not running", name);
		return adm_fail(&e);
	}
	if (mode == 'W' && writable_ok(a, name, &e) < 0)
		return adm_fail(&e);
	return isc_stop(name, mode, &e) < 0 ? adm_fail(&e) : EXIT_OK;
}

int cmd_halt(struct adm *a) { return halt_or_reboot(a, false); }
int cmd_reboot(struct adm *a) { return halt_or_reboot(a, true); }

static struct termios saved_tio;
static bool tio_saved;
static volatile sig_atomic_t winch;

static void on_winch(int sig) { (void)sig; winch = 1; }

/* Copy between our terminal and the session's pty until the session ends. */
static void pty_proxy(int master)
{
	struct termios raw;
	if (tcgetattr(0, &saved_tio) == 0) {
		tio_saved = true;
		raw = saved_tio;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	signal(SIGWINCH, on_winch);
	char buf[8192];
	bool in_open = true;
	for (;;) {
		if (winch) {
			struct winsize ws;
			winch = 0;
			if (ioctl(0, TIOCGWINSZ, &ws) == 0)
				ioctl(master, TIOCSWINSZ, &ws);
		}
		struct pollfd pf[2] = { { .fd = master, .events = POLLIN }, { .fd = 0, .events = in_open ? POLLIN : 0 } };
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n <= 0)
				break;   /* EIO: the session closed its terminal */
			write_all(1, buf, (size_t)n);
		}
		if (pf[1].revents) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0)
				in_open = false;
			else
				write_all(master, buf, (size_t)n);
		}
	}
	if (tio_saved)
		tcsetattr(0, TCSANOW, &saved_tio);
}

/* Copy from one fd to another until EOF (a relay child's whole life). */
static void copy_until_eof(int from, int to)
{
	char buf[4096];
	for (;;) {
		ssize_t n = read(from, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || write_all(to, buf, (size_t)n) < 0)
			return;
	}
}

/* No descriptor of the host's ever enters an ISC: not a terminal (a
 * process left behind could read what the operator types later, inject
 * input with TIOCSTI or write escapes to the screen), not a file (it could
 * truncate or rewrite it later), not a pipeline end (it could hold it
 * open).  Each of fds 0-2 named in mask is relayed through a pipe by a
 * child of ours instead: out[] holds what the session gets, pids[] the
 * relays (-1: none); the others get /dev/null. */
static int stdio_relays(unsigned mask, int out[3], pid_t pids[3])
{
	for (int i = 0; i < 3; i++) {
		out[i] = -1;
		pids[i] = -1;
	}
	for (int i = 0; i < 3; i++) {
		int p[2];
		if (!(mask & (1u << i))) {
			if ((out[i] = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
				goto fail;
			continue;
		}
		if (pipe2(p, O_CLOEXEC) < 0)
			goto fail;
		pid_t pid = fork();
		if (pid < 0) {
			close(p[0]);
			close(p[1]);
			goto fail;
		}
		if (pid == 0) {
			/* ^C at the terminal is the session's business, not ours */
			signal(SIGINT, SIG_IGN);
			signal(SIGPIPE, SIG_DFL);
			if (i == 0) {
				close(p[0]);
				copy_until_eof(0, p[1]);
			} else {
				close(p[1]);
				copy_until_eof(p[0], i);
			}
			_exit(0);
		}
		close(i == 0 ? p[1] : p[0]);
		out[i] = i == 0 ? p[0] : p[1];
		pids[i] = pid;
	}
	return 0;
fail:;
	int err = errno;
	for (int k = 0; k < 3; k++)
		if (out[k] >= 0) {
			close(out[k]);   /* the relays end with stdio_relays_end */
			out[k] = -1;
		}
	return -err;
}

static void close3(int fds[3])
{
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* The session is over: what it wrote reaches our stdout and stderr (a
 * moment at most: a process it left may hold the pipe), and the relay
 * reading the terminal stops. */
static void stdio_relays_end(pid_t pids[3])
{
	if (pids[0] > 0)
		kill(pids[0], SIGKILL);
	for (int t = 0; t < 50 && ((pids[1] > 0 && waitpid(pids[1], NULL, WNOHANG) == 0) ||
				   (pids[2] > 0 && waitpid(pids[2], NULL, WNOHANG) == 0)); t++)
		usleep(4000);
	for (int i = 0; i < 3; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
}

int cmd_login(struct adm *a)
{
	static const char usage[] = "login [-T] ISC [-- CMD...]";
	bool trusted = false;
	int opt;
	while ((opt = getopt(a->argc, a->argv, "+T")) != -1) {
		if (opt != 'T')
			return adm_usage("%s", usage);
		trusted = true;
	}
	if (optind >= a->argc)
		return adm_usage("%s", usage);
	const char *name = a->argv[optind];
	char **cmd = a->argv + optind + 1;
	if (*cmd && STREQ(*cmd, "--"))
		cmd++;
	else if (*cmd)
		return adm_usage("%s", usage);
	struct isc_err e = { 0 };
	if (need_isc(a, name, false, &e) < 0)
		return adm_fail(&e);
	if (!isc_running(name)) {
		err_set(&e, EINVAL, "ISC %s is not running", name);
		return adm_fail(&e);
	}
	_cleanup_close_ int fd = ipc_connect(name);
	if (fd < 0) {
		err_sys(&e, -fd, "ISC %s: supervisor not reachable", name);
		return adm_fail(&e);
	}
	struct ipc_login l = { .tty = isatty(0) && isatty(1) };
	struct winsize ws;
	if (l.tty && ioctl(0, TIOCGWINSZ, &ws) == 0) {
		l.rows = ws.ws_row;
		l.cols = ws.ws_col;
	}
	const char *term = getenv("TERM");
	snprintf(l.term, sizeof(l.term), "%s", term && strlen(term) < sizeof(l.term) ? term : "");
	char buf[IPC_MAX + 1];
	size_t len;
	if (ipc_login_build(&l, cmd, buf, IPC_MAX, &len) < 0) {
		err_set(&e, E2BIG, "command too long");
		return adm_fail(&e);
	}
	int stdio[3] = { -1, -1, -1 };
	pid_t relays[3] = { -1, -1, -1 };
	int rr = l.tty ? 0 : stdio_relays(07, stdio, relays);
	if (rr < 0) {
		stdio_relays_end(relays);
		err_sys(&e, -rr, "ISC %s: relay the terminal", name);
		return adm_fail(&e);
	}
	/* status 'T': a trusted session (only the host can ask for one) */
	int sent = ipc_send(fd, IPC_LOGIN, trusted ? 'T' : 0, buf, len, l.tty ? NULL : stdio, l.tty ? 0 : 3);
	int err = errno;
	close3(stdio);   /* the session has its copy now */
	if (sent < 0) {
		stdio_relays_end(relays);
		err_sys(&e, err, "ISC %s: send", name);
		return adm_fail(&e);
	}
	struct ipc_hdr h;
	int fds[1];
	size_t nfds = 1;
	if (ipc_recv(fd, &h, buf, fds, &nfds) < 0) {
		stdio_relays_end(relays);
		err_set(&e, EIO, "ISC %s: no answer from supervisor", name);
		return adm_fail(&e);
	}
	if (h.type == IPC_ERR) {
		stdio_relays_end(relays);
		err_set(&e, EIO, "ISC %s: %s", name, buf);
		return adm_fail(&e);
	}
	if (h.type == IPC_PTY && nfds == 1) {
		pty_proxy(fds[0]);
		close(fds[0]);
	}
	nfds = 0;
	int got = ipc_recv(fd, &h, buf, NULL, NULL);
	stdio_relays_end(relays);
	if (got < 0 || h.type != IPC_EXIT)
		return EXIT_FAIL;
	return h.status;
}

static volatile sig_atomic_t run_iscd;

/* SIGTERM or SIGHUP to us, or ^C without a pty: the supervisor stops the ISC. */
static void on_run_signal(int sig)
{
	(void)sig;
	if (run_iscd > 0)
		kill(run_iscd, SIGTERM);
}

/* iscd --run in a session of its own.  With a terminal the ISC gets a pty
 * of its own, whose master iscd sends back on a socket for us to proxy;
 * without one, pipes.  Either way nothing of our terminal or session
 * goes in.  Returns the command's exit status. */
static int run_supervised(struct adm *a, const char *name, char **cmd, struct isc_err *e)
{
	char iscd[PATH_MAX], fdarg[16];
	if (isc_libexec_path("iscd", iscd, sizeof(iscd)) < 0)
		return err_set(e, ENOENT, "iscd not found");
	bool tty = isatty(0) && isatty(1);
	int sv[2] = { -1, -1 }, stdio[3];
	pid_t relays[3];
	if (tty && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(e, errno, "socketpair");
	/* with a pty, iscd's own messages still reach our stderr */
	int r = stdio_relays(tty ? 06 : 07, stdio, relays);
	if (r < 0) {
		stdio_relays_end(relays);
		return err_sys(e, -r, "relay stdio");
	}
	char **argv = NULL;
	const char *fixed[] = { "iscd", "--root", a->root, "--run" };
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		strv_push(&argv, fixed[i]);
	if (tty) {
		snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
		strv_push(&argv, "--tty-fd");
		strv_push(&argv, fdarg);
	}
	strv_push(&argv, name);
	strv_push(&argv, "--");
	for (size_t i = 0; cmd[i]; i++)
		strv_push(&argv, cmd[i]);
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		for (int i = 0; i < 3; i++)
			dup2(stdio[i], i);
		if (tty)
			fcntl(sv[1], F_SETFD, 0);
		sig_reset_for_exec();
		execv(iscd, argv);
		_exit(127);
	}
	int err = errno;
	strv_free(argv);
	close3(stdio);
	if (sv[1] >= 0)
		close(sv[1]);
	if (pid < 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		stdio_relays_end(relays);
		return err_sys(e, err, "fork");
	}
	run_iscd = pid;
	struct sigaction sa = { .sa_handler = on_run_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (tty) {
		int master[1];
		size_t nf = 1;
		char m;
		if (fd_recv(sv[0], &m, 1, master, &nf) == 1 && nf == 1) {
			struct winsize ws;
			if (ioctl(0, TIOCGWINSZ, &ws) == 0)
				ioctl(master[0], TIOCSWINSZ, &ws);
			pty_proxy(master[0]);
			close(master[0]);
		}
		close(sv[0]);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	run_iscd = 0;
	stdio_relays_end(relays);
	return WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_FAIL;
}

int cmd_run(struct adm *a)
{
	bool rm = false;
	const char *image = NULL, *profile = NULL;
	_cleanup_strv_ char **sets = calloc(1, sizeof(char *));
	static const struct option opts[] = {
		{ "rm", no_argument, NULL, 'r' },
		{ "image", required_argument, NULL, 'i' },
		{ "profile", required_argument, NULL, 'p' },
		{ "set", required_argument, NULL, 's' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(a->argc, a->argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rm = true; break;
		case 'i': image = optarg; break;
		case 'p': profile = optarg; break;
		case 's': strv_push(&sets, optarg); break;
		default: return adm_usage("run --rm --image NAME [--profile P] -- CMD...");
		}
	}
	if (!rm || !image || optind >= a->argc)
		return adm_usage("run --rm --image NAME [--profile P] -- CMD...");
	char **cmd = a->argv + optind;
	char name[64];
	snprintf(name, sizeof(name), "run-%d", getpid());
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct isc_create_opts o = { .image = image, .profile = profile, .sets = sets, .ephemeral = true };
	r = isc_create(&p, name, &o, &e);
	pool_close(&p);
	if (r < 0)
		return adm_fail(&e);
	int status = run_supervised(a, name, cmd, &e);
	if (status < 0)
		status = adm_fail(&e);
	if (pool_open(&p, a->root, POOL_LOCK_EXCLUSIVE, &e) == 0) {
		isc_destroy(&p, name, &e);
		pool_close(&p);
	}
	return status;
}
