# make demo's flow (demo.sh) on a private root, as the ISC it-demo: each step shows what it should.
. "$(dirname "$0")/lib.sh"
TEST_ISCS="it-demo-dock it-demo-forensics it-demo"
# the demo exposes its page on a host port: the first free one
port=""
for p in $(seq 18080 18099); do
	ss -Hltn "sport = :$p" | grep -q . || { port=$p; break; }
done
[ -n "$port" ] || { echo "SKIP: no free port in 18080-18099 for the demo's exposure"; exit 77; }
if nft list tables 2>/dev/null | grep -qE '^table (inet|bridge) isc$' || ip link show isc0 >/dev/null 2>&1; then
	echo "SKIP: isc's tables or bridge isc0 exist (an ISC of another root runs): not ours to change"
	exit 77
fi
# the demo's podman part in storage of its own, unmounted and removed with $T
demo_podman_clean() {
	podman --root "$T/podman/storage" --runroot "$T/podman/run" rmi -af >/dev/null 2>&1
	findmnt -rn -o TARGET | grep "^$T/podman/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
	cleanup
}
trap demo_podman_clean EXIT
out=$(DEMO_PODMAN_ROOT=$T/podman DEMO_PORT=$port DEMO_ISC=it-demo ISC_BUILD="$B" bash "$(dirname "$0")/../../demo.sh" 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || fail "demo.sh exited $rc: $(printf '%s' "$out" | tail -5)"
has() { printf '%s\n' "$out" | grep -qE -- "$1" || fail "the demo shows no '$1'"; }
has '^erofs +yes'
has '^it-demo +running +fixed-configuration +R +base'
has '"defence":"seccomp,landlock'
[ "$(printf '%s\n' "$out" | grep -c 'Read-only file system')" -ge 4 ] || fail "the demo's writes to the system were not all refused"
has '^sh: /tmp/sh: Permission denied'
# the throwaway ISC: its own name, root inside, /etc refused; five timed runs; none left
has '^run-[0-9]+: uid 0$'
has '^touch: /etc/x: Read-only file system$'
has '^five runs of /bin/true, start to exit: [0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+ ms'
printf '%s\n' "$out" | sed -n '/^five runs of/,/^== /p' | grep -q '^run-' && fail "a run --rm ISC left in the list"
has '^It works: served from an immutable service container\.$'
printf '%s\n' "$out" | grep -A1 "curl -s http://127.0.0.1:$port/" | tail -1 |
	grep -qx 'It works: served from an immutable service container\.' || fail "the demo's fetch through the exposure"
h6=$(ip -6 -o addr show scope global -tentative 2>/dev/null | awk '$2 != "isc0" { sub(/\/.*/, "", $4); print $4; exit }')
if [ -n "$h6" ]; then
	printf '%s\n' "$out" | grep -A1 -F "curl -s http://[$h6]:$port/" | tail -1 |
		grep -qx 'It works: served from an immutable service container\.' || fail "the demo's fetch over IPv6"
fi
has '^egress refused \(egress=deny\)$'
has '^it-demo +bridge +10\.77\.[0-9.]+ +open +[0-9]+/[0-9]+ +[0-9]+/[0-9]+ +deny +tcp:'"$port"':80( +fd69:7363::[0-9a-f]+)?$'
has '^encryption: on \(aes-256-xts'
has 'Required key not available$'
printf '%s\n' "$out" | grep -A1 'the raw bytes of the pool' | tail -1 | grep -qx 0 || fail "the secret is in the pool's raw bytes"
has '^card 4111-1111$'
has '^NoNewPrivs:.1$'
has '^Seccomp:.2$'
has '^0::/.*it-demo.*/payload$|:pids:/isc/it-demo/payload$'
has '^it-demo:frozen:fixed-configuration:R:base$'
has 'the ISC is frozen: thaw it first'
has '^A +/var/log/app\.log'
has 'it-demo: verified: every layer matches its digest'
has '^exec +/var/log/helper +/var +ELF binary'
has 'it-demo: 1 finding'
has '^   \(exit 1\)$'
has '^it-demo: update committed, running read-only$'
has '^patched [0-9-]+$'
has '^trusted fix$'
has '^[0-9a-f]{64} .* -T [0-9]+ current$'
has '^it-demo:installed:fixed-configuration:-:base$'
has '^it-demo@patched \(known good\)$'
has '^it-demo-forensics: a clone of it-demo@suspect$'
has '^A +/var/spool/cron'
has '^it-demo: reset to it-demo@patched \(known good, verified\)$'
printf '%s\n' "$out" | grep -A1 'cat /var/www/index.html; ls /var/spool/cron' | tail -1 | grep -q defaced &&
	fail "the defaced page survived reset"
has '^it-demo@suspect +[-0-9T:Z]+ +[0-9a-f]{12} +no +it-demo-forensics$'
has 'nothing left by an interrupted operation'
has '^[0-9]+ +[-0-9T:.]+Z +it-demo +command +uid 0.*: iscadm boot it-demo: exit 0$'
has '^audit log: [0-9]+ records, the chain is intact; head [0-9a-f]{64} \(record [0-9]+, '
has '^iscadm: audit log: record 3 \(line 3\) does not match its hash \(edited\)$'
has 'seccomp: denied mount by pid'
has '^it-demo-dock:quarantined:fixed-configuration:R:base$'
has '^isc: quarantined: every process frozen, everything kept \(iscadm release it-demo-dock\)$'
has 'the ISC is quarantined: iscadm release it first'
has '^it-demo: halted$'
has '^it-demo: booted$'
if command -v podman >/dev/null; then
	has '^touch: /etc/x: Read-only file system$'
	has '^sh: /tmp/b: Permission denied$'
	has '^NoNewPrivs:.1$'
	has "^isc-runtime: process.capabilities: CAP_SYS_ADMIN is beyond isc's set"
	has ' denied mount by pid [0-9]+ \(mount\)$'
fi
ok "make demo's flow: every protection shown holds, the exposure and a refused egress, freeze, maintenance, history, snapshots, clone and reset, the dock's quarantine, the audit log and a tampered record found, and isc-runtime's rules under podman"
