/* relay.c - iscadm between the operator's terminal and an ISC: a pty proxy
 * and pipe relays, so that no descriptor of the host's enters an ISC. */
#include "adm.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>

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

/* The relay thread's whole life: our stdin into the session's (a pipe we
 * write without blocking, so that a session that does not read its input
 * never stops its output reaching us), its stdout and stderr out to ours,
 * until both are at their end or stop is readable.  pipes[i] is -1 where
 * fd i is not relayed. */
static void relay_loop(int pipes[3], int stop)
{
	char in[65536], buf[65536];
	size_t in_len = 0, in_off = 0;
	bool in_open = pipes[0] >= 0;
	if (in_open)
		fcntl(pipes[0], F_SETFL, O_NONBLOCK);
	while (pipes[1] >= 0 || pipes[2] >= 0) {
		struct pollfd pf[5] = {
			{ .fd = in_open && in_len == 0 ? 0 : -1, .events = POLLIN },
			{ .fd = in_len > 0 ? pipes[0] : -1, .events = POLLOUT },
			{ .fd = pipes[1], .events = POLLIN },
			{ .fd = pipes[2], .events = POLLIN },
			{ .fd = stop, .events = POLLIN },
		};
		if (poll(pf, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pf[4].revents)
			return;
		if (pf[0].revents) {
			ssize_t n = read(0, in, sizeof(in));
			if (n > 0) {
				in_len = (size_t)n;
				in_off = 0;
			} else if (n == 0 || errno != EINTR) {
				in_open = false;   /* our end of input: the session sees its own */
				close(pipes[0]);
				pipes[0] = -1;
			}
		}
		if (pf[1].revents) {
			ssize_t n = write(pipes[0], in + in_off, in_len - in_off);
			if (n > 0 && (in_off += (size_t)n) == in_len)
				in_len = 0;
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				in_open = false;   /* the session closed its input */
				in_len = 0;
				close(pipes[0]);
				pipes[0] = -1;
			}
		}
		for (int i = 1; i <= 2; i++) {
			if (!pf[i + 1].revents)
				continue;
			ssize_t n = read(pipes[i], buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || write_all(i, buf, (size_t)n) < 0) {
				close(pipes[i]);
				pipes[i] = -1;
			}
		}
	}
}

static void *relay_run(void *p)
{
	struct relay *rl = p;
	relay_loop(rl->pipes, rl->stop[0]);
	return NULL;
}

/* No descriptor of the host's ever enters an ISC: not a terminal (a
 * process left behind could read what the operator types later, inject
 * input with TIOCSTI or write escapes to the screen), not a file (it could
 * truncate or rewrite it later), not a pipeline end (it could hold it
 * open).  Each of fds 0-2 named in mask is relayed through a pipe by one
 * thread of ours instead (a thread, not a child: a fork costs about a
 * millisecond where the hypervisor shadows page tables); out[] holds what
 * the session gets, the others get /dev/null. */
int stdio_relays(unsigned mask, int out[3], struct relay *rl)
{
	*rl = (struct relay){ .pipes = { -1, -1, -1 }, .stop = { -1, -1 } };
	for (int i = 0; i < 3; i++)
		out[i] = -1;
	for (int i = 0; i < 3; i++) {
		int p[2];
		if (!(mask & (1u << i))) {
			if ((out[i] = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
				goto fail;
			continue;
		}
		if (pipe2(p, O_CLOEXEC) < 0)
			goto fail;
		out[i] = i == 0 ? p[0] : p[1];
		rl->pipes[i] = i == 0 ? p[1] : p[0];
	}
	if (pipe2(rl->stop, O_CLOEXEC) < 0)
		goto fail;
	/* a reader gone from our stdout is the relay's business (EPIPE),
	 * not our death; and signals (^C) are the main thread's */
	signal(SIGPIPE, SIG_IGN);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&rl->thread, NULL, relay_run, rl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		errno = r;
		goto fail;
	}
	rl->running = true;
	return 0;
fail:;
	int err = errno;
	stdio_relays_end(rl);
	close3(out);
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
 * stops reading the terminal. */
void stdio_relays_end(struct relay *rl)
{
	if (rl->running) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(rl->thread, NULL, &until) != 0) {
			if (write(rl->stop[1], "", 1) < 0) {
				/* the pipe is empty and ours: cannot fail */
			}
			pthread_join(rl->thread, NULL);
		}
		rl->running = false;
	}
	close3(rl->pipes);
	for (int i = 0; i < 2; i++)
		if (rl->stop[i] >= 0) {
			close(rl->stop[i]);
			rl->stop[i] = -1;
		}
}
