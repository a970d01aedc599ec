/* cookie.c - WireGuard's mac1/mac2, cookie replies, handshake rate limiting */

/*
 * Theory of operation (whitepaper 5.3 and 5.4.4, 5.4.7)
 *
 * Every handshake message ends in two MACs. mac1 is keyed with a hash of
 * the receiver's public key: without it nobody can make us do a single
 * Diffie-Hellman, and it is checked before anything else. mac2 is keyed
 * with a "cookie", a MAC of the sender's IP address and port under a secret
 * of the receiver that changes every two minutes. It is only demanded when
 * the receiver is under load: then a message without a valid mac2 is
 * answered with a cookie reply (the cookie, XChaCha20-Poly1305 sealed with
 * the mac1 of the message as associated data, so only the real sender can
 * open it) and otherwise ignored. A sender that can read our replies at its
 * address proves it, and only such senders are then rate limited by
 * address; spoofed floods cost one BLAKE2s each and create no state.
 *
 * The rate limiter is a token bucket per source (an IPv4 address, or the
 * /64 of an IPv6 address) in a fixed table allocated once: BUCKETS buckets
 * of WAYS entries, the bucket chosen by a keyed BLAKE2s of the source so
 * that nobody can aim many sources at one bucket. A new source takes the
 * least recently seen entry of its bucket. Evicting a source only gives it
 * a fresh burst, so memory stays bounded whatever the flood.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "bytes.h"
#include "cookie.h"

#define COOKIE_NSEC		1000000000ULL
#define COOKIE_MACS_LEN		((size_t)2 * CRYPTO_MAC_LEN)
#define COOKIE_OFF_RECEIVER	4
#define COOKIE_OFF_NONCE	8
#define COOKIE_OFF_COOKIE	(COOKIE_OFF_NONCE + CRYPTO_XNONCE_LEN)

/* One token is a cost of this many nanoseconds of refill. */
#define COOKIE_RL_COST		(COOKIE_NSEC / COOKIE_RATELIMIT_PER_SEC)
#define COOKIE_RL_MAX		(COOKIE_RL_COST * COOKIE_RATELIMIT_BURST)

struct cookie_ratelimit_entry {
	uint64_t addr;		/* IPv4 address or IPv6 /64, host order */
	uint64_t last;		/* when this source was last seen */
	uint64_t tokens;	/* in nanoseconds of refill */
	uint8_t family;		/* 0 = unused */
};

static void cookie_derive(uint8_t out[CRYPTO_HASH_LEN], const char *label,
			  const uint8_t pub[CRYPTO_KEY_LEN])
{
	crypto_hash(out, label, 8, pub, CRYPTO_KEY_LEN);
}

void cookie_checker_init(struct cookie_checker *c,
			 const uint8_t pub[CRYPTO_KEY_LEN])
{
	memset(c, 0, sizeof(*c));
	cookie_derive(c->mac1_key, "mac1----", pub);
	cookie_derive(c->cookie_key, "cookie--", pub);
}

void cookie_checker_wipe(struct cookie_checker *c)
{
	crypto_wipe(c, sizeof(*c));
}

void cookie_maker_init(struct cookie_maker *m,
		       const uint8_t peer_pub[CRYPTO_KEY_LEN])
{
	memset(m, 0, sizeof(*m));
	cookie_derive(m->mac1_key, "mac1----", peer_pub);
	cookie_derive(m->cookie_key, "cookie--", peer_pub);
}

void cookie_maker_wipe(struct cookie_maker *m)
{
	crypto_wipe(m, sizeof(*m));
}

/**
 * cookie_add_macs() - fill in mac1 and mac2 of an outgoing handshake message
 * @m:   the cookie state for the peer the message goes to
 * @msg: the whole message; its last 32 bytes are mac1 and mac2
 * @len: its length
 * @now: boottime ns
 *
 * mac2 is zero unless the peer gave us a cookie that is still young. mac1
 * is remembered: a cookie reply to this message is sealed with it.
 */
int cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len,
		    uint64_t now)
{
	uint8_t *mac1, *mac2;
	int err;

	if (len < COOKIE_MACS_LEN)
		return -EINVAL;
	mac1 = msg + len - COOKIE_MACS_LEN;
	mac2 = mac1 + CRYPTO_MAC_LEN;
	err = crypto_mac(mac1, m->mac1_key, sizeof(m->mac1_key), msg,
			 len - COOKIE_MACS_LEN);
	if (err < 0)
		return err;
	memcpy(m->last_mac1, mac1, CRYPTO_MAC_LEN);
	m->have_sent_mac1 = true;

	if (m->cookie_valid && now >= m->cookie_birth &&
	    now - m->cookie_birth < COOKIE_SECRET_MAX_AGE - COOKIE_SECRET_LATENCY)
		return crypto_mac(mac2, m->cookie, COOKIE_LEN, msg,
				  len - CRYPTO_MAC_LEN);
	memset(mac2, 0, CRYPTO_MAC_LEN);
	return 0;
}

