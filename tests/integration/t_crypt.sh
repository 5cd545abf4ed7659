#!/bin/bash
# t_crypt.sh - encryption at rest: ciphertext on disk, keys outside, load/unload/change, ephemeral /scratch.
. "$(dirname "$0")/lib.sh"

iscadm pool create --size 2G || fail "pool create"
iscadm image build base --from busybox >/dev/null 2>&1 || fail "image build"
POOLIMG=$ISC_ROOT/pool.img
PROBE=$(readlink -f "$B/tests/helpers/isc-probe")
[ -x "$PROBE" ] || fail "no $PROBE"

# scan_pool STRING: how many times the raw bytes of the pool's backing file hold STRING
scan_pool() { sync; grep -a -c -F -- "$1" "$POOLIMG"; }

# ---- ciphertext on disk -------------------------------------------------------
N=it-crypt
new_isc $N --set volume=/srv
iscadm boot $N || fail "boot"
CANARY="isc-canary-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
HALF1=${CANARY:0:14} HALF2=${CANARY:14}
# written from two halves: the command line itself never holds the canary
for f in /var/tmp/canary /srv/canary /scratch/canary; do
	in_isc $N "printf '%s%s\n' $HALF1 $HALF2 > $f && sync" || fail "write $f"
done
[ "$(in_isc $N cat /var/tmp/canary)" = "$CANARY" ] || fail "canary unreadable inside"
[ "$(scan_pool "$CANARY")" = 0 ] || fail "canary in clear in the pool while running"
ok "canary in /var/tmp, a volume and /scratch: not in the pool's bytes while running"
iscadm halt $N || fail "halt"
[ "$(scan_pool "$CANARY")" = 0 ] || fail "canary in clear in the pool after halt"
ok "nor after halt"
# the control: the same scan finds a plaintext canary the host writes in the pool
printf '%s\n' "$CANARY-plain" > "$ISC_ROOT/pool/tmp/plain-canary"
[ "$(scan_pool "$CANARY-plain")" -ge 1 ] || fail "scan cannot find a plaintext canary"
rm -f "$ISC_ROOT/pool/tmp/plain-canary"
ok "the scan finds a plaintext canary in the same pool"

# ---- ephemeral /scratch -------------------------------------------------------
[ ! -e "$ISC_ROOT/pool/isc/$N/scratch.img" ] || fail "scratch left after halt"
losetup -a | grep -q "$ISC_ROOT/pool/isc/$N" && fail "scratch loop device left after halt"
# every boot's /scratch is a copy of the pool's template for its size, never the template
TPL=$ISC_ROOT/pool/templates/ext4-67108864.img
[ -f "$TPL" ] || fail "no scratch template: $(ls "$ISC_ROOT/pool/templates" 2>&1)"
tsum=$(b2sum < "$TPL")
[ "$(grep -a -c -F -- "$CANARY" "$TPL")" = 0 ] || fail "canary in the scratch template"
# a loop device's file, as MAJ:MIN INO (its path may be another namespace's)
back() { losetup -n -O BACK-MAJ:MIN,BACK-INO "$1" | awk '{print $1, $2}'; }
file_id() { stat -c '%Hd:%Ld %i' "$1"; }
# the first boot left the pool a spare /scratch (mounted, empty, keyless) for the next one
TD=$ISC_ROOT/pool/templates
SPARE=/run/isc/scratch/$(stat -c %D "$TD")-$(printf %x "$(stat -c %i "$TD")")-67108864
mountpoint -q "$SPARE" || fail "no spare /scratch after a boot: $(ls /run/isc/scratch 2>&1)"
sdev=$(findmnt -n -o SOURCE "$SPARE")
[ "$(ls -A "$SPARE")" = lost+found ] || fail "the spare /scratch is not an empty filesystem: $(ls -A "$SPARE")"
iscadm boot $N || fail "boot 2"
[ -z "$(in_isc $N ls -A /scratch)" ] || fail "/scratch not empty after reboot"
mdev=$(in_isc $N "awk '\$2 == \"/scratch\" {print \$1}' /proc/mounts")
[ "$mdev" = "$sdev" ] || fail "boot 2 did not take the spare: /scratch on $mdev, the spare was $sdev"
[ "$(back "$mdev")" = "$(file_id "$ISC_ROOT/pool/isc/$N/scratch.img")" ] || fail "/scratch is not the ISC's own file"
for l in $(losetup -n -O NAME); do
	[ "$(back "$l")" = "$(file_id "$TPL")" ] && fail "the scratch template is attached ($l)"
