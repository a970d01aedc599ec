/* firewall_nft_linux.c - our nftables table, and our accepts in Docker 29's tables */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "firewall_int.h"
#include "log.h"

/*
 * Theory of operation
 *
 * Our own table, inet gangway, holds what never depends on Docker:
 *
 *   chain prerouting  filter, prerouting, priority -301 (only for Docker 29
 *                     with a mark): iifname TUN ip saddr SRC ip daddr NET
 *                     meta mark set meta mark | MARK
 *   chain forward     filter, forward, priority mangle: MSS clamp on SYNs in
 *                     from the tunnel (to the tunnel MTU) and out to it (to
 *                     the route's MTU)
 *   chain postrouting nat, postrouting, srcnat: iifname TUN oifname BRIDGE
 *                     ip saddr SRC ip daddr NET snat to GATEWAY
 *   chain dstnat      nat, prerouting, dstnat (only when the host remaps an
 *                     overlapping prefix): iifname TUN ip daddr HOSTNET
 *                     dnat ip prefix to NET (a 1:1 netmap; replies are
 *                     mapped back by conntrack)
 *
 * It is written in one transaction that adds, deletes and adds the table
 * again, so a reinstall replaces it atomically and never duplicates. Every
 * message asks for an ACK; the kernel answers each one, and with
 * NETLINK_EXT_ACK explains a failure.
 *
 * Docker 29's nftables backend accepts packets that carry its
 * bridge-accept-fwmark only in its per-bridge forward chains. Its raw
 * prerouting drop of direct access ("DROP DIRECT ACCESS", "SUBNET DROP
 * EXTERNAL": ip daddr NET iifname != { bridge, lo } drop) ignores the mark,
 * and a drop in any base chain is final. So for that backend we also insert
 * an accept for our sources at the top of Docker's raw-PREROUTING base
 * chain, marked with our comment, and keep it there like the iptables
 * rules. Docker's per-bridge chains are left alone: Docker deletes them,
 * and a chain with a foreign rule cannot be deleted.
 *
 * Checks compare the ruleset generation first (NFT_MSG_GETGEN); only when it
 * moved do they dump rules. A check counts rules and positions; a changed
 * view always rewrites everything (force), so contents need no comparison.
 */

#define NFT_RECV_SIZE	65536
#define NFT_BATCH_MSG_ROOM	4096	/* room left for one batch message */
#define NFT_REQ_SIZE	1024		/* one get or dump request */
#define NFT_DOCKER_TABLE "docker-bridges"
#define NFT_DOCKER_RAW	"raw-PREROUTING"
#define NFT_TCPOPT_MAXSEG 2

enum { NFT_CH_FORWARD, NFT_CH_POSTROUTING, NFT_CH_PREROUTING, NFT_CH_DSTNAT, NFT_NCHAINS };
static const char *const nft_chain_name[NFT_NCHAINS] = {
	"forward", "postrouting", "prerouting", "dstnat",
};

struct firewall_nft {
	struct mnl_socket *nl;		/* requests and transactions */
	struct mnl_socket *ev;		/* NFNLGRP_NFTABLES, or NULL */
	uint32_t portid;
	uint32_t seq;
	char *rbuf;
	bool warned_mark;		/* Docker 29 without a mark: said once */
};

/* ------------------------------------------------------------ sockets */

struct firewall_nft *firewall_nft_open(void)
{
	struct firewall_nft *n = calloc(1, sizeof(*n));
	struct timeval tv = { .tv_sec = 5 };
	int one = 1, group = NFNLGRP_NFTABLES, err;

	if (!n)
		return NULL;
	n->rbuf = malloc(NFT_RECV_SIZE);
	n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!n->rbuf || !n->nl || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = (uint32_t)time(NULL);
	/* Error texts from the kernel, and only the header of a failed
	 * message; both optional (kernels before 4.12 have neither). */
	if (mnl_socket_setsockopt(n->nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
		log_debug("nftables: no extended ACKs (%s)", strerror(errno));
	/* A kernel that never answers must not hang the daemon. */
	if (setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		goto fail;

	n->ev = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!n->ev || mnl_socket_bind(n->ev, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(n->ev, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		log_warn("Cannot watch nftables changes (%s); checking on the timer only",
			 strerror(errno));
		if (n->ev)
			mnl_socket_close(n->ev);
		n->ev = NULL;
	}
	return n;
fail:
	err = errno ? errno : ENOMEM;
	firewall_nft_close(n);
	errno = err;
	return NULL;
}

void firewall_nft_close(struct firewall_nft *n)
{
	if (!n)
		return;
	if (n->nl)
		mnl_socket_close(n->nl);
	if (n->ev)
		mnl_socket_close(n->ev);
	free(n->rbuf);
	free(n);
}

int firewall_nft_event_fd(const struct firewall_nft *n)
{
	return n && n->ev ? mnl_socket_get_fd(n->ev) : -1;
}

bool firewall_nft_event_drain(struct firewall_nft *n)
{
	bool changed = false;
	ssize_t len;

	if (!n || !n->ev)
		return false;
	for (;;) {
		len = recv(mnl_socket_get_fd(n->ev), n->rbuf, NFT_RECV_SIZE, MSG_DONTWAIT);
		if (len > 0) {
			changed = true;
			continue;
		}
		/* ENOBUFS: events were lost, so something changed. */
		if (len < 0 && errno == ENOBUFS) {
			changed = true;
			continue;
		}
		if (len < 0 && errno == EINTR)
			continue;
		break;
	}
	return changed;
}

/* The kernel's text for a failed message, when it sent one. */
static const char *firewall_nft_ext_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);
	const struct nlattr *a;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return NULL;
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return NULL;
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			return mnl_attr_get_str(a);
	}
	return NULL;
}

/*
 * One request: a dump (ends with NLMSG_DONE) or a get with NLM_F_ACK (ends
 * with the ACK or an error). Messages of other sequence numbers are stale
 * answers to an earlier request that timed out; they are skipped.
 */
static int firewall_nft_talk(struct firewall_nft *n, struct nlmsghdr *req, mnl_cb_t cb,
			     void *data, bool *intr)
{
	const uint32_t seq = req->nlmsg_seq;
	int cb_err = 0;

	if (intr)
		*intr = false;
	if (mnl_socket_sendto(n->nl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(n->nl, n->rbuf, NFT_RECV_SIZE);
		const struct nlmsghdr *nlh;
		int left;

		if (len < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		left = (int)len;
		for (nlh = (const void *)n->rbuf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != n->portid)
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE)
				return cb_err;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
					return -EPROTO;
				return e->error ? e->error : cb_err;
			}
			if (intr && (nlh->nlmsg_flags & NLM_F_DUMP_INTR))
				*intr = true;
			if (cb && !cb_err && cb(nlh, data) < 0)
				cb_err = errno ? -errno : -EPROTO;
		}
	}
}

