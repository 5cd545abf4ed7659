# send and receive: a snapshot streamed into a second pool (another ISC_ROOT) boots there with
# the same files; an incremental brings the later changes; --raw carries no plaintext, a wrong key
# fails cleanly and the right key at another path works; a cut stream kept and resumed; the stream
# through socat between two
# network namespaces; bit flips, truncations, a reordered and a repeated frame: each refused with
# one line, nothing left behind (no ISC, no key record, no staging).
. "$(dirname "$0")/lib.sh"
FLIPS=${SEND_FLIPS:-200}
setup_pool
ROOT_B=$T/rootb
B() { ISC_ROOT=$ROOT_B "$ISCADM" "$@"; }
NS_A=isc-it-sa$$ NS_B=isc-it-sb$$
cleanup_b() {
	local n
	for n in $(B list -p 2>/dev/null | cut -d: -f1); do
		B halt "$n" >/dev/null 2>&1
		B destroy -f "$n" >/dev/null 2>&1
		rm -rf "/run/isc/$n"
	done
	B pool close >/dev/null 2>&1
	ip netns del $NS_A 2>/dev/null
	ip netns del $NS_B 2>/dev/null
}
trap 'cleanup_b; cleanup' EXIT
B pool create --size 512M >/dev/null || fail "pool create in the second root"

CANARY="canary-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
new_isc it-snd --profile flexible-configuration
iscadm boot it-snd >/dev/null || fail "boot"
in_isc it-snd "mkdir -p /var/data && echo $CANARY > /var/data/secret && echo one > /etc/a && ln -s secret /var/data/link &&
	dd if=/dev/urandom of=/var/data/blob bs=1k count=300 2>/dev/null && chmod 640 /var/data/secret && chown 5:6 /var/data/secret" ||
	fail "write data"
sum_a=$(in_isc it-snd 'md5sum /var/data/blob /var/data/secret /etc/a')
iscadm halt it-snd >/dev/null
iscadm snapshot it-snd@one >/dev/null || fail "snapshot one"

# ---- full, plain ---------------------------------------------------------------------------------
iscadm send it-snd@one --dry-run | grep -qE "^it-snd@one: [0-9]+ image layers?, [0-9]+ frozen layers?, about " ||
	fail "dry-run: $(iscadm send it-snd@one --dry-run)"
