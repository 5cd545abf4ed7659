/* audit.c - the pool's audit log: one JSON record a line, each holding the
 * SHA-256 of the one before, appended under a lock by iscadm and the
 * supervisors, walked and verified by iscadm audit.  iscadm, iscd. */
#include "audit.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* A record is its body, then the hash of the body:
 *   {"seq":N,"time":...,"prev":"<hash of record N-1>",...,"hash":"<hex>"}
 * where the hash covers every byte before ,"hash":  Changing a byte breaks
 * the record's hash; deleting, reordering or rewriting one (even with its
 * hash recomputed) breaks the next record's seq or prev; cutting the tail
 * shows against a head kept elsewhere. */
static const char hash_key[] = ",\"hash\":\"";
#define HASH_SUFFIX_LEN (sizeof(hash_key) - 1 + AUDIT_HASH_HEX + 2)   /* ,"hash":"...."} */
#define MSG_MAX 1024
#define ARG_MAX_LEN 256
#define ARGS_MAX 32

static void sha256_hex(const void *buf, size_t len, char out[AUDIT_HASH_HEX + 1])
{
	unsigned char md[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(md, buf, len);
	sodium_bin2hex(out, AUDIT_HASH_HEX + 1, md, sizeof(md));
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static const char *obj_str(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) : NULL;
}

enum audit_fault audit_line_check(const char *line, size_t len, struct audit_record *r)
{
	r->obj = NULL;
	r->seq = 0;
	r->hash[0] = '\0';
	r->time = r->source = r->isc = r->event = r->msg = NULL;
	if (len < HASH_SUFFIX_LEN + 2 || line[0] != '{' || memchr(line, '\0', len))
		return AUDIT_FAULT_FORM;
	const char *suf = line + len - HASH_SUFFIX_LEN;
	if (memcmp(suf, hash_key, sizeof(hash_key) - 1) ||
	    !is_hex(suf + sizeof(hash_key) - 1, AUDIT_HASH_HEX) || memcmp(line + len - 2, "\"}", 2))
		return AUDIT_FAULT_FORM;
	memcpy(r->hash, suf + sizeof(hash_key) - 1, AUDIT_HASH_HEX);
	r->hash[AUDIT_HASH_HEX] = '\0';
	json_tokener *tok = json_tokener_new_ex(4);
	if (!tok)
		return AUDIT_FAULT_FORM;
	json_object *o = json_tokener_parse_ex(tok, line, (int)len);
	bool whole = o && json_tokener_get_error(tok) == json_tokener_success &&
		     json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	json_object *seq;
	if (!whole || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "seq", &seq) || !json_object_is_type(seq, json_type_int) ||
	    json_object_get_int64(seq) < 1 || !obj_str(o, "prev") || !obj_str(o, "time")) {
		json_object_put(o);
		return AUDIT_FAULT_FORM;
	}
	r->obj = o;
	r->seq = (uint64_t)json_object_get_int64(seq);
	r->time = obj_str(o, "time");
	r->source = obj_str(o, "source");
	r->isc = obj_str(o, "isc");
	r->event = obj_str(o, "event");
	r->msg = obj_str(o, "msg");
	char h[AUDIT_HASH_HEX + 1];
	sha256_hex(line, len - HASH_SUFFIX_LEN, h);
	return STREQ(h, r->hash) ? AUDIT_FAULT_NONE : AUDIT_FAULT_HASH;
}

static void fault(struct audit_check *c, const struct audit_record *r, enum audit_fault f, uint64_t want)
{
	if (c->fault != AUDIT_FAULT_NONE)
		return;
	c->fault = f;
	c->bad_line = r->line;
	c->bad_seq = r->seq;
	c->want_seq = want;
}

static int log_open(int pooldirfd, int flags, struct isc_err *e)
{
	/* the pool is host-only; still, no link is followed to the log */
	int fd = openat(pooldirfd, AUDIT_LOG, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_sys(e, errno, "open the audit log");
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, EINVAL, "the audit log is not a regular file");
	}
	return fd;
}

