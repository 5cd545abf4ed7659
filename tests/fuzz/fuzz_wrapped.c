/* fuzz_wrapped.c - libFuzzer harness for wrapped_parse (keys/ROOT.wrapped in a pool): never crash, refusals say why on one line, accepted records dump to a fixed point and never open under a wrong key. */
#include "crypt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* read with read_file_at, so a C string: the parser sees up to the first NUL */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct wrapped w;
	struct isc_err e = { 0 };
	if (wrapped_parse(text, &w, &e) < 0) {
		if (e.code != EINVAL || !e.msg[0] || strchr(e.msg, '\n'))
			abort();
		free(text);
		return 0;
	}
	/* A doctored record cannot ask for an unbounded Argon2id. */
	if (w.kdf && (w.opslimit < 1 || w.opslimit > 20 || w.memlimit < 8192 || w.memlimit > (1ULL << 30)))
		abort();
	char *dump = wrapped_dump(&w);
	if (!dump)
		abort();
	struct wrapped again;
	if (wrapped_parse(dump, &again, &e) < 0)
		abort();
	char *dump2 = wrapped_dump(&again);
	if (!dump2 || strcmp(dump, dump2) != 0)
		abort();
	/* Opening under a fixed key (no KDF: Argon2id is too slow to fuzz)
	 * fails as "wrong key" and hands back nothing; forging a Poly1305 tag
	 * is not something a fuzzer does. */
	if (!w.kdf) {
		struct secret key = { 0 }, master = { 0 };
		if (secret_alloc(&key, CRYPT_KEY_SIZE) < 0)
			abort();
		memset(key.buf, 0x42, key.len);
		if (wrap_open(&w, &key, "fuzz", &master, &e) != -EKEYREJECTED ||
		    !STREQ(e.msg, "wrong key") || master.buf)
			abort();
		secret_free(&key);
	}
	free(dump);
	free(dump2);
	free(text);
	return 0;
}
