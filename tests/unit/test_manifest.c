/* test_manifest.c - unit tests for the image module: manifest, SHA-256, store, verification cache, tar refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include "image.h"
#include "image-internal.h"   /* tree_walk_max: a depth bound small enough to test */

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static char libexec_dir[PATH_MAX];

/* ---- helpers ----------------------------------------------------------------- */

static void put_file(const char *dir, const char *name, const char *data, mode_t mode)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, strlen(data)), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static char *tmpdir_make(void)
{
	return tmpdir_make_named("test_manifest");
}

static bool have_mkfs_erofs(void)
{
	char *argv[] = { "mkfs.erofs", "--help", NULL };
	char out[256];
	return run_cmd(argv, true, out, sizeof(out)) != 127;
}

static void pool_fake(struct pool *p, const char *dir)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->path, sizeof(p->path), "%s", dir);
	p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	p->lockfd = -1;
	assert_true(p->dirfd >= 0);
}

static char *manifest_to_text(const struct manifest *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(manifest_write(m, f), 0);
	fclose(f);
	return text;
}

static const struct manifest_entry *entry_find(const struct manifest *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (STREQ(m->e[i].path, path))
			return &m->e[i];
	return NULL;
}

static void sha_of(const char *s, char out[IMAGE_DIGEST_LEN + 1])
{
	FILE *f = tmpfile();
	assert_non_null(f);
	fputs(s, f);
	fflush(f);
	assert_int_equal(image_sha256_fd(fileno(f), out), 0);
	fclose(f);
}

/* The stored manifest of an image, parsed. */
static void store_manifest(const struct pool *p, const char *digest, struct manifest *m)
{
	char path[128];
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct isc_err e = { 0 };
	snprintf(path, sizeof(path), "images/%s.manifest", digest);
	assert_int_equal(read_file_at(p->dirfd, path, &text, &len, 1 << 24), 0);
	assert_int_equal(manifest_parse(text, len, m, &e), 0);
}

static int count_entries(const char *dir)
{
	int n = 0;
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "find '%s' -mindepth 1 | wc -l", dir);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	return n;
}

/* ---- SHA-256 ----------------------------------------------------------------- */

static void test_sha256_known(void **state)
{
	(void)state;
	char out[IMAGE_DIGEST_LEN + 1];
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(image_sha256_fd(fileno(f), out), 0);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	fputs("abc", f);
	fflush(f);  /* the offset is now at the end: hashing must still start at 0 */
	assert_int_equal(image_sha256_fd(fileno(f), out), 0);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	fclose(f);
}

/* The tree digest as docs/images.md spells it, one leaf after another
 * with libsodium: what the threaded, OpenSSL code must agree with. */
static void tree_by_hand(const uint8_t *b, size_t size, char out[IMAGE_DIGEST_LEN + 1])
{
	crypto_hash_sha256_state root;
	uint8_t md[32], le[8];
	crypto_hash_sha256_init(&root);
	crypto_hash_sha256_update(&root, (const uint8_t *)"isc-tree-v1", 12);  /* with its NUL */
	for (size_t off = 0; off < size; off += 1 << 20) {
		size_t n = size - off < (1 << 20) ? size - off : (1 << 20);
		crypto_hash_sha256(md, b + off, n);
		crypto_hash_sha256_update(&root, md, sizeof(md));
	}
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)size >> (8 * i));
	crypto_hash_sha256_update(&root, le, sizeof(le));
	crypto_hash_sha256_final(&root, md);
	sodium_bin2hex(out, IMAGE_DIGEST_LEN + 1, md, sizeof(md));
}

static void test_tree_digest(void **state)
{
	(void)state;
	static const size_t sizes[] = { 0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, (5 << 20) + 3, 17 << 20 };
	const size_t max = 17 << 20;
	uint8_t *b = malloc(max);
	assert_non_null(b);
	randombytes_buf(b, max);
	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		char want[IMAGE_DIGEST_LEN + 1], got[IMAGE_DIGEST_LEN + 1], flat[IMAGE_DIGEST_LEN + 1];
		tree_by_hand(b, sizes[k], want);
		FILE *f = tmpfile();
		assert_non_null(f);
		assert_int_equal(fwrite(b, 1, sizes[k], f), sizes[k]);
		fflush(f);
		assert_int_equal(image_digest_fd(fileno(f), false, got), 0);
		assert_string_equal(got, want);
		/* flat: the file's SHA-256, as pools made before the tree name images */
		assert_int_equal(image_digest_fd(fileno(f), true, flat), 0);
		uint8_t md[32];
		char hex[IMAGE_DIGEST_LEN + 1];
		crypto_hash_sha256(md, b, sizes[k]);
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
		assert_string_equal(flat, hex);
		fclose(f);
		/* in steps (a received stream), cut where leaves are not */
		struct image_hash *h = image_hash_new(false);
		assert_non_null(h);
		for (size_t off = 0, step = 1; off < sizes[k]; off += step, step = step * 7 + 3)
			image_hash_update(h, b + off, off + step > sizes[k] ? sizes[k] - off : step);
		image_hash_final(h, md);
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
		assert_string_equal(hex, want);
	}
	/* not a regular file: refused, not hashed to a name */
	int pfd[2];
	char out[IMAGE_DIGEST_LEN + 1];
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(image_digest_fd(pfd[0], false, out), -EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	free(b);
}

/* ---- manifest round trip ------------------------------------------------------- */

static void tree_small(const char *dir)
{
	char path[PATH_MAX];
	put_file(dir, "hello", "hello\n", 0640);
	put_file(dir, "a b%\nc", "odd name\n", 0600);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0750), 0);
	assert_int_equal(chmod(path, 0750), 0);
	put_file(dir, "sub/x", "", 04755);
	snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("hello", path), 0);
	assert_int_equal(chmod(dir, 0755), 0);
}

