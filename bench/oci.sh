#!/bin/bash
# bench/oci.sh - isc-runtime against runc: `podman run --rm IMAGE /bin/true` through each runtime,
# and create + start + wait + delete through the runtime alone, on the same busybox tree.
#
#   bench/oci.sh                    # RUNS=50 WARMUP=3; a release build in build-rel (ISC_BUILD)
#   RUNS=100 bench/oci.sh
#
# crun from Debian 12 (1.8) refuses this machine's hybrid cgroups; it gets a row where it runs.
# podman's storage, its image and the runtimes' states live in one mktemp directory, removed on
# exit; the runs' cgroups are under a parent of their own, removed too.  hyperfine's JSON and the
# table stay in $OUT.
set -euo pipefail

RUNS=${RUNS:-50}
WARMUP=${WARMUP:-3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
OUT=${OUT:-/tmp/isc-bench-oci-$(date +%Y%m%d-%H%M%S)}
. "$SRC/bench/lib.sh"

need=()
command -v podman >/dev/null    || need+=(podman)
command -v runc >/dev/null      || need+=(runc)
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v jq >/dev/null        || need+=(jq)
bench_install ${need[@]+"${need[@]}"}
bench_isc
RT=$ISC_BUILD/isc-runtime
[ -x "$RT" ] || die "no $RT"
RUNC=$(command -v runc)
CRUN=$(command -v crun || true)

WORK=$(mktemp -d /tmp/isc-bench-oci.XXXXXX)
TAG=isc-bench-oci-$$
mkdir -p "$OUT"
PODMAN=(podman --root "$WORK/storage" --runroot "$WORK/runroot" --tmpdir "$WORK/ptmp" --cgroup-manager cgroupfs
	--events-backend file)
OPTS=(--network none --cgroup-parent "/$TAG" --ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
finish() {
	"${PODMAN[@]}" rm -af >/dev/null 2>&1 || true
	"${PODMAN[@]}" rmi -af >/dev/null 2>&1 || true
	findmnt -rn -o TARGET | grep "^$WORK/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	local d
	for d in /sys/fs/cgroup/*/"$TAG" /sys/fs/cgroup/"$TAG" /sys/fs/cgroup/*/isc-bench-oci /sys/fs/cgroup/isc-bench-oci; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf "$WORK"
}
trap finish EXIT

# ---- one tree for everyone: busybox ------------------------------------------------------------
tree=$WORK/tree
mkdir -p "$tree/bin" "$tree/etc" "$tree/tmp"
cp /bin/busybox "$tree/bin/busybox"
for a in sh true; do ln -s busybox "$tree/bin/$a"; done
tar -C "$tree" -c . | "${PODMAN[@]}" import - localhost/bench-oci:1 >/dev/null
# the runtimes' state under $WORK: podman's exit command (the --rm cleanup) hands on
# --runtime but not --runtime-flag, so a wrapper gives --root
for n in isc runc crun; do
	case $n in isc) bin=$RT ;; runc) bin=$RUNC ;; crun) bin=$CRUN ;; esac
	[ -n "$bin" ] || continue
	printf '#!/bin/sh\nexec %s --root %s/state-%s "$@"\n' "$bin" "$WORK" "$n" > "$WORK/rt-$n"
	chmod 755 "$WORK/rt-$n"
done
# crun where it runs on this machine
if [ -n "$CRUN" ] && ! "${PODMAN[@]}" --runtime "$WORK/rt-crun" run --rm "${OPTS[@]}" localhost/bench-oci:1 true >/dev/null 2>&1; then
	say "crun does not run here (hybrid cgroups): no crun row"
	CRUN=""
fi

# ---- podman run --rm ----------------------------------------------------------------------------
say "podman run --rm /bin/true: $RUNS runs each"
cmds=()
names=()
for n in isc runc crun; do
	[ "$n" = crun ] && [ -z "$CRUN" ] && continue
	names+=("podman+$n")
	cmds+=("$(printf '%q ' "${PODMAN[@]}" --runtime "$WORK/rt-$n" run --rm "${OPTS[@]}" localhost/bench-oci:1 /bin/true)")
done
args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N -r "$RUNS" -w "$WARMUP" --export-json "$OUT/podman.json" "${args[@]}" >/dev/null

# ---- the runtime alone: create, start, wait for the exit, delete --------------------------------
say "the runtime alone: create + start + delete of /bin/true, $RUNS runs each"
BUN=$WORK/bundle
mkdir -p "$BUN"
cp -a "$tree" "$BUN/rootfs"   # runc takes no symlink as its root
(cd "$BUN" && "$RT" spec)
jq '.process.terminal = false | .process.args = ["/bin/true"] | .linux.cgroupsPath = "isc-bench-oci/c"
    | del(.linux.namespaces[] | select(.type == "cgroup"))' "$BUN/config.json" > "$BUN/c" && mv "$BUN/c" "$BUN/config.json"
cat > "$WORK/alone.sh" <<'EOF'
#!/bin/sh
# RUNTIME ROOT BUNDLE: create, start, wait until stopped, delete
rt=$1 root=$2 bun=$3
$rt --root "$root" create -b "$bun" c >/dev/null || exit 1
$rt --root "$root" start c || exit 1
while [ "$($rt --root "$root" state c | grep -c '"stopped"')" = 0 ]; do :; done
$rt --root "$root" delete c
EOF
chmod 755 "$WORK/alone.sh"
args=(-n "isc-runtime" "$WORK/alone.sh $RT $WORK/alone-isc $BUN" -n "runc" "$WORK/alone.sh $RUNC $WORK/alone-runc $BUN")
hyperfine -N -r "$RUNS" -w "$WARMUP" --export-json "$OUT/alone.json" "${args[@]}" >/dev/null

# ---- the table ----------------------------------------------------------------------------------
row() {   # JSON NAME: median and mean in ms
	jq -r --arg n "$2" '.results[] | select(.command == $n) |
		"\(.median * 1000 | . * 10 | round / 10) \(.mean * 1000 | . * 10 | round / 10) \(.stddev * 1000 | . * 10 | round / 10)"' "$1"
}
{
	echo "bench/oci.sh: $RUNS runs, $(nproc) CPUs, kernel $(uname -r), $(podman --version), runc $(runc --version | head -1 | awk '{print $3}')"
	printf '%-28s %10s %10s %10s %8s\n' "" "median ms" "mean ms" "stddev" "ratio"
	base=$(row "$OUT/podman.json" podman+runc | awk '{print $1}')
	for n in "${names[@]}"; do
		read -r med mean sd <<< "$(row "$OUT/podman.json" "$n")"
		printf '%-28s %10s %10s %10s %8s\n' "$n run --rm" "$med" "$mean" "$sd" "$(awk -v a="$med" -v b="$base" 'BEGIN {printf "%.2fx", a / b}')"
	done
	base=$(row "$OUT/alone.json" runc | awk '{print $1}')
	for n in isc-runtime runc; do
		read -r med mean sd <<< "$(row "$OUT/alone.json" "$n")"
		printf '%-28s %10s %10s %10s %8s\n' "$n create+start+delete" "$med" "$mean" "$sd" "$(awk -v a="$med" -v b="$base" 'BEGIN {printf "%.2fx", a / b}')"
	done
	echo "ratio: against runc in the same run (the target: isc-runtime through podman below 1.00x)"
} | tee "$OUT/table.txt"
