/* test_audit.c - the pool's audit log: a chain appended and walked, an unfinished tail cut and
 * said, faults named (form, hash, seq, link, head), concurrent writers, the record corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "audit.h"
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define AUDIT_NO_MAIN
#include "../fuzz/fuzz_audit.c"

struct dir {
	char *path;
	int fd;
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	d->path = tmpdir_make_named("isc-audit");
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(d->fd >= 0);
	assert_int_equal(mkdirat(d->fd, AUDIT_DIR, 0700), 0);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	close(d->fd);
	tmpdir_remove(d->path);
	free(d);
	return 0;
}

static void append(int fd, const char *event, const char *msg)
{
	struct isc_err e = { 0 };
	struct audit_event ev = { .source = "test", .isc = "web", .event = event, .msg = msg, .result = -1 };
	assert_int_equal(audit_append(fd, &ev, &e), 0);
}

static void walk(int fd, const char *anchor, struct audit_check *c)
{
	struct isc_err e = { 0 };
	assert_int_equal(audit_walk(fd, anchor, NULL, NULL, c, &e), 0);
}

/* the log's text, and writing it back */
static char *log_read(int fd, size_t *len)
{
	char *buf = NULL;
	assert_int_equal(read_file_at(fd, AUDIT_LOG, &buf, len, 1 << 24), 0);
	return buf;
}

static void log_write(int fd, const char *text, size_t len)
{
	int f = openat(fd, AUDIT_LOG, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(f >= 0);
	assert_int_equal(write_all(f, text, len), 0);
	close(f);
}

static void test_chain(void **state)
{
	struct dir *d = *state;
	struct audit_check c;
	walk(d->fd, NULL, &c);
	assert_int_equal(c.records, 0);
	assert_int_equal(c.fault, AUDIT_FAULT_NONE);
	for (int i = 0; i < 10; i++)
		append(d->fd, "boot", "isc: booted web");
	walk(d->fd, NULL, &c);
	assert_int_equal(c.records, 10);
	assert_int_equal(c.head_seq, 10);
	assert_int_equal(c.fault, AUDIT_FAULT_NONE);
	char head[AUDIT_HASH_HEX + 1];
	memcpy(head, c.head, sizeof(head));
	walk(d->fd, head, &c);
	assert_int_equal(c.fault, AUDIT_FAULT_NONE);
	/* a head no record has */
	char other[AUDIT_HASH_HEX + 1];
	memset(other, 'a', AUDIT_HASH_HEX);
	other[AUDIT_HASH_HEX] = '\0';
	walk(d->fd, other, &c);
	assert_int_equal(c.fault, AUDIT_FAULT_HEAD);
}

/* a control byte or a newline in a message cannot forge a second record */
static void test_escaped(void **state)
{
	struct dir *d = *state;
	append(d->fd, "commit", "a\n{\"seq\":2}\x1b[2J\xff");
	size_t len;
	_cleanup_free_ char *t = log_read(d->fd, &len);
	assert_int_equal(strchr(t, '\n') - t, (long)len - 1);
	assert_null(memchr(t, 0x1b, len));
	assert_non_null(strstr(t, "\\\\x0a{\\\"seq\\\":2}\\\\x1b[2J\\\\xff"));
	struct audit_check c;
	walk(d->fd, NULL, &c);
	assert_int_equal(c.records, 1);
	assert_int_equal(c.fault, AUDIT_FAULT_NONE);
}

static void test_unfinished_tail(void **state)
{
	struct dir *d = *state;
	append(d->fd, "boot", "one");
	int f = openat(d->fd, AUDIT_LOG, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_int_equal(write_all(f, "{\"seq\":2,\"ti", 12), 0);
	close(f);
	struct audit_check c;
	walk(d->fd, NULL, &c);
	assert_int_equal(c.fault, AUDIT_FAULT_FORM);
	assert_int_equal(c.bad_line, 2);
	append(d->fd, "boot", "two");
	walk(d->fd, NULL, &c);
	assert_int_equal(c.fault, AUDIT_FAULT_NONE);
	assert_int_equal(c.records, 3);   /* one, the cut said, two */
	size_t len;
	_cleanup_free_ char *t = log_read(d->fd, &len);
	assert_non_null(strstr(t, "12 bytes of an unfinished record were cut"));
}

/* faults, each named at the first bad record */
static void test_faults(void **state)
{
	struct dir *d = *state;
	for (int i = 0; i < 5; i++)
		append(d->fd, "boot", "isc: booted web");
	size_t len;
	_cleanup_free_ char *good = log_read(d->fd, &len);
	char *lines[6];
	char *p = good;
	for (int i = 0; i < 5; i++) {
		lines[i] = p;
		p = strchr(p, '\n') + 1;
	}
	lines[5] = p;
	struct audit_check c;
	char *t = strdup(good);
	/* one byte of record 2 */
	char *at = strstr(t + (lines[1] - good), "booted");
	*at = 'B';
	log_write(d->fd, t, len);
	walk(d->fd, NULL, &c);
	assert_int_equal(c.fault, AUDIT_FAULT_HASH);
	assert_int_equal(c.bad_seq, 2);
	/* record 3 deleted */
	memcpy(t, good, lines[2] - good);
	size_t k = (size_t)(lines[2] - good);
	memcpy(t + k, lines[3], (size_t)(lines[5] - lines[3]));
	log_write(d->fd, t, len - (size_t)(lines[3] - lines[2]));
	walk(d->fd, NULL, &c);
	assert_int_equal(c.fault, AUDIT_FAULT_SEQ);
	assert_int_equal(c.bad_line, 3);
	assert_int_equal(c.bad_seq, 4);
	assert_int_equal(c.want_seq, 3);
	char why[256];
	audit_fault_say(&c, why, sizeof(why));
	assert_string_equal(why, "line 3 holds record 4 where record 3 belongs (records deleted or moved)");
	/* a NUL inside a record */
	memcpy(t, good, len);
	t[lines[3] - good + 5] = '\0';
	log_write(d->fd, t, len);
	walk(d->fd, NULL, &c);
	assert_int_equal(c.fault, AUDIT_FAULT_FORM);
	assert_int_equal(c.bad_line, 4);
	free(t);
	log_write(d->fd, good, len);
	walk(d->fd, NULL, &c);
	assert_int_equal(c.fault, AUDIT_FAULT_NONE);
}

/* writers in parallel: one chain, every record in it */
static void test_concurrent(void **state)
{
	struct dir *d = *state;
	pid_t pids[8];
	for (int i = 0; i < 8; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			for (int j = 0; j < 25; j++) {
				struct isc_err e = { 0 };
				struct audit_event ev = { .source = "test", .event = "x", .result = j };
				if (audit_append(d->fd, &ev, &e) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < 8; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_int_equal(st, 0);
	}
	struct audit_check c;
	walk(d->fd, NULL, &c);
	assert_int_equal(c.records, 200);
	assert_int_equal(c.fault, AUDIT_FAULT_NONE);
}

static void corpus_one(const char *file, const char *text, size_t len, bool pass)
{
	int r = audit_line_try(text, len);
	if (pass && r != 0)
		fail_msg("corpus pass/%s refused", file);
	if (!pass && r == 0)
		fail_msg("corpus fail/%s accepted", file);
}

static void test_corpus(void **state)
{
	assert_true(corpus_each("audit", "pass", corpus_one) >= 2);
	assert_true(corpus_each("audit", "fail", corpus_one) >= 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unfinished_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
