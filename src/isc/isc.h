/* isc.h - the ISC lifecycle as a library: create, destroy, boot, halt,
 * reboot, run and login requests, liveness and a dead supervisor's
 * leftovers.  iscadm calls it; so will the dock and the OCI runtime.  The
 * supervisor (iscd) is the other side of boot, halt and login. */
#pragma once

#include "config.h"
#include "image.h"
#include "pool.h"
#include "runstate.h"

/* ---- liveness (live.c) ---------------------------------------------------- */
/* Does a supervisor of name run?  (It holds ISC_RUN_DIR/NAME/lock all its life.) */
bool isc_running(const char *name);
/* A running ISC's state file (mode, pids, defence layers in force): 0, or
 * -ESRCH when none runs. */
int isc_run_state(const char *name, struct run_state *st);
/* How a running ISC booted: 0, or -ESRCH when none runs. */
int isc_run_mode(const char *name, enum boot_mode *mode);
/* A dead supervisor's leftovers: state files and a cgroup, removed with
 * its lock held (no supervisor starts meanwhile).  false: one runs. */
bool isc_clean_stale(const char *name);
/* What a program adds to that cleanup, called after it with the lock
 * released (iscadm: the dead supervisor's network, src/adm/net_cmd.c);
 * the library itself links no netlink. */
extern void (*isc_stale_hook)(const char *name);
/* Wait until the supervisor of name has exited (up to timeout seconds). */
int isc_wait_stopped(const char *name, int timeout);

/* ---- records (create.c) --------------------------------------------------- */
struct isc_create_opts {
	const char *image, *profile;
	const char *keysource;          /* NULL: a generated key file */
	const char *encryption_root;    /* use this ISC's key instead */
	char *const *sets;              /* "key=value" properties */
	bool ephemeral;                 /* run --rm: random key, never stored */
};
/* run-NUMBER, the name of a run --rm (NUMBER: its iscadm's pid, put in
 * *pid if pid): no other ISC may take one. */
bool isc_run_name(const char *name, pid_t *pid);
/* An error in e (EINVAL) where name is a run's, which no other ISC may take. */
int isc_name_kept(const char *name, struct isc_err *e);
/* The caller holds the pool exclusively.  Its first state is kept as the
 * known-good snapshot ISC_SNAP_CREATED (not for ephemeral or var-size). */
int isc_create(struct pool *p, const char *name, const struct isc_create_opts *o, struct isc_err *e);
#define ISC_SNAP_CREATED "created"
/* c's first snapshot, ISC_SNAP_CREATED, in its record before it exists:
 * nothing written yet, so nothing to freeze. */
void isc_snapshot_initial(struct isc_config *c, bool known_good);
/* The record c made an ISC (c->name): a uid range, its key (o's
 * encryption root or its own), the data directory; whole or not at all. */
int isc_create_record(struct pool *p, struct isc_config *c, const struct isc_create_opts *o,
		      struct isc_err *e);
/* An ISC that does not run: its data, key and run directory go.  The
 * caller holds the pool exclusively. */
int isc_destroy(struct pool *p, const char *name, struct isc_err *e);

/* ---- the supervisor (control.c) ------------------------------------------- */
struct isc_boot {
	enum boot_mode mode;
	char *const *cmd;               /* BOOT_ASSEMBLY: run after the image's scripts */
	bool interactive;               /* a keysource may prompt on this terminal */
	char said[300];                 /* filled: the supervisor's last word ("OK ...") */
};
/* Start name's supervisor, detached, and wait until the ISC runs (with
 * BOOT_ASSEMBLY: until it runs read-only again, committed or not).  The
 * checks first: the ISC exists, its key is loaded, it does not run, a
 * writable mode suits its profile. */
int isc_boot(const char *root, const char *name, struct isc_boot *b, struct isc_err *e);
/* Stop a running ISC and wait for its supervisor to exit (a writable
 * session is committed first). */
