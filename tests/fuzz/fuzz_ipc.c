/* fuzz_ipc.c - libFuzzer harness for iscd's side of the control protocol: login requests and frames from a socket. */
#include "ipc.h"

#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A login request that parses rebuilds to the same bytes, and its argv
 * lies inside the payload. */
static void fuzz_login(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so reading past the end is caught */
	char *p = malloc(size ? size : 1);
	if (!p)
		return;
	memcpy(p, data, size);
	struct ipc_login l;
	char **argv = NULL;
	if (ipc_login_parse(p, size, &l, &argv) < 0) {
		free(p);
		return;
	}
	if (l.tty > 1 || l.force > 1 || l.pad || l.kind > LOGIN_TRUSTED || strnlen(l.term, sizeof(l.term)) == sizeof(l.term))
		abort();
	for (const char *t = l.term; *t; t++)
		if (*t <= ' ' || *t > '~')
			abort();
	if (argv[0] && argv[0][0] == '\0')
		abort();
	for (size_t i = 0; argv[i]; i++)
		if (argv[i] < p + sizeof(l) || argv[i] + strlen(argv[i]) >= p + size)
			abort();
	char *back = malloc(size ? size : 1);
	size_t blen = 0;
	if (!back || ipc_login_build(&l, argv, back, size, &blen) < 0 || blen != size ||
	    memcmp(back, p, size) != 0)
		abort();
	free(back);
	free(argv);
	free(p);
}

/* The same bytes as one frame on a SOCK_SEQPACKET socket. */
static void fuzz_frame(const uint8_t *data, size_t size)
{
	static int sv[2] = { -1, -1 };
	if (sv[0] < 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (size == 0 || size > sizeof(struct ipc_hdr) + IPC_MAX + 64)
		return;   /* an empty frame reads as a hang-up */
	if (send(sv[0], data, size, MSG_NOSIGNAL) != (ssize_t)size)
		abort();
	struct ipc_hdr h;
	static char buf[IPC_MAX + 1];
	int r = ipc_recv(sv[1], &h, buf, NULL, NULL);
	if (r == -EBADMSG)
		return;
	if (r < 0 || h.type < IPC_HALT || h.type > IPC_EXIT || h.len > IPC_MAX ||
	    h.len + sizeof(h) != size || memcmp(buf, data + sizeof(h), h.len) != 0 || buf[h.len])
		abort();
}

/* A reboot request that parses names a boot mode. */
static void fuzz_reboot(const uint8_t *data, size_t size)
{
	enum boot_mode m;
	if (ipc_reboot_parse((const char *)data, size, &m) == 0 && (unsigned)m >= BOOT_MODE_COUNT)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_login(data, size);
	fuzz_reboot(data, size);
	fuzz_frame(data, size);
	return 0;
}
