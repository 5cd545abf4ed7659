/* create.c - create, start and delete: the container's first process made in
 * its namespaces and cgroup, its root built by the sandbox, waiting on
 * exec.fifo until start.  isc-runtime. */
#include "runtime.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

/* What the first process needs, set up by the parent before the clone. */
struct child {
	const struct oci_spec *s;
	const struct create_opts *o;
	int sync;                       /* 'G' from the parent; 'C' or an error back */
	int mon;                        /* the monitor's socket */
	int fifo;                       /* O_PATH of exec.fifo */
	int console;                    /* connected console socket, or -1 */
	const char *cgroup_v1;
	char *state;                    /* the state JSON, from the parent (container hooks) */
	int *idmap_fds;                 /* per mount: its idmapped clone, from the parent, or -1 */
};

static int hooks_run(const struct oci_hook *h, size_t n, const char *state, struct isc_err *e);

/* createContainer: in our namespaces, with every mount made, before pivot_root */
static int hooks_before_pivot(void *arg, struct isc_err *e)
{
	const struct child *c = arg;
	const struct oci_spec *s = c->s;
	return hooks_run(s->hooks[HOOK_CREATE_CONTAINER], s->nhooks[HOOK_CREATE_CONTAINER], c->state, e);
}

static int send_err(int sock, const struct isc_err *e)
{
	char buf[1 + sizeof(*e)];
	buf[0] = 'E';
	memcpy(buf + 1, e, sizeof(*e));
	return write_all(sock, buf, sizeof(buf));
}

static int join_namespaces(const struct oci_spec *s, struct isc_err *e)
{
	/* the user namespace first: the others are then entered as its root */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < s->nns; i++) {
			const struct oci_ns *n = &s->ns[i];
			if (!n->path || (n->type == CLONE_NEWUSER) != (pass == 0) || n->type == CLONE_NEWPID)
				continue;
			_cleanup_close_ int fd = open(n->path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, n->type) < 0)
				return err_sys(e, errno, "join namespace %s", n->path);
		}
	return 0;
}

static int sysctls_set(const struct oci_spec *s, struct isc_err *e)
{
	for (size_t i = 0; s->sysctl && s->sysctl[i]; i++) {
		char path[PATH_MAX];
		const char *kv = s->sysctl[i], *v = strchr(kv, '=') + 1;
		int n = snprintf(path, sizeof(path), "/proc/sys/%.*s", (int)(v - 1 - kv), kv);
		for (char *c = path + strlen("/proc/sys/"); n > 0 && *c; c++)
			if (*c == '.')
				*c = '/';
		_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || write_all(fd, v, strlen(v)) < 0)
			return err_sys(e, errno, "linux.sysctl %.*s", (int)(v - 1 - kv), kv);
	}
	return 0;
}

static int child_setup(const struct child *c, struct isc_err *e)
{
	const struct oci_spec *s = c->s;
	/* the idmapped binds, made by the parent, one message each in order */
	if (!c->idmap_fds)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < s->nmounts; i++) {
		char b;
		size_t nfd = 1;
		c->idmap_fds[i] = -1;
		if (s->mounts[i].idmap &&
		    (fd_recv(c->sync, &b, 1, &c->idmap_fds[i], &nfd) <= 0 || nfd != 1 || c->idmap_fds[i] < 0))
			return err_set(e, EPIPE, "the runtime went away");
	}
	/* 'G', then the state for the container's hooks: its length and text */
	char go;
	uint32_t len = 0;
	if (read_all(c->sync, &go, 1) != 1 || go != 'G' || read_all(c->sync, &len, sizeof(len)) != sizeof(len) ||
	    len > (1u << 20))
		return err_set(e, EPIPE, "the runtime went away");
	char *state = len ? malloc(len + 1) : NULL;
	if (len && (!state || read_all(c->sync, state, len) != (ssize_t)len))
		return err_set(e, EPIPE, "the runtime went away");
	if (state)
		state[len] = '\0';
	((struct child *)c)->state = state;
	if (oci_spec_ns(s, CLONE_NEWUSER) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return err_sys(e, errno, "become root in the user namespace");
	if (join_namespaces(s, e) < 0 || sysctls_set(s, e) < 0)
		return -e->code;
	const struct oci_ns *cgns = oci_spec_ns(s, CLONE_NEWCGROUP);
	if (cgns && !cgns->path && unshare(CLONE_NEWCGROUP) < 0)
		return err_sys(e, errno, "cgroup namespace");
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return err_sys(e, errno, "hostname");
	struct sandbox_oci o = {
		.root = s->root, .profile = s->profile, .mounts = s->mounts, .nmounts = s->nmounts,
		.masked = s->masked, .readonly = s->readonly, .root_propagation = s->rootfs_propagation,
		.exec_ok = s->exec_ok, .cgroup_v1 = c->cgroup_v1, .idmap_fds = c->idmap_fds,
		.before_pivot = s->nhooks[HOOK_CREATE_CONTAINER] ? hooks_before_pivot : NULL, .arg = (void *)c,
	};
	if (sandbox_oci_root(&o, e) < 0)
		return -e->code;
	if (s->proc.terminal && ctr_terminal(c->console, s->proc.rows, s->proc.cols, true, e) < 0)
		return -e->code;
	if (c->console >= 0)
		close(c->console);
	return 0;
}

