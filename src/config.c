/* config.c - parser for WireGuard-style INI files plus our [Gangway] section
 *
 * The syntax is wg(8)'s: "[Section]" headers, "Key = Value" lines, '#'
 * comments, keys case-insensitive, list values separated by commas. Every
 * error names the file, the line and the reason; unknown sections and keys
 * are errors, so a typo never silently changes behaviour.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "pool.h"

enum config_section {
	SECTION_NONE,
	SECTION_INTERFACE,
	SECTION_PEER,
	SECTION_GANGWAY,
};

struct config_parser {
	struct config *c;
	const char *name;
	int line;
	enum config_section section;
	char *err;
	size_t errlen;
	unsigned int seen;		/* bitmask of keys seen in this section */
	unsigned int sections;		/* bitmask of sections seen */
};

static int config_error(struct config_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int config_error(struct config_parser *p, const char *fmt, ...)
{
	char msg[CONFIG_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->line > 0)
		snprintf(p->err, p->errlen, "%s:%d: %s", p->name, p->line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->name, msg);
	return -EINVAL;
}

static char *config_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int config_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int config_prefixes_add(struct config_prefixes *l, const struct prefix *pf)
{
	struct prefix *v;

	if (l->n >= CONFIG_MAX_PREFIXES)
		return -E2BIG;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	l->v[l->n++] = *pf;
	return 0;
}

/* A comma-separated list of prefixes; addr keeps host bits (Address=). */
static int config_parse_prefix_list(struct config_parser *p, const char *key,
				    char *value, bool addr, struct config_prefixes *l)
{
	struct prefix pf;
	char *tok;
	int ret;

	/* strsep, unlike strtok, sees the empty element in "a,,b". */
	while ((tok = strsep(&value, ",")) != NULL) {
		tok = config_trim(tok);
		if (!*tok)
			return config_error(p, "%s: empty list element", key);
		ret = addr ? prefix_parse_addr(&pf, tok) : prefix_parse(&pf, tok, false);
		if (ret)
			return config_error(p, "%s: '%s' is not an IP %s", key, tok,
					    addr ? "address with prefix length" : "prefix");
		ret = config_prefixes_add(l, &pf);
		if (ret == -E2BIG)
			return config_error(p, "%s: more than %d entries", key,
					    CONFIG_MAX_PREFIXES);
		if (ret)
			return config_error(p, "%s: %s", key, strerror(-ret));
	}
	return 0;
}

int config_parse_endpoint(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon, *hstart, *hend;
	unsigned long v;
	size_t n;

	if (*s == '[') {
		hstart = s + 1;
		hend = strchr(hstart, ']');
		if (!hend || hend[1] != ':')
			return -EINVAL;
		colon = hend + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -EINVAL;	/* bare IPv6 needs brackets */
		hstart = s;
		hend = colon;
	}
	n = (size_t)(hend - hstart);
	if (n == 0 || n >= hostlen)
		return -EINVAL;
	if (config_parse_uint(colon + 1, 65535, &v) || v == 0)
		return -EINVAL;
	for (const char *c = hstart; c < hend; c++)
		if (!isalnum((unsigned char)*c) && !strchr(".-:_%", *c))
			return -EINVAL;
	memcpy(host, hstart, n);
	host[n] = '\0';
	*port = (uint16_t)v;
	return 0;
}

static int config_parse_key(struct config_parser *p, const char *key,
			    const char *value, uint8_t out[KEY_LEN])
{
	if (key_from_base64(out, value))
		return config_error(p, "%s: not a base64-encoded 32-byte key", key);
	return 0;
}

static struct config_peer *config_cur_peer(struct config_parser *p)
{
	return &p->c->peers[p->c->n_peers - 1];
}

/* Each key: its section and its handler; its index is its duplicate bit. */
struct config_key {
	enum config_section section;
	const char *name;
	int (*parse)(struct config_parser *p, const char *key, char *value);
};

static int config_k_private_key(struct config_parser *p, const char *k, char *v)
{
	p->c->has_private_key = true;
	return config_parse_key(p, k, v, p->c->private_key);
}

static int config_k_address(struct config_parser *p, const char *k, char *v)
{
	return config_parse_prefix_list(p, k, v, true, &p->c->addresses);
}

static int config_k_listen_port(struct config_parser *p, const char *k, char *v)
{
	unsigned long port;

	if (config_parse_uint(v, 65535, &port))
		return config_error(p, "%s: '%s' is not a port number (0-65535)", k, v);
	p->c->listen_port = (uint16_t)port;
	return 0;
}

static int config_k_mtu(struct config_parser *p, const char *k, char *v)
{
	unsigned long mtu;

	/* 1280 is IPv6's minimum; the tunnel carries IPv6. */
	if (config_parse_uint(v, 65535, &mtu) || mtu < 1280)
		return config_error(p, "%s: '%s' is not an MTU (1280-65535)", k, v);
	p->c->mtu = (unsigned int)mtu;
	return 0;
}

static int config_k_public_key(struct config_parser *p, const char *k, char *v)
{
	config_cur_peer(p)->has_public_key = true;
	return config_parse_key(p, k, v, config_cur_peer(p)->public_key);
}

static int config_k_preshared_key(struct config_parser *p, const char *k, char *v)
{
	config_cur_peer(p)->has_preshared_key = true;
	return config_parse_key(p, k, v, config_cur_peer(p)->preshared_key);
}

static int config_k_endpoint(struct config_parser *p, const char *k, char *v)
{
	struct config_peer *peer = config_cur_peer(p);

	if (config_parse_endpoint(v, peer->endpoint_host, sizeof(peer->endpoint_host),
				  &peer->endpoint_port))
		return config_error(p, "%s: '%s' is not host:port or [IPv6]:port", k, v);
	return 0;
}

static int config_k_allowed_ips(struct config_parser *p, const char *k, char *v)
{
	return config_parse_prefix_list(p, k, v, false, &config_cur_peer(p)->allowed_ips);
}

/*
 * AcceptPrefixes = 10.0.0.0/8, fd00::/8 (or "none"): the host routes an
 * advertised prefix only inside these. A /0 would hand the guest every
 * destination, so it is an error, not a wide policy.
 */
static int config_k_accept_prefixes(struct config_parser *p, const char *k, char *v)
{
	struct config_peer *peer = config_cur_peer(p);
	int ret;

	peer->has_accept_prefixes = true;
	if (!strcasecmp(v, "none"))
		return 0;
	ret = config_parse_prefix_list(p, k, v, false, &peer->accept_prefixes);
	if (ret)
		return ret;
	for (size_t i = 0; i < peer->accept_prefixes.n; i++)
		if (peer->accept_prefixes.v[i].len == 0)
			return config_error(p, "%s: a default route (/0) would let the guest route "
					    "every destination", k);
	return 0;
}

static int config_k_keepalive(struct config_parser *p, const char *k, char *v)
{
	unsigned long secs;

	if (!strcasecmp(v, "off")) {
		config_cur_peer(p)->persistent_keepalive = 0;
		return 0;
	}
	if (config_parse_uint(v, 65535, &secs))
		return config_error(p, "%s: '%s' is not a number of seconds (0-65535) or 'off'",
				    k, v);
	config_cur_peer(p)->persistent_keepalive = (unsigned int)secs;
	return 0;
}

/* Remap = 172.17.0.0/16=10.217.0.0/16, ...: guest prefix = host prefix. */
static int config_k_remap(struct config_parser *p, const char *k, char *v)
{
	struct config_peer *peer = config_cur_peer(p);
	struct config_remap m, *nv;
	char *tok, *eq;

	while ((tok = strsep(&v, ",")) != NULL) {
		tok = config_trim(tok);
		eq = strchr(tok, '=');
		if (!eq)
			return config_error(p, "%s: '%s' is not GUESTPREFIX=HOSTPREFIX", k, tok);
		*eq = '\0';
		if (prefix_parse(&m.guest, config_trim(tok), false) ||
		    prefix_parse(&m.host, config_trim(eq + 1), false))
			return config_error(p, "%s: '%s=%s' is not GUESTPREFIX=HOSTPREFIX", k,
					    config_trim(tok), config_trim(eq + 1));
		if (m.guest.family != m.host.family || m.guest.len != m.host.len)
			return config_error(p, "%s: both sides of a remap need the same family and "
					    "length", k);
		if (peer->n_remaps >= CONFIG_MAX_PREFIXES)
			return config_error(p, "%s: more than %d entries", k, CONFIG_MAX_PREFIXES);
		nv = realloc(peer->remaps, (peer->n_remaps + 1) * sizeof(*nv));
		if (!nv)
			return config_error(p, "out of memory");
		peer->remaps = nv;
		peer->remaps[peer->n_remaps++] = m;
	}
	return 0;
}

static int config_k_interface(struct config_parser *p, const char *k, char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= IF_NAMESIZE)
		return config_error(p, "%s: interface name must be 1-%d characters", k,
				    IF_NAMESIZE - 1);
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("-_.", v[i]))
			return config_error(p, "%s: '%s': only letters, digits, '-', '_' and '.'",
					    k, v);
	if (!strcmp(v, ".") || !strcmp(v, ".."))
		return config_error(p, "%s: '%s' is not a usable interface name", k, v);
	memcpy(p->c->ifname, v, n + 1);
	return 0;
}

