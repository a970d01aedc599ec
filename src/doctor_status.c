/* doctor_status.c - the daemon's status, read into a struct for the doctor
 *
 * The daemon answers "prometheus" on its control socket on every platform
 * (the JSON status needs json-c, which the Mac's build does not have). Each
 * sample line is parsed whole, name{label="value",...} value, with the
 * format's escapes, and only then looked at: a value never matches where a
 * name or label was meant, and a line that does not parse is skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlmsg.h"
#include "prefix.h"
#include "ctlsock_client.h"
#include "doctor.h"

#define DOCTOR_STATUS_LABELS	8
#define DOCTOR_STATUS_TEXT	128	/* bytes of one name, label or value */

struct doctor_status_sample {
	char name[DOCTOR_STATUS_TEXT];
	struct {
		char key[DOCTOR_STATUS_TEXT];
		char val[DOCTOR_STATUS_TEXT];
	} l[DOCTOR_STATUS_LABELS];
	size_t n;
	double value;
};

static bool doctor_status_namech(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* A name at p[*i..len) into out. */
static bool doctor_status_name(const char *p, size_t len, size_t *i, char *out, size_t size)
{
	size_t k = 0;

	while (*i < len && doctor_status_namech(p[*i], k == 0)) {
		if (k + 1 >= size)
			return false;
		out[k++] = p[(*i)++];
	}
	out[k] = '\0';
	return k > 0;
}

/* A "..." value with \\, \" and \n escapes. */
static bool doctor_status_quoted(const char *p, size_t len, size_t *i, char *out, size_t size)
{
	size_t k = 0;

	if (*i >= len || p[*i] != '"')
		return false;
	for ((*i)++; *i < len && p[*i] != '"'; (*i)++) {
		char c = p[*i];

		if (c == '\\') {
			if (++*i >= len)
				return false;
			c = p[*i] == 'n' ? '\n' : p[*i];
		}
		if (k + 1 >= size)
			return false;
		out[k++] = c;
	}
	if (*i >= len)
		return false;
	(*i)++;
	out[k] = '\0';
	return true;
}

/* One line (without its newline) into s; false for comments and bad lines. */
static bool doctor_status_line(const char *p, size_t len, struct doctor_status_sample *s)
{
	char num[64];
	size_t i = 0, k;
	char *end;

	memset(s, 0, sizeof(*s));
	if (!doctor_status_name(p, len, &i, s->name, sizeof(s->name)))
		return false;
	if (i < len && p[i] == '{') {
		for (i++; i < len && p[i] != '}';) {
			if (s->n >= DOCTOR_STATUS_LABELS ||
			    !doctor_status_name(p, len, &i, s->l[s->n].key, sizeof(s->l[s->n].key)) ||
			    i >= len || p[i++] != '=' ||
			    !doctor_status_quoted(p, len, &i, s->l[s->n].val, sizeof(s->l[s->n].val)))
				return false;
			s->n++;
			if (i < len && p[i] == ',')
				i++;
		}
		if (i >= len)
			return false;
		i++;
	}
	if (i >= len || p[i] != ' ')
		return false;
	while (i < len && p[i] == ' ')
		i++;
	for (k = 0; i < len && p[i] != ' ' && k + 1 < sizeof(num); i++)
		num[k++] = p[i];
	num[k] = '\0';
	if (!k)
		return false;
	s->value = strtod(num, &end);
	return *end == '\0';
}

/* The value of label key, or NULL. */
static const char *doctor_status_label(const struct doctor_status_sample *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->l[i].key, key))
			return s->l[i].val;
	return NULL;
}

/* The peer of the sample's peer label, added at its first sample; NULL if none. */
static struct doctor_status_peer *doctor_status_peer(struct doctor_status *st,
						     const struct doctor_status_sample *s)
{
	const char *key = doctor_status_label(s, "peer");
	struct doctor_status_peer *p;

	if (!key || strlen(key) >= sizeof(p->key))
		return NULL;
	for (size_t i = 0; i < st->n_peers; i++)
		if (!strcmp(st->peers[i].key, key))
			return &st->peers[i];
	if (st->n_peers >= sizeof(st->peers) / sizeof(st->peers[0]))
		return NULL;
	p = &st->peers[st->n_peers++];
	memset(p, 0, sizeof(*p));
	snprintf(p->key, sizeof(p->key), "%s", key);
	p->age = -1;
	return p;
}

