/* firewall_ipt_linux.c - our rules in Docker's iptables (nft or legacy flavour) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>		/* before the kernel headers that want linux/if.h */
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include "firewall_int.h"
#include "log.h"

/*
 * Theory of operation
 *
 * Docker 20.10 - 28.x keep their rules in iptables, and an accept in
 * another nftables table does not override their drops. So our accepts go
 * into Docker's own chains: the top of filter DOCKER-USER (the chain Docker
 * leaves to users and jumps to first from FORWARD) and the top of raw
 * PREROUTING (where 28.x drops direct access to containers before any
 * filter rule runs). Every rule carries the comment "gangway:<tun>", which
 * is how we find our rules again and how we never touch anyone else's.
 *
 * We read with iptables-save and write with one iptables-restore --noflush
 * batch per family, both run as programs of the flavour dockerd used. The
 * batch deletes our rules by their exact text and inserts the wanted ones
 * at positions 1..n, so it either applies whole or not at all.
 *
 * This file runs things: it finds each flavour's programs, runs
 * iptables-save and iptables-restore, probes the legacy tables and decides
 * which chains to rewrite. What the rules say as text (building them, the
 * one iptables-save parser, the restore script, the inspection of a dump)
 * is firewall_ipt_text_linux.c's, pure and unit-tested on its own.
 *
 * Legacy iptables has no change events. Instead of running iptables-save
 * twice a second, a check reads the table through getsockopt (what
 * iptables itself does), hashes it without the packet counters, and only
 * runs iptables-save when the hash moved.
 */

#define IPT_TABLE_MAX	(64u << 20)	/* bytes of a legacy table read with getsockopt */

/* ------------------------------------------------------------ programs */

/* Programs of one iptables flavour, resolved to paths ("" if missing). */
struct firewall_ipt_progs {
	char save[2][256];	/* [0] IPv4, [1] IPv6 */
	char restore[2][256];
	bool multi;		/* xtables-*-multi: argv[1] names the tool */
};

/* One flavour's state: its programs and what we last wrote with them. */
struct firewall_ipt {
	bool legacy;
	struct firewall_ipt_progs progs;
	int progs_err;			/* -ENOENT: not installed */
	bool warned;			/* said so once */
	unsigned int families;		/* bit 0 IPv4, bit 1 IPv6: our rules are there */
	struct proc_buf out, script;	/* save output, restore input */
};

/* Find the save/restore programs of a flavour: 0 or -ENOENT. */
static int firewall_ipt_progs_find(bool legacy, struct firewall_ipt_progs *p)
{
	static const char *const tools[2][4] = {
		{ "iptables-nft-save", "iptables-nft-restore",
		  "ip6tables-nft-save", "ip6tables-nft-restore" },
		{ "iptables-legacy-save", "iptables-legacy-restore",
		  "ip6tables-legacy-save", "ip6tables-legacy-restore" },
	};
	const char *const *t = tools[legacy];
	char multi[256];

	memset(p, 0, sizeof(*p));
	if (!proc_which(t[0], p->save[0], sizeof(p->save[0])) &&
	    !proc_which(t[1], p->restore[0], sizeof(p->restore[0]))) {
		/* IPv6 tools may be missing; IPv4 alone still works. */
		proc_which(t[2], p->save[1], sizeof(p->save[1]));
		proc_which(t[3], p->restore[1], sizeof(p->restore[1]));
		if (!p->save[1][0] || !p->restore[1][0])
			p->save[1][0] = p->restore[1][0] = '\0';
		return 0;
	}
	/* Some distributions ship only the multi-call binary. */
	if (proc_which(legacy ? "xtables-legacy-multi" : "xtables-nft-multi",
			       multi, sizeof(multi)) < 0)
		return -ENOENT;
	memset(p, 0, sizeof(*p));
	snprintf(p->save[0], sizeof(p->save[0]), "%s", multi);
	snprintf(p->save[1], sizeof(p->save[1]), "%s", multi);
	snprintf(p->restore[0], sizeof(p->restore[0]), "%s", multi);
	snprintf(p->restore[1], sizeof(p->restore[1]), "%s", multi);
	p->multi = true;
	return 0;
}

/* Run save for family (AF_INET/AF_INET6) into out. 0 or -errno / -EIO. */
static int firewall_ipt_save(const struct firewall_ipt_progs *p, int family, struct proc_buf *out)
{
	int v6 = family == AF_INET6;
	char *argv[3];

	if (!p->save[v6][0])
		return -ENOENT;
	if (p->multi) {
		argv[0] = (char *)p->save[v6];
		argv[1] = (char *)(v6 ? "ip6tables-save" : "iptables-save");
		argv[2] = NULL;
	} else {
		argv[0] = (char *)p->save[v6];
		argv[1] = NULL;
	}
	return proc_run(v6 ? "ip6tables-save" : "iptables-save", p->save[v6],
				argv, NULL, out);
}

