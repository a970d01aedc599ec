/* discover.h - find and watch the bridges that carry Docker networks (rtnetlink) */
#ifndef GANGWAY_DISCOVER_H
#define GANGWAY_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>

#include "config.h"
#include "prefix.h"

#define DISCOVER_MAX_BRIDGES	64
#define DISCOVER_MAX_ADDRS	8	/* per bridge, both families */

/* One bridge and its own addresses (host bits kept: they are the gateways). */
struct discover_bridge {
	char ifname[IF_NAMESIZE];
	int ifindex;
	bool up;		/* IFF_UP; carrier is not looked at */
	struct prefix addrs[DISCOVER_MAX_ADDRS];
	size_t n_addrs;
};

/* The current view: bridges matching the config, prefixes to advertise. */
struct discover_view {
	struct discover_bridge bridges[DISCOVER_MAX_BRIDGES];
	size_t n_bridges;
	/* networks (masked bridge addresses, minus exclusions, plus
	 * IncludePrefixes), sorted and without duplicates */
	struct prefix prefixes[DISCOVER_MAX_BRIDGES * DISCOVER_MAX_ADDRS + CONFIG_MAX_PREFIXES];
	size_t n_prefixes;
};

struct discover;

/*
 * Called (from discover_process and discover_resync) whenever the view
 * changed; not for the first view, which discover_view() returns.
 */
typedef void (*discover_fn)(void *ctx, const struct discover_view *view);

/*
 * Open an event socket subscribed to link and address changes, then dump
 * links and addresses. The config supplies Bridges, ExcludeInterfaces,
 * IncludePrefixes and ExcludePrefixes (copied). NULL on error, errno set.
 * In the tests' build (GANGWAY_TEST_HOOKS) alone,
 * GANGWAY_TEST_NL_RCVBUF=BYTES shrinks the event socket's receive buffer
 * so that overruns are easy to provoke.
 */
struct discover *discover_new(const struct config *c, discover_fn fn, void *ctx);
void discover_free(struct discover *d);
/* The descriptor to watch for readability. */
int discover_fd(const struct discover *d);
/*
 * Read pending events and update the view; on ENOBUFS (events lost) or an
 * interrupted dump, dump everything again and reconcile. Calls fn when the
 * view changed. Returns 0 or -errno; when a needed re-dump failed, the view
 * may be stale until the next call (or discover_resync) dumps again.
 */
int discover_process(struct discover *d);
/*
 * Force a full re-dump and reconcile (e.g. after a config reload; c NULL
 * keeps the current config). Calls fn when the view changed.
 */
int discover_resync(struct discover *d, const struct config *c);
const struct discover_view *discover_view(const struct discover *d);

/* The pure part, in discover_view.c (every platform). */

/* Interface name matches the config's bridge patterns and no exclusion. */
bool discover_view_match_ifname(const struct config *c, const char *ifname);
/*
 * The view of n bridges (any order) under c's
 * ExcludePrefixes and IncludePrefixes (c may be NULL). Bridges come out
 * sorted by name, each one's addresses sorted and unique; prefixes are
 * the masked addresses minus those inside an exclusion, plus the
 * inclusions, sorted by family, address, length, without repeats.
 */
void discover_view_build(const struct config *c, const struct discover_bridge *bridges,
			 size_t n, struct discover_view *out);
/* Same bridges (name, ifindex, up, addresses) and the same prefixes. */
bool discover_view_equal(const struct discover_view *a, const struct discover_view *b);
/* A valid IPv4 or IPv6 prefix: what discover_view_build() keeps. */
bool discover_view_prefix_ok(const struct prefix *p);
/* The entries of l that discovery reads: none without v, at most CONFIG_MAX_PREFIXES. */
size_t discover_view_list_len(const struct config_prefixes *l);
/*
 * Log what changed from o to n: each bridge, address and prefix that came
 * or went at debug level, the new prefix list at info level if it changed.
 */
void discover_view_log_changes(const struct discover_view *o, const struct discover_view *n);

#endif
