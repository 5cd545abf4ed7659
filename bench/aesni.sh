#!/bin/bash
# bench/aesni.sh - what the CPU's AES instructions (AES-NI) do for fscrypt's contents cipher:
# AES-256-XTS in 4 KiB data units, decrypting (what a read pays), one thread, with and without.
#   kernel: the xts(aes) the kernel picks (the highest priority, e.g. xts-aes-aesni) against
#           xts over each generic C AES of /proc/crypto (aes-generic, aes-fixed-time), through
#           AF_ALG: one sendmsg + read per 4 KiB unit, so the system calls are in the figure too;
#   OpenSSL: the same cipher in user space, with AES-NI, with AES-NI masked (vpaes, SSSE3) and
#           with SSSE3 masked too (C tables), via OPENSSL_ia32cap: the CPU's own with/without.
#
#   bench/aesni.sh                  # MIB=64 RUNS=3
#   VM_TESTS=bench/aesni.sh make check-vm
# Needs bench-cryptspeed from the build (ISC_BUILD, default build). Changes nothing on the host:
# loads no module, sets nothing; a kernel without AF_ALG skcipher gets its rows skipped, saying so.
set -euo pipefail

MIB=${MIB:-64}
RUNS=${RUNS:-3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
case ${ISC_BUILD:=build} in /*) ;; *) ISC_BUILD=$SRC/$ISC_BUILD ;; esac
SPEED=$ISC_BUILD/bench-cryptspeed
die() { echo "bench: $*" >&2; exit 1; }
[ -x "$SPEED" ] || die "no $SPEED (make build)"
med() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }

# best MB/s of RUNS: median; prints "MB/s" or "unavailable: WHY"
speed() {
	local out v=()
	for _ in $(seq 1 "$RUNS"); do
		out=$("$@") || { echo "${out:-failed}"; return 0; }
		v+=("${out%% *}")
	done
	med "${v[@]}"
}
# the highest-priority driver of NAME in /proc/crypto: "PRIORITY DRIVER"
top_driver() {
	awk -v want="$1" '/^name/ {n=$3} /^driver/ {d=$3} /^priority/ {p=$3}
		/^$/ { if (n == want) print p, d; n = "" } END { if (n == want) print p, d }' \
		/proc/crypto | sort -rn | head -1
}

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')," \
     "CPU flags: $(grep -m1 -o -w -e aes -e vaes -e avx2 -e avx512f /proc/cpuinfo | sort -u | paste -sd' ' -)"
echo "AES-256-XTS, 4 KiB data units, decrypt, $MIB MiB, one thread; median MB/s of $RUNS"

# Kernel: bind "xts(aes)" first, so the kernel instantiates its pick, then read which one it was.
pick=$(speed "$SPEED" xts 'xts(aes)' "$MIB")
if [ "${pick%%:*}" = unavailable ]; then
	echo "kernel (AF_ALG): $pick"
else
	read -r prio drv < <(top_driver 'xts(aes)')
	echo "kernel (AF_ALG): $(printf '%-28s' "$drv") (priority $prio, the kernel's pick) $pick MB/s"
	for gen in $(awk '/^name/ {n=$3} /^driver/ { if (n == "aes") print $3 }' /proc/crypto | grep -v -i -e aesni -e '-ce$'); do
		g=$(speed "$SPEED" xts "xts(ecb($gen))" "$MIB")
		case $g in
		unavailable*) echo "kernel (AF_ALG): xts(ecb($gen)): $g" ;;
		*) echo "kernel (AF_ALG): $(printf '%-28s' "xts(ecb($gen))") (generic C AES)      $g MB/s   pick/generic $(ratio "$pick" "$g")" ;;
		esac
	done
fi

# OpenSSL: ia32cap bit 57 is AES-NI, bit 41 SSSE3 (vpaes); masking them leaves the C code.
if grep -q -m1 -w aes /proc/cpuinfo; then
	o1=$(speed "$SPEED" xts-openssl "$MIB")
	o2=$(OPENSSL_ia32cap='~0x200000000000000' speed "$SPEED" xts-openssl "$MIB")
	o3=$(OPENSSL_ia32cap='~0x200020000000000' speed "$SPEED" xts-openssl "$MIB")
	echo "$("$SPEED" xts-openssl 1 | cut -d' ' -f2): AES-NI $o1 MB/s;" \
	     "no AES-NI (vpaes) $o2 MB/s ($(ratio "$o1" "$o2") slower); no AES-NI, no SSSE3 (C tables) $o3 MB/s ($(ratio "$o1" "$o3") slower)"
else
	echo "OpenSSL: this CPU has no AES instructions (no 'aes' in /proc/cpuinfo)"
fi
