/* test_config.c - unit tests for ISC configuration: strict parser, canonical dump, the property table, limitpriv, configs in a pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>

#define DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID_OK "1000065536"     /* ISC_UID_FIRST + one block */

/* Every key, in canonical order and form. */
static const char canonical[] =
	"name=web\n"
	"image=debian-12\n"
	"image-digest=" DIGEST "\n"
	"profile=strict\n"
	"uid=" UID_OK "\n"
	"created=1700000000\n"
	"encryption-root=shared\n"
	"memory=2147483648\n"
	"pids=2048\n"
	"cpu=0.5\n"
	"cpu-weight=200\n"
	"tmp-size=134217728\n"
	"scratch-size=268435456\n"
	"var-size=1073741824\n"
	"session-size=536870912\n"
	"limitpriv=default,-kill,+net_raw\n"
	"mdwe=off\n"
	"seccomp=on\n"
	"landlock=on\n"
	"volume=/srv/data\n"
	"volume=/var/lib/postgresql\n";

static const char minimal[] =
	"name=web\nimage=debian-12\nimage-digest=" DIGEST "\nuid=" UID_OK "\n";

/* ---- helpers ----------------------------------------------------------------- */

static char *dump_of(const char *text)
{
	struct isc_config c;
	struct isc_err e = { 0 };
	if (config_parse(text, &c, &e) < 0)
		fail_msg("config refused: %s", e.msg);
	char *d = config_dump(&c);
	assert_non_null(d);
	config_free(&c);
	return d;
}

static void minimal_config(struct isc_config *c)
{
	struct isc_err e = { 0 };
	if (config_parse(minimal, c, &e) < 0)
		fail_msg("minimal config refused: %s", e.msg);
}

/* ---- parse and dump ---------------------------------------------------------- */

static void test_canonical_roundtrip(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	assert_int_equal(config_parse(canonical, &c, &e), 0);
	assert_string_equal(c.name, "web");
	assert_string_equal(c.image, "debian-12");
	assert_string_equal(c.digest, DIGEST);
	assert_int_equal(c.profile, PROFILE_STRICT);
	assert_int_equal(c.uid, 1000065536u);
	assert_int_equal(c.created, 1700000000);
	assert_string_equal(c.encryption_root, "shared");
	assert_string_equal(config_key_root(&c), "shared");
	assert_int_equal(c.memory, 2ULL << 30);
	assert_int_equal(c.tmp_size, 128ULL << 20);
	assert_int_equal(c.scratch_size, 256ULL << 20);
	assert_int_equal(c.pids, 2048);
	assert_int_equal(c.cpu_milli, 500);
	assert_int_equal(c.cpu_weight, 200);
	assert_string_equal(c.limitpriv, "default,-kill,+net_raw");
	assert_false(c.mdwe);
	assert_true(c.seccomp);
	assert_true(c.landlock);
	assert_string_equal(c.volumes[0], "/srv/data");
	assert_string_equal(c.volumes[1], "/var/lib/postgresql");
	assert_null(c.volumes[2]);
	char *d = config_dump(&c);
	assert_string_equal(d, canonical);   /* byte for byte */
	free(d);
	config_free(&c);
	assert_null(c.volumes[0]);
}

/* Comments, blank lines, other order, sizes with units, no final newline:
 * accepted, and the dump is the canonical form, which is a fixed point. */
static void test_noncanonical_input(void **state)
{
	(void)state;
	static const char loose[] =
		"# made by hand\n"
		"\n"
		"volume=/srv/data\n"
		"scratch-size=256M\n"
		"tmp-size=128M\n"
		"uid=" UID_OK "\n"
		"encryption-root=shared\n"
		"profile=strict\n"
		"memory=2G\n"
		"cpu=0.500\n"
		"mdwe=off\n"
		"pids=2048\n"
		"limitpriv=default,-kill,+net_raw\n"
		"cpu-weight=200\n"
		"var-size=1G\n"
		"session-size=512M\n"
		"image-digest=" DIGEST "\n"
		"image=debian-12\n"
		"created=1700000000\n"
		"volume=/var/lib/postgresql\n"
		"name=web";
	char *d = dump_of(loose);
	assert_string_equal(d, canonical);
	char *d2 = dump_of(d);
	assert_string_equal(d2, d);
	free(d);
	free(d2);
}

static void test_defaults(void **state)
{
	(void)state;
	char *d = dump_of(minimal);
	assert_string_equal(d,
		"name=web\nimage=debian-12\nimage-digest=" DIGEST "\n"
		"profile=fixed-configuration\nuid=" UID_OK "\ncreated=0\n"
		"encryption-root=web\nmemory=1073741824\npids=1024\ncpu=none\ncpu-weight=100\n"
		"tmp-size=67108864\nscratch-size=67108864\nvar-size=none\nsession-size=2147483648\nlimitpriv=default\nmdwe=on\nseccomp=on\n"
		"landlock=on\n");
	free(d);
}

static void test_uid_range_edges(void **state)
{
	(void)state;
	char text[512];
	/* first and last aligned blocks that still fit 32 bits */
	uint32_t last = ISC_UID_FIRST + ((UINT32_MAX - ISC_UID_COUNT - ISC_UID_FIRST) / ISC_UID_COUNT) * ISC_UID_COUNT;
	uint32_t ok[] = { ISC_UID_FIRST, last };
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct isc_config c;
		struct isc_err e = { 0 };
		snprintf(text, sizeof(text), "name=a\nimage=b\nimage-digest=" DIGEST "\nuid=%u\n", ok[i]);
		if (config_parse(text, &c, &e) < 0)
			fail_msg("uid %u refused: %s", ok[i], e.msg);
		assert_int_equal(c.uid, ok[i]);
		config_free(&c);
	}
	/* the block after the last would run past 2^32 */
	struct isc_config c;
	struct isc_err e = { 0 };
	snprintf(text, sizeof(text), "name=a\nimage=b\nimage-digest=" DIGEST "\nuid=%llu\n",
		 (unsigned long long)last + ISC_UID_COUNT);
	assert_int_equal(config_parse(text, &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "outside the ISC range"));
}

struct bad_config {
	const char *why;
	const char *text;
	int code;
	const char *msg;
};

#define HEAD "name=web\nimage=debian-12\nimage-digest=" DIGEST "\n"
#define REQUIRED "config: name, image, image-digest and uid are required"

static const struct bad_config bad_configs[] = {
	{ "empty", "", EINVAL, REQUIRED },
	{ "only comments", "# nothing\n\n", EINVAL, REQUIRED },
	{ "no name", "image=i\nimage-digest=" DIGEST "\nuid=" UID_OK "\n", EINVAL, REQUIRED },
	{ "no image", "name=n\nimage-digest=" DIGEST "\nuid=" UID_OK "\n", EINVAL, REQUIRED },
	{ "no digest", "name=n\nimage=i\nuid=" UID_OK "\n", EINVAL, REQUIRED },
	{ "no uid", HEAD, EINVAL, REQUIRED },
	{ "uid below range", HEAD "uid=999999999\n", EINVAL,
	  "config line 4: uid 999999999: outside the ISC range" },
	{ "uid zero", HEAD "uid=0\n", EINVAL, "config line 4: uid 0: outside the ISC range" },
	{ "uid not aligned", HEAD "uid=1000000001\n", EINVAL,
	  "config line 4: uid 1000000001: outside the ISC range" },
	{ "uid above 32 bits", HEAD "uid=4294967296\n", EINVAL,
	  "config line 4: uid 4294967296: outside the ISC range" },
	{ "uid negative", HEAD "uid=-1000000000\n", EINVAL,
	  "config line 4: uid '-1000000000': not a number" },
	{ "uid text", HEAD "uid=lots\n", EINVAL, "config line 4: uid 'lots': not a number" },
	{ "uid empty", HEAD "uid=\n", EINVAL, "config line 4: uid '': not a number" },
	{ "uid trailing junk", HEAD "uid=" UID_OK "x\n", EINVAL,
	  "config line 4: uid '" UID_OK "x': not a number" },
	{ "uid overflow", HEAD "uid=99999999999999999999\n", EINVAL,
	  "config line 4: uid '99999999999999999999': not a number" },
	{ "created negative", HEAD "uid=" UID_OK "\ncreated=-5\n", EINVAL,
	  "config line 5: created '-5': not a number" },
	{ "digest upper case", "image-digest=0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n",
	  EINVAL, "config line 1: image-digest: not a sha256" },
	{ "digest short", "image-digest=0123456789abcdef\n", EINVAL, "config line 1: image-digest: not a sha256" },
	{ "digest long", "image-digest=" DIGEST "0\n", EINVAL, "config line 1: image-digest: not a sha256" },
	{ "digest not hex", "image-digest=g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
	  EINVAL, "config line 1: image-digest: not a sha256" },
	{ "unknown key", HEAD "uid=" UID_OK "\ncolour=blue\n", EINVAL,
	  "config line 5: unknown property 'colour'" },
	{ "key with spaces", HEAD "uid = " UID_OK "\n", EINVAL, "config line 4: unknown property 'uid '" },
	{ "line without =", HEAD "uid " UID_OK "\n", EINVAL, "config line 4: expected key=value" },
	{ "empty key", "=web\n", EINVAL, "config line 1: unknown property ''" },
	{ "name invalid", "name=-web\n", EINVAL, "config line 1: name '-web': invalid name" },
	{ "name with slash", "name=a/b\n", EINVAL, "config line 1: name 'a/b': invalid name" },
	{ "name dotdot", "name=..\n", EINVAL, "config line 1: name '..': invalid name" },
	{ "name empty", "name=\n", EINVAL, "config line 1: name '': invalid name" },
	{ "name with CR", "name=web\r\n", EINVAL, "config line 1: name 'web\r': invalid name" },
	{ "image invalid", "image=deb ian\n", EINVAL, "config line 1: image 'deb ian': invalid name" },
	{ "profile unknown", HEAD "profile=lax\n", EINVAL,
	  "config line 4: unknown profile 'lax' (strict, fixed-configuration, flexible-configuration, none)" },
	{ "tmp-size small", HEAD "tmp-size=512k\n", EINVAL,
	  "config line 4: tmp-size '512k': expected a size of at least 1M (e.g. 64M)" },
	{ "encryption-root invalid", HEAD "encryption-root=-x\n", EINVAL,
	  "config line 4: encryption-root '-x': invalid name" },
	{ "encryption-root empty", HEAD "encryption-root=\n", EINVAL,
	  "config line 4: encryption-root '': invalid name" },
	{ "encryption-root path", HEAD "encryption-root=../web\n", EINVAL,
	  "config line 4: encryption-root '../web': invalid name" },
	{ "encryption-root other @", HEAD "encryption-root=@pool\n", EINVAL,
	  "config line 4: encryption-root '@pool': invalid name" },
	{ "encryption-root @ephemeral spaced", HEAD "encryption-root=@ephemeral \n", EINVAL,
	  "config line 4: encryption-root '@ephemeral ': invalid name" },
	{ "encryption-root @EPHEMERAL", HEAD "encryption-root=@EPHEMERAL\n", EINVAL,
	  "config line 4: encryption-root '@EPHEMERAL': invalid name" },
	{ "encryption-root 64 bytes", HEAD "encryption-root=" DIGEST "\n", EINVAL,
	  "config line 4: encryption-root '" DIGEST "': invalid name" },
	{ "scratch-size small", HEAD "scratch-size=4M\n", EINVAL,
	  "config line 4: scratch-size '4M': expected a size from 8M to 1T (e.g. 64M)" },
	{ "scratch-size big", HEAD "scratch-size=2T\n", EINVAL,
	  "config line 4: scratch-size '2T': expected a size from 8M to 1T (e.g. 64M)" },
	{ "memory small", HEAD "memory=8M\n", EINVAL,
	  "config line 4: memory '8M': expected a size of at least 16M (e.g. 1G)" },
	{ "volume relative", HEAD "volume=srv\n", EINVAL,
	  "config line 4: volume 'srv': must be an absolute path below /" },
	{ "volume system", HEAD "volume=/etc\n", EINVAL,
	  "config line 4: volume '/etc': cannot replace a system directory" },
	{ "volume twice", HEAD "volume=/srv\nvolume=/srv\n", EEXIST,
	  "config line 5: volume /srv already configured" },
};

