/* svc_conf.c - strict parser for one /etc/isc/services file; runs in isc-init (PID 1), so it is bounded and fuzzed. */
#include "services.h"

#include <limits.h>

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

const char *svc_restart_name(enum svc_restart r)
{
	switch (r) {
	case SVC_RESTART_ALWAYS: return "always";
	case SVC_RESTART_ON_FAILURE: return "on-failure";
	case SVC_RESTART_NEVER: return "never";
	}
	return "?";
}

/* Append one argument of n bytes, refusing more than SVC_ARGS_MAX. */
static int exec_push(char ***argv, size_t *argc, const char *arg, struct isc_err *e)
{
	if (*argc >= SVC_ARGS_MAX)
		return err_set(e, E2BIG, "more than %d arguments", SVC_ARGS_MAX);
	if (strv_push(argv, arg) < 0)
		return err_set(e, ENOMEM, "out of memory");
	(*argc)++;
	return 0;
}

/* One word: unquoted bytes and "..." segments glued together, as in a shell
 * but without expansion.  *pp is left on the blank or NUL after the word. */
static int exec_word(const char **pp, char *buf, struct isc_err *e)
{
	const char *p = *pp;
	size_t n = 0;
	while (*p && !is_blank(*p)) {
		if (*p != '"') {
			buf[n++] = *p++;
			continue;
		}
		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return err_set(e, EINVAL, "unterminated quote");
			if (*p == '\\') {
				p++;
				if (*p == '\0')
					return err_set(e, EINVAL, "unterminated quote");
				if (*p != '"' && *p != '\\')
					return err_set(e, EINVAL, "unknown escape \\%c in quotes (only \\\" and \\\\)", *p);
			}
			buf[n++] = *p;
		}
		p++;
	}
	buf[n] = '\0';
	*pp = p;
	return 0;
}

int svc_exec_split(const char *value, char ***argv, struct isc_err *e)
{
	/* A word is never longer than the value it came from. */
	_cleanup_free_ char *buf = malloc(strlen(value) + 1);
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	size_t argc = 0;
	int r;

	if (!buf || !v)
		return err_set(e, ENOMEM, "out of memory");
	for (const char *p = value;;) {
		while (is_blank(*p))
			p++;
		if (*p == '\0')
			break;
		if ((r = exec_word(&p, buf, e)) < 0)
			return r;
		if ((r = exec_push(&v, &argc, buf, e)) < 0)
			return r;
	}
	if (argc == 0)
		return err_set(e, EINVAL, "exec= names no program");
	if (v[0][0] != '/')
		return err_set(e, EINVAL, "exec= program \"%s\" is not an absolute path", v[0]);
	*argv = TAKE_PTR(v);
	return 0;
}

static int parse_after(const char *value, char ***out, struct isc_err *e)
{
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	char name[SVC_NAME_MAX];

	if (!v)
		return err_set(e, ENOMEM, "out of memory");
	for (const char *p = value; *p;) {
		while (is_blank(*p))
			p++;
		if (*p == '\0')
			break;
		size_t n = 0;
		while (p[n] && !is_blank(p[n]))
			n++;
		if (n >= sizeof(name))
			return err_set(e, EINVAL, "after= name too long");
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		if (!name_valid(name))
			return err_set(e, EINVAL, "after= \"%s\" is not a service name", name);
		for (char **q = v; *q; q++)
			if (STREQ(*q, name))
				return err_set(e, EINVAL, "after= names \"%s\" twice", name);
		if (strv_length(v) >= SVC_AFTER_MAX)
			return err_set(e, E2BIG, "after= names more than %d services", SVC_AFTER_MAX);
		if (strv_push(&v, name) < 0)
			return err_set(e, ENOMEM, "out of memory");
	}
	*out = TAKE_PTR(v);
	return 0;
}

