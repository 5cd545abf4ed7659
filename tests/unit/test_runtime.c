/* test_runtime.c - isc-runtime's config.json parser and the ISC's rules over it (src/runtime/spec.c), mount options (src/sandbox/oci_opts.c), the ocispec corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "spec.h"
#include "testutil.h"

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>

#define OCISPEC_NO_MAIN
#include "../fuzz/fuzz_ocispec.c"

static const char base[] =
	"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
	"\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",%s},"
	"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
	"{\"type\":\"network\",\"path\":\"/run/netns/x\"}]%s},"
	"\"mounts\":[%s],\"annotations\":{%s}}";

static int parse(const char *proc, const char *lin, const char *mounts, const char *ann, struct oci_spec *s,
		 struct isc_err *e)
{
	char text[4096];
	snprintf(text, sizeof(text), base, proc, lin, mounts, ann);
	memset(e, 0, sizeof(*e));
	return oci_spec_parse(text, strlen(text), "/b", s, e);
}

static void test_defaults(void **state)
{
	struct oci_spec s;
	struct isc_err e;
	assert_int_equal(parse("\"terminal\":false", "", "", "", &s, &e), 0);
	/* a relative root is the bundle's; isc's profile and MDWE by default */
	assert_string_equal(s.root, "/b/rootfs");
	assert_int_equal(s.profile, PROFILE_STRICT);
	assert_true(s.mdwe);
	assert_int_equal(s.proc.caps, confine_default_caps());
	assert_string_equal(oci_spec_ns(&s, CLONE_NEWNET)->path, "/run/netns/x");
	assert_null(oci_spec_ns(&s, CLONE_NEWUSER));
	assert_int_equal(s.limits.memory, 1ULL << 30);
	oci_spec_free(&s);
}

static void test_caps(void **state)
{
	struct oci_spec s;
	struct isc_err e;
	/* the engines' defaults beyond isc's set are dropped without a word */
	assert_int_equal(parse("\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_NET_RAW\",\"CAP_SYS_CHROOT\","
			       "\"CAP_KILL\"]}", "", "", "", &s, &e), 0);
	assert_int_equal(s.proc.caps, (1ULL << 0) | (1ULL << 5));
	oci_spec_free(&s);
	/* one asked for explicitly is refused, naming the annotation */
	assert_int_equal(parse("\"capabilities\":{\"bounding\":[\"CAP_SYS_PTRACE\"]}", "", "", "", &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "CAP_SYS_PTRACE is beyond isc's set; annotation org.isc.caps=spec"));
	oci_spec_free(&s);
	assert_int_equal(parse("\"capabilities\":{\"bounding\":[\"CAP_SYS_PTRACE\"]}", "", "",
			       "\"org.isc.caps\":\"spec\"", &s, &e), 0);
	assert_int_equal(s.proc.caps, 1ULL << 19);
	oci_spec_free(&s);
	assert_int_equal(parse("\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}", "", "", "", &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "unknown capability CAP_NOPE"));
	oci_spec_free(&s);
}

static void test_mounts(void **state)
{
	struct oci_spec s;
	struct isc_err e;
	assert_int_equal(parse("\"terminal\":false", "",
			       "{\"destination\":\"/d\",\"type\":\"tmpfs\",\"source\":\"t\",\"options\":[\"ro\",\"nosuid\","
			       "\"mode=755\",\"rprivate\",\"noatime\"]},"
			       "{\"destination\":\"/e\",\"type\":\"none\",\"source\":\"data\",\"options\":[\"rbind\"]}",
			       "", &s, &e), 0);
	assert_int_equal(s.nmounts, 2);
	assert_true(s.mounts[0].set & MOUNT_ATTR_RDONLY);
	assert_true(s.mounts[0].set & MOUNT_ATTR_NOSUID);
	assert_int_equal(s.mounts[0].set & MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME);
	assert_int_equal(s.mounts[0].propagation, MS_PRIVATE);
	assert_string_equal(s.mounts[0].data[0], "mode=755");
	assert_null(s.mounts[0].data[1]);
	/* type none with rbind is a bind; a relative source is the bundle's */
	assert_true(s.mounts[1].bind && s.mounts[1].recursive);
	assert_string_equal(s.mounts[1].source, "/b/data");
	oci_spec_free(&s);
	/* a read-only mount may run programs; a writable one only where the annotation says */
	assert_int_equal(parse("\"terminal\":false", "",
			       "{\"destination\":\"/o\",\"type\":\"bind\",\"source\":\"/opt\",\"options\":[\"bind\",\"ro\","
			       "\"exec\"]}", "", &s, &e), 0);
	oci_spec_free(&s);
	assert_int_equal(parse("\"terminal\":false", "",
			       "{\"destination\":\"/o\",\"type\":\"tmpfs\",\"source\":\"t\",\"options\":[\"exec\"]}",
			       "\"org.isc.writable-exec\":\"/p\"", &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "org.isc.writable-exec=/o allows it"));
	oci_spec_free(&s);
	assert_int_equal(parse("\"terminal\":false", "",
			       "{\"destination\":\"/o\",\"type\":\"tmpfs\",\"source\":\"t\",\"options\":[\"tmpcopyup\"]}",
			       "", &s, &e), 0);
	assert_true(s.mounts[0].copyup);
	oci_spec_free(&s);
	assert_int_equal(parse("\"terminal\":false", "",
			       "{\"destination\":\"/o\",\"type\":\"bind\",\"source\":\"/t\",\"options\":[\"bind\","
			       "\"tmpcopyup\"]}", "", &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "only a tmpfs takes it"));
	oci_spec_free(&s);
	assert_int_equal(parse("\"terminal\":false", "",
			       "{\"destination\":\"/o\",\"type\":\"tmpfs\",\"source\":\"t\",\"options\":[\"idmap\"]}",
			       "", &s, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "only a bind can be idmapped"));
	oci_spec_free(&s);
	/* a bind's own maps: parsed, and the mount is idmapped ("ridmap": its submounts too) */
	assert_int_equal(parse("\"terminal\":false", "",
			       "{\"destination\":\"/o\",\"type\":\"bind\",\"source\":\"/t\",\"options\":[\"rbind\","
			       "\"ridmap\"],\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}],"
			       "\"gidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]}", "", &s, &e), 0);
	assert_true(s.mounts[0].idmap && s.mounts[0].ridmap);
	assert_non_null(s.mount_ids[0]);
	assert_int_equal(s.mount_ids[0]->nuid, 1);
	assert_int_equal(s.mount_ids[0]->uid[0].host, 1000);
	oci_spec_free(&s);
	assert_int_equal(parse("\"terminal\":false", "",
			       "{\"destination\":\"/o/../../etc\",\"type\":\"tmpfs\",\"source\":\"t\"}", "", &s, &e), -EINVAL);
	oci_spec_free(&s);
}

