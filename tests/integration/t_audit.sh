# The pool's audit log: commands and the supervisor's records, hash-chained; audit --verify names
# the first bad record after an edit, a deletion, a swap, a rehashed edit and a cut tail (against
# --head); an unfinished record is cut and said; nothing an ISC writes reaches it; syslog gets
# each record; listings -p, --json, --since; concurrent writers keep one chain.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "SKIP: no jq on this host"; exit 77; }
N=it-aud
LOG=$ISC_ROOT/pool/audit/log
SOCAT=""
syslog_end() {
	[ -n "$SOCAT" ] || return 0
	kill "$SOCAT" 2>/dev/null
	wait "$SOCAT" 2>/dev/null
	rm -f /dev/log
	SOCAT=""
}
trap 'syslog_end; cleanup' EXIT
# the host's syslog: where none listens, a listener of ours on /dev/log for this test
if [ ! -e /dev/log ] && command -v socat >/dev/null; then
	socat -u UNIX-RECV:/dev/log,mode=600 OPEN:"$T/syslog",creat,append 2>/dev/null & SOCAT=$!
	for i in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
	[ -S /dev/log ] || fail "premise: socat did not listen on /dev/log"
fi

setup_pool
new_isc $N
iscadm boot $N || fail boot
# root inside imitates the supervisor on its console and its syslog
in_isc $N 'printf "isc: booted FORGED\n{\"seq\":99,\"event\":\"boot\",\"msg\":\"FORGED\"}\n" > /dev/console;
	logger -t isc-audit "FORGED record" 2>/dev/null; { echo FORGED > /dev/kmsg; } 2>/dev/null; true'
iscadm halt $N || fail halt
iscadm boot no-such 2>/dev/null && fail "boot of no ISC"

# ---- what is recorded ------------------------------------------------------------------------
j=$(iscadm audit --json) || fail "audit --json: $j"
printf '%s' "$j" | jq -e 'length > 5' >/dev/null || fail "audit --json: $j"
rec() { printf '%s' "$j" | jq -e "$1" >/dev/null || fail "no record $2: $(iscadm audit | tail -5)"; }
rec '.[0] | .seq == 1 and .event == "command" and .args == ["pool","create","--size","512M"] and .result == 0' "of pool create first"
rec '.[] | select(.event == "command" and .args[0] == "create" and .isc == "'$N'" and .uid == 0)' "of create (uid, ISC)"
rec '.[] | select(.source == "iscd" and .event == "boot" and (.msg | test("^isc: booted '$N' read-only ")))' "of the boot and its mode"
rec '.[] | select(.event == "command" and .args == ["boot","no-such"] and .result == 1)' "of a failed command"
rec '[.[] | .seq] == [range(1; length + 1)]' "numbered 1..n"
printf "%s" "$j" | jq -r ".[] | .msg // empty" | grep -q FORGED && fail "text the ISC wrote reached the audit log: $(printf "%s" "$j" | grep FORGED | head -2)"
ok "commands (words, uid, exit status) and the supervisor's boot are recorded in order; nothing the ISC wrote is"
n_list=$(iscadm audit $N --json | jq 'length')
[ "$n_list" -ge 4 ] && iscadm audit $N --json | jq -e 'all(.[]; .isc == "'$N'")' >/dev/null || fail "audit ISC: $n_list"
iscadm audit -p | head -1 | grep -qE '^1:[0-9T\\:.-]+Z::command:uid 0\\: iscadm pool create --size 512M\\: exit 0$' ||
	fail "audit -p: $(iscadm audit -p | head -1)"
[ "$(iscadm audit --since 2099-01-01 --json)" = "[]" ] || fail "--since the future"
[ "$(iscadm audit --since 1d --json | jq length)" = "$(iscadm audit --json | jq length)" ] || fail "--since 1d"
[ "$(iscadm audit --since "$(date -u +%Y-%m-%d)" --json | jq length)" -gt 0 ] || fail "--since today"
expect_err 2 "--since takes" iscadm audit --since yesterday
expect_err 2 "audit [ISC]" iscadm audit --verify --json
expect_err 2 "--head takes the 64 hex digits" iscadm audit --verify --head zz
expect_err 2 "audit [ISC]" iscadm audit a b
ok "audit ISC, -p, --json, --since; bad input refused"

# ---- the host's syslog ----------------------------------------------------------------------
if [ -n "$SOCAT" ]; then
	syslog_end
	grep -q 'isc-audit\[[0-9]*\]: {"seq":1,.*"args":\["pool","create"' "$T/syslog" ||
		fail "syslog has no record of pool create: $(head -c 300 "$T/syslog")"
	# datagrams, one record each, written back to back
	[ "$(grep -o 'isc-audit\[[0-9]*\]: {"seq"' "$T/syslog" | wc -l)" = "$(iscadm audit --json | jq length)" ] ||
		fail "syslog holds $(grep -o '{"seq"' "$T/syslog" | wc -l) records, the log $(iscadm audit --json | jq length)"
	grep -q "isc-audit: FORGED" "$T/syslog" && fail "the ISC reached the host's syslog: $(grep -o ".\{60\}FORGED.\{60\}" "$T/syslog" | head -3)"
	ok "every record also went to the host's syslog (a listener of this test on /dev/log)"
