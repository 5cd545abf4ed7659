/* version_cmd.c - iscadm history|revert|update: an ISC's image versions, made by maintenance
 * sessions and updates; an update that fails its health check goes back by itself.  iscadm. */
#include "adm.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* history: one line a version, oldest first, "DIGEST TIME HOW CHANGE
 * [current]" (documented and scripted on, so no header); -p and --json. */
int cmd_history(struct adm *a)
{
	static const char usage[] = "history [-p | --json] ISC | history ISC --prune KEEP";
	static const struct option opts[] = { { "prune", required_argument, NULL, 'P' },
					      { "json", no_argument, NULL, 'j' }, { 0 } };
	static const struct table_col cols[] = {
		{ "DIGEST", "digest", 64 }, { "MADE", "made", 20 }, { "HOW", "how", 6 },
		{ "CHANGE", "change", 0 }, { "CURRENT", "current", 0 },
	};
	enum table_fmt fmt = TABLE_TEXT;
	long keep = -1;
	int c;
	while ((c = getopt_long(a->argc, a->argv, "p", opts, NULL)) != -1) {
		char *end;
		if (c == 'p' || c == 'j') {
			fmt = c == 'p' ? TABLE_PARSABLE : TABLE_JSON;
			continue;
		}
		if (c != 'P')
			return adm_usage("%s", usage);
		keep = strtol(optarg, &end, 10);
		if (*end || end == optarg || keep < 1 || keep > ISC_MAX_VERSIONS)
			return adm_usage("--prune KEEP: a number from 1 to %d", ISC_MAX_VERSIONS);
	}
	if (optind + 1 != a->argc || (keep > 0 && fmt != TABLE_TEXT))
		return adm_usage("%s", usage);
	struct adm_isc o;
	int r = adm_isc_open(a, a->argv[optind], keep > 0 ? POOL_LOCK_EXCLUSIVE : POOL_LOCK_SHARED, &o);
	if (r)
		return r;
	struct isc_err e = { 0 };
	const struct isc_config *cfg = &o.cfg;
	isc_versions(&o.cfg);
	if (keep > 0) {
		r = isc_prune(&o.pool, &o.cfg, (size_t)keep, &e);
		adm_isc_close(&o);
		return r < 0 ? adm_fail(&e) : EXIT_OK;
	}
	struct table t;
	if (fmt != TABLE_TEXT)
		table_begin(&t, fmt, cols, ARRAY_SIZE(cols));
	for (size_t i = 0; i < cfg->nversions; i++) {
		const struct isc_version *v = &cfg->versions[i];
		char when[32], change[24];
		struct tm tm;
		time_t tt = (time_t)v->made;
		bool cur = STREQ(v->digest, cfg->digest);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
		snprintf(change, sizeof(change), "%" PRIu64, v->change);
		const char *vals[] = { v->digest, when, v->how, change, cur ? "yes" : "no" };
		if (fmt != TABLE_TEXT)
			table_row(&t, vals);
		else
			printf("%s %s %s %s%s\n", v->digest, when, v->how, change, cur ? " current" : "");
	}
	if (fmt != TABLE_TEXT)
		table_end(&t);
	adm_isc_close(&o);
	return EXIT_OK;
}

int cmd_revert(struct adm *a)
{
	if (a->argc != 2 && a->argc != 3)
		return adm_usage("revert ISC [VERSION]");
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct isc_version now;
	r = isc_revert(&p, a->argv[1], a->argc == 3 ? a->argv[2] : NULL, &now, &e);
	pool_close(&p);
	if (r < 0)
		return adm_fail(&e);
	printf("%s: now on version %.12s (%s)\n", a->argv[1], now.digest, now.how);
	return EXIT_OK;
}

/* ---- update ------------------------------------------------------------------ */

