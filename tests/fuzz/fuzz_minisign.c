/* fuzz_minisign.c - libFuzzer harness for minisign_pub_parse and minisign_sig_parse (require-signature keys, images/<digest>.erofs.minisig): never crash, refusals say why on one line, an accepted signature's trusted comment is bounded. */
#include "crypt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct isc_err e = { 0 };
	struct minisign_pub pk;
	if (minisign_pub_parse(text, size, &pk, &e) < 0 && (!e.msg[0] || strchr(e.msg, '\n')))
		abort();
	struct minisign_sig s;
	e = (struct isc_err){ 0 };
	if (minisign_sig_parse(text, size, &s, &e) < 0) {
		if (!e.msg[0] || strchr(e.msg, '\n'))
			abort();
		return 0;
	}
	if (s.trusted_len >= sizeof(s.trusted) || strlen(s.trusted) > s.trusted_len)
		abort();
	return 0;
}
