# The console is the ISC's byte stream, shown terminal-safe; the notes are the supervisor's (in the pool's audit log), out of the ISC's reach.
. "$(dirname "$0")/lib.sh"
setup_pool
N=it-con1
new_isc $N
iscadm boot $N || fail "boot"
data=$ISC_ROOT/pool/isc/$N/data

# wait_log FILE BYTES: until the supervisor has written BYTES (a fixed string) into FILE
wait_log() {
	local i
	for i in $(seq 50); do
		LC_ALL=C grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# the bytes of FILE that are neither printable ASCII nor newline/tab
unsafe() { LC_ALL=C tr -d '\n\t -~' < "$1" | wc -c; }

for i in $(seq 50); do
	iscadm notes $N | LC_ALL=C grep -qs "^isc: booted $N " && break
	sleep 0.1
done

# ---- what root inside writes to its console reaches the operator escaped --------------
# a forged supervisor note, an OSC 52 clipboard write, a screen clear, an 8-bit CSI (U+009B),
# a carriage return that would hide what precedes it
attack='isc: booted FORGED\n\033]52;c;SGVsbG8=\a\033[2J\302\23331m\rNOTICE: FORGED too\n'
in_isc $N "printf '$attack' > /dev/console" || fail "write to /dev/console"
wait_log "$data/console.log" "NOTICE: FORGED too" || fail "the console did not record the write"
iscadm console $N > "$T/con" || fail "console"
[ "$(unsafe "$T/con")" = 0 ] || fail "console passed control bytes: $(od -c "$T/con" | tail -5)"
grep -qF 'isc: booted FORGED' "$T/con" || fail "console lost the ISC's text: $(cat "$T/con")"
grep -qxF '\x1b]52;c;SGVsbG8=\x07\x1b[2J\xc2\x9b31m\x0dNOTICE: FORGED too' "$T/con" ||
	fail "escapes not shown as \\xNN: $(cat "$T/con")"
ok "console shows ESC, OSC 52, CSI, C1 and CR as \\xNN, one line each as written"
iscadm console --raw $N > "$T/raw" || fail "console --raw"
LC_ALL=C grep -qF "$(printf '\033]52;c;SGVsbG8=\a\033[2J\302\23331m\rNOTICE: FORGED too')" "$T/raw" ||
	fail "console --raw changed the bytes: $(od -c "$T/raw" | tail -5)"
ok "console --raw gives the bytes as they are"
if command -v script >/dev/null; then
	script -qec "$ISCADM console $N" /dev/null > "$T/tty" < /dev/null
	grep -qF 'isc: booted FORGED' "$T/tty" || fail "console on a terminal: $(cat "$T/tty")"
	[ "$(LC_ALL=C tr -d '\r' < "$T/tty" > "$T/tty2"; unsafe "$T/tty2")" = 0 ] ||
		fail "console on a terminal passed control bytes: $(od -c "$T/tty" | tail -5)"
	ok "console on a terminal is escaped too"
fi
in_isc $N "printf 'caf\303\251 \342\202\254 ok\n' > /dev/console"
wait_log "$data/console.log" "€ ok" || fail "utf-8 line not recorded"
iscadm console $N | grep -qxF 'café € ok' || fail "valid UTF-8 not kept: $(iscadm console $N | tail -2)"
ok "valid UTF-8 is kept"

# ---- errors: one line, escaped --------------------------------------------------------
# (not expect_err: its "ok" line would print the name raw)
iscadm get $'x\033[2Jy\nz' 2> "$T/err"; rc=$?
[ $rc = 1 ] && [ "$(wc -l < "$T/err")" = 1 ] && [ "$(unsafe "$T/err")" = 0 ] &&
	grep -qF "invalid ISC name 'x\x1b[2Jy\x0az'" "$T/err" || fail "error message: rc $rc, $(od -c "$T/err")"
ok "an error quoting a name with ESC and a newline is one escaped line"
expect_err 2 "console ISC [--raw]" iscadm console
expect_err 2 "notes ISC" iscadm notes $N extra
expect_err 1 "no ISC named no-such" iscadm notes no-such

# ---- the logs are opened without following links, and only as regular files ------------
ln -s /etc/shadow "$data/console.log.1"
out=$(iscadm console $N 2>&1) && fail "console followed a symlink: $out"
printf '%s' "$out" | grep -q "^root:" && fail "console printed the link's target"
rm -f "$data/console.log.1"
mkfifo "$data/console.log.1"
out=$(timeout 10 "$ISCADM" console $N 2>&1); rc=$?
[ $rc = 1 ] && printf '%s' "$out" | grep -q "not a regular file" || fail "a FIFO as log: rc $rc, $out"
rm -f "$data/console.log.1"
ok "a symlink or a FIFO in a log's place is refused"

# ---- 3 MiB of forged notes on the console: the console stays bounded -------------------
in_isc $N "yes 'isc: booted FORGED' | head -c 3145728 > /dev/console" || fail "flood"
# until the supervisor has drained the console: the sizes stop changing
last=""
for i in $(seq 50); do
	sleep 0.2
	now=$(stat -c %s "$data/console.log" "$data/console.log.1" 2>/dev/null | tr '\n' ' ')
	[ -e "$data/console.log.1" ] && [ "$now" = "$last" ] && break
	last=$now
done
n=$(iscadm console $N | wc -c)
[ "$n" -gt $((1 << 20)) ] && [ "$n" -le $((2 * (1 << 20) + 16384)) ] || fail "console after 3 MiB: $n bytes"
ok "after 3 MiB the console shows its last $n bytes (two generations of 1 MiB)"

# ---- notes: written by the supervisor only, in the audit log --------------------------------------------
iscadm notes $N > "$T/notes" || fail "notes"
grep -q "^isc: booted $N read-only from image base (" "$T/notes" || fail "no boot note after the flood: $(cat "$T/notes")"
grep -q FORGED "$T/notes" && fail "a forged line reached the notes: $(grep FORGED "$T/notes" | head -3)"
[ "$(unsafe "$T/notes")" = 0 ] || fail "notes passed control bytes"
grep -q "^isc: booted $N " "$T/con" && fail "a supervisor note in the console (before the flood)"
ok "the boot note survives 3 MiB of forged console lines; no forged line is a note"
out=$(in_isc $N 'find / \( -name "notes.log*" -o -path "*/audit/log" \) 2>/dev/null | grep -v "^/proc/"')
[ -z "$out" ] || fail "notes visible inside: $out"
in_isc $N "printf 'isc: halt requested\n' > /dev/console"
iscadm halt $N || fail "halt"
[ "$(iscadm notes $N | grep -c '^isc: halt requested$')" = 1 ] || fail "halt note: $(iscadm notes $N | tail -3)"
[ "$(iscadm audit $N --json | jq -r '.[] | select(.event == "halt" and .source == "iscd") | .msg' |
	grep -c '^isc: halt requested$')" = 1 ] || fail "audit --json: no one halt record of the supervisor"
ok "the notes are out of the ISC's reach; halt is noted once, by the supervisor"
