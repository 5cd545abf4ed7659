/* boot.c - one boot of the ISC: prepare (configuration, key, verified
 * image), start, tear down; the supervisor's logs and notes.  iscd. */
#include "iscd.h"
#include "audit.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>

int watch_add(struct iscd *d, struct watch *w, int fd,
	      void (*on)(struct iscd *, struct watch *, uint32_t), void *arg)
{
	*w = (struct watch){ .fd = fd, .on = on, .arg = arg };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };
	return epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Out of the set; the fd stays open (its owner closes it). */
void watch_del(struct iscd *d, struct watch *w)
{
	if (w->fd >= 0 && w->on)
		epoll_ctl(d->ep, EPOLL_CTL_DEL, w->fd, NULL);
	w->on = NULL;
	d->epoch++;
}

void log_append(struct iscd *d, int *fd, const char *file, const char *buf, size_t n)
{
	char path[PATH_MAX], old[PATH_MAX + 4];
	snprintf(path, sizeof(path), "%s/isc/%s/data/%s", d->pool.path, d->cfg.name, file);
	struct stat st;
	/* bounded: one old generation kept, so a chatty ISC cannot fill the pool */
	if (*fd >= 0 && fstat(*fd, &st) == 0 && st.st_size > LOG_MAX) {
		snprintf(old, sizeof(old), "%s.1", path);
		rename(path, old);
		close(*fd);
		*fd = -1;
	}
	if (*fd < 0)
		*fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (*fd >= 0)
		write_all(*fd, buf, n);
}

void note(struct iscd *d, const char *event, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	/* the supervisor's own record, apart from the console: the console
	 * is the ISC's byte stream, which can imitate a note; nothing inside
	 * reaches the pool's audit log (ISC-chosen text a note quotes, a
	 * file name in a commit's error, is escaped there) */
	struct audit_event ev = { .source = "iscd", .isc = d->cfg.name, .event = event, .msg = msg,
				  .result = -1 };
	struct isc_err e = { 0 };
	if (audit_append(d->pool.dirfd, &ev, &e) < 0) {
		char safe[4 * sizeof(msg) + 1];
		str_escape_ctl(safe, sizeof(safe), msg, strlen(msg), 0);
		syslog(LOG_AUTHPRIV | LOG_ERR, "isc: %s: not in the audit log (%s): %s", d->cfg.name, e.msg, safe);
	}
}

void ready_say(struct iscd *d, const char *fmt, ...)
{
	if (d->ready < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vdprintf(d->ready, fmt, ap);
	va_end(ap);
	close(d->ready);
	d->ready = -1;
}

void orphans_reap(struct iscd *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(d->orphans); i++)
		if (d->orphans[i] > 0 && waitpid(d->orphans[i], NULL, WNOHANG) != 0)
			d->orphans[i] = 0;
}

void orphan_add(struct iscd *d, pid_t pid)
{
	orphans_reap(d);
	for (size_t i = 0; i < ARRAY_SIZE(d->orphans); i++)
		if (d->orphans[i] <= 0) {
			d->orphans[i] = pid;
			return;
		}
	/* full: a session that ignores SIGHUP must not outlive its client */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* What iscadm passes for an ISC's stdio: pipes or sockets it relays, never
 * a host file or terminal that a process left inside could keep. */
bool fd_is_relay(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

static void on_init(struct iscd *d, struct watch *w, uint32_t events)
{
	iscd_event(d, EV_INIT_EXIT);
}

static void on_console(struct iscd *d, struct watch *w, uint32_t events)
{
	char buf[4096];
	ssize_t k = read(w->fd, buf, sizeof(buf));
	if (k > 0)
		log_append(d, &d->console_log, "console.log", buf, (size_t)k);
	else
		watch_del(d, w);
}

static void on_devlog(struct iscd *d, struct watch *w, uint32_t events)
{
	char buf[2048], line[2200];
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(w->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n <= 0)
			return;
		buf[n] = '\0';
		for (ssize_t k = 0; k < n; k++)
			if (buf[k] == '\n' || (unsigned char)buf[k] < ' ')
				buf[k] = ' ';
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		int m = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02dZ %s\n",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
				 tm.tm_sec, buf);
		log_append(d, &d->sys_log, "syslog", line, (size_t)m);
	}
}

