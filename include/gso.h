/* gso.h - split TUN superpackets into IP packets, and merge IP packets into them
 *
 * A TUN device opened with IFF_VNET_HDR prefixes every packet with a
 * virtio-net header (struct virtio_net_hdr, 10 bytes, host byte order).
 * With TSO/USO offloads on, a read may return a TCP or UDP "superpacket" of
 * up to 64 KiB that must be cut into segments of gso_size payload bytes
 * before it can be sent (gso_split_*); a write may hand the kernel such a
 * superpacket made of several received packets of one flow (gso_merge_*),
 * so the kernel's stack sees one packet instead of dozens.
 */
#ifndef GANGWAY_GSO_H
#define GANGWAY_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define GSO_HDR_LEN		10	/* sizeof(struct virtio_net_hdr) */

/* virtio-net header flags and types (linux/virtio_net.h) */
#define GSO_F_NEEDS_CSUM	1	/* finish the checksum at csum_start + csum_offset */
#define GSO_F_DATA_VALID	2	/* the checksum was verified */
#define GSO_TYPE_NONE		0
#define GSO_TYPE_TCPV4		1
#define GSO_TYPE_TCPV6		4
#define GSO_TYPE_UDP_L4		5	/* missing from Debian 12's headers */
#define GSO_TYPE_ECN		0x80	/* TCP superpacket with CWR set: only the first segment keeps it */

struct gso_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;	/* not trusted: recomputed from the headers */
	uint16_t gso_size;	/* payload bytes per segment */
	uint16_t csum_start;	/* offset of the transport header */
	uint16_t csum_offset;	/* of the checksum field, from csum_start */
};

/* The header's 10 bytes (host byte order, as TUN without TUNSETVNETLE uses). */
void gso_hdr_read(struct gso_hdr *h, const uint8_t *p);
void gso_hdr_write(const struct gso_hdr *h, uint8_t *p);

/* ---- splitting (TUN read side) ---------------------------------------- */

struct gso_split {
	const uint8_t *pkt;
	size_t len;
	int family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP; 0: pass through */
	bool ecn;
	uint16_t l3len;		/* = csum_start */
	uint16_t hlen;		/* IP and transport headers */
	uint16_t csum_off;	/* NEEDS_CSUM without GSO: absolute offset of the field */
	uint16_t gso_size;
	uint32_t off;		/* payload bytes already emitted */
	uint32_t seg;		/* segments already emitted */
	bool done;
};

/*
 * Prepare to split pkt (len bytes, header h). pkt must stay unchanged until
 * the last segment is out. -EINVAL when the header and the packet disagree
 * (the packet is to be dropped).
 */
int gso_split_init(struct gso_split *s, const struct gso_hdr *h, const uint8_t *pkt,
		   size_t len);
/* Length of the next segment, 0 when all are out. */
size_t gso_split_next_len(const struct gso_split *s);
/*
 * Write the next segment (gso_split_next_len() bytes) to out: headers fixed
 * up (lengths, IPv4 id and checksum, TCP sequence and flags) and the
 * transport checksum complete. Returns its length, 0 when done.
 */
size_t gso_split_next(struct gso_split *s, uint8_t *out);

/* ---- merging (TUN write side) ------------------------------------------ */

#define GSO_MERGE_PACKETS	1024	/* packets held before a flush is forced */
#define GSO_MERGE_MAX_SEGS	64	/* segments per superpacket */
#define GSO_MERGE_LOOKBACK	16	/* items searched for a packet's flow */

#define GSO_OFFLOAD_TCP		1	/* may write TCP superpackets (TSO4, TSO6) */
#define GSO_OFFLOAD_UDP		2	/* may write UDP superpackets (USO) */
#define GSO_OFFLOAD_VALID	4	/* mark verified checksums GSO_F_DATA_VALID */

/*
 * Writes one packet: iov[0] is the 10-byte virtio-net header, the rest the
 * packet. Returns 0 or -errno (counted, not retried).
 */
typedef int (*gso_write_fn)(void *ctx, const struct iovec *iov, int iovcnt);

struct gso_item {
	uint8_t *pkt;		/* first packet; its headers are rewritten at flush */
	uint32_t len;		/* its length */
	uint32_t payload;	/* payload bytes of all segments */
	uint32_t next_seq;	/* TCP: sequence number the next segment must have */
	int32_t first, last;	/* appended segments: indices into segs, -1 = none */
	uint16_t hlen;		/* IP + transport header */
	uint16_t l3len;
	uint16_t seg_size;	/* payload of the first segment */
	uint16_t nseg;
	uint16_t next_id;	/* IPv4 id the next segment must have (unless DF) */
	uint8_t kind;		/* GSO_KIND_* */
	bool open;		/* may take more segments */
	bool valid;		/* checksum verified */
	bool psh;
};

struct gso_seg {
	uint8_t *p;		/* payload of an appended segment */
	uint32_t len;
	int32_t next;
};

struct gso_merge_stats {
	uint64_t packets;	/* handed to gso_merge_add */
	uint64_t writes;	/* packets written (superpackets count once) */
	uint64_t merged;	/* packets that joined a superpacket */
	uint64_t errors;	/* writes that failed */
};

struct gso_merge {
	unsigned int offloads;	/* GSO_OFFLOAD_* */
	gso_write_fn write;
	void *ctx;
	size_t n_items, n_segs;
	struct gso_merge_stats stats;
	struct gso_item items[GSO_MERGE_PACKETS];
	struct gso_seg segs[GSO_MERGE_PACKETS];
	struct iovec iov[GSO_MERGE_MAX_SEGS + 2];
	uint8_t hdr[GSO_HDR_LEN];
};

void gso_merge_init(struct gso_merge *m, unsigned int offloads, gso_write_fn write,
		    void *ctx);
/*
 * Queue one IP packet for the device. pkt must stay valid (and may be
 * modified) until the next gso_merge_flush(), which this calls itself when
 * the batch is full. Returns 0 or the error of a forced flush.
 */
int gso_merge_add(struct gso_merge *m, uint8_t *pkt, size_t len);
/* Write everything queued, in order per flow. Returns 0 or the first error. */
int gso_merge_flush(struct gso_merge *m);

#endif
