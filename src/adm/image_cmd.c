/* image_cmd.c - iscadm image build|list|rm|verify. */
#include "adm.h"

#include <inttypes.h>

#include <fcntl.h>
#include <getopt.h>
#include <time.h>

static void progress(const char *what, void *data)
{
	fprintf(stderr, "iscadm: image %s: %s\n", (const char *)data, what);
}

static int image_cmd_build(struct adm *a)
{
	const char *from = NULL;
	static const struct option opts[] = { { "from", required_argument, NULL, 'f' }, { 0 } };
	int c;
	while ((c = getopt_long(a->argc - 1, a->argv + 1, "", opts, NULL)) != -1) {
		if (c != 'f')
			return adm_usage("image build NAME --from SOURCE");
		from = optarg;
	}
	if (!from || optind + 2 != a->argc)
		return adm_usage("image build NAME --from SOURCE");
	const char *name = a->argv[optind + 1];
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	struct isc_err e = { 0 };
	/* progress for a person watching; scripts get only the result line */
	r = image_build(&p, name, from, isatty(2) ? progress : NULL, (void *)name, &e);
	pool_close(&p);
	if (r < 0)
		return adm_fail(&e);
	struct image_info info;
	if (pool_open(&p, a->root, POOL_LOCK_SHARED, &e) == 0 && image_lookup(&p, name, &info, &e) == 0)
		printf("%s %s\n", name, info.digest);
	pool_close(&p);
	return EXIT_OK;
}

/* ISCs that use an image, by tag or by digest. */
static size_t image_users(struct pool *p, const struct image_info *img, char *buf, size_t n)
{
	_cleanup_strv_ char **names = NULL;
	struct isc_err e = { 0 };
	size_t count = 0, off = 0;
	buf[0] = '\0';
	if (isc_names(p, &names, &e) < 0)
		return 0;
	for (size_t i = 0; names[i]; i++) {
		struct isc_config cfg;
		if (isc_config_load(p, names[i], &cfg, &e) < 0)
			continue;
		if (STREQ(cfg.image, img->name) || STREQ(cfg.digest, img->digest)) {
			if (off < n)
				off += (size_t)snprintf(buf + off, n - off, "%s%s", count ? "," : "", names[i]);
			count++;
		}
		config_free(&cfg);
	}
	return count;
}

static int image_cmd_list(struct adm *a)
{
	static const struct table_col cols[] = {
		{ "NAME", "name", 20 }, { "DIGEST", "digest", 12 }, { "SIZE", "size", 9 },
		{ "USED BY", "used-by", 0 }, { NULL, "source", -1 }, { NULL, "created", -1 },
	};
	enum table_fmt fmt;
	if (table_opts(a->argc - 1, a->argv + 1, &fmt) != a->argc - 1)
		return adm_usage("image list [-p | --json]");
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_SHARED);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct image_info *v = NULL;
	size_t n = 0;
	if (image_list(&p, &v, &n, &e) < 0) {
		pool_close(&p);
		return adm_fail(&e);
	}
	struct table t;
	table_begin(&t, fmt, cols, ARRAY_SIZE(cols));
	for (size_t i = 0; i < n; i++) {
		char sz[32], users[512], digest[65], created[32];
		/* the table shows a digest's first 12 digits, the others all of it */
		snprintf(digest, fmt == TABLE_TEXT ? 13 : sizeof(digest), "%s", v[i].digest);
		if (fmt == TABLE_TEXT)
			format_size(v[i].size, sz, sizeof(sz));
		else
			snprintf(sz, sizeof(sz), "%" PRIu64, v[i].size);
		snprintf(created, sizeof(created), "%" PRId64, (int64_t)v[i].created);
		image_users(&p, &v[i], users, sizeof(users));
		const char *vals[] = { v[i].name, digest, sz, users, v[i].source, created };
		table_row(&t, vals);
	}
	table_end(&t);
	free(v);
	pool_close(&p);
	return EXIT_OK;
}