static int config_k_log_level(struct config_parser *p, const char *k, char *v)
{
	static const struct { const char *name; enum log_level level; } levels[] = {
		{ "error", LOG_LVL_ERR }, { "warning", LOG_LVL_WARN },
		{ "notice", LOG_LVL_NOTICE }, { "info", LOG_LVL_INFO },
		{ "debug", LOG_LVL_DEBUG },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (!strcasecmp(v, levels[i].name)) {
			p->c->log_level = levels[i].level;
			p->c->has_log_level = true;
			return 0;
		}
	}
	return config_error(p, "%s: '%s' is not one of error, warning, notice, info, debug",
			    k, v);
}

/* An absolute path that fits out (size bytes). */
static int config_path(struct config_parser *p, const char *k, const char *v, char *out,
		       size_t size)
{
	if (v[0] != '/')
		return config_error(p, "%s: '%s' is not an absolute path", k, v);
	if (strlen(v) >= size)
		return config_error(p, "%s: longer than %zu characters", k, size - 1);
	snprintf(out, size, "%s", v);
	return 0;
}

static int config_k_state_dir(struct config_parser *p, const char *k, char *v)
{
	return config_path(p, k, v, p->c->state_dir, sizeof(p->c->state_dir));
}

static int config_parse_bool(const char *v, bool *out)
{
	static const char *yes[] = { "on", "yes", "true", "1" }, *no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int config_parse_patterns(struct config_parser *p, const char *k, char *v,
				 struct config_patterns *l)
{
	char *tok;

	l->n = 0;
	while ((tok = strsep(&v, ",")) != NULL) {
		tok = config_trim(tok);
		if (!*tok)
			return config_error(p, "%s: empty list element", k);
		if (strlen(tok) >= IF_NAMESIZE)
			return config_error(p, "%s: '%s' is longer than an interface name", k, tok);
		for (const char *c = tok; *c; c++)
			if (!isalnum((unsigned char)*c) && !strchr("-_.*?[]", *c))
				return config_error(p, "%s: '%s' is not an interface name or pattern",
						    k, tok);
		if (l->n >= CONFIG_MAX_PATTERNS)
			return config_error(p, "%s: more than %d entries", k, CONFIG_MAX_PATTERNS);
		snprintf(l->v[l->n++], IF_NAMESIZE, "%s", tok);
	}
	return 0;
}

static int config_k_bridges(struct config_parser *p, const char *k, char *v)
{
	return config_parse_patterns(p, k, v, &p->c->bridges);
}

static int config_k_exclude_interfaces(struct config_parser *p, const char *k, char *v)
{
	return config_parse_patterns(p, k, v, &p->c->exclude_interfaces);
}

static int config_k_include_prefixes(struct config_parser *p, const char *k, char *v)
{
	return config_parse_prefix_list(p, k, v, false, &p->c->include_prefixes);
}

static int config_k_exclude_prefixes(struct config_parser *p, const char *k, char *v)
{
	return config_parse_prefix_list(p, k, v, false, &p->c->exclude_prefixes);
}

static int config_k_snat(struct config_parser *p, const char *k, char *v)
{
	if (config_parse_bool(v, &p->c->snat))
		return config_error(p, "%s: '%s' is not on or off", k, v);
	return 0;
}

static int config_k_firewall(struct config_parser *p, const char *k, char *v)
{
	static const struct { const char *name; enum config_firewall fw; } fws[] = {
		{ "auto", CONFIG_FW_AUTO }, { "iptables-nft", CONFIG_FW_IPTABLES_NFT },
		{ "iptables-legacy", CONFIG_FW_IPTABLES_LEGACY },
		{ "nftables", CONFIG_FW_NFTABLES }, { "off", CONFIG_FW_OFF },
	};

	for (size_t i = 0; i < sizeof(fws) / sizeof(fws[0]); i++) {
		if (!strcasecmp(v, fws[i].name)) {
			p->c->firewall = fws[i].fw;
			return 0;
		}
	}
	return config_error(p, "%s: '%s' is not one of auto, iptables-nft, iptables-legacy, "
			    "nftables, off", k, v);
}

static int config_k_fwmark(struct config_parser *p, const char *k, char *v)
{
	unsigned long mark;
	char *end;

	errno = 0;
	mark = strtoul(v, &end, 0);
	if (errno || *end || !isdigit((unsigned char)*v) || mark == 0 || mark > 0xffffffffUL)
		return config_error(p, "%s: '%s' is not a mark (1-0xffffffff)", k, v);
	p->c->fwmark = (uint32_t)mark;
	return 0;
}

static int config_k_withdraw_after(struct config_parser *p, const char *k, char *v)
{
	unsigned long secs;

	if (config_parse_uint(v, 86400, &secs) || secs == 0)
		return config_error(p, "%s: '%s' is not a number of seconds (1-86400)", k, v);
	p->c->withdraw_after = (unsigned int)secs;
	return 0;
}

static int config_k_packet_io(struct config_parser *p, const char *k, char *v)
{
	static const char *const modes[] = { "fast", "batch", "plain" };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcasecmp(v, modes[i])) {
			snprintf(p->c->packet_io, sizeof(p->c->packet_io), "%s", modes[i]);
			return 0;
		}
	}
	return config_error(p, "%s: '%s' is not one of fast, batch, plain", k, v);
}

