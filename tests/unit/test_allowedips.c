/* test_allowedips.c - the prefix trie against hand cases and a linear scan */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "allowedips.h"
#include "testutil.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NOWNERS		8

static int owners[NOWNERS];
#define A	(&owners[0])
#define B	(&owners[1])
#define C	(&owners[2])
#define D	(&owners[3])

static struct prefix pfx(const char *s)
{
	struct prefix p;

	if (prefix_parse(&p, s, false))
		fail_msg("bad prefix in test: %s", s);
	return p;
}

static void insert(struct allowedips *t, const char *s, void *owner)
{
	struct prefix p = pfx(s);

	assert_int_equal(allowedips_insert(t, &p, owner), 0);
}

static int del(struct allowedips *t, const char *s, void *owner)
{
	struct prefix p = pfx(s);

	return allowedips_remove(t, &p, owner);
}

static void *look(const struct allowedips *t, const char *addr)
{
	struct prefix p = pfx(addr);

	return allowedips_lookup(t, p.family, p.addr.b);
}

static const char *owner_name(const void *o)
{
	static const char *const names[NOWNERS] = {
		"A", "B", "C", "D", "E", "F", "G", "H"
	};
	size_t i;

	if (!o)
		return "none";
	for (i = 0; i < NOWNERS; i++)
		if (o == &owners[i])
			return names[i];
	return "?";
}

#define expect_owner(t, addr, want) do {				\
	void *got_ = look((t), (addr));					\
	if (got_ != (void *)(want))					\
		fail_msg("lookup %s: got %s want %s", (addr),		\
			 owner_name(got_), owner_name(want));		\
} while (0)

/* The structure is sound, the count right, and no node is wasted. */
static void expect_sound(const struct allowedips *t)
{
	size_t nodes = 0;

	assert_int_equal(allowedips_verify(t, &nodes), 0);
	if (t->count == 0)
		assert_int_equal(nodes, 0);
	else
		assert_true(nodes <= 2 * t->count - 1);
	if (!t->root4 && !t->root6)
		assert_int_equal(t->count, 0);
}

static void test_nested(void **state)
{
	static const char *const pfx[] = {
		"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32"
	};
	static const int perms[24][4] = {
		{0,1,2,3},{0,1,3,2},{0,2,1,3},{0,2,3,1},{0,3,1,2},{0,3,2,1},
		{1,0,2,3},{1,0,3,2},{1,2,0,3},{1,2,3,0},{1,3,0,2},{1,3,2,0},
		{2,0,1,3},{2,0,3,1},{2,1,0,3},{2,1,3,0},{2,3,0,1},{2,3,1,0},
		{3,0,1,2},{3,0,2,1},{3,1,0,2},{3,1,2,0},{3,2,0,1},{3,2,1,0},
	};
	struct allowedips t;
	size_t i, j;

	(void)state;
	/* Any insertion order gives the same answers. */
	for (i = 0; i < ARRAY_SIZE(perms); i++) {
		allowedips_init(&t);
		for (j = 0; j < 4; j++)
			insert(&t, pfx[perms[i][j]], &owners[perms[i][j]]);
		assert_int_equal(t.count, 4);
		expect_sound(&t);
		expect_owner(&t, "10.9.9.9", A);
		expect_owner(&t, "10.0.0.0", A);
		expect_owner(&t, "10.255.255.255", A);
		expect_owner(&t, "10.1.9.9", B);
		expect_owner(&t, "10.1.255.255", B);
		expect_owner(&t, "10.1.2.9", C);
		expect_owner(&t, "10.1.2.0", C);
		expect_owner(&t, "10.1.2.3", D);
		expect_owner(&t, "10.1.2.2", C);
		expect_owner(&t, "10.1.2.4", C);
		expect_owner(&t, "11.0.0.0", NULL);
		expect_owner(&t, "9.255.255.255", NULL);
		expect_owner(&t, "0.0.0.0", NULL);
		expect_owner(&t, "::", NULL);
		allowedips_free(&t);
		assert_null(t.root4);
		assert_int_equal(t.count, 0);
	}
}

