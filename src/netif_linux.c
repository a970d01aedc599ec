/* netif_linux.c - link, address and route changes through libnl-route */
#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "netif.h"

struct netif {
	struct nl_sock *sk;
};

/* libnl returns its own negative codes; map the common ones to errno. */
static int netif_errno(int nlerr)
{
	switch (-nlerr) {
	case 0:			return 0;
	case NLE_EXIST:		return -EEXIST;
	case NLE_OBJ_NOTFOUND:	return -ENOENT;
	case NLE_NODEV:		return -ENODEV;
	case NLE_PERM:		return -EPERM;
	case NLE_NOMEM:		return -ENOMEM;
	case NLE_INVAL:		return -EINVAL;
	case NLE_NOADDR:	return -EADDRNOTAVAIL;
	case NLE_BUSY:		return -EBUSY;
	case NLE_AF_NOSUPPORT:	return -EAFNOSUPPORT;
	default:		return -EIO;
	}
}

struct netif *netif_open(void)
{
	struct netif *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->sk = nl_socket_alloc();
	if (!n->sk || nl_connect(n->sk, NETLINK_ROUTE) < 0) {
		if (n->sk)
			nl_socket_free(n->sk);
		free(n);
		errno = EPERM;
		return NULL;
	}
	return n;
}

void netif_close(struct netif *n)
{
	if (!n)
		return;
	nl_socket_free(n->sk);
	free(n);
}

int netif_index(struct netif *n, const char *name)
{
	struct rtnl_link *link = NULL;
	int ret, idx;

	ret = rtnl_link_get_kernel(n->sk, 0, name, &link);
	if (ret < 0)
		return netif_errno(ret) == -ENOENT ? -ENODEV : netif_errno(ret);
	idx = rtnl_link_get_ifindex(link);
	rtnl_link_put(link);
	return idx;
}

int netif_up(struct netif *n, int ifindex, unsigned int mtu)
{
	struct rtnl_link *orig = NULL, *change;
	int ret;

	ret = rtnl_link_get_kernel(n->sk, ifindex, NULL, &orig);
	if (ret < 0)
		return netif_errno(ret);
	change = rtnl_link_alloc();
	if (!change) {
		rtnl_link_put(orig);
		return -ENOMEM;
	}
	if (mtu)
		rtnl_link_set_mtu(change, mtu);
	rtnl_link_set_flags(change, IFF_UP);
	ret = rtnl_link_change(n->sk, orig, change, 0);
	rtnl_link_put(change);
	rtnl_link_put(orig);
	return netif_errno(ret);
}

static struct nl_addr *netif_nl_addr(const struct prefix *p)
{
	struct nl_addr *a = nl_addr_build(p->family, p->addr.b, prefix_addr_len(p->family));

	if (a)
		nl_addr_set_prefixlen(a, p->len);
	return a;
}

int netif_addr_add(struct netif *n, int ifindex, const struct prefix *p)
{
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local = netif_nl_addr(p);
	int ret = -ENOMEM;

	if (!addr || !local)
		goto out;
	rtnl_addr_set_ifindex(addr, ifindex);
	rtnl_addr_set_family(addr, p->family);
	rtnl_addr_set_local(addr, local);
	rtnl_addr_set_prefixlen(addr, p->len);
	/* No DAD on a point-to-point tunnel: the address is usable at once. */
	if (p->family == AF_INET6)
		rtnl_addr_set_flags(addr, IFA_F_NODAD);
	ret = netif_errno(rtnl_addr_add(n->sk, addr, 0));
	if (ret == -EEXIST)
		ret = 0;
out:
	if (local)
		nl_addr_put(local);
	if (addr)
		rtnl_addr_put(addr);
	return ret;
}

static struct rtnl_route *netif_route_build(int ifindex, const struct prefix *p)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = netif_nl_addr(p);

	if (!r || !nh || !dst)
		goto fail;
	rtnl_route_set_family(r, (uint8_t)p->family);
	rtnl_route_set_dst(r, dst);
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_protocol(r, RTPROT_STATIC);
	rtnl_route_set_scope(r, RT_SCOPE_LINK);
	rtnl_route_set_type(r, RTN_UNICAST);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(r, nh);
	nl_addr_put(dst);
	return r;
fail:
	if (dst)
		nl_addr_put(dst);
	if (nh)
		rtnl_route_nh_free(nh);
	if (r)
		rtnl_route_put(r);
	return NULL;
}

int netif_route_add(struct netif *n, int ifindex, const struct prefix *p)
{
	struct rtnl_route *r = netif_route_build(ifindex, p);
	int ret;

	if (!r)
		return -ENOMEM;
	ret = netif_errno(rtnl_route_add(n->sk, r, NLM_F_EXCL));
	rtnl_route_put(r);
	return ret;
}

int netif_route_del(struct netif *n, int ifindex, const struct prefix *p)
{
	struct rtnl_route *r = netif_route_build(ifindex, p);
	int ret;

	if (!r)
		return -ENOMEM;
	ret = netif_errno(rtnl_route_delete(n->sk, r, 0));
	rtnl_route_put(r);
	return ret;
}

/* Copy a libnl address into p; false unless it is a whole IPv4/IPv6 one. */
/* One route lookup: its answer and how it ended. */
struct netif_lookup {
	int oif;
	int type;			/* RTN_*, -1 before the answer */
	int err;			/* the kernel's -errno */
	bool done;
};

