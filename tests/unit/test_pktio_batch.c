/* test_pktio_batch.c - batches over fake system calls: single ones, many ones, the fallback */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "pktio.h"
#include "testutil.h"

#define QMAX	512

/* One fake device and one fake socket: what waits to be read, what was written. */
struct fake_q {
	uint8_t data[QMAX][2048];
	size_t len[QMAX];
	struct wg_endpoint ep[QMAX];
	unsigned int head, tail;
};

static struct fake {
	struct fake_q tun_in, udp_in, tun_out, udp_out;
	unsigned int single_calls[4], many_calls[4];	/* PKTIO_MANY_* order */
	int many_err[4];	/* returned by the many call instead of working */
	unsigned int many_max;	/* messages per many call, at most */
	unsigned int send_eagain;	/* many sends fail with EAGAIN this often */
} F;

static void fake_push(struct fake_q *q, const uint8_t *p, size_t len, const struct wg_endpoint *ep)
{
	assert_true(q->tail < QMAX && len <= sizeof(q->data[0]));
	memcpy(q->data[q->tail], p, len);
	q->len[q->tail] = len;
	if (ep)
		q->ep[q->tail] = *ep;
	q->tail++;
}

/*
 * Receive one from q into buf: length, -EAGAIN, or what does not fit:
 * -EMSGSIZE from a socket (recvmsg sees MSG_TRUNC), cut to size from the
 * device (a TUN read truncates silently).
 */
static ssize_t fake_pop(struct fake_q *q, uint8_t *buf, size_t size, struct wg_endpoint *ep)
{
	size_t len;

	if (q->head == q->tail)
		return -EAGAIN;
	len = q->len[q->head];
	if (len > size && q == &F.tun_in) {
		len = size;
	} else if (len > size) {
		q->head++;
		return -EMSGSIZE;
	}
	memcpy(buf, q->data[q->head], len);
	if (ep)
		*ep = q->ep[q->head];
	q->head++;
	return (ssize_t)len;
}

static ssize_t one_tun_read(struct pktio *io, uint8_t *buf, size_t size)
{
	(void)io;
	F.single_calls[PKTIO_MANY_TUN_RECV]++;
	return fake_pop(&F.tun_in, buf, size, NULL);
}

static ssize_t one_tun_write(struct pktio *io, const uint8_t *pkt, size_t len)
{
	(void)io;
	F.single_calls[PKTIO_MANY_TUN_SEND]++;
	fake_push(&F.tun_out, pkt, len, NULL);
	return (ssize_t)len;
}

static ssize_t one_udp_recv(struct pktio *io, uint8_t *buf, size_t size, struct wg_endpoint *from)
{
	(void)io;
	F.single_calls[PKTIO_MANY_UDP_RECV]++;
	return fake_pop(&F.udp_in, buf, size, from);
}

static int one_udp_send(struct pktio *io, const struct wg_endpoint *to, const uint8_t *buf,
			size_t len)
{
	(void)io;
	F.single_calls[PKTIO_MANY_UDP_SEND]++;
	fake_push(&F.udp_out, buf, len, to);
	return 0;
}

static const struct pktio_ops one_ops = {
	.name = "fake",
	.tun_read = one_tun_read,
	.tun_write = one_tun_write,
	.udp_recv = one_udp_recv,
	.udp_send = one_udp_send,
};

static int many_recv(unsigned int which, struct fake_q *q, struct pktio_msg *m, unsigned int n)
{
	unsigned int i;
	ssize_t r;

	F.many_calls[which]++;
	if (F.many_err[which])
		return F.many_err[which];
	if (n > F.many_max)
		n = F.many_max;
	for (i = 0; i < n; i++) {
		r = fake_pop(q, m[i].data, m[i].len, &m[i].ep);
		if (r == -EAGAIN)
			break;
		m[i].len = r < 0 ? 0 : (size_t)r;	/* truncated: len 0 */
	}
	return i ? (int)i : -EAGAIN;
}

static int many_send(unsigned int which, struct fake_q *q, const struct pktio_msg *m,
		     unsigned int n)
{
	unsigned int i;

	F.many_calls[which]++;
	if (F.many_err[which])
		return F.many_err[which];
	if (F.send_eagain && F.many_calls[which] % F.send_eagain == 0)
		return -EAGAIN;
	if (n > F.many_max)
		n = F.many_max;
	for (i = 0; i < n; i++)
		fake_push(q, m[i].data, m[i].len, &m[i].ep);
	return (int)i;
}

