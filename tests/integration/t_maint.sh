#!/bin/bash
# t_maint.sh - host-only maintenance: boot -w/-W, login -T, image versions, revert, prune, crash in a commit.
. "$(dirname "$0")/lib.sh"
setup_pool
N=it-maint
new_isc $N
versions() { iscadm history $N | wc -l; }
images() { ls "$ISC_ROOT/pool/images" | grep -c '\.erofs$'; }
staging() { ls -A "$ISC_ROOT/pool/images" | grep -c '^\.\(new\|build\)-'; }

# ---- boot -w: the whole root writable until halt, then committed ----------------------
# a blob nothing names (what a crash between storing and recording one leaves) goes at the
# next commit
orphan=$(printf 'f%.0s' $(seq 64))
echo x > "$ISC_ROOT/pool/images/$orphan.erofs"; echo x > "$ISC_ROOT/pool/images/$orphan.manifest"
iscadm boot -w $N || fail "boot -w"
iscadm list -p | grep -qx "$N:running:fixed-configuration:W:base" || fail "list -p does not show W"
iscadm notes $N | grep -q "NOTICE: Read-only ISC booted read-write" || fail "no -w notice"
in_isc $N 'echo v2 > /etc/version' || fail "write /etc/version under -w"
in_isc $N 'isc-svc info' | grep -qx "mode: read-write" || fail "info mode under -w"
iscadm halt $N || fail "halt -w"
[ "$(versions)" = 2 ] || fail "history after -w: $(iscadm history $N)"
[ ! -e "$ISC_ROOT/pool/images/$orphan.erofs" ] && [ ! -e "$ISC_ROOT/pool/images/$orphan.manifest" ] ||
	fail "an unreferenced blob survived a commit"
[ -e "$ISC_ROOT/pool/images/$(iscadm history $N | head -1 | cut -d' ' -f1).erofs" ] ||
	fail "the commit removed the image"
iscadm history $N | tail -1 | grep -q " -w [0-9]* current$" || fail "last version not -w/current"
iscadm boot $N || fail "boot"
iscadm list -p | grep -qx "$N:running:fixed-configuration:R:base" || fail "list -p does not show R"
[ "$(in_isc $N cat /etc/version)" = v2 ] || fail "/etc/version lost"
out=$(in_isc $N 'echo v3 > /etc/version' 2>&1) && fail "read-only boot wrote /etc/version"
printf '%s' "$out" | grep -q "Read-only file system" || fail "wanted EROFS, got $out"
ok "boot -w: /etc/version committed as a new version, read-only again at the next boot"
# the new version is a small delta layer on the image, not a copy of it
cur=$(iscadm history $N | tail -1 | cut -d' ' -f1)
base=$(iscadm history $N | head -1 | cut -d' ' -f1)
dsize=$(stat -c %s "$ISC_ROOT/pool/images/$cur.erofs")
bsize=$(stat -c %s "$ISC_ROOT/pool/images/$base.erofs")
[ "$dsize" -lt 65536 ] && [ "$dsize" -lt $((bsize / 10)) ] || fail "commit layer of $dsize bytes (image $bsize)"
grep -q "^version=$cur,.*,$base\$" "$ISC_ROOT/pool/isc/$N/config" || fail "version not stacked on the image"
ok "the commit is a delta layer of $dsize bytes on the $bsize-byte image"

# only the host chooses: a plain reboot is read-only, reboot -w writable
iscadm reboot $N || fail "reboot"
iscadm list -p | grep -q ":R:" || fail "reboot came back writable"
iscadm reboot -w $N || fail "reboot -w"
iscadm list -p | grep -q ":W:" || fail "reboot -w did not come back writable"
iscadm reboot $N || fail "reboot to read-only"
iscadm list -p | grep -q ":R:" || fail "reboot after -w stayed writable"
[ "$(versions)" = 2 ] || fail "an unchanged -w session made a version"
ok "reboot -w is writable, a plain reboot is read-only again; no change, no version"

