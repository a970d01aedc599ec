/* discover_linux.c - find and watch the bridges that carry Docker networks (rtnetlink) */

/*
 * Theory of operation
 *
 * Docker puts every bridge network on a Linux bridge ("docker0", "br-<id>")
 * and gives the bridge the network's gateway address. So the networks to
 * advertise are the addresses of the bridges whose names match the config,
 * masked to their prefixes.
 *
 * State. The model is a small table of the matching bridges, keyed by
 * ifindex, each with its own addresses. Nothing else is kept: not the other
 * links, not their addresses. The view handed to the caller is computed
 * from the model by discover_view_build(), a pure function (sorting makes
 * it independent of the order events came in), and compared as a whole
 * with the previous view; the callback runs only when they differ. The
 * view, the name matching and the change log live in discover_view.c;
 * this file owns the model and the rtnetlink side.
 *
 * Start. The event socket joins RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR and
 * RTNLGRP_IPV6_IFADDR first; only then does a second socket dump links and
 * addresses into a fresh model. Whatever changes during the dumps is
 * queued on the event socket and applied afterwards. Every event says
 * what an object now is ("link 7 is bridge br-x", "10.1.0.1/24 on 7 is
 * gone"), so replaying an event the dump already saw is harmless, and the
 * last event about an object wins: the model converges.
 *
 * Events. A link message for a matching bridge updates or adds its entry;
 * one for anything else (deleted, renamed away, not a bridge) removes it.
 * An address message only matters for a bridge in the table. A bridge that
 * enters the table through an event (created, renamed into a matching
 * name, or recreated under a new ifindex) may already hold addresses whose
 * messages went by before it mattered, so the batch ends with a full
 * re-dump: one dump per new bridge, which is rare.
 *
 * Losses. ENOBUFS on the event socket means the kernel dropped events. The
 * messages still queued are older than the lost ones and would undo what
 * the dump finds, so they are read and discarded first, then everything
 * is dumped again into a fresh model. A dump marked NLM_F_DUMP_INTR (the
 * kernel's tables changed under it) is retried from the start, links and
 * addresses both. A truncated or NLMSG_OVERRUN message also forces a
 * re-dump. A failed re-dump keeps the old model and is retried on the
 * next call.
 *
 * Parsing is left to libnl (nl_msg_parse into rtnl_link / rtnl_addr
 * objects); link messages of other families (AF_BRIDGE port events) and
 * addresses of other families are ignored, and every field is range
 * checked before it is stored. The table and each bridge's address list
 * have fixed sizes; what does not fit is left out with one warning.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "discover.h"
#include "log.h"

#define DISCOVER_RCVBUF		(1 << 20)	/* event socket receive buffer */
#define DISCOVER_BUF_LEN	(64 * 1024)	/* one datagram; more is MSG_TRUNC */
#define DISCOVER_DUMP_TRIES	8		/* interrupted dumps in a row */
#define DISCOVER_BATCH_MAX	1024		/* datagrams per discover_process() */
/* Far more datagrams than a full 1 MiB queue can hold. */
#define DISCOVER_DRAIN_MAX	65536

#ifdef GANGWAY_TEST_HOOKS
/*
 * For the tests (their build alone): a small receive buffer makes overruns
 * easy to provoke.
 */
#define DISCOVER_TEST_RCVBUF_ENV "GANGWAY_TEST_NL_RCVBUF"
#endif

/* The matching bridges and their addresses, in no particular order. */
struct discover_model {
	struct discover_bridge bridges[DISCOVER_MAX_BRIDGES];
	size_t n;
	bool overflow;		/* a bridge or address was left out */
};

struct discover {
	/* Only the discovery fields are filled: patterns and prefix lists. */
	struct config conf;
	discover_fn fn;
	void *ctx;
	struct nl_sock *ev;		/* event socket, non-blocking */
	struct discover_model model;	/* kept up to date by events */
	struct discover_model fresh;	/* filled by a dump, then copied */
	struct discover_view view;	/* what the caller saw last */
	struct discover_view next;
	bool need_resync;
	bool warned_bridges, warned_addrs;
	union {
		struct nlmsghdr h;	/* for the alignment */
		uint8_t b[DISCOVER_BUF_LEN];
	} buf;
};