/* auto (-1) or 0..3 threads besides the event loop's for the AEAD work */
static int config_k_crypto_workers(struct config_parser *p, const char *k, char *v)
{
	unsigned long n;

	if (!strcasecmp(v, "auto")) {
		p->c->crypto_workers = -1;
		return 0;
	}
	if (config_parse_uint(v, POOL_MAX_WORKERS, &n))
		return config_error(p, "%s: '%s' is not auto or a number of threads (0-%d)", k,
				    v, POOL_MAX_WORKERS);
	p->c->crypto_workers = (int)n;
	return 0;
}

/* A group that exists now: a typo would otherwise lock its members out silently. */
/* A user or group name as useradd takes it (what names a "user" or "group"). */
static int config_account_name(struct config_parser *p, const char *k, const char *v,
			       const char *what)
{
	size_t len = strlen(v);

	if (len >= CONFIG_GROUP_LEN)
		return config_error(p, "%s: longer than %d characters", k, CONFIG_GROUP_LEN - 1);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("-_.", v[i]) &&
		    !(v[i] == '$' && i == len - 1))
			return config_error(p, "%s: '%s' is not a %s name", k, v, what);
	return 0;
}

static int config_k_control_group(struct config_parser *p, const char *k, char *v)
{
	struct group *gr;

	if (config_account_name(p, k, v, "group"))
		return -EINVAL;
	errno = 0;
	gr = getgrnam(v);
	if (!gr)
		return config_error(p, "%s: no group '%s'%s%s", k, v, errno ? ": " : "",
				    errno ? strerror(errno) : "");
	snprintf(p->c->control_group, sizeof(p->c->control_group), "%s", v);
	p->c->control_gid = (uint32_t)gr->gr_gid;
	return 0;
}

