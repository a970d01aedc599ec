/* resolve.c - endpoint name lookups that never block the event loop
 *
 * Theory of operation: a lookup runs outside the event loop's thread: in
 * glibc's getaddrinfo_a() workers, or elsewhere (macOS has no
 * getaddrinfo_a) in a detached thread of its own that calls getaddrinfo().
 * The loop asks resolve_done() on its timer and never waits. A lookup may
 * be abandoned while it runs (its peer removed, its endpoint changed, the
 * program stopping): of its end and resolve_free(), whichever comes second
 * frees it, as decided by one atomic exchange of its state, so neither
 * side waits for the other and neither touches it once it is freed. A
 * name server that never answers costs a blocked worker thread, never the
 * loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef __GLIBC__
#include <pthread.h>
#endif

#include "resolve.h"

enum {
	RESOLVE_RUNNING,
	RESOLVE_ENDED,		/* result waits for resolve_done() */
	RESOLVE_ABANDONED,	/* resolve_free() came first: the end frees it */
};

struct resolve {
	atomic_int state;
	int ret;			/* getaddrinfo()'s, once ended */
	struct addrinfo *res;
	struct addrinfo hints;
	char port[8];
#ifdef __GLIBC__
	struct gaicb cb;
#endif
	char host[];
};

static void resolve_destroy(struct resolve *r)
{
	if (r->res)
		freeaddrinfo(r->res);
	free(r);
}

/* The lookup's end, in the thread that ran it: hand the result over, or free. */
static void resolve_ended(struct resolve *r, int ret, struct addrinfo *res)
{
	r->ret = ret;
	r->res = res;
	if (atomic_exchange(&r->state, RESOLVE_ENDED) == RESOLVE_ABANDONED)
		resolve_destroy(r);
}

#ifdef __GLIBC__
/* Called in a thread of glibc's once the request has ended. */
static void resolve_notify(union sigval v)
{
	struct resolve *r = v.sival_ptr;

	resolve_ended(r, gai_error(&r->cb), r->cb.ar_result);
}

static int resolve_launch(struct resolve *r)
{
	struct gaicb *list[1] = { &r->cb };
	struct sigevent sev;
	int ret;

	r->cb.ar_name = r->host;
	r->cb.ar_service = r->port;
	r->cb.ar_request = &r->hints;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD;	/* no signal: a thread calls resolve_notify */
	sev.sigev_notify_function = resolve_notify;
	sev.sigev_value.sival_ptr = r;
	ret = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
	if (ret == 0)
		return 0;
	if (ret == EAI_SYSTEM)
		return errno ? -errno : -EAGAIN;
	return ret == EAI_MEMORY ? -ENOMEM : -EAGAIN;
}
#else
static void *resolve_thread(void *arg)
{
	struct resolve *r = arg;
	struct addrinfo *res = NULL;
	int ret;

	ret = getaddrinfo(r->host, r->port, &r->hints, &res);
	resolve_ended(r, ret, res);
	return NULL;
}

static int resolve_launch(struct resolve *r)
{
	pthread_attr_t attr;
	pthread_t tid;
	int ret;

	if (pthread_attr_init(&attr))
		return -ENOMEM;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&tid, &attr, resolve_thread, r);
	pthread_attr_destroy(&attr);
	return -ret;
}
#endif

struct resolve *resolve_start(const char *host, uint16_t port, int family)
{
	size_t len = strlen(host) + 1;
	struct resolve *r;
	int err;

	r = calloc(1, sizeof(*r) + len);
	if (!r)
		return NULL;
	memcpy(r->host, host, len);
	snprintf(r->port, sizeof(r->port), "%u", (unsigned int)port);
	r->hints.ai_socktype = SOCK_DGRAM;
	r->hints.ai_family = family;
	atomic_init(&r->state, RESOLVE_RUNNING);
	err = resolve_launch(r);
	if (err < 0) {
		free(r);
		errno = -err;
		return NULL;
	}
	return r;
}

bool resolve_done(struct resolve *r, int *gai_ret, struct addrinfo **res)
{
	if (atomic_load(&r->state) != RESOLVE_ENDED)
		return false;
	*gai_ret = r->ret;
	*res = r->res;
	r->res = NULL;
	if (!*gai_ret && !*res)
		*gai_ret = EAI_NONAME;
	return true;
}

void resolve_free(struct resolve *r)
{
	if (r && atomic_exchange(&r->state, RESOLVE_ABANDONED) == RESOLVE_ENDED)
		resolve_destroy(r);
}
