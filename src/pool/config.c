/* config.c - ISC configuration text: strict parser, canonical dump, operator properties. */
#include "config.h"
#include "confine.h"

#include <inttypes.h>

static const char *const profiles[] = {
	[PROFILE_STRICT] = "strict",
	[PROFILE_FIXED] = "fixed-configuration",
	[PROFILE_FLEXIBLE] = "flexible-configuration",
	[PROFILE_NONE] = "none",
};

const char *const config_keys[] = {
	"name", "image", "image-digest", "profile", "uid", "created", "encryption-root", "memory",
	"pids", "cpu", "cpu-weight", "tmp-size", "scratch-size", "var-size", "session-size", "limitpriv", "mdwe", "seccomp", "landlock", "volume", "version", NULL,
};

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
}

void config_free(struct isc_config *c)
{
	for (size_t i = 0; c->volumes[i]; i++)
		free(c->volumes[i]);
	memset(c->volumes, 0, sizeof(c->volumes));
}

/* A volume is an absolute, normalised path that is not a system directory
 * the profile controls. */
/* A lowercase sha256 in hex. */
static bool digest_valid(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int volume_check(const char *v, struct isc_err *e)
{
	if (v[0] != '/' || v[1] == '\0' || strlen(v) > 255)
		return err_set(e, EINVAL, "volume '%s': must be an absolute path below /", v);
	if (strstr(v, "//") || strstr(v, "/./") || strstr(v, "/../") ||
	    (strlen(v) >= 3 && STREQ(v + strlen(v) - 3, "/..")) || v[strlen(v) - 1] == '/' ||
	    (strlen(v) >= 2 && STREQ(v + strlen(v) - 2, "/.")))
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

static int set_one(struct isc_config *c, const char *k, const char *v, bool operator,
		   struct isc_err *e)
{
	if (STREQ(k, "tmp-size")) {
		uint64_t s;
		if (parse_size(v, &s) < 0 || s < (1 << 20))
			return err_set(e, EINVAL, "tmp-size '%s': expected a size of at least 1M (e.g. 64M)", v);
		c->tmp_size = s;
		return 0;
	}
	if (STREQ(k, "limitpriv")) {
		uint64_t caps;
		if (strlen(v) >= sizeof(c->limitpriv))
			return err_set(e, EINVAL, "limitpriv: too long");
		if (confine_limitpriv(v, &caps, e) < 0)
			return -e->code;
		snprintf(c->limitpriv, sizeof(c->limitpriv), "%s", v);
		return 0;
	}
	if (STREQ(k, "mdwe") || STREQ(k, "seccomp") || STREQ(k, "landlock")) {
		bool *b = STREQ(k, "mdwe") ? &c->mdwe : STREQ(k, "seccomp") ? &c->seccomp : &c->landlock;
		if (!STREQ(v, "on") && !STREQ(v, "off"))
			return err_set(e, EINVAL, "%s '%s': expected on or off", k, v);
		*b = STREQ(v, "on");
		return 0;
	}
	if (STREQ(k, "pids") || STREQ(k, "cpu-weight")) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(v, &end, 10);
		bool pids = STREQ(k, "pids");
		if (errno || *end || end == v || !(*v >= '0' && *v <= '9') ||
		    n < (pids ? 16 : 1) || n > (pids ? 4194304 : 10000))
			return err_set(e, EINVAL, pids ? "pids '%s': expected 16 to 4194304" :
				       "cpu-weight '%s': expected 1 to 10000 (100 is a fair share)", v);
		if (pids)
			c->pids = n;
		else
			c->cpu_weight = (uint32_t)n;
		return 0;
	}
	if (STREQ(k, "cpu")) {
		/* "none", or CPUs as a decimal with up to three places: 0.5, 2, 1.25 */
		unsigned whole = 0, frac = 0, digits = 0;
		const char *p = v;
		if (STREQ(v, "none")) {
			c->cpu_milli = 0;
			return 0;
		}
		for (; *p >= '0' && *p <= '9' && whole < 100000; p++)
			whole = whole * 10 + (unsigned)(*p - '0');
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
				frac = frac * 10 + (unsigned)(*p - '0');
		while (digits && digits < 3) {
			frac *= 10;
			digits++;
		}
		uint64_t milli = (uint64_t)whole * 1000 + frac;
		if (*p || p == v || !(v[0] >= '0' && v[0] <= '9') || milli < 10 || milli > 1024000)
			return err_set(e, EINVAL, "cpu '%s': expected none or CPUs from 0.01 (e.g. 0.5, 2)", v);
		c->cpu_milli = (uint32_t)milli;
		return 0;
	}
	if (STREQ(k, "memory")) {
		uint64_t s;
		if (parse_size(v, &s) < 0 || s < (16 << 20))
			return err_set(e, EINVAL, "memory '%s': expected a size of at least 16M (e.g. 1G)", v);
		c->memory = s;
		return 0;
	}
	if (STREQ(k, "var-size")) {
		uint64_t sz;
		if (STREQ(v, "none")) {
			c->var_size = 0;
			return 0;
		}
		if (parse_size(v, &sz) < 0 || sz < (8 << 20) || sz > (1ULL << 44))
			return err_set(e, EINVAL, "var-size '%s': expected none or a size from 8M (e.g. 1G)", v);
		c->var_size = sz;
		return 0;
	}
	if (STREQ(k, "session-size")) {
		uint64_t s;
		if (parse_size(v, &s) < 0 || s < (16 << 20) || s > (1ULL << 40))
			return err_set(e, EINVAL, "session-size '%s': expected a size from 16M to 1T (e.g. 2G)", v);
		c->session_size = s;
		return 0;
	}
	if (STREQ(k, "scratch-size")) {
		uint64_t s;
		/* its own small ext4: below 8M the filesystem's own overhead dominates */
		if (parse_size(v, &s) < 0 || s < (8 << 20) || s > (1ULL << 40))
			return err_set(e, EINVAL, "scratch-size '%s': expected a size from 8M to 1T (e.g. 64M)", v);
		c->scratch_size = s;
		return 0;
	}
	if (STREQ(k, "volume")) {
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
	if (STREQ(k, "profile")) {
		if (profile_from_name(v, &c->profile) < 0)
			return err_set(e, EINVAL, "unknown profile '%s' (strict, fixed-configuration, "
				       "flexible-configuration, none)", v);
		return 0;
	}
	if (operator)
		goto unknown;
	if (STREQ(k, "name") || STREQ(k, "image")) {
		if (!name_valid(v))
			return err_set(e, EINVAL, "%s '%s': invalid name", k, v);
		str_copy(STREQ(k, "name") ? c->name : c->image, 64, v);
		return 0;
	}
	if (STREQ(k, "image-digest")) {
		if (!digest_valid(v))
			return err_set(e, EINVAL, "image-digest: not a sha256");
		memcpy(c->digest, v, 65);
		return 0;
	}
	if (STREQ(k, "version")) {
		/* DIGEST,MADE,HOW,CHANGE[,LOWER]: lowercase sha256, two decimals,
		 * a known how, and the earlier version it is a delta on */
		char buf[200], *f[5], *save = NULL;
		size_t nf = 0;
		if (strlen(v) >= sizeof(buf))
			goto bad_version;
		snprintf(buf, sizeof(buf), "%s", v);
		for (char *t = strtok_r(buf, ",", &save); t && nf < 5; t = strtok_r(NULL, ",", &save))
			f[nf++] = t;
		if (nf < 4 || strtok_r(NULL, ",", &save) || strstr(v, ",,") || v[strlen(v) - 1] == ',' ||
		    !digest_valid(f[0]) || (nf == 5 && !digest_valid(f[4])) ||
		    !f[1][0] || strspn(f[1], "0123456789") != strlen(f[1]) || strlen(f[1]) > 18 ||
		    !f[3][0] || strspn(f[3], "0123456789") != strlen(f[3]) || strlen(f[3]) > 19 ||
		    !(STREQ(f[2], "build") || STREQ(f[2], "-w") || STREQ(f[2], "-W") || STREQ(f[2], "-T")))
			goto bad_version;
		int r = config_version_add(c, f[0], strtoll(f[1], NULL, 10), f[2], strtoull(f[3], NULL, 10),
					   nf == 5 ? f[4] : NULL);
		if (r == -EINVAL)
			return err_set(e, EINVAL, "version %.12s: its lower is not an earlier version, "
				       "or not the lower it had before", f[0]);
		return r < 0 ? err_set(e, -r, "at most %d versions", ISC_MAX_VERSIONS) : 0;
bad_version:
		return err_set(e, EINVAL, "version '%.200s': expected DIGEST,TIME,HOW,BYTES[,LOWER]", v);
	}
	if (STREQ(k, "encryption-root")) {
		if (!name_valid(v) && !STREQ(v, ISC_KEY_EPHEMERAL))
			return err_set(e, EINVAL, "encryption-root '%s': invalid name", v);
		str_copy(c->encryption_root, sizeof(c->encryption_root), v);
		return 0;
	}
	if (STREQ(k, "uid") || STREQ(k, "created")) {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		/* digits only: strtoll would also take blanks and a sign */
		if (errno || *end || end == v || n < 0 || !(*v >= '0' && *v <= '9'))
			return err_set(e, EINVAL, "%s '%s': not a number", k, v);
		if (STREQ(k, "uid")) {
			if (n < ISC_UID_FIRST || n > UINT32_MAX - ISC_UID_COUNT || (n - ISC_UID_FIRST) % ISC_UID_COUNT)
				return err_set(e, EINVAL, "uid %lld: outside the ISC range", n);
			c->uid = (uint32_t)n;
		} else {
			c->created = n;
		}
		return 0;
	}
unknown:
	for (size_t i = 0; config_keys[i]; i++)
		if (STREQ(config_keys[i], k))
			return err_set(e, EPERM, "property '%s' is read-only", k);
	return err_set(e, EINVAL, "unknown property '%s'", k);
}

int config_set(struct isc_config *c, const char *kv, struct isc_err *e)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv || strlen(kv) > 1024)
		return err_set(e, EINVAL, "malformed property '%s' (expected key=value)", kv);
	char key[64];
	if ((size_t)(eq - kv) >= sizeof(key))
		return err_set(e, EINVAL, "unknown property '%.*s'", (int)(eq - kv), kv);
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	return set_one(c, key, eq + 1, true, e);
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
		char buf[1100];
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
		int r = set_one(c, buf, eq + 1, false, e);
		if (r < 0) {
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

int config_get(const struct isc_config *c, const char *k, char *buf, size_t n)
{
	buf[0] = '\0';
	if (STREQ(k, "name"))
		snprintf(buf, n, "%s", c->name);
	else if (STREQ(k, "image"))
		snprintf(buf, n, "%s", c->image);
	else if (STREQ(k, "image-digest"))
		snprintf(buf, n, "%s", c->digest);
	else if (STREQ(k, "profile"))
		snprintf(buf, n, "%s", profile_name(c->profile));
	else if (STREQ(k, "uid"))
		snprintf(buf, n, "%" PRIu32, c->uid);
	else if (STREQ(k, "created"))
		snprintf(buf, n, "%" PRId64, c->created);
	else if (STREQ(k, "encryption-root"))
		snprintf(buf, n, "%s", c->encryption_root[0] ? c->encryption_root : c->name);
	else if (STREQ(k, "limitpriv"))
		snprintf(buf, n, "%s", c->limitpriv);
	else if (STREQ(k, "mdwe"))
		snprintf(buf, n, "%s", c->mdwe ? "on" : "off");
	else if (STREQ(k, "seccomp"))
		snprintf(buf, n, "%s", c->seccomp ? "on" : "off");
	else if (STREQ(k, "landlock"))
		snprintf(buf, n, "%s", c->landlock ? "on" : "off");
	else if (STREQ(k, "memory"))
		snprintf(buf, n, "%" PRIu64, c->memory);
	else if (STREQ(k, "pids"))
		snprintf(buf, n, "%" PRIu64, c->pids);
	else if (STREQ(k, "cpu") && !c->cpu_milli)
		snprintf(buf, n, "none");
	else if (STREQ(k, "cpu")) {
		int m = snprintf(buf, n, "%u.%03u", c->cpu_milli / 1000, c->cpu_milli % 1000);
		while (m > 0 && (size_t)m < n && buf[m - 1] == '0')
			buf[--m] = '\0';   /* canonical: 0.5, 2.25 ... */
		if (m > 0 && buf[m - 1] == '.')
			buf[--m] = '\0';
	} else if (STREQ(k, "cpu-weight"))
		snprintf(buf, n, "%" PRIu32, c->cpu_weight);
	else if (STREQ(k, "tmp-size"))
		snprintf(buf, n, "%" PRIu64, c->tmp_size);
	else if (STREQ(k, "var-size") && !c->var_size)
		snprintf(buf, n, "none");
	else if (STREQ(k, "var-size"))
		snprintf(buf, n, "%" PRIu64, c->var_size);
	else if (STREQ(k, "scratch-size"))
		snprintf(buf, n, "%" PRIu64, c->scratch_size);
	else if (STREQ(k, "session-size"))
		snprintf(buf, n, "%" PRIu64, c->session_size);
	else if (STREQ(k, "version")) {
		size_t off = 0;
		for (size_t i = 0; i < c->nversions && off < n; i++)
			off += (size_t)snprintf(buf + off, n - off, "%s%.12s", i ? "," : "",
						c->versions[i].digest);
	} else if (STREQ(k, "volume")) {
		size_t off = 0;
		for (size_t i = 0; c->volumes[i] && off < n; i++)
			off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? "," : "", c->volumes[i]);
	} else
		return -ENOENT;
	return 0;
}

char *config_dump(const struct isc_config *c)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	for (size_t i = 0; config_keys[i]; i++) {
		char v[4096];
		if (STREQ(config_keys[i], "volume")) {
			for (size_t j = 0; c->volumes[j]; j++)
				fprintf(f, "volume=%s\n", c->volumes[j]);
			continue;
		}
		if (STREQ(config_keys[i], "version")) {
			for (size_t j = 0; j < c->nversions; j++)
				fprintf(f, "version=%s,%" PRId64 ",%s,%" PRIu64 "%s%s\n", c->versions[j].digest,
					c->versions[j].made, c->versions[j].how, c->versions[j].change,
					c->versions[j].lower[0] ? "," : "", c->versions[j].lower);
			continue;
		}
		config_get(c, config_keys[i], v, sizeof(v));
		fprintf(f, "%s=%s\n", config_keys[i], v);
	}
	fclose(f);
	return out;
}
