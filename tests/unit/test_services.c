/* test_services.c - unit tests for src/init: service-file parser, user lookup, the state machine (driven without forking) and the control protocol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "services.h"
#include "testutil.h"

#define UNUSED __attribute__((unused))

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* ---- parser ---------------------------------------------------------------- */

static int parse(const char *text, struct svc_conf *c, struct isc_err *e)
{
	err_clear(e);
	return svc_conf_parse(text, strlen(text), c, e);
}

/* The parse fails with code and exactly this message. */
static void expect_error(const char *text, int code, const char *msg)
{
	struct svc_conf c;
	struct isc_err e;
	assert_int_equal(parse(text, &c, &e), -code);
	assert_string_equal(e.msg, msg);
	assert_null(c.argv);   /* nothing half-parsed is left behind */
}

static void test_parse_minimal_defaults(void **state UNUSED)
{
	struct svc_conf c;
	struct isc_err e;
	assert_int_equal(parse("exec=/usr/sbin/httpd -f -p 80\n", &c, &e), 0);
	assert_int_equal(strv_length(c.argv), 4);
	assert_string_equal(c.argv[0], "/usr/sbin/httpd");
	assert_string_equal(c.argv[3], "80");
	assert_string_equal(c.user, "root");
	assert_int_equal(c.restart, SVC_RESTART_ALWAYS);
	assert_null(c.after);
	assert_string_equal(c.dir, "/");
	svc_conf_free(&c);
}

static void test_parse_full(void **state UNUSED)
{
	struct svc_conf c;
	struct isc_err e;
	const char *text =
		"# web server\n"
		"\n"
		"  exec = /usr/sbin/httpd -f -h /var/www  \n"
		"user=www-data\n"
		"\trestart=on-failure\n"
		"after=db cache\n"
		"dir=/var/www\n"
		"# trailing comment, no final newline";
	assert_int_equal(parse(text, &c, &e), 0);
	assert_int_equal(strv_length(c.argv), 4);
	assert_string_equal(c.argv[3], "/var/www");
	assert_string_equal(c.user, "www-data");
	assert_int_equal(c.restart, SVC_RESTART_ON_FAILURE);
	assert_int_equal(strv_length(c.after), 2);
	assert_string_equal(c.after[1], "cache");
	assert_string_equal(c.dir, "/var/www");
	svc_conf_free(&c);
}

/* caps=: parsed by name, canonical in number order, none, strict */
static void test_parse_caps(void **state UNUSED)
{
	struct svc_conf c;
	struct isc_err e;
	assert_int_equal(parse("exec=/a\ncaps=setuid,net_bind_service\n", &c, &e), 0);
	assert_true(c.caps_set);
	assert_int_equal(c.caps, (1ULL << 7) | (1ULL << 10));
	char *out = NULL;
	assert_int_equal(svc_conf_format(&c, &out), 0);
	assert_non_null(strstr(out, "\ncaps=setuid,net_bind_service\n"));
	free(out);
	svc_conf_free(&c);
	assert_int_equal(parse("exec=/a\ncaps=none\n", &c, &e), 0);
	assert_true(c.caps_set);
	assert_int_equal(c.caps, 0);
	assert_int_equal(svc_conf_format(&c, &out), 0);
	assert_non_null(strstr(out, "\ncaps=none\n"));
	free(out);
	svc_conf_free(&c);
	assert_int_equal(parse("exec=/a\n", &c, &e), 0);
	assert_false(c.caps_set);
	svc_conf_free(&c);
	/* blanks around the value go, like for every key; a non-root user may list caps */
	assert_int_equal(parse("exec=/a\nuser=www\ncaps= kill \n", &c, &e), 0);
	assert_int_equal(c.caps, 1ULL << 5);
	svc_conf_free(&c);
	static const char *bad[] = {
		"caps=bogus", "caps=CAP_KILL", "caps=cap_kill", "caps=kill,", "caps=,kill",
		"caps=kill,,setuid", "caps=kill,kill", "caps=kill none", "caps=Kill",
		"caps=kill, setuid", "caps=kill ,setuid", "caps=none,kill", "caps=kill,none",
		"caps=,", "caps=all", "caps=net_bind_service\tkill",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char text[128];
		snprintf(text, sizeof(text), "exec=/a\n%s\n", bad[i]);
		if (parse(text, &c, &e) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_null(c.argv);
	}
	expect_error("exec=/a\ncaps=kill,sys_admn\n", EINVAL,
		     "line 2: caps= \"sys_admn\" is not a capability (names as in capabilities(7), "
		     "lower case, without cap_; or none)");
	expect_error("exec=/a\ncaps=kill,\n", EINVAL,
		     "line 2: caps= \"\" is not a capability (names as in capabilities(7), "
		     "lower case, without cap_; or none)");
	expect_error("exec=/a\ncaps=setuid,kill,setuid\n", EINVAL, "line 2: caps= names setuid twice");
	expect_error("exec=/a\ncaps=kill\ncaps=kill\n", EINVAL, "line 3: duplicate key \"caps\"");
	expect_error("exec=/a\ncaps=\n", EINVAL, "line 2: empty value for \"caps\"");
	/* every known name parses, and the whole list round-trips */
	char all[1024] = "exec=/a\ncaps=";
	for (unsigned i = 0; svc_cap_name(i); i++)
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", i ? "," : "",
			 svc_cap_name(i));
	strcat(all, "\n");
	assert_int_equal(parse(all, &c, &e), 0);
	assert_int_equal(c.caps, (1ULL << 41) - 1);
	assert_int_equal(svc_conf_format(&c, &out), 0);
	assert_string_equal(strstr(out, "\ncaps="), strstr(all, "\ncaps="));
	free(out);
	svc_conf_free(&c);
	assert_string_equal(svc_cap_name(0), "chown");
	assert_string_equal(svc_cap_name(40), "checkpoint_restore");
	assert_null(svc_cap_name(41));
}

static void test_parse_restart_values(void **state UNUSED)
{
	struct svc_conf c;
	struct isc_err e;
	assert_int_equal(parse("exec=/a\nrestart=never\n", &c, &e), 0);
	assert_int_equal(c.restart, SVC_RESTART_NEVER);
	svc_conf_free(&c);
	assert_int_equal(parse("exec=/a\nrestart=always\n", &c, &e), 0);
	assert_int_equal(c.restart, SVC_RESTART_ALWAYS);
	svc_conf_free(&c);
	expect_error("exec=/a\nrestart=sometimes\n", EINVAL,
		     "line 2: restart= must be always, on-failure or never, not \"sometimes\"");
}

