/* test_captap.c - the daemon's capture tap: filters, pcap records, overflow, detach; the request grammar */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "captap.h"
#include "ctlsock.h"
#include "loop.h"

struct fixture {
	struct loop *loop;
	struct captap *tap;
	struct captap *hook;		/* what the tunnel would test */
	struct captap_stats stats;
	int sv[2][2];			/* [client][0: the tap's end, 1: the reader's] */
};

/* The tunnel's side of captap_new: remember what it would test. */
static void publish(void *ctx, struct captap *tap)
{
	struct fixture *f = ctx;

	f->hook = tap;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->loop = loop_new();
	if (!f->loop)
		return -1;
	f->tap = captap_new(f->loop, publish, f, &f->stats);
	if (!f->tap)
		return -1;
	for (int i = 0; i < 2; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, f->sv[i]) < 0)
			return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	captap_free(f->tap);
	for (int i = 0; i < 2; i++)
		close(f->sv[i][1]);	/* the tap closed its ends */
	loop_free(f->loop);
	free(f);
	return 0;
}

static void stop_loop(void *ctx, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	loop_stop(ctx);
}

/* Let the loop deliver what is pending on the tap's sockets. */
static void run_loop(struct fixture *f)
{
	assert_int_equal(loop_set_timer(f->loop, loop_now() + 50000000ULL, stop_loop, f->loop), 0);
	assert_int_equal(loop_run(f->loop), 0);
}

/* An IPv4 packet of len bytes (>= 28): UDP or TCP between two ports. */
static size_t make_ip4(uint8_t *p, size_t len, uint8_t proto, uint16_t sport, uint16_t dport)
{
	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	p[20] = (uint8_t)(sport >> 8);
	p[21] = (uint8_t)sport;
	p[22] = (uint8_t)(dport >> 8);
	p[23] = (uint8_t)dport;
	for (size_t i = 28; i < len; i++)
		p[i] = (uint8_t)i;
	return len;
}

static void read_exact(int fd, void *buf, size_t len)
{
	uint8_t *b = buf;

	while (len) {
		ssize_t n = recv(fd, b, len, 0);

		assert_true(n > 0);
		b += n;
		len -= (size_t)n;
	}
}

static size_t pending(int fd)
{
	uint8_t buf[65536];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_PEEK);

	return n < 0 ? 0 : (size_t)n;
}

/* The "ok" line, then the pcap file header: magic, version 2.4, snaplen, LINKTYPE_RAW. */
static void expect_header(int fd, uint32_t snaplen)
{
	uint8_t ok[3], h[CAPTAP_FILE_HDR_LEN];
	uint32_t magic, snap, linktype;
	uint16_t major, minor;

	read_exact(fd, ok, 3);
	assert_memory_equal(ok, "ok\n", 3);
	read_exact(fd, h, sizeof(h));
	memcpy(&magic, h, 4);
	memcpy(&major, h + 4, 2);
	memcpy(&minor, h + 6, 2);
	memcpy(&snap, h + 16, 4);
	memcpy(&linktype, h + 20, 4);
	assert_int_equal(magic, 0xa1b2c3d4);
	assert_int_equal(major, 2);
	assert_int_equal(minor, 4);
	assert_int_equal(snap, snaplen);
	assert_int_equal(linktype, 101);
}

/* One record: its header fields and the bytes kept. */
static void expect_record(int fd, const uint8_t *pkt, size_t len, size_t caplen)
{
	uint32_t rh[4];
	uint8_t data[65536];
	time_t now = time(NULL);

	read_exact(fd, rh, sizeof(rh));
	assert_true(rh[0] + 5 >= (uint32_t)now && rh[0] <= (uint32_t)now + 1);
	assert_true(rh[1] < 1000000);
	assert_int_equal(rh[2], caplen);
	assert_int_equal(rh[3], len);
	read_exact(fd, data, caplen);
	assert_memory_equal(data, pkt, caplen);
}

static int attach(struct fixture *f, int i, uint32_t snaplen, const char *filter)
{
	char err[CAPTAP_ERR_LEN];

	return captap_attach(f->tap, f->sv[i][0], snaplen, filter, "ok\n", 3, err, sizeof(err));
}

static void test_idle(void **state)
{
	struct fixture *f = *state;

	/* Nobody attached: the tunnel's pointer stays NULL, nothing is counted. */
	assert_null(f->hook);
	assert_int_equal(f->stats.clients, 0);
	close(f->sv[0][0]);
	close(f->sv[1][0]);
}

