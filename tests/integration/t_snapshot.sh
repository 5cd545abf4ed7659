# Snapshots, rollback, clones, promote, reset to known good, pool check: a running ISC's
# snapshot under a writer is a prefix of the final file; rollback (and -r), a clone that boots
# and is isolated from its origin both ways; reset after an attacker-like change to /var;
# destroy refused while a clone stands on the snapshot, allowed after promote; SIGKILL at
# random points of snapshot, clone and rollback (SNAP_KILLS each, default 20): pool check
# repairs and the ISC boots in the before or the after state, never a mix; bad input.
. "$(dirname "$0")/lib.sh"

KILLS=${SNAP_KILLS:-20}
setup_pool
# flexible-configuration: several writable layers (/var, /etc, /root, /home), so a mix of
# two states would show
new_isc it-snap --profile flexible-configuration
new_isc it-none --profile none

# state ISC: what /var/a and /etc/a hold, as "VAR/ETC" (the ISC booted for the read)
state() {
	iscadm boot "$1" >/dev/null || fail "boot $1"
	in_isc "$1" 'echo "$(cat /var/a 2>/dev/null || echo -)/$(cat /etc/a 2>/dev/null || echo -)"'
	iscadm halt "$1" >/dev/null || fail "halt $1"
}
# put ISC VALUE: /var/a and /etc/a both hold VALUE
put() {
	iscadm boot "$1" >/dev/null || fail "boot $1"
	in_isc "$1" "echo $2 > /var/a && echo $2 > /etc/a" || fail "write $1"
	iscadm halt "$1" >/dev/null || fail "halt $1"
}
snaps() { iscadm snapshot -l -p "$1" | cut -d: -f1 | sed "s/^$1@//" | tr '\n' ' '; }

# ---- known good at create, listing ----------------------------------------------------
[ "$(snaps it-snap)" = "created " ] || fail "a new ISC's snapshots: $(snaps it-snap)"
iscadm snapshot -l --json it-snap | jq -e '.[0].known_good == "yes" and .[0].snapshot == "it-snap@created"' \
	>/dev/null || fail "snapshot -l --json"
ok "a new ISC has its known-good snapshot 'created'; snapshot -l, -p and --json"

# ---- halted snapshot, rollback ---------------------------------------------------------
put it-snap one
iscadm snapshot it-snap@s1 >/dev/null || fail "snapshot s1"
put it-snap two
iscadm snapshot it-snap@s2 --known-good >/dev/null || fail "snapshot s2"
put it-snap three
[ "$(state it-snap)" = "three/three" ] || fail "state before rollback"
iscadm rollback it-snap@s1 >/dev/null || fail "rollback s1"
[ "$(state it-snap)" = "one/one" ] || fail "after rollback to s1: $(state it-snap)"
[ "$(snaps it-snap)" = "created s1 s2 " ] || fail "later snapshots kept: $(snaps it-snap)"
iscadm rollback it-snap@s2 >/dev/null || fail "rollback s2"
[ "$(state it-snap)" = "two/two" ] || fail "after rollback to s2"
iscadm rollback -r it-snap@s1 >/dev/null || fail "rollback -r s1"
[ "$(snaps it-snap)" = "created s1 " ] || fail "rollback -r kept: $(snaps it-snap)"
[ "$(state it-snap)" = "one/one" ] || fail "after rollback -r"
ok "halted snapshots; rollback to each (later kept), rollback -r drops the later ones"

# profile none: the whole root is its layer
iscadm boot it-none >/dev/null && in_isc it-none 'echo n1 > /etc/n' && iscadm halt it-none >/dev/null ||
	fail "profile none write"
iscadm snapshot it-none@a >/dev/null || fail "snapshot none"
iscadm boot it-none >/dev/null && in_isc it-none 'echo n2 > /etc/n' && iscadm halt it-none >/dev/null
iscadm rollback it-none@a >/dev/null || fail "rollback none"
iscadm boot it-none >/dev/null
[ "$(in_isc it-none 'cat /etc/n')" = "n1" ] || fail "profile none after rollback"
iscadm halt it-none >/dev/null
ok "profile none: the root layer snapshotted and rolled back"

