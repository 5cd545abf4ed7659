#!/bin/bash
# t_attack.sh - the attack suite: root in a booted fixed-configuration ISC tries to get out, to change what must not change and to take more than its share.
# Each attempt must be refused the way stated; a control ISC shows, where it makes sense, that
# the attempt would otherwise have done something.  See README-attack.md.
# Needs root; an attempt whose premise this host does not meet is reported as skipped, not counted.
# whole-scenario premises: exit 77, the reason as the last line
[ "$(id -u)" -eq 0 ] || { echo "t_attack.sh needs root (it boots ISCs)"; exit 77; }
[ -x /bin/busybox ] || { echo "no /bin/busybox (busybox-static) to build the probe image from"; exit 77; }
. "$(dirname "$0")/lib.sh"

ATK=it-atk          # the target: fixed-configuration, every confinement on
OPEN=it-open        # control: seccomp, MDWE and Landlock off, more capabilities
NONE=it-none        # control: profile none, larger limits
LL=it-ll            # Landlock alone: seccomp off and CAP_SYS_ADMIN
LIM=it-lim          # small limits: pids=64, memory=64M
NUM=0 BLOCKED=0 SKIPPED=0 HOLES="" BROKEN=""
declare -A WANT_LOG=()   # syscall -> attempts whose denial must be in the notes

# ---- bookkeeping -------------------------------------------------------------------
# verdict DESC RC DETAIL: one attempt; RC 0 means it was refused the expected way
verdict() {
	NUM=$((NUM + 1))
	if [ "$2" -eq 0 ]; then
		BLOCKED=$((BLOCKED + 1))
		printf 'blocked %3d  %-54s %s\n' "$NUM" "$1" "$3"
	else
		HOLES="$HOLES  $1: $3"$'\n'
		printf 'NOT BLOCKED %3d  %-50s %s\n' "$NUM" "$1" "$3"
	fi
}

# skipped DESC REASON: an attempt or control this host cannot make meaningful; not counted
skipped() {
	SKIPPED=$((SKIPPED + 1))
	printf 'skipped      %-54s (%s)\n' "$1" "$2"
}

# unless REASON attempt|control ARGS...: make it, or where REASON (a premise this host does
# not meet, see "what this host offers") is set, report it skipped with the reason
unless() {
	local why=$1
	shift
	if [ -z "$why" ]; then "$@"; else skipped "$3" "$why"; fi
}

# host_sysctl NAME DEFAULT: the host's /proc/sys/NAME, DEFAULT where this kernel has none
host_sysctl() { cat "/proc/sys/$1" 2>/dev/null || echo "$2"; }

# attempt SYSCALL DESC EXPECT PROBE-ARGS...: isc-probe as root in $ATK must get EXPECT.
# SYSCALL (or -) is the denial the seccomp filter must report in the notes.
attempt() {
	local sc=$1 desc=$2 want=$3 out rc tag=""
	shift 3
	out=$(iscadm login $ATK -- isc-probe --expect "$want" "$@" 2>&1); rc=$?
	if [ "$sc" != - ]; then
		WANT_LOG[$sc]=$(( ${WANT_LOG[$sc]:-0} + 1 ))
		tag=" [seccomp: $sc]"
		sleep 0.06   # the notess at most 20 denials a second
	fi
	verdict "$desc" $rc "$(printf '%s' "$out" | tail -n 1)$tag"
}

# attempt_sh DESC MESSAGE SHELL-COMMAND: the command fails in $ATK and says MESSAGE
attempt_sh() {
	local desc=$1 want=$2 out rc
	out=$(iscadm login $ATK -- sh -c "$3" 2>&1); rc=$?
	[ $rc -ne 0 ] && printf '%s' "$out" | grep -qF -- "$want"
	verdict "$desc" $? "$(printf '%s' "$out" | tail -n 1)"
}

# control ISC DESC EXPECT PROBE-ARGS...: the same attempt gets EXPECT where the mechanism is off
control() {
	local n=$1 desc=$2 want=$3 out rc
	shift 3
	out=$(iscadm login "$n" -- isc-probe --expect "$want" "$@" 2>&1); rc=$?
	out=$(printf '%s' "$out" | tail -n 1)
	if [ $rc -eq 0 ]; then
		printf '   control    %-54s %s (%s)\n' "$desc" "$out" "$n"
	else
		BROKEN="$BROKEN  $n: $desc: $out (wanted $want)"$'\n'
		printf '   CONTROL FAILED %-50s %s (%s, wanted %s)\n' "$desc" "$out" "$n" "$want"
	fi
}

control_sh() {   # control_sh ISC DESC SHELL-COMMAND: the command succeeds there
	local out rc
	out=$(iscadm login "$1" -- sh -c "$3" 2>&1); rc=$?
	if [ $rc -eq 0 ]; then
		printf '   control    %-54s %s (%s)\n' "$2" "$(printf '%s' "$out" | tail -n 1)" "$1"
	else
		BROKEN="$BROKEN  $1: $2: $out"$'\n'
		printf '   CONTROL FAILED %-50s %s (%s)\n' "$2" "$out" "$1"
	fi
}

section() { printf -- '---- %s\n' "$*"; }

# job ISC NAME SCRIPT: hand SCRIPT to the ISC's runner service, so it runs in the
# payload cgroup under the ISC's limits (a login has a reserve of its own)
job_start() {
	printf '%s\n' "$3" | iscadm login "$1" -- sh -c "mkdir -p /run/jobs && cat > /run/jobs/$2.new && mv /run/jobs/$2.new /run/jobs/$2.sh"
}
# job_wait ISC NAME: its output, once done (30 s at most); status: the job's
job_wait() {
	local rc
	for _ in $(seq 300); do
		iscadm login "$1" -- test -e "/run/jobs/$2.rc" && break
		sleep 0.1
	done
	iscadm login "$1" -- cat "/run/jobs/$2.out"
	rc=$(iscadm login "$1" -- cat "/run/jobs/$2.rc" 2>/dev/null) || rc=99
	return "$rc"
}

