/* test_wg.c - WireGuard engines wired back to back in memory, with a fake clock */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "cookie.h"
#include "crypto.h"
#include "noise.h"
#include "pool.h"
#include "prefix.h"
#include "replay.h"
#include "testhooks/wg_hooks.h"
#include "wg.h"

/*
 * The network: nodes 0..2, node i has UDP address 192.0.2.(i+1):(51820+i)
 * (or 52820+i after it "roams") and tunnel addresses 10.0.0.(i+1) and
 * fd00::(i+1). Datagrams go through a FIFO "wire" that the test pumps, so
 * no engine is ever re-entered from its own callbacks. A filter may drop
 * datagrams; every datagram sent is also logged for inspection.
 */
#define NODES		3
#define BASE_PORT	51820
#define ROAM_PORT	52820
#define WIRE_MAX	4096
#define LOG_MAX		8192
#define PKT_MAX		2048
#define SEQ_MAX		20000
#define SEC		WG_NSEC
#define MS		(WG_NSEC / 1000)
#define JITTER		(WG_NSEC / 3)	/* most retransmit jitter, 333 ms */

struct wire_pkt {
	int from, to;			/* node indices, to = -1 if nobody */
	struct wg_endpoint src;
	uint64_t at;
	size_t len;
	uint8_t buf[PKT_MAX];
};

struct net;

struct node {
	struct net *net;
	int id;
	struct wg_device *dev;
	struct pool *pool;		/* opt_workers > 0 */
	uint8_t priv[32], pub[32];
	struct wg_endpoint addr;	/* where it sends from */
	struct wg_peer *peer[NODES];	/* its peer object for node j */

	unsigned int sends;
	unsigned int delivered;
	unsigned int events[4];
	struct wg_peer *last_event_peer;
	uint8_t last_pkt[PKT_MAX];
	size_t last_len;
	struct wg_peer *last_from;
	uint16_t seen[NODES][SEQ_MAX];	/* deliveries per (sender, seq) */
	uint32_t order[SEQ_MAX];	/* sequence numbers in delivery order */
	unsigned int n_order;
};

/*
 * Set before net_new(): devices get a pool of opt_workers threads, and
 * with opt_batch pump() hands each run of datagrams to one node to
 * wg_device_rx_batch() instead of one wg_device_rx() call each.
 */
static unsigned int opt_workers;
static bool opt_batch;
#define BATCH_MAX	64

struct net {
	struct node n[NODES];
	int nodes;
	uint64_t now;
	struct wire_pkt *wire;
	size_t w_head, w_len;
	struct wire_pkt *log;
	size_t log_len;
	bool (*drop)(struct net *net, const struct wire_pkt *p);
	unsigned int dropped;
};

static uint16_t ep_port(const struct wg_endpoint *ep)
{
	return ntohs(ep->in.sin_port);
}

static int node_of_port(uint16_t port)
{
	if (port >= BASE_PORT && port < BASE_PORT + NODES)
		return port - BASE_PORT;
	if (port >= ROAM_PORT && port < ROAM_PORT + NODES)
		return port - ROAM_PORT;
	return -1;
}

static void set_ep(struct wg_endpoint *ep, int node, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->in.sin_family = AF_INET;
	ep->in.sin_port = htons(port);
	ep->in.sin_addr.s_addr = htonl(0xc0000201u + (uint32_t)node);
}

static int cb_send(void *ctx, const struct wg_endpoint *to, const uint8_t *buf,
		   size_t len)
{
	struct node *nd = ctx;
	struct net *net = nd->net;
	struct wire_pkt *p;

	assert_true(len <= PKT_MAX);
	assert_true(net->w_len < WIRE_MAX);
	nd->sends++;
	p = &net->wire[(net->w_head + net->w_len++) % WIRE_MAX];
	p->from = nd->id;
	p->to = to->sa.sa_family == AF_INET ? node_of_port(ep_port(to)) : -1;
	p->src = nd->addr;
	p->at = net->now;
	p->len = len;
	memcpy(p->buf, buf, len);
	if (net->log_len < LOG_MAX)
		net->log[net->log_len++] = *p;
	return 0;
}

static int cb_deliver(void *ctx, struct wg_peer *from, const uint8_t *pkt, size_t len)
{
	struct node *nd = ctx;
	int j;

	assert_true(len <= PKT_MAX);
	nd->delivered++;
	memcpy(nd->last_pkt, pkt, len);
	nd->last_len = len;
	nd->last_from = from;
	/* our test packets carry (sender node, sequence) after the IP header */
	for (j = 0; j < NODES; j++) {
		if (nd->peer[j] == from && len >= 28) {
			size_t off = (pkt[0] >> 4) == 6 ? 40 : 20;
			uint32_t seq;

			if (len < off + 8)
				break;
			seq = (uint32_t)pkt[off] << 24 | (uint32_t)pkt[off + 1] << 16 |
			      (uint32_t)pkt[off + 2] << 8 | pkt[off + 3];
			if (seq < SEQ_MAX)
				nd->seen[j][seq]++;
			if (nd->n_order < SEQ_MAX)
				nd->order[nd->n_order++] = seq;
		}
	}
	return 0;
}

static void cb_event(void *ctx, struct wg_peer *peer, enum wg_event ev)
{
	struct node *nd = ctx;

	assert_true((unsigned int)ev < 4);
	nd->events[ev]++;
	nd->last_event_peer = peer;
}

static const struct wg_ops ops = {
	.send = cb_send,
	.deliver = cb_deliver,
	.event = cb_event,
};

static void allow(struct wg_peer *peer, const char *s)
{
	struct prefix p;

	assert_int_equal(prefix_parse(&p, s, false), 0);
	assert_int_equal(wg_peer_allow(peer, &p), 0);
}

/* a gets a peer for b; with_ep: a knows where b is */
static void link_nodes(struct net *net, int a, int b, bool with_ep)
{
	struct node *na = &net->n[a], *nb = &net->n[b];
	char s[64];

	na->peer[b] = wg_peer_new(na->dev, nb->pub, NULL);
	assert_non_null(na->peer[b]);
	snprintf(s, sizeof(s), "10.0.0.%d/32", b + 1);
	allow(na->peer[b], s);
	snprintf(s, sizeof(s), "fd00::%d/128", b + 1);
	allow(na->peer[b], s);
	if (with_ep) {
		struct wg_endpoint ep;

		set_ep(&ep, b, BASE_PORT + b);
		wg_peer_set_endpoint(na->peer[b], &ep);
	}
}

static void node_start(struct net *net, int i, const struct wg_timers *t)
{
	struct node *nd = &net->n[i];

	nd->dev = wg_device_new(nd->priv, &ops, nd);
	assert_non_null(nd->dev);
	if (t)
		wg_device_set_timers(nd->dev, t);
	if (opt_workers) {
		pool_free(nd->pool);
		nd->pool = pool_new(opt_workers);
		assert_non_null(nd->pool);
		assert_int_equal(pool_workers(nd->pool), opt_workers);
		assert_int_equal(wg_device_set_pool(nd->dev, nd->pool), 0);
	}
	wg_device_public_key(nd->dev, nd->pub);
	memset(nd->peer, 0, sizeof(nd->peer));
}

static struct net *net_new(int nodes, const struct wg_timers *t)
{
	struct net *net = calloc(1, sizeof(*net));
	int i;

	assert_non_null(net);
	net->wire = calloc(WIRE_MAX, sizeof(*net->wire));
	net->log = calloc(LOG_MAX, sizeof(*net->log));
	assert_non_null(net->wire);
	assert_non_null(net->log);
	net->nodes = nodes;
	net->now = 1000 * SEC;
	for (i = 0; i < nodes; i++) {
		struct node *nd = &net->n[i];

		nd->net = net;
		nd->id = i;
		assert_int_equal(crypto_x25519_genkey(nd->priv), 0);
		set_ep(&nd->addr, i, BASE_PORT + i);
		node_start(net, i, t);
	}
	return net;
}

static void net_free(struct net *net)
{
	int i;

	for (i = 0; i < net->nodes; i++) {
		wg_device_free(net->n[i].dev);
		pool_free(net->n[i].pool);
	}
	free(net->wire);
	free(net->log);
	free(net);
}

/* Two nodes that know each other; 0 knows where 1 is, 1 learns it. */
static struct net *pair(const struct wg_timers *t)
{
	struct net *net = net_new(2, t);

	link_nodes(net, 0, 1, true);
	link_nodes(net, 1, 0, false);
	return net;
}

/* pump() with opt_batch: runs of datagrams to one node, copied off the wire. */
static unsigned int pump_batches(struct net *net)
{
	static uint8_t bufs[BATCH_MAX][PKT_MAX];
	struct wg_datagram d[BATCH_MAX];
	unsigned int n = 0, k;
	int to;

	while (net->w_len) {
		to = -1;
		k = 0;
		while (net->w_len && k < BATCH_MAX) {
			const struct wire_pkt *p = &net->wire[net->w_head];

			if (p->to < 0 || p->to >= net->nodes || !net->n[p->to].dev ||
			    (net->drop && net->drop(net, p))) {
				net->dropped++;
			} else if (to >= 0 && p->to != to) {
				break;
			} else {
				to = p->to;
				memcpy(bufs[k], p->buf, p->len);
				d[k].data = bufs[k];
				d[k].len = p->len;
				d[k].from = p->src;
				k++;
			}
			net->w_head = (net->w_head + 1) % WIRE_MAX;
			net->w_len--;
			n++;
		}
		if (k)
			wg_device_rx_batch(net->n[to].dev, d, k, net->now);
	}
	return n;
}

