/* machine.c - the supervisor's life as a state x event table of actions,
 * as isc-init's services are (init/svc_state.c), and the loop that feeds
 * it.  Each action returns the next state.  iscd. */
#include "iscd.h"
#include "isc.h"

#include <sys/file.h>

#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

typedef enum iscd_state iscd_action(struct iscd *d);

static const char *const state_names[ST_COUNT] = {
	[ST_RUNNING] = "running", [ST_STOPPING] = "stopping",
	[ST_COMMITTING] = "committing", [ST_ENDED] = "ended",
};

const char *iscd_state_name(enum iscd_state s)
{
	return (unsigned)s < ST_COUNT ? state_names[s] : "?";
}

/* The pool's exclusive lock for the supervisor's own pool work between
 * boots, waited for 30 s at most (a reader may hold it shared). */
static int pool_lock_wait(struct iscd *d, struct isc_err *e)
{
	int r = -EWOULDBLOCK;
	for (int i = 0; i < 300 && r == -EWOULDBLOCK; i++) {
		r = flock(d->pool.lockfd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
		if (r == -EWOULDBLOCK)
			usleep(100 * 1000);
	}
	return r < 0 ? err_sys(e, -r, "lock the pool") : 0;
}

/* on-tamper=destroy, once halted: the ISC crypto-erased as iscadm destroy
 * does it (data removed, its own key out of the kernel, the wrapped key
 * and a generated key file deleted); refused (a clone, a dependent) it
 * stays halted. */
static void destroy_self(struct iscd *d)
{
	struct isc_err e = { 0 };
	d->destroy = false;
	int r = pool_lock_wait(d, &e);
	if (r == 0) {
		r = isc_destroy(&d->pool, d->cfg.name, &e);
		flock(d->pool.lockfd, LOCK_UN);
	}
	if (r < 0)
		note(d, "destroy", "isc: destroy failed: %s; the ISC stays halted", e.msg);
	else
		note(d, "destroy", "isc: destroyed: its data deleted, its key out of the kernel and deleted");
}

/* on-tamper=rollback, between the halt and the boot: the newest known-good
 * snapshot, verified, becomes the ISC's state (isc_reset's work, done by
 * the supervisor that holds the ISC's run lock), under the pool's
 * exclusive lock, waited for a while (a reader may hold it shared). */
static int rollback_reset(struct iscd *d, struct isc_err *e)
{
	char snap[64];
	d->rollback = false;
	int r = pool_lock_wait(d, e);
	if (r < 0)
		return err_prefix(e, "reset");
	r = isc_reset_supervised(&d->pool, d->cfg.name, snap, sizeof(snap), e);
	flock(d->pool.lockfd, LOCK_UN);
	if (r == 0)
		note(d, "rollback", "isc: rolled back to %s@%s (known good, verified); booting it", d->cfg.name, snap);
	return r;
}

/* After init is gone and any commit is done: boot again, or end. */
static enum iscd_state after_stop(struct iscd *d)
{
	if (!d->rebooting || d->run_mode) {
		ready_say(d, "ERR the ISC did not come back read-only\n");
		if (d->destroy)
			destroy_self(d);
		answer_stoppers(d, IPC_OK, "halted");
		return ST_ENDED;
	}
	struct isc_err e = { 0 };
	d->rebooting = false;
	d->mode = d->next_mode;
	d->next_mode = BOOT_READONLY;
	if (d->rollback && rollback_reset(d, &e) < 0) {
		note(d, "rollback", "isc: rollback failed: %s; the ISC stays halted", e.msg);
		answer_stoppers(d, IPC_ERR, e.msg);
		return ST_ENDED;
	}
	if (isc_prepare(d, d->cfg.name, &e) < 0 || session_begin(d, &e) < 0 || isc_start(d, &e) < 0) {
		note(d, "boot", "isc: reboot failed: %s", e.msg);
		answer_stoppers(d, IPC_ERR, e.msg);
		ready_say(d, "ERR %s\n", e.msg);
		return ST_ENDED;
	}
	answer_stoppers(d, IPC_OK, "rebooted");
	ready_say(d, "%s", d->ready_text);
	return ST_RUNNING;
}

/* ---- actions ------------------------------------------------------------- */

static enum iscd_state a_stay(struct iscd *d)
{
	return d->state;
}

/* Ask isc-init to end; SIGKILL follows if it takes too long. */
static enum iscd_state a_stop(struct iscd *d)
{
	note(d, "halt", "isc: %s requested", d->rebooting ? "reboot" : "halt");
	/* a frozen isc-init could not answer (nor, on v1, even die) */
	if (d->frozen) {
		struct isc_err e = { 0 };
		if (cgroup_freeze(&d->cg, false, &e) < 0)
			note(d, "halt", "isc: %s", e.msg);
		else
			note(d, "halt", "isc: thawed to stop");
		d->frozen = false;
	}
	pidfd_send_signal(d->sb.pidfd, SIGTERM, NULL, 0);
	struct itimerspec t = { .it_value.tv_sec = STOP_TIMEOUT_S };
	timerfd_settime(d->w_timer.fd, 0, &t, NULL);
	return ST_STOPPING;
}

static enum iscd_state a_reboot(struct iscd *d)
{
	d->rebooting = true;
	return a_stop(d);
}

/* Stopping already: a reboot asked meanwhile still reboots. */
static enum iscd_state a_reboot_too(struct iscd *d)
{
	d->rebooting = true;
	return ST_STOPPING;
}

static enum iscd_state a_kill(struct iscd *d)
{
	pidfd_send_signal(d->sb.pidfd, SIGKILL, NULL, 0);
	return ST_STOPPING;
}

/* isc-init ended: commit what a session changed, then a requested reboot
 * starts it again; anything else ends us. */
static enum iscd_state a_init_exit(struct iscd *d)
{
	siginfo_t si = { 0 };
	waitid(P_PIDFD, (id_t)d->sb.pidfd, &si, WEXITED | WNOHANG);
	int st = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
	d->exit_status = st;
	timerfd_settime(d->w_timer.fd, 0, &(struct itimerspec){ 0 }, NULL);
	sessions_end_all(d);
	isc_teardown(d);
	if (!d->run_mode)
		note(d, "halt", "isc: init exited (status %d)", st);
	/* reboot(2) inside a pid namespace kills its init with SIGHUP; nothing
	 * inside can ask for a writable boot: an inside reboot comes back
	 * read-only, like every boot the host did not mark -w */
	if (si.si_code != CLD_EXITED && si.si_status == SIGHUP) {
		d->next_mode = BOOT_READONLY;
		d->rebooting = true;
	}
	return session_after_init(d, st) ? ST_COMMITTING : after_stop(d);
}

static enum iscd_state a_commit_done(struct iscd *d)
{
	commit_done(d);
	return after_stop(d);
}

/* The first halt started this commit; one more (or SIGTERM) stops it. */
static enum iscd_state a_commit_stop(struct iscd *d)
{
	commit_abort(d);
	answer_stoppers(d, IPC_OK, "halted; the commit was stopped, the session is kept");
	ready_say(d, "%s", d->ready_text);
	return ST_ENDED;
}

static iscd_action *const table[ST_COUNT][EV_COUNT] = {
	[ST_RUNNING] = {
		[EV_HALT] = a_stop, [EV_REBOOT] = a_reboot, [EV_TERM] = a_stop,
		[EV_INIT_EXIT] = a_init_exit, [EV_STOP_TIMEOUT] = a_stay, [EV_COMMIT_DONE] = a_stay,
	},
	[ST_STOPPING] = {
		[EV_HALT] = a_stay, [EV_REBOOT] = a_reboot_too, [EV_TERM] = a_stay,
		[EV_INIT_EXIT] = a_init_exit, [EV_STOP_TIMEOUT] = a_kill, [EV_COMMIT_DONE] = a_stay,
	},
	[ST_COMMITTING] = {
		[EV_HALT] = a_commit_stop, [EV_REBOOT] = a_commit_stop, [EV_TERM] = a_commit_stop,
		[EV_INIT_EXIT] = a_stay, [EV_STOP_TIMEOUT] = a_stay, [EV_COMMIT_DONE] = a_commit_done,
	},
	[ST_ENDED] = {
		[EV_HALT] = a_stay, [EV_REBOOT] = a_stay, [EV_TERM] = a_stay,
		[EV_INIT_EXIT] = a_stay, [EV_STOP_TIMEOUT] = a_stay, [EV_COMMIT_DONE] = a_stay,
	},
};

void iscd_event(struct iscd *d, enum iscd_event ev)
{
	d->state = table[d->state][ev](d);
}

static void on_timer(struct iscd *d, struct watch *w, uint32_t events)
{
	uint64_t x;
	(void)!read(w->fd, &x, sizeof(x));
	iscd_event(d, EV_STOP_TIMEOUT);   /* isc-init did not stop in time */
}

static void on_signal(struct iscd *d, struct watch *w, uint32_t events)
{
	struct signalfd_siginfo si;
	if (read(w->fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
		iscd_event(d, EV_TERM);
	else if (si.ssi_signo == SIGCHLD)
		orphans_reap(d);
}

/* The supervisor's own descriptors: signals, the stop timer, the denial
 * budget's timer. */
int iscd_watch_own(struct iscd *d, struct isc_err *e)
{
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGCHLD);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	if ((d->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return err_sys(e, errno, "epoll");
	int sig = signalfd(-1, &ss, SFD_CLOEXEC);
	int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	int deny = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (sig < 0 || timer < 0 || deny < 0 || watch_add(d, &d->w_sig, sig, on_signal, NULL) < 0 ||
	    watch_add(d, &d->w_timer, timer, on_timer, NULL) < 0 ||
	    watch_add(d, &d->w_deny, deny, deny_on_timer, NULL) < 0)
		return err_sys(e, errno, "signalfd/timerfd");
	return monitor_setup(d, e);
}

int iscd_loop(struct iscd *d)
{
	while (d->state != ST_ENDED) {
		struct epoll_event ev[16];
		/* once a boot has answered: off its path */
		if (d->restock.due)
			restock_begin(d);
		int n = epoll_wait(d->ep, ev, 16, -1);
		if (n < 0 && errno != EINTR)
			break;
		unsigned epoch = d->epoch;
		for (int i = 0; i < n && d->state != ST_ENDED && d->epoch == epoch; i++) {
			struct watch *w = ev[i].data.ptr;
			if (w->on)
				w->on(d, w, ev[i].events);
		}
	}
	return d->exit_status;
}
