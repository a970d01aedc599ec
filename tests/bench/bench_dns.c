/* bench_dns.c - DNS query throughput and latency against one server (UDP)
 *
 * bench_dns ADDRESS PORT NAME COUNT WINDOW
 *
 * Sends COUNT A queries for NAME (built once by ldns, ids varied), keeping
 * WINDOW of them outstanding, and prints one line: answered queries per
 * second, p50/p99/max latency in microseconds, and queries lost (no answer
 * within 1 s). Every answer is parsed by ldns and must be NOERROR with an
 * answer, or it counts as bad. WINDOW 1 measures latency alone.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = { 0 };
	ldns_pkt *q = NULL, *r;
	uint8_t *wire = NULL, buf[4096];
	uint64_t *sent, *lat, t0, elapsed;
	size_t len, count, window, done = 0, next = 0, lost = 0, bad = 0, n_lat = 0;
	socklen_t sl;
	int fd;

	if (argc != 6) {
		fprintf(stderr, "usage: bench_dns ADDRESS PORT NAME COUNT WINDOW\n");
		return 2;
	}
	count = strtoul(argv[4], NULL, 10);
	window = strtoul(argv[5], NULL, 10);
	if (count == 0 || window == 0 || window > 1024)
		return 2;
	if (inet_pton(AF_INET, argv[1], &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)atoi(argv[2]));
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[1], &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)atoi(argv[2]));
		sl = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "bench_dns: '%s' is not an address\n", argv[1]);
		return 2;
	}
	if (ldns_pkt_query_new_frm_str(&q, argv[3], LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD) !=
	    LDNS_STATUS_OK || ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK) {
		fprintf(stderr, "bench_dns: cannot build a query for '%s'\n", argv[3]);
		return 1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		perror("bench_dns: socket");
		return 1;
	}
	sent = calloc(65536, sizeof(*sent));
	lat = calloc(count, sizeof(*lat));
	if (!sent || !lat)
		return 1;
	t0 = now_ns();
	while (done < count) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t got;

		/* Keep the window full; the id says which query an answer is for. */
		while (next < count && next - done < window) {
			uint16_t id = (uint16_t)next;

			ldns_write_uint16(wire, id);
			sent[id] = now_ns();
			if (send(fd, wire, len, 0) < 0 && errno != ENOBUFS)
				return 1;
			next++;
		}
		if (poll(&pfd, 1, 1000) <= 0) {
			lost += next - done;	/* a whole window silent for 1 s */
			done = next;
			continue;
		}
		got = recv(fd, buf, sizeof(buf), 0);
		if (got < 12)
			continue;
		r = NULL;
		if (ldns_wire2pkt(&r, buf, (size_t)got) != LDNS_STATUS_OK ||
		    ldns_pkt_get_rcode(r) != LDNS_RCODE_NOERROR || ldns_pkt_ancount(r) == 0)
			bad++;
		else
			lat[n_lat++] = now_ns() - sent[ldns_pkt_id(r)];
		ldns_pkt_free(r);
		done++;
	}
	elapsed = now_ns() - t0;
	qsort(lat, n_lat, sizeof(*lat), cmp_u64);
	printf("%.0f q/s  p50 %.0f us  p99 %.0f us  max %.0f us  answered %zu  lost %zu  bad %zu\n",
	       (double)n_lat * 1e9 / (double)elapsed,
	       n_lat ? (double)lat[n_lat / 2] / 1000.0 : 0.0,
	       n_lat ? (double)lat[n_lat * 99 / 100] / 1000.0 : 0.0,
	       n_lat ? (double)lat[n_lat - 1] / 1000.0 : 0.0, n_lat, lost, bad);
	free(wire);
	ldns_pkt_free(q);
	free(sent);
	free(lat);
	close(fd);
	return n_lat ? 0 : 1;
}
