/* loop_kqueue_macos.c - the event loop on macOS: one kqueue for descriptors, timers, signals
 *
 * The same interface as loop_epoll_linux.c (Linux: epoll, timerfd, signalfd), built on
 * kqueue filters: EVFILT_READ for descriptors, EVFILT_TIMER for the one
 * deadline timer and the periodic ones, EVFILT_SIGNAL for SIGINT, SIGTERM
 * and SIGHUP.
 *
 * Time: the protocol's clock must keep running while the machine sleeps.
 * macOS's CLOCK_MONOTONIC does (it is mach_continuous_time; CLOCK_UPTIME_RAW
 * is the one that stops), so it stands in for Linux's CLOCK_BOOTTIME. A
 * kqueue timer takes no deadline on that clock, so the deadline becomes a
 * relative one-shot timer with NOTE_MACH_CONTINUOUS_TIME, which keeps
 * counting across sleep as well; if it fires early (rounding, a sleep that
 * raced the arming) the remainder is armed again, so the callback never
 * runs before its deadline.
 *
 * Signals: kqueue records a signal even when its disposition is SIG_IGN,
 * and ignoring it is what keeps the default action (termination) away, as
 * blocking does with signalfd.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/event.h>
#include <sys/types.h>

#include "log.h"
#include "loop.h"

#define LOOP_MAX_PERIODIC	4
#define LOOP_TIMER_ID		0	/* EVFILT_TIMER idents: the deadline timer, */
#define LOOP_PERIODIC_ID	1	/* then one per periodic timer */

#ifndef NOTE_MACH_CONTINUOUS_TIME
#ifdef __APPLE__
/* Without it, timers would stop during sleep: never build that for a Mac. */
#error "NOTE_MACH_CONTINUOUS_TIME missing from the macOS SDK's <sys/event.h>"
#endif
#define NOTE_MACH_CONTINUOUS_TIME 0	/* other kqueue systems: plain timers */
#endif
#define LOOP_NOTE_NS	(NOTE_NSECONDS | NOTE_MACH_CONTINUOUS_TIME)

static const int loop_signals[] = { SIGINT, SIGTERM, SIGHUP };

struct loop_fd {
	int fd;
	loop_fd_fn fn;
	void *ctx;
};

struct loop_periodic {
	loop_fd_fn fn;
	void *ctx;
};

struct loop {
	int kq;
	bool running;
	loop_signal_fn sig_fn;
	void *sig_ctx;
	loop_fd_fn timer_fn;
	void *timer_ctx;
	uint64_t deadline;
	struct loop_periodic periodic[LOOP_MAX_PERIODIC];
	size_t n_periodic;
	struct loop_fd fds[LOOP_MAX_FDS];
};