int isc_halt(const char *name, struct isc_err *e);
/* Freeze every process of a running ISC with the cgroup freezer (sessions
 * too; logins refused meanwhile), or thaw them.  Halt and reboot thaw first. */
int isc_freeze(const char *name, bool frozen, struct isc_err *e);
/* Lift the quarantine the monitor put a running ISC in (thaw, network
 * back); says "released" or "not quarantined" in said. */
int isc_release(const char *name, char *said, size_t n, struct isc_err *e);
/* Stop and start again in mode (the host alone may ask for a writable one). */
int isc_reboot(const char *root, const char *name, enum boot_mode mode, struct isc_err *e);

/* run --rm: the supervisor in the foreground of the caller, as its child,
 * in a session of its own.  stdio: what the ISC's fds 0-2 become, pipes or
 * sockets (iscd refuses anything else); with tty_sock >= 0 the ISC gets a
 * pty of its own and its master comes back on tty_sock (fd_recv). */
struct isc_run {
	const char *root, *name;
	char *const *cmd;
	const int *stdio;
	int tty_sock;
};
/* The supervisor's pid (our child), or negative errno. */
pid_t isc_run_spawn(const struct isc_run *r, struct isc_err *e);

/* login: a session in a running ISC.  With tty, the session gets a pty of
 * the ISC's and isc_login_start returns its master; without, stdio (pipes
 * or sockets) are its fds 0-2 and it returns -1. */
struct isc_login {
	enum login_kind kind;
	bool tty;
	bool force;                     /* into a quarantined ISC */
	unsigned short rows, cols;
	const char *term;
	char *const *argv;              /* empty: a shell */
	const int *stdio;
};
/* Connect and ask; *sock is then where the session's end is told. */
int isc_login_start(const char *name, const struct isc_login *l, int *sock, int *master,
		    struct isc_err *e);
/* The session's exit status, once it ended; -EIO if the answer is lost. */
int isc_login_wait(int sock);

/* ---- versions (version.c) ------------------------------------------------- */
/* c's versions as shown: a record from before versions has one, its build. */
void isc_versions(struct isc_config *c);
/* VERSION: a digest, or a unique prefix of one (at least 6 hex digits). */
int isc_version_find(const struct isc_config *c, const char *want, size_t *idx, struct isc_err *e);
/* Make version want (NULL: the one before the current) current, each of
 * its layers verified in full first; *now (if given) is the version then.
 * Not while it runs or holds an uncommitted session.  The caller holds the
 * pool exclusively. */
int isc_revert(struct pool *p, const char *name, const char *want, struct isc_version *now,
	       struct isc_err *e);
/* iscadm update: image tag's version becomes name's current one, a new
 * whole-tree version (how "update"; the writable layers stay), its
 * signatures checked where required (the boot verifies its digest); prev
 * gets the version it was on.  0, 1 when it is on
 * that image already, or negative errno.  Not while it runs or holds an
 * uncommitted session.  The caller holds the pool exclusively. */
int isc_update(struct pool *p, const char *name, const char *image, char prev[65], char now[65],
	       struct isc_err *e);
/* Keep the newest keep versions and the current one, with what their
 * layers stand on; forget the rest and free their blobs no one uses.  The
 * caller holds the pool exclusively. */
int isc_prune(struct pool *p, struct isc_config *c, size_t keep, struct isc_err *e);

/* ---- integrity (integrity.c) ---------------------------------------------- */
enum isc_finding_kind {
	/* verify: what is wrong */
	ISC_FINDING_LAYER,              /* an image layer is missing or not what its digest says */
	ISC_FINDING_MANIFEST,           /* a layer's manifest is missing or unreadable */
	ISC_FINDING_SIGNATURE,          /* a required signature is missing or wrong */
	ISC_FINDING_FILE,               /* a file of a bad layer, against its manifest */
	ISC_FINDING_RO_PATH,            /* a writable layer holds a path the profile keeps read-only */
	ISC_FINDING_DEVICE,             /* ... a device node */
	ISC_FINDING_SETID,              /* ... a setuid or setgid file */
	ISC_FINDING_EXEC,               /* ... something that could run (not in profile none) */
	ISC_FINDING_OWNER,              /* ... a file owned outside the ISC's ids */
	/* diff: what the writable layers change */
	ISC_CHANGE_ADDED,
	ISC_CHANGE_CHANGED,
	ISC_CHANGE_DELETED,
};
/* One finding or change: where (the layer: "layer 1/2 3f2a...", "/var",
 * "volume /srv/data"), the path inside the ISC (NULL for a whole layer),
 * the entries compared (may be NULL) and a line saying what differs.
 * Strings are as the ISC made them: escape before showing. */
