/* pool_cmd.c - iscadm pool create|status|close|set|check. */
#include "adm.h"
#include "net.h"
#include "cgroup.h"

#include <getopt.h>

static int pool_cmd_create(struct adm *a)
{
	uint64_t size = 0;
	static const struct option opts[] = { { "size", required_argument, NULL, 's' }, { 0 } };
	int c;
	while ((c = getopt_long(a->argc - 1, a->argv + 1, "+", opts, NULL)) != -1) {
		if (c != 's' || parse_size(optarg, &size) < 0)
			return adm_usage("pool create [--size SIZE]");
	}
	if (optind + 1 != a->argc)
		return adm_usage("pool create [--size SIZE]");
	struct isc_err e = { 0 };
	if (pool_create(a->root, size, &e) < 0)
		return adm_fail(&e);
	/* opened once: its keyed directories made, the audit log among them,
	 * which records this command first */
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_SHARED);
	if (r == 0)
		pool_close(&p);
	return r;
}

static int pool_cmd_status(struct adm *a)
{
	struct isc_err e = { 0 };
	struct pool_status st;
	if (pool_status_get(a->root, &st, &e) < 0)
		return adm_fail(&e);
	if (!st.exists) {
		printf("root:     %s\nstate:    no pool (created on first use)\n", a->root);
		return EXIT_OK;
	}
	char sz[32], used[32], avail[32];
	format_size(st.size, sz, sizeof(sz));
	format_size(st.used, used, sizeof(used));
	format_size(st.avail, avail, sizeof(avail));
	printf("root:     %s\n", a->root);
	printf("backing:  %s%s\n", st.loop ? "loop image " : "", st.backing);
	printf("state:    %s\n", st.attached ? "attached" : "detached");
	if (st.device[0])
		printf("device:   %s\n", st.device);
	printf("fs:       ext4 (encrypt)\n");
	if (st.attached) {
		struct pool p;
		unsigned req;
		char text[64];
		if (pool_open(&p, a->root, POOL_LOCK_SHARED, &e) == 0) {
			if (pool_require_get(&p, &req, &e) == 0) {
				isc_require_format(req, text, sizeof(text));
				printf("require:  %s\n", text);
			}
			pool_close(&p);
		}
	}
	printf("size:     %s\n", sz);
	if (st.attached)
		printf("used:     %s\navailable: %s\n", used, avail);
	return EXIT_OK;
}

/* pool set bridge=NAME | range=CIDR | range6=CIDR|none: the network of the pool's bridged
 * ISCs; not while one runs (its address and rules come from them). */
static int pool_net_set(struct adm *a, struct isc_err *e)
{
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	_cleanup_strv_ char **names = NULL;
	if ((r = isc_names(&p, &names, e)) == 0)
		for (size_t i = 0; names[i] && r == 0; i++)
			if (isc_running(names[i]))
				r = err_set(e, EBUSY, "pool %s: ISC %s is running", a->root, names[i]);
	if (r == 0)
		r = net_pool_set(p.dirfd, a->argv[2], e);
	pool_close(&p);
	return r < 0 ? adm_fail(e) : EXIT_OK;
}

/* Nothing of isc runs on this host any more: its tables and this pool's
 * bridge go (ip_forward back as it was). */
static void pool_net_close(struct pool *p)
{
	struct isc_err e = { 0 };
	struct net_pool np;
	_cleanup_free_ struct net_isc *live = NULL;
	size_t n;
	if (net_sync(&e) < 0 || net_records_live(&live, &n, NULL, NULL, &e) < 0 || n) {
		if (e.code)
			adm_fail(&e);
		return;
	}
	/* the bridge (if it is there) and forwarding as it was (even if not) */
	if (net_pool_load(p->dirfd, &np, &e) < 0 || net_tables_remove(&e) < 0 ||
	    net_bridge_remove(np.bridge, &e) < 0)
		adm_fail(&e);
}