static void test_manifest_roundtrip(void **state)
{
	(void)state;
	char *dir = tmpdir_make();
	struct manifest m, m2;
	struct isc_err e = { 0 };
	tree_small(dir);
	assert_int_equal(manifest_build(dir, &m, &e), 0);
	assert_int_equal(m.n, 6);
	const char *order[] = { "/", "/a b%\nc", "/hello", "/link", "/sub", "/sub/x" };
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(m.e[i].path, order[i]);
	assert_int_equal(m.e[0].type, 'd');
	assert_int_equal(m.e[0].mode, 0755);
	const struct manifest_entry *h = entry_find(&m, "/hello");
	assert_int_equal(h->type, 'f');
	assert_int_equal(h->mode, 0640);
	assert_int_equal(h->size, 6);
	assert_string_equal(h->sha256, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
	const struct manifest_entry *l = entry_find(&m, "/link");
	assert_int_equal(l->type, 'l');
	assert_int_equal(l->size, 5);
	assert_string_equal(l->sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	assert_int_equal(entry_find(&m, "/sub/x")->mode, 04755);
	assert_string_equal(entry_find(&m, "/sub")->sha256, "-");

	char *text = manifest_to_text(&m);
	assert_true(str_has_prefix(text, "isc-manifest 1\nd 0755 "));
	assert_non_null(strstr(text, " /a%20b%25%0Ac\n"));
	assert_non_null(strstr(text, "\nd 0750 "));
	assert_int_equal(manifest_parse(text, strlen(text), &m2, &e), 0);
	assert_int_equal(m2.n, m.n);
	for (size_t i = 0; i < m.n; i++) {
		assert_string_equal(m2.e[i].path, m.e[i].path);
		assert_string_equal(m2.e[i].sha256, m.e[i].sha256);
		assert_int_equal(m2.e[i].type, m.e[i].type);
		assert_int_equal(m2.e[i].mode, m.e[i].mode);
		assert_int_equal(m2.e[i].uid, m.e[i].uid);
		assert_int_equal(m2.e[i].gid, m.e[i].gid);
		assert_int_equal(m2.e[i].size, m.e[i].size);
	}
	char *text2 = manifest_to_text(&m2);
	assert_string_equal(text2, text);
	free(text);
	free(text2);
	manifest_free(&m);
	manifest_free(&m2);
	tmpdir_remove(dir);
}

/* ---- manifest parse: each malformed line is its own case ------------------------ */

#define H "isc-manifest 1\n"
#define ROOT "d 0755 0 0 0 - /\n"
#define SHA "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

struct bad_case {
	const char *text;
	int line;
	const char *why;        /* expected in the message, and the case's name */
	size_t len;             /* 0: strlen(text) */
};

#define BAD(text, line, why) { text, line, why, 0 }

static const struct bad_case bad_cases[] = {
	BAD("", 1, "missing header"),
	BAD("isc-manifest 2\n" ROOT, 1, "missing header"),
	BAD(H, 2, "no entries"),
	BAD(H "d 0755 0 0 0 - /", 2, "no newline"),
	BAD(H "f 0644 0 0 5 " SHA " /a\n", 2, "first entry must be the root"),
	BAD(H ROOT "f 0644 0 0 5 " SHA "\n", 3, "7 fields"),
	BAD(H ROOT "f 0644 0 0  5 " SHA " /a\n", 3, "7 fields"),
	BAD(H ROOT "f 0644 0 0 5 " SHA " /a x\n", 3, "7 fields"),
	BAD(H ROOT "x 0644 0 0 5 " SHA " /a\n", 3, "type"),
	BAD(H ROOT "f 644 0 0 5 " SHA " /a\n", 3, "mode"),
	BAD(H ROOT "f 0648 0 0 5 " SHA " /a\n", 3, "mode"),
	BAD(H ROOT "f 0644 00 0 5 " SHA " /a\n", 3, "uid and gid"),
	BAD(H ROOT "f 0644 0 4294967296 5 " SHA " /a\n", 3, "uid and gid"),
	BAD(H ROOT "f 0644 0 0 -5 " SHA " /a\n", 3, "size"),
	BAD(H ROOT "f 0644 0 0 99999999999999999999 " SHA " /a\n", 3, "size"),
	BAD(H ROOT "f 0644 0 0 5 2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824 /a\n", 3, "hex"),
	BAD(H ROOT "f 0644 0 0 5 - /a\n", 3, "hex"),
	BAD(H ROOT "d 0755 0 0 0 " SHA " /a\n", 3, "must be '-'"),
	BAD(H ROOT "d 0755 0 0 4096 - /a\n", 3, "size must be 0"),
	BAD(H ROOT "d 0755 0 0 0 - /b\nd 0755 0 0 0 - /a\n", 4, "sorted"),
	BAD(H ROOT "d 0755 0 0 0 - /a\nd 0755 0 0 0 - /a\n", 4, "sorted"),
	BAD(H ROOT "f 0644 0 0 5 " SHA " a\n", 3, "begin with '/'"),
	BAD(H ROOT "d 0755 0 0 0 - /a/\n", 3, "end with '/'"),
	BAD(H ROOT "d 0755 0 0 0 - /..\n", 3, "'..'"),
	BAD(H ROOT "d 0755 0 0 0 - /a//b\n", 3, "empty"),
	BAD(H ROOT "f 0644 0 0 5 " SHA " /%0a\n", 3, "escape"),
	BAD(H ROOT "f 0644 0 0 5 " SHA " /%41\n", 3, "needless"),
	BAD(H ROOT "f 0644 0 0 5 " SHA " /%00\n", 3, "NUL"),
	BAD(H ROOT "f 0644 0 0 5 " SHA " /%4\n", 3, "escape"),
	BAD(H ROOT "f 0644 0 0 5 " SHA " /a\tb\n", 3, "unescaped"),
	BAD(H ROOT "f 0644 0 0 5 " SHA " /a/b\n", 3, "parent directory"),
	BAD(H ROOT "f 0644 0 0 5 " SHA " /a\nf 0644 0 0 5 " SHA " /a/b\n", 4, "parent directory"),
	{ "isc-manifest 1\n\0d 0755 0 0 0 - /\n", 2, "type", sizeof("isc-manifest 1\n\0d 0755 0 0 0 - /\n") - 1 },
};

static void test_parse_rejects(void **state)
{
	const struct bad_case *c = *state;
	struct manifest m = { 0 };
	struct isc_err e = { 0 };
	char want[64];
	size_t len = c->len ? c->len : strlen(c->text);
	assert_int_equal(manifest_parse(c->text, len, &m, &e), -EINVAL);
	assert_int_equal(e.code, EINVAL);
	snprintf(want, sizeof(want), "manifest line %d: ", c->line);
	if (!str_has_prefix(e.msg, want) || !strstr(e.msg, c->why))
		fail_msg("got '%s', want '%s...%s'", e.msg, want, c->why);
	assert_null(m.e);
	assert_int_equal(m.n, 0);
}

static void test_parse_accepts(void **state)
{
	(void)state;
	static const char text[] = H ROOT "d 0700 1 2 0 - /a\nf 0644 0 0 5 " SHA " /a%20b\n"
		"f 0600 4294967295 0 5 " SHA " /a/%0A\nl 0777 0 0 5 " SHA " /z\n";
	struct manifest m;
	struct isc_err e = { 0 };
	assert_int_equal(manifest_parse(text, sizeof(text) - 1, &m, &e), 0);
	assert_int_equal(m.n, 5);
	assert_string_equal(m.e[2].path, "/a b");
	assert_string_equal(m.e[3].path, "/a/\n");
	assert_int_equal(m.e[3].uid, 4294967295u);
	char *out = manifest_to_text(&m);
	assert_string_equal(out, text);
	free(out);
	manifest_free(&m);
}

/* ---- the fuzz corpus: pass/ parses and round-trips, fail/ is refused ----------- */

static void corpus_one(const char *file, const char *text, size_t len, bool pass)
{
	struct manifest m = { 0 };
	struct isc_err e = { 0 };
	int r = manifest_parse(text, len, &m, &e);
	if (pass && r < 0)
		fail_msg("corpus pass/%s refused: %s", file, e.msg);
	if (!pass && r == 0)
		fail_msg("corpus fail/%s accepted", file);
	if (!pass) {   /* a refusal says where, on one line */
		assert_true(str_has_prefix(e.msg, "manifest line "));
		assert_null(strchr(e.msg, '\n'));
		return;
	}
	char *out = manifest_to_text(&m);
	assert_int_equal(strlen(out), len);
	assert_memory_equal(out, text, len);
	free(out);
	manifest_free(&m);
}

static void test_corpus(void **state)
{
	(void)state;
	assert_true(corpus_each("manifest", "pass", corpus_one) >= 3);
	assert_true(corpus_each("manifest", "fail", corpus_one) >= 3);
}

/* ---- deep trees ------------------------------------------------------------------ */

static void manifest_assert_equal(const struct manifest *a, const struct manifest *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_string_equal(a->e[i].path, b->e[i].path);
		assert_string_equal(a->e[i].sha256, b->e[i].sha256);
		assert_int_equal(a->e[i].type, b->e[i].type);
		assert_int_equal(a->e[i].mode, b->e[i].mode);
		assert_int_equal(a->e[i].size, b->e[i].size);
	}
}

/* A message about a path an ISC made: short, and no control byte raw. */
static void assert_msg_bounded(const char *msg)
{
	if (strlen(msg) > 400)
		fail_msg("message of %zu bytes: %.100s...", strlen(msg), msg);
	for (const char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("raw control byte 0x%02x in '%s'", (unsigned char)*p, msg);
}

/* 3,000 levels, a file and a symlink at some of them: paths far beyond
 * PATH_MAX build, write and parse back the same. */
static void test_manifest_deep(void **state)
{
	(void)state;
	char *dir = tmpdir_make();
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	int fd = chain_make_at(dfd, "t", "d", 0);
	for (int i = 0; i < 3000; i++) {
		if (i % 500 == 0) {
			int f = openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			assert_true(f >= 0);
			assert_int_equal(write_all(f, "level", 5), 0);
			close(f);
			assert_int_equal(symlinkat("../f", fd, "l"), 0);
		}
		int sub = chain_make_at(fd, "d", "d", 0);
		close(fd);
		fd = sub;
	}
	close(fd);
	int tfd = openat(dfd, "t", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct manifest m, m2;
	struct isc_err e = { 0 };
	int before = fd_count();
	if (manifest_build_at(tfd, "t", &m, NULL, &e) < 0)
		fail_msg("manifest_build_at: %s", e.msg);
	assert_int_equal(fd_count(), before);
	assert_int_equal(m.n, 1 + 3000 + 2 * 6);
	size_t longest = 0;
	for (size_t i = 0; i < m.n; i++)
		longest = strlen(m.e[i].path) > longest ? strlen(m.e[i].path) : longest;
	assert_int_equal(longest, 2 * 3000);
	char *text = manifest_to_text(&m);
	assert_int_equal(manifest_parse(text, strlen(text), &m2, &e), 0);
	manifest_assert_equal(&m, &m2);
	char *text2 = manifest_to_text(&m2);
	assert_string_equal(text2, text);
	free(text);
	free(text2);
	manifest_free(&m);
	manifest_free(&m2);
	close(tfd);
	close(dfd);
	tmpdir_remove(dir);
}

/* A manifest holds paths up to 64 KiB, not one byte more, built or parsed. */
static void test_manifest_path_limit(void **state)
{
	(void)state;
	char name[256];
	memset(name, 'n', 255);
	name[255] = '\0';
	/* 257 levels of "/" + 255 bytes: the last path is 65,792 bytes */
	struct manifest m = { .e = calloc(258, sizeof(struct manifest_entry)) };
	size_t plen = 0;
	char *path = calloc(1, 258 * 256 + 1);
	assert_non_null(m.e);
	assert_non_null(path);
	for (size_t i = 0; i <= 257; i++) {
		if (i) {
			path[plen++] = '/';
			memcpy(path + plen, name, 255);
			plen += 255;
		}
		m.e[i] = (struct manifest_entry){ .type = 'd', .mode = 0755, .sha256 = "-",
						  .path = strdup(i ? path : "/") };
		m.n++;
	}
	assert_int_equal(strlen(m.e[256].path), 65536);
	struct manifest back;
	struct isc_err e = { 0 };
	char *text = manifest_to_text(&m);
	assert_int_equal(manifest_parse(text, strlen(text), &back, &e), -EINVAL);
	assert_string_equal(e.msg, "manifest line 259: path longer than 65536 bytes");
	/* without the last entry: 65,536 bytes exactly is fine */
	char *last = strrchr(text, '\n');
	*last = '\0';
	last = strrchr(text, '\n');
	last[1] = '\0';
	assert_int_equal(manifest_parse(text, strlen(text), &back, &e), 0);
	assert_int_equal(back.n, 257);
	manifest_free(&back);
	free(text);
	/* a line longer than any path could make it */
	char *big = malloc(3 * 65600 + 200);
	assert_non_null(big);
	int n = sprintf(big, "isc-manifest 1\nd 0755 0 0 0 - /\nd 0755 0 0 0 - /");
	for (int i = 0; i < 65600; i++)
		n += sprintf(big + n, "%%20");
	strcpy(big + n, "\n");
	assert_int_equal(manifest_parse(big, strlen(big), &back, &e), -EINVAL);
	assert_string_equal(e.msg, "manifest line 3: line longer than 196736 bytes");
	free(big);
	manifest_free(&m);

	/* built from a tree: refused, with the path cut short in the message */
	char *dir = tmpdir_make();
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(chain_make_at(dfd, "t", name, 257));
	int tfd = openat(dfd, "t", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(manifest_build_at(tfd, "t", &m, NULL, &e), -ENAMETOOLONG);
	assert_msg_bounded(e.msg);
	if (!str_has_prefix(e.msg, "manifest of t: /nnnnnnnn") ||
	    !strstr(e.msg, "... (257 levels): path longer than 65536 bytes (the manifest's limit)"))
		fail_msg("got '%s'", e.msg);
	assert_null(m.e);
	close(tfd);
	close(dfd);
	free(path);
	tmpdir_remove(dir);
}

static int count_fn(const struct tree_entry *ent, void *data)
{
	(void)ent;
	++*(size_t *)data;
	return 0;
}

/* 20,000 levels named with an escape byte: measured with a bounded number
 * of descriptors; a walk bounded below that depth stops with a short,
 * escaped message. */
static void test_tree_deep_walk(void **state)
{
	(void)state;
	char *dir = tmpdir_make();
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(chain_make_at(dfd, "t", "\x1b", 20000));
	int tfd = openat(dfd, "t", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct image_tree_stats st;
	struct isc_err e = { 0 };
	struct rlimit old, low;
	int before = fd_count();
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = (struct rlimit){ (rlim_t)before + 3, old.rlim_max };
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int r = image_tree_measure(tfd, &st, &e);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	if (r < 0)
		fail_msg("image_tree_measure: %s", e.msg);
	assert_int_equal(fd_count(), before);
	assert_int_equal(st.entries, 20000);
	assert_int_equal(st.depth, 20000);
	assert_int_equal(st.longest, 2 * 20000 - 1);
	assert_int_equal(st.path_bytes, 20000ull * 20001);   /* sum of 2k, k = 1..20000 */

	size_t n = 0;
	assert_int_equal(tree_walk_max(tfd, 10000, count_fn, &n, &e), -ENAMETOOLONG);
	assert_int_equal(n, 1 + 10000);
	assert_msg_bounded(e.msg);
	if (!str_has_prefix(e.msg, "/\\x1b/\\x1b/") ||
	    !strstr(e.msg, "... (10001 levels): deeper than 10000 levels"))
		fail_msg("got '%s'", e.msg);
	close(tfd);
	close(dfd);
	tmpdir_remove(dir);
}

/* What image_tree_measure tells of a small tree, entry by entry. */
static void test_tree_measure(void **state)
{
	(void)state;
	char *dir = tmpdir_make();
	char path[PATH_MAX];
	struct image_tree_stats st;
	struct isc_err e = { 0 };
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(image_tree_measure(dfd, &st, &e), 0);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.longest, 0);

	put_file(dir, "a", "12345", 0644);
	snprintf(path, sizeof(path), "%s/etc", dir);
	assert_int_equal(mkdir(path, 02755), 0);   /* a setgid directory is not setid */
	put_file(dir, "etc/motd", "hello\n", 0644);
	snprintf(path, sizeof(path), "%s/etc/link", dir);
	assert_int_equal(symlink("motd", path), 0);
	assert_int_equal(image_tree_measure(dfd, &st, &e), 0);
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.bytes, 11);
	assert_int_equal(st.longest, strlen("etc/motd"));
	assert_int_equal(st.depth, 2);
	assert_int_equal(st.path_bytes, strlen("/a/etc/etc/motd/etc/link"));
	assert_false(st.devices);
	assert_false(st.setid);
	assert_int_equal(st.whiteouts, 0);

	put_file(dir, "etc/su", "", 04755);
	assert_int_equal(image_tree_measure(dfd, &st, &e), 0);
	assert_true(st.setid);
	assert_false(st.devices);
	snprintf(path, sizeof(path), "%s/etc/su", dir);
	assert_int_equal(chmod(path, 02711), 0);
	assert_int_equal(image_tree_measure(dfd, &st, &e), 0);
	assert_true(st.setid);
	assert_int_equal(unlink(path), 0);

	snprintf(path, sizeof(path), "%s/gone", dir);
	if (mknod(path, S_IFCHR, makedev(0, 0)) == 0) {
		assert_int_equal(image_tree_measure(dfd, &st, &e), 0);
		assert_int_equal(st.whiteouts, 1);
		assert_false(st.devices);   /* a whiteout is not a device */
		snprintf(path, sizeof(path), "%s/etc/null", dir);
		assert_int_equal(mknod(path, S_IFCHR | 0666, makedev(1, 3)), 0);
		assert_int_equal(image_tree_measure(dfd, &st, &e), 0);
		assert_true(st.devices);
		assert_int_equal(unlink(path), 0);
		snprintf(path, sizeof(path), "%s/etc/sda", dir);
		assert_int_equal(mknod(path, S_IFBLK | 0600, makedev(8, 0)), 0);
		assert_int_equal(image_tree_measure(dfd, &st, &e), 0);
		assert_true(st.devices);
	} else {
		print_message("mknod needs root: device checks skipped\n");
	}

	/* sizes add up without wrapping: sparse files can claim anything */
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/huge%d", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		if (ftruncate(fd, (off_t)1 << 43) < 0) {   /* 8 TiB of hole */
			close(fd);
			break;
		}
		close(fd);
	}
	assert_int_equal(image_tree_measure(dfd, &st, &e), 0);
	assert_true(st.bytes >= 11);
	close(dfd);
	tmpdir_remove(dir);
}

/* ---- store, verify, verification cache ---------------------------------------- */

static void cache_record_path(const char *pool, const char *digest, char *out, size_t size)
{
	snprintf(out, size, "%s/cache/%s", pool, digest);
}

static void flip_byte(const struct pool *p, const char *digest)
{
	char path[128];
	unsigned char c;
	snprintf(path, sizeof(path), "images/%s.erofs", digest);
	int fd = openat(p->dirfd, path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, 1500), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, 1500), 1);
	close(fd);
}

