/* bench_batch.c - the engine's batches with and without crypto worker threads
 *
 *   build/tests/bench_batch [seconds per case]
 *
 * Two engines in one process, connected in memory. Each round, engine A
 * seals a batch of 44 packets of 1420 bytes (what one 64 KiB TCP
 * superpacket becomes) with wg_device_tx_batch() and engine B opens them
 * with wg_device_rx_batch(): the AEAD work and the engine's own, without
 * system calls. Measured in wall-clock time for pools of 0 to 3 workers
 * in alternating slices, so that the ratio to 0 workers (the baseline, the
 * same code as a daemon with CryptoWorkers = 0) shows what the threads
 * add on this machine when its cores are otherwise idle.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "crypto.h"
#include "pool.h"
#include "prefix.h"
#include "wg.h"

#define BATCH		44
#define PKT_LEN		1420
#define SLOT		(WG_HEADROOM + PKT_LEN + WG_TAILROOM + 16)
#define SLICES		5
#define MAX_CASES	(POOL_MAX_WORKERS + 1)

struct side {
	struct wg_device *dev;
	struct wg_endpoint addr;
	/* datagrams it sent, waiting for the other side */
	uint8_t out[4 * BATCH][SLOT];
	struct wg_datagram dg[4 * BATCH];
	unsigned int n_out;
	unsigned long long delivered;
};

static int bench_send(void *ctx, const struct wg_endpoint *to, const uint8_t *buf, size_t len)
{
	struct side *s = ctx;

	(void)to;
	if (s->n_out >= 4 * BATCH || len > SLOT)
		return -ENOBUFS;
	/* sealed in place in the batch buffer: copy, as the socket would */
	memcpy(s->out[s->n_out], buf, len);
	s->dg[s->n_out].data = s->out[s->n_out];
	s->dg[s->n_out].len = len;
	s->dg[s->n_out].from = s->addr;
	s->n_out++;
	return 0;
}

static int bench_deliver(void *ctx, struct wg_peer *from, const uint8_t *pkt, size_t len)
{
	struct side *s = ctx;

	(void)from;
	(void)pkt;
	(void)len;
	s->delivered++;
	return 0;
}

static const struct wg_ops bench_ops = { .send = bench_send, .deliver = bench_deliver };

static uint64_t bench_boottime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * WG_NSEC + (uint64_t)ts.tv_nsec;
}

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hand what a sent to b until both are quiet. */
static void bench_pump(struct side *a, struct side *b)
{
	for (int k = 0; k < 16 && (a->n_out || b->n_out); k++) {
		unsigned int n = a->n_out;

		a->n_out = 0;
		wg_device_rx_batch(b->dev, a->dg, n, bench_boottime());
		n = b->n_out;
		b->n_out = 0;
		wg_device_rx_batch(a->dev, b->dg, n, bench_boottime());
	}
}

static int bench_side(struct side *s, const uint8_t priv[WG_KEY_LEN], struct pool *pool,
		      int octet)
{
	s->dev = wg_device_new(priv, &bench_ops, s);
	if (!s->dev)
		return -1;
	if (pool && wg_device_set_pool(s->dev, pool))
		return -1;
	s->addr.in.sin_family = AF_INET;
	s->addr.in.sin_port = htons((uint16_t)(51000 + octet));
	s->addr.in.sin_addr.s_addr = htonl(0x7f000001);
	return 0;
}

static int bench_link(struct side *s, struct side *other, const char *allowed)
{
	uint8_t pub[WG_KEY_LEN];
	struct wg_peer *p;
	struct prefix pfx;

	wg_device_public_key(other->dev, pub);
	p = wg_peer_new(s->dev, pub, NULL);
	if (!p || prefix_parse(&pfx, allowed, false) || wg_peer_allow(p, &pfx))
		return -1;
	wg_peer_set_endpoint(p, &other->addr);
	return 0;
}

static void bench_free(struct side *s)
{
	wg_device_free(s->dev);
	s->dev = NULL;
}

/*
 * One case: a pair sharing one pool of `workers` threads (the engines take
 * turns on the one calling thread, as a daemon's two directions do).
 */
struct bench_case {
	struct pool *pool;
	struct side a, b;
	uint8_t pkts[BATCH][SLOT];
	struct wg_packet p[BATCH];
	uint8_t tmpl[PKT_LEN];
};

