/* firewall_nft_linux.c - nftables over netlink: requests, transactions, rule building, dumps */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netfilter.h>
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
 * This file is how the firewall talks to nftables; what it says is not
 * decided here. firewall_nft_table_linux.c writes and checks our own table
 * inet gangway, firewall_nft_docker_linux.c keeps our accepts in Docker
 * 29's raw-PREROUTING and is the nftables backend; both build their rules
 * and transactions with the functions below and read rules back through
 * firewall_nft_dump_rules.
 *
 * Sockets. One socket for requests and transactions, with a receive
 * timeout so that a kernel that never answers cannot hang the daemon;
 * another, non-blocking, joined to NFNLGRP_NFTABLES, tells the checks
 * that something changed (firewall_nft_event_drain). firewall_nft_genid
 * reads the ruleset generation (NFT_MSG_GETGEN), which the checks compare
 * first so that they dump rules only when it moved. Answers to an earlier
 * request that timed out carry an old sequence number and are skipped.
 *
 * Transactions. A batch is one buffer of messages between a begin and an
 * end, which the kernel applies whole or not at all. Every message asks
 * for an ACK; the kernel answers each one, and with NETLINK_EXT_ACK
 * explains a failure, which is logged with the first refused message.
 * libmnl writes attributes without bounds, so each message is checked
 * after the fact to have stayed inside the room reserved for it.
 *
 * Rules. A rule is built from expressions (firewall_nft_match_*, _meta,
 * _imm_*, _nat, ...) that each add to it and return 0 or -errno; a builder
 * chains them with `if (!ret) ret = ...` and ends with
 * firewall_nft_rule_end, which puts the rule into the batch or frees it on
 * the first error. Every rule carries our comment in its user data.
 *
 * Dumps. firewall_nft_dump_rules lists a table's (or a chain's) rules in
 * order with their handle, position, whether the comment is ours and
 * whether the verdict is a drop; a dump the kernel marks as interrupted
 * is retried.
 */

#define NFT_RECV_SIZE	65536
#define NFT_BATCH_MSG_ROOM	4096	/* room left for one batch message */
#define NFT_REQ_SIZE	1024		/* one get or dump request */
#define NFT_TCPOPT_MAXSEG 2

struct firewall_nft {
	struct mnl_socket *nl;		/* requests and transactions */
	struct mnl_socket *ev;		/* NFNLGRP_NFTABLES, or NULL */
	uint32_t portid;
	uint32_t seq;
	char *rbuf;
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

struct firewall_nft_gen_got {
	uint32_t id;
	bool set;
};

static int firewall_nft_gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct firewall_nft_gen_got *got = data;
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
	struct firewall_nft_gen_got got = { 0, false };
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

static int firewall_nft_batch_room(struct firewall_nft_batch *b)
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

int firewall_nft_batch_init(struct firewall_nft *n, struct firewall_nft_batch *b)
{
	struct nlmsghdr *nlh;
	int ret;

	memset(b, 0, sizeof(*b));
	ret = firewall_nft_batch_room(b);
	if (ret < 0)
		return ret;
	b->begin_seq = b->seq = ++n->seq;
	nlh = nftnl_batch_begin(b->buf, b->seq++);
	b->len = NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

/* Header of the next message, or NULL with the error in *err. */
struct nlmsghdr *firewall_nft_batch_msg(struct firewall_nft_batch *b, uint16_t type, int nfproto,
					uint16_t flags, int *err)
{
	*err = firewall_nft_batch_room(b);
	if (*err < 0)
		return NULL;
	b->acks++;
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, (uint16_t)nfproto,
				     flags | NLM_F_ACK, b->seq++);
}

int firewall_nft_batch_done(struct firewall_nft_batch *b, const struct nlmsghdr *nlh)
{
	/* mnl writes attributes without bounds: check after the fact that
	 * the message stayed inside the room firewall_nft_batch_room promised. */
	if (nlh->nlmsg_len > NFT_BATCH_MSG_ROOM)
		return -EMSGSIZE;
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

/* Send the batch and collect one answer per message. */
int firewall_nft_batch_commit(struct firewall_nft *n, struct firewall_nft_batch *b,
			      const char *what)
{
	struct nlmsghdr *end;
	unsigned int got = 0;
	int first = 0, ret;
	int fd = mnl_socket_get_fd(n->nl);

	ret = firewall_nft_batch_room(b);
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

int firewall_nft_batch_delrule(struct firewall_nft_batch *b, int nfproto, const char *table,
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
	nlh = firewall_nft_batch_msg(b, NFT_MSG_DELRULE, nfproto, 0, &ret);
	if (!nlh)
		goto out;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	ret = firewall_nft_batch_done(b, nlh);
out:
	nftnl_rule_free(r);
	return ret;
}

/* ------------------------------------------------------------ expressions */

int firewall_nft_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

struct nftnl_expr *firewall_nft_meta(uint32_t key, uint16_t reg_attr, uint32_t reg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, reg_attr, reg);
	}
	return e;
}

static struct nftnl_expr *firewall_nft_cmp_eq(const void *data, uint32_t len)
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

static struct nftnl_expr *firewall_nft_payload(uint32_t base, uint32_t off, uint32_t len)
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

struct nftnl_expr *firewall_nft_bitwise(const void *mask, const void *xor, uint32_t len)
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

struct nftnl_expr *firewall_nft_imm_data(const void *data, uint32_t len)
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

struct nftnl_expr *firewall_nft_imm_verdict(uint32_t verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	}
	return e;
}

