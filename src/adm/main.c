/* main.c - iscadm: global options and the command table. */
#include "adm.h"

#include "audit.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>

static const struct {
	const char *name;
	int (*fn)(struct adm *);
} commands[] = {
	{ "pool", cmd_pool }, { "image", cmd_image }, { "create", cmd_create },
	{ "get", cmd_get }, { "set", cmd_set }, { "destroy", cmd_destroy },
	{ "list", cmd_list }, { "boot", cmd_boot }, { "halt", cmd_halt },
	{ "reboot", cmd_reboot }, { "console", cmd_console }, { "notes", cmd_notes },
	{ "login", cmd_login }, { "run", cmd_run }, { "key", cmd_key }, { "stats", cmd_stats },
	{ "history", cmd_history }, { "host", cmd_host }, { "revert", cmd_revert },
	{ "freeze", cmd_freeze }, { "thaw", cmd_thaw }, { "verify", cmd_verify },
	{ "diff", cmd_diff }, { "expose", cmd_expose }, { "unexpose", cmd_unexpose },
	{ "net", cmd_net }, { "snapshot", cmd_snapshot }, { "rollback", cmd_rollback },
	{ "clone", cmd_clone }, { "promote", cmd_promote }, { "reset", cmd_reset },
	{ "audit", cmd_audit }, { "release", cmd_release }, { "metrics", cmd_metrics },
	{ "update", cmd_update }, { "send", cmd_send }, { "receive", cmd_receive },
};

static const char help[] =
	"usage: iscadm [--root DIR] COMMAND ...\n"
	"\n"
	"  pool create [--size SIZE] | pool status | pool close | pool check [--repair]\n"
	"  pool set require=LIST | pool set bridge=NAME | pool set range=CIDR\n"
	"  pool set range6=CIDR|none\n"
	"  host check [-p | --json]\n"
	"  image build NAME --from busybox|dir:PATH|tar:FILE|debootstrap:SUITE[:pkg,...]\n"
	"  image list [-p | --json] | image rm NAME | image verify NAME [-k PUBKEY]\n"
	"  image sign NAME -s SECKEY [-t COMMENT]\n"
	"  create ISC --image NAME [--profile P] [--key KEYSOURCE | --encryption-root ISC]\n"
	"             [--set key=value]...\n"
	"  get ISC [PROP] | set ISC PROP=VALUE | destroy [-f] ISC | destroy ISC@SNAPSHOT\n"
	"  list [-p | --json]\n"
	"  boot ISC | boot -w ISC | boot -W ISC [-- CMD...] | halt ISC | reboot [-w] ISC\n"
	"  boot -a | halt -a   (every ISC with autoboot=true | every running one)\n"
	"  freeze ISC | thaw ISC | release ISC\n"
	"  console ISC [--raw] | notes ISC\n"
	"  audit [ISC] [--since TIME] [-p | --json] | audit --verify [--head HASH] | audit --head\n"
	"  metrics [--listen unix:PATH|127.0.0.1:PORT]\n"
	"  history [-p | --json] ISC | history ISC --prune KEEP | revert ISC [VERSION]\n"
	"  update ISC --image NEW [--health CMD] [--within SECONDS]\n"
	"  login [-T] [--force] ISC [-- CMD...] | stats ISC\n"
	"  verify [-p | --json] ISC | diff [-p | --json] ISC [@SNAP]\n"
	"  snapshot ISC@SNAPSHOT [--known-good] | snapshot -l [-p | --json] [ISC]\n"
	"  rollback [-r] ISC@SNAPSHOT | reset ISC | clone ISC@SNAPSHOT NEWISC | promote ISC\n"
	"  send ISC@SNAPSHOT [-i @BASE] [--raw] [-o FILE] [--dry-run] [--quiet] | send -t TOKEN\n"
	"  receive NAME [-s] [--key KEYSOURCE] [-i FILE] [--trust PUBKEY] [--accept-settings] [--quiet]\n"
	"  receive --token NAME | receive -A NAME\n"
	"  run --rm --image NAME [--profile P] [--set key=value]... -- CMD...\n"
	"  key load ISC | key unload ISC | key unload -a | key status [-p | --json | ISC]\n"
	"  key change ISC --key KEYSOURCE\n"
	"  expose ISC tcp|udp:HOSTPORT:PORT [--from CIDR] | unexpose ISC tcp|udp:HOSTPORT:PORT\n"
	"  net status [ISC] [-p | --json] | net cut ISC | net restore ISC | net sync\n"
	"\n"
	"profiles: strict, fixed-configuration (default), flexible-configuration, none\n"
	"properties (get ISC shows them all; set ISC PROP=VALUE changes one):\n";

