/* svc_user.c - resolve user= from the image's /etc/passwd and /etc/group text; runs in isc-init, which is static and has no NSS. */
#include "services.h"

#include <ctype.h>

#define LINE_MAX_BYTES 4096   /* longer passwd/group lines are skipped, not truncated */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Decimal id below (uid_t)-1, which the kernel reserves as "no change". */
static int parse_id(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	if (!all_digits(s) || strlen(s) > 10)
		return -EINVAL;
	for (; *s; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	if (v >= UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

bool svc_user_spec_valid(const char *s)
{
	size_t n = strlen(s);
	uint32_t id;
	if (all_digits(s))
		return parse_id(s, &id) == 0;
	if (n == 0 || n > 32)
		return false;
	if (!isalnum((unsigned char)s[0]) && s[0] != '_')
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '_' || c == '.' || c == '-')
			continue;
		if (c == '$' && i == n - 1)   /* Samba machine accounts */
			continue;
		return false;
	}
	return true;
}

/* Split line in place on ':'; returns the number of fields, or -1 if not exactly want. */
static int split_fields(char *line, char **f, int want)
{
	int n = 0;
	f[n++] = line;
	for (char *p = line; *p; p++) {
		if (*p != ':')
			continue;
		if (n == want)
			return -1;
		*p = '\0';
		f[n++] = p + 1;
	}
	return n == want ? n : -1;
}

/* Walk text line by line; cb gets a private copy it may modify.  A callback
 * returning > 0 stops the walk. */
static int lines_each(const char *text, int (*cb)(char *line, void *arg), void *arg)
{
	char line[LINE_MAX_BYTES];
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *next = nl ? nl + 1 : p + n;
		if (n > 0 && n < sizeof(line) && p[0] != '#') {
			memcpy(line, p, n);
			line[n] = '\0';
			int r = cb(line, arg);
			if (r != 0)
				return r;
		}
		p = next;
	}
	return 0;
}

struct pw_match {
	const char *name;     /* match by name, or */
	uint32_t uid;         /* by uid when name is NULL */
	struct svc_cred *c;
};

static int pw_line(char *line, void *arg)
{
	struct pw_match *m = arg;
	char *f[7];
	uint32_t uid, gid;
	if (split_fields(line, f, 7) < 0 || parse_id(f[2], &uid) < 0 || parse_id(f[3], &gid) < 0)
		return 0;   /* a malformed line is not this user */
	if (m->name ? !STREQ(f[0], m->name) : uid != m->uid)
		return 0;
	if (str_copy(m->c->name, sizeof(m->c->name), f[0]) < 0 ||
	    str_copy(m->c->home, sizeof(m->c->home), f[5][0] == '/' ? f[5] : "/") < 0)
		return 0;
	m->c->uid = uid;
	m->c->gid = gid;
	return 1;
}

struct gr_match {
	struct svc_cred *c;
	bool overflow;
};

static bool has_member(char *members, const char *name)
{
	char *save = NULL;
	for (char *t = strtok_r(members, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (STREQ(t, name))
			return true;
	return false;
}

static int gr_line(char *line, void *arg)
{
	struct gr_match *m = arg;
	struct svc_cred *c = m->c;
	char *f[4];
	uint32_t gid;
	if (split_fields(line, f, 4) < 0 || parse_id(f[2], &gid) < 0)
		return 0;
	if (!has_member(f[3], c->name))
		return 0;
	for (size_t i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return 0;
	if (c->ngroups == SVC_GROUPS_MAX) {
		m->overflow = true;
		return 1;
	}
	c->groups[c->ngroups++] = gid;
	return 0;
}

int svc_user_resolve(const char *spec, const char *passwd, const char *group,
		     struct svc_cred *c, struct isc_err *e)
{
	struct pw_match m = { .c = c };
	bool numeric = all_digits(spec);

	memset(c, 0, sizeof(*c));
	if (!svc_user_spec_valid(spec))
		return err_set(e, EINVAL, "invalid user \"%s\"", spec);
	if (numeric)
		parse_id(spec, &m.uid);
	else
		m.name = spec;
	if (lines_each(passwd, pw_line, &m) <= 0) {
		/* Not in /etc/passwd: root and bare uids still work, with their
		 * own number as group and no supplementary groups.  Never gid 0
		 * for a uid the image does not know. */
		if (numeric || STREQ(spec, "root")) {
			c->uid = c->gid = m.uid;
			snprintf(c->name, sizeof(c->name), "%s", numeric ? spec : "root");
			snprintf(c->home, sizeof(c->home), "%s", c->uid == 0 ? "/root" : "/");
		} else {
			return err_set(e, ENOENT, "user \"%s\" not found in /etc/passwd", spec);
		}
	}
	c->groups[c->ngroups++] = c->gid;
	struct gr_match g = { .c = c };
	lines_each(group, gr_line, &g);
	if (g.overflow)
		return err_set(e, E2BIG, "user \"%s\" is in more than %d groups", c->name, SVC_GROUPS_MAX);
	return 0;
}