static void test_filter(void **state)
{
	struct fixture *f = *state;
	uint8_t dns[100], web[200], other[60];

	make_ip4(dns, sizeof(dns), 17, 40000, 53);
	make_ip4(web, sizeof(web), 6, 40000, 80);
	make_ip4(other, sizeof(other), 17, 53, 5353);
	assert_int_equal(attach(f, 0, 262144, "udp dst port 53"), 0);
	assert_int_equal(attach(f, 1, 262144, ""), 0);
	assert_ptr_equal(f->hook, f->tap);
	assert_int_equal(f->stats.clients, 2);
	expect_header(f->sv[0][1], 262144);
	expect_header(f->sv[1][1], 262144);

	captap_hook(f->hook, dns, sizeof(dns));
	captap_hook(f->hook, web, sizeof(web));
	captap_hook(f->hook, other, sizeof(other));
	/* The filtered client gets the match alone, the other everything, in order. */
	expect_record(f->sv[0][1], dns, sizeof(dns), sizeof(dns));
	assert_int_equal(pending(f->sv[0][1]), 0);
	expect_record(f->sv[1][1], dns, sizeof(dns), sizeof(dns));
	expect_record(f->sv[1][1], web, sizeof(web), sizeof(web));
	expect_record(f->sv[1][1], other, sizeof(other), sizeof(other));
	assert_int_equal(pending(f->sv[1][1]), 0);
	assert_int_equal(f->stats.packets, 4);
	assert_int_equal(f->stats.overflow, 0);
}

