#include "os/netif.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NL_BUF 8192

struct nl_request {
	struct nlmsghdr hdr;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	};
	uint8_t attrs[256];
};

static void nl_attr(struct nl_request *req, unsigned short type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((uint8_t *)req + NLMSG_ALIGN(req->hdr.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	req->hdr.nlmsg_len = NLMSG_ALIGN(req->hdr.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static int nl_open(void)
{
	struct sockaddr_nl local = {.nl_family = AF_NETLINK};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* Send REQ and wait for its acknowledgement. */
static int nl_transact(struct nl_request *req)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	uint8_t buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	int fd, ret;

	fd = nl_open();
	if (fd < 0)
		return fd;
	req->hdr.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->hdr.nlmsg_seq = 1;
	if (sendto(fd, req, req->hdr.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) <
	    0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				ret = e->error;
				goto out;
			}
		}
	}
out:
	close(fd);
	return ret;
}

int netif_index(const char *name)
{
	unsigned idx = if_nametoindex(name);

	return idx ? (int)idx : -errno;
}

static int netif_link_change(int ifindex, unsigned flags, unsigned change, const unsigned *mtu)
{
	struct nl_request req = {
		.hdr = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
			.nlmsg_type = RTM_NEWLINK},
		.ifi = {.ifi_family = AF_UNSPEC,
			.ifi_index = ifindex,
			.ifi_flags = flags,
			.ifi_change = change},
	};

	if (mtu)
		nl_attr(&req, IFLA_MTU, mtu, sizeof(*mtu));
	return nl_transact(&req);
}

int netif_set_up(int ifindex, bool up)
{
	return netif_link_change(ifindex, up ? IFF_UP : 0, IFF_UP, NULL);
}

int netif_set_mtu(int ifindex, unsigned mtu)
{
	return netif_link_change(ifindex, 0, 0, &mtu);
}

static size_t family_len(int family)
{
	return family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);
}

static int netif_addr(int type, int ifindex, int family, const void *addr, int prefix_len)
{
	struct nl_request req = {
		.hdr = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)), .nlmsg_type = type},
		.ifa = {.ifa_family = (uint8_t)family,
			.ifa_prefixlen = (uint8_t)prefix_len,
			.ifa_index = (unsigned)ifindex},
	};
	/* No duplicate address detection: the address is ours by derivation. */
	uint32_t flags = IFA_F_NODAD;
	int ret;

	if (type == RTM_NEWADDR)
		req.hdr.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	nl_attr(&req, IFA_LOCAL, addr, family_len(family));
	nl_attr(&req, IFA_ADDRESS, addr, family_len(family));
	if (family == AF_INET6)
		nl_attr(&req, IFA_FLAGS, &flags, sizeof(flags));
	ret = nl_transact(&req);
	if (type == RTM_DELADDR && (ret == -EADDRNOTAVAIL || ret == -ENODEV))
		ret = 0;
	return ret;
}

int netif_addr_add(int ifindex, int family, const void *addr, int prefix_len)
{
	return netif_addr(RTM_NEWADDR, ifindex, family, addr, prefix_len);
}

int netif_addr_del(int ifindex, int family, const void *addr, int prefix_len)
{
	return netif_addr(RTM_DELADDR, ifindex, family, addr, prefix_len);
}

static int netif_route(int type, int ifindex, int family, const void *dst, int prefix_len)
{
	struct nl_request req = {
		.hdr = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)), .nlmsg_type = type},
		.rt = {.rtm_family = (uint8_t)family,
		       .rtm_dst_len = (uint8_t)prefix_len,
		       .rtm_table = RT_TABLE_MAIN,
		       .rtm_protocol = RTPROT_STATIC,
		       .rtm_scope = RT_SCOPE_LINK,
		       .rtm_type = RTN_UNICAST},
	};
	uint32_t oif = (uint32_t)ifindex;
	int ret;

	if (type == RTM_NEWROUTE)
		req.hdr.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	nl_attr(&req, RTA_DST, dst, family_len(family));
	nl_attr(&req, RTA_OIF, &oif, sizeof(oif));
	ret = nl_transact(&req);
	if (type == RTM_DELROUTE && (ret == -ESRCH || ret == -ENODEV))
		ret = 0;
	return ret;
}

int netif_route_add(int ifindex, int family, const void *dst, int prefix_len)
{
	return netif_route(RTM_NEWROUTE, ifindex, family, dst, prefix_len);
}

int netif_route_del(int ifindex, int family, const void *dst, int prefix_len)
{
	return netif_route(RTM_DELROUTE, ifindex, family, dst, prefix_len);
}

/* Do the first MIN(A_LEN, B_LEN) bits of A and B agree? */
static bool prefixes_overlap(const uint8_t *a, int a_len, const uint8_t *b, int b_len)
{
	int bits = a_len < b_len ? a_len : b_len;

	for (int i = 0; i < bits; i++) {
		int byte = i / 8, mask = 0x80 >> (i % 8);

		if ((a[byte] & mask) != (b[byte] & mask))
			return false;
	}
	return true;
}

bool netif_route_overlaps(int ifindex, int family, const void *dst, int prefix_len)
{
	struct nl_request req = {
		.hdr = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
			.nlmsg_type = RTM_GETROUTE,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1},
		.rt = {.rtm_family = (uint8_t)family},
	};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	uint8_t buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool overlap = false, done = false;
	int fd = nl_open();

	if (fd < 0)
		return false;
	if (sendto(fd, &req, req.hdr.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		goto out;
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n <= 0)
			break;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct rtmsg *rt = NLMSG_DATA(h);
			struct rtattr *rta;
			int len, oif = 0;
			const uint8_t *rdst = NULL;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (rt->rtm_table != RT_TABLE_MAIN || rt->rtm_type != RTN_UNICAST ||
			    rt->rtm_dst_len == 0)
				continue;
			len = (int)RTM_PAYLOAD(h);
			for (rta = RTM_RTA(rt); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
				if (rta->rta_type == RTA_DST &&
				    RTA_PAYLOAD(rta) >= family_len(family))
					rdst = RTA_DATA(rta);
				else if (rta->rta_type == RTA_OIF &&
					 RTA_PAYLOAD(rta) >= sizeof(int))
					memcpy(&oif, RTA_DATA(rta), sizeof(oif));
			}
			if (rdst && oif != ifindex &&
			    prefixes_overlap(rdst, rt->rtm_dst_len, dst, prefix_len))
				overlap = true;
		}
	}
out:
	close(fd);
	return overlap;
}
