#!/bin/bash
# bench/start.sh - one-shot start-to-exit latency of /bin/true: isc against bwrap, runc and
# systemd-nspawn, all on the same busybox tree.  Run as root from anywhere:
#
#   bench/start.sh                  # RUNS=50 WARMUP=3 by default; `make bench` runs this too
#   RUNS=100 bench/start.sh         # more runs (at least 30)
#   ISC_BUILD=build-x bench/start.sh  # another meson build dir (default: build)
#   GAP=0.1 bench/start.sh          # sleep 0.1 s before each run (hyperfine --prepare): see below
#   PROFILE=1 bench/start.sh        # also: where isc's time goes (perf trace, 10 runs)
#
# The row "cgroup attach alone" (bench/cgattach.c) is the floor: isc's own cgroup code moving one
# process into an ISC's groups and removing them, nothing else.
#
# Back to back (the default), a run's cgroup.procs write can find the kernel's cgroup rwsem not
# yet switched back to its reader fast path after the previous run, and no new RCU grace period
# is needed. After a pause the write waits for a full one (about 15-20 ms here). isc and runc
# both move a process into a v1 cgroup; bwrap does not.
#
# If $ISC_BUILD is an ASan/UBSan build (meson -Dsanitize=true), the row "isc" is measured on a
# private release build of the same tree and the sanitized one gets a row of its own.
# Everything it creates (ISC root and pool, the tree, runc state, the release build) lives under
# one mktemp directory and is removed on exit; hyperfine's JSON and the table stay in $OUT.
set -euo pipefail

RUNS=${RUNS:-50}
WARMUP=${WARMUP:-3}
PROFILE=${PROFILE:-0}
GAP=${GAP:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
OUT_DEFAULT=0
[ -n "${OUT:-}" ] || { OUT=/tmp/isc-bench-$(date +%Y%m%d-%H%M%S); OUT_DEFAULT=1; }
case ${ISC_BUILD:=build} in /*) ;; *) ISC_BUILD=$SRC/$ISC_BUILD ;; esac

. "$SRC/bench/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root (containers, loop devices, cgroups)"
[ "$RUNS" -ge 30 ] || die "RUNS must be at least 30"

# ---- peers ------------------------------------------------------------------------------------
need=()
command -v bwrap >/dev/null          || need+=(bubblewrap)
command -v runc >/dev/null           || need+=(runc)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v hyperfine >/dev/null      || need+=(hyperfine)
command -v jq >/dev/null             || need+=(jq)
if [ "$PROFILE" = 1 ]; then command -v perf >/dev/null || need+=(linux-perf); fi
bench_install ${need[@]+"${need[@]}"}

# ---- isc --------------------------------------------------------------------------------------
bench_build "$ISC_BUILD"
ISCADM_GIVEN=$ISC_BUILD/iscadm

# ---- scratch and cleanup ----------------------------------------------------------------------
WORK=$(mktemp -d /tmp/isc-bench.XXXXXX)
ROOT=$WORK/root            # private ISC root (pool.img, pool/, lock)
TREE=$WORK/tree            # the image's tree as a plain directory, for the peers
BUNDLE=$WORK/runc          # runc bundle (config.json)
RUNC_STATE=$WORK/runc-state
MNT=$WORK/mnt
DIGEST=
VERIFIED_NEW=0
mkdir -p "$ROOT" "$BUNDLE" "$RUNC_STATE" "$MNT" "$OUT"

NSPAWN_HAD=""
for d in payload supervisor; do [ -d "/sys/fs/cgroup/unified/$d" ] && NSPAWN_HAD="$NSPAWN_HAD $d"; done
cleanup() {
	local rc=$?
	set +e
	# runc: anything left in our private state dir, and its cgroups
	if command -v runc >/dev/null && [ -d "$RUNC_STATE" ]; then
		for id in $(runc --root "$RUNC_STATE" list -q 2>/dev/null); do
			runc --root "$RUNC_STATE" delete -f "$id" >/dev/null 2>&1
		done
	fi
	for d in /sys/fs/cgroup/*/iscbench-* /sys/fs/cgroup/*/*/iscbench-*; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	# nspawn outside a systemd host makes payload/ and supervisor/ at the top of the
	# unified hierarchy (its own cgroup there is the root): gone again when empty,
	# unless they were there before this run
	for d in payload supervisor; do
		case " $NSPAWN_HAD " in *" $d "*) continue ;; esac
		[ -d "/sys/fs/cgroup/unified/$d" ] && rmdir "/sys/fs/cgroup/unified/$d" 2>/dev/null
	done
	mountpoint -q "$MNT" 2>/dev/null && umount "$MNT"
	# isc: ISCs left by an interrupted run, then the pool
	if [ -e "$ROOT/pool.img" ]; then
		for n in $("$ISCADM" --root "$ROOT" list -p 2>/dev/null | awk -F: '$1 ~ /^run-/ {print $1}'); do
			"$ISCADM" --root "$ROOT" destroy -f "$n" >/dev/null 2>&1
		done
		"$ISCADM" --root "$ROOT" pool close >/dev/null 2>&1
	fi
	# the verification cache entry in /run/isc is shared: drop it only if this run made it
	[ "$VERIFIED_NEW" = 1 ] && [ -n "$DIGEST" ] && rm -f "/run/isc/verified/$DIGEST"
	if grep -q " $ROOT/pool " /proc/mounts; then
		echo "bench: $ROOT/pool still mounted, leaving $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	# an unfinished run's partial results are of no use
	[ "$rc" != 0 ] && [ "$OUT_DEFAULT" = 1 ] && rm -rf "$OUT"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ISCADM=$ISCADM_GIVEN   # the one cleanup uses; it can drive a pool made by the release copy