# job_control ISC DESC NAME SCRIPT: the job succeeds where the limit is larger
job_control() {
	local out
	job_start "$1" "$3" "$4"
	if out=$(job_wait "$1" "$3"); then
		printf '   control    %-54s %s (%s)\n' "$2" "$(printf '%s' "$out" | tr '\n' ' ')" "$1"
	else
		BROKEN="$BROKEN  $1: $2: $out"$'\n'
		printf '   CONTROL FAILED %-50s %s (%s)\n' "$2" "$out" "$1"
	fi
}

supervisor() { sed -n 's/^supervisor=//p' "/run/isc/$1/state" 2>/dev/null; }
running() { iscadm list -p | grep -q "^$1:running:"; }

mk_isc() {   # mk_isc NAME IMAGE [create options]
	local n=$1 img=$2
	shift 2
	TEST_ISCS="$TEST_ISCS $n"
	iscadm create "$n" --image "$img" "$@" || fail "create $n"
}

# ---- what this host offers: premises of single attempts and controls ----------------
# Each is empty where met, else the reason the attempt or control would prove nothing.
NO_IPV6=$([ -e /proc/net/if_inet6 ] || echo "no IPv6 in this kernel: EAFNOSUPPORT, not a refusal")
NO_PACKET=$([ -e /proc/net/packet ] || echo "no packet sockets in this kernel (CONFIG_PACKET)")
NO_KEYS=$([ -e /proc/keys ] || echo "no /proc/keys in this kernel (CONFIG_KEYS): nothing to mask")
NO_TIMER_LIST=$([ -n "$(head -c 64 /proc/timer_list 2>/dev/null)" ] ||
	echo "the host's /proc/timer_list is empty or missing: masking it proves nothing")
v=$(host_sysctl kernel/perf_event_paranoid none)
NO_PERF=$(case $v in -1 | 0 | 1 | 2) ;; none) echo "no perf events in this kernel" ;;
	*) echo "kernel.perf_event_paranoid=$v refuses it to unprivileged callers" ;; esac)
NO_UFFD=$([ -e /proc/sys/vm/unprivileged_userfaultfd ] || echo "no userfaultfd in this kernel")
v=$(host_sysctl kernel/io_uring_disabled 0)
NO_URING=$([ "$v" = 0 ] || echo "kernel.io_uring_disabled=$v: the kernel refuses it itself")
v=$(host_sysctl kernel/yama/ptrace_scope 0)
NO_PTRACE=$([ "$v" -lt 3 ] || echo "kernel.yama.ptrace_scope=$v: no process may attach to another")
v=$(host_sysctl dev/tty/legacy_tiocsti 1)   # no such file before Linux 6.2: TIOCSTI always allowed
NO_TIOCSTI=$([ "$v" = 1 ] || echo "dev.tty.legacy_tiocsti=$v: the kernel refuses TIOCSTI itself")
# the defence layer that stops the W^X probes (docs/kernels.md): MDWE (EACCES) where the
# kernel has it; without, the seccomp filter (EPERM, reported), and the boot says so.
# ISC_NO_MDWE=1 in the environment runs the whole suite the older kernels' way.
NO_MDWE=$( { [ -n "${ISC_NO_MDWE:-}" ] || ! "$ISCADM" host check -p | grep -q '^memory-deny-write-exec:yes:'; } &&
	echo "no PR_SET_MDWE (Linux 6.3)")