static unsigned int pump(struct net *net)
{
	unsigned int n = 0;

	if (opt_batch)
		return pump_batches(net);
	while (net->w_len) {
		struct wire_pkt p = net->wire[net->w_head];

		net->w_head = (net->w_head + 1) % WIRE_MAX;
		net->w_len--;
		n++;
		if (p.to < 0 || p.to >= net->nodes || !net->n[p.to].dev ||
		    (net->drop && net->drop(net, &p))) {
			net->dropped++;
			continue;
		}
		wg_device_rx(net->n[p.to].dev, &p.src, p.buf, p.len, net->now);
	}
	return n;
}

static uint64_t tick_all(struct net *net)
{
	uint64_t next;
	int i, guard = 0;

	do {
		next = UINT64_MAX;
		for (i = 0; i < net->nodes; i++) {
			uint64_t d;

			if (!net->n[i].dev)
				continue;
			d = wg_device_tick(net->n[i].dev, net->now);
			if (d < next)
				next = d;
		}
		assert_true(++guard < 1000);
	} while (pump(net));
	return next;
}

static void run_until(struct net *net, uint64_t t)
{
	unsigned int guard = 0;

	for (;;) {
		uint64_t next = tick_all(net);

		if (next > t)
			break;
		assert_true(next >= net->now);
		net->now = next;
		assert_true(++guard < 1000000);
	}
	net->now = t;
	tick_all(net);
}

static void run_for(struct net *net, uint64_t dt)
{
	run_until(net, net->now + dt);
}

/* IPv4 (or IPv6 with v6) packet from node src to node dst carrying seq. */
static size_t mk_pkt(uint8_t *pkt, int src, int dst, uint32_t seq, size_t len, bool v6)
{
	size_t off = v6 ? 40 : 20, i;

	assert_true(len >= off + 8 && len <= 1500);
	memset(pkt, 0, off);
	if (v6) {
		pkt[0] = 0x60;
		pkt[4] = (uint8_t)((len - 40) >> 8);
		pkt[5] = (uint8_t)(len - 40);
		pkt[6] = 17;
		pkt[7] = 64;
		pkt[8] = 0xfd;
		pkt[23] = (uint8_t)(src + 1);
		pkt[24] = 0xfd;
		pkt[39] = (uint8_t)(dst + 1);
	} else {
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)(len >> 8);
		pkt[3] = (uint8_t)len;
		pkt[8] = 64;
		pkt[9] = 17;
		pkt[12] = 10;
		pkt[15] = (uint8_t)(src + 1);
		pkt[16] = 10;
		pkt[19] = (uint8_t)(dst + 1);
	}
	pkt[off] = (uint8_t)(seq >> 24);
	pkt[off + 1] = (uint8_t)(seq >> 16);
	pkt[off + 2] = (uint8_t)(seq >> 8);
	pkt[off + 3] = (uint8_t)seq;
	for (i = off + 4; i < len; i++)
		pkt[i] = (uint8_t)(i * 7 + seq);
	return len;
}

/* Send a packet from node a to node b through a's engine. */
static int tx(struct net *net, int a, int b, uint32_t seq, size_t len)
{
	uint8_t buf[WG_HEADROOM + 1500 + WG_TAILROOM];

	mk_pkt(buf + WG_HEADROOM, a, b, seq, len, false);
	return wg_device_tx(net->n[a].dev, buf + WG_HEADROOM, len, net->now);
}

static int tx_raw(struct net *net, int a, const uint8_t *pkt, size_t len)
{
	uint8_t buf[WG_HEADROOM + 1500 + WG_TAILROOM];

	memcpy(buf + WG_HEADROOM, pkt, len);
	return wg_device_tx(net->n[a].dev, buf + WG_HEADROOM, len, net->now);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Number of logged datagrams of a type from node `from` (-1: any). */
static unsigned int logged(struct net *net, int from, uint32_t type)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < net->log_len; i++)
		if ((from < 0 || net->log[i].from == from) && net->log[i].len >= 4 &&
		    le32(net->log[i].buf) == type)
			n++;
	return n;
}

/* The k-th logged datagram of a type from a node, or NULL. */
static const struct wire_pkt *log_find(struct net *net, int from, uint32_t type,
				       unsigned int k)
{
	size_t i;

	for (i = 0; i < net->log_len; i++)
		if (net->log[i].from == from && le32(net->log[i].buf) == type && !k--)
			return &net->log[i];
	return NULL;
}

static const struct wire_pkt *log_last(struct net *net, int from, uint32_t type)
{
	const struct wire_pkt *p = NULL;
	size_t i;

	for (i = 0; i < net->log_len; i++)
		if (net->log[i].from == from && le32(net->log[i].buf) == type)
			p = &net->log[i];
	return p;
}

static const struct wg_peer_stats *pst(struct net *net, int a, int b)
{
	return wg_peer_stats(net->n[a].peer[b]);
}

static uint64_t ddrop(struct net *net, int a, enum wg_drop d)
{
	return wg_device_stats(net->n[a].dev)->drops[d];
}

static void keypairs(struct net *net, int a, int b, struct wg_peer_keypairs *k)
{
	wg_peer_keypairs(net->n[a].peer[b], k);
}

