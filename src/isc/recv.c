/* recv.c - iscadm receive: a send stream read into a new ISC (or onto the
 * snapshot an incremental one starts from), staged under the ISC's key and
 * made visible only once every frame has authenticated (docs/stream.md).
 * The isc library. */
#include "isc.h"
#include "image.h"
#include "kernel.h"
#include "stream.h"

#include <fcntl.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#define RECV_MAX_LAYERS 512
#define RECV_MAX_BLOBS (3 * ISC_MAX_LAYERS * ISC_MAX_SNAPSHOTS)
struct got_layer {
	char layer[64];
	uint32_t id;
};

struct receiver {
	struct stream_reader r;
	struct pool *p;
	const char *name;
	const struct isc_receive_opts *o;
	struct isc_err *e;
	bool incremental, key_made;
	uint32_t uid;                   /* the ISC's first host id */
	int stage;                      /* the data staging directory (under the ISC's key) */
	char stage_path[160];           /* ... relative to the pool */
	int imgs;                       /* images/.build-recv-NAME (under the pool key) */
	char imgs_name[96];
	bool have_meta;
	struct isc_config sent;
	struct got_layer got[RECV_MAX_LAYERS];
	size_t ngot;
	char (*blobs)[96];              /* staged image files: "DIGEST.EXT" */
	size_t nblobs;
	unsigned parts;                 /* blobs and layers whole so far (a resume skips them) */
	char cur[96];                   /* the one being read: its staging name */
	bool cur_blob, resumed, kept;
	char meta[65];                  /* SHA-256 of the record's text */
	bool part_done;                 /* the blob or layer being read met its DONE */
	uint64_t part_size;             /* ... and the size DONE said */
	uint64_t bytes;
	struct isc_meter m;
};

/* Where a kept receive (receive -s) waits: tmp/partial-NAME[/file]. */
static void partial_path(const char *name, const char *file, char *buf, size_t n)
{
	snprintf(buf, n, "tmp/partial-%s%s%s", name, file ? "/" : "", file ? file : "");
}

static int frame_error(struct receiver *rv, const char *what)
{
	return err_set(rv->e, EBADMSG, "frame %" PRIu64 " at byte %" PRIu64 ": %s", rv->r.frames,
		       rv->r.offset, what);
}

static json_object *frame_json(struct receiver *rv, const uint8_t *p, size_t n)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o = tok ? json_tokener_parse_ex(tok, (const char *)p, (int)n) : NULL;
	bool whole = tok && json_tokener_get_error(tok) == json_tokener_success && json_tokener_get_parse_end(tok) == n;
	if (tok)
		json_tokener_free(tok);
	if (!whole || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		frame_error(rv, "not a JSON object");
		return NULL;
	}
	return o;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

static bool jint(json_object *o, const char *k, int64_t *out)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

/* The DONE that closes a part: its size, as the sender counted. */
static int part_end(struct receiver *rv, const uint8_t *p, size_t n)
{
	json_object *o = frame_json(rv, p, n);
	int64_t size;
	bool ok = o && jint(o, "size", &size) && size >= 0;
	json_object_put(o);
	if (!ok)
		return o ? frame_error(rv, "a DONE without its size") : -rv->e->code;
	rv->part_done = true;
	rv->part_size = (uint64_t)size;
	return 0;
}

/* ---- image files ---------------------------------------------------------------- */

static bool digest_ok(const char *d)
{
	return d && strlen(d) == 64 && strspn(d, "0123456789abcdef") == 64;
}

/* The DATA of an image file to its DONE: written (fd >= 0), hashed, checked. */
static int recv_blob_data(struct receiver *rv, int fd, const char *file, struct image_hash **hs, int64_t size)
{
	uint64_t total = 0;
	rv->part_done = false;
	while (!rv->part_done) {
		uint8_t t;
		const uint8_t *d;
		size_t dn;
		int r = stream_read(&rv->r, &t, &d, &dn, rv->e);
		if (r < 0)
			return r;
		if (t == SF_DONE) {
			if ((r = part_end(rv, d, dn)) < 0)
				return r;
			continue;
		}
		if (t != SF_DATA)
			return frame_error(rv, "an image file cut short by another frame");
		image_hash_update(*hs, d, dn);
		total += dn;
		isc_meter_add(&rv->m, dn);
		if (fd >= 0 && write_all(fd, d, dn) < 0)
			return err_sys(rv->e, errno, "write %s", file);
	}
	if (total != rv->part_size || total != (uint64_t)size)
		return frame_error(rv, "an image file not as long as its header says");
	if (STREQ(file + 65, "erofs")) {
		uint8_t md[IMAGE_SHA256_SIZE];
		char hex[65];
		image_hash_final(*hs, md);
		*hs = NULL;
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
		if (strncmp(hex, file, 64) != 0)
			return frame_error(rv, "an image layer whose bytes are not its digest");
	}
	if (fd >= 0 && fsync(fd) < 0)
		return err_sys(rv->e, errno, "write %s", file);
	rv->bytes += total;
	return 0;
}

