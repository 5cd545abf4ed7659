/* state.c - a container's state directory (ROOT/ID: state.json, config.json,
 * exec.fifo until started), its status and its processes.  isc-runtime. */
#include "runtime.h"

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

const char *ctr_status_name(enum ctr_status s)
{
	switch (s) {
	case CTR_CREATING: return "creating";
	case CTR_CREATED: return "created";
	case CTR_RUNNING: return "running";
	case CTR_PAUSED: return "paused";
	case CTR_STOPPED: return "stopped";
	}
	return "unknown";
}

static void log_line(const struct rt *rt, const char *level, const char *msg)
{
	if (!rt->log)
		return;
	_cleanup_close_ int fd = open(rt->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	char ts[40];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now.tv_sec));
	if (rt->log_json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "level", json_object_new_string(level));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		json_object_object_add(o, "time", json_object_new_string(ts));
		dprintf(fd, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		dprintf(fd, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level, msg);
	}
}

void rt_log_error(const struct rt *rt, const char *msg)
{
	fprintf(stderr, "isc-runtime: %s\n", msg);
	log_line(rt, "error", msg);
}

void rt_log(const struct rt *rt, const char *level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line(rt, level, msg);
}

/* Engines' ids (podman's 64 hex digits, containerd's, a pod's names):
 * letters, digits, '_', '-', '.', '+', not starting with '.'. */
bool ctr_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > RT_MAX_ID || id[0] == '.')
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.+") == n;
}

int ctr_dir(const struct rt *rt, const char *id, char *buf, size_t n)
{
	if (!ctr_id_valid(id))
		return -EINVAL;
	return (size_t)snprintf(buf, n, "%s/%s", rt->root, id) >= n ? -ENAMETOOLONG : 0;
}

uint64_t proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k = fd < 0 ? -1 : read_all(fd, buf, sizeof(buf) - 1);
	if (k <= 0)
		return 0;
	buf[k] = '\0';
	/* after the command's closing parenthesis: field 3 on; start is 22 */
	char *p = strrchr(buf, ')');
	for (int f = 2; p && f < 22; f++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* "key=value" entries as a JSON object of strings. */
static struct json_object *annotations_json(char *const *kv)
{
	struct json_object *a = json_object_new_object();
	for (size_t i = 0; kv && kv[i]; i++) {
		size_t k = strcspn(kv[i], "=");
		_cleanup_free_ char *key = strndup(kv[i], k);
		if (key)
			json_object_object_add(a, key, json_object_new_string(kv[i] + k + 1));
	}
	return a;
}

int ctr_state_write(const struct rt *rt, const struct ctr_state *st, struct isc_err *e)
{
	char dir[PATH_MAX];
	if (ctr_dir(rt, st->id, dir, sizeof(dir)) < 0)
		return err_set(e, EINVAL, "container id %.64s", st->id);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "start", json_object_new_uint64(st->start));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
	json_object_object_add(o, "created", json_object_new_string(st->created));
	json_object_object_add(o, "cgroup", json_object_new_string(st->cgroup));
	json_object_object_add(o, "annotations", annotations_json(st->annotations));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
	/* no fsync: the state lives in /run and dies with the host's boot */
	int r = dfd < 0 ? -errno : write_file_replace(dfd, "state.json", text, strlen(text), 0600, 0);
	json_object_put(o);
	return r < 0 ? err_sys(e, -r, "write the state of %s", st->id) : 0;
}

static void copy_str(struct json_object *o, const char *key, char *dst, size_t n)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		str_copy(dst, n, json_object_get_string(v));
}

int ctr_state_read(const struct rt *rt, const char *id, struct ctr_state *st, struct isc_err *e)
{
	char dir[PATH_MAX];
	memset(st, 0, sizeof(*st));
	if (ctr_dir(rt, id, dir, sizeof(dir)) < 0)
		return err_set(e, EINVAL, "container id %.64s: letters, digits, _ - . + only (up to %d)", id, RT_MAX_ID);
	_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = dfd < 0 ? -errno : read_file_at(dfd, "state.json", &text, &len, 1 << 20);
	if (r == -ENOENT)
		return err_set(e, ENOENT, "container %s does not exist", id);
	if (r < 0)
		return err_sys(e, -r, "read the state of %s", id);
	struct json_object *o = json_tokener_parse(text), *v;
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return err_set(e, EINVAL, "the state of %s is not readable", id);
	}
	str_copy(st->id, sizeof(st->id), id);
	if (json_object_object_get_ex(o, "pid", &v))
		st->pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "start", &v))
		st->start = json_object_get_uint64(v);
	copy_str(o, "bundle", st->bundle, sizeof(st->bundle));
	copy_str(o, "rootfs", st->rootfs, sizeof(st->rootfs));
	copy_str(o, "created", st->created, sizeof(st->created));
	copy_str(o, "cgroup", st->cgroup, sizeof(st->cgroup));
	if (json_object_object_get_ex(o, "annotations", &v) && json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val) {
			_cleanup_free_ char *kv = NULL;
			if (asprintf(&kv, "%s=%s", key, json_object_get_string(val)) >= 0)
				strv_push(&st->annotations, kv);
		}
	}
	json_object_put(o);
	return 0;
}

