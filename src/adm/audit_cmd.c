/* audit_cmd.c - iscadm audit (the pool's hash-chained log: list, verify,
 * head) and iscadm notes (one ISC's supervisor records).  iscadm. */
#include "adm.h"
#include "audit.h"

#include <getopt.h>
#include <time.h>

/* The log is the pool's and written escaped; but a hand-edited one could
 * hold anything a JSON string can, so what reaches the terminal is checked
 * again: text with a control byte or anything not plain is escaped. */
static const char *safe(const char *s, char *buf, size_t size)
{
	if (!s)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f) {
			str_escape_ctl(buf, size, s, strlen(s), 0);
			return buf;
		}
	return s;
}

/* A time as the records have it (UTC): YYYY-MM-DD[THH:MM[:SS]][Z], or a
 * span back from now: N followed by s, m, h or d. */
static int since_parse(const char *s, time_t *t)
{
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (end != s && !errno && n >= 0 && end[0] && !end[1]) {
		static const struct { char c; long long f; } units[] = {
			{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
		for (size_t i = 0; i < ARRAY_SIZE(units); i++)
			if (*end == units[i].c && n < (1LL << 40)) {
				*t = time(NULL) - (time_t)(n * units[i].f);
				return 0;
			}
		return -EINVAL;
	}
	static const char *const forms[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d" };
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		struct tm tm = { 0 };
		const char *rest = strptime(s, forms[i], &tm);
		if (rest && (!*rest || STREQ(rest, "Z"))) {
			*t = timegm(&tm);
			return 0;
		}
	}
	return -EINVAL;
}

static time_t record_time(const char *iso)
{
	struct tm tm = { 0 };
	return iso && strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm) ? timegm(&tm) : 0;
}

struct listing {
	const char *isc;             /* only this ISC's records */
	bool notes;                  /* iscadm notes: the supervisor's messages only */
	time_t since;
	enum table_fmt fmt;
	struct table t;
	size_t shown;
};

static const struct table_col cols[] = {
	{ "SEQ", "seq", 7 }, { "TIME", "time", 24 }, { "ISC", "isc", 14 }, { "EVENT", "event", 8 },
	{ "WHAT", "what", 0 },
};

/* A command's record in words: who ran what, and how it ended. */
static void command_words(json_object *o, char *buf, size_t size)
{
	json_object *v, *args;
	size_t k = 0;
	long uid = json_object_object_get_ex(o, "uid", &v) ? (long)json_object_get_int64(v) : -1;
	k += (size_t)snprintf(buf, size, "uid %ld", uid);
	if (json_object_object_get_ex(o, "auid", &v) && k < size)
		k += (size_t)snprintf(buf + k, size - k, " (login uid %ld)", (long)json_object_get_int64(v));
	if (k < size)
		k += (size_t)snprintf(buf + k, size - k, ": iscadm");
	if (json_object_object_get_ex(o, "args", &args) && json_object_is_type(args, json_type_array))
		for (size_t i = 0; i < json_object_array_length(args) && k < size; i++) {
			const char *w = json_object_get_string(json_object_array_get_idx(args, i));
			k += (size_t)snprintf(buf + k, size - k, " %s", w ? w : "");
		}
	if (json_object_object_get_ex(o, "result", &v) && k < size)
		snprintf(buf + k, size - k, ": exit %d", json_object_get_int(v));
}

static int list_one(const struct audit_record *r, void *arg)
{
	struct listing *l = arg;
	char seq[24], what[2048], b1[1024], b2[4096], b3[1024], b4[512];
	if (!r->obj) {
		/* not a record at all: said where it is, never shown */
		if (l->notes || l->isc || l->fmt == TABLE_JSON)
			return 0;
		snprintf(seq, sizeof(seq), "%" PRIu64 "!", r->line);
		const char *vals[] = { seq, "-", "-", "-", "(not a record: iscadm audit --verify)" };
		table_row(&l->t, vals);
		return 0;
	}
	if (l->isc && (!r->isc || !STREQ(r->isc, l->isc)))
		return 0;
	if (l->since && record_time(r->time) < l->since)
		return 0;
	bool supervisor = r->source && STREQ(r->source, "iscd");
	if (l->notes) {
		if (supervisor && r->msg)
			printf("%s\n", safe(r->msg, b2, sizeof(b2)));
		return 0;
	}
	l->shown++;
	if (l->fmt == TABLE_JSON) {
		/* the record as stored; json-c escapes every control byte */
		printf("%s\n  %s", l->shown > 1 ? "," : "",
		       json_object_to_json_string_ext(r->obj, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE));
		return 0;
	}
	snprintf(seq, sizeof(seq), "%" PRIu64 "%s", r->seq, r->ok ? "" : "!");
	if (r->event && STREQ(r->event, "command"))
		command_words(r->obj, what, sizeof(what));
	else
		snprintf(what, sizeof(what), "%s", r->msg ? r->msg : "");
	const char *vals[] = { seq, safe(r->time, b1, sizeof(b1)), safe(r->isc, b3, sizeof(b3)),
			       safe(r->event, b4, sizeof(b4)), safe(what, b2, sizeof(b2)) };
	table_row(&l->t, vals);
	return 0;
}

static int walk(struct adm *a, const char *anchor, struct listing *l, struct audit_check *c)
{
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_SHARED);
	if (r)
		return r;
	struct isc_err e = { 0 };
	int k = audit_walk(p.dirfd, anchor, l ? list_one : NULL, l, c, &e);
	pool_close(&p);
	return k < 0 ? adm_fail(&e) : 0;
}