static int bench_case_init(struct bench_case *c, unsigned int workers)
{
	uint8_t ka[WG_KEY_LEN], kb[WG_KEY_LEN];

	if (workers && !(c->pool = pool_new(workers)))
		return -1;
	if (crypto_x25519_genkey(ka) || crypto_x25519_genkey(kb) ||
	    bench_side(&c->a, ka, c->pool, 1) || bench_side(&c->b, kb, c->pool, 2) ||
	    bench_link(&c->a, &c->b, "10.9.0.2/32") || bench_link(&c->b, &c->a, "10.9.0.1/32"))
		return -1;
	wg_peer_connect(wg_peer_next(c->a.dev, NULL), bench_boottime());
	bench_pump(&c->a, &c->b);
	/* an IPv4 UDP packet 10.9.0.1 -> 10.9.0.2 */
	memset(c->tmpl, 0xa5, sizeof(c->tmpl));
	memcpy(c->tmpl, "\x45\x00\x05\x8c\x00\x00\x40\x00\x40\x11\x00\x00"
			"\x0a\x09\x00\x01\x0a\x09\x00\x02", 20);
	return 0;
}

/* Seal one batch on a and open it on b; the packets b delivered. */
static unsigned long long bench_round(struct bench_case *c)
{
	unsigned long long before = c->b.delivered;
	uint64_t now = bench_boottime();

	for (int i = 0; i < BATCH; i++) {
		memcpy(c->pkts[i] + WG_HEADROOM, c->tmpl, PKT_LEN);
		c->p[i].data = c->pkts[i] + WG_HEADROOM;
		c->p[i].len = PKT_LEN;
	}
	wg_device_tx_batch(c->a.dev, c->p, BATCH, now);
	{
		unsigned int n = c->a.n_out;

		c->a.n_out = 0;
		wg_device_rx_batch(c->b.dev, c->a.dg, n, now);
	}
	c->b.n_out = 0;	/* keepalives back are not part of the measure */
	return c->b.delivered - before;
}

static double bench_slice(struct bench_case *c, double seconds)
{
	double t0 = bench_now(), t;
	unsigned long long pkts = 0;

	do {
		for (int k = 0; k < 16; k++)
			pkts += bench_round(c);
		t = bench_now() - t0;
	} while (t < seconds);
	return (double)pkts / t;
}

static int bench_cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	static struct bench_case cases[MAX_CASES];
	double pps[MAX_CASES][SLICES], ratio[MAX_CASES][SLICES], seconds = 1.0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int n_cases = MAX_CASES;

	if (argc > 1)
		seconds = atof(argv[1]);
	if (seconds <= 0 || seconds > 60) {
		fprintf(stderr, "usage: %s [seconds per case]\n", argv[0]);
		return 2;
	}
	if (crypto_init()) {
		fprintf(stderr, "bench_batch: crypto init failed\n");
		return 1;
	}
	for (unsigned int w = 0; w < n_cases; w++) {
		if (bench_case_init(&cases[w], w)) {
			fprintf(stderr, "bench_batch: setup failed\n");
			return 1;
		}
		/* the pair must carry data before it is measured */
		if (bench_round(&cases[w]) != BATCH) {
			fprintf(stderr, "bench_batch: %u workers: the batch did not arrive\n", w);
			return 1;
		}
	}
	for (int s = 0; s < SLICES; s++)
		for (unsigned int w = 0; w < n_cases; w++)
			pps[w][s] = bench_slice(&cases[w], seconds / SLICES);
	for (int s = 0; s < SLICES; s++)
		for (unsigned int w = 0; w < n_cases; w++)
			ratio[w][s] = pps[w][s] / pps[0][s];
	printf("# engine batches of %d x %d B, sealed by one engine and opened by another,\n"
	       "# %ld CPUs, %.1f s per case in %d alternating slices (medians);\n"
	       "# wall-clock rates, so extra threads count only if cores are free\n",
	       BATCH, PKT_LEN, cpus, seconds, SLICES);
	printf("%-8s %12s %10s %10s\n", "workers", "packets/s", "Gbit/s", "vs 0");
	for (unsigned int w = 0; w < n_cases; w++) {
		double v[SLICES], r[SLICES];

		memcpy(v, pps[w], sizeof(v));
		memcpy(r, ratio[w], sizeof(r));
		qsort(v, SLICES, sizeof(v[0]), bench_cmp);
		qsort(r, SLICES, sizeof(r[0]), bench_cmp);
		printf("%-8u %12.0f %10.2f %9.2fx\n", w, v[SLICES / 2],
		       v[SLICES / 2] * PKT_LEN * 8 / 1e9, r[SLICES / 2]);
	}
	for (unsigned int w = 0; w < n_cases; w++) {
		bench_free(&cases[w].a);
		bench_free(&cases[w].b);
		pool_free(cases[w].pool);
	}
	return 0;
}
