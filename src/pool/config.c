/* config.c - ISC configuration text: a property table drives parse, dump, get, set and help; iscadm, iscd. */
#include "config.h"

#include <inttypes.h>
#include <sys/capability.h>

static const char *const profiles[] = {
	[PROFILE_STRICT] = "strict",
	[PROFILE_FIXED] = "fixed-configuration",
	[PROFILE_FLEXIBLE] = "flexible-configuration",
	[PROFILE_NONE] = "none",
};

/* What each profile makes writable, volatile or read-again (DESIGN.md §4),
 * in mount order: a read-only path lies below the layer it re-protects. */
#define TMP(p, m) { PP_TMPFS, p, NULL, m }
#define LAYER(p, l) { PP_LAYER, p, l, 0 }
#define RO(p) { PP_IMAGE_RO, p, NULL, 0 }
/* Package and service state stays the image's, read-only, under /var. */
#define FIXED_VAR LAYER("/var", "var"), RO("/var/lib/dpkg"), RO("/var/lib/apt"), \
	RO("/var/cache/apt"), RO("/var/cache/debconf"), RO("/var/lib/isc")

static const struct profile_path paths_strict[] = {
	TMP("/tmp", 01777), TMP("/var/tmp", 01777), TMP("/run", 0755), { PP_END },
};
static const struct profile_path paths_fixed[] = {
	FIXED_VAR, TMP("/tmp", 01777), TMP("/run", 0755), { PP_END },
};
static const struct profile_path paths_flexible[] = {
	FIXED_VAR, LAYER("/etc", "etc"), RO("/etc/isc"), LAYER("/root", "root-home"),
	LAYER("/home", "home"), TMP("/tmp", 01777), TMP("/run", 0755), { PP_END },
};
/* none: the whole root is the ISC's own layer (rootw), made by the sandbox */
static const struct profile_path paths_none[] = {
	TMP("/tmp", 01777), TMP("/run", 0755), { PP_END },
};

const struct profile_path *profile_paths(enum isc_profile p)
{
	switch (p) {
	case PROFILE_STRICT: return paths_strict;
	case PROFILE_FIXED: return paths_fixed;
	case PROFILE_FLEXIBLE: return paths_flexible;
	case PROFILE_NONE: return paths_none;
	}
	return paths_strict;
}

void volume_dir_name(const char *volume, char *out, size_t n)
{
	/* one directory per volume, named reversibly: / -> %2F, % -> %25 */
	size_t j = 0;
	for (const char *v = volume + 1; *v && j + 4 < n; v++) {
		if (*v == '/' || *v == '%')
			j += (size_t)snprintf(out + j, n - j, "%%%02X", *v);
		else
			out[j++] = *v;
	}
	out[j] = '\0';
}

const char *profile_name(enum isc_profile p)
{
	return (unsigned)p < ARRAY_SIZE(profiles) ? profiles[p] : "?";
}

int profile_from_name(const char *s, enum isc_profile *p)
{
	for (size_t i = 0; i < ARRAY_SIZE(profiles); i++)
		if (STREQ(s, profiles[i])) {
			*p = (enum isc_profile)i;
			return 0;
		}
	return -EINVAL;
}

void config_init(struct isc_config *c)
{
	memset(c, 0, sizeof(*c));
	c->profile = PROFILE_FIXED;
	c->tmp_size = 64ULL << 20;
	c->scratch_size = 64ULL << 20;
	c->session_size = 2ULL << 30;
	c->memory = 1ULL << 30;
	/* enough for a normal service, a wall for a fork bomb */
	c->pids = 1024;
	c->cpu_weight = 100;
	snprintf(c->limitpriv, sizeof(c->limitpriv), "default");
	c->mdwe = c->seccomp = c->landlock = true;
	c->on_violation = TAMPER_ALERT;
	c->violation_count = 100;
	c->violation_window = 60;
	c->crash_limit = 5;
}

void config_free(struct isc_config *c)
{
	for (size_t i = 0; c->volumes[i]; i++)
		free(c->volumes[i]);
	memset(c->volumes, 0, sizeof(c->volumes));
}

/* ---- limitpriv ------------------------------------------------------------ */

int config_limitpriv(const char *spec, uint64_t dflt, uint64_t *caps, struct isc_err *e)
{
	uint64_t set = dflt;
	_cleanup_free_ char *copy = strdup(spec);
	if (!copy)
		return err_set(e, ENOMEM, "limitpriv");
	if (!*spec)
		return err_set(e, EINVAL, "limitpriv: empty (use default, none, +cap, -cap)");
	char *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (STREQ(item, "default")) {
			set = dflt;
			continue;
		}
		if (STREQ(item, "none")) {
			set = 0;
			continue;
		}
		char sign = *item == '-' || *item == '+' ? *item++ : '+';
		char name[64];
		cap_value_t v;
		snprintf(name, sizeof(name), "cap_%s", item);
		/* libcap knows the names; upper case or a cap_ prefix is not ours */
		for (const char *s = item; *s; s++)
			if (!(*s >= 'a' && *s <= 'z') && *s != '_')
				return err_set(e, EINVAL, "limitpriv: bad capability name '%s'", item);
		if (!*item || cap_from_name(name, &v) < 0 || v < 0 || v > 63)
			return err_set(e, EINVAL, "limitpriv: unknown capability '%s'", item);
		if (sign == '+')
			set |= 1ULL << v;
		else
			set &= ~(1ULL << v);
	}
	if (spec[strlen(spec) - 1] == ',' || strstr(spec, ",,") || spec[0] == ',')
		return err_set(e, EINVAL, "limitpriv '%s': empty item", spec);
	*caps = set;
	return 0;
}

/* ---- the property table ------------------------------------------------------ */

/* Who may set a property; in this order, each may set what those before it may. */
enum prop_access {
	PROP_OPERATOR,  /* create --set, run --set, and set on an existing ISC */
	PROP_CREATE,    /* create --set and run --set only: fixed once the ISC exists */
	PROP_INTERNAL,  /* iscadm's own record (name, uid, versions): read-only to an operator */
};

struct prop {
	const char *name;
	enum prop_access access;
	int (*parse)(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e);
	/* The value as get shows it; for a list, its items comma-separated. */
	void (*format)(const struct isc_config *c, const struct prop *p, char *buf, size_t n);
	/* A list writes one line an item to the dump; NULL: "name=format\n". */
	void (*dump)(FILE *f, const struct isc_config *c);
	/* The field, for the kinds shared by several properties. */
	size_t off, width;
	uint64_t min, max;      /* a number's or a size's bounds */
	bool none;              /* "none" stands for 0 */
	const char *expect;     /* what a refusal says was expected */
	const char *arg, *doc;  /* help: "name=ARG  doc" */
};