static void test_parse_missing_exec(void **state UNUSED)
{
	expect_error("user=root\n", EINVAL, "missing exec=");
	expect_error("", EINVAL, "missing exec=");
	expect_error("# only a comment\n\n", EINVAL, "missing exec=");
}

static void test_parse_unknown_key(void **state UNUSED)
{
	expect_error("exec=/a\nExec=/b\n", EINVAL, "line 2: unknown key \"Exec\"");
	expect_error("exec=/a\n\nenv=X=1\n", EINVAL, "line 3: unknown key \"env\"");
}

static void test_parse_duplicate_key(void **state UNUSED)
{
	expect_error("exec=/a\nuser=root\nexec=/b\n", EINVAL, "line 3: duplicate key \"exec\"");
	expect_error("exec=/a\ndir=/\ndir=/tmp\n", EINVAL, "line 3: duplicate key \"dir\"");
}

static void test_parse_no_equals(void **state UNUSED)
{
	expect_error("exec /bin/true\n", EINVAL, "line 1: expected key=value");
}

static void test_parse_empty_value(void **state UNUSED)
{
	expect_error("exec=\n", EINVAL, "line 1: empty value for \"exec\"");
	expect_error("exec=/a\nuser=  \n", EINVAL, "line 2: empty value for \"user\"");
}

static void test_parse_exec_relative(void **state UNUSED)
{
	expect_error("exec=httpd -f\n", EINVAL,
		     "line 1: exec= program \"httpd\" is not an absolute path");
	expect_error("exec=\"\" x\n", EINVAL, "line 1: exec= program \"\" is not an absolute path");
}

static void test_parse_user(void **state UNUSED)
{
	struct svc_conf c;
	struct isc_err e;
	assert_int_equal(parse("exec=/a\nuser=1000\n", &c, &e), 0);
	assert_string_equal(c.user, "1000");
	svc_conf_free(&c);
	expect_error("exec=/a\nuser=www data\n", EINVAL,
		     "line 2: user= \"www data\" is neither a user name nor a uid");
	expect_error("exec=/a\nuser=4294967295\n", EINVAL,
		     "line 2: user= \"4294967295\" is neither a user name nor a uid");
	expect_error("exec=/a\nuser=-x\n", EINVAL,
		     "line 2: user= \"-x\" is neither a user name nor a uid");
}

static void test_parse_after(void **state UNUSED)
{
	expect_error("exec=/a\nafter=db ../x\n", EINVAL,
		     "line 2: after= \"../x\" is not a service name");
	expect_error("exec=/a\nafter=db db\n", EINVAL, "line 2: after= names \"db\" twice");
	char text[2048] = "exec=/a\nafter=";
	for (int i = 0; i <= SVC_AFTER_MAX; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "s%d ", i);
	expect_error(text, E2BIG, "line 2: after= names more than 64 services");
}

static void test_parse_dir(void **state UNUSED)
{
	expect_error("exec=/a\ndir=var/www\n", EINVAL, "line 2: dir= \"var/www\" is not an absolute path");
	expect_error("exec=/a\ndir=/var/my www\n", EINVAL, "line 2: dir= path contains a blank");
}

static void test_parse_control_chars(void **state UNUSED)
{
	expect_error("exec=/a\r\n", EINVAL, "line 1: control character in line");
	expect_error("exec=/a\nuser=ro\x1bot\n", EINVAL, "line 2: control character in line");
	struct svc_conf c;
	struct isc_err e;
	static const char nul[] = "exec=/a\0b\n";
	assert_int_equal(svc_conf_parse(nul, sizeof(nul) - 1, &c, &e), -EINVAL);
	assert_string_equal(e.msg, "line 1: control character in line");
}

static void test_parse_size_limit(void **state UNUSED)
{
	struct svc_conf c;
	struct isc_err e;
	size_t n = SVC_FILE_MAX + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	memcpy(big, "exec=/a\n", 8);
	big[n - 1] = '\n';
	assert_int_equal(svc_conf_parse(big, n, &c, &e), -EFBIG);
	assert_string_equal(e.msg, "file larger than 64 KiB");
	assert_int_equal(svc_conf_parse(big, n - 1, &c, &e), 0);   /* exactly 64 KiB is fine */
	svc_conf_free(&c);
	free(big);
}

static void test_parse_arg_limit(void **state UNUSED)
{
	struct svc_conf c;
	struct isc_err e;
	char text[4096] = "exec=/bin/echo";
	for (int i = 1; i < SVC_ARGS_MAX; i++)
		strcat(text, " x");
	assert_int_equal(parse(text, &c, &e), 0);
	assert_int_equal(strv_length(c.argv), SVC_ARGS_MAX);
	svc_conf_free(&c);
	strcat(text, " x");
	expect_error(text, E2BIG, "line 1: more than 256 arguments");
}

/* ---- quoting ----------------------------------------------------------------- */

static char **split(const char *v)
{
	char **argv = NULL;
	struct isc_err e;
	assert_int_equal(svc_exec_split(v, &argv, &e), 0);
	return argv;
}

static void test_quote_spaces(void **state UNUSED)
{
	char **a = split("/bin/sh -c \"echo hello world; exit 3\"");
	assert_int_equal(strv_length(a), 3);
	assert_string_equal(a[2], "echo hello world; exit 3");
	strv_free(a);
}

static void test_quote_escapes(void **state UNUSED)
{
	char **a = split("/bin/echo \"say \\\"hi\\\"\" \"back\\\\slash\" plain\\n");
	assert_int_equal(strv_length(a), 4);
	assert_string_equal(a[1], "say \"hi\"");
	assert_string_equal(a[2], "back\\slash");
	assert_string_equal(a[3], "plain\\n");   /* outside quotes a backslash is literal */
	strv_free(a);
}

static void test_quote_empty_and_glued(void **state UNUSED)
{
	char **a = split("/bin/x \"\" --name=\"a b\"c\t#not-a-comment");
	assert_int_equal(strv_length(a), 4);
	assert_string_equal(a[1], "");
	assert_string_equal(a[2], "--name=a bc");
	assert_string_equal(a[3], "#not-a-comment");
	strv_free(a);
}

