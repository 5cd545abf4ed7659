# The dock's monitor: a running ISC verified every verify-interval seconds by its supervisor; on
# tampering its on-tamper policy acts by itself. quarantine (an image byte changed on the host):
# a counter inside stops, the exposed port stops answering, login refused, state quarantined,
# snapshot and diff still work, release restores all; rollback (a program planted in /var):
# back on the known-good snapshot, running, the audit says why; halt; alert; bad settings.
. "$(dirname "$0")/lib.sh"
for tool in ip nft ss curl jq; do
	command -v $tool >/dev/null || { echo "SKIP: no $tool on this host"; exit 77; }
done
if nft list tables 2>/dev/null | grep -qE '^table (inet|bridge) isc$'; then
	echo "SKIP: isc's nft tables exist already (an ISC of another root runs): not ours to change"
	exit 77
fi
PORT=18095
ss -Hltn "sport = :$PORT" | grep -q . && { echo "SKIP: port $PORT is in use on this host"; exit 77; }
BR=isct$$
BR=${BR:0:15}
RANGE=10.233.0
ip -4 addr | grep -qE "inet $RANGE\." && { echo "SKIP: $RANGE.0/24 in use here"; exit 77; }
COUNTER="" LISTENERS=""
dock_cleanup() {
	[ -n "$COUNTER" ] && kill "$COUNTER" 2>/dev/null
	for p in $LISTENERS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "$IMG" ] && [ -n "$BYTE" ] && restore_byte
	return 0
}
trap 'dock_cleanup; cleanup' EXIT

setup_pool
iscadm pool set bridge="$BR" || fail "pool set bridge"
iscadm pool set range=$RANGE.0/24 || fail "pool set range"

# ---- settings ------------------------------------------------------------------------------------
new_isc it-dq --set net=bridge --set verify-interval=2
[ "$(iscadm get it-dq on-tamper)" = quarantine ] || fail "on-tamper default: $(iscadm get it-dq on-tamper)"
expect_err 1 "verify-interval 'soon': expected off or seconds from 1 to 604800" iscadm set it-dq verify-interval=soon
expect_err 1 "verify-interval '0x10'" iscadm set it-dq verify-interval=0x10
expect_err 1 "on-tamper 'panic': expected quarantine, alert, halt, rollback or destroy" iscadm set it-dq on-tamper=panic
iscadm set it-dq verify-interval=off && [ "$(iscadm get it-dq verify-interval)" = off ] || fail "verify-interval=off"
iscadm set it-dq verify-interval=2 || fail "verify-interval=2"
expect_err 1 "is not running" iscadm release it-dq
ok "verify-interval and on-tamper: defaults, bad values refused"

# ---- quarantine ---------------------------------------------------------------------------------
iscadm expose it-dq tcp:$PORT:80 || fail expose
iscadm boot it-dq || fail boot
in_isc it-dq "echo 'served while trusted' > /var/www/index.html" || fail "write the page"
upper=$ISC_ROOT/pool/isc/it-dq/data/layers/var/upper
iscadm login it-dq -- sh -c 'i=0; while :; do i=$((i+1)); echo $i > /var/tmp/counter; sleep 0.1; done' \
	</dev/null >/dev/null 2>&1 & COUNTER=$!
