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
 * the word in tok, 2 when the word was longer than the buffer (tok holds
 * its start), 0 at the end, -EINVAL on an unterminated quote.
 */
static int firewall_ipt_token(const char *s, size_t len, size_t *pos, char *tok, size_t size)
{
	size_t i = *pos, k = 0;
	bool quoted = false, long_word = false;

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
		if (k + 1 >= size) {
			long_word = true;
			continue;
		}
		tok[k++] = ch;
	}
	if (quoted)
		return -EINVAL;
	tok[k] = '\0';
	*pos = i;
	return long_word ? 2 : 1;
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
	bool neg = false;	/* "!": the next option is negated */
	int ret;

	memset(r, 0, sizeof(*r));
	for (;;) {
		ret = firewall_ipt_token(spec, len, &pos, tok, sizeof(tok));
		if (ret <= 0)
			return ret;
		/* A word this long is none of ours: a match's value (a string). */
		if (ret == 2) {
			r->other = true;
			neg = false;
			continue;
		}
		if (!strcmp(tok, "!")) {
			r->other = true;
			neg = true;
			continue;
		}
		/* Every option we know takes exactly one value. */
		if (strcmp(tok, "-s") != 0 && strcmp(tok, "-d") != 0 && strcmp(tok, "-i") != 0 &&
		    strcmp(tok, "-o") != 0 && strcmp(tok, "-m") != 0 && strcmp(tok, "-j") != 0 &&
		    strcmp(tok, "-g") != 0 && strcmp(tok, "--comment") != 0 &&
		    strcmp(tok, "--ctstate") != 0) {
			r->other = true;
			neg = false;
			continue;
		}
		ret = firewall_ipt_token(spec, len, &pos, val, sizeof(val));
		if (ret <= 0 || ret == 2)
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
			r->in_neg = neg;
		} else if (!strcmp(tok, "-o")) {
			if (firewall_ipt_ifname(r->out, val) < 0)
				return -EINVAL;
			r->out_neg = neg;
		} else if (!strcmp(tok, "-m")) {
			if (strcmp(val, "comment") != 0 && strcmp(val, "conntrack") != 0)
				r->other = true;
		} else if (!strcmp(tok, "-j") || !strcmp(tok, "-g")) {
			snprintf(r->target, sizeof(r->target), "%s", val);
			if (!strcmp(tok, "-j") && !strcmp(val, "ACCEPT"))
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
		neg = false;
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
	free(s->all);
	memset(s, 0, sizeof(*s));
}

static int firewall_ipt_found_add(struct firewall_ipt_found **v, size_t *n, size_t *cap,
				  const struct firewall_ipt_found *f)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct firewall_ipt_found *p;

		if (c > 1u << 20)
			return -E2BIG;
		p = realloc(*v, c * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = *f;
	return 0;
}

/* Rules seen so far in each chain: positions for every chain of the dump. */
struct ipt_chains {
	struct ipt_chain {
		bool raw;
		char name[32];
		unsigned int n;
	} *v;
	size_t n, cap;
};

/* The 1-based position of the next rule of (raw, name), or 0 on ENOMEM. */
static unsigned int firewall_ipt_chain_next(struct ipt_chains *c, bool raw, const char *name,
					    size_t nlen)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].raw == raw && strlen(c->v[i].name) == nlen &&
		    !memcmp(c->v[i].name, name, nlen))
			return ++c->v[i].n;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct ipt_chain *p = realloc(c->v, cap * sizeof(*p));

		if (!p)
			return 0;
		c->v = p;
		c->cap = cap;
	}
	c->v[c->n].raw = raw;
	memcpy(c->v[c->n].name, name, nlen);
	c->v[c->n].name[nlen] = '\0';
	c->v[c->n].n = 1;
	return c->v[c->n++].n;
}

/*
 * The one reader of iptables-save output. Tables other than filter and
 * raw are skipped; a rule is "-A CHAIN spec", its position counted per
 * chain. Ours (by comment) go to s->found; with all, every rule also goes
 * to s->all, parsed as far as firewall_ipt_parse understands it.
 */
static int firewall_ipt_scan_do(const char *text, size_t len, const char *comment,
				struct firewall_ipt_scan *s, bool all)
{
	enum { T_OTHER, T_FILTER, T_RAW } table = T_OTHER;
	struct ipt_chains chains = { 0 };
	size_t clen = strlen(comment), off = 0;
	int ret = 0;

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
			size_t nlen;
			bool mine;

