/* platform_linux.c - the tunnel's device and routes on Linux: TUN and rtnetlink */
#include <errno.h>
#include <stdlib.h>

#include "netif.h"
#include "platform.h"

struct platform {
	struct netif *nl;
	int ifindex;
};

struct platform *platform_open(void)
{
	struct platform *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return NULL;
	p->nl = netif_open();
	if (!p->nl) {
		err = errno;
		free(p);
		errno = err;
		return NULL;
	}
	return p;
}

void platform_close(struct platform *p)
{
	if (!p)
		return;
	netif_close(p->nl);
	free(p);
}

int platform_tun_open(struct platform *p, struct pktio *io, char *name, size_t namelen)
{
	int ret = pktio_tun_open(io, name, namelen);

	if (ret)
		return ret;
	ret = netif_index(p->nl, name);
	if (ret < 0)
		return ret;
	p->ifindex = ret;
	return 0;
}

int platform_ifindex(const struct platform *p)
{
	return p->ifindex;
}

int platform_addr_add(struct platform *p, const struct prefix *a)
{
	return netif_addr_add(p->nl, p->ifindex, a);
}

int platform_up(struct platform *p, unsigned int mtu)
{
	return netif_up(p->nl, p->ifindex, mtu);
}

int platform_route_add(struct platform *p, const struct prefix *dst)
{
	return netif_route_add(p->nl, p->ifindex, dst);
}

int platform_route_del(struct platform *p, const struct prefix *dst)
{
	return netif_route_del(p->nl, p->ifindex, dst);
}

int platform_route_conflict(struct platform *p, const struct prefix *dst,
			    struct prefix *found, char *dev, size_t devlen)
{
	return netif_route_conflict(p->nl, dst, p->ifindex, found, dev, devlen);
}
