/* config.h - an ISC's configuration: parse, validate, canonical dump, properties (config.c),
 * and its record in the pool (record.c); iscadm and iscd. */
#pragma once

#include "net.h"
#include "pool.h"

enum isc_profile {
	PROFILE_STRICT,
	PROFILE_FIXED,
	PROFILE_FLEXIBLE,
	PROFILE_NONE,
};

#define ISC_UID_COUNT 65536U
#define ISC_UID_FIRST 1000000000U   /* far above any host account */
#define ISC_MAX_VOLUMES 16
#define ISC_MAX_VERSIONS 64
/* A version is a stack of erofs layers: a commit adds a small delta on the
 * version it ran on; at this depth it writes the whole tree instead. */
#define ISC_MAX_LAYERS 8

/* One image version of an ISC: what it booted from, when and how it was
 * made (build: its image at create; -w, -W, -T: a committed maintenance
 * session), how many bytes that session changed, and the version its
 * image is a delta on ("" for a whole tree). */
struct isc_version {
	char digest[65];
	int64_t made;
	char how[8];
	uint64_t change;
	char lower[65];
};
/* A snapshot: the version it was on and its writable layers frozen as a
 * chain of read-only layers (ids of frozen/<id> in each layer directory,
 * top first), stacked under a fresh upper when the ISC boots from it. */
#define ISC_MAX_SNAPSHOTS 32
/* isc/NAME/ISC_SNAPSHOT_OP: the journal of a snapshot operation under way
 * (snapshot.c); while it is there the ISC does not boot. */
#define ISC_SNAPSHOT_OP "snapshot.op"
#define ISC_MAX_CHAIN ISC_MAX_SNAPSHOTS
struct isc_chain {
	uint32_t id[ISC_MAX_CHAIN];
	size_t n;
};
struct isc_snapshot {
	char name[64];
	int64_t made;
	char digest[65];
	bool known_good;
	struct isc_chain chain;
};
#define ISC_KEY_EPHEMERAL "@ephemeral"   /* not a name: names start alphanumeric */

/* What the supervisor does when its periodic verify finds something
 * (on-tamper), or when the ISC trips its seccomp filter too often
 * (on-violation). */
enum isc_on_tamper {
	TAMPER_QUARANTINE,      /* freeze every process, cut the network, keep all (default) */
	TAMPER_ALERT,           /* record it, nothing more */
	TAMPER_HALT,            /* halt the ISC */
	TAMPER_ROLLBACK,        /* halt, reset to the newest known-good snapshot, boot */
	TAMPER_DESTROY,         /* halt and crypto-erase: the key out of the kernel, the
				 * wrapped key and the data deleted */
};
#define TAMPER_COUNT 5
const char *isc_on_tamper_name(enum isc_on_tamper t);

/* What the supervisor does when isc-init says a service is in a crash loop. */
enum isc_on_crash {
	CRASH_ALERT,            /* record it (default) */
	CRASH_RESTART,          /* restart the ISC, after a backoff, up to crash-limit times; then halt */
	CRASH_HALT,             /* halt the ISC */
};
const char *isc_on_crash_name(enum isc_on_crash c);

