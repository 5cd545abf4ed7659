/* svc_state.c - the per-service state machine of isc-init (PID 1): a state x event table of actions, s6-supervise style; no I/O of its own. */
#include "services.h"

#include <signal.h>
#include <sys/wait.h>

typedef void svc_action(struct svc_env *env, struct svc *s);

static void svc_say(struct svc_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void svc_say(struct svc_env *env, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	env->ops->say(env->ctx, line);
}

static bool deps_online(const struct svc_set *set, const struct svc *s)
{
	for (size_t i = 0; i < s->ndeps; i++)
		if (set->v[s->deps[i]].state != SVC_ONLINE)
			return false;
	return true;
}

static void fails_clear(struct svc *s)
{
	s->nfails = 0;
	s->backoff_ms = SVC_BACKOFF_MIN_MS;
}

/* Record a failure; true when the last SVC_FAIL_LIMIT fit in the window. */
static bool fails_record(struct svc *s, int64_t now)
{
	s->fails[s->nfails % SVC_FAIL_LIMIT] = now;
	s->nfails++;
	if (s->nfails < SVC_FAIL_LIMIT)
		return false;
	int64_t oldest = s->fails[s->nfails % SVC_FAIL_LIMIT];   /* the slot written next */
	return now - oldest <= SVC_FAIL_WINDOW_MS;
}

static void describe_status(int wstatus, char *buf, size_t size)
{
	if (WIFEXITED(wstatus)) {
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(wstatus));
	} else if (WIFSIGNALED(wstatus)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(wstatus));
		if (abbrev)
			snprintf(buf, size, "was killed by SIG%s", abbrev);
		else
			snprintf(buf, size, "was killed by signal %d", WTERMSIG(wstatus));
	} else {
		snprintf(buf, size, "ended (wait status %#x)", (unsigned)wstatus);
	}
}

static void stop_process(struct svc_env *env, struct svc *s, enum svc_goal goal)
{
	env->ops->kill(env->ctx, s, SIGTERM);
	s->goal = goal;
	s->deadline_ms = env->now_ms + env->stop_timeout_ms;
	s->state = SVC_STOPPING;
}

/* A process ended, or could not be started (failed, what says which): apply
 * restart=, backoff and the failure limit. */
static void after_end(struct svc_env *env, struct svc *s, bool failed, const char *what)
{
	bool restart = false;
	s->pid = 0;
	if (s->started_ms && env->now_ms - s->started_ms >= SVC_UPTIME_RESET_MS)
		fails_clear(s);   /* it ran long enough: this is not a crash loop */
	switch (s->conf.restart) {
	case SVC_RESTART_ALWAYS: restart = true; break;
	case SVC_RESTART_ON_FAILURE: restart = failed; break;
	case SVC_RESTART_NEVER: restart = false; break;
	}
	if (failed && fails_record(s, env->now_ms) && restart) {
		s->state = SVC_MAINTENANCE;
		svc_say(env, "%s in maintenance (failed %d times in %ds)", s->name, SVC_FAIL_LIMIT,
			SVC_FAIL_WINDOW_MS / 1000);
		if (env->ops->event)
			env->ops->event(env->ctx, s, "maintenance");
		return;
	}
	if (!restart) {
		s->state = SVC_DOWN;
		s->want = false;
		svc_say(env, "%s %s", s->name, what);
		return;
	}
	if (s->backoff_ms < SVC_BACKOFF_MIN_MS)
		s->backoff_ms = SVC_BACKOFF_MIN_MS;
	s->state = SVC_BACKOFF;
	s->deadline_ms = env->now_ms + s->backoff_ms;
	svc_say(env, "%s %s, restarting in %ds", s->name, what, s->backoff_ms / 1000);
	s->backoff_ms = s->backoff_ms * 2 > SVC_BACKOFF_MAX_MS ? SVC_BACKOFF_MAX_MS : s->backoff_ms * 2;
}

/* ---- actions ------------------------------------------------------------- */

static void a_nop(struct svc_env *env, struct svc *s)
{
	(void)env;
	(void)s;
}