static void test_parse_rejects(void **state)
{
	const struct bad_config *b = *state;
	struct isc_config c;
	struct isc_err e = { 0 };
	int r = config_parse(b->text, &c, &e);
	if (r != -b->code || e.code != b->code || !STREQ(e.msg, b->msg))
		fail_msg("%s: got %d (code %d) '%s', want -%d '%s'", b->why, r, e.code, e.msg,
			 b->code, b->msg);
	/* nothing is left allocated: LeakSanitizer fails the run otherwise */
}

static void test_parse_line_length(void **state)
{
	(void)state;
	/* a line of 2199 bytes fits, 2200 does not */
	size_t n = strlen(minimal);
	char *text = malloc(n + 2300);
	assert_non_null(text);
	memcpy(text, minimal, n);
	text[n] = '#';
	memset(text + n + 1, 'x', 2198);
	strcpy(text + n + 2199, "\n");
	struct isc_config c;
	struct isc_err e = { 0 };
	assert_int_equal(config_parse(text, &c, &e), 0);
	config_free(&c);

	strcpy(text + n + 2199, "x\n");
	assert_int_equal(config_parse(text, &c, &e), -EINVAL);
	assert_string_equal(e.msg, "config line 5: too long");

	/* the same without a final newline */
	text[n + 2200] = '\0';
	assert_int_equal(config_parse(text, &c, &e), -EINVAL);
	assert_string_equal(e.msg, "config line 5: too long");
	free(text);
}

/* An error after volumes were collected must not leak them (LeakSanitizer). */
static void test_parse_failure_frees(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	assert_int_equal(config_parse("volume=/srv\nvolume=/opt\nbogus\n", &c, &e), -EINVAL);
	assert_int_equal(config_parse("volume=/srv\nvolume=/opt\n", &c, &e), -EINVAL);
	assert_string_equal(e.msg, REQUIRED);
	assert_null(c.volumes[0]);
}

/* ---- operator properties ------------------------------------------------------- */

static void test_set_profile(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	char v[64];
	minimal_config(&c);
	const char *names[] = { "strict", "fixed-configuration", "flexible-configuration", "none" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char kv[64];
		snprintf(kv, sizeof(kv), "profile=%s", names[i]);
		assert_int_equal(config_set(&c, kv, &e), 0);
		assert_int_equal(c.profile, (enum isc_profile)i);
		assert_int_equal(config_get(&c, "profile", v, sizeof(v)), 0);
		assert_string_equal(v, names[i]);
		enum isc_profile p;
		assert_int_equal(profile_from_name(names[i], &p), 0);
		assert_int_equal(p, (enum isc_profile)i);
		assert_string_equal(profile_name((enum isc_profile)i), names[i]);
	}
	assert_int_equal(config_set(&c, "profile=Strict", &e), -EINVAL);
	assert_string_equal(e.msg, "unknown profile 'Strict' (strict, fixed-configuration, "
			    "flexible-configuration, none)");
	assert_int_equal(config_set(&c, "profile=", &e), -EINVAL);
	assert_int_equal(c.profile, PROFILE_NONE);   /* unchanged by the refusals */
	assert_string_equal(profile_name((enum isc_profile)42), "?");
	config_free(&c);
}

static void test_set_tmp_size(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	char v[64];
	minimal_config(&c);
	assert_int_equal(config_set(&c, "tmp-size=1G", &e), 0);
	assert_int_equal(c.tmp_size, 1ULL << 30);
	assert_int_equal(config_get(&c, "tmp-size", v, sizeof(v)), 0);
	assert_string_equal(v, "1073741824");
	assert_int_equal(config_set(&c, "tmp-size=1M", &e), 0);    /* the minimum */
	assert_int_equal(c.tmp_size, 1ULL << 20);
	const char *bad[] = { "1048575", "512k", "0", "", "abc", "-1M", "64X", "99999999999T" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char kv[64], want[128];
		snprintf(kv, sizeof(kv), "tmp-size=%s", bad[i]);
		snprintf(want, sizeof(want), "tmp-size '%s': expected a size of at least 1M (e.g. 64M)", bad[i]);
		assert_int_equal(config_set(&c, kv, &e), -EINVAL);
		assert_string_equal(e.msg, want);
		assert_int_equal(c.tmp_size, 1ULL << 20);
	}
	config_free(&c);
}

static void test_set_scratch_size(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	char v[64];
	minimal_config(&c);
	assert_int_equal(c.scratch_size, 64ULL << 20);
	assert_int_equal(config_set(&c, "scratch-size=1G", &e), 0);
	assert_int_equal(c.scratch_size, 1ULL << 30);
	assert_int_equal(config_get(&c, "scratch-size", v, sizeof(v)), 0);
	assert_string_equal(v, "1073741824");
	assert_int_equal(config_set(&c, "scratch-size=1T", &e), 0);     /* the maximum */
	assert_int_equal(c.scratch_size, 1ULL << 40);
	assert_int_equal(config_set(&c, "scratch-size=1024GiB", &e), 0);
	assert_int_equal(c.scratch_size, 1ULL << 40);
	assert_int_equal(config_set(&c, "scratch-size=8388608", &e), 0); /* the minimum */
	assert_int_equal(c.scratch_size, 8ULL << 20);
	/* the tmpfs size is another property */
	assert_int_equal(c.tmp_size, 64ULL << 20);
	const char *bad[] = { "8388607", "7M", "4096k", "0", "", "abc", "-8M", "8 M", "1025G",
			      "1099511627777", "2T", "99999999999T" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char kv[64], want[128];
		snprintf(kv, sizeof(kv), "scratch-size=%s", bad[i]);
		snprintf(want, sizeof(want), "scratch-size '%s': expected a size from 8M to 1T (e.g. 64M)", bad[i]);
		assert_int_equal(config_set(&c, kv, &e), -EINVAL);
		assert_string_equal(e.msg, want);
		assert_int_equal(c.scratch_size, 8ULL << 20);
	}
	/* what was set is what the dump keeps */
	char *d = config_dump(&c);
	assert_non_null(strstr(d, "\ntmp-size=67108864\nscratch-size=8388608\n"));
	char *d2 = dump_of(d);
	assert_string_equal(d2, d);
	free(d);
	free(d2);
	config_free(&c);
}

static void test_set_memory(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	char v[64];
	minimal_config(&c);
	assert_int_equal(c.memory, 1ULL << 30);
	assert_int_equal(config_set(&c, "memory=4G", &e), 0);
	assert_int_equal(config_get(&c, "memory", v, sizeof(v)), 0);
	assert_string_equal(v, "4294967296");
	assert_int_equal(config_set(&c, "memory=16M", &e), 0);    /* the minimum */
	assert_int_equal(c.memory, 16ULL << 20);
	const char *bad[] = { "16777215", "8M", "0", "", "1X", "-1G" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char kv[64], want[128];
		snprintf(kv, sizeof(kv), "memory=%s", bad[i]);
		snprintf(want, sizeof(want), "memory '%s': expected a size of at least 16M (e.g. 1G)", bad[i]);
		assert_int_equal(config_set(&c, kv, &e), -EINVAL);
		assert_string_equal(e.msg, want);
		assert_int_equal(c.memory, 16ULL << 20);
	}
	config_free(&c);
}

