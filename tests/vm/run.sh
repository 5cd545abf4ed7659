#!/bin/bash
# run.sh - boot Debian's stock kernels under QEMU and run integration scenarios inside (make check-vm).
#
# Environment:
#   VM_KERNELS  suites whose linux-image-amd64 to boot (default "bookworm trixie")
#   VM_TESTS    scenarios, names of tests/integration/t_*.sh (default: $DEFAULT_TESTS);
#               a name with a slash is a script of the project run as one
#               (bench/verity.sh), whose output is shown whether it passes or not
#   VM_INIT     plain: the harness's own PID 1 sets up a delegating cgroup v2 tree (default);
#               systemd: systemd is PID 1 and owns the tree, the scenarios run in a service
#   VM_TIMEOUT  seconds one VM may run in all, boot to power-off (default 1500)
#   VM_TEST_TIMEOUT  seconds one scenario may run inside (default 600)
#   VM_MEM, VM_SMP  guest memory (MiB) and CPUs (default 4096, host's CPUs up to 4)
#   VM_CACHE    cache of kernels and root file systems (default /var/cache/isc-vm)
#   VM_REFRESH=1  ask the archive for the newest kernel packages again
#   VM_MIRROR   Debian archive (default http://deb.debian.org/debian)
#   ISC_BUILD   build directory to test (default build-asan)
# Prints the scenarios' results per kernel and ends with "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/../.."
SRC=$(pwd -P)
B=${ISC_BUILD:-build-asan}
DEFAULT_TESTS="t_solaris_session t_profiles t_crypt t_maint t_run_stale t_attack t_listings t_bad_input t_tamper t_console t_defence t_cgroups t_demo t_audit t_dock t_update t_autoboot t_crash t_hostile"
KERNELS=${VM_KERNELS:-bookworm trixie}
TESTS=${VM_TESTS:-$DEFAULT_TESTS}
INIT=${VM_INIT:-plain}
case $INIT in plain|systemd) ;; *) echo "check-vm: VM_INIT is plain or systemd, not $INIT"; exit 2 ;; esac
VM_TIMEOUT=${VM_TIMEOUT:-1500}
TEST_TIMEOUT=${VM_TEST_TIMEOUT:-600}
MIRROR=${VM_MIRROR:-http://deb.debian.org/debian}
CACHE=${VM_CACHE:-/var/cache/isc-vm}
NCPU=$(nproc); [ "$NCPU" -gt 4 ] && NCPU=4
SMP=${VM_SMP:-$NCPU}
MEM=${VM_MEM:-4096}

# What the scenarios need at run time inside the guest (the root file system is
# rebuilt when this list changes): the tools they call and the libraries of an
# ASan build of isc.
ROOTFS_PKGS="busybox-static erofs-utils e2fsprogs util-linux bsdutils kmod jq procps curl wget socat
  iproute2 nftables libseccomp2 libcap2 libsodium23 libssl3 libarchive13 libjson-c5
  libmnl0 libnftables1 libcmocka0 libasan8 libubsan1 libsystemd0 systemd fsverity"
# installed with apt-get in the debootstrapped tree (debootstrap's --include cannot
# configure podman's dependencies): the engines t_oci.sh drives
ROOTFS_APT="podman runc containerd"
# Modules the initramfs loads to mount the root disk and the 9p shares
# (their dependencies are added from modules.dep).
INITRD_MODS="virtio_pci virtio_blk crc32c_generic crc32c-intel ext4 9pnet_virtio 9p"

# kernel lines that say nothing about a failure
DMESG_NOISE='detected capacity change|mounted filesystem|unmounting filesystem|fscrypt: AES|cryptd: max_cpu_qlen|AVX2 version|AES CTR mode|EXT4-fs \([a-z0-9]+\): (re)?mounted|erofs: \(device [a-z0-9]+\): mounted|Loading iSCSI|bridge: filtering'
pass=0 fail=0 skip=0
say() { echo "check-vm: $*"; }
die_skip() { say "skipped: $*"; echo "0 passed, 0 failed, 1 skipped"; exit 0; }

[ "$(id -u)" -eq 0 ] || die_skip "needs root (debootstrap, the cache in $CACHE)"
command -v qemu-system-x86_64 >/dev/null || die_skip "no qemu-system-x86_64 (make check-vm installs qemu-system-x86)"
# a scenario's script, and the name its results go by
script_of() { case $1 in */*) echo "$1" ;; *) echo "tests/integration/$1.sh" ;; esac; }
key_of() { local k=${1%.sh}; echo "${k//\//_}"; }
for t in $TESTS; do
	[ -f "$(script_of "$t")" ] || { say "no scenario $(script_of "$t")"; exit 2; }
done
[ -x "$B/iscadm" ] || { say "no $B/iscadm: build first"; exit 2; }

TMP=$(mktemp -d /tmp/isc-vm.XXXXXX)
QPID=""
cleanup() {
	trap - EXIT INT TERM
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null; sleep 1; kill -9 "$QPID" 2>/dev/null
		wait "$QPID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM

now() { date +%s; }
mkdir -p "$CACHE"
# one harness at a time per cache
exec 9>"$CACHE/.lock"
flock -n 9 || { say "waiting for another check-vm ($CACHE/.lock)"; flock 9; }

# --- kernels: linux-image-amd64 of a suite, from the archive, cached ---------
# apt with a private configuration: the host's sources and state are untouched.
apt_suite() {	# SUITE apt-get|apt-cache ARGS...
	local d=$CACHE/apt/$1 cmd=$2; shift 2
	"$cmd" -q -o Dir::Etc::SourceList="$d/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
		-o Dir::Etc::PreferencesParts=/nonexistent -o Dir::State::Lists="$d/lists" \
		-o Dir::Cache="$d/cache" -o Dir::State::status=/dev/null \
		-o APT::Sandbox::User=root -o Debug::NoLocking=1 "$@"
}
# fetch_kernel SUITE: sets KDIR to $CACHE/kernel/SUITE/<version> (vmlinuz, modules, initrd.img)
fetch_kernel() {
	local s=$1 d=$CACHE/apt/$1 kd=$CACHE/kernel/$1 pkg deb ver
	if [ -z "${VM_REFRESH:-}" ] && [ -L "$kd/current" ] && [ -f "$kd/current/ok" ]; then
		KDIR=$(readlink -f "$kd/current"); return 0
	fi
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$kd"
	echo "deb $MIRROR $s main" > "$d/sources.list"
	apt_suite "$s" apt-get update >"$TMP/apt.log" 2>&1 || { tail -5 "$TMP/apt.log"; return 1; }
	pkg=$(apt_suite "$s" apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -1)
	[ -n "$pkg" ] || { say "$s: no linux-image-amd64 dependency found"; return 1; }
	ver=${pkg#linux-image-}
	KDIR=$kd/$ver
	if [ ! -f "$KDIR/ok" ]; then
		rm -rf "$KDIR" "$TMP/deb"; mkdir -p "$TMP/deb" "$KDIR"
		(cd "$TMP/deb" && apt_suite "$s" apt-get download "$pkg" >"$TMP/apt.log" 2>&1) ||
			{ tail -5 "$TMP/apt.log"; return 1; }
		deb=$(ls "$TMP/deb"/*.deb | head -1)
		dpkg-deb -x "$deb" "$TMP/deb/x" || return 1
		cp "$TMP/deb/x/boot/vmlinuz-$ver" "$KDIR/vmlinuz" || return 1
		mkdir -p "$KDIR/lib/modules"
		mv "$TMP/deb/x/lib/modules/$ver" "$KDIR/lib/modules/$ver" 2>/dev/null ||
			mv "$TMP/deb/x/usr/lib/modules/$ver" "$KDIR/lib/modules/$ver" || return 1
		depmod -b "$KDIR" "$ver" || return 1
		echo "$ver" > "$KDIR/ok"
		rm -rf "$TMP/deb"
	fi
	ln -sfn "$ver" "$kd/current"
}
# the initramfs is remade when its /init or module list changes
initrd_ready() {	# KDIR
	local key ver
	ver=$(cat "$1/ok")
	key=$( { cat tests/vm/initrd-init; echo "$INITRD_MODS"; } | sha256sum | cut -c1-16)
	[ -f "$1/initrd.img" ] && [ "$(cat "$1/initrd.key" 2>/dev/null)" = "$key" ] && return 0
	make_initrd "$1" "$ver" && echo "$key" > "$1/initrd.key"
}
# make_initrd KDIR VER: busybox, the modules to mount root and the shares
# (uncompressed, listed in load order), and tests/vm/initrd-init as /init.
make_initrd() {
	local kd=$1 ver=$2 md=$1/lib/modules/$2 r=$TMP/initrd m f order=""
	rm -rf "$r"; mkdir -p "$r/bin" "$r/m" "$r/dev" "$r/proc" "$r/sys" "$r/newroot"
	cp /bin/busybox "$r/bin/busybox" || { say "no /bin/busybox (busybox-static)"; return 1; }
	# depth-first: a module's dependencies before it
	local -A seen=()
	add_mod() {
		local name=$1 path dep
		path=$(awk -v n="$name" -F: '{p=$1; sub(/.*\//,"",p); sub(/\.ko(\.[a-z]+)?$/,"",p); gsub(/-/,"_",p)}
			p==n {print $1; exit}' "$md/modules.dep")
		[ -n "$path" ] || return 0		# built in, or not in this kernel
		[ -n "${seen[$path]:-}" ] && return 0
		seen[$path]=1
		for dep in $(awk -v p="$path" -F: '$1==p {print $2; exit}' "$md/modules.dep"); do
			dep=${dep##*/}; dep=${dep%%.ko*}; add_mod "${dep//-/_}"
		done
		order="$order $path"
	}
	for m in $INITRD_MODS; do add_mod "${m//-/_}"; done
	for f in $order; do
		local base=${f##*/}
		case $f in
		*.ko) cp "$md/$f" "$r/m/$base" ;;
		*.ko.xz) xz -dc "$md/$f" > "$r/m/${base%.xz}"; base=${base%.xz} ;;
		*.ko.zst) zstd -qdc "$md/$f" > "$r/m/${base%.zst}"; base=${base%.zst} ;;
		*.ko.gz) gzip -dc "$md/$f" > "$r/m/${base%.gz}"; base=${base%.gz} ;;
		esac
		echo "${base%.ko}" >> "$r/m/order"
	done
	cp tests/vm/initrd-init "$r/init"; chmod 755 "$r/init"
	(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) > "$kd/initrd.img" || return 1
	rm -rf "$r"
}

