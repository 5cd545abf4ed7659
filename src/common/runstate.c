/* runstate.c - boot modes and their names, run-directory paths, the state
 * file of a running ISC.  Host side: iscadm, iscd, the isc library. */
#include "runstate.h"
#include "common.h"

#include <fcntl.h>
#include <sys/file.h>
#include <inttypes.h>

static const struct {
	const char *name, *flag, *token;
} modes[BOOT_MODE_COUNT] = {
	[BOOT_READONLY] = { "read-only", "", "R" },
	[BOOT_MAINTENANCE] = { "maintenance", "-w", "W" },
	[BOOT_ASSEMBLY] = { "self-assembly", "-W", "A" },
};

const char *boot_mode_name(enum boot_mode m)
{
	return (unsigned)m < BOOT_MODE_COUNT ? modes[m].name : "?";
}

const char *boot_mode_flag(enum boot_mode m)
{
	return (unsigned)m < BOOT_MODE_COUNT ? modes[m].flag : "?";
}

int boot_mode_parse(const char *s, enum boot_mode *m)
{
	for (unsigned i = 0; i < BOOT_MODE_COUNT; i++)
		if (STREQ(s, modes[i].name) || (modes[i].flag[0] && STREQ(s, modes[i].flag))) {
			*m = (enum boot_mode)i;
			return 0;
		}
	return -EINVAL;
}

int run_path(char *buf, size_t n, const char *name, const char *file)
{
	int k = file ? snprintf(buf, n, ISC_RUN_DIR "/%s/%s", name, file)
		     : snprintf(buf, n, ISC_RUN_DIR "/%s", name);
	return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
}

/* The file is "key=value" lines; mode is a one-letter token so that a
 * reader never matches a substring of another word. */
int run_state_write(const char *name, const struct run_state *st)
{
	char path[PATH_MAX], buf[640];
	int r = run_path(path, sizeof(path), name, "state");
	if (r < 0)
		return r;
	int n = snprintf(buf, sizeof(buf), "state=%s\nmode=%s\npid=%d\nsupervisor=%d\nlayers=%s\n",
			 st->quarantined ? "quarantined" : st->frozen ? "frozen" : "running",
			 modes[st->mode].token, (int)st->init, (int)st->supervisor, st->layers);
	if (st->verified_at > 0)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "verified=%" PRId64 " %d\n", st->verified_at,
			      st->verify_findings);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "booted=%" PRId64 "\nboots=%" PRIu64 "\ndenials=%"
		      PRIu64 "\nquarantines=%" PRIu64 "\npressure=%" PRIu64 "\n", st->booted_at, st->boots,
		      st->denials, st->quarantines, st->pressure);
	/* runtime state: a reboot forgets it whatever /run is (a crashed
	 * supervisor's is found stale by its pid), so no fsync */
	return write_file_replace(AT_FDCWD, path, buf, (size_t)n, 0600, 0);
}

static int state_field(const char *key, const char *val, struct run_state *st)
{
	if (STREQ(key, "mode")) {
		for (unsigned i = 0; i < BOOT_MODE_COUNT; i++)
			if (STREQ(val, modes[i].token)) {
				st->mode = (enum boot_mode)i;
				return 1;
			}
		return -EBADMSG;
	}
	if (STREQ(key, "pid") || STREQ(key, "supervisor")) {
		char *end;
		errno = 0;
		long v = strtol(val, &end, 10);
		if (errno || end == val || *end || v <= 0 || v > INT32_MAX)
			return -EBADMSG;
		*(STREQ(key, "pid") ? &st->init : &st->supervisor) = (pid_t)v;
	}
	if (STREQ(key, "state")) {
		if (!STREQ(val, "running") && !STREQ(val, "frozen") && !STREQ(val, "quarantined"))
			return -EBADMSG;
		st->quarantined = STREQ(val, "quarantined");
		st->frozen = !STREQ(val, "running");
	}
	static const struct { const char *key; size_t off; } counts[] = {
		{ "booted", offsetof(struct run_state, booted_at) }, { "boots", offsetof(struct run_state, boots) },
		{ "denials", offsetof(struct run_state, denials) },
		{ "quarantines", offsetof(struct run_state, quarantines) },
		{ "pressure", offsetof(struct run_state, pressure) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++)
		if (STREQ(key, counts[i].key)) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(val, &end, 10);
			if (errno || end == val || *end || val[0] == '-' || v > INT64_MAX)
				return -EBADMSG;
			/* booted_at is int64_t, the others uint64_t: same width */
			memcpy((char *)st + counts[i].off, &(uint64_t){ v }, sizeof(uint64_t));
		}
	if (STREQ(key, "verified")) {
		long long at;
		int found, k = 0;
		if (sscanf(val, "%lld %d%n", &at, &found, &k) != 2 || val[k] || at <= 0 || found < -1)
			return -EBADMSG;
		st->verified_at = at;
		st->verify_findings = found;
	}
	if (STREQ(key, "layers")) {
		if (strlen(val) >= sizeof(st->layers) || strspn(val, "abcdefghijklmnopqrstuvwxyz-,") != strlen(val))
			return -EBADMSG;
		snprintf(st->layers, sizeof(st->layers), "%s", val);
	}
	return 0;
}

int run_state_read(const char *name, struct run_state *st)
{
	char path[PATH_MAX];
	_cleanup_free_ char *buf = NULL;
	int r = run_path(path, sizeof(path), name, "state");
	if (r < 0)
		return r;
	if ((r = read_file_at(AT_FDCWD, path, &buf, NULL, 4096)) < 0)
		return r;
	*st = (struct run_state){ 0 };
	bool have_mode = false;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			return -EBADMSG;
		*eq = '\0';
		if ((r = state_field(line, eq + 1, st)) < 0)
			return r;
		have_mode |= r == 1;
	}
	return have_mode ? 0 : -EBADMSG;
}

void run_state_remove(const char *name)
{
	char path[PATH_MAX];
	if (run_path(path, sizeof(path), name, "state") == 0)
		unlink(path);
}

bool run_supervisor_alive(const char *name)
{
	char path[PATH_MAX];
	if (run_path(path, sizeof(path), name, "lock") < 0)
		return false;
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	/* the supervisor holds this lock for its whole life */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	flock(fd, LOCK_UN);
	return false;
}
