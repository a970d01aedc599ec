/* allowedips.c - longest-prefix-match table from IP prefixes to peers */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "allowedips.h"
#include "bytes.h"

/*
 * Theory of operation: one path-compressed binary trie per family. Every
 * node stands for a prefix (key, cidr); a child's prefix extends its
 * parent's, and it hangs off child[b] where b is the child key's bit at
 * position parent->cidr. A node with an owner is a stored prefix; a node
 * without one is a branch point ("glue") and then always has two children,
 * so the trie never holds more than 2n - 1 nodes for n prefixes. Removing
 * a prefix turns its node into glue and prunes every node that no longer
 * earns its place.
 *
 * Keys are kept as two host-order 64-bit words (an IPv4 address lives in
 * the top 32 bits of hi), with the prefix mask precomputed, so a lookup is
 * two XOR-AND tests and a bit fetch per level: no allocation, no memcmp.
 * Paths are at most 129 nodes long (cidr grows strictly along a path),
 * which bounds the recursion and the removal stack.
 */

#define ALLOWEDIPS_MAX_DEPTH	129

struct allowedips_node {
	struct allowedips_node *child[2];
	void *owner;			/* NULL: glue node */
	uint64_t hi, lo;		/* key, host bits zero */
	uint64_t mask_hi, mask_lo;
	uint8_t cidr;
};

struct allowedips_key {
	uint64_t hi, lo;
};

static unsigned int allowedips_max_bits(int family)
{
	return (unsigned int)prefix_addr_len(family) * 8;
}

static struct allowedips_node **allowedips_root(struct allowedips *t,
						int family)
{
	return family == AF_INET ? &t->root4 : &t->root6;
}

static struct allowedips_key allowedips_load(int family, const void *addr)
{
	struct allowedips_key k = { 0, 0 };

	if (family == AF_INET) {
		k.hi = (uint64_t)bytes_load_be32(addr) << 32;
	} else {
		k.hi = bytes_load_be64(addr);
		k.lo = bytes_load_be64((const uint8_t *)addr + 8);
	}
	return k;
}

static uint64_t allowedips_word_mask(unsigned int bits)
{
	if (bits == 0)
		return 0;
	if (bits >= 64)
		return UINT64_MAX;
	return UINT64_MAX << (64 - bits);
}

static void allowedips_set_key(struct allowedips_node *n,
			       struct allowedips_key k, unsigned int cidr)
{
	n->cidr = (uint8_t)cidr;
	n->mask_hi = allowedips_word_mask(cidr);
	n->mask_lo = allowedips_word_mask(cidr > 64 ? cidr - 64 : 0);
	n->hi = k.hi & n->mask_hi;
	n->lo = k.lo & n->mask_lo;
}

/* Bit i (0 = most significant) of the key; i < 128. */
static inline unsigned int allowedips_bit(uint64_t hi, uint64_t lo,
					  unsigned int i)
{
	return i < 64 ? (unsigned int)(hi >> (63 - i)) & 1 :
			(unsigned int)(lo >> ((127 - i) & 63)) & 1;
}

/* The key lies inside the node's prefix. */
static inline bool allowedips_match(const struct allowedips_node *n,
				    uint64_t hi, uint64_t lo)
{
	return !(((hi ^ n->hi) & n->mask_hi) | ((lo ^ n->lo) & n->mask_lo));
}

/* Number of leading bits the two keys share (up to 128). */
static unsigned int allowedips_common(uint64_t hi1, uint64_t lo1,
				      uint64_t hi2, uint64_t lo2)
{
	if (hi1 != hi2)
		return (unsigned int)__builtin_clzll(hi1 ^ hi2);
	if (lo1 != lo2)
		return 64 + (unsigned int)__builtin_clzll(lo1 ^ lo2);
	return 128;
}

static struct allowedips_node *allowedips_node_new(struct allowedips_key k,
						   unsigned int cidr,
						   void *owner)
{
	struct allowedips_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	allowedips_set_key(n, k, cidr);
	n->owner = owner;
	return n;
}

void allowedips_init(struct allowedips *t)
{
	t->root4 = NULL;
	t->root6 = NULL;
	t->count = 0;
}

static void allowedips_free_tree(struct allowedips_node *n)
{
	if (!n)
		return;
	allowedips_free_tree(n->child[0]);
	allowedips_free_tree(n->child[1]);
	free(n);
}

