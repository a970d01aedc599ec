/* names.c - the table of container names: name -> addresses, address -> name
 *
 * Theory of operation: each running container is one fixed-size slot (its
 * engine id, its names made fully qualified, its addresses), so memory per
 * container is bounded and the table holds at most NAMES_MAX_CONTAINERS.
 * Changes come from the engine (docker_api_linux.c) a few at a time; the
 * DNS server asks many times a second. So a change only marks the index
 * stale, and the next question rebuilds it whole: two open-addressing hash
 * tables, one keyed by name, one by address, sized to twice their entries.
 * A lookup is then a hash and a short probe, with no allocation. Several
 * containers may share a name (a Compose service with replicas): all of
 * them answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "names.h"

#define NAMES_PER_CONTAINER	(2 + NAMES_MAX_EXTRA)

struct names_slot {
	struct names_container c;
	char fq[NAMES_PER_CONTAINER][NAMES_NAME_LEN + 1];	/* lower case */
	size_t n_fq;
	bool mark;
};

struct names_entry {
	uint32_t hash;
	uint32_t slot;		/* UINT32_MAX: empty */
	uint16_t sub;		/* the name's or the address's index in the slot */
};

struct names_index {
	struct names_entry *v;
	size_t mask;		/* size - 1, a power of two */
};

struct names {
	char domain[NAMES_NAME_LEN + 1];
	size_t domain_len;
	struct names_slot *slots[NAMES_MAX_CONTAINERS];
	size_t n;
	struct prefix *preferred;
	size_t n_preferred;
	bool stale;
	uint64_t generation;
	size_t n_names;		/* distinct, counted by the last rebuild */
	struct names_index by_name, by_addr;
};