static int parse_restart(const char *value, enum svc_restart *r, struct isc_err *e)
{
	static const enum svc_restart all[] = { SVC_RESTART_ALWAYS, SVC_RESTART_ON_FAILURE,
						SVC_RESTART_NEVER };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if (STREQ(value, svc_restart_name(all[i]))) {
			*r = all[i];
			return 0;
		}
	return err_set(e, EINVAL, "restart= must be always, on-failure or never, not \"%s\"", value);
}

static int parse_dir(const char *value, char **dir, struct isc_err *e)
{
	if (value[0] != '/')
		return err_set(e, EINVAL, "dir= \"%s\" is not an absolute path", value);
	if (strlen(value) >= PATH_MAX)
		return err_set(e, ENAMETOOLONG, "dir= path too long");
	for (const char *p = value; *p; p++)
		if (is_blank(*p))
			return err_set(e, EINVAL, "dir= path contains a blank");
	if (!(*dir = strdup(value)))
		return err_set(e, ENOMEM, "out of memory");
	return 0;
}

/* capabilities(7), by number: isc-init is static and links no libcap */
static const char *const cap_names[] = {
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid",
	"setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast",
	"net_admin", "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio",
	"sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
	"sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write",
	"audit_control", "setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
	"block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
};

const char *svc_cap_name(unsigned cap)
{
	return cap < ARRAY_SIZE(cap_names) ? cap_names[cap] : NULL;
}

int svc_caps_parse(const char *value, uint64_t *caps, struct isc_err *e)
{
	*caps = 0;
	if (STREQ(value, "none"))
		return 0;
	const char *p = value;
	for (;;) {
		size_t n = strcspn(p, ",");
		size_t i;
		for (i = 0; i < ARRAY_SIZE(cap_names); i++)
			if (strlen(cap_names[i]) == n && strncmp(p, cap_names[i], n) == 0)
				break;
		if (i == ARRAY_SIZE(cap_names))
			return err_set(e, EINVAL, "caps= \"%.*s\" is not a capability (names as in "
				       "capabilities(7), lower case, without cap_; or none)", (int)(n > 40 ? 40 : n), p);
		if (*caps & (1ULL << i))
			return err_set(e, EINVAL, "caps= names %s twice", cap_names[i]);
		*caps |= 1ULL << i;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

enum conf_key { KEY_EXEC, KEY_USER, KEY_RESTART, KEY_AFTER, KEY_DIR, KEY_CAPS, KEY_COUNT };
static const char *const key_names[KEY_COUNT] = {
	[KEY_EXEC] = "exec", [KEY_USER] = "user", [KEY_RESTART] = "restart",
	[KEY_AFTER] = "after", [KEY_DIR] = "dir", [KEY_CAPS] = "caps",
};

static int conf_set(struct svc_conf *c, enum conf_key k, const char *value, struct isc_err *e)
{
	switch (k) {
	case KEY_EXEC:
		return svc_exec_split(value, &c->argv, e);
	case KEY_USER:
		if (!svc_user_spec_valid(value))
			return err_set(e, EINVAL, "user= \"%s\" is neither a user name nor a uid", value);
		if (str_copy(c->user, sizeof(c->user), value) < 0)
			return err_set(e, ENAMETOOLONG, "user= too long");
		return 0;
	case KEY_RESTART:
		return parse_restart(value, &c->restart, e);
	case KEY_AFTER:
		return parse_after(value, &c->after, e);
	case KEY_DIR:
		free(c->dir);
		c->dir = NULL;
		return parse_dir(value, &c->dir, e);
	case KEY_CAPS:
		c->caps_set = true;
		return svc_caps_parse(value, &c->caps, e);
	case KEY_COUNT:
		break;
	}
	return err_set(e, EINVAL, "internal: bad key");
}

/* One non-blank, non-comment line, already NUL-terminated and trimmed. */
static int conf_line(struct svc_conf *c, char *line, bool seen[KEY_COUNT], struct isc_err *e)
{
	char *eq = strchr(line, '=');
	if (!eq)
		return err_set(e, EINVAL, "expected key=value");
	char *key = line, *value = eq + 1, *end = eq;
	while (end > key && is_blank(end[-1]))
		end--;
	*end = '\0';
	while (is_blank(*value))
		value++;
	for (int k = 0; k < KEY_COUNT; k++) {
		if (!STREQ(key, key_names[k]))
			continue;
		if (seen[k])
			return err_set(e, EINVAL, "duplicate key \"%s\"", key);
		seen[k] = true;
		if (*value == '\0')
			return err_set(e, EINVAL, "empty value for \"%s\"", key);
		return conf_set(c, (enum conf_key)k, value, e);
	}
	return err_set(e, EINVAL, "unknown key \"%.64s\"", key);
}

static void conf_defaults(struct svc_conf *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->user, "root");
	c->restart = SVC_RESTART_ALWAYS;
}

/* Reject what cannot be meant: NUL and control bytes other than tab.  Bytes
 * >= 0x80 pass through untouched (paths may be UTF-8). */
static bool line_clean(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return false;
	}
	return true;
}

