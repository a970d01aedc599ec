/* csum.c - the Internet checksum, 64 bits at a time */

/*
 * Theory of operation: the one's complement sum of 16-bit words can be
 * computed over wider words as long as every carry out of the top is added
 * back in (end-around carry), and folded to 16 bits at the end (RFC 1071
 * section 2). csum_partial() adds 64-bit words with carry in four
 * independent chains, so the additions of one chain do not wait on the
 * others; on x86-64 each step becomes an add and an adc. Loads go through
 * memcpy, so the buffer needs no alignment.
 */
#include <netinet/in.h>

#include "csum.h"

static inline uint64_t csum_load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

uint64_t csum_partial(const void *buf, size_t len, uint64_t sum)
{
	const uint8_t *p = buf;
	uint64_t a = sum, b = 0, c = 0, d = 0;
	uint32_t w32;
	uint16_t w16;

	while (len >= 64) {
		a = csum_add(a, csum_load64(p));
		b = csum_add(b, csum_load64(p + 8));
		c = csum_add(c, csum_load64(p + 16));
		d = csum_add(d, csum_load64(p + 24));
		a = csum_add(a, csum_load64(p + 32));
		b = csum_add(b, csum_load64(p + 40));
		c = csum_add(c, csum_load64(p + 48));
		d = csum_add(d, csum_load64(p + 56));
		p += 64;
		len -= 64;
	}
	while (len >= 8) {
		a = csum_add(a, csum_load64(p));
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&w32, p, 4);
		b = csum_add(b, w32);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		c = csum_add(c, w16);
		p += 2;
		len -= 2;
	}
	if (len) {
		/* the last byte is the first half of a zero-padded word */
		w16 = 0;
		memcpy(&w16, p, 1);
		d = csum_add(d, w16);
	}
	return csum_add(csum_add(a, b), csum_add(c, d));
}

uint64_t csum_pseudo(int family, const uint8_t *saddr, const uint8_t *daddr,
		     uint8_t proto, uint32_t l4len)
{
	uint64_t sum;

	if (family == AF_INET) {
		sum = csum_partial(saddr, 4, 0);
		sum = csum_partial(daddr, 4, sum);
		sum = csum_add(sum, csum_word(proto));
		return csum_add(sum, csum_word((uint16_t)l4len));
	}
	sum = csum_partial(saddr, 16, 0);
	sum = csum_partial(daddr, 16, sum);
	sum = csum_add(sum, csum_word((uint16_t)(l4len >> 16)));
	sum = csum_add(sum, csum_word((uint16_t)l4len));
	return csum_add(sum, csum_word(proto));
}

void csum_ipv4_header(uint8_t *hdr, size_t ihl)
{
	hdr[10] = hdr[11] = 0;
	csum_store(hdr + 10, csum_finish(csum_partial(hdr, ihl, 0)));
}

bool csum_l4_valid(int family, const uint8_t *saddr, const uint8_t *daddr,
		   uint8_t proto, const uint8_t *l4, size_t l4len)
{
	uint64_t sum;

	if (proto == IPPROTO_UDP && (l4len < 8 || (l4[6] == 0 && l4[7] == 0)))
		return false;
	if (l4len > 0xffffffffu)
		return false;
	sum = csum_pseudo(family, saddr, daddr, proto, (uint32_t)l4len);
	return csum_fold(csum_partial(l4, l4len, sum)) == 0xffff;
}
