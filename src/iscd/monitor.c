/* monitor.c - the dock's monitor in each supervisor: the running ISC
 * verified every verify-interval seconds by a worker (the same check as
 * iscadm verify), and on a finding its on-tamper policy: alert, quarantine
 * (every process frozen, the network cut, everything kept; iscadm release
 * lifts it), halt, or rollback (halt, reset to the newest known-good
 * snapshot, boot); isc-init's word of a crash loop and the kernel's PSI
 * triggers bring on-crash and on-pressure.  docs/dock.md.  iscd. */
#include "iscd.h"
#include "isc.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>

#define REPORT_MAX 1024          /* what a worker says: its count and first findings */
#define REPORT_FINDINGS 3

struct report {
	int fd;
	unsigned n;
};

static int report_finding(const struct isc_finding *f, void *data)
{
	struct report *r = data;
	if (r->n++ >= REPORT_FINDINGS)
		return 0;
	/* paths are the ISC's: escaped, one line, bounded */
	char path[256], detail[256];
	str_escape(f->path ? f->path : "", f->path ? strlen(f->path) : 0, path, sizeof(path));
	str_escape(f->detail ? f->detail : "", f->detail ? strlen(f->detail) : 0, detail, sizeof(detail));
	dprintf(r->fd, "%s%s %s%s%s", r->n > 1 ? "; " : "", isc_finding_name(f->kind), path[0] ? path : "-",
		detail[0] ? ": " : "", detail);
	return 0;
}

/* The worker: verify under a shared lock on the pool (as iscadm verify
 * does), say "N first findings..." or "ERR reason" on out, exit. */
static _Noreturn void verify_worker(struct iscd *d, int out)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct isc_err e = { 0 };
	struct isc_config c;
	char lock[PATH_MAX + 8];
	snprintf(lock, sizeof(lock), "%s/lock", d->pool.root);
	int lfd = open(lock, O_RDONLY | O_CLOEXEC);
	if (lfd < 0 || flock(lfd, LOCK_SH) < 0) {
		dprintf(out, "ERR lock the pool: %s", strerror(errno));
		_exit(0);
	}
	if (isc_config_load(&d->pool, d->cfg.name, &c, &e) < 0) {
		dprintf(out, "ERR %s", e.msg);
		_exit(0);
	}
	/* the count first, then the findings: written after, so buffered */
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		dprintf(out, "ERR pipe: %s", strerror(errno));
		_exit(0);
	}
	struct report r = { .fd = p[1] };
	int n = isc_verify(&d->pool, &c, report_finding, &r, NULL, NULL, &e);
	close(p[1]);
	char first[REPORT_MAX];
	ssize_t k = read_all(p[0], first, sizeof(first) - 1);
	first[k > 0 ? k : 0] = '\0';
	if (n < 0)
		dprintf(out, "ERR %s", e.msg);
	else
		dprintf(out, "%d %s", n, first);
	_exit(0);
}