/* ---- limits and confinement: pids, cpu, cpu-weight, limitpriv, mdwe, seccomp, landlock ---- */

/* Accepted, and what get and the dump then say (the canonical form). */
static const struct good_value {
	const char *key, *value, *canonical;
} good_values[] = {
	{ "pids", "16", "16" },                 /* the minimum */
	{ "pids", "4194304", "4194304" },       /* the kernel's pid_max limit */
	{ "pids", "2048", "2048" },
	{ "pids", "0016", "16" },
	{ "cpu", "none", "none" },
	{ "cpu", "0.5", "0.5" },
	{ "cpu", "2", "2" },
	{ "cpu", "1.25", "1.25" },
	{ "cpu", "0.01", "0.01" },              /* the minimum */
	{ "cpu", "0.010", "0.01" },
	{ "cpu", "0.500", "0.5" },
	{ "cpu", "1.250", "1.25" },
	{ "cpu", "2.0", "2" },
	{ "cpu", "1023.999", "1023.999" },
	{ "cpu", "1024", "1024" },              /* the maximum */
	{ "cpu", "1024.000", "1024" },
	{ "cpu", "00.5", "0.5" },
	{ "cpu", "1.", "1" },                   /* a bare point is taken as .0 */
	{ "cpu-weight", "1", "1" },
	{ "cpu-weight", "100", "100" },
	{ "cpu-weight", "10000", "10000" },
	{ "limitpriv", "default", "default" },
	{ "limitpriv", "none", "none" },
	{ "limitpriv", "default,-kill,+net_raw", "default,-kill,+net_raw" },
	{ "limitpriv", "net_raw", "net_raw" },  /* kept as written, not expanded */
	{ "limitpriv", "none,+net_bind_service", "none,+net_bind_service" },
	{ "mdwe", "on", "on" },
	{ "mdwe", "off", "off" },
	{ "seccomp", "on", "on" },
	{ "seccomp", "off", "off" },
	{ "landlock", "on", "on" },
	{ "landlock", "off", "off" },
	{ "require", "mdwe", "mdwe" },
	{ "require", "landlock", "landlock" },
	{ "require", "mdwe,landlock,mdwe", "mdwe,landlock" },
};

static void test_value_accepted(void **state)
{
	const struct good_value *g = *state;
	struct isc_config c;
	struct isc_err e = { 0 };
	char text[512], v[300], want[300];

	/* in a file */
	snprintf(text, sizeof(text), "%s%s=%s\n", minimal, g->key, g->value);
	if (config_parse(text, &c, &e) < 0)
		fail_msg("%s=%s refused: %s", g->key, g->value, e.msg);
	assert_int_equal(config_get(&c, g->key, v, sizeof(v)), 0);
	assert_string_equal(v, g->canonical);
	char *d = config_dump(&c);
	snprintf(want, sizeof(want), "\n%s=%s\n", g->key, g->canonical);
	assert_non_null(strstr(d, want));
	char *d2 = dump_of(d);
	assert_string_equal(d2, d);
	config_free(&c);

	/* and by the operator: the same result */
	minimal_config(&c);
	snprintf(text, sizeof(text), "%s=%s", g->key, g->value);
	if (config_set(&c, text, &e) < 0)
		fail_msg("set %s refused: %s", text, e.msg);
	char *d3 = config_dump(&c);
	assert_string_equal(d3, d);
	free(d);
	free(d2);
	free(d3);
	config_free(&c);
}

/* What the cgroup code gets: thousandths of a CPU, 0 for no quota. */
static void test_cpu_milli(void **state)
{
	(void)state;
	static const struct { const char *v; uint32_t milli; } cases[] = {
		{ "none", 0 }, { "0.01", 10 }, { "0.5", 500 }, { "1.25", 1250 }, { "1.2", 1200 },
		{ "2", 2000 }, { "1.", 1000 }, { "1023.999", 1023999 }, { "1024", 1024000 },
	};
	struct isc_config c;
	struct isc_err e = { 0 };
	minimal_config(&c);
	assert_int_equal(c.cpu_milli, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char kv[64];
		snprintf(kv, sizeof(kv), "cpu=%s", cases[i].v);
		assert_int_equal(config_set(&c, kv, &e), 0);
		if (c.cpu_milli != cases[i].milli)
			fail_msg("%s: cpu_milli %u, want %u", kv, c.cpu_milli, cases[i].milli);
	}
	/* a refusal keeps the last value */
	assert_int_equal(config_set(&c, "cpu=0.001", &e), -EINVAL);
	assert_int_equal(c.cpu_milli, 1024000);
	config_free(&c);
}

#define PIDS_MSG(v) "pids '" v "': expected 16 to 4194304"
#define CPU_MSG(v) "cpu '" v "': expected none or CPUs from 0.01 (e.g. 0.5, 2)"
#define WEIGHT_MSG(v) "cpu-weight '" v "': expected 1 to 10000 (100 is a fair share)"
#define ONOFF_MSG(k, v) k " '" v "': expected on or off"
#define REQUIRE_MSG(v) "require '" v "': expected none, or mdwe and landlock comma-separated"

/* Refused, with this message, leaving the config as it was. */
static const struct bad_value {
	const char *key, *value, *msg;
} bad_values[] = {
	{ "pids", "15", PIDS_MSG("15") },
	{ "pids", "0", PIDS_MSG("0") },
	{ "pids", "4194305", PIDS_MSG("4194305") },
	{ "pids", "", PIDS_MSG("") },
	{ "pids", "-16", PIDS_MSG("-16") },
	{ "pids", "+16", PIDS_MSG("+16") },
	{ "pids", "16x", PIDS_MSG("16x") },
	{ "pids", "1e3", PIDS_MSG("1e3") },
	{ "pids", "0x20", PIDS_MSG("0x20") },
	{ "pids", "16 ", PIDS_MSG("16 ") },
	{ "pids", "max", PIDS_MSG("max") },
	{ "pids", "18446744073709551616", PIDS_MSG("18446744073709551616") },
	{ "cpu", "0", CPU_MSG("0") },
	{ "cpu", "0.0", CPU_MSG("0.0") },
	{ "cpu", "-1", CPU_MSG("-1") },
	{ "cpu", "+1", CPU_MSG("+1") },
	{ "cpu", "0.001", CPU_MSG("0.001") },
	{ "cpu", "0.009", CPU_MSG("0.009") },
	{ "cpu", "1.2345", CPU_MSG("1.2345") },
	{ "cpu", "0.5000", CPU_MSG("0.5000") },  /* at most three places, even zeros */
	{ "cpu", ".5", CPU_MSG(".5") },
	{ "cpu", ".", CPU_MSG(".") },
	{ "cpu", "", CPU_MSG("") },
	{ "cpu", "abc", CPU_MSG("abc") },
	{ "cpu", "None", CPU_MSG("None") },
	{ "cpu", "1,5", CPU_MSG("1,5") },
	{ "cpu", "1e2", CPU_MSG("1e2") },
	{ "cpu", " 1", CPU_MSG(" 1") },
	{ "cpu", "1 ", CPU_MSG("1 ") },
	{ "cpu", "1.5x", CPU_MSG("1.5x") },
	{ "cpu", "1024.001", CPU_MSG("1024.001") },
	{ "cpu", "1025", CPU_MSG("1025") },
	{ "cpu", "99999", CPU_MSG("99999") },
	{ "cpu", "4294968", CPU_MSG("4294968") },   /* x1000 would wrap 32 bits */
	{ "cpu", "99999999999999999999", CPU_MSG("99999999999999999999") },
	{ "cpu-weight", "0", WEIGHT_MSG("0") },
	{ "cpu-weight", "10001", WEIGHT_MSG("10001") },
	{ "cpu-weight", "-1", WEIGHT_MSG("-1") },
	{ "cpu-weight", "+5", WEIGHT_MSG("+5") },
	{ "cpu-weight", "1.5", WEIGHT_MSG("1.5") },
	{ "cpu-weight", "", WEIGHT_MSG("") },
	{ "cpu-weight", "abc", WEIGHT_MSG("abc") },
	{ "cpu-weight", "4294967396", WEIGHT_MSG("4294967396") },   /* 100 + 2^32 */
	{ "limitpriv", "", "limitpriv: empty (use default, none, +cap, -cap)" },
	{ "limitpriv", "default,", "limitpriv 'default,': empty item" },
	{ "limitpriv", "default,,kill", "limitpriv 'default,,kill': empty item" },
	{ "limitpriv", "+CAP_KILL", "limitpriv: bad capability name 'CAP_KILL'" },
	{ "limitpriv", "+cap_kill", "limitpriv: unknown capability 'cap_kill'" },
	{ "limitpriv", "+nosuchcap", "limitpriv: unknown capability 'nosuchcap'" },
	{ "limitpriv", "+ kill", "limitpriv: bad capability name ' kill'" },
	{ "limitpriv", "-", "limitpriv: unknown capability ''" },
	{ "mdwe", "", ONOFF_MSG("mdwe", "") },
	{ "mdwe", "ON", ONOFF_MSG("mdwe", "ON") },
	{ "mdwe", "1", ONOFF_MSG("mdwe", "1") },
	{ "mdwe", "true", ONOFF_MSG("mdwe", "true") },
	{ "mdwe", "on ", ONOFF_MSG("mdwe", "on ") },
	{ "seccomp", "yes", ONOFF_MSG("seccomp", "yes") },
	{ "seccomp", "0", ONOFF_MSG("seccomp", "0") },
	{ "seccomp", "of", ONOFF_MSG("seccomp", "of") },
	{ "landlock", "Off", ONOFF_MSG("landlock", "Off") },
	{ "landlock", " off", ONOFF_MSG("landlock", " off") },
	{ "landlock", "none", ONOFF_MSG("landlock", "none") },
	{ "require", "", REQUIRE_MSG("") },
	{ "require", "seccomp", REQUIRE_MSG("seccomp") },
	{ "require", "mdwe,", REQUIRE_MSG("mdwe,") },
	{ "require", ",mdwe", REQUIRE_MSG(",mdwe") },
	{ "require", "MDWE", REQUIRE_MSG("MDWE") },
	{ "require", "mdwe,,landlock", REQUIRE_MSG("mdwe,,landlock") },
};