#define FIELD(f) .off = offsetof(struct isc_config, f), .width = sizeof(((struct isc_config *)0)->f)

static void *field(struct isc_config *c, const struct prop *p)
{
	return (char *)c + p->off;
}

static const void *field_of(const struct isc_config *c, const struct prop *p)
{
	return (const char *)c + p->off;
}

/* Unsigned fields are 32 or 64 bits wide. */
static uint64_t uint_load(const struct isc_config *c, const struct prop *p)
{
	uint32_t v32;
	uint64_t v64;
	if (p->width == sizeof(v32)) {
		memcpy(&v32, field_of(c, p), sizeof(v32));
		return v32;
	}
	memcpy(&v64, field_of(c, p), sizeof(v64));
	return v64;
}

static void uint_store(struct isc_config *c, const struct prop *p, uint64_t n)
{
	uint32_t v32 = (uint32_t)n;
	if (p->width == sizeof(v32))
		memcpy(field(c, p), &v32, sizeof(v32));
	else
		memcpy(field(c, p), &n, sizeof(n));
}

static int refuse(const struct prop *p, const char *v, struct isc_err *e)
{
	return err_set(e, EINVAL, "%s '%s': expected %s", p->name, v, p->expect);
}

/* Decimal digits only (strtoull would also take blanks and a sign), at most max. */
static bool digits_parse(const char *v, uint64_t max, uint64_t *n)
{
	if (!*v || strspn(v, "0123456789") != strlen(v))
		return false;
	errno = 0;
	*n = strtoull(v, NULL, 10);
	return errno == 0 && *n <= max;
}

