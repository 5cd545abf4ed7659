/* test_crypt.c - unit tests for src/crypt: secrets, keysources (text, files, terminal), wrapped master keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include "crypt.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

/* A known-answer record, made outside wrap.c with libsodium alone: master
 * a0..bf sealed for root "web" (associated data: "isc master key v2",
 * root=, and the record's fields but nonce and sealed, as wrap.c lists
 * them) under the raw key 00..1f, or under Argon2id
 * (opslimit 1, memlimit 8192) of KAT_PASS.  tests/fuzz/corpus/wrapped/pass
 * holds the same two records. */
#define KAT_ID "00112233445566778899aabbccddeeff"
#define KAT_SALT "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
#define KAT_NONCE "303132333435363738393a3b3c3d3e3f4041424344454647"
#define KAT_SEALED_RAW "f2f88d057e7ff3b97237ecee66e05deff654ecfc37ac7adb511b87ae9ea4e4a5b175c690fa4a8fb74c57ea6999c3b091"
#define KAT_SEALED_PASS "32b9094d3d6e150c906005f66bddf41d4f09b0fae85c5a7493eb1b0751977014c9f4af0815b69e3f3fb2d7f68ba009df"
#define KAT_PASS "correct horse battery"

#define W_MAGIC "isc-wrapped-key 2\n"
#define W_KS "keysource=raw,file:///etc/isc/keys/web.key\n"
#define W_GEN "generated=yes\n"
#define W_ID "identifier=" KAT_ID "\n"
#define W_NONE "kdf=none\n"
#define W_NONCE "nonce=" KAT_NONCE "\n"
#define W_SEALED "sealed=" KAT_SEALED_RAW "\n"
#define RAW_RECORD W_MAGIC W_KS W_GEN W_ID W_NONE W_NONCE W_SEALED

#define P_HEAD W_MAGIC "keysource=passphrase,prompt\ngenerated=no\n" W_ID "kdf=argon2id\nsalt=" KAT_SALT "\n"
#define P_COST "opslimit=1\nmemlimit=8192\n"
#define P_TAIL W_NONCE "sealed=" KAT_SEALED_PASS "\n"
#define PASS_RECORD P_HEAD P_COST P_TAIL

#define USAGE "(FORMAT,LOCATION: raw|hex|passphrase,file:///PATH|prompt)"

/* ---- helpers ----------------------------------------------------------------- */

static int dir_setup(void **state)
{
	*state = tmpdir_make_named("test_crypt");
	return 0;
}

static int dir_teardown(void **state)
{
	tmpdir_remove(*state);
	return 0;
}

/* dir/name holding data, with exactly this mode (whatever the umask). */
static void key_put(const char *dir, const char *name, const void *data, size_t len, mode_t mode,
		    char *path, size_t n)
{
	snprintf(path, n, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, len), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void ks_of(const char *text, struct keysource *ks)
{
	struct isc_err e = { 0 };
	if (keysource_parse(text, ks, &e) < 0)
		fail_msg("keysource %s refused: %s", text, e.msg);
}

/* keysource_read of FORMAT,file://PATH for "ISC web". */
static int key_read(const char *format, const char *path, struct secret *out, struct isc_err *e)
{
	char text[PATH_MAX + 32];
	struct keysource ks;
	snprintf(text, sizeof(text), "%s,file://%s", format, path);
	ks_of(text, &ks);
	err_clear(e);
	return keysource_read(&ks, "ISC web", false, out, e);
}

/* A key file that is accepted, and the material it gives. */
static void key_file_ok(const char *dir, const char *format, const void *data, size_t len,
			const void *want, size_t want_len)
{
	char path[PATH_MAX];
	static int seq;
	char name[32];
	snprintf(name, sizeof(name), "ok-%d", seq++);
	key_put(dir, name, data, len, 0600, path, sizeof(path));
	struct secret s = { 0 };
	struct isc_err e = { 0 };
	if (key_read(format, path, &s, &e) < 0)
		fail_msg("%s key of %zu bytes refused: %s", format, len, e.msg);
	assert_int_equal(s.len, want_len);
	assert_memory_equal(s.buf, want, want_len);
	secret_free(&s);
}

/* A key file that is refused with code and message (%s: its path); it
 * hands back no secret. */
static void key_file_refused(const char *dir, const char *format, const void *data, size_t len,
			     mode_t mode, int code, const char *msg_fmt)
{
	char path[PATH_MAX], want[PATH_MAX + 256], name[32];
	static int seq;
	snprintf(name, sizeof(name), "bad-%d", seq++);
	key_put(dir, name, data, len, mode, path, sizeof(path));
	struct secret s = { 0 };
	struct isc_err e = { 0 };
	int r = key_read(format, path, &s, &e);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(want, sizeof(want), msg_fmt, path);
#pragma GCC diagnostic pop
	if (r != -code || e.code != code || !STREQ(e.msg, want))
		fail_msg("%s key of %zu bytes: got %d '%s', want -%d '%s'", format, len, r, e.msg,
			 code, want);
	assert_null(s.buf);
	assert_int_equal(s.len, 0);
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void secret_bytes(struct secret *s, const void *data, size_t len)
{
	assert_int_equal(secret_alloc(s, len), 0);
	memcpy(s->buf, data, len);
}

static void kat_master(uint8_t m[CRYPT_KEY_SIZE])
{
	for (size_t i = 0; i < CRYPT_KEY_SIZE; i++)
		m[i] = (uint8_t)(0xa0 + i);
}

static void kat_raw_key(struct secret *s)
{
	uint8_t k[CRYPT_KEY_SIZE];
	for (size_t i = 0; i < CRYPT_KEY_SIZE; i++)
		k[i] = (uint8_t)i;
	secret_bytes(s, k, sizeof(k));
}

static void wrapped_of(const char *text, struct wrapped *w)
{
	struct isc_err e = { 0 };
	if (wrapped_parse(text, w, &e) < 0)
		fail_msg("wrapped record refused: %s", e.msg);
}

/* wrap_open must give exactly want. */
static void opens_to(const struct wrapped *w, const struct secret *material, const char *ad,
		     const uint8_t want[CRYPT_KEY_SIZE])
{
	struct secret m = { 0 };
	struct isc_err e = { 0 };
	if (wrap_open(w, material, ad, &m, &e) < 0)
		fail_msg("wrap_open (ad %s): %s", ad, e.msg);
	assert_int_equal(m.len, CRYPT_KEY_SIZE);
	assert_memory_equal(m.buf, want, CRYPT_KEY_SIZE);
	secret_free(&m);
}

/* wrap_open must refuse with "wrong key" and hand back nothing. */
static void rejected(const struct wrapped *w, const struct secret *material, const char *ad)
{
	struct secret m = { 0 };
	struct isc_err e = { 0 };
	int r = wrap_open(w, material, ad, &m, &e);
	if (r != -EKEYREJECTED || e.code != EKEYREJECTED || !STREQ(e.msg, "wrong key"))
		fail_msg("wrap_open (ad %s): got %d '%s', want -EKEYREJECTED 'wrong key'", ad, r, e.msg);
	assert_null(m.buf);
}

/* ---- secrets ----------------------------------------------------------------- */

static void test_secret_alloc_free(void **state)
{
	(void)state;
	struct secret s = { 0 };
	assert_int_equal(secret_alloc(&s, 100), 0);
	assert_non_null(s.buf);
	assert_int_equal(s.len, 100);
	memset(s.buf, 0x5a, s.len);
	for (size_t i = 0; i < s.len; i++)
		assert_int_equal(s.buf[i], 0x5a);
	secret_free(&s);
	assert_null(s.buf);
	assert_int_equal(s.len, 0);
	secret_free(&s);    /* a second free is harmless */

	/* an empty secret is still a buffer that can be freed */
	assert_int_equal(secret_alloc(&s, 0), 0);
	assert_non_null(s.buf);
	assert_int_equal(s.len, 0);
	secret_free(&s);

	/* the cleanup attribute frees on scope exit (LeakSanitizer cannot see
	 * sodium's mappings, but ASan sees a double free or a bad pointer) */
	{
		struct secret t _cleanup_secret_ = { 0 };
		assert_int_equal(secret_alloc(&t, 32), 0);
	}
}

static void test_secret_random(void **state)
{
	(void)state;
	struct secret a = { 0 }, b = { 0 };
	static const uint8_t zero[CRYPT_KEY_SIZE];
	assert_int_equal(secret_random(&a, CRYPT_KEY_SIZE), 0);
	assert_int_equal(secret_random(&b, CRYPT_KEY_SIZE), 0);
	assert_int_equal(a.len, CRYPT_KEY_SIZE);
	assert_memory_not_equal(a.buf, zero, CRYPT_KEY_SIZE);
	assert_memory_not_equal(a.buf, b.buf, CRYPT_KEY_SIZE);
	secret_free(&a);
	secret_free(&b);
}

/* Writing one byte past a secret hits a guard page: the process dies
 * rather than scribbling over whatever lies next to a key. */
static void test_secret_guard_page(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka's handler would carry on with the tests in this child */
		signal(SIGSEGV, SIG_DFL);
		struct secret s = { 0 };
		if (secret_alloc(&s, CRYPT_KEY_SIZE) < 0)
			_exit(2);
		((volatile unsigned char *)s.buf)[s.len] = 1;
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
}

/* ---- keysource text ---------------------------------------------------------- */

static const struct {
	const char *text;
	enum ks_format format;
	enum ks_location location;
	const char *path;
} good_keysources[] = {
	{ "raw,file:///etc/isc/keys/web.key", KS_RAW, KS_FILE, "/etc/isc/keys/web.key" },
	{ "hex,file:///root/web.hex", KS_HEX, KS_FILE, "/root/web.hex" },
	{ "passphrase,file:///etc/isc/pass", KS_PASSPHRASE, KS_FILE, "/etc/isc/pass" },
	{ "hex,prompt", KS_HEX, KS_PROMPT, "" },
	{ "passphrase,prompt", KS_PASSPHRASE, KS_PROMPT, "" },
	/* dots inside names are not parent directories */
	{ "raw,file:///keys/..hidden/a..b/.key", KS_RAW, KS_FILE, "/keys/..hidden/a..b/.key" },
	{ "raw,file:///k", KS_RAW, KS_FILE, "/k" },
	{ "passphrase,file:///with space/and:colon", KS_PASSPHRASE, KS_FILE, "/with space/and:colon" },
};

static void test_keysource_parse_accepts(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good_keysources); i++) {
		struct keysource ks, again;
		char out[PATH_MAX + 32];
		ks_of(good_keysources[i].text, &ks);
		assert_int_equal(ks.format, good_keysources[i].format);
		assert_int_equal(ks.location, good_keysources[i].location);
		assert_string_equal(ks.path, good_keysources[i].path);
		/* the text is canonical: formatting gives it back, byte for byte */
		keysource_format(&ks, out, sizeof(out));
		assert_string_equal(out, good_keysources[i].text);
		ks_of(out, &again);
		assert_int_equal(again.format, ks.format);
		assert_int_equal(again.location, ks.location);
		assert_string_equal(again.path, ks.path);
	}
}