static void test_value_refused(void **state)
{
	const struct bad_value *b = *state;
	struct isc_config c;
	struct isc_err e = { 0 };
	char text[512], want[512];

	/* by the operator: refused, nothing changed */
	minimal_config(&c);
	char *before = config_dump(&c);
	snprintf(text, sizeof(text), "%s=%s", b->key, b->value);
	int r = config_set(&c, text, &e);
	if (r != -EINVAL || e.code != EINVAL || !STREQ(e.msg, b->msg))
		fail_msg("set %s: got %d '%s', want -EINVAL '%s'", text, r, e.msg, b->msg);
	char *after = config_dump(&c);
	assert_string_equal(after, before);
	free(before);
	free(after);
	config_free(&c);

	/* in a file: the same, with the line */
	snprintf(text, sizeof(text), "%s%s=%s\n", minimal, b->key, b->value);
	snprintf(want, sizeof(want), "config line 5: %s", b->msg);
	err_clear(&e);
	r = config_parse(text, &c, &e);
	if (r != -EINVAL || !STREQ(e.msg, want))
		fail_msg("parse %s=%s: got %d '%s', want -EINVAL '%s'", b->key, b->value, r, e.msg, want);
}

/* limitpriv is kept as written: up to 255 bytes. */
static void test_limitpriv_length(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	char kv[300] = "limitpriv=none,", v[300];
	for (int i = 0; i < 49; i++)
		strcat(kv, "kill,");
	strcat(kv, "+kill");
	assert_int_equal(strlen(kv + 10), 255);
	minimal_config(&c);
	if (config_set(&c, kv, &e) < 0)
		fail_msg("255 bytes refused: %s", e.msg);
	assert_int_equal(config_get(&c, "limitpriv", v, sizeof(v)), 0);
	assert_string_equal(v, kv + 10);
	char *d = config_dump(&c);
	char *d2 = dump_of(d);
	assert_string_equal(d2, d);
	free(d2);

	memmove(kv + 16, kv + 15, strlen(kv + 15) + 1);   /* "none,+kill,kill,..." */
	kv[15] = '+';
	assert_int_equal(strlen(kv + 10), 256);
	assert_int_equal(config_set(&c, kv, &e), -EINVAL);
	assert_string_equal(e.msg, "limitpriv: too long");
	char *after = config_dump(&c);
	assert_string_equal(after, d);
	free(after);
	free(d);
	config_free(&c);
}

/* encryption-root is fixed at create: its own name unless another ISC's
 * key (--encryption-root) or none kept at all (run --rm). */
static void test_encryption_root(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	char v[128];

	/* unset: the ISC is its own root, and the dump says so */
	minimal_config(&c);
	assert_string_equal(c.encryption_root, "");
	assert_int_equal(config_get(&c, "encryption-root", v, sizeof(v)), 0);
	assert_string_equal(v, "web");
	assert_string_equal(config_key_root(&c), "web");
	char *d = config_dump(&c);
	assert_non_null(strstr(d, "\nencryption-root=web\n"));
	config_free(&c);
	assert_int_equal(config_parse(d, &c, &e), 0);
	assert_string_equal(config_key_root(&c), "web");
	char *d2 = config_dump(&c);
	assert_string_equal(d2, d);
	free(d);
	free(d2);
	config_free(&c);

	static const char *const roots[] = {
		ISC_KEY_EPHEMERAL, "db", "web",
		"a23456789012345678901234567890123456789012345678901234567890123",  /* 63 */
	};
	for (size_t i = 0; i < ARRAY_SIZE(roots); i++) {
		char text[512];
		snprintf(text, sizeof(text), "%sencryption-root=%s\n", minimal, roots[i]);
		if (config_parse(text, &c, &e) < 0)
			fail_msg("encryption-root=%s refused: %s", roots[i], e.msg);
		assert_string_equal(c.encryption_root, roots[i]);
		assert_string_equal(config_key_root(&c), roots[i]);
		assert_int_equal(config_get(&c, "encryption-root", v, sizeof(v)), 0);
		assert_string_equal(v, roots[i]);
		d = config_dump(&c);
		char want[128];
		snprintf(want, sizeof(want), "\ncreated=0\nencryption-root=%s\nmemory=", roots[i]);
		assert_non_null(strstr(d, want));
		d2 = dump_of(d);
		assert_string_equal(d2, d);
		free(d);
		free(d2);
		/* and an operator cannot move an ISC to another key */
		assert_int_equal(config_set(&c, "encryption-root=web", &e), -EPERM);
		assert_string_equal(c.encryption_root, roots[i]);
		config_free(&c);
	}
	assert_string_equal(ISC_KEY_EPHEMERAL, "@ephemeral");
	assert_false(name_valid(ISC_KEY_EPHEMERAL));   /* no ISC can be called that */
}

struct bad_volume {
	const char *v;
	const char *why;        /* the end of the message */
};

static const struct bad_volume bad_volumes[] = {
	{ "srv", "must be an absolute path below /" },
	{ "", "must be an absolute path below /" },
	{ "./srv", "must be an absolute path below /" },
	{ "/", "must be an absolute path below /" },
	{ "//", "path must be normalised" },
	{ "//srv", "path must be normalised" },
	{ "/srv//data", "path must be normalised" },
	{ "/a/../b", "path must be normalised" },
	{ "/a/./b", "path must be normalised" },
	{ "/a/..", "path must be normalised" },
	{ "/a/.", "path must be normalised" },
	{ "/..", "path must be normalised" },
	{ "/srv/", "path must be normalised" },
	{ "/srv data", "unsupported character" },
	{ "/srv,ro", "unsupported character" },
	{ "/srv:x", "unsupported character" },
	{ "/srv\tx", "unsupported character" },
	{ "/srv\x7f", "unsupported character" },
	{ "/etc", "cannot replace a system directory" },
	{ "/usr", "cannot replace a system directory" },
	{ "/proc", "cannot replace a system directory" },
	{ "/sys", "cannot replace a system directory" },
	{ "/dev", "cannot replace a system directory" },
	{ "/run", "cannot replace a system directory" },
	{ "/tmp", "cannot replace a system directory" },
	{ "/bin", "cannot replace a system directory" },
	{ "/sbin", "cannot replace a system directory" },
	{ "/lib", "cannot replace a system directory" },
	{ "/lib64", "cannot replace a system directory" },
	{ "/var", "cannot replace a system directory" },
	/* below a directory the image or the profile owns */
	{ "/proc/x", "cannot replace a system directory" },
	{ "/proc/sys/kernel", "cannot replace a system directory" },
	{ "/sys/fs/cgroup", "cannot replace a system directory" },
	{ "/dev/shm", "cannot replace a system directory" },
	{ "/usr/bin", "cannot replace a system directory" },
	{ "/usr/local/bin", "cannot replace a system directory" },
	{ "/etc/isc", "cannot replace a system directory" },
	{ "/etc/ssl", "cannot replace a system directory" },
	{ "/bin/sh", "cannot replace a system directory" },
	{ "/lib/x86_64-linux-gnu", "cannot replace a system directory" },
	{ "/run/isc", "cannot replace a system directory" },
	{ "/tmp/x", "cannot replace a system directory" },
	{ "/var/lib/dpkg", "cannot replace a system directory" },
	{ "/var/lib/apt/lists", "cannot replace a system directory" },
	{ "/var/cache/apt", "cannot replace a system directory" },
	{ "/var/cache/debconf", "cannot replace a system directory" },
	{ "/var/lib/isc", "cannot replace a system directory" },
};

static void test_set_volume_rejects(void **state)
{
	const struct bad_volume *b = *state;
	struct isc_config c;
	struct isc_err e = { 0 };
	char kv[512], want[600];
	minimal_config(&c);
	char *before = config_dump(&c);
	snprintf(kv, sizeof(kv), "volume=%s", b->v);
	snprintf(want, sizeof(want), "volume '%s': %s", b->v, b->why);
	int r = config_set(&c, kv, &e);
	if (r != -EINVAL || !STREQ(e.msg, want))
		fail_msg("volume=%s: got %d '%s', want -EINVAL '%s'", b->v, r, e.msg, want);
	char *after = config_dump(&c);
	assert_string_equal(after, before);
	free(before);
	free(after);
	config_free(&c);
}

