/* ctlmsg.c - encode, decode, authenticate and wrap gangway's in-tunnel control messages
 *
 * Wire format (all integers big endian):
 *   header   "GWY2" | type u8 | flags u8 (0) | count u16 | seq u32 |
 *            life u64 (not 0) | nonce u64 (not 0) | echo u64 | ctr u64
 *   ADVERTISE: count x { family u8 (4|6) | length u8 | address (4|16 bytes) }
 *   ACK:       count x { status u8 | family u8 | length u8 | address
 *                        [ | family u8 | length u8 | address ] }
 *              the bracketed host-side prefix follows status 4 (remapped) only
 *   SYNC, HELLO: count = 0, nothing follows
 *   NAMES:     count (0..2) x { family u8 (4|6) | length u8 (32|128) | address } |
 *              domain-length u8 | domain (lower-case letters, digits, '-', '.')
 *              count 0 and an empty domain: names are off
 *   FINDINGS:  count (0..4) x { text-length u16 (1..400) | text |
 *                               fix-length u16 (0..300) | fix }
 *              text and fix printable ASCII (0x20-0x7e); count 0: nothing wrong
 *   tag      16 bytes: keyed BLAKE2s of everything before it
 * A message is exactly as long as its entries say; addresses carry no host
 * bits. Anything else is malformed and dropped whole. The freshness rule
 * (life, challenge, echo, counter) is described at struct ctlmsg_auth.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "bytes.h"
#include "crypto.h"
#include "csum.h"
#include "ctlmsg.h"

_Static_assert(CTLMSG_MAX_LEN + 48 <= 1280, "a control message must fit a 1280-byte packet");
_Static_assert(CTLMSG_HDR_LEN + CTLMSG_MAX_PREFIXES * 19 + CTLMSG_TAG_LEN <= CTLMSG_MAX_LEN,
	       "a full ADVERTISE, and an ACK without remaps, must fit");
_Static_assert(CTLMSG_HDR_LEN + CTLMSG_MAX_DNS * 18 + 1 + CTLMSG_DOMAIN_MAX + CTLMSG_TAG_LEN <=
	       CTLMSG_MAX_LEN, "a full NAMES must fit");
_Static_assert(CTLMSG_MAX_FINDINGS <= CTLMSG_MAX_PREFIXES &&
	       CTLMSG_HDR_LEN + 4 + CTLMSG_FINDING_TEXT_MAX + CTLMSG_FINDING_FIX_MAX +
	       CTLMSG_TAG_LEN <= CTLMSG_MAX_LEN, "one finding of the longest must fit");
_Static_assert(CTLMSG_TAG_LEN == CRYPTO_MAC_LEN && CTLMSG_KEY_LEN == CRYPTO_KEY_LEN,
	       "the tag is crypto_mac's");

static int ctlmsg_put_prefix(struct bytes_wr *w, const struct prefix *p)
{
	size_t alen = prefix_addr_len(p->family);

	if (!alen)
		return -EMSGSIZE;
	bytes_put_u8(w, p->family == AF_INET ? 4 : 6);
	bytes_put_u8(w, p->len);
	bytes_put_mem(w, p->addr.b, alen);
	return bytes_wr_ok(w) ? 0 : -EMSGSIZE;
}

/* One canonical prefix (no host bits) from r; -EBADMSG otherwise. */
static int ctlmsg_get_prefix(struct bytes_rd *r, struct prefix *p)
{
	struct prefix canon;
	uint8_t family;
	size_t alen;

	memset(p, 0, sizeof(*p));
	family = bytes_get_u8(r);
	p->len = bytes_get_u8(r);
	if (family == 4)
		p->family = AF_INET;
	else if (family == 6)
		p->family = AF_INET6;
	else
		return -EBADMSG;
	alen = prefix_addr_len(p->family);
	if (p->len > alen * 8 || !bytes_get_mem(r, p->addr.b, alen))
		return -EBADMSG;
	canon = *p;
	prefix_mask(&canon);
	if (memcmp(canon.addr.b, p->addr.b, alen))
		return -EBADMSG;	/* host bits set */
	return 0;
}

/*
 * A domain as config.c keeps it: labels of lower-case letters, digits and
 * '-' (1-63 bytes, no '-' at either end), at least two, no trailing dot.
 * The one spelling each domain has keeps a decoded message's encoding
 * identical to what arrived.
 */