done
ok "the next boot took the spare /scratch, now the ISC's own file; the template is never attached"
# a run takes the spare boot 2 left, and leaves the pool another one, empty again
for i in $(seq 50); do mountpoint -q "$SPARE" && break; sleep 0.1; done
mountpoint -q "$SPARE" || fail "no spare /scratch after boot 2"
sdev=$(findmnt -n -o SOURCE "$SPARE")
out=$(iscadm run --rm --image base -- /bin/sh -c \
	'awk "\$2 == \"/scratch\" {print \$1}" /proc/mounts; ls -A /scratch; echo x > /scratch/f && cat /scratch/f') ||
	fail "run: $out"
[ "$out" = "$(printf '%s\nx' "$sdev")" ] || fail "the run did not take the spare $sdev, or its /scratch was not empty: $out"
mountpoint -q "$SPARE" || fail "the run left no spare for the next"
[ "$(ls -A "$SPARE")" = lost+found ] || fail "the run's spare is not empty: $(ls -A "$SPARE")"
ok "a run takes the spare, with an empty /scratch, and leaves the next one"
[ "$(in_isc $N cat /var/tmp/canary)" = "$CANARY" ] || fail "/var/tmp lost"
[ "$(in_isc $N cat /srv/canary)" = "$CANARY" ] || fail "volume lost"
ok "/scratch is empty at the next boot; /var/tmp and the volume kept their data"
out=$(in_isc $N "dd if=/dev/zero of=/scratch/fill bs=1M count=200 2>&1"; true)
printf '%s' "$out" | grep -q "No space left on device" || fail "scratch not bounded: $out"
in_isc $N "rm /scratch/fill; grep ' /scratch ' /proc/mounts" | grep -q noexec || fail "/scratch exec"
ok "/scratch is bounded by scratch-size (ENOSPC inside) and noexec"
[ "$(b2sum < "$TPL")" = "$tsum" ] || fail "the scratch template changed while /scratch was written"
ok "/scratch is a copy of the pool's template, which no boot changes"
mem=/sys/fs/cgroup/memory/isc/$N
if [ -e $mem/memory.memsw.limit_in_bytes ]; then
	[ "$(cat $mem/memory.memsw.limit_in_bytes)" = "$(cat $mem/memory.limit_in_bytes)" ] ||
		fail "memory+swap limit above memory limit"
	[ "$(cat $mem/memory.swappiness)" = 0 ] || fail "swappiness"
	ok "no swap: memsw limit = memory limit, swappiness 0"
else
	# v2: the ISC's group, or under a host systemd its scope's isc/
	for g in /sys/fs/cgroup/isc/$N /sys/fs/cgroup/isc.slice/isc-$N.scope/isc; do
		[ -e $g/memory.swap.max ] || continue
		[ "$(cat $g/memory.swap.max)" = 0 ] || fail "swap.max"
		ok "no swap: memory.swap.max = 0"
	done
fi

# ---- what the ISC can see -------------------------------------------------------
in_isc $N isc-svc info | grep -qx "encryption: on (aes-256-xts, names aes-256-cts) inherited from host" ||
	fail "isc-svc info lacks the encryption property"
