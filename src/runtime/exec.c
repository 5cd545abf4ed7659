/* exec.c - another process in a running container: its cgroup, every
 * namespace of the container's first process, the same confinement.
 * isc-runtime. */
#include "runtime.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

/* The namespaces of pid that are not already ours (setns refuses to
 * enter one's own user namespace). */
static int ns_flags(pid_t pid)
{
	static const struct { const char *name; int flag; } ns[] = {
		{ "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "pid", CLONE_NEWPID },
		{ "net", CLONE_NEWNET }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
		{ "cgroup", CLONE_NEWCGROUP },
	};
	int flags = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		char theirs[64], ours[64];
		struct stat a, b;
		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", pid, ns[i].name);
		snprintf(ours, sizeof(ours), "/proc/self/ns/%s", ns[i].name);
		if (stat(theirs, &a) == 0 && stat(ours, &b) == 0 && (a.st_ino != b.st_ino || a.st_dev != b.st_dev))
			flags |= ns[i].flag;
	}
	return flags;
}

/* The process as the command line gives it: the container's own user,
 * capabilities and limits, with these args, cwd and environment added. */
static int process_from_args(const struct oci_spec *s, const struct exec_opts *o, struct oci_process *p,
			     struct isc_err *e)
{
	memset(p, 0, sizeof(*p));
	p->uid = s->proc.uid;
	p->gid = s->proc.gid;
	p->caps = s->proc.caps;
	p->nrlimits = s->proc.nrlimits;
	memcpy(p->rlimits, s->proc.rlimits, sizeof(p->rlimits));
	p->terminal = o->tty;
	p->args = strv_copy(o->args);
	p->env = strv_copy(s->proc.env ? s->proc.env : (char *[]){ NULL });
	p->cwd = strdup(o->cwd ? o->cwd : s->proc.cwd);
	if (!p->args || !p->env || !p->cwd)
		return err_set(e, ENOMEM, "exec");
	for (size_t i = 0; o->env && o->env[i]; i++)
		if (strv_push(&p->env, o->env[i]) < 0)
			return err_set(e, ENOMEM, "exec");
	if (!p->args[0])
		return err_set(e, EINVAL, "exec: no program to run (give --process or a command)");
	if (p->cwd[0] != '/')
		return err_set(e, EINVAL, "exec --cwd: must be absolute");
	return 0;
}

static int process_load(const struct oci_spec *s, const struct exec_opts *o, struct oci_process *p,
			struct isc_err *e)
{
	if (!o->process)
		return process_from_args(s, o, p, e);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file_at(AT_FDCWD, o->process, &text, &len, OCI_MAX_CONFIG);
	if (r < 0)
		return err_sys(e, -r, "--process %s", o->process);
	return oci_process_parse(text, len, s, p, e) < 0 ? err_prefix(e, "--process %s", o->process) : 0;
}

struct exec_child {
	const struct oci_spec *s;
	const struct oci_process *p;
	const struct exec_opts *o;
	struct cgroup *cg;
	int pidfd, console, mon, report, errfd;
	pid_t init;
};

/* The middle process: into the cgroup and the namespaces, then the
 * process itself forked (a pid namespace takes only children); its pid
 * goes back on report, and we end, so it is handed to a reaper. */
__attribute__((noreturn)) static void exec_middle(const struct exec_child *c)
{
	struct isc_err e = { 0 };
	/* the container's processes must not reach us through /proc (our
	 * binary, our descriptors) before the exec: not dumpable, and so
	 * the child we fork in there */
	prctl(PR_SET_DUMPABLE, 0);
	if (cgroup_attach(c->cg, getpid(), &e) < 0 || setns(c->pidfd, ns_flags(c->init)) < 0) {
		if (!e.code)
			err_sys(&e, errno, "enter the container's namespaces");
		write_all(c->errfd, &e, sizeof(e));
		_exit(1);
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(c->report);
		if (c->p->terminal && ctr_terminal(c->console, c->p->rows, c->p->cols, false, &e) < 0) {
			write_all(c->errfd, &e, sizeof(e));
			_exit(127);
		}
		if (c->console >= 0)
			close(c->console);
		ctr_exec_process(c->s, c->p, c->o->preserve_fds, c->mon, c->errfd);
	}
	int32_t v = pid < 0 ? -errno : pid;
	write_all(c->report, &v, sizeof(v));
	_exit(0);
}