# ---- a running ISC's snapshot under a writer: a prefix, never torn -----------------------
new_isc it-run --profile fixed-configuration
iscadm boot it-run >/dev/null || fail "boot it-run"
iscadm login it-run -- sh -c 'i=0; while [ ! -e /var/stop ]; do echo "line $i" >> /var/w; i=$((i+1)); done' &
WPID=$!
sleep 0.3
for k in 1 2 3; do
	iscadm snapshot it-run@w$k >/dev/null || fail "running snapshot w$k"
	sleep 0.2
done
in_isc it-run 'touch /var/stop'
wait $WPID
final=$(in_isc it-run 'cat /var/w')
nfinal=$(printf '%s\n' "$final" | wc -l)
iscadm halt it-run >/dev/null
prev=0
for k in 1 2 3; do
	iscadm rollback it-run@w$k >/dev/null || fail "rollback w$k"
	iscadm boot it-run >/dev/null
	got=$(in_isc it-run 'cat /var/w')
	iscadm halt it-run >/dev/null
	n=$(printf '%s\n' "$got" | wc -l)
	[ "$n" -gt "$prev" ] || fail "snapshot w$k has $n lines, w$((k - 1)) had $prev"
	[ "$got" = "$(printf '%s\n' "$final" | head -n "$n")" ] || fail "snapshot w$k is not a prefix of the final file"
	[ "$got" = "$(seq 0 $((n - 1)) | sed 's/^/line /')" ] || fail "snapshot w$k is torn"
	prev=$n
done
ok "three snapshots of a running ISC under a writer: $prev of $nfinal lines at the last, each a whole prefix"

# ---- clone, isolation both ways, destroy refused, promote --------------------------------
put it-snap four
iscadm snapshot it-snap@base >/dev/null || fail "snapshot base"
iscadm clone it-snap@base it-clone >/dev/null || fail "clone"
TEST_ISCS="it-clone $TEST_ISCS"
[ "$(iscadm get it-clone origin)" = "it-snap@base" ] || fail "origin"
[ "$(iscadm get it-clone uid)" != "$(iscadm get it-snap uid)" ] || fail "the clone shares the uid range"
[ "$(iscadm get it-clone encryption-root)" = "it-snap" ] || fail "the clone's encryption root"
[ "$(state it-clone)" = "four/four" ] || fail "the clone boots with the snapshot's state"
put it-clone clone
put it-snap origin
[ "$(state it-clone)" = "clone/clone" ] || fail "the origin's write reached the clone"
[ "$(state it-snap)" = "origin/origin" ] || fail "the clone's write reached the origin"
iscadm boot it-clone >/dev/null
in_isc it-clone 'ls -ln /var/a' | awk '{ exit !($3 == 0 && $4 == 0) }' || fail "the clone's files are not root's inside"
iscadm halt it-clone >/dev/null
ok "clone: boots on the snapshot, own uid range, same encryption root, isolated both ways"
expect_err 1 "has a clone, it-clone" iscadm destroy it-snap@base
expect_err 1 "has a clone" iscadm destroy it-snap
expect_err 1 "has a clone, it-clone" iscadm rollback -r it-snap@s1
iscadm boot it-clone >/dev/null
expect_err 1 "running: halt it first" iscadm promote it-clone
iscadm halt it-clone >/dev/null
iscadm promote it-clone >/dev/null || fail "promote"
[ "$(iscadm get it-clone origin)" = "-" ] || fail "origin after promote"
iscadm destroy it-snap@base >/dev/null || fail "destroy after promote"
[ "$(state it-clone)" = "clone/clone" ] || fail "the promoted clone's state"
iscadm rollback it-clone@created >/dev/null || fail "rollback the promoted clone to its first state"
[ "$(state it-clone)" = "four/four" ] || fail "the promoted clone's first state: $(state it-clone)"
ok "destroy refused while a clone stands on the snapshot; promote (halted); then allowed"

