/* spec.c - config.json (json-c) into struct oci_spec, strictly typed, and the
 * ISC's rules over it: what would weaken one is refused, naming the field
 * and the annotation that allows it.  isc-runtime. */
#include "spec.h"

#include <json-c/json.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>

#define JOBJ struct json_object

/* ---- typed access: every error names the field as the spec writes it ---- */

static JOBJ *field(JOBJ *o, const char *key)
{
	JOBJ *v = NULL;
	return json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null) ? v : NULL;
}

static int want(JOBJ *v, enum json_type t, const char *where, struct isc_err *e)
{
	static const char *const tn[] = {
		[json_type_null] = "null", [json_type_boolean] = "a boolean", [json_type_double] = "a number",
		[json_type_int] = "an integer", [json_type_object] = "an object", [json_type_array] = "an array",
		[json_type_string] = "a string",
	};
	if (json_object_is_type(v, t))
		return 0;
	return err_set(e, EINVAL, "%s: expected %s", where, tn[t]);
}

static int get_str(JOBJ *o, const char *key, const char *where, char **out, struct isc_err *e)
{
	JOBJ *v = field(o, key);
	if (!v)
		return 0;
	if (want(v, json_type_string, where, e) < 0)
		return -EINVAL;
	free(*out);
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : err_set(e, ENOMEM, "%s", where);
}

static int get_bool(JOBJ *o, const char *key, const char *where, bool *out, struct isc_err *e)
{
	JOBJ *v = field(o, key);
	if (!v)
		return 0;
	if (want(v, json_type_boolean, where, e) < 0)
		return -EINVAL;
	*out = json_object_get_boolean(v);
	return 0;
}

static int get_u64(JOBJ *o, const char *key, const char *where, uint64_t max, uint64_t *out, bool *has,
		   struct isc_err *e)
{
	JOBJ *v = field(o, key);
	if (!v)
		return 0;
	if (want(v, json_type_int, where, e) < 0)
		return -EINVAL;
	errno = 0;
	uint64_t u = json_object_get_uint64(v);
	if (json_object_get_int64(v) < 0 || errno || u > max)
		return err_set(e, EINVAL, "%s: %s out of range", where, json_object_get_string(v));
	*out = u;
	if (has)
		*has = true;
	return 0;
}

static int get_i64(JOBJ *o, const char *key, const char *where, int64_t min, int64_t max, int64_t *out,
		   bool *has, struct isc_err *e)
{
	JOBJ *v = field(o, key);
	if (!v)
		return 0;
	if (want(v, json_type_int, where, e) < 0)
		return -EINVAL;
	errno = 0;
	int64_t i = json_object_get_int64(v);
	if (errno || i < min || i > max)
		return err_set(e, EINVAL, "%s: %s out of range", where, json_object_get_string(v));
	*out = i;
	if (has)
		*has = true;
	return 0;
}

/* The optional array o.key (where names it in errors) of at most max
 * entries: 1 with *a and *n set, 0 when absent (*n = 0), or said. */
static int get_array(JOBJ *o, const char *key, const char *where, size_t max, JOBJ **a, size_t *n,
		     struct isc_err *e)
{
	*n = 0;
	if (!(*a = field(o, key)))
		return 0;
	if (want(*a, json_type_array, where, e) < 0)
		return -EINVAL;
	*n = json_object_array_length(*a);
	if (*n > max)
		return err_set(e, EINVAL, "%s: %zu entries, at most %zu", where, *n, max);
	return 1;
}

/* An array of strings (max entries, each under 4 KiB) as a NULL-ended vector. */
static int get_strv(JOBJ *o, const char *key, const char *where, size_t max, char ***out, struct isc_err *e)
{
	JOBJ *v;
	size_t n;
	int r = get_array(o, key, where, max, &v, &n, e);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		JOBJ *s = json_object_array_get_idx(v, i);
		if (!json_object_is_type(s, json_type_string))
			return err_set(e, EINVAL, "%s[%zu]: expected a string", where, i);
		if (json_object_get_string_len(s) >= 4096)
			return err_set(e, EINVAL, "%s[%zu]: longer than 4095 bytes", where, i);
		if (strv_push(out, json_object_get_string(s)) < 0)
			return err_set(e, ENOMEM, "%s", where);
	}
	return 0;
}

/* An object of string values as "key=value" entries. */
static int get_map(JOBJ *o, const char *key, const char *where, char ***out, struct isc_err *e)
{
	JOBJ *v = field(o, key);
	if (!v)
		return 0;
	if (want(v, json_type_object, where, e) < 0)
		return -EINVAL;
	if (json_object_object_length(v) > 1024)
		return err_set(e, EINVAL, "%s: more than 1024 entries", where);
	json_object_object_foreach(v, k, val) {
		if (!json_object_is_type(val, json_type_string))
			return err_set(e, EINVAL, "%s.%s: expected a string", where, k);
		if (strchr(k, '='))
			return err_set(e, EINVAL, "%s: a key with '='", where);
		_cleanup_free_ char *kv = NULL;
		if (asprintf(&kv, "%s=%s", k, json_object_get_string(val)) < 0 || strv_push(out, kv) < 0)
			return err_set(e, ENOMEM, "%s", where);
	}
	return 0;
}

static const char *kv_get(char *const *kv, const char *key)
{
	size_t n = strlen(key);
	for (size_t i = 0; kv && kv[i]; i++)
		if (strncmp(kv[i], key, n) == 0 && kv[i][n] == '=')
			return kv[i] + n + 1;
	return NULL;
}

const char *oci_annotation(const struct oci_spec *s, const char *key)
{
	return kv_get(s->annotations, key);
}

/* ---- capabilities ---------------------------------------------------------- */

static const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};
#define CAPBIT(c) (1ULL << (c))

const char *oci_cap_name(unsigned cap)
{
	return cap < ARRAY_SIZE(cap_names) ? cap_names[cap] : NULL;
}

/* What the engines give every container unless told otherwise (Docker's
 * default set): beyond isc's, these are dropped without a word, since no
 * operator asked for them; anything else beyond isc's was asked for. */
