/* scope.c - a transient systemd scope, delegated: an ISC's and its supervisor's, or an OCI container's.
 * iscd and isc-runtime only: the one part of isc that links libsystemd (docs/cgroups.md). */
#include "cgroup-internal.h"

#include <systemd/sd-bus.h>
#include <time.h>

/* This process's group in the unified hierarchy ("/isc.slice/..."). */
static int self_cgroup(char *buf, size_t n)
{
	char line[PATH_MAX + 8];
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (str_has_prefix(line, "0::")) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, n, "%s", line + 3);
			return 0;
		}
	return -ENOENT;
}

static bool in_group(const char *group)
{
	char self[PATH_MAX];
	size_t n = strlen(group);
	return self_cgroup(self, sizeof(self)) == 0 && strncmp(self, group, n) == 0 &&
	       (self[n] == '\0' || self[n] == '/');
}

/* libsystemd, loaded only where systemd owns the cgroups (the scope is
 * its one use): pointers of the header's own types. */
static struct {
	typeof(&sd_bus_new) new;
	typeof(&sd_bus_set_address) set_address;
	typeof(&sd_bus_start) start;
	typeof(&sd_bus_message_new_method_call) message_new_method_call;
	typeof(&sd_bus_message_append) message_append;
	typeof(&sd_bus_message_open_container) message_open_container;
	typeof(&sd_bus_message_close_container) message_close_container;
	typeof(&sd_bus_call) call;
	typeof(&sd_bus_error_has_name) error_has_name;
	typeof(&sd_bus_error_free) error_free;
	typeof(&sd_bus_message_unref) message_unref;
	typeof(&sd_bus_flush_close_unref) flush_close_unref;
} sd;

static int sd_load(struct isc_err *e)
{
	static const char soname[] = "libsystemd.so.0";
	if (sd.new)
		return 0;
	void *h = lib_open(soname, "libsystemd0", e);
	if (!h)
		return -e->code;
	const struct lib_sym syms[] = {
		LIB_SYM(sd.new, sd_bus_new), LIB_SYM(sd.set_address, sd_bus_set_address),
		LIB_SYM(sd.start, sd_bus_start),
		LIB_SYM(sd.message_new_method_call, sd_bus_message_new_method_call),
		LIB_SYM(sd.message_append, sd_bus_message_append),
		LIB_SYM(sd.message_open_container, sd_bus_message_open_container),
		LIB_SYM(sd.message_close_container, sd_bus_message_close_container),
		LIB_SYM(sd.call, sd_bus_call), LIB_SYM(sd.error_has_name, sd_bus_error_has_name),
		LIB_SYM(sd.error_free, sd_bus_error_free), LIB_SYM(sd.message_unref, sd_bus_message_unref),
		LIB_SYM(sd.flush_close_unref, sd_bus_flush_close_unref),
	};
	int r = lib_syms(h, soname, syms, ARRAY_SIZE(syms), e);
	if (r < 0)
		sd.new = NULL;
	return r;
}

/* Ask systemd for the scope, with us as its one process.  Straight to
 * systemd's private socket, as systemctl does for root: no bus daemon
 * needed.  -EEXIST while a scope of that name is still there (the last
 * one's processes just killed: systemd collects it soon). */
static int scope_start(const char *unit, const char *slice, const char *desc, struct isc_err *e)
{
	sd_bus *bus = NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int r = sd_load(e);
	if (r < 0)
		return r;
	r = sd.new(&bus);
	if (r >= 0)
		r = sd.set_address(bus, "unix:path=/run/systemd/private");
	if (r >= 0)
		r = sd.start(bus);
	if (r < 0) {
		err_sys(e, -r, "reach systemd (/run/systemd/private) for scope %s", unit);
		goto out;
	}
	r = sd.message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
					   "org.freedesktop.systemd1.Manager", "StartTransientUnit");
	if (r >= 0)
		r = sd.message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = sd.message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd.message_append(m, "(sv)(sv)(sv)(sv)(sv)", "Description", "s", desc,
					  "Slice", "s", slice, "Delegate", "b", 1,
					  "CollectMode", "s", "inactive-or-failed",
					  "PIDs", "au", 1, (uint32_t)getpid());
	if (r >= 0)
		r = sd.message_close_container(m);
	if (r >= 0)
		r = sd.message_append(m, "a(sa(sv))", 0);
	if (r < 0) {
		err_sys(e, -r, "build the request for scope %s", unit);
		goto out;
	}
	r = sd.call(bus, m, 0, &err, &reply);
	if (r < 0) {
		if (sd.error_has_name(&err, "org.freedesktop.systemd1.UnitExists"))
			r = -EEXIST;
		err_set(e, -r, "systemd refused scope %s: %s", unit, err.message ? err.message : strerror(-r));
	}
out:
	sd.error_free(&err);
	sd.message_unref(reply);
	sd.message_unref(m);
	sd.flush_close_unref(bus);
	return r < 0 ? r : 0;
}

