/* stream.c - send streams' framing: header, frames, their authentication
 * (docs/stream.md).  iscadm; the reader is fuzzed (fuzz_stream). */
#include "stream.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define FRAME_HEAD 5            /* type, then the body's length (u32 LE) */
#define RAW_AD_LEN (32 + 1 + 8) /* header hash, type, frame index */
#define SS_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void raw_ad(uint8_t ad[RAW_AD_LEN], const uint8_t hhash[32], uint8_t type, uint64_t index)
{
	memcpy(ad, hhash, 32);
	ad[32] = type;
	for (int i = 0; i < 8; i++)
		ad[33 + i] = (uint8_t)(index >> (8 * i));
}

/* tag = BLAKE2b-256(tag || type || len || payload) */
static void chain(uint8_t tag[STREAM_TAG_LEN], uint8_t type, const void *p, size_t n)
{
	crypto_generichash_state st;
	uint8_t head[FRAME_HEAD];
	head[0] = type;
	put_u32(head + 1, (uint32_t)n);
	crypto_generichash_init(&st, NULL, 0, STREAM_TAG_LEN);
	crypto_generichash_update(&st, tag, STREAM_TAG_LEN);
	crypto_generichash_update(&st, head, sizeof(head));
	crypto_generichash_update(&st, p, n);
	crypto_generichash_final(&st, tag, STREAM_TAG_LEN);
}

/* The header's hash: the chain's start, and every raw frame's additional data. */
static void header_hash(const uint8_t *pre, size_t pn, const uint8_t *text, size_t tn, uint8_t out[32])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, pre, pn);
	crypto_generichash_update(&st, text, tn);
	crypto_generichash_final(&st, out, 32);
}

void stream_key_derive(const uint8_t *master, size_t len, uint8_t key[STREAM_KEY_LEN])
{
	uint8_t k[crypto_kdf_KEYBYTES];
	crypto_generichash(k, sizeof(k), master, len, NULL, 0);
	crypto_kdf_derive_from_key(key, STREAM_KEY_LEN, 1, "iscsend1", k);
	sodium_memzero(k, sizeof(k));
}

void stream_tag_hex(const uint8_t tag[STREAM_TAG_LEN], char out[2 * STREAM_TAG_LEN + 1])
{
	sodium_bin2hex(out, 2 * STREAM_TAG_LEN + 1, tag, STREAM_TAG_LEN);
}

ssize_t stream_fd_read(void *fdp, void *buf, size_t n)
{
	return read_all(*(int *)fdp, buf, n);
}

/* ---- writing ------------------------------------------------------------- */

int stream_write_begin(struct stream_writer *w, int fd, json_object *h, const uint8_t *key,
		       struct isc_err *e)
{
	*w = (struct stream_writer){ .fd = fd, .raw = key != NULL };
	if (sodium_init() < 0)
		return err_set(e, EIO, "libsodium cannot start");
	if (!(w->buf = malloc(FRAME_HEAD + STREAM_PAYLOAD_MAX + STREAM_TAG_LEN + SS_ABYTES)))
		return err_set(e, ENOMEM, "out of memory");
	json_object_object_add(h, "format", json_object_new_int(STREAM_FORMAT));
	json_object_object_add(h, "raw", json_object_new_boolean(w->raw));
	if (w->raw) {
		uint8_t ssh[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
		char hex[2 * sizeof(ssh) + 1];
		crypto_secretstream_xchacha20poly1305_init_push(&w->ss, ssh, key);
		sodium_bin2hex(hex, sizeof(hex), ssh, sizeof(ssh));
		json_object_object_add(h, "ss", json_object_new_string(hex));
	}
	const char *text = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN);
	size_t tl = strlen(text);
	if (tl > STREAM_HEADER_MAX)
		return err_set(e, E2BIG, "stream header over %d bytes", STREAM_HEADER_MAX);
	uint8_t pre[STREAM_MAGIC_LEN + 4];
	memcpy(pre, STREAM_MAGIC, STREAM_MAGIC_LEN);
	put_u32(pre + STREAM_MAGIC_LEN, (uint32_t)tl);
	header_hash(pre, sizeof(pre), (const uint8_t *)text, tl, w->hhash);
	memcpy(w->tag, w->hhash, STREAM_TAG_LEN);
	if (write_all(fd, pre, sizeof(pre)) < 0 || write_all(fd, text, tl) < 0)
		return err_sys(e, errno, "write the stream");
	w->bytes = sizeof(pre) + tl;
	return 0;
}