static const uint64_t engine_default = CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_FSETID) |
	CAPBIT(CAP_FOWNER) | CAPBIT(CAP_MKNOD) | CAPBIT(CAP_NET_RAW) | CAPBIT(CAP_SETGID) |
	CAPBIT(CAP_SETUID) | CAPBIT(CAP_SETFCAP) | CAPBIT(CAP_SETPCAP) | CAPBIT(CAP_NET_BIND_SERVICE) |
	CAPBIT(CAP_SYS_CHROOT) | CAPBIT(CAP_KILL) | CAPBIT(CAP_AUDIT_WRITE);

static int cap_set(JOBJ *caps, const char *set, uint64_t *out, bool *has, struct isc_err *e)
{
	char where[64];
	snprintf(where, sizeof(where), "process.capabilities.%s", set);
	_cleanup_(strv_freep) char **names = NULL;
	if (get_strv(caps, set, where, 64, &names, e) < 0)
		return -EINVAL;
	if (!field(caps, set))
		return 0;
	*has = true;
	*out = 0;
	for (size_t i = 0; names && names[i]; i++) {
		const char *n = str_has_prefix(names[i], "CAP_") ? names[i] + 4 : names[i];
		size_t c = 0;
		while (c < ARRAY_SIZE(cap_names) && !STREQ(cap_names[c], n))
			c++;
		if (c == ARRAY_SIZE(cap_names))
			return err_set(e, EINVAL, "%s: unknown capability %.64s", where, names[i]);
		*out |= CAPBIT(c);
	}
	return 0;
}

/* The process keeps the spec's bounding set (permitted and effective
 * narrow it further), within isc's default; a capability beyond the
 * engines' defaults is refused unless org.isc.caps=spec. */
static int caps_parse(JOBJ *p, const struct oci_spec *s, struct oci_process *op, struct isc_err *e)
{
	JOBJ *caps = field(p, "capabilities");
	op->caps = confine_default_caps();
	if (!caps)
		return 0;
	if (want(caps, json_type_object, "process.capabilities", e) < 0)
		return -EINVAL;
	uint64_t set = ~0ULL, v;
	static const char *const sets[] = { "bounding", "permitted", "effective" };
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		bool has = false;
		if (cap_set(caps, sets[i], &v, &has, e) < 0)
			return -EINVAL;
		if (has)
			set &= v;
	}
	bool has = false;
	if (cap_set(caps, "ambient", &v, &has, e) < 0 || cap_set(caps, "inheritable", &v, &has, e) < 0)
		return -EINVAL;
	if (set == ~0ULL)
		set = 0;
	const char *a = oci_annotation(s, "org.isc.caps");
	if (a && STREQ(a, "spec")) {
		op->caps = set;
		return 0;
	}
	uint64_t extra = set & ~engine_default & ~confine_default_caps();
	if (extra) {
		unsigned c = (unsigned)__builtin_ctzll(extra);
		return err_set(e, EPERM, "process.capabilities: CAP_%s is beyond isc's set; annotation "
			       "org.isc.caps=spec allows the spec's set", oci_cap_name(c) ? oci_cap_name(c) : "?");
	}
	op->caps = set & confine_default_caps();
	return 0;
}

/* ---- process ---------------------------------------------------------------- */