/* Handshake between 0 and 1; 0's keepalive confirms the session to 1. */
static void connect_pair(struct net *net)
{
	wg_peer_connect(net->n[0].peer[1], net->now);
	tick_all(net);
	assert_int_equal(net->n[0].events[WG_EV_HANDSHAKE_DONE], 1);
	assert_int_equal(net->n[1].events[WG_EV_HANDSHAKE_DONE], 1);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_handshake_and_data(void **state)
{
	struct net *net = pair(NULL);
	struct wg_peer_keypairs k0, k1;
	struct wg_endpoint ep;
	const struct wire_pkt *p;
	uint8_t pkt[100];

	(void)state;
	assert_false(wg_peer_get_endpoint(net->n[1].peer[0], &ep));
	wg_peer_connect(net->n[0].peer[1], net->now);
	/* a second connect while one is in flight sends nothing more */
	wg_peer_connect(net->n[0].peer[1], net->now);
	assert_int_equal(net->w_len, 1);
	tick_all(net);

	/* 148-byte initiation, 92-byte response, 32-byte keepalive */
	assert_int_equal(logged(net, 0, WG_MSG_INITIATION), 1);
	assert_int_equal(logged(net, 1, WG_MSG_RESPONSE), 1);
	assert_int_equal(logged(net, 0, WG_MSG_DATA), 1);
	assert_int_equal(log_find(net, 0, WG_MSG_INITIATION, 0)->len, WG_INITIATION_LEN);
	assert_int_equal(log_find(net, 1, WG_MSG_RESPONSE, 0)->len, WG_RESPONSE_LEN);
	assert_int_equal(log_find(net, 0, WG_MSG_DATA, 0)->len, WG_DATA_MIN_LEN);
	assert_int_equal(net->n[0].events[WG_EV_HANDSHAKE_DONE], 1);
	/* the keepalive confirmed the responder's session */
	assert_int_equal(net->n[1].events[WG_EV_HANDSHAKE_DONE], 1);
	assert_int_equal(net->n[1].events[WG_EV_ENDPOINT_CHANGED], 1);
	assert_true(wg_peer_get_endpoint(net->n[1].peer[0], &ep));
	assert_int_equal(ep_port(&ep), BASE_PORT);
	assert_int_equal(pst(net, 0, 1)->handshakes, 1);
	assert_int_equal(pst(net, 1, 0)->handshakes, 1);
	assert_int_equal(pst(net, 0, 1)->last_handshake_ns, net->now);

	keypairs(net, 0, 1, &k0);
	keypairs(net, 1, 0, &k1);
	assert_true(k0.current.present && k0.current.initiator);
	assert_false(k0.previous.present || k0.next.present);
	assert_true(k1.current.present && !k1.current.initiator);
	assert_false(k1.previous.present || k1.next.present);
	assert_int_equal(k0.current.remote_index, k1.current.local_index);
	assert_int_equal(k1.current.remote_index, k0.current.local_index);
	/* the handshake's sender indices are the sessions' receiver indices */
	assert_int_equal(le32(log_find(net, 0, WG_MSG_INITIATION, 0)->buf + 4),
			 k0.current.local_index);
	assert_int_equal(le32(log_find(net, 1, WG_MSG_RESPONSE, 0)->buf + 4),
			 k1.current.local_index);

	/* data both ways, padded to 16, the right bytes delivered */
	assert_int_equal(tx(net, 0, 1, 1, 84), 0);
	tick_all(net);
	assert_int_equal(net->n[1].delivered, 1);
	mk_pkt(pkt, 0, 1, 1, 84, false);
	assert_int_equal(net->n[1].last_len, 84);
	assert_memory_equal(net->n[1].last_pkt, pkt, 84);
	assert_ptr_equal(net->n[1].last_from, net->n[1].peer[0]);
	p = log_last(net, 0, WG_MSG_DATA);
	assert_int_equal(p->len, 16 + 96 + 16);
	assert_int_equal(le32(p->buf + 4), k1.current.local_index);
	assert_int_equal(le64(p->buf + 8), 1);	/* the keepalive was 0 */

	assert_int_equal(tx(net, 1, 0, 2, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[0].delivered, 1);
	mk_pkt(pkt, 1, 0, 2, 100, false);
	assert_memory_equal(net->n[0].last_pkt, pkt, 100);

	/* IPv6 inside */
	{
		uint8_t b6[200];

		mk_pkt(b6, 0, 1, 3, 200, true);
		assert_int_equal(tx_raw(net, 0, b6, 200), 0);
		tick_all(net);
		assert_int_equal(net->n[1].delivered, 2);
		assert_int_equal(net->n[1].last_len, 200);
		assert_memory_equal(net->n[1].last_pkt, b6, 200);
	}
	assert_int_equal(pst(net, 0, 1)->tx_packets, 2);
	assert_int_equal(pst(net, 0, 1)->tx_bytes, 284);
	assert_int_equal(pst(net, 1, 0)->rx_packets, 2);
	assert_int_equal(pst(net, 1, 0)->rx_bytes, 284);
	net_free(net);
}

static void test_padding_and_mtu(void **state)
{
	static const struct { size_t len, mtu, wire; } cases[] = {
		{ 28, 1420, 32 }, { 32, 1420, 32 }, { 33, 1420, 48 },
		{ 1419, 1420, 1420 }, { 1420, 1420, 1420 }, { 1405, 1420, 1408 },
		{ 1390, 1400, 1392 }, { 1399, 1400, 1400 }, { 1401, 0, 1408 },
	};
	struct net *net = pair(NULL);
	size_t i;

	(void)state;
	connect_pair(net);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct wire_pkt *p;

		wg_device_set_mtu(net->n[0].dev, (unsigned int)cases[i].mtu);
		assert_int_equal(tx(net, 0, 1, (uint32_t)i, cases[i].len), 0);
		p = log_last(net, 0, WG_MSG_DATA);
		if (p->len != 32 + cases[i].wire)
			fail_msg("len %zu mtu %zu: %zu on the wire, want %zu", cases[i].len,
				 cases[i].mtu, p->len, 32 + cases[i].wire);
		tick_all(net);
		assert_int_equal(net->n[1].last_len, cases[i].len);
	}
	net_free(net);
}

static void test_keepalive(void **state)
{
	struct net *net = pair(NULL);
	unsigned int before0, before1;
	uint64_t t0;

	(void)state;
	connect_pair(net);
	run_for(net, 30 * SEC);		/* quiet: no keepalives without data */
	before0 = logged(net, 0, WG_MSG_DATA);
	before1 = logged(net, 1, WG_MSG_DATA);
	run_for(net, 30 * SEC);
	assert_int_equal(logged(net, 0, WG_MSG_DATA), before0);
	assert_int_equal(logged(net, 1, WG_MSG_DATA), before1);

	/* 0 sends data, 1 says nothing: 1 sends a keepalive after 10 s */
	t0 = net->now;
	assert_int_equal(tx(net, 0, 1, 1, 100), 0);
	tick_all(net);
	run_until(net, t0 + 10 * SEC - 1);
	assert_int_equal(logged(net, 1, WG_MSG_DATA), before1);
	run_until(net, t0 + 10 * SEC);
	assert_int_equal(logged(net, 1, WG_MSG_DATA), before1 + 1);
	assert_int_equal(log_last(net, 1, WG_MSG_DATA)->len, WG_DATA_MIN_LEN);
	/* keepalives are not delivered as packets */
	assert_int_equal(net->n[0].delivered, 0);
	/* only one */
	run_for(net, 30 * SEC);
	assert_int_equal(logged(net, 1, WG_MSG_DATA), before1 + 1);

	/* if 1 answers with data in time, it sends no keepalive */
	t0 = net->now;
	assert_int_equal(tx(net, 0, 1, 2, 100), 0);
	tick_all(net);
	run_until(net, t0 + 5 * SEC);
	assert_int_equal(tx(net, 1, 0, 3, 100), 0);
	run_until(net, t0 + 40 * SEC);
	assert_int_equal(logged(net, 1, WG_MSG_DATA), before1 + 2);
	/* ... but 0 received data and said nothing, so 0 sends one */
	assert_int_equal(logged(net, 0, WG_MSG_DATA), before0 + 3);
	assert_int_equal(log_last(net, 0, WG_MSG_DATA)->len, WG_DATA_MIN_LEN);
	assert_int_equal(log_last(net, 0, WG_MSG_DATA)->at, t0 + 15 * SEC);
	net_free(net);
}

static bool drop_from_1(struct net *net, const struct wire_pkt *p)
{
	(void)net;
	return p->from == 1;
}

/* Sent data, heard nothing back for Keepalive + Rekey-Timeout: new handshake. */
static void test_new_handshake_when_unanswered(void **state)
{
	struct net *net = pair(NULL);
	const struct wire_pkt *p;
	uint64_t t0;

	(void)state;
	connect_pair(net);
	run_for(net, 20 * SEC);
	net->drop = drop_from_1;
	t0 = net->now;
	assert_int_equal(tx(net, 0, 1, 1, 100), 0);
	run_until(net, t0 + 15 * SEC - 1);
	assert_int_equal(logged(net, 0, WG_MSG_INITIATION), 1);
	run_until(net, t0 + 15 * SEC + JITTER + 1);
	assert_int_equal(logged(net, 0, WG_MSG_INITIATION), 2);
	p = log_last(net, 0, WG_MSG_INITIATION);
	assert_true(p->at >= t0 + 15 * SEC && p->at <= t0 + 15 * SEC + JITTER);
	net_free(net);
}

static void test_queue_before_handshake(void **state)
{
	struct net *net = pair(NULL);
	unsigned int i, ok = 0, full = 0;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_int_equal(tx(net, 0, 1, i, 60 + i * 10), 0);
	/* one initiation, no data yet */
	assert_int_equal(net->w_len, 1);
	assert_int_equal(logged(net, 0, WG_MSG_DATA), 0);
	tick_all(net);
	assert_int_equal(net->n[1].delivered, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(net->n[1].seen[0][i], 1);
	/* the queue went out instead of a keepalive, in order */
	assert_int_equal(logged(net, 0, WG_MSG_DATA), 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(le64(log_find(net, 0, WG_MSG_DATA, i)->buf + 8), i);
	assert_int_equal(net->n[1].events[WG_EV_HANDSHAKE_DONE], 1);

	/* the queue is bounded: a peer that never answers */
	net_free(net);
	net = pair(NULL);
	net->drop = drop_from_1;
	for (i = 0; i < WG_QUEUE_PACKETS + 50; i++) {
		int r = tx(net, 0, 1, i, 200);

		if (r == 0)
			ok++;
		else if (r == -ENOBUFS)
			full++;
	}
	assert_int_equal(ok, WG_QUEUE_PACKETS);
	assert_int_equal(full, 50);
	assert_int_equal(pst(net, 0, 1)->drops[WG_DROP_QUEUE_FULL], 50);
	/* the responder comes back: exactly the queued ones arrive */
	net->drop = NULL;
	run_for(net, 6 * SEC);
	assert_int_equal(net->n[1].delivered, WG_QUEUE_PACKETS);
	for (i = 0; i < WG_QUEUE_PACKETS; i++)
		assert_int_equal(net->n[1].seen[0][i], 1);
	net_free(net);
}

/* The responder queues too, until the initiator confirms its session. */
static void test_responder_queue(void **state)
{
	struct net *net = pair(NULL);

	(void)state;
	/* 1 has no endpoint for 0 yet: it queues, and cannot start anything */
	assert_int_equal(tx(net, 1, 0, 7, 100), 0);
	assert_int_equal(net->w_len, 0);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_NO_ENDPOINT], 1);
	/* 0 connects: 1 answers, 0 confirms with its keepalive, 1 flushes */
	wg_peer_connect(net->n[0].peer[1], net->now);
	tick_all(net);
	assert_int_equal(net->n[0].delivered, 1);
	assert_int_equal(net->n[0].seen[1][7], 1);
	net_free(net);
}

static void test_allowed_ips_receive(void **state)
{
	struct net *net = pair(NULL);
	uint8_t pkt[100];

	(void)state;
	connect_pair(net);
	/* 0 sends a packet claiming to come from 10.0.0.9: 1 drops it */
	mk_pkt(pkt, 8, 1, 1, 100, false);
	assert_int_equal(tx_raw(net, 0, pkt, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[1].delivered, 0);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_NOT_ALLOWED], 1);
	/* the same over IPv6 */
	mk_pkt(pkt, 8, 1, 2, 100, true);
	assert_int_equal(tx_raw(net, 0, pkt, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[1].delivered, 0);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_NOT_ALLOWED], 2);
	/* an inner length beyond the datagram is malformed */
	mk_pkt(pkt, 0, 1, 3, 100, false);
	pkt[2] = 0x05;
	assert_int_equal(tx_raw(net, 0, pkt, 100), 0);
	tick_all(net);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_BAD_INNER], 1);
	/* the genuine source passes; the padding is stripped by the IP length */
	mk_pkt(pkt, 0, 1, 4, 100, false);
	pkt[3] = 90;
	assert_int_equal(tx_raw(net, 0, pkt, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[1].delivered, 1);
	assert_int_equal(net->n[1].last_len, 90);
	/* after disallowing, the genuine source is refused too */
	{
		struct prefix p;

		assert_int_equal(prefix_parse(&p, "10.0.0.1/32", true), 0);
		assert_int_equal(wg_peer_disallow(net->n[1].peer[0], &p), 0);
	}
	mk_pkt(pkt, 0, 1, 5, 100, false);
	assert_int_equal(tx_raw(net, 0, pkt, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[1].delivered, 1);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_NOT_ALLOWED], 3);
	net_free(net);
}