/* Resolved at start, not here: a missing user is a notice, not an error. */
static int config_k_user(struct config_parser *p, const char *k, char *v)
{
	if (config_account_name(p, k, v, "user"))
		return -EINVAL;
	snprintf(p->c->user, sizeof(p->c->user), "%s", v);
	return 0;
}

static int config_k_names(struct config_parser *p, const char *k, char *v)
{
	if (config_parse_bool(v, &p->c->names))
		return config_error(p, "%s: '%s' is not on or off", k, v);
	return 0;
}

static int config_k_docker_socket(struct config_parser *p, const char *k, char *v)
{
	return config_path(p, k, v, p->c->docker_socket, sizeof(p->c->docker_socket));
}

/*
 * A DNS domain of letters, digits and '-' labels (1-63 each), kept in lower
 * case without a trailing dot; at least two labels, so a whole top-level
 * domain is never taken over by mistake.
 */
static int config_k_domain(struct config_parser *p, const char *k, char *v)
{
	size_t len = strlen(v), label = 0, dots = 0;

	if (len && v[len - 1] == '.')
		v[--len] = '\0';
	if (len == 0 || len >= sizeof(p->c->domain))
		return config_error(p, "%s: must be 1-%zu characters", k, sizeof(p->c->domain) - 1);
	for (size_t i = 0; i <= len; i++) {
		if (v[i] == '.' || v[i] == '\0') {
			if (label == 0 || label > 63 || v[i - 1] == '-' || v[i - label] == '-')
				return config_error(p, "%s: '%s' is not a domain name", k, v);
			dots += v[i] == '.';
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)v[i]) && v[i] != '-')
			return config_error(p, "%s: '%s' is not a domain name", k, v);
		v[i] = (char)tolower((unsigned char)v[i]);
		label++;
	}
	if (dots == 0)
		return config_error(p, "%s: '%s' is a top-level domain; use a name under one "
				    "(such as gangway.internal)", k, v);
	snprintf(p->c->domain, sizeof(p->c->domain), "%s", v);
	return 0;
}

