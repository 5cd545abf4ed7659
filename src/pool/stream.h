/* stream.h - the framing of send streams (docs/stream.md): a clear header,
 * then frames, each authenticated in order; plain streams by a SHA-256
 * chain (BLAKE2b), raw ones by libsodium's
 * secretstream (XChaCha20-Poly1305) under a key only the ISC's master key
 * gives.  iscadm writes and reads them; the parser is fuzzed. */
#pragma once

#include "common.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#define STREAM_MAGIC "ISCSTRM\001"
#define STREAM_MAGIC_LEN 8
#define STREAM_FORMAT 1
#define STREAM_HEADER_MAX 65536          /* the clear header's JSON */
#define STREAM_PAYLOAD_MAX (1u << 20)    /* one frame's payload */
#define STREAM_TAG_LEN 32                /* a plain frame's chain tag */
#define STREAM_KEY_LEN crypto_secretstream_xchacha20poly1305_KEYBYTES

enum stream_frame {
	SF_META = 1,            /* JSON: the ISC's record as sent */
	SF_BLOB,                /* JSON: an image file that follows (kind, digest, size) */
	SF_LAYER,               /* JSON: a frozen layer that follows, as a pax archive */
	SF_DATA,                /* bytes of the blob or layer begun last */
	SF_DONE,                /* JSON: the blob or layer begun last is whole (its size) */
	SF_END,                 /* JSON: the last frame: counts, and a plain stream's signature */
};
#define SF_LAST SF_END

/* Where bytes come from: a descriptor, or (the fuzz harness, tests) memory. */
typedef ssize_t (*stream_read_fn)(void *src, void *buf, size_t n);

struct stream_writer {
	int fd;
	bool raw;
	uint64_t frames, bytes;
	uint8_t hhash[32];              /* BLAKE2b-256 of the header bytes */
	uint8_t tag[STREAM_TAG_LEN];    /* plain: the chain so far */
	crypto_secretstream_xchacha20poly1305_state ss;
	uint8_t *buf;                   /* one frame on its way */
};

struct stream_reader {
	stream_read_fn read;
	void *src;
	bool raw, keyed, ended;
	uint64_t frames, offset;        /* frames read, bytes of the stream consumed */
	uint8_t hhash[32];
	uint8_t tag[STREAM_TAG_LEN];
	uint8_t ssheader[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	crypto_secretstream_xchacha20poly1305_state ss;
	uint8_t *buf;                   /* the frame read last; its payload is valid until the next */
	uint8_t *plain;                 /* raw: a frame's plaintext (secretstream does not decrypt in place) */
};

/* Begin a stream on fd: the header (h, to which a raw stream's
 * secretstream header is added as "ss") written; key NULL for plain. */
int stream_write_begin(struct stream_writer *w, int fd, json_object *h, const uint8_t *key,
		       struct isc_err *e);
/* One frame (payload at most STREAM_PAYLOAD_MAX). */
int stream_write(struct stream_writer *w, enum stream_frame type, const void *p, size_t n,
		 struct isc_err *e);
/* The END frame (its JSON given; frames and bytes added); the plain
 * chain's last tag in tag (for a signature) before END is written. */
int stream_write_end(struct stream_writer *w, json_object *end, struct isc_err *e);
void stream_writer_free(struct stream_writer *w);

/* Read the header: *h (json_object_put) is the header's JSON, checked to
 * be an object with "format" 1 and "raw" a boolean. */
int stream_read_begin(struct stream_reader *r, stream_read_fn read, void *src, json_object **h,
		      struct isc_err *e);
/* A raw stream's key (derived from the master key the header's record
 * unwraps), before the first frame. */
int stream_read_key(struct stream_reader *r, const uint8_t key[STREAM_KEY_LEN], struct isc_err *e);
/* The next frame, authenticated: *type, and its payload (valid until the
 * next call).  After END, 0 with *type 0.  Errors name the frame and the
 * byte offset where the stream went wrong. */
int stream_read(struct stream_reader *r, uint8_t *type, const uint8_t **p, size_t *n, struct isc_err *e);
void stream_reader_free(struct stream_reader *r);

/* The raw stream key an ISC's master key gives (BLAKE2b KDF, its own context). */
void stream_key_derive(const uint8_t *master, size_t len, uint8_t key[STREAM_KEY_LEN]);
/* The chain's last tag: what a plain stream's END signs (writer: after
 * the last data frame; reader: after reading END, the tag END closed). */
void stream_tag_hex(const uint8_t tag[STREAM_TAG_LEN], char out[2 * STREAM_TAG_LEN + 1]);
ssize_t stream_fd_read(void *fdp, void *buf, size_t n);