static void test_siblings(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	insert(&t, "192.168.0.0/24", A);
	insert(&t, "192.168.1.0/24", B);
	insert(&t, "192.168.2.0/23", C);
	insert(&t, "128.0.0.0/1", D);
	expect_sound(&t);
	expect_owner(&t, "192.168.0.200", A);
	expect_owner(&t, "192.168.1.200", B);
	expect_owner(&t, "192.168.2.1", C);
	expect_owner(&t, "192.168.3.1", C);
	expect_owner(&t, "192.168.4.1", D);
	expect_owner(&t, "127.255.255.255", NULL);
	expect_owner(&t, "255.255.255.255", D);
	/* a glue node is not a prefix */
	assert_int_equal(del(&t, "192.168.0.0/23", A), -ENOENT);
	assert_int_equal(del(&t, "192.168.0.0/22", A), -ENOENT);
	assert_int_equal(t.count, 4);
	allowedips_free(&t);
}

static void test_default_route(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	insert(&t, "0.0.0.0/0", A);
	expect_owner(&t, "1.2.3.4", A);
	expect_owner(&t, "0.0.0.0", A);
	expect_owner(&t, "255.255.255.255", A);
	expect_owner(&t, "::1", NULL);
	insert(&t, "1.2.3.0/24", B);
	expect_owner(&t, "1.2.3.4", B);
	expect_owner(&t, "1.2.4.4", A);
	insert(&t, "::/0", C);
	expect_owner(&t, "::1", C);
	expect_owner(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C);
	assert_int_equal(t.count, 3);
	expect_sound(&t);
	assert_int_equal(del(&t, "0.0.0.0/0", A), 0);
	expect_owner(&t, "1.2.4.4", NULL);
	expect_owner(&t, "1.2.3.4", B);
	expect_owner(&t, "::1", C);
	expect_sound(&t);
	allowedips_free(&t);
}

