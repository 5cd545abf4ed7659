/* isc-archive.c - the one isc program that parses archives (libarchive):
 *
 *   isc-archive tar NAME      tarball on stdin into the cwd (an image's staging
 *                             tree); prints "epoch SECONDS" (the newest mtime)
 *   isc-archive pack DIR UID  a frozen layer as a pax archive on stdout, owners
 *                             shifted down by UID (the ISC's own ids)
 *   isc-archive unpack UID    a pax archive on stdin into the cwd (a layer being
 *                             received), owners shifted up by UID
 *
 * Run by iscadm, confined before it reads a byte of its input: what it
 * parses was made by an ISC or came from a stream, and it runs as root on
 * the host (docs/images.md).  Keeping libarchive and its libraries (libxml2,
 * ICU, the compressors) here also keeps them out of every iscadm start.
 * Exit status 0, or with one line on stderr: 1 refused (an entry the
 * input may not hold), 2 failed (usage, memory, the disk), 3 the input is
 * not a whole archive. */
#include "common.h"
#include "confine.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define ISC_UID_COUNT 65536u
#define EXIT_REFUSED 1
#define EXIT_FAILED 2
#define EXIT_BAD_INPUT 3

/* Owners, modes and times as recorded, owners by number only (names would
 * map through the host's passwd); the SECURE flags refuse writing through a
 * symlink made earlier, "..", absolute paths. */
#define SECURE_FLAGS (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | \
		      ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS | \
		      ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)
/* tar: no XATTR/ACL/FFLAGS (an immutable flag would make the staging tree
 * unremovable; security.* xattrs, file capabilities, must not slip in).
 * unpack: of the xattrs only overlayfs' opaque mark (layer_only), no
 * overwriting (a layer arrives into an empty directory). */
#define TAR_FLAGS SECURE_FLAGS
#define UNPACK_FLAGS (SECURE_FLAGS | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_NO_OVERWRITE)

#define CAP(c) (1ULL << (c))

/* What a verb made, freed by main whatever the verb returned. */
static struct {
	struct archive *in, *out;
	struct archive_entry *ent;
} held;

static void free_all(void)
{
	if (held.in)
		archive_read_free(held.in);
	if (held.out)
		archive_write_free(held.out);
	if (held.ent)
		archive_entry_free(held.ent);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	fprintf(stderr, "%s\n", line);
}

/* A name from the input, fit for a one-line message. */
static const char *shown(const char *s, char *buf, size_t size)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < size; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return s ? buf : "?";
}

static const char *aerror(struct archive *a)
{
	const char *m = archive_error_string(a);
	return m ? m : "archive error";
}

static bool has_dotdot(const char *path)
{
	for (const char *c = path; *c; c += strcspn(c, "/"), c += *c == '/') {
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return true;
	}
	return false;
}

/* Of the xattrs only overlayfs' opaque mark; no ACLs, no file flags. */
static void layer_only(struct archive_entry *ent)
{
	bool opaque = false;
	const char *xn;
	const void *xv;
	size_t xl;
	archive_entry_xattr_reset(ent);
	while (archive_entry_xattr_next(ent, &xn, &xv, &xl) == ARCHIVE_OK)
		opaque |= STREQ(xn, "trusted.overlay.opaque") && xl == 1 && *(const char *)xv == 'y';
	archive_entry_xattr_clear(ent);
	if (opaque)
		archive_entry_xattr_add_entry(ent, "trusted.overlay.opaque", "y", 1);
	archive_entry_acl_clear(ent);
	archive_entry_copy_fflags_text(ent, "");
}

static int copy_data(struct archive *in, struct archive *out)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN)
			return ARCHIVE_FATAL;
	return r == ARCHIVE_EOF ? ARCHIVE_OK : r;
}

/* ---- tar: an image source ------------------------------------------------------------ */

static const char *tar_refused(struct archive_entry *ent, char *a, size_t n, char *why, size_t wn)
{
	const char *name = archive_entry_pathname(ent), *link = archive_entry_hardlink(ent);
	mode_t type = archive_entry_filetype(ent);
	shown(name, a, n);
	if (!name || !*name)
		return "has no usable name";
	if (name[0] == '/')
		return "has an absolute path";
	if (has_dotdot(name))
		return "escapes the image root";
	if (link && (link[0] == '/' || has_dotdot(link))) {
		char b[256];
		snprintf(why, wn, "is a hard link to '%s' outside the image root", shown(link, b, sizeof(b)));
		return why;
	}
	if (type == AE_IFBLK || type == AE_IFCHR)
		return "is a device node (devices are refused)";
	return NULL;
}

