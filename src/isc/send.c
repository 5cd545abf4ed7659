/* send.c - iscadm send and receive: an ISC's snapshot (and the image
 * layers and frozen layers it stands on) as a stream, and back into
 * another pool, whole or not at all (docs/stream.md).  The isc library. */
#include "isc.h"
#include "image.h"
#include "stream.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

static const char *const blob_exts[] = { "erofs", "manifest", "erofs.minisig" };
#define BLOB_KINDS 3

/* ---- what a snapshot stands on ---------------------------------------------- */

/* The snapshots of c on snap's line up to snap (those whose frozen layers
 * are the bottom of snap's), oldest first. */
static size_t ancestors(const struct isc_config *c, const struct isc_snapshot *snap,
			const struct isc_snapshot **out)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nsnapshots; i++) {
		const struct isc_chain *a = &c->snapshots[i].chain, *b = &snap->chain;
		bool below = a->n <= b->n;
		for (size_t k = 0; below && k < a->n; k++)
			below = a->id[a->n - 1 - k] == b->id[b->n - 1 - k];
		if (below && c->snapshots[i].made <= snap->made)
			out[n++] = &c->snapshots[i];
	}
	return n;
}

static bool chain_has(const struct isc_chain *ch, uint32_t id)
{
	for (size_t i = 0; i < ch->n; i++)
		if (ch->id[i] == id)
			return true;
	return false;
}

/* The image layers of the versions in snaps, each once: out has room for max. */
static int image_layers(const struct isc_config *c, const struct isc_snapshot *const *snaps, size_t n,
			char (*out)[65], size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char l[ISC_MAX_LAYERS][65];
		int nl = config_layers(c, snaps[i]->digest, l, ISC_MAX_LAYERS);
		if (nl < 0)
			return nl;
		for (int j = 0; j < nl; j++) {
			bool have = false;
			for (size_t x = 0; x < k && !have; x++)
				have = STREQ(out[x], l[j]);
			if (!have && k == max)
				return -E2BIG;
			if (!have)
				memcpy(out[k++], l[j], 65);
		}
	}
	return (int)k;
}

/* ---- progress ------------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void isc_meter_start(struct isc_meter *m, const char *verb, uint64_t total, isc_progress_fn progress, void *pdata)
{
	*m = (struct isc_meter){ .total = total, .verb = verb, .progress = progress, .pdata = pdata };
	m->start_ms = m->last_ms = now_ms();
}

void isc_meter_add(struct isc_meter *m, uint64_t n)
{
	m->done += n;
	if (!m->progress)
		return;
	int64_t t = now_ms();
	if (t - m->last_ms < 1000)
		return;
	m->last_ms = t;
	double secs = (double)(t - m->start_ms) / 1000, mib = (double)m->done / (1 << 20);
	double rate = secs > 0 ? mib / secs : 0;
	char line[160];
	if (m->total && m->done < m->total && rate > 0)
		snprintf(line, sizeof(line), "%s %.1f of about %.1f MiB, %.1f MiB/s, about %.0f s left", m->verb, mib,
			 (double)m->total / (1 << 20), rate, ((double)(m->total - m->done) / (1 << 20)) / rate);
	else
		snprintf(line, sizeof(line), "%s %.1f MiB, %.1f MiB/s", m->verb, mib, rate);
	m->progress(line, m->pdata);
}

/* The apparent size of what a directory holds (for the estimate). */
static uint64_t tree_bytes(int dirfd, const char *path, int depth)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 || depth > 64 ? NULL : fdopendir(dup(fd));
	uint64_t sum = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		struct stat st;
		if (STREQ(de->d_name, ".") || STREQ(de->d_name, "..") ||
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		sum += S_ISDIR(st.st_mode) ? tree_bytes(fd, de->d_name, depth + 1) : (uint64_t)st.st_size;
	}
	if (d)
		closedir(d);
	return sum;
}

/* ---- send ---------------------------------------------------------------------- */

struct sender {
	struct stream_writer w;
	struct isc_meter m;
	unsigned part, skip;            /* parts (image files, layers) so far; a resume skips the first */
	const struct isc_send_opts *o;
	struct isc_send_stats *st;
	uint8_t *buf;
	size_t fill;
	struct isc_err *e;
};

