/* cgroup.c - front end: choose the back end, shared helpers; iscd and iscadm. */
#include "cgroup-internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

const char *const cg_parts[CG_NPARTS] = { [CG_PAYLOAD] = "payload", [CG_LOGIN] = "login" };

int cg_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write_all(fd, val, strlen(val));
}

int cg_write_u64(const char *dir, const char *file, uint64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cg_write(dir, file, buf);
}

int cg_read_u64(const char *dir, const char *file, const char *key, uint64_t *v)
{
	char path[PATH_MAX], line[256];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		if (key) {
			size_t n = strlen(key);
			if (strncmp(line, key, n) != 0 || line[n] != ' ')
				continue;
			p = line + n + 1;
		}
		if (str_has_prefix(p, "max")) {
			*v = UINT64_MAX;
			return 0;
		}
		return sscanf(p, "%" SCNu64, v) == 1 ? 0 : -EINVAL;
	}
	return -ENOENT;
}

int cg_kill_procs(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	int n = 0, pid;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 0 && kill(pid, SIGKILL) == 0)
			n++;
	fclose(f);
	return n;
}

int cg_count_procs(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int pid, n = 0;
	while (fscanf(f, "%d", &pid) == 1)
		n++;
	fclose(f);
	return n;
}

static void cg_nap(void)
{
	nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
}

int cg_mkdir(const char *dir)
{
	/* Another ISC's halt may remove a shared parent at any moment: make
	 * the missing parents again and retry (bounded). */
	for (int i = 0; i < 10; i++) {
		if (mkdir(dir, 0755) == 0 || errno == EEXIST)
			return 0;
		if (errno != ENOENT)
			return -errno;
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", dir);
		char *slash = strrchr(parent, '/');
		if (!slash || slash - parent <= (ptrdiff_t)strlen("/sys/fs/cgroup"))
			return -ENOENT;
		*slash = '\0';
		int r = cg_mkdir(parent);
		if (r < 0)
			return r;
	}
	return -ENOENT;
}

/* Does dir hold a child group? */
static bool cg_has_children(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d)))
		found = de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return found;
}

int cg_rmdir(const char *dir)
{
	/* A group whose last child was removed just before stays busy until
	 * that child goes offline, which the kernel finishes asynchronously
	 * (after an RCU grace period): wait for it, but not for a group that
	 * still holds children or processes -- that one is really in use. */
	for (int i = 0; i < 250; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || cg_has_children(dir) || cg_count_procs(dir) > 0)
			return -errno;
		cg_nap();
	}
	return -EBUSY;
}

void cg_path(char *buf, size_t n, const char *base, const char *sub)
{
	if (sub)
		snprintf(buf, n, "%s/%s", base, sub);
	else
		snprintf(buf, n, "%s", base);
}

/* Names of dir's child groups (strv_free); none if dir is gone. */
static int cg_children(const char *dir, char ***names)
{
	*names = calloc(1, sizeof(char *));
	if (!*names)
		return -ENOMEM;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d)))
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			r = strv_push(names, de->d_name);
	closedir(d);
	return r;
}

/* Deeper than any tree isc makes (isc/NAME/login/s<id>), with room for
 * groups a payload might have made below its own. */
#define CG_TREE_DEPTH 16

static void cg_tally(int r, int *first, int *sum)
{
	if (r < 0 && *first == 0)
		*first = r;
	else if (r > 0)
		*sum += r;
}

static int cg_tree_walk(const char *dir, int (*fn)(const char *d), int depth)
{
	_cleanup_strv_ char **kids = NULL;
	int first = 0, sum = 0;
	cg_tally(depth < CG_TREE_DEPTH ? cg_children(dir, &kids) : -ELOOP, &first, &sum);
	for (size_t i = 0; kids && kids[i]; i++) {
		char sub[PATH_MAX];
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, kids[i]) >= (int)sizeof(sub))
			cg_tally(-ENAMETOOLONG, &first, &sum);
		else
			cg_tally(cg_tree_walk(sub, fn, depth + 1), &first, &sum);
	}
	cg_tally(fn(dir), &first, &sum);
	return first < 0 ? first : sum;
}

