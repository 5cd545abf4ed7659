#!/bin/bash
# guest.sh - PID 1 of the test VM (after the initramfs): mount the usual file
# systems and the unified cgroup v2 hierarchy with its controllers delegated,
# load modules, run the chosen integration scenarios as tests/run.sh does,
# leave their results in /vm-out, power off. The initramfs copies it from
# the read-only share to the root disk and runs it.  With INIT=systemd in
# the run's config it hands PID 1 to systemd instead, which owns the cgroup
# tree as on a server, and runs itself again ("inner") as a service.
# a root login's environment (script(1) runs $SHELL)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 SHELL=/bin/bash USER=root LOGNAME=root
OUT=/vm-out
SRC=$1		# the project's worktree, shared read-only at its host path
INNER=${2:-}	# "inner": run by systemd, which has set up the system
say() { echo "isc-vm: $*" > /dev/console; }
off() { sync; umount "$OUT" 2>/dev/null; echo o > /proc/sysrq-trigger; sleep 30; }

# written by the host: TESTS, B, TEST_TIMEOUT, INIT
[ -f "$OUT/config" ] && . "$OUT/config"
if [ "${INIT:-plain}" = systemd ] && [ -z "$INNER" ]; then
	cat > /etc/systemd/system/isc-vm.service <<-EOF
	[Unit]
	Description=isc: the check-vm scenarios
	After=local-fs.target systemd-modules-load.service
	[Service]
	Type=oneshot
	ExecStart=/bin/bash /isc-vm-guest.sh $SRC inner
	StandardInput=null
	StandardOutput=tty
	StandardError=tty
	TTYPath=/dev/console
	EOF
	exec /lib/systemd/systemd --unit=isc-vm.service --show-status=0 --log-level=warning
fi

if [ -z "$INNER" ]; then
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/null >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# /tmp stays on the root disk (ext4), as on the CI host
mount -t tmpfs -o mode=755 tmpfs /run
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# the unified hierarchy only, as systemd mounts it on today's servers
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || say "cannot mount cgroup2"
# a delegating manager: every controller enabled below the root, our own
# processes in a leaf (the root cgroup is exempt from no-internal-processes
# but a real server keeps nothing there)
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || say "cannot enable the $c controller"
done
mkdir -p /sys/fs/cgroup/init.scope && echo $$ > /sys/fs/cgroup/init.scope/cgroup.procs
fi
exec </dev/null >/dev/console 2>&1
hostname isc-vm
ip link set lo up 2>/dev/null
ln -sf /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin; ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
for m in loop erofs overlay veth bridge tun dummy nf_tables; do modprobe -q "$m" 2>/dev/null; done

[ -f "$OUT/config" ] || { say "no $OUT/config"; off; }
{
	echo "boot $(cut -d' ' -f1 /proc/uptime)"
	echo "kernel $(uname -r)"
	echo "cgroup $(stat -fc %T /sys/fs/cgroup) controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
	echo "init $(cat /proc/1/comm)"
	echo "lsm $(cat /sys/kernel/security/lsm 2>/dev/null)"
	echo "cpu $(grep -m1 -o -w aes /proc/cpuinfo || echo no-aes)"
} > "$OUT/info"
# what isc itself finds in this kernel (iscadm host check)
timeout 120 "$SRC/$B/iscadm" host check > "$OUT/hostcheck" 2>&1
say "up: $(uname -r), booted in $(cut -d' ' -f1 /proc/uptime)s, cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"

# as tests/run.sh: what a scenario may leave of isc
. "$SRC/tests/leftovers.sh"

cd "$SRC" || off
export ISC_BUILD=$B
for name in $TESTS; do
	# a name with a slash is a script of the project (bench/verity.sh)
	case $name in */*) script=$name t=${name%.sh} t=${t//\//_} ;; *) script=tests/integration/$name.sh t=$name ;; esac
	dmesg -C
	start=$(date +%s)
	timeout -k 10 "$TEST_TIMEOUT" bash "$script" > "$OUT/$t.log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	left=$(leftovers_settled)
	if [ -n "$left" ]; then
		printf 'left behind by %s:\n%s\n' "$t" "$left" >> "$OUT/$t.log"
		[ "$rc" -eq 0 ] && rc=1
	fi
	dmesg > "$OUT/$t.dmesg"
	echo "$t $rc $secs" >> "$OUT/results"
	case $rc in
	0) say "ok   $t (${secs}s)" ;;
	77) say "skip $t: $(tail -1 "$OUT/$t.log" | cut -c1-120)" ;;
	*) say "FAIL $t (rc $rc, ${secs}s)" ;;
	esac
	sync
done
off
