#!/bin/bash
# bench/integrity.sh - one run, three parts (issue 13's benchmark, not a test):
#  1. iscadm verify of a debootstrap minbase ISC, warm and cold, against aide --check (sha256)
#     of the same tree (the image's files, mounted read-only);
#  2. image digest throughput (iscadm image verify) against openssl speed -evp sha256 times
#     the cores;
#  3. snapshot, clone, rollback and reset of a halted ISC holding 1 MB and 1 GB of writable
#     data, and a snapshot of it running, against cp -a of the same data.
#
#   bench/integrity.sh                       # needs the Debian archive (debootstrap), aide
#   ISC_BUILD=build-x bench/integrity.sh     # default: build-rel, made here (release, no ASan)
#   RUNS=5 BIG=256 bench/integrity.sh        # runs per figure (median), MB of the large case
#
# Everything lives under one mktemp directory, removed on exit (ISCs, pool, mounts).
set -euo pipefail

RUNS=${RUNS:-3}
BIG=${BIG:-1024}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
. "$SRC/bench/lib.sh"
bench_isc
need=()
for p in aide openssl debootstrap; do command -v $p >/dev/null || need+=($p); done
bench_install ${need[@]+"${need[@]}"}

W=$(mktemp -d /tmp/isc-bench-integrity.XXXXXX)
export ISC_ROOT=$W/root ISC_KEYDIR=$W/keys ASAN_OPTIONS=detect_leaks=0
iscadm() { "$ISCADM" "$@"; }
ISCS="c-d1 c-dbig deb d1 dbig"
cleanup() {
	set +e
	for n in $ISCS; do iscadm halt $n >/dev/null 2>&1; iscadm destroy -f $n >/dev/null 2>&1; done
	umount "$W/tree" 2>/dev/null
	bench_pool_close
	rm -rf "$W"
}
trap cleanup EXIT

ms() { date +%s%N; }
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# time_ms CMD...: the median of RUNS runs, in ms (PREP, if set, runs before each, untimed)
time_ms() {
	local t=() i t0
	for i in $(seq 1 "$RUNS"); do
		[ -n "${PREP:-}" ] && eval "$PREP"
		t0=$(ms)
		"$@" >/dev/null 2>&1 || true
		t+=($(( ($(ms) - t0) / 1000000 )))
	done
	printf '%s\n' "${t[@]}" | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b ? a / b : 0 }'; }

# each 1 GB case holds the data up to 9 times (base, 3 halted and 3 running snapshots, the
# upper, a copy in the pool during a running snapshot)
iscadm pool create --size $((BIG * 12 / 1024 + 4))G >/dev/null

# ---- 1. verify against AIDE -----------------------------------------------------------------
echo "== 1. a debootstrap minbase image and ISC" >&2
iscadm image build deb --from debootstrap:bookworm >/dev/null
iscadm create deb --image deb >/dev/null
digest=$(iscadm get deb image-digest)
mkdir -p "$W/tree"
mount -t erofs -o ro "$ISC_ROOT/pool/images/$digest.erofs" "$W/tree"
files=$(find "$W/tree" -xdev | wc -l)
bytes=$(du -sb "$W/tree" | cut -f1)
cat > "$W/aide.conf" <<EOF
database_in=file:$W/aide.db
database_out=file:$W/aide.db.new
gzip_dbout=no
report_url=stdout
Bench = p+u+g+s+m+n+sha256
$W/tree Bench
EOF
aide --init -c "$W/aide.conf" >/dev/null 2>&1 || true
mv "$W/aide.db.new" "$W/aide.db"
aide --check -c "$W/aide.conf" >/dev/null 2>&1 || { echo "bench: aide --check fails on the tree" >&2; exit 1; }
iscadm verify deb >/dev/null || { echo "bench: iscadm verify deb fails" >&2; exit 1; }
aide_w=$(time_ms aide --check -c "$W/aide.conf")
aide_c=$(PREP=cold time_ms aide --check -c "$W/aide.conf")
ver_w=$(time_ms iscadm verify deb)
ver_c=$(PREP=cold time_ms iscadm verify deb)
umount "$W/tree"
blob=$(stat -c %s "$ISC_ROOT/pool/images/$digest.erofs")