for i in $(seq 50); do [ -s "$upper/tmp/counter" ] && break; sleep 0.1; done
curl -sf -m 5 http://127.0.0.1:$PORT/ | grep -q "served while trusted" || fail "premise: the page through the exposure"
# the first round finds nothing
for i in $(seq 100); do iscadm notes it-dq | grep -q "^isc: verified: " && break; sleep 0.1; done
iscadm notes it-dq | grep -q "^isc: verified: every layer matches its digest" || fail "no clean verify: $(iscadm notes it-dq)"
iscadm list -p | grep -q "^it-dq:running:" || fail "not running: $(iscadm list -p)"
ok "a clean verify every 2 s is recorded; the ISC runs"
# someone with the pool changes one byte of the running version's image
digest=$(iscadm history it-dq | awk '/current$/ { print $1 }')
IMG=$ISC_ROOT/pool/images/$digest.erofs
[ -f "$IMG" ] || fail "premise: the image file of $digest"
size=$(stat -c %s "$IMG")
BYTE=$(od -An -tu1 -j $((size - 1)) -N1 "$IMG" | tr -d ' ')
restore_byte() { printf "\\$(printf %03o "$BYTE")" | dd of="$IMG" bs=1 seek=$((size - 1)) conv=notrunc status=none; BYTE=""; }
printf "\\$(printf %03o $(( (BYTE + 1) % 256 )))" | dd of="$IMG" bs=1 seek=$((size - 1)) conv=notrunc status=none
t0=$(date +%s%N)
for i in $(seq 100); do iscadm list -p | grep -q "^it-dq:quarantined:" && break; sleep 0.1; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
iscadm list -p | grep -q "^it-dq:quarantined:fixed-configuration:R:base$" || fail "not quarantined: $(iscadm list -p); $(iscadm notes it-dq | tail -3)"
iscadm notes it-dq | grep -qE "^isc: verify: [0-9]+ findings?: layer .*on-tamper=quarantine$" || fail "no tamper note: $(iscadm notes it-dq | tail -3)"
iscadm notes it-dq | grep -q "^isc: quarantined: every process frozen, network cut, everything kept (iscadm release it-dq)$" ||
	fail "no quarantine note: $(iscadm notes it-dq | tail -2)"
ok "an image byte changed on the host: quarantined ${ms} ms later"
c1=$(cat "$upper/tmp/counter"); sleep 1; c2=$(cat "$upper/tmp/counter")
[ "$c1" = "$c2" ] || fail "the counter still advances: $c1 -> $c2"
curl -sf -m 3 http://127.0.0.1:$PORT/ >/dev/null 2>&1 && fail "the exposed port still answers"
expect_err 1 "the ISC is quarantined: iscadm release it first, look at it from the host (snapshot, diff, verify), or log in with --force" \
	iscadm login it-dq -- true
expect_err 1 "the ISC is quarantined: iscadm release it" iscadm thaw it-dq
iscadm net status it-dq -p | grep -q ":cut:" || fail "net status: $(iscadm net status it-dq -p)"
ok "quarantined: the counter stops, the port is silent, login and thaw refused, the network cut"
# login --force: a session of its own runs while the services and the counter's session stay frozen
out=$(iscadm login --force it-dq -- sh -c 'a=$(cat /var/tmp/counter); sleep 1; echo "counter $a $(cat /var/tmp/counter)"' 2>&1) ||
	fail "login --force: $out"
a=$(printf '%s\n' "$out" | awk '/^counter/ { print $2 }'); b=$(printf '%s\n' "$out" | awk '/^counter/ { print $3 }')
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$(cat "$upper/tmp/counter")" ] ||
	fail "login --force: the frozen counter moved under the forced session, or it read another: $out"
c1=$(cat "$upper/tmp/counter"); sleep 0.5; c2=$(cat "$upper/tmp/counter")
[ "$c1" = "$c2" ] || fail "the counter runs after the forced session ended: $c1 -> $c2"
iscadm list -p | grep -q "^it-dq:quarantined:" || fail "the forced login lifted the quarantine"
iscadm notes it-dq | grep -qE "^isc: a forced login into the quarantine \(pid [0-9]+, group login/s[0-9]+\): the ISC's own processes stay frozen$" ||
	fail "no note of the forced login: $(iscadm notes it-dq | tail -2)"
iscadm audit it-dq --json | jq -e '[.[] | select(.event == "command" and .args[0] == "login" and .args[1] == "--force")] | length == 1' >/dev/null ||
	fail "the audit lacks the forced login command"
ok "login --force: its session runs and reads the ISC (counter $a, still), the rest stays frozen; audited"
iscadm snapshot it-dq@evidence || fail "snapshot of the quarantined ISC"
iscadm diff it-dq | grep -q "/var/tmp/counter" || fail "diff of the quarantined ISC"
iscadm list -p | grep -q "^it-dq:quarantined:" || fail "the snapshot lifted the quarantine"
ok "forensics: snapshot and diff work, the ISC stays quarantined"

