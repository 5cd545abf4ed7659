#!/bin/bash
# make demo: an immutable service container on the embedded defaults, and what it protects.
set -u
B=${ISC_BUILD:-build}
iscadm() { "$B/iscadm" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
inside() { printf 'web# %s\n' "$*"; iscadm login web -- sh -c "$*" 2>&1; echo "   (exit $?)"; }

say "this host's kernel: what isc uses of it, and what follows for ISCs"
run iscadm host check
say "the pool (loop-backed ext4 with encryption support under ${ISC_ROOT:-/var/lib/isc})"
iscadm list >/dev/null   # the first command that needs the pool creates and attaches it
run iscadm pool status
say "a base image from Debian's busybox-static, stored by its SHA-256"
iscadm image list | grep -q '^base ' || run iscadm image build base --from busybox
run iscadm image list
iscadm halt web >/dev/null 2>&1
iscadm destroy -f web >/dev/null 2>&1
say "create and boot ISC web (profile fixed-configuration); the image is verified first"
run iscadm create web --image base
run iscadm boot web
run iscadm list
say "the defence layers in force (list --json), and what web may know about itself"
iscadm list --json | grep '"defence"'
inside 'isc-svc info'
say "the banner root sees on login"
iscadm login web -- cat /etc/motd
say "root inside tries to change the system"
inside 'touch /etc/foo'
inside 'rm /bin/busybox'
inside 'echo "mallory:x:0:0::/root:/bin/sh" >> /etc/passwd'
inside 'cp /bin/busybox /tmp/sh && /tmp/sh'
say "what the profile allows still works"
inside 'echo "$(date) hello" >> /var/log/app.log && tail -1 /var/log/app.log'
inside 'isc-svc list; wget -q -O - http://127.0.0.1/'
say "the console, as the supervisor recorded it"
run iscadm console web
say "data at rest: encrypted under web's own key, kept outside the pool"
run iscadm key status
inside 'isc-svc info'
inside 'echo "card 4111-1111" > /var/log/secret.txt; echo tmp-work > /scratch/w; ls /scratch'
say "halt and unload the key: even host root now sees only ciphertext"
run iscadm halt web
run iscadm key unload web
ROOT=${ISC_ROOT:-/var/lib/isc}
run ls "$ROOT/pool/isc/web/data"
f=$(find "$ROOT/pool/isc/web/data" -type f | head -1)
run cat "$f"
sync
printf '$ grep -c "card 4111" %s   # the raw bytes of the pool\n' "$ROOT/pool.img"
grep -a -c "card 4111" "$ROOT/pool.img"
say "boot loads the key again from its keysource; /scratch starts empty every boot"
run iscadm boot web
inside 'cat /var/log/secret.txt; ls -A /scratch | wc -l'
say "least privilege: every denied system call is reported to the supervisor"
inside 'mount -t tmpfs none /mnt'
inside 'unshare -U -r true'
inside 'cat /proc/self/status | grep -E "^(CapBnd|NoNewPrivs|Seccomp):"'
run iscadm stats web
iscadm console web | grep "seccomp: denied" | tail -2
say "maintenance only from the host: a transient writable boot, committed as a new image version"
run iscadm halt web
run iscadm boot -W web -- sh -c 'echo "patched $(date +%F)" > /etc/patch-level'
inside 'cat /etc/patch-level; echo tamper > /etc/patch-level'
run iscadm login -T web -- sh -c 'echo "trusted fix" >> /etc/motd'
inside 'tail -1 /etc/motd'
say "halt: the trusted change is committed too; every version stays for rollback"
run iscadm halt web
run iscadm history web
say "each commit is a small erofs delta layer stacked on the version it ran on"
for d in $(iscadm history web | cut -d' ' -f1); do
	printf '  %.12s  %s bytes\n' "$d" "$(stat -c %s "$ROOT/pool/images/$d.erofs")"
done
run iscadm list -p