# --- root file system: one bookworm debootstrap, cached by package list -----
KEY=$(printf '%s\n' $ROOTFS_PKGS $ROOTFS_APT "rootfs-v1" | sha256sum | cut -c1-16)
RDIR=$CACHE/rootfs/$KEY
build_rootfs() {
	[ -f "$RDIR/ok" ] && return 0
	rm -rf "$RDIR"; mkdir -p "$RDIR"
	local pk; pk=$(echo $ROOTFS_PKGS | tr ' ' ,)
	say "building the root file system (debootstrap bookworm, minbase + $(echo $ROOTFS_PKGS | wc -w) packages)"
	debootstrap --variant=minbase --include="$pk" bookworm "$RDIR/tree" "$MIRROR" \
		>"$TMP/debootstrap.log" 2>&1 || { tail -20 "$TMP/debootstrap.log"; rm -rf "$RDIR"; return 1; }
	mount -t proc proc "$RDIR/tree/proc"
	{ chroot "$RDIR/tree" apt-get update -qq && DEBIAN_FRONTEND=noninteractive chroot "$RDIR/tree" \
		apt-get install -y -qq --no-install-recommends $ROOTFS_APT; } >"$TMP/apt.log" 2>&1
	local rc=$?
	umount "$RDIR/tree/proc"
	[ $rc -eq 0 ] || { tail -20 "$TMP/apt.log"; rm -rf "$RDIR"; return 1; }
	rm -rf "$RDIR/tree/var/cache/apt/archives/"*.deb "$RDIR/tree/var/lib/apt/lists/"*_Packages
	echo isc-vm > "$RDIR/tree/etc/hostname"
	touch "$RDIR/ok"
	# older root file systems are of no further use
	find "$CACHE/rootfs" -mindepth 1 -maxdepth 1 ! -name "$KEY" -exec rm -rf {} +
}
# rootfs_image VER...: an ext4 image of the tree with these kernels' modules
# in /lib/modules, cached; made with mkfs.ext4 -d (no loop device, no mount).
rootfs_image() {
	local v img tmpimg mb
	img=$RDIR/root-$(printf '%s\n' "$@" | sort | paste -sd+).img
	IMG=$img
	[ -f "$img" ] && return 0
	rm -f "$RDIR"/root-*.img
	rm -rf "$RDIR/tree/usr/lib/modules"; mkdir -p "$RDIR/tree/usr/lib/modules"
	for v in "$@"; do cp -a "${KDIR_OF[$v]}/lib/modules/$v" "$RDIR/tree/usr/lib/modules/$v" || return 1; done
	mb=$(( $(du -sm "$RDIR/tree" | cut -f1) + 2048 ))
	tmpimg=$RDIR/.root.img.tmp
	mkfs.ext4 -q -F -L iscroot -d "$RDIR/tree" "$tmpimg" "${mb}M" >"$TMP/mkfs.log" 2>&1 ||
		{ cat "$TMP/mkfs.log"; rm -f "$tmpimg"; return 1; }
	mv "$tmpimg" "$img"
}

