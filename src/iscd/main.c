/* main.c - iscd: the supervisor of one ISC.  Builds its sandbox, owns its
 * cgroup, console and /dev/log, serves the control socket, commits
 * maintenance sessions, and tears everything down.  Runs on the host,
 * started by iscadm (the isc library). */
#include "iscd.h"

#include <fcntl.h>
#include <getopt.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>

/* PID 1 comes from the host, not the image, through a read-only bind of
 * the host's isc-init of its own (detached: in no namespace, no path to
 * it but this descriptor), and every ISC's init shares the host file's
 * pages (a sealed memfd copy held 830 KiB of memory per running ISC).
 * What keeps the ISC from writing it: the file is host root's and not
 * group- or other-writable (checked below; host root is unmapped in an
 * ISC), busy while it runs (ETXTBSY), on a read-only mount, and PID 1's
 * /proc/1/exe is closed to the ISC (not dumpable). */
static int init_open(struct isc_err *e)
{
	char path[PATH_MAX];
	if (isc_libexec_path("isc-init", path, sizeof(path)) < 0)
		return err_set(e, ENOENT, "isc-init not found");
	_cleanup_close_ int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "bind %s", path);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
	if (mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return err_sys(e, errno, "read-only bind of %s", path);
	/* what runs as every ISC's PID 1 is the host administrator's file */
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return err_set(e, EPERM, "%s: not a regular file that only root can change", path);
	return TAKE_FD(fd);
}

/* The self-assembly step (-W): the image's scripts in order, then CMD. */
static char **assembly_argv(char *const *cmd)
{
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
	const char *fixed[] = { "isc-init", "--run", "--", "/bin/sh", "-c", script, "self-assembly" };
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		strv_push(&t, fixed[i]);
	for (size_t i = 0; cmd && cmd[i]; i++)
		strv_push(&t, cmd[i]);
	return t;
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
	char attic[sizeof(d->rundir) + 8];
	snprintf(attic, sizeof(attic), "%s/attic", d->rundir);
	if ((r = sandbox_host_prepare(attic, e)) < 0)
		return r;
	d->nimage = 0;
	if ((d->init_fd = init_open(e)) < 0)
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
	if (d->mode == BOOT_ASSEMBLY)
		d->assembly_argv = assembly_argv(d->run_argv);
	if ((r = session_recover(d, name, e)) < 0)
		return r;
	if ((r = isc_prepare(d, name, e)) < 0)
		return r;
	if ((r = session_begin(d, e)) < 0)
		return r;
	if ((r = iscd_watch_own(d, e)) < 0)
		return r;
	if (!d->run_mode && (r = ctl_listen(d, e)) < 0)
		return r;
	return isc_start(d, e);
}

static void usage(void)
{
	fprintf(stderr, "usage: iscd --root DIR [--ready-fd N] NAME\n"
			"       iscd --root DIR [--ready-fd N] --mode -w|-W NAME [-- CMD...]\n"
			"       iscd --root DIR --run [--tty-fd N] NAME -- CMD...\n"
			"iscd is started by iscadm; it is not meant to be run by hand.\n");
}

struct args {
	const char *root, *name;
	int ready;
};

/* 0, or 2 after a usage message. */
static int args_parse(int argc, char **argv, struct iscd *d, struct args *a)
{
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
		case 'r': a->root = optarg; break;
		case 'f': a->ready = atoi(optarg); break;
		case 'R': d->run_mode = true; break;
		case 't': d->tty_sock = atoi(optarg); break;
		case 'm':
			if (boot_mode_parse(optarg, &d->mode) < 0)
				goto usage;
			break;
		default: goto usage;
		}
	}
	if (optind >= argc || !a->root)
		goto usage;
	a->name = argv[optind++];
	if (a->ready >= 0 && fcntl(a->ready, F_SETFD, FD_CLOEXEC) < 0)
		a->ready = -1;   /* never leak it into the ISC */
	if (d->tty_sock >= 0 && (!d->run_mode || fcntl(d->tty_sock, F_SETFD, FD_CLOEXEC) < 0))
		goto usage;
	if (d->run_mode || d->mode == BOOT_ASSEMBLY) {
		if (optind < argc && STREQ(argv[optind], "--"))
			optind++;
		if (d->run_mode && optind >= argc)
			goto usage;
		d->run_argv = argv + optind;
	}
	return 0;
