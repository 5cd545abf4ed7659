/* main.c - isc-runtime: the runc command line (the contract containerd's runc
 * shim, CRI-O and podman call) over isc's sandbox and confinement.
 * Parsing and printing only; docs/oci.md and isc-runtime(8). */
#include "runtime.h"

#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define EXIT_USAGE 2

/* ---- options: runc's (urfave/cli) spellings: --name value, --name=value,
 * -name value, and the short letters ---- */
struct opt {
	const char *name;
	char letter;
	bool has_arg;
	bool repeat;                    /* --env: every one kept */
	const char *value;              /* "1" for a flag */
	char **values;
};

static struct opt *opt_find(struct opt *opts, const char *arg, const char **inline_val)
{
	*inline_val = NULL;
	const char *n = arg + 1 + (arg[1] == '-');
	size_t len = strcspn(n, "=");
	if (n[len] == '=')
		*inline_val = n + len + 1;
	for (struct opt *o = opts; o->name; o++) {
		if ((strlen(o->name) == len && strncmp(o->name, n, len) == 0) ||
		    (arg[1] != '-' && len == 1 && o->letter == n[0]))
			return o;
	}
	return NULL;
}

/* Options up to the first operand; returns the operands' index, or -1
 * (the error said). */
static int opts_parse(struct opt *opts, int argc, char **argv, int i, const char *cmd)
{
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (STREQ(argv[i], "--"))
			return i + 1;
		const char *iv;
		struct opt *o = opt_find(opts, argv[i], &iv);
		if (!o) {
			fprintf(stderr, "isc-runtime %s: unknown option %s (see isc-runtime --help)\n", cmd, argv[i]);
			return -1;
		}
		const char *v = "1";
		if (o->has_arg) {
			v = iv ? iv : (i + 1 < argc ? argv[++i] : NULL);
			if (!v) {
				fprintf(stderr, "isc-runtime %s: %s needs a value\n", cmd, argv[i]);
				return -1;
			}
		} else if (iv) {
			v = STREQ(iv, "false") ? NULL : "1";
		}
		o->value = v;
		if (o->repeat && v)
			strv_push(&o->values, v);
	}
	return i;
}

static const char *opt_get(const struct opt *opts, const char *name)
{
	for (const struct opt *o = opts; o->name; o++)
		if (STREQ(o->name, name))
			return o->value;
	return NULL;
}

static void opts_free(struct opt *opts)
{
	for (struct opt *o = opts; o->name; o++)
		strv_free(o->values);
}

static int fail(const struct rt *rt, const struct isc_err *e)
{
	rt_log_error(rt, e->msg);
	return EXIT_FAILURE;
}

static int one_id(int argc, char **argv, int i, const char *cmd)
{
	if (i < 0)
		return -1;
	if (i >= argc) {
		fprintf(stderr, "isc-runtime %s: give a container id\n", cmd);
		return -1;
	}
	return i;
}

static unsigned preserve(const struct opt *opts)
{
	const char *v = opt_get(opts, "preserve-fds");
	return v ? (unsigned)strtoul(v, NULL, 10) % 1024 : 0;
}

/* ---- commands ---- */

static int cmd_create(const struct rt *rt, int argc, char **argv, bool run)
{
	struct opt opts[] = {
		{ "bundle", 'b', true }, { "pid-file", 0, true }, { "console-socket", 0, true },
		{ "no-pivot", 0, false }, { "no-new-keyring", 0, false }, { "preserve-fds", 0, true },
		{ "detach", 'd', false }, { "keep", 0, false }, { "no-subreaper", 0, false }, { NULL },
	};
	int i = one_id(argc, argv, opts_parse(opts, argc, argv, 1, argv[0]), argv[0]);
	if (i < 0)
		return EXIT_USAGE;
	struct isc_err e = { 0 };
	struct create_opts o = {
		.id = argv[i], .bundle = opt_get(opts, "bundle") ? opt_get(opts, "bundle") : ".",
		.pid_file = opt_get(opts, "pid-file"), .console_socket = opt_get(opts, "console-socket"),
		.preserve_fds = preserve(opts), .foreground = run && !opt_get(opts, "detach"),
	};
	pid_t pid;
	int rc = EXIT_SUCCESS;
	if (ctr_create(rt, &o, &pid, &e) < 0)
		rc = fail(rt, &e);
	else if (run && ctr_start(rt, o.id, &e) < 0)
		rc = fail(rt, &e);
	if (run && rc == EXIT_SUCCESS && o.foreground) {
		int status = 0;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (!opt_get(opts, "keep") && ctr_delete(rt, o.id, true, &e) < 0)
			rt_log_error(rt, e.msg);
	} else if (run && rc != EXIT_SUCCESS) {
		struct isc_err e2 = { 0 };
		ctr_delete(rt, o.id, true, &e2);
	}
	opts_free(opts);
	return rc;
}

