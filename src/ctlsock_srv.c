/* ctlsock_srv.c - the daemons' control socket: connections, access control, captures
 *
 * Theory of operation: a listening unix socket, mode 0600, in the loop. A
 * connection is accepted non-blocking and read as the loop reports data,
 * never blocking the packet path; at most CTLSOCK_MAX_CLIENTS are read at
 * once, and one that has not sent its request within CTLSOCK_SRV_TIMEOUT is
 * dropped at the next accept. Peers other than root (SO_PEERCRED) are
 * answered with an error, unless ControlGroup names a group they are in:
 * then the socket is 0660 with that group, and the peer's uid must be 0,
 * its gid the group's, or its passwd entry a member (getgrouplist). The
 * file mode is the first wall, the credentials check the second. The
 * reply is rendered whole in memory (bounded) from a snapshot the daemon
 * fills through its ops (ctlsock_render.h), the server adding the
 * captures' counts, and written with a short send timeout: a client that
 * does not read loses its reply, the daemon loses at most that timeout. A
 * capture request is different: its connection is handed to the tap
 * (captap.c), which streams pcap on it without ever waiting, until the
 * client closes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlsock_srv.h"
#include "log.h"
#include "statedir.h"

#define CTLSOCK_SRV_TIMEOUT	(2 * WG_NSEC)

struct ctlsock_srv_client {
	int fd;				/* -1 = free */
	uint64_t since;
	size_t len;
	char req[CTLSOCK_MAX_REQ];
};

struct ctlsock_srv {
	struct loop *loop;
	const struct ctlsock_srv_ops *ops;
	void *ctx;
	bool have_group;		/* ControlGroup: its members may connect */
	gid_t gid;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctlsock_srv_client clients[CTLSOCK_MAX_CLIENTS];
	struct captap *tap;		/* capture requests; NULL where not built in */
	struct captap_stats tap_stats;	/* captured and capture-overflow, since start */
};

static void ctlsock_srv_drop(struct ctlsock_srv *c, struct ctlsock_srv_client *cl)
{
	loop_del_fd(c->loop, cl->fd);
	close(cl->fd);
	cl->fd = -1;
	cl->len = 0;
}

#define CTLSOCK_SRV_MAX_GROUPS	256	/* of one user, for the membership check */

