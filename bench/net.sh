#!/bin/bash
# bench/net.sh - TCP stream throughput (iperf3) and HTTP request rate (wrk against nginx) through
# an exposure into an ISC, side by side with the same servers on the host directly and under
# `podman run -p`, all three from one Debian tree; and the time from `iscadm boot` to the exposed
# port answering.  Run as root, when nothing else on this host uses isc's networking (it creates
# and removes isc's nft tables and bridge, and podman's rules):
#
#   bench/net.sh                          # REPS=3 SECS=5 CONNS=32 BOOTS=5
#   flock /tmp/isc-it.lock bench/net.sh   # beside the integration tests, which take that lock
#   ISC_BUILD=build-rel bench/net.sh      # another meson build dir (default: build)
#   OPEN=1 bench/net.sh                   # also an ISC with seccomp, Landlock and MDWE off
#   CACHE=/var/tmp/netbench bench/net.sh  # keep the debootstrap tree there, reuse it next time
#   HOSTADDR=192.0.2.2 bench/net.sh       # the host address the clients connect to
#
# The throughput runs go in rounds (host, isc, podman, then again), each row alone on the host: its
# servers up, one iperf3 and one wrk run, its servers, tables and bridge gone before the next.
# A benchmark, not a test: it prints figures and ratios.  Everything it makes (ISC root, pool, the
# tree, podman's storage) lives under one mktemp directory; on any exit, Ctrl-C included, a trap
# stops the servers, halts and destroys the ISC, closes the pool, removes the podman container, the
# nft tables, links and ip_forward setting this run brought, and the directory.  The tables,
# iperf3's JSON and wrk's output stay in $OUT.
set -euo pipefail

