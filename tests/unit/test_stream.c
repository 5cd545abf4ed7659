/* test_stream.c - send streams' framing: plain and raw round trips; every byte flipped, every
 * cut, a frame swapped or repeated, bytes after the end and the wrong key refused; the corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "stream.h"
#include "testutil.h"

#include <sys/mman.h>

#define STREAM_NO_MAIN
#include "../fuzz/fuzz_stream.c"

static const uint8_t KEY[STREAM_KEY_LEN] = { 1, 2, 3 };

/* A small stream in memory: header, META, BLOB, two DATA, DONE, END. */
static uint8_t *make(bool raw, size_t *len)
{
	int fd = memfd_create("stream", MFD_CLOEXEC);
	assert_true(fd >= 0);
	struct stream_writer w;
	struct isc_err e = { 0 };
	json_object *h = json_object_new_object();
	json_object_object_add(h, "isc", json_object_new_string("web"));
	assert_int_equal(stream_write_begin(&w, fd, h, raw ? KEY : NULL, &e), 0);
	json_object_put(h);
	assert_int_equal(stream_write(&w, SF_META, "{\"config\":\"name=web\\n\"}", 23, &e), 0);
	assert_int_equal(stream_write(&w, SF_BLOB, "{\"size\":10}", 11, &e), 0);
	assert_int_equal(stream_write(&w, SF_DATA, "hello", 5, &e), 0);
	assert_int_equal(stream_write(&w, SF_DATA, "world", 5, &e), 0);
	assert_int_equal(stream_write(&w, SF_DONE, "{\"size\":10}", 11, &e), 0);
	json_object *end = json_object_new_object();
	assert_int_equal(stream_write_end(&w, end, &e), 0);
	json_object_put(end);
	stream_writer_free(&w);
	off_t n = lseek(fd, 0, SEEK_END);
	uint8_t *b = malloc((size_t)n);
	assert_int_equal(pread(fd, b, (size_t)n, 0), n);
	close(fd);
	*len = (size_t)n;
	return b;
}

static void test_round_trip(void **state)
{
	(void)state;
	for (int raw = 0; raw < 2; raw++) {
		size_t n;
		uint8_t *b = make(raw, &n);
		struct mem m = { .p = b, .n = n };
		struct stream_reader r;
		struct isc_err e = { 0 };
		json_object *h;
		assert_int_equal(stream_read_begin(&r, mem_read, &m, &h, &e), 0);
		json_object *v;
		assert_true(json_object_object_get_ex(h, "isc", &v));
		assert_string_equal(json_object_get_string(v), "web");
		assert_int_equal(r.raw, raw);
		assert_int_equal(stream_read_key(&r, KEY, &e), 0);
		static const uint8_t want[] = { SF_META, SF_BLOB, SF_DATA, SF_DATA, SF_DONE, SF_END, 0 };
		const char *payload[] = { NULL, NULL, "hello", "world" };
		for (size_t i = 0; i < sizeof(want); i++) {
			uint8_t t;
			const uint8_t *p;
			size_t k;
			if (stream_read(&r, &t, &p, &k, &e) < 0)
				fail_msg("frame %zu: %s", i, e.msg);
			assert_int_equal(t, want[i]);
			if (i < 4 && payload[i])
				assert_memory_equal(p, payload[i], 5);
		}
		json_object_put(h);
		stream_reader_free(&r);
		assert_int_equal(stream_try(b, n), 0);
		free(b);
	}
}

/* Every single-bit change anywhere, and every cut, is refused. */
static void test_every_flip_and_cut(void **state)
{
	(void)state;
	for (int raw = 0; raw < 2; raw++) {
		size_t n;
		uint8_t *b = make(raw, &n);
		for (size_t i = 0; i < n; i++)
			for (int bit = 0; bit < 8; bit += 3) {
				b[i] ^= (uint8_t)(1 << bit);
				if (stream_try(b, n) == 0)
					fail_msg("%s: a flip of bit %d at byte %zu was read", raw ? "raw" : "plain", bit, i);
				b[i] ^= (uint8_t)(1 << bit);
			}
		for (size_t cut = 0; cut < n; cut++)
			if (stream_try(b, cut) == 0)
				fail_msg("%s: a cut at %zu was read", raw ? "raw" : "plain", cut);
		uint8_t *more = malloc(n + 1);
		memcpy(more, b, n);
		more[n] = 0;
		assert_int_equal(stream_try(more, n + 1), -1);
		free(more);
		free(b);
	}
}

