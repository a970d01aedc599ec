/* discover_view.c - the view of Docker bridges: name matching, building, comparing, logging */

/*
 * Theory of operation
 *
 * This file owns what discovery decides, apart from how it learns about
 * the kernel's links and addresses (discover_linux.c: rtnetlink, the
 * model, dumps and events). Everything here is a pure function of its
 * arguments, with no sockets and no state, so the unit tests and the
 * netlink fuzzer can hold the results to exact expectations, and the file
 * builds on every platform.
 *
 * Matching. A bridge belongs to the view when its name matches one of the
 * Bridges patterns (fnmatch) and none of ExcludeInterfaces. Pattern
 * entries are used only when terminated within their array.
 *
 * The view. discover_view_build() copies the bridges, drops addresses that
 * are not valid IPv4/IPv6, sorts bridges by name and each one's addresses,
 * then derives the prefixes: masked addresses outside ExcludePrefixes,
 * plus IncludePrefixes. Sorting makes the result independent of the order
 * in which events arrived, so two views are compared field by field
 * (discover_view_equal()) and the caller is told only of real changes.
 * Copies zero the bytes past the address so that comparisons never see
 * leftovers.
 *
 * The log. discover_view_log_changes() says at debug level what came and
 * went (bridges appearing, renamed, recreated, up or down; addresses;
 * prefixes) and at info level the new prefix list, cut to one line.
 */
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>

#include "discover.h"
#include "log.h"

#define DISCOVER_VIEW_LOG_LIST	800	/* bytes of prefix list in one log line */

_Static_assert(CONFIG_MAX_PREFIXES <=
	       sizeof(((struct discover_view *)0)->prefixes) / sizeof(struct prefix) -
	       (size_t)DISCOVER_MAX_BRIDGES * DISCOVER_MAX_ADDRS,
	       "the view holds every bridge prefix and every IncludePrefixes entry");

bool discover_view_prefix_ok(const struct prefix *p)
{
	size_t alen = prefix_addr_len(p->family);

	return alen && p->len <= alen * 8;
}

/* A copy with the bytes past the address zeroed, so that memcmp() works. */
static struct prefix discover_view_prefix_copy(const struct prefix *p)
{
	struct prefix out;

	memset(&out, 0, sizeof(out));
	out.family = p->family;
	out.len = p->len;
	memcpy(out.addr.b, p->addr.b, prefix_addr_len(p->family));
	return out;
}


static int discover_view_prefix_qcmp(const void *a, const void *b)
{
	return prefix_cmp(a, b);
}

static int discover_view_bridge_qcmp(const void *pa, const void *pb)
{
	const struct discover_bridge *a = pa, *b = pb;
	int r = strncmp(a->ifname, b->ifname, IF_NAMESIZE);

	if (r != 0)
		return r;
	return (a->ifindex > b->ifindex) - (a->ifindex < b->ifindex);
}

/* Sort v[0..n) and drop repeats; returns the new count. */
static size_t discover_view_sort_uniq(struct prefix *v, size_t n)
{
	size_t i, out = 0;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), discover_view_prefix_qcmp);
	for (i = 1; i < n; i++)
		if (prefix_cmp(&v[out], &v[i]))
			v[++out] = v[i];
	return out + 1;
}

/* A pattern list entry is usable if it is terminated within its array. */
static bool discover_view_pattern_match(const struct config_patterns *l, const char *name)
{
	size_t i, n = l->n < CONFIG_MAX_PATTERNS ? l->n : CONFIG_MAX_PATTERNS;

	for (i = 0; i < n; i++)
		if (memchr(l->v[i], '\0', IF_NAMESIZE) && l->v[i][0] &&
		    !fnmatch(l->v[i], name, 0))
			return true;
	return false;
}

bool discover_view_match_ifname(const struct config *c, const char *ifname)
{
	size_t len;

	if (!c || !ifname)
		return false;
	len = strnlen(ifname, IF_NAMESIZE);
	if (len == 0 || len == IF_NAMESIZE)
		return false;
	return discover_view_pattern_match(&c->bridges, ifname) &&
	       !discover_view_pattern_match(&c->exclude_interfaces, ifname);
}

size_t discover_view_list_len(const struct config_prefixes *l)
{
	if (!l->v)
		return 0;
	return l->n < CONFIG_MAX_PREFIXES ? l->n : CONFIG_MAX_PREFIXES;
}

