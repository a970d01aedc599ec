/* doctor_fw_linux.c - the doctor's firewall check: gangway's rules in place and first
 *
 * gangwayd keeps its own rules at the top of the chains it writes (and
 * repairs that within a second), but it never moves anyone else's: a DROP
 * someone inserted ahead of them, or a jump into Docker's chains that comes
 * before FORWARD's jump to DOCKER-USER, still drops the host's traffic. The
 * firewall module knows how each mechanism keeps rules; firewall_inspect
 * reads them without changing anything, firewall_findings judges what it
 * read (the same words gangwayd sends the host) and this file prints that.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "doctor.h"
#include "firewall.h"

/* The firewall rules of gangway are in place and in order (by the mechanism in use). */
void doctor_fw_check(struct doctor *d)
{
	static struct firewall_inspect r;	/* large: not on the stack */
	static struct firewall_findings f;
	const char *mech = d->st.firewall;
	enum firewall_mech m;

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
	firewall_findings(&r, d->tun, &f);
	for (size_t i = 0; i < f.n; i++)
		doctor_fail(d, f.v[i].fix, "%s", f.v[i].text);
	if (f.n)
		return;
	if (m == FIREWALL_NFTABLES)
		doctor_ok("Firewall (nftables): gangway's rules for %s are present, its "
			  "accept first in raw-PREROUTING.", d->tun);
	else
		doctor_ok("Firewall (%s): gangway's rules for %s are present and in order "
			  "(%s).", mech, d->tun, f.order);
}
