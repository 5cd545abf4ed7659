/* inspect.c - what a layer holds against the recorded manifests: an image
 * blob's files (verify's per-file report) and an ISC's writable upper over
 * its version's stack (verify's policy, diff); iscadm. */
#include "image-internal.h"
#include "config.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

/* A manifest is text the pool holds for a blob; bounded all the same. */
#define MANIFEST_FILE_MAX (1ull << 30)

int image_manifest_load(const struct pool *p, const char *digest, struct manifest *m,
			struct isc_err *e)
{
	char path[128];
	_cleanup_free_ char *text = NULL;
	size_t len;
	*m = (struct manifest){ 0 };
	if (!image_digest_valid(digest))
		return err_set(e, EINVAL, "invalid image digest '%.80s'", digest);
	snprintf(path, sizeof(path), "images/%s.manifest", digest);
	int r = read_file_at(p->dirfd, path, &text, &len, MANIFEST_FILE_MAX);
	if (r < 0)
		return err_set(e, -r, "image %.12s…: manifest: %s", digest,
			       r == -ENOENT ? "missing" : strerror(-r));
	r = manifest_parse(text, len, m, e);
	return r < 0 ? err_prefix(e, "image %.12s…: manifest", digest) : 0;
}

/* What differs between two entries of one path. */
static unsigned entry_diff(const struct manifest_entry *a, const struct manifest_entry *b)
{
	unsigned w = 0;
	if (a->type != b->type)
		return IMAGE_DIFF_TYPE;
	if (a->mode != b->mode)
		w |= IMAGE_DIFF_MODE;
	if (a->uid != b->uid || a->gid != b->gid)
		w |= IMAGE_DIFF_OWNER;
	if (a->size != b->size || !STREQ(a->sha256, b->sha256))
		w |= IMAGE_DIFF_CONTENT;
	return w;
}

/* Two sorted manifests side by side: was (recorded) against now (found). */
static int manifest_compare(const struct manifest *was, const struct manifest *now,
			    image_diff_fn fn, void *data)
{
	size_t i = 0, j = 0;
	int r = 0;
	while (r == 0 && (i < was->n || j < now->n)) {
		int c = i == was->n ? 1 : j == now->n ? -1 : strcmp(was->e[i].path, now->e[j].path);
		struct image_diff d = { 0 };
		if (c < 0) {
			d = (struct image_diff){ .kind = IMAGE_DELETED, .path = was->e[i].path,
						 .was = &was->e[i] };
			i++;
		} else if (c > 0) {
			d = (struct image_diff){ .kind = IMAGE_ADDED, .path = now->e[j].path, .now = &now->e[j] };
			j++;
		} else {
			d = (struct image_diff){ .kind = IMAGE_CHANGED, .path = now->e[j].path,
						 .was = &was->e[i], .now = &now->e[j],
						 .what = entry_diff(&was->e[i], &now->e[j]) };
			i++, j++;
		}
		if (d.kind != IMAGE_CHANGED || d.what)
			r = fn(&d, data);
	}
	return r;
}

int image_blob_compare(const struct pool *p, const char *digest, image_diff_fn fn, void *data,
		       struct isc_err *e)
{
	struct manifest was = { 0 }, now = { 0 };
	int r = image_manifest_load(p, digest, &was, e);
	if (r < 0)
		return r;
	char path[128];
	snprintf(path, sizeof(path), "images/%s.erofs", digest);
	_cleanup_close_ int fd = openat(p->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		manifest_free(&was);
		return err_set(e, errno, "image %.12s…: %s", digest, strerror(errno));
	}
	/* A detached mount, gone with its descriptor: nothing on the host's
	 * tree, nothing to clean up.  Read-only, and nothing in it runs,
	 * raises privileges or opens a device: the blob failed its digest. */
	_cleanup_close_ int m = mnt_erofs(fd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					  MOUNT_ATTR_NOEXEC, EROFS_AUTO, e);
	if (m < 0) {
		manifest_free(&was);
		return err_prefix(e, "image %.12s…", digest);
	}
	r = manifest_build_at(m, digest, &now, NULL, e);
	if (r == 0)
		r = manifest_compare(&was, &now, fn, data);
	manifest_free(&was);
	manifest_free(&now);
	return r;
}

/* ---- a stack of layers ----------------------------------------------------- */

int image_stack_load(const struct pool *p, char (*digests)[IMAGE_DIGEST_LEN + 1], size_t n,
		     struct image_stack *s, struct isc_err *e)
{
	*s = (struct image_stack){ .m = calloc(n ? n : 1, sizeof(*s->m)) };
	if (!s->m)
		return err_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		int r = image_manifest_load(p, digests[i], &s->m[i], e);
		if (r < 0) {
			image_stack_free(s);
			return r;
		}
		s->n++;
	}
	return 0;
}

void image_stack_free(struct image_stack *s)
{
	for (size_t i = 0; i < s->n; i++)
		manifest_free(&s->m[i]);
	free(s->m);
	*s = (struct image_stack){ 0 };
}

/* In a delta layer (any but the bottom one) a character device with
 * nothing recorded is an overlayfs whiteout: commits strip real devices. */
static bool entry_whiteout(const struct manifest_entry *x)
{
	return x->type == 'c' && x->size == 0 && x->mode == 0;
}

const struct manifest_entry *image_stack_find(const struct image_stack *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct manifest_entry *x = manifest_find(&s->m[i], path);
		if (x)
			return i + 1 < s->n && entry_whiteout(x) ? NULL : x;
	}
	return NULL;
}

