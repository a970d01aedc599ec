/* udpspray.c - test tool: hostile datagrams at a gangway or WireGuard port
 *
 *   udpspray HOST PORT MODE COUNT     MODE: random truncated oversized
 *                                     initiation response cookie data all
 *   udpspray HOST PORT replay PCAP    resend the UDP payloads a capture holds
 *                                     (those sent to PORT)
 *
 * Prints how many datagrams it sent. It never reads a reply: the capture
 * taken by the test decides whether anything answered.
 */
#include <errno.h>
#include <stdbool.h>
#include <netdb.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <sys/socket.h>

static uint8_t buf[65536];

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)random();
}

/* A datagram with a plausible WireGuard header and garbage after it. */
static size_t make_typed(uint8_t type, size_t len)
{
	fill_random(buf, len);
	buf[0] = type;
	buf[1] = buf[2] = buf[3] = 0;
	return len;
}

static size_t make_one(const char *mode, unsigned long i)
{
	static const char *modes[] = { "random", "truncated", "oversized", "initiation",
				       "response", "cookie", "data" };

	if (!strcmp(mode, "all"))
		mode = modes[i % 7];
	if (!strcmp(mode, "random")) {
		size_t len = 1 + (size_t)random() % 1500;

		fill_random(buf, len);
		return len;
	}
	if (!strcmp(mode, "truncated")) {
		static const size_t full[] = { 148, 92, 64, 32 };
		unsigned int t = (unsigned int)random() % 4;

		return make_typed((uint8_t)(t + 1), (size_t)random() % full[t]);
	}
	if (!strcmp(mode, "oversized"))
		return make_typed((uint8_t)(1 + random() % 4), 1500 + (size_t)random() % 64000);
	if (!strcmp(mode, "initiation"))
		return make_typed(1, 148);
	if (!strcmp(mode, "response"))
		return make_typed(2, 92);
	if (!strcmp(mode, "cookie"))
		return make_typed(3, 64);
	if (!strcmp(mode, "data"))
		return make_typed(4, 32 + (size_t)random() % 1400);
	return 0;
}

static int replay(int fd, const char *path, uint16_t port)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *p;
	unsigned long sent = 0;
	pcap_t *pc = pcap_open_offline(path, err);
	int dlt, r;

	if (!pc) {
		fprintf(stderr, "udpspray: %s\n", err);
		return 1;
	}
	dlt = pcap_datalink(pc);
	while ((r = pcap_next_ex(pc, &h, &p)) == 1) {
		size_t off = 0, l3;
		uint16_t dport;

		if (dlt == DLT_EN10MB)
			off = 14;
		else if (dlt == DLT_LINUX_SLL)
			off = 16;
		else if (dlt != DLT_RAW)
			continue;
		if (h->caplen < off + 20)
			continue;
		if ((p[off] >> 4) == 4)
			l3 = (size_t)(p[off] & 15) * 4;
		else if ((p[off] >> 4) == 6)
			l3 = 40;
		else
			continue;
		if (h->caplen < off + l3 + 8)
			continue;
		/* The capture's bytes have no alignment: read the port bytewise. */
		dport = (uint16_t)(p[off + l3 + 2] << 8 | p[off + l3 + 3]);
		if (dport != port)
			continue;
		if (send(fd, p + off + l3 + 8, h->caplen - off - l3 - 8, 0) >= 0)
			sent++;
	}
	pcap_close(pc);
	printf("udpspray: replayed %lu datagrams\n", sent);
	return 0;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	unsigned long count, sent = 0;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: udpspray HOST PORT MODE COUNT | HOST PORT replay PCAP\n");
		return 2;
	}
	if (getaddrinfo(argv[1], argv[2], &hints, &ai)) {
		fprintf(stderr, "udpspray: cannot resolve %s\n", argv[1]);
		return 2;
	}
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		perror("udpspray");
		freeaddrinfo(ai);
		return 1;
	}
	freeaddrinfo(ai);
	if (!strcmp(argv[3], "replay"))
		return replay(fd, argv[4], (uint16_t)atoi(argv[2]));
	{
		static const char *known[] = { "random", "truncated", "oversized", "initiation",
					       "response", "cookie", "data", "all" };
		bool ok = false;

		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok |= !strcmp(argv[3], known[i]);
		if (!ok) {
			fprintf(stderr, "udpspray: unknown mode %s\n", argv[3]);
			return 2;
		}
	}
	srandom((unsigned int)getpid());
	count = strtoul(argv[4], NULL, 10);
	for (unsigned long i = 0; i < count; i++) {
		size_t len = make_one(argv[3], i);

		/* ECONNREFUSED from an earlier ICMP error is not our concern. */
		if (send(fd, buf, len, 0) >= 0 || errno == ECONNREFUSED)
			sent++;
	}
	printf("udpspray: sent %lu %s datagrams\n", sent, argv[3]);
	return 0;
}
