/* firewall_int.h - the firewall's internals: its backends' interface and their parts
 *
 * Private to src/firewall_linux.c, src/firewall_ipt_linux.c,
 * src/firewall_ipt_text_linux.c, src/firewall_nft_linux.c and their unit
 * tests. Every other module uses include/firewall.h.
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
};

/*
 * One way Docker keeps its rules, implemented whole by one file:
 * firewall_ipt_linux.c (both iptables flavours), firewall_nft_linux.c
 * (Docker 29's nftables backend). firewall_linux.c only plans and
 * dispatches through these.
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

/* ---- firewall_nft_linux.c: our nftables table and Docker 29's tables ---- */

struct firewall_nft *firewall_nft_open(void);
void firewall_nft_close(struct firewall_nft *n);
/* The ruleset generation; moves on every committed change. */
int firewall_nft_genid(struct firewall_nft *n, uint32_t *gen);
/* 1 if the table (and chain, unless NULL) exists, 0 if not, -errno. */
int firewall_nft_exists(struct firewall_nft *n, int nfproto, const char *table,
			const char *chain);
/* Replace our table atomically with what spec asks for. */
int firewall_nft_install(struct firewall_nft *n, const struct firewall_spec *s,
			 size_t *rules);
/* 0 when our table holds what spec asks for, 1 when not, -errno. */
int firewall_nft_verify(struct firewall_nft *n, const struct firewall_spec *s);
/* Delete our table; 0 also when it is not there. */
int firewall_nft_delete(struct firewall_nft *n);

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
void firewall_nft_inspect_chain(const struct firewall_nft_rule *v, size_t n,
				struct firewall_inspect *r);
/* Event socket (NFNLGRP_NFTABLES), non-blocking; -1 if it failed. */
int firewall_nft_event_fd(const struct firewall_nft *n);
/* Drain it: true when something changed or events were lost. */
bool firewall_nft_event_drain(struct firewall_nft *n);

#endif