# An ASan/UBSan build spends most of a short run in the sanitizer runtimes (about twice the
# time here): measure a release build of the same source as "isc", and the given one beside it.
ISCADM=$ISCADM_GIVEN
SANITIZED=0
if ldd "$ISCADM_GIVEN" 2>/dev/null | grep -q 'libasan\|libubsan'; then
	SANITIZED=1
	say "$ISCADM_GIVEN is built with sanitizers: building a release copy for the \"isc\" row"
	(cd "$SRC" && meson setup "$WORK/build-release" --buildtype=release -Dsanitize=false \
		-Dtests=false -Dfuzz=false >/dev/null && ninja -C "$WORK/build-release" >/dev/null) ||
		die "release build failed"
	ISCADM=$WORK/build-release/iscadm
fi


isc() { "$ISCADM" --root "$ROOT" "$@"; }

say "ISC root $ROOT: pool and base image"
isc pool create --size 1G >/dev/null
isc image build base --from busybox >/dev/null
DIGEST=$(isc image list | awk '$1 == "base" {print $2}')
IMG=$(ls "$ROOT"/pool/images/"$DIGEST"*.erofs)
DIGEST=$(basename "$IMG" .erofs)
[ -e "/run/isc/verified/$DIGEST" ] || VERIFIED_NEW=1
echo "image base = $DIGEST ($(du -h "$IMG" | cut -f1) erofs)" >&2

say "the same tree as a plain directory for the peers"
# Copy it out of the very image isc runs (read-only mount), so every peer runs the same files.
if mount -t erofs -o ro,loop "$IMG" "$MNT" 2>/dev/null; then
	cp -a "$MNT/." "$TREE"
	umount "$MNT"
	echo "copied from the erofs image: $(find "$TREE" | wc -l) entries" >&2
else
	# No erofs mount here: build what `image build --from busybox` builds.
	BB=$(command -v busybox) || die "cannot mount the erofs image and no busybox to build the tree"
	mkdir -p "$TREE"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,etc,root,var,home,mnt,opt,srv}
	cp "$BB" "$TREE/bin/busybox"
	chroot "$TREE" /bin/busybox --install -s
	chmod 1777 "$TREE/tmp"
	echo "built with busybox --install -s (erofs mount unavailable)" >&2
