#!/bin/bash
# bench/send.sh - one run (issue 15's benchmark, not a test): an ISC holding BIG MB in /var,
# snapshotted; with the page cache dropped before each figure:
#  - the read ceiling: cat of the snapshot's frozen files (read through fscrypt) to /dev/null;
#  - tar -c of the same files to /dev/null;
#  - iscadm send (plain) and send --raw to /dev/null;
#  - send | receive into a second pool, plain and raw, against tar -c | tar -x of the same files
#    into an encrypted directory of that pool.
# Figures in MB/s of the ISC's data (BIG MB), and ratios to the read ceiling.
#
#   bench/send.sh                    # BIG=1024 by default
#   BIG=256 ISC_BUILD=build-x bench/send.sh
#
# Everything lives under one mktemp directory, removed on exit (ISCs, pools, mounts).
set -euo pipefail

BIG=${BIG:-1024}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
. "$SRC/bench/lib.sh"
bench_isc

W=$(mktemp -d /tmp/isc-bench-send.XXXXXX)
export ISC_KEYDIR=$W/keys ASAN_OPTIONS=detect_leaks=0
A=$W/a B=$W/b
ia() { ISC_ROOT=$A "$ISCADM" "$@"; }
ib() { ISC_ROOT=$B "$ISCADM" "$@"; }
cleanup() {
	set +e
	for n in big; do ia halt $n >/dev/null 2>&1; ia destroy -f $n >/dev/null 2>&1; done
	for n in rp rr; do ib destroy -f $n >/dev/null 2>&1; done
	rm -rf "$B/pool/images/.bench-tar" 2>/dev/null
	# the host-wide verification records of these pools' images
	for f in "$A"/pool/images/*.erofs "$B"/pool/images/*.erofs; do
		[ -e "$f" ] && rm -f "/run/isc/verified/$(basename "$f" .erofs)"
	done
	ISC_ROOT=$B bench_pool_close
	ISC_ROOT=$A bench_pool_close
	rm -rf "$W"
}
trap cleanup EXIT

ms() { date +%s%N; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# rate MS: MB/s of the BIG MB moved in MS milliseconds
rate() { awk -v mb="$BIG" -v ms="$1" 'BEGIN { printf "%.0f", mb * 1000 / ms }'; }
timed() { local t0; drop; t0=$(ms); "$@"; echo $(( ($(ms) - t0) / 1000000 )); }

say "two pools, an ISC with $BIG MB in /var (files of 4 MB)"
size=$(( BIG * 2 + 1024 ))M
ISC_ROOT=$A "$ISCADM" pool create --size "$size" >/dev/null
ISC_ROOT=$B "$ISCADM" pool create --size "$size" >/dev/null
ia image build base --from busybox >/dev/null
ia create big --image base >/dev/null
ia boot big >/dev/null
ia login big -- sh -c "mkdir -p /var/bench && i=0; while [ \$i -lt $((BIG / 4)) ]; do
	dd if=/dev/urandom of=/var/bench/f\$i bs=1M count=4 2>/dev/null; i=\$((i + 1)); done"
ia halt big >/dev/null
ia snapshot big@s >/dev/null
FROZEN=$(ls -d "$A"/pool/isc/big/data/layers/var/frozen/* | head -1)
[ -d "$FROZEN/bench" ] || die "no frozen layer with the data"

say "reading: cat (the ceiling), tar -c, send, send --raw; all to /dev/null, caches dropped"
t_cat=$(timed sh -c "cat '$FROZEN'/bench/* > /dev/null")
# (through cat: GNU tar reads nothing when its archive is /dev/null)
t_tar=$(timed sh -c "tar -C '$FROZEN' -cf - bench | cat > /dev/null")
t_send=$(timed sh -c "ISC_ROOT=$A '$ISCADM' send big@s > /dev/null")
t_raw=$(timed sh -c "ISC_ROOT=$A '$ISCADM' send --raw big@s > /dev/null")

say "send | receive into the second pool, plain and raw; tar -c | tar -x into an encrypted directory there"
cp "$ISC_KEYDIR/big.key" "$W/moved.key"
mkdir "$B/pool/images/.bench-tar"
t_tt=$(timed sh -c "tar -C '$FROZEN' -cf - bench | tar -C '$B/pool/images/.bench-tar' -xf -; sync")
rm -rf "$B/pool/images/.bench-tar"
t_sr=$(timed sh -c "ISC_ROOT=$A '$ISCADM' send big@s | ISC_ROOT=$B '$ISCADM' receive rp >/dev/null; sync")
ib destroy -f rp >/dev/null
t_srr=$(timed sh -c "ISC_ROOT=$A '$ISCADM' send --raw big@s | ISC_ROOT=$B '$ISCADM' receive rr --key raw,file://$W/moved.key >/dev/null; sync")

ceil=$(rate "$t_cat")
ratio() { awk -v a="$(rate "$1")" -v c="$ceil" 'BEGIN { printf "%.2f", a / c }'; }
printf '\nsend of %s MB (one run, caches dropped before each; MB/s of the data, ratio to cat)\n' "$BIG"
printf '  %-34s %6s MB/s  %s\n' "cat (read ceiling)" "$ceil" "1.00"
printf '  %-34s %6s MB/s  %s\n' "tar -c > /dev/null" "$(rate "$t_tar")" "$(ratio "$t_tar")"
printf '  %-34s %6s MB/s  %s\n' "iscadm send > /dev/null" "$(rate "$t_send")" "$(ratio "$t_send")"
printf '  %-34s %6s MB/s  %s   (target >= 0.8)\n' "iscadm send --raw > /dev/null" "$(rate "$t_raw")" "$(ratio "$t_raw")"
printf '  %-34s %6s MB/s  %s\n' "tar -c | tar -x (encrypted)" "$(rate "$t_tt")" "$(ratio "$t_tt")"
printf '  %-34s %6s MB/s  %s\n' "send | receive" "$(rate "$t_sr")" "$(ratio "$t_sr")"
printf '  %-34s %6s MB/s  %s\n' "send --raw | receive" "$(rate "$t_srr")" "$(ratio "$t_srr")"
