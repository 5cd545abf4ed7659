# net=bridge: an exposed httpd reached from a client namespace and from the host, default-deny
# egress, egress lists, ISC to ISC, spoofing, net cut and restore, status, halt and a killed
# supervisor followed by net sync, 200 boot/halt cycles (NET_CYCLES), bad input, pool close.
. "$(dirname "$0")/lib.sh"

for tool in ip nft ss busybox curl jq; do
	command -v $tool >/dev/null || { echo "SKIP: no $tool on this host"; exit 77; }
done
# ---- premises: nobody else's isc tables, free ports, our names unused -------------------
if nft list tables 2>/dev/null | grep -qE '^table (inet|bridge) isc$'; then
	echo "SKIP: isc's nft tables exist already (an ISC of another root runs): not ours to change"
	exit 77
fi
for p in 18080 18081 18082 18083 18090 18091 18092; do
	if ss -Hltn "sport = :$p" | grep -q . || ss -Hlun "sport = :$p" | grep -q .; then
		echo "SKIP: port $p is in use on this host"
		exit 77
	fi
done
BR=isct$$
BR=${BR:0:15}
CNS=isc-t-client-$$
CH=itcl$$          # the host's end of the client's link
CH=${CH:0:15}
RANGE=10.231.0
CLI=10.232.0
ip link show "$BR" >/dev/null 2>&1 && { echo "SKIP: link $BR exists"; exit 77; }
ip -4 addr | grep -qE "inet ($RANGE|$CLI)\." && { echo "SKIP: $RANGE.0/24 or $CLI.0/24 in use here"; exit 77; }

PIDS=""
net_cleanup() {
	local p
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	ip netns pids "$CNS" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$CNS" 2>/dev/null
	ip link del "$CH" 2>/dev/null
}
trap 'net_cleanup; cleanup' EXIT

setup_pool
iscadm pool set bridge="$BR" || fail "pool set bridge"
iscadm pool set range=$RANGE.0/24 || fail "pool set range"

# the client: a namespace on a link of its own to the host, whose address it reaches
ip netns add "$CNS" || fail "netns add"
ip link add "$CH" type veth peer name eth0 netns "$CNS" || fail "client veth"
ip addr add $CLI.1/24 dev "$CH" && ip link set "$CH" up || fail "client link"
ip -n "$CNS" addr add $CLI.2/24 dev eth0 && ip -n "$CNS" link set eth0 up && ip -n "$CNS" link set lo up &&
	ip -n "$CNS" route add default via $CLI.1 || fail "client addresses"
in_client() { ip netns exec "$CNS" "$@"; }
# isc_get ISC ADDR PORT SECONDS: the page an HTTP server there serves, fetched from inside
# (busybox nc: the static busybox's wget dies resolving even an address)
isc_get() {
	local out
	out=$(in_isc "$1" "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w $4 $2 $3" 2>/dev/null) || return 1
	printf '%s\n' "$out" | grep -q '^HTTP/1.[01] 200' || return 1
	printf '%s\n' "$out" | sed '1,/^\r*$/d'
}
# listeners the ISC must not reach unless allowed: two in the client, one on the host
mkdir -p "$T/www" && echo "client page" > "$T/www/index.html"
in_client busybox httpd -f -p $CLI.2:18090 -h "$T/www" & PIDS="$PIDS $!"
in_client busybox httpd -f -p $CLI.2:18092 -h "$T/www" & PIDS="$PIDS $!"
busybox httpd -f -p $CLI.1:18091 -h "$T/www" & PIDS="$PIDS $!"
sleep 0.3
in_client curl -sf -m 3 http://$CLI.2:18090/ | grep -q "client page" || fail "the client's own listener"