static int do_tar(const char *file)
{
	struct archive *in = held.in = archive_read_new(), *out = held.out = archive_write_disk_new();
	int64_t epoch = -1;
	char a[256];
	if (!in || !out) {
		say("tar %s: out of memory", file);
		return EXIT_FAILED;
	}
	archive_read_support_filter_all(in);
	archive_read_support_format_all(in);
	archive_write_disk_set_options(out, TAR_FLAGS);
	if (archive_read_open_fd(in, 0, 1 << 16) != ARCHIVE_OK) {
		say("tar %s: %s", file, aerror(in));
		return EXIT_BAD_INPUT;
	}
	for (;;) {
		struct archive_entry *ent;
		int r = archive_read_next_header(in, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			say("tar %s: %s", file, aerror(in));
			return EXIT_BAD_INPUT;
		}
		char buf[320];
		const char *why = tar_refused(ent, a, sizeof(a), buf, sizeof(buf));
		if (why) {
			say("tar %s: entry '%s' %s", file, a, why);
			return EXIT_REFUSED;
		}
		if (archive_entry_mtime_is_set(ent) && archive_entry_mtime(ent) > epoch)
			epoch = archive_entry_mtime(ent);
		if (archive_write_header(out, ent) < ARCHIVE_WARN ||
		    (archive_entry_size(ent) > 0 && copy_data(in, out) < ARCHIVE_WARN) ||
		    archive_write_finish_entry(out) < ARCHIVE_WARN) {
			say("tar %s: entry '%s': %s", file, a, aerror(archive_errno(in) ? in : out));
			return EXIT_FAILED;
		}
	}
	/* deferred directory modes and times */
	if (archive_write_close(out) != ARCHIVE_OK) {
		say("tar %s: %s", file, aerror(out));
		return EXIT_FAILED;
	}
	printf("epoch %" PRId64 "\n", epoch);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- pack: a frozen layer for send --------------------------------------------------- */

static int do_pack(const char *dir, uint32_t uid)
{
	struct archive *disk = held.in = archive_read_disk_new(), *out = held.out = archive_write_new();
	struct archive_entry *ent = held.ent = archive_entry_new();
	char a[256];
	if (!disk || !out || !ent) {
		say("%s: out of memory", dir);
		return EXIT_FAILED;
	}
	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
	archive_write_set_format_pax_restricted(out);
	archive_write_set_bytes_per_block(out, 0);
	if (archive_read_disk_open(disk, dir) != ARCHIVE_OK || archive_write_open_fd(out, 1) != ARCHIVE_OK) {
		say("%s: %s", dir, aerror(disk));
		return EXIT_FAILED;
	}
	size_t dl = strlen(dir);
	for (;;) {
		int ar = archive_read_next_header2(disk, ent);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			say("%s: %s", dir, aerror(disk));
			return EXIT_FAILED;
		}
		archive_read_disk_descend(disk);
		char path[PATH_MAX], rel[PATH_MAX];
		snprintf(path, sizeof(path), "%s", archive_entry_pathname(ent));
		if (strncmp(path, dir, dl) != 0 || (path[dl] != '/' && path[dl] != '\0'))
			continue;
		snprintf(rel, sizeof(rel), ".%s", path + dl);
		archive_entry_set_pathname(ent, rel);
		shown(rel, a, sizeof(a));   /* the ISC wrote that name */
		uint32_t u = (uint32_t)archive_entry_uid(ent), g = (uint32_t)archive_entry_gid(ent);
		/* the ISC's own ids; one outside its range (put there from the
		 * host) goes as nobody */
		archive_entry_set_uid(ent, u - uid < ISC_UID_COUNT ? u - uid : 65534);
		archive_entry_set_gid(ent, g - uid < ISC_UID_COUNT ? g - uid : 65534);
		archive_entry_set_uname(ent, NULL);
		archive_entry_set_gname(ent, NULL);
		layer_only(ent);
		if (archive_write_header(out, ent) != ARCHIVE_OK) {
			say("%s: %s", a, aerror(out));
			return EXIT_FAILED;
		}
		if (archive_entry_filetype(ent) != AE_IFREG || archive_entry_size(ent) <= 0)
			continue;
		_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			say("%s: %s", a, strerror(errno));
			return EXIT_FAILED;
		}
		static uint8_t chunk[1 << 16];
		for (int64_t left = archive_entry_size(ent); left > 0;) {
			ssize_t k = read(fd, chunk, left < (int64_t)sizeof(chunk) ? (size_t)left : sizeof(chunk));
			if (k <= 0) {
				say("%s changed while it was sent", a);
				return EXIT_FAILED;
			}
			if (archive_write_data(out, chunk, (size_t)k) != k) {
				say("%s: %s", a, aerror(out));
				return EXIT_FAILED;
			}
			left -= k;
		}
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		say("%s: %s", dir, aerror(out));
		return EXIT_FAILED;
	}
	return 0;
}

/* ---- unpack: a received layer -------------------------------------------------------- */

/* What a layer may hold: directories, files, symlinks, overlayfs
 * whiteouts; ids inside the ISC's 65536; of xattrs, the opaque mark. */
