# run --rm is one-shot and leaves nothing; a killed supervisor is detected and boot works again.
. "$(dirname "$0")/lib.sh"
setup_pool
out=$(iscadm run --rm --image base -- /bin/sh -c 'echo hello; hostname; exit 3'); rc=$?
[ $rc -eq 3 ] || fail "run exit status $rc"
echo "$out" | grep -q hello || fail "run output: $out"
[ -z "$(iscadm list -p)" ] || fail "run left an ISC: $(iscadm list -p)"
ok "run --rm returns the status and removes the ISC"
[ "$(echo piped | iscadm run --rm --image base -- cat)" = piped ] || fail "run stdin"
# one relay for the three: a session that never reads its input still gets its output out,
# and a large input goes in whole
out=$(head -c 300000 /dev/zero | iscadm run --rm --image base -- /bin/sh -c 'seq 1 50000 | tail -1; echo e >&2' 2>&1)
[ "$out" = "$(printf '50000\ne')" ] || fail "unread input held the output: $out"
[ "$(head -c 300000 /dev/zero | iscadm run --rm --image base -- wc -c)" = 300000 ] || fail "input cut"
ok "stdin, stdout and stderr relayed by one relay"

# a run --rm killed with its iscadm leaves its ISC: pool check names it, --repair removes it
iscadm run --rm --image base -- /bin/sleep 60 >/dev/null 2>&1 & bg=$!
disown $bg   # its SIGKILL below is no news
run=
for i in $(seq 100); do run=$(iscadm list -p | sed -n 's/^\(run-[0-9]*\):running:.*/\1/p'); [ -n "$run" ] && break; sleep 0.1; done
[ -n "$run" ] || fail "the run never ran: $(iscadm list -p)"
rpid=${run#run-}
out=$(iscadm pool check 2>&1) || fail "pool check with a run going: $out"
printf '%s' "$out" | grep -q "run-$rpid" && fail "pool check named a live run: $out"
kill -9 "$rpid"
sup=$(sed -n 's/^supervisor=//p' /run/isc/run-$rpid/state 2>/dev/null)
[ -n "$sup" ] && kill -9 "$sup"
for i in $(seq 50); do iscadm list -p | grep -q "^run-$rpid:installed" && break; sleep 0.1; done
out=$(iscadm pool check 2>&1); rc=$?
[ $rc -ne 0 ] || fail "pool check found nothing"
printf '%s' "$out" | grep -q "ISC run-$rpid: left by an interrupted run --rm" || fail "pool check said: $out"
out=$(iscadm pool check --repair 2>&1) || true
iscadm list -p | grep -q "^run-$rpid:" && fail "repair left run-$rpid"
out=$(iscadm pool check 2>&1) || fail "pool check after repair: $out"
ok "a killed run --rm: pool check names it, --repair removes it"

# a run's record is never synced (it dies with its key): a crash may leave its config empty or
# cut; pool check still knows it by its name and its dead key, and --repair removes it whole
iscadm run --rm --image base -- /bin/sleep 60 >/dev/null 2>&1 & bg=$!
disown $bg
run=
for i in $(seq 100); do run=$(iscadm list -p | sed -n 's/^\(run-[0-9]*\):running:.*/\1/p'); [ -n "$run" ] && break; sleep 0.1; done
[ -n "$run" ] || fail "the second run never ran: $(iscadm list -p)"
rpid=${run#run-}
sup=$(sed -n 's/^supervisor=//p' /run/isc/run-$rpid/state 2>/dev/null)
kill -9 "$rpid"; [ -n "$sup" ] && kill -9 "$sup"
for i in $(seq 50); do iscadm list -p | grep -q "^run-$rpid:installed" && break; sleep 0.1; done
: > "$ISC_ROOT/pool/isc/run-$rpid/config"
out=$(iscadm pool check 2>&1) && fail "pool check found nothing in a torn run record"
printf '%s' "$out" | grep -q "ISC run-$rpid: left by an interrupted run --rm" || fail "pool check said: $out"
out=$(iscadm pool check --repair 2>&1) || true
[ -e "$ISC_ROOT/pool/isc/run-$rpid" ] && fail "repair left the torn record: $out"
out=$(iscadm pool check 2>&1) || fail "pool check after repairing the torn record: $out"
ok "a run record torn by a crash: pool check names it, --repair removes it"

# ... but not an ISC of that name from before names were kept (its key is in the pool's keys/)
iscadm create it-guard --image base >/dev/null || fail "create it-guard"
cp "$ISC_ROOT/pool/isc/it-guard/config" "$T/guard-config"
mv "$ISC_ROOT/pool/isc/it-guard" "$ISC_ROOT/pool/isc/run-99998"
: > "$ISC_ROOT/pool/isc/run-99998/config"
out=$(iscadm pool check --repair 2>&1)
[ -d "$ISC_ROOT/pool/isc/run-99998/data" ] || fail "repair removed an ISC whose key the pool keeps: $out"
printf '%s' "$out" | grep -q "run-99998: left by an interrupted run" && fail "pool check: $out"
mv "$ISC_ROOT/pool/isc/run-99998" "$ISC_ROOT/pool/isc/it-guard"
cp "$T/guard-config" "$ISC_ROOT/pool/isc/it-guard/config"
iscadm destroy it-guard >/dev/null || fail "destroy it-guard"
ok "a torn record whose data key the pool keeps is not taken for a run's"

# run-NUMBER names are the runs': create refuses one, and other names like it pass
out=$(iscadm create run-42 --image base 2>&1) && fail "create took a run's name"
printf '%s' "$out" | grep -q "names run-NUMBER are kept for run --rm" || fail "create run-42 said: $out"
iscadm list -p | grep -q '^run-42:' && fail "a refused create left run-42"
iscadm create run-x --image base >/dev/null 2>&1 || fail "create run-x refused"
iscadm destroy run-x >/dev/null 2>&1 || fail "destroy run-x"
ok "names run-NUMBER are kept for run --rm"

new_isc it-stale
iscadm boot it-stale || fail boot
pid=$(sed -n 's/^supervisor=//p' /run/isc/it-stale/state)
kill -9 "$pid"
for i in $(seq 50); do iscadm list -p | grep -q '^it-stale:installed' && break; sleep 0.1; done
iscadm list -p | grep -q '^it-stale:installed' || fail "stale state: $(iscadm list -p)"
ok "killed supervisor: state installed"
iscadm boot it-stale || fail "boot after stale"
in_isc it-stale 'true' || fail "login after reboot"
iscadm halt it-stale
ok "boot works again"

# a supervisor killed and never followed by a command for its ISC: pool close removes its
# cgroups, with the ISC's processes still in them
iscadm boot it-stale || fail "boot for the sweep"
pid=$(sed -n 's/^supervisor=//p' /run/isc/it-stale/state)
grp=$(ls -d /sys/fs/cgroup/pids/isc/it-stale /sys/fs/cgroup/isc/it-stale /sys/fs/cgroup/isc.slice/isc-it-stale.scope/isc \
	2>/dev/null | head -1)
[ -n "$grp" ] || fail "no cgroup for it-stale"
procs=$(find "$grp" -name cgroup.procs -exec cat {} + | wc -l)
[ "$procs" -gt 0 ] || fail "no process in the ISC's groups"
kill -9 "$pid"
for i in $(seq 50); do iscadm list -p | grep -q '^it-stale:installed' && break; sleep 0.1; done
case $grp in
*.scope/isc)
	# under systemd: the ISC died with its supervisor, the scope is empty, and systemd
	# collects it (CollectMode=inactive-or-failed) before anyone of isc comes by
	for i in $(seq 100); do [ -e "${grp%/isc}" ] || break; sleep 0.1; done
	[ -e "${grp%/isc}" ] && fail "systemd did not collect the dead supervisor's scope ${grp%/isc}"
	out=$(iscadm pool close 2>&1) || fail "pool close: $out"
	ok "systemd collected the dead supervisor's scope" ;;
*)
	out=$(iscadm pool close 2>&1) || fail "pool close: $out"
	printf '%s' "$out" | grep -qx "iscadm: removed the cgroups of ISC it-stale, whose supervisor had died" ||
		fail "pool close said: $out" ;;
