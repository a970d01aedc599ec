/* firewall_ipt_linux.c - our rules in Docker's iptables (nft or legacy flavour) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>		/* before the kernel headers that want linux/if.h */
#include <sys/socket.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include "firewall.h"
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
 * Legacy iptables has no change events. Instead of running iptables-save
 * twice a second, a check reads the table through getsockopt (what
 * iptables itself does), hashes it without the packet counters, and only
 * runs iptables-save when the hash moved.
 */

#define IPT_TOKEN_MAX	256
#define IPT_TABLE_MAX	(64u << 20)	/* bytes of a legacy table read with getsockopt */


/* ------------------------------------------------------------ rule text */

int firewall_ipt_expect(const char *tun, const struct firewall_opening *op, size_t n,
			int family, enum firewall_ipt_chain c,
			struct firewall_ipt_rule *out, size_t max)
{
	struct firewall_ipt_rule r;
	char comment[FIREWALL_COMMENT_LEN];
	size_t i, j, k = 0;
	int ret;

	ret = firewall_comment(tun, comment, sizeof(comment));
	if (ret < 0)
		return ret;

	/* New connections in from the tunnel, per source and network. */
	for (i = 0; i < n; i++) {
		if (op[i].src.family != family)
			continue;
		memset(&r, 0, sizeof(r));
		/* iptables-save leaves out a /0, so must we to read it back. */
		r.has_src = op[i].src.len > 0;
		r.has_dst = op[i].dst.len > 0;
		r.src = op[i].src;
		r.dst = op[i].dst;
		snprintf(r.in, sizeof(r.in), "%s", tun);
		if (c != FIREWALL_IPT_RAW)
			snprintf(r.out, sizeof(r.out), "%s", op[i].bridge);
		r.accept = true;
		snprintf(r.comment, sizeof(r.comment), "%s", comment);
		/* raw has no -o: two bridges cannot share a network, but
		 * an opening may repeat there; keep each rule once. */
		for (j = 0; j < k; j++)
			if (firewall_ipt_rule_equal(&out[j], &r))
				break;
		if (j < k)
			continue;
		if (k >= max)
			return -E2BIG;
		out[k++] = r;
	}
	if (c == FIREWALL_IPT_RAW)
		return (int)k;

	/* Replies from each bridge back into the tunnel. Docker accepts
	 * them too; ours do not depend on its chain layout. */
	for (i = 0; i < n; i++) {
		if (op[i].src.family != family)
			continue;
		memset(&r, 0, sizeof(r));
		snprintf(r.in, sizeof(r.in), "%s", op[i].bridge);
		snprintf(r.out, sizeof(r.out), "%s", tun);
		r.established = true;
		r.accept = true;
		snprintf(r.comment, sizeof(r.comment), "%s", comment);
		for (j = 0; j < k; j++)
			if (firewall_ipt_rule_equal(&out[j], &r))
				break;
		if (j < k)
			continue;
		if (k >= max)
			return -E2BIG;
		out[k++] = r;
	}
	return (int)k;
}

int firewall_ipt_format(const struct firewall_ipt_rule *r, char *buf, size_t size)
{
	char src[PREFIX_STRLEN], dst[PREFIX_STRLEN];
	size_t len = 0;
	int n;

	if (!size)
		return -ENOSPC;
	buf[0] = '\0';
#define IPT_ADD(...) do {						\
		n = snprintf(buf + len, size - len, __VA_ARGS__);	\
		if (n < 0 || (size_t)n >= size - len)			\
			return -ENOSPC;					\
		len += (size_t)n;					\
	} while (0)
	/* The order iptables-save prints, so the text reads the same. */
	if (r->has_src)
		IPT_ADD("-s %s ", prefix_format(&r->src, src, sizeof(src)));
	if (r->has_dst)
		IPT_ADD("-d %s ", prefix_format(&r->dst, dst, sizeof(dst)));
	if (r->in[0])
		IPT_ADD("-i %s ", r->in);
	if (r->out[0])
		IPT_ADD("-o %s ", r->out);
	if (r->established)
		IPT_ADD("-m conntrack --ctstate RELATED,ESTABLISHED ");
	if (r->comment[0])
		IPT_ADD("-m comment --comment \"%s\" ", r->comment);
	IPT_ADD("-j ACCEPT");
#undef IPT_ADD
	return (int)len;
}

