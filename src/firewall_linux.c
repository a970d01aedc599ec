/* firewall_linux.c - let routed tunnel traffic past Docker's firewall, and back */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>

#include "firewall_int.h"
#include "log.h"

/*
 * Theory of operation
 *
 * The plan: every (host source, bridge network) pair of the view is an
 * opening. What an opening needs depends on the engine:
 *
 *   all engines      our table inet gangway: SNAT to the bridge's gateway,
 *                    TCP MSS clamp (firewall_nft_table_linux.c)
 *   iptables (20.10 - 28.x, and 29 with its default backend), in the
 *                    flavour dockerd used: accepts at the top of DOCKER-USER
 *                    and raw PREROUTING (firewall_ipt_linux.c)
 *   Docker 29 nftables backend: the bridge-accept-fwmark set at priority
 *                    -301 in our table, plus accepts at the top of Docker's
 *                    raw-PREROUTING chains (firewall_nft_docker_linux.c)
 *
 * Docker rewrites its rules whenever it likes (start, restart, network
 * create). firewall_check runs on a timer and on nftables events; it first
 * asks whether anything changed at all - the nftables generation for
 * iptables-nft and Docker 29, a hash of the legacy tables for
 * iptables-legacy - and only then looks at rules and repairs them.
 * A repair rewrites only our rules, in one transaction per table family.
 *
 * Ownership: our table by its name, every other rule by its comment
 * "gangway:<tun>". firewall_new removes what an earlier run left behind;
 * firewall_remove removes all of ours. Nothing else is ever changed.
 *
 * This file knows no rule syntax. Each way Docker keeps rules is one
 * backend implementing struct firewall_ops (firewall_int.h) whole; this
 * file plans, detects, times the checks and dispatches to the one in use,
 * and the backends never call back up.
 */

#define FW_BACKOFF_MAX	64	/* checks (x 0.5 s) between retries at most */

struct firewall {
	char tun[IF_NAMESIZE];
	char comment[FIREWALL_COMMENT_LEN];
	struct prefix *sources;
	size_t n_sources;
	unsigned int mtu;
	bool snat;
	enum config_firewall mode;
	uint32_t fwmark;
	bool off;			/* Firewall = off: touch nothing */

	enum firewall_mech mech;
	struct firewall_backends be;	/* nftables, and iptables of each flavour */

	struct firewall_opening *plan;
	size_t n_plan;
	struct firewall_remap *remap;	/* host prefixes mapped onto ours */
	size_t n_remap;
	bool have_view;
	bool force;			/* the plan changed: rewrite all of ours */
	bool dirty;			/* verify at the next check */

	uint32_t gen;			/* nftables generation last verified */
	bool gen_valid;
	uint64_t legacy_fp[2];
	uint64_t checks;		/* checks that read the rules after a change */
	unsigned int backoff, skip;	/* after failures: checks to skip */
	int last_err;
};

/* ------------------------------------------------------------ pure parts */

static bool firewall_link_local(const struct prefix *p)
{
	if (p->family == AF_INET6)
		return p->addr.b[0] == 0xfe && (p->addr.b[1] & 0xc0) == 0x80;
	return p->addr.b[0] == 169 && p->addr.b[1] == 254;
}

static bool firewall_prefix_ok(const struct prefix *p)
{
	size_t alen = prefix_addr_len(p->family);

	return alen && p->len <= alen * 8;
}

int firewall_plan(const struct firewall_opts *o, const struct discover_view *v,
		  struct firewall_opening *out, size_t max)
{
	size_t nb, np, b, a, i, s, j, k = 0;

	if (!o || !v)
		return -EINVAL;
	if (!o->sources || !o->n_sources)
		return 0;
	nb = v->n_bridges < DISCOVER_MAX_BRIDGES ? v->n_bridges : DISCOVER_MAX_BRIDGES;
	np = v->n_prefixes;
	if (np > sizeof(v->prefixes) / sizeof(v->prefixes[0]))
		np = sizeof(v->prefixes) / sizeof(v->prefixes[0]);