/* FNV-1a: short keys, no adversary who gains by collisions beyond a slower probe. */
static uint32_t names_hash(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t names_hash_addr(const struct prefix *a)
{
	return names_hash(a->addr.b, prefix_addr_len(a->family)) ^ (uint32_t)a->family;
}

struct names *names_new(const char *domain)
{
	struct names *n;
	size_t len = strlen(domain);

	if (len == 0 || len > NAMES_NAME_LEN - 2) {
		errno = EINVAL;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	for (size_t i = 0; i <= len; i++)
		n->domain[i] = (char)((domain[i] >= 'A' && domain[i] <= 'Z') ?
				      domain[i] - 'A' + 'a' : domain[i]);
	n->domain_len = len;
	n->stale = true;
	n->generation++;
	return n;
}

void names_free(struct names *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		free(n->slots[i]);
	free(n->preferred);
	free(n->by_name.v);
	free(n->by_addr.v);
	free(n);
}

const char *names_domain(const struct names *n)
{
	return n->domain;
}

/* Letters, digits, '-' and '_' in labels of 1-63, dot-separated. */
static bool names_valid(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > NAMES_NAME_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
		if (++label > NAMES_LABEL_LEN)
			return false;
	}
	return label > 0;
}

/* "rel" -> "rel.domain", or "x.domain" as it is; lower case. */
static void names_add_fq(struct names *n, struct names_slot *s, const char *rel)
{
	size_t len = strlen(rel), total;
	char *out;

	if (s->n_fq >= NAMES_PER_CONTAINER)
		return;
	if (len > n->domain_len + 1 && rel[len - n->domain_len - 1] == '.' &&
	    !strcasecmp(rel + len - n->domain_len, n->domain))
		total = len;
	else
		total = len + 1 + n->domain_len;
	if (!names_valid(rel, len) || total > NAMES_NAME_LEN)
		return;
	out = s->fq[s->n_fq];
	for (size_t i = 0; i < len; i++)
		out[i] = (char)((rel[i] >= 'A' && rel[i] <= 'Z') ? rel[i] - 'A' + 'a' : rel[i]);
	if (total > len) {
		out[len] = '.';
		memcpy(out + len + 1, n->domain, n->domain_len);
	}
	out[total] = '\0';
	for (size_t i = 0; i < s->n_fq; i++)
		if (!strcmp(s->fq[i], out))
			return;		/* the same name twice */
	s->n_fq++;
}

static struct names_slot *names_find_id(struct names *n, const char *id, size_t *at)
{
	for (size_t i = 0; i < n->n; i++) {
		if (!strcmp(n->slots[i]->c.id, id)) {
			if (at)
				*at = i;
			return n->slots[i];
		}
	}
	return NULL;
}

int names_put(struct names *n, const struct names_container *c)
{
	struct names_slot *s;
	char both[2 * NAMES_LABEL_LEN + 2];

	if (!c->id[0] || memchr(c->id, '\0', sizeof(c->id)) == NULL)
		return -EINVAL;
	s = names_find_id(n, c->id, NULL);
	if (!s) {
		if (n->n >= NAMES_MAX_CONTAINERS)
			return -ENOSPC;
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		n->slots[n->n++] = s;
	}
	s->c = *c;
	s->c.name[NAMES_NAME_LEN] = '\0';
	s->c.service[NAMES_LABEL_LEN] = '\0';
	s->c.project[NAMES_LABEL_LEN] = '\0';
	if (s->c.n_extra > NAMES_MAX_EXTRA)
		s->c.n_extra = NAMES_MAX_EXTRA;
	if (s->c.n_addrs > NAMES_MAX_ADDRS)
		s->c.n_addrs = NAMES_MAX_ADDRS;
	s->n_fq = 0;
	s->mark = false;
	if (s->c.name[0])
		names_add_fq(n, s, s->c.name);
	if (s->c.service[0] && s->c.project[0]) {
		snprintf(both, sizeof(both), "%s.%s", s->c.service, s->c.project);
		names_add_fq(n, s, both);
	}
	for (size_t i = 0; i < s->c.n_extra; i++) {
		s->c.extra[i][NAMES_NAME_LEN] = '\0';
		names_add_fq(n, s, s->c.extra[i]);
	}
	n->stale = true;
	n->generation++;
	return 0;
}

static void names_drop(struct names *n, size_t at)
{
	free(n->slots[at]);
	n->slots[at] = n->slots[--n->n];
	n->slots[n->n] = NULL;
	n->stale = true;
	n->generation++;
}

int names_remove(struct names *n, const char *id)
{
	size_t at;

	if (!names_find_id(n, id, &at))
		return -ENOENT;
	names_drop(n, at);
	return 0;
}

void names_mark(struct names *n)
{
	for (size_t i = 0; i < n->n; i++)
		n->slots[i]->mark = true;
}

size_t names_sweep(struct names *n)
{
	size_t removed = 0;

	for (size_t i = n->n; i-- > 0;) {
		if (n->slots[i]->mark) {
			names_drop(n, i);
			removed++;
		}
	}
	return removed;
}

int names_set_preferred(struct names *n, const struct prefix *p, size_t count)
{
	struct prefix *v = NULL;

	if (count) {
		v = calloc(count, sizeof(*v));
		if (!v)
			return -ENOMEM;
		memcpy(v, p, count * sizeof(*v));
	}
	free(n->preferred);
	n->preferred = v;
	n->n_preferred = count;
	n->generation++;
	return 0;
}

static int names_index_alloc(struct names_index *ix, size_t entries)
{
	size_t size = 16;

	while (size < 2 * entries)
		size *= 2;
	if (!ix->v || ix->mask + 1 != size) {
		free(ix->v);
		ix->v = calloc(size, sizeof(*ix->v));
		if (!ix->v) {
			ix->mask = 0;
			return -ENOMEM;
		}
		ix->mask = size - 1;
	}
	for (size_t i = 0; i < size; i++)
		ix->v[i].slot = UINT32_MAX;
	return 0;
}

static void names_index_add(struct names_index *ix, uint32_t hash, uint32_t slot, uint16_t sub)
{
	size_t i = hash & ix->mask;

	while (ix->v[i].slot != UINT32_MAX)
		i = (i + 1) & ix->mask;
	ix->v[i] = (struct names_entry){ .hash = hash, .slot = slot, .sub = sub };
}

static int names_rebuild(struct names *n)
{
	size_t n_fq = 0, n_addrs = 0;

	if (!n->stale)
		return 0;
	for (size_t i = 0; i < n->n; i++) {
		n_fq += n->slots[i]->n_fq;
		n_addrs += n->slots[i]->c.n_addrs;
	}
	if (names_index_alloc(&n->by_name, n_fq) || names_index_alloc(&n->by_addr, n_addrs))
		return -ENOMEM;
	n->n_names = 0;
	for (uint32_t i = 0; i < n->n; i++) {
		const struct names_slot *s = n->slots[i];

		for (uint16_t j = 0; j < s->n_fq; j++) {
			uint32_t h = names_hash(s->fq[j], strlen(s->fq[j]));
			bool seen = false;

			for (size_t k = h & n->by_name.mask; n->by_name.v[k].slot != UINT32_MAX;
			     k = (k + 1) & n->by_name.mask) {
				const struct names_entry *e = &n->by_name.v[k];

				if (e->hash == h && !strcmp(n->slots[e->slot]->fq[e->sub], s->fq[j]))
					seen = true;
			}
			n->n_names += !seen;
			names_index_add(&n->by_name, h, i, j);
		}
		for (uint16_t j = 0; j < s->c.n_addrs; j++)
			names_index_add(&n->by_addr, names_hash_addr(&s->c.addrs[j]), i, j);
	}
	n->stale = false;
	return 0;
}

static bool names_is_preferred(const struct names *n, const struct prefix *a)
{
	for (size_t i = 0; i < n->n_preferred; i++)
		if (prefix_contains_addr(&n->preferred[i], a->family, a->addr.b))
			return true;
	return false;
}

int names_lookup(struct names *n, const char *name, int family, struct prefix *out,
		 size_t max)
{
	char key[NAMES_NAME_LEN + 1];
	size_t len = strlen(name), count = 0;
	bool found = false;
	uint32_t h;

	if (len == 0 || len > NAMES_NAME_LEN || names_rebuild(n))
		return -ENOENT;
	for (size_t i = 0; i <= len; i++)
		key[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] - 'A' + 'a' : name[i]);
	h = names_hash(key, len);
	/* Two passes: addresses in the preferred networks, then the rest. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = h & n->by_name.mask; n->by_name.v[k].slot != UINT32_MAX;
		     k = (k + 1) & n->by_name.mask) {
			const struct names_entry *e = &n->by_name.v[k];
			const struct names_slot *s = n->slots[e->slot];

			if (e->hash != h || strcmp(s->fq[e->sub], key))
				continue;
			found = true;
			for (size_t j = 0; j < s->c.n_addrs && count < max; j++) {
				const struct prefix *a = &s->c.addrs[j];

				if ((family && a->family != family) ||
				    names_is_preferred(n, a) != (pass == 0))
					continue;
				out[count++] = *a;
			}
		}
	}
	return found ? (int)count : -ENOENT;
}

int names_reverse(struct names *n, const struct prefix *addr, char *buf, size_t size)
{
	uint32_t h;

	if (names_rebuild(n))
		return -ENOENT;
	h = names_hash_addr(addr);
	for (size_t k = h & n->by_addr.mask; n->by_addr.v[k].slot != UINT32_MAX;
	     k = (k + 1) & n->by_addr.mask) {
		const struct names_entry *e = &n->by_addr.v[k];
		const struct names_slot *s = n->slots[e->slot];
		const struct prefix *a = &s->c.addrs[e->sub];

		if (e->hash != h || a->family != addr->family ||
		    memcmp(a->addr.b, addr->addr.b, prefix_addr_len(a->family)) || !s->n_fq)
			continue;
		if (strlen(s->fq[0]) >= size)
			return -ENOSPC;
		memcpy(buf, s->fq[0], strlen(s->fq[0]) + 1);
		return 0;
	}
	return -ENOENT;
}

uint64_t names_generation(const struct names *n)
{
	return n->generation;
}

size_t names_count(struct names *n)
{
	return names_rebuild(n) ? 0 : n->n_names;
}

size_t names_containers(const struct names *n)
{
	return n->n;
}

void names_foreach(struct names *n, names_fn fn, void *ctx)
{
	for (size_t i = 0; i < n->n; i++) {
		const struct names_slot *s = n->slots[i];

		for (size_t j = 0; j < s->n_fq; j++) {
			if (!s->c.n_addrs)
				fn(ctx, s->fq[j], NULL);
			for (int pass = 0; pass < 2; pass++)
				for (size_t k = 0; k < s->c.n_addrs; k++)
					if (names_is_preferred(n, &s->c.addrs[k]) == (pass == 0))
						fn(ctx, s->fq[j], &s->c.addrs[k]);
		}
	}
}
