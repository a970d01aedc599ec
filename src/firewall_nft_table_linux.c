/* firewall_nft_table_linux.c - our own nftables table, inet gangway */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/table.h>

#include "firewall_int.h"

/*
 * Theory of operation
 *
 * Our own table, inet gangway, holds what never depends on Docker, for
 * every engine:
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
 * again, so a reinstall replaces it atomically and never duplicates. A
 * check (firewall_nft_table_verify) counts the rules of each chain and
 * that all of them are ours; a changed view always rewrites everything,
 * so contents need no comparison. How messages are built and sent is
 * firewall_nft_linux.c's.
 */

enum { NFT_CH_FORWARD, NFT_CH_POSTROUTING, NFT_CH_PREROUTING, NFT_CH_DSTNAT, NFT_NCHAINS };
static const char *const firewall_nft_table_chains[NFT_NCHAINS] = {
	"forward", "postrouting", "prerouting", "dstnat",
};

static void firewall_nft_table_counts(const struct firewall_spec *s, size_t cnt[NFT_NCHAINS])
{
	size_t i;

	cnt[NFT_CH_FORWARD] = (s->mtu ? 2 : 1) + 1;
	cnt[NFT_CH_POSTROUTING] = s->snat ? s->n : 0;
	cnt[NFT_CH_PREROUTING] = 0;
	for (i = 0; s->mark && i < s->n; i++)
		if (!firewall_nft_dup_srcdst(s->op, i))
			cnt[NFT_CH_PREROUTING]++;
	cnt[NFT_CH_DSTNAT] = s->n_remap;
}

static int firewall_nft_table_chain(struct firewall_nft_batch *b, const char *name,
				    uint32_t hook, int32_t prio, const char *type)
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
	nlh = firewall_nft_batch_msg(b, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE, &ret);
	if (!nlh)
		goto out;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	ret = firewall_nft_batch_done(b, nlh);
out:
	nftnl_chain_free(c);
	return ret;
}

static int firewall_nft_table_msg(struct firewall_nft_batch *b, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	if (!t)
		return -ENOMEM;
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, FIREWALL_TABLE) < 0)
		goto out;
	nlh = firewall_nft_batch_msg(b, type, NFPROTO_INET,
				     type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, &ret);
	if (!nlh)
		goto out;
	nftnl_table_nlmsg_build_payload(nlh, t);
	ret = firewall_nft_batch_done(b, nlh);
out:
	nftnl_table_free(t);
	return ret;
}

/* MSS clamp for SYNs in from the tunnel: fixed per family, or route MTU. */
static int firewall_nft_table_forward(struct firewall_nft_batch *b, const struct firewall_spec *s)
{
	static const struct { uint8_t nfproto; unsigned int hdr; } fam[2] = {
		{ NFPROTO_IPV4, 40 }, { NFPROTO_IPV6, 60 },
	};
	struct nftnl_rule *r;
	int i, ret;

	for (i = 0; i < (s->mtu ? 2 : 1); i++) {
		r = firewall_nft_rule_new(NFPROTO_INET, FIREWALL_TABLE, "forward", s->comment);
		if (!r)
			return -ENOMEM;
		ret = s->mtu ? firewall_nft_match_u8(r, NFT_META_NFPROTO, fam[i].nfproto) : 0;
		if (!ret)
			ret = firewall_nft_match_ifname(r, NFT_META_IIFNAME, s->tun);
		if (!ret)
			ret = firewall_nft_match_syn(r);
		if (!ret && s->mtu) {
			uint16_t mss = htons((uint16_t)(s->mtu > fam[i].hdr + 536 ?
							s->mtu - fam[i].hdr : 536));

			ret = firewall_nft_add(r, firewall_nft_imm_data(&mss, sizeof(mss)));
		} else if (!ret) {
			ret = firewall_nft_rt_mss(r);
		}
		if (!ret)
			ret = firewall_nft_set_mss(r);
		ret = firewall_nft_rule_end(b, r, ret, NLM_F_APPEND);
		if (ret)
			return ret;
	}

	/* SYNs out to the tunnel: the route's MTU there is the tunnel's. */
	r = firewall_nft_rule_new(NFPROTO_INET, FIREWALL_TABLE, "forward", s->comment);
	if (!r)
		return -ENOMEM;
	ret = firewall_nft_match_ifname(r, NFT_META_OIFNAME, s->tun);
	if (!ret)
		ret = firewall_nft_match_syn(r);
	if (!ret)
		ret = firewall_nft_rt_mss(r);
	if (!ret)
		ret = firewall_nft_set_mss(r);
	return firewall_nft_rule_end(b, r, ret, NLM_F_APPEND);
}