/*
 * Next word of iptables-save text: blank separated, "..." quoted with
 * backslash escapes (how iptables-save quotes a comment). Returns 1 with
 * the word in tok, 0 at the end, -EINVAL on an unterminated quote or a
 * word longer than the buffer.
 */
static int firewall_ipt_token(const char *s, size_t len, size_t *pos, char *tok, size_t size)
{
	size_t i = *pos, k = 0;
	bool quoted = false;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= len) {
		*pos = i;
		return 0;
	}
	if (s[i] == '"') {
		quoted = true;
		i++;
	}
	for (; i < len; i++) {
		char ch = s[i];

		if (quoted && ch == '\\' && i + 1 < len) {
			ch = s[++i];
		} else if (quoted && ch == '"') {
			quoted = false;
			i++;
			break;
		} else if (!quoted && (ch == ' ' || ch == '\t')) {
			break;
		}
		if (k + 1 >= size)
			return -EINVAL;
		tok[k++] = ch;
	}
	if (quoted)
		return -EINVAL;
	tok[k] = '\0';
	*pos = i;
	return 1;
}

static int firewall_ipt_ifname(char *dst, const char *tok)
{
	size_t n = strlen(tok);

	if (!n || n >= IF_NAMESIZE)
		return -EINVAL;
	memcpy(dst, tok, n + 1);
	return 0;
}

int firewall_ipt_parse(const char *spec, size_t len, struct firewall_ipt_rule *r)
{
	char tok[IPT_TOKEN_MAX], val[IPT_TOKEN_MAX];
	size_t pos = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	for (;;) {
		ret = firewall_ipt_token(spec, len, &pos, tok, sizeof(tok));
		if (ret <= 0)
			return ret;
		if (!strcmp(tok, "!")) {
			r->other = true;
			continue;
		}
		/* Every option we know takes exactly one value. */
		if (strcmp(tok, "-s") != 0 && strcmp(tok, "-d") != 0 && strcmp(tok, "-i") != 0 &&
		    strcmp(tok, "-o") != 0 && strcmp(tok, "-m") != 0 && strcmp(tok, "-j") != 0 &&
		    strcmp(tok, "--comment") != 0 && strcmp(tok, "--ctstate") != 0) {
			r->other = true;
			continue;
		}
		ret = firewall_ipt_token(spec, len, &pos, val, sizeof(val));
		if (ret <= 0)
			return -EINVAL;
		if (!strcmp(tok, "-s")) {
			if (prefix_parse(&r->src, val, false) < 0)
				return -EINVAL;
			r->has_src = true;
		} else if (!strcmp(tok, "-d")) {
			if (prefix_parse(&r->dst, val, false) < 0)
				return -EINVAL;
			r->has_dst = true;
		} else if (!strcmp(tok, "-i")) {
			if (firewall_ipt_ifname(r->in, val) < 0)
				return -EINVAL;
		} else if (!strcmp(tok, "-o")) {
			if (firewall_ipt_ifname(r->out, val) < 0)
				return -EINVAL;
		} else if (!strcmp(tok, "-m")) {
			if (strcmp(val, "comment") != 0 && strcmp(val, "conntrack") != 0)
				r->other = true;
		} else if (!strcmp(tok, "-j")) {
			if (!strcmp(val, "ACCEPT"))
				r->accept = true;
			else
				r->other = true;
		} else if (!strcmp(tok, "--comment")) {
			size_t vlen = strlen(val);

			if (vlen >= sizeof(r->comment))
				r->other = true;	/* not one of ours */
			else
				memcpy(r->comment, val, vlen + 1);
		} else {	/* --ctstate */
			if (!strcmp(val, "RELATED,ESTABLISHED"))
				r->established = true;
			else
				r->other = true;
		}
	}
}

bool firewall_ipt_rule_equal(const struct firewall_ipt_rule *a,
			     const struct firewall_ipt_rule *b)
{
	if (a->has_src != b->has_src || a->has_dst != b->has_dst)
		return false;
	if (a->has_src && !prefix_equal(&a->src, &b->src))
		return false;
	if (a->has_dst && !prefix_equal(&a->dst, &b->dst))
		return false;
	return !strcmp(a->in, b->in) && !strcmp(a->out, b->out) &&
	       a->established == b->established && a->accept == b->accept &&
	       !a->other && !b->other && !strcmp(a->comment, b->comment);
}

/* ------------------------------------------------------------ save output */

