/* console_cmd.c - iscadm console: an ISC's console, printed terminal-safe.  iscadm. */
#include "adm.h"

#include <fcntl.h>
#include <getopt.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* The console, rotated by iscd at 1 MiB into console.log.1, is the ISC's
 * own byte stream: root inside chooses every byte.  It is shown escaped
 * (str_escape_ctl) unless --raw: the ISC could otherwise drive the
 * operator's terminal (OSC 52 clipboard writes, screen rewrites, a \r that
 * hides a line).  The supervisor's notes are in the pool's audit log
 * (audit_cmd.c). */
static const char *const console_files[] = { "console.log.1", "console.log" };   /* oldest first */

/* Copy what path held when it was opened to stdout, in chunks; a file that
 * is missing is empty.  Bounded by that size: an ISC writing meanwhile
 * cannot keep us reading. */
static int log_print(int dirfd, const char *path, bool raw, struct isc_err *e)
{
	/* data/ is host-side, but no link is followed to get there anyway, and
	 * a FIFO or device put in a log's place is refused, not read */
	struct open_how how = { .flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd < 0)
		return errno == ENOENT ? 0 : err_sys(e, errno, "open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_sys(e, errno, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, EINVAL, "%s is not a regular file", path);
	char buf[65536];
	size_t have = 0;   /* bytes in buf not yet written: a cut UTF-8 sequence */
	off_t left = st.st_size;
	for (;;) {
		size_t want = sizeof(buf) - have;
		ssize_t k = left > 0 ? read(fd, buf + have, (off_t)want < left ? want : (size_t)left) : 0;
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return err_sys(e, errno, "read %s", path);
		left = k > 0 ? left - k : 0;   /* shorter than it was: done */
		have += (size_t)k;
		ssize_t w = raw ? write_all(1, buf, have) :
			    fd_write_escaped(1, buf, have, ESC_KEEP_NL | (left > 0 ? ESC_MORE : 0));
		w = raw && w == 0 ? (ssize_t)have : w;
		if (w < 0)
			return err_sys(e, (int)-w, "write to standard output");
		memmove(buf, buf + w, have - (size_t)w);
		have -= (size_t)w;
		if (left == 0)
			return 0;
	}
}

int cmd_console(struct adm *a)
{
	static const struct option opts[] = { { "raw", no_argument, NULL, 'r' }, { 0 } };
	bool raw = false;
	int c;
	while ((c = getopt_long(a->argc, a->argv, "", opts, NULL)) != -1) {
		if (c != 'r')
			return adm_usage("console ISC [--raw]");
		raw = true;
	}
	if (optind + 1 != a->argc)
		return adm_usage("console ISC [--raw]");
	const char *name = a->argv[optind];
	struct adm_isc o;
	int r = adm_isc_open(a, name, POOL_LOCK_SHARED, &o);
	if (r)
		return r;
	struct isc_err e = { 0 };
	/* the console is the ISC's data: readable only with its key */
	r = isc_key_ready(&o.pool, &o.cfg, false, &e);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(console_files); i++) {
		char path[200];
		snprintf(path, sizeof(path), "isc/%s/data/%s", name, console_files[i]);
		r = log_print(o.pool.dirfd, path, raw, &e);
	}
	adm_isc_close(&o);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}
