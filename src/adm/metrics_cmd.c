/* metrics_cmd.c - iscadm metrics [--listen unix:PATH|127.0.0.1:PORT]: the
 * pool's ISCs in the Prometheus text exposition format, printed or served
 * over HTTP, each scrape read afresh.  iscadm. */
#include "adm.h"
#include "audit.h"
#include "cgroup.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

struct metrics {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void __attribute__((format(printf, 2, 3))) put(struct metrics *m, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int k = vsnprintf(m->buf ? m->buf + m->len : NULL, m->buf ? m->cap - m->len : 0, fmt, ap);
		va_end(ap);
		if (k < 0) {
			m->failed = true;
			return;
		}
		if (m->buf && m->len + (size_t)k < m->cap) {
			m->len += (size_t)k;
			return;
		}
		size_t cap = m->cap ? m->cap * 2 : 8192;
		while (cap <= m->len + (size_t)k)
			cap *= 2;
		char *b = realloc(m->buf, cap);
		if (!b) {
			m->failed = true;
			return;
		}
		m->buf = b;
		m->cap = cap;
	}
}

/* One metric family: its HELP and TYPE, then a line per ISC. */
struct family {
	const char *name, *type, *help;
};
static const struct family fams[] = {
	{ "isc_up", "gauge", "Whether the ISC runs (1) or not (0)." },
	{ "isc_state", "gauge", "The ISC's state: 1 for the one it is in." },
	{ "isc_boot_mode_info", "gauge", "How a running ISC booted: R read-only, W writable, T transient." },
	{ "isc_uptime_seconds", "gauge", "Seconds since the running ISC's boot." },
	{ "isc_restarts_total", "counter", "Reboots of the ISC by its current supervisor." },
	{ "isc_cpu_seconds_total", "counter", "CPU time of the ISC's processes." },
	{ "isc_memory_bytes", "gauge", "Memory charged to the ISC's cgroup." },
	{ "isc_memory_limit_bytes", "gauge", "The ISC's memory limit (no swap)." },
	{ "isc_pids", "gauge", "Tasks in the ISC's cgroup." },
	{ "isc_pids_limit", "gauge", "The ISC's task limit." },
	{ "isc_oom_kills_total", "counter", "Processes the OOM killer took at the ISC's memory limit." },
	{ "isc_pids_refused_total", "counter", "Forks refused at the ISC's task limit." },
	{ "isc_supervisor_resident_bytes", "gauge", "Resident memory of the ISC's supervisor (iscd)." },
	{ "isc_seccomp_denials_total", "counter", "System calls the filter denied since the supervisor started." },
	{ "isc_verify_last_timestamp_seconds", "gauge", "When the monitor last verified the running ISC (0: not yet)." },
	{ "isc_verify_last_findings", "gauge", "What that verify found: findings, or -1 when it could not run." },
	{ "isc_quarantines_total", "counter", "Quarantines since the supervisor started." },
	{ "isc_pressure_stall_seconds_total", "counter",
	  "Time some (or all) of the ISC's tasks stalled on a resource (PSI, cgroup v2 only)." },
	{ "isc_pressure_events_total", "counter", "Times the ISC's pressure went over pressure-threshold." },
};
enum { F_UP, F_STATE, F_MODE, F_UPTIME, F_RESTARTS, F_CPU, F_MEM, F_MEMMAX, F_PIDS, F_PIDSMAX, F_OOM,
       F_PIDSREF, F_SUPRSS, F_DENIALS, F_VERIFIED, F_FINDINGS, F_QUAR, F_PSI, F_PSIEV, F_COUNT };

struct sample {
	const char *isc;
	bool running;
	struct run_state st;
	bool have_cg;
	struct cgroup_stats cg;
	uint64_t supervisor_rss;     /* bytes, 0: unknown */
};

/* VmRSS of a process, in bytes (0 when it cannot be read). */
static uint64_t rss_of(pid_t pid)
{
	char path[64], line[128];
	unsigned long long kb = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	return (uint64_t)kb * 1024;
}

