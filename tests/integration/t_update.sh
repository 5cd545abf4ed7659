# iscadm update ISC --image NEW [--health CMD] [--within SECONDS]: the ISC boots on the new
# image (its /var kept); a health check that passes keeps it there; one that fails in time, or
# a boot that fails, brings it back to the version it was on, by itself, said on the terminal
# and in the audit log.
. "$(dirname "$0")/lib.sh"
setup_pool
# two more images: the busybox tree with a release file, and one that its health check refuses
img=$ISC_ROOT/pool/images/$(iscadm image list --json | jq -r '.[] | select(.name == "base") | .digest').erofs
[ -f "$img" ] || fail "premise: base's image file"
mkdir -p "$T/mnt"
mount -t erofs -o ro,loop "$img" "$T/mnt" || fail "premise: mount base's erofs"
cp -a "$T/mnt" "$T/good" && cp -a "$T/mnt" "$T/bad"
umount "$T/mnt"
echo "release 2" > "$T/good/etc/release-2"
echo "release 2" > "$T/bad/etc/release-2" && touch "$T/bad/etc/broken"
iscadm image build rel2 --from "dir:$T/good" >/dev/null || fail "image build rel2"
iscadm image build rel2-bad --from "dir:$T/bad" >/dev/null || fail "image build rel2-bad"

new_isc it-up
iscadm boot it-up || fail boot
in_isc it-up "echo kept > /var/www/mine" || fail "write /var"
d0=$(iscadm history it-up | awk '/current$/ { print $1 }')
expect_err 2 "update ISC --image NEW" iscadm update it-up
expect_err 2 "--within SECONDS: from 1 to 3600" iscadm update it-up --image rel2 --within 0
expect_err 1 "image no-such not found" iscadm update it-up --image no-such
iscadm list -p | grep -q "^it-up:running:" || fail "a refused update stopped the ISC"

# ---- a health check that passes ---------------------------------------------------------------
out=$(iscadm update it-up --image rel2 --health 'test -f /etc/release-2 && test "$(cat /var/www/mine)" = kept' --within 30) ||
	fail "update to rel2: $out"
printf '%s\n' "$out" | grep -qE "^it-up: updating from ${d0:0:12} to [0-9a-f]{12} \(image rel2\)$" || fail "said: $out"
printf '%s\n' "$out" | grep -qE "^it-up: updated to [0-9a-f]{12}, the health check passed$" || fail "said: $out"
iscadm list -p | grep -q "^it-up:running:.*:rel2$" || fail "list after the update: $(iscadm list -p)"
[ "$(in_isc it-up 'cat /etc/release-2 /var/www/mine')" = "$(printf 'release 2\nkept')" ] || fail "inside after the update"
d1=$(iscadm history it-up | awk '/current$/ { print $1 }')
iscadm history it-up | grep -qE "^$d1 .* update " || fail "history: $(iscadm history it-up)"
out=$(iscadm update it-up --image rel2) && printf '%s\n' "$out" | grep -q "on image rel2 (${d1:0:12}) already" || fail "again: $out"
ok "update to rel2 with a passing health check: running on it, /var kept, a version 'update' in history"

# ---- a health check that fails: back by itself ------------------------------------------------
t0=$(date +%s)
out=$(iscadm update it-up --image rel2-bad --health 'test ! -f /etc/broken' --within 4); rc=$?
secs=$(( $(date +%s) - t0 ))
[ $rc = 1 ] || fail "a failing health check: rc $rc, $out"
printf '%s\n' "$out" | grep -qx "it-up: the health check did not pass within 4 s: going back to ${d1:0:12}" || fail "said: $out"
printf '%s\n' "$out" | grep -qx "it-up: back on ${d1:0:12}, running" || fail "said: $out"
[ "$(iscadm history it-up | awk '/current$/ { print $1 }')" = "$d1" ] || fail "not back on $d1: $(iscadm history it-up)"
iscadm list -p | grep -q "^it-up:running:" || fail "not running after going back"
in_isc it-up "test ! -f /etc/broken && cat /var/www/mine" | grep -qx kept || fail "inside after going back"
iscadm audit it-up --json | jq -e '[.[] | select(.event == "update") | .msg] | any(test("did not pass within 4 s")) and any(test("^back on "))' >/dev/null ||
	fail "the audit log lacks the way back: $(iscadm audit it-up | tail -4)"
ok "a failing health check: back on the version before in ${secs} s, running; the terminal and the audit say so"

# ---- without a health check, on a halted ISC -----------------------------------------------------
iscadm halt it-up || fail halt
out=$(iscadm update it-up --image base) || fail "update to base: $out"
iscadm list -p | grep -q "^it-up:running:.*:base$" || fail "update of a halted ISC boots it: $(iscadm list -p)"
iscadm halt it-up || fail halt
ok "without a health check a boot is enough; a halted ISC is booted on the new image"