static int netif_lookup_valid(struct nl_msg *msg, void *arg)
{
	struct netif_lookup *l = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;

	if (nlh->nlmsg_type != RTM_NEWROUTE || !nlmsg_valid_hdr(nlh, sizeof(*rtm)) ||
	    nlmsg_parse(nlh, sizeof(*rtm), tb, RTA_MAX, NULL) < 0) {
		l->err = -EPROTO;
		return NL_SKIP;
	}
	rtm = nlmsg_data(nlh);
	l->type = rtm->rtm_type;
	if (tb[RTA_OIF] && nla_len(tb[RTA_OIF]) >= (int)sizeof(uint32_t))
		l->oif = (int)nla_get_u32(tb[RTA_OIF]);
	return NL_OK;
}

static int netif_lookup_ack(struct nl_msg *msg, void *arg)
{
	struct netif_lookup *l = arg;

	l->done = true;
	return NL_STOP;
}

static int netif_lookup_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct netif_lookup *l = arg;

	l->err = e->error < 0 ? e->error : -EPROTO;
	l->done = true;
	return NL_STOP;
}

int netif_route_get(struct netif *n, int family, const void *addr, char *dev, size_t devlen)
{
	struct rtmsg rtm = { 0 };
	struct netif_lookup l = { .type = -1 };
	struct nl_msg *msg;
	struct nl_cb *cb;
	size_t alen = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
	char name[IF_NAMESIZE];
	int ret;

	if (!alen || !devlen)
		return -EINVAL;
	msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!msg || !cb) {
		ret = -ENOMEM;
		goto out;
	}
	rtm.rtm_family = (unsigned char)family;
	rtm.rtm_dst_len = (unsigned char)(alen * 8);
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, RTA_DST, (int)alen, addr) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, netif_lookup_valid, &l);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, netif_lookup_ack, &l);
	nl_cb_err(cb, NL_CB_CUSTOM, netif_lookup_err, &l);
	/* The answer, then the ACK libnl asks for (or the error alone): read
	 * until one ends it, so nothing is left behind on the socket. */
	ret = nl_send_auto(n->sk, msg);
	if (ret < 0) {
		ret = netif_errno(ret);
		goto out;
	}
	while (!l.done) {
		ret = nl_recvmsgs(n->sk, cb);
		if (ret < 0 && !l.err) {
			ret = netif_errno(ret);
			goto out;
		}
	}
	if (l.err) {
		ret = l.err;
		goto out;
	}
	if (l.type != RTN_UNICAST && l.type != RTN_LOCAL) {
		ret = -ENETUNREACH;
		goto out;
	}
	if (!l.oif || !if_indextoname((unsigned int)l.oif, name))
		snprintf(dev, devlen, "?");
	else
		snprintf(dev, devlen, "%s", name);
	ret = l.type == RTN_LOCAL ? 1 : 0;
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	return ret;
}

static bool netif_prefix_of(struct nl_addr *a, struct prefix *p)
{
	int family = a ? nl_addr_get_family(a) : 0;

	if ((family != AF_INET && family != AF_INET6) ||
	    nl_addr_get_len(a) != prefix_addr_len(family) ||
	    nl_addr_get_prefixlen(a) > prefix_addr_len(family) * 8)
		return false;
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->len = (uint8_t)nl_addr_get_prefixlen(a);
	memcpy(p->addr.b, nl_addr_get_binary_addr(a), prefix_addr_len(family));
	return true;
}

struct netif_view {
	struct accept_host *v;
	int err;
};

static void netif_view_route(struct nl_object *obj, void *arg)
{
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct netif_view *c = arg;
	struct rtnl_nexthop *nh;
	struct prefix rp;
	int ifindex = 0, ret;

	if (c->err || !netif_prefix_of(rtnl_route_get_dst(r), &rp))
		return;
	if (rtnl_route_get_nnexthops(r) > 0) {
		nh = rtnl_route_nexthop_n(r, 0);
		ifindex = nh ? rtnl_route_nh_get_ifindex(nh) : 0;
	}
	ret = accept_host_add_route(c->v, &rp, ifindex, rtnl_route_get_table(r));
	if (ret)
		c->err = ret;
}

static void netif_view_addr(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct netif_view *c = arg;
	struct prefix ap;
	int ret;

	if (c->err || !netif_prefix_of(rtnl_addr_get_local(a), &ap))
		return;
	ret = accept_host_add_addr(c->v, ap.family, ap.addr.b);
	if (ret)
		c->err = ret;
}

int netif_host_view(struct netif *n, struct accept_host *v)
{
	struct netif_view c = { .v = v };
	struct nl_cache *cache = NULL;
	int ret;

	accept_host_clear(v);
	/* A dump without a table filter holds every table, policy ones included. */
	ret = rtnl_route_alloc_cache(n->sk, AF_UNSPEC, 0, &cache);
	if (ret < 0)
		return netif_errno(ret);
	nl_cache_foreach(cache, netif_view_route, &c);
	nl_cache_free(cache);
	cache = NULL;
	ret = rtnl_addr_alloc_cache(n->sk, &cache);
	if (ret < 0)
		return netif_errno(ret);
	nl_cache_foreach(cache, netif_view_addr, &c);
	nl_cache_free(cache);
	return c.err;
}

int netif_watch_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_IFADDR |
			     RTMGRP_IPV6_IFADDR,
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int netif_watch_drain(int fd)
{
	uint8_t buf[8192] __attribute__((aligned(4)));
	int changed = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			changed = 1;	/* what changed does not matter: the view is read again */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			changed = 1;	/* events were lost: read the whole view again */
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		return changed;
	}
}