# clean FILE [BYTES]: a guest-written file, shown bounded and without control characters
clean() {
	[ -f "$1" ] && [ ! -L "$1" ] || return 0
	head -c "${2:-200000}" "$1" | tr -d '\000-\010\013-\037\177'
}

# --- one VM -----------------------------------------------------------------
# run_vm SUITE: boot the suite's kernel, run $TESTS, report; adds to the totals.
run_vm() {
	local s=$1 kd=${KDIR_OF_SUITE[$1]} ver accel t rc secs start booted elapsed n=0 f
	ver=$(cat "$kd/ok")
	rm -rf "$TMP/out" "$TMP/root.qcow2" "$TMP/console.log"
	mkdir -p "$TMP/out"
	{ printf 'TESTS=%q\n' "$TESTS"; printf 'B=%q\n' "$B"; printf 'TEST_TIMEOUT=%q\n' "$TEST_TIMEOUT"
	  printf 'INIT=%q\n' "$INIT"; } > "$TMP/out/config"
	qemu-img create -q -f qcow2 -b "$IMG" -F raw "$TMP/root.qcow2" || return 1
	if [ -w /dev/kvm ]; then accel="-accel kvm -cpu host"; else accel="-accel tcg,thread=multi -cpu max"; fi
	start=$(now)
	# shellcheck disable=SC2086
	qemu-system-x86_64 -nodefaults -no-user-config -display none -monitor none -no-reboot \
		$accel -m "$MEM" -smp "$SMP" \
		-kernel "$kd/vmlinuz" -initrd "$kd/initrd.img" \
		-append "console=ttyS0 panic=1 loglevel=4 isc_src=$SRC" \
		-serial "file:$TMP/console.log" \
		-drive "file=$TMP/root.qcow2,if=virtio,format=qcow2,cache=unsafe" \
		-fsdev "local,id=src,path=$SRC,security_model=none,readonly=on" \
		-device virtio-9p-pci,fsdev=src,mount_tag=src \
		-fsdev "local,id=out,path=$TMP/out,security_model=mapped-xattr" \
		-device virtio-9p-pci,fsdev=out,mount_tag=out \
		2>"$TMP/qemu.err" &
	QPID=$!
	# progress: the guest's "isc-vm: " lines from the serial console, cleaned
	tail -n +1 -F --pid="$QPID" "$TMP/console.log" 2>/dev/null |
		sed -u -n 's/[^[:print:]]//g; s/^isc-vm: \(.\{0,160\}\).*/  \1/p' &
	local tpid=$!
	while kill -0 "$QPID" 2>/dev/null; do
		elapsed=$(( $(now) - start ))
		if [ "$elapsed" -ge "$VM_TIMEOUT" ]; then
			say "$s: VM timed out after ${VM_TIMEOUT}s (VM_TIMEOUT), stopping it"
			kill "$QPID" 2>/dev/null; sleep 2; kill -9 "$QPID" 2>/dev/null
			break
		fi
		sleep 1
	done
	wait "$QPID" 2>/dev/null; rc=$?
	QPID=""
	wait "$tpid" 2>/dev/null
	elapsed=$(( $(now) - start ))
	if [ ! -s "$TMP/console.log" ] && [ "$elapsed" -lt 30 ]; then
		say "$s: skipped: QEMU cannot start: $(clean "$TMP/qemu.err" 400 | grep -v '^$' | head -1)"
		skip=$((skip + 1)); return 0
	fi
	booted=$(clean "$TMP/out/info" 4000 | sed -n 's/^boot //p')
	if [ -z "$booted" ]; then
		say "$s: the guest did not come up; console tail:"
		clean "$TMP/console.log" | tail -20 | sed 's/^/    /'
		fail=$((fail + 1)); return 0
	fi
	# isc's own view of the kernel: what it lacks, and Landlock's ABI
	f=$(clean "$TMP/out/hostcheck" 20000 | awk 'NR > 1 { p = substr($0, 28, 9); sub(/ +$/, "", p)
		n = substr($0, 1, 27); sub(/ +$/, "", n)
		if (p == "no") miss = miss (miss ? ", " : "") n; if (n == "Landlock") ll = p }
		END { printf "lacks: %s; Landlock: %s", (miss ? miss : "nothing"), ll }')
	echo "  host check on $ver: $f"
	for t in $TESTS; do
		k=$(key_of "$t")
		f=$(clean "$TMP/out/results" | awk -v t="$k" '$1==t {print; exit}')
		if [ -z "$f" ]; then
			fail=$((fail + 1)); echo "  FAIL $t: not run (VM ended)"
			continue
		fi
		set -- $f; rc=$2; secs=$3
		case $t in */*) echo "  $t on $ver (rc $rc, ${secs}s):"
			clean "$TMP/out/$k.log" | tail -60 | cut -c1-300 | sed 's/^/    /' ;; esac
		case $rc in
		0) pass=$((pass + 1)) ;;
		77) skip=$((skip + 1)) ;;
		*) fail=$((fail + 1))
		   echo "  $t on $ver failed (rc $rc, ${secs}s); its last lines:"
		   clean "$TMP/out/$k.log" | tail -25 | cut -c1-300 | sed 's/^/    /'
		   f=$(clean "$TMP/out/$k.dmesg" | grep -Ev "$DMESG_NOISE" | tail -10 | cut -c1-300)
		   [ -z "$f" ] || { echo "    guest kernel said:"; printf '%s\n' "$f" | sed 's/^/      /'; } ;;
		esac
	done
	say "$s ($ver, $( [ -w /dev/kvm ] && echo KVM || echo TCG), PID 1 $INIT): boot ${booted}s, VM ${elapsed}s in all"
}

# --- main -------------------------------------------------------------------
declare -A KDIR_OF KDIR_OF_SUITE
VERS=""
t0=$(now)
for s in $KERNELS; do
	fetch_kernel "$s" || { say "$s: cannot fetch linux-image-amd64"; exit 2; }
	initrd_ready "$KDIR" || { say "$s: cannot make the initramfs"; exit 2; }
	v=$(cat "$KDIR/ok"); KDIR_OF[$v]=$KDIR; KDIR_OF_SUITE[$s]=$KDIR; VERS="$VERS $v"
done
t1=$(now)
build_rootfs || { say "cannot build the root file system"; exit 2; }
t2=$(now)
# the image carries the modules of every kernel in the cache, so that runs
# with different VM_KERNELS share it
for d in "$CACHE"/kernel/*/current; do
	[ -f "$d/ok" ] || continue
	v=$(cat "$d/ok"); [ -n "${KDIR_OF[$v]:-}" ] && continue
	KDIR_OF[$v]=$(readlink -f "$d"); VERS="$VERS $v"
done
rootfs_image $VERS || { say "cannot make the root disk image"; exit 2; }
t3=$(now)
say "kernels $KERNELS: $((t1 - t0))s; root file system: $((t2 - t1))s; disk image: $((t3 - t2))s"
for s in $KERNELS; do run_vm "$s"; done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
