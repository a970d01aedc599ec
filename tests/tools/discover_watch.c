/* discover_watch.c - test tool: print the discovered view each time it changes
 *
 *   discover_watch -c CONFIG [-v]
 *
 * Prints the first view, then every changed one, as a block of lines that
 * all start with the same sequence number (1, 2, ...):
 *
 *   SEQ bridge NAME IFINDEX up|down ADDR/LEN...
 *   SEQ prefix PREFIX/LEN
 *   SEQ end
 *
 * Each block is flushed whole; "end" marks it complete. SIGHUP reloads the
 * config (discover_resync); SIGTERM and SIGINT stop it. -v logs at debug
 * level to stderr.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "discover.h"
#include "log.h"

static volatile sig_atomic_t watch_stop, watch_reload;
static unsigned long watch_seq;

static void watch_signal(int signo)
{
	if (signo == SIGHUP)
		watch_reload = 1;
	else
		watch_stop = 1;
}

static void watch_print(void *ctx, const struct discover_view *v)
{
	char buf[PREFIX_STRLEN];
	size_t i, j;

	watch_seq++;
	for (i = 0; i < v->n_bridges; i++) {
		const struct discover_bridge *b = &v->bridges[i];

		printf("%lu bridge %s %d %s", watch_seq, b->ifname, b->ifindex,
		       b->up ? "up" : "down");
		for (j = 0; j < b->n_addrs; j++)
			printf(" %s", prefix_format(&b->addrs[j], buf, sizeof(buf)));
		printf("\n");
	}
	for (i = 0; i < v->n_prefixes; i++)
		printf("%lu prefix %s\n", watch_seq,
		       prefix_format(&v->prefixes[i], buf, sizeof(buf)));
	printf("%lu end\n", watch_seq);
	fflush(stdout);
}

static int watch_load(struct config *c, const char *path)
{
	char err[CONFIG_ERR_LEN];
	int ret = config_load(c, path, err, sizeof(err));

	if (ret)
		log_err("%s", err);
	return ret;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = watch_signal };
	enum log_level level = LOG_LVL_INFO;
	const char *path = NULL;
	struct discover *d;
	struct pollfd pfd;
	struct config c;
	sigset_t block, none;
	int opt, ret;

	while ((opt = getopt(argc, argv, "c:v")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			level = LOG_LVL_DEBUG;
			break;
		default:
			fprintf(stderr, "usage: discover_watch -c CONFIG [-v]\n");
			return 2;
		}
	}
	if (!path || optind != argc) {
		fprintf(stderr, "usage: discover_watch -c CONFIG [-v]\n");
		return 2;
	}
	log_init("discover_watch", level);

	/* Signals arrive only inside ppoll(): no race with the flags. */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &none);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (watch_load(&c, path)) {
		config_free(&c);
		return 1;
	}
	d = discover_new(&c, watch_print, NULL);
	if (!d) {
		log_err("discover_new: %s", strerror(errno));
		config_free(&c);
		return 1;
	}
	watch_print(NULL, discover_view(d));

	pfd.fd = discover_fd(d);
	pfd.events = POLLIN;
	ret = 0;
	while (!watch_stop) {
		if (ppoll(&pfd, 1, NULL, &none) < 0) {
			if (errno != EINTR) {
				log_err("ppoll: %s", strerror(errno));
				ret = 1;
				break;
			}
		} else if (pfd.revents) {
			int r = discover_process(d);

			if (r)
				log_warn("discover_process: %s", strerror(-r));
		}
		if (watch_reload) {
			struct config next;

			watch_reload = 0;
			if (!watch_load(&next, path)) {
				int r = discover_resync(d, &next);

				log_info("config reloaded");
				if (r)
					log_warn("discover_resync: %s", strerror(-r));
			}
			config_free(&next);
		}
	}
	discover_free(d);
	config_free(&c);
	return ret;
}