struct bad_keysource {
	const char *text;
	int code;
	const char *why;      /* the message after "keysource 'TEXT'" */
};

static const struct bad_keysource bad_keysources[] = {
	{ "", EINVAL, " has no location " USAGE },
	{ "raw", EINVAL, " has no location " USAGE },
	{ "file:///etc/key", EINVAL, " has no location " USAGE },
	{ ",prompt", EINVAL, ": unknown format " USAGE },
	{ "aes,file:///k", EINVAL, ": unknown format " USAGE },
	{ "RAW,file:///k", EINVAL, ": unknown format " USAGE },
	{ "raw ,file:///k", EINVAL, ": unknown format " USAGE },
	{ "rawx,file:///k", EINVAL, ": unknown format " USAGE },
	{ "hex,http://example.com/k", EINVAL, ": unknown location " USAGE },
	{ "hex,", EINVAL, ": unknown location " USAGE },
	{ "hex,prompts", EINVAL, ": unknown location " USAGE },
	{ "hex,PROMPT", EINVAL, ": unknown location " USAGE },
	{ "hex,file:/k", EINVAL, ": unknown location " USAGE },
	{ "hex,/etc/k", EINVAL, ": unknown location " USAGE },
	{ "raw,file://keys/web.key", EINVAL, ": the key file path must be absolute (file:///...)" },
	{ "raw,file://", EINVAL, ": the key file path must be absolute (file:///...)" },
	{ "raw,file://../k", EINVAL, ": the key file path must be absolute (file:///...)" },
	{ "raw,file:///etc/../root/k", EINVAL, ": the key file path must name a file" },
	{ "raw,file:///../k", EINVAL, ": the key file path must name a file" },
	{ "raw,file:///etc/..", EINVAL, ": the key file path must name a file" },
	{ "raw,file:///etc/isc/", EINVAL, ": the key file path must name a file" },
	{ "raw,file:///", EINVAL, ": the key file path must name a file" },
	{ "raw,prompt", EINVAL, ": raw keys cannot be prompted for; use hex or passphrase" },
	{ "raw,file:///k,v", EINVAL, ": bad character in the path" },
	{ "raw,file:///k\n", EINVAL, ": bad character in the path" },
	{ "raw,file:///k\tx", EINVAL, ": bad character in the path" },
	{ "raw,file:///k\x7f", EINVAL, ": bad character in the path" },
	{ "raw,file:///k\x1b[2J", EINVAL, ": bad character in the path" },
};

static void test_keysource_parse_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_keysources); i++) {
		const struct bad_keysource *b = &bad_keysources[i];
		struct keysource ks;
		struct isc_err e = { 0 };
		char want[512];
		snprintf(want, sizeof(want), "keysource '%s'%s", b->text, b->why);
		int r = keysource_parse(b->text, &ks, &e);
		if (r != -b->code || e.code != b->code || !STREQ(e.msg, want))
			fail_msg("'%s': got %d '%s', want -%d '%s'", b->text, r, e.msg, b->code, want);
	}
}

static void test_keysource_path_length(void **state)
{
	(void)state;
	/* a path of PATH_MAX - 1 bytes fits, one more does not */
	char text[PATH_MAX + 64], out[PATH_MAX + 32];
	int n = snprintf(text, sizeof(text), "hex,file:///");
	memset(text + n, 'k', PATH_MAX - 2);
	text[n + PATH_MAX - 2] = '\0';
	struct keysource ks;
	ks_of(text, &ks);
	assert_int_equal(strlen(ks.path), PATH_MAX - 1);
	keysource_format(&ks, out, sizeof(out));
	assert_string_equal(out, text);

	strcat(text, "k");
	struct isc_err e = { 0 };
	assert_int_equal(keysource_parse(text, &ks, &e), -ENAMETOOLONG);
	assert_int_equal(e.code, ENAMETOOLONG);
	assert_true(str_has_prefix(e.msg, "keysource 'hex,file:///kkk"));
}

/* ---- keysource files --------------------------------------------------------- */