static bool ctlmsg_domain_ok(const uint8_t *d, size_t len)
{
	size_t label = 0, dots = 0;

	if (len == 0 || len > CTLMSG_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || d[i] == '.') {
			if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
				return false;
			dots += i < len;
			label = 0;
			continue;
		}
		if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= '0' && d[i] <= '9') || d[i] == '-'))
			return false;
		label++;
	}
	return dots > 0;
}

/* NAMES after its addresses: the domain, its length first. */
static int ctlmsg_put_domain(struct bytes_wr *w, const struct ctlmsg *m)
{
	size_t len = strnlen(m->domain, sizeof(m->domain));

	if ((len == 0) != (m->n == 0) ||
	    (len && !ctlmsg_domain_ok((const uint8_t *)m->domain, len)))
		return -EMSGSIZE;
	bytes_put_u8(w, (uint8_t)len);
	bytes_put_mem(w, m->domain, len);
	return bytes_wr_ok(w) ? 0 : -EMSGSIZE;
}

static int ctlmsg_get_domain(struct bytes_rd *r, struct ctlmsg *m)
{
	const uint8_t *d;
	size_t dlen;

	memset(m->domain, 0, sizeof(m->domain));
	dlen = bytes_get_u8(r);
	d = bytes_skip(r, dlen);
	if (!bytes_rd_ok(r) || (dlen == 0) != (m->n == 0) ||
	    (dlen && (!d || !ctlmsg_domain_ok(d, dlen))))
		return -EBADMSG;
	if (dlen)
		memcpy(m->domain, d, dlen);
	return 0;
}

/* A FINDINGS string: printable ASCII only, nothing a terminal acts on. */
static bool ctlmsg_text_ok(const uint8_t *t, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (t[i] < 0x20 || t[i] > 0x7e)
			return false;
	return true;
}

static int ctlmsg_put_text(struct bytes_wr *w, const char *t, size_t max, bool empty_ok)
{
	size_t len = strnlen(t, max + 1);

	if (len > max || (!len && !empty_ok) || !ctlmsg_text_ok((const uint8_t *)t, len))
		return -EMSGSIZE;
	bytes_put_be16(w, (uint16_t)len);
	bytes_put_mem(w, t, len);
	return bytes_wr_ok(w) ? 0 : -EMSGSIZE;
}

static int ctlmsg_get_text(struct bytes_rd *r, char *out, size_t max, bool empty_ok)
{
	size_t len = bytes_get_be16(r);
	const uint8_t *t = bytes_skip(r, len);

	out[0] = '\0';
	if (!bytes_rd_ok(r) || len > max || (!len && !empty_ok) || (len && !t) ||
	    !ctlmsg_text_ok(t, len))
		return -EBADMSG;
	if (len)
		memcpy(out, t, len);
	out[len] = '\0';
	return 0;
}

size_t ctlmsg_finding_len(const struct ctlmsg_finding *f)
{
	return 4 + strnlen(f->text, sizeof(f->text)) + strnlen(f->fix, sizeof(f->fix));
}

size_t ctlmsg_clean_text(char *dst, size_t size, const char *src, size_t len)
{
	size_t k = 0;

	if (!size)
		return 0;
	for (size_t i = 0; i < len && src[i] && k + 1 < size; i++)
		dst[k++] = (src[i] >= 0x20 && src[i] <= 0x7e) ? src[i] : '?';
	dst[k] = '\0';
	return k;
}

/* A NAMES entry is one address: its length is the family's whole. */
static bool ctlmsg_is_addr(const struct prefix *p)
{
	return p->len == prefix_addr_len(p->family) * 8;
}

static const char *const ctlmsg_status_names[CTLMSG_ST_MAX] = {
	[CTLMSG_ST_INSTALLED] = "installed",
	[CTLMSG_ST_NOT_ALLOWED] = "not allowed",
	[CTLMSG_ST_CONFLICT] = "conflict",
	[CTLMSG_ST_SHADOWED] = "shadowed by a host route",
	[CTLMSG_ST_REMAPPED] = "remapped",
};

size_t ctlmsg_ack_entry_len(const struct prefix *p, const struct prefix *mapped)
{
	size_t len = 1 + 2 + prefix_addr_len(p->family);

	if (mapped)
		len += 2 + prefix_addr_len(mapped->family);
	return len;
}

const char *ctlmsg_status_name(enum ctlmsg_status s)
{
	return (unsigned int)s < CTLMSG_ST_MAX ? ctlmsg_status_names[s] : "unknown";
}