usage:
	usage();
	return 2;
}

/* The run directory, and its lock held for our whole life: how every
 * other command knows we run. */
static int rundir_lock(struct iscd *d, const char *name, struct isc_err *e)
{
	char lockpath[PATH_MAX];
	run_path(d->rundir, sizeof(d->rundir), name, NULL);
	mkdir_p_at(AT_FDCWD, d->rundir, 0700);
	/* search-only for others: the ISC's own root must reach the stage below
	 * by name while it is built; every file here stays 0600. */
	chmod(ISC_RUN_DIR, 0711);
	chmod(d->rundir, 0711);
	run_path(lockpath, sizeof(lockpath), name, "lock");
	int lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0)
		return err_set(e, EBUSY, "ISC %s is already running", name);
	return 0;
}

static void iscd_init(struct iscd *d)
{
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		d->clients[i] = (struct client){ .sock.fd = -1, .session.fd = -1, .notify.fd = -1 };
	struct watch *own[] = { &d->w_init, &d->w_console, &d->w_devlog, &d->w_notify, &d->w_ctl,
				&d->w_sig, &d->w_timer, &d->w_deny, &d->w_commit, &d->w_monitor,
				&d->w_verify_done, &d->w_status, &d->w_crash };
	for (size_t i = 0; i < ARRAY_SIZE(own); i++)
		own[i]->fd = -1;
	for (size_t i = 0; i < CGROUP_PSI_N; i++)
		d->w_psi[i].fd = -1;
	d->sb.pidfd = d->sb.console = d->sb.devlog = d->sb.userns = -1;
	kernel_probe(&d->kernel, false);
	/* tests: the older kernels' way on this one (t_defence.sh, t_attack.sh) */
	if (getenv("ISC_NO_MDWE"))
		d->kernel.mdwe = false;
}

int main(int argc, char **argv)
{
	static struct iscd d = { .state = ST_RUNNING, .console_log = -1, .sys_log = -1,
				 .ep = -1, .commit_out = -1, .verify_out = -1, .mode = BOOT_READONLY,
				 .next_mode = BOOT_READONLY, .ready = -1, .tty_sock = -1 };
	struct args a = { .ready = -1 };
	if (args_parse(argc, argv, &d, &a))
		return 2;
	iscd_init(&d);
	struct isc_err e = { 0 };
	int status = 1;
	if (!name_valid(a.name)) {
		err_set(&e, EINVAL, "invalid ISC name");
		goto out;
	}
	if (d.run_mode && d.tty_sock < 0 && !(fd_is_relay(0) && fd_is_relay(1) && fd_is_relay(2))) {
		err_set(&e, EINVAL, "run: stdin, stdout and stderr must be pipes or sockets "
			"(iscadm relays them): no host file or terminal enters an ISC");
		goto out;
	}
	if (rundir_lock(&d, a.name, &e) < 0 || setup(&d, a.root, a.name, &e) < 0)
		goto out;
	if (d.mode == BOOT_ASSEMBLY) {
		d.ready = TAKE_FD(a.ready);   /* told when it runs read-only again */
	} else if (a.ready >= 0) {
		write_all(a.ready, "OK\n", 3);
		close(TAKE_FD(a.ready));
	}
	status = iscd_loop(&d);
	e.code = 0;
out:
	if (e.code) {
		if (a.ready >= 0)
			dprintf(a.ready, "ERR %s\n", e.msg);
		else
			fprintf(stderr, "iscd: %s\n", e.msg);
	}
	if (d.w_ctl.fd >= 0) {
		char path[PATH_MAX];
		run_path(path, sizeof(path), a.name, "ctl");
		unlink(path);
	}
	if (d.rundir[0])
		run_state_remove(a.name);
	restock_end(&d);
	config_free(&d.cfg);
	pool_close(&d.pool);
	return e.code ? 1 : status;
}
