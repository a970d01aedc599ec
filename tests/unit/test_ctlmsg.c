/* test_ctlmsg.c - control messages: round trips, malformations, authentication, wrapping */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "crypto.h"
#include "ctlmsg.h"

static const uint8_t K[CTLMSG_KEY_LEN] = "0123456789abcdef0123456789abcde";

static struct prefix pf(const char *s)
{
	struct prefix p;

	assert_int_equal(prefix_parse(&p, s, true), 0);
	return p;
}

static void test_roundtrip(void **state)
{
	static struct ctlmsg m, d;
	uint8_t buf[CTLMSG_MAX_LEN];
	int n;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = CTLMSG_ADVERTISE;
	m.seq = 0xdeadbeef;
	m.life = 0x3132333435363738ULL;
	m.nonce = 0x0102030405060708ULL;
	m.echo = 0x1112131415161718ULL;
	m.ctr = 0x2122232425262728ULL;
	m.prefixes[0] = pf("172.17.0.0/16");
	m.prefixes[1] = pf("fd00:1::/64");
	m.prefixes[2] = pf("0.0.0.0/0");
	m.n = 3;
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_int_equal(n, CTLMSG_HDR_LEN + 6 + 18 + 6 + CTLMSG_TAG_LEN);
	assert_memory_equal(buf, "GWY2\x01\x00\x00\x03\xde\xad\xbe\xef"
			    "\x31\x32\x33\x34\x35\x36\x37\x38\x01\x02\x03\x04\x05\x06\x07\x08\x11\x12\x13\x14\x15\x16\x17\x18"
			    "\x21\x22\x23\x24\x25\x26\x27\x28\x04\x10\xac\x11\x00\x00", 50);
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), 0);
	assert_int_equal(d.type, CTLMSG_ADVERTISE);
	assert_int_equal(d.seq, 0xdeadbeef);
	assert_true(d.life == m.life && d.nonce == m.nonce && d.echo == m.echo &&
		    d.ctr == m.ctr);
	assert_int_equal(d.n, 3);
	for (int i = 0; i < 3; i++)
		assert_true(prefix_equal(&d.prefixes[i], &m.prefixes[i]));

	m.type = CTLMSG_ACK;
	m.status[0] = CTLMSG_ST_INSTALLED;
	m.status[1] = CTLMSG_ST_CONFLICT;
	m.status[2] = CTLMSG_ST_NOT_ALLOWED;
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_int_equal(n, CTLMSG_HDR_LEN + 7 + 19 + 7 + CTLMSG_TAG_LEN);
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), 0);
	assert_int_equal(d.status[1], CTLMSG_ST_CONFLICT);
	assert_int_equal(d.status[2], CTLMSG_ST_NOT_ALLOWED);

	m.type = CTLMSG_SYNC;
	m.n = 0;
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_int_equal(n, CTLMSG_HDR_LEN + CTLMSG_TAG_LEN);
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), 0);
	assert_int_equal(d.type, CTLMSG_SYNC);
	m.type = CTLMSG_HELLO;
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), 0);
	assert_int_equal(d.type, CTLMSG_HELLO);
	/* A full message fits the documented maximum. */
	m.type = CTLMSG_ACK;
	m.n = CTLMSG_MAX_PREFIXES;
	for (size_t i = 0; i < m.n; i++)
		m.prefixes[i] = pf("fd00::/8");
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)),
			 CTLMSG_HDR_LEN + CTLMSG_MAX_PREFIXES * 19 + CTLMSG_TAG_LEN);
	/* Remapped entries carry the host's prefix too; too many do not fit. */
	for (size_t i = 0; i < m.n; i++) {
		m.status[i] = CTLMSG_ST_REMAPPED;
		m.mapped[i] = pf("fe00::/8");
	}
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
	m.n = CTLMSG_MAX_PREFIXES + 1;
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
	/* SYNC and HELLO carry no entries. */
	m.n = 1;
	m.type = CTLMSG_HELLO;
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
}

static void test_remapped_ack(void **state)
{
	static struct ctlmsg m, d;
	uint8_t buf[CTLMSG_MAX_LEN];
	const size_t e = CTLMSG_HDR_LEN + 7;	/* the mapped prefix of entry 0 */
	int n;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = CTLMSG_ACK;
	m.seq = 9;
	m.life = 1;
	m.nonce = 1;
	m.n = 2;
	m.prefixes[0] = pf("172.17.0.0/16");
	m.status[0] = CTLMSG_ST_REMAPPED;
	m.mapped[0] = pf("10.217.0.0/16");
	m.prefixes[1] = pf("172.18.0.0/16");
	m.status[1] = CTLMSG_ST_INSTALLED;
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_int_equal(n, CTLMSG_HDR_LEN + 7 + 6 + 7 + CTLMSG_TAG_LEN);
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), 0);
	assert_int_equal(d.status[0], CTLMSG_ST_REMAPPED);
	assert_true(prefix_equal(&d.mapped[0], &m.mapped[0]));
	assert_int_equal(d.status[1], CTLMSG_ST_INSTALLED);
	/* A mapped prefix of another length or family is malformed. */
	buf[e + 1] = 24;
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), -EBADMSG);
	buf[e + 1] = 16;
	buf[e] = 6;
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), -EBADMSG);
	buf[e] = 4;
	/* Truncated inside the mapped prefix (tag and all). */
	assert_int_equal(ctlmsg_decode(&d, K, buf, e + 3 + CTLMSG_TAG_LEN), -EBADMSG);
	/* Restored: well formed and intact again. */
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), 0);
}

/*
 * ctlmsg_ack_entry_len counts what the encoder writes: a full ACK of 60
 * IPv6 prefixes fits with every remap the room allows, and one more remap
 * does not (the host's accounting is the encoder's).
 */
