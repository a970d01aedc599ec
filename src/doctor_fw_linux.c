/* doctor_fw_linux.c - the doctor's firewall check: gangway's rules in place and first
 *
 * gangwayd keeps its own rules at the top of the chains it writes (and
 * repairs that within a second), but it never moves anyone else's: a DROP
 * someone inserted ahead of them, or a jump into Docker's chains that comes
 * before FORWARD's jump to DOCKER-USER, still drops the host's traffic. The
 * firewall module knows how each mechanism keeps rules; firewall_inspect
 * reads them without changing anything and this file says what it found.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "doctor.h"
#include "firewall.h"

static const char doctor_fw_fix_missing[] =
	"restart gangwayd, which installs them (while it runs it puts them back within a "
	"second: if they stay missing, see its log)";

/* Someone else's rule b stops what arrives from the tunnel ahead of where. */
static void doctor_fw_blocked(struct doctor *d, const char *what, const char *tool,
			      const struct firewall_inspect_block *b, const char *where)
{
	char fix[400];

	if (b->drop) {
		snprintf(fix, sizeof(fix), "delete that rule ('%s%s -D %s %u') or put it "
			 "below %s; gangwayd keeps its own rules first but never moves "
			 "anyone else's", tool, b->raw ? " -t raw" : "", b->chain, b->pos, where);
		doctor_fail(d, fix, "Firewall (%s): rule %u of %s%s, '%s', comes before %s "
			    "and drops what arrives from %s.", what, b->pos, b->raw ? "raw " : "",
			    b->chain, b->text, where, d->tun);
	} else {
		snprintf(fix, sizeof(fix), "restart dockerd, which puts its jump to "
			 "DOCKER-USER first again, or move it there yourself ('%s -I FORWARD "
			 "1 -j DOCKER-USER' and delete the old one)", tool);
		doctor_fail(d, fix, "Firewall (%s): rule %u of FORWARD, '%s', jumps into "
			    "Docker's chain %s before %s: Docker's drops there come before "
			    "gangway's accepts.", what, b->pos, b->text, b->target, where);
	}
}

/*
 * One iptables family: gangway's accepts present (new connections in from
 * the tunnel, replies back into it; raw PREROUTING where the raw table
 * exists) and nothing that drops ahead of them. Returns the number of our
 * rules seen (0: this family has none).
 */
static size_t doctor_fw_ipt(struct doctor *d, const struct firewall_inspect_ipt *f,
			    const char *mech, int family, char *where, size_t wsize)
{
	const bool legacy = !strcmp(mech, "iptables-legacy");
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	char prog[48], tool[32], what[64];
	int fails = d->fails;

	snprintf(tool, sizeof(tool), "%s-%s", family == AF_INET ? "iptables" : "ip6tables",
		 legacy ? "legacy" : "nft");
	snprintf(prog, sizeof(prog), "%s-save", tool);
	snprintf(what, sizeof(what), "%s, %s", mech, fam);
	if (!f->read || !f->ours)
		return 0;
	if (!f->in_pos)
		doctor_fail(d, doctor_fw_fix_missing, "Firewall (%s): gangway's rule accepting new "
			    "connections from %s to the containers is missing from '%s' (filter "
			    "DOCKER-USER or FORWARD).", what, d->tun, prog);
	if (!f->out_pos)
		doctor_fail(d, doctor_fw_fix_missing, "Firewall (%s): gangway's rule accepting the "
			    "containers' replies into %s is missing from '%s' (filter DOCKER-USER "
			    "or FORWARD).", what, d->tun, prog);
	if (f->has_raw && !f->raw_pos)
		doctor_fail(d, doctor_fw_fix_missing, "Firewall (%s): gangway's rules are missing "
			    "from raw PREROUTING, where Docker 28 drops direct access to "
			    "containers.", what);
	if (f->in_pos) {
		char here[96];

		snprintf(here, sizeof(here), "gangway's rules (rule %u of %s)", f->in_pos,
			 f->in_chain);
		if (f->before_in.pos)
			doctor_fw_blocked(d, what, tool, &f->before_in, here);
		if (!strcmp(f->in_chain, "DOCKER-USER") && !f->jump_pos) {
			doctor_fail(d, "restart dockerd, which adds it (or 'iptables -I FORWARD 1 "
				    "-j DOCKER-USER')", "Firewall (%s): FORWARD never jumps to "
				    "DOCKER-USER: gangway's rules there are never reached.", what);
		} else if (f->jump_pos && f->before_jump.pos) {
			snprintf(here, sizeof(here), "the jump to DOCKER-USER (rule %u of FORWARD)",
				 f->jump_pos);
			doctor_fw_blocked(d, what, tool, &f->before_jump, here);
		}
	}
	if (f->raw_pos && f->before_raw.pos)
		doctor_fw_blocked(d, what, tool, &f->before_raw, "gangway's rules");
	if (fails == d->fails && f->in_pos) {
		if (f->jump_pos)
			snprintf(where, wsize, "%s: FORWARD rule %u jumps to DOCKER-USER, gangway's "
				 "rules first there", fam, f->jump_pos);
		else
			snprintf(where, wsize, "%s: first in %s", fam, f->in_chain);
	}
	return f->ours;
}