	for (b = 0; b < nb; b++) {
		const struct discover_bridge *br = &v->bridges[b];
		size_t na = br->n_addrs < DISCOVER_MAX_ADDRS ? br->n_addrs : DISCOVER_MAX_ADDRS;

		if (!memchr(br->ifname, '\0', sizeof(br->ifname)) ||
		    !firewall_ifname_ok(br->ifname)) {
			log_debug("firewall: skipping bridge with an unusable name");
			continue;
		}
		for (a = 0; a < na; a++) {
			const struct prefix *addr = &br->addrs[a];
			struct prefix net;

			if (!firewall_prefix_ok(addr) || firewall_link_local(addr) ||
			    addr->len == prefix_addr_len(addr->family) * 8)
				continue;
			net = *addr;
			prefix_mask(&net);
			for (i = 0; i < np; i++) {
				const struct prefix *p = &v->prefixes[i];
				struct prefix dst;

				if (p->family != net.family || !firewall_prefix_ok(p))
					continue;
				/* Open what is advertised and lies on this bridge. */
				if (prefix_contains(&net, p))
					dst = *p;
				else if (prefix_contains(p, &net))
					dst = net;
				else
					continue;
				prefix_mask(&dst);
				for (s = 0; s < o->n_sources; s++) {
					struct firewall_opening op;

					if (o->sources[s].family != dst.family ||
					    !firewall_prefix_ok(&o->sources[s]))
						continue;
					memset(&op, 0, sizeof(op));
					op.src = o->sources[s];
					prefix_mask(&op.src);
					op.dst = dst;
					op.gw = *addr;
					memcpy(op.bridge, br->ifname, sizeof(op.bridge));
					for (j = 0; j < k; j++)
						if (prefix_equal(&out[j].src, &op.src) &&
						    prefix_equal(&out[j].dst, &op.dst) &&
						    !strcmp(out[j].bridge, op.bridge))
							break;
					if (j < k)
						continue;
					if (k >= max)
						return -E2BIG;
					out[k++] = op;
				}
			}
		}
	}
	return (int)k;
}

const char *firewall_mech_name(enum firewall_mech m)
{
	switch (m) {
	case FIREWALL_NONE:		return "none";
	case FIREWALL_IPTABLES_NFT:	return "iptables-nft";
	case FIREWALL_IPTABLES_LEGACY:	return "iptables-legacy";
	case FIREWALL_NFTABLES:		return "nftables";
	}
	return "?";
}

/* ------------------------------------------------------------ sysctls */

/* Set a boolean sysctl to 1: 1 if we changed it, 0 if it was, -errno. */
static int firewall_sysctl_on(const char *path, const char *name)
{
	char cur[16] = "";
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	n = read(fd, cur, sizeof(cur) - 1);
	close(fd);
	if (n > 0 && cur[0] == '1')
		return 0;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	n = write(fd, "1\n", 2);
	close(fd);
	if (n != 2)
		goto fail;
	log_notice("Set %s = 1 (forwarding for the tunnel)", name);
	return 1;
fail:
	log_warn("Cannot set %s = 1: %s", name, strerror(errno));
	return -errno;
}

/* ------------------------------------------------------------ the engines */

/* In the order detection asks: Docker 29's own tables exist only with its
 * nftables backend, and an iptables-nft DOCKER-USER wins over a legacy one. */
static const struct firewall_ops *const firewall_ops_all[] = {
	&firewall_nft_docker_ops, &firewall_ipt_nft_ops, &firewall_ipt_legacy_ops,
};
#define FIREWALL_NOPS	(sizeof(firewall_ops_all) / sizeof(firewall_ops_all[0]))

static const struct firewall_ops *firewall_ops_of(enum firewall_mech m)
{
	size_t i;

	for (i = 0; i < FIREWALL_NOPS; i++)
		if (firewall_ops_all[i]->mech == m)
			return firewall_ops_all[i];
	return NULL;
}

static enum firewall_mech firewall_detect(struct firewall *fw)
{
	size_t i;