void firewall_ipt_scan_free(struct firewall_ipt_scan *s)
{
	free(s->found);
	memset(s, 0, sizeof(*s));
}

static int firewall_ipt_scan_add(struct firewall_ipt_scan *s, const struct firewall_ipt_found *f)
{
	if (s->n_found == s->cap_found) {
		size_t cap = s->cap_found ? s->cap_found * 2 : 16;
		struct firewall_ipt_found *p;

		if (cap > 1u << 20)
			return -E2BIG;
		p = realloc(s->found, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->found = p;
		s->cap_found = cap;
	}
	s->found[s->n_found++] = *f;
	return 0;
}

int firewall_ipt_scan(const char *text, size_t len, const char *comment,
		      struct firewall_ipt_scan *s)
{
	enum { T_OTHER, T_FILTER, T_RAW } table = T_OTHER;
	unsigned int pos_user = 0, pos_fwd = 0, pos_raw = 0;
	size_t clen = strlen(comment), off = 0;
	int ret;

	memset(s, 0, sizeof(*s));
	while (off < len) {
		const char *line = text + off, *nl;
		size_t llen;

		nl = memchr(line, '\n', len - off);
		llen = nl ? (size_t)(nl - line) : len - off;
		off += llen + (nl ? 1 : 0);

		if (llen >= 1 && line[0] == '*') {
			if (llen == 7 && !memcmp(line, "*filter", 7)) {
				table = T_FILTER;
				s->has_filter = true;
			} else if (llen == 4 && !memcmp(line, "*raw", 4)) {
				table = T_RAW;
				s->has_raw = true;
			} else {
				table = T_OTHER;
			}
			continue;
		}
		if (table == T_OTHER)
			continue;
		if (table == T_FILTER && llen >= 13 && !memcmp(line, ":DOCKER-USER ", 13)) {
			s->has_user = true;
			continue;
		}
		if (table == T_FILTER && llen >= 8 && !memcmp(line, ":DOCKER ", 8)) {
			s->has_docker = true;
			continue;
		}
		if (llen < 4 || memcmp(line, "-A ", 3) != 0)
			continue;

		/* "-A CHAIN spec" */
		{
			struct firewall_ipt_found f;
			const char *name = line + 3, *sp;
			size_t nlen, spec_off;
			unsigned int pos = 0;

			sp = memchr(name, ' ', llen - 3);
			nlen = sp ? (size_t)(sp - name) : llen - 3;
			if (table == T_FILTER && nlen == 11 && !memcmp(name, "DOCKER-USER", 11))
				pos = ++pos_user;
			else if (table == T_FILTER && nlen == 7 && !memcmp(name, "FORWARD", 7))
				pos = ++pos_fwd;
			else if (table == T_RAW && nlen == 10 && !memcmp(name, "PREROUTING", 10))
				pos = ++pos_raw;
			if (!sp || !clen || !memmem(sp, llen - 3 - nlen, comment, clen))
				continue;
			spec_off = (size_t)(sp + 1 - text);
			memset(&f, 0, sizeof(f));
			if (firewall_ipt_parse(text + spec_off, (size_t)(line + llen - (sp + 1)),
					       &f.rule) < 0)
				continue;	/* not ours: ours always parse */
			if (strcmp(f.rule.comment, comment) != 0)
				continue;
			if (nlen >= sizeof(f.chain))
				continue;
			f.raw = table == T_RAW;
			memcpy(f.chain, name, nlen);
			f.chain[nlen] = '\0';
			f.pos = pos;
			f.off = spec_off;
			f.len = (size_t)(line + llen - (sp + 1));
			ret = firewall_ipt_scan_add(s, &f);
			if (ret < 0) {
				firewall_ipt_scan_free(s);
				return ret;
			}
		}
	}
	return 0;
}

static bool firewall_ipt_found_in(const struct firewall_ipt_found *f, enum firewall_ipt_chain c)
{
	switch (c) {
	case FIREWALL_IPT_USER:
		return !f->raw && !strcmp(f->chain, "DOCKER-USER");
	case FIREWALL_IPT_FORWARD:
		return !f->raw && !strcmp(f->chain, "FORWARD");
	default:
		return f->raw && !strcmp(f->chain, "PREROUTING");
	}
}

bool firewall_ipt_in_place(const struct firewall_ipt_scan *s, enum firewall_ipt_chain c,
			   const struct firewall_ipt_rule *want, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < s->n_found; i++) {
		const struct firewall_ipt_found *f = &s->found[i];

		if (!firewall_ipt_found_in(f, c))
			continue;
		/* The k-th of ours must be rule k+1 of the chain. */
		if (k >= n || f->pos != k + 1 || !firewall_ipt_rule_equal(&f->rule, &want[k]))
			return false;
		k++;
	}
	return k == n;
}