static void test_quote_errors(void **state UNUSED)
{
	char **a = NULL;
	struct isc_err e;
	assert_int_equal(svc_exec_split("/bin/sh -c \"echo", &a, &e), -EINVAL);
	assert_string_equal(e.msg, "unterminated quote");
	assert_int_equal(svc_exec_split("/bin/sh -c \"echo\\", &a, &e), -EINVAL);
	assert_string_equal(e.msg, "unterminated quote");
	assert_int_equal(svc_exec_split("/bin/sh \"a\\nb\"", &a, &e), -EINVAL);
	assert_string_equal(e.msg, "unknown escape \\n in quotes (only \\\" and \\\\)");
	assert_int_equal(svc_exec_split("   ", &a, &e), -EINVAL);
	assert_null(a);
}

static void test_format_round_trip(void **state UNUSED)
{
	struct svc_conf c, d;
	struct isc_err e;
	char *text = NULL;
	assert_int_equal(parse("exec=/bin/sh -c \"a \\\"b\\\" \\\\ c\" \"\" x\"y z\"\n"
			       "user=nobody\nrestart=never\nafter=a b\ndir=/srv\n", &c, &e), 0);
	assert_int_equal(svc_conf_format(&c, &text), 0);
	assert_int_equal(parse(text, &d, &e), 0);
	assert_int_equal(strv_length(c.argv), strv_length(d.argv));
	for (size_t i = 0; c.argv[i]; i++)
		assert_string_equal(c.argv[i], d.argv[i]);
	assert_string_equal(d.argv[4], "xy z");
	assert_string_equal(c.user, d.user);
	assert_int_equal(c.restart, d.restart);
	assert_string_equal(d.after[1], "b");
	assert_string_equal(c.dir, d.dir);
	free(text);
	svc_conf_free(&c);
	svc_conf_free(&d);
}

/* ---- users -------------------------------------------------------------------- */

static const char *passwd_text =
	"root:x:0:0:root:/root:/bin/sh\n"
	"broken line without fields\n"
	"bad:x:notanumber:1::/:/bin/sh\n"
	"www:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
	"app:x:1000:1000:App,,,:relative:/bin/sh\n"
	"www:x:99:99:second entry never wins:/x:/bin/sh";   /* no final newline */
static const char *group_text =
	"root:x:0:\n"
	"www:x:33:\n"
	"web:x:50:app,www\n"
	"audio:x:29:www\n"
	"dup:x:29:www\n"
	"staff:x:50:www\n"
	"other:x:70:wwwx,xwww\n";

static void test_user_root_default(void **state UNUSED)
{
	struct svc_cred c;
	struct isc_err e;
	assert_int_equal(svc_user_resolve("root", NULL, NULL, &c, &e), 0);
	assert_int_equal(c.uid, 0);
	assert_int_equal(c.gid, 0);
	assert_string_equal(c.home, "/root");
	assert_int_equal(c.ngroups, 1);
	assert_int_equal(c.groups[0], 0);
}

static void test_user_by_name_with_groups(void **state UNUSED)
{
	struct svc_cred c;
	struct isc_err e;
	assert_int_equal(svc_user_resolve("www", passwd_text, group_text, &c, &e), 0);
	assert_int_equal(c.uid, 33);
	assert_int_equal(c.gid, 33);
	assert_string_equal(c.home, "/var/www");
	assert_string_equal(c.name, "www");
	/* primary first, then each member group once; "wwwx" is not "www" */
	assert_int_equal(c.ngroups, 3);
	assert_int_equal(c.groups[0], 33);
	assert_int_equal(c.groups[1], 50);
	assert_int_equal(c.groups[2], 29);
}

static void test_user_by_uid(void **state UNUSED)
{
	struct svc_cred c;
	struct isc_err e;
	assert_int_equal(svc_user_resolve("1000", passwd_text, group_text, &c, &e), 0);
	assert_string_equal(c.name, "app");
	assert_int_equal(c.gid, 1000);
	assert_string_equal(c.home, "/");   /* a relative home is not trusted */
	assert_int_equal(c.ngroups, 2);
	assert_int_equal(c.groups[1], 50);
	/* unknown uid: its own number as group, never gid 0 */
	assert_int_equal(svc_user_resolve("4242", passwd_text, group_text, &c, &e), 0);
	assert_int_equal(c.uid, 4242);
	assert_int_equal(c.gid, 4242);
	assert_int_equal(c.ngroups, 1);
	assert_string_equal(c.home, "/");
}

static void test_user_unknown(void **state UNUSED)
{
	struct svc_cred c;
	struct isc_err e;
	assert_int_equal(svc_user_resolve("nobody", passwd_text, group_text, &c, &e), -ENOENT);
	assert_string_equal(e.msg, "user \"nobody\" not found in /etc/passwd");
	assert_int_equal(svc_user_resolve("bad", passwd_text, group_text, &c, &e), -ENOENT);
	assert_int_equal(svc_user_resolve("x:y", passwd_text, group_text, &c, &e), -EINVAL);
}

/* ---- state machine --------------------------------------------------------------- */

struct fake {
	int spawns, fail_spawn;
	int last_sig, nkills;
	pid_t next_pid;
	char last[512];
	int nsay;
	char event[96];          /* the last event told to the supervisor */
	int nevents;
};

static int fake_spawn(void *ctx, struct svc *s)
{
	struct fake *f = ctx;
	if (f->fail_spawn)
		return -EAGAIN;
	f->spawns++;
	s->pid = f->next_pid++;
	return 0;
}

static void fake_kill(void *ctx, struct svc *s UNUSED, int sig)
{
	struct fake *f = ctx;
	f->last_sig = sig;
	f->nkills++;
}

static void fake_say(void *ctx, const char *line)
{
	struct fake *f = ctx;
	snprintf(f->last, sizeof(f->last), "%s", line);
	f->nsay++;
}

static void fake_event(void *ctx, const struct svc *s, const char *what)
{
	struct fake *f = ctx;
	snprintf(f->event, sizeof(f->event), "%s %s", what, s->name);
	f->nevents++;
}

static const struct svc_ops fake_ops = { .spawn = fake_spawn, .kill = fake_kill, .say = fake_say,
					 .event = fake_event };