static const char *unpack_refused(struct archive_entry *ent)
{
	mode_t t = archive_entry_filetype(ent);
	if (archive_entry_hardlink(ent))
		return "a hard link";
	if (t == AE_IFCHR && archive_entry_rdev(ent) != makedev(0, 0))
		return "a device node";
	if (t != AE_IFREG && t != AE_IFDIR && t != AE_IFLNK && t != AE_IFCHR)
		return "a device node, socket or fifo";
	if (archive_entry_uid(ent) < 0 || archive_entry_uid(ent) >= ISC_UID_COUNT || archive_entry_gid(ent) < 0 ||
	    archive_entry_gid(ent) >= ISC_UID_COUNT)
		return "an owner outside the ISC's ids";
	const char *p = archive_entry_pathname(ent);
	if (!p || (!STREQ(p, ".") && !str_has_prefix(p, "./")))
		return "a path not inside the layer";
	return NULL;
}

static int do_unpack(uint32_t uid)
{
	struct archive *in = held.in = archive_read_new(), *out = held.out = archive_write_disk_new();
	struct archive_entry *ent;
	char a[256];
	if (!in || !out) {
		say("out of memory");
		return EXIT_FAILED;
	}
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(out, UNPACK_FLAGS);
	if (archive_read_open_fd(in, 0, 1 << 16) != ARCHIVE_OK) {
		say("a layer that is not a pax archive");
		return EXIT_BAD_INPUT;
	}
	for (;;) {
		int ar = archive_read_next_header(in, &ent);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK) {
			say("a layer whose archive does not parse");
			return EXIT_BAD_INPUT;
		}
		const char *why = unpack_refused(ent);
		if (why) {
			say("%s in a layer (%s): refused", why, shown(archive_entry_pathname(ent), a, sizeof(a)));
			return EXIT_REFUSED;
		}
		if (STREQ(archive_entry_pathname(ent), "."))
			continue;
		archive_entry_set_uid(ent, archive_entry_uid(ent) + uid);
		archive_entry_set_gid(ent, archive_entry_gid(ent) + uid);
		layer_only(ent);
		if (archive_write_header(out, ent) != ARCHIVE_OK) {
			say("%s", aerror(out));
			return EXIT_REFUSED;
		}
		const void *buf;
		size_t len;
		la_int64_t off;
		while ((ar = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK)
			if (archive_write_data_block(out, buf, len, off) != ARCHIVE_OK) {
				say("%s", aerror(out));
				return EXIT_FAILED;
			}
		if (ar != ARCHIVE_EOF) {
			say("a layer whose archive is cut");
			return EXIT_BAD_INPUT;
		}
		if (archive_write_finish_entry(out) != ARCHIVE_OK) {
			say("%s", aerror(out));
			return EXIT_FAILED;
		}
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		say("%s", aerror(out));
		return EXIT_FAILED;
	}
	/* what follows the archive's end: read, so that the sender's writes end */
	static char rest[1 << 16];
	while (read(0, rest, sizeof(rest)) > 0)
		;
	return 0;
}

/* ---- main ---------------------------------------------------------------------------- */

static int parse_uid(const char *s, uint32_t *uid)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT32_MAX - ISC_UID_COUNT)
		return -EINVAL;
	*uid = (uint32_t)v;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: isc-archive tar NAME | pack DIR UID | unpack UID\n"
			"isc-archive is run by iscadm; it is not meant to be run by hand.\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint32_t uid = 0;
	struct isc_err e = { 0 };
	/* libraries it may still load (gconv for a name's charset) live under /usr */
	const char *usr[] = { "/usr",
#ifdef __SANITIZE_ADDRESS__
			      "/proc",   /* the sanitizer's own reads at exit */
#endif
			      NULL, NULL };
	const char *cwd[] = { ".", NULL };
	/* writing an extracted tree: owners, modes (setgid too), times, whiteouts
	 * (0:0 devices), overlayfs' trusted.* mark; reading a layer: every file,
	 * the trusted.* mark */
	const uint64_t write_caps = CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FOWNER) |
				    CAP(CAP_FSETID) | CAP(CAP_MKNOD) | CAP(CAP_SYS_ADMIN);
	const uint64_t read_caps = CAP(CAP_DAC_READ_SEARCH) | CAP(CAP_SYS_ADMIN);
	int r;
	if (argc == 3 && STREQ(argv[1], "tar")) {
		r = confine_helper(usr, cwd, write_caps & ~CAP(CAP_MKNOD) & ~CAP(CAP_SYS_ADMIN), &e);
		if (r == 0)
			r = do_tar(argv[2]);
	} else if (argc == 4 && STREQ(argv[1], "pack") && argv[2][0] == '/' && parse_uid(argv[3], &uid) == 0) {
		usr[ARRAY_SIZE(usr) - 2] = argv[2];
		const char *none[] = { NULL };
		r = confine_helper(usr, none, read_caps, &e);
		if (r == 0)
			r = do_pack(argv[2], uid);
	} else if (argc == 3 && STREQ(argv[1], "unpack") && parse_uid(argv[2], &uid) == 0) {
		r = confine_helper(usr, cwd, write_caps, &e);
		if (r == 0)
			r = do_unpack(uid);
	} else {
		return usage();
	}
	if (r < 0) {
		say("isc-archive: %s", e.msg);
		r = EXIT_FAILED;
	}
	free_all();
	return r;
}