int ctlmsg_encode(const struct ctlmsg *m, const uint8_t key[CTLMSG_KEY_LEN], uint8_t *buf,
		  size_t size)
{
	struct bytes_wr w;
	size_t off;

	if (m->n > CTLMSG_MAX_PREFIXES || size < CTLMSG_HDR_LEN ||
	    ((m->type == CTLMSG_SYNC || m->type == CTLMSG_HELLO) && m->n) ||
	    (m->type == CTLMSG_NAMES && m->n > CTLMSG_MAX_DNS) ||
	    (m->type == CTLMSG_FINDINGS && m->n > CTLMSG_MAX_FINDINGS))
		return -EMSGSIZE;
	bytes_wr_init(&w, buf, size);
	bytes_put_mem(&w, CTLMSG_MAGIC, 4);
	bytes_put_u8(&w, (uint8_t)m->type);
	bytes_put_u8(&w, 0);
	bytes_put_be16(&w, (uint16_t)m->n);
	bytes_put_be32(&w, m->seq);
	bytes_put_be64(&w, m->life);
	bytes_put_be64(&w, m->nonce);
	bytes_put_be64(&w, m->echo);
	bytes_put_be64(&w, m->ctr);
	for (size_t i = 0; i < m->n && m->type == CTLMSG_FINDINGS; i++)
		if (ctlmsg_put_text(&w, m->findings[i].text, CTLMSG_FINDING_TEXT_MAX, false) ||
		    ctlmsg_put_text(&w, m->findings[i].fix, CTLMSG_FINDING_FIX_MAX, true))
			return -EMSGSIZE;
	for (size_t i = 0; i < m->n && m->type != CTLMSG_FINDINGS; i++) {
		if (m->type == CTLMSG_ACK) {
			if (m->status[i] >= CTLMSG_ST_MAX)
				return -EMSGSIZE;
			bytes_put_u8(&w, m->status[i]);
		}
		if (m->type == CTLMSG_NAMES && !ctlmsg_is_addr(&m->prefixes[i]))
			return -EMSGSIZE;
		if (ctlmsg_put_prefix(&w, &m->prefixes[i]))
			return -EMSGSIZE;
		if (m->type == CTLMSG_ACK && m->status[i] == CTLMSG_ST_REMAPPED &&
		    ctlmsg_put_prefix(&w, &m->mapped[i]))
			return -EMSGSIZE;
	}
	if (m->type == CTLMSG_NAMES && ctlmsg_put_domain(&w, m))
		return -EMSGSIZE;
	off = w.off;
	if (!bytes_wr_ok(&w) || off + CTLMSG_TAG_LEN > CTLMSG_MAX_LEN ||
	    !bytes_reserve(&w, CTLMSG_TAG_LEN))
		return -EMSGSIZE;
	if (crypto_mac(buf + off, key, CTLMSG_KEY_LEN, buf, off))
		return -EMSGSIZE;
	return (int)(off + CTLMSG_TAG_LEN);
}