static int cmd_simple(const struct rt *rt, int argc, char **argv)
{
	const char *cmd = argv[0];
	struct opt kill_o[] = { { "all", 'a', false }, { NULL } };
	struct opt delete_o[] = { { "force", 'f', false }, { NULL } };
	struct opt ps_o[] = { { "format", 'f', true }, { NULL } };
	struct opt none[] = { { NULL } };
	struct opt *use = STREQ(cmd, "kill") ? kill_o : STREQ(cmd, "delete") ? delete_o : STREQ(cmd, "ps") ? ps_o : none;
	int i = one_id(argc, argv, opts_parse(use, argc, argv, 1, cmd), cmd);
	if (i < 0)
		return EXIT_USAGE;
	const char *id = argv[i];
	struct isc_err e = { 0 };
	struct ctr_state st;
	if (STREQ(cmd, "start"))
		return ctr_start(rt, id, &e) < 0 ? fail(rt, &e) : EXIT_SUCCESS;
	if (STREQ(cmd, "delete"))
		return ctr_delete(rt, id, opt_get(use, "force"), &e) < 0 ? fail(rt, &e) : EXIT_SUCCESS;
	if (ctr_state_read(rt, id, &st, &e) < 0)
		return fail(rt, &e);
	int rc = EXIT_SUCCESS;
	enum ctr_status status = ctr_status(rt, &st);
	struct cgroup cg;
	if (STREQ(cmd, "state")) {
		_cleanup_free_ char *j = ctr_state_json(rt, &st);
		printf("%s\n", j ? j : "{}");
	} else if (STREQ(cmd, "kill")) {
		int sig = oci_signal_parse(i + 1 < argc ? argv[i + 1] : "SIGTERM");
		if (sig < 0) {
			err_set(&e, EINVAL, "kill: %s is not a signal", argv[i + 1]);
			rc = fail(rt, &e);
		} else if (status == CTR_STOPPED) {
			err_set(&e, ESRCH, "container %s is not running", id);
			rc = fail(rt, &e);
		} else if (opt_get(use, "all")) {
			pid_t *pids = NULL;
			size_t n = 0;
			ctr_pids(&st, &pids, &n);
			for (size_t k = 0; k < n; k++)
				kill(pids[k], sig);
			free(pids);
		} else {
			_cleanup_close_ int pfd = ctr_pidfd(&st);
			if (pfd < 0 || syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0) {
				err_sys(&e, pfd < 0 ? -pfd : errno, "kill %s", id);
				rc = fail(rt, &e);
			}
		}
	} else if (STREQ(cmd, "ps")) {
		pid_t *pids = NULL;
		size_t n = 0;
		const char *fmt = opt_get(use, "format");
		ctr_pids(&st, &pids, &n);
		if (fmt && STREQ(fmt, "json")) {
			printf("[");
			for (size_t k = 0; k < n; k++)
				printf("%s%d", k ? "," : "", pids[k]);
			printf("]\n");
		} else {
			printf("PID\n");
			for (size_t k = 0; k < n; k++)
				printf("%d\n", pids[k]);
		}
		free(pids);
	} else if (STREQ(cmd, "pause") || STREQ(cmd, "resume")) {
		bool on = STREQ(cmd, "pause");
		if (status != (on ? CTR_RUNNING : CTR_PAUSED)) {
			err_set(&e, EINVAL, "container %s is %s", id, ctr_status_name(status));
			rc = fail(rt, &e);
		} else if (cgroup_init_path(&cg, st.cgroup) < 0 || cgroup_freeze(&cg, on, &e) < 0) {
			rc = fail(rt, &e);
		}
	}
	ctr_state_free(&st);
	return rc;
}

