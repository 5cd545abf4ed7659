/* svc_proto.c - the line protocol on /run/isc/init.sock: requests parsed by isc-init (PID 1), replies parsed by isc-svc; both strict and fuzzed. */
#include "services.h"

static const char *const op_names[] = {
	[PROTO_LIST] = "list", [PROTO_ENABLE] = "enable",
	[PROTO_DISABLE] = "disable", [PROTO_RESTART] = "restart", [PROTO_INFO] = "info",
};

const char *proto_op_name(enum proto_op op)
{
	return (unsigned)op < ARRAY_SIZE(op_names) ? op_names[op] : "?";
}

bool proto_op_changes(enum proto_op op)
{
	switch (op) {
	case PROTO_LIST:
	case PROTO_INFO: return false;
	case PROTO_ENABLE:
	case PROTO_DISABLE:
	case PROTO_RESTART: return true;
	}
	return true;
}

/* "list" | "enable NAME" | "disable NAME" | "restart NAME": one blank, no
 * padding, nothing else.  Anything looser is malformed. */
int proto_request_parse(const char *line, size_t len, struct proto_request *rq)
{
	char buf[PROTO_LINE_MAX];
	if (len == 0 || len >= sizeof(buf) || memchr(line, '\0', len))
		return -EBADMSG;
	memcpy(buf, line, len);
	buf[len] = '\0';
	memset(rq, 0, sizeof(*rq));
	char *sp = strchr(buf, ' ');
	if (sp)
		*sp = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(op_names); i++) {
		if (!STREQ(buf, op_names[i]))
			continue;
		rq->op = (enum proto_op)i;
		if (!proto_op_changes(rq->op))
			return sp ? -EBADMSG : 0;
		if (!sp || !name_valid(sp + 1))
			return -EBADMSG;
		return str_copy(rq->name, sizeof(rq->name), sp + 1) < 0 ? -EBADMSG : 0;
	}
	return -EBADMSG;
}

int proto_request_format(const struct proto_request *rq, char *buf, size_t size)
{
	int n;
	if ((unsigned)rq->op >= ARRAY_SIZE(op_names))
		return -EINVAL;
	if (proto_op_changes(rq->op)) {
		if (!name_valid(rq->name))
			return -EINVAL;
		n = snprintf(buf, size, "%s %s\n", op_names[rq->op], rq->name);
	} else {
		n = snprintf(buf, size, "%s\n", op_names[rq->op]);
	}
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

static bool state_word(const char *p, size_t n)
{
	static const char *const words[] = { "online", "disabled", "offline", "maintenance" };
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strlen(words[i]) == n && memcmp(words[i], p, n) == 0)
			return true;
	return false;
}

/* Exactly count lines of "STATE NAME\n" filling body to its end. */
static int reply_body_check(const char *p, size_t len, unsigned long count)
{
	char name[SVC_NAME_MAX];
	for (unsigned long i = 0; i < count; i++) {
		const char *nl = memchr(p, '\n', len);
		const char *sp = nl ? memchr(p, ' ', (size_t)(nl - p)) : NULL;
		if (!sp || !state_word(p, (size_t)(sp - p)))
			return -EBADMSG;
		size_t n = (size_t)(nl - sp - 1);
		if (n >= sizeof(name))
			return -EBADMSG;
		memcpy(name, sp + 1, n);
		name[n] = '\0';
		if (!name_valid(name))
			return -EBADMSG;
		len -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	return len == 0 ? 0 : -EBADMSG;
}

static int reply_count(const char *p, size_t n, unsigned long *count)
{
	unsigned long v = 0;
	if (n == 0 || n > 4 || (p[0] == '0' && n > 1))
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EBADMSG;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v > SVC_MAX)
		return -EBADMSG;
	*count = v;
	return 0;
}

int proto_reply_parse(const char *buf, size_t len, struct proto_reply *rp)
{
	memset(rp, 0, sizeof(*rp));
	if (len > PROTO_REPLY_MAX || memchr(buf, '\0', len))
		return -EBADMSG;
	const char *nl = memchr(buf, '\n', len);
	if (!nl)
		return -EBADMSG;
	size_t head = (size_t)(nl - buf);
	const char *body = nl + 1;
	size_t body_len = len - head - 1;
	if (head == 2 && memcmp(buf, "ok", 2) == 0) {
		rp->ok = true;
		return body_len == 0 ? 0 : -EBADMSG;
	}
	if (head > 3 && memcmp(buf, "ok ", 3) == 0) {
		unsigned long count;
		if (reply_count(buf + 3, head - 3, &count) < 0 ||
		    reply_body_check(body, body_len, count) < 0)
			return -EBADMSG;
		rp->ok = true;
		rp->body = body;
		rp->body_len = body_len;
		return 0;
	}
	if (head > 6 && memcmp(buf, "error ", 6) == 0) {
		size_t n = head - 6;
		if (body_len != 0 || n >= sizeof(rp->message))
			return -EBADMSG;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)buf[6 + i] < 0x20 || buf[6 + i] == 0x7f)
				return -EBADMSG;
		memcpy(rp->message, buf + 6, n);
		rp->message[n] = '\0';
		return 0;
	}
	return -EBADMSG;
}

/* One property line: "KEY: VALUE", printable ASCII, bounded. */
static bool info_line_ok(const char *p, size_t n)
{
	if (n == 0 || n > 200)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f)
			return false;
	const char *colon = memchr(p, ':', n);
	return colon && colon != p && (size_t)(colon - p) + 1 < n && colon[1] == ' ';
}

int proto_info_parse(const char *buf, size_t len, struct proto_reply *rp)
{
	memset(rp, 0, sizeof(*rp));
	if (len > PROTO_REPLY_MAX || memchr(buf, '\0', len))
		return -EBADMSG;
	const char *nl = memchr(buf, '\n', len);
	if (!nl)
		return -EBADMSG;
	size_t head = (size_t)(nl - buf);
	if (head < 4 || memcmp(buf, "ok ", 3) != 0) {
		/* only an error line: info is always answered "ok N", never bare "ok" */
		int r = proto_reply_parse(buf, len, rp);
		if (r == 0 && rp->ok) {
			memset(rp, 0, sizeof(*rp));
			return -EBADMSG;
		}
		return r;
	}
	unsigned long count;
	if (reply_count(buf + 3, head - 3, &count) < 0)
		return -EBADMSG;
	const char *p = nl + 1;
	size_t left = len - head - 1;
	rp->body = p;
	rp->body_len = left;
	for (unsigned long i = 0; i < count; i++) {
		const char *e = memchr(p, '\n', left);
		if (!e || !info_line_ok(p, (size_t)(e - p)))
			return -EBADMSG;
		left -= (size_t)(e + 1 - p);
		p = e + 1;
	}
	if (left != 0)
		return -EBADMSG;
	rp->ok = true;
	return 0;
}

int proto_info_format(const char *info, char **out, size_t *lines)
{
	size_t n = info ? strlen(info) : 0, count = 0, j = 0;
	char *body = malloc(n + 2);
	if (!body)
		return -ENOMEM;
	const char *p = info;
	while (p && *p) {
		const char *end = strchr(p, ';');
		size_t k = end ? (size_t)(end - p) : strlen(p);
		/* only well-formed lines: the supervisor wrote them, the parser checks them */
		if (info_line_ok(p, k)) {
			memcpy(body + j, p, k);
			j += k;
			body[j++] = '\n';
			count++;
		}
		p += k + (end ? 1 : 0);
	}
	body[j] = '\0';
	*out = body;
	*lines = count;
	return 0;
}