static void test_ack_room(void **state)
{
	static struct ctlmsg m;
	uint8_t buf[CTLMSG_MAX_LEN];
	size_t used = 0, fit = 0;
	char text[64];
	int n;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = CTLMSG_ACK;
	m.life = 1;
	m.nonce = 1;
	m.n = CTLMSG_MAX_PREFIXES;
	for (size_t i = 0; i < m.n; i++) {
		snprintf(text, sizeof(text), "fd00:%zx::/64", i + 1);
		m.prefixes[i] = pf(text);
		snprintf(text, sizeof(text), "fd01:%zx::/64", i + 1);
		m.mapped[i] = pf(text);
		m.status[i] = CTLMSG_ST_INSTALLED;
		used += ctlmsg_ack_entry_len(&m.prefixes[i], NULL);
	}
	/* The plain ACK of a whole advertisement always fits. */
	assert_true(used <= CTLMSG_BODY_MAX);
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_int_equal(n, (int)(CTLMSG_HDR_LEN + used + CTLMSG_TAG_LEN));
	for (size_t i = 0; i < m.n; i++) {
		size_t extra = ctlmsg_ack_entry_len(&m.prefixes[i], &m.mapped[i]) -
			       ctlmsg_ack_entry_len(&m.prefixes[i], NULL);

		if (used + extra > CTLMSG_BODY_MAX)
			break;
		used += extra;
		m.status[i] = CTLMSG_ST_REMAPPED;
		fit++;
	}
	assert_true(fit > 0 && fit < m.n);
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_int_equal(n, (int)(CTLMSG_HDR_LEN + used + CTLMSG_TAG_LEN));
	m.status[fit] = CTLMSG_ST_REMAPPED;
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
}

/* The guest translates only prefixes it advertises, whatever the ACK lists. */
static void test_ack_remaps(void **state)
{
	static struct ctlmsg adv, ack;
	struct prefix g[CTLMSG_MAX_PREFIXES], h[CTLMSG_MAX_PREFIXES];
	size_t ignored = 99;

	(void)state;
	memset(&adv, 0, sizeof(adv));
	adv.type = CTLMSG_ADVERTISE;
	adv.n = 2;
	adv.prefixes[0] = pf("172.17.0.0/16");
	adv.prefixes[1] = pf("172.18.0.0/16");
	memset(&ack, 0, sizeof(ack));
	ack.type = CTLMSG_ACK;
	ack.n = 5;
	ack.prefixes[0] = pf("172.18.0.0/16");		/* ours: taken */
	ack.status[0] = CTLMSG_ST_REMAPPED;
	ack.mapped[0] = pf("10.218.0.0/16");
	ack.prefixes[1] = pf("192.168.1.0/24");		/* not ours: a DNAT of the host's choosing */
	ack.status[1] = CTLMSG_ST_REMAPPED;
	ack.mapped[1] = pf("10.99.1.0/24");
	ack.prefixes[2] = pf("172.17.0.0/16");		/* ours, installed as is */
	ack.status[2] = CTLMSG_ST_INSTALLED;
	ack.prefixes[3] = pf("172.18.0.0/24");		/* inside ours, but not ours */
	ack.status[3] = CTLMSG_ST_REMAPPED;
	ack.mapped[3] = pf("10.218.0.0/24");
	ack.prefixes[4] = pf("172.18.0.0/16");		/* ours again: once is enough */
	ack.status[4] = CTLMSG_ST_REMAPPED;
	ack.mapped[4] = pf("10.99.0.0/16");
	assert_int_equal(ctlmsg_ack_remaps(&ack, &adv, g, h, &ignored), 1);
	assert_true(prefix_equal(&g[0], &adv.prefixes[1]));
	assert_true(prefix_equal(&h[0], &ack.mapped[0]));
	assert_int_equal(ignored, 3);
	/* Nothing advertised: nothing translated. */
	adv.n = 0;
	assert_int_equal(ctlmsg_ack_remaps(&ack, &adv, g, h, &ignored), 0);
	assert_int_equal(ignored, 4);
}

/* header (life and challenge 1) | body | a correct tag: only the malformation can fail */
static size_t mk(uint8_t *out, const char *hdr8, const char *body, size_t blen)
{
	memcpy(out, hdr8, 8);
	memset(out + 8, 0, CTLMSG_HDR_LEN - 8);
	out[19] = 1;
	out[27] = 1;
	memcpy(out + CTLMSG_HDR_LEN, body, blen);
	assert_int_equal(crypto_mac(out + CTLMSG_HDR_LEN + blen, K, sizeof(K), out,
				    CTLMSG_HDR_LEN + blen), 0);
	return CTLMSG_HDR_LEN + blen + CTLMSG_TAG_LEN;
}

/* A message: the first 8 header bytes given, the rest filled in (mk). */
struct bad_msg {
	const char *hdr, *body;
	size_t blen;
};

/* Every one of bad[] is refused as malformed. */
static void expect_malformed(const struct bad_msg *bad, size_t n, const char *what)
{
	static struct ctlmsg d;
	uint8_t buf[CTLMSG_MAX_LEN + 64];

	for (size_t i = 0; i < n; i++) {
		size_t len = mk(buf, bad[i].hdr, bad[i].body, bad[i].blen);

		if (ctlmsg_decode(&d, K, buf, len) != -EBADMSG)
			fail_msg("malformed %scase %zu accepted", what, i);
	}
}