static void family_lines(struct metrics *m, size_t f, const struct sample *s, size_t n)
{
	static const char *const states[] = { "installed", "running", "frozen", "quarantined" };
	static const char *const modes[] = { "R", "W", "T" };
	put(m, "# HELP %s %s\n# TYPE %s %s\n", fams[f].name, fams[f].help, fams[f].name, fams[f].type);
	for (size_t i = 0; i < n; i++) {
		const char *isc = s[i].isc;
		const struct run_state *st = &s[i].st;
		bool on = s[i].running;
		const char *state = !on ? states[0] : st->quarantined ? states[3] : st->frozen ? states[2] : states[1];
		switch (f) {
		case F_UP: put(m, "isc_up{isc=\"%s\"} %d\n", isc, on); break;
		case F_STATE:
			for (size_t k = 0; k < ARRAY_SIZE(states); k++)
				put(m, "isc_state{isc=\"%s\",state=\"%s\"} %d\n", isc, states[k], STREQ(state, states[k]));
			break;
		case F_MODE:
			if (on && (unsigned)st->mode < ARRAY_SIZE(modes))
				put(m, "isc_boot_mode_info{isc=\"%s\",mode=\"%s\"} 1\n", isc, modes[st->mode]);
			break;
		case F_UPTIME:
			if (on && st->booted_at > 0)
				put(m, "isc_uptime_seconds{isc=\"%s\"} %lld\n", isc, (long long)(time(NULL) - st->booted_at));
			break;
		case F_RESTARTS:
			if (on)
				put(m, "isc_restarts_total{isc=\"%s\"} %" PRIu64 "\n", isc, st->boots ? st->boots - 1 : 0);
			break;
		case F_CPU:
			if (s[i].have_cg)
				put(m, "isc_cpu_seconds_total{isc=\"%s\"} %" PRIu64 ".%06" PRIu64 "\n", isc,
				    s[i].cg.cpu_usec / 1000000, s[i].cg.cpu_usec % 1000000);
			break;
		case F_MEM:
			if (s[i].have_cg)
				put(m, "isc_memory_bytes{isc=\"%s\"} %" PRIu64 "\n", isc, s[i].cg.memory);
			break;
		case F_MEMMAX:
			if (s[i].have_cg && s[i].cg.memory_max != UINT64_MAX)
				put(m, "isc_memory_limit_bytes{isc=\"%s\"} %" PRIu64 "\n", isc, s[i].cg.memory_max);
			break;
		case F_PIDS:
			if (s[i].have_cg)
				put(m, "isc_pids{isc=\"%s\"} %" PRIu64 "\n", isc, s[i].cg.pids);
			break;
		case F_PIDSMAX:
			if (s[i].have_cg && s[i].cg.pids_max != UINT64_MAX)
				put(m, "isc_pids_limit{isc=\"%s\"} %" PRIu64 "\n", isc, s[i].cg.pids_max);
			break;
		case F_OOM:
			if (s[i].have_cg)
				put(m, "isc_oom_kills_total{isc=\"%s\"} %" PRIu64 "\n", isc, s[i].cg.oom_kills);
			break;
		case F_PIDSREF:
			if (s[i].have_cg)
				put(m, "isc_pids_refused_total{isc=\"%s\"} %" PRIu64 "\n", isc, s[i].cg.pids_refused);
			break;
		case F_SUPRSS:
			if (s[i].supervisor_rss)
				put(m, "isc_supervisor_resident_bytes{isc=\"%s\"} %" PRIu64 "\n", isc, s[i].supervisor_rss);
			break;
		case F_DENIALS:
			if (on)
				put(m, "isc_seccomp_denials_total{isc=\"%s\"} %" PRIu64 "\n", isc, st->denials);
			break;
		case F_VERIFIED:
			if (on)
				put(m, "isc_verify_last_timestamp_seconds{isc=\"%s\"} %lld\n", isc, (long long)st->verified_at);
			break;
		case F_FINDINGS:
			if (on && st->verified_at > 0)
				put(m, "isc_verify_last_findings{isc=\"%s\"} %d\n", isc, st->verify_findings);
			break;
		case F_QUAR:
			if (on)
				put(m, "isc_quarantines_total{isc=\"%s\"} %" PRIu64 "\n", isc, st->quarantines);
			break;
		case F_PSI:
			for (unsigned r = 0; s[i].have_cg && s[i].cg.psi && r < CGROUP_PSI_N; r++)
				for (int full = 0; full < 2; full++) {
					uint64_t us = full ? s[i].cg.psi_full_usec[r] : s[i].cg.psi_some_usec[r];
					put(m, "isc_pressure_stall_seconds_total{isc=\"%s\",resource=\"%s\",kind=\"%s\"} %"
					    PRIu64 ".%06" PRIu64 "\n", isc, cgroup_psi_names[r], full ? "full" : "some",
					    us / 1000000, us % 1000000);
				}
			break;
		case F_PSIEV:
			if (on)
				put(m, "isc_pressure_events_total{isc=\"%s\"} %" PRIu64 "\n", isc, st->pressure);
			break;
		}
	}
}

