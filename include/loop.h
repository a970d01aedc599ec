/* loop.h - the one event loop of each program (epoll; kqueue on macOS), timers, signals */
#ifndef GANGWAY_LOOP_H
#define GANGWAY_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#define LOOP_MAX_FDS	64

/*
 * Readiness bits for loop_add_fd and the callbacks: epoll's values, so the
 * Linux loop passes masks through unchanged; the kqueue loop (macOS) maps
 * its filters onto them.
 */
#define LOOP_IN		0x001u	/* EPOLLIN */
#define LOOP_ERR	0x008u	/* EPOLLERR */
#define LOOP_HUP	0x010u	/* EPOLLHUP */

struct loop;
/* events is the LOOP_* mask that fired. */
typedef void (*loop_fd_fn)(void *ctx, int fd, uint32_t events);
typedef void (*loop_signal_fn)(void *ctx, int signo);

struct loop *loop_new(void);
void loop_free(struct loop *l);
int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *ctx);
int loop_del_fd(struct loop *l, int fd);
/* Blocks SIGINT, SIGTERM and SIGHUP and delivers them through fn. */
int loop_set_signals(struct loop *l, loop_signal_fn fn, void *ctx);
/*
 * The one timer: fn runs when CLOCK_BOOTTIME reaches the deadline (ns).
 * UINT64_MAX disarms it.
 */
int loop_set_timer(struct loop *l, uint64_t deadline_ns, loop_fd_fn fn, void *ctx);
/* Call fn every interval_ns (CLOCK_BOOTTIME); returns 0 or -errno. */
int loop_add_periodic(struct loop *l, uint64_t interval_ns, loop_fd_fn fn, void *ctx);
/* Run until loop_stop(); returns 0 or -errno. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/*
 * CLOCK_BOOTTIME in nanoseconds: suspend counts, as the protocol wants (on
 * macOS CLOCK_MONOTONIC, which counts sleep too).
 */
uint64_t loop_now(void);

#endif