static const struct { const char *name; int res; } rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_CORE", RLIMIT_CORE }, { "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA }, { "RLIMIT_FSIZE", RLIMIT_FSIZE }, { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE }, { "RLIMIT_NOFILE", RLIMIT_NOFILE }, { "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS }, { "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static int rlimits_parse(JOBJ *p, struct oci_process *op, struct isc_err *e)
{
	JOBJ *rl;
	size_t n;
	int got = get_array(p, "rlimits", "process.rlimits", OCI_MAX_RLIMITS, &rl, &n, e);
	if (got <= 0)
		return got;
	for (size_t i = 0; i < n; i++) {
		JOBJ *r = json_object_array_get_idx(rl, i);
		char where[48];
		_cleanup_free_ char *type = NULL;
		snprintf(where, sizeof(where), "process.rlimits[%zu]", i);
		if (want(r, json_type_object, where, e) < 0 || get_str(r, "type", where, &type, e) < 0)
			return -EINVAL;
		struct oci_rlimit *x = &op->rlimits[op->nrlimits];
		size_t k = 0;
		while (k < ARRAY_SIZE(rlimit_names) && !(type && STREQ(type, rlimit_names[k].name)))
			k++;
		if (k == ARRAY_SIZE(rlimit_names))
			return err_set(e, EINVAL, "%s.type: unknown limit %.32s", where, type ? type : "(none)");
		x->resource = rlimit_names[k].res;
		if (get_u64(r, "soft", where, UINT64_MAX, &x->soft, NULL, e) < 0 ||
		    get_u64(r, "hard", where, UINT64_MAX, &x->hard, NULL, e) < 0)
			return -EINVAL;
		if (x->soft > x->hard)
			return err_set(e, EINVAL, "%s: soft limit above the hard one", where);
		op->nrlimits++;
	}
	return 0;
}

static int user_parse(JOBJ *p, struct oci_process *op, struct isc_err *e)
{
	JOBJ *u = field(p, "user");
	if (!u)
		return 0;
	if (want(u, json_type_object, "process.user", e) < 0)
		return -EINVAL;
	uint64_t v = 0;
	if (get_u64(u, "uid", "process.user.uid", UINT32_MAX - 1, &v, NULL, e) < 0)
		return -EINVAL;
	op->uid = (uint32_t)v;
	v = 0;
	if (get_u64(u, "gid", "process.user.gid", UINT32_MAX - 1, &v, NULL, e) < 0)
		return -EINVAL;
	op->gid = (uint32_t)v;
	if (get_u64(u, "umask", "process.user.umask", 0777, &v, &op->has_umask, e) < 0)
		return -EINVAL;
	op->umask = (mode_t)v;
	if (field(u, "username"))
		return err_set(e, EINVAL, "process.user.username: not on Linux");
	JOBJ *g;
	size_t n;
	int r = get_array(u, "additionalGids", "process.user.additionalGids", 64, &g, &n, e);
	if (r <= 0)
		return r;
	op->gids = calloc(n + 1, sizeof(gid_t));
	if (!op->gids)
		return err_set(e, ENOMEM, "additionalGids");
	for (size_t i = 0; i < n; i++) {
		JOBJ *x = json_object_array_get_idx(g, i);
		int64_t gid = json_object_get_int64(x);
		if (!json_object_is_type(x, json_type_int) || gid < 0 || gid >= UINT32_MAX)
			return err_set(e, EINVAL, "process.user.additionalGids[%zu]: expected a gid", i);
		op->gids[op->ngids++] = (gid_t)gid;
	}
	return 0;
}

static int process_obj(JOBJ *p, const struct oci_spec *s, struct oci_process *op, struct isc_err *e)
{
	if (want(p, json_type_object, "process", e) < 0 ||
	    get_bool(p, "terminal", "process.terminal", &op->terminal, e) < 0 ||
	    get_strv(p, "args", "process.args", 4096, &op->args, e) < 0 ||
	    get_strv(p, "env", "process.env", 4096, &op->env, e) < 0 ||
	    get_str(p, "cwd", "process.cwd", &op->cwd, e) < 0 || user_parse(p, op, e) < 0 ||
	    rlimits_parse(p, op, e) < 0 || caps_parse(p, s, op, e) < 0)
		return -EINVAL;
	JOBJ *cs = field(p, "consoleSize");
	if (cs) {
		uint64_t h = 0, w = 0;
		if (want(cs, json_type_object, "process.consoleSize", e) < 0 ||
		    get_u64(cs, "height", "process.consoleSize.height", 65535, &h, NULL, e) < 0 ||
		    get_u64(cs, "width", "process.consoleSize.width", 65535, &w, NULL, e) < 0)
			return -EINVAL;
		op->rows = (unsigned)h;
		op->cols = (unsigned)w;
	}
	int64_t oom = 0;
	if (get_i64(p, "oomScoreAdj", "process.oomScoreAdj", -1000, 1000, &oom, &op->has_oom_score, e) < 0)
		return -EINVAL;
	op->oom_score_adj = (int)oom;
	/* no_new_privs is isc's always: "noNewPrivileges": false is not honoured */
	bool nnp = true;
	if (get_bool(p, "noNewPrivileges", "process.noNewPrivileges", &nnp, e) < 0)
		return -EINVAL;
	if (!op->args || !op->args[0] || !*op->args[0])
		return err_set(e, EINVAL, "process.args: no program to run");
	if (!op->cwd || op->cwd[0] != '/')
		return err_set(e, EINVAL, "process.cwd: must be an absolute path");
	if (field(p, "apparmorProfile") || field(p, "selinuxLabel"))
		return err_set(e, EINVAL, "process: AppArmor and SELinux labels are not supported by isc-runtime");
	return 0;
}

/* ---- linux ------------------------------------------------------------------ */

static const struct { const char *name; int flag; } ns_names[] = {
	{ "pid", CLONE_NEWPID }, { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP },
};

const struct oci_ns *oci_spec_ns(const struct oci_spec *s, int type)
{
	for (size_t i = 0; i < s->nns; i++)
		if (s->ns[i].type == type)
			return &s->ns[i];
	return NULL;
}

static int namespaces_parse(JOBJ *l, struct oci_spec *s, struct isc_err *e)
{
	JOBJ *a;
	size_t n;
	int r = get_array(l, "namespaces", "linux.namespaces", 64, &a, &n, e);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		JOBJ *x = json_object_array_get_idx(a, i);
		char where[48];
		_cleanup_free_ char *type = NULL, *path = NULL;
		snprintf(where, sizeof(where), "linux.namespaces[%zu]", i);
		if (want(x, json_type_object, where, e) < 0 || get_str(x, "type", where, &type, e) < 0 ||
		    get_str(x, "path", where, &path, e) < 0)
			return -EINVAL;
		size_t k = 0;
		while (k < ARRAY_SIZE(ns_names) && !(type && STREQ(type, ns_names[k].name)))
			k++;
		if (k == ARRAY_SIZE(ns_names))
			return err_set(e, EINVAL, "%s.type: unknown namespace %.32s", where, type ? type : "(none)");
		if (oci_spec_ns(s, ns_names[k].flag))
			return err_set(e, EINVAL, "%s: a second %s namespace", where, type);
		if (path && path[0] != '/')
			return err_set(e, EINVAL, "%s.path: must be absolute", where);
		s->ns[s->nns].type = ns_names[k].flag;
		s->ns[s->nns++].path = TAKE_PTR(path);
	}
	return 0;
}

/* o.key: LinuxIDMapping entries (where: "linux", "mounts[3]") */
static int idmaps_parse(JOBJ *o, const char *in, const char *key, struct oci_idmap *m, size_t *n,
			struct isc_err *e)
{
	JOBJ *a;
	size_t k;
	char where[64];
	snprintf(where, sizeof(where), "%s.%s", in, key);
	int r = get_array(o, key, where, OCI_MAX_IDMAPS, &a, &k, e);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < k; i++) {
		JOBJ *x = json_object_array_get_idx(a, i);
		uint64_t c = 0, h = 0, z = 0;
		snprintf(where, sizeof(where), "%s.%s[%zu]", in, key, i);
		if (want(x, json_type_object, where, e) < 0 ||
		    get_u64(x, "containerID", where, UINT32_MAX, &c, NULL, e) < 0 ||
		    get_u64(x, "hostID", where, UINT32_MAX, &h, NULL, e) < 0 ||
		    get_u64(x, "size", where, UINT32_MAX, &z, NULL, e) < 0)
			return -EINVAL;
		if (!z || c + z > UINT32_MAX || h + z > UINT32_MAX)
			return err_set(e, EINVAL, "%s: an empty or overflowing range", where);
		m[(*n)++] = (struct oci_idmap){ (uint32_t)c, (uint32_t)h, (uint32_t)z };
	}
	return 0;
}