/* Write the record a genuine verification of the current file would leave. */
static void record_forge(const struct pool *p, const char *digest, const char *rec_path)
{
	char path[128], boot[64] = "", rec[256];
	struct stat st;
	snprintf(path, sizeof(path), "images/%s.erofs", digest);
	assert_int_equal(fstatat(p->dirfd, path, &st, 0), 0);
	FILE *b = fopen("/proc/sys/kernel/random/boot_id", "r");
	assert_non_null(b);
	assert_non_null(fgets(boot, sizeof(boot), b));
	fclose(b);
	boot[strcspn(boot, "\n")] = '\0';
	snprintf(rec, sizeof(rec), "%llu %llu %lld %lld %lld %s\n", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
		 (long long)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec, boot);
	FILE *f = fopen(rec_path, "w");
	assert_non_null(f);
	fputs(rec, f);
	fclose(f);
}

static void test_store_verify_cache(void **state)
{
	(void)state;
	if (!have_mkfs_erofs()) {
		print_message("mkfs.erofs not found (install erofs-utils): skipping store test\n");
		skip();
	}
	char *pooldir = tmpdir_make(), *tree = tmpdir_make();
	char d1[IMAGE_DIGEST_LEN + 1], d2[IMAGE_DIGEST_LEN + 1], got[IMAGE_DIGEST_LEN + 1];
	char cache[PATH_MAX], rec[PATH_MAX], blob[128];
	struct pool p;
	struct isc_err e = { 0 };
	struct stat st, fst;
	int fd = -1;
	tree_small(tree);
	pool_fake(&p, pooldir);
	snprintf(cache, sizeof(cache), "%s/cache", pooldir);

	assert_int_equal(image_store_tree(&p, tree, d1, NULL, NULL, &e), 0);
	assert_int_equal(image_store_tree(&p, tree, d2, NULL, NULL, &e), 0);
	assert_string_equal(d1, d2);  /* same tree, same image */
	snprintf(blob, sizeof(blob), "images/%s.erofs", d1);
	int bfd = openat(p.dirfd, blob, O_RDONLY | O_CLOEXEC);
	assert_true(bfd >= 0);
	assert_int_equal(image_digest_fd(bfd, p.flat_digest, got), 0);
	close(bfd);
	assert_string_equal(got, d1);
	struct manifest m;
	store_manifest(&p, d1, &m);
	assert_non_null(entry_find(&m, "/a b%\nc"));
	manifest_free(&m);
	assert_int_equal(image_verify(&p, d1, &e), 0);

	/* Miss: hash, hand back the verified fd, leave a record. */
	cache_record_path(pooldir, d1, rec, sizeof(rec));
	assert_int_equal(image_open_verified(&p, d1, cache, &fd, &e), 0);
	assert_int_equal(fstat(fd, &fst), 0);
	assert_int_equal(fstatat(p.dirfd, blob, &st, 0), 0);
	assert_int_equal(fst.st_ino, st.st_ino);
	close(fd);
	assert_int_equal(stat(rec, &st), 0);
	assert_int_equal(stat(cache, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* A changed file no longer matches its record: full hash, mismatch, record gone. */
	flip_byte(&p, d1);
	assert_int_equal(image_open_verified(&p, d1, cache, &fd, &e), -EBADMSG);
	snprintf(got, sizeof(got), "%.12s", d1);
	assert_non_null(strstr(e.msg, got));
	assert_non_null(strstr(e.msg, "digest mismatch (file hashes to "));
	assert_int_equal(stat(rec, &st), -1);
	assert_int_equal(image_verify(&p, d1, &e), -EBADMSG);

	/* Hit: a matching record is trusted without hashing (proved by the corrupt file). */
	record_forge(&p, d1, rec);
	fd = -1;
	assert_int_equal(image_open_verified(&p, d1, cache, &fd, &e), 0);
	assert_true(fd >= 0);
	close(fd);

	/* A cache directory others can write is not trusted. */
	assert_int_equal(chmod(cache, 0777), 0);
	assert_int_equal(image_open_verified(&p, d1, cache, &fd, &e), -EBADMSG);
	assert_int_equal(image_open_verified(&p, "nothex", cache, &fd, &e), -EINVAL);

	close(p.dirfd);
	tmpdir_remove(pooldir);
	tmpdir_remove(tree);
}

/* ---- tar ------------------------------------------------------------------------ */

struct tar_ent {
	const char *name;
	mode_t type;
	const char *data;       /* file content, symlink or hardlink target */
	bool hardlink;
};

static void tar_make(const char *path, const struct tar_ent *ents, size_t n)
{
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ent = archive_entry_new();
		archive_entry_set_pathname(ent, ents[i].name);
		archive_entry_set_filetype(ent, ents[i].type);
		archive_entry_set_perm(ent, ents[i].type == AE_IFDIR ? 0755 : 0600);
		archive_entry_set_uid(ent, 1000);
		archive_entry_set_gid(ent, 1000);
		archive_entry_set_mtime(ent, 1700000000, 0);
		if (ents[i].hardlink)
			archive_entry_set_hardlink(ent, ents[i].data);
		else if (ents[i].type == AE_IFLNK)
			archive_entry_set_symlink(ent, ents[i].data);
		else if (ents[i].type == AE_IFCHR)
			archive_entry_set_rdev(ent, makedev(1, 3));
		else if (ents[i].type == AE_IFREG)
			archive_entry_set_size(ent, (la_int64_t)strlen(ents[i].data));
		assert_int_equal(archive_write_header(a, ent), ARCHIVE_OK);
		if (ents[i].type == AE_IFREG && !ents[i].hardlink)
			archive_write_data(a, ents[i].data, strlen(ents[i].data));
		archive_entry_free(ent);
	}
	archive_write_close(a);
	archive_write_free(a);
}

struct tar_refusal {
	struct tar_ent bad;
	const char *msg;        /* after "tar FILE: " */
};

static const struct tar_refusal tar_refusals[] = {
	{ { "../x", AE_IFREG, "escape\n", false }, "entry '../x' escapes the image root" },
	{ { "etc/../../x", AE_IFREG, "escape\n", false }, "entry 'etc/../../x' escapes the image root" },
	{ { "/etc/passwd", AE_IFREG, "root\n", false }, "entry '/etc/passwd' has an absolute path" },
	{ { "etc/link", AE_IFREG, "../../etc/shadow", true }, "entry 'etc/link' is a hard link to '../../etc/shadow' outside" },
	{ { "etc/link", AE_IFREG, "/etc/shadow", true }, "entry 'etc/link' is a hard link to '/etc/shadow' outside" },
	{ { "dev/null", AE_IFCHR, "", false }, "entry 'dev/null' is a device node" },
};

static void test_tar_refuses(void **state)
{
	const struct tar_refusal *c = *state;
	char *pooldir = tmpdir_make();
	char tar[PATH_MAX + 16], want[PATH_MAX + 256], tmp[PATH_MAX + 8];
	struct pool p;
	struct isc_err e = { 0 };
	const struct tar_ent ents[] = {
		{ "etc", AE_IFDIR, NULL, false }, { "etc/ok", AE_IFREG, "fine\n", false }, c->bad,
	};
	snprintf(tar, sizeof(tar), "%s/in.tar", pooldir);
	tar_make(tar, ents, ARRAY_SIZE(ents));
	pool_fake(&p, pooldir);
	snprintf(want, sizeof(want), "tar:%s", tar);
	assert_int_equal(image_build(&p, "t", want, NULL, NULL, &e), -EPERM);
	snprintf(want, sizeof(want), "tar %s: %s", tar, c->msg);
	if (!str_has_prefix(e.msg, want))
		fail_msg("got '%s', want '%s'", e.msg, want);
	/* Nothing left: no staging tree, no tag, no blob. */
	snprintf(tmp, sizeof(tmp), "%s/tmp", pooldir);
	assert_int_equal(count_entries(tmp), 0);
	snprintf(tmp, sizeof(tmp), "%s/images", pooldir);
	assert_int_equal(count_entries(tmp), 1);  /* the empty tags directory */
	close(p.dirfd);
	tmpdir_remove(pooldir);
}

static void test_tar_build_list_remove(void **state)
{
	(void)state;
	if (!have_mkfs_erofs())
		skip();
	char *pooldir = tmpdir_make();
	char tar[PATH_MAX + 16], src[PATH_MAX + 32];
	struct pool p;
	struct isc_err e = { 0 };
	struct image_info a, b;
	const struct tar_ent ents[] = {
		{ "./", AE_IFDIR, NULL, false }, { "./etc", AE_IFDIR, NULL, false },
		{ "./etc/hello", AE_IFREG, "hello\n", false }, { "./etc/l", AE_IFLNK, "/etc/hello", false },
		{ "./etc/h2", AE_IFREG, "./etc/hello", true },
	};
	snprintf(tar, sizeof(tar), "%s/in.tar", pooldir);
	tar_make(tar, ents, ARRAY_SIZE(ents));
	pool_fake(&p, pooldir);
	snprintf(src, sizeof(src), "tar:%s", tar);
	assert_int_equal(image_build(&p, "zeta", src, NULL, NULL, &e), 0);
	/* a second later: the directories extracted now carry a newer time,
	 * the image must not (it is the archive's, not the build's) */
	time_t t0 = time(NULL);
	while (time(NULL) == t0)
		usleep(50000);
	assert_int_equal(image_build(&p, "alpha", src, NULL, NULL, &e), 0);
	assert_int_equal(image_build(&p, "alpha", src, NULL, NULL, &e), -EEXIST);
	assert_string_equal(e.msg, "image alpha already exists");
	assert_int_equal(image_lookup(&p, "zeta", &a, &e), 0);
	assert_int_equal(image_lookup(&p, "alpha", &b, &e), 0);
	assert_string_equal(a.digest, b.digest);  /* equal sources, equal images */
	assert_string_equal(a.source, src);
	assert_true(a.size > 0 && a.created > 0);

	struct manifest m;
	store_manifest(&p, a.digest, &m);
	const struct manifest_entry *h = entry_find(&m, "/etc/hello");
	assert_non_null(h);
	assert_int_equal(h->uid, 1000);
	assert_int_equal(h->mode, 0600);
	assert_int_equal(entry_find(&m, "/etc/h2")->size, 6);
	assert_int_equal(entry_find(&m, "/etc/l")->type, 'l');
	assert_int_equal(entry_find(&m, "/tmp")->mode, 01777);
	assert_int_equal(entry_find(&m, "/var/tmp")->mode, 01777);
	assert_non_null(entry_find(&m, "/etc/isc/services"));
	assert_non_null(entry_find(&m, "/scratch"));
	assert_int_equal(entry_find(&m, "/usr/sbin/isc-svc")->mode, 0755);
	manifest_free(&m);

	struct image_info *list;
	size_t n;
	assert_int_equal(image_list(&p, &list, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "alpha");
	assert_string_equal(list[1].name, "zeta");
	free(list);

	char blob[128];
	struct stat st;
	snprintf(blob, sizeof(blob), "images/%s.erofs", a.digest);
	assert_int_equal(image_remove(&p, "nope", false, &e), -ENOENT);
	assert_string_equal(e.msg, "image nope not found");
	assert_int_equal(image_remove(&p, "zeta", false, &e), 0);
	assert_int_equal(fstatat(p.dirfd, blob, &st, 0), 0);  /* alpha still uses it */
	assert_int_equal(image_remove(&p, "alpha", false, &e), 0);
	assert_int_equal(fstatat(p.dirfd, blob, &st, 0), -1);
	assert_int_equal(image_list(&p, &list, &n, &e), 0);
	assert_int_equal(n, 0);
	free(list);
	close(p.dirfd);
	tmpdir_remove(pooldir);
}

/* ---- sources ---------------------------------------------------------------------- */

static void test_source_errors(void **state)
{
	(void)state;
	char *pooldir = tmpdir_make();
	struct pool p;
	struct isc_err e = { 0 };
	pool_fake(&p, pooldir);
	assert_int_equal(image_build(&p, "x", "docker:nginx", NULL, NULL, &e), -EINVAL);
	assert_string_equal(e.msg, "unknown image source 'docker:nginx' "
			    "(busybox, dir:PATH, tar:FILE, debootstrap:SUITE[:pkgs])");
	assert_int_equal(image_build(&p, "../x", "busybox", NULL, NULL, &e), -EINVAL);
	assert_int_equal(image_build(&p, "x", "dir:/nonexistent/dir", NULL, NULL, &e), -ENOENT);
	assert_string_equal(e.msg, "dir /nonexistent/dir: No such file or directory");
	assert_int_equal(image_build(&p, "x", "debootstrap:bad suite", NULL, NULL, &e), -EINVAL);
	assert_int_equal(image_build(&p, "x", "debootstrap:bookworm:a;b", NULL, NULL, &e), -EINVAL);
	close(p.dirfd);
	tmpdir_remove(pooldir);
}

static void test_dir_refuses_devices(void **state)
{
	(void)state;
	char *pooldir = tmpdir_make(), *src = tmpdir_make();
	char path[PATH_MAX + 64], want[PATH_MAX + 128];
	struct pool p;
	struct isc_err e = { 0 };
	snprintf(path, sizeof(path), "%s/dev", src);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/dev/null", src);
	if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) < 0) {
		tmpdir_remove(pooldir);
		tmpdir_remove(src);
		print_message("mknod needs root: skipping\n");
		skip();
	}
	pool_fake(&p, pooldir);
	snprintf(want, sizeof(want), "dir:%s", src);
	assert_int_equal(image_build(&p, "x", want, NULL, NULL, &e), -EPERM);
	snprintf(want, sizeof(want), "dir %s: /dev/null is a device node", src);
	if (!str_has_prefix(e.msg, want))
		fail_msg("got '%s', want '%s'", e.msg, want);
	snprintf(path, sizeof(path), "%s/tmp", pooldir);
	assert_int_equal(count_entries(path), 0);
	close(p.dirfd);
	tmpdir_remove(pooldir);
	tmpdir_remove(src);
}

