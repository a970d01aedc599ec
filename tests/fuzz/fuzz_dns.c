/* fuzz_dns.c - libFuzzer harness: a DNS query from the tunnel, answered from a small table */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct names *tbl;
static struct dns_answerer *ans;

static void fuzz_dns_init(void)
{
	struct names_container c = { .id = "f1", .name = "web", .service = "api",
				     .project = "proj", .n_extra = 1, .n_addrs = 2 };

	snprintf(c.extra[0], sizeof(c.extra[0]), "shop");
	prefix_parse(&c.addrs[0], "172.17.0.2", true);
	prefix_parse(&c.addrs[1], "fd00::2", true);
	tbl = names_new("gangway.internal");
	if (!tbl || names_put(tbl, &c))
		__builtin_trap();
	ans = dns_answerer_new(tbl);
	if (!ans)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DNS_MAX_REPLY];
	ldns_pkt *r = NULL;
	int n;

	if (!ans)
		fuzz_dns_init();
	/* Over UDP and over TCP: a reply is a well-formed response to the same id. */
	for (int tcp = 0; tcp < 2; tcp++) {
		n = dns_answer(ans, data, size, out, sizeof(out), tcp ? 0 : DNS_UDP_MAX);
		if (n < 0)
			continue;
		if ((!tcp && n > DNS_UDP_MAX) || n < LDNS_HEADER_SIZE)
			__builtin_trap();
		if (ldns_wire2pkt(&r, out, (size_t)n) != LDNS_STATUS_OK || !ldns_pkt_qr(r) ||
		    ldns_pkt_id(r) != LDNS_ID_WIRE(data))
			__builtin_trap();
		ldns_pkt_free(r);
		r = NULL;
	}
	return 0;
}
