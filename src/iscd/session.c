/* session.c - maintenance sessions (boot -w, boot -W, login -T) and their
 * commit, which runs in a worker process so that the supervisor keeps
 * answering and a second halt can stop it.  iscd. */
#include "iscd.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static void on_commit(struct iscd *d, struct watch *w, uint32_t events)
{
	iscd_event(d, EV_COMMIT_DONE);
}

/* Where a session's upper lives: a -w/-W session's own filesystem, or
 * (login -T) the ISC's layers in the pool. */
static void session_upper(const struct iscd *d, const char *name, char *buf, size_t n)
{
	if (d->session_on)
		snprintf(buf, n, "%s/rootw/upper", d->session_fs);
	else
		snprintf(buf, n, "%s/isc/%s/data/layers/rootw/upper", d->pool.path, name);
}

static void session_img(const struct iscd *d, const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/isc/%s/data/session.img", d->pool.path, name);
}

/* A -w/-W session's filesystem: new for a new session, the old one for a
 * session left to commit. */
static int session_fs_open(struct iscd *d, const char *name, uint64_t size, struct isc_err *e)
{
	char img[PATH_MAX];
	if (d->session_on)
		return 0;
	session_img(d, name, img, sizeof(img));
	int r = sessionfs_attach(img, size, d->session_fs, e);
	d->session_on = r == 0;
	return r;
}

/* Unmount the session's filesystem; with drop, its file goes too. */
static void session_fs_close(struct iscd *d, const char *name, bool drop)
{
	char img[PATH_MAX];
	if (d->session_on)
		varfs_detach(d->session_fs);
	d->session_on = false;
	session_img(d, name, img, sizeof(img));
	if (drop)
		unlink(img);
}

/* The session is over without a commit, or after one: nothing of it stays. */
static int session_drop(struct iscd *d, const char *name, struct isc_err *e)
{
	session_fs_close(d, name, true);
	return commit_discard(&d->pool, name, e);
}

/* Before a writable boot: its layer records what a crash should leave. */
int session_begin(struct iscd *d, struct isc_err *e)
{
	if (!boot_mode_writable(d->mode))
		return 0;
	/* a -W session is only worth committing once its self-assembly succeeded */
	char state[16];
	snprintf(state, sizeof(state), "%s %s", d->mode == BOOT_ASSEMBLY ? "discard" : "commit",
		 boot_mode_flag(d->mode));
	int r = commit_state_write(&d->pool, d->cfg.name, state, d->cfg.digest, e);
	return r < 0 ? r : session_fs_open(d, d->cfg.name, d->cfg.session_size, e);
}

/* A commit's outcome, as the worker reports it in one line: "MADE DIGEST",
 * "NONE", "REJECT why" (never committable: dropped) or "ERR why" (kept for
 * the next boot).  Acts on it and says so; returns 0 or -1 (ERR). */
static int commit_outcome(struct iscd *d, const char *name, const char *how, const char *line)
{
	struct isc_err e = { 0 };
	if (str_has_prefix(line, "MADE ")) {
		note(d, "commit", "isc: committed image version %.12s (%s)", line + 5, how);
		snprintf(d->ready_text, sizeof(d->ready_text), "OK committed %.12s\n", line + 5);
		session_fs_close(d, name, true);
		return 0;
	}
	if (STREQ(line, "NONE")) {
		note(d, "commit", "isc: nothing changed, no new image version");
		snprintf(d->ready_text, sizeof(d->ready_text), "OK unchanged\n");
		session_fs_close(d, name, true);
		return 0;
	}
	if (str_has_prefix(line, "REJECT ")) {
		note(d, "commit", "isc: %s; the session is discarded, the ISC stays on its version", line + 7);
		snprintf(d->ready_text, sizeof(d->ready_text), "FAIL %s; session discarded\n", line + 7);
		session_drop(d, name, &e);
		return 0;
	}
	note(d, "commit", "isc: %s", str_has_prefix(line, "ERR ") ? line + 4 : "commit failed");
	snprintf(d->ready_text, sizeof(d->ready_text), "FAIL %s\n",
		 str_has_prefix(line, "ERR ") ? line + 4 : "commit failed");
	session_fs_close(d, name, false);
	return -1;
}

/* The commit itself, in a process of its own so the supervisor keeps
 * answering (list, halt) and a halt can stop it: writes its outcome line
 * to out. */
static __attribute__((noreturn)) void commit_worker(struct iscd *d, const char *name,
						    const char *how, int out)
{
	char upper[PATH_MAX];
	struct isc_err e = { 0 };
	struct isc_config c;
	bool made = false;
	/* its group goes with it (mkfs.erofs included) when a halt stops it */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	session_upper(d, name, upper, sizeof(upper));
	uint64_t limit = 2ULL << 30;
	if (isc_config_load(&d->pool, name, &c, &e) == 0) {
		limit = c.session_size;
		config_free(&c);
	}
	struct commit_req rq = { .name = name, .how = how, .rundir = d->rundir, .upper = upper,
				 .limit = limit };
	int r = commit_session(&d->pool, &rq, &made, &e);
	if (r < 0)
		dprintf(out, "%s %s", commit_rejected(&e) ? "REJECT" : "ERR", e.msg);
	else if (made && isc_config_load(&d->pool, name, &c, &e) == 0)
		dprintf(out, "MADE %s", c.digest);
	else
		dprintf(out, made ? "MADE ?" : "NONE");
	_exit(0);
}