void allowedips_free(struct allowedips *t)
{
	allowedips_free_tree(t->root4);
	allowedips_free_tree(t->root6);
	allowedips_init(t);
}

/*
 * allowedips_insert - store p -> owner, or re-point p if already stored.
 *
 * Walks down while the current node's prefix holds p. Where the walk stops
 * there are four cases: an empty slot (hang a leaf), the node is p itself
 * (set its owner), p holds the node (put p above it), or the two part ways
 * at some bit (a glue node at that bit with both below it).
 */
int allowedips_insert(struct allowedips *t, const struct prefix *p,
		      void *owner)
{
	struct allowedips_node **link, *n, *leaf, *glue;
	struct allowedips_key k;
	unsigned int cidr, common = 0;

	if (!p || !owner || !allowedips_max_bits(p->family) ||
	    p->len > allowedips_max_bits(p->family))
		return -EINVAL;
	cidr = p->len;
	k = allowedips_load(p->family, p->addr.b);

	link = allowedips_root(t, p->family);
	while ((n = *link)) {
		common = allowedips_common(k.hi, k.lo, n->hi, n->lo);
		if (common > cidr)
			common = cidr;
		if (common > n->cidr)
			common = n->cidr;

		if (common == n->cidr && n->cidr == cidr) {
			if (!n->owner)
				t->count++;
			n->owner = owner;
			return 0;
		}
		if (common == n->cidr) {
			link = &n->child[allowedips_bit(k.hi, k.lo, n->cidr)];
			continue;
		}
		break;
	}

	leaf = allowedips_node_new(k, cidr, owner);
	if (!leaf)
		return -ENOMEM;
	if (!n) {
		*link = leaf;
	} else if (common == cidr) {
		/* p holds n: n moves one level down, under p */
		leaf->child[allowedips_bit(n->hi, n->lo, cidr)] = n;
		*link = leaf;
	} else {
		glue = allowedips_node_new(k, common, NULL);
		if (!glue) {
			free(leaf);
			return -ENOMEM;
		}
		glue->child[allowedips_bit(n->hi, n->lo, common)] = n;
		glue->child[allowedips_bit(k.hi, k.lo, common)] = leaf;
		*link = glue;
	}
	t->count++;
	return 0;
}

/*
 * Undo glue that is no longer needed, from the node at links[depth] up:
 * an owner-less node with one child is replaced by that child, one with
 * none is dropped (which may leave its parent with one child).
 */
static void allowedips_prune(struct allowedips_node **links[], int depth)
{
	struct allowedips_node *n;

	for (; depth >= 0; depth--) {
		n = *links[depth];
		if (n->owner || (n->child[0] && n->child[1]))
			break;
		*links[depth] = n->child[0] ? n->child[0] : n->child[1];
		free(n);
	}
}

int allowedips_remove(struct allowedips *t, const struct prefix *p,
		      void *owner)
{
	struct allowedips_node **links[ALLOWEDIPS_MAX_DEPTH];
	struct allowedips_node **link, *n;
	struct allowedips_key k;
	unsigned int cidr;
	int depth = 0;

	if (!p || !owner || !allowedips_max_bits(p->family) ||
	    p->len > allowedips_max_bits(p->family))
		return -ENOENT;
	cidr = p->len;
	k = allowedips_load(p->family, p->addr.b);

	link = allowedips_root(t, p->family);
	while ((n = *link)) {
		if (n->cidr > cidr || !allowedips_match(n, k.hi, k.lo))
			return -ENOENT;
		links[depth] = link;
		if (n->cidr == cidr)
			break;
		depth++;
		link = &n->child[allowedips_bit(k.hi, k.lo, n->cidr)];
	}
	if (!n || n->owner != owner)
		return -ENOENT;

	n->owner = NULL;
	t->count--;
	allowedips_prune(links, depth);
	return 0;
}

/* Post-order: clear owner below n, return what now takes n's place. */
static struct allowedips_node *
allowedips_remove_owner_tree(struct allowedips_node *n, void *owner,
			     size_t *removed)
{
	struct allowedips_node *only;

	if (!n)
		return NULL;
	n->child[0] = allowedips_remove_owner_tree(n->child[0], owner, removed);
	n->child[1] = allowedips_remove_owner_tree(n->child[1], owner, removed);
	if (n->owner == owner) {
		n->owner = NULL;
		(*removed)++;
	}
	if (n->owner || (n->child[0] && n->child[1]))
		return n;
	only = n->child[0] ? n->child[0] : n->child[1];
	free(n);
	return only;
}