static int resources_obj(JOBJ *r, struct cgroup_limits *lim, unsigned *given, struct isc_err *e)
{
	if (want(r, json_type_object, "linux.resources", e) < 0)
		return -EINVAL;
	JOBJ *m = field(r, "memory"), *p = field(r, "pids"), *c = field(r, "cpu");
	int64_t v = 0;
	bool has = false;
	if (m && (want(m, json_type_object, "linux.resources.memory", e) < 0 ||
		  get_i64(m, "limit", "linux.resources.memory.limit", -1, INT64_MAX, &v, &has, e) < 0))
		return -EINVAL;
	if (has && v > 0) {
		if (v < (16 << 20))
			return err_set(e, EINVAL, "linux.resources.memory.limit: below 16 MiB");
		lim->memory = (uint64_t)v;
		*given |= OCI_RES_MEMORY;
	}
	has = false;
	if (p && (want(p, json_type_object, "linux.resources.pids", e) < 0 ||
		  get_i64(p, "limit", "linux.resources.pids.limit", -1, 4194304, &v, &has, e) < 0))
		return -EINVAL;
	if (has && v > 0) {
		lim->pids = (uint64_t)v;
		*given |= OCI_RES_PIDS;
	}
	if (!c)
		return 0;
	uint64_t shares = 0, period = 0;
	int64_t quota = 0;
	bool hq = false;
	if (want(c, json_type_object, "linux.resources.cpu", e) < 0 ||
	    get_u64(c, "shares", "linux.resources.cpu.shares", 262144, &shares, NULL, e) < 0 ||
	    get_i64(c, "quota", "linux.resources.cpu.quota", -1, INT64_MAX / 1000, &quota, &hq, e) < 0 ||
	    get_u64(c, "period", "linux.resources.cpu.period", 1000000, &period, NULL, e) < 0)
		return -EINVAL;
	if (shares >= 2)
		lim->cpu_weight = (uint32_t)(1 + (shares - 2) * 9999 / 262142);
	if (hq && quota > 0)
		lim->cpu_milli = (uint32_t)((uint64_t)quota * 1000 / (period ? period : 100000));
	*given |= OCI_RES_CPU;
	return 0;
}

static int resources_parse(JOBJ *l, struct oci_spec *s, struct isc_err *e)
{
	JOBJ *r = field(l, "resources");
	unsigned given = 0;
	return r ? resources_obj(r, &s->limits, &given, e) : 0;
}

static int seccomp_parse(JOBJ *l, struct oci_spec *s, struct isc_err *e)
{
	JOBJ *sc = field(l, "seccomp");
	if (!sc)
		return 0;
	struct confine_sc_spec *c = &s->seccomp;
	_cleanup_free_ char *dflt = NULL;
	int64_t en = EPERM;
	if (want(sc, json_type_object, "linux.seccomp", e) < 0 ||
	    get_str(sc, "defaultAction", "linux.seccomp.defaultAction", &dflt, e) < 0 ||
	    get_i64(sc, "defaultErrnoRet", "linux.seccomp.defaultErrnoRet", 0, 4095, &en, NULL, e) < 0 ||
	    get_strv(sc, "architectures", "linux.seccomp.architectures", 16, &c->arches, e) < 0)
		return -EINVAL;
	if (!dflt || confine_sc_action_parse(dflt, &c->default_action) < 0)
		return err_set(e, EINVAL, "linux.seccomp.defaultAction: %.40s is not an action isc-runtime takes",
			       dflt ? dflt : "(none)");
	c->default_errno = (int)en;
	for (size_t i = 0; c->arches && c->arches[i]; i++)
		if (confine_sc_arch_check(c->arches[i]) < 0)
			return err_set(e, EINVAL, "linux.seccomp.architectures[%zu]: unknown %.40s", i, c->arches[i]);
	if (field(sc, "listenerPath"))
		return err_set(e, EINVAL, "linux.seccomp.listenerPath: isc-runtime's own monitor answers notifications");
	JOBJ *rs;
	size_t n;
	if (get_array(sc, "syscalls", "linux.seccomp.syscalls", 1024, &rs, &n, e) < 0)
		return -EINVAL;
	c->rules = calloc(n + 1, sizeof(*c->rules));
	if (!c->rules)
		return err_set(e, ENOMEM, "seccomp");
	for (size_t i = 0; i < n; i++) {
		JOBJ *x = json_object_array_get_idx(rs, i);
		struct confine_sc_rule *r = &c->rules[c->nrules++];
		char where[64];
		_cleanup_free_ char *action = NULL;
		int64_t ret = EPERM;
		snprintf(where, sizeof(where), "linux.seccomp.syscalls[%zu]", i);
		if (want(x, json_type_object, where, e) < 0 || get_strv(x, "names", where, 512, &r->names, e) < 0 ||
		    get_str(x, "action", where, &action, e) < 0 ||
		    get_i64(x, "errnoRet", where, 0, 4095, &ret, NULL, e) < 0)
			return -EINVAL;
		if (!action || confine_sc_action_parse(action, &r->action) < 0)
			return err_set(e, EINVAL, "%s.action: %.40s is not an action isc-runtime takes", where,
				       action ? action : "(none)");
		r->errno_ret = (int)ret;
		JOBJ *args = field(x, "args");
		if (!args)
			continue;
		if (want(args, json_type_array, where, e) < 0)
			return -EINVAL;
		if (json_object_array_length(args) > 6)
			return err_set(e, EINVAL, "%s.args: more than 6", where);
		for (size_t k = 0; k < json_object_array_length(args); k++) {
			JOBJ *a = json_object_array_get_idx(args, k);
			struct confine_sc_arg *ca = &r->args[r->nargs++];
			uint64_t idx = 0;
			_cleanup_free_ char *op = NULL;
			if (want(a, json_type_object, where, e) < 0 ||
			    get_u64(a, "index", where, 5, &idx, NULL, e) < 0 ||
			    get_u64(a, "value", where, UINT64_MAX, &ca->value, NULL, e) < 0 ||
			    get_u64(a, "valueTwo", where, UINT64_MAX, &ca->value2, NULL, e) < 0 ||
			    get_str(a, "op", where, &op, e) < 0)
				return -EINVAL;
			ca->index = (unsigned)idx;
			if (!op || confine_sc_op_parse(op, &ca->op) < 0)
				return err_set(e, EINVAL, "%s.args[%zu].op: unknown %.40s", where, k, op ? op : "(none)");
		}
	}
	s->has_seccomp = true;
	return 0;
}