/* One parsed link message, copied out of the libnl object. */
struct discover_link {
	int ifindex;
	char ifname[IF_NAMESIZE];
	bool has_kind;
	bool bridge;
	bool up;
};

/* One parsed address message. */
struct discover_addr {
	int ifindex;
	struct prefix addr;	/* host bits kept */
	unsigned int flags;	/* IFA_F_* */
};

/* What nl_msg_parse() hands to discover_parse_obj(). */
struct discover_parse {
	struct discover *d;
	struct discover_model *m;
	int type;		/* RTM_NEWLINK, RTM_DELADDR, ... */
	bool event;		/* from the event socket, not a dump */
	bool intr;		/* the dump was marked NLM_F_DUMP_INTR */
	int err;		/* -errno that stopped a dump */
};

/* libnl returns its own negative codes; map them to -errno. */
static int discover_nlerr(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:			return 0;
	case NLE_NOMEM:		return -ENOMEM;
	case NLE_PERM:		return -EPERM;
	case NLE_INVAL:		return -EINVAL;
	case NLE_AGAIN:		return -EAGAIN;
	case NLE_INTR:
	case NLE_DUMP_INTR:	return -EINTR;
	case NLE_BAD_SOCK:	return -EBADF;
	case NLE_AF_NOSUPPORT:	return -EAFNOSUPPORT;
	case NLE_OPNOTSUPP:	return -EOPNOTSUPP;
	case NLE_MSG_TRUNC:	return -EMSGSIZE;
	default:		return -EIO;
	}
}

/* ------------------------------------------------------------ the model */

static struct discover_bridge *discover_model_find(struct discover_model *m, int ifindex)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->bridges[i].ifindex == ifindex)
			return &m->bridges[i];
	return NULL;
}

/* A removal may make room for something left out before: dump again. */
static void discover_model_removed(struct discover *d, struct discover_model *m, bool event)
{
	if (m->overflow && event)
		d->need_resync = true;
}

static void discover_apply_link(struct discover *d, struct discover_model *m, int type,
				const struct discover_link *l, bool event)
{
	struct discover_bridge *b = discover_model_find(m, l->ifindex);
	bool bridge = l->has_kind ? l->bridge : b != NULL;

	if (type != RTM_NEWLINK || !bridge || !discover_view_match_ifname(&d->conf, l->ifname)) {
		if (b) {
			*b = m->bridges[--m->n];
			discover_model_removed(d, m, event);
		}
		return;
	}
	if (!b) {
		if (m->n == DISCOVER_MAX_BRIDGES) {
			m->overflow = true;
			if (!d->warned_bridges)
				log_warn("discover: more than %d bridges match, ignoring %s and any further ones",
					 DISCOVER_MAX_BRIDGES, l->ifname);
			d->warned_bridges = true;
			return;
		}
		b = &m->bridges[m->n++];
		memset(b, 0, sizeof(*b));
		b->ifindex = l->ifindex;
		/* Its addresses may predate this message (see the top). */
		if (event)
			d->need_resync = true;
	}
	memcpy(b->ifname, l->ifname, IF_NAMESIZE);
	b->up = l->up;
}

static bool discover_addr_wanted(const struct discover_addr *a)
{
	const uint8_t *b = a->addr.addr.b;

	if (a->flags & IFA_F_DADFAILED)
		return false;
	/* fe80::/10 exists on every link and routes nowhere. */
	return !(a->addr.family == AF_INET6 && b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
}

static void discover_apply_addr(struct discover *d, struct discover_model *m, int type,
				const struct discover_addr *a, bool event)
{
	struct discover_bridge *b = discover_model_find(m, a->ifindex);
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->n_addrs; i++)
		if (!prefix_cmp(&b->addrs[i], &a->addr))
			break;
	if (type != RTM_NEWADDR || !discover_addr_wanted(a)) {
		if (i < b->n_addrs) {
			b->addrs[i] = b->addrs[--b->n_addrs];
			discover_model_removed(d, m, event);
		}
		return;
	}
	if (i < b->n_addrs)
		return;
	if (b->n_addrs == DISCOVER_MAX_ADDRS) {
		m->overflow = true;
		if (!d->warned_addrs)
			log_warn("discover: %s has more than %d addresses, ignoring the rest",
				 b->ifname, DISCOVER_MAX_ADDRS);
		d->warned_addrs = true;
		return;
	}
	b->addrs[b->n_addrs++] = a->addr;
}

