/* firewall_findings_linux.c - what an inspection of the firewall means, in words
 *
 * gangwayd keeps its own rules at the top of the chains it writes (and
 * repairs that within a second), but it never moves anyone else's: a DROP
 * someone inserted ahead of them, or a jump into Docker's chains that comes
 * before FORWARD's jump to DOCKER-USER, still drops the host's traffic.
 * firewall_inspect reads where the rules stand without changing anything;
 * this file judges that reading and says what is wrong and how to fix it.
 * The judgement is one pure function so that the guest's doctor and the
 * host (told by gangwayd in a FINDINGS control message) read the same words.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "firewall.h"

static const char firewall_findings_fix_missing[] =
	"restart gangwayd, which installs them (while it runs it puts them back within a "
	"second: if they stay missing, see its log)";

static void firewall_findings_add(struct firewall_findings *out, const char *fix,
				  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One more finding; past FIREWALL_FINDINGS_MAX the rest are left out. */
static void firewall_findings_add(struct firewall_findings *out, const char *fix,
				  const char *fmt, ...)
{
	struct firewall_finding *f;
	va_list ap;

	if (out->n >= FIREWALL_FINDINGS_MAX)
		return;
	f = &out->v[out->n++];
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
	snprintf(f->fix, sizeof(f->fix), "%s", fix);
}

/* Someone else's rule b stops what arrives from tun ahead of where. */
static void firewall_findings_blocked(struct firewall_findings *out, const char *what,
				      const char *tool, const char *tun,
				      const struct firewall_inspect_block *b, const char *where)
{
	char fix[FIREWALL_FINDING_FIX];

	if (b->drop) {
		snprintf(fix, sizeof(fix), "delete that rule ('%s%s -D %s %u') or put it "
			 "below %s; gangwayd keeps its own rules first but never moves "
			 "anyone else's", tool, b->raw ? " -t raw" : "", b->chain, b->pos, where);
		firewall_findings_add(out, fix, "Firewall (%s): rule %u of %s%s, '%s', comes "
				      "before %s and drops what arrives from %s.", what, b->pos,
				      b->raw ? "raw " : "", b->chain, b->text, where, tun);
	} else {
		snprintf(fix, sizeof(fix), "restart dockerd, which puts its jump to "
			 "DOCKER-USER first again, or move it there yourself ('%s -I FORWARD "
			 "1 -j DOCKER-USER' and delete the old one)", tool);
		firewall_findings_add(out, fix, "Firewall (%s): rule %u of FORWARD, '%s', jumps "
				      "into Docker's chain %s before %s: Docker's drops there "
				      "come before gangway's accepts.", what, b->pos, b->text,
				      b->target, where);
	}
}

/*
 * One iptables family: gangway's accepts present (new connections in from
 * the tunnel, replies back into it; raw PREROUTING where the raw table
 * exists) and nothing that drops ahead of them. Where all is well, where
 * ours stand goes to where. Returns the number of our rules seen (0: this
 * family has none).
 */
