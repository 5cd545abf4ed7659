# strict, flexible-configuration and none behave as DESIGN.md §4 says.
. "$(dirname "$0")/lib.sh"
setup_pool
new_isc it-strict --profile strict
iscadm boot it-strict || fail "boot strict"
out=$(in_isc it-strict 'touch /var/x' 2>&1) && fail "strict /var writable"
echo "$out" | grep -q "Read-only" || fail "strict /var: $out"
in_isc it-strict 'touch /var/tmp/x /tmp/x' || fail "strict volatile"
iscadm reboot it-strict || fail "reboot strict"
in_isc it-strict 'test -e /var/tmp/x' && fail "strict /var/tmp persisted"
ok "strict: nothing persists, /var read-only, /var/tmp volatile"
iscadm halt it-strict

new_isc it-flex --profile flexible-configuration
iscadm boot it-flex || fail "boot flex"
in_isc it-flex 'echo "10.0.0.9 db" >> /etc/hosts' || fail "flex /etc/hosts"
out=$(in_isc it-flex 'touch /etc/isc/services/evil' 2>&1) && fail "flex /etc/isc writable"
echo "$out" | grep -q "Read-only" || fail "flex /etc/isc: $out"
out=$(in_isc it-flex 'touch /usr/x' 2>&1) && fail "flex /usr writable"
iscadm reboot it-flex || fail "reboot flex"
in_isc it-flex 'grep -q "10.0.0.9 db" /etc/hosts' || fail "flex /etc/hosts lost"
ok "flexible: /etc writable and persistent, /etc/isc fixed"
iscadm halt it-flex

new_isc it-none --profile none
iscadm boot it-none || fail "boot none"
in_isc it-none 'echo kept > /usr/kept && printf "#!/bin/sh\necho ran\n" > /usr/bin/ran && chmod +x /usr/bin/ran && /usr/bin/ran' || fail "none: write/exec"
iscadm reboot it-none || fail "reboot none"
[ "$(in_isc it-none 'cat /usr/kept')" = kept ] || fail "none: /usr/kept lost"
ok "none: a file written in /usr persists"
iscadm halt it-none

# a volume: persistent, writable, noexec
new_isc it-vol --set volume=/srv
iscadm boot it-vol || fail "boot vol"
in_isc it-vol 'echo data > /srv/d' || fail "volume write"
iscadm reboot it-vol
[ "$(in_isc it-vol 'cat /srv/d')" = data ] || fail "volume lost"
ok "volume persists"
iscadm halt it-vol