# ---- an exposed httpd ----------------------------------------------------------------------
new_isc it-net1 --set net=bridge
iscadm expose it-net1 tcp:18080:80 || fail "expose"
iscadm expose it-net1 tcp:18082:81 || fail "expose 18082"
ruleset_before_boot=$(nft list ruleset)
iscadm boot it-net1 || fail "boot"
a1=$(iscadm net status it-net1 -p | cut -d: -f3)
case $a1 in $RANGE.*) ;; *) fail "address of it-net1: '$a1'" ;; esac
# plumbed before init: what the services saw at their start
in_isc it-net1 "ip -4 addr show eth0" | grep -q "inet $a1/24" || fail "eth0 inside: $(in_isc it-net1 'ip addr')"
in_isc it-net1 "ip route" | grep -q "default via $RANGE.1" || fail "no default route inside"
in_isc it-net1 "cat /etc/resolv.conf" | grep -q "written by isc" || fail "resolv.conf not the supervisor's"
in_isc it-net1 "echo x >> /etc/resolv.conf" 2>/dev/null && fail "resolv.conf writable inside"
ok "eth0 $a1/24 up with a default route, a read-only resolv.conf from the supervisor"
in_isc it-net1 "echo 'served from the ISC' > /var/www/index.html" || fail "write /var/www"
out=$(in_client curl -sf -m 5 http://$CLI.1:18080/) || fail "client fetch through the exposure"
[ "$out" = "served from the ISC" ] || fail "client got '$out'"
ok "a client namespace fetches the page through the host's address"
in_client curl -sf -m 3 http://$CLI.1:18081/ >/dev/null 2>&1 && fail "port 18081 answered"
ok "port 18081 answers nothing"
in_client curl -sf -m 3 http://$a1:80/ >/dev/null 2>&1 && fail "the ISC's own address answered the client"
ok "the ISC's own address is not reachable from the client"
out=$(wget -qO- -T 5 http://127.0.0.1:18080/) || fail "host fetch of 127.0.0.1:18080"
[ "$out" = "served from the ISC" ] || fail "host got '$out'"
ok "wget 127.0.0.1:18080 on the host works"
[ "$(cat /proc/sys/net/ipv4/conf/$BR/route_localnet)" = 1 ] || fail "route_localnet not on $BR"
[ "$(cat /proc/sys/net/ipv4/conf/$CH/route_localnet)" = 0 ] || fail "route_localnet on $CH"

# ---- egress ------------------------------------------------------------------------------------
isc_get it-net1 $CLI.2 18090 3 >/dev/null 2>&1 && fail "default egress reached the client"
isc_get it-net1 $CLI.1 18091 3 >/dev/null 2>&1 && fail "default egress reached the host"
ok "default egress: neither a listener in another namespace nor one on the host"
iscadm halt it-net1 || fail halt
iscadm set it-net1 egress=tcp:$CLI.2/32:18090 || fail "set egress"
iscadm boot it-net1 || fail "boot with egress"
out=$(isc_get it-net1 $CLI.2 18090 5) || fail "the allowed flow failed"
[ "$out" = "client page" ] || fail "allowed flow got '$out'"
isc_get it-net1 $CLI.2 18092 3 >/dev/null 2>&1 && fail "egress list: another port passed"
isc_get it-net1 $CLI.1 18091 3 >/dev/null 2>&1 && fail "egress list: the host reached"
ok "egress=tcp:$CLI.2/32:18090 allows exactly that flow"
# a maintenance boot has its own egress, which normal boots never get
iscadm halt it-net1 || fail "halt before -W"
iscadm set it-net1 maintenance-egress=tcp:$CLI.2/32:18092 || fail "set maintenance-egress"
iscadm boot -W it-net1 -- sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 $CLI.2 18092 > /etc/fetched" >/dev/null ||
	fail "boot -W with maintenance-egress"
in_isc it-net1 "cat /etc/fetched" | grep -q "client page" || fail "the -W boot did not fetch through maintenance-egress"
isc_get it-net1 $CLI.2 18092 3 >/dev/null 2>&1 && fail "the read-only boot after -W has maintenance-egress"
[ "$(iscadm net status it-net1 --json | jq -r '.[0].egress')" = "tcp:$CLI.2/32:18090" ] ||
	fail "net status shows not the normal egress: $(iscadm net status it-net1 --json)"
ok "maintenance-egress: boot -W fetched through it and committed; the read-only boot has egress again"

# ---- ISC to ISC, spoofing ------------------------------------------------------------------------
new_isc it-net2 --set net=bridge --set egress=allow --set limitpriv=default,+net_admin,+net_raw
iscadm boot it-net2 || fail "boot it-net2"
a2=$(iscadm net status it-net2 -p | cut -d: -f3)
[ -n "$a2" ] && [ "$a2" != "$a1" ] || fail "it-net2's address '$a2' (it-net1 has $a1)"
out=$(isc_get it-net2 $CLI.2 18090 5) || fail "egress=allow failed"
[ "$out" = "client page" ] || fail "egress=allow got '$out'"
isc_get it-net2 $a1 80 3 >/dev/null 2>&1 && fail "it-net2 reached it-net1"
isc_get it-net1 $a2 80 3 >/dev/null 2>&1 && fail "it-net1 reached it-net2"
ok "two ISCs on one bridge cannot reach each other (egress=allow or not)"
# nor through the host's routing: a host route via the gateway (net_admin inside), egress=allow;
# what arrives is counted by the target's own kernel (Icmp InEchos in its namespace)
no_routed_path it-net2 "$a2" it-net1 "$a1" "$RANGE.1" 4
ok "nor through the host's routing (a host route via the gateway from root with net_admin)"
in_isc it-net2 "ping -c 1 -W 3 $CLI.2" >/dev/null 2>&1 || fail "ping from its own address (the control)"
drops=$(iscadm net status it-net2 -p | cut -d: -f6)
in_isc it-net2 "ip addr add $RANGE.200/24 dev eth0 && ping -c 2 -W 2 -I $RANGE.200 $CLI.2" >/dev/null 2>&1 &&
	fail "a spoofed source address got through"
in_isc it-net2 "ip addr del $RANGE.200/24 dev eth0"
in_isc it-net2 "ip link set eth0 address 02:00:00:00:00:99 && ping -c 2 -W 2 $CLI.2" >/dev/null 2>&1 &&
	fail "a spoofed MAC got through"
drops2=$(iscadm net status it-net2 -p | cut -d: -f6)
[ "${drops2%%/*}" -gt "${drops%%/*}" ] || fail "no drop counted for the spoofing ($drops -> $drops2)"
ok "with net_admin inside: a spoofed source address and a spoofed MAC are dropped (counted: $drops2)"
iscadm halt it-net2 || fail "halt it-net2"

# ---- net cut and restore -------------------------------------------------------------------------
iscadm login it-net1 -- sh -c 'while :; do echo tick; sleep 0.1; done | nc -l -p 81' </dev/null >/dev/null 2>&1 &
PIDS="$PIDS $!"
sleep 0.5
in_client busybox nc $CLI.1 18082 > "$T/stream" 2>/dev/null & PIDS="$PIDS $!"
for i in $(seq 50); do [ -s "$T/stream" ] && break; sleep 0.1; done
[ -s "$T/stream" ] || fail "no established stream through 18082"
iscadm net cut it-net1 || fail "net cut"
sleep 0.3
s1=$(stat -c %s "$T/stream"); sleep 1; s2=$(stat -c %s "$T/stream")
[ "$s1" = "$s2" ] || fail "the established stream still flows after net cut ($s1 -> $s2)"
in_client curl -sf -m 3 http://$CLI.1:18080/ >/dev/null 2>&1 && fail "a new connection after net cut"
curl -sf -m 3 http://127.0.0.1:18080/ >/dev/null 2>&1 && fail "the host reached a cut ISC"
# its entries flushed, and what tried since dropped before conntrack kept it
if [ -r /proc/net/nf_conntrack ]; then
	left=$(grep -E "(src|dst)=$a1 " /proc/net/nf_conntrack) && fail "conntrack entries of $a1 after net cut: $left"
fi
iscadm net status it-net1 -p | cut -d: -f4 | grep -qx cut || fail "status does not say cut"
ok "net cut stops an established connection and new ones"
iscadm net restore it-net1 || fail "net restore"
out=$(in_client curl -sf -m 5 http://$CLI.1:18080/) || fail "fetch after restore"
[ "$out" = "served from the ISC" ] || fail "after restore got '$out'"
ok "net restore brings the exposure back"
iscadm net status it-net1 --json | jq -e '.[0].flows == "open" and (.[0].expose | test("tcp:18080:80"))' >/dev/null ||
	fail "status --json: $(iscadm net status it-net1 --json)"
acc=$(iscadm net status it-net1 -p | cut -d: -f5)
[ "${acc%%/*}" -gt 0 ] || fail "no accepted packet counted ($acc)"
ok "net status: address, flows, counters (accepted $acc), -p and --json"

# ---- live expose and unexpose, halt --------------------------------------------------------------
iscadm expose it-net1 tcp:18083:80 --from $CLI.0/24 || fail "live expose"
out=$(in_client curl -sf -m 5 http://$CLI.1:18083/) || fail "fetch through a live exposure"
iscadm unexpose it-net1 tcp:18083:80 || fail "live unexpose"
in_client curl -sf -m 3 http://$CLI.1:18083/ >/dev/null 2>&1 && fail "18083 answered after unexpose"
ok "expose and unexpose apply live"
iscadm halt it-net1 || fail "halt"
nft list ruleset | grep -q 'it-net1' && fail "rules of it-net1 left after halt"
ip -o link | grep -q iscv && fail "a veth left after halt: $(ip -o link | grep iscv)"
ok "after halt: no rule of it-net1, no veth"

# ---- a killed supervisor, then net sync ------------------------------------------------------------
iscadm boot it-net1 || fail "boot again"
[ "$(iscadm net status it-net1 -p | cut -d: -f3)" = "$a1" ] || fail "it-net1 changed its address"
pid=$(sed -n 's/^supervisor=//p' /run/isc/it-net1/state)
kill -9 "$pid"
for i in $(seq 100); do isc_up=$(iscadm list -p | grep -c '^it-net1:running'); [ "$isc_up" = 0 ] && break; sleep 0.1; done
iscadm net sync || fail "net sync"
nft list ruleset | grep -q 'it-net1' && fail "rules of it-net1 left after SIGKILL and net sync"
for i in $(seq 50); do ip -o link | grep -q iscv || break; sleep 0.1; done
ip -o link | grep -q iscv && fail "a veth left after SIGKILL and net sync"
iscadm boot it-net1 || fail "boot after SIGKILL"
[ "$(iscadm net status it-net1 -p | cut -d: -f3)" = "$a1" ] || fail "the address not free for the next boot"
in_client curl -sf -m 5 http://$CLI.1:18080/ >/dev/null || fail "fetch after SIGKILL and boot"
iscadm halt it-net1
ok "after SIGKILL of the supervisor and net sync: no rule, no veth, the address free for its next boot"

# ---- bad input: one line, exit 1 or 2, the ruleset byte for byte unchanged ---------------------------
iscadm boot it-net1 || fail "boot for bad input"
before=$(nft list ruleset)
expect_err 1 "unknown protocol 'sctp'" iscadm expose it-net1 sctp:18084:80
expect_err 1 "host port '0' is not 1 to 65535" iscadm expose it-net1 tcp:0:80
expect_err 1 "port '65536' is not 1 to 65535" iscadm expose it-net1 tcp:18084:65536
expect_err 1 "expected tcp|udp:HOSTPORT:PORT" iscadm expose it-net1 tcp:18084
expect_err 1 "bad CIDR '10.1.2.3/8'" iscadm expose it-net1 tcp:18084:80@10.1.2.3/8
expect_err 1 "bad CIDR" iscadm expose it-net1 tcp:18084:80 --from 300.1.1.1/8
expect_err 1 "host port tcp:18080 already exposed" iscadm expose it-net1 tcp:18080:80
new_isc it-net3 --set net=bridge
expect_err 1 "host port tcp:18080 is already exposed by ISC it-net1" iscadm expose it-net3 tcp:18080:80
expect_err 1 "host port tcp:18091 is in use by a host process" iscadm expose it-net1 tcp:18091:80
expect_err 1 "bad CIDR '10.0.0.0/33'" iscadm set it-net1 egress=tcp:10.0.0.0/33:80
expect_err 1 "unknown protocol 'icmp'" iscadm set it-net1 egress=icmp:10.0.0.0/8:80
expect_err 1 "egress: empty item" iscadm set it-net1 egress=tcp:10.0.0.0/8:80,
expect_err 1 "net 'wifi': expected none or bridge" iscadm set it-net1 net=wifi
expect_err 1 "is not exposed" iscadm unexpose it-net1 tcp:18089:80
expect_err 2 "expose ISC tcp|udp:HOSTPORT:PORT" iscadm expose it-net1
expect_err 1 "not running with net=bridge" iscadm net cut it-net3
[ "$(nft list ruleset)" = "$before" ] || fail "bad input changed the ruleset"
ok "bad input: the ruleset byte for byte unchanged"
iscadm halt it-net1
# a range exhausted by allocations: a /29 has 5 hosts for ISCs (.2 to .6)
iscadm pool set range=10.233.0.0/29 || fail "pool set range /29"
for n in a b c d e f; do new_isc it-nx$n --set net=bridge; done
for n in a b c d e; do iscadm boot it-nx$n || fail "boot it-nx$n"; done
before=$(nft list ruleset)
expect_err 1 "ISC it-nxf: no free address in the range 10.233.0.0/29" iscadm boot it-nxf
[ "$(nft list ruleset)" = "$before" ] || fail "an exhausted range changed the ruleset"
for n in a b c d e; do iscadm halt it-nx$n; done
iscadm destroy -f it-nxa || fail "destroy it-nxa"
iscadm boot it-nxf || fail "it-nxf after a destroy freed an address"
iscadm halt it-nxf
ok "an exhausted range refuses the boot; destroy frees the address"
iscadm pool set range=$RANGE.0/24

# ---- cycles ----------------------------------------------------------------------------------------
cycles=${NET_CYCLES:-200}
start=$(date +%s)
for i in $(seq "$cycles"); do
	iscadm boot it-net1 >/dev/null || fail "cycle $i: boot"
	iscadm halt it-net1 >/dev/null || fail "cycle $i: halt"
done
nft list tables | grep -qE '^table (inet|bridge) isc$' && fail "isc's tables left after the cycles"
ip -o link | grep -q iscv && fail "a veth left after the cycles"
bridge link 2>/dev/null | grep -q "master $BR" && fail "a bridge port left after the cycles"
ok "$cycles boot/halt cycles of a bridged ISC leave nothing ($(( $(date +%s) - start ))s)"

# ---- pool close: the bridge goes, ip_forward as it was ---------------------------------------------------
fwd=$(cat /run/isc/net-ip_forward 2>/dev/null)
iscadm pool close >/dev/null 2>&1 || fail "pool close"
ip link show "$BR" >/dev/null 2>&1 && fail "bridge $BR left after pool close"
[ -z "$fwd" ] || [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$fwd" ] || fail "ip_forward not restored"
ok "pool close removes the bridge; ip_forward back to what it was"