struct machine {
	struct svc_set set;
	struct fake fake;
	struct svc_env env;
};

static void machine_init(struct machine *m, const char *const *names, const char *const *texts)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; names[i]; i++)
		assert_int_equal(svc_set_add_text(&m->set, names[i], texts[i], strlen(texts[i]), names[i]), 0);
	svc_set_link(&m->set);
	m->fake.next_pid = 100;
	m->env = (struct svc_env){ .set = &m->set, .ops = &fake_ops, .ctx = &m->fake,
				   .now_ms = 1000000, .stop_timeout_ms = 10000 };
}

static struct svc *one(struct machine *m, const char *text)
{
	static const char *names[] = { "web", NULL };
	const char *texts[] = { text, NULL };
	machine_init(m, names, texts);
	return &m->set.v[0];
}

static void ev(struct machine *m, struct svc *s, enum svc_event e)
{
	svc_dispatch(&m->env, s, e);
}

static void die(struct machine *m, struct svc *s, int code)
{
	s->wstatus = code << 8;   /* as waitpid reports exit(code) */
	ev(m, s, code == 0 ? SVC_EV_EXIT_OK : SVC_EV_EXIT_FAIL);
}

static void test_sm_start_online(void **state UNUSED)
{
	struct machine m;
	struct svc *s = one(&m, "exec=/bin/httpd\n");
	ev(&m, s, SVC_EV_START);
	assert_int_equal(s->state, SVC_STARTING);
	assert_int_equal(m.fake.spawns, 1);
	assert_string_equal(svc_state_public(s->state), "offline");
	ev(&m, s, SVC_EV_READY);
	assert_int_equal(s->state, SVC_ONLINE);
	assert_string_equal(m.fake.last, "web online (pid 100)");
	ev(&m, s, SVC_EV_START);   /* idempotent */
	assert_int_equal(m.fake.spawns, 1);
	svc_set_free(&m.set);
}

static void test_sm_crash_loop_maintenance(void **state UNUSED)
{
	struct machine m;
	struct svc *s = one(&m, "exec=/bin/false\n");
	static const int delays[] = { 1000, 2000, 4000, 8000 };
	ev(&m, s, SVC_EV_START);
	for (int i = 0; i < 4; i++) {
		ev(&m, s, SVC_EV_READY);
		die(&m, s, 1);
		assert_int_equal(s->state, SVC_BACKOFF);
		assert_int_equal(s->deadline_ms, m.env.now_ms + delays[i]);
		m.env.now_ms = s->deadline_ms;
		ev(&m, s, SVC_EV_TIMER);
		assert_int_equal(s->state, SVC_STARTING);
	}
	assert_string_equal(m.fake.last, "web exited with status 1, restarting in 8s");
	assert_int_equal(m.fake.nevents, 0);   /* a restart is not the supervisor's business */
	ev(&m, s, SVC_EV_READY);
	die(&m, s, 1);   /* the 5th failure, 15 s after the first */
	assert_int_equal(s->state, SVC_MAINTENANCE);
	assert_string_equal(m.fake.last, "web in maintenance (failed 5 times in 60s)");
	/* the supervisor is told, once (its on-crash policy) */
	assert_int_equal(m.fake.nevents, 1);
	assert_string_equal(m.fake.event, "maintenance web");
	assert_int_equal(s->deadline_ms, 0);
	ev(&m, s, SVC_EV_TIMER);
	ev(&m, s, SVC_EV_START);
	assert_int_equal(s->state, SVC_MAINTENANCE);   /* left alone */
	assert_int_equal(m.fake.spawns, 5);
	svc_set_free(&m.set);
}

static void test_sm_slow_failures_no_maintenance(void **state UNUSED)
{
	struct machine m;
	struct svc *s = one(&m, "exec=/bin/false\n");
	ev(&m, s, SVC_EV_START);
	for (int i = 0; i < 10; i++) {
		m.env.now_ms += 20000;   /* 20 s up each time: never 5 in 60 s */
		die(&m, s, 1);
		assert_int_equal(s->state, SVC_BACKOFF);
		m.env.now_ms = s->deadline_ms;
		ev(&m, s, SVC_EV_TIMER);
	}
	assert_int_equal(s->state, SVC_STARTING);
	svc_set_free(&m.set);
}

static void test_sm_backoff_cap_and_reset(void **state UNUSED)
{
	struct machine m;
	struct svc *s = one(&m, "exec=/bin/x\n");
	ev(&m, s, SVC_EV_START);
	/* exit 0 under restart=always: restarted with backoff, never maintenance */
	for (int i = 0; i < 8; i++) {
		die(&m, s, 0);
		assert_int_equal(s->state, SVC_BACKOFF);
		m.env.now_ms = s->deadline_ms;
		ev(&m, s, SVC_EV_TIMER);
	}
	assert_int_equal(s->backoff_ms, SVC_BACKOFF_MAX_MS);
	die(&m, s, 0);
	assert_string_equal(m.fake.last, "web exited with status 0, restarting in 30s");
	m.env.now_ms = s->deadline_ms;
	ev(&m, s, SVC_EV_TIMER);
	m.env.now_ms += SVC_UPTIME_RESET_MS;   /* a minute of uptime resets the delay */
	die(&m, s, 1);
	assert_int_equal(s->deadline_ms, m.env.now_ms + 1000);
	svc_set_free(&m.set);
}

static void test_sm_kill_signal_message(void **state UNUSED)
{
	struct machine m;
	struct svc *s = one(&m, "exec=/bin/x\n");
	ev(&m, s, SVC_EV_START);
	s->wstatus = SIGSEGV;   /* as waitpid reports a SIGSEGV death */
	ev(&m, s, SVC_EV_EXIT_FAIL);
	assert_string_equal(m.fake.last, "web was killed by SIGSEGV, restarting in 1s");
	svc_set_free(&m.set);
}

static void test_sm_restart_policies(void **state UNUSED)
{
	struct machine m;
	struct svc *s = one(&m, "exec=/bin/x\nrestart=never\n");
	ev(&m, s, SVC_EV_START);
	die(&m, s, 2);
	assert_int_equal(s->state, SVC_DOWN);
	assert_false(s->want);
	assert_string_equal(m.fake.last, "web exited with status 2");
	svc_set_free(&m.set);

	s = one(&m, "exec=/bin/x\nrestart=on-failure\n");
	ev(&m, s, SVC_EV_START);
	die(&m, s, 0);
	assert_int_equal(s->state, SVC_DOWN);
	ev(&m, s, SVC_EV_ENABLE);   /* enable starts a finished service again */
	assert_int_equal(s->state, SVC_STARTING);
	die(&m, s, 1);
	assert_int_equal(s->state, SVC_BACKOFF);
	svc_set_free(&m.set);
}