static int commit_begin(struct iscd *d, const char *how)
{
	int fd;
	pid_t pid = fork_piped(&fd);
	if (pid < 0)
		return pid;
	if (pid == 0)
		commit_worker(d, d->cfg.name, how, fd);
	setpgid(pid, pid);   /* before a halt could want to kill its group */
	d->commit_pid = pid;
	d->commit_out = fd;
	snprintf(d->commit_how, sizeof(d->commit_how), "%s", how);
	/* the first boot's recovery waits for it before there is a loop */
	if (d->ep >= 0)
		watch_add(d, &d->w_commit, pidfd_open(pid, 0), on_commit, NULL);
	return 0;
}

/* The worker's line, once it exited (bounded: one line). */
static void commit_collect(struct iscd *d, char *line, size_t n)
{
	ssize_t k = read_all(d->commit_out, line, n - 1);
	line[k > 0 ? k : 0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	waitpid(d->commit_pid, NULL, 0);
	if (d->w_commit.fd >= 0) {
		watch_del(d, &d->w_commit);
		close(d->w_commit.fd);
	}
	close(d->commit_out);
	d->commit_pid = 0;
	d->w_commit.fd = d->commit_out = -1;
}

/* A halt while a commit runs: stop it at once, and keep the session,
 * whole, for the next boot to commit (nothing is lost; the ISC stays on
 * its version meanwhile).  What the worker had mounted or staged goes. */
void commit_abort(struct iscd *d)
{
	static const char *const views[] = { "commit", "commit-up", "commit-base", "commit-l0",
		"commit-l1", "commit-l2", "commit-l3", "commit-l4", "commit-l5", "commit-l6", "commit-l7" };
	char line[64];
	kill(-d->commit_pid, SIGKILL);
	commit_collect(d, line, sizeof(line));
	for (size_t i = 0; i < ARRAY_SIZE(views); i++) {
		char path[300];
		snprintf(path, sizeof(path), "%s/%s", d->rundir, views[i]);
		umount2(path, MNT_DETACH);
	}
	session_fs_close(d, d->cfg.name, false);
	note(d, "commit", "isc: commit (%s) stopped by a halt: the session is kept and committed at the next boot",
	     d->commit_how);
	snprintf(d->ready_text, sizeof(d->ready_text), "FAIL halted during the commit; the session "
		 "is kept for the next boot\n");
}

/* A writable boot ended with init's status st: commit what it changed
 * (-W only if self-assembly succeeded), then come back read-only.  True
 * if a commit now runs. */
static bool session_end(struct iscd *d, int st)
{
	struct isc_err e = { 0 };
	if (d->mode == BOOT_ASSEMBLY && st != 0) {
		note(d, "commit", "NOTICE: Self-assembly failed (status %d): nothing committed, booting read-only", st);
		session_drop(d, d->cfg.name, &e);
		snprintf(d->ready_text, sizeof(d->ready_text),
			 "FAIL self-assembly failed (status %d); running read-only on the previous version\n", st);
		d->rebooting = true;
		return false;
	}
	if (d->mode == BOOT_ASSEMBLY) {
		note(d, "commit", "NOTICE: Self-assembly completed, rebooting read-only");
		commit_state_write(&d->pool, d->cfg.name, "commit -W", d->cfg.digest, &e);
		d->rebooting = true;
	}
	int r = commit_begin(d, boot_mode_flag(d->mode));
	if (r < 0) {
		note(d, "commit", "isc: cannot start the commit: %s; the session is kept", strerror(-r));
		session_fs_close(d, d->cfg.name, false);
	}
	return r == 0;
}

/* A read-only boot ended: commit what login -T sessions wrote, if any. */
static bool trusted_end(struct iscd *d)
{
	char state[64];
	struct isc_err e = { 0 };
	if (!commit_pending(&d->pool, d->cfg.name, state, sizeof(state)))
		return false;
	if (!STREQ(state, "commit -T")) {
		commit_discard(&d->pool, d->cfg.name, &e);   /* untouched: nothing could write */
		return false;
	}
	int r = commit_begin(d, "-T");
	if (r < 0)
		note(d, "commit", "isc: cannot start the commit: %s; the session is kept", strerror(-r));
	return r == 0;
}

/* A supervisor that died left a session layer: finish its commit (in a
 * worker, waited for: there is nothing else to answer yet), or drop it if
 * its self-assembly never completed or it can never be committed. */
int session_recover(struct iscd *d, const char *name, struct isc_err *e)
{
	char state[64], img[PATH_MAX], line[1100];
	if (!commit_pending(&d->pool, name, state, sizeof(state)))
		return 0;
	session_img(d, name, img, sizeof(img));
	if (!str_has_prefix(state, "commit "))
		return session_drop(d, name, e);
	if (access(img, F_OK) == 0 && session_fs_open(d, name, 0, e) < 0)
		return err_prefix(e, "finishing an interrupted commit");
	snprintf(d->cfg.name, sizeof(d->cfg.name), "%s", name);
	int r = commit_begin(d, state + 7);
	if (r < 0)
		return err_sys(e, -r, "finishing an interrupted commit");
	commit_collect(d, line, sizeof(line));
	if (commit_outcome(d, name, state + 7, line) < 0)
		return err_set(e, EIO, "finishing an interrupted commit: %s",
			       str_has_prefix(line, "ERR ") ? line + 4 : "failed");
	return 0;
}

/* isc-init ended with status st: a writable boot's session, or what
 * login -T sessions wrote, is committed now.  True if a commit runs. */
bool session_after_init(struct iscd *d, int st)
{
	if (boot_mode_writable(d->mode))
		return session_end(d, st);
	return d->spec.trusted_root && trusted_end(d);
}

/* The commit worker exited: act on its outcome. */
void commit_done(struct iscd *d)
{
	char line[1100];
	commit_collect(d, line, sizeof(line));
	commit_outcome(d, d->cfg.name, d->commit_how, line);
}
