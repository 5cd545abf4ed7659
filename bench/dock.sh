#!/bin/bash
# bench/dock.sh - the cost of the dock (issue 14's benchmark, not a test):
#  1. one idle supervisor whose ISC has verify-interval=300: its PSS and RSS, and its CPU over
#     IDLE seconds, beside podman's conmon for an idle container of the same busybox (the peer
#     that watches one container);
#  2. N idle ISCs (default 200): the supervisors' PSS summed, the machine's memory taken, and
#     their CPU over IDLE seconds;
#  3. tamper to quarantine: a program planted in /var of an ISC with verify-interval=1, the time
#     until list says quarantined (RUNS runs, median).
#
#   bench/dock.sh                           # ISC_BUILD default build-rel (release), made here
#   N=50 IDLE=30 RUNS=5 bench/dock.sh
#
# Everything lives under one mktemp directory, removed on exit (ISCs, pool, podman's storage).
set -euo pipefail

N=${N:-200}
IDLE=${IDLE:-60}
RUNS=${RUNS:-5}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
. "$SRC/bench/lib.sh"
bench_isc
command -v podman >/dev/null || bench_install podman

W=$(mktemp -d /tmp/isc-bench-dock.XXXXXX)
export ISC_ROOT=$W/root ISC_KEYDIR=$W/keys
iscadm() { "$ISCADM" "$@"; }
# crun refuses this machine's hybrid cgroups: runc; podman's storage private to this run
PODMAN=(podman --root "$W/podman" --runroot "$W/podman-run" --runtime runc)
PODMAN_CTR=""
CG0=$(bench_podman_cgroups)
cleanup() {
	set +e
	[ -n "$PODMAN_CTR" ] && "${PODMAN[@]}" rm -f -t 0 "$PODMAN_CTR" >/dev/null 2>&1
	[ "$CG0" = 0 ] && bench_podman_cgroups_drop
	iscadm halt -a >/dev/null 2>&1
	for n in $(iscadm list -p 2>/dev/null | cut -d: -f1); do iscadm destroy -f "$n" >/dev/null 2>&1; done
	bench_pool_close
	# podman's storage keeps a mount of its own below $W
	grep " $W/" /proc/self/mountinfo | awk '{ print $5 }' | sort -r | xargs -r -n1 umount -l
	rm -rf "$W"
}
trap cleanup EXIT

kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/smaps_rollup"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
supervisor() { sed -n 's/^supervisor=//p' "/run/isc/$1/state"; }
mem_avail() { awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo; }
HZ=$(getconf CLK_TCK)

iscadm pool create --size 8G >/dev/null
iscadm image build base --from busybox >/dev/null

say "1. one idle supervisor (verify-interval=300) and podman's conmon, ${IDLE} s"
iscadm create one --image base --set verify-interval=300 >/dev/null
iscadm boot one
sleep 3
s=$(supervisor one)
# podman's monitor of one idle container of the same busybox (a rootfs: no registry here; its
# default 1048576 open files is above this machine's hard limit)
mkdir -p "$W/rootfs/bin"
cp /bin/busybox "$W/rootfs/bin/busybox"
for a in sh sleep; do ln -s busybox "$W/rootfs/bin/$a"; done
PODMAN_CTR=$("${PODMAN[@]}" run -d --network none --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 --rootfs "$W/rootfs" /bin/sleep 100000)
sleep 3
c=$(pgrep -f "conmon .*$PODMAN_CTR" | head -1)
[ -n "$c" ] || die "no conmon for $PODMAN_CTR"
t0s=$(ticks "$s"); t0c=$(ticks "$c")
sleep "$IDLE"
cpu_s=$(awk -v a="$(ticks "$s")" -v b="$t0s" -v hz="$HZ" -v t="$IDLE" 'BEGIN { printf "%.3f", (a - b) / hz / t * 100 }')
cpu_c=$(awk -v a="$(ticks "$c")" -v b="$t0c" -v hz="$HZ" -v t="$IDLE" 'BEGIN { printf "%.3f", (a - b) / hz / t * 100 }')
pss_s=$(kb "$s" Pss); rss_s=$(kb "$s" Rss); pss_c=$(kb "$c" Pss); rss_c=$(kb "$c" Rss)
printf '%-34s %9s %9s %9s\n' "" "PSS KiB" "RSS KiB" "CPU %"
printf '%-34s %9s %9s %9s\n' "iscd (verify-interval=300)" "$pss_s" "$rss_s" "$cpu_s"
printf '%-34s %9s %9s %9s\n' "conmon (podman 4.3)" "$pss_c" "$rss_c" "$cpu_c"
printf 'iscd / conmon PSS: %s; iscd PSS / the 1.5 MB target: %s\n' \
	"$(awk -v a="$pss_s" -v b="$pss_c" 'BEGIN { printf "%.2fx", a / b }')" \
	"$(awk -v a="$pss_s" 'BEGIN { printf "%.2fx", a / 1536 }')"
"${PODMAN[@]}" rm -f -t 0 "$PODMAN_CTR" >/dev/null; PODMAN_CTR=""
iscadm halt one

say "2. $N idle ISCs"
m0=$(mem_avail)
t0=$(date +%s)
for i in $(seq 1 "$N"); do
	iscadm create "i$i" --image base --set verify-interval=300 >/dev/null
	iscadm boot "i$i" >/dev/null || die "boot i$i"
	[ $((i % 50)) = 0 ] && printf '  %d booted (%d s)\n' "$i" $(( $(date +%s) - t0 )) >&2
done
sleep 5
pids=$(for i in $(seq 1 "$N"); do supervisor "i$i"; done)
declare -A t0p
for p in $pids; do t0p[$p]=$(ticks "$p"); done
sleep "$IDLE"
sum_pss=0 sum_ticks=0
for p in $pids; do
	sum_pss=$((sum_pss + $(kb "$p" Pss)))
	sum_ticks=$((sum_ticks + $(ticks "$p") - ${t0p[$p]}))
done
m1=$(mem_avail)
printf '%d supervisors: PSS %d KiB in all (%d KiB each), CPU %s%% of one CPU in all over %d s\n' "$N" \
	"$sum_pss" $((sum_pss / N)) "$(awk -v a="$sum_ticks" -v hz="$HZ" -v t="$IDLE" 'BEGIN { printf "%.3f", a / hz / t * 100 }')" "$IDLE"
printf 'the machine: %d MiB less available with %d ISCs running (%d KiB an ISC, its services included)\n' \
	$(( (m0 - m1) / 1024 )) "$N" $(( (m0 - m1) / N ))
t0=$(date +%s)
iscadm halt -a >/dev/null
printf 'halt -a of %d: %d s\n' "$N" $(( $(date +%s) - t0 ))

say "3. tamper to quarantine (verify-interval=1), $RUNS runs"
iscadm create t --image base --set verify-interval=1 >/dev/null
iscadm boot t
U=$ISC_ROOT/pool/isc/t/data/layers/var/upper
times=()
for r in $(seq 1 "$RUNS"); do
	sleep 1.3   # somewhere in the interval
	t0=$(date +%s%N)
	cp /bin/busybox "$U/helper"; chown --reference="$U" "$U/helper"
	until iscadm list -p | grep -q '^t:quarantined:'; do sleep 0.02; done
	times+=($(( ($(date +%s%N) - t0) / 1000000 )))
	rm -f "$U/helper"
	iscadm release t
done
printf 'tamper to quarantine: median %s ms of %s (interval 1 s: expect 0.5 s + the verify + the freeze on average)\n' \
	"$(printf '%s\n' "${times[@]}" | median)" "${times[*]}"
iscadm halt t
