/* firewall_ipt_text_linux.c - iptables rules as text: the iptables-save parser, restore scripts */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>

#include "firewall_int.h"

/*
 * Theory of operation
 *
 * This file owns what iptables rules say as text, and nothing that runs a
 * program or touches the kernel (firewall_ipt_linux.c does that: it finds
 * the programs of a flavour, runs iptables-save and iptables-restore,
 * probes the legacy tables and decides what to rewrite). Everything here
 * is a pure function of its arguments, so the unit tests hold it to
 * exact dumps of real Docker versions.
 *
 * Rules. Our rules are built as a struct (firewall_ipt_text_expect),
 * printed as iptables-save prints them (firewall_ipt_text_format) and
 * parsed back from its output (firewall_ipt_text_parse). Rules are
 * compared in the parsed form, whatever order their options come in; an
 * option, match or target we do not know marks a rule "other", which is
 * never equal to one of ours.
 *
 * Save output. firewall_ipt_text_scan walks an iptables-save dump once,
 * noting which tables and Docker chains exist and where each of our rules
 * (those carrying our comment) stands in its chain; scan_all keeps every
 * rule of the filter and raw tables too. This is the one parser of
 * iptables-save text: the backend's sync and the read-only inspection
 * behind `gangway doctor` both go through it.
 *
 * Restore scripts. firewall_ipt_text_script turns a scan and the wanted
 * rules into iptables-restore --noflush input for one family: delete ours
 * by their exact text, insert the wanted ones at the top, one section per
 * table, each of which the kernel commits whole or not at all.
 *
 * Inspection. firewall_ipt_text_inspect reads a dump the way the kernel
 * will walk it and says, per chain, what stands ahead of our rules.
 */

#define IPT_TOKEN_MAX	256

/* ------------------------------------------------------------ rule text */

int firewall_ipt_text_expect(const char *tun, const struct firewall_opening *op, size_t n,
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
			if (firewall_ipt_text_rule_equal(&out[j], &r))
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
			if (firewall_ipt_text_rule_equal(&out[j], &r))
				break;
		if (j < k)
			continue;
		if (k >= max)
			return -E2BIG;
		out[k++] = r;
	}
	return (int)k;
}

int firewall_ipt_text_format(const struct firewall_ipt_rule *r, char *buf, size_t size)
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
static int firewall_ipt_text_token(const char *s, size_t len, size_t *pos, char *tok, size_t size)
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

static int firewall_ipt_text_ifname(char *dst, const char *tok)
{
	size_t n = strlen(tok);

	if (!n || n >= IF_NAMESIZE)
		return -EINVAL;
	memcpy(dst, tok, n + 1);
	return 0;
}