static void test_malformed(void **state)
{
	static struct ctlmsg d;
	static const struct bad_msg bad[] = {
		{ "GWY1\x01\x00\x00\x00", "", 0 },				/* old magic */
		{ "GWY2\x07\x00\x00\x00", "", 0 },				/* type */
		{ "GWY2\x00\x00\x00\x00", "", 0 },				/* type 0 */
		{ "GWY2\x01\x01\x00\x00", "", 0 },				/* flags */
		{ "GWY2\x01\x00\x00\x01", "", 0 },				/* missing entry */
		{ "GWY2\x01\x00\x00\x01", "\x04\x08\x0a", 3 },			/* short address */
		{ "GWY2\x01\x00\x00\x01", "\x05\x08\x0a\x00\x00\x00", 6 },	/* family */
		{ "GWY2\x01\x00\x00\x01", "\x04\x21\x0a\x00\x00\x00", 6 },	/* /33 */
		{ "GWY2\x01\x00\x00\x01", "\x04\x08\x0a\x01\x00\x00", 6 },	/* host bits */
		{ "GWY2\x01\x00\x00\x01", "\x04\x08\x0a\x00\x00\x00\x00", 7 },	/* trailing */
		{ "GWY2\x02\x00\x00\x01", "\x09\x04\x08\x0a\x00\x00\x00", 7 },	/* status */
		{ "GWY2\x03\x00\x00\x01", "\x04\x08\x0a\x00\x00\x00", 6 },	/* sync + entry */
		{ "GWY2\x04\x00\x00\x01", "\x04\x08\x0a\x00\x00\x00", 6 },	/* hello + entry */
		{ "GWY2\x01\x00\x00\x3d", "", 0 },				/* 61 entries */
	};
	uint8_t buf[CTLMSG_MAX_LEN + 64];
	size_t n;

	(void)state;
	expect_malformed(bad, sizeof(bad) / sizeof(bad[0]), "");
	/* ...while the same entry, well formed, passes... */
	n = mk(buf, "GWY2\x01\x00\x00\x01", "\x04\x08\x0a\x00\x00\x00", 6);
	assert_int_equal(ctlmsg_decode(&d, K, buf, n), 0);
	/* ...but not with a life or challenge of 0, without its tag, or cut short. */
	buf[19] = 0;
	assert_int_equal(ctlmsg_decode(&d, K, buf, n), -EBADMSG);
	buf[19] = 1;
	buf[27] = 0;
	assert_int_equal(ctlmsg_decode(&d, K, buf, n), -EBADMSG);
	buf[27] = 1;
	assert_int_equal(ctlmsg_decode(&d, K, buf, n - CTLMSG_TAG_LEN), -EBADMSG);
	for (size_t len = 0; len < n; len++)
		assert_int_not_equal(ctlmsg_decode(&d, K, buf, len), 0);
	/* Oversized: more than a 1280-byte packet holds. */
	memset(buf, 0, sizeof(buf));
	n = mk(buf, "GWY2\x01\x00\x00\x00", "", 0);
	assert_int_equal(ctlmsg_decode(&d, K, buf, CTLMSG_MAX_LEN + 1), -EBADMSG);
}

/* ---- authentication --------------------------------------------------------- */

struct side {
	uint8_t priv[CRYPTO_KEY_LEN], pub[CRYPTO_KEY_LEN];
};

static void side_new(struct side *s)
{
	assert_int_equal(crypto_x25519_genkey(s->priv), 0);
	assert_int_equal(crypto_x25519_pubkey(s->pub, s->priv), 0);
}

static const uint8_t PSK[32] = "preshared key, 32 bytes long...";

/* guest g and host h, with their auth states for each other */
struct pair {
	struct side gk, hk;
	struct ctlmsg_auth g, h;
};

static void pair_new(struct pair *p, const uint8_t *psk)
{
	side_new(&p->gk);
	side_new(&p->hk);
	assert_int_equal(ctlmsg_auth_init(&p->g, p->gk.priv, p->hk.pub, psk), 0);
	assert_int_equal(ctlmsg_auth_init(&p->h, p->hk.priv, p->gk.pub, psk), 0);
}

static struct ctlmsg *adv(uint32_t seq)
{
	static struct ctlmsg m;

	memset(&m, 0, sizeof(m));
	m.type = CTLMSG_ADVERTISE;
	m.seq = seq;
	m.n = 1;
	m.prefixes[0] = pf("172.17.0.0/16");
	return &m;
}

static const struct ctlmsg hello_msg = { .type = CTLMSG_HELLO };

/* from seals m, to opens it: to's verdict */
static int xfer(struct ctlmsg_auth *from, struct ctlmsg_auth *to, const struct ctlmsg *m,
		uint8_t *buf, int *len)
{
	static struct ctlmsg d;
	uint8_t own[CTLMSG_MAX_LEN];
	int n;

	if (!buf)
		buf = own;
	n = ctlmsg_seal(from, m, buf, CTLMSG_MAX_LEN);
	assert_true(n > 0);
	if (len)
		*len = n;
	return ctlmsg_open(to, &d, buf, (size_t)n);
}

/*
 * The first exchange: each side meets a new life and answers with a HELLO;
 * the second HELLO is the first message accepted, then everything is.
 */
static void pair_meet(struct pair *p)
{
	assert_int_equal(xfer(&p->g, &p->h, adv(1), NULL, NULL), -ECONNRESET);
	assert_int_equal(xfer(&p->h, &p->g, &hello_msg, NULL, NULL), -ECONNRESET);
	assert_int_equal(xfer(&p->g, &p->h, &hello_msg, NULL, NULL), 0);
	assert_int_equal(xfer(&p->g, &p->h, adv(1), NULL, NULL), 0);
	assert_int_equal(xfer(&p->h, &p->g, &hello_msg, NULL, NULL), 0);
}