/* Docker 29's nftables backend: our accept leads raw-PREROUTING of ip docker-bridges. */
static void doctor_fw_nft(struct doctor *d, const struct firewall_inspect *r)
{
	if (!r->nft_table)
		doctor_fail(d, "restart gangwayd, which creates it", "Firewall (nftables): "
			    "gangway's table inet gangway is missing.");
	if (!r->nft_accept_pos)
		doctor_fail(d, "set FwMark in [Gangway] and Docker's bridge-accept-fwmark "
			    "(docs/firewall.md), then restart gangwayd",
			    "Firewall (nftables): gangway's accept is missing from raw-PREROUTING "
			    "of ip docker-bridges, where Docker drops direct access.");
	else if (r->nft_drop_pos && r->nft_drop_pos < r->nft_accept_pos)
		doctor_fail(d, "restart gangwayd, which puts its rule first again",
			    "Firewall (nftables): rule %u of ip docker-bridges raw-PREROUTING "
			    "drops before gangway's accept (rule %u).", r->nft_drop_pos,
			    r->nft_accept_pos);
}

/* The firewall rules of gangway are in place and in order (by the mechanism in use). */
void doctor_fw_check(struct doctor *d)
{
	static struct firewall_inspect r;	/* large: not on the stack */
	const char *mech = d->st.firewall;
	char where4[160] = "", where6[160] = "";
	enum firewall_mech m;
	int fails = d->fails;
	size_t n4, n6;

	if (!d->st.has_firewall || !strcmp(mech, "none") || !strcmp(mech, "off")) {
		doctor_ok("Firewall: %s (no Docker firewall to open: nothing to check).",
			  mech[0] ? mech : "unknown");
		return;
	}
	/* A name no rule of ours can carry: there is nothing to look for. */
	for (const char *c = d->tun; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return;
	if (firewall_mech_parse(mech, &m) < 0 || m == FIREWALL_NONE) {
		doctor_ok("Firewall mechanism %s: rules not checked.", mech);
		return;
	}
	/* What cannot be read (not root, no program) reads as missing rules. */
	if (firewall_inspect(m, d->tun, &r) == -EINVAL)
		return;
	if (m == FIREWALL_NFTABLES) {
		doctor_fw_nft(d, &r);
		if (fails == d->fails)
			doctor_ok("Firewall (nftables): gangway's rules for %s are present, its "
				  "accept first in raw-PREROUTING.", d->tun);
		return;
	}
	n4 = doctor_fw_ipt(d, &r.ipt[0], mech, AF_INET, where4, sizeof(where4));
	n6 = doctor_fw_ipt(d, &r.ipt[1], mech, AF_INET6, where6, sizeof(where6));
	if (!n4 && !n6)
		doctor_fail(d, doctor_fw_fix_missing, "Firewall (%s): gangway's rules for %s are "
			    "missing from '%s-save'.", mech, d->tun,
			    m == FIREWALL_IPTABLES_LEGACY ? "iptables-legacy" : "iptables-nft");
	else if (fails == d->fails)
		doctor_ok("Firewall (%s): gangway's rules for %s are present and in order "
			  "(%s%s%s).", mech, d->tun, where4, where4[0] && where6[0] ? "; " : "",
			  where6);
}
