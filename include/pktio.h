/* pktio.h - packet I/O between the tunnel device and the UDP socket
 *
 * The runtime moves packets only through these calls, so a faster
 * implementation (batches, offloads, several queues) can replace the plain
 * one without touching the protocol engine or the event loop.
 *
 * Three kinds of implementation: the plain ones (pktio_linux.c on Linux,
 * pktio_macos.c) move one packet per system call through the four single
 * calls; the batch one (pktio_batch.c, both systems) fills in the batch
 * calls over them, or over system calls that move many packets at once
 * (recvmmsg/sendmmsg, macOS's recvmsg_x/sendmsg_x); Linux's fast one
 * (pktio_fast_linux.c) fills them in with offloads. With batch calls the
 * runtime hands the engine whole batches: packets from the device (TUN
 * superpackets already cut into IP packets) and datagrams from the socket
 * (UDP GRO messages already cut), and sends and device writes are held
 * back until a flush, so that they leave together (as UDP GSO sends and
 * TUN superpackets on the fast path).
 */
#ifndef GANGWAY_PKTIO_H
#define GANGWAY_PKTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wg.h"

struct pktio;

/*
 * Batches hand the engine IP packets with WG_HEADROOM writable bytes before
 * them and WG_TAILROOM after (struct wg_packet), and datagrams from the
 * socket, writable since the engine decrypts in place (struct wg_datagram).
 */

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

	/*
	 * Optional batch calls; NULL in the plain implementations. With them:
	 *
	 * tun_read_batch: *pkts points at n > 0 IP packets from the device
	 * (struct wg_packet); -EAGAIN when none waits, or -errno. They stay
	 * valid until udp_flush, and the engine may seal them in place: a
	 * udp_send of a datagram inside one of them is held until udp_flush
	 * (so that equal-sized datagrams leave in one GSO send).
	 *
	 * udp_recv_batch: *dgrams points at n >= 0 datagrams; -EAGAIN when none
	 * waits. They stay valid until the next udp_recv_batch; a tun_write of
	 * a packet inside one of them is held until tun_flush (so that
	 * segments of one flow reach the device as one superpacket). Call
	 * tun_flush before the next udp_recv_batch.
	 *
	 * Datagrams and packets from anywhere else are written at once. An
	 * implementation with batch calls leaves tun_read and udp_recv NULL.
	 */
	int (*tun_read_batch)(struct pktio *io, struct wg_packet **pkts);
	int (*udp_recv_batch)(struct pktio *io, struct wg_datagram **dgrams);
	void (*tun_flush)(struct pktio *io);
	void (*udp_flush)(struct pktio *io);
};

/* What the fast implementation uses (struct pktio's features). */
#define PKTIO_F_MMSG	0x01	/* recvmmsg/sendmmsg batches */
#define PKTIO_F_VNET	0x02	/* TUN with virtio-net headers */
#define PKTIO_F_TSO	0x04	/* TUN TCP segmentation offload, v4 and v6 */
#define PKTIO_F_USO	0x08	/* TUN UDP segmentation offload (Linux >= 6.2) */
#define PKTIO_F_UDP_GSO	0x10	/* UDP_SEGMENT sends */
#define PKTIO_F_UDP_GRO	0x20	/* UDP_GRO receives */
#define PKTIO_F_ALL	0x3f

/* Why the packet I/O dropped a packet or datagram (pktio_drop_name). */
enum pktio_drop {
	PKTIO_DROP_DEVICE_IN,	/* from the device, and no packet (short, cut wrong, too long) */
	PKTIO_DROP_SOCKET_IN,	/* from the socket, and no peer's (truncated, odd source) */
	PKTIO_DROP_SEND,	/* the socket would not take it (full, an error pending) */
	PKTIO_DROP_DEVICE_OUT,	/* the device would not take it */
	PKTIO_DROP_OVERFLOW,	/* more datagrams in one receive than a batch holds */
	PKTIO_DROP_MAX
};
const char *pktio_drop_name(enum pktio_drop d);

struct pktio_stats {
	uint64_t tun_reads, tun_writes;		/* system calls */
	uint64_t udp_sends, udp_recvs;		/* system calls */
	uint64_t tun_packets_in, udp_datagrams_in;
	uint64_t drops[PKTIO_DROP_MAX];
};

struct pktio {
	const struct pktio_ops *ops;
	int tun_fd;
	int udp_fd;
	int udp_family;		/* AF_INET6 (dual stack) or AF_INET */
	uint16_t udp_port;	/* bound port, host order */
	/* set by the caller before opening */
	const char *mode;	/* "fast" (NULL: the default), "batch" (no offloads), "plain" */
	unsigned int mtu;	/* the tunnel's, as the engine's (0: WG_DEFAULT_MTU) */
	/* set by the opens */
	unsigned int features;	/* PKTIO_F_* in use */
	char desc[96];		/* what is in use, for the log */
	void *priv;		/* the implementation's buffers */
	struct pktio_stats stats;
};