int firewall_ipt_text_parse(const char *spec, size_t len, struct firewall_ipt_rule *r)
{
	char tok[IPT_TOKEN_MAX], val[IPT_TOKEN_MAX];
	size_t pos = 0;
	bool neg = false;	/* "!": the next option is negated */
	int ret;

	memset(r, 0, sizeof(*r));
	for (;;) {
		ret = firewall_ipt_text_token(spec, len, &pos, tok, sizeof(tok));
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
		ret = firewall_ipt_text_token(spec, len, &pos, val, sizeof(val));
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
			if (firewall_ipt_text_ifname(r->in, val) < 0)
				return -EINVAL;
			r->in_neg = neg;
		} else if (!strcmp(tok, "-o")) {
			if (firewall_ipt_text_ifname(r->out, val) < 0)
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

bool firewall_ipt_text_rule_equal(const struct firewall_ipt_rule *a,
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

void firewall_ipt_text_scan_free(struct firewall_ipt_scan *s)
{
	free(s->found);
	free(s->all);
	memset(s, 0, sizeof(*s));
}

static int firewall_ipt_text_found_add(struct firewall_ipt_found **v, size_t *n, size_t *cap,
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
static unsigned int firewall_ipt_text_chain_next(struct ipt_chains *c, bool raw, const char *name,
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
 * to s->all, parsed as far as firewall_ipt_text_parse understands it.
 */
static int firewall_ipt_text_scan_do(const char *text, size_t len, const char *comment,
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
			f.pos = firewall_ipt_text_chain_next(&chains, f.raw, name, nlen);
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
			f.parsed = firewall_ipt_text_parse(text + f.off, f.len, &f.rule) == 0;
			if (!f.parsed) {
				/* not ours: ours always parse */
				memset(&f.rule, 0, sizeof(f.rule));
				f.rule.other = true;
				mine = false;
			}
			mine = mine && !strcmp(f.rule.comment, comment);
			if (mine) {
				ret = firewall_ipt_text_found_add(&s->found, &s->n_found, &s->cap_found, &f);
				if (ret < 0)
					goto fail;
			}
			if (all) {
				ret = firewall_ipt_text_found_add(&s->all, &s->n_all, &s->cap_all, &f);
				if (ret < 0)
					goto fail;
			}
		}
	}
	free(chains.v);
	return 0;
fail:
	free(chains.v);
	firewall_ipt_text_scan_free(s);
	return ret;
}

int firewall_ipt_text_scan(const char *text, size_t len, const char *comment,
			   struct firewall_ipt_scan *s)
{
	return firewall_ipt_text_scan_do(text, len, comment, s, false);
}

int firewall_ipt_text_scan_all(const char *text, size_t len, const char *comment,
			       struct firewall_ipt_scan *s)
{
	return firewall_ipt_text_scan_do(text, len, comment, s, true);
}

static bool firewall_ipt_text_found_in(const struct firewall_ipt_found *f,
				       enum firewall_ipt_chain c)
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

bool firewall_ipt_text_in_place(const struct firewall_ipt_scan *s, enum firewall_ipt_chain c,
				const struct firewall_ipt_rule *want, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < s->n_found; i++) {
		const struct firewall_ipt_found *f = &s->found[i];

		if (!firewall_ipt_text_found_in(f, c))
			continue;
		/* The k-th of ours must be rule k+1 of the chain. */
		if (k >= n || f->pos != k + 1 || !firewall_ipt_text_rule_equal(&f->rule, &want[k]))
			return false;
		k++;
	}
	return k == n;
}

static enum firewall_ipt_chain firewall_ipt_text_found_chain(const struct firewall_ipt_found *f)
{
	if (firewall_ipt_text_found_in(f, FIREWALL_IPT_USER))
		return FIREWALL_IPT_USER;
	if (firewall_ipt_text_found_in(f, FIREWALL_IPT_FORWARD))
		return FIREWALL_IPT_FORWARD;
	if (firewall_ipt_text_found_in(f, FIREWALL_IPT_RAW))
		return FIREWALL_IPT_RAW;
	return FIREWALL_IPT_NCHAINS;	/* elsewhere: only a purge touches it */
}

int firewall_ipt_text_script(const struct firewall_ipt_scan *s, const char *text,
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
			enum firewall_ipt_chain fc = firewall_ipt_text_found_chain(f);

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
				ret = firewall_ipt_text_format(&want[c][i], spec, sizeof(spec));
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
static bool firewall_ipt_text_if_match(const char *pat, const char *tun)
{
	size_t l = strlen(pat);

	if (l && pat[l - 1] == '+')
		return !strncmp(pat, tun, l - 1);
	return !strcmp(pat, tun);
}

/* Could the rule see what comes in from tun? (Only -i can rule it out.) */
static bool firewall_ipt_text_may_match(const struct firewall_ipt_found *f, const char *tun)
{
	if (!f->parsed || !f->rule.in[0])
		return true;
	return firewall_ipt_text_if_match(f->rule.in, tun) != f->rule.in_neg;
}

static bool firewall_ipt_text_is_drop(const struct firewall_ipt_found *f, const char *tun)
{
	return firewall_ipt_text_may_match(f, tun) &&
	       (!strcmp(f->rule.target, "DROP") || !strcmp(f->rule.target, "REJECT"));
}

/* A jump into one of Docker's own chains (they hold Docker's drops from 28.0). */
static bool firewall_ipt_text_is_docker(const struct firewall_ipt_found *f, const char *tun)
{
	return firewall_ipt_text_may_match(f, tun) && !strncmp(f->rule.target, "DOCKER", 6) &&
	       strcmp(f->rule.target, "DOCKER-USER") != 0;
}

static bool firewall_ipt_text_ours(const struct firewall_ipt_found *f, const char *comment)
{
	return f->parsed && !strcmp(f->rule.comment, comment);
}

/* The first of ours in raw or filter, chain (NULL: any), in from (want 'i') or out to ('o') tun. */
static const struct firewall_ipt_found *
firewall_ipt_text_first(const struct firewall_ipt_scan *s, bool raw, const char *chain, int want,
			const char *tun, const char *comment)
{
	size_t i;

	for (i = 0; i < s->n_all; i++) {
		const struct firewall_ipt_found *f = &s->all[i];

		if (f->raw != raw || !firewall_ipt_text_ours(f, comment) ||
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
static void firewall_ipt_text_ahead(const struct firewall_ipt_scan *s, const char *text, bool raw,
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
		    firewall_ipt_text_ours(f, comment))
			continue;
		if (!firewall_ipt_text_is_drop(f, tun) && !(docker && firewall_ipt_text_is_docker(f, tun)))
			continue;
		b->pos = f->pos;
		b->raw = raw;
		b->drop = firewall_ipt_text_is_drop(f, tun);
		snprintf(b->chain, sizeof(b->chain), "%s", f->chain);
		snprintf(b->target, sizeof(b->target), "%s", f->rule.target);
		tl = f->off + f->len - f->line;
		snprintf(b->text, sizeof(b->text), "%.*s",
			 (int)(tl < sizeof(b->text) ? tl : sizeof(b->text) - 1), text + f->line);
		return;
	}
}

int firewall_ipt_text_inspect(const char *text, size_t len, const char *tun,
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
	ret = firewall_ipt_text_scan_all(text, len, comment, &s);
	if (ret < 0)
		return ret;
	r->has_raw = s.has_raw;
	for (i = 0; i < s.n_all; i++)
		r->ours += firewall_ipt_text_ours(&s.all[i], comment);
	in = firewall_ipt_text_first(&s, false, NULL, 'i', tun, comment);
	out = firewall_ipt_text_first(&s, false, NULL, 'o', tun, comment);
	raw = firewall_ipt_text_first(&s, true, "PREROUTING", 0, tun, comment);
	if (out)
		r->out_pos = out->pos;
	if (in) {
		snprintf(r->in_chain, sizeof(r->in_chain), "%s", in->chain);
		r->in_pos = in->pos;
		firewall_ipt_text_ahead(&s, text, false, in->chain, in->pos,
					!strcmp(in->chain, "FORWARD"), tun, comment, &r->before_in);
		if (!strcmp(in->chain, "DOCKER-USER")) {
			for (i = 0; i < s.n_all && !jump; i++)
				if (!s.all[i].raw && !strcmp(s.all[i].chain, "FORWARD") &&
				    !strcmp(s.all[i].rule.target, "DOCKER-USER"))
					jump = &s.all[i];
			if (jump) {
				r->jump_pos = jump->pos;
				firewall_ipt_text_ahead(&s, text, false, "FORWARD", jump->pos, true,
							tun, comment, &r->before_jump);
			}
		}
	}
	if (raw) {
		r->raw_pos = raw->pos;
		firewall_ipt_text_ahead(&s, text, true, "PREROUTING", raw->pos, false, tun, comment,
					&r->before_raw);
	}
	firewall_ipt_text_scan_free(&s);
	return 0;
}