struct nft_gen_got {
	uint32_t id;
	bool set;
};

static int firewall_nft_gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nft_gen_got *got = data;
	struct nftnl_gen *g;

	if (nlh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN))
		return MNL_CB_OK;
	g = nftnl_gen_alloc();
	if (!g) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_gen_nlmsg_parse(nlh, g) < 0 || !nftnl_gen_is_set(g, NFTNL_GEN_ID)) {
		nftnl_gen_free(g);
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	got->id = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
	got->set = true;
	nftnl_gen_free(g);
	return MNL_CB_OK;
}

int firewall_nft_genid(struct firewall_nft *n, uint32_t *gen)
{
	_Alignas(8) char buf[NFT_REQ_SIZE] = { 0 };
	struct nft_gen_got got = { 0, false };
	struct nlmsghdr *nlh;
	int ret;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, ++n->seq);
	ret = firewall_nft_talk(n, nlh, firewall_nft_gen_cb, &got, NULL);
	if (ret < 0)
		return ret;
	if (!got.set)
		return -EPROTO;
	*gen = got.id;
	return 0;
}

int firewall_nft_exists(struct firewall_nft *n, int nfproto, const char *table,
			const char *chain)
{
	_Alignas(8) char buf[NFT_REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh;
	int ret;

	if (chain) {
		struct nftnl_chain *c = nftnl_chain_alloc();

		if (!c)
			return -ENOMEM;
		if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table) < 0 ||
		    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain) < 0) {
			nftnl_chain_free(c);
			return -ENOMEM;
		}
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, (uint16_t)nfproto,
					    NLM_F_ACK, ++n->seq);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		nftnl_chain_free(c);
	} else {
		struct nftnl_table *t = nftnl_table_alloc();

		if (!t)
			return -ENOMEM;
		if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, table) < 0) {
			nftnl_table_free(t);
			return -ENOMEM;
		}
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, (uint16_t)nfproto,
					    NLM_F_ACK, ++n->seq);
		nftnl_table_nlmsg_build_payload(nlh, t);
		nftnl_table_free(t);
	}
	ret = firewall_nft_talk(n, nlh, NULL, NULL, NULL);
	if (ret == -ENOENT)
		return 0;
	return ret < 0 ? ret : 1;
}

/* ------------------------------------------------------------ transactions */

struct nft_batch {
	char *buf;
	size_t len, cap;
	uint32_t begin_seq, seq;
	unsigned int acks;
};

static int nft_batch_room(struct nft_batch *b)
{
	size_t cap;
	char *p;

	if (b->cap - b->len >= NFT_BATCH_MSG_ROOM)
		return 0;
	cap = b->cap ? b->cap * 2 : 65536;
	if (cap > 16u << 20)
		return -E2BIG;
	p = realloc(b->buf, cap);
	if (!p)
		return -ENOMEM;
	/* libnftnl leaves attribute padding unwritten: send no stale bytes */
	memset(p + b->cap, 0, cap - b->cap);
	b->buf = p;
	b->cap = cap;
	return 0;
}

static int nft_batch_init(struct firewall_nft *n, struct nft_batch *b)
{
	struct nlmsghdr *nlh;
	int ret;

	memset(b, 0, sizeof(*b));
	ret = nft_batch_room(b);
	if (ret < 0)
		return ret;
	b->begin_seq = b->seq = ++n->seq;
	nlh = nftnl_batch_begin(b->buf, b->seq++);
	b->len = NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

/* Header of the next message, or NULL with the error in *err. */
static struct nlmsghdr *nft_batch_msg(struct nft_batch *b, uint16_t type, int nfproto,
				      uint16_t flags, int *err)
{
	*err = nft_batch_room(b);
	if (*err < 0)
		return NULL;
	b->acks++;
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, (uint16_t)nfproto,
				     flags | NLM_F_ACK, b->seq++);
}