fi
[ -x "$TREE/bin/true" ] || [ -L "$TREE/bin/true" ] || die "tree has no /bin/true"

# ---- the commands -----------------------------------------------------------------------------
# runc: minimal spec; `runc run` in the foreground destroys the container (and its cgroup) when
# its process exits (there is no --rm flag), but every run still needs its own id.
(cd "$BUNDLE" && runc spec)
jq --arg r "$TREE" '
	.root = {path: $r, readonly: true}
	| .process.terminal = false
	| .process.args = ["/bin/true"]
	| .linux.namespaces = [{type: "pid"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}, {type: "network"}]
' "$BUNDLE/config.json" >"$BUNDLE/config.json.new"
mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
# The wrapper's pid is the id: unique among live containers, and each run's container is gone
# before the next starts.  dash and no subprocess, so it adds about one exec (~0.5 ms).
cat >"$WORK/runc-run" <<EOF
#!/bin/sh
exec runc --root "$RUNC_STATE" run --bundle "$BUNDLE" "iscbench-\$\$"
EOF
chmod +x "$WORK/runc-run"

NSPAWN_BASE=(systemd-nspawn --read-only --private-network -q -D "$TREE")
NSPAWN_NOTE=

declare -A CMD LABEL
ORDER=(host cgattach isc isc_open)
[ "$SANITIZED" = 1 ] && ORDER+=(isc_san)
ORDER+=(bwrap runc nspawn)
CMD[host]="/bin/true"
LABEL[host]="host /bin/true (no isolation, floor)"
# the floor of every start that makes a cgroup: isc's own cgroup code moving one process into
# an ISC's groups (v1 here: the first cgroup.procs write waits for an RCU grace period), and
# removing them; a process start included, like every row
CMD[cgattach]="$(dirname "$ISCADM")/bench-cgattach"
LABEL[cgattach]="cgroup attach alone (isc's groups)"
CMD[isc]="$ISCADM --root $ROOT run --rm --image base -- /bin/true"
LABEL[isc]="isc run --rm"
[ "$SANITIZED" = 1 ] && LABEL[isc]="isc run --rm (release build)"
# the same with seccomp, Landlock and MDWE off: what confinement costs a start
CMD[isc_open]="$ISCADM --root $ROOT run --rm --image base --set seccomp=off --set landlock=off --set mdwe=off -- /bin/true"
LABEL[isc_open]="isc, confinement off"
CMD[isc_san]="$ISCADM_GIVEN --root $ROOT run --rm --image base -- /bin/true"
LABEL[isc_san]="isc run --rm ($(basename "$ISC_BUILD")/, ASan+UBSan)"
CMD[bwrap]="bwrap --ro-bind $TREE / --unshare-all --proc /proc --dev /dev /bin/true"
LABEL[bwrap]="bwrap --unshare-all"
CMD[runc]="$WORK/runc-run"
LABEL[runc]="runc run"
CMD[nspawn]="${NSPAWN_BASE[*]} /bin/true"
LABEL[nspawn]="systemd-nspawn"

declare -A SKIP
check() {   # run once, outside hyperfine, so a broken peer says why
	local k=$1 err
	if ! err=$(${CMD[$k]} 2>&1 </dev/null); then
		printf '%s' "$err"
		return 1
	fi
}
for k in "${ORDER[@]}"; do
	if [ "$k" = nspawn ] && ! check nspawn >/dev/null; then
		# Without systemd as PID 1 (and so no D-Bus/machined) nspawn cannot register the
		# machine or a scope; try again without that before giving up.
		CMD[nspawn]="${NSPAWN_BASE[*]} --register=no --keep-unit --timezone=off /bin/true"
		NSPAWN_NOTE="needs --register=no --keep-unit here (PID 1 is $(ps -o comm= -p 1), no system bus)"
		LABEL[nspawn]="systemd-nspawn *"
	fi
	if ! err=$(check "$k"); then
		SKIP[$k]=$(printf '%s' "$err" | grep -v '^$' | head -3 | tr '\n' ' ')
		say "skipping $k: ${SKIP[$k]}"
	fi