struct isc_config {
	char name[64];
	char image[64];             /* tag it was created from */
	char digest[65];            /* the image version it boots */
	enum isc_profile profile;
	uint32_t uid;               /* first host uid/gid of its 65536 */
	int64_t created;
	uint64_t tmp_size;          /* each tmpfs (/tmp, /run, ...) */
	uint64_t scratch_size;      /* the ephemeral encrypted /scratch */
	uint64_t var_size;          /* 0, or /var's persistent layer in a filesystem of this size */
	uint64_t session_size;      /* what a maintenance session may write: its filesystem
				     * (-w, -W), its largest file and its commit (all) */
	uint64_t memory;            /* cgroup memory limit; never any swap */
	uint64_t pids;              /* cgroup task limit */
	uint32_t cpu_milli;         /* CPU quota in thousandths of a CPU, 0: none */
	uint32_t cpu_weight;        /* 1..10000, 100 = a fair share */
	char limitpriv[256];        /* capability set, as zonecfg's limitpriv */
	bool mdwe, seccomp, landlock;   /* confinement switches, all on by default */
	unsigned require;           /* ISC_LAYER_*: boot refuses on a kernel without them */
	char require_signature[256];    /* a minisign public key file, or "": none required */
	/* The ISC whose master key encrypts this one's data: itself, another
	 * ISC (--encryption-root), or ISC_KEY_EPHEMERAL (run --rm). */
	char encryption_root[64];
	char *volumes[ISC_MAX_VOLUMES + 1];
	/* networking (docs/net.md): none (loopback only) or bridge, what may
	 * leave in normal and in maintenance boots, the ports exposed */
	enum net_mode net;
	struct net_egress egress, maintenance_egress;
	struct net_expose expose[NET_MAX_EXPOSE];
	size_t nexpose;
	struct isc_version versions[ISC_MAX_VERSIONS];   /* oldest first */
	size_t nversions;
	struct isc_snapshot snapshots[ISC_MAX_SNAPSHOTS];   /* oldest first */
	size_t nsnapshots;
	struct isc_chain head;      /* the frozen layers under the current upper */
	uint32_t frozen_next;       /* the id the next frozen layer gets */
	char origin[130];           /* a clone's ISC@SNAPSHOT, or "" */
	/* the dock's monitor (docs/dock.md): verify every verify_interval
	 * seconds while it runs (0: never), and what a finding brings */
	uint32_t verify_interval;
	enum isc_on_tamper on_tamper;
	bool autoboot;              /* iscadm boot -a (the isc.service unit) boots it */
	/* seccomp denials: violation_count within violation_window seconds
	 * bring on_violation */
	enum isc_on_tamper on_violation;
	uint32_t violation_count, violation_window;
	/* a service in a crash loop (isc-init's maintenance) */
	enum isc_on_crash on_crash;
	uint32_t crash_limit;       /* on-crash=restart: ISC restarts before a halt (and
				     * before one for pressure) */
	/* PSI (cgroup v2): tasks stalled on cpu, memory or io for over
	 * pressure_pct percent of a pressure_window-second window bring
	 * on_pressure; 0: not watched */
	uint32_t pressure_pct, pressure_window;
	enum isc_on_crash on_pressure;
};
#define ISC_VIOLATION_MAX 1000

/* One frozen layer of a boot's stack: frozen/<id> in each writable layer
 * directory of ISC isc, its files stored under the host uids from uid. */
struct frozen_layer {
	char isc[64];
	uint32_t id;
	uint32_t uid;
};
/* A clone's stack reaches through at most this many origins. */
#define ISC_MAX_ORIGINS 8
#define ISC_MAX_FROZEN (ISC_MAX_CHAIN * (ISC_MAX_ORIGINS + 1))

/* Defence layers a kernel may lack (docs/kernels.md): without one the ISC
 * boots and says so, unless its record requires it. */
enum isc_layer {
	ISC_LAYER_MDWE = 1 << 0,        /* PR_SET_MDWE, Linux 6.3 */
	ISC_LAYER_LANDLOCK = 1 << 1,    /* Landlock, Linux 5.13 (and enabled) */
};
#define ISC_LAYERS_ALL (ISC_LAYER_MDWE | ISC_LAYER_LANDLOCK)
/* "mdwe", "landlock" for one bit. */
const char *isc_layer_name(unsigned layer);
/* "none" or names comma-separated <-> ISC_LAYER_* bits; -EINVAL. */
int isc_require_parse(const char *v, unsigned *set);
void isc_require_format(unsigned set, char *buf, size_t n);

/* A path a profile mounts: a persistent layer (layers/LAYER/upper in the
 * ISC's data), the image's own directory again read-only below a layer,
 * or a tmpfs of mode.  profile_paths() ends with PP_END. */
enum profile_path_kind { PP_END, PP_LAYER, PP_IMAGE_RO, PP_TMPFS };
struct profile_path {
	enum profile_path_kind kind;
	const char *path;
	const char *layer;
	mode_t mode;
};
const struct profile_path *profile_paths(enum isc_profile p);
/* The directory in the ISC's data/volumes of volume "/srv/data": "srv%2Fdata". */
void volume_dir_name(const char *volume, char *out, size_t n);
const char *profile_name(enum isc_profile p);
int profile_from_name(const char *s, enum isc_profile *p);

void config_init(struct isc_config *c);
void config_free(struct isc_config *c);
int config_parse(const char *text, struct isc_config *c, struct isc_err *e);
/* Canonical text (round-trips through config_parse); free() it. */
char *config_dump(const struct isc_config *c);
/* An operator's "--set key=value" at create or run: any property but the
 * read-only ones (-EPERM). */