static void test_three_peers(void **state)
{
	struct net *net = net_new(3, NULL);
	uint8_t pkt[100];

	(void)state;
	link_nodes(net, 0, 1, true);
	link_nodes(net, 0, 2, true);
	link_nodes(net, 1, 0, false);
	link_nodes(net, 2, 0, false);
	link_nodes(net, 1, 2, true);	/* 1 and 2 know each other too */
	link_nodes(net, 2, 1, true);

	/* peer selection by destination */
	assert_int_equal(tx(net, 0, 1, 1, 100), 0);
	assert_int_equal(tx(net, 0, 2, 2, 100), 0);
	assert_int_equal(net->wire[net->w_head].to, 1);
	assert_int_equal(net->wire[(net->w_head + 1) % WIRE_MAX].to, 2);
	tick_all(net);
	assert_int_equal(net->n[1].delivered, 1);
	assert_int_equal(net->n[1].seen[0][1], 1);
	assert_int_equal(net->n[2].delivered, 1);
	assert_int_equal(net->n[2].seen[0][2], 1);
	/* nobody owns 10.0.0.99 */
	mk_pkt(pkt, 0, 98, 3, 100, false);
	assert_int_equal(tx_raw(net, 0, pkt, 100), -EHOSTUNREACH);
	assert_int_equal(ddrop(net, 0, WG_DROP_NO_PEER), 1);
	/* not an IP packet */
	memset(pkt, 0, sizeof(pkt));
	assert_int_equal(tx_raw(net, 0, pkt, 100), -EINVAL);
	assert_int_equal(ddrop(net, 0, WG_DROP_BAD_INNER), 1);

	/* replies come back from the right peers */
	assert_int_equal(tx(net, 1, 0, 4, 100), 0);
	assert_int_equal(tx(net, 2, 0, 5, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[0].seen[1][4], 1);
	assert_int_equal(net->n[0].seen[2][5], 1);

	/* 2 cannot speak for 1: its packet with 1's source is dropped at 0 */
	mk_pkt(pkt, 1, 0, 6, 100, false);
	assert_int_equal(tx_raw(net, 2, pkt, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[0].seen[1][6], 0);
	assert_int_equal(pst(net, 0, 2)->drops[WG_DROP_NOT_ALLOWED], 1);

	/* 1 and 2 talk directly, then everybody keeps working */
	assert_int_equal(tx(net, 1, 2, 7, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[2].seen[1][7], 1);
	assert_int_equal(tx(net, 0, 1, 8, 100), 0);
	assert_int_equal(tx(net, 0, 2, 9, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[1].seen[0][8], 1);
	assert_int_equal(net->n[2].seen[0][9], 1);

	/* removing a peer removes its routes and sessions */
	wg_peer_remove(net->n[0].peer[2]);
	net->n[0].peer[2] = NULL;
	assert_int_equal(tx(net, 0, 2, 10, 100), -EHOSTUNREACH);
	assert_int_equal(tx(net, 2, 0, 11, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[0].delivered, 2);
	assert_true(ddrop(net, 0, WG_DROP_NO_KEYPAIR) >= 1);
	net_free(net);
}

static void test_replay(void **state)
{
	struct net *net = pair(NULL);
	struct wire_pkt copy;

	(void)state;
	connect_pair(net);
	assert_int_equal(tx(net, 0, 1, 1, 100), 0);
	copy = net->wire[net->w_head];
	tick_all(net);
	assert_int_equal(net->n[1].seen[0][1], 1);
	wg_device_rx(net->n[1].dev, &copy.src, copy.buf, copy.len, net->now);
	assert_int_equal(net->n[1].seen[0][1], 1);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_REPLAY], 1);
	/* and still, after many newer ones */
	{
		uint32_t i;
		struct wire_pkt again = copy;

		for (i = 2; i < 100; i++)
			assert_int_equal(tx(net, 0, 1, i, 100), 0);
		tick_all(net);
		wg_device_rx(net->n[1].dev, &again.src, again.buf, again.len, net->now);
	}
	assert_int_equal(net->n[1].seen[0][1], 1);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_REPLAY], 2);
	assert_int_equal(net->n[1].sends, 1);	/* its response only */
	net_free(net);
}

static void test_bit_flip(void **state)
{
	struct net *net = pair(NULL);
	struct wire_pkt good, bad;
	size_t pos[] = { 8, 15, 16, 40, 100, 131 };
	size_t i;

	(void)state;
	connect_pair(net);
	assert_int_equal(tx(net, 0, 1, 1, 100), 0);
	good = net->wire[net->w_head];
	net->w_len = 0;
	for (i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		bad = good;
		assert_true(pos[i] < bad.len);
		bad.buf[pos[i]] ^= 0x04;
		wg_device_rx(net->n[1].dev, &bad.src, bad.buf, bad.len, net->now);
	}
	assert_int_equal(net->n[1].delivered, 0);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_BAD_TAG], 6);
	/* the window did not move: the genuine packet is accepted after them */
	wg_device_rx(net->n[1].dev, &good.src, good.buf, good.len, net->now);
	assert_int_equal(net->n[1].seen[0][1], 1);
	/* a flipped receiver index names nobody */
	bad = good;
	bad.buf[4] ^= 1;
	wg_device_rx(net->n[1].dev, &bad.src, bad.buf, bad.len, net->now);
	assert_int_equal(ddrop(net, 1, WG_DROP_NO_KEYPAIR), 1);
	assert_int_equal(net->n[1].sends, 1);
	net_free(net);
}

static uint64_t xorshift_state = 88172645463325252ULL;

static uint64_t xorshift(void)
{
	xorshift_state ^= xorshift_state << 13;
	xorshift_state ^= xorshift_state >> 7;
	xorshift_state ^= xorshift_state << 17;
	return xorshift_state;
}

/* Garbage of every kind makes the responder say nothing and keep nothing. */
static void test_silence_to_strangers(void **state)
{
	struct net *net = pair(NULL);
	struct node *b = &net->n[1];
	struct wg_peer_keypairs k;
	struct wg_endpoint stranger, ep;
	struct cookie_maker cm;
	uint8_t buf[WG_MAX_DATAGRAM + 16];
	const struct wire_pkt *init;
	uint64_t total = 0;
	size_t len, i;
	int d, round;

	(void)state;
	set_ep(&stranger, 2, 4444);
	/* random datagrams of every length up to 300, and some huge ones */
	for (round = 0; round < 20000; round++) {
		len = round < 300 ? (size_t)round : xorshift() % 300;
		if (round % 1000 == 999)
			len = sizeof(buf) - (size_t)(xorshift() % 64);
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)xorshift();
		if (len >= 4 && round % 2) {
			/* a plausible header */
			buf[0] = (uint8_t)(1 + round / 2 % 4);
			buf[1] = buf[2] = buf[3] = 0;
		}
		if (round % 7 == 0 && len >= 4)
			len = (const size_t[]){ 148, 92, 64, 32, 48 }[round / 7 % 5];
		wg_device_rx(b->dev, &stranger, buf, len, net->now);
	}

	/* a real initiation, truncated, extended, and with mac1 forged */
	wg_peer_connect(net->n[0].peer[1], net->now);
	init = log_find(net, 0, WG_MSG_INITIATION, 0);
	assert_non_null(init);
	net->w_len = 0;
	for (len = 0; len < init->len + 20; len++) {
		if (len == init->len)
			continue;
		memcpy(buf, init->buf, init->len);
		wg_device_rx(b->dev, &stranger, buf, len, net->now);
	}
	for (i = 0; i < init->len; i++) {
		memcpy(buf, init->buf, init->len);
		buf[i] ^= 0x20;
		if (i >= 132)
			continue;	/* mac2 is not looked at when not under load */
		wg_device_rx(b->dev, &stranger, buf, init->len, net->now);
	}
	/* mac1 right (anyone with the public key can), the rest garbage */
	cookie_maker_init(&cm, b->pub);
	for (round = 0; round < 50; round++) {
		for (i = 0; i < 148; i++)
			buf[i] = (uint8_t)xorshift();
		memcpy(buf, "\x01\0\0\0", 4);
		assert_int_equal(cookie_add_macs(&cm, buf, 148, net->now), 0);
		wg_device_rx(b->dev, &stranger, buf, 148, net->now);
		for (i = 0; i < 92; i++)
			buf[i] = (uint8_t)xorshift();
		memcpy(buf, "\x02\0\0\0", 4);
		assert_int_equal(cookie_add_macs(&cm, buf, 92, net->now), 0);
		wg_device_rx(b->dev, &stranger, buf, 92, net->now);
	}

	assert_int_equal(b->sends, 0);
	assert_int_equal(b->delivered, 0);
	assert_int_equal(b->events[WG_EV_ENDPOINT_CHANGED], 0);
	assert_false(wg_peer_get_endpoint(b->peer[0], &ep));
	keypairs(net, 1, 0, &k);
	assert_false(k.previous.present || k.current.present || k.next.present);
	assert_int_equal(wg_device_tick(b->dev, net->now), UINT64_MAX);
	for (d = 0; d < WG_DROP_MAX; d++)
		total += ddrop(net, 1, d) + pst(net, 1, 0)->drops[d];
	assert_true(total >= 20000 + 300);
	assert_true(ddrop(net, 1, WG_DROP_BAD_MAC1) > 100);
	assert_true(ddrop(net, 1, WG_DROP_HANDSHAKE) >= 50);
	assert_true(ddrop(net, 1, WG_DROP_BAD_SIZE) > 100);
	assert_true(ddrop(net, 1, WG_DROP_BAD_TYPE) > 100);
	assert_true(ddrop(net, 1, WG_DROP_NO_KEYPAIR) > 10);
	assert_false(wg_device_under_load(b->dev, net->now));
	net_free(net);
}

/* Sessions that rekey every 2 s and expire after 3 s. */
static void rekey_timers(struct wg_timers *t)
{
	wg_timers_default(t);
	t->rekey_after_time = 2 * SEC;
	t->reject_after_time = 3 * SEC;
	t->rekey_timeout = 200 * MS;
	t->keepalive_timeout = 500 * MS;
	t->rekey_attempt_time = 1500 * MS;
}

/* Neither of nodes 0 and 1 dropped anything from the other. */
static void assert_no_drops(struct net *net)
{
	for (int i = 0; i < WG_DROP_MAX; i++)
		if (pst(net, 0, 1)->drops[i] || pst(net, 1, 0)->drops[i])
			fail_msg("drop %s", wg_drop_name((enum wg_drop)i));
}

static bool saw_prev0, saw_prev1, saw_next1;

/* Look at the sessions between any two datagrams (drops nothing). */
static bool observe_keys(struct net *net, const struct wire_pkt *p)
{
	struct wg_peer_keypairs k0, k1;

	(void)p;
	wg_peer_keypairs(net->n[0].peer[1], &k0);
	wg_peer_keypairs(net->n[1].peer[0], &k1);
	saw_prev0 |= k0.previous.present;
	saw_prev1 |= k1.previous.present;
	saw_next1 |= k1.next.present;
	/* 0 initiates, so it never waits on a "next" */
	assert_false(k0.next.present);
	return false;
}

