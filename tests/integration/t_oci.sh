#!/bin/bash
# t_oci.sh - isc-runtime under real engines: podman (run --rm, -d, exec, ps, top, logs, stop, -it through a terminal), containerd's ctr (run, exec, pause, kill, delete), the attack probes through podman with isc-runtime beside runc, and bad bundles: one-line errors, nothing left in --root or in cgroups.
[ "$(id -u)" -eq 0 ] || { echo "t_oci.sh needs root (it runs containers)"; exit 77; }
[ -x /bin/busybox ] || { echo "no /bin/busybox (busybox-static) to build the image from"; exit 77; }
command -v podman >/dev/null || { echo "no podman (make deps installs it)"; exit 77; }
. "$(dirname "$0")/lib.sh"

RT=$(readlink -f "$B/isc-runtime")
[ -x "$RT" ] || fail "no $RT"
RUNC=$(command -v runc || true)
TAG=isc-it-oci-$$                       # cgroup parent and containerd namespace of this run
CG=/$TAG

# the runtime's state under $T: a wrapper gives --root (podman's exit command,
# which deletes a --rm container, does not hand on --runtime-flag)
printf '#!/bin/sh\nexec %s --root %s/rt "$@"\n' "$RT" "$T" > "$T/isc-runtime"
chmod 755 "$T/isc-runtime"
PODMAN=(podman --root "$T/storage" --runroot "$T/runroot" --tmpdir "$T/ptmp" --cgroup-manager cgroupfs
	--events-backend file)
