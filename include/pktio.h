/* pktio.h - packet I/O between the tunnel device and the UDP socket
 *
 * The runtime moves packets only through these calls, so a faster
 * implementation (batches, offloads, several queues) can replace the plain
 * one without touching the protocol engine or the event loop.
 */
#ifndef GANGWAY_PKTIO_H
#define GANGWAY_PKTIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wg.h"

struct pktio;

struct pktio_ops {
	const char *name;
	/* One IP packet into buf; length, or -EAGAIN when none is waiting. */
	ssize_t (*tun_read)(struct pktio *io, uint8_t *buf, size_t size);
	ssize_t (*tun_write)(struct pktio *io, const uint8_t *pkt, size_t len);
	/* One datagram into buf and its source; length or -EAGAIN. */
	ssize_t (*udp_recv)(struct pktio *io, uint8_t *buf, size_t size,
			    struct wg_endpoint *from);
	int (*udp_send)(struct pktio *io, const struct wg_endpoint *to,
			const uint8_t *buf, size_t len);
};

struct pktio {
	const struct pktio_ops *ops;
	int tun_fd;
	int udp_fd;
	int udp_family;		/* AF_INET6 (dual stack) or AF_INET */
	uint16_t udp_port;	/* bound port, host order */
};

extern const struct pktio_ops pktio_plain_ops;

/* Create a TUN device (name may be a template such as "gw%d"); fd in io. */
int pktio_tun_open(struct pktio *io, char *name, size_t namelen);
/* Open a UDP socket on port (0: any), dual stack when IPv6 exists. */
int pktio_udp_open(struct pktio *io, uint16_t port);
void pktio_close(struct pktio *io);

#endif
