# on-crash: isc-init tells its supervisor when a service is in a crash loop (it gave up restarting
# it); on-crash=restart restarts the ISC after a backoff, up to crash-limit times, then halts it;
# on-crash=halt halts it; alert (the default) records it. Root inside cannot write to that pipe.
. "$(dirname "$0")/lib.sh"
setup_pool
img=$ISC_ROOT/pool/images/$(iscadm image list --json | jq -r '.[] | select(.name == "base") | .digest').erofs
mkdir -p "$T/mnt"
mount -t erofs -o ro,loop "$img" "$T/mnt" || fail "premise: mount base's erofs"
cp -a "$T/mnt" "$T/tree"
umount "$T/mnt"
[ -d "$T/tree/etc/isc/services" ] || fail "premise: base has /etc/isc/services"
printf '#!/bin/sh\nexit 3\n' > "$T/tree/bin/crash" && chmod 755 "$T/tree/bin/crash"
printf 'exec=/bin/crash\n' > "$T/tree/etc/isc/services/crasher"
iscadm image build crashing --from "dir:$T/tree" >/dev/null || fail "image build"

new_isc it-cr --image crashing --set on-crash=restart --set crash-limit=1
new_isc it-ch --image crashing --set on-crash=halt
new_isc it-ca --image crashing
[ "$(iscadm get it-ca on-crash)" = alert ] && [ "$(iscadm get it-ca crash-limit)" = 5 ] || fail "defaults"
expect_err 1 "on-crash 'reboot': expected alert, restart or halt" iscadm set it-ca on-crash=reboot
expect_err 1 "crash-limit '0': expected 1 to 100" iscadm set it-ca crash-limit=0
t0=$(date +%s)
for n in it-cr it-ch it-ca; do iscadm boot $n || fail "boot $n"; done
# isc-init restarts the service with backoff (1, 2, 4, 8 s) and gives up at the 5th failure
for i in $(seq 300); do iscadm list -p | grep -q "^it-ch:installed:" && break; sleep 0.1; done
iscadm list -p | grep -q "^it-ch:installed:" || fail "on-crash=halt: $(iscadm list -p); $(iscadm notes it-ch | tail -3)"
iscadm notes it-ch | grep -q "^isc: service crasher is in a crash loop (isc-init gave up restarting it); on-crash=halt$" ||
	fail "it-ch's notes: $(iscadm notes it-ch | tail -3)"
ok "on-crash=halt: halted $(( $(date +%s) - t0 )) s after the boot, when isc-init gave up on the service"
iscadm list -p | grep -q "^it-ca:running:" || fail "on-crash=alert stopped it"
iscadm notes it-ca | grep -q "crash loop.*on-crash=alert$" || fail "it-ca's notes: $(iscadm notes it-ca | tail -3)"
ok "on-crash=alert: recorded, still running"
for i in $(seq 600); do iscadm list -p | grep -q "^it-cr:installed:" && break; sleep 0.1; done
iscadm list -p | grep -q "^it-cr:installed:" || fail "on-crash=restart with crash-limit=1 never halted: $(iscadm notes it-cr | tail -4)"
n=$(iscadm notes it-cr)
[ "$(printf '%s\n' "$n" | grep -c '^isc: booted it-cr ')" = 2 ] || fail "it-cr booted $(printf '%s\n' "$n" | grep -c '^isc: booted') times"
printf '%s\n' "$n" | grep -q "^isc: restarting after a crash loop (restart 1 of 1)$" || fail "no restart note: $n"
printf '%s\n' "$n" | grep -q "^isc: 1 restarts for crash loops: halting$" || fail "no halt at the limit: $n"
ok "on-crash=restart, crash-limit=1: restarted once after a backoff, halted at the second crash loop ($(( $(date +%s) - t0 )) s)"

# ---- the pipe is isc-init's alone ------------------------------------------------------------------
iscadm boot it-ca >/dev/null 2>&1 || true
iscadm boot it-ch || fail "boot it-ch again"
out=$(in_isc it-ch 'echo "maintenance crasher" > /proc/1/fd/3 && echo written' 2>&1)
printf '%s\n' "$out" | grep -q "^written$" && fail "root inside wrote to isc-init's status pipe"
printf '%s\n' "$out" | grep -q "Permission denied" || fail "writing to /proc/1/fd/3: $out"
iscadm list -p | grep -q "^it-ch:running:" || fail "it-ch halted at once: $(iscadm notes it-ch | tail -2)"
# and no service inherited it: only isc-init and the supervisor hold that pipe
init=$(sed -n 's/^pid=//p' /run/isc/it-ch/state); sup=$(sed -n 's/^supervisor=//p' /run/isc/it-ch/state)
pipe=$(readlink /proc/$init/fd/3)
case $pipe in pipe:*) ;; *) fail "isc-init's fd 3 is '$pipe'" ;; esac
holders=$(for f in /proc/[0-9]*/fd/*; do [ "$(readlink "$f" 2>/dev/null)" = "$pipe" ] && echo "${f#/proc/}"; done |
	cut -d/ -f1 | sort -u | grep -vx -e "$init" -e "$sup")
[ -z "$holders" ] || fail "others hold isc-init's status pipe: $holders"
ok "root inside cannot write to isc-init's status pipe; no service inherited it"
iscadm halt it-ch >/dev/null 2>&1
iscadm halt it-ca >/dev/null 2>&1