static void test_busybox_build(void **state)
{
	(void)state;
	struct stat st;
	if (!have_mkfs_erofs() || stat("/bin/busybox", &st) < 0) {
		print_message("mkfs.erofs or /bin/busybox missing: skipping\n");
		skip();
	}
	char *pooldir = tmpdir_make();
	char want[IMAGE_DIGEST_LEN + 1];
	struct pool p;
	struct isc_err e = { 0 };
	struct image_info info;
	struct manifest m;
	pool_fake(&p, pooldir);
	assert_int_equal(image_build(&p, "bb", "busybox", NULL, NULL, &e), 0);
	assert_int_equal(image_lookup(&p, "bb", &info, &e), 0);
	store_manifest(&p, info.digest, &m);
	sha_of("# busybox httpd serving /var/www\nexec=/usr/sbin/httpd -f -p 80 -h /var/www\n"
	       "restart=always\n", want);
	assert_string_equal(entry_find(&m, "/etc/isc/services/httpd")->sha256, want);
	sha_of("/bin/busybox", want);
	assert_string_equal(entry_find(&m, "/usr/sbin/httpd")->sha256, want);
	assert_int_equal(entry_find(&m, "/etc/shadow")->mode, 0640);
	assert_int_equal(entry_find(&m, "/root")->mode, 0700);
	assert_int_equal(entry_find(&m, "/var/lib/dpkg/status")->size, 0);
	assert_int_equal(entry_find(&m, "/var/run")->type, 'l');
	assert_non_null(entry_find(&m, "/etc/isc/self-assembly.d"));
	for (size_t i = 0; i < m.n; i++)
		assert_true(m.e[i].uid == 0 && m.e[i].gid == 0);
	manifest_free(&m);
	close(p.dirfd);
	tmpdir_remove(pooldir);
}

