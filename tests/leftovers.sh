# leftovers.sh - sourced by tests/run.sh and the VM guest (tests/vm/guest.sh).
# What the suite may leave of isc: cgroups (with their tasks), mounts of
# test roots and their run directories, loop devices, supervisors.
leftovers() {
	local d
	for d in $(find /sys/fs/cgroup -maxdepth 4 -type d \( -path '*/isc' -o -path '*/isc/*' -o -name 'isc-*.scope' \) 2>/dev/null); do
		echo "cgroup $d: tasks $(tr '\n' ' ' < "$d/cgroup.procs" 2>/dev/null)"
	done
	grep -E '/tmp/isc-it|/run/isc/it-' /proc/self/mountinfo | awk '{print "mount " $5}'
	losetup -a | grep '/tmp/isc-it' | sed 's/^/loop /'
	pgrep -af 'iscd --root /tmp/isc-it' | sed 's/^/process /'
}
# The same once the kernel has finished what it finishes a moment later
# (a loop device detaches itself after its last user): wait a little.
leftovers_settled() {
	local i left
	for i in 1 2 3 4 5 6 7 8 9 10; do
		left=$(leftovers)
		[ -z "$left" ] && return
		sleep 0.5
	done
	printf '%s\n' "$left"
}