static int m_tun_recv(struct pktio *io, struct pktio_msg *m, unsigned int n)
{
	(void)io;
	return many_recv(PKTIO_MANY_TUN_RECV, &F.tun_in, m, n);
}

static int m_tun_send(struct pktio *io, const struct pktio_msg *m, unsigned int n)
{
	(void)io;
	return many_send(PKTIO_MANY_TUN_SEND, &F.tun_out, m, n);
}

static int m_udp_recv(struct pktio *io, struct pktio_msg *m, unsigned int n)
{
	(void)io;
	return many_recv(PKTIO_MANY_UDP_RECV, &F.udp_in, m, n);
}

static int m_udp_send(struct pktio *io, const struct pktio_msg *m, unsigned int n)
{
	(void)io;
	return many_send(PKTIO_MANY_UDP_SEND, &F.udp_out, m, n);
}

static const struct pktio_many many_ops = {
	.tun_recv = m_tun_recv,
	.tun_send = m_tun_send,
	.udp_recv = m_udp_recv,
	.udp_send = m_udp_send,
};

/* Every packet dropped, whatever the reason. */
static uint64_t drops(const struct pktio *io)
{
	uint64_t n = 0;

	for (int d = 0; d < PKTIO_DROP_MAX; d++)
		n += io->stats.drops[d];
	return n;
}

static void io_open(struct pktio *io, const struct pktio_many *many)
{
	memset(&F, 0, sizeof(F));
	F.many_max = PKTIO_BATCH_MAX;
	memset(io, 0, sizeof(*io));
	io->tun_fd = io->udp_fd = -1;
	io->mtu = 1420;
	assert_int_equal(pktio_batch_init(io, &one_ops, many), 0);
	io->ops = &pktio_batch_ops;
}

static void io_close(struct pktio *io)
{
	pktio_batch_free(io);
	assert_null(io->priv);
}

/* Packet i: its length and bytes are its own. */
static size_t pkt_make(unsigned int i, uint8_t *buf)
{
	size_t len = 20 + (i * 37) % 1400;

	for (size_t j = 0; j < len; j++)
		buf[j] = (uint8_t)(i * 7 + j);
	return len;
}

static void ep_make(unsigned int i, struct wg_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->in.sin_family = AF_INET;
	ep->in.sin_port = htons((uint16_t)(1000 + i % 3));
	ep->in.sin_addr.s_addr = htonl(0x7f000001);
}

/*
 * count packets from the device, read in batches; each comes intact with
 * its headroom and tailroom writable, and is sealed "in place" (sent from
 * where it lies); the sends wait for udp_flush and leave in order.
 */
static void run_tx(struct pktio *io, unsigned int count)
{
	uint8_t buf[2048];
	struct wg_packet *p;
	unsigned int seen = 0, batches = 0;
	struct wg_endpoint ep;
	int n;

	for (unsigned int i = 0; i < count; i++)
		fake_push(&F.tun_in, buf, pkt_make(i, buf), NULL);
	while ((n = io->ops->tun_read_batch(io, &p)) > 0) {
		assert_true(n <= PKTIO_BATCH_MAX);
		batches++;
		for (int j = 0; j < n; j++, seen++) {
			size_t len = pkt_make(seen, buf);

			assert_int_equal(p[j].len, len);
			assert_memory_equal(p[j].data, buf, len);
			memset(p[j].data - WG_HEADROOM, 0xa5, WG_HEADROOM);
			memset(p[j].data + len, 0x5a, WG_TAILROOM);
			ep_make(seen, &ep);
			assert_int_equal(io->ops->udp_send(io, &ep, p[j].data - WG_HEADROOM,
							   len + WG_HEADROOM + WG_TAILROOM), 0);
		}
		/* nothing sent before the flush (or the next read) */
		assert_int_equal(F.udp_out.tail, seen - (unsigned int)n);
	}
	assert_int_equal(n, -EAGAIN);
	io->ops->udp_flush(io);
	assert_int_equal(seen, count);
	/* full batches, unless the many calls move fewer */
	assert_int_equal(batches, (count + F.many_max - 1) / F.many_max);
	assert_int_equal(F.udp_out.tail, count);
	for (unsigned int i = 0; i < count; i++) {
		size_t len = pkt_make(i, buf);

		assert_int_equal(F.udp_out.len[i], len + WG_HEADROOM + WG_TAILROOM);
		assert_memory_equal(F.udp_out.data[i] + WG_HEADROOM, buf, len);
		ep_make(i, &ep);
		assert_int_equal(F.udp_out.ep[i].in.sin_port, ep.in.sin_port);
	}
}

