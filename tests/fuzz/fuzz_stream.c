/* fuzz_stream.c - libFuzzer harness for the send stream's reader: any bytes, plain or raw (a
 * fixed key), read to the end or to an error; never a crash, never a frame over the bound, and
 * a stream that reads whole ended with END. */
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t n, at;
};

static ssize_t mem_read(void *src, void *buf, size_t n)
{
	struct mem *m = src;
	size_t k = m->n - m->at < n ? m->n - m->at : n;
	memcpy(buf, m->p + m->at, k);
	m->at += k;
	return (ssize_t)k;
}

/* 0: the stream read whole to its END; -1: refused. */
int stream_try(const uint8_t *data, size_t size);

int stream_try(const uint8_t *data, size_t size)
{
	static const uint8_t key[STREAM_KEY_LEN] = { 1, 2, 3 };
	struct mem m = { .p = data, .n = size };
	struct stream_reader r;
	struct isc_err e = { 0 };
	json_object *h = NULL;
	int rc = stream_read_begin(&r, mem_read, &m, &h, &e);
	if (rc == 0)
		rc = stream_read_key(&r, key, &e);
	bool ended = false;
	while (rc == 0) {
		uint8_t t;
		const uint8_t *p;
		size_t n;
		if ((rc = stream_read(&r, &t, &p, &n, &e)) < 0)
			break;
		if (t == 0) {
			ended = true;
			break;
		}
		if (t < SF_META || t > SF_LAST || n > STREAM_PAYLOAD_MAX || p[n] != '\0')
			abort();
	}
	if (rc == 0 && (!ended || !r.ended))
		abort();
	if (rc < 0 && (!e.msg[0] || strchr(e.msg, '\n')))
		abort();   /* every refusal says why, in one line */
	json_object_put(h);
	stream_reader_free(&r);
	return rc == 0 ? 0 : -1;
}

#ifndef STREAM_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	stream_try(data, size);
	return 0;
}
#endif