extern const struct pktio_ops pktio_plain_ops;

/* ---- batches over single or many-packet system calls (pktio_batch.c) ---------- */
#define PKTIO_BATCH_MAX	64	/* packets per batch */

/* One packet or datagram for a many call. */
struct pktio_msg {
	uint8_t *data;
	size_t len;		/* receiving: room in, length out; sending: length */
	struct wg_endpoint ep;	/* UDP: where it came from, or where it goes */
};

/*
 * System calls that move up to n packets at once: the count moved (> 0),
 * or -errno (-EAGAIN: none waits, or no room). Any may be NULL. One that
 * fails with ENOSYS, EINVAL or EOPNOTSUPP is not called again; the single
 * calls take its place. A tun_recv or udp_recv sets each message's len
 * (0: nothing usable, dropped) and udp_recv its ep.
 */
struct pktio_many {
	int (*tun_recv)(struct pktio *io, struct pktio_msg *m, unsigned int n);
	int (*tun_send)(struct pktio *io, const struct pktio_msg *m, unsigned int n);
	int (*udp_recv)(struct pktio *io, struct pktio_msg *m, unsigned int n);
	int (*udp_send)(struct pktio *io, const struct pktio_msg *m, unsigned int n);
};
enum { PKTIO_MANY_TUN_RECV, PKTIO_MANY_TUN_SEND, PKTIO_MANY_UDP_RECV, PKTIO_MANY_UDP_SEND };

extern const struct pktio_ops pktio_batch_ops;
/*
 * Batch calls over one (the single calls: tun_read, tun_write, udp_recv,
 * udp_send) and many (NULL: none); buffers for io->mtu in io->priv. The
 * caller then sets io->ops to &pktio_batch_ops.
 */
int pktio_batch_init(struct pktio *io, const struct pktio_ops *one,
		     const struct pktio_many *many);
void pktio_batch_free(struct pktio *io);
/* Whether the many call which (PKTIO_MANY_*) is still in use. */
bool pktio_batch_uses_many(const struct pktio *io, unsigned int which);

/* What is in use, for the log and the status: the opens' description, else the ops' name. */
static inline const char *pktio_desc(const struct pktio *io)
{
	return io->desc[0] ? io->desc : io->ops ? io->ops->name : "none";
}

/*
 * Create a TUN device (name may be a template such as "gw%d"); fd in io.
 * On Linux io->mode picks the implementation (io->ops is set here); an
 * unknown mode is -EINVAL.
 */
int pktio_tun_open(struct pktio *io, char *name, size_t namelen);
/* Open a UDP socket on port (0: any), dual stack when IPv6 exists (pktio_udp.c). */
int pktio_udp_open(struct pktio *io, uint16_t port);
void pktio_close(struct pktio *io);

/* Each system's part of pktio_udp_open (pktio_linux.c, pktio_macos.c): */
/* a non-blocking, close-on-exec UDP socket with large buffers; fd or -errno */
int pktio_udp_socket(int family);
/* after the bind: offloads the implementation can use */
void pktio_udp_bound(struct pktio *io);

struct sockaddr_storage;
/* A received source as the engine wants it (v4-mapped becomes IPv4); -EAFNOSUPPORT. */
int pktio_ep_from_sockaddr(struct wg_endpoint *ep, const struct sockaddr_storage *ss);
/* An endpoint as this socket's family needs it (IPv4 v4-mapped on a dual-stack one). */
int pktio_ep_to_sockaddr(const struct pktio *io, const struct wg_endpoint *to,
			 struct wg_endpoint *sa, socklen_t *salen);
/* One datagram in or out (the plain ops' udp_recv and udp_send). */
ssize_t pktio_udp_recv(struct pktio *io, uint8_t *buf, size_t size, struct wg_endpoint *from);
int pktio_udp_send(struct pktio *io, const struct wg_endpoint *to, const uint8_t *buf,
		   size_t len);

/* ---- Linux only: the fast implementation (pktio_fast_linux.c) ---------------- */
/* UDP socket options older libc headers lack (linux/udp.h values). */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif
#ifndef UDP_GRO
#define UDP_GRO		104
#endif
extern const struct pktio_ops pktio_fast_ops;
/* Buffers for the fast ops; io->features says what the descriptors can do. */
int pktio_fast_init(struct pktio *io);
void pktio_fast_free(struct pktio *io);

#endif
