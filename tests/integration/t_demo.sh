# make demo's flow (demo.sh) on a private root, as the ISC it-demo: each step shows what it should.
. "$(dirname "$0")/lib.sh"
TEST_ISCS="it-demo"
out=$(DEMO_ISC=it-demo ISC_BUILD="$B" bash "$(dirname "$0")/../../demo.sh" 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || fail "demo.sh exited $rc: $(printf '%s' "$out" | tail -5)"
has() { printf '%s\n' "$out" | grep -qE -- "$1" || fail "the demo shows no '$1'"; }
has '^erofs +yes'
has '^it-demo +running +fixed-configuration +R +base'
has '"defence":"seccomp,landlock'
[ "$(printf '%s\n' "$out" | grep -c 'Read-only file system')" -ge 4 ] || fail "the demo's writes to the system were not all refused"
has '^sh: /tmp/sh: Permission denied'
has '^It works: served from an immutable service container\.$'
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
ok "make demo's flow: every protection shown holds, freeze, maintenance and history"
