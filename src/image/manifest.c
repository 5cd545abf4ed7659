/* manifest.c - per-file digests of an image tree: build by walking, canonical text write, strict parse; iscadm. */
#include "image-internal.h"

#include <fcntl.h>

#define MANIFEST_HEADER "isc-manifest 1"
#define MANIFEST_MAX_ENTRIES (1u << 24)
/* Longest path (unescaped): not PATH_MAX, which a tree can exceed (an ISC
 * nests directories as deep as it likes), but a bound all the same, as a
 * manifest holds every path in full: 64 KiB is 32,768 one-byte levels,
 * tree_walk's own limit.  Longer is refused, when built and when parsed. */
#define MANIFEST_MAX_PATH 65536
_Static_assert(MANIFEST_MAX_PATH == 65536, "parse_path's message names the bound");
/* Longest canonical line: 6 short fields and a fully escaped longest path. */
#define MANIFEST_MAX_LINE (3 * MANIFEST_MAX_PATH + 128)

void manifest_free(struct manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].path);
	free(m->e);
	m->e = NULL;
	m->n = 0;
}

static int manifest_push(struct manifest *m, size_t *cap, struct manifest_entry *ent)
{
	if (m->n >= MANIFEST_MAX_ENTRIES)
		return -E2BIG;
	if (m->n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		struct manifest_entry *v = realloc(m->e, c * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->e = v;
		*cap = c;
	}
	m->e[m->n++] = *ent;
	return 0;
}

/* ---- build ---------------------------------------------------------------- */

struct build_ctx {
	struct manifest *m;
	size_t cap;
	int64_t max_mtime;
	struct isc_err *e;
};

char manifest_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return 'f';
	case S_IFDIR: return 'd';
	case S_IFLNK: return 'l';
	case S_IFCHR: return 'c';
	case S_IFBLK: return 'b';
	case S_IFIFO: return 'p';
	default: return 's';
	}
}

/* Digest and size of a file's bytes or a symlink's target. */
static int entry_hash(struct manifest_entry *ent, const struct tree_entry *te, struct isc_err *e)
{
	char shown[TREE_PATH_SHOW_SIZE];
	if (ent->type == 'l') {
		char target[PATH_MAX];   /* the kernel's own bound for a link target */
		ssize_t n = readlinkat(te->parentfd, te->name, target, sizeof(target));
		if (n < 0 || n == (ssize_t)sizeof(target))
			return err_set(e, n < 0 ? errno : ENAMETOOLONG, "%s: readlink: %s",
				       tree_path_show(te->path, shown), strerror(n < 0 ? errno : ENAMETOOLONG));
		image_sha256_buf(target, (size_t)n, ent->sha256);
		ent->size = (uint64_t)n;
		return 0;
	}
	_cleanup_close_ int fd = openat(te->parentfd, te->name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno, "%s: %s", tree_path_show(te->path, shown), strerror(errno));
	int r = image_sha256_fd(fd, ent->sha256);
	if (r < 0)
		return err_set(e, r, "%s: read: %s", tree_path_show(te->path, shown), strerror(-r));
	return 0;
}

static int build_fn(const struct tree_entry *te, void *data)
{
	struct build_ctx *c = data;
	const struct stat *st = te->st;
	char shown[TREE_PATH_SHOW_SIZE];
	if (te->len > MANIFEST_MAX_PATH)
		return err_set(c->e, ENAMETOOLONG, "%s: path longer than %d bytes (the manifest's limit)",
			       tree_path_show(te->path, shown), MANIFEST_MAX_PATH);
	struct manifest_entry ent = {
		.type = manifest_type(st->st_mode), .mode = st->st_mode & 07777,
		.uid = st->st_uid, .gid = st->st_gid,
		.size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0, .sha256 = "-",
	};
	if (st->st_mtim.tv_sec > c->max_mtime)
		c->max_mtime = st->st_mtim.tv_sec;
	if (ent.type == 'f' || ent.type == 'l') {
		int r = entry_hash(&ent, te, c->e);
		if (r < 0)
			return r;
	}
	if (!(ent.path = strdup(te->path)))
		return err_set(c->e, ENOMEM, "out of memory");
	int r = manifest_push(c->m, &c->cap, &ent);
	if (r < 0) {
		free(ent.path);
		return err_set(c->e, r, "%s: %s", tree_path_show(te->path, shown),
			       r == -E2BIG ? "too many files" : strerror(-r));
	}
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct manifest_entry *)a)->path, ((const struct manifest_entry *)b)->path);
}

