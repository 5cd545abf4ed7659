/* nft.c - isc's tables through libnftables: rebuild from the live records (one transaction), counters, removal; iscd and iscadm. */
#include "net.h"
#include "runstate.h"

#include <fcntl.h>
#include <nftables/libnftables.h>
#include <sys/file.h>

/* libnftables, loaded at the first nft script (an ISC without a network
 * never needs it): pointers of the header's own types. */
static struct {
	typeof(&nft_ctx_new) ctx_new;
	typeof(&nft_ctx_free) ctx_free;
	typeof(&nft_ctx_buffer_output) buffer_output;
	typeof(&nft_ctx_buffer_error) buffer_error;
	typeof(&nft_run_cmd_from_buffer) run_cmd_from_buffer;
	typeof(&nft_ctx_get_error_buffer) get_error_buffer;
	typeof(&nft_ctx_get_output_buffer) get_output_buffer;
} nft;

static int nft_load(struct isc_err *e)
{
	static const char soname[] = "libnftables.so.1";
	if (nft.ctx_new)
		return 0;
	void *h = lib_open(soname, "libnftables1", e);
	if (!h)
		return -e->code;
	const struct lib_sym syms[] = {
		LIB_SYM(nft.ctx_new, nft_ctx_new), LIB_SYM(nft.ctx_free, nft_ctx_free),
		LIB_SYM(nft.buffer_output, nft_ctx_buffer_output),
		LIB_SYM(nft.buffer_error, nft_ctx_buffer_error),
		LIB_SYM(nft.run_cmd_from_buffer, nft_run_cmd_from_buffer),
		LIB_SYM(nft.get_error_buffer, nft_ctx_get_error_buffer),
		LIB_SYM(nft.get_output_buffer, nft_ctx_get_output_buffer),
	};
	int r = lib_syms(h, soname, syms, ARRAY_SIZE(syms), e);
	if (r < 0)
		nft.ctx_new = NULL;   /* the library stays loaded: harmless */
	return r;
}

/* Run one nft script (one transaction); its listing in *out if wanted. */
static int nft_script(const char *script, char **out, struct isc_err *e)
{
	int r = nft_load(e);
	if (r < 0)
		return r;
	struct nft_ctx *ctx = nft.ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return err_set(e, ENOMEM, "nftables context");
	nft.buffer_output(ctx);
	nft.buffer_error(ctx);
	if (nft.run_cmd_from_buffer(ctx, script) != 0) {
		const char *why = nft.get_error_buffer(ctx);
		size_t n = why ? strcspn(why, "\n") : 0;
		r = err_set(e, EIO, "nftables: %.*s", (int)(n > 300 ? 300 : n), why ? why : "failed");
	} else if (out) {
		const char *o = nft.get_output_buffer(ctx);
		if (!(*out = strdup(o ? o : "")))
			r = err_set(e, ENOMEM, "nftables output");
	}
	nft.ctx_free(ctx);
	return r;
}

/* Host-wide: every rebuild reads the records and writes the tables whole. */
static int net_lock(struct isc_err *e)
{
	mkdir(ISC_RUN_DIR, 0711);
	int fd = open(ISC_RUN_DIR "/net.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(e, errno, "open %s/net.lock", ISC_RUN_DIR);
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return err_sys(e, errno, "lock %s/net.lock", ISC_RUN_DIR);
	}
	return fd;
}

#define COUNTERS_MAX 4096

int net_sync(struct isc_err *e)
{
	_cleanup_close_ int lock = net_lock(e);
	if (lock < 0)
		return lock;
	_cleanup_free_ struct net_isc *live = NULL, *dead = NULL;
	_cleanup_free_ struct net_counter *keep = NULL;
	_cleanup_free_ char *listing = NULL, *script = NULL;
	size_t nlive, ndead, nkeep = 0;
	int r = net_records_live(&live, &nlive, &dead, &ndead, e);
	if (r < 0)
		return r;
	/* a supervisor killed without its teardown: its veth (gone with its
	 * namespace, unless something holds that) and record go */
	for (size_t i = 0; i < ndead; i++) {
		net_link_remove(dead[i].veth);
		net_record_remove(dead[i].name);
	}
	/* counters survive the rebuild: read now, written back in the script */
	keep = calloc(COUNTERS_MAX, sizeof(*keep));
	if (!keep)
		return err_set(e, ENOMEM, "counters");
	if (nft_script("list counters", &listing, e) == 0)
		nkeep = net_counters_parse(listing, keep, COUNTERS_MAX);
	err_clear(e);
	if (!(script = net_rules_text(live, nlive, keep, nkeep, e)))
		return -e->code;
	return nft_script(script, NULL, e);
}

int net_tables_remove(struct isc_err *e)
{
	_cleanup_close_ int lock = net_lock(e);
	if (lock < 0)
		return lock;
	return nft_script("table inet isc {}\ndelete table inet isc\ntable bridge isc {}\n"
			  "delete table bridge isc\n", NULL, e);
}

int net_stats_read(const char *name, struct net_stats *s, struct isc_err *e)
{
	_cleanup_free_ char *listing = NULL;
	_cleanup_free_ struct net_counter *c = calloc(COUNTERS_MAX, sizeof(*c));
	memset(s, 0, sizeof(*s));
	if (!c)
		return err_set(e, ENOMEM, "counters");
	int r = nft_script("list counters", &listing, e);
	if (r < 0)
		return r;
	size_t n = net_counters_parse(listing, c, COUNTERS_MAX);
	char acc[80], drop_inet[80], drop_br[80];
	snprintf(acc, sizeof(acc), "inet a_%s", name);
	snprintf(drop_inet, sizeof(drop_inet), "inet x_%s", name);
	snprintf(drop_br, sizeof(drop_br), "bridge x_%s", name);
	for (size_t i = 0; i < n; i++) {
		if (STREQ(c[i].name, acc)) {
			s->acc_packets += c[i].packets;
			s->acc_bytes += c[i].bytes;
		} else if (STREQ(c[i].name, drop_inet) || STREQ(c[i].name, drop_br)) {
			s->drop_packets += c[i].packets;
			s->drop_bytes += c[i].bytes;
		}
	}
	return 0;
}

/* One /proc/net table: a socket on port in state st (0: any state). */
static bool proc_port(const char *file, uint16_t port, unsigned st)
{
	_cleanup_fclose_ FILE *f = fopen(file, "re");
	char line[512];
	if (!f)
		return false;
	/* bounded: a host with more sockets than this is checked in part */
	for (int i = 0; i < 200000 && fgets(line, sizeof(line), f); i++) {
		unsigned lport, state;
		char local[64];
		if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %*s %x", local, &lport, &state) != 3)
			continue;
		if (lport == port && (!st || state == st))
			return true;
	}
	return false;
}

bool net_port_busy(enum net_proto p, uint16_t port)
{
	/* TCP_LISTEN is 0x0A; a bound UDP socket in any state holds the port */
	if (p == NET_TCP)
		return proc_port("/proc/net/tcp", port, 0x0A) || proc_port("/proc/net/tcp6", port, 0x0A);
	return proc_port("/proc/net/udp", port, 0) || proc_port("/proc/net/udp6", port, 0);
}