static int nft_batch_done_msg(struct nft_batch *b, const struct nlmsghdr *nlh)
{
	/* mnl writes attributes without bounds: check after the fact that
	 * the message stayed inside the room nft_batch_room promised. */
	if (nlh->nlmsg_len > NFT_BATCH_MSG_ROOM)
		return -EMSGSIZE;
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

/* Send the batch and collect one answer per message. */
static int nft_batch_commit(struct firewall_nft *n, struct nft_batch *b, const char *what)
{
	struct nlmsghdr *end;
	unsigned int got = 0;
	int first = 0, ret;
	int fd = mnl_socket_get_fd(n->nl);

	ret = nft_batch_room(b);
	if (ret < 0)
		return ret;
	end = nftnl_batch_end(b->buf + b->len, b->seq);
	b->len += NLMSG_ALIGN(end->nlmsg_len);
	if (b->len > 204800) {
		int sz = (int)(b->len * 2);

		/* Large batches need a send buffer of their size; without
		 * CAP_NET_ADMIN the plain option (capped by rmem_max) must do,
		 * and sendto below reports it if even that is too small. */
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) < 0)
			log_debug("nftables: cannot grow the send buffer: %s", strerror(errno));
	}
	if (mnl_socket_sendto(n->nl, b->buf, b->len) < 0)
		return -errno;

	while (got < b->acks) {
		ssize_t len = mnl_socket_recvfrom(n->nl, n->rbuf, NFT_RECV_SIZE);
		const struct nlmsghdr *nlh;
		int left;

		if (len < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		left = (int)len;
		for (nlh = (const void *)n->rbuf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e;

			if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_pid != n->portid ||
			    nlh->nlmsg_seq < b->begin_seq || nlh->nlmsg_seq > b->seq)
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
				return -EPROTO;
			if (e->error && !first) {
				const char *msg = firewall_nft_ext_msg(nlh);

				first = e->error;
				log_warn("nftables refused %s (message type %u): %s%s%s", what,
					 e->msg.nlmsg_type & 0xff, strerror(-first),
					 msg ? ": " : "", msg ? msg : "");
			}
			/* Begin or end refused: no other answers come. */
			if (e->error && (nlh->nlmsg_seq == b->begin_seq || nlh->nlmsg_seq == b->seq))
				return first;
			got++;
		}
	}
	return first;
}

/* ------------------------------------------------------------ expressions */

static int nft_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static struct nftnl_expr *nft_meta(uint32_t key, uint16_t reg_attr, uint32_t reg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, reg_attr, reg);
	}
	return e;
}

static struct nftnl_expr *nft_cmp_eq(const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	if (nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

static struct nftnl_expr *nft_payload(uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	}
	return e;
}

static struct nftnl_expr *nft_bitwise(const void *mask, const void *xor, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	if (nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len) < 0 ||
	    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

static struct nftnl_expr *nft_imm_data(const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	if (nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len) < 0) {
		nftnl_expr_free(e);
		return NULL;
	}
	return e;
}

static struct nftnl_expr *nft_imm_verdict(uint32_t verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	}
	return e;
}

/* meta iifname/oifname == name (the whole 16 bytes: an exact match). */
static int nft_match_ifname(struct nftnl_rule *r, uint32_t key, const char *name)
{
	char ifname[IF_NAMESIZE] = { 0 };
	int ret;

	strncpy(ifname, name, sizeof(ifname) - 1);
	ret = nft_add(r, nft_meta(key, NFTNL_EXPR_META_DREG, NFT_REG_1));
	return ret ? ret : nft_add(r, nft_cmp_eq(ifname, sizeof(ifname)));
}

static int nft_match_u8(struct nftnl_rule *r, uint32_t key, uint8_t v)
{
	int ret = nft_add(r, nft_meta(key, NFTNL_EXPR_META_DREG, NFT_REG_1));

	return ret ? ret : nft_add(r, nft_cmp_eq(&v, 1));
}

/* ip/ip6 saddr or daddr inside p (nothing to match for a /0). */
static int nft_match_prefix(struct nftnl_rule *r, const struct prefix *p, bool dst)
{
	const bool v6 = p->family == AF_INET6;
	const uint32_t alen = v6 ? 16 : 4;
	const uint32_t off = v6 ? (dst ? 24 : 8) : (dst ? 16 : 12);
	uint8_t mask[16] = { 0 }, zero[16] = { 0 };
	unsigned int i;
	int ret;

	if (!p->len)
		return 0;
	ret = nft_add(r, nft_payload(NFT_PAYLOAD_NETWORK_HEADER, off, alen));
	if (ret)
		return ret;
	if (p->len < alen * 8) {
		for (i = 0; i < p->len; i++)
			mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		ret = nft_add(r, nft_bitwise(mask, zero, alen));
		if (ret)
			return ret;
	}
	return nft_add(r, nft_cmp_eq(p->addr.b, alen));
}

/* tcp flags & (syn | rst) == syn */
static int nft_match_syn(struct nftnl_rule *r)
{
	const uint8_t mask = 0x06, zero = 0, syn = 0x02;
	int ret;

	ret = nft_match_u8(r, NFT_META_L4PROTO, IPPROTO_TCP);
	if (!ret)
		ret = nft_add(r, nft_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1));
	if (!ret)
		ret = nft_add(r, nft_bitwise(&mask, &zero, 1));
	return ret ? ret : nft_add(r, nft_cmp_eq(&syn, 1));
}