	for (i = 0; i < FIREWALL_NOPS; i++)
		if (firewall_ops_all[i]->detect(&fw->be) == 1)
			return firewall_ops_all[i]->mech;
	return FIREWALL_NONE;
}

/* Remove all of ours: our table, then our rules in every backend's chains. */
static int firewall_purge(struct firewall *fw, size_t *removed, bool *table)
{
	size_t n, i;
	int ret, first = 0;

	*removed = 0;
	*table = firewall_nft_exists(fw->be.nft, NFPROTO_INET, FIREWALL_TABLE, NULL) == 1;
	ret = firewall_nft_table_delete(fw->be.nft);
	if (ret)
		first = ret;
	for (i = 0; i < FIREWALL_NOPS; i++) {
		n = 0;
		ret = firewall_ops_all[i]->purge(&fw->be, fw->comment, &n);
		*removed += n;
		if (ret && !first)
			first = ret;
	}
	return first;
}

static unsigned int firewall_plan_families(const struct firewall *fw)
{
	unsigned int f = 0;
	size_t i;

	for (i = 0; i < fw->n_plan; i++)
		f |= fw->plan[i].src.family == AF_INET6 ? 2u : 1u;
	return f;
}

/*
 * Make everything match the plan. force: rewrite all of ours (the plan
 * changed). *written counts rules written, *found is set when the engine
 * was found (or changed) on this call.
 */
static int firewall_sync(struct firewall *fw, bool force, size_t *written, bool *found)
{
	const struct firewall_ops *ops;
	struct firewall_spec spec;
	size_t n = 0;
	int ret;

	*written = 0;
	*found = false;
	if (fw->mode == CONFIG_FW_AUTO) {
		enum firewall_mech m = firewall_detect(fw);

		if (m != fw->mech) {
			size_t gone = 0;
			int err = 0;

			/* Ours in the old place would only be leftovers. */
			if (firewall_ops_of(fw->mech))
				err = firewall_ops_of(fw->mech)->purge(&fw->be, fw->comment, &gone);
			if (err)
				log_warn("Could not remove our rules from %s: %s",
					 firewall_mech_name(fw->mech), strerror(-err));
			if (m != FIREWALL_NONE)
				log_notice("Docker's firewall: %s", firewall_mech_name(m));
			else
				log_notice("Docker's firewall is gone (was %s)",
					   firewall_mech_name(fw->mech));
			fw->mech = m;
			force = true;
			*found = m != FIREWALL_NONE;
		}
	}

	memset(&spec, 0, sizeof(spec));
	spec.tun = fw->tun;
	spec.comment = fw->comment;
	spec.mtu = fw->mtu;
	spec.snat = fw->snat;
	spec.mark = fw->mech == FIREWALL_NFTABLES ? fw->fwmark : 0;
	spec.op = fw->plan;
	spec.n = fw->n_plan;
	spec.remap = fw->remap;
	spec.n_remap = fw->n_remap;

	ret = force ? 1 : firewall_nft_table_verify(fw->be.nft, &spec);
	if (ret < 0)
		return ret;
	if (ret > 0) {
		ret = firewall_nft_table_install(fw->be.nft, &spec, &n);
		if (ret < 0)
			return ret;
		*written += n;
	}

	ops = firewall_ops_of(fw->mech);
	if (ops) {
		ret = ops->sync(&fw->be, &spec, force, &n);
		if (ret < 0)
			return ret;
		*written += n;
	}
	return 0;
}

/* Remember what the ruleset looked like when it was last found right. */
static void firewall_snapshot(struct firewall *fw, uint32_t gen, bool gen_ok,
			      const uint64_t fp[2])
{
	fw->gen = gen;
	fw->gen_valid = gen_ok;
	fw->legacy_fp[0] = fp[0];
	fw->legacy_fp[1] = fp[1];
	fw->checks++;
}

/* Hash of the legacy tables, where they may hold Docker's rules; 0: none. */
static void firewall_legacy_fp(struct firewall *fw, uint64_t fp[2])
{
	fp[0] = fp[1] = 0;
	if (fw->mech != FIREWALL_IPTABLES_LEGACY &&
	    !(fw->mech == FIREWALL_NONE && fw->mode == CONFIG_FW_AUTO))
		return;
	firewall_ipt_legacy_fp(fp);
}