static const struct config_key config_keys[] = {
	{ SECTION_INTERFACE, "PrivateKey", config_k_private_key },
	{ SECTION_INTERFACE, "Address", config_k_address },
	{ SECTION_INTERFACE, "ListenPort", config_k_listen_port },
	{ SECTION_INTERFACE, "MTU", config_k_mtu },
	{ SECTION_PEER, "PublicKey", config_k_public_key },
	{ SECTION_PEER, "PresharedKey", config_k_preshared_key },
	{ SECTION_PEER, "Endpoint", config_k_endpoint },
	{ SECTION_PEER, "AllowedIPs", config_k_allowed_ips },
	{ SECTION_PEER, "PersistentKeepalive", config_k_keepalive },
	{ SECTION_PEER, "Remap", config_k_remap },
	{ SECTION_PEER, "AcceptPrefixes", config_k_accept_prefixes },
	{ SECTION_GANGWAY, "Interface", config_k_interface },
	{ SECTION_GANGWAY, "LogLevel", config_k_log_level },
	{ SECTION_GANGWAY, "StateDirectory", config_k_state_dir },
	{ SECTION_GANGWAY, "Bridges", config_k_bridges },
	{ SECTION_GANGWAY, "ExcludeInterfaces", config_k_exclude_interfaces },
	{ SECTION_GANGWAY, "IncludePrefixes", config_k_include_prefixes },
	{ SECTION_GANGWAY, "ExcludePrefixes", config_k_exclude_prefixes },
	{ SECTION_GANGWAY, "SNAT", config_k_snat },
	{ SECTION_GANGWAY, "Firewall", config_k_firewall },
	{ SECTION_GANGWAY, "FwMark", config_k_fwmark },
	{ SECTION_GANGWAY, "WithdrawAfter", config_k_withdraw_after },
	{ SECTION_GANGWAY, "ControlGroup", config_k_control_group },
	{ SECTION_GANGWAY, "User", config_k_user },
	{ SECTION_GANGWAY, "PacketIO", config_k_packet_io },
	{ SECTION_GANGWAY, "CryptoWorkers", config_k_crypto_workers },
	{ SECTION_GANGWAY, "Names", config_k_names },
	{ SECTION_GANGWAY, "DockerSocket", config_k_docker_socket },
	{ SECTION_GANGWAY, "Domain", config_k_domain },
};
#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))
_Static_assert(CONFIG_NKEYS <= 32, "the duplicate mask is 32 bits");

static const char *config_section_name(enum config_section s)
{
	switch (s) {
	case SECTION_INTERFACE:	return "Interface";
	case SECTION_PEER:	return "Peer";
	case SECTION_GANGWAY:	return "Gangway";
	case SECTION_NONE:	break;
	}
	return "(none)";
}