int audit_walk(int pooldirfd, const char *anchor, int (*fn)(const struct audit_record *, void *),
	       void *arg, struct audit_check *c, struct isc_err *e)
{
	memset(c, 0, sizeof(*c));
	int fd = log_open(pooldirfd, O_RDONLY, e);
	if (fd == -ENOENT) {
		err_clear(e);
		fd = -1;   /* nothing recorded yet: an empty chain */
	} else if (fd < 0) {
		return fd;
	}
	_cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (fd >= 0 && !f) {
		close(fd);
		return err_sys(e, errno, "read the audit log");
	}
	_cleanup_free_ char *line = malloc(AUDIT_LINE_MAX + 1);
	if (!line)
		return err_sys(e, ENOMEM, "read the audit log");
	char prev[AUDIT_HASH_HEX + 1];
	memset(prev, '0', AUDIT_HASH_HEX);
	prev[AUDIT_HASH_HEX] = '\0';
	uint64_t want = 1;
	bool anchored = false, stop = false;
	while (f && !stop && fgets(line, AUDIT_LINE_MAX + 1, f)) {
		size_t len = strlen(line);   /* a NUL inside ends it early: not a record */
		bool whole = len > 0 && line[len - 1] == '\n';
		if (!whole && !feof(f)) {    /* longer than any record: skip the rest of it */
			int ch;
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
		}
		struct audit_record r = { .line = ++c->records };
		enum audit_fault fl = whole ? audit_line_check(line, len - 1, &r) : AUDIT_FAULT_FORM;
		if (fl == AUDIT_FAULT_NONE && r.seq != want)
			fl = AUDIT_FAULT_SEQ;
		if (fl == AUDIT_FAULT_NONE && !STREQ(obj_str(r.obj, "prev"), prev))
			fl = AUDIT_FAULT_LINK;
		r.ok = fl == AUDIT_FAULT_NONE;
		if (!r.ok)
			fault(c, &r, fl, want);
		/* after a bad record the walk follows what it says, so that one
		 * fault is named once and not as every record after it */
		if (r.seq)
			want = r.seq + 1;
		if (r.hash[0]) {
			memcpy(prev, r.hash, sizeof(prev));
			memcpy(c->head, r.hash, sizeof(c->head));
			c->head_seq = r.seq;
			snprintf(c->head_time, sizeof(c->head_time), "%s", r.time ? r.time : "");
		}
		if (anchor && r.hash[0] && STREQ(anchor, r.hash))
			anchored = true;
		if (fn)
			stop = fn(&r, arg) != 0;
		json_object_put(r.obj);
	}
	if (f && ferror(f))
		return err_sys(e, EIO, "read the audit log");
	if (anchor && !anchored && !stop && c->fault == AUDIT_FAULT_NONE) {
		c->fault = AUDIT_FAULT_HEAD;
		c->bad_line = c->records;
		c->bad_seq = c->head_seq;
	}
	return 0;
}

void audit_fault_say(const struct audit_check *c, char *buf, size_t size)
{
	uint64_t s = c->bad_seq, l = c->bad_line;
	switch (c->fault) {
	case AUDIT_FAULT_NONE:
		snprintf(buf, size, "intact");
		break;
	case AUDIT_FAULT_FORM:
		snprintf(buf, size, "line %" PRIu64 " is not a record (edited or cut)", l);
		break;
	case AUDIT_FAULT_HASH:
		snprintf(buf, size, "record %" PRIu64 " (line %" PRIu64 ") does not match its hash (edited)", s, l);
		break;
	case AUDIT_FAULT_SEQ:
		snprintf(buf, size, "line %" PRIu64 " holds record %" PRIu64 " where record %" PRIu64
			 " belongs (records deleted or moved)", l, s, c->want_seq);
		break;
	case AUDIT_FAULT_LINK:
		snprintf(buf, size, "record %" PRIu64 " (line %" PRIu64 ") does not chain to the record before it "
			 "(that one rewritten, or replaced)", s, l);
		break;
	case AUDIT_FAULT_HEAD:
		snprintf(buf, size, "no record has the head given: the log was cut or replaced after it "
			 "(it ends at record %" PRIu64 ")", s);
		break;
	}
}

/* The last record of the log (fd, locked): its seq and hash.  An unfinished
 * one (no newline: a writer died mid-write) is cut; *cut says how much. */
static int log_tail(int fd, uint64_t *seq, char hash[AUDIT_HASH_HEX + 1], off_t *cut)
{
	struct stat st;
	*seq = 0;
	*cut = 0;
	memset(hash, '0', AUDIT_HASH_HEX);
	hash[AUDIT_HASH_HEX] = '\0';
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size == 0)
		return 0;
	size_t n = st.st_size > 2 * AUDIT_LINE_MAX ? 2 * AUDIT_LINE_MAX : (size_t)st.st_size;
	_cleanup_free_ char *buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	off_t at = st.st_size - (off_t)n;
	if (pread(fd, buf, n, at) != (ssize_t)n)
		return -EIO;
	size_t end = n;
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	if (end < n) {
		*cut = (off_t)(n - end);
		if (ftruncate(fd, at + (off_t)end) < 0)
			return -errno;
	}
	if (end == 0)
		return 0;
	size_t start = end - 1;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	struct audit_record r;
	enum audit_fault fl = audit_line_check(buf + start, end - 1 - start, &r);
	json_object_put(r.obj);
	if (fl == AUDIT_FAULT_FORM) {
		/* a last line that is not a record still gets chained to, by the
		 * hash of its bytes, so that the writer never stops recording;
		 * audit --verify names it */
		sha256_hex(buf + start, end - 1 - start, hash);
		*seq = 0;
		return 0;
	}
	*seq = r.seq;
	memcpy(hash, r.hash, AUDIT_HASH_HEX + 1);
	return 0;
}