/* A lowercase sha256 in hex. */
static bool digest_valid(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int parse_size_prop(struct isc_config *c, const struct prop *p, const char *v,
			struct isc_err *e)
{
	uint64_t s;
	if (p->none && STREQ(v, "none"))
		s = 0;
	else if (parse_size(v, &s) < 0 || s < p->min || s > p->max)
		return refuse(p, v, e);
	uint_store(c, p, s);
	return 0;
}

static int parse_count(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	uint64_t n;
	if (!digits_parse(v, p->max, &n) || n < p->min)
		return refuse(p, v, e);
	uint_store(c, p, n);
	return 0;
}

static void format_uint(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	uint64_t v = uint_load(c, p);
	if (p->none && !v)
		snprintf(buf, n, "none");
	else
		snprintf(buf, n, "%" PRIu64, v);
}

/* A switch: its two words are the prop's arg, "on|off" or "true|false". */
static size_t bool_word(const struct prop *p, bool v, const char **w)
{
	size_t k = strcspn(p->arg, "|");
	*w = v ? p->arg : p->arg + k + 1;
	return v ? k : strlen(*w);
}

static int parse_bool(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	const char *t, *f;
	size_t kt = bool_word(p, true, &t), kf = bool_word(p, false, &f);
	bool on = strlen(v) == kt && !strncmp(v, t, kt);
	if (!on && !(strlen(v) == kf && !strncmp(v, f, kf)))
		return refuse(p, v, e);
	*(bool *)field(c, p) = on;
	return 0;
}

static void format_bool(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	const char *w;
	size_t k = bool_word(p, *(const bool *)field_of(c, p), &w);
	snprintf(buf, n, "%.*s", (int)k, w);
}

static void format_text(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s", (const char *)field_of(c, p));
}

static int parse_name(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	if (!name_valid(v))
		return err_set(e, EINVAL, "%s '%s': invalid name", p->name, v);
	str_copy(field(c, p), p->width, v);
	return 0;
}

static int parse_digest(struct isc_config *c, const struct prop *p, const char *v,
			struct isc_err *e)
{
	if (!digest_valid(v))
		return err_set(e, EINVAL, "%s: not a sha256", p->name);
	str_copy(field(c, p), p->width, v);
	return 0;
}

static int parse_profile(struct isc_config *c, const struct prop *p, const char *v,
			struct isc_err *e)
{
	if (profile_from_name(v, &c->profile) < 0)
		return err_set(e, EINVAL, "unknown profile '%s' (strict, fixed-configuration, "
			       "flexible-configuration, none)", v);
	return 0;
}

static void format_profile(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s", profile_name(c->profile));
}

const char *isc_layer_name(unsigned layer)
{
	switch (layer) {
	case ISC_LAYER_MDWE: return "mdwe";
	case ISC_LAYER_LANDLOCK: return "landlock";
	default: return "?";
	}
}

int isc_require_parse(const char *v, unsigned *out)
{
	unsigned set = 0;
	if (STREQ(v, "none")) {
		*out = 0;
		return 0;
	}
	const char *item = v;
	for (;;) {
		size_t n = strcspn(item, ",");
		unsigned found = 0;
		for (unsigned l = 1; l & ISC_LAYERS_ALL; l <<= 1)
			if (strlen(isc_layer_name(l)) == n && strncmp(item, isc_layer_name(l), n) == 0)
				found = l;
		if (!found)   /* an empty item too: "", "mdwe,", ",mdwe" */
			return -EINVAL;
		set |= found;
		if (!item[n])
			break;
		item += n + 1;
	}
	*out = set;
	return 0;
}

void isc_require_format(unsigned set, char *buf, size_t n)
{
	size_t at = 0;
	buf[0] = '\0';
	for (unsigned l = 1; l & ISC_LAYERS_ALL; l <<= 1)
		if (set & l)
			at += (size_t)snprintf(buf + at, at < n ? n - at : 0, "%s%s", at ? "," : "",
					       isc_layer_name(l));
	if (!at)
		snprintf(buf, n, "none");
}

static int parse_require(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	return isc_require_parse(v, &c->require) < 0 ? refuse(p, v, e) : 0;
}

/* An absolute, normalised path of a public key file, or none. */
static int parse_keyfile(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	char *f = field(c, p);
	if (STREQ(v, "none")) {
		f[0] = '\0';
		return 0;
	}
	size_t len = strlen(v);
	if (v[0] != '/' || len >= p->width || strstr(v, "/../") || strstr(v, "//") || v[len - 1] == '/')
		return refuse(p, v, e);
	for (const char *s = v; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return refuse(p, v, e);
	memcpy(f, v, len + 1);
	return 0;
}

static void format_keyfile(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	const char *f = field_of(c, p);
	snprintf(buf, n, "%s", f[0] ? f : "none");
}

/* Only when set, so that records from before it dump as they did. */
static void dump_keyfile(FILE *f, const struct isc_config *c)
{
	if (c->require_signature[0])
		fprintf(f, "require-signature=%s\n", c->require_signature);
}

static void format_require(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	isc_require_format(c->require, buf, n);
}

/* Written only when set: records from before require= read the same. */
static void dump_require(FILE *f, const struct isc_config *c)
{
	char v[64];
	if (c->require) {
		format_require(c, NULL, v, sizeof(v));
		fprintf(f, "require=%s\n", v);
	}
}

static int parse_uid(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	uint64_t n;
	if (!digits_parse(v, INT64_MAX, &n))
		return err_set(e, EINVAL, "%s '%s': not a number", p->name, v);
	if (n < ISC_UID_FIRST || n > UINT32_MAX - ISC_UID_COUNT || (n - ISC_UID_FIRST) % ISC_UID_COUNT)
		return err_set(e, EINVAL, "uid %" PRIu64 ": outside the ISC range", n);
	c->uid = (uint32_t)n;
	return 0;
}

static int parse_created(struct isc_config *c, const struct prop *p, const char *v,
			struct isc_err *e)
{
	uint64_t n;
	if (!digits_parse(v, INT64_MAX, &n))
		return err_set(e, EINVAL, "%s '%s': not a number", p->name, v);
	c->created = (int64_t)n;
	return 0;
}

static void format_created(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	snprintf(buf, n, "%" PRId64, c->created);
}

static int parse_key_root(struct isc_config *c, const struct prop *p, const char *v,
			struct isc_err *e)
{
	if (!name_valid(v) && !STREQ(v, ISC_KEY_EPHEMERAL))
		return err_set(e, EINVAL, "%s '%s': invalid name", p->name, v);
	str_copy(c->encryption_root, sizeof(c->encryption_root), v);
	return 0;
}

static void format_key_root(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s", config_key_root(c));
}

/* "none", or CPUs as a decimal with up to three places: 0.5, 2, 1.25 */
static int parse_cpu(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	unsigned whole = 0, frac = 0, digits = 0;
	const char *s = v;
	if (STREQ(v, "none")) {
		c->cpu_milli = 0;
		return 0;
	}
	for (; *s >= '0' && *s <= '9' && whole < 100000; s++)
		whole = whole * 10 + (unsigned)(*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9' && digits < 3; s++, digits++)
			frac = frac * 10 + (unsigned)(*s - '0');
	while (digits && digits < 3) {
		frac *= 10;
		digits++;
	}
	uint64_t milli = (uint64_t)whole * 1000 + frac;
	if (*s || s == v || !(v[0] >= '0' && v[0] <= '9') || milli < p->min || milli > p->max)
		return refuse(p, v, e);
	c->cpu_milli = (uint32_t)milli;
	return 0;
}

static void format_cpu(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	if (!c->cpu_milli) {
		snprintf(buf, n, "none");
		return;
	}
	int m = snprintf(buf, n, "%u.%03u", c->cpu_milli / 1000, c->cpu_milli % 1000);
	while (m > 0 && (size_t)m < n && buf[m - 1] == '0')
		buf[--m] = '\0';   /* canonical: 0.5, 2.25 ... */
	if (m > 0 && buf[m - 1] == '.')
		buf[--m] = '\0';
}

static int parse_limitpriv(struct isc_config *c, const struct prop *p, const char *v,
			struct isc_err *e)
{
	uint64_t caps;
	if (strlen(v) >= sizeof(c->limitpriv))
		return err_set(e, EINVAL, "limitpriv: too long");
	/* kept as written; only its syntax and names matter here, not the default set */
	int r = config_limitpriv(v, 0, &caps, e);
	if (r < 0)
		return r;
	str_copy(c->limitpriv, sizeof(c->limitpriv), v);
	return 0;
}

/* A volume is an absolute, normalised path that is not a system directory
 * the profile controls. */
static int volume_check(const char *v, struct isc_err *e)
{
	size_t len = strlen(v);
	if (v[0] != '/' || v[1] == '\0' || len > 255)
		return err_set(e, EINVAL, "volume '%s': must be an absolute path below /", v);
	if (strstr(v, "//") || strstr(v, "/./") || strstr(v, "/../") || v[len - 1] == '/' ||
	    (len >= 3 && STREQ(v + len - 3, "/..")) || (len >= 2 && STREQ(v + len - 2, "/.")))
		return err_set(e, EINVAL, "volume '%s': path must be normalised", v);
	for (const char *s = v; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == ',' || *s == ':' || *s == 0x7f)
			return err_set(e, EINVAL, "volume '%s': unsupported character", v);
	/* Volumes are mounted after the profile: one at or below these would
	 * make writable what the image or the profile keeps read-only (binaries,
	 * /etc/isc, package state) or shadow a kernel or runtime file system.
	 * Below /var itself (/var/lib/postgresql) is what volumes are for. */
	static const char *const sys[] = { "/proc", "/sys", "/dev", "/run", "/tmp", "/etc", "/bin",
		"/sbin", "/usr", "/lib", "/lib64", "/var/lib/dpkg", "/var/lib/apt", "/var/cache/apt",
		"/var/cache/debconf", "/var/lib/isc" };
	for (size_t i = 0; i < ARRAY_SIZE(sys); i++) {
		size_t n = strlen(sys[i]);
		if (strncmp(v, sys[i], n) == 0 && (v[n] == '\0' || v[n] == '/'))
			return err_set(e, EINVAL, "volume '%s': cannot replace a system directory", v);
	}
	if (STREQ(v, "/var"))
		return err_set(e, EINVAL, "volume '%s': cannot replace a system directory", v);
	return 0;
}

/* Each volume= adds one. */
static int parse_volume(struct isc_config *c, const struct prop *p, const char *v,
			struct isc_err *e)
{
	int r = volume_check(v, e);
	if (r < 0)
		return r;
	size_t n = 0;
	for (; c->volumes[n]; n++)
		if (STREQ(c->volumes[n], v))
			return err_set(e, EEXIST, "volume %s already configured", v);
	if (n >= ISC_MAX_VOLUMES)
		return err_set(e, E2BIG, "at most %d volumes", ISC_MAX_VOLUMES);
	if (!(c->volumes[n] = strdup(v)))
		return err_set(e, ENOMEM, "volume");
	return 0;
}

static void format_volume(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	size_t off = 0;
	for (size_t i = 0; c->volumes[i] && off < n; i++)
		off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? "," : "", c->volumes[i]);
}

static void dump_volume(FILE *f, const struct isc_config *c)
{
	for (size_t i = 0; c->volumes[i]; i++)
		fprintf(f, "volume=%s\n", c->volumes[i]);
}

/* DIGEST,MADE,HOW,CHANGE[,LOWER]: lowercase sha256, two decimals, a known
 * how, and the earlier version it is a delta on.  Each version= adds one. */
static int parse_version(struct isc_config *c, const struct prop *p, const char *v,
			struct isc_err *e)
{
	char buf[200], *f[5], *save = NULL;
	size_t nf = 0;
	if (strlen(v) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *t = strtok_r(buf, ",", &save); t && nf < 5; t = strtok_r(NULL, ",", &save))
		f[nf++] = t;
	if (nf < 4 || strtok_r(NULL, ",", &save) || strstr(v, ",,") || v[strlen(v) - 1] == ',' ||
	    !digest_valid(f[0]) || (nf == 5 && !digest_valid(f[4])) ||
	    !f[1][0] || strspn(f[1], "0123456789") != strlen(f[1]) || strlen(f[1]) > 18 ||
	    !f[3][0] || strspn(f[3], "0123456789") != strlen(f[3]) || strlen(f[3]) > 19 ||
	    !(STREQ(f[2], "build") || STREQ(f[2], "-w") || STREQ(f[2], "-W") || STREQ(f[2], "-T") ||
	      STREQ(f[2], "update")))
		goto bad;
	int r = config_version_add(c, f[0], strtoll(f[1], NULL, 10), f[2], strtoull(f[3], NULL, 10),
				   nf == 5 ? f[4] : NULL);
	if (r == -EINVAL)
		return err_set(e, EINVAL, "version %.12s: its lower is not an earlier version, "
			       "or not the lower it had before", f[0]);
	return r < 0 ? err_set(e, -r, "at most %d versions", ISC_MAX_VERSIONS) : 0;
bad:
	return err_set(e, EINVAL, "version '%.200s': expected DIGEST,TIME,HOW,BYTES[,LOWER]", v);
}

static void format_version(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	size_t off = 0;
	for (size_t i = 0; i < c->nversions && off < n; i++)
		off += (size_t)snprintf(buf + off, n - off, "%s%.12s", i ? "," : "", c->versions[i].digest);
}

static void dump_version(FILE *f, const struct isc_config *c)
{
	for (size_t i = 0; i < c->nversions; i++) {
		const struct isc_version *v = &c->versions[i];
		fprintf(f, "version=%s,%" PRId64 ",%s,%" PRIu64 "%s%s\n", v->digest, v->made, v->how,
			v->change, v->lower[0] ? "," : "", v->lower);
	}
}

/* ---- networking ------------------------------------------------------------ */

static int parse_net(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	return net_mode_parse(v, &c->net) < 0 ? refuse(p, v, e) : 0;
}

static void format_net(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s", net_mode_name(c->net));
}

/* Written only when set: records from before networking read the same. */
static void dump_net(FILE *f, const struct isc_config *c)
{
	if (c->net != NET_NONE)
		fprintf(f, "net=%s\n", net_mode_name(c->net));
}

/* ---- the dock's monitor ---------------------------------------------------- */

static const char *const tamper_names[TAMPER_COUNT] = {
	[TAMPER_QUARANTINE] = "quarantine", [TAMPER_ALERT] = "alert",
	[TAMPER_HALT] = "halt", [TAMPER_ROLLBACK] = "rollback", [TAMPER_DESTROY] = "destroy",
};

const char *isc_on_tamper_name(enum isc_on_tamper t)
{
	return (unsigned)t < TAMPER_COUNT ? tamper_names[t] : "?";
}

static int parse_policy(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	for (unsigned i = 0; i < TAMPER_COUNT; i++)
		if (STREQ(v, tamper_names[i])) {
			*(enum isc_on_tamper *)field(c, p) = (enum isc_on_tamper)i;
			return 0;
		}
	return refuse(p, v, e);
}

static void format_policy(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s", isc_on_tamper_name(*(const enum isc_on_tamper *)field_of(c, p)));
}

/* All written only when set: records from before the monitor read the same. */
static void dump_on_tamper(FILE *f, const struct isc_config *c)
{
	if (c->on_tamper != TAMPER_QUARANTINE)
		fprintf(f, "on-tamper=%s\n", isc_on_tamper_name(c->on_tamper));
}

static void dump_on_violation(FILE *f, const struct isc_config *c)
{
	if (c->on_violation != TAMPER_ALERT)
		fprintf(f, "on-violation=%s\n", isc_on_tamper_name(c->on_violation));
}

static const char *const crash_names[] = {
	[CRASH_ALERT] = "alert", [CRASH_RESTART] = "restart", [CRASH_HALT] = "halt",
};

const char *isc_on_crash_name(enum isc_on_crash c)
{
	return (unsigned)c < ARRAY_SIZE(crash_names) ? crash_names[c] : "?";
}

static int parse_on_crash(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	for (unsigned i = 0; i < ARRAY_SIZE(crash_names); i++)
		if (STREQ(v, crash_names[i])) {
			*(enum isc_on_crash *)field(c, p) = (enum isc_on_crash)i;
			return 0;
		}
	return refuse(p, v, e);
}

static void format_on_crash(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s", isc_on_crash_name(*(const enum isc_on_crash *)field_of(c, p)));
}

static void dump_on_pressure(FILE *f, const struct isc_config *c)
{
	if (c->on_pressure != CRASH_ALERT)
		fprintf(f, "on-pressure=%s\n", isc_on_crash_name(c->on_pressure));
}

/* off, or PERCENT/SECONDS: PERCENT 1 to 100, SECONDS 1 to 10 (the kernel's
 * PSI trigger windows are 0.5 to 10 s) */
static int parse_pressure(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	char num[16];
	const char *slash = strchr(v, '/');
	uint64_t pct, s;
	if (STREQ(v, "off")) {
		c->pressure_pct = c->pressure_window = 0;
		return 0;
	}
	if (!slash || (size_t)(slash - v) >= sizeof(num))
		return refuse(p, v, e);
	snprintf(num, sizeof(num), "%.*s", (int)(slash - v), v);
	if (!digits_parse(num, 100, &pct) || pct < 1 || !digits_parse(slash + 1, 10, &s) || s < 1)
		return refuse(p, v, e);
	c->pressure_pct = (uint32_t)pct;
	c->pressure_window = (uint32_t)s;
	return 0;
}

static void format_pressure(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	if (c->pressure_pct)
		snprintf(buf, n, "%" PRIu32 "/%" PRIu32, c->pressure_pct, c->pressure_window);
	else
		snprintf(buf, n, "off");
}

static void dump_pressure(FILE *f, const struct isc_config *c)
{
	if (c->pressure_pct)
		fprintf(f, "pressure-threshold=%" PRIu32 "/%" PRIu32 "\n", c->pressure_pct, c->pressure_window);
}

static void dump_on_crash(FILE *f, const struct isc_config *c)
{
	if (c->on_crash != CRASH_ALERT)
		fprintf(f, "on-crash=%s\n", isc_on_crash_name(c->on_crash));
}

static void dump_crash_limit(FILE *f, const struct isc_config *c)
{
	if (c->crash_limit != 5)
		fprintf(f, "crash-limit=%" PRIu32 "\n", c->crash_limit);
}

/* N/SECONDS: N denials (1 to ISC_VIOLATION_MAX) within SECONDS (1 to 86400) */
static int parse_threshold(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	char num[16];
	const char *slash = strchr(v, '/');
	uint64_t n, s;
	if (!slash || (size_t)(slash - v) >= sizeof(num))
		return refuse(p, v, e);
	snprintf(num, sizeof(num), "%.*s", (int)(slash - v), v);
	if (!digits_parse(num, ISC_VIOLATION_MAX, &n) || n < 1 || !digits_parse(slash + 1, 86400, &s) || s < 1)
		return refuse(p, v, e);
	c->violation_count = (uint32_t)n;
	c->violation_window = (uint32_t)s;
	return 0;
}

static void format_threshold(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	snprintf(buf, n, "%" PRIu32 "/%" PRIu32, c->violation_count, c->violation_window);
}

static void dump_threshold(FILE *f, const struct isc_config *c)
{
	if (c->violation_count != 100 || c->violation_window != 60)
		fprintf(f, "violation-threshold=%" PRIu32 "/%" PRIu32 "\n", c->violation_count, c->violation_window);
}

static void dump_autoboot(FILE *f, const struct isc_config *c)
{
	if (c->autoboot)
		fputs("autoboot=true\n", f);
}

static int parse_interval(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	uint64_t n = 0;
	if (!STREQ(v, "off") && (!digits_parse(v, p->max, &n) || (n && n < p->min)))
		return refuse(p, v, e);
	c->verify_interval = (uint32_t)n;
	return 0;
}

static void format_interval(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	if (c->verify_interval)
		snprintf(buf, n, "%" PRIu32, c->verify_interval);
	else
		snprintf(buf, n, "off");
}

static void dump_interval(FILE *f, const struct isc_config *c)
{
	if (c->verify_interval)
		fprintf(f, "verify-interval=%" PRIu32 "\n", c->verify_interval);
}

static int parse_egress(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	struct net_egress g;
	int r = net_egress_parse(v, &g, e);
	if (r < 0)
		return err_prefix(e, "%s", p->name);
	memcpy(field(c, p), &g, sizeof(g));
	return 0;
}

static void format_egress(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	net_egress_format(field_of(c, p), buf, n);
}

static void dump_egress_of(FILE *f, const char *name, const struct net_egress *g)
{
	char v[2048];
	if (g->kind == EGRESS_DENY)
		return;
	net_egress_format(g, v, sizeof(v));
	fprintf(f, "%s=%s\n", name, v);
}

static void dump_egress(FILE *f, const struct isc_config *c)
{
	dump_egress_of(f, "egress", &c->egress);
}

static void dump_maint_egress(FILE *f, const struct isc_config *c)
{
	dump_egress_of(f, "maintenance-egress", &c->maintenance_egress);
}

int config_expose_add(struct isc_config *c, const struct net_expose *x, struct isc_err *e)
{
	char t[64];
	net_expose_format(x, t, sizeof(t));
	for (size_t i = 0; i < c->nexpose; i++)
		if (c->expose[i].proto == x->proto && c->expose[i].host_port == x->host_port)
			return err_set(e, EEXIST, "ISC %s: host port %s:%u already exposed", c->name,
				       net_proto_name(x->proto), x->host_port);
	if (c->nexpose >= NET_MAX_EXPOSE)
		return err_set(e, E2BIG, "ISC %s: at most %d exposures", c->name, NET_MAX_EXPOSE);
	c->expose[c->nexpose++] = *x;
	return 0;
}

int config_expose_remove(struct isc_config *c, const struct net_expose *x, struct isc_err *e)
{
	for (size_t i = 0; i < c->nexpose; i++)
		if (c->expose[i].proto == x->proto && c->expose[i].host_port == x->host_port &&
		    c->expose[i].port == x->port) {
			memmove(&c->expose[i], &c->expose[i + 1], (c->nexpose - i - 1) * sizeof(*x));
			c->nexpose--;
			return 0;
		}
	return err_set(e, ENOENT, "ISC %s: %s:%u:%u is not exposed", c->name, net_proto_name(x->proto),
		       x->host_port, x->port);
}

/* Each expose= adds one (iscadm expose writes them; set cannot). */
static int parse_expose(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	struct net_expose x;
	int r = net_expose_parse(v, &x, e);
	return r < 0 ? r : config_expose_add(c, &x, e);
}

static void format_expose(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < c->nexpose && off < n; i++) {
		char x[64];
		net_expose_format(&c->expose[i], x, sizeof(x));
		off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? "," : "", x);
	}
}

