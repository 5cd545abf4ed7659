/* isc-svc.c - admin tool inside an ISC: lists services and asks isc-init (PID 1) to enable, disable or restart one. */
#include "services.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

static void usage(FILE *f)
{
	fputs("usage: isc-svc list\n"
	      "       isc-svc info\n"
	      "       isc-svc enable NAME\n"
	      "       isc-svc disable NAME\n"
	      "       isc-svc restart NAME\n"
	      "\n"
	      "Changes last until the ISC reboots; the image's configuration comes back then.\n", f);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fputs("isc-svc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int parse_args(int argc, char **argv, struct proto_request *rq)
{
	static const struct { const char *word; enum proto_op op; } ops[] = {
		{ "list", PROTO_LIST }, { "enable", PROTO_ENABLE },
		{ "disable", PROTO_DISABLE }, { "restart", PROTO_RESTART }, { "info", PROTO_INFO },
	};
	memset(rq, 0, sizeof(*rq));
	for (size_t i = 0; argc >= 2 && i < ARRAY_SIZE(ops); i++) {
		if (!STREQ(argv[1], ops[i].word))
			continue;
		rq->op = ops[i].op;
		if (argc != (proto_op_changes(rq->op) ? 3 : 2))
			break;
		if (argc == 3 && (!name_valid(argv[2]) ||
				  str_copy(rq->name, sizeof(rq->name), argv[2]) < 0)) {
			fail("invalid service name \"%s\"", argv[2]);
			return -EINVAL;
		}
		return 0;
	}
	usage(stderr);
	return -EINVAL;
}

static int ctl_connect(bool quick)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (quick) {   /* changes wait for the service to stop; a list never should */
		struct timeval tv = { .tv_sec = 10 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	strcpy(sa.sun_path, SVC_SOCKET);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Read until isc-init closes; a reply larger than the bound is an error. */
static ssize_t read_reply(int fd, char *buf, size_t size)
{
	size_t got = 0;
	for (;;) {
		if (got == size)
			return -EMSGSIZE;
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return (ssize_t)got;
		got += (size_t)n;
	}
}

/* Without access to the socket (0600), anyone may still read the mirror. */
static int list_from_file(void)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file_at(AT_FDCWD, SVC_STATE_FILE, &text, &len, PROTO_REPLY_MAX);
	if (r < 0)
		return fail("cannot read %s: %s", SVC_STATE_FILE, strerror(-r));
	fwrite(text, 1, len, stdout);
	return 0;
}

static int request(const struct proto_request *rq)
{
	char line[PROTO_LINE_MAX];
	struct proto_reply rp;
	_cleanup_close_ int fd = ctl_connect(!proto_op_changes(rq->op));
	if (fd < 0 && rq->op == PROTO_LIST && (fd == -EACCES || fd == -EPERM))
		return list_from_file();
	if (fd < 0)
		return fail("cannot reach isc-init at %s: %s", SVC_SOCKET, strerror(-fd));
	int n = proto_request_format(rq, line, sizeof(line));
	if (n < 0)
		return fail("invalid request");
	int r = write_all(fd, line, (size_t)n);
	if (r < 0)
		return fail("cannot send to isc-init: %s", strerror(-r));
	_cleanup_free_ char *buf = malloc(PROTO_REPLY_MAX);
	if (!buf)
		return fail("out of memory");
	ssize_t got = read_reply(fd, buf, PROTO_REPLY_MAX);
	if (got < 0)
		return fail("no reply from isc-init: %s", strerror((int)-got));
	if (got == 0)
		return fail("isc-init closed the connection without a reply (too many clients?)");
	if ((rq->op == PROTO_INFO ? proto_info_parse : proto_reply_parse)(buf, (size_t)got, &rp) < 0)
		return fail("malformed reply from isc-init");
	if (!rp.ok)
		return fail("%s", rp.message);
	if (rp.body_len)
		fwrite(rp.body, 1, rp.body_len, stdout);
	return fflush(stdout) == 0 ? 0 : fail("cannot write output: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct proto_request rq;
	if (argc == 2 && (STREQ(argv[1], "--help") || STREQ(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (parse_args(argc, argv, &rq) < 0)
		return 2;
	return request(&rq);
}
