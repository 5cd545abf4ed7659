# Runs last: the suite left no mounts, loop devices, cgroups or processes of isc.
set -u
check() {
	left=""
	grep -E '/tmp/isc-it|/run/isc/it-' /proc/self/mountinfo && left="$left mounts"
	losetup -a | grep -q '/tmp/isc-it' && left="$left loop"
	ls -d /sys/fs/cgroup/*/isc /sys/fs/cgroup/isc 2>/dev/null | grep . && left="$left cgroups"
	pgrep -f 'iscd --root /tmp/isc-it' && left="$left processes"
	[ -z "$left" ]
}
# the kernel finishes some of it a moment later (loop devices detach themselves): wait a little
for i in 1 2 3 4 5 6 7 8 9 10; do
	check >/dev/null && break
	sleep 0.5
done
check || { find /sys/fs/cgroup -maxdepth 4 -path '*/isc*' -type d 2>/dev/null; echo "FAIL: left behind:$left"; exit 1; }
echo "ok: nothing left behind"
