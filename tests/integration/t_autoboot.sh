# Autoboot: boot -a boots the ISCs marked autoboot=true that do not run, and only them; halt -a
# halts every running one; a failure is said and the others go on; the shipped systemd unit
# passes systemd-analyze verify.
. "$(dirname "$0")/lib.sh"
setup_pool
new_isc it-ab1 --set autoboot=true
new_isc it-ab2
new_isc it-ab3
iscadm set it-ab3 autoboot=true || fail "set autoboot"
[ "$(iscadm get it-ab2 autoboot)" = false ] && [ "$(iscadm get it-ab3 autoboot)" = true ] || fail "get autoboot"
expect_err 1 "autoboot 'yes': expected true or false" iscadm set it-ab2 autoboot=yes
expect_err 2 "halt ISC | halt -a" iscadm halt -a extra
out=$(iscadm boot -a) || fail "boot -a: $out"
[ "$out" = "$(printf 'it-ab1: booted\nit-ab3: booted')" ] || fail "boot -a said: $out"
iscadm list -p | cut -d: -f1,2 | sort | tr '\n' ' ' | grep -qx "it-ab1:running it-ab2:installed it-ab3:running " ||
	fail "after boot -a: $(iscadm list -p)"
out=$(iscadm boot -a) && [ -z "$out" ] || fail "a second boot -a: rc $?, '$out'"
ok "boot -a boots the autoboot ISCs that do not run, and only them; again, nothing"
iscadm boot it-ab2 || fail "boot it-ab2"
out=$(iscadm halt -a) || fail "halt -a: $out"
[ "$(printf '%s\n' "$out" | sort | tr '\n' ' ')" = "it-ab1: halted it-ab2: halted it-ab3: halted " ] || fail "halt -a said: $out"
iscadm list -p | grep -q ":running:" && fail "running after halt -a: $(iscadm list -p)"
ok "halt -a halts every running ISC"
# a key that cannot be had without a person: that one fails, the next still boots
iscadm key unload it-ab1 >/dev/null || fail "key unload"
mv "$ISC_KEYDIR/it-ab1.key" "$T/it-ab1.key" || fail "premise: it-ab1's generated key file"
out=$(iscadm boot -a 2>"$T/err"); rc=$?
[ $rc = 1 ] && [ "$out" = "it-ab3: booted" ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q "it-ab1" "$T/err" ||
	fail "boot -a with one key missing: rc $rc, '$out', $(cat "$T/err")"
mv "$T/it-ab1.key" "$ISC_KEYDIR/it-ab1.key"
iscadm halt -a >/dev/null || fail "halt -a"
ok "one ISC that cannot boot is said in one line; the others boot; exit 1"
iscadm audit --json | jq -e '[.[] | select(.event == "command" and .args == ["boot","-a"])] | length == 3' >/dev/null ||
	fail "boot -a not in the audit log"

# ---- the unit --------------------------------------------------------------------------------------
unit=$B/isc.service
[ -f "$unit" ] || fail "premise: the build made no isc.service"
grep -qx "ExecStart=.*/iscadm boot -a" "$unit" && grep -qx "ExecStop=.*/iscadm halt -a" "$unit" || fail "the unit: $(cat "$unit")"
if command -v systemd-analyze >/dev/null && command -v man >/dev/null; then
	mkdir -p "$T/unit" "$T/man/man8"
	cp "$(dirname "$0")/../../docs/man/iscadm.8" "$T/man/man8/"
	# as installed, but with this build's iscadm (verify checks that the command exists)
	sed "s|^\(Exec[A-Za-z]*=\)[^ ]*/iscadm |\1$(realpath "$ISCADM") |" "$unit" > "$T/unit/isc.service"
	out=$(MANPATH=$T/man systemd-analyze verify "$T/unit/isc.service" 2>&1) || fail "systemd-analyze verify: $out"
	[ -z "$out" ] || fail "systemd-analyze verify said: $out"
	ok "isc.service: systemd-analyze verify is clean"
else
	echo "ok: (no systemd-analyze or man here: the unit's check runs where they are)"
fi
