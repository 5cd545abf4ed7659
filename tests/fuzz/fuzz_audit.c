/* fuzz_audit.c - libFuzzer harness for one audit record's line: never crash; a line that
 * checks whole has a hash that matches its body, a seq of 1 or more and a parsed object. */
#include "audit.h"

#include <sodium.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0 a good record, -1 refused (any fault). */
int audit_line_try(const char *line, size_t len);

int audit_line_try(const char *line, size_t len)
{
	struct audit_record r;
	enum audit_fault f = audit_line_check(line, len, &r);
	if (f == AUDIT_FAULT_NONE) {
		unsigned char md[crypto_hash_sha256_BYTES];
		char hex[AUDIT_HASH_HEX + 1];
		/* the hash is over every byte before ,"hash":" */
		crypto_hash_sha256(md, (const unsigned char *)line, len - (9 + AUDIT_HASH_HEX + 2));
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
		if (!r.obj || r.seq < 1 || !r.time || !STREQ(hex, r.hash))
			abort();
	} else if (f != AUDIT_FAULT_FORM && f != AUDIT_FAULT_HASH) {
		abort();   /* a line alone knows nothing of seq or links */
	}
	json_object_put(r.obj);
	return f == AUDIT_FAULT_NONE ? 0 : -1;
}

#ifndef AUDIT_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	audit_line_try((const char *)data, size);
	return 0;
}
#endif