# ---- the probe image: busybox, isc-probe, a setuid-root copy, a job runner ----------
iscadm pool create --size 1G || fail "pool create"
tree=$T/tree
probe_tree "$tree"
mkdir -p "$tree/etc/isc/services" "$tree/srv" "$tree/mnt" "$tree/var/lib/dpkg"
: > "$tree/var/lib/dpkg/status"
cat > "$tree/bin/isc-runner" <<'EOF'
#!/bin/sh
# runs the jobs the test drops in /run/jobs, as a service of the ISC
mkdir -p /run/jobs
while :; do
	for j in /run/jobs/*.sh; do
		[ -e "$j" ] || continue
		b=${j%.sh}
		mv "$j" "$b.run"
		sh "$b.run" > "$b.out" 2>&1
		echo $? > "$b.rc"
	done
	sleep 0.1
done
EOF
chmod 755 "$tree/bin/isc-runner"
echo 'exec=/bin/isc-runner' > "$tree/etc/isc/services/runner"
iscadm image build probe --from "dir:$tree" >/dev/null 2>&1 || fail "probe image"

mk_isc $ATK probe --set volume=/srv --set tmp-size=16M --set scratch-size=16M
mk_isc $OPEN probe --set volume=/srv --set seccomp=off --set mdwe=off --set landlock=off \
	--set limitpriv=default,+sys_admin,+sys_chroot,+sys_ptrace,+net_raw,+net_admin
mk_isc $NONE probe --profile none --set memory=512M --set pids=512
mk_isc $LIM probe --set pids=64 --set memory=64M
mk_isc $LL probe --set seccomp=off --set limitpriv=default,+sys_admin
for n in $ATK $OPEN $NONE $LIM $LL; do iscadm boot $n || fail "boot $n"; done
[ "$(iscadm get $ATK profile)" = fixed-configuration ] || fail "$ATK is not fixed-configuration"
[ "$(iscadm login $ATK -- id -u)" = 0 ] || fail "not root inside $ATK"
iscadm login $ATK -- grep -q '^Seccomp:.2' /proc/self/status || fail "no seccomp filter in $ATK"
SUP=$(supervisor $ATK)
[ -n "$SUP" ] || fail "no supervisor pid for $ATK"
echo "target: $ATK (fixed-configuration, root inside, supervisor pid $SUP on the host)"

# ---- the mount table -------------------------------------------------------------
section "mount table"
attempt mount "remount / read-write" EPERM remount-rw /
attempt mount "mount a tmpfs" EPERM mount tmpfs /mnt
attempt mount "mount a new proc" EPERM mount proc /mnt
attempt mount "mount sysfs" EPERM mount sysfs /mnt
attempt mount "mount cgroup v1 (release_agent escape)" EPERM mount cgroup /mnt memory
attempt mount "bind-mount / elsewhere" EPERM mount-bind / /mnt
attempt umount2 "umount the read-only mask on /proc/sys" EPERM umount /proc/sys
attempt umount2 "umount the read-only /var/lib/dpkg" EPERM umount /var/lib/dpkg
attempt fsopen "fsopen(tmpfs) (new mount API)" EPERM fsopen tmpfs
attempt fspick "fspick / (reconfigure the root)" EPERM fspick /
attempt open_tree "open_tree(OPEN_TREE_CLONE) of /" EPERM open-tree /
attempt move_mount "move_mount /tmp onto /mnt" EPERM move-mount /tmp /mnt
attempt mount_setattr "mount_setattr: clear ro,noexec on /" EPERM mount-setattr /
attempt pivot_root "pivot_root" EPERM pivot-root /
attempt chroot "chroot escape (chroot, fchdir out, chdir ..)" EPERM chroot-escape /tmp
control $OPEN "mount a tmpfs (CAP_SYS_ADMIN, no seccomp)" allowed mount tmpfs /mnt
control $OPEN "remount / rw: the mount is locked" EPERM remount-rw /
control $OPEN "mount_setattr on /: the flags are locked" EPERM mount-setattr /
control $OPEN "umount /var/lib/dpkg: locked" EINVAL umount /var/lib/dpkg
control $OPEN "chroot escape: works, stays in the ISC's root" contained chroot-escape /tmp

# ---- devices and kernel knobs ------------------------------------------------------
section "devices, /proc, /sys"
POOLDEV=$(losetup -j "$ISC_ROOT/pool.img" -O MAJ:MIN -n | tr -d ' ' | head -1)
[ -n "$POOLDEV" ] || fail "no loop device for the pool"
attempt - "mknod the pool's block device ($POOLDEV), read it" EPERM mknod b /tmp/pool "${POOLDEV%:*}" "${POOLDEV#*:}"
attempt - "mknod /dev/mem (c 1:1)" EPERM mknod c /tmp/mem 1 1
attempt - "open the pool's device in /dev" ENOENT open-rdwr "/dev/$(basename "$(losetup -j "$ISC_ROOT/pool.img" | cut -d: -f1)")"
attempt - "open /dev/mem for writing" ENOENT open-write /dev/mem
attempt - "open /dev/kmsg for writing" ENOENT open-write /dev/kmsg
attempt - "create a node in the host-owned /dev" EACCES create /dev/evil
# kernel.* files belong to host root (EACCES first); the read-only mask is the
# wall behind (the control with CAP_NET_ADMIN meets it on a net.* file)
attempt - "write /proc/sys/kernel/core_pattern" EACCES open-write /proc/sys/kernel/core_pattern
attempt - "write /proc/sys/net/ipv4/ip_forward" EACCES open-write /proc/sys/net/ipv4/ip_forward
control $OPEN "write ip_forward with CAP_NET_ADMIN: the mask" EROFS open-write /proc/sys/net/ipv4/ip_forward
if [ -e /proc/sysrq-trigger ]; then
	attempt - "write /proc/sysrq-trigger" EROFS,EACCES open-write /proc/sysrq-trigger
else   # this kernel has no CONFIG_MAGIC_SYSRQ: the file exists nowhere
	attempt - "write /proc/sysrq-trigger (none on this kernel)" ENOENT open-write /proc/sysrq-trigger
fi
attempt - "write /sys (read-only sysfs)" EROFS open-write /sys/class/net/lo/mtu
attempt - "create a file in /sys" EROFS create /sys/kernel/evil
unless "$NO_KEYS" attempt - "read /proc/keys (masked)" empty read /proc/keys
unless "$NO_TIMER_LIST" attempt - "read /proc/timer_list (masked)" empty read /proc/timer_list
# sysfs shows every block device: a loop device's backing_file would name host paths
[ -n "$(cat /sys/block/loop*/loop/backing_file 2>/dev/null)" ] || fail "no loop device on the host: the next check proves nothing"
bf=$(iscadm login $ATK -- sh -c 'cat /sys/block/loop*/loop/backing_file 2>/dev/null' | wc -l)
[ "$bf" -eq 0 ] || fail "loop backing files (host paths) readable in /sys inside the ISC"
bf=$(iscadm login $ATK -- sh -c 'grep -rls "$0" /sys/devices/virtual /sys/class /sys/block 2>/dev/null' "$ISC_ROOT" | wc -l)
[ "$bf" -eq 0 ] || fail "host paths of the pool visible in /sys inside the ISC ($bf files)"

