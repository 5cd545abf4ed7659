/* integrity.c - verify (an ISC's layers against their digests and
 * manifests, its writable layers against its profile) and diff (what the
 * writable layers change); iscadm, for a running or a halted ISC. */
#include "isc.h"
#include "image.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

/* The writable layers of an ISC, where they are mounted inside. */
struct upper {
	char at[PATH_MAX];
	int fd;                 /* the upper directory, or -1: none yet */
	bool volume;
};

struct inspect {
	const struct isc_config *c;
	isc_finding_fn fn;
	void *data;
	unsigned findings;
	const char *where;      /* the layer being walked */
	bool policy;            /* verify (policy) or diff (every change) */
	int varfs;              /* a halted ISC's /var filesystem, mounted detached */
	struct minisign_pub keys[2];    /* what its layers must be signed by */
	size_t nkeys;
	/* the snapshots' frozen layers below an upper: what a higher layer of
	 * the same stack showed (seen) or deleted (gone) hides theirs; sorted
	 * up to nsorted (the layers done), for bsearch */
	bool below;
	struct pathset { char **v; size_t n, cap, nsorted; } seen, gone;
};

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool set_has(const struct pathset *s, const char *path)
{
	return s->nsorted && bsearch(&path, s->v, s->nsorted, sizeof(char *), cmp_path);
}

static int set_add(struct pathset *s, const char *path)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		char **v = realloc(s->v, cap * sizeof(char *));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	if (!(s->v[s->n] = strdup(path)))
		return -ENOMEM;
	s->n++;
	return 0;
}

/* A layer is done: what it held hides the layers below it. */
static void set_seal(struct pathset *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(char *), cmp_path);
	s->nsorted = s->n;
}

static void set_free(struct pathset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (struct pathset){ 0 };
}

/* Below an upper: is path shown (or deleted) by a higher layer, or under
 * a directory one deleted?  Above: remember it for the layers below. */
static bool hidden(struct inspect *in, const struct image_diff *d, int *r)
{
	if (in->below) {
		if (set_has(&in->seen, d->path))
			return true;
		char up[PATH_MAX];
		snprintf(up, sizeof(up), "%s", d->path);
		for (char *slash = strrchr(up, '/'); slash && slash > up; slash = strrchr(up, '/')) {
			*slash = '\0';
			if (set_has(&in->gone, up))
				return true;
		}
	}
	*r = set_add(&in->seen, d->path);
	if (*r == 0 && d->kind == IMAGE_DELETED)
		*r = set_add(&in->gone, d->path);
	return false;
}