/* The other way: datagrams in, "opened" packets written, held until tun_flush. */
static void run_rx(struct pktio *io, unsigned int count)
{
	uint8_t buf[2048];
	struct wg_datagram *d;
	struct wg_endpoint ep;
	unsigned int seen = 0;
	int n;

	for (unsigned int i = 0; i < count; i++) {
		ep_make(i, &ep);
		fake_push(&F.udp_in, buf, pkt_make(i, buf), &ep);
	}
	while ((n = io->ops->udp_recv_batch(io, &d)) > 0) {
		for (int j = 0; j < n; j++, seen++) {
			size_t len = pkt_make(seen, buf);

			assert_int_equal(d[j].len, len);
			assert_memory_equal(d[j].data, buf, len);
			ep_make(seen, &ep);
			assert_int_equal(d[j].from.in.sin_port, ep.in.sin_port);
			/* the inner packet lies inside the datagram */
			assert_int_equal(io->ops->tun_write(io, d[j].data + 16, len - 16),
					 (ssize_t)(len - 16));
		}
		assert_int_equal(F.tun_out.tail, seen - (unsigned int)n);
		io->ops->tun_flush(io);
		assert_int_equal(F.tun_out.tail, seen);
	}
	assert_int_equal(n, -EAGAIN);
	assert_int_equal(seen, count);
	for (unsigned int i = 0; i < count; i++) {
		size_t len = pkt_make(i, buf);

		assert_int_equal(F.tun_out.len[i], len - 16);
		assert_memory_equal(F.tun_out.data[i], buf + 16, len - 16);
	}
}

/* No many calls: one single call per packet, whole batches all the same. */
static void test_singles(void **state)
{
	struct pktio io;

	(void)state;
	io_open(&io, NULL);
	run_tx(&io, 150);
	/* one read per packet, one that found none after the short batch (64, 64, 22), one last */
	assert_int_equal(F.single_calls[PKTIO_MANY_TUN_RECV], 150 + 2);
	assert_int_equal(F.single_calls[PKTIO_MANY_UDP_SEND], 150);
	run_rx(&io, 150);
	assert_int_equal(F.single_calls[PKTIO_MANY_TUN_SEND], 150);
	assert_int_equal(drops(&io), 0);
	assert_false(pktio_batch_uses_many(&io, PKTIO_MANY_UDP_RECV));
	io_close(&io);
}

/* Many calls that move a few at a time: no single call at all. */
static void test_many(void **state)
{
	struct pktio io;

	(void)state;
	io_open(&io, &many_ops);
	F.many_max = 5;
	run_tx(&io, 150);
	run_rx(&io, 150);
	for (int w = 0; w < 4; w++) {
		assert_int_equal(F.single_calls[w], 0);
		assert_true(F.many_calls[w] > 0);
		assert_true(pktio_batch_uses_many(&io, (unsigned int)w));
	}
	/* 150 sends of at most 5: at least 30 calls */
	assert_true(F.many_calls[PKTIO_MANY_UDP_SEND] >= 30);
	assert_int_equal(drops(&io), 0);
	io_close(&io);
}

/* A kernel without the calls: each refusal switches to single calls for good. */
static void test_fallback(void **state)
{
	const int errs[] = { -ENOSYS, -EINVAL, -EOPNOTSUPP };
	struct pktio io;

	(void)state;
	for (unsigned int e = 0; e < 3; e++) {
		io_open(&io, &many_ops);
		for (int w = 0; w < 4; w++)
			F.many_err[w] = errs[e];
		run_tx(&io, 100);
		run_rx(&io, 100);
		for (int w = 0; w < 4; w++) {
			/* tried once, then never again */
			assert_int_equal(F.many_calls[w], 1);
			assert_false(pktio_batch_uses_many(&io, (unsigned int)w));
		}
		assert_int_equal(F.single_calls[PKTIO_MANY_UDP_SEND], 100);
		assert_int_equal(F.single_calls[PKTIO_MANY_TUN_SEND], 100);
		assert_int_equal(drops(&io), 0);
		io_close(&io);
	}
	/* only one of them refused: the others stay */
	io_open(&io, &many_ops);
	F.many_err[PKTIO_MANY_UDP_SEND] = -EOPNOTSUPP;
	run_tx(&io, 100);
	assert_true(pktio_batch_uses_many(&io, PKTIO_MANY_TUN_RECV));
	assert_false(pktio_batch_uses_many(&io, PKTIO_MANY_UDP_SEND));
	assert_int_equal(F.single_calls[PKTIO_MANY_TUN_RECV], 0);
	io_close(&io);
}