# ---- the read-only root (fixed-configuration) --------------------------------------
section "read-only root"
attempt - "create a file in /usr" EROFS create /usr/evil
attempt - "overwrite /etc/passwd" EROFS open-write /etc/passwd
attempt - "add a service in /etc/isc/services" EROFS create /etc/isc/services/evil
attempt - "change package state /var/lib/dpkg" EROFS create /var/lib/dpkg/evil
attempt - "overwrite a program of the image" EROFS open-write /bin/isc-probe-suid
attempt - "write /etc/hostname" EROFS create /etc/hostname
attempt_sh "remove /bin/busybox" "Read-only file system" 'rm -f /bin/busybox'
control $NONE "create a file in /usr (profile none)" allowed create /usr/evil
# Landlock is a wall of its own: a Landlock domain may not change the mount
# table, so with seccomp off and CAP_SYS_ADMIN the mounts still hold
out=$(iscadm login $LL -- isc-probe --expect mount-EPERM mount-create /mnt 2>&1); rc=$?
verdict "mount a tmpfs on /mnt, write in it ($LL: Landlock alone)" $rc "$(printf '%s' "$out" | tail -n 1)"
out=$(iscadm login $LL -- isc-probe --expect EPERM umount /proc/sys 2>&1); rc=$?
verdict "umount the /proc/sys mask ($LL: Landlock alone)" $rc "$(printf '%s' "$out" | tail -n 1)"
control $OPEN "mount and write with landlock=off too" allowed mount-create /mnt

# ---- what is writable never runs ----------------------------------------------------
section "noexec"
for d in /tmp /var/tmp /var /scratch /dev/shm /run /srv; do
	iscadm login $ATK -- cp /bin/isc-probe "$d/x" || fail "copy to $d"
	attempt - "exec a program copied to $d" EACCES exec "$d/x"
done
attempt - "mmap PROT_EXEC a program in /tmp (ld.so trick)" EPERM mmap-exec /tmp/x
attempt_sh "run a shell script from /tmp" "Permission denied" \
	'printf "#!/bin/sh\necho ran\n" > /tmp/s && chmod +x /tmp/s && /tmp/s'
control $ATK "exec the same program from the image" allowed exec /bin/isc-probe
iscadm login $NONE -- cp /bin/isc-probe /var/x || fail "copy in $NONE"
control $NONE "exec a copied program from /var (profile none)" allowed exec /var/x

# ---- memory-deny-write-execute ---------------------------------------------------------
section "W^X"
# wx_attempt SYSCALL DESC EXPECT PROBE-ARGS...: as attempt, in $WX (the ISC whose W^X is
# the filter's), its denial in $WX's notes
wx_attempt() {
	local sc=$1 desc=$2 want=$3 out rc
	shift 3
	if [ "$WX" = "$ATK" ]; then attempt "$sc" "$desc" "$want" "$@"; return; fi
	out=$(iscadm login $WX -- isc-probe --expect "$want" "$@" 2>&1); rc=$?
	sleep 0.3
	if [ $rc -eq 0 ] && ! iscadm notes $WX | grep -qE "^isc: seccomp: denied $sc by pid [0-9]+ \(isc-probe\)$"; then
		rc=1 out="$out; no denial of $sc in $WX's notes"
	fi
	verdict "$desc" $rc "$(printf '%s' "$out" | tail -n 1) [seccomp: $sc] ($WX)"
}
if [ -z "$NO_MDWE" ]; then
	attempt - "mprotect a writable mapping executable (MDWE)" EACCES mprotect-exec
	attempt - "mmap anonymous RWX (MDWE)" EACCES mmap-rwx
	attempt - "turn MDWE off (prctl)" EPERM mdwe-off
	control $OPEN "prctl(PR_SET_MDWE, 0) with mdwe=off" allowed mdwe-off
	# the older kernels' way on this one too: an ISC booted as if it had no MDWE
	WX=it-wx
	mk_isc $WX probe
	ISC_NO_MDWE=1 iscadm boot $WX || fail "boot $WX as without MDWE"
else
	WX=$ATK
	skipped "turn MDWE off (prctl)" "$NO_MDWE: nothing to turn off"
fi
iscadm notes $WX | grep -q "NOTICE: mdwe off (this kernel has no PR_SET_MDWE (Linux 6.3)), W^X by the seccomp filter instead" ||
	fail "$WX's boot did not say that the filter keeps W^X: $(iscadm notes $WX | grep NOTICE)"
wx_attempt mprotect "mprotect a writable mapping executable (filter)" EPERM mprotect-exec
wx_attempt mmap "mmap anonymous RWX (filter)" EPERM mmap-rwx
control $OPEN "mprotect RW -> RX with mdwe=off" allowed mprotect-exec
control $OPEN "mmap RWX with mdwe=off" allowed mmap-rwx
[ "$WX" = "$ATK" ] || iscadm halt $WX

# ---- privileges ------------------------------------------------------------------------
section "privileges"
iscadm login $ATK -- ls -l /bin/isc-probe-suid | grep -q '^-rwsr-xr-x.* root ' || fail "no setuid-root probe"
attempt - "run a setuid-root program as nobody" not-raised setuid-exec /bin/isc-probe-suid 65534
attempt - "capset: raise CAP_SYS_ADMIN" EPERM cap-raise 21
attempt - "raise CAP_SYS_ADMIN into the ambient set" EPERM ambient-raise 21
attempt - "capset: raise CAP_SYS_MODULE" EPERM cap-raise 16