static void say_progress(struct sender *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say_progress(struct sender *s, const char *fmt, ...)
{
	if (!s->o->progress)
		return;
	char line[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->o->progress(line, s->o->pdata);
}

static int put_json(struct sender *s, enum stream_frame t, json_object *o)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int r = s->o->dry_run ? 0 : stream_write(&s->w, t, text, strlen(text), s->e);
	json_object_put(o);
	return r;
}

/* DATA frames of at most STREAM_PAYLOAD_MAX, buffered. */
static int put_data(struct sender *s, const void *p, size_t n)
{
	const uint8_t *b = p;
	s->st->bytes += n;
	isc_meter_add(&s->m, n);
	if (s->o->dry_run)
		return 0;
	while (n) {
		size_t k = n < STREAM_PAYLOAD_MAX - s->fill ? n : STREAM_PAYLOAD_MAX - s->fill;
		memcpy(s->buf + s->fill, b, k);
		s->fill += k;
		b += k;
		n -= k;
		if (s->fill == STREAM_PAYLOAD_MAX) {
			int r = stream_write(&s->w, SF_DATA, s->buf, s->fill, s->e);
			s->fill = 0;
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int put_done(struct sender *s, uint64_t size)
{
	if (!s->o->dry_run && s->fill) {
		int r = stream_write(&s->w, SF_DATA, s->buf, s->fill, s->e);
		s->fill = 0;
		if (r < 0)
			return r;
	}
	json_object *o = json_object_new_object();
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	return put_json(s, SF_DONE, o);
}

static int send_blob(struct sender *s, const struct pool *p, const char *digest, unsigned kind)
{
	char path[128];
	snprintf(path, sizeof(path), "images/%s.%s", digest, blob_exts[kind]);
	_cleanup_close_ int fd = openat(p->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && kind == 2)
		return 0;       /* not signed */
	if (fd < 0)
		return err_sys(s->e, errno, "%s/%s", p->path, path);
	if (s->part++ < s->skip)
		return 0;       /* the kept receive has it */
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return err_set(s->e, EINVAL, "%s/%s: not a file", p->path, path);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "kind", json_object_new_string(blob_exts[kind]));
	json_object_object_add(o, "digest", json_object_new_string(digest));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)st.st_size));
	int r = put_json(s, SF_BLOB, o);
	uint64_t total = 0;
	while (r == 0 && !s->o->dry_run) {
		ssize_t k = read(fd, s->buf + s->fill, STREAM_PAYLOAD_MAX - s->fill);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return err_sys(s->e, errno, "read %s/%s", p->path, path);
		if (k == 0)
			break;
		s->fill += (size_t)k;
		total += (uint64_t)k;
		s->st->bytes += (uint64_t)k;
		isc_meter_add(&s->m, (uint64_t)k);
		if (s->fill == STREAM_PAYLOAD_MAX) {
			r = stream_write(&s->w, SF_DATA, s->buf, s->fill, s->e);
			s->fill = 0;
		}
	}
	if (s->o->dry_run) {
		total = (uint64_t)st.st_size;
		s->st->bytes += total;
	}
	if (r == 0 && total != (uint64_t)st.st_size)
		return err_set(s->e, EIO, "%s/%s changed while it was sent", p->path, path);
	return r < 0 ? r : put_done(s, total);
}

/* One frozen layer as a pax archive (isc-archive pack, confined): paths
 * relative, owners as the ISC sees them, only overlayfs' opaque mark of
 * the xattrs. */
static int send_layer(struct sender *s, const struct pool *p, const struct isc_config *c, const char *layer,
		      uint32_t id)
{
	char dir[PATH_MAX], uid[16], msg[512];
	snprintf(dir, sizeof(dir), "%s/isc/%s/data/layers/%s/frozen/%u", p->path, c->name, layer, id);
	struct stat st;
	if (lstat(dir, &st) < 0)
		return errno == ENOENT ? 0 : err_sys(s->e, errno, "%s", dir);
	if (s->part++ < s->skip)
		return 0;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "layer", json_object_new_string(layer));
	json_object_object_add(o, "id", json_object_new_int64(id));
	int r = put_json(s, SF_LAYER, o);
	if (r < 0)
		return r;
	say_progress(s, "layer %s/%u", layer, id);
	uint64_t before = s->st->bytes;
	snprintf(uid, sizeof(uid), "%u", c->uid);
	struct archiver a;
	char *args[] = { "pack", dir, uid, NULL };
	if ((r = archiver_start(&a, args, -1, -1, false, true, s->e)) < 0)
		return r;
	static uint8_t chunk[1 << 16];
	for (;;) {
		ssize_t k = read(a.out, chunk, sizeof(chunk));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if ((r = put_data(s, chunk, (size_t)k)) < 0) {
			archiver_kill(&a);
			return r;
		}
	}
	int st_a = archiver_finish(&a, msg, sizeof(msg));
	if (st_a != 0)
		return err_set(s->e, EIO, "layer %s/%u: %s", layer, id, msg);
	r = put_done(s, s->st->bytes - before);
	s->st->layers++;
	return r;
}