__attribute__((noreturn)) static void child_main(const struct child *c)
{
	struct isc_err e = { 0 };
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* until it execs the container's program this process is isc-runtime,
	 * with our descriptors: nothing in the container may open its
	 * /proc/1/exe (the host's binary, CVE-2019-5736) or /proc/1/fd */
	prctl(PR_SET_DUMPABLE, 0);
	if (child_setup(c, &e) < 0) {
		send_err(c->sync, &e);
		_exit(1);
	}
	/* created: the parent may go; the engine's subreaper is our parent now */
	if (write_all(c->sync, "C", 1) < 0)
		_exit(1);
	prctl(PR_SET_PDEATHSIG, 0);
	close(c->sync);
	/* start opens the fifo's other end: until then we wait here */
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", c->fifo);
	int w = open(self, O_WRONLY | O_CLOEXEC);
	if (w < 0 || write_all(w, "0", 1) < 0)
		_exit(1);
	close(w);
	close(c->fifo);
	/* startContainer: in the container, before its process */
	if (hooks_run(c->s->hooks[HOOK_START_CONTAINER], c->s->nhooks[HOOK_START_CONTAINER], c->state, &e) < 0) {
		dprintf(2, "isc-runtime: %s\n", e.msg);
		_exit(1);
	}
	ctr_exec_process(c->s, &c->s->proc, c->o->preserve_fds, c->mon, -1);
}

static int write_map(pid_t pid, const char *file, const struct oci_idmap *m, size_t n)
{
	char path[64], buf[OCI_MAX_IDMAPS * 40] = "";
	for (size_t i = 0; i < n; i++) {
		char line[40];
		snprintf(line, sizeof(line), "%u %u %u\n", m[i].container, m[i].host, m[i].size);
		str_append(buf, sizeof(buf), line);
	}
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	return fd < 0 || write_all(fd, buf, strlen(buf)) < 0 ? -errno : 0;
}

/* ---- idmapped binds -----------------------------------------------------------
 * Made here, on the host: MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN in the user
 * namespace of the source's filesystem (the host's), which the container's
 * first process does not have.  Each is a detached clone of the source,
 * idmapped with a user namespace holding the mount's maps (the container's
 * own when they are the same), handed to the child to attach. */

static bool maps_equal(const struct oci_idmap *a, size_t na, const struct oci_idmap *b, size_t nb)
{
	return na == nb && memcmp(a, b, na * sizeof(*a)) == 0;
}

/* A user namespace with these maps, held by a child that waits on a pipe;
 * the namespace outlives it through the descriptor returned. */
static int userns_for(const struct oci_mount_ids *ids, struct isc_err *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(e, errno, "pipe");
	struct clone_args ca = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
	pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		char b;
		close(p[1]);
		_exit(read(p[0], &b, 1) < 0);
	}
	close(p[0]);
	int fd = -1, r = pid < 0 ? -errno : 0;
	char ns[64];
	if (r == 0 && ((r = write_map(pid, "uid_map", ids->uid, ids->nuid)) < 0 ||
		       (r = write_map(pid, "gid_map", ids->gid, ids->ngid)) < 0))
		err_sys(e, -r, "the mount's uidMappings: write the id maps");
	if (r == 0) {
		snprintf(ns, sizeof(ns), "/proc/%d/ns/user", pid);
		if ((fd = open(ns, O_RDONLY | O_CLOEXEC)) < 0)
			r = err_sys(e, errno, "open %s", ns);
	} else if (pid < 0) {
		err_sys(e, -r, "a user namespace for an idmapped mount");
	}
	close(p[1]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return r < 0 ? r : fd;
}

static int idmap_clone(const struct oci_mount *m, int userns, struct isc_err *e)
{
	/* Resolved here as the host's root, and idmapped the source's files
	 * become the container's own: a symlink anywhere in the path (one a
	 * container planted in a directory it can write, say) could hand it
	 * /etc.  So none is followed; an engine names the real path. */
	_cleanup_close_ int top = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int src = top < 0 ? -errno : inroot_open(top, m->source, O_PATH, INROOT_NO_SYMLINKS);
	if (src < 0)
		return err_set(e, -src, "bind %s (%s): %s", m->source, m->dest,
			       src == -ELOOP ? "a symlink in the path of an idmapped bind's source; give the path it "
					       "points to" : strerror(-src));
	int b = open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
			  (m->recursive ? AT_RECURSIVE : 0));
	if (b < 0)
		return err_sys(e, errno, "bind %s", m->source);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
	if (mount_setattr(b, "", AT_EMPTY_PATH | (m->ridmap ? AT_RECURSIVE : 0), &a, sizeof(a)) < 0) {
		int r = errno;
		close(b);
		return err_set(e, r, "bind %s (%s): cannot be idmapped (%s)%s", m->source, m->dest, strerror(r),
			       r == EINVAL ? ": its filesystem does not support idmapped mounts" : "");
	}
	return b;
}

