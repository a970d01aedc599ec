/* wg_index.c - the engine's receiver index table */

/*
 * Theory of operation
 *
 * Indices. Every handshake in flight and every session has a random 32-bit
 * receiver index, unique in the device, kept in an intrusive hash table
 * (the entries live inside the peer, so there is no allocation and at most
 * four entries per peer). The handshake's index becomes its session's.
 *
 * The lookup (wg_index_find, wg_int.h) runs for every received message,
 * so it is inline; linking, unlinking and drawing a fresh index run once
 * per handshake or session.
 */
#include <errno.h>
#include <stdint.h>

#include "crypto.h"
#include "wg.h"
#include "wg_int.h"

void wg_index_unlink(struct wg_device *dev, struct wg_index *e)
{
	struct wg_index **pp;

	if (!e->linked)
		return;
	for (pp = wg_index_bucket(dev, e->id); *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	e->next = NULL;
	e->linked = false;
}

void wg_index_link(struct wg_device *dev, struct wg_index *e, uint32_t id)
{
	struct wg_index **b = wg_index_bucket(dev, id);

	e->id = id;
	e->next = *b;
	*b = e;
	e->linked = true;
}

/* A random index not in use. */
int wg_index_new_id(struct wg_device *dev, uint32_t *id)
{
	int err, tries;

	for (tries = 0; tries < 64; tries++) {
		err = crypto_random(id, sizeof(*id));
		if (err < 0)
			return err;
		if (!wg_index_find(dev, *id))
			return 0;
	}
	return -EAGAIN;
}