static void test_set_volume_accepts(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	minimal_config(&c);
	/* prefixes of system names are not system directories */
	const char *good[] = { "/srv", "/srv/data", "/var/lib/postgresql", "/var/www", "/home/u",
		"/opt/app", "/etcetera", "/usrdata", "/proceed", "/variable", "/data.d/x-y_z" };
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		char kv[128];
		snprintf(kv, sizeof(kv), "volume=%s", good[i]);
		if (config_set(&c, kv, &e) < 0)
			fail_msg("volume=%s refused: %s", good[i], e.msg);
	}
	char v[1024];
	assert_int_equal(config_get(&c, "volume", v, sizeof(v)), 0);
	assert_string_equal(v, "/srv,/srv/data,/var/lib/postgresql,/var/www,/home/u,/opt/app,"
			    "/etcetera,/usrdata,/proceed,/variable,/data.d/x-y_z");
	/* the dump lists them one a line, in order, and parses back */
	char *d = config_dump(&c);
	assert_non_null(strstr(d, "\nvolume=/srv\nvolume=/srv/data\nvolume=/var/lib/postgresql\n"));
	char *d2 = dump_of(d);
	assert_string_equal(d2, d);
	free(d);
	free(d2);
	config_free(&c);

	/* 255 bytes is the longest path */
	minimal_config(&c);
	char kv[300] = "volume=/";
	memset(kv + 8, 'p', 254);
	kv[8 + 254] = '\0';
	assert_int_equal(config_set(&c, kv, &e), 0);
	strcat(kv, "p");
	assert_int_equal(config_set(&c, kv, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "must be an absolute path below /"));
	config_free(&c);
}

static void test_set_volume_duplicate_and_limit(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	minimal_config(&c);
	assert_int_equal(config_set(&c, "volume=/srv", &e), 0);
	assert_int_equal(config_set(&c, "volume=/srv", &e), -EEXIST);
	assert_int_equal(e.code, EEXIST);
	assert_string_equal(e.msg, "volume /srv already configured");
	for (int i = 1; i < ISC_MAX_VOLUMES; i++) {
		char kv[64];
		snprintf(kv, sizeof(kv), "volume=/data/%d", i);
		assert_int_equal(config_set(&c, kv, &e), 0);
	}
	assert_non_null(c.volumes[ISC_MAX_VOLUMES - 1]);
	assert_int_equal(config_set(&c, "volume=/data/17", &e), -E2BIG);
	assert_string_equal(e.msg, "at most 16 volumes");
	assert_null(c.volumes[ISC_MAX_VOLUMES]);
	/* a duplicate is still named as such when full */
	assert_int_equal(config_set(&c, "volume=/data/3", &e), -EEXIST);

	/* 16 volumes survive a dump and parse; a 17th line in a file is refused */
	char *d = config_dump(&c);
	char *d2 = dump_of(d);
	assert_string_equal(d2, d);
	char *more = malloc(strlen(d) + 32);
	strcpy(more, d);
	strcat(more, "volume=/data/17\n");
	struct isc_config c2;
	assert_int_equal(config_parse(more, &c2, &e), -E2BIG);
	assert_string_equal(e.msg, "config line 36: at most 16 volumes");
	free(more);
	free(d);
	free(d2);
	config_free(&c);
}

static void test_set_read_only_and_malformed(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	minimal_config(&c);
	char *before = config_dump(&c);
	static const struct { const char *kv; int code; const char *msg; } cases[] = {
		{ "name=other", EPERM, "property 'name' is read-only" },
		{ "uid=1000131072", EPERM, "property 'uid' is read-only" },
		{ "image=other", EPERM, "property 'image' is read-only" },
		{ "image-digest=" DIGEST, EPERM, "property 'image-digest' is read-only" },
		{ "created=1", EPERM, "property 'created' is read-only" },
		{ "encryption-root=other", EPERM, "property 'encryption-root' is read-only" },
		{ "encryption-root=@ephemeral", EPERM, "property 'encryption-root' is read-only" },
		{ "encryption-root=", EPERM, "property 'encryption-root' is read-only" },
		{ "colour=blue", EINVAL, "unknown property 'colour'" },
		{ "noequals", EINVAL, "malformed property 'noequals' (expected key=value)" },
		{ "=value", EINVAL, "malformed property '=value' (expected key=value)" },
		{ "", EINVAL, "malformed property '' (expected key=value)" },
		{ "0123456789012345678901234567890123456789012345678901234567890123=1", EINVAL,
		  "unknown property '0123456789012345678901234567890123456789012345678901234567890123'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		err_clear(&e);
		int r = config_set(&c, cases[i].kv, &e);
		if (r != -cases[i].code || e.code != cases[i].code || !STREQ(e.msg, cases[i].msg))
			fail_msg("set %s: got %d '%s', want -%d '%s'", cases[i].kv, r, e.msg,
				 cases[i].code, cases[i].msg);
	}
	/* an over-long property is refused as a whole */
	char big[1100] = "volume=/";
	memset(big + 8, 'a', 1020);
	big[1028] = '\0';
	assert_int_equal(config_set(&c, big, &e), -EINVAL);
	assert_true(str_has_prefix(e.msg, "malformed property '"));

	char *after = config_dump(&c);
	assert_string_equal(after, before);
	free(before);
	free(after);
	config_free(&c);
}

static void test_get(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	char v[128];
	assert_int_equal(config_parse(canonical, &c, &e), 0);
	static const struct { const char *k, *v; } kv[] = {
		{ "name", "web" }, { "image", "debian-12" }, { "image-digest", DIGEST },
		{ "profile", "strict" }, { "uid", UID_OK }, { "created", "1700000000" },
		{ "encryption-root", "shared" }, { "memory", "2147483648" },
		{ "pids", "2048" }, { "cpu", "0.5" }, { "cpu-weight", "200" },
		{ "tmp-size", "134217728" }, { "scratch-size", "268435456" },
		{ "var-size", "1073741824" }, { "session-size", "536870912" }, { "limitpriv", "default,-kill,+net_raw" }, { "mdwe", "off" }, { "seccomp", "on" },
		{ "landlock", "on" }, { "require", "none" }, { "volume", "/srv/data,/var/lib/postgresql" },
		{ "net", "none" }, { "egress", "deny" }, { "maintenance-egress", "deny" }, { "expose", "" },
		{ "verify-interval", "off" }, { "on-tamper", "quarantine" }, { "autoboot", "false" },
		{ "on-violation", "alert" }, { "violation-threshold", "100/60" },
		{ "on-crash", "alert" }, { "crash-limit", "5" }, { "pressure-threshold", "off" },
		{ "on-pressure", "alert" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(kv); i++) {
		assert_int_equal(config_get(&c, kv[i].k, v, sizeof(v)), 0);
		assert_string_equal(v, kv[i].v);
	}
	assert_int_equal(config_get(&c, "colour", v, sizeof(v)), -ENOENT);
	assert_string_equal(v, "");
	/* every listed key can be read */
	size_t n = 0;
	for (; config_key(n); n++)
		assert_int_equal(config_get(&c, config_key(n), v, sizeof(v)), 0);
	assert_int_equal(n, 40);
	config_free(&c);
}

/* ---- the property table: every property, each way in and out ---------------- */

#define DIGEST2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* A value other than the default for every property, what get then says,
 * and its line in the dump when that is not "key=got".  A property added
 * to the table without a row here fails test_every_property. */
static const struct prop_case {
	const char *key, *value, *got, *line;
} prop_cases[] = {
	{ "name", "db", "db", NULL },
	{ "image", "alpine", "alpine", NULL },
	{ "image-digest", DIGEST2, DIGEST2, NULL },
	{ "profile", "none", "none", NULL },
	{ "uid", "1000131072", "1000131072", NULL },
	{ "created", "1700000000", "1700000000", NULL },
	{ "encryption-root", "shared", "shared", NULL },
	{ "memory", "2G", "2147483648", NULL },
	{ "pids", "2048", "2048", NULL },
	{ "cpu", "1.250", "1.25", NULL },
	{ "cpu-weight", "200", "200", NULL },
	{ "tmp-size", "128M", "134217728", NULL },
	{ "scratch-size", "256M", "268435456", NULL },
	{ "var-size", "1G", "1073741824", NULL },
	{ "session-size", "512M", "536870912", NULL },
	{ "limitpriv", "none,+net_bind_service", "none,+net_bind_service", NULL },
	{ "mdwe", "off", "off", NULL },
	{ "seccomp", "off", "off", NULL },
	{ "landlock", "off", "off", NULL },
	{ "require", "landlock,mdwe", "mdwe,landlock", "require=mdwe,landlock" },
	{ "require-signature", "/etc/isc/trusted.pub", "/etc/isc/trusted.pub", NULL },
	{ "volume", "/srv/data", "/srv/data", NULL },
	{ "net", "bridge", "bridge", NULL },
	{ "egress", "tcp:10.0.0.0/8:443,udp:1.1.1.1:53", "tcp:10.0.0.0/8:443,udp:1.1.1.1/32:53",
	  "egress=tcp:10.0.0.0/8:443,udp:1.1.1.1/32:53" },
	{ "maintenance-egress", "allow", "allow", NULL },
	{ "expose", "tcp:18080:80@10.0.0.0/8", "tcp:18080:80@10.0.0.0/8", NULL },
	{ "version", DIGEST2 ",1700000000,-w,4096", "fedcba987654", "version=" DIGEST2 ",1700000000,-w,4096" },
	{ "snapshot", "s1,1700000000," DIGEST2 ",known-good,2.1", "s1",
	  "snapshot=s1,1700000000," DIGEST2 ",known-good,2.1" },
	{ "head", "3.1", "3.1", NULL },
	{ "frozen-next", "4", "4", NULL },
	{ "origin", "web@good", "web@good", NULL },
	{ "verify-interval", "300", "300", NULL },
	{ "on-tamper", "rollback", "rollback", NULL },
	{ "autoboot", "true", "true", NULL },
	{ "on-violation", "halt", "halt", NULL },
	{ "violation-threshold", "7/30", "7/30", NULL },
	{ "on-crash", "restart", "restart", NULL },
	{ "crash-limit", "3", "3", NULL },
	{ "pressure-threshold", "25/5", "25/5", NULL },
	{ "on-pressure", "halt", "halt", NULL },
};

/* What an operator may do with each: set at create (config_set) and
 * later (config_change), at create only, or neither. */
static const char *const create_only[] = { "var-size" };
static const char *const read_only[] = { "name", "image", "image-digest", "uid", "created",
					 "encryption-root", "expose", "version", "snapshot", "head", "frozen-next",
					 "origin" };

static bool listed(const char *const *keys, size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++)
		if (STREQ(keys[i], k))
			return true;
	return false;
}

/* Value, get, dump and parse agree: the dump has the line, parses back
 * to the same value, and dumps to the same bytes. */
static void prop_check(const struct isc_config *c, const struct prop_case *pc, const char *how)
{
	char v[512], line[512];
	if (config_get(c, pc->key, v, sizeof(v)) < 0 || !STREQ(v, pc->got))
		fail_msg("%s %s=%s: get says '%s', want '%s'", how, pc->key, pc->value, v, pc->got);
	char *d = config_dump(c);
	if (pc->line)
		snprintf(line, sizeof(line), "\n%s\n", pc->line);
	else
		snprintf(line, sizeof(line), "\n%s=%s\n", pc->key, pc->got);
	if (!strstr(d, line) && !str_has_prefix(d, line + 1))
		fail_msg("%s %s=%s: the dump lacks %s", how, pc->key, pc->value, line + 1);
	struct isc_config back;
	struct isc_err e = { 0 };
	if (config_parse(d, &back, &e) < 0)
		fail_msg("%s %s=%s: the dump is refused: %s", how, pc->key, pc->value, e.msg);
	assert_int_equal(config_get(&back, pc->key, v, sizeof(v)), 0);
	assert_string_equal(v, pc->got);
	char *d2 = config_dump(&back);
	assert_string_equal(d2, d);
	free(d);
	free(d2);
	config_free(&back);
}

static void test_every_property(void **state)
{
	(void)state;
	size_t n = 0;
	for (; config_key(n); n++) {
		const char *k = config_key(n);
		const struct prop_case *pc = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(prop_cases); i++)
			if (STREQ(prop_cases[i].key, k))
				pc = &prop_cases[i];
		if (!pc)
			fail_msg("property %s has no case in prop_cases", k);
		struct isc_config c;
		struct isc_err e = { 0 };
		char text[512], kv[300], want[128];

		/* in a file, which takes every property */
		snprintf(text, sizeof(text), "%s%s=%s\n", minimal, k, pc->value);
		if (config_parse(text, &c, &e) < 0)
			fail_msg("file %s=%s refused: %s", k, pc->value, e.msg);
		prop_check(&c, pc, "file");
		config_free(&c);

		/* by an operator, at create and later */
		snprintf(kv, sizeof(kv), "%s=%s", k, pc->value);
		bool ro = listed(read_only, ARRAY_SIZE(read_only), k);
		bool at_create = listed(create_only, ARRAY_SIZE(create_only), k);
		minimal_config(&c);
		char *before = config_dump(&c);
		int r = config_set(&c, kv, &e);
		if (ro) {
			snprintf(want, sizeof(want), "property '%s' is read-only", k);
			if (r != -EPERM || !STREQ(e.msg, want))
				fail_msg("set %s: got %d '%s', want -EPERM '%s'", kv, r, e.msg, want);
		} else {
			if (r < 0)
				fail_msg("set %s refused: %s", kv, e.msg);
			prop_check(&c, pc, "set");
		}
		config_free(&c);

		minimal_config(&c);
		r = config_change(&c, kv, &e);
		if (ro || at_create) {
			if (ro)
				snprintf(want, sizeof(want), "property '%s' is read-only", k);
			else
				snprintf(want, sizeof(want), "%s is fixed when the ISC is created", k);
			if (r != -EPERM || e.code != EPERM || !STREQ(e.msg, want))
				fail_msg("change %s: got %d '%s', want -EPERM '%s'", kv, r, e.msg, want);
			char *after = config_dump(&c);
			assert_string_equal(after, before);
			free(after);
		} else {
			if (r < 0)
				fail_msg("change %s refused: %s", kv, e.msg);
			prop_check(&c, pc, "change");
		}
		free(before);
		config_free(&c);
	}
	assert_int_equal(n, ARRAY_SIZE(prop_cases));
	assert_null(config_key(n + 1));
}