static void test_read_raw(void **state)
{
	const char *dir = *state;
	uint8_t k[CRYPT_KEY_SIZE + 2];
	for (size_t i = 0; i < sizeof(k); i++)
		k[i] = (uint8_t)(0xff - i);
	k[3] = '\n';    /* any byte at all, a newline or NUL included */
	k[4] = '\0';
	key_file_ok(dir, "raw", k, CRYPT_KEY_SIZE, k, CRYPT_KEY_SIZE);
	key_file_refused(dir, "raw", k, 31, 0600, EINVAL, "%s holds 31 bytes; a raw key is 32 bytes");
	key_file_refused(dir, "raw", k, 33, 0600, EINVAL, "%s holds 33 bytes; a raw key is 32 bytes");
	key_file_refused(dir, "raw", k, 0, 0600, EINVAL, "%s holds 0 bytes; a raw key is 32 bytes");
	/* raw keys are not text: a final newline is a 33rd byte */
	uint8_t nl[CRYPT_KEY_SIZE + 1];
	memcpy(nl, k, CRYPT_KEY_SIZE);
	nl[CRYPT_KEY_SIZE] = '\n';
	key_file_refused(dir, "raw", nl, sizeof(nl), 0600, EINVAL,
			 "%s holds 33 bytes; a raw key is 32 bytes");
}

static void test_read_hex(void **state)
{
	const char *dir = *state;
	static const char hex[] = "000102030405060708090a0b0c0d0e0f"
				  "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
	uint8_t bin[CRYPT_KEY_SIZE];
	for (size_t i = 0; i < 16; i++) {
		bin[i] = (uint8_t)i;
		bin[16 + i] = (uint8_t)(0xf0 + i);
	}
	char buf[200];
	key_file_ok(dir, "hex", hex, 64, bin, sizeof(bin));
	snprintf(buf, sizeof(buf), "%s\n", hex);
	key_file_ok(dir, "hex", buf, 65, bin, sizeof(bin));
	snprintf(buf, sizeof(buf), "%s\r\n", hex);
	key_file_ok(dir, "hex", buf, 66, bin, sizeof(bin));
	/* digits in either case */
	snprintf(buf, sizeof(buf), "000102030405060708090A0B0C0D0E0FF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF");
	key_file_ok(dir, "hex", buf, 64, bin, sizeof(bin));

	static const char *const bad[] = {
		"000102030405060708090a0b0c0d0e0ff0f1f2f3f4f5f6f7f8f9fafbfcfdfef",     /* 63 */
		"000102030405060708090a0b0c0d0e0ff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff0",   /* 65 */
		"000102030405060708090a0b0c0d0e0ff0f1f2f3f4f5f6f7f8f9fafbfcfdfefg",    /* not hex */
		"0x0102030405060708090a0b0c0d0e0ff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
		" 00102030405060708090a0b0c0d0e0ff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
		"00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:f0:f1:f2:f3:f4:f5",
		"",
		"\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		key_file_refused(dir, "hex", bad[i], strlen(bad[i]), 0600, EINVAL,
				 "%s: a hex key is 64 hex digits");
	/* a raw key in a file declared hex */
	key_file_refused(dir, "hex", bin, sizeof(bin), 0600, EINVAL, "%s: a hex key is 64 hex digits");
}

static void test_read_passphrase(void **state)
{
	const char *dir = *state;
	char p[600];
	memset(p, 'p', sizeof(p));
	key_file_ok(dir, "passphrase", "12345678", 8, "12345678", 8);
	key_file_ok(dir, "passphrase", "12345678\n", 9, "12345678", 8);
	key_file_ok(dir, "passphrase", "12345678\r\n", 10, "12345678", 8);
	/* inner spaces and newlines belong to it; only one final newline goes */
	key_file_ok(dir, "passphrase", " two\nlines ", 11, " two\nlines ", 11);
	key_file_ok(dir, "passphrase", "12345678\n\n", 10, "12345678\n", 9);
	key_file_ok(dir, "passphrase", p, 512, p, 512);
	p[512] = '\n';
	key_file_ok(dir, "passphrase", p, 513, p, 512);

	key_file_refused(dir, "passphrase", "1234567", 7, 0600, EINVAL,
			 "%s: a passphrase is 8 to 512 bytes");
	key_file_refused(dir, "passphrase", "1234567\n", 8, 0600, EINVAL,
			 "%s: a passphrase is 8 to 512 bytes");
	key_file_refused(dir, "passphrase", "", 0, 0600, EINVAL,
			 "%s: a passphrase is 8 to 512 bytes");
	memset(p, 'p', sizeof(p));
	key_file_refused(dir, "passphrase", p, 513, 0600, EINVAL,
			 "%s: a passphrase is 8 to 512 bytes");
	/* a big file is not read whole */
	key_file_refused(dir, "passphrase", p, sizeof(p), 0600, EFBIG, "key file %s is too large");
	key_file_refused(dir, "raw", p, sizeof(p), 0600, EFBIG, "key file %s is too large");
}

static void test_read_file_checks(void **state)
{
	const char *dir = *state;
	static const char pass[] = "a good passphrase";
	key_file_refused(dir, "passphrase", pass, strlen(pass), 0644, EPERM,
			 "key file %s has mode 0644: it must not be accessible to group or others (chmod 600)");
	key_file_refused(dir, "passphrase", pass, strlen(pass), 0640, EPERM,
			 "key file %s has mode 0640: it must not be accessible to group or others (chmod 600)");
	key_file_refused(dir, "passphrase", pass, strlen(pass), 0604, EPERM,
			 "key file %s has mode 0604: it must not be accessible to group or others (chmod 600)");
	key_file_refused(dir, "passphrase", pass, strlen(pass), 0601, EPERM,
			 "key file %s has mode 0601: it must not be accessible to group or others (chmod 600)");
	/* only the owner's bits matter */
	key_file_ok(dir, "passphrase", pass, strlen(pass), pass, strlen(pass));
	char path[PATH_MAX];
	key_put(dir, "ro", pass, strlen(pass), 0400, path, sizeof(path));
	struct secret s = { 0 };
	struct isc_err e = { 0 };
	assert_int_equal(key_read("passphrase", path, &s, &e), 0);
	secret_free(&s);

	char want[PATH_MAX + 64];
	/* missing: ENOKEY, which iscadm turns into "give --key" */
	snprintf(path, sizeof(path), "%s/absent", dir);
	assert_int_equal(key_read("raw", path, &s, &e), -ENOKEY);
	assert_int_equal(e.code, ENOKEY);
	snprintf(want, sizeof(want), "key not found at %s", path);
	assert_string_equal(e.msg, want);
	snprintf(path, sizeof(path), "%s/no-dir/absent", dir);
	assert_int_equal(key_read("raw", path, &s, &e), -ENOKEY);
	snprintf(want, sizeof(want), "key not found at %s", path);
	assert_string_equal(e.msg, want);
	assert_null(s.buf);

	/* a symlink is not followed, even to a good key */
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "%s/ro", dir);
	snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(key_read("passphrase", path, &s, &e), -ELOOP);
	snprintf(want, sizeof(want), "key file %s: its path goes through a symlink (give the real path)", path);
	assert_string_equal(e.msg, want);
	assert_null(s.buf);
	/* nor a symlink to a directory on the way */
	char linkdir[PATH_MAX];
	snprintf(linkdir, sizeof(linkdir), "%s/linkdir", dir);
	assert_int_equal(symlink(dir, linkdir), 0);
	snprintf(path, sizeof(path), "%s/ro", linkdir);
	assert_int_equal(key_read("passphrase", path, &s, &e), -ELOOP);
	assert_null(s.buf);
	unlink(linkdir);

	/* a directory */
	snprintf(path, sizeof(path), "%s/dir", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(key_read("raw", path, &s, &e), -EINVAL);
	snprintf(want, sizeof(want), "key file %s is not a regular file", path);
	assert_string_equal(e.msg, want);
}