/* p lies entirely inside one of the ExcludePrefixes. */
static bool discover_view_excluded(const struct config *c, const struct prefix *p)
{
	size_t i, n = discover_view_list_len(&c->exclude_prefixes);

	for (i = 0; i < n; i++)
		if (prefix_contains(&c->exclude_prefixes.v[i], p))
			return true;
	return false;
}

/**
 * discover_view_build - compute a view from bridges and the config
 * @c:		ExcludePrefixes and IncludePrefixes (NULL: neither)
 * @bridges:	the bridges, in any order; entries beyond the limits and
 *		addresses that are not valid IPv4/IPv6 are left out
 * @n:		number of bridges
 * @out:	the view: bridges sorted by name with their addresses sorted
 *		and unique; prefixes = masked addresses not inside any
 *		ExcludePrefixes entry, plus IncludePrefixes, sorted by family,
 *		address and length, without repeats
 *
 * Prefixes that only partly overlap an exclusion stay: a network cannot
 * be advertised in pieces. IncludePrefixes are added after the exclusions,
 * so an explicit inclusion wins.
 */
void discover_view_build(const struct config *c, const struct discover_bridge *bridges,
			 size_t n, struct discover_view *out)
{
	size_t i, j, np = 0, ni;

	memset(out, 0, sizeof(*out));
	if (n > DISCOVER_MAX_BRIDGES)
		n = DISCOVER_MAX_BRIDGES;
	for (i = 0; i < n; i++) {
		const struct discover_bridge *s = &bridges[i];
		struct discover_bridge *b = &out->bridges[out->n_bridges++];
		size_t na = s->n_addrs < DISCOVER_MAX_ADDRS ? s->n_addrs : DISCOVER_MAX_ADDRS;

		memcpy(b->ifname, s->ifname, IF_NAMESIZE);
		b->ifname[IF_NAMESIZE - 1] = '\0';
		b->ifindex = s->ifindex;
		b->up = s->up;
		for (j = 0; j < na; j++)
			if (discover_view_prefix_ok(&s->addrs[j]))
				b->addrs[b->n_addrs++] = discover_view_prefix_copy(&s->addrs[j]);
		b->n_addrs = discover_view_sort_uniq(b->addrs, b->n_addrs);
	}
	qsort(out->bridges, out->n_bridges, sizeof(out->bridges[0]), discover_view_bridge_qcmp);

	for (i = 0; i < out->n_bridges; i++) {
		const struct discover_bridge *b = &out->bridges[i];

		for (j = 0; j < b->n_addrs; j++) {
			struct prefix p = b->addrs[j];

			prefix_mask(&p);
			if (c && discover_view_excluded(c, &p))
				continue;
			out->prefixes[np++] = p;
		}
	}
	ni = c ? discover_view_list_len(&c->include_prefixes) : 0;
	for (i = 0; i < ni; i++) {
		struct prefix p;

		if (!discover_view_prefix_ok(&c->include_prefixes.v[i]))
			continue;
		p = discover_view_prefix_copy(&c->include_prefixes.v[i]);
		prefix_mask(&p);
		out->prefixes[np++] = p;
	}
	out->n_prefixes = discover_view_sort_uniq(out->prefixes, np);
}

static bool discover_view_bridge_equal(const struct discover_bridge *a,
				       const struct discover_bridge *b)
{
	size_t i;

	if (strncmp(a->ifname, b->ifname, IF_NAMESIZE) != 0 || a->ifindex != b->ifindex ||
	    a->up != b->up || a->n_addrs != b->n_addrs)
		return false;
	for (i = 0; i < a->n_addrs; i++)
		if (prefix_cmp(&a->addrs[i], &b->addrs[i]))
			return false;
	return true;
}

bool discover_view_equal(const struct discover_view *a, const struct discover_view *b)
{
	size_t i;

	if (a->n_bridges != b->n_bridges || a->n_prefixes != b->n_prefixes)
		return false;
	for (i = 0; i < a->n_bridges; i++)
		if (!discover_view_bridge_equal(&a->bridges[i], &b->bridges[i]))
			return false;
	for (i = 0; i < a->n_prefixes; i++)
		if (prefix_cmp(&a->prefixes[i], &b->prefixes[i]))
			return false;
	return true;
}

/* ------------------------------------------------------------ logging */