/* The cookie for a source: MAC(secret, address || port), port in network order. */
static int cookie_make(struct cookie_checker *c, uint8_t cookie[COOKIE_LEN],
		       const struct sockaddr *src, uint64_t now)
{
	uint8_t in[sizeof(struct in6_addr) + sizeof(in_port_t)];
	size_t n;
	int err;

	if (src->sa_family == AF_INET) {
		struct sockaddr_in s;

		memcpy(&s, src, sizeof(s));
		memcpy(in, &s.sin_addr, sizeof(s.sin_addr));
		memcpy(in + sizeof(s.sin_addr), &s.sin_port, sizeof(s.sin_port));
		n = sizeof(s.sin_addr) + sizeof(s.sin_port);
	} else if (src->sa_family == AF_INET6) {
		struct sockaddr_in6 s;

		memcpy(&s, src, sizeof(s));
		memcpy(in, &s.sin6_addr, sizeof(s.sin6_addr));
		memcpy(in + sizeof(s.sin6_addr), &s.sin6_port, sizeof(s.sin6_port));
		n = sizeof(s.sin6_addr) + sizeof(s.sin6_port);
	} else {
		return -EAFNOSUPPORT;
	}

	if (!c->secret_set || now < c->secret_birth ||
	    now - c->secret_birth >= COOKIE_SECRET_MAX_AGE) {
		err = crypto_random(c->secret, sizeof(c->secret));
		if (err < 0)
			return err;
		c->secret_birth = now;
		c->secret_set = true;
	}
	return crypto_mac(cookie, c->secret, sizeof(c->secret), in, n);
}

/**
 * cookie_validate() - check the MACs of an incoming handshake message
 * @c:          our checker
 * @msg:        the whole message
 * @len:        its length (at least 32)
 * @src:        the address it came from (AF_INET or AF_INET6)
 * @check_mac2: under load: also compute the cookie and check mac2
 * @now:        boottime ns
 *
 * Both comparisons are constant time.
 */
enum cookie_mac_state cookie_validate(struct cookie_checker *c,
				      const uint8_t *msg, size_t len,
				      const struct sockaddr *src, bool check_mac2,
				      uint64_t now)
{
	uint8_t mac[CRYPTO_MAC_LEN], cookie[COOKIE_LEN];
	enum cookie_mac_state ret = COOKIE_BAD_MAC1;
	const uint8_t *mac1;

	if (len < COOKIE_MACS_LEN)
		return COOKIE_BAD_MAC1;
	mac1 = msg + len - COOKIE_MACS_LEN;
	if (crypto_mac(mac, c->mac1_key, sizeof(c->mac1_key), msg,
		       len - COOKIE_MACS_LEN) < 0 ||
	    !crypto_equal(mac, mac1, CRYPTO_MAC_LEN))
		goto out;
	ret = COOKIE_MAC1_OK;
	if (!check_mac2 || cookie_make(c, cookie, src, now) < 0)
		goto out;
	if (crypto_mac(mac, cookie, sizeof(cookie), msg,
		       len - CRYPTO_MAC_LEN) == 0 &&
	    crypto_equal(mac, mac1 + CRYPTO_MAC_LEN, CRYPTO_MAC_LEN))
		ret = COOKIE_MAC2_OK;
out:
	crypto_wipe(cookie, sizeof(cookie));
	return ret;
}

/**
 * cookie_create_reply() - message 3: the cookie for the sender of @msg
 * @c:     our checker
 * @out:   64 bytes written
 * @msg:   the handshake message being answered (mac1 already verified)
 * @len:   its length
 * @src:   where it came from
 * @now:   boottime ns
 * @nonce: 24 random bytes (the caller draws them)
 *
 * The receiver index is the sender index of @msg, which sits at offset 4 in
 * both initiation and response.
 */
int cookie_create_reply(struct cookie_checker *c,
			uint8_t out[COOKIE_REPLY_LEN], const uint8_t *msg,
			size_t len, const struct sockaddr *src, uint64_t now,
			const uint8_t nonce[CRYPTO_XNONCE_LEN])
{
	uint8_t cookie[COOKIE_LEN];
	int err;

	if (len < COOKIE_MACS_LEN + 8)
		return -EINVAL;
	memset(out, 0, COOKIE_REPLY_LEN);
	out[0] = 3;
	memcpy(out + COOKIE_OFF_RECEIVER, msg + 4, 4);
	memcpy(out + COOKIE_OFF_NONCE, nonce, CRYPTO_XNONCE_LEN);
	err = cookie_make(c, cookie, src, now);
	if (err < 0)
		goto out;
	err = crypto_xaead_seal(out + COOKIE_OFF_COOKIE, c->cookie_key, nonce,
				cookie, sizeof(cookie),
				msg + len - COOKIE_MACS_LEN, CRYPTO_MAC_LEN);
out:
	crypto_wipe(cookie, sizeof(cookie));
	return err;
}

