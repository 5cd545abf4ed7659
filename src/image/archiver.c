/* archiver.c - isc-archive, the confined program that parses archives, as
 * iscadm's image builds, sends and receives run it; and the "tar:FILE"
 * image source through it.  iscadm. */
#include "image-internal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

static void close_pipe(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
}

int archiver_start(struct archiver *a, char *const args[], int cwd, int in, bool pipe_in, bool pipe_out,
		   struct isc_err *e)
{
	char prog[PATH_MAX];
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	*a = (struct archiver){ .pid = -1, .in = -1, .out = -1, .err = -1 };
	if (isc_libexec_path("isc-archive", prog, sizeof(prog)) < 0)
		return err_set(e, ENOENT, "isc-archive not found next to iscadm or in " ISC_LIBEXECDIR
			       ": reinstall isc");
	char *argv[8] = { prog };
	for (size_t i = 0; args[i] && i + 2 < ARRAY_SIZE(argv); i++)
		argv[i + 1] = args[i];
	/* its end of a pipe we write is ours to see close (EPIPE, not a signal) */
	signal(SIGPIPE, SIG_IGN);
	_cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	int r = 0;
	if (null < 0 || pipe2(perr, O_CLOEXEC) < 0 || (pipe_in && pipe2(pin, O_CLOEXEC) < 0) ||
	    (pipe_out && pipe2(pout, O_CLOEXEC) < 0)) {
		r = err_sys(e, errno, "isc-archive: pipe");
		goto out;
	}
	posix_spawn_file_actions_adddup2(&fa, pipe_in ? pin[0] : in >= 0 ? in : null, 0);
	posix_spawn_file_actions_adddup2(&fa, pipe_out ? pout[1] : null, 1);
	posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
	if (cwd >= 0)
		posix_spawn_file_actions_addfchdir_np(&fa, cwd);
	int k = posix_spawn(&a->pid, prog, &fa, NULL, argv, environ);
	if (k != 0) {
		a->pid = -1;
		r = err_sys(e, k, "run %s", prog);
		goto out;
	}
	a->err = perr[0];
	perr[0] = -1;
	if (pipe_in) {
		a->in = pin[1];
		pin[1] = -1;
	}
	if (pipe_out) {
		a->out = pout[0];
		pout[0] = -1;
	}
out:
	posix_spawn_file_actions_destroy(&fa);
	close_pipe(pin);
	close_pipe(pout);
	close_pipe(perr);
	return r;
}

int archiver_finish(struct archiver *a, char *msg, size_t n)
{
	int st = 0;
	size_t got = 0;
	if (a->in >= 0)
		close(a->in);
	if (a->out >= 0)
		close(a->out);
	a->in = a->out = -1;
	msg[0] = '\0';
	/* its one line, bounded; escaped again by whoever prints it */
	while (a->err >= 0 && got + 1 < n) {
		ssize_t k = read(a->err, msg + got, n - 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	msg[got] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (a->err >= 0)
		close(a->err);
	a->err = -1;
	while (a->pid > 0 && waitpid(a->pid, &st, 0) < 0 && errno == EINTR)
		;
	a->pid = -1;
	if (!msg[0])
		snprintf(msg, n, "isc-archive %s", WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "failed");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

void archiver_kill(struct archiver *a)
{
	if (a->pid > 0)
		kill(a->pid, SIGKILL);
	char ignore[8];
	archiver_finish(a, ignore, sizeof(ignore));
}

int image_source_tar(int treefd, const char *file, int64_t *epoch, struct isc_err *e)
{
	char msg[512], out[64] = "";
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "tar %s", file);
	struct archiver a;
	char *args[] = { "tar", (char *)file, NULL };
	int r = archiver_start(&a, args, treefd, fd, false, true, e);
	if (r < 0)
		return r;
	ssize_t k = read_all(a.out, out, sizeof(out) - 1);
	out[k > 0 ? k : 0] = '\0';
	if ((r = archiver_finish(&a, msg, sizeof(msg))) != 0)
		return err_set(e, r == 1 ? EPERM : r == 3 ? EINVAL : EIO, "%s", msg);
	long long v;
	if (sscanf(out, "epoch %lld", &v) != 1)
		return err_set(e, EIO, "tar %s: isc-archive said nothing of the epoch", file);
	if (v > *epoch)
		*epoch = v;
	return 0;
}

const char *image_name_shown(const char *name, char *buf, size_t n)
{
	size_t i = 0;
	for (; name[i] && i + 1 < n; i++)
		buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
	buf[i] = '\0';
	return buf;
}