void ctr_state_free(struct ctr_state *st)
{
	strv_free(st->annotations);
	st->annotations = NULL;
}

int ctr_pidfd(const struct ctr_state *st)
{
	if (st->pid <= 0)
		return -ESRCH;
	int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
	if (fd < 0)
		return -errno;
	/* the pid's start time checked after the pidfd is held: a later
	 * process with the same pid cannot be signalled in its stead */
	if (proc_start_time(st->pid) != st->start) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

enum ctr_status ctr_status(const struct rt *rt, const struct ctr_state *st)
{
	_cleanup_close_ int pfd = ctr_pidfd(st);
	if (pfd < 0)
		return CTR_STOPPED;
	/* a zombie that no one reaped yet is stopped too */
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", st->pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k = fd < 0 ? -1 : read_all(fd, buf, sizeof(buf) - 1);
	if (k > 0) {
		buf[k] = '\0';
		char *p = strrchr(buf, ')');
		if (p && (p[2] == 'Z' || p[2] == 'X'))
			return CTR_STOPPED;
	}
	char dir[PATH_MAX], fifo[PATH_MAX + 16];
	ctr_dir(rt, st->id, dir, sizeof(dir));
	snprintf(fifo, sizeof(fifo), "%s/exec.fifo", dir);
	if (access(fifo, F_OK) == 0)
		return CTR_CREATED;
	struct cgroup cg;
	if (cgroup_init_path(&cg, st->cgroup) == 0 && cgroup_frozen(&cg) > 0)
		return CTR_PAUSED;
	return CTR_RUNNING;
}

int ctr_spec_load(const struct rt *rt, const struct ctr_state *st, struct oci_spec *s, struct isc_err *e)
{
	char dir[PATH_MAX];
	ctr_dir(rt, st->id, dir, sizeof(dir));
	_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = dfd < 0 ? -errno : read_file_at(dfd, "config.json", &text, &len, OCI_MAX_CONFIG);
	if (r < 0)
		return err_sys(e, -r, "read the spec of %s", st->id);
	return oci_spec_parse(text, len, st->bundle, s, e) < 0 ? err_prefix(e, "%s", st->id) : 0;
}

char *ctr_state_json(const struct rt *rt, const struct ctr_state *st)
{
	enum ctr_status s = ctr_status(rt, st);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string("1.1.0"));
	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "pid", json_object_new_int(s == CTR_STOPPED ? 0 : st->pid));
	json_object_object_add(o, "status", json_object_new_string(ctr_status_name(s)));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
	json_object_object_add(o, "created", json_object_new_string(st->created));
	json_object_object_add(o, "owner", json_object_new_string(""));
	json_object_object_add(o, "annotations", annotations_json(st->annotations));
	char *out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int pids_add(const char *dir, pid_t **pids, size_t *n, int depth)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	_cleanup_(fclosep) FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	long v;
	while (fscanf(f, "%ld", &v) == 1) {
		pid_t *np = realloc(*pids, (*n + 1) * sizeof(pid_t));
		if (!np)
			return -ENOMEM;
		*pids = np;
		(*pids)[(*n)++] = (pid_t)v;
	}
	_cleanup_(closedirp) DIR *d = depth < 8 ? opendir(dir) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		char sub[PATH_MAX];
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= sizeof(sub))
			continue;
		int r = pids_add(sub, pids, n, depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

int ctr_pids(const struct ctr_state *st, pid_t **pids, size_t *n)
{
	struct cgroup cg;
	char dir[PATH_MAX];
	*pids = NULL;
	*n = 0;
	if (cgroup_init_path(&cg, st->cgroup) < 0 || cgroup_procs_dir(&cg, dir, sizeof(dir)) < 0)
		return -EINVAL;
	return pids_add(dir, pids, n, 0);
}