static void test_read_owner(void **state)
{
	const char *dir = *state;
	if (geteuid() != 0)
		skip();
	char path[PATH_MAX], want[PATH_MAX + 64];
	static const char pass[] = "a good passphrase";
	key_put(dir, "theirs", pass, strlen(pass), 0600, path, sizeof(path));
	assert_int_equal(chown(path, 1000, 1000), 0);
	struct secret s = { 0 };
	struct isc_err e = { 0 };
	assert_int_equal(key_read("passphrase", path, &s, &e), -EPERM);
	snprintf(want, sizeof(want), "key file %s is owned by uid 1000, not root", path);
	assert_string_equal(e.msg, want);
	assert_null(s.buf);
	/* a root-owned key in a group other than root's is fine */
	assert_int_equal(chown(path, 0, 1000), 0);
	assert_int_equal(key_read("passphrase", path, &s, &e), 0);
	assert_memory_equal(s.buf, pass, strlen(pass));
	secret_free(&s);
}

static void test_generate(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX], sub[PATH_MAX], want[PATH_MAX + 64];
	struct isc_err e = { 0 };
	struct stat st;
	/* the missing directories are made, private */
	snprintf(sub, sizeof(sub), "%s/keys/isc", dir);
	snprintf(path, sizeof(path), "%s/web.key", sub);
	mode_t old = umask(0);      /* a careless umask changes nothing */
	int r = keysource_generate(path, &e);
	umask(old);
	if (r < 0)
		fail_msg("generate: %s", e.msg);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, CRYPT_KEY_SIZE);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	/* it is a raw key that keysource_read accepts */
	struct secret k1 = { 0 }, k2 = { 0 };
	assert_int_equal(key_read("raw", path, &k1, &e), 0);
	char *disk = NULL;
	size_t len = 0;
	assert_int_equal(read_file_at(AT_FDCWD, path, &disk, &len, 4096), 0);
	assert_int_equal(len, CRYPT_KEY_SIZE);
	assert_memory_equal(disk, k1.buf, CRYPT_KEY_SIZE);

	/* never overwritten */
	assert_int_equal(keysource_generate(path, &e), -EEXIST);
	assert_int_equal(e.code, EEXIST);
	snprintf(want, sizeof(want), "key file %s already exists; remove it or give --key", path);
	assert_string_equal(e.msg, want);
	assert_int_equal(key_read("raw", path, &k2, &e), 0);
	assert_memory_equal(k2.buf, k1.buf, CRYPT_KEY_SIZE);
	secret_free(&k2);

	/* a second key is a different key */
	snprintf(path, sizeof(path), "%s/other.key", sub);
	assert_int_equal(keysource_generate(path, &e), 0);
	assert_int_equal(key_read("raw", path, &k2, &e), 0);
	assert_memory_not_equal(k2.buf, k1.buf, CRYPT_KEY_SIZE);
	secret_free(&k1);
	secret_free(&k2);
	free(disk);

	/* not through a symlink, not even a dangling one: nothing is created
	 * where it points */
	char target[PATH_MAX];
	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(path, sizeof(path), "%s/link.key", dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(keysource_generate(path, &e), -EEXIST);
	assert_int_equal(lstat(target, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* a directory that cannot be made */
	snprintf(path, sizeof(path), "%s/keys/isc/web.key/sub/x.key", dir);
	assert_int_equal(keysource_generate(path, &e), -ENOTDIR);
	snprintf(want, sizeof(want), "create key directory %s/keys/isc/web.key/sub: %s", dir,
		 strerror(ENOTDIR));
	assert_string_equal(e.msg, want);
}

/* ---- keysources on a terminal ------------------------------------------------ */

struct prompt_result {
	int r;
	int code;
	char msg[256];
	size_t len;
	unsigned char buf[CRYPT_PASS_MAX + 8];
};

/* Run keysource_read(kstext, "ISC web", confirm) in a child whose
 * controlling terminal is a fresh pty, answering the nth prompt with
 * answers[n] once echo is off.  What the terminal showed goes to shown. */
static void prompt_run(const char *kstext, bool confirm, const char *const *answers, size_t n,
		       struct prompt_result *res, char *shown, size_t shown_size)
{
	struct keysource ks;
	ks_of(kstext, &ks);
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 && (errno == ENOENT || errno == ENODEV))
		skip();     /* no devpts here */
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	char slave[64];
	assert_int_equal(ptsname_r(m, slave, sizeof(slave)), 0);
	int pfd[2];
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(30);
		/* a new session has no terminal; the first one it opens becomes its own */
		if (setsid() < 0)
			_exit(3);
		int s = open(slave, O_RDWR | O_CLOEXEC);
		if (s < 0)
			_exit(4);
		struct prompt_result r = { 0 };
		struct secret out = { 0 };
		struct isc_err e = { 0 };
		r.r = keysource_read(&ks, "ISC web", confirm, &out, &e);
		r.code = e.code;
		snprintf(r.msg, sizeof(r.msg), "%s", e.msg);
		if (r.r == 0 && out.len <= sizeof(r.buf)) {
			r.len = out.len;
			memcpy(r.buf, out.buf, out.len);
		}
		secret_free(&out);
		_exit(write_all(pfd[1], &r, sizeof(r)) < 0 ? 5 : 0);
	}
	close(pfd[1]);
	size_t got = 0;
	shown[0] = '\0';
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 20)
			fail_msg("no prompt %zu within 20s; the terminal showed '%s'", i + 1, shown);
		struct pollfd p = { .fd = m, .events = POLLIN };
		if (poll(&p, 1, 10) == 1 && got + 1 < shown_size) {
			ssize_t k = read(m, shown + got, shown_size - got - 1);
			if (k > 0)
				shown[got += (size_t)k] = '\0';
		}
		/* the (i+1)th prompt is up, and echo is off (the master sees the
		 * slave's settings) */
		size_t prompts = 0;
		for (const char *c = shown; (c = strstr(c, "for ISC web: ")); c++)
			prompts++;
		struct termios t;
		if (prompts > i && tcgetattr(m, &t) == 0 && !(t.c_lflag & ECHO)) {
			assert_int_equal(write_all(m, answers[i], strlen(answers[i])), 0);
			assert_int_equal(write_all(m, "\n", 1), 0);
			i++;
		}
	}
	assert_int_equal(read_all(pfd[0], res, sizeof(*res)), (ssize_t)sizeof(*res));
	close(pfd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* what is left of the transcript */
	struct pollfd p = { .fd = m, .events = POLLIN };
	while (poll(&p, 1, 0) == 1 && got + 1 < shown_size) {
		ssize_t k = read(m, shown + got, shown_size - got - 1);
		if (k <= 0)
			break;
		shown[got += (size_t)k] = '\0';
	}
	close(m);
}

static void test_prompt_passphrase(void **state)
{
	(void)state;
	struct prompt_result res;
	char shown[1024];
	const char *twice[] = { "tty secret 1", "tty secret 1" };
	prompt_run("passphrase,prompt", true, twice, 2, &res, shown, sizeof(shown));
	if (res.r < 0)
		fail_msg("prompt refused: %s", res.msg);
	assert_int_equal(res.len, strlen("tty secret 1"));
	assert_memory_equal(res.buf, "tty secret 1", res.len);
	assert_non_null(strstr(shown, "Enter passphrase for ISC web: "));
	assert_non_null(strstr(shown, "Re-enter passphrase for ISC web: "));
	/* what was typed is not shown */
	assert_null(strstr(shown, "secret"));

	/* asked once when not confirming */
	prompt_run("passphrase,prompt", false, twice, 1, &res, shown, sizeof(shown));
	assert_int_equal(res.r, 0);
	assert_null(strstr(shown, "Re-enter"));

	const char *differ[] = { "tty secret 1", "tty secret 2" };
	prompt_run("passphrase,prompt", true, differ, 2, &res, shown, sizeof(shown));
	assert_int_equal(res.r, -EINVAL);
	assert_string_equal(res.msg, "passphrases for ISC web do not match");

	const char *shortp[] = { "short" };
	prompt_run("passphrase,prompt", false, shortp, 1, &res, shown, sizeof(shown));
	assert_int_equal(res.r, -EINVAL);
	assert_string_equal(res.msg, "passphrase for ISC web: a passphrase is 8 to 512 bytes");
}