static int exec_spawn(const struct rt *rt, const struct exec_opts *o, struct exec_child *c, pid_t *pid,
		      struct isc_err *e)
{
	int rep[2], err[2];
	if (pipe2(rep, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(rep[0]);
		close(rep[1]);
		return err_sys(e, errno, "pipe");
	}
	c->report = rep[1];
	c->errfd = err[1];
	pid_t mid = fork();
	if (mid == 0) {
		close(rep[0]);
		close(err[0]);
		exec_middle(c);
	}
	close(rep[1]);
	close(err[1]);
	int32_t v = -EIO;
	int r = 0;
	if (mid < 0 || read_all(rep[0], &v, sizeof(v)) != sizeof(v) || v <= 0)
		r = -1;
	if (mid > 0)
		waitpid(mid, NULL, 0);
	/* the process's report: end of file once it exec'd */
	struct isc_err ce;
	ssize_t k = read_all(err[0], &ce, sizeof(ce));
	close(rep[0]);
	close(err[0]);
	if (k == (ssize_t)sizeof(ce)) {
		ce.msg[sizeof(ce.msg) - 1] = '\0';
		*e = ce;
		return -(ce.code ? ce.code : EIO);
	}
	if (r < 0)
		return err_sys(e, v < 0 ? -v : EIO, "exec in %s", o->id);
	*pid = v;
	return 0;
}

int ctr_exec(const struct rt *rt, const struct exec_opts *o, struct isc_err *e)
{
	struct ctr_state st;
	struct oci_spec s;
	struct oci_process p = { 0 };
	struct cgroup cg;
	bool have_spec = false;
	int r, console = -1, mon = -1, pidfd = -1;
	if (ctr_state_read(rt, o->id, &st, e) < 0)
		return -e->code;
	enum ctr_status status = ctr_status(rt, &st);
	if (status != CTR_RUNNING && status != CTR_CREATED) {
		r = err_set(e, EINVAL, "container %s is %s: exec needs it running", o->id, ctr_status_name(status));
		goto out;
	}
	if ((r = ctr_spec_load(rt, &st, &s, e)) < 0)
		goto out;
	have_spec = true;
	if ((r = process_load(&s, o, &p, e)) < 0)
		goto out;
	if (p.terminal && !o->console_socket) {
		r = err_set(e, EINVAL, "exec with a terminal needs --console-socket");
		goto out;
	}
	if (p.terminal && (console = ctr_console_connect(o->console_socket, e)) < 0) {
		r = console;
		goto out;
	}
	struct confine conf;
	ctr_confine_init(&s, &conf);
	if ((r = confine_seccomp_prepare(conf.wx_filter, e)) < 0)
		goto out;
	if (cgroup_init_path(&cg, st.cgroup) < 0 || (pidfd = ctr_pidfd(&st)) < 0) {
		r = err_set(e, ESRCH, "container %s: its process is gone", o->id);
		goto out;
	}
	if ((mon = ctr_monitor_fork(rt, o->id)) < 0) {
		r = err_sys(e, -mon, "start the monitor");
		goto out;
	}
	/* in the foreground the process is ours to wait for: it comes back
	 * to us when the middle process ends */
	if (!o->detach)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	struct exec_child c = { .s = &s, .p = &p, .o = o, .cg = &cg, .pidfd = pidfd, .console = console,
				.mon = mon, .init = st.pid };
	pid_t pid = 0;
	if ((r = exec_spawn(rt, o, &c, &pid, e)) < 0)
		goto out;
	close(mon);
	mon = -1;
	if (o->pid_file) {
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "%d", pid);
		_cleanup_close_ int fd = open(o->pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0 || write_all(fd, buf, (size_t)n) < 0) {
			r = err_sys(e, errno, "--pid-file %s", o->pid_file);
			goto out;
		}
	}
	if (!o->detach) {
		int status_ = 0;
		while (waitpid(pid, &status_, 0) < 0 && errno == EINTR)
			;
		r = WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
	}
out:
	if (console >= 0)
		close(console);
	if (mon >= 0)
		close(mon);
	if (pidfd >= 0)
		close(pidfd);
	oci_process_free(&p);
	if (have_spec)
		oci_spec_free(&s);
	ctr_state_free(&st);
	return r;
}
