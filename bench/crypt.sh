#!/bin/bash
# bench/crypt.sh - what encryption at rest costs: fio inside an ISC on its encrypted /var/tmp (an
# overlay upper in the ISC's fscrypt directory) against the same job on the host in an unencrypted
# directory of the same pool; cold and warm boots of a Debian image (read and verified once per
# host boot, then cached); key change and key load times; which driver serves xts(aes), and what
# AES-NI is worth to it (bench/aesni.sh: AES-256-XTS with and without the CPU's AES instructions).
#
#   bench/crypt.sh                  # SIZE=256M KEYRUNS=10; needs the Debian archive (debootstrap, ~40 s)
#   ISC_BUILD=build-x bench/crypt.sh
# A benchmark, not a test: it prints figures and ratios.  Everything (ISC root, keys, pool and its
# loop device) lives under one mktemp directory and is removed on exit, Ctrl-C included.
set -euo pipefail

SIZE=${SIZE:-256M}
KEYRUNS=${KEYRUNS:-10}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
. "$SRC/bench/lib.sh"
case ${ISC_BUILD:=build} in /*) ;; *) ISC_BUILD=$SRC/$ISC_BUILD ;; esac
ISCADM=$ISC_BUILD/iscadm
[ "$(id -u)" = 0 ] || die "run as root"
[ -x "$ISCADM" ] || die "no $ISCADM (make build)"
for c in fio jq; do command -v $c >/dev/null || die "$c missing (make bench installs it)"; done

T0=$(date +%s)
W=$(mktemp -d /tmp/isc-bench-crypt.XXXXXX)
export ISC_ROOT=$W/root ISC_KEYDIR=$W/keys ASAN_OPTIONS=detect_leaks=0
mkdir -m 700 "$ISC_KEYDIR"
DIGEST=
iscadm() { "$ISCADM" "$@"; }
cleanup() {
	local rc=$?
	set +e
	if [ -e "$ISC_ROOT/pool.img" ]; then
		iscadm halt fio >/dev/null 2>&1; iscadm destroy -f fio >/dev/null 2>&1
		bench_pool_close
	fi
	# the cold boot below removed and re-made this record; the image dies with the root
	[ -n "$DIGEST" ] && rm -f "/run/isc/verified/$DIGEST"
	if grep -q " $ISC_ROOT/pool " /proc/self/mountinfo; then
		echo "bench: $ISC_ROOT/pool still mounted, leaving $W" >&2
	else
		rm -rf "$W"
	fi
	left=$(losetup -a | grep -F "$W/" || true)
	[ -z "$left" ] || { echo "bench: WARNING: loop devices of this run left:" >&2; echo "$left" >&2; rc=1; }
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
now() { date +%s%N; }
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
med() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

echo "== pool, and an image from debootstrap:bookworm:fio (about 40 s)" >&2
iscadm pool create --size 4G >/dev/null
iscadm image build deb --from debootstrap:bookworm:fio >/dev/null
iscadm create fio --image deb >/dev/null          # default: fixed-configuration, generated raw key
DIGEST=$(iscadm get fio image-digest)
isize=$(du -m "$ISC_ROOT/pool/images/$DIGEST.erofs" | cut -f1)
PLAIN=$ISC_ROOT/pool/tmp/plain
mkdir -p "$PLAIN"

# fio RW NAME: one job, psync, page cache (direct=0); sequential jobs in 1M blocks, random in 4k.
# Writes end with an fsync, so both sides pay for getting the data to the disk.
job() {
	echo "--name=$2 --rw=$1 --bs=$([ "$1" = randread ] && echo 4k || echo 1M) --size=$SIZE" \
	     "--ioengine=psync --direct=0 --numjobs=1 --output-format=json" \
	     "$([ "$1" = write ] && echo --end_fsync=1)"
}
fio_in() { iscadm login fio -- fio $(job "$1" "$2") --filename=/var/tmp/fio.dat; }   # encrypted
fio_out() { fio $(job "$1" "$2") --filename="$PLAIN/fio.dat"; }                       # plain
bw() { jq -r --arg k "$1" '.jobs[0][$k].bw_bytes / 1e6 | floor'; }
iops() { jq -r '.jobs[0].read.iops | floor'; }

iscadm boot fio
# What the two sides really are: the ISC's /var/tmp must be an overlay whose upper lies in an
# encrypted directory, the host's directory must not be encrypted (lsattr's E flag).
vfs=$(iscadm login fio -- stat -f -c %T /var/tmp)
encflag() { lsattr -d "$1" 2>/dev/null | awk '{print ($1 ~ /E/) ? "encrypted" : "not encrypted"}'; }
echo "ISC /var/tmp: $vfs; ISC data dir: $(encflag "$ISC_ROOT/pool/isc/fio/data"); host $PLAIN: $(encflag "$PLAIN")" >&2
[ "$(encflag "$PLAIN")" = "not encrypted" ] || die "$PLAIN is encrypted: no plain baseline"

echo "== fio, $SIZE: encrypted (inside the ISC, /var/tmp) and plain (host, same pool)" >&2
ew=$(fio_in write w | bw write);           pw=$(fio_out write w | bw write)
cold; er=$(fio_in read r | bw read);       cold; pr=$(fio_out read r | bw read)
cold; ei=$(fio_in randread rr | iops);     cold; pi=$(fio_out randread rr | iops)
iscadm login fio -- rm -f /var/tmp/fio.dat; rm -f "$PLAIN/fio.dat"
iscadm halt fio

# The xts(aes) implementation fscrypt gets is the highest-priority xts(aes) entry of /proc/crypto
# (read after fscrypt has used it: the kernel lists a template instance once it is made).
read -r prio driver < <(awk '/^name/ {n=$3} /^driver/ {d=$3} /^priority/ {p=$3}
	/^$/ { if (n == "xts(aes)") print p, d; n = "" } END { if (n == "xts(aes)") print p, d }' \
	/proc/crypto | sort -rn | head -1) || true
case "${driver:=none loaded}" in
*aesni*|*aes-ni*|*vaes*) accel="AES-NI: hardware AES" ;;
*-ce*|*neon*)            accel="no AES-NI, but ARM crypto extensions" ;;
*)                       accel="no AES-NI: generic software AES" ;;
esac

echo "== boots of the ${isize} MB image: cold (read + hashed) and warm (verification cached)" >&2
rm -f "/run/isc/verified/$DIGEST"; cold
t0=$(now); iscadm boot fio; tcold=$(( ($(now) - t0) / 1000000 )); iscadm halt fio
[ -e "/run/isc/verified/$DIGEST" ] || echo "bench: no verification record after the cold boot" >&2
t0=$(now); iscadm boot fio; twarm=$(( ($(now) - t0) / 1000000 )); iscadm halt fio

echo "== key change (raw file -> raw file) and key load (after unload), $KEYRUNS times" >&2
kc=() kl=()
for i in $(seq 1 "$KEYRUNS"); do
	head -c 32 /dev/urandom >"$ISC_KEYDIR/k$i"; chmod 600 "$ISC_KEYDIR/k$i"
	t0=$(now); iscadm key change fio --key "raw,file://$ISC_KEYDIR/k$i"; kc+=($(( ($(now) - t0) / 1000 )))
	iscadm key unload fio
	t0=$(now); iscadm key load fio; kl+=($(( ($(now) - t0) / 1000 )))
done
msf() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "xts(aes) driver: $driver (priority ${prio:-?}; $accel)"
echo "encrypted: ISC's /var/tmp ($vfs, upper on fscrypt v2 AES-256-XTS); plain: host, pool/tmp/plain (same ext4)"
printf '%-28s %14s %14s %10s\n' "fio, $SIZE, 1 job" encrypted plain enc/plain
printf '%-28s %9s MB/s %9s MB/s %10s\n' "sequential write (1M)" "$ew" "$pw" "$(ratio "$ew" "$pw")"
printf '%-28s %9s MB/s %9s MB/s %10s\n' "sequential read, cold (1M)" "$er" "$pr" "$(ratio "$er" "$pr")"
printf '%-28s %9s IOPS %9s IOPS %10s\n' "random read 4k, cold" "$ei" "$pi" "$(ratio "$ei" "$pi")"
awk -v a="$ei" -v b="$pi" 'BEGIN { printf "%-28s %9.1f MB/s %9.1f MB/s\n", "  (as MB/s)", a * 4096 / 1e6, b * 4096 / 1e6 }'
echo "iscadm boot of the $isize MB image: cold (read + SHA-256) $tcold ms, warm (cache valid) $twarm ms"
echo "key change: median $(msf "$(med "${kc[@]}")") ms (min $(msf "$(printf '%s\n' "${kc[@]}" | sort -n | head -1)")), key load: median $(msf "$(med "${kl[@]}")") ms (min $(msf "$(printf '%s\n' "${kl[@]}" | sort -n | head -1)")); $KEYRUNS runs, raw key files"
echo "xts(aes) with and without AES-NI (bench/aesni.sh):"
ISC_BUILD=$ISC_BUILD "$HERE/aesni.sh" | sed 's/^/  /' || echo "  bench/aesni.sh failed"
echo "total run: $(( $(date +%s) - T0 )) s"