# ---- login -T: a trusted session writes through the running read-only root -------------
out=$(in_isc $N 'echo mallory >> /etc/motd' 2>&1) && fail "plain login changed /etc/motd"
iscadm login -T $N -- sh -c 'echo patched-by-T >> /etc/motd' || fail "login -T"
[ "$(in_isc $N 'tail -1 /etc/motd')" = patched-by-T ] || fail "the ISC does not see the -T change"
iscadm login -T $N -- sleep 30 & tpid=$!
sleep 1
# from inside, the trusted session is not even visible: a kill of everything misses it
in_isc $N 'ps | grep -c "[s]leep 30"' | grep -qx 0 || fail "trusted session visible inside"
in_isc $N 'kill -9 -1' >/dev/null 2>&1
sleep 0.5
kill -0 $tpid 2>/dev/null || fail "a process inside killed the trusted session"
kill $tpid 2>/dev/null; wait $tpid 2>/dev/null
iscadm halt $N || fail "halt after -T"
iscadm history $N | tail -1 | grep -q " -T [0-9]* current$" || fail "-T not committed"
ok "login -T changed /etc/motd in a running read-only ISC; plain login cannot; inside cannot kill it"

# ---- boot -W: self-assembly, commit, back read-only -----------------------------------
iscadm boot -W $N -- sh -c 'echo patched > /etc/patch' || fail "boot -W"
iscadm list -p | grep -q ":running:fixed-configuration:R:" || fail "-W did not come back read-only"
[ "$(in_isc $N cat /etc/patch)" = patched ] || fail "/etc/patch missing"
iscadm notes $N | grep -q "NOTICE: This read-only ISC transiently booted read-write" || fail "-W notice"
iscadm notes $N | grep -q "NOTICE: Self-assembly completed, rebooting read-only" || fail "-W done notice"
n=$(versions)
iscadm halt $N
out=$(iscadm boot -W $N -- sh -c 'echo half > /etc/half; echo failing on purpose; exit 1' 2>&1) &&
	fail "boot -W with a failing step succeeded"
printf '%s' "$out" | grep -q "self-assembly failed" || fail "-W failure not reported: $out"
iscadm list -p | grep -q ":running:fixed-configuration:R:" || fail "not running read-only after a failed -W"
[ "$(versions)" = "$n" ] || fail "a failed self-assembly made a version"
in_isc $N 'test -e /etc/half' && fail "a failed self-assembly left its change"
iscadm console $N | grep -q "failing on purpose" || fail "self-assembly output not in the console"
ok "boot -W commits and returns read-only; a failing step commits nothing, output in the console"

# ---- revert, prune ---------------------------------------------------------------------
iscadm halt $N
first=$(iscadm history $N | head -1 | cut -d' ' -f1)
iscadm revert $N "${first:0:12}" || fail "revert"
iscadm boot $N || fail "boot after revert"
in_isc $N 'test -e /etc/version' && fail "revert did not bring back the old root"
iscadm halt $N
expect_err 1 "no version" iscadm revert $N 0123456789ab
expect_err 2 "see iscadm --help" iscadm history $N --prune 0
# a version on the reverted one: a branch; what the old ones stand on goes with them
iscadm boot -w $N || fail "boot -w after revert"
in_isc $N 'echo branch > /etc/branch' || fail "write on the branch"
iscadm halt $N
old=$(iscadm history $N | sed -n '2,4p' | cut -d' ' -f1)
[ "$(versions)" = 5 ] || fail "history before prune: $(iscadm history $N)"
iscadm history $N --prune 2 || fail "prune"
# the newest two and the current one stay, with the versions they are deltas on: here, all
[ "$(versions)" = 5 ] || fail "prune 2 kept $(versions): $(iscadm history $N)"
iscadm history $N --prune 1 || fail "prune 1"
[ "$(versions)" = 2 ] || fail "prune 1 kept $(versions): $(iscadm history $N)"
iscadm history $N | grep -q "^$first " || fail "prune dropped the layer the current version stands on"
iscadm history $N | tail -1 | grep -q " current$" || fail "prune dropped the current version"
for d in $old; do
	[ -e "$ISC_ROOT/pool/images/$d.erofs" ] && fail "a pruned version's layer is still stored"