static int recv_blob(struct receiver *rv, const uint8_t *p, size_t n)
{
	json_object *o = frame_json(rv, p, n);
	if (!o)
		return -rv->e->code;
	const char *kind = jstr(o, "kind"), *digest = jstr(o, "digest");
	int64_t size;
	char file[96];
	bool ok = kind && digest_ok(digest) && jint(o, "size", &size) && size >= 0 &&
		  (STREQ(kind, "erofs") || STREQ(kind, "manifest") || STREQ(kind, "erofs.minisig"));
	if (ok)
		snprintf(file, sizeof(file), "%s.%s", digest, kind);
	json_object_put(o);
	if (!ok)
		return frame_error(rv, "a BLOB that names no image file");
	if (rv->nblobs == RECV_MAX_BLOBS)
		return frame_error(rv, "more image files than any ISC has");
	/* one the pool has already is read and checked, not kept */
	char have[128];
	snprintf(have, sizeof(have), "images/%s", file);
	bool keep = faccessat(rv->p->dirfd, have, F_OK, AT_SYMLINK_NOFOLLOW) != 0;
	if (keep) {
		str_copy(rv->cur, sizeof(rv->cur), file);
		rv->cur_blob = true;
	}
	_cleanup_close_ int fd = keep ? openat(rv->imgs, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444) : -1;
	if (keep && fd < 0)
		return errno == EEXIST ? frame_error(rv, "an image file sent twice") :
		       err_sys(rv->e, errno, "%s/images/%s/%s", rv->p->path, rv->imgs_name, file);
	struct image_hash *hs = image_hash_new(rv->p->flat_digest);
	if (!hs)
		return err_set(rv->e, ENOMEM, "out of memory");
	int r = recv_blob_data(rv, fd, file, &hs, size);
	if (hs)
		image_hash_final(hs, (uint8_t[IMAGE_SHA256_SIZE]){ 0 });
	if (r < 0)
		return r;
	if (keep)
		str_copy(rv->blobs[rv->nblobs++], 96, file);
	rv->cur[0] = '\0';
	rv->parts++;
	return 0;
}

/* ---- frozen layers ----------------------------------------------------------------- */

/* A layer's DATA frames, to its DONE, into isc-archive unpack (confined),
 * which refuses what a layer may not hold and writes the rest into dirfd:
 * directories, files, symlinks, overlayfs whiteouts; ids inside the ISC's
 * 65536, shifted into its range; of xattrs, the opaque mark. */
static int extract(struct receiver *rv, int dirfd, const char *where)
{
	char uid[16], msg[512];
	snprintf(uid, sizeof(uid), "%u", rv->uid);
	struct archiver a;
	char *args[] = { "unpack", uid, NULL };
	int r = archiver_start(&a, args, dirfd, -1, true, false, rv->e);
	if (r < 0)
		return r;
	bool gone = false;   /* it stopped reading: its status says why */
	while (!rv->part_done) {
		uint8_t t;
		const uint8_t *d;
		size_t dn;
		if (stream_read(&rv->r, &t, &d, &dn, rv->e) < 0) {
			archiver_kill(&a);
			return -rv->e->code;
		}
		if (t == SF_DONE) {
			if ((r = part_end(rv, d, dn)) < 0) {
				archiver_kill(&a);
				return r;
			}
			break;
		}
		if (t != SF_DATA) {
			archiver_kill(&a);
			return frame_error(rv, "a layer cut short by another frame");
		}
		rv->bytes += dn;
		isc_meter_add(&rv->m, dn);
		if (!gone && write_all(a.in, d, dn) < 0)
			gone = true;
	}
	int st = archiver_finish(&a, msg, sizeof(msg));
	if (st == 3)
		return frame_error(rv, msg);
	if (st != 0)
		return err_set(rv->e, st == 1 ? EPERM : EIO, "%s: %s", where, msg);   /* 1: refused */
	return 0;
}