/* Is the user uid (primary group gid) a member of group, by the group database? */
static bool ctlsock_srv_user_in_group(uid_t uid, gid_t gid, gid_t group)
{
	struct passwd *pw;
	int n = CTLSOCK_SRV_MAX_GROUPS;
#ifdef __APPLE__
	int groups[CTLSOCK_SRV_MAX_GROUPS];		/* macOS declares them int */

	pw = getpwuid(uid);
	if (!pw || getgrouplist(pw->pw_name, (int)gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if ((gid_t)groups[i] == group)
			return true;
#else
	gid_t groups[CTLSOCK_SRV_MAX_GROUPS];

	pw = getpwuid(uid);
	if (!pw || getgrouplist(pw->pw_name, gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == group)
			return true;
#endif
	return false;
}

/* Root, or with ControlGroup a member of it (primary or supplementary). */
static bool ctlsock_srv_peer_allowed(const struct ctlsock_srv *c, int fd)
{
	uid_t uid;
	gid_t gid;
#ifdef SO_PEERCRED
	struct ucred cr;
	socklen_t l = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0 || l != sizeof(cr))
		return false;
	uid = cr.uid;
	gid = cr.gid;
#else
	if (getpeereid(fd, &uid, &gid) < 0)
		return false;
#endif
	if (uid == 0)
		return true;
	if (!c->have_group)
		return false;
	return gid == c->gid || ctlsock_srv_user_in_group(uid, gid, c->gid);
}

/* "ok", or "error <why>" on one line (the reason's own line breaks become spaces). */
static void ctlsock_srv_answer_reload(struct ctlsock_srv *c, int fd)
{
	char err[CONFIG_ERR_LEN] = "", line[CONFIG_ERR_LEN + 16];
	int n;

	if (!c->ops->reload) {
		ctlsock_send(fd, "error reload is not supported here\n", 35);
		return;
	}
	if (c->ops->reload(c->ctx, err, sizeof(err)) == 0) {
		ctlsock_send(fd, "ok\n", 3);
		return;
	}
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = ' ';
	n = snprintf(line, sizeof(line), "error %s\n", err[0] ? err : "reload failed");
	if (n > 0)
		ctlsock_send(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Captures show traffic itself: root's alone, whatever ControlGroup allows. */
static bool ctlsock_srv_peer_root(int fd)
{
#ifdef SO_PEERCRED
	struct ucred cr;
	socklen_t l = sizeof(cr);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0 && l == sizeof(cr) &&
	       cr.uid == 0;
#else
	uid_t uid;
	gid_t gid;

	return getpeereid(fd, &uid, &gid) == 0 && uid == 0;
#endif
}

/*
 * Hand the connection to the tap (captap.c), which answers "ok" and streams
 * pcap until the client closes it; or answer "error <why>" and close.
 */
static void ctlsock_srv_capture(struct ctlsock_srv *c, struct ctlsock_srv_client *cl, size_t len)
{
	struct ctlsock_capture *cap = calloc(1, sizeof(*cap));
	char err[CAPTAP_ERR_LEN] = "", line[CAPTAP_ERR_LEN + 32];
	int n, ret = -ENOMEM;

	/* The tap watches the descriptor itself from now on, whatever comes. */
	loop_del_fd(c->loop, cl->fd);
	if (!ctlsock_srv_peer_root(cl->fd))
		ret = -EPERM;
	else if (cap && (ret = ctlsock_parse_capture(cl->req, len, cap)) == 0)
		ret = captap_attach(c->tap, cl->fd,
				    cap->snaplen ? cap->snaplen : CAPTAP_SNAPLEN_MAX, cap->filter,
				    "ok\n", 3, err, sizeof(err));
	if (ret == 0) {
		free(cap);
		cl->fd = -1;
		cl->len = 0;
		return;
	}
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = ' ';
	if (ret == -EINVAL && cap && cap->filter[0] && err[0])
		n = snprintf(line, sizeof(line), "error bad filter: %s\n", err);
	else if (ret == -EBUSY)
		n = snprintf(line, sizeof(line), "error too many captures (%d at most)\n",
			     CAPTAP_MAX_CLIENTS);
	else if (ret == -EPERM)
		n = snprintf(line, sizeof(line), "error permission denied\n");
	else if (ret == -EOPNOTSUPP)
		n = snprintf(line, sizeof(line), "error capture is not available here\n");
	else
		n = snprintf(line, sizeof(line), "error %s\n", err[0] ? err : strerror(-ret));
	free(cap);
	if (n > 0)
		ctlsock_send(cl->fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	ctlsock_srv_drop(c, cl);
}

static void ctlsock_srv_answer(struct ctlsock_srv *c, struct ctlsock_srv_client *cl, size_t len)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	struct ctlsock_snap *s = NULL;
	struct ctlsock_buf b = { 0 };
	enum ctlsock_req req;
	int flags, ret;

	/* The reply is written blocking, with a bound on how long. */
	flags = fcntl(cl->fd, F_GETFL);
	if (flags >= 0)
		fcntl(cl->fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(cl->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ret = ctlsock_parse(cl->req, len, &req);
	if (ret == -E2BIG) {
		ctlsock_send(cl->fd, "error request too long\n", 23);
		goto out;
	}
	if (ret) {
		ctlsock_send(cl->fd, "error malformed request\n", 24);
		goto out;
	}
	if (req == CTLSOCK_REQ_CAPTURE) {
		ctlsock_srv_capture(c, cl, len);	/* keeps or drops the connection */
		return;
	}
	if (req == CTLSOCK_REQ_RELOAD) {
		ctlsock_srv_answer_reload(c, cl->fd);
		goto out;
	}
	b.cap = CTLSOCK_MAX_REPLY;
	b.p = malloc(b.cap);
	s = calloc(1, sizeof(*s));
	if (!b.p || !s) {
		ctlsock_send(cl->fd, "error out of memory\n", 20);
		goto out;
	}
	b.p[0] = '\0';
	ctlsock_render_printf(&b, "ok\n");
	if (c->ops->status && req != CTLSOCK_REQ_PING)
		c->ops->status(c->ctx, s);
	s->capture = c->tap_stats;
	ctlsock_render(&b, req, s, loop_now());
	if (b.truncated)
		log_warn("Control socket: reply longer than %d bytes, truncated",
			 CTLSOCK_MAX_REPLY);
	ctlsock_send(cl->fd, b.p, b.len);
out:
	free(s);
	free(b.p);
	ctlsock_srv_drop(c, cl);
}

static void ctlsock_srv_on_client(void *ctx, int fd, uint32_t events)
{
	struct ctlsock_srv *c = ctx;
	struct ctlsock_srv_client *cl = NULL;
	char *nl;
	ssize_t n;

	(void)events;
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++)
		if (c->clients[i].fd == fd)
			cl = &c->clients[i];
	if (!cl)
		return;
	n = recv(fd, cl->req + cl->len, sizeof(cl->req) - cl->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		ctlsock_srv_drop(c, cl);
		return;
	}
	if (n == 0) {
		/* End of file ends the request, too (printf status | socat). */
		if (cl->len)
			ctlsock_srv_answer(c, cl, cl->len);
		else
			ctlsock_srv_drop(c, cl);
		return;
	}
	nl = memchr(cl->req + cl->len, '\n', (size_t)n);
	cl->len += (size_t)n;
	if (nl) {
		ctlsock_srv_answer(c, cl, (size_t)(nl - cl->req));
		return;
	}
	if (cl->len == sizeof(cl->req))
		ctlsock_srv_answer(c, cl, cl->len);	/* -E2BIG: an error reply */
}

static void ctlsock_srv_on_accept(void *ctx, int fd, uint32_t events)
{
	struct ctlsock_srv *c = ctx;
	struct ctlsock_srv_client *cl = NULL;
	uint64_t now = loop_now();
	int cfd;

	(void)events;
	cfd = accept(fd, NULL, NULL);
	if (cfd < 0)
		return;
	/* accept4() is Linux's; macOS's host agent serves this socket too. */
	if (fcntl(cfd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) | O_NONBLOCK) < 0) {
		close(cfd);
		return;
	}
	if (!ctlsock_srv_peer_allowed(c, cfd)) {
		ctlsock_send(cfd, "error permission denied\n", 24);
		close(cfd);
		return;
	}
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++) {
		struct ctlsock_srv_client *o = &c->clients[i];

		if (o->fd >= 0 && now - o->since > CTLSOCK_SRV_TIMEOUT)
			ctlsock_srv_drop(c, o);
		if (o->fd < 0 && !cl)
			cl = o;
	}
	if (!cl || loop_add_fd(c->loop, cfd, LOOP_IN, ctlsock_srv_on_client, c) < 0) {
		ctlsock_send(cfd, "error busy\n", 11);
		close(cfd);
		return;
	}
	cl->fd = cfd;
	cl->since = now;
	cl->len = 0;
}

/*
 * ControlGroup: the socket becomes 0660 with the group (it was created 0600,
 * so it never was wider than that), and a state directory only root may
 * enter lets the group search it too. A directory someone opened already
 * (/run, a RuntimeDirectory with its own mode) is left as it is.
 */
static int ctlsock_srv_open_to_group(struct ctlsock_srv *c, const char *dir, const char *group)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return -errno;
	if (!(st.st_mode & 0011) &&
	    (chown(dir, (uid_t)-1, c->gid) < 0 || chmod(dir, (st.st_mode & 07777) | 0010) < 0))
		return -errno;
	if (chown(c->path, (uid_t)-1, c->gid) < 0 || chmod(c->path, 0660) < 0)
		return -errno;
	log_info("Control socket open to the members of group %s", group);
	return 0;
}

struct ctlsock_srv *ctlsock_srv_start(const struct config *cfg, struct loop *loop,
				      const struct ctlsock_srv_ops *ops, void *ctx)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctlsock_srv *c = calloc(1, sizeof(*c));
	char err_text[CONFIG_ERR_LEN];
	mode_t old;
	int ret, err;

	if (!c)
		return NULL;
	c->loop = loop;
	c->ops = ops;
	c->ctx = ctx;
	c->fd = -1;
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	ret = ctlsock_path(cfg, c->path, sizeof(c->path));
	if (ret)
		goto fail;
	ret = statedir_prepare(cfg, err_text, sizeof(err_text));
	if (ret) {
		log_err("%s", err_text);
		goto fail;
	}
	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c->fd < 0 || fcntl(c->fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0) {
		ret = -errno;
		goto fail;
	}
	/* A socket left by a killed daemon; a live one would be ours to replace too. */
	unlink(c->path);
	old = umask(0177);	/* created 0600: never a window with wider access */
	ret = bind(c->fd, (struct sockaddr *)&sun, sizeof(sun));
	err = errno;
	umask(old);
	if (ret < 0) {
		ret = -err;
		goto fail;
	}
	if (cfg->control_group[0]) {
		c->have_group = true;
		c->gid = (gid_t)cfg->control_gid;
		ret = ctlsock_srv_open_to_group(c, cfg->state_dir, cfg->control_group);
		if (ret < 0)
			goto fail;
	}
	if (listen(c->fd, 8) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = loop_add_fd(loop, c->fd, LOOP_IN, ctlsock_srv_on_accept, c);
	if (ret < 0)
		goto fail;
	/* Without it (no libpcap here) capture requests get an error. */
	if (ops->publish_tap)
		c->tap = captap_new(loop, ops->publish_tap, ctx, &c->tap_stats);
	log_info("Control socket at %s", c->path);
	return c;
fail:
	log_err("Failed to open the control socket %s: %s", c->path, strerror(-ret));
	if (c->fd >= 0) {
		close(c->fd);
		unlink(c->path);
	}
	free(c);
	errno = -ret;
	return NULL;
}

void ctlsock_srv_stop(struct ctlsock_srv *c)
{
	if (!c)
		return;
	captap_free(c->tap);
	for (size_t i = 0; i < CTLSOCK_MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			ctlsock_srv_drop(c, &c->clients[i]);
	loop_del_fd(c->loop, c->fd);
	close(c->fd);
	unlink(c->path);
	free(c);
}