static int audit_list(struct adm *a, struct listing *l)
{
	struct audit_check c;
	if (l->fmt == TABLE_JSON)
		printf("[");
	else if (!l->notes)
		table_begin(&l->t, l->fmt, cols, ARRAY_SIZE(cols));
	int r = walk(a, NULL, l, &c);
	if (l->fmt == TABLE_JSON)
		printf("%s]\n", l->shown ? "\n" : "");
	if (r)
		return r;
	if (c.fault != AUDIT_FAULT_NONE) {
		char why[256];
		audit_fault_say(&c, why, sizeof(why));
		fprintf(stderr, "iscadm: the audit log's chain is broken: %s (iscadm audit --verify)\n", why);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int audit_verify(struct adm *a, const char *anchor)
{
	struct audit_check c;
	int r = walk(a, anchor, NULL, &c);
	if (r)
		return r;
	char why[256];
	audit_fault_say(&c, why, sizeof(why));
	if (c.fault != AUDIT_FAULT_NONE) {
		fprintf(stderr, "iscadm: audit log: %s\n", why);
		return EXIT_FAIL;
	}
	if (c.records == 0)
		printf("audit log: empty\n");
	else
		printf("audit log: %" PRIu64 " records, the chain is intact%s; head %s (record %" PRIu64 ", %s)\n",
		       c.records, anchor ? " and holds the head given" : "", c.head, c.head_seq, c.head_time);
	return EXIT_OK;
}

static int audit_head(struct adm *a, enum table_fmt fmt)
{
	struct audit_check c;
	int r = walk(a, NULL, NULL, &c);
	if (r)
		return r;
	if (fmt == TABLE_JSON)
		printf("{\"seq\":%" PRIu64 ",\"hash\":\"%s\",\"time\":\"%s\"}\n", c.head_seq, c.head,
		       c.head_time);
	else if (fmt == TABLE_PARSABLE)
		printf("%" PRIu64 ":%s\n", c.head_seq, c.head);
	else
		printf("%s\n", c.head);
	return EXIT_OK;
}

static bool hash_valid(const char *s)
{
	if (strlen(s) != AUDIT_HASH_HEX)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

#define AUDIT_USAGE "audit [ISC] [--since TIME] [-p | --json] | audit --verify [--head HASH] | audit --head"

int cmd_audit(struct adm *a)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "since", required_argument, NULL, 's' },
		{ "verify", no_argument, NULL, 'v' }, { "head", optional_argument, NULL, 'H' }, { 0 } };
	struct listing l = { .fmt = TABLE_TEXT };
	bool verify = false, head = false;
	const char *anchor = NULL;
	int c;
	while ((c = getopt_long(a->argc, a->argv, "p", opts, NULL)) != -1) {
		switch (c) {
		case 'p': l.fmt = TABLE_PARSABLE; break;
		case 'j': l.fmt = TABLE_JSON; break;
		case 'v': verify = true; break;
		case 'H':
			head = true;
			/* --head HASH as two words too, after --verify */
			if (!optarg && optind < a->argc && a->argv[optind][0] != '-')
				optarg = a->argv[optind++];
			anchor = optarg;
			break;
		case 's':
			if (since_parse(optarg, &l.since) < 0)
				return adm_usage("--since takes YYYY-MM-DD[THH:MM[:SS]] (UTC) or N[smhd], not '%s'",
						 optarg);
			break;
		default: return adm_usage(AUDIT_USAGE);
		}
	}
	if (optind < a->argc)
		l.isc = a->argv[optind++];
	if (optind < a->argc || ((verify || head) && (l.isc || l.since)) || (anchor && !verify) ||
	    (verify && l.fmt != TABLE_TEXT))
		return adm_usage(AUDIT_USAGE);
	if (anchor && !hash_valid(anchor))
		return adm_usage("--head takes the 64 hex digits iscadm audit --head printed");
	if (l.isc && !name_valid(l.isc))
		return adm_usage("'%s' is not an ISC name", l.isc);
	if (verify)
		return audit_verify(a, anchor);
	if (head)
		return audit_head(a, l.fmt);
	return audit_list(a, &l);
}

/* notes ISC: what its supervisors recorded of it, one message a line. */
int cmd_notes(struct adm *a)
{
	if (a->argc != 2 || a->argv[1][0] == '-')
		return adm_usage("notes ISC");
	int r = adm_isc_exists(a, a->argv[1]);
	if (r)
		return r;
	struct listing l = { .isc = a->argv[1], .notes = true };
	return audit_list(a, &l);
}
