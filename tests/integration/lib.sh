# lib.sh - shared by the integration scenarios: a private ISC_ROOT, cleanup on exit, asserts.
set -u
B=${ISC_BUILD:-build-asan}
ISCADM=$(readlink -f "$B/iscadm")
[ -x "$ISCADM" ] || { echo "no $B/iscadm: build first"; exit 1; }
# LeakSanitizer cannot follow our forks into namespaces; ASan/UBSan stay on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
T=$(mktemp -d /tmp/isc-it.XXXXXX)
export ISC_ROOT=$T/root
# generated key files of this root only (never /etc/isc/keys)
export ISC_KEYDIR=$T/keys
TEST_ISCS=""

iscadm() { "$ISCADM" "$@"; }

cleanup() {
	local n
	# the test's own, and any other a failure left (a run --rm's run-PID)
	for n in $TEST_ISCS $(iscadm list -p 2>/dev/null | cut -d: -f1); do
		iscadm halt "$n" >/dev/null 2>&1
		iscadm destroy -f "$n" >/dev/null 2>&1
		rm -rf "/run/isc/$n"
	done
	# the host-wide verification records of this pool's images
	local f
	for f in "$ISC_ROOT"/pool/images/*.erofs; do
		[ -e "$f" ] && rm -f "/run/isc/verified/$(basename "$f" .erofs)"
	done
	# what a dead supervisor left is removed here, and said (run.sh shows it)
	iscadm pool close 2>&1 >/dev/null | grep "whose supervisor had died" | sed 's/^/cleanup: /'
	rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# expect_err EXIT_CODE SUBSTRING CMD... : the command fails that way, with one line.
expect_err() {
	local want=$1 sub=$2; shift 2
	local out rc
	out=$("$@" 2>&1 >/dev/null); rc=$?
	[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, wanted $want ($out)"
	printf '%s' "$out" | grep -qF -- "$sub" || fail "'$*' said '$out', wanted '$sub'"
	[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "'$*' printed more than one line: $out"
	ok "$* -> $sub"
}

# in ISC CMD: run a shell command as root inside, print its output
in_isc() { local n=$1; shift; iscadm login "$n" -- sh -c "$*"; }

setup_pool() {
	iscadm pool create --size 512M || fail "pool create"
	iscadm image build base --from busybox >/dev/null 2>&1 || fail "image build"
}

# probe_tree DIR: a root for the attack probes: busybox and its applets, isc-probe and a
# setuid-root copy of it, root and nobody in passwd and group
probe_tree() {
	local probe a
	probe=$(readlink -f "$B/tests/helpers/isc-probe")
	[ -x "$probe" ] || fail "no $probe"
	[ -x /bin/busybox ] || fail "no /bin/busybox (busybox-static) to build the probe tree from"
	mkdir -p "$1/bin" "$1/etc"
	cp /bin/busybox "$1/bin/busybox"
	for a in $("$1/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"; done
	cp "$probe" "$1/bin/isc-probe"
	cp "$probe" "$1/bin/isc-probe-suid" && chmod 4755 "$1/bin/isc-probe-suid"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$1/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' > "$1/etc/group"
}

# isc_echos ISC 4|6: the echo requests the ISC's own kernel has taken in
isc_echos() {
	if [ "$2" = 6 ]; then
		in_isc "$1" "cat /proc/net/snmp6" | awk '$1 == "Icmp6InEchos" { print $2 }'
	else
		in_isc "$1" "cat /proc/net/snmp" |
			awk '$1 == "Icmp:" { if (!h) { for (i = 2; i <= NF; i++) if ($i == "InEchos") c = i; h = 1 } else print $c }'
	fi
}

# no_routed_path FROM FROM_ADDR TO TO_ADDR GATEWAY 4|6: FROM (net_admin inside) routes TO_ADDR via
# the gateway and pings it, and nothing arrives (TO's own kernel counts the echo requests that do);
# the control: FROM pinging its own address moves its own count
no_routed_path() {
	local from=$1 faddr=$2 to=$3 taddr=$4 gw=$5 v=$6 ip=ip len=32 b0 e1 e2
	[ "$v" = 6 ] && ip="ip -6" len=128
	b0=$(isc_echos "$from" "$v")
	in_isc "$from" "ping -c 1 -W 2 $faddr" >/dev/null 2>&1 || fail "$from pings itself (the control)"
	[ "$(isc_echos "$from" "$v")" -gt "$b0" ] || fail "$from's echo count does not move ($b0)"
	e1=$(isc_echos "$to" "$v")
	in_isc "$from" "$ip route add $taddr/$len via $gw && ping -c 2 -W 1 $taddr; $ip route del $taddr/$len" >/dev/null 2>&1
	e2=$(isc_echos "$to" "$v")
	[ "$e2" = "$e1" ] || fail "$from reached $to through the host's routing ($e1 -> $e2 echo requests)"
}

# new_isc NAME [create options]: create, remember for cleanup
new_isc() {
	local n=$1; shift
	TEST_ISCS="$TEST_ISCS $n"
	iscadm create "$n" --image base "$@" || fail "create $n"
}