esac
[ -e "$grp" ] && fail "cgroup $grp left"
ls -d /sys/fs/cgroup/*/isc /sys/fs/cgroup/isc 2>/dev/null | grep . && fail "the shared parent group left"
ok "pool close removes a dead supervisor's cgroups and the processes in them"

# the supervisor keeps nothing of its caller's: a descriptor open in the shell that ran
# iscadm boot (a lock, a terminal, a file) is not among its descriptors
exec 7>"$T/caller-canary"
iscadm boot it-stale || fail "boot with a descriptor open"
exec 7>&-
pid=$(sed -n 's/^supervisor=//p' /run/isc/it-stale/state)
ls -l "/proc/$pid/fd" | grep -q caller-canary && fail "the supervisor holds the caller's descriptor"
iscadm halt it-stale
ok "the supervisor holds no descriptor of its caller's"

# every boot of an image reads the host's one mount of its file (/run/isc/images/DEV-INO, in a
# private mount of its own): two ISCs at once and a run --rm after them add none; image rm of
# an image no ISC uses and pool close remove theirs
POOLDEV=$(printf '%x' "$(stat -c %d "$ISC_ROOT/pool/.")")
shared() { grep -c " /run/isc/images/$POOLDEV-[0-9a-f]* " /proc/self/mountinfo; }
shared_of() { grep -c " /run/isc/images/$POOLDEV-$(printf '%x' "$(stat -c %i "$1")") " /proc/self/mountinfo; }
blob() { echo "$ISC_ROOT/pool/images/$(sed -n 's/^digest=//p' "$ISC_ROOT/pool/images/tags/$1").erofs"; }
new_isc it-share
iscadm boot it-stale || fail "boot it-stale"
iscadm boot it-share || fail "boot it-share"
iscadm run --rm --image base -- /bin/true || fail "run beside them"
[ "$(shared)" = 1 ] || fail "shared mounts of one image: $(shared)"
[ "$(shared_of "$(blob base)")" = 1 ] || fail "the shared mount is not of base's file"
grep " /run/isc/images/$POOLDEV-" /proc/self/mountinfo | grep -q " ro," || fail "the shared mount is writable"
grep " /run/isc/images " /proc/self/mountinfo | grep -q "shared:" && fail "/run/isc/images propagates"
iscadm halt it-stale; iscadm halt it-share
mkdir -p "$T/other/bin"; cp /bin/busybox "$T/other/bin/"; ln -s busybox "$T/other/bin/true"
echo other > "$T/other/marker"
iscadm image build other --from "dir:$T/other" >/dev/null 2>&1 || fail "image build other"
ob=$(blob other)
iscadm run --rm --image other -- /bin/true || fail "run other"
[ "$(shared_of "$ob")" = 1 ] || fail "no shared mount of other"
iscadm image rm other >/dev/null || fail "image rm other"
[ "$(shared)" = 1 ] || fail "image rm left its shared mount: $(shared)"
iscadm pool close >/dev/null 2>&1 || fail "pool close"
[ "$(shared)" = 0 ] || fail "pool close left $(shared) shared mounts"
ok "one shared mount per image file for every boot, none propagating; gone with image rm and pool close"
