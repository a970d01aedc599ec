/* firewall_int.h - the firewall's internals: its backends' interface and their parts
 *
 * Private to src/firewall_linux.c, src/firewall_ipt_linux.c,
 * src/firewall_ipt_text_linux.c, src/firewall_nft_linux.c,
 * src/firewall_nft_table_linux.c, src/firewall_nft_docker_linux.c and
 * their unit tests. Every other module uses include/firewall.h.
 */
#ifndef GANGWAY_FIREWALL_INT_H
#define GANGWAY_FIREWALL_INT_H

#include <errno.h>
#include <string.h>

#include "firewall.h"
#include "proc.h"


#define FIREWALL_TABLE		"gangway"	/* our nftables table (inet) */
#define FIREWALL_COMMENT_LEN	(sizeof("gangway:") + IF_NAMESIZE)
#define FIREWALL_MAX_OPENINGS	1024
#define FIREWALL_PRIO_MARK	(-301)		/* before Docker's raw (-300) */

/* New connections from src, in on the tunnel, to dst, out on bridge. */
struct firewall_opening {
	struct prefix src;		/* a host address or network (masked) */
	struct prefix dst;		/* a network behind the bridge (masked) */
	struct prefix gw;		/* the bridge's own address on dst: SNAT target */
	char bridge[IF_NAMESIZE];
};

