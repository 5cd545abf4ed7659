#!/bin/bash
# bench/confine.sh - does seccomp slow a syscall-heavy loop?  getppid() x N and a 4 KiB pread()
# loop, inside the same ISC with seccomp on and off (best of 5 rounds inside, median of RUNS boots).
#
#   bench/confine.sh          # N=1000000 RUNS=5
#   ISC_BUILD=build-x bench/confine.sh
# Then the start-latency cost of confinement itself: confine_apply() timed in a fresh child
# (bench-confine-setup, median of 300); the "confinement off" row of bench/start.sh shows the
# same from outside, but within that benchmark's run-to-run noise.
set -euo pipefail
N=${N:-1000000}
RUNS=${RUNS:-5}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
case ${ISC_BUILD:=build} in /*) ;; *) ISC_BUILD=$SRC/$ISC_BUILD ;; esac
ISCADM=$ISC_BUILD/iscadm
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
W=$(mktemp -d /tmp/isc-bench-confine.XXXXXX)
export ISC_ROOT=$W/root ISC_KEYDIR=$W/keys ASAN_OPTIONS=detect_leaks=0
iscadm() { "$ISCADM" "$@"; }
cleanup() {
	set +e
	iscadm halt loop >/dev/null 2>&1; iscadm destroy -f loop >/dev/null 2>&1
	iscadm pool close >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT

# an image with busybox and the static loop program
mkdir -p "$W/tree/bin"
cp /bin/busybox "$W/tree/bin/busybox"
"$W/tree/bin/busybox" --install -s "$W/tree/bin"
ln -sf /bin/busybox "$W/tree/bin/sh"
gcc -O2 -static -o "$W/tree/bin/sysloop" "$HERE/sysloop.c"
iscadm pool create --size 1G >/dev/null
iscadm image build loop --from "dir:$W/tree" >/dev/null
iscadm create loop --image loop >/dev/null

measure() {   # seccomp on|off [empty-filter] -> "ppid_ns read_ns" medians over RUNS boots
	iscadm set loop seccomp="$1"
	local p=() r=()
	for i in $(seq 1 "$RUNS"); do
		iscadm boot loop
		out=$(iscadm login loop -- sysloop "$N" /bin/busybox ${2:-})
		iscadm halt loop
		p+=("$(echo "$out" | awk '/getppid/ {print $2}')")
		r+=("$(echo "$out" | awk '/read4k/ {print $2}')")
	done
	echo "$(printf '%s\n' "${p[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")" \
	     "$(printf '%s\n' "${r[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")"
}
read -r on_p on_r < <(measure on)
read -r off_p off_r < <(measure off)
read -r emp_p emp_r < <(measure off empty-filter)
printf '%-16s %12s %12s %14s %9s %12s\n' "loop ($N)" "isc filter" "seccomp off" "empty filter" "on/off" "on/empty"
row() { awk -v n="$1" -v a="$2" -v b="$3" -v c="$4" \
	'BEGIN { printf "%-16s %9.1f ns %9.1f ns %11.1f ns %8.3fx %11.3fx\n", n, a, b, c, a / b, a / c }'; }
row "getppid()" "$on_p" "$off_p" "$emp_p"
row "pread() 4 KiB" "$on_r" "$off_r" "$emp_r"
echo "(best of 5 rounds inside the ISC, median of $RUNS boots; Landlock and MDWE on in all;"
echo " empty filter: seccomp off in isc, the loop installs a one-instruction allow-all filter:"
echo " what any seccomp filter costs a system call on this kernel)"
echo
echo "start-latency cost of confinement (caps, rlimits, no_new_privs, MDWE, Landlock, seccomp + listener):"
"$ISC_BUILD/bench-confine-setup" 300