int cg_tree_each(const char *dir, int (*fn)(const char *d))
{
	return cg_tree_walk(dir, fn, 0);
}

static bool unified(void)
{
	struct statfs sf;
	return statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

bool cgroup_systemd_owns(void)
{
	/* sd_booted(3)'s test: systemd is PID 1 */
	return unified() && access("/run/systemd/system", F_OK) == 0;
}

int cgroup_init(struct cgroup *cg, const char *isc_name)
{
	snprintf(cg->name, sizeof(cg->name), "isc/%s", isc_name);
	cg->ops = unified() ? &cgroup_v2_ops : &cgroup_v1_ops;
	/* an ISC whose supervisor made a scope has its groups there */
	char scope[PATH_MAX];
	snprintf(scope, sizeof(scope), CG_SLICE "/isc-%s.scope", isc_name);
	cg->scoped = cg->ops == &cgroup_v2_ops && access(scope, F_OK) == 0;
	if (cg->scoped)
		snprintf(cg->v2, sizeof(cg->v2), "%s/" CG_SCOPE_ISC, scope);
	else
		snprintf(cg->v2, sizeof(cg->v2), "/sys/fs/cgroup/%s", cg->name);
	return 0;
}

int cgroup_init_path(struct cgroup *cg, const char *path)
{
	while (*path == '/')
		path++;
	if (!*path || strlen(path) >= sizeof(cg->name))
		return -EINVAL;
	for (const char *c = path; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return -EINVAL;
		c += n;
		if (*c == '/' && !*++c)
			return -EINVAL;
	}
	str_copy(cg->name, sizeof(cg->name), path);
	cg->ops = unified() ? &cgroup_v2_ops : &cgroup_v1_ops;
	cg->scoped = false;
	snprintf(cg->v2, sizeof(cg->v2), "/sys/fs/cgroup/%s", cg->name);
	return 0;
}

int cgroup_procs_dir(const struct cgroup *cg, char *buf, size_t n)
{
	int k = cg->ops == &cgroup_v2_ops ? snprintf(buf, n, "%s", cg->v2)
					  : snprintf(buf, n, "/sys/fs/cgroup/pids/%s", cg->name);
	return (size_t)k >= n ? -ENAMETOOLONG : 0;
}

int cgroup_create(struct cgroup *cg, const struct cgroup_limits *l, struct isc_err *e)
{
	int r = cg->ops->create(cg, l);
	return r < 0 ? err_sys(e, -r, "create cgroup %s (%s)", cg->name, cg->ops->kind) : 0;
}

int cgroup_attach(struct cgroup *cg, pid_t pid, struct isc_err *e)
{
	int r = cg->ops->attach(cg, cg_parts[CG_PAYLOAD], pid);
	return r < 0 ? err_sys(e, -r, "move pid %d into cgroup %s", pid, cg->name) : 0;
}

static void session_sub(unsigned id, char *buf, size_t n)
{
	snprintf(buf, n, "%s/s%u", cg_parts[CG_LOGIN], id);
}

int cgroup_session_create(struct cgroup *cg, unsigned id, struct isc_err *e)
{
	char sub[32];
	session_sub(id, sub, sizeof(sub));
	/* login/ comes with the first session, not at boot: a group costs
	 * kernel memory in every hierarchy, and most ISCs never see a login.
	 * Made whole or removed, so one that exists has its limits. */
	int r = cg->ops->add(cg, cg_parts[CG_LOGIN], CGROUP_LOGIN_MEMORY, CGROUP_LOGIN_PIDS);
	if (r < 0 && r != -EEXIST) {
		cg->ops->remove(cg, cg_parts[CG_LOGIN]);
		return err_sys(e, -r, "create cgroup %s/%s (%s)", cg->name, cg_parts[CG_LOGIN], cg->ops->kind);
	}
	r = cg->ops->add(cg, sub, CGROUP_SESSION_MEMORY, CGROUP_SESSION_PIDS);
	if (r == -EEXIST)
		return err_set(e, EEXIST, "cgroup %s/%s exists: a session with id %u was not ended", cg->name,
			       sub, id);
	if (r < 0) {
		cg->ops->remove(cg, sub);   /* the half made, still empty */
		return err_sys(e, -r, "create cgroup %s/%s (%s)", cg->name, sub, cg->ops->kind);
	}
	return 0;
}

int cgroup_session_attach(struct cgroup *cg, unsigned id, pid_t pid, struct isc_err *e)
{
	char sub[32];
	session_sub(id, sub, sizeof(sub));
	int r = cg->ops->attach(cg, sub, pid);
	return r < 0 ? err_sys(e, -r, "move pid %d into cgroup %s/%s", pid, cg->name, sub) : 0;
}

/* Kill until sub's tree is empty, then remove it.  Bounded: kill closes
 * the tree to forks first (and pids.max bounds what a fork bomb made
 * before), so each round leaves fewer; 200 rounds of 10 ms at most. */
static int cg_end(struct cgroup *cg, const char *sub)
{
	for (int i = 0; i < 200; i++) {
		cg->ops->kill(cg, sub);
		/* a frozen task dies only once thawed (v1), and then before it
		 * runs one more instruction of its own: killed first, thawed
		 * after, nothing frozen wakes to act */
		if (i == 0 && !sub)
			cg->ops->thaw_tree(cg);
		else if (i == 0 && cg->ops->frozen(cg, sub) > 0)
			cg->ops->freeze(cg, sub, false);
		if (cg->ops->populated(cg, sub) <= 0)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	return cg->ops->remove(cg, sub);
}

int cgroup_session_end(struct cgroup *cg, unsigned id)
{
	char sub[32];
	session_sub(id, sub, sizeof(sub));
	return cg_end(cg, sub);
}

int cgroup_stats(struct cgroup *cg, struct cgroup_stats *st, struct isc_err *e)
{
	memset(st, 0, sizeof(*st));
	int r = cg->ops->stats(cg, st);
	return r < 0 ? err_sys(e, -r, "read cgroup %s (%s)", cg->name, cg->ops->kind) : 0;
}

int cgroup_destroy(struct cgroup *cg, struct isc_err *e)
{
	/* Nothing of the ISC may outlive it, sessions included. */
	int r = cg_end(cg, NULL);
	return r < 0 && e ? err_sys(e, -r, "remove cgroup %s", cg->name) : r;
}

/* Wait until sub's group is (not) frozen, as the kernel says. */
static int freeze_wait(struct cgroup *cg, const char *sub, bool frozen, struct isc_err *e)
{
	/* a task frozen at its next return to user space: quick, but one
	 * in an uninterruptible sleep (I/O on a stalled device) holds out */
	for (int i = 0; i < 2500; i++) {
		int f = cg->ops->frozen(cg, sub);
		if (f < 0)
			return err_sys(e, -f, "read the freezer state of cgroup %s", cg->name);
		if ((f > 0) == frozen)
			return 0;
		cg_nap();
	}
	return err_set(e, ETIMEDOUT, "cgroup %s: not every process could be %s within 5 s", cg->name,
		       frozen ? "frozen (thawed again)" : "thawed");
}

static int freeze_fail(struct cgroup *cg, int r, bool frozen, struct isc_err *e)
{
	if (r == -EOPNOTSUPP)
		return err_set(e, EOPNOTSUPP, "this host mounts no cgroup v1 freezer: ISCs cannot be frozen");
	return err_sys(e, -r, "%s cgroup %s", frozen ? "freeze" : "thaw", cg->name);
}

int cgroup_freeze(struct cgroup *cg, bool frozen, struct isc_err *e)
{
	int r = frozen ? cg->ops->freeze(cg, NULL, true) : cg->ops->thaw_tree(cg);
	if (r < 0)
		return freeze_fail(cg, r, frozen, e);
	if ((r = freeze_wait(cg, NULL, frozen, e)) < 0 && frozen)
		cg->ops->thaw_tree(cg);
	return r;
}

int cgroup_freeze_running(struct cgroup *cg, const unsigned *sessions, size_t n, struct isc_err *e)
{
	char sub[32];
	int top = cg->ops->frozen(cg, NULL);
	int r = top < 0 ? top : 0;
	size_t done = 0;
	for (; r == 0 && done <= n; done++) {
		if (done == 0)
			snprintf(sub, sizeof(sub), "%s", cg_parts[CG_PAYLOAD]);
		else
			session_sub(sessions[done - 1], sub, sizeof(sub));
		if ((r = cg->ops->freeze(cg, sub, true)) < 0)
			freeze_fail(cg, r, true, e);
		else
			r = freeze_wait(cg, sub, true, e);
	}
	if (r == 0 && top > 0 && (r = cg->ops->freeze(cg, NULL, false)) < 0)
		freeze_fail(cg, r, false, e);
	if (r < 0 && top <= 0)
		cg->ops->thaw_tree(cg);   /* as it was: nothing frozen */
	return r;
}

const char *const cgroup_psi_names[CGROUP_PSI_N] = { "cpu", "memory", "io" };

int cgroup_pressure_trigger(struct cgroup *cg, unsigned resource, unsigned pct, unsigned window_s)
{
	if (cg->ops != &cgroup_v2_ops)
		return -EOPNOTSUPP;
	if (resource >= CGROUP_PSI_N || !pct || pct > 100 || !window_s || window_s > 10)
		return -EINVAL;
	char path[PATH_MAX + 16], t[64];
	snprintf(path, sizeof(path), "%s/%s.pressure", cg->v2, cgroup_psi_names[resource]);
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint64_t window = (uint64_t)window_s * 1000000;
	int n = snprintf(t, sizeof(t), "some %" PRIu64 " %" PRIu64, window * pct / 100, window);
	if (write(fd, t, (size_t)n + 1) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int cgroup_frozen(struct cgroup *cg)
{
	return cg->ops->frozen(cg, NULL);
}

int cgroup_open(struct cgroup *cg, unsigned session)
{
	char sub[32];
	if (session)
		session_sub(session, sub, sizeof(sub));
	return cg->ops->open ? cg->ops->open(cg, session ? sub : cg_parts[CG_PAYLOAD]) : -EOPNOTSUPP;
}

/* Add the names of dir's children that start with prefix and end with
 * suffix, without them. */
static int names_in(const char *dir, const char *prefix, const char *suffix, char ***names)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *de;
	int r = 0;
	size_t np = strlen(prefix), ns = strlen(suffix);
	while (r == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (de->d_type != DT_DIR || de->d_name[0] == '.' || n <= np + ns ||
		    strncmp(de->d_name, prefix, np) != 0 || strcmp(de->d_name + n - ns, suffix) != 0)
			continue;
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(n - np - ns), de->d_name + np);
		r = strv_push(names, name);
	}
	closedir(d);
	return r;
}

int cgroup_names(char ***names)
{
	/* every ISC has a group in the pids hierarchy (v1) or the unified
	 * one, or a scope of its own under a host systemd */
	*names = calloc(1, sizeof(char *));
	if (!*names)
		return -ENOMEM;
	if (!unified())
		return names_in("/sys/fs/cgroup/pids/isc", "", "", names);
	int r = names_in("/sys/fs/cgroup/isc", "", "", names);
	return r < 0 ? r : names_in(CG_SLICE, "isc-", ".scope", names);
}

void cgroup_remove_parent(void)
{
	/* a group named like no ISC can be (names start alphanumeric): its
	 * destroy finds nothing of its own and takes the parent along, when
	 * the parent is empty */
	struct cgroup none;
	cgroup_init(&none, ".none");
	none.ops->remove(&none, NULL);
}