/* The exposition, read afresh: every ISC of the pool, the audit log's head. */
static int metrics_collect(struct adm *a, struct metrics *m, struct isc_err *e)
{
	struct pool p;
	m->len = 0;
	m->failed = false;
	if (pool_open(&p, a->root, POOL_LOCK_SHARED, e) < 0)
		return -1;
	_cleanup_strv_ char **names = NULL;
	if (isc_names(&p, &names, e) < 0) {
		pool_close(&p);
		return -1;
	}
	size_t n = strv_length(names);
	struct sample *s = calloc(n ? n : 1, sizeof(*s));
	if (!s) {
		pool_close(&p);
		return err_set(e, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		/* names are the pool's ISC names: name_valid, nothing to escape in a label */
		s[i].isc = names[i];
		s[i].running = isc_running(names[i]) && isc_run_state(names[i], &s[i].st) == 0;
		if (s[i].running) {
			struct cgroup cg;
			struct isc_err ce = { 0 };
			s[i].have_cg = cgroup_init(&cg, names[i]) == 0 && cgroup_stats(&cg, &s[i].cg, &ce) == 0;
			s[i].supervisor_rss = rss_of(s[i].st.supervisor);
		}
	}
	for (size_t f = 0; f < F_COUNT; f++)
		family_lines(m, f, s, n);
	free(s);
	struct audit_check c;
	struct isc_err ae = { 0 };
	if (audit_walk(p.dirfd, NULL, NULL, NULL, &c, &ae) == 0) {
		put(m, "# HELP isc_audit_records_total Records in the pool's audit log.\n"
		       "# TYPE isc_audit_records_total counter\nisc_audit_records_total %" PRIu64 "\n", c.records);
		put(m, "# HELP isc_audit_chain_intact Whether the audit log's hash chain verifies (1) or not (0).\n"
		       "# TYPE isc_audit_chain_intact gauge\nisc_audit_chain_intact %d\n", c.fault == AUDIT_FAULT_NONE);
		put(m, "# HELP isc_audit_head_info The hash of the audit log's last record.\n"
		       "# TYPE isc_audit_head_info gauge\nisc_audit_head_info{hash=\"%s\",seq=\"%" PRIu64 "\"} 1\n",
		    c.head, c.head_seq);
	}
	pool_close(&p);
	return m->failed ? err_set(e, ENOMEM, "out of memory") : 0;
}

/* ---- --listen ---------------------------------------------------------------- */

static volatile sig_atomic_t stop;
static void on_stop(int sig) { stop = 1; }

/* unix:PATH (made 0600: the metrics name the pool's ISCs) or 127.0.0.1:PORT:
 * nothing that listens beyond this host. */
static int listen_on(const char *spec, struct isc_err *e)
{
	int fd = -1;
	if (str_has_prefix(spec, "unix:")) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		const char *path = spec + 5;
		if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path))
			return err_set(e, EINVAL, "--listen unix:PATH takes an absolute path shorter than %zu bytes",
				       sizeof(sa.sun_path));
		strcpy(sa.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		mode_t old = umask(0177);
		int r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		umask(old);
		if (r < 0) {
			r = errno;
			if (fd >= 0)
				close(fd);
			return err_sys(e, r, "listen on %s", path);
		}
	} else if (str_has_prefix(spec, "127.0.0.1:")) {
		char *end;
		errno = 0;
		unsigned long port = strtoul(spec + 10, &end, 10);
		if (errno || *end || !spec[10] || !isdigit((unsigned char)spec[10]) || port == 0 || port > 65535)
			return err_set(e, EINVAL, "--listen 127.0.0.1:PORT takes a port from 1 to 65535");
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			int r = errno;
			if (fd >= 0)
				close(fd);
			return err_sys(e, r, "listen on %s", spec);
		}
	} else {
		return err_set(e, EINVAL, "--listen takes unix:PATH or 127.0.0.1:PORT, not '%s'", spec);
	}
	if (listen(fd, 16) < 0) {
		int r = errno;
		close(fd);
		return err_sys(e, r, "listen on %s", spec);
	}
	return fd;
}

