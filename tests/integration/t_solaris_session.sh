# The Solaris immutable-zone session on fixed-configuration, as root inside.
. "$(dirname "$0")/lib.sh"
setup_pool
N=it-sol
new_isc $N
iscadm boot $N || fail "boot"
[ "$(iscadm list -p | grep "^$N:")" = "$N:running:fixed-configuration:R:base" ] || fail "list -p: $(iscadm list -p)"

out=$(in_isc $N 'touch /etc/foo' 2>&1) && fail "touch /etc/foo succeeded"
echo "$out" | grep -q "Read-only file system" || fail "touch /etc/foo: $out"
ok "/etc is read-only"
in_isc $N 'touch /var/tmp/foo && touch /tmp/foo' || fail "writable places"
out=$(in_isc $N 'rm /bin/busybox' 2>&1) && fail "rm busybox succeeded"
echo "$out" | grep -q "Read-only file system" || fail "rm: $out"
# busybox-static has no adduser applet: adding a user means writing /etc/passwd
out=$(in_isc $N 'echo "alice:x:1000:1000::/home/alice:/bin/sh" >> /etc/passwd' 2>&1) && fail "passwd writable"
echo "$out" | grep -q "Read-only file system" || fail "passwd: $out"
out=$(in_isc $N 'touch /var/lib/dpkg/status.new' 2>&1) && fail "dpkg state writable"
echo "$out" | grep -q "Read-only file system" || fail "dpkg: $out"
ok "system files refuse change"

# writable places never execute
out=$(in_isc $N 'cp /bin/busybox /var/tmp/bb && /var/tmp/bb true' 2>&1) && fail "exec from /var/tmp"
echo "$out" | grep -q "Permission denied" || fail "noexec: $out"
out=$(in_isc $N 'cp /bin/busybox /tmp/bb && /tmp/bb true' 2>&1) && fail "exec from /tmp"
ok "writable mounts are noexec"

[ "$(in_isc $N 'isc-svc list')" = "online httpd" ] || fail "isc-svc list: $(in_isc $N 'isc-svc list')"
in_isc $N 'isc-svc disable httpd' || fail "disable"
[ "$(in_isc $N 'isc-svc list')" = "disabled httpd" ] || fail "disabled: $(in_isc $N 'isc-svc list')"
in_isc $N 'wget -q -O - http://127.0.0.1/ 2>&1' | grep -q "It works" && fail "httpd still serving"
iscadm reboot $N || fail "reboot"
[ "$(in_isc $N 'isc-svc list')" = "online httpd" ] || fail "after reboot: $(in_isc $N 'isc-svc list')"
ok "runtime service change vanished at reboot"
sleep 0.5
in_isc $N 'wget -q -O - http://127.0.0.1/' | grep -q "It works" || fail "httpd not serving"
ok "httpd serves on the ISC's loopback"
in_isc $N 'test -e /var/tmp/foo' || fail "/var/tmp/foo lost"
in_isc $N 'test -e /tmp/foo' && fail "/tmp/foo survived"
ok "/var persists, /tmp is volatile"

# identity and isolation
[ "$(in_isc $N 'hostname')" = "$N" ] || fail "hostname"
[ "$(in_isc $N 'id -u')" = 0 ] || fail "not root inside"
in_isc $N "cat /proc/self/mountinfo" | grep -E "$T|/run/isc|/var/lib/isc/pool|isc-it" && fail "host path visible"
ok "no host path in the ISC mount table"
[ "$(printf hi | in_isc $N 'wc -c')" = 2 ] || fail "stdin"
in_isc $N 'exit 7'; [ $? -eq 7 ] || fail "exit status not returned"
ok "login returns the command's status"
# with a terminal on stdin but stdout redirected there is no pty: the session then gets a
# pipe relayed by iscadm, never the operator's terminal itself
if command -v script >/dev/null; then
	echo typed | script -qec "$ISCADM login $N -- sh -c 'readlink /proc/self/fd/0; readlink /proc/self/fd/2; read l; echo got \$l' > $T/relay.out" /dev/null >/dev/null
	grep -q '^/dev/pts' "$T/relay.out" && fail "the operator's terminal went in: $(cat "$T/relay.out")"
	[ "$(grep -c '^pipe:' "$T/relay.out")" = 2 ] || fail "not relayed: $(cat "$T/relay.out")"
	grep -qx "got typed" "$T/relay.out" || fail "input not relayed: $(cat "$T/relay.out")"
	ok "a terminal is relayed through pipes, never passed in"
fi
iscadm console $N | grep -q "isc-init: httpd online" || fail "console: $(iscadm console $N)"
in_isc $N 'logger -t probe hello-from-inside'
sleep 0.3
grep -q "hello-from-inside" "$ISC_ROOT/pool/isc/$N/data/syslog" || fail "/dev/log not recorded"
ok "console and /dev/log recorded on the host"
iscadm halt $N || fail "halt"
[ "$(iscadm list -p | grep "^$N:")" = "$N:installed:fixed-configuration:-:base" ] || fail "after halt"
ok "halted"