/* Other errors are not a refusal: the packet that cannot go is dropped, counted. */
static void test_send_errors(void **state)
{
	struct pktio io;
	uint8_t buf[2048];
	struct wg_packet *p;
	struct wg_endpoint ep;
	int n;

	(void)state;
	io_open(&io, &many_ops);
	F.many_max = 4;
	F.send_eagain = 3;	/* every third call: no room */
	for (unsigned int i = 0; i < 40; i++)
		fake_push(&F.tun_in, buf, pkt_make(i, buf), NULL);
	n = io.ops->tun_read_batch(&io, &p);
	assert_int_equal(n, 4);		/* the fake's many_max */
	ep_make(0, &ep);
	for (int j = 0; j < n; j++)
		io.ops->udp_send(&io, &ep, p[j].data, p[j].len);
	io.ops->udp_flush(&io);
	/* 4 sends: call 1 moves 4 */
	assert_int_equal(F.udp_out.tail, 4);
	n = io.ops->tun_read_batch(&io, &p);
	assert_int_equal(n, 4);
	for (int j = 0; j < n; j++)
		io.ops->udp_send(&io, &ep, p[j].data, p[j].len);
	io.ops->udp_flush(&io);
	/* call 2 moves 4 */
	assert_int_equal(F.udp_out.tail, 8);
	n = io.ops->tun_read_batch(&io, &p);
	for (int j = 0; j < n; j++)
		io.ops->udp_send(&io, &ep, p[j].data, p[j].len);
	io.ops->udp_flush(&io);
	/* call 3 fails (one dropped), call 4 moves the other 3 */
	assert_int_equal(io.stats.drops[PKTIO_DROP_SEND], 1);
	assert_int_equal(drops(&io), 1);
	assert_int_equal(F.udp_out.tail, 11);
	assert_true(pktio_batch_uses_many(&io, PKTIO_MANY_UDP_SEND));
	io_close(&io);
}

/* What cannot be a peer's datagram is dropped, and the batch goes on. */
static void test_truncated(void **state)
{
	uint8_t big[2048] = { 0 }, buf[2048];
	struct wg_datagram *d;
	struct wg_endpoint ep;
	struct pktio io;
	int n;

	(void)state;
	for (int many = 0; many < 2; many++) {
		io_open(&io, many ? &many_ops : NULL);
		ep_make(0, &ep);
		fake_push(&F.udp_in, buf, pkt_make(1, buf), &ep);
		fake_push(&F.udp_in, big, sizeof(big), &ep);	/* more than a slot holds */
		fake_push(&F.udp_in, buf, pkt_make(2, buf), &ep);
		n = io.ops->udp_recv_batch(&io, &d);
		assert_int_equal(n, 2);
		assert_int_equal(d[0].len, pkt_make(1, buf));
		assert_int_equal(d[1].len, pkt_make(2, buf));
		assert_memory_equal(d[1].data, buf, d[1].len);
		assert_int_equal(io.stats.drops[PKTIO_DROP_SOCKET_IN], 1);
		assert_int_equal(drops(&io), 1);
		io_close(&io);
	}
}

/* A flood of bad datagrams holds a receive for at most two slots' worth of tries. */
static void test_bad_flood(void **state)
{
	uint8_t big[2048] = { 0 }, buf[2048];
	struct wg_datagram *d;
	struct wg_endpoint ep;
	struct pktio io;
	int n, calls = 0;

	(void)state;
	io_open(&io, NULL);
	ep_make(0, &ep);
	for (int i = 0; i < 300; i++)
		fake_push(&F.udp_in, big, sizeof(big), &ep);
	fake_push(&F.udp_in, buf, pkt_make(3, buf), &ep);
	do {
		n = io.ops->udp_recv_batch(&io, &d);
		calls++;
		assert_true(F.single_calls[PKTIO_MANY_UDP_RECV] <= (unsigned int)calls * 2 * PKTIO_BATCH_MAX);
	} while (n == -EAGAIN && calls < 10);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].len, pkt_make(3, buf));
	assert_int_equal(calls, 3);	/* 128 + 128 tries, then 44 bad and the good one */
	assert_int_equal(io.stats.drops[PKTIO_DROP_SOCKET_IN], 300);
	io_close(&io);
}

