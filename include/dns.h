/* dns.h - gangwayd's DNS server for container names, on its tunnel address only */
#ifndef GANGWAY_DNS_H
#define GANGWAY_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "names.h"
#include "prefix.h"

#define DNS_PORT		53
#define DNS_MAX_QUERY		4096	/* bytes of a query we read (TCP too) */
#define DNS_MAX_REPLY		65535
#define DNS_UDP_DEFAULT		512	/* without EDNS */
#define DNS_UDP_MAX		1232	/* what we offer with EDNS (DNS flag day 2020) */
#define DNS_MAX_ANSWERS		32	/* records in one answer */
#define DNS_MAX_TCP		8	/* TCP clients at once */

struct dns_stats {
	uint64_t queries;		/* parsed and answered */
	uint64_t nxdomain;		/* in the domain, no such name */
	uint64_t refused;		/* outside the domain */
	uint64_t malformed;		/* dropped, or answered FORMERR */
	uint64_t truncated;		/* answered with TC over UDP */
};

struct dns_answerer;

/* What answers for table n (its domain): NULL + errno. */
struct dns_answerer *dns_answerer_new(struct names *n);
void dns_answerer_free(struct dns_answerer *a);
/*
 * Answer one query (q, qlen bytes as received) into out (size bytes);
 * max_udp is 0 over TCP, else the UDP payload limit before the query's
 * EDNS says more. Returns the reply's length, or -1 to send nothing (a
 * response, or too short to answer). Counts into the answerer's stats.
 */
int dns_answer(struct dns_answerer *a, const uint8_t *q, size_t qlen, uint8_t *out, size_t size,
	       size_t max_udp);
const struct dns_stats *dns_answerer_stats(const struct dns_answerer *a);

/* A query's question as read without ldns (dns_question_read). */
struct dns_question {
	const uint8_t *name;		/* the name's wire form, inside the query */
	size_t name_len;		/* its final 0 included */
	uint16_t type, cls;
	bool edns;			/* an OPT record came along... */
	uint16_t udp_size;		/* ...offering this much (not 0) */
};

/*
 * Read the question of a query in its common shape, with a bounded
 * reader and no allocation: a QUERY with one question whose name is not
 * compressed, no answer or authority records, at most one additional
 * record, an OPT with the root as its owner and a UDP size, and nothing
 * after. ldns reads every such message without error and to the same
 * fields (fuzz_dns checks it). Returns true for that shape; anything
 * else (false) is for ldns_wire2pkt to judge.
 */
bool dns_question_read(const uint8_t *q, size_t len, struct dns_question *out);

struct dns_server;

/*
 * Serve UDP and TCP on port at each of addrs (host addresses: the tunnel's
 * own), answering from n. The addresses need not exist yet (IP_FREEBIND).
 * NULL + errno (logged) when a socket cannot be bound.
 */
struct dns_server *dns_start(struct loop *loop, struct names *n, const struct prefix *addrs,
			     size_t n_addrs, uint16_t port);
void dns_stop(struct dns_server *s);
const struct dns_stats *dns_stats(const struct dns_server *s);

#endif
