/* config.c - ISC configuration text: strict parser, canonical dump, operator properties. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

static const char *const profiles[] = {
	[PROFILE_STRICT] = "strict",
	[PROFILE_FIXED] = "fixed-configuration",
	[PROFILE_FLEXIBLE] = "flexible-configuration",
	[PROFILE_NONE] = "none",
};

const char *const config_keys[] = {
	"name", "image", "image-digest", "profile", "uid", "created", "tmp-size", "volume", NULL,
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
}

void config_free(struct isc_config *c)
{
	for (size_t i = 0; c->volumes[i]; i++)
		free(c->volumes[i]);
	memset(c->volumes, 0, sizeof(c->volumes));
}

/* A volume is an absolute, normalised path that is not a system directory
 * the profile controls. */
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
		if (strlen(v) != 64 || strspn(v, "0123456789abcdef") != 64)
			return err_set(e, EINVAL, "image-digest: not a sha256");
		memcpy(c->digest, v, 65);
		return 0;
	}
	if (STREQ(k, "uid") || STREQ(k, "created")) {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (errno || *end || end == v || n < 0)
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
	else if (STREQ(k, "tmp-size"))
		snprintf(buf, n, "%" PRIu64, c->tmp_size);
	else if (STREQ(k, "volume")) {
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
		config_get(c, config_keys[i], v, sizeof(v));
		fprintf(f, "%s=%s\n", config_keys[i], v);
	}
	fclose(f);
	return out;
}

int isc_config_load(const struct pool *p, const char *name, struct isc_config *c, struct isc_err *e)
{
	char path[128];
	_cleanup_free_ char *text = NULL;
	if (!name_valid(name))
		return err_set(e, EINVAL, "invalid ISC name '%s'", name);
	snprintf(path, sizeof(path), "isc/%s/config", name);
	int r = read_file_at(p->dirfd, path, &text, NULL, 1 << 16);
	if (r == -ENOENT)
		return err_set(e, ENOENT, "no ISC named %s", name);
	if (r < 0)
		return err_sys(e, -r, "read %s config", name);
	r = config_parse(text, c, e);
	if (r < 0)
		return err_prefix(e, "ISC %s", name);
	return 0;
}

int isc_config_save(const struct pool *p, const struct isc_config *c, struct isc_err *e)
{
	char path[128];
	_cleanup_free_ char *text = config_dump(c);
	if (!text)
		return err_set(e, ENOMEM, "config");
	snprintf(path, sizeof(path), "isc/%s/config", c->name);
	int r = write_file_atomic(p->dirfd, path, text, strlen(text), 0600);
	return r < 0 ? err_sys(e, -r, "write %s config", c->name) : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int isc_names(const struct pool *p, char ***names, struct isc_err *e)
{
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	int fd = openat(p->dirfd, "isc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!v || fd < 0)
		return err_set(e, fd < 0 ? errno : ENOMEM, "open isc directory");
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_sys(e, errno, "read isc directory");
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		char cfg[128];
		if (!name_valid(de->d_name))
			continue;
		snprintf(cfg, sizeof(cfg), "%s/config", de->d_name);
		if (fstatat(dirfd(d), cfg, &st, 0) < 0)
			continue;   /* half-made by a crashed create: not an ISC */
		if (strv_push(&v, de->d_name) < 0) {
			closedir(d);
			return err_set(e, ENOMEM, "list");
		}
	}
	closedir(d);
	qsort(v, strv_length(v), sizeof(char *), cmp_str);
	*names = TAKE_PTR(v);
	return 0;
}