int ctlmsg_decode(struct ctlmsg *m, const uint8_t key[CTLMSG_KEY_LEN], const uint8_t *buf,
		  size_t len)
{
	uint8_t tag[CTLMSG_TAG_LEN], type, flags;
	const uint8_t *magic;
	struct bytes_rd r;
	size_t n;

	if (len < CTLMSG_HDR_LEN + CTLMSG_TAG_LEN || len > CTLMSG_MAX_LEN)
		return -EBADMSG;
	len -= CTLMSG_TAG_LEN;		/* from here on: the part the tag covers */
	bytes_rd_init(&r, buf, len);
	magic = bytes_skip(&r, 4);
	type = bytes_get_u8(&r);
	flags = bytes_get_u8(&r);
	n = bytes_get_be16(&r);
	if (!magic || memcmp(magic, CTLMSG_MAGIC, 4) || flags != 0 ||
	    type < CTLMSG_ADVERTISE || type > CTLMSG_FINDINGS)
		return -EBADMSG;
	m->type = (enum ctlmsg_type)type;
	m->seq = bytes_get_be32(&r);
	m->life = bytes_get_be64(&r);
	m->nonce = bytes_get_be64(&r);
	m->echo = bytes_get_be64(&r);
	m->ctr = bytes_get_be64(&r);
	if (!bytes_rd_ok(&r) || n > CTLMSG_MAX_PREFIXES || !m->life || !m->nonce ||
	    ((m->type == CTLMSG_SYNC || m->type == CTLMSG_HELLO) && n) ||
	    (m->type == CTLMSG_NAMES && n > CTLMSG_MAX_DNS) ||
	    (m->type == CTLMSG_FINDINGS && n > CTLMSG_MAX_FINDINGS))
		return -EBADMSG;
	m->n = n;
	for (size_t i = 0; i < n && m->type == CTLMSG_FINDINGS; i++) {
		m->status[i] = 0;
		if (ctlmsg_get_text(&r, m->findings[i].text, CTLMSG_FINDING_TEXT_MAX, false) ||
		    ctlmsg_get_text(&r, m->findings[i].fix, CTLMSG_FINDING_FIX_MAX, true))
			return -EBADMSG;
	}
	for (size_t i = 0; i < n && m->type != CTLMSG_FINDINGS; i++) {
		m->status[i] = 0;
		if (m->type == CTLMSG_ACK) {
			m->status[i] = bytes_get_u8(&r);
			if (!bytes_rd_ok(&r) || m->status[i] >= CTLMSG_ST_MAX)
				return -EBADMSG;
		}
		if (ctlmsg_get_prefix(&r, &m->prefixes[i]) ||
		    (m->type == CTLMSG_NAMES && !ctlmsg_is_addr(&m->prefixes[i])))
			return -EBADMSG;
		memset(&m->mapped[i], 0, sizeof(m->mapped[i]));
		if (m->status[i] == CTLMSG_ST_REMAPPED &&
		    (ctlmsg_get_prefix(&r, &m->mapped[i]) ||
		     m->mapped[i].family != m->prefixes[i].family ||
		     m->mapped[i].len != m->prefixes[i].len))
			return -EBADMSG;
	}
	if (m->type == CTLMSG_NAMES) {
		if (ctlmsg_get_domain(&r, m))
			return -EBADMSG;
	} else {
		m->domain[0] = '\0';
	}
	if (!bytes_rd_done(&r))
		return -EBADMSG;
	if (crypto_mac(tag, key, CTLMSG_KEY_LEN, buf, len) ||
	    !crypto_equal(tag, buf + len, CTLMSG_TAG_LEN))
		return -EPERM;
	return 0;
}

size_t ctlmsg_ack_remaps(const struct ctlmsg *ack, const struct ctlmsg *adv,
			 struct prefix *guest, struct prefix *host, size_t *ignored)
{
	size_t n = 0;

	*ignored = 0;
	for (size_t i = 0; i < ack->n && i < CTLMSG_MAX_PREFIXES; i++) {
		bool listed = false;

		if (ack->status[i] != CTLMSG_ST_REMAPPED)
			continue;
		for (size_t j = 0; j < adv->n && !listed; j++)
			listed = prefix_equal(&adv->prefixes[j], &ack->prefixes[i]);
		for (size_t j = 0; j < n && listed; j++)
			listed = !prefix_equal(&guest[j], &ack->prefixes[i]);	/* once */
		if (!listed) {
			(*ignored)++;
			continue;
		}
		guest[n] = ack->prefixes[i];
		host[n++] = ack->mapped[i];
	}
	return n;
}

/* KDF1(ck, DH || PSK || sender's public key), ck = HASH(label). */
static int ctlmsg_auth_key(uint8_t out[CTLMSG_KEY_LEN], const uint8_t dh[CTLMSG_KEY_LEN],
			   const uint8_t *psk, const uint8_t sender[CTLMSG_KEY_LEN])
{
	static const char label[] = "gangway control messages v2";
	uint8_t ck[CRYPTO_HASH_LEN], in[3 * CTLMSG_KEY_LEN];
	int err;

	crypto_hash(ck, label, sizeof(label) - 1, NULL, 0);
	memcpy(in, dh, CTLMSG_KEY_LEN);
	if (psk)
		memcpy(in + CTLMSG_KEY_LEN, psk, CTLMSG_KEY_LEN);
	else
		memset(in + CTLMSG_KEY_LEN, 0, CTLMSG_KEY_LEN);
	memcpy(in + 2 * CTLMSG_KEY_LEN, sender, CTLMSG_KEY_LEN);
	err = crypto_kdf(out, NULL, NULL, ck, in, sizeof(in));
	crypto_wipe(in, sizeof(in));
	return err;
}