# ---- metrics, while one ISC is quarantined ---------------------------------------------------------
m=$(iscadm metrics) || fail "metrics: $m"
for want in 'isc_state{isc="it-dq",state="quarantined"} 1' 'isc_quarantines_total{isc="it-dq"} 1' \
	'isc_up{isc="it-dq"} 1' 'isc_boot_mode_info{isc="it-dq",mode="R"} 1' 'isc_audit_chain_intact 1'; do
	printf '%s\n' "$m" | grep -qxF "$want" || fail "metrics lack '$want'"
done
printf '%s\n' "$m" | grep -qE '^isc_verify_last_findings\{isc="it-dq"\} [1-9][0-9]*$' || fail "metrics: no findings"
printf '%s\n' "$m" | grep -qE '^isc_supervisor_resident_bytes\{isc="it-dq"\} [1-9][0-9]*$' || fail "metrics: no supervisor memory"
printf '%s\n' "$m" | grep -qE '^isc_audit_head_info\{hash="[0-9a-f]{64}",seq="[0-9]+"\} 1$' || fail "metrics: no audit head"
if command -v promtool >/dev/null; then
	printf '%s\n' "$m" | promtool check metrics || fail "promtool check metrics"
	checked="promtool check metrics passes"
else
	checked="(no promtool in this guest: its check runs on the host)"