static const struct discover_bridge *discover_view_find(const struct discover_view *v,
							const char *ifname, int ifindex)
{
	size_t i;

	for (i = 0; i < v->n_bridges; i++)
		if (ifname ? !strncmp(v->bridges[i].ifname, ifname, IF_NAMESIZE)
			   : v->bridges[i].ifindex == ifindex)
			return &v->bridges[i];
	return NULL;
}

static bool discover_view_has_prefix(const struct prefix *v, size_t n, const struct prefix *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!prefix_cmp(&v[i], p))
			return true;
	return false;
}

/* Debug lines for what one bridge gained or lost between two views. */
static void discover_view_log_bridge(const struct discover_view *ov,
				     const struct discover_bridge *n)
{
	const struct discover_bridge *o = discover_view_find(ov, n->ifname, 0);
	char buf[PREFIX_STRLEN];
	size_t i;

	if (!o) {
		o = discover_view_find(ov, NULL, n->ifindex);
		if (o)
			log_debug("discover: bridge %s (ifindex %d) renamed to %s", o->ifname,
				  n->ifindex, n->ifname);
		else
			log_debug("discover: bridge %s (ifindex %d, %s) appeared", n->ifname,
				  n->ifindex, n->up ? "up" : "down");
	} else if (o->ifindex != n->ifindex) {
		log_debug("discover: bridge %s recreated (ifindex %d, was %d)", n->ifname,
			  n->ifindex, o->ifindex);
	}
	if (o && o->up != n->up)
		log_debug("discover: bridge %s is now %s", n->ifname, n->up ? "up" : "down");
	for (i = 0; i < n->n_addrs; i++)
		if (!o || !discover_view_has_prefix(o->addrs, o->n_addrs, &n->addrs[i]))
			log_debug("discover: + address %s on %s",
				  prefix_format(&n->addrs[i], buf, sizeof(buf)), n->ifname);
	for (i = 0; o && i < o->n_addrs; i++)
		if (!discover_view_has_prefix(n->addrs, n->n_addrs, &o->addrs[i]))
			log_debug("discover: - address %s on %s",
				  prefix_format(&o->addrs[i], buf, sizeof(buf)), n->ifname);
}

/*
 * Debug: every bridge, address and prefix that came or went. Info: one
 * line with the new prefix list when it changed.
 */
void discover_view_log_changes(const struct discover_view *o, const struct discover_view *n)
{
	char buf[PREFIX_STRLEN], list[DISCOVER_VIEW_LOG_LIST];
	size_t i, used = 0, shown = 0;
	bool changed = false;

	for (i = 0; i < n->n_bridges; i++)
		discover_view_log_bridge(o, &n->bridges[i]);
	for (i = 0; i < o->n_bridges; i++)
		if (!discover_view_find(n, o->bridges[i].ifname, 0) &&
		    !discover_view_find(n, NULL, o->bridges[i].ifindex))
			log_debug("discover: bridge %s (ifindex %d) is gone", o->bridges[i].ifname,
				  o->bridges[i].ifindex);
	for (i = 0; i < n->n_prefixes; i++)
		if (!discover_view_has_prefix(o->prefixes, o->n_prefixes, &n->prefixes[i])) {
			log_debug("discover: + prefix %s",
				  prefix_format(&n->prefixes[i], buf, sizeof(buf)));
			changed = true;
		}
	for (i = 0; i < o->n_prefixes; i++)
		if (!discover_view_has_prefix(n->prefixes, n->n_prefixes, &o->prefixes[i])) {
			log_debug("discover: - prefix %s",
				  prefix_format(&o->prefixes[i], buf, sizeof(buf)));
			changed = true;
		}
	if (!changed)
		return;

	list[0] = '\0';
	for (i = 0; i < n->n_prefixes; i++) {
		int w;

		prefix_format(&n->prefixes[i], buf, sizeof(buf));
		w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? " " : "", buf);
		if (w < 0 || (size_t)w >= sizeof(list) - used) {
			list[used] = '\0';
			break;
		}
		used += (size_t)w;
		shown++;
	}
	if (!n->n_prefixes)
		log_info("discover: no prefixes to advertise");
	else if (shown < n->n_prefixes)
		log_info("discover: prefixes now: %s ... (%zu more)", list,
			 n->n_prefixes - shown);
	else
		log_info("discover: prefixes now: %s", list);
}