static void verify_collect(struct iscd *d, char *line, size_t n)
{
	ssize_t k = read_all(d->verify_out, line, n - 1);
	line[k > 0 ? k : 0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	waitpid(d->verify_pid, NULL, 0);
	watch_del(d, &d->w_verify_done);
	close(d->w_verify_done.fd);
	close(d->verify_out);
	d->verify_pid = 0;
	d->w_verify_done.fd = d->verify_out = -1;
}

/* The network of a running ISC cut (every flow dropped, its connections
 * forgotten) or restored; none without net=bridge. */
static int net_set_cut(struct iscd *d, bool cut, struct isc_err *e)
{
	if (!d->net_on || d->net.cut == cut)
		return 0;
	struct net_isc before = d->net;
	d->net.cut = cut;
	int r = net_record_write(&d->net, e);
	if (r == 0 && (r = net_sync(e)) < 0) {
		struct isc_err ignored = { 0 };
		net_record_write(&before, &ignored);
	}
	if (r < 0) {
		d->net = before;
		return r;
	}
	return cut ? net_conntrack_flush(&d->net, e) : 0;
}

static void quarantine(struct iscd *d)
{
	struct isc_err e = { 0 };
	/* what runs now is frozen group by group, so that an operator's
	 * login --force can still look inside */
	unsigned ids[MAX_CLIENTS];
	size_t n = 0;
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (d->clients[i].session_id)
			ids[n++] = d->clients[i].session_id;
	if (cgroup_freeze_running(&d->cg, ids, n, &e) < 0) {
		/* nothing to freeze with: the next best is to stop it */
		note(d, "quarantine", "isc: cannot quarantine (%s): halting instead", e.msg);
		iscd_event(d, EV_HALT);
		return;
	}
	d->frozen = d->quarantined = true;
	d->quarantines++;
	if (net_set_cut(d, true, &e) < 0)
		note(d, "quarantine", "isc: quarantine: the network could not be cut: %s", e.msg);
	state_write(d);
	note(d, "quarantine", "isc: quarantined: every process frozen%s, everything kept (iscadm release %s)",
	     d->net_on ? ", network cut" : "", d->cfg.name);
}

static void policy_act(struct iscd *d, enum isc_on_tamper policy)
{
	switch (policy) {
	case TAMPER_ALERT:
		break;
	case TAMPER_QUARANTINE:
		quarantine(d);
		break;
	case TAMPER_HALT:
		iscd_event(d, EV_HALT);
		break;
	case TAMPER_ROLLBACK:
		d->rollback = true;
		d->next_mode = BOOT_READONLY;
		iscd_event(d, EV_REBOOT);
		break;
	case TAMPER_DESTROY:
		d->destroy = true;
		iscd_event(d, EV_HALT);
		break;
	}
}

static void tamper_act(struct iscd *d, int n, const char *first)
{
	note(d, "tamper", "isc: verify: %d finding%s: %s; on-tamper=%s", n, n == 1 ? "" : "s", first,
	     isc_on_tamper_name(d->cfg.on_tamper));
	policy_act(d, d->cfg.on_tamper);
}

/* A seccomp denial: violation-threshold N/SECONDS is crossed when the
 * N-th last denial is at most SECONDS old (a ring of the last N times). */
void monitor_denial(struct iscd *d)
{
	uint32_t n = d->cfg.violation_count;
	if (!n || n > ISC_VIOLATION_MAX || d->quarantined || d->state != ST_RUNNING || d->run_mode)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	d->viol_ring[d->viol_next] = now;
	d->viol_next = (d->viol_next + 1) % n;
	if (d->viol_seen < n)
		d->viol_seen++;
	/* once full, the next slot holds the oldest of the last n */
	if (d->viol_seen < n || now - d->viol_ring[d->viol_next] > (int64_t)d->cfg.violation_window * 1000)
		return;
	d->viol_seen = d->viol_next = 0;   /* counted afresh after acting */
	note(d, "violation", "isc: %" PRIu32 " seccomp denials within %" PRIu32 " s; on-violation=%s", n,
	     d->cfg.violation_window, isc_on_tamper_name(d->cfg.on_violation));
	policy_act(d, d->cfg.on_violation);
}

static void on_verify_done(struct iscd *d, struct watch *w, uint32_t events)
{
	char line[REPORT_MAX + 64];
	verify_collect(d, line, sizeof(line));
	d->verified_at = time(NULL);
	if (str_has_prefix(line, "ERR ") || !line[0]) {
		d->verify_findings = -1;
		state_write(d);
		note(d, "verify", "isc: verify could not run: %s", line[0] ? line + 4 : "the worker died");
		return;
	}
	char *rest;
	long n = strtol(line, &rest, 10);
	d->verify_findings = (int)n;
	state_write(d);
	if (n <= 0) {
		note(d, "verify", "isc: verified: every layer matches its digest, the writable layers keep "
		     "to the profile");
		return;
	}
	/* what it found since the boot is acted on only while it still runs
	 * as verified: a halt or a quarantine meanwhile came first */
	if (d->state == ST_RUNNING && !d->quarantined)
		tamper_act(d, (int)n, rest[0] == ' ' ? rest + 1 : rest);
}

static void on_monitor_timer(struct iscd *d, struct watch *w, uint32_t events)
{
	uint64_t x;
	(void)!read(w->fd, &x, sizeof(x));
	/* one at a time; none while stopping, committing or quarantined (it
	 * is the evidence, kept as it was) */
	if (d->verify_pid || d->state != ST_RUNNING || d->quarantined || d->run_mode)
		return;
	int fd;
	pid_t pid = fork_piped(&fd);
	if (pid < 0) {
		note(d, "verify", "isc: verify could not start: %s", strerror(-pid));
		return;
	}
	if (pid == 0)
		verify_worker(d, fd);
	setpgid(pid, pid);
	d->verify_pid = pid;
	d->verify_out = fd;
	int pfd = pidfd_open(pid, 0);
	if (pfd < 0 || watch_add(d, &d->w_verify_done, pfd, on_verify_done, NULL) < 0) {
		kill(pid, SIGKILL);
		char line[64];
		d->w_verify_done.fd = pfd;
		verify_collect(d, line, sizeof(line));
	}
}

/* ---- on-crash: isc-init's word that a service is in a crash loop ---------- */

static void on_crash_timer(struct iscd *d, struct watch *w, uint32_t events)
{
	uint64_t x;
	(void)!read(w->fd, &x, sizeof(x));
	if (d->state != ST_RUNNING)
		return;
	d->crash_restarts++;
	note(d, "crash", "isc: restarting after a crash loop (restart %" PRIu32 " of %" PRIu32 ")",
	     d->crash_restarts, d->cfg.crash_limit);
	d->next_mode = BOOT_READONLY;
	iscd_event(d, EV_REBOOT);
}

static bool restart_armed(struct iscd *d)
{
	struct itimerspec armed;
	return timerfd_gettime(d->w_crash.fd, &armed) == 0 && armed.it_value.tv_sec + armed.it_value.tv_nsec;
}

/* on-crash or on-pressure: alert, halt, or restart after a backoff up to
 * crash-limit restarts (the two share the count), then halt */
static void restart_act(struct iscd *d, enum isc_on_crash policy, const char *why)
{
	switch (policy) {
	case CRASH_ALERT:
		break;
	case CRASH_HALT:
		iscd_event(d, EV_HALT);
		break;
	case CRASH_RESTART:
		if (d->crash_restarts >= d->cfg.crash_limit) {
			note(d, "crash", "isc: %" PRIu32 " restarts for %s: halting", d->crash_restarts, why);
			iscd_event(d, EV_HALT);
			break;
		}
		/* 1 s, 2 s, 4 s ... 64 s before each restart */
		struct itimerspec t = { .it_value.tv_sec = 1L << (d->crash_restarts < 6 ? d->crash_restarts : 6) };
		timerfd_settime(d->w_crash.fd, 0, &t, NULL);
		break;
	}
}

static void crash_act(struct iscd *d, const char *service)
{
	/* the ISC's words (root inside can write them too): acted on only to
	 * the ISC's own cost, and noted at most once a second */
	time_t now = time(NULL);
	if (d->state != ST_RUNNING || d->quarantined || d->run_mode || now == d->crash_noted || restart_armed(d))
		return;
	d->crash_noted = now;
	note(d, "crash", "isc: service %s is in a crash loop (isc-init gave up restarting it); on-crash=%s",
	     service, isc_on_crash_name(d->cfg.on_crash));
	restart_act(d, d->cfg.on_crash, "crash loops");
}

/* ---- on-pressure: the kernel's PSI triggers on the ISC's group ------------- */

#define PSI_NOTE_EVERY 60        /* an alert noted at most once a minute a resource */

static void on_pressure(struct iscd *d, struct watch *w, uint32_t events)
{
	unsigned res = (unsigned)(uintptr_t)w->arg;
	if (events & (EPOLLERR | EPOLLHUP)) {
		watch_del(d, w);   /* the group is gone: monitor_stop closes it */
		return;
	}
	if (!(events & EPOLLPRI) || d->state != ST_RUNNING || d->quarantined || d->run_mode)
		return;
	d->pressure_events++;
	state_write(d);
	time_t now = time(NULL);
	if (d->cfg.on_pressure == CRASH_ALERT && now - d->psi_noted[res] < PSI_NOTE_EVERY)
		return;
	if (d->cfg.on_pressure == CRASH_RESTART && restart_armed(d))
		return;
	d->psi_noted[res] = now;
	/* the kernel's own line: "some avg10=N.NN avg60=... total=..." */
	char line[128] = "";
	ssize_t k = pread(w->fd, line, sizeof(line) - 1, 0);
	line[k > 0 ? k : 0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	note(d, "pressure", "isc: %s pressure: tasks stalled over %" PRIu32 "%% of %" PRIu32 " s (%s); on-pressure=%s",
	     cgroup_psi_names[res], d->cfg.pressure_pct, d->cfg.pressure_window, line,
	     isc_on_crash_name(d->cfg.on_pressure));
	restart_act(d, d->cfg.on_pressure, "pressure");
}

static void pressure_stop(struct iscd *d)
{
	for (unsigned i = 0; i < CGROUP_PSI_N; i++)
		if (d->w_psi[i].fd >= 0) {
			watch_del(d, &d->w_psi[i]);
			close(d->w_psi[i].fd);
			d->w_psi[i].fd = -1;
		}
}

static void pressure_start(struct iscd *d)
{
	const char *why = NULL;
	for (unsigned i = 0; i < CGROUP_PSI_N && !why; i++) {
		int fd = cgroup_pressure_trigger(&d->cg, i, d->cfg.pressure_pct, d->cfg.pressure_window);
		if (fd == -EOPNOTSUPP)
			why = "this host's cgroups are v1, and PSI is kept per group on v2 only";
		else if (fd == -ENOENT)
			why = "the kernel keeps no pressure stall information (boot it with psi=1)";
		else if (fd < 0)
			why = strerror(-fd);
		else if (watch_add(d, &d->w_psi[i], fd, on_pressure, (void *)(uintptr_t)i) < 0 ||
			 epoll_ctl(d->ep, EPOLL_CTL_MOD, fd, &(struct epoll_event){ .events = EPOLLPRI,
										    .data.ptr = &d->w_psi[i] }) < 0) {
			why = strerror(errno);
			close(fd);
			d->w_psi[i].fd = -1;
		}
	}
	if (why) {
		pressure_stop(d);
		note(d, "pressure", "isc: pressure-threshold=%" PRIu32 "/%" PRIu32 " is not watched: %s",
		     d->cfg.pressure_pct, d->cfg.pressure_window, why);
	}
}


/* "maintenance NAME" lines, bounded: a line longer than a service name
 * allows, or a name with anything but [A-Za-z0-9_.-], is not a service. */
static void on_status(struct iscd *d, struct watch *w, uint32_t events)
{
	char buf[1024];
	ssize_t k = read(w->fd, buf, sizeof(buf) - 1);
	if (k <= 0) {
		if (k == 0 || (errno != EAGAIN && errno != EINTR))
			watch_del(d, w);   /* isc-init is gone; teardown closes it */
		return;
	}
	buf[k] = '\0';
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *name = str_has_prefix(line, "maintenance ") ? line + 12 : NULL;
		size_t n = name ? strlen(name) : 0;
		if (n && n <= 63 && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					    "0123456789_.-") == n)
			crash_act(d, name);
	}
}

