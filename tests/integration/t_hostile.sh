#!/bin/bash
# t_hostile.sh - hostile root inside, round 2: no host terminal or file enters an ISC, trusted
# sessions read nothing the ISC wrote, commits are bounded, stoppable and strip privileges,
# deep trees neither wedge nor break, a session's processes end with it.  README-attack.md.
. "$(dirname "$0")/lib.sh"

PROBE=$(readlink -f "$B/tests/helpers/isc-probe")
[ -x "$PROBE" ] || fail "no $PROBE"
command -v script >/dev/null || { echo "skip: no script(1) to give iscadm a terminal"; exit 77; }

iscadm pool create --size 2G || fail "pool create"
tree=$T/tree
mkdir -p "$tree/bin" "$tree/etc/isc/services" "$tree/root" "$tree/home" "$tree/tmp" "$tree/run" "$tree/dev" "$tree/proc" "$tree/sys" "$tree/var/tmp" "$tree/var/lib/dpkg" \
	"$tree/usr/bin" "$tree/srv" "$tree/scratch"
cp /bin/busybox "$tree/bin/busybox"
for a in $("$tree/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$tree/bin/$a"; done
cp "$PROBE" "$tree/bin/isc-probe"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$tree/etc/passwd"
printf 'root:x:0:\n' > "$tree/etc/group"
: > "$tree/var/lib/dpkg/status"
iscadm image build hp --from "dir:$tree" >/dev/null 2>&1 || fail "image build"

# ---- 1. run: the ISC gets a terminal of its own, never ours ----------------------------
# TIOCSTI on fd 0 with seccomp off (so that the terminal, not the filter, is what is shown):
# whatever it types lands in the ISC's own pty, and the shell after iscadm reads nothing.
out=$(script -qec "$ISCADM run --rm --image hp --set seccomp=off -- isc-probe tiocsti-stdin; \
read -t 2 line; echo \"GOT:[\$line]\"" /dev/null < /dev/null 2>&1 | tr -d '\r')
printf '%s\n' "$out" | grep -q "tiocsti-stdin: typed" || fail "premise: TIOCSTI did not work inside ($out)"
printf '%s\n' "$out" | grep -q 'GOT:\[\]' || fail "run injected into the operator's terminal: $out"
out=$(script -qec "$ISCADM run --rm --image hp -- isc-probe tiocsti-stdin" /dev/null < /dev/null 2>&1)
printf '%s\n' "$out" | grep -q "tiocsti-stdin: EPERM" || fail "seccomp let TIOCSTI through: $out"
out=$(script -qec "$ISCADM run --rm --image hp -- sh -c 'tty; readlink /proc/self/fd/0'" /dev/null < /dev/null | tr -d '\r')
printf '%s\n' "$out" | grep -qx "/dev/pts/[0-9]*" || fail "run with a terminal: /dev/tty is not the ISC's pty: $out"
ok "run: TIOCSTI reaches only the ISC's own pty (and seccomp refuses it)"
out=$(iscadm run --rm --image hp -- sh -c 'for f in 0 1 2; do readlink /proc/self/fd/$f; done' < /etc/hostname)
[ "$(printf '%s\n' "$out" | grep -c '^pipe:')" = 3 ] || fail "run without a terminal: stdio is not pipes: $out"
ok "run without a terminal: stdin, stdout and stderr are pipes"

N=it-hf
new_isc $N --image hp --profile flexible-configuration
# the image's build is known good; bound what sessions may write
iscadm set $N session-size=64M || fail "set session-size"
iscadm boot $N || fail "boot"

# ---- 3. a redirected login passes no host file in -----------------------------------------
in_isc $N 'ls -l /proc/self/fd/' > "$T/fds.txt" || fail "login"
grep -q "$T" "$T/fds.txt" && fail "the host file is inside: $(cat "$T/fds.txt")"
[ "$(grep -c -- '-> pipe:' "$T/fds.txt")" -ge 3 ] || fail "stdio not relayed: $(cat "$T/fds.txt")"
ok "redirected login: stdio are pipes, the host file never enters"

# ---- 7. a session's processes end with it; login always works -------------------------------
for i in 1 2 3; do
	in_isc $N 'i=0; while [ $i -lt 40 ]; do sleep 300 & i=$((i+1)); done; true' > "$T/s$i.log" 2>&1
done
start=$(date +%s%N)
left=$(in_isc $N 'ps -o comm,args | grep -c "sleep 30[0]"')
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$left" = 0 ] || fail "$left sleepers of earlier sessions are still running"
[ "$ms" -lt 1000 ] || fail "login took $ms ms after three exhausted sessions"
ok "three sessions that spent their reserve left nothing; the next login took $ms ms"

# ---- 2. login -T reads nothing the ISC wrote ------------------------------------------------
in_isc $N 'echo "touch /etc/PWNED-profile" > /root/.profile; mkdir -p /etc/profile.d;
	echo "touch /etc/PWNED-profiled" > /etc/profile.d/x.sh; echo "touch /etc/PWNED-env" > /root/.shrc;
	echo planted > /var/tmp/planted' || fail "plant"
out=$(iscadm login -T $N -- sh -c 'ls /root/.profile /etc/profile.d /var/tmp/planted 2>&1; echo trusted > /etc/trusted-was-here')
printf '%s\n' "$out" | grep -q "planted$" && fail "the trusted session sees the ISC's /var: $out"
printf '%s\n' "$out" | grep -q "^/root/.profile$" && fail "the trusted session sees the ISC's /root: $out"
script -qec "$ISCADM login -T $N" /dev/null <<<'exit' >/dev/null 2>&1
iscadm halt $N || fail "halt"
iscadm boot $N || fail "boot after -T"
out=$(in_isc $N 'ls /etc/PWNED-profile /etc/PWNED-profiled /etc/PWNED-env 2>/dev/null; cat /etc/trusted-was-here')
[ "$out" = trusted ] || fail "after login -T: '$out' (a planted profile ran, or the session's write is gone)"
ok "login -T: no planted profile ran, what the session wrote was committed"
iscadm halt $N || fail "halt"

# ---- 4. setuid bits and file capabilities do not survive a commit ------------------------
iscadm boot -W $N -- sh -c 'cp /bin/busybox /usr/bin/suid && chmod 4755 /usr/bin/suid &&
	cp /bin/busybox /usr/bin/sgid && chmod 2755 /usr/bin/sgid' >/dev/null || fail "boot -W setuid"
out=$(in_isc $N 'stat -c "%a %n" /usr/bin/suid /usr/bin/sgid')
[ "$out" = "755 /usr/bin/suid
755 /usr/bin/sgid" ] || fail "setuid/setgid survived the commit: $out"
ok "commit strips setuid and setgid bits"
iscadm halt $N || fail "halt"

# ---- 5. what a session writes is bounded; a huge one is refused, the ISC stays as it was ---
v0=$(iscadm get $N image-digest)
out=$(iscadm boot -W $N -- sh -c 'truncate -s 16T /f' 2>&1)
printf '%s\n' "$out" | grep -q "self-assembly failed" || fail "a 16T sparse file was allowed: $out"
iscadm halt $N
iscadm boot -w $N || fail "boot -w"
out=$(in_isc $N 'dd if=/dev/zero of=/big bs=1M count=100 2>&1; i=0; while [ $i -lt 20 ]; do
	truncate -s 60M /sparse$i || exit 9; i=$((i+1)); done')
printf '%s\n' "$out" | grep -qE "No space left|File too large" || fail "100M written to a 64M session: $out"
iscadm halt $N || fail "halt -w"
iscadm notes $N | grep -q "more than session-size" || fail "no refusal note: $(iscadm notes $N | tail -3)"
[ "$(iscadm get $N image-digest)" = "$v0" ] || fail "a refused session moved the version"
iscadm boot $N || fail "boot after a refused session"
iscadm halt $N
ok "a session is bounded (RLIMIT_FSIZE, its own filesystem); 1.2G of sparse files refused, the ISC boots as before"

# ---- 6. deep trees: refused in one bounded line, never wedging boot or destroy -------------
# mkdir -p makes 1,000 levels a call, cd goes one chunk at a time
chunk='p=a; i=1; while [ $i -lt 1000 ]; do p=$p/a; i=$((i+1)); done'
iscadm boot -W $N -- sh -c "$chunk; cd /root; for k in 1 2 3; do mkdir -p \$p && cd -P \$p || exit 1; done" >/dev/null 2>&1
line=$(iscadm notes $N | grep "levels deep" | tail -1)
[ -n "$line" ] || fail "no refusal of a 3,000-level tree: $(iscadm notes $N | tail -3)"
[ ${#line} -lt 300 ] || fail "refusal line is ${#line} bytes"
in_isc $N 'test -e /root/a' && fail "a refused deep tree was committed"
iscadm halt $N
iscadm set $N session-size=1G || fail "set"
iscadm boot -w $N || fail "boot -w"
# 20,000 levels in the session (/usr), in two logins: a session's 64 MiB are charged
# for the dentries it makes
for half in 0 1; do
	in_isc $N "$chunk; cd /usr; k=0; while [ \$k -lt $((10 * half + 10)) ]; do
		[ \$k -lt $((10 * half)) ] || mkdir -p \$p; cd -P \$p || exit 1; k=\$((k+1)); done" \
		> $T/deep.log 2>&1 || fail "make 20,000 levels: $(tail -c 300 $T/deep.log)"
done
timeout 120 "$ISCADM" halt $N || fail "halt after 20,000 levels"
iscadm notes $N | grep -q "levels deep" || fail "no refusal of 20,000 levels"
iscadm boot $N || fail "boot after 20,000 levels"
iscadm halt $N
ok "3,000 and 20,000 levels: refused in one line of ${#line} bytes; boot works"

# ---- 5 and 9: a long commit holds no pool lock, and a halt stops it -----------------------
O=it-ho
new_isc $O --image hp
iscadm boot -w $N || fail "boot -w"
in_isc $N 'head -c 300000000 /dev/urandom > /bulk' || fail "write bulk"
v0=$(iscadm get $N image-digest)
iscadm halt $N & hpid=$!
# the commit runs in a worker of the supervisor's: two iscd processes for the ISC
workers() { pgrep -f "iscd --root .* $N( |$)" | wc -l; }
for i in $(seq 300); do [ "$(workers)" -ge 2 ] && break; sleep 0.05; done
[ "$(workers)" -ge 2 ] || fail "premise: no commit running: $(pgrep -af iscd) $(iscadm notes $N | tail -4)"
for cmd in "list" "boot $O" "halt $O"; do
	start=$(date +%s%N)
	iscadm $cmd >/dev/null || fail "$cmd during a commit"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$ms" -lt 1000 ] || fail "'iscadm $cmd' took $ms ms during another ISC's commit"
	echo "   iscadm $cmd during the commit: $ms ms"
done
[ "$(workers)" -ge 2 ] || fail "premise: the commit ended before the halt"
start=$(date +%s%N)
iscadm halt $N || fail "second halt"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
wait $hpid
[ "$ms" -lt 5000 ] || fail "halt during the commit took $ms ms"
[ "$(workers)" = 0 ] || fail "the commit still runs after the halt"
pgrep -f "mkfs.erofs .*/images/" >/dev/null && fail "mkfs.erofs still runs after the halt"
[ "$(iscadm get $N image-digest)" = "$v0" ] || fail "a stopped commit moved the version"
iscadm notes $N | grep -q "stopped by a halt" || fail "no note of the stopped commit"
ok "list, boot and halt of another ISC answer during a commit; a halt stops it in $ms ms"
iscadm boot $N || fail "boot finishing the kept session"
[ "$(iscadm get $N image-digest)" != "$v0" ] || fail "the kept session was not committed at the next boot"
in_isc $N 'test -s /bulk' || fail "bulk lost"
iscadm halt $N
ok "the kept session is committed at the next boot"

iscadm destroy -f $N || fail "destroy"
ok "done"