/* Unknown and malformed are refused the same way at create and later. */
static void test_change_unknown(void **state)
{
	(void)state;
	struct isc_config c;
	struct isc_err e = { 0 };
	minimal_config(&c);
	assert_int_equal(config_change(&c, "colour=blue", &e), -EINVAL);
	assert_string_equal(e.msg, "unknown property 'colour'");
	assert_int_equal(config_change(&c, "var-size", &e), -EINVAL);
	assert_string_equal(e.msg, "malformed property 'var-size' (expected key=value)");
	/* fixed at create whatever the value, even one create would refuse */
	assert_int_equal(config_change(&c, "var-size=bogus", &e), -EPERM);
	assert_string_equal(e.msg, "var-size is fixed when the ISC is created");
	assert_int_equal(config_set(&c, "var-size=bogus", &e), -EINVAL);
	assert_string_equal(e.msg, "var-size 'bogus': expected none or a size from 8M (e.g. 1G)");
	assert_int_equal(config_change(&c, "VOLUME=/srv", &e), -EINVAL);
	assert_string_equal(e.msg, "unknown property 'VOLUME'");
	config_free(&c);
}

/* The help has one line a property, settable ones first, each saying
 * who may set it. */
static void test_help(void **state)
{
	(void)state;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	fputc('\n', f);   /* every line then starts after a newline */
	config_help(f);
	fclose(f);
	size_t lines = 0, n = 0;
	for (const char *s = out; *s; s++)
		lines += *s == '\n';
	while (config_key(n))
		n++;
	assert_int_equal(lines, n + 1);
	assert_non_null(strstr(out, "\n  memory=SIZE "));
	assert_non_null(strstr(out, "\n  volume=/PATH "));
	assert_non_null(strstr(out, "\n  var-size=SIZE|none "));
	for (size_t i = 0; i < n; i++) {
		const char *k = config_key(i), *at;
		char head[64], line[256];
		bool ro = listed(read_only, ARRAY_SIZE(read_only), k);
		bool at_create = listed(create_only, ARRAY_SIZE(create_only), k);
		/* settable ones show their syntax, read-only ones only their name */
		snprintf(head, sizeof(head), ro ? "\n  %s " : "\n  %s=", k);
		if (!(at = strstr(out, head)))
			fail_msg("help has no line for %s:%s", k, out);
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(at + 1, "\n"), at + 1);
		if (ro != str_has_suffix(line, " (read-only)") ||
		    at_create != str_has_suffix(line, " (at create)"))
			fail_msg("help line for %s: '%s'", k, line);
	}
	/* what an operator may set comes first */
	assert_true(strstr(out, "\n  volume=") < strstr(out, "\n  name "));
	free(out);
}

/* ---- limitpriv: the one parser (iscd applies it to confine's default set) ---- */

#define CAPBIT(c) (1ULL << (c))

static void test_limitpriv_accepts(void **state)
{
	(void)state;
	const uint64_t def = CAPBIT(CAP_CHOWN) | CAPBIT(CAP_KILL) | CAPBIT(CAP_NET_BIND_SERVICE);
	static const struct { const char *spec; uint64_t add, del; bool none; } ok[] = {
		{ "default", 0, 0, false },
		{ "none", 0, 0, true },
		{ "default,-kill,+net_raw", CAPBIT(CAP_NET_RAW), CAPBIT(CAP_KILL), false },
		{ "net_raw", CAPBIT(CAP_NET_RAW), 0, false },     /* a bare name adds to the default */
		{ "+net_raw", CAPBIT(CAP_NET_RAW), 0, false },
		{ "-kill", 0, CAPBIT(CAP_KILL), false },
		{ "-net_raw", 0, 0, false },                      /* removing one not held */
		{ "+kill", 0, 0, false },                         /* adding one held */
		{ "none,+kill", CAPBIT(CAP_KILL), 0, true },
		{ "kill,none", 0, 0, true },                      /* left to right */
		{ "none,default", 0, 0, false },
		{ "-kill,+kill", 0, 0, false },
		{ "+sys_admin,-sys_admin", 0, 0, false },
		{ "none,+sys_admin,+sys_ptrace", CAPBIT(CAP_SYS_ADMIN) | CAPBIT(CAP_SYS_PTRACE), 0, true },
		{ "none,+chown,+kill,+net_bind_service", def, 0, true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct isc_err e = { 0 };
		uint64_t caps = 0xdeadbeef, want = ((ok[i].none ? 0 : def) | ok[i].add) & ~ok[i].del;
		if (config_limitpriv(ok[i].spec, def, &caps, &e) < 0)
			fail_msg("limitpriv '%s' refused: %s", ok[i].spec, e.msg);
		if (caps != want)
			fail_msg("limitpriv '%s': got %#llx, want %#llx", ok[i].spec,
				 (unsigned long long)caps, (unsigned long long)want);
	}
}

static const struct { const char *spec, *msg; } bad_limitpriv[] = {
	{ "", "limitpriv: empty (use default, none, +cap, -cap)" },
	{ ",", "limitpriv ',': empty item" },
	{ "default,", "limitpriv 'default,': empty item" },
	{ ",default", "limitpriv ',default': empty item" },
	{ ",x", "limitpriv: unknown capability 'x'" },
	{ "default,,kill", "limitpriv 'default,,kill': empty item" },
	{ "+CAP_KILL", "limitpriv: bad capability name 'CAP_KILL'" },
	{ "KILL", "limitpriv: bad capability name 'KILL'" },
	{ "+cap_kill", "limitpriv: unknown capability 'cap_kill'" },
	{ "+nosuchcap", "limitpriv: unknown capability 'nosuchcap'" },
	{ "+ kill", "limitpriv: bad capability name ' kill'" },
	{ "kill ", "limitpriv: bad capability name 'kill '" },
	{ "-", "limitpriv: unknown capability ''" },
	{ "+", "limitpriv: unknown capability ''" },
	{ "--kill", "limitpriv: bad capability name '-kill'" },
	{ "+12", "limitpriv: bad capability name '12'" },
	{ "all", "limitpriv: unknown capability 'all'" },
	{ "default,-nosuch", "limitpriv: unknown capability 'nosuch'" },
	{ "none;kill", "limitpriv: bad capability name 'none;kill'" },
};

/* Refused by the parser with this message, and by the property the same
 * way: in a file, at create and later, leaving the config as it was. */
static void test_limitpriv_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_limitpriv); i++) {
		struct isc_err e = { 0 };
		uint64_t caps = 0x1234;
		const char *msg = bad_limitpriv[i].msg;
		int r = config_limitpriv(bad_limitpriv[i].spec, 0x10, &caps, &e);
		if (r != -EINVAL || e.code != EINVAL || !STREQ(e.msg, msg))
			fail_msg("limitpriv '%s': got %d '%s', want -EINVAL '%s'", bad_limitpriv[i].spec,
				 r, e.msg, msg);
		assert_int_equal(caps, 0x1234);   /* untouched on refusal */

		struct isc_config c;
		char kv[128], text[512], want[256];
		snprintf(kv, sizeof(kv), "limitpriv=%s", bad_limitpriv[i].spec);
		minimal_config(&c);
		assert_int_equal(config_set(&c, kv, &e), -EINVAL);
		assert_string_equal(e.msg, msg);
		assert_int_equal(config_change(&c, kv, &e), -EINVAL);
		assert_string_equal(e.msg, msg);
		assert_string_equal(c.limitpriv, "default");
		config_free(&c);
		snprintf(text, sizeof(text), "%s%s\n", minimal, kv);
		snprintf(want, sizeof(want), "config line 5: %s", msg);
		assert_int_equal(config_parse(text, &c, &e), -EINVAL);
		assert_string_equal(e.msg, want);
	}
}

