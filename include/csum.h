/* csum.h - the Internet checksum (RFC 1071) for IPv4, TCP and UDP headers
 *
 * Sums are kept in the byte order of the packet: 16-bit words are loaded
 * as they lie in memory, and the folded result is stored back the same way
 * (csum_store). RFC 1071 section 2 shows why that gives the right bytes on
 * either endianness. A partial sum is a uint64_t that may be added to with
 * csum_add() and is folded only at the end.
 */
#ifndef GANGWAY_CSUM_H
#define GANGWAY_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bytes.h"

/*
 * Partial sum of len bytes at buf added to sum. buf must begin at an even
 * offset of the checksummed region (an odd length is fine only for the
 * region's last piece).
 */
uint64_t csum_partial(const void *buf, size_t len, uint64_t sum);

/* One's complement addition of two partial sums. */
static inline uint64_t csum_add(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);
}

/* Fold a partial sum to 16 bits (not complemented). */
static inline uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The 16-bit checksum field value for a region summed to sum. */
static inline uint16_t csum_finish(uint64_t sum)
{
	return (uint16_t)~csum_fold(sum);
}

/* A 16-bit value in host order, as it would be loaded from the packet. */
static inline uint64_t csum_word(uint16_t host)
{
	uint8_t b[2];

	bytes_store_be16(b, host);
	return bytes_load_host16(b);
}

static inline void csum_store(uint8_t *p, uint16_t sum)
{
	bytes_store_host16(p, sum);
}

/*
 * Pseudo-header sum for TCP or UDP (proto 6 or 17) over l4len bytes;
 * family AF_INET (addresses of 4 bytes) or AF_INET6 (16).
 */
uint64_t csum_pseudo(int family, const uint8_t *saddr, const uint8_t *daddr,
		     uint8_t proto, uint32_t l4len);

/* Fill in the IPv4 header checksum (ihl bytes at hdr). */
void csum_ipv4_header(uint8_t *hdr, size_t ihl);

/*
 * Verify the TCP or UDP checksum of an IP packet whose transport header
 * starts at l4 (l4len bytes). A UDP checksum of zero over IPv4 means "none"
 * and counts as invalid here: callers use this to decide whether a packet
 * may be merged, and such a packet may not.
 */
bool csum_l4_valid(int family, const uint8_t *saddr, const uint8_t *daddr,
		   uint8_t proto, const uint8_t *l4, size_t l4len);

#endif