static int firewall_nft_table_snat(struct firewall_nft_batch *b, const struct firewall_spec *s,
				   const struct firewall_opening *o)
{
	struct nftnl_rule *r = firewall_nft_rule_new(NFPROTO_INET, FIREWALL_TABLE, "postrouting",
						     s->comment);
	int ret;

	if (!r)
		return -ENOMEM;
	ret = firewall_nft_match_from_tun(r, s, firewall_nft_nfproto(o->src.family), &o->src, &o->dst);
	if (!ret)
		ret = firewall_nft_match_ifname(r, NFT_META_OIFNAME, o->bridge);
	if (!ret)
		ret = firewall_nft_add(r, firewall_nft_imm_data(o->gw.addr.b,
								(uint32_t)prefix_addr_len(o->gw.family)));
	if (!ret)
		ret = firewall_nft_nat(r, NFT_NAT_SNAT, o->gw.family, false, 0);
	return firewall_nft_rule_end(b, r, ret, NLM_F_APPEND);
}

/* meta mark set meta mark | MARK, for Docker 29's bridge-accept-fwmark. */
static int firewall_nft_table_mark(struct firewall_nft_batch *b, const struct firewall_spec *s,
				   const struct firewall_opening *o)
{
	struct nftnl_rule *r = firewall_nft_rule_new(NFPROTO_INET, FIREWALL_TABLE, "prerouting",
						     s->comment);
	uint32_t mask = ~s->mark, xor = s->mark;
	int ret;

	if (!r)
		return -ENOMEM;
	ret = firewall_nft_match_from_tun(r, s, firewall_nft_nfproto(o->src.family), &o->src, &o->dst);
	if (!ret)
		ret = firewall_nft_add(r, firewall_nft_meta(NFT_META_MARK, NFTNL_EXPR_META_DREG, NFT_REG_1));
	/* (mark & ~M) ^ M == mark | M; the mark register is host order. */
	if (!ret)
		ret = firewall_nft_add(r, firewall_nft_bitwise(&mask, &xor, sizeof(mask)));
	if (!ret)
		ret = firewall_nft_add(r, firewall_nft_meta(NFT_META_MARK, NFTNL_EXPR_META_SREG, NFT_REG_1));
	return firewall_nft_rule_end(b, r, ret, NLM_F_APPEND);
}

