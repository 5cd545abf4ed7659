# Runs last: the suite left no mounts, loop devices, cgroups or processes of isc.
set -u
left=""
grep -E '/tmp/isc-it|/run/isc/it-' /proc/self/mountinfo && left="$left mounts"
losetup -a | grep -q '/tmp/isc-it' && left="$left loop"
ls -d /sys/fs/cgroup/*/isc /sys/fs/cgroup/isc 2>/dev/null | grep . && left="$left cgroups"
pgrep -f 'iscd --root /tmp/isc-it' && left="$left processes"
[ -z "$left" ] || { echo "FAIL: left behind:$left"; exit 1; }
echo "ok: nothing left behind"