static int say(struct inspect *in, enum isc_finding_kind kind, const char *path,
	       const struct image_diff *d, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int say(struct inspect *in, enum isc_finding_kind kind, const char *path,
	       const struct image_diff *d, const char *fmt, ...)
{
	char detail[512] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	struct isc_finding f = { .kind = kind, .where = in->where, .path = path, .diff = d,
				 .detail = detail };
	in->findings++;
	return in->fn(&f, in->data);
}

/* "mode 0755 -> 4755, owner 0:0 -> 5:5, content" */
static void diff_text(const struct image_diff *d, char *buf, size_t n)
{
	size_t k = 0;
	buf[0] = '\0';
#define ADD(...) (k += (size_t)snprintf(buf + k, k < n ? n - k : 0, __VA_ARGS__), k = k < n ? k : n - 1)
	if (d->what & IMAGE_DIFF_TYPE)
		ADD("type %c -> %c", d->was->type, d->now->type);
	if (d->what & IMAGE_DIFF_MODE)
		ADD("%smode %04o -> %04o", k ? ", " : "", (unsigned)d->was->mode, (unsigned)d->now->mode);
	if (d->what & IMAGE_DIFF_OWNER)
		ADD("%sowner %u:%u -> %u:%u", k ? ", " : "", (unsigned)d->was->uid, (unsigned)d->was->gid,
		    (unsigned)d->now->uid, (unsigned)d->now->gid);
	if (d->what & IMAGE_DIFF_CONTENT)
		ADD("%scontent", k ? ", " : "");
#undef ADD
}

/* ---- the image layers ----------------------------------------------------- */

static int blob_file_fn(const struct image_diff *d, void *data)
{
	struct inspect *in = data;
	char what[160];
	switch (d->kind) {
	case IMAGE_ADDED:
		return say(in, ISC_FINDING_FILE, d->path, d, "added (not in the manifest)");
	case IMAGE_DELETED:
		return say(in, ISC_FINDING_FILE, d->path, d, "removed (in the manifest)");
	case IMAGE_CHANGED:
		diff_text(d, what, sizeof(what));
		return say(in, ISC_FINDING_FILE, d->path, d, "modified: %s", what);
	}
	return 0;
}

/* The signature an ISC that requires one must find on every layer. */
static int layer_signed(const struct pool *p, struct inspect *in, const char *digest)
{
	char path[128];
	struct isc_err se = { 0 };
	snprintf(path, sizeof(path), "images/%s.erofs", digest);
	_cleanup_close_ int fd = openat(p->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && image_signature_check(p, digest, fd, in->keys, in->nkeys, &se) == 0)
		return 0;
	return say(in, ISC_FINDING_SIGNATURE, NULL, NULL, "%s", fd < 0 ? strerror(errno) : se.msg);
}

static int layers_check(const struct pool *p, struct inspect *in, char (*layers)[65], size_t n,
			isc_progress_fn progress, void *pdata)
{
	for (size_t i = 0; i < n; i++) {
		char where[64], line[96];
		struct isc_err le = { 0 };
		snprintf(where, sizeof(where), "layer %zu/%zu %.12s", i + 1, n, layers[i]);
		in->where = where;
		if (progress) {
			snprintf(line, sizeof(line), "hashing %s", where);
			progress(line, pdata);
		}
		int r = image_verify(p, layers[i], &le);
		if (r == -ENOENT) {
			if ((r = say(in, ISC_FINDING_LAYER, NULL, NULL, "missing from the store")) < 0)
				return r;
			continue;
		}
		if (r < 0 && r != -EBADMSG)
			return say(in, ISC_FINDING_LAYER, NULL, NULL, "%s", le.msg);
		struct manifest m;
		struct isc_err me = { 0 };
		int mr = image_manifest_load(p, layers[i], &m, &me);
		if (mr < 0 && (mr = say(in, ISC_FINDING_MANIFEST, NULL, NULL, "%s", me.msg)) < 0)
			return mr;
		if (mr == 0)
			manifest_free(&m);
		if (r == 0 && in->nkeys && (r = layer_signed(p, in, layers[i])) < 0)
			return r;
		if (r == 0)
			continue;
		/* the blob is not what its name says: which files differ */
		if ((r = say(in, ISC_FINDING_LAYER, NULL, NULL, "%s", le.msg)) < 0)
			return r;
		struct isc_err ce = { 0 };
		r = image_blob_compare(p, layers[i], blob_file_fn, in, &ce);
		if (r < 0 && (r = say(in, ISC_FINDING_LAYER, NULL, NULL, "no per-file report: %s", ce.msg)) < 0)
			return r;
	}
	in->where = NULL;
	return 0;
}

/* ---- the writable layers -------------------------------------------------- */

/* Is path (inside the ISC) below one the profile keeps the image's,
 * read-only, over its layer?  Whatever a layer holds there never shows;
 * it was put there from outside, or before the profile changed. */
static const char *ro_path(const struct isc_config *c, const char *path)
{
	for (const struct profile_path *pp = profile_paths(c->profile); pp->kind != PP_END; pp++) {
		size_t l = strlen(pp->path);
		if (pp->kind == PP_IMAGE_RO && strncmp(path, pp->path, l) == 0 &&
		    (path[l] == '/' || path[l] == '\0'))
			return pp->path;
	}
	return NULL;
}

static int policy_fn(const struct image_diff *d, void *data)
{
	struct inspect *in = data;
	const struct manifest_entry *x = d->now;
	int r = 0;
	if (hidden(in, d, &r) || r < 0)
		return r;
	if (!in->policy) {
		char what[160] = "";
		if (d->kind == IMAGE_CHANGED)
			diff_text(d, what, sizeof(what));
		enum isc_finding_kind k = d->kind == IMAGE_ADDED ? ISC_CHANGE_ADDED :
					  d->kind == IMAGE_DELETED ? ISC_CHANGE_DELETED : ISC_CHANGE_CHANGED;
		return say(in, k, d->path, d, "%s", what);
	}
	if (!x)
		return 0;       /* a deletion breaks no rule */
	const char *ro = ro_path(in->c, d->path);
	if (ro)
		r = say(in, ISC_FINDING_RO_PATH, d->path, d, "below %s, which the profile keeps read-only", ro);
	if (r == 0 && d->device)
		r = say(in, ISC_FINDING_DEVICE, d->path, d, "device node (%s)", x->type == 'b' ? "block" : "character");
	if (r == 0 && d->setid)
		r = say(in, ISC_FINDING_SETID, d->path, d, "mode %04o (set%s)", (unsigned)x->mode,
			(x->mode & 04000) ? "uid" : "gid");
	/* profile none runs what it writes: that is what none means */
	if (r == 0 && d->exec != IMAGE_EXEC_NONE && in->c->profile != PROFILE_NONE)
		r = say(in, ISC_FINDING_EXEC, d->path, d, "%s",
			d->exec == IMAGE_EXEC_MODE ? "executable mode bits" :
			d->exec == IMAGE_EXEC_ELF ? "ELF binary" : "script (#!)");
	if (r == 0 && d->foreign_owner)
		r = say(in, ISC_FINDING_OWNER, d->path, d, "owned by host ids %u:%u, outside the ISC's",
			(unsigned)x->uid, (unsigned)x->gid);
	return r;
}

/* The supervisor's /var filesystem as it sees it, or a halted ISC's
 * var.img mounted here, read-only, replaying nothing, for the walk only. */
static int var_upper_open(const struct pool *p, struct inspect *in, pid_t supervisor, struct isc_err *e)
{
	char path[PATH_MAX];
	const struct isc_config *c = in->c;
	if (supervisor > 0) {
		/* /proc/PID/root resolves in the supervisor's mount namespace */
		char varfs[PATH_MAX];
		if (run_path(varfs, sizeof(varfs), c->name, "varfs") < 0)
			return err_set(e, ENAMETOOLONG, "%s: run path too long", c->name);
		snprintf(path, sizeof(path), "/proc/%d/root%s/var/upper", (int)supervisor, varfs);
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			return err_sys(e, errno, "%s: /var's layer", c->name);
		return fd < 0 ? -ENOENT : fd;
	}
	snprintf(path, sizeof(path), "isc/%s/data/var.img", c->name);
	_cleanup_close_ int img = openat(p->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (img < 0)
		return errno == ENOENT ? -ENOENT : err_sys(e, errno, "%s/%s", p->path, path);
	char dev[32], so[48];
	_cleanup_close_ int lfd = loop_attach_fd(img, "isc-var-inspect", true, dev, sizeof(dev), e);
	if (lfd < 0)
		return lfd;
	snprintf(so, sizeof(so), "source=%s", dev);
	const char *opts[] = { so, "ro", "noload", NULL };
	in->varfs = mnt_fs("ext4", opts, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			   MOUNT_ATTR_NOEXEC, e);
	if (in->varfs < 0)
		return err_prefix(e, "%s: /var's filesystem", c->name);
	int fd = openat(in->varfs, "var/upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? (errno == ENOENT ? -ENOENT : err_sys(e, errno, "%s: /var's layer", c->name)) : fd;
}

static int upper_walk(const struct pool *p, struct inspect *in, const struct image_stack *stack,
		      int fd, const char *at, uint32_t uid, bool volume, struct isc_err *e)
{
	char where[PATH_MAX + 16];
	snprintf(where, sizeof(where), "%s%s", volume ? "volume " : "", at);
	in->where = where;
	int r = image_upper_diff(fd, at, uid, volume ? NULL : stack, policy_fn, in, e);
	in->where = NULL;
	return r < 0 ? err_prefix(e, "%s: %s", in->c->name, where) : 0;
}

/* The frozen layers under layer's upper (its snapshots', its origin's),
 * each seen through what the layers above it show. */
static int frozen_walk(const struct pool *p, struct inspect *in, const struct image_stack *stack,
		       const struct frozen_layer *fl, size_t nfl, const char *layer, const char *at,
		       struct isc_err *e)
{
	int r = 0;
	set_seal(&in->seen);
	set_seal(&in->gone);
	for (size_t i = 0; r == 0 && i < nfl; i++) {
		char path[PATH_MAX], where[PATH_MAX + 64];
		snprintf(path, sizeof(path), "isc/%s/data/layers/%s/frozen/%u", fl[i].isc, layer, fl[i].id);
		_cleanup_close_ int fd = openat(p->dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0)
			return err_sys(e, errno, "%s: frozen layer %s/%u of %s", in->c->name, fl[i].isc, fl[i].id,
				       layer);
		snprintf(where, sizeof(where), "%s (snapshot layer %s/%u)", at, fl[i].isc, fl[i].id);
		in->below = true;
		in->where = where;
		r = image_upper_diff(fd, at, fl[i].uid, stack, policy_fn, in, e);
		in->where = NULL;
		in->below = false;
		if (r < 0)
			return err_prefix(e, "%s: %s", in->c->name, where);
		set_seal(&in->seen);
		set_seal(&in->gone);
	}
	set_free(&in->seen);
	set_free(&in->gone);
	return 0;
}

static int layer_open(const struct pool *p, const char *name, const char *layer)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "isc/%s/data/layers/%s/upper", name, layer);
	int fd = openat(p->dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Each writable layer the profile mounts (none: the whole root's), its
 * upper and the frozen layers below it, then the volumes. */
static int uppers_walk(const struct pool *p, struct inspect *in, const struct image_stack *stack,
		       struct isc_err *e)
{
	const struct isc_config *c = in->c;
	struct run_state st;
	pid_t sup = isc_run_state(c->name, &st) == 0 ? st.supervisor : 0;
	static struct frozen_layer fl[ISC_MAX_FROZEN];
	int nfl = isc_frozen_stack(p, c, &c->head, fl, ISC_MAX_FROZEN, e);
	if (nfl < 0)
		return nfl;
	int r = 0;
	struct { const char *layer, *at; } ls[8];
	size_t n = 0;
	if (c->profile == PROFILE_NONE)
		ls[n++] = (typeof(ls[0])){ "root", "/" };
	for (const struct profile_path *pp = profile_paths(c->profile); pp->kind != PP_END && n < 8; pp++)
		if (pp->kind == PP_LAYER)
			ls[n++] = (typeof(ls[0])){ pp->layer, pp->path };
	for (size_t i = 0; r == 0 && i < n; i++) {
		bool var = c->var_size && STREQ(ls[i].layer, "var");
		_cleanup_close_ int fd = var ? var_upper_open(p, in, sup, e) : layer_open(p, c->name, ls[i].layer);
		if (fd < 0 && fd != -ENOENT)       /* -ENOENT: never booted, nothing written */
			return e->code ? fd : err_sys(e, -fd, "%s: layer %s", c->name, ls[i].layer);
		if (fd >= 0)
			r = upper_walk(p, in, stack, fd, ls[i].at, c->uid, false, e);
		if (r == 0 && !var)
			r = frozen_walk(p, in, stack, fl, (size_t)nfl, ls[i].layer, ls[i].at, e);
	}
	for (size_t i = 0; r == 0 && c->volumes[i]; i++) {
		char esc[PATH_MAX], path[PATH_MAX + 64];
		volume_dir_name(c->volumes[i], esc, sizeof(esc));
		snprintf(path, sizeof(path), "isc/%s/data/volumes/%s", c->name, esc);
		_cleanup_close_ int fd = openat(p->dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0)
			return err_sys(e, errno, "%s: volume %s", c->name, c->volumes[i]);
		r = upper_walk(p, in, stack, fd, c->volumes[i], c->uid, true, e);
	}
	set_free(&in->seen);
	set_free(&in->gone);
	return r;
}

/* The current version's layers, its manifests, the key: what both need. */
static int inspect_run(const struct pool *p, struct inspect *in, bool layers_too,
		       isc_progress_fn progress, void *pdata, struct isc_err *e)
{
	const struct isc_config *c = in->c;
	char layers[ISC_MAX_LAYERS][65];
	int n = config_layers(c, c->digest, layers, ISC_MAX_LAYERS);
	if (n < 0)
		return err_set(e, -n, "%s: version %.12s: its layers nest too deep", c->name, c->digest);
	int r = 0;
	/* never fail open: a required key that cannot be read stops the check */
	if (layers_too && (r = image_trusted_keys(p, c, in->keys, &in->nkeys, e)) < 0)
		return r;
	if (layers_too && (r = layers_check(p, in, layers, (size_t)n, progress, pdata)) < 0)
		return r;
	struct image_stack stack;
	struct isc_err se = { 0 };
	if (image_stack_load(p, layers, (size_t)n, &stack, &se) < 0) {
		if (!layers_too)
			return err_set(e, se.code, "%s: %s", c->name, se.msg);
		stack = (struct image_stack){ 0 };  /* reported above; compare with nothing */
	}
	if ((r = isc_key_ready(p, c, false, e)) < 0) {
		image_stack_free(&stack);
		return err_prefix(e, "%s: the writable layers", c->name);
	}
	if (progress)
		progress("walking the writable layers", pdata);
	in->varfs = -1;
	r = uppers_walk(p, in, stack.m ? &stack : NULL, e);
	if (in->varfs >= 0)
		close(in->varfs);
	image_stack_free(&stack);
	return r;
}

const char *isc_finding_name(enum isc_finding_kind k)
{
	static const char *const names[] = {
		[ISC_FINDING_LAYER] = "layer", [ISC_FINDING_MANIFEST] = "manifest",
		[ISC_FINDING_SIGNATURE] = "signature",
		[ISC_FINDING_FILE] = "file", [ISC_FINDING_RO_PATH] = "ro-path",
		[ISC_FINDING_DEVICE] = "device", [ISC_FINDING_SETID] = "setid",
		[ISC_FINDING_EXEC] = "exec", [ISC_FINDING_OWNER] = "owner",
		[ISC_CHANGE_ADDED] = "A", [ISC_CHANGE_CHANGED] = "C", [ISC_CHANGE_DELETED] = "D",
	};
	return (unsigned)k < ARRAY_SIZE(names) && names[k] ? names[k] : "?";
}

int isc_verify(const struct pool *p, const struct isc_config *c, isc_finding_fn fn, void *data,
	       isc_progress_fn progress, void *pdata, struct isc_err *e)
{
	struct inspect in = { .c = c, .fn = fn, .data = data, .policy = true };
	int r = inspect_run(p, &in, true, progress, pdata, e);
	return r < 0 ? r : (int)in.findings;
}

/* ---- diff against a snapshot ---------------------------------------------
 * Two views of the ISC's files: now (the current version's image under
 * the frozen layers of its head and the live uppers) and the snapshot's
 * (its version's image under its frozen layers).  Only paths a layer the
 * two do not share holds can differ (and, across versions, the images'
 * paths): each is looked up in both views, as overlayfs would show it. */

#define VIEW_MAX (ISC_MAX_FROZEN + 1)

struct view_group {
	const char *layer, *at;         /* "var", "/var" */
	int fd[VIEW_MAX];               /* top first; -1: nothing there */
	uint32_t uid[VIEW_MAX];
	size_t n, shared;               /* the bottom `shared` are the other view's too */
};

struct view {
	struct image_stack stack;
	struct view_group g[8];
	size_t ng;
};

/* What a view shows at path: an entry (its own digest for a file or a
 * link found in a layer) or nothing. */
struct shown {
	bool there;
	struct manifest_entry x;
};

static void view_free(struct view *v)
{
	for (size_t i = 0; i < v->ng; i++)
		for (size_t k = 0; k < v->g[i].n; k++)
			if (v->g[i].fd[k] >= 0)
				close(v->g[i].fd[k]);
	image_stack_free(&v->stack);
}

static bool same_layer(const struct frozen_layer *a, const struct frozen_layer *b)
{
	return a->id == b->id && STREQ(a->isc, b->isc);
}

/* A view of c: its version digest's image, the frozen layers of chain,
 * and (live) the current uppers on top. */
static int view_open(const struct pool *p, const struct isc_config *c, const char *digest,
		     const struct isc_chain *chain, bool live, struct view *v, struct frozen_layer *fl,
		     int *nfl, struct isc_err *e)
{
	char layers[ISC_MAX_LAYERS][65];
	int n = config_layers(c, digest, layers, ISC_MAX_LAYERS);
	if (n < 0)
		return err_set(e, -n, "%s: version %.12s: its layers nest too deep", c->name, digest);
	if (image_stack_load(p, layers, (size_t)n, &v->stack, e) < 0)
		return err_prefix(e, "%s: version %.12s", c->name, digest);
	if ((*nfl = isc_frozen_stack(p, c, chain, fl, ISC_MAX_FROZEN, e)) < 0)
		return *nfl;
	if (c->profile == PROFILE_NONE)
		v->g[v->ng++] = (struct view_group){ .layer = "root", .at = "/" };
	for (const struct profile_path *pp = profile_paths(c->profile); pp->kind != PP_END && v->ng < 8; pp++)
		if (pp->kind == PP_LAYER)
			v->g[v->ng++] = (struct view_group){ .layer = pp->layer, .at = pp->path };
	for (size_t i = 0; i < v->ng; i++) {
		struct view_group *g = &v->g[i];
		if (live) {
			g->fd[g->n] = layer_open(p, c->name, g->layer);
			if (g->fd[g->n] < 0 && g->fd[g->n] != -ENOENT)
				return err_sys(e, -g->fd[g->n], "%s: layer %s", c->name, g->layer);
			g->uid[g->n++] = c->uid;
		}
		for (int k = 0; k < *nfl; k++) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "isc/%s/data/layers/%s/frozen/%u", fl[k].isc, g->layer, fl[k].id);
			g->fd[g->n] = openat(p->dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (g->fd[g->n] < 0 && errno != ENOENT)
				return err_sys(e, errno, "%s: frozen layer %s/%u of %s", c->name, fl[k].isc, fl[k].id,
					       g->layer);
			g->uid[g->n++] = fl[k].uid;
		}
	}
	return 0;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool opaque_at(int dirfd, const char *rel)
{
	char v[2];
	_cleanup_close_ int fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd >= 0 && fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y';
}

/* The entry of layer fd at rel, its ids shifted back by uid, its bytes
 * (or link target) hashed. */
static int shown_from_layer(int fd, const char *rel, const struct stat *st, uint32_t uid, struct shown *out)
{
	static char target[PATH_MAX];
	struct manifest_entry *x = &out->x;
	*x = (struct manifest_entry){ .type = 'f', .mode = st->st_mode & 07777, .size = 0, .sha256 = "-" };
	x->type = S_ISDIR(st->st_mode) ? 'd' : S_ISLNK(st->st_mode) ? 'l' : S_ISREG(st->st_mode) ? 'f' :
		  S_ISCHR(st->st_mode) ? 'c' : S_ISBLK(st->st_mode) ? 'b' : S_ISFIFO(st->st_mode) ? 'p' : 's';
	x->uid = st->st_uid >= uid && st->st_uid - uid < 65536 ? st->st_uid - uid : st->st_uid;
	x->gid = st->st_gid >= uid && st->st_gid - uid < 65536 ? st->st_gid - uid : st->st_gid;
	out->there = true;
	if (x->type == 'l') {
		ssize_t k = readlinkat(fd, rel, target, sizeof(target));
		if (k < 0 || k == (ssize_t)sizeof(target))
			return k < 0 ? -errno : -ENAMETOOLONG;
		image_sha256_buf(target, (size_t)k, x->sha256);
		x->size = (uint64_t)k;
	} else if (x->type == 'f') {
		_cleanup_close_ int f = openat(fd, rel, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (f < 0)
			return -errno;
		x->size = (uint64_t)st->st_size;
		int r = image_sha256_fd(f, x->sha256);
		if (r < 0)
			return r;
	}
	return 0;
}

/* What v shows at path: the group whose mount holds it, its layers top
 * down (a whiteout, a non-directory or an opaque directory on the way
 * hides what is below), then the image. */
static int view_lookup(const struct view *v, const char *path, struct shown *out)
{
	const struct view_group *g = NULL;
	size_t best = 0;
	*out = (struct shown){ 0 };
	for (size_t i = 0; i < v->ng; i++) {
		size_t l = STREQ(v->g[i].at, "/") ? 0 : strlen(v->g[i].at);
		if (strncmp(path, v->g[i].at, l) == 0 && path[l] == '/' && path[l + 1] && l + 1 > best) {
			g = &v->g[i];
			best = l + 1;
		}
	}
	for (size_t k = 0; g && k < g->n; k++) {
		int fd = g->fd[k];
		if (fd < 0)
			continue;
		char rel[PATH_MAX];
		snprintf(rel, sizeof(rel), "%s", path + best);
		bool stop = false, missing = false;
		struct stat st;
		for (char *slash = strchr(rel, '/'); slash && !missing; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			if (fstatat(fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
				missing = true;
			else if (!S_ISDIR(st.st_mode))
				return 0;       /* a whiteout or a file where a directory was */
			else if (opaque_at(fd, rel))
				stop = true;
			*slash = '/';
		}
		if (!missing && fstatat(fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (is_whiteout(&st))
				return 0;
			int r = shown_from_layer(fd, rel, &st, g->uid[k], out);
			return r == -ENOENT ? 0 : r;   /* vanished meanwhile */
		}
		if (stop)
			return 0;       /* under an opaque directory: nothing below shows */
	}
	const struct manifest_entry *x = image_stack_find(&v->stack, path);
	if (x) {
		out->there = true;
		out->x = *x;
	}
	return 0;
}

static int collect_fn(const struct image_diff *d, void *data)
{
	return set_add(data, d->path);
}

/* The paths in the layers of g above its shared ones. */
static int view_paths(const struct view_group *g, struct pathset *set, struct isc_err *e)
{
	for (size_t k = 0; k + g->shared < g->n; k++)
		if (g->fd[k] >= 0 && image_upper_diff(g->fd[k], g->at, g->uid[k], NULL, collect_fn, set, e) < 0)
			return -e->code;
	return 0;
}

static int diff_snapshot(const struct pool *p, struct inspect *in, const struct isc_snapshot *snap,
			 struct isc_err *e)
{
	const struct isc_config *c = in->c;
	static struct frozen_layer fa[ISC_MAX_FROZEN], fb[ISC_MAX_FROZEN];
	struct view now = { 0 }, then = { 0 };
	struct pathset paths = { 0 };
	int na = 0, nb = 0;
	int r = view_open(p, c, c->digest, &c->head, true, &now, fa, &na, e);
	if (r == 0)
		r = view_open(p, c, snap->digest, &snap->chain, false, &then, fb, &nb, e);
	/* the layers both stack at the bottom hold nothing that differs */
	size_t shared = 0;
	while (r == 0 && shared < (size_t)na && shared < (size_t)nb &&
	       same_layer(&fa[na - 1 - shared], &fb[nb - 1 - shared]))
		shared++;
	for (size_t i = 0; r == 0 && i < now.ng; i++) {
		now.g[i].shared = then.g[i].shared = shared;
		if ((r = view_paths(&now.g[i], &paths, e)) == 0)
			r = view_paths(&then.g[i], &paths, e);
	}
	/* another version: every path of both images may differ */
	if (r == 0 && !STREQ(c->digest, snap->digest))
		for (int w = 0; w < 2 && r == 0; w++) {
			const struct image_stack *st = w ? &then.stack : &now.stack;
			for (size_t i = 0; i < st->n && r == 0; i++)
				for (size_t k = 0; k < st->m[i].n && r == 0; k++)
					r = set_add(&paths, st->m[i].e[k].path);
		}
	if (r == -ENOMEM)
		err_set(e, ENOMEM, "out of memory");
	set_seal(&paths);
	in->where = snap->name;
	for (size_t i = 0; r == 0 && i < paths.n; i++) {
		if (i && STREQ(paths.v[i], paths.v[i - 1]))
			continue;
		struct shown a, b;
		if ((r = view_lookup(&then, paths.v[i], &a)) < 0 || (r = view_lookup(&now, paths.v[i], &b)) < 0) {
			err_sys(e, -r, "%s: %s", c->name, paths.v[i]);
			break;
		}
		struct image_diff d = { .path = paths.v[i], .was = a.there ? &a.x : NULL, .now = b.there ? &b.x : NULL };
		if (!a.there && !b.there)
			continue;
		if (a.there && b.there) {
			d.what = (a.x.type != b.x.type ? IMAGE_DIFF_TYPE : 0) |
				 (a.x.mode != b.x.mode ? IMAGE_DIFF_MODE : 0) |
				 (a.x.uid != b.x.uid || a.x.gid != b.x.gid ? IMAGE_DIFF_OWNER : 0) |
				 (a.x.type == b.x.type && (a.x.size != b.x.size || !STREQ(a.x.sha256, b.x.sha256)) ?
				  IMAGE_DIFF_CONTENT : 0);
			if (!d.what)
				continue;
		}
		char what[160] = "";
		if (d.was && d.now)
			diff_text(&d, what, sizeof(what));
		r = say(in, !d.was ? ISC_CHANGE_ADDED : !d.now ? ISC_CHANGE_DELETED : ISC_CHANGE_CHANGED,
			d.path, &d, "%s", what);
	}
	in->where = NULL;
	set_free(&paths);
	view_free(&now);
	view_free(&then);
	return r;
}

int isc_diff(const struct pool *p, const struct isc_config *c, const char *snap, isc_finding_fn fn,
	     void *data, struct isc_err *e)
{
	struct inspect in = { .c = c, .fn = fn, .data = data, .policy = false };
	int r;
	if (!snap) {
		r = inspect_run(p, &in, false, NULL, NULL, e);
		return r < 0 ? r : (int)in.findings;
	}
	const struct isc_snapshot *s = NULL;
	for (size_t i = 0; i < c->nsnapshots && !s; i++)
		if (STREQ(c->snapshots[i].name, snap))
			s = &c->snapshots[i];
	if (!s)
		return err_set(e, ENOENT, "no snapshot %s@%s (iscadm snapshot -l %s)", c->name, snap, c->name);
	if ((r = isc_key_ready(p, c, false, e)) < 0)
		return err_prefix(e, "%s: the writable layers", c->name);
	r = diff_snapshot(p, &in, s, e);
	return r < 0 ? r : (int)in.findings;
}