/**
 * cookie_consume_reply() - take the cookie out of a cookie reply
 * @m:   the cookie state of the peer whose index the reply named
 * @msg: 64 bytes
 * @now: boottime ns
 *
 * Only a reply to the last message we sent opens (its mac1 is the
 * associated data), and each message's reply is taken once.
 * Return: 0, -EINVAL when we sent nothing to answer, -EBADMSG.
 */
int cookie_consume_reply(struct cookie_maker *m,
			 const uint8_t msg[COOKIE_REPLY_LEN], uint64_t now)
{
	uint8_t cookie[COOKIE_LEN];
	int err;

	if (!m->have_sent_mac1)
		return -EINVAL;
	err = crypto_xaead_open(cookie, m->cookie_key, msg + COOKIE_OFF_NONCE,
				msg + COOKIE_OFF_COOKIE,
				COOKIE_LEN + CRYPTO_TAG_LEN, m->last_mac1,
				CRYPTO_MAC_LEN);
	if (err < 0)
		goto out;
	memcpy(m->cookie, cookie, sizeof(cookie));
	m->cookie_birth = now;
	m->cookie_valid = true;
	m->have_sent_mac1 = false;
out:
	crypto_wipe(cookie, sizeof(cookie));
	return err;
}

int cookie_ratelimit_init(struct cookie_ratelimit *rl)
{
	int err;

	rl->table = calloc((size_t)COOKIE_RATELIMIT_BUCKETS * COOKIE_RATELIMIT_WAYS,
			   sizeof(*rl->table));
	if (!rl->table)
		return -ENOMEM;
	err = crypto_random(rl->key, sizeof(rl->key));
	if (err < 0) {
		free(rl->table);
		rl->table = NULL;
	}
	return err;
}

void cookie_ratelimit_free(struct cookie_ratelimit *rl)
{
	free(rl->table);
	rl->table = NULL;
	crypto_wipe(rl->key, sizeof(rl->key));
}

/* The rate-limited unit: an IPv4 address (also when v4-mapped) or an IPv6 /64. */
static int cookie_ratelimit_source(const struct sockaddr *src,
				   uint8_t *family, uint64_t *addr)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	const uint8_t *b;

	if (src->sa_family == AF_INET) {
		memcpy(&s4, src, sizeof(s4));
		*family = 4;
		*addr = bytes_load_be32((const uint8_t *)&s4.sin_addr);
		return 0;
	}
	if (src->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	memcpy(&s6, src, sizeof(s6));
	b = s6.sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr)) {
		*family = 4;
		*addr = bytes_load_be32(b + 12);
		return 0;
	}
	*family = 6;
	*addr = bytes_load_be64(b);
	return 0;
}

/**
 * cookie_ratelimit_allow() - may this source have one more handshake now?
 * @rl:  the limiter
 * @src: source address
 * @now: boottime ns
 *
 * Token bucket: COOKIE_RATELIMIT_PER_SEC per second, bursts of
 * COOKIE_RATELIMIT_BURST. Never allocates.
 */
bool cookie_ratelimit_allow(struct cookie_ratelimit *rl,
			    const struct sockaddr *src, uint64_t now)
{
	struct cookie_ratelimit_entry *bucket, *e, *victim;
	uint8_t in[9], h[CRYPTO_MAC_LEN], family;
	uint64_t addr, idx;
	int i;

	if (!rl->table || cookie_ratelimit_source(src, &family, &addr) < 0)
		return false;
	in[0] = family;
	bytes_store_le64(in + 1, addr);
	if (crypto_mac(h, rl->key, sizeof(rl->key), in, sizeof(in)) < 0)
		return false;
	idx = bytes_load_be64(h);
	bucket = rl->table + (idx % COOKIE_RATELIMIT_BUCKETS) * COOKIE_RATELIMIT_WAYS;

	victim = bucket;
	for (i = 0; i < COOKIE_RATELIMIT_WAYS; i++) {
		e = bucket + i;
		if (e->family == family && e->addr == addr) {
			uint64_t elapsed = now > e->last ? now - e->last : 0;

			e->last = now;
			e->tokens = elapsed >= COOKIE_RL_MAX - e->tokens ?
				    COOKIE_RL_MAX : e->tokens + elapsed;
			if (e->tokens < COOKIE_RL_COST)
				return false;
			e->tokens -= COOKIE_RL_COST;
			return true;
		}
		if (!e->family || (victim->family && e->last < victim->last))
			victim = e;
	}
	victim->family = family;
	victim->addr = addr;
	victim->last = now;
	victim->tokens = COOKIE_RL_MAX - COOKIE_RL_COST;
	return true;
}
