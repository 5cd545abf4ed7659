/* fuzz_escape.c - libFuzzer harness for str_escape_ctl: nothing a terminal acts on gets through, escapes read back unambiguously, however the input is cut. */
#include "common.h"

#include <ctype.h>
#include <locale.h>
#include <wchar.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Printable ASCII, tab and newline (in lines) and UTF-8 other than the C1
 * and bidi controls, as libc's decoder sees it (not ours); a backslash
 * only as the start of \\ or \xNN. */
static bool term_safe(const char *s, size_t n, bool lines)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			if (i + 1 < n && s[i + 1] == '\\')
				i++;
			else if (i + 3 >= n || s[i + 1] != 'x' || !isxdigit((unsigned char)s[i + 2]) ||
				 !isxdigit((unsigned char)s[i + 3]))
				return false;
			continue;
		}
		if ((c >= 0x20 && c < 0x7f) || (lines && (c == '\t' || c == '\n')))
			continue;
		mbstate_t st = { 0 };
		wchar_t wc;
		size_t k = mbrtowc(&wc, s + i, n - i, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k < 2 || (wc >= 0x80 && wc < 0xa0) ||
		    wc == 0x061c || wc == 0x200e || wc == 0x200f || (wc >= 0x202a && wc <= 0x202e) ||
		    (wc >= 0x2066 && wc <= 0x2069))
			return false;
		i += k - 1;
	}
	return true;
}

/* As a reader in chunks calls it: the input arrives piece bytes at a time
 * (ESC_MORE until the last), into a dst of dsize. */
static size_t escape_cut(char *out, const char *src, size_t n, size_t piece, size_t dsize, unsigned flags)
{
	char dst[128];
	size_t o = 0, done = 0, arrived = 0;
	bool starved = true;
	while (done < n) {
		if (starved)
			arrived = arrived + piece < n ? arrived + piece : n;
		size_t k = str_escape_ctl(dst, dsize, src + done, arrived - done,
					  flags | (arrived < n ? ESC_MORE : 0));
		if (strlen(dst) >= dsize || k > strlen(dst))
			abort();
		starved = k == 0 || done + k == arrived;
		if (k == 0 && arrived == n)
			abort();   /* no progress with all of it there and room for an escape */
		memcpy(out + o, dst, strlen(dst));
		o += strlen(dst);
		done += k;
	}
	out[o] = '\0';
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool locale_set;
	if (!locale_set && !setlocale(LC_CTYPE, "C.UTF-8"))
		abort();
	locale_set = true;
	if (size < 3)
		return 0;
	size_t piece = 1 + data[0] % 16, dsize = 5 + data[1] % 100;
	unsigned flags = data[2] & 1 ? ESC_KEEP_NL : 0;
	const char *src = (const char *)data + 3;
	size_t n = size - 3;
	char *whole = malloc(4 * n + 1), *cut = malloc(4 * n + 1);
	if (!whole || !cut)
		abort();
	if (str_escape_ctl(whole, 4 * n + 1, src, n, flags) != n)
		abort();
	size_t len = strlen(whole);
	if (!term_safe(whole, len, flags & ESC_KEEP_NL))
		abort();
	if (escape_cut(cut, src, n, piece, dsize, flags) != len || memcmp(cut, whole, len) != 0)
		abort();
	free(whole);
	free(cut);
	return 0;
}