/* ---- configs in a pool --------------------------------------------------------- */

struct pool_fixture {
	char dir[64];
	struct pool p;
};

static int pool_setup(void **state)
{
	struct pool_fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test_config.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->p.path, sizeof(f->p.path), "%s", f->dir);
	f->p.dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	f->p.lockfd = -1;
	if (f->p.dirfd < 0 || mkdirat(f->p.dirfd, "isc", 0700) < 0)
		return -1;
	*state = f;
	return 0;
}

static int pool_teardown(void **state)
{
	struct pool_fixture *f = *state;
	close(f->p.dirfd);
	int r = rm_rf_at(AT_FDCWD, f->dir);
	free(f);
	return r;
}

static void config_named(struct isc_config *c, const char *name)
{
	char text[512];
	struct isc_err e = { 0 };
	snprintf(text, sizeof(text), "name=%s\nimage=debian-12\nimage-digest=" DIGEST "\nuid=" UID_OK "\n", name);
	if (config_parse(text, c, &e) < 0)
		fail_msg("%s", e.msg);
}

static void names_are(const struct pool *p, const char *want)
{
	char **names = NULL;
	struct isc_err e = { 0 };
	if (isc_names(p, &names, &e) < 0)
		fail_msg("isc_names: %s", e.msg);
	char got[512] = "";
	for (size_t i = 0; names[i]; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", names[i]);
	strv_free(names);
	assert_string_equal(got, want);
}

static void test_pool_save_load(void **state)
{
	struct pool_fixture *f = *state;
	struct isc_err e = { 0 };
	struct isc_config c, back;

	names_are(&f->p, "");

	assert_int_equal(config_parse(canonical, &c, &e), 0);
	assert_int_equal(mkdirat(f->p.dirfd, "isc/web", 0700), 0);
	assert_int_equal(isc_config_save(&f->p, &c, &e), 0);

	/* on disk: exactly the canonical text, private to root */
	char *disk = NULL;
	assert_int_equal(read_file_at(f->p.dirfd, "isc/web/config", &disk, NULL, 1 << 16), 0);
	assert_string_equal(disk, canonical);
	free(disk);
	struct stat st;
	assert_int_equal(fstatat(f->p.dirfd, "isc/web/config", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(isc_config_load(&f->p, "web", &back, &e), 0);
	char *d1 = config_dump(&c), *d2 = config_dump(&back);
	assert_string_equal(d2, d1);
	free(d1);
	free(d2);
	config_free(&back);

	/* a change saved replaces the old config */
	assert_int_equal(config_set(&c, "profile=none", &e), 0);
	assert_int_equal(config_set(&c, "volume=/opt/x", &e), 0);
	assert_int_equal(isc_config_save(&f->p, &c, &e), 0);
	assert_int_equal(isc_config_load(&f->p, "web", &back, &e), 0);
	assert_int_equal(back.profile, PROFILE_NONE);
	assert_string_equal(back.volumes[2], "/opt/x");
	config_free(&back);
	config_free(&c);

	/* no temporary file stays next to the config */
	int dfd = openat(f->p.dirfd, "isc/web", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	size_t n = 0;
	while ((de = readdir(d)))
		if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, "..")) {
			assert_string_equal(de->d_name, "config");
			n++;
		}
	closedir(d);
	assert_int_equal(n, 1);
}

static void test_pool_names(void **state)
{
	struct pool_fixture *f = *state;
	struct isc_err e = { 0 };
	const char *isc[] = { "zeta", "alpha", "mid-1" };
	for (size_t i = 0; i < ARRAY_SIZE(isc); i++) {
		struct isc_config c;
		char dir[64];
		snprintf(dir, sizeof(dir), "isc/%s", isc[i]);
		assert_int_equal(mkdirat(f->p.dirfd, dir, 0700), 0);
		config_named(&c, isc[i]);
		assert_int_equal(isc_config_save(&f->p, &c, &e), 0);
		config_free(&c);
	}
	/* half-made by a crashed create: a directory without config */
	assert_int_equal(mkdirat(f->p.dirfd, "isc/half", 0700), 0);
	assert_int_equal(mkdirat(f->p.dirfd, "isc/half/layer", 0700), 0);
	/* not ISC names, even with a config inside */
	assert_int_equal(mkdirat(f->p.dirfd, "isc/.hidden", 0700), 0);
	assert_int_equal(write_file_atomic(f->p.dirfd, "isc/.hidden/config", "x", 1, 0600), 0);
	assert_int_equal(write_file_atomic(f->p.dirfd, "isc/stray-file", "x", 1, 0600), 0);
	names_are(&f->p, "alpha mid-1 zeta");

	/* once the config appears, the ISC is listed */
	struct isc_config c;
	config_named(&c, "half");
	assert_int_equal(isc_config_save(&f->p, &c, &e), 0);
	config_free(&c);
	names_are(&f->p, "alpha half mid-1 zeta");
}

static void test_pool_errors(void **state)
{
	struct pool_fixture *f = *state;
	struct isc_err e = { 0 };
	struct isc_config c;

	assert_int_equal(isc_config_load(&f->p, "ghost", &c, &e), -ENOENT);
	assert_string_equal(e.msg, "no ISC named ghost");

	/* a name is never a path */
	const char *bad[] = { "../isc", "a/b", "", ".", "-x" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char want[64];
		snprintf(want, sizeof(want), "invalid ISC name '%s'", bad[i]);
		assert_int_equal(isc_config_load(&f->p, bad[i], &c, &e), -EINVAL);
		assert_string_equal(e.msg, want);
	}

	/* a damaged config names the ISC and the line */
	assert_int_equal(mkdirat(f->p.dirfd, "isc/bad", 0700), 0);
	assert_int_equal(write_file_atomic(f->p.dirfd, "isc/bad/config", "name=bad\ngarbage\n", 17, 0600), 0);
	assert_int_equal(isc_config_load(&f->p, "bad", &c, &e), -EINVAL);
	assert_string_equal(e.msg, "ISC bad: config line 2: expected key=value");

	/* a config too big to be one is refused, not parsed */
	char *huge = malloc((1 << 16) + 1);
	memset(huge, '#', (1 << 16) + 1);
	assert_int_equal(write_file_atomic(f->p.dirfd, "isc/bad/config", huge, (1 << 16) + 1, 0600), 0);
	free(huge);
	assert_int_equal(isc_config_load(&f->p, "bad", &c, &e), -EFBIG);
	assert_string_equal(e.msg, "read bad config: File too large");

	/* a config that is a symlink is not followed */
	assert_int_equal(mkdirat(f->p.dirfd, "isc/sl", 0700), 0);
	assert_int_equal(symlinkat("/etc/passwd", f->p.dirfd, "isc/sl/config"), 0);
	assert_int_equal(isc_config_load(&f->p, "sl", &c, &e), -ELOOP);

	/* saving needs the ISC's directory */
	config_named(&c, "nodir");
	assert_int_equal(isc_config_save(&f->p, &c, &e), -ENOENT);
	assert_int_equal(e.code, ENOENT);
	assert_string_equal(e.msg, "write nodir config: No such file or directory");
	config_free(&c);

	/* a pool without its isc directory */
	assert_int_equal(rm_rf_at(f->p.dirfd, "isc"), 0);
	char **names = NULL;
	assert_int_equal(isc_names(&f->p, &names, &e), -ENOENT);
	assert_string_equal(e.msg, "open isc directory");
	assert_null(names);
}

/* ---- version stacks ----------------------------------------------------------- */

static void test_layers(void **state)
{
	(void)state;
	struct isc_config c;
	config_init(&c);
	char d[4][65], out[ISC_MAX_LAYERS][65];
	for (int i = 0; i < 4; i++) {
		memset(d[i], 'a' + i, 64);
		d[i][64] = '\0';
	}
	assert_int_equal(config_version_add(&c, d[0], 1, "build", 0, NULL), 0);
	assert_int_equal(config_version_add(&c, d[1], 2, "-w", 1, d[0]), 0);
	assert_int_equal(config_version_add(&c, d[2], 3, "-T", 1, d[1]), 0);
	/* a lower that is not an earlier version, or the version itself */
	assert_int_equal(config_version_add(&c, d[3], 4, "-w", 1, d[3]), -EINVAL);
	assert_int_equal(config_version_add(&c, d[3], 4, "-w", 1, "ffff"), -EINVAL);
	assert_int_equal(c.nversions, 3);
	/* top first, down to the whole tree */
	assert_int_equal(config_layers(&c, d[2], out, ISC_MAX_LAYERS), 3);
	assert_string_equal(out[0], d[2]);
	assert_string_equal(out[1], d[1]);
	assert_string_equal(out[2], d[0]);
	assert_int_equal(config_layers(&c, d[0], out, ISC_MAX_LAYERS), 1);
	/* a digest that is no version (a config from before versions) is one layer */
	assert_int_equal(config_layers(&c, d[3], out, ISC_MAX_LAYERS), 1);
	assert_int_equal(config_layers(&c, d[2], out, 2), -ELOOP);
	/* a flattened version on top stands alone */
	assert_int_equal(config_version_add(&c, d[3], 5, "-w", 9, ""), 0);
	assert_int_equal(config_layers(&c, d[3], out, ISC_MAX_LAYERS), 1);
	/* the lower survives a dump and a parse */
	struct isc_err e = { 0 };
	struct isc_config c2;
	config_init(&c2);
	assert_int_equal(config_parse("name=web\nimage=x\nimage-digest=" DIGEST "\nuid=" UID_OK "\n", &c2, &e), 0);
	for (size_t i = 0; i < c.nversions; i++)
		assert_int_equal(config_version_add(&c2, c.versions[i].digest, c.versions[i].made,
						    c.versions[i].how, c.versions[i].change, c.versions[i].lower), 0);
	char *text = config_dump(&c2);
	assert_non_null(strstr(text, d[1]));
	config_free(&c2);
	config_free(&c);
	config_init(&c2);
	assert_int_equal(config_parse(text, &c2, &e), 0);
	free(text);
	assert_int_equal(c2.nversions, 4);
	assert_string_equal(c2.versions[2].lower, d[1]);
	assert_int_equal(config_layers(&c2, d[2], out, ISC_MAX_LAYERS), 3);
	config_free(&c2);
}

/* ---- snapshots: chains, origins, records ---------------------------------------- */

static void test_snapshot_records(void **state)
{
	(void)state;
	struct isc_chain ch;
	char buf[64];
	assert_int_equal(config_chain_parse("3.2.1", &ch), 0);
	assert_int_equal(ch.n, 3);
	assert_int_equal(ch.id[0], 3);
	config_chain_format(&ch, buf, sizeof(buf));
	assert_string_equal(buf, "3.2.1");
	assert_int_equal(config_chain_parse("-", &ch), 0);
	assert_int_equal(ch.n, 0);
	config_chain_format(&ch, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	static const char *const bad_chains[] = { "", ".", "1.", ".1", "0", "01", "1..2", "a", "1.x",
						  "4294967296", "99999999999", "1,2", "-1" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_chains); i++)
		if (config_chain_parse(bad_chains[i], &ch) == 0)
			fail_msg("chain '%s' accepted", bad_chains[i]);
	/* at most ISC_MAX_CHAIN ids */
	char longc[512] = "1";
	for (int i = 0; i < ISC_MAX_CHAIN; i++)
		strcat(longc, ".1");
	assert_int_equal(config_chain_parse(longc, &ch), -EINVAL);

	char isc[64], snap[64];
	assert_int_equal(config_origin_split("web@good", isc, snap), 0);
	assert_string_equal(isc, "web");
	assert_string_equal(snap, "good");
	static const char *const bad_origins[] = { "web", "@good", "web@", "web@go/od", "../x@y", "a@b@c",
						   "web@.hidden" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_origins); i++)
		if (config_origin_split(bad_origins[i], isc, snap) == 0)
			fail_msg("origin '%s' accepted", bad_origins[i]);

	/* a record with snapshots, a head and a clone's origin round-trips;
	 * a snapshot twice or a bad one is refused */
	struct isc_config c;
	struct isc_err e = { 0 };
	const char *rec = "name=web\nimage=base\nimage-digest=" DIGEST2 "\nuid=1000000000\n"
			  "snapshot=created,1700000000," DIGEST2 ",known-good,1\n"
			  "snapshot=s1,1700000100," DIGEST2 ",-,2.1\nhead=2.1\nfrozen-next=3\norigin=db@base\n";
	assert_int_equal(config_parse(rec, &c, &e), 0);
	assert_int_equal(c.nsnapshots, 2);
	assert_true(c.snapshots[0].known_good);
	assert_false(c.snapshots[1].known_good);
	assert_non_null(config_snapshot(&c, "s1"));
	assert_null(config_snapshot(&c, "s2"));
	assert_true(config_frozen_used(&c, 2));
	assert_false(config_frozen_used(&c, 3));
	assert_string_equal(c.origin, "db@base");
	char *text = config_dump(&c);
	assert_non_null(strstr(text, "snapshot=s1,1700000100," DIGEST2 ",-,2.1\n"));
	assert_non_null(strstr(text, "head=2.1\nfrozen-next=3\norigin=db@base\n"));
	free(text);
	config_free(&c);
	static const char *const bad_recs[] = {
		"snapshot=s1,1," DIGEST2 ",-,1\nsnapshot=s1,2," DIGEST2 ",-,2\n",
		"snapshot=s1,1," DIGEST2 ",-\n",
		"snapshot=s1,1,nothex,-,1\n",
		"snapshot=../s,1," DIGEST2 ",-,1\n",
		"snapshot=s1,1," DIGEST2 ",-,0\n",
		"head=1..2\n",
		"origin=web\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_recs); i++) {
		struct isc_err be = { 0 };
		if (config_parse(bad_recs[i], &c, &be) == 0) {
			config_free(&c);
			fail_msg("record '%s' accepted", bad_recs[i]);
		}
	}
}

/* ---- the fuzz corpus: pass/ parses and round-trips, fail/ is refused ----------- */

static void corpus_one(const char *file, const char *text, size_t len, bool pass)
{
	struct isc_config c;
	struct isc_err e = { 0 };
	(void)len;
	int r = config_parse(text, &c, &e);
	if (pass && r < 0)
		fail_msg("corpus pass/%s refused: %s", file, e.msg);
	if (!pass && r == 0)
		fail_msg("corpus fail/%s accepted", file);
	if (pass) {
		char *d1 = config_dump(&c);
		char *d2 = dump_of(d1);
		assert_string_equal(d2, d1);
		free(d1);
		free(d2);
		config_free(&c);
	}
}

static void test_corpus(void **state)
{
	(void)state;
	assert_true(corpus_each("config", "pass", corpus_one) >= 3);
	assert_true(corpus_each("config", "fail", corpus_one) >= 3);
}

int main(void)
{
	enum { NCASES = ARRAY_SIZE(bad_configs) + ARRAY_SIZE(bad_volumes) + ARRAY_SIZE(good_values) +
			ARRAY_SIZE(bad_values) };
	struct CMUnitTest tests[40 + NCASES];
	static char names[NCASES][96];
	size_t n = 0, k = 0;
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_canonical_roundtrip);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_noncanonical_input);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_defaults);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_uid_range_edges);
	for (size_t i = 0; i < ARRAY_SIZE(bad_configs); i++, k++) {
		snprintf(names[k], sizeof(names[k]), "parse_rejects (%s)", bad_configs[i].why);
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_parse_rejects, (void *)&bad_configs[i]);
		tests[n++].name = names[k];
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_parse_line_length);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_parse_failure_frees);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_set_profile);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_set_tmp_size);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_set_scratch_size);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_set_memory);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_encryption_root);
	for (size_t i = 0; i < ARRAY_SIZE(good_values); i++, k++) {
		snprintf(names[k], sizeof(names[k]), "value_accepted (%s=%s)", good_values[i].key,
			 good_values[i].value);
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_value_accepted, (void *)&good_values[i]);
		tests[n++].name = names[k];
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_values); i++, k++) {
		snprintf(names[k], sizeof(names[k]), "value_refused (%s=%s)", bad_values[i].key,
			 bad_values[i].value);
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_value_refused, (void *)&bad_values[i]);
		tests[n++].name = names[k];
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_limitpriv_length);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_cpu_milli);
	for (size_t i = 0; i < ARRAY_SIZE(bad_volumes); i++, k++) {
		snprintf(names[k], sizeof(names[k]), "set_volume_rejects (%s)", bad_volumes[i].v);
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_set_volume_rejects, (void *)&bad_volumes[i]);
		tests[n++].name = names[k];
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_set_volume_accepts);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_set_volume_duplicate_and_limit);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_set_read_only_and_malformed);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_get);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_every_property);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_change_unknown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_help);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_limitpriv_accepts);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_limitpriv_rejects);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_pool_save_load, pool_setup, pool_teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_pool_names, pool_setup, pool_teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(test_pool_errors, pool_setup, pool_teardown);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_layers);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_corpus);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_snapshot_records);
	return _cmocka_run_group_tests("config", tests, n, NULL, NULL);
}
