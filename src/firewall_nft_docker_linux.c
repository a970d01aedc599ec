/* firewall_nft_docker_linux.c - our accepts in Docker 29's nftables tables: the nftables backend */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>

#include "firewall_int.h"
#include "log.h"

/*
 * Theory of operation
 *
 * Docker 29's nftables backend accepts packets that carry its
 * bridge-accept-fwmark only in its per-bridge forward chains. Its raw
 * prerouting drop of direct access ("DROP DIRECT ACCESS", "SUBNET DROP
 * EXTERNAL": ip daddr NET iifname != { bridge, lo } drop) ignores the mark,
 * and a drop in any base chain is final. So for that backend our table
 * sets the mark (firewall_nft_table_linux.c), and this file also inserts
 * an accept for our sources at the top of Docker's raw-PREROUTING base
 * chain, marked with our comment, and keeps it there like the iptables
 * rules: a check dumps the chain and rewrites ours when one is missing or
 * behind one of Docker's. Docker's per-bridge chains are left alone:
 * Docker deletes them, and a chain with a foreign rule cannot be deleted.
 *
 * This file is the nftables entry of the backends' ops table (detect,
 * sync, purge, inspect). The inspection reads where our accept stands in
 * the IPv4 raw-PREROUTING and whether a drop comes before it
 * (firewall_nft_docker_inspect_chain, pure).
 */

#define NFT_DOCKER_TABLE "docker-bridges"
#define NFT_DOCKER_RAW	"raw-PREROUTING"

/* ------------------------------------------------------------ Docker 29 */

static int firewall_nft_docker_accept(struct firewall_nft_batch *b, int nfproto,
				      const struct firewall_spec *s,
				      const struct firewall_opening *o)
{
	struct nftnl_rule *r = firewall_nft_rule_new(nfproto, NFT_DOCKER_TABLE, NFT_DOCKER_RAW,
						     s->comment);
	int ret;

	if (!r)
		return -ENOMEM;
	ret = firewall_nft_match_from_tun(r, s, 0, &o->src, &o->dst);
	if (!ret)
		ret = firewall_nft_add(r, firewall_nft_imm_verdict(NF_ACCEPT));
	/* No NLM_F_APPEND: the rule goes in front of the chain. */
	return firewall_nft_rule_end(b, r, ret, 0);
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
		struct firewall_nft_dump d = { 0 };
		struct firewall_nft_batch b;
		size_t want = 0, ours = 0, i, k;
		bool ok = true;

		ret = firewall_nft_exists(n, nfproto, NFT_DOCKER_TABLE, NFT_DOCKER_RAW);
		if (ret <= 0)
			continue;
		for (i = 0; s->mark && i < s->n; i++)
			if (s->op[i].src.family == family && !firewall_nft_dup_srcdst(s->op, i))
				want++;
		ret = firewall_nft_dump_rules(n, nfproto, NFT_DOCKER_TABLE, NFT_DOCKER_RAW,
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
		ret = firewall_nft_batch_init(n, &b);
		for (i = 0; !ret && i < d.n; i++)
			if (d.v[i].ours)
				ret = firewall_nft_batch_delrule(&b, nfproto, NFT_DOCKER_TABLE,
								 NFT_DOCKER_RAW, d.v[i].handle);
		/* Each insert goes to the front: add them last to first. */
		for (k = s->n; !ret && s->mark && k-- > 0;)
			if (s->op[k].src.family == family && !firewall_nft_dup_srcdst(s->op, k))
				ret = firewall_nft_docker_accept(&b, nfproto, s, &s->op[k]);
		if (!ret)
			ret = firewall_nft_batch_commit(n, &b, "our rules in Docker's raw-PREROUTING");
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
		struct firewall_nft_dump d = { 0 };
		struct firewall_nft_batch b;
		size_t i, k = 0;

		ret = firewall_nft_exists(n, fams[f], NFT_DOCKER_TABLE, NULL);
		if (ret <= 0)
			continue;
		ret = firewall_nft_dump_rules(n, fams[f], NFT_DOCKER_TABLE, NULL, comment, &d);
		for (i = 0; !ret && i < d.n; i++)
			k += d.v[i].ours;
		if (ret || !k) {
			free(d.v);
			continue;
		}
		ret = firewall_nft_batch_init(n, &b);
		for (i = 0; !ret && i < d.n; i++)
			if (d.v[i].ours)
				ret = firewall_nft_batch_delrule(&b, fams[f], NFT_DOCKER_TABLE,
								 d.v[i].chain, d.v[i].handle);
		if (!ret)
			ret = firewall_nft_batch_commit(n, &b, "removing our rules from Docker's table");
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
	if (!s->mark && s->n && !b->nft_warned_mark) {
		log_warn("Docker uses its nftables backend: set a firewall mark here and "
			 "the same --bridge-accept-fwmark in dockerd; until then nothing "
			 "is opened");
		b->nft_warned_mark = true;
	}
	return firewall_nft_docker_sync(b->nft, s, force, written);
}

static int firewall_nft_docker_ops_purge(struct firewall_backends *b, const char *comment,
					 size_t *removed)
{
	*removed = 0;	/* the count is of iptables rules */
	return firewall_nft_docker_purge(b->nft, comment);
}

void firewall_nft_docker_inspect_chain(const struct firewall_nft_rule *v, size_t n,
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
	struct firewall_nft_dump d = { 0 };
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
	ret = firewall_nft_dump_rules(b->nft, NFPROTO_IPV4, NFT_DOCKER_TABLE, NFT_DOCKER_RAW, comment, &d);
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
	firewall_nft_docker_inspect_chain(v, d.n, r);
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