static void test_prompt_hex(void **state)
{
	(void)state;
	struct prompt_result res;
	char shown[1024];
	const char *key[] = { "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" };
	prompt_run("hex,prompt", false, key, 1, &res, shown, sizeof(shown));
	if (res.r < 0)
		fail_msg("prompt refused: %s", res.msg);
	assert_int_equal(res.len, CRYPT_KEY_SIZE);
	for (size_t i = 0; i < CRYPT_KEY_SIZE; i++)
		assert_int_equal(res.buf[i], (i % 16) * 0x11);
	assert_non_null(strstr(shown, "Enter hex key for ISC web: "));
	assert_null(strstr(shown, "0011"));

	const char *bad[] = { "0011" };
	prompt_run("hex,prompt", false, bad, 1, &res, shown, sizeof(shown));
	assert_int_equal(res.r, -EINVAL);
	assert_string_equal(res.msg, "hex key for ISC web: a hex key is 64 hex digits");
}

/* Without a terminal (iscd, a cron job) a prompt is refused, not hung. */
static void test_prompt_no_terminal(void **state)
{
	(void)state;
	struct keysource ks;
	ks_of("passphrase,prompt", &ks);
	int pfd[2];
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(30);
		if (setsid() < 0)
			_exit(3);
		struct prompt_result r = { 0 };
		struct secret out = { 0 };
		struct isc_err e = { 0 };
		r.r = keysource_read(&ks, "ISC web", true, &out, &e);
		r.code = e.code;
		snprintf(r.msg, sizeof(r.msg), "%s", e.msg);
		r.len = out.len;
		_exit(write_all(pfd[1], &r, sizeof(r)) < 0 ? 5 : 0);
	}
	close(pfd[1]);
	struct prompt_result res;
	assert_int_equal(read_all(pfd[0], &res, sizeof(res)), (ssize_t)sizeof(res));
	close(pfd[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(res.r, -ENOTTY);
	assert_int_equal(res.code, ENOTTY);
	assert_string_equal(res.msg, "no terminal to prompt for the key of ISC web");
	assert_int_equal(res.len, 0);
}

/* ---- wrapping ---------------------------------------------------------------- */

static void test_wrap_raw_roundtrip(void **state)
{
	(void)state;
	struct keysource ks;
	struct secret material = { 0 }, master = { 0 };
	struct wrapped w, back;
	struct isc_err e = { 0 };
	ks_of("raw,file:///etc/isc/keys/web.key", &ks);
	assert_int_equal(secret_random(&material, CRYPT_KEY_SIZE), 0);
	assert_int_equal(secret_random(&master, CRYPT_KEY_SIZE), 0);
	memset(&w, 0, sizeof(w));
	for (size_t i = 0; i < CRYPT_ID_SIZE; i++)
		w.id[i] = (uint8_t)(0x10 + i);
	w.generated = true;
	if (wrap_seal(&w, &ks, &material, &master, "web", &e) < 0)
		fail_msg("seal: %s", e.msg);
	assert_string_equal(w.keysource, "raw,file:///etc/isc/keys/web.key");
	assert_false(w.kdf);

	char *text = wrapped_dump(&w);
	assert_non_null(text);
	char nonce[49], sealed[97], want[512];
	hex_of(w.nonce, sizeof(w.nonce), nonce);
	hex_of(w.sealed, sizeof(w.sealed), sealed);
	snprintf(want, sizeof(want), W_MAGIC W_KS "generated=yes\n"
		 "identifier=101112131415161718191a1b1c1d1e1f\nkdf=none\nnonce=%s\nsealed=%s\n",
		 nonce, sealed);
	assert_string_equal(text, want);
	/* the master key itself is not in the record */
	char mhex[65];
	hex_of(master.buf, CRYPT_KEY_SIZE, mhex);
	assert_null(strstr(text, mhex));

	wrapped_of(text, &back);
	assert_string_equal(back.keysource, w.keysource);
	assert_true(back.generated);
	assert_false(back.kdf);
	assert_memory_equal(back.id, w.id, sizeof(w.id));
	assert_memory_equal(back.nonce, w.nonce, sizeof(w.nonce));
	assert_memory_equal(back.sealed, w.sealed, sizeof(w.sealed));
	char *text2 = wrapped_dump(&back);
	assert_string_equal(text2, text);
	opens_to(&back, &material, "web", master.buf);

	/* sealing again picks a new nonce */
	struct wrapped w2 = w;
	assert_int_equal(wrap_seal(&w2, &ks, &material, &master, "web", &e), 0);
	assert_memory_not_equal(w2.nonce, w.nonce, sizeof(w.nonce));
	assert_memory_not_equal(w2.sealed, w.sealed, sizeof(w.sealed));
	opens_to(&w2, &material, "web", master.buf);
	free(text);
	free(text2);
	secret_free(&material);
	secret_free(&master);
}

static void test_wrap_rejects(void **state)
{
	(void)state;
	struct keysource ks;
	struct secret material = { 0 }, other = { 0 }, master = { 0 };
	struct wrapped w;
	struct isc_err e = { 0 };
	ks_of("hex,prompt", &ks);
	assert_int_equal(secret_random(&material, CRYPT_KEY_SIZE), 0);
	assert_int_equal(secret_random(&other, CRYPT_KEY_SIZE), 0);
	assert_int_equal(secret_random(&master, CRYPT_KEY_SIZE), 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(wrap_seal(&w, &ks, &material, &master, "a", &e), 0);
	assert_false(w.kdf);
	opens_to(&w, &material, "a", master.buf);

	rejected(&w, &other, "a");
	/* the AD binds the record to its root's name */
	rejected(&w, &material, "b");
	rejected(&w, &material, "");
	rejected(&w, &material, "a ");
	/* and to its key identifier */
	struct wrapped t = w;
	t.id[0] ^= 1;
	rejected(&t, &material, "a");
	/* any flipped byte of the sealed key or the nonce */
	for (size_t i = 0; i < sizeof(w.sealed); i++) {
		t = w;
		t.sealed[i] ^= 0x80;
		rejected(&t, &material, "a");
	}
	for (size_t i = 0; i < sizeof(w.nonce); i++) {
		t = w;
		t.nonce[i] ^= 0x01;
		rejected(&t, &material, "a");
	}
	/* a key one bit off */
	memcpy(other.buf, material.buf, CRYPT_KEY_SIZE);
	other.buf[31] ^= 1;
	rejected(&w, &other, "a");

	/* a key of the wrong size is not a wrong key but a mistake */
	struct secret short_key = { 0 };
	secret_bytes(&short_key, material.buf, 31);
	struct secret m = { 0 };
	assert_int_equal(wrap_open(&w, &short_key, "a", &m, &e), -EINVAL);
	assert_string_equal(e.msg, "a key of 31 bytes where 32 are needed");
	assert_null(m.buf);
	assert_int_equal(wrap_seal(&t, &ks, &short_key, &master, "a", &e), -EINVAL);
	assert_string_equal(e.msg, "a key of 31 bytes where 32 are needed");
	/* only 32-byte master keys are sealed */
	assert_int_equal(wrap_seal(&t, &ks, &material, &short_key, "a", &e), -EINVAL);
	assert_string_equal(e.msg, "master key of the wrong size");
	secret_free(&short_key);
	secret_free(&material);
	secret_free(&other);
	secret_free(&master);
}

/* Argon2id at its real cost (128 MiB, ~0.5 s each): kept to a few runs.
 * The passphrase comes from a file with a newline, and opens with the
 * same words typed without one. */
static void test_wrap_passphrase(void **state)
{
	const char *dir = *state;
	char path[PATH_MAX];
	struct keysource ks;
	struct secret material = { 0 }, typed = { 0 }, wrong = { 0 }, master = { 0 };
	struct wrapped w, back;
	struct isc_err e = { 0 };
	static const char words[] = "correct horse battery staple";
	static const char words_nl[] = "correct horse battery staple\n";
	key_put(dir, "pass", words_nl, strlen(words_nl), 0600, path, sizeof(path));
	assert_int_equal(key_read("passphrase", path, &material, &e), 0);
	secret_bytes(&typed, words, strlen(words));
	secret_bytes(&wrong, "correct horse battery stapler", strlen(words) + 1);
	assert_int_equal(secret_random(&master, CRYPT_KEY_SIZE), 0);

	memset(&w, 0, sizeof(w));
	char text_ks[PATH_MAX + 32];
	snprintf(text_ks, sizeof(text_ks), "passphrase,file://%s", path);
	ks_of(text_ks, &ks);
	if (wrap_seal(&w, &ks, &material, &master, "web", &e) < 0)
		fail_msg("seal: %s", e.msg);
	assert_true(w.kdf);
	assert_int_equal(w.opslimit, 3);
	assert_int_equal(w.memlimit, 128ULL << 20);
	static const uint8_t zero[16];
	assert_memory_not_equal(w.salt, zero, sizeof(zero));

	char *text = wrapped_dump(&w);
	char salt[33], want[PATH_MAX + 128];
	hex_of(w.salt, sizeof(w.salt), salt);
	snprintf(want, sizeof(want), "\nkeysource=%s\ngenerated=no\n", text_ks);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "\nkdf=argon2id\nsalt=%s\nopslimit=3\nmemlimit=134217728\nnonce=", salt);
	assert_non_null(strstr(text, want));
	wrapped_of(text, &back);
	assert_true(back.kdf);
	assert_memory_equal(back.salt, w.salt, sizeof(w.salt));
	assert_int_equal(back.opslimit, 3);
	assert_int_equal(back.memlimit, 128ULL << 20);
	char *text2 = wrapped_dump(&back);
	assert_string_equal(text2, text);

	opens_to(&back, &typed, "web", master.buf);
	rejected(&back, &wrong, "web");
	/* lowering the cost in the record does not make a cheaper key that
	 * opens it (and costs nothing to try here) */
	back.opslimit = 1;
	back.memlimit = 8192;
	rejected(&back, &typed, "web");
	free(text);
	free(text2);
	secret_free(&material);
	secret_free(&typed);
	secret_free(&wrong);
	secret_free(&master);
}

/* Records made by another implementation open: the format, the AD and the
 * KDF parameters are an on-disk contract. */
static void test_wrap_known_answer(void **state)
{
	(void)state;
	uint8_t want[CRYPT_KEY_SIZE];
	kat_master(want);
	struct secret key = { 0 }, pass = { 0 }, wrong = { 0 };
	kat_raw_key(&key);
	secret_bytes(&pass, KAT_PASS, strlen(KAT_PASS));
	secret_bytes(&wrong, "correct horse batterz", strlen(KAT_PASS));

	struct wrapped w;
	wrapped_of(RAW_RECORD, &w);
	assert_string_equal(w.keysource, "raw,file:///etc/isc/keys/web.key");
	assert_true(w.generated);
	assert_false(w.kdf);
	opens_to(&w, &key, "web", want);
	rejected(&w, &key, "db");
	/* a record of format 1 (AD: name and identifier only) still opens */
	struct wrapped v1;
	wrapped_of("isc-wrapped-key 1\n" W_KS W_GEN W_ID W_NONE W_NONCE
		   "sealed=f2f88d057e7ff3b97237ecee66e05deff654ecfc37ac7adb511b87ae9ea4e4a5"
		   "8ca8df46a1f340eb947c105b7e1989f3\n", &v1);
	assert_int_equal(v1.format, 1);
	opens_to(&v1, &key, "web", want);
	rejected(&v1, &key, "db");
	/* every field but the nonce and the sealed key is bound */
	struct wrapped tw = w;
	tw.generated = false;
	rejected(&tw, &key, "web");
	tw = w;
	snprintf(tw.keysource, sizeof(tw.keysource), "raw,file:///etc/isc/keys/db.key");
	rejected(&tw, &key, "web");
	char *d = wrapped_dump(&w);
	assert_string_equal(d, RAW_RECORD);
	free(d);

	wrapped_of(PASS_RECORD, &w);
	assert_string_equal(w.keysource, "passphrase,prompt");
	assert_false(w.generated);
	assert_true(w.kdf);
	assert_int_equal(w.opslimit, 1);
	assert_int_equal(w.memlimit, 8192);
	opens_to(&w, &pass, "web", want);
	rejected(&w, &wrong, "web");
	rejected(&w, &pass, "db");
	struct wrapped t = w;
	t.salt[15] ^= 1;
	rejected(&t, &pass, "web");
	t = w;
	t.opslimit = 2;
	rejected(&t, &pass, "web");
	/* the raw key is not the passphrase */
	rejected(&w, &key, "web");
	d = wrapped_dump(&w);
	assert_string_equal(d, PASS_RECORD);
	free(d);

	/* the corpus holds the same records */
	char base[PATH_MAX];
	assert_true(corpus_find_named("wrapped", base, sizeof(base)));
	static const char *const files[][2] = {
		{ "pass/raw-key", RAW_RECORD }, { "pass/passphrase-low-cost", PASS_RECORD },
	};
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char path[PATH_MAX + 64], *text = NULL;
		snprintf(path, sizeof(path), "%s/%s", base, files[i][0]);
		assert_int_equal(read_file_at(AT_FDCWD, path, &text, NULL, 1 << 16), 0);
		assert_string_equal(text, files[i][1]);
		free(text);
	}
	secret_free(&key);
	secret_free(&pass);
	secret_free(&wrong);
}

