/* nd-forge.c - test helper: sends one IPv6 neighbour advertisement or solicitation, with the
 * link-layer address option it is told, out of an interface (t_net6 runs it in an ISC's network
 * namespace to play a root inside forging neighbour discovery).
 *
 *   nd-forge IFNAME na|na-frag|ns SRC6 TARGET6 LLMAC
 *
 * na: to ff02::1 (all nodes), override flag set, option 2 (target link-layer address) LLMAC;
 * na-frag: the same advertisement in two IPv6 fragments, the first holding only the ICMPv6
 * header's first 8 bytes (the target and the option in the second, out of a filter's view of
 * the first);
 * ns: to TARGET6's solicited-node group, option 1 (source link-layer address) LLMAC.
 * The Ethernet source is the interface's own MAC. Exit 0 when sent. */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/ip6.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int mac_parse(const char *s, uint8_t m[6])
{
	unsigned v[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)v[i];
	return 0;
}

static uint16_t csum6(const struct in6_addr *src, const struct in6_addr *dst, const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	const uint8_t *a[2] = { src->s6_addr, dst->s6_addr };
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 16; i += 2)
			sum += (uint32_t)(a[k][i] << 8 | a[k][i + 1]);
	sum += (uint32_t)n + IPPROTO_ICMPV6;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int main(int argc, char **argv)
{
	struct in6_addr src, target, dst;
	uint8_t ll[6], frame[14 + 40 + 32] = { 0 }, msg[32] = { 0 };
	if (argc != 6 || (strcmp(argv[2], "na") && strcmp(argv[2], "na-frag") && strcmp(argv[2], "ns")) ||
	    inet_pton(AF_INET6, argv[3], &src) != 1 || inet_pton(AF_INET6, argv[4], &target) != 1 ||
	    mac_parse(argv[5], ll) < 0) {
		fprintf(stderr, "usage: nd-forge IFNAME na|na-frag|ns SRC6 TARGET6 LLMAC\n");
		return 2;
	}
	bool na = strcmp(argv[2], "ns") != 0, frag = strcmp(argv[2], "na-frag") == 0;
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IPV6));
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0 || ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
		perror("nd-forge: interface");
		return 1;
	}
	int ifindex = ifr.ifr_ifindex;
	ioctl(s, SIOCGIFHWADDR, &ifr);
	/* destination: all nodes, or the target's solicited-node group */
	inet_pton(AF_INET6, "ff02::1", &dst);
	if (!na) {
		inet_pton(AF_INET6, "ff02::1:ff00:0", &dst);
		memcpy(&dst.s6_addr[13], &target.s6_addr[13], 3);
	}
	uint8_t *eth = frame, *ip = frame + 14, *icmp = msg;
	eth[0] = 0x33, eth[1] = 0x33;
	memcpy(eth + 2, &dst.s6_addr[12], 4);
	memcpy(eth + 6, ifr.ifr_hwaddr.sa_data, 6);
	eth[12] = 0x86, eth[13] = 0xdd;
	ip[0] = 0x60;
	ip[4] = 0, ip[5] = 32;          /* payload length */
	ip[6] = IPPROTO_ICMPV6;
	ip[7] = 255;                    /* hop limit: from the link */
	memcpy(ip + 8, &src, 16);
	memcpy(ip + 24, &dst, 16);
	icmp[0] = na ? ND_NEIGHBOR_ADVERT : ND_NEIGHBOR_SOLICIT;
	if (na)
		icmp[4] = 0x20;         /* override */
	memcpy(icmp + 8, &target, 16);
	icmp[24] = na ? ND_OPT_TARGET_LINKADDR : ND_OPT_SOURCE_LINKADDR;
	icmp[25] = 1;
	memcpy(icmp + 26, ll, 6);
	uint16_t c = csum6(&src, &dst, icmp, 32);
	icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IPV6),
				  .sll_ifindex = ifindex, .sll_halen = 6 };
	memcpy(to.sll_addr, eth, 6);
	if (!frag) {
		memcpy(frame + 54, msg, sizeof(msg));
		if (sendto(s, frame, sizeof(frame), 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)sizeof(frame)) {
			perror("nd-forge: send");
			return 1;
		}
		close(s);
		return 0;
	}
	/* two fragments of one datagram: bytes 0-7 (more follow), then 8-31 at offset 1 (x 8) */
	static const struct { size_t off, len; bool more; } part[] = { { 0, 8, true }, { 8, 24, false } };
	for (int k = 0; k < 2; k++) {
		uint8_t f[14 + 40 + 8 + 24] = { 0 };
		memcpy(f, frame, 14 + 40);
		uint8_t *fip = f + 14, *fh = f + 54;
		fip[4] = 0, fip[5] = (uint8_t)(8 + part[k].len);
		fip[6] = 44;                    /* fragment header */
		fh[0] = IPPROTO_ICMPV6;
		uint16_t o = (uint16_t)(part[k].off / 8) << 3 | (part[k].more ? 1 : 0);
		fh[2] = (uint8_t)(o >> 8), fh[3] = (uint8_t)o;
		fh[4] = 0x15, fh[5] = 0xc0, fh[6] = 0xff, fh[7] = 0xee;   /* identification */
		memcpy(fh + 8, msg + part[k].off, part[k].len);
		size_t n = 14 + 40 + 8 + part[k].len;
		if (sendto(s, f, n, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)n) {
			perror("nd-forge: send");
			return 1;
		}
	}
	close(s);
	return 0;
}