/* The host devices a container gets are isc's harmless set; a spec that
 * lists another is refused (the device would be a door out). */
static int devices_check(JOBJ *l, struct isc_err *e)
{
	static const char *const ok[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
					  "/dev/urandom", "/dev/tty" };
	JOBJ *d;
	size_t n;
	int r = get_array(l, "devices", "linux.devices", 256, &d, &n, e);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		JOBJ *x = json_object_array_get_idx(d, i);
		char where[48];
		_cleanup_free_ char *path = NULL;
		snprintf(where, sizeof(where), "linux.devices[%zu]", i);
		if (want(x, json_type_object, where, e) < 0 || get_str(x, "path", where, &path, e) < 0)
			return -EINVAL;
		bool found = false;
		for (size_t k = 0; k < ARRAY_SIZE(ok) && path; k++)
			found |= STREQ(path, ok[k]);
		if (!found)
			return err_set(e, EPERM, "%s (%.64s): isc-runtime gives a container only null, zero, full, "
				       "random, urandom and tty", where, path ? path : "(none)");
	}
	return 0;
}

/* Only settings the container's own namespaces hold. */
static int sysctl_check(const struct oci_spec *s, struct isc_err *e)
{
	for (size_t i = 0; s->sysctl && s->sysctl[i]; i++) {
		const char *k = s->sysctl[i];
		bool net = str_has_prefix(k, "net.");
		bool ipc = str_has_prefix(k, "kernel.shm") || str_has_prefix(k, "kernel.msg") ||
			   str_has_prefix(k, "kernel.sem=") || str_has_prefix(k, "fs.mqueue.");
		if ((!net && !ipc) || !oci_spec_ns(s, net ? CLONE_NEWNET : CLONE_NEWIPC))
			return err_set(e, EPERM, "linux.sysctl %.*s: not a setting of the container's own namespaces",
				       (int)strcspn(k, "="), k);
		if (strstr(k, "..") || strchr(k, '/'))
			return err_set(e, EINVAL, "linux.sysctl %.64s: not a name", k);
	}
	return 0;
}

static int linux_parse(JOBJ *l, struct oci_spec *s, struct isc_err *e)
{
	if (want(l, json_type_object, "linux", e) < 0 || namespaces_parse(l, s, e) < 0 ||
	    idmaps_parse(l, "linux", "uidMappings", s->uidmap, &s->nuidmap, e) < 0 ||
	    idmaps_parse(l, "linux", "gidMappings", s->gidmap, &s->ngidmap, e) < 0 ||
	    get_strv(l, "maskedPaths", "linux.maskedPaths", 256, &s->masked, e) < 0 ||
	    get_strv(l, "readonlyPaths", "linux.readonlyPaths", 256, &s->readonly, e) < 0 ||
	    get_str(l, "cgroupsPath", "linux.cgroupsPath", &s->cgroups_path, e) < 0 ||
	    get_map(l, "sysctl", "linux.sysctl", &s->sysctl, e) < 0 || resources_parse(l, s, e) < 0 ||
	    seccomp_parse(l, s, e) < 0 || devices_check(l, e) < 0)
		return -EINVAL;
	_cleanup_free_ char *prop = NULL;
	if (get_str(l, "rootfsPropagation", "linux.rootfsPropagation", &prop, e) < 0)
		return -EINVAL;
	if (prop) {
		struct oci_mount m = { 0 };
		if (oci_mount_option(&m, prop, e) < 0 || !m.propagation)
			return err_set(e, EINVAL, "linux.rootfsPropagation: %.32s", prop);
		s->rootfs_propagation = m.propagation;
		strv_free(m.data);
	}
	for (size_t i = 0; s->masked && s->masked[i]; i++)
		if (s->masked[i][0] != '/')
			return err_set(e, EINVAL, "linux.maskedPaths[%zu]: must be absolute", i);
	for (size_t i = 0; s->readonly && s->readonly[i]; i++)
		if (s->readonly[i][0] != '/')
			return err_set(e, EINVAL, "linux.readonlyPaths[%zu]: must be absolute", i);
	if (field(l, "intelRdt") || field(l, "personality") || field(l, "timeOffsets"))
		return err_set(e, EINVAL, "linux: intelRdt, personality and timeOffsets are not supported by isc-runtime");
	return 0;
}

/* ---- mounts ----------------------------------------------------------------- */

static const char *const mount_types[] = { "bind", "none", "proc", "sysfs", "tmpfs", "devpts", "mqueue",
					   "cgroup", "cgroup2" };