/* The record the receiver gets: the snapshot's state and its line of
 * snapshots, the versions their images need; nothing of this host's
 * (uid range, key, exposures, origin). */
static char *meta_text(const struct isc_config *c, const struct isc_snapshot *snap,
		       const struct isc_snapshot *const *line, size_t nline, char (*layers)[65], size_t nlayers,
		       struct isc_err *e)
{
	_cleanup_free_ char *text = config_dump(c);
	struct isc_config m;
	if (!text) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	if (config_parse(text, &m, e) < 0)
		return NULL;
	m.uid = ISC_UID_FIRST;   /* a placeholder: the receiver's range is its own */
	m.encryption_root[0] = '\0';
	m.nexpose = 0;
	m.origin[0] = '\0';
	m.autoboot = false;
	m.require_signature[0] = '\0';   /* a path of this host's */
	memcpy(m.digest, snap->digest, sizeof(m.digest));
	m.head = snap->chain;
	/* what the snapshot's line needs, not what came after it: the same
	 * record for a resumed stream */
	m.frozen_next = 1;
	for (size_t i = 0; i < snap->chain.n; i++)
		if (snap->chain.id[i] >= m.frozen_next)
			m.frozen_next = snap->chain.id[i] + 1;
	m.nsnapshots = 0;
	for (size_t i = 0; i < nline; i++)
		m.snapshots[m.nsnapshots++] = *line[i];
	size_t nv = 0;
	for (size_t i = 0; i < m.nversions; i++) {
		bool keep = false;
		for (size_t k = 0; k < nlayers && !keep; k++)
			keep = STREQ(m.versions[i].digest, layers[k]);
		if (keep)
			m.versions[nv++] = m.versions[i];
	}
	m.nversions = nv;
	char *out = config_dump(&m);
	config_free(&m);
	if (!out) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	return out;
}

