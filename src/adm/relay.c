/* relay.c - iscadm between the operator's terminal and an ISC: a pty proxy
 * and pipe relays, so that no descriptor of the host's enters an ISC. */
#include "adm.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

static struct termios saved_tio;
static bool tio_saved;
static volatile sig_atomic_t winch;

static void on_winch(int sig) { (void)sig; winch = 1; }

/* Copy between our terminal and the session's pty until the session ends. */
void pty_proxy(int master)
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
int stdio_relays(unsigned mask, int out[3], pid_t pids[3])
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

void close3(int fds[3])
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
void stdio_relays_end(pid_t pids[3])
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

