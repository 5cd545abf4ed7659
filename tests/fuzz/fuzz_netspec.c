/* fuzz_netspec.c - libFuzzer harness for the expose, egress and net= parsers: "KIND SPEC"; never crash, refusals are one line, accepted specs format to a fixed point. */
#include "net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0 accepted (and canonical text round-trips), -1 refused (one line). */
int netspec_check(const char *text);

int netspec_check(const char *text)
{
	struct isc_err e = { 0 };
	char out[4096], again[4096];
	const char *sp = strchr(text, ' ');
	if (!sp)
		return -1;
	const char *v = sp + 1;
	size_t k = (size_t)(sp - text);
	int r = -1;
	if (k == 6 && strncmp(text, "expose", 6) == 0) {
		struct net_expose x, y;
		if ((r = net_expose_parse(v, &x, &e)) == 0) {
			net_expose_format(&x, out, sizeof(out));
			if (net_expose_parse(out, &y, &e) < 0)
				abort();
			net_expose_format(&y, again, sizeof(again));
			if (!STREQ(out, again) || x.proto != y.proto || x.host_port != y.host_port ||
			    x.port != y.port || x.from != y.from || x.from_len != y.from_len || x.from6 != y.from6 ||
			    memcmp(x.from_a6, y.from_a6, 16))
				abort();
		}
	} else if (k == 6 && strncmp(text, "egress", 6) == 0) {
		static struct net_egress g, h;
		if ((r = net_egress_parse(v, &g, &e)) == 0) {
			net_egress_format(&g, out, sizeof(out));
			if (net_egress_parse(out, &h, &e) < 0)
				abort();
			net_egress_format(&h, again, sizeof(again));
			if (!STREQ(out, again))
				abort();
		}
	} else if (k == 3 && strncmp(text, "net", 3) == 0) {
		enum net_mode m;
		r = net_mode_parse(v, &m);
		return r < 0 ? -1 : 0;
	} else {
		return -1;
	}
	if (r < 0 && (e.code == 0 || strchr(e.msg, '\n')))
		abort();
	return r < 0 ? -1 : 0;
}

#ifndef NETSPEC_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	netspec_check(text);
	free(text);
	return 0;
}
#endif