done

# ---- measure ----------------------------------------------------------------------------------
for k in "${ORDER[@]}"; do
	[ -n "${SKIP[$k]:-}" ] && continue
	say "${LABEL[$k]}: ${CMD[$k]}"
	hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" ${GAP:+--prepare "sleep $GAP"} \
		--export-json "$OUT/$k.json" --command-name "$k" "${CMD[$k]}" >&2
done

# nothing may be left behind by the measured runs
left=$(runc --root "$RUNC_STATE" list -q 2>/dev/null | wc -l)
[ "$left" = 0 ] || echo "bench: WARNING: $left runc containers left" >&2
left=$(isc list -p 2>/dev/null | awk -F: '$1 ~ /^run-/' | wc -l)
[ "$left" = 0 ] || echo "bench: WARNING: $left ISCs left in the pool" >&2

# ---- table ------------------------------------------------------------------------------------
ms() { jq -r ".results[0].$2 * 1000" "$OUT/$1.json"; }
ISC_MED=$(ms isc median)
{
	echo
	echo "one-shot start-to-exit of /bin/true, $RUNS runs (+$WARMUP warm-up) each, hyperfine -N${GAP:+, sleep $GAP s before each run}"
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
	echo
	printf '%-38s %9s %9s %9s %9s %11s %11s\n' peer "median ms" "min ms" "max ms" "mean ms" "peer/isc" "isc/peer"
	printf '%-38s %9s %9s %9s %9s %11s %11s\n' ---- --------- ------ ------ ------- -------- --------
	for k in "${ORDER[@]}"; do
		if [ -n "${SKIP[$k]:-}" ]; then
			printf '%-38s skipped: %s\n' "${LABEL[$k]}" "${SKIP[$k]}"
			continue
		fi
		med=$(ms "$k" median)
		awk -v l="${LABEL[$k]}" -v m="$med" -v lo="$(ms "$k" min)" -v hi="$(ms "$k" max)" \
		    -v mean="$(ms "$k" mean)" -v i="$ISC_MED" \
		    'BEGIN { printf "%-38s %9.2f %9.2f %9.2f %9.2f %10.2fx %10.2fx\n", l, m, lo, hi, mean, m / i, i / m }'
	done
	echo
	awk -v on="$ISC_MED" -v off="$(ms isc_open median)" \
	    'BEGIN { printf "confinement (seccomp + Landlock + MDWE) costs %.2f ms of the median start\n", on - off }'
	if [ -z "${SKIP[cgattach]:-}" ]; then
		awk -v i="$ISC_MED" -v f="$(ms cgattach median)" -v h="$(ms host median)" \
		    'BEGIN { printf "the floor (cgroup attach alone) is %.2f ms, %.2f ms of it the attach itself beyond a process start;\n  isc is %.2f ms above the floor\n", f, f - h, i - f }'
		if [ -n "${SKIP[runc]:-}" ]; then :; else
			awk -v i="$ISC_MED" -v r="$(ms runc median)" \
			    'BEGIN { printf "isc/runc %.2f (the target: at most 0.60)\n", i / r }'
		fi
	fi
	echo "isc does: user ns + idmapped verified erofs + cgroup + netns (and pid/ipc/uts/mount/cgroup ns,"
	echo "  profile overlays and tmpfs mounts, a supervisor process, create+destroy of the ISC in the pool)"
	echo "bwrap: read-only bind of the tree, all namespaces (user ns too), proc and dev; no cgroup"
	echo "runc: pid/ipc/uts/mount/net ns, read-only root, its own cgroup; no user ns"
	if [ -n "$NSPAWN_NOTE" ]; then echo "* nspawn $NSPAWN_NOTE"; fi
	if [ "$SANITIZED" = 1 ]; then
		echo "ratios are against the release build; $ISC_BUILD is sanitized (meson -Dsanitize=true)"
	fi
	echo "JSON: $OUT"
} | tee "$OUT/table.txt"

