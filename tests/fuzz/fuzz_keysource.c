/* fuzz_keysource.c - libFuzzer harness for keysource_parse (--key, the keysource= line of a wrapped key): never crash, refusals say why, accepted text is canonical. */
#include "crypt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* keysources arrive as C strings: the parser sees up to the first NUL;
	 * an exact-size copy, so reading past the end is caught */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct keysource ks;
	struct isc_err e = { 0 };
	if (keysource_parse(text, &ks, &e) < 0) {
		/* The message quotes the text, so it has a line break only when
		 * the text does. */
		if (e.code == 0 || !str_has_prefix(e.msg, "keysource '") ||
		    (strchr(e.msg, '\n') && !strchr(text, '\n')))
			abort();
		free(text);
		return 0;
	}
	/* What is accepted: raw never prompted, files absolute, no parent
	 * directory, no control characters or commas in the path. */
	if (ks.location == KS_PROMPT) {
		if (ks.format == KS_RAW || ks.path[0])
			abort();
	} else {
		size_t n = strlen(ks.path);
		if (ks.path[0] != '/' || ks.path[n - 1] == '/' || strstr(ks.path, "/../") ||
		    (n >= 3 && STREQ(ks.path + n - 3, "/..")))
			abort();
		for (const char *c = ks.path; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == ',')
				abort();
	}
	/* The text is canonical: formatting gives back the same bytes, which
	 * parse to the same keysource. */
	char out[PATH_MAX + 32];
	keysource_format(&ks, out, sizeof(out));
	if (!STREQ(out, text))
		abort();
	struct keysource again;
	if (keysource_parse(out, &again, &e) < 0 || again.format != ks.format ||
	    again.location != ks.location || !STREQ(again.path, ks.path))
		abort();
	free(text);
	return 0;
}