uint64_t loop_now(void)
{
	struct timespec ts;

#if defined(__APPLE__) || !defined(CLOCK_BOOTTIME)
	clock_gettime(CLOCK_MONOTONIC, &ts);
#else
	clock_gettime(CLOCK_BOOTTIME, &ts);
#endif
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int loop_kevent(struct loop *l, uintptr_t ident, short filter, unsigned short flags,
		       unsigned int fflags, int64_t data, void *udata)
{
	struct kevent kev;

	EV_SET(&kev, ident, filter, flags, fflags, data, udata);
	if (kevent(l->kq, &kev, 1, NULL, 0, NULL) < 0)
		return -errno;
	return 0;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	for (int i = 0; i < LOOP_MAX_FDS; i++)
		l->fds[i].fd = -1;
	l->deadline = UINT64_MAX;
	l->kq = kqueue();
	if (l->kq < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	/* The filters go with the queue; the signals stay ignored. */
	close(l->kq);
	free(l);
}

int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *ctx)
{
	int ret;

	if (!(events & LOOP_IN))
		return -EINVAL;		/* readiness to read is all we watch */
	for (int i = 0; i < LOOP_MAX_FDS; i++) {
		if (l->fds[i].fd >= 0)
			continue;
		ret = loop_kevent(l, (uintptr_t)fd, EVFILT_READ, EV_ADD, 0, 0, &l->fds[i]);
		if (ret)
			return ret;
		l->fds[i] = (struct loop_fd){ .fd = fd, .fn = fn, .ctx = ctx };
		return 0;
	}
	return -ENOSPC;
}

int loop_del_fd(struct loop *l, int fd)
{
	for (int i = 0; i < LOOP_MAX_FDS; i++) {
		if (l->fds[i].fd != fd)
			continue;
		loop_kevent(l, (uintptr_t)fd, EVFILT_READ, EV_DELETE, 0, 0, NULL);
		l->fds[i].fd = -1;
		return 0;
	}
	return -ENOENT;
}

int loop_set_signals(struct loop *l, loop_signal_fn fn, void *ctx)
{
	int ret;

	/* A vanished reader of our output must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(loop_signals) / sizeof(loop_signals[0]); i++) {
		ret = loop_kevent(l, (uintptr_t)loop_signals[i], EVFILT_SIGNAL, EV_ADD, 0, 0,
				  NULL);
		if (ret)
			return ret;
		if (signal(loop_signals[i], SIG_IGN) == SIG_ERR)
			return -errno;
	}
	l->sig_fn = fn;
	l->sig_ctx = ctx;
	return 0;
}

/* Arm the one-shot timer for what is left until the deadline. */
static int loop_arm(struct loop *l)
{
	uint64_t now = loop_now();
	int64_t left = l->deadline > now ? (int64_t)(l->deadline - now) : 0;

	return loop_kevent(l, LOOP_TIMER_ID, EVFILT_TIMER, EV_ADD | EV_ONESHOT, LOOP_NOTE_NS,
			   left, NULL);
}

int loop_set_timer(struct loop *l, uint64_t deadline_ns, loop_fd_fn fn, void *ctx)
{
	int ret;

	l->timer_fn = fn;
	l->timer_ctx = ctx;
	if (deadline_ns == l->deadline)
		return 0;
	l->deadline = deadline_ns;
	if (deadline_ns != UINT64_MAX)
		return loop_arm(l);
	ret = loop_kevent(l, LOOP_TIMER_ID, EVFILT_TIMER, EV_DELETE, 0, 0, NULL);
	return ret == -ENOENT ? 0 : ret;	/* it had fired already */
}

static void loop_timer_ready(struct loop *l)
{
	if (l->deadline == UINT64_MAX)
		return;
	if (loop_now() < l->deadline) {
		if (loop_arm(l) < 0)
			log_warn("Failed to re-arm the timer: %m");
		return;
	}
	l->deadline = UINT64_MAX;
	if (l->timer_fn)
		l->timer_fn(l->timer_ctx, -1, LOOP_IN);
}

int loop_add_periodic(struct loop *l, uint64_t interval_ns, loop_fd_fn fn, void *ctx)
{
	struct loop_periodic *p;
	int ret;

	if (l->n_periodic >= LOOP_MAX_PERIODIC)
		return -ENOSPC;
	if (!interval_ns || interval_ns > INT64_MAX)
		return -EINVAL;
	p = &l->periodic[l->n_periodic];
	*p = (struct loop_periodic){ .fn = fn, .ctx = ctx };
	ret = loop_kevent(l, LOOP_PERIODIC_ID + l->n_periodic, EVFILT_TIMER, EV_ADD,
			  LOOP_NOTE_NS, (int64_t)interval_ns, p);
	if (ret)
		return ret;
	l->n_periodic++;
	return 0;
}

static void loop_dispatch(struct loop *l, const struct kevent *ev)
{
	switch (ev->filter) {
	case EVFILT_READ: {
		struct loop_fd *f = ev->udata;
		uint32_t events = LOOP_IN;

		if (ev->flags & EV_EOF)
			events |= LOOP_HUP;
		if (ev->flags & EV_ERROR)
			events |= LOOP_ERR;
		/* Removed by an earlier callback of this batch: stale. */
		if (f && f->fd >= 0 && (uintptr_t)f->fd == ev->ident)
			f->fn(f->ctx, f->fd, events);
		break;
	}
	case EVFILT_TIMER:
		if (ev->ident == LOOP_TIMER_ID) {
			loop_timer_ready(l);
		} else {
			struct loop_periodic *p = ev->udata;

			if (p)
				p->fn(p->ctx, -1, LOOP_IN);
		}
		break;
	case EVFILT_SIGNAL:
		/* data counts deliveries since the last report; one call will do. */
		if (l->sig_fn)
			l->sig_fn(l->sig_ctx, (int)ev->ident);
		break;
	default:
		break;
	}
}

int loop_run(struct loop *l)
{
	struct kevent evs[16];
	int n;

	l->running = true;
	while (l->running) {
		n = kevent(l->kq, NULL, 0, evs, 16, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && l->running; i++)
			loop_dispatch(l, &evs[i]);
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->running = false;
}