int manifest_build_at(int rootfd, const char *tree, struct manifest *m, int64_t *max_mtime,
		      struct isc_err *e)
{
	struct build_ctx c = { .m = m, .e = e };
	*m = (struct manifest){ 0 };
	int r = tree_walk(rootfd, build_fn, &c, e);
	if (r < 0) {
		manifest_free(m);
		return err_prefix(e, "manifest of %s", tree);
	}
	qsort(m->e, m->n, sizeof(*m->e), entry_cmp);
	if (max_mtime)
		*max_mtime = c.max_mtime;
	return 0;
}

int manifest_build(const char *tree, struct manifest *m, struct isc_err *e)
{
	_cleanup_close_ int fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno, "manifest of %s: %s", tree, strerror(errno));
	return manifest_build_at(fd, tree, m, NULL, e);
}

/* ---- write ---------------------------------------------------------------- */

static bool path_byte_plain(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '%';
}

int manifest_write(const struct manifest *m, FILE *f)
{
	fputs(MANIFEST_HEADER "\n", f);
	for (size_t i = 0; i < m->n; i++) {
		const struct manifest_entry *x = &m->e[i];
		fprintf(f, "%c %04o %u %u %llu %s ", x->type, (unsigned)x->mode, (unsigned)x->uid,
			(unsigned)x->gid, (unsigned long long)x->size, x->sha256);
		for (const unsigned char *p = (const unsigned char *)x->path; *p; p++) {
			if (path_byte_plain(*p))
				fputc(*p, f);
			else
				fprintf(f, "%%%02X", *p);
		}
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

/* ---- parse ----------------------------------------------------------------
 * Only the canonical form manifest_write produces is accepted, so that
 * parse(write(m)) == m and write(parse(t)) == t byte for byte. */

struct field {
	const char *p;
	size_t len;
};

/* Decimal without sign or leading zeros, at most max. */
static bool parse_dec(struct field f, uint64_t max, uint64_t *out)
{
	if (f.len == 0 || f.len > 20 || (f.len > 1 && f.p[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < f.len; i++) {
		if (f.p[i] < '0' || f.p[i] > '9')
			return false;
		unsigned d = (unsigned)(f.p[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static const char *parse_mode(struct field f, uint32_t *mode)
{
	if (f.len != 4)
		return "mode must be 4 octal digits";
	uint32_t v = 0;
	for (size_t i = 0; i < 4; i++) {
		if (f.p[i] < '0' || f.p[i] > '7')
			return "mode must be 4 octal digits";
		v = v * 8 + (uint32_t)(f.p[i] - '0');
	}
	*mode = v;
	return NULL;
}

static const char *parse_sha(struct field f, char type, char out[IMAGE_DIGEST_LEN + 1])
{
	if (type != 'f' && type != 'l') {
		if (f.len != 1 || f.p[0] != '-')
			return "digest must be '-' for this type";
		strcpy(out, "-");
		return NULL;
	}
	if (f.len != IMAGE_DIGEST_LEN)
		return "digest must be 64 lowercase hex digits";
	memcpy(out, f.p, f.len);
	out[f.len] = '\0';
	return image_digest_valid(out) ? NULL : "digest must be 64 lowercase hex digits";
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Unescape into out (room for f.len + 1) and check it is a clean absolute path. */
static const char *parse_path(struct field f, char *out)
{
	size_t n = 0;
	for (size_t i = 0; i < f.len; i++) {
		unsigned char c = (unsigned char)f.p[i];
		if (c == '%') {
			int hi = i + 2 < f.len ? hexval(f.p[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(f.p[i + 2]) : -1;
			if (lo < 0)
				return "bad %XX escape in path (uppercase hex)";
			c = (unsigned char)(hi * 16 + lo);
			if (c == 0 || path_byte_plain(c))
				return "needless or NUL %XX escape in path";
			i += 2;
		} else if (!path_byte_plain(c)) {
			return "unescaped byte in path";
		}
		if (n == MANIFEST_MAX_PATH)
			return "path longer than 65536 bytes";
		out[n++] = (char)c;
	}
	out[n] = '\0';
	if (out[0] != '/')
		return "path must begin with '/'";
	if (n > 1 && out[n - 1] == '/')
		return "path must not end with '/'";
	if (strstr(out, "//") || strstr(out, "/./") || strstr(out, "/../") ||
	    (n >= 2 && STREQ(out + n - 2, "/.")) || (n >= 3 && STREQ(out + n - 3, "/..")))
		return "path has an empty, '.' or '..' component";
	return NULL;
}

/* strcmp(a, the first len bytes of b), b holding no NUL there. */
static int path_cmp_n(const char *a, const char *b, size_t len)
{
	int c = strncmp(a, b, len);
	return c == 0 && a[len] != '\0' ? 1 : c;
}

/* Binary search among the (sorted) entries parsed so far for path[0..len). */
static const struct manifest_entry *manifest_find_n(const struct manifest *m, const char *path,
						    size_t len)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = path_cmp_n(m->e[mid].path, path, len);
		if (c == 0)
			return &m->e[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct manifest_entry *manifest_find(const struct manifest *m, const char *path)
{
	return manifest_find_n(m, path, strlen(path));
}

/* Where this entry may go: sorted after the previous one, below a directory. */
static const char *check_place(const struct manifest *m, const struct manifest_entry *x)
{
	if (m->n == 0)
		return STREQ(x->path, "/") && x->type == 'd' ? NULL
			: "first entry must be the root directory '/'";
	if (strcmp(m->e[m->n - 1].path, x->path) >= 0)
		return "entries not sorted by path, or duplicate";
	const char *slash = strrchr(x->path, '/');
	size_t plen = slash == x->path ? 1 : (size_t)(slash - x->path);   /* "/a" -> "/" */
	const struct manifest_entry *pe = manifest_find_n(m, x->path, plen);
	return pe && pe->type == 'd' ? NULL : "parent directory not in the manifest";
}

static int split_fields(const char *line, size_t len, struct field f[7])
{
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (k == 7)
			return -1;
		f[k++] = (struct field){ line + start, i - start };
		start = i + 1;
	}
	return k == 7 ? 0 : -1;
}

static const char *parse_entry(const char *line, size_t len, struct manifest_entry *x, char *path)
{
	struct field f[7];
	uint64_t uid, gid;
	const char *why;
	if (split_fields(line, len, f) < 0)
		return "expected 7 fields separated by single spaces";
	if (f[0].len != 1 || !f[0].p[0] || !strchr("fdlcbps", f[0].p[0]))
		return "type must be one of f d l c b p s";
	x->type = f[0].p[0];
	if ((why = parse_mode(f[1], &x->mode)))
		return why;
	if (!parse_dec(f[2], UINT32_MAX, &uid) || !parse_dec(f[3], UINT32_MAX, &gid))
		return "uid and gid must be decimal numbers below 2^32";
	x->uid = (uint32_t)uid;
	x->gid = (uint32_t)gid;
	if (!parse_dec(f[4], INT64_MAX, &x->size))
		return "size must be a decimal number";
	if (x->size != 0 && x->type != 'f' && x->type != 'l')
		return "size must be 0 for this type";
	if ((why = parse_sha(f[5], x->type, x->sha256)))
		return why;
	return parse_path(f[6], path);
}

static int parse_line(struct manifest *m, size_t *cap, const char *line, size_t len,
		      size_t lineno, struct isc_err *e)
{
	struct manifest_entry x = { 0 };
	if (len > MANIFEST_MAX_LINE)
		return err_set(e, EINVAL, "manifest line %zu: line longer than %d bytes", lineno,
			       MANIFEST_MAX_LINE);
	/* the path is no longer than the line it is written on */
	_cleanup_free_ char *path = malloc(len + 1);
	if (!path)
		return err_set(e, ENOMEM, "out of memory");
	const char *why = parse_entry(line, len, &x, path);
	if (!why) {
		x.path = path;
		why = check_place(m, &x);
	}
	if (why)
		return err_set(e, EINVAL, "manifest line %zu: %s", lineno, why);
	char *fit = realloc(path, strlen(path) + 1);
	x.path = fit ? fit : path;
	path = NULL;
	int r = manifest_push(m, cap, &x);
	if (r < 0) {
		free(x.path);
		return err_set(e, r, "manifest line %zu: %s", lineno,
			       r == -E2BIG ? "too many entries" : strerror(-r));
	}
	return 0;
}

int manifest_parse(const char *text, size_t len, struct manifest *m, struct isc_err *e)
{
	size_t hl = strlen(MANIFEST_HEADER), cap = 0, lineno = 2;
	*m = (struct manifest){ 0 };
	if (len <= hl || memcmp(text, MANIFEST_HEADER "\n", hl + 1) != 0)
		return err_set(e, EINVAL, "manifest line 1: missing header '%s'", MANIFEST_HEADER);
	for (size_t pos = hl + 1; pos < len; lineno++) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		if (!nl) {
			manifest_free(m);
			return err_set(e, EINVAL, "manifest line %zu: no newline at end of file", lineno);
		}
		size_t ll = (size_t)(nl - (text + pos));
		int r = parse_line(m, &cap, text + pos, ll, lineno, e);
		if (r < 0) {
			manifest_free(m);
			return r;
		}
		pos += ll + 1;
	}
	if (m->n == 0)
		return err_set(e, EINVAL, "manifest line %zu: no entries (root directory '/' missing)", lineno);
	return 0;
}