static void dump_expose(FILE *f, const struct isc_config *c)
{
	for (size_t i = 0; i < c->nexpose; i++) {
		char x[64];
		net_expose_format(&c->expose[i], x, sizeof(x));
		fprintf(f, "expose=%s\n", x);
	}
}

/* ---- snapshots ---------------------------------------------------------------- */

int config_chain_parse(const char *v, struct isc_chain *ch)
{
	*ch = (struct isc_chain){ 0 };
	if (STREQ(v, "-"))
		return 0;
	const char *s = v;
	while (*s) {
		uint64_t id = 0;
		size_t k = 0;
		for (; s[k] >= '0' && s[k] <= '9' && k < 10; k++)
			id = id * 10 + (uint64_t)(s[k] - '0');
		if (k == 0 || (k > 1 && s[0] == '0') || id == 0 || id > UINT32_MAX || ch->n >= ISC_MAX_CHAIN ||
		    (s[k] != '.' && s[k] != '\0') || (s[k] == '.' && s[k + 1] == '\0'))
			return -EINVAL;
		ch->id[ch->n++] = (uint32_t)id;
		s += k + (s[k] == '.');
	}
	return ch->n ? 0 : -EINVAL;
}

void config_chain_format(const struct isc_chain *ch, char *buf, size_t n)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ch->n && off < n; i++)
		off += (size_t)snprintf(buf + off, n - off, "%s%u", i ? "." : "", ch->id[i]);
	if (!ch->n)
		snprintf(buf, n, "-");
}