static int cmd_exec(const struct rt *rt, int argc, char **argv)
{
	struct opt opts[] = {
		{ "process", 'p', true }, { "detach", 'd', false }, { "pid-file", 0, true },
		{ "console-socket", 0, true }, { "tty", 't', false }, { "cwd", 0, true },
		{ "env", 'e', true, true }, { "preserve-fds", 0, true }, { "user", 'u', true },
		{ "no-new-privs", 0, false }, { "cap", 'c', true, true }, { "ignore-paused", 0, false },
		{ "process-label", 0, true }, { "apparmor", 0, true }, { "cgroup", 0, true }, { NULL },
	};
	int i = one_id(argc, argv, opts_parse(opts, argc, argv, 1, "exec"), "exec");
	struct isc_err e = { 0 };
	if (i < 0)
		return EXIT_USAGE;
	if (opt_get(opts, "user") || opts[10].values) {
		err_set(&e, EINVAL, "exec: --user and --cap are not taken; give a --process with the container's rules");
		opts_free(opts);
		return fail(rt, &e);
	}
	struct exec_opts o = {
		.id = argv[i], .process = opt_get(opts, "process"), .pid_file = opt_get(opts, "pid-file"),
		.console_socket = opt_get(opts, "console-socket"), .cwd = opt_get(opts, "cwd"),
		.args = argv + i + 1, .env = opts[6].values, .tty = opt_get(opts, "tty"),
		.detach = opt_get(opts, "detach"), .preserve_fds = preserve(opts),
	};
	int r = ctr_exec(rt, &o, &e);
	opts_free(opts);
	if (r < 0)
		return fail(rt, &e);
	return o.detach ? EXIT_SUCCESS : r;
}

/* Standard input (a pipe, as containerd's shim gives it) up to max bytes. */
static int read_stdin(char **text, size_t *len, size_t max)
{
	char *b = malloc(max + 1);
	if (!b)
		return -ENOMEM;
	ssize_t n = read_all(0, b, max + 1);
	if (n < 0 || (size_t)n > max) {
		free(b);
		return n < 0 ? (int)n : -EFBIG;
	}
	b[n] = '\0';
	*text = b;
	*len = (size_t)n;
	return 0;
}

/* The limits update starts from: memory and pids as the groups have them
 * now, cpu as the spec had it. */
static void limits_now(const struct oci_spec *s, struct cgroup *cg,
		       struct cgroup_limits *l)
{
	struct cgroup_stats now = { 0 };
	struct isc_err e = { 0 };
	*l = s->limits;
	if (cgroup_stats(cg, &now, &e) == 0) {
		if (now.memory_max)
			l->memory = now.memory_max;
		if (now.pids_max)
			l->pids = now.pids_max;
	}
}

/* update's options (--memory SIZE, --pids-limit N) or its resources
 * file ("-": standard input) over l. */
static int limits_given(const struct opt *opts, struct cgroup_limits *l, struct isc_err *e)
{
	const char *file = opt_get(opts, "resources"), *m = opt_get(opts, "memory"), *p = opt_get(opts, "pids-limit");
	if (file) {
		_cleanup_free_ char *text = NULL;
		size_t len;
		unsigned given;
		int r = STREQ(file, "-") ? read_stdin(&text, &len, 1 << 20) : read_file_at(AT_FDCWD, file, &text, &len, 1 << 20);
		if (r < 0)
			return err_sys(e, -r, "update --resources %s", file);
		return oci_resources_parse(text, len, l, &given, e);
	}
	uint64_t v;
	if (m && (parse_size(m, &v) < 0 || v < (16 << 20)))
		return err_set(e, EINVAL, "update --memory %.32s: a size of 16M or more", m);
	if (m)
		l->memory = v;
	char *end = NULL;
	unsigned long long n = p ? strtoull(p, &end, 10) : 0;
	if (p && (*end || n < 1 || n > 4194304))
		return err_set(e, EINVAL, "update --pids-limit %.32s: 1 to 4194304", p);
	if (p)
		l->pids = n;
	return 0;
}