/* Feed script to restore --noflush -w for family. 0 or -errno / -EIO. */
static int firewall_ipt_restore(const struct firewall_ipt_progs *p, int family,
				const struct proc_buf *script)
{
	int v6 = family == AF_INET6;
	char *argv[6];
	int k = 0;

	if (!p->restore[v6][0])
		return -ENOENT;
	argv[k++] = (char *)p->restore[v6];
	if (p->multi)
		argv[k++] = (char *)(v6 ? "ip6tables-restore" : "iptables-restore");
	/* -w: wait for the xtables lock that dockerd's iptables calls take. */
	argv[k++] = (char *)"--noflush";
	argv[k++] = (char *)"-w";
	argv[k++] = (char *)"5";
	argv[k] = NULL;
	return proc_run(v6 ? "ip6tables-restore" : "iptables-restore",
				p->restore[v6], argv, script, NULL);
}

/* ------------------------------------------------------------ legacy probe */

/*
 * Legacy xtables tables in this namespace for family: bit 0 filter, bit 1
 * raw (from /proc, which never creates a table). 0 when none, -errno.
 */
static int firewall_ipt_legacy_tables(int family)
{
	const char *path = family == AF_INET6 ? "/proc/net/ip6_tables_names" :
						"/proc/net/ip_tables_names";
	char line[64];
	int mask = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, "filter"))
			mask |= 1;
		else if (!strcmp(line, "raw"))
			mask |= 2;
	}
	fclose(f);
	return mask;
}