struct isc_finding {
	enum isc_finding_kind kind;
	const char *where, *path, *detail;
	const struct image_diff *diff;
};
typedef int (*isc_finding_fn)(const struct isc_finding *f, void *data);
typedef void (*isc_progress_fn)(const char *what, void *data);

/* Every layer of c's current version hashed in full against its digest
 * (a bad one compared file by file with its manifest), and every writable
 * layer and volume against the profile: nothing where the profile keeps
 * the image read-only, no device node, no setuid or setgid file, nothing
 * that could run (mode bits, ELF, #!) unless the profile is none.  Works
 * while the ISC runs.  The number of findings, or negative errno. */
/* "layer", "exec", "A", ...: a finding's kind in one word. */
const char *isc_finding_name(enum isc_finding_kind k);
int isc_verify(const struct pool *p, const struct isc_config *c, isc_finding_fn fn, void *data,
	       isc_progress_fn progress, void *pdata, struct isc_err *e);
/* What the writable layers and volumes hold that the current version
 * does not: ISC_CHANGE_* per path; with snap, what the ISC's files are now
 * against what they were at snapshot snap (its version and its frozen
 * layers; volumes are outside snapshots).  The number of changes, or
 * negative errno. */
int isc_diff(const struct pool *p, const struct isc_config *c, const char *snap, isc_finding_fn fn,
	     void *data, struct isc_err *e);

/* ---- send and receive (send.c, recv.c; docs/stream.md) ----------------------
 * A snapshot of an ISC, with the image layers and frozen layers it stands
 * on, as one authenticated stream; incremental from an earlier snapshot
 * of its line (only what that one did not have).  Raw: every frame
 * encrypted under a key the ISC's master key gives, the master key
 * travelling wrapped as stored.  The caller holds the pool (send: shared,
 * receive: exclusive). */
/* Progress of a long transfer, said at most once a second: bytes, rate
 * and, when the total is known, what is left and when it ends. */
struct isc_meter {
	uint64_t total, done;           /* total 0: not known */
	int64_t start_ms, last_ms;
	const char *verb;               /* "sent", "received" */
	isc_progress_fn progress;
	void *pdata;
};
void isc_meter_start(struct isc_meter *m, const char *verb, uint64_t total, isc_progress_fn progress, void *pdata);
void isc_meter_add(struct isc_meter *m, uint64_t n);

/* What a resume token (iscadm receive --token) says. */
struct isc_send_resume {
	char isc[64], snap[64], base[64];   /* base "": a full stream */
	bool raw;
	char meta[65];                  /* SHA-256 of the record the receiver began with */
	unsigned parts;                 /* image files and layers it has whole */
};
int isc_send_token(const char *token, struct isc_send_resume *rs, struct isc_err *e);
struct isc_send_opts {
	const char *snap, *base;        /* base: NULL for a full stream */
	const struct isc_send_resume *resume;   /* -t: the parts a kept receive has are skipped */
	bool raw, dry_run, interactive;
	isc_progress_fn progress;
	void *pdata;
};
struct isc_send_stats {
	uint64_t bytes;                 /* payload: image files and layer archives */
	uint64_t stream_bytes;          /* what was written, framing included */
	unsigned images, layers;
};
int isc_send(struct pool *p, const char *name, const struct isc_send_opts *o, int fd, struct isc_send_stats *st,
	     struct isc_err *e);
