/* err.c - the error contract: one caller-owned struct carries code and reason up the stack. */
#include "common.h"

int err_set(struct isc_err *e, int code, const char *fmt, ...)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = EIO;
	if (e) {
		va_list ap;
		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

int err_prefix(struct isc_err *e, const char *fmt, ...)
{
	if (!e)
		return -EIO;
	char head[512], old[sizeof(e->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	size_t hl = strlen(head);
	if (hl + 2 >= sizeof(e->msg))
		hl = sizeof(e->msg) - 3;
	memcpy(e->msg, head, hl);
	memcpy(e->msg + hl, ": ", 2);
	size_t room = sizeof(e->msg) - hl - 3;
	size_t ol = strnlen(old, room);
	memcpy(e->msg + hl + 2, old, ol);
	e->msg[hl + 2 + ol] = '\0';
	if (e->code == 0)
		e->code = EIO;
	return -e->code;
}

void err_clear(struct isc_err *e)
{
	e->code = 0;
	e->msg[0] = '\0';
}

int err_sys(struct isc_err *e, int code, const char *fmt, ...)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = EIO;
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof(e->msg))
			snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", strerror(code));
		e->code = code;
	}
	return -code;
}
