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