/* Every idmap bind of the spec, made and sent to the child in order. */
static int idmaps_send(const struct oci_spec *s, pid_t pid, int sync, struct isc_err *e)
{
	_cleanup_close_ int own = -1;
	/* the container's user namespace: the child's new one, or the one it
	 * joins (not yet joined while it waits for these) */
	const struct oci_ns *u = oci_spec_ns(s, CLONE_NEWUSER);
	for (size_t i = 0; i < s->nmounts; i++) {
		const struct oci_mount *m = &s->mounts[i];
		const struct oci_mount_ids *ids = s->mount_ids[i];
		if (!m->idmap)
			continue;
		_cleanup_close_ int mine = -1;
		int userns;
		/* no maps of its own: the spec's check made sure there is a user namespace */
		if (!ids || (u && !u->path && maps_equal(ids->uid, ids->nuid, s->uidmap, s->nuidmap) &&
			     maps_equal(ids->gid, ids->ngid, s->gidmap, s->ngidmap))) {
			char ns[64];
			snprintf(ns, sizeof(ns), "/proc/%d/ns/user", pid);
			const char *path = u && u->path ? u->path : ns;
			if (own < 0 && (own = open(path, O_RDONLY | O_CLOEXEC)) < 0)
				return err_sys(e, errno, "open %s", path);
			userns = own;
		} else if ((userns = mine = userns_for(ids, e)) < 0) {
			return userns;
		}
		int b = idmap_clone(m, userns, e);
		if (b < 0)
			return b;
		int r = fd_send(sync, "M", 1, &b, 1);
		close(b);
		if (r < 0)
			return err_sys(e, -r, "the container's process went away");
	}
	return 0;
}

/* The new namespaces (those without a path) in one clone; a pid
 * namespace to join is entered before it, so the child is born there. */
static pid_t clone_child(const struct oci_spec *s, struct isc_err *e)
{
	uint64_t flags = 0;
	for (size_t i = 0; i < s->nns; i++) {
		if (!s->ns[i].path) {
			/* a cgroup namespace is made by the child once it is in its
			 * group, so that group is the namespace's root */
			if (s->ns[i].type != CLONE_NEWCGROUP)
				flags |= (uint64_t)s->ns[i].type;
		} else if (s->ns[i].type == CLONE_NEWPID) {
			_cleanup_close_ int fd = open(s->ns[i].path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWPID) < 0)
				return err_sys(e, errno, "join pid namespace %s", s->ns[i].path);
		}
	}
	struct clone_args ca = { .flags = flags, .exit_signal = SIGCHLD };
	pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0)
		return err_sys(e, errno, "clone the container's process");
	return pid;
}