int svc_conf_parse(const char *text, size_t len, struct svc_conf *c, struct isc_err *e)
{
	bool seen[KEY_COUNT] = { false };
	unsigned lineno = 0;
	int r = 0;

	conf_defaults(c);
	if (len > SVC_FILE_MAX)
		return err_set(e, EFBIG, "file larger than %d KiB", SVC_FILE_MAX / 1024);
	_cleanup_free_ char *line = malloc(len + 1);
	if (!line)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		if (!line_clean(text + pos, n)) {
			r = err_set(e, EINVAL, "control character in line");
			goto fail;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		char *s = line, *end = line + n;
		while (is_blank(*s))
			s++;
		while (end > s && is_blank(end[-1]))
			*--end = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		if ((r = conf_line(c, s, seen, e)) < 0)
			goto fail;
	}
	if (!c->argv) {
		lineno = 0;
		r = err_set(e, EINVAL, "missing exec=");
		goto fail;
	}
	if (!c->dir && !(c->dir = strdup("/"))) {
		r = err_set(e, ENOMEM, "out of memory");
		goto fail;
	}
	return 0;
fail:
	if (lineno)
		err_prefix(e, "line %u", lineno);
	svc_conf_free(c);
	return r;
}

void svc_conf_free(struct svc_conf *c)
{
	strv_free(c->argv);
	strv_free(c->after);
	free(c->dir);
	conf_defaults(c);
}

/* One argument as svc_exec_split() reads it back: quoted only when needed. */
static int format_arg(FILE *f, const char *a)
{
	if (*a && !strpbrk(a, " \t\""))
		return fputs(a, f);
	fputc('"', f);
	for (; *a; a++) {
		if (*a == '"' || *a == '\\')
			fputc('\\', f);
		fputc(*a, f);
	}
	return fputc('"', f);
}

int svc_conf_format(const struct svc_conf *c, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fputs("exec=", f);
	for (size_t i = 0; c->argv && c->argv[i]; i++) {
		if (i)
			fputc(' ', f);
		format_arg(f, c->argv[i]);
	}
	fprintf(f, "\nuser=%s\nrestart=%s\n", c->user, svc_restart_name(c->restart));
	if (c->after && c->after[0]) {
		fputs("after=", f);
		for (size_t i = 0; c->after[i]; i++)
			fprintf(f, "%s%s", i ? " " : "", c->after[i]);
		fputc('\n', f);
	}
	fprintf(f, "dir=%s\n", c->dir ? c->dir : "/");
	if (c->caps_set) {
		fputs("caps=", f);
		if (!c->caps)
			fputs("none", f);
		for (unsigned i = 0, n = 0; i < 64; i++)
			if (c->caps & (1ULL << i))
				fprintf(f, "%s%s", n++ ? "," : "", svc_cap_name(i));
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}
