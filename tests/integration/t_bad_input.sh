# Bad input: one-line errors, exit 1 or 2, nothing half-made.
. "$(dirname "$0")/lib.sh"
setup_pool
new_isc it-bad
snap() { iscadm list -p; iscadm image list; ls "$ISC_ROOT/pool/isc" "$ISC_ROOT/pool/tmp"; grep -c isc /proc/self/mountinfo; }
before=$(snap)
expect_err 1 "no ISC named nosuch" iscadm boot nosuch
expect_err 1 "already exists" iscadm create it-bad --image base
expect_err 1 "unknown profile 'bogus'" iscadm create it-bad2 --image base --profile bogus
expect_err 1 "image nosuch not found" iscadm create it-bad2 --image nosuch
expect_err 1 "malformed property" iscadm create it-bad2 --image base --set novalue
expect_err 1 "unknown property 'colour'" iscadm create it-bad2 --image base --set colour=red
expect_err 1 "unknown property" iscadm set it-bad colour=red
expect_err 1 "is not running" iscadm halt it-bad
expect_err 2 "unknown command" iscadm frobnicate
expect_err 2 "see iscadm --help" iscadm create
mkdir -p "$T/evil" && echo x > "$T/evil/x"
tar -C "$T/evil" -cf "$T/evil.tar" --transform 's,^,../,' x 2>/dev/null
expect_err 1 "escapes" iscadm image build evil --from "tar:$T/evil.tar"
[ "$before" = "$(snap)" ] || fail "state changed: $before -- $(snap)"
ok "nothing half-made"
iscadm boot it-bad || fail boot
expect_err 1 "already running" iscadm boot it-bad
expect_err 1 "is running" iscadm destroy it-bad
expect_err 1 "in use by it-bad" iscadm image rm base
iscadm destroy -f it-bad || fail "destroy -f"
iscadm list -p | grep -q it-bad && fail "still listed"
ok "destroy -f halts and removes"