/* One client: its request read (bounded, 5 s at most), GET / or /metrics
 * answered with a fresh exposition, anything else 404; then closed. */
static void serve_one(struct adm *a, int c, struct metrics *m)
{
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char req[4096];
	size_t have = 0;
	while (have < sizeof(req) - 1 && !memmem(req, have, "\r\n\r\n", 4)) {
		ssize_t k = read(c, req + have, sizeof(req) - 1 - have);
		if (k <= 0)
			return;
		have += (size_t)k;
	}
	req[have] = '\0';
	bool ok = str_has_prefix(req, "GET /metrics ") || str_has_prefix(req, "GET / ");
	struct isc_err e = { 0 };
	char head[256];
	if (!ok) {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		write_all(c, nf, sizeof(nf) - 1);
		return;
	}
	if (metrics_collect(a, m, &e) < 0) {
		int k = snprintf(head, sizeof(head), "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
				 "Content-Length: %zu\r\nConnection: close\r\n\r\n", strlen(e.msg) + 1);
		write_all(c, head, (size_t)k);
		dprintf(c, "%s\n", e.msg);
		return;
	}
	int k = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
			 "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", m->len);
	if (write_all(c, head, (size_t)k) == 0)
		write_all(c, m->buf, m->len);
}

static int serve(struct adm *a, const char *spec)
{
	struct isc_err e = { 0 };
	int fd = listen_on(spec, &e);
	if (fd < 0)
		return adm_fail(&e);
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "iscadm: metrics on %s (SIGTERM or ^C to stop)\n", spec);
	struct metrics m = { 0 };
	while (!stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, -1) <= 0)
			continue;
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve_one(a, c, &m);
		close(c);
	}
	close(fd);
	if (str_has_prefix(spec, "unix:"))
		unlink(spec + 5);
	free(m.buf);
	return EXIT_OK;
}

int cmd_metrics(struct adm *a)
{
	static const struct option opts[] = { { "listen", required_argument, NULL, 'l' }, { 0 } };
	const char *listen_spec = NULL;
	int c;
	while ((c = getopt_long(a->argc, a->argv, "", opts, NULL)) != -1) {
		if (c != 'l')
			return adm_usage("metrics [--listen unix:PATH|127.0.0.1:PORT]");
		listen_spec = optarg;
	}
	if (optind != a->argc)
		return adm_usage("metrics [--listen unix:PATH|127.0.0.1:PORT]");
	if (listen_spec)
		return serve(a, listen_spec);
	struct metrics m = { 0 };
	struct isc_err e = { 0 };
	int r = metrics_collect(a, &m, &e);
	if (r == 0)
		fwrite(m.buf, 1, m.len, stdout);
	free(m.buf);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}
