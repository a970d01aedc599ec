/* names.h - the table of container names gangwayd serves: name -> addresses, address -> name */
#ifndef GANGWAY_NAMES_H
#define GANGWAY_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prefix.h"

#define NAMES_MAX_CONTAINERS	4096
#define NAMES_ID_LEN		64	/* a full engine id, hex */
#define NAMES_LABEL_LEN		63	/* one DNS label */
#define NAMES_NAME_LEN		253	/* one DNS name, without the trailing dot */
#define NAMES_MAX_EXTRA		8	/* names from the user label, per container */
#define NAMES_MAX_ADDRS		8	/* addresses per container, both families */
#define NAMES_TTL		5	/* seconds, of every answer */

/* The label whose comma-separated value gives a container more names. */
#define NAMES_USER_LABEL	"dev.gangway.domains"

/* What the table keeps of one running container: fixed size, bounded. */
struct names_container {
	char id[NAMES_ID_LEN + 1];
	char name[NAMES_NAME_LEN + 1];		/* "web" (no leading '/') */
	char service[NAMES_LABEL_LEN + 1];	/* com.docker.compose.service, or "" */
	char project[NAMES_LABEL_LEN + 1];	/* com.docker.compose.project, or "" */
	char extra[NAMES_MAX_EXTRA][NAMES_NAME_LEN + 1];	/* NAMES_USER_LABEL */
	size_t n_extra;
	struct prefix addrs[NAMES_MAX_ADDRS];	/* host addresses (/32, /128) */
	size_t n_addrs;
};

struct names;

/* An empty table serving domain (lower case, no trailing dot); NULL + errno. */
struct names *names_new(const char *domain);
void names_free(struct names *n);
const char *names_domain(const struct names *n);

/*
 * Add or replace the container with c->id. The names it gets are its
 * name, service.project and the extra names, each under the domain (an
 * extra name already ending in the domain is taken as it is), lower case;
 * a name that is not a valid DNS name is skipped. 0, or -ENOSPC when the
 * table holds NAMES_MAX_CONTAINERS already, -EINVAL without an id.
 */
int names_put(struct names *n, const struct names_container *c);
/* Remove the container with this id; 0 or -ENOENT. */
int names_remove(struct names *n, const char *id);
/*
 * A full resync: names_mark() flags every container, names_put() unflags
 * those still there, names_sweep() removes the rest; returns how many.
 */
void names_mark(struct names *n);
size_t names_sweep(struct names *n);

/*
 * Addresses inside these prefixes are answered first (the networks the
 * host reaches through the tunnel). The table keeps its own copy.
 */
int names_set_preferred(struct names *n, const struct prefix *p, size_t count);

/*
 * Look up a fully qualified name (any case, no trailing dot). Returns
 * -ENOENT when no container has it, else the number of addresses of family
 * (AF_INET, AF_INET6; 0 for both) written to out (at most max), preferred
 * networks first; 0 means the name exists without such an address.
 */
int names_lookup(struct names *n, const char *name, int family, struct prefix *out,
		 size_t max);
/* The fully qualified name of the container with this address; 0 or -ENOENT. */
int names_reverse(struct names *n, const struct prefix *addr, char *buf, size_t size);

/* Changes with every change that could change an answer (a cache's key). */
uint64_t names_generation(const struct names *n);

/* Names served (distinct) and containers held. */
size_t names_count(struct names *n);
size_t names_containers(const struct names *n);

/* Call fn for every name and each of its addresses, in table order. */
typedef void (*names_fn)(void *ctx, const char *name, const struct prefix *addr);
void names_foreach(struct names *n, names_fn fn, void *ctx);

#endif
