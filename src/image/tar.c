/* tar.c - the "tar:FILE" image source: checked extraction with libarchive into the staging tree; iscadm. */
#include "image-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

/* Owners, modes and times as recorded.  Owners by number only (no
 * archive_write_disk_set_standard_lookup): names would map through the
 * host's passwd, not the image's.  No XATTR/ACL/FFLAGS: an immutable flag
 * would make the staging tree unremovable, and security.* xattrs (file
 * capabilities) must not slip in unreviewed.  The SECURE flags back up our
 * own checks below and refuse writing through symlinks made earlier. */
#define TAR_EXTRACT_FLAGS (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | \
			   ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS | \
			   ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

/* A copy of an entry name fit for a one-line message. */
static const char *printable(const char *s, char *buf, size_t size)
{
	size_t i = 0;
	for (; s[i] && i + 1 < size; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
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

static int tar_entry_check(struct archive_entry *ent, const char *file, struct isc_err *e)
{
	const char *name = archive_entry_pathname(ent);
	const char *link = archive_entry_hardlink(ent);
	mode_t type = archive_entry_filetype(ent);
	char a[256], b[256];
	if (!name || !*name)
		return err_set(e, EPERM, "tar %s: entry without a usable name", file);
	printable(name, a, sizeof(a));
	if (name[0] == '/')
		return err_set(e, EPERM, "tar %s: entry '%s' has an absolute path", file, a);
	if (has_dotdot(name))
		return err_set(e, EPERM, "tar %s: entry '%s' escapes the image root", file, a);
	if (link && (link[0] == '/' || has_dotdot(link)))
		return err_set(e, EPERM, "tar %s: entry '%s' is a hard link to '%s' outside the image root",
			       file, a, printable(link, b, sizeof(b)));
	if (type == AE_IFBLK || type == AE_IFCHR)
		return err_set(e, EPERM, "tar %s: entry '%s' is a device node (devices are refused)", file, a);
	return 0;
}

static int tar_copy_data(struct archive *in, struct archive *out)
{
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int r = archive_read_data_block(in, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			return ARCHIVE_OK;
		if (r < ARCHIVE_WARN)
			return r;
		if (archive_write_data_block(out, buf, size, off) < ARCHIVE_WARN)
			return ARCHIVE_FATAL;
	}
}

static int tar_extract(struct archive *in, struct archive *out, const char *file, int64_t *epoch,
		       struct isc_err *e)
{
	char aerr[256];
	for (;;) {
		struct archive_entry *ent;
		char a[256];
		int r = archive_read_next_header(in, &ent);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return err_set(e, EINVAL, "tar %s: %s", file, image_archive_error(in, aerr, sizeof(aerr)));
		if ((r = tar_entry_check(ent, file, e)) < 0)
			return r;
		printable(archive_entry_pathname(ent), a, sizeof(a));
		if (archive_entry_mtime_is_set(ent) && archive_entry_mtime(ent) > *epoch)
			*epoch = archive_entry_mtime(ent);
		if (archive_write_header(out, ent) < ARCHIVE_WARN)
			return err_set(e, EIO, "tar %s: entry '%s': %s", file, a, image_archive_error(out, aerr, sizeof(aerr)));
		if (archive_entry_size(ent) > 0 && tar_copy_data(in, out) < ARCHIVE_WARN)
			return err_set(e, EIO, "tar %s: entry '%s': %s", file, a,
				       image_archive_error(archive_errno(in) ? in : out, aerr, sizeof(aerr)));
		if (archive_write_finish_entry(out) < ARCHIVE_WARN)
			return err_set(e, EIO, "tar %s: entry '%s': %s", file, a, image_archive_error(out, aerr, sizeof(aerr)));
	}
}

/* archive_write_disk works relative to the cwd: extract from inside the
 * tree and close (which applies deferred directory modes and times) there
 * too.  iscadm is single-threaded, so the chdir is not observed. */
static int tar_extract_in(int treefd, struct archive *in, struct archive *out, const char *file,
			  int64_t *epoch, struct isc_err *e)
{
	char aerr[256];
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || fchdir(treefd) < 0)
		return err_set(e, errno, "tar %s: cannot enter the staging tree: %s", file, strerror(errno));
	int r = tar_extract(in, out, file, epoch, e);
	if (archive_write_close(out) != ARCHIVE_OK && r == 0)
		r = err_set(e, EIO, "tar %s: %s", file, image_archive_error(out, aerr, sizeof(aerr)));
	if (fchdir(cwd) < 0 && r == 0)
		r = err_set(e, errno, "tar %s: cannot return to the working directory: %s", file, strerror(errno));
	return r;
}

int image_source_tar(int treefd, const char *file, int64_t *epoch, struct isc_err *e)
{
	char aerr[256];
	struct archive *in = archive_read_new();
	struct archive *out = archive_write_disk_new();
	int r = 0;
	if (!in || !out) {
		r = err_set(e, ENOMEM, "out of memory");
		goto out;
	}
	archive_read_support_filter_all(in);
	archive_read_support_format_all(in);
	if (archive_read_open_filename(in, file, 1 << 16) != ARCHIVE_OK) {
		r = err_set(e, archive_errno(in) > 0 ? archive_errno(in) : EINVAL, "tar %s: %s", file,
			    image_archive_error(in, aerr, sizeof(aerr)));
		goto out;
	}
	archive_write_disk_set_options(out, TAR_EXTRACT_FLAGS);
	r = tar_extract_in(treefd, in, out, file, epoch, e);
out:
	archive_read_free(in);
	archive_write_free(out);
	return r;
}

void image_entry_layer_only(struct archive_entry *ent)
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

const char *image_archive_error(struct archive *a, char *buf, size_t n)
{
	const char *m = archive_error_string(a);
	return printable(m ? m : "archive error", buf, n);
}

const char *image_name_shown(const char *name, char *buf, size_t n)
{
	return printable(name, buf, n);
}