static void test_sm_disable_online(void **state UNUSED)
{
	struct machine m;
	struct svc *s = one(&m, "exec=/bin/httpd\n");
	ev(&m, s, SVC_EV_START);
	ev(&m, s, SVC_EV_READY);
	ev(&m, s, SVC_EV_DISABLE);
	assert_int_equal(s->state, SVC_STOPPING);
	assert_int_equal(m.fake.last_sig, SIGTERM);
	assert_int_equal(s->deadline_ms, m.env.now_ms + 10000);
	assert_string_equal(svc_state_public(s->state), "offline");
	s->wstatus = SIGTERM;
	ev(&m, s, SVC_EV_EXIT_FAIL);
	assert_int_equal(s->state, SVC_DISABLED);
	assert_string_equal(m.fake.last, "web disabled");
	assert_int_equal(s->deadline_ms, 0);
	/* stays disabled: boot start, timers and halt leave it */
	ev(&m, s, SVC_EV_START);
	ev(&m, s, SVC_EV_TIMER);
	assert_int_equal(s->state, SVC_DISABLED);
	assert_int_equal(m.fake.spawns, 1);
	ev(&m, s, SVC_EV_ENABLE);
	assert_int_equal(s->state, SVC_STARTING);
	assert_int_equal(m.fake.spawns, 2);
	svc_set_free(&m.set);
}

static void test_sm_stop_timeout_kills(void **state UNUSED)
{
	struct machine m;
	struct svc *s = one(&m, "exec=/bin/httpd\n");
	ev(&m, s, SVC_EV_START);
	ev(&m, s, SVC_EV_DISABLE);
	m.env.now_ms = s->deadline_ms;
	ev(&m, s, SVC_EV_TIMER);
	assert_int_equal(m.fake.last_sig, SIGKILL);
	assert_int_equal(s->state, SVC_STOPPING);
	assert_string_equal(m.fake.last, "web did not stop in 10s, killing it");
	s->wstatus = SIGKILL;
	ev(&m, s, SVC_EV_EXIT_FAIL);
	assert_int_equal(s->state, SVC_DISABLED);
	svc_set_free(&m.set);
}

static void test_sm_disable_idle_states(void **state UNUSED)
{
	struct machine m;
	struct svc *s = one(&m, "exec=/bin/x\n");
	ev(&m, s, SVC_EV_START);
	die(&m, s, 1);
	assert_int_equal(s->state, SVC_BACKOFF);
	ev(&m, s, SVC_EV_DISABLE);   /* no process: disabled at once, timer cancelled */
	assert_int_equal(s->state, SVC_DISABLED);
	assert_int_equal(s->deadline_ms, 0);
	assert_int_equal(m.fake.nkills, 0);
	svc_set_free(&m.set);
}

static void test_sm_restart_from_maintenance(void **state UNUSED)
{
	struct machine m;
	struct svc *s = one(&m, "exec=/bin/false\n");
	ev(&m, s, SVC_EV_START);
	for (int i = 0; i < SVC_FAIL_LIMIT; i++) {
		die(&m, s, 1);
		if (s->state == SVC_BACKOFF)
			ev(&m, s, SVC_EV_TIMER);
	}
	assert_int_equal(s->state, SVC_MAINTENANCE);
	ev(&m, s, SVC_EV_RESTART);
	assert_int_equal(s->state, SVC_STARTING);
	assert_int_equal(s->nfails, 0);
	die(&m, s, 1);   /* history cleared: one failure is just a backoff again */
	assert_int_equal(s->state, SVC_BACKOFF);
	assert_int_equal(s->deadline_ms, m.env.now_ms + 1000);
	svc_set_free(&m.set);
}

static void test_sm_restart_online(void **state UNUSED)
{
	struct machine m;
	struct svc *s = one(&m, "exec=/bin/httpd\n");
	ev(&m, s, SVC_EV_START);
	ev(&m, s, SVC_EV_READY);
	ev(&m, s, SVC_EV_RESTART);
	assert_int_equal(s->state, SVC_STOPPING);
	assert_int_equal(m.fake.last_sig, SIGTERM);
	s->wstatus = SIGTERM;
	ev(&m, s, SVC_EV_EXIT_FAIL);
	assert_int_equal(s->state, SVC_STARTING);
	assert_int_equal(m.fake.spawns, 2);
	assert_int_equal(s->nfails, 0);   /* a requested stop is not a failure */
	svc_set_free(&m.set);
}

static void test_sm_halt(void **state UNUSED)
{
	static const char *names[] = { "a", "b", "c", NULL };
	static const char *texts[] = { "exec=/a\n", "exec=/b\n", "exec=/c\n", NULL };
	struct machine m;
	machine_init(&m, names, texts);
	struct svc *a = &m.set.v[0], *b = &m.set.v[1], *c = &m.set.v[2];
	for (size_t i = 0; i < 3; i++)
		ev(&m, &m.set.v[i], SVC_EV_START);
	ev(&m, a, SVC_EV_READY);
	die(&m, b, 1);
	ev(&m, c, SVC_EV_DISABLE);
	ev(&m, a, SVC_EV_HALT);
	ev(&m, b, SVC_EV_HALT);
	ev(&m, c, SVC_EV_HALT);
	assert_int_equal(a->state, SVC_STOPPING);
	assert_int_equal(b->state, SVC_DOWN);   /* backoff cancelled */
	assert_int_equal(b->deadline_ms, 0);
	assert_int_equal(c->state, SVC_STOPPING);
	ev(&m, c, SVC_EV_ENABLE);   /* halt wins over a later request */
	ev(&m, a, SVC_EV_RESTART);
	die(&m, a, 0);
	die(&m, c, 0);
	assert_int_equal(a->state, SVC_DOWN);
	assert_int_equal(c->state, SVC_DOWN);
	assert_int_equal(m.fake.spawns, 3);   /* the boot starts only: nothing restarted */
	for (size_t i = 0; i < 3; i++)
		assert_false(svc_has_process(&m.set.v[i]));
	svc_set_free(&m.set);
}

