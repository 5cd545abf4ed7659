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