/* NAMES: the guest's DNS server (one address per family) and domain, or names off. */
static void test_names(void **state)
{
	static struct ctlmsg m, d;
	uint8_t buf[CTLMSG_MAX_LEN];
	int n;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = CTLMSG_NAMES;
	m.life = m.nonce = 1;
	m.prefixes[0] = pf("10.33.0.2/32");
	m.prefixes[1] = pf("fd00:33::2/128");
	m.n = 2;
	strcpy(m.domain, "gangway.internal");
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_int_equal(n, CTLMSG_HDR_LEN + 6 + 18 + 1 + 16 + CTLMSG_TAG_LEN);
	assert_memory_equal(buf + 4, "\x05\x00\x00\x02", 4);
	assert_memory_equal(buf + CTLMSG_HDR_LEN, "\x04\x20\x0a\x21\x00\x02\x06\x80", 8);
	assert_memory_equal(buf + CTLMSG_HDR_LEN + 24, "\x10gangway.internal", 17);
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), 0);
	assert_int_equal(d.type, CTLMSG_NAMES);
	assert_int_equal(d.n, 2);
	assert_true(prefix_equal(&d.prefixes[0], &m.prefixes[0]));
	assert_true(prefix_equal(&d.prefixes[1], &m.prefixes[1]));
	assert_string_equal(d.domain, "gangway.internal");
	/* Names off: no address, no domain; a header and one byte. */
	m.n = 0;
	m.domain[0] = '\0';
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_int_equal(n, CTLMSG_HDR_LEN + 1 + CTLMSG_TAG_LEN);
	assert_int_equal(buf[CTLMSG_HDR_LEN], 0);
	strcpy(d.domain, "stale.example");
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(d.domain, "");
	/* The longest domain fits. */
	m.n = 2;
	memset(m.domain, 'a', CTLMSG_DOMAIN_MAX);
	for (size_t i = 63; i < CTLMSG_DOMAIN_MAX; i += 64)
		m.domain[i] = '.';
	m.domain[CTLMSG_DOMAIN_MAX] = '\0';
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), 0);
	assert_string_equal(d.domain, m.domain);
	/* What cannot be said: three addresses, a prefix, a domain not in its one spelling. */
	strcpy(m.domain, "gangway.internal");
	m.n = 3;
	m.prefixes[2] = pf("10.33.0.3/32");
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
	m.n = 1;
	m.prefixes[0] = pf("10.33.0.0/24");
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
	m.prefixes[0] = pf("10.33.0.2/32");
	strcpy(m.domain, "Gangway.internal");
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
	m.domain[0] = '\0';		/* an address without a domain */
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
	m.n = 0;			/* a domain without an address */
	strcpy(m.domain, "gangway.internal");
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
}

static void test_names_malformed(void **state)
{
	static struct ctlmsg d;
#define A4 "\x04\x20\x0a\x21\x00\x02"
	static const struct bad_msg bad[] = {
		{ "GWY2\x05\x00\x00\x00", "", 0 },				/* no domain length */
		{ "GWY2\x05\x00\x00\x01", A4 "\x00", 7 },			/* address, no domain */
		{ "GWY2\x05\x00\x00\x00", "\x03" "a.b", 4 },			/* domain, no address */
		{ "GWY2\x05\x00\x00\x01", "\x04\x18\x0a\x21\x00\x00\x03" "a.b", 10 },	/* a /24 */
		{ "GWY2\x05\x00\x00\x03", A4 A4 A4 "\x03" "a.b", 22 },		/* three */
		{ "GWY2\x05\x00\x00\x01", A4 "\x03" "A.b", 10 },		/* upper case */
		{ "GWY2\x05\x00\x00\x01", A4 "\x04" "a.b.", 11 },		/* trailing dot */
		{ "GWY2\x05\x00\x00\x01", A4 "\x04" "a..b", 11 },		/* empty label */
		{ "GWY2\x05\x00\x00\x01", A4 "\x03" "abc", 10 },		/* one label */
		{ "GWY2\x05\x00\x00\x01", A4 "\x04-a.b", 11 },		/* leading '-' */
		{ "GWY2\x05\x00\x00\x01", A4 "\x03" "a\x00" "b", 10 },		/* NUL */
		{ "GWY2\x05\x00\x00\x01", A4 "\x03" "a_b", 10 },		/* '_' */
		{ "GWY2\x05\x00\x00\x01", A4 "\x04" "a.b", 10 },		/* cut short */
		{ "GWY2\x05\x00\x00\x01", A4 "\x03" "a.bc", 11 },		/* trailing */
		{ "GWY2\x05\x00\x00\x01", A4 "\x80" "a.b", 10 },		/* 128 bytes */
	};
#undef A4
	uint8_t buf[CTLMSG_MAX_LEN + 64];
	size_t n;

	(void)state;
	expect_malformed(bad, sizeof(bad) / sizeof(bad[0]), "NAMES ");
	n = mk(buf, "GWY2\x05\x00\x00\x01", "\x04\x20\x0a\x21\x00\x02\x03" "a.b", 10);
	assert_int_equal(ctlmsg_decode(&d, K, buf, n), 0);
	assert_string_equal(d.domain, "a.b");
	n = mk(buf, "GWY2\x05\x00\x00\x00", "\x00", 1);
	assert_int_equal(ctlmsg_decode(&d, K, buf, n), 0);
}