void allowedips_remove_owner(struct allowedips *t, void *owner)
{
	size_t removed = 0;

	if (!owner)
		return;
	t->root4 = allowedips_remove_owner_tree(t->root4, owner, &removed);
	t->root6 = allowedips_remove_owner_tree(t->root6, owner, &removed);
	t->count -= removed;
}

/* Runs per packet: keep it free of allocation and calls. */
void *allowedips_lookup(const struct allowedips *t, int family,
			const void *addr)
{
	const struct allowedips_node *n;
	struct allowedips_key k;
	unsigned int max = allowedips_max_bits(family);
	void *best = NULL;

	if (!max || !addr)
		return NULL;
	k = allowedips_load(family, addr);
	n = family == AF_INET ? t->root4 : t->root6;
	while (n && allowedips_match(n, k.hi, k.lo)) {
		if (n->owner)
			best = n->owner;
		if (n->cidr >= max)
			break;
		n = n->child[allowedips_bit(k.hi, k.lo, n->cidr)];
	}
	return best;
}

static void allowedips_node_prefix(const struct allowedips_node *n,
				   int family, struct prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->len = n->cidr;
	if (family == AF_INET) {
		bytes_store_be32(p->addr.b, (uint32_t)(n->hi >> 32));
	} else {
		bytes_store_be64(p->addr.b, n->hi);
		bytes_store_be64(p->addr.b + 8, n->lo);
	}
}

static void allowedips_walk_tree(const struct allowedips_node *n, int family,
				 void *owner,
				 void (*fn)(const struct prefix *p, void *arg),
				 void *arg)
{
	struct prefix p;

	if (!n)
		return;
	if (n->owner == owner) {
		allowedips_node_prefix(n, family, &p);
		fn(&p, arg);
	}
	allowedips_walk_tree(n->child[0], family, owner, fn, arg);
	allowedips_walk_tree(n->child[1], family, owner, fn, arg);
}

/* fn must not change the table. */
void allowedips_walk_owner(const struct allowedips *t, void *owner,
			   void (*fn)(const struct prefix *p, void *arg),
			   void *arg)
{
	if (!owner || !fn)
		return;
	allowedips_walk_tree(t->root4, AF_INET, owner, fn, arg);
	allowedips_walk_tree(t->root6, AF_INET6, owner, fn, arg);
}

/* Check the subtree's invariants; count nodes and prefixes. */
static int allowedips_verify_tree(const struct allowedips_node *n,
				  const struct allowedips_node *parent,
				  unsigned int side, unsigned int max,
				  size_t *nodes, size_t *prefixes)
{
	int ret;

	if (!n)
		return 0;
	if (n->cidr > max ||
	    n->mask_hi != allowedips_word_mask(n->cidr) ||
	    n->mask_lo != allowedips_word_mask(n->cidr > 64 ? n->cidr - 64 : 0) ||
	    (n->hi & ~n->mask_hi) || (n->lo & ~n->mask_lo))
		return -EINVAL;
	if (max == 32 && (n->lo || (n->hi & UINT32_MAX)))
		return -EINVAL;
	if (parent && (n->cidr <= parent->cidr ||
		       !allowedips_match(parent, n->hi, n->lo) ||
		       allowedips_bit(n->hi, n->lo, parent->cidr) != side))
		return -EINVAL;
	if (!n->owner && !(n->child[0] && n->child[1]))
		return -EINVAL;
	(*nodes)++;
	if (n->owner)
		(*prefixes)++;
	ret = allowedips_verify_tree(n->child[0], n, 0, max, nodes, prefixes);
	if (ret)
		return ret;
	return allowedips_verify_tree(n->child[1], n, 1, max, nodes, prefixes);
}

int allowedips_verify(const struct allowedips *t, size_t *nodes)
{
	size_t n = 0, prefixes = 0;
	int ret;

	ret = allowedips_verify_tree(t->root4, NULL, 0, 32, &n, &prefixes);
	if (!ret)
		ret = allowedips_verify_tree(t->root6, NULL, 0, 128, &n,
					     &prefixes);
	if (!ret && prefixes != t->count)
		ret = -EINVAL;
	if (nodes)
		*nodes = n;
	return ret;
}