# ---- the kernel itself ---------------------------------------------------------------
section "kernel"
attempt init_module "init_module" EPERM init-module
attempt finit_module "finit_module" EPERM finit-module
attempt delete_module "delete_module" EPERM delete-module
attempt kexec_load "kexec_load" EPERM kexec-load
attempt kexec_file_load "kexec_file_load" EPERM kexec-file-load
attempt bpf "bpf(BPF_MAP_CREATE)" EPERM bpf
attempt perf_event_open "perf_event_open (own task clock)" EPERM perf-event-open
attempt userfaultfd "userfaultfd (user mode only)" EPERM userfaultfd
attempt io_uring_setup "io_uring_setup" EPERM io-uring-setup
attempt fanotify_init "fanotify_init" EPERM fanotify-init
attempt iopl "iopl(3)" EPERM iopl
attempt ioperm "ioperm(0x80)" EPERM ioperm
attempt swapon "swapon" EPERM swapon /tmp/x
attempt swapoff "swapoff" EPERM swapoff /tmp/x
attempt reboot "reboot(2)" EPERM reboot
attempt acct "acct(2)" EPERM acct /tmp/acct
attempt syslog "syslog(2): read the kernel log" EPERM syslog
attempt quotactl "quotactl" EPERM quotactl /dev/null
attempt clock_settime "clock_settime(CLOCK_REALTIME)" EPERM clock-settime
attempt settimeofday "settimeofday" EPERM settimeofday
attempt adjtimex "adjtimex" EPERM adjtimex
attempt personality "personality(ADDR_NO_RANDOMIZE): ASLR off" EPERM personality 40000
attempt personality "personality(READ_IMPLIES_EXEC)" EPERM personality 400000
control $ATK "personality query (0xffffffff)" allowed personality ffffffff
control $ATK "personality(PER_LINUX32|UNAME26)" allowed personality 20008
control $OPEN "personality(ADDR_NO_RANDOMIZE) without seccomp" allowed personality 40000
unless "$NO_PERF" control $OPEN "perf_event_open without seccomp" allowed perf-event-open
unless "$NO_UFFD" control $OPEN "userfaultfd without seccomp" allowed userfaultfd
unless "$NO_URING" control $OPEN "io_uring_setup without seccomp" allowed io-uring-setup
control $OPEN "adjtimex (read) without seccomp" allowed adjtimex
control $OPEN "init_module without seccomp: no CAP_SYS_MODULE" ENOSYS,EPERM init-module
control $OPEN "clock_settime without seccomp: no CAP_SYS_TIME" EPERM clock-settime

# ---- keys and fscrypt ------------------------------------------------------------------
section "keys, fscrypt"
attempt add_key "add_key" EPERM add-key
attempt request_key "request_key" EPERM request-key
attempt keyctl "keyctl(GET_KEYRING_ID)" EPERM keyctl-id
for io in add-key remove-key remove-key-all-users key-status get-policy-ex set-policy get-nonce; do
	attempt ioctl "fscrypt $io ioctl on /scratch" EPERM fscrypt-ioctl $io /scratch
done
out=$(iscadm login $ATK -- isc-probe fscrypt /srv 2>&1); rc=$?
verdict "fscrypt key and policy ioctls on the volume /srv" $rc "6 ioctls: $(printf '%s\n' "$out" | sed 's/^.*: //' | sort -u | tr '\n' ' ')[seccomp: ioctl]"
WANT_LOG[ioctl]=$(( ${WANT_LOG[ioctl]:-0} + 6 )); sleep 0.3
control $OPEN "fscrypt key-status on /scratch without seccomp" allowed fscrypt-ioctl key-status /scratch
control $OPEN "fscrypt get-policy-ex on /scratch without seccomp" allowed fscrypt-ioctl get-policy-ex /scratch
control $OPEN "keyctl without seccomp" allowed keyctl-id

# ---- terminals ----------------------------------------------------------------------------
# isc-probe opens a pty from the ISC's /dev/ptmx and makes it the controlling terminal of a
# child, as a login's is: there the kernel alone would let TIOCSTI type into its input
section "terminals"
attempt ioctl "TIOCSTI: type a command into our terminal's input" EPERM tiocsti
attempt ioctl "TIOCLINUX: paste the VT selection (on a pty)" EPERM tioclinux
unless "$NO_TIOCSTI" control $OPEN "TIOCSTI without seccomp: the newline arrives" injected tiocsti
control $OPEN "TIOCLINUX without seccomp: a pty is no VT" ENOTTY tioclinux

# ---- file handles (shocker) -------------------------------------------------------------
section "file handles"
attempt name_to_handle_at "name_to_handle_at" EPERM name-to-handle /scratch
attempt open_by_handle_at "open_by_handle_at (shocker, inode 2)" EPERM open-by-handle /scratch
control $OPEN "name_to_handle_at without seccomp" allowed name-to-handle /scratch
control $OPEN "open_by_handle_at without seccomp: no DAC_READ_SEARCH" EPERM open-by-handle /scratch

# ---- isc-init and other processes -------------------------------------------------------
section "isc-init, other processes"
attempt ptrace "ptrace isc-init (pid 1)" EPERM ptrace 1
attempt ptrace "ptrace a child of our own" EPERM ptrace child
attempt ptrace "PTRACE_TRACEME" EPERM ptrace-traceme
attempt process_vm_writev "process_vm_writev into another process" EPERM process-vm write
attempt process_vm_readv "process_vm_readv from another process" EPERM process-vm read
attempt kcmp "kcmp" EPERM kcmp
attempt pidfd_getfd "pidfd_getfd (steal a descriptor)" EPERM pidfd-getfd
attempt - "open isc-init's memory /proc/1/mem" EACCES open-rdwr /proc/1/mem
attempt - "read isc-init's environment" EACCES read /proc/1/environ
attempt - "take isc-init's descriptor /proc/1/fd/0" EACCES readlink /proc/1/fd/0
attempt - "enter isc-init's root /proc/1/root" EACCES opendir /proc/1/root/
attempt - "open isc-init's executable /proc/1/exe" EACCES open-write /proc/1/exe
attempt - "open /proc/self/exe for writing" ETXTBSY,EROFS open-write /proc/self/exe
# the runc CVE-2019-5736 window: a login being set up runs iscd's code in the ISC
race=$T/race.out
iscadm login $ATK -- isc-probe exe-race 2 > "$race" 2>&1 &
rpid=$!
sleep 0.2
for _ in $(seq 60); do iscadm login $ATK -- true; done
wait $rpid
verdict "open the executable of a login being set up (runc)" $? "$(tail -n 1 "$race") ($(head -n 1 "$race"))"
unless "$NO_PTRACE" control $OPEN "ptrace isc-init with CAP_SYS_PTRACE, no seccomp" allowed ptrace 1
unless "$NO_PTRACE" control $OPEN "ptrace a child without seccomp" allowed ptrace child
unless "$NO_PTRACE" control $OPEN "process_vm_writev without seccomp" allowed process-vm write
unless "$NO_PTRACE" control $OPEN "pidfd_getfd without seccomp" allowed pidfd-getfd