static int frame_out(struct stream_writer *w, uint8_t type, const void *p, size_t n, bool final,
		     struct isc_err *e)
{
	if (n > STREAM_PAYLOAD_MAX)
		return err_set(e, E2BIG, "a stream frame over %u bytes", STREAM_PAYLOAD_MAX);
	size_t body;
	w->buf[0] = type;
	if (w->raw) {
		uint8_t ad[RAW_AD_LEN];
		unsigned long long cl;
		raw_ad(ad, w->hhash, type, w->frames);
		crypto_secretstream_xchacha20poly1305_push(&w->ss, w->buf + FRAME_HEAD, &cl, p, n, ad, sizeof(ad),
			final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
		body = (size_t)cl;
	} else {
		memcpy(w->buf + FRAME_HEAD, p, n);
		chain(w->tag, type, p, n);
		memcpy(w->buf + FRAME_HEAD + n, w->tag, STREAM_TAG_LEN);
		body = n + STREAM_TAG_LEN;
	}
	put_u32(w->buf + 1, (uint32_t)body);
	if (write_all(w->fd, w->buf, FRAME_HEAD + body) < 0)
		return err_sys(e, errno, "write the stream");
	w->frames++;
	w->bytes += FRAME_HEAD + body;
	return 0;
}

int stream_write(struct stream_writer *w, enum stream_frame type, const void *p, size_t n,
		 struct isc_err *e)
{
	return frame_out(w, (uint8_t)type, p, n, false, e);
}

int stream_write_end(struct stream_writer *w, json_object *end, struct isc_err *e)
{
	json_object_object_add(end, "frames", json_object_new_int64((int64_t)w->frames + 1));
	const char *text = json_object_to_json_string_ext(end, JSON_C_TO_STRING_PLAIN);
	return frame_out(w, SF_END, text, strlen(text), true, e);
}

void stream_writer_free(struct stream_writer *w)
{
	free(w->buf);
	sodium_memzero(&w->ss, sizeof(w->ss));
	w->buf = NULL;
}

/* ---- reading ------------------------------------------------------------- */

/* Exactly n bytes, or an error saying where the stream ended. */
static int take(struct stream_reader *r, void *buf, size_t n, const char *what, struct isc_err *e)
{
	ssize_t k = r->read(r->src, buf, n);
	if (k < 0)
		return err_sys(e, errno, "read the stream at byte %" PRIu64, r->offset);
	if ((size_t)k < n)
		return err_set(e, EBADMSG, "the stream ends early, in %s at byte %" PRIu64 " (frame %" PRIu64 ")",
			       what, r->offset + (uint64_t)k, r->frames + 1);
	r->offset += n;
	return 0;
}

int stream_read_begin(struct stream_reader *r, stream_read_fn read, void *src, json_object **h,
		      struct isc_err *e)
{
	*r = (struct stream_reader){ .read = read, .src = src };
	*h = NULL;
	if (sodium_init() < 0)
		return err_set(e, EIO, "libsodium cannot start");
	uint8_t pre[STREAM_MAGIC_LEN + 4];
	int rr = take(r, pre, sizeof(pre), "the header", e);
	if (rr < 0)
		return rr;
	if (memcmp(pre, STREAM_MAGIC, STREAM_MAGIC_LEN) != 0)
		return err_set(e, EBADMSG, "not an isc send stream (no ISCSTRM header)");
	uint32_t tl = get_u32(pre + STREAM_MAGIC_LEN);
	if (tl == 0 || tl > STREAM_HEADER_MAX)
		return err_set(e, EBADMSG, "stream header of %u bytes (at most %d)", tl, STREAM_HEADER_MAX);
	if (!(r->buf = malloc(FRAME_HEAD + STREAM_PAYLOAD_MAX + STREAM_TAG_LEN + SS_ABYTES + 1)))
		return err_set(e, ENOMEM, "out of memory");
	if ((rr = take(r, r->buf, tl, "the header", e)) < 0)
		return rr;
	r->buf[tl] = '\0';
	header_hash(pre, sizeof(pre), r->buf, tl, r->hhash);
	memcpy(r->tag, r->hhash, STREAM_TAG_LEN);
	struct json_tokener *tok = json_tokener_new();
	json_object *o = tok ? json_tokener_parse_ex(tok, (const char *)r->buf, (int)tl) : NULL;
	bool whole = tok && json_tokener_get_error(tok) == json_tokener_success &&
		     json_tokener_get_parse_end(tok) == tl;
	if (tok)
		json_tokener_free(tok);
	json_object *f, *raw;
	if (!whole || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "format", &f) ||
	    !json_object_is_type(f, json_type_int) || !json_object_object_get_ex(o, "raw", &raw) ||
	    !json_object_is_type(raw, json_type_boolean)) {
		json_object_put(o);
		return err_set(e, EBADMSG, "the stream header is not isc's");
	}
	if (json_object_get_int64(f) != STREAM_FORMAT) {
		json_object_put(o);
		return err_set(e, EPROTO, "stream format %" PRId64 ": this isc reads format %d",
			       json_object_get_int64(f), STREAM_FORMAT);
	}
	r->raw = json_object_get_boolean(raw);
	json_object *ss;
	size_t bl = 0;
	if (r->raw && (!json_object_object_get_ex(o, "ss", &ss) || !json_object_is_type(ss, json_type_string) ||
		       sodium_hex2bin(r->ssheader, sizeof(r->ssheader), json_object_get_string(ss),
				      (size_t)json_object_get_string_len(ss), NULL, &bl, NULL) != 0 ||
		       bl != sizeof(r->ssheader))) {
		json_object_put(o);
		return err_set(e, EBADMSG, "a raw stream's header without its secretstream header");
	}
	*h = o;
	return 0;
}