/* FINDINGS: the guest's firewall check, as sentences and fixes in printable ASCII. */
static void test_findings(void **state)
{
	static struct ctlmsg m, d;
	uint8_t buf[CTLMSG_MAX_LEN];
	size_t room;
	int n;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = CTLMSG_FINDINGS;
	m.life = m.nonce = 1;
	strcpy(m.findings[0].text, "Firewall (iptables-nft, IPv4): rule 1 of FORWARD, "
	       "'-A FORWARD -d 172.18.0.0/16 -j DROP', comes before the jump.");
	strcpy(m.findings[0].fix, "delete that rule ('iptables-nft -D FORWARD 1')");
	strcpy(m.findings[1].text, "a \"quoted\" \\ text");	/* the fix may be empty */
	m.n = 2;
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_int_equal(n, CTLMSG_HDR_LEN + ctlmsg_finding_len(&m.findings[0]) +
			 ctlmsg_finding_len(&m.findings[1]) + CTLMSG_TAG_LEN);
	assert_int_equal(ctlmsg_finding_len(&m.findings[1]), 4 + 17);
	assert_memory_equal(buf + 4, "\x06\x00\x00\x02", 4);
	assert_int_equal(buf[CTLMSG_HDR_LEN], 0);
	assert_int_equal(buf[CTLMSG_HDR_LEN + 1], strlen(m.findings[0].text));
	assert_memory_equal(buf + CTLMSG_HDR_LEN + 2, "Firewall (", 10);
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), 0);
	assert_int_equal(d.type, CTLMSG_FINDINGS);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.findings[0].text, m.findings[0].text);
	assert_string_equal(d.findings[0].fix, m.findings[0].fix);
	assert_string_equal(d.findings[1].text, m.findings[1].text);
	assert_string_equal(d.findings[1].fix, "");
	assert_string_equal(d.domain, "");
	/* None: nothing wrong, a bare header. */
	m.n = 0;
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_int_equal(n, CTLMSG_HDR_LEN + CTLMSG_TAG_LEN);
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), 0);
	assert_int_equal(d.n, 0);
	/* The longest of each fits, one at a time. */
	memset(m.findings[0].text, 'x', CTLMSG_FINDING_TEXT_MAX);
	m.findings[0].text[CTLMSG_FINDING_TEXT_MAX] = '\0';
	memset(m.findings[0].fix, 'y', CTLMSG_FINDING_FIX_MAX);
	m.findings[0].fix[CTLMSG_FINDING_FIX_MAX] = '\0';
	m.n = 1;
	n = ctlmsg_encode(&m, K, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(ctlmsg_decode(&d, K, buf, (size_t)n), 0);
	assert_string_equal(d.findings[0].text, m.findings[0].text);
	assert_string_equal(d.findings[0].fix, m.findings[0].fix);
	/* Two of the longest do not: the sender counts with ctlmsg_finding_len. */
	m.findings[1] = m.findings[0];
	m.n = 2;
	room = CTLMSG_BODY_MAX;
	assert_true(2 * ctlmsg_finding_len(&m.findings[0]) > room);
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
	/* What cannot be said: too many, too long, empty, escapes and other bytes. */
	strcpy(m.findings[0].text, "t");
	strcpy(m.findings[0].fix, "f");
	for (int i = 1; i < CTLMSG_MAX_FINDINGS; i++)
		m.findings[i] = m.findings[0];
	m.n = CTLMSG_MAX_FINDINGS;
	assert_true(ctlmsg_encode(&m, K, buf, sizeof(buf)) > 0);
	m.n = CTLMSG_MAX_FINDINGS + 1;
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
	m.n = 1;
	memset(m.findings[0].text, 'x', CTLMSG_FINDING_TEXT_MAX + 1);	/* no NUL within */
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
	strcpy(m.findings[0].text, "");
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
	strcpy(m.findings[0].text, "red \x1b[31m");
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
	strcpy(m.findings[0].text, "t");
	strcpy(m.findings[0].fix, "two\nlines");
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
	strcpy(m.findings[0].fix, "\xc3\xa9");
	assert_int_equal(ctlmsg_encode(&m, K, buf, sizeof(buf)), -EMSGSIZE);
}

static void test_findings_malformed(void **state)
{
	static struct ctlmsg d;
	static uint8_t big[2 + CTLMSG_FINDING_TEXT_MAX + 1 + 2];
	static const struct bad_msg bad[] = {
		{ "GWY2\x06\x00\x00\x01", "", 0 },				/* no entry */
		{ "GWY2\x06\x00\x00\x01", "\x00\x01" "a", 3 },		/* no fix length */
		{ "GWY2\x06\x00\x00\x01", "\x00\x00\x00\x00", 4 },		/* empty text */
		{ "GWY2\x06\x00\x00\x01", "\x00\x02" "a\x1b\x00\x00", 6 },	/* ESC */
		{ "GWY2\x06\x00\x00\x01", "\x00\x01" "a\x00\x01\x07", 6 },	/* BEL in fix */
		{ "GWY2\x06\x00\x00\x01", "\x00\x02" "a\n\x00\x00", 6 },	/* newline */
		{ "GWY2\x06\x00\x00\x01", "\x00\x02" "a\x00\x00\x00", 6 },	/* NUL */
		{ "GWY2\x06\x00\x00\x01", "\x00\x01\x7f\x00\x00", 5 },		/* DEL */
		{ "GWY2\x06\x00\x00\x01", "\x00\x01\x9b\x00\x00", 5 },		/* 8-bit CSI */
		{ "GWY2\x06\x00\x00\x01", "\x00\x05" "a\x00\x00", 5 },	/* cut short */
		{ "GWY2\x06\x00\x00\x01", "\x00\x01" "a\x00\x00" "z", 6 },	/* trailing */
		{ "GWY2\x06\x00\x00\x01", "\xff\xff" "a", 3 },		/* 65535 long */
		{ "GWY2\x06\x00\x00\x05", "\x00\x01" "a\x00\x00" "\x00\x01" "a\x00\x00"
		  "\x00\x01" "a\x00\x00" "\x00\x01" "a\x00\x00" "\x00\x01" "a\x00\x00", 25 },
	};
	uint8_t buf[CTLMSG_MAX_LEN + 64];
	size_t n;

	(void)state;
	expect_malformed(bad, sizeof(bad) / sizeof(bad[0]), "FINDINGS ");
	/* A text one byte over its limit, then a fix one byte over its. */
	big[0] = (CTLMSG_FINDING_TEXT_MAX + 1) >> 8;
	big[1] = (CTLMSG_FINDING_TEXT_MAX + 1) & 0xff;
	memset(big + 2, 'x', CTLMSG_FINDING_TEXT_MAX + 1);
	n = mk(buf, "GWY2\x06\x00\x00\x01", (const char *)big, sizeof(big));
	assert_int_equal(ctlmsg_decode(&d, K, buf, n), -EBADMSG);
	big[0] = 0;
	big[1] = 1;
	big[3] = (CTLMSG_FINDING_FIX_MAX + 1) >> 8;
	big[4] = (CTLMSG_FINDING_FIX_MAX + 1) & 0xff;
	n = mk(buf, "GWY2\x06\x00\x00\x01", (const char *)big, 5 + CTLMSG_FINDING_FIX_MAX + 1);
	assert_int_equal(ctlmsg_decode(&d, K, buf, n), -EBADMSG);
	/* ...the same at the limit passes. */
	big[4] = CTLMSG_FINDING_FIX_MAX & 0xff;
	n = mk(buf, "GWY2\x06\x00\x00\x01", (const char *)big, 5 + CTLMSG_FINDING_FIX_MAX);
	assert_int_equal(ctlmsg_decode(&d, K, buf, n), 0);
	assert_int_equal(strlen(d.findings[0].fix), CTLMSG_FINDING_FIX_MAX);
	n = mk(buf, "GWY2\x06\x00\x00\x01", "\x00\x03" "a~ \x00\x00", 7);
	assert_int_equal(ctlmsg_decode(&d, K, buf, n), 0);
	assert_string_equal(d.findings[0].text, "a~ ");
}