static void a_start(struct svc_env *env, struct svc *s)
{
	s->deadline_ms = 0;
	s->want = true;
	if (s->error) {   /* a configuration error never goes away at runtime */
		s->state = SVC_MAINTENANCE;
		return;
	}
	if (!deps_online(env->set, s)) {
		s->state = SVC_DOWN;
		return;
	}
	s->want = false;
	s->started_ms = env->now_ms;
	if (env->ops->spawn(env->ctx, s) < 0) {
		s->started_ms = 0;
		after_end(env, s, true, "could not be started");
		return;
	}
	s->state = SVC_STARTING;
}

static void a_restart(struct svc_env *env, struct svc *s)
{
	fails_clear(s);
	a_start(env, s);
}

static void a_ready(struct svc_env *env, struct svc *s)
{
	s->state = SVC_ONLINE;
	svc_say(env, "%s online (pid %d)", s->name, (int)s->pid);
}

static void a_exit_ok(struct svc_env *env, struct svc *s)
{
	char what[64];
	describe_status(s->wstatus, what, sizeof(what));
	after_end(env, s, false, what);
}

static void a_exit_fail(struct svc_env *env, struct svc *s)
{
	char what[64];
	describe_status(s->wstatus, what, sizeof(what));
	after_end(env, s, true, what);
}

static void a_stop_disable(struct svc_env *env, struct svc *s)
{
	stop_process(env, s, SVC_GOAL_DISABLE);
}

static void a_stop_restart(struct svc_env *env, struct svc *s)
{
	stop_process(env, s, SVC_GOAL_RESTART);
}

static void a_stop_halt(struct svc_env *env, struct svc *s)
{
	stop_process(env, s, SVC_GOAL_HALT);
}

/* No process: go straight to the end state. */
static void a_disable_idle(struct svc_env *env, struct svc *s)
{
	s->deadline_ms = 0;
	s->want = false;
	s->state = SVC_DISABLED;
	svc_say(env, "%s disabled", s->name);
}

static void a_halt_idle(struct svc_env *env, struct svc *s)
{
	(void)env;
	s->deadline_ms = 0;
	s->want = false;
	if (s->state != SVC_MAINTENANCE && s->state != SVC_DISABLED)
		s->state = SVC_DOWN;
}

static void a_stopping_kill(struct svc_env *env, struct svc *s)
{
	svc_say(env, "%s did not stop in %ds, killing it", s->name, env->stop_timeout_ms / 1000);
	env->ops->kill(env->ctx, s, SIGKILL);
	s->deadline_ms = 0;
}

/* A later request changes where STOPPING leads; halt always wins. */
static void a_goal_disable(struct svc_env *env, struct svc *s)
{
	(void)env;
	if (s->goal != SVC_GOAL_HALT)
		s->goal = SVC_GOAL_DISABLE;
}

static void a_goal_restart(struct svc_env *env, struct svc *s)
{
	(void)env;
	if (s->goal != SVC_GOAL_HALT)
		s->goal = SVC_GOAL_RESTART;
}

static void a_goal_halt(struct svc_env *env, struct svc *s)
{
	(void)env;
	s->goal = SVC_GOAL_HALT;
}

static void a_stopped(struct svc_env *env, struct svc *s)
{
	s->pid = 0;
	s->deadline_ms = 0;
	switch (s->goal) {
	case SVC_GOAL_DISABLE:
		a_disable_idle(env, s);
		break;
	case SVC_GOAL_RESTART:
		svc_say(env, "%s stopped, restarting", s->name);
		a_restart(env, s);
		break;
	case SVC_GOAL_HALT:
		s->state = SVC_DOWN;
		s->want = false;
		svc_say(env, "%s stopped", s->name);
		break;
	}
}

/* Rows are states, columns events.  Every cell is filled: an event a state
 * does not expect is a no-op, never undefined. */