/* "a-b-c.slice" as a path: "/a.slice/a-b.slice/a-b-c.slice" (systemd.slice(5)). */
static int slice_path(const char *slice, char *buf, size_t n)
{
	size_t len = strlen(slice);
	if (!str_has_suffix(slice, ".slice") || len == strlen(".slice") || strchr(slice, '/'))
		return -EINVAL;
	buf[0] = '\0';
	if (STREQ(slice, "-.slice"))
		return 0;
	for (const char *d = slice; (d = strchr(d, '-')) && (size_t)(d - slice) < len - strlen(".slice"); d++) {
		char part[PATH_MAX];
		snprintf(part, sizeof(part), "/%.*s.slice", (int)(d - slice), slice);
		str_append(buf, n, part);
	}
	char last[PATH_MAX];
	snprintf(last, sizeof(last), "/%s", slice);
	str_append(buf, n, last);
	return 0;
}

/* Enter scope unit (in slice) and make cg its isc/ group: the common half. */
static int scope_enter(struct cgroup *cg, const char *unit, const char *slice, const char *desc, struct isc_err *e)
{
	char group[PATH_MAX], dir[PATH_MAX + 32], pid[32], sp[PATH_MAX];
	if (slice_path(slice, sp, sizeof(sp)) < 0)
		return err_set(e, EINVAL, "%s: not a slice", slice);
	snprintf(group, sizeof(group), "%s/%s", sp, unit);
	int r = 0;
	/* a reboot: the supervisor is in its scope already */
	if (!in_group(group)) {
		for (int i = 0; i < 100; i++) {
			e->code = 0;
			if ((r = scope_start(unit, slice, desc, e)) != -EEXIST)
				break;
			nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
		}
		if (r < 0)
			return r;
		/* systemd moves us when it runs the job, just after it answered */
		for (int i = 0; i < 500 && !in_group(group); i++)
			nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
		if (!in_group(group))
			return err_set(e, ETIMEDOUT, "systemd did not move us into scope %s", unit);
	}
	/* the scope's own group passes the controllers on, so holds no
	 * process: we live in a leaf beside the groups' isc/ */
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s/" CG_SCOPE_SUPERVISOR, group);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if ((r = cg_mkdir(dir)) < 0 || (r = cg_write(dir, "cgroup.procs", pid)) < 0)
		return err_sys(e, -r, "move into %s", dir);
	cg->scoped = true;
	snprintf(cg->v2, sizeof(cg->v2), "/sys/fs/cgroup%s/" CG_SCOPE_ISC, group);
	snprintf(cg->name, sizeof(cg->name), "%s/" CG_SCOPE_ISC, group + 1);
	return 0;
}

int cgroup_scope_enter(struct cgroup *cg, const char *isc_name, struct isc_err *e)
{
	if (!cgroup_systemd_owns())
		return 0;
	char unit[128], desc[128], name[sizeof(cg->name)];
	snprintf(unit, sizeof(unit), "isc-%s.scope", isc_name);
	snprintf(desc, sizeof(desc), "isc: ISC %s and its supervisor", isc_name);
	/* the ISC's groups keep their name (isc/NAME): only the path moves */
	str_copy(name, sizeof(name), cg->name);
	int r = scope_enter(cg, unit, "isc.slice", desc, e);
	str_copy(cg->name, sizeof(cg->name), name);
	return r;
}

int cgroup_scope_enter_oci(struct cgroup *cg, const char *path, struct isc_err *e)
{
	/* "slice:prefix:name", as runc reads it: the unit prefix-name.scope
	 * (or name itself when it ends in .slice, refused here), slice
	 * system.slice when empty */
	char slice[128], prefix[128], name[128], unit[400], desc[300];
	if (!cgroup_systemd_owns())
		return err_set(e, EOPNOTSUPP, "--systemd-cgroup: systemd does not own this host's cgroups (use cgroupfs)");
	const char *a = strchr(path, ':'), *b = a ? strchr(a + 1, ':') : NULL;
	if (!a || !b || strchr(b + 1, ':') || !b[1] || (size_t)(a - path) >= sizeof(slice) ||
	    (size_t)(b - a - 1) >= sizeof(prefix) || strlen(b + 1) >= sizeof(name))
		return err_set(e, EINVAL, "linux.cgroupsPath %.64s: not slice:prefix:name (--systemd-cgroup)", path);
	snprintf(slice, sizeof(slice), "%.*s", (int)(a - path), path);
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(b - a - 1), a + 1);
	snprintf(name, sizeof(name), "%s", b + 1);
	if (!*slice)
		snprintf(slice, sizeof(slice), "system.slice");
	if (str_has_suffix(name, ".slice") || strchr(name, '/') || strchr(prefix, '/'))
		return err_set(e, EINVAL, "linux.cgroupsPath %.64s: a scope's name, not a slice or a path", path);
	if (*prefix)
		snprintf(unit, sizeof(unit), "%s-%s.scope", prefix, name);
	else
		snprintf(unit, sizeof(unit), "%s.scope", name);
	snprintf(desc, sizeof(desc), "isc-runtime container %s", name);
	return scope_enter(cg, unit, slice, desc, e);
}