static void test_rules(void **state)
{
	struct oci_spec s;
	struct isc_err e;
	/* sysctls of the container's own namespaces only */
	assert_int_equal(parse("\"terminal\":false", ",\"sysctl\":{\"net.ipv4.ip_forward\":\"1\",\"kernel.shmmax\":\"1\"}",
			       "", "", &s, &e), 0);
	oci_spec_free(&s);
	assert_int_equal(parse("\"terminal\":false", ",\"sysctl\":{\"vm.swappiness\":\"1\"}", "", "", &s, &e), -EINVAL);
	oci_spec_free(&s);
	/* annotations: a profile, MDWE off, a typo refused */
	assert_int_equal(parse("\"terminal\":false", "", "", "\"org.isc.profile\":\"none\",\"org.isc.mdwe\":\"off\"",
			       &s, &e), 0);
	assert_int_equal(s.profile, PROFILE_NONE);
	assert_false(s.mdwe);
	oci_spec_free(&s);
	assert_int_equal(parse("\"terminal\":false", "", "", "\"org.isc.profile\":\"lax\"", &s, &e), -EINVAL);
	oci_spec_free(&s);
	/* resources */
	assert_int_equal(parse("\"terminal\":false", ",\"resources\":{\"memory\":{\"limit\":67108864},"
			       "\"pids\":{\"limit\":64},\"cpu\":{\"quota\":50000,\"period\":100000}}", "", "", &s, &e), 0);
	assert_int_equal(s.limits.memory, 64 << 20);
	assert_int_equal(s.limits.pids, 64);
	assert_int_equal(s.limits.cpu_milli, 500);
	oci_spec_free(&s);
	assert_int_equal(parse("\"terminal\":false", ",\"resources\":{\"memory\":{\"limit\":4096}}", "", "", &s, &e),
			 -EINVAL);
	oci_spec_free(&s);
}

static void test_signals(void **state)
{
	assert_int_equal(oci_signal_parse("SIGTERM"), SIGTERM);
	assert_int_equal(oci_signal_parse("KILL"), SIGKILL);
	assert_int_equal(oci_signal_parse("9"), 9);
	assert_int_equal(oci_signal_parse("0"), -EINVAL);
	assert_int_equal(oci_signal_parse("SIGFOO"), -EINVAL);
	assert_int_equal(oci_signal_parse("15x"), -EINVAL);
}

static void corpus_one(const char *file, const char *text, size_t len, bool pass)
{
	int r = ocispec_check(text, len);
	if (pass && r < 0)
		fail_msg("corpus pass/%s refused", file);
	if (!pass && r == 0)
		fail_msg("corpus fail/%s accepted", file);
}

static void test_corpus(void **state)
{
	assert_true(corpus_each("ocispec", "pass", corpus_one) >= 5);
	assert_true(corpus_each("ocispec", "fail", corpus_one) >= 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults), cmocka_unit_test(test_caps), cmocka_unit_test(test_mounts),
		cmocka_unit_test(test_rules), cmocka_unit_test(test_signals), cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