/* reg 1 = the path MSS (rt mtu), in network order like the option. */
static int nft_rt_mss(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("rt");
	int ret;

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_RT_KEY, NFT_RT_TCPMSS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_RT_DREG, NFT_REG_1);
	}
	ret = nft_add(r, e);
	if (ret)
		return ret;
	/* rt hands out host order; without this the kernel would see a
	 * huge MSS and, as it never raises one, leave the option alone. */
	e = nftnl_expr_alloc("byteorder");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 2);
	}
	return nft_add(r, e);
}

/* tcp option maxseg size set <reg 1> (the kernel only ever lowers it) */
static int nft_set_mss(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("exthdr");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
		nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, NFT_TCPOPT_MAXSEG);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, 2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, 2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_SREG, NFT_REG_1);
	}
	return nft_add(r, e);
}

static struct nftnl_rule *nft_rule_new(int nfproto, const char *table, const char *chain,
				       const char *comment)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *ud;
	bool ok;

	if (!r)
		return NULL;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t)nfproto);
	ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	ok = ud && nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table) >= 0 &&
	     nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain) >= 0 &&
	     nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, comment) &&
	     nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
				 nftnl_udata_buf_len(ud)) >= 0;
	if (ud)
		nftnl_udata_buf_free(ud);
	if (!ok) {
		nftnl_rule_free(r);
		return NULL;
	}
	return r;
}

static int nft_batch_rule(struct nft_batch *b, struct nftnl_rule *r, uint16_t flags)
{
	struct nlmsghdr *nlh;
	int ret;

	nlh = nft_batch_msg(b, NFT_MSG_NEWRULE, (int)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
			    NLM_F_CREATE | flags, &ret);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		ret = nft_batch_done_msg(b, nlh);
	}
	nftnl_rule_free(r);
	return ret;
}

static uint8_t nft_nfproto(int family)
{
	return family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

/*
 * Every rule builder below adds its expressions with `if (!ret) ret = ...`
 * and ends here: the rule goes into the batch (which frees it) when all
 * went well, and is freed with the first error otherwise.
 */
static int nft_rule_end(struct nft_batch *b, struct nftnl_rule *r, int ret, uint16_t flags)
{
	if (ret) {
		nftnl_rule_free(r);
		return ret;
	}
	return nft_batch_rule(b, r, flags);
}

/*
 * What most of our rules start with: the family (nfproto 0: any), in from
 * the tunnel, and from src (may be NULL) to dst.
 */
static int nft_match_from_tun(struct nftnl_rule *r, const struct firewall_spec *s,
			      uint8_t nfproto, const struct prefix *src, const struct prefix *dst)
{
	int ret = nfproto ? nft_match_u8(r, NFT_META_NFPROTO, nfproto) : 0;

	if (!ret)
		ret = nft_match_ifname(r, NFT_META_IIFNAME, s->tun);
	if (!ret && src)
		ret = nft_match_prefix(r, src, false);
	if (!ret)
		ret = nft_match_prefix(r, dst, true);
	return ret;
}

/* nat: type, family, address from register 1 (to register 2 if max). */
static int nft_nat(struct nftnl_rule *r, uint32_t type, int family, bool max, uint32_t flags)
{
	struct nftnl_expr *e = nftnl_expr_alloc("nat");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, type);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, nft_nfproto(family));
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
		if (max)
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_2);
		if (flags)
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags);
	}
	return nft_add(r, e);
}

/* immediate: len bytes of data into register reg. */
static int nft_imm_reg(struct nftnl_rule *r, const void *data, uint32_t len, uint32_t reg)
{
	struct nftnl_expr *e = nft_imm_data(data, len);

	if (e)
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	return nft_add(r, e);
}

/* The same (src, dst) already seen among op[0..i): one mark/raw rule each. */
static bool nft_dup_srcdst(const struct firewall_opening *op, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (prefix_equal(&op[j].src, &op[i].src) && prefix_equal(&op[j].dst, &op[i].dst))
			return true;
	return false;
}

static void nft_counts(const struct firewall_spec *s, size_t cnt[NFT_NCHAINS])
{
	size_t i;

	cnt[NFT_CH_FORWARD] = (s->mtu ? 2 : 1) + 1;
	cnt[NFT_CH_POSTROUTING] = s->snat ? s->n : 0;
	cnt[NFT_CH_PREROUTING] = 0;
	for (i = 0; s->mark && i < s->n; i++)
		if (!nft_dup_srcdst(s->op, i))
			cnt[NFT_CH_PREROUTING]++;
	cnt[NFT_CH_DSTNAT] = s->n_remap;
}

static int nft_add_chain(struct nft_batch *b, const char *name, uint32_t hook, int32_t prio,
			 const char *type)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!c)
		return -ENOMEM;
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, FIREWALL_TABLE) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type) < 0)
		goto out;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = nft_batch_msg(b, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE, &ret);
	if (!nlh)
		goto out;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	ret = nft_batch_done_msg(b, nlh);
out:
	nftnl_chain_free(c);
	return ret;
}

static int nft_table_msg(struct nft_batch *b, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!t)
		return -ENOMEM;
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, FIREWALL_TABLE) < 0)
		goto out;
	nlh = nft_batch_msg(b, type, NFPROTO_INET,
			    type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, &ret);
	if (!nlh)
		goto out;
	nftnl_table_nlmsg_build_payload(nlh, t);
	ret = nft_batch_done_msg(b, nlh);
out:
	nftnl_table_free(t);
	return ret;
}