struct isc_receive_opts {
	const char *keysource;          /* the new ISC's key (plain), or where the wrapping key is (raw) */
	bool interactive;
	bool keep;                      /* -s: keep what came whole when the stream breaks */
	bool accept_settings;           /* a plain stream's record may loosen confinement */
	const char *trust;              /* a minisign public key a plain stream must be signed by */
	isc_progress_fn progress;
	void *pdata;
};
/* Read a stream from fd into ISC name: nothing is visible until the whole
 * stream is read and authenticated; on an error nothing is left.  said:
 * what was received, one line. */
int isc_receive(struct pool *p, const char *name, const struct isc_receive_opts *o, int fd, char *said,
		size_t n, struct isc_err *e);
/* A kept receive of name: its resume token (send -t), or dropped whole. */
int isc_receive_token(const struct pool *p, const char *name, char *token, size_t n, struct isc_err *e);
int isc_receive_abort(struct pool *p, const char *name, struct isc_err *e);
/* The writable layer directories an ISC has (layers/NAME, not a
 * session's rootw): up to max names in out. */
size_t isc_layer_dirs(const struct pool *p, const char *isc, char (*out)[64], size_t max);
/* A free uid range for a new ISC (0: none left). */
uint32_t isc_uid_alloc(struct pool *p);

/* ---- snapshots (snapshot.c; docs/snapshots.md) ----------------------------
 * The caller holds the pool exclusively.  A snapshot records the version
 * and freezes the writable layers: halted, by renames (no file content
 * copied); running, frozen with the cgroup freezer for the copy of its
 * uppers (the cost of what it wrote since it booted).  Every operation is
 * journalled in isc/NAME/snapshot.op until its record is saved, so one
 * that stops half-way is undone or finished by isc_snapshot_repair. */
int isc_snapshot(struct pool *p, const char *name, const char *snap, bool known_good, struct isc_err *e);
/* Halted only: the writable layers and the version as snap had them; the
 * later snapshots stay unless destroy_later (zfs rollback -r). */
int isc_rollback(struct pool *p, const char *name, const char *snap, bool destroy_later, struct isc_err *e);
int isc_snapshot_destroy(struct pool *p, const char *name, const char *snap, struct isc_err *e);
/* Roll back to the newest known-good snapshot, its version verified in
 * full (and its signatures, where required) first; snap: which. */
int isc_reset(struct pool *p, const char *name, char *snap, size_t n, struct isc_err *e);
/* The same by the ISC's supervisor between a halt and its next boot
 * (on-tamper=rollback), whose run lock says the ISC runs. */
int isc_reset_supervised(struct pool *p, const char *name, char *snap, size_t n, struct isc_err *e);
/* A new ISC name on origin@snap: its image version and frozen layers
 * shared (same encryption root), its own writable layers, uid range,
 * address and name; the origin's properties but no exposures.  The
 * snapshot cannot be destroyed while the clone stands on it. */
int isc_clone(struct pool *p, const char *origin, const char *snap, const char *name, struct isc_err *e);
/* A clone (halted) takes its own copies of its origin's frozen layers,
 * their owners shifted into its uid range, and stands alone. */
int isc_promote(struct pool *p, const char *name, struct isc_err *e);
/* ISCs that are clones of isc@snap (of any of isc's snapshots when snap is
 * NULL): how many, the first in first. */
int isc_clones(struct pool *p, const char *isc, const char *snap, char *first, size_t n);
/* iscadm pool check: what interrupted operations left anywhere in the
 * pool (create, destroy, snapshot, rollback, promote, image builds and
 * commits, blobs never recorded), each said to say; repaired when
 * repair (before or after state, never a mix).  The pool held
 * exclusively.  How many were found, or negative errno. */
int isc_pool_check(struct pool *p, bool repair, image_sweep_fn say, void *data, struct isc_err *e);
/* An interrupted operation of name's: 0 none; 1 found (what says which)
 * and, with repair, undone or finished. */
int isc_snapshot_repair(struct pool *p, const char *name, bool repair, char *what, size_t n,
			struct isc_err *e);
