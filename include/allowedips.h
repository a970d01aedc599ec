/* allowedips.h - longest-prefix-match table from IP prefixes to peers */
#ifndef GANGWAY_ALLOWEDIPS_H
#define GANGWAY_ALLOWEDIPS_H

#include <stddef.h>
#include "prefix.h"

struct allowedips_node;

struct allowedips {
	struct allowedips_node *root4;
	struct allowedips_node *root6;
	size_t count;		/* number of prefixes stored */
};

void allowedips_init(struct allowedips *t);
void allowedips_free(struct allowedips *t);
/* Insert or re-point a prefix (host bits ignored). 0, -ENOMEM, -EINVAL. */
int allowedips_insert(struct allowedips *t, const struct prefix *p, void *owner);
/* Remove one exact prefix if owned by owner; 0 or -ENOENT. */
int allowedips_remove(struct allowedips *t, const struct prefix *p, void *owner);
/* Remove every prefix that points to owner. */
void allowedips_remove_owner(struct allowedips *t, void *owner);
/* Owner of the longest prefix containing addr (4 or 16 bytes), or NULL. */
void *allowedips_lookup(const struct allowedips *t, int family, const void *addr);
/* Call fn for every prefix of owner, in no particular order. */
void allowedips_walk_owner(const struct allowedips *t, void *owner,
			   void (*fn)(const struct prefix *p, void *arg), void *arg);
/*
 * Check the trie's structure and count (for tests and debugging): 0 or
 * -EINVAL. *nodes (if not NULL) gets the number of nodes allocated.
 */
int allowedips_verify(const struct allowedips *t, size_t *nodes);

#endif