/* A packet longer than the MTU (raised behind our back) is dropped, never cut short. */
static void test_device_too_long(void **state)
{
	uint8_t big[1500], buf[2048];
	struct wg_packet *p;
	struct pktio io;
	int n;

	(void)state;
	memset(big, 0x45, sizeof(big));
	for (int many = 0; many < 2; many++) {
		io_open(&io, many ? &many_ops : NULL);
		fake_push(&F.tun_in, buf, pkt_make(1, buf), NULL);
		fake_push(&F.tun_in, big, sizeof(big), NULL);	/* MTU 1420 */
		fake_push(&F.tun_in, big, 1420, NULL);		/* exactly the MTU */
		n = io.ops->tun_read_batch(&io, &p);
		assert_int_equal(n, 2);
		assert_int_equal(p[0].len, pkt_make(1, buf));
		assert_int_equal(p[1].len, 1420);
		assert_int_equal(io.stats.drops[PKTIO_DROP_DEVICE_IN], 1);
		assert_int_equal(drops(&io), 1);
		io_close(&io);
	}
}

/*
 * Sends and writes from elsewhere (a handshake, a queued packet) go at
 * once, after what is held: nothing is reordered.
 */
static void test_order(void **state)
{
	uint8_t buf[2048], own[64];
	struct wg_packet *p;
	struct wg_datagram *d;
	struct wg_endpoint ep;
	struct pktio io;
	int n;

	(void)state;
	io_open(&io, &many_ops);
	ep_make(0, &ep);
	for (unsigned int i = 0; i < 3; i++)
		fake_push(&F.tun_in, buf, pkt_make(i, buf), NULL);
	n = io.ops->tun_read_batch(&io, &p);
	assert_int_equal(n, 3);
	io.ops->udp_send(&io, &ep, p[0].data, p[0].len);
	io.ops->udp_send(&io, &ep, p[1].data, p[1].len);
	memset(own, 0xee, sizeof(own));
	assert_int_equal(io.ops->udp_send(&io, &ep, own, sizeof(own)), 0);
	io.ops->udp_send(&io, &ep, p[2].data, p[2].len);
	assert_int_equal(F.udp_out.tail, 3);
	io.ops->udp_flush(&io);
	assert_int_equal(F.udp_out.tail, 4);
	assert_int_equal(F.udp_out.len[2], sizeof(own));
	assert_memory_equal(F.udp_out.data[2], own, sizeof(own));
	assert_int_equal(F.udp_out.len[3], p[2].len);

	for (unsigned int i = 0; i < 2; i++)
		fake_push(&F.udp_in, buf, pkt_make(i, buf), &ep);
	n = io.ops->udp_recv_batch(&io, &d);
	assert_int_equal(n, 2);
	io.ops->tun_write(&io, d[0].data, d[0].len);
	io.ops->tun_write(&io, own, sizeof(own));
	io.ops->tun_write(&io, d[1].data, d[1].len);
	assert_int_equal(F.tun_out.tail, 2);
	/* the next receive reuses the slots: what is held goes first */
	n = io.ops->udp_recv_batch(&io, &d);
	assert_int_equal(n, -EAGAIN);
	assert_int_equal(F.tun_out.tail, 3);
	assert_int_equal(F.tun_out.len[1], sizeof(own));
	io_close(&io);
}

/* A lone packet is handed on at once, nothing waits for a batch to fill. */
static void test_lone(void **state)
{
	uint8_t buf[2048];
	struct wg_packet *p;
	struct pktio io;

	(void)state;
	for (int many = 0; many < 2; many++) {
		io_open(&io, many ? &many_ops : NULL);
		fake_push(&F.tun_in, buf, pkt_make(5, buf), NULL);
		assert_int_equal(io.ops->tun_read_batch(&io, &p), 1);
		assert_int_equal(p[0].len, pkt_make(5, buf));
		assert_int_equal(io.ops->tun_read_batch(&io, &p), -EAGAIN);
		io_close(&io);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_singles),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_send_errors),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_device_too_long),
		cmocka_unit_test(test_bad_flood),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_lone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