/* Checks that need the whole section: run when it ends. */
static int config_end_section(struct config_parser *p)
{
	struct config_peer *peer;

	if (p->section != SECTION_PEER)
		return 0;
	peer = config_cur_peer(p);
	if (!peer->has_public_key) {
		p->line = peer->line;
		return config_error(p, "[Peer] has no PublicKey");
	}
	for (size_t i = 0; i + 1 < p->c->n_peers; i++)
		if (!memcmp(p->c->peers[i].public_key, peer->public_key, KEY_LEN)) {
			p->line = peer->line;
			return config_error(p, "[Peer] repeats the PublicKey of the peer at line %d",
					    p->c->peers[i].line);
		}
	return 0;
}

static int config_section_header(struct config_parser *p, char *s)
{
	char *end = strchr(s, ']');
	enum config_section next;
	struct config_peer *peers;
	int ret;

	if (!end || config_trim(end + 1)[0])
		return config_error(p, "malformed section header");
	*end = '\0';
	s = config_trim(s + 1);
	if (!strcasecmp(s, "Interface"))
		next = SECTION_INTERFACE;
	else if (!strcasecmp(s, "Peer"))
		next = SECTION_PEER;
	else if (!strcasecmp(s, "Gangway"))
		next = SECTION_GANGWAY;
	else
		return config_error(p, "unknown section [%s]", s);

	if (next != SECTION_PEER && (p->sections & (1u << next)))
		return config_error(p, "[%s] appears twice", config_section_name(next));
	p->sections |= 1u << next;
	ret = config_end_section(p);
	if (ret)
		return ret;
	if (next == SECTION_PEER) {
		if (p->c->n_peers >= CONFIG_MAX_PEERS)
			return config_error(p, "more than %d peers", CONFIG_MAX_PEERS);
		peers = realloc(p->c->peers, (p->c->n_peers + 1) * sizeof(*peers));
		if (!peers)
			return config_error(p, "out of memory");
		p->c->peers = peers;
		memset(&peers[p->c->n_peers], 0, sizeof(*peers));
		peers[p->c->n_peers].line = p->line;
		p->c->n_peers++;
	}
	p->section = next;
	p->seen = 0;
	return 0;
}

static int config_line(struct config_parser *p, char *line)
{
	char *hash, *eq, *key, *value;
	size_t i;

	hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	line = config_trim(line);
	if (!*line)
		return 0;
	if (*line == '[') {
		return config_section_header(p, line);
	}
	eq = strchr(line, '=');
	if (!eq)
		return config_error(p, "expected 'Key = Value' or a [Section]");
	*eq = '\0';
	key = config_trim(line);
	value = config_trim(eq + 1);
	if (!*key)
		return config_error(p, "missing key before '='");
	if (p->section == SECTION_NONE)
		return config_error(p, "'%s' outside of any section", key);
	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strcasecmp(key, config_keys[i].name))
			continue;
		if (config_keys[i].section != p->section)
			return config_error(p, "'%s' does not belong in [%s] (it goes in [%s])",
					    key, config_section_name(p->section),
					    config_section_name(config_keys[i].section));
		if (p->seen & (1u << i))
			return config_error(p, "'%s' given twice in this section", key);
		p->seen |= 1u << i;
		if (!*value)
			return config_error(p, "'%s' has an empty value", key);
		return config_keys[i].parse(p, config_keys[i].name, value);
	}
	return config_error(p, "unknown key '%s' in [%s]", key, config_section_name(p->section));
}

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->ifname, sizeof(c->ifname), "%s", CONFIG_DEFAULT_IFNAME);
	c->mtu = CONFIG_DEFAULT_MTU;
	c->log_level = LOG_LVL_INFO;
	c->snat = true;
	c->withdraw_after = CONFIG_DEFAULT_WITHDRAW_AFTER;
	c->crypto_workers = -1;
	c->names = true;
	snprintf(c->docker_socket, sizeof(c->docker_socket), "%s", CONFIG_DEFAULT_DOCKER_SOCKET);
	snprintf(c->domain, sizeof(c->domain), "%s", CONFIG_DEFAULT_DOMAIN);
	c->bridges.n = 2;
	snprintf(c->bridges.v[0], IF_NAMESIZE, "docker0");
	snprintf(c->bridges.v[1], IF_NAMESIZE, "br-*");
	/* systemd's RuntimeDirectory= tells us where our runtime state goes. */
	snprintf(c->state_dir, sizeof(c->state_dir), "%s",
		 getenv("RUNTIME_DIRECTORY") ? getenv("RUNTIME_DIRECTORY")
					     : CONFIG_DEFAULT_STATE_DIR);
}