static void test_sm_spawn_failure(void **state UNUSED)
{
	struct machine m;
	struct svc *s = one(&m, "exec=/bin/httpd\n");
	m.fake.fail_spawn = 1;
	ev(&m, s, SVC_EV_START);
	assert_int_equal(s->state, SVC_BACKOFF);
	assert_int_equal(s->nfails, 1);
	assert_string_equal(m.fake.last, "web could not be started, restarting in 1s");
	svc_set_free(&m.set);
}

static void test_sm_dependencies(void **state UNUSED)
{
	static const char *names[] = { "db", "web", "cache", NULL };
	static const char *texts[] = { "exec=/db\n", "exec=/web\nafter=db cache\n", "exec=/c\n", NULL };
	struct machine m;
	machine_init(&m, names, texts);
	struct svc *db = svc_set_find(&m.set, "db"), *web = svc_set_find(&m.set, "web"),
		   *cache = svc_set_find(&m.set, "cache");
	for (size_t i = 0; i < m.set.n; i++)
		ev(&m, &m.set.v[i], SVC_EV_START);
	assert_int_equal(web->state, SVC_DOWN);
	assert_true(web->want);
	ev(&m, db, SVC_EV_READY);
	svc_set_kick(&m.env);
	assert_int_equal(web->state, SVC_DOWN);   /* cache not online yet */
	ev(&m, cache, SVC_EV_READY);
	svc_set_kick(&m.env);
	assert_int_equal(web->state, SVC_STARTING);
	/* disable while waiting: no start when the dependency comes back */
	svc_set_free(&m.set);

	machine_init(&m, names, texts);
	web = svc_set_find(&m.set, "web");
	for (size_t i = 0; i < m.set.n; i++)
		ev(&m, &m.set.v[i], SVC_EV_START);
	ev(&m, web, SVC_EV_DISABLE);
	assert_int_equal(web->state, SVC_DISABLED);
	ev(&m, svc_set_find(&m.set, "db"), SVC_EV_READY);
	ev(&m, svc_set_find(&m.set, "cache"), SVC_EV_READY);
	svc_set_kick(&m.env);
	assert_int_equal(web->state, SVC_DISABLED);
	svc_set_free(&m.set);
}

/* An unknown capability is that service's configuration error only. */
static void test_sm_caps_error(void **state UNUSED)
{
	static const char *names[] = { "bad", "good", NULL };
	static const char *texts[] = { "exec=/a\ncaps=net_bind_service,sys_admn\n",
				       "exec=/b\ncaps=none\n", NULL };
	struct machine m;
	machine_init(&m, names, texts);
	struct svc *bad = svc_set_find(&m.set, "bad"), *good = svc_set_find(&m.set, "good");
	assert_int_equal(bad->state, SVC_MAINTENANCE);
	assert_non_null(strstr(bad->error, "bad: line 2: caps= \"sys_admn\" is not a capability"));
	assert_null(good->error);
	ev(&m, bad, SVC_EV_START);
	ev(&m, good, SVC_EV_START);
	assert_int_equal(bad->state, SVC_MAINTENANCE);
	assert_int_equal(good->state, SVC_STARTING);
	assert_int_equal(m.fake.spawns, 1);
	svc_set_free(&m.set);
}

static void test_sm_config_error(void **state UNUSED)
{
	static const char *names[] = { "bad", NULL };
	static const char *texts[] = { "exec=/a\nfoo=1\n", NULL };
	struct machine m;
	machine_init(&m, names, texts);
	struct svc *s = &m.set.v[0];
	assert_int_equal(s->state, SVC_MAINTENANCE);
	assert_string_equal(s->error, "bad: line 2: unknown key \"foo\"");
	ev(&m, s, SVC_EV_START);
	ev(&m, s, SVC_EV_RESTART);
	ev(&m, s, SVC_EV_ENABLE);
	assert_int_equal(s->state, SVC_MAINTENANCE);
	assert_int_equal(m.fake.spawns, 0);
	svc_set_free(&m.set);
}

/* Every state x event cell is defined: no crash, a valid state, and a
 * process only where one can be. */
static void test_sm_table_total(void **state UNUSED)
{
	for (int st = 0; st < SVC_STATE_COUNT; st++) {
		for (int e = 0; e < SVC_EVENT_COUNT; e++) {
			struct machine m;
			struct svc *s = one(&m, "exec=/bin/x\n");
			s->state = (enum svc_state)st;
			s->pid = svc_has_process(s) ? 42 : 0;
			s->goal = SVC_GOAL_DISABLE;
			if (s->state == SVC_BACKOFF || s->state == SVC_STOPPING)
				s->deadline_ms = m.env.now_ms + 1000;
			ev(&m, s, (enum svc_event)e);
			assert_true((unsigned)s->state < SVC_STATE_COUNT);
			if (s->state == SVC_BACKOFF)
				assert_true(s->deadline_ms > 0);
			if (s->state != SVC_BACKOFF && s->state != SVC_STOPPING)
				assert_int_equal(s->deadline_ms, 0);   /* no stray timer */
			assert_string_not_equal(svc_event_name((enum svc_event)e), "?");
			svc_set_free(&m.set);
		}
	}
}

/* ---- the set ------------------------------------------------------------------- */

static void test_set_link_errors(void **state UNUSED)
{
	static const char *names[] = { "a", "b", "c", "d", "e", NULL };
	static const char *texts[] = {
		"exec=/a\nafter=b\n", "exec=/b\nafter=a\n", "exec=/c\nafter=a\n",
		"exec=/d\nafter=nosuch\n", "exec=/e\nafter=e\n", NULL };
	struct machine m;
	machine_init(&m, names, texts);
	assert_string_equal(svc_set_find(&m.set, "a")->error, "dependency cycle: a -> b -> a");
	assert_string_equal(svc_set_find(&m.set, "b")->error, "dependency cycle: a -> b -> a");
	assert_null(svc_set_find(&m.set, "c")->error);   /* waits forever, but is not broken */
	assert_string_equal(svc_set_find(&m.set, "d")->error, "after=nosuch: no service named nosuch");
	assert_string_equal(svc_set_find(&m.set, "e")->error, "after=e: a service cannot wait for itself");
	char *text;
	size_t len;
	assert_int_equal(svc_set_format(&m.set, &text, &len), 0);
	assert_string_equal(text, "maintenance a\nmaintenance b\noffline c\nmaintenance d\nmaintenance e\n");
	assert_int_equal(len, strlen(text));
	free(text);
	svc_set_free(&m.set);
}

