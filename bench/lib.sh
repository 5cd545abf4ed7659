# bench/lib.sh - sourced by the benchmarks: messages, peers installed, isc built.
say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# bench_install PKG...: Debian packages, installed quietly (nothing when none is given)
bench_install() {
	[ $# -gt 0 ] || return 0
	say "installing $*"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq "$@" >/dev/null
}

# bench_build DIR [MESON OPTIONS...]: ninja in DIR, set up first (from SRC) when it is not a build
bench_build() {
	local dir=$1; shift
	say "building isc in $dir"
	if [ -f "$dir/build.ninja" ]; then
		ninja -C "$dir" >/dev/null || die "ninja -C $dir failed"
	else
		(cd "$SRC" && meson setup "$dir" "$@" >/dev/null && ninja -C "$dir" >/dev/null) || die "build failed"
	fi
	[ -x "$dir/iscadm" ] || die "no $dir/iscadm"
}

# bench_isc: as root, isc built (release, no sanitizers) in $ISC_BUILD (default build-rel, under
# the source tree when relative); ISCADM set to its iscadm
bench_isc() {
	[ "$(id -u)" = 0 ] || die "run as root"
	case ${ISC_BUILD:=build-rel} in /*) ;; *) ISC_BUILD=$SRC/$ISC_BUILD ;; esac
	bench_build "$ISC_BUILD" --buildtype=release -Dsanitize=false
	ISCADM=$ISC_BUILD/iscadm
}

# bench_pool_close: close the pool of $ISC_ROOT with $ISCADM, retried a few seconds (the last
# unmounts of a halted ISC may lag a moment behind it)
bench_pool_close() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		"$ISCADM" pool close >/dev/null 2>&1 && ! grep -q " $ISC_ROOT/pool " /proc/self/mountinfo && return 0
		sleep 0.5
	done
	return 1
}

# the median of the numbers on stdin, one a line
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# podman's parent cgroups (libpod_parent): whether any is there now, and their removal (empty
# ones only) at the end of a run that found none at its start
bench_podman_cgroups() { ls -d /sys/fs/cgroup/*/libpod_parent >/dev/null 2>&1 && echo 1 || echo 0; }
bench_podman_cgroups_drop() {
	local d
	for d in /sys/fs/cgroup/*/libpod_parent; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}