/* ---- main ------------------------------------------------------------------------ */

static int libexec_setup(void **state)
{
	(void)state;
	snprintf(libexec_dir, sizeof(libexec_dir), "/tmp/test_manifest_libexec.XXXXXX");
	if (!mkdtemp(libexec_dir))
		return -1;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/isc-svc", libexec_dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("#!/bin/sh\necho isc-svc stand-in\n", f);
	fclose(f);
	chmod(path, 0755);
	/* image builds from a tarball run the real isc-archive */
	snprintf(path, sizeof(path), "%s/isc-archive", libexec_dir);
	if (symlink(ISC_BUILD_ROOT "/isc-archive", path) < 0)
		return -1;
	setenv("ISC_LIBEXEC", libexec_dir, 1);
	return 0;
}

static int libexec_teardown(void **state)
{
	(void)state;
	return rm_rf_at(AT_FDCWD, libexec_dir);
}

/* ---- an upper over a stack of manifests (inspect.c) ------------------------ */

struct seen {
	char lines[16][160];
	size_t n;
};

static int seen_fn(const struct image_diff *d, void *data)
{
	struct seen *s = data;
	assert_true(s->n < ARRAY_SIZE(s->lines));
	snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%c %s w%u%s%s%s%s", d->kind, d->path, d->what,
		 d->setid ? " setid" : "", d->device ? " device" : "",
		 d->exec == IMAGE_EXEC_ELF ? " elf" : d->exec == IMAGE_EXEC_MODE ? " x" :
		 d->exec == IMAGE_EXEC_SCRIPT ? " script" : "", d->foreign_owner ? " foreign" : "");
	return 0;
}

