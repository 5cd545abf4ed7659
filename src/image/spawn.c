/* spawn.c - run a build tool (mkfs.erofs, debootstrap) and stream its output line by line; iscadm. */
#include "image-internal.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

/* environ minus the keys of extra, plus extra. */
static char **env_build(char *const extra[])
{
	size_t n = strv_length(environ), k = extra ? strv_length(extra) : 0;
	char **env = calloc(n + k + 1, sizeof(*env));
	if (!env)
		return NULL;
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		bool overridden = false;
		for (size_t x = 0; x < k && !overridden; x++) {
			size_t klen = strcspn(extra[x], "=");
			overridden = strncmp(environ[i], extra[x], klen + 1) == 0;
		}
		if (!overridden)
			env[j++] = environ[i];
	}
	for (size_t x = 0; x < k; x++)
		env[j++] = extra[x];
	return env;
}

struct line_buf {
	char line[4096];
	size_t len;
	cmd_line_fn fn;
	void *data;
	char *last;
	size_t lastsize;
};

static void line_emit(struct line_buf *lb)
{
	lb->line[lb->len] = '\0';
	lb->len = 0;
	if (!lb->line[0])
		return;
	if (lb->last && lb->lastsize)
		snprintf(lb->last, lb->lastsize, "%s", lb->line);
	if (lb->fn)
		lb->fn(lb->line, lb->data);
}

static void line_feed(struct line_buf *lb, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || buf[i] == '\r' || lb->len == sizeof(lb->line) - 1)
			line_emit(lb);
		if (buf[i] != '\n' && buf[i] != '\r')
			lb->line[lb->len++] = buf[i];
	}
}

static int spawn_piped(char *const argv[], char *const extra_env[], int outfd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	_cleanup_free_ char **env = env_build(extra_env);
	if (!env)
		return -ENOMEM;
	posix_spawnattr_t at;
	sigset_t none, all;
	/* the tool starts with nothing blocked and every signal at its
	 * default: a supervisor's blocked SIGTERM must not make mkfs.erofs
	 * unstoppable (see sig_reset_for_exec) */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outfd, 1);
	posix_spawn_file_actions_adddup2(&fa, outfd, 2);
	int r = posix_spawnp(pid, argv[0], &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return -r;
}

int cmd_run_lines(char *const argv[], char *const extra_env[], cmd_line_fn fn, void *data,
		  char *last, size_t lastsize)
{
	int p[2];
	pid_t pid;
	if (last && lastsize)
		last[0] = '\0';
	_cleanup_free_ struct line_buf *lb = calloc(1, sizeof(*lb));
	if (!lb)
		return -ENOMEM;
	*lb = (struct line_buf){ .fn = fn, .data = data, .last = last, .lastsize = lastsize };
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	int r = spawn_piped(argv, extra_env, p[1], &pid);
	close(p[1]);
	if (r < 0) {
		close(p[0]);
		return r;
	}
	char buf[4096];
	for (;;) {
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		line_feed(lb, buf, (size_t)n);
	}
	line_emit(lb);
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