/* ---- an upper over the stack ----------------------------------------------- */

struct upper_ctx {
	const char *at;                 /* where the layer is mounted in the ISC: "/var" */
	uint32_t uid_base;
	const struct image_stack *stack;
	image_diff_fn fn;
	void *data;
	struct isc_err *e;
	char *path;                     /* at + the entry's path */
	size_t cap;
};

/* The first bytes and the digest of a regular file an ISC wrote, read
 * without following anything: the walk saw a regular file by name, and
 * it is opened as a path first so that a name swapped meanwhile for a
 * FIFO or a device is never opened for reading. */
static int upper_file_read(const struct tree_entry *te, char head[4], size_t *nhead,
			   char sha[IMAGE_DIGEST_LEN + 1], bool want_sha)
{
	_cleanup_close_ int pfd = openat(te->parentfd, te->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_ino != te->st->st_ino)
		return -ESTALE;
	char self[48];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	_cleanup_close_ int fd = open(self, O_RDONLY | O_NOCTTY | O_CLOEXEC);   /* the inode just checked */
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, head, 4, 0);
	*nhead = n > 0 ? (size_t)n : 0;
	return want_sha ? image_sha256_fd(fd, sha) : 0;
}

/* overlayfs marks a directory that replaces the lower's with this xattr */
static bool dir_opaque(const struct tree_entry *te)
{
	_cleanup_close_ int fd = openat(te->parentfd, te->name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char v[2];
	return fd >= 0 && fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
}

static int upper_fn(const struct tree_entry *te, void *data)
{
	struct upper_ctx *c = data;
	const struct stat *st = te->st;
	if (te->depth == 0)
		return 0;
	size_t alen = STREQ(c->at, "/") ? 0 : strlen(c->at);
	if (alen + te->len + 1 > c->cap) {
		size_t cap = alen + te->len + 1 + 256;
		char *np = realloc(c->path, cap);
		if (!np)
			return err_set(c->e, ENOMEM, "out of memory");
		c->path = np, c->cap = cap;
	}
	memcpy(c->path, c->at, alen);
	memcpy(c->path + alen, te->path, te->len + 1);

	struct manifest_entry now = {
		.type = manifest_type(st->st_mode), .mode = st->st_mode & 07777,
		.uid = st->st_uid, .gid = st->st_gid, .sha256 = "-", .path = c->path,
		.size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0,
	};
	struct image_diff d = { .path = c->path, .now = &now };
	/* the upper keeps the ISC's host ids: shown and compared as inside */
	if (st->st_uid - c->uid_base < ISC_UID_COUNT && st->st_gid - c->uid_base < ISC_UID_COUNT) {
		now.uid -= c->uid_base;
		now.gid -= c->uid_base;
	} else {
		d.foreign_owner = true;
	}
	bool whiteout = S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
	d.device = (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) && !whiteout;
	d.setid = !S_ISDIR(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID));
	const struct manifest_entry *was = c->stack ? image_stack_find(c->stack, c->path) : NULL;
	d.was = was;
	if (whiteout) {
		if (!was && c->stack)
			return 0;       /* hides what no layer has: nothing changes */
		d.kind = IMAGE_DELETED;
		d.now = NULL;
		return c->fn(&d, c->data);
	}
	if (S_ISREG(st->st_mode)) {
		char head[4];
		size_t nh = 0;
		bool same_size = was && was->type == 'f' && was->size == now.size;
		int r = upper_file_read(te, head, &nh, now.sha256, same_size);
		if (r == -ESTALE || r == -ENOENT)
			return 0;       /* gone or replaced while we looked: a running ISC */
		if (r < 0) {
			char shown[TREE_PATH_SHOW_SIZE];
			return err_set(c->e, -r, "%s: %s", tree_path_show(c->path, shown), strerror(-r));
		}
		if (!same_size)
			snprintf(now.sha256, sizeof(now.sha256), "?");
		/* what it is says more than its mode bits */
		if (nh == 4 && memcmp(head, "\177ELF", 4) == 0)
			d.exec = IMAGE_EXEC_ELF;
		else if (nh >= 2 && head[0] == '#' && head[1] == '!')
			d.exec = IMAGE_EXEC_SCRIPT;
		else if (st->st_mode & 0111)
			d.exec = IMAGE_EXEC_MODE;
	}
	if (!was) {
		d.kind = IMAGE_ADDED;
	} else {
		d.kind = IMAGE_CHANGED;
		d.what = entry_diff(was, &now);
		if (now.type == 'f' && was->type == 'f' && was->size != now.size)
			d.what |= IMAGE_DIFF_CONTENT;
		/* an opaque directory hides all the stack has below it */
		if (S_ISDIR(st->st_mode) && dir_opaque(te))
			d.what |= IMAGE_DIFF_CONTENT;
	}
	if (d.kind == IMAGE_CHANGED && !d.what && !d.device && !d.setid && !d.exec && !d.foreign_owner)
		return 0;       /* a directory overlayfs copied up for what it holds */
	return c->fn(&d, c->data);
}

int image_upper_diff(int upperfd, const char *at, uint32_t uid_base, const struct image_stack *stack,
		     image_diff_fn fn, void *data, struct isc_err *e)
{
	struct upper_ctx c = { .at = at, .uid_base = uid_base, .stack = stack, .fn = fn,
			       .data = data, .e = e };
	int r = tree_walk(upperfd, upper_fn, &c, e);
	free(c.path);
	return r;
}