REPS=${REPS:-3}
SECS=${SECS:-5}
CONNS=${CONNS:-32}
BOOTS=${BOOTS:-5}
OPEN=${OPEN:-0}
CACHE=${CACHE:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
OUT_DEFAULT=0
[ -n "${OUT:-}" ] || { OUT=/tmp/isc-bench-net-$(date +%Y%m%d-%H%M%S); OUT_DEFAULT=1; }
case ${ISC_BUILD:=build} in /*) ;; *) ISC_BUILD=$SRC/$ISC_BUILD ;; esac
# ports: the servers listen on these in every row; the host row is reached on them directly
HTTP=8080 IPERF=5201
ISC_HTTP=18080 ISC_IPERF=15201     # isc's exposures
POD_HTTP=28080 POD_IPERF=25201     # podman's -p
POD_NAME=iscbench-net-$$
ISC_NAME=netbench

. "$SRC/bench/lib.sh"
now() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }   # ms, no fork

[ "$(id -u)" = 0 ] || die "run as root (ISCs, podman, nft, loop devices)"
[ "$REPS" -ge 1 ] && [ "$BOOTS" -ge 1 ] || die "REPS and BOOTS must be at least 1"

# ---- premises: isc's networking and our ports are free ------------------------------------------
if nft list tables 2>/dev/null | grep -qE '^table (inet|bridge) isc$'; then
	die "isc's nft tables exist (an ISC of another root runs, or a test): run when nothing uses isc's networking"
fi
ip link show isc0 >/dev/null 2>&1 && die "the bridge isc0 exists: run when nothing uses isc's networking"
for p in $HTTP $IPERF $ISC_HTTP $ISC_IPERF $POD_HTTP $POD_IPERF; do
	ss -Hltn "sport = :$p" | grep -q . && die "port $p is in use on this host"
done
: "${HOSTADDR:=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')}"
: "${HOSTADDR:=$(hostname -I 2>/dev/null | awk '{print $1}')}"
case $HOSTADDR in ''|127.*) die "no non-loopback IPv4 address on this host (set HOSTADDR)" ;; esac

# ---- peers ------------------------------------------------------------------------------------
need=()
for c in iperf3 wrk podman runc jq curl; do command -v $c >/dev/null || need+=("$c"); done
bench_install ${need[@]+"${need[@]}"}

# ---- isc --------------------------------------------------------------------------------------
bench_build "$ISC_BUILD"
ISCADM=$ISC_BUILD/iscadm

# ---- scratch and cleanup ----------------------------------------------------------------------
WORK=$(mktemp -d /tmp/isc-bench.XXXXXX)
export ISC_ROOT=$WORK/root ISC_KEYDIR=$WORK/keys ASAN_OPTIONS=detect_leaks=0
TREE=$WORK/tree            # the servers' tree: the image, podman's --rootfs, the host's chroot
MNT=$WORK/mnt
PODMAN=(podman --root "$WORK/podman" --runroot "$WORK/podman-run" --runtime runc)
mkdir -p "$ISC_ROOT" "$MNT" "$OUT"
mkdir -m 700 "$ISC_KEYDIR"
FWD0=$(cat /proc/sys/net/ipv4/ip_forward)
TABLES0=$(nft list tables 2>/dev/null)
CG0=$(bench_podman_cgroups)
LINKS0=$(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//')
DIGESTS_NEW=()
HOST_PIDS=()

# What podman's netavark leaves after its last container (iptables-nft tables ip nat and ip filter
# with its chains, hooked in): dropped after each podman row so that no row runs through another's.
drop_new_tables() {
	local t
	while read -r t; do
		[ -n "$t" ] && ! grep -qxF "$t" <<<"$TABLES0" && nft delete $t 2>/dev/null
	done < <(nft list tables 2>/dev/null)
	return 0
}

cleanup() {
	local rc=$? t l d
	set +e
	for t in "${HOST_PIDS[@]}"; do kill "$t" 2>/dev/null; done
	for t in "${HOST_PIDS[@]}"; do wait "$t" 2>/dev/null; done
	if command -v podman >/dev/null && [ -d "$WORK/podman" ]; then
		"${PODMAN[@]}" rm -f -t 0 "$POD_NAME" >/dev/null 2>&1
	fi
	mountpoint -q "$MNT" 2>/dev/null && umount "$MNT"
	if [ -e "$ISC_ROOT/pool.img" ]; then
		if grep -q " $ISC_ROOT/pool " /proc/self/mountinfo; then
			"$ISCADM" halt "$ISC_NAME" >/dev/null 2>&1
			"$ISCADM" destroy -f "$ISC_NAME" >/dev/null 2>&1
		fi
		bench_pool_close
	fi
	for d in "${DIGESTS_NEW[@]}"; do rm -f "/run/isc/verified/$d"; done
	# pool close removes isc's tables and bridge; if it did not, say so before they go below
	nft list tables 2>/dev/null | grep -qE '^table (inet|bridge) isc$' &&
		{ echo "bench: WARNING: isc's nft tables outlived pool close" >&2; rc=1; }
	# What podman (netavark, runc) and isc added and left: tables, links and podman's parent
	# cgroups that were not there at the start (the premises made sure isc's were not), ip_forward.
	drop_new_tables
	[ "$CG0" = 0 ] && bench_podman_cgroups_drop
	for l in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'); do
		case $l in podman*|cni-*|veth*|iscv*|isc0) ;; *) continue ;; esac
		grep -qxF "$l" <<<"$LINKS0" || ip link del "$l" 2>/dev/null
	done
	echo "$FWD0" >/proc/sys/net/ipv4/ip_forward
	if grep -qF " $WORK/" /proc/self/mountinfo; then
		echo "bench: mounts under $WORK left, leaving it:" >&2
		grep -F " $WORK/" /proc/self/mountinfo >&2
		rc=1
	else
		rm -rf "$WORK"
	fi
	l=$(losetup -a | grep -F "$WORK/" || true)
	[ -z "$l" ] || { echo "bench: WARNING: loop devices of this run left: $l" >&2; rc=1; }
	[ "$rc" != 0 ] && [ "$OUT_DEFAULT" = 1 ] && rm -rf "$OUT"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
isc() { "$ISCADM" "$@"; }

# ---- the tree ---------------------------------------------------------------------------------
say "pool, and a Debian tree with iperf3 and nginx (debootstrap:bookworm, about 1-2 min)"
isc pool create --size 1G >/dev/null
if [ -n "$CACHE" ] && [ -s "$CACHE/tree.tar" ]; then
	echo "tree from $CACHE/tree.tar" >&2
	mkdir -p "$TREE" && tar -C "$TREE" -xpf "$CACHE/tree.tar"
else
	isc image build deb --from debootstrap:bookworm:iperf3,nginx >/dev/null
	d=$(ls "$ISC_ROOT"/pool/images/*.erofs | head -1)
	d=$(basename "$d" .erofs)
	[ -e "/run/isc/verified/$d" ] || DIGESTS_NEW+=("$d")
	# Copy it out of the image isc built (read-only mount), so all three rows run the same files.
	mount -t erofs -o ro,loop "$ISC_ROOT/pool/images/$d.erofs" "$MNT" || die "cannot mount the erofs image"
	cp -a "$MNT/." "$TREE"
	umount "$MNT"
	isc image rm deb >/dev/null
	if [ -n "$CACHE" ]; then mkdir -p "$CACHE" && tar -C "$TREE" -cpf "$CACHE/tree.tar" .; fi
fi
for f in usr/sbin/nginx usr/bin/iperf3; do [ -x "$TREE/$f" ] || die "the tree has no /$f"; done
# nginx: one worker (the client takes the other CPU of a 2-CPU machine), no logs, everything it
# writes in /tmp (a tmpfs in the ISC and under podman --read-only), Debian's default page (615
# bytes); it runs as www-data in every row, so it needs no privilege anywhere.
mkdir -p "$TREE/var/www/bench"
cat >"$TREE/etc/nginx/bench.conf" <<EOF
worker_processes 1;
daemon off;
pid /tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path /tmp/nginx-body;
	proxy_temp_path /tmp/nginx-proxy;
	fastcgi_temp_path /tmp/nginx-fastcgi;
	uwsgi_temp_path /tmp/nginx-uwsgi;
	scgi_temp_path /tmp/nginx-scgi;
	sendfile on;
	keepalive_requests 1000000;
	server { listen $HTTP; root /var/www/bench; }
}
EOF
cp "$TREE/usr/share/nginx/html/index.html" "$TREE/var/www/bench/index.html"
NGINX=(/usr/sbin/nginx -c /etc/nginx/bench.conf -e stderr)
IPERFD=(/usr/bin/iperf3 -s -p "$IPERF")
printf 'exec=%s\nuser=www-data\n' "${NGINX[*]}" >"$TREE/etc/isc/services/nginx"
printf 'exec=%s\nuser=www-data\n' "${IPERFD[*]}" >"$TREE/etc/isc/services/iperf3"
isc image build net --from "dir:$TREE" >/dev/null
d=$(isc image list -p | awk -F: '$1 == "net" {print $2}')
d=$(basename "$(ls "$ISC_ROOT"/pool/images/"$d"*.erofs)" .erofs)
[ -e "/run/isc/verified/$d" ] || DIGESTS_NEW+=("$d")
echo "image net = $d, $(du -sh "$TREE" | cut -f1) tree" >&2

# ---- the measurements -------------------------------------------------------------------------
# wait_answer PORT: poll http://HOSTADDR:PORT/ until it serves the page (10 s at most)
wait_answer() {
	local end=$(( $(now) + 10000 ))
	while [ "$(now)" -lt "$end" ]; do
		curl -sf -o /dev/null --connect-timeout 1 -m 2 "http://$HOSTADDR:$1/" && return 0
	done
	return 1
}
declare -A G R Q A B START   # per row: space-separated lists of each run's figures
# measure ROW HTTPPORT IPERFPORT RUN: one iperf3 run and one wrk run against what ROW serves
measure() {
	local row=$1 hp=$2 ip=$3 r=$4 j w g rt q a b
	j=$OUT/iperf3-$row-$r.json
	iperf3 -c "$HOSTADDR" -p "$ip" -t "$SECS" -O 1 -J >"$j" || die "$row: iperf3 failed: $(jq -r .error "$j" 2>/dev/null)"
	g=$(jq -r '.end.sum_received.bits_per_second / 1e9' "$j")
	rt=$(jq -r '.end.sum_sent.retransmits' "$j")
	w=$OUT/wrk-$row-$r.txt
	wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "http://$HOSTADDR:$hp/" >"$w" || die "$row: wrk failed"
	grep -q 'Non-2xx\|Socket errors' "$w" && die "$row: wrk saw errors: $(grep 'Non-2xx\|Socket errors' "$w")"
	q=$(awk '/^Requests\/sec/ {print $2}' "$w")
	a=$(awk '$1 == "50%" {print $2}' "$w" | tomsec)
	b=$(awk '$1 == "99%" {print $2}' "$w" | tomsec)
	G[$row]+=" $g" R[$row]+=" $rt" Q[$row]+=" $q" A[$row]+=" $a" B[$row]+=" $b"
	printf '%-8s run %s: %6.2f Gbit/s (%s retransmits), %6.0f req/s, p50 %s ms, p99 %s ms\n' \
		"$row" "$r" "$g" "$rt" "$q" "$a" "$b" >&2
}
tomsec() { sed -E 's/us$/ 0.001/; s/ms$/ 1/; s/s$/ 1000/' | awk '{ printf "%.2f", $1 * $2 }'; }
med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# stats V...: "median min max"
stats() { echo "$(med "$@") $(printf '%s\n' "$@" | sort -g | head -1) $(printf '%s\n' "$@" | sort -g | tail -1)"; }

# The host row: the tree's own binaries, chrooted as www-data, in the host's network namespace.
# A private mount namespace only to give the chroot /dev (iperf3 reads /dev/urandom) and /proc.
# exec: `host_run ... &` is a subshell, and the pid it gives must be the server's, for kill.  The
# servers get no descriptor above 2: one could be a lock the caller holds (flock bench/net.sh).
host_run() {
	exec unshare --mount --propagation private sh -c \
		'exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; mount --rbind /dev "$0/dev" && mount -t proc proc "$0/proc" && exec chroot --userspec=33:33 "$0" "$@"' \
		"$TREE" "$@"
}
host_stop() {
	local p
	for p in "${HOST_PIDS[@]}"; do kill "$p"; done
	for p in "${HOST_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	HOST_PIDS=()
}
host_up() {
	host_run "${NGINX[@]}" & HOST_PIDS=($!)
	host_run "${IPERFD[@]}" >/dev/null 2>&1 & HOST_PIDS+=($!)
	wait_answer $HTTP || die "host: nginx does not answer on $HTTP"
}

# The ISC: net=bridge, both ports exposed; isc_open is the same ISC with seccomp, Landlock and
# MDWE off (what confinement costs).  A halt leaves isc's tables (empty) and its bridge: the pool
# is closed after each row, which removes both, so the next row runs without them.
isc_confine() { isc set "$ISC_NAME" seccomp="$1"; isc set "$ISC_NAME" landlock="$1"; isc set "$ISC_NAME" mdwe="$1"; }
isc_up() {
	isc_confine "$([ "$1" = isc_open ] && echo off || echo on)"
	isc boot "$ISC_NAME"
	wait_answer $ISC_HTTP || die "$1: the exposed port $ISC_HTTP does not answer: $(isc console "$ISC_NAME" | tail -5)"
}
isc_down() { isc halt "$ISC_NAME"; isc pool close >/dev/null; }

# podman: crun refuses hybrid cgroups (v1 controllers, as on this machine), so runc, podman's
# other runtime.  The ulimits: podman's default (1048576 open files) is above this machine's
# hard limit.  Its storage and run state are private to this run (--root, --runroot).
POD_RUN=("${PODMAN[@]}" run -d --name "$POD_NAME" --read-only --user 33:33
	--ulimit nofile=20000:20000 --ulimit nproc=4096:4096
	-p "$POD_HTTP:$HTTP" -p "$POD_IPERF:$IPERF" --rootfs "$TREE"
	/bin/sh -c "${IPERFD[*]} >/dev/null 2>&1 & exec ${NGINX[*]}")
podman_up() {
	"${POD_RUN[@]}" >/dev/null
	wait_answer $POD_HTTP || die "podman: port $POD_HTTP does not answer: $("${PODMAN[@]}" logs "$POD_NAME" 2>&1 | tail -3)"
}
podman_down() { "${PODMAN[@]}" rm -f -t 0 "$POD_NAME" >/dev/null; drop_new_tables; }

isc create "$ISC_NAME" --image net --set net=bridge >/dev/null
isc expose "$ISC_NAME" tcp:$ISC_HTTP:$HTTP
isc expose "$ISC_NAME" tcp:$ISC_IPERF:$IPERF

# ---- start to answer, BOOTS times each ---------------------------------------------------------
say "start to answer: nginx on the host, iscadm boot, podman run; $BOOTS times each"
st=()
for _ in $(seq "$BOOTS"); do
	t0=$(now)
	host_run "${NGINX[@]}" & HOST_PIDS=($!)
	wait_answer $HTTP || die "host nginx does not answer"
	st+=($(( $(now) - t0 )))
	host_stop
done
START[host]=$(stats "${st[@]}")
echo "host: nginx exec to answer ${st[*]} ms" >&2
st=() br=()
for _ in $(seq "$BOOTS"); do
	t0=$(now)
	isc boot "$ISC_NAME"
	t1=$(now)
	wait_answer $ISC_HTTP || die "isc: the exposed port $ISC_HTTP does not answer: $(isc console "$ISC_NAME" | tail -5)"
	st+=($(( $(now) - t0 ))) br+=($(( t1 - t0 )))
	isc halt "$ISC_NAME"
done
isc pool close >/dev/null
START[isc]=$(stats "${st[@]}") BOOTRET=$(stats "${br[@]}")
echo "isc: boot to answer ${st[*]} ms (iscadm boot returned after ${br[*]} ms)" >&2
st=()
for _ in $(seq "$BOOTS"); do
	t0=$(now)
	podman_up
	st+=($(( $(now) - t0 )))
	podman_down
done
START[podman]=$(stats "${st[@]}")
echo "podman: run to answer ${st[*]} ms" >&2

# ---- throughput: REPS rounds, each row in turn, so that the host's drift hits all rows alike ----
ROWS=(host isc)
[ "$OPEN" = 1 ] && ROWS+=(isc_open)
ROWS+=(podman)
declare -A PORTS=([host]="$HTTP $IPERF" [isc]="$ISC_HTTP $ISC_IPERF" [isc_open]="$ISC_HTTP $ISC_IPERF"
	[podman]="$POD_HTTP $POD_IPERF")
for r in $(seq "$REPS"); do
	say "round $r of $REPS: ${ROWS[*]}"
	for k in "${ROWS[@]}"; do
		case $k in
		host) host_up ;;
		isc*) isc_up "$k" ;;
		podman) podman_up ;;
		esac
		# shellcheck disable=SC2086
		measure "$k" ${PORTS[$k]} "$r"
		case $k in
		host) host_stop ;;
		isc*) isc net status "$ISC_NAME" >"$OUT/net-status-$k-$r.txt"; isc_down ;;
		podman) podman_down ;;
		esac
	done
done
isc destroy -f "$ISC_NAME" >/dev/null

# ---- table ------------------------------------------------------------------------------------
declare -A GBIT RPS
declare -A LABEL=([host]="host, directly" [isc]="isc, exposure" [isc_open]="isc, confinement off"
	[podman]="podman run -p")
declare -A STARTL=([host]="nginx exec" [isc]="iscadm boot" [isc_open]="iscadm boot" [podman]="podman run")
first() { echo "${1%% *}"; }
ratio() { awk -v a="$(first "$1")" -v b="$(first "$2")" 'BEGIN { printf "%.2fx", a / b }'; }
ver() { dpkg-query "${@:2}" -W -f '${Version}' "$1" 2>/dev/null || echo '?'; }
{
	echo
	echo "net.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
	echo "clients on the host to $HOSTADDR (host row: the servers' own ports; isc and podman: the exposed ones)"
	echo "iperf3 -t $SECS -O 1 (1 stream); wrk -t1 -c$CONNS -d${SECS}s against nginx (1 worker, $(stat -c %s "$TREE/var/www/bench/index.html")-byte page)"
	echo "$REPS rounds (host, isc, podman in turn): median (min-max); retr: iperf3's retransmits; latency: medians of wrk's p50 and p99"
	echo "start to answer: $BOOTS runs each, from the command to the first 200 from nginx (curl in a loop)"
	echo
	printf '%-22s %22s %6s %24s %8s %8s   %s\n' row "iperf3 Gbit/s" retr "wrk req/s" "p50 ms" "p99 ms" "start to answer, ms: median (min-max)"
	for k in "${ROWS[@]}"; do
		# shellcheck disable=SC2086
		{ GBIT[$k]=$(stats ${G[$k]}); RPS[$k]=$(stats ${Q[$k]}); }
		read -r gm gl gh <<<"${GBIT[$k]}"; read -r rm rl rh <<<"${RPS[$k]}"
		# shellcheck disable=SC2086
		printf '%-22s %7.2f (%5.2f-%5.2f) %6s %8.0f (%6.0f-%6.0f) %8s %8s' "${LABEL[$k]}" \
			"$gm" "$gl" "$gh" "$(med ${R[$k]})" "$rm" "$rl" "$rh" "$(med ${A[$k]})" "$(med ${B[$k]})"
		if [ -n "${START[$k]:-}" ]; then
			read -r sm sl sh <<<"${START[$k]}"
			printf '   %s %s (%s-%s)' "${STARTL[$k]}" "$sm" "$sl" "$sh"
		fi
		echo
	done
	echo
	printf '%-22s %22s %6s %24s\n' "isc / host" "$(ratio "${GBIT[isc]}" "${GBIT[host]}")" "" "$(ratio "${RPS[isc]}" "${RPS[host]}")"
	printf '%-22s %22s %6s %24s\n' "isc / podman" "$(ratio "${GBIT[isc]}" "${GBIT[podman]}")" "" "$(ratio "${RPS[isc]}" "${RPS[podman]}")"
	if [ "$OPEN" = 1 ]; then
		printf '%-22s %22s %6s %24s\n' "isc / isc open" "$(ratio "${GBIT[isc]}" "${GBIT[isc_open]}")" "" "$(ratio "${RPS[isc]}" "${RPS[isc_open]}")"
	fi
	read -r bm bl bh <<<"$BOOTRET"
	echo "isc: boot to the exposed port answering: median ${START[isc]%% *} ms; iscadm boot itself returned after $bm ms ($bl-$bh)"
	echo "versions: nginx $(ver nginx --admindir="$TREE/var/lib/dpkg") and iperf3 $(ver iperf3 --admindir="$TREE/var/lib/dpkg") (the tree's), host's iperf3 $(ver iperf3), wrk $(ver wrk), podman $(ver podman), runc $(ver runc), netavark $(ver netavark)"
	echo "targets: isc/host >= 0.90x, isc/podman > 1.00x; raw output: $OUT"
} | tee "$OUT/table.txt"
