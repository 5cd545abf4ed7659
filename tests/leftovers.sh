# leftovers.sh - sourced by tests/run.sh and the VM guest (tests/vm/guest.sh).
# What the suite may leave of isc: cgroups (with their tasks), mounts of
# test roots and their run directories, loop devices, supervisors, isc's
# nft tables, veths, test bridges and namespaces.
# /run/isc/images/DEV-INO (a pool's image) and /run/isc/scratch/DEV-INO-SIZE
# (a pool's spare /scratch) of a pool on a test's loop device: the mount holds
# a file of the pool, so the device keeps its backing file while it lives.
# The mounts of other pools (an operator's /var/lib/isc, say) are not ours.
test_image_mounts() {
	local m dev maj min
	awk '$5 ~ /^\/run\/isc\/(images\/[0-9a-f]+-[0-9a-f]+|scratch\/[0-9a-f]+-[0-9a-f]+-[0-9]+)$/ {print $5}' /proc/self/mountinfo |
		while read -r m; do
			dev=$((16#$(basename "$m" | cut -d- -f1)))
			maj=$(( ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff) ))
			min=$(( (dev & 0xff) | ((dev >> 12) & ~0xff) ))
			case $(cat "/sys/dev/block/$maj:$min/loop/backing_file" 2>/dev/null) in
			/tmp/isc-it.*) echo "$m" ;;
			esac
		done
}
leftovers() {
	local d
	for d in $(find /sys/fs/cgroup -maxdepth 4 -type d \( -path '*/isc' -o -path '*/isc/*' -o -name 'isc-*.scope' \) 2>/dev/null); do
		echo "cgroup $d: tasks $(tr '\n' ' ' < "$d/cgroup.procs" 2>/dev/null)"
	done
	# t_oci: the cgroups of its containers (podman's --cgroup-parent, containerd's namespace)
	for d in $(find /sys/fs/cgroup -maxdepth 2 -type d -name 'isc-it-oci-*' 2>/dev/null); do
		echo "cgroup $d: tasks $(tr '\n' ' ' < "$d/cgroup.procs" 2>/dev/null)"
	done
	grep -E '/tmp/isc-it|/run/isc/it-' /proc/self/mountinfo | awk '{print "mount " $5}'
	# the shared image mounts of the tests' pools (every test pool is closed at its end)
	test_image_mounts | sed 's/^/mount /'
	losetup -a | grep '/tmp/isc-it' | sed 's/^/loop /'
	pgrep -af 'iscd --root /tmp/isc-it' | sed 's/^/process /'
	pgrep -af '(containerd|conmon).*/tmp/isc-it' | sed 's/^/process /'
	# t_audit's stand-in for the host's syslog on /dev/log
	pgrep -af 'socat -u UNIX-RECV:/dev/log,mode=600 OPEN:/tmp/isc-it' | sed 's/^/process /'
	# networking (t_net, t_demo): isc's tables, veths, the tests' namespaces and bridges
	nft list tables 2>/dev/null | grep -E '^table (inet|bridge) isc$' | sed 's/^/nft /'
	ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^(iscv|isct[0-9]|itcl)/ { print "link " $2 }'
	ip netns list 2>/dev/null | awk '$1 ~ /^isc-t-/ { print "netns " $1 }'
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