static void test_hosts(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	insert(&t, "1.2.3.4/32", A);
	insert(&t, "255.255.255.255/32", B);
	insert(&t, "0.0.0.0/32", C);
	insert(&t, "fd00::1/128", A);
	insert(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", B);
	insert(&t, "::/128", C);
	insert(&t, "fd00::2/127", D);
	expect_sound(&t);
	expect_owner(&t, "1.2.3.4", A);
	expect_owner(&t, "1.2.3.5", NULL);
	expect_owner(&t, "1.2.3.3", NULL);
	expect_owner(&t, "255.255.255.255", B);
	expect_owner(&t, "255.255.255.254", NULL);
	expect_owner(&t, "0.0.0.0", C);
	expect_owner(&t, "0.0.0.1", NULL);
	expect_owner(&t, "fd00::1", A);
	expect_owner(&t, "fd00::", NULL);
	expect_owner(&t, "fd00::2", D);
	expect_owner(&t, "fd00::3", D);
	expect_owner(&t, "fd00::4", NULL);
	expect_owner(&t, "fd00:0:0:1::1", NULL);
	expect_owner(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", B);
	expect_owner(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", NULL);
	expect_owner(&t, "::", C);
	expect_owner(&t, "::1", NULL);
	/* the same bytes in the other family are another address */
	expect_owner(&t, "::102:304", NULL);
	allowedips_free(&t);
}

static void test_repoint(void **state)
{
	struct allowedips t;
	size_t nodes_before, nodes_after;

	(void)state;
	allowedips_init(&t);
	insert(&t, "10.0.0.0/8", A);
	insert(&t, "10.0.0.0/16", C);
	assert_int_equal(allowedips_verify(&t, &nodes_before), 0);
	insert(&t, "10.0.0.0/8", B);
	assert_int_equal(allowedips_verify(&t, &nodes_after), 0);
	assert_int_equal(nodes_before, nodes_after);
	assert_int_equal(t.count, 2);
	expect_owner(&t, "10.9.0.0", B);
	/* host bits are ignored: this is 10/8 again */
	insert(&t, "10.200.1.1/8", D);
	assert_int_equal(t.count, 2);
	expect_owner(&t, "10.9.0.0", D);
	expect_owner(&t, "10.0.1.0", C);
	assert_int_equal(del(&t, "10.0.0.0/8", A), -ENOENT);
	assert_int_equal(del(&t, "10.0.0.0/8", B), -ENOENT);
	assert_int_equal(t.count, 2);
	assert_int_equal(del(&t, "10.0.0.0/8", D), 0);
	assert_int_equal(t.count, 1);
	expect_owner(&t, "10.9.0.0", NULL);
	expect_owner(&t, "10.0.1.0", C);
	assert_int_equal(del(&t, "10.0.0.0/8", D), -ENOENT);
	expect_sound(&t);
	allowedips_free(&t);
}

static void test_remove_middle(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	insert(&t, "10.0.0.0/8", A);
	insert(&t, "10.1.0.0/16", B);
	insert(&t, "10.1.2.0/24", C);
	insert(&t, "10.1.128.0/24", D);
	assert_int_equal(del(&t, "10.1.0.0/16", B), 0);
	assert_int_equal(t.count, 3);
	expect_sound(&t);
	expect_owner(&t, "10.1.9.9", A);
	expect_owner(&t, "10.1.2.3", C);
	expect_owner(&t, "10.1.128.3", D);
	/* removing a parent with one child splices the child up */
	assert_int_equal(del(&t, "10.1.2.0/24", C), 0);
	expect_sound(&t);
	assert_int_equal(del(&t, "10.0.0.0/8", A), 0);
	expect_sound(&t);
	expect_owner(&t, "10.1.2.3", NULL);
	expect_owner(&t, "10.1.128.3", D);
	assert_int_equal(del(&t, "10.1.128.0/24", D), 0);
	assert_null(t.root4);
	assert_int_equal(t.count, 0);
	expect_sound(&t);

	/* The same for a long IPv6 chain, emptied from the middle out. */
	insert(&t, "fd00::/8", A);
	insert(&t, "fd00::/16", B);
	insert(&t, "fd00::/32", C);
	insert(&t, "fd00::/64", D);
	insert(&t, "fd00::/96", A);
	insert(&t, "fd00::/128", B);
	assert_int_equal(del(&t, "fd00::/32", C), 0);
	expect_owner(&t, "fd00:0:1::", B);
	expect_owner(&t, "fd00::1:0:0:0", D);
	assert_int_equal(del(&t, "fd00::/64", D), 0);
	expect_owner(&t, "fd00::1:0:0:0", B);
	expect_owner(&t, "fd00::1:0", A);
	expect_owner(&t, "fd00::", B);
	expect_sound(&t);
	assert_int_equal(del(&t, "fd00::/16", B), 0);
	assert_int_equal(del(&t, "fd00::/96", A), 0);
	assert_int_equal(del(&t, "fd00::/8", A), 0);
	expect_owner(&t, "fd00::", B);
	expect_owner(&t, "fd00::1", NULL);
	assert_int_equal(del(&t, "fd00::/128", B), 0);
	assert_null(t.root6);
	expect_sound(&t);
	allowedips_free(&t);
}

static void test_remove_owner(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	insert(&t, "10.0.0.0/8", A);
	insert(&t, "10.1.0.0/16", B);
	insert(&t, "10.1.2.0/24", A);
	insert(&t, "10.1.2.128/25", C);
	insert(&t, "10.1.2.200/32", B);
	insert(&t, "192.168.0.0/16", C);
	insert(&t, "192.168.7.0/24", B);
	insert(&t, "0.0.0.0/0", C);
	insert(&t, "fd00::/8", B);
	insert(&t, "fd00:1::/32", A);
	insert(&t, "fd00:1:2::/48", B);
	assert_int_equal(t.count, 11);

	allowedips_remove_owner(&t, B);
	assert_int_equal(t.count, 6);
	expect_sound(&t);
	expect_owner(&t, "10.1.9.9", A);
	expect_owner(&t, "10.1.2.3", A);
	expect_owner(&t, "10.1.2.200", C);
	expect_owner(&t, "192.168.7.7", C);
	expect_owner(&t, "8.8.8.8", C);
	expect_owner(&t, "fd00::1", NULL);
	expect_owner(&t, "fd00:1:2::1", A);
	/* a second time changes nothing */
	allowedips_remove_owner(&t, B);
	assert_int_equal(t.count, 6);
	/* NULL owns nothing, glue included */
	allowedips_remove_owner(&t, NULL);
	assert_int_equal(t.count, 6);
	expect_sound(&t);

	allowedips_remove_owner(&t, C);
	assert_int_equal(t.count, 3);
	expect_sound(&t);
	expect_owner(&t, "10.1.2.200", A);
	expect_owner(&t, "8.8.8.8", NULL);
	expect_owner(&t, "192.168.7.7", NULL);

	allowedips_remove_owner(&t, A);
	assert_int_equal(t.count, 0);
	assert_null(t.root4);
	assert_null(t.root6);
	expect_sound(&t);
	allowedips_free(&t);
}

static void test_families_independent(void **state)
{
	struct allowedips t;

	(void)state;
	allowedips_init(&t);
	insert(&t, "0.0.0.0/0", A);
	insert(&t, "::/0", B);
	insert(&t, "10.0.0.0/8", C);
	insert(&t, "::ffff:10.0.0.0/104", D);
	expect_owner(&t, "10.0.0.1", C);
	expect_owner(&t, "::ffff:10.0.0.1", D);
	expect_owner(&t, "::ffff:11.0.0.1", B);
	expect_owner(&t, "11.0.0.1", A);
	/* v4 bytes at the start of a v6 address mean nothing */
	expect_owner(&t, "a00::1", B);
	assert_int_equal(del(&t, "::/0", A), -ENOENT);
	assert_int_equal(del(&t, "0.0.0.0/0", A), 0);
	expect_owner(&t, "11.0.0.1", NULL);
	expect_owner(&t, "::1", B);
	allowedips_remove_owner(&t, D);
	expect_owner(&t, "::ffff:10.0.0.1", B);
	expect_owner(&t, "10.0.0.1", C);
	assert_int_equal(t.count, 2);
	expect_sound(&t);
	allowedips_free(&t);
}

static void test_bad_input(void **state)
{
	struct allowedips t;
	struct prefix p;
	uint8_t addr[16] = { 10 };

	(void)state;
	allowedips_init(&t);
	p = pfx("10.0.0.0/8");
	assert_int_equal(allowedips_insert(&t, &p, NULL), -EINVAL);
	assert_int_equal(allowedips_insert(&t, NULL, A), -EINVAL);
	p.len = 33;
	assert_int_equal(allowedips_insert(&t, &p, A), -EINVAL);
	p.len = 8;
	p.family = AF_UNIX;
	assert_int_equal(allowedips_insert(&t, &p, A), -EINVAL);
	p = pfx("fd00::/8");
	p.len = 129;
	assert_int_equal(allowedips_insert(&t, &p, A), -EINVAL);
	assert_int_equal(t.count, 0);
	assert_null(t.root4);
	assert_null(t.root6);

	insert(&t, "10.0.0.0/8", A);
	assert_ptr_equal(allowedips_lookup(&t, AF_INET, addr), A);
	assert_null(allowedips_lookup(&t, AF_UNIX, addr));
	assert_null(allowedips_lookup(&t, AF_INET, NULL));
	p = pfx("10.0.0.0/8");
	assert_int_equal(allowedips_remove(&t, &p, NULL), -ENOENT);
	assert_int_equal(allowedips_remove(&t, NULL, A), -ENOENT);
	p.family = AF_UNIX;
	assert_int_equal(allowedips_remove(&t, &p, A), -ENOENT);
	assert_int_equal(del(&t, "10.0.0.0/9", A), -ENOENT);
	assert_int_equal(del(&t, "10.0.0.0/7", A), -ENOENT);
	assert_int_equal(del(&t, "11.0.0.0/8", A), -ENOENT);
	assert_int_equal(t.count, 1);
	allowedips_free(&t);
	/* freeing twice and using after free+init are fine */
	allowedips_free(&t);
	insert(&t, "10.0.0.0/8", A);
	allowedips_free(&t);
}

/* Every length of one address, each with its own owner. */
static void test_all_lengths(void **state)
{
	static int own[129];
	struct allowedips t;
	struct prefix base, p, q;
	unsigned int max, len, k, fam;
	char buf[PREFIX_STRLEN];

	(void)state;
	for (fam = 0; fam < 2; fam++) {
		base = pfx(fam ? "2001:db8:ffff:5555:aaaa:1234:8765:f0f1"
			     : "201.55.170.165");
		max = base.len;
		allowedips_init(&t);
		for (len = 0; len <= max; len++) {
			p = base;
			p.len = (uint8_t)len;
			assert_int_equal(allowedips_insert(&t, &p, &own[len]), 0);
		}
		assert_int_equal(t.count, max + 1);
		expect_sound(&t);
		/* an address sharing exactly k bits hits the /k prefix */
		for (k = 0; k < max; k++) {
			q = base;
			q.addr.b[k / 8] ^= (uint8_t)(0x80 >> (k % 8));
			if (allowedips_lookup(&t, q.family, q.addr.b) != &own[k])
				fail_msg("%s shares %u bits",
					 prefix_format(&q, buf, sizeof(buf)), k);
		}
		assert_ptr_equal(allowedips_lookup(&t, base.family,
						   base.addr.b), &own[max]);
		/* drop the odd lengths: the even one below takes over */
		for (len = 1; len <= max; len += 2) {
			p = base;
			p.len = (uint8_t)len;
			prefix_mask(&p);
			assert_int_equal(allowedips_remove(&t, &p, &own[len]), 0);
		}
		expect_sound(&t);
		for (k = 0; k < max; k++) {
			q = base;
			q.addr.b[k / 8] ^= (uint8_t)(0x80 >> (k % 8));
			if (allowedips_lookup(&t, q.family, q.addr.b) !=
			    &own[k & ~1u])
				fail_msg("after removal, %u bits", k);
		}
		allowedips_free(&t);
	}
}

struct collect {
	struct prefix p[64];
	size_t n;
};

static void collect_fn(const struct prefix *p, void *arg)
{
	struct collect *c = arg;

	if (c->n == ARRAY_SIZE(c->p))
		fail_msg("walk reported too many prefixes");
	c->p[c->n++] = *p;
}

static bool collected(const struct collect *c, const char *s)
{
	struct prefix p = pfx(s);
	size_t i;

	for (i = 0; i < c->n; i++)
		if (prefix_equal(&c->p[i], &p) &&
		    !memcmp(c->p[i].addr.b, p.addr.b, 16))
			return true;
	return false;
}

static void test_walk_owner(void **state)
{
	struct allowedips t;
	struct collect c;

	(void)state;
	allowedips_init(&t);
	insert(&t, "10.0.0.0/8", A);
	insert(&t, "10.1.0.0/16", B);
	insert(&t, "10.1.2.0/24", A);
	insert(&t, "0.0.0.0/0", A);
	insert(&t, "1.2.3.4/32", A);
	insert(&t, "fd00::/8", A);
	insert(&t, "fd00::1/128", B);
	insert(&t, "ffff::1:2:3:4/128", A);

	memset(&c, 0, sizeof(c));
	allowedips_walk_owner(&t, A, collect_fn, &c);
	assert_int_equal(c.n, 6);
	assert_true(collected(&c, "10.0.0.0/8"));
	assert_true(collected(&c, "10.1.2.0/24"));
	assert_true(collected(&c, "0.0.0.0/0"));
	assert_true(collected(&c, "1.2.3.4/32"));
	assert_true(collected(&c, "fd00::/8"));
	assert_true(collected(&c, "ffff::1:2:3:4/128"));

	memset(&c, 0, sizeof(c));
	allowedips_walk_owner(&t, B, collect_fn, &c);
	assert_int_equal(c.n, 2);
	assert_true(collected(&c, "10.1.0.0/16"));
	assert_true(collected(&c, "fd00::1/128"));

	memset(&c, 0, sizeof(c));
	allowedips_walk_owner(&t, C, collect_fn, &c);
	allowedips_walk_owner(&t, NULL, collect_fn, &c);
	assert_int_equal(c.n, 0);
	allowedips_free(&t);
}

/* ---- randomized comparison with a linear scan ---- */

static unsigned int rng_below(unsigned int n)
{
	return (unsigned int)(rng() % n);
}

struct ref_entry {
	struct prefix p;
	void *owner;
};

#define REF_MAX		4096

struct ref {
	struct ref_entry e[REF_MAX];
	size_t n;
};

/* Bit-by-bit, on purpose nothing like the trie. */
static bool ref_match(const struct prefix *p, int family, const uint8_t *a)
{
	unsigned int i;

	if (p->family != family)
		return false;
	for (i = 0; i < p->len; i++)
		if (((p->addr.b[i / 8] ^ a[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

static struct ref_entry *ref_find(struct ref *r, const struct prefix *p)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->e[i].p.family == p->family && r->e[i].p.len == p->len &&
		    !memcmp(r->e[i].p.addr.b, p->addr.b, 16))
			return &r->e[i];
	return NULL;
}

static void ref_del(struct ref *r, struct ref_entry *e)
{
	*e = r->e[--r->n];
}

static void *ref_lookup(const struct ref *r, int family, const uint8_t *a)
{
	void *best = NULL;
	int best_len = -1;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->e[i].p.len > best_len &&
		    ref_match(&r->e[i].p, family, a)) {
			best = r->e[i].owner;
			best_len = r->e[i].p.len;
		}
	return best;
}

/*
 * Addresses drawn so that many share long runs of bits: most bytes come
 * from one of a few bases, the rest are 00, ff, 80 or random.
 */
static void gen_addr(int family, uint8_t *a)
{
	static const uint8_t bases[4][16] = {
		{ 10, 0, 0, 0 },
		{ 10, 1, 2, 3 },
		{ 0xfd, 0x00, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
		{ 0xc0, 0xa8, 0x80, 0x01, 0xff, 0xff, 0, 0, 1, 2, 3, 4,
		  0x80, 0, 0, 0 },
	};
	const uint8_t *b = bases[rng_below(4)];
	size_t i, alen = prefix_addr_len(family);

	memset(a, 0, 16);
	for (i = 0; i < alen; i++) {
		switch (rng_below(12)) {
		case 0: a[i] = 0x00; break;
		case 1: a[i] = 0xff; break;
		case 2: a[i] = 0x80; break;
		case 3: a[i] = (uint8_t)rng(); break;
		case 4: a[i] = b[i] ^ (uint8_t)(1u << rng_below(8)); break;
		default: a[i] = b[i]; break;
		}
	}
}

static void gen_prefix(struct prefix *p)
{
	static const uint8_t common4[] = { 0, 1, 7, 8, 9, 15, 16, 17, 23,
					   24, 25, 31, 32 };
	unsigned int max;

	memset(p, 0, sizeof(*p));
	p->family = rng_below(3) ? AF_INET : AF_INET6;
	gen_addr(p->family, p->addr.b);
	max = (unsigned int)prefix_addr_len(p->family) * 8;
	if (p->family == AF_INET && rng_below(2))
		p->len = common4[rng_below(ARRAY_SIZE(common4))];
	else
		p->len = (uint8_t)rng_below(max + 1);
	prefix_mask(p);
}

/* An address either at random or inside a stored prefix. */
static int gen_lookup_addr(const struct ref *r, uint8_t *a)
{
	const struct prefix *p;
	int family;
	unsigned int i;

	if (!r->n || rng_below(3) == 0) {
		family = rng_below(3) ? AF_INET : AF_INET6;
		gen_addr(family, a);
		return family;
	}
	p = &r->e[rng_below((unsigned int)r->n)].p;
	memcpy(a, p->addr.b, 16);
	for (i = p->len; i < prefix_addr_len(p->family) * 8; i++)
		if (rng_below(4) == 0)
			a[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	return p->family;
}

static void walk_count_fn(const struct prefix *p, void *arg)
{
	struct ref *r = arg;
	struct ref_entry *e = ref_find(r, p);

	/* each reported prefix must be the owner's; mark it by removal */
	if (!e)
		fail_msg("walk reported a prefix not in the reference");
	ref_del(r, e);
}

static void check_walk(const struct allowedips *t, const struct ref *r,
		       void *owner)
{
	static struct ref mine;
	size_t i;

	mine.n = 0;
	for (i = 0; i < r->n; i++)
		if (r->e[i].owner == owner)
			mine.e[mine.n++] = r->e[i];
	allowedips_walk_owner(t, owner, walk_count_fn, &mine);
	/* every one of them reported exactly once */
	assert_int_equal(mine.n, 0);
}

static void run_random(uint64_t seed, unsigned int ops, size_t target)
{
	static struct ref r;
	struct allowedips t;
	struct ref_entry *e;
	struct prefix p;
	uint8_t a[16];
	unsigned int i, j, op, grow;
	unsigned long lookups = 0, hits = 0, repoints = 0, removes = 0;
	void *owner;
	int family, ret;

	rng_seed(seed);
	r.n = 0;
	allowedips_init(&t);
	for (i = 0; i < ops; i++) {
		/*
		 * Per mille: insert, remove a stored prefix, remove a random
		 * one, remove an owner, the rest lookups. Below the target
		 * size inserts win, above it removals do.
		 */
		grow = r.n < target;
		op = rng_below(1000);
		if (op < (grow ? 600u : 200u)) {
			gen_prefix(&p);
			owner = &owners[rng_below(NOWNERS)];
			assert_int_equal(allowedips_insert(&t, &p, owner), 0);
			e = ref_find(&r, &p);
			if (e) {
				e->owner = owner;
				repoints++;
			} else {
				assert_true(r.n < REF_MAX);
				r.e[r.n].p = p;
				r.e[r.n++].owner = owner;
			}
		} else if (op < (grow ? 750u : 500u)) {
			if (!r.n)
				continue;
			e = &r.e[rng_below((unsigned int)r.n)];
			p = e->p;
			if (rng_below(5) == 0) {
				owner = &owners[rng_below(NOWNERS)];
				ret = allowedips_remove(&t, &p, owner);
				assert_int_equal(ret,
						 owner == e->owner ? 0 : -ENOENT);
			} else {
				assert_int_equal(allowedips_remove(&t, &p,
							e->owner), 0);
				owner = e->owner;
			}
			if (owner == e->owner)
				ref_del(&r, e);
			removes++;
		} else if (op < (grow ? 800u : 550u)) {
			gen_prefix(&p);
			owner = &owners[rng_below(NOWNERS)];
			e = ref_find(&r, &p);
			ret = allowedips_remove(&t, &p, owner);
			if (e && e->owner == owner) {
				assert_int_equal(ret, 0);
				ref_del(&r, e);
			} else {
				assert_int_equal(ret, -ENOENT);
			}
		} else if (op < (grow ? 801u : 552u)) {
			owner = &owners[rng_below(NOWNERS)];
			allowedips_remove_owner(&t, owner);
			for (j = 0; j < r.n;)
				if (r.e[j].owner == owner)
					ref_del(&r, &r.e[j]);
				else
					j++;
		} else {
			for (j = 0; j < 4; j++) {
				void *want, *got;

				family = gen_lookup_addr(&r, a);
				want = ref_lookup(&r, family, a);
				got = allowedips_lookup(&t, family, a);
				if (got != want)
					fail_msg("op %u: lookup got %s want %s",
						 i, owner_name(got),
						 owner_name(want));
				lookups++;
				hits += want != NULL;
			}
		}
		assert_int_equal(t.count, r.n);
		if (i % 256 == 0) {
			expect_sound(&t);
			check_walk(&t, &r, &owners[rng_below(NOWNERS)]);
		}
	}
	expect_sound(&t);
	for (j = 0; j < NOWNERS; j++)
		check_walk(&t, &r, &owners[j]);
	print_message("%u ops: %zu prefixes left, %lu lookups (%lu hits), "
		      "%lu re-points, %lu removes\n", ops, r.n, lookups, hits,
		      repoints, removes);
	assert_true(hits > lookups / 2);
	assert_true(repoints > 0);

	/* Emptying it one by one leaves no node behind. */
	if (seed & 1) {
		while (r.n) {
			e = &r.e[rng_below((unsigned int)r.n)];
			assert_int_equal(allowedips_remove(&t, &e->p,
							   e->owner), 0);
			ref_del(&r, e);
			assert_int_equal(t.count, r.n);
		}
		assert_null(t.root4);
		assert_null(t.root6);
		expect_sound(&t);
	}
	allowedips_free(&t);
	assert_int_equal(t.count, 0);
}

static void test_random_small(void **state)
{
	(void)state;
	/* a small table churns a lot: every path gets built and torn down */
	run_random(0x9e3779b97f4a7c15ULL, 60000, 40);
}

static void test_random_large(void **state)
{
	(void)state;
	run_random(0x0123456789abcdefULL, 20000, 1500);
}

static void test_random_free_full(void **state)
{
	(void)state;
	/* even seed: allowedips_free() on a full table (leaks show in ASan) */
	run_random(0xdeadbeefcafef00eULL, 8000, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_siblings),
		cmocka_unit_test(test_default_route),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_repoint),
		cmocka_unit_test(test_remove_middle),
		cmocka_unit_test(test_remove_owner),
		cmocka_unit_test(test_families_independent),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_all_lengths),
		cmocka_unit_test(test_walk_owner),
		cmocka_unit_test(test_random_small),
		cmocka_unit_test(test_random_large),
		cmocka_unit_test(test_random_free_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