/* ------------------------------------------------------------ the API */

struct firewall *firewall_new(const struct firewall_opts *o)
{
	struct firewall *fw;
	size_t removed = 0, i;
	bool table = false;
	int err;

	if (!o || !firewall_ifname_ok(o->tun_ifname) || (o->n_sources && !o->sources) ||
	    o->n_sources > CONFIG_MAX_PREFIXES) {
		errno = EINVAL;
		return NULL;
	}
	fw = calloc(1, sizeof(*fw));
	if (!fw)
		return NULL;
	snprintf(fw->tun, sizeof(fw->tun), "%s", o->tun_ifname);
	if (firewall_comment(fw->tun, fw->comment, sizeof(fw->comment)) < 0) {
		free(fw);
		errno = EINVAL;
		return NULL;
	}
	fw->mtu = o->mtu;
	fw->snat = o->snat;
	fw->mode = o->mode;
	fw->fwmark = o->fwmark;
	if (o->mode == CONFIG_FW_OFF) {
		fw->off = true;
		log_info("Firewall handling is off: no rules are added");
		return fw;
	}
	if (o->n_sources) {
		fw->sources = calloc(o->n_sources, sizeof(*fw->sources));
		if (!fw->sources)
			goto fail;
		for (i = 0; i < o->n_sources; i++) {
			if (!firewall_prefix_ok(&o->sources[i])) {
				log_warn("firewall: ignoring an invalid source prefix");
				continue;
			}
			fw->sources[fw->n_sources] = o->sources[i];
			prefix_mask(&fw->sources[fw->n_sources++]);
		}
	}
	fw->plan = calloc(FIREWALL_MAX_OPENINGS, sizeof(*fw->plan));
	if (!fw->plan)
		goto fail;
	fw->be.nft = firewall_nft_open();
	if (!fw->be.nft) {
		err = errno;
		log_err("Cannot talk to nftables: %s", strerror(err));
		errno = err;
		goto fail;
	}
	fw->be.ipt[0] = firewall_ipt_open(false);
	fw->be.ipt[1] = firewall_ipt_open(true);
	if (!fw->be.ipt[0] || !fw->be.ipt[1])
		goto fail;

	switch (o->mode) {
	case CONFIG_FW_IPTABLES_NFT:
		fw->mech = FIREWALL_IPTABLES_NFT;
		break;
	case CONFIG_FW_IPTABLES_LEGACY:
		fw->mech = FIREWALL_IPTABLES_LEGACY;
		break;
	case CONFIG_FW_NFTABLES:
		fw->mech = FIREWALL_NFTABLES;
		break;
	default:
		fw->mech = FIREWALL_NONE;
		break;
	}
	if (firewall_ops_of(fw->mech) && firewall_ops_of(fw->mech)->usable(&fw->be)) {
		errno = ENOENT;
		goto fail;
	}

	/* A crashed run may have left rules: never add a second set. */
	err = firewall_purge(fw, &removed, &table);
	if (removed || table)
		log_notice("Removed what an earlier run left: %s%zu iptables rules",
			   table ? "the gangway table, " : "", removed);
	if (err)
		log_warn("Could not remove all leftovers of an earlier run: %s", strerror(-err));
	if (fw->mode == CONFIG_FW_AUTO) {
		fw->mech = firewall_detect(fw);
		log_info("Docker's firewall: %s%s", firewall_mech_name(fw->mech),
			 fw->mech == FIREWALL_NONE ? " (not found yet; watching)" : "");
	}
	fw->dirty = true;
	return fw;
fail:
	err = errno ? errno : ENOMEM;
	firewall_free(fw);
	errno = err;
	return NULL;
}