struct isc_snapshot *config_snapshot(struct isc_config *c, const char *name)
{
	for (size_t i = 0; i < c->nsnapshots; i++)
		if (STREQ(c->snapshots[i].name, name))
			return &c->snapshots[i];
	return NULL;
}

static bool chain_has(const struct isc_chain *ch, uint32_t id)
{
	for (size_t i = 0; i < ch->n; i++)
		if (ch->id[i] == id)
			return true;
	return false;
}

bool config_frozen_used(const struct isc_config *c, uint32_t id)
{
	for (size_t i = 0; i < c->nsnapshots; i++)
		if (chain_has(&c->snapshots[i].chain, id))
			return true;
	return chain_has(&c->head, id);
}

/* NAME,MADE,DIGEST,FLAGS,CHAIN; each snapshot= adds one */
static int parse_snapshot(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	char buf[512], *f[6], *save = NULL;
	size_t nf = 0;
	if (strlen(v) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *t = strtok_r(buf, ",", &save); t && nf < 6; t = strtok_r(NULL, ",", &save))
		f[nf++] = t;
	if (nf != 5 || strstr(v, ",,") || !name_valid(f[0]) || !digest_valid(f[2]) ||
	    !f[1][0] || strspn(f[1], "0123456789") != strlen(f[1]) || strlen(f[1]) > 18 ||
	    !(STREQ(f[3], "-") || STREQ(f[3], "known-good")))
		goto bad;
	if (c->nsnapshots >= ISC_MAX_SNAPSHOTS)
		return err_set(e, E2BIG, "at most %d snapshots", ISC_MAX_SNAPSHOTS);
	if (config_snapshot(c, f[0]))
		return err_set(e, EEXIST, "snapshot %s twice", f[0]);
	struct isc_snapshot *s = &c->snapshots[c->nsnapshots];
	*s = (struct isc_snapshot){ .made = strtoll(f[1], NULL, 10), .known_good = STREQ(f[3], "known-good") };
	if (config_chain_parse(f[4], &s->chain) < 0)
		goto bad;
	str_copy(s->name, sizeof(s->name), f[0]);
	memcpy(s->digest, f[2], sizeof(s->digest));
	c->nsnapshots++;
	return 0;
bad:
	return err_set(e, EINVAL, "snapshot '%.200s': expected NAME,TIME,DIGEST,known-good|-,CHAIN", v);
}