int ctlmsg_auth_keys(struct ctlmsg_auth *a, const uint8_t priv[CTLMSG_KEY_LEN],
		     const uint8_t peer_pub[CTLMSG_KEY_LEN], const uint8_t *psk)
{
	uint8_t dh[CTLMSG_KEY_LEN], pub[CTLMSG_KEY_LEN];
	int err;

	err = crypto_x25519_pubkey(pub, priv);
	if (!err)
		err = crypto_x25519(dh, priv, peer_pub);
	if (!err)
		err = ctlmsg_auth_key(a->tx_key, dh, psk, pub);
	if (!err)
		err = ctlmsg_auth_key(a->rx_key, dh, psk, peer_pub);
	crypto_wipe(dh, sizeof(dh));
	if (err)
		ctlmsg_auth_wipe(a);
	return err;
}

/* A random 64-bit value, never 0 (0 means "none yet"). */
static int ctlmsg_auth_draw(uint64_t *v)
{
	int err;

	do {
		err = crypto_random(v, sizeof(*v));
	} while (!err && !*v);
	return err;
}

int ctlmsg_auth_init(struct ctlmsg_auth *a, const uint8_t priv[CTLMSG_KEY_LEN],
		     const uint8_t peer_pub[CTLMSG_KEY_LEN], const uint8_t *psk)
{
	int err;

	memset(a, 0, sizeof(*a));
	err = ctlmsg_auth_draw(&a->life);
	if (!err)
		err = ctlmsg_auth_draw(&a->nonce);
	if (!err)
		err = ctlmsg_auth_keys(a, priv, peer_pub, psk);
	return err;
}

void ctlmsg_auth_wipe(struct ctlmsg_auth *a)
{
	crypto_wipe(a->tx_key, sizeof(a->tx_key));
	crypto_wipe(a->rx_key, sizeof(a->rx_key));
}

int ctlmsg_seal(struct ctlmsg_auth *a, const struct ctlmsg *m, uint8_t *buf, size_t size)
{
	static struct ctlmsg c;		/* large: not on the stack */

	c = *m;
	c.life = a->life;
	c.nonce = a->nonce;
	c.echo = a->peer_nonce;
	c.ctr = ++a->tx_ctr;
	return ctlmsg_encode(&c, a->tx_key, buf, size);
}

/* The freshness rule alone, on a message whose tag verified (ctlmsg_open). */
static int ctlmsg_auth_check(struct ctlmsg_auth *a, const struct ctlmsg *m)
{
	if (m->life != a->peer_life) {
		/*
		 * The peer restarted, or this was made before it did. Either
		 * way only what echoes a challenge drawn from now on counts,
		 * so that nothing from an earlier life can pass.
		 */
		a->peer_life = m->life;
		a->peer_nonce = m->nonce;
		a->rx_ctr = 0;
		if (ctlmsg_auth_draw(&a->nonce))
			a->nonce = a->nonce + 1 ? a->nonce + 1 : 1;	/* new all the same */
		return -ECONNRESET;
	}
	if (m->echo != a->nonce) {
		a->peer_nonce = m->nonce;	/* so that our answer is fresh to it */
		return -ESTALE;
	}
	if (m->ctr <= a->rx_ctr)
		return -EALREADY;
	a->peer_nonce = m->nonce;
	a->rx_ctr = m->ctr;
	return 0;
}

int ctlmsg_open(struct ctlmsg_auth *a, struct ctlmsg *m, const uint8_t *buf, size_t len)
{
	int err = ctlmsg_decode(m, a->rx_key, buf, len);

	return err ? err : ctlmsg_auth_check(a, m);
}

