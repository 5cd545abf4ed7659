/* ipc.c - framing and validation of supervisor messages; iscadm and iscd. */
#include "ipc.h"

#include <sys/socket.h>
#include <sys/un.h>

int ipc_send(int sock, enum ipc_type type, int status, const void *data, size_t len,
	     const int *fds, size_t nfds)
{
	char buf[sizeof(struct ipc_hdr) + IPC_MAX];
	if (len > IPC_MAX)
		return -EMSGSIZE;
	struct ipc_hdr h = { .type = type, .status = status, .len = (uint32_t)len };
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), data, len);
	return fd_send(sock, buf, sizeof(h) + len, fds, nfds);
}

int ipc_recv(int sock, struct ipc_hdr *h, char *buf, int *fds, size_t *nfds)
{
	/* One byte more than the largest message: a longer frame arrives cut
	 * short (SOCK_SEQPACKET drops the rest) and must not pass for whole. */
	char raw[sizeof(struct ipc_hdr) + IPC_MAX + 1];
	size_t zero = 0;
	ssize_t n = fd_recv(sock, raw, sizeof(raw), fds, nfds ? nfds : &zero);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ECONNRESET;
	if ((size_t)n < sizeof(*h) || (size_t)n > sizeof(*h) + IPC_MAX)
		return -EBADMSG;
	memcpy(h, raw, sizeof(*h));
	if (h->len != (size_t)n - sizeof(*h) || h->type < IPC_HALT || h->type > IPC_LAST)
		return -EBADMSG;
	memcpy(buf, raw + sizeof(*h), h->len);
	buf[h->len] = '\0';
	return 0;
}

int ipc_reboot_parse(const char *p, size_t len, enum boot_mode *mode)
{
	struct ipc_reboot r = { .mode = BOOT_READONLY };
	if (len != 0 && len != sizeof(r))
		return -EBADMSG;
	if (len)
		memcpy(&r, p, sizeof(r));
	if (r.mode >= BOOT_MODE_COUNT)
		return -EBADMSG;
	*mode = (enum boot_mode)r.mode;
	return 0;
}

int ipc_login_parse(const char *p, size_t len, struct ipc_login *l, char ***argv)
{
	if (len < sizeof(*l))
		return -EBADMSG;
	memcpy(l, p, sizeof(*l));
	if (l->tty > 1 || l->force > 1 || l->pad || (l->kind != LOGIN_PLAIN && l->kind != LOGIN_TRUSTED) ||
	    memchr(l->term, '\0', sizeof(l->term)) == NULL)
		return -EBADMSG;
	for (const char *t = l->term; *t; t++)
		if (*t <= ' ' || *t > '~')
			return -EBADMSG;
	const char *a = p + sizeof(*l), *end = p + len;
	if (a < end && end[-1] != '\0')
		return -EBADMSG;
	size_t n = 0;
	for (const char *q = a; q < end; q += strlen(q) + 1)
		n++;
	if (n > 1024)
		return -EBADMSG;
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	size_t i = 0;
	for (const char *q = a; q < end; q += strlen(q) + 1)
		v[i++] = (char *)q;
	if (n > 0 && v[0][0] == '\0') {
		free(v);
		return -EBADMSG;
	}
	*argv = v;
	return 0;
}

int ipc_login_build(const struct ipc_login *l, char *const *argv, char *buf, size_t size, size_t *len)
{
	size_t off = sizeof(*l);
	if (size < off)
		return -EMSGSIZE;
	memcpy(buf, l, sizeof(*l));
	for (size_t i = 0; argv && argv[i]; i++) {
		size_t k = strlen(argv[i]) + 1;
		if (off + k > size)
			return -E2BIG;
		memcpy(buf + off, argv[i], k);
		off += k;
	}
	*len = off;
	return 0;
}

int ipc_connect(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (run_path(sa.sun_path, sizeof(sa.sun_path), name, "ctl") < 0)
		return -ENAMETOOLONG;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}