done
for d in $(iscadm history $N | cut -d' ' -f1); do
	[ -e "$ISC_ROOT/pool/images/$d.erofs" ] || fail "a kept version's image is gone"
done
iscadm boot $N || fail "boot after prune"
[ "$(in_isc $N cat /etc/branch)" = branch ] || fail "the branch lost its change"
in_isc $N 'test -e /etc/version' && fail "the branch sees a pruned version's file"
iscadm halt $N
ok "revert brings the old version back; prune keeps the current, the newest and what they stand on"

# ---- layers: deletions and replaced directories carry through the stack; a commit on a
# version of MAXL layers squashes the deltas into one on the base (or, when they have grown
# big next to it, writes the whole tree again) ----------------------------------------------
MAXL=8
wsession() { iscadm boot -w $N || fail "boot -w ($1)"; in_isc $N "$1" || fail "under -w: $1"; iscadm halt $N; }
last_lower() { grep "^version=" "$ISC_ROOT/pool/isc/$N/config" | tail -1 | sed -n 's/^version=[^,]*,[^,]*,[^,]*,[^,]*,\([0-9a-f]*\)$/\1/p'; }
last_digest() { grep "^version=" "$ISC_ROOT/pool/isc/$N/config" | tail -1 | sed 's/^version=\([0-9a-f]*\),.*/\1/'; }
# the whole root as the ISC sees it: every path, type and mode, owner, and for files size
# and content
listing() {
	in_isc $N 'cd / && find . -xdev | sort | while read -r f; do
		stat -c "%N %f %u %g" "$f" | tr "\n" " "
		if [ -f "$f" ] && [ ! -L "$f" ]; then stat -c %s "$f" | tr "\n" " "; md5sum < "$f"; else echo; fi
	done' | grep -v "^'\?\./opt/n7'\? "
}
# the current version is a delta on the image: 2 layers; 6 commits make MAXL
wsession 'mkdir -p /opt/x && echo 1 > /opt/x/a && echo keep > /opt/keep && ln /opt/keep /opt/keep2'
wsession 'rm -rf /opt/x && mkdir /opt/x && echo 2 > /opt/x/b && rm /etc/branch && chmod 700 /opt'
for i in 3 4 5 6; do wsession "echo $i > /opt/n$i; rm -f /opt/n$((i - 1))"; done
[ -n "$(last_lower)" ] || fail "commits below $MAXL layers are not deltas"
iscadm boot $N || fail "boot on $MAXL layers"
[ "$(in_isc $N 'ls /opt/x')" = b ] || fail "replaced directory shows: $(in_isc $N 'ls /opt/x')"
in_isc $N 'test -e /etc/branch' && fail "a file deleted in a middle layer came back"
[ "$(in_isc $N 'cat /opt/keep /opt/n6')" = "keep
6" ] || fail "files of lower layers lost"
before=$(listing)
iscadm halt $N
wsession 'echo 7 > /opt/n7'
[ "$(last_lower)" = "$first" ] || fail "the commit on $MAXL layers is not one delta on the image"
[ "$(stat -c %s "$ISC_ROOT/pool/images/$(last_digest).erofs")" -lt 65536 ] || fail "squashed layer is big"
iscadm boot $N || fail "boot on the squashed layer"
after=$(listing)
[ "$after" = "$before" ] || fail "the squashed root differs: $(diff <(echo "$before") <(echo "$after") | head -5)"
[ "$(in_isc $N 'cat /opt/n7; stat -c %h /opt/keep')" = "7
2" ] || fail "the last change or a hard link lost in the squash"
iscadm halt $N
ok "deletions, replaced directories and links carry through $MAXL layers; then one squashed delta, same tree"
# deltas grown big next to the image: the commit at MAXL layers writes the whole tree
wsession 'dd if=/dev/urandom of=/opt/big bs=1M count=3 2>/dev/null'
for i in 3 4 5 6 7; do wsession "echo $i > /opt/m$i"; done
[ -n "$(last_lower)" ] || fail "commits below $MAXL layers are not deltas"
wsession 'echo 8 > /opt/m8'
[ -z "$(last_lower)" ] || fail "big deltas were squashed, not written whole"
iscadm boot $N || fail "boot on the whole tree"
[ "$(in_isc $N 'ls /opt/x; cat /opt/keep /opt/m8; wc -c < /opt/big')" = "b
keep
8
3145728" ] || fail "the whole tree differs from the stack"
in_isc $N 'test -e /etc/branch' && fail "the whole tree has a deleted file"
iscadm halt $N
ok "big deltas at $MAXL layers: the whole tree again"
# on that whole tree as base: a directory of the base replaced, files of the base deleted,
# then squashed at MAXL layers -- the same tree as the stack showed
whole=$(last_digest)
wsession 'rm -rf /opt/x && mkdir /opt/x && echo c > /opt/x/c && rm /opt/keep /opt/big'
for i in 3 4 5 6 7 8; do wsession "echo $i > /opt/p$i"; done
iscadm boot $N || fail "boot on $MAXL layers over the whole tree"
[ "$(in_isc $N 'ls /opt/x; test -e /opt/keep || echo gone')" = "c
gone" ] || fail "base directory not replaced: $(in_isc $N 'ls /opt/x /opt')"
before=$(listing)
iscadm halt $N
wsession 'echo 7 > /opt/n7'
[ "$(last_lower)" = "$whole" ] || fail "not squashed onto the whole tree"
iscadm boot $N || fail "boot on the second squash"
after=$(listing)
[ "$after" = "$before" ] || fail "the squashed root differs: $(diff <(echo "$before") <(echo "$after") | head -5)"
iscadm halt $N
ok "a base directory replaced and base files deleted survive a squash: same tree"

# ---- a supervisor killed in the middle of a commit ----------------------------------------
iscadm boot -w $N || fail "boot -w 2"
in_isc $N 'dd if=/dev/urandom of=/usr/big bs=1M count=24 2>/dev/null; echo v9 > /etc/version' ||
	fail "write under -w"
pid=$(sed -n 's/^supervisor=//p' /run/isc/$N/state)
iscadm halt $N & hpid=$!
for i in $(seq 1 200); do   # wait for mkfs.erofs of the commit, then kill the supervisor
	pgrep -f "mkfs.erofs.*$ISC_ROOT" >/dev/null && break
	sleep 0.02
done
kill -9 "$pid"
wait $hpid 2>/dev/null
before=$(versions)
iscadm boot $N || fail "boot after a killed commit"
[ "$(staging)" = 0 ] || fail "stray staging files in images/"
[ "$(in_isc $N cat /etc/version)" = v9 ] || fail "the interrupted commit was not finished"
[ "$(versions)" -ge "$before" ] || fail "versions lost"
for d in $(iscadm history $N | cut -d' ' -f1); do
	[ -e "$ISC_ROOT/pool/images/$d.erofs" ] || fail "version $d has no image"
done
iscadm halt $N
ok "kill -9 of the supervisor during a commit: the next boot finishes it, no stray files"

# ---- bad input ------------------------------------------------------------------------------
expect_err 2 "see iscadm --help" iscadm boot -w
expect_err 2 "see iscadm --help" iscadm boot -w $N -- true
expect_err 1 "is not running" iscadm login -T $N -- true
iscadm create it-none --image base --profile none >/dev/null && TEST_ISCS="$TEST_ISCS it-none"
expect_err 1 "writable already" iscadm boot -w it-none
iscadm boot $N
expect_err 1 "is running" iscadm revert $N
iscadm halt $N
ok "bad maintenance requests: one line each"