fi
MPORT=18096
ss -Hltn "sport = :$MPORT" | grep -q . && fail "premise: port $MPORT in use"
"$ISCADM" metrics --listen 127.0.0.1:$MPORT 2>/dev/null & LISTENERS="$LISTENERS $!"
"$ISCADM" metrics --listen unix:$T/metrics.sock 2>/dev/null & LISTENERS="$LISTENERS $!"
for i in $(seq 50); do ss -Hltn "sport = :$MPORT" | grep -q . && [ -S "$T/metrics.sock" ] && break; sleep 0.1; done
labels() { sed -E 's/ [^ ]+$//' | grep -v '^#' | grep -v '^isc_audit_' | sort; }
tcp=$(curl -sf -m 5 http://127.0.0.1:$MPORT/metrics) || fail "scrape over TCP"
uds=$(curl -sf -m 5 --unix-socket "$T/metrics.sock" http://localhost/metrics) || fail "scrape over the unix socket"
[ "$(printf '%s\n' "$tcp" | labels)" = "$(printf '%s\n' "$m" | labels)" ] || fail "the TCP scrape differs: $(diff <(printf '%s\n' "$tcp" | labels) <(printf '%s\n' "$m" | labels))"
[ "$(printf '%s\n' "$uds" | labels)" = "$(printf '%s\n' "$m" | labels)" ] || fail "the unix scrape differs"
printf '%s\n' "$tcp" | grep -qxF 'isc_state{isc="it-dq",state="quarantined"} 1' || fail "scrape: $tcp"
[ "$(stat -c %a "$T/metrics.sock")" = 600 ] || fail "the socket's mode: $(stat -c %a "$T/metrics.sock")"
curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:$MPORT/other | grep -qx 404 || fail "another path is not 404"
expect_err 1 "--listen takes unix:PATH or 127.0.0.1:PORT, not '0.0.0.0:$MPORT'" iscadm metrics --listen 0.0.0.0:$MPORT
expect_err 1 "--listen 127.0.0.1:PORT takes a port from 1 to 65535" iscadm metrics --listen 127.0.0.1:99999
for p in $LISTENERS; do kill "$p"; wait "$p" 2>/dev/null; done; LISTENERS=""
[ -e "$T/metrics.sock" ] && fail "the unix socket outlived its listener"
ok "metrics: the quarantine, its count, the findings, the audit head; $checked; scrapes over TCP and a unix socket return the same"
restore_byte
iscadm release it-dq || fail release
iscadm list -p | grep -q "^it-dq:running:" || fail "not running after release: $(iscadm list -p)"
c1=$(cat "$upper/tmp/counter"); sleep 1; c2=$(cat "$upper/tmp/counter")
[ "$c2" -gt "$c1" ] || fail "the counter does not advance after release: $c1 -> $c2"
curl -sf -m 5 http://127.0.0.1:$PORT/ | grep -q "served while trusted" || fail "the page after release"
iscadm login it-dq -- true || fail "login after release"
expect_err 1 "login --force is for a quarantined ISC, and this one is not" iscadm login --force it-dq -- true
expect_err 1 "ISC it-dq is not quarantined" iscadm release it-dq
for i in $(seq 60); do [ "$(iscadm notes it-dq | tail -1)" = "isc: verified: every layer matches its digest, the writable layers keep to the profile" ] && break; sleep 0.1; done
iscadm list -p | grep -q "^it-dq:running:" || fail "quarantined again after the restore: $(iscadm notes it-dq | tail -2)"
a=$(iscadm audit it-dq --json)
printf '%s' "$a" | jq -e '[.[] | select(.event == "tamper" or .event == "quarantine" or (.event == "command" and .args[0] == "release")) | .event] | index("tamper") < index("quarantine")' >/dev/null ||
	fail "the audit lacks the tamper, the quarantine or the release: $(iscadm audit it-dq | tail -6)"
ok "release: the counter runs, the page answers, login works; the audit has tamper, quarantine, release"
kill $COUNTER 2>/dev/null; wait $COUNTER 2>/dev/null; COUNTER=""
iscadm halt it-dq || fail "halt"

# ---- rollback ------------------------------------------------------------------------------------
new_isc it-dr --set verify-interval=2 --set on-tamper=rollback
iscadm boot it-dr || fail "boot it-dr"
in_isc it-dr "echo 'good page' > /var/www/index.html" || fail "write"
iscadm halt it-dr && iscadm snapshot it-dr@good --known-good && iscadm boot it-dr || fail "known-good snapshot"
in_isc it-dr "echo 'after the snapshot' > /var/www/index.html" || fail "write after"
up=$ISC_ROOT/pool/isc/it-dr/data/layers/var/upper
cp /bin/busybox "$up/helper" && chown --reference="$up/www" "$up/helper" || fail "plant"
for i in $(seq 150); do iscadm notes it-dr | grep -q "rolled back" && break; sleep 0.1; done
iscadm notes it-dr | grep -q "^isc: rolled back to it-dr@good (known good, verified); booting it$" ||
	fail "no rollback: $(iscadm notes it-dr | tail -4)"
for i in $(seq 100); do iscadm list -p | grep -q "^it-dr:running:" && break; sleep 0.1; done
iscadm list -p | grep -q "^it-dr:running:" || fail "not running after the rollback: $(iscadm list -p)"
[ -e "$up/helper" ] && fail "the planted program survived the rollback"
[ "$(in_isc it-dr 'cat /var/www/index.html')" = "good page" ] || fail "the page after rollback: $(in_isc it-dr 'cat /var/www/index.html')"
iscadm audit it-dr --json | jq -e '[.[] | .event] | (index("tamper") < index("rollback"))' >/dev/null ||
	fail "the audit does not say why: $(iscadm audit it-dr | tail -5)"
ok "rollback: a program planted in /var; halted, reset to it-dr@good, booted by itself; the audit says why"
iscadm halt it-dr || fail "halt it-dr"

# ---- on-violation ---------------------------------------------------------------------------------
new_isc it-dv --set on-violation=quarantine --set violation-threshold=5/20
[ "$(iscadm get it-dv violation-threshold)" = 5/20 ] || fail "get violation-threshold"
expect_err 1 "violation-threshold '5': expected N/SECONDS" iscadm set it-dv violation-threshold=5
expect_err 1 "violation-threshold '0/10'" iscadm set it-dv violation-threshold=0/10
expect_err 1 "violation-threshold '5/0'" iscadm set it-dv violation-threshold=5/0
iscadm boot it-dv || fail "boot it-dv"
denials() { iscadm metrics | sed -n 's/^isc_seccomp_denials_total{isc="it-dv"} //p'; }
# one denied unshare a login (a login caught by the quarantine freezes with the ISC: bounded)
last=0 qat=""
for i in $(seq 12); do
	timeout 5 "$ISCADM" login it-dv -- unshare -U true >/dev/null 2>&1
	sleep 0.2
	d=$(denials)
	if iscadm list -p | grep -q "^it-dv:quarantined:"; then qat=$d; break; fi
	[ "$d" -lt 5 ] || fail "$d denials within 20 s and not quarantined"
	last=$d
done
[ -n "$qat" ] && [ "$qat" -ge 5 ] && [ "$last" -lt 5 ] || fail "quarantined at $qat denials (before: $last)"
iscadm notes it-dv | grep -q "^isc: 5 seccomp denials within 20 s; on-violation=quarantine$" || fail "violation note: $(iscadm notes it-dv | tail -2)"
iscadm release it-dv && iscadm halt it-dv || fail "release, halt it-dv"
ok "on-violation: below 5 denials in 20 s it runs ($last); at $qat it is quarantined"

# ---- halt and alert ---------------------------------------------------------------------------------
new_isc it-dh --set verify-interval=1 --set on-tamper=halt
new_isc it-da --set verify-interval=1 --set on-tamper=alert
iscadm boot it-dh && iscadm boot it-da || fail "boot it-dh, it-da"
for n in it-dh it-da; do
	u=$ISC_ROOT/pool/isc/$n/data/layers/var/upper
	cp /bin/busybox "$u/helper" && chown --reference="$u" "$u/helper" || fail "plant in $n"
done
for i in $(seq 100); do iscadm list -p | grep -q "^it-dh:installed:" && break; sleep 0.1; done
iscadm list -p | grep -q "^it-dh:installed:" || fail "on-tamper=halt: $(iscadm list -p)"
iscadm notes it-dh | grep -q "on-tamper=halt$" || fail "halt note: $(iscadm notes it-dh | tail -3)"
for i in $(seq 50); do iscadm notes it-da | grep -q "on-tamper=alert$" && break; sleep 0.1; done
iscadm notes it-da | grep -q "on-tamper=alert$" || fail "alert note: $(iscadm notes it-da | tail -3)"
iscadm list -p | grep -q "^it-da:running:" || fail "on-tamper=alert stopped it: $(iscadm list -p)"
ok "on-tamper=halt halts; on-tamper=alert records and lets it run"
iscadm halt it-da || fail "halt it-da"

# ---- destroy: crypto-erase ---------------------------------------------------------------------------
new_isc it-dx --set verify-interval=1 --set on-tamper=destroy
iscadm boot it-dx || fail "boot it-dx"
in_isc it-dx "echo 'card 4111-2222' > /var/secret" || fail "write a secret"
[ -f "$ISC_ROOT/pool/keys/it-dx.wrapped" ] && [ -f "$ISC_KEYDIR/it-dx.key" ] || fail "premise: it-dx's keys"
u=$ISC_ROOT/pool/isc/it-dx/data/layers/var/upper
cp /bin/busybox "$u/helper" && chown --reference="$u" "$u/helper" || fail "plant in it-dx"
for i in $(seq 100); do [ -e "$ISC_ROOT/pool/isc/it-dx" ] || break; sleep 0.1; done
[ -e "$ISC_ROOT/pool/isc/it-dx" ] && fail "on-tamper=destroy: it-dx is still there: $(iscadm notes it-dx | tail -3)"
iscadm list -p | grep -q "^it-dx:" && fail "it-dx still listed"
[ -e "$ISC_ROOT/pool/keys/it-dx.wrapped" ] && fail "its wrapped key survived"
[ -e "$ISC_KEYDIR/it-dx.key" ] && fail "its generated key file survived"
ls "$ISC_ROOT"/pool/tmp | grep -q "it-dx" && fail "a half-destroyed it-dx in tmp/"
for i in $(seq 50); do pgrep -f "iscd --root $ISC_ROOT.* it-dx\b" >/dev/null || break; sleep 0.1; done
iscadm audit --json | jq -e '[.[] | select(.isc == "it-dx") | .event] | index("tamper") < index("destroy")' >/dev/null ||
	fail "the audit does not say why: $(iscadm audit it-dx | tail -3)"
iscadm audit it-dx | grep -q "isc: destroyed: its data deleted, its key out of the kernel and deleted" || fail "no destroy record"
TEST_ISCS=${TEST_ISCS/ it-dx/}
ok "on-tamper=destroy: halted and crypto-erased by itself (data, wrapped key, key file gone); the audit says why"