static void doctor_status_take(struct doctor_status *st, const struct doctor_status_sample *s)
{
	struct doctor_status_peer *p;
	const char *v;

	if (!strcmp(s->name, "gangway_info")) {
		if (st->has_info)
			return;
		st->has_info = true;
		v = doctor_status_label(s, "interface");
		if (v && strlen(v) < sizeof(st->interface))
			snprintf(st->interface, sizeof(st->interface), "%s", v);
		v = doctor_status_label(s, "role");
		st->guest = v && !strcmp(v, "guest");
		v = doctor_status_label(s, "firewall");
		if (v && strlen(v) < sizeof(st->firewall)) {
			snprintf(st->firewall, sizeof(st->firewall), "%s", v);
			st->has_firewall = true;
		}
		return;
	}
	if (!strcmp(s->name, "gangway_device_drops_total")) {
		v = doctor_status_label(s, "reason");
		if (v && !strcmp(v, "bad-mac1"))
			st->bad_mac1 = s->value;
		else if (v && !strcmp(v, "handshake"))
			st->bad_handshake = s->value;
		return;
	}
	if (strncmp(s->name, "gangway_peer_", 13) != 0 || !(p = doctor_status_peer(st, s)))
		return;
	if (!strcmp(s->name, "gangway_peer_last_handshake_age_seconds")) {
		p->age = s->value;
		p->has_age = true;
	} else if (!strcmp(s->name, "gangway_peer_info")) {
		v = doctor_status_label(s, "endpoint");
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", v ? v : "");
	} else if (!strcmp(s->name, "gangway_peer_rx_packets_total")) {
		p->rx_packets = s->value;
	} else if (!strcmp(s->name, "gangway_peer_tx_packets_total")) {
		p->tx_packets = s->value;
	}
}

int doctor_status_parse(const char *text, struct doctor_status *st)
{
	static struct doctor_status_sample s;	/* large: not on the stack */
	size_t samples = 0;

	memset(st, 0, sizeof(*st));
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (doctor_status_line(p, len, &s)) {
			doctor_status_take(st, &s);
			samples++;
		}
		p = nl ? nl + 1 : NULL;
	}
	return samples ? 0 : -EINVAL;
}

int doctor_status_read(const char *sock, struct doctor_status *st, char **err)
{
	char *body = NULL;
	int ret;

	if (err)
		*err = NULL;
	memset(st, 0, sizeof(*st));
	ret = ctlsock_client_request(sock, "prometheus", &body);
	if (ret) {
		if (err && ret == -EPROTO && body)
			*err = body;
		else
			free(body);
		return ret;
	}
	/* An answer without samples still means the daemon runs. */
	doctor_status_parse(body ? body : "", st);
	free(body);
	return 0;
}

bool doctor_status_finding(const char *line, size_t len, char *text, char *fix)
{
	static const char head[] = "  guest firewall: ", sep[] = " (fix: ";
	const size_t hl = sizeof(head) - 1, sl = sizeof(sep) - 1;
	size_t at = 0;

	if (len < hl + sl + 1 || memcmp(line, head, hl) || line[len - 1] != ')')
		return false;
	/* The fix is last: split at the last " (fix: " (a text may hold one). */
	for (size_t i = hl; i + sl < len; i++)
		if (!memcmp(line + i, sep, sl))
			at = i;
	if (!at)
		return false;
	ctlmsg_clean_text(text, DOCTOR_FINDING_TEXT, line + hl, at - hl);
	ctlmsg_clean_text(fix, DOCTOR_FINDING_TEXT, line + at + sl, len - 1 - at - sl);
	return text[0] != '\0';
}

/* A "  prefix P installed[ as M]" line of the text status, P or M holding ip. */
static bool doctor_status_prefix_holds(const char *line, size_t len, const struct prefix *ip)
{
	static const char head[] = "  prefix ";
	char words[4][PREFIX_STRLEN + 1];
	size_t n = 0, k = 0;
	struct prefix p;

	if (len < sizeof(head) || memcmp(line, head, sizeof(head) - 1))
		return false;
	memset(words, 0, sizeof(words));
	for (size_t i = sizeof(head) - 1; i < len && n < 4; i++) {
		if (line[i] == ' ') {
			n++;
			k = 0;
		} else if (k + 1 < sizeof(words[0])) {
			words[n][k++] = line[i];
		} else {
			return false;
		}
	}
	if (strcmp(words[1], "installed"))
		return false;
	if (!prefix_parse(&p, words[0], false) && prefix_contains(&p, ip))
		return true;
	return !strcmp(words[2], "as") && !prefix_parse(&p, words[3], false) &&
	       prefix_contains(&p, ip);
}

size_t doctor_status_findings(const char *body, const struct prefix *ip,
			      doctor_finding_fn *fn, void *ctx)
{
	static bool holds[CONFIG_MAX_PEERS + 1];
	static char text[DOCTOR_FINDING_TEXT], fix[DOCTOR_FINDING_TEXT];
	size_t peer = 0, found = 0;
	bool any = false;

	memset(holds, 0, sizeof(holds));
	/* Pass 1: which peer blocks route ip; pass 2: their findings. */
	for (int pass = 1; pass <= 2; pass++) {
		peer = 0;
		for (const char *p = body; p && *p;) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);

			if (len >= 6 && !memcmp(p, "peer: ", 6) && peer < CONFIG_MAX_PEERS)
				peer++;
			else if (pass == 1 && ip && doctor_status_prefix_holds(p, len, ip))
				any = holds[peer] = true;
			else if (pass == 2 && (!any || holds[peer]) &&
				 doctor_status_finding(p, len, text, fix)) {
				fn(ctx, text, fix);
				found++;
			}
			p = nl ? nl + 1 : NULL;
		}
	}
	return found;
}