static void now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	char base[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", gmtime(&ts.tv_sec));
	snprintf(buf, n, "%s.%09ldZ", base, ts.tv_nsec);
}

/* The parent's half once the child exists: id maps, cgroup, go, and its word. */
static int parent_steps(const struct oci_spec *s, struct cgroup *cg, pid_t pid, int sync, const char *state,
			struct isc_err *e)
{
	const struct oci_ns *u = oci_spec_ns(s, CLONE_NEWUSER);
	int r;
	if (u && !u->path && ((r = write_map(pid, "uid_map", s->uidmap, s->nuidmap)) < 0 ||
			      (r = write_map(pid, "gid_map", s->gidmap, s->ngidmap)) < 0))
		return err_sys(e, -r, "linux.uidMappings: write the id maps");
	if ((r = idmaps_send(s, pid, sync, e)) < 0)
		return r;
	if (cgroup_attach(cg, pid, e) < 0)
		return -e->code;
	uint32_t len = state ? (uint32_t)strlen(state) : 0;
	if (write_all(sync, "G", 1) < 0 || write_all(sync, &len, sizeof(len)) < 0 || (len && write_all(sync, state, len) < 0))
		return err_sys(e, errno, "the container's process went away");
	char buf[1 + sizeof(struct isc_err)];
	ssize_t k = read_all(sync, buf, sizeof(buf));
	if (k >= 1 && buf[0] == 'C')
		return 0;
	if (k == (ssize_t)sizeof(buf) && buf[0] == 'E') {
		memcpy(e, buf + 1, sizeof(*e));
		e->msg[sizeof(e->msg) - 1] = '\0';
		return -(e->code ? e->code : EIO);
	}
	return err_set(e, EIO, "the container's process died while it was being made");
}

static int pid_file_write(const char *path, pid_t pid, struct isc_err *e)
{
	char buf[16], dir[PATH_MAX];
	int n = snprintf(buf, sizeof(buf), "%d", pid);
	str_copy(dir, sizeof(dir), path);
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : dir;
	if (slash)
		*slash = '\0';
	_cleanup_close_ int dfd = open(slash ? (*dir ? dir : "/") : ".", O_DIRECTORY | O_CLOEXEC);
	int r = dfd < 0 ? -errno : write_file_replace(dfd, name, buf, (size_t)n, 0644, 0);
	return r < 0 ? err_sys(e, -r, "--pid-file %s", path) : 0;
}

