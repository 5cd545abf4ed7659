# Defence layers against this kernel: host check lists them; an ISC boots
# without a missing one and says so, unless it requires it; list --json
# and isc-svc info show what is in force.
. "$(dirname "$0")/lib.sh"
hc=$(iscadm host check -p) || fail "host check: $hc"
iscadm host check --json | jq -e 'length > 10 and all(.feature and .present and .follows)' >/dev/null ||
	fail "host check --json: $(iscadm host check --json)"
have() { printf '%s\n' "$hc" | grep -q "^$1:\(yes\|ABI\)"; }
ok "host check: table, -p, --json"

setup_pool
new_isc it-def
want=seccomp
have Landlock && want=$want,landlock
# without MDWE the filter keeps W^X (seccomp-wx)
if have memory-deny-write-exec; then want=$want,mdwe; else want=$want,seccomp-wx; fi
iscadm boot it-def || fail "boot"
got=$(iscadm list --json | jq -r '.[] | select(.name == "it-def") | .defence')
[ "$got" = "$want" ] || fail "defence in force: $got, wanted $want"
in_isc it-def 'isc-svc info' | grep -qx "defence: no_new_privs,capabilities,$(printf '%s' "$want" |
	sed 's/landlock/landlock (ABI [0-9]*)/')" ||
	fail "isc-svc info: $(in_isc it-def 'isc-svc info')"
iscadm halt it-def
ok "in force: $want (list --json, isc-svc info)"

# a kernel without MDWE: boots and says so; require=mdwe refuses
iscadm set it-def require=mdwe || fail "set require"
if have memory-deny-write-exec; then
	iscadm boot it-def || fail "boot with require=mdwe"
	iscadm halt it-def
	ok "require=mdwe on a kernel with MDWE boots"
else
	expect_err 1 "requires mdwe: this kernel" iscadm boot it-def
	iscadm set it-def require=none
	iscadm boot it-def || fail "boot without MDWE"
	iscadm notes it-def | grep -q "NOTICE: mdwe off (this kernel has no PR_SET_MDWE" || fail "no notice in notes"
	iscadm console it-def | grep -q "isc: NOTICE: mdwe off" || fail "no notice in the console"
	iscadm halt it-def
	ok "no MDWE here: boots and says so; require=mdwe refuses"
fi
# the older kernels' way on any kernel (iscd's test switch): the filter keeps W^X, and says so
iscadm set it-def require=none
ISC_NO_MDWE=1 iscadm boot it-def || fail "boot as without MDWE"
iscadm notes it-def | grep -q "NOTICE: mdwe off (this kernel has no PR_SET_MDWE (Linux 6.3)), W^X by the seccomp filter instead" ||
	fail "notes: $(iscadm notes it-def | grep NOTICE)"
got=$(iscadm list --json | jq -r '.[] | select(.name == "it-def") | .defence')
[ "$got" = "${want%,mdwe},seccomp-wx" ] || [ "$got" = "$want" ] || fail "defence without MDWE: $got"
in_isc it-def 'isc-svc info' | grep -q '^defence: .*,seccomp-wx$' || fail "isc-svc info: $(in_isc it-def 'isc-svc info')"
iscadm halt it-def
iscadm set it-def require=mdwe
ISC_NO_MDWE=1 expect_err 1 "requires mdwe: this kernel" iscadm boot it-def
ok "without MDWE: W^X by the seccomp filter (seccomp-wx), said at boot; require=mdwe refuses"
iscadm set it-def mdwe=off || fail "set mdwe=off"
iscadm set it-def require=mdwe || fail "set require"
expect_err 1 "requires mdwe but has mdwe=off" iscadm boot it-def
expect_err 1 "require 'seccomp': expected none, or mdwe and landlock" iscadm set it-def require=seccomp

# pool-wide: every ISC of the pool
iscadm set it-def require=none || fail "set require=none"
iscadm pool set require=mdwe || fail "pool set require"
iscadm pool status | grep -qx 'require:  mdwe' || fail "pool status: $(iscadm pool status)"
expect_err 1 "requires mdwe (pool-wide) but has mdwe=off" iscadm boot it-def
iscadm pool set require=none || fail "pool set require=none"
[ -e "$ISC_ROOT/pool/require" ] && fail "pool require=none left a file"
expect_err 1 "require 'x': expected none" iscadm pool set require=x
expect_err 2 "pool set require=LIST" iscadm pool set memory=1G
ok "pool-wide require"

# the older kernels' overlays (layers attached by path), forced here
iscadm set it-def mdwe=on && iscadm set it-def require=none && iscadm set it-def profile=flexible-configuration ||
	fail "set back"
ISC_OVERLAY_BY_PATH=1 iscadm boot it-def || fail "boot with overlays by path"
mi=$(in_isc it-def 'cat /proc/self/mountinfo')
printf '%s\n' "$mi" | grep -q 'lowerdir=0,' || fail "overlay not by path: $mi"
printf '%s\n' "$mi" | grep -q '/run/isc\|/tmp/isc-it' && fail "host path in the mount table: $mi"
in_isc it-def 'echo 10.0.0.9 db >> /etc/hosts' || fail "/etc not writable"
iscadm reboot it-def || fail "reboot"
in_isc it-def 'grep -q "10.0.0.9 db" /etc/hosts' || fail "/etc lost"
iscadm halt it-def
ls /run/isc/it-def/attic 2>/dev/null | grep -q . && fail "staging left in the attic: $(ls /run/isc/it-def/attic)"
ok "overlays by path (kernels before 6.15): same root, no host path"