# ---- reset to known good after an attacker-like change ----------------------------------
put it-snap good
iscadm snapshot it-snap@good --known-good | grep -qx "it-snap@good (known good)" || fail "snapshot --known-good"
iscadm boot it-snap >/dev/null
in_isc it-snap 'echo owned > /var/a; mkdir -p /var/www; echo defaced > /var/www/index.html; echo 0wn > /etc/a'
iscadm halt it-snap >/dev/null
iscadm snapshot it-snap@later >/dev/null || fail "snapshot later"
# ---- diff against a snapshot: what changed since, for forensics --------------------------------
d=$(iscadm diff -p it-snap @good | cut -d: -f1,2 | sort | tr '\n' ' ')
[ "$d" = "C:/etc/a C:/var/a C:/var/www/index.html " ] || fail "diff @good: $d"
iscadm diff -p it-snap @good | grep -q '^C:/var/a:content$' || fail "diff @good detail: $(iscadm diff -p it-snap @good)"
[ "$(iscadm diff --json it-snap@good | jq length)" = 3 ] || fail "diff ISC@SNAP --json"
[ -z "$(iscadm diff -p it-snap @later)" ] || fail "diff @later is not empty: $(iscadm diff -p it-snap @later)"
iscadm boot it-snap >/dev/null
in_isc it-snap 'rm /etc/a; echo new > /var/new; chmod 600 /var/a'
d=$(iscadm diff -p it-snap @later | cut -d: -f1,2,3 | sort | tr '\n' ' ')
[ "$d" = "A:/var/new: C:/var/a:mode 0644 -> 0600 D:/etc/a: " ] || fail "diff @later of the running ISC: $d"
iscadm halt it-snap >/dev/null
expect_err 1 "no snapshot it-snap@nope" iscadm diff it-snap @nope
expect_err 2 "expected @SNAPSHOT" iscadm diff it-snap later
ok "diff ISC @SNAP: added, changed (content, mode) and deleted since a snapshot, halted and running; nothing since the last"
out=$(iscadm reset it-snap) || fail "reset"
printf '%s\n' "$out" | grep -q "reset to it-snap@good" || fail "reset chose: $out"
[ "$(state it-snap)" = "good/good" ] || fail "after reset"
iscadm boot it-snap >/dev/null
in_isc it-snap 'cat /var/www/index.html 2>/dev/null' | grep -q defaced && fail "the defaced page survived reset"
iscadm halt it-snap >/dev/null
ok "reset: back to the newest known-good snapshot, the attacker's /var and /etc gone"

# ---- bad input: one line, nothing changed ---------------------------------------------
before=$(iscadm get it-snap)
expect_err 2 "expected ISC@SNAPSHOT" iscadm snapshot it-snap
expect_err 2 "expected ISC@SNAPSHOT" iscadm snapshot 'it-snap@../x'
expect_err 1 "exists" iscadm snapshot it-snap@s1
expect_err 1 "no snapshot it-snap@nope" iscadm rollback it-snap@nope
expect_err 1 "no snapshot it-snap@nope" iscadm destroy it-snap@nope
expect_err 1 "no ISC named nope" iscadm snapshot nope@x
expect_err 1 "not a clone" iscadm promote it-snap
expect_err 1 "already exists" iscadm clone it-snap@s1 it-none
iscadm boot it-snap >/dev/null
expect_err 1 "running: halt it first" iscadm rollback it-snap@s1
iscadm halt it-snap >/dev/null
[ "$(iscadm get it-snap)" = "$before" ] || fail "bad input changed the record"
iscadm pool check >/dev/null || fail "pool check after bad input"