static int sign_tag(const struct pool *p, const uint8_t tag[STREAM_TAG_LEN], char **sig, struct isc_err *e)
{
	struct minisign_sec sk;
	char hex[2 * STREAM_TAG_LEN + 1], msg[96];
	stream_tag_hex(tag, hex);
	int n = snprintf(msg, sizeof(msg), "isc-stream-1 %s", hex);
	int r = image_host_key(p, &sk, e);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = memfd_create("isc-stream-sig", MFD_CLOEXEC);
	if (fd < 0 || write_all(fd, msg, (size_t)n) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		r = err_sys(e, errno, "sign the stream");
	else
		r = minisign_sign_fd(fd, &sk, "isc send stream", sig, e);
	minisign_sec_wipe(&sk);
	return r;
}

int isc_send_token(const char *token, struct isc_send_resume *rs, struct isc_err *e)
{
	unsigned char bin[1024];
	size_t len = 0;
	*rs = (struct isc_send_resume){ 0 };
	if (!str_has_prefix(token, "1-") ||
	    sodium_base642bin(bin, sizeof(bin) - 1, token + 2, strlen(token + 2), NULL, &len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return err_set(e, EINVAL, "not a resume token of isc's (iscadm receive --token NAME prints one)");
	bin[len] = '\0';
	json_object *o = json_tokener_parse((const char *)bin), *v;
	const char *isc = NULL, *snap = NULL, *base = NULL, *meta = NULL;
	if (o && json_object_object_get_ex(o, "isc", &v))
		isc = json_object_get_string(v);
	if (o && json_object_object_get_ex(o, "snapshot", &v))
		snap = json_object_get_string(v);
	if (o && json_object_object_get_ex(o, "base", &v))
		base = json_object_get_string(v);
	if (o && json_object_object_get_ex(o, "meta", &v))
		meta = json_object_get_string(v);
	bool ok = isc && snap && meta && name_valid(isc) && name_valid(snap) && (!base || name_valid(base)) &&
		  strlen(meta) == 64 && json_object_object_get_ex(o, "parts", &v) &&
		  json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0 &&
		  json_object_get_int64(v) < 100000;
	if (ok) {
		rs->parts = (unsigned)json_object_get_int64(v);
		str_copy(rs->isc, sizeof(rs->isc), isc);
		str_copy(rs->snap, sizeof(rs->snap), snap);
		str_copy(rs->base, sizeof(rs->base), base ? base : "");
		str_copy(rs->meta, sizeof(rs->meta), meta);
		rs->raw = json_object_object_get_ex(o, "raw", &v) && json_object_get_boolean(v);
	}
	json_object_put(o);
	return ok ? 0 : err_set(e, EINVAL, "a resume token that does not read");
}

int isc_send(struct pool *p, const char *name, const struct isc_send_opts *o, int fd, struct isc_send_stats *st,
	     struct isc_err *e)
{
	struct isc_config c;
	*st = (struct isc_send_stats){ 0 };
	int r = isc_config_load(p, name, &c, e);
	if (r < 0)
		return r;
	struct sender s = { .o = o, .st = st, .e = e, .skip = o->resume ? o->resume->parts : 0 };
	const struct isc_snapshot *snap = config_snapshot(&c, o->snap), *base = NULL;
	static const struct isc_snapshot *line[ISC_MAX_SNAPSHOTS], *bline[ISC_MAX_SNAPSHOTS];
	static char layers[ISC_MAX_LAYERS * ISC_MAX_SNAPSHOTS][65], blayers[ISC_MAX_LAYERS * ISC_MAX_SNAPSHOTS][65];
	size_t nline = 0, nb = 0;
	int nl = 0, nbl = 0;
	_cleanup_free_ char *meta = NULL;
	json_object *h = NULL;
	struct secret master _cleanup_secret_ = { 0 };
	uint8_t key[STREAM_KEY_LEN];
	if (!snap) {
		r = err_set(e, ENOENT, "no snapshot %s@%s (iscadm snapshot -l %s)", name, o->snap, name);
		goto out;
	}
	if (c.origin[0]) {
		r = err_set(e, EINVAL, "%s is a clone of %s: its layers are partly its origin's; iscadm promote %s "
			    "first", name, c.origin, name);
		goto out;
	}
	if (o->base && !(base = config_snapshot(&c, o->base))) {
		r = err_set(e, ENOENT, "no snapshot %s@%s (iscadm snapshot -l %s)", name, o->base, name);
		goto out;
	}
	nline = ancestors(&c, snap, line);
	if (base) {
		bool on_line = false;
		for (size_t i = 0; i < nline && !on_line; i++)
			on_line = line[i] == base;
		if (!on_line || base == snap) {
			r = err_set(e, EINVAL, "@%s is not an earlier snapshot of %s@%s's line: an incremental "
				    "stream goes from an ancestor", o->base, name, o->snap);
			goto out;
		}
		nb = ancestors(&c, base, bline);
	}
	if ((nl = image_layers(&c, line, nline, layers, ARRAY_SIZE(layers))) < 0 ||
	    (nbl = image_layers(&c, bline, nb, blayers, ARRAY_SIZE(blayers))) < 0) {
		r = err_set(e, ELOOP, "%s: its versions nest too deep", name);
		goto out;
	}
	if (o->raw && !STREQ(config_key_root(&c), name)) {
		r = err_set(e, EINVAL, "%s's data is under %s's key: a raw stream carries an encryption "
			    "root's own key (send without --raw)", name, config_key_root(&c));
		goto out;
	}
	if ((r = isc_key_ready(p, &c, o->interactive, e)) < 0)
		goto out;
	if (!(meta = meta_text(&c, snap, line, nline, layers, (size_t)nl, e))) {
		r = -e->code;
		goto out;
	}
	if (o->resume) {
		uint8_t md[32];
		char hex[65];
		crypto_hash_sha256(md, (const uint8_t *)meta, strlen(meta));
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
		if (!STREQ(hex, o->resume->meta)) {
			r = err_set(e, ESTALE, "%s has changed since the kept receive began (its record differs): "
				    "drop that one (iscadm receive -A) and send again", name);
			goto out;
		}
	}
	/* about how much: the image files and the layers' bytes (for ETAs) */
	char dirs[16][64];
	size_t nd = isc_layer_dirs(p, name, dirs, ARRAY_SIZE(dirs));
	uint64_t estimate = 0;
	for (int i = 0; i < nl; i++) {
		bool had = false;
		for (int k = 0; k < nbl && !had; k++)
			had = STREQ(blayers[k], layers[i]);
		for (unsigned kind = 0; !had && kind < BLOB_KINDS; kind++) {
			char path[128];
			struct stat bst;
			snprintf(path, sizeof(path), "images/%s.%s", layers[i], blob_exts[kind]);
			if (fstatat(p->dirfd, path, &bst, AT_SYMLINK_NOFOLLOW) == 0)
				estimate += (uint64_t)bst.st_size;
		}
	}
	for (size_t i = 0; i < snap->chain.n; i++)
		for (size_t k = 0; k < nd && !(base && chain_has(&base->chain, snap->chain.id[i])); k++) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "isc/%s/data/layers/%s/frozen/%u", name, dirs[k], snap->chain.id[i]);
			estimate += tree_bytes(p->dirfd, path, 0);
		}
	isc_meter_start(&s.m, "sent", estimate, o->progress, o->pdata);
	h = json_object_new_object();
	json_object_object_add(h, "isc", json_object_new_string(name));
	json_object_object_add(h, "estimate", json_object_new_int64((int64_t)estimate));
	if (o->resume) {
		json_object_object_add(h, "resume", json_object_new_int64(o->resume->parts));
		json_object_object_add(h, "meta", json_object_new_string(o->resume->meta));
	}
	json_object_object_add(h, "snapshot", json_object_new_string(o->snap));
	if (base) {
		char chain[ISC_MAX_CHAIN * 11 + 2];
		config_chain_format(&base->chain, chain, sizeof(chain));
		json_object_object_add(h, "base", json_object_new_string(o->base));
		json_object_object_add(h, "base_chain", json_object_new_string(chain));
		json_object_object_add(h, "base_digest", json_object_new_string(base->digest));
	}
	json_object_object_add(h, "made", json_object_new_int64(time(NULL)));
	if (!p->flat_digest)
		json_object_object_add(h, "digests", json_object_new_string(IMAGE_TREE_NAME));
	if (o->raw) {
		struct wrapped w;
		_cleanup_free_ char *rec = NULL;
		if ((r = keyring_read(p, name, &w, e)) < 0 || (r = keyring_master(p, name, o->interactive, &master, e)) < 0)
			goto out;
		if (!(rec = wrapped_dump(&w))) {
			r = err_set(e, ENOMEM, "out of memory");
			goto out;
		}
		json_object_object_add(h, "root", json_object_new_string(name));
		json_object_object_add(h, "wrapped", json_object_new_string(rec));
		stream_key_derive(master.buf, master.len, key);
	}
	if (!(s.buf = malloc(STREAM_PAYLOAD_MAX))) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if (!o->dry_run && (r = stream_write_begin(&s.w, fd, h, o->raw ? key : NULL, e)) < 0)
		goto out;
	sodium_memzero(key, sizeof(key));
	json_object *mo = json_object_new_object();
	json_object_object_add(mo, "config", json_object_new_string(meta));
	if ((r = put_json(&s, SF_META, mo)) < 0)
		goto out;
	/* the image layers the base's line did not have, each once */
	for (int i = 0; r == 0 && i < nl; i++) {
		bool had = false;
		for (int k = 0; k < nbl && !had; k++)
			had = STREQ(blayers[k], layers[i]);
		if (had)
			continue;
		say_progress(&s, "image layer %.12s", layers[i]);
		for (unsigned kind = 0; r == 0 && kind < BLOB_KINDS; kind++)
			r = send_blob(&s, p, layers[i], kind);
		st->images++;
	}
	/* the frozen layers of the snapshot's chain the base's did not have */
	for (size_t i = snap->chain.n; r == 0 && i-- > 0;) {
		if (base && chain_has(&base->chain, snap->chain.id[i]))
			continue;
		for (size_t k = 0; r == 0 && k < nd; k++)
			r = send_layer(&s, p, &c, dirs[k], snap->chain.id[i]);
	}
	if (r == 0 && !o->dry_run) {
		json_object *end = json_object_new_object();
		json_object_object_add(end, "bytes", json_object_new_int64((int64_t)st->bytes));
		/* a plain stream is signed by the pool's host key over the chain's
		 * last tag: receive --trust checks who made it */
		char *sig = NULL;
		if (!o->raw && (r = sign_tag(p, s.w.tag, &sig, e)) == 0)
			json_object_object_add(end, "signature", json_object_new_string(sig));
		free(sig);
		if (r < 0) {
			json_object_put(end);
			goto out;
		}
		r = stream_write_end(&s.w, end, e);
		json_object_put(end);
		st->stream_bytes = s.w.bytes;
	}
out:
	if (!o->dry_run)
		stream_writer_free(&s.w);
	free(s.buf);
	json_object_put(h);
	config_free(&c);
	return r;
}