/* An interface name we can put in rules and iptables-restore text. */
static inline bool firewall_ifname_ok(const char *name)
{
	size_t i, n;

	if (!name)
		return false;
	n = strnlen(name, IF_NAMESIZE);
	if (!n || n >= IF_NAMESIZE || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	/* What Docker and the kernel use in practice; it also keeps names
	 * out of iptables' quoting and wildcard ('+') syntax. */
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* "gangway:<tun>", the ownership mark on every rule we add. 0 or -errno. */
static inline int firewall_comment(const char *tun, char *buf, size_t size)
{
	static const char tag[] = "gangway:";
	size_t n;

	if (!firewall_ifname_ok(tun))
		return -EINVAL;
	n = strlen(tun);
	if (sizeof(tag) + n > size)
		return -ENOSPC;
	memcpy(buf, tag, sizeof(tag) - 1);
	memcpy(buf + sizeof(tag) - 1, tun, n + 1);
	return 0;
}
/*
 * The openings that opts and view ask for, without duplicates, into out.
 * Returns how many, or -E2BIG when more than max.
 */
int firewall_plan(const struct firewall_opts *o, const struct discover_view *v,
		  struct firewall_opening *out, size_t max);

/* What goes into our table and into Docker's chains, for every backend. */
struct firewall_spec {
	const char *tun;
	const char *comment;
	unsigned int mtu;		/* 0: clamp to the route's MTU only */
	bool snat;
	uint32_t mark;			/* 0: no prerouting chain */
	const struct firewall_opening *op;
	size_t n;
	const struct firewall_remap *remap;	/* dstnat chain when n_remap */
	size_t n_remap;
};

struct firewall_nft;
struct firewall_ipt;

/* The handles a backend may use; firewall_linux.c opens and owns them. */
struct firewall_backends {
	struct firewall_nft *nft;	/* nftables netlink (NULL: not opened) */
	struct firewall_ipt *ipt[2];	/* [0] iptables-nft, [1] iptables-legacy */
	bool nft_warned_mark;		/* Docker 29 without a mark: said once */
};

/*
 * One way Docker keeps its rules, one ops table each:
 * firewall_ipt_linux.c (both iptables flavours, with the rule text of
 * firewall_ipt_text_linux.c), firewall_nft_docker_linux.c (Docker 29's
 * nftables backend). firewall_linux.c only plans and dispatches through
 * these.
 */
struct firewall_ops {
	enum firewall_mech mech;
	/* 1 when Docker keeps its rules here, 0 when not. */
	int (*detect)(struct firewall_backends *b);
	/* 0 when the backend can work here; else -errno, said once in the log. */
	int (*usable)(struct firewall_backends *b);
	/* Make ours in Docker's chains match s; force rewrites them all.
	 * *written counts rules written. 0 or -errno. */
	int (*sync)(struct firewall_backends *b, const struct firewall_spec *s, bool force,
		    size_t *written);
	/* Delete every rule carrying comment; *removed counts iptables rules. */
	int (*purge)(struct firewall_backends *b, const char *comment, size_t *removed);
	/* Read-only: fill r's part for this backend (firewall_inspect). */
	int (*inspect)(struct firewall_backends *b, const char *tun, struct firewall_inspect *r);
};

extern const struct firewall_ops firewall_ipt_nft_ops;
extern const struct firewall_ops firewall_ipt_legacy_ops;
extern const struct firewall_ops firewall_nft_docker_ops;

/* ---- firewall_ipt_text_linux.c: iptables rules as text (pure) ---- */

enum firewall_ipt_chain {
	FIREWALL_IPT_USER,	/* filter DOCKER-USER */
	FIREWALL_IPT_FORWARD,	/* filter FORWARD: a family without DOCKER-USER */
	FIREWALL_IPT_RAW,	/* raw PREROUTING */
	FIREWALL_IPT_NCHAINS,
};

/* The parts of an iptables rule we write and read back. */
struct firewall_ipt_rule {
	bool has_src, has_dst;
	struct prefix src, dst;
	char in[IF_NAMESIZE], out[IF_NAMESIZE];
	bool established;	/* -m conntrack --ctstate RELATED,ESTABLISHED */
	bool accept;		/* -j ACCEPT */
	bool other;		/* anything else (negation, other matches) */
	bool in_neg, out_neg;	/* ! -i, ! -o */
	char target[32];	/* -j or -g */
	char comment[FIREWALL_COMMENT_LEN];
};

/* Our rules for one family and chain, in order. Count or -E2BIG. */
int firewall_ipt_text_expect(const char *tun, const struct firewall_opening *op, size_t n,
			     int family, enum firewall_ipt_chain c,
			     struct firewall_ipt_rule *out, size_t max);
/* Rule text as iptables-save prints it, without "-A CHAIN ". */
int firewall_ipt_text_format(const struct firewall_ipt_rule *r, char *buf, size_t size);
/* Parse a rule's text (after "-A CHAIN "). 0, or -EINVAL on bad syntax. */
int firewall_ipt_text_parse(const char *spec, size_t len, struct firewall_ipt_rule *r);
bool firewall_ipt_text_rule_equal(const struct firewall_ipt_rule *a,
				  const struct firewall_ipt_rule *b);

/* A rule found in iptables-save output. */
struct firewall_ipt_found {
	bool raw;		/* raw table, else filter */
	bool parsed;		/* rule holds what the text says (else only chain, pos) */
	char chain[32];
	unsigned int pos;	/* 1-based position in its chain */
	size_t line;		/* "-A CHAIN spec" in the dump */
	size_t off, len;	/* rule text (after "-A CHAIN ") in the dump */
	struct firewall_ipt_rule rule;
};

/* What iptables-save output says about Docker's chains and our rules. */
struct firewall_ipt_scan {
	bool has_filter, has_raw;	/* table present in the dump */
	bool has_user;			/* filter has DOCKER-USER */
	bool has_docker;		/* filter has Docker's DOCKER chain */
	struct firewall_ipt_found *found;	/* ours, in dump order */
	size_t n_found, cap_found;
	struct firewall_ipt_found *all;		/* every filter and raw rule (scan_all) */
	size_t n_all, cap_all;
};

/* Scan save output for comment's rules. 0 or -errno (-ENOMEM, -EINVAL). */
int firewall_ipt_text_scan(const char *text, size_t len, const char *comment,
			   struct firewall_ipt_scan *s);
/* The same, and every rule of the filter and raw tables into s->all. */
int firewall_ipt_text_scan_all(const char *text, size_t len, const char *comment,
			       struct firewall_ipt_scan *s);
/*
 * What iptables-save output text says about tun's rules: the analysis
 * behind firewall_inspect, without running anything. 0 or -errno.
 */
int firewall_ipt_text_inspect(const char *text, size_t len, const char *tun,
			      struct firewall_inspect_ipt *r);
void firewall_ipt_text_scan_free(struct firewall_ipt_scan *s);
/*
 * Our rules in chain c must be exactly want[0..n) at positions 1..n.
 * True when they are.
 */
bool firewall_ipt_text_in_place(const struct firewall_ipt_scan *s, enum firewall_ipt_chain c,
				const struct firewall_ipt_rule *want, size_t n);
/*
 * iptables-restore --noflush input that deletes our rules in the chains
 * marked in fix (or in every chain with purge) and inserts want[c] at the
 * top of each fixed chain, one section per table. *inserted counts the
 * rules put back.
 */
int firewall_ipt_text_script(const struct firewall_ipt_scan *s, const char *text,
			     const bool fix[FIREWALL_IPT_NCHAINS], bool purge,
			     const struct firewall_ipt_rule *const want[FIREWALL_IPT_NCHAINS],
			     const size_t n_want[FIREWALL_IPT_NCHAINS],
			     struct proc_buf *out, size_t *inserted);

/* ---- firewall_ipt_linux.c: Docker's iptables (either flavour) ---- */

/*
 * Hash of the legacy filter and raw tables of both families (entries
 * without counters): moves when a rule does. 0 for a family without them.
 */
void firewall_ipt_legacy_fp(uint64_t fp[2]);

struct firewall_ipt *firewall_ipt_open(bool legacy);
void firewall_ipt_close(struct firewall_ipt *p);

/* ---- firewall_nft_linux.c: nftables over netlink, for the two files below ---- */

struct nlmsghdr;
struct nftnl_expr;
struct nftnl_rule;

struct firewall_nft *firewall_nft_open(void);
void firewall_nft_close(struct firewall_nft *n);
/* Event socket (NFNLGRP_NFTABLES), non-blocking; -1 if it failed. */
int firewall_nft_event_fd(const struct firewall_nft *n);
/* Drain it: true when something changed or events were lost. */
bool firewall_nft_event_drain(struct firewall_nft *n);
/* The ruleset generation; moves on every committed change. */
int firewall_nft_genid(struct firewall_nft *n, uint32_t *gen);
/* 1 if the table (and chain, unless NULL) exists, 0 if not, -errno. */
int firewall_nft_exists(struct firewall_nft *n, int nfproto, const char *table,
			const char *chain);

/* One transaction being built: begin, messages, end; one ACK each. */
struct firewall_nft_batch {
	char *buf;
	size_t len, cap;
	uint32_t begin_seq, seq;
	unsigned int acks;
};

/* Start a batch (free b->buf afterwards, whatever happened). 0 or -errno. */
int firewall_nft_batch_init(struct firewall_nft *n, struct firewall_nft_batch *b);
/* Header of the next message, or NULL with the error in *err. */
struct nlmsghdr *firewall_nft_batch_msg(struct firewall_nft_batch *b, uint16_t type,
					int nfproto, uint16_t flags, int *err);
/* Account for a message whose payload has been written. 0 or -EMSGSIZE. */
int firewall_nft_batch_done(struct firewall_nft_batch *b, const struct nlmsghdr *nlh);
/* Send the batch and collect one answer per message; what names it in the log. */
int firewall_nft_batch_commit(struct firewall_nft *n, struct firewall_nft_batch *b,
			      const char *what);
/* Delete the rule with handle from table's chain. 0 or -errno. */
int firewall_nft_batch_delrule(struct firewall_nft_batch *b, int nfproto, const char *table,
			       const char *chain, uint64_t handle);

/*
 * Rule building: each expression helper adds to r and returns 0 or
 * -errno; the expression constructors return NULL when out of memory,
 * which firewall_nft_add reports as -ENOMEM.
 */
/* A rule of table's chain carrying comment; NULL when out of memory. */
struct nftnl_rule *firewall_nft_rule_new(int nfproto, const char *table, const char *chain,
					 const char *comment);
/* Put r into the batch (ret 0) or free it (ret, an error): returns ret or the batch's. */
int firewall_nft_rule_end(struct firewall_nft_batch *b, struct nftnl_rule *r, int ret,
			  uint16_t flags);
int firewall_nft_add(struct nftnl_rule *r, struct nftnl_expr *e);
struct nftnl_expr *firewall_nft_meta(uint32_t key, uint16_t reg_attr, uint32_t reg);
struct nftnl_expr *firewall_nft_bitwise(const void *mask, const void *xor, uint32_t len);
struct nftnl_expr *firewall_nft_imm_data(const void *data, uint32_t len);
struct nftnl_expr *firewall_nft_imm_verdict(uint32_t verdict);
int firewall_nft_match_ifname(struct nftnl_rule *r, uint32_t key, const char *name);
int firewall_nft_match_u8(struct nftnl_rule *r, uint32_t key, uint8_t v);
/* tcp flags syn, without ack (a SYN that opens a connection). */
int firewall_nft_match_syn(struct nftnl_rule *r);
/* The route's MSS into register 1 (rt mtu). */
int firewall_nft_rt_mss(struct nftnl_rule *r);
/* tcp option maxseg size set from register 1. */
int firewall_nft_set_mss(struct nftnl_rule *r);
/* The family (nfproto 0: any), in from the tunnel, from src (may be NULL) to dst. */
int firewall_nft_match_from_tun(struct nftnl_rule *r, const struct firewall_spec *s,
				uint8_t nfproto, const struct prefix *src,
				const struct prefix *dst);
/* nat: type, family, address from register 1 (to register 2 if max). */
int firewall_nft_nat(struct nftnl_rule *r, uint32_t type, int family, bool max,
		     uint32_t flags);
/* immediate: len bytes of data into register reg. */
int firewall_nft_imm_reg(struct nftnl_rule *r, const void *data, uint32_t len, uint32_t reg);
/* NFPROTO_IPV4 or NFPROTO_IPV6 for an address family. */
uint8_t firewall_nft_nfproto(int family);
/* The same (src, dst) already seen among op[0..i): one mark/raw rule each. */
bool firewall_nft_dup_srcdst(const struct firewall_opening *op, size_t i);

/* A rule found by a dump. */
struct firewall_nft_found {
	uint64_t handle;
	unsigned int pos;		/* 0-based within its chain */
	bool ours;			/* carries the dump's comment */
	bool drop;			/* an immediate drop verdict */
	char chain[64];
};

/* A dump's rules, in order (free v afterwards). */
struct firewall_nft_dump {
	const char *comment;
	struct firewall_nft_found *v;
	size_t n, cap;
	char last_chain[64];
	unsigned int pos;
};

/*
 * Every rule of table (and chain, unless NULL), in order, ours being those
 * that carry comment; retried when the ruleset changed during the dump.
 */
int firewall_nft_dump_rules(struct firewall_nft *n, int nfproto, const char *table,
			    const char *chain, const char *comment, struct firewall_nft_dump *d);

/* ---- firewall_nft_table_linux.c: our own table, inet gangway ---- */

/* Replace our table atomically with what spec asks for. */
int firewall_nft_table_install(struct firewall_nft *n, const struct firewall_spec *s,
			       size_t *rules);
/* 0 when our table holds what spec asks for, 1 when not, -errno. */
int firewall_nft_table_verify(struct firewall_nft *n, const struct firewall_spec *s);
/* Delete our table; 0 also when it is not there. */
int firewall_nft_table_delete(struct firewall_nft *n);

/* ---- firewall_nft_docker_linux.c: Docker 29's tables, the nftables backend ---- */

/* A rule of a dumped chain, as the inspection sees it. */
struct firewall_nft_rule {
	unsigned int pos;		/* 1-based within its chain */
	bool ours;			/* carries our comment */
	bool drop;			/* its verdict is drop */
};
/*
 * Where ours stands in Docker 29's raw-PREROUTING (rules v[0..n) in
 * order): r->nft_accept_pos and r->nft_drop_pos, a drop ahead of it.
 */
void firewall_nft_docker_inspect_chain(const struct firewall_nft_rule *v, size_t n,
				       struct firewall_inspect *r);

#endif