/* Rekey every 2 s while traffic flows both ways: nothing lost, keys rotate. */
static void test_rekey_under_traffic(void **state)
{
	struct wg_timers t;
	struct net *net;
	struct wg_peer_keypairs k0, k1;
	uint32_t seq, i;
	uint32_t cur_indices[64];
	unsigned int n_indices = 0;

	(void)state;
	rekey_timers(&t);
	net = pair(&t);
	connect_pair(net);
	saw_prev0 = saw_prev1 = saw_next1 = false;
	net->drop = observe_keys;

	for (seq = 1; seq < 2000; seq++) {
		assert_int_equal(tx(net, 0, 1, seq, 100 + seq % 1000), 0);
		assert_int_equal(tx(net, 1, 0, seq, 100 + seq % 700), 0);
		run_for(net, 20 * MS);
		keypairs(net, 0, 1, &k0);
		keypairs(net, 1, 0, &k1);
		assert_true(k0.current.present && k1.current.present);
		if (!n_indices || cur_indices[n_indices - 1] != k0.current.local_index) {
			assert_true(n_indices < 64);
			for (i = 0; i < n_indices; i++)
				assert_int_not_equal(cur_indices[i], k0.current.local_index);
			cur_indices[n_indices++] = k0.current.local_index;
		}
	}
	tick_all(net);
	/* 40 s of traffic, a new session about every 2 s */
	assert_in_range(pst(net, 0, 1)->handshakes, 15, 22);
	assert_int_equal(n_indices, pst(net, 0, 1)->handshakes);
	assert_true(saw_prev0 && saw_prev1 && saw_next1);
	/* every packet arrived exactly once */
	for (seq = 1; seq < 2000; seq++) {
		if (net->n[1].seen[0][seq] != 1 || net->n[0].seen[1][seq] != 1)
			fail_msg("seq %u: delivered %u / %u times", seq,
				 net->n[1].seen[0][seq], net->n[0].seen[1][seq]);
	}
	assert_no_drops(net);
	/* the responder never rekeys on time, only the initiator */
	assert_int_equal(logged(net, 1, WG_MSG_INITIATION), 0);
	net_free(net);
}

static bool drop_to_1(struct net *net, const struct wire_pkt *p)
{
	(void)net;
	return p->to == 1;
}

static void test_retransmit_and_give_up(void **state)
{
	struct net *net = pair(NULL);
	const struct wire_pkt *a, *b, *p;
	unsigned int n, i;
	uint64_t t0 = net->now;

	(void)state;
	net->drop = drop_to_1;
	assert_int_equal(tx(net, 0, 1, 1, 100), 0);
	assert_int_equal(tx(net, 0, 1, 2, 100), 0);
	run_until(net, t0 + 5 * SEC + JITTER + 1);
	assert_int_equal(logged(net, 0, WG_MSG_INITIATION), 2);
	a = log_find(net, 0, WG_MSG_INITIATION, 0);
	b = log_find(net, 0, WG_MSG_INITIATION, 1);
	assert_true(b->at >= a->at + 5 * SEC && b->at <= a->at + 5 * SEC + JITTER);
	/* a fresh ephemeral and a fresh index every time */
	assert_memory_not_equal(a->buf + 8, b->buf + 8, 32);
	assert_int_not_equal(le32(a->buf + 4), le32(b->buf + 4));
	assert_memory_not_equal(a->buf, b->buf, 148);

	/* more packets during the attempt do not make it last longer */
	run_until(net, t0 + 60 * SEC);
	assert_int_equal(tx(net, 0, 1, 3, 100), 0);
	run_until(net, t0 + 89 * SEC);
	assert_int_equal(net->n[0].events[WG_EV_HANDSHAKE_TIMEOUT], 0);
	run_until(net, t0 + 96 * SEC);
	assert_int_equal(net->n[0].events[WG_EV_HANDSHAKE_TIMEOUT], 1);
	assert_int_equal(pst(net, 0, 1)->drops[WG_DROP_TIMEOUT], 3);
	n = logged(net, 0, WG_MSG_INITIATION);
	assert_in_range(n, 17, 19);
	for (i = 1; i < n; i++) {
		uint64_t gap;

		a = log_find(net, 0, WG_MSG_INITIATION, i - 1);
		b = log_find(net, 0, WG_MSG_INITIATION, i);
		gap = b->at - a->at;
		assert_true(gap >= 5 * SEC && gap <= 5 * SEC + JITTER);
		assert_memory_not_equal(a->buf + 8, b->buf + 8, 32);
	}
	/* then silence, and the queue is gone */
	run_for(net, 200 * SEC);
	assert_int_equal(logged(net, 0, WG_MSG_INITIATION), n);
	/* a new packet starts a new attempt, and that one succeeds */
	net->drop = NULL;
	assert_int_equal(tx(net, 0, 1, 4, 100), 0);
	tick_all(net);
	p = log_last(net, 0, WG_MSG_INITIATION);
	assert_int_equal(p->at, net->now);
	assert_int_equal(net->n[1].delivered, 1);
	assert_int_equal(net->n[1].seen[0][4], 1);
	net_free(net);
}

static void test_key_erasure(void **state)
{
	struct net *net = pair(NULL);
	struct wg_peer_keypairs k;
	struct wire_pkt old;
	uint64_t t0;

	(void)state;
	connect_pair(net);
	t0 = net->now;
	assert_int_equal(tx(net, 0, 1, 1, 100), 0);
	old = net->wire[net->w_head];
	tick_all(net);
	assert_int_equal(net->n[1].seen[0][1], 1);

	/* past Reject-After-Time: no sending with the old session */
	run_until(net, t0 + 181 * SEC);
	keypairs(net, 0, 1, &k);
	assert_true(k.current.present);
	net->drop = drop_to_1;
	assert_int_equal(tx(net, 0, 1, 2, 100), 0);
	assert_int_equal(logged(net, 0, WG_MSG_INITIATION), 2);
	assert_int_equal(log_last(net, 0, WG_MSG_DATA)->at, t0);
	/* nor receiving */
	{
		struct wire_pkt again = old;

		again.buf[8] = 9;	/* another counter, same (now old) keys */
		wg_device_rx(net->n[1].dev, &again.src, again.buf, again.len, net->now);
		assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_NO_KEYPAIR], 1);
	}

	/* 3 x Reject-After-Time after the session: every key is gone */
	run_until(net, t0 + 540 * SEC - 1);
	assert_int_equal(net->n[1].events[WG_EV_SESSION_EXPIRED], 0);
	run_until(net, t0 + 540 * SEC);
	assert_int_equal(net->n[1].events[WG_EV_SESSION_EXPIRED], 1);
	keypairs(net, 1, 0, &k);
	assert_false(k.previous.present || k.current.present || k.next.present);
	/* 0 gave up its handshake at ~271 s; it expires 540 s after that */
	run_until(net, t0 + 900 * SEC);
	assert_int_equal(net->n[0].events[WG_EV_SESSION_EXPIRED], 1);
	assert_int_equal(net->n[0].events[WG_EV_HANDSHAKE_TIMEOUT], 1);
	keypairs(net, 0, 1, &k);
	assert_false(k.previous.present || k.current.present || k.next.present);
	/* the old datagram is now addressed to nobody */
	wg_device_rx(net->n[1].dev, &old.src, old.buf, old.len, net->now);
	assert_int_equal(ddrop(net, 1, WG_DROP_NO_KEYPAIR), 1);
	assert_int_equal(wg_device_tick(net->n[1].dev, net->now), UINT64_MAX);
	net_free(net);
}