static svc_action *const svc_table[SVC_STATE_COUNT][SVC_EVENT_COUNT] = {
	/*                  START    READY    EXIT_OK    EXIT_FAIL    TIMER            DISABLE          ENABLE          RESTART          HALT */
	[SVC_DOWN]        = { a_start, a_nop,   a_nop,     a_nop,       a_nop,           a_disable_idle,  a_start,        a_restart,       a_halt_idle },
	[SVC_STARTING]    = { a_nop,   a_ready, a_exit_ok, a_exit_fail, a_nop,           a_stop_disable,  a_nop,          a_stop_restart,  a_stop_halt },
	[SVC_ONLINE]      = { a_nop,   a_nop,   a_exit_ok, a_exit_fail, a_nop,           a_stop_disable,  a_nop,          a_stop_restart,  a_stop_halt },
	[SVC_BACKOFF]     = { a_nop,   a_nop,   a_nop,     a_nop,       a_start,         a_disable_idle,  a_nop,          a_restart,       a_halt_idle },
	[SVC_STOPPING]    = { a_nop,   a_nop,   a_stopped, a_stopped,   a_stopping_kill, a_goal_disable,  a_goal_restart, a_goal_restart,  a_goal_halt },
	[SVC_DISABLED]    = { a_nop,   a_nop,   a_nop,     a_nop,       a_nop,           a_nop,           a_restart,      a_restart,       a_halt_idle },
	[SVC_MAINTENANCE] = { a_nop,   a_nop,   a_nop,     a_nop,       a_nop,           a_disable_idle,  a_restart,      a_restart,       a_halt_idle },
};

void svc_dispatch(struct svc_env *env, struct svc *s, enum svc_event ev)
{
	if ((unsigned)s->state >= SVC_STATE_COUNT || (unsigned)ev >= SVC_EVENT_COUNT)
		return;
	if (ev == SVC_EV_TIMER)   /* a deadline fires once, whatever the state makes of it */
		s->deadline_ms = 0;
	svc_table[s->state][ev](env, s);
}

void svc_set_kick(struct svc_env *env)
{
	for (size_t i = 0; i < env->set->n; i++) {
		struct svc *s = &env->set->v[i];
		if (s->state == SVC_DOWN && s->want && deps_online(env->set, s))
			svc_dispatch(env, s, SVC_EV_START);
	}
}

bool svc_has_process(const struct svc *s)
{
	return s->state == SVC_STARTING || s->state == SVC_ONLINE || s->state == SVC_STOPPING;
}

int64_t svc_set_next_deadline(const struct svc_set *set)
{
	int64_t next = 0;
	for (size_t i = 0; i < set->n; i++) {
		int64_t d = set->v[i].deadline_ms;
		if (d && (!next || d < next))
			next = d;
	}
	return next;
}

const char *svc_state_name(enum svc_state st)
{
	switch (st) {
	case SVC_DOWN: return "down";
	case SVC_STARTING: return "starting";
	case SVC_ONLINE: return "online";
	case SVC_BACKOFF: return "backoff";
	case SVC_STOPPING: return "stopping";
	case SVC_DISABLED: return "disabled";
	case SVC_MAINTENANCE: return "maintenance";
	case SVC_STATE_COUNT: break;
	}
	return "?";
}

const char *svc_state_public(enum svc_state st)
{
	switch (st) {
	case SVC_ONLINE: return "online";
	case SVC_DISABLED: return "disabled";
	case SVC_MAINTENANCE: return "maintenance";
	case SVC_DOWN:
	case SVC_STARTING:
	case SVC_BACKOFF:
	case SVC_STOPPING:
	case SVC_STATE_COUNT:
		break;
	}
	return "offline";
}

const char *svc_event_name(enum svc_event ev)
{
	static const char *const names[SVC_EVENT_COUNT] = {
		[SVC_EV_START] = "start", [SVC_EV_READY] = "ready", [SVC_EV_EXIT_OK] = "exit-ok",
		[SVC_EV_EXIT_FAIL] = "exit-fail", [SVC_EV_TIMER] = "timer",
		[SVC_EV_DISABLE] = "disable", [SVC_EV_ENABLE] = "enable",
		[SVC_EV_RESTART] = "restart", [SVC_EV_HALT] = "halt",
	};
	return (unsigned)ev < SVC_EVENT_COUNT ? names[ev] : "?";
}