static bool seen_has(const struct seen *s, const char *line)
{
	for (size_t i = 0; i < s->n; i++)
		if (STREQ(s->lines[i], line))
			return true;
	return false;
}

static void test_upper_diff(void **state)
{
	(void)state;
	char same[IMAGE_DIGEST_LEN + 1], other[IMAGE_DIGEST_LEN + 1], text[2048];
	sha_of("same\n", same);
	sha_of("abcd\n", other);
	/* bottom: a whole tree; top: a delta whose whiteout hides /var/gone */
	snprintf(text, sizeof(text), "isc-manifest 1\n"
		 "d 0755 0 0 0 - /\nd 0755 0 0 0 - /var\nf 0644 0 0 5 %s /var/gone\n"
		 "f 0644 0 0 5 %s /var/same\nf 0644 0 0 5 %s /var/was\nf 0644 0 0 5 %s /var/wo\n",
		 same, same, same, same);
	struct image_stack st = { .m = calloc(2, sizeof(struct manifest)), .n = 2 };
	struct isc_err e = { 0 };
	assert_int_equal(manifest_parse(text, strlen(text), &st.m[1], &e), 0);
	const char *top = "isc-manifest 1\nd 0755 0 0 0 - /\nc 0000 0 0 0 - /gone\n";
	assert_int_equal(manifest_parse(top, strlen(top), &st.m[0], &e), 0);
	assert_null(image_stack_find(&st, "/gone"));
	assert_non_null(image_stack_find(&st, "/var/was"));

	_cleanup_free_ char *dir = tmpdir_make();
	put_file(dir, "same", "same\n", 0644);           /* as the image: not shown */
	put_file(dir, "was", "abcd\n", 0644);            /* same size, other bytes */
	put_file(dir, "new", "hello\n", 0644);
	put_file(dir, "elf", "\177ELF....", 0644);
	put_file(dir, "sh", "#!/bin/sh\n", 0644);
	put_file(dir, "run", "x", 0755);
	put_file(dir, "suid", "x", 0644);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/suid", dir);
	assert_int_equal(chmod(path, 04644), 0);
	snprintf(path, sizeof(path), "%s/wo", dir);
	assert_int_equal(mknod(path, S_IFCHR | 0, makedev(0, 0)), 0);   /* a whiteout */
	snprintf(path, sizeof(path), "%s/tty", dir);
	assert_int_equal(mknod(path, S_IFCHR | 0600, makedev(5, 0)), 0);
	put_file(dir, "host", "x", 0644);
	snprintf(path, sizeof(path), "%s/host", dir);
	assert_int_equal(chown(path, 70000, 70000), 0);
	(void)other;

	struct seen s = { 0 };
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(image_upper_diff(fd, "/var", 0, &st, seen_fn, &s, &e), 0);
	assert_true(seen_has(&s, "C /var/was w8"));
	assert_true(seen_has(&s, "A /var/new w0"));
	assert_true(seen_has(&s, "A /var/elf w0 elf"));
	assert_true(seen_has(&s, "A /var/sh w0 script"));
	assert_true(seen_has(&s, "A /var/run w0 x"));
	assert_true(seen_has(&s, "A /var/suid w0 setid"));
	assert_true(seen_has(&s, "D /var/wo w0"));
	assert_true(seen_has(&s, "A /var/tty w0 device"));
	assert_true(seen_has(&s, "A /var/host w0 foreign"));
	/* /var/same is the image's file, / is the upper's root */
	assert_int_equal(s.n, 9);
	image_stack_free(&st);
	assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
}

int main(void)
{
	struct CMUnitTest tests[15 + ARRAY_SIZE(bad_cases) + ARRAY_SIZE(tar_refusals)];
	size_t n = 0;
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_sha256_known);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tree_digest);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_manifest_roundtrip);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_parse_accepts);
	static char names[ARRAY_SIZE(bad_cases)][96];
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		snprintf(names[i], sizeof(names[i]), "parse_rejects_%zu (%s)", i, bad_cases[i].why);
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_parse_rejects, (void *)&bad_cases[i]);
		tests[n++].name = names[i];
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_corpus);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_manifest_deep);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_manifest_path_limit);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tree_deep_walk);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tree_measure);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_store_verify_cache);
	for (size_t i = 0; i < ARRAY_SIZE(tar_refusals); i++) {
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_tar_refuses, (void *)&tar_refusals[i]);
		tests[n++].name = tar_refusals[i].msg;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_tar_build_list_remove);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_source_errors);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_dir_refuses_devices);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_busybox_build);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_upper_diff);
	return _cmocka_run_group_tests("image", tests, n, libexec_setup, libexec_teardown);
}
