#!/bin/bash
# bench/verity.sh - what a cold boot pays to verify an image: isc's way today (read the whole erofs
# file and SHA-256 it, then cache the result) against fs-verity on the pool's ext4 (the file's
# digest checked once in O(1), then every page verified against the Merkle tree as it is read).
# Builds an erofs image of a real tree on an ext4 made with -O verity on a loop file, enables
# verity on it (timed once: what an import would pay) but not on a plain copy beside it, and times
# in the same rounds, each from cold caches: (a) read + SHA-256 of the copy (isc's
# image_sha256_fd), the copy's boot (loop + mount + reading the files a boot reads), (b) the same
# boot of the verity file after FS_IOC_MEASURE_VERITY, (c) a full read of the verity file.
#
#   bench/verity.sh                 # as root; TREE=/usr RUNS=5
#   TREE=/srv/rootfs EXCLUDE='^$' BOOT_FILES="bin/sh lib/libc.so.6" bench/verity.sh
#   VM_KERNELS=bookworm VM_TESTS=bench/verity.sh VM_TEST_TIMEOUT=1800 make check-vm
# Needs ext4 with verity (CONFIG_FS_VERITY), erofs, loop devices, fsverity (fsverity-utils),
# mkfs.erofs, mkfs.ext4; exits 77 saying why where the kernel has no ext4 verity.  A benchmark,
# not a test: it prints times and ratios.  Everything it makes (loop devices, mounts, the mktemp
# directory) is removed on exit, failure and Ctrl-C included.
set -euo pipefail

TREE=${TREE:-/usr}
# kernel modules are no part of a service image (a debootstrap image has none)
EXCLUDE=${EXCLUDE:-^lib/modules(/|$)}
RUNS=${RUNS:-5}
# What a boot reads, relative to TREE (defaults: a /usr tree): a shell and bash with the dynamic
# loader and the libraries they map, the OS release and the shell's start-up files.
BOOT_FILES=${BOOT_FILES:-bin/dash bin/bash lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
	lib/x86_64-linux-gnu/libc.so.6 lib/x86_64-linux-gnu/libtinfo.so.6 lib/os-release
	share/base-files/profile share/base-files/dot.bashrc share/base-files/dot.profile}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