static enum firewall_ipt_chain firewall_ipt_found_chain(const struct firewall_ipt_found *f)
{
	if (firewall_ipt_found_in(f, FIREWALL_IPT_USER))
		return FIREWALL_IPT_USER;
	if (firewall_ipt_found_in(f, FIREWALL_IPT_FORWARD))
		return FIREWALL_IPT_FORWARD;
	if (firewall_ipt_found_in(f, FIREWALL_IPT_RAW))
		return FIREWALL_IPT_RAW;
	return FIREWALL_IPT_NCHAINS;	/* elsewhere: only a purge touches it */
}

int firewall_ipt_script(const struct firewall_ipt_scan *s, const char *text,
			const bool fix[FIREWALL_IPT_NCHAINS], bool purge,
			const struct firewall_ipt_rule *const want[FIREWALL_IPT_NCHAINS],
			const size_t n_want[FIREWALL_IPT_NCHAINS],
			struct proc_buf *out, size_t *inserted)
{
	static const char *const chain_name[FIREWALL_IPT_NCHAINS] = {
		[FIREWALL_IPT_USER] = "DOCKER-USER",
		[FIREWALL_IPT_FORWARD] = "FORWARD",
		[FIREWALL_IPT_RAW] = "PREROUTING",
	};
	char spec[1024];
	int t, c, ret;
	size_t i;

	*inserted = 0;
	/* One section per table: each commits atomically. */
	for (t = 0; t < 2; t++) {
		const bool raw = t == 1;
		bool header = false;

#define IPT_HEADER() do {						\
			if (!header) {					\
				ret = proc_buf_printf(out, "*%s\n",	\
						raw ? "raw" : "filter");\
				if (ret < 0)				\
					return ret;			\
				header = true;				\
			}						\
		} while (0)
		for (i = 0; i < s->n_found; i++) {
			const struct firewall_ipt_found *f = &s->found[i];
			enum firewall_ipt_chain fc = firewall_ipt_found_chain(f);

			if (f->raw != raw)
				continue;
			if (!purge && !(fc < FIREWALL_IPT_NCHAINS && fix[fc]))
				continue;
			if (f->len > INT32_MAX)
				return -EINVAL;
			IPT_HEADER();
			ret = proc_buf_printf(out, "-D %s %.*s\n", f->chain,
						  (int)f->len, text + f->off);
			if (ret < 0)
				return ret;
		}
		for (c = 0; c < FIREWALL_IPT_NCHAINS; c++) {
			if ((c == FIREWALL_IPT_RAW) != raw || !fix[c])
				continue;
			for (i = 0; i < n_want[c]; i++) {
				ret = firewall_ipt_format(&want[c][i], spec, sizeof(spec));
				if (ret < 0)
					return ret;
				IPT_HEADER();
				ret = proc_buf_printf(out, "-I %s %zu %s\n", chain_name[c],
							  i + 1, spec);
				if (ret < 0)
					return ret;
				(*inserted)++;
			}
		}
		if (header) {
			ret = proc_buf_printf(out, "COMMIT\n");
			if (ret < 0)
				return ret;
		}
#undef IPT_HEADER
	}
	return 0;
}

/* ------------------------------------------------------------ programs */

int firewall_ipt_progs_find(bool legacy, struct firewall_ipt_progs *p)
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

int firewall_ipt_save(const struct firewall_ipt_progs *p, int family, struct proc_buf *out)
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

int firewall_ipt_restore(const struct firewall_ipt_progs *p, int family,
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

int firewall_ipt_legacy_tables(int family)
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
 * The table's entries as the kernel hands them to iptables: a chain of
 * ipt_entry / ip6t_entry records linked by next_offset, each ending in a
 * target. A user chain starts with an "ERROR" target whose data is the
 * chain's name. Everything is bounds-checked: the blob comes from the
 * kernel, but a bad walk would still be our bug to find.
 */
int firewall_ipt_legacy_probe(int family, const char *table, const char *chain,
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
