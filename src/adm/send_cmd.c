/* send_cmd.c - iscadm send ISC@SNAP and receive NAME: arguments and output;
 * the stream is the isc library's (send.c, recv.c; docs/stream.md). */
#include "adm.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>

static void progress(const char *what, void *data)
{
	fprintf(stderr, "iscadm: %s: %s\n", (const char *)data, what);
}

static void size_text(uint64_t b, char *buf, size_t n)
{
	if (b >= 10ull << 20)
		snprintf(buf, n, "%.1f MiB", (double)b / (1 << 20));
	else if (b >= 10ull << 10)
		snprintf(buf, n, "%.1f KiB", (double)b / (1 << 10));
	else
		snprintf(buf, n, "%" PRIu64 " bytes", b);
}

/* send ISC@SNAP [-i @BASE] [--raw] [-o FILE] [--dry-run] [--quiet] | send -t TOKEN [-o FILE] */
int cmd_send(struct adm *a)
{
	static const char usage[] = "send ISC@SNAPSHOT [-i @BASE] [--raw] [-o FILE] [--dry-run] [--quiet] | "
				    "send -t TOKEN [-o FILE] [--quiet]";
	static const struct option opts[] = {
		{ "raw", no_argument, NULL, 'r' }, { "dry-run", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' }, { "output", required_argument, NULL, 'o' }, { 0 } };
	struct isc_send_opts so = { .interactive = isatty(0) };
	struct isc_send_resume rs;
	const char *out = NULL, *base = NULL, *token = NULL;
	bool quiet = false;
	int c;
	while ((c = getopt_long(a->argc, a->argv, "i:o:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'i': base = optarg; break;
		case 'o': out = optarg; break;
		case 't': token = optarg; break;
		case 'r': so.raw = true; break;
		case 'n': so.dry_run = true; break;
		case 'q': quiet = true; break;
		default: return adm_usage("%s", usage);
		}
	}
	char name[64], snap[64], bsnap[64];
	if (token) {
		/* everything else is the token's */
		struct isc_err te = { 0 };
		if (optind != a->argc || base || so.raw || so.dry_run)
			return adm_usage("%s", usage);
		if (isc_send_token(token, &rs, &te) < 0)
			return adm_fail(&te);
		str_copy(name, sizeof(name), rs.isc);
		str_copy(snap, sizeof(snap), rs.snap);
		so.base = rs.base[0] ? rs.base : NULL;
		so.raw = rs.raw;
		so.resume = &rs;
	} else if (optind + 1 != a->argc || config_origin_split(a->argv[optind], name, snap) < 0) {
		return adm_usage("%s", usage);
	}
	if (base) {
		/* -i @BASE, or -i ISC@BASE of the same ISC */
		char bname[64];
		if (base[0] == '@' && name_valid(base + 1) && strlen(base + 1) < sizeof(bsnap))
			snprintf(bsnap, sizeof(bsnap), "%s", base + 1);
		else if (config_origin_split(base, bname, bsnap) < 0 || !STREQ(bname, name))
			return adm_usage("-i takes @BASE, a snapshot of %s (%s)", name, usage);
		so.base = bsnap;
	}
	so.snap = snap;
	if (!so.dry_run && !out && isatty(1))
		return adm_usage("the stream is binary: redirect it (send ... > FILE, | ssh HOST iscadm receive) or use -o FILE");
	char label[140];
	snprintf(label, sizeof(label), "send %s@%s", name, snap);
	if (!quiet && isatty(2)) {
		so.progress = progress;
		so.pdata = label;
	}
	struct adm_isc o;
	int r = adm_isc_open(a, name, POOL_LOCK_SHARED, &o);
	if (r)
		return r;
	int fd = 1;
	struct isc_err e = { 0 };
	if (out && !so.dry_run && (fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		err_sys(&e, errno, "%s (-o makes a new file)", out);
		adm_isc_close(&o);
		return adm_fail(&e);
	}
	struct isc_send_stats st;
	r = isc_send(&o.pool, name, &so, fd, &st, &e);
	adm_isc_close(&o);
	if (out && !so.dry_run) {
		if (r == 0 && fsync(fd) < 0)
			r = err_sys(&e, errno, "%s", out);
		close(fd);
		if (r < 0)
			unlink(out);   /* nothing half-made */
	}
	if (r < 0)
		return adm_fail(&e);
	char sz[32];
	size_text(so.dry_run ? st.bytes : st.stream_bytes, sz, sizeof(sz));
	if (so.dry_run)
		printf("%s@%s%s%s: %u image layer%s, %u frozen layer%s, about %s\n", name, snap, so.base ? " from @" : "",
		       so.base ? so.base : "", st.images, st.images == 1 ? "" : "s", st.layers, st.layers == 1 ? "" : "s", sz);
	else if (!quiet && out)
		fprintf(stderr, "iscadm: sent %s@%s to %s: %s\n", name, snap, out, sz);
	return EXIT_OK;
}

/* receive --token NAME | receive -A NAME: a kept receive's token, or dropped */
static int receive_kept(struct adm *a, const char *name, bool drop)
{
	struct pool p;
	int r = adm_pool(a, &p, drop ? POOL_LOCK_EXCLUSIVE : POOL_LOCK_SHARED);
	if (r)
		return r;
	struct isc_err e = { 0 };
	char token[1024];
	r = drop ? isc_receive_abort(&p, name, &e) : isc_receive_token(&p, name, token, sizeof(token), &e);
	pool_close(&p);
	if (r < 0)
		return adm_fail(&e);
	if (!drop)
		printf("%s\n", token);
	return EXIT_OK;
}

/* receive NAME [-s] [--key KEYSOURCE] [-i FILE] [--accept-settings] [--quiet] */
int cmd_receive(struct adm *a)
{
	static const char usage[] = "receive NAME [-s] [--key KEYSOURCE] [-i FILE] [--trust PUBKEY] [--accept-settings] "
				    "[--quiet] | "
				    "receive --token NAME | receive -A NAME";
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' }, { "quiet", no_argument, NULL, 'q' },
		{ "input", required_argument, NULL, 'i' }, { "token", no_argument, NULL, 'T' },
		{ "accept-settings", no_argument, NULL, 'a' }, { "trust", required_argument, NULL, 't' }, { 0 } };
	struct isc_receive_opts ro = { 0 };
	const char *in = NULL;
	bool quiet = false, token = false, drop = false;
	int c;
	while ((c = getopt_long(a->argc, a->argv, "i:sA", opts, NULL)) != -1) {
		switch (c) {
		case 'k': ro.keysource = optarg; break;
		case 'i': in = optarg; break;
		case 'q': quiet = true; break;
		case 's': ro.keep = true; break;
		case 'a': ro.accept_settings = true; break;
		case 't': ro.trust = optarg; break;
		case 'T': token = true; break;
		case 'A': drop = true; break;
		default: return adm_usage("%s", usage);
		}
	}
	if (optind + 1 != a->argc || (token && drop))
		return adm_usage("%s", usage);
	const char *name = a->argv[optind];
	if (token || drop)
		return in || ro.keep || ro.keysource || ro.trust ? adm_usage("%s", usage) : receive_kept(a, name, drop);
	if (!in && isatty(0))
		return adm_usage("receive reads a stream: pipe one in (iscadm send ... | iscadm receive NAME) or use -i FILE");
	char label[96];
	snprintf(label, sizeof(label), "receive %s", name);
	if (!quiet && isatty(2)) {
		ro.progress = progress;
		ro.pdata = label;
	}
	/* a prompt for a passphrase needs the terminal stdin is not */
	ro.interactive = in && isatty(0);
	struct isc_err e = { 0 };
	int fd = 0;
	if (in && (fd = open(in, O_RDONLY | O_CLOEXEC)) < 0) {
		err_sys(&e, errno, "%s", in);
		return adm_fail(&e);
	}
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r) {
		if (in)
			close(fd);
		return r;
	}
	char said[300];
	r = isc_receive(&p, name, &ro, fd, said, sizeof(said), &e);
	char tok[1024];
	struct isc_err te = { 0 };
	bool kept = r < 0 && ro.keep && isc_receive_token(&p, name, tok, sizeof(tok), &te) == 0;
	pool_close(&p);
	if (in)
		close(fd);
	if (r < 0) {
		r = adm_fail(&e);
		if (kept)
			fprintf(stderr, "iscadm: resume with: iscadm send -t %s | iscadm receive -s %s\n", tok, name);
		return r;
	}
	if (!quiet)
		printf("%s\n", said);
	return EXIT_OK;
}