static void format_snapshot(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < c->nsnapshots && off < n; i++)
		off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? "," : "", c->snapshots[i].name);
}

static void dump_snapshot(FILE *f, const struct isc_config *c)
{
	for (size_t i = 0; i < c->nsnapshots; i++) {
		const struct isc_snapshot *s = &c->snapshots[i];
		char ch[ISC_MAX_CHAIN * 11 + 2];
		config_chain_format(&s->chain, ch, sizeof(ch));
		fprintf(f, "snapshot=%s,%" PRId64 ",%s,%s,%s\n", s->name, s->made, s->digest,
			s->known_good ? "known-good" : "-", ch);
	}
}

static int parse_head(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	return config_chain_parse(v, &c->head) < 0 ? err_set(e, EINVAL, "head '%.100s': expected ID.ID...", v) : 0;
}

static void format_head(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	config_chain_format(&c->head, buf, n);
}

/* ORIGIN@SNAP: a clone stands on that snapshot's frozen layers */
static int parse_origin(struct isc_config *c, const struct prop *p, const char *v, struct isc_err *e)
{
	char isc[64], snap[64];
	if (config_origin_split(v, isc, snap) < 0)
		return err_set(e, EINVAL, "origin '%.150s': expected ISC@SNAPSHOT", v);
	str_copy(c->origin, sizeof(c->origin), v);
	return 0;
}

static void format_origin(const struct isc_config *c, const struct prop *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s", c->origin[0] ? c->origin : "-");
}

static void dump_origin(FILE *f, const struct isc_config *c)
{
	if (c->origin[0])
		fprintf(f, "origin=%s\n", c->origin);
}

int config_origin_split(const char *v, char isc[64], char snap[64])
{
	const char *at = strchr(v, '@');
	if (!at || at - v >= 64 || strlen(at + 1) >= 64)
		return -EINVAL;
	memcpy(isc, v, (size_t)(at - v));
	isc[at - v] = '\0';
	strcpy(snap, at + 1);
	return name_valid(isc) && name_valid(snap) ? 0 : -EINVAL;
}

/* head= and frozen-next= only once there are frozen layers: older records dump as before */
static void dump_head(FILE *f, const struct isc_config *c)
{
	char ch[ISC_MAX_CHAIN * 11 + 2];
	config_chain_format(&c->head, ch, sizeof(ch));
	if (c->head.n)
		fprintf(f, "head=%s\n", ch);
}

static void dump_frozen_next(FILE *f, const struct isc_config *c)
{
	if (c->frozen_next)
		fprintf(f, "frozen-next=%u\n", c->frozen_next);
}

#define SIZE_FIELD(f) .parse = parse_size_prop, .format = format_uint, FIELD(f)
#define ONOFF_FIELD(f) .parse = parse_bool, .format = format_bool, FIELD(f), .arg = "on|off", \
	.expect = "on or off"

/* Every property, in the order of the canonical dump, which is the file
 * format: a new property goes where it reorders no existing line. */
