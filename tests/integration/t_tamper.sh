# A flipped byte in the image file refuses the next boot, naming the digest mismatch.
. "$(dirname "$0")/lib.sh"
setup_pool
new_isc it-tamper
iscadm boot it-tamper || fail "boot"
d=$(iscadm get it-tamper image-digest)
f="$ISC_ROOT/pool/images/$d.erofs"
[ -f "$f" ] || fail "no image file $f"
chmod u+w "$f"
b=$(dd if="$f" bs=1 skip=4096 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
printf "\\$(printf '%03o' $(( (b + 1) % 256 )))" | dd of="$f" bs=1 seek=4096 conv=notrunc 2>/dev/null
# a reboot verifies again: the running ISC does not come back on a tampered image
expect_err 1 "digest mismatch" iscadm reboot it-tamper
isc_wait=0; while iscadm list -p | grep -q '^it-tamper:running' && [ $isc_wait -lt 50 ]; do sleep 0.1; isc_wait=$((isc_wait+1)); done
expect_err 1 "digest mismatch" iscadm boot it-tamper
[ "$(iscadm list -p | grep '^it-tamper:' | cut -d: -f2)" = installed ] || fail "state after refusal"
expect_err 1 "mismatch" iscadm image verify base
# reset verifies the known-good state's image before trusting it (the verification cache, which
# the boots above filled, no longer matches a file written since)
expect_err 1 "mismatch" iscadm reset it-tamper
