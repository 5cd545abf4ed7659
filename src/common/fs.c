/* fs.c - crash-safe file writes, whole-file reads, tree removal, fd passing, child commands. */
#include "common.h"

#include <signal.h>
#include <sys/prctl.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int fsync_dir_at(int dirfd, const char *path)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fsync(fd) < 0 ? -errno : 0;
}

int write_file_replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
		       unsigned flags)
{
	char tmp[PATH_MAX + 64];
	const char *slash = strrchr(name, '/');
	char dir[PATH_MAX] = ".";
	if (slash) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - name), name);
		snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%d", dir, slash + 1, getpid());
	} else {
		snprintf(tmp, sizeof(tmp), ".%s.tmp.%d", name, getpid());
	}
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && (flags & WRITE_SYNC_DATA) && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	return flags & WRITE_SYNC_DIR ? fsync_dir_at(dirfd, dir) : 0;
}

int write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	return write_file_replace(dirfd, name, data, len, mode, WRITE_SYNC_DATA | WRITE_SYNC_DIR);
}

int read_file_at(int dirfd, const char *path, char **buf, size_t *len, size_t max)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((size_t)st.st_size > max)
		return -EFBIG;
	_cleanup_free_ char *b = malloc((size_t)st.st_size + 1);
	if (!b)
		return -ENOMEM;
	ssize_t n = read_all(fd, b, (size_t)st.st_size);
	if (n < 0)
		return (int)n;
	b[n] = '\0';
	if (len)
		*len = (size_t)n;
	*buf = TAKE_PTR(b);
	return 0;
}

int mkdir_p_at(int dirfd, const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (str_copy(buf, sizeof(buf), path) < 0)
		return -ENAMETOOLONG;
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdirat(dirfd, buf, mode) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

/* One step of a removal: a file goes, a directory is entered now and
 * removed when the walk leaves it, emptied. */
static int rm_step(struct dirwalk *w, int event)
{
	int fd = dirwalk_fd(w);
	if (event == DIRWALK_LEAVE)
		return unlinkat(fd, w->name, AT_REMOVEDIR) < 0 ? -errno : 0;
	if (S_ISDIR(w->st.st_mode))
		return dirwalk_enter(w);
	return unlinkat(fd, w->name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

int rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
	/* Depth first, so nothing is renamed: in an fscrypt tree whose key is
	 * not loaded a rename is ENOKEY, an unlink or rmdir is not. */
	struct dirwalk w;
	int r = dirwalk_open(&w, dirfd, name, true);
	while (r >= 0 && (r = dirwalk_next(&w)) > 0)
		r = rm_step(&w, r);
	dirwalk_close(&w);
	if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r == -EXDEV ? -EBUSY : r;   /* a mount point below name */
}

int copy_fd(int in, int out)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		break;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		int r = write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
	}
}

pid_t fork_piped(int *fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	close(p[pid == 0 ? 0 : 1]);
	*fd = p[pid == 0 ? 1 : 0];
	return pid;
}

/* posix_spawn (and vfork), not fork: on a host whose page tables the
 * hypervisor shadows a fork costs about a millisecond, and boots and
 * runs wait for these. */
struct spawn {
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int moved[SPAWN_FDS_MAX];
};

static void spawn_done(struct spawn *sp)
{
	posix_spawnattr_destroy(&sp->at);
	posix_spawn_file_actions_destroy(&sp->fa);
	for (int i = 0; i < SPAWN_FDS_MAX; i++)
		if (sp->moved[i] >= 0)
			close(sp->moved[i]);
}