/* MSS clamp for SYNs in from the tunnel: fixed per family, or route MTU. */
static int nft_rules_forward(struct nft_batch *b, const struct firewall_spec *s)
{
	static const struct { uint8_t nfproto; unsigned int hdr; } fam[2] = {
		{ NFPROTO_IPV4, 40 }, { NFPROTO_IPV6, 60 },
	};
	struct nftnl_rule *r;
	int i, ret;

	for (i = 0; i < (s->mtu ? 2 : 1); i++) {
		r = nft_rule_new(NFPROTO_INET, FIREWALL_TABLE, "forward", s->comment);
		if (!r)
			return -ENOMEM;
		ret = s->mtu ? nft_match_u8(r, NFT_META_NFPROTO, fam[i].nfproto) : 0;
		if (!ret)
			ret = nft_match_ifname(r, NFT_META_IIFNAME, s->tun);
		if (!ret)
			ret = nft_match_syn(r);
		if (!ret && s->mtu) {
			uint16_t mss = htons((uint16_t)(s->mtu > fam[i].hdr + 536 ?
							s->mtu - fam[i].hdr : 536));

			ret = nft_add(r, nft_imm_data(&mss, sizeof(mss)));
		} else if (!ret) {
			ret = nft_rt_mss(r);
		}
		if (!ret)
			ret = nft_set_mss(r);
		ret = nft_rule_end(b, r, ret, NLM_F_APPEND);
		if (ret)
			return ret;
	}

	/* SYNs out to the tunnel: the route's MTU there is the tunnel's. */
	r = nft_rule_new(NFPROTO_INET, FIREWALL_TABLE, "forward", s->comment);
	if (!r)
		return -ENOMEM;
	ret = nft_match_ifname(r, NFT_META_OIFNAME, s->tun);
	if (!ret)
		ret = nft_match_syn(r);
	if (!ret)
		ret = nft_rt_mss(r);
	if (!ret)
		ret = nft_set_mss(r);
	return nft_rule_end(b, r, ret, NLM_F_APPEND);
}

static int nft_rule_snat(struct nft_batch *b, const struct firewall_spec *s,
			 const struct firewall_opening *o)
{
	struct nftnl_rule *r = nft_rule_new(NFPROTO_INET, FIREWALL_TABLE, "postrouting",
					    s->comment);
	int ret;

	if (!r)
		return -ENOMEM;
	ret = nft_match_from_tun(r, s, nft_nfproto(o->src.family), &o->src, &o->dst);
	if (!ret)
		ret = nft_match_ifname(r, NFT_META_OIFNAME, o->bridge);
	if (!ret)
		ret = nft_add(r, nft_imm_data(o->gw.addr.b,
					      (uint32_t)prefix_addr_len(o->gw.family)));
	if (!ret)
		ret = nft_nat(r, NFT_NAT_SNAT, o->gw.family, false, 0);
	return nft_rule_end(b, r, ret, NLM_F_APPEND);
}

/* meta mark set meta mark | MARK, for Docker 29's bridge-accept-fwmark. */
static int nft_rule_mark(struct nft_batch *b, const struct firewall_spec *s,
			 const struct firewall_opening *o)
{
	struct nftnl_rule *r = nft_rule_new(NFPROTO_INET, FIREWALL_TABLE, "prerouting",
					    s->comment);
	uint32_t mask = ~s->mark, xor = s->mark;
	int ret;

	if (!r)
		return -ENOMEM;
	ret = nft_match_from_tun(r, s, nft_nfproto(o->src.family), &o->src, &o->dst);
	if (!ret)
		ret = nft_add(r, nft_meta(NFT_META_MARK, NFTNL_EXPR_META_DREG, NFT_REG_1));
	/* (mark & ~M) ^ M == mark | M; the mark register is host order. */
	if (!ret)
		ret = nft_add(r, nft_bitwise(&mask, &xor, sizeof(mask)));
	if (!ret)
		ret = nft_add(r, nft_meta(NFT_META_MARK, NFTNL_EXPR_META_SREG, NFT_REG_1));
	return nft_rule_end(b, r, ret, NLM_F_APPEND);
}

