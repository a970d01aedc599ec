/* dns_linux.c - answer DNS for container names, on the tunnel address, with ldns
 *
 * Theory of operation: the name table (names.c) is the zone, <domain>,
 * synthesized: A and AAAA for the names of running containers, PTR for
 * their addresses, an SOA at the apex so negative answers are cached for
 * NAMES_TTL seconds only. A name in the domain that no container has is
 * NXDOMAIN; a question outside the domain (or for an address that is no
 * container's) is REFUSED: this is not a resolver, and answers nothing it
 * does not own. Messages are parsed and built by ldns, never by hand.
 *
 * Sockets: UDP and TCP on port 53 of the guest's tunnel addresses only,
 * bound with IP_FREEBIND so the order of start-up does not matter. UDP is
 * read and answered in batches (recvmmsg/sendmmsg) into buffers allocated
 * once. TCP serves at most DNS_MAX_TCP clients, each with a fixed buffer;
 * a client that sends more than DNS_MAX_QUERY bytes in one message, or
 * would make us wait to write, is dropped.
 *
 * Memory per query: none, for a question asked before. ldns's packet
 * objects are heap objects (parsing a query with ldns_wire2pkt allocates
 * about ten small blocks; building an answer, its records and the name
 * compression of ldns_pkt2buffer_wire, many more), so answers are built
 * once and kept: a cache of DNS_CACHE replies as ldns wrote them, keyed by
 * the question's name exactly as asked (its wire form, case included, for
 * resolvers that check it), type, class, EDNS and the reply's size limit,
 * and the table's generation, so any change to the table makes every
 * cached answer stale. The cache is looked up before ldns sees the query:
 * a query of the common shape (dns_question_read: one question, a name
 * without compression, at most an OPT record) has its question read by a
 * bounded reader of our own, and a hit copies the bytes and sets the
 * query's id and RD bit in them (ldns's wire macros). Only a miss, or a
 * query of another shape, is parsed by ldns and answered by it. The wire
 * buffers (the reply, the name as text) are allocated once and reused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "dns.h"
#include "log.h"

#define DNS_BATCH	32
#define DNS_UDP_BUF	1500
#define DNS_CACHE	256		/* answers kept, direct-mapped */
#define DNS_NAME_WIRE	255		/* a name's wire form at most (RFC 1035) */

struct dns_cached {
	uint64_t generation;		/* of the table; 0: empty */
	uint16_t type, cls;
	uint16_t limit;			/* the reply's size limit (TCP: the buffer's) */
	bool edns;
	uint8_t rcode;
	bool truncated;
	uint8_t key[DNS_NAME_WIRE];	/* the question's name, wire form, as asked */
	uint8_t key_len;
	uint16_t len;
	uint8_t wire[DNS_UDP_MAX];
};

struct dns_answerer {
	struct names *names;
	ldns_rdf *domain;
	ldns_rdf *arpa4, *arpa6;
	ldns_rr *soa;
	ldns_buffer *wire;		/* the reply, reused */
	ldns_buffer *text;		/* the question's name as text, reused */
	struct dns_stats stats;
	struct dns_cached cache[DNS_CACHE];
};

struct dns_answerer *dns_answerer_new(struct names *n)
{
	struct dns_answerer *a = calloc(1, sizeof(*a));
	char soa[3 * NAMES_NAME_LEN + 64];
	const char *d = names_domain(n);

	if (!a)
		return NULL;
	a->names = n;
	snprintf(soa, sizeof(soa), "%s. %d IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 %d", d,
		 NAMES_TTL, d, d, NAMES_TTL);
	a->domain = ldns_dname_new_frm_str(d);
	a->arpa4 = ldns_dname_new_frm_str("in-addr.arpa.");
	a->arpa6 = ldns_dname_new_frm_str("ip6.arpa.");
	a->wire = ldns_buffer_new(DNS_MAX_REPLY);
	a->text = ldns_buffer_new(4 * NAMES_NAME_LEN + 8);
	if (!a->domain || !a->arpa4 || !a->arpa6 || !a->wire || !a->text ||
	    ldns_rr_new_frm_str(&a->soa, soa, 0, NULL, NULL) != LDNS_STATUS_OK) {
		dns_answerer_free(a);
		errno = ENOMEM;
		return NULL;
	}
	return a;
}