static void test_roaming(void **state)
{
	struct net *net = pair(NULL);
	struct wg_endpoint ep, moved;
	struct wire_pkt cap, bad;
	struct cookie_maker cm;
	uint8_t junk[148];
	int i;

	(void)state;
	connect_pair(net);
	assert_int_equal(net->n[1].events[WG_EV_ENDPOINT_CHANGED], 1);
	assert_int_equal(tx(net, 0, 1, 1, 100), 0);
	cap = net->wire[net->w_head];
	tick_all(net);

	/* unauthenticated things from elsewhere move nothing */
	set_ep(&moved, 0, ROAM_PORT);
	bad = cap;
	bad.buf[50] ^= 1;
	wg_device_rx(net->n[1].dev, &moved, bad.buf, bad.len, net->now);	/* bad tag */
	bad = cap;
	wg_device_rx(net->n[1].dev, &moved, bad.buf, bad.len, net->now);	/* replay */
	cookie_maker_init(&cm, net->n[1].pub);
	for (i = 0; i < 148; i++)
		junk[i] = (uint8_t)xorshift();
	memcpy(junk, "\x01\0\0\0", 4);
	assert_int_equal(cookie_add_macs(&cm, junk, 148, net->now), 0);
	wg_device_rx(net->n[1].dev, &moved, junk, 148, net->now);		/* bad static */
	assert_true(wg_peer_get_endpoint(net->n[1].peer[0], &ep));
	assert_int_equal(ep_port(&ep), BASE_PORT);
	assert_int_equal(net->n[1].events[WG_EV_ENDPOINT_CHANGED], 1);

	/* 0 really moves (NAT rebinding): its next packet moves 1's endpoint */
	net->n[0].addr = moved;
	assert_int_equal(tx(net, 0, 1, 2, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[1].seen[0][2], 1);
	assert_true(wg_peer_get_endpoint(net->n[1].peer[0], &ep));
	assert_int_equal(ep_port(&ep), ROAM_PORT);
	assert_int_equal(net->n[1].events[WG_EV_ENDPOINT_CHANGED], 2);
	/* and 1 answers there */
	assert_int_equal(tx(net, 1, 0, 3, 100), 0);
	assert_int_equal(ep_port(&net->log[net->log_len - 1].src), BASE_PORT + 1);
	tick_all(net);
	assert_int_equal(net->n[0].seen[1][3], 1);
	/* the same endpoint again is no change */
	assert_int_equal(tx(net, 0, 1, 4, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[1].events[WG_EV_ENDPOINT_CHANGED], 2);
	net_free(net);
}

static void test_cookie_under_load(void **state)
{
	struct net *net = pair(NULL);
	const struct wire_pkt *first, *retry;
	struct wire_pkt cap;
	uint64_t t0 = net->now;
	int i;

	(void)state;
	wg_device_set_under_load(net->n[1].dev, true);
	assert_true(wg_device_under_load(net->n[1].dev, net->now));
	assert_int_equal(tx(net, 0, 1, 1, 100), 0);
	tick_all(net);
	/* a cookie reply, no response */
	assert_int_equal(logged(net, 1, WG_MSG_COOKIE), 1);
	assert_int_equal(logged(net, 1, WG_MSG_RESPONSE), 0);
	assert_int_equal(log_last(net, 1, WG_MSG_COOKIE)->len, WG_COOKIE_LEN);
	assert_int_equal(ddrop(net, 1, WG_DROP_BAD_MAC2), 1);
	first = log_find(net, 0, WG_MSG_INITIATION, 0);
	assert_memory_equal(first->buf + 132, (uint8_t[16]){ 0 }, 16);
	/* the cookie reply names the initiation's sender index */
	assert_memory_equal(log_last(net, 1, WG_MSG_COOKIE)->buf + 4, first->buf + 4, 4);

	/* the retry carries mac2 and is answered */
	run_until(net, t0 + 5 * SEC + JITTER + 1);
	assert_int_equal(logged(net, 0, WG_MSG_INITIATION), 2);
	retry = log_find(net, 0, WG_MSG_INITIATION, 1);
	assert_memory_not_equal(retry->buf + 132, (uint8_t[16]){ 0 }, 16);
	assert_int_equal(logged(net, 1, WG_MSG_RESPONSE), 1);
	assert_int_equal(net->n[1].seen[0][1], 1);
	assert_int_equal(ddrop(net, 1, WG_DROP_BAD_MAC2), 1);

	/* replaying the accepted initiation: the rate limiter stops it after 5 */
	cap = *retry;
	for (i = 0; i < 10; i++) {
		struct wire_pkt c = cap;

		wg_device_rx(net->n[1].dev, &c.src, c.buf, c.len, net->now);
	}
	/*
	 * The accepted one took a token up to 333 ms ago and some came back;
	 * at most a burst passes the limiter (and is then refused as a replay).
	 */
	assert_int_equal(ddrop(net, 1, WG_DROP_RATELIMIT) +
			 pst(net, 1, 0)->drops[WG_DROP_HANDSHAKE], 10);
	assert_in_range(ddrop(net, 1, WG_DROP_RATELIMIT), 5, 6);
	assert_int_equal(logged(net, 1, WG_MSG_RESPONSE), 1);

	/* off load, mac2 is not needed */
	wg_device_set_under_load(net->n[1].dev, false);
	assert_false(wg_device_under_load(net->n[1].dev, net->now));
	net_free(net);
}

/* A handshake flood puts the device under load on its own. */
static void test_load_detection(void **state)
{
	struct net *net = pair(NULL);
	struct cookie_maker cm;
	struct wg_endpoint src;
	uint8_t buf[148];
	int i, j;

	(void)state;
	cookie_maker_init(&cm, net->n[1].pub);
	set_ep(&src, 2, 5555);
	for (i = 0; i <= WG_LOAD_THRESHOLD + 10; i++) {
		for (j = 0; j < 148; j++)
			buf[j] = (uint8_t)xorshift();
		memcpy(buf, "\x01\0\0\0", 4);
		assert_int_equal(cookie_add_macs(&cm, buf, 148, net->now), 0);
		wg_device_rx(net->n[1].dev, &src, buf, 148, net->now + (uint64_t)i * MS);
	}
	assert_true(wg_device_under_load(net->n[1].dev, net->now + 140 * MS));
	/* under load even a stranger with a good mac1 gets a cookie, nothing more */
	assert_true(logged(net, 1, WG_MSG_COOKIE) >= 9);
	assert_int_equal(logged(net, 1, WG_MSG_RESPONSE), 0);
	/* load passes a second after the flood */
	assert_false(wg_device_under_load(net->n[1].dev, net->now + 1200 * MS));
	net_free(net);
}

static void test_tai64n_replay(void **state)
{
	struct net *net = pair(NULL);
	struct wg_peer_keypairs before, after;
	struct wire_pkt init;

	(void)state;
	connect_pair(net);
	init = *log_find(net, 0, WG_MSG_INITIATION, 0);
	keypairs(net, 1, 0, &before);
	run_for(net, 3 * SEC);
	wg_device_rx(net->n[1].dev, &init.src, init.buf, init.len, net->now);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_HANDSHAKE], 1);
	assert_int_equal(logged(net, 1, WG_MSG_RESPONSE), 1);
	keypairs(net, 1, 0, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	/* from another address too, and the endpoint does not move */
	set_ep(&init.src, 2, 6000);
	wg_device_rx(net->n[1].dev, &init.src, init.buf, init.len, net->now);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_HANDSHAKE], 2);
	assert_int_equal(net->n[1].events[WG_EV_ENDPOINT_CHANGED], 1);

	/* a later initiation (greater timestamp) is fine */
	run_for(net, 200 * SEC);
	assert_int_equal(tx(net, 0, 1, 1, 100), 0);
	tick_all(net);
	assert_int_equal(logged(net, 0, WG_MSG_INITIATION), 2);
	assert_int_equal(logged(net, 1, WG_MSG_RESPONSE), 2);
	assert_int_equal(net->n[1].seen[0][1], 1);
	net_free(net);
}

/* Two initiations from the same peer less than 20 ms apart: the second is a flood. */
static void test_initiation_flood(void **state)
{
	struct net *net = pair(NULL);
	struct wire_pkt a, b;

	(void)state;
	net->drop = drop_to_1;
	wg_peer_connect(net->n[0].peer[1], net->now);
	run_for(net, 5 * SEC + JITTER + 1);
	assert_int_equal(logged(net, 0, WG_MSG_INITIATION), 2);
	a = *log_find(net, 0, WG_MSG_INITIATION, 0);
	b = *log_find(net, 0, WG_MSG_INITIATION, 1);
	wg_device_rx(net->n[1].dev, &a.src, a.buf, a.len, net->now);
	wg_device_rx(net->n[1].dev, &b.src, b.buf, b.len, net->now + 10 * MS);
	assert_int_equal(net->n[1].sends, 1);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_HANDSHAKE], 1);
	b = *log_find(net, 0, WG_MSG_INITIATION, 1);
	wg_device_rx(net->n[1].dev, &b.src, b.buf, b.len, net->now + 30 * MS);
	assert_int_equal(net->n[1].sends, 2);
	net_free(net);
}

static void test_send_counter_limit(void **state)
{
	struct net *net = pair(NULL);
	struct wg_peer_keypairs k;
	const uint64_t reject = REPLAY_REJECT_AFTER_MESSAGES;
	uint32_t old_index;
	uint64_t t0;
	size_t i;

	(void)state;
	connect_pair(net);
	t0 = net->now;
	run_for(net, 1 * SEC);
	keypairs(net, 0, 1, &k);
	old_index = k.current.local_index;
	assert_int_equal(wg_peer_test_set_send_counter(net->n[0].peer[1], reject - 2), 0);
	assert_int_equal(tx(net, 0, 1, 1, 100), 0);
	assert_int_equal(tx(net, 0, 1, 2, 100), 0);
	assert_int_equal(tx(net, 0, 1, 3, 100), 0);
	keypairs(net, 0, 1, &k);
	assert_int_equal(k.current.send_counter, reject);
	/* the rekey waits for Rekey-Timeout (and a jitter) after the last handshake */
	tick_all(net);
	assert_int_equal(net->n[1].seen[0][3], 0);
	run_until(net, t0 + 5 * SEC + JITTER);
	/* nothing ever left with a counter at or past the limit */
	for (i = 0; i < net->log_len; i++)
		if (net->log[i].from == 0 && le32(net->log[i].buf) == WG_MSG_DATA)
			assert_true(le64(net->log[i].buf + 8) < reject);
	/* all three arrived: two under the old session, one under a new one */
	assert_int_equal(net->n[1].seen[0][1], 1);
	assert_int_equal(net->n[1].seen[0][2], 1);
	assert_int_equal(net->n[1].seen[0][3], 1);
	keypairs(net, 0, 1, &k);
	assert_int_not_equal(k.current.local_index, old_index);
	assert_int_equal(k.previous.local_index, old_index);
	assert_int_equal(k.current.send_counter, 1);
	/* the old one is dead for sending, but a new session came up */
	assert_int_equal(pst(net, 0, 1)->handshakes, 2);

	/* Rekey-After-Messages: past 2^60 a new handshake starts, data still flows */
	run_for(net, 6 * SEC);
	assert_int_equal(wg_peer_test_set_send_counter(net->n[0].peer[1],
						       (1ULL << 60) + 1), 0);
	assert_int_equal(tx(net, 0, 1, 4, 100), 0);
	assert_int_equal(logged(net, 0, WG_MSG_INITIATION), 3);
	tick_all(net);
	assert_int_equal(net->n[1].seen[0][4], 1);
	assert_int_equal(pst(net, 0, 1)->handshakes, 3);
	net_free(net);
}