# CAP_SYS_RESOURCE is missing here: podman's default limits would raise a hard one
RUNOPTS=(--network none --cgroup-parent "$CG" --ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
isc() { "${PODMAN[@]}" --runtime "$T/isc-runtime" "$@"; }
ref() { "${PODMAN[@]}" --runtime "$RUNC" "$@"; }
CTRD_PID=""

oci_cleanup() {
	isc rm -af -t 0 >/dev/null 2>&1
	"${PODMAN[@]}" rmi -af >/dev/null 2>&1
	if [ -n "$CTRD_PID" ]; then
		local c
		for c in $(ctr --address "$T/ctrd/sock" -n "$TAG" task ls -q 2>/dev/null); do
			ctr --address "$T/ctrd/sock" -n "$TAG" task kill -s SIGKILL "$c" >/dev/null 2>&1
		done
		sleep 0.3
		for c in $(ctr --address "$T/ctrd/sock" -n "$TAG" task ls -q 2>/dev/null); do
			ctr --address "$T/ctrd/sock" -n "$TAG" task delete -f "$c" >/dev/null 2>&1
		done
		kill "$CTRD_PID" 2>/dev/null
		wait "$CTRD_PID" 2>/dev/null
		pkill -9 -f "containerd-shim.*$T/ctrd" 2>/dev/null
		rm -rf "/run/containerd/runc/$TAG" "/run/containerd/io.containerd.runtime.v2.task/$TAG"
	fi
	pkill -9 -f "conmon.*$T/" 2>/dev/null
	# containers' processes still in our groups, then the groups, children first
	local d
	for d in /sys/fs/cgroup/*/"$TAG" /sys/fs/cgroup/"$TAG" /sys/fs/cgroup/*/isc-runtime/it-bad*; do
		[ -d "$d" ] || continue
		find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
		sleep 0.1
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# podman's and containerd's mounts below $T (overlay roots, shm, netns)
	findmnt -rn -o TARGET | grep "^$T/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
	cleanup
}
trap oci_cleanup EXIT

# ---- an image: busybox, isc-probe and a setuid-root copy of it -------------------------
tree=$T/tree
probe_tree "$tree"
mkdir -p "$tree/mnt" "$tree/usr" "$tree/tmp" "$tree/var"
tar -C "$tree" -c . | "${PODMAN[@]}" import - localhost/isc-it:1 >/dev/null 2>&1 || fail "podman import"
ok "image localhost/isc-it:1 imported from the busybox tree"

# ---- podman: run --rm ----------------------------------------------------------------------
out=$(isc run --rm "${RUNOPTS[@]}" localhost/isc-it:1 sh -c 'echo hello; id -u' 2>&1)
[ "$out" = "hello
0" ] || fail "podman run --rm through isc-runtime said: $out"
ok "podman --runtime isc-runtime run --rm: the command ran, as root inside"
rc=0; isc run --rm "${RUNOPTS[@]}" localhost/isc-it:1 sh -c 'exit 42' >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 42 ] || fail "exit status 42 came back as $rc"
ok "the container's exit status comes back (42)"
out=$(isc run --rm "${RUNOPTS[@]}" localhost/isc-it:1 sh -c \
	'touch /etc/x 2>&1; touch /tmp/x && echo tmp-writable; cp /bin/isc-probe /tmp/p; /tmp/p --expect allowed mmap-rwx 2>&1;
	 /tmp/p true 2>&1; grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status' 2>&1)
printf '%s\n' "$out" | grep -q "Read-only file system" || fail "the root is writable: $out"
printf '%s\n' "$out" | grep -q "tmp-writable" || fail "/tmp is not writable: $out"
printf '%s\n' "$out" | grep -q "/tmp/p: Permission denied" || fail "a program copied to /tmp ran: $out"
printf '%s\n' "$out" | grep -q "^NoNewPrivs:.1" || fail "no_new_privs is off: $out"
printf '%s\n' "$out" | grep -q "^Seccomp:.2" || fail "no seccomp filter: $out"
ok "ISC defaults on top of podman's spec: root read-only, /tmp writable and noexec, no_new_privs, seccomp"
[ -z "$(ls "$T/rt" | grep -v denials.log)" ] || fail "run --rm left state: $(ls "$T/rt")"
[ -z "$(find /sys/fs/cgroup/memory$CG -mindepth 1 -maxdepth 1 -type d -name 'libpod-*' 2>/dev/null)" ] ||
	fail "run --rm left a cgroup: $(find /sys/fs/cgroup/memory$CG -mindepth 1 -maxdepth 1 -type d)"
ok "run --rm leaves no state in --root and no cgroup"

# podman run --read-only and --tmpfs: tmpfs mounts that start with the image's files (tmpcopyup)
mkdir -p "$tree/run/sub" && echo from-image > "$tree/run/sub/f" && ln -sfn sub/f "$tree/run/link"
tar -C "$tree" -c . | "${PODMAN[@]}" import - localhost/isc-it:2 >/dev/null 2>&1 || fail "podman import"
out=$(isc run --rm --read-only "${RUNOPTS[@]}" --tmpfs /srv -v "$tree/bin:/opt:ro" localhost/isc-it:2 sh -c \
	'cat /run/sub/f /run/link; touch /run/x /srv/y && echo tmpfs-writable; /opt/busybox true && echo ro-volume-runs;
	 cp /bin/isc-probe /srv/p; /srv/p true' 2>&1)
[ "$(printf '%s\n' "$out" | grep -c '^from-image$')" -eq 2 ] || fail "--read-only: /run lacks the image's files: $out"
printf '%s\n' "$out" | grep -q '^tmpfs-writable$' || fail "--read-only/--tmpfs: not writable: $out"
printf '%s\n' "$out" | grep -q '^ro-volume-runs$' || fail "a read-only volume does not run programs: $out"
printf '%s\n' "$out" | grep -q '/srv/p: Permission denied' || fail "a program copied to --tmpfs /srv ran: $out"
ok "podman run --read-only and --tmpfs: tmpfs with the image's files (tmpcopyup), writable, never run from; a read-only volume runs"

# podman's everyday options: a user, a working directory, the environment, limits
out=$(isc run --rm "${RUNOPTS[@]}" --user 65534 --workdir /tmp -e FOO=bar --memory 64m --pids-limit 50 \
	localhost/isc-it:1 sh -c 'id -u; pwd; echo $FOO; grep ^CapEff: /proc/self/status;
	cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null ||
	cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max' 2>&1)
[ "$out" = "65534
/tmp
bar
CapEff:	0000000000000000
$((64 << 20))
50" ] || fail "--user, --workdir, -e, --memory, --pids-limit: $out"
ok "podman --user 65534 (no capabilities left), --workdir, -e, and --memory/--pids-limit as the container sees its cgroup"

# ---- podman: run -d, exec, ps, top, logs, stop --------------------------------------------
id=$(isc run -d "${RUNOPTS[@]}" localhost/isc-it:1 sh -c 'echo started; trap "echo bye; exit 0" TERM; while :; do sleep 0.1; done')
[ -n "$id" ] || fail "podman run -d gave no id"
out=$(isc ps --format '{{.ID}} {{.Status}}' | grep "^${id:0:12} ") || fail "podman ps does not list $id"
printf '%s' "$out" | grep -q " Up " || fail "podman ps: $out"
ok "podman run -d: the container runs ($out)"
out=$(isc exec "$id" sh -c 'echo in-exec; grep -E "^Seccomp:" /proc/self/status; cat /proc/1/cmdline | tr "\0" " "')
printf '%s\n' "$out" | grep -q "^in-exec$" || fail "podman exec: $out"
printf '%s\n' "$out" | grep -q "^Seccomp:.2" || fail "exec'd process without the filter: $out"
printf '%s\n' "$out" | grep -q "^sh -c echo started" || fail "exec is not in the container's pid namespace: $out"
rc=0; isc exec "$id" sh -c 'exit 7' || rc=$?
[ "$rc" -eq 7 ] || fail "podman exec exit status 7 came back as $rc"
ok "podman exec: in the container's namespaces, confined, exit status back"
isc top "$id" pid args | grep -q "while" || fail "podman top: $(isc top "$id" 2>&1)"
ok "podman top lists the container's processes (isc-runtime ps)"
isc pause "$id" >/dev/null 2>&1 || fail "podman pause"
[ "$(isc inspect -f '{{.State.Status}}' "$id")" = paused ] || fail "not paused"
isc unpause "$id" >/dev/null 2>&1 || fail "podman unpause"
ok "podman pause and unpause (the cgroup freezer)"
out=$(script -qec "$(printf '%q ' "${PODMAN[@]}" --runtime "$T/isc-runtime") exec -it $id sh -c 'tty; [ -t 0 ] && echo stdin-tty'" /dev/null </dev/null 2>&1 | tr -d '\r\000' | sed 's/\^@//g')
printf '%s\n' "$out" | grep -qE '^/dev/pts/[0-9]+$' && printf '%s\n' "$out" | grep -q '^stdin-tty$' ||
	fail "podman exec -it: $out"
ok "podman exec -it: a pty of the container's own"
isc stop -t 5 "$id" >/dev/null || fail "podman stop"
[ "$(isc inspect -f '{{.State.Status}}' "$id")" = exited ] || fail "not exited after stop"
out=$(isc logs "$id")
[ "$out" = "started
bye" ] || fail "podman logs: $out"
ok "podman stop: SIGTERM reached the container's first process; podman logs has its output"
isc rm "$id" >/dev/null || fail "podman rm"
[ ! -e "$T/rt/$id" ] || fail "podman rm left $T/rt/$id"

# ---- podman: run -it through a terminal --------------------------------------------------------
out=$(script -qec "$(printf '%q ' "${PODMAN[@]}" --runtime "$T/isc-runtime") run -it --rm $(printf '%q ' "${RUNOPTS[@]}") localhost/isc-it:1 sh -c 'tty; [ -t 0 ] && echo stdin-tty'" /dev/null </dev/null 2>&1 | tr -d '\r\000' | sed 's/\^@//g')   # ^@: script echoes the NUL it reads at EOF (runc alike)
printf '%s\n' "$out" | grep -q "^/dev/pts/0$" || fail "podman run -it: no pty of the container's own: $out"
printf '%s\n' "$out" | grep -q "^stdin-tty$" || fail "podman run -it: stdin is not the terminal: $out"
ok "podman run -it: the container's own pty (console socket), stdin a terminal"

# ---- the attack probes, isc-runtime beside runc ---------------------------------------------
# DESC|EXPECT|PROBE ARGS: each is one isc-probe run in one container of each runtime
probes=(
	"remount / read-write|EPERM|remount-rw /"
	"mount a tmpfs|EPERM|mount tmpfs /mnt"
	"fsopen(tmpfs)|EPERM|fsopen tmpfs"
	"open_tree(/)|EPERM|open-tree /"
	"mount_setattr: clear ro on /|EPERM|mount-setattr /"
	"pivot_root|EPERM|pivot-root /"
	"mknod /dev/mem|EPERM|mknod c /tmp/mem 1 1"
	"write /proc/sys/kernel/core_pattern|EACCES,EROFS|open-write /proc/sys/kernel/core_pattern"
	"write /sys|EROFS|open-write /sys/class/net/lo/mtu"
	"create a file in /usr|EROFS|create /usr/evil"
	"overwrite a program of the image|EROFS|open-write /bin/isc-probe-suid"
	"exec a program copied to /tmp|EACCES|exec /tmp/x"
	"exec a program copied to /dev/shm|EACCES|exec /dev/shm/x"
	"mmap PROT_EXEC a copied program|EPERM|mmap-exec /tmp/x"
	"an anonymous W+X mapping|EACCES,EPERM|mmap-rwx"
	"setuid-root program as nobody|not-raised|setuid-exec /bin/isc-probe-suid 65534"
	"raise CAP_SYS_ADMIN|EPERM|cap-raise 21"
	"keyctl (the kernel keyrings)|EPERM|keyctl-id"
	"bpf|EPERM|bpf"
	"io_uring_setup|EPERM,ENOSYS|io-uring-setup"
	"perf_event_open|EPERM|perf-event-open"
	"userfaultfd|EPERM|userfaultfd"
	"name_to_handle_at (shocker)|EPERM|name-to-handle /"
	"unshare a user namespace|EPERM|unshare user"
	"ptrace a child|EPERM|ptrace child"
)
script=$T/probes.sh
{
	echo 'cp /bin/isc-probe /tmp/x; cp /bin/isc-probe /dev/shm/x 2>/dev/null'
	for p in "${probes[@]}"; do
		IFS='|' read -r desc want args <<< "$p"
		echo "r=\$(isc-probe --expect $want $args 2>&1); echo \"\$?|$desc|\$r\""
	done
} > "$script"
isc_out=$(isc run --rm "${RUNOPTS[@]}" -v "$script:/probes.sh:ro" localhost/isc-it:1 sh /probes.sh 2>&1)
[ "$(printf '%s\n' "$isc_out" | grep -c '|')" -eq ${#probes[@]} ] || fail "the probes did not all run: $isc_out"
if [ -n "$RUNC" ]; then
	runc_out=$(ref run --rm "${RUNOPTS[@]}" -v "$script:/probes.sh:ro" localhost/isc-it:1 sh /probes.sh 2>&1)
else
	runc_out=""
fi
holes=0 runc_open=0
printf '%-40s %-26s %s\n' "attempt (root in the container)" "isc-runtime" "runc (comparison)"
while IFS='|' read -r rc desc res; do
	r2=$(printf '%s\n' "$runc_out" | awk -F'|' -v d="$desc" '$2 == d { n = split($3, w, " "); print ($1 == 0 ? "blocked: " : "NOT BLOCKED: ") w[n] }')
	[ -n "$r2" ] || r2="(no runc)"
	if [ "$rc" -eq 0 ]; then
		printf '%-40s %-26s %s\n' "$desc" "blocked: ${res##* }" "$r2"
	else
		printf '%-40s %-26s %s\n' "$desc" "NOT BLOCKED: ${res##* }" "$r2"
		holes=$((holes + 1))
	fi
	case $r2 in "NOT BLOCKED"*) runc_open=$((runc_open + 1)) ;; esac
done <<< "$(printf '%s\n' "$isc_out" | grep '|')"
[ "$holes" -eq 0 ] || fail "$holes attempts not blocked through isc-runtime"
ok "all ${#probes[@]} attempts blocked through podman with isc-runtime (runc left $runc_open of them open)"
if [ -n "$RUNC" ]; then
	# the probes can tell: under runc the root is writable and /tmp runs programs
	printf '%s\n' "$runc_out" | grep -q '^1|create a file in /usr|' || fail "runc: /usr not writable? the comparison proves nothing"
	ok "control: with runc the same probes find /usr writable and /tmp executable"
fi
grep -q " denied mount by pid [0-9]* (isc-probe)" "$T/rt/denials.log" ||
	fail "the monitor logged no mount denial: $(tail -3 "$T/rt/denials.log")"
ok "the seccomp denials are logged by isc-runtime's monitor ($(wc -l < "$T/rt/denials.log") lines in denials.log)"

# ---- the runtime alone: lifecycle, state, exec, kill, delete ------------------------------------
BUN=$T/bundle
mkdir -p "$BUN"
cp -a "$tree" "$BUN/rootfs"
(cd "$BUN" && "$RT" spec) || fail "isc-runtime spec"
jq '.process.terminal = false | .process.args = ["sh", "-c", "echo up; sleep 1000"]
    | .linux.cgroupsPath = "'"$TAG"'/direct"' "$BUN/config.json" > "$BUN/c" && mv "$BUN/c" "$BUN/config.json"
R2=$T/rt2
rtc() { "$RT" --root "$R2" "$@"; }
rtc create -b "$BUN" --pid-file "$T/pid" it-direct > "$T/direct.out" 2>&1 || fail "create: $(cat "$T/direct.out")"
[ "$(rtc state it-direct | jq -r .status)" = created ] || fail "state after create: $(rtc state it-direct)"
pid=$(cat "$T/pid")
[ "$(rtc state it-direct | jq -r .pid)" = "$pid" ] || fail "state's pid is not the pid file's"
grep -q "^up" "$T/direct.out" && fail "the process ran before start"
# before start the first process is isc-runtime itself: root in the container may not
# reach the host's binary through /proc/1/exe (CVE-2019-5736) nor its descriptors
out=$(rtc exec it-direct isc-probe --expect EACCES,EPERM readlink /proc/1/exe 2>&1) ||
	fail "/proc/1/exe of the waiting runtime: $out"
for fd in $(rtc exec it-direct ls /proc/1/fd); do
	out=$(rtc exec it-direct isc-probe --expect EACCES,EPERM readlink "/proc/1/fd/$fd" 2>&1) ||
		fail "/proc/1/fd/$fd of the waiting runtime: $out"
done
ok "the waiting first process: its /proc/1/exe and /proc/1/fd out of the container's reach"
rtc start it-direct || fail "start"
[ "$(rtc state it-direct | jq -r .status)" = running ] || fail "state after start: $(rtc state it-direct)"
expect_err 1 "is running, not created" rtc start it-direct
out=$(rtc exec it-direct sh -c 'echo $((6*7))') || fail "exec"
[ "$out" = 42 ] || fail "exec said $out"
rc=0; rtc exec it-direct /bin/nonexistent 2>"$T/e" || rc=$?
[ "$rc" -ne 0 ] && grep -q "exec /bin/nonexistent" "$T/e" || fail "exec of a missing program: rc $rc, $(cat "$T/e")"
[ "$(rtc ps --format json it-direct | jq length)" -ge 1 ] || fail "ps --format json: $(rtc ps --format json it-direct)"
expect_err 1 "is running; stop it first, or delete --force" rtc delete it-direct
rtc kill it-direct KILL || fail "kill"
for i in $(seq 50); do [ "$(rtc state it-direct | jq -r .status)" = stopped ] && break; sleep 0.1; done
[ "$(rtc state it-direct | jq -r .status)" = stopped ] || fail "not stopped after kill"
expect_err 1 "is not running" rtc kill it-direct TERM
rtc delete it-direct || fail "delete"
[ ! -e "$R2/it-direct" ] || fail "delete left $R2/it-direct"
[ ! -d "/sys/fs/cgroup/memory/$TAG/direct" ] && [ ! -d "/sys/fs/cgroup/$TAG/direct" ] || fail "delete left the cgroup"
expect_err 1 "container it-direct does not exist" rtc state it-direct
ok "isc-runtime alone: create (waits), start, state, exec, ps, kill, delete; the cgroup and state gone"

# update: new limits in the running container's groups
rtc run -d -b "$BUN" it-upd >/dev/null 2>&1 || fail "run -d"
if [ -d "/sys/fs/cgroup/memory/$TAG/direct" ]; then
	MEMF=/sys/fs/cgroup/memory/$TAG/direct/payload/memory.limit_in_bytes PIDF=/sys/fs/cgroup/pids/$TAG/direct/payload/pids.max
else
	MEMF=/sys/fs/cgroup/$TAG/direct/payload/memory.max PIDF=/sys/fs/cgroup/$TAG/direct/payload/pids.max
fi
rtc update --memory 96M --pids-limit 77 it-upd || fail "update"
[ "$(cat "$MEMF")" = $((96 << 20)) ] || fail "update: memory $(cat "$MEMF")"
[ "$(cat "$PIDF")" = 77 ] || fail "update: pids $(cat "$PIDF")"
echo '{"pids": {"limit": 55}}' | rtc update -r - it-upd || fail "update -r -"
[ "$(cat "$PIDF")" = 55 ] || fail "update -r: pids $(cat "$PIDF")"
[ "$(cat "$MEMF")" = $((96 << 20)) ] || fail "update -r without memory changed it: $(cat "$MEMF")"
rtc delete -f it-upd || fail "delete -f"
ok "update: memory and pids limits of a running container, from options and from LinuxResources on stdin"

# a user namespace from the spec's mappings: root inside is an unprivileged host uid (the
# bundle's path must be one it may walk, as with runc: $T is mktemp's 0700)
chmod 711 "$T"
mkdir -p "$T/bun-userns" && ln -sfn "$BUN/rootfs" "$T/bun-userns/rootfs"
jq '.process.args = ["sh", "-c", "cat /proc/self/uid_map; id -u; touch /tmp/f && ls -ln /tmp/f"]
    | .linux.namespaces += [{"type": "user"}]
    | .linux.uidMappings = [{"containerID": 0, "hostID": 3100000, "size": 65536}]
    | .linux.gidMappings = [{"containerID": 0, "hostID": 3100000, "size": 65536}]' "$BUN/config.json" > "$T/bun-userns/config.json"
out=$(rtc run -b "$T/bun-userns" it-userns 2>&1) || fail "a user namespace: $out"
printf '%s\n' "$out" | grep -qE '^ +0 +3100000 +65536$' || fail "uid map: $out"
printf '%s\n' "$out" | grep -qE ' 0 +0 .*/tmp/f$' || fail "a file root made inside is not root's inside: $out"
jq '.process.args = ["sleep", "100"]' "$T/bun-userns/config.json" > "$T/c" && mv "$T/c" "$T/bun-userns/config.json"
rtc run -d -b "$T/bun-userns" it-userns2 >/dev/null 2>&1 || fail "run -d in a user namespace"
out=$(rtc exec it-userns2 sh -c 'cat /proc/self/uid_map; grep ^Seccomp: /proc/self/status' 2>&1) || fail "exec: $out"
printf '%s\n' "$out" | grep -qE '^ +0 +3100000 +65536$' && printf '%s\n' "$out" | grep -q '^Seccomp:.2' ||
	fail "exec into the user namespace: $out"
rtc delete -f it-userns2 || fail "delete -f"
ok "a user namespace with the spec's mappings (root inside is host uid 3100000), exec joins it"

# an idmapped volume with maps of its own (the mount's uidMappings, not the container's): a file
# of host uid 1000 is root's inside, and what root writes there is uid 1000's on the host.
# Premise: $T's filesystem can be idmapped on this kernel (ext4 since 5.12, tmpfs since 6.3)
mkdir -p "$T/idvol" && echo owned > "$T/idvol/f" && chown -R 1000:1000 "$T/idvol"
jq --arg v "$T/idvol" '.process.args = ["sh", "-c", "ls -ln /mnt/f; echo made > /mnt/g"]
    | .mounts += [{"destination": "/mnt", "type": "bind", "source": $v, "options": ["rbind", "rw", "idmap"],
                   "uidMappings": [{"containerID": 1000, "hostID": 3100000, "size": 1}],
                   "gidMappings": [{"containerID": 1000, "hostID": 3100000, "size": 1}]}]' \
	"$T/bun-userns/config.json" > "$T/c" && mkdir -p "$T/bun-idmap" && mv "$T/c" "$T/bun-idmap/config.json"
ln -sfn "$BUN/rootfs" "$T/bun-idmap/rootfs"
out=$(rtc run -b "$T/bun-idmap" it-idmap 2>&1)
if printf '%s\n' "$out" | grep -q "does not support idmapped mounts"; then
	echo "skipped: idmapped binds ($(stat -f -c %T "$T") cannot be idmapped on $(uname -r)): $out"
else
	[ -n "$(printf '%s\n' "$out" | grep -E ' 0 +0 .*/mnt/f$')" ] ||
		fail "host uid 1000 is not root inside through the idmapped bind: $out"
	[ "$(stat -c %u:%g "$T/idvol/g")" = 1000:1000 ] ||
		fail "root's write through the idmapped bind: $(stat -c %u:%g "$T/idvol/g" 2>&1)"
	ok "an idmapped bind with the mount's own uidMappings: host uid 1000 is root inside, and the reverse"

	# podman --uidmap with an :idmap volume (the way of Kubernetes' hostUsers: false): the
	# volume's files, root's on the host, are root's inside, and root's writes are root's on the
	# host; without :idmap they are nobody's and not writable
	mkdir -p "$T/pvol" && echo hi > "$T/pvol/f"
	UMAP=(--uidmap 0:3200000:65536 --gidmap 0:3200000:65536)
	out=$(isc run --rm "${RUNOPTS[@]}" "${UMAP[@]}" -v "$T/pvol:/vol:idmap" localhost/isc-it:1 \
		sh -c 'ls -ln /vol/f; echo new > /vol/g && echo wrote' 2>&1)
	printf '%s\n' "$out" | grep -qE ' 0 +0 .*/vol/f$' && printf '%s\n' "$out" | grep -q '^wrote$' ||
		fail "podman --uidmap with an :idmap volume: $out"
	[ "$(stat -c %u:%g "$T/pvol/g")" = 0:0 ] || fail "root's write through :idmap is $(stat -c %u:%g "$T/pvol/g") on the host"
	out=$(isc run --rm "${RUNOPTS[@]}" "${UMAP[@]}" -v "$T/pvol:/vol" localhost/isc-it:1 \
		sh -c 'ls -ln /vol/f; echo new > /vol/h && echo wrote' 2>&1)
	printf '%s\n' "$out" | grep -qE ' 65534 +65534 .*/vol/f$' && ! printf '%s\n' "$out" | grep -q '^wrote$' ||
		fail "the control, the volume without :idmap: $out"
	ok "podman --uidmap and an :idmap volume: the host's root files are root's inside (without :idmap, nobody's)"
fi

# hooks: createRuntime, prestart, poststart, poststop, each with the state on stdin
printf '#!/bin/sh\necho "$1 $(jq -r %s)" >> %s/hooks.log\n' "'.id + \" \" + .status'" "$T" > "$T/hook"
chmod 755 "$T/hook"
mkdir -p "$T/bun-hooks" && ln -sfn "$BUN/rootfs" "$T/bun-hooks/rootfs"
jq --arg h "$T/hook" '.process.args = ["sleep", "1"] | .hooks = {
	"createRuntime": [{"path": $h, "args": ["hook", "createRuntime"]}],
	"createContainer": [{"path": $h, "args": ["hook", "createContainer"]}],
	"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo startContainer in $(hostname) >&2"]}],
	"prestart": [{"path": $h, "args": ["hook", "prestart"]}],
	"poststart": [{"path": $h, "args": ["hook", "poststart"]}],
	"poststop": [{"path": $h, "args": ["hook", "poststop"]}]}' "$BUN/config.json" > "$T/bun-hooks/config.json"
out=$(rtc run -b "$T/bun-hooks" it-hooks 2>&1) || fail "run with hooks: $out"
# createContainer runs before pivot_root (the host's path of the hook), startContainer inside
# (the container's /bin/sh, its hostname)
[ "$(cat "$T/hooks.log")" = "createContainer it-hooks created
createRuntime it-hooks created
prestart it-hooks created
poststart it-hooks running
poststop it-hooks stopped" ] || fail "hooks: $(cat "$T/hooks.log")"
[ "$out" = "startContainer in isc" ] || fail "the startContainer hook: $out"
jq '.hooks = {"createRuntime": [{"path": "/bin/false"}]}' "$BUN/config.json" > "$T/bun-hooks/config.json"
expect_err 1 "hook /bin/false failed (exit 1)" rtc create -b "$T/bun-hooks" it-hooks2
[ ! -e "$R2/it-hooks2" ] || fail "a failed hook left the container"
ok "hooks: createContainer (before pivot_root), createRuntime, prestart, startContainer (inside), poststart, poststop, with the state; a failing one undoes create"

# a noisy container's denials: each of its process trees logs 1000, then counts
mkdir -p "$T/bun-noisy" && ln -sfn "$BUN/rootfs" "$T/bun-noisy/rootfs"
jq '.process.args = ["sh", "-c", "i=0; while [ $i -lt 1100 ]; do mount -t tmpfs x /mnt 2>/dev/null; i=$((i+1)); done"]' \
	"$BUN/config.json" > "$T/bun-noisy/config.json"
rtc run -b "$T/bun-noisy" it-noisy >/dev/null 2>&1
for i in $(seq 50); do grep -q " it-noisy note: 100 more denials" "$R2/denials.log" && break; sleep 0.1; done
[ "$(grep -c " it-noisy denied mount by pid" "$R2/denials.log")" -eq 1000 ] ||
	fail "denials of it-noisy logged: $(grep -c " it-noisy denied" "$R2/denials.log"), wanted 1000"
grep -q " it-noisy note: 100 more denials, not logged one by one$" "$R2/denials.log" ||
	fail "no count of the rest: $(grep " it-noisy note" "$R2/denials.log")"
ok "a container's denials: 1000 logged, the other 100 counted in one line (its share of denials.log)"

[ "$(rtc features | jq -r '.ociVersionMax + " " + (.linux.seccomp.enabled | tostring)')" = "1.1.0 true" ] ||
	fail "features: $(rtc features)"
"$RT" --version | grep -q "^isc-runtime version " || fail "--version"
ok "features and --version"

# ---- bad bundles: one line, nothing made -------------------------------------------------------
bad() {   # NAME SUBSTRING JQ-FILTER | - TEXT
	local n=$1 sub=$2 f=$3
	mkdir -p "$T/bad-$n"
	ln -sfn "$BUN/rootfs" "$T/bad-$n/rootfs"
	if [ "$f" = - ]; then printf '%s' "$4" > "$T/bad-$n/config.json"
	else jq "$f" "$BUN/config.json" > "$T/bad-$n/config.json" || fail "jq $f"; fi
	expect_err 1 "$sub" rtc create -b "$T/bad-$n" "it-bad-$n"
	[ ! -e "$R2/it-bad-$n" ] || fail "a refused create left $R2/it-bad-$n"
	[ -z "$(ls -d /sys/fs/cgroup/*/"$TAG"/it-bad-$n /sys/fs/cgroup/*/isc-runtime/it-bad-$n 2>/dev/null)" ] ||
		fail "a refused create left a cgroup"
}
bad json "config.json: not valid JSON" - '{"ociVersion": "1.1.0",'
bad noproc "process: missing" 'del(.process)'
bad argstype "process.args: expected an array" '.process.args = "sh"'
bad cwd "process.cwd: must be an absolute path" '.process.cwd = "tmp"'
bad ns "linux.namespaces[5].type: unknown namespace time" '.linux.namespaces[5] = {"type": "time"}'
bad nopid "no pid namespace of its own" '.linux.namespaces |= map(select(.type != "pid"))'
bad hostnet "annotation org.isc.network=host allows it" '.linux.namespaces |= map(select(.type != "network"))'
bad wexec "a writable mount that may run programs; annotation org.isc.writable-exec=/data allows it" \
	'.mounts += [{"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["exec"]}]'
bad suid '"suid"' '.mounts += [{"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["suid"]}]'
bad cap "CAP_SYS_ADMIN is beyond isc's set; annotation org.isc.caps=spec" \
	'.process.capabilities.bounding += ["CAP_SYS_ADMIN"]'
bad dev "isc-runtime gives a container only null" \
	'.linux.devices = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]'
bad idmaptmp "idmap on a tmpfs; only a bind can be idmapped" \
	'.mounts += [{"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]}]'
bad idmapnous "idmap without uidMappings, and no user namespace" \
	'.mounts += [{"destination": "/x", "type": "bind", "source": "/tmp", "options": ["rbind", "idmap"]}]'
bad idmaphalf "uidMappings and gidMappings come together" \
	'.mounts += [{"destination": "/x", "type": "bind", "source": "/tmp", "options": ["rbind", "idmap"],
	  "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]'
ln -sfn "$T" "$T/idlink"
bad idmaplink "a symlink in the path of an idmapped bind's source; give the path it points to" \
	".mounts += [{\"destination\": \"/mnt\", \"type\": \"bind\", \"source\": \"$T/idlink/idvol\",
	  \"options\": [\"rbind\", \"idmap\"], \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}],
	  \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]}]"
bad fstype "type overlay; isc-runtime mounts bind" \
	'.mounts += [{"destination": "/x", "type": "overlay", "source": "overlay"}]'
bad sysctl "linux.sysctl kernel.panic: not a setting of the container's own namespaces" \
	'.linux.sysctl = {"kernel.panic": "1"}'
bad annot "annotation org.isc.mdwee: not one isc-runtime knows" '.annotations["org.isc.mdwee"] = "off"'
expect_err 1 "bundle $T/no-bundle: No such file or directory" rtc create -b "$T/no-bundle" it-bad-nobundle
mkdir -p "$T/bad-noconfig"
expect_err 1 "$T/bad-noconfig/config.json: No such file or directory" rtc create -b "$T/bad-noconfig" it-bad-noconfig
mkdir -p "$T/bad-root" && cp "$BUN/config.json" "$T/bad-root/"
expect_err 1 "root.path $T/bad-root/rootfs: No such file or directory" rtc create -b "$T/bad-root" it-bad-root
[ ! -e "$R2/it-bad-root" ] || fail "a create whose root is missing left its state"
ok "bad bundles: each refused in one line naming the field; nothing in --root or the cgroups"

# the annotation relaxes exactly what it names
jq '.mounts += [{"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["exec"]}]
    | .annotations["org.isc.writable-exec"] = "/data"
    | .process.args = ["sh", "-c", "cp /bin/isc-probe /data/p && /data/p --expect allowed mmap-rwx; cp /bin/isc-probe /tmp/p; /tmp/p true"]' \
	"$BUN/config.json" > "$T/bad-wexec/config.json"
out=$(rtc run -b "$T/bad-wexec" it-relax 2>&1) && true
printf '%s\n' "$out" | grep -qE "^mmap-rwx: (EACCES|EPERM)$" || fail "org.isc.writable-exec=/data: a program in /data did not run: $out"
printf '%s\n' "$out" | grep -q "/tmp/p: Permission denied" || fail "the annotation opened /tmp too: $out"
[ ! -e "$R2/it-relax" ] || fail "run left its state"
ok "annotation org.isc.writable-exec=/data: programs run from /data, still not from /tmp"

# ---- --systemd-cgroup: the container in a transient scope of systemd's ------------------------------
if [ -d /run/systemd/system ] && [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	out=$("${PODMAN[@]/cgroupfs/systemd}" --runtime "$T/isc-runtime" run --rm --network none --cgroupns host \
		--ulimit nofile=20000:20000 --ulimit nproc=4096:4096 localhost/isc-it:1 cat /proc/self/cgroup 2>&1)
	printf '%s\n' "$out" | grep -qE '^0::/machine\.slice/libpod-[0-9a-f]{64}\.scope/isc/payload$' ||
		fail "podman --cgroup-manager systemd: the container is not in its scope: $out"
	id=${out#*libpod-}; id=${id%%.scope*}
	for i in $(seq 50); do [ -d "/sys/fs/cgroup/machine.slice/libpod-$id.scope/isc" ] || break; sleep 0.1; done
	[ ! -d "/sys/fs/cgroup/machine.slice/libpod-$id.scope/isc" ] || fail "the scope's groups are left after run --rm"
	ok "--systemd-cgroup (podman's systemd cgroup manager): the container in libpod-ID.scope/isc/payload, gone after"
else
	expect_err 1 "systemd does not own this host's cgroups (use cgroupfs)" \
		"$RT" --root "$R2" --systemd-cgroup create -b "$BUN" it-sd
	[ ! -e "$R2/it-sd" ] || fail "a refused --systemd-cgroup create left its state"
	echo "skipped: --systemd-cgroup with a scope (systemd does not own this host's cgroups; refused as shown)"
fi

# ---- containerd: ctr with the runc shim calling isc-runtime ---------------------------------------
if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
	echo "skipped: containerd (no containerd or ctr)"
else
	mkdir -p "$T/ctrd"
	containerd --root "$T/ctrd/root" --state "$T/ctrd/state" --address "$T/ctrd/sock" > "$T/ctrd/log" 2>&1 &
	CTRD_PID=$!
	CTR=(ctr --address "$T/ctrd/sock" -n "$TAG")
	for i in $(seq 100); do "${CTR[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
	if ! "${CTR[@]}" version >/dev/null 2>&1; then
		echo "skipped: containerd does not start here: $(tail -2 "$T/ctrd/log")"
	else
		out=$("${CTR[@]}" run --rm --runc-binary "$RT" --rootfs "$tree" c1 sh -c 'echo from-ctr; grep ^Seccomp: /proc/self/status' 2>&1)
		printf '%s\n' "$out" | grep -q "^from-ctr$" || fail "ctr run: $out"
		printf '%s\n' "$out" | grep -q "^Seccomp:.2" || fail "ctr run: no filter: $out"
		ok "ctr run --runc-binary isc-runtime: ran, confined"
		out=$(script -qec "$(printf '%q ' "${CTR[@]}") run --rm -t --runc-binary $RT --rootfs $tree c0 sh -c 'tty; [ -t 0 ] && echo stdin-tty'" /dev/null </dev/null 2>&1 | tr -d '\r\000' | sed 's/\^@//g')
		printf '%s\n' "$out" | grep -qE '^/dev/pts/[0-9]+$' && printf '%s\n' "$out" | grep -q '^stdin-tty$' ||
			fail "ctr run -t: $out"
		ok "ctr run -t: a pty of the container's own through the shim's console socket"
		"${CTR[@]}" run -d --runc-binary "$RT" --rootfs "$tree" c2 sleep 1000 || fail "ctr run -d"
		[ "$("${CTR[@]}" task ls | awk '$1 == "c2" {print $3}')" = RUNNING ] || fail "ctr task ls: $("${CTR[@]}" task ls)"
		out=$("${CTR[@]}" task exec --exec-id e1 c2 sh -c 'echo from-exec; cat /proc/1/cmdline | tr "\0" " "')
		printf '%s\n' "$out" | grep -q "^from-exec" || fail "ctr task exec: $out"
		printf '%s\n' "$out" | grep -q "sleep 1000" || fail "ctr task exec: not in c2's pid namespace: $out"
		"${CTR[@]}" task pause c2 || fail "ctr task pause"
		[ "$("${CTR[@]}" task ls | awk '$1 == "c2" {print $3}')" = PAUSED ] || fail "not paused"
		"${CTR[@]}" task resume c2 || fail "ctr task resume"
		"${CTR[@]}" task kill -s SIGKILL c2 || fail "ctr task kill"
		for i in $(seq 50); do [ "$("${CTR[@]}" task ls | awk '$1 == "c2" {print $3}')" = STOPPED ] && break; sleep 0.1; done
		[ "$("${CTR[@]}" task ls | awk '$1 == "c2" {print $3}')" = STOPPED ] || fail "c2 not stopped after kill"
		"${CTR[@]}" task delete c2 >/dev/null || fail "ctr task delete"
		"${CTR[@]}" container delete c2 || fail "ctr container delete"
		[ -z "$(ls "/run/containerd/runc/$TAG" 2>/dev/null | grep -v denials.log)" ] || fail "state left: $(ls "/run/containerd/runc/$TAG")"
		[ ! -d "/sys/fs/cgroup/memory/$TAG/c2" ] && [ ! -d "/sys/fs/cgroup/$TAG/c2" ] || fail "cgroup of c2 left"
		ok "ctr: run -d, task exec, pause, resume, kill, delete; nothing left"
	fi
fi
echo "t_oci: all checks passed"
