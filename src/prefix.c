/* prefix.c - IPv4/IPv6 addresses and prefixes: parse, print, compare */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "prefix.h"

/* Longest accepted prefix length text: "128". */
#define PREFIX_LEN_DIGITS	3

size_t prefix_addr_len(int family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

/* A struct prefix that the comparison functions can trust. */
static bool prefix_valid(const struct prefix *p)
{
	size_t alen = prefix_addr_len(p->family);

	return alen && p->len <= alen * 8;
}

/* The first bits bits of a and b agree (bits <= 128). */
static bool prefix_bits_equal(const uint8_t *a, const uint8_t *b,
			      unsigned int bits)
{
	unsigned int whole = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, whole))
		return false;
	if (!rest)
		return true;
	mask = (uint8_t)(0xff00u >> rest);
	return !((a[whole] ^ b[whole]) & mask);
}

/* True if any bit after the first len bits of addr (alen bytes) is set. */
static bool prefix_host_bits_set(const uint8_t *addr, size_t alen,
				 unsigned int len)
{
	size_t i = len / 8;

	if (len % 8) {
		if (addr[i] & (0xffu >> (len % 8)))
			return true;
		i++;
	}
	for (; i < alen; i++)
		if (addr[i])
			return true;
	return false;
}

void prefix_mask(struct prefix *p)
{
	size_t alen = prefix_addr_len(p->family);
	size_t i;

	if (!alen || p->len >= alen * 8)
		return;
	i = p->len / 8;
	if (p->len % 8)
		p->addr.b[i++] &= (uint8_t)(0xff00u >> (p->len % 8));
	for (; i < alen; i++)
		p->addr.b[i] = 0;
}

/*
 * Parse the text after '/': one to three decimal digits, no sign, no
 * spaces, no leading zero (so every length has exactly one spelling),
 * at most max. Returns the length or -EINVAL.
 */
static int prefix_parse_len(const char *s, unsigned int max)
{
	unsigned int v = 0;
	size_t n;

	for (n = 0; s[n]; n++) {
		if (n == PREFIX_LEN_DIGITS || s[n] < '0' || s[n] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(s[n] - '0');
	}
	if (n == 0 || (n > 1 && s[0] == '0') || v > max)
		return -EINVAL;
	return (int)v;
}

/*
 * Theory of operation: the text is split at the first '/'; the address
 * part goes to inet_pton() (which refuses spaces, zone ids, leading zeros
 * in IPv4 octets and short forms like "10.1"), the family chosen by the
 * presence of a ':'. Everything is checked before *p is written, so a
 * failed parse leaves *p as it was.
 */
static int prefix_parse_common(struct prefix *p, const char *s,
			       bool keep_host, bool strict)
{
	char addr[INET6_ADDRSTRLEN];
	struct prefix tmp;
	const char *slash;
	size_t total, alen;
	int len;

	if (!s)
		return -EINVAL;
	total = strnlen(s, PREFIX_STRLEN);
	if (total == 0 || total == PREFIX_STRLEN)
		return -EINVAL;

	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : total;
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';

	memset(&tmp, 0, sizeof(tmp));
	tmp.family = memchr(addr, ':', alen) ? AF_INET6 : AF_INET;
	if (inet_pton(tmp.family, addr, tmp.addr.b) != 1)
		return -EINVAL;

	alen = prefix_addr_len(tmp.family);
	if (slash) {
		len = prefix_parse_len(slash + 1, (unsigned int)alen * 8);
		if (len < 0)
			return len;
	} else {
		len = (int)alen * 8;
	}
	tmp.len = (uint8_t)len;

	if (!keep_host) {
		if (strict && prefix_host_bits_set(tmp.addr.b, alen, tmp.len))
			return -EINVAL;
		prefix_mask(&tmp);
	}
	*p = tmp;
	return 0;
}

int prefix_parse(struct prefix *p, const char *s, bool strict)
{
	return prefix_parse_common(p, s, false, strict);
}

int prefix_parse_addr(struct prefix *p, const char *s)
{
	return prefix_parse_common(p, s, true, false);
}

/*
 * prefix_format - "addr/len" into buf. An invalid prefix prints as "?";
 * a short buffer gets a truncated, still terminated, string.
 */
const char *prefix_format(const struct prefix *p, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	if (!size)
		return buf;
	if (!prefix_valid(p) ||
	    !inet_ntop(p->family, p->addr.b, addr, sizeof(addr))) {
		snprintf(buf, size, "?");
		return buf;
	}
	snprintf(buf, size, "%s/%u", addr, (unsigned int)p->len);
	return buf;
}

bool prefix_contains_addr(const struct prefix *p, int family, const void *addr)
{
	if (!addr || !prefix_valid(p) || p->family != family)
		return false;
	return prefix_bits_equal(p->addr.b, addr, p->len);
}

/* Host bits are ignored: a prefix stands for the set of its addresses. */
bool prefix_contains(const struct prefix *outer, const struct prefix *inner)
{
	if (!prefix_valid(outer) || !prefix_valid(inner) ||
	    outer->family != inner->family || outer->len > inner->len)
		return false;
	return prefix_bits_equal(outer->addr.b, inner->addr.b, outer->len);
}

bool prefix_overlaps(const struct prefix *a, const struct prefix *b)
{
	if (!prefix_valid(a) || !prefix_valid(b) || a->family != b->family)
		return false;
	/* Two prefixes overlap exactly when the shorter holds the longer. */
	return prefix_bits_equal(a->addr.b, b->addr.b,
				 a->len < b->len ? a->len : b->len);
}

/* Same family and the same set of addresses (host bits are ignored). */
bool prefix_equal(const struct prefix *a, const struct prefix *b)
{
	if (!prefix_valid(a) || !prefix_valid(b) ||
	    a->family != b->family || a->len != b->len)
		return false;
	return prefix_bits_equal(a->addr.b, b->addr.b, a->len);
}

int prefix_cmp(const struct prefix *a, const struct prefix *b)
{
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr.b, b->addr.b, prefix_addr_len(a->family));
	if (r)
		return r;
	return (a->len > b->len) - (a->len < b->len);
}

bool prefix_is_private(const struct prefix *p)
{
	static const struct prefix priv[] = {
		{ .family = AF_INET, .len = 8, .addr.b = { 10 } },
		{ .family = AF_INET, .len = 12, .addr.b = { 172, 16 } },
		{ .family = AF_INET, .len = 16, .addr.b = { 192, 168 } },
		{ .family = AF_INET6, .len = 7, .addr.b = { 0xfc } },
	};
	size_t i;

	for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		if (prefix_contains(&priv[i], p))
			return true;
	return false;
}
