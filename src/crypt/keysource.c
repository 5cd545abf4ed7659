/* keysource.c - where a wrapping key comes from (raw/hex/passphrase, file or prompt); iscadm and iscd. */
#include "crypt.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>

static const char *const format_names[] = {
	[KS_RAW] = "raw", [KS_HEX] = "hex", [KS_PASSPHRASE] = "passphrase",
};

int keysource_parse(const char *text, struct keysource *ks, struct isc_err *e)
{
	static const char usage[] = "(FORMAT,LOCATION: raw|hex|passphrase,file:///PATH|prompt)";
	memset(ks, 0, sizeof(*ks));
	const char *comma = strchr(text, ',');
	if (!comma)
		return err_set(e, EINVAL, "keysource '%s' has no location %s", text, usage);
	size_t flen = (size_t)(comma - text);
	size_t i;
	for (i = 0; i < ARRAY_SIZE(format_names); i++)
		if (strlen(format_names[i]) == flen && strncmp(text, format_names[i], flen) == 0)
			break;
	if (i == ARRAY_SIZE(format_names))
		return err_set(e, EINVAL, "keysource '%s': unknown format %s", text, usage);
	ks->format = (enum ks_format)i;
	const char *loc = comma + 1;
	if (STREQ(loc, "prompt")) {
		/* 32 random bytes cannot be typed */
		if (ks->format == KS_RAW)
			return err_set(e, EINVAL, "keysource '%s': raw keys cannot be prompted for; "
				       "use hex or passphrase", text);
		ks->location = KS_PROMPT;
		return 0;
	}
	if (!str_has_prefix(loc, "file://"))
		return err_set(e, EINVAL, "keysource '%s': unknown location %s", text, usage);
	const char *path = loc + strlen("file://");
	if (path[0] != '/')
		return err_set(e, EINVAL, "keysource '%s': the key file path must be absolute "
			       "(file:///...)", text);
	if (strstr(path, "/../") || str_has_prefix(path, "../") ||
	    (strlen(path) >= 3 && STREQ(path + strlen(path) - 3, "/..")) || path[strlen(path) - 1] == '/')
		return err_set(e, EINVAL, "keysource '%s': the key file path must name a file", text);
	for (const char *c = path; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == ',')
			return err_set(e, EINVAL, "keysource '%s': bad character in the path", text);
	if (str_copy(ks->path, sizeof(ks->path), path) < 0)
		return err_set(e, ENAMETOOLONG, "keysource '%s': path too long", text);
	ks->location = KS_FILE;
	return 0;
}

void keysource_format(const struct keysource *ks, char *buf, size_t n)
{
	if (ks->location == KS_PROMPT)
		snprintf(buf, n, "%s,prompt", format_names[ks->format]);
	else
		snprintf(buf, n, "%s,file://%s", format_names[ks->format], ks->path);
}

/* raw: exactly 32 bytes.  hex: 64 hex digits, a newline allowed.
 * passphrase: 8-512 bytes, one trailing newline dropped. */