static void test_snaplen(void **state)
{
	struct fixture *f = *state;
	uint8_t big[1400];

	make_ip4(big, sizeof(big), 6, 1, 2);
	assert_int_equal(attach(f, 0, 64, NULL), 0);
	expect_header(f->sv[0][1], 64);
	captap_packet(f->tap, big, sizeof(big));
	expect_record(f->sv[0][1], big, sizeof(big), 64);
	assert_int_equal(pending(f->sv[0][1]), 0);
	close(f->sv[1][0]);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	char err[CAPTAP_ERR_LEN] = "";
	int sv[2];

	/* libpcap's own words for a bad filter; nothing attached. */
	assert_int_equal(captap_attach(f->tap, f->sv[0][0], 100, "tcp port nonsense", "ok\n", 3,
				       err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) > 0);
	assert_int_equal(f->stats.clients, 0);
	assert_null(f->hook);
	assert_int_equal(pending(f->sv[0][1]), 0);
	assert_int_equal(captap_attach(f->tap, f->sv[0][0], 0, "", NULL, 0, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(captap_attach(f->tap, f->sv[0][0], CAPTAP_SNAPLEN_MAX + 1, "", NULL, 0,
				       err, sizeof(err)), -EINVAL);
	/* At most CAPTAP_MAX_CLIENTS at once. */
	assert_int_equal(attach(f, 0, 100, "ip"), 0);
	assert_int_equal(attach(f, 1, 100, "ip6"), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(captap_attach(f->tap, sv[0], 100, "", NULL, 0, err, sizeof(err)), -EBUSY);
	assert_int_equal(f->stats.clients, 2);
	close(sv[0]);
	close(sv[1]);
}

/* Everything waiting on fd, appended to buf at *len. */
static void drain(int fd, uint8_t *buf, size_t size, size_t *len)
{
	ssize_t r;

	while (*len < size && (r = recv(fd, buf + *len, size - *len, MSG_DONTWAIT)) > 0)
		*len += (size_t)r;
}

/*
 * A reader that never reads: the socket fills, packets are dropped and
 * counted without blocking, the stream holds whole records only (a record
 * the kernel took in part is finished once there is room), and once the
 * reader drains it the tap sends again.
 */
static void test_overflow(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[1 << 20];
	uint8_t pkt[1400];
	int small = 4096, last = -1;
	size_t n = 2000, len = 0, off = 3 + CAPTAP_FILE_HDR_LEN, recs = 0;
	uint64_t before;

	close(f->sv[1][0]);
	assert_int_equal(setsockopt(f->sv[0][0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(attach(f, 0, 262144, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		make_ip4(pkt, 100 + i % 1300, 17, 1, (uint16_t)i);
		captap_packet(f->tap, pkt, 100 + i % 1300);
	}
	assert_true(f->stats.overflow > 0);
	assert_true(f->stats.packets > 0);
	assert_int_equal(f->stats.packets + f->stats.overflow, n);
	assert_int_equal(f->stats.clients, 1);
	drain(f->sv[0][1], buf, sizeof(buf), &len);
	run_loop(f);
	drain(f->sv[0][1], buf, sizeof(buf), &len);
	assert_true(len >= off);
	while (off < len) {
		uint32_t rh[4];
		int port;

		assert_true(len - off >= sizeof(rh));
		memcpy(rh, buf + off, sizeof(rh));
		assert_int_equal(rh[2], rh[3]);
		assert_true(rh[2] >= 100 && rh[2] < 1400);
		assert_true(len - off - sizeof(rh) >= rh[2]);
		/* Our packets' destination port is their sequence number: in order. */
		port = buf[off + sizeof(rh) + 22] << 8 | buf[off + sizeof(rh) + 23];
		assert_true(port > last);
		assert_int_equal(rh[2], 100 + port % 1300);
		last = port;
		off += sizeof(rh) + rh[2];
		recs++;
	}
	assert_int_equal(off, len);
	assert_int_equal(recs, f->stats.packets);
	/* Drained, and the loop reported room: packets flow again. */
	run_loop(f);
	before = f->stats.packets;
	make_ip4(pkt, 200, 17, 1, 2);
	captap_packet(f->tap, pkt, 200);
	assert_int_equal(f->stats.packets, before + 1);
	expect_record(f->sv[0][1], pkt, 200, 200);
}

/* A reader gone: the next send fails and detaches it. */
static void test_detach_on_send(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[100];

	assert_int_equal(attach(f, 0, 262144, NULL), 0);
	close(f->sv[0][1]);
	f->sv[0][1] = -1;
	make_ip4(pkt, sizeof(pkt), 17, 1, 2);
	captap_packet(f->tap, pkt, sizeof(pkt));
	assert_int_equal(f->stats.clients, 0);
	assert_null(f->hook);
	assert_int_equal(f->stats.packets, 0);
	/* The slot is free again. */
	assert_int_equal(attach(f, 1, 100, NULL), 0);
	assert_int_equal(f->stats.clients, 1);
}

/* A reader gone while no packet flows: the loop's hangup detaches it. */
static void test_detach_on_hangup(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[100];

	assert_int_equal(attach(f, 0, 262144, NULL), 0);
	assert_int_equal(attach(f, 1, 262144, NULL), 0);
	/* Closing only the writing side is not the end: it still reads. */
	assert_int_equal(shutdown(f->sv[1][1], SHUT_WR), 0);
	close(f->sv[0][1]);
	f->sv[0][1] = -1;
	run_loop(f);
	assert_int_equal(f->stats.clients, 1);
	assert_ptr_equal(f->hook, f->tap);
	expect_header(f->sv[1][1], 262144);
	make_ip4(pkt, sizeof(pkt), 17, 1, 2);
	captap_hook(f->hook, pkt, sizeof(pkt));
	expect_record(f->sv[1][1], pkt, sizeof(pkt), sizeof(pkt));
	close(f->sv[1][1]);
	f->sv[1][1] = -1;
	run_loop(f);
	assert_int_equal(f->stats.clients, 0);
	assert_null(f->hook);
}

/* The control socket's capture request (ctlsock.c). */
static void test_request(void **state)
{
	static struct ctlsock_capture cap;
	static const char *const bad[] = {
		"capture ", "capturex", "capture snaplen", "capture snaplen ", "capture snaplen 0",
		"capture snaplen 262145", "capture snaplen 99999999999", "capture snaplen 10x",
		"capture snaplen 10 ", "capture filter", "capture filter ", "capture  filter ip",
		"capture filter ip\t", "capture snaplen 10 snaplen 10", "capture tcp",
	};
	enum ctlsock_req req;

	(void)state;
	assert_int_equal(ctlsock_parse("capture", 7, &req), 0);
	assert_int_equal(req, CTLSOCK_REQ_CAPTURE);
	assert_int_equal(ctlsock_parse_capture("capture", 7, &cap), 0);
	assert_int_equal(cap.snaplen, 0);
	assert_string_equal(cap.filter, "");
	assert_int_equal(ctlsock_parse_capture("capture snaplen 96\r", 19, &cap), 0);
	assert_int_equal(cap.snaplen, 96);
	assert_string_equal(cap.filter, "");
	assert_int_equal(ctlsock_parse_capture("capture filter tcp port 80 and host 10.0.0.1", 44,
					       &cap), 0);
	assert_int_equal(cap.snaplen, 0);
	assert_string_equal(cap.filter, "tcp port 80 and host 10.0.0.1");
	assert_int_equal(ctlsock_parse_capture("capture snaplen 262144 filter icmp", 34, &cap), 0);
	assert_int_equal(cap.snaplen, 262144);
	assert_string_equal(cap.filter, "icmp");
	/* The filter is the rest of the line, "filter" and spaces included. */
	assert_int_equal(ctlsock_parse_capture("capture filter  filter", 22, &cap), 0);
	assert_string_equal(cap.filter, " filter");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ctlsock_parse(bad[i], strlen(bad[i]), &req), -EINVAL);
		assert_int_equal(ctlsock_parse_capture(bad[i], strlen(bad[i]), &cap), -EINVAL);
	}
	assert_int_equal(ctlsock_parse_capture("status", 6, &cap), -EINVAL);
	assert_int_equal(ctlsock_parse_capture("capture filter ip\0x", 19, &cap), -EINVAL);
	{
		static char big[CTLSOCK_MAX_REQ + 1];

		memcpy(big, "capture filter ", 15);
		memset(big + 15, 'a', sizeof(big) - 15);
		assert_int_equal(ctlsock_parse_capture(big, CTLSOCK_MAX_REQ - 1, &cap), 0);
		assert_int_equal(strlen(cap.filter), CTLSOCK_MAX_REQ - 1 - 15);
		assert_int_equal(ctlsock_parse_capture(big, CTLSOCK_MAX_REQ, &cap), -E2BIG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snaplen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach_on_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detach_on_hangup, setup, teardown),
		cmocka_unit_test(test_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
