/* fuzz_manifest.c - libFuzzer harness for manifest_parse: never crash, and accepted input round-trips byte for byte. */
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct isc_err e = { 0 };
	if (manifest_parse((const char *)data, size, &m, &e) < 0) {
		/* A refusal must say where and why, on one line. */
		if ((!str_has_prefix(e.msg, "manifest line ") && !STREQ(e.msg, "out of memory")) ||
		    strchr(e.msg, '\n'))
			abort();
		return 0;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f || manifest_write(&m, f) < 0)
		abort();
	fclose(f);
	/* Only the canonical form is accepted, so writing it back gives the input. */
	if (len != size || memcmp(text, data, size) != 0)
		abort();
	free(text);
	manifest_free(&m);
	return 0;
}