int stream_read_key(struct stream_reader *r, const uint8_t key[STREAM_KEY_LEN], struct isc_err *e)
{
	if (!r->raw)
		return 0;
	if (crypto_secretstream_xchacha20poly1305_init_pull(&r->ss, r->ssheader, key) != 0)
		return err_set(e, EBADMSG, "the raw stream's header does not open");
	r->keyed = true;
	return 0;
}

int stream_read(struct stream_reader *r, uint8_t *type, const uint8_t **p, size_t *n, struct isc_err *e)
{
	*type = 0;
	*p = NULL;
	*n = 0;
	if (r->ended) {
		/* nothing may follow END: a repeated or appended frame is refused */
		uint8_t extra;
		ssize_t k = r->read(r->src, &extra, 1);
		if (k != 0)
			return err_set(e, EBADMSG, "bytes after the stream's end, at byte %" PRIu64, r->offset);
		return 0;
	}
	if (r->raw && !r->keyed)
		return err_set(e, EINVAL, "a raw stream read without its key");
	uint8_t head[FRAME_HEAD];
	uint64_t at = r->offset;
	int rr = take(r, head, sizeof(head), "a frame's head", e);
	if (rr < 0)
		return rr;
	uint32_t body = get_u32(head + 1);
	uint32_t over = r->raw ? SS_ABYTES : STREAM_TAG_LEN;
	if (head[0] < SF_META || head[0] > SF_LAST || body < over || body - over > STREAM_PAYLOAD_MAX)
		return err_set(e, EBADMSG, "frame %" PRIu64 " at byte %" PRIu64 " is malformed (type %u, %u bytes)",
			       r->frames + 1, at, head[0], body);
	if ((rr = take(r, r->buf, body, "a frame", e)) < 0)
		return rr;
	size_t len = body - over;
	if (r->raw) {
		uint8_t ad[RAW_AD_LEN], tag = 0;
		unsigned long long ml;
		raw_ad(ad, r->hhash, head[0], r->frames);
		if (!r->plain && !(r->plain = malloc(STREAM_PAYLOAD_MAX + 1)))
			return err_set(e, ENOMEM, "out of memory");
		if (crypto_secretstream_xchacha20poly1305_pull(&r->ss, r->plain, &ml, &tag, r->buf, body, ad,
							      sizeof(ad)) != 0)
			return err_set(e, EBADMSG, "frame %" PRIu64 " at byte %" PRIu64 " does not authenticate "
				       "(changed, moved, or another key)", r->frames + 1, at);
		if ((tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) != (head[0] == SF_END))
			return err_set(e, EBADMSG, "frame %" PRIu64 " at byte %" PRIu64 ": the end is not where "
				       "the stream says", r->frames + 1, at);
		len = (size_t)ml;
	} else {
		uint8_t want[STREAM_TAG_LEN];
		memcpy(want, r->tag, sizeof(want));
		chain(want, head[0], r->buf, len);
		if (sodium_memcmp(want, r->buf + len, STREAM_TAG_LEN) != 0)
			return err_set(e, EBADMSG, "frame %" PRIu64 " at byte %" PRIu64 " does not match the chain "
				       "(changed, moved, repeated or cut)", r->frames + 1, at);
		if (head[0] != SF_END)
			memcpy(r->tag, want, sizeof(want));
	}
	r->frames++;
	uint8_t *out = r->raw ? r->plain : r->buf;
	out[len] = '\0';
	if (head[0] == SF_END)
		r->ended = true;
	*type = head[0];
	*p = out;
	*n = len;
	return 0;
}

void stream_reader_free(struct stream_reader *r)
{
	free(r->buf);
	if (r->plain)
		sodium_memzero(r->plain, STREAM_PAYLOAD_MAX + 1);
	free(r->plain);
	r->plain = NULL;
	sodium_memzero(&r->ss, sizeof(r->ss));
	r->buf = NULL;
}