/* iifname TUN ip daddr HOST dnat ip prefix to GUEST (NF_NAT_RANGE_NETMAP). */
static int nft_rule_remap(struct nft_batch *b, const struct firewall_spec *s,
			  const struct firewall_remap *m)
{
	struct nftnl_rule *r = nft_rule_new(NFPROTO_INET, FIREWALL_TABLE, "dstnat", s->comment);
	size_t alen = prefix_addr_len(m->guest.family);
	uint8_t last[16];
	int ret;

	if (!r)
		return -ENOMEM;
	/* The guest prefix's last address: the upper end of the netmap range. */
	memcpy(last, m->guest.addr.b, alen);
	for (size_t bit = m->guest.len; bit < alen * 8; bit++)
		last[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	ret = nft_match_from_tun(r, s, nft_nfproto(m->guest.family), NULL, &m->host);
	if (!ret)
		ret = nft_imm_reg(r, m->guest.addr.b, (uint32_t)alen, NFT_REG_1);
	if (!ret)
		ret = nft_imm_reg(r, last, (uint32_t)alen, NFT_REG_2);
	if (!ret)
		ret = nft_nat(r, NFT_NAT_DNAT, m->guest.family, true, NF_NAT_RANGE_NETMAP);
	return nft_rule_end(b, r, ret, NLM_F_APPEND);
}

int firewall_nft_install(struct firewall_nft *n, const struct firewall_spec *s,
			 size_t *rules)
{
	struct nft_batch b;
	size_t cnt[NFT_NCHAINS], i;
	int ret;

	*rules = 0;
	nft_counts(s, cnt);
	ret = nft_batch_init(n, &b);
	if (ret < 0)
		return ret;
	/* add + delete + add: replaces whatever is there, in one commit. */
	ret = nft_table_msg(&b, NFT_MSG_NEWTABLE);
	if (!ret)
		ret = nft_table_msg(&b, NFT_MSG_DELTABLE);
	if (!ret)
		ret = nft_table_msg(&b, NFT_MSG_NEWTABLE);
	if (!ret)
		ret = nft_add_chain(&b, "forward", NF_INET_FORWARD, -150, "filter");
	if (!ret && cnt[NFT_CH_POSTROUTING])
		ret = nft_add_chain(&b, "postrouting", NF_INET_POST_ROUTING, 100, "nat");
	if (!ret && cnt[NFT_CH_PREROUTING])
		ret = nft_add_chain(&b, "prerouting", NF_INET_PRE_ROUTING,
				    FIREWALL_PRIO_MARK, "filter");
	if (!ret && cnt[NFT_CH_DSTNAT])
		ret = nft_add_chain(&b, "dstnat", NF_INET_PRE_ROUTING, -100, "nat");
	if (!ret)
		ret = nft_rules_forward(&b, s);
	for (i = 0; !ret && i < s->n_remap; i++)
		ret = nft_rule_remap(&b, s, &s->remap[i]);
	for (i = 0; !ret && cnt[NFT_CH_POSTROUTING] && i < s->n; i++)
		ret = nft_rule_snat(&b, s, &s->op[i]);
	for (i = 0; !ret && cnt[NFT_CH_PREROUTING] && i < s->n; i++)
		if (!nft_dup_srcdst(s->op, i))
			ret = nft_rule_mark(&b, s, &s->op[i]);
	if (!ret)
		ret = nft_batch_commit(n, &b, "the gangway table");
	free(b.buf);
	if (!ret)
		*rules = cnt[0] + cnt[1] + cnt[2] + cnt[3];
	return ret;
}

int firewall_nft_delete(struct firewall_nft *n)
{
	struct nft_batch b;
	int ret;

	ret = firewall_nft_exists(n, NFPROTO_INET, FIREWALL_TABLE, NULL);
	if (ret <= 0)
		return ret;
	ret = nft_batch_init(n, &b);
	if (ret < 0)
		return ret;
	ret = nft_table_msg(&b, NFT_MSG_DELTABLE);
	if (!ret)
		ret = nft_batch_commit(n, &b, "deleting the gangway table");
	free(b.buf);
	/* Gone in between (someone else deleted it): just as good. */
	return ret == -ENOENT ? 0 : ret;
}

/* ------------------------------------------------------------ rule dumps */

struct nft_found {
	uint64_t handle;
	unsigned int pos;		/* 0-based within its chain */
	bool ours;
	bool drop;			/* an immediate drop verdict */
	char chain[64];
};

struct nft_dump {
	const char *comment;
	struct nft_found *v;
	size_t n, cap;
	char last_chain[64];
	unsigned int pos;
};

static int nft_udata_cb(const struct nftnl_udata *attr, void *data)
{
	const char **comment = data;
	const char *v = (const char *)nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && len && !v[len - 1])
		*comment = v;
	return MNL_CB_OK;
}

static int nft_drop_cb(struct nftnl_expr *e, void *data)
{
	bool *drop = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (name && !strcmp(name, "immediate") && nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT) &&
	    (int32_t)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT) == NF_DROP)
		*drop = true;
	return MNL_CB_OK;
}

static int nft_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nft_dump *d = data;
	struct nftnl_rule *r;
	struct nft_found f;
	const char *chain, *comment = NULL;
	const void *ud;
	uint32_t udlen = 0;

	if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWRULE)
		return MNL_CB_OK;
	r = nftnl_rule_alloc();
	if (!r) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 || !nftnl_rule_is_set(r, NFTNL_RULE_CHAIN) ||
	    !nftnl_rule_is_set(r, NFTNL_RULE_HANDLE)) {
		nftnl_rule_free(r);
		errno = EPROTO;
		return MNL_CB_ERROR;
	}
	memset(&f, 0, sizeof(f));
	chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	snprintf(f.chain, sizeof(f.chain), "%s", chain);
	if (strcmp(f.chain, d->last_chain) != 0) {
		snprintf(d->last_chain, sizeof(d->last_chain), "%s", f.chain);
		d->pos = 0;
	}
	f.pos = d->pos++;
	f.handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
	if (ud && udlen)
		nftnl_udata_parse(ud, udlen, nft_udata_cb, &comment);
	f.ours = comment && !strcmp(comment, d->comment);
	nftnl_expr_foreach(r, nft_drop_cb, &f.drop);
	nftnl_rule_free(r);

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		struct nft_found *p;

		if (cap > 1u << 20) {
			errno = E2BIG;
			return MNL_CB_ERROR;
		}
		p = realloc(d->v, cap * sizeof(*p));
		if (!p) {
			errno = ENOMEM;
			return MNL_CB_ERROR;
		}
		d->v = p;
		d->cap = cap;
	}
	d->v[d->n++] = f;
	return MNL_CB_OK;
}

/* Every rule of table (and chain, unless NULL), in order; retried when the
 * ruleset changed during the dump. */