static json_object *str_escaped(const char *s, size_t max)
{
	char buf[4 * MSG_MAX + 1];
	size_t n = strnlen(s, max);
	str_escape_ctl(buf, sizeof(buf) < 4 * max + 1 ? sizeof(buf) : 4 * max + 1, s, n, 0);
	return json_object_new_string(buf);
}

static void now_iso(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t k = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, size - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* The login uid of the process: the person behind sudo or su, which the
 * kernel keeps (unset: none). */
static long loginuid(void)
{
	char b[24] = "";
	_cleanup_close_ int fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, b, sizeof(b) - 1) <= 0)
		return -1;
	long v = strtol(b, NULL, 10);
	return v < 0 || v >= 4294967295L ? -1 : v;
}

static json_object *record_new(const struct audit_event *ev, uint64_t seq, const char *prev)
{
	char t[40];
	now_iso(t, sizeof(t));
	json_object *o = json_object_new_object();
	json_object_object_add(o, "seq", json_object_new_int64((int64_t)seq));
	json_object_object_add(o, "time", json_object_new_string(t));
	json_object_object_add(o, "prev", json_object_new_string(prev));
	json_object_object_add(o, "source", str_escaped(ev->source, 32));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "uid", json_object_new_int64(getuid()));
	long au = loginuid();
	if (au >= 0)
		json_object_object_add(o, "auid", json_object_new_int64(au));
	if (ev->isc)
		json_object_object_add(o, "isc", str_escaped(ev->isc, 256));
	json_object_object_add(o, "event", str_escaped(ev->event, 32));
	if (ev->msg)
		json_object_object_add(o, "msg", str_escaped(ev->msg, MSG_MAX));
	if (ev->args) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; ev->args[i] && i < ARGS_MAX; i++)
			json_object_array_add(a, str_escaped(ev->args[i], ARG_MAX_LEN));
		json_object_object_add(o, "args", a);
	}
	if (ev->result >= 0)
		json_object_object_add(o, "result", json_object_new_int(ev->result));
	return o;
}

/* Body, then its hash, then a newline: one write. */
static int record_write(int fd, const struct audit_event *ev, uint64_t *seq, char prev[AUDIT_HASH_HEX + 1])
{
	json_object *o = record_new(ev, ++*seq, prev);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t body = strlen(s) - 1;   /* without the closing brace */
	char line[AUDIT_LINE_MAX];
	int r = -E2BIG;
	if (body + HASH_SUFFIX_LEN + 1 <= sizeof(line)) {
		memcpy(line, s, body);
		sha256_hex(line, body, prev);
		int k = snprintf(line + body, sizeof(line) - body, "%s%s\"}\n", hash_key, prev);
		r = write_all(fd, line, body + (size_t)k);
		if (r == 0) {
			line[body + (size_t)k - 1] = '\0';
			/* the host's log as well (dropped where none listens) */
			openlog("isc-audit", LOG_PID, LOG_AUTHPRIV);
			syslog(LOG_NOTICE, "%s", line);
			closelog();
		}
	}
	json_object_put(o);
	return r;
}

int audit_append(int pooldirfd, const struct audit_event *ev, struct isc_err *e)
{
	_cleanup_close_ int fd = log_open(pooldirfd, O_RDWR | O_APPEND | O_CREAT, e);
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX) < 0)
		return err_sys(e, errno, "lock the audit log");
	uint64_t seq;
	char prev[AUDIT_HASH_HEX + 1];
	off_t cut;
	int r = log_tail(fd, &seq, prev, &cut);
	if (r < 0)
		return err_sys(e, -r, "read the audit log's last record");
	if (cut) {
		char m[96];
		snprintf(m, sizeof(m), "%lld bytes of an unfinished record were cut from the log's end",
			 (long long)cut);
		struct audit_event note = { .source = ev->source, .event = "audit", .msg = m, .result = -1 };
		if ((r = record_write(fd, &note, &seq, prev)) < 0)
			return err_sys(e, -r, "write the audit log");
	}
	if ((r = record_write(fd, ev, &seq, prev)) < 0)
		return err_sys(e, -r, "write the audit log");
	return 0;
}