static int material_from(const struct keysource *ks, const unsigned char *in, size_t len,
			 const char *where, struct secret *out, struct isc_err *e)
{
	int r;
	switch (ks->format) {
	case KS_RAW:
		if (len != CRYPT_KEY_SIZE)
			return err_set(e, EINVAL, "%s holds %zu bytes; a raw key is %d bytes",
				       where, len, CRYPT_KEY_SIZE);
		if ((r = secret_alloc(out, CRYPT_KEY_SIZE)) < 0)
			return err_set(e, -r, "out of locked memory");
		memcpy(out->buf, in, CRYPT_KEY_SIZE);
		return 0;
	case KS_HEX: {
		while (len && (in[len - 1] == '\n' || in[len - 1] == '\r'))
			len--;
		size_t bin_len = 0;
		if ((r = secret_alloc(out, CRYPT_KEY_SIZE)) < 0)
			return err_set(e, -r, "out of locked memory");
		if (len != 2 * CRYPT_KEY_SIZE ||
		    sodium_hex2bin(out->buf, CRYPT_KEY_SIZE, (const char *)in, len, NULL, &bin_len, NULL) < 0 ||
		    bin_len != CRYPT_KEY_SIZE) {
			secret_free(out);
			return err_set(e, EINVAL, "%s: a hex key is %d hex digits", where, 2 * CRYPT_KEY_SIZE);
		}
		return 0;
	}
	case KS_PASSPHRASE:
		if (len && in[len - 1] == '\n')
			len--;
		if (len && in[len - 1] == '\r')
			len--;
		if (len < CRYPT_PASS_MIN || len > CRYPT_PASS_MAX)
			/* not how long it was: that says something about it */
			return err_set(e, EINVAL, "%s: a passphrase is %d to %d bytes",
				       where, CRYPT_PASS_MIN, CRYPT_PASS_MAX);
		if ((r = secret_alloc(out, len)) < 0)
			return err_set(e, -r, "out of locked memory");
		memcpy(out->buf, in, len);
		return 0;
	}
	return err_set(e, EINVAL, "bad key format");
}

static int read_key_file(const struct keysource *ks, struct secret *out, struct isc_err *e)
{
	/* O_NONBLOCK: a FIFO planted at the path must not hang us before the
	 * regular-file check (reads of regular files ignore the flag).  No
	 * symlink anywhere in the path: what is read is what the path names. */
	struct open_how how = { .flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, AT_FDCWD, ks->path, &how, sizeof(how));
	if (fd < 0) {
		if (errno == ENOENT)
			return err_set(e, ENOKEY, "key not found at %s", ks->path);
		if (errno == ELOOP)
			return err_set(e, ELOOP, "key file %s: its path goes through a symlink "
				       "(give the real path)", ks->path);
		return err_sys(e, errno, "key file %s", ks->path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_sys(e, errno, "key file %s", ks->path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, EINVAL, "key file %s is not a regular file", ks->path);
	/* Refuse rather than warn: a key others can read is already lost. */
	if (st.st_mode & 077)
		return err_set(e, EPERM, "key file %s has mode %04o: it must not be accessible "
			       "to group or others (chmod 600)", ks->path, (unsigned)(st.st_mode & 07777));
	if (st.st_uid != 0)
		return err_set(e, EPERM, "key file %s is owned by uid %u, not root",
			       ks->path, (unsigned)st.st_uid);
	struct secret raw _cleanup_secret_ = { 0 };
	if (secret_alloc(&raw, CRYPT_PASS_MAX + 3) < 0)
		return err_set(e, ENOMEM, "out of locked memory");
	ssize_t n = read_all(fd, raw.buf, raw.len);
	if (n < 0)
		return err_sys(e, (int)-n, "read key file %s", ks->path);
	if ((size_t)n == raw.len)
		return err_set(e, EFBIG, "key file %s is too large", ks->path);
	return material_from(ks, raw.buf, (size_t)n, ks->path, out, e);
}

static volatile sig_atomic_t tty_signal;
static void on_tty_signal(int sig)
{
	tty_signal = sig;
}

/* One line from the terminal with echo off; the buffer is locked memory.
 * ^C, ^Z and the like end the read: the terminal gets its echo back
 * first, then the signal takes its course (-EINTR if it returns). */
static int tty_read_line(int tty, const char *prompt, struct secret *line, size_t *len)
{
	static const int sigs[] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP };
	struct sigaction sa = { .sa_handler = on_tty_signal }, saved[ARRAY_SIZE(sigs)];
	struct termios old, quiet;
	if (tcgetattr(tty, &old) < 0)
		return -errno;
	tty_signal = 0;
	sigemptyset(&sa.sa_mask);   /* no SA_RESTART: the read returns EINTR */
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, &saved[i]);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* echo off before the prompt shows, so nothing typed is ever echoed;
	 * TCSANOW, not FLUSH: typed-ahead lines (a confirming one) are kept */
	if (tcsetattr(tty, TCSANOW, &quiet) < 0)
		return -errno;
	(void)!write(tty, prompt, strlen(prompt));
	size_t n = 0;
	int r = 0;
	for (;;) {
		char c;
		ssize_t k = read(tty, &c, 1);
		if (k < 0 && errno == EINTR && !tty_signal)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : -ENODATA;
			break;
		}
		if (c == '\n')
			break;
		if (n < line->len)
			line->buf[n] = (unsigned char)c;
		n++;
	}
	tcsetattr(tty, TCSANOW, &old);
	(void)!write(tty, "\n", 1);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &saved[i], NULL);
	if (tty_signal) {
		raise(tty_signal);   /* with the terminal as it was */
		r = -EINTR;
	}
	*len = n;
	return r;
}

