/* svc_set.c - load every service file of the image, resolve after= and find cycles; runs in isc-init at boot. */
#include "services.h"

#include <dirent.h>
#include <fcntl.h>

static struct svc *set_append(struct svc_set *set, const char *name)
{
	if (set->n >= SVC_MAX || !name_valid(name) || svc_set_find(set, name))
		return NULL;
	struct svc *v = realloc(set->v, (set->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	set->v = v;
	struct svc *s = &v[set->n++];
	memset(s, 0, sizeof(*s));
	strcpy(s->name, name);   /* name_valid() bounds it below SVC_NAME_MAX */
	s->state = SVC_DOWN;
	s->ready_fd = -1;
	s->backoff_ms = SVC_BACKOFF_MIN_MS;
	return s;
}

static int set_note(struct svc_set *set, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_note(struct svc_set *set, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return strv_push(&set->notes, line);
}

static int svc_error(struct svc *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int svc_error(struct svc *s, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	free(s->error);
	s->error = msg;
	return 0;
}

int svc_set_add_text(struct svc_set *set, const char *name, const char *text, size_t len,
		     const char *path)
{
	struct isc_err e = { 0 };
	struct svc *s = set_append(set, name);
	if (!s)
		return -EINVAL;
	if (svc_conf_parse(text, len, &s->conf, &e) < 0)
		return svc_error(s, "%s: %s", path, e.msg);
	return 0;
}

int svc_set_add_conf(struct svc_set *set, const char *name, struct svc_conf *c)
{
	struct svc *s = set_append(set, name);
	if (!s)
		return -EINVAL;
	s->conf = *c;
	memset(c, 0, sizeof(*c));
	return 0;
}

/* A file that cannot be read still names a service: it shows up in
 * maintenance rather than silently missing. */
static int set_add_file(struct svc_set *set, int dirfd, const char *path, const char *name)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_file_at(dirfd, name, &text, &len, SVC_FILE_MAX);
	if (r == 0)
		return svc_set_add_text(set, name, text, len, path);
	struct svc *s = set_append(set, name);
	if (!s)
		return -ENOMEM;
	const char *why = r == -EFBIG ? "file larger than 64 KiB"
			: r == -EINVAL ? "not a regular file"
			: r == -ELOOP ? "is a symbolic link" : strerror(-r);
	return svc_error(s, "%s: %s", path, why);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int svc_set_load(struct svc_set *set, int dirfd, const char *dirpath)
{
	_cleanup_strv_ char **names = calloc(1, sizeof(char *));
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 || !names) {
		if (fd >= 0)
			close(fd);
		return fd < 0 ? -errno : -ENOMEM;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')   /* ., .. and hidden files: editors' leftovers */
			continue;
		if (!name_valid(de->d_name))
			set_note(set, "%s/%s: ignored, not a valid service name", dirpath, de->d_name);
		else if (strv_push(&names, de->d_name) < 0)
			break;
	}
	closedir(d);
	size_t n = strv_length(names);
	qsort(names, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		if (i >= SVC_MAX) {
			set_note(set, "%s/%s: ignored, more than %d services", dirpath, names[i], SVC_MAX);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dirpath, names[i]);
		set_add_file(set, dirfd, path, names[i]);
	}
	return 0;
}

struct svc *svc_set_find(struct svc_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (STREQ(set->v[i].name, name))
			return &set->v[i];
	return NULL;
}

static int link_deps(struct svc_set *set, struct svc *s)
{
	size_t n = strv_length(s->conf.after);
	if (n == 0)
		return 0;
	s->deps = calloc(n, sizeof(size_t));
	if (!s->deps)
		return svc_error(s, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *dep = s->conf.after[i];
		struct svc *d = svc_set_find(set, dep);
		if (STREQ(dep, s->name))
			return svc_error(s, "after=%s: a service cannot wait for itself", dep);
		if (!d)
			return svc_error(s, "after=%s: no service named %s", dep, dep);
		s->deps[s->ndeps++] = (size_t)(d - set->v);
	}
	return 0;
}

enum { WHITE, GRAY, BLACK };

/* Depth-first search; a dependency still GRAY closes a cycle, whose members
 * all get the error (none of them could ever start). */
static void cycle_visit(struct svc_set *set, size_t u, unsigned char *color, size_t *stack,
			size_t depth)
{
	color[u] = GRAY;
	stack[depth] = u;
	struct svc *s = &set->v[u];
	for (size_t i = 0; i < s->ndeps; i++) {
		size_t d = s->deps[i];
		if (color[d] == WHITE) {
			cycle_visit(set, d, color, stack, depth + 1);
		} else if (color[d] == GRAY) {
			char msg[512] = "dependency cycle:";
			size_t from = 0;
			while (stack[from] != d)
				from++;
			for (size_t k = from; k <= depth; k++)
				snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " %s ->",
					 set->v[stack[k]].name);
			snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " %s", set->v[d].name);
			for (size_t k = from; k <= depth; k++)
				if (!set->v[stack[k]].error)
					svc_error(&set->v[stack[k]], "%s", msg);
		}
	}
	color[u] = BLACK;
}

void svc_set_link(struct svc_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct svc *s = &set->v[i];
		if (!s->error && link_deps(set, s) < 0 && !s->error)
			svc_error(s, "out of memory");
		if (s->error)
			s->ndeps = 0;   /* never started, so never waits */
	}
	_cleanup_free_ unsigned char *color = calloc(set->n + 1, 1);
	_cleanup_free_ size_t *stack = calloc(set->n + 1, sizeof(size_t));
	if (!color || !stack)
		return;
	for (size_t i = 0; i < set->n; i++)
		if (color[i] == WHITE)
			cycle_visit(set, i, color, stack, 0);
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].error)
			set->v[i].state = SVC_MAINTENANCE;
}

void svc_set_free(struct svc_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		svc_conf_free(&set->v[i].conf);
		free(set->v[i].error);
		free(set->v[i].deps);
	}
	free(set->v);
	strv_free(set->notes);
	memset(set, 0, sizeof(*set));
}

static int cmp_index(const void *a, const void *b, void *arg)
{
	const struct svc_set *set = arg;
	return strcmp(set->v[*(const size_t *)a].name, set->v[*(const size_t *)b].name);
}

int svc_set_format(const struct svc_set *set, char **out, size_t *len)
{
	/* "maintenance" + blank + name + newline is the longest line */
	size_t cap = set->n * (12 + SVC_NAME_MAX + 1) + 1, n = 0;
	_cleanup_free_ char *buf = malloc(cap);
	_cleanup_free_ size_t *idx = calloc(set->n + 1, sizeof(size_t));
	if (!buf || !idx)
		return -ENOMEM;
	for (size_t i = 0; i < set->n; i++)
		idx[i] = i;
	qsort_r(idx, set->n, sizeof(size_t), cmp_index, (void *)set);
	buf[0] = '\0';
	for (size_t i = 0; i < set->n; i++) {
		const struct svc *s = &set->v[idx[i]];
		n += (size_t)snprintf(buf + n, cap - n, "%s %s\n", svc_state_public(s->state), s->name);
	}
	*len = n;
	*out = TAKE_PTR(buf);
	return 0;
}