static int cmd_update(const struct rt *rt, int argc, char **argv)
{
	struct opt opts[] = { { "resources", 'r', true }, { "memory", 'm', true }, { "pids-limit", 0, true }, { NULL } };
	int i = one_id(argc, argv, opts_parse(opts, argc, argv, 1, "update"), "update");
	if (i < 0)
		return EXIT_USAGE;
	struct isc_err e = { 0 };
	struct ctr_state st;
	struct oci_spec s;
	struct cgroup cg;
	struct cgroup_limits l;
	if (ctr_state_read(rt, argv[i], &st, &e) < 0)
		return fail(rt, &e);
	int rc = EXIT_SUCCESS;
	if (ctr_spec_load(rt, &st, &s, &e) < 0) {
		ctr_state_free(&st);
		return fail(rt, &e);
	}
	if (cgroup_init_path(&cg, st.cgroup) < 0)
		err_set(&e, EINVAL, "container %s: no cgroup", st.id);
	else
		limits_now(&s, &cg, &l);
	/* cgroup_create again: the groups are there, their limits written anew */
	if (e.code || limits_given(opts, &l, &e) < 0 || cgroup_create(&cg, &l, &e) < 0)
		rc = fail(rt, &e);
	oci_spec_free(&s);
	ctr_state_free(&st);
	return rc;
}

static void json_strs(struct json_object *o, const char *key, const char *const *v, size_t n)
{
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	json_object_object_add(o, key, a);
}

static int cmd_features(void)
{
	static const char *const hooks[] = { "prestart", "createRuntime", "createContainer", "startContainer",
					     "poststart", "poststop" };
	static const char *const mopts[] = { "bind", "rbind", "ro", "rw", "rro", "nosuid", "nodev", "noexec",
		"nosymfollow", "relatime", "norelatime", "noatime", "strictatime", "nodiratime", "private",
		"rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable", "defaults", "async" };
	static const char *const ns[] = { "cgroup", "ipc", "mount", "network", "pid", "user", "uts" };
	static const char *const actions[] = { "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
		"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP" };
	static const char *const ops[] = { "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
		"SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE" };
	static const char *const archs[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
		"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM" };
	struct json_object *o = json_object_new_object(), *l = json_object_new_object(),
			   *cg = json_object_new_object(), *sc = json_object_new_object(),
			   *ann = json_object_new_object();
	json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(o, "ociVersionMax", json_object_new_string("1.1.0"));
	json_strs(o, "hooks", hooks, ARRAY_SIZE(hooks));
	json_strs(o, "mountOptions", mopts, ARRAY_SIZE(mopts));
	json_strs(l, "namespaces", ns, ARRAY_SIZE(ns));
	const char *caps[64];
	size_t nc = 0;
	for (unsigned c = 0; oci_cap_name(c) && nc < 64; c++) {
		static char names[64][32];
		snprintf(names[nc], sizeof(names[nc]), "CAP_%s", oci_cap_name(c));
		caps[nc] = names[nc];
		nc++;
	}
	json_strs(l, "capabilities", caps, nc);
	json_object_object_add(cg, "v1", json_object_new_boolean(true));
	json_object_object_add(cg, "v2", json_object_new_boolean(true));
	json_object_object_add(cg, "systemd", json_object_new_boolean(false));
	json_object_object_add(l, "cgroup", cg);
	json_object_object_add(sc, "enabled", json_object_new_boolean(true));
	json_strs(sc, "actions", actions, ARRAY_SIZE(actions));
	json_strs(sc, "operators", ops, ARRAY_SIZE(ops));
	json_strs(sc, "archs", archs, ARRAY_SIZE(archs));
	json_object_object_add(l, "seccomp", sc);
	json_object_object_add(o, "linux", l);
	json_object_object_add(ann, "org.isc.version", json_object_new_string(ISC_VERSION));
	json_object_object_add(o, "annotations", ann);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return EXIT_SUCCESS;
}