static int spec_read(const char *bundle, char **text, size_t *len, struct isc_err *e)
{
	_cleanup_close_ int dfd = open(bundle, O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(e, errno, "bundle %s", bundle);
	int r = read_file_at(dfd, "config.json", text, len, OCI_MAX_CONFIG);
	return r < 0 ? err_sys(e, -r, "%s/config.json", bundle) : 0;
}

struct made {
	char dir[PATH_MAX];
	struct cgroup cg;
	bool dir_made, cg_made;
	pid_t pid;
	int mon;
};

/* Undo create: nothing is left in --root or in the cgroups. */
static void made_undo(struct made *m)
{
	if (m->pid > 0) {
		kill(m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
	}
	if (m->mon >= 0)
		close(m->mon);
	struct isc_err e2 = { 0 };
	if (m->cg_made)
		cgroup_destroy(&m->cg, &e2);
	if (m->dir_made)
		rm_rf_at(AT_FDCWD, m->dir);
}

static int ctr_prepare(const struct rt *rt, const struct create_opts *o, struct oci_spec *s, struct made *m,
		       struct ctr_state *st, struct isc_err *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	char bundle[PATH_MAX];
	if (!realpath(o->bundle, bundle))
		return err_sys(e, errno, "bundle %s", o->bundle);
	if (spec_read(bundle, &text, &len, e) < 0 || oci_spec_parse(text, len, bundle, s, e) < 0)
		return -e->code;
	int r = mkdir_p_at(AT_FDCWD, rt->root, 0700);
	if (r < 0)
		return err_sys(e, -r, "--root %s", rt->root);
	if (ctr_dir(rt, o->id, m->dir, sizeof(m->dir)) < 0)
		return err_set(e, EINVAL, "container id %.64s: letters, digits, _ - . + only (up to %d)", o->id,
			       RT_MAX_ID);
	if (mkdir(m->dir, 0700) < 0)
		return errno == EEXIST ? err_set(e, EEXIST, "container %s exists", o->id)
				       : err_sys(e, errno, "make %s", m->dir);
	m->dir_made = true;
	_cleanup_close_ int dfd = open(m->dir, O_DIRECTORY | O_CLOEXEC);
	r = dfd < 0 ? -errno : write_file_replace(dfd, "config.json", text, len, 0600, 0);
	if (r == 0 && mkfifoat(dfd, "exec.fifo", 0600) < 0)
		r = -errno;
	/* in a user namespace the container's root opens the fifo: it is
	 * made its (as runc does), and stays 0600 in our 0700 directory */
	for (size_t i = 0; r == 0 && oci_spec_ns(s, CLONE_NEWUSER) && i < s->nuidmap; i++)
		if (s->uidmap[i].container == 0 &&
		    fchownat(dfd, "exec.fifo", s->uidmap[i].host, s->ngidmap ? s->gidmap[0].host : 0, 0) < 0)
			r = -errno;
	if (r < 0)
		return err_sys(e, -r, "make the state of %s", o->id);
	char path[300];
	snprintf(path, sizeof(path), "%s", s->cgroups_path ? s->cgroups_path : "");
	if (!*path)
		snprintf(path, sizeof(path), rt->systemd_cgroup ? "system.slice:isc-runtime:%s" : "isc-runtime/%s", o->id);
	/* --systemd-cgroup: we enter the transient scope systemd makes for
	 * the container (our child is born in it), its groups below */
	if (rt->systemd_cgroup && (cgroup_init_path(&m->cg, "isc-runtime") < 0 ||
				   cgroup_scope_enter_oci(&m->cg, path, e) < 0))
		return e->code ? -e->code : err_set(e, EINVAL, "--systemd-cgroup");
	if (!rt->systemd_cgroup && cgroup_init_path(&m->cg, path) < 0)
		return err_set(e, EINVAL, "linux.cgroupsPath %.64s: not a path isc-runtime makes", path);
	if (cgroup_create(&m->cg, &s->limits, e) < 0)
		return -e->code;
	m->cg_made = true;
	str_copy(st->id, sizeof(st->id), o->id);
	str_copy(st->bundle, sizeof(st->bundle), bundle);
	str_copy(st->rootfs, sizeof(st->rootfs), s->root);
	str_copy(st->cgroup, sizeof(st->cgroup), m->cg.name);
	now_rfc3339(st->created, sizeof(st->created));
	st->annotations = s->annotations;
	return 0;
}

int ctr_create(const struct rt *rt, const struct create_opts *o, pid_t *pidp, struct isc_err *e)
{
	/* zeroed: a bundle that cannot be read leaves it unparsed, and freed */
	struct oci_spec s = { 0 };
	struct ctr_state st = { 0 };
	struct made m = { .mon = -1 };
	int sv[2] = { -1, -1 }, console = -1, fifo = -1;
	int r = ctr_prepare(rt, o, &s, &m, &st, e);
	struct stat rst;
	/* said here, before anything is made in the container's namespaces */
	if (r == 0 && (stat(s.root, &rst) < 0 || !S_ISDIR(rst.st_mode)))
		r = err_sys(e, errno ? errno : ENOTDIR, "root.path %s", s.root);
	if (r == 0 && s.proc.terminal && !o->console_socket)
		r = err_set(e, EINVAL, "process.terminal is true but no --console-socket was given");
	if (r == 0 && o->console_socket && s.proc.terminal && (console = ctr_console_connect(o->console_socket, e)) < 0)
		r = console;
	struct confine conf;
	if (r == 0)
		ctr_confine_init(&s, &conf);
	/* compiled once here; the child loads the program as it is */
	if (r == 0 && (r = confine_seccomp_prepare(conf.wx_filter, e)) == 0 &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		r = err_sys(e, errno, "socketpair");
	if (r == 0) {
		char fp[PATH_MAX + 16];
		snprintf(fp, sizeof(fp), "%s/exec.fifo", m.dir);
		if ((fifo = open(fp, O_PATH | O_CLOEXEC)) < 0)
			r = err_sys(e, errno, "open %s", fp);
	}
	if (r == 0 && (m.mon = ctr_monitor_fork(rt, o->id)) < 0)
		r = err_sys(e, -m.mon, "start the monitor");
	bool v1 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0;
	/* what the container sees of its cgroup (v1): the group its processes
	 * are in, with the limits the spec gave, not isc's total above it */
	char payload[sizeof(m.cg.name) + 16];
	snprintf(payload, sizeof(payload), "%s/payload", m.cg.name);
	if (r == 0) {
		pid_t pid = clone_child(&s, e);
		if (pid == 0) {
			close(sv[0]);
			struct child c = { .s = &s, .o = o, .sync = sv[1], .mon = m.mon, .fifo = fifo,
					   .console = console, .cgroup_v1 = v1 ? payload : NULL,
					   .idmap_fds = calloc(s.nmounts + 1, sizeof(int)) };
			child_main(&c);
		}
		if (pid < 0)
			r = pid;
		else
			m.pid = pid;
	}
	if (sv[1] >= 0)
		close(sv[1]);
	if (console >= 0)
		close(console);
	if (fifo >= 0)
		close(fifo);
	/* the container's own hooks get the state too: the pid is known now */
	_cleanup_free_ char *state = NULL;
	if (r == 0 && (s.nhooks[HOOK_CREATE_CONTAINER] || s.nhooks[HOOK_START_CONTAINER])) {
		st.pid = m.pid;
		st.start = proc_start_time(m.pid);
		state = ctr_state_json(rt, &st);
	}
	if (r == 0)
		r = parent_steps(&s, &m.cg, m.pid, sv[0], state, e);
	if (r == 0) {
		st.pid = m.pid;
		st.start = proc_start_time(m.pid);
		r = ctr_state_write(rt, &st, e);
	}
	if (r == 0 && o->pid_file)
		r = pid_file_write(o->pid_file, m.pid, e);
	if (r == 0 && (r = ctr_hooks(rt, &s, HOOK_CREATE_RUNTIME, &st, e)) == 0)
		r = ctr_hooks(rt, &s, HOOK_PRESTART, &st, e);
	if (sv[0] >= 0)
		close(sv[0]);
	if (r < 0) {
		made_undo(&m);
	} else {
		close(m.mon);
		*pidp = m.pid;
	}
	st.annotations = NULL;
	oci_spec_free(&s);
	return r;
}

/* Wait for the created process to open its end of the exec fifo and take
 * the byte that lets it exec. */
static int start_release(const struct rt *rt, const char *id, const struct ctr_state *st, struct isc_err *e)
{
	char fp[PATH_MAX + 16];
	ctr_dir(rt, id, fp, sizeof(fp));
	str_append(fp, sizeof(fp), "/exec.fifo");
	_cleanup_close_ int fifo = open(fp, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	_cleanup_close_ int pfd = ctr_pidfd(st);
	if (fifo < 0 || pfd < 0)
		return err_sys(e, fifo < 0 ? errno : -pfd, "start %s", id);
	/* the process opens its end and writes one byte; or it dies */
	for (;;) {
		struct pollfd p[2] = { { .fd = fifo, .events = POLLIN }, { .fd = pfd, .events = POLLIN } };
		if (poll(p, 2, 10000) <= 0)
			return err_set(e, ETIMEDOUT, "start %s: the container's process does not answer", id);
		char b;
		if ((p[0].revents & POLLIN) && read(fifo, &b, 1) == 1)
			break;
		if (p[1].revents & POLLIN)
			return err_set(e, ESRCH, "start %s: the container's process is gone", id);
	}
	unlink(fp);
	return 0;
}

int ctr_start(const struct rt *rt, const char *id, struct isc_err *e)
{
	struct ctr_state st;
	if (ctr_state_read(rt, id, &st, e) < 0)
		return -e->code;
	enum ctr_status status = ctr_status(rt, &st);
	int r;
	if (status != CTR_CREATED)
		r = err_set(e, EINVAL, "container %s is %s, not created", id, ctr_status_name(status));
	else
		r = start_release(rt, id, &st, e);
	struct oci_spec s;
	if (r == 0 && ctr_spec_load(rt, &st, &s, e) == 0) {
		struct isc_err he = { 0 };
		/* poststart hooks: a failure is logged, the container runs on */
		if (ctr_hooks(rt, &s, HOOK_POSTSTART, &st, &he) < 0)
			rt_log(rt, "warning", "%s", he.msg);
		oci_spec_free(&s);
	}
	if (r == 0)
		err_clear(e);
	ctr_state_free(&st);
	return r;
}

int ctr_delete(const struct rt *rt, const char *id, bool force, struct isc_err *e)
{
	struct ctr_state st;
	if (ctr_state_read(rt, id, &st, e) < 0) {
		/* as runc: what a create cut short left goes, and --force asks
		 * only that nothing be left */
		char dir[PATH_MAX];
		if (e->code == ENOENT && ctr_dir(rt, id, dir, sizeof(dir)) == 0)
			rm_rf_at(AT_FDCWD, dir);
		if (e->code == ENOENT && force) {
			err_clear(e);
			return 0;
		}
		return -e->code;
	}
	enum ctr_status status = ctr_status(rt, &st);
	int r = 0;
	if ((status == CTR_RUNNING || status == CTR_PAUSED) && !force) {
		r = err_set(e, EBUSY, "container %s is %s; stop it first, or delete --force", id,
			    ctr_status_name(status));
		goto out;
	}
	struct cgroup cg;
	if (cgroup_init_path(&cg, st.cgroup) == 0) {
		if (status == CTR_PAUSED)
			cgroup_freeze(&cg, false, e);
		if (cgroup_destroy(&cg, e) < 0) {
			r = -e->code;
			goto out;
		}
	}
	struct oci_spec s;
	if (ctr_spec_load(rt, &st, &s, e) == 0) {
		struct isc_err he = { 0 };
		if (ctr_hooks(rt, &s, HOOK_POSTSTOP, &st, &he) < 0)
			rt_log(rt, "warning", "%s", he.msg);
		oci_spec_free(&s);
	}
	err_clear(e);
	char dir[PATH_MAX];
	ctr_dir(rt, id, dir, sizeof(dir));
	if ((r = rm_rf_at(AT_FDCWD, dir)) < 0)
		err_sys(e, -r, "remove %s", dir);
out:
	ctr_state_free(&st);
	return r;
}

/* One hook: its program with the state on stdin, within its timeout. */
static int hook_run(const struct oci_hook *h, const char *state, struct isc_err *e)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return err_sys(e, errno, "hook %s", h->path);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, 1);
		sig_reset_for_exec();
		char *const none[] = { h->path, NULL };
		char *const empty[] = { NULL };
		execve(h->path, h->args && h->args[0] ? h->args : none, h->env ? h->env : empty);
		_exit(127);
	}
	close(in[0]);
	if (pid < 0) {
		close(in[1]);
		return err_sys(e, errno, "hook %s", h->path);
	}
	signal(SIGPIPE, SIG_IGN);
	write_all(in[1], state, strlen(state));
	close(in[1]);
	int status = 0;
	int waited = 0, limit = h->timeout ? h->timeout * 100 : -1;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (limit >= 0 && waited++ >= limit) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return err_set(e, ETIMEDOUT, "hook %s: no end within %d s", h->path, h->timeout);
		}
		usleep(10000);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return err_set(e, EIO, "hook %s failed (%s %d)", h->path, WIFEXITED(status) ? "exit" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}

static int hooks_run(const struct oci_hook *h, size_t n, const char *state, struct isc_err *e)
{
	for (size_t i = 0; i < n; i++)
		if (hook_run(&h[i], state ? state : "{}", e) < 0)
			return -e->code;
	return 0;
}

int ctr_hooks(const struct rt *rt, const struct oci_spec *s, enum oci_hook_kind kind, const struct ctr_state *st,
	      struct isc_err *e)
{
	if (!s->nhooks[kind])
		return 0;
	_cleanup_free_ char *state = ctr_state_json(rt, st);
	if (!state)
		return err_set(e, ENOMEM, "hooks");
	return hooks_run(s->hooks[kind], s->nhooks[kind], state, e);
}