int ctlmsg_wrap(uint8_t *pkt, size_t size, const struct prefix *src,
		const struct prefix *dst, const uint8_t *payload, size_t len)
{
	size_t alen = prefix_addr_len(src->family), iphl, udplen = 8 + len;
	uint8_t *udp;
	uint16_t csum;

	if (!alen || src->family != dst->family)
		return -EINVAL;
	iphl = src->family == AF_INET ? 20 : 40;
	if (iphl + udplen > size || iphl + udplen > 65535)
		return -EMSGSIZE;
	memset(pkt, 0, iphl + 8);
	if (src->family == AF_INET) {
		pkt[0] = 0x45;
		bytes_store_be16(pkt + 2, (uint16_t)(iphl + udplen));
		pkt[6] = 0x40;			/* DF */
		pkt[8] = 64;			/* TTL */
		pkt[9] = 17;			/* UDP */
		memcpy(pkt + 12, src->addr.b, 4);
		memcpy(pkt + 16, dst->addr.b, 4);
		csum_ipv4_header(pkt, 20);
	} else {
		pkt[0] = 0x60;
		bytes_store_be16(pkt + 4, (uint16_t)udplen);
		pkt[6] = 17;
		pkt[7] = 64;
		memcpy(pkt + 8, src->addr.b, 16);
		memcpy(pkt + 24, dst->addr.b, 16);
	}
	udp = pkt + iphl;
	bytes_store_be16(udp, CTLMSG_PORT);
	bytes_store_be16(udp + 2, CTLMSG_PORT);
	bytes_store_be16(udp + 4, (uint16_t)udplen);
	memcpy(udp + 8, payload, len);
	csum = csum_finish(csum_partial(udp, udplen, csum_pseudo(src->family, src->addr.b,
								  dst->addr.b, IPPROTO_UDP,
								  (uint32_t)udplen)));
	if (csum == 0)
		csum = 0xffff;			/* 0 means "no checksum" */
	csum_store(udp + 6, csum);
	return (int)(iphl + udplen);
}

bool ctlmsg_is_control(const uint8_t *pkt, size_t len, struct prefix *dst)
{
	const uint8_t *udp;
	size_t iphl;

	memset(dst, 0, sizeof(*dst));
	if (len < 1)
		return false;
	if ((pkt[0] >> 4) == 4) {
		iphl = (size_t)(pkt[0] & 15) * 4;
		/* later fragments carry no port, and are never taken as control */
		if (len < 20 || iphl < 20 || len < iphl + 4 || pkt[9] != 17 ||
		    (pkt[6] & 0x1f) || pkt[7])
			return false;
		dst->family = AF_INET;
		dst->len = 32;
		memcpy(dst->addr.b, pkt + 16, 4);
	} else if ((pkt[0] >> 4) == 6) {
		iphl = 40;
		if (len < iphl + 4 || pkt[6] != 17)
			return false;
		dst->family = AF_INET6;
		dst->len = 128;
		memcpy(dst->addr.b, pkt + 24, 16);
	} else {
		return false;
	}
	udp = pkt + iphl;
	return bytes_load_be16(udp + 2) == CTLMSG_PORT;
}

int ctlmsg_unwrap(const uint8_t *pkt, size_t len, struct prefix *srcp, struct prefix *dst,
		  const uint8_t **payload)
{
	const uint8_t *udp, *src;
	size_t iphl, alen, udplen;

	if (len < 20)
		return -1;
	memset(dst, 0, sizeof(*dst));
	memset(srcp, 0, sizeof(*srcp));
	if ((pkt[0] >> 4) == 4) {
		iphl = (size_t)(pkt[0] & 15) * 4;
		if (iphl < 20 || len < iphl + 8 || pkt[9] != 17)
			return -1;
		if (bytes_load_be16(pkt + 2) != len)
			return -1;
		if ((pkt[6] & 0x3f) || pkt[7])
			return -1;		/* fragments are never control */
		dst->family = AF_INET;
		alen = 4;
		src = pkt + 12;
		memcpy(dst->addr.b, pkt + 16, 4);
	} else if ((pkt[0] >> 4) == 6) {
		iphl = 40;
		if (len < iphl + 8 || pkt[6] != 17 || bytes_load_be16(pkt + 4) + 40u != len)
			return -1;
		dst->family = AF_INET6;
		alen = 16;
		src = pkt + 8;
		memcpy(dst->addr.b, pkt + 24, 16);
	} else {
		return -1;
	}
	dst->len = (uint8_t)(alen * 8);
	srcp->family = dst->family;
	srcp->len = dst->len;
	memcpy(srcp->addr.b, src, alen);
	udp = pkt + iphl;
	if (bytes_load_be16(udp + 2) != CTLMSG_PORT)
		return -1;
	udplen = bytes_load_be16(udp + 4);
	if (udplen < 8 || udplen != len - iphl)
		return -1;
	/* A zero (absent) checksum is refused: control messages always carry one. */
	if (!csum_l4_valid(dst->family, src, dst->addr.b, IPPROTO_UDP, udp, udplen))
		return -1;
	*payload = udp + 8;
	return (int)(udplen - 8);
}
