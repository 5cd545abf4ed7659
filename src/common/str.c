/* str.c - string helpers shared by every isc process (no allocation-heavy code here). */
#include "common.h"

#include <ctype.h>
#include <inttypes.h>

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

int str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

void str_append(char *dst, size_t size, const char *src)
{
	size_t at = strnlen(dst, size);
	if (at + 1 < size)
		snprintf(dst + at, size - at, "%s", src);
}

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -EINVAL;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0')
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

void format_size(uint64_t b, char *buf, size_t size)
{
	static const char units[] = "BKMGT";
	double v = (double)b;
	unsigned u = 0;
	while (v >= 1024 && u < sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%" PRIu64 "B", b);
	else
		snprintf(buf, size, "%.1f%c", v, units[u]);
}

bool name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t strv_length(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int strv_push(char ***v, const char *s)
{
	size_t n = strv_length(*v);
	char *c = strdup(s);
	if (!c)
		return -ENOMEM;
	char **nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv) {
		free(c);
		return -ENOMEM;
	}
	nv[n] = c;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

char **strv_copy(char *const *v)
{
	char **r = calloc(1, sizeof(char *));
	if (!r)
		return NULL;
	for (size_t i = 0; v && v[i]; i++)
		if (strv_push(&r, v[i]) < 0) {
			strv_free(r);
			return NULL;
		}
	return r;
}

/* ---- escaping: the rule is written once, in common.h ---------------------- */

/* Length of the valid UTF-8 sequence at s (2..4, RFC 3629: no overlong
 * form, no surrogate, nothing above U+10FFFF) and its code point in *cp;
 * 0 when none starts there, -1 when the n bytes there are a valid
 * beginning cut short. */
static int utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;   /* the second byte's range */
	int len;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	*cp = s[0] & (0x7f >> len);
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return -1;
		if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf))
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	return len;
}

/* Valid UTF-8 that is not text: the C1 controls (a terminal honours an
 * 8-bit CSI or OSC as it does ESC [ and ESC ]), and the bidi controls,
 * which reorder what follows them so that a name shows as another. */
static bool utf8_control(uint32_t cp)
{
	return cp <= 0x9f || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

enum { ESC_BYTE = 0, ESC_CUT = -1 };

/* What starts at s: the length of text shown as it is, ESC_BYTE when s[0]
 * is shown escaped (the rest of a control's sequence then comes as stray
 * continuation bytes, escaped in turn: an escape is never more than 4
 * bytes, so size 5 always makes progress), or ESC_CUT for a sequence cut
 * at the end of a chunk (ESC_MORE). */
static int esc_text_len(const unsigned char *s, size_t n, unsigned flags)
{
	uint32_t cp;
	if (s[0] < 0x80) {
		bool layout = (flags & ESC_KEEP_NL) && (s[0] == '\n' || s[0] == '\t');
		return (s[0] >= 0x20 && s[0] < 0x7f && s[0] != '\\') || layout ? 1 : ESC_BYTE;
	}
	int len = utf8_seq(s, n, &cp);
	if (len < 0)
		return flags & ESC_MORE ? ESC_CUT : ESC_BYTE;
	return len > 0 && !utf8_control(cp) ? len : ESC_BYTE;
}

size_t str_escape_ctl(char *dst, size_t size, const char *src, size_t n, unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;
	if (size == 0)
		return 0;
	while (i < n) {
		int len = esc_text_len(s + i, n - i, flags);
		if (len == ESC_CUT)
			break;
		size_t out = len > 0 ? (size_t)len : s[i] == '\\' ? 2 : 4;
		if (o + out >= size)
			break;   /* never half an escape or half a character */
		if (len > 0) {
			memcpy(dst + o, s + i, out);
			i += out;
		} else if (s[i] == '\\') {
			dst[o] = dst[o + 1] = '\\';
			i++;
		} else {
			dst[o] = '\\';
			dst[o + 1] = 'x';
			dst[o + 2] = hex[s[i] >> 4];
			dst[o + 3] = hex[s[i++] & 0xf];
		}
		o += out;
	}
	dst[o] = '\0';
	return i;
}

size_t str_escape(const char *in, size_t inlen, char *out, size_t outsize)
{
	return str_escape_ctl(out, outsize, in, inlen, 0);
}

ssize_t fd_write_escaped(int fd, const char *buf, size_t n, unsigned flags)
{
	char out[16384];
	size_t done = 0;
	while (done < n) {
		size_t k = str_escape_ctl(out, sizeof(out), buf + done, n - done, flags);
		if (k == 0)
			break;   /* ESC_MORE: a sequence cut at the end, for the next call */
		int r = write_all(fd, out, strlen(out));
		if (r < 0)
			return r;
		done += k;
	}
	return (ssize_t)done;
}
