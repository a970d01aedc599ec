/* firewall.h - let routed tunnel traffic past Docker's firewall, and back */
#ifndef GANGWAY_FIREWALL_H
#define GANGWAY_FIREWALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "config.h"
#include "discover.h"
#include "proc.h"

enum firewall_mech {
	FIREWALL_NONE,
	FIREWALL_IPTABLES_NFT,		/* Docker 20.10-28 with iptables-nft */
	FIREWALL_IPTABLES_LEGACY,	/* Docker 20.10-28 with iptables-legacy */
	FIREWALL_NFTABLES,		/* Docker 29 nftables backend (fwmark) */
};

struct firewall_opts {
	const char *tun_ifname;		/* traffic from the host arrives here */
	unsigned int mtu;		/* tunnel MTU, for the MSS clamp */
	/* host addresses allowed in (the host peers' allowed IPs) */
	const struct prefix *sources;
	size_t n_sources;
	bool snat;			/* source-NAT to the bridge's gateway */
	enum config_firewall mode;	/* auto or forced */
	uint32_t fwmark;		/* Docker 29 bridge-accept-fwmark */
};

struct firewall;

/* Detect the mechanism, remove leftovers of an earlier run. NULL + errno. */
struct firewall *firewall_new(const struct firewall_opts *o);
/* Make the rules match the view (install, update, remove). 0 or -errno. */
int firewall_apply(struct firewall *fw, const struct discover_view *view);
/*
 * Verify the rules are present and in front of Docker's; repair what is
 * missing or out of order. Returns 1 when it repaired something, 0 when all
 * was in place, -errno on failure. Cheap enough to call twice a second.
 */
int firewall_check(struct firewall *fw);
/* A descriptor that becomes readable when nftables rules change, or -1. */
int firewall_event_fd(const struct firewall *fw);
/* Drain that descriptor; returns true when a check is due. */
bool firewall_event_process(struct firewall *fw);
/* One host-side prefix the host maps onto one of our container prefixes. */
struct firewall_remap {
	struct prefix host;		/* what the host sends to, e.g. 10.217.0.0/16 */
	struct prefix guest;		/* the container network, e.g. 172.17.0.0/16 */
};
/*
 * Translate destinations in host prefixes to the guest prefixes, 1:1
 * (same length), for traffic in from the tunnel; replies are translated
 * back by connection tracking. Replaces the previous set. 0 or -errno.
 */
int firewall_set_remaps(struct firewall *fw, const struct firewall_remap *r, size_t n);
/* Remove every rule and table this program added. */
void firewall_remove(struct firewall *fw);
void firewall_free(struct firewall *fw);
enum firewall_mech firewall_mechanism(const struct firewall *fw);
const char *firewall_mech_name(enum firewall_mech m);

/*
 * Internals below: shared by src/firewall_linux.c, src/firewall_ipt_linux.c,
 * src/firewall_nft_linux.c and tests/unit/test_firewall.c. Not for other modules.
 */

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
bool firewall_ifname_ok(const char *name);
/* "gangway:<tun>", the ownership mark on every rule we add. */
int firewall_comment(const char *tun, char *buf, size_t size);
/*
 * The openings that opts and view ask for, without duplicates, into out.
 * Returns how many, or -E2BIG when more than max.
 */
int firewall_plan(const struct firewall_opts *o, const struct discover_view *v,
		  struct firewall_opening *out, size_t max);

/* ---- firewall_ipt_linux.c: Docker's iptables (either flavour) ---- */

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
	char comment[FIREWALL_COMMENT_LEN];
};

/* Our rules for one family and chain, in order. Count or -E2BIG. */
int firewall_ipt_expect(const char *tun, const struct firewall_opening *op, size_t n,
			int family, enum firewall_ipt_chain c,
			struct firewall_ipt_rule *out, size_t max);
/* Rule text as iptables-save prints it, without "-A CHAIN ". */
int firewall_ipt_format(const struct firewall_ipt_rule *r, char *buf, size_t size);
/* Parse a rule's text (after "-A CHAIN "). 0, or -EINVAL on bad syntax. */
int firewall_ipt_parse(const char *spec, size_t len, struct firewall_ipt_rule *r);
bool firewall_ipt_rule_equal(const struct firewall_ipt_rule *a,
			     const struct firewall_ipt_rule *b);

/* One of our rules found in iptables-save output. */
struct firewall_ipt_found {
	bool raw;		/* raw table, else filter */
	char chain[32];
	unsigned int pos;	/* 1-based position in its chain */
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
};

