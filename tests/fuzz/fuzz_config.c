/* fuzz_config.c - libFuzzer harness for config_parse: never crash, refusals say why on one line, accepted input dumps to a fixed point. */
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* config files are read as C strings: the parser sees up to the first NUL */
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct isc_config c;
	struct isc_err e = { 0 };
	if (config_parse(text, &c, &e) < 0) {
		if (e.code == 0 || !str_has_prefix(e.msg, "config") || strchr(e.msg, '\n'))
			abort();
		for (size_t i = 0; i < ISC_MAX_VOLUMES + 1; i++)
			if (c.volumes[i])
				abort();   /* a refusal hands back nothing to free */
		free(text);
		return 0;
	}
	char *dump = config_dump(&c);
	if (!dump)
		abort();
	/* The dump is canonical: it parses, and dumps to the same bytes. */
	struct isc_config again;
	if (config_parse(dump, &again, &e) < 0)
		abort();
	char *dump2 = config_dump(&again);
	if (!dump2 || strcmp(dump, dump2) != 0)
		abort();
	/* Every accepted value is one a later "--set" would accept too. */
	for (size_t i = 0; c.volumes[i]; i++) {
		struct isc_config fresh;
		char kv[300];
		config_init(&fresh);
		snprintf(kv, sizeof(kv), "volume=%s", c.volumes[i]);
		if (config_set(&fresh, kv, &e) < 0)
			abort();
		config_free(&fresh);
	}
	free(dump);
	free(dump2);
	config_free(&again);
	config_free(&c);
	free(text);
	return 0;
}
