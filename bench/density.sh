#!/bin/bash
# bench/density.sh - how many ISCs one machine holds (issue 17's density, not a test): boots N
# busybox ISCs one after another and prints
#  - the boot time of the first and the last (create excluded; `iscadm boot` until the ISC runs),
#    the median of the first and last ten, and their ratio (target: the last within 1.2x);
#  - the host memory each idle ISC takes beyond its own cgroup: the fall of MemAvailable with N
#    running, less what their cgroups hold (the ISC's processes and the page cache charged to it),
#    divided by N (target: at most 1.5 MB); and the supervisors' PSS each.
#
#   bench/density.sh            # N=500; ISC_BUILD default build-rel (release), made here
#   bench/density.sh 100        # N as the argument
#
# Everything lives under one mktemp directory, removed on exit (ISCs, pool, keys).
set -euo pipefail

N=${1:-${N:-500}}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
. "$SRC/bench/lib.sh"
bench_isc

W=$(mktemp -d /tmp/isc-bench-density.XXXXXX)
export ISC_ROOT=$W/root ISC_KEYDIR=$W/keys
iscadm() { "$ISCADM" "$@"; }
cleanup() {
	set +e
	iscadm halt -a >/dev/null 2>&1
	for n in $(iscadm list -p 2>/dev/null | cut -d: -f1); do iscadm destroy -f "$n" >/dev/null 2>&1; done
	bench_pool_close
	rm -rf "$W"
}
trap cleanup EXIT

mem_avail() { awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo; }
# the kernel's own memory, KiB: what a running ISC costs beyond its processes' pages
KMEM="SUnreclaim SReclaimable KernelStack PageTables Percpu Buffers"
kmem() { local f; for f in $KMEM; do awk -v f="$f:" '$1 == f { printf "%s ", $2 }' /proc/meminfo; done; }
# bytes an ISC's own cgroup holds (v2 memory.current, or v1 memory.usage_in_bytes)
cg_bytes() {
	local f
	for f in /sys/fs/cgroup/isc/$1/memory.current /sys/fs/cgroup/isc.slice/isc-$1.scope/isc/memory.current \
		/sys/fs/cgroup/memory/isc/$1/memory.usage_in_bytes; do
		[ -r "$f" ] && { cat "$f"; return; }
	done
	echo 0
}
supervisor() { sed -n 's/^supervisor=//p' "/run/isc/$1/state"; }
pss() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup"; }

# a pool large enough for N ISCs' layers (each a few MB at most while idle)
iscadm pool create --size "$(( 2 + N / 64 ))G" >/dev/null
iscadm image build base --from busybox >/dev/null
say "creating $N ISCs"
for i in $(seq 1 "$N"); do iscadm create "d$i" --image base >/dev/null; done
sync; echo 1 > /proc/sys/vm/drop_caches; sleep 2
m0=$(mem_avail)
k0=($(kmem))

say "booting $N ISCs one after another"
times=()
for i in $(seq 1 "$N"); do
	t0=$(date +%s%N)
	iscadm boot "d$i" >/dev/null || die "boot d$i"
	times+=($(( ($(date +%s%N) - t0) / 1000 )))
	[ $((i % 100)) = 0 ] && printf '  %d booted\n' "$i" >&2
done
sleep 5
m1=$(mem_avail)
k1=($(kmem))
cg=0 sp=0
for i in $(seq 1 "$N"); do
	cg=$((cg + $(cg_bytes "d$i")))
	sp=$((sp + $(pss "$(supervisor "d$i")")))
done

first=${times[0]} last=${times[$((N - 1))]}
k=$(( N < 20 ? 1 : 10 ))
head10=$(printf '%s\n' "${times[@]:0:$k}" | median)
tail10=$(printf '%s\n' "${times[@]:$((N - k)):$k}" | median)
taken=$(( (m0 - m1) ))            # KiB
beyond=$(( taken - cg / 1024 ))   # KiB
{
	echo
	echo "density: $N busybox ISCs booted one after another, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) cpus"
	printf 'boot time: first %.1f ms, last %.1f ms; median of the first %d %.1f ms, of the last %d %.1f ms: last/first %.2fx (target <= 1.2x)\n' \
		"$(awk -v t="$first" 'BEGIN { print t / 1000 }')" "$(awk -v t="$last" 'BEGIN { print t / 1000 }')" \
		"$k" "$(awk -v t="$head10" 'BEGIN { print t / 1000 }')" "$k" "$(awk -v t="$tail10" 'BEGIN { print t / 1000 }')" \
		"$(awk -v a="$tail10" -v b="$head10" 'BEGIN { print a / b }')"
	printf 'memory: %d MiB less available with %d running; their cgroups hold %d MiB\n' $((taken / 1024)) "$N" $((cg / 1048576))
	printf 'per ISC beyond its cgroup: %d KiB (target <= 1536 KiB: %.2fx); supervisor PSS %d KiB each\n' \
		$((beyond / N)) "$(awk -v a="$beyond" -v n="$N" 'BEGIN { print a / n / 1536 }')" $((sp / N))
	printf 'kernel memory per ISC (/proc/meminfo, KiB):'
	j=0
	for f in $KMEM; do printf ' %s %d' "$f" $(( (k1[j] - k0[j]) / N )); j=$((j + 1)); done
	echo
} | tee "$W/density.txt"
t0=$(date +%s)
iscadm halt -a >/dev/null
printf 'halt -a of %d: %d s\n' "$N" $(( $(date +%s) - t0 ))