/* What a peer said, made safe to print: printable ASCII kept, the rest '?', cut short. */
static void test_clean_text(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(ctlmsg_clean_text(out, sizeof(out), "plain text", 10), 10);
	assert_string_equal(out, "plain text");
	assert_int_equal(ctlmsg_clean_text(out, sizeof(out), "\x1b[2Jred\x07", 9), 8);
	assert_string_equal(out, "?[2Jred?");
	ctlmsg_clean_text(out, sizeof(out), "a\nb\rc\x7f\x9b\xc3\xa9\t", 11);
	assert_string_equal(out, "a?b?c?????");
	/* cut to the room there is, and at a NUL */
	assert_int_equal(ctlmsg_clean_text(out, sizeof(out), "0123456789abcdefghij", 20), 15);
	assert_string_equal(out, "0123456789abcde");
	assert_int_equal(ctlmsg_clean_text(out, sizeof(out), "ab\0cd", 5), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(ctlmsg_clean_text(out, 1, "ab", 2), 0);
	assert_string_equal(out, "");
	assert_int_equal(ctlmsg_clean_text(out, 0, "ab", 2), 0);
}

static void test_auth_keys(void **state)
{
	static struct pair p, q;
	struct ctlmsg_auth c;
	struct side other;

	(void)state;
	pair_new(&p, NULL);
	/* One key per direction, the same on both ends. */
	assert_memory_equal(p.g.tx_key, p.h.rx_key, CTLMSG_KEY_LEN);
	assert_memory_equal(p.g.rx_key, p.h.tx_key, CTLMSG_KEY_LEN);
	assert_memory_not_equal(p.g.tx_key, p.g.rx_key, CTLMSG_KEY_LEN);
	assert_true(p.g.nonce && p.h.nonce && p.g.nonce != p.h.nonce);
	/* The preshared key goes into both. */
	q = p;
	assert_int_equal(ctlmsg_auth_keys(&q.g, q.gk.priv, q.hk.pub, PSK), 0);
	assert_memory_not_equal(q.g.tx_key, p.g.tx_key, CTLMSG_KEY_LEN);
	assert_memory_not_equal(q.g.rx_key, p.g.rx_key, CTLMSG_KEY_LEN);
	/* A third key pair shares nothing with either. */
	side_new(&other);
	assert_int_equal(ctlmsg_auth_init(&c, other.priv, p.hk.pub, NULL), 0);
	assert_memory_not_equal(c.tx_key, p.h.rx_key, CTLMSG_KEY_LEN);
	/* A low-order public key (all zero) gives no keys. */
	memset(other.pub, 0, sizeof(other.pub));
	assert_int_not_equal(ctlmsg_auth_init(&c, p.gk.priv, other.pub, NULL), 0);
	ctlmsg_auth_wipe(&c);
	assert_true(!memcmp(c.tx_key, (uint8_t[CTLMSG_KEY_LEN]){ 0 }, CTLMSG_KEY_LEN));
}

static void test_auth_verify(void **state)
{
	static struct pair p;
	static struct ctlmsg d;
	uint8_t buf[CTLMSG_MAX_LEN];
	int n;

	(void)state;
	pair_new(&p, PSK);
	pair_meet(&p);
	/* Both ways, in order. */
	for (uint32_t i = 2; i < 10; i++) {
		assert_int_equal(xfer(&p.g, &p.h, adv(i), NULL, NULL), 0);
		assert_int_equal(xfer(&p.h, &p.g, &hello_msg, NULL, NULL), 0);
	}
	/* The decoded message is what was sent. */
	n = ctlmsg_seal(&p.g, adv(77), buf, sizeof(buf));
	assert_int_equal(ctlmsg_open(&p.h, &d, buf, (size_t)n), 0);
	assert_int_equal(d.seq, 77);
	assert_true(prefix_equal(&d.prefixes[0], &adv(0)->prefixes[0]));
}

static void test_auth_tamper(void **state)
{
	static struct pair p;
	static struct ctlmsg d;
	uint8_t buf[CTLMSG_MAX_LEN], orig[CTLMSG_MAX_LEN];
	struct ctlmsg_auth saved;
	int n;

	(void)state;
	pair_new(&p, NULL);
	pair_meet(&p);
	n = ctlmsg_seal(&p.g, adv(5), orig, sizeof(orig));
	saved = p.h;
	/* Any one bit flipped anywhere, header, entries or tag: never accepted. */
	for (int i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int ret;

			memcpy(buf, orig, (size_t)n);
			buf[i] ^= (uint8_t)(1 << bit);
			ret = ctlmsg_open(&p.h, &d, buf, (size_t)n);
			if (ret != -EPERM && ret != -EBADMSG)
				fail_msg("byte %d bit %d: %d", i, bit, ret);
		}
	}
	/* ...and the state did not move: the intact message still passes. */
	assert_memory_equal(&saved, &p.h, sizeof(saved));
	assert_int_equal(ctlmsg_open(&p.h, &d, orig, (size_t)n), 0);
}