static int spawn_prepare(struct spawn *sp, const int *fds, int n)
{
	sigset_t all, none;
	int r;
	for (int i = 0; i < SPAWN_FDS_MAX; i++)
		sp->moved[i] = -1;
	if (n > SPAWN_FDS_MAX)
		return -EINVAL;
	if ((r = posix_spawn_file_actions_init(&sp->fa)))
		return -r;
	if ((r = posix_spawnattr_init(&sp->at))) {
		posix_spawn_file_actions_destroy(&sp->fa);
		return -r;
	}
	sigfillset(&all);
	sigemptyset(&none);
	for (int i = 0; i < n && r == 0; i++) {
		int src = fds[i];
		/* a source among the targets would be overwritten before its turn */
		if (src < n && src != i && (src = sp->moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, n)) < 0)
			r = errno;
		else
			r = posix_spawn_file_actions_adddup2(&sp->fa, src, i);
	}
	/* nothing else of ours (a lock, a terminal, a file) */
	if (r == 0 && !(r = posix_spawn_file_actions_addclosefrom_np(&sp->fa, n)) &&
	    !(r = posix_spawnattr_setsigdefault(&sp->at, &all)) && !(r = posix_spawnattr_setsigmask(&sp->at, &none)))
		r = posix_spawnattr_setflags(&sp->at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
					     POSIX_SPAWN_SETSIGMASK);
	if (r)
		spawn_done(sp);
	return -r;
}

pid_t spawn_fds(const char *path, char *const argv[], const int *fds, int n)
{
	struct spawn sp;
	pid_t pid;
	int r = spawn_prepare(&sp, fds, n);
	if (r < 0)
		return r;
	r = posix_spawn(&pid, path, &sp.fa, &sp.at, argv, environ);
	spawn_done(&sp);
	return r ? -r : pid;
}

int spawn_detached(const char *path, char *const argv[], const int *fds, int n)
{
	struct spawn sp;
	int r = spawn_prepare(&sp, fds, n);
	if (r < 0)
		return r;
	/* The go-between shares our memory until it exits: it only spawns
	 * (which returns once the exec has happened or failed) and says how
	 * that went. */
	pid_t mid = vfork();
	if (mid == 0) {
		pid_t pid;
		_exit(posix_spawn(&pid, path, &sp.fa, &sp.at, argv, environ) & 0xff);
	}
	int st = 0, w;
	if (mid < 0)
		r = errno;
	else
		while ((w = waitpid(mid, &st, 0)) < 0 && errno == EINTR)
			;
	/* (a caller that ignores SIGCHLD never learns how it went) */
	if (mid > 0)
		r = w < 0 ? errno : WIFEXITED(st) ? WEXITSTATUS(st) : ECHILD;
	spawn_done(&sp);
	return -r;
}

int run_cmd(char *const argv[], bool quiet, char *out, size_t outsize)
{
	int w;
	pid_t pid = fork_piped(&w);
	if (pid < 0)
		return pid;
	if (pid == 0) {
		/* a helper (mkfs, debootstrap) never outlives the command that
		 * started it: no half-written file keeps growing behind our back */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sig_reset_for_exec();
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(null, 0);
		dup2(quiet ? w : 2, 1);
		dup2(w, 2);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	int rd = w;
	size_t got = 0;
	char sink[4096];
	for (;;) {
		char *dst = out && got + 1 < outsize ? out + got : sink;
		size_t room = out && got + 1 < outsize ? outsize - got - 1 : sizeof(sink);
		ssize_t n = read(rd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			got += (size_t)n;
	}
	if (out && outsize)
		out[got] = '\0';
	close(rd);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int fd_send(int sock, const void *data, size_t len, const int *fds, size_t nfds)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds > 8)
		return -EINVAL;
	if (nfds) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

ssize_t fd_recv(int sock, void *data, size_t len, int *fds, size_t *nfds)
{
	struct iovec iov = { .iov_base = data, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	size_t want = nfds ? *nfds : 0;
	if (nfds)
		*nfds = 0;
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *in = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < got; i++) {
			if (nfds && *nfds < want)
				fds[(*nfds)++] = in[i];
			else
				close(in[i]);  /* more than asked for: never leak */
		}
	}
	return n;
}