/* pool set require=LIST: defence layers every ISC of the pool must have. */
static int pool_cmd_set(struct adm *a)
{
	unsigned req;
	struct isc_err e = { 0 };
	if (a->argc == 3 && (str_has_prefix(a->argv[2], "bridge=") || str_has_prefix(a->argv[2], "range=") ||
			     str_has_prefix(a->argv[2], "range6=")))
		return pool_net_set(a, &e);
	if (a->argc != 3 || !str_has_prefix(a->argv[2], "require="))
		return adm_usage("pool set require=LIST | bridge=NAME | range=CIDR | range6=CIDR|none");
	if (isc_require_parse(a->argv[2] + 8, &req) < 0) {
		err_set(&e, EINVAL, "require '%s': expected none, or mdwe and landlock comma-separated",
			a->argv[2] + 8);
		return adm_fail(&e);
	}
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	r = pool_require_set(&p, req, &e);
	pool_close(&p);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}

static int pool_cmd_close(struct adm *a)
{
	struct isc_err e = { 0 };
	struct pool p;
	/* cgroups outlive a supervisor killed without its teardown: those of
	 * every ISC not running go (of any pool: the names are global) */
	_cleanup_strv_ char **groups = NULL;
	if (cgroup_names(&groups) == 0)
		for (size_t i = 0; groups[i]; i++)
			if (name_valid(groups[i]) && isc_clean_stale(groups[i]))
				fprintf(stderr, "iscadm: removed the cgroups of ISC %s, whose supervisor had died\n",
					groups[i]);
	cgroup_remove_parent();
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	_cleanup_strv_ char **names = NULL;
	if (isc_names(&p, &names, &e) < 0) {
		pool_close(&p);
		return adm_fail(&e);
	}
	for (size_t i = 0; names[i]; i++)
		if (isc_running(names[i])) {
			pool_close(&p);
			err_set(&e, EBUSY, "pool %s: ISC %s is running", a->root, names[i]);
			return adm_fail(&e);
		}
	pool_net_close(&p);
	adm_audit(a, EXIT_OK);   /* while the log is there */
	pool_close(&p);
	if (pool_detach(a->root, &e) < 0)
		return adm_fail(&e);
	return EXIT_OK;
}

static void check_line(const char *what, void *data)
{
	/* names in it are ISCs' and files' of the pool: shown escaped */
	char safe[1024];
	str_escape_ctl(safe, sizeof(safe), what, strlen(what), 0);
	printf("%s: %s\n", *(bool *)data ? "repaired" : "found", safe);
}

/* pool check [--repair]: exit 0 nothing found (or all repaired), 1 found. */
static int pool_cmd_check(struct adm *a)
{
	bool repair = a->argc == 3;
	if (a->argc > 3 || (repair && !STREQ(a->argv[2], "--repair")))
		return adm_usage("pool check [--repair]");
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	struct isc_err e = { 0 };
	r = isc_pool_check(&p, repair, check_line, &repair, &e);
	pool_close(&p);
	if (r < 0)
		return adm_fail(&e);
	if (r == 0)
		printf("pool %s: nothing left by an interrupted operation\n", a->root);
	else if (!repair)
		fprintf(stderr, "iscadm: %d found: iscadm pool check --repair\n", r);
	return r > 0 && !repair ? EXIT_FAIL : EXIT_OK;
}

int cmd_pool(struct adm *a)
{
	if (a->argc < 2)
		return adm_usage("pool create|status|close|set|check");
	if (STREQ(a->argv[1], "create"))
		return pool_cmd_create(a);
	if (STREQ(a->argv[1], "status") && a->argc == 2)
		return pool_cmd_status(a);
	if (STREQ(a->argv[1], "close") && a->argc == 2)
		return pool_cmd_close(a);
	if (STREQ(a->argv[1], "set"))
		return pool_cmd_set(a);
	if (STREQ(a->argv[1], "check"))
		return pool_cmd_check(a);
	return adm_usage("pool create|status|close|set|check");
}