int monitor_status_begin(struct iscd *d, int *write_end, struct isc_err *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	if (watch_add(d, &d->w_status, p[0], on_status, NULL) < 0) {
		int r = errno;
		close(p[0]);
		close(p[1]);
		d->w_status.fd = -1;
		return err_sys(e, r, "epoll");
	}
	*write_end = p[1];
	return 0;
}

void monitor_status_end(struct iscd *d)
{
	if (d->w_status.fd < 0)
		return;
	watch_del(d, &d->w_status);
	close(d->w_status.fd);
	d->w_status.fd = -1;
	if (d->w_crash.fd >= 0)
		timerfd_settime(d->w_crash.fd, 0, &(struct itimerspec){ 0 }, NULL);
}

int monitor_setup(struct iscd *d, struct isc_err *e)
{
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (t < 0 || watch_add(d, &d->w_monitor, t, on_monitor_timer, NULL) < 0)
		return err_sys(e, errno, "timerfd");
	int c = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (c < 0 || watch_add(d, &d->w_crash, c, on_crash_timer, NULL) < 0)
		return err_sys(e, errno, "timerfd");
	return 0;
}

void monitor_start(struct iscd *d)
{
	d->quarantined = false;
	d->viol_seen = d->viol_next = 0;
	/* a -w or -W boot is the operator changing the system: the monitor
	 * rests until the ISC runs read-only again */
	if (d->run_mode || boot_mode_writable(d->mode))
		return;
	if (d->cfg.pressure_pct)
		pressure_start(d);
	if (!d->cfg.verify_interval || d->w_monitor.fd < 0)
		return;
	struct itimerspec t = { .it_value.tv_sec = d->cfg.verify_interval,
				.it_interval.tv_sec = d->cfg.verify_interval };
	timerfd_settime(d->w_monitor.fd, 0, &t, NULL);
}

void monitor_stop(struct iscd *d)
{
	pressure_stop(d);
	if (d->w_monitor.fd >= 0)
		timerfd_settime(d->w_monitor.fd, 0, &(struct itimerspec){ 0 }, NULL);
	if (d->verify_pid) {
		char line[64];
		kill(-d->verify_pid, SIGKILL);
		verify_collect(d, line, sizeof(line));
	}
	d->quarantined = false;
}

const char *monitor_release(struct iscd *d, struct isc_err *e)
{
	if (!d->quarantined)
		return "not quarantined";
	if (net_set_cut(d, false, e) < 0) {
		err_prefix(e, "restore the network");
		return NULL;
	}
	if (cgroup_freeze(&d->cg, false, e) < 0)
		return NULL;
	d->frozen = d->quarantined = false;
	state_write(d);
	note(d, "quarantine", "isc: released from quarantine by the host");
	return "released";
}