/* The responder forgets everything; the initiator notices and reconnects. */
static void test_responder_restart(void **state)
{
	struct net *net = pair(NULL);
	uint64_t t0;
	uint32_t seq;

	(void)state;
	connect_pair(net);
	assert_int_equal(tx(net, 1, 0, 1, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[0].seen[1][1], 1);

	/* restart 1: a new device, same key, same configuration */
	wg_device_free(net->n[1].dev);
	node_start(net, 1, NULL);
	net->n[1].delivered = 0;
	memset(net->n[1].events, 0, sizeof(net->n[1].events));
	memset(net->n[1].seen, 0, sizeof(net->n[1].seen));
	link_nodes(net, 1, 0, false);
	t0 = net->now;
	/* 0 keeps sending; 1 cannot read it and says nothing */
	for (seq = 10; seq < 30; seq++) {
		assert_int_equal(tx(net, 0, 1, seq, 100), 0);
		run_for(net, 1 * SEC);
	}
	/* after Keepalive + Rekey-Timeout without an answer, 0 handshakes again */
	assert_int_equal(logged(net, 0, WG_MSG_INITIATION), 2);
	assert_true(log_last(net, 0, WG_MSG_INITIATION)->at >= t0 + 15 * SEC);
	assert_true(log_last(net, 0, WG_MSG_INITIATION)->at <= t0 + 16 * SEC);
	assert_int_equal(net->n[1].events[WG_EV_HANDSHAKE_DONE], 1);
	/* what was sent before that was lost, what came after arrived */
	assert_int_equal(ddrop(net, 1, WG_DROP_NO_KEYPAIR), 16);
	assert_int_equal(net->n[1].seen[0][10], 0);
	assert_int_equal(net->n[1].seen[0][25], 0);
	assert_int_equal(net->n[1].seen[0][26], 1);
	assert_int_equal(net->n[1].seen[0][29], 1);
	assert_int_equal(net->n[1].delivered, 4);
	assert_int_equal(tx(net, 0, 1, 40, 100), 0);
	assert_int_equal(tx(net, 1, 0, 41, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[1].seen[0][40], 1);
	assert_int_equal(net->n[0].seen[1][41], 1);

	/* the same with the peer removed and added again on 1 */
	wg_peer_remove(net->n[1].peer[0]);
	link_nodes(net, 1, 0, false);
	run_for(net, 10 * SEC);
	wg_peer_connect(net->n[0].peer[1], net->now);
	tick_all(net);
	assert_int_equal(tx(net, 1, 0, 42, 100), 0);
	tick_all(net);
	assert_int_equal(net->n[0].seen[1][42], 1);
	net_free(net);
}

static void test_persistent_keepalive(void **state)
{
	struct net *net = pair(NULL);
	unsigned int n;
	uint64_t t0;
	size_t i;

	(void)state;
	/* turning it on starts a handshake at the next tick */
	wg_peer_set_keepalive(net->n[0].peer[1], 25);
	t0 = net->now;
	tick_all(net);
	assert_int_equal(net->n[0].events[WG_EV_HANDSHAKE_DONE], 1);
	assert_int_equal(net->n[1].events[WG_EV_HANDSHAKE_DONE], 1);
	n = logged(net, 0, WG_MSG_DATA);
	run_until(net, t0 + 100 * SEC);
	/* one keepalive per 25 s of silence */
	assert_int_equal(logged(net, 0, WG_MSG_DATA), n + 4);
	for (i = 0; i < net->log_len; i++) {
		const struct wire_pkt *p = &net->log[i];

		if (p->from == 0 && le32(p->buf) == WG_MSG_DATA && p->at > t0)
			assert_int_equal((p->at - t0) % (25 * SEC), 0);
	}
	/* 1 never sends a keepalive: it got no data */
	assert_int_equal(logged(net, 1, WG_MSG_DATA), 0);
	/* off */
	wg_peer_set_keepalive(net->n[0].peer[1], 0);
	run_for(net, 100 * SEC);
	assert_int_equal(logged(net, 0, WG_MSG_DATA), n + 4);
	net_free(net);
}

/*
 * Both sides want a session at the same moment (each has packets queued and
 * knows the other's endpoint), so their initiations cross: each consumes
 * the other's initiation, which replaces its own handshake, and each
 * response then finds no handshake to complete. Traffic keeps asking for a
 * session every 20 ms. The retries must not stay in lockstep: with a
 * jitter on every deferred retry one side goes first and a session forms
 * within a few Rekey-Timeouts.
 */
static void test_crossed_initiations(void **state)
{
	struct net *net = net_new(2, NULL);
	uint64_t t0;
	uint32_t seq = 1;

	(void)state;
	link_nodes(net, 0, 1, true);
	link_nodes(net, 1, 0, true);
	t0 = net->now;
	/* both initiations are on the wire before either is delivered */
	assert_int_equal(tx(net, 0, 1, seq, 100), 0);
	assert_int_equal(tx(net, 1, 0, seq, 100), 0);
	assert_int_equal(logged(net, 0, WG_MSG_INITIATION), 1);
	assert_int_equal(logged(net, 1, WG_MSG_INITIATION), 1);
	pump(net);
	pump(net);
	assert_int_equal(net->n[0].events[WG_EV_HANDSHAKE_DONE], 0);
	assert_int_equal(net->n[1].events[WG_EV_HANDSHAKE_DONE], 0);
	while (net->now < t0 + 30 * SEC &&
	       (!net->n[0].seen[1][seq % SEQ_MAX] || !net->n[1].seen[0][seq % SEQ_MAX])) {
		run_for(net, SEC / 50);
		seq++;
		tx(net, 0, 1, seq, 100);
		tx(net, 1, 0, seq, 100);
		tick_all(net);
	}
	/* a session both ways, and long before Rekey-Attempt-Time */
	assert_true(net->n[1].seen[0][seq % SEQ_MAX] > 0);
	assert_true(net->n[0].seen[1][seq % SEQ_MAX] > 0);
	assert_true(net->now < t0 + 16 * SEC);
	net_free(net);
}

/* ---- batches: wg_device_tx_batch / wg_device_rx_batch, with and without workers */

/* A batch of n packets from a to b (sequence numbers first..), sizes varied, v4 and v6. */
static void tx_batch(struct net *net, int a, int b, uint32_t first, unsigned int n)
{
	static uint8_t bufs[BATCH_MAX][WG_HEADROOM + 1500 + WG_TAILROOM];
	struct wg_packet p[BATCH_MAX];
	unsigned int i;

	assert_true(n <= BATCH_MAX);
	for (i = 0; i < n; i++) {
		uint32_t seq = first + i;
		bool v6 = seq % 3 == 0;
		size_t len = (v6 ? 48 : 28) + (seq * 37) % 1350;

		p[i].data = bufs[i] + WG_HEADROOM;
		p[i].len = mk_pkt(p[i].data, a, b, seq, len, v6);
	}
	wg_device_tx_batch(net->n[a].dev, p, n, net->now);
}

/* Data messages node `from` sent carry counters 0, 1, 2 ... in wire order. */
static void assert_counters_in_order(struct net *net, int from)
{
	uint64_t want = 0;
	size_t i;

	for (i = 0; i < net->log_len; i++) {
		const struct wire_pkt *p = &net->log[i];

		if (p->from != from || le32(p->buf) != WG_MSG_DATA)
			continue;
		if (le64(p->buf + 8) != want)
			fail_msg("datagram %zu: counter %llu, expected %llu", i,
				 (unsigned long long)le64(p->buf + 8), (unsigned long long)want);
		want++;
	}
	assert_true(want > 0);
}

/*
 * Batches of every size up to 64 both ways: every packet arrives once, in
 * the order it was sent, intact (the test packets' bytes are checked by
 * sequence number), and the wire shows the counters in order: the commit
 * step keeps the order whoever sealed each packet.
 */
static void batch_roundtrip(unsigned int workers)
{
	struct net *net;
	uint32_t seq = 1;
	unsigned int n, i;

	opt_workers = workers;
	opt_batch = true;
	net = pair(NULL);
	connect_pair(net);
	for (n = 1; n <= BATCH_MAX; n++) {
		tx_batch(net, 0, 1, seq, n);
		tx_batch(net, 1, 0, seq, n);
		pump(net);
		seq += n;
	}
	tick_all(net);
	assert_int_equal(net->n[1].n_order, seq - 1);
	assert_int_equal(net->n[0].n_order, seq - 1);
	for (i = 0; i < seq - 1; i++) {
		assert_int_equal(net->n[1].order[i], i + 1);
		assert_int_equal(net->n[0].order[i], i + 1);
	}
	assert_no_drops(net);
	assert_counters_in_order(net, 0);
	assert_counters_in_order(net, 1);
	/* the last packet came through whole: its bytes are what mk_pkt made */
	{
		uint8_t want[1500];
		size_t len = mk_pkt(want, 0, 1, seq - 1, (seq - 1) % 3 == 0 ?
				    48 + ((seq - 1) * 37) % 1350 : 28 + ((seq - 1) * 37) % 1350,
				    (seq - 1) % 3 == 0);

		assert_int_equal(net->n[1].last_len, len);
		assert_memory_equal(net->n[1].last_pkt, want, len);
	}
	if (workers) {
		unsigned long long total = 0, want = 0;

		for (i = 0; i <= workers; i++)
			total += pool_jobs_done(net->n[1].pool, i);
		/*
		 * Large enough batches went to the pool: node 1 sealed n packets
		 * and opened n of the same sizes (padded to 16 bytes).
		 */
		for (n = 1, seq = 1; n <= BATCH_MAX; seq += n, n++) {
			size_t bytes = 0;

			for (i = 0; i < n; i++) {
				uint32_t q = seq + i;

				bytes += ((q % 3 == 0 ? 48 : 28) + (q * 37) % 1350 + 15) & ~15u;
			}
			if (n >= WG_PARALLEL_MIN_PACKETS && bytes >= WG_PARALLEL_MIN_BYTES)
				want += 2 * n;
		}
		assert_true(want > 0);
		assert_int_equal(total, want);
	}
	net_free(net);
	opt_workers = 0;
	opt_batch = false;
}

static void test_batch_serial(void **state)
{
	(void)state;
	batch_roundtrip(0);
}

static void test_batch_one_worker(void **state)
{
	(void)state;
	batch_roundtrip(1);
}

static void test_batch_three_workers(void **state)
{
	(void)state;
	batch_roundtrip(3);
}

/*
 * One batch to node 1 holding good datagrams, a duplicate, a forged tag,
 * an unknown receiver index, a message of no known type and a handshake
 * initiation in the middle: each bad one is dropped and counted as alone,
 * the good ones are delivered in order, and the handshake in the middle
 * does not disturb the data around it.
 */
static void test_batch_bad_datagrams(void **state)
{
	static uint8_t bufs[12][PKT_MAX];
	struct wg_datagram d[12];
	struct wire_pkt data[6], init;
	const struct wire_pkt *ip;
	uint64_t before[WG_DROP_MAX], dev_before[WG_DROP_MAX];
	struct net *net;
	unsigned int i, n = 0;

	(void)state;
	opt_workers = 1;
	net = pair(NULL);
	connect_pair(net);
	/* six sealed datagrams 0 -> 1, taken off the wire */
	tx_batch(net, 0, 1, 100, 6);
	assert_int_equal(net->w_len, 6);
	for (i = 0; i < 6; i++) {
		data[i] = net->wire[net->w_head];
		net->w_head = (net->w_head + 1) % WIRE_MAX;
		net->w_len--;
	}
	/* a fresh initiation from 0 (its retransmission timer allows one now) */
	net->now += 6 * SEC;
	wg_peer_connect(net->n[0].peer[1], net->now);
	ip = log_last(net, 0, WG_MSG_INITIATION);
	assert_non_null(ip);
	init = *ip;
	net->w_len = 0;

#define ADD(pkt, mangle) do {						\
		memcpy(bufs[n], (pkt).buf, (pkt).len);			\
		d[n].data = bufs[n];					\
		d[n].len = (pkt).len;					\
		d[n].from = (pkt).src;					\
		mangle;							\
		n++;							\
	} while (0)
	ADD(data[0], (void)0);
	ADD(data[1], (void)0);
	ADD(data[1], (void)0);				/* replayed */
	ADD(data[2], bufs[n][40] ^= 1);			/* forged */
	ADD(data[3], bufs[n][4] ^= 0x55);		/* unknown receiver index */
	ADD(data[3], bufs[n][0] = 9);			/* no such type */
	ADD(init, (void)0);
	ADD(data[3], (void)0);
	ADD(data[4], (void)0);
	ADD(data[5], d[n].len = 20);			/* too short */
	ADD(data[5], (void)0);
#undef ADD
	for (i = 0; i < WG_DROP_MAX; i++) {
		before[i] = pst(net, 1, 0)->drops[i];
		dev_before[i] = ddrop(net, 1, (enum wg_drop)i);
	}
	net->n[1].n_order = 0;
	wg_device_rx_batch(net->n[1].dev, d, n, net->now);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_REPLAY] - before[WG_DROP_REPLAY], 1);
	assert_int_equal(pst(net, 1, 0)->drops[WG_DROP_BAD_TAG] - before[WG_DROP_BAD_TAG], 1);
	assert_int_equal(ddrop(net, 1, WG_DROP_NO_KEYPAIR) - dev_before[WG_DROP_NO_KEYPAIR], 1);
	assert_int_equal(ddrop(net, 1, WG_DROP_BAD_TYPE) - dev_before[WG_DROP_BAD_TYPE], 1);
	assert_int_equal(ddrop(net, 1, WG_DROP_BAD_SIZE) - dev_before[WG_DROP_BAD_SIZE], 1);
	/* 100, 101, 103, 104, 105 in order; 102 was forged */
	assert_int_equal(net->n[1].n_order, 5);
	assert_int_equal(net->n[1].order[0], 100);
	assert_int_equal(net->n[1].order[1], 101);
	assert_int_equal(net->n[1].order[2], 103);
	assert_int_equal(net->n[1].order[3], 104);
	assert_int_equal(net->n[1].order[4], 105);
	/* the initiation was answered */
	assert_non_null(log_last(net, 1, WG_MSG_RESPONSE));
	net_free(net);
	opt_workers = 0;
}