static const struct prop props[] = {
	{ "name", PROP_INTERNAL, parse_name, format_text, FIELD(name),
	  .doc = "the ISC's name, also its hostname" },
	{ "image", PROP_INTERNAL, parse_name, format_text, FIELD(image),
	  .doc = "the image tag it was created from" },
	{ "image-digest", PROP_INTERNAL, parse_digest, format_text, FIELD(digest),
	  .doc = "the SHA-256 of the image it boots" },
	{ "profile", PROP_OPERATOR, parse_profile, format_profile, .arg = "P",
	  .doc = "strict, fixed-configuration, flexible-configuration, none" },
	{ "uid", PROP_INTERNAL, parse_uid, format_uint, FIELD(uid),
	  .doc = "the first host uid and gid of its 65536" },
	{ "created", PROP_INTERNAL, parse_created, format_created,
	  .doc = "creation time, in seconds since the epoch" },
	{ "encryption-root", PROP_INTERNAL, parse_key_root, format_key_root,
	  .doc = "the ISC whose key encrypts its data" },
	{ "memory", PROP_OPERATOR, SIZE_FIELD(memory), .arg = "SIZE",
	  .min = 16 << 20, .max = UINT64_MAX, .expect = "a size of at least 16M (e.g. 1G)",
	  .doc = "memory limit, never any swap (16M up; default 1G)" },
	{ "pids", PROP_OPERATOR, parse_count, format_uint, FIELD(pids), .min = 16, .max = 4194304,
	  .expect = "16 to 4194304", .arg = "N",
	  .doc = "task limit (16 to 4194304; default 1024)" },
	{ "cpu", PROP_OPERATOR, parse_cpu, format_cpu, .min = 10, .max = 1024000,
	  .expect = "none or CPUs from 0.01 (e.g. 0.5, 2)", .arg = "CPUS|none",
	  .doc = "CPU quota in CPUs (0.01 to 1024; default none)" },
	{ "cpu-weight", PROP_OPERATOR, parse_count, format_uint, FIELD(cpu_weight),
	  .min = 1, .max = 10000, .expect = "1 to 10000 (100 is a fair share)", .arg = "N",
	  .doc = "CPU weight (1 to 10000; default 100, a fair share)" },
	{ "tmp-size", PROP_OPERATOR, SIZE_FIELD(tmp_size), .arg = "SIZE",
	  .min = 1 << 20, .max = UINT64_MAX, .expect = "a size of at least 1M (e.g. 64M)",
	  .doc = "each tmpfs: /tmp, /run, /dev/shm (1M up; default 64M)" },
	/* its own small ext4: below 8M the filesystem's own overhead dominates */
	{ "scratch-size", PROP_OPERATOR, SIZE_FIELD(scratch_size), .arg = "SIZE",
	  .min = 8 << 20, .max = 1ULL << 40, .expect = "a size from 8M to 1T (e.g. 64M)",
	  .doc = "/scratch, its key made at boot (8M to 1T; default 64M)" },
	/* /var's filesystem is made once, at its first boot: its size is fixed then */
	{ "var-size", PROP_CREATE, SIZE_FIELD(var_size), .arg = "SIZE|none", .none = true,
	  .min = 8 << 20, .max = 1ULL << 44, .expect = "none or a size from 8M (e.g. 1G)",
	  .doc = "/var's own filesystem (8M up; default none)" },
	{ "session-size", PROP_OPERATOR, SIZE_FIELD(session_size), .arg = "SIZE",
	  .min = 16 << 20, .max = 1ULL << 40, .expect = "a size from 16M to 1T (e.g. 2G)",
	  .doc = "what a maintenance session writes (16M to 1T; default 2G)" },
	{ "limitpriv", PROP_OPERATOR, parse_limitpriv, format_text, FIELD(limitpriv), .arg = "LIST",
	  .doc = "capabilities: default, none, +cap, -cap, comma-separated" },
	{ "mdwe", PROP_OPERATOR, ONOFF_FIELD(mdwe),
	  .doc = "memory-deny-write-execute (default on; off for JITs only)" },
	{ "seccomp", PROP_OPERATOR, ONOFF_FIELD(seccomp),
	  .doc = "the system call filter (default on; off weakens the ISC)" },
	{ "landlock", PROP_OPERATOR, ONOFF_FIELD(landlock),
	  .doc = "the Landlock write rules (default on; off weakens the ISC)" },
	{ "require", PROP_OPERATOR, parse_require, format_require, dump_require, .arg = "LIST",
	  .expect = "none, or mdwe and landlock comma-separated",
	  .doc = "defence layers boot refuses without: mdwe, landlock (default none)" },
	{ "require-signature", PROP_OPERATOR, parse_keyfile, format_keyfile, dump_keyfile,
	  FIELD(require_signature),
	  .arg = "PUBKEY|none", .expect = "none or the absolute path of a minisign public key file",
	  .doc = "boot only image versions signed by this key or the pool's (default none)" },
	{ "volume", PROP_OPERATOR, parse_volume, format_volume, dump_volume, .arg = "/PATH",
	  .doc = "a persistent, writable directory (repeatable, up to 16)" },
	{ "net", PROP_OPERATOR, parse_net, format_net, dump_net, .arg = "none|bridge",
	  .expect = "none or bridge",
	  .doc = "none: loopback only (default); bridge: an address on the pool's bridge" },
	{ "egress", PROP_OPERATOR, parse_egress, format_egress, dump_egress, FIELD(egress),
	  .arg = "deny|allow|LIST",
	  .doc = "what may leave: deny (default), allow, or tcp|udp:CIDR:PORT,..." },
	{ "maintenance-egress", PROP_OPERATOR, parse_egress, format_egress, dump_maint_egress,
	  FIELD(maintenance_egress), .arg = "deny|allow|LIST",
	  .doc = "egress of -w and -W boots instead (default deny)" },
	{ "verify-interval", PROP_OPERATOR, parse_interval, format_interval, dump_interval,
	  .min = 1, .max = 604800, .arg = "SECONDS|off", .expect = "off or seconds from 1 to 604800",
	  .doc = "the supervisor verifies the running ISC this often (default off)" },
	{ "on-tamper", PROP_OPERATOR, parse_policy, format_policy, dump_on_tamper, FIELD(on_tamper),
	  .arg = "quarantine|alert|halt|rollback|destroy",
	  .expect = "quarantine, alert, halt, rollback or destroy",
	  .doc = "what a finding of that verify brings (default quarantine)" },
	{ "on-violation", PROP_OPERATOR, parse_policy, format_policy, dump_on_violation, FIELD(on_violation),
	  .arg = "alert|quarantine|halt|rollback|destroy",
	  .expect = "alert, quarantine, halt, rollback or destroy",
	  .doc = "what too many seccomp denials bring (default alert)" },
	{ "violation-threshold", PROP_OPERATOR, parse_threshold, format_threshold, dump_threshold,
	  .arg = "N/SECONDS", .expect = "N/SECONDS, N from 1 to 1000, SECONDS from 1 to 86400",
	  .doc = "how many denials within how long are too many (default 100/60)" },
	{ "on-crash", PROP_OPERATOR, parse_on_crash, format_on_crash, dump_on_crash, FIELD(on_crash),
	  .arg = "alert|restart|halt", .expect = "alert, restart or halt",
	  .doc = "what a service's crash loop brings (default alert)" },
	{ "crash-limit", PROP_OPERATOR, parse_count, format_uint, dump_crash_limit, FIELD(crash_limit),
	  .min = 1, .max = 100, .arg = "N", .expect = "1 to 100",
	  .doc = "on-crash=restart: restarts before the ISC is halted (default 5)" },
	{ "pressure-threshold", PROP_OPERATOR, parse_pressure, format_pressure, dump_pressure,
	  .arg = "PERCENT/SECONDS|off", .expect = "off or PERCENT/SECONDS, PERCENT from 1 to 100, SECONDS from 1 to 10",
	  .doc = "tasks stalled on cpu, memory or io this share of a window (PSI, cgroup v2; default off)" },
	{ "on-pressure", PROP_OPERATOR, parse_on_crash, format_on_crash, dump_on_pressure, FIELD(on_pressure),
	  .arg = "alert|restart|halt", .expect = "alert, restart or halt",
	  .doc = "what pressure over the threshold brings (default alert)" },
	{ "autoboot", PROP_OPERATOR, parse_bool, format_bool, dump_autoboot, FIELD(autoboot),
	  .arg = "true|false", .expect = "true or false",
	  .doc = "iscadm boot -a (at host start, isc.service) boots it (default false)" },
	{ "expose", PROP_INTERNAL, parse_expose, format_expose, dump_expose,
	  .doc = "ports exposed on the host (iscadm expose, unexpose)" },
	{ "version", PROP_INTERNAL, parse_version, format_version, dump_version,
	  .doc = "its image versions, as digest prefixes" },
	{ "snapshot", PROP_INTERNAL, parse_snapshot, format_snapshot, dump_snapshot,
	  .doc = "its snapshots, by name" },
	{ "head", PROP_INTERNAL, parse_head, format_head, dump_head,
	  .doc = "the frozen layers under its writable ones" },
	{ "frozen-next", PROP_INTERNAL, parse_count, format_uint, dump_frozen_next, FIELD(frozen_next),
	  .min = 1, .max = UINT32_MAX, .doc = "the next frozen layer's number" },
	{ "origin", PROP_INTERNAL, parse_origin, format_origin, dump_origin,
	  .doc = "a clone's origin snapshot, ISC@SNAPSHOT (iscadm clone, promote)" },
};

