/* busybox.c - the "busybox" image source: a minimal service root around Debian's static busybox; iscadm. */
#include "image-internal.h"

#include <elf.h>
#include <fcntl.h>

#define BUSYBOX "/bin/busybox"

static const char passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	"www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char group[] =
	"root:x:0:\n"
	"daemon:x:1:\n"
	"www-data:x:33:\n"
	"nogroup:x:65534:\n";
/* "!" and "*" never match a password: no account can log in by password. */
static const char shadow[] =
	"root:!:0:0:99999:7:::\n"
	"daemon:*:0:0:99999:7:::\n"
	"www-data:*:0:0:99999:7:::\n"
	"nobody:*:0:0:99999:7:::\n";
static const char hosts[] =
	"127.0.0.1\tlocalhost\n"
	"::1\tlocalhost ip6-localhost ip6-loopback\n";
static const char motd[] =
	"\n"
	"  *****************************************************************\n"
	"  *  WARNING: this is an immutable service container.             *\n"
	"  *  System files are read-only; changes outside the writable     *\n"
	"  *  data paths do not persist.                                   *\n"
	"  *  Unauthorised access or use is prohibited.                    *\n"
	"  *  All activity is logged.                                      *\n"
	"  *****************************************************************\n"
	"\n";
static const char profile[] =
	"# /etc/profile: login shell setup in an immutable service container\n"
	"export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
	"if [ \"$(id -u)\" -eq 0 ]; then PS1='\\u@\\h:\\w# '; else PS1='\\u@\\h:\\w$ '; fi\n"
	"export PS1\n"
	"case $- in *i*) cat /etc/motd ;; esac\n";
static const char httpd[] =
	"# busybox httpd serving /var/www\n"
	"exec=/usr/sbin/httpd -f -p 80 -h /var/www\n"
	"restart=always\n";
static const char index_html[] = "It works: served from an immutable service container.\n";

static const struct { const char *path; mode_t mode; } bb_dirs[] = {
	{ "bin", 0755 }, { "sbin", 0755 }, { "usr", 0755 }, { "usr/bin", 0755 },
	{ "usr/sbin", 0755 }, { "usr/lib", 0755 }, { "etc", 0755 }, { "etc/isc", 0755 },
	{ "etc/isc/services", 0755 }, { "etc/isc/self-assembly.d", 0755 },
	{ "proc", 0555 }, { "sys", 0555 }, { "dev", 0755 }, { "run", 0755 },
	{ "tmp", 01777 }, { "root", 0700 }, { "home", 0755 }, { "srv", 0755 },
	{ "mnt", 0755 }, { "opt", 0755 }, { "scratch", 0755 },
	{ "var", 0755 }, { "var/backups", 0755 }, { "var/cache", 0755 },
	{ "var/cache/apt", 0755 }, { "var/cache/debconf", 0755 }, { "var/lib", 0755 },
	{ "var/lib/dpkg", 0755 }, { "var/lib/apt", 0755 }, { "var/lib/isc", 0755 },
	{ "var/lib/misc", 0755 }, { "var/local", 0755 }, { "var/log", 0755 },
	{ "var/mail", 0755 }, { "var/opt", 0755 }, { "var/spool", 0755 },
	{ "var/tmp", 01777 }, { "var/www", 0755 },
};

static const struct { const char *path; const char *data; size_t len; mode_t mode; } bb_files[] = {
#define F(p, d, m) { p, d, sizeof(d) - 1, m }
	F("etc/passwd", passwd, 0644), F("etc/group", group, 0644),
	F("etc/shadow", shadow, 0640), F("etc/hosts", hosts, 0644),
	/* a place for the resolv.conf the supervisor binds (net=bridge) */
	F("etc/resolv.conf", "", 0644),
	F("etc/motd", motd, 0644), F("etc/profile", profile, 0644),
	F("etc/isc/services/httpd", httpd, 0644), F("var/lib/dpkg/status", "", 0644),
	F("var/www/index.html", index_html, 0644),
#undef F
};