			sp = memchr(name, ' ', llen - 3);
			nlen = sp ? (size_t)(sp - name) : llen - 3;
			if (!nlen || nlen >= sizeof(f.chain))
				continue;	/* longer than any chain name iptables allows */
			memset(&f, 0, sizeof(f));
			f.raw = table == T_RAW;
			memcpy(f.chain, name, nlen);
			f.chain[nlen] = '\0';
			f.pos = firewall_ipt_chain_next(&chains, f.raw, name, nlen);
			if (!f.pos) {
				ret = -ENOMEM;
				goto fail;
			}
			f.line = (size_t)(line - text);
			f.off = sp ? (size_t)(sp + 1 - text) : (size_t)(line + llen - text);
			f.len = (size_t)(line + llen - (text + f.off));
			mine = sp && clen && memmem(sp, llen - 3 - nlen, comment, clen);
			if (!mine && !all)
				continue;
			f.parsed = firewall_ipt_parse(text + f.off, f.len, &f.rule) == 0;
			if (!f.parsed) {
				/* not ours: ours always parse */
				memset(&f.rule, 0, sizeof(f.rule));
				f.rule.other = true;
				mine = false;
			}
			mine = mine && !strcmp(f.rule.comment, comment);
			if (mine) {
				ret = firewall_ipt_found_add(&s->found, &s->n_found, &s->cap_found, &f);
				if (ret < 0)
					goto fail;
			}
			if (all) {
				ret = firewall_ipt_found_add(&s->all, &s->n_all, &s->cap_all, &f);
				if (ret < 0)
					goto fail;
			}
		}
	}
	free(chains.v);
	return 0;
fail:
	free(chains.v);
	firewall_ipt_scan_free(s);
	return ret;
}

int firewall_ipt_scan(const char *text, size_t len, const char *comment,
		      struct firewall_ipt_scan *s)
{
	return firewall_ipt_scan_do(text, len, comment, s, false);
}

int firewall_ipt_scan_all(const char *text, size_t len, const char *comment,
			  struct firewall_ipt_scan *s)
{
	return firewall_ipt_scan_do(text, len, comment, s, true);
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
	ret = firewall_ipt_scan(p->out.p ? p->out.p : "", p->out.len, sp->comment, &s);
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
		ret = firewall_ipt_expect(sp->tun, sp->op, sp->n, family,
					  filter_chain, want[filter_chain], cap);
		if (ret < 0)
			goto out;
		n_want[filter_chain] = (size_t)ret;
		if (s.has_raw) {
			ret = firewall_ipt_expect(sp->tun, sp->op, sp->n, family,
						  FIREWALL_IPT_RAW, want[FIREWALL_IPT_RAW], cap);
			if (ret < 0)
				goto out;
			n_want[FIREWALL_IPT_RAW] = (size_t)ret;
		}
	}
	ret = 0;
	for (c = 0; c < FIREWALL_IPT_NCHAINS; c++) {
		fix[c] = !firewall_ipt_in_place(&s, (enum firewall_ipt_chain)c, want[c], n_want[c]) ||
			 (force && n_want[c]);
		any |= fix[c];
	}
	if (!any)
		goto out;
	p->script.len = 0;
	ret = firewall_ipt_script(&s, p->out.p, fix, false,
				  (const struct firewall_ipt_rule *const *)want, n_want,
				  &p->script, written);
	if (!ret && p->script.len)
		ret = firewall_ipt_restore(&p->progs, family, &p->script);
	if (ret)
		*written = 0;
out:
	for (c = 0; c < FIREWALL_IPT_NCHAINS; c++)
		free(want[c]);
	firewall_ipt_scan_free(&s);
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
			ret = firewall_ipt_scan(p->out.p ? p->out.p : "", p->out.len, comment, &s);
		if (ret) {
			first = first ? first : ret;
			continue;
		}
		if (s.n_found) {
			p->script.len = 0;
			ret = firewall_ipt_script(&s, p->out.p, none, true, nowant, n_nowant,
						  &p->script, &dummy);
			if (!ret)
				ret = firewall_ipt_restore(&p->progs, fams[f][0], &p->script);
			if (!ret)
				*removed += s.n_found;
			else
				first = first ? first : ret;
		}
		firewall_ipt_scan_free(&s);
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

/* ------------------------------------------------------------ inspection */

/*
 * gangwayd keeps its own rules at the top of the chains it writes (and
 * repairs that within a second), but it never moves anyone else's: a DROP
 * someone inserted ahead of them, or a jump into Docker's chains that
 * comes before FORWARD's jump to DOCKER-USER, still drops the host's
 * traffic. The inspection reads the rules as iptables-save prints them and
 * says, per chain, what comes first.
 */

/* Does the iptables interface name pat ("eth+" is a wildcard) name tun? */
static bool firewall_ipt_if_match(const char *pat, const char *tun)
{
	size_t l = strlen(pat);

	if (l && pat[l - 1] == '+')
		return !strncmp(pat, tun, l - 1);
	return !strcmp(pat, tun);
}

/* Could the rule see what comes in from tun? (Only -i can rule it out.) */
static bool firewall_ipt_may_match(const struct firewall_ipt_found *f, const char *tun)
{
	if (!f->parsed || !f->rule.in[0])
		return true;
	return firewall_ipt_if_match(f->rule.in, tun) != f->rule.in_neg;
}

static bool firewall_ipt_is_drop(const struct firewall_ipt_found *f, const char *tun)
{
	return firewall_ipt_may_match(f, tun) &&
	       (!strcmp(f->rule.target, "DROP") || !strcmp(f->rule.target, "REJECT"));
}