static void test_auth_replay(void **state)
{
	static struct pair p;
	static struct ctlmsg d;
	uint8_t m1[CTLMSG_MAX_LEN], m2[CTLMSG_MAX_LEN];
	int n1, n2;

	(void)state;
	pair_new(&p, NULL);
	pair_meet(&p);
	assert_int_equal(xfer(&p.g, &p.h, adv(2), m1, &n1), 0);
	/* The same message again. */
	assert_int_equal(ctlmsg_open(&p.h, &d, m1, (size_t)n1), -EALREADY);
	/* An older one after a newer one (reordered or held back and replayed). */
	n1 = ctlmsg_seal(&p.g, adv(3), m1, sizeof(m1));
	n2 = ctlmsg_seal(&p.g, adv(4), m2, sizeof(m2));
	assert_int_equal(ctlmsg_open(&p.h, &d, m2, (size_t)n2), 0);
	assert_int_equal(ctlmsg_open(&p.h, &d, m1, (size_t)n1), -EALREADY);
	assert_int_equal(ctlmsg_open(&p.h, &d, m2, (size_t)n2), -EALREADY);
	/* The other way too: an ACK or SYNC replayed to the guest. */
	assert_int_equal(xfer(&p.h, &p.g, &hello_msg, m1, &n1), 0);
	assert_int_equal(ctlmsg_open(&p.g, &d, m1, (size_t)n1), -EALREADY);
}

static void test_auth_wrong_key(void **state)
{
	static struct pair p;
	static struct ctlmsg d;
	struct ctlmsg_auth forger;
	struct side other;
	uint8_t buf[CTLMSG_MAX_LEN];
	int n;

	(void)state;
	pair_new(&p, PSK);
	pair_meet(&p);
	/* Someone with another key pair, who even knows the challenges. */
	side_new(&other);
	assert_int_equal(ctlmsg_auth_init(&forger, other.priv, p.hk.pub, PSK), 0);
	forger.nonce = p.g.nonce;
	forger.peer_nonce = p.h.nonce;
	forger.tx_ctr = 1000;
	n = ctlmsg_seal(&forger, adv(9), buf, sizeof(buf));
	assert_int_equal(ctlmsg_open(&p.h, &d, buf, (size_t)n), -EPERM);
	/* The right key pair without the preshared key. */
	assert_int_equal(ctlmsg_auth_keys(&forger, p.gk.priv, p.hk.pub, NULL), 0);
	n = ctlmsg_seal(&forger, adv(9), buf, sizeof(buf));
	assert_int_equal(ctlmsg_open(&p.h, &d, buf, (size_t)n), -EPERM);
	/* The guest's own key in the host's direction (a reflected message). */
	n = ctlmsg_seal(&p.h, adv(9), buf, sizeof(buf));
	assert_int_equal(ctlmsg_open(&p.h, &d, buf, (size_t)n), -EPERM);
	/* With the right keys, the same thing passes. */
	assert_int_equal(xfer(&p.g, &p.h, adv(9), NULL, NULL), 0);
}

static void test_auth_restart(void **state)
{
	static struct pair p;
	static struct ctlmsg d;
	uint8_t old[CTLMSG_MAX_LEN], old2[CTLMSG_MAX_LEN], oldh[CTLMSG_MAX_LEN];
	int n, n2, nh;

	(void)state;
	pair_new(&p, NULL);
	pair_meet(&p);
	/* Messages of the guest's first life, one delivered, one held back. */
	assert_int_equal(xfer(&p.g, &p.h, adv(50), old, &n), 0);
	n2 = ctlmsg_seal(&p.g, adv(51), old2, sizeof(old2));
	/* The guest restarts: new life and challenge, counter from 1. */
	assert_int_equal(ctlmsg_auth_init(&p.g, p.gk.priv, p.hk.pub, NULL), 0);
	assert_int_equal(xfer(&p.g, &p.h, adv(1), NULL, NULL), -ECONNRESET);
	/* The host's HELLO is fresh to the new guest, whose next message passes. */
	assert_int_equal(xfer(&p.h, &p.g, &hello_msg, NULL, NULL), -ECONNRESET);
	assert_int_equal(xfer(&p.g, &p.h, &hello_msg, NULL, NULL), 0);
	assert_int_equal(xfer(&p.g, &p.h, adv(2), NULL, NULL), 0);
	/* The first life's messages never pass again, not even the held-back one. */
	assert_int_equal(ctlmsg_open(&p.h, &d, old2, (size_t)n2), -ECONNRESET);
	assert_int_equal(ctlmsg_open(&p.h, &d, old2, (size_t)n2), -ESTALE);
	assert_int_equal(ctlmsg_open(&p.h, &d, old, (size_t)n), -ESTALE);
	/* Such a replay costs the guest a round trip, never its say. */
	assert_int_equal(xfer(&p.g, &p.h, adv(3), NULL, NULL), -ECONNRESET);
	assert_int_equal(xfer(&p.h, &p.g, &hello_msg, NULL, NULL), 0);
	assert_int_equal(xfer(&p.g, &p.h, adv(3), NULL, NULL), 0);

	/* The host restarts; a message of its first life is kept back. */
	nh = ctlmsg_seal(&p.h, &hello_msg, oldh, sizeof(oldh));
	assert_int_equal(ctlmsg_auth_init(&p.h, p.hk.priv, p.gk.pub, NULL), 0);
	assert_int_equal(xfer(&p.g, &p.h, adv(4), NULL, NULL), -ECONNRESET);
	assert_int_equal(xfer(&p.h, &p.g, &hello_msg, NULL, NULL), -ECONNRESET);
	assert_int_equal(xfer(&p.g, &p.h, &hello_msg, NULL, NULL), 0);
	assert_int_equal(xfer(&p.g, &p.h, adv(4), NULL, NULL), 0);
	assert_int_equal(xfer(&p.h, &p.g, &hello_msg, NULL, NULL), 0);
	/* The host's first life, replayed to the guest: never accepted. */
	assert_int_equal(ctlmsg_open(&p.g, &d, oldh, (size_t)nh), -ECONNRESET);
	assert_int_equal(ctlmsg_open(&p.g, &d, oldh, (size_t)nh), -ESTALE);
	assert_int_equal(xfer(&p.h, &p.g, &hello_msg, NULL, NULL), -ECONNRESET);
	assert_int_equal(xfer(&p.g, &p.h, &hello_msg, NULL, NULL), 0);
	assert_int_equal(xfer(&p.h, &p.g, &hello_msg, NULL, NULL), 0);
	assert_int_equal(xfer(&p.g, &p.h, adv(5), NULL, NULL), 0);
}