leak=$(in_isc $N "grep -rlsF '$ISC_KEYDIR' /proc/self /proc/1 /proc/mounts /proc/cmdline /dev /etc /run /scratch /srv 2>/dev/null; grep -rlsF '$T' /proc/self/mountinfo /proc/1/environ /proc/1/cmdline; true")
[ -z "$leak" ] || fail "key location visible inside: $leak"
[ -z "$(in_isc $N 'cat /proc/keys 2>/dev/null')" ] || fail "/proc/keys shows keys"
ok "inside: encryption shown as a property; no key path in /proc, /dev, /etc, /run; /proc/keys empty"
iscadm halt $N

# fscrypt ioctls and keyrings are refused inside, on the pool's own ext4 (/srv, /scratch)
mkdir -p "$T/tree/bin" "$T/tree/etc"
cp /bin/busybox "$T/tree/bin/busybox" && "$T/tree/bin/busybox" --install -s "$T/tree/bin" 2>/dev/null
ln -sf /bin/busybox "$T/tree/bin/sh"
cp "$PROBE" "$T/tree/bin/isc-probe"
mkdir -p "$T/tree/srv"
iscadm image build probe --from "dir:$T/tree" >/dev/null 2>&1 || fail "probe image"
TEST_ISCS="$TEST_ISCS it-probe"
iscadm create it-probe --image probe --set volume=/srv || fail "create it-probe"
iscadm boot it-probe || fail "boot it-probe"
for d in /scratch /srv /; do
	out=$(in_isc it-probe isc-probe fscrypt $d) || fail "fscrypt ioctl allowed on $d: $out"
done
out=$(in_isc it-probe isc-probe keyctl) || fail "keyrings reachable: $out"
ok "fscrypt key/policy ioctls and keyctl/add_key/request_key: EPERM inside"
iscadm halt it-probe

# ---- unload, load ---------------------------------------------------------------
iscadm key unload $N || fail "key unload"
[ "$(iscadm key status $N)" = unavailable ] || fail "status after unload"
f=$(find "$ISC_ROOT/pool/isc/$N/data" -type f | head -1)
[ -n "$f" ] || fail "no file in the ISC's data"
case "$f" in *canary*|*console*|*notes*|*syslog*) fail "names in clear without the key: $f" ;; esac
out=$(cat "$f" 2>&1) && fail "host read a file of an unloaded ISC"
printf '%s' "$out" | grep -q "Required key not available" || fail "wanted ENOKEY, got: $out"
ok "after key unload: names encrypted, host cat fails with ENOKEY"
mv "$ISC_KEYDIR/$N.key" "$T/moved.key"
expect_err 1 "key not found at $ISC_KEYDIR/$N.key" iscadm boot $N
expect_err 1 "key not found at $ISC_KEYDIR/$N.key" iscadm key load $N
mv "$T/moved.key" "$ISC_KEYDIR/$N.key"
iscadm key load $N || fail "key load"
[ "$(iscadm key status $N)" = available ] || fail "status after load"
iscadm boot $N || fail "boot after load"
[ "$(in_isc $N cat /srv/canary)" = "$CANARY" ] || fail "data lost across unload/load"
expect_err 1 "is running" iscadm key unload $N
ok "after key load the ISC boots with its data; unload of a running ISC is refused"
iscadm halt $N
# a pool changed behind isc's back: the data directory swapped for a clear one
D=$ISC_ROOT/pool/isc/$N/data
mv "$D" "$D.real" && mkdir "$D" || fail "swap the data directory"
expect_err 1 "is not encrypted: refusing" iscadm boot $N
[ -z "$(ls -A "$D")" ] || fail "a refused boot wrote into the clear directory"
rmdir "$D" && mv "$D.real" "$D" || fail "restore the data directory"
iscadm boot $N || fail "boot with the data directory restored"
iscadm halt $N
ok "a data directory not under the ISC's key: boot refused, nothing written in clear"

