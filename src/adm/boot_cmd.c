/* boot_cmd.c - iscadm boot|halt|reboot|login|run: arguments and output; the
 * lifecycle itself is the isc library's. */
#include "adm.h"

#include <getopt.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* boot -a / halt -a: every ISC marked autoboot that does not run, or every
 * one that runs; each said on its own line, one failure does not stop the
 * others.  At host start and shutdown (contrib/systemd/isc.service). */
static int each_isc(struct adm *a, bool boot)
{
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_SHARED);
	if (r)
		return r;
	_cleanup_strv_ char **names = NULL;
	r = adm_isc_names(&p, NULL, &names);
	struct isc_config *cfgs = r ? NULL : calloc(strv_length(names) + 1, sizeof(*cfgs));
	size_t n = 0;
	for (size_t i = 0; cfgs && names[i]; i++) {
		struct isc_err e = { 0 };
		if (isc_config_load(&p, names[i], &cfgs[n], &e) == 0)
			n++;
	}
	pool_close(&p);
	if (r || !cfgs)
		return r ? r : EXIT_FAIL;
	int status = EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		const char *name = cfgs[i].name;
		struct isc_err e = { 0 };
		bool running = isc_running(name);
		if (boot && cfgs[i].autoboot && !running) {
			/* never prompts: a key behind a prompt waits for key load */
			struct isc_boot b = { .mode = BOOT_READONLY, .interactive = false };
			if (isc_boot(a->root, name, &b, &e) < 0)
				status = adm_fail(&e);
			else
				printf("%s: booted\n", name);
		} else if (!boot && running) {
			if (isc_halt(name, &e) < 0)
				status = adm_fail(&e);
			else
				printf("%s: halted\n", name);
		}
		fflush(stdout);
		config_free(&cfgs[i]);
	}
	free(cfgs);
	return status;
}

int cmd_boot(struct adm *a)
{
	static const char usage[] = "boot ISC | boot -w ISC | boot -W ISC [-- CMD...] | boot -a";
	struct isc_boot b = { .mode = BOOT_READONLY, .interactive = true };
	int c;
	if (a->argc == 2 && STREQ(a->argv[1], "-a"))
		return each_isc(a, true);
	while ((c = getopt(a->argc, a->argv, "+wW")) != -1) {
		if (c != 'w' && c != 'W')
			return adm_usage("%s", usage);
		b.mode = c == 'w' ? BOOT_MAINTENANCE : BOOT_ASSEMBLY;
	}
	if (optind >= a->argc)
		return adm_usage("%s", usage);
	const char *name = a->argv[optind++];
	if (optind < a->argc) {
		if (b.mode != BOOT_ASSEMBLY || !STREQ(a->argv[optind], "--") || optind + 1 >= a->argc)
			return adm_usage("%s", usage);
		b.cmd = a->argv + optind + 1;
	}
	struct isc_err e = { 0 };
	if (isc_boot(a->root, name, &b, &e) < 0)
		return adm_fail(&e);
	if (b.mode == BOOT_ASSEMBLY)
		printf("%s: %s\n", name, str_has_prefix(b.said, "OK committed") ?
		       "update committed, running read-only" : "nothing changed, running read-only");
	return EXIT_OK;
}

int cmd_halt(struct adm *a)
{
	if (a->argc != 2)
		return adm_usage("halt ISC | halt -a");
	if (STREQ(a->argv[1], "-a"))
		return each_isc(a, false);
	struct isc_err e = { 0 };
	return adm_isc_exists(a, a->argv[1]) ?: isc_halt(a->argv[1], &e) < 0 ? adm_fail(&e) : EXIT_OK;
}

/* freeze ISC / thaw ISC */
static int freeze_cmd(struct adm *a, bool on)
{
	if (a->argc != 2)
		return adm_usage(on ? "freeze ISC" : "thaw ISC");
	struct isc_err e = { 0 };
	return adm_isc_exists(a, a->argv[1]) ?: isc_freeze(a->argv[1], on, &e) < 0 ? adm_fail(&e) : EXIT_OK;
}

/* release ISC: lift the monitor's quarantine */
int cmd_release(struct adm *a)
{
	if (a->argc != 2)
		return adm_usage("release ISC");
	struct isc_err e = { 0 };
	char said[128] = "";
	int r = adm_isc_exists(a, a->argv[1]);
	if (r)
		return r;
	if (isc_release(a->argv[1], said, sizeof(said), &e) < 0)
		return adm_fail(&e);
	if (!STREQ(said, "released")) {
		err_set(&e, EINVAL, "ISC %s is %s", a->argv[1], said);
		return adm_fail(&e);
	}
	return EXIT_OK;
}