void dns_answerer_free(struct dns_answerer *a)
{
	if (!a)
		return;
	ldns_rdf_deep_free(a->domain);
	ldns_rdf_deep_free(a->arpa4);
	ldns_rdf_deep_free(a->arpa6);
	ldns_rr_free(a->soa);
	ldns_buffer_free(a->wire);
	ldns_buffer_free(a->text);
	free(a);
}

const struct dns_stats *dns_answerer_stats(const struct dns_answerer *a)
{
	return &a->stats;
}

/* The name as ldns prints it (case kept), in a->text; NULL if odd. */
static char *dns_name_raw(struct dns_answerer *a, const ldns_rdf *name)
{
	ldns_buffer_clear(a->text);
	if (ldns_rdf2buffer_str_dname(a->text, name) != LDNS_STATUS_OK ||
	    !ldns_buffer_reserve(a->text, 1))
		return NULL;
	ldns_buffer_write_u8(a->text, 0);
	return (char *)ldns_buffer_begin(a->text);
}

/* The name as lower-case text without the trailing dot, in a->text; NULL if odd. */
static const char *dns_name_text(struct dns_answerer *a, const ldns_rdf *name)
{
	char *s = dns_name_raw(a, name);
	size_t len;

	if (!s)
		return NULL;
	len = strlen(s);
	if (len && s[len - 1] == '.')
		s[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	return s;
}

static int dns_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "4.3.2.1.in-addr.arpa" or 32 nibbles of ".ip6.arpa" into an address; 0 or -EINVAL. */
static int dns_reverse_addr(const char *s, struct prefix *p)
{
	size_t len = strlen(s);

	memset(p, 0, sizeof(*p));
	if (len > 13 && !strcmp(s + len - 13, ".in-addr.arpa")) {
		unsigned int o[4];
		char tail[16];
		int n;

		if (sscanf(s, "%3u.%3u.%3u.%3u.%15s%n", &o[3], &o[2], &o[1], &o[0], tail, &n) != 5 ||
		    (size_t)n != len || strcmp(tail, "in-addr.arpa") ||
		    o[0] > 255 || o[1] > 255 || o[2] > 255 || o[3] > 255)
			return -EINVAL;
		p->family = AF_INET;
		p->len = 32;
		for (int i = 0; i < 4; i++)
			p->addr.b[i] = (uint8_t)o[i];
		return 0;
	}
	if (len == 64 + 8 && !strcmp(s + 64, "ip6.arpa")) {
		p->family = AF_INET6;
		p->len = 128;
		for (int i = 0; i < 32; i++) {
			int v = dns_hex(s[2 * i]);

			if (v < 0 || s[2 * i + 1] != '.')
				return -EINVAL;
			/* The first nibble is the address's last. */
			p->addr.b[15 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
		}
		return 0;
	}
	return -EINVAL;
}

static ldns_rr *dns_addr_rr(const ldns_rdf *owner, const struct prefix *addr)
{
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *rd;

	if (!rr)
		return NULL;
	rd = ldns_rdf_new_frm_data(addr->family == AF_INET ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
				   prefix_addr_len(addr->family), addr->addr.b);
	if (!rd) {
		ldns_rr_free(rr);
		return NULL;
	}
	ldns_rr_set_owner(rr, ldns_rdf_clone(owner));
	ldns_rr_set_type(rr, addr->family == AF_INET ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, NAMES_TTL);
	ldns_rr_push_rdf(rr, rd);
	return rr;
}

static void dns_push(ldns_pkt *p, ldns_pkt_section sec, ldns_rr *rr)
{
	if (rr && !ldns_pkt_push_rr(p, sec, rr))
		ldns_rr_free(rr);
}

/* A, AAAA or both (ANY) for a name in the domain: the answer section and rcode. */
static void dns_answer_name(struct dns_answerer *a, ldns_pkt *r, const ldns_rdf *qname,
			    ldns_rr_type type, const char *name)
{
	struct prefix addrs[DNS_MAX_ANSWERS];
	int family = type == LDNS_RR_TYPE_A ? AF_INET :
		     type == LDNS_RR_TYPE_AAAA ? AF_INET6 : 0;
	bool want = type == LDNS_RR_TYPE_A || type == LDNS_RR_TYPE_AAAA ||
		    type == LDNS_RR_TYPE_ANY;
	int n = names_lookup(a->names, name, family, addrs, DNS_MAX_ANSWERS);

	if (n == -ENOENT) {
		ldns_pkt_set_rcode(r, LDNS_RCODE_NXDOMAIN);
		a->stats.nxdomain++;
	} else if (want) {
		for (int i = 0; i < n; i++)
			dns_push(r, LDNS_SECTION_ANSWER, dns_addr_rr(qname, &addrs[i]));
	}
	if (ldns_pkt_ancount(r) == 0)	/* NXDOMAIN or NODATA: cached NAMES_TTL */
		dns_push(r, LDNS_SECTION_AUTHORITY, ldns_rr_clone(a->soa));
}

/* PTR for a container's address; false when it is none of ours (REFUSED). */
static bool dns_answer_ptr(struct dns_answerer *a, ldns_pkt *r, const ldns_rdf *qname,
			   ldns_rr_type type, const char *name)
{
	char target[NAMES_NAME_LEN + 2];
	struct prefix addr;
	ldns_rr *rr;
	ldns_rdf *rd;
	size_t len;

	if (dns_reverse_addr(name, &addr) ||
	    names_reverse(a->names, &addr, target, sizeof(target) - 1))
		return false;
	if (type != LDNS_RR_TYPE_PTR && type != LDNS_RR_TYPE_ANY)
		return true;		/* NODATA */
	len = strlen(target);
	target[len] = '.';
	target[len + 1] = '\0';
	rr = ldns_rr_new();
	rd = ldns_dname_new_frm_str(target);
	if (!rr || !rd) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(rd);
		return true;
	}
	ldns_rr_set_owner(rr, ldns_rdf_clone(qname));
	ldns_rr_set_type(rr, LDNS_RR_TYPE_PTR);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, NAMES_TTL);
	ldns_rr_push_rdf(rr, rd);
	dns_push(r, LDNS_SECTION_ANSWER, rr);
	return true;
}