/* ---- wrapped records --------------------------------------------------------- */

struct bad_wrapped {
	const char *why;
	const char *text;
	const char *msg;
};

#define INCOMPLETE "incomplete record (keysource, identifier, nonce, sealed needed)"
#define HEX30 "00112233445566778899aabbccddee"

static const struct bad_wrapped bad_records[] = {
	{ "empty", "", "not an isc wrapped key (bad first line)" },
	{ "magic without newline", "isc-wrapped-key 2", "not an isc wrapped key (bad first line)" },
	{ "other version", "isc-wrapped-key 3\n" W_KS W_GEN W_ID W_NONE W_NONCE W_SEALED,
	  "not an isc wrapped key (bad first line)" },
	{ "no magic", W_KS W_GEN W_ID W_NONE W_NONCE W_SEALED, "not an isc wrapped key (bad first line)" },
	{ "magic with CR", "isc-wrapped-key 2\r\n" W_KS W_ID W_NONCE W_SEALED,
	  "not an isc wrapped key (bad first line)" },
	{ "magic only", W_MAGIC, INCOMPLETE },
	{ "no keysource", W_MAGIC W_GEN W_ID W_NONE W_NONCE W_SEALED, INCOMPLETE },
	{ "no identifier", W_MAGIC W_KS W_GEN W_NONE W_NONCE W_SEALED, INCOMPLETE },
	{ "no nonce", W_MAGIC W_KS W_GEN W_ID W_NONE W_SEALED, INCOMPLETE },
	{ "no sealed", W_MAGIC W_KS W_GEN W_ID W_NONE W_NONCE, INCOMPLETE },
	{ "unknown key", RAW_RECORD "colour=blue\n", "line 8: unknown key 'colour'" },
	{ "empty key", W_MAGIC "=x\n", "line 2: unknown key ''" },
	{ "key with space", W_MAGIC "nonce =" KAT_NONCE "\n", "line 2: unknown key 'nonce '" },
	{ "key upper case", W_MAGIC "Nonce=" KAT_NONCE "\n", "line 2: unknown key 'Nonce'" },
	{ "no equals", W_MAGIC W_KS "generated\n", "line 3: expected key=value" },
	{ "blank line", W_MAGIC W_KS "\n" W_ID W_NONCE W_SEALED, "line 3: expected key=value" },
	{ "comment", W_MAGIC "# note\n" W_KS W_ID W_NONCE W_SEALED, "line 2: expected key=value" },
	{ "generated maybe", W_MAGIC W_KS "generated=maybe\n", "line 3: bad value for generated" },
	{ "generated empty", W_MAGIC W_KS "generated=\n", "line 3: bad value for generated" },
	{ "kdf scrypt", W_MAGIC W_KS W_GEN W_ID "kdf=scrypt\n", "line 5: bad value for kdf" },
	{ "kdf with CR", W_MAGIC W_KS W_GEN W_ID "kdf=none\r\n", "line 5: bad value for kdf" },
	{ "identifier short", W_MAGIC W_KS W_GEN "identifier=" HEX30 "\n",
	  "line 4: bad value for identifier" },
	{ "identifier long", W_MAGIC W_KS W_GEN "identifier=" KAT_ID "00\n",
	  "line 4: bad value for identifier" },
	{ "identifier odd", W_MAGIC W_KS W_GEN "identifier=" KAT_ID "0\n",
	  "line 4: bad value for identifier" },
	{ "identifier not hex", W_MAGIC W_KS W_GEN "identifier=g0112233445566778899aabbccddeeff\n",
	  "line 4: bad value for identifier" },
	{ "identifier with space", W_MAGIC W_KS W_GEN "identifier=" KAT_ID " \n",
	  "line 4: bad value for identifier" },
	{ "identifier empty", W_MAGIC W_KS W_GEN "identifier=\n", "line 4: bad value for identifier" },
	{ "nonce short", W_MAGIC "nonce=303132333435363738393a3b3c3d3e3f40414243444546\n",
	  "line 2: bad value for nonce" },
	{ "nonce long", W_MAGIC "nonce=" KAT_NONCE "48\n", "line 2: bad value for nonce" },
	{ "sealed short", W_MAGIC "sealed=" KAT_ID KAT_ID HEX30 "\n", "line 2: bad value for sealed" },
	{ "sealed long", W_MAGIC "sealed=" KAT_SEALED_RAW "00\n", "line 2: bad value for sealed" },
	{ "salt short", W_MAGIC "salt=" HEX30 "\n", "line 2: bad value for salt" },
	{ "salt long", W_MAGIC "salt=" KAT_SALT "00\n", "line 2: bad value for salt" },
	{ "opslimit zero", P_HEAD "opslimit=0\n", "line 7: bad value for opslimit" },
	{ "opslimit 21", P_HEAD "opslimit=21\n", "line 7: bad value for opslimit" },
	{ "opslimit negative", P_HEAD "opslimit=-1\n", "line 7: bad value for opslimit" },
	{ "opslimit plus", P_HEAD "opslimit=+3\n", "line 7: bad value for opslimit" },
	{ "opslimit empty", P_HEAD "opslimit=\n", "line 7: bad value for opslimit" },
	{ "opslimit junk", P_HEAD "opslimit=3x\n", "line 7: bad value for opslimit" },
	{ "opslimit hex", P_HEAD "opslimit=0x3\n", "line 7: bad value for opslimit" },
	{ "opslimit overflow", P_HEAD "opslimit=18446744073709551619\n", "line 7: bad value for opslimit" },
	{ "memlimit zero", P_HEAD "opslimit=1\nmemlimit=0\n", "line 8: bad value for memlimit" },
	{ "memlimit below 8K", P_HEAD "opslimit=1\nmemlimit=8191\n", "line 8: bad value for memlimit" },
	{ "memlimit above 1G", P_HEAD "opslimit=1\nmemlimit=1073741825\n", "line 8: bad value for memlimit" },
	{ "memlimit 2^64", P_HEAD "opslimit=1\nmemlimit=18446744073709551616\n",
	  "line 8: bad value for memlimit" },
	{ "memlimit with unit", P_HEAD "opslimit=1\nmemlimit=128M\n", "line 8: bad value for memlimit" },
	{ "argon2id without cost", P_HEAD P_TAIL, "argon2id record without its salt and cost" },
	{ "argon2id without memlimit", P_HEAD "opslimit=3\n" P_TAIL, "argon2id record without its salt and cost" },
	{ "argon2id without opslimit", P_HEAD "memlimit=8192\n" P_TAIL, "argon2id record without its salt and cost" },
	{ "no final newline", W_MAGIC W_KS W_GEN W_ID W_NONE W_NONCE "sealed=" KAT_SEALED_RAW,
	  "line 7: no newline at end" },
	{ "trailing junk", RAW_RECORD "x", "line 8: no newline at end" },
};