static int image_cmd_rm(struct adm *a)
{
	if (a->argc != 3)
		return adm_usage("image rm NAME");
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct image_info info;
	char users[512];
	if (image_lookup(&p, a->argv[2], &info, &e) < 0)
		r = -1;
	else if (image_users(&p, &info, users, sizeof(users)) > 0)
		r = err_set(&e, EBUSY, "image %s is in use by %s", a->argv[2], users);
	else
		r = image_remove(&p, a->argv[2], false, &e);
	pool_close(&p);
	return r < 0 ? adm_fail(&e) : EXIT_OK;
}

/* image sign NAME -s SECKEY [-t COMMENT]: images/<digest>.erofs.minisig */
static int image_cmd_sign(struct adm *a)
{
	static const char usage[] = "image sign NAME -s SECKEY [-t COMMENT]";
	const char *key = NULL, *comment = NULL;
	int c;
	optind = 0;
	while ((c = getopt(a->argc - 1, a->argv + 1, "s:t:")) != -1) {
		if (c == 's')
			key = optarg;
		else if (c == 't')
			comment = optarg;
		else
			return adm_usage("%s", usage);
	}
	if (!key || optind + 2 != a->argc)
		return adm_usage("%s", usage);
	const char *name = a->argv[optind + 1];
	if (comment && (strlen(comment) > 512 || strpbrk(comment, "\r\n")))
		return adm_usage("-t COMMENT: one line of at most 512 bytes");
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_EXCLUSIVE);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct image_info info;
	_cleanup_(minisign_sec_wipe) struct minisign_sec sk = { 0 };
	char whom[PATH_MAX + 16], trusted[1024];
	snprintf(whom, sizeof(whom), "secret key %s", key);
	if ((r = image_lookup(&p, name, &info, &e)) == 0 && (r = minisign_sec_load(key, whom, &sk, &e)) == 0) {
		if (comment)
			snprintf(trusted, sizeof(trusted), "%s", comment);
		else
			snprintf(trusted, sizeof(trusted), "timestamp:%lld\tfile:%s.erofs\timage:%s",
				 (long long)time(NULL), info.digest, name);
		r = image_sign_blob(&p, info.digest, &sk, trusted, &e);
	}
	pool_close(&p);
	if (r < 0)
		return adm_fail(&e);
	printf("%s %s signed\n", name, info.digest);
	return EXIT_OK;
}

/* image verify NAME [-k PUBKEY]: its digest, and its signature by PUBKEY */
static int image_cmd_verify(struct adm *a)
{
	const char *key = NULL;
	int c;
	optind = 0;
	while ((c = getopt(a->argc - 1, a->argv + 1, "k:")) != -1) {
		if (c != 'k')
			return adm_usage("image verify NAME [-k PUBKEY]");
		key = optarg;
	}
	if (optind + 2 != a->argc)
		return adm_usage("image verify NAME [-k PUBKEY]");
	const char *name = a->argv[optind + 1];
	struct pool p;
	int r = adm_pool(a, &p, POOL_LOCK_SHARED);
	if (r)
		return r;
	struct isc_err e = { 0 };
	struct image_info info;
	struct minisign_pub pk;
	r = image_lookup(&p, name, &info, &e);
	if (r == 0)
		r = image_verify(&p, info.digest, &e);
	if (r == 0 && key && (r = minisign_pub_load(key, &pk, &e)) == 0) {
		char path[128];
		snprintf(path, sizeof(path), "images/%s.erofs", info.digest);
		_cleanup_close_ int fd = openat(p.dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		r = fd < 0 ? err_set(&e, errno, "%s: %s", path, strerror(errno))
			   : image_signature_check(&p, info.digest, fd, &pk, 1, &e);
	}
	pool_close(&p);
	if (r < 0)
		return adm_fail(&e);
	printf("%s %s verified%s\n", name, info.digest, key ? ", signature good" : "");
	return EXIT_OK;
}

int cmd_image(struct adm *a)
{
	if (a->argc < 2)
		return adm_usage("image build|list|rm|verify|sign");
	if (STREQ(a->argv[1], "build"))
		return image_cmd_build(a);
	if (STREQ(a->argv[1], "list"))
		return image_cmd_list(a);
	if (STREQ(a->argv[1], "rm"))
		return image_cmd_rm(a);
	if (STREQ(a->argv[1], "verify"))
		return image_cmd_verify(a);
	if (STREQ(a->argv[1], "sign"))
		return image_cmd_sign(a);
	return adm_usage("image build|list|rm|verify|sign");
}