static void dns_answer_question(struct dns_answerer *a, const ldns_pkt *q, ldns_pkt *r)
{
	const ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	const ldns_rdf *qname = ldns_rr_owner(qrr);
	ldns_rr_type type = ldns_rr_get_type(qrr);
	ldns_rr_class cls = ldns_rr_get_class(qrr);
	const char *name;

	dns_push(r, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
	name = qname ? dns_name_text(a, qname) : NULL;
	if (!name || (cls != LDNS_RR_CLASS_IN && cls != LDNS_RR_CLASS_ANY)) {
		ldns_pkt_set_rcode(r, LDNS_RCODE_REFUSED);
		a->stats.refused++;
		return;
	}
	if (ldns_dname_compare(qname, a->domain) == 0) {
		/* The apex: an SOA, and no addresses. */
		ldns_pkt_set_aa(r, true);
		if (type == LDNS_RR_TYPE_SOA || type == LDNS_RR_TYPE_ANY)
			dns_push(r, LDNS_SECTION_ANSWER, ldns_rr_clone(a->soa));
		else
			dns_push(r, LDNS_SECTION_AUTHORITY, ldns_rr_clone(a->soa));
		return;
	}
	if (ldns_dname_is_subdomain(qname, a->domain)) {
		ldns_pkt_set_aa(r, true);
		dns_answer_name(a, r, qname, type, name);
		return;
	}
	if ((ldns_dname_is_subdomain(qname, a->arpa4) || ldns_dname_is_subdomain(qname, a->arpa6)) &&
	    dns_answer_ptr(a, r, qname, type, name)) {
		ldns_pkt_set_aa(r, true);
		return;
	}
	ldns_pkt_set_rcode(r, LDNS_RCODE_REFUSED);
	a->stats.refused++;
}

static void dns_clear_section(ldns_pkt *r, ldns_pkt_section sec)
{
	ldns_rr_list *l = sec == LDNS_SECTION_ANSWER ? ldns_pkt_answer(r) : ldns_pkt_authority(r);

	while (ldns_rr_list_rr_count(l))
		ldns_rr_free(ldns_rr_list_pop_rr(l));
	if (sec == LDNS_SECTION_ANSWER)
		ldns_pkt_set_ancount(r, 0);
	else
		ldns_pkt_set_nscount(r, 0);
}

/* FNV-1a over the name, the type and the limit: every byte reaches the low bits. */
static uint32_t dns_cache_hash(const uint8_t *key, size_t len, uint16_t type, size_t limit)
{
	const uint8_t tail[4] = { (uint8_t)(type >> 8), (uint8_t)type, (uint8_t)(limit >> 8),
				  (uint8_t)limit };
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	for (size_t i = 0; i < sizeof(tail); i++)
		h = (h ^ tail[i]) * 16777619u;
	return h;
}

/*
 * The cache entry for question qs with reply limit limit: a hit when *hit,
 * else the slot to fill. NULL when the answer cannot be kept.
 */
static struct dns_cached *dns_cache_find(struct dns_answerer *a, const struct dns_question *qs,
					 size_t limit, bool *hit)
{
	struct dns_cached *e;

	*hit = false;
	if (!qs->name_len || qs->name_len > DNS_NAME_WIRE || limit > UINT16_MAX)
		return NULL;
	e = &a->cache[dns_cache_hash(qs->name, qs->name_len, qs->type, limit) % DNS_CACHE];
	*hit = e->generation == names_generation(a->names) && e->type == qs->type &&
	       e->cls == qs->cls && e->limit == limit && e->edns == qs->edns &&
	       e->key_len == qs->name_len && !memcmp(e->key, qs->name, qs->name_len);
	if (!*hit) {
		e->generation = 0;
		e->type = qs->type;
		e->cls = qs->cls;
		e->limit = (uint16_t)limit;
		e->edns = qs->edns;
		e->key_len = (uint8_t)qs->name_len;
		memcpy(e->key, qs->name, qs->name_len);
	}
	return e;
}

static uint16_t dns_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

bool dns_question_read(const uint8_t *q, size_t len, struct dns_question *out)
{
	size_t off = LDNS_HEADER_SIZE, label;

	memset(out, 0, sizeof(*out));
	if (len < LDNS_HEADER_SIZE || LDNS_QR_WIRE(q) || LDNS_OPCODE_WIRE(q) != LDNS_PACKET_QUERY ||
	    dns_get16(q + 4) != 1 || dns_get16(q + 6) || dns_get16(q + 8) || dns_get16(q + 10) > 1)
		return false;
	/* The name: labels of 1-63 bytes up to the root's 0, no pointer, 255 bytes at most. */
	out->name = q + off;
	do {
		if (off >= len)
			return false;
		label = q[off];
		if (label > LDNS_MAX_LABELLEN || off + 1 + label - LDNS_HEADER_SIZE > DNS_NAME_WIRE)
			return false;
		off += 1 + label;
	} while (label);
	out->name_len = off - LDNS_HEADER_SIZE;
	if (off + 4 > len)
		return false;
	out->type = dns_get16(q + off);
	out->cls = dns_get16(q + off + 2);
	off += 4;
	if (dns_get16(q + 10) == 0)
		return off == len;
	/* OPT: owner the root, type 41, class the UDP size, TTL, rdata to the end. */
	if (off + 11 > len || q[off] != 0 || dns_get16(q + off + 1) != LDNS_RR_TYPE_OPT)
		return false;
	out->edns = true;
	out->udp_size = dns_get16(q + off + 3);
	return out->udp_size && off + 11 + dns_get16(q + off + 9) == len;
}

/* A cached answer counts as the first one did. */
static void dns_count(struct dns_answerer *a, uint8_t rcode, bool truncated)
{
	a->stats.queries++;
	a->stats.nxdomain += rcode == LDNS_RCODE_NXDOMAIN;
	a->stats.refused += rcode == LDNS_RCODE_REFUSED;
	a->stats.truncated += truncated;
}

/* The reply's size limit: TCP's whole buffer, or what UDP and the query's EDNS allow. */
static size_t dns_limit(size_t size, size_t max_udp, bool edns, size_t want)
{
	size_t limit = size;

	if (max_udp) {
		limit = DNS_UDP_DEFAULT;
		if (edns)
			limit = want < DNS_UDP_DEFAULT ? DNS_UDP_DEFAULT :
				want > DNS_UDP_MAX ? DNS_UDP_MAX : want;
		if (limit > max_udp)
			limit = max_udp;
	}
	return limit > size ? size : limit;
}

/* A kept answer, with the query's id and RD bit; its length. */
static int dns_answer_cached(struct dns_answerer *a, const struct dns_cached *e,
			     const uint8_t *q, uint8_t *out)
{
	memcpy(out, e->wire, e->len);
	ldns_write_uint16(out, LDNS_ID_WIRE(q));
	if (LDNS_RD_WIRE(q))
		LDNS_RD_SET(out);
	else
		LDNS_RD_CLR(out);
	dns_count(a, e->rcode, e->truncated);
	return e->len;
}

int dns_answer(struct dns_answerer *a, const uint8_t *q, size_t qlen, uint8_t *out, size_t size,
	       size_t max_udp)
{
	ldns_pkt *query = NULL, *r = NULL;
	struct dns_cached *e = NULL;
	struct dns_question qs;
	size_t limit, len;
	uint8_t rcode = LDNS_RCODE_NOERROR;
	bool hit, truncated = false;
	int ret = -1;

	if (qlen < LDNS_HEADER_SIZE || LDNS_QR_WIRE(q)) {
		a->stats.malformed++;
		return -1;
	}
	/* A question asked before: its answer, without ldns and without allocating. */
	if (dns_question_read(q, qlen, &qs)) {
		limit = dns_limit(size, max_udp, qs.edns, qs.udp_size);
		e = dns_cache_find(a, &qs, limit, &hit);
		if (e && hit && e->len <= size)
			return dns_answer_cached(a, e, q, out);
		e = NULL;		/* ldns reads it, and the entry is found again */
	}
	if (ldns_wire2pkt(&query, q, qlen) != LDNS_STATUS_OK) {
		a->stats.malformed++;
		rcode = LDNS_RCODE_FORMERR;
	} else if (ldns_pkt_get_opcode(query) != LDNS_PACKET_QUERY) {
		rcode = LDNS_RCODE_NOTIMPL;
	} else if (ldns_pkt_qdcount(query) != 1 ||
		   ldns_rr_list_rr_count(ldns_pkt_question(query)) != 1) {
		a->stats.malformed++;
		rcode = LDNS_RCODE_FORMERR;
	}
	limit = dns_limit(size, max_udp, query && ldns_pkt_edns(query),
			  query ? ldns_pkt_edns_udp_size(query) : 0);
	/* An answer built before for the same question and table: its bytes. */
	if (rcode == LDNS_RCODE_NOERROR) {
		const ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(query), 0);
		const ldns_rdf *owner = ldns_rr_owner(qrr);

		qs = (struct dns_question){
			.name = owner ? ldns_rdf_data(owner) : NULL,
			.name_len = owner ? ldns_rdf_size(owner) : 0,
			.type = (uint16_t)ldns_rr_get_type(qrr),
			.cls = (uint16_t)ldns_rr_get_class(qrr),
			.edns = ldns_pkt_edns(query),
		};
		e = dns_cache_find(a, &qs, limit, &hit);
		if (e && hit && e->len <= size) {
			ret = dns_answer_cached(a, e, q, out);
			goto out;
		}
	}
	r = ldns_pkt_new();
	if (!r)
		goto out;
	ldns_pkt_set_id(r, LDNS_ID_WIRE(q));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_rd(r, LDNS_RD_WIRE(q));
	ldns_pkt_set_opcode(r, (ldns_pkt_opcode)LDNS_OPCODE_WIRE(q));
	ldns_pkt_set_rcode(r, rcode);
	if (max_udp && query && ldns_pkt_edns(query))
		ldns_pkt_set_edns_udp_size(r, DNS_UDP_MAX);
	if (rcode == LDNS_RCODE_NOERROR) {
		a->stats.queries++;
		dns_answer_question(a, query, r);	/* counts NXDOMAIN, REFUSED */
	}
	ldns_buffer_clear(a->wire);
	if (ldns_pkt2buffer_wire(a->wire, r) != LDNS_STATUS_OK)
		goto out;
	if (ldns_buffer_position(a->wire) > limit) {
		/* Too big for UDP: the header and question, TC set; TCP has the rest. */
		a->stats.truncated++;
		truncated = true;
		dns_clear_section(r, LDNS_SECTION_ANSWER);
		dns_clear_section(r, LDNS_SECTION_AUTHORITY);
		ldns_pkt_set_tc(r, true);
		ldns_buffer_clear(a->wire);
		if (ldns_pkt2buffer_wire(a->wire, r) != LDNS_STATUS_OK ||
		    ldns_buffer_position(a->wire) > limit)
			goto out;
	}
	len = ldns_buffer_position(a->wire);
	memcpy(out, ldns_buffer_begin(a->wire), len);
	if (e && len <= sizeof(e->wire)) {
		memcpy(e->wire, out, len);
		e->len = (uint16_t)len;
		e->rcode = (uint8_t)ldns_pkt_get_rcode(r);
		e->truncated = truncated;
		e->generation = names_generation(a->names);
	}
	ret = (int)len;
out:
	ldns_pkt_free(query);
	ldns_pkt_free(r);
	return ret;
}