/* 1 if the ELF file has no PT_INTERP (static), 0 if dynamic, -errno. */
static int elf_is_static(int fd)
{
	union { Elf32_Ehdr h32; Elf64_Ehdr h64; } h;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h.h64.e_ident, ELFMAG, SELFMAG))
		return -ENOEXEC;
	bool is64 = h.h64.e_ident[EI_CLASS] == ELFCLASS64;
	uint64_t off = is64 ? h.h64.e_phoff : h.h32.e_phoff;
	unsigned num = is64 ? h.h64.e_phnum : h.h32.e_phnum;
	unsigned ent = is64 ? h.h64.e_phentsize : h.h32.e_phentsize;
	for (unsigned i = 0; i < num; i++) {
		uint32_t type;  /* p_type is the first field of both program header layouts */
		if (pread(fd, &type, sizeof(type), (off_t)(off + (uint64_t)i * ent)) != (ssize_t)sizeof(type))
			return -ENOEXEC;
		if (type == PT_INTERP)
			return 0;
	}
	return 1;
}

static int busybox_copy(int treefd, struct stat *st, struct isc_err *e)
{
	_cleanup_close_ int in = open(BUSYBOX, O_RDONLY | O_CLOEXEC);
	if (in < 0 && errno == ENOENT)
		return err_set(e, ENOENT, "busybox: " BUSYBOX " not found (install busybox-static)");
	if (in < 0 || fstat(in, st) < 0)
		return err_set(e, errno, "busybox: " BUSYBOX ": %s", strerror(errno));
	int r = elf_is_static(in);
	if (r <= 0)
		return err_set(e, r < 0 ? -r : ENOEXEC, "busybox: " BUSYBOX " is %s (install busybox-static)",
			       r < 0 ? "not an ELF program" : "dynamically linked");
	_cleanup_close_ int out = openat(treefd, "bin/busybox", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
	r = out < 0 ? -errno : copy_fd(in, out);
	if (r == 0 && fchmod(out, 0755) < 0)
		r = -errno;
	return r < 0 ? err_set(e, r, "busybox: copy to image: %s", strerror(-r)) : 0;
}

/* An applet path from --list-full: relative, no "..", shell-safe bytes. */
static bool applet_path_ok(const char *s)
{
	if (!*s || *s == '/' || strstr(s, "..") || strstr(s, "//"))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("/_.-[", *s)))
			return false;
	return true;
}

static int busybox_applets(int treefd, struct isc_err *e)
{
	_cleanup_free_ char *out = malloc(65536);
	char *argv[] = { BUSYBOX, "--list-full", NULL };
	if (!out)
		return err_set(e, ENOMEM, "out of memory");
	int r = run_cmd(argv, true, out, 65536);
	if (r != 0)
		return err_set(e, r < 0 ? r : EIO, "busybox: " BUSYBOX " --list-full failed");
	char *save = NULL;
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!applet_path_ok(l))
			return err_set(e, EINVAL, "busybox: unexpected applet path '%.64s'", l);
		if (STREQ(l, "bin/busybox"))
			continue;
		char *slash = strrchr(l, '/');
		if (slash) {
			*slash = '\0';
			r = tree_mkdir_p(treefd, l, 0755);
			*slash = '/';
		}
		if (r == 0 && (r = tree_symlink(treefd, BUSYBOX, l)) == -EEXIST)
			r = 0;
		if (r < 0)
			return err_set(e, r, "busybox: applet /%s: %s", l, strerror(-r));
	}
	return 0;
}

static int busybox_skeleton(int treefd, struct isc_err *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(bb_dirs); i++) {
		int r = tree_dir_ensure(treefd, bb_dirs[i].path, bb_dirs[i].mode, true);
		if (r < 0)
			return err_set(e, r, "busybox: /%s: %s", bb_dirs[i].path, strerror(-r));
	}
	for (size_t i = 0; i < ARRAY_SIZE(bb_files); i++) {
		int r = tree_write_file(treefd, bb_files[i].path, bb_files[i].data, bb_files[i].len,
					bb_files[i].mode);
		if (r < 0)
			return err_set(e, r, "busybox: /%s: %s", bb_files[i].path, strerror(-r));
	}
	int r = tree_symlink(treefd, "/run", "var/run");
	if (r == 0)
		r = tree_symlink(treefd, "/run/lock", "var/lock");
	return r < 0 ? err_set(e, r, "busybox: /var/run, /var/lock: %s", strerror(-r)) : 0;
}

int image_source_busybox(int treefd, int64_t *epoch, struct isc_err *e)
{
	struct stat st;
	int r = busybox_skeleton(treefd, e);
	if (r == 0)
		r = busybox_copy(treefd, &st, e);
	if (r == 0)
		r = busybox_applets(treefd, e);
	/* Everything we just wrote is newer than the binary, so mkfs.erofs
	 * clamps it to this time: the same busybox gives the same image. */
	if (r == 0)
		*epoch = st.st_mtim.tv_sec;
	return r;
}
