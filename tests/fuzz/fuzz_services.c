/* fuzz_services.c - libFuzzer harness for isc-init's parsers: service files (with a canonical round-trip oracle), control requests and replies, passwd/group lookup. */
#include "services.h"

#include <assert.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A service file that parses has a canonical text which parses to the same
 * canonical text: the dump round-trips. */
static void fuzz_service_file(const char *text, size_t len)
{
	struct svc_conf c, d;
	struct isc_err e = { 0 };
	char *canon = NULL, *again = NULL;

	if (svc_conf_parse(text, len, &c, &e) < 0) {
		assert(e.msg[0] != '\0' && c.argv == NULL);
		return;
	}
	assert(c.argv && c.argv[0][0] == '/' && strv_length(c.argv) <= SVC_ARGS_MAX);
	for (unsigned cap = 0; cap < 64; cap++)   /* caps= holds known capabilities only */
		assert(!(c.caps & (1ULL << cap)) || (c.caps_set && svc_cap_name(cap)));
	assert(svc_conf_format(&c, &canon) == 0);
	if (strlen(canon) > SVC_FILE_MAX) {   /* escaping grew a file already near the bound */
		free(canon);
		svc_conf_free(&c);
		return;
	}
	assert(svc_conf_parse(canon, strlen(canon), &d, &e) == 0);
	assert(svc_conf_format(&d, &again) == 0);
	assert(strcmp(canon, again) == 0);
	free(canon);
	free(again);
	svc_conf_free(&c);
	svc_conf_free(&d);

	/* The same text as one service of a set: linking must cope with any after=. */
	struct svc_set set = { 0 };
	svc_set_add_text(&set, "fuzz", text, len, "fuzz");
	svc_set_link(&set);
	char *list;
	size_t n;
	if (svc_set_format(&set, &list, &n) == 0)
		free(list);
	svc_set_free(&set);
}

/* Each line as a request; what parses formats back to the same request. */
static void fuzz_requests(const char *text, size_t len)
{
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - text - pos) : len - pos;
		struct proto_request rq, back;
		char buf[PROTO_LINE_MAX];
		if (proto_request_parse(text + pos, n, &rq) == 0) {
			int m = proto_request_format(&rq, buf, sizeof(buf));
			assert(m > 0 && buf[m - 1] == '\n');
			assert(proto_request_parse(buf, (size_t)m - 1, &back) == 0);
			assert(back.op == rq.op && strcmp(back.name, rq.name) == 0);
		}
		pos += n + 1;
	}
}

static void fuzz_reply(const char *text, size_t len)
{
	struct proto_reply rp;
	if (proto_reply_parse(text, len, &rp) == 0 && rp.body)
		assert(rp.body >= text && rp.body + rp.body_len == text + len);
	if (proto_info_parse(text, len, &rp) == 0 && rp.ok)
		assert(rp.body >= text && rp.body + rp.body_len == text + len);
}

/* "SPEC\nPASSWD...\n--\nGROUP..." */
static void fuzz_user(const char *text, size_t len)
{
	char *buf = strndup(text, len);   /* stops at an embedded NUL, like the C strings it feeds */
	if (!buf)
		return;
	char *passwd = strchr(buf, '\n'), *group = NULL;
	if (passwd) {
		*passwd++ = '\0';
		group = strstr(passwd, "\n--\n");
		if (group) {
			*group = '\0';
			group += 4;
		}
	}
	struct svc_cred c;
	struct isc_err e;
	if (svc_user_resolve(buf, passwd, group, &c, &e) == 0)
		assert(c.ngroups >= 1 && c.ngroups <= SVC_GROUPS_MAX && c.groups[0] == c.gid);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	fuzz_service_file(text, size);
	fuzz_requests(text, size);
	fuzz_reply(text, size);
	fuzz_user(text, size);
	return 0;
}
