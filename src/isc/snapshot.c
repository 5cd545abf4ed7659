/* snapshot.c - snapshots of an ISC on its own layer stacks: the writable
 * layers frozen (renamed, or copied while it runs) into read-only layers
 * that later boots stack under a fresh upper; rollback, reset to known
 * good, destroy, and the repair of an interrupted operation; iscadm. */
#include "isc.h"
#include "image.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

/* isc/NAME/snapshot.op: what an operation is doing, written before it
 * touches a layer and removed once its record is saved.  Its presence
 * means an operation stopped half-way: repair undoes it (before the
 * record was saved) or finishes it (after). */
#define OP_FILE ISC_SNAPSHOT_OP

/* The writable layers a profile keeps (the names of layers/NAME). */
static size_t layer_names(const struct isc_config *c, const char **out, size_t max)
{
	size_t n = 0;
	if (c->profile == PROFILE_NONE && n < max)
		out[n++] = "root";
	for (const struct profile_path *pp = profile_paths(c->profile); pp->kind != PP_END; pp++)
		if (pp->kind == PP_LAYER && n < max)
			out[n++] = pp->layer;
	return n;
}

static void layer_path(char *buf, size_t n, const char *isc, const char *layer, const char *leaf)
{
	snprintf(buf, n, "isc/%s/data/layers/%s%s%s", isc, layer, leaf ? "/" : "", leaf ? leaf : "");
}

static int op_write(const struct pool *p, const char *name, const char *text, struct isc_err *e)
{
	char path[128];
	snprintf(path, sizeof(path), "isc/%s/" OP_FILE, name);
	int r = write_file_atomic(p->dirfd, path, text, strlen(text), 0600);
	return r < 0 ? err_set(e, -r, "%s/%s: %s", p->path, path, strerror(-r)) : 0;
}

static void op_done(const struct pool *p, const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "isc/%s/" OP_FILE, name);
	unlinkat(p->dirfd, path, 0);
	snprintf(path, sizeof(path), "isc/%s", name);
	fsync_dir_at(p->dirfd, path);
}

