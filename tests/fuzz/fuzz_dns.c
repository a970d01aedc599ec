/* fuzz_dns.c - libFuzzer harness: a DNS query from the tunnel, answered from a small table
 *
 * Also: what the bounded question reader takes, ldns reads without error
 * and to the same question; and an answer from the cache is the bytes
 * ldns built for the same query.
 */
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

/* dns_question_read agrees with ldns on every message it takes. */
static void fuzz_dns_question(const uint8_t *data, size_t size)
{
	struct dns_question qs;
	ldns_pkt *q = NULL;
	const ldns_rr *qrr;
	const ldns_rdf *owner;

	if (!dns_question_read(data, size, &qs))
		return;
	if (ldns_wire2pkt(&q, data, size) != LDNS_STATUS_OK ||
	    ldns_pkt_get_opcode(q) != LDNS_PACKET_QUERY || ldns_pkt_qdcount(q) != 1 ||
	    ldns_rr_list_rr_count(ldns_pkt_question(q)) != 1)
		__builtin_trap();
	qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	owner = ldns_rr_owner(qrr);
	if (!owner || ldns_rdf_size(owner) != qs.name_len ||
	    memcmp(ldns_rdf_data(owner), qs.name, qs.name_len) ||
	    ldns_rr_get_type(qrr) != qs.type || ldns_rr_get_class(qrr) != qs.cls ||
	    ldns_pkt_edns(q) != qs.edns || (qs.edns && ldns_pkt_edns_udp_size(q) != qs.udp_size))
		__builtin_trap();
	ldns_pkt_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DNS_MAX_REPLY], again[DNS_MAX_REPLY];
	ldns_pkt *r = NULL;
	int n;

	if (!ans)
		fuzz_dns_init();
	fuzz_dns_question(data, size);
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
		/* Asked again (now from the cache, if it could be kept): the same bytes. */
		if (dns_answer(ans, data, size, again, sizeof(again), tcp ? 0 : DNS_UDP_MAX) != n ||
		    memcmp(out, again, (size_t)n))
			__builtin_trap();
	}
	return 0;
}
