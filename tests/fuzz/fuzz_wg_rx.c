/* fuzz_wg_rx.c - libFuzzer harness: arbitrary datagrams into a WireGuard engine */

/*
 * Two engines, A (10.0.0.1) and B (10.0.0.2), know each other and complete
 * a real handshake at start-up, so the fuzzer reaches past the session
 * lookup too. The low three bits of the first input byte pick how the rest
 * is used (the high bits are flags):
 *   0  a raw datagram from the network into B;
 *   1  an inner IP packet that A seals with the real session, so B's
 *      decryption, padding, inner header and allowed-IPs code see it
 *      (flag 0x80 keeps the input's source address, 0x40 its lengths);
 *   2  a genuine data packet of A's with the input XORed over it;
 *   3  a handshake message with a valid mac1 for B and an arbitrary body,
 *      to get past mac1 into the Noise code (0x08: a response, not an
 *      initiation; 0x10: B is under load);
 *   4  the clock jumps by the next byte's number of seconds (rekeys,
 *      retransmits, expiry, key erasure);
 *   5  as 1, from B to A;
 *   6  the next (byte & 15) datagrams between A and B are lost;
 *   7  a raw datagram into A.
 * Flag 0x20 (any mode) sends this input's traffic through the batch calls:
 * what the engines send each other goes to wg_device_rx_batch in runs to
 * one engine, and in modes 0 and 7 the rest of the input is cut into
 * 1 + (next byte & 3) datagrams handed over as one batch.
 * Whatever the engines send each other is passed on (bounded), and the
 * clock moves 1 ms per input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "cookie.h"
#include "prefix.h"
#include "wg.h"

#define QMAX	64

struct qpkt {
	int to;			/* 0 = A, 1 = B */
	size_t len;
	uint8_t buf[WG_MAX_DATAGRAM];
};

static struct wg_device *dev[2];
static struct wg_endpoint addr[2];
static struct qpkt *queue;
static size_t qlen;
static unsigned int lose;
static uint64_t now = 1000000000000ULL;
static uint8_t last_data[2048];
static size_t last_data_len;
static struct cookie_maker maker;
static uint8_t scratch[WG_MAX_DATAGRAM + 64];
static bool batch;
static struct wg_datagram runs[QMAX];

static int fz_send(void *ctx, const struct wg_endpoint *to, const uint8_t *buf,
		   size_t len)
{
	int from = (int)(intptr_t)ctx;

	(void)to;
	if (from == 0 && len >= 16 && buf[0] == WG_MSG_DATA && len <= sizeof(last_data)) {
		memcpy(last_data, buf, len);
		last_data_len = len;
	}
	if (qlen < QMAX && len <= WG_MAX_DATAGRAM) {
		queue[qlen].to = !from;
		queue[qlen].len = len;
		memcpy(queue[qlen].buf, buf, len);
		qlen++;
	}
	return 0;
}

static int fz_deliver(void *ctx, struct wg_peer *from, const uint8_t *pkt, size_t len)
{
	volatile uint8_t sink = 0;
	size_t i;

	(void)ctx;
	(void)from;
	/* touch every byte: ASan checks the engine handed us valid memory */
	for (i = 0; i < len; i++)
		sink ^= pkt[i];
	(void)sink;
	return 0;
}

static const struct wg_ops fz_ops = { .send = fz_send, .deliver = fz_deliver };

/* pump() with batch: runs of queued datagrams to one engine, one call each. */
static void pump_batches(void)
{
	static struct qpkt *held;
	int rounds = 0;

	if (!held && !(held = calloc(QMAX, sizeof(*held))))
		abort();
	while (qlen && rounds++ < 4 * QMAX) {
		size_t k = 0, n = qlen;
		int to = queue[0].to;

		/* copy the run out: the engines queue new datagrams as they go */
		while (k < n && queue[k].to == to)
			k++;
		for (size_t i = 0; i < k; i++) {
			held[i].len = queue[i].len;
			memcpy(held[i].buf, queue[i].buf, queue[i].len);
		}
		memmove(queue, queue + k, (qlen - k) * sizeof(*queue));
		qlen -= k;
		n = 0;
		for (size_t i = 0; i < k; i++) {
			if (lose) {
				lose--;
				continue;
			}
			runs[n].data = held[i].buf;
			runs[n].len = held[i].len;
			runs[n].from = addr[!to];
			n++;
		}
		wg_device_rx_batch(dev[to], runs, n, now);
	}
}

static void pump(void)
{
	int rounds = 0;

	if (batch)
		pump_batches();
	while (qlen && rounds++ < 4 * QMAX) {
		int to = queue[0].to;
		size_t len = queue[0].len;

		memcpy(scratch, queue[0].buf, len);
		memmove(queue, queue + 1, (qlen - 1) * sizeof(*queue));
		qlen--;
		if (lose) {
			lose--;
			continue;
		}
		wg_device_rx(dev[to], &addr[!to], scratch, len, now);
	}
	qlen = 0;
	wg_device_tick(dev[0], now);
	wg_device_tick(dev[1], now);
}