case ${ISC_BUILD:=build} in /*) ;; *) ISC_BUILD=$SRC/$ISC_BUILD ;; esac
HASHER=$ISC_BUILD/bench-cryptspeed
die() { echo "bench: $*" >&2; exit 1; }
skip() { echo "bench: verity: skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || die "run as root"
# ext4 lists verity here when the kernel was built with CONFIG_FS_VERITY
[ -e /sys/fs/ext4/features/verity ] ||
	skip "this kernel ($(uname -r)) has no ext4 verity (/sys/fs/ext4/features/verity; CONFIG_FS_VERITY)"
for c in fsverity mkfs.erofs mkfs.ext4 losetup; do command -v $c >/dev/null || die "$c missing"; done
[ -d "$TREE" ] || die "no tree $TREE"
if [ -x "$HASHER" ]; then
	hash_what="isc's image_sha256_fd (OpenSSL, $HASHER)"
	measure_what="FS_IOC_MEASURE_VERITY, timed in the process (what isc would call)"
else
	hash_what="sha256sum (no $HASHER: build first for isc's own hash)"
	measure_what="the fsverity command, exec included (no $HASHER)"
	HASHER=''
fi

T0=$(date +%s)
W=$(mktemp -d /tmp/isc-bench-verity.XXXXXX)
FS=$W/fs MNT=$W/mnt FSDEV='' IMGDEV=''
cleanup() {
	local rc=$?
	set +e
	mountpoint -q "$MNT" && umount "$MNT"
	[ -n "$IMGDEV" ] && losetup -d "$IMGDEV" 2>/dev/null
	mountpoint -q "$FS" && umount "$FS"
	[ -n "$FSDEV" ] && losetup -d "$FSDEV" 2>/dev/null
	if mountpoint -q "$FS" || mountpoint -q "$MNT"; then
		echo "bench: still mounted, leaving $W" >&2; rc=1
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
ms() { echo $(( ($(now) - $1) / 1000000 )); }
med() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
span() { printf '%s\n' "$@" | sort -n | sed -n '1p;$p' | paste -sd- -; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3fx", a / b; else print "-" }'; }
sum() { awk 'BEGIN { s = 0; for (i = 1; i < ARGC; i++) s += ARGV[i]; printf "%.0f", s }' "$@"; }
# the highest-priority driver of NAME in /proc/crypto
top_driver() {
	awk -v want="$1" '/^name/ {n=$3} /^driver/ {d=$3} /^priority/ {p=$3}
		/^$/ { if (n == want) print p, d; n = "" } END { if (n == want) print p, d }' \
		/proc/crypto | sort -rn | head -1 | cut -d' ' -f2
}
mbs() { awk -v b="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", b / 1e6 / (t / 1000); else print "-" }'; }

# The pool's side: ext4 with the verity feature (4 KiB blocks: 6.1 wants block size = page size)
# on a sparse loop file, big enough for the image, its copy and its Merkle tree (1/127 of the data).
tree_mb=$(du -sm "$TREE" | cut -f1)
truncate -s "$(( 2 * tree_mb + 256 ))M" "$W/fs.img"
mkfs.ext4 -q -F -b 4096 -O verity "$W/fs.img"
FSDEV=$(losetup --show -f "$W/fs.img")
mkdir -p "$FS" "$MNT"
mount -t ext4 "$FSDEV" "$FS"
IMG=$FS/image.erofs

echo "== mkfs.erofs -zlz4hc of $TREE (excluding $EXCLUDE), as isc builds images" >&2
t0=$(now)
SOURCE_DATE_EPOCH=0 mkfs.erofs --quiet -zlz4hc --exclude-regex="$EXCLUDE" "$IMG" "$TREE"
tmkfs=$(ms "$t0")
size=$(stat -c %s "$IMG")
size_mb=$(( size / 1000000 ))
files=()
for f in $BOOT_FILES; do [ -f "$TREE/$f" ] && files+=("$f"); done
[ ${#files[@]} -gt 0 ] || die "none of BOOT_FILES is in $TREE"
boot_bytes=$(cd "$TREE" && cat -- "${files[@]}" | wc -c)

hash_file() {
	if [ -n "$HASHER" ]; then "$HASHER" sha256 "$1" | cut -d' ' -f3; else sha256sum "$1" | cut -d' ' -f1; fi
}
# measure: the file's fs-verity digest; sets TME (ms) and GOT
measure() {
	local t0 out
	if [ -n "$HASHER" ]; then
		out=$("$HASHER" measure "$1"); TME=${out%% *} GOT=${out#* }
	else
		t0=$(now); GOT=$(fsverity measure "$1" | cut -d' ' -f1); TME=$(ms "$t0")
	fi
}
# boot FILE: attach the image read-only (LO_FLAGS_READ_ONLY, as isc; also the only way a verity
# file opens), mount erofs read-only, read the boot files through it; sets M (attach + mount) and
# R (reads), in ms.
boot() {
	local t0
	t0=$(now)
	IMGDEV=$(losetup --show -r -f "$1")
	mount -t erofs -o ro "$IMGDEV" "$MNT"
	M=$(ms "$t0"); t0=$(now)
	(cd "$MNT" && cat -- "${files[@]}" >/dev/null)
	R=$(ms "$t0")
	umount "$MNT"; losetup -d "$IMGDEV"; IMGDEV=''
}

# fs-verity hashes with the kernel's sha256.  udev loads the CPU's faster one (sha256_ssse3:
# AVX2, SHA-NI) at boot; where no udev runs (the check-vm guest) load it as udev would, and say so.
sha_note=
if ! grep -q -w -e sha256_ssse3 /proc/modules && ! pgrep -x systemd-udevd >/dev/null &&
   grep -q -m1 -w -e avx2 -e sha_ni /proc/cpuinfo && modprobe -q sha256_ssse3 2>/dev/null; then
	sha_note=" (sha256_ssse3 loaded by this script: no udev here to load it)"
fi

# A plain copy of the image beside it, so that every run times both ways back to back (the
# noise of a shared or emulated machine falls on both alike); verity goes on IMG alone.
PLAIN=$FS/plain.erofs
cp "$IMG" "$PLAIN"
echo "== fsverity enable (once, from cold caches: what an import would pay)" >&2
cold; t0=$(now); fsverity enable --hash-alg=sha256 --block-size=4096 "$IMG"; tenable=$(ms "$t0")
# the digest isc would record at import and compare at boot (no data read)
vdigest=$(fsverity measure "$IMG" | cut -d' ' -f1)
[ -n "$vdigest" ] || die "fsverity measure gave nothing"

echo "== $RUNS rounds, each step from cold caches: plain read, read + SHA-256, boot without verity;" \
     "verity boot (measure + attach + mount + boot reads), full verity read" >&2
rd=() ha=() b0t=() bme=() bm=() br=() bt=() fr=()
for _ in $(seq 1 "$RUNS"); do
	cold; t0=$(now); cat "$PLAIN" >/dev/null; rd+=("$(ms "$t0")")
	cold; t0=$(now); digest=$(hash_file "$PLAIN"); ha+=("$(ms "$t0")")
	cold; boot "$PLAIN"; b0t+=($(( M + R )))
	cold
	measure "$IMG"
	[ "$GOT" = "$vdigest" ] || die "verity digest changed: $GOT, enabled as $vdigest"
	boot "$IMG"
	bme+=("$TME"); bm+=("$M"); br+=("$R"); bt+=("$(sum "$TME" "$M" "$R")")
	cold; t0=$(now); cat "$IMG" >/dev/null; fr+=("$(ms "$t0")")
done
[ "$(hash_file "$IMG")" = "$digest" ] || die "the verity image and its plain copy differ"

a=$(med "${ha[@]}") b=$(med "${bt[@]}") c=$(med "${fr[@]}") r=$(med "${rd[@]}") b0=$(med "${b0t[@]}")
hv=$(grep -c -m1 -w hypervisor /proc/cpuinfo || true)
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')$([ "$hv" = 1 ] && echo ', virtualized')"
echo "image: erofs lz4hc of $TREE (excluding $EXCLUDE): $size_mb MB ($TREE: $tree_mb MB in all), mkfs.erofs $tmkfs ms;" \
     "on ext4 -O verity on a loop file; erofs mounted through a read-only loop device"
echo "boot reads: ${#files[@]} files, $(( boot_bytes / 1024 )) KiB: ${files[*]}"
echo "hash: $hash_what; verity: sha256, 4 KiB blocks, kernel's sha256: $(top_driver sha256)$sha_note;" \
     "CPU: $(grep -m1 -o -w -e sha_ni -e avx2 /proc/cpuinfo | sort -u | paste -sd' ' -)"
echo "measure: $measure_what; every figure from cold caches; median of $RUNS (min-max)"
printf '%-52s %9s %13s %9s\n' "" "ms" "min-max" "MB/s"
printf '%-52s %9s %13s %9s\n' "plain read of the whole image (its copy, no verity)" "$r" "$(span "${rd[@]}")" "$(mbs "$size" "$r")"
printf '%-52s %9s %13s %9s\n' "(a) today: read + SHA-256 of the whole image (copy)" "$a" "$(span "${ha[@]}")" "$(mbs "$size" "$a")"
printf '%-52s %9s %13s\n' "    boot without verity: attach + mount + boot reads" "$b0" "$(span "${b0t[@]}")"
printf '%-52s %9s\n' "fsverity enable (once per image, at import)" "$tenable"
printf '%-52s %9s %13s\n' "(b) verity boot: measure + attach + mount + reads" "$b" "$(span "${bt[@]}")"
printf '%-52s %9s\n' "    of which fsverity measure" "$(med "${bme[@]}")"
printf '%-52s %9s\n' "    of which attach + mount" "$(med "${bm[@]}")"
printf '%-52s %9s\n' "    of which boot reads (Merkle-checked)" "$(med "${br[@]}")"
printf '%-52s %9s\n' "    b - boot without verity (verity's own cost)" "$(( b - b0 ))"
printf '%-52s %9s %13s %9s\n' "(c) full read of the verity file" "$c" "$(span "${fr[@]}")" "$(mbs "$size" "$c")"
echo "b/a $(ratio "$b" "$a")   c/a $(ratio "$c" "$a")   c/plain read $(ratio "$c" "$r")   enable/a $(ratio "$tenable" "$a")"
echo "verity digest $vdigest; total run: $(( $(date +%s) - T0 )) s"
