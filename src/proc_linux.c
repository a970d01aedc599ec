/* proc_linux.c - run a program with argv (never a shell), feed it, collect its output */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "log.h"
#include "proc.h"

/*
 * Theory of operation
 *
 * The firewall reads and writes Docker's iptables through iptables-save and
 * iptables-restore, and the doctor reads them the same way. Both run the
 * program by its path with an argv array: no shell ever parses a command
 * line, so no interface name or comment can become shell syntax. The child
 * is fed and drained through one poll loop (a large ruleset would otherwise
 * fill a pipe and deadlock), and a deadline ends one that hangs.
 */

#define PROC_ERR_MAX	512		/* bytes of a child's stderr kept for the log */

extern char **environ;

int proc_buf_printf(struct proc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return 0;
		}
		{
			size_t cap = b->cap ? b->cap : 4096;
			char *p;

			while (cap - b->len <= (size_t)n)
				cap *= 2;
			if (cap > PROC_OUT_MAX)
				return -E2BIG;
			p = realloc(b->p, cap);
			if (!p)
				return -ENOMEM;
			b->p = p;
			b->cap = cap;
		}
	}
}

void proc_buf_free(struct proc_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int proc_which(const char *name, char *path, size_t size)
{
	static const char fallback[] = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin";
	const char *p = getenv("PATH");

	if (!p)
		p = fallback;
	while (*p) {
		const char *end = strchr(p, ':');
		size_t dlen = end ? (size_t)(end - p) : strlen(p);
		int n;

		if (dlen && p[0] == '/') {
			n = snprintf(path, size, "%.*s/%s", (int)dlen, p, name);
			if (n > 0 && (size_t)n < size && access(path, X_OK) == 0)
				return 0;
		}
		p += dlen;
		if (*p == ':')
			p++;
	}
	path[0] = '\0';
	return -ENOENT;
}


static int proc_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int proc_grow(struct proc_buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (b->cap - b->len >= need)
		return 0;
	if (need > PROC_OUT_MAX || b->len > PROC_OUT_MAX - need)
		return -E2BIG;
	cap = b->cap ? b->cap : 16384;
	while (cap - b->len < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static long proc_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

/*
 * Run path with argv, feeding in (may be NULL) on stdin and collecting
 * stdout into out (may be NULL: discarded). Never through a shell. The
 * child gets default signal dispositions and an empty signal mask whatever
 * the daemon uses. stdin is a socket so that a child that exits early
 * cannot kill us with SIGPIPE (send has MSG_NOSIGNAL, write has not).
 */
int proc_run(const char *name, const char *path, char *const argv[],
			    const struct proc_buf *in, struct proc_buf *out)
{
	int in_sv[2] = { -1, -1 }, out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char errbuf[PROC_ERR_MAX], scratch[4096];
	size_t errlen = 0, sent = 0;
	struct timespec deadline;
	bool fa_ok = false, attr_ok = false, out_open, err_open;
	sigset_t set;
	pid_t pid = -1;
	int ret, status, i;

	if (out)
		out->len = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_sv) < 0 ||
	    pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
		ret = -errno;
		goto out;
	}
	ret = -posix_spawn_file_actions_init(&fa);
	if (ret)
		goto out;
	fa_ok = true;
	ret = -posix_spawnattr_init(&attr);
	if (ret)
		goto out;
	attr_ok = true;
	/* dup2 clears close-on-exec on the target, nothing else leaks. */
	ret = -posix_spawn_file_actions_adddup2(&fa, in_sv[1], 0);
	if (!ret)
		ret = -posix_spawn_file_actions_adddup2(&fa, out_p[1], 1);
	if (!ret)
		ret = -posix_spawn_file_actions_adddup2(&fa, err_p[1], 2);
	if (ret)
		goto out;
	sigemptyset(&set);
	ret = -posix_spawnattr_setsigmask(&attr, &set);
	if (!ret) {
		sigfillset(&set);
		sigdelset(&set, SIGKILL);
		sigdelset(&set, SIGSTOP);
		ret = -posix_spawnattr_setsigdefault(&attr, &set);
	}
	if (!ret)
		ret = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	if (ret)
		goto out;
	ret = -posix_spawn(&pid, path, &fa, &attr, argv, environ);
	if (ret) {
		pid = -1;
		goto out;
	}
	close(in_sv[1]);
	close(out_p[1]);
	close(err_p[1]);
	in_sv[1] = out_p[1] = err_p[1] = -1;
	if (!in || !in->len)
		shutdown(in_sv[0], SHUT_WR);
	if (proc_nonblock(in_sv[0]) < 0 || proc_nonblock(out_p[0]) < 0 ||
	    proc_nonblock(err_p[0]) < 0) {
		ret = -errno;
		goto out;
	}

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += PROC_RUN_SECS;
	out_open = err_open = true;
	while (out_open || err_open) {
		struct pollfd pfd[3] = {
			{ .fd = out_open ? out_p[0] : -1, .events = POLLIN },
			{ .fd = err_open ? err_p[0] : -1, .events = POLLIN },
			{ .fd = in && sent < in->len ? in_sv[0] : -1, .events = POLLOUT },
		};
		long ms = proc_ms_left(&deadline);

		if (!ms) {
			log_warn("%s did not finish in %d s", name, PROC_RUN_SECS);
			ret = -ETIMEDOUT;
			goto out;
		}
		if (poll(pfd, 3, (int)ms) < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (in && pfd[2].fd >= 0 && pfd[2].revents) {
			ssize_t n = send(in_sv[0], in->p + sent, in->len - sent,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				sent = in->len;	/* child stopped reading */
			if (sent >= in->len)
				shutdown(in_sv[0], SHUT_WR);
		}
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (!pfd[i].revents)
				continue;
			if (i == 0 && out) {
				ret = proc_grow(out, 65536);
				if (ret < 0)
					goto out;
				n = read(out_p[0], out->p + out->len, out->cap - out->len);
				if (n > 0)
					out->len += (size_t)n;
			} else if (i == 0) {
				n = read(out_p[0], scratch, sizeof(scratch));
			} else {
				n = read(err_p[0], scratch, sizeof(scratch));
				if (n > 0 && errlen < sizeof(errbuf) - 1) {
					size_t k = (size_t)n;

					if (k > sizeof(errbuf) - 1 - errlen)
						k = sizeof(errbuf) - 1 - errlen;
					memcpy(errbuf + errlen, scratch, k);
					errlen += k;
				}
			}
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				if (i == 0)
					out_open = false;
				else
					err_open = false;
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ret = -errno;
			pid = -1;
			goto out;
		}
	}
	pid = -1;
	errbuf[errlen] = '\0';
	if (errlen && errbuf[errlen - 1] == '\n')
		errbuf[errlen - 1] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		log_warn("%s failed (exit status %d)%s%s", name,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			 errlen ? ": " : "", errbuf);
		ret = -EIO;
		goto out;
	}
	ret = 0;
out:
	if (pid > 0) {
		/* Timed out or failed half-way: it is our child, end it. */
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	for (i = 0; i < 2; i++) {
		if (in_sv[i] >= 0)
			close(in_sv[i]);
		if (out_p[i] >= 0)
			close(out_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
	}
	return ret;
}

