/* test_ipc.c - unit tests for the control protocol: login requests, framing over SOCK_SEQPACKET, fd passing, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include "ipc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>

#define HDR sizeof(struct ipc_hdr)

/* ---- helpers ----------------------------------------------------------------- */

static void seqpair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static struct ipc_login login_of(uint8_t tty, uint16_t rows, uint16_t cols, const char *term)
{
	struct ipc_login l;
	memset(&l, 0, sizeof(l));
	l.tty = tty;
	l.rows = rows;
	l.cols = cols;
	snprintf(l.term, sizeof(l.term), "%s", term);
	return l;
}

/* A raw login payload: the fixed part, then extra bytes as given. */
static size_t raw_login(char *buf, const struct ipc_login *l, const void *tail, size_t n)
{
	memcpy(buf, l, sizeof(*l));
	memcpy(buf + sizeof(*l), tail, n);
	return sizeof(*l) + n;
}

static void send_raw(int sock, uint32_t type, int32_t status, uint32_t len, const void *payload, size_t n)
{
	char buf[HDR + IPC_MAX + 64];
	struct ipc_hdr h = { .type = type, .status = status, .len = len };
	assert_true(n <= IPC_MAX + 64);
	memcpy(buf, &h, HDR);
	if (n)
		memcpy(buf + HDR, payload, n);
	assert_int_equal(send(sock, buf, HDR + n, MSG_NOSIGNAL), (ssize_t)(HDR + n));
}

static ssize_t read_now(int fd)
{
	char c;
	ssize_t n = read(fd, &c, 1);
	return n < 0 ? -errno : n;
}

/* ---- login requests -------------------------------------------------------------- */

static void test_login_roundtrip_command(void **state)
{
	(void)state;
	struct ipc_login l = login_of(1, 50, 132, "xterm-256color"), back;
	char *argv[] = { "/bin/sh", "-c", "echo 'two words'; exit 3", "", "last", NULL };
	char buf[IPC_MAX];
	size_t len = 0;
	assert_int_equal(ipc_login_build(&l, argv, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(l) + 8 + 3 + 25 + 1 + 5);

	char **v = NULL;
	assert_int_equal(ipc_login_parse(buf, len, &back, &v), 0);
	assert_int_equal(back.tty, 1);
	assert_int_equal(back.rows, 50);
	assert_int_equal(back.cols, 132);
	assert_string_equal(back.term, "xterm-256color");
	assert_non_null(v);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(v[i], argv[i]);
		/* strings point into the payload: only the vector is the caller's */
		assert_true(v[i] >= buf + sizeof(l) && v[i] < buf + len);
	}
	assert_null(v[5]);
	free(v);
}