/* The second and third frame swapped, or the second repeated. */
static void test_reorder_repeat(void **state)
{
	(void)state;
	for (int raw = 0; raw < 2; raw++) {
		size_t n;
		uint8_t *b = make(raw, &n);
		uint32_t hl = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
		size_t at[8], k = 0, pos = 12 + hl;
		while (pos < n && k < 8) {
			at[k++] = pos;
			pos += 5 + ((size_t)b[pos + 1] | (size_t)b[pos + 2] << 8 | (size_t)b[pos + 3] << 16 |
				    (size_t)b[pos + 4] << 24);
		}
		assert_int_equal(pos, n);
		size_t l1 = at[2] - at[1], l2 = at[3] - at[2];
		uint8_t *s = malloc(n + l1);
		memcpy(s, b, at[1]);
		memcpy(s + at[1], b + at[2], l2);
		memcpy(s + at[1] + l2, b + at[1], l1);
		memcpy(s + at[3], b + at[3], n - at[3]);
		assert_int_equal(stream_try(s, n), -1);
		memcpy(s, b, at[2]);
		memcpy(s + at[2], b + at[1], l1);
		memcpy(s + at[2] + l1, b + at[2], n - at[2]);
		assert_int_equal(stream_try(s, n + l1), -1);
		free(s);
		free(b);
	}
}

/* Frames of the most a frame holds come back byte for byte, raw too. */
static void test_big_frames(void **state)
{
	(void)state;
	uint8_t *big = malloc(STREAM_PAYLOAD_MAX);
	for (size_t i = 0; i < STREAM_PAYLOAD_MAX; i++)
		big[i] = (uint8_t)(i * 131 + (i >> 9));
	for (int raw = 0; raw < 2; raw++) {
		int fd = memfd_create("big", MFD_CLOEXEC);
		struct stream_writer w;
		struct isc_err e = { 0 };
		json_object *h = json_object_new_object(), *end = json_object_new_object();
		assert_int_equal(stream_write_begin(&w, fd, h, raw ? KEY : NULL, &e), 0);
		assert_int_equal(stream_write(&w, SF_META, big, STREAM_PAYLOAD_MAX, &e), 0);
		assert_int_equal(stream_write(&w, SF_DATA, big + 1, STREAM_PAYLOAD_MAX - 1, &e), 0);
		assert_int_equal(stream_write(&w, SF_DATA, big, STREAM_PAYLOAD_MAX + 1, &e), -E2BIG);
		assert_int_equal(stream_write_end(&w, end, &e), 0);
		json_object_put(h);
		json_object_put(end);
		stream_writer_free(&w);
		lseek(fd, 0, SEEK_SET);
		struct stream_reader r;
		assert_int_equal(stream_read_begin(&r, stream_fd_read, &fd, &h, &e), 0);
		assert_int_equal(stream_read_key(&r, KEY, &e), 0);
		uint8_t t;
		const uint8_t *p;
		size_t n;
		assert_int_equal(stream_read(&r, &t, &p, &n, &e), 0);
		assert_int_equal(n, STREAM_PAYLOAD_MAX);
		assert_memory_equal(p, big, n);
		assert_int_equal(stream_read(&r, &t, &p, &n, &e), 0);
		assert_int_equal(n, STREAM_PAYLOAD_MAX - 1);
		assert_memory_equal(p, big + 1, n);
		assert_int_equal(stream_read(&r, &t, &p, &n, &e), 0);
		assert_int_equal(t, SF_END);
		json_object_put(h);
		stream_reader_free(&r);
		close(fd);
	}
	free(big);
}

static void test_wrong_key(void **state)
{
	(void)state;
	size_t n;
	uint8_t *b = make(true, &n);
	struct mem m = { .p = b, .n = n };
	struct stream_reader r;
	struct isc_err e = { 0 };
	json_object *h;
	static const uint8_t other[STREAM_KEY_LEN] = { 9 };
	assert_int_equal(stream_read_begin(&r, mem_read, &m, &h, &e), 0);
	assert_int_equal(stream_read_key(&r, other, &e), 0);
	uint8_t t;
	const uint8_t *p;
	size_t k;
	assert_int_equal(stream_read(&r, &t, &p, &k, &e), -EBADMSG);
	assert_non_null(strstr(e.msg, "does not authenticate"));
	json_object_put(h);
	stream_reader_free(&r);
	free(b);
}

static void corpus_one(const char *file, const char *data, size_t len, bool pass)
{
	int r = stream_try((const uint8_t *)data, len);
	if (pass && r < 0)
		fail_msg("corpus pass/%s refused", file);
	if (!pass && r == 0)
		fail_msg("corpus fail/%s read whole", file);
}

static void test_corpus(void **state)
{
	(void)state;
	assert_true(corpus_each("stream", "pass", corpus_one) >= 2);
	assert_true(corpus_each("stream", "fail", corpus_one) >= 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip), cmocka_unit_test(test_every_flip_and_cut),
		cmocka_unit_test(test_reorder_repeat), cmocka_unit_test(test_big_frames), cmocka_unit_test(test_wrong_key), cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
