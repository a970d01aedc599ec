/* platform_linux.c - the tunnel's device and routes on Linux: TUN and rtnetlink */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "netif.h"
#include "platform.h"

struct platform {
	struct netif *nl;
	int ifindex;
	int watch_fd;		/* route and address events, -1 = none */
};

struct platform *platform_open(void)
{
	struct platform *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return NULL;
	p->watch_fd = -1;
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
	if (p->watch_fd >= 0)
		close(p->watch_fd);
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

int platform_host_view(struct platform *p, struct accept_host *v)
{
	return netif_host_view(p->nl, v);
}

int platform_watch_open(struct platform *p)
{
	if (p->watch_fd < 0)
		p->watch_fd = netif_watch_open();
	return p->watch_fd;
}

int platform_watch_drain(struct platform *p)
{
	return p->watch_fd < 0 ? -EBADF : netif_watch_drain(p->watch_fd);
}
