#!/bin/bash
# make demo: an immutable service container on the embedded defaults, and what it protects.
set -u
B=${ISC_BUILD:-build}
iscadm() { "$B/iscadm" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
inside() { printf 'web# %s\n' "$*"; iscadm login web -- sh -c "$*" 2>&1; echo "   (exit $?)"; }

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
say "halt"
run iscadm halt web
run iscadm list -p
