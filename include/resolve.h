/* resolve.h - endpoint name lookups that never block the event loop */
#ifndef GANGWAY_RESOLVE_H
#define GANGWAY_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>
#include <netdb.h>

struct resolve;

/*
 * Start looking up host and port for UDP, of family AF_INET or AF_UNSPEC,
 * in the background. NULL with errno set if it cannot be started.
 */
struct resolve *resolve_start(const char *host, uint16_t port, int family);

/*
 * False while the lookup runs. Once it has ended: true, with *gai_ret set
 * to getaddrinfo()'s return value and *res to its list (the caller's, to
 * freeaddrinfo(); NULL on error). Ask once; then resolve_free().
 */
bool resolve_done(struct resolve *r, int *gai_ret, struct addrinfo **res);

/* Forget r: freed now if its lookup has ended, else as soon as it ends. */
void resolve_free(struct resolve *r);

#endif
