/* runstate.h - the words every process shares about a running ISC: how it
 * booted, what kind of session it runs, where its run directory is, and the
 * state file its supervisor writes there.  iscadm, iscd, the isc library. */
#pragma once

#include <stdint.h>

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Host-only tmpfs: one directory per running ISC (lock, ctl, state, logs of
 * the supervisor's start, its mount points). */
#define ISC_RUN_DIR "/run/isc"
/* the pools' spare /scratch filesystems (sandbox/scratch.c) */
#define ISC_SPARES_DIR ISC_RUN_DIR "/scratch"

enum boot_mode {
	BOOT_READONLY,          /* the image, read-only: the ISC's normal life */
	BOOT_MAINTENANCE,       /* -w: the root writable, committed at halt */
	BOOT_ASSEMBLY,          /* -W: self-assembly with a writable root, commit,
				 * then read-only */
};
#define BOOT_MODE_COUNT 3

/* "read-only", "maintenance", "self-assembly" */
const char *boot_mode_name(enum boot_mode m);
/* "", "-w", "-W": the flag iscadm takes, and how a commit is recorded */
const char *boot_mode_flag(enum boot_mode m);
/* From either form; -EINVAL for anything else. */
int boot_mode_parse(const char *s, enum boot_mode *m);
/* Is the root writable in this mode? */
static inline bool boot_mode_writable(enum boot_mode m) { return m != BOOT_READONLY; }

enum login_kind {
	LOGIN_PLAIN,            /* a shell or command as the ISC's processes are */
	LOGIN_TRUSTED,          /* -T: the image's view, writable, committed at halt */
};

/* ISC_RUN_DIR/NAME, or ISC_RUN_DIR/NAME/FILE with file; -ENAMETOOLONG. */
int run_path(char *buf, size_t n, const char *name, const char *file);

/* What a running supervisor says of its ISC in ISC_RUN_DIR/NAME/state. */
struct run_state {
	enum boot_mode mode;
	pid_t init;             /* isc-init, as the host sees it */
	pid_t supervisor;
	/* the defence layers in force, comma-separated ("seccomp,landlock,mdwe") */
	char layers[96];
	bool frozen;            /* every process stopped by the cgroup freezer */
	bool quarantined;       /* frozen (and its network cut) by the monitor's policy */
	/* the monitor's last verify: when (0: none yet) and what it found
	 * (findings, or -1: it could not run) */
	int64_t verified_at;
	int verify_findings;
	/* for metrics: this boot's start, boots by this supervisor (reboots
	 * count), seccomp denials and quarantines since it started */
	int64_t booted_at;
	uint64_t boots, denials, quarantines;
	uint64_t pressure;      /* PSI triggers fired (pressure-threshold) */
};
/* Atomically (rename); 0 or negative errno. */
int run_state_write(const char *name, const struct run_state *st);
/* -ENOENT without a state file, -EBADMSG for one that does not parse. */
int run_state_read(const char *name, struct run_state *st);
/* Does a supervisor of name run?  It holds ISC_RUN_DIR/NAME/lock all its life. */
bool run_supervisor_alive(const char *name);
void run_state_remove(const char *name);