static int recv_layer(struct receiver *rv, const uint8_t *p, size_t n)
{
	json_object *o = frame_json(rv, p, n);
	if (!o)
		return -rv->e->code;
	const char *layer = jstr(o, "layer");
	int64_t id;
	struct got_layer g = { 0 };
	bool ok = layer && name_valid(layer) && strlen(layer) < sizeof(g.layer) && !STREQ(layer, "rootw") &&
		  jint(o, "id", &id) && id >= 1 && id < (1 << 30);
	if (ok) {
		str_copy(g.layer, sizeof(g.layer), layer);
		g.id = (uint32_t)id;
	}
	json_object_put(o);
	if (!ok)
		return frame_error(rv, "a LAYER that names no frozen layer");
	if (!rv->have_meta)
		return frame_error(rv, "a layer before the ISC's record");
	if (rv->ngot == RECV_MAX_LAYERS)
		return frame_error(rv, "more layers than any ISC has");
	for (size_t i = 0; i < rv->ngot; i++)
		if (rv->got[i].id == g.id && STREQ(rv->got[i].layer, g.layer))
			return frame_error(rv, "a layer sent twice");
	char dir[160];
	snprintf(dir, sizeof(dir), "%s-%u", g.layer, g.id);
	if (mkdirat(rv->stage, dir, 0755) < 0)
		return err_sys(rv->e, errno, "%s/%s/%s", rv->p->path, rv->stage_path, dir);
	str_copy(rv->cur, sizeof(rv->cur), dir);
	rv->cur_blob = false;
	_cleanup_close_ int fd = openat(rv->stage, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_sys(rv->e, errno, "%s/%s/%s", rv->p->path, rv->stage_path, dir);
	if (rv->o->progress) {
		char line[96];
		snprintf(line, sizeof(line), "layer %s/%u", g.layer, g.id);
		rv->o->progress(line, rv->o->pdata);
	}
	rv->part_done = false;
	char where[200];
	snprintf(where, sizeof(where), "layer %s/%u", g.layer, g.id);
	int r = extract(rv, fd, where);
	if (r == 0 && fchown(fd, rv->uid, rv->uid) < 0)
		r = err_sys(rv->e, errno, "%s", where);
	if (r == 0) {
		rv->got[rv->ngot++] = g;
		rv->cur[0] = '\0';
		rv->parts++;
	}
	return r;
}

/* Does dir (relative to dirfd) hold nothing?  One that is not there does not. */
static bool dir_empty_at(int dirfd, const char *dir)
{
	int fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	struct dirent *de;
	bool empty = true;
	while (empty && (de = readdir(d)))
		empty = STREQ(de->d_name, ".") || STREQ(de->d_name, "..");
	closedir(d);
	return empty;
}

/* What in a received record loosens an ISC's confinement beyond isc's
 * defaults: "" when nothing does.  A plain stream's record is as trusted
 * as its transport; these settings need the operator's word
 * (--accept-settings), or a raw stream (made with the same wrapping key). */
static void loosened(const struct isc_config *c, char *buf, size_t n)
{
	size_t k = 0;
	uint64_t caps = 0;
	struct isc_err ignore = { 0 };
	buf[0] = '\0';
#define SAY(...) (k += (size_t)snprintf(buf + k, k < n ? n - k : 0, __VA_ARGS__), k = k < n ? k : n - 1)
	if (!c->seccomp)
		SAY("%sseccomp=off", k ? ", " : "");
	if (!c->landlock)
		SAY("%slandlock=off", k ? ", " : "");
	if (!c->mdwe)
		SAY("%smdwe=off", k ? ", " : "");
	if (config_limitpriv(c->limitpriv, ISC_CAPS_DEFAULT, &caps, &ignore) < 0 || (caps & ~ISC_CAPS_DEFAULT))
		SAY("%slimitpriv=%s", k ? ", " : "", c->limitpriv);
	if (c->profile == PROFILE_NONE)
		SAY("%sprofile none", k ? ", " : "");
	if (c->egress.kind != EGRESS_DENY || c->maintenance_egress.kind != EGRESS_DENY)
		SAY("%segress", k ? ", " : "");
#undef SAY
}

static int check_settings(struct receiver *rv, const struct isc_config *c)
{
	char what[300];
	loosened(c, what, sizeof(what));
	if (!what[0] || rv->r.raw || rv->o->accept_settings)
		return 0;
	return err_set(rv->e, EPERM, "the stream's record loosens confinement (%s): receive --accept-settings "
		       "if you trust its sender, or change it there", what);
}

/* ---- the record --------------------------------------------------------------------- */

static int recv_meta(struct receiver *rv, const uint8_t *p, size_t n)
{
	if (rv->have_meta || rv->r.frames != 1)
		return frame_error(rv, "the ISC's record is not the first frame");
	json_object *o = frame_json(rv, p, n);
	if (!o)
		return -rv->e->code;
	const char *text = jstr(o, "config");
	struct isc_err ce = { 0 };
	int r = text ? config_parse(text, &rv->sent, &ce) : -EINVAL;
	uint8_t md[32];
	char hex[65] = "";
	if (text) {
		crypto_hash_sha256(md, (const uint8_t *)text, strlen(text));
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	}
	json_object_put(o);
	if (r < 0)
		return err_set(rv->e, EBADMSG, "frame 1: the ISC's record does not parse: %s",
			       ce.msg[0] ? ce.msg : "no config");
	rv->have_meta = true;
	if (rv->resumed && !STREQ(hex, rv->meta))
		return frame_error(rv, "the ISC's record is not the one the kept receive began with");
	memcpy(rv->meta, hex, sizeof(rv->meta));
	/* nothing of the sender's host is taken, whatever the record says:
	 * this pool's key, no origin, no ports, no autoboot, no key path */
	struct isc_config *c = &rv->sent;
	c->encryption_root[0] = '\0';
	c->origin[0] = '\0';
	c->nexpose = 0;
	c->autoboot = false;
	c->require_signature[0] = '\0';
	/* before any byte more: an increment takes no settings, a full stream's
	 * may not loosen confinement unless the operator says so */
	return rv->incremental ? 0 : check_settings(rv, c);
}

/* ---- the whole stream --------------------------------------------------------------- */

/* Every version the record names has its layers here or in the stream. */
static int check_images(struct receiver *rv, const struct isc_config *c)
{
	for (size_t s = 0; s <= c->nsnapshots; s++) {
		const char *d = s < c->nsnapshots ? c->snapshots[s].digest : c->digest;
		char l[ISC_MAX_LAYERS][65];
		int nl = config_layers(c, d, l, ISC_MAX_LAYERS);
		if (nl < 0)
			return err_set(rv->e, EBADMSG, "the ISC's versions nest too deep");
		for (int i = 0; i < nl; i++)
			for (int k = 0; k < 2; k++) {
				char file[96], path[128];
				snprintf(file, sizeof(file), "%s.%s", l[i], k ? "manifest" : "erofs");
				snprintf(path, sizeof(path), "images/%s", file);
				bool staged = false;
				for (size_t b = 0; b < rv->nblobs && !staged; b++)
					staged = STREQ(rv->blobs[b], file);
				if (!staged && faccessat(rv->p->dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
					return err_set(rv->e, ENOENT, "image layer %.12s is neither in the stream nor in "
						       "this pool%s", l[i], rv->incremental ? "" : " (a full stream has them all)");
			}
	}
	return 0;
}

/* Staged image files into images/: one the pool gained meanwhile stays as it is. */
static int publish_images(struct receiver *rv)
{
	for (size_t i = 0; i < rv->nblobs; i++) {
		char to[128];
		snprintf(to, sizeof(to), "images/%s", rv->blobs[i]);
		if (renameat2(rv->imgs, rv->blobs[i], rv->p->dirfd, to, RENAME_NOREPLACE) < 0 && errno != EEXIST)
			return err_sys(rv->e, errno, "%s/%s", rv->p->path, to);
	}
	int r = fsync_dir_at(rv->p->dirfd, "images");
	return r < 0 ? err_sys(rv->e, -r, "%s/images", rv->p->path) : 0;
}

/* Staged layers into layers/L/frozen/ID under dir (the ISC's data). */
static int place_layers(struct receiver *rv, int datafd)
{
	for (size_t i = 0; i < rv->ngot; i++) {
		char from[160], to[200], parent[160];
		snprintf(from, sizeof(from), "%s-%u", rv->got[i].layer, rv->got[i].id);
		snprintf(parent, sizeof(parent), "layers/%s", rv->got[i].layer);
		mkdirat(datafd, "layers", 0700);
		mkdirat(datafd, parent, 0700);
		snprintf(parent, sizeof(parent), "layers/%s/frozen", rv->got[i].layer);
		mkdirat(datafd, parent, 0700);
		snprintf(to, sizeof(to), "%s/%u", parent, rv->got[i].id);
		if (renameat2(rv->stage, from, datafd, to, RENAME_NOREPLACE) < 0)
			return err_sys(rv->e, errno, "%s: frozen layer %s/%u", rv->name, rv->got[i].layer, rv->got[i].id);
	}
	return 0;
}

static uint32_t next_frozen(const struct receiver *rv, uint32_t at_least)
{
	for (size_t i = 0; i < rv->ngot; i++)
		if (rv->got[i].id >= at_least)
			at_least = rv->got[i].id + 1;
	return at_least;
}

/* Each layer received belongs to the snapshot's state. */
static int check_layers(struct receiver *rv)
{
	for (size_t i = 0; i < rv->ngot; i++) {
		bool in = false;
		for (size_t k = 0; k < rv->sent.head.n && !in; k++)
			in = rv->sent.head.id[k] == rv->got[i].id;
		if (!in)
			return err_set(rv->e, EBADMSG, "layer %s/%u is not in the snapshot's state", rv->got[i].layer,
				       rv->got[i].id);
	}
	return 0;
}

/* receive --trust KEY: a plain stream's END signed, by KEY, over the
 * chain's last tag before it.  Never fails open: an unreadable key, a
 * stream with no signature or another signer's is refused. */
static int check_signature(struct receiver *rv, const char *sigtext)
{
	if (!rv->o->trust || rv->r.raw)
		return 0;       /* a raw stream is authenticated by its key */
	struct minisign_pub pk;
	struct minisign_sig sig;
	char hex[2 * STREAM_TAG_LEN + 1], msg[96];
	if (minisign_pub_load(rv->o->trust, &pk, rv->e) < 0)
		return err_prefix(rv->e, "--trust");
	if (!sigtext)
		return err_set(rv->e, EKEYREJECTED, "the stream is not signed (--trust %s asks that it be)",
			       rv->o->trust);
	if (minisign_sig_parse(sigtext, strlen(sigtext), &sig, rv->e) < 0)
		return err_prefix(rv->e, "the stream's signature");
	stream_tag_hex(rv->r.tag, hex);
	int n = snprintf(msg, sizeof(msg), "isc-stream-1 %s", hex);
	_cleanup_close_ int fd = memfd_create("isc-stream-sig", MFD_CLOEXEC);
	if (fd < 0 || write_all(fd, msg, (size_t)n) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return err_sys(rv->e, errno, "check the stream's signature");
	if (minisign_verify_fd(fd, &sig, &pk, 1, rv->e) < 0)
		return err_prefix(rv->e, "the stream is not signed by %s", rv->o->trust);
	return 0;
}

static int read_all_frames(struct receiver *rv)
{
	for (;;) {
		uint8_t t;
		const uint8_t *p;
		size_t n;
		int r = stream_read(&rv->r, &t, &p, &n, rv->e);
		if (r < 0)
			return r;
		if (t != SF_META && !rv->have_meta)
			return frame_error(rv, "the first frame is not the ISC's record");
		switch (t) {
		case SF_META:
			r = recv_meta(rv, p, n);
			break;
		case SF_BLOB:
			r = recv_blob(rv, p, n);
			break;
		case SF_LAYER:
			r = recv_layer(rv, p, n);
			break;
		case SF_END: {
			json_object *o = frame_json(rv, p, n);
			int64_t frames = -1;
			bool ok = o && jint(o, "frames", &frames) && (uint64_t)frames == rv->r.frames;
			if (ok && (r = check_signature(rv, jstr(o, "signature"))) < 0) {
				json_object_put(o);
				return r;
			}
			json_object_put(o);
			if (!ok)
				return o ? frame_error(rv, "the end counts other frames than came") : -rv->e->code;
			/* and nothing after it */
			return stream_read(&rv->r, &t, &p, &n, rv->e);
		}
		default:
			return frame_error(rv, "a DATA or DONE frame outside a part");
		}
		if (r < 0)
			return r;
	}
}

static int recv_begin_full(struct receiver *rv, json_object *h, uint8_t id[CRYPT_ID_SIZE])
{
	char dir[128];
	snprintf(dir, sizeof(dir), "isc/%s", rv->name);
	if (faccessat(rv->p->dirfd, dir, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set(rv->e, EEXIST, "ISC %s already exists (an incremental stream goes onto it; "
			       "a full one makes a new ISC)", rv->name);
	if (!(rv->uid = isc_uid_alloc(rv->p)))
		return err_set(rv->e, ENOSPC, "no free uid range for %s", rv->name);
	uint8_t key[STREAM_KEY_LEN];
	int r;
	if (rv->r.raw) {
		const char *root = jstr(h, "root"), *rec = jstr(h, "wrapped");
		if (!root || !rec || !name_valid(root))
			return err_set(rv->e, EBADMSG, "a raw stream's header without its wrapped key");
		r = keyring_import(rv->p, rv->name, root, rec, rv->o->keysource, rv->o->interactive, id, key, rv->e);
		rv->key_made = r == 0;
		if (r == 0)
			r = stream_read_key(&rv->r, key, rv->e);
		sodium_memzero(key, sizeof(key));
	} else {
		keyring_remove(rv->p, rv->name, rv->e);   /* a crashed destroy's */
		err_clear(rv->e);
		r = keyring_create(rv->p, rv->name, rv->o->keysource, id, rv->e);
		rv->key_made = r == 0;
	}
	if (r < 0)
		return r;
	/* tmp/receive-NAME/data under the new key; renamed into isc/ at the end */
	snprintf(rv->stage_path, sizeof(rv->stage_path), "tmp/receive-%s", rv->name);
	rm_rf_at(rv->p->dirfd, rv->stage_path);
	char data[200];
	snprintf(data, sizeof(data), "%s/data", rv->stage_path);
	if (mkdirat(rv->p->dirfd, rv->stage_path, 0700) < 0 || mkdirat(rv->p->dirfd, data, 0700) < 0)
		return err_sys(rv->e, errno, "%s/%s", rv->p->path, data);
	_cleanup_close_ int dfd = openat(rv->p->dirfd, data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fscrypt_policy_set(dfd, id, rv->e) < 0)
		return dfd < 0 ? err_sys(rv->e, errno, "%s/%s", rv->p->path, data) : -rv->e->code;
	if (mkdirat(dfd, ".recv", 0700) < 0 || (rv->stage = openat(dfd, ".recv", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_sys(rv->e, errno, "%s/%s/.recv", rv->p->path, data);
	return 0;
}

/* A raw stream onto what this pool has already (a resume, an increment):
 * its key from root's master key here. */
static int raw_key(struct receiver *rv, const char *root)
{
	if (!rv->r.raw)
		return 0;
	struct secret master _cleanup_secret_ = { 0 };
	uint8_t key[STREAM_KEY_LEN];
	int r = keyring_master(rv->p, root, rv->o->interactive, &master, rv->e);
	if (r < 0)
		return r;
	stream_key_derive(master.buf, master.len, key);
	r = stream_read_key(&rv->r, key, rv->e);
	sodium_memzero(key, sizeof(key));
	return r;
}

/* A full receive kept earlier: its key (made then) loaded, its staging back. */
static int recv_begin_resumed(struct receiver *rv)
{
	char part[160], data[200];
	partial_path(rv->name, NULL, part, sizeof(part));
	snprintf(rv->stage_path, sizeof(rv->stage_path), "tmp/receive-%s", rv->name);
	rm_rf_at(rv->p->dirfd, rv->stage_path);
	if (renameat(rv->p->dirfd, part, rv->p->dirfd, rv->stage_path) < 0)
		return err_sys(rv->e, errno, "%s/%s", rv->p->path, part);
	rv->key_made = true;   /* from now on, what fails goes whole, key too (unless kept again) */
	int r = keyring_load(rv->p, rv->name, rv->o->interactive, rv->e);
	if (r == 0)
		r = raw_key(rv, rv->name);
	if (r < 0)
		return r;
	snprintf(data, sizeof(data), "%s/data/.recv", rv->stage_path);
	if ((rv->stage = openat(rv->p->dirfd, data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_sys(rv->e, errno, "%s/%s", rv->p->path, data);
	return 0;
}

static int recv_commit_full(struct receiver *rv)
{
	struct isc_config *c = &rv->sent;
	int r = check_layers(rv);
	if (r == 0)
		r = check_images(rv, c);
	if (r < 0)
		return r;
	str_copy(c->name, sizeof(c->name), rv->name);
	c->uid = rv->uid;
	c->frozen_next = next_frozen(rv, c->frozen_next);
	char data[200], cfg[200], dir[128];
	snprintf(data, sizeof(data), "%s/data", rv->stage_path);
	_cleanup_close_ int dfd = openat(rv->p->dirfd, data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(rv->e, errno, "%s/%s", rv->p->path, data);
	if ((r = place_layers(rv, dfd)) < 0)
		return r;
	unlinkat(dfd, ".recv", AT_REMOVEDIR);
	_cleanup_free_ char *text = config_dump(c);
	snprintf(cfg, sizeof(cfg), "%s/config", rv->stage_path);
	r = text ? write_file_atomic(rv->p->dirfd, cfg, text, strlen(text), 0600) : -ENOMEM;
	if (r < 0)
		return err_sys(rv->e, -r, "write %s/%s", rv->p->path, cfg);
	if ((r = publish_images(rv)) < 0)
		return r;
	/* the ISC appears whole, at once */
	snprintf(dir, sizeof(dir), "isc/%s", rv->name);
	if (renameat2(rv->p->dirfd, rv->stage_path, rv->p->dirfd, dir, RENAME_NOREPLACE) < 0)
		return err_sys(rv->e, errno, "receive ISC %s", rv->name);
	rv->stage_path[0] = '\0';
	r = fsync_dir_at(rv->p->dirfd, "isc");
	return r < 0 ? err_sys(rv->e, -r, "receive ISC %s", rv->name) : 0;
}

/* An incremental stream goes onto the ISC only as it was at its base:
 * halted, on the base snapshot's layers, nothing written since. */
static int recv_begin_incremental(struct receiver *rv, json_object *h, struct isc_config *cur)
{
	const char *base = jstr(h, "base"), *chain = jstr(h, "base_chain"), *digest = jstr(h, "base_digest");
	struct isc_chain want;
	if (!base || !chain || !digest || config_chain_parse(chain, &want) < 0)
		return err_set(rv->e, EBADMSG, "an incremental stream's header without its base");
	char dir[128];
	snprintf(dir, sizeof(dir), "isc/%s", rv->name);
	if (faccessat(rv->p->dirfd, dir, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
		return err_set(rv->e, ENOENT, "ISC %s does not exist here: an incremental stream goes onto the ISC "
			       "its base was received as", rv->name);
	int r = isc_config_load(rv->p, rv->name, cur, rv->e);
	if (r < 0)
		return r;
	rv->uid = cur->uid;
	const struct isc_snapshot *b = config_snapshot(cur, base);
	char have[ISC_MAX_CHAIN * 11 + 2], head[ISC_MAX_CHAIN * 11 + 2];
	if (b)
		config_chain_format(&b->chain, have, sizeof(have));
	config_chain_format(&cur->head, head, sizeof(head));
	if (!b || !STREQ(have, chain) || !STREQ(b->digest, digest))
		return err_set(rv->e, ENOENT, "%s has no snapshot @%s as the sender's: receive the full stream "
			       "(or the increments before this one) first", rv->name, base);
	if (isc_running(rv->name))
		return err_set(rv->e, EBUSY, "%s is running: halt it first", rv->name);
	char dirs[16][64];
	size_t nd = isc_layer_dirs(rv->p, rv->name, dirs, ARRAY_SIZE(dirs));
	bool written = !STREQ(head, have) || !STREQ(cur->digest, b->digest);
	for (size_t i = 0; i < nd && !written; i++) {
		char up[160];
		snprintf(up, sizeof(up), "isc/%s/data/layers/%s/upper", rv->name, dirs[i]);
		written = !dir_empty_at(rv->p->dirfd, up);
	}
	if (written)
		return err_set(rv->e, EBUSY, "%s has changed since @%s: iscadm rollback %s@%s first", rv->name, base,
			       rv->name, base);
	if ((r = raw_key(rv, config_key_root(cur))) < 0)
		return r;
	if ((r = isc_key_ready(rv->p, cur, rv->o->interactive, rv->e)) < 0)
		return r;
	snprintf(rv->stage_path, sizeof(rv->stage_path), "isc/%s/data/.recv", rv->name);
	rm_rf_at(rv->p->dirfd, rv->stage_path);
	if (rv->resumed) {
		char kept[160];
		snprintf(kept, sizeof(kept), "isc/%s/data/.partial", rv->name);
		r = renameat(rv->p->dirfd, kept, rv->p->dirfd, rv->stage_path);
	} else {
		r = mkdirat(rv->p->dirfd, rv->stage_path, 0700);
	}
	if (r < 0 || (rv->stage = openat(rv->p->dirfd, rv->stage_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_sys(rv->e, errno, "%s/%s", rv->p->path, rv->stage_path);
	return 0;
}

static int recv_commit_incremental(struct receiver *rv, struct isc_config *cur)
{
	const struct isc_config *s = &rv->sent;
	int r = check_layers(rv);
	if (r < 0)
		return r;
	/* the sender's line after the base: versions and snapshots this one lacks */
	for (size_t i = 0; i < s->nversions; i++) {
		bool have = false;
		for (size_t k = 0; k < cur->nversions && !have; k++)
			have = STREQ(cur->versions[k].digest, s->versions[i].digest);
		if (!have && cur->nversions == ISC_MAX_VERSIONS)
			return err_set(rv->e, ENOSPC, "%s has as many versions as it can keep: iscadm history %s "
				       "--prune first", rv->name, rv->name);
		if (!have)
			cur->versions[cur->nversions++] = s->versions[i];
	}
	for (size_t i = 0; i < s->nsnapshots; i++) {
		struct isc_snapshot *x = config_snapshot(cur, s->snapshots[i].name);
		if (x && x->made != s->snapshots[i].made)
			return err_set(rv->e, EEXIST, "%s@%s exists here and is another snapshot than the sender's",
				       rv->name, s->snapshots[i].name);
		if (!x && cur->nsnapshots == ISC_MAX_SNAPSHOTS)
			return err_set(rv->e, ENOSPC, "%s has %d snapshots, the most it keeps", rv->name,
				       ISC_MAX_SNAPSHOTS);
		if (!x)
			cur->snapshots[cur->nsnapshots++] = s->snapshots[i];
	}
	memcpy(cur->digest, s->digest, sizeof(cur->digest));
	cur->head = s->head;
	cur->frozen_next = next_frozen(rv, cur->frozen_next > s->frozen_next ? cur->frozen_next : s->frozen_next);
	if ((r = check_images(rv, cur)) < 0)
		return r;
	char data[128];
	snprintf(data, sizeof(data), "isc/%s/data", rv->name);
	_cleanup_close_ int dfd = openat(rv->p->dirfd, data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_sys(rv->e, errno, "%s/%s", rv->p->path, data);
	if ((r = publish_images(rv)) < 0 || (r = place_layers(rv, dfd)) < 0)
		return r;
	/* the commit: until the record names them, the layers are unused */
	if ((r = isc_config_save(rv->p, cur, rv->e)) < 0) {
		for (size_t i = 0; i < rv->ngot; i++) {
			char to[200];
			snprintf(to, sizeof(to), "layers/%s/frozen/%u", rv->got[i].layer, rv->got[i].id);
			rm_rf_at(dfd, to);
		}
	}
	return r;
}

/* ---- kept and resumed receives ---------------------------------------------------
 * receive -s keeps what arrived whole when a stream breaks: the staging
 * renamed where no sweep takes it (tmp/partial-NAME, images/.recv-NAME,
 * an increment's isc/NAME/data/.partial) and a state file; send -t TOKEN
 * sends the same stream from the first part not kept. */

static json_object *state_of(const char *src, const char *snap, const char *base, bool raw, const char *meta,
			     unsigned parts)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "isc", json_object_new_string(src));
	json_object_object_add(o, "snapshot", json_object_new_string(snap));
	if (base)
		json_object_object_add(o, "base", json_object_new_string(base));
	json_object_object_add(o, "raw", json_object_new_boolean(raw));
	json_object_object_add(o, "meta", json_object_new_string(meta));
	json_object_object_add(o, "parts", json_object_new_int64(parts));
	return o;
}

int isc_receive_token(const struct pool *p, const char *name, char *token, size_t n, struct isc_err *e)
{
	char path[160];
	_cleanup_free_ char *text = NULL;
	size_t len;
	partial_path(name, "state", path, sizeof(path));
	int r = read_file_at(p->dirfd, path, &text, &len, 4096);
	if (r == -ENOENT)
		return err_set(e, ENOENT, "no kept receive of %s (receive -s keeps one when a stream breaks)", name);
	if (r < 0)
		return err_sys(e, -r, "%s/%s", p->path, path);
	json_object *o = json_tokener_parse(text);
	if (o)
		json_object_object_del(o, "uid");
	const char *j = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
	size_t need = j ? sodium_base64_ENCODED_LEN(strlen(j), sodium_base64_VARIANT_URLSAFE_NO_PADDING) : 0;
	if (!j || need + 2 > n) {
		json_object_put(o);
		return err_set(e, EBADMSG, "%s/%s does not read", p->path, path);
	}
	memcpy(token, "1-", 2);
	sodium_bin2base64(token + 2, n - 2, (const unsigned char *)j, strlen(j), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	json_object_put(o);
	return 0;
}

static int recv_keep(struct receiver *rv, const char *src, const char *snap, const char *base, const char *ipath)
{
	char part[160], state[160], img[128];
	if (rv->cur[0])
		rm_rf_at(rv->cur_blob ? rv->imgs : rv->stage, rv->cur);   /* the part cut short */
	partial_path(rv->name, NULL, part, sizeof(part));
	rm_rf_at(rv->p->dirfd, part);
	if (!rv->incremental) {
		if (renameat(rv->p->dirfd, rv->stage_path, rv->p->dirfd, part) < 0)
			return -errno;
	} else {
		char from[160], to[160];
		snprintf(from, sizeof(from), "isc/%s/data/.recv", rv->name);
		snprintf(to, sizeof(to), "isc/%s/data/.partial", rv->name);
		rm_rf_at(rv->p->dirfd, to);
		if (mkdirat(rv->p->dirfd, part, 0700) < 0 || renameat(rv->p->dirfd, from, rv->p->dirfd, to) < 0)
			return -errno;
	}
	rv->stage_path[0] = '\0';
	snprintf(img, sizeof(img), "images/.recv-%s", rv->name);
	rm_rf_at(rv->p->dirfd, img);
	if (renameat(rv->p->dirfd, ipath, rv->p->dirfd, img) < 0)
		return -errno;
	json_object *o = state_of(src, snap, base, rv->r.raw, rv->meta, rv->parts);
	json_object_object_add(o, "uid", json_object_new_int64(rv->uid));
	const char *j = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	partial_path(rv->name, "state", state, sizeof(state));
	int r = write_file_atomic(rv->p->dirfd, state, j, strlen(j), 0600);
	json_object_put(o);
	if (r == 0)
		rv->kept = true;
	return r;
}

/* A resumed stream: the kept receive it continues, its staging back in place. */
static int recv_resume(struct receiver *rv, json_object *h, const char *ipath)
{
	char path[160], img[128];
	_cleanup_free_ char *text = NULL;
	size_t len;
	int64_t parts = -1, uid = -1;
	partial_path(rv->name, "state", path, sizeof(path));
	int r = read_file_at(rv->p->dirfd, path, &text, &len, 4096);
	if (r < 0)
		return err_set(rv->e, ENOENT, "a resumed stream, and no kept receive of %s to resume", rv->name);
	json_object *st = json_tokener_parse(text);
	const char *want[] = { "isc", "snapshot", "base", "meta" };
	bool same = st && jint(st, "parts", &parts) && jint(h, "resume", &uid) && parts == uid &&
		    jint(st, "uid", &uid) && uid > 0 && uid <= UINT32_MAX;
	for (size_t i = 0; same && i < ARRAY_SIZE(want); i++) {
		const char *a = jstr(st, want[i]), *b = jstr(h, want[i]);
		same = (!a && !b) || (a && b && STREQ(a, b));
	}
	json_object *ra;
	same = same && json_object_object_get_ex(st, "raw", &ra) && json_object_get_boolean(ra) == rv->r.raw;
	if (same)
		str_copy(rv->meta, sizeof(rv->meta), jstr(st, "meta"));
	json_object_put(st);
	if (!same)
		return err_set(rv->e, EINVAL, "the kept receive of %s is of another stream (iscadm receive -A %s drops it)",
			       rv->name, rv->name);
	rv->resumed = true;
	rv->parts = (unsigned)parts;
	rv->uid = (uint32_t)uid;
	snprintf(img, sizeof(img), "images/.recv-%s", rv->name);
	if (renameat(rv->p->dirfd, img, rv->p->dirfd, ipath) < 0)
		return err_sys(rv->e, errno, "%s/%s", rv->p->path, img);
	unlinkat(rv->p->dirfd, path, 0);
	return 0;
}

/* The parts a kept receive holds, listed again from its staging. */
static int recv_relist(struct receiver *rv)
{
	DIR *d = fdopendir(dup(rv->imgs));
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && rv->nblobs < RECV_MAX_BLOBS && strlen(de->d_name) < 96)
			str_copy(rv->blobs[rv->nblobs++], 96, de->d_name);
	if (d)
		closedir(d);
	d = fdopendir(dup(rv->stage));
	while (d && (de = readdir(d))) {
		char *dash = strrchr(de->d_name, '-');
		if (de->d_name[0] == '.' || !dash || rv->ngot == RECV_MAX_LAYERS || (size_t)(dash - de->d_name) >= 64)
			continue;
		struct got_layer g = { .id = (uint32_t)strtoul(dash + 1, NULL, 10) };
		snprintf(g.layer, sizeof(g.layer), "%.*s", (int)(dash - de->d_name), de->d_name);
		rv->got[rv->ngot++] = g;
	}
	if (d)
		closedir(d);
	return 0;
}

int isc_receive_abort(struct pool *p, const char *name, struct isc_err *e)
{
	char part[160], path[160], dir[128];
	partial_path(name, NULL, part, sizeof(part));
	if (faccessat(p->dirfd, part, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
		return err_set(e, ENOENT, "no kept receive of %s", name);
	snprintf(path, sizeof(path), "images/.recv-%s", name);
	rm_rf_at(p->dirfd, path);
	snprintf(path, sizeof(path), "isc/%s/data/.partial", name);
	rm_rf_at(p->dirfd, path);
	rm_rf_at(p->dirfd, part);
	/* a full receive's key went with it; an increment's ISC keeps its own */
	snprintf(dir, sizeof(dir), "isc/%s", name);
	if (faccessat(p->dirfd, dir, F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
		struct isc_err ignore = { 0 };
		keyring_remove(p, name, &ignore);
	}
	return 0;
}

int isc_receive(struct pool *p, const char *name, const struct isc_receive_opts *o, int fd, char *said,
		size_t n, struct isc_err *e)
{
	struct receiver rv = { .p = p, .name = name, .o = o, .e = e, .stage = -1, .imgs = -1 };
	struct isc_config cur;
	json_object *h = NULL;
	uint8_t id[CRYPT_ID_SIZE];
	bool cur_loaded = false;
	int lock = -1;
	config_init(&rv.sent);
	config_init(&cur);
	if (!name_valid(name))
		return err_set(e, EINVAL, "invalid ISC name '%.64s'", name);
	if (isc_name_kept(name, e) < 0)
		return -e->code;
	int r = stream_read_begin(&rv.r, stream_fd_read, &fd, &h, e);
	if (r < 0)
		goto out;
	const char *src = jstr(h, "isc"), *snap = jstr(h, "snapshot");
	if (!src || !snap || !name_valid(src) || !name_valid(snap)) {
		r = err_set(e, EBADMSG, "the stream header names no ISC@SNAPSHOT");
		goto out;
	}
	/* the stream names its images as its pool does; this pool must too */
	const char *digests = jstr(h, "digests");
	if (!STREQ(digests ? digests : "sha256", rv.p->flat_digest ? "sha256" : IMAGE_TREE_NAME)) {
		r = err_set(e, EPROTO, "the stream's images are named by %s digests, this pool's by %s: "
			    "receive into a pool made by the same isc",
			    digests ? (STREQ(digests, IMAGE_TREE_NAME) ? "tree" : "unknown") : "flat SHA-256",
			    rv.p->flat_digest ? "flat SHA-256 (a pool made before the tree digest)" : "tree");
		goto out;
	}
	rv.incremental = jstr(h, "base") != NULL;
	int64_t estimate = 0;
	jint(h, "estimate", &estimate);   /* the sender's word, for the ETA only */
	isc_meter_start(&rv.m, "received", estimate > 0 ? (uint64_t)estimate : 0, o->progress, o->pdata);
	if (!(rv.blobs = calloc(RECV_MAX_BLOBS, sizeof(*rv.blobs)))) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	snprintf(rv.imgs_name, sizeof(rv.imgs_name), ".build-recv-%s", name);
	char ipath[128], part[160];
	snprintf(ipath, sizeof(ipath), "images/%s", rv.imgs_name);
	partial_path(name, NULL, part, sizeof(part));
	int64_t resume;
	bool resuming = jint(h, "resume", &resume);
	rm_rf_at(p->dirfd, ipath);
	if (!resuming && faccessat(p->dirfd, part, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		r = err_set(e, EEXIST, "a kept receive of %s waits: resume it (iscadm receive --token %s) or drop it "
			    "(iscadm receive -A %s)", name, name, name);
		goto out;
	}
	if (resuming ? (r = recv_resume(&rv, h, ipath)) < 0 : mkdirat(p->dirfd, ipath, 0700) < 0) {
		if (!resuming)
			r = err_sys(e, errno, "%s/%s", p->path, ipath);
		goto out;
	}
	if ((rv.imgs = openat(p->dirfd, ipath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = err_sys(e, errno, "%s/%s", p->path, ipath);
		goto out;
	}
	lock = image_staging_lock(p->dirfd, ipath);
	if (rv.incremental) {
		cur_loaded = true;
		r = recv_begin_incremental(&rv, h, &cur);
	} else if (resuming) {
		r = recv_begin_resumed(&rv);
	} else {
		r = recv_begin_full(&rv, h, id);
	}
	if (r == 0 && resuming)
		r = recv_relist(&rv);
	if (r < 0)
		goto out;
	if ((r = read_all_frames(&rv)) < 0) {
		if (o->keep && rv.have_meta && recv_keep(&rv, src, snap, jstr(h, "base"), ipath) == 0)
			err_prefix(e, "%s kept (%u part%s whole)", name, rv.parts, rv.parts == 1 ? "" : "s");
		goto out;
	}
	r = rv.incremental ? recv_commit_incremental(&rv, &cur) : recv_commit_full(&rv);
	if (r == 0)
		snprintf(said, n, "received %s@%s as %s: %zu layer%s, %zu image file%s, %" PRIu64 " bytes", src, snap,
			 name, rv.ngot, rv.ngot == 1 ? "" : "s", rv.nblobs, rv.nblobs == 1 ? "" : "s", rv.bytes);
out:
	if (rv.stage >= 0)
		close(rv.stage);
	if (rv.stage_path[0])
		rm_rf_at(p->dirfd, rv.stage_path);
	if (rv.imgs >= 0) {
		close(rv.imgs);
		if (!rv.kept)
			rm_rf_at(p->dirfd, ipath);
	}
	if (lock >= 0)
		close(lock);
	if (r == 0 || (r < 0 && !rv.kept && rv.resumed))
		rm_rf_at(p->dirfd, part);   /* done with, or a resume that failed without -s: all gone */
	if (r < 0 && rv.key_made && !rv.kept) {
		struct isc_err ignore = { 0 };
		keyring_remove(p, name, &ignore);
	}
	(void)id;
	if (cur_loaded)
		config_free(&cur);
	config_free(&rv.sent);
	free(rv.blobs);
	json_object_put(h);
	stream_reader_free(&rv.r);
	return r;
}