elif [ -e /dev/log ]; then
	echo "ok: (the host's own syslog listens on /dev/log: forwarding not checked here)"
else
	fail "premise: no socat (make deps installs it)"
fi

# ---- verification -----------------------------------------------------------------------------
out=$(iscadm audit --verify) || fail "verify an untouched log: $out"
head=$(iscadm audit --head)
printf '%s\n' "$out" | grep -qE "^audit log: [0-9]+ records, the chain is intact; head $head \(record [0-9]+, " ||
	fail "verify says: $out"
iscadm audit --verify --head "$head" >/dev/null || fail "verify against its own head"
[ "$(iscadm audit --head --json | jq -r .hash)" = "$head" ] || fail "--head --json"
ok "an untouched log verifies, against its head too"
cp "$LOG" "$T/log.good"
total=$(wc -l < "$LOG")
restore() { cp "$T/log.good" "$LOG"; }
# verify_says TEXT: verify fails naming the fault
verify_says() {
	local out rc
	out=$(iscadm audit --verify "${@:2}" 2>&1); rc=$?
	[ $rc = 1 ] && printf '%s\n' "$out" | grep -qF -- "$1" || fail "verify after $what: rc $rc, '$out' (wanted '$1')"
	restore
}
what="one byte of record 2 changed"
sed -i '2s/"result":0/"result":1/' "$LOG"
verify_says "record 2 (line 2) does not match its hash (edited)"
what="record 3 deleted"
sed -i '3d' "$LOG"
verify_says "line 3 holds record 4 where record 3 belongs"
what="records 3 and 4 swapped"
sed -i -n '3{h;n;p;x;p;b};p' "$LOG"
verify_says "line 3 holds record 4 where record 3 belongs"
what="record 2 edited and its hash recomputed"
line=$(sed -n 2p "$LOG")
body=${line:0:$((${#line} - 75))}
body=${body/\"result\":0/\"result\":1}
h=$(printf '%s' "$body" | sha256sum | cut -c1-64)
awk -v n=2 -v l="$body,\"hash\":\"$h\"}" 'NR == n { print l; next } { print }' "$T/log.good" > "$LOG"
iscadm audit --verify 2>&1 | grep -qF "record 2 " && fail "the rehashed record itself was blamed"
verify_says "record 3 (line 3) does not chain to the record before it"
what="the last two records cut"
head -n $((total - 2)) "$T/log.good" > "$LOG"
iscadm audit --verify >/dev/null || fail "a cut tail alone is a shorter valid chain"
verify_says "no record has the head given: the log was cut or replaced after it (it ends at record $((total - 2)))" --head "$head"
what="a record made a non-record"
sed -i '5s/^{/x{/' "$LOG"
verify_says "line 5 is not a record (edited or cut)"
ok "verify names the first bad record: an edit, a deletion, a swap, a rehashed edit, a cut tail (against --head), garbage"
sed -i '4s/"time":"2/"time":"3/' "$LOG"
out=$(iscadm audit 2>"$T/err"); rc=$?
[ $rc = 1 ] && grep -q "the audit log's chain is broken: record 4 (line 4)" "$T/err" &&
	printf '%s\n' "$out" | grep -qE '^4! ' || fail "a listing of a broken chain: rc $rc, $(cat "$T/err")"
restore
ok "a listing of a broken chain marks the bad record and exits 1"

# ---- an unfinished record (a writer killed mid-write) is cut, and that is recorded ------------
printf '{"seq":%d,"time":"2026' $((total + 1)) >> "$LOG"
iscadm boot no-such 2>/dev/null
iscadm audit --verify >/dev/null || fail "after an unfinished record: $(iscadm audit --verify 2>&1)"
iscadm audit --json | jq -e '.[-2] | .event == "audit" and (.msg | test("^[0-9]+ bytes of an unfinished record were cut"))' >/dev/null ||
	fail "the cut is not recorded: $(iscadm audit | tail -2)"
ok "an unfinished last record is cut by the next writer, which records that it did"

# ---- concurrent writers: one chain ------------------------------------------------------------
before=$(iscadm audit --json | jq length)
pids=""
for i in $(seq 20); do iscadm boot no-such-$i 2>/dev/null & pids="$pids $!"; done
for p in $pids; do wait $p; done
iscadm audit --verify >/dev/null || fail "after 20 concurrent writers: $(iscadm audit --verify 2>&1)"
[ "$(iscadm audit --json | jq length)" = $((before + 20)) ] || fail "20 concurrent records: $(iscadm audit --json | jq length) vs $before"
ok "20 concurrent writers: 20 records, one intact chain"

# ---- the log is out of the ISC's reach --------------------------------------------------------
iscadm boot $N || fail boot
out=$(in_isc $N 'find / -path /proc -prune -o -name log -path "*audit*" -print 2>/dev/null; ls /var/lib/isc 2>&1')
printf '%s\n' "$out" | grep -q "audit/log" && fail "the audit log is visible inside: $out"
iscadm halt $N || fail halt
iscadm audit --verify >/dev/null || fail "verify at the end"
ok "the ISC sees no audit log"