static int nft_dump_rules(struct firewall_nft *n, int nfproto, const char *table,
			  const char *chain, const char *comment, struct nft_dump *d)
{
	_Alignas(8) char buf[NFT_REQ_SIZE] = { 0 };
	int tries, ret = -EINTR;

	for (tries = 0; tries < 5; tries++) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		struct nlmsghdr *nlh;
		bool intr;

		free(d->v);
		memset(d, 0, sizeof(*d));
		d->comment = comment;
		if (!r)
			return -ENOMEM;
		if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table) < 0 ||
		    (chain && nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain) < 0)) {
			nftnl_rule_free(r);
			return -ENOMEM;
		}
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, (uint16_t)nfproto,
					    NLM_F_DUMP, ++n->seq);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nftnl_rule_free(r);
		ret = firewall_nft_talk(n, nlh, nft_dump_cb, d, &intr);
		if (ret < 0 || !intr)
			return ret;
		ret = -EINTR;
	}
	return ret;
}

int firewall_nft_verify(struct firewall_nft *n, const struct firewall_spec *s)
{
	size_t want[NFT_NCHAINS], have[NFT_NCHAINS] = { 0 }, i;
	struct nft_dump d = { 0 };
	int ret, c;

	ret = firewall_nft_exists(n, NFPROTO_INET, FIREWALL_TABLE, NULL);
	if (ret <= 0)
		return ret < 0 ? ret : 1;
	ret = nft_dump_rules(n, NFPROTO_INET, FIREWALL_TABLE, NULL, s->comment, &d);
	if (ret < 0)
		goto out;
	nft_counts(s, want);
	ret = 0;
	for (i = 0; i < d.n; i++) {
		for (c = 0; c < NFT_NCHAINS; c++)
			if (!strcmp(d.v[i].chain, nft_chain_name[c]))
				break;
		if (c == NFT_NCHAINS || !d.v[i].ours) {
			ret = 1;	/* not a rule we wrote */
			goto out;
		}
		have[c]++;
	}
	for (c = 0; c < NFT_NCHAINS; c++)
		if (have[c] != want[c])
			ret = 1;
out:
	free(d.v);
	return ret;
}

/* ------------------------------------------------------------ Docker 29 */

static int nft_rule_docker_accept(struct nft_batch *b, int nfproto,
				  const struct firewall_spec *s,
				  const struct firewall_opening *o)
{
	struct nftnl_rule *r = nft_rule_new(nfproto, NFT_DOCKER_TABLE, NFT_DOCKER_RAW,
					    s->comment);
	int ret;

	if (!r)
		return -ENOMEM;
	ret = nft_match_from_tun(r, s, 0, &o->src, &o->dst);
	if (!ret)
		ret = nft_add(r, nft_imm_verdict(NF_ACCEPT));
	/* No NLM_F_APPEND: the rule goes in front of the chain. */
	return nft_rule_end(b, r, ret, 0);
}

static int nft_batch_delrule(struct nft_batch *b, int nfproto, const char *table,
			     const char *chain, uint64_t handle)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!r)
		return -ENOMEM;
	if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain) < 0)
		goto out;
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	nlh = nft_batch_msg(b, NFT_MSG_DELRULE, nfproto, 0, &ret);
	if (!nlh)
		goto out;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	ret = nft_batch_done_msg(b, nlh);
out:
	nftnl_rule_free(r);
	return ret;
}

/*
 * Docker 29: our accepts at the top of raw-PREROUTING in Docker's tables.
 * Verifies (count and position) and repairs; force rewrites them (the view
 * changed). *restored counts rules put back. 0 or -errno.
 */
static int firewall_nft_docker_sync(struct firewall_nft *n, const struct firewall_spec *s,
				    bool force, size_t *restored)
{
	static const int fams[2][2] = {
		{ NFPROTO_IPV4, AF_INET }, { NFPROTO_IPV6, AF_INET6 },
	};
	int f, ret = 0;

	*restored = 0;
	for (f = 0; f < 2 && !ret; f++) {
		const int nfproto = fams[f][0], family = fams[f][1];
		struct nft_dump d = { 0 };
		struct nft_batch b;
		size_t want = 0, ours = 0, i, k;
		bool ok = true;

		ret = firewall_nft_exists(n, nfproto, NFT_DOCKER_TABLE, NFT_DOCKER_RAW);
		if (ret <= 0)
			continue;
		for (i = 0; s->mark && i < s->n; i++)
			if (s->op[i].src.family == family && !nft_dup_srcdst(s->op, i))
				want++;
		ret = nft_dump_rules(n, nfproto, NFT_DOCKER_TABLE, NFT_DOCKER_RAW,
				     s->comment, &d);
		if (ret < 0) {
			free(d.v);
			break;
		}
		for (i = 0; i < d.n; i++) {
			if (!d.v[i].ours)
				continue;
			if (d.v[i].pos != ours)
				ok = false;	/* behind one of Docker's */
			ours++;
		}
		if (ours == want && ok && !force) {
			free(d.v);
			continue;
		}
		ret = nft_batch_init(n, &b);
		for (i = 0; !ret && i < d.n; i++)
			if (d.v[i].ours)
				ret = nft_batch_delrule(&b, nfproto, NFT_DOCKER_TABLE,
							NFT_DOCKER_RAW, d.v[i].handle);
		/* Each insert goes to the front: add them last to first. */
		for (k = s->n; !ret && s->mark && k-- > 0;)
			if (s->op[k].src.family == family && !nft_dup_srcdst(s->op, k))
				ret = nft_rule_docker_accept(&b, nfproto, s, &s->op[k]);
		if (!ret)
			ret = nft_batch_commit(n, &b, "our rules in Docker's raw-PREROUTING");
		free(b.buf);
		free(d.v);
		if (!ret)
			*restored += want;
	}
	return ret;
}

