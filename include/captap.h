/* captap.h - the daemon's tap on its own packet path: inner packets as pcap to capture clients
 *
 * A capture client is a control-socket connection (ctlsock_srv.c, request
 * "capture") handed over to the tap. While at least one is attached, the
 * tunnel shows the tap every inner packet it moves (read from the device,
 * about to be sealed; opened, about to be written to the device); each
 * client gets the packets its BPF filter matches as pcap records
 * (LINKTYPE_RAW) on its stream, written without ever waiting. A client
 * whose socket is full loses packets, counted as "capture-overflow"; one
 * that went away is detached. With no client attached the tunnel's only
 * cost is captap_hook()'s test of a NULL pointer.
 */
#ifndef GANGWAY_CAPTAP_H
#define GANGWAY_CAPTAP_H

#include <stddef.h>
#include <stdint.h>

#define CAPTAP_MAX_CLIENTS	2		/* captures attached at once */
#define CAPTAP_SNAPLEN_MAX	262144		/* what a client may ask for (tcpdump's) */
#define CAPTAP_MAX_PACKET	65535		/* the largest inner packet the tunnel moves */
#define CAPTAP_LINKTYPE_RAW	101		/* pcap LINKTYPE_RAW: IPv4 or IPv6, no link header */
#define CAPTAP_FILE_HDR_LEN	24		/* pcap file header */
#define CAPTAP_REC_HDR_LEN	16		/* pcap record header */
#define CAPTAP_ERR_LEN		256

struct captap_stats {
	uint64_t packets;		/* records handed to clients, all clients */
	uint64_t overflow;		/* records dropped: a client's socket was full */
	unsigned int clients;		/* attached now */
};

struct loop;
struct captap;

/*
 * Where the tap is published: given the tap when the first client
 * attaches, NULL once none is left (the tunnel's tunnel_set_tap).
 */
typedef void (*captap_publish_fn)(void *ctx, struct captap *tap);

/*
 * A tap serving clients from loop. It publishes itself through publish(ctx,
 * tap) while clients are attached, NULL otherwise (at once, too); it counts
 * into *stats, which outlive it. NULL + errno (EOPNOTSUPP where libpcap is
 * not built in).
 */
struct captap *captap_new(struct loop *loop, captap_publish_fn publish, void *ctx,
			  struct captap_stats *stats);
/* Detach every client (their connections are closed); NULL is fine. */
void captap_free(struct captap *tap);

/*
 * Attach the connected stream socket fd (not registered with the loop) as
 * a client: filter (tcpdump syntax, "" for everything) is compiled for
 * raw IP, lead (lead_len bytes, e.g. the control socket's "ok\n") and the
 * pcap file header with snaplen (1..CAPTAP_SNAPLEN_MAX) are sent, and the
 * tap owns fd from then on. The capture lasts until the client closes the
 * connection (closing only its writing side is not enough). Returns 0; -EINVAL with libpcap's message in err
 * for a bad filter or snaplen, -EBUSY when CAPTAP_MAX_CLIENTS are attached,
 * or -errno; fd is the caller's on failure.
 */
int captap_attach(struct captap *tap, int fd, uint32_t snaplen, const char *filter,
		  const void *lead, size_t lead_len, char *err, size_t errlen);

/* Show the tap one inner IP packet (len bytes); called through captap_hook. */
void captap_packet(struct captap *tap, const uint8_t *pkt, size_t len);

/* The packet path's call: one load and a branch predicted not taken when idle. */
static inline void captap_hook(struct captap *tap, const uint8_t *pkt, size_t len)
{
	if (__builtin_expect(tap != NULL, 0))
		captap_packet(tap, pkt, len);
}

#endif