static int mount_parse(JOBJ *x, size_t i, const char *bundle, struct oci_spec *s, struct isc_err *e)
{
	struct oci_mount *m = &s->mounts[s->nmounts];
	char where[48];
	_cleanup_(strv_freep) char **opts = NULL;
	snprintf(where, sizeof(where), "mounts[%zu]", i);
	if (want(x, json_type_object, where, e) < 0 || get_str(x, "destination", where, &m->dest, e) < 0 ||
	    get_str(x, "type", where, &m->type, e) < 0 || get_str(x, "source", where, &m->source, e) < 0 ||
	    get_strv(x, "options", where, 64, &opts, e) < 0)
		goto fail;
	s->nmounts++;
	if (!m->dest || m->dest[0] != '/' || strstr(m->dest, "/../") || str_has_suffix(m->dest, "/.."))
		return err_set(e, EINVAL, "%s.destination: must be an absolute path without ..", where);
	if (field(x, "uidMappings") || field(x, "gidMappings")) {
		struct oci_mount_ids *ids = s->mount_ids[s->nmounts - 1] = calloc(1, sizeof(*ids));
		if (!ids)
			return err_set(e, ENOMEM, "mounts");
		if (idmaps_parse(x, where, "uidMappings", ids->uid, &ids->nuid, e) < 0 ||
		    idmaps_parse(x, where, "gidMappings", ids->gid, &ids->ngid, e) < 0)
			return -EINVAL;
		if (!ids->nuid || !ids->ngid)
			return err_set(e, EINVAL, "%s (%s): uidMappings and gidMappings come together", where, m->dest);
		m->idmap = true;   /* the spec asks for the option too; the maps say enough */
	}
	for (size_t k = 0; opts && opts[k]; k++)
		if (oci_mount_option(m, opts[k], e) < 0)
			return err_prefix(e, "%s (%s)", where, m->dest);
	if (!m->type)
		m->type = strdup(m->bind ? "bind" : "none");
	if (!m->type)
		return err_set(e, ENOMEM, "mounts");
	bool known = false;
	for (size_t k = 0; k < ARRAY_SIZE(mount_types); k++)
		known |= STREQ(m->type, mount_types[k]);
	if (!known)
		return err_set(e, EPERM, "%s (%s): type %.32s; isc-runtime mounts bind, proc, sysfs, tmpfs, devpts, "
			       "mqueue and cgroup", where, m->dest, m->type);
	if (STREQ(m->type, "bind") || STREQ(m->type, "none"))
		m->bind = true;
	if (m->bind && (!m->source || !*m->source))
		return err_set(e, EINVAL, "%s (%s): a bind needs a source", where, m->dest);
	if (m->bind && m->source[0] != '/') {
		char *abs = NULL;
		if (asprintf(&abs, "%s/%s", bundle, m->source) < 0)
			return err_set(e, ENOMEM, "mounts");
		free(m->source);
		m->source = abs;
	}
	if (m->copyup && !STREQ(m->type, "tmpfs"))
		return err_set(e, EINVAL, "%s (%s): tmpcopyup on a %s; only a tmpfs takes it", where, m->dest, m->type);
	if (m->bind && m->data)
		return err_set(e, EINVAL, "%s (%s): option %s on a bind", where, m->dest, m->data[0]);
	if (m->idmap && !m->bind)
		return err_set(e, EINVAL, "%s (%s): idmap on a %s; only a bind can be idmapped", where, m->dest, m->type);
	bool writable = !(m->set & MOUNT_ATTR_RDONLY) && !STREQ(m->type, "sysfs") && !STREQ(m->type, "proc");
	bool is_dev = STREQ(m->type, "devpts") || (STREQ(m->type, "tmpfs") && STREQ(m->dest, "/dev"));
	bool exec_ok = false;
	for (size_t k = 0; s->exec_ok && s->exec_ok[k]; k++)
		exec_ok |= STREQ(s->exec_ok[k], m->dest);
	if (writable && (m->clr & MOUNT_ATTR_NOEXEC) && !exec_ok)
		return err_set(e, EPERM, "%s (%s): a writable mount that may run programs; annotation "
			       "org.isc.writable-exec=%s allows it", where, m->dest, m->dest);
	if (m->clr & MOUNT_ATTR_NOSUID)
		return err_set(e, EPERM, "%s (%s): set-user-ID programs (\"suid\") never run in an ISC", where, m->dest);
	if ((m->clr & MOUNT_ATTR_NODEV) && !is_dev)
		return err_set(e, EPERM, "%s (%s): device nodes (\"dev\") only on /dev", where, m->dest);
	return 0;
fail:
	s->nmounts++;
	return -EINVAL;
}

static int mounts_parse(JOBJ *top, const char *bundle, struct oci_spec *s, struct isc_err *e)
{
	JOBJ *a;
	size_t n;
	int r = get_array(top, "mounts", "mounts", 256, &a, &n, e);
	if (r <= 0)
		return r;
	s->mounts = calloc(n + 1, sizeof(*s->mounts));
	s->mount_ids = calloc(n + 1, sizeof(*s->mount_ids));
	if (!s->mounts || !s->mount_ids)
		return err_set(e, ENOMEM, "mounts");
	for (size_t i = 0; i < n; i++)
		if (mount_parse(json_object_array_get_idx(a, i), i, bundle, s, e) < 0)
			return -EINVAL;
	return 0;
}

/* ---- hooks ------------------------------------------------------------------ */

static int hooks_parse(JOBJ *top, struct oci_spec *s, struct isc_err *e)
{
	static const char *const names[HOOK_KINDS] = { "prestart", "createRuntime", "poststart", "poststop",
						       "createContainer", "startContainer" };
	JOBJ *h = field(top, "hooks");
	if (!h)
		return 0;
	if (want(h, json_type_object, "hooks", e) < 0)
		return -EINVAL;
	for (int k = 0; k < HOOK_KINDS; k++) {
		JOBJ *a;
		size_t n;
		char where[64];
		snprintf(where, sizeof(where), "hooks.%s", names[k]);
		int r = get_array(h, names[k], where, 32, &a, &n, e);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		s->hooks[k] = calloc(n + 1, sizeof(struct oci_hook));
		if (!s->hooks[k])
			return err_set(e, ENOMEM, "hooks");
		for (size_t i = 0; i < n; i++) {
			JOBJ *x = json_object_array_get_idx(a, i);
			struct oci_hook *hk = &s->hooks[k][s->nhooks[k]++];
			int64_t t = 0;
			snprintf(where, sizeof(where), "hooks.%s[%zu]", names[k], i);
			if (want(x, json_type_object, where, e) < 0 || get_str(x, "path", where, &hk->path, e) < 0 ||
			    get_strv(x, "args", where, 256, &hk->args, e) < 0 ||
			    get_strv(x, "env", where, 256, &hk->env, e) < 0 ||
			    get_i64(x, "timeout", where, 1, 3600, &t, NULL, e) < 0)
				return -EINVAL;
			if (!hk->path || hk->path[0] != '/')
				return err_set(e, EINVAL, "%s.path: must be absolute", where);
			hk->timeout = (int)t;
		}
	}
	return 0;
}