/* A jump into one of Docker's own chains (they hold Docker's drops from 28.0). */
static bool firewall_ipt_is_docker(const struct firewall_ipt_found *f, const char *tun)
{
	return firewall_ipt_may_match(f, tun) && !strncmp(f->rule.target, "DOCKER", 6) &&
	       strcmp(f->rule.target, "DOCKER-USER") != 0;
}

static bool firewall_ipt_ours(const struct firewall_ipt_found *f, const char *comment)
{
	return f->parsed && !strcmp(f->rule.comment, comment);
}

/* The first of ours in raw or filter, chain (NULL: any), in from (want 'i') or out to ('o') tun. */
static const struct firewall_ipt_found *
firewall_ipt_first(const struct firewall_ipt_scan *s, bool raw, const char *chain, int want,
		   const char *tun, const char *comment)
{
	size_t i;

	for (i = 0; i < s->n_all; i++) {
		const struct firewall_ipt_found *f = &s->all[i];

		if (f->raw != raw || !firewall_ipt_ours(f, comment) ||
		    (chain && strcmp(f->chain, chain) != 0))
			continue;
		if (want == 'i' && (f->rule.in_neg || strcmp(f->rule.in, tun) != 0))
			continue;
		if (want == 'o' && (f->rule.out_neg || strcmp(f->rule.out, tun) != 0))
			continue;
		return f;
	}
	return NULL;
}

/* Someone else's rule of chain before position before that drops tun's
 * traffic, or (docker) jumps into Docker's chains first, into b. */
static void firewall_ipt_ahead(const struct firewall_ipt_scan *s, const char *text, bool raw,
			       const char *chain, unsigned int before, bool docker,
			       const char *tun, const char *comment,
			       struct firewall_inspect_block *b)
{
	size_t i;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < s->n_all; i++) {
		const struct firewall_ipt_found *f = &s->all[i];
		size_t tl;

		if (f->raw != raw || strcmp(f->chain, chain) != 0 || f->pos >= before ||
		    firewall_ipt_ours(f, comment))
			continue;
		if (!firewall_ipt_is_drop(f, tun) && !(docker && firewall_ipt_is_docker(f, tun)))
			continue;
		b->pos = f->pos;
		b->raw = raw;
		b->drop = firewall_ipt_is_drop(f, tun);
		snprintf(b->chain, sizeof(b->chain), "%s", f->chain);
		snprintf(b->target, sizeof(b->target), "%s", f->rule.target);
		tl = f->off + f->len - f->line;
		snprintf(b->text, sizeof(b->text), "%.*s",
			 (int)(tl < sizeof(b->text) ? tl : sizeof(b->text) - 1), text + f->line);
		return;
	}
}

int firewall_ipt_inspect_text(const char *text, size_t len, const char *tun,
			      struct firewall_inspect_ipt *r)
{
	const struct firewall_ipt_found *in, *out, *raw, *jump = NULL;
	char comment[FIREWALL_COMMENT_LEN];
	struct firewall_ipt_scan s;
	size_t i;
	int ret;

	memset(r, 0, sizeof(*r));
	ret = firewall_comment(tun, comment, sizeof(comment));
	if (ret < 0)
		return ret;
	ret = firewall_ipt_scan_all(text, len, comment, &s);
	if (ret < 0)
		return ret;
	r->has_raw = s.has_raw;
	for (i = 0; i < s.n_all; i++)
		r->ours += firewall_ipt_ours(&s.all[i], comment);
	in = firewall_ipt_first(&s, false, NULL, 'i', tun, comment);
	out = firewall_ipt_first(&s, false, NULL, 'o', tun, comment);
	raw = firewall_ipt_first(&s, true, "PREROUTING", 0, tun, comment);
	if (out)
		r->out_pos = out->pos;
	if (in) {
		snprintf(r->in_chain, sizeof(r->in_chain), "%s", in->chain);
		r->in_pos = in->pos;
		firewall_ipt_ahead(&s, text, false, in->chain, in->pos,
				   !strcmp(in->chain, "FORWARD"), tun, comment, &r->before_in);
		if (!strcmp(in->chain, "DOCKER-USER")) {
			for (i = 0; i < s.n_all && !jump; i++)
				if (!s.all[i].raw && !strcmp(s.all[i].chain, "FORWARD") &&
				    !strcmp(s.all[i].rule.target, "DOCKER-USER"))
					jump = &s.all[i];
			if (jump) {
				r->jump_pos = jump->pos;
				firewall_ipt_ahead(&s, text, false, "FORWARD", jump->pos, true,
						   tun, comment, &r->before_jump);
			}
		}
	}
	if (raw) {
		r->raw_pos = raw->pos;
		firewall_ipt_ahead(&s, text, true, "PREROUTING", raw->pos, false, tun, comment,
				   &r->before_raw);
	}
	firewall_ipt_scan_free(&s);
	return 0;
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
		ret = firewall_ipt_inspect_text(p->out.p, p->out.len, tun, fi);
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