# ---- SIGKILL at random points ---------------------------------------------------------------
# kill_at CMD...: start it, SIGKILL it after 0 to 60 ms (its whole run is about 50 ms)
kill_at() {
	"$ISCADM" "$@" >/dev/null 2>&1 &
	local pid=$!
	sleep "0.0$((RANDOM % 60 + 10))"
	sleep "0.00$((RANDOM % 10))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
}
# after a kill: pool check finds nothing, or repairs; then it finds nothing
checked() {
	local out
	out=$(iscadm pool check 2>/dev/null) && return 1
	iscadm pool check --repair >/dev/null || fail "pool check --repair: $out"
	iscadm pool check >/dev/null || fail "still found after repair: $(iscadm pool check 2>&1)"
	return 0
}
iscadm destroy -f it-run >/dev/null
iscadm destroy -f it-none >/dev/null
put it-snap base
iscadm snapshot it-snap@k0 >/dev/null || fail "snapshot k0"
rep_s=0 rep_r=0 rep_c=0 after_s=0 after_r=0 after_c=0
for i in $(seq 1 "$KILLS"); do
	# snapshot (halted): after or before, the state the same
	kill_at snapshot "it-snap@ks$i"
	checked && rep_s=$((rep_s + 1))
	[ "$(state it-snap)" = "base/base" ] || fail "kill $i in snapshot: state $(state it-snap)"
	iscadm snapshot -l -p it-snap | grep -q "^it-snap@ks$i:" && after_s=$((after_s + 1)) &&
		{ iscadm destroy "it-snap@ks$i" >/dev/null || fail "destroy ks$i"; }
	# rollback: every layer on the snapshot's state, or none
	put it-snap "new$i"
	kill_at rollback it-snap@k0
	checked && rep_r=$((rep_r + 1))
	st=$(state it-snap)
	case $st in
	"new$i/new$i") ;;
	base/base) after_r=$((after_r + 1)) ;;
	*) fail "kill $i in rollback: a mix, $st" ;;
	esac
	# clone: whole (and boots on the snapshot's state) or absent
	kill_at clone it-snap@k0 it-kc
	checked && rep_c=$((rep_c + 1))
	if iscadm get it-kc name >/dev/null 2>&1; then
		after_c=$((after_c + 1))
		[ "$(state it-kc)" = "base/base" ] || fail "kill $i in clone: the clone's state"
		iscadm destroy it-kc >/dev/null || fail "destroy the clone"
	fi
	[ -e "$ISC_ROOT/pool/isc/it-kc" ] && fail "kill $i in clone: a half clone"
	put it-snap base
done
iscadm pool check >/dev/null || fail "pool check at the end"
ok "SIGKILL x$KILLS each: snapshot (repaired $rep_s, after $after_s), rollback (repaired $rep_r, after $after_r), clone (repaired $rep_c, after $after_c); never a mix"

# an interrupted operation's journal stops boot until repaired
echo "snapshot 999 0 0" > "$ISC_ROOT/pool/isc/it-snap/snapshot.op"
expect_err 1 "a snapshot operation was interrupted" iscadm boot it-snap
iscadm pool check --repair >/dev/null || fail "repair the planted journal"
[ "$(state it-snap)" = "base/base" ] || fail "state after the planted journal"
ok "boot refuses while a snapshot operation's journal is there; pool check --repair, then it boots"

# a half-made create, an image build's staging and a spare /scratch a killed
# supervisor was making: reported, then repaired
mkdir -p "$ISC_ROOT/pool/tmp/create-it-half/data"
mkdir "$ISC_ROOT/pool/images/.build-half"
# (pid 4194305 is past the kernel's PID_MAX_LIMIT: its maker is gone; one
# whose maker lives, ours, is being made and stays)
mkdir -p "$ISC_ROOT/pool/templates" && : > "$ISC_ROOT/pool/templates/.spare-67108864.4194305"
: > "$ISC_ROOT/pool/templates/.spare-67108864.$$"
out=$(iscadm pool check 2>&1) && fail "pool check found nothing"
printf '%s\n' "$out" | grep -q "tmp/create-it-half: left by an interrupted create" || fail "pool check: $out"
printf '%s\n' "$out" | grep -q "images/.build-half: staging" || fail "pool check: $out"
printf '%s\n' "$out" | grep -q "templates/.spare-67108864.4194305: left by an interrupted boot" || fail "pool check: $out"
printf '%s\n' "$out" | grep -q "spare-67108864.$$" && fail "pool check: a live maker's file: $out"
iscadm pool check --repair | grep -c '^repaired: ' | grep -qx 3 || fail "pool check --repair"
[ -e "$ISC_ROOT/pool/tmp/create-it-half" ] && fail "not repaired"
[ -e "$ISC_ROOT/pool/templates/.spare-67108864.4194305" ] && fail "the spare's leftover not repaired"
[ -e "$ISC_ROOT/pool/templates/.spare-67108864.$$" ] || fail "a live maker's file removed"
rm -f "$ISC_ROOT/pool/templates/.spare-67108864.$$"
iscadm pool check >/dev/null || fail "pool check after repair"
ok "pool check reports an interrupted create, a build's staging and a spare's file; --repair removes them"
echo "t_snapshot: all passed"
