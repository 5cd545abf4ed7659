#!/bin/bash
# t_integrity.sh - verify and diff: a clean ISC verifies (exit 0); a tampered
# image layer (bytes, and a rebuilt layer with a file's mode and owner
# changed, its digest not re-recorded) and a setuid file, an ELF, a script
# and a file under a read-only path planted in writable layers are each
# named with their path (exit 1); diff shows what the writable layers change.
. "$(dirname "$0")/lib.sh"

setup_pool
P=$ISC_ROOT/pool
new_isc iv --profile flexible-configuration
iscadm boot iv || fail "boot iv"
in_isc iv 'echo hello > /var/note; rm /etc/motd; echo changed > /etc/profile; mkdir -p /root/d' ||
	fail "writes inside"

# ---- a clean ISC, running and halted
out=$(iscadm verify iv 2>&1); rc=$?
[ $rc -eq 0 ] || fail "verify of a clean running ISC exited $rc: $out"
echo "$out" | grep -q "verified" || fail "verify said: $out"
ok "verify: a clean running ISC gives exit 0"

# ---- diff: what the writable layers change, podman-diff style
d=$(iscadm diff -p iv) || fail "diff"
echo "$d" | grep -qx 'A:/var/note:.*' || fail "diff lacks A /var/note: $d"
echo "$d" | grep -qx 'D:/etc/motd:.*' || fail "diff lacks D /etc/motd: $d"
echo "$d" | grep -q '^C:/etc/profile:.*content' || fail "diff lacks C /etc/profile (content): $d"
echo "$d" | grep -q '^A:/root/d:' || fail "diff lacks A /root/d: $d"
echo "$d" | grep -q '/etc/passwd' && fail "diff shows an unchanged file: $d"
iscadm diff --json iv | jq -e '.[] | select(.path == "/var/note" and .change == "A")' >/dev/null ||
	fail "diff --json"
ok "diff: A /var/note, D /etc/motd, C /etc/profile (content), nothing unchanged"

iscadm halt iv || fail "halt"
iscadm verify iv >/dev/null 2>&1 || fail "verify of a clean halted ISC failed"
ok "verify: a clean halted ISC gives exit 0"

# ---- plant, from the host, what the ISC could never keep: a setuid file,
# an ELF and a script in /var's layer, a file below /var/lib/dpkg (read-only)
U=$P/isc/iv/data/layers/var/upper
[ -d "$U" ] || fail "no /var layer at $U"
uid=$(iscadm get iv uid)
cp /bin/true "$U/true-elf"; chmod 0644 "$U/true-elf"
printf '#!/bin/sh\necho hi\n' > "$U/run.sh"; chmod 0644 "$U/run.sh"
echo x > "$U/suid"
mkdir -p "$U/lib/dpkg"; echo planted > "$U/lib/dpkg/status.planted"
chown -R "$uid:$uid" "$U/true-elf" "$U/run.sh" "$U/suid" "$U/lib"
chmod 4644 "$U/suid"    # after chown, which clears it
out=$(iscadm verify -p iv 2>/dev/null); rc=$?
[ $rc -eq 1 ] || fail "verify with planted files exited $rc: $out"
for want in 'exec:/var/true-elf:.*ELF' 'exec:/var/run.sh:.*script' 'setid:/var/suid:.*setuid' \
	'ro-path:/var/lib/dpkg/status.planted:.*/var/lib/dpkg'; do
	echo "$out" | grep -q "^$want" || fail "verify did not report $want: $out"
done
ok "verify: planted ELF, script, setuid file and a file below a read-only path named (exit 1)"
rm -rf "$U/true-elf" "$U/run.sh" "$U/suid" "$U/lib"
iscadm verify iv >/dev/null 2>&1 || fail "verify after removing the plants"

# ---- an image layer's bytes

D=$(iscadm get iv image-digest)
[ -n "$D" ] || D=$(ls "$P/images" | sed -n 's/\.erofs$//p' | head -1)
B=$P/images/$D.erofs
[ -f "$B" ] || fail "no blob $B"
cp "$B" "$T/good.erofs"
chmod u+w "$B"
# a byte in the middle of the file: a data block, not the superblock
size=$(stat -c %s "$B")
printf 'Z' | dd of="$B" bs=1 seek=$((size / 2)) conv=notrunc status=none
rm -f "/run/isc/verified/$D"
out=$(iscadm verify -p iv 2>/dev/null); rc=$?
[ $rc -eq 1 ] || fail "verify of a flipped byte exited $rc: $out"
echo "$out" | grep -q "^layer:.*digest mismatch" || fail "verify did not name the layer: $out"
ok "verify: one byte changed in the image layer is found (exit 1)"

# ---- a rebuilt layer: one file's mode and owner changed, the digest not re-recorded
mnt=$T/mnt; tree=$T/tree; mkdir -p "$mnt" "$tree"
mount -t erofs -o ro,loop "$T/good.erofs" "$mnt" 2>/dev/null ||
	{ mount -o ro -t erofs "$(losetup -f --show -r "$T/good.erofs")" "$mnt" || fail "mount the good blob"; }
cp -a "$mnt/." "$tree/"
umount "$mnt"
chmod 4755 "$tree/bin/busybox"; chown 5:7 "$tree/etc/hostname" 2>/dev/null || chown 5:7 "$tree/etc/passwd"
echo "changed" >> "$tree/etc/group"
mkfs.erofs --quiet -zlz4hc "$B" "$tree" >/dev/null || fail "mkfs.erofs"
rm -f "/run/isc/verified/$D"
out=$(iscadm verify -p iv 2>/dev/null); rc=$?
[ $rc -eq 1 ] || fail "verify of a rebuilt layer exited $rc: $out"
echo "$out" | grep -q "^file:/bin/busybox:.*mode 0755 -> 4755" || fail "no mode finding: $out"
echo "$out" | grep -q '^file:/etc/\(hostname\|passwd\):.*owner 0\\:0 -> 5\\:7' || fail "no owner finding: $out"
echo "$out" | grep -q "^file:/etc/group:.*content" || fail "no content finding: $out"
n=$(echo "$out" | grep -c '^file:')
[ "$n" -eq 3 ] || fail "verify named $n files, wanted 3: $out"
iscadm verify --json iv 2>/dev/null | jq -e '[.[] | select(.finding == "file")] | length == 3' >/dev/null ||
	fail "verify --json"
ok "verify: a rebuilt layer's mode, owner and content changes named file by file"

cp "$T/good.erofs" "$B"; chmod 0444 "$B"
rm -f "/run/isc/verified/$D"
iscadm verify iv >/dev/null 2>&1 || fail "verify after restoring the blob"
iscadm boot iv || fail "boot after restoring"
iscadm halt iv
expect_err 2 "no-such" iscadm verify no-such
echo "t_integrity: all passed"