/*
 * Rekeying every 2 s with batches of 8 each way per 20 ms, two workers
 * each side: sessions retire and get confirmed in the middle of batches,
 * and still every packet arrives exactly once and nothing is dropped.
 */
static void test_batch_rekey_under_traffic(void **state)
{
	struct wg_timers t;
	struct net *net;
	uint32_t seq;
	unsigned int i;

	(void)state;
	rekey_timers(&t);
	opt_workers = 2;
	opt_batch = true;
	net = pair(&t);
	connect_pair(net);
	saw_prev0 = saw_prev1 = saw_next1 = false;
	net->drop = observe_keys;
	for (seq = 1; seq + 8 < SEQ_MAX / 2; seq += 8) {
		tx_batch(net, 0, 1, seq, 8);
		tx_batch(net, 1, 0, seq, 8);
		run_for(net, 20 * MS);
	}
	tick_all(net);
	/* 25 s of traffic, a new session about every 2 s */
	assert_in_range(pst(net, 0, 1)->handshakes, 10, 16);
	assert_true(saw_prev0 && saw_prev1 && saw_next1);
	for (i = 1; i < seq; i++)
		if (net->n[1].seen[0][i] != 1 || net->n[0].seen[1][i] != 1)
			fail_msg("seq %u: delivered %u / %u times", i, net->n[1].seen[0][i],
				 net->n[0].seen[1][i]);
	assert_no_drops(net);
	net_free(net);
	opt_workers = 0;
	opt_batch = false;
}

/* A pool only before the first peer: sessions need a context per thread. */
static void test_pool_after_peers(void **state)
{
	struct net *net = pair(NULL);
	struct pool *p = pool_new(1);

	(void)state;
	assert_non_null(p);
	assert_int_equal(wg_device_set_pool(net->n[0].dev, p), -EBUSY);
	net_free(net);
	pool_free(p);
}

static void test_config_api(void **state)
{
	struct net *net = pair(NULL);
	uint8_t key[32], pub[32];
	struct wg_peer *p;
	int n = 0;

	(void)state;
	/* duplicate peer, our own key, a low-order key */
	assert_null(wg_peer_new(net->n[0].dev, net->n[1].pub, NULL));
	assert_int_equal(errno, EEXIST);
	assert_null(wg_peer_new(net->n[0].dev, net->n[0].pub, NULL));
	assert_int_equal(errno, EINVAL);
	memset(key, 0, sizeof(key));
	assert_null(wg_peer_new(net->n[0].dev, key, NULL));
	assert_int_equal(errno, EINVAL);
	assert_ptr_equal(wg_peer_find(net->n[0].dev, net->n[1].pub), net->n[0].peer[1]);
	wg_peer_public_key(net->n[0].peer[1], pub);
	assert_memory_equal(pub, net->n[1].pub, 32);
	wg_peer_set_userdata(net->n[0].peer[1], &n);
	assert_ptr_equal(wg_peer_userdata(net->n[0].peer[1]), &n);
	for (p = wg_peer_next(net->n[0].dev, NULL); p; p = wg_peer_next(net->n[0].dev, p))
		n++;
	assert_int_equal(n, 1);
	assert_string_equal(wg_drop_name(WG_DROP_BAD_TAG), "bad-tag");
	assert_string_equal(wg_drop_name(WG_DROP_MAX), "unknown");
	assert_int_equal(wg_peer_test_set_send_counter(net->n[0].peer[1], 5), -ENOENT);
	/* a peer with a pre-shared key on one side only cannot finish */
	{
		struct net *m = net_new(2, NULL);
		uint8_t psk[32] = { 1, 2, 3 };

		m->n[0].peer[1] = wg_peer_new(m->n[0].dev, m->n[1].pub, psk);
		allow(m->n[0].peer[1], "10.0.0.2/32");
		link_nodes(m, 1, 0, false);
		{
			struct wg_endpoint ep;

			set_ep(&ep, 1, BASE_PORT + 1);
			wg_peer_set_endpoint(m->n[0].peer[1], &ep);
		}
		wg_peer_connect(m->n[0].peer[1], m->now);
		tick_all(m);
		assert_int_equal(m->n[0].events[WG_EV_HANDSHAKE_DONE], 0);
		assert_int_equal(pst(m, 0, 1)->drops[WG_DROP_HANDSHAKE], 1);
		net_free(m);
	}
	net_free(net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_data),
		cmocka_unit_test(test_padding_and_mtu),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_new_handshake_when_unanswered),
		cmocka_unit_test(test_queue_before_handshake),
		cmocka_unit_test(test_responder_queue),
		cmocka_unit_test(test_allowed_ips_receive),
		cmocka_unit_test(test_three_peers),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_bit_flip),
		cmocka_unit_test(test_silence_to_strangers),
		cmocka_unit_test(test_rekey_under_traffic),
		cmocka_unit_test(test_retransmit_and_give_up),
		cmocka_unit_test(test_key_erasure),
		cmocka_unit_test(test_roaming),
		cmocka_unit_test(test_cookie_under_load),
		cmocka_unit_test(test_load_detection),
		cmocka_unit_test(test_tai64n_replay),
		cmocka_unit_test(test_initiation_flood),
		cmocka_unit_test(test_send_counter_limit),
		cmocka_unit_test(test_responder_restart),
		cmocka_unit_test(test_persistent_keepalive),
		cmocka_unit_test(test_crossed_initiations),
		cmocka_unit_test(test_batch_serial),
		cmocka_unit_test(test_batch_one_worker),
		cmocka_unit_test(test_batch_three_workers),
		cmocka_unit_test(test_batch_bad_datagrams),
		cmocka_unit_test(test_batch_rekey_under_traffic),
		cmocka_unit_test(test_pool_after_peers),
		cmocka_unit_test(test_config_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