static void setup(void)
{
	static const char *mine[2] = { "10.0.0.1/32", "10.0.0.2/32" };
	static const char *mine6[2] = { "fd00::1/128", "fd00::2/128" };
	uint8_t priv[2][32], pub[2][32];
	int i;

	queue = calloc(QMAX, sizeof(*queue));
	if (!queue)
		abort();
	for (i = 0; i < 2; i++) {
		memset(priv[i], 0x11 * (i + 1), 32);
		priv[i][0] &= 248;
		priv[i][31] = (priv[i][31] & 127) | 64;
		dev[i] = wg_device_new(priv[i], &fz_ops, (void *)(intptr_t)i);
		if (!dev[i])
			abort();
		wg_device_public_key(dev[i], pub[i]);
		memset(&addr[i], 0, sizeof(addr[i]));
		addr[i].in.sin_family = AF_INET;
		addr[i].in.sin_port = htons((uint16_t)(51820 + i));
		addr[i].in.sin_addr.s_addr = htonl(0xc0000201u + (uint32_t)i);
	}
	for (i = 0; i < 2; i++) {
		struct wg_peer *peer = wg_peer_new(dev[i], pub[!i], NULL);
		struct prefix p;

		if (!peer || prefix_parse(&p, mine[!i], true) < 0 ||
		    wg_peer_allow(peer, &p) < 0 ||
		    prefix_parse(&p, mine6[!i], true) < 0 ||
		    wg_peer_allow(peer, &p) < 0)
			abort();
		wg_peer_set_endpoint(peer, &addr[!i]);
	}
	cookie_maker_init(&maker, pub[1]);
	wg_peer_connect(wg_peer_next(dev[0], NULL), now);
	pump();
}

/* Input bytes as an IP packet from node `from` to the other node. */
static void send_inner(int from, uint8_t flags, const uint8_t *in, size_t n)
{
	uint8_t *p = scratch + WG_HEADROOM;
	uint8_t src4[4] = { 10, 0, 0, (uint8_t)(from + 1) };
	uint8_t dst4[4] = { 10, 0, 0, (uint8_t)(2 - from) };
	uint8_t src6[16] = { 0xfd, [15] = (uint8_t)(from + 1) };
	uint8_t dst6[16] = { 0xfd, [15] = (uint8_t)(2 - from) };

	if (n > WG_MAX_PACKET)
		n = WG_MAX_PACKET;
	memcpy(p, in, n);
	if (n >= 40 && (p[0] >> 4) == 6) {
		memcpy(p + 24, dst6, 16);
		if (!(flags & 0x80))
			memcpy(p + 8, src6, 16);
		if (!(flags & 0x40)) {
			p[4] = (uint8_t)((n - 40) >> 8);
			p[5] = (uint8_t)(n - 40);
		}
	} else if (n >= 20) {
		p[0] = (uint8_t)(0x40 | (p[0] & 15));
		memcpy(p + 16, dst4, 4);
		if (!(flags & 0x80))
			memcpy(p + 12, src4, 4);
		if (!(flags & 0x40)) {
			p[0] = 0x45;
			p[2] = (uint8_t)(n >> 8);
			p[3] = (uint8_t)n;
		}
	}
	wg_device_tx(dev[from], p, n, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags;
	size_t i, n;

	if (!dev[0])
		setup();
	if (size < 1 || size > WG_MAX_DATAGRAM)
		return 0;
	now += 1000000;
	flags = data[0] & 0xf8;

	batch = flags & 0x20;

	switch (data[0] & 7) {
	case 0:
	case 7:
		if (batch && size > 2) {
			/* not the queue's buffers: the engine queues its answers there */
			static uint8_t *raw;
			size_t pieces = 1 + (data[1] & 3), each = (size - 2) / pieces;

			if (!raw && !(raw = malloc(WG_MAX_DATAGRAM)))
				abort();
			memcpy(raw, data + 2, each * pieces);
			for (i = 0; i < pieces; i++) {
				runs[i].data = raw + i * each;
				runs[i].len = each;
				runs[i].from = addr[(data[0] & 7) ? 1 : 0];
			}
			wg_device_rx_batch(dev[(data[0] & 7) ? 0 : 1], runs, pieces, now);
			break;
		}
		memcpy(scratch, data + 1, size - 1);
		wg_device_rx(dev[(data[0] & 7) ? 0 : 1], &addr[(data[0] & 7) ? 1 : 0],
			     scratch, size - 1, now);
		break;
	case 1:
	case 5:
		send_inner((data[0] & 7) == 1 ? 0 : 1, flags, data + 1, size - 1);
		break;
	case 2:
		if (!last_data_len)
			break;
		memcpy(scratch, last_data, last_data_len);
		for (i = 1; i < size && i - 1 < last_data_len; i++)
			scratch[i - 1] ^= data[i];
		wg_device_rx(dev[1], &addr[0], scratch, last_data_len, now);
		break;
	case 3:
		n = (flags & 0x08) ? WG_RESPONSE_LEN : WG_INITIATION_LEN;
		memset(scratch, 0, n);
		memcpy(scratch, data + 1, size - 1 < n ? size - 1 : n);
		scratch[0] = (flags & 0x08) ? WG_MSG_RESPONSE : WG_MSG_INITIATION;
		scratch[1] = scratch[2] = scratch[3] = 0;
		cookie_add_macs(&maker, scratch, n, now);
		wg_device_set_under_load(dev[1], flags & 0x10);
		wg_device_rx(dev[1], &addr[0], scratch, n, now);
		wg_device_set_under_load(dev[1], false);
		break;
	case 4:
		if (size > 1)
			now += (uint64_t)data[1] * WG_NSEC;
		break;
	case 6:
		if (size > 1)
			lose = data[1] & 15;
		break;
	}
	pump();
	return 0;
}