int firewall_set_remaps(struct firewall *fw, const struct firewall_remap *r, size_t n)
{
	struct firewall_remap *v = NULL;
	bool same;

	if (!fw)
		return -EINVAL;
	same = n == fw->n_remap && (!n || !memcmp(r, fw->remap, n * sizeof(*r)));
	if (same || fw->off)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (r[i].host.family != r[i].guest.family || r[i].host.len != r[i].guest.len)
			return -EINVAL;
	if (n) {
		v = malloc(n * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memcpy(v, r, n * sizeof(*v));
	}
	free(fw->remap);
	fw->remap = v;
	fw->n_remap = n;
	/* Rewritten at the next check, which the caller's tick runs soon. */
	fw->force = true;
	fw->dirty = true;
	return 0;
}

int firewall_apply(struct firewall *fw, const struct discover_view *view)
{
	struct firewall_opts o;
	size_t written = 0;
	uint64_t fp[2];
	uint32_t gen = 0;
	bool gen_ok, found;
	unsigned int fams;
	int n, ret;

	if (!fw || !view)
		return -EINVAL;
	if (fw->off)
		return 0;
	memset(&o, 0, sizeof(o));
	o.tun_ifname = fw->tun;
	o.sources = fw->sources;
	o.n_sources = fw->n_sources;
	n = firewall_plan(&o, view, fw->plan, FIREWALL_MAX_OPENINGS);
	if (n < 0) {
		log_err("Too many openings (more than %d): firewall unchanged", FIREWALL_MAX_OPENINGS);
		fw->n_plan = 0;
		return n;
	}
	fw->n_plan = (size_t)n;
	fw->have_view = true;
	if (!fw->n_sources)
		log_warn("No host sources: the firewall opens nothing");
	else if (!n)
		log_info("No bridge network to open yet");

	fams = firewall_plan_families(fw);
	if (fams & 1)
		firewall_sysctl_on("/proc/sys/net/ipv4/ip_forward", "net.ipv4.ip_forward");
	if (fams & 2)
		firewall_sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding",
				   "net.ipv6.conf.all.forwarding");

	firewall_legacy_fp(fw, fp);
	gen_ok = firewall_nft_genid(fw->be.nft, &gen) == 0;
	ret = firewall_sync(fw, true, &written, &found);
	if (ret < 0) {
		log_err("Could not install the firewall rules (%s): %s; retrying",
			firewall_mech_name(fw->mech), strerror(-ret));
		fw->dirty = true;
		fw->force = true;
		return ret;
	}
	fw->force = false;
	fw->dirty = false;
	fw->backoff = fw->skip = 0;
	fw->last_err = 0;
	firewall_snapshot(fw, gen, gen_ok, fp);
	log_info("Firewall: %zu openings, %zu rules (%s%s)", fw->n_plan, written,
		 firewall_mech_name(fw->mech), fw->snat ? ", SNAT" : "");
	return 0;
}

int firewall_check(struct firewall *fw)
{
	size_t written = 0;
	uint64_t fp[2];
	uint32_t gen = 0;
	bool gen_ok, changed, found;
	int ret;

	if (!fw || fw->off || !fw->have_view)
		return 0;
	if (fw->skip) {
		fw->skip--;
		return 0;
	}
	changed = fw->dirty;
	gen_ok = firewall_nft_genid(fw->be.nft, &gen) == 0;
	if (!gen_ok || !fw->gen_valid || gen != fw->gen)
		changed = true;
	firewall_legacy_fp(fw, fp);
	if (fp[0] != fw->legacy_fp[0] || fp[1] != fw->legacy_fp[1])
		changed = true;
	if (!changed)
		return 0;

	ret = firewall_sync(fw, fw->force, &written, &found);
	if (ret < 0) {
		/* Often a race with dockerd rewriting the same chains: retry
		 * at once, then back off so a lasting failure does not spin. */
		if (ret != fw->last_err)
			log_warn("Firewall check failed: %s", strerror(-ret));
		fw->last_err = ret;
		fw->dirty = true;
		fw->checks++;		/* ours may be missing: worth a look */
		fw->skip = fw->backoff;
		fw->backoff = fw->backoff ? fw->backoff * 2 : 1;
		if (fw->backoff > FW_BACKOFF_MAX)
			fw->backoff = FW_BACKOFF_MAX;
		return ret;
	}
	if (fw->last_err)
		log_notice("Firewall check works again");
	fw->last_err = 0;
	fw->backoff = 0;
	fw->dirty = false;
	fw->force = false;
	firewall_snapshot(fw, gen, gen_ok, fp);
	if (!written)
		return 0;
	if (found)
		log_notice("Added %zu gangway rules for Docker's firewall (%s)", written,
			   firewall_mech_name(fw->mech));
	else
		log_notice("Docker rewrote its rules; restored %zu gangway rules", written);
	return 1;
}

