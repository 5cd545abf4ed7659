# net=bridge over IPv6, where the host has it: the ISC's address from the pool's range6, an
# exposure reached over IPv6 from a client namespace and from the host, the ISC's own address
# not reachable, default-deny egress and an IPv6 egress list, a --from IPv6 exposure, a spoofed
# IPv6 source dropped, ISC to ISC, net cut and restore, halt, range6=none, bad input, pool close
# (IPv6 forwarding and accept_ra as they were).
. "$(dirname "$0")/lib.sh"

for tool in ip nft ss busybox curl jq; do
	command -v $tool >/dev/null || { echo "SKIP: no $tool on this host"; exit 77; }
done
[ "$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null)" = 0 ] ||
	{ echo "SKIP: IPv6 is off on this host (net.ipv6.conf.all.disable_ipv6)"; exit 77; }
if nft list tables 2>/dev/null | grep -qE '^table (inet|bridge) isc$'; then
	echo "SKIP: isc's nft tables exist already (an ISC of another root runs): not ours to change"
	exit 77
fi
for p in 18180 18181 18183 18190 18192; do
	if ss -Hltn "sport = :$p" | grep -q .; then
		echo "SKIP: port $p is in use on this host"
		exit 77
	fi
done
BR=isct$$
BR=${BR:0:15}
CNS=isc-t-client6-$$
CH=itcl$$
CH=${CH:0:15}
RANGE=10.234.0
R6=fd77:1234:5678:
CLI=10.235.0
C6=fd78:1234:1:
ip link show "$BR" >/dev/null 2>&1 && { echo "SKIP: link $BR exists"; exit 77; }
ip -6 addr | grep -qE "inet6 ($R6|$C6)" && { echo "SKIP: ${R6}:/64 or ${C6}:/64 in use here"; exit 77; }
fwd6_before=$(cat /proc/sys/net/ipv6/conf/all/forwarding)
# a link of the test's own that takes router advertisements (accept_ra 1): forwarding on would
# silence it, so isc moves it to 2 while it forwards, and back at pool close
RA=isct6ra
ip link add "$RA" type veth peer name "${RA}p" 2>/dev/null && echo 1 > "/proc/sys/net/ipv6/conf/$RA/accept_ra" || RA=""
ra_before=$(for f in /proc/sys/net/ipv6/conf/*/accept_ra; do echo "$f $(cat "$f")"; done)

PIDS=""
net_cleanup() {
	local p
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	ip netns pids "$CNS" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$CNS" 2>/dev/null
	ip link del "$CH" 2>/dev/null
	[ -n "$RA" ] && ip link del "$RA" 2>/dev/null
}
trap 'net_cleanup; cleanup' EXIT

setup_pool
iscadm pool set bridge="$BR" || fail "pool set bridge"
iscadm pool set range=$RANGE.0/24 || fail "pool set range"
iscadm pool set range6=${R6}:/64 || fail "pool set range6"

# the client: its own link to the host, IPv4 and IPv6
ip netns add "$CNS" || fail "netns add"
ip link add "$CH" type veth peer name eth0 netns "$CNS" || fail "client veth"
ip addr add $CLI.1/24 dev "$CH" && ip addr add ${C6}:1/64 dev "$CH" nodad && ip link set "$CH" up ||
	fail "client link"
ip -n "$CNS" addr add $CLI.2/24 dev eth0 && ip -n "$CNS" addr add ${C6}:2/64 dev eth0 nodad &&
	ip -n "$CNS" link set eth0 up && ip -n "$CNS" link set lo up &&
	ip -n "$CNS" route add default via $CLI.1 && ip -n "$CNS" -6 route add default via ${C6}:1 ||
	fail "client addresses"
in_client() { ip netns exec "$CNS" "$@"; }
isc_get() {   # ISC ADDR PORT SECONDS
	local out
	out=$(in_isc "$1" "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w $4 $2 $3" 2>/dev/null) || return 1
	printf '%s\n' "$out" | grep -q '^HTTP/1.[01] 200' || return 1
	printf '%s\n' "$out" | sed '1,/^\r*$/d'
}
mkdir -p "$T/www" && echo "client page" > "$T/www/index.html"
in_client busybox httpd -f -p "[${C6}:2]:18190" -h "$T/www" & PIDS="$PIDS $!"
in_client busybox httpd -f -p "[${C6}:2]:18192" -h "$T/www" & PIDS="$PIDS $!"
for i in $(seq 30); do in_client curl -sf -m 1 "http://[${C6}:2]:18190/" >/dev/null 2>&1 && break; sleep 0.1; done
in_client curl -sf -m 3 "http://[${C6}:2]:18190/" | grep -q "client page" || fail "the client's own IPv6 listener"

# ---- the ISC's IPv6 address, an exposure over IPv6 ---------------------------------------------------
new_isc it-n6a --set net=bridge
iscadm expose it-n6a tcp:18180:80 || fail "expose"
iscadm boot it-n6a || fail "boot"
if [ -n "$RA" ] && [ "$fwd6_before" = 0 ]; then
	[ "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ] || fail "IPv6 forwarding is off with an IPv6 ISC up"
	[ "$(cat "/proc/sys/net/ipv6/conf/$RA/accept_ra")" = 2 ] ||
		fail "$RA's accept_ra is $(cat "/proc/sys/net/ipv6/conf/$RA/accept_ra") with forwarding on, wanted 2"
	ok "forwarding on: a link that took router advertisements (accept_ra 1) still does (2)"
else
	echo "skipped: the accept_ra move (${RA:+IPv6 forwarding was on already}${RA:-no veth link could be made})"
fi
a6=$(iscadm net status it-n6a --json | jq -r '.[0].address6')
a4=$(iscadm net status it-n6a --json | jq -r '.[0].address')
[ "$a6" = "${R6}:${a4##*.}" ] || [ "$a6" = "${R6}:$(printf '%x' "${a4##*.}")" ] ||
	fail "it-n6a's IPv6 address '$a6' (IPv4 $a4)"
in_isc it-n6a "ip -6 addr show dev eth0" > "$T/addr6" || fail "ip -6 addr inside"
grep -q "inet6 $a6/64" "$T/addr6" || fail "eth0 inside has not $a6: $(cat "$T/addr6")"
grep -q "inet6 fe80" "$T/addr6" && fail "eth0 inside has a link-local address: $(cat "$T/addr6")"
in_isc it-n6a "ip -6 route" | grep -q "default via ${R6}:1" || fail "no IPv6 default route inside"
ok "eth0 $a6/64 (the range6 prefix and its IPv4 host number), no link-local, a default route"
in_isc it-n6a "echo 'served over IPv6' > /var/www/index.html" || fail "write /var/www"
out=$(in_client curl -sf -m 5 "http://[${C6}:1]:18180/") || fail "client fetch over IPv6 through the exposure"
[ "$out" = "served over IPv6" ] || fail "client got '$out'"
out=$(in_client curl -sf -m 5 "http://$CLI.1:18180/") || fail "client fetch over IPv4 through the same exposure"
ok "a client namespace fetches the page through the host's IPv6 address (and its IPv4 one)"
in_client curl -sf -m 3 "http://[${C6}:1]:18181/" >/dev/null 2>&1 && fail "port 18181 answered"
in_client curl -sf -m 3 "http://[$a6]:80/" >/dev/null 2>&1 && fail "the ISC's own IPv6 address answered the client"
ok "port 18181 answers nothing; the ISC's own IPv6 address is not reachable from the client"
out=$(curl -sf -m 5 "http://[${C6}:1]:18180/") || fail "host fetch of [${C6}:1]:18180"
[ "$out" = "served over IPv6" ] || fail "host got '$out'"
ok "the host reaches the exposure at its own IPv6 address"

# ---- egress over IPv6 ------------------------------------------------------------------------------
isc_get it-n6a "${C6}:2" 18190 3 >/dev/null 2>&1 && fail "default egress reached the client over IPv6"
ok "default egress: no IPv6 flow out"
iscadm halt it-n6a || fail halt
iscadm set it-n6a "egress=tcp:[${C6}:2/128]:18190" || fail "set an IPv6 egress"
iscadm boot it-n6a || fail "boot with egress"
out=$(isc_get it-n6a "${C6}:2" 18190 5) || fail "the allowed IPv6 flow failed"
[ "$out" = "client page" ] || fail "allowed flow got '$out'"
isc_get it-n6a "${C6}:2" 18192 3 >/dev/null 2>&1 && fail "IPv6 egress list: another port passed"
[ "$(iscadm net status it-n6a --json | jq -r '.[0].egress')" = "tcp:[${C6}:2/128]:18190" ] ||
	fail "net status egress: $(iscadm net status it-n6a --json)"
ok "egress=tcp:[${C6}:2/128]:18190 allows exactly that flow"

# ---- --from an IPv6 CIDR --------------------------------------------------------------------------
iscadm expose it-n6a tcp:18183:80 --from ${C6}:/64 || fail "expose --from IPv6"
out=$(in_client curl -sf -m 5 "http://[${C6}:1]:18183/") || fail "fetch over IPv6 from the CIDR"
in_client curl -sf -m 3 "http://$CLI.1:18183/" >/dev/null 2>&1 && fail "an IPv4 client passed an IPv6 --from"
iscadm unexpose it-n6a tcp:18183:80 || fail unexpose
ok "expose --from ${C6}:/64: IPv6 clients of that prefix only"

# ---- ISC to ISC and spoofing -------------------------------------------------------------------------
new_isc it-n6b --set net=bridge --set egress=allow --set limitpriv=default,+net_admin,+net_raw
iscadm boot it-n6b || fail "boot it-n6b"
b6=$(iscadm net status it-n6b --json | jq -r '.[0].address6')
[ -n "$b6" ] && [ "$b6" != "$a6" ] || fail "it-n6b's address '$b6'"
out=$(isc_get it-n6b "${C6}:2" 18190 5) || fail "egress=allow over IPv6 failed"
isc_get it-n6b "$a6" 80 3 >/dev/null 2>&1 && fail "it-n6b reached it-n6a over IPv6"
ok "egress=allow over IPv6 (masqueraded); one ISC does not reach another"
no_routed_path it-n6b "$b6" it-n6a "$a6" "${R6}:1" 6
ok "nor through the host's routing over IPv6 (a host route via the gateway, net_admin inside)"
drops=$(iscadm net status it-n6b -p | cut -d: -f6)
# seen where it would arrive: the client's echo requests count, and a ping from the ISC's own
# address (the control) moves them, the spoofed source's does not
client_echos6() { in_client awk '$1 == "Icmp6InEchos" { print $2 }' /proc/net/snmp6; }
c0=$(client_echos6)
in_isc it-n6b "ping -c 1 -W 2 ${C6}:2" >/dev/null 2>&1 || fail "it-n6b pings the client (the control)"
c1=$(client_echos6)
[ "$c1" -gt "$c0" ] || fail "the client's Icmp6InEchos does not count ($c0 -> $c1)"
in_isc it-n6b "ip addr add ${R6}:99/64 dev eth0 && sleep 2.5 && ping -c 2 -W 2 -I ${R6}:99 ${C6}:2" >/dev/null 2>&1 &&
	fail "a spoofed IPv6 source got through"
in_isc it-n6b "ip addr del ${R6}:99/64 dev eth0"
c2=$(client_echos6)
[ "$c2" = "$c1" ] || fail "the spoofed echo requests reached the client ($c1 -> $c2)"
drops2=$(iscadm net status it-n6b -p | cut -d: -f6)
[ "${drops2%%/*}" -gt "${drops%%/*}" ] || fail "no drop counted for the IPv6 spoofing ($drops -> $drops2)"
nft list chain bridge isc "p_it-n6b" | grep -q "nd-neighbor-advert @th,64,128 != 0x" ||
	fail "no rule against neighbour advertisements for another's address"
ok "with net_admin inside: a spoofed IPv6 source is dropped (counted: $drops2)"

# ---- forged neighbour discovery: root inside cannot point the host at another port ----------------------
FORGE=$(readlink -f "$B/tests/helpers/nd-forge")
pid=$(sed -n 's/^pid=//p' /run/isc/it-n6a/state)
forge() { nsenter -t "$pid" -n "$FORGE" eth0 "$@" || fail "nd-forge $*"; }
neigh_mac() { ip -6 neigh show "$1" dev "$BR" | sed -n 's/.* lladdr \([0-9a-f:]*\).*/\1/p'; }
in_client curl -sf -m 5 "http://[${C6}:1]:18180/" >/dev/null || fail "fetch before forging"
ping -c 1 -W 1 "$b6" >/dev/null 2>&1   # dropped, but the host resolves it-n6b's address first
mac_a=$(neigh_mac "$a6")
mac_b=$(neigh_mac "$b6")
[ -n "$mac_b" ] && [ "$mac_b" != "$mac_a" ] || fail "no neighbour entry of its own for $b6: '$mac_b'"
[ -n "$mac_a" ] || fail "the host has no neighbour entry for $a6: $(ip -6 neigh show dev "$BR")"
drops=$(iscadm net status it-n6a -p | cut -d: -f6)
forge na "$a6" "$a6" 02:15:de:ad:be:ef      # its own address at another MAC
forge na "$a6" "$b6" "$mac_a"               # another ISC's address at its own MAC
forge ns "$a6" "${R6}:1" 02:15:de:ad:be:ef  # a solicitation naming another MAC as its own
forge na-frag "$a6" "$b6" "$mac_a"          # another's address, the target past the first fragment
sleep 0.3
[ "$(neigh_mac "$a6")" = "$mac_a" ] || fail "a forged advertisement moved $a6 to $(neigh_mac "$a6")"
[ "$(neigh_mac "$b6")" = "$mac_b" ] || fail "a forged advertisement took $b6: $(neigh_mac "$b6")"
drops2=$(iscadm net status it-n6a -p | cut -d: -f6)
# three forgeries, and both fragments of the fourth
[ "${drops2%%/*}" -ge $(( ${drops%%/*} + 5 )) ] || fail "the four forgeries were not dropped and counted ($drops -> $drops2)"
forge na "$a6" "$a6" "$mac_a"               # the control: a true advertisement passes
sleep 0.3
drops3=$(iscadm net status it-n6a -p | cut -d: -f6)
[ "${drops3%%/*}" = "${drops2%%/*}" ] || fail "a true advertisement was dropped ($drops2 -> $drops3)"
ok "forged neighbour discovery (own address at another MAC, another's address, whole and in fragments, a false source MAC) dropped and counted; a true one passes"
iscadm halt it-n6b || fail "halt it-n6b"

# ---- cut and restore ----------------------------------------------------------------------------------
iscadm net cut it-n6a || fail "net cut"
in_client curl -sf -m 3 "http://[${C6}:1]:18180/" >/dev/null 2>&1 && fail "a new IPv6 connection after net cut"
iscadm net restore it-n6a || fail "net restore"
in_client curl -sf -m 5 "http://[${C6}:1]:18180/" >/dev/null || fail "IPv6 fetch after restore"
ok "net cut stops IPv6 flows; restore brings the exposure back"
iscadm halt it-n6a || fail "halt"
nft list ruleset | grep -q "$a6" && fail "rules with $a6 left after halt"
ip -o link | grep -q iscv && fail "a veth left after halt"
ok "after halt: no rule with its IPv6 address, no veth"

# ---- bad input ----------------------------------------------------------------------------------------
iscadm boot it-n6a || fail "boot for bad input"
before=$(nft list ruleset)
expect_err 1 "bad CIDR 'fd00::1/64'" iscadm expose it-n6a tcp:18184:80@fd00::1/64
expect_err 1 "bad CIDR" iscadm expose it-n6a tcp:18184:80 --from fd00::/129
expect_err 1 "bad CIDR 'fd00:::/64'" iscadm set it-n6a "egress=tcp:[fd00:::/64]:80"
[ "$(nft list ruleset)" = "$before" ] || fail "bad input changed the ruleset"
ok "bad IPv6 input: one line each, the ruleset byte for byte unchanged"
iscadm halt it-n6a
expect_err 1 "range6 'fd00::/120': expected x:x::/len, len 48 to 96" iscadm pool set range6=fd00::/120
expect_err 1 "range6 'fd00::1/64'" iscadm pool set range6=fd00::1/64

# ---- range6=none: IPv4 only ----------------------------------------------------------------------------
iscadm pool set range6=none || fail "pool set range6=none"
iscadm boot it-n6a || fail "boot IPv4 only"
in_isc it-n6a "ip -6 addr show dev eth0" | grep -q inet6 && fail "IPv6 inside with range6=none"
[ "$(iscadm net status it-n6a --json | jq -r '.[0].address6')" = "" ] || fail "status shows an IPv6 address"
out=$(in_client curl -sf -m 5 "http://$CLI.1:18180/") || fail "IPv4 fetch with range6=none"
in_client curl -sf -m 3 "http://[${C6}:1]:18180/" >/dev/null 2>&1 && fail "IPv6 DNATed with range6=none"
iscadm halt it-n6a
ok "range6=none: no IPv6 inside, the exposure IPv4 only"

# ---- pool close: IPv6 forwarding and accept_ra as they were --------------------------------------------
iscadm pool close >/dev/null 2>&1 || fail "pool close"
[ "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" = "$fwd6_before" ] || fail "IPv6 forwarding not restored"
ra_after=$(for f in /proc/sys/net/ipv6/conf/*/accept_ra; do echo "$f $(cat "$f")"; done)
[ "$(printf '%s\n' "$ra_before" | grep -v "/$CH/")" = "$(printf '%s\n' "$ra_after" | grep -v "/$CH/")" ] ||
	fail "accept_ra not restored: $(diff <(echo "$ra_before") <(echo "$ra_after"))"
[ -z "$RA" ] || [ "$(cat "/proc/sys/net/ipv6/conf/$RA/accept_ra")" = 1 ] || fail "$RA's accept_ra not back to 1"
ok "pool close: IPv6 forwarding ($fwd6_before) and every accept_ra as they were${RA:+ ($RA back to 1)}"
