/* loop_epoll_linux.c - one epoll loop: file descriptors, a boottime timerfd, a signalfd */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "log.h"
#include "loop.h"

/* Callers pass LOOP_* masks straight to epoll. */
_Static_assert(LOOP_IN == EPOLLIN && LOOP_ERR == EPOLLERR && LOOP_HUP == EPOLLHUP,
	       "LOOP_* bits must be epoll's");

struct loop_fd {
	int fd;
	loop_fd_fn fn;
	void *ctx;
};

struct loop_periodic {
	int fd;
	loop_fd_fn fn;
	void *ctx;
};

struct loop {
	int epfd;
	struct loop_periodic periodic[4];
	size_t n_periodic;
	int timerfd;
	int sigfd;
	bool running;
	loop_signal_fn sig_fn;
	void *sig_ctx;
	loop_fd_fn timer_fn;
	void *timer_ctx;
	uint64_t deadline;
	struct loop_fd fds[LOOP_MAX_FDS];
};

uint64_t loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void loop_timer_ready(void *ctx, int fd, uint32_t events)
{
	struct loop *l = ctx;
	uint64_t expirations;

	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn("Failed to read timerfd: %m");
	if (l->timer_fn && l->deadline != UINT64_MAX && loop_now() >= l->deadline) {
		l->deadline = UINT64_MAX;
		l->timer_fn(l->timer_ctx, fd, events);
	}
}

static void loop_signal_ready(void *ctx, int fd, uint32_t events)
{
	struct loop *l = ctx;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (l->sig_fn)
			l->sig_fn(l->sig_ctx, (int)si.ssi_signo);
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	for (int i = 0; i < LOOP_MAX_FDS; i++)
		l->fds[i].fd = -1;
	l->sigfd = -1;
	l->deadline = UINT64_MAX;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->timerfd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->epfd < 0 || l->timerfd < 0 ||
	    loop_add_fd(l, l->timerfd, EPOLLIN, loop_timer_ready, l) < 0) {
		loop_free(l);
		return NULL;
	}
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_periodic; i++)
		close(l->periodic[i].fd);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->timerfd >= 0)
		close(l->timerfd);
	if (l->sigfd >= 0)
		close(l->sigfd);
	free(l);
}

int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *ctx)
{
	struct epoll_event ev = { .events = events };

	for (int i = 0; i < LOOP_MAX_FDS; i++) {
		if (l->fds[i].fd >= 0)
			continue;
		ev.data.ptr = &l->fds[i];
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
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
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		l->fds[i].fd = -1;
		return 0;
	}
	return -ENOENT;
}

int loop_set_signals(struct loop *l, loop_signal_fn fn, void *ctx)
{
	sigset_t set;
	int ret;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	/* A vanished reader of our output must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	l->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sigfd < 0)
		return -errno;
	l->sig_fn = fn;
	l->sig_ctx = ctx;
	ret = loop_add_fd(l, l->sigfd, EPOLLIN, loop_signal_ready, l);
	return ret;
}

int loop_set_timer(struct loop *l, uint64_t deadline_ns, loop_fd_fn fn, void *ctx)
{
	struct itimerspec its = { 0 };

	l->timer_fn = fn;
	l->timer_ctx = ctx;
	if (deadline_ns == l->deadline)
		return 0;
	l->deadline = deadline_ns;
	if (deadline_ns != UINT64_MAX) {
		/* 0 would disarm: an already-due deadline fires in 1 ns. */
		if (deadline_ns == 0)
			deadline_ns = 1;
		its.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ULL);
		its.it_value.tv_nsec = (long)(deadline_ns % 1000000000ULL);
	}
	if (timerfd_settime(l->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	return 0;
}

static void loop_periodic_ready(void *ctx, int fd, uint32_t events)
{
	struct loop_periodic *p = ctx;
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0)
		return;
	p->fn(p->ctx, fd, events);
}

int loop_add_periodic(struct loop *l, uint64_t interval_ns, loop_fd_fn fn, void *ctx)
{
	struct itimerspec its = { 0 };
	struct loop_periodic *p;
	int fd, ret;

	if (l->n_periodic >= sizeof(l->periodic) / sizeof(l->periodic[0]))
		return -ENOSPC;
	fd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	its.it_interval.tv_sec = (time_t)(interval_ns / 1000000000ULL);
	its.it_interval.tv_nsec = (long)(interval_ns % 1000000000ULL);
	its.it_value = its.it_interval;
	p = &l->periodic[l->n_periodic];
	*p = (struct loop_periodic){ .fd = fd, .fn = fn, .ctx = ctx };
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = loop_add_fd(l, fd, EPOLLIN, loop_periodic_ready, p);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	l->n_periodic++;
	return 0;
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[16];
	int n;

	l->running = true;
	while (l->running) {
		n = epoll_wait(l->epfd, evs, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && l->running; i++) {
			struct loop_fd *f = evs[i].data.ptr;

			if (f->fd >= 0)
				f->fn(f->ctx, f->fd, evs[i].events);
		}
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->running = false;
}