/* ---- the sockets ---- */

struct dns_tcp {
	int fd;				/* -1: free */
	uint64_t since;
	size_t len;
	uint8_t buf[2 + DNS_MAX_QUERY];
};

struct dns_server {
	struct loop *loop;
	struct dns_answerer *ans;
	int udp[2], tcp[2];		/* per address; -1 = none */
	size_t n_fds;
	struct dns_tcp clients[DNS_MAX_TCP];
	/* One UDP batch, in and out. */
	uint8_t in[DNS_BATCH][DNS_UDP_BUF];
	uint8_t out[DNS_BATCH][DNS_UDP_MAX];
	struct sockaddr_storage from[DNS_BATCH];
	struct iovec iov_in[DNS_BATCH], iov_out[DNS_BATCH];
	struct mmsghdr msg_in[DNS_BATCH], msg_out[DNS_BATCH];
	uint8_t tcp_out[2 + DNS_MAX_REPLY];
};

#define DNS_TCP_IDLE	(10ULL * 1000000000ULL)

static void dns_on_udp(void *ctx, int fd, uint32_t events)
{
	struct dns_server *s = ctx;

	(void)events;
	for (int round = 0; round < 8; round++) {
		int n, m = 0;

		for (int i = 0; i < DNS_BATCH; i++) {
			s->iov_in[i] = (struct iovec){ s->in[i], sizeof(s->in[i]) };
			s->msg_in[i].msg_hdr = (struct msghdr){
				.msg_name = &s->from[i], .msg_namelen = sizeof(s->from[i]),
				.msg_iov = &s->iov_in[i], .msg_iovlen = 1,
			};
		}
		n = recvmmsg(fd, s->msg_in, DNS_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			int len = dns_answer(s->ans, s->in[i], s->msg_in[i].msg_len, s->out[m],
					     sizeof(s->out[m]), DNS_UDP_MAX);

			if (len < 0 || (s->msg_in[i].msg_hdr.msg_flags & MSG_TRUNC))
				continue;
			s->iov_out[m] = (struct iovec){ s->out[m], (size_t)len };
			s->msg_out[m].msg_hdr = (struct msghdr){
				.msg_name = &s->from[i], .msg_namelen = s->msg_in[i].msg_hdr.msg_namelen,
				.msg_iov = &s->iov_out[m], .msg_iovlen = 1,
			};
			m++;
		}
		if (m)
			sendmmsg(fd, s->msg_out, (unsigned int)m, MSG_DONTWAIT);
		if (n < DNS_BATCH)
			return;
	}
}

