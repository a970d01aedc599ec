/* hostdns.c - the host's side of container names: each guest's DNS server, believed as far as policy allows
 *
 * Theory of operation: a guest says, in an authenticated control message
 * (NAMES), on which addresses it serves DNS and for which domain, or that
 * its names are off. That proves who said it, not that it is true: a
 * compromised guest could name the LAN's router, another guest, or a
 * domain the host never meant to send anywhere. So each address must be
 * the guest's own tunnel address by the host's configuration and view
 * (accept_dns: inside that peer's AllowedIPs, neither a local address nor
 * one the host reaches another way, claimed by no other peer) and the
 * domain must be the host's own Domain. The addresses that pass are the
 * guest's server; a claim with none that passes, or with another domain,
 * is refused whole and changes nothing. What is in effect is judged again
 * whenever the host's routes change, and taken back when it fails.
 *
 * The host's resolver holds one server set for the tunnel's link, so it
 * follows one guest: the first configured peer whose announced server
 * passed; failing that, as before announcements existed, the first
 * configured peer that has said nothing yet (an older guest, or one not
 * heard from since the agent started), at the single-address entries of
 * its AllowedIPs. A guest whose names are off is never chosen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsock_render.h"
#include "hostdns.h"
#include "log.h"
#include "resolver.h"

_Static_assert(CTLMSG_DOMAIN_MAX < CONFIG_DOMAIN_LEN, "a configured Domain fits NAMES");

/* What a guest said: its DNS addresses (none: names off) and domain. */
struct hostdns_claim {
	struct prefix addrs[CTLMSG_MAX_DNS];
	size_t n;
	char domain[CTLMSG_DOMAIN_MAX + 1];
};

struct hostdns_guest {
	uint8_t pub[WG_KEY_LEN];
	struct hostdns_claim heard;	/* its last announcement */
	struct hostdns_claim cur;	/* the one in effect, if has_cur */
	bool has_cur;
	struct prefix use[CTLMSG_MAX_DNS];	/* cur's addresses that pass now */
	size_t n_use;
	char refused[384];		/* why the last judgement refused (part of) it */
	char logged[384];		/* the refusal last logged */
};

struct hostdns {
	struct tunnel *t;
	struct resolver *r;
	struct hostdns_guest guests[CONFIG_MAX_PEERS];
	size_t n_guests;
	uint8_t target_pub[WG_KEY_LEN];	/* whose server the resolver has */
	struct prefix target[CTLMSG_MAX_DNS];
	size_t n_target;		/* 0: none */
};

static struct hostdns_guest *hostdns_guest(const struct hostdns *d, const uint8_t *pub)
{
	for (size_t i = 0; i < d->n_guests; i++)
		if (!memcmp(d->guests[i].pub, pub, WG_KEY_LEN))
			return (struct hostdns_guest *)&d->guests[i];
	return NULL;
}

static bool hostdns_claim_equal(const struct hostdns_claim *a, const struct hostdns_claim *b)
{
	if (a->n != b->n || strcmp(a->domain, b->domain))
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!prefix_equal(&a->addrs[i], &b->addrs[i]))
			return false;
	return true;
}

/* Addresses without their "/32": what a resolver's configuration says. */
static void hostdns_addrs(const struct prefix *a, size_t n, char *buf, size_t size)
{
	char one[PREFIX_STRLEN], *slash;
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < size; i++) {
		prefix_format(&a[i], one, sizeof(one));
		slash = strchr(one, '/');
		if (slash)
			*slash = '\0';
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "", one);
	}
}

/*
 * The resolver follows the first configured peer whose announced server
 * passed; else the first that said nothing yet, at its configured
 * single addresses. Changes are made only when the choice changes.
 */
static void hostdns_choose(struct hostdns *d)
{
	const struct config *c = tunnel_config(d->t);
	const struct config_peer *pick = NULL;
	struct prefix target[CTLMSG_MAX_DNS];
	size_t n = 0;
	char text[2 * PREFIX_STRLEN];

	for (size_t i = 0; i < c->n_peers && !n; i++) {
		const struct hostdns_guest *g = hostdns_guest(d, c->peers[i].public_key);

		if (g && g->has_cur && g->n_use) {
			n = g->n_use;
			memcpy(target, g->use, n * sizeof(target[0]));
			pick = &c->peers[i];
		}
	}
	for (size_t i = 0; i < c->n_peers && !n; i++) {
		const struct hostdns_guest *g = hostdns_guest(d, c->peers[i].public_key);

		if (g && g->has_cur)
			continue;	/* it spoke: only what it said counts */
		n = resolver_peer_dns(&c->peers[i], target, CTLMSG_MAX_DNS);
		pick = &c->peers[i];
	}
	if (n == d->n_target && (!n || !memcmp(d->target_pub, pick->public_key, WG_KEY_LEN))) {
		bool same = true;

		for (size_t i = 0; i < n && same; i++)
			same = prefix_equal(&target[i], &d->target[i]);
		if (same)
			return;
	}
	if (n) {
		hostdns_addrs(target, n, text, sizeof(text));
		log_info("Container names: *.%s goes to the guest's DNS server at %s", c->domain,
			 text);
		memcpy(d->target_pub, pick->public_key, WG_KEY_LEN);
	} else {
		log_info("Container names: no guest serves *.%s", c->domain);
		memset(d->target_pub, 0, WG_KEY_LEN);
	}
	memcpy(d->target, target, n * sizeof(target[0]));
	d->n_target = n;
	resolver_set(d->r, target, n);
}

struct hostdns *hostdns_start(struct tunnel *t)
{
	struct hostdns *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->t = t;
	d->r = resolver_start(tunnel_config(t), tunnel_ifname(t));
	if (!d->r) {
		free(d);
		return NULL;
	}
	hostdns_choose(d);
	return d;
}