static void test_login_roundtrip_shell(void **state)
{
	(void)state;
	/* no argv: a login shell, no tty, no size, empty TERM */
	struct ipc_login l = login_of(0, 0, 0, ""), back;
	char buf[IPC_MAX];
	size_t len = 0;
	assert_int_equal(ipc_login_build(&l, NULL, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(l));
	char **v = NULL;
	assert_int_equal(ipc_login_parse(buf, len, &back, &v), 0);
	assert_int_equal(back.tty, 0);
	assert_int_equal(back.rows, 0);
	assert_string_equal(back.term, "");
	assert_non_null(v);
	assert_null(v[0]);
	free(v);

	/* an empty vector is the same request */
	char *none[] = { NULL };
	assert_int_equal(ipc_login_build(&l, none, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(l));

	/* the widest terminal name that fits: 31 characters */
	l = login_of(1, 65535, 65535, "abcdefghijklmnopqrstuvwxyz01234");
	assert_int_equal(strlen(l.term), 31);
	assert_int_equal(ipc_login_build(&l, NULL, buf, sizeof(buf), &len), 0);
	assert_int_equal(ipc_login_parse(buf, len, &back, &v), 0);
	assert_string_equal(back.term, "abcdefghijklmnopqrstuvwxyz01234");
	assert_int_equal(back.rows, 65535);
	free(v);
}

static void test_login_build_limits(void **state)
{
	(void)state;
	struct ipc_login l = login_of(0, 24, 80, "vt100");
	char buf[128];
	size_t len = 1234;
	assert_int_equal(ipc_login_build(&l, NULL, buf, sizeof(l) - 1, &len), -EMSGSIZE);
	char *argv[] = { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL };   /* 31 bytes with NUL */
	assert_int_equal(ipc_login_build(&l, argv, buf, sizeof(l) + 30, &len), -E2BIG);
	assert_int_equal(len, 1234);   /* no length on failure */
	assert_int_equal(ipc_login_build(&l, argv, buf, sizeof(l) + 31, &len), 0);
	assert_int_equal(len, sizeof(l) + 31);
}

struct bad_login {
	const char *why;
	struct ipc_login l;
	const char *tail;
	size_t tail_len;
	size_t cut;             /* bytes removed from the end of the payload */
};

static const struct bad_login bad_logins[] = {
	{ "empty payload", { .term = "xterm" }, "", 0, sizeof(struct ipc_login) },
	{ "one byte short", { .term = "xterm" }, "", 0, 1 },
	{ "tty=2", { .tty = 2, .term = "xterm" }, "", 0, 0 },
	{ "tty=255", { .tty = 255, .term = "xterm" }, "", 0, 0 },
	{ "unknown login kind", { .kind = 2, .term = "xterm" }, "", 0, 0 },
	{ "login kind 255", { .kind = 255, .term = "xterm" }, "", 0, 0 },
	{ "force=2", { .force = 2, .term = "xterm" }, "", 0, 0 },
	{ "padding not zero", { .pad = 1, .term = "xterm" }, "", 0, 0 },
	{ "term unterminated", { .term = "0123456789012345678901234567890" }, "", 0, 0 },
	{ "term with a space", { .term = "xterm 256" }, "", 0, 0 },
	{ "term with escape", { .term = "xterm\x1b[0m" }, "", 0, 0 },
	{ "term with DEL", { .term = "vt\x7f" }, "", 0, 0 },
	{ "term with 8-bit byte", { .term = "caf\xc3\xa9" }, "", 0, 0 },
	{ "last arg not terminated", { .term = "xterm" }, "sh\0-c\0ls", 8, 0 },
	{ "only arg not terminated", { .term = "xterm" }, "sh", 2, 0 },
	{ "empty first arg", { .term = "xterm" }, "\0ls\0", 4, 0 },
	{ "single empty arg", { .term = "xterm" }, "\0", 1, 0 },
};

static void test_login_rejects(void **state)
{
	const struct bad_login *b = *state;
	char buf[256];
	struct ipc_login l = b->l;
	if (STREQ(b->why, "term unterminated"))
		l.term[31] = 'x';       /* all 32 bytes used */
	size_t len = raw_login(buf, &l, b->tail, b->tail_len) - b->cut;
	struct ipc_login out;
	char **v = (char **)0x1;
	int r = ipc_login_parse(buf, len, &out, &v);
	if (r != -EBADMSG)
		fail_msg("%s: parse gave %d, want -EBADMSG", b->why, r);
	assert_ptr_equal(v, (char **)0x1);   /* no vector handed out */
}

static void test_login_arg_count(void **state)
{
	(void)state;
	/* 1024 arguments are accepted, 1025 refused */
	struct ipc_login l = login_of(0, 0, 0, "dumb"), out;
	char buf[sizeof(l) + 2 * 1025];
	char tail[2 * 1025];
	for (size_t i = 0; i < 1025; i++) {
		tail[2 * i] = 'a';
		tail[2 * i + 1] = '\0';
	}
	char **v = NULL;
	size_t len = raw_login(buf, &l, tail, 2 * 1024);
	assert_int_equal(ipc_login_parse(buf, len, &out, &v), 0);
	assert_string_equal(v[1023], "a");
	assert_null(v[1024]);
	free(v);
	len = raw_login(buf, &l, tail, 2 * 1025);
	assert_int_equal(ipc_login_parse(buf, len, &out, &v), -EBADMSG);

	/* empty arguments after the first are kept */
	len = raw_login(buf, &l, "sh\0\0x\0", 6);
	assert_int_equal(ipc_login_parse(buf, len, &out, &v), 0);
	assert_string_equal(v[0], "sh");
	assert_string_equal(v[1], "");
	assert_string_equal(v[2], "x");
	assert_null(v[3]);
	free(v);
}

/* ---- framing ----------------------------------------------------------------------- */

static void test_reboot_parse(void **state)
{
	enum boot_mode m = BOOT_ASSEMBLY;
	struct ipc_reboot r = { .mode = BOOT_MAINTENANCE };
	assert_int_equal(ipc_reboot_parse("", 0, &m), 0);
	assert_int_equal(m, BOOT_READONLY);
	assert_int_equal(ipc_reboot_parse((const char *)&r, sizeof(r), &m), 0);
	assert_int_equal(m, BOOT_MAINTENANCE);
	r.mode = BOOT_MODE_COUNT;
	assert_int_equal(ipc_reboot_parse((const char *)&r, sizeof(r), &m), -EBADMSG);
	r.mode = 'w';   /* the character the status field used to carry */
	assert_int_equal(ipc_reboot_parse((const char *)&r, sizeof(r), &m), -EBADMSG);
	assert_int_equal(ipc_reboot_parse("\1\0", 2, &m), -EBADMSG);
}

/* The shared vocabulary: each mode has one name and one flag, both parse back. */
static void test_boot_modes(void **state)
{
	enum boot_mode m;
	for (unsigned i = 0; i < BOOT_MODE_COUNT; i++) {
		assert_int_equal(boot_mode_parse(boot_mode_name((enum boot_mode)i), &m), 0);
		assert_int_equal(m, i);
		if (boot_mode_flag((enum boot_mode)i)[0]) {
			assert_int_equal(boot_mode_parse(boot_mode_flag((enum boot_mode)i), &m), 0);
			assert_int_equal(m, i);
		}
	}
	assert_string_equal(boot_mode_flag(BOOT_MAINTENANCE), "-w");
	assert_string_equal(boot_mode_flag(BOOT_ASSEMBLY), "-W");
	assert_int_equal(boot_mode_parse("", &m), -EINVAL);
	assert_int_equal(boot_mode_parse("W", &m), -EINVAL);
	assert_int_equal(boot_mode_parse("-T", &m), -EINVAL);
	assert_false(boot_mode_writable(BOOT_READONLY));
	assert_true(boot_mode_writable(BOOT_ASSEMBLY));
	char path[32];
	assert_int_equal(run_path(path, sizeof(path), "web", "ctl"), 0);
	assert_string_equal(path, ISC_RUN_DIR "/web/ctl");
	assert_int_equal(run_path(path, sizeof(path), "a-name-much-too-long-for-this", "ctl"), -ENAMETOOLONG);
}

/* The state file round-trips; a forged or broken one does not parse. */
static void test_run_state(void **state)
{
	char name[64], dir[PATH_MAX], path[PATH_MAX];
	snprintf(name, sizeof(name), "unit-test-%d", getpid());
	run_path(dir, sizeof(dir), name, NULL);
	if (mkdir_p_at(AT_FDCWD, dir, 0700) < 0)
		skip();   /* not root: no /run/isc */
	struct run_state st = { .mode = BOOT_ASSEMBLY, .init = 1234, .supervisor = 99,
				.layers = "seccomp,landlock" }, back;
	assert_int_equal(run_state_write(name, &st), 0);
	assert_int_equal(run_state_read(name, &back), 0);
	assert_int_equal(back.mode, BOOT_ASSEMBLY);
	assert_int_equal(back.init, 1234);
	assert_int_equal(back.supervisor, 99);
	assert_string_equal(back.layers, "seccomp,landlock");
	assert_false(back.frozen);
	st.frozen = true;
	assert_int_equal(run_state_write(name, &st), 0);
	assert_int_equal(run_state_read(name, &back), 0);
	assert_true(back.frozen);
	run_path(path, sizeof(path), name, "state");
	static const char *const bad[] = { "mode=W R\n", "mode=\n", "pid=1\n", "mode=R\npid=-4\n",
					   "mode=R\npid=12x\n", "garbage\n", "", "mode=R\nlayers=a b\n",
					   "mode=R\nlayers=\x1b[2J\n", "state=thawing\nmode=R\n" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(write_file_atomic(AT_FDCWD, path, bad[i], strlen(bad[i]), 0600), 0);
		assert_int_equal(run_state_read(name, &back), -EBADMSG);
	}
	run_state_remove(name);
	assert_int_equal(run_state_read(name, &back), -ENOENT);
	rmdir(dir);
}

static void test_send_recv_payload(void **state)
{
	(void)state;
	int sv[2];
	seqpair(sv);
	struct ipc_hdr h;
	char buf[IPC_MAX + 1];

	assert_int_equal(ipc_send(sv[0], IPC_OK, 7, "running R 42", 12, NULL, 0), 0);
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(ipc_recv(sv[1], &h, buf, NULL, NULL), 0);
	assert_int_equal(h.type, IPC_OK);
	assert_int_equal(h.status, 7);
	assert_int_equal(h.len, 12);
	assert_string_equal(buf, "running R 42");     /* NUL-terminated for the caller */

	/* no payload */
	assert_int_equal(ipc_send(sv[0], IPC_STATUS, -1, NULL, 0, NULL, 0), 0);
	assert_int_equal(ipc_recv(sv[1], &h, buf, NULL, NULL), 0);
	assert_int_equal(h.type, IPC_STATUS);
	assert_int_equal(h.status, -1);
	assert_int_equal(h.len, 0);
	assert_string_equal(buf, "");

	/* the largest payload; one more byte is refused before sending */
	char *big = malloc(IPC_MAX + 1);
	memset(big, 'b', IPC_MAX + 1);
	assert_int_equal(ipc_send(sv[0], IPC_ERR, 1, big, IPC_MAX, NULL, 0), 0);
	assert_int_equal(ipc_recv(sv[1], &h, buf, NULL, NULL), 0);
	assert_int_equal(h.len, IPC_MAX);
	assert_memory_equal(buf, big, IPC_MAX);
	assert_int_equal(buf[IPC_MAX], '\0');
	assert_int_equal(ipc_send(sv[0], IPC_ERR, 1, big, IPC_MAX + 1, NULL, 0), -EMSGSIZE);
	free(big);

	/* each type of the closed set gets through */
	for (uint32_t t = IPC_HALT; t <= IPC_LAST; t++) {
		assert_int_equal(ipc_send(sv[0], (enum ipc_type)t, 0, "x", 1, NULL, 0), 0);
		assert_int_equal(ipc_recv(sv[1], &h, buf, NULL, NULL), 0);
		assert_int_equal(h.type, t);
	}

	/* the peer hung up */
	close(sv[0]);
	assert_int_equal(ipc_recv(sv[1], &h, buf, NULL, NULL), -ECONNRESET);
	close(sv[1]);
}

/* A login with the client's stdin, stdout and stderr: the supervisor gets
 * three working descriptors for the same pipes. */
static void test_send_recv_fds(void **state)
{
	(void)state;
	int sv[2], p[3][2];
	seqpair(sv);
	int send_fds[3];
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(pipe2(p[i], O_CLOEXEC), 0);
		send_fds[i] = p[i][1];
	}
	struct ipc_login l = login_of(0, 0, 0, "dumb");
	char *argv[] = { "id", NULL };
	char payload[128];
	size_t plen;
	assert_int_equal(ipc_login_build(&l, argv, payload, sizeof(payload), &plen), 0);
	assert_int_equal(ipc_send(sv[0], IPC_LOGIN, 0, payload, plen, send_fds, 3), 0);

	struct ipc_hdr h;
	char buf[IPC_MAX + 1];
	int fds[3] = { -1, -1, -1 };
	size_t nfds = 3;
	assert_int_equal(ipc_recv(sv[1], &h, buf, fds, &nfds), 0);
	assert_int_equal(h.type, IPC_LOGIN);
	assert_int_equal(nfds, 3);
	assert_int_equal(h.len, plen);
	struct ipc_login back;
	char **v = NULL;
	assert_int_equal(ipc_login_parse(buf, h.len, &back, &v), 0);
	assert_string_equal(v[0], "id");
	free(v);
	for (size_t i = 0; i < 3; i++) {
		char msg[8], got[8] = { 0 };
		snprintf(msg, sizeof(msg), "fd%zu", i);
		assert_int_equal(write_all(fds[i], msg, strlen(msg)), 0);
		assert_int_equal(read(p[i][0], got, sizeof(got) - 1), 3);
		assert_string_equal(got, msg);   /* in order: 0, 1, 2 */
		assert_true(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
		close(fds[i]);
		close(p[i][1]);
		close(p[i][0]);
	}
	close(sv[0]);
	close(sv[1]);
}

/* Descriptors the receiver did not ask for are closed, not leaked. */
static void test_recv_closes_unwanted_fds(void **state)
{
	(void)state;
	int sv[2], p[2];
	seqpair(sv);
	struct ipc_hdr h;
	char buf[IPC_MAX + 1];

	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(ipc_send(sv[0], IPC_STATUS, 0, NULL, 0, &p[1], 1), 0);
	close(p[1]);
	assert_int_equal(read_now(p[0]), -EAGAIN);
	assert_int_equal(ipc_recv(sv[1], &h, buf, NULL, NULL), 0);
	assert_int_equal(read_now(p[0]), 0);    /* every write end is gone */
	close(p[0]);

	/* four sent, one wanted */
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	int four[4] = { p[1], p[1], p[1], p[1] };
	assert_int_equal(ipc_send(sv[0], IPC_LOGIN, 0, NULL, 0, four, 4), 0);
	close(p[1]);
	int fds[1];
	size_t nfds = 1;
	assert_int_equal(ipc_recv(sv[1], &h, buf, fds, &nfds), 0);
	assert_int_equal(nfds, 1);
	assert_int_equal(read_now(p[0]), -EAGAIN);   /* the one kept */
	close(fds[0]);
	assert_int_equal(read_now(p[0]), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

/* ---- malformed frames ----------------------------------------------------------------- */

static void expect_bad(int sock, const char *why)
{
	struct ipc_hdr h;
	char buf[IPC_MAX + 1];
	int r = ipc_recv(sock, &h, buf, NULL, NULL);
	if (r != -EBADMSG)
		fail_msg("%s: ipc_recv gave %d, want -EBADMSG", why, r);
}

static void test_recv_rejects(void **state)
{
	(void)state;
	int sv[2];
	seqpair(sv);

	assert_int_equal(send(sv[0], "\x03\0\0\0\0", 5, MSG_NOSIGNAL), 5);
	expect_bad(sv[1], "shorter than the header");
	assert_int_equal(send(sv[0], "\x03\0\0\0\0\0\0\0\0\0\0", HDR - 1, MSG_NOSIGNAL), (ssize_t)HDR - 1);
	expect_bad(sv[1], "one byte short of a header");

	send_raw(sv[0], IPC_OK, 0, 10, "abcd", 4);
	expect_bad(sv[1], "length says more than was sent");
	send_raw(sv[0], IPC_OK, 0, 2, "abcd", 4);
	expect_bad(sv[1], "length says less than was sent");
	send_raw(sv[0], IPC_OK, 0, 0xffffffffu, "abcd", 4);
	expect_bad(sv[1], "length near 2^32");
	send_raw(sv[0], IPC_OK, 0, 1, NULL, 0);
	expect_bad(sv[1], "length without payload");

	send_raw(sv[0], 0, 0, 0, NULL, 0);
	expect_bad(sv[1], "type 0");
	send_raw(sv[0], IPC_LAST + 1, 0, 0, NULL, 0);
	expect_bad(sv[1], "type after the last");
	send_raw(sv[0], 0xffffffffu, 0, 0, NULL, 0);
	expect_bad(sv[1], "type -1");

	/* A frame larger than any message: its length field matches what fits
	 * in the receive buffer, but the rest was cut off.  Not a message. */
	char *big = malloc(IPC_MAX + 8);
	memset(big, 'q', IPC_MAX + 8);
	send_raw(sv[0], IPC_OK, 0, IPC_MAX, big, IPC_MAX + 1);
	expect_bad(sv[1], "frame longer than IPC_MAX, length = IPC_MAX");
	send_raw(sv[0], IPC_OK, 0, IPC_MAX + 8, big, IPC_MAX + 8);
	expect_bad(sv[1], "frame longer than IPC_MAX, honest length");
	free(big);

	/* after refusals, a good message still reads correctly */
	struct ipc_hdr h;
	char buf[IPC_MAX + 1];
	send_raw(sv[0], IPC_OK, 5, 2, "ok", 2);
	assert_int_equal(ipc_recv(sv[1], &h, buf, NULL, NULL), 0);
	assert_string_equal(buf, "ok");
	assert_int_equal(h.status, 5);
	close(sv[0]);
	close(sv[1]);
}

/* A malformed frame's descriptors are reported so the caller can close
 * them (iscd does), and the ones not asked for are closed already. */
static void test_recv_bad_frame_with_fds(void **state)
{
	(void)state;
	int sv[2], p[2];
	seqpair(sv);
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	struct ipc_hdr h = { .type = 99, .len = 0 };
	assert_int_equal(fd_send(sv[0], &h, sizeof(h), (int[]){ p[1], p[1] }, 2), 0);
	close(p[1]);
	struct ipc_hdr got;
	char buf[IPC_MAX + 1];
	int fds[1];
	size_t nfds = 1;
	assert_int_equal(ipc_recv(sv[1], &got, buf, fds, &nfds), -EBADMSG);
	assert_int_equal(nfds, 1);
	close(fds[0]);
	assert_int_equal(read_now(p[0]), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

/* ---- the fuzz corpus: pass/ is a valid login request, fail/ is refused ------------ */

static void corpus_one(const char *file, const char *data, size_t len, bool pass)
{
	struct ipc_login l;
	char **v = NULL;
	int r = ipc_login_parse(data, len, &l, &v);
	if (pass && r < 0)
		fail_msg("corpus pass/%s refused: %d", file, r);
	if (!pass && r != -EBADMSG)
		fail_msg("corpus fail/%s: %d, want -EBADMSG", file, r);
	free(v);
}

static void test_corpus(void **state)
{
	(void)state;
	assert_true(corpus_each("ipc", "pass", corpus_one) >= 3);
	assert_true(corpus_each("ipc", "fail", corpus_one) >= 3);
}

int main(void)
{
	struct CMUnitTest tests[16 + ARRAY_SIZE(bad_logins)];
	static char names[ARRAY_SIZE(bad_logins)][64];
	size_t n = 0;
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_login_roundtrip_command);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_login_roundtrip_shell);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_login_build_limits);
	for (size_t i = 0; i < ARRAY_SIZE(bad_logins); i++) {
		snprintf(names[i], sizeof(names[i]), "login_rejects (%s)", bad_logins[i].why);
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_login_rejects, (void *)&bad_logins[i]);
		tests[n++].name = names[i];
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_login_arg_count);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_reboot_parse);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_boot_modes);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_run_state);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_send_recv_payload);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_send_recv_fds);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_recv_closes_unwanted_fds);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_recv_rejects);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_recv_bad_frame_with_fds);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_corpus);
	return _cmocka_run_group_tests("ipc", tests, n, NULL, NULL);
}