static size_t firewall_findings_ipt(struct firewall_findings *out,
				    const struct firewall_inspect_ipt *f, enum firewall_mech m,
				    int family, const char *tun, char *where, size_t wsize)
{
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	char prog[48], tool[32], what[64];
	size_t n = out->n;

	snprintf(tool, sizeof(tool), "%s-%s", family == AF_INET ? "iptables" : "ip6tables",
		 m == FIREWALL_IPTABLES_LEGACY ? "legacy" : "nft");
	snprintf(prog, sizeof(prog), "%s-save", tool);
	snprintf(what, sizeof(what), "%s, %s", firewall_mech_name(m), fam);
	if (!f->read || !f->ours)
		return 0;
	if (!f->in_pos)
		firewall_findings_add(out, firewall_findings_fix_missing, "Firewall (%s): "
				      "gangway's rule accepting new connections from %s to the "
				      "containers is missing from '%s' (filter DOCKER-USER or "
				      "FORWARD).", what, tun, prog);
	if (!f->out_pos)
		firewall_findings_add(out, firewall_findings_fix_missing, "Firewall (%s): "
				      "gangway's rule accepting the containers' replies into %s "
				      "is missing from '%s' (filter DOCKER-USER or FORWARD).",
				      what, tun, prog);
	if (f->has_raw && !f->raw_pos)
		firewall_findings_add(out, firewall_findings_fix_missing, "Firewall (%s): "
				      "gangway's rules are missing from raw PREROUTING, where "
				      "Docker 28 drops direct access to containers.", what);
	if (f->in_pos) {
		char here[96];

		snprintf(here, sizeof(here), "gangway's rules (rule %u of %s)", f->in_pos,
			 f->in_chain);
		if (f->before_in.pos)
			firewall_findings_blocked(out, what, tool, tun, &f->before_in, here);
		if (!strcmp(f->in_chain, "DOCKER-USER") && !f->jump_pos) {
			firewall_findings_add(out, "restart dockerd, which adds it (or 'iptables "
					      "-I FORWARD 1 -j DOCKER-USER')", "Firewall (%s): "
					      "FORWARD never jumps to DOCKER-USER: gangway's rules "
					      "there are never reached.", what);
		} else if (f->jump_pos && f->before_jump.pos) {
			snprintf(here, sizeof(here), "the jump to DOCKER-USER (rule %u of FORWARD)",
				 f->jump_pos);
			firewall_findings_blocked(out, what, tool, tun, &f->before_jump, here);
		}
	}
	if (f->raw_pos && f->before_raw.pos)
		firewall_findings_blocked(out, what, tool, tun, &f->before_raw, "gangway's rules");
	if (n == out->n && f->in_pos) {
		if (f->jump_pos)
			snprintf(where, wsize, "%s: FORWARD rule %u jumps to DOCKER-USER, gangway's "
				 "rules first there", fam, f->jump_pos);
		else
			snprintf(where, wsize, "%s: first in %s", fam, f->in_chain);
	}
	return f->ours;
}

/* Docker 29's nftables backend: our accept leads raw-PREROUTING of ip docker-bridges. */
static void firewall_findings_nft(struct firewall_findings *out, const struct firewall_inspect *r)
{
	if (!r->nft_table)
		firewall_findings_add(out, "restart gangwayd, which creates it", "Firewall "
				      "(nftables): gangway's table inet gangway is missing.");
	if (!r->nft_accept_pos)
		firewall_findings_add(out, "set FwMark in [Gangway] and Docker's "
				      "bridge-accept-fwmark (docs/firewall.md), then restart "
				      "gangwayd", "Firewall (nftables): gangway's accept is "
				      "missing from raw-PREROUTING of ip docker-bridges, where "
				      "Docker drops direct access.");
	else if (r->nft_drop_pos && r->nft_drop_pos < r->nft_accept_pos)
		firewall_findings_add(out, "restart gangwayd, which puts its rule first again",
				      "Firewall (nftables): rule %u of ip docker-bridges "
				      "raw-PREROUTING drops before gangway's accept (rule %u).",
				      r->nft_drop_pos, r->nft_accept_pos);
}

void firewall_findings(const struct firewall_inspect *r, const char *tun,
		       struct firewall_findings *out)
{
	char where4[160] = "", where6[160] = "";
	size_t n4, n6;

	memset(out, 0, sizeof(*out));
	if (r->mech == FIREWALL_NONE)
		return;
	if (r->mech == FIREWALL_NFTABLES) {
		firewall_findings_nft(out, r);
		return;
	}
	n4 = firewall_findings_ipt(out, &r->ipt[0], r->mech, AF_INET, tun, where4,
				   sizeof(where4));
	n6 = firewall_findings_ipt(out, &r->ipt[1], r->mech, AF_INET6, tun, where6,
				   sizeof(where6));
	if (!n4 && !n6)
		firewall_findings_add(out, firewall_findings_fix_missing, "Firewall (%s): "
				      "gangway's rules for %s are missing from '%s-save'.",
				      firewall_mech_name(r->mech), tun,
				      r->mech == FIREWALL_IPTABLES_LEGACY ? "iptables-legacy" :
				      "iptables-nft");
	else if (!out->n)
		snprintf(out->order, sizeof(out->order), "%s%s%s", where4,
			 where4[0] && where6[0] ? "; " : "", where6);
}