void hostdns_stop(struct hostdns *d)
{
	if (!d)
		return;
	resolver_stop(d->r);
	free(d);
}

bool hostdns_heard(struct hostdns *d, const uint8_t pub[WG_KEY_LEN], const struct ctlmsg *m)
{
	struct hostdns_guest *g = hostdns_guest(d, pub);
	struct hostdns_claim claim = { .n = m->n < CTLMSG_MAX_DNS ? m->n : CTLMSG_MAX_DNS };

	memcpy(claim.addrs, m->prefixes, claim.n * sizeof(claim.addrs[0]));
	snprintf(claim.domain, sizeof(claim.domain), "%s", m->domain);
	if (!g) {
		if (d->n_guests >= CONFIG_MAX_PEERS)
			return false;
		g = &d->guests[d->n_guests++];
		memset(g, 0, sizeof(*g));
		memcpy(g->pub, pub, WG_KEY_LEN);
	} else if (hostdns_claim_equal(&g->heard, &claim)) {
		return false;
	}
	g->heard = claim;
	return true;
}

/*
 * The addresses of claim that pass, into use; why the others do not, into
 * why (empty when all pass). Names off passes as it is.
 */
static size_t hostdns_check(const struct hostdns *d, const struct hostdns_claim *claim,
			    const struct config_peer *cp, const struct accept_host *view,
			    const struct accept_claims *c, struct prefix *use, char *why,
			    size_t size)
{
	struct accept_why w;
	char text[160];
	size_t n = 0, off = 0;

	why[0] = '\0';
	if (!claim->n)
		return 0;
	if (!accept_dns_domain(tunnel_config(d->t)->domain, claim->domain)) {
		snprintf(why, size, "the domain %s is not this host's (%s)", claim->domain,
			 tunnel_config(d->t)->domain);
		return 0;
	}
	if (!view) {
		snprintf(why, size, "the host's routes and addresses cannot be read");
		return 0;
	}
	for (size_t i = 0; i < claim->n; i++) {
		if (accept_dns(view, c, cp, &claim->addrs[i], &w) == ACCEPT_OK) {
			use[n++] = claim->addrs[i];
			continue;
		}
		if (off < size)
			off += (size_t)snprintf(why + off, size - off, "%s%s", off ? "; " : "",
						accept_why_format(&w, text, sizeof(text)));
	}
	return n;
}

void hostdns_judge(struct hostdns *d, const uint8_t pub[WG_KEY_LEN], const struct config_peer *cp,
		   const struct accept_host *view, const struct accept_claims *c)
{
	struct hostdns_guest *g = d ? hostdns_guest(d, pub) : NULL;
	struct prefix use[CTLMSG_MAX_DNS];
	char why[sizeof(g->refused)], again[sizeof(g->refused)];
	size_t n;

	if (!g)
		return;
	n = hostdns_check(d, &g->heard, cp, view, c, use, why, sizeof(why));
	if (n || !g->heard.n) {
		/* Believed (names off needs no proof): it is what is in effect now. */
		g->cur = g->heard;
		g->has_cur = true;
		memcpy(g->use, use, n * sizeof(use[0]));
		g->n_use = n;
	} else if (g->has_cur && view) {
		/*
		 * Refused whole: what was in effect stays, as far as it still
		 * passes (unless the host cannot tell: then it stays as it is).
		 */
		g->n_use = hostdns_check(d, &g->cur, cp, view, c, g->use, again, sizeof(again));
	}
	snprintf(g->refused, sizeof(g->refused), "%s", why);
	if (why[0] && strcmp(why, g->logged)) {
		char addrs[2 * PREFIX_STRLEN];

		hostdns_addrs(g->heard.addrs, g->heard.n, addrs, sizeof(addrs));
		log_warn("A guest announced its DNS server at %s for %s; refused: %s", addrs,
			 g->heard.domain, why);
	}
	snprintf(g->logged, sizeof(g->logged), "%s", why);
	hostdns_choose(d);
}

void hostdns_forget(struct hostdns *d, const uint8_t pub[WG_KEY_LEN])
{
	struct hostdns_guest *g = d ? hostdns_guest(d, pub) : NULL;

	if (!g)
		return;
	*g = d->guests[--d->n_guests];
}

void hostdns_refresh(struct hostdns *d)
{
	if (d)
		hostdns_choose(d);
}

void hostdns_status(const struct hostdns *d, struct ctlsock_status *s)
{
	const struct config *c;

	if (!d)
		return;
	c = tunnel_config(d->t);
	s->resolver = resolver_describe(d->r);
	for (size_t i = 0; i < c->n_peers && s->n_dns < CONFIG_MAX_PEERS; i++) {
		const struct config_peer *cp = &c->peers[i];
		const struct hostdns_guest *g = hostdns_guest(d, cp->public_key);
		struct ctlsock_dns *e = &s->dns[s->n_dns];

		memset(e, 0, sizeof(*e));
		e->peer = wg_peer_find(tunnel_device(d->t), cp->public_key);
		if (!e->peer)
			continue;
		e->domain = c->domain;
		if (g && g->refused[0])
			e->refused = g->refused;
		if (g && g->has_cur && !g->cur.n) {
			e->source = "off";
		} else if (g && g->has_cur) {
			e->source = "announced";
			e->n = g->n_use;
			memcpy(e->addrs, g->use, g->n_use * sizeof(g->use[0]));
		} else {
			e->source = "AllowedIPs";
			e->n = resolver_peer_dns(cp, e->addrs, CTLMSG_MAX_DNS);
		}
		e->in_use = d->n_target && !memcmp(d->target_pub, cp->public_key, WG_KEY_LEN);
		s->n_dns++;
	}
}