/* meta iifname/oifname == name (the whole 16 bytes: an exact match). */
int firewall_nft_match_ifname(struct nftnl_rule *r, uint32_t key, const char *name)
{
	char ifname[IF_NAMESIZE] = { 0 };
	int ret;

	strncpy(ifname, name, sizeof(ifname) - 1);
	ret = firewall_nft_add(r, firewall_nft_meta(key, NFTNL_EXPR_META_DREG, NFT_REG_1));
	return ret ? ret : firewall_nft_add(r, firewall_nft_cmp_eq(ifname, sizeof(ifname)));
}

int firewall_nft_match_u8(struct nftnl_rule *r, uint32_t key, uint8_t v)
{
	int ret = firewall_nft_add(r, firewall_nft_meta(key, NFTNL_EXPR_META_DREG, NFT_REG_1));

	return ret ? ret : firewall_nft_add(r, firewall_nft_cmp_eq(&v, 1));
}

/* ip/ip6 saddr or daddr inside p (nothing to match for a /0). */
static int firewall_nft_match_prefix(struct nftnl_rule *r, const struct prefix *p, bool dst)
{
	const bool v6 = p->family == AF_INET6;
	const uint32_t alen = v6 ? 16 : 4;
	const uint32_t off = v6 ? (dst ? 24 : 8) : (dst ? 16 : 12);
	uint8_t mask[16] = { 0 }, zero[16] = { 0 };
	unsigned int i;
	int ret;

	if (!p->len)
		return 0;
	ret = firewall_nft_add(r, firewall_nft_payload(NFT_PAYLOAD_NETWORK_HEADER, off, alen));
	if (ret)
		return ret;
	if (p->len < alen * 8) {
		for (i = 0; i < p->len; i++)
			mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		ret = firewall_nft_add(r, firewall_nft_bitwise(mask, zero, alen));
		if (ret)
			return ret;
	}
	return firewall_nft_add(r, firewall_nft_cmp_eq(p->addr.b, alen));
}

/* tcp flags & (syn | rst) == syn */
int firewall_nft_match_syn(struct nftnl_rule *r)
{
	const uint8_t mask = 0x06, zero = 0, syn = 0x02;
	int ret;

	ret = firewall_nft_match_u8(r, NFT_META_L4PROTO, IPPROTO_TCP);
	if (!ret)
		ret = firewall_nft_add(r, firewall_nft_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1));
	if (!ret)
		ret = firewall_nft_add(r, firewall_nft_bitwise(&mask, &zero, 1));
	return ret ? ret : firewall_nft_add(r, firewall_nft_cmp_eq(&syn, 1));
}

/* reg 1 = the path MSS (rt mtu), in network order like the option. */
int firewall_nft_rt_mss(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("rt");
	int ret;

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_RT_KEY, NFT_RT_TCPMSS);
		nftnl_expr_set_u32(e, NFTNL_EXPR_RT_DREG, NFT_REG_1);
	}
	ret = firewall_nft_add(r, e);
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
	return firewall_nft_add(r, e);
}

/* tcp option maxseg size set <reg 1> (the kernel only ever lowers it) */
int firewall_nft_set_mss(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("exthdr");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
		nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, NFT_TCPOPT_MAXSEG);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, 2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, 2);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_SREG, NFT_REG_1);
	}
	return firewall_nft_add(r, e);
}