/* ------------------------------------------------------------ parsing */

static bool discover_read_link(struct rtnl_link *link, struct discover_link *l)
{
	const char *name = rtnl_link_get_name(link);
	const char *kind = rtnl_link_get_type(link);
	size_t len;

	memset(l, 0, sizeof(*l));
	l->ifindex = rtnl_link_get_ifindex(link);
	if (l->ifindex <= 0 || !name)
		return false;
	len = strnlen(name, IF_NAMESIZE);
	if (len == 0 || len == IF_NAMESIZE)
		return false;
	memcpy(l->ifname, name, len);
	l->has_kind = kind != NULL;
	l->bridge = kind && !strcmp(kind, "bridge");
	l->up = rtnl_link_get_flags(link) & IFF_UP;
	return true;
}

static bool discover_read_addr(struct rtnl_addr *ra, struct discover_addr *a)
{
	struct nl_addr *local = rtnl_addr_get_local(ra);
	int family = rtnl_addr_get_family(ra);
	size_t alen = prefix_addr_len(family);
	int plen = rtnl_addr_get_prefixlen(ra);

	if (!alen || !local || nl_addr_get_family(local) != family ||
	    nl_addr_get_len(local) != alen || plen < 0 || (size_t)plen > alen * 8)
		return false;
	memset(a, 0, sizeof(*a));
	a->ifindex = rtnl_addr_get_ifindex(ra);
	if (a->ifindex <= 0)
		return false;
	a->addr.family = family;
	a->addr.len = (uint8_t)plen;
	memcpy(a->addr.addr.b, nl_addr_get_binary_addr(local), alen);
	a->flags = rtnl_addr_get_flags(ra);
	return true;
}

static void discover_parse_obj(struct nl_object *obj, void *arg)
{
	struct discover_parse *p = arg;
	const char *type = nl_object_get_type(obj);
	struct discover_link l;
	struct discover_addr a;

	if (!type)
		return;
	if ((p->type == RTM_NEWLINK || p->type == RTM_DELLINK) && !strcmp(type, "route/link")) {
		if (discover_read_link((struct rtnl_link *)obj, &l))
			discover_apply_link(p->d, p->m, p->type, &l, p->event);
	} else if ((p->type == RTM_NEWADDR || p->type == RTM_DELADDR) &&
		   !strcmp(type, "route/addr")) {
		if (discover_read_addr((struct rtnl_addr *)obj, &a))
			discover_apply_addr(p->d, p->m, p->type, &a, p->event);
	}
}

/* Parse one message with libnl and apply it to the model. */
static int discover_parse_msg(struct discover_parse *p, struct nl_msg *msg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	const struct ifinfomsg *ifi;
	int ret;

	p->type = h->nlmsg_type;
	switch (p->type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		/*
		 * AF_BRIDGE link messages describe bridge ports. The family
		 * comes from the header: libnl reports AF_BRIDGE for every
		 * link of kind "bridge".
		 */
		if (!nlmsg_valid_hdr(h, sizeof(*ifi)))
			return 0;
		ifi = nlmsg_data(h);
		if (ifi->ifi_family != AF_UNSPEC)
			return 0;
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		break;
	default:
		return 0;
	}
	ret = nl_msg_parse(msg, discover_parse_obj, p);
	if (ret == -NLE_NOMEM)
		return -ENOMEM;
	if (ret < 0)
		log_debug("discover: ignoring a netlink message of type %d: %s", p->type,
			  nl_geterror(ret));
	return 0;
}

/* ------------------------------------------------------------ dumps */

static int discover_dump_valid(struct nl_msg *msg, void *arg)
{
	struct discover_parse *p = arg;

	if (nlmsg_hdr(msg)->nlmsg_flags & NLM_F_DUMP_INTR)
		p->intr = true;
	p->err = discover_parse_msg(p, msg);
	return p->err ? NL_STOP : NL_OK;
}

static int discover_dump_intr(struct nl_msg *msg, void *arg)
{
	struct discover_parse *p = arg;

	p->intr = true;
	return NL_OK;
}