static const char help_tail[] =
	"keysource: raw|hex|passphrase , file:///PATH|prompt  (default: a generated raw key\n"
	"           file in /etc/isc/keys, or $ISC_KEYDIR)\n"
	"The root (default /var/lib/isc) may also be set with ISC_ROOT.\n"
	"Exit status: 0 done, 1 failed, 2 usage error.  See iscadm(8).\n";

/* The property lines come from the configuration's own table. */
static void help_print(FILE *f)
{
	fputs(help, f);
	config_help(f);
	fputs(help_tail, f);
}

int adm_fail(const struct isc_err *e)
{
	/* a reason can quote what an ISC chose (a file name in mkfs.erofs's
	 * output, a supervisor's answer): one line, nothing a terminal acts on */
	char msg[4 * sizeof(e->msg) + 1];
	str_escape_ctl(msg, sizeof(msg), e->msg, strnlen(e->msg, sizeof(e->msg)), 0);
	fprintf(stderr, "iscadm: %s\n", msg);
	return EXIT_FAIL;
}

int adm_usage(const char *fmt, ...)
{
	va_list ap;
	fputs("iscadm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see iscadm --help)\n", stderr);
	return EXIT_USAGE;
}

int adm_pool(struct adm *a, struct pool *p, enum pool_lock lock)
{
	struct isc_err e = { 0 };
	if (pool_open(p, a->root, lock, &e) < 0)
		return adm_fail(&e);
	return 0;
}

int adm_isc_open(struct adm *a, const char *name, enum pool_lock lock, struct adm_isc *o)
{
	struct isc_err e = { 0 };
	int r = adm_pool(a, &o->pool, lock);
	if (r)
		return r;
	if (isc_config_load(&o->pool, name, &o->cfg, &e) < 0) {
		pool_close(&o->pool);
		return adm_fail(&e);
	}
	return 0;
}

void adm_isc_close(struct adm_isc *o)
{
	config_free(&o->cfg);
	pool_close(&o->pool);
}

int adm_config(struct adm *a, const char *name, struct isc_config *c)
{
	struct adm_isc o;
	int r = adm_isc_open(a, name, POOL_LOCK_SHARED, &o);
	if (r)
		return r;
	pool_close(&o.pool);
	*c = o.cfg;
	return 0;
}

int adm_isc_exists(struct adm *a, const char *name)
{
	struct isc_config c;
	int r = adm_config(a, name, &c);
	if (r == 0)
		config_free(&c);
	return r;
}

int adm_isc_names(struct pool *p, const char *only, char ***names)
{
	struct isc_err e = { 0 };
	*names = NULL;
	if (isc_names(p, names, &e) < 0)
		return adm_fail(&e);
	if (!only)
		return 0;
	size_t k = 0;
	for (size_t i = 0; (*names)[i]; i++) {
		if (STREQ((*names)[i], only) && k == 0)
			(*names)[k++] = (*names)[i];
		else
			free((*names)[i]);
	}
	(*names)[k] = NULL;
	if (k)
		return 0;
	strv_free(*names);
	*names = NULL;
	err_set(&e, ENOENT, "no ISC named %s", only);
	return adm_fail(&e);
}