struct nftnl_rule *firewall_nft_rule_new(int nfproto, const char *table, const char *chain,
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

static int firewall_nft_batch_rule(struct firewall_nft_batch *b, struct nftnl_rule *r,
				   uint16_t flags)
{
	struct nlmsghdr *nlh;
	int ret;

	nlh = firewall_nft_batch_msg(b, NFT_MSG_NEWRULE, (int)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
				     NLM_F_CREATE | flags, &ret);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		ret = firewall_nft_batch_done(b, nlh);
	}
	nftnl_rule_free(r);
	return ret;
}

uint8_t firewall_nft_nfproto(int family)
{
	return family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

/*
 * Every rule builder below adds its expressions with `if (!ret) ret = ...`
 * and ends here: the rule goes into the batch (which frees it) when all
 * went well, and is freed with the first error otherwise.
 */
int firewall_nft_rule_end(struct firewall_nft_batch *b, struct nftnl_rule *r, int ret,
			  uint16_t flags)
{
	if (ret) {
		nftnl_rule_free(r);
		return ret;
	}
	return firewall_nft_batch_rule(b, r, flags);
}

/*
 * What most of our rules start with: the family (nfproto 0: any), in from
 * the tunnel, and from src (may be NULL) to dst.
 */
int firewall_nft_match_from_tun(struct nftnl_rule *r, const struct firewall_spec *s,
				uint8_t nfproto, const struct prefix *src, const struct prefix *dst)
{
	int ret = nfproto ? firewall_nft_match_u8(r, NFT_META_NFPROTO, nfproto) : 0;

	if (!ret)
		ret = firewall_nft_match_ifname(r, NFT_META_IIFNAME, s->tun);
	if (!ret && src)
		ret = firewall_nft_match_prefix(r, src, false);
	if (!ret)
		ret = firewall_nft_match_prefix(r, dst, true);
	return ret;
}

/* nat: type, family, address from register 1 (to register 2 if max). */
int firewall_nft_nat(struct nftnl_rule *r, uint32_t type, int family, bool max, uint32_t flags)
{
	struct nftnl_expr *e = nftnl_expr_alloc("nat");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, type);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, firewall_nft_nfproto(family));
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
		if (max)
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, NFT_REG_2);
		if (flags)
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags);
	}
	return firewall_nft_add(r, e);
}

/* immediate: len bytes of data into register reg. */
int firewall_nft_imm_reg(struct nftnl_rule *r, const void *data, uint32_t len, uint32_t reg)
{
	struct nftnl_expr *e = firewall_nft_imm_data(data, len);

	if (e)
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
	return firewall_nft_add(r, e);
}

/* The same (src, dst) already seen among op[0..i): one mark/raw rule each. */
bool firewall_nft_dup_srcdst(const struct firewall_opening *op, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (prefix_equal(&op[j].src, &op[i].src) && prefix_equal(&op[j].dst, &op[i].dst))
			return true;
	return false;
}

/* ------------------------------------------------------------ rule dumps */

static int firewall_nft_udata_cb(const struct nftnl_udata *attr, void *data)
{
	const char **comment = data;
	const char *v = (const char *)nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && len && !v[len - 1])
		*comment = v;
	return MNL_CB_OK;
}

static int firewall_nft_drop_cb(struct nftnl_expr *e, void *data)
{
	bool *drop = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (name && !strcmp(name, "immediate") && nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT) &&
	    (int32_t)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT) == NF_DROP)
		*drop = true;
	return MNL_CB_OK;
}

static int firewall_nft_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct firewall_nft_dump *d = data;
	struct nftnl_rule *r;
	struct firewall_nft_found f;
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
		nftnl_udata_parse(ud, udlen, firewall_nft_udata_cb, &comment);
	f.ours = comment && !strcmp(comment, d->comment);
	nftnl_expr_foreach(r, firewall_nft_drop_cb, &f.drop);
	nftnl_rule_free(r);

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		struct firewall_nft_found *p;

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
int firewall_nft_dump_rules(struct firewall_nft *n, int nfproto, const char *table,
			    const char *chain, const char *comment, struct firewall_nft_dump *d)
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
		ret = firewall_nft_talk(n, nlh, firewall_nft_dump_cb, d, &intr);
		if (ret < 0 || !intr)
			return ret;
		ret = -EINTR;
	}
	return ret;
}