static void test_is_control(void **state)
{
	uint8_t pkt[1280];
	const uint8_t msg[] = "x";
	struct prefix src = pf("10.33.0.2"), dst = pf("10.33.0.1"), got;
	struct prefix s6 = pf("fd33::2"), d6 = pf("fd33::1");
	int n;

	(void)state;
	n = ctlmsg_wrap(pkt, sizeof(pkt), &src, &dst, msg, sizeof(msg));
	assert_true(ctlmsg_is_control(pkt, (size_t)n, &got));
	assert_true(prefix_equal(&got, &dst));
	/* The checksum and the lengths do not matter, the port does. */
	pkt[26] ^= 0xff;
	pkt[3] ^= 1;
	assert_true(ctlmsg_is_control(pkt, (size_t)n, &got));
	assert_true(ctlmsg_is_control(pkt, 24, &got));
	assert_false(ctlmsg_is_control(pkt, 23, &got));
	pkt[23] ^= 1;
	assert_false(ctlmsg_is_control(pkt, (size_t)n, &got));
	pkt[23] ^= 1;
	/* A first fragment is caught; later fragments carry no port. */
	pkt[6] = 0x20;
	assert_true(ctlmsg_is_control(pkt, (size_t)n, &got));
	pkt[7] = 1;
	assert_false(ctlmsg_is_control(pkt, (size_t)n, &got));
	pkt[6] = pkt[7] = 0;
	pkt[9] = 6;
	assert_false(ctlmsg_is_control(pkt, (size_t)n, &got));
	n = ctlmsg_wrap(pkt, sizeof(pkt), &s6, &d6, msg, sizeof(msg));
	assert_true(ctlmsg_is_control(pkt, (size_t)n, &got));
	assert_true(prefix_equal(&got, &d6));
	pkt[6] = 6;
	assert_false(ctlmsg_is_control(pkt, (size_t)n, &got));
	assert_false(ctlmsg_is_control(pkt, 0, &got));
}

/* Independent checksum: 32-bit accumulation over 16-bit words, folded at the end. */
static uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t start)
{
	uint64_t sum = start;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += ((uint32_t)p[i] << 8) + p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum > 0xffff)
		sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)sum;
}

static void test_wrap_v4(void **state)
{
	uint8_t pkt[1280];
	const uint8_t msg[] = "hello control";
	struct prefix src = pf("10.33.0.2"), dst = pf("10.33.0.1"), gs, gd;
	const uint8_t *payload;
	uint32_t pseudo;
	int n;

	(void)state;
	n = ctlmsg_wrap(pkt, sizeof(pkt), &src, &dst, msg, sizeof(msg));
	assert_int_equal(n, 20 + 8 + (int)sizeof(msg));
	assert_int_equal(pkt[0], 0x45);
	assert_int_equal(ref_csum(pkt, 20, 0), 0xffff);		/* header checksum */
	pseudo = ((10 << 8) + 33) * 2 + 2 + 1 + 17 + (8 + sizeof(msg));
	assert_int_equal(ref_csum(pkt + 20, 8 + sizeof(msg), pseudo), 0xffff);
	assert_int_equal(ctlmsg_unwrap(pkt, (size_t)n, &gs, &gd, &payload), (int)sizeof(msg));
	assert_memory_equal(payload, msg, sizeof(msg));
	assert_true(prefix_equal(&gs, &src));
	assert_true(prefix_equal(&gd, &dst));
	/* One flipped bit anywhere in the datagram fails the checksum. */
	pkt[30] ^= 4;
	assert_int_equal(ctlmsg_unwrap(pkt, (size_t)n, &gs, &gd, &payload), -1);
	pkt[30] ^= 4;
	/* Wrong port, truncation, lying lengths. */
	pkt[23] ^= 1;
	assert_int_equal(ctlmsg_unwrap(pkt, (size_t)n, &gs, &gd, &payload), -1);
	pkt[23] ^= 1;
	assert_int_equal(ctlmsg_unwrap(pkt, (size_t)n - 1, &gs, &gd, &payload), -1);
	assert_int_equal(ctlmsg_unwrap(pkt, 27, &gs, &gd, &payload), -1);
	pkt[9] = 6;	/* TCP */
	assert_int_equal(ctlmsg_unwrap(pkt, (size_t)n, &gs, &gd, &payload), -1);
}

static void test_wrap_v6(void **state)
{
	uint8_t pkt[1280];
	const uint8_t msg[] = "v6";
	struct prefix src = pf("fd33::2"), dst = pf("fd33::1"), v4 = pf("10.0.0.1"), gs, gd;
	const uint8_t *payload;
	int n;

	(void)state;
	n = ctlmsg_wrap(pkt, sizeof(pkt), &src, &dst, msg, sizeof(msg));
	assert_int_equal(n, 40 + 8 + (int)sizeof(msg));
	assert_int_equal(pkt[0] >> 4, 6);
	assert_int_equal(ctlmsg_unwrap(pkt, (size_t)n, &gs, &gd, &payload), (int)sizeof(msg));
	assert_true(prefix_equal(&gd, &dst));
	assert_int_equal(ctlmsg_wrap(pkt, sizeof(pkt), &src, &v4, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(ctlmsg_wrap(pkt, 40, &src, &dst, msg, sizeof(msg)), -EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_remapped_ack),
		cmocka_unit_test(test_ack_room),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_ack_remaps),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_names_malformed),
		cmocka_unit_test(test_auth_keys),
		cmocka_unit_test(test_auth_verify),
		cmocka_unit_test(test_auth_tamper),
		cmocka_unit_test(test_auth_replay),
		cmocka_unit_test(test_findings),
		cmocka_unit_test(test_findings_malformed),
		cmocka_unit_test(test_clean_text),
		cmocka_unit_test(test_auth_wrong_key),
		cmocka_unit_test(test_auth_restart),
		cmocka_unit_test(test_is_control),
		cmocka_unit_test(test_wrap_v4),
		cmocka_unit_test(test_wrap_v6),
	};

	if (crypto_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
