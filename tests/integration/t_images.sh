# Images from dir:, tar: and debootstrap:, listed, verified, removed; apt on a read-only ISC fails.
. "$(dirname "$0")/lib.sh"
setup_pool
mkdir -p "$T/tree/bin" "$T/tree/etc"
cp /bin/busybox "$T/tree/bin/busybox"
ln -s busybox "$T/tree/bin/sh"
echo "from-dir" > "$T/tree/etc/marker"
out=$(iscadm image build fromdir --from "dir:$T/tree") || fail "dir build: $out"
tar -C "$T/tree" -cf "$T/tree.tar" . || fail "tar"
iscadm image build fromtar --from "tar:$T/tree.tar" >/dev/null || fail "tar build"
iscadm image list | grep -q '^fromdir ' || fail "list: $(iscadm image list)"
iscadm image verify fromtar | grep -q verified || fail "verify"

# An image's name is its tree digest, which coreutils alone compute as docs/images.md says.
tree_digest() {
	local n i
	n=$(stat -c %s "$1")
	{
		printf 'isc-tree-v1\0'
		split -b 1M --filter='sha256sum | cut -c1-64 | tr a-f A-F | basenc --base16 -d' "$1"
		for i in 0 1 2 3 4 5 6 7; do printf "\\$(printf %03o $(( (n >> (8 * i)) & 255 )))"; done
	} | sha256sum | cut -c1-64
}
imgs=$ISC_ROOT/pool/images
d=$(iscadm image list -p | awk -F: '$1 == "fromtar" { print $2 }')
[ -f "$imgs/.tree-digest" ] || fail "a new pool has no tree-digest mark"
[ "$(tree_digest "$imgs/$d.erofs")" = "$d" ] || fail "image fromtar: name $d is not its tree digest"
[ "$(sha256sum < "$imgs/$d.erofs" | cut -c1-64)" != "$d" ] || fail "image named by its flat SHA-256"
# a pool made before the tree digest (no mark) names and verifies its images by SHA-256
mv "$imgs/.tree-digest" "$T/mark"
iscadm image build flat --from "dir:$T/tree" >/dev/null || fail "build in a flat pool"
f=$(iscadm image list -p | awk -F: '$1 == "flat" { print $2 }')
[ "$(sha256sum < "$imgs/$f.erofs" | cut -c1-64)" = "$f" ] || fail "flat pool: $f is not the image's SHA-256"
iscadm image verify flat | grep -q verified || fail "verify in a flat pool"
expect_err 1 "mismatch" iscadm image verify fromtar
iscadm image rm flat >/dev/null || fail "rm flat"
mv "$T/mark" "$imgs/.tree-digest"
iscadm image verify fromtar | grep -q verified || fail "verify with the mark back"
ok "image names: the tree digest (by coreutils too); SHA-256 in a pool without the mark"
TEST_ISCS="$TEST_ISCS it-img"
iscadm create it-img --image fromdir || fail "create from dir image"
iscadm boot it-img || fail "boot dir image"
[ "$(in_isc it-img 'cat /etc/marker')" = from-dir ] || fail "marker"
in_isc it-img 'test -x /usr/sbin/isc-svc' || fail "isc-svc not installed in image"
iscadm halt it-img
iscadm destroy it-img
iscadm image rm fromtar || fail "rm"
iscadm image list | grep -q '^fromtar ' && fail "still listed"
ok "dir: and tar: images"

# debootstrap needs Debian's archive; without it this part is skipped, said so.
if ! timeout 10 bash -c 'exec 3<>/dev/tcp/deb.debian.org/80' 2>/dev/null; then
	echo "debootstrap part skipped: Debian archive unreachable"
	exit 0
fi
iscadm image build deb --from debootstrap:bookworm >/dev/null || fail "debootstrap build"
TEST_ISCS="$TEST_ISCS it-deb"
iscadm create it-deb --image deb || fail "create deb"
iscadm boot it-deb || fail "boot deb"
out=$(in_isc it-deb 'apt-get install -y hello' 2>&1) && fail "apt-get succeeded on a read-only ISC"
echo "$out" | grep -q "Read-only file system" || fail "apt-get: $out"
out=$(in_isc it-deb 'dpkg --purge --force-all apt' 2>&1) && fail "dpkg succeeded"
ok "package manager fails with Read-only file system"
in_isc it-deb 'echo ok > /var/tmp/x && cat /var/tmp/x' | grep -q ok || fail "deb /var/tmp"
iscadm halt it-deb

# ... and succeeds in a transient maintenance boot, the result persisting read-only.
# (No network inside yet: the package comes in through a volume.)
(cd "$T" && apt-get download -q hello >/dev/null 2>&1) || fail "apt-get download hello"
iscadm set it-deb volume=/srv || fail "set volume"
vol="$ISC_ROOT/pool/isc/it-deb/data/volumes/srv"
mkdir -p "$vol" && cp "$T"/hello_*.deb "$vol/hello.deb" && chmod 644 "$vol/hello.deb"
iscadm boot -W it-deb -- dpkg -i /srv/hello.deb >/dev/null || fail "boot -W dpkg -i: $(iscadm console it-deb | tail -5)"
iscadm list -p | grep -q "^it-deb:running:fixed-configuration:R:" || fail "not read-only after -W"
[ "$(in_isc it-deb hello)" = "Hello, world!" ] || fail "hello not installed"
in_isc it-deb 'dpkg -s hello' | grep -q "Status: install ok installed" || fail "dpkg state not committed"
out=$(in_isc it-deb 'dpkg -r hello' 2>&1) && fail "dpkg -r succeeded read-only"
iscadm history it-deb | tail -1 | grep -q " -W " || fail "no -W version"
ok "dpkg -i under boot -W persists; read-only again afterwards"
iscadm halt it-deb

# ---- the network in maintenance only: maintenance-egress lets a boot -W reach the archive
# (apt-get update and install over the bridge, masqueraded through the host); a normal boot
# of the same ISC cannot reach it (egress=deny)
if nft list tables 2>/dev/null | grep -qE '^table (inet|bridge) isc$'; then
	echo "network part skipped: isc's nft tables exist (an ISC of another root runs)"
elif ! command -v curl >/dev/null || ! curl -sfI -m 10 http://deb.debian.org/debian/dists/bookworm/Release >/dev/null; then
	echo "network part skipped: http://deb.debian.org unreachable from this host"
else
	iscadm pool set bridge="isct$$" >/dev/null && iscadm pool set range=10.233.0.0/24 >/dev/null ||
		fail "pool set bridge, range"
	iscadm set it-deb net=bridge && iscadm set it-deb maintenance-egress=allow || fail "set net"
	iscadm boot -W it-deb -- sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends tree' \
		>/dev/null || fail "boot -W apt-get install: $(iscadm console it-deb | tail -5)"
	[ "$(in_isc it-deb 'tree -d /srv | tail -1')" = "0 directories" ] || fail "tree not installed"
	in_isc it-deb 'timeout 10 bash -c "echo > /dev/tcp/deb.debian.org/80"' 2>/dev/null &&
		fail "a normal boot reached the archive"
	iscadm history it-deb | tail -1 | grep -q " -W " || fail "no -W version"
	iscadm halt it-deb
	ok "maintenance-egress=allow: boot -W installs a package with apt-get from the archive; a normal boot cannot reach it"
fi