/* One dump request of type (RTM_GETLINK or RTM_GETADDR) into p->m. */
static int discover_dump_one(struct nl_sock *sk, int type, struct discover_parse *p)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct ifaddrmsg ifa = { .ifa_family = AF_UNSPEC };
	int ret;

	if (type == RTM_GETLINK)
		ret = nl_send_simple(sk, type, NLM_F_DUMP, &ifi, sizeof(ifi));
	else
		ret = nl_send_simple(sk, type, NLM_F_DUMP, &ifa, sizeof(ifa));
	if (ret < 0)
		return discover_nlerr(ret);
	ret = nl_recvmsgs_default(sk);
	if (p->err)
		return p->err;
	if (ret == -NLE_DUMP_INTR || (ret >= 0 && p->intr))
		return -EINTR;
	return ret < 0 ? discover_nlerr(ret) : 0;
}

/*
 * discover_dump - fill d->fresh from a dump of all links, then all
 * addresses, on a socket of its own (so nothing of an earlier, aborted
 * dump can be left in it). Returns 0, -EINTR when the kernel marked the
 * dump as interrupted, or another -errno.
 */
static int discover_dump(struct discover *d)
{
	struct discover_parse p = { .d = d, .m = &d->fresh };
	struct nl_sock *sk;
	int ret;

	memset(&d->fresh, 0, sizeof(d->fresh));
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	ret = discover_nlerr(nl_connect(sk, NETLINK_ROUTE));
	if (ret)
		goto out;
	ret = discover_nlerr(nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM,
						 discover_dump_valid, &p));
	if (!ret)
		ret = discover_nlerr(nl_socket_modify_cb(sk, NL_CB_DUMP_INTR, NL_CB_CUSTOM,
							 discover_dump_intr, &p));
	if (!ret)
		ret = discover_dump_one(sk, RTM_GETLINK, &p);
	if (!ret)
		ret = discover_dump_one(sk, RTM_GETADDR, &p);
out:
	nl_socket_free(sk);
	return ret;
}

/*
 * discover_rebuild - replace the model with a fresh dump. An interrupted
 * dump starts over; when that keeps happening, or on any other error, the
 * old model stays and need_resync makes the next discover_process() try
 * again.
 */
static int discover_rebuild(struct discover *d)
{
	int ret = -EINTR, tries;

	for (tries = 0; tries < DISCOVER_DUMP_TRIES && ret == -EINTR; tries++) {
		if (tries)
			log_info("discover: dump interrupted by a change (NLE_DUMP_INTR), dumping again");
		ret = discover_dump(d);
	}
	if (ret) {
		d->need_resync = true;
		return ret == -EINTR ? -EAGAIN : ret;
	}
	d->model = d->fresh;
	d->need_resync = false;
	if (!d->model.overflow)
		d->warned_bridges = d->warned_addrs = false;
	return 0;
}

/* Compute the view from the model; tell the caller if it changed. */
static void discover_publish(struct discover *d, bool notify)
{
	discover_view_build(&d->conf, d->model.bridges, d->model.n, &d->next);
	if (discover_view_equal(&d->next, &d->view))
		return;
	discover_view_log_changes(&d->view, &d->next);
	d->view = d->next;
	if (notify && d->fn)
		d->fn(d->ctx, &d->view);
}

/* ------------------------------------------------------------ events */

/*
 * discover_recv - one datagram from the event socket into d->buf.
 * Returns its length, 0 for one to skip (not from the kernel), or -errno
 * (-EAGAIN: nothing pending). *trunc is set when it did not fit.
 */