iscadm send it-snd@one -o "$T/full" || fail "send -o"
grep -qa "$CANARY" "$T/full" || fail "premise: a plain stream holds the canary"
expect_err 1 "exists" iscadm send it-snd@one -o "$T/full"
out=$(B receive it-rcv -i "$T/full") || fail "receive: $out"
printf '%s\n' "$out" | grep -q "^received it-snd@one as it-rcv: " || fail "receive said: $out"
B boot it-rcv >/dev/null || fail "boot the received ISC: $(B notes it-rcv | tail -2)"
sum_b=$(ISC_ROOT=$ROOT_B "$ISCADM" login it-rcv -- sh -c 'md5sum /var/data/blob /var/data/secret /etc/a')
[ "$sum_a" = "$sum_b" ] || fail "the received files differ: $sum_a / $sum_b"
own=$(ISC_ROOT=$ROOT_B "$ISCADM" login it-rcv -- sh -c 'stat -c "%a %u:%g" /var/data/secret; readlink /var/data/link')
[ "$own" = "640 5:6
secret" ] || fail "modes, owners, links: $own"
B halt it-rcv >/dev/null
B verify it-rcv >/dev/null || fail "verify of the received ISC: $(B verify it-rcv 2>&1 | tail -3)"
B snapshot -l -p it-rcv | cut -d: -f1 | tr '\n' ' ' | grep -qx "it-rcv@created it-rcv@one " ||
	fail "the received snapshots: $(B snapshot -l -p it-rcv)"
[ "$(B get it-rcv profile)" = flexible-configuration ] || fail "the profile did not come along"
ok "full: received into a second pool, boots, the same files, modes, owners and links, verify clean"

# a pool names its images by one scheme: a stream whose names are by the other is refused whole
mv "$ROOT_B/pool/images/.tree-digest" "$T/mark"
expect_err 1 "the stream's images are named by tree digests, this pool's by flat SHA-256" \
	B receive it-flat -i "$T/full"
mv "$T/mark" "$ROOT_B/pool/images/.tree-digest"
B list -p | grep -q "^it-flat:" && fail "a refused receive left the ISC"

# a plain stream's record may not loosen confinement unless the operator says so; a raw one may
new_isc it-loose --set seccomp=off --set limitpriv=default,+net_raw
iscadm send it-loose@created -o "$T/loose" || fail "send it-loose"
expect_err 1 "the stream's record loosens confinement (seccomp=off, limitpriv=default,+net_raw): receive --accept-settings" \
	B receive it-lsr -i "$T/loose"
B list -p | grep -q "^it-lsr:" && fail "a refused record made an ISC"
[ -e "$ISC_KEYDIR/it-lsr.key" ] && fail "a refused record left its key file"
B receive it-lsr -i "$T/loose" --accept-settings >/dev/null || fail "receive --accept-settings"
[ "$(B get it-lsr seccomp)" = off ] || fail "the accepted settings did not come along"
ok "a plain stream's record that loosens confinement is refused unless --accept-settings"

# ---- signed: a plain stream's end is signed by the sending pool's host key -----------------------------
B receive it-sig -i "$T/full" --trust "$ISC_ROOT/pool/signing/host.pub" >/dev/null || fail "receive --trust the sender's key"
B send it-rcv@one > /dev/null || fail "a send from the second pool (it makes that pool's host key)"
OTHER=$ROOT_B/pool/signing/host.pub
[ -s "$OTHER" ] && ! cmp -s "$OTHER" "$ISC_ROOT/pool/signing/host.pub" || fail "premise: two pools, two host keys"
expect_err 1 "the stream is not signed by $OTHER" B receive it-sig2 -i "$T/full" --trust "$OTHER"
expect_err 1 "--trust: " B receive it-sig2 -i "$T/full" --trust "$T/nothing.pub"
B list -p | grep -q "^it-sig2:" && fail "a refused signature made an ISC"
ok "signed: received with --trust the sender's key; another key, or none readable, refused"

# ---- incremental ----------------------------------------------------------------------------------
iscadm boot it-snd >/dev/null
in_isc it-snd 'echo two > /etc/a; rm /var/data/link; echo more >> /var/data/secret' || fail "change"
iscadm halt it-snd >/dev/null
iscadm snapshot it-snd@two >/dev/null || fail "snapshot two"
expect_err 1 "no snapshot it-snd@nope" iscadm send it-snd@two -i @nope -o "$T/x"
[ -e "$T/x" ] && fail "a failed send left its file"
iscadm send it-snd@two -i @one | B receive it-rcv >/dev/null || fail "incremental send | receive"
B boot it-rcv >/dev/null || fail "boot after the increment"
got=$(ISC_ROOT=$ROOT_B "$ISCADM" login it-rcv -- sh -c 'cat /etc/a; ls /var/data; tail -1 /var/data/secret')
[ "$got" = "two
blob
secret
more" ] || fail "after the increment: $got"
B halt it-rcv >/dev/null
iscadm send it-snd@two -i @one -o "$T/incr" || fail "send -i -o"
expect_err 1 "ISC it-new does not exist here: an incremental stream goes onto" B receive it-new -i "$T/incr"
expect_err 1 "it-rcv has changed since @one: iscadm rollback it-rcv@one first" B receive it-rcv -i "$T/incr"
B list -p | grep -q "^it-new:" && fail "a refused increment made an ISC"
ok "incremental: only the changes, onto the received snapshot; refused where the base is not there"

# ---- raw ---------------------------------------------------------------------------------------------
iscadm send --raw it-snd@two -o "$T/raw" || fail "send --raw"
grep -qa "$CANARY" "$T/raw" && fail "the raw stream holds plaintext"
grep -qa "flexible-configuration" "$T/raw" && fail "the raw stream holds the record in the clear"
head -c 32 /dev/urandom > "$T/wrong.key"; chmod 600 "$T/wrong.key"
expect_err 1 "wrong key" B receive it-raw -i "$T/raw" --key "raw,file://$T/wrong.key"
B list -p | grep -q "^it-raw:" && fail "a failed raw receive left the ISC"
cp "$ISC_KEYDIR/it-snd.key" "$T/moved.key"; chmod 600 "$T/moved.key"
B receive it-raw -i "$T/raw" --key "raw,file://$T/moved.key" >/dev/null || fail "raw receive with the key at another path"
B boot it-raw >/dev/null || fail "boot the raw-received ISC"
ISC_ROOT=$ROOT_B "$ISCADM" login it-raw -- cat /var/data/secret | grep -q "$CANARY" || fail "raw: the data"
B halt it-raw >/dev/null
ok "raw: no plaintext in the stream (canary, record), a wrong key refused with nothing left, the key at another path works"

# ---- a cut stream kept (receive -s) and resumed (send -t) --------------------------------------------------
size=$(stat -c %s "$T/full")
head -c $((size - 150000)) "$T/full" > "$T/cut"   # in the last layer
out=$(B receive -s it-res -i "$T/cut" 2>&1) && fail "a cut stream was received"
printf '%s\n' "$out" | grep -q "^iscadm: it-res kept ([1-9][0-9]* parts\? whole): the stream ends early" || fail "kept: $out"
printf '%s\n' "$out" | grep -q "^iscadm: resume with: iscadm send -t 1-" || fail "no resume line: $out"
tok=$(B receive --token it-res) || fail "receive --token"
B pool check --repair 2>&1 | grep -q "tmp/partial-it-res: a kept receive" || fail "pool check does not say the kept receive"
[ -e "$ROOT_B/pool/tmp/partial-it-res/state" ] || fail "pool check --repair took the kept receive"
B list -p | grep -q "^it-res:" && fail "a kept receive shows as an ISC"
expect_err 1 "a kept receive of it-res waits" B receive it-res -i "$T/full"
rest=$(iscadm send -t "$tok" | wc -c)
[ "$rest" -lt "$size" ] || fail "the resumed stream ($rest bytes) is not shorter than the whole ($size)"
iscadm send -t "$tok" | B receive -s it-res >/dev/null || fail "the resumed receive"
[ -e "$ROOT_B/pool/tmp/partial-it-res" ] && fail "the kept state outlived the resume"
B boot it-res >/dev/null || fail "boot the resumed ISC"
[ "$(ISC_ROOT=$ROOT_B "$ISCADM" login it-res -- sh -c 'md5sum /var/data/blob /var/data/secret /etc/a')" = "$sum_a" ] ||
	fail "the resumed ISC's files differ"
B halt it-res >/dev/null
# dropped instead
B receive -s it-drop -i "$T/cut" >/dev/null 2>&1 && fail "a cut stream was received"
B receive -A it-drop || fail "receive -A"
[ -e "$ROOT_B/pool/tmp/partial-it-drop" ] || [ -e "$ROOT_B/pool/keys/it-drop.wrapped" ] || ls -a "$ROOT_B/pool/images" | grep -q recv &&
	fail "receive -A left something"
expect_err 1 "no kept receive of it-drop" B receive -A it-drop
ok "a stream cut in its last layer kept by receive -s, resumed by send -t (only the rest, $rest of $size bytes), boots with the same files; -A drops one"

# ---- between network namespaces, through socat ----------------------------------------------------------
ip netns add $NS_A && ip netns add $NS_B || fail "netns"
ip link add isc-it-sv$$ type veth peer name isc-it-sw$$ || fail "veth"
ip link set isc-it-sv$$ netns $NS_A && ip link set isc-it-sw$$ netns $NS_B
ip -n $NS_A addr add 10.99.7.1/24 dev isc-it-sv$$ && ip -n $NS_A link set isc-it-sv$$ up
ip -n $NS_B addr add 10.99.7.2/24 dev isc-it-sw$$ && ip -n $NS_B link set isc-it-sw$$ up
ip netns exec $NS_B sh -c "socat -u TCP-LISTEN:7070,reuseaddr STDOUT | ISC_ROOT=$ROOT_B '$ISCADM' receive it-net" > "$T/net.out" 2>&1 &
RECV=$!
for i in $(seq 50); do ip netns exec $NS_B ss -Hltn 'sport = :7070' | grep -q . && break; sleep 0.1; done
iscadm send it-snd@one | ip netns exec $NS_A socat -u STDIN TCP:10.99.7.2:7070 || fail "send through socat"
wait $RECV || fail "receive behind socat: $(cat "$T/net.out")"
B list -p | grep -q "^it-net:installed:" || fail "it-net not received"
ok "through socat between two network namespaces"

# ---- corruption: one line, nothing left ------------------------------------------------------------------
left() {
	local what=""
	B list -p | grep -q "^it-bad:" && what="$what ISC"
	[ -e "$ROOT_B/pool/keys/it-bad.wrapped" ] && what="$what key"
	ls "$ROOT_B/pool/tmp" 2>/dev/null | grep -q . && what="$what tmp"
	ls -a "$ROOT_B/pool/images" | grep -q '^\.build-recv' && what="$what staging"
	echo "$what"
}
size=$(stat -c %s "$T/full")
refused=0
for i in $(seq $FLIPS); do
	off=$(( $(od -An -tu4 -N4 /dev/urandom) % size ))
	cp "$T/full" "$T/bad"
	byte=$(od -An -tu1 -j "$off" -N1 "$T/full" | tr -d ' ')
	printf "\\$(printf %03o $(( byte ^ (1 << (off % 8)) )))" | dd of="$T/bad" bs=1 seek="$off" conv=notrunc status=none
	out=$(B receive it-bad -i "$T/bad" 2>&1 >/dev/null) && fail "a bit flip at byte $off was received"
	[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "flip at $off: more than one line: $out"
	[ -z "$(left)" ] || fail "flip at $off left:$(left) ($out)"
	refused=$((refused + 1))
done
for i in $(seq 20); do
	cut=$(( $(od -An -tu4 -N4 /dev/urandom) % size ))
	head -c $cut "$T/full" > "$T/bad"
	out=$(B receive it-bad -i "$T/bad" 2>&1 >/dev/null) && fail "a stream cut at $cut was received"
	[ -z "$(left)" ] || fail "cut at $cut left:$(left)"
done
# the frames' offsets: the header, then type (1 byte) and body length (u32 LE) each
u32() { od -An -tu4 -j "$1" -N4 "$T/full" | tr -d ' '; }
pos=$((12 + $(u32 8))); at=""
for k in 1 2 3 4; do at="$at $pos"; pos=$((pos + 5 + $(u32 $((pos + 1))))); done
set -- $at
part() { tail -c +$(($1 + 1)) "$T/full" | head -c "$2"; }
{ part 0 "$2"; part "$3" $(($4 - $3)); part "$2" $(($3 - $2)); tail -c +$(($4 + 1)) "$T/full"; } > "$T/swap"
{ part 0 "$3"; part "$2" $(($3 - $2)); tail -c +$(($3 + 1)) "$T/full"; } > "$T/dup"
[ "$(stat -c %s "$T/swap")" = "$size" ] || fail "premise: the swapped stream's size"
expect_err 1 "does not match the chain" B receive it-bad -i "$T/swap"
expect_err 1 "does not match the chain" B receive it-bad -i "$T/dup"
[ -z "$(left)" ] || fail "reorder or repeat left:$(left)"
ok "$refused bit flips, 20 cuts, a swapped and a repeated frame: each refused in one line, nothing left"

# ---- crafted streams: a chain anyone can compute, around hostile layer archives ----------------------------
# The plain chain keeps out damage, not a forger; what a layer may hold is checked entry by entry.
hex2bin() { printf "$(printf '%s' "$1" | sed 's/../\\x&/g')"; }
byte() { printf "\\$(printf %03o "$1")"; }
u32le() { byte $(($1 & 255)); byte $((($1 >> 8) & 255)); byte $((($1 >> 16) & 255)); byte $((($1 >> 24) & 255)); }
# frame TYPE FILE: append one plain frame to $OUT, chained from $TAG
frame() {
	local n; n=$(stat -c %s "$2")
	{ byte "$1"; u32le "$n"; } > "$T/fh"
	TAG=$( { hex2bin "$TAG"; cat "$T/fh" "$2"; } | b2sum -l 256 | cut -d' ' -f1)
	{ byte "$1"; u32le $((n + 32)); cat "$2"; hex2bin "$TAG"; } >> "$OUT"
}
hl=$(u32 8); tail -c +$((12 + hl + 1 + 5)) "$T/full" | head -c $(( $(u32 $((12 + hl + 1))) - 32 )) > "$T/meta"
grep -q '"config"' "$T/meta" || fail "premise: the META payload"
# craft NAME TAR: header, META, one LAYER holding TAR, END
craft() {
	OUT=$T/crafted; head -c $((12 + hl)) "$T/full" > "$OUT"
	TAG=$(head -c $((12 + hl)) "$T/full" | b2sum -l 256 | cut -d' ' -f1)
	frame 1 "$T/meta"
	printf '{"layer":"var","id":1}' > "$T/j"; frame 3 "$T/j"
	frame 4 "$2"
	printf '{"size":%d}' "$(stat -c %s "$2")" > "$T/j"; frame 5 "$T/j"
	printf '{"frames":5,"bytes":0}' > "$T/j"; frame 6 "$T/j"
}
H=$T/hostile; rm -rf "$H"; mkdir -p "$H/d" "$H/e"; echo x > "$H/d/owned"; echo x > "$H/e/f"; ln -s /etc "$H/l"
mknod "$H/$(printf 'dev\033[2J')" c 1 3; echo y > "$H/hl1"; ln "$H/hl1" "$H/hl2"
tar --format=pax -C "$H" -cf "$T/t-symlink.tar" ./l --transform 's,^\./d,./l,' ./d/owned
tar --format=pax -C "$H" -P -cf "$T/t-dotdot.tar" --transform 's,^\./e,./../../escape,' ./e/f
tar --format=pax -C "$H" -cf "$T/t-device.tar" "./$(printf 'dev\033[2J')"
tar --format=pax -C "$H" -cf "$T/t-hardlink.tar" ./hl1 ./hl2
tar --format=pax -C "$H" -cf "$T/t-owner.tar" --owner=70000 ./e
tar --format=pax -C "$H" -cf "$T/t-benign.tar" --owner=0 --group=0 ./e
craft ok "$T/t-benign.tar"
expect_err 1 "the stream is not signed (--trust" B receive it-bad -i "$T/crafted" --trust "$ISC_ROOT/pool/signing/host.pub"
[ -z "$(left)" ] || fail "an unsigned stream under --trust left:$(left)"
for t in symlink dotdot device hardlink owner; do
	craft bad "$T/t-$t.tar"
	out=$(B receive it-bad -i "$T/crafted" 2>&1 >/dev/null) && fail "a layer with a $t was received"
	[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "$t: $out"
	printf '%s' "$out" | grep -q "$(printf '\033')" && fail "$t: a raw escape byte from the stream reached the terminal"
	printf '%s\n' "$out" | grep -q "does not match the chain" && fail "premise: the crafted chain ($t): $out"
	[ -z "$(left)" ] || fail "$t left:$(left)"
	[ -e /etc/owned ] && { rm -f /etc/owned; fail "a symlink in a layer wrote /etc/owned"; }
	ls "$ROOT_B/pool/tmp" "$ROOT_B/pool" 2>/dev/null | grep -q escape && fail "a ../ path escaped"
	echo "  $t: $out"
done
ok "crafted streams with a valid chain: unsigned, refused under --trust; without it, a symlink to write through, ../, a device node (its name with an escape sequence, said escaped), a hard link, an owner outside the ISC's ids: each refused, nothing written outside"

# the parser of those layers, isc-archive, runs behind its own walls: no_new_privs, a seccomp
# filter, only the capabilities writing a layer needs (bounding set too), nothing else
AR=$(readlink -f "$B/isc-archive")
mkdir -p "$T/ua"; rm -f "$T/ua.fifo"; mkfifo "$T/ua.fifo"
( cd "$T/ua" && exec "$AR" unpack 100000 < "$T/ua.fifo" ) 2>/dev/null & apid=$!
exec 8>"$T/ua.fifo"
st=
for i in $(seq 50); do
	st=$(cat /proc/$apid/status 2>/dev/null)
	printf '%s' "$st" | grep -q "^Seccomp:[[:space:]]*2" && break; sleep 0.1
done
exec 8>&-; wait $apid 2>/dev/null
printf '%s\n' "$st" | grep -q "^NoNewPrivs:[[:space:]]*1" || fail "isc-archive without no_new_privs: $st"
printf '%s\n' "$st" | grep -q "^Seccomp:[[:space:]]*2" || fail "isc-archive without its seccomp filter"
# chown, dac_override, fowner, fsetid, sys_admin (the opaque mark), mknod (whiteouts)
want=000000000820001b
for f in CapEff CapPrm CapBnd; do
	printf '%s\n' "$st" | grep -q "^$f:[[:space:]]*$want" ||
		fail "isc-archive $f: $(printf '%s\n' "$st" | grep "^$f") (want $want)"
done
ok "isc-archive unpacks with no_new_privs, a seccomp filter and six capabilities (bounding set too)"