/* A fresh, empty upper with the owner and mode of the one it replaces. */
static int upper_fresh(const struct pool *p, const char *isc, const char *layer, const struct stat *like)
{
	char tmp[PATH_MAX], up[PATH_MAX];
	layer_path(tmp, sizeof(tmp), isc, layer, "upper.new");
	layer_path(up, sizeof(up), isc, layer, "upper");
	rm_rf_at(p->dirfd, tmp);
	if (mkdirat(p->dirfd, tmp, 0700) < 0)
		return -errno;
	if (fchownat(p->dirfd, tmp, like->st_uid, like->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(p->dirfd, tmp, like->st_mode & 07777, 0) < 0 ||
	    renameat2(p->dirfd, tmp, p->dirfd, up, RENAME_NOREPLACE) < 0)
		return -errno;
	return 0;
}

/* A copy of the host tree src as dst (a path in the pool), made as dst.new
 * and renamed.  cp -a keeps what overlayfs wrote: whiteouts (0:0 devices),
 * the opaque xattrs, owners, modes; -T: into dst itself.  It never follows
 * a link (-a implies -P) and never leaves the tree. */
static int tree_copy(const struct pool *p, const char *src, const char *dst, struct isc_err *e)
{
	char abs[PATH_MAX + 8], rel[PATH_MAX + 8], out[512];
	snprintf(rel, sizeof(rel), "%s.new", dst);
	snprintf(abs, sizeof(abs), "%s/%s", p->path, rel);
	rm_rf_at(p->dirfd, rel);
	char *argv[] = { "cp", "-a", "--reflink=never", "-T", "--", (char *)src, abs, NULL };
	int r = run_cmd(argv, true, out, sizeof(out));
	if (r != 0) {
		rm_rf_at(p->dirfd, rel);
		return err_set(e, r < 0 ? -r : EIO, "copy: %s", out);
	}
	if (renameat2(p->dirfd, rel, p->dirfd, dst, RENAME_NOREPLACE) < 0)
		return err_sys(e, errno, "copy");
	return 0;
}

/* Freeze each layer's upper as frozen/<id>.  Halted: a rename (no file
 * content is copied) and a fresh upper.  Running (frozen by the caller):
 * a copy of the live upper, which goes on under the same head. */
static int layers_freeze(const struct pool *p, const struct isc_config *c, uint32_t id, bool running,
			 struct isc_err *e)
{
	const char *names[8];
	size_t n = layer_names(c, names, ARRAY_SIZE(names));
	for (size_t i = 0; i < n; i++) {
		char up[PATH_MAX], fz[PATH_MAX], fzd[PATH_MAX], idname[32];
		struct stat st;
		layer_path(up, sizeof(up), c->name, names[i], "upper");
		if (fstatat(p->dirfd, up, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;       /* never booted: nothing to freeze */
			return err_sys(e, errno, "%s: layer %s", c->name, names[i]);
		}
		layer_path(fzd, sizeof(fzd), c->name, names[i], "frozen");
		snprintf(idname, sizeof(idname), "frozen/%u", id);
		layer_path(fz, sizeof(fz), c->name, names[i], idname);
		if (mkdirat(p->dirfd, fzd, 0700) < 0 && errno != EEXIST)
			return err_sys(e, errno, "%s: layer %s", c->name, names[i]);
		if (!running) {
			if (renameat2(p->dirfd, up, p->dirfd, fz, RENAME_NOREPLACE) < 0)
				return err_sys(e, errno, "%s: freeze layer %s", c->name, names[i]);
			int r = upper_fresh(p, c->name, names[i], &st);
			if (r < 0)
				return err_sys(e, -r, "%s: new upper of layer %s", c->name, names[i]);
			continue;
		}
		char src[PATH_MAX + 8];
		snprintf(src, sizeof(src), "%s/%s", p->path, up);
		int r = tree_copy(p, src, fz, e);
		if (r < 0)
			return err_prefix(e, "%s: layer %s", c->name, names[i]);
	}
	return 0;
}

/* Each layer's LEAF (upper.old, upper.new) removed. */
static void layers_rm(const struct pool *p, const struct isc_config *c, const char *leaf)
{
	const char *names[8];
	size_t n = layer_names(c, names, ARRAY_SIZE(names));
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		layer_path(path, sizeof(path), c->name, names[i], leaf);
		rm_rf_at(p->dirfd, path);
	}
}

/* Remove frozen layers no snapshot and no head stands on, and a fresh
 * upper never put in place. */
static void garbage_collect(const struct pool *p, const struct isc_config *c)
{
	const char *names[8];
	size_t n = layer_names(c, names, ARRAY_SIZE(names));
	layers_rm(p, c, "upper.new");
	for (size_t i = 0; i < n; i++) {
		char fzd[PATH_MAX];
		layer_path(fzd, sizeof(fzd), c->name, names[i], "frozen");
		_cleanup_close_ int dfd = openat(p->dirfd, fzd, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = dfd < 0 ? NULL : fdopendir(dup(dfd));
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d))) {
			char *end;
			unsigned long id = strtoul(de->d_name, &end, 10);
			if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
				continue;
			/* ours only: a number, or a copy left half-made (N.new) */
			if (end == de->d_name || (*end && !STREQ(end, ".new")))
				continue;
			if (*end || !config_frozen_used(c, (uint32_t)id))
				rm_rf_at(dfd, de->d_name);
		}
		closedir(d);
	}
}

/* Each layer's upper set aside as upper.old under a fresh, empty upper.
 * Idempotent (a rollback finished by repair runs it again): a layer
 * already set aside has its new upper made afresh. */