# ---- optional: where isc's time goes ----------------------------------------------------------
if [ "$PROFILE" = 1 ]; then {
	N=10
	say "isc: syscalls of at least 0.2 ms over $N runs (perf trace --duration 0.2), ms per run"
	for i in $(seq $N); do
		perf trace --duration 0.2 -f -- $ISCADM --root "$ROOT" run --rm --image base -- /bin/true 2>&1
	done >"$OUT/perf-trace.txt"
	# Waiting (wait4, epoll_wait, reads of the supervisor's pipes and sockets) is not work:
	# leave it out, and group the rest by process, syscall and file (pids and numbers folded).
	grep -vE ' (wait4|epoll_wait|waitid)\(|read\(fd: [0-9]+<(socket|pipe)' "$OUT/perf-trace.txt" |
	awk -v n=$N 'match($0, /\( *[0-9.]+ ms\)/) {
		d = substr($0, RSTART + 1, RLENGTH - 5) + 0
		if (d > 10000) next   # perf trace prints a wrapped negative for some interleaved calls
		rest = substr($0, RSTART + RLENGTH + 2)
		split(rest, a, "/"); proc = a[1]
		sc = rest; sub(/^[^ ]+ /, "", sc); sub(/\(.*/, "", sc)
		f = ""; if (match(rest, /<\/[^>]*>/)) { f = substr(rest, RSTART, RLENGTH); gsub(/[0-9]+/, "N", f) }
		k = sprintf("%-16s %-10s %s", proc, sc, f); t[k] += d; c[k]++
	} END { for (k in t) printf "%8.2f ms  %5.1f calls  %s\n", t[k] / n, c[k] / n, k }' |
	sort -rn | head -15
	say "isc: one run's process timeline (perf trace -e execve,execveat,clone,clone3,exit_group,write)"
	# Timestamps in ms from the first traced call.  The one slow iscd write of a few bytes is
	# the pid going into the first v1 cgroup's cgroup.procs; sub-0.5 ms writes are left out.
	perf trace -f -e execve,execveat,clone,clone3,exit_group,write -- \
		$ISCADM --root "$ROOT" run --rm --image base -- /bin/true 2>&1 |
		awk 'match($0, /\( *[0-9.]+ ms\)/) && / write\(/ && substr($0, RSTART + 1, RLENGTH - 5) + 0 < 0.5 { next } { print }' |
		cut -c1-120
	say "for scale: iscadm exec + dynamic linking alone (iscadm --help)"
	hyperfine -N --style basic --warmup 3 --runs 30 "$ISCADM --help" 2>&1 | grep -E 'Time|Range'
	say "for scale: sh joining a new v1 memory cgroup and leaving it, back to back and after a 0.1 s pause"
	P="sh -c 'd=/sys/fs/cgroup/memory/iscbench-\$\$; mkdir \$d; echo \$\$ >\$d/cgroup.procs; echo \$\$ >/sys/fs/cgroup/memory/cgroup.procs; rmdir \$d'"
	Q="sh -c 'd=/sys/fs/cgroup/memory/iscbench-\$\$; mkdir \$d; rmdir \$d'"
	for prep in true "sleep 0.1"; do
		hyperfine -N --style basic --prepare "$prep" --warmup 3 --runs 30 \
			--command-name "join+leave, prepare=$prep" "$P" \
			--command-name "mkdir+rmdir only, prepare=$prep" "$Q" 2>&1 | grep -E 'Benchmark|Time'
	done
} 2>&1 | tee "$OUT/profile.txt"; fi
