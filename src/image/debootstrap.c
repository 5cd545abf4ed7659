/* debootstrap.c - the "debootstrap:SUITE[:pkgs]" image source: a minbase Debian root; iscadm. */
#include "image-internal.h"

#include <dirent.h>
#include <fcntl.h>

#define DEFAULT_MIRROR "http://deb.debian.org/debian"
#define APT_DIR "/etc/apt"

/* A mirror for the main archive: a Debian URI, not the security archive. */
static bool mirror_ok(const char *uri, const char *suite)
{
	return (strstr(uri, "://") || str_has_prefix(uri, "file:")) && strstr(uri, "debian") && !strstr(uri, "security") &&
	       (!suite || !strstr(suite, "-security"));
}

/* One-line style: "deb [opts] URI SUITE COMPONENTS". */
static bool mirror_from_list(char *text, char *out, size_t size)
{
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *tok[8], *s2 = NULL;
		size_t n = 0;
		for (char *t = strtok_r(l, " \t", &s2); t && n < ARRAY_SIZE(tok); t = strtok_r(NULL, " \t", &s2))
			tok[n++] = t;
		size_t i = 1;
		if (n < 3 || !STREQ(tok[0], "deb"))
			continue;
		if (tok[1][0] == '[') {  /* skip "[arch=amd64 signed-by=...]" */
			while (i < n && !strchr(tok[i], ']'))
				i++;
			i++;
		}
		if (i + 1 < n && mirror_ok(tok[i], tok[i + 1]))
			return str_copy(out, size, tok[i]) == 0;
	}
	return false;
}

/* deb822 style: stanzas with "Types:", "URIs:", "Suites:". */
static bool stanza_mirror(const char *types, const char *uris, const char *suites, char *out, size_t size)
{
	if (!types || !uris || !strstr(types, "deb") || (suites && strstr(suites, "-security")))
		return false;
	char buf[1024], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", uris);
	for (char *u = strtok_r(buf, " \t", &save); u; u = strtok_r(NULL, " \t", &save))
		if (mirror_ok(u, NULL))
			return str_copy(out, size, u) == 0;
	return false;
}

static bool mirror_from_sources(char *text, char *out, size_t size)
{
	const char *types = NULL, *uris = NULL, *suites = NULL;
	for (char *l = text, *next; l; l = next) {
		if ((next = strchr(l, '\n')))
			*next++ = '\0';
		l += strspn(l, " \t");
		if (!*l) {  /* a blank line ends a stanza */
			if (stanza_mirror(types, uris, suites, out, size))
				return true;
			types = uris = suites = NULL;
		} else if (str_has_prefix(l, "Types:")) {
			types = l + 6;
		} else if (str_has_prefix(l, "URIs:")) {
			uris = l + 5;
		} else if (str_has_prefix(l, "Suites:")) {
			suites = l + 7;
		}
	}
	return stanza_mirror(types, uris, suites, out, size);
}

static bool mirror_from_file(const char *path, char *out, size_t size)
{
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, path, &text, NULL, 1 << 20) < 0)
		return false;
	if (str_has_prefix(strrchr(path, '.') ?: "", ".sources"))
		return mirror_from_sources(text, out, size);
	return mirror_from_list(text, out, size);
}

static int apt_file_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && ((n > 5 && STREQ(d->d_name + n - 5, ".list")) ||
				       (n > 8 && STREQ(d->d_name + n - 8, ".sources")));
}

static void mirror_find(char *out, size_t size)
{
	const char *env = getenv("ISC_DEBIAN_MIRROR");
	struct dirent **list = NULL;
	bool found = false;
	if (env && *env && str_copy(out, size, env) == 0)
		return;
	if (mirror_from_file(APT_DIR "/sources.list", out, size))
		return;
	int n = scandir(APT_DIR "/sources.list.d", &list, apt_file_filter, alphasort);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), APT_DIR "/sources.list.d/%s", list[i]->d_name);
		found = found || mirror_from_file(path, out, size);
		free(list[i]);
	}
	free(list);
	if (!found)
		str_copy(out, size, DEFAULT_MIRROR);
}

/* SUITE and the package list go on debootstrap's command line: keep them plain. */
static bool spec_word_ok(const char *s, const char *extra)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	return true;
}

struct progress_ctx {
	image_progress_fn fn;
	void *data;
};

static void progress_line(const char *line, void *data)
{
	struct progress_ctx *c = data;
	if (c->fn)
		c->fn(line, c->data);
}

static int debootstrap_run(const char *suite, const char *pkgs, const char *tree,
			   image_progress_fn progress, void *pdata, struct isc_err *e)
{
	char mirror[512], include[512], last[512];
	char *argv[8];
	size_t n = 0;
	mirror_find(mirror, sizeof(mirror));
	argv[n++] = "debootstrap";
	argv[n++] = "--variant=minbase";
	if (pkgs) {
		snprintf(include, sizeof(include), "--include=%s", pkgs);
		argv[n++] = include;
	}
	argv[n++] = (char *)suite;
	argv[n++] = (char *)tree;
	argv[n++] = mirror;
	argv[n] = NULL;
	struct progress_ctx ctx = { progress, pdata };
	int r = cmd_run_lines(argv, NULL, progress_line, &ctx, last, sizeof(last));
	if (r == -ENOENT)
		return err_set(e, ENOENT, "debootstrap %s: debootstrap not found (install debootstrap)", suite);
	if (r < 0)
		return err_set(e, r, "debootstrap %s: %s", suite, strerror(-r));
	if (r > 0)
		return err_set(e, EIO, "debootstrap %s from %s: exit status %d%s%s", suite, mirror, r,
			       *last ? ": " : "", last);
	return 0;
}

int image_source_debootstrap(const char *tree, int treefd, const char *spec,
			     image_progress_fn progress, void *pdata, struct isc_err *e)
{
	char suite[128];
	const char *colon = strchr(spec, ':');
	const char *pkgs = colon ? colon + 1 : NULL;
	size_t slen = colon ? (size_t)(colon - spec) : strlen(spec);
	if (slen >= sizeof(suite))
		return err_set(e, EINVAL, "debootstrap: suite name too long");
	memcpy(suite, spec, slen);
	suite[slen] = '\0';
	if (!spec_word_ok(suite, ".-") || suite[0] == '-')
		return err_set(e, EINVAL, "debootstrap: invalid suite '%s'", suite);
	if (pkgs && (!spec_word_ok(pkgs, "+.-,") || pkgs[0] == '-' || strlen(pkgs) > 400))
		return err_set(e, EINVAL, "debootstrap %s: invalid package list '%.64s'", suite, pkgs);
	int r = debootstrap_run(suite, pkgs, tree, progress, pdata, e);
	if (r < 0)
		return r;
	/* debootstrap makes device nodes; the sandbox provides /dev itself. */
	r = rm_rf_at(treefd, "dev");
	if (r == 0 && mkdirat(treefd, "dev", 0755) < 0)
		r = -errno;
	return r < 0 ? err_set(e, r, "debootstrap %s: emptying /dev: %s", suite, strerror(-r)) : 0;
}