# ---- wrong keys, passphrases, key change ----------------------------------------
head -c 32 /dev/urandom > "$T/k1"; chmod 600 "$T/k1"
new_isc it-raw --key "raw,file://$T/k1"
iscadm key unload it-raw
cp "$T/k1" "$T/k1.good"; head -c 32 /dev/urandom > "$T/k1"
sum=$(md5sum < "$ISC_ROOT/pool/keys/it-raw.wrapped")
expect_err 1 "wrong key" iscadm key load it-raw
[ "$(iscadm key status it-raw)" = unavailable ] || fail "status after wrong key"
[ "$(md5sum < "$ISC_ROOT/pool/keys/it-raw.wrapped")" = "$sum" ] || fail "wrong key changed the record"
cp "$T/k1.good" "$T/k1"
iscadm key load it-raw || fail "right key refused"
ok "a wrong raw key of the right length: 'wrong key', nothing changed"

printf 'correct horse battery staple\n' > "$T/pa"; printf 'another good passphrase\n' > "$T/pb"
chmod 600 "$T/pa" "$T/pb"
new_isc it-pass --key "passphrase,file://$T/pa"
iscadm key change it-pass --key "passphrase,file://$T/pb" || fail "change passphrase"
iscadm key unload it-pass
W=$ISC_ROOT/pool/keys/it-pass.wrapped
sed "s|^keysource=.*|keysource=passphrase,file://$T/pa|" "$W" > "$T/w.old" && cp "$W" "$T/w.new"
cp "$T/w.old" "$W"
expect_err 1 "wrong key" iscadm key load it-pass
cp "$T/w.new" "$W"
iscadm key load it-pass || fail "new passphrase refused"
ok "after key change the old passphrase no longer opens the key; the new one does"
head -c 32 /dev/urandom > "$T/k2"; chmod 600 "$T/k2"
iscadm key change it-pass --key "raw,file://$T/k2" || fail "change to raw"
iscadm key unload it-pass && iscadm key load it-pass || fail "load with raw after change"
grep -q "^kdf=none" "$W" || fail "record still passphrase"
ok "key change from a passphrase to a raw key file"

# key change rewraps only: the same time for 1 MB and 1 GB of data
new_isc it-small; new_isc it-big
dd if=/dev/urandom of="$ISC_ROOT/pool/isc/it-small/data/blob" bs=1M count=1 status=none
dd if=/dev/zero of="$ISC_ROOT/pool/isc/it-big/data/blob" bs=1M count=1024 status=none; sync
change_ms() {   # median of 5 key changes of ISC $1
	local i t0 t1 ts=()
	for i in 1 2 3 4 5; do
		head -c 32 /dev/urandom > "$T/kc-$1-$i"; chmod 600 "$T/kc-$1-$i"
		t0=$(date +%s%N)
		iscadm key change "$1" --key "raw,file://$T/kc-$1-$i" || fail "key change $1"
		t1=$(date +%s%N)
		ts+=($(( (t1 - t0) / 1000000 )))
	done
	printf '%s\n' "${ts[@]}" | sort -n | sed -n 3p
}
small=$(change_ms it-small); big=$(change_ms it-big)
[ "$big" -le $((small * 2 + 20)) ] || fail "key change: ${small} ms for 1 MB, ${big} ms for 1 GB"
ok "key change: ${small} ms with 1 MB of data, ${big} ms with 1 GB"

# ---- encryption roots -------------------------------------------------------------
new_isc it-child --encryption-root it-raw
[ "$(iscadm get it-child encryption-root)" = it-raw ] || fail "encryption-root"
expect_err 1 "encryption root of it-child" iscadm destroy it-raw
expect_err 1 "change it there" iscadm key change it-child --key "raw,file://$T/k2"
iscadm key unload it-raw
[ "$(iscadm key status it-child)" = unavailable ] || fail "child key status follows the root"
iscadm boot it-child || fail "boot child (loads the root's key)"
[ "$(iscadm key status it-raw)" = available ] || fail "root key not loaded by child boot"
iscadm halt it-child
ok "--encryption-root: the child shares the root's key; the root cannot be destroyed first"