int cmd_freeze(struct adm *a)
{
	return freeze_cmd(a, true);
}

int cmd_thaw(struct adm *a)
{
	return freeze_cmd(a, false);
}

int cmd_reboot(struct adm *a)
{
	enum boot_mode mode = BOOT_READONLY;
	int c;
	while ((c = getopt(a->argc, a->argv, "+w")) != -1) {
		if (c != 'w')
			return adm_usage("reboot [-w] ISC");
		mode = BOOT_MAINTENANCE;
	}
	if (optind + 1 != a->argc)
		return adm_usage("reboot [-w] ISC");
	struct isc_err e = { 0 };
	if (isc_reboot(a->root, a->argv[optind], mode, &e) < 0)
		return adm_fail(&e);
	return EXIT_OK;
}

int cmd_login(struct adm *a)
{
	static const char usage[] = "login [-T] [--force] ISC [-- CMD...]";
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	struct isc_login l = { .kind = LOGIN_PLAIN, .tty = isatty(0) && isatty(1), .term = getenv("TERM") };
	int opt;
	while ((opt = getopt_long(a->argc, a->argv, "+T", opts, NULL)) != -1) {
		if (opt == 'T')
			l.kind = LOGIN_TRUSTED;
		else if (opt == 'f')
			l.force = true;
		else
			return adm_usage("%s", usage);
	}
	if (optind >= a->argc)
		return adm_usage("%s", usage);
	const char *name = a->argv[optind];
	char **cmd = a->argv + optind + 1;
	if (*cmd && STREQ(*cmd, "--"))
		cmd++;
	else if (*cmd)
		return adm_usage("%s", usage);
	l.argv = cmd;
	int r = adm_isc_exists(a, name);
	if (r)
		return r;
	struct winsize ws;
	if (l.tty && ioctl(0, TIOCGWINSZ, &ws) == 0) {
		l.rows = ws.ws_row;
		l.cols = ws.ws_col;
	}
	struct isc_err e = { 0 };
	int stdio[3] = { -1, -1, -1 };
	struct relay relay = { .pipes = { -1, -1, -1 }, .stop = { -1, -1 } };
	if (!l.tty && (r = stdio_relays(07, stdio, &relay)) < 0) {
		err_sys(&e, -r, "ISC %s: relay the terminal", name);
		return adm_fail(&e);
	}
	l.stdio = stdio;
	int sock, master;
	r = isc_login_start(name, &l, &sock, &master, &e);
	close3(stdio);   /* the session has its copy now */
	if (r < 0) {
		stdio_relays_end(&relay);
		return adm_fail(&e);
	}
	if (master >= 0) {
		pty_proxy(master);
		close(master);
	}
	int status = isc_login_wait(sock);
	close(sock);
	stdio_relays_end(&relay);
	return status < 0 ? EXIT_FAIL : status;
}

static volatile sig_atomic_t run_iscd;

/* SIGTERM or SIGHUP to us, or ^C without a pty: the supervisor stops the ISC. */
static void on_run_signal(int sig)
{
	(void)sig;
	if (run_iscd > 0)
		kill(run_iscd, SIGTERM);
}

/* The supervisor of run, in a session of its own.  With a terminal the
 * ISC gets a pty of its own, whose master iscd sends back on a socket for
 * us to proxy; without one, pipes.  Either way nothing of our terminal or
 * session goes in.  Returns the command's exit status. */
static int run_supervised(struct adm *a, const char *name, char **cmd, struct isc_err *e)
{
	bool tty = isatty(0) && isatty(1);
	int sv[2] = { -1, -1 }, stdio[3];
	struct relay relay;
	if (tty && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_sys(e, errno, "socketpair");
	/* with a pty, iscd's own messages still reach our stderr */
	int r = stdio_relays(tty ? 06 : 07, stdio, &relay);
	if (r < 0) {
		close3((int[3]){ sv[0], sv[1], -1 });
		return err_sys(e, -r, "relay stdio");
	}
	struct isc_run rn = { .root = a->root, .name = name, .cmd = cmd, .stdio = stdio, .tty_sock = sv[1] };
	pid_t pid = isc_run_spawn(&rn, e);
	close3(stdio);
	if (sv[1] >= 0)
		close(sv[1]);
	if (pid < 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		stdio_relays_end(&relay);
		return pid;
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
	stdio_relays_end(&relay);
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