/* Scan save output for comment's rules. 0 or -errno (-ENOMEM, -EINVAL). */
int firewall_ipt_scan(const char *text, size_t len, const char *comment,
		      struct firewall_ipt_scan *s);
void firewall_ipt_scan_free(struct firewall_ipt_scan *s);
/*
 * Our rules in chain c must be exactly want[0..n) at positions 1..n.
 * True when they are.
 */
bool firewall_ipt_in_place(const struct firewall_ipt_scan *s, enum firewall_ipt_chain c,
			   const struct firewall_ipt_rule *want, size_t n);
/*
 * iptables-restore --noflush input that deletes our rules in the chains
 * marked in fix (or in every chain with purge) and inserts want[c] at the
 * top of each fixed chain, one section per table. *inserted counts the
 * rules put back.
 */
int firewall_ipt_script(const struct firewall_ipt_scan *s, const char *text,
			const bool fix[FIREWALL_IPT_NCHAINS], bool purge,
			const struct firewall_ipt_rule *const want[FIREWALL_IPT_NCHAINS],
			const size_t n_want[FIREWALL_IPT_NCHAINS],
			struct proc_buf *out, size_t *inserted);

/* Programs of one iptables flavour, resolved to paths ("" if missing). */
struct firewall_ipt_progs {
	char save[2][256];	/* [0] IPv4, [1] IPv6 */
	char restore[2][256];
	bool multi;		/* xtables-*-multi: argv[1] names the tool */
};
/* Find the save/restore programs of a flavour: 0 or -ENOENT. */
int firewall_ipt_progs_find(bool legacy, struct firewall_ipt_progs *p);
/* Run save for family (AF_INET/AF_INET6) into out. 0 or -errno / -EIO. */
int firewall_ipt_save(const struct firewall_ipt_progs *p, int family, struct proc_buf *out);
/* Feed script to restore --noflush -w for family. 0 or -errno / -EIO. */
int firewall_ipt_restore(const struct firewall_ipt_progs *p, int family,
			 const struct proc_buf *script);
/*
 * Legacy xtables tables in this namespace for family: bit 0 filter, bit 1
 * raw (from /proc, which never creates a table). 0 when none, -errno.
 */
int firewall_ipt_legacy_tables(int family);
/*
 * Fingerprint of a legacy table (entries without counters) and whether it
 * holds a chain named chain. Only for tables that exist. 0 or -errno.
 */
int firewall_ipt_legacy_probe(int family, const char *table, const char *chain,
			      uint64_t *fp, bool *has_chain);

/* ---- firewall_nft_linux.c: our nftables table and Docker 29's tables ---- */

struct firewall_nft;

/* What goes into our table and into Docker 29's raw chains. */
struct firewall_nft_spec {
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

struct firewall_nft *firewall_nft_open(void);
void firewall_nft_close(struct firewall_nft *n);
/* The ruleset generation; moves on every committed change. */
int firewall_nft_genid(struct firewall_nft *n, uint32_t *gen);
/* 1 if the table (and chain, unless NULL) exists, 0 if not, -errno. */
int firewall_nft_exists(struct firewall_nft *n, int nfproto, const char *table,
			const char *chain);
/* Replace our table atomically with what spec asks for. */
int firewall_nft_install(struct firewall_nft *n, const struct firewall_nft_spec *s,
			 size_t *rules);
/* 0 when our table holds what spec asks for, 1 when not, -errno. */
int firewall_nft_verify(struct firewall_nft *n, const struct firewall_nft_spec *s);
/* Delete our table; 0 also when it is not there. */
int firewall_nft_delete(struct firewall_nft *n);
/*
 * Docker 29: our accepts at the top of raw-PREROUTING in Docker's tables.
 * Verifies (count and position) and repairs; force rewrites them (the view
 * changed). *restored counts rules put back. 0 or -errno.
 */
int firewall_nft_docker_sync(struct firewall_nft *n, const struct firewall_nft_spec *s,
			     bool force, size_t *restored);
/* Delete every rule carrying comment from Docker 29's tables. */
int firewall_nft_docker_purge(struct firewall_nft *n, const char *comment);
/* Event socket (NFNLGRP_NFTABLES), non-blocking; -1 if it failed. */
int firewall_nft_event_fd(const struct firewall_nft *n);
/* Drain it: true when something changed or events were lost. */
bool firewall_nft_event_drain(struct firewall_nft *n);

#endif