int config_set(struct isc_config *c, const char *kv, struct isc_err *e);
/* An operator's "set ISC key=value" on an existing ISC: as config_set, and
 * -EPERM for what is fixed at create (var-size). */
int config_change(struct isc_config *c, const char *kv, struct isc_err *e);
/* One property's value as text; -ENOENT for an unknown key. */
int config_get(const struct isc_config *c, const char *key, char *buf, size_t n);
/* expose and unexpose (iscadm): add one exposure (-EEXIST for a host
 * port this ISC already exposes, -E2BIG when full) or remove the one of
 * this protocol and host port (-ENOENT). */
int config_expose_add(struct isc_config *c, const struct net_expose *x, struct isc_err *e);
int config_expose_remove(struct isc_config *c, const struct net_expose *x, struct isc_err *e);
/* The i-th property's name, in dump order; NULL past the last. */
const char *config_key(size_t i);
/* One line a property, "  memory=SIZE   what it is (bounds; default)":
 * those an operator may set, then the read-only ones. */
void config_help(FILE *f);

/* limitpriv: "default" or a comma list of default, none, +name, -name,
 * name (capability names as in capabilities(7), without "cap_"), applied
 * left to right; "default" stands for dflt.  Gives the resulting set;
 * -EINVAL with a message naming the bad item. */
int config_limitpriv(const char *spec, uint64_t dflt, uint64_t *caps, struct isc_err *e);

/* Append a version (the digest becomes current), a delta on lower (an
 * earlier version) or a whole tree (lower NULL or "").  -ENOSPC when full,
 * -EINVAL when lower is not an earlier version. */
int config_version_add(struct isc_config *c, const char *digest, int64_t made, const char *how,
		       uint64_t change, const char *lower);
/* The erofs layers of version digest, top first: digest, the version it
 * is a delta on, and so on down to a whole tree.  A digest that is not a
 * version is one layer.  Count, or -ELOOP when deeper than max. */
int config_layers(const struct isc_config *c, const char *digest, char (*out)[65], size_t max);

/* "3.1" <-> a chain ("-" when empty); -EINVAL. */
int config_chain_parse(const char *v, struct isc_chain *ch);
void config_chain_format(const struct isc_chain *ch, char *buf, size_t n);
/* The snapshot named name, or NULL. */
struct isc_snapshot *config_snapshot(struct isc_config *c, const char *name);
/* "ISC@SNAP" -> its parts (valid names); -EINVAL. */
int config_origin_split(const char *v, char isc[64], char snap[64]);
/* Does any snapshot or the head stand on frozen layer id? */
bool config_frozen_used(const struct isc_config *c, uint32_t id);

/* The encryption root whose key opens this ISC's data. */
static inline const char *config_key_root(const struct isc_config *c)
{
	return c->encryption_root[0] ? c->encryption_root : c->name;
}

/* ---- an ISC's record in the pool (record.c) ---- */

/* isc/<name>/config in the pool. */
int isc_config_load(const struct pool *p, const char *name, struct isc_config *c, struct isc_err *e);
int isc_config_save(const struct pool *p, const struct isc_config *c, struct isc_err *e);
/* The frozen layers a boot of c stacks, top first: top's (c's own), then
 * those of its origin's snapshot, and so on.  Count, or negative errno. */
int isc_frozen_stack(const struct pool *p, const struct isc_config *c, const struct isc_chain *top,
		     struct frozen_layer *out, size_t max, struct isc_err *e);
/* The pool-wide require= (pool/require; none when absent), for every ISC. */
int pool_require_get(const struct pool *p, unsigned *set, struct isc_err *e);
int pool_require_set(const struct pool *p, unsigned set, struct isc_err *e);
/* Names of every ISC, sorted; strv_free(). */
int isc_names(const struct pool *p, char ***names, struct isc_err *e);

/* Does an ISC other than except (NULL: any) boot digest now or keep it
 * as a version?  true when some configuration cannot be read. */
bool isc_digest_used(const struct pool *p, const char *digest, const char *except);

/* Make sure the key of the ISC's data is in the kernel: load it from its
 * keysource if needed (prompting only when interactive). */
int isc_key_ready(const struct pool *p, const struct isc_config *c, bool interactive,
		  struct isc_err *e);