static int uppers_aside(const struct pool *p, const struct isc_config *c, struct isc_err *e)
{
	const char *names[8];
	size_t n = layer_names(c, names, ARRAY_SIZE(names));
	for (size_t i = 0; i < n; i++) {
		char up[PATH_MAX], old[PATH_MAX];
		struct stat st;
		layer_path(up, sizeof(up), c->name, names[i], "upper");
		layer_path(old, sizeof(old), c->name, names[i], "upper.old");
		if (fstatat(p->dirfd, old, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			rm_rf_at(p->dirfd, up);
		} else if (fstatat(p->dirfd, up, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (renameat2(p->dirfd, up, p->dirfd, old, RENAME_NOREPLACE) < 0)
				return err_sys(e, errno, "%s: set layer %s aside", c->name, names[i]);
		} else {
			continue;       /* never booted */
		}
		int r = upper_fresh(p, c->name, names[i], &st);
		if (r < 0)
			return err_sys(e, -r, "%s: new upper of layer %s", c->name, names[i]);
	}
	return 0;
}

/* ---- repair --------------------------------------------------------------- */

static int rollback_finish(struct pool *p, struct isc_config *c, const char *snap, bool destroy_later,
			   struct isc_err *e);

/* An operation that stopped half-way, by its journal.  "snapshot ID R F"
 * (R: of a running ISC, F: which it froze, thawed now):
 * until the record names ID, undone (a halted one's frozen layers go back
 * as the uppers; a running one's copy is garbage), else finished.
 * "rollback SNAP R": finished (rollback_finish again).  "promote": the
 * copies are garbage until the record drops its origin.  Then the frozen
 * layers nothing uses go.  *what says what was found ("" if nothing). */
int isc_snapshot_repair(struct pool *p, const char *name, bool repair, char *what, size_t n,
			struct isc_err *e)
{
	char path[128];
	_cleanup_free_ char *text = NULL;
	size_t len;
	what[0] = '\0';
	snprintf(path, sizeof(path), "isc/%s/" OP_FILE, name);
	int r = read_file_at(p->dirfd, path, &text, &len, 256);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return err_set(e, -r, "%s/%s: %s", p->path, path, strerror(-r));
	struct isc_config c;
	if ((r = isc_config_load(p, name, &c, e)) < 0)
		return r;
	unsigned id = 0, flag = 0, froze = 0;
	char snap[65] = "";
	bool snapshot = sscanf(text, "snapshot %u %u %u", &id, &flag, &froze) == 3;
	bool back = !snapshot && sscanf(text, "rollback %64s %u", snap, &flag) == 2;
	snprintf(what, n, "ISC %s: an interrupted %s", name, snapshot ? "snapshot" : back ? "rollback" :
		 str_has_prefix(text, "promote") ? "promote" : "operation");
	if (!repair) {
		config_free(&c);
		return 1;
	}
	/* the snapshot stopped with the ISC frozen: it runs again */
	struct isc_err te = { 0 };
	if (snapshot && froze && isc_running(name))
		isc_freeze(name, false, &te);
	if (snapshot && !config_frozen_used(&c, id) && !flag) {
		/* undo: each frozen/<id> goes back as its layer's upper */
		const char *names[8];
		size_t nn = layer_names(&c, names, ARRAY_SIZE(names));
		for (size_t i = 0; i < nn; i++) {
			char up[PATH_MAX], fz[PATH_MAX], idname[32];
			snprintf(idname, sizeof(idname), "frozen/%u", id);
			layer_path(fz, sizeof(fz), name, names[i], idname);
			layer_path(up, sizeof(up), name, names[i], "upper");
			if (fstatat(p->dirfd, fz, &(struct stat){ 0 }, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			/* the fresh upper is empty: the ISC did not boot since */
			if (unlinkat(p->dirfd, up, AT_REMOVEDIR) < 0 && errno != ENOENT) {
				r = err_sys(e, errno, "%s: layer %s was written since", name, names[i]);
				break;
			}
			if (renameat(p->dirfd, fz, p->dirfd, up) < 0) {
				r = err_sys(e, errno, "%s: layer %s back", name, names[i]);
				break;
			}
		}
	} else if (back) {
		r = rollback_finish(p, &c, snap, flag, e);
	}
	if (r >= 0) {
		garbage_collect(p, &c);
		op_done(p, name);
	}
	config_free(&c);
	return r < 0 ? r : 1;
}

/* ---- operations ----------------------------------------------------------- */

static bool version_has(const struct isc_config *c, const char *digest)
{
	for (size_t i = 0; i < c->nversions; i++)
		if (STREQ(c->versions[i].digest, digest))
			return true;
	return STREQ(c->digest, digest);
}

static int snap_prepare(struct pool *p, const char *name, struct isc_config *c, struct isc_err *e)
{
	char what[128];
	int r = isc_snapshot_repair(p, name, true, what, sizeof(what), e);
	if (r < 0)
		return r;
	if ((r = isc_config_load(p, name, c, e)) < 0)
		return r;
	if (c->var_size) {
		config_free(c);
		return err_set(e, ENOTSUP, "ISC %s has var-size: its /var lives in a filesystem of its own, "
			       "which snapshots do not cover yet", name);
	}
	return 0;
}

/* The end of a journalled operation that went well so far (r == 0): its
 * record saved, the commit point, and the journal gone.  Otherwise, or if
 * the save fails, undone by repair.  r, or the save's failure. */
static int op_finish(struct pool *p, const struct isc_config *c, int r, struct isc_err *e)
{
	if (r == 0 && (r = isc_config_save(p, c, e)) == 0) {
		op_done(p, c->name);
		return 0;
	}
	char what[128];
	struct isc_err ue = { 0 };
	isc_snapshot_repair(p, c->name, true, what, sizeof(what), &ue);
	return r;
}

int isc_snapshot(struct pool *p, const char *name, const char *snap, bool known_good, struct isc_err *e)
{
	struct isc_config c;
	if (!name_valid(snap))
		return err_set(e, EINVAL, "invalid snapshot name '%.64s'", snap);
	int r = snap_prepare(p, name, &c, e);
	if (r < 0)
		return r;
	bool running = isc_running(name);
	enum boot_mode mode = BOOT_READONLY;
	if (config_snapshot(&c, snap))
		r = err_set(e, EEXIST, "snapshot %s@%s exists", name, snap);
	else if (c.nsnapshots >= ISC_MAX_SNAPSHOTS)
		r = err_set(e, ENOSPC, "ISC %s has %d snapshots: destroy some", name, ISC_MAX_SNAPSHOTS);
	else if (c.head.n >= ISC_MAX_CHAIN)
		r = err_set(e, ENOSPC, "ISC %s: %d snapshots deep: roll back or destroy some", name, ISC_MAX_CHAIN);
	else if (running && isc_run_mode(name, &mode) == 0 && mode != BOOT_READONLY)
		r = err_set(e, EBUSY, "ISC %s runs a maintenance session: snapshot it after", name);
	if (r < 0)
		goto out;
	uint32_t id = c.frozen_next ? c.frozen_next : 1;
	/* running: every process stopped for the instant of the copy, so the
	 * layers are what one moment of the ISC wrote, never torn; one the
	 * operator froze stays so */
	struct run_state rs;
	bool freeze = running && !(isc_run_state(name, &rs) == 0 && rs.frozen);
	char op[64];
	snprintf(op, sizeof(op), "snapshot %u %d %d\n", id, running, freeze);
	if ((r = op_write(p, name, op, e)) < 0)
		goto out;
	if (freeze && (r = isc_freeze(name, true, e)) < 0)
		goto finish;
	r = layers_freeze(p, &c, id, running, e);
	if (freeze) {
		struct isc_err te = { 0 };
		if (isc_freeze(name, false, &te) < 0 && r == 0)
			r = err_set(e, te.code, "%s", te.msg);
	}
	if (r < 0)
		goto finish;
	struct isc_snapshot *s = &c.snapshots[c.nsnapshots];
	*s = (struct isc_snapshot){ .made = time(NULL), .known_good = known_good };
	str_copy(s->name, sizeof(s->name), snap);
	memcpy(s->digest, c.digest, sizeof(s->digest));
	s->chain.id[0] = id;
	memcpy(s->chain.id + 1, c.head.id, c.head.n * sizeof(c.head.id[0]));
	s->chain.n = c.head.n + 1;
	c.nsnapshots++;
	c.frozen_next = id + 1;
	/* halted: the renamed layers are under the fresh uppers from now on */
	if (!running)
		c.head = s->chain;
finish:
	r = op_finish(p, &c, r, e);
out:
	config_free(&c);
	return r;
}

/* From the journal on, a rollback only goes forward: the uppers set
 * aside, the record on snap, the old uppers dropped.  Run again by repair
 * when it stopped half-way (snap was checked before the journal). */
static int rollback_finish(struct pool *p, struct isc_config *c, const char *snap, bool destroy_later,
			   struct isc_err *e)
{
	struct isc_snapshot *s = config_snapshot(c, snap);
	if (!s)
		return err_set(e, ENOENT, "no snapshot %s@%s", c->name, snap);
	int r = uppers_aside(p, c, e);
	if (r < 0)
		return r;
	c->head = s->chain;
	memcpy(c->digest, s->digest, sizeof(c->digest));
	if (destroy_later)
		c->nsnapshots = (size_t)(s - c->snapshots) + 1;   /* as zfs rollback -r: later ones go */
	if ((r = isc_config_save(p, c, e)) < 0)
		return r;
	layers_rm(p, c, "upper.old");
	return 0;
}

/* supervised: by the ISC's own supervisor between a halt and a boot, which
 * holds the run lock that otherwise says "running" */
static int rollback_do(struct pool *p, const char *name, const char *snap, bool destroy_later,
		       bool supervised, struct isc_err *e)
{
	struct isc_config c;
	int r = snap_prepare(p, name, &c, e);
	if (r < 0)
		return r;
	struct isc_snapshot *s = config_snapshot(&c, snap);
	if (!s)
		r = err_set(e, ENOENT, "no snapshot %s@%s (iscadm snapshot -l %s)", name, snap, name);
	else if (!supervised && isc_running(name))
		r = err_set(e, EBUSY, "ISC %s is running: halt it first", name);
	else if (!version_has(&c, s->digest))
		r = err_set(e, ENOENT, "snapshot %s@%s: its version %.12s was pruned", name, snap, s->digest);
	/* the record is oldest first: the later snapshots follow s */
	for (size_t i = s ? (size_t)(s - c.snapshots) + 1 : 0; r == 0 && destroy_later && i < c.nsnapshots; i++) {
		char clone[64];
		if (isc_clones(p, name, c.snapshots[i].name, clone, sizeof(clone)) > 0)
			r = err_set(e, EBUSY, "snapshot %s@%s has a clone, %s: destroy it or iscadm promote %s first",
				    name, c.snapshots[i].name, clone, clone);
	}
	if (r < 0)
		goto out;
	char op[128];
	snprintf(op, sizeof(op), "rollback %s %d\n", snap, destroy_later);
	if ((r = op_write(p, name, op, e)) < 0 || (r = rollback_finish(p, &c, snap, destroy_later, e)) < 0)
		goto out;       /* journalled: pool check --repair finishes it */
	garbage_collect(p, &c);
	op_done(p, name);
out:
	config_free(&c);
	return r;
}

int isc_rollback(struct pool *p, const char *name, const char *snap, bool destroy_later, struct isc_err *e)
{
	return rollback_do(p, name, snap, destroy_later, false, e);
}

int isc_snapshot_destroy(struct pool *p, const char *name, const char *snap, struct isc_err *e)
{
	struct isc_config c;
	int r = snap_prepare(p, name, &c, e);
	if (r < 0)
		return r;
	struct isc_snapshot *s = config_snapshot(&c, snap);
	char clone[64];
	if (!s) {
		r = err_set(e, ENOENT, "no snapshot %s@%s (iscadm snapshot -l %s)", name, snap, name);
	} else if (isc_clones(p, name, snap, clone, sizeof(clone)) > 0) {
		r = err_set(e, EBUSY, "snapshot %s@%s has a clone, %s: destroy it or iscadm promote %s first",
			    name, snap, clone, clone);
	} else {
		memmove(s, s + 1, (size_t)(c.snapshots + c.nsnapshots - s - 1) * sizeof(*s));
		c.nsnapshots--;
		/* the record first: a frozen layer it no longer names is garbage */
		if ((r = isc_config_save(p, &c, e)) == 0)
			garbage_collect(p, &c);
	}
	config_free(&c);
	return r;
}

static int reset_do(struct pool *p, const char *name, char *snap, size_t n, bool supervised,
		    struct isc_err *e)
{
	struct isc_config c;
	int r = isc_config_load(p, name, &c, e);
	if (r < 0)
		return r;
	const struct isc_snapshot *best = NULL;
	for (size_t i = 0; i < c.nsnapshots; i++)
		if (c.snapshots[i].known_good && (!best || c.snapshots[i].made >= best->made))
			best = &c.snapshots[i];
	if (!best) {
		config_free(&c);
		return err_set(e, ENOENT, "ISC %s has no known-good snapshot", name);
	}
	str_copy(snap, n, best->name);
	/* verified before it is trusted: every layer of its version, as a
	 * boot verifies it (a full hash unless the verification cache holds
	 * one of this very file since the host's boot: docs/images.md) */
	char layers[ISC_MAX_LAYERS][65];
	int nl = config_layers(&c, best->digest, layers, ISC_MAX_LAYERS);
	for (int i = 0; r == 0 && i < nl; i++) {
		_cleanup_close_ int fd = -1;
		r = image_open_verified(p, layers[i], ISC_RUN_DIR "/verified", &fd, e);
	}
	if (r == 0 && nl > 0)
		r = image_version_signed(p, &c, layers, NULL, (size_t)nl, e);
	config_free(&c);
	if (r < 0)
		return err_prefix(e, "reset %s to %s@%s", name, name, snap);
	return rollback_do(p, name, snap, false, supervised, e);
}

int isc_reset(struct pool *p, const char *name, char *snap, size_t n, struct isc_err *e)
{
	return reset_do(p, name, snap, n, false, e);
}

int isc_reset_supervised(struct pool *p, const char *name, char *snap, size_t n, struct isc_err *e)
{
	return reset_do(p, name, snap, n, true, e);
}

void isc_snapshot_initial(struct isc_config *c, bool known_good)
{
	struct isc_snapshot *s = &c->snapshots[0];
	*s = (struct isc_snapshot){ .made = c->created, .known_good = known_good };
	str_copy(s->name, sizeof(s->name), ISC_SNAP_CREATED);
	memcpy(s->digest, c->digest, sizeof(s->digest));
	s->chain = (struct isc_chain){ .id = { 1 }, .n = 1 };
	c->nsnapshots = 1;
	c->head = s->chain;
	c->frozen_next = 2;
}

/* ---- clones ----------------------------------------------------------------- */

int isc_clones(struct pool *p, const char *isc, const char *snap, char *first, size_t n)
{
	_cleanup_strv_ char **names = NULL;
	struct isc_err ignore = { 0 };
	int count = 0;
	if (isc_names(p, &names, &ignore) < 0)
		return 0;
	for (size_t i = 0; names[i]; i++) {
		struct isc_config c;
		char oi[64], os[64];
		if (isc_config_load(p, names[i], &c, &ignore) < 0)
			continue;
		if (c.origin[0] && config_origin_split(c.origin, oi, os) == 0 && STREQ(oi, isc) &&
		    (!snap || STREQ(os, snap)) && count++ == 0)
			snprintf(first, n, "%s", c.name);
		config_free(&c);
	}
	return count;
}

int isc_clone(struct pool *p, const char *origin, const char *snap, const char *name, struct isc_err *e)
{
	struct isc_config o, c;
	if (!name_valid(name))
		return err_set(e, EINVAL, "invalid ISC name '%.64s'", name);
	int r = snap_prepare(p, origin, &o, e);
	if (r < 0)
		return r;
	const struct isc_snapshot *s = config_snapshot(&o, snap);
	if (!s)
		r = err_set(e, ENOENT, "no snapshot %s@%s (iscadm snapshot -l %s)", origin, snap, origin);
	else if (STREQ(config_key_root(&o), ISC_KEY_EPHEMERAL))
		r = err_set(e, EINVAL, "ISC %s has an ephemeral key: a clone could not share it", origin);
	else if (!version_has(&o, s->digest))
		r = err_set(e, ENOENT, "snapshot %s@%s: its version %.12s was pruned", origin, snap, s->digest);
	_cleanup_free_ char *text = r < 0 ? NULL : config_dump(&o);
	if (r == 0 && !text)
		r = err_set(e, ENOMEM, "out of memory");
	if (r < 0 || (r = config_parse(text, &c, e)) < 0) {
		config_free(&o);
		return r;
	}
	/* the origin's properties and versions; its own name, uid range (made
	 * by isc_create_record), time, no snapshots, no exposures (a host
	 * port is one ISC's), standing on origin@snap */
	str_copy(c.name, sizeof(c.name), name);
	memcpy(c.digest, s->digest, sizeof(c.digest));
	c.created = time(NULL);
	c.nexpose = 0;
	snprintf(c.origin, sizeof(c.origin), "%s@%s", origin, snap);
	/* its first state is the snapshot's: known good if that was */
	isc_snapshot_initial(&c, s->known_good);
	struct isc_create_opts opts = { .encryption_root = origin };
	r = isc_create_record(p, &c, &opts, e);
	config_free(&c);
	config_free(&o);
	return r;
}

size_t isc_layer_dirs(const struct pool *p, const char *isc, char (*out)[64], size_t max)
{
	char path[128];
	size_t n = 0;
	snprintf(path, sizeof(path), "isc/%s/data/layers", isc);
	_cleanup_close_ int dfd = openat(p->dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = dfd < 0 ? NULL : fdopendir(dup(dfd));
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max)
		if (de->d_name[0] != '.' && !STREQ(de->d_name, "rootw") && strlen(de->d_name) < 64)
			str_copy(out[n++], 64, de->d_name);
	closedir(d);
	return n;
}

/* Promote: each origin layer copied through an idmapped view (the copy's
 * files owned in the clone's range), as new frozen ids of the clone's,
 * appended under its head and every snapshot; then origin= goes.  The
 * journal says "promote": until the record is saved, the copies are
 * frozen layers nothing uses (repair collects them). */
int isc_promote(struct pool *p, const char *name, struct isc_err *e)
{
	struct isc_config c;
	struct frozen_layer stack[ISC_MAX_FROZEN];
	uint32_t ids[ISC_MAX_FROZEN];
	int r = snap_prepare(p, name, &c, e);
	if (r < 0)
		return r;
	int n = 0;
	if (!c.origin[0])
		r = err_set(e, EINVAL, "ISC %s is not a clone", name);
	else if (isc_running(name))
		r = err_set(e, EBUSY, "ISC %s is running: halt it first", name);
	else if ((n = isc_frozen_stack(p, &c, &(struct isc_chain){ 0 }, stack, ISC_MAX_FROZEN, e)) < 0)
		r = n;
	else if (c.head.n + (size_t)n > ISC_MAX_CHAIN)
		r = err_set(e, E2BIG, "ISC %s: more than %d frozen layers once promoted", name, ISC_MAX_CHAIN);
	for (size_t i = 0; r == 0 && i < c.nsnapshots; i++)
		if (c.snapshots[i].chain.n + (size_t)n > ISC_MAX_CHAIN)
			r = err_set(e, E2BIG, "snapshot %s@%s: more than %d frozen layers once promoted", name,
				    c.snapshots[i].name, ISC_MAX_CHAIN);
	if (r < 0 || (r = op_write(p, name, "promote\n", e)) < 0)
		goto out;
	uint32_t next = c.frozen_next ? c.frozen_next : 1;
	for (int i = 0; i < n && r == 0; i++) {
		char names[16][64];
		size_t nn = isc_layer_dirs(p, stack[i].isc, names, ARRAY_SIZE(names));
		ids[i] = next++;
		for (size_t k = 0; k < nn && r == 0; k++) {
			char src[PATH_MAX], leaf[32], dst[PATH_MAX], fzd[PATH_MAX];
			snprintf(leaf, sizeof(leaf), "frozen/%u", stack[i].id);
			layer_path(src, sizeof(src), stack[i].isc, names[k], leaf);
			if (fstatat(p->dirfd, src, &(struct stat){ 0 }, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			layer_path(fzd, sizeof(fzd), name, names[k], "frozen");
			if (mkdir_p_at(p->dirfd, fzd, 0700) < 0) {
				r = err_sys(e, errno, "%s: layer %s", name, names[k]);
				break;
			}
			snprintf(leaf, sizeof(leaf), "frozen/%u", ids[i]);
			layer_path(dst, sizeof(dst), name, names[k], leaf);
			char abs[PATH_MAX + 8], view[64];
			snprintf(abs, sizeof(abs), "%s/%s", p->path, src);
			int m = mnt_idmapped(abs, stack[i].uid, c.uid, ISC_UID_COUNT, MOUNT_ATTR_RDONLY, e);
			if (m < 0) {
				r = m;
				break;
			}
			/* cp reads the detached mount through our fd */
			snprintf(view, sizeof(view), "/proc/%d/fd/%d/", (int)getpid(), m);
			r = tree_copy(p, view, dst, e);
			close(m);
			if (r < 0)
				err_prefix(e, "%s: promote layer %s", name, names[k]);
		}
	}
	if (r < 0)
		goto finish;
	for (int i = 0; i < n; i++)
		c.head.id[c.head.n++] = ids[i];
	for (size_t k = 0; k < c.nsnapshots; k++)
		for (int i = 0; i < n; i++)
			c.snapshots[k].chain.id[c.snapshots[k].chain.n++] = ids[i];
	c.frozen_next = next;
	c.origin[0] = '\0';
finish:
	r = op_finish(p, &c, r, e);
out:
	config_free(&c);
	return r;
}

/* ---- pool check --------------------------------------------------------------- */

static void check_say(image_sweep_fn say, void *data, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check_say(image_sweep_fn say, void *data, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (say)
		say(what, data);
}

/* The names in the pool's directory dir (none: NULL), read before any is
 * removed; *dfd is the directory, for the caller to close. */
static char **subdir_names(struct pool *p, const char *dir, int *dfd)
{
	*dfd = openat(p->dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = *dfd < 0 ? NULL : fdopendir(dup(*dfd));
	if (!d)
		return NULL;
	char **names = calloc(1, sizeof(char *));
	struct dirent *de;
	while (names && (de = readdir(d)))
		if (!STREQ(de->d_name, ".") && !STREQ(de->d_name, ".."))
			strv_push(&names, de->d_name);
	closedir(d);
	return names;
}

/* tmp/: what create, destroy and the pool's own set-up make before their
 * rename; anything there now (the pool is ours alone) was left half-way. */
static int check_tmp(struct pool *p, bool repair, image_sweep_fn say, void *data)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_strv_ char **names = subdir_names(p, "tmp", &dfd);
	int found = 0;
	for (size_t i = 0; names && names[i]; i++) {
		const char *n = names[i];
		bool destroy = str_has_prefix(n, "destroy-"), receive = str_has_prefix(n, "receive-");
		/* a receive -s kept on purpose: said, never removed here */
		if (str_has_prefix(n, "partial-")) {
			check_say(say, data, "tmp/%.64s: a kept receive (resume it, or iscadm receive -A %.64s)", n,
				  n + strlen("partial-"));
			continue;
		}
		found++;
		check_say(say, data, "tmp/%.64s: left by an interrupted %s", n,
			  destroy ? "destroy (finished by removing it)" :
			  str_has_prefix(n, "create-") ? "create (undone by removing it)" :
			  receive ? "receive (undone by removing it)" : "operation");
		if (!repair)
			continue;
		rm_rf_at(dfd, n);
		/* a destroy removes the ISC's own key record after its files, a
		 * receive's key record goes with what it staged */
		const char *isc = destroy ? n + strlen("destroy-") : receive ? n + strlen("receive-") : NULL;
		char dir[128];
		snprintf(dir, sizeof(dir), "isc/%.64s", isc ? isc : "");
		if (isc && name_valid(isc) && fstatat(p->dirfd, dir, &(struct stat){ 0 }, AT_SYMLINK_NOFOLLOW) < 0) {
			struct isc_err ignore = { 0 };
			keyring_remove(p, isc, &ignore);
		}
	}
	return found;
}

/* templates/: a /scratch template (.ext4-SIZE.img.PID) or a spare's file
 * (.spare-SIZE.PID) whose supervisor died before the rename.  One whose
 * maker lives is being made now (supervisors do not hold the pool's lock):
 * left alone. */
static bool maker_alive(const char *name)
{
	const char *dot = strrchr(name, '.');
	char *end;
	long pid = dot ? strtol(dot + 1, &end, 10) : 0;
	return pid > 0 && !*end && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static int check_templates(struct pool *p, bool repair, image_sweep_fn say, void *data)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_strv_ char **names = subdir_names(p, "templates", &dfd);
	int found = 0;
	for (size_t i = 0; names && names[i]; i++) {
		const char *n = names[i];
		if (n[0] != '.' || maker_alive(n))
			continue;
		found++;
		check_say(say, data, "templates/%.64s: left by an interrupted boot (%s)", n,
			  repair ? "removed" : "removed by --repair");
		if (repair)
			unlinkat(dfd, n, 0);
	}
	return found;
}

/* Whether the key of name's data is one the pool keeps wrapped: an ISC's
 * own or an encryption root's, never a run's (its key is never stored). */
static bool data_key_wrapped(struct pool *p, const char *name)
{
	char path[128];
	uint8_t id[CRYPT_ID_SIZE];
	snprintf(path, sizeof(path), "isc/%s/data", name);
	_cleanup_close_ int fd = openat(p->dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fscrypt_policy_get(fd, id) < 0)
		return false;
	_cleanup_close_ int dfd = -1;
	_cleanup_strv_ char **keys = subdir_names(p, "keys", &dfd);
	bool found = false;
	for (size_t i = 0; keys && keys[i] && !found; i++) {
		char *dot = strrchr(keys[i], '.');
		struct wrapped w;
		struct isc_err ignore = { 0 };
		if (!dot || !STREQ(dot, ".wrapped"))
			continue;
		*dot = '\0';
		found = keyring_read(p, keys[i], &w, &ignore) == 0 && !memcmp(w.id, id, CRYPT_ID_SIZE);
	}
	return found;
}

/* A run --rm ISC nobody will destroy: not running, and its key gone (a
 * reboot) or the iscadm of its name (run-PID) gone (killed).  c is NULL
 * where a crash tore its record (never synced: create.c); its name, and
 * a data key the pool does not keep, still tell. */
static bool check_run_left(struct pool *p, const char *name, const struct isc_config *c)
{
	pid_t pid;
	if (c && !STREQ(config_key_root(c), ISC_KEY_EPHEMERAL))
		return false;
	/* an ISC named so before the names were kept, whose record broke */
	if (!c && (!isc_run_name(name, NULL) || data_key_wrapped(p, name)))
		return false;
	if (isc_running(name))
		return false;
	struct isc_config torn;
	config_init(&torn);
	str_copy(torn.name, sizeof(torn.name), name);
	str_copy(torn.encryption_root, sizeof(torn.encryption_root), ISC_KEY_EPHEMERAL);
	struct isc_err e = { 0 };
	if (isc_key_ready(p, c ? c : &torn, false, &e) < 0)
		return true;
	return isc_run_name(name, &pid) && kill(pid, 0) < 0 && errno == ESRCH;
}

int isc_pool_check(struct pool *p, bool repair, image_sweep_fn say, void *data, struct isc_err *e)
{
	_cleanup_strv_ char **names = NULL;
	int found = check_tmp(p, repair, say, data) + check_templates(p, repair, say, data);
	int r = isc_names(p, &names, e);
	for (size_t i = 0; r >= 0 && names[i]; i++) {
		char what[160];
		int k = isc_snapshot_repair(p, names[i], repair, what, sizeof(what), e);
		if (k < 0)
			return k;
		if (k > 0) {
			found++;
			check_say(say, data, "%s", what);
		}
		/* an interrupted one of another kind: isc/NAME without its record */
		struct isc_config c;
		struct isc_err ignore = { 0 };
		bool loaded = isc_config_load(p, names[i], &c, &ignore) == 0;
		bool left = check_run_left(p, names[i], loaded ? &c : NULL);
		if (loaded)
			config_free(&c);
		if (left) {
			found++;
			check_say(say, data, "ISC %s: left by an interrupted run --rm (%s)", names[i],
				  repair ? "removed" : "removed by --repair");
			if (repair && isc_destroy(p, names[i], &ignore) < 0)
				check_say(say, data, "ISC %s: %s", names[i], ignore.msg);
			continue;
		}
		if (!loaded) {
			found++;
			check_say(say, data, "ISC %s: %s (not repaired: see iscadm get %s)", names[i], ignore.msg,
				  names[i]);
			continue;
		}
	}
	if (r < 0)
		return r;
	int k = image_sweep(p, repair, say, data);
	if (k < 0)
		return err_sys(e, -k, "%s/images", p->path);
	return found + k;
}