/* What only reads (listings, logs, checks that change nothing) is not an
 * administrative act: the audit log records the rest. */
static bool command_reads_only(int argc, char **argv)
{
	static const char *const reads[] = { "list", "get", "console", "notes", "stats", "diff",
					     "host", "audit", "metrics" };
	static const char *const sub_reads[][2] = { { "pool", "status" }, { "image", "list" },
						    { "key", "status" }, { "net", "status" },
						    { "snapshot", "-l" } };
	for (size_t i = 0; i < ARRAY_SIZE(reads); i++)
		if (STREQ(argv[0], reads[i]))
			return true;
	for (size_t i = 0; argc > 1 && i < ARRAY_SIZE(sub_reads); i++)
		if (STREQ(argv[0], sub_reads[i][0]) && STREQ(argv[1], sub_reads[i][1]))
			return true;
	if (STREQ(argv[0], "history")) {
		for (int i = 1; i < argc; i++)
			if (STREQ(argv[i], "--prune"))
				return false;
		return true;
	}
	return false;
}

/* The ISC a command concerns: its first operand that names one in the pool
 * (ISC@SNAPSHOT included; destroy's, which is gone, its first), none
 * after "--". */
static const char *command_isc(int pooldirfd, int argc, char **argv)
{
	static char name[NAME_MAX + 1];
	for (int i = 1; i < argc && !STREQ(argv[i], "--"); i++) {
		if (argv[i][0] == '-')
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(argv[i], "@"), argv[i]);
		if (!name_valid(name))
			continue;
		char path[NAME_MAX + 8];
		snprintf(path, sizeof(path), "isc/%s", name);
		if (STREQ(argv[0], "destroy") || faccessat(pooldirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return name;
	}
	return NULL;
}

/* ev in the pool's audit log (ev->isc NULL: the command's ISC, if any). */
static void audit_write(struct adm *a, struct audit_event *ev)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/pool", a->root);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;   /* no pool: nothing was done in one */
	if (!ev->isc)
		ev->isc = command_isc(fd, a->argc, a->argv);
	struct isc_err e = { 0 };
	/* no pool attached or its key gone: nothing to record in */
	if (audit_append(fd, ev, &e) < 0 && e.code != ENOENT && e.code != ENOKEY)
		fprintf(stderr, "iscadm: warning: not in the audit log: %s\n", e.msg);
}

void adm_audit(struct adm *a, int rc)
{
	if (a->audited || rc == EXIT_USAGE || command_reads_only(a->argc, a->argv))
		return;
	a->audited = true;
	struct audit_event ev = { .source = "iscadm", .event = "command", .args = a->argv, .result = rc };
	audit_write(a, &ev);
}

void adm_audit_note(struct adm *a, const char *isc, const char *event, const char *msg)
{
	struct audit_event ev = { .source = "iscadm", .isc = isc, .event = event, .msg = msg, .result = -1 };
	audit_write(a, &ev);
}

int main(int argc, char **argv)
{
	isc_stale_hook = adm_net_stale;
	struct adm a = { 0 };
	const char *root = NULL;
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'h': help_print(stdout); return EXIT_OK;
		case 'V': puts("iscadm " ISC_VERSION); return EXIT_OK;
		default: help_print(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		help_print(stderr);
		return EXIT_USAGE;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "iscadm: must be run as root\n");
		return EXIT_FAIL;
	}
	a.root = pool_root_default(root);
	a.argc = argc - optind;
	a.argv = argv + optind;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (STREQ(a.argv[0], commands[i].name)) {
			optind = 0;   /* each command parses its own options */
			opterr = 0;   /* and says its usage in one line */
			int rc = commands[i].fn(&a);
			adm_audit(&a, rc);
			return rc;
		}
	return adm_usage("unknown command '%s'", a.argv[0]);
}