# ---- the supervisor and the host ---------------------------------------------------------
section "supervisor, host"
attempt - "kill the supervisor (host pid $SUP)" ESRCH kill "$SUP" 9
attempt - "pidfd_open the supervisor" ESRCH pidfd-open "$SUP"
attempt - "/proc/$SUP of the supervisor" ENOENT opendir "/proc/$SUP"
attempt ptrace "ptrace the supervisor" EPERM ptrace "$SUP"
attempt - "signal the test's own host process ($$)" ESRCH kill $$ 0
out=$(iscadm login $ATK -- sh -c 'cat /proc/[0-9]*/comm' 2>/dev/null | sort -u)
printf '%s\n' "$out" | grep -qxE 'iscd|iscadm|bash|systemd|init|kthreadd' && rc=1 || rc=0
verdict "see a host process in /proc" $rc "visible: $(printf '%s' "$out" | tr '\n' ' ')"
out=$(iscadm login $ATK -- sh -c 'isc-probe --expect allowed kill 1 9; sleep 0.2; isc-svc list >/dev/null && echo isc-init alive' 2>&1)
running $ATK && printf '%s' "$out" | grep -q "isc-init alive"
verdict "SIGKILL isc-init from inside" $? "$(printf '%s' "$out" | tr '\n' ' ')"
out=$(iscadm login $ATK -- sh -c 'isc-probe --expect allowed kill 1 11; sleep 0.2; isc-svc list >/dev/null && echo isc-init alive' 2>&1)
running $ATK && printf '%s' "$out" | grep -q "isc-init alive"
verdict "SIGSEGV isc-init from inside" $? "$(printf '%s' "$out" | tr '\n' ' ')"
# a trusted session (login -T) lives in a pid namespace of its own
iscadm login -T $ATK -- sh -c 'echo trusted-up; exec sleep 2.25' > "$T/trusted.out" 2>&1 &
tpid=$!
for _ in $(seq 100); do grep -q trusted-up "$T/trusted.out" && break; sleep 0.05; done
out=$(iscadm login $ATK -- sh -c 'cat /proc/[0-9]*/cmdline | tr "\0" " "' 2>/dev/null)
grep -q trusted-up "$T/trusted.out" && ! printf '%s' "$out" | grep -q "2\.25"
verdict "find a trusted (login -T) session from inside" $? "not in the ISC's /proc"
wait $tpid
[ "$(supervisor $ATK)" = "$SUP" ] && kill -0 "$SUP" || fail "the supervisor of $ATK changed or died"

# ---- namespaces ---------------------------------------------------------------------------
section "namespaces"
attempt unshare "unshare a user namespace" EPERM unshare user
attempt unshare "unshare a user namespace, then mount in it" EPERM userns-mount /mnt
attempt clone "clone(CLONE_NEWUSER)" EPERM clone-newuser
attempt - "clone3(CLONE_NEWUSER) (flags unreadable: ENOSYS)" ENOSYS clone3-newuser
for ns in mnt net uts ipc pid cgroup time; do
	attempt - "unshare a new $ns namespace" EPERM unshare $ns
done
attempt - "setns into isc-init's mount namespace" EACCES setns /proc/1/ns/mnt
attempt setns "setns via /proc/self/ns/uts" EPERM setns /proc/self/ns/uts
out=$(iscadm login $ATK -- isc-probe ns-scan 2>&1); rc=$?
verdict "find a namespace outside the ISC to setns to" $rc "$(printf '%s' "$out" | tail -n 1)"
control $OPEN "unshare a user namespace without seccomp" allowed unshare user
control $OPEN "userns then mount without seccomp" allowed userns-mount /mnt
control $OPEN "setns without seccomp (CAP_SYS_ADMIN)" allowed setns /proc/self/ns/uts
# the masks of /proc are the ISC's own mounts, not locked: seccomp, Landlock
# and the missing CAP_SYS_ADMIN hold them (it-ll above); with all three gone:
control $OPEN "umount the /proc/sys mask: all three walls off" allowed umount /proc/sys

# ---- network ---------------------------------------------------------------------------
section "network"
attempt - "raw IPv4 socket" EPERM socket raw4
unless "$NO_IPV6" attempt - "raw IPv6 socket" EPERM socket raw6
unless "$NO_PACKET" attempt - "packet socket" EPERM socket packet
control $OPEN "raw IPv4 socket with limitpriv +net_raw" allowed socket raw4
unless "$NO_PACKET" control $OPEN "packet socket with limitpriv +net_raw" allowed socket packet

# ---- hostname ------------------------------------------------------------------------------
section "hostname"
attempt - "sethostname" EPERM sethostname evil
[ "$(iscadm login $ATK -- hostname)" = $ATK ] || fail "hostname of $ATK changed"
control $OPEN "sethostname with CAP_SYS_ADMIN" allowed sethostname evil
[ "$(iscadm login $OPEN -- hostname)" = evil ] || fail "control hostname not set"
iscadm reboot $OPEN >/dev/null || fail "reboot $OPEN"
out=$(iscadm login $OPEN -- hostname)
[ "$out" = $OPEN ]
verdict "keep a changed hostname across a reboot" $? "after reboot: $out"