void config_free(struct config *c)
{
	for (size_t i = 0; i < c->n_peers; i++) {
		free(c->peers[i].allowed_ips.v);
		free(c->peers[i].accept_prefixes.v);
		free(c->peers[i].remaps);
		crypto_wipe(c->peers[i].preshared_key, KEY_LEN);
	}
	free(c->peers);
	free(c->addresses.v);
	free(c->include_prefixes.v);
	free(c->exclude_prefixes.v);
	crypto_wipe(c->private_key, KEY_LEN);
	config_init(c);
}

int config_parse(struct config *c, const char *name, const char *text, size_t len,
		 char *err, size_t errlen)
{
	struct config_parser p = {
		.c = c, .name = name, .err = err, .errlen = errlen,
	};
	char line[CONFIG_MAX_LINE + 1];
	size_t pos = 0, n;
	int ret;

	config_init(c);
	snprintf(c->path, sizeof(c->path), "%s", name);
	err[0] = '\0';
	if (len > CONFIG_MAX_SIZE)
		return config_error(&p, "larger than %d bytes", CONFIG_MAX_SIZE);
	if (memchr(text, '\0', len)) {
		p.line = 1;
		for (size_t k = 0; k < len && text[k]; k++)
			p.line += text[k] == '\n';
		return config_error(&p, "contains a NUL byte");
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		p.line++;
		if (n > CONFIG_MAX_LINE)
			return config_error(&p, "line longer than %d bytes", CONFIG_MAX_LINE);
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		ret = config_line(&p, line);
		if (ret)
			return ret;
	}
	ret = config_end_section(&p);
	if (ret)
		return ret;
	p.line = 0;
	if (!(p.sections & (1u << SECTION_INTERFACE)))
		return config_error(&p, "no [Interface] section");
	if (!c->has_private_key)
		return config_error(&p, "[Interface] has no PrivateKey");
	return 0;
}

const char *config_default_path(void)
{
	if (access(CONFIG_HOST_PATH, F_OK) != 0 && access(CONFIG_GUEST_PATH, F_OK) == 0)
		return CONFIG_GUEST_PATH;
	return CONFIG_HOST_PATH;
}

/* The mode 0640 with the daemon's group is what its notice advises (service.c). */
bool config_mode_private(const struct config *c, const struct stat *st)
{
	const struct passwd *pw;

	if (!(st->st_mode & 0077))
		return true;
	if ((st->st_mode & 0077) != 0040)
		return false;
	pw = getpwnam(c->user[0] ? c->user : CONFIG_DEFAULT_USER);
	return pw && pw->pw_uid != 0 && st->st_gid == pw->pw_gid;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	ssize_t r;
	int fd, ret;

	config_init(c);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_SIZE) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes", path,
			 CONFIG_MAX_SIZE);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		r = read(fd, text + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	ret = config_parse(c, path, text, len, err, errlen);
	if (ret == 0 && !config_mode_private(c, &st))
		log_warn("%s is readable by group or others, but holds a private key",
			 path);
out:
	if (text) {
		crypto_wipe(text, len);
		free(text);
	}
	close(fd);
	return ret;
}

const char *config_restart_change(const struct config *running, const struct config *next)
{
	if (memcmp(running->private_key, next->private_key, KEY_LEN))
		return "PrivateKey";
	if (running->listen_port != next->listen_port)
		return "ListenPort";
	if (running->mtu != next->mtu)
		return "MTU";
	if (strcmp(running->ifname, next->ifname))
		return "Interface";
	if (strcmp(running->packet_io, next->packet_io))
		return "PacketIO";
	if (running->crypto_workers != next->crypto_workers)
		return "CryptoWorkers";
	return NULL;
}