/* ---- the ISC's rules ---------------------------------------------------------- */

/* The annotations isc reads; another org.isc.* is a typo, refused. */
static int annotations_apply(struct oci_spec *s, struct isc_err *e)
{
	static const char *const known[] = { "org.isc.profile", "org.isc.mdwe", "org.isc.caps",
					     "org.isc.writable-exec", "org.isc.network" };
	for (size_t i = 0; s->annotations && s->annotations[i]; i++) {
		const char *a = s->annotations[i];
		if (!str_has_prefix(a, "org.isc."))
			continue;
		bool ok = false;
		for (size_t k = 0; k < ARRAY_SIZE(known); k++)
			ok |= str_has_prefix(a, known[k]) && a[strlen(known[k])] == '=';
		if (!ok)
			return err_set(e, EINVAL, "annotation %.*s: not one isc-runtime knows (docs/oci.md)",
				       (int)strcspn(a, "="), a);
	}
	const char *v = oci_annotation(s, "org.isc.profile");
	s->profile = PROFILE_STRICT;
	if (v && profile_from_name(v, &s->profile) < 0)
		return err_set(e, EINVAL, "annotation org.isc.profile: %.40s is not a profile", v);
	v = oci_annotation(s, "org.isc.mdwe");
	s->mdwe = true;
	if (v && !STREQ(v, "on") && !STREQ(v, "off"))
		return err_set(e, EINVAL, "annotation org.isc.mdwe: on or off");
	if (v && STREQ(v, "off"))
		s->mdwe = false;
	v = oci_annotation(s, "org.isc.caps");
	if (v && !STREQ(v, "spec") && !STREQ(v, "isc"))
		return err_set(e, EINVAL, "annotation org.isc.caps: spec or isc");
	v = oci_annotation(s, "org.isc.network");
	if (v && !STREQ(v, "host"))
		return err_set(e, EINVAL, "annotation org.isc.network: only \"host\"");
	v = oci_annotation(s, "org.isc.writable-exec");
	for (const char *c = v; c && *c;) {
		size_t n = strcspn(c, ",");
		_cleanup_free_ char *one = strndup(c, n);
		if (!one || strv_push(&s->exec_ok, one) < 0)
			return err_set(e, ENOMEM, "annotations");
		c += n + (c[n] == ',');
	}
	return 0;
}

static int namespaces_check(const struct oci_spec *s, struct isc_err *e)
{
	static const struct { int flag; const char *name, *why; } need[] = {
		{ CLONE_NEWNS, "mount", "the host's mounts" },
		{ CLONE_NEWPID, "pid", "the host's processes" },
		{ CLONE_NEWIPC, "ipc", "the host's shared memory" },
		{ CLONE_NEWUTS, "uts", "the host's name" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
		const struct oci_ns *n = oci_spec_ns(s, need[i].flag);
		if (!n)
			return err_set(e, EPERM, "linux.namespaces: no %s namespace of its own (%s); isc-runtime "
				       "requires one", need[i].name, need[i].why);
		if (n->path && need[i].flag == CLONE_NEWNS)
			return err_set(e, EPERM, "linux.namespaces: a mount namespace to join; isc-runtime makes its own");
	}
	const char *host = oci_annotation(s, "org.isc.network");
	if (!oci_spec_ns(s, CLONE_NEWNET) && !host)
		return err_set(e, EPERM, "linux.namespaces: no network namespace (the host's network); annotation "
			       "org.isc.network=host allows it");
	if (oci_spec_ns(s, CLONE_NEWUSER) && (!s->nuidmap || !s->ngidmap) && !oci_spec_ns(s, CLONE_NEWUSER)->path)
		return err_set(e, EINVAL, "linux.uidMappings: a user namespace needs uid and gid mappings");
	/* "idmap" alone maps as the container's user namespace does (crun's
	 * reading, podman's --userns with :idmap volumes) */
	for (size_t i = 0; i < s->nmounts; i++)
		if (s->mounts[i].idmap && !s->mount_ids[i] &&
		    (!oci_spec_ns(s, CLONE_NEWUSER) || (!s->nuidmap && !oci_spec_ns(s, CLONE_NEWUSER)->path)))
			return err_set(e, EINVAL, "mounts[%zu] (%s): idmap without uidMappings, and no user namespace "
				       "mappings of the container's to take", i, s->mounts[i].dest);
	return 0;
}

/* A refusal quotes the spec (a type, a path, a capability): what it
 * quotes is escaped, so a spec cannot forge a line on the engine's
 * terminal or in its log. */
static int refused(struct isc_err *e)
{
	char esc[sizeof(e->msg)];
	str_escape(e->msg, strlen(e->msg), esc, sizeof(esc));
	str_copy(e->msg, sizeof(e->msg), esc);
	return -EINVAL;
}

static int spec_parse(const char *text, size_t len, const char *bundle, struct oci_spec *s, struct isc_err *e);

int oci_spec_parse(const char *text, size_t len, const char *bundle, struct oci_spec *s, struct isc_err *e)
{
	return spec_parse(text, len, bundle, s, e) < 0 ? refused(e) : 0;
}

static int spec_parse(const char *text, size_t len, const char *bundle, struct oci_spec *s, struct isc_err *e)
{
	memset(s, 0, sizeof(*s));
	s->limits = (struct cgroup_limits){ .memory = 1ULL << 30, .pids = 1024, .cpu_weight = 100 };
	if (len > OCI_MAX_CONFIG)
		return err_set(e, EFBIG, "config.json: larger than %u bytes", OCI_MAX_CONFIG);
	struct json_tokener *tok = json_tokener_new_ex(32);
	if (!tok)
		return err_set(e, ENOMEM, "config.json");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	JOBJ *top = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t off = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!top || je != json_tokener_success || off != len) {
		json_object_put(top);
		return err_set(e, EINVAL, "config.json: not valid JSON (%s at byte %zu)",
			       je != json_tokener_success ? json_tokener_error_desc(je) : "trailing data", off);
	}
	int r = -EINVAL;
	JOBJ *root = field(top, "root"), *p = field(top, "process"), *l = field(top, "linux");
	if (want(top, json_type_object, "config.json", e) < 0 ||
	    get_str(top, "ociVersion", "ociVersion", &s->version, e) < 0 ||
	    get_str(top, "hostname", "hostname", &s->hostname, e) < 0 ||
	    get_map(top, "annotations", "annotations", &s->annotations, e) < 0 || annotations_apply(s, e) < 0)
		goto out;
	if (!s->version || !str_has_prefix(s->version, "1.")) {
		err_set(e, EINVAL, "ociVersion: %.32s; isc-runtime takes 1.x", s->version ? s->version : "(none)");
		goto out;
	}
	if (!root || want(root, json_type_object, "root", e) < 0 || get_str(root, "path", "root.path", &s->root, e) < 0 ||
	    !s->root || !*s->root) {
		if (!e->code)
			err_set(e, EINVAL, "root.path: missing");
		goto out;
	}
	if (s->root[0] != '/') {
		char *abs = NULL;
		if (asprintf(&abs, "%s/%s", bundle, s->root) < 0)
			goto out;
		free(s->root);
		s->root = abs;
	}
	if (!p) {
		err_set(e, EINVAL, "process: missing");
		goto out;
	}
	if (!l) {
		err_set(e, EINVAL, "linux: missing (isc-runtime runs Linux containers)");
		goto out;
	}
	if (process_obj(p, s, &s->proc, e) < 0 || linux_parse(l, s, e) < 0 || mounts_parse(top, bundle, s, e) < 0 ||
	    hooks_parse(top, s, e) < 0 || namespaces_check(s, e) < 0 || sysctl_check(s, e) < 0)
		goto out;
	for (size_t i = 0; s->exec_ok && s->exec_ok[i]; i++) {
		bool found = false;
		for (size_t k = 0; k < s->nmounts; k++)
			found |= STREQ(s->mounts[k].dest, s->exec_ok[i]);
		if (!found) {
			err_set(e, EINVAL, "annotation org.isc.writable-exec: no mount at %.64s", s->exec_ok[i]);
			goto out;
		}
	}
	r = 0;
out:
	json_object_put(top);
	return r;
}