static ssize_t discover_recv(struct discover *d, bool *trunc)
{
	struct sockaddr_nl sa;
	struct iovec iov = { .iov_base = d->buf.b, .iov_len = sizeof(d->buf.b) };
	struct msghdr mh = {
		.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1,
	};
	ssize_t n;

	*trunc = false;
	do {
		n = recvmsg(nl_socket_get_fd(d->ev), &mh, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno ? -errno : -EIO;
	*trunc = mh.msg_flags & MSG_TRUNC;
	/* Multicast from user space needs privilege, but check anyway. */
	if (mh.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
		return 0;
	return n;
}

/* Discard what is queued: it is older than the events the kernel dropped. */
static void discover_drain(struct discover *d)
{
	bool trunc;
	ssize_t n;
	int i;

	for (i = 0; i < DISCOVER_DRAIN_MAX; i++) {
		n = discover_recv(d, &trunc);
		if (n < 0 && n != -ENOBUFS)
			break;
	}
}

/* Apply every message of one datagram; false when something was lost. */
static bool discover_apply_buf(struct discover *d, size_t len)
{
	struct discover_parse p = { .d = d, .m = &d->model, .event = true };
	struct nlmsghdr *h = &d->buf.h;
	int rem = (int)len;
	struct nl_msg *msg;

	for (; nlmsg_ok(h, rem); h = nlmsg_next(h, &rem)) {
		if (h->nlmsg_type == NLMSG_OVERRUN)
			return false;
		if (h->nlmsg_type < RTM_BASE)
			continue;
		msg = nlmsg_convert(h);
		if (!msg)
			return false;
		nlmsg_set_proto(msg, NETLINK_ROUTE);
		if (discover_parse_msg(&p, msg)) {
			nlmsg_free(msg);
			return false;
		}
		nlmsg_free(msg);
	}
	return true;
}

int discover_process(struct discover *d)
{
	bool trunc = false, overrun = false;
	ssize_t n;
	int i, ret = 0;

	if (!d->ev)
		return -ENOTCONN;

	for (i = 0; i < DISCOVER_BATCH_MAX; i++) {
		n = discover_recv(d, &trunc);
		if (n == -EAGAIN)
			break;
		if (n == -ENOBUFS) {
			overrun = true;
			log_info("discover: netlink events lost (ENOBUFS), dumping links and addresses again");
			discover_drain(d);
			break;
		}
		if (n < 0) {
			ret = (int)n;
			break;
		}
		if (trunc || !discover_apply_buf(d, (size_t)n)) {
			log_info("discover: a netlink event was lost (truncated or overrun), dumping again");
			d->need_resync = true;
		}
	}
	if (overrun || d->need_resync) {
		int r = discover_rebuild(d);

		if (r) {
			log_warn("discover: dumping links and addresses failed: %s", strerror(-r));
			if (!ret)
				ret = r;
		}
	}
	discover_publish(d, true);
	return ret;
}

/* ------------------------------------------------------------ setup */

static void discover_conf_free(struct config *c)
{
	free(c->include_prefixes.v);
	c->include_prefixes.v = NULL;
	c->include_prefixes.n = 0;
	free(c->exclude_prefixes.v);
	c->exclude_prefixes.v = NULL;
	c->exclude_prefixes.n = 0;
}

static int discover_list_dup(struct config_prefixes *dst, const struct config_prefixes *src)
{
	size_t n = discover_view_list_len(src);

	dst->v = NULL;
	dst->n = 0;
	if (!n)
		return 0;
	dst->v = calloc(n, sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	memcpy(dst->v, src->v, n * sizeof(*dst->v));
	dst->n = n;
	return 0;
}

/* Copy the fields discovery reads; the rest stays zero. */
static int discover_conf_copy(struct config *dst, const struct config *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->bridges = src->bridges;
	dst->exclude_interfaces = src->exclude_interfaces;
	if (discover_list_dup(&dst->include_prefixes, &src->include_prefixes) ||
	    discover_list_dup(&dst->exclude_prefixes, &src->exclude_prefixes)) {
		discover_conf_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/*
 * The receive buffer: large, so that a burst of changes (dockerd starting
 * many networks) fits; SO_RCVBUFFORCE passes net.core.rmem_max when we
 * have CAP_NET_ADMIN. Overflow is handled all the same.
 */
static void discover_set_rcvbuf(int fd)
{
	int size = DISCOVER_RCVBUF;
#ifdef GANGWAY_TEST_HOOKS
	const char *env = getenv(DISCOVER_TEST_RCVBUF_ENV);
	char *end;
	long v;

	if (env && *env) {
		errno = 0;
		v = strtol(env, &end, 10);
		if (!errno && !*end && v >= 1024 && v <= DISCOVER_RCVBUF) {
			size = (int)v;
			log_notice("discover: receive buffer %d bytes (%s)", size,
				   DISCOVER_TEST_RCVBUF_ENV);
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
			return;
		}
		log_warn("discover: ignoring %s=%s", DISCOVER_TEST_RCVBUF_ENV, env);
	}
#endif
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		log_debug("discover: cannot enlarge the netlink receive buffer: %m");
}

static int discover_open_events(struct discover *d)
{
	int ret, fd;

	d->ev = nl_socket_alloc();
	if (!d->ev)
		return -ENOMEM;
	ret = discover_nlerr(nl_connect(d->ev, NETLINK_ROUTE));
	if (ret)
		return ret;
	fd = nl_socket_get_fd(d->ev);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	discover_set_rcvbuf(fd);
	ret = discover_nlerr(nl_socket_add_memberships(d->ev, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
						       RTNLGRP_IPV6_IFADDR, 0));
	if (ret)
		return ret;
	return discover_nlerr(nl_socket_set_nonblocking(d->ev));
}

/* A discover object with its own copy of c's settings and no sockets yet. */
static struct discover *discover_alloc(const struct config *c, discover_fn fn, void *ctx)
{
	struct discover *d;

	if (!c) {
		errno = EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->fn = fn;
	d->ctx = ctx;
	if (discover_conf_copy(&d->conf, c)) {
		free(d);
		errno = ENOMEM;
		return NULL;
	}
	return d;
}

struct discover *discover_new(const struct config *c, discover_fn fn, void *ctx)
{
	struct discover *d = discover_alloc(c, fn, ctx);
	int ret;

	if (!d)
		return NULL;
	ret = discover_open_events(d);
	if (!ret)
		ret = discover_rebuild(d);
	if (ret) {
		discover_free(d);
		errno = -ret;
		return NULL;
	}
	/* The first view is the caller's to read, not a change to report. */
	discover_publish(d, false);
	return d;
}

void discover_free(struct discover *d)
{
	if (!d)
		return;
	if (d->ev)
		nl_socket_free(d->ev);
	discover_conf_free(&d->conf);
	free(d);
}

int discover_fd(const struct discover *d)
{
	return d->ev ? nl_socket_get_fd(d->ev) : -1;
}

int discover_resync(struct discover *d, const struct config *c)
{
	struct config next;
	int ret;

	if (c) {
		ret = discover_conf_copy(&next, c);
		if (ret)
			return ret;
		discover_conf_free(&d->conf);
		d->conf = next;
	}
	ret = discover_rebuild(d);
	/* Even with a failed dump, new exclusions apply to the old model. */
	discover_publish(d, true);
	return ret;
}

const struct discover_view *discover_view(const struct discover *d)
{
	return &d->view;
}

/* ------------------------------------------------------------ tests */

#ifdef GANGWAY_TEST_HOOKS
#include "testhooks/discover_hooks.h"

struct discover *discover_new_detached(const struct config *c, discover_fn fn, void *ctx)
{
	struct discover *d = discover_alloc(c, fn, ctx);

	if (d)
		discover_publish(d, false);
	return d;
}

int discover_feed(struct discover *d, const void *buf, size_t len)
{
	bool lost;

	if (len > sizeof(d->buf.b))
		return -EMSGSIZE;
	memcpy(d->buf.b, buf, len);
	lost = !discover_apply_buf(d, len);
	lost |= d->need_resync;
	/* No dump follows here: the caller is told instead. */
	d->need_resync = false;
	discover_publish(d, true);
	return lost;
}

static bool discover_bridge_ok(const struct discover *d, const struct discover_bridge *b)
{
	struct discover_addr a = { 0 };
	size_t i, j;

	if (b->ifindex <= 0 || !memchr(b->ifname, '\0', IF_NAMESIZE) ||
	    !discover_view_match_ifname(&d->conf, b->ifname) || b->n_addrs > DISCOVER_MAX_ADDRS)
		return false;
	for (i = 0; i < b->n_addrs; i++) {
		a.addr = b->addrs[i];
		if (!discover_view_prefix_ok(&b->addrs[i]) || !discover_addr_wanted(&a))
			return false;
		for (j = 0; j < i; j++)
			if (!prefix_cmp(&b->addrs[i], &b->addrs[j]))
				return false;
	}
	return true;
}

int discover_check(const struct discover *d)
{
	const struct discover_model *m = &d->model;
	size_t i, j;

	if (m->n > DISCOVER_MAX_BRIDGES)
		return -EUCLEAN;
	for (i = 0; i < m->n; i++) {
		if (!discover_bridge_ok(d, &m->bridges[i]))
			return -EUCLEAN;
		for (j = 0; j < i; j++)
			if (m->bridges[i].ifindex == m->bridges[j].ifindex)
				return -EUCLEAN;
	}
	if (d->view.n_bridges != m->n)
		return -EUCLEAN;
	return 0;
}
#endif