/* On the terminal and in the audit log, as one line. */
static void __attribute__((format(printf, 3, 4))) update_say(struct adm *a, const char *name, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("%s: %s\n", name, msg);
	fflush(stdout);
	adm_audit_note(a, name, "update", msg);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The health command, run inside as iscadm login would (its stdio /dev/null),
 * again each second until it exits 0 or the deadline passes: it passed? */
static bool health_passes(struct adm *a, const char *name, const char *cmd, int64_t deadline)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = '\0';
	while (now_ms() < deadline) {
		pid_t pid = fork();
		if (pid < 0)
			return false;
		if (pid == 0) {
			int null = open("/dev/null", O_RDWR | O_CLOEXEC);
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			sig_reset_for_exec();
			execl(self, "iscadm", "--root", a->root, "login", name, "--", "/bin/sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		int st = 0;
		pid_t w;
		while ((w = waitpid(pid, &st, WNOHANG)) == 0 && now_ms() < deadline)
			usleep(50 * 1000);
		if (w != pid) {   /* out of time: the attempt ends, its session with it */
			kill(pid, SIGTERM);
			waitpid(pid, &st, 0);
			return false;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			return true;
		for (int i = 0; i < 20 && now_ms() < deadline; i++)
			usleep(50 * 1000);
	}
	return false;
}

static int update_version(struct adm *a, const char *name, const char *image, char prev[65], char now[65])
{
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return -1;
	struct isc_err e = { 0 };
	r = image ? isc_update(&p, name, image, prev, now, &e) : isc_revert(&p, name, prev, NULL, &e);
	pool_close(&p);
	if (r < 0)
		adm_fail(&e);
	return r;
}

/* update ISC --image NEW [--health CMD] [--within SECONDS]: boot it on the
 * new image; back on the version it was on when the boot or the health
 * check fails in time.  Exit 0 updated, 1 not (back where it was). */
int cmd_update(struct adm *a)
{
	static const char usage[] = "update ISC --image NEW [--health CMD] [--within SECONDS]";
	static const struct option opts[] = { { "image", required_argument, NULL, 'i' },
		{ "health", required_argument, NULL, 'h' }, { "within", required_argument, NULL, 'w' }, { 0 } };
	const char *image = NULL, *health = NULL;
	long within = 60;
	int c;
	while ((c = getopt_long(a->argc, a->argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'i': image = optarg; break;
		case 'h': health = optarg; break;
		case 'w':
			within = strtol(optarg, &end, 10);
			if (*end || end == optarg || within < 1 || within > 3600)
				return adm_usage("--within SECONDS: from 1 to 3600");
			break;
		default: return adm_usage("%s", usage);
		}
	}
	if (!image || optind + 1 != a->argc)
		return adm_usage("%s", usage);
	const char *name = a->argv[optind];
	int r = adm_isc_exists(a, name);
	if (r)
		return r;
	struct isc_err e = { 0 };
	char prev[65] = "", now[65] = "";
	struct isc_boot b = { .mode = BOOT_READONLY, .interactive = true };
	/* the image first: nothing is stopped for an update that cannot be made */
	struct adm_isc o;
	struct image_info info;
	if ((r = adm_isc_open(a, name, POOL_LOCK_SHARED, &o)))
		return r;
	r = image_lookup(&o.pool, image, &info, &e);
	bool same = r == 0 && STREQ(o.cfg.digest, info.digest);
	adm_isc_close(&o);
	if (r < 0)
		return adm_fail(&e);
	if (same) {
		printf("%s: on image %s (%.12s) already\n", name, image, info.digest);
		return EXIT_OK;
	}
	bool was_running = isc_running(name);
	if (was_running && isc_halt(name, &e) < 0)
		return adm_fail(&e);
	if ((r = update_version(a, name, image, prev, now)) != 0) {
		/* refused (a signature required, no room), or put on that image
		 * meanwhile by another command: it runs as it did */
		if (was_running && isc_boot(a->root, name, &b, &e) < 0)
			return adm_fail(&e);
		if (r == 1)
			printf("%s: on image %s (%.12s) already\n", name, image, now);
		return r == 1 ? EXIT_OK : EXIT_FAIL;
	}
	update_say(a, name, "updating from %.12s to %.12s (image %s)", prev, now, image);
	int64_t deadline = now_ms() + within * 1000;
	const char *why = NULL;
	char reason[sizeof(e.msg) + 32];
	if (isc_boot(a->root, name, &b, &e) < 0) {
		snprintf(reason, sizeof(reason), "the boot failed: %s", e.msg);
		why = reason;
	} else if (health && !health_passes(a, name, health, deadline)) {
		snprintf(reason, sizeof(reason), "the health check did not pass within %ld s", within);
		why = reason;
	}
	if (!why) {
		update_say(a, name, "updated to %.12s%s", now, health ? ", the health check passed" : "");
		return EXIT_OK;
	}
	update_say(a, name, "%s: going back to %.12s", why, prev);
	err_clear(&e);
	if (isc_running(name) && isc_halt(name, &e) < 0)
		return adm_fail(&e);
	if (update_version(a, name, NULL, prev, now) < 0)
		return EXIT_FAIL;
	if (isc_boot(a->root, name, &b, &e) < 0) {
		update_say(a, name, "back on %.12s, but it does not boot: %s", prev, e.msg);
		return EXIT_FAIL;
	}
	update_say(a, name, "back on %.12s, running", prev);
	return EXIT_FAIL;
}