static const struct prop *prop_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(props); i++)
		if (STREQ(props[i].name, name))
			return &props[i];
	return NULL;
}

const char *config_key(size_t i)
{
	return i < ARRAY_SIZE(props) ? props[i].name : NULL;
}

/* ---- parse, set, get, dump, help --------------------------------------------- */

/* Set k to v for a caller that may set properties up to may. */
static int prop_set(struct isc_config *c, const char *k, const char *v, enum prop_access may,
		    struct isc_err *e)
{
	const struct prop *p = prop_find(k);
	if (!p)
		return err_set(e, EINVAL, "unknown property '%s'", k);
	if (p->access > may && p->access == PROP_CREATE)
		return err_set(e, EPERM, "%s is fixed when the ISC is created", k);
	if (p->access > may)
		return err_set(e, EPERM, "property '%s' is read-only", k);
	return p->parse(c, p, v, e);
}

static int set_kv(struct isc_config *c, const char *kv, enum prop_access may, struct isc_err *e)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv || strlen(kv) > 1024)
		return err_set(e, EINVAL, "malformed property '%s' (expected key=value)", kv);
	char key[64];
	if ((size_t)(eq - kv) >= sizeof(key))
		return err_set(e, EINVAL, "unknown property '%.*s'", (int)(eq - kv), kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	return prop_set(c, key, eq + 1, may, e);
}

int config_set(struct isc_config *c, const char *kv, struct isc_err *e)
{
	return set_kv(c, kv, PROP_CREATE, e);
}

int config_change(struct isc_config *c, const char *kv, struct isc_err *e)
{
	return set_kv(c, kv, PROP_OPERATOR, e);
}

int config_parse(const char *text, struct isc_config *c, struct isc_err *e)
{
	config_init(c);
	int line = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		line++;
		char buf[2200];   /* 32 egress flows of IPv6 /128s */
		if (n >= sizeof(buf)) {
			config_free(c);
			return err_set(e, EINVAL, "config line %d: too long", line);
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		p += n + (nl ? 1 : 0);
		if (buf[0] == '\0' || buf[0] == '#')
			continue;
		char *eq = strchr(buf, '=');
		if (!eq) {
			config_free(c);
			return err_set(e, EINVAL, "config line %d: expected key=value", line);
		}
		*eq = '\0';
		if (prop_set(c, buf, eq + 1, PROP_INTERNAL, e) < 0) {
			config_free(c);
			return err_prefix(e, "config line %d", line);
		}
	}
	if (!c->name[0] || !c->image[0] || !c->digest[0] || !c->uid) {
		config_free(c);
		return err_set(e, EINVAL, "config: name, image, image-digest and uid are required");
	}
	return 0;
}

int config_get(const struct isc_config *c, const char *k, char *buf, size_t n)
{
	const struct prop *p = prop_find(k);
	buf[0] = '\0';
	if (!p)
		return -ENOENT;
	p->format(c, p, buf, n);
	return 0;
}

char *config_dump(const struct isc_config *c)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(props); i++) {
		char v[4096];
		if (props[i].dump) {
			props[i].dump(f, c);
			continue;
		}
		props[i].format(c, &props[i], v, sizeof(v));
		fprintf(f, "%s=%s\n", props[i].name, v);
	}
	fclose(f);
	return out;
}

void config_help(FILE *f)
{
	/* what an operator may set first, then what get shows besides */
	for (int ro = 0; ro <= 1; ro++)
		for (size_t i = 0; i < ARRAY_SIZE(props); i++) {
			const struct prop *p = &props[i];
			char use[96];   /* the longest: maintenance-egress=deny|allow|LIST */
			if ((p->access == PROP_INTERNAL) != ro)
				continue;
			snprintf(use, sizeof(use), "%s%s%s", p->name, p->arg ? "=" : "", p->arg ? p->arg : "");
			fprintf(f, "  %-18s %s%s\n", use, p->doc, p->access == PROP_CREATE ? " (at create)" :
				ro ? " (read-only)" : "");
		}
}

/* ---- versions -------------------------------------------------------------- */

int config_version_add(struct isc_config *c, const char *digest, int64_t made, const char *how,
		       uint64_t change, const char *lower)
{
	if (c->nversions >= ISC_MAX_VERSIONS)
		return -ENOSPC;
	/* only an earlier version can be a lower, and a digest names one
	 * stack (a digest seen before has the same lower): no cycles */
	if (!lower)
		lower = "";
	bool known = !*lower;
	for (size_t i = 0; i < c->nversions; i++) {
		if (STREQ(c->versions[i].digest, lower) && !STREQ(lower, digest))
			known = true;
		if (STREQ(c->versions[i].digest, digest) && !STREQ(c->versions[i].lower, lower))
			return -EINVAL;
	}
	if (!known)
		return -EINVAL;
	struct isc_version *v = &c->versions[c->nversions++];
	snprintf(v->digest, sizeof(v->digest), "%s", digest);
	snprintf(v->how, sizeof(v->how), "%s", how);
	snprintf(v->lower, sizeof(v->lower), "%s", lower);
	v->made = made;
	v->change = change;
	return 0;
}

int config_layers(const struct isc_config *c, const char *digest, char (*out)[65], size_t max)
{
	size_t n = 0;
	const char *d = digest;
	while (d && *d) {
		if (n == max)
			return -ELOOP;
		snprintf(out[n++], 65, "%s", d);
		const char *next = NULL;
		/* the newest entry of a digest says what it is stacked on */
		for (size_t i = c->nversions; i-- > 0 && !next;)
			if (STREQ(c->versions[i].digest, d))
				next = c->versions[i].lower;
		d = next;
	}
	return (int)n;
}