/* Delete every rule carrying comment from Docker 29's tables. */
static int firewall_nft_docker_purge(struct firewall_nft *n, const char *comment)
{
	static const int fams[2] = { NFPROTO_IPV4, NFPROTO_IPV6 };
	int f, ret = 0;

	for (f = 0; f < 2 && !ret; f++) {
		struct nft_dump d = { 0 };
		struct nft_batch b;
		size_t i, k = 0;

		ret = firewall_nft_exists(n, fams[f], NFT_DOCKER_TABLE, NULL);
		if (ret <= 0)
			continue;
		ret = nft_dump_rules(n, fams[f], NFT_DOCKER_TABLE, NULL, comment, &d);
		for (i = 0; !ret && i < d.n; i++)
			k += d.v[i].ours;
		if (ret || !k) {
			free(d.v);
			continue;
		}
		ret = nft_batch_init(n, &b);
		for (i = 0; !ret && i < d.n; i++)
			if (d.v[i].ours)
				ret = nft_batch_delrule(&b, fams[f], NFT_DOCKER_TABLE,
							d.v[i].chain, d.v[i].handle);
		if (!ret)
			ret = nft_batch_commit(n, &b, "removing our rules from Docker's table");
		free(b.buf);
		free(d.v);
	}
	return ret;
}

/* ------------------------------------------------------------ the backend */

static int firewall_nft_docker_detect(struct firewall_backends *b)
{
	/* Docker 29's own tables exist only with its nftables backend. */
	return firewall_nft_exists(b->nft, NFPROTO_IPV4, NFT_DOCKER_TABLE, NULL) == 1 ||
	       firewall_nft_exists(b->nft, NFPROTO_IPV6, NFT_DOCKER_TABLE, NULL) == 1;
}

static int firewall_nft_docker_usable(struct firewall_backends *b)
{
	return 0;
}

static int firewall_nft_docker_ops_sync(struct firewall_backends *b, const struct firewall_spec *s,
					bool force, size_t *written)
{
	if (!s->mark && s->n && !b->nft->warned_mark) {
		log_warn("Docker uses its nftables backend: set a firewall mark here and "
			 "the same --bridge-accept-fwmark in dockerd; until then nothing "
			 "is opened");
		b->nft->warned_mark = true;
	}
	return firewall_nft_docker_sync(b->nft, s, force, written);
}

static int firewall_nft_docker_ops_purge(struct firewall_backends *b, const char *comment,
					 size_t *removed)
{
	*removed = 0;	/* the count is of iptables rules */
	return firewall_nft_docker_purge(b->nft, comment);
}

void firewall_nft_inspect_chain(const struct firewall_nft_rule *v, size_t n,
				struct firewall_inspect *r)
{
	size_t i;

	r->nft_accept_pos = r->nft_drop_pos = 0;
	for (i = 0; i < n && !r->nft_accept_pos; i++) {
		if (v[i].ours)
			r->nft_accept_pos = v[i].pos;
		else if (v[i].drop && !r->nft_drop_pos)
			r->nft_drop_pos = v[i].pos;
	}
}

/*
 * Our table, and our accept's place in Docker's IPv4 raw-PREROUTING: the
 * chain where Docker drops direct access to the containers, and where a
 * drop ahead of our accept is final.
 */
static int firewall_nft_docker_inspect(struct firewall_backends *b, const char *tun,
				       struct firewall_inspect *r)
{
	char comment[FIREWALL_COMMENT_LEN];
	struct firewall_nft_rule *v = NULL;
	struct nft_dump d = { 0 };
	size_t i;
	int ret;

	ret = firewall_comment(tun, comment, sizeof(comment));
	if (ret < 0)
		return ret;
	ret = firewall_nft_exists(b->nft, NFPROTO_INET, FIREWALL_TABLE, NULL);
	if (ret < 0)
		return ret;
	r->nft_table = ret == 1;
	r->nft_accept_pos = r->nft_drop_pos = 0;
	ret = firewall_nft_exists(b->nft, NFPROTO_IPV4, NFT_DOCKER_TABLE, NFT_DOCKER_RAW);
	if (ret <= 0)
		return ret;
	ret = nft_dump_rules(b->nft, NFPROTO_IPV4, NFT_DOCKER_TABLE, NFT_DOCKER_RAW, comment, &d);
	if (ret < 0)
		goto out;
	v = calloc(d.n ? d.n : 1, sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < d.n; i++) {
		v[i].pos = d.v[i].pos + 1;
		v[i].ours = d.v[i].ours;
		v[i].drop = d.v[i].drop;
	}
	firewall_nft_inspect_chain(v, d.n, r);
	ret = 0;
out:
	free(v);
	free(d.v);
	return ret;
}

const struct firewall_ops firewall_nft_docker_ops = {
	.mech = FIREWALL_NFTABLES,
	.detect = firewall_nft_docker_detect,
	.usable = firewall_nft_docker_usable,
	.sync = firewall_nft_docker_ops_sync,
	.purge = firewall_nft_docker_ops_purge,
	.inspect = firewall_nft_docker_inspect,
};