int oci_process_parse(const char *text, size_t len, const struct oci_spec *s, struct oci_process *p,
		      struct isc_err *e)
{
	memset(p, 0, sizeof(*p));
	if (len > OCI_MAX_CONFIG)
		return err_set(e, EFBIG, "process.json: larger than %u bytes", OCI_MAX_CONFIG);
	struct json_tokener *tok = json_tokener_new_ex(16);
	if (!tok)
		return err_set(e, ENOMEM, "process.json");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	JOBJ *top = json_tokener_parse_ex(tok, text, (int)len);
	bool ok = top && json_tokener_get_error(tok) == json_tokener_success &&
		  json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	int r = ok ? process_obj(top, s, p, e) : err_set(e, EINVAL, "process.json: not valid JSON");
	json_object_put(top);
	return r < 0 ? refused(e) : 0;
}

int oci_resources_parse(const char *text, size_t len, struct cgroup_limits *l, unsigned *given, struct isc_err *e)
{
	*given = 0;
	struct json_tokener *tok = json_tokener_new_ex(8);
	if (!tok)
		return err_set(e, ENOMEM, "resources");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	JOBJ *top = len > (1u << 20) ? NULL : json_tokener_parse_ex(tok, text, (int)len);
	bool ok = top && json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	int r = ok ? resources_obj(top, l, given, e) : err_set(e, EINVAL, "resources: not valid JSON");
	json_object_put(top);
	return r < 0 ? refused(e) : 0;
}

void oci_process_free(struct oci_process *p)
{
	free(p->gids);
	strv_free(p->args);
	strv_free(p->env);
	free(p->cwd);
	memset(p, 0, sizeof(*p));
}

void oci_spec_free(struct oci_spec *s)
{
	free(s->version);
	free(s->root);
	free(s->hostname);
	oci_process_free(&s->proc);
	for (size_t i = 0; i < s->nmounts; i++) {
		free(s->mounts[i].dest);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		strv_free(s->mounts[i].data);
		if (s->mount_ids)
			free(s->mount_ids[i]);
	}
	free(s->mounts);
	free(s->mount_ids);
	for (size_t i = 0; i < s->nns; i++)
		free(s->ns[i].path);
	strv_free(s->masked);
	strv_free(s->readonly);
	free(s->cgroups_path);
	strv_free(s->sysctl);
	strv_free(s->seccomp.arches);
	for (size_t i = 0; i < s->seccomp.nrules; i++)
		strv_free(s->seccomp.rules[i].names);
	free(s->seccomp.rules);
	strv_free(s->annotations);
	for (int k = 0; k < HOOK_KINDS; k++) {
		for (size_t i = 0; i < s->nhooks[k]; i++) {
			free(s->hooks[k][i].path);
			strv_free(s->hooks[k][i].args);
			strv_free(s->hooks[k][i].env);
		}
		free(s->hooks[k]);
	}
	strv_free(s->exec_ok);
	memset(s, 0, sizeof(*s));
}

int oci_signal_parse(const char *s)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "KILL", SIGKILL },
		{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
		{ "TERM", SIGTERM }, { "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
		{ "WINCH", SIGWINCH }, { "PWR", SIGPWR }, { "ABRT", SIGABRT },
	};
	if (!s || !*s)
		return -EINVAL;
	if (*s >= '0' && *s <= '9') {
		char *end;
		long v = strtol(s, &end, 10);
		return *end || v < 1 || v > 64 ? -EINVAL : (int)v;
	}
	if (str_has_prefix(s, "SIG"))
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (STREQ(s, sigs[i].name))
			return sigs[i].sig;
	return -EINVAL;
}