int firewall_event_fd(const struct firewall *fw)
{
	if (!fw || fw->off)
		return -1;
	return firewall_nft_event_fd(fw->be.nft);
}

bool firewall_event_process(struct firewall *fw)
{
	if (!fw || fw->off)
		return false;
	return firewall_nft_event_drain(fw->be.nft);
}

void firewall_remove(struct firewall *fw)
{
	size_t removed = 0;
	bool table = false;
	int ret;

	if (!fw || fw->off || !fw->be.nft)
		return;
	ret = firewall_purge(fw, &removed, &table);
	if (ret)
		log_warn("Could not remove all firewall rules: %s", strerror(-ret));
	else
		log_info("Removed the firewall rules (%zu iptables rules%s)", removed,
			 table ? ", the gangway table" : "");
	fw->have_view = false;
	fw->n_plan = 0;
}

void firewall_free(struct firewall *fw)
{
	if (!fw)
		return;
	firewall_nft_close(fw->be.nft);
	firewall_ipt_close(fw->be.ipt[0]);
	firewall_ipt_close(fw->be.ipt[1]);
	free(fw->plan);
	free(fw->remap);
	free(fw->sources);
	free(fw);
}

enum firewall_mech firewall_mechanism(const struct firewall *fw)
{
	return fw ? fw->mech : FIREWALL_NONE;
}

int firewall_mech_parse(const char *name, enum firewall_mech *m)
{
	static const enum firewall_mech all[] = {
		FIREWALL_NONE, FIREWALL_IPTABLES_NFT, FIREWALL_IPTABLES_LEGACY, FIREWALL_NFTABLES,
	};
	size_t i;

	for (i = 0; name && i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(name, firewall_mech_name(all[i]))) {
			*m = all[i];
			return 0;
		}
	}
	return -EINVAL;
}

bool firewall_legacy_in_use(void)
{
	return firewall_ipt_legacy_ops.detect(NULL) == 1;
}

uint64_t firewall_checks(const struct firewall *fw)
{
	return fw ? fw->checks : 0;
}

int firewall_inspect_own(struct firewall *fw, struct firewall_inspect *r)
{
	const struct firewall_ops *ops;

	if (!fw || !r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	ops = fw->off ? NULL : firewall_ops_of(fw->mech);
	if (!ops)
		return 0;	/* nothing of ours to look for: mechanism none */
	r->mech = fw->mech;
	return ops->inspect(&fw->be, fw->tun, r);
}

int firewall_inspect(enum firewall_mech m, const char *tun, struct firewall_inspect *r)
{
	const struct firewall_ops *ops = firewall_ops_of(m);
	struct firewall_backends be = { 0 };
	int ret;

	if (!r || !ops || !firewall_ifname_ok(tun))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->mech = m;
	/* Only what this backend reads: the doctor runs next to gangwayd. */
	if (m == FIREWALL_NFTABLES) {
		be.nft = firewall_nft_open();
		if (!be.nft)
			return -errno;
	} else {
		be.ipt[m == FIREWALL_IPTABLES_LEGACY] = firewall_ipt_open(m == FIREWALL_IPTABLES_LEGACY);
		if (!be.ipt[m == FIREWALL_IPTABLES_LEGACY])
			return -ENOMEM;
	}
	ret = ops->inspect(&be, tun, r);
	firewall_nft_close(be.nft);
	firewall_ipt_close(be.ipt[0]);
	firewall_ipt_close(be.ipt[1]);
	return ret;
}