# ---- symlink swaps of volume mount points (resolved with RESOLVE_IN_ROOT|NO_SYMLINKS) -----
section "symlink swaps of volume mount points"
cp -a "$tree" "$T/tree-sym" && rm -rf "$T/tree-sym/srv" && ln -s /etc "$T/tree-sym/srv"
iscadm image build probe-sym --from "dir:$T/tree-sym" >/dev/null 2>&1 || fail "probe-sym image"
mk_isc it-symimg probe-sym --set volume=/srv
out=$(iscadm boot it-symimg 2>&1); rc=$?
[ $rc -ne 0 ] && printf '%s' "$out" | grep -q "volume /srv: Too many levels of symbolic links" && ! running it-symimg
verdict "volume mount point /srv -> /etc in the image" $? "$out"
mk_isc it-swap1 probe
mk_isc it-swap2 probe
iscadm boot it-swap1 && iscadm boot it-swap2 || fail "boot swap ISCs"
iscadm login it-swap1 -- sh -c 'ln -s /etc /var/lib/data && mkdir /var/lib/real' || fail "plant in it-swap1"
iscadm login it-swap2 -- sh -c 'ln -s /etc /var/spool' || fail "plant in it-swap2"
iscadm halt it-swap1 && iscadm halt it-swap2 || fail "halt swap ISCs"
# the control: a mount point the ISC made itself, a real directory, works
iscadm set it-swap1 volume=/var/lib/real && iscadm boot it-swap1 || fail "boot with volume /var/lib/real"
control_sh it-swap1 "a volume on a directory the ISC made in /var" \
	'grep -q " /var/lib/real " /proc/mounts && echo v > /var/lib/real/v && echo mounted'
out=$(iscadm login it-swap1 -- sh -c 'rmdir /var/lib/real || mv /var/lib/real /var/lib/moved' 2>&1); rc=$?
[ $rc -ne 0 ] && printf '%s' "$out" | grep -qi "resource busy"
verdict "remove or rename a volume mount point while running" $? "$(printf '%s' "$out" | tail -n 1)"
iscadm halt it-swap1
iscadm set it-swap1 volume=/var/lib/data || fail "set volume"
out=$(iscadm boot it-swap1 2>&1); rc=$?
[ $rc -ne 0 ] && printf '%s' "$out" | grep -q "volume /var/lib/data: Too many levels of symbolic links" && ! running it-swap1
verdict "volume mount point /var/lib/data -> /etc planted in the upper layer" $? "$out"
iscadm set it-swap2 volume=/var/spool/isc || fail "set volume"
out=$(iscadm boot it-swap2 2>&1); rc=$?
[ $rc -ne 0 ] && printf '%s' "$out" | grep -q "volume /var/spool/isc: Too many levels of symbolic links" && ! running it-swap2
verdict "volume parent /var/spool -> /etc (would cover /etc/isc)" $? "$out"
grep -E "/run/isc/it-sym|/run/isc/it-swap" /proc/self/mountinfo && fail "a failed boot left mounts"

# ---- resources --------------------------------------------------------------------------
section "resources"
avail() { iscadm pool status | sed -n 's/^available: *//p'; }
attempt - "fill /tmp (tmp-size=16M)" ENOSPC fill /tmp/fill 64
attempt - "fill /dev/shm" ENOSPC fill /dev/shm/fill 64
attempt - "fill /run" ENOSPC fill /run/fill 64
attempt - "fill /scratch (scratch-size=16M)" ENOSPC fill /scratch/fill 64
iscadm login $ATK -- sh -c 'echo ok > /var/after-fill' || fail "write /var after the fills"
free_mb=$(df -m --output=avail "$ISC_ROOT/pool" | tail -n 1 | tr -d ' ')
[ "$free_mb" -gt 256 ] || fail "the pool is short of space after the fills: ${free_mb}M"
echo "   ok: the pool after the fills: $(avail) available; /var still writable"
# /var's layer in a filesystem of var-size (this kernel has no quotas): ENOSPC inside
if iscadm create it-varq --image probe --set var-size=8M >/dev/null; then
	TEST_ISCS="$TEST_ISCS it-varq"
	iscadm boot it-varq || fail "boot it-varq"
	out=$(iscadm login it-varq -- isc-probe --expect ENOSPC,EDQUOT fill /var/fill 64 2>&1); rc=$?
	verdict "fill /var (var-size=8M)" $rc "$(printf '%s' "$out" | tail -n 1)"
else
	fail "create with var-size=8M"
fi

# fork bomb as a service of $LIM (pids=64): fork fails, the ISC and its supervisor stay
LSUP=$(supervisor $LIM)
job_start $LIM bomb 'isc-probe --expect EAGAIN forkbomb 2000 3'
for _ in $(seq 40); do iscadm login $LIM -- grep -q forks /run/jobs/bomb.out 2>/dev/null && break; sleep 0.1; done
pids=$(iscadm stats $LIM | awk '/^pids/ { print $2 "/" $4 }')
iscadm login $LIM -- true && login_ok=1 || login_ok=0   # while the pids are spent
/bin/true && host_ok=1 || host_ok=0
out=$(job_wait $LIM bomb); rc=$?
[ $rc -eq 0 ] && [ "$pids" = 64/64 ] && [ $login_ok = 1 ] && [ $host_ok = 1 ] && running $LIM && kill -0 "$LSUP" &&
	iscadm login $ATK -- true
verdict "fork bomb in a service (pids=64)" $? "$(printf '%s' "$out" | tr '\n' ' '); pids $pids; login during it: $login_ok; host fork: $host_ok; supervisor alive"
job_control $NONE "the same bomb with pids=512" bomb 'isc-probe --expect allowed forkbomb 300 0'

