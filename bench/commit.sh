#!/bin/bash
# bench/commit.sh - time to commit a -w session that changed one small file, against a bare
# mkfs.erofs of the same merged tree, on the busybox image and a debootstrap minbase image.
#
#   bench/commit.sh                 # RUNS=3 by default; needs the Debian archive for debootstrap
#   ISC_BUILD=build-x bench/commit.sh
#   NO_DEBOOTSTRAP=1 bench/commit.sh  # busybox only
#
# commit = (halt of a -w boot with one changed file) - (halt of a -w boot with no change):
# the halt itself (TERM to isc-init, teardown) is the same in both and is taken out.
# mkfs   = mkfs.erofs -zlz4hc (the options isc uses) of the committed version's whole tree: its
#          layers (a delta per commit, on the image) mounted as one read-only overlay.
# layer  = size of the delta layer the last commit stored.
# Everything lives under one mktemp directory, removed on exit.
set -euo pipefail

RUNS=${RUNS:-3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
. "$SRC/bench/lib.sh"
case ${ISC_BUILD:=build} in /*) ;; *) ISC_BUILD=$SRC/$ISC_BUILD ;; esac
ISCADM=$ISC_BUILD/iscadm
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
[ -x "$ISCADM" ] || { echo "bench: no $ISCADM (make build)" >&2; exit 1; }
command -v mkfs.erofs >/dev/null || { echo "bench: mkfs.erofs missing (make deps)" >&2; exit 1; }

W=$(mktemp -d /tmp/isc-bench-commit.XXXXXX)
export ISC_ROOT=$W/root ISC_KEYDIR=$W/keys ASAN_OPTIONS=detect_leaks=0
iscadm() { "$ISCADM" "$@"; }
cleanup() {
	set +e
	for n in bb deb; do iscadm halt $n >/dev/null 2>&1; iscadm destroy -f $n >/dev/null 2>&1; done
	umount "$W/mnt" 2>/dev/null
	for l in "$W"/l[0-9]*; do umount "$l" 2>/dev/null; done
	bench_pool_close
	rm -rf "$W"
}
trap cleanup EXIT

ms() { date +%s%N; }

# halt_ms ISC CHANGE: boot -w, change one small file (or nothing), time the halt
halt_ms() {
	iscadm boot -w "$1" >/dev/null
	[ "$2" = 1 ] && iscadm login "$1" -- sh -c "date +%s%N > /etc/bench-change"
	local t0; t0=$(ms)
	iscadm halt "$1"
	echo $(( ($(ms) - t0) / 1000000 ))
}

bench_one() {   # NAME SOURCE
	local n=$1 src=$2
	echo "== $n: image from $src" >&2
	iscadm image build "$n-img" --from "$src" >/dev/null
	iscadm create "$n" --image "$n-img" >/dev/null
	local with=() without=() mk=()
	for i in $(seq 1 "$RUNS"); do
		with+=("$(halt_ms "$n" 1)")
		without+=("$(halt_ms "$n" 0)")
	done
	# the committed version's whole tree (its layers, top first, stacked read-only),
	# and a bare mkfs.erofs of it
	local digest; digest=$(iscadm get "$n" image-digest)
	local cfg=$ISC_ROOT/pool/isc/$n/config d=$digest lowers="" k=0
	while [ -n "$d" ]; do
		mkdir -p "$W/l$k"
		mount -t erofs -o ro "$ISC_ROOT/pool/images/$d.erofs" "$W/l$k"
		lowers="$lowers${lowers:+:}$W/l$k"; k=$((k + 1))
		d=$(grep "^version=$d," "$cfg" | tail -1 | cut -d, -f5)
	done
	mkdir -p "$W/mnt"
	if [ "$k" -gt 1 ]; then mount -t overlay "isc-bench" -o "ro,lowerdir=$lowers" "$W/mnt"
	else mount --bind "$W/l0" "$W/mnt"; fi
	for i in $(seq 1 "$RUNS"); do
		sync; echo 3 > /proc/sys/vm/drop_caches
		local t0; t0=$(ms)
		mkfs.erofs --quiet -zlz4hc "$W/bare.erofs" "$W/mnt" >/dev/null
		mk+=($(( ($(ms) - t0) / 1000000 )))
		rm -f "$W/bare.erofs"
	done
	local size; size=$(du -sh "$W/mnt" | cut -f1)
	umount "$W/mnt"
	for i in $(seq 0 $((k - 1))); do umount "$W/l$i"; done
	local w wo m layer
	w=$(printf '%s\n' "${with[@]}" | median)
	wo=$(printf '%s\n' "${without[@]}" | median)
	m=$(printf '%s\n' "${mk[@]}" | median)
	layer=$(stat -c %s "$ISC_ROOT/pool/images/$digest.erofs")
	local c=$(( w - wo ))
	printf '%-10s %8s %14s %14s %10s %12s %10s\n' "$n" "$size" "${w} ms" "${c} ms" "$((layer / 1024))K" \
		"${m} ms" "$(awk -v c="$c" -v m="$m" 'BEGIN { printf "%.3fx", m ? c / m : 0 }')"
	# the commit that finds 8 layers squashes the deltas into one on the base (or, were
	# they big next to it, writes the whole tree): commit until the stack is 8 deep, then
	# time that one
	local f=0 d k
	for i in $(seq 1 8); do
		d=$(iscadm get "$n" image-digest); k=0
		while [ -n "$d" ]; do k=$((k + 1)); d=$(grep "^version=$d," "$cfg" | tail -1 | cut -d, -f5); done
		[ "$k" -ge 8 ] && break
		halt_ms "$n" 1 >/dev/null
	done
	f=$(halt_ms "$n" 1)
	digest=$(iscadm get "$n" image-digest)
	local kind=whole
	grep '^version=' "$cfg" | tail -1 | grep -q '^version=.*,[0-9a-f]\{64\}$' && kind=squash
	layer=$(stat -c %s "$ISC_ROOT/pool/images/$digest.erofs")
	c=$(( f - wo ))
	printf '%-10s %8s %14s %14s %10s %12s %10s\n' "$n, 8th" "$size" "${f} ms" "${c} ms" \
		"$((layer / 1024))K $kind" "${m} ms" "$(awk -v c="$c" -v m="$m" 'BEGIN { printf "%.3fx", m ? c / m : 0 }')"
}

iscadm pool create --size 4G >/dev/null
printf '%-10s %8s %14s %14s %10s %12s %10s\n' image tree "halt+commit" commit layer "mkfs.erofs" "commit/mkfs"
bench_one bb busybox
if [ -z "${NO_DEBOOTSTRAP:-}" ]; then
	bench_one deb debootstrap:bookworm
fi
echo "(medians of $RUNS; commit = halt with one changed file minus halt with none; \"8th\": the"
echo " commit on a version of 8 layers, which squashes its deltas into one on the base, one run)"