static void dns_tcp_close(struct dns_server *s, struct dns_tcp *c)
{
	loop_del_fd(s->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

static void dns_on_tcp_client(void *ctx, int fd, uint32_t events)
{
	struct dns_server *s = ctx;
	struct dns_tcp *c = NULL;
	ssize_t n;

	(void)events;
	for (int i = 0; i < DNS_MAX_TCP; i++)
		if (s->clients[i].fd == fd)
			c = &s->clients[i];
	if (!c)
		return;
	n = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			dns_tcp_close(s, c);
		return;
	}
	c->len += (size_t)n;
	c->since = loop_now();
	while (c->len >= 2) {
		size_t mlen = ldns_read_uint16(c->buf);
		int len;

		if (mlen > DNS_MAX_QUERY) {
			dns_tcp_close(s, c);
			return;
		}
		if (c->len < 2 + mlen)
			return;
		len = dns_answer(s->ans, c->buf + 2, mlen, s->tcp_out + 2, DNS_MAX_REPLY, 0);
		if (len >= 0) {
			ldns_write_uint16(s->tcp_out, (uint16_t)len);
			if (send(fd, s->tcp_out, (size_t)len + 2, MSG_DONTWAIT | MSG_NOSIGNAL) !=
			    len + 2) {
				dns_tcp_close(s, c);
				return;
			}
		}
		memmove(c->buf, c->buf + 2 + mlen, c->len - 2 - mlen);
		c->len -= 2 + mlen;
	}
}

static void dns_on_accept(void *ctx, int fd, uint32_t events)
{
	struct dns_server *s = ctx;
	struct dns_tcp *slot = NULL, *oldest = NULL;
	uint64_t now = loop_now();
	int cfd;

	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	for (int i = 0; i < DNS_MAX_TCP; i++) {
		struct dns_tcp *c = &s->clients[i];

		if (c->fd >= 0 && now - c->since > DNS_TCP_IDLE)
			dns_tcp_close(s, c);
		if (c->fd < 0 && !slot)
			slot = c;
		if (c->fd >= 0 && (!oldest || c->since < oldest->since))
			oldest = c;
	}
	if (!slot) {			/* full: the longest-idle makes room */
		dns_tcp_close(s, oldest);
		slot = oldest;
	}
	if (loop_add_fd(s->loop, cfd, EPOLLIN, dns_on_tcp_client, s) < 0) {
		close(cfd);
		return;
	}
	slot->fd = cfd;
	slot->len = 0;
	slot->since = now;
}

static int dns_socket(const struct prefix *a, uint16_t port, int type)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int one = 1, fd, ret;

	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr = a->addr.v4;
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = a->addr.v6;
		sl = sizeof(*sin6);
	}
	fd = socket(a->family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) < 0)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

