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

# new_isc NAME [create options]: create, remember for cleanup
new_isc() {
	local n=$1; shift
	TEST_ISCS="$TEST_ISCS $n"
	iscadm create "$n" --image base "$@" || fail "create $n"
}