static uint64_t firewall_ipt_fnv(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * Fingerprint of a legacy table (entries without counters) and whether it
 * holds a chain named chain. Only for tables that exist. 0 or -errno.
 *
 * The table's entries as the kernel hands them to iptables: a chain of
 * ipt_entry / ip6t_entry records linked by next_offset, each ending in a
 * target. A user chain starts with an "ERROR" target whose data is the
 * chain's name. Everything is bounds-checked: the blob comes from the
 * kernel, but a bad walk would still be our bug to find.
 */
static int firewall_ipt_legacy_probe(int family, const char *table, const char *chain,
				     uint64_t *fp, bool *has_chain)
{
	const bool v6 = family == AF_INET6;
	const size_t hdr = v6 ? sizeof(struct ip6t_entry) : sizeof(struct ipt_entry);
	const size_t o_target = v6 ? offsetof(struct ip6t_entry, target_offset) :
				     offsetof(struct ipt_entry, target_offset);
	const size_t o_next = v6 ? offsetof(struct ip6t_entry, next_offset) :
				   offsetof(struct ipt_entry, next_offset);
	const size_t o_counters = v6 ? offsetof(struct ip6t_entry, counters) :
				       offsetof(struct ipt_entry, counters);
	const int level = v6 ? SOL_IPV6 : SOL_IP;
	struct ipt_getinfo info;	/* same layout as ip6t_getinfo */
	struct ipt_get_entries *ent = NULL;
	socklen_t olen;
	size_t off, size = 0;
	uint64_t h = 0xcbf29ce484222325ull;
	int fd, ret, tries;

	_Static_assert(sizeof(struct ipt_getinfo) == sizeof(struct ip6t_getinfo),
		       "getinfo layouts differ");
	_Static_assert(sizeof(struct ipt_get_entries) == sizeof(struct ip6t_get_entries),
		       "get_entries layouts differ");
	/* The option numbers agree too; only the level differs. */
	_Static_assert(IPT_SO_GET_INFO == IP6T_SO_GET_INFO &&
		       IPT_SO_GET_ENTRIES == IP6T_SO_GET_ENTRIES, "getsockopt numbers differ");
	*has_chain = false;
	if (strlen(table) >= sizeof(info.name))
		return -EINVAL;
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -errno;

	for (tries = 0; tries < 3; tries++) {
		memset(&info, 0, sizeof(info));
		snprintf(info.name, sizeof(info.name), "%s", table);
		olen = sizeof(info);
		if (getsockopt(fd, level, IPT_SO_GET_INFO, &info, &olen) < 0) {
			ret = -errno;
			goto out;
		}
		size = info.size;
		if (size > IPT_TABLE_MAX) {
			ret = -E2BIG;
			goto out;
		}
		free(ent);
		ent = calloc(1, sizeof(*ent) + size);
		if (!ent) {
			ret = -ENOMEM;
			goto out;
		}
		snprintf(ent->name, sizeof(ent->name), "%s", table);
		ent->size = (unsigned int)size;
		olen = (socklen_t)(sizeof(*ent) + size);
		if (getsockopt(fd, level, IPT_SO_GET_ENTRIES, ent, &olen) == 0)
			break;
		/* EAGAIN: the table changed between the two calls. */
		if (errno != EAGAIN) {
			ret = -errno;
			goto out;
		}
	}
	if (tries == 3) {
		ret = -EAGAIN;
		goto out;
	}

	h = firewall_ipt_fnv(h, info.hook_entry, sizeof(info.hook_entry));
	h = firewall_ipt_fnv(h, info.underflow, sizeof(info.underflow));
	for (off = 0; off < size;) {
		uint8_t *e = (uint8_t *)ent->entrytable + off;
		uint16_t toff, next;

		if (size - off < hdr) {
			ret = -EINVAL;
			goto out;
		}
		memcpy(&toff, e + o_target, sizeof(toff));
		memcpy(&next, e + o_next, sizeof(next));
		if (next < hdr || next > size - off || toff < hdr ||
		    toff > next - sizeof(struct xt_entry_target)) {
			ret = -EINVAL;
			goto out;
		}
		/* Packet counters move all the time; the rules do not. */
		memset(e + o_counters, 0, sizeof(struct xt_counters));
		if (chain) {
			const struct xt_entry_target *t = (const void *)(e + toff);
			const size_t room = (size_t)(next - toff) - sizeof(*t);
			const char *name = (const char *)t->data;
			const size_t clen = strlen(chain);

			if (!strncmp(t->u.user.name, XT_ERROR_TARGET, sizeof(t->u.user.name)) &&
			    room > clen && !memcmp(name, chain, clen) && !name[clen])
				*has_chain = true;
		}
		off += next;
	}
	h = firewall_ipt_fnv(h, ent->entrytable, size);
	*fp = h;
	ret = 0;
out:
	free(ent);
	close(fd);
	return ret;
}

void firewall_ipt_legacy_fp(uint64_t fp[2])
{
	static const char *const tables[2] = { "filter", "raw" };
	int f, t, have;

	fp[0] = fp[1] = 0;
	for (f = 0; f < 2; f++) {
		have = firewall_ipt_legacy_tables(f ? AF_INET6 : AF_INET);
		for (t = 0; have > 0 && t < 2; t++) {
			uint64_t h = 0;
			bool dummy;

			if (!(have & (1 << t)))
				continue;
			if (firewall_ipt_legacy_probe(f ? AF_INET6 : AF_INET, tables[t], NULL,
						      &h, &dummy) < 0)
				h = 1;	/* unreadable: differs from any hash */
			fp[f] = fp[f] * 31 + h;
		}
	}
}

/* ------------------------------------------------------------ the backend */

struct firewall_ipt *firewall_ipt_open(bool legacy)
{
	struct firewall_ipt *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->legacy = legacy;
	p->progs_err = firewall_ipt_progs_find(legacy, &p->progs);
	return p;
}

void firewall_ipt_close(struct firewall_ipt *p)
{
	if (!p)
		return;
	proc_buf_free(&p->out);
	proc_buf_free(&p->script);
	free(p);
}

static int firewall_ipt_usable(struct firewall_ipt *p)
{
	const char *name = p->legacy ? "iptables-legacy" : "iptables-nft";

	if (p->progs_err && !p->warned) {
		log_err("Docker keeps its rules in %s, but %s-save/-restore are not installed: "
			"cannot open its firewall", name, name);
		p->warned = true;
	}
	return p->progs_err;
}

static int firewall_ipt_nft_usable(struct firewall_backends *b)
{
	return firewall_ipt_usable(b->ipt[0]);
}

static int firewall_ipt_legacy_usable(struct firewall_backends *b)
{
	return firewall_ipt_usable(b->ipt[1]);
}

static int firewall_ipt_nft_detect(struct firewall_backends *b)
{
	return firewall_nft_exists(b->nft, NFPROTO_IPV4, "filter", "DOCKER-USER") == 1;
}

static int firewall_ipt_legacy_detect(struct firewall_backends *b)
{
	uint64_t fp;
	bool has = false;

	/* Only tables that exist: reading one would create it. */
	return (firewall_ipt_legacy_tables(AF_INET) & 1) &&
	       firewall_ipt_legacy_probe(AF_INET, "filter", "DOCKER-USER", &fp, &has) == 0 && has;
}

/*
 * Our rules in one family: read, compare, rewrite what is off.
 * *written counts rules inserted.
 */
static int firewall_ipt_sync_family(struct firewall_ipt *p, const struct firewall_spec *sp,
				    int family, bool force, size_t *written)
{
	struct firewall_ipt_rule *want[FIREWALL_IPT_NCHAINS] = { NULL };
	size_t n_want[FIREWALL_IPT_NCHAINS] = { 0 }, cap = 2 * sp->n + 1;
	struct firewall_ipt_scan s;
	bool fix[FIREWALL_IPT_NCHAINS], any = false;
	enum firewall_ipt_chain filter_chain;
	int ret, c;

	*written = 0;
	ret = firewall_ipt_usable(p);
	if (ret)
		return ret;
	if (!p->progs.save[family == AF_INET6][0])
		return 0;	/* no ip6tables: nothing of ours can be there */
	ret = firewall_ipt_save(&p->progs, family, &p->out);
	if (ret < 0)
		return ret;
	ret = firewall_ipt_text_scan(p->out.p ? p->out.p : "", p->out.len, sp->comment, &s);
	if (ret < 0)
		return ret;
	for (c = 0; c < FIREWALL_IPT_NCHAINS; c++) {
		want[c] = calloc(cap, sizeof(*want[c]));
		if (!want[c]) {
			ret = -ENOMEM;
			goto out;
		}
	}
	/*
	 * Where Docker is not (no DOCKER chain in this family), nothing of
	 * ours belongs. Our accepts go to DOCKER-USER; Docker 20.10 has none
	 * for IPv6 (but sets the FORWARD policy to DROP), so there they go
	 * to the top of FORWARD. raw only when the table exists: Docker 28
	 * creates it for its drops, and we never create a table ourselves.
	 */
	filter_chain = s.has_user ? FIREWALL_IPT_USER : FIREWALL_IPT_FORWARD;
	if (s.has_user || s.has_docker) {
		ret = firewall_ipt_text_expect(sp->tun, sp->op, sp->n, family,
					       filter_chain, want[filter_chain], cap);
		if (ret < 0)
			goto out;
		n_want[filter_chain] = (size_t)ret;
		if (s.has_raw) {
			ret = firewall_ipt_text_expect(sp->tun, sp->op, sp->n, family,
						       FIREWALL_IPT_RAW, want[FIREWALL_IPT_RAW], cap);
			if (ret < 0)
				goto out;
			n_want[FIREWALL_IPT_RAW] = (size_t)ret;
		}
	}
	ret = 0;
	for (c = 0; c < FIREWALL_IPT_NCHAINS; c++) {
		fix[c] = !firewall_ipt_text_in_place(&s, (enum firewall_ipt_chain)c, want[c], n_want[c]) ||
			 (force && n_want[c]);
		any |= fix[c];
	}
	if (!any)
		goto out;
	p->script.len = 0;
	ret = firewall_ipt_text_script(&s, p->out.p, fix, false,
				       (const struct firewall_ipt_rule *const *)want, n_want,
				       &p->script, written);
	if (!ret && p->script.len)
		ret = firewall_ipt_restore(&p->progs, family, &p->script);
	if (ret)
		*written = 0;
out:
	for (c = 0; c < FIREWALL_IPT_NCHAINS; c++)
		free(want[c]);
	firewall_ipt_text_scan_free(&s);
	return ret;
}

/* Both families: the plan's, and those that held ours before (to empty them). */
static int firewall_ipt_sync(struct firewall_ipt *p, const struct firewall_spec *sp, bool force,
			     size_t *written)
{
	unsigned int fams = 0;
	size_t n = 0, i;
	int f, ret;

	*written = 0;
	for (i = 0; i < sp->n; i++)
		fams |= sp->op[i].src.family == AF_INET6 ? 2u : 1u;
	p->families |= fams;
	for (f = 0; f < 2; f++) {
		if (!(p->families & (1u << f)))
			continue;
		ret = firewall_ipt_sync_family(p, sp, f ? AF_INET6 : AF_INET, force, &n);
		if (ret < 0)
			return ret;
		*written += n;
	}
	/* Families we no longer use are clean now. */
	p->families = fams;
	return 0;
}

static int firewall_ipt_nft_sync(struct firewall_backends *b, const struct firewall_spec *sp,
				 bool force, size_t *written)
{
	return firewall_ipt_sync(b->ipt[0], sp, force, written);
}

static int firewall_ipt_legacy_sync(struct firewall_backends *b, const struct firewall_spec *sp,
				    bool force, size_t *written)
{
	return firewall_ipt_sync(b->ipt[1], sp, force, written);
}

/* Delete every rule with our comment from one flavour (both families). */
static int firewall_ipt_purge(struct firewall_backends *b, bool legacy, const char *comment,
			      size_t *removed)
{
	static const int fams[2][2] = { { AF_INET, NFPROTO_IPV4 }, { AF_INET6, NFPROTO_IPV6 } };
	struct firewall_ipt *p = b->ipt[legacy];
	const bool none[FIREWALL_IPT_NCHAINS] = { false };
	const struct firewall_ipt_rule *const nowant[FIREWALL_IPT_NCHAINS] = { NULL };
	const size_t n_nowant[FIREWALL_IPT_NCHAINS] = { 0 };
	int f, ret = 0, first = 0;

	*removed = 0;
	p->families = 0;
	if (p->progs_err)
		return 0;
	for (f = 0; f < 2; f++) {
		struct firewall_ipt_scan s;
		size_t dummy;

		/* Do not even run save where this flavour has no tables. */
		if (legacy) {
			if (firewall_ipt_legacy_tables(fams[f][0]) <= 0)
				continue;
		} else if (firewall_nft_exists(b->nft, fams[f][1], "filter", NULL) != 1 &&
			   firewall_nft_exists(b->nft, fams[f][1], "raw", NULL) != 1) {
			continue;
		}
		if (!p->progs.save[f][0])
			continue;
		ret = firewall_ipt_save(&p->progs, fams[f][0], &p->out);
		if (!ret)
			ret = firewall_ipt_text_scan(p->out.p ? p->out.p : "", p->out.len, comment, &s);
		if (ret) {
			first = first ? first : ret;
			continue;
		}
		if (s.n_found) {
			p->script.len = 0;
			ret = firewall_ipt_text_script(&s, p->out.p, none, true, nowant, n_nowant,
						       &p->script, &dummy);
			if (!ret)
				ret = firewall_ipt_restore(&p->progs, fams[f][0], &p->script);
			if (!ret)
				*removed += s.n_found;
			else
				first = first ? first : ret;
		}
		firewall_ipt_text_scan_free(&s);
	}
	return first;
}

static int firewall_ipt_nft_purge(struct firewall_backends *b, const char *comment,
				  size_t *removed)
{
	return firewall_ipt_purge(b, false, comment, removed);
}

static int firewall_ipt_legacy_purge(struct firewall_backends *b, const char *comment,
				     size_t *removed)
{
	return firewall_ipt_purge(b, true, comment, removed);
}

static int firewall_ipt_inspect(struct firewall_ipt *p, const char *tun,
				struct firewall_inspect *r)
{
	int f, ret;

	for (f = 0; f < 2; f++) {
		struct firewall_inspect_ipt *fi = &r->ipt[f];

		memset(fi, 0, sizeof(*fi));
		if (p->progs_err || !p->progs.save[f][0])
			continue;
		if (firewall_ipt_save(&p->progs, f ? AF_INET6 : AF_INET, &p->out) < 0 ||
		    !p->out.len)
			continue;
		ret = firewall_ipt_text_inspect(p->out.p, p->out.len, tun, fi);
		if (ret < 0)
			return ret;
		fi->read = true;
	}
	return 0;
}

static int firewall_ipt_nft_inspect(struct firewall_backends *b, const char *tun,
				    struct firewall_inspect *r)
{
	return firewall_ipt_inspect(b->ipt[0], tun, r);
}

static int firewall_ipt_legacy_inspect(struct firewall_backends *b, const char *tun,
				       struct firewall_inspect *r)
{
	return firewall_ipt_inspect(b->ipt[1], tun, r);
}

const struct firewall_ops firewall_ipt_nft_ops = {
	.mech = FIREWALL_IPTABLES_NFT,
	.detect = firewall_ipt_nft_detect,
	.usable = firewall_ipt_nft_usable,
	.sync = firewall_ipt_nft_sync,
	.purge = firewall_ipt_nft_purge,
	.inspect = firewall_ipt_nft_inspect,
};

const struct firewall_ops firewall_ipt_legacy_ops = {
	.mech = FIREWALL_IPTABLES_LEGACY,
	.detect = firewall_ipt_legacy_detect,
	.usable = firewall_ipt_legacy_usable,
	.sync = firewall_ipt_legacy_sync,
	.purge = firewall_ipt_legacy_purge,
	.inspect = firewall_ipt_legacy_inspect,
};