struct dns_server *dns_start(struct loop *loop, struct names *n, const struct prefix *addrs,
			     size_t n_addrs, uint16_t port)
{
	struct dns_server *s = calloc(1, sizeof(*s));
	char buf[PREFIX_STRLEN];
	int ret = 0;

	if (!s)
		return NULL;
	s->loop = loop;
	for (int i = 0; i < 2; i++)
		s->udp[i] = s->tcp[i] = -1;
	for (int i = 0; i < DNS_MAX_TCP; i++)
		s->clients[i].fd = -1;
	s->ans = dns_answerer_new(n);
	if (!s->ans) {
		ret = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n_addrs && s->n_fds < 2; i++) {
		size_t k = s->n_fds;

		prefix_format(&addrs[i], buf, sizeof(buf));
		s->udp[k] = dns_socket(&addrs[i], port, SOCK_DGRAM);
		if (s->udp[k] < 0) {
			ret = s->udp[k];
			goto bind_fail;
		}
		s->tcp[k] = dns_socket(&addrs[i], port, SOCK_STREAM);
		if (s->tcp[k] < 0) {
			ret = s->tcp[k];
			goto bind_fail;
		}
		s->n_fds++;
		if ((ret = loop_add_fd(loop, s->udp[k], EPOLLIN, dns_on_udp, s)) ||
		    (ret = loop_add_fd(loop, s->tcp[k], EPOLLIN, dns_on_accept, s)))
			goto fail;
		log_info("Serving container names (*.%s) on %s port %u", names_domain(n), buf,
			 port);
	}
	return s;
bind_fail:
	log_err("Failed to serve DNS on %s port %u: %s", buf, port, strerror(-ret));
fail:
	dns_stop(s);
	errno = -ret;
	return NULL;
}

void dns_stop(struct dns_server *s)
{
	if (!s)
		return;
	for (int i = 0; i < DNS_MAX_TCP; i++)
		if (s->clients[i].fd >= 0)
			dns_tcp_close(s, &s->clients[i]);
	for (int i = 0; i < 2; i++) {
		if (s->udp[i] >= 0) {
			loop_del_fd(s->loop, s->udp[i]);
			close(s->udp[i]);
		}
		if (s->tcp[i] >= 0) {
			loop_del_fd(s->loop, s->tcp[i]);
			close(s->tcp[i]);
		}
	}
	dns_answerer_free(s->ans);
	free(s);
}

const struct dns_stats *dns_stats(const struct dns_server *s)
{
	return dns_answerer_stats(s->ans);
}