static int read_prompt(const struct keysource *ks, const char *whom, bool confirm,
		       struct secret *out, struct isc_err *e)
{
	_cleanup_close_ int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty < 0 || !isatty(tty))
		return err_set(e, ENOTTY, "no terminal to prompt for the key of %s", whom);
	const char *what = ks->format == KS_HEX ? "hex key" : "passphrase";
	char prompt[160];
	struct secret a _cleanup_secret_ = { 0 }, b _cleanup_secret_ = { 0 };
	size_t alen = 0, blen = 0;
	if (secret_alloc(&a, CRYPT_PASS_MAX + 2) < 0 || secret_alloc(&b, CRYPT_PASS_MAX + 2) < 0)
		return err_set(e, ENOMEM, "out of locked memory");
	snprintf(prompt, sizeof(prompt), "Enter %s for %s: ", what, whom);
	int r = tty_read_line(tty, prompt, &a, &alen);
	if (r < 0)
		return err_sys(e, -r, "read %s for %s", what, whom);
	if (alen > a.len)
		return err_set(e, EINVAL, "%s for %s: too long", what, whom);
	if (confirm) {
		snprintf(prompt, sizeof(prompt), "Re-enter %s for %s: ", what, whom);
		r = tty_read_line(tty, prompt, &b, &blen);
		if (r < 0)
			return err_sys(e, -r, "read %s for %s", what, whom);
		if (alen != blen || sodium_memcmp(a.buf, b.buf, alen) != 0)
			return err_set(e, EINVAL, "%ss for %s do not match", what, whom);
	}
	snprintf(prompt, sizeof(prompt), "%s for %s", what, whom);
	return material_from(ks, a.buf, alen, prompt, out, e);
}

int keysource_read(const struct keysource *ks, const char *whom, bool confirm,
		   struct secret *out, struct isc_err *e)
{
	if (ks->location == KS_PROMPT)
		return read_prompt(ks, whom, confirm, out, e);
	return read_key_file(ks, out, e);
}

int keysource_generate(const char *path, struct isc_err *e)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir_p_at(AT_FDCWD, dir, 0700) < 0)
			return err_sys(e, errno, "create key directory %s", dir);
	}
	struct secret key _cleanup_secret_ = { 0 };
	if (secret_random(&key, CRYPT_KEY_SIZE) < 0)
		return err_set(e, ENOMEM, "out of locked memory");
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return err_set(e, EEXIST, "key file %s already exists; remove it or give --key",
				       path);
		return err_sys(e, errno, "create key file %s", path);
	}
	int r = write_all(fd, key.buf, key.len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	/* the directory entry too: the wrapped record written next must
	 * never outlive the only key that opens it */
	if (r == 0)
		r = fsync_dir_at(AT_FDCWD, slash && slash != dir ? dir : "/");
	if (r < 0) {
		unlink(path);
		return err_sys(e, -r, "write key file %s", path);
	}
	return 0;
}