/* A config.json to start from: busybox's sh in rootfs/, with isc's rules. */
static const char spec_template[] =
	"{\n"
	"  \"ociVersion\": \"1.1.0\",\n"
	"  \"process\": {\n"
	"    \"terminal\": true,\n"
	"    \"user\": { \"uid\": 0, \"gid\": 0 },\n"
	"    \"args\": [ \"sh\" ],\n"
	"    \"env\": [ \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM=xterm\" ],\n"
	"    \"cwd\": \"/\",\n"
	"    \"capabilities\": {\n"
	"      \"bounding\": [ \"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_FOWNER\", \"CAP_FSETID\", \"CAP_KILL\",\n"
	"        \"CAP_SETGID\", \"CAP_SETUID\", \"CAP_SETPCAP\", \"CAP_NET_BIND_SERVICE\" ]\n"
	"    },\n"
	"    \"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024 } ],\n"
	"    \"noNewPrivileges\": true\n"
	"  },\n"
	"  \"root\": { \"path\": \"rootfs\", \"readonly\": true },\n"
	"  \"hostname\": \"isc\",\n"
	"  \"mounts\": [\n"
	"    { \"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\" },\n"
	"    { \"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
	"      \"options\": [ \"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\" ] },\n"
	"    { \"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\",\n"
	"      \"options\": [ \"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\" ] },\n"
	"    { \"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\",\n"
	"      \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\" ] },\n"
	"    { \"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\",\n"
	"      \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"ro\" ] }\n"
	"  ],\n"
	"  \"linux\": {\n"
	"    \"resources\": { \"memory\": { \"limit\": 268435456 }, \"pids\": { \"limit\": 256 } },\n"
	"    \"namespaces\": [ { \"type\": \"pid\" }, { \"type\": \"network\" }, { \"type\": \"ipc\" },\n"
	"      { \"type\": \"uts\" }, { \"type\": \"mount\" }, { \"type\": \"cgroup\" } ],\n"
	"    \"maskedPaths\": [ \"/proc/kcore\", \"/proc/keys\", \"/proc/timer_list\", \"/sys/firmware\" ],\n"
	"    \"readonlyPaths\": [ \"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", \"/proc/sysrq-trigger\" ]\n"
	"  },\n"
	"  \"annotations\": { \"org.isc.profile\": \"strict\" }\n"
	"}\n";