# ---- bad input: one line, nothing made ---------------------------------------------
before=$(iscadm list -p; ls -A "$ISC_ROOT/pool/keys" "$ISC_KEYDIR")
printf 'short' > "$T/short"; chmod 600 "$T/short"
head -c 32 /dev/urandom > "$T/open"; chmod 644 "$T/open"
expect_err 1 "no location" iscadm create bad --image base --key raw
expect_err 1 "unknown format" iscadm create bad --image base --key "aes,file://$T/k1"
expect_err 1 "unknown location" iscadm create bad --image base --key "raw,http://x/k"
expect_err 1 "must be absolute" iscadm create bad --image base --key "raw,file://k1"
expect_err 1 "cannot be prompted" iscadm create bad --image base --key "raw,prompt"
expect_err 1 "key not found at $T/none" iscadm create bad --image base --key "raw,file://$T/none"
expect_err 1 "a raw key is 32 bytes" iscadm create bad --image base --key "raw,file://$T/short"
expect_err 1 "mode 0644" iscadm create bad --image base --key "raw,file://$T/open"
expect_err 1 "8 to 512 bytes" iscadm create bad --image base --key "passphrase,file://$T/short"
expect_err 1 "no terminal" setsid -w "$ISCADM" create bad --image base --key "passphrase,prompt"
expect_err 1 "exclude each other" iscadm create bad --image base --key "raw,file://$T/k1" --encryption-root it-raw
expect_err 1 "no ISC named nope" iscadm create bad --image base --encryption-root nope
expect_err 2 "see iscadm --help" iscadm key frobnicate
# another root's generated key file (removed with that root) or the pool's
expect_err 1 "are the keys isc generates" iscadm create bad --image base --key "raw,file://$ISC_KEYDIR/$N.key"
expect_err 1 "are the keys isc generates" iscadm key change it-raw --key "raw,file://$ISC_KEYDIR/.pool.key"
[ "$(iscadm list -p; ls -A "$ISC_ROOT/pool/keys" "$ISC_KEYDIR")" = "$before" ] || fail "bad input left state"
[ ! -e "$ISC_ROOT/pool/isc/bad" ] && [ -z "$(ls -A "$ISC_ROOT/pool/tmp")" ] || fail "half-made ISC"
ok "bad keysources: one line each, nothing created"

# ---- prompt, through a terminal ------------------------------------------------------
if command -v script >/dev/null; then
	printf 'typed passphrase 1\ntyped passphrase 1\n' |
		script -qec "$ISCADM create it-prompt --image base --key passphrase,prompt" /dev/null >/dev/null
	TEST_ISCS="$TEST_ISCS it-prompt"
	iscadm get it-prompt name >/dev/null 2>&1 || fail "create with a prompted passphrase"
	iscadm key unload it-prompt
	printf 'wrong passphrase 1\n' | script -qec "$ISCADM key load it-prompt" /dev/null | grep -q "wrong key" ||
		fail "wrong prompted passphrase accepted"
	printf 'typed passphrase 1\n' | script -qec "$ISCADM key load it-prompt" /dev/null >/dev/null
	[ "$(iscadm key status it-prompt)" = available ] || fail "prompted passphrase refused"
	iscadm key unload it-prompt
	expect_err 1 "no terminal" setsid -w "$ISCADM" boot it-prompt
	ok "passphrase,prompt: typed twice at create, refused when wrong, loads when right"
fi

# ---- destroy takes the key with it --------------------------------------------------------
# ... completely: nothing of the ISC's is left open when its key is removed (the kernel
# logs "inode(s) still busy" for a key it could not drop at once)
busy() { dmesg 2>/dev/null | grep -c 'fscrypt: .* still busy after removing key'; }
before=$(busy)
iscadm destroy it-small || fail "destroy"
[ "$(busy)" = "$before" ] || fail "destroy removed the key while an inode was busy: $(dmesg | tail -2)"
[ ! -e "$ISC_KEYDIR/it-small.key" ] && [ ! -e "$ISC_ROOT/pool/keys/it-small.wrapped" ] ||
	fail "destroy left key material"
ok "destroy removes the wrapped key and the generated key file"
