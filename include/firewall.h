/* firewall.h - let routed tunnel traffic past Docker's firewall, and back */
#ifndef GANGWAY_FIREWALL_H
#define GANGWAY_FIREWALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "config.h"
#include "discover.h"

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
/* m by the name firewall_mech_name gives it: 0, or -EINVAL. */
int firewall_mech_parse(const char *name, enum firewall_mech *m);
/*
 * Docker's DOCKER-USER chain is in a legacy iptables table (only tables
 * that exist are read: reading one would create it). Needs root.
 */
bool firewall_legacy_in_use(void);

/*
 * Read-only inspection (gangway doctor): where the rules for tunnel tun
 * stand among Docker's, and what drops the tunnel's traffic ahead of
 * them. Nothing is changed. Positions are 1-based in their chain; 0 means
 * "not there".
 */
#define FIREWALL_INSPECT_TEXT	200

/* Someone else's rule that comes first and stops the tunnel's traffic. */
struct firewall_inspect_block {
	unsigned int pos;		/* 0: nothing blocks */
	bool raw;			/* raw table, else filter */
	bool drop;			/* DROP or REJECT; else a jump into Docker's chains */
	char chain[32];
	char target[32];
	char text[FIREWALL_INSPECT_TEXT];	/* as iptables-save prints it */
};

/* One iptables family. */
struct firewall_inspect_ipt {
	bool read;			/* its save program ran and printed the rules */
	size_t ours;			/* our rules seen, in any chain */
	bool has_raw;			/* the raw table exists */
	char in_chain[32];		/* where our first accept of new connections is */
	unsigned int in_pos;
	unsigned int out_pos;		/* our first accept of replies into the tunnel */
	unsigned int raw_pos;		/* our first rule in raw PREROUTING */
	unsigned int jump_pos;		/* FORWARD's jump to DOCKER-USER (ours there) */
	struct firewall_inspect_block before_in;	/* ahead of in_pos */
	struct firewall_inspect_block before_jump;	/* ahead of jump_pos in FORWARD */
	struct firewall_inspect_block before_raw;	/* ahead of raw_pos */
};

struct firewall_inspect {
	enum firewall_mech mech;
	struct firewall_inspect_ipt ipt[2];	/* [0] IPv4, [1] IPv6 */
	bool nft_table;			/* table inet gangway exists */
	unsigned int nft_accept_pos;	/* ours in ip docker-bridges raw-PREROUTING */
	unsigned int nft_drop_pos;	/* a drop in that chain ahead of it */
};

/* Fill r for mechanism m and tunnel tun. 0, -EINVAL (m, tun), -errno. */
int firewall_inspect(enum firewall_mech m, const char *tun, struct firewall_inspect *r);
/* The same through fw's own backends (gangwayd's view of its own rules). */
int firewall_inspect_own(struct firewall *fw, struct firewall_inspect *r);
/*
 * How many times fw read the rules after a change (or at its first look),
 * whether it could then make its own right or not: someone else's rules
 * around ours may have changed too, and are worth inspecting again.
 */
uint64_t firewall_checks(const struct firewall *fw);

/*
 * What an inspection means, in words for people (firewall_findings_linux.c):
 * each finding one sentence and its fix, the same whether the doctor prints
 * them or gangwayd sends them to the host.
 */
#define FIREWALL_FINDINGS_MAX	12
#define FIREWALL_FINDING_TEXT	512
#define FIREWALL_FINDING_FIX	400

struct firewall_finding {
	char text[FIREWALL_FINDING_TEXT];
	char fix[FIREWALL_FINDING_FIX];
};

struct firewall_findings {
	struct firewall_finding v[FIREWALL_FINDINGS_MAX];
	size_t n;			/* 0: all in place and in order */
	/* iptables, nothing found: where ours stand ("IPv4: ...; IPv6: ...") */
	char order[400];
};

/* Judge r (firewall_inspect for tunnel tun) into out. Pure. */
void firewall_findings(const struct firewall_inspect *r, const char *tun,
		       struct firewall_findings *out);

#endif