static int cmd_spec(int argc, char **argv)
{
	struct opt opts[] = { { "bundle", 'b', true }, { "rootless", 0, false }, { NULL } };
	int i = opts_parse(opts, argc, argv, 1, "spec");
	if (i < 0)
		return EXIT_USAGE;
	const char *dir = opt_get(opts, "bundle") ? opt_get(opts, "bundle") : ".";
	_cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || faccessat(dfd, "config.json", F_OK, 0) == 0) {
		fprintf(stderr, "isc-runtime spec: %s/config.json %s\n", dir,
			dfd < 0 ? strerror(errno) : "exists already: remove it first");
		return EXIT_FAILURE;
	}
	int r = write_file_replace(dfd, "config.json", spec_template, strlen(spec_template), 0644, WRITE_SYNC_DATA);
	if (r < 0) {
		fprintf(stderr, "isc-runtime spec: %s/config.json: %s\n", dir, strerror(-r));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

static int cmd_list(const struct rt *rt, int argc, char **argv)
{
	struct opt opts[] = { { "format", 'f', true }, { "quiet", 'q', false }, { NULL } };
	if (opts_parse(opts, argc, argv, 1, "list") < 0)
		return EXIT_USAGE;
	const char *fmt = opt_get(opts, "format");
	bool json = fmt && STREQ(fmt, "json");
	DIR *d = opendir(rt->root);
	struct json_object *a = json_object_new_array();
	if (!json && !opt_get(opts, "quiet"))
		printf("%-66s %-8s %-8s %s\n", "ID", "PID", "STATUS", "BUNDLE");
	for (struct dirent *de; d && (de = readdir(d));) {
		struct ctr_state st;
		struct isc_err e = { 0 };
		if (de->d_type != DT_DIR || !ctr_id_valid(de->d_name) || ctr_state_read(rt, de->d_name, &st, &e) < 0)
			continue;
		enum ctr_status s = ctr_status(rt, &st);
		if (json) {
			_cleanup_free_ char *j = ctr_state_json(rt, &st);
			json_object_array_add(a, j ? json_tokener_parse(j) : NULL);
		} else if (opt_get(opts, "quiet")) {
			printf("%s\n", st.id);
		} else {
			printf("%-66s %-8d %-8s %s\n", st.id, s == CTR_STOPPED ? 0 : st.pid, ctr_status_name(s), st.bundle);
		}
		ctr_state_free(&st);
	}
	if (d)
		closedir(d);
	if (json)
		printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return EXIT_SUCCESS;
}

static void usage(FILE *f)
{
	fputs("usage: isc-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND [OPTIONS] ID\n"
	      "The OCI runtime of isc (runc's command line): containers with an ISC's rules.\n"
	      "  create [-b BUNDLE] [--pid-file F] [--console-socket S] [--preserve-fds N] ID\n"
	      "  start ID | state ID | pause ID | resume ID\n"
	      "  run [-b BUNDLE] [-d] [--pid-file F] [--console-socket S] [--keep] ID\n"
	      "  kill [-a] ID [SIGNAL]        delete [-f] ID\n"
	      "  exec [-p PROCESS.json | [-t] [--cwd DIR] [-e K=V]... ID CMD...] [-d] [--pid-file F]\n"
	      "       [--console-socket S] [--preserve-fds N]\n"
	      "  ps [--format table|json] ID  list [--format table|json] [-q]\n"
	      "  update [-r RESOURCES.json|-] [--memory SIZE] [--pids-limit N] ID\n"
	      "  features | spec [-b BUNDLE] | --version\n"
	      "Annotations org.isc.profile, org.isc.mdwe, org.isc.caps, org.isc.writable-exec and\n"
	      "org.isc.network relax isc's rules explicitly; see isc-runtime(8) and docs/oci.md.\n", f);
}

int main(int argc, char **argv)
{
	struct opt g[] = {
		{ "root", 0, true }, { "log", 0, true }, { "log-format", 0, true }, { "debug", 0, false },
		{ "systemd-cgroup", 0, false }, { "rootless", 0, true }, { "criu", 0, true },
		{ "version", 'v', false }, { "help", 'h', false }, { NULL },
	};
	int i = opts_parse(g, argc, argv, 1, "");
	if (i < 0)
		return EXIT_USAGE;
	if (opt_get(g, "version") || (i < argc && STREQ(argv[i], "version"))) {
		printf("isc-runtime version %s\nspec: 1.1.0\n", ISC_VERSION);
		return EXIT_SUCCESS;
	}
	if (opt_get(g, "help") || i >= argc || STREQ(argv[i], "help")) {
		usage(i >= argc && !opt_get(g, "help") ? stderr : stdout);
		return i >= argc && !opt_get(g, "help") ? EXIT_USAGE : EXIT_SUCCESS;
	}
	const char *lf = opt_get(g, "log-format");
	struct rt rt = {
		.root = opt_get(g, "root") ? opt_get(g, "root") : RT_DEFAULT_ROOT, .log = opt_get(g, "log"),
		.log_json = lf && STREQ(lf, "json"), .debug = opt_get(g, "debug"),
		.systemd_cgroup = opt_get(g, "systemd-cgroup"),
	};
	if (lf && !STREQ(lf, "json") && !STREQ(lf, "text")) {
		fprintf(stderr, "isc-runtime: --log-format text or json\n");
		return EXIT_USAGE;
	}
	umask(022);
	argc -= i;
	argv += i;
	const char *cmd = argv[0];
	if (STREQ(cmd, "create") || STREQ(cmd, "run"))
		return cmd_create(&rt, argc, argv, STREQ(cmd, "run"));
	if (STREQ(cmd, "exec"))
		return cmd_exec(&rt, argc, argv);
	if (STREQ(cmd, "update"))
		return cmd_update(&rt, argc, argv);
	if (STREQ(cmd, "features"))
		return cmd_features();
	if (STREQ(cmd, "spec"))
		return cmd_spec(argc, argv);
	if (STREQ(cmd, "list"))
		return cmd_list(&rt, argc, argv);
	static const char *const simple[] = { "start", "state", "kill", "delete", "ps", "pause", "resume" };
	for (size_t k = 0; k < ARRAY_SIZE(simple); k++)
		if (STREQ(cmd, simple[k]))
			return cmd_simple(&rt, argc, argv);
	fprintf(stderr, "isc-runtime: unknown command %s (see isc-runtime --help)\n", cmd);
	return EXIT_USAGE;
}