static void test_wrapped_parse_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_records); i++) {
		const struct bad_wrapped *b = &bad_records[i];
		struct wrapped w;
		struct isc_err e = { 0 };
		int r = wrapped_parse(b->text, &w, &e);
		if (r != -EINVAL || e.code != EINVAL || !STREQ(e.msg, b->msg))
			fail_msg("%s: got %d '%s', want -EINVAL '%s'", b->why, r, e.msg, b->msg);
	}
}

static void test_wrapped_parse_limits(void **state)
{
	(void)state;
	struct wrapped w;
	struct isc_err e = { 0 };
	/* the cost bounds themselves are accepted */
	static const char *const edges[] = {
		P_HEAD "opslimit=1\nmemlimit=8192\n" P_TAIL,
		P_HEAD "opslimit=20\nmemlimit=1073741824\n" P_TAIL,
	};
	for (size_t i = 0; i < ARRAY_SIZE(edges); i++)
		wrapped_of(edges[i], &w);
	assert_int_equal(w.opslimit, 20);
	assert_int_equal(w.memlimit, 1ULL << 30);

	/* defaults: not generated, no KDF; hex digits in either case, the
	 * dump in lower case */
	wrapped_of(W_MAGIC "keysource=hex,prompt\nidentifier=00112233445566778899AABBCCDDEEFF\n"
		   W_NONCE W_SEALED, &w);
	assert_false(w.generated);
	assert_false(w.kdf);
	char *d = wrapped_dump(&w);
	assert_string_equal(d, W_MAGIC "keysource=hex,prompt\ngenerated=no\n" W_ID W_NONE W_NONCE W_SEALED);
	free(d);

	/* a keysource may be as long as its path can be, not longer */
	size_t room = PATH_MAX - 2;   /* "/" + room bytes + NUL fill the path */
	char *text = malloc(PATH_MAX + 512);
	assert_non_null(text);
	int n = sprintf(text, W_MAGIC "keysource=raw,file:///");
	memset(text + n, 'k', room);
	strcpy(text + n + room, "\n" W_ID W_NONCE W_SEALED);
	wrapped_of(text, &w);
	assert_int_equal(strlen(w.keysource), strlen("raw,file:///") + room);
	memset(text + n, 'k', room + 1);
	strcpy(text + n + room + 1, "\n" W_ID W_NONCE W_SEALED);
	assert_int_equal(wrapped_parse(text, &w, &e), -EINVAL);
	assert_string_equal(e.msg, "line 2: bad value for keysource");
	memset(text + n, 'k', PATH_MAX + 100);
	strcpy(text + n + PATH_MAX + 100, "\n" W_ID W_NONCE W_SEALED);
	assert_int_equal(wrapped_parse(text, &w, &e), -EINVAL);
	assert_string_equal(e.msg, "line 2: too long");
	free(text);
}