# ---- 2. digest throughput -------------------------------------------------------------------
echo "== 2. digest throughput" >&2
dig_w=$(time_ms iscadm image verify deb)
cores=$(nproc)
ossl=$(openssl speed -evp sha256 -seconds 2 2>/dev/null | awk '/^sha256/ { v = $NF } END { sub(/k$/, "", v); print v }')
ossl_mbs=$(awk -v k="$ossl" 'BEGIN { printf "%.0f", k * 1000 / 1048576 }')
isc_mbs=$(awk -v b="$blob" -v t="$dig_w" 'BEGIN { printf "%.0f", t ? b / 1048576 / (t / 1000) : 0 }')

# ---- 3. snapshot, clone, rollback, reset against cp -a --------------------------------------
# fill NAME MB: boot, write MB of data into /var, halt
fill() {
	iscadm boot "$1" >/dev/null
	iscadm login "$1" -- sh -c "dd if=/dev/urandom of=/var/data bs=1M count=$2 2>/dev/null; sync"
	iscadm halt "$1" >/dev/null
}
snap_row() {   # NAME MB
	local n=$1 mb=$2 upper=$ISC_ROOT/pool/isc/$1/data/layers/var/upper
	iscadm create "$n" --image base >/dev/null
	fill "$n" "$mb"
	local cp s r c rs run
	cp=$(PREP="rm -rf $W/copy; cold" time_ms cp -a "$upper" "$W/copy")
	rm -rf "$W/copy"
	# halted: each run's upper holds the data anew (the last run's went into its snapshot)
	iscadm snapshot "$n@base" --known-good >/dev/null
	s=$(PREP="fill $n $mb" time_ms_named snapshot "$n@h")
	r=$(time_ms iscadm rollback "$n@base")
	c=$(PREP="iscadm destroy c-$n >/dev/null 2>&1 || true" time_ms iscadm clone "$n@base" "c-$n")
	iscadm destroy "c-$n" >/dev/null 2>&1 || true
	rs=$(time_ms iscadm reset "$n")
	# running: the upper holds the data, copied under the freezer each time
	fill "$n" "$mb"
	iscadm boot "$n" >/dev/null
	run=$(time_ms_named snapshot "$n@r")
	iscadm halt "$n" >/dev/null
	printf '%-8s %10s %10s %10s %10s %10s %14s\n' "${mb} MB" "$s ms" "$c ms" "$r ms" "$rs ms" "$cp ms" "$run ms"
	iscadm destroy "$n" >/dev/null
}
# time_ms_named CMD ISC@PREFIX: as time_ms, the snapshot named PREFIX1, PREFIX2, ...
time_ms_named() {
	local t=() i t0
	for i in $(seq 1 "$RUNS"); do
		[ -n "${PREP:-}" ] && eval "$PREP"
		t0=$(ms)
		iscadm "$1" "$2$i" >/dev/null
		t+=($(( ($(ms) - t0) / 1000000 )))
	done
	printf '%s\n' "${t[@]}" | median
}
echo "== 3. snapshots of 1 MB and $BIG MB" >&2
iscadm image build base --from busybox >/dev/null

echo
echo "1. verify ($files files, $((bytes / 1048576)) MB in the tree; image layer $((blob / 1048576)) MB)"
printf '%-22s %10s %10s\n' "" warm cold
printf '%-22s %10s %10s\n' "aide --check (sha256)" "$aide_w ms" "$aide_c ms"
printf '%-22s %10s %10s\n' "iscadm verify" "$ver_w ms" "$ver_c ms"
printf '%-22s %10s %10s\n' "aide / isc" "$(ratio "$aide_w" "$ver_w")" "$(ratio "$aide_c" "$ver_c")"
echo
echo "2. digest throughput: iscadm image verify $isc_mbs MB/s; openssl sha256 $ossl_mbs MB/s x $cores cores" \
	"= $((ossl_mbs * cores)) MB/s; ratio $(ratio "$isc_mbs" "$((ossl_mbs * cores))")"
echo
echo "3. a halted ISC holding 1 MB and $BIG MB in /var (medians of $RUNS)"
printf '%-8s %10s %10s %10s %10s %10s %14s\n' data snapshot clone rollback reset "cp -a" "snap running"
snap_row d1 1
snap_row dbig "$BIG"
echo "(cp -a: of the /var layer's upper, page cache dropped first; snap running: of the ISC booted)"
