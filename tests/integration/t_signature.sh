#!/bin/bash
# t_signature.sh - require-signature: an unsigned, a wrongly signed and a
# correctly signed image (refused, refused, boots); Debian's minisign and
# isc verify each other's signatures; commits are signed with the pool's
# key; a missing public key never fails open; verify and revert check them.
. "$(dirname "$0")/lib.sh"
command -v minisign >/dev/null || { echo "SKIP: minisign is not installed (make deps installs it)"; exit 77; }

setup_pool
P=$ISC_ROOT/pool
K=$T/keys-sign; mkdir -p "$K"
minisign -G -W -p "$K/good.pub" -s "$K/good.key" >/dev/null || fail "minisign -G"
minisign -G -W -p "$K/other.pub" -s "$K/other.key" >/dev/null || fail "minisign -G (other)"
D=$(iscadm image list -p | awk -F: '$1 == "base" {print $2}')
[ -n "$D" ] || fail "no digest for base"
B=$P/images/$D.erofs

# ---- never fail open: a key that cannot be read is refused when set
expect_err 1 "$K/none.pub" iscadm create sx --image base --set require-signature="$K/none.pub"
new_isc si --set require-signature="$K/good.pub"
expect_err 1 "not signed" iscadm boot si
iscadm list -p | grep -q '^si:installed' || fail "si not left installed"

# ---- signed by a key it does not trust
iscadm image sign base -s "$K/other.key" >/dev/null || fail "image sign (other)"
expect_err 1 "not trusted" iscadm boot si

# ---- signed by Debian's minisign with the trusted key: boots
rm -f "$B.minisig"
minisign -S -s "$K/good.key" -m "$B" >/dev/null || fail "minisign -S"
iscadm boot si || fail "boot with minisign's signature"
ok "unsigned: refused; another key: refused; minisign's signature by the trusted key: boots"
iscadm image verify base -k "$K/good.pub" | grep -q "signature good" || fail "image verify -k"
iscadm halt si

# ---- isc's signature verifies with minisign
rm -f "$B.minisig"
iscadm image sign base -s "$K/good.key" -t "release 1" >/dev/null || fail "image sign"
minisign -V -p "$K/good.pub" -m "$B" | grep -q "release 1" || fail "minisign -V of isc's signature"
ok "isc's signature verifies with minisign -V (trusted comment kept)"

# ---- a forged trusted comment, a flipped signature byte
cp "$B.minisig" "$T/sig.good"
chmod u+w "$B.minisig"
sed -i 's/^trusted comment: release 1$/trusted comment: release 2/' "$B.minisig"
expect_err 1 "trusted comment was altered" iscadm boot si
cp "$T/sig.good" "$B.minisig"
line=$(sed -n 2p "$B.minisig")
flipped=$(printf '%s' "$line" | cut -c1-20)$( [ "$(printf '%s' "$line" | cut -c21)" = A ] && echo B || echo A)$(printf '%s' "$line" | cut -c22-)
sed -i "2s|.*|$flipped|" "$B.minisig"
expect_err 1 "signature" iscadm boot si
cp "$T/sig.good" "$B.minisig"

# ---- the key moved away after set: boot refuses, it does not skip
mv "$K/good.pub" "$K/good.pub.away"
expect_err 1 "requires signatures" iscadm boot si
mv "$K/good.pub.away" "$K/good.pub"
ok "a forged comment, a flipped byte, a vanished public key: each refused"

# ---- a commit is signed by the pool's key; verify checks signatures
iscadm boot -W si -- sh -c 'echo patched > /etc/patch' >/dev/null || fail "boot -W"
N=$(iscadm get si image-digest)
[ "$N" != "$D" ] || fail "no new version"
[ -f "$P/images/$N.erofs.minisig" ] || fail "the commit is not signed"
minisign -V -p "$P/signing/host.pub" -m "$P/images/$N.erofs" >/dev/null || fail "minisign -V of the commit"
iscadm verify si >/dev/null 2>&1 || fail "verify of a signed ISC: $(iscadm verify si 2>&1)"
iscadm halt si
iscadm boot si || fail "boot of the signed commit"
iscadm halt si
ok "boot -W: the commit is signed with the pool's key (minisign -V agrees), boots, verifies"

chmod u+w "$P/images/$N.erofs.minisig"; mv "$P/images/$N.erofs.minisig" "$T/commit.sig"
out=$(iscadm verify -p si 2>/dev/null); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q '^signature:.*not signed' || fail "verify of an unsigned layer ($rc): $out"
expect_err 1 "not signed" iscadm boot si
mv "$T/commit.sig" "$P/images/$N.erofs.minisig"
rm -f "$B.minisig"
expect_err 1 "not signed" iscadm revert si
ok "verify names an unsigned layer; boot and revert refuse it"
echo "t_signature: all passed"