static void write_at(int dfd, const char *name, const char *text)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
	close(fd);
}

static void test_set_load_dir(void **state UNUSED)
{
	char dir[] = "/tmp/test_services.XXXXXX";
	assert_non_null(mkdtemp(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	write_at(dfd, "zeta", "exec=/z\n");
	write_at(dfd, "alpha", "exec=/a\n");
	write_at(dfd, ".hidden", "exec=/h\n");
	write_at(dfd, "bad~", "exec=/b\n");
	assert_int_equal(symlinkat("alpha", dfd, "link"), 0);
	assert_int_equal(mkdirat(dfd, "sub", 0755), 0);

	struct svc_set set = { 0 };
	assert_int_equal(svc_set_load(&set, dfd, dir), 0);
	svc_set_link(&set);
	assert_int_equal(set.n, 4);
	assert_string_equal(set.v[0].name, "alpha");   /* sorted */
	assert_string_equal(set.v[1].name, "link");
	assert_string_equal(set.v[2].name, "sub");
	assert_string_equal(set.v[3].name, "zeta");
	assert_null(set.v[0].error);
	assert_non_null(strstr(set.v[1].error, "is a symbolic link"));
	assert_non_null(strstr(set.v[2].error, "not a regular file"));
	assert_int_equal(set.v[1].state, SVC_MAINTENANCE);
	assert_int_equal(strv_length(set.notes), 1);
	assert_non_null(strstr(set.notes[0], "bad~: ignored, not a valid service name"));
	svc_set_free(&set);

	assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
	close(dfd);
}

/* ---- protocol ----------------------------------------------------------------- */

static int req(const char *line, struct proto_request *rq)
{
	return proto_request_parse(line, strlen(line), rq);
}

static void test_proto_request_valid(void **state UNUSED)
{
	struct proto_request rq;
	assert_int_equal(req("list", &rq), 0);
	assert_int_equal(rq.op, PROTO_LIST);
	assert_int_equal(req("enable web", &rq), 0);
	assert_int_equal(rq.op, PROTO_ENABLE);
	assert_string_equal(rq.name, "web");
	assert_int_equal(req("disable a.b-c_1", &rq), 0);
	assert_int_equal(rq.op, PROTO_DISABLE);
	assert_int_equal(req("restart x", &rq), 0);
	assert_int_equal(rq.op, PROTO_RESTART);
	assert_true(proto_op_changes(PROTO_RESTART));
	assert_false(proto_op_changes(PROTO_LIST));
}

static void test_proto_request_malformed(void **state UNUSED)
{
	static const char *bad[] = {
		"", "LIST", "list ", " list", "list web", "enable", "enable ", "enable  web",
		"enable a b", "enable .x", "enable web\r", "stop web", "enable ../etc",
	};
	struct proto_request rq;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(req(bad[i], &rq), -EBADMSG);
	char longline[PROTO_LINE_MAX + 8];
	memset(longline, 'a', sizeof(longline));
	memcpy(longline, "enable ", 7);
	assert_int_equal(proto_request_parse(longline, sizeof(longline), &rq), -EBADMSG);
	assert_int_equal(proto_request_parse("enable w\0b", 10, &rq), -EBADMSG);
}

static void test_proto_request_round_trip(void **state UNUSED)
{
	struct proto_request rq = { .op = PROTO_DISABLE }, back;
	char buf[PROTO_LINE_MAX];
	strcpy(rq.name, "httpd");
	int n = proto_request_format(&rq, buf, sizeof(buf));
	assert_int_equal(n, 14);
	assert_string_equal(buf, "disable httpd\n");
	assert_int_equal(proto_request_parse(buf, (size_t)n - 1, &back), 0);
	assert_int_equal(back.op, PROTO_DISABLE);
	assert_string_equal(back.name, "httpd");
	strcpy(rq.name, "no way");
	assert_int_equal(proto_request_format(&rq, buf, sizeof(buf)), -EINVAL);
}

static int rep(const char *s, struct proto_reply *rp)
{
	return proto_reply_parse(s, strlen(s), rp);
}

static void test_proto_reply(void **state UNUSED)
{
	struct proto_reply rp;
	assert_int_equal(rep("ok\n", &rp), 0);
	assert_true(rp.ok);
	assert_int_equal(rp.body_len, 0);
	assert_int_equal(rep("ok 2\nonline a\nmaintenance b\n", &rp), 0);
	assert_true(rp.ok);
	assert_int_equal(rp.body_len, strlen("online a\nmaintenance b\n"));
	assert_int_equal(rep("ok 0\n", &rp), 0);
	assert_int_equal(rep("error no service named foo\n", &rp), 0);
	assert_false(rp.ok);
	assert_string_equal(rp.message, "no service named foo");

	static const char *bad[] = {
		"", "ok", "ok\nextra", "ok 2\nonline a\n", "ok 1\nonline a\noffline b\n",
		"ok 1\nrunning a\n", "ok 1\nonline a b\n", "ok 01\nonline a\n", "ok x\n",
		"ok 99999\n", "error \n", "error x\ny\n", "error a\tb\n", "OK\n", "fine\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(rep(bad[i], &rp), -EBADMSG);
}

static void test_proto_info(void **state UNUSED)
{
	struct proto_reply rp;
	char *body = NULL;
	size_t lines = 0;
	/* the supervisor's ISC_INFO: malformed entries are dropped, not passed on */
	assert_int_equal(proto_info_format("name: web;bad entry;encryption: on (aes-256-xts);:x;k:nospace;"
					   "mode: read-only", &body, &lines), 0);
	assert_int_equal(lines, 3);
	assert_string_equal(body, "name: web\nencryption: on (aes-256-xts)\nmode: read-only\n");
	char reply[256];
	snprintf(reply, sizeof(reply), "ok %zu\n%s", lines, body);
	assert_int_equal(proto_info_parse(reply, strlen(reply), &rp), 0);
	assert_true(rp.ok);
	assert_int_equal(rp.body_len, strlen(body));
	free(body);
	assert_int_equal(proto_info_format(NULL, &body, &lines), 0);
	assert_int_equal(lines, 0);
	assert_string_equal(body, "");
	free(body);
	assert_int_equal(proto_info_parse("ok 0\n", 5, &rp), 0);
	assert_int_equal(proto_info_parse("error isc-init is halting\n", 26, &rp), 0);
	assert_false(rp.ok);
	assert_string_equal(rp.message, "isc-init is halting");
	static const char *bad[] = {
		"", "ok 1\n", "ok 1\nname web\n", "ok 1\nname: a\nmode: b\n", "ok 2\nname: a\n",
		"ok 1\nname: \x01\n", "ok 1\n: x\n", "ok 1\nname:\n", "ok x\n", "ok\nname: a\n",
		"ok\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(proto_info_parse(bad[i], strlen(bad[i]), &rp), -EBADMSG);
	struct proto_request rq;
	assert_int_equal(proto_request_parse("info", 4, &rq), 0);
	assert_int_equal(rq.op, PROTO_INFO);
	assert_int_equal(proto_request_parse("info x", 6, &rq), -EBADMSG);
}

/* ---- the fuzz corpus: pass/ is accepted, fail/ refused, by file prefix ------ */

static int corpus_user(const char *text, size_t len)
{
	_cleanup_free_ char *buf = strndup(text, len);   /* "SPEC\nPASSWD\n--\nGROUP" */
	assert_non_null(buf);
	char *passwd = strchr(buf, '\n'), *group = NULL;
	if (passwd) {
		*passwd++ = '\0';
		if ((group = strstr(passwd, "\n--\n"))) {
			*group = '\0';
			group += 4;
		}
	}
	struct svc_cred c;
	struct isc_err e = { 0 };
	return svc_user_resolve(buf, passwd, group, &c, &e);
}

static int corpus_svc(const char *file, const char *text, size_t len, bool pass)
{
	struct svc_conf c, d;
	struct isc_err e = { 0 };
	int r = svc_conf_parse(text, len, &c, &e);
	if (r < 0 || !pass)
		return r;
	char *canon = NULL, *again = NULL;   /* pass/ also round-trips */
	assert_int_equal(svc_conf_format(&c, &canon), 0);
	if (svc_conf_parse(canon, strlen(canon), &d, &e) < 0)
		fail_msg("corpus pass/%s: canonical text refused: %s", file, e.msg);
	assert_int_equal(svc_conf_format(&d, &again), 0);
	assert_string_equal(again, canon);
	free(canon);
	free(again);
	svc_conf_free(&c);
	svc_conf_free(&d);
	return 0;
}

static void corpus_one(const char *file, const char *text, size_t len, bool pass)
{
	struct proto_request rq;
	struct proto_reply rp;
	int r = 0;   /* fail_msg() does not return */
	if (strncmp(file, "svc-", 4) == 0)
		r = corpus_svc(file, text, len, pass);
	else if (strncmp(file, "req-", 4) == 0)
		r = proto_request_parse(text, len && text[len - 1] == '\n' ? len - 1 : len, &rq);
	else if (strncmp(file, "reply-", 6) == 0)
		r = proto_reply_parse(text, len, &rp);
	else if (strncmp(file, "user-", 5) == 0)
		r = corpus_user(text, len);
	else
		fail_msg("corpus %s: no known prefix (svc-, req-, reply-, user-)", file);
	if (pass && r < 0)
		fail_msg("corpus pass/%s refused", file);
	if (!pass && r == 0)
		fail_msg("corpus fail/%s accepted", file);
}

static void test_corpus(void **state UNUSED)
{
	assert_true(corpus_each("services", "pass", corpus_one) >= 10);
	assert_true(corpus_each("services", "fail", corpus_one) >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto_info),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_parse_caps),
		cmocka_unit_test(test_parse_minimal_defaults),
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_restart_values),
		cmocka_unit_test(test_parse_missing_exec),
		cmocka_unit_test(test_parse_unknown_key),
		cmocka_unit_test(test_parse_duplicate_key),
		cmocka_unit_test(test_parse_no_equals),
		cmocka_unit_test(test_parse_empty_value),
		cmocka_unit_test(test_parse_exec_relative),
		cmocka_unit_test(test_parse_user),
		cmocka_unit_test(test_parse_after),
		cmocka_unit_test(test_parse_dir),
		cmocka_unit_test(test_parse_control_chars),
		cmocka_unit_test(test_parse_size_limit),
		cmocka_unit_test(test_parse_arg_limit),
		cmocka_unit_test(test_quote_spaces),
		cmocka_unit_test(test_quote_escapes),
		cmocka_unit_test(test_quote_empty_and_glued),
		cmocka_unit_test(test_quote_errors),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_user_root_default),
		cmocka_unit_test(test_user_by_name_with_groups),
		cmocka_unit_test(test_user_by_uid),
		cmocka_unit_test(test_user_unknown),
		cmocka_unit_test(test_sm_start_online),
		cmocka_unit_test(test_sm_crash_loop_maintenance),
		cmocka_unit_test(test_sm_caps_error),
		cmocka_unit_test(test_sm_slow_failures_no_maintenance),
		cmocka_unit_test(test_sm_backoff_cap_and_reset),
		cmocka_unit_test(test_sm_kill_signal_message),
		cmocka_unit_test(test_sm_restart_policies),
		cmocka_unit_test(test_sm_disable_online),
		cmocka_unit_test(test_sm_stop_timeout_kills),
		cmocka_unit_test(test_sm_disable_idle_states),
		cmocka_unit_test(test_sm_restart_from_maintenance),
		cmocka_unit_test(test_sm_restart_online),
		cmocka_unit_test(test_sm_halt),
		cmocka_unit_test(test_sm_spawn_failure),
		cmocka_unit_test(test_sm_dependencies),
		cmocka_unit_test(test_sm_config_error),
		cmocka_unit_test(test_sm_table_total),
		cmocka_unit_test(test_set_link_errors),
		cmocka_unit_test(test_set_load_dir),
		cmocka_unit_test(test_proto_request_valid),
		cmocka_unit_test(test_proto_request_malformed),
		cmocka_unit_test(test_proto_request_round_trip),
		cmocka_unit_test(test_proto_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