/* iifname TUN ip daddr HOST dnat ip prefix to GUEST (NF_NAT_RANGE_NETMAP). */
static int firewall_nft_table_remap(struct firewall_nft_batch *b, const struct firewall_spec *s,
				    const struct firewall_remap *m)
{
	struct nftnl_rule *r = firewall_nft_rule_new(NFPROTO_INET, FIREWALL_TABLE, "dstnat", s->comment);
	size_t alen = prefix_addr_len(m->guest.family);
	uint8_t last[16];
	int ret;

	if (!r)
		return -ENOMEM;
	/* The guest prefix's last address: the upper end of the netmap range. */
	memcpy(last, m->guest.addr.b, alen);
	for (size_t bit = m->guest.len; bit < alen * 8; bit++)
		last[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	ret = firewall_nft_match_from_tun(r, s, firewall_nft_nfproto(m->guest.family), NULL, &m->host);
	if (!ret)
		ret = firewall_nft_imm_reg(r, m->guest.addr.b, (uint32_t)alen, NFT_REG_1);
	if (!ret)
		ret = firewall_nft_imm_reg(r, last, (uint32_t)alen, NFT_REG_2);
	if (!ret)
		ret = firewall_nft_nat(r, NFT_NAT_DNAT, m->guest.family, true, NF_NAT_RANGE_NETMAP);
	return firewall_nft_rule_end(b, r, ret, NLM_F_APPEND);
}

int firewall_nft_table_install(struct firewall_nft *n, const struct firewall_spec *s,
			       size_t *rules)
{
	struct firewall_nft_batch b;
	size_t cnt[NFT_NCHAINS], i;
	int ret;

	*rules = 0;
	firewall_nft_table_counts(s, cnt);
	ret = firewall_nft_batch_init(n, &b);
	if (ret < 0)
		return ret;
	/* add + delete + add: replaces whatever is there, in one commit. */
	ret = firewall_nft_table_msg(&b, NFT_MSG_NEWTABLE);
	if (!ret)
		ret = firewall_nft_table_msg(&b, NFT_MSG_DELTABLE);
	if (!ret)
		ret = firewall_nft_table_msg(&b, NFT_MSG_NEWTABLE);
	if (!ret)
		ret = firewall_nft_table_chain(&b, "forward", NF_INET_FORWARD, -150, "filter");
	if (!ret && cnt[NFT_CH_POSTROUTING])
		ret = firewall_nft_table_chain(&b, "postrouting", NF_INET_POST_ROUTING, 100, "nat");
	if (!ret && cnt[NFT_CH_PREROUTING])
		ret = firewall_nft_table_chain(&b, "prerouting", NF_INET_PRE_ROUTING,
					       FIREWALL_PRIO_MARK, "filter");
	if (!ret && cnt[NFT_CH_DSTNAT])
		ret = firewall_nft_table_chain(&b, "dstnat", NF_INET_PRE_ROUTING, -100, "nat");
	if (!ret)
		ret = firewall_nft_table_forward(&b, s);
	for (i = 0; !ret && i < s->n_remap; i++)
		ret = firewall_nft_table_remap(&b, s, &s->remap[i]);
	for (i = 0; !ret && cnt[NFT_CH_POSTROUTING] && i < s->n; i++)
		ret = firewall_nft_table_snat(&b, s, &s->op[i]);
	for (i = 0; !ret && cnt[NFT_CH_PREROUTING] && i < s->n; i++)
		if (!firewall_nft_dup_srcdst(s->op, i))
			ret = firewall_nft_table_mark(&b, s, &s->op[i]);
	if (!ret)
		ret = firewall_nft_batch_commit(n, &b, "the gangway table");
	free(b.buf);
	if (!ret)
		*rules = cnt[0] + cnt[1] + cnt[2] + cnt[3];
	return ret;
}

int firewall_nft_table_delete(struct firewall_nft *n)
{
	struct firewall_nft_batch b;
	int ret;

	ret = firewall_nft_exists(n, NFPROTO_INET, FIREWALL_TABLE, NULL);
	if (ret <= 0)
		return ret;
	ret = firewall_nft_batch_init(n, &b);
	if (ret < 0)
		return ret;
	ret = firewall_nft_table_msg(&b, NFT_MSG_DELTABLE);
	if (!ret)
		ret = firewall_nft_batch_commit(n, &b, "deleting the gangway table");
	free(b.buf);
	/* Gone in between (someone else deleted it): just as good. */
	return ret == -ENOENT ? 0 : ret;
}

int firewall_nft_table_verify(struct firewall_nft *n, const struct firewall_spec *s)
{
	size_t want[NFT_NCHAINS], have[NFT_NCHAINS] = { 0 }, i;
	struct firewall_nft_dump d = { 0 };
	int ret, c;

	ret = firewall_nft_exists(n, NFPROTO_INET, FIREWALL_TABLE, NULL);
	if (ret <= 0)
		return ret < 0 ? ret : 1;
	ret = firewall_nft_dump_rules(n, NFPROTO_INET, FIREWALL_TABLE, NULL, s->comment, &d);
	if (ret < 0)
		goto out;
	firewall_nft_table_counts(s, want);
	ret = 0;
	for (i = 0; i < d.n; i++) {
		for (c = 0; c < NFT_NCHAINS; c++)
			if (!strcmp(d.v[i].chain, firewall_nft_table_chains[c]))
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
