/* deny.c - seccomp user notifications of isc-init's filter and the login
 * sessions': each denied call is answered EPERM and noted, both bounded
 * per second.  iscd. */
#include "iscd.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

#define DENY_LOGGED_PER_SECOND 20
#define DENY_ANSWERED_PER_SECOND 2000

/* Every seccomp listener we watch: isc-init's and the sessions'. */
static void listeners_watch(struct iscd *d, bool on)
{
	struct watch *ws[MAX_CLIENTS + 1];
	size_t n = 0;
	if (d->sb.notify >= 0 && d->w_notify.on)
		ws[n++] = &d->w_notify;
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (d->clients[i].notify.fd >= 0 && d->clients[i].notify.on)
			ws[n++] = &d->clients[i].notify;
	for (size_t i = 0; i < n; i++) {
		struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.ptr = ws[i] };
		epoll_ctl(d->ep, EPOLL_CTL_MOD, ws[i]->fd, &ev);
	}
	d->deny_paused = !on;
}

void deny_on_timer(struct iscd *d, struct watch *w, uint32_t events)
{
	uint64_t x;
	(void)!read(w->fd, &x, sizeof(x));
	d->deny_answered = 0;
	listeners_watch(d, true);
}

/* A flood that stopped: its count still reaches the notes. */
void deny_reset(struct iscd *d)
{
	if (d->deny_dropped)
		note(d, "seccomp", "isc: seccomp: %u more denials not logged", d->deny_dropped);
	d->deny_dropped = d->deny_logged = d->deny_answered = 0;
	d->deny_paused = false;
	timerfd_settime(d->w_deny.fd, 0, &(struct itimerspec){ 0 }, NULL);
}

/* A system call the filter denies: answer EPERM, and say so in the notes
 * (bounded: a loop of denials must not flood them, nor keep the
 * supervisor busy outside the ISC's CPU share). */
void deny_on_notify(struct iscd *d, struct watch *w, uint32_t events)
{
	char what[160];
	if (!(events & EPOLLIN)) {
		/* hung up: no process uses the filter any more (receiving now
		 * would block on older kernels); its owner closes it */
		watch_del(d, w);
		return;
	}
	if (confine_notify_deny(w->fd, what, sizeof(what)) < 0)
		return;
	time_t now = time(NULL);
	if (now != d->deny_second) {
		if (d->deny_dropped)
			note(d, "seccomp", "isc: seccomp: %u more denials not logged", d->deny_dropped);
		d->deny_second = now;
		d->deny_logged = d->deny_dropped = 0;
		if (!d->deny_paused)
			d->deny_answered = 0;
	}
	d->denials++;
	monitor_denial(d);
	if (d->deny_logged++ < DENY_LOGGED_PER_SECOND) {
		note(d, "seccomp", "isc: seccomp: denied %s", what);
		state_write(d);   /* the count for metrics, as often as the notes */
	} else {
		d->deny_dropped++;
	}
	if (++d->deny_answered >= DENY_ANSWERED_PER_SECOND && !d->deny_paused) {
		struct itimerspec t = { .it_value = { .tv_sec = 1 } };
		listeners_watch(d, false);
		timerfd_settime(d->w_deny.fd, 0, &t, NULL);
	}
}
