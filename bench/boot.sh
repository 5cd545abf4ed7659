#!/bin/bash
# bench/boot.sh - boot until the service answers (issue 17's boot figure, not a test):
#  - isc: `iscadm boot` of a busybox ISC, then until its httpd service accepts a TCP connection
#    on port 80 inside the ISC's network namespace; and `iscadm reboot` of it to the same point;
#  - systemd-nspawn booting the same tree (copied out of the same erofs image) to the same point:
#    busybox httpd started as the container's command, read-only root, private network.
# Each figure is the median of RUNS (default 20) in milliseconds; ratios against nspawn (the
# target: isc at most 0.5x).  The probe is the same for both: bench-probe (bench/probe.c) enters
# the namespace and connects every 200 us, with no process of its own per try.
#
#   bench/boot.sh                # ISC_BUILD default build-rel (release), made here
#   RUNS=50 bench/boot.sh
#
# Everything lives under one mktemp directory, removed on exit (the ISC, its pool, the tree).
set -euo pipefail

RUNS=${RUNS:-20}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
. "$SRC/bench/lib.sh"
bench_isc
command -v systemd-nspawn >/dev/null || bench_install systemd-container

W=$(mktemp -d /tmp/isc-bench-boot.XXXXXX)
export ISC_ROOT=$W/root ISC_KEYDIR=$W/keys
iscadm() { "$ISCADM" "$@"; }
NSPAWN_HAD=""
for d in payload supervisor; do [ -d "/sys/fs/cgroup/unified/$d" ] && NSPAWN_HAD="$NSPAWN_HAD $d"; done
NS_PID=""
cleanup() {
	set +e
	[ -n "$NS_PID" ] && { kill "$NS_PID"; wait "$NS_PID"; } 2>/dev/null
	iscadm halt b >/dev/null 2>&1
	iscadm destroy -f b >/dev/null 2>&1
	mountpoint -q "$W/mnt" 2>/dev/null && umount "$W/mnt"
	bench_pool_close
	for d in payload supervisor; do   # what nspawn makes at the unified root without systemd
		case " $NSPAWN_HAD " in *" $d "*) continue ;; esac
		[ -d "/sys/fs/cgroup/unified/$d" ] && rmdir "/sys/fs/cgroup/unified/$d" 2>/dev/null
	done
	rm -rf "$W"
}
trap cleanup EXIT

PROBE=$(dirname "$ISCADM")/bench-probe
[ -x "$PROBE" ] || die "no $PROBE"
# bash's own clock (no date process, no subshell: a fork costs about 1 ms on
# this VM, and it used to land inside every measured interval, both peers')
now_us() { local t=${EPOCHREALTIME/./}; US=$((10#$t)); }
init_pid() { sed -n 's/^pid=//p' "/run/isc/$1/state" 2>/dev/null; }
wait_isc() { "$PROBE" --state /run/isc/b/state "$@" 80 || die "the ISC's httpd never answered"; }

iscadm pool create --size 1G >/dev/null
iscadm image build base --from busybox >/dev/null
iscadm create b --image base >/dev/null
IMG=$(ls "$ISC_ROOT"/pool/images/*.erofs)
mkdir -p "$W/mnt" "$W/tree"
mount -t erofs -o ro,loop "$IMG" "$W/mnt"
cp -a "$W/mnt/." "$W/tree"
umount "$W/mnt"
[ -e "$W/tree/var/www/index.html" ] || die "the tree has no /var/www/index.html"

say "isc: boot until httpd answers, $RUNS runs"
iscadm boot b; wait_isc; iscadm halt b   # warm: the verification cache, the shared mount
boot=()
for _ in $(seq "$RUNS"); do
	now_us; t0=$US
	iscadm boot b
	wait_isc
	now_us; boot+=($((US - t0)))
	iscadm halt b
done

say "isc: reboot until httpd answers, $RUNS runs"
iscadm boot b; wait_isc
reboot=()
for _ in $(seq "$RUNS"); do
	old=$(init_pid b)
	now_us; t0=$US
	iscadm reboot b
	wait_isc --not "$old"
	now_us; reboot+=($((US - t0)))
done
iscadm halt b

say "systemd-nspawn: the same tree, httpd as its command, until it answers, $RUNS runs"
NSPAWN=(systemd-nspawn --read-only --private-network -q -D "$W/tree")
# without systemd as PID 1 (no bus) nspawn needs these; the same as bench/start.sh
if ! "${NSPAWN[@]}" /bin/true >/dev/null 2>&1; then
	NSPAWN+=(--register=no --keep-unit --timezone=off)
	"${NSPAWN[@]}" /bin/true >/dev/null 2>&1 || die "systemd-nspawn cannot run here"
fi
nsp=()
for _ in $(seq "$RUNS"); do
	now_us; t0=$US
	"${NSPAWN[@]}" /usr/sbin/httpd -f -p 80 -h /var/www >/dev/null 2>&1 & NS_PID=$!
	"$PROBE" --cmd "/usr/sbin/httpd -f -p 80 -h /var/www" 80 || die "nspawn's httpd never answered"
	now_us; nsp+=($((US - t0)))
	kill "$NS_PID"; wait "$NS_PID" 2>/dev/null || true; NS_PID=""
done

mb=$(printf '%s\n' "${boot[@]}" | median) mr=$(printf '%s\n' "${reboot[@]}" | median)
mn=$(printf '%s\n' "${nsp[@]}" | median)
{
	echo
	echo "boot until the service answers, medians of $RUNS, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) cpus"
	awk -v b="$mb" -v r="$mr" -v n="$mn" 'BEGIN {
		printf "%-40s %9.1f ms   %5.2fx nspawn\n", "isc boot (busybox ISC, httpd)", b / 1000, b / n
		printf "%-40s %9.1f ms   %5.2fx nspawn\n", "isc reboot", r / 1000, r / n
		printf "%-40s %9.1f ms\n", "systemd-nspawn (same tree, httpd)", n / 1000
		printf "target: isc at most 0.50x nspawn\n" }'
} | tee "$W/boot.txt"