/* ---- the fuzz corpora: pass/ is accepted, fail/ refused ------------------------ */

static void keysource_corpus_one(const char *file, const char *text, size_t len, bool pass)
{
	struct keysource ks;
	struct isc_err e = { 0 };
	if (strlen(text) != len)
		fail_msg("corpus keysource/%s holds a NUL", file);
	int r = keysource_parse(text, &ks, &e);
	if (pass && r < 0)
		fail_msg("corpus keysource pass/%s refused: %s", file, e.msg);
	if (!pass && r == 0)
		fail_msg("corpus keysource fail/%s accepted", file);
	if (pass) {
		char out[PATH_MAX + 32];
		keysource_format(&ks, out, sizeof(out));
		assert_string_equal(out, text);
	} else {
		assert_int_not_equal(e.code, 0);
		assert_true(str_has_prefix(e.msg, "keysource '"));
	}
}

/* Every pass/ record without a KDF opens with the raw key 00..1f, the one
 * with a KDF with KAT_PASS: each is the known answer in another spelling. */
static void wrapped_corpus_one(const char *file, const char *text, size_t len, bool pass)
{
	struct wrapped w, again;
	struct isc_err e = { 0 };
	(void)len;
	int r = wrapped_parse(text, &w, &e);
	if (pass && r < 0)
		fail_msg("corpus wrapped pass/%s refused: %s", file, e.msg);
	if (!pass && r == 0)
		fail_msg("corpus wrapped fail/%s accepted", file);
	if (!pass) {
		assert_int_equal(e.code, EINVAL);
		return;
	}
	char *d1 = wrapped_dump(&w);
	wrapped_of(d1, &again);
	char *d2 = wrapped_dump(&again);
	assert_string_equal(d2, d1);
	struct secret material = { 0 };
	uint8_t want[CRYPT_KEY_SIZE];
	kat_master(want);
	if (w.kdf)
		secret_bytes(&material, KAT_PASS, strlen(KAT_PASS));
	else
		kat_raw_key(&material);
	opens_to(&w, &material, "web", want);
	secret_free(&material);
	free(d1);
	free(d2);
}

static void test_corpus(void **state)
{
	(void)state;
	assert_true(corpus_each("keysource", "pass", keysource_corpus_one) >= 5);
	assert_true(corpus_each("keysource", "fail", keysource_corpus_one) >= 10);
	assert_true(corpus_each("wrapped", "pass", wrapped_corpus_one) >= 3);
	assert_true(corpus_each("wrapped", "fail", wrapped_corpus_one) >= 10);
}

/* pub-* are public keys, sig-* signatures, anything else neither */
static void minisign_corpus_one(const char *file, const char *text, size_t len, bool pass)
{
	struct minisign_pub pk;
	struct minisign_sig s;
	struct isc_err e = { 0 };
	bool is_pub = str_has_prefix(file, "pub-"), is_sig = str_has_prefix(file, "sig-");
	int rp = minisign_pub_parse(text, len, &pk, &e);
	int rs = minisign_sig_parse(text, len, &s, &e);
	if (pass && !((is_pub && rp == 0) || (is_sig && rs == 0)))
		fail_msg("corpus minisign pass/%s refused: %s", file, e.msg);
	if (!pass && ((is_pub && rp == 0) || (is_sig && rs == 0) || (!is_pub && !is_sig && (rp == 0 || rs == 0))))
		fail_msg("corpus minisign fail/%s accepted", file);
}

static void test_minisign(void **state)
{
	(void)state;
	assert_true(corpus_each("minisign", "pass", minisign_corpus_one) >= 3);
	assert_true(corpus_each("minisign", "fail", minisign_corpus_one) >= 8);
	/* minisign's own signature of "hello\n" by the corpus key verifies */
	char base[PATH_MAX], path[PATH_MAX + 32];
	assert_true(corpus_find_named("minisign", base, sizeof(base)));
	_cleanup_free_ char *pt = NULL, *st = NULL;
	size_t pl, sl;
	snprintf(path, sizeof(path), "%s/pass/pub-minisign", base);
	assert_int_equal(read_file_at(AT_FDCWD, path, &pt, &pl, 4096), 0);
	snprintf(path, sizeof(path), "%s/pass/sig-prehashed", base);
	assert_int_equal(read_file_at(AT_FDCWD, path, &st, &sl, 4096), 0);
	struct minisign_pub pk[2];
	struct minisign_sig s;
	struct isc_err e = { 0 };
	assert_int_equal(minisign_pub_parse(pt, pl, &pk[1], &e), 0);
	assert_int_equal(minisign_sig_parse(st, sl, &s, &e), 0);
	assert_string_equal(s.trusted, "trusted one");
	FILE *f = tmpfile();
	fputs("hello\n", f);
	fflush(f);
	memset(&pk[0], 0, sizeof(pk[0]));
	assert_int_equal(minisign_verify_fd(fileno(f), &s, pk, 2, &e), 0);
	assert_int_equal(minisign_verify_fd(fileno(f), &s, pk, 1, &e), -EKEYREJECTED);
	fputs("x", f);
	fflush(f);
	assert_int_equal(minisign_verify_fd(fileno(f), &s, pk, 2, &e), -EBADMSG);
	/* a key pair of ours signs, verifies, and refuses another content */
	_cleanup_free_ char *dir = tmpdir_make_named("test_minisign");
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(minisign_keypair_make(dfd, "k.key", "k.pub", &e), 0);
	struct minisign_sec sk;
	struct minisign_pub mine;
	snprintf(path, sizeof(path), "%s/k.key", dir);
	assert_int_equal(minisign_sec_load(path, "test", &sk, &e), 0);
	snprintf(path, sizeof(path), "%s/k.pub", dir);
	assert_int_equal(minisign_pub_load(path, &mine, &e), 0);
	_cleanup_free_ char *sig = NULL;
	assert_int_equal(minisign_sign_fd(fileno(f), &sk, "c", &sig, &e), 0);
	struct minisign_sig s2;
	assert_int_equal(minisign_sig_parse(sig, strlen(sig), &s2, &e), 0);
	assert_int_equal(minisign_verify_fd(fileno(f), &s2, &mine, 1, &e), 0);
	fputs("y", f);
	fflush(f);
	assert_int_equal(minisign_verify_fd(fileno(f), &s2, &mine, 1, &e), -EBADMSG);
	fclose(f);
	minisign_sec_wipe(&sk);
	assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_alloc_free),
		cmocka_unit_test(test_secret_random),
		cmocka_unit_test(test_secret_guard_page),
		cmocka_unit_test(test_keysource_parse_accepts),
		cmocka_unit_test(test_keysource_parse_rejects),
		cmocka_unit_test(test_keysource_path_length),
		cmocka_unit_test_setup_teardown(test_read_raw, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_read_hex, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_read_passphrase, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_read_file_checks, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_read_owner, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_generate, dir_setup, dir_teardown),
		cmocka_unit_test(test_prompt_passphrase),
		cmocka_unit_test(test_prompt_hex),
		cmocka_unit_test(test_prompt_no_terminal),
		cmocka_unit_test(test_wrap_raw_roundtrip),
		cmocka_unit_test(test_wrap_rejects),
		cmocka_unit_test_setup_teardown(test_wrap_passphrase, dir_setup, dir_teardown),
		cmocka_unit_test(test_wrap_known_answer),
		cmocka_unit_test(test_wrapped_parse_rejects),
		cmocka_unit_test(test_wrapped_parse_limits),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_minisign),
	};
	return cmocka_run_group_tests_name("crypt", tests, NULL, NULL);
}
