/* prefix.h - IPv4/IPv6 addresses and prefixes: parse, print, compare */
#ifndef GANGWAY_PREFIX_H
#define GANGWAY_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define PREFIX_STRLEN	(INET6_ADDRSTRLEN + 4)

struct prefix {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t len;		/* prefix length in bits */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t b[16];
	} addr;			/* host bits are zero after prefix_parse() */
};

/*
 * Parse "a.b.c.d/n", "x::y/n", or a bare address (full length). With
 * strict, host bits set is an error (-EINVAL); otherwise they are cleared.
 * Returns 0 or -EINVAL.
 */
int prefix_parse(struct prefix *p, const char *s, bool strict);
/* Parse "addr/len" keeping the host bits (an interface address). */
int prefix_parse_addr(struct prefix *p, const char *s);
/* Writes "addr/len" into buf (PREFIX_STRLEN bytes), returns buf. */
const char *prefix_format(const struct prefix *p, char *buf, size_t size);

/* Zero the host bits. */
void prefix_mask(struct prefix *p);
/* addr (family, 4 or 16 bytes) lies inside p. */
bool prefix_contains_addr(const struct prefix *p, int family, const void *addr);
/* inner lies entirely inside outer. */
bool prefix_contains(const struct prefix *outer, const struct prefix *inner);
bool prefix_overlaps(const struct prefix *a, const struct prefix *b);
bool prefix_equal(const struct prefix *a, const struct prefix *b);
/*
 * A total order for sorting: family (IPv4 first), then the address bytes as
 * stored (host bits count), then the length. <0, 0, >0 like memcmp.
 */
int prefix_cmp(const struct prefix *a, const struct prefix *b);
/* Inside 10/8, 172.16/12, 192.168/16 or fc00::/7. */
bool prefix_is_private(const struct prefix *p);
/* Byte length of the family's address: 4, 16, or 0. */
size_t prefix_addr_len(int family);

#endif