void state_write(struct iscd *d)
{
	struct run_state st = { .mode = d->mode, .init = d->sb.pid, .supervisor = getpid(),
				.frozen = d->frozen, .quarantined = d->quarantined,
				.verified_at = d->verified_at, .verify_findings = d->verify_findings,
				.booted_at = d->booted_at, .boots = d->boots, .denials = d->denials,
				.quarantines = d->quarantines, .pressure = d->pressure_events };
	snprintf(st.layers, sizeof(st.layers), "%s", d->defence);
	run_state_write(d->cfg.name, &st);
}

static void start_undo(struct iscd *d)
{
	iscd_net_stop(d);
	cgroup_destroy(&d->cg, NULL);
	varfs_detach(d->varfs);
	scratch_destroy(d->scratch_img, &d->scratch);
}

static void start_say(struct iscd *d)
{
	note(d, "boot", "isc: booted %s %s from image %s (%.12s), profile %s", d->cfg.name,
	     boot_mode_writable(d->mode) ? "read-write" : "read-only", d->cfg.image, d->cfg.digest,
	     profile_name(d->cfg.profile));
	switch (d->mode) {
	case BOOT_READONLY: break;
	case BOOT_MAINTENANCE: note(d, "notice", "NOTICE: Read-only ISC booted read-write"); break;
	case BOOT_ASSEMBLY: note(d, "notice", "NOTICE: This read-only ISC transiently booted read-write"); break;
	}
	if (*d->defence_off) {
		/* in the console too, where the operator watches the boot */
		char line[256];
		int n = snprintf(line, sizeof(line), "isc: NOTICE: %s\n", d->defence_off);
		note(d, "notice", "NOTICE: %s", d->defence_off);
		log_append(d, &d->console_log, "console.log", line,
			   n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
}

int isc_start(struct iscd *d, struct isc_err *e)
{
	char templates[PATH_MAX];
	/* a reboot's: no thread of ours may run while the sandbox is built
	 * (setns into the host's mount namespace refuses a threaded process) */
	restock_end(d);
	snprintf(templates, sizeof(templates), "%s/templates", d->pool.path);
	int r = scratch_create(d->scratch_img, templates, d->cfg.scratch_size, d->cfg.uid, &d->scratch, e);
	if (r < 0)
		return r;
	d->spec.var_layers = NULL;
	if (d->cfg.var_size) {
		char img[PATH_MAX];
		snprintf(img, sizeof(img), "%s/isc/%s/data/var.img", d->pool.path, d->cfg.name);
		if ((r = varfs_attach(img, d->cfg.var_size, d->varfs, e)) < 0) {
			scratch_destroy(d->scratch_img, &d->scratch);
			return r;
		}
		d->spec.var_layers = d->varfs;
	}
	d->spec.scratch = d->scratch.mnt;
	d->spec.session_layers = d->session_on ? d->session_fs : NULL;
	struct cgroup_limits lim = { .memory = d->cfg.memory, .pids = d->cfg.pids,
				     .cpu_weight = d->cfg.cpu_weight, .cpu_milli = d->cfg.cpu_milli };
	int status_w = -1;
	if ((r = cgroup_scope_enter(&d->cg, d->cfg.name, e)) < 0 || (r = cgroup_create(&d->cg, &lim, e)) < 0 ||
	    (r = monitor_status_begin(d, &status_w, e)) < 0) {
		start_undo(d);
		return r;
	}
	d->spec.status_fd = status_w;
	r = sandbox_start(&d->spec, &d->sb, e);
	close(status_w);   /* isc-init holds the only write end */
	d->spec.status_fd = -1;
	if (r < 0) {
		monitor_status_end(d);
		start_undo(d);
		return r;
	}
	watch_add(d, &d->w_init, d->sb.pidfd, on_init, NULL);
	if (d->tty_sock >= 0 && d->sb.console >= 0) {
		/* run with a terminal: the pty is the operator's to proxy, not a log */
		fd_send(d->tty_sock, "M", 1, &d->sb.console, 1);
		close(d->sb.console);
		close(d->tty_sock);
		d->sb.console = d->tty_sock = -1;
	}
	if (d->sb.console >= 0)
		watch_add(d, &d->w_console, d->sb.console, on_console, NULL);
	watch_add(d, &d->w_devlog, d->sb.devlog, on_devlog, NULL);
	if (d->sb.notify >= 0)
		watch_add(d, &d->w_notify, d->sb.notify, deny_on_notify, NULL);
	d->frozen = false;
	d->booted_at = time(NULL);
	d->boots++;
	monitor_start(d);
	state_write(d);
	start_say(d);
	d->restock.due = true;
	return 0;
}

/* The thread makes system calls and formats into its own buffers only
 * (no malloc, no stdio): a raw clone3 of the main thread meanwhile (a
 * login on cgroup v2) never inherits a libc lock it holds. */
static void *restock_run(void *p)
{
	struct restock *rs = p;
	/* Our own cwd and root: setns into a mount namespace refuses a
	 * process whose fs_struct is shared, and the main thread enters the
	 * host's right after joining us (a joined thread may not have let go
	 * of it yet: the kernel wakes the joiner before the thread's exit
	 * drops its fs_struct). */
	if (unshare(CLONE_FS) < 0) {
		rs->r = -errno;
		eventfd_write(rs->done, 1);
		return NULL;
	}
	/* only when the CPUs have nothing else to do: right after a boot
	 * they are starting its services */
	sched_setscheduler(0, SCHED_IDLE, &(struct sched_param){ 0 });
	/* else the next boot makes its own, as without spares */
	rs->r = scratch_spare_make(rs->templates, rs->size, &rs->spare);
	eventfd_write(rs->done, 1);
	return NULL;
}

static void on_restocked(struct iscd *d, struct watch *w, uint32_t events)
{
	(void)w;
	(void)events;
	restock_end(d);
}

void restock_begin(struct iscd *d)
{
	struct restock *rs = &d->restock;
	rs->due = false;
	if (rs->running)
		return;
	snprintf(rs->templates, sizeof(rs->templates), "%s/templates", d->pool.path);
	rs->size = d->cfg.scratch_size;
	rs->spare.fs = -1;
	if (!scratch_spare_wanted(rs->templates, rs->size) ||
	    (rs->done = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return;
	if (pthread_create(&rs->thread, NULL, restock_run, rs) != 0) {
		close(rs->done);
		return;
	}
	rs->running = true;
	watch_add(d, &rs->w_done, rs->done, on_restocked, NULL);
}

void restock_end(struct iscd *d)
{
	struct restock *rs = &d->restock;
	if (!rs->running)
		return;
	/* waited for now: no longer only when the CPUs are idle */
	pthread_setschedparam(rs->thread, SCHED_OTHER, &(struct sched_param){ 0 });
	pthread_join(rs->thread, NULL);
	rs->running = false;
	watch_del(d, &rs->w_done);
	close(rs->done);
	if (rs->r == 0)
		rs->r = scratch_spare_put(&rs->spare);
	/* iscd.log: a pool without spares boots as before, only slower */
	if (rs->r < 0)
		fprintf(stderr, "iscd: no spare /scratch for the next boot: %s\n", strerror(-rs->r));
}

void isc_teardown(struct iscd *d)
{
	struct isc_err e = { 0 };
	monitor_stop(d);
	monitor_status_end(d);
	struct watch *ws[] = { &d->w_init, &d->w_console, &d->w_devlog, &d->w_notify };
	for (size_t i = 0; i < ARRAY_SIZE(ws); i++)
		watch_del(d, ws[i]);
	/* its flows stop first: out of isc's tables, its veth gone */
	iscd_net_stop(d);
	/* drain what the console still holds */
	char buf[4096];
	ssize_t n;
	if (d->sb.console >= 0) {
		fcntl(d->sb.console, F_SETFL, O_NONBLOCK);
		while ((n = read(d->sb.console, buf, sizeof(buf))) > 0)
			log_append(d, &d->console_log, "console.log", buf, (size_t)n);
	}
	cgroup_destroy(&d->cg, &e);
	orphans_reap(d);
	deny_reset(d);
	sandbox_cleanup(&d->spec, &d->sb);
	varfs_detach(d->varfs);
	/* every boot has a new /scratch: the old one's key goes now */
	scratch_destroy(d->scratch_img, &d->scratch);
	d->sb.pid = -1;
}

/* What the ISC may know about itself: properties, never a host path or a
 * key's location. */
static void info_make(struct iscd *d)
{
	char mem[32], scratch[32], defence[160] = "no_new_privs,capabilities", item[40];
	format_size(d->cfg.memory, mem, sizeof(mem));
	format_size(d->cfg.scratch_size, scratch, sizeof(scratch));
	/* the layers in force, Landlock with its ABI level */
	for (const char *p = d->defence; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		int n = (int)strcspn(p, ",");
		if (n == 8 && strncmp(p, "landlock", 8) == 0)
			snprintf(item, sizeof(item), ",landlock (ABI %d)", d->kernel.landlock_abi);
		else
			snprintf(item, sizeof(item), ",%.*s", n, p);
		str_append(defence, sizeof(defence), item);
	}
	snprintf(d->info, sizeof(d->info),
		 "name: %s;image: %s %.12s;profile: %s;mode: %s;"
		 "encryption: on (aes-256-xts, names aes-256-cts) inherited from host;"
		 "scratch: /scratch %s, encrypted with a key made at boot;memory: %s, no swap;"
		 "defence: %s%s",
		 d->cfg.name, d->cfg.image, d->cfg.digest, profile_name(d->cfg.profile),
		 boot_mode_writable(d->mode) ? "read-write" : "read-only", scratch, mem,
		 defence, *d->defence_off ? ";off for want of the kernel: " : "");
	if (*d->defence_off)
		str_append(d->info, sizeof(d->info), d->defence_off);
}

/* Each defence layer the record wants, against what the kernel offers:
 * without one the ISC boots and says so, unless the record requires it.
 * A layer switched off in the record but required is a contradiction. */
static int defence_settle(struct iscd *d, struct isc_err *e)
{
	static const struct {
		unsigned layer;
		const char *lacks;
	} layers[] = {
		{ ISC_LAYER_MDWE, "PR_SET_MDWE (Linux 6.3)" },
		{ ISC_LAYER_LANDLOCK, "Landlock (Linux 5.13, and enabled in lsm=)" },
	};
	unsigned pool_req;
	int r = pool_require_get(&d->pool, &pool_req, e);
	if (r < 0)
		return r;
	unsigned req = d->cfg.require | pool_req;
	d->defence[0] = d->defence_off[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(layers); i++) {
		unsigned l = layers[i].layer;
		bool *on = l == ISC_LAYER_MDWE ? &d->confine.mdwe : &d->confine.landlock;
		bool have = l == ISC_LAYER_MDWE ? d->kernel.mdwe : d->kernel.landlock_abi > 0;
		const char *name = isc_layer_name(l);
		const char *whose = d->cfg.require & l ? "" : " (pool-wide)";
		if ((req & l) && !*on)
			return err_set(e, EINVAL, "ISC %s requires %s%s but has %s=off: set one or the other",
				       d->cfg.name, name, whose, name);
		if (!*on || have)
			continue;
		if (req & l)
			return err_set(e, ENOTSUP, "ISC %s requires %s%s: this kernel (%s) has no %s: "
				       "boot refused", d->cfg.name, name, whose, d->kernel.release, layers[i].lacks);
		*on = false;
		/* W^X still holds where the filter can give it */
		if (l == ISC_LAYER_MDWE)
			d->confine.wx_filter = d->confine.seccomp;
		char said[120];
		snprintf(said, sizeof(said), "%s%s off (this kernel has no %.40s)%s", *d->defence_off ? "; " : "",
			 name, layers[i].lacks, l == ISC_LAYER_MDWE && d->confine.wx_filter ?
			 ", W^X by the seccomp filter instead" : "");
		str_append(d->defence_off, sizeof(d->defence_off), said);
	}
	const char *in[] = { d->confine.seccomp ? "seccomp" : NULL, d->confine.landlock ? "landlock" : NULL,
			     d->confine.mdwe ? "mdwe" : NULL, d->confine.wx_filter ? "seccomp-wx" : NULL };
	for (size_t i = 0; i < ARRAY_SIZE(in); i++)
		if (in[i]) {
			if (*d->defence)
				str_append(d->defence, sizeof(d->defence), ",");
			str_append(d->defence, sizeof(d->defence), in[i]);
		}
	return 0;
}

/* Every boot, reboots included, reads the configuration afresh and runs
 * from an image verified now (the /run cache makes an unchanged one cheap). */
int isc_prepare(struct iscd *d, const char *isc, struct isc_err *e)
{
	static const int stdio[3] = { 0, 1, 2 };
	char name[64];
	snprintf(name, sizeof(name), "%s", isc);   /* may point into d->cfg */
	config_free(&d->cfg);
	int r = isc_config_load(&d->pool, name, &d->cfg, e);
	if (r < 0)
		return r;
	/* a snapshot, rollback or promote stopped half-way: its layers are
	 * neither state until repaired (a boot now would write over them) */
	char op[128];
	snprintf(op, sizeof(op), "isc/%s/" ISC_SNAPSHOT_OP, name);
	if (faccessat(d->pool.dirfd, op, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return err_set(e, EBUSY, "refusing to boot %s: a snapshot operation was interrupted "
			       "(iscadm pool check --repair)", name);
	/* on reboot too: a key unloaded behind our back stops the boot here */
	if ((r = isc_key_ready(&d->pool, &d->cfg, false, e)) < 0)
		return err_prefix(e, "refusing to boot %s", name);
	layers_close(d->image_fds, &d->nimage);
	r = layers_open_verified(&d->pool, &d->cfg, d->cfg.digest, d->image_fds, &d->nimage, e);
	if (r < 0)
		return err_prefix(e, "refusing to boot %s", name);
	if ((r = isc_frozen_stack(&d->pool, &d->cfg, &d->cfg.head, d->stack, ISC_MAX_FROZEN, e)) < 0)
		return err_prefix(e, "refusing to boot %s", name);
	d->nstack = (size_t)r;
	snprintf(d->isc_dir, sizeof(d->isc_dir), "%s/isc", d->pool.path);
	confine_default(&d->confine);
	d->confine.mdwe = d->cfg.mdwe;
	d->confine.seccomp = d->cfg.seccomp;
	d->confine.landlock = d->cfg.landlock;
	if ((r = defence_settle(d, e)) < 0)
		return r;
	/* compiled here, once per boot at most: every session loads it as is */
	if (d->confine.seccomp && (r = confine_seccomp_prepare(d->confine.wx_filter, e)) < 0)
		return r;
	info_make(d);
	/* a maintenance session's files become an image: none may be larger
	 * than a commit reads */
	d->confine.fsize = boot_mode_writable(d->mode) ? d->cfg.session_size : 0;
	if (config_limitpriv(d->cfg.limitpriv, confine_default_caps(), &d->confine.caps, e) < 0)
		return err_prefix(e, "ISC %s", name);
	d->spec = (struct sandbox_spec){
		.name = d->cfg.name, .uid = d->cfg.uid, .profile = d->cfg.profile,
		.writable = boot_mode_writable(d->mode), .image_only = d->mode == BOOT_ASSEMBLY,
		/* a read-only boot's root is the session overlay, read-only to
		 * the ISC: login -T writes through it (not for run --rm) */
		.trusted_root = d->mode == BOOT_READONLY && !d->run_mode && d->cfg.profile != PROFILE_NONE,
		.image_fds = d->image_fds, .nimage = d->nimage, .layers = d->layers,
		.layers_volatile = STREQ(config_key_root(&d->cfg), ISC_KEY_EPHEMERAL),
		.frozen = d->stack, .nfrozen = d->nstack, .isc_dir = d->isc_dir,
		.volumes_dir = d->volumes,
		.volumes = d->cfg.volumes, .tmp_size = d->cfg.tmp_size, .stage = d->stage,
		.init_fd = d->init_fd, .status_fd = -1, .init_argv = d->mode == BOOT_ASSEMBLY ? d->assembly_argv : d->init_argv,
		.info = d->info, .stdio = d->run_mode && d->tty_sock < 0 ? stdio : NULL,
		.tty = d->tty_sock >= 0, .cg = &d->cg, .confine = &d->confine,
	};
	sandbox_confine_paths(&d->spec, &d->confine);
	return iscd_net_prepare(d, e);
}
