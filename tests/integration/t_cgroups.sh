# cgroups: where an ISC's processes live (v1 hierarchies, the unified v2 one, or the scope a host
# systemd delegates), freeze and thaw, and a frozen ISC halted; nothing left after.
. "$(dirname "$0")/lib.sh"
setup_pool
new_isc it-cg
iscadm boot it-cg || fail boot
init=$(sed -n 's/^pid=//p' /run/isc/it-cg/state)
sup=$(sed -n 's/^supervisor=//p' /run/isc/it-cg/state)
[ -n "$init" ] && [ -n "$sup" ] || fail "no pids in the state file"

# ---- where the groups are ------------------------------------------------------------------
v2=false systemd=false
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && v2=true
$v2 && [ -d /run/systemd/system ] && systemd=true
group_of() { if $v2; then sed -n 's/^0:://p' "/proc/$1/cgroup"; else awk -F: '$2 == "pids" { print $3 }' "/proc/$1/cgroup"; fi; }
if $systemd; then
	top=/isc.slice/isc-it-cg.scope/isc
	[ "$(group_of "$sup")" = /isc.slice/isc-it-cg.scope/supervisor ] ||
		fail "supervisor in $(group_of "$sup"), not its scope's supervisor/ leaf"
	d=$(systemctl show -P Delegate isc-it-cg.scope) || fail "systemctl show"
	[ "$d" = yes ] || fail "scope isc-it-cg.scope: Delegate=$d"
	[ "$(systemctl show -P Slice isc-it-cg.scope)" = isc.slice ] || fail "scope not in isc.slice"
	[ -d /sys/fs/cgroup/isc ] && fail "a group /sys/fs/cgroup/isc outside systemd's tree"
	ok "under systemd: scope isc-it-cg.scope in isc.slice, delegated, the supervisor in its own leaf"
else
	top=/isc/it-cg
fi
[ "$(group_of "$init")" = "$top/payload" ] || fail "isc-init in $(group_of "$init"), not $top/payload"
if $v2; then root=/sys/fs/cgroup$top; else root=/sys/fs/cgroup/pids$top; fi
ok "isc-init in $top/payload ($($v2 && echo v2 || echo v1))"

# a session, born in its own group of the login reserve (CLONE_INTO_CGROUP on v2)
iscadm login it-cg -- sh -c 'i=0; while :; do i=$((i + 1)); echo $i > /tmp/c; mv /tmp/c /tmp/count; sleep 0.05; done' \
	</dev/null >/dev/null 2>&1 &
lpid=$!
for i in $(seq 100); do [ -n "$(cat "$root"/login/s*/cgroup.procs 2>/dev/null)" ] && break; sleep 0.1; done
spid=$(cat "$root"/login/s*/cgroup.procs 2>/dev/null | head -1)
[ -n "$spid" ] || fail "no process in a session group under $root/login"
case $(group_of "$spid") in "$top"/login/s[0-9]*) ;; *) fail "session in $(group_of "$spid")" ;; esac
for i in $(seq 100); do [ -s "/proc/$spid/root/tmp/count" ] && break; sleep 0.1; done
ok "a session's processes in $top/login/s<id>"

# ---- freeze and thaw ----------------------------------------------------------------------
frozen_now() {
	if $v2; then grep -qx 'frozen 1' "$root/cgroup.events"
	else grep -qx FROZEN "/sys/fs/cgroup/freezer$top/freezer.state"; fi
}
count() { cat "/proc/$spid/root/tmp/count" 2>/dev/null; }
if ! $v2 && [ ! -e /sys/fs/cgroup/freezer/cgroup.procs ]; then
	expect_err 1 "no cgroup v1 freezer" iscadm freeze it-cg
	echo "SKIP: this host mounts no cgroup v1 freezer (freeze and thaw not tested)"
	kill "$lpid" 2>/dev/null
	exit 77
fi
iscadm freeze it-cg || fail freeze
frozen_now || fail "freeze returned, the kernel says not frozen"
iscadm list -p | grep -q '^it-cg:frozen:' || fail "list: $(iscadm list -p)"
iscadm list --json | jq -e '.[] | select(.name == "it-cg") | .state == "frozen"' >/dev/null || fail "list --json"
a=$(count); sleep 0.5; b=$(count)
[ -n "$a" ] && [ "$a" = "$b" ] || fail "a frozen ISC's session still counts ($a, $b)"
ok "freeze: every process stopped, list says frozen"
iscadm freeze it-cg || fail "freeze twice"
expect_err 1 "frozen: thaw it first" iscadm login it-cg -- true
iscadm thaw it-cg || fail thaw
frozen_now && fail "thaw returned, the kernel says frozen"
a=$(count); sleep 0.5; b=$(count)
[ "$a" != "$b" ] || fail "a thawed ISC's session does not count ($a, $b)"
iscadm list -p | grep -q '^it-cg:running:' || fail "list after thaw: $(iscadm list -p)"
in_isc it-cg true || fail "login after thaw"
iscadm notes it-cg | grep -q 'frozen by the host' || fail "notes say nothing of the freeze"
ok "thaw: it runs again, logins too, the notes record both"

# ---- a frozen ISC halts ---------------------------------------------------------------------
iscadm freeze it-cg || fail "freeze before halt"
timeout 60 "$ISCADM" halt it-cg || fail "halt of a frozen ISC"
wait "$lpid" 2>/dev/null
iscadm notes it-cg | grep -q 'thawed to stop' || fail "notes: no thaw before the stop"
for i in $(seq 50); do [ -e "$root" ] || break; sleep 0.1; done
[ -e "$root" ] && fail "group $root left after halt"
if $systemd; then
	for i in $(seq 50); do [ -e /sys/fs/cgroup/isc.slice/isc-it-cg.scope ] || break; sleep 0.1; done
	[ -e /sys/fs/cgroup/isc.slice/isc-it-cg.scope ] && fail "scope isc-it-cg.scope left after halt"
fi
ok "a frozen ISC halts (thawed first), its groups go"
expect_err 1 "not running" iscadm freeze it-cg

# again: the next boot finds everything as new (a scope of the same name, the groups)
iscadm boot it-cg || fail "boot again"
in_isc it-cg true || fail "login after boot again"
iscadm halt it-cg
ok "boots again"