# memory hog as a service of $LIM (memory=64M): killed inside, the rest fine
job_start $LIM hog 'isc-probe --expect SIGKILL memhog 256'
out=$(job_wait $LIM hog); rc=$?
mem=$(iscadm stats $LIM | awk '/^memory/ { print $2 " of " $4 }')
[ $rc -eq 0 ] && running $LIM && kill -0 "$LSUP" && iscadm login $LIM -- true && iscadm login $ATK -- true &&
	running $NONE
verdict "memory hog in a service (memory=64M)" $? "$(printf '%s' "$out" | tr '\n' ' '); memory now $mem; supervisor and other ISCs fine"
# what the two did is in the metrics: forks refused at pids=64, the hog killed at memory=64M
m=$(iscadm metrics | grep "{isc=\"$LIM\"}")
refused=$(printf '%s\n' "$m" | sed -n 's/^isc_pids_refused_total{[^}]*} //p')
ooms=$(printf '%s\n' "$m" | sed -n 's/^isc_oom_kills_total{[^}]*} //p')
[ "${refused:-0}" -gt 0 ] && [ "${ooms:-0}" -gt 0 ] ||
	BROKEN="$BROKEN  metrics of $LIM: forks refused '${refused}', OOM kills '${ooms}'"$'\n'
echo "   metrics    $LIM: $refused forks refused at the pids limit, $ooms OOM kills at the memory limit"
job_control $NONE "the same hog with memory=512M" hog 'isc-probe --expect allowed memhog 256'

# ---- the notes: every seccomp denial above is reported -----------------------------
section "notes"
sleep 1
con=$(iscadm notes $ATK)
missing="" k=0
for sc in "${!WANT_LOG[@]}"; do
	have=$(printf '%s\n' "$con" | grep -cE "^isc: seccomp: denied $sc by pid [0-9]+ \(isc-probe\)$")
	k=$((k + WANT_LOG[$sc]))
	[ "$have" -ge "${WANT_LOG[$sc]}" ] || missing="$missing $sc($have of ${WANT_LOG[$sc]})"
done
if [ -z "$missing" ]; then
	echo "ok: each of the $k seccomp denials ($(printf '%s\n' "${!WANT_LOG[@]}" | wc -l) system calls) is in $ATK's notes"
else
	echo "FAIL: seccomp denials missing from the notes:$missing"
	BROKEN="$BROKEN  notes lacks:$missing"$'\n'
fi
ncon=$(iscadm notes $OPEN | grep -c "isc: seccomp:")
[ "$ncon" -eq 0 ] || BROKEN="$BROKEN  $OPEN (seccomp=off) logged $ncon denials"$'\n'
echo "   control    $OPEN (seccomp=off) has no seccomp lines in its notes"

# ---- floods: the supervisor survives, its logs stay bounded -------------------------------
section "floods"
data=$ISC_ROOT/pool/isc/$ATK/data
out=$(iscadm login $ATK -- isc-probe --expect sent logflood 4000 2>&1); rc=$?
sleep 0.5
s0=$(stat -c %s "$data/syslog" 2>/dev/null || echo 0)
s1=$(stat -c %s "$data/syslog.1" 2>/dev/null || echo 0)
max=$(( (1 << 20) + 4096 ))
[ $rc -eq 0 ] && [ "$s1" -gt 0 ] && [ "$s0" -le $max ] && [ "$s1" -le $max ] && kill -0 "$SUP" &&
	running $ATK && grep -q "flood 3999 " "$data/syslog"
verdict "flood /dev/log with 4 MiB" $? "$(printf '%s' "$out" | tail -n 1); syslog $s0 + syslog.1 $s1 bytes (1 MiB each at most), supervisor alive"
t0=$(date +%s%N)
out=$(iscadm login $ATK -- isc-probe --expect EPERM denyflood 5000 2>&1); rc=$?
# iscd answers at most 2000 denials a second: past that the flood waits (a second at least)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# the count of lines not logged is written with the first denial of a later second
sleep 1.1
iscadm login $ATK -- isc-probe acct /tmp/acct >/dev/null
c=$(iscadm notes $ATK)
logged=$(printf '%s\n' "$c" | grep -c "denied acct by")
dropped=$(printf '%s\n' "$c" | sed -nE 's/^isc: seccomp: ([0-9]+) more denials not logged$/\1/p' | awk '{ s += $1 } END { print s + 0 }')
[ $rc -eq 0 ] && [ "$dropped" -gt 0 ] && [ "$logged" -lt 200 ] && [ "$ms" -ge 900 ] && kill -0 "$SUP" && running $ATK
verdict "flood the seccomp reporting (5000 denials)" $? "$(printf '%s' "$out" | head -n 1) in $ms ms (paced by the supervisor); $logged lines logged, $dropped counted as not logged; supervisor alive"
[ "$(supervisor $ATK)" = "$SUP" ] || fail "the supervisor of $ATK was replaced"

# ---- verdict ------------------------------------------------------------------------------
echo
echo "blocked $BLOCKED of $NUM"
[ "$SKIPPED" -eq 0 ] || echo "skipped $SKIPPED whose premise this host does not meet (listed above; not counted)"
rc=0
if [ "$BLOCKED" -ne "$NUM" ]; then
	printf 'NOT BLOCKED:\n%s' "$HOLES"
	rc=1
fi
if [ -n "$BROKEN" ]; then
	printf 'controls or checks that failed:\n%s' "$BROKEN"
	rc=1
fi
[ "$NUM" -ge 60 ] || { echo "FAIL: only $NUM attempts"; rc=1; }
exit $rc
