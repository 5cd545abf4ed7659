# sweep.sh - sourced by tests/run.sh. An earlier suite that was killed outright (SIGKILL, a lost
# machine handed on as it was) could not run its cleanup traps; what it left would be counted
# against this run's first scenario. Called with /tmp/isc-it.lock held, so no scenario of any
# suite is running: whatever leftovers() finds belongs to a dead run. Each removal is said.
sweep_stale() {
	local left d p n
	left=$(leftovers)
	[ -z "$left" ] && return 0
	echo "cleanup: an earlier run was killed before its cleanup; removing what it left:"
	printf '%s\n' "$left" | sed 's/^/cleanup:     /'
	# the dead runs' shared image mounts (found by their pools' loop devices, so first)
	test_image_mounts | while read -r m; do umount -l "$m" && rmdir "$m"; done
	for d in /tmp/isc-it.*; do
		[ -d "$d" ] || continue
		# its supervisors, then through iscadm what they held (cgroups, network, the pool)
		pkill -9 -f "iscd --root $d/" 2>/dev/null
		pkill -9 -f "iscd --root $d\$" 2>/dev/null
		if pkill -9 -f "socat -u UNIX-RECV:/dev/log,mode=600 OPEN:$d/" 2>/dev/null; then
			rm -f /dev/log
		fi
		if [ -x "${ISCADM:-}" ] && [ -d "$d/root" ]; then
			ISC_ROOT=$d/root ISC_KEYDIR=$d/keys "$ISCADM" pool close >/dev/null 2>&1
		fi
		grep -E " $d/" /proc/self/mountinfo | awk '{print $5}' | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null; done
		losetup -a | grep -F "($d/" | cut -d: -f1 | while read -r l; do losetup -d "$l"; done
		for f in "$d"/root/pool/images/*.erofs; do
			[ -e "$f" ] && rm -f "/run/isc/verified/$(basename "$f" .erofs)"
		done
		rm -rf "$d"
	done
	for n in /run/isc/it-*; do [ -e "$n" ] && umount -l "$n" 2>/dev/null; done
	# the scenarios' own network fixtures: namespace, links, named after the dead shell's pid
	ip netns list 2>/dev/null | awk '$1 ~ /^isc-t-/ { print $1 }' | while read -r n; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$n"
	done
	ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^(isct[0-9]|itcl)/ { sub(/@.*/, "", $2); print $2 }' |
		while read -r n; do ip link del "$n" 2>/dev/null; done
	# ISC veths, isc's nft tables and cgroups, only when no supervisor of any root is left to
	# own them (iscadm pool close above removed those of the dead runs' ISCs already)
	if ! pgrep -x iscd >/dev/null; then
		ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^iscv/ { sub(/@.*/, "", $2); print $2 }' |
			while read -r n; do ip link del "$n" 2>/dev/null; done
		nft list tables 2>/dev/null | grep -E '^table (inet|bridge) isc$' | sed 's/^table //' |
			while read -r fam name; do nft delete table "$fam" "$name"; done
		for d in $(find /sys/fs/cgroup -maxdepth 4 -depth -type d \( -path '*/isc' -o -path '*/isc/*' -o -name 'isc-*.scope' \) 2>/dev/null); do
			for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
			rmdir "$d" 2>/dev/null
		done
	fi
	left=$(leftovers_settled)
	if [ -n "$left" ]; then
		echo "cleanup: could not remove:"
		printf '%s\n' "$left" | sed 's/^/cleanup:     /'
		return 1
	fi
	echo "cleanup: done"
}
